//! Checks shared by the Node and Chromium runs of the wasm decoder.

use meguri_wasm::parity::{compare, input_of, parse_expected};
use meguri_wasm::{digest_bytes, Catalog, MeguriFile};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

/// The table the native decoder is held to as well.
pub const EXPECTED: &str = include_str!("../parity/expected.txt");

/// Compares the wasm digest of every entry whose golden input `read` can give with the
/// expected table; returns how many were compared.
pub fn check_digests(read: &dyn Fn(&str) -> Option<Vec<u8>>) -> usize {
    let mut failures = Vec::new();
    let mut compared = 0;
    for e in parse_expected(EXPECTED) {
        let path = e.name.split('!').next().unwrap_or_default();
        if read(path).is_none() {
            continue;
        }
        match input_of(&e.name, read) {
            Ok(bytes) => {
                compared += 1;
                if let Err(msg) = compare(&e.name, &e.digest, &digest_bytes(&bytes)) {
                    failures.push(msg);
                }
            }
            Err(msg) => failures.push(format!("{}: {msg}", e.name)),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    compared
}

/// A `read(offset, len)` JavaScript function over `bytes`, as the worker's `File.slice` is.
pub fn js_reader(bytes: Vec<u8>) -> js_sys::Function {
    let f = Closure::<dyn Fn(f64, f64) -> js_sys::Uint8Array>::new(move |off: f64, len: f64| {
        let (o, l) = (off as usize, len as usize);
        js_sys::Uint8Array::from(&bytes[o..o + l])
    });
    let func: js_sys::Function = f.as_ref().unchecked_ref::<js_sys::Function>().clone();
    // The closure must outlive the file that reads through it; tests are short, so it leaks.
    f.forget();
    func
}

/// Parses a JSON string the API returned.
pub fn json(s: &str) -> JsValue {
    js_sys::JSON::parse(s).expect("the API returns valid JSON")
}

/// `obj[key]` (dotted paths allowed).
pub fn get(v: &JsValue, path: &str) -> JsValue {
    path.split('.').fold(v.clone(), |o, k| {
        let key = match k.parse::<u32>() {
            Ok(i) => JsValue::from(i),
            Err(_) => JsValue::from_str(k),
        };
        js_sys::Reflect::get(&o, &key).unwrap_or(JsValue::UNDEFINED)
    })
}

/// `obj[key]` as a string (numbers formatted as JavaScript does).
pub fn text(v: &JsValue, path: &str) -> String {
    let x = get(v, path);
    x.as_string()
        .or_else(|| x.as_f64().map(|n| format!("{n}")))
        .or_else(|| x.as_bool().map(|b| format!("{b}")))
        .unwrap_or_else(|| format!("{x:?}"))
}

/// The views the page uses, on small.meguri read through a JavaScript callback: the summary
/// is `meguri inspect`'s text, opening reads only the header and the tail, the rows decode
/// with URL strings, a URL is found by its keys, and a damaged page is caught by its CRC with
/// the message `verify` gives.
pub fn check_views(small: &[u8], inspect_txt: Option<&str>) {
    let f = MeguriFile::new(small.len() as f64, js_reader(small.to_vec()));
    assert!(f.open_error().is_none());
    assert!(f.reads() <= 3.0, "open took {} reads", f.reads());
    let s = json(&f.summary().expect("summary"));
    assert_eq!(text(&s, "summary.urls"), "999");
    assert_eq!(text(&s, "summary.hosts"), "867");
    assert_eq!(text(&s, "summary.hostkey_range.lo").len(), 18);
    if let Some(want) = inspect_txt {
        let got = text(&s, "summary.text") + &text(&s, "columns_text");
        assert!(
            got.starts_with(want),
            "summary text differs from inspect:\n{got}"
        );
    }
    let rows = json(&f.url_rows(10.0, 20.0, true).expect("rows"));
    assert_eq!(text(&rows, "rows.0.row"), "10");
    let url = text(&rows, "rows.3.url");
    assert!(url.contains("://") || url.contains('.'), "odd URL {url:?}");
    let found = json(&f.find(&url).expect("find"));
    assert_eq!(text(&found, "row"), "13", "{url} not found at its row");
    // The key column's page zone maps find the host's rows without a scan.
    let by_host = json(&f.find(&text(&found, "host_key")).expect("find host"));
    assert!(text(&by_host, "count").parse::<u32>().unwrap_or(0) >= 1);
    let layout = json(&f.layout().expect("layout"));
    assert_eq!(text(&layout, "file_len"), small.len().to_string());
    // A flipped byte inside url column 0's page: the CRC check names it, as verify does.
    let mut bad = small.to_vec();
    bad[3200] ^= 0xff;
    let g = MeguriFile::new(bad.len() as f64, js_reader(bad));
    let pages = json(&g.check_pages("url", 0, 0, 1).expect("check pages"));
    assert_eq!(text(&pages, "0.ok"), "false");
    let report = json(&g.verify());
    let finding = (0..10)
        .map(|i| text(&report, &format!("findings.{i}.text")))
        .find(|t| t.contains("page 0"))
        .expect("verify names the page");
    assert!(
        finding.ends_with(&text(&pages, "0.error.text")),
        "{finding}"
    );
    assert_eq!(text(&report, "findings.2.offset"), "92");
    assert_eq!(text(&report, "findings.2.span.start"), "64");
    // The stepwise verifier reports what verify reports.
    let mut v = g.verifier();
    let done = loop {
        let p = json(&v.step());
        if text(&p, "finished") == "true" {
            break p;
        }
    };
    assert_eq!(text(&done, "report.errors"), text(&report, "errors"));
    assert_eq!(
        text(&done, "report.findings.2.text"),
        text(&report, "findings.2.text")
    );
    // Host rows with their names, and find in the host table.
    let hosts = json(&f.host_rows(0.0, 5.0, true).expect("host rows"));
    let name = text(&hosts, "rows.2.host");
    assert!(name.contains('.'), "odd host {name:?}");
    let found = json(&f.find_in("host", &name).expect("find host"));
    assert_eq!(text(&found, "first_row"), "2");
    // The arena's region and page CRCs.
    let mut c = f.check_region(4).expect("arena region");
    let p = loop {
        let p = json(&c.step(4096.0));
        if text(&p, "finished") == "true" {
            break p;
        }
    };
    assert_eq!(text(&p, "ok"), "true");
    // The same digest through the callback as from memory.
    assert_eq!(f.digest(), digest_bytes(small));
}

/// Tiling of the golden parts' manifests: clean, one gap and one overlap with exact ranges,
/// and routing of a host key and of a URL.
pub fn check_tiling(read: &dyn Fn(&str) -> Option<Vec<u8>>) {
    let m = |p: &str| Catalog::from_manifest(&read(p).expect("manifest")).expect("parses");
    let clean = json(&m("parts/meguri.manifest").tiling());
    assert_eq!(text(&clean, "map.clean"), "true");
    let gap = json(&m("parts/gap.manifest").tiling());
    assert_eq!(text(&gap, "map.gaps.0.lo"), "0x22e976746abcd163");
    assert_eq!(text(&gap, "map.gaps.0.hi"), "0x67ac805e0356d3b6");
    let over = json(&m("parts/overlap.manifest").tiling());
    assert_eq!(text(&over, "map.overlaps.0.lo"), "0x4f751b0617b83946");
    assert_eq!(text(&over, "map.overlaps.0.hi"), "0x67ac805e0356d3b6");
    let cat = m("parts/meguri.manifest");
    let r = json(&cat.route("0x22e976746abcd163").expect("route"));
    assert_eq!(
        text(&r, "text"),
        "host 0x22e976746abcd163 -> partition 1 (part-1.meguri)\n"
    );
    let r = json(&cat.route("https://example.com/a").expect("route"));
    assert_eq!(text(&r, "host_key"), "0x2883ba7dc9aa3289");
}

/// The directory table the native store is held to as well (`dir_parity.rs`).
pub const EXPECTED_DIRS: &str = include_str!("../parity/dirs.txt");

/// Compares the inspector's digest of every directory entry `read` can give (a path ending
/// in `/` lists the folder) with the table; returns how many were compared.
pub fn check_dir_digests(read: &dyn Fn(&str) -> Option<Vec<u8>>) -> usize {
    use meguri_wasm::parity::{dir_facts, dir_input, render_dir};
    let mut failures = Vec::new();
    let mut compared = 0;
    for e in parse_expected(EXPECTED_DIRS) {
        let dir = e.name.split('!').next().unwrap_or_default();
        if read(dir).is_none() {
            continue;
        }
        match dir_input(&e.name, read) {
            Ok(files) => {
                compared += 1;
                if let Err(m) = compare(&e.name, &e.digest, &render_dir(&dir_facts(files))) {
                    failures.push(m);
                }
            }
            Err(m) => failures.push(format!("{}: {m}", e.name)),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    compared
}

/// The directory views on storelog-small read through JavaScript callbacks, as the worker
/// reads a dropped folder: the current generation, the frames by kind, the live rows (975)
/// with the rows a frame changed marked, and `stats --data`'s text.
pub fn check_dir_views(read: &dyn Fn(&str) -> Option<Vec<u8>>) {
    let list = read("storelog-small/").expect("storelog-small");
    let mut d = meguri_wasm::PartitionDir::new("storelog-small");
    for n in String::from_utf8_lossy(&list).lines() {
        let b = read(&format!("storelog-small/{n}")).expect("file");
        d.add_file(n, b.len() as f64, js_reader(b));
    }
    d.open();
    loop {
        let p = json(&d.step(16384.0).expect("step"));
        if text(&p, "done") == "true" {
            break;
        }
    }
    let r = json(&d.report());
    assert_eq!(text(&r, "superblock.generation"), "1");
    assert_eq!(text(&r, "superblock.current"), "B");
    assert_eq!(text(&r, "logs.0.name"), "log-2");
    assert_eq!(text(&r, "logs.0.tail.action"), "none");
    assert_eq!(text(&r, "live.urls"), "975");
    assert_eq!(text(&r, "frames_replayed"), "1436");
    let frames = json(&d.frames(0, 0.0, 5).expect("frames"));
    assert_eq!(text(&frames, "frames.0.offset"), "0");
    let rows = json(&d.live_url_rows(0.0, 975.0, false).expect("live rows"));
    assert_eq!(text(&rows, "total"), "975");
    let stats = json(&d.live_stats(491_041).expect("stats"));
    assert!(text(&stats, "text").contains("urls           975"));
}
