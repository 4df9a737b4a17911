// wasm side of the full-decode throughput comparison (the native side is
// wasm/examples/decode_bench.rs): the built web/pkg under Node, same work, best of N runs.
// node web/bench/decode.mjs FILE [RUNS]
import fs from 'node:fs';
import { initSync, decode_all } from '../pkg/meguri_wasm.js';

const [file, runsArg] = process.argv.slice(2);
if (!file) { console.error('usage: node web/bench/decode.mjs FILE [RUNS]'); process.exit(2); }
initSync({ module: fs.readFileSync(new URL('../pkg/meguri_wasm_bg.wasm', import.meta.url)) });
const bytes = fs.readFileSync(file);
const runs = Number(runsArg ?? 5);
let best = Infinity; let values = 0;
for (let i = 0; i < runs; i++) {
  const t = performance.now();
  values = decode_all(bytes);
  best = Math.min(best, performance.now() - t);
}
console.log(`wasm (Node ${process.version}, ruzstd): ${values} values, best of ${runs}: ${best.toFixed(1)} ms, ${(bytes.length / best / 1e3).toFixed(0)} MB/s of file`);
