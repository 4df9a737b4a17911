//! JSON renderings of core types, shared by every `--json` output.

use meguri_core::error::{Finding, Place};
use meguri_core::format::encoding::encoding_name;
use meguri_core::inspect::{ColumnLine, Summary};
use serde_json::{json, Value};

/// A host key as the `0x%016x` string the text outputs use.
pub fn hex(v: u64) -> String {
    format!("0x{v:016x}")
}

/// A place as an object: `{"kind": ..., fields...}` plus `"name"`, its text form.
pub fn place(p: &Place) -> Value {
    let mut v = match *p {
        Place::Column {
            table,
            column,
            page,
        } => {
            json!({"kind": "column", "table": table.name(), "column": column, "page": page})
        }
        Place::Row { table, row } => json!({"kind": "row", "table": table.name(), "row": row}),
        Place::Region(id) => json!({"kind": "region", "region": id}),
        Place::Section(tag) => json!({"kind": "section", "tag": tag}),
        Place::Manifest { entry } => json!({"kind": "manifest", "entry": entry}),
        Place::File => json!({"kind": "file"}),
        Place::Header => json!({"kind": "header"}),
        Place::Trailer => json!({"kind": "trailer"}),
        Place::Footer => json!({"kind": "footer"}),
        Place::Arena => json!({"kind": "arena"}),
        Place::Schedule => json!({"kind": "schedule"}),
        Place::SeenSet => json!({"kind": "seenset"}),
        Place::Stats => json!({"kind": "stats"}),
        Place::Superblock => json!({"kind": "superblock"}),
        Place::LogFrame => json!({"kind": "log_frame"}),
        Place::Unknown => json!({"kind": "unknown"}),
        // A place added to the core later: its text form is still in "name".
        _ => json!({"kind": "other"}),
    };
    v["name"] = Value::String(p.to_string());
    v
}

/// A verify finding.
pub fn finding(f: &Finding) -> Value {
    json!({
        "severity": f.severity.name(),
        "kind": f.error.kind.name(),
        "place": place(&f.error.place),
        "offset": f.error.offset,
        "message": f.error.message,
    })
}

/// The `inspect` facts.
pub fn summary(s: &Summary) -> Value {
    json!({
        "version": {"major": s.version.0, "minor": s.version.1},
        "partition_id": s.partition_id,
        "file_size": s.file_size,
        "hostkey_range": {"lo": hex(s.hostkey_range.0), "hi": hex(s.hostkey_range.1)},
        "urls": s.urls,
        "hosts": s.hosts,
        "url_columns": s.url_columns,
        "host_columns": s.host_columns,
        "checksum": s.checksum,
        "default_codec": s.default_codec,
        "created_hours": s.created_hours,
        "flags": {"bits": s.flags, "names": s.flag_names},
        "bytes_per_url": s.bytes_per_url,
        "next_due_range": s.due_range.map(|(lo, hi)| json!({"min": lo, "max": hi})),
        "regions": s.regions.iter().map(|r| json!({"id": r.id, "name": r.name, "offset": r.offset, "length": r.length})).collect::<Vec<_>>(),
        "encodings": s.encodings.iter().map(|(n, c)| json!({"encoding": n, "columns": c})).collect::<Vec<_>>(),
        "meta": s.meta.iter().map(|(k, v)| json!({"key": String::from_utf8_lossy(k), "value": String::from_utf8_lossy(v)})).collect::<Vec<_>>(),
    })
}

/// The `inspect --columns` lines.
pub fn columns(cols: &[ColumnLine]) -> Value {
    cols.iter()
        .map(|c| {
            json!({
                "table": c.table.name(),
                "id": c.id,
                "name": c.name,
                "width": c.width,
                "pages": c.pages,
                "bytes": c.bytes,
                "raw_bytes": c.raw_bytes,
                "encodings": c.encodings.iter().map(|(e, n)| json!({"encoding": encoding_name(*e), "pages": n})).collect::<Vec<_>>(),
            })
        })
        .collect()
}

/// A manifest's entries and its tiling check at its epoch.
pub fn manifest_map(
    m: &meguri_core::manifest::Manifest,
    t: &meguri_core::manifest::Tiling,
) -> Value {
    let entry = |i: usize| m.entries[i].partition_id;
    json!({
        "epoch": t.epoch,
        "entries": m.entries.iter().map(|e| json!({
            "partition_id": e.partition_id,
            "file_ref": e.file_ref_str(),
            "hostkey_lo": hex(e.hostkey_lo),
            "hostkey_hi": hex(e.hostkey_hi),
            "urls": e.url_count,
            "hosts": e.host_count,
            "due_min": e.due_min,
            "bytes_per_url": e.bytes_per_url,
            "created_hours": e.created_hours,
            "epoch": e.epoch,
        })).collect::<Vec<_>>(),
        "tiles": t.is_clean(),
        "gaps": t.gaps.iter().map(|g| json!({"lo": hex(g.lo), "hi": hex(g.hi)})).collect::<Vec<_>>(),
        "overlaps": t.overlaps.iter().map(|o| json!({"lo": hex(o.lo), "hi": hex(o.hi), "partitions": [entry(o.first), entry(o.second)]})).collect::<Vec<_>>(),
        "inverted": t.inverted.iter().map(|&i| entry(i)).collect::<Vec<_>>(),
    })
}
