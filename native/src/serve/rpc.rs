//! The tower layer every gRPC call goes through: bearer-token check, per-RPC metrics and
//! request log, and the end of calls that outlast the shutdown grace period.
//!
//! One layer rather than a tonic interceptor plus a metrics layer: the outcome of a call
//! (its status code, how long its stream lasted) is only known when its response body
//! ends, and the same wrapper of that body is where a call is cut short at shutdown.

use super::auth::BearerAuth;
use super::metrics::{Counter, Gauge, Histogram, Metrics};
use super::pb;
use super::shutdown::Shutdown;
use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;
use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{ready, Context, Poll};
use std::time::Instant;
use tonic::transport::server::{TcpConnectInfo, TlsConnectInfo};
use tonic::{Code, Status};
use tracing::Level;

/// The gRPC health service, which stays open without a token.
const HEALTH: &str = "grpc.health.v1.Health";
const HEALTH_METHODS: &[&str] = &["Check", "Watch"];

/// What is kept per method, resolved once so a call only does a map lookup.
#[derive(Debug)]
struct Method {
    service: &'static str,
    name: &'static str,
    /// Callable without a token.
    open: bool,
    duration: Arc<Histogram>,
    in_flight: Arc<Gauge>,
    /// Upstream's call counter for this method, if it has one.
    upstream_calls: Option<Arc<Counter>>,
    /// Upstream's latency histogram for this method, if it has one.
    upstream_latency: Option<Arc<Histogram>>,
    /// `meguri_rpc_requests_total` by status code (indexed by the code's number), filled
    /// on first use: a finished call then costs no lock.
    by_code: [OnceLock<Arc<Counter>>; 17],
}

#[derive(Debug)]
struct Shared {
    methods: HashMap<String, Arc<Method>>,
    /// Label values `other`/`other`, for paths of no known method.
    other: Arc<Method>,
    metrics: Arc<Metrics>,
    auth: Option<BearerAuth>,
    shutdown: Shutdown,
}

/// Layer for [`tonic::transport::Server::layer`].
#[derive(Debug, Clone)]
pub(crate) struct RpcLayer {
    shared: Arc<Shared>,
}

impl RpcLayer {
    pub(crate) fn new(metrics: Arc<Metrics>, auth: Option<BearerAuth>, shutdown: Shutdown) -> Self {
        let method = |service: &'static str, name: &'static str| {
            let f = &metrics.frontier;
            let (calls, latency) = match (service, name) {
                (pb::SERVICE, "GetURLs") => (
                    Some(f.get_urls_calls.clone()),
                    Some(f.get_urls_latency.clone()),
                ),
                (pb::SERVICE, "PutURLs") => (Some(f.put_urls_calls.clone()), None),
                (pb::SERVICE, "PutDiscovered") => (Some(f.put_discovered_calls.clone()), None),
                _ => (None, None),
            };
            Arc::new(Method {
                service,
                name,
                open: service == HEALTH,
                duration: metrics.rpc.duration.with(&[service, name]),
                in_flight: metrics.rpc.in_flight.with(&[service, name]),
                upstream_calls: calls,
                upstream_latency: latency,
                by_code: Default::default(),
            })
        };
        let mut methods = HashMap::new();
        let known = pb::METHODS
            .iter()
            .map(|m| (pb::SERVICE, *m))
            .chain(HEALTH_METHODS.iter().map(|m| (HEALTH, *m)));
        for (service, name) in known {
            methods.insert(format!("/{service}/{name}"), method(service, name));
        }
        let other = method("other", "other");
        RpcLayer {
            shared: Arc::new(Shared {
                methods,
                other,
                metrics,
                auth,
                shutdown,
            }),
        }
    }
}

impl<S> tower_layer::Layer<S> for RpcLayer {
    type Service = RpcService<S>;
    fn layer(&self, inner: S) -> RpcService<S> {
        RpcService {
            inner,
            shared: self.shared.clone(),
        }
    }
}

/// See [`RpcLayer`].
#[derive(Debug, Clone)]
pub(crate) struct RpcService<S> {
    inner: S,
    shared: Arc<Shared>,
}

