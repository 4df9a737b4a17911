// Generates CDX JSONL lines for `meguri seed`, for the inspector's large-file measurements and
// the end-to-end test's multi-page file: `n` URLs over `hosts` hosts, each path random text of
// `pathLen` characters (random text compresses poorly, so the arena is most of the file, as in
// a real crawl frontier). Deterministic for a given seed.
//
//   node web/bench/gen-cdx.mjs N [HOSTS] [PATH_LEN] [SEED] [ALPHABET] | meguri seed -o big.meguri
//
// ALPHABET is `64` (the default: letters, digits, `-` and `_`) or `79` (also the path
// characters RFC 3986 lets a path hold unescaped: `.~!$&'()*+,;=:@`), whose text compresses
// less: v1 holds the arena in one page of at most 4 GiB decoded, so the least compressible text
// makes the largest file a partition can be.
//
// 7,900,000 URLs over 200,000 hosts with 160-character paths make a file of about 1 GB.
const [nArg, hostsArg, lenArg, seedArg, alphaArg] = process.argv.slice(2);
const n = Number(nArg ?? 1000);
const hosts = Number(hostsArg ?? Math.max(1, Math.ceil(n / 40)));
const pathLen = Number(lenArg ?? 160);
const seed = Number(seedArg ?? 1) >>> 0;
const ALPHABETS = {
  64: 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_',
  79: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~!$&'()*+,;=:@",
};
const ALPHA = ALPHABETS[alphaArg ?? 64];
if (!Number.isInteger(n) || n < 0 || !Number.isInteger(hosts) || hosts < 1 || !ALPHA) {
  console.error('usage: node gen-cdx.mjs N [HOSTS] [PATH_LEN] [SEED] [64|79]');
  process.exit(2);
}
const alpha = Buffer.from(ALPHA, 'latin1');
// xorshift128 on 32-bit words: small, fast and reproducible.
let x = seed || 1; let y = 362436069; let z = 521288629; let w = 88675123;
function next() {
  const t = x ^ (x << 11);
  x = y; y = z; z = w;
  w = (w ^ (w >>> 19) ^ (t ^ (t >>> 8))) >>> 0;
  return w;
}
// Lines are assembled as bytes in one buffer, written when nearly full (strings built a
// character at a time made the generator, not `seed`, the slow end of the pipe).
const out = process.stdout;
const CHUNK = 1 << 22;
let buf = Buffer.allocUnsafe(CHUNK + 4096 + 2 * pathLen);
let at = 0;
const put = (s) => { at += buf.write(s, at, 'latin1'); };
for (let i = 0; i < n; i++) {
  const h = next() % hosts;
  const host = `h${h}.example${h % 97}.com`;
  put(`{"url":"https://${host}/`);
  if (alpha.length === 64) {
    let r = 0; let bits = 0;
    for (let k = 0; k < pathLen; k++) {
      if (bits < 6) { r = next(); bits = 32; }
      buf[at++] = alpha[r & 63]; r >>>= 6; bits -= 6;
    }
  } else {
    // Five characters from each 32-bit draw (79^5 < 2^32; the slight bias does not matter).
    let r = 0; let left = 0;
    for (let k = 0; k < pathLen; k++) {
      if (left === 0) { r = next(); left = 5; }
      buf[at++] = alpha[r % 79]; r = Math.floor(r / 79); left -= 1;
    }
  }
  put(`","host":"${host}"}\n`);
  if (at > CHUNK) {
    const full = buf.subarray(0, at);
    buf = Buffer.allocUnsafe(CHUNK + 4096 + 2 * pathLen);
    at = 0;
    if (!out.write(full)) await new Promise((resolve) => out.once('drain', resolve));
  }
}
out.write(buf.subarray(0, at));
