// The inspector page. It draws what the worker (the wasm build of meguri-core) answers;
// it decodes nothing itself.

const worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });
let seq = 0;
const pending = new Map();
worker.onmessage = (ev) => {
  const { id, ok, value, error } = ev.data;
  const p = pending.get(id);
  pending.delete(id);
  if (p) ok ? p.resolve(value) : p.reject(new Error(error));
};
worker.onerror = (ev) => showError(`the decoder worker failed: ${ev.message ?? 'unknown error'}`);
function ask(op, args = {}) {
  const id = ++seq;
  return new Promise((resolve, reject) => {
    pending.set(id, { resolve, reject });
    worker.postMessage({ id, op, args });
  });
}

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
      const item = { fid, name: file.name, size: file.size, kind: info.kind, info };
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
drop.addEventListener('drop', (e) => { e.preventDefault(); drop.classList.remove('over'); addFiles([...e.dataTransfer.files]); });
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
  const b = document.querySelector(`#views button:nth-of-type(${e.key})`);
  if (b && /^[1-8]$/.test(e.key) && !$('#views').hidden) { b.click(); b.focus(); }
});

function renderNav() {
  const nav = $('#files');
  nav.replaceChildren(...state.items.map((i) => el('button', {
    class: i.fid === state.current ? 'file current' : 'file',
    'aria-pressed': String(i.fid === state.current),
    title: `${i.name}, ${fmt(i.size)} bytes`,
    onclick: () => select(i.fid, i.kind === 'manifest' ? 'tiling' : (state.view === 'tiling' ? 'summary' : state.view)),
  }, i.kind === 'manifest' ? 'manifest: ' : '', i.name, i.info.openError ? ' ⚠' : '')));
  $('#views').hidden = state.items.length === 0;
  for (const b of document.querySelectorAll('#views button')) {
    b.setAttribute('aria-selected', String(b.dataset.view === state.view));
  }
}

function render() {
  renderNav();
  const it = item();
  main.replaceChildren();
  if (!it) return;
  const views = { summary, bytes: byteMap, columns: columnsView, rows: rowsView, verify: verifyView, hex: hexView, schedule: scheduleView, tiling: tilingView };
  const needsFile = state.view !== 'tiling';
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
  const s = info.summary;
  const rows = [
    ['format', `meguri v${s.version}`], ['partition', s.partition_id], ['file size', `${fmt(s.file_size)} bytes (${size(s.file_size)})`],
    ['host-key range', `${s.hostkey_lo} .. ${s.hostkey_hi}`], ['URLs', fmt(s.urls)], ['hosts', fmt(s.hosts)],
    ['url columns', s.url_columns], ['host columns', s.host_columns], ['checksum', s.checksum], ['default codec', s.default_codec],
    ['created', `${s.created_hours} epoch-hours (${hours(s.created_hours)})`], ['flags', s.flags], ['bytes/url', s.bytes_per_url],
    ['next-due range', s.due_range ? `${s.due_range.lo} .. ${s.due_range.hi} epoch-hours` : '–'],
  ];
  sec.append(el('table', { class: 'facts', 'data-testid': 'summary' }, rows.map(([k, v]) => el('tr', {}, el('th', {}, k), el('td', { 'data-fact': k }, String(v))))));
  sec.append(el('p', { class: 'note', 'data-testid': 'open-cost' },
    `Opened in ${info.pageMs.toFixed(1)} ms (worker ${info.ms.toFixed(1)} ms), ${info.reads} reads, ${fmt(info.bytesRead)} bytes read of ${fmt(info.size)}.`));
  if (s.meta.length) sec.append(el('h3', {}, 'Metadata'), el('table', {}, s.meta.map((m) => el('tr', {}, el('th', {}, m.key), el('td', {}, m.value)))));
  sec.append(el('details', {}, el('summary', {}, 'meguri inspect --columns (the same text)'), el('pre', { 'data-testid': 'inspect-text' }, s.text)));
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
    `${c.table}.${c.name}`, fmt(c.bytes), perUrl(c.bytes), c.encodings.map((e) => `${e.name} ×${e.pages}`).join(', '),
    c.bytes ? `${(c.raw_bytes / c.bytes).toFixed(2)}×` : '–',
  ]));
  sec.append(el('h3', {}, 'Budget'), el('table', { class: 'num', 'data-testid': 'budget' },
    el('thead', {}, el('tr', {}, ['', 'bytes on disk', 'bytes/URL', 'encodings (pages)', 'compression (raw/disk)'].map((h) => el('th', {}, h)))),
    el('tbody', {}, regionRows, el('tr', { class: 'sep' }, el('td', { colspan: 5 })), colRows)));
  main.append(sec);
}

