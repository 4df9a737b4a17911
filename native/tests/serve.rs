//! The transport of `meguri serve` end to end, on real loopback sockets: a small test
//! service behind [`Transport`], driven by the generated tonic client and a raw HTTP client.
//! Then the real binary for signals, exit status and addresses.

mod support;

use meguri::serve::pb::url_frontier_client::UrlFrontierClient;
use meguri::serve::pb::url_frontier_server::UrlFrontier;
use meguri::serve::pb::{
    ack_message, url_item, AckMessage, DiscoveredUrlItem, Empty, GetParams, LogLevelParams,
    QueueWithinCrawlParams, Stats, UrlInfo, UrlItem,
};
use meguri::serve::{Limits, Metrics, ServeError, ShutdownReport, Transport, TransportConfig};
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tokio_stream::StreamExt;
use tonic::codegen::BoxStream;
use tonic::transport::Channel;
use tonic::{Code, Request, Response, Status, Streaming};
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_health::pb::HealthCheckRequest;

const TOKEN: &str = "t0ken-for-tests";
const FRONTIER: &str = "urlfrontier.URLFrontier";

/// A test double: GetStats echoes, GetURLs streams `max_urls_per_queue` URLs with
/// `delay_requestable` milliseconds between them, PutURLs acks every item. The rest
/// answers UNIMPLEMENTED.
struct TestFrontier;

#[tonic::async_trait]
impl UrlFrontier for TestFrontier {
    async fn get_stats(
        &self,
        req: Request<QueueWithinCrawlParams>,
    ) -> Result<Response<Stats>, Status> {
        Ok(Response::new(Stats {
            size: req.get_ref().key.len() as u64,
            crawl_id: req.into_inner().crawl_id,
            ..Stats::default()
        }))
    }

    async fn get_ur_ls(
        &self,
        req: Request<GetParams>,
    ) -> Result<Response<BoxStream<UrlInfo>>, Status> {
        let p = req.into_inner();
        let gap = Duration::from_millis(p.delay_requestable.into());
        let (tx, rx) = mpsc::channel(1);
        tokio::spawn(async move {
            for i in 0..p.max_urls_per_queue {
                if i > 0 {
                    tokio::time::sleep(gap).await;
                }
                let url = UrlInfo {
                    url: format!("https://example.org/{i}"),
                    key: "example.org".into(),
                    ..UrlInfo::default()
                };
                if tx.send(Ok(url)).await.is_err() {
                    return; // the call ended (client gone, or cut short at shutdown)
                }
            }
        });
        Ok(Response::new(Box::pin(ReceiverStream::new(rx))))
    }

    async fn put_ur_ls(
        &self,
        req: Request<Streaming<UrlItem>>,
    ) -> Result<Response<BoxStream<AckMessage>>, Status> {
        let mut inbound = req.into_inner();
        let (tx, rx) = mpsc::channel(16);
        tokio::spawn(async move {
            loop {
                // `tx.closed()`: the response is over (client gone, or the call was cut
                // short at shutdown), so stop reading and release the request stream.
                let item = tokio::select! {
                    _ = tx.closed() => return,
                    item = inbound.next() => item,
                };
                let ack = match item {
                    Some(Ok(item)) => Ok(AckMessage {
                        id: item.id,
                        status: ack_message::Status::Ok as i32,
                    }),
                    Some(Err(status)) => Err(status),
                    None => return, // the client is done sending
                };
                let failed = ack.is_err();
                if tx.send(ack).await.is_err() || failed {
                    return;
                }
            }
        });
        Ok(Response::new(Box::pin(ReceiverStream::new(rx))))
    }
}

struct Running {
    grpc: SocketAddr,
    metrics: SocketAddr,
    shutdown: meguri::serve::Shutdown,
    finished: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<Result<(ShutdownReport, u16), ServeError>>,
}

fn token_file() -> PathBuf {
    let p = std::env::temp_dir().join(format!("meguri-serve-token-{}", std::process::id()));
    std::fs::write(&p, format!("# test token\n{TOKEN}\n")).unwrap();
    p
}

