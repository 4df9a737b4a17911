// End-to-end test of the inspector's partition-directory views in Debian's Chromium, driven
// by playwright-core, against `meguri web`. Folders are picked through the folder picker
// (<input webkitdirectory>): the golden serve-small/ and storelog-small/, a copy with a torn
// log tail, copies with a damaged superblock slot, and a data root of two partitions. What
// the page says recovery would do is compared with what the native store does with the same
// copy (`meguri stats --data`, read-only: its recovery report names the offset it stops at).
// Screenshots go to web/artifacts/dir-*.png.
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
const haveGolden = fs.existsSync(path.join(golden, 'storelog-small'));
if (!haveGolden) console.log(`SKIPPED: ${golden} is absent; the directory tests pick the golden partition directories`);

let server; let origin; let browser; let page;
const consoleErrors = [];
const foreign = [];
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'meguri-dirs-e2e-'));

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
  fs.rmSync(scratch, { recursive: true, force: true });
});

const shot = (name) => page.screenshot({ path: path.join(artifacts, `${name}.png`), fullPage: true });
const text = (sel) => page.textContent(sel);

// A copy of a golden directory (writable, unlike the shared folder), with only the files the
// store writes (the golden folders also hold the reference's .txt outputs).
function copyDir(name, as) {
  const to = path.join(scratch, as);
  fs.mkdirSync(to, { recursive: true });
  for (const f of fs.readdirSync(path.join(golden, name))) {
    if (f.endsWith('.txt')) continue;
    fs.copyFileSync(path.join(golden, name, f), path.join(to, f));
    fs.chmodSync(path.join(to, f), 0o644);
  }
  return to;
}

// Picks a folder and waits for its directory view.
async function pick(dir, name = path.basename(dir)) {
  const t0 = Date.now();
  await page.setInputFiles('#dirpicker', dir);
  await page.waitForFunction((n) => document.querySelector('#files button.current')?.textContent.includes(n)
    && document.querySelector('[data-testid="dir-verdict"], [data-testid="root-summary"], [data-testid="tiling-verdict"]'), name, { timeout: 60000 });
  return Date.now() - t0;
}

// `meguri stats --data DIR`: its text, and the recovery report it prints on stderr.
function nativeStats(dir) {
  const r = spawnSync(bin, ['stats', '--data', dir], { encoding: 'utf8' });
  return { status: r.status, out: r.stdout, err: r.stderr };
}

// The live counters' text without its first line (which names the directory by its path).
const body = (t) => t.split('\n').slice(1).join('\n');

test('serve-small: both slots, the snapshot as a file, an empty log, 999 live rows', { skip: !haveGolden }, async () => {
  const wall = await pick(path.join(golden, 'serve-small'));
  assert.match(await text('[data-testid="dir-verdict"]'), /^generation 1, current slot B; 0 frames replayed from 1 log\(s\); 999 live URLs, 867 hosts$/);
  assert.match(await text('[data-testid="slot-why"]'), /slot B is the only valid slot; slot A is blank/);
  assert.match(await text('[data-testid="slots"] tr[data-slot="B"]'), /valid.*snap-1\.meguri.*log-2/);
  assert.equal(await page.getAttribute('[data-testid="tail-log-2"]', 'data-action'), 'none');
  assert.match(await text('[data-testid="dir-snapshot"]'), /snap-1\.meguri: partition \d+, 999 URL rows, 867 host rows/);
  const cost = await page.evaluate(() => window.meguriInspector.state.items.find((i) => i.kind === 'dir' && i.name === 'serve-small'));
  console.log(`MEASURE serve-small: pick to the scanned directory view ${wall} ms; first view (superblock, snapshot header) ${cost.firstView.toFixed(1)} ms after the request, logs scanned and merged in ${cost.scanMs.toFixed(1)} ms more`);
  // The live counters are `meguri stats --data`'s, line for line.
  await page.waitForFunction(() => /urls\s+999/.test(document.querySelector('[data-testid="dir-stats"]')?.textContent ?? ''));
  const native = nativeStats(path.join(golden, 'serve-small'));
  assert.equal(native.status, 0, native.err);
  assert.equal(body(await text('[data-testid="dir-stats"]')), body(native.out));
  await shot('dir-1-serve-small');
  // The snapshot opens with every file view.
  await page.click('[data-testid="dir-snapshot"] button');
  await page.waitForSelector('[data-testid="summary"]');
  assert.equal(await text('[data-testid="summary"] td[data-fact="URLs"]'), '999');
});

