//! [`Transport`]: binds the two listeners, serves gRPC and the metrics endpoint, and runs
//! the shutdown sequence.

use super::auth::{BearerAuth, TokenError};
use super::config::{Limits, TransportConfig};
use super::http::{self, HttpLimits, HttpResponse};
use super::metrics::Metrics;
use super::pb::{self, url_frontier_server::UrlFrontier, url_frontier_server::UrlFrontierServer};
use super::rpc::RpcLayer;
use super::shutdown::Shutdown;
use ::http::{header, HeaderValue, StatusCode};
use bytes::Bytes;
use std::fmt;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::path::Path;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;
use tonic::transport::server::{Connected, TcpConnectInfo};
use tonic::transport::{Identity, Server, ServerTlsConfig};
use tonic_health::ServingStatus;
use tracing::{info, warn};

/// Why the transport could not start, or stopped with an error.
#[derive(Debug)]
pub enum ServeError {
    /// The configuration is refused (see [`TransportConfig::check`]).
    Config(String),
    /// The token file is unreadable or empty.
    Token(TokenError),
    /// The TLS certificate or key is unreadable or invalid.
    Tls(String),
    /// A listener could not be bound.
    Bind {
        /// `gRPC` or `metrics`.
        what: &'static str,
        /// The address asked for.
        addr: SocketAddr,
        /// Why.
        source: io::Error,
    },
    /// The gRPC server failed.
    Grpc(tonic::transport::Error),
}

impl fmt::Display for ServeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServeError::Config(m) | ServeError::Tls(m) => f.write_str(m),
            ServeError::Token(e) => write!(f, "{e}"),
            ServeError::Bind { what, addr, source } => {
                write!(f, "cannot listen for {what} on {addr}: {source}")
            }
            ServeError::Grpc(e) => write!(f, "gRPC server: {e}"),
        }
    }
}

impl std::error::Error for ServeError {}

/// How a shutdown went.
#[derive(Debug, Clone)]
pub struct ShutdownReport {
    /// Every call finished within the grace period.
    pub drained: bool,
    /// Calls ended with `UNAVAILABLE` at the end of the grace period.
    pub cancelled_calls: u64,
    /// Connections were still open after the cancellation timeout and were left to close
    /// with the runtime (a handler that never released its request stream, say).
    pub abandoned: bool,
    /// From the stop to the end of the gRPC server (before the final work).
    pub drain_time: Duration,
}

/// The bound listeners and everything needed to serve them. See the module documentation
/// of [`crate::serve`] for the whole sequence.
pub struct Transport {
    grpc: TcpListener,
    http: TcpListener,
    grpc_addr: SocketAddr,
    metrics_addr: SocketAddr,
    config: TransportConfig,
    auth: Option<BearerAuth>,
    tls: Option<ServerTlsConfig>,
    metrics: Arc<Metrics>,
    shutdown: Shutdown,
}

impl fmt::Debug for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Transport")
            .field("grpc", &self.grpc_addr)
            .field("metrics", &self.metrics_addr)
            .field("tls", &self.tls.is_some())
            .field("auth", &self.auth)
            .finish()
    }
}

impl Transport {
    /// Checks the configuration, reads the token file and the TLS files, and binds both
    /// listeners (so that port 0 has become a real port when this returns). Nothing is
    /// served until [`Transport::serve`].
    pub async fn bind(config: TransportConfig, metrics: Arc<Metrics>) -> Result<Self, ServeError> {
        config.check()?;
        let auth = match &config.token_file {
            Some(p) => Some(BearerAuth::from_file(p).map_err(ServeError::Token)?),
            None => None,
        };
        let tls = match &config.tls {
            Some((cert, key)) => Some(load_tls(cert, key, config.limits.handshake_timeout)?),
            None => None,
        };
        if auth.is_some() && tls.is_none() && !config.listen.ip().is_loopback() {
            warn!(target: "meguri::serve",
                "tokens will cross the network in clear text: consider --tls-cert/--tls-key");
        }
        let bind = |what, addr| async move {
            let l = TcpListener::bind(addr)
                .await
                .map_err(|source| ServeError::Bind { what, addr, source })?;
            let local = l
                .local_addr()
                .map_err(|source| ServeError::Bind { what, addr, source })?;
            Ok::<_, ServeError>((l, local))
        };
        let (grpc, grpc_addr) = bind("gRPC", config.listen).await?;
        let (http, metrics_addr) = bind("metrics", config.metrics_listen).await?;
        Ok(Transport {
            grpc,
            http,
            grpc_addr,
            metrics_addr,
            config,
            auth,
            tls,
            metrics,
            shutdown: Shutdown::new(),
        })
    }