fn test_limits() -> Limits {
    Limits {
        max_message_bytes: 64 << 10,
        shutdown_grace: Duration::from_millis(1500),
        cancel_timeout: Duration::from_secs(3),
        ..Limits::default()
    }
}

/// Starts the transport around [`TestFrontier`] on loopback ports picked by the system.
/// Its final work reads `/readyz` (so the tests see what a probe sees then) and answers
/// with the status.
async fn start(token: bool) -> Running {
    let config = TransportConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        metrics_listen: "127.0.0.1:0".parse().unwrap(),
        token_file: token.then(token_file),
        limits: test_limits(),
        ..TransportConfig::default()
    };
    let t = Transport::bind(config, Metrics::new()).await.unwrap();
    let (grpc, metrics, shutdown) = (t.grpc_addr(), t.metrics_addr(), t.shutdown());
    let finished = Arc::new(AtomicBool::new(false));
    let f = finished.clone();
    let finish = async move {
        let status = tokio::task::spawn_blocking(move || support::get(metrics, "/readyz").status)
            .await
            .unwrap();
        f.store(true, Ordering::SeqCst);
        status
    };
    let task = tokio::spawn(t.serve(TestFrontier, std::future::pending(), finish));
    Running {
        grpc,
        metrics,
        shutdown,
        finished,
        task,
    }
}

async fn channel(addr: SocketAddr) -> Channel {
    Channel::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .unwrap()
}

fn with_token<T>(msg: T, token: &str) -> Request<T> {
    let mut r = Request::new(msg);
    r.metadata_mut()
        .insert("authorization", format!("Bearer {token}").parse().unwrap());
    r
}

fn discovered(url: &str, id: &str) -> UrlItem {
    UrlItem {
        item: Some(url_item::Item::Discovered(DiscoveredUrlItem {
            info: Some(UrlInfo {
                url: url.into(),
                ..UrlInfo::default()
            }),
        })),
        id: id.into(),
        creation_date: 0,
    }
}

async fn metrics_text(addr: SocketAddr) -> String {
    let auth = format!("Authorization: Bearer {TOKEN}");
    tokio::task::spawn_blocking(move || {
        let r = support::request(addr, "GET", "/metrics", &[&auth]);
        assert_eq!(r.status, 200, "{}", r.text());
        assert_eq!(
            r.header("content-type"),
            Some("text/plain; version=0.0.4; charset=utf-8")
        );
        r.text()
    })
    .await
    .unwrap()
}

