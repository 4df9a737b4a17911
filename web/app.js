// The inspector page. It draws what the worker (the wasm build of meguri-core) answers;
// it decodes nothing itself.

// The worker holds the wasm instance. A trap in it (an "unreachable", an out-of-memory) leaves
// the instance untrustworthy, so the page then starts a new worker and opens its files again:
// one failure never breaks the decoder for the files that are open.
let worker = null;
let seq = 0;
const pending = new Map(); // id -> { resolve, reject, onProgress }
let restarting = null;
let restarts = 0;

function startWorker() {
  worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });
  worker.onmessage = (ev) => {
    const { id, ok, value, error, progress, trapped } = ev.data;
    const p = pending.get(id);
    if (!p) return;
    if (progress !== undefined) { p.onProgress?.(progress); return; }
    pending.delete(id);
    if (ok) p.resolve(value);
    else {
      p.reject(Object.assign(new Error(error), { trapped }));
      if (trapped) restartWorker(error);
    }
  };
  worker.onerror = (ev) => { ev.preventDefault?.(); restartWorker(ev.message ?? 'the decoder worker failed'); };
}

// Starts a new worker and opens every file again (open is cheap: the header and the tail).
function restartWorker(why) {
  if (restarting) return restarting;
  restarts++;
  worker.terminate();
  for (const [, p] of pending) p.reject(Object.assign(new Error(`the decoder stopped (${why}) and was restarted`), { trapped: true }));
  pending.clear();
  startWorker();
  status(`the decoder stopped (${why}); restarted it and reopened ${state.items.length} file(s)`);
  restarting = (async () => {
    for (const it of state.items) {
      try {
        if (it.kind === 'dir') {
          await ask('openDir', { did: it.fid, name: it.name, files: it.files });
          await ask('scanDir', { did: it.fid });
          continue;
        }
        if (it.kind === 'root') continue;
        const info = await ask('open', { fid: it.fid, file: it.file });
        if (it.kind === 'manifest') { it.cid = info.cid; it.tiling = info.tiling; }
      } catch (e) { showError(`${it.name}: reopening failed: ${e.message}`); }
    }
    for (const it of state.items.filter((i) => i.kind === 'root')) {
      try { Object.assign(it, await ask('tileDirs', { dids: it.dids })); } catch (e) { showError(`${it.name}: ${e.message}`); }
    }
    const files = state.items.filter((i) => i.kind === 'file' && i.info.summary);
    if (files.length) {
      try {
        const c = await ask('tileFiles', { fids: files.map((f) => f.fid), names: files.map((f) => f.name) });
        state.fileCatalog = { ...c, name: `the ${files.length} file(s) dropped together` };
      } catch (e) { state.fileCatalog = null; }
    }
    restarting = null;
  })();
  return restarting;
}

// Sends a request; `onProgress` receives the progress messages of long ones. The returned
// promise has `cancel()`.
function ask(op, args = {}, onProgress) {
  const id = ++seq;
  const run = async () => {
    if (restarting && !['open', 'tileFiles', 'openDir', 'scanDir', 'tileDirs'].includes(op)) await restarting;
    return new Promise((resolve, reject) => {
      pending.set(id, { resolve, reject, onProgress });
      worker.postMessage({ id, op, args });
    });
  };
  const p = run();
  p.cancel = () => worker.postMessage({ id: 0, op: 'cancel', args: { target: id } });
  return p;
}
startWorker();

// ---------- state ----------
const state = {
  items: [], // { fid, name, kind: 'file'|'manifest', info, cid?, tiling? }
  current: null,
  view: 'summary',
  fileCatalog: null, // tiling of all dropped partition files
  hex: null, // { fid, offset, start, length }
  verifyRun: null,
};
let nextFid = 1;

const $ = (sel) => document.querySelector(sel);
const main = $('#main');

function el(tag, attrs = {}, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null) continue;
    if (k === 'class') e.className = v;
    else if (k === 'text') e.textContent = v;
    else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v);
  }
  for (const kid of kids.flat()) if (kid !== null && kid !== undefined) e.append(kid);
  return e;
}

function showError(msg) {
  const box = $('#errors');
  box.append(el('p', { class: 'error' }, msg, ' ', el('button', { class: 'link', onclick: (e) => e.target.parentElement.remove(), 'aria-label': 'dismiss' }, '×')));
}
function status(msg) { $('#status').textContent = msg; }

const fmt = (n) => (typeof n === 'number' ? n.toLocaleString('en-US') : String(n));
function size(n) {
  if (n < 1024) return `${n} B`;
  const u = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024; let i = 0;
  while (v >= 1024 && i < u.length - 1) { v /= 1024; i++; }
  return `${v.toFixed(v < 10 ? 2 : 1)} ${u[i]}`;
}
// Zone maps arrive as decimal strings (u64 does not fit a JS number); key columns show hex.
const zoneText = (c, v) => (v === null || v === undefined ? '–' : /_key$/.test(c.name) ? '0x' + BigInt(v).toString(16).padStart(16, '0') : v);
const hours = (h) => (h ? new Date(h * 3600 * 1000).toISOString().slice(0, 13).replace('T', ' ') + 'h' : '–');

// ---------- loading ----------
async function addFiles(list) {
  const added = [];
  for (const file of list) {
    const fid = nextFid++;
    const t0 = performance.now();
    status(`opening ${file.name} (${size(file.size)})…`);
    try {
      const info = await ask('open', { fid, file });
      // Drop-to-summary time as the page sees it: request, worker read and decode, reply.
      info.pageMs = performance.now() - t0;
      const item = { fid, file, name: file.name, size: file.size, kind: info.kind, info };
      if (info.kind === 'manifest') { item.cid = info.cid; item.tiling = info.tiling; }
      state.items.push(item);
      added.push(item);
      if (info.openError) showError(`${file.name}: ${info.openError}`);
      status(`${file.name}: opened in ${info.pageMs.toFixed(1)} ms`);
    } catch (e) {
      showError(`${file.name}: ${e.message}`);
    }
  }
  await refreshFileCatalog(added);
  if (added.length) {
    const first = added.find((i) => i.kind === 'file') ?? added[0];
    select(first.fid, first.kind === 'manifest' ? 'tiling' : state.view === 'tiling' ? 'summary' : state.view);
  }
}

// The partition files dropped together are tiled together (a fleet's parts, say); a drop of
// one file keeps the previous set.
async function refreshFileCatalog(added) {
  const files = added.filter((i) => i.kind === 'file' && i.info.summary);
  if (files.length < 2 && state.fileCatalog) return;
  if (files.length === 0) return;
  try {
    const c = await ask('tileFiles', { fids: files.map((f) => f.fid), names: files.map((f) => f.name) });
    state.fileCatalog = { ...c, name: `the ${files.length} file(s) dropped together` };
  } catch (e) { showError(`tiling: ${e.message}`); }
}

const drop = $('#drop');
drop.addEventListener('dragover', (e) => { e.preventDefault(); drop.classList.add('over'); });
drop.addEventListener('dragleave', () => drop.classList.remove('over'));
drop.addEventListener('drop', (e) => {
  e.preventDefault(); drop.classList.remove('over');
  // A dropped folder comes as a directory entry; its files are listed (recursively) before
  // anything is opened. The entries must be taken while the event lasts.
  const items = [...(e.dataTransfer.items ?? [])];
  const entries = items.map((i) => i.webkitGetAsEntry?.()).filter(Boolean);
  if (entries.some((en) => en.isDirectory)) {
    const loose = entries.filter((en) => en.isFile);
    Promise.all([...entries.filter((en) => en.isDirectory).map((en) => walkEntry(en, '')), ...loose.map(fileOfEntry)])
      .then((lists) => {
        const tree = lists.flat();
        const files = tree.filter((t) => !t.path.includes('/')).map((t) => t.file);
        if (files.length) addFiles(files);
        addTree(tree.filter((t) => t.path.includes('/')));
      })
      .catch((err) => showError(`reading the dropped folder: ${err.message ?? err}`));
    return;
  }
  addFiles([...e.dataTransfer.files]);
});
$('#dirpicker').addEventListener('change', (e) => {
  addTree([...e.target.files].map((file) => ({ path: file.webkitRelativePath || file.name, file })));
  e.target.value = '';
});
drop.addEventListener('keydown', (e) => { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); $('#picker').click(); } });
$('#picker').addEventListener('change', (e) => { addFiles([...e.target.files]); e.target.value = ''; });

// ---------- navigation ----------
function item() { return state.items.find((i) => i.fid === state.current); }

function select(fid, view) {
  state.current = fid;
  if (view) state.view = view;
  render();
}

for (const b of document.querySelectorAll('#views button')) {
  b.addEventListener('click', () => { state.view = b.dataset.view; render(); });
}
document.addEventListener('keydown', (e) => {
  if (e.target.closest('input, textarea, select') || e.ctrlKey || e.metaKey || e.altKey) return;
  if (!/^[1-9]$/.test(e.key) || $('#views').hidden) return;
  const b = [...document.querySelectorAll('#views button')].filter((x) => !x.hidden)[Number(e.key) - 1];
  if (b) { b.click(); b.focus(); }
});

function renderNav() {
  const nav = $('#files');
  nav.replaceChildren(...state.items.map((i) => el('button', {
    class: i.fid === state.current ? 'file current' : 'file',
    'aria-pressed': String(i.fid === state.current),
    title: `${i.name}, ${fmt(i.size)} bytes`,
    onclick: () => select(i.fid, viewFor(i)),
  }, { manifest: 'manifest: ', dir: 'directory: ', root: 'data root: ' }[i.kind] ?? '', i.name, i.info?.openError ? ' ⚠' : '')));
  $('#views').hidden = state.items.length === 0;
  const shown = viewsOf(item());
  for (const b of document.querySelectorAll('#views button')) {
    b.hidden = !shown.includes(b.dataset.view);
    b.setAttribute('aria-selected', String(b.dataset.view === state.view));
  }
}