    /// The gRPC address (with the real port).
    pub fn grpc_addr(&self) -> SocketAddr {
        self.grpc_addr
    }

    /// The metrics and health HTTP address (with the real port).
    pub fn metrics_addr(&self) -> SocketAddr {
        self.metrics_addr
    }

    /// The shutdown state: for the service (to end long streams once draining starts),
    /// and to start a shutdown without a signal ([`Shutdown::begin`]).
    pub fn shutdown(&self) -> Shutdown {
        self.shutdown.clone()
    }

    /// The metrics registry served on `/metrics`.
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// Serves `service` until `stop` resolves (typically [`stop_signal`](super::stop_signal))
    /// or [`Shutdown::begin`] is called, then:
    /// 1. stops accepting connections, tells clients to open no new calls (HTTP/2 GOAWAY),
    ///    and reports NOT_SERVING on the health service and 503 on `/readyz`;
    /// 2. lets calls in flight finish for `limits.shutdown_grace`;
    /// 3. ends those still open with `UNAVAILABLE` (after the complete messages already
    ///    sent), and gives them `limits.cancel_timeout` to wind down;
    /// 4. awaits `finish`, the caller's final work (checkpoints), with the metrics endpoint
    ///    still up so the last figures can be scraped;
    /// 5. stops the metrics server.
    ///
    /// Returns how the shutdown went and `finish`'s output.
    pub async fn serve<S, T>(
        self,
        service: S,
        stop: impl Future<Output = ()>,
        finish: impl Future<Output = T>,
    ) -> Result<(ShutdownReport, T), ServeError>
    where
        S: UrlFrontier,
    {
        let Transport {
            grpc,
            http,
            grpc_addr,
            metrics_addr,
            config,
            auth,
            tls,
            metrics,
            shutdown,
        } = self;
        let limits = config.limits;
        let ready = Arc::new(AtomicBool::new(false));

        let http_stop = CancellationToken::new();
        let http_task = tokio::spawn(http::serve(
            http,
            HttpLimits::default(),
            metrics_page(metrics.clone(), auth.clone(), ready.clone()),
            http_stop.clone().cancelled_owned(),
        ));

        let (health, health_service) = tonic_health::server::health_reporter();
        health
            .set_service_status(pb::SERVICE, ServingStatus::Serving)
            .await;
        let frontier = UrlFrontierServer::new(service)
            .max_decoding_message_size(limits.max_message_bytes)
            .max_encoding_message_size(limits.max_message_bytes);
        let mut builder = Server::builder()
            .http2_keepalive_interval(Some(limits.keepalive_interval))
            .http2_keepalive_timeout(Some(limits.keepalive_timeout))
            .initial_stream_window_size(limits.stream_window_bytes)
            .initial_connection_window_size(limits.connection_window_bytes)
            // A growing window would undo the bound on what a stream buffers.
            .http2_adaptive_window(Some(false))
            .max_concurrent_streams(limits.max_concurrent_streams)
            .http2_max_header_list_size(limits.max_header_list_bytes);
        if let Some(tls) = tls {
            builder = builder
                .tls_config(tls)
                .map_err(|e| ServeError::Tls(format!("TLS: {e}")))?;
        }
        let mut builder = builder.layer(RpcLayer::new(
            metrics.clone(),
            auth.clone(),
            shutdown.clone(),
        ));
        let router = builder.add_service(health_service).add_service(frontier);
        let incoming = incoming(grpc, &limits, metrics.clone(), shutdown.clone());
        let draining = shutdown.clone();
        let server =
            router.serve_with_incoming_shutdown(incoming, async move { draining.draining().await });
        tokio::pin!(server);
        ready.store(true, Ordering::SeqCst);
        info!(target: "meguri::serve",
            "serving gRPC on {grpc_addr} ({}, {}), metrics on http://{metrics_addr}/metrics",
            if config.tls.is_some() { "TLS" } else { "plaintext" },
            if auth.is_some() { "bearer token required" } else { "no token" });

        // Serving, until a stop. The server itself only ends on an error (or, should the
        // accept loop die, once its connections are gone).
        let ended = tokio::select! {
            r = &mut server => Some(r),
            _ = stop => None,
            _ = shutdown.draining() => None,
        };
        let ended = match ended {
            Some(Err(e)) => {
                http_stop.cancel();
                let _ = http_task.await;
                return Err(ServeError::Grpc(e));
            }
            Some(Ok(())) => true,
            None => false,
        };
        let t0 = Instant::now();
        shutdown.begin();
        ready.store(false, Ordering::SeqCst);
        health
            .set_service_status("", ServingStatus::NotServing)
            .await;
        health
            .set_service_status(pb::SERVICE, ServingStatus::NotServing)
            .await;
        info!(target: "meguri::serve",
            "draining: no new connections; calls in flight have {:?} to finish", limits.shutdown_grace);

        let cancelled_before = metrics.rpc.cancelled_at_shutdown.get();
        let mut report = ShutdownReport {
            drained: true,
            cancelled_calls: 0,
            abandoned: false,
            drain_time: Duration::ZERO,
        };
        let result = match ended {
            true => Ok(()),
            false => match tokio::time::timeout(limits.shutdown_grace, &mut server).await {
                Ok(r) => r,
                Err(_) => {
                    report.drained = false;
                    shutdown.cancel();
                    tokio::time::timeout(limits.cancel_timeout, &mut server)
                        .await
                        .unwrap_or_else(|_| {
                            report.abandoned = true;
                            Ok(())
                        })
                }
            },
        };
        report.cancelled_calls = metrics.rpc.cancelled_at_shutdown.get() - cancelled_before;
        report.drain_time = t0.elapsed();
        if report.drained {
            info!(target: "meguri::serve", "drained in {:?}", report.drain_time);
        } else {
            warn!(target: "meguri::serve",
                "grace period over: {} calls ended with UNAVAILABLE{}", report.cancelled_calls,
                if report.abandoned { "; some connections did not close and are abandoned" } else { "" });
        }

        let out = finish.await;
        http_stop.cancel();
        let _ = http_task.await;
        result.map_err(ServeError::Grpc)?;
        Ok((report, out))
    }
}

