//! `meguri web` as the browser and a hostile client see it: the real binary on a loopback
//! port (what the page needs, and what an oversized request costs it), then the shared HTTP
//! server in-process with small limits for its timeouts and connection cap.

mod support;

use meguri::serve::http::{self, HttpLimits};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const CSP: &str = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; worker-src 'self'; \
                   style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'";

struct Web {
    child: Child,
    addr: SocketAddr,
}

impl Drop for Web {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the binary on a free port and reads the address it prints, as web/tests/ does.
/// A binary built before `web/build.sh` lacks the wasm and would refuse to start; the hidden
/// `--without-wasm` serves the rest so the server is still tested.
fn start() -> Web {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_meguri"));
    cmd.args(["web", "--listen", "127.0.0.1:0"]);
    if !meguri::ops::web::has_assets() {
        eprintln!("NOTE: this build lacks the inspector's wasm; serving without it");
        cmd.arg("--without-wasm");
    }
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert!(
        line.starts_with("serving the meguri inspector at http://")
            && line.ends_with("/ (Ctrl-C stops)\n"),
        "{line:?}"
    );
    let addr = line
        .split("http://")
        .nth(1)
        .and_then(|r| r.split('/').next())
        .unwrap()
        .parse()
        .unwrap();
    Web { child, addr }
}

#[test]
fn serves_what_the_page_needs() {
    let w = start();
    for (path, ctype) in [
        ("/", "text/html; charset=utf-8"),
        ("/index.html", "text/html; charset=utf-8"),
        ("/app.js?v=2", "text/javascript; charset=utf-8"),
        ("/worker.js", "text/javascript; charset=utf-8"),
        ("/style.css", "text/css; charset=utf-8"),
    ] {
        let r = support::get(w.addr, path);
        assert_eq!(r.status, 200, "{path}");
        assert_eq!(r.header("content-type"), Some(ctype), "{path}");
        assert_eq!(r.header("content-security-policy"), Some(CSP), "{path}");
        assert_eq!(r.header("x-content-type-options"), Some("nosniff"));
        assert_eq!(r.header("cache-control"), Some("no-cache"));
        let len: usize = r.header("content-length").unwrap().parse().unwrap();
        assert_eq!(len, r.body.len(), "{path}");
        let (_, embedded) = meguri::ops::web::asset(path.split('?').next().unwrap()).unwrap();
        assert_eq!(r.body, embedded, "{path}");
    }
    if meguri::ops::web::has_assets() {
        let r = support::get(w.addr, "/pkg/meguri_wasm_bg.wasm");
        assert_eq!(r.header("content-type"), Some("application/wasm"));
        assert!(r.body.starts_with(b"\0asm"));
        let r = support::get(w.addr, "/pkg/meguri_wasm.js");
        assert_eq!(
            r.header("content-type"),
            Some("text/javascript; charset=utf-8")
        );
    }
    // HEAD: the GET's head, no body.
    let head = support::request(w.addr, "HEAD", "/", &[]);
    let get = support::get(w.addr, "/");
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty());
    assert_eq!(head.header("content-length"), get.header("content-length"));
    assert_eq!(head.header("content-security-policy"), Some(CSP));

    let r = support::get(w.addr, "/nope");
    assert_eq!((r.status, r.text().as_str()), (404, "not found\n"));
    assert_eq!(r.header("content-security-policy"), Some(CSP));
    let r = support::request(w.addr, "DELETE", "/", &[]);
    assert_eq!((r.status, r.header("allow")), (405, Some("GET, HEAD")));
    let r = support::exchange(
        w.addr,
        b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nhello",
    );
    assert_eq!(r.status, 413);

    // Keep-alive: two requests on one connection.
    let mut s = TcpStream::connect(w.addr).unwrap();
    s.write_all(b"GET /style.css HTTP/1.1\r\nHost: t\r\n\r\nGET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    assert_eq!(
        String::from_utf8_lossy(&raw)
            .matches("HTTP/1.1 200 OK")
            .count(),
        2
    );
}

/// Sends `total` bytes of request (`prefix`, then filler) as fast as the server takes them;
/// returns how many it took before closing on us, the response if one came, and the time.
fn flood(
    addr: SocketAddr,
    prefix: &[u8],
    filler: u8,
    total: usize,
) -> (usize, Option<u16>, Duration) {
    let t0 = Instant::now();
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_write_timeout(Some(Duration::from_secs(10))).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s.write_all(prefix).unwrap();
    let chunk = vec![filler; 64 << 10];
    let mut sent = prefix.len();
    while sent < total {
        match s.write(&chunk) {
            Ok(n) => sent += n,
            Err(_) => break, // reset by the server
        }
    }
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw); // a reset may lose the response; either is a refusal
    (sent, support::parse(&raw).map(|r| r.status), t0.elapsed())
}