// The views each kind of item has: a file all but the directory's, a manifest its tiling, a
// partition directory its own three, a data root its tiling and its partitions.
const FILE_VIEWS = ['summary', 'bytes', 'columns', 'rows', 'verify', 'hex', 'schedule', 'tiling'];
function viewsOf(it) {
  if (!it) return [];
  return { dir: ['directory', 'frames', 'live'], root: ['directory', 'tiling'], manifest: ['tiling'] }[it.kind] ?? FILE_VIEWS;
}
// The view to show when an item is selected: the current one if it has it.
function viewFor(it) {
  const v = viewsOf(it);
  if (v.includes(state.view) && !(it.kind === 'file' && state.view === 'tiling')) return state.view;
  return v[0];
}

function render() {
  if (!viewsOf(item()).includes(state.view) && item()) state.view = viewFor(item());
  renderNav();
  const it = item();
  main.replaceChildren();
  if (!it) return;
  const views = { summary, bytes: byteMap, columns: columnsView, rows: rowsView, verify: verifyView, hex: hexView, schedule: scheduleView, tiling: tilingView, directory: directoryView, frames: framesView, live: liveView };
  const needsFile = !['tiling', 'directory', 'frames', 'live'].includes(state.view);
  if (needsFile && it.kind !== 'file') {
    main.append(el('p', {}, `${it.name} is a manifest: see the Tiling view.`));
    return;
  }
  views[state.view](it);
}

// ---------- summary ----------
function summary(it) {
  const { info } = it;
  const sec = el('section', { 'aria-labelledby': 'h-summary' }, el('h2', { id: 'h-summary' }, `Summary of ${it.name}`));
  if (info.openError) {
    sec.append(el('p', { class: 'error', 'data-testid': 'open-error' }, `This file does not open: ${info.openError}. The Verify view lists every problem.`));
    main.append(sec);
    return;
  }
  // The core's Summary report (the same JSON as `meguri inspect --json`), plus the columns.
  const s = info.summary.summary;
  const rows = [
    ['format', `meguri v${s.version.major}.${s.version.minor}`], ['partition', s.partition_id], ['file size', `${fmt(s.file_size)} bytes (${size(s.file_size)})`],
    ['host-key range', `${s.hostkey_range.lo} .. ${s.hostkey_range.hi}`], ['URLs', fmt(s.urls)], ['hosts', fmt(s.hosts)],
    ['url columns', s.url_columns], ['host columns', s.host_columns], ['checksum', s.checksum], ['default codec', s.default_codec],
    ['created', `${s.created_hours} epoch-hours (${hours(s.created_hours)})`], ['flags', s.flags.names], ['bytes/url', s.bytes_per_url === null ? '–' : s.bytes_per_url.toFixed(2)],
    ['next-due range', s.next_due_range ? `${s.next_due_range.min} .. ${s.next_due_range.max} epoch-hours` : '–'],
  ];
  sec.append(el('table', { class: 'facts', 'data-testid': 'summary' }, rows.map(([k, v]) => el('tr', {}, el('th', {}, k), el('td', { 'data-fact': k }, String(v))))));
  sec.append(el('p', { class: 'note', 'data-testid': 'open-cost' },
    `Opened in ${info.pageMs.toFixed(1)} ms (worker ${info.ms.toFixed(1)} ms), ${info.reads} reads, ${fmt(info.bytesRead)} bytes read of ${fmt(info.size)}.`));
  if (s.meta.length) sec.append(el('h3', {}, 'Metadata'), el('table', {}, s.meta.map((m) => el('tr', {}, el('th', {}, m.key), el('td', {}, m.value)))));
  sec.append(el('p', { class: 'note' }, 'encodings: ', s.encodings.map((e) => `${e.encoding} ×${e.columns}`).join(', ')));
  sec.append(el('details', {}, el('summary', {}, 'meguri inspect --columns (the same text)'), el('pre', { 'data-testid': 'inspect-text' }, s.text + info.summary.columns_text)));
  main.append(sec);
}

// ---------- byte map and budget ----------
function blocksOf(layout) {
  const b = [{ name: 'header', start: 0, len: layout.header_len, kind: 'header' }];
  const colsByRegion = new Map();
  for (const c of layout.columns) {
    if (c.offset === undefined) continue;
    b.push({ name: `${c.table}.${c.name}`, start: c.offset, len: c.bytes, kind: `col-${c.table}`, column: c });
    colsByRegion.set(c.table, true);
  }
  for (const r of layout.regions) {
    if ((r.name === 'url_table' && colsByRegion.has('url')) || (r.name === 'host_table' && colsByRegion.has('host'))) continue;
    b.push({ name: r.name, start: r.offset, len: r.length, kind: `region-${r.name}`, region: r });
  }
  b.push({ name: 'footer', start: layout.footer_start, len: layout.footer_len, kind: 'footer' });
  b.push({ name: 'trailer', start: layout.file_len - layout.trailer_len, len: layout.trailer_len, kind: 'trailer' });
  return b.sort((x, y) => x.start - y.start);
}

function openBlock(it, blk) {
  if (blk.column) { state.colSel = `${blk.column.table}:${blk.column.id}`; state.view = 'columns'; render(); return; }
  openHex(it.fid, blk.start, blk.start, blk.len);
}

function byteMap(it) {
  const { layout, layoutError } = it.info;
  const sec = el('section', {}, el('h2', {}, `Byte map of ${it.name}`));
  if (!layout) { sec.append(el('p', { class: 'error' }, `No layout: ${layoutError}`)); main.append(sec); return; }
  const total = layout.file_len;
  const hover = el('p', { class: 'hover', 'data-testid': 'bytemap-hover' }, 'Hover or focus a block to name it; click or press Enter to open it.');
  const bar = el('div', { class: 'bytemap', 'data-testid': 'bytemap', role: 'group', 'aria-label': 'file layout' });
  for (const blk of blocksOf(layout)) {
    const label = `${blk.name}: ${fmt(blk.len)} bytes at ${fmt(blk.start)} (${(100 * blk.len / total).toFixed(2)}%)`;
    const b = el('button', { class: `blk ${blk.kind}`, title: label, 'aria-label': label, style: `flex-grow:${Math.max(blk.len, 1)}` });
    const say = () => { hover.textContent = label; };
    b.addEventListener('mouseenter', say); b.addEventListener('focus', say);
    b.addEventListener('click', () => openBlock(it, blk));
    bar.append(b);
  }
  sec.append(bar, hover, el('p', { class: 'legend' }, ['header', 'col-url', 'col-host', 'region-string_blob', 'region-schedule', 'region-seenset', 'footer'].map((k) => el('span', {}, el('i', { class: `blk ${k}` }), ` ${k.replace('col-', '').replace('region-', '')} `))));
  // Budget: per region, then per column.
  const urls = layout.urls;
  const perUrl = (b) => (urls ? (b / urls).toFixed(3) : '–');
  const tr = (cells, cls) => el('tr', { class: cls }, cells.map((c, i) => el(i ? 'td' : 'th', {}, String(c))));
  const regionRows = [tr(['header', fmt(layout.header_len), perUrl(layout.header_len), '', ''])]
    .concat(layout.regions.map((r) => tr([r.name, fmt(r.length), perUrl(r.length), '', ''])))
    .concat([tr(['footer + trailer', fmt(layout.footer_len + layout.trailer_len), perUrl(layout.footer_len + layout.trailer_len), '', ''])]);
  const colRows = layout.columns.map((c) => tr([
    `${c.table}.${c.name}`, fmt(c.bytes), perUrl(c.bytes), c.encodings.map((e) => `${e.encoding} ×${e.pages}`).join(', '),
    c.bytes ? `${(c.raw_bytes / c.bytes).toFixed(2)}×` : '–',
  ]));
  sec.append(el('h3', {}, 'Budget'), el('table', { class: 'num', 'data-testid': 'budget' },
    el('thead', {}, el('tr', {}, ['', 'bytes on disk', 'bytes/URL', 'encodings (pages)', 'compression (raw/disk)'].map((h) => el('th', {}, h)))),
    el('tbody', {}, regionRows, el('tr', { class: 'sep' }, el('td', { colspan: 5 })), colRows)));
  main.append(sec);
}

// ---------- columns and pages ----------
// Regions that hold a single page: their names by id.
const PAGE_REGIONS = { 2: 'schedule', 3: 'seenset', 4: 'arena' };
state.colSel = null;
state.crc = new Map(); // `${fid}:${table}:${id}` -> Map(page -> result)

function crcFor(fid, c) {
  const k = `${fid}:${c.table}:${c.id}`;
  if (!state.crc.has(k)) state.crc.set(k, new Map());
  return state.crc.get(k);
}