fn load_tls(cert: &Path, key: &Path, handshake: Duration) -> Result<ServerTlsConfig, ServeError> {
    let read = |p: &Path| {
        std::fs::read(p).map_err(|e| ServeError::Tls(format!("TLS file {}: {e}", p.display())))
    };
    let config = ServerTlsConfig::new()
        .identity(Identity::from_pem(read(cert)?, read(key)?))
        .timeout(handshake);
    // tonic parses the PEM files when the configuration is installed: do it now, so a bad
    // file stops the start rather than the first connection.
    Server::builder().tls_config(config.clone()).map_err(|e| {
        ServeError::Tls(format!(
            "TLS certificate {} / key {}: {e}",
            cert.display(),
            key.display()
        ))
    })?;
    Ok(config)
}

/// The metrics server's pages.
fn metrics_page(
    metrics: Arc<Metrics>,
    auth: Option<BearerAuth>,
    ready: Arc<AtomicBool>,
) -> impl Fn(&::http::request::Parts) -> HttpResponse + Send + Sync + 'static {
    move |req| {
        if let Some(r) = http::only_get(&req.method) {
            return r;
        }
        match req.uri.path() {
            "/metrics" => {
                if let Some(auth) = &auth {
                    let value = req.headers.get(header::AUTHORIZATION).map(|v| v.as_bytes());
                    if let Err(f) = auth.check(value) {
                        let mut r = http::text(StatusCode::UNAUTHORIZED, f.message());
                        r.headers_mut()
                            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
                        return r;
                    }
                }
                http::bytes(
                    StatusCode::OK,
                    "text/plain; version=0.0.4; charset=utf-8",
                    Bytes::from(metrics.render()),
                )
            }
            "/healthz" => http::text(StatusCode::OK, "ok\n"),
            "/readyz" if ready.load(Ordering::SeqCst) => http::text(StatusCode::OK, "ready\n"),
            "/readyz" => http::text(StatusCode::SERVICE_UNAVAILABLE, "not ready\n"),
            _ => http::text(StatusCode::NOT_FOUND, "not found\n"),
        }
    }
}

