//! Our `native/proto/urlfrontier.proto` against upstream URLFrontier 2.6's definition
//! (`../shared/reference/urlfrontier/urlfrontier.proto`): both compiled with protox, their
//! file descriptors must be equal once comments and source positions are dropped: same
//! package, options, services, methods (names, types, streaming), messages, fields (names,
//! numbers, types, labels, oneofs, proto3 `optional`), enums, in the same order.

use prost_types::field_descriptor_proto::{Label, Type};
use prost_types::{DescriptorProto, EnumDescriptorProto, FileDescriptorProto};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

const FILE: &str = "urlfrontier.proto";

fn ours_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("proto")
}

/// Upstream's folder, or `None` (after saying so) when the shared folder is absent. Under
/// CI its absence is a failure: the check would silently stop checking.
fn upstream_dir() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/reference/urlfrontier");
    if dir.join(FILE).is_file() {
        return Some(dir);
    }
    let msg = format!(
        "{} is absent: our urlfrontier.proto cannot be compared with upstream's",
        dir.join(FILE).display()
    );
    assert!(std::env::var("CI").as_deref() != Ok("true"), "{msg}");
    eprintln!("SKIPPED: {msg}");
    None
}

/// The file's descriptor without comments and source positions.
fn compile(dir: &Path) -> FileDescriptorProto {
    let set = protox::Compiler::new([dir])
        .unwrap()
        .include_source_info(false)
        .include_imports(true)
        .open_file(FILE)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.join(FILE).display()))
        .file_descriptor_set();
    let mut f = set
        .file
        .into_iter()
        .find(|f| f.name() == FILE)
        .expect("the file is in its own set");
    f.source_code_info = None;
    f
}

/// The contract as one line per fact, to name what differs when the descriptors do.
fn facts(f: &FileDescriptorProto) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    out.insert(format!("syntax {} package {}", f.syntax(), f.package()));
    out.insert(format!("imports {:?}", f.dependency));
    out.insert(format!("options {:?}", f.options));
    for s in &f.service {
        for (i, m) in s.method.iter().enumerate() {
            let stream = |b| if b { "stream " } else { "" };
            out.insert(format!(
                "rpc {}.{} #{i} {}({}{}) returns ({}{}) options {:?}",
                f.package(),
                s.name(),
                m.name(),
                stream(m.client_streaming()),
                m.input_type(),
                stream(m.server_streaming()),
                m.output_type(),
                m.options,
            ));
        }
    }
    let scope = format!(".{}", f.package());
    for m in &f.message_type {
        message_facts(&scope, m, &mut out);
    }
    for e in &f.enum_type {
        enum_facts(&scope, e, &mut out);
    }
    out
}