function columnsView(it) {
  const { layout } = it.info;
  const sec = el('section', {}, el('h2', {}, `Columns and pages of ${it.name}`));
  if (!layout) { sec.append(el('p', { class: 'error' }, `No layout: ${it.info.layoutError}`)); main.append(sec); return; }
  const totalPages = layout.columns.reduce((a, c) => a + c.pages, 0);
  // The regions that hold one page each: the arena (most of a large file), the wheel, the filter.
  const special = layout.regions.filter((r) => PAGE_REGIONS[r.id] && r.length > 0);
  const totalBytes = layout.columns.reduce((a, c) => a + c.bytes, 0) + special.reduce((a, r) => a + r.length, 0);
  const prog = el('progress', { max: totalBytes, value: 0, 'data-testid': 'crc-progress' });
  const progText = el('span', { 'data-testid': 'crc-progress-text' }, '');
  const runBtn = el('button', { 'data-testid': 'verify-all' }, 'Check every page CRC');
  const cancelBtn = el('button', { disabled: '', 'data-testid': 'crc-cancel' }, 'Cancel');
  let cancelled = false;
  let inFlight = null;
  const regionCrc = it.regionCrc ?? (it.regionCrc = new Map()); // region id -> result
  runBtn.addEventListener('click', async () => {
    cancelled = false; runBtn.disabled = true; cancelBtn.disabled = false;
    const t0 = performance.now();
    let done = 0; let bytes = 0; let bad = 0;
    const say = (extra = '') => {
      prog.value = bytes;
      progText.textContent = ` ${fmt(done)} / ${fmt(totalPages)} column pages, ${fmt(regionCrc.size)} / ${special.length} region pages; ${size(bytes)} of ${size(totalBytes)}; ${bad} bad${extra}`;
    };
    outer: for (const c of layout.columns) {
      for (let first = 0; first < c.pages; first += 64) {
        if (cancelled) break outer;
        const n = Math.min(64, c.pages - first);
        try {
          const res = await ask('checkPages', { fid: it.fid, table: c.table, column: c.id, first, count: 64 });
          const m = crcFor(it.fid, c);
          for (const r of res) { m.set(r.page, r); if (!r.ok) bad++; }
          done += res.length;
        } catch (e) { showError(`${c.table}.${c.name}: ${e.message}`); done += n; bad++; }
        bytes += c.bytes * n / c.pages;
        say();
      }
    }
    for (const r of special) {
      if (cancelled) break;
      const base = bytes;
      try {
        inFlight = ask('checkRegion', { fid: it.fid, region: r.id }, (p) => { bytes = base + p.checked; say(` (checking the ${PAGE_REGIONS[r.id]} page)`); });
        const res = await inFlight;
        if (res.cancelled) break;
        regionCrc.set(r.id, res);
        if (!res.ok) bad += res.errors.length;
      } catch (e) { showError(`${PAGE_REGIONS[r.id]}: ${e.message}`); bad++; }
      inFlight = null;
      bytes = base + r.length;
      say();
    }
    const all = !cancelled && done === totalPages && regionCrc.size === special.length;
    say(cancelled ? ' (cancelled)' : ` (done in ${((performance.now() - t0) / 1000).toFixed(1)} s${all ? `: every page of the file, ${special.length ? special.map((r) => PAGE_REGIONS[r.id]).join(', ') + ' included' : 'no region pages'}` : ''})`);
    runBtn.disabled = false; cancelBtn.disabled = true;
    drawTable();
  });
  cancelBtn.addEventListener('click', () => { cancelled = true; inFlight?.cancel(); });
  sec.append(el('p', {}, runBtn, ' ', cancelBtn, ' ', prog, progText));
  const tableBox = el('div');
  const pagesBox = el('div', { 'data-testid': 'pages' });
  sec.append(tableBox, pagesBox);
  function crcState(c) {
    const m = crcFor(it.fid, c);
    if (m.size === 0) return 'unchecked';
    const badPages = [...m.values()].filter((r) => !r.ok).length;
    if (badPages) return `${badPages} bad`;
    return m.size === c.pages ? 'ok' : `${m.size}/${c.pages} ok`;
  }
  function drawTable() {
    const head = ['table', 'id', 'name', 'width', 'rows', 'pages', 'bytes', 'raw', 'ratio', 'codec', 'encodings', 'zone min', 'zone max', 'CRC'];
    const regionRows = special.map((r) => {
      const res = regionCrc.get(r.id);
      const st = !res ? 'unchecked' : res.ok ? 'ok' : res.errors.map((e) => e.text).join('; ');
      return el('tr', {}, [PAGE_REGIONS[r.id], r.id, fmt(r.offset), fmt(r.length), r.crc].map((v) => el('td', {}, String(v))),
        el('td', { class: res ? (res.ok ? 'ok' : 'bad') : '', 'data-testid': `region-crc-${r.id}` }, st),
        el('td', {}, el('button', { class: 'link', onclick: () => openHex(it.fid, r.offset, r.offset, r.length) }, 'hex')));
    });
    tableBox.replaceChildren(el('table', { class: 'num', 'data-testid': 'columns' },
      el('thead', {}, el('tr', {}, head.map((h) => el('th', {}, h)))),
      el('tbody', {}, layout.columns.map((c) => {
        const key = `${c.table}:${c.id}`;
        const st = crcState(c);
        return el('tr', { class: key === state.colSel ? 'selected' : '', tabindex: 0, onclick: () => { state.colSel = key; drawTable(); drawPages(c); }, onkeydown: (e) => { if (e.key === 'Enter') { state.colSel = key; drawTable(); drawPages(c); } } },
          [c.table, c.id, c.name, c.width, fmt(c.rows ?? 0), c.pages, fmt(c.bytes), fmt(c.raw_bytes), c.bytes ? (c.raw_bytes / c.bytes).toFixed(2) : '–', c.codec ?? '–',
            c.encodings.map((e) => `${e.encoding} ×${e.pages}`).join(', '), zoneText(c, c.zone?.min), zoneText(c, c.zone?.max)].map((v) => el('td', {}, String(v))),
          el('td', { class: st.includes('bad') ? 'bad' : st === 'ok' ? 'ok' : '' }, st));
      }))),
    special.length ? el('h3', {}, 'Region pages (one page each; the CRC pass checks the region CRC and the page CRC)') : '',
    special.length ? el('table', { class: 'num', 'data-testid': 'region-pages' },
      el('thead', {}, el('tr', {}, ['page', 'region', 'offset', 'bytes', 'region CRC', 'CRC', ''].map((h) => el('th', {}, h)))),
      el('tbody', {}, regionRows)) : '');
  }
  async function drawPages(c) {
    pagesBox.replaceChildren(el('p', {}, 'loading pages…'));
    try {
      const pages = await ask('pages', { fid: it.fid, table: c.table, column: c.id });
      const m = crcFor(it.fid, c);
      const check = el('button', {}, `Check CRCs of ${c.table}.${c.name}`);
      check.addEventListener('click', async () => {
        for (let first = 0; first < pages.length; first += 64) {
          const res = await ask('checkPages', { fid: it.fid, table: c.table, column: c.id, first, count: 64 });
          for (const r of res) m.set(r.page, r);
        }
        drawTable(); drawPages(c);
      });
      const shown = pages.slice(0, 2000);
      pagesBox.replaceChildren(el('h3', {}, `${c.table}.${c.name}: ${pages.length} page(s)`), el('p', {}, check),
        el('table', { class: 'num' }, el('thead', {}, el('tr', {}, ['page', 'offset', 'bytes', 'first row', 'rows', 'encoding', 'zone min', 'zone max', 'CRC', ''].map((h) => el('th', {}, h)))),
          el('tbody', {}, shown.map((p) => {
            const r = m.get(p.page);
            return el('tr', {}, [p.page, fmt(p.offset), fmt(p.bytes), fmt(p.first_row), fmt(p.rows), p.encoding, zoneText(c, p.zone?.min), zoneText(c, p.zone?.max)].map((v) => el('td', {}, String(v))),
              el('td', { class: r ? (r.ok ? 'ok' : 'bad') : '', title: r?.error?.text ?? '' }, r ? (r.ok ? 'ok' : `BAD: ${r.error.text}`) : '–'),
              el('td', {}, el('button', { class: 'link', onclick: () => openHex(it.fid, p.offset, p.offset, p.bytes) }, 'hex')));
          }))),
        pages.length > shown.length ? el('p', { class: 'note' }, `first ${shown.length} pages shown`) : '');
    } catch (e) { pagesBox.replaceChildren(el('p', { class: 'error' }, e.message)); }
  }
  drawTable();
  const sel = layout.columns.find((c) => `${c.table}:${c.id}` === state.colSel);
  if (sel) drawPages(sel);
  main.append(sec);
}

// ---------- rows (virtualized) ----------
// The rows come in chunks of CHUNK rows without strings (keys and columns only: never the
// arena); the URL or host-name strings of the rows on screen are asked for afterwards, and the
// worker decodes the arena only as far as they need, with progress. The scroll area is at most
// MAX_SCROLL px high (Chromium caps an element at 33,554,432 px): past that, the scroll
// position maps to a row by its fraction, and the wheel and the keys move by rows, so every
// row, the last included, can be reached.
const ROW_H = 24;
const CHUNK = 200;
const MAX_SCROLL = 8000000;
const STRINGS_KEPT = 20000;
const ROW_TABLES = {
  url: {
    title: 'URL rows', total: (s) => s.urls, string: 'URL', find: 'host key (0x…), URL or host name',
    head: ['row', 'host key', 'path key', 'status', 'prio', 'depth', 'source', 'first seen', 'last crawled', 'next due', 'http', 'URL'],
    cells: (r) => [r.row, r.host_key, r.path_key, r.status, r.priority?.toFixed?.(3) ?? '–', r.depth, r.source, hours(r.first_seen), hours(r.last_crawled), hours(r.next_due), r.http_status || '–'],
  },
  host: {
    title: 'Host rows', total: (s) => s.hosts, string: 'host', find: 'host key (0x…), host name or URL',
    head: ['row', 'host key', 'grouping', 'IP', 'robots fetched', 'delay', 'URLs', 'budget', 'score', 'crawls', 'flags', 'host'],
    cells: (r) => [r.row, r.host_key, r.grouping, r.ip ?? '–', hours(r.robots_fetched), r.crawl_delay ? `${(r.crawl_delay / 10).toFixed(1)} s` : '–', fmt(r.url_count), fmt(r.url_budget), r.host_score?.toFixed?.(2) ?? '–', fmt(r.crawl_total), r.flags || '–'],
  },
};