test('storelog-small: frames by kind, 975 live rows with the changed ones marked', { skip: !haveGolden }, async () => {
  const wall = await pick(path.join(golden, 'storelog-small'));
  assert.match(await text('[data-testid="dir-verdict"]'), /^generation 1, current slot B; 1,436 frames replayed from 1 log\(s\); 975 live URLs, 867 hosts$/);
  const kinds = await page.$$eval('[data-testid="kinds-log-2"] tr', (rows) => rows.map((r) => [...r.children].map((c) => c.textContent)));
  const counts = Object.fromEntries(kinds[0].map((k, i) => [k, kinds[1][i]]));
  console.log(`MEASURE storelog-small: pick to view ${wall} ms; frames by kind ${JSON.stringify(counts)}`);
  // 399 new URLs and 48 re-puts, 24 deletes (the golden README), and the strings interned.
  assert.equal(counts['URL put'], '447');
  assert.equal(counts['URL tombstone'], '24');
  assert.equal(Number(counts['URL put']) + Number(counts['URL tombstone']) + Number(counts['host put']) + Number(counts.intern), 1436);
  assert.equal(await page.getAttribute('[data-testid="tail-log-2"]', 'data-action'), 'none');
  assert.match(await text('[data-testid="dir-live"]'), /^975 URLs \(399 added, 48 replaced and 24 deleted by the logs\)/);
  await page.waitForFunction(() => /urls\s+975/.test(document.querySelector('[data-testid="dir-stats"]')?.textContent ?? ''));
  const native = nativeStats(path.join(golden, 'storelog-small'));
  assert.equal(body(await text('[data-testid="dir-stats"]')), body(native.out));
  await shot('dir-2-storelog-small');

  await page.click('#views button[data-view="frames"]');
  await page.waitForSelector('[data-testid="frames"] tr[data-frame="0"]');
  assert.match(await text('[data-testid="frames-range"]'), /frames 0–199 of 1,436/);
  assert.match(await text('[data-testid="frames"] tr[data-frame="0"]'), /^00/);
  await shot('dir-3-frames');
  await page.click('[data-testid="frames-last"]');
  await page.waitForSelector('[data-testid="frames"] tr[data-frame="1435"]');

  await page.click('#views button[data-view="live"]');
  await page.waitForSelector('[data-testid="live-rows"] tr[data-row="0"]');
  assert.match(await text('[data-testid="live-range"]'), /rows 0–99 of 975/);
  const changed = await page.$$eval('[data-testid="live-rows"] tr.changed', (r) => r.map((x) => x.textContent));
  assert.ok(changed.length > 0 && changed.every((t) => /log-2 @ [\d,]+, LSN \d+ \((new|replaces snapshot row [\d,]+)\)/.test(t)), changed.join('\n'));
  assert.ok(await page.locator('[data-testid="live-rows"] tr:not(.changed)').count() > 0);
  await shot('dir-4-live');
  await page.click('[data-testid="live-host"]');
  await page.waitForFunction(() => /of 867/.test(document.querySelector('[data-testid="live-range"]')?.textContent ?? ''));
});

test('a torn log tail: the page names the offset the native store truncates at', { skip: !haveGolden }, async () => {
  const dir = copyDir('storelog-small', 'torn');
  const log = path.join(dir, 'log-2');
  const len = fs.statSync(log).size;
  fs.truncateSync(log, len - 40);
  await pick(dir, 'torn');
  const at = Number(await page.getAttribute('[data-testid="tail-log-2"]', 'data-at'));
  assert.equal(await page.getAttribute('[data-testid="tail-log-2"]', 'data-action'), 'truncate');
  assert.match(await text('[data-testid="tail-log-2"]'), new RegExp(`truncates log-2 there and keeps the \\d+ bytes after it in log-2\\.discarded-${at}`));
  assert.match(await text('[data-testid="stop-log-2"]'), /incomplete frame/);
  // The native store, read-only, stops at the same offset.
  const native = nativeStats(dir);
  assert.equal(native.status, 0, native.err);
  const m = native.err.match(/log-2: replay stops at offset (\d+) .* (\d+) bytes after it/);
  assert.ok(m, native.err);
  assert.equal(at, Number(m[1]));
  assert.match(await text('[data-testid="tail-log-2"]'), new RegExp(`keeps the ${m[2]} bytes`));
  await page.waitForFunction(() => /urls\s+\d+/.test(document.querySelector('[data-testid="dir-stats"]')?.textContent ?? ''));
  assert.equal(body(await text('[data-testid="dir-stats"]')), body(native.out));
  await page.click(`[data-testid="log-log-2"] button.link >> nth=0`);
  await page.waitForSelector('[data-testid="cut-hex-log-2"] .mark');
  await shot('dir-5-torn-tail');
  console.log(`MEASURE torn: the page and the native store both cut log-2 at ${at} (${m[2]} bytes kept)`);
  // A writable open does what the page said: the cut bytes are kept under the name it gave.
  const w = spawnSync(bin, ['load', '--data', dir, path.join(golden, 'small.meguri')], { encoding: 'utf8' });
  assert.equal(w.status, 0, w.stderr);
  assert.ok(fs.existsSync(path.join(dir, `log-2.discarded-${at}`)), fs.readdirSync(dir).join(' '));
  assert.equal(fs.statSync(path.join(dir, `log-2.discarded-${at}`)).size, Number(m[2]));
});

