// The decoding worker. Every value it returns is computed by the wasm build of meguri-core;
// this file only reads the dropped File's byte ranges (synchronously, which is what the
// core's Source trait expects) and passes the answers on.
import init, { MeguriFile, Catalog, keys_of } from './pkg/meguri_wasm.js';

const ready = init();
const files = new Map(); // fid -> { file, mf }
const catalogs = new Map(); // cid -> Catalog
let nextCatalog = 1;
const reader = new FileReaderSync();

function readRange(file, offset, len) {
  return new Uint8Array(reader.readAsArrayBuffer(file.slice(offset, offset + len)));
}

function fileOf(fid) {
  const f = files.get(fid);
  if (!f) throw new Error(`file ${fid} is not open`);
  return f;
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
    files.set(fid, { file, mf });
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
  rows({ fid, from, to, urls }) { return JSON.parse(fileOf(fid).mf.url_rows(from, to, urls)); },
  find({ fid, query }) { return JSON.parse(fileOf(fid).mf.find(query)); },
  verify({ fid }) {
    const t0 = performance.now();
    const r = JSON.parse(fileOf(fid).mf.verify());
    r.ms = performance.now() - t0;
    return r;
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
  stats({ fid }) { const { mf } = fileOf(fid); return { bytesRead: mf.bytes_read(), reads: mf.reads() }; },
};

self.onmessage = async (ev) => {
  const { id, op, args } = ev.data;
  try {
    await ready;
    if (!ops[op]) throw new Error(`unknown request ${op}`);
    self.postMessage({ id, ok: true, value: ops[op](args) });
  } catch (e) {
    // wasm errors arrive as JS Errors carrying the core's message (place, byte offset, what).
    self.postMessage({ id, ok: false, error: String(e?.message ?? e) });
  }
};