function rowsView(it) {
  const s = it.info.summary?.summary;
  const table = it.rowTable ?? 'url';
  const T = ROW_TABLES[table];
  const sec = el('section', {}, el('h2', {}, `${T.title} of ${it.name}`));
  if (!s) { sec.append(el('p', { class: 'error' }, 'The file does not open; no rows.')); main.append(sec); return; }
  const tabs = el('p', { class: 'tabs', role: 'tablist' }, Object.entries(ROW_TABLES).map(([k, t]) => el('button', {
    role: 'tab', 'aria-selected': String(k === table), 'data-testid': `rows-${k}`,
    onclick: () => { it.rowTable = k; render(); },
  }, `${t.title} (${fmt(t.total(s))})`)));
  const total = T.total(s);
  it.rowState ??= {};
  const rs = it.rowState[table] ??= { chunks: new Map(), strings: new Map(), top: 0, highlight: null };
  const query = el('input', { type: 'search', placeholder: T.find, 'aria-label': `find by ${T.find}`, 'data-testid': 'row-filter', size: 40 });
  const jump = el('input', { type: 'number', min: 0, max: Math.max(0, total - 1), placeholder: 'row', 'aria-label': 'jump to row', 'data-testid': 'row-jump', size: 10 });
  const found = el('p', { class: 'note', 'data-testid': 'row-found' }, `${fmt(total)} rows; only the pages on screen are decoded, and the arena only as far as the ${T.string} strings on screen need.`);
  const loading = el('p', { class: 'loading', 'data-testid': 'rows-loading', hidden: '' });
  const arenaNote = el('p', { class: 'note', 'data-testid': 'arena-state' }, '');
  const head = el('div', { class: `rrow head ${table}` }, T.head.map((c) => el('span', {}, c)));
  const scroller = el('div', { class: 'rows', tabindex: 0, 'data-testid': 'rows', 'aria-label': `${T.title}: arrows, Page Up/Down, Home and End move` });
  const natural = total * ROW_H;
  const scaled = natural > MAX_SCROLL;
  const spacer = el('div', { class: 'spacer', style: `height:${scaled ? MAX_SCROLL : natural}px` });
  const win = el('div', { class: 'rwin' });
  spacer.append(win);
  scroller.append(spacer);
  sec.append(tabs, el('p', { class: 'controls' }, el('label', {}, 'Find ', query), ' ', el('label', {}, 'Row ', jump)), found, loading, arenaNote, el('div', { class: 'rowsbox' }, head, scroller));
  main.append(sec);

  const visible = () => Math.max(1, Math.ceil(scroller.clientHeight / ROW_H));
  const maxTop = () => Math.max(0, total - visible());
  const span = () => Math.max(1, (scaled ? MAX_SCROLL : natural) - scroller.clientHeight);
  const rowFromScroll = (st) => (scaled ? (st / span()) * maxTop() : st / ROW_H);
  const scrollFromRow = (row) => (scaled ? (row / Math.max(1, maxTop())) * span() : row * ROW_H);
  let ourScroll = -1;
  function setTop(row) {
    rs.top = Math.max(0, Math.min(maxTop(), Math.round(row)));
    scroller.scrollTop = scrollFromRow(rs.top);
    ourScroll = scroller.scrollTop;
    draw();
  }
  scroller.addEventListener('scroll', () => {
    if (Math.abs(scroller.scrollTop - ourScroll) < 1) return;
    ourScroll = -1;
    rs.top = Math.max(0, Math.min(maxTop(), rowFromScroll(scroller.scrollTop)));
    draw();
  });
  if (scaled) {
    scroller.addEventListener('wheel', (e) => {
      e.preventDefault();
      const rows = e.deltaMode === 1 ? e.deltaY : e.deltaMode === 2 ? e.deltaY * visible() : e.deltaY / ROW_H;
      setTop(rs.top + rows);
    }, { passive: false });
  }
  scroller.addEventListener('keydown', (e) => {
    const v = visible();
    const to = { ArrowDown: rs.top + 1, ArrowUp: rs.top - 1, PageDown: rs.top + v, PageUp: rs.top - v, Home: 0, End: maxTop() }[e.key];
    if (to !== undefined) { e.preventDefault(); setTop(to); }
  });

  function chunk(ci) {
    if (!rs.chunks.has(ci)) {
      const p = ask('rows', { fid: it.fid, table, from: ci * CHUNK, to: Math.min(total, (ci + 1) * CHUNK) })
        .then((x) => { rs.chunks.set(ci, x.rows); if (rs.chunks.size > 200) rs.chunks.delete(rs.chunks.keys().next().value); return x.rows; })
        .catch((e) => { rs.chunks.delete(ci); if (!e.trapped) showError(`rows: ${e.message}`); return null; });
      rs.chunks.set(ci, p);
    }
    return rs.chunks.get(ci);
  }
  function rowEl(r) {
    const str = rs.strings.has(r.row) ? (rs.strings.get(r.row) ?? '–') : '…';
    return el('div', { class: `rrow ${table}${r.row === rs.highlight ? ' hit' : ''}`, 'data-row': r.row },
      T.cells(r).map((v) => el('span', {}, String(v))), el('span', { class: 'str', title: str }, str));
  }
  let stringsTimer = 0;
  let stringsReq = null;
  function wantStrings(first, last) {
    clearTimeout(stringsTimer);
    let missing = false;
    for (let r = first; r < last; r++) if (!rs.strings.has(r)) { missing = true; break; }
    if (!missing) return;
    stringsTimer = setTimeout(async () => {
      stringsReq?.cancel();
      const req = ask('strings', { fid: it.fid, table, from: first, to: last }, (a) => showArena(a, true));
      stringsReq = req;
      try {
        const r = await req;
        if (r.superseded) return;
        if (r.error && !rs.errorShown) { rs.errorShown = true; showError(`${T.string} strings: ${r.error}`); }
        r.strings.forEach((str, i) => rs.strings.set(r.from + i, str));
        while (rs.strings.size > STRINGS_KEPT) rs.strings.delete(rs.strings.keys().next().value);
        showArena(r.arena, false);
        if (scroller.isConnected) draw();
      } catch (e) { if (!e.trapped) showError(`${T.string} strings: ${e.message}`); }
    }, 120);
  }
  function showArena(a, busy) {
    if (!a || !a.total) { arenaNote.textContent = ''; return; }
    const pct = a.total ? Math.floor((100 * a.decoded) / a.total) : 100;
    arenaNote.textContent = busy
      ? `decoding the arena for the ${T.string} strings on screen: ${size(a.decoded)} of ${size(a.total)} (${pct}%)${a.passes > 1 ? `, pass ${a.passes} (rows behind the decoder start it again from the beginning)` : ''}…`
      : `arena: decoded up to ${size(a.decoded)} of ${size(a.total)} in ${a.passes} pass(es); ${size(a.held)} held`;
    arenaNote.classList.toggle('busy', busy);
  }
  let drawing = 0;
  async function draw() {
    const my = ++drawing;
    const first = Math.floor(rs.top);
    const last = Math.min(total, first + visible() + 1);
    win.style.top = `${scaled ? scroller.scrollTop : first * ROW_H}px`;
    const cis = [];
    for (let ci = Math.floor(first / CHUNK); ci * CHUNK < last; ci++) cis.push(ci);
    const ready = cis.map((ci) => rs.chunks.get(ci)).filter(Array.isArray);
    const have = ready.flat().filter((r) => r.row >= first && r.row < last);
    if (ready.length < cis.length) {
      loading.hidden = false;
      loading.textContent = `loading rows ${fmt(first)}–${fmt(Math.max(first, last - 1))}…`;
      // Placeholders where rows are still coming, so the table never looks empty.
      const rowsNow = new Map(have.map((r) => [r.row, r]));
      win.replaceChildren(...Array.from({ length: last - first }, (_, i) => {
        const r = rowsNow.get(first + i);
        return r ? rowEl(r) : el('div', { class: 'rrow placeholder', 'data-row': first + i }, el('span', {}, String(first + i)), el('span', {}, 'loading…'));
      }));
    }
    const parts = await Promise.all(cis.map(chunk));
    if (my !== drawing || !scroller.isConnected) return;
    loading.hidden = true;
    const rows = parts.filter(Boolean).flat().filter((r) => r.row >= first && r.row < last);
    win.replaceChildren(...rows.map(rowEl));
    it.rowsShown = { table, first, last: first + rows.length };
    wantStrings(first, last);
  }
  function goto(row) {
    rs.highlight = row;
    setTop(row - 2);
  }
  jump.addEventListener('keydown', (e) => {
    if (e.key !== 'Enter') return;
    const row = Number(jump.value);
    if (!Number.isInteger(row) || row < 0 || row >= total) { found.textContent = `row ${jump.value} is not in 0 .. ${fmt(total - 1)}`; return; }
    goto(row);
  });
  query.addEventListener('keydown', async (e) => {
    if (e.key !== 'Enter' || !query.value.trim()) return;
    try {
      const f = await ask('find', { fid: it.fid, table, query: query.value });
      const what = `host ${f.host ? `${f.host} (${f.host_key})` : f.host_key}`;
      if (f.first_row === null) { found.textContent = `${what}${f.path_key ? ` / path ${f.path_key}` : ''}: no rows in this table.`; return; }
      found.textContent = table === 'host'
        ? `${what}: host row ${fmt(f.first_row)}`
        : `${what}: ${fmt(f.count)} row(s) from row ${fmt(f.first_row)}` + (f.path_key ? (f.row !== null ? `; this URL is row ${fmt(f.row)}` : '; this URL is not in the file') : '');
      goto(f.row ?? f.first_row);
    } catch (err) { found.textContent = ''; showError(err.message); }
  });
  setTop(rs.top);
}

