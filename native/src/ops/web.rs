//! `web`: serves the browser inspector from assets embedded in the binary, so a crawl host can
//! offer it without any other server. GET and HEAD of the embedded files, on the same limited
//! HTTP/1.1 server as `meguri serve`'s metrics ([`crate::serve::http`]): a client cannot make it
//! hold more than a small request head per connection, nor keep connections for long. The page
//! reads dropped files in the browser; nothing is ever uploaded here.
//!
//! The operation runs until its stop future resolves; it says where it listens through a
//! callback once the socket is bound, and prints nothing itself.

use super::{Error, Op, Refusal, Result};
use crate::serve::http::{self, HttpLimits, HttpResponse};
use ::http::{header, HeaderValue, StatusCode};
use bytes::Bytes;
use serde::Serialize;
use std::fmt;
use std::future::Future;
use std::net::SocketAddr;

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

/// Where to serve.
#[derive(Debug, Clone)]
pub struct WebOptions {
    /// Address to listen on (port 0 picks a free port).
    pub listen: String,
    /// Refuse to start when this binary lacks the inspector's wasm (the page could not work).
    pub require_wasm: bool,
}

/// The server is listening.
///
/// JSON: `{address, url}`.
#[derive(Debug, Clone, Serialize)]
pub struct WebReady {
    /// The bound address (the real port when port 0 was asked for).
    pub address: SocketAddr,
    /// The page's URL.
    pub url: String,
}

impl fmt::Display for WebReady {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "serving the meguri inspector at {} (Ctrl-C stops)",
            self.url
        )
    }
}

/// Serves the inspector on `opts.listen` until `stop` resolves. `ready` hears where it listens
/// once the socket is bound; an error it returns stops the server before it serves.
pub fn web(
    opts: &WebOptions,
    stop: impl Future<Output = ()>,
    ready: &mut dyn FnMut(&WebReady) -> Result<()>,
) -> Result<()> {
    if opts.require_wasm && !has_assets() {
        return Err(Error::Refused {
            op: Op::Web,
            path: None,
            refusal: Refusal::NoInspector,
        });
    }
    let serve_err = |source| Error::Serve {
        op: Op::Web,
        listen: opts.listen.clone(),
        source,
    };
    // One thread is plenty for a page of static files.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(serve_err)?;
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind(&opts.listen)
            .await
            .map_err(serve_err)?;
        let address = listener.local_addr().map_err(serve_err)?;
        ready(&WebReady {
            address,
            url: format!("http://{address}/"),
        })?;
        serve(listener, stop).await;
        Ok(())
    })
}