impl<S, ReqBody, ResBody> tower_service::Service<http::Request<ReqBody>> for RpcService<S>
where
    S: tower_service::Service<http::Request<ReqBody>, Response = http::Response<ResBody>>,
    ResBody: Body<Data = Bytes> + Default,
{
    type Response = http::Response<RpcBody<ResBody>>;
    type Error = S::Error;
    type Future = RpcFuture<S::Future, ResBody>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<ReqBody>) -> Self::Future {
        let sh = &self.shared;
        let method = sh
            .methods
            .get(req.uri().path())
            .unwrap_or(&sh.other)
            .clone();
        let mut call = Call::new(method, peer(&req), sh.clone());
        // Everything but the health service needs the token, unknown paths included, so a
        // service added later is not open by accident.
        if let (Some(auth), false) = (&sh.auth, call.method.open) {
            let value = req.headers().get(http::header::AUTHORIZATION);
            if let Err(f) = auth.check(value.map(|v| v.as_bytes())) {
                call.code = Some(Code::Unauthenticated);
                let res = Status::unauthenticated(f.message()).into_http::<ResBody>();
                return RpcFuture::Refused {
                    res: Some(res),
                    call: Some(call),
                };
            }
        }
        call.authorized();
        RpcFuture::Called {
            fut: self.inner.call(req),
            call: Some(call),
            cancelled: Box::pin(sh.shutdown.cancelled_token().clone().cancelled_owned()),
        }
    }
}

fn peer<B>(req: &http::Request<B>) -> Option<SocketAddr> {
    let ext = req.extensions();
    ext.get::<TcpConnectInfo>()
        .and_then(|i| i.remote_addr())
        .or_else(|| {
            ext.get::<TlsConnectInfo<TcpConnectInfo>>()
                .and_then(|i| i.get_ref().remote_addr())
        })
}

type Cancelled = Pin<Box<tokio_util::sync::WaitForCancellationFutureOwned>>;

pin_project! {
    /// Response future of [`RpcService`].
    #[project = RpcFutureProj]
    pub(crate) enum RpcFuture<F, B> {
        Refused { res: Option<http::Response<B>>, call: Option<Call> },
        Called { #[pin] fut: F, call: Option<Call>, cancelled: Cancelled },
    }
}

impl<F, B, E> Future for RpcFuture<F, B>
where
    F: Future<Output = Result<http::Response<B>, E>>,
    B: Body<Data = Bytes> + Default,
{
    type Output = Result<http::Response<RpcBody<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project() {
            RpcFutureProj::Refused { res, call } => {
                let res = res.take().expect("polled after completion");
                Poll::Ready(Ok(wrap(res, call.take(), None)))
            }
            RpcFutureProj::Called {
                fut,
                call,
                cancelled,
            } => {
                // A handler still working when the grace period ends is abandoned.
                if cancelled.as_mut().poll(cx).is_ready() {
                    let mut call = call.take().expect("polled after completion");
                    call.cut_short();
                    let res = Status::unavailable(SHUTTING_DOWN).into_http::<B>();
                    return Poll::Ready(Ok(wrap(res, Some(call), None)));
                }
                let res = ready!(fut.poll(cx));
                let call = call.take().expect("polled after completion");
                Poll::Ready(res.map(|res| {
                    let cancelled = call.shared.shutdown.cancelled_token().clone();
                    wrap(res, Some(call), Some(Box::pin(cancelled.cancelled_owned())))
                }))
            }
        }
    }
}

const SHUTTING_DOWN: &str = "the server is shutting down";

fn wrap<B>(
    res: http::Response<B>,
    mut call: Option<Call>,
    cancelled: Option<Cancelled>,
) -> http::Response<RpcBody<B>> {
    // A trailers-only response (an error before any message) has its status in the headers.
    if let (Some(c), Some(code)) = (call.as_mut(), grpc_status(res.headers())) {
        c.code = Some(code);
    }
    res.map(|inner| RpcBody {
        inner,
        call,
        cancelled,
        done: false,
    })
}

fn grpc_status(h: &http::HeaderMap) -> Option<Code> {
    h.get("grpc-status").map(|v| Code::from_bytes(v.as_bytes()))
}

pin_project! {
    /// Response body of [`RpcService`]: passes the service's frames through, notes the
    /// status in the trailers, and ends the stream with `UNAVAILABLE` when the shutdown
    /// grace period runs out.
    pub(crate) struct RpcBody<B> {
        #[pin]
        inner: B,
        call: Option<Call>,
        cancelled: Option<Cancelled>,
        done: bool,
    }
}