// ---------- verify ----------
// Verify runs in the worker in bounded steps (see wasm/src/verify_steps.rs) with a progress
// bar and a Cancel button; files up to 64 MiB are verified as soon as the view opens.
function verifyView(it) {
  const sec = el('section', {}, el('h2', {}, `Verify ${it.name}`));
  const out = el('div', { 'data-testid': 'verify' });
  const run = el('button', { 'data-testid': 'run-verify' }, it.verify ? 'Verify again' : 'Run verify');
  const cancel = el('button', { 'data-testid': 'verify-cancel', disabled: '' }, 'Cancel');
  const bar = el('progress', { max: 1, value: 0, 'data-testid': 'verify-progress', hidden: '' });
  const phase = el('span', { 'data-testid': 'verify-phase' }, '');
  const follow = (task) => {
    run.disabled = true; cancel.disabled = false; bar.hidden = false;
    out.replaceChildren(el('p', {}, 'verifying (reads and checks every byte, a few MiB at a time)…'));
    task.then((r) => {
      if (r.cancelled) { it.verifyNote = `cancelled during ${r.phase} at ${Math.floor((100 * r.done) / r.total)}%`; } else { it.verify = r; it.verifyNote = null; }
    }).catch((e) => { it.verifyNote = `verify failed: ${e.message}`; if (!e.trapped) showError(e.message); })
      .finally(() => { if (it.verifyTask === task) it.verifyTask = null; if (sec.isConnected) { run.disabled = false; cancel.disabled = true; bar.hidden = true; draw(); } });
  };
  const onProgress = (p) => {
    it.verifyProgress = p;
    if (!sec.isConnected) return;
    bar.max = p.total; bar.value = p.done;
    phase.textContent = ` ${p.phase}: ${Math.floor((100 * p.done) / p.total)}% (${(p.ms / 1000).toFixed(1)} s)`;
  };
  run.addEventListener('click', () => {
    it.verifyTask = ask('verify', { fid: it.fid, pauseMs: state.verifyPauseMs ?? 0 }, (p) => it.verifyOnProgress?.(p));
    it.verifyOnProgress = onProgress;
    follow(it.verifyTask);
  });
  cancel.addEventListener('click', () => { it.verifyTask?.cancel(); });
  function draw() {
    const r = it.verify;
    const note = it.verifyNote ? el('p', { class: 'note', 'data-testid': 'verify-note' }, it.verifyNote) : null;
    if (!r) { out.replaceChildren(note ?? el('p', {}, 'Not verified yet. Verify reads and checks every byte.')); return; }
    const verdict = r.findings.length === 0 ? 'ok' : r.ok ? 'ok with warnings' : 'FAILED';
    out.replaceChildren(note ?? '',
      el('p', { class: r.ok ? 'ok verdict' : 'bad verdict', 'data-testid': 'verdict' },
        `${it.name}: ${verdict}: ${r.errors} error(s), ${r.warnings} warning(s); ${r.columns_checked} columns, ${fmt(r.pages_checked)} pages, ${fmt(r.url_rows_checked)} URL rows, ${fmt(r.host_rows_checked)} host rows checked in ${r.ms.toFixed(0)} ms`),
      el('ul', { class: 'findings' }, r.findings.map((f) => el('li', { class: f.severity },
        el('span', { class: 'sev' }, f.severity), ' ', f.text, ' ',
        f.offset !== null || f.span.length ? el('button', { class: 'link', 'data-testid': 'finding-link', onclick: () => openHex(it.fid, f.offset ?? f.span.start, f.span.start, f.span.length) }, `hex at byte ${fmt(f.offset ?? f.span.start)}`) : null))));
  }
  sec.append(el('p', {}, run, ' ', cancel, ' ', bar, phase), out);
  main.append(sec);
  draw();
  if (it.verifyTask) { it.verifyOnProgress = onProgress; follow(it.verifyTask); if (it.verifyProgress) onProgress(it.verifyProgress); return; }
  // Small files are verified at once; a large one waits for the button.
  if (!it.verify && !it.verifyNote && it.size <= 64 << 20) run.click();
}

// ---------- hex ----------
function openHex(fid, offset, start, length) {
  state.hex = { fid, offset, start, length };
  state.current = fid;
  state.view = 'hex';
  render();
}

async function hexView(it) {
  const h = state.hex && state.hex.fid === it.fid ? state.hex : { fid: it.fid, offset: 0, start: 0, length: 64 };
  const sec = el('section', {}, el('h2', {}, `Hex of ${it.name}`));
  const at = el('input', { type: 'text', value: String(h.offset), size: 14, 'aria-label': 'byte offset', 'data-testid': 'hex-offset' });
  at.addEventListener('keydown', (e) => { if (e.key === 'Enter') { const v = Number(at.value); if (Number.isFinite(v)) openHex(it.fid, v, v, 1); } });
  const note = el('p', { class: 'note', 'data-testid': 'hex-note' },
    `byte ${fmt(h.offset)} marked; structure ${fmt(h.start)} .. ${fmt(h.start + h.length)} (${fmt(h.length)} bytes) shaded`);
  const pre = el('pre', { class: 'hex', 'data-testid': 'hex' }, 'reading…');
  sec.append(el('p', { class: 'controls' }, el('label', {}, 'Offset ', at)), note, pre);
  main.append(sec);
  const from = Math.max(0, Math.floor((h.offset - 256) / 16) * 16);
  try {
    const { offset, bytes } = await ask('hex', { fid: it.fid, offset: from, length: 768 });
    // Mark the offset and the field it starts (up to 4 bytes of a CRC or length, inside the structure).
    const markEnd = Math.min(h.offset + 4, h.start + Math.max(h.length, 1));
    pre.replaceChildren();
    for (let i = 0; i < bytes.length; i += 16) {
      const line = el('div', {}, el('span', { class: 'addr' }, (offset + i).toString().padStart(12, ' ') + '  '));
      let ascii = '';
      for (let j = 0; j < 16 && i + j < bytes.length; j++) {
        const o = offset + i + j;
        const b = bytes[i + j];
        const cls = o >= h.offset && o < markEnd ? 'mark' : (o >= h.start && o < h.start + h.length ? 'in' : '');
        line.append(el('span', { class: cls, 'data-off': o }, b.toString(16).padStart(2, '0')), ' ');
        ascii += b >= 32 && b < 127 ? String.fromCharCode(b) : '.';
      }
      line.append(el('span', { class: 'ascii' }, ' ' + ascii));
      pre.append(line);
    }
    pre.querySelector('.mark')?.scrollIntoView({ block: 'center' });
  } catch (e) { pre.textContent = ''; showError(e.message); }
}

// ---------- schedule ----------
async function scheduleView(it) {
  const sec = el('section', {}, el('h2', {}, `Schedule wheel of ${it.name}`));
  main.append(sec);
  try {
    const w = await ask('schedule', { fid: it.fid });
    if (!w) { sec.append(el('p', { 'data-testid': 'schedule' }, 'This file has no schedule region.')); return; }
    const max = Math.max(1, ...w.counts);
    const W = 283 * 4; const H = 160;
    const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
    svg.setAttribute('viewBox', `0 0 ${W} ${H + 20}`); svg.setAttribute('class', 'chart'); svg.setAttribute('role', 'img');
    svg.setAttribute('aria-label', `due rows per wheel bucket, ${w.scheduled} scheduled`);
    w.counts.forEach((c, b) => {
      const r = document.createElementNS(svg.namespaceURI, 'rect');
      const hgt = c ? Math.max(1, (c / max) * H) : 0;
      r.setAttribute('x', b * 4); r.setAttribute('y', H - hgt); r.setAttribute('width', 3); r.setAttribute('height', hgt);
      r.setAttribute('class', b < 168 ? 'near' : b < 258 ? 'mid' : b < 282 ? 'far' : 'over');
      const t = document.createElementNS(svg.namespaceURI, 'title');
      t.textContent = `bucket ${b}: ${c} rows due from hour ${w.base + w.starts[b]} (base + ${w.starts[b]} h)`;
      r.append(t); svg.append(r);
    });
    for (const [x, label] of [[0, 'near (1 h)'], [168 * 4, 'mid (24 h)'], [258 * 4, 'far (720 h)']]) {
      const t = document.createElementNS(svg.namespaceURI, 'text');
      t.setAttribute('x', x + 2); t.setAttribute('y', H + 15); t.textContent = label; svg.append(t);
    }
    sec.append(el('p', { 'data-testid': 'schedule' }, `base hour ${w.base} (${hours(w.base)}), ${fmt(w.covered)} rows covered, ${fmt(w.scheduled)} scheduled; busiest bucket ${fmt(max)} rows.`), svg);
  } catch (e) { sec.append(el('p', { class: 'error' }, e.message)); }
}

