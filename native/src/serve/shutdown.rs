//! The two moments of a shutdown, shared by the transport and the service: *draining*
//! (stop taking new work, let what is in flight finish) and *cancelled* (the grace period
//! is over: calls still open are being ended with `UNAVAILABLE`).

use tokio_util::sync::CancellationToken;

/// Shutdown state of one server. Cheap to clone; every clone sees the same state.
///
/// A service holds one (from [`Transport::shutdown`](super::Transport::shutdown)) to end its
/// long streams early: an open PutURLs stream has no natural end, so it should stop reading
/// once [`Shutdown::draining`] fires and close after acking what it had received.
#[derive(Debug, Clone, Default)]
pub struct Shutdown {
    draining: CancellationToken,
    cancelled: CancellationToken,
}

impl Shutdown {
    /// A server not shutting down.
    pub fn new() -> Self {
        Self::default()
    }

    /// Starts draining (what a stop signal does). Idempotent.
    pub fn begin(&self) {
        self.draining.cancel();
    }

    /// Whether draining has started.
    pub fn is_draining(&self) -> bool {
        self.draining.is_cancelled()
    }

    /// Resolves once draining has started.
    pub async fn draining(&self) {
        self.draining.cancelled().await
    }

    /// Whether the grace period is over.
    pub fn is_cancelled(&self) -> bool {
        self.cancelled.is_cancelled()
    }

    /// Resolves once the grace period is over and remaining calls are being cancelled.
    pub async fn cancelled(&self) {
        self.cancelled.cancelled().await
    }

    /// Ends the grace period (draining too, if it had not started).
    pub(crate) fn cancel(&self) {
        self.draining.cancel();
        self.cancelled.cancel();
    }

    pub(crate) fn cancelled_token(&self) -> &CancellationToken {
        &self.cancelled
    }
}

/// Resolves on the first SIGINT or SIGTERM (Ctrl-C elsewhere than Unix), logging which.
/// Once it has resolved, the signals no longer kill the process: a second one is ignored
/// while the server drains, which stays bounded by the grace period.
pub async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
        ) {
            (Ok(mut int), Ok(mut term)) => {
                let name = tokio::select! {
                    _ = int.recv() => "SIGINT",
                    _ = term.recv() => "SIGTERM",
                };
                tracing::info!(target: "meguri::serve", "{name} received: shutting down");
                return;
            }
            (Err(e), _) | (_, Err(e)) => {
                tracing::warn!(target: "meguri::serve", "cannot watch SIGINT/SIGTERM ({e}); Ctrl-C only")
            }
        }
    }
    match tokio::signal::ctrl_c().await {
        Ok(()) => tracing::info!(target: "meguri::serve", "Ctrl-C received: shutting down"),
        Err(e) => {
            tracing::error!(target: "meguri::serve", "cannot watch Ctrl-C ({e}); serving until killed");
            std::future::pending::<()>().await
        }
    }
}
