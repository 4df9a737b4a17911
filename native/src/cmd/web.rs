//! `meguri web [--listen ADDR]`: serves the browser inspector from assets embedded in the
//! binary, so a crawl host can offer it without any other server. A tiny HTTP/1.1 server on
//! std only: GET and HEAD of the embedded files, one short-lived thread per connection. The
//! page reads dropped files in the browser; nothing is ever uploaded here.

use crate::{CmdError, CmdResult};
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

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

/// Serves the inspector on `listen` until the process is stopped. Prints the page's URL
/// (with the real port when `listen` asks for port 0) on `out`.
pub fn run(listen: &str, out: &mut dyn Write) -> CmdResult {
    if !has_assets() {
        return Err(CmdError::new(
            "web: this binary was built without the inspector's wasm; run `bash web/build.sh` \
             (needs the wasm32-unknown-unknown target and wasm-bindgen-cli, see README), then \
             `cargo build -p meguri` again",
        ));
    }
    let listener =
        TcpListener::bind(listen).map_err(|e| CmdError::new(format!("web {listen}: {e}")))?;
    let addr = listener
        .local_addr()
        .map_err(|e| CmdError::new(format!("web {listen}: {e}")))?;
    writeln!(
        out,
        "serving the meguri inspector at http://{addr}/ (Ctrl-C stops)"
    )
    .and_then(|_| out.flush())
    .map_err(|e| CmdError::new(format!("web: {e}")))?;
    for conn in listener.incoming() {
        // A failed accept or a broken client only costs that connection.
        let Ok(stream) = conn else { continue };
        std::thread::spawn(move || {
            let _ = serve(stream);
        });
    }
    Ok(())
}

fn serve(stream: TcpStream) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    // Headers are read and ignored; the request has no body we care about.
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h)? == 0 || h == "\r\n" || h == "\n" {
            break;
        }
    }
    let mut parts = line.split_whitespace();
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let path = target.split(['?', '#']).next().unwrap_or("");
    let mut w = stream;
    let (status, ctype, body): (&str, &str, &[u8]) = match (method, asset(path)) {
        ("GET" | "HEAD", Some((t, b))) => ("200 OK", t, b),
        ("GET" | "HEAD", None) => ("404 Not Found", "text/plain; charset=utf-8", b"not found\n"),
        _ => (
            "405 Method Not Allowed",
            "text/plain; charset=utf-8",
            b"only GET and HEAD\n",
        ),
    };
    write!(
        w,
        "HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\n\
         Content-Security-Policy: {CSP}\r\nX-Content-Type-Options: nosniff\r\n\
         Cache-Control: no-cache\r\nConnection: close\r\n\r\n",
        body.len()
    )?;
    if method != "HEAD" {
        w.write_all(body)?;
    }
    w.flush()
}