// ---------- tiling ----------
// A key's place on 0 .. 2^64 as a fraction, from its "0x%016x" string (BigInt: exact, then
// scaled to a double).
const keyFrac = (hex) => Number((BigInt(hex) * 1000000000n) >> 64n) / 1e9;
// The end of a range is inclusive: its right edge is after the key.
const keyEnd = (hex) => Number(((BigInt(hex) + 1n) * 1000000000n) >> 64n) / 1e9;

function tilingView(it) {
  const sec = el('section', {}, el('h2', {}, 'Tiling of the host-key space'));
  main.append(sec);
  const src = it.kind === 'manifest' || it.kind === 'root' ? { cid: it.cid, tiling: it.tiling, name: it.name } : state.fileCatalog;
  if (!src) { sec.append(el('p', {}, 'Drop a manifest or partition files.')); return; }
  // The core's MapView (the same JSON as `meguri map --json`) and the manifest's VerifyView.
  const t = src.tiling.map;
  const report = src.tiling.verify;
  sec.append(el('p', { 'data-testid': 'tiling-verdict', class: t.clean ? 'ok verdict' : 'bad verdict' },
    `${src.name}: ${t.considered} partition(s) at epoch ${t.epoch}: ` + (t.clean ? 'the ranges tile 0 .. 2^64−1 exactly' : `${t.gaps.length} gap(s), ${t.overlaps.length} overlap(s), ${t.inverted.length} inverted`)));
  const bar = el('div', { class: 'tiling', 'data-testid': 'tiling-bar' });
  const lanes = t.entries.filter((e) => e.current);
  const place = (lo, hi, min) => {
    const a = keyFrac(lo);
    return `left:${a * 100}%;width:${Math.max(min, (keyEnd(hi) - a) * 100)}%`;
  };
  lanes.forEach((e, lane) => {
    const r = e.hostkey_range;
    bar.append(el('div', { class: 'part', title: `p${e.partition_id} ${e.file_ref}: ${r.lo} .. ${r.hi}`, style: `${place(r.lo, r.hi, 0.2)};top:${lane * 22}px` }, `p${e.partition_id} ${e.file_ref}`));
  });
  const probY = lanes.length * 22 + 4;
  for (const g of t.gaps) bar.append(el('div', { class: 'gap', title: `gap ${g.lo} .. ${g.hi}`, style: `${place(g.lo, g.hi, 0.3)};top:${probY}px` }, 'gap'));
  for (const o of t.overlaps) bar.append(el('div', { class: 'overlap', title: `overlap ${o.lo} .. ${o.hi}`, style: `${place(o.lo, o.hi, 0.3)};top:${probY}px` }, 'overlap'));
  bar.style.height = `${probY + 24}px`;
  sec.append(el('div', { class: 'axis' }, el('span', {}, '0x0000000000000000'), el('span', {}, '0x8000000000000000'), el('span', {}, '0xffffffffffffffff')), bar);
  const name = (ref) => { const e = t.entries[ref.entry]; return `p${ref.partition_id} (${e?.file_ref ?? '?'})`; };
  const problems = el('ul', { 'data-testid': 'tiling-problems' },
    t.gaps.map((g) => el('li', { class: 'bad' }, `gap [${g.lo}, ${g.hi}]` + (g.before !== null ? ` after ${name(g.before)}` : '') + (g.after !== null ? ` before ${name(g.after)}` : ''))),
    t.overlaps.map((o) => el('li', { class: 'bad' }, `overlap [${o.lo}, ${o.hi}] between ${name(o.first)} and ${name(o.second)}`)),
    t.inverted.map((i) => el('li', { class: 'bad' }, `inverted range in ${name(i)}`)));
  sec.append(problems);
  const q = el('input', { type: 'search', placeholder: 'host key (0x…) or URL', size: 40, 'aria-label': 'route a host key or URL', 'data-testid': 'route-input' });
  const ans = el('p', { 'data-testid': 'route-answer' });
  q.addEventListener('keydown', async (e) => {
    if (e.key !== 'Enter') return;
    try {
      // The core's RouteView.
      const r = await ask('route', { cid: src.cid, query: q.value });
      ans.textContent = r.text.trim() + (r.owners.length > 1 ? ` (claimed by ${r.owners.length} partitions: ${r.owners.map(name).join(', ')})` : '');
      ans.className = r.route === null ? 'bad' : 'ok';
    } catch (err) { ans.textContent = ''; showError(err.message); }
  });
  sec.append(el('h3', {}, 'Route'), el('p', { class: 'controls' }, el('label', {}, 'Host key or URL ', q)), ans);
  sec.append(el('h3', {}, 'Partitions'), el('table', { class: 'num' }, el('thead', {}, el('tr', {}, ['#', 'id', 'file', 'low', 'high', 'URLs', 'hosts', 'epoch'].map((h) => el('th', {}, h)))),
    el('tbody', {}, t.entries.map((e) => el('tr', { class: e.current ? '' : 'stale' }, [e.entry, e.partition_id, e.file_ref, e.hostkey_range.lo, e.hostkey_range.hi, fmt(e.urls), fmt(e.hosts), e.epoch].map((v) => el('td', {}, String(v))))))));
  if (report) {
    sec.append(el('h3', {}, 'Verify'), el('ul', { class: 'findings', 'data-testid': 'manifest-verify' }, report.findings.length ? report.findings.map((f) => el('li', { class: f.severity }, f.text)) : el('li', { class: 'ok' }, 'manifest ok')));
  }
  sec.append(el('details', {}, el('summary', {}, 'meguri map (the same text)'), el('pre', {}, t.text)));
}

// ---------- partition directories ----------
// A folder (picked with the folder picker, or dropped) is a set of files with relative paths.
// Each folder holding `super` or a log is a partition directory: the worker opens it with the
// core's store code (wasm PartitionDir), decides which superblock slot is current, scans the
// logs and says what recovery would do, without writing anything. Its snapshot is also opened
// as an ordinary file, so every file view works on it. A folder above partition directories
// (a data root of `meguri serve`) is listed with the tiling of their owned ranges.

// The files under a dropped directory entry, with paths relative to the drop.
async function walkEntry(entry, prefix) {
  const path = prefix ? `${prefix}/${entry.name}` : entry.name;
  if (entry.isFile) return [{ path, file: await new Promise((res, rej) => entry.file(res, rej)) }];
  const reader = entry.createReader();
  const kids = [];
  // readEntries returns a batch at a time until an empty one.
  for (;;) {
    const batch = await new Promise((res, rej) => reader.readEntries(res, rej));
    if (!batch.length) break;
    kids.push(...batch);
  }
  return (await Promise.all(kids.map((k) => walkEntry(k, path)))).flat();
}
async function fileOfEntry(entry) { return { path: entry.name, file: await new Promise((res, rej) => entry.file(res, rej)) }; }

async function addTree(tree) {
  if (!tree.length) return;
  const folders = new Map(); // folder path -> [{ name, file }]
  for (const { path, file } of tree) {
    const cut = path.lastIndexOf('/');
    const folder = cut < 0 ? '' : path.slice(0, cut);
    if (!folders.has(folder)) folders.set(folder, []);
    folders.get(folder).push({ name: path.slice(cut + 1), file });
  }
  const partitions = [...folders.keys()].filter((f) => folders.get(f).some(({ name }) => /^(super|log-\d+)$/.test(name))).sort();
  if (!partitions.length) {
    showError(`${[...folders.keys()][0] || 'the folder'}: no partition directory in it (no folder holds super or a log), so its .meguri files are opened as files`);
    return addFiles(tree.map((t) => t.file).filter((f) => /\.(meguri|manifest)$/.test(f.name)));
  }
  const opened = [];
  // One partition is shown as soon as its superblock is read; a root's partitions are all
  // scanned before their tiling is shown.
  for (const folder of partitions) {
    const it = await openDir(folder, folders.get(folder), { show: partitions.length === 1 });
    if (it) opened.push(it);
  }
  // A data root: the common folder above the partition directories, when it is not one itself.
  const top = tree[0].path.split('/')[0];
  let root = null;
  if (opened.length && !(opened.length === 1 && opened[0].name === top)) {
    const fid = nextFid++;
    root = { fid, kind: 'root', name: top, dids: opened.map((d) => d.fid), dirs: opened, size: tree.reduce((a, t) => a + t.file.size, 0) };
    try { Object.assign(root, await ask('tileDirs', { dids: root.dids })); } catch (e) { showError(`${top}: ${e.message}`); }
    state.items.push(root);
  }
  if (root) select(root.fid, 'tiling');
  else if (opened[0] && partitions.length > 1) select(opened[0].fid, 'directory');
}

// Opens a partition directory: the superblock and the snapshot's header first (the view shows
// them at once), then the logs are scanned with progress and the live state merged.
async function openDir(folder, files, { show = false } = {}) {
  const fid = nextFid++;
  const t0 = performance.now();
  status(`opening the partition directory ${folder} (${files.length} files)…`);
  try {
    const opened = await ask('openDir', { did: fid, name: folder, files });
    const it = { fid, kind: 'dir', name: folder, files, size: files.reduce((a, f) => a + f.file.size, 0), report: opened.report, firstView: performance.now() - t0, openMs: opened.ms, scanning: true };
    state.items.push(it);
    if (show) select(fid, 'directory');
    const res = await ask('scanDir', { did: fid }, (p) => {
      it.progress = p;
      status(`${folder}: scanning ${p.log}, ${size(p.position)} of ${size(p.size)}…`);
      const bar = document.querySelector(`[data-testid="dir-scan"][data-fid="${fid}"]`);
      if (bar) { bar.max = p.size; bar.value = p.position; }
    });
    it.report = res.report;
    it.scanning = false;
    it.scanMs = res.ms;
    it.pageMs = performance.now() - t0;
    const snap = res.report.snapshot;
    const snapFile = snap?.present && files.find((f) => f.name === snap.name);
    if (snapFile) {
      // The snapshot is an ordinary .meguri file: every file view works on it.
      const sfid = nextFid++;
      const info = await ask('open', { fid: sfid, file: snapFile.file });
      info.pageMs = info.ms;
      state.items.push({ fid: sfid, file: snapFile.file, name: `${folder}/${snap.name}`, size: snapFile.file.size, kind: 'file', info });
      it.snapFid = sfid;
    }
    status(`${folder}: first view in ${it.firstView.toFixed(1)} ms, logs scanned in ${it.scanMs.toFixed(1)} ms`);
    if (state.current === fid || show) render();
    return it;
  } catch (e) {
    showError(`${folder}: ${e.message}`);
    return null;
  }
}

