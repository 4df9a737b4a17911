//! `meguri web [--listen ADDR]`: serves the browser inspector from assets embedded in the
//! binary, so a crawl host can offer it without any other server. GET and HEAD of the
//! embedded files, on the same limited HTTP/1.1 server as `meguri serve`'s metrics
//! ([`crate::serve::http`]): a client cannot make it hold more than a small request head per
//! connection, nor keep connections for long. The page reads dropped files in the browser;
//! nothing is ever uploaded here.

use crate::serve::http::{self, HttpLimits, HttpResponse};
use crate::{CmdError, CmdResult};
use ::http::{header, HeaderValue, StatusCode};
use bytes::Bytes;
use std::future::Future;
use std::io::Write;

mod assets {
    include!(concat!(env!("OUT_DIR"), "/web_assets.rs"));
}

/// Default address: loopback only.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8417";

/// Only this origin may be contacted by the page: scripts, the worker and the wasm all come
/// from here, and nothing may be fetched from or sent to anywhere else.
const CSP: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; worker-src 'self'; \
                   style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'";

/// Whether this binary carries the built inspector.
pub fn has_assets() -> bool {
    assets::HAVE_WASM
}

/// The embedded asset at `path`: content type and bytes.
pub fn asset(path: &str) -> Option<(&'static str, &'static [u8])> {
    assets::ASSETS
        .iter()
        .find(|(p, _, _)| *p == path)
        .map(|(_, t, b)| (*t, *b))
}

/// The limits of `meguri web`: a browser sends small heads and opens a handful of
/// connections.
pub fn limits() -> HttpLimits {
    HttpLimits {
        max_head_bytes: 16 << 10,
        max_headers: 64,
        max_connections: 32,
        ..HttpLimits::default()
    }
}

/// The answer to one request (the query string plays no part).
pub fn respond(req: &::http::request::Parts) -> HttpResponse {
    let mut res = match http::only_get(&req.method) {
        Some(r) => r,
        None => match asset(req.uri.path()) {
            Some((ctype, body)) => http::bytes(StatusCode::OK, ctype, Bytes::from_static(body)),
            None => http::text(StatusCode::NOT_FOUND, "not found\n"),
        },
    };
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    res
}

/// Serves the inspector on `listener` until `stop` resolves.
pub async fn serve(listener: tokio::net::TcpListener, stop: impl Future<Output = ()>) {
    http::serve(listener, limits(), respond, stop).await
}

/// Serves the inspector on `listen` until SIGINT or SIGTERM. Prints the page's URL (with
/// the real port when `listen` asks for port 0) on `out`. Refuses to start without the
/// built wasm unless `require_wasm` is false.
pub fn run(listen: &str, require_wasm: bool, out: &mut dyn Write) -> CmdResult {
    if require_wasm && !has_assets() {
        return Err(CmdError::new(
            "web: this binary was built without the inspector's wasm; run `bash web/build.sh` \
             (needs the wasm32-unknown-unknown target and wasm-bindgen-cli, see README), then \
             `cargo build -p meguri` again",
        ));
    }
    // One thread is plenty for a page of static files.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| CmdError::new(format!("web: cannot start the runtime: {e}")))?;
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .map_err(|e| CmdError::new(format!("web {listen}: {e}")))?;
        let addr = listener
            .local_addr()
            .map_err(|e| CmdError::new(format!("web {listen}: {e}")))?;
        writeln!(
            out,
            "serving the meguri inspector at http://{addr}/ (Ctrl-C stops)"
        )
        .and_then(|_| out.flush())
        .map_err(|e| CmdError::new(format!("web: {e}")))?;
        serve(listener, crate::serve::stop_signal()).await;
        Ok(())
    })
}
