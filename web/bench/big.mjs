// Measures the inspector on a large file in headless Chromium, as a user would meet it: drop
// to summary, rows (keys, then the URL strings on screen), a jump to the last row and back,
// verify with its progress, the CRC pass over every page; and the memory that costs: the
// renderer processes' resident memory (VmRSS polled, VmHWM at the end, from /proc), the
// worker's wasm memory (linear memory only grows, so its size is its peak) and the page's JS
// heap (performance.memory).
//
//   bash web/build.sh && cargo build -p meguri   (the page is embedded in the binary)
//   node web/bench/gen-cdx.mjs 7900000 200000 160 1 | target/release/meguri seed -o /tmp/big.meguri
//   node web/bench/big.mjs /tmp/big.meguri [target/debug/meguri]
//
// Prints one MEASURE line per figure. Not part of CI (it needs a generated 1 GB file).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '../..');
const [file, binArg] = process.argv.slice(2);
if (!file) { console.error('usage: node web/bench/big.mjs FILE [MEGURI_BIN]'); process.exit(2); }
const bin = binArg ?? path.join(repo, 'target/debug/meguri');
const shots = process.env.SHOTS ?? path.join(repo, 'web/artifacts');
fs.mkdirSync(shots, { recursive: true });

const server = spawn(bin, ['web', '--listen', '127.0.0.1:0'], { stdio: ['ignore', 'pipe', 'inherit'] });
const origin = await new Promise((resolve, reject) => {
  let out = '';
  server.stdout.on('data', (d) => { out += d; const m = out.match(/http:\/\/[^ /]+/); if (m) resolve(m[0]); });
  server.on('exit', (code) => reject(new Error(`meguri web exited with ${code}`)));
});
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--enable-precise-memory-info'],
});
const page = await browser.newPage({ viewport: { width: 1360, height: 900 } });
const errors = [];
page.on('pageerror', (e) => errors.push(String(e)));
page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
await page.goto(`${origin}/`);

// Renderer processes: chromium children started with --type=renderer.
function renderers() {
  const out = [];
  for (const pid of fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      if (cmd.includes('chromium') && cmd.includes('--type=renderer')) out.push(pid);
    } catch { /* gone */ }
  }
  return out;
}
const kb = (pid, field) => {
  try { return Number(fs.readFileSync(`/proc/${pid}/status`, 'utf8').match(new RegExp(`${field}:\\s+(\\d+)`))?.[1] ?? 0); } catch { return 0; }
};
let peakRss = 0;
const poll = setInterval(() => {
  const rss = renderers().reduce((a, p) => a + kb(p, 'VmRSS'), 0) * 1024;
  peakRss = Math.max(peakRss, rss);
}, 100);
const mib = (b) => `${(b / 1048576).toFixed(0)} MiB`;
const measure = (what, text) => console.log(`MEASURE ${what}: ${text}`);
const ask = (op, args) => page.evaluate(([o, a]) => window.meguriInspector.ask(o, a), [op, args]);
async function memory(label) {
  const w = await ask('memory', {});
  const heap = await page.evaluate(() => performance.memory?.usedJSHeapSize ?? 0);
  const rss = renderers().reduce((a, p) => a + kb(p, 'VmRSS'), 0) * 1024;
  measure(`memory after ${label}`, `wasm ${mib(w.wasmBytes)}, renderer RSS ${mib(rss)} (peak so far ${mib(peakRss)}), page JS heap ${mib(heap)}`);
}
const t = () => performance.now();
const name = path.basename(file);
const strShown = (row) => page.waitForFunction((r) => {
  const e = document.querySelector(`[data-testid="rows"] .rrow[data-row="${r}"] span.str`);
  return e && e.textContent !== '…';
}, row, { timeout: 600000, polling: 50 });
const keysShown = (row) => page.waitForSelector(`[data-testid="rows"] .rrow[data-row="${row}"] span.str`, { timeout: 600000 });

await memory('loading the page');
let t0 = t();
await page.setInputFiles('#picker', file);
await page.waitForSelector('[data-testid="open-cost"]', { timeout: 120000 });
const size = fs.statSync(file).size;
const open = await page.textContent('[data-testid="open-cost"]');
measure('drop to summary', `${(t() - t0).toFixed(0)} ms (${size} bytes; ${open})`);

