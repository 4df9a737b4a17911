//! Two jobs:
//! - embeds the browser inspector (`web/`, and `web/pkg/` once `web/build.sh` has built the
//!   wasm) into the `meguri` binary for `meguri web`. Without the built wasm the command still
//!   compiles; `meguri web` then says how to build the assets;
//! - compiles `proto/urlfrontier.proto` into prost messages and the tonic server and client
//!   of `meguri serve`. protox parses the file in Rust, so no `protoc` is needed.

use std::fmt::Write;
use std::path::PathBuf;

/// Served path, file under `web/`, content type.
const ASSETS: &[(&str, &str, &str)] = &[
    ("/", "index.html", "text/html; charset=utf-8"),
    ("/index.html", "index.html", "text/html; charset=utf-8"),
    ("/app.js", "app.js", "text/javascript; charset=utf-8"),
    ("/worker.js", "worker.js", "text/javascript; charset=utf-8"),
    ("/style.css", "style.css", "text/css; charset=utf-8"),
    (
        "/pkg/meguri_wasm.js",
        "pkg/meguri_wasm.js",
        "text/javascript; charset=utf-8",
    ),
    (
        "/pkg/meguri_wasm_bg.wasm",
        "pkg/meguri_wasm_bg.wasm",
        "application/wasm",
    ),
];

fn main() {
    embed_web_assets();
    compile_protos();
}

/// Generates `urlfrontier.rs` (messages, `url_frontier_server`, `url_frontier_client`), the
/// encoded descriptor set, and `urlfrontier_methods.rs`, the service's method names, which
/// the RPC metrics use as their closed set of label values.
fn compile_protos() {
    const PROTO: &str = "proto/urlfrontier.proto";
    println!("cargo:rerun-if-changed={PROTO}");
    let fds = protox::compile([PROTO], ["proto"]).unwrap_or_else(|e| panic!("{PROTO}: {e}"));
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR"));
    let mut methods = String::from(
        "/// Method names of `urlfrontier.URLFrontier`, in the order the .proto declares them.\n\
         pub const METHODS: &[&str] = &[\n",
    );
    for service in fds.file.iter().flat_map(|f| &f.service) {
        for m in &service.method {
            let _ = writeln!(methods, "    {:?},", m.name());
        }
    }
    methods.push_str("];\n");
    std::fs::write(out.join("urlfrontier_methods.rs"), methods).expect("write methods");
    std::fs::write(
        out.join("urlfrontier_descriptor.bin"),
        prost::Message::encode_to_vec(&fds),
    )
    .expect("write descriptor set");
    tonic_prost_build::configure()
        .build_server(true)
        .build_client(true)
        // Unimplemented RPCs answer UNIMPLEMENTED by default, so a service (and a test
        // double) only writes the calls it supports.
        .generate_default_stubs(true)
        .skip_protoc_run()
        .compile_fds(fds)
        .unwrap_or_else(|e| panic!("{PROTO}: {e}"));
}

fn embed_web_assets() {
    // The manifest directory as cargo gives it when it runs this script, not as it was when
    // the script was compiled: a checkout elsewhere that shares this target directory (the
    // fresh-clone check) compiles to the same script, which must then look at its own web/.
    let manifest = std::env::var_os("CARGO_MANIFEST_DIR").map_or_else(PathBuf::new, PathBuf::from);
    let web = manifest.join("../web");
    println!("cargo:rerun-if-changed=build.rs");
    // The folders' own times change when web/build.sh creates or replaces pkg/.
    for d in [web.clone(), web.join("pkg")] {
        if d.is_dir() {
            println!("cargo:rerun-if-changed={}", d.display());
        }
    }
    let mut src = String::from("/// Embedded inspector assets: (path, content type, bytes).\npub const ASSETS: &[(&str, &str, &[u8])] = &[\n");
    let mut have_wasm = false;
    for (path, file, ctype) in ASSETS {
        let p: PathBuf = web.join(file);
        if let Ok(abs) = p.canonicalize() {
            println!("cargo:rerun-if-changed={}", abs.display());
            have_wasm |= file.ends_with(".wasm");
            let _ = writeln!(
                src,
                "    ({path:?}, {ctype:?}, include_bytes!({:?})),",
                abs.to_string_lossy()
            );
        }
    }
    src.push_str("];\n");
    let _ = writeln!(src, "/// Whether web/build.sh had built the wasm when this binary was built.\npub const HAVE_WASM: bool = {have_wasm};");
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR"));
    std::fs::write(out.join("web_assets.rs"), src).expect("write web_assets.rs");
}
