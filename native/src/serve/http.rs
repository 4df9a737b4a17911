//! A small HTTP/1.1 server on hyper for the pages meguri serves (the metrics endpoint and
//! `meguri web`): every request is answered from its head alone, and what a client can make
//! the server hold is bounded: head size, header count, request bodies (refused), open
//! connections, and time (to send a head, to sit idle, a connection's whole life).

use bytes::Bytes;
use http::{header, HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// A response: fixed bytes, as every page here is.
pub type HttpResponse = Response<Full<Bytes>>;

/// What one client may make the server hold, and for how long.
#[derive(Debug, Clone)]
pub struct HttpLimits {
    /// Largest request head (request line and headers), in bytes; at least 8192 (hyper's
    /// smallest read buffer). Larger heads are answered 431 and the connection closed.
    pub max_head_bytes: usize,
    /// Most header lines in a request; more are answered 431.
    pub max_headers: usize,
    /// Connections served at once; more wait in the kernel's accept queue.
    pub max_connections: usize,
    /// Time a client gets to send a whole request head, and to start the next one on a
    /// kept-alive connection before it is closed.
    pub header_read_timeout: Duration,
    /// Longest life of a connection; then it is closed after its current request.
    pub max_connection_age: Duration,
    /// Time requests in progress get to finish once the server stops.
    pub shutdown_timeout: Duration,
}

impl Default for HttpLimits {
    fn default() -> Self {
        HttpLimits {
            max_head_bytes: 16 << 10,
            max_headers: 64,
            max_connections: 64,
            header_read_timeout: Duration::from_secs(10),
            max_connection_age: Duration::from_secs(300),
            shutdown_timeout: Duration::from_secs(5),
        }
    }
}

/// Serves `listener` until `stop` resolves, answering each request with
/// `handler(request head)`. Requests carrying a body are refused with 413 without calling
/// the handler: nothing served here takes one. Returns once the connections still open at
/// the stop have finished their request (or `shutdown_timeout` passed).
pub async fn serve<H>(
    listener: TcpListener,
    limits: HttpLimits,
    handler: H,
    stop: impl Future<Output = ()>,
) where
    H: Fn(&http::request::Parts) -> HttpResponse + Send + Sync + 'static,
{
    let handler = Arc::new(handler);
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout)
        // The read buffer stops growing at the head limit, so an endless request line costs
        // this much memory, not what the client sends.
        .max_buf_size(limits.max_head_bytes.max(8192))
        .max_header_size(limits.max_head_bytes)
        .max_headers(limits.max_headers)
        .keep_alive(true);
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let closing = CancellationToken::new();
    let tracker = TaskTracker::new();
    tokio::pin!(stop);
    loop {
        let permit = tokio::select! {
            _ = &mut stop => break,
            p = permits.clone().acquire_owned() => p.expect("the semaphore is never closed"),
        };
        let stream = tokio::select! {
            _ = &mut stop => break,
            r = listener.accept() => match r {
                Ok((s, _)) => s,
                Err(e) => {
                    // Out of descriptors, or a connection reset before it was accepted:
                    // pause rather than spin, and keep serving.
                    tracing::debug!(target: "meguri::serve::http", "accept: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let handler = handler.clone();
        let service = hyper::service::service_fn(move |req: Request<Incoming>| {
            let (parts, body) = req.into_parts();
            let res = if has_body(&parts.headers, &body) {
                let mut r = text(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "request bodies are not accepted\n",
                );
                // The body was not read, so the connection cannot carry another request.
                r.headers_mut()
                    .insert(header::CONNECTION, HeaderValue::from_static("close"));
                r
            } else {
                handler(&parts)
            };
            async move { Ok::<_, Infallible>(res) }
        });
        let conn = builder.serve_connection(TokioIo::new(stream), service);
        let closing = closing.clone();
        let (age, grace) = (limits.max_connection_age, limits.shutdown_timeout);
        tracker.spawn(async move {
            tokio::pin!(conn);
            let ended = tokio::select! {
                r = conn.as_mut() => Some(r),
                _ = closing.cancelled() => None,
                _ = tokio::time::sleep(age) => None,
            };
            if ended.is_none() {
                conn.as_mut().graceful_shutdown();
                let _ = tokio::time::timeout(grace, conn).await;
            }
            drop(permit);
        });
    }
    drop(listener); // no new connections from here on
    closing.cancel();
    tracker.close();
    let _ = tokio::time::timeout(
        limits.shutdown_timeout + Duration::from_secs(1),
        tracker.wait(),
    )
    .await;
}

fn has_body(headers: &http::HeaderMap, body: &Incoming) -> bool {
    use http_body::Body;
    headers.contains_key(header::TRANSFER_ENCODING)
        || !body.is_end_stream()
        || headers
            .get(header::CONTENT_LENGTH)
            .is_some_and(|v| v.as_bytes() != b"0")
}

/// A `text/plain` response.
pub fn text(status: StatusCode, body: &'static str) -> HttpResponse {
    bytes(
        status,
        "text/plain; charset=utf-8",
        Bytes::from_static(body.as_bytes()),
    )
}

/// A response of `body` as `content_type`.
pub fn bytes(status: StatusCode, content_type: &'static str, body: Bytes) -> HttpResponse {
    let mut r = Response::new(Full::new(body));
    *r.status_mut() = status;
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    r
}

/// 405 for methods other than GET and HEAD (the only ones served here).
pub fn only_get(method: &Method) -> Option<HttpResponse> {
    if method == Method::GET || method == Method::HEAD {
        return None;
    }
    let mut r = text(StatusCode::METHOD_NOT_ALLOWED, "only GET and HEAD\n");
    r.headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
    Some(r)
}