test('a damaged superblock slot: the other slot stands, or the store refuses', { skip: !haveGolden }, async () => {
  // A second checkpoint puts generation 2 in slot A; then the old slot B is damaged.
  const dir = copyDir('serve-small', 'slot-b-damaged');
  const w = spawnSync(bin, ['load', '--data', dir, path.join(golden, 'small.meguri'), '--checkpoint'], { encoding: 'utf8' });
  assert.equal(w.status, 0, w.stderr);
  const sb = fs.readFileSync(path.join(dir, 'super'));
  sb[256 + 40] ^= 0xff;
  fs.writeFileSync(path.join(dir, 'super'), sb);
  await pick(dir, 'slot-b-damaged');
  assert.match(await text('[data-testid="dir-verdict"]'), /^generation 2, current slot A/);
  assert.match(await text('[data-testid="slots"] tr[data-slot="B"]'), /damaged.*CRC32C/);
  assert.match(await text('[data-testid="slot-why"]'), /slot A is the only valid slot; slot B is damaged/);
  const native = nativeStats(dir);
  assert.equal(native.status, 0, native.err);
  assert.match(native.err, /superblock slot B is damaged/);
  await shot('dir-6-slot-damaged');

  // The only valid slot damaged: no generation can be known, and both front ends refuse.
  const dir2 = copyDir('serve-small', 'no-valid-slot');
  const sb2 = fs.readFileSync(path.join(dir2, 'super'));
  sb2[256 + 40] ^= 0xff;
  fs.writeFileSync(path.join(dir2, 'super'), sb2);
  await pick(dir2, 'no-valid-slot');
  const verdict = await text('[data-testid="dir-verdict"]');
  assert.match(verdict, /refuses to open this directory: .*no valid slot \(slot B: CRC32C is/);
  const native2 = nativeStats(dir2);
  assert.notEqual(native2.status, 0);
  assert.ok(native2.err.includes(verdict.replace(/^.*refuses to open this directory: /, '')), `${native2.err}\n${verdict}`);
  await shot('dir-7-no-valid-slot');
});

// Moves the frames of `log-2` from the first frame boundary at or after `at` into `log-3`, as
// a checkpoint that rotated logs but never committed leaves them; `drop` frames of the moved
// part are lost first (the named log lost its tail, so the chain breaks).
function splitLog(dir, at, drop = 0) {
  const p = path.join(dir, 'log-2');
  const b = fs.readFileSync(p);
  const bounds = [];
  for (let o = 0; o + 14 <= b.length;) {
    bounds.push(o);
    o += 14 + b[o + 9] + b.readUInt32LE(o + 10) + 4;
  }
  const i = bounds.findIndex((o) => o >= at);
  fs.writeFileSync(p, b.subarray(0, bounds[i]));
  fs.writeFileSync(path.join(dir, 'log-3'), b.subarray(bounds[i + drop]));
}

test('later logs: one that continues the named log, and one past a lost frame', { skip: !haveGolden }, async () => {
  const dir = copyDir('storelog-small', 'later');
  splitLog(dir, 60000);
  await pick(dir, 'later');
  assert.match(await text('[data-testid="dir-verdict"]'), /1,436 frames replayed from 2 log\(s\); 975 live URLs/);
  assert.match(await text('[data-testid="log-log-3"] h4'), /log-3 \([\d,]+ bytes\): a later log: continues at LSN \d+/);
  assert.equal(await page.getAttribute('[data-testid="tail-log-3"]', 'data-action'), 'none');
  await page.waitForFunction(() => /urls\s+975/.test(document.querySelector('[data-testid="dir-stats"]')?.textContent ?? ''));
  assert.equal(body(await text('[data-testid="dir-stats"]')), body(nativeStats(dir).out));

  const gap = copyDir('storelog-small', 'later-gap');
  splitLog(gap, 60000, 1);
  await pick(gap, 'later-gap');
  assert.match(await text('[data-testid="stop-log-3"]'), /its first new frame has LSN (\d+) where (\d+) was due/);
  assert.equal(await page.getAttribute('[data-testid="tail-log-3"]', 'data-at'), '0');
  const native = nativeStats(gap);
  assert.equal(native.status, 0, native.err);
  const m = native.err.match(/log-3: replay stops at offset (\d+) \(its first new frame has LSN (\d+) where (\d+) was due/);
  assert.ok(m, native.err);
  const page3 = (await text('[data-testid="stop-log-3"]')).match(/LSN (\d+) where (\d+)/);
  assert.deepEqual([m[1], m[2], m[3]], ['0', page3[1], page3[2]]);
  await page.waitForFunction(() => /urls\s+\d+/.test(document.querySelector('[data-testid="dir-stats"]')?.textContent ?? ''));
  assert.equal(body(await text('[data-testid="dir-stats"]')), body(native.out));
  await shot('dir-10-later-log-gap');
});

// CRC32C (Castagnoli), for writing the owner extension into a slot below.
const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
  return c >>> 0;
});
function crc32c(bytes) {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

// Gives a directory's current slot (B, generation 1) an owned range and epoch (docs/format.md
// §13.1: "MGX1" ‖ lo ‖ hi ‖ epoch at offset 220, the slot CRC at 252).
function own(dir, lo, hi, epoch) {
  const p = path.join(dir, 'super');
  const sb = fs.readFileSync(p);
  const slot = sb.subarray(256, 512);
  slot.write('MGX1', 220, 'latin1');
  slot.writeBigUInt64LE(lo, 224);
  slot.writeBigUInt64LE(hi, 232);
  slot.writeBigUInt64LE(epoch, 240);
  slot.writeUInt32LE(crc32c(slot.subarray(0, 252)), 252);
  fs.writeFileSync(p, sb);
}

test('a data root of two partitions: their owned ranges tile the key space', { skip: !haveGolden }, async () => {
  const root = path.join(scratch, 'root');
  fs.mkdirSync(path.join(root, 'crawl-a'), { recursive: true });
  const lo = copyDir('serve-small', 'root/crawl-a/p0');
  const hi = copyDir('storelog-small', 'root/crawl-a/p1');
  own(lo, 0n, 0x7fffffffffffffffn, 3n);
  own(hi, 0x8000000000000000n, 0xffffffffffffffffn, 3n);
  for (const d of [lo, hi]) {
    const n = nativeStats(d);
    assert.equal(n.status, 0, `the native store refuses the owned slot: ${n.err}`);
  }
  const wall = await pick(root, 'root');
  assert.match(await text('[data-testid="tiling-verdict"]'), /2 partition\(s\) at epoch 3: the ranges tile 0 \.\. 2\^64−1 exactly/);
  console.log(`MEASURE data root of 2 partitions: pick to tiling ${wall} ms`);
  await page.fill('[data-testid="route-input"]', '0x9000000000000000');
  await page.press('[data-testid="route-input"]', 'Enter');
  await page.waitForFunction(() => /partition/.test(document.querySelector('[data-testid="route-answer"]').textContent));
  assert.match(await text('[data-testid="route-answer"]'), /crawl-a\/p1/);
  await shot('dir-8-root-tiling');
  await page.click('#views button[data-view="directory"]');
  await page.waitForSelector('[data-testid="root-dirs"]');
  assert.match(await text('[data-testid="root-dirs"]'), /root\/crawl-a\/p0.*0x0000000000000000 \.\. 0x7fffffffffffffff.*3.*999/s);
  await shot('dir-9-root-list');
});

test('no request left the origin and nothing was logged as an error', async () => {
  assert.deepEqual(foreign, []);
  assert.deepEqual(consoleErrors, []);
});
