// Generates CDX JSONL lines for `meguri seed`, for the inspector's large-file measurements and
// the end-to-end test's multi-page file: `n` URLs over `hosts` hosts, each path random
// base64-ish text of `pathLen` characters (random text compresses poorly, so the arena is most
// of the file, as in a real crawl frontier). Deterministic for a given seed.
//
//   node web/bench/gen-cdx.mjs N [HOSTS] [PATH_LEN] [SEED] | meguri seed -o big.meguri
//
// 7,900,000 URLs over 200,000 hosts with 160-character paths make a file of about 1 GB.
const [nArg, hostsArg, lenArg, seedArg] = process.argv.slice(2);
const n = Number(nArg ?? 1000);
const hosts = Number(hostsArg ?? Math.max(1, Math.ceil(n / 40)));
const pathLen = Number(lenArg ?? 160);
const seed = Number(seedArg ?? 1) >>> 0;
if (!Number.isInteger(n) || n < 0 || !Number.isInteger(hosts) || hosts < 1) {
  console.error('usage: node gen-cdx.mjs N [HOSTS] [PATH_LEN] [SEED]');
  process.exit(2);
}
// xorshift128 on 32-bit words: small, fast and reproducible.
let x = seed || 1; let y = 362436069; let z = 521288629; let w = 88675123;
function next() {
  const t = x ^ (x << 11);
  x = y; y = z; z = w;
  w = (w ^ (w >>> 19) ^ (t ^ (t >>> 8))) >>> 0;
  return w;
}
const ALPHA = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const out = process.stdout;
let buf = '';
for (let i = 0; i < n; i++) {
  const h = next() % hosts;
  let path = '/';
  let r = 0; let bits = 0;
  for (let k = 0; k < pathLen; k++) {
    if (bits < 6) { r = next(); bits = 32; }
    path += ALPHA[r & 63]; r >>>= 6; bits -= 6;
  }
  const host = `h${h}.example${h % 97}.com`;
  buf += `{"url":"https://${host}${path}","host":"${host}"}\n`;
  if (buf.length > 1 << 20) {
    if (!out.write(buf)) await new Promise((resolve) => out.once('drain', resolve));
    buf = '';
  }
}
out.write(buf);
