//! The transport of `meguri serve`: everything between the network and an implementation of
//! the URLFrontier service, so that the frontier itself only implements
//! [`pb::url_frontier_server::UrlFrontier`].
//!
//! - [`pb`]: the messages, server trait and client generated from `native/proto/urlfrontier.proto`
//!   (our own definition of the URLFrontier 2.6 wire contract).
//! - [`TransportArgs`] / [`TransportConfig`]: listen addresses, token file, TLS, limits, and
//!   the loopback-by-default rule.
//! - [`Transport`]: binds, then serves the gRPC service (with `grpc.health.v1.Health`,
//!   bearer-token auth, message-size and HTTP/2 limits, per-RPC metrics and request logs) and
//!   the metrics HTTP server (`/metrics`, `/healthz`, `/readyz`) until told to stop; drains
//!   in-flight calls within a grace period, ends the rest with `UNAVAILABLE`, then runs the
//!   caller's final work (checkpoints).
//! - [`Metrics`]: a small Prometheus registry with upstream URLFrontier's `frontier_*`
//!   metrics registered, to which the service adds its own.
//! - [`LogControl`]: the runtime-adjustable log filter behind `SetLogLevel`.
//! - [`http`]: the limited HTTP/1.1 server shared by the metrics endpoint and `meguri web`.
//!
//! Plugging a service in:
//!
//! ```no_run
//! # async fn demo(service: impl meguri::serve::pb::url_frontier_server::UrlFrontier) -> Result<(), meguri::serve::ServeError> {
//! use meguri::serve::{Metrics, Transport, TransportConfig};
//! let metrics = Metrics::new();
//! let transport = Transport::bind(TransportConfig::default(), metrics.clone()).await?;
//! let shutdown = transport.shutdown(); // the service watches this to end long streams early
//! let (report, ()) = transport
//!     .serve(service, meguri::serve::stop_signal(), async { /* checkpoint every crawl */ })
//!     .await?;
//! # let _ = (report, shutdown); Ok(()) }
//! ```

mod auth;
mod command;
mod config;
mod frontier;
pub mod http;
mod log;
mod metrics;
mod rpc;
mod server;
mod shutdown;

pub use auth::{AuthFailure, BearerAuth, TokenError};
pub use command::{run, CheckpointArgs, CheckpointPolicy, ServeArgs};
pub use config::{Limits, TransportArgs, TransportConfig, DEFAULT_LISTEN, DEFAULT_METRICS_LISTEN};
pub use frontier::{status_of, FrontierService};
pub use log::{LogControl, LogError};
pub use metrics::{
    Counter, CounterVec, Family, FrontierMetrics, Gauge, GaugeVec, Histogram, HistogramVec,
    Metrics, Registry, LATENCY_BUCKETS,
};
pub use server::{ServeError, ShutdownReport, Transport};
pub use shutdown::{stop_signal, Shutdown};

/// Code generated from `native/proto/urlfrontier.proto` by `build.rs`.
///
/// The service is `urlfrontier.URLFrontier`; [`UrlFrontier`] is the trait the frontier
/// implements (every method has a default answering `UNIMPLEMENTED`), and
/// [`UrlFrontierClient`] the client the tests and tools use.
///
/// [`UrlFrontier`]: pb::url_frontier_server::UrlFrontier
/// [`UrlFrontierClient`]: pb::url_frontier_client::UrlFrontierClient
#[allow(missing_docs, clippy::all, clippy::pedantic)]
pub mod pb {
    tonic::include_proto!("urlfrontier");
    include!(concat!(env!("OUT_DIR"), "/urlfrontier_methods.rs"));

    /// The gRPC name of the service.
    pub const SERVICE: &str = "urlfrontier.URLFrontier";

    /// The encoded `FileDescriptorSet` of the .proto (for reflection or checks at run time).
    pub const FILE_DESCRIPTOR_SET: &[u8] =
        include_bytes!(concat!(env!("OUT_DIR"), "/urlfrontier_descriptor.bin"));
}