// Timed in the page: the click, the loading indicator, the first rows, their URL strings.
const rowsT = await page.evaluate(() => new Promise((resolve) => {
  const m = { };
  const start = performance.now();
  const obs = new MutationObserver(() => {
    const now = performance.now() - start;
    const l = document.querySelector('[data-testid="rows-loading"]');
    if (l && !l.hidden && m.loading === undefined) m.loading = now;
    const k = document.querySelector('[data-testid="rows"] .rrow[data-row="0"] span.str');
    if (k && m.keys === undefined) m.keys = now;
    if (k && k.textContent !== '…' && m.strings === undefined) { m.strings = now; obs.disconnect(); resolve(m); }
  });
  obs.observe(document.body, { subtree: true, childList: true, attributes: true, characterData: true });
  document.querySelector('#views button[data-view="rows"]').click();
}));
measure('rows', `loading indicator at ${rowsT.loading?.toFixed(0) ?? 'never'} ms, first screen of rows (keys and columns) at ${rowsT.keys.toFixed(0)} ms, its URLs at ${rowsT.strings.toFixed(0)} ms after the click`);
await page.screenshot({ path: path.join(shots, 'big-rows.png') });
await memory('rows');

const total = await page.evaluate((n) => window.meguriInspector.state.items.find((i) => i.name === n).info.summary.summary.urls, name);
const last = total - 1;
t0 = t();
await page.fill('[data-testid="row-jump"]', String(last));
await page.press('[data-testid="row-jump"]', 'Enter');
await keysShown(last);
const lastKeys = t() - t0;
await strShown(last);
measure('jump to the last row', `row ${last}: keys in ${lastKeys.toFixed(0)} ms, URL (arena streamed to its end) in ${(t() - t0).toFixed(0)} ms`);
await page.screenshot({ path: path.join(shots, 'big-last-row.png') });
await memory('the last row');

t0 = t();
await page.fill('[data-testid="row-jump"]', String(Math.floor(total / 2)));
await page.press('[data-testid="row-jump"]', 'Enter');
await strShown(Math.floor(total / 2));
measure('jump back to the middle', `row ${Math.floor(total / 2)}: URL in ${(t() - t0).toFixed(0)} ms (a new pass from the arena's start)`);

// Find by the last row's URL.
const url = await page.textContent(`[data-testid="rows"] .rrow[data-row="${Math.floor(total / 2)}"] span.str`);
t0 = t();
await page.fill('[data-testid="row-filter"]', url);
await page.press('[data-testid="row-filter"]', 'Enter');
await page.waitForFunction(() => /this URL is row/.test(document.querySelector('[data-testid="row-found"]').textContent), null, { timeout: 60000 });
measure('find by URL', `${(t() - t0).toFixed(0)} ms: ${await page.textContent('[data-testid="row-found"]')}`);

// Host rows.
t0 = t();
await page.click('[data-testid="rows-host"]');
await strShown(0);
measure('host rows', `first screen with host names in ${(t() - t0).toFixed(0)} ms`);
await page.screenshot({ path: path.join(shots, 'big-host-rows.png') });

// Verify with progress.
const samples = [];
t0 = t();
await page.click('#views button[data-view="verify"]');
await page.click('[data-testid="run-verify"]');
const sampler = setInterval(async () => {
  try { samples.push(await page.textContent('[data-testid="verify-phase"]')); } catch { /* navigating */ }
}, 2000);
await page.waitForSelector('[data-testid="verdict"]', { timeout: 1800000 });
clearInterval(sampler);
measure('verify', `${((t() - t0) / 1000).toFixed(1)} s: ${await page.textContent('[data-testid="verdict"]')}`);
measure('verify progress samples', samples.filter(Boolean).join(' | '));
await page.screenshot({ path: path.join(shots, 'big-verify.png') });
await memory('verify');

// Every page CRC.
t0 = t();
await page.click('#views button[data-view="columns"]');
await page.click('[data-testid="verify-all"]');
await page.waitForFunction(() => /done|cancelled/.test(document.querySelector('[data-testid="crc-progress-text"]')?.textContent ?? ''), null, { timeout: 1800000, polling: 500 });
measure('CRC pass', `${((t() - t0) / 1000).toFixed(1)} s: ${await page.textContent('[data-testid="crc-progress-text"]')}`);
await page.screenshot({ path: path.join(shots, 'big-crc.png'), fullPage: false });
await memory('the CRC pass');

clearInterval(poll);
const hwm = renderers().reduce((a, p) => a + kb(p, 'VmHWM'), 0) * 1024;
measure('peak memory', `renderer RSS peak ${mib(peakRss)} polled, VmHWM ${mib(hwm)} (sum over renderer processes)`);
measure('errors', errors.length ? errors.join('; ') : 'none');
await browser.close();
server.kill();
