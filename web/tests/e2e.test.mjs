// End-to-end test of the inspector in Debian's Chromium, driven by playwright-core, against
// `meguri web` (the page served from the binary). Drops golden files through the picker and
// checks what the page shows against the reference's own outputs. Screenshots go to
// web/artifacts/ (git-ignored). MEGURI_BIN names the binary (default target/debug/meguri);
// MEGURI_BIG_FILE, when set, also times drop-to-summary for that (large) file.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '../..');
const golden = path.resolve(repo, '../shared/reference/golden');
const artifacts = path.join(repo, 'web/artifacts');
const bin = process.env.MEGURI_BIN ?? path.join(repo, 'target/debug/meguri');
const haveGolden = fs.existsSync(golden);
if (!haveGolden) console.log(`SKIPPED: ${golden} is absent; the end-to-end test drops golden files`);

let server; let origin; let browser; let page;
const consoleErrors = [];
const foreign = [];

before(async () => {
  fs.mkdirSync(artifacts, { recursive: true });
  server = spawn(bin, ['web', '--listen', '127.0.0.1:0'], { stdio: ['ignore', 'pipe', 'inherit'] });
  origin = await new Promise((resolve, reject) => {
    let out = '';
    server.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/http:\/\/[^ /]+/);
      if (m) resolve(m[0]);
    });
    server.on('exit', (code) => reject(new Error(`meguri web exited with ${code}: ${out}`)));
  });
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  page = await browser.newPage({ viewport: { width: 1360, height: 900 } });
  page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
  page.on('pageerror', (e) => consoleErrors.push(String(e)));
  page.on('request', (r) => {
    const u = new URL(r.url());
    if (!['data:', 'blob:'].includes(u.protocol) && u.origin !== origin) foreign.push(r.url());
  });
  await page.goto(`${origin}/`);
});

after(async () => {
  await browser?.close();
  server?.kill();
});

const shot = (name) => page.screenshot({ path: path.join(artifacts, `${name}.png`), fullPage: true });
const view = async (n) => { await page.click(`#views button[data-view="${n}"]`); };
async function drop(...files) {
  await page.setInputFiles('#picker', files);
}
const fact = (k) => page.textContent(`[data-testid="summary"] td[data-fact="${k}"]`);

