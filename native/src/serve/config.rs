//! What the transport is told: addresses, credentials, limits; and the rule that keeps an
//! unauthenticated server off the network unless explicitly asked.

use super::ServeError;
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::time::Duration;

/// Default gRPC address: loopback, on URLFrontier's usual port.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:7071";
/// Default address of the metrics and health HTTP server.
pub const DEFAULT_METRICS_LISTEN: &str = "127.0.0.1:9071";

/// The transport's command-line options, to flatten into a subcommand's arguments
/// (`#[command(flatten)]`).
#[derive(clap::Args, Debug, Clone)]
pub struct TransportArgs {
    /// gRPC address (port 0 picks a free port). Any address other than loopback needs
    /// --token-file or --insecure-listen.
    #[arg(long, default_value = DEFAULT_LISTEN)]
    pub listen: String,
    /// Address of the HTTP server for /metrics (Prometheus text format), /healthz and
    /// /readyz. Same rule as --listen for non-loopback addresses.
    #[arg(long, default_value = DEFAULT_METRICS_LISTEN)]
    pub metrics_listen: String,
    /// File of accepted bearer tokens, one per line (blank lines and lines starting with #
    /// are ignored). Clients then send `authorization: Bearer <token>`; /metrics asks for it
    /// too. The gRPC health service, /healthz and /readyz stay open.
    #[arg(long, value_name = "FILE")]
    pub token_file: Option<PathBuf>,
    /// Serve gRPC over TLS with this PEM certificate chain (needs --tls-key).
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key of --tls-cert.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Accept binding a non-loopback address without --token-file: anyone who can reach
    /// the port may then read and change the frontier.
    #[arg(long)]
    pub insecure_listen: bool,
    /// Largest gRPC message accepted or sent, in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = Limits::default().max_message_bytes)]
    pub max_message_bytes: usize,
    /// Most gRPC connections open at once; more wait in the kernel's accept queue.
    #[arg(long, value_name = "N", default_value_t = Limits::default().max_connections)]
    pub max_connections: usize,
    /// Seconds in-flight calls get to finish after SIGINT/SIGTERM before they are ended with
    /// UNAVAILABLE.
    #[arg(long, value_name = "SECS", default_value_t = Limits::default().shutdown_grace.as_secs())]
    pub shutdown_grace: u64,
    /// Log filter: a level (error, warn, info, debug, trace) or a list such as
    /// `info,meguri::serve=debug`. SetLogLevel changes it while serving.
    #[arg(long, value_name = "FILTER", default_value = "info")]
    pub log: String,
}

/// Bounds on what one client can make the server hold or wait for.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest encoded gRPC message, both ways. A larger request fails with `OUT_OF_RANGE`
    /// as soon as its length prefix is read, before it is buffered.
    pub max_message_bytes: usize,
    /// gRPC connections open at once.
    pub max_connections: usize,
    /// HTTP/2 streams (calls) open at once on one connection.
    pub max_concurrent_streams: u32,
    /// HTTP/2 flow-control window of one stream: how many request bytes a client may send
    /// ahead of the service reading them. With `max_message_bytes` it bounds what one
    /// stream buffers; a client sending faster than the service consumes waits on the wire.
    pub stream_window_bytes: u32,
    /// HTTP/2 flow-control window of one connection (all its streams together).
    pub connection_window_bytes: u32,
    /// Largest block of request headers (HTTP/2 header list) accepted.
    pub max_header_list_bytes: u32,
    /// Interval of HTTP/2 pings on a connection; a peer that does not answer within
    /// `keepalive_timeout` is disconnected, so vanished clients release their streams.
    pub keepalive_interval: Duration,
    /// See `keepalive_interval`.
    pub keepalive_timeout: Duration,
    /// Time a new connection gets to send its first bytes (HTTP/2 preface or TLS hello),
    /// and a TLS handshake to complete.
    pub handshake_timeout: Duration,
    /// Time in-flight calls get to finish once shutdown starts.
    pub shutdown_grace: Duration,
    /// Time given, after the grace period, for cancelled calls to wind down (their
    /// handlers to notice and release their streams) before the server stops waiting.
    pub cancel_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_message_bytes: 4 << 20,
            max_connections: 512,
            max_concurrent_streams: 128,
            stream_window_bytes: 1 << 20,
            connection_window_bytes: 4 << 20,
            max_header_list_bytes: 16 << 10,
            keepalive_interval: Duration::from_secs(30),
            keepalive_timeout: Duration::from_secs(20),
            handshake_timeout: Duration::from_secs(10),
            shutdown_grace: Duration::from_secs(10),
            cancel_timeout: Duration::from_secs(2),
        }
    }
}

/// Everything [`Transport::bind`](super::Transport::bind) needs.
#[derive(Debug, Clone)]
pub struct TransportConfig {
    /// gRPC address.
    pub listen: SocketAddr,
    /// Metrics and health HTTP address.
    pub metrics_listen: SocketAddr,
    /// Accepted bearer tokens (see [`TransportArgs::token_file`]); `None` serves without auth.
    pub token_file: Option<PathBuf>,
    /// PEM certificate chain and private key for TLS; `None` serves plaintext.
    pub tls: Option<(PathBuf, PathBuf)>,
    /// The operator's acknowledgement that a non-loopback address may go without a token.
    pub insecure_listen: bool,
    /// Limits.
    pub limits: Limits,
}