fn message_facts(scope: &str, m: &DescriptorProto, out: &mut BTreeSet<String>) {
    let name = format!("{scope}.{}", m.name());
    out.insert(format!("message {name} options {:?}", m.options));
    for (i, o) in m.oneof_decl.iter().enumerate() {
        out.insert(format!("oneof {name} #{i} {}", o.name()));
    }
    for (i, f) in m.field.iter().enumerate() {
        out.insert(format!(
            "field {name}.{} = {} at {i}: {:?} {:?} {} oneof {:?} proto3_optional {} json {} options {:?}",
            f.name(),
            f.number(),
            Label::try_from(f.label.unwrap_or_default()),
            Type::try_from(f.r#type.unwrap_or_default()),
            f.type_name(),
            f.oneof_index,
            f.proto3_optional(),
            f.json_name(),
            f.options,
        ));
    }
    for n in &m.nested_type {
        message_facts(&name, n, out);
    }
    for e in &m.enum_type {
        enum_facts(&name, e, out);
    }
}

fn enum_facts(scope: &str, e: &EnumDescriptorProto, out: &mut BTreeSet<String>) {
    let name = format!("{scope}.{}", e.name());
    for (i, v) in e.value.iter().enumerate() {
        out.insert(format!("enum {name} #{i} {} = {}", v.name(), v.number()));
    }
}

/// What differs between two descriptors, as `- upstream` / `+ ours` lines; empty when
/// they are equal.
fn differences(upstream: &FileDescriptorProto, ours: &FileDescriptorProto) -> Vec<String> {
    if upstream == ours {
        return Vec::new();
    }
    let (a, b) = (facts(upstream), facts(ours));
    let mut d: Vec<String> = a.difference(&b).map(|l| format!("- {l}")).collect();
    d.extend(b.difference(&a).map(|l| format!("+ {l}")));
    if d.is_empty() {
        // Equal facts, unequal descriptors: something `facts` does not spell out.
        d.push(format!("descriptors differ:\n{upstream:#?}\nvs\n{ours:#?}"));
    }
    d
}

#[test]
fn our_proto_has_upstream_2_6_wire_contract() {
    let ours = compile(&ours_dir());
    // Without upstream, at least what the server is built from is what we expect.
    assert_eq!(ours.package(), "urlfrontier");
    let service = &ours.service[0];
    assert_eq!(service.name(), "URLFrontier");
    assert_eq!(service.method.len(), 19, "URLFrontier 2.6 has 19 RPCs");
    let Some(dir) = upstream_dir() else { return };
    let d = differences(&compile(&dir), &ours);
    assert!(
        d.is_empty(),
        "native/proto/urlfrontier.proto differs from upstream's:\n{}",
        d.join("\n")
    );
}

#[test]
fn the_generated_method_list_matches_the_proto() {
    let ours = compile(&ours_dir());
    let names: Vec<&str> = ours.service[0].method.iter().map(|m| m.name()).collect();
    assert_eq!(names, meguri::serve::pb::METHODS);
}

/// The comparison itself: comments and layout are ignored, any change to the contract is
/// caught and named.
#[test]
fn the_comparison_ignores_comments_and_catches_contract_changes() {
    let src = std::fs::read_to_string(ours_dir().join(FILE)).unwrap();
    let ours = compile(&ours_dir());
    let variant = |tag: &str, text: String| {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("proto-{tag}"));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(FILE), text).unwrap();
        compile(&dir)
    };
    let reworded: String = src
        .lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .map(|l| format!("{l}  // reworded\n\n"))
        .collect();
    assert_eq!(
        differences(&ours, &variant("comments", reworded)),
        Vec::<String>::new()
    );

    let cases: &[(&str, &str, &str, &str)] = &[
        ("number", "string crawlID = 4;\n}", "string crawlID = 9;\n}", "+ field .urlfrontier.URLInfo.crawlID = 9"),
        ("type", "uint32 inProcess = 2;", "uint64 inProcess = 2;", "+ field .urlfrontier.Stats.inProcess = 2 at 1: Ok(Optional) Ok(Uint64)"),
        ("name", "uint64 numberOfQueues = 4;", "uint64 number_of_queues = 4;", "+ field .urlfrontier.Stats.number_of_queues"),
        ("streaming", "rpc GetURLs(GetParams) returns (stream URLInfo)", "rpc GetURLs(GetParams) returns (URLInfo)", "+ rpc urlfrontier.URLFrontier #4 GetURLs(.urlfrontier.GetParams) returns (.urlfrontier.URLInfo)"),
        ("enum", "FAIL = 2;", "FAIL = 3;", "+ enum .urlfrontier.AckMessage.Status #2 FAIL = 3"),
        ("optional", "optional string filter = 6;", "string filter = 6;", "+ field .urlfrontier.ListUrlParams.filter = 6 at 5: Ok(Optional) Ok(String)  oneof None proto3_optional false"),
        ("repeated", "repeated string values = 1;\n  // How many", "string values = 1;\n  // How many", "+ field .urlfrontier.QueueList.values = 1 at 0: Ok(Optional)"),
        ("order", "  uint32 start = 3;\n  // How many keys `values` holds.\n  uint32 size = 4;", "  uint32 size = 4;\n  uint32 start = 3;", "+ field .urlfrontier.QueueList.size = 4 at 2"),
        ("package", "package urlfrontier;", "package urlfrontier.v2;", "+ syntax proto3 package urlfrontier.v2"),
    ];
    for (tag, from, to, expect) in cases {
        assert!(src.contains(from), "{tag}: {from:?} is not in the proto");
        let d = differences(&ours, &variant(tag, src.replacen(from, to, 1)));
        assert!(
            d.iter().any(|l| l.starts_with(expect)),
            "{tag}: no line starting with {expect:?} in:\n{}",
            d.join("\n")
        );
    }
}
