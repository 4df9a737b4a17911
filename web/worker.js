// The decoding worker. Every value it returns is computed by the wasm build of meguri-core;
// this file only reads the dropped File's byte ranges (synchronously, which is what the
// core's Source trait expects) and passes the answers on.
//
// Long work (verify, the CRC pass over a region, decoding arena strings) runs as a loop of
// bounded wasm calls. Between calls the worker yields to its message queue, so it posts
// progress, answers other requests and notices a cancel. If a wasm call traps (an
// "unreachable" or an out-of-memory), the instance can no longer be trusted: the worker says
// so (`trapped`) and refuses further requests; the page then starts a new worker and opens
// its files again.
import init, { MeguriFile, Catalog, PartitionDir, keys_of, self_test_trap } from './pkg/meguri_wasm.js';

const ready = init();
let wasmMemory = null;
ready.then((w) => { wasmMemory = w.memory; });
const files = new Map(); // fid -> { file, mf, stringsGen }
const catalogs = new Map(); // cid -> Catalog
const dirs = new Map(); // did -> { dir: PartitionDir, files: Map(name -> File) }
const cancelled = new Set(); // request ids the page cancelled
let nextCatalog = 1;
let poisoned = null; // the trap that poisoned this instance
const reader = new FileReaderSync();

function readRange(file, offset, len) {
  return new Uint8Array(reader.readAsArrayBuffer(file.slice(offset, offset + len)));
}

function fileOf(fid) {
  const f = files.get(fid);
  if (!f) throw new Error(`file ${fid} is not open`);
  return f;
}

// Yields to the event loop without setTimeout's clamping (a message to ourselves).
const channel = new MessageChannel();
const waiting = [];
channel.port1.onmessage = () => waiting.shift()?.();
const yieldNow = () => new Promise((resolve) => { waiting.push(resolve); channel.port2.postMessage(0); });

// How many compressed arena bytes one step decodes, and how much a CRC step reads.
const ARENA_PIECE = 4 << 20;
const CRC_PIECE = 8 << 20;
// How many log bytes one step of a directory's scan reads.
const LOG_PIECE = 8 << 20;

function dirOf(did) {
  const d = dirs.get(did);
  if (!d) throw new Error(`directory ${did} is not open`);
  return d;
}