test('summary, byte map, columns, rows and verify of small.meguri', { skip: !haveGolden }, async () => {
  await drop(path.join(golden, 'small.meguri'));
  await page.waitForSelector('[data-testid="summary"]');
  const ref = fs.readFileSync(path.join(golden, 'small.meguri.inspect.txt'), 'utf8');
  assert.equal(await fact('URLs'), '999');
  assert.equal(await fact('hosts'), '867');
  assert.match(await fact('file size'), /^39,380 bytes/);
  assert.equal(await fact('host-key range'), ref.match(/hostkey range\s+(.*)/)[1]);
  assert.equal(await fact('bytes/url'), ref.match(/bytes\/url\s+(.*)/)[1]);
  // The page shows inspect's own text, byte for byte.
  const text = await page.textContent('[data-testid="inspect-text"]');
  assert.ok(text.startsWith(ref), `inspect text differs:\n${text}`);
  await shot('1-summary');

  await view('bytes');
  const blocks = page.locator('[data-testid="bytemap"] button');
  assert.ok(await blocks.count() >= 45, 'header, 43 columns, arena, footer, trailer');
  await blocks.nth(1).hover();
  assert.match(await page.textContent('[data-testid="bytemap-hover"]'), /^url\.host_key: [\d,]+ bytes at 64/);
  assert.match(await page.textContent('[data-testid="budget"]'), /url\.url_ref/);
  await shot('2-bytemap');

  await view('columns');
  await page.click('[data-testid="verify-all"]');
  await page.waitForFunction(() => /done/.test(document.querySelector('[data-testid="crc-progress-text"]')?.textContent ?? ''));
  // Every page: the 43 column pages and the arena's page (region CRC and page CRC).
  assert.match(await page.textContent('[data-testid="crc-progress-text"]'),
    /43 \/ 43 column pages, 1 \/ 1 region pages; .* 0 bad \(done in [\d.]+ s: every page of the file, arena included\)/);
  assert.equal(await page.textContent('[data-testid="region-crc-4"]'), 'ok');
  await page.click('[data-testid="columns"] tbody tr:nth-child(7)');
  await page.waitForSelector('[data-testid="pages"] table');
  await shot('3-columns');

  await view('rows');
  await page.waitForFunction(() => (document.querySelector('[data-testid="rows"] .rrow[data-row="13"] span.str')?.textContent ?? '…') !== '…');
  const url = await page.textContent('[data-testid="rows"] .rrow[data-row="13"] span.str');
  assert.ok(url.length > 3 && url !== '–', `row 13 has URL ${url}`);
  await page.fill('[data-testid="row-filter"]', url);
  await page.press('[data-testid="row-filter"]', 'Enter');
  await page.waitForFunction(() => /this URL is row/.test(document.querySelector('[data-testid="row-found"]').textContent));
  assert.match(await page.textContent('[data-testid="row-found"]'), /this URL is row 13\b/);
  await page.fill('[data-testid="row-jump"]', '900');
  await page.press('[data-testid="row-jump"]', 'Enter');
  await page.waitForSelector('[data-testid="rows"] .rrow.hit[data-row="900"]');
  await shot('4-rows');

  // The host table: rows with their names from the arena, find by host name.
  await page.click('[data-testid="rows-host"]');
  await page.waitForFunction(() => (document.querySelector('[data-testid="rows"] .rrow.host[data-row="2"] span.str')?.textContent ?? '…') !== '…');
  const host = await page.textContent('[data-testid="rows"] .rrow[data-row="2"] span.str');
  assert.match(host, /\./);
  await page.fill('[data-testid="row-filter"]', host);
  await page.press('[data-testid="row-filter"]', 'Enter');
  await page.waitForFunction(() => /host row/.test(document.querySelector('[data-testid="row-found"]').textContent));
  assert.match(await page.textContent('[data-testid="row-found"]'), /: host row 2$/);
  await page.waitForSelector('[data-testid="rows"] .rrow.hit[data-row="2"]');
  await shot('12-host-rows');
  await page.click('[data-testid="rows-url"]');

  await view('verify');
  await page.waitForSelector('[data-testid="verdict"]');
  assert.match(await page.textContent('[data-testid="verdict"]'), /small\.meguri: ok: 0 error\(s\), 0 warning\(s\); 43 columns, 44 pages, 999 URL rows, 867 host rows/);
});

test('a damaged file: verify names the page and the hex view marks its byte', { skip: !haveGolden }, async () => {
  const bytes = fs.readFileSync(path.join(golden, 'small.meguri'));
  bytes[3200] ^= 0xff;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'meguri-e2e-'));
  const bad = path.join(dir, 'broken.meguri');
  fs.writeFileSync(bad, bytes);
  await drop(bad);
  await page.waitForFunction(() => document.querySelector('#files button.current')?.textContent.includes('broken.meguri'));
  await view('verify');
  await page.waitForSelector('[data-testid="verdict"]');
  assert.match(await page.textContent('[data-testid="verdict"]'), /broken\.meguri: FAILED: 3 error\(s\)/);
  const findings = await page.textContent('[data-testid="verify"] .findings');
  assert.match(findings, /url column 0 page 0 at byte 92: page payload CRC32C is 0x34d0bad2/);
  await shot('5-verify-broken');
  await page.click('[data-testid="finding-link"] >> nth=2');
  await page.waitForSelector('[data-testid="hex"] .mark');
  assert.equal(await page.getAttribute('[data-testid="hex"] .mark >> nth=0', 'data-off'), '92');
  assert.match(await page.textContent('[data-testid="hex-note"]'), /byte 92 marked; structure 64 \.\. 7,110/);
  await shot('6-hex');
  fs.rmSync(dir, { recursive: true });
});