const hex16 = (v) => (v === null || v === undefined ? '–' : v);

function directoryView(it) {
  if (it.kind === 'root') return rootView(it);
  const r = it.report;
  const sb = r.superblock;
  const sec = el('section', { 'aria-labelledby': 'h-dir' }, el('h2', { id: 'h-dir' }, `Partition directory ${it.name}`));
  const verdict = sb.error
    ? el('p', { class: 'bad verdict', 'data-testid': 'dir-verdict' }, `The store refuses to open this directory: ${sb.error}`)
    : it.scanning ? el('p', { class: 'verdict', 'data-testid': 'dir-first' }, sb.current ? `generation ${sb.generation}, current slot ${sb.current}` : 'no checkpoint yet (log-1 only)')
    : el('p', { class: 'ok verdict', 'data-testid': 'dir-verdict' },
      sb.current ? `generation ${sb.generation}, current slot ${sb.current}` : 'no checkpoint yet (log-1 only)',
      `; ${fmt(r.frames_replayed)} frames replayed from ${r.logs.length} log(s)`, r.live ? `; ${fmt(r.live.urls)} live URLs, ${fmt(r.live.hosts)} hosts` : '');
  sec.append(verdict);
  if (it.scanning) {
    sec.append(el('p', { 'data-testid': 'dir-scanning' }, `Scanning the logs… `, el('progress', { 'data-testid': 'dir-scan', 'data-fid': it.fid, max: it.progress?.size ?? 1, value: it.progress?.position ?? 0 })));
  } else {
    sec.append(el('p', { class: 'note', 'data-testid': 'dir-cost' },
      `First view (superblock decided, snapshot header read) in ${it.firstView.toFixed(1)} ms; logs scanned and live state merged in ${it.scanMs.toFixed(1)} ms more (worker).`));
  }

  // Superblock: both slots.
  sec.append(el('h3', {}, 'Superblock'));
  if (!sb.present) sec.append(el('p', { class: 'note' }, 'No super file: no checkpoint was ever committed.'));
  sec.append(el('table', { class: 'num slots', 'data-testid': 'slots' },
    el('thead', {}, el('tr', {}, ['slot', 'at byte', 'state', 'generation', 'frontier', 'arena length', 'snapshot', 'log', 'owned range', 'epoch', ''].map((h) => el('th', {}, h)))),
    el('tbody', {}, sb.slots.map((s) => el('tr', { class: s.current ? 'current-slot' : s.state === 'damaged' ? 'damaged-slot' : '', 'data-slot': s.slot },
      [s.slot, s.offset, s.state, hex16(s.gen), hex16(s.frontier), hex16(s.arena_len), s.snapshot ?? '–', s.log ?? '–',
        s.owner ? `${s.owner.lo} .. ${s.owner.hi}` : '–', s.owner ? s.owner.epoch : '–'].map((v) => el('td', {}, String(v))),
      el('td', {}, s.current ? 'current' : s.error ?? ''))))));
  sec.append(el('p', { 'data-testid': 'slot-why' }, sb.why ? `Why: ${sb.why}.` : sb.error ? `No slot is valid: ${sb.error}` : ''));
  if (sb.owner) sec.append(el('p', { class: 'note' }, sb.owner.whole ? 'Owns the whole key space at epoch 0 (no owner extension: a default or reference directory).' : `Owns host keys ${sb.owner.lo} .. ${sb.owner.hi} at epoch ${sb.owner.epoch}.`));

  // Snapshot.
  if (r.snapshot) {
    const s = r.snapshot;
    sec.append(el('h3', {}, 'Snapshot'), el('p', { 'data-testid': 'dir-snapshot' },
      s.present ? `${s.name}: ${s.error ? `does not open: ${s.error}` : `partition ${s.partition_id}, ${fmt(s.urls)} URL rows, ${fmt(s.hosts)} host rows, arena ${fmt(s.arena_len)} bytes`}` : `${s.name} is missing`,
      ' ', it.snapFid ? el('button', { class: 'link', onclick: () => select(it.snapFid, 'summary') }, 'open its file views') : ''));
  }

  // Logs.
  sec.append(el('h3', {}, 'Logs (in replay order)'));
  if (r.missing_log) sec.append(el('p', { class: 'error' }, `${r.missing_log} is missing: the updates since the checkpoint are lost.`));
  for (const l of r.logs) {
    const box = el('div', { class: 'log', 'data-testid': `log-${l.name}` });
    const rule = l.set_aside ? 'set aside (the chain broke before it)' : l.rule ? (l.rule.kind === 'first' ? `the named log: LSNs from ${l.rule.lsn}, strictly increasing` : `a later log: continues at LSN ${l.rule.lsn}`) : '';
    box.append(el('h4', {}, `${l.name} (${fmt(l.size)} bytes): ${rule}`));
    box.append(el('table', { class: 'num', 'data-testid': `kinds-${l.name}` },
      el('thead', {}, el('tr', {}, [...l.by_kind.map((k) => el('th', {}, k.kind)), el('th', {}, 'skipped (copies)'), el('th', {}, 'LSNs'), el('th', {}, 'good bytes')])),
      el('tbody', {}, el('tr', {}, [...l.by_kind.map((k) => k.count), l.skipped, l.first_lsn === null ? '–' : `${l.first_lsn} .. ${l.last_lsn ?? '–'}`, l.good_end ?? '–'].map((v) => el('td', { 'data-kind': '' }, fmt(v)))))));
    if (l.stop) box.append(el('p', { class: 'bad', 'data-testid': `stop-${l.name}` }, `First bad frame${l.stop.at !== null ? ` at offset ${fmt(l.stop.at)}` : ''}: ${l.stop.text}`));
    if (l.tail) {
      const cls = { none: 'none', 'trim zeros': 'trim', truncate: 'truncate' }[l.tail.action];
      box.append(el('p', { class: `tail ${cls}`, 'data-testid': `tail-${l.name}`, 'data-at': l.tail.at, 'data-action': l.tail.action }, `Recovery: ${l.tail.text}.`));
      if (l.tail.action !== 'none') {
        const dump = el('pre', { class: 'hex', 'data-testid': `cut-hex-${l.name}` });
        box.append(el('button', { class: 'link', onclick: () => showCut(it, l, dump) }, 'bytes at the cut'), dump);
      }
    }
    if (l.fold) box.append(el('p', { class: 'note', 'data-testid': `fold-${l.name}` }, `Then ${l.fold}.`));
    box.append(el('button', { class: 'link', onclick: () => { it.frameLog = l.index; it.frameFirst = 0; select(it.fid, 'frames'); } }, `list its ${fmt(l.listed)} frames`));
    sec.append(box);
  }
  if (!r.logs.length && !r.missing_log) sec.append(el('p', {}, 'No log yet.'));

  // Every file, with leftovers and what the store does with them.
  sec.append(el('h3', {}, 'Files'), el('table', { class: 'num', 'data-testid': 'dir-files' },
    el('thead', {}, el('tr', {}, ['file', 'bytes', 'role', 'note'].map((h) => el('th', {}, h)))),
    el('tbody', {}, r.files.map((f) => el('tr', { class: f.leftover ? 'bad' : '' }, [f.name, fmt(f.size), f.role,
      f.leftover ? 'left by an interrupted checkpoint: a writable open removes it'
        : f.role === 'discarded tail' ? 'bytes an earlier recovery cut from a log (kept, never read)'
          : f.role === 'intent record' ? 'a compact or split in progress or interrupted: its next run undoes it'
            : f.role === 'temporary' ? 'a temporary file a process left' : ''].map((v) => el('td', {}, String(v))))))));

  // Live counters: the same counting as `meguri stats --data`.
  if (r.live) {
    const statsBox = el('pre', { 'data-testid': 'dir-stats' }, 'counting…');
    sec.append(el('h3', {}, 'Live state (snapshot plus replayed logs)'),
      el('p', { 'data-testid': 'dir-live' }, `${fmt(r.live.urls)} URLs (${fmt(r.live.urls_added)} added, ${fmt(r.live.urls_replaced)} replaced and ${fmt(r.live.urls_deleted)} deleted by the logs), ${fmt(r.live.hosts)} hosts (${fmt(r.live.hosts_added)} added, ${fmt(r.live.hosts_replaced)} replaced, ${fmt(r.live.hosts_deleted)} deleted), ${fmt(r.live.interned)} strings interned; arena ${fmt(r.live.arena_len)} bytes.`),
      el('p', { class: 'note' }, 'meguri stats --data at the current hour (the same text):'), statsBox);
    ask('dirStats', { did: it.fid, now: Math.floor(Date.now() / 3600000) }).then((s) => { statsBox.textContent = s.text; }, (e) => { statsBox.textContent = e.message; });
  } else if (r.live_error) sec.append(el('p', { class: 'error', 'data-testid': 'dir-live' }, `No live state: ${r.live_error}`));
  main.append(sec);
}