const ops = {
  // Opens a dropped file: a manifest (by its magic) becomes a catalog; a partition file is
  // opened lazily and answers with its summary and layout.
  open({ fid, file }) {
    const t0 = performance.now();
    const head = readRange(file, 0, Math.min(4, file.size));
    const magic = String.fromCharCode(...head);
    if (magic === 'MGM1') {
      const bytes = readRange(file, 0, file.size);
      const cat = Catalog.from_manifest(bytes);
      const cid = nextCatalog++;
      catalogs.set(cid, cat);
      return { kind: 'manifest', cid, tiling: JSON.parse(cat.tiling()), ms: performance.now() - t0 };
    }
    const mf = new MeguriFile(file.size, (off, len) => readRange(file, off, len));
    files.set(fid, { file, mf, stringsGen: 0 });
    const openError = mf.open_error() ?? null;
    const summary = openError ? null : JSON.parse(mf.summary());
    const ms = performance.now() - t0;
    let layout = null;
    let layoutError = null;
    try { layout = JSON.parse(mf.layout()); } catch (e) { layoutError = String(e.message ?? e); }
    return {
      kind: 'file', openError, summary, layout, layoutError, ms,
      bytesRead: mf.bytes_read(), reads: mf.reads(), size: file.size,
    };
  },
  pages({ fid, table, column }) { return JSON.parse(fileOf(fid).mf.pages(table, column)); },
  checkPages({ fid, table, column, first, count }) {
    return JSON.parse(fileOf(fid).mf.check_pages(table, column, first, count));
  },
  // The CRC check of a region's page (arena, wheel, filter), piece by piece.
  async checkRegion({ fid, region }, id) {
    const check = fileOf(fid).mf.check_region(region);
    try {
      for (;;) {
        const p = JSON.parse(check.step(CRC_PIECE));
        if (p.finished) return p;
        if (cancelled.has(id)) return { ...p, cancelled: true };
        progress(id, p);
        await yieldNow();
      }
    } finally { check.free(); }
  },
  // Rows without strings: keys and columns only, never the arena.
  rows({ fid, table, from, to }) {
    const { mf } = fileOf(fid);
    return JSON.parse(table === 'host' ? mf.host_rows(from, to, false) : mf.url_rows(from, to, false));
  },
  // The strings (URLs or host names) of rows from..to: what is known at once, then the arena
  // decoded forward, piece by piece with progress, until they are all there. A newer strings
  // request for the same file supersedes this one.
  async strings({ fid, table, from, to }, id) {
    const f = fileOf(fid);
    const gen = ++f.stringsGen;
    let r = JSON.parse(f.mf.want_strings(table, from, to));
    while (r.arena.pending > 0) {
      if (f.stringsGen !== gen || cancelled.has(id)) return { ...r, superseded: true };
      progress(id, r.arena);
      await yieldNow();
      if (f.stringsGen !== gen || cancelled.has(id)) return { ...r, superseded: true };
      try {
        r.arena = JSON.parse(f.mf.arena_step(ARENA_PIECE));
      } catch (e) {
        if (isTrap(e)) throw e;
        // The arena does not decode: the strings say so, and the error is shown once.
        return { ...JSON.parse(f.mf.want_strings(table, from, to)), error: String(e?.message ?? e) };
      }
      if (r.arena.pending === 0 || r.arena.finished) r = JSON.parse(f.mf.want_strings(table, from, to));
    }
    return r;
  },
  find({ fid, table, query }) { return JSON.parse(fileOf(fid).mf.find_in(table ?? 'url', query)); },
  // Verify in bounded steps, with progress, until done or cancelled.
  async verify({ fid, pauseMs = 0 }, id) {
    const t0 = performance.now();
    const v = fileOf(fid).mf.verifier();
    try {
      for (;;) {
        const p = JSON.parse(v.step());
        if (p.finished) { p.report.ms = performance.now() - t0; return p.report; }
        if (cancelled.has(id)) return { cancelled: true, phase: p.phase, done: p.done, total: p.total };
        progress(id, { ...p, ms: performance.now() - t0 });
        await (pauseMs ? new Promise((resolve) => setTimeout(resolve, pauseMs)) : yieldNow());
      }
    } finally { v.free(); }
  },
  schedule({ fid }) { return JSON.parse(fileOf(fid).mf.schedule()); },
  hex({ fid, offset, length }) {
    const { file } = fileOf(fid);
    const start = Math.max(0, Math.min(offset, file.size));
    const len = Math.max(0, Math.min(length, file.size - start));
    return { offset: start, bytes: readRange(file, start, len) };
  },
  tileFiles({ fids, names }) {
    const cat = new Catalog();
    fids.forEach((fid, i) => cat.add_file(fileOf(fid).mf, names[i]));
    const cid = nextCatalog++;
    catalogs.set(cid, cat);
    return { cid, tiling: JSON.parse(cat.tiling()) };
  },
  route({ cid, query }) {
    const cat = catalogs.get(cid);
    if (!cat) throw new Error('no catalog');
    return JSON.parse(cat.route(query));
  },
  keys({ query }) { return JSON.parse(keys_of(query)); },
  // A partition directory: its files are read lazily like a dropped file; the superblock is
  // decided at once, then the logs are scanned in bounded steps with progress.
  openDir({ did, name, files }) {
    const t0 = performance.now();
    const dir = new PartitionDir(name);
    const byName = new Map();
    for (const { name: n, file } of files) {
      byName.set(n, file);
      dir.add_file(n, file.size, (off, len) => readRange(file, off, len));
    }
    dirs.set(did, { dir, files: byName });
    dir.open();
    return { report: JSON.parse(dir.report()), ms: performance.now() - t0 };
  },
  // Scans the logs in bounded steps, with progress, then merges the live state.
  async scanDir({ did }, id) {
    const t0 = performance.now();
    const { dir } = dirOf(did);
    for (;;) {
      const p = JSON.parse(dir.step(LOG_PIECE));
      if (p.done) break;
      if (cancelled.has(id)) return { cancelled: true, report: JSON.parse(dir.report()) };
      progress(id, p);
      await yieldNow();
    }
    return { report: JSON.parse(dir.report()), ms: performance.now() - t0 };
  },
  dirReport({ did }) { return JSON.parse(dirOf(did).dir.report()); },
  dirFrames({ did, log, first, count }) { return JSON.parse(dirOf(did).dir.frames(log, first, count)); },
  dirRows({ did, table, from, to, strings }) {
    const { dir } = dirOf(did);
    return JSON.parse(table === 'host' ? dir.live_host_rows(from, to, strings) : dir.live_url_rows(from, to, strings));
  },
  dirNextChange({ did, table, from }) { return dirOf(did).dir.next_change(table, from); },
  dirStats({ did, now }) { return JSON.parse(dirOf(did).dir.live_stats(now)); },
  dirHex({ did, name, offset, length }) {
    const file = dirOf(did).files.get(name);
    if (!file) throw new Error(`${name} is not in the directory`);
    const start = Math.max(0, Math.min(offset, file.size));
    const len = Math.max(0, Math.min(length, file.size - start));
    return { offset: start, bytes: readRange(file, start, len) };
  },
  // The tiling of a data root: one entry per partition directory, from its superblock.
  tileDirs({ dids }) {
    const cat = new Catalog();
    const refused = [];
    for (const did of dids) {
      try { cat.add_dir(dirOf(did).dir); } catch (e) { refused.push(String(e.message ?? e)); }
    }
    const cid = nextCatalog++;
    catalogs.set(cid, cat);
    return { cid, tiling: JSON.parse(cat.tiling()), refused };
  },
  stats({ fid }) { const { mf } = fileOf(fid); return { bytesRead: mf.bytes_read(), reads: mf.reads() }; },
  arenaState({ fid }) { return JSON.parse(fileOf(fid).mf.arena_state()); },
  // The wasm instance's linear memory (it only grows: this is its high-water mark).
  memory() { return { wasmBytes: wasmMemory?.buffer.byteLength ?? 0 }; },
  // A deliberate trap, so the tests can show the page recovers from one.
  selfTestTrap() { self_test_trap(); },
};

function progress(id, value) { self.postMessage({ id, progress: value }); }

const isTrap = (e) => e instanceof WebAssembly.RuntimeError || (e instanceof RangeError && /memory|allocat/i.test(String(e.message)));

self.onmessage = async (ev) => {
  const { id, op, args } = ev.data;
  if (op === 'cancel') { cancelled.add(args.target); return; }
  try {
    await ready;
    if (poisoned) throw Object.assign(new Error(`the decoder stopped after an earlier failure (${poisoned}); it is being restarted`), { trap: true });
    if (!ops[op]) throw new Error(`unknown request ${op}`);
    const value = await ops[op](args, id);
    self.postMessage({ id, ok: true, value });
  } catch (e) {
    // wasm errors arrive as JS Errors carrying the core's message (place, byte offset, what);
    // a trap (WebAssembly.RuntimeError) poisons this instance.
    const trapped = Boolean(e?.trap) || isTrap(e);
    if (trapped && !poisoned) poisoned = String(e?.message ?? e);
    self.postMessage({ id, ok: false, error: String(e?.message ?? e), trapped });
  } finally {
    cancelled.delete(id);
  }
};