#[test]
fn oversized_requests_are_refused_quickly_and_cost_no_memory() {
    let w = start();
    let pid = w.child.id();
    // Let start-up settle, and touch the page once so its pages are resident.
    assert_eq!(support::get(w.addr, "/").status, 200);
    let before = support::rss_kib(pid);

    // A 300 MB request line (the old server grew to 310 MB on it).
    let (sent, status, took) = flood(w.addr, b"GET /", b'a', 300 << 20);
    eprintln!("request line: server took {sent} bytes, answered {status:?}, in {took:?}");
    assert!(status.is_none_or(|s| (400..500).contains(&s)), "{status:?}");
    assert!(sent < 64 << 20, "the server kept reading: {sent} bytes");
    assert!(took < Duration::from_secs(5), "{took:?}");

    // One 100 MB header.
    let (sent, status, took) = flood(
        w.addr,
        b"GET / HTTP/1.1\r\nHost: t\r\nX-Big: ",
        b'b',
        100 << 20,
    );
    eprintln!("one header: server took {sent} bytes, answered {status:?}, in {took:?}");
    assert!(status.is_none_or(|s| (400..500).contains(&s)), "{status:?}");
    assert!(sent < 64 << 20 && took < Duration::from_secs(5));

    // Many small headers: refused by count (431), the response readable.
    let mut req = String::from("GET / HTTP/1.1\r\nHost: t\r\n");
    for i in 0..200 {
        req.push_str(&format!("X-H{i}: v\r\n"));
    }
    req.push_str("\r\n");
    assert_eq!(support::exchange(w.addr, req.as_bytes()).status, 431);

    // Heads just over the limit, many times over: no growth either.
    let over = format!("GET /{} HTTP/1.1\r\nHost: t\r\n\r\n", "c".repeat(20 << 10));
    for _ in 0..50 {
        let r = support::exchange(w.addr, over.as_bytes());
        assert!((400..500).contains(&r.status), "{}", r.status);
    }

    let after = support::rss_kib(pid);
    eprintln!("meguri web VmRSS: {before} KiB before, {after} KiB after");
    assert!(
        after < before + 8 * 1024,
        "grew from {before} KiB to {after} KiB"
    );
    assert!(after < 64 * 1024, "{after} KiB");

    // Still serving, and SIGTERM stops it cleanly.
    assert_eq!(support::get(w.addr, "/style.css").status, 200);
    let mut w = w;
    support::signal(pid, "TERM");
    assert_eq!(w.child.wait().unwrap().code(), Some(0));
}

/// The shared server's time and connection limits, with small values so the test is quick.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timeouts_and_the_connection_cap() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let limits = HttpLimits {
        max_connections: 2,
        header_read_timeout: Duration::from_millis(300),
        max_connection_age: Duration::from_secs(2),
        shutdown_timeout: Duration::from_millis(500),
        ..HttpLimits::default()
    };
    let stop = tokio_util::sync::CancellationToken::new();
    let server = tokio::spawn(http::serve(
        listener,
        limits,
        |_: &::http::request::Parts| http::text(::http::StatusCode::OK, "hi\n"),
        stop.clone().cancelled_owned(),
    ));
    tokio::task::spawn_blocking(move || {
        // A client that never finishes its head is dropped after the header timeout.
        let t0 = Instant::now();
        let mut slow = TcpStream::connect(addr).unwrap();
        slow.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        slow.write_all(b"GET / HTTP/1.1\r\nHost: t\r\n").unwrap();
        let mut buf = Vec::new();
        let _ = slow.read_to_end(&mut buf);
        let waited = t0.elapsed();
        assert!(
            waited >= Duration::from_millis(250) && waited < Duration::from_secs(3),
            "{waited:?}"
        );
        assert!(
            buf.is_empty() || buf.starts_with(b"HTTP/1.1 408"),
            "{:?}",
            String::from_utf8_lossy(&buf)
        );

        // So is an idle kept-alive connection.
        let mut idle = TcpStream::connect(addr).unwrap();
        idle.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        idle.write_all(b"GET / HTTP/1.1\r\nHost: t\r\n\r\n")
            .unwrap();
        let t0 = Instant::now();
        let mut buf = Vec::new();
        let _ = idle.read_to_end(&mut buf);
        assert!(buf.starts_with(b"HTTP/1.1 200 OK"));
        assert!(t0.elapsed() < Duration::from_secs(3), "{:?}", t0.elapsed());

        // Two connections hold both slots; a third is served once one of them goes.
        let a = TcpStream::connect(addr).unwrap();
        let b = TcpStream::connect(addr).unwrap();
        std::thread::sleep(Duration::from_millis(50));
        let t0 = Instant::now();
        let r = support::get(addr, "/");
        assert_eq!(r.status, 200);
        // The held connections send nothing, so the header timeout frees a slot.
        assert!(
            t0.elapsed() >= Duration::from_millis(150),
            "{:?}",
            t0.elapsed()
        );
        drop((a, b));
    })
    .await
    .unwrap();
    stop.cancel();
    tokio::time::timeout(Duration::from_secs(3), server)
        .await
        .expect("the server stops")
        .unwrap();
    assert!(
        TcpStream::connect(addr).is_err(),
        "still listening after the stop"
    );
}
