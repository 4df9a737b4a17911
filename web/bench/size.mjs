// The inspector's download: each file of the page raw, gzip -9 and brotli -11 (node's zlib),
// after `bash web/build.sh` (which runs wasm-opt -Oz).   node web/bench/size.mjs
import fs from 'node:fs';
import zlib from 'node:zlib';

const web = new URL('..', import.meta.url);
const files = ['pkg/meguri_wasm_bg.wasm', 'pkg/meguri_wasm.js', 'app.js', 'worker.js', 'index.html', 'style.css'];
const total = [0, 0, 0];
const row = (name, v) => console.log(name.padEnd(24), ...v.map((n) => String(n).padStart(9)));
row('file', ['raw', 'gzip-9', 'brotli-11']);
for (const f of files) {
  const b = fs.readFileSync(new URL(f, web));
  const v = [b.length, zlib.gzipSync(b, { level: 9 }).length,
    zlib.brotliCompressSync(b, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 11 } }).length];
  v.forEach((n, i) => { total[i] += n; });
  row(f, v);
}
row('total', total);