fn value(metrics: &str, series: &str) -> f64 {
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("no {series} in:\n{metrics}"))
        .parse()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_auth_health_limits_and_metrics() {
    let s = start(true).await;
    let ch = channel(s.grpc).await;
    let mut client = UrlFrontierClient::new(ch.clone());

    // Health answers without a token.
    let mut health = HealthClient::new(ch.clone());
    for service in ["", FRONTIER] {
        let r = health
            .check(HealthCheckRequest {
                service: service.into(),
            })
            .await
            .unwrap();
        assert_eq!(
            r.into_inner().status(),
            ServingStatus::Serving,
            "{service:?}"
        );
    }

    // The frontier does not: no token, a wrong one, another scheme.
    let params = QueueWithinCrawlParams {
        key: "k".into(),
        crawl_id: "c".into(),
        local: false,
    };
    let e = client.get_stats(params.clone()).await.unwrap_err();
    assert_eq!(e.code(), Code::Unauthenticated);
    assert!(e.message().contains("missing"), "{}", e.message());
    let e = client
        .get_stats(with_token(params.clone(), "wrong"))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::Unauthenticated);
    let mut basic = Request::new(params.clone());
    basic
        .metadata_mut()
        .insert("authorization", format!("Basic {TOKEN}").parse().unwrap());
    assert_eq!(
        client.get_stats(basic).await.unwrap_err().code(),
        Code::Unauthenticated
    );
    // Streams are refused before the service sees them.
    let e = client.get_ur_ls(GetParams::default()).await.unwrap_err();
    assert_eq!(e.code(), Code::Unauthenticated);

    // Unary, with the token.
    let stats = client
        .get_stats(with_token(params.clone(), TOKEN))
        .await
        .unwrap()
        .into_inner();
    assert_eq!((stats.size, stats.crawl_id.as_str()), (1, "c"));

    // Server stream.
    let get = GetParams {
        max_urls_per_queue: 5,
        ..GetParams::default()
    };
    let mut urls = client
        .get_ur_ls(with_token(get, TOKEN))
        .await
        .unwrap()
        .into_inner();
    let mut got = Vec::new();
    while let Some(u) = urls.message().await.unwrap() {
        got.push(u.url);
    }
    assert_eq!(got.len(), 5);
    assert_eq!(got[4], "https://example.org/4");

    // Bidi stream: each item acked before the next is sent, then a half-close ends it.
    let (tx, rx) = mpsc::channel(1);
    let mut acks = client
        .put_ur_ls(with_token(ReceiverStream::new(rx), TOKEN))
        .await
        .unwrap()
        .into_inner();
    for i in 0..3 {
        tx.send(discovered(
            &format!("https://a.example/{i}"),
            &format!("id{i}"),
        ))
        .await
        .unwrap();
        let ack = acks.message().await.unwrap().unwrap();
        assert_eq!(
            (ack.id.as_str(), ack.status()),
            (format!("id{i}").as_str(), ack_message::Status::Ok)
        );
    }
    drop(tx);
    assert!(acks.message().await.unwrap().is_none());

    // What the service does not implement.
    let e = client
        .list_nodes(with_token(Empty {}, TOKEN))
        .await
        .unwrap_err();
    assert_eq!(e.code(), Code::Unimplemented);

    // A message over the limit (64 KiB here) is refused whole, unary or in a stream.
    let big = QueueWithinCrawlParams {
        key: "k".repeat(100 << 10),
        ..params.clone()
    };
    let e = client.get_stats(with_token(big, TOKEN)).await.unwrap_err();
    assert_eq!(e.code(), Code::OutOfRange, "{e}");
    let items = tokio_stream::iter(vec![discovered(&"u".repeat(100 << 10), "big")]);
    let mut acks = client
        .put_ur_ls(with_token(items, TOKEN))
        .await
        .unwrap()
        .into_inner();
    let e = acks.message().await.unwrap_err();
    assert_eq!(e.code(), Code::OutOfRange, "{e}");
    // The server is fine afterwards.
    client.get_stats(with_token(params, TOKEN)).await.unwrap();

    // The metrics page: token needed, health and readiness open.
    let m = s.metrics;
    let (no_token, healthz, readyz, missing) = tokio::task::spawn_blocking(move || {
        (
            support::get(m, "/metrics"),
            support::get(m, "/healthz"),
            support::get(m, "/readyz"),
            support::get(m, "/nope"),
        )
    })
    .await
    .unwrap();
    assert_eq!(no_token.status, 401);
    assert_eq!(no_token.header("www-authenticate"), Some("Bearer"));
    assert_eq!((healthz.status, healthz.text().as_str()), (200, "ok\n"));
    assert_eq!((readyz.status, readyz.text().as_str()), (200, "ready\n"));
    assert_eq!(missing.status, 404);

    let text = metrics_text(s.metrics).await;
    let rpc = |method: &str, code: &str| {
        value(
            &text,
            &format!("meguri_rpc_requests_total{{service=\"{FRONTIER}\",method=\"{method}\",code=\"{code}\"}}"),
        )
    };
    // Upstream's counters count authorized calls only.
    assert_eq!(value(&text, "frontier_getURLs_calls_total"), 1.0);
    assert_eq!(value(&text, "frontier_putURLs_calls_total"), 2.0);
    assert_eq!(value(&text, "frontier_putDiscovered_calls_total"), 0.0);
    assert_eq!(value(&text, "frontier_getURLs_latency_seconds_count"), 1.0);
    assert_eq!(rpc("GetStats", "UNAUTHENTICATED"), 3.0);
    assert_eq!(rpc("GetURLs", "UNAUTHENTICATED"), 1.0);
    assert_eq!(rpc("GetStats", "OK"), 2.0);
    assert_eq!(rpc("GetStats", "OUT_OF_RANGE"), 1.0);
    assert_eq!(rpc("GetURLs", "OK"), 1.0);
    assert_eq!(rpc("PutURLs", "OK"), 1.0);
    assert_eq!(rpc("PutURLs", "OUT_OF_RANGE"), 1.0);
    assert_eq!(rpc("ListNodes", "UNIMPLEMENTED"), 1.0);
    assert_eq!(
        value(&text, "meguri_rpc_requests_total{service=\"grpc.health.v1.Health\",method=\"Check\",code=\"OK\"}"),
        2.0
    );
    let count = |method: &str| {
        value(
            &text,
            &format!(
                "meguri_rpc_duration_seconds_count{{service=\"{FRONTIER}\",method=\"{method}\"}}"
            ),
        )
    };
    assert_eq!(count("GetURLs"), 2.0);
    assert_eq!(count("GetStats"), 6.0);
    assert!(text.contains(&format!(
        "meguri_rpc_duration_seconds_bucket{{service=\"{FRONTIER}\",method=\"GetURLs\",le=\"+Inf\"}} 2\n"
    )));
    assert_eq!(value(&text, "meguri_grpc_connections"), 1.0);
    for name in [
        "frontier_getURLs_total",
        "frontier_putURLs_total",
        "frontier_putURLs_discovered_total",
        "frontier_putURLs_ignored_total",
        "frontier_putURLs_completed_total",
        "frontier_putURLs_forward_notready_total",
    ] {
        assert_eq!(value(&text, name), 0.0, "{name}: the service's to count");
    }

    // A quiet shutdown: nothing in flight, so drained at once; the final work ran while
    // /readyz already said 503.
    drop((client, health, ch));
    s.shutdown.begin();
    let (report, readyz) = tokio::time::timeout(Duration::from_secs(5), s.task)
        .await
        .expect("shutdown within the grace period")
        .unwrap()
        .unwrap();
    assert!(report.drained && !report.abandoned, "{report:?}");
    assert_eq!(report.cancelled_calls, 0);
    assert_eq!(readyz, 503);
    assert!(s.finished.load(Ordering::SeqCst));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_finishes_in_flight_streams_then_cancels_the_rest() {
    let s = start(false).await;
    let ch = channel(s.grpc).await;
    let mut client = UrlFrontierClient::new(ch.clone());
    let mut health = HealthClient::new(ch.clone());

    // A: 4 URLs 200 ms apart, done well within the 1.5 s grace period.
    let mut short = client
        .get_ur_ls(GetParams {
            max_urls_per_queue: 4,
            delay_requestable: 200,
            ..GetParams::default()
        })
        .await
        .unwrap()
        .into_inner();
    // B: 1000 URLs 50 ms apart: outlasts the grace period.
    let mut long = client
        .get_ur_ls(GetParams {
            max_urls_per_queue: 1000,
            delay_requestable: 50,
            ..GetParams::default()
        })
        .await
        .unwrap()
        .into_inner();
    // C: a PutURLs stream the client keeps open.
    let (tx, rx) = mpsc::channel(1);
    let mut acks = client
        .put_ur_ls(ReceiverStream::new(rx))
        .await
        .unwrap()
        .into_inner();
    tx.send(discovered("https://c.example/", "c"))
        .await
        .unwrap();
    assert_eq!(acks.message().await.unwrap().unwrap().id, "c");
    // D: a health watch (endless by design).
    let mut watch = health
        .watch(HealthCheckRequest {
            service: FRONTIER.into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        watch.message().await.unwrap().unwrap().status(),
        ServingStatus::Serving
    );
    assert_eq!(
        short.message().await.unwrap().unwrap().url,
        "https://example.org/0"
    );
    assert!(long.message().await.unwrap().is_some());

    let t0 = Instant::now();
    s.shutdown.begin();

    // The watcher hears the server go.
    assert_eq!(
        watch.message().await.unwrap().unwrap().status(),
        ServingStatus::NotServing
    );
    // No new connections.
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(tokio::net::TcpStream::connect(s.grpc).await.is_err());

    // A finishes normally, well before the grace period ends.
    let mut rest = 0;
    while let Some(_u) = short.message().await.unwrap() {
        rest += 1;
    }
    assert_eq!(rest, 3);
    assert!(
        t0.elapsed() < Duration::from_millis(1400),
        "{:?}",
        t0.elapsed()
    );

    // B, C and D are ended with UNAVAILABLE once the grace period is over, B after the
    // URLs it had sent.
    let mut n = 1;
    let e = loop {
        match long.message().await {
            Ok(Some(_)) => n += 1,
            Ok(None) => panic!("the long stream ended without a status"),
            Err(e) => break e,
        }
    };
    assert_eq!(e.code(), Code::Unavailable, "{e}");
    assert!(e.message().contains("shutting down"), "{e}");
    assert!(n > 10, "only {n} URLs before the cut");
    let waited = t0.elapsed();
    assert!(
        waited >= Duration::from_millis(1400),
        "cut after {waited:?}"
    );
    assert_eq!(acks.message().await.unwrap_err().code(), Code::Unavailable);
    assert_eq!(watch.message().await.unwrap_err().code(), Code::Unavailable);

    let (report, readyz) = tokio::time::timeout(Duration::from_secs(5), s.task)
        .await
        .expect("serve returns after the cancellation")
        .unwrap()
        .unwrap();
    assert!(!report.drained, "{report:?}");
    assert_eq!(report.cancelled_calls, 3, "{report:?}");
    // Every handler let go of its streams: nothing was left behind.
    assert!(!report.abandoned, "{report:?}");
    assert_eq!(readyz, 503);
    assert!(s.finished.load(Ordering::SeqCst));
    drop(tx);
}

/// TLS with a throw-away certificate made by the `openssl` command (skipped, loudly, where
/// it is missing; a failure under CI).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls() {
    let dir = std::env::temp_dir().join(format!("meguri-serve-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (ca, cert, key) = (
        dir.join("ca.pem"),
        dir.join("cert.pem"),
        dir.join("key.pem"),
    );
    std::fs::write(
        dir.join("ext.cnf"),
        "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n",
    )
    .unwrap();
    let openssl = |args: &str| {
        Command::new("openssl")
            .current_dir(&dir)
            .args(args.split(' '))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    let ec = "-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes";
    // A CA, and a server certificate it signs (rustls refuses a CA as the server's own).
    let made = openssl(&format!("req -x509 {ec} -days 1 -subj /CN=test-CA -keyout ca.key -out ca.pem"))
        && openssl(&format!("req {ec} -subj /CN=localhost -keyout key.pem -out leaf.csr"))
        && openssl("x509 -req -days 1 -set_serial 7 -in leaf.csr -CA ca.pem -CAkey ca.key -extfile ext.cnf -out cert.pem");
    if !made {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "openssl is needed for the TLS test"
        );
        eprintln!("SKIPPED: no openssl command to make test certificates");
        return;
    }
    let config = TransportConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        metrics_listen: "127.0.0.1:0".parse().unwrap(),
        tls: Some((cert.clone(), key.clone())),
        limits: test_limits(),
        ..TransportConfig::default()
    };
    let t = Transport::bind(config.clone(), Metrics::new())
        .await
        .unwrap();
    let (addr, shutdown) = (t.grpc_addr(), t.shutdown());
    let task = tokio::spawn(t.serve(TestFrontier, std::future::pending(), async {}));

    let pem = std::fs::read(&ca).unwrap();
    let tls = tonic::transport::ClientTlsConfig::new()
        .ca_certificate(tonic::transport::Certificate::from_pem(&pem))
        .domain_name("localhost");
    let ch = Channel::from_shared(format!("https://{addr}"))
        .unwrap()
        .tls_config(tls)
        .unwrap()
        .connect()
        .await
        .unwrap();
    let stats = UrlFrontierClient::new(ch)
        .get_stats(QueueWithinCrawlParams::default())
        .await
        .unwrap();
    assert_eq!(stats.into_inner().size, 0);
    // A plaintext client gets nowhere.
    let plain = Channel::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await;
    if let Ok(ch) = plain {
        assert!(UrlFrontierClient::new(ch)
            .get_stats(QueueWithinCrawlParams::default())
            .await
            .is_err());
    }
    shutdown.begin();
    task.await.unwrap().unwrap();

    // A key that is not one refuses the start, naming the files.
    std::fs::write(&key, "not a key").unwrap();
    let e = Transport::bind(config, Metrics::new())
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("key.pem"), "{e}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn bind_refuses_what_it_should() {
    let base = TransportConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        metrics_listen: "127.0.0.1:0".parse().unwrap(),
        ..TransportConfig::default()
    };
    let open = TransportConfig {
        listen: "0.0.0.0:0".parse().unwrap(),
        ..base.clone()
    };
    let e = Transport::bind(open, Metrics::new()).await.unwrap_err();
    assert!(matches!(e, ServeError::Config(_)), "{e}");
    let missing = TransportConfig {
        token_file: Some("/nonexistent/tokens".into()),
        ..base.clone()
    };
    let e = Transport::bind(missing, Metrics::new())
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("/nonexistent/tokens"), "{e}");
    // A port in use.
    let t = Transport::bind(base.clone(), Metrics::new()).await.unwrap();
    let taken = TransportConfig {
        listen: t.grpc_addr(),
        ..base
    };
    let e = Transport::bind(taken, Metrics::new())
        .await
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("cannot listen for gRPC on 127.0.0.1:"), "{e}");
}