// ---------- columns and pages ----------
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
  const prog = el('progress', { max: totalPages, value: 0, 'data-testid': 'crc-progress' });
  const progText = el('span', { 'data-testid': 'crc-progress-text' }, '');
  const runBtn = el('button', { 'data-testid': 'verify-all' }, 'Check every page CRC');
  const cancelBtn = el('button', { disabled: '' }, 'Cancel');
  let cancelled = false;
  runBtn.addEventListener('click', async () => {
    cancelled = false; runBtn.disabled = true; cancelBtn.disabled = false;
    let done = 0; let bad = 0;
    outer: for (const c of layout.columns) {
      for (let first = 0; first < c.pages; first += 64) {
        if (cancelled) break outer;
        try {
          const res = await ask('checkPages', { fid: it.fid, table: c.table, column: c.id, first, count: 64 });
          const m = crcFor(it.fid, c);
          for (const r of res) { m.set(r.page, r); if (!r.ok) bad++; }
          done += res.length;
        } catch (e) { showError(`${c.table}.${c.name}: ${e.message}`); done += Math.min(64, c.pages - first); bad++; }
        prog.value = done;
        progText.textContent = ` ${fmt(done)} / ${fmt(totalPages)} pages, ${bad} bad`;
      }
    }
    progText.textContent += cancelled ? ' (cancelled)' : ' (done)';
    runBtn.disabled = false; cancelBtn.disabled = true;
    drawTable();
  });
  cancelBtn.addEventListener('click', () => { cancelled = true; });
  sec.append(el('p', {}, runBtn, ' ', cancelBtn, ' ', prog, progText));
  const tableBox = el('div');
  const pagesBox = el('div', { 'data-testid': 'pages' });
  sec.append(tableBox, pagesBox);
  function crcState(c) {
    const m = crcFor(it.fid, c);
    if (m.size === 0) return 'unchecked';
    const bad = [...m.values()].filter((r) => !r.ok).length;
    if (bad) return `${bad} bad`;
    return m.size === c.pages ? 'ok' : `${m.size}/${c.pages} ok`;
  }
  function drawTable() {
    const head = ['table', 'id', 'name', 'width', 'rows', 'pages', 'bytes', 'raw', 'ratio', 'codec', 'encodings', 'zone min', 'zone max', 'CRC'];
    tableBox.replaceChildren(el('table', { class: 'num', 'data-testid': 'columns' },
      el('thead', {}, el('tr', {}, head.map((h) => el('th', {}, h)))),
      el('tbody', {}, layout.columns.map((c) => {
        const key = `${c.table}:${c.id}`;
        const st = crcState(c);
        return el('tr', { class: key === state.colSel ? 'selected' : '', tabindex: 0, onclick: () => { state.colSel = key; drawTable(); drawPages(c); }, onkeydown: (e) => { if (e.key === 'Enter') { state.colSel = key; drawTable(); drawPages(c); } } },
          [c.table, c.id, c.name, c.width, fmt(c.rows ?? 0), c.pages, fmt(c.bytes), fmt(c.raw_bytes), c.bytes ? (c.raw_bytes / c.bytes).toFixed(2) : '–', c.codec ?? '–',
            c.encodings.map((e) => `${e.name} ×${e.pages}`).join(', '), zoneText(c, c.zone_min), zoneText(c, c.zone_max)].map((v) => el('td', {}, String(v))),
          el('td', { class: st.includes('bad') ? 'bad' : st === 'ok' ? 'ok' : '' }, st));
      }))));
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
            return el('tr', {}, [p.page, fmt(p.offset), fmt(p.bytes), fmt(p.first_row), fmt(p.rows), p.encoding, zoneText(c, p.zone_min), zoneText(c, p.zone_max)].map((v) => el('td', {}, String(v))),
              el('td', { class: r ? (r.ok ? 'ok' : 'bad') : '', title: r?.error ?? '' }, r ? (r.ok ? 'ok' : `BAD: ${r.error}`) : '–'),
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
const ROW_H = 24;
const CHUNK = 200;
function rowsView(it) {
  const s = it.info.summary;
  const sec = el('section', {}, el('h2', {}, `URL rows of ${it.name}`));
  if (!s) { sec.append(el('p', { class: 'error' }, 'The file does not open; no rows.')); main.append(sec); return; }
  const total = s.urls;
  const cache = it.rowCache ?? (it.rowCache = new Map()); // chunk index -> rows | Promise
  const query = el('input', { type: 'search', placeholder: 'host key (0x…) or URL', 'aria-label': 'filter by host key or URL', 'data-testid': 'row-filter', size: 40 });
  const jump = el('input', { type: 'number', min: 0, max: Math.max(0, total - 1), placeholder: 'row', 'aria-label': 'jump to row', 'data-testid': 'row-jump', size: 8 });
  const found = el('p', { class: 'note', 'data-testid': 'row-found' }, `${fmt(total)} rows; only the pages on screen are decoded.`);
  const cols = ['row', 'host key', 'path key', 'status', 'prio', 'depth', 'source', 'first seen', 'last crawled', 'next due', 'http', 'URL'];
  const head = el('div', { class: 'rrow head' }, cols.map((c) => el('span', {}, c)));
  const scroller = el('div', { class: 'rows', tabindex: 0, 'data-testid': 'rows', 'aria-label': 'rows' });
  const spacer = el('div', { style: `height:${total * ROW_H}px;position:relative` });
  scroller.append(spacer);
  let highlight = it.rowHighlight ?? null;
  function rowEl(r) {
    return el('div', { class: `rrow${r.row === highlight ? ' hit' : ''}`, style: `top:${r.row * ROW_H}px`, 'data-row': r.row },
      [r.row, r.host_key, r.path_key, r.status, r.priority?.toFixed?.(3) ?? '–', r.depth, r.source, hours(r.first_seen), hours(r.last_crawled), hours(r.next_due), r.http_status || '–', r.url ?? '–']
        .map((v, i) => el('span', { title: i === 11 ? String(v) : null }, String(v))));
  }
  async function chunk(ci) {
    if (!cache.has(ci)) {
      const p = ask('rows', { fid: it.fid, from: ci * CHUNK, to: Math.min(total, (ci + 1) * CHUNK), urls: true })
        .then((x) => { cache.set(ci, x.rows); return x.rows; })
        .catch((e) => { cache.delete(ci); showError(`rows: ${e.message}`); return []; });
      cache.set(ci, p);
    }
    return cache.get(ci);
  }
  let drawing = 0;
  async function draw() {
    const my = ++drawing;
    const first = Math.floor(scroller.scrollTop / ROW_H);
    const last = Math.min(total, first + Math.ceil(scroller.clientHeight / ROW_H) + 1);
    const chunks = [];
    for (let ci = Math.floor(first / CHUNK); ci * CHUNK < last; ci++) chunks.push(ci);
    const parts = await Promise.all(chunks.map(chunk));
    if (my !== drawing) return;
    const rows = parts.flat().filter((r) => r.row >= first && r.row < last);
    spacer.replaceChildren(...rows.map(rowEl));
  }
  scroller.addEventListener('scroll', () => { it.rowScroll = scroller.scrollTop; draw(); });
  scroller.addEventListener('keydown', (e) => {
    const step = { ArrowDown: ROW_H, ArrowUp: -ROW_H, PageDown: scroller.clientHeight, PageUp: -scroller.clientHeight }[e.key];
    if (step) { e.preventDefault(); scroller.scrollTop += step; }
  });
  function goto(row) {
    scroller.scrollTop = Math.max(0, row * ROW_H - 2 * ROW_H);
    it.rowScroll = scroller.scrollTop;
    draw();
  }
  jump.addEventListener('keydown', (e) => { if (e.key === 'Enter') { highlight = Number(jump.value); it.rowHighlight = highlight; goto(highlight); } });
  query.addEventListener('keydown', async (e) => {
    if (e.key !== 'Enter' || !query.value.trim()) return;
    try {
      const f = await ask('find', { fid: it.fid, query: query.value });
      if (f.first_row === null) { found.textContent = `host ${f.host_key}${f.path_key ? ` / path ${f.path_key}` : ''}: no rows in this file.`; return; }
      highlight = f.row ?? f.first_row; it.rowHighlight = highlight;
      found.textContent = `host ${f.host_key}: ${fmt(f.count)} row(s) from row ${fmt(f.first_row)}` + (f.path_key ? (f.row !== null ? `; this URL is row ${fmt(f.row)}` : '; this URL is not in the file') : '');
      goto(highlight);
    } catch (err) { found.textContent = ''; showError(err.message); }
  });
  sec.append(el('p', { class: 'controls' }, el('label', {}, 'Find ', query), ' ', el('label', {}, 'Row ', jump)), found, el('div', { class: 'rowsbox' }, head, scroller));
  main.append(sec);
  scroller.scrollTop = it.rowScroll ?? 0;
  draw();
}

// ---------- verify ----------
function verifyView(it) {
  const sec = el('section', {}, el('h2', {}, `Verify ${it.name}`));
  const out = el('div', { 'data-testid': 'verify' });
  const run = el('button', { 'data-testid': 'run-verify' }, it.verify ? 'Verify again' : 'Run verify');
  run.addEventListener('click', async () => {
    out.replaceChildren(el('p', {}, 'verifying (reads the whole file)…'));
    run.disabled = true;
    try { it.verify = await ask('verify', { fid: it.fid }); } catch (e) { showError(e.message); }
    run.disabled = false;
    draw();
  });
  function draw() {
    const r = it.verify;
    if (!r) { out.replaceChildren(el('p', {}, 'Not verified yet. Verify reads and checks every byte.')); return; }
    const verdict = r.findings.length === 0 ? 'ok' : r.ok ? 'ok with warnings' : 'FAILED';
    out.replaceChildren(
      el('p', { class: r.ok ? 'ok verdict' : 'bad verdict', 'data-testid': 'verdict' },
        `${it.name}: ${verdict}: ${r.errors} error(s), ${r.warnings} warning(s); ${r.columns_checked} columns, ${fmt(r.pages_checked)} pages, ${fmt(r.url_rows_checked)} URL rows, ${fmt(r.host_rows_checked)} host rows checked in ${r.ms.toFixed(0)} ms`),
      el('ul', { class: 'findings' }, r.findings.map((f) => el('li', { class: f.severity },
        el('span', { class: 'sev' }, f.severity), ' ', f.text, ' ',
        f.offset !== null || f.length ? el('button', { class: 'link', 'data-testid': 'finding-link', onclick: () => openHex(it.fid, f.offset ?? f.start, f.start, f.length) }, `hex at byte ${fmt(f.offset ?? f.start)}`) : null))));
  }
  sec.append(el('p', {}, run), out);
  main.append(sec);
  draw();
  // Small files are verified at once; a large one waits for the button.
  if (!it.verify && it.size <= 64 << 20) run.click();
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
function tilingView(it) {
  const sec = el('section', {}, el('h2', {}, 'Tiling of the host-key space'));
  main.append(sec);
  const src = it.kind === 'manifest' ? { cid: it.cid, tiling: it.tiling, name: it.name } : state.fileCatalog;
  if (!src) { sec.append(el('p', {}, 'Drop a manifest or partition files.')); return; }
  const t = src.tiling;
  sec.append(el('p', { 'data-testid': 'tiling-verdict', class: t.clean ? 'ok verdict' : 'bad verdict' },
    `${src.name}: ${t.considered} partition(s) at epoch ${t.epoch}: ` + (t.clean ? 'the ranges tile 0 .. 2^64−1 exactly' : `${t.gaps.length} gap(s), ${t.overlaps.length} overlap(s), ${t.inverted.length} inverted`)));
  const bar = el('div', { class: 'tiling', 'data-testid': 'tiling-bar' });
  const lanes = t.entries.filter((e) => e.current);
  lanes.forEach((e, lane) => {
    const w = Math.max(0.2, (e.hi_frac - e.lo_frac) * 100);
    bar.append(el('div', { class: 'part', title: `p${e.partition_id} ${e.file}: ${e.lo} .. ${e.hi}`, style: `left:${e.lo_frac * 100}%;width:${w}%;top:${lane * 22}px` }, `p${e.partition_id} ${e.file}`));
  });
  const probY = lanes.length * 22 + 4;
  for (const g of t.gaps) bar.append(el('div', { class: 'gap', title: `gap ${g.lo} .. ${g.hi}`, style: `left:${g.lo_frac * 100}%;width:${Math.max(0.3, (g.hi_frac - g.lo_frac) * 100)}%;top:${probY}px` }, 'gap'));
  for (const o of t.overlaps) bar.append(el('div', { class: 'overlap', title: `overlap ${o.lo} .. ${o.hi}`, style: `left:${o.lo_frac * 100}%;width:${Math.max(0.3, (o.hi_frac - o.lo_frac) * 100)}%;top:${probY}px` }, 'overlap'));
  bar.style.height = `${probY + 24}px`;
  sec.append(el('div', { class: 'axis' }, el('span', {}, '0x0000000000000000'), el('span', {}, '0x8000000000000000'), el('span', {}, '0xffffffffffffffff')), bar);
  const name = (i) => { const e = t.entries[i]; return `p${e.partition_id} (${e.file})`; };
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
      const r = await ask('route', { cid: src.cid, query: q.value });
      ans.textContent = r.text.trim() + (r.owners.length > 1 ? ` (claimed by ${r.owners.length} partitions: ${r.owners.map(name).join(', ')})` : '');
      ans.className = r.route === null ? 'bad' : 'ok';
    } catch (err) { ans.textContent = ''; showError(err.message); }
  });
  sec.append(el('h3', {}, 'Route'), el('p', { class: 'controls' }, el('label', {}, 'Host key or URL ', q)), ans);
  sec.append(el('h3', {}, 'Partitions'), el('table', { class: 'num' }, el('thead', {}, el('tr', {}, ['#', 'id', 'file', 'low', 'high', 'URLs', 'hosts', 'epoch'].map((h) => el('th', {}, h)))),
    el('tbody', {}, t.entries.map((e) => el('tr', { class: e.current ? '' : 'stale' }, [e.index, e.partition_id, e.file, e.lo, e.hi, fmt(e.urls), fmt(e.hosts), e.epoch].map((v) => el('td', {}, String(v))))))));
  if (t.verify) {
    sec.append(el('h3', {}, 'Verify'), el('ul', { class: 'findings', 'data-testid': 'manifest-verify' }, t.verify.findings.length ? t.verify.findings.map((f) => el('li', { class: f.severity }, f.text)) : el('li', { class: 'ok' }, 'manifest ok')));
  }
  sec.append(el('details', {}, el('summary', {}, 'meguri map (the same text)'), el('pre', {}, t.text)));
}

// Test and measurement hook: the end-to-end test reads these.
window.meguriInspector = { state, ask };
