// Measures the inspector on a large partition directory in headless Chromium: picking the
// folder to the first view (superblock decided, snapshot header read), the log scan with its
// progress and the live state merged, a page of live rows at the start and at the end, the
// live counters, and the memory that costs (renderer RSS polled from /proc, the worker's wasm
// memory, which only grows, so its size is its peak).
//
//   meguri load --data /tmp/bigdir full.meguri --checkpoint    (a snapshot of the corpus)
//   meguri load --data /tmp/bigdir merged.meguri               (a log of 563,844 puts)
//   node web/bench/dir.mjs /tmp/bigdir [target/debug/meguri]
//
// Prints one MEASURE line per figure. Not part of CI.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '../..');
const [dir, binArg] = process.argv.slice(2);
if (!dir) { console.error('usage: node web/bench/dir.mjs DIR [MEGURI_BIN]'); process.exit(2); }
const bin = binArg ?? path.join(repo, 'target/debug/meguri');
const server = spawn(bin, ['web', '--listen', '127.0.0.1:0'], { stdio: ['ignore', 'pipe', 'inherit'] });
const origin = await new Promise((resolve, reject) => {
  let out = '';
  server.stdout.on('data', (d) => { out += d; const m = out.match(/http:\/\/[^ /]+/); if (m) resolve(m[0]); });
  server.on('exit', (code) => reject(new Error(`meguri web exited with ${code}`)));
});
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run'] });
const page = await browser.newPage({ viewport: { width: 1360, height: 900 } });
const errors = [];
page.on('pageerror', (e) => errors.push(String(e)));
await page.goto(`${origin}/`);

function renderers() {
  return fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d)).filter((pid) => {
    try { const c = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8'); return c.includes('chromium') && c.includes('--type=renderer'); } catch { return false; }
  });
}
const kb = (pid, f) => { try { return Number(fs.readFileSync(`/proc/${pid}/status`, 'utf8').match(new RegExp(`${f}:\\s+(\\d+)`))?.[1] ?? 0); } catch { return 0; } };
const rss = () => renderers().reduce((a, p) => a + kb(p, 'VmRSS'), 0) * 1024;
let peak = 0;
const poll = setInterval(() => { peak = Math.max(peak, rss()); }, 100);
const mib = (b) => `${(b / 1048576).toFixed(0)} MiB`;
const measure = (what, text) => console.log(`MEASURE ${what}: ${text}`);
const ask = (op, args) => page.evaluate(([o, a]) => window.meguriInspector.ask(o, a), [op, args]);
const name = path.basename(dir);
const size = fs.readdirSync(dir).reduce((a, f) => a + fs.statSync(path.join(dir, f)).size, 0);
measure('directory', `${name}: ${fs.readdirSync(dir).join(', ')}, ${size} bytes`);
const base = rss();

let t0 = performance.now();
await page.setInputFiles('#dirpicker', dir);
await page.waitForSelector('[data-testid="dir-first"], [data-testid="dir-verdict"]', { timeout: 600000 });
measure('pick to first view', `${(performance.now() - t0).toFixed(0)} ms (superblock and slots, the snapshot's header and footer; the log scan goes on with a progress bar)`);
await page.screenshot({ path: path.join(repo, 'web/artifacts/dir-big-scanning.png') });
await page.waitForSelector('[data-testid="dir-verdict"]', { timeout: 600000 });
measure('pick to scanned', `${(performance.now() - t0).toFixed(0)} ms: ${await page.textContent('[data-testid="dir-verdict"]')}`);
measure('in the page', await page.textContent('[data-testid="dir-cost"]'));
let w = await ask('memory', {});
measure('memory after the scan', `wasm ${mib(w.wasmBytes)}, renderer RSS ${mib(rss())} (page loaded: ${mib(base)}; peak so far ${mib(peak)})`);
await page.waitForFunction(() => /urls\s+\d+/.test(document.querySelector('[data-testid="dir-stats"]')?.textContent ?? ''), null, { timeout: 600000 });
const it = await page.evaluate((n) => window.meguriInspector.state.items.find((i) => i.kind === 'dir' && i.name === n).fid, name);
t0 = performance.now();
await ask('dirStats', { did: it, now: 0 });
measure('live counters (every live row)', `${(performance.now() - t0).toFixed(0)} ms`);
await page.click('#views button[data-view="live"]');
t0 = performance.now();
await page.waitForSelector('[data-testid="live-rows"] tr[data-row="0"]', { timeout: 600000 });
measure('live rows, first page with URLs', `${(performance.now() - t0).toFixed(0)} ms`);
const total = Number((await page.textContent('[data-testid="live-range"]')).match(/of ([\d,]+)/)[1].replace(/,/g, ''));
t0 = performance.now();
await page.fill('[data-testid="live-jump"]', String(total - 50));
await page.press('[data-testid="live-jump"]', 'Enter');
await page.waitForSelector(`[data-testid="live-rows"] tr[data-row="${total - 1}"]`, { timeout: 600000 });
measure('live rows, last page with URLs', `${(performance.now() - t0).toFixed(0)} ms`);
await page.click('#views button[data-view="frames"]');
t0 = performance.now();
await page.click('[data-testid="frames-last"]');
await page.waitForFunction(() => /frames [\d,]+–/.test(document.querySelector('[data-testid="frames-range"]')?.textContent ?? '') && document.querySelector('[data-testid="frames"] tr[data-frame]'));
measure('log frames, last page', `${(performance.now() - t0).toFixed(0)} ms`);
w = await ask('memory', {});
clearInterval(poll);
const hwm = renderers().reduce((a, p) => a + kb(p, 'VmHWM'), 0) * 1024;
measure('memory at the end', `wasm ${mib(w.wasmBytes)}, renderer RSS peak ${mib(peak)} polled, VmHWM ${mib(hwm)}`);
if (errors.length) measure('page errors', errors.join('; '));
await browser.close();
server.kill();