impl Default for TransportConfig {
    fn default() -> Self {
        TransportConfig {
            listen: DEFAULT_LISTEN.parse().expect("valid default"),
            metrics_listen: DEFAULT_METRICS_LISTEN.parse().expect("valid default"),
            token_file: None,
            tls: None,
            insecure_listen: false,
            limits: Limits::default(),
        }
    }
}

impl TransportConfig {
    /// The configuration the options describe: addresses resolved, the exposure rule
    /// checked.
    pub fn from_args(args: &TransportArgs) -> Result<Self, ServeError> {
        let tls = match (&args.tls_cert, &args.tls_key) {
            (Some(c), Some(k)) => Some((c.clone(), k.clone())),
            (None, None) => None,
            _ => {
                return Err(ServeError::Config(
                    "--tls-cert and --tls-key go together".into(),
                ))
            }
        };
        let config = TransportConfig {
            listen: resolve("--listen", &args.listen)?,
            metrics_listen: resolve("--metrics-listen", &args.metrics_listen)?,
            token_file: args.token_file.clone(),
            tls,
            insecure_listen: args.insecure_listen,
            limits: Limits {
                max_message_bytes: args.max_message_bytes,
                max_connections: args.max_connections,
                shutdown_grace: Duration::from_secs(args.shutdown_grace),
                ..Limits::default()
            },
        };
        config.check()?;
        Ok(config)
    }

    /// Refuses what cannot work or is unsafe: zero limits, and a non-loopback address
    /// without a token file unless `insecure_listen` says so. A token protects both
    /// servers (gRPC and /metrics), so the rule is the same for both.
    pub fn check(&self) -> Result<(), ServeError> {
        let l = &self.limits;
        if l.max_message_bytes == 0 || l.max_connections == 0 || l.max_concurrent_streams == 0 {
            return Err(ServeError::Config(
                "message size, connection and stream limits must be above 0".into(),
            ));
        }
        if self.token_file.is_some() || self.insecure_listen {
            return Ok(());
        }
        for (flag, addr) in [
            ("--listen", self.listen),
            ("--metrics-listen", self.metrics_listen),
        ] {
            if !addr.ip().is_loopback() {
                return Err(ServeError::Config(format!(
                    "{flag} {addr} is not a loopback address: without --token-file anyone who \
                     can reach it could read and change the frontier; give --token-file, or \
                     --insecure-listen to accept that"
                )));
            }
        }
        Ok(())
    }
}

/// `host:port` to one socket address (the first the resolver gives).
fn resolve(flag: &str, s: &str) -> Result<SocketAddr, ServeError> {
    s.to_socket_addrs()
        .map_err(|e| ServeError::Config(format!("{flag} {s}: {e}")))?
        .next()
        .ok_or_else(|| ServeError::Config(format!("{flag} {s}: resolves to no address")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        t: TransportArgs,
    }

    fn config(args: &[&str]) -> Result<TransportConfig, String> {
        let cli = Cli::try_parse_from(std::iter::once("x").chain(args.iter().copied()))
            .map_err(|e| e.to_string())?;
        TransportConfig::from_args(&cli.t).map_err(|e| e.to_string())
    }

    #[test]
    fn loopback_by_default() {
        let c = config(&[]).unwrap();
        assert_eq!(c.listen.to_string(), DEFAULT_LISTEN);
        assert_eq!(c.metrics_listen.to_string(), DEFAULT_METRICS_LISTEN);
        assert!(c.token_file.is_none() && c.tls.is_none());
        config(&["--listen", "[::1]:0", "--metrics-listen", "localhost:0"]).unwrap();
    }

    #[test]
    fn network_addresses_need_a_token_or_the_acknowledgement() {
        for args in [
            &["--listen", "0.0.0.0:7071"][..],
            &["--metrics-listen", "0.0.0.0:9071"],
            &["--listen", "[::]:7071"],
        ] {
            let e = config(args).unwrap_err();
            assert!(e.contains("not a loopback address"), "{e}");
        }
        config(&["--listen", "0.0.0.0:7071", "--token-file", "/t"]).unwrap();
        config(&["--listen", "0.0.0.0:7071", "--insecure-listen"]).unwrap();
    }

    #[test]
    fn tls_files_go_together_and_limits_are_positive() {
        assert!(config(&["--tls-cert", "c.pem"]).is_err());
        assert!(config(&["--tls-key", "k.pem"]).is_err());
        let c = config(&["--tls-cert", "c.pem", "--tls-key", "k.pem"]).unwrap();
        assert_eq!(c.tls, Some(("c.pem".into(), "k.pem".into())));
        let e = config(&["--max-connections", "0"]).unwrap_err();
        assert!(e.contains("above 0"), "{e}");
        let c = config(&["--max-message-bytes", "1000", "--shutdown-grace", "3"]).unwrap();
        assert_eq!(c.limits.max_message_bytes, 1000);
        assert_eq!(c.limits.shutdown_grace, Duration::from_secs(3));
    }
}