/// The stream of accepted connections handed to tonic: at most `max_connections` open at
/// once (the next accept waits for a slot), each counted in the metrics and given
/// `handshake_timeout` to send its first bytes. Stops accepting, and closes the listening
/// socket, as soon as draining starts.
fn incoming(
    listener: TcpListener,
    limits: &Limits,
    metrics: Arc<Metrics>,
    shutdown: Shutdown,
) -> tokio_stream::wrappers::ReceiverStream<io::Result<ConnIo>> {
    let (tx, rx) = tokio::sync::mpsc::channel(1);
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let handshake = limits.handshake_timeout;
    tokio::spawn(async move {
        loop {
            let permit = tokio::select! {
                _ = shutdown.draining() => break,
                p = permits.clone().acquire_owned() => p.expect("the semaphore is never closed"),
            };
            let (stream, peer) = tokio::select! {
                _ = shutdown.draining() => break,
                r = listener.accept() => match r {
                    Ok(x) => x,
                    Err(e) => {
                        // Out of descriptors, or a connection reset before it was accepted.
                        tracing::debug!(target: "meguri::serve", "accept: {e}");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                },
            };
            let _ = stream.set_nodelay(true);
            let info = TcpConnectInfo {
                local_addr: stream.local_addr().ok(),
                remote_addr: Some(peer),
            };
            metrics.rpc.connections.inc();
            metrics.rpc.connections_total.inc();
            let io = ConnIo {
                io: stream,
                info,
                first_byte: Some(Box::pin(tokio::time::sleep(handshake))),
                _permit: permit,
                metrics: metrics.clone(),
            };
            if tx.send(Ok(io)).await.is_err() {
                break; // the server stopped taking connections
            }
        }
    });
    tokio_stream::wrappers::ReceiverStream::new(rx)
}

/// An accepted gRPC connection: holds its connection slot and counts itself open until
/// dropped; fails its reads if the client sends nothing within the handshake timeout.
struct ConnIo {
    io: TcpStream,
    info: TcpConnectInfo,
    first_byte: Option<Pin<Box<tokio::time::Sleep>>>,
    _permit: OwnedSemaphorePermit,
    metrics: Arc<Metrics>,
}

impl Drop for ConnIo {
    fn drop(&mut self) {
        self.metrics.rpc.connections.dec();
    }
}

impl Connected for ConnIo {
    type ConnectInfo = TcpConnectInfo;
    fn connect_info(&self) -> TcpConnectInfo {
        self.info.clone()
    }
}

impl AsyncRead for ConnIo {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let r = Pin::new(&mut this.io).poll_read(cx, buf);
        if let Some(deadline) = this.first_byte.as_mut() {
            match &r {
                Poll::Ready(Ok(())) if buf.filled().len() > before => this.first_byte = None,
                Poll::Pending if deadline.as_mut().poll(cx).is_ready() => {
                    return Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "the client sent nothing within the handshake timeout",
                    )));
                }
                _ => {}
            }
        }
        r
    }
}

impl AsyncWrite for ConnIo {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write(cx, buf)
    }
    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write_vectored(cx, bufs)
    }
    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }
    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
}