async function showCut(it, l, pre) {
  const at = l.tail.at;
  const from = Math.max(0, at - 32);
  try {
    const { offset, bytes } = await ask('dirHex', { did: it.fid, name: l.name, offset: from, length: 32 + Math.min(96, l.tail.bytes + l.tail.zeros) });
    pre.replaceChildren();
    for (let i = 0; i < bytes.length; i += 16) {
      const line = el('div', {}, el('span', { class: 'addr' }, String(offset + i).padStart(12, ' ') + '  '));
      for (let j = 0; j < 16 && i + j < bytes.length; j++) line.append(el('span', { class: offset + i + j >= at ? 'mark' : '' }, bytes[i + j].toString(16).padStart(2, '0')), ' ');
      pre.append(line);
    }
  } catch (e) { pre.textContent = e.message; }
}

function rootView(it) {
  const sec = el('section', {}, el('h2', {}, `Data root ${it.name}`));
  sec.append(el('p', { 'data-testid': 'root-summary' }, `${it.dirs.length} partition directories; the Tiling view shows how their owned ranges cover the host-key space.`));
  sec.append(el('table', { class: 'num', 'data-testid': 'root-dirs' },
    el('thead', {}, el('tr', {}, ['directory', 'generation', 'owned range', 'epoch', 'live URLs', 'frames replayed', 'recovery'].map((h) => el('th', {}, h)))),
    el('tbody', {}, it.dirs.map((d) => {
      const r = d.report;
      const tails = r.logs.filter((l) => l.tail && l.tail.action !== 'none').map((l) => `${l.name}: ${l.tail.action} at ${l.tail.at}`);
      return el('tr', {}, el('td', {}, el('button', { class: 'link', onclick: () => select(d.fid, 'directory') }, d.name)),
        ...[r.superblock.error ? 'refuses to open' : r.superblock.generation, r.superblock.owner ? `${r.superblock.owner.lo} .. ${r.superblock.owner.hi}` : '–', r.superblock.owner?.epoch ?? '–',
          r.live ? fmt(r.live.urls) : '–', fmt(r.frames_replayed), tails.join('; ') || 'nothing to do'].map((v) => el('td', {}, String(v))));
    }))));
  if (it.refused?.length) sec.append(el('ul', {}, it.refused.map((x) => el('li', { class: 'bad' }, x))));
  main.append(sec);
}

// The frames of one log, a page at a time, with the stop (if any) after the last one.
const FRAME_PAGE = 200;
async function framesView(it) {
  const r = it.report;
  const sec = el('section', {}, el('h2', {}, `Log frames of ${it.name}`));
  main.append(sec);
  if (!r.logs.length) { sec.append(el('p', {}, 'No log to list.')); return; }
  const li = Math.min(it.frameLog ?? 0, r.logs.length - 1);
  const l = r.logs[li];
  sec.append(el('p', { class: 'pager' }, r.logs.map((x) => el('button', { 'aria-pressed': String(x.index === li), onclick: () => { it.frameLog = x.index; it.frameFirst = 0; render(); } }, x.name))));
  const first = Math.max(0, Math.min(it.frameFirst ?? 0, Math.max(0, l.listed - 1)));
  const go = (f) => { it.frameFirst = Math.max(0, f); render(); };
  const jump = el('input', { type: 'text', size: 10, 'aria-label': 'frame number', 'data-testid': 'frame-jump' });
  jump.addEventListener('keydown', (e) => { if (e.key === 'Enter' && Number.isInteger(Number(jump.value))) go(Number(jump.value)); });
  sec.append(el('p', { class: 'pager' },
    el('button', { onclick: () => go(first - FRAME_PAGE), disabled: first === 0 ? '' : null }, '← previous'),
    el('span', { 'data-testid': 'frames-range' }, `frames ${fmt(first)}–${fmt(Math.min(l.listed, first + FRAME_PAGE) - 1)} of ${fmt(l.listed)}`),
    el('button', { onclick: () => go(first + FRAME_PAGE), disabled: first + FRAME_PAGE >= l.listed ? '' : null }, 'next →'),
    el('button', { onclick: () => go(Math.floor(Math.max(0, l.listed - 1) / FRAME_PAGE) * FRAME_PAGE), 'data-testid': 'frames-last' }, 'last page'),
    el('label', {}, 'frame ', jump)));
  const body = el('tbody');
  sec.append(el('table', { class: 'num frames', 'data-testid': 'frames' },
    el('thead', {}, el('tr', {}, ['#', 'offset', 'bytes', 'LSN', 'kind', 'key', 'replay', 'value'].map((h) => el('th', {}, h)))), body));
  try {
    const page = await ask('dirFrames', { did: it.fid, log: li, first, count: FRAME_PAGE });
    body.replaceChildren(...page.frames.map((f) => el('tr', { class: f.applied ? '' : 'skipped', 'data-frame': f.index },
      [f.index, fmt(f.offset), f.len, f.lsn, f.kind, f.key ?? '', f.applied ? 'applied' : 'skipped (a copy)', f.detail ?? ''].map((v) => el('td', {}, String(v))))));
    if (first + FRAME_PAGE >= l.listed && l.tail && l.tail.action !== 'none') {
      body.append(el('tr', { class: 'stop', 'data-testid': 'frames-stop' }, el('td', { colspan: 8 }, `offset ${fmt(l.tail.at)}: ${l.stop ? l.stop.text : 'zeros'}. Recovery: ${l.tail.text}.`)));
    }
  } catch (e) { sec.append(el('p', { class: 'error' }, e.message)); }
}

// The live state: rows as the store would recover them, in key order, a page at a time; rows
// a log frame put are marked, with the frame.
const LIVE_PAGE = 100;
async function liveView(it) {
  const r = it.report;
  const sec = el('section', {}, el('h2', {}, `Live state of ${it.name}`));
  main.append(sec);
  if (!r.live) { sec.append(el('p', { class: 'error' }, `No live state: ${r.live_error ?? 'the directory does not open'}`)); return; }
  const table = it.liveTable ?? 'url';
  const total = table === 'url' ? r.live.urls : r.live.hosts;
  const from = Math.max(0, Math.min(it.liveFrom ?? 0, Math.max(0, total - 1)));
  const go = (f) => { it.liveFrom = Math.max(0, f); render(); };
  const jump = el('input', { type: 'text', size: 10, 'aria-label': 'row number', 'data-testid': 'live-jump' });
  jump.addEventListener('keydown', (e) => { if (e.key === 'Enter' && Number.isInteger(Number(jump.value))) go(Number(jump.value)); });
  const next = async () => {
    const n = await ask('dirNextChange', { did: it.fid, table, from: from + LIVE_PAGE });
    if (n >= 0) go(n); else status('no changed row after this page');
  };
  sec.append(el('p', { class: 'pager' },
    el('button', { 'aria-pressed': String(table === 'url'), 'data-testid': 'live-url', onclick: () => { it.liveTable = 'url'; it.liveFrom = 0; render(); } }, `URL rows (${fmt(r.live.urls)})`),
    el('button', { 'aria-pressed': String(table === 'host'), 'data-testid': 'live-host', onclick: () => { it.liveTable = 'host'; it.liveFrom = 0; render(); } }, `host rows (${fmt(r.live.hosts)})`),
    el('button', { onclick: () => go(from - LIVE_PAGE), disabled: from === 0 ? '' : null }, '← previous'),
    el('span', { 'data-testid': 'live-range' }, `rows ${fmt(from)}–${fmt(Math.min(total, from + LIVE_PAGE) - 1)} of ${fmt(total)}`),
    el('button', { onclick: () => go(from + LIVE_PAGE), disabled: from + LIVE_PAGE >= total ? '' : null }, 'next →'),
    el('button', { onclick: next, 'data-testid': 'live-next-change' }, 'next page with a changed row'),
    el('label', {}, 'row ', jump)));
  const heads = table === 'url' ? ['row', 'host key', 'path key', 'status', 'next due', 'crawls', 'URL', 'from'] : ['row', 'host key', 'host', 'URLs', 'crawl delay', 'flags', 'from'];
  const body = el('tbody');
  sec.append(el('table', { class: 'num live', 'data-testid': 'live-rows' }, el('thead', {}, el('tr', {}, heads.map((h) => el('th', {}, h)))), body));
  try {
    const page = await ask('dirRows', { did: it.fid, table, from, to: from + LIVE_PAGE, strings: true });
    body.replaceChildren(...page.rows.map((row) => {
      const o = row.origin;
      const whence = o.log ? `${o.log} @ ${fmt(o.offset)}, LSN ${o.lsn}${o.replaces !== null ? ` (replaces snapshot row ${fmt(o.replaces)})` : ' (new)'}` : `snapshot row ${fmt(o.snapshot_row)}`;
      const cells = table === 'url'
        ? [row.row, row.host_key, row.path_key, row.status, row.next_due, row.crawl_count, row.url ?? '–', whence]
        : [row.row, row.host_key, row.host ?? '–', row.url_count, row.crawl_delay, row.flags, whence];
      return el('tr', { class: o.log ? 'changed' : '', 'data-row': row.row }, cells.map((v, i) => el('td', { class: i === 6 && table === 'url' ? 'url' : '' }, String(v))));
    }));
  } catch (e) { sec.append(el('p', { class: 'error' }, e.message)); }
}

// Test and measurement hook: the end-to-end test reads these.
// `state.verifyPauseMs` slows verify's steps down (the test cancels one mid-way).
window.meguriInspector = { state, ask, restarts: () => restarts };