impl<B: Body<Data = Bytes>> Body for RpcBody<B> {
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        let this = self.project();
        if *this.done {
            return Poll::Ready(None);
        }
        if let Some(c) = this.cancelled.as_mut() {
            if c.as_mut().poll(cx).is_ready() {
                // Frames are whole messages, so the client sees complete messages, then
                // this status in place of the service's.
                *this.done = true;
                if let Some(call) = this.call.as_mut() {
                    call.cut_short();
                }
                // A trailers-only response carries exactly the status headers trailers need.
                let (parts, ()) = Status::unavailable(SHUTTING_DOWN)
                    .into_http::<()>()
                    .into_parts();
                let mut trailers = parts.headers;
                trailers.remove(http::header::CONTENT_TYPE);
                return Poll::Ready(Some(Ok(Frame::trailers(trailers))));
            }
        }
        let frame = ready!(this.inner.poll_frame(cx));
        match &frame {
            Some(Ok(f)) => {
                if let Some(t) = f.trailers_ref() {
                    *this.done = true;
                    if let (Some(call), Some(code)) = (this.call.as_mut(), grpc_status(t)) {
                        call.code = Some(code);
                    }
                }
            }
            Some(Err(_)) => {
                *this.done = true;
                if let Some(call) = this.call.as_mut() {
                    call.code.get_or_insert(Code::Internal);
                }
            }
            None => *this.done = true,
        }
        Poll::Ready(frame)
    }

    fn is_end_stream(&self) -> bool {
        self.done || self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// One call, recorded when dropped (with its body, i.e. when the response has ended or
/// the client went away).
#[derive(Debug)]
pub(crate) struct Call {
    method: Arc<Method>,
    peer: Option<SocketAddr>,
    start: Instant,
    shared: Arc<Shared>,
    code: Option<Code>,
    authorized: bool,
    cut_short: bool,
}

impl Call {
    fn new(method: Arc<Method>, peer: Option<SocketAddr>, shared: Arc<Shared>) -> Self {
        method.in_flight.inc();
        Call {
            method,
            peer,
            start: Instant::now(),
            shared,
            code: None,
            authorized: false,
            cut_short: false,
        }
    }

    /// Counts the call in upstream's metrics, which see authorized calls only.
    fn authorized(&mut self) {
        self.authorized = true;
        if let Some(c) = &self.method.upstream_calls {
            c.inc();
        }
    }

    fn cut_short(&mut self) {
        self.cut_short = true;
        self.code = Some(Code::Unavailable);
        self.shared.metrics.rpc.cancelled_at_shutdown.inc();
    }
}

impl Drop for Call {
    fn drop(&mut self) {
        self.method.in_flight.dec();
        let elapsed = self.start.elapsed();
        // No status seen: the client left (or the connection broke) before the end.
        let code = self.code.unwrap_or(Code::Cancelled);
        let m = &self.method;
        m.duration.observe_duration(elapsed);
        if self.authorized {
            if let Some(h) = &m.upstream_latency {
                h.observe_duration(elapsed);
            }
        }
        m.by_code[(code as usize).min(16)]
            .get_or_init(|| {
                let requests = &self.shared.metrics.rpc.requests;
                requests.with(&[m.service, m.name, code_name(code)])
            })
            .inc();
        let level = match code {
            Code::Ok => Level::DEBUG,
            Code::Unknown | Code::Internal | Code::DataLoss => Level::WARN,
            Code::Unavailable if self.cut_short => Level::WARN,
            _ => Level::INFO,
        };
        let peer = Peer(self.peer);
        let ms = elapsed.as_secs_f64() * 1e3;
        macro_rules! log {
            ($lvl:expr) => {
                tracing::event!(target: "meguri::serve::rpc", $lvl, ms, %peer,
                    "{}/{} {}", m.service, m.name, code_name(code))
            };
        }
        match level {
            Level::WARN => log!(Level::WARN),
            Level::INFO => log!(Level::INFO),
            _ => log!(Level::DEBUG),
        }
    }
}

/// A client's address in a log line (formatted only if the line is written).
struct Peer(Option<SocketAddr>);

impl std::fmt::Display for Peer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            Some(a) => write!(f, "{a}"),
            None => f.write_str("-"),
        }
    }
}

/// The canonical name of a status code, as gRPC documents spell them.
pub(crate) fn code_name(c: Code) -> &'static str {
    match c {
        Code::Ok => "OK",
        Code::Cancelled => "CANCELLED",
        Code::Unknown => "UNKNOWN",
        Code::InvalidArgument => "INVALID_ARGUMENT",
        Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        Code::NotFound => "NOT_FOUND",
        Code::AlreadyExists => "ALREADY_EXISTS",
        Code::PermissionDenied => "PERMISSION_DENIED",
        Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        Code::FailedPrecondition => "FAILED_PRECONDITION",
        Code::Aborted => "ABORTED",
        Code::OutOfRange => "OUT_OF_RANGE",
        Code::Unimplemented => "UNIMPLEMENTED",
        Code::Internal => "INTERNAL",
        Code::Unavailable => "UNAVAILABLE",
        Code::DataLoss => "DATA_LOSS",
        Code::Unauthenticated => "UNAUTHENTICATED",
    }
}