test('tiling of parts/gap.manifest, parts/overlap.manifest and the parts themselves', { skip: !haveGolden }, async () => {
  await drop(path.join(golden, 'parts/gap.manifest'));
  await page.waitForSelector('[data-testid="tiling-problems"]');
  assert.match(await page.textContent('[data-testid="tiling-problems"]'), /gap \[0x22e976746abcd163, 0x67ac805e0356d3b6\]/);
  await page.fill('[data-testid="route-input"]', '0x30000000000000aa');
  await page.press('[data-testid="route-input"]', 'Enter');
  await page.waitForFunction(() => document.querySelector('[data-testid="route-answer"]').textContent.length > 0);
  assert.equal(await page.textContent('[data-testid="route-answer"]'), 'host 0x30000000000000aa -> no owning partition');
  await shot('7-tiling-gap');

  await drop(path.join(golden, 'parts/overlap.manifest'));
  await page.waitForFunction(() => /overlap \[/.test(document.querySelector('[data-testid="tiling-problems"]')?.textContent ?? ''));
  assert.match(await page.textContent('[data-testid="tiling-problems"]'), /overlap \[0x4f751b0617b83946, 0x67ac805e0356d3b6\]/);
  await shot('8-tiling-overlap');

  await drop(...['part-0', 'part-1', 'part-2'].map((p) => path.join(golden, `parts/${p}.meguri`)));
  // The page selects the first dropped file (in its summary) once all three are open and tiled;
  // a click on Tiling before that would be undone by the selection, as on a slow CI machine.
  await page.waitForFunction(() => document.querySelector('#files button.current')?.textContent.includes('part-0.meguri'));
  await view('tiling');
  await page.waitForFunction(() => /tile 0/.test(document.querySelector('[data-testid="tiling-verdict"]')?.textContent ?? ''));
  await page.fill('[data-testid="route-input"]', 'https://example.com/index.html');
  await page.press('[data-testid="route-input"]', 'Enter');
  await page.waitForFunction(() => /partition/.test(document.querySelector('[data-testid="route-answer"]').textContent));
  assert.match(await page.textContent('[data-testid="route-answer"]'), /^host 0x2883ba7dc9aa3289 -> partition 1 \(part-1\.meguri\)$/);
  await shot('9-tiling-files');
});

test('schedule wheel of a file with a schedule region', { skip: !haveGolden }, async () => {
  await drop(path.join(golden, 'features/wheel.meguri'));
  await page.waitForFunction(() => document.querySelector('#files button.current')?.textContent.includes('wheel.meguri'));
  await view('schedule');
  await page.waitForSelector('[data-testid="schedule"]');
  assert.match(await page.textContent('[data-testid="schedule"]'), /rows covered/);
  assert.ok(await page.locator('svg.chart rect').count() === 283);
  await shot('10-schedule');
});

async function timeDrop(file, label) {
  const t0 = Date.now();
  await drop(file);
  const name = path.basename(file);
  await page.waitForFunction((n) => document.querySelector('#files button.current')?.textContent.includes(n)
    && document.querySelector('[data-testid="open-cost"]'), name, { timeout: 120000 });
  const wall = Date.now() - t0;
  const info = await page.evaluate((n) => {
    const it = window.meguriInspector.state.items.filter((i) => i.name === n).pop();
    return { pageMs: it.info.pageMs, ms: it.info.ms, bytesRead: it.info.bytesRead, reads: it.info.reads, size: it.size };
  }, name);
  console.log(`MEASURE ${label}: size ${info.size} bytes; drop-to-summary ${wall} ms (setInputFiles to summary shown), `
    + `${info.pageMs.toFixed(1)} ms page request, ${info.ms.toFixed(1)} ms in the worker; ${info.reads} reads, ${info.bytesRead} bytes read`);
  return info;
}

test('drop-to-summary of full.meguri reads only its ends', { skip: !haveGolden }, async () => {
  await view('summary');
  const info = await timeDrop(path.join(golden, 'full.meguri'), 'full.meguri');
  assert.equal(await fact('URLs'), '563,844');
  assert.ok(info.reads <= 3 && info.bytesRead < 200000, `read ${info.bytesRead} bytes in ${info.reads} reads`);
});

test('drop-to-summary of a large generated file', { skip: !process.env.MEGURI_BIG_FILE }, async () => {
  await view('summary');
  const info = await timeDrop(process.env.MEGURI_BIG_FILE, 'big file');
  assert.ok(info.bytesRead < 1 << 20);
  await shot('11-summary-big');
});

// A multi-page file of 400,000 URLs made by our own tools: 400,000 rows of 24 px are taller
// than the scroll cap, so the scroll position maps to rows; jump and find must reach the last
// row, and the row shown must be the row asked for.
test('a 400,000-row multi-page file: jump, find and End reach the last row', { skip: !haveGolden }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'meguri-e2e-'));
  const file = path.join(dir, 'multi.meguri');
  const gen = spawnSync('node', [path.join(repo, 'web/bench/gen-cdx.mjs'), '400000', '20000', '24', '7'], { maxBuffer: 1 << 30 });
  assert.equal(gen.status, 0, String(gen.stderr));
  const seed = spawnSync(bin, ['seed', '-o', file, '--page-rows', '8192'], { input: gen.stdout, maxBuffer: 1 << 26 });
  assert.equal(seed.status, 0, String(seed.stderr));
  await view('summary');
  await drop(file);
  await page.waitForFunction(() => document.querySelector('#files button.current')?.textContent.includes('multi.meguri')
    && document.querySelector('[data-testid="open-cost"]'));
  await view('rows');
  const last = 399999;
  const lastRowShown = async (row) => {
    await page.waitForFunction((r) => {
      const e = document.querySelector(`[data-testid="rows"] .rrow[data-row="${r}"] span.str`);
      return e && e.textContent !== '…';
    }, row, { timeout: 60000 });
    // The row is inside the scroll box's visible area, not merely in the DOM.
    const [box, rowBox] = await Promise.all([page.locator('[data-testid="rows"]').boundingBox(), page.locator(`[data-testid="rows"] .rrow[data-row="${row}"]`).boundingBox()]);
    assert.ok(rowBox.y >= box.y - 1 && rowBox.y + rowBox.height <= box.y + box.height + 1, `row ${row} at ${rowBox.y} is outside ${box.y}..${box.y + box.height}`);
  };
  await page.fill('[data-testid="row-jump"]', String(last));
  await page.press('[data-testid="row-jump"]', 'Enter');
  await page.waitForSelector(`[data-testid="rows"] .rrow.hit[data-row="${last}"]`);
  await lastRowShown(last);
  const url = await page.textContent(`[data-testid="rows"] .rrow[data-row="${last}"] span.str`);
  assert.match(url, /^https:\/\/h\d+\.example/);
  await shot('13-rows-last-row');
  // Jump into the middle, then find the last row's URL: it lands on the last row again.
  await page.fill('[data-testid="row-jump"]', '200000');
  await page.press('[data-testid="row-jump"]', 'Enter');
  await page.waitForSelector('[data-testid="rows"] .rrow.hit[data-row="200000"]');
  await lastRowShown(200000);
  await page.fill('[data-testid="row-filter"]', url);
  await page.press('[data-testid="row-filter"]', 'Enter');
  await page.waitForFunction(() => /this URL is row/.test(document.querySelector('[data-testid="row-found"]').textContent));
  assert.match(await page.textContent('[data-testid="row-found"]'), new RegExp(`this URL is row ${last.toLocaleString('en-US')}\\b`));
  await lastRowShown(last);
  // Home, then End, from the keyboard.
  await page.focus('[data-testid="rows"]');
  await page.keyboard.press('Home');
  await lastRowShown(0);
  await page.keyboard.press('End');
  await lastRowShown(last);
  // The arena was streamed: held memory stays bounded whatever the jumps.
  const a = await page.evaluate(() => {
    const it = window.meguriInspector.state.items.find((i) => i.name === 'multi.meguri');
    return window.meguriInspector.ask('arenaState', { fid: it.fid });
  });
  assert.ok(a.held < 64 << 20, `arena held ${a.held} bytes`);
  assert.ok(a.passes >= 2, 'jumping back from the last row decoded the arena again from its start');

  // Verify with progress, cancel it (its steps slowed down, so Cancel comes mid-way), then
  // run it to the end.
  await page.evaluate(() => { window.meguriInspector.state.verifyPauseMs = 300; });
  await view('verify');
  await page.waitForFunction(() => /%/.test(document.querySelector('[data-testid="verify-phase"]')?.textContent ?? ''));
  await shot('14-verify-progress');
  await page.click('[data-testid="verify-cancel"]');
  await page.waitForSelector('[data-testid="verify-note"]');
  assert.match(await page.textContent('[data-testid="verify-note"]'), /^cancelled during /);
  await shot('15-verify-cancelled');
  await page.evaluate(() => { window.meguriInspector.state.verifyPauseMs = 0; });
  await page.click('[data-testid="run-verify"]');
  await page.waitForSelector('[data-testid="verdict"]', { timeout: 120000 });
  assert.match(await page.textContent('[data-testid="verdict"]'), /multi\.meguri: ok: 0 error\(s\), 0 warning\(s\); \d+ columns, [\d,]+ pages, 400,000 URL rows, [\d,]+ host rows/);
  const cli = spawnSync(bin, ['verify', file]);
  assert.equal(cli.status, 0, `meguri verify: ${cli.stdout}${cli.stderr}`);

  // Every page CRC, the arena's included.
  await view('columns');
  await page.click('[data-testid="verify-all"]');
  await page.waitForFunction(() => /done/.test(document.querySelector('[data-testid="crc-progress-text"]')?.textContent ?? ''), null, { timeout: 120000 });
  assert.match(await page.textContent('[data-testid="crc-progress-text"]'), /0 bad \(done in [\d.]+ s: every page of the file, arena included\)/);
  await shot('16-crc-every-page');
  fs.rmSync(dir, { recursive: true });
});

test('a trap in the decoder: the page restarts it and the open files keep working', { skip: !haveGolden }, async () => {
  await drop(path.join(golden, 'small.meguri'));
  await page.waitForFunction(() => document.querySelector('#files button.current')?.textContent.includes('small.meguri'));
  const before = await page.evaluate(() => window.meguriInspector.restarts());
  const err = await page.evaluate(() => window.meguriInspector.ask('selfTestTrap').then(() => 'no trap', (e) => `${e.trapped}: ${e.message}`));
  assert.match(err, /^true: /);
  await page.waitForFunction((n) => window.meguriInspector.restarts() > n, before);
  // Rows and find still answer for the file that was open when the decoder trapped.
  await view('rows');
  await page.click('[data-testid="rows-url"]');
  await page.fill('[data-testid="row-jump"]', '900');
  await page.press('[data-testid="row-jump"]', 'Enter');
  await page.waitForFunction(() => (document.querySelector('[data-testid="rows"] .rrow[data-row="900"] span.str')?.textContent ?? '…') !== '…');
  await shot('17-after-trap');
});

test('no request left the origin and nothing was logged as an error', async () => {
  assert.deepEqual(foreign, []);
  assert.deepEqual(consoleErrors, []);
});