/// The binary: prints its addresses, serves, changes its log level on request, and exits
/// 0 on SIGTERM.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_serves_and_stops_on_sigterm() {
    let data = meguri_tests::Scratch::new("serve-bin");
    let mut child = Command::new(env!("CARGO_BIN_EXE_meguri"))
        .arg("serve")
        .arg("-d")
        .arg(&data.0)
        .args(["--listen", "127.0.0.1:0", "--metrics-listen", "127.0.0.1:0"])
        .args(["--log", "info", "--shutdown-grace", "2"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    // "meguri serve: gRPC on ADDR, metrics on http://ADDR/metrics"
    let grpc: SocketAddr = line
        .split("gRPC on ")
        .nth(1)
        .and_then(|r| r.split(',').next())
        .unwrap_or_else(|| panic!("{line}"))
        .parse()
        .unwrap();
    let metrics: SocketAddr = line
        .split("http://")
        .nth(1)
        .and_then(|r| r.split('/').next())
        .unwrap()
        .parse()
        .unwrap();

    let mut client = UrlFrontierClient::new(channel(grpc).await);
    let nodes = client.list_nodes(Empty {}).await.unwrap().into_inner();
    assert_eq!(nodes.values, [grpc.to_string()]);
    let level = LogLevelParams {
        package: "meguri.serve".into(),
        level: meguri::serve::pb::log_level_params::Level::Debug as i32,
        local: true,
    };
    client.set_log_level(level).await.unwrap();
    // Now at debug, the OK call below is logged.
    client.list_nodes(Empty {}).await.unwrap();
    let stats = client
        .get_stats(QueueWithinCrawlParams::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!((stats.size, stats.crawl_id.as_str()), (0, "DEFAULT"));
    let page = tokio::task::spawn_blocking(move || support::get(metrics, "/metrics"))
        .await
        .unwrap();
    assert!(page.text().contains("frontier_getURLs_calls_total 0\n"));
    drop(client);

    let t0 = Instant::now();
    support::signal(child.id(), "TERM");
    let out = tokio::task::spawn_blocking(move || child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(t0.elapsed() < Duration::from_secs(3), "{:?}", t0.elapsed());
    assert!(stderr.contains("SIGTERM received"), "{stderr}");
    assert!(
        stderr.contains("log filter is now info,meguri::serve=debug"),
        "{stderr}"
    );
    assert!(
        stderr.contains("urlfrontier.URLFrontier/ListNodes OK"),
        "{stderr}"
    );
    assert!(stderr.contains("drained in"), "{stderr}");

    // Refused before binding anything.
    let out = Command::new(env!("CARGO_BIN_EXE_meguri"))
        .arg("serve")
        .arg("-d")
        .arg(&data.0)
        .args(["--listen", "0.0.0.0:0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with("error: serve: --listen 0.0.0.0:0 is not a loopback address"),
        "{stderr}"
    );
}
