//! Logging through `tracing`, with a filter that can be changed while the server runs: the
//! handle behind URLFrontier's `SetLogLevel`.

use super::pb::log_level_params::Level;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use tracing::level_filters::LevelFilter;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::{reload, Registry};

/// A filter that could not be parsed or applied.
#[derive(Debug)]
pub struct LogError(pub String);

impl fmt::Display for LogError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for LogError {}

#[derive(Debug, Clone)]
struct State {
    default: LevelFilter,
    targets: BTreeMap<String, LevelFilter>,
}

impl State {
    fn parse(spec: &str) -> Result<Self, LogError> {
        let mut s = State {
            default: LevelFilter::INFO,
            targets: BTreeMap::new(),
        };
        for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            match part.split_once('=') {
                Some((target, level)) => {
                    s.targets.insert(target_of(target), parse_level(level)?);
                }
                None => s.default = parse_level(part)?,
            }
        }
        Ok(s)
    }

    fn filter(&self) -> Targets {
        Targets::new()
            .with_default(self.default)
            .with_targets(self.targets.iter().map(|(t, l)| (t.clone(), *l)))
    }
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.default.to_string().to_lowercase())?;
        for (t, l) in &self.targets {
            write!(f, ",{t}={}", l.to_string().to_lowercase())?;
        }
        Ok(())
    }
}

fn parse_level(s: &str) -> Result<LevelFilter, LogError> {
    s.trim().parse().map_err(|_| {
        LogError(format!(
            "unknown log level {s:?} (want off, error, warn, info, debug or trace)"
        ))
    })
}

/// A tracing target from a package name: URLFrontier clients name Java packages with
/// dots, so `meguri.serve` is taken to mean the target `meguri::serve`.
fn target_of(package: &str) -> String {
    package.trim().replace('.', "::")
}

/// The log filter of the process, changeable at run time. Cheap to clone.
#[derive(Clone)]
pub struct LogControl {
    state: Arc<Mutex<State>>,
    handle: reload::Handle<Targets, Registry>,
}

impl fmt::Debug for LogControl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "LogControl({})", self.current())
    }
}

impl LogControl {
    /// Installs the process's logger: lines to stderr, filtered by `spec` (a level, or a
    /// list such as `info,meguri::serve=debug`). Fails if a logger is already installed.
    pub fn init(spec: &str) -> Result<Self, LogError> {
        let (control, subscriber) = Self::subscriber(spec, std::io::stderr)?;
        tracing::subscriber::set_global_default(subscriber)
            .map_err(|e| LogError(format!("cannot install the logger: {e}")))?;
        Ok(control)
    }

    /// A subscriber writing to `writer`, and its control, without installing it (for
    /// tests, or to install with `tracing::subscriber::with_default`).
    pub fn subscriber<W>(
        spec: &str,
        writer: W,
    ) -> Result<(Self, impl tracing::Subscriber + Send + Sync), LogError>
    where
        W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
    {
        let state = State::parse(spec)?;
        let (filter, handle) = reload::Layer::new(state.filter());
        let subscriber = Registry::default().with(filter).with(
            tracing_subscriber::fmt::layer()
                .with_writer(writer)
                .with_target(true),
        );
        Ok((
            LogControl {
                state: Arc::new(Mutex::new(state)),
                handle,
            },
            subscriber,
        ))
    }

    /// Sets the level of one package (a tracing target such as `meguri::serve`, or a
    /// dotted name, see above), or of everything else when `package` is empty or `root`.
    pub fn set_level(&self, package: &str, level: LevelFilter) -> Result<(), LogError> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let target = target_of(package);
        if target.is_empty() || target.eq_ignore_ascii_case("root") {
            state.default = level;
        } else {
            state.targets.insert(target, level);
        }
        self.handle
            .reload(state.filter())
            .map_err(|e| LogError(format!("cannot change the log filter: {e}")))?;
        tracing::info!(target: "meguri::serve", "log filter is now {state}");
        Ok(())
    }

    /// `SetLogLevel`'s whole job: applies the request, or says why it cannot.
    pub fn apply(&self, params: &super::pb::LogLevelParams) -> Result<(), tonic::Status> {
        let level = match Level::try_from(params.level) {
            Ok(Level::Trace) => LevelFilter::TRACE,
            Ok(Level::Debug) => LevelFilter::DEBUG,
            Ok(Level::Info) => LevelFilter::INFO,
            Ok(Level::Warn) => LevelFilter::WARN,
            Ok(Level::Error) => LevelFilter::ERROR,
            Err(_) => {
                return Err(tonic::Status::invalid_argument(format!(
                    "unknown log level {}",
                    params.level
                )))
            }
        };
        self.set_level(&params.package, level)
            .map_err(|e| tonic::Status::internal(e.0))
    }

    /// The filter in force, in the `--log` syntax.
    pub fn current(&self) -> String {
        self.state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[derive(Clone, Default)]
    struct Buf(Arc<Mutex<Vec<u8>>>);
    impl Write for Buf {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    impl Buf {
        fn take(&self) -> String {
            String::from_utf8(std::mem::take(&mut *self.0.lock().unwrap())).unwrap()
        }
    }

    #[test]
    fn levels_change_at_run_time_per_package() {
        let buf = Buf::default();
        let w = buf.clone();
        let (control, sub) =
            LogControl::subscriber("warn,meguri::store=info", move || w.clone()).unwrap();
        assert_eq!(control.current(), "warn,meguri::store=info");
        tracing::subscriber::with_default(sub, || {
            tracing::info!(target: "meguri::serve::rpc", "rpc-1");
            tracing::info!(target: "meguri::store::log", "store-1");
            let got = buf.take();
            assert!(!got.contains("rpc-1") && got.contains("store-1"), "{got}");

            let p = crate::serve::pb::LogLevelParams {
                package: "meguri.serve".into(),
                level: Level::Debug as i32,
                local: false,
            };
            control.apply(&p).unwrap();
            assert_eq!(
                control.current(),
                "warn,meguri::serve=debug,meguri::store=info"
            );
            tracing::debug!(target: "meguri::serve::rpc", "rpc-2");
            tracing::debug!(target: "meguri::store::log", "store-2");
            let got = buf.take();
            assert!(got.contains("rpc-2") && !got.contains("store-2"), "{got}");

            control.set_level("", LevelFilter::ERROR).unwrap();
            tracing::warn!(target: "other", "other-1");
            assert!(!buf.take().contains("other-1"));
        });
        let bad = crate::serve::pb::LogLevelParams {
            package: "x".into(),
            level: 9,
            local: false,
        };
        assert_eq!(
            control.apply(&bad).unwrap_err().code(),
            tonic::Code::InvalidArgument
        );
        assert!(LogControl::subscriber("loud", std::io::sink).is_err());
    }
}
