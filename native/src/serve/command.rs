//! `meguri serve -d DIR`: opens the data root (every crawl recovered and reported), seeds a
//! crawl if asked, binds, serves the URLFrontier service until SIGINT/SIGTERM, then
//! checkpoints and closes every crawl.

use super::frontier::FrontierService;
use super::{GaugeVec, LogControl, Metrics, Transport, TransportArgs, TransportConfig};
use crate::crawl::{DataRoot, HandoutLog, PutItem, RootOptions};
use crate::store::Durability;
use crate::{CmdError, CmdResult};
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// `meguri serve`'s arguments: the URLFrontier server's, or with `--offline` the reference's
/// drain of one partition directory. clap refuses a flag of one mode given with the other: a
/// new flag goes in the `network` or the `offline_only` group unless both modes use it (a
/// test holds every flag to that).
#[derive(clap::Args, Debug, Clone)]
#[command(group(
    clap::ArgGroup::new("network")
        .multiple(true)
        .conflicts_with("offline")
        .args([
            "durability", "crawl", "default_delay", "listen", "metrics_listen", "token_file",
            "tls_cert", "tls_key", "insecure_listen", "max_message_bytes", "max_connections",
            "shutdown_grace", "log", "handout_log", "checkpoint_log_bytes",
            "checkpoint_hard_bytes", "checkpoint_age", "checkpoint_tick_ms",
            "checkpoint_io_pressure",
        ])
))]
#[command(group(
    clap::ArgGroup::new("offline_only")
        .multiple(true)
        .requires("offline")
        .args([
            "manifest", "state_machine", "workers", "wall", "priority", "crawl_delay", "now",
            "json",
        ])
))]
pub struct ServeArgs {
    /// The data root: one partition directory per crawl under DIR/crawls/, created on first
    /// use. A partition directory (holding `super`) is served as the DEFAULT crawl. With
    /// --offline: the partition directory to drain (created if absent).
    #[arg(short = 'd', long = "data", visible_alias = "dir", value_name = "DIR")]
    pub data: PathBuf,
    /// Do not serve: drain DIR once with the offline fetcher (every URL answers 200), then
    /// checkpoint it, as the reference's `serve` does. Takes --seed, --resident-budget,
    /// --manifest and the drain's flags; none of the network flags.
    #[arg(long)]
    pub offline: bool,
    /// With --offline: a fleet manifest to report where this partition routes (and the
    /// manifest's coverage at epoch 0).
    #[arg(long, value_name = "M")]
    pub manifest: Option<PathBuf>,
    #[command(flatten)]
    pub drain: crate::cli::args::DrainArgs,
    /// With --offline: print the report as JSON instead of the lines.
    #[arg(long)]
    pub json: bool,
    /// When an acknowledged update is durable: none (never fsynced), normal (at checkpoints
    /// and close), full (fsynced before its ack; group commit).
    #[arg(long, default_value = "normal")]
    pub durability: Durability,
    /// Most URL records kept in memory per crawl (0: all).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub resident_budget: usize,
    /// Load the URLs of this CDX file (JSON lines, plain or .zst) into --crawl as discovered
    /// URLs before serving. With --offline: seed the partition with the URLs it does not have
    /// yet (`-` reads stdin).
    #[arg(long, value_name = "CDX")]
    pub seed: Option<PathBuf>,
    /// The crawl --seed loads into.
    #[arg(long, value_name = "ID", default_value = "DEFAULT", requires = "seed")]
    pub crawl: String,
    /// Seconds between two hand-outs of a queue without a delay of its own (kept in the data
    /// root; SetDelay with an empty key changes it). Default: the stored value, else 1.
    #[arg(long, value_name = "SECS")]
    pub default_delay: Option<f64>,
    /// Append a JSON line to FILE for every URL handed out, every lease that ends, every
    /// delay change and every crawl opened: the audit trail of politeness (docs/serve.md).
    /// Off by default.
    #[arg(long, value_name = "FILE")]
    pub handout_log: Option<PathBuf>,
    /// When crawls are checkpointed in the background.
    #[command(flatten)]
    pub checkpoints: CheckpointArgs,
    /// The transport.
    #[command(flatten)]
    pub transport: TransportArgs,
}

impl ServeArgs {
    /// The seed and options of `serve --offline`.
    pub fn offline_options(&self) -> (Option<crate::ops::SeedInput>, crate::ops::OfflineOptions) {
        let seed = self.seed.as_deref().map(crate::cli::args::seed_input);
        let opts = crate::ops::OfflineOptions {
            dir: self.data.clone(),
            manifest: self.manifest.clone(),
            resident_budget: self.resident_budget,
            drain: self.drain.settings(),
        };
        (seed, opts)
    }
}

fn err(e: impl std::fmt::Display) -> CmdError {
    CmdError::new(format!("serve: {e}"))
}

/// Loads a CDX file into crawl `id` as discovered URLs; returns (lines, URLs stored).
fn seed(root: &DataRoot, id: &str, path: &Path) -> Result<(u64, u64), CmdError> {
    let file = std::fs::File::open(path).map_err(|e| err(format!("{}: {e}", path.display())))?;
    let reader: Box<dyn BufRead> = if path.extension().is_some_and(|x| x == "zst") {
        let d = zstd::stream::read::Decoder::new(file)
            .map_err(|e| err(format!("{}: {e}", path.display())))?;
        Box::new(std::io::BufReader::with_capacity(1 << 20, d))
    } else {
        Box::new(std::io::BufReader::with_capacity(1 << 20, file))
    };
    let crawl = root.crawl_or_create(id).map_err(err)?;
    let (mut lines, mut stored) = (0u64, 0u64);
    let mut batch = Vec::with_capacity(4096);
    let mut flush = |batch: &mut Vec<PutItem>| -> Result<(), CmdError> {
        let acks = crawl.put(batch.iter(), root.now()).map_err(err)?;
        stored += acks.iter().filter(|a| **a == crate::crawl::Ack::Ok).count() as u64;
        batch.clear();
        Ok(())
    };
    for line in reader.lines() {
        let line = line.map_err(|e| err(format!("{}: {e}", path.display())))?;
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        lines += 1;
        if let Some(l) = crate::seed::parse_line(line) {
            batch.push(PutItem {
                url: l.url.into_owned(),
                ..PutItem::default()
            });
        }
        if batch.len() == 4096 {
            flush(&mut batch)?;
        }
    }
    flush(&mut batch)?;
    Ok((lines, stored))
}

/// Keeps the per-crawl gauges current.
struct Gauges {
    urls: Arc<GaugeVec>,
    queues: Arc<GaugeVec>,
    resident: Arc<GaugeVec>,
    fsyncs: Arc<GaugeVec>,
}

impl Gauges {
    fn new(m: &Metrics) -> Self {
        let r = m.registry();
        Gauges {
            urls: r.gauge_vec(
                "meguri_crawl_urls",
                "URLs of a crawl by state (queued, in_process, completed).",
                &["crawl", "state"],
            ),
            queues: r.gauge_vec(
                "meguri_crawl_queues",
                "Queues of a crawl (all, active).",
                &["crawl", "kind"],
            ),
            resident: r.gauge_vec(
                "meguri_store_resident_records",
                "URL records of a crawl held in memory.",
                &["crawl"],
            ),
            fsyncs: r.gauge_vec(
                "meguri_store_log_fsyncs",
                "Log fsyncs of a crawl's store since it was opened.",
                &["crawl"],
            ),
        }
    }

    fn update(&self, root: &DataRoot) {
        let now = root.now();
        for c in root.crawls() {
            let Ok(s) = c.stats(None, now) else { continue };
            let id = c.id();
            self.urls
                .with(&[id, "queued"])
                .set((s.size - s.in_process) as f64);
            self.urls.with(&[id, "in_process"]).set(s.in_process as f64);
            self.urls.with(&[id, "completed"]).set(s.completed as f64);
            self.queues.with(&[id, "all"]).set(s.queues as f64);
            self.queues
                .with(&[id, "active"])
                .set(s.active_queues as f64);
            self.resident.with(&[id]).set(c.store().resident() as f64);
            self.fsyncs.with(&[id]).set(c.store().log_syncs() as f64);
        }
    }
}

/// The background checkpoint scheduler's settings, as given on the command line.
#[derive(clap::Args, Debug, Clone)]
pub struct CheckpointArgs {
    /// Checkpoint a crawl once its logs pass BYTES (K, M, G suffixes), unless I/O pressure is
    /// high.
    #[arg(long, value_name = "BYTES", default_value = "64M", value_parser = crate::seed_sort::parse_size)]
    pub checkpoint_log_bytes: u64,
    /// Checkpoint a crawl once its logs pass BYTES whatever the I/O pressure (at least
    /// --checkpoint-log-bytes).
    #[arg(long, value_name = "BYTES", default_value = "1G", value_parser = crate::seed_sort::parse_size)]
    pub checkpoint_hard_bytes: u64,
    /// Checkpoint a crawl with anything in its logs at least every SECS seconds.
    #[arg(long, value_name = "SECS", default_value_t = 600)]
    pub checkpoint_age: u64,
    /// Milliseconds between two looks of the scheduler at every crawl.
    #[arg(long, value_name = "MS", default_value_t = 10_000)]
    pub checkpoint_tick_ms: u64,
    /// Skip a round while /proc/pressure/io says tasks waited on I/O more than PCT % of the
    /// last 10 s (100: never skip).
    #[arg(long, value_name = "PCT", default_value_t = 40.0)]
    pub checkpoint_io_pressure: f64,
}

/// When the background scheduler of `meguri serve` checkpoints a crawl.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CheckpointPolicy {
    /// Logs past this many bytes are checkpointed, unless I/O pressure is high.
    pub soft_bytes: u64,
    /// Logs past this many bytes are checkpointed whatever the pressure.
    pub hard_bytes: u64,
    /// A crawl whose log has anything is checkpointed at least this often.
    pub age: Duration,
    /// How often the scheduler looks.
    pub tick: Duration,
    /// `some avg10` of /proc/pressure/io (percent) above which a round is skipped.
    pub io_pressure_limit: f64,
}

impl CheckpointArgs {
    /// The policy, checked: sizes and times above 0, the hard size at least the soft one,
    /// the pressure limit a percentage.
    pub fn policy(&self) -> Result<CheckpointPolicy, String> {
        let a = self;
        if a.checkpoint_log_bytes == 0 {
            return Err("--checkpoint-log-bytes must be above 0".into());
        }
        if a.checkpoint_hard_bytes < a.checkpoint_log_bytes {
            return Err(format!(
                "--checkpoint-hard-bytes {} is below --checkpoint-log-bytes {}: the size that \
                 ignores I/O pressure cannot come before the one that heeds it",
                a.checkpoint_hard_bytes, a.checkpoint_log_bytes
            ));
        }
        if a.checkpoint_age == 0 {
            return Err("--checkpoint-age must be at least 1 second".into());
        }
        // A day at most: a larger number is more likely a unit mistake than a wish.
        if !(1..=86_400_000).contains(&a.checkpoint_tick_ms) {
            return Err(format!(
                "--checkpoint-tick-ms {} is not between 1 and 86400000 (a day)",
                a.checkpoint_tick_ms
            ));
        }
        // NaN is in no range: refused like any other non-percentage.
        if !(0.0..=100.0).contains(&a.checkpoint_io_pressure) {
            return Err(format!(
                "--checkpoint-io-pressure {} is not a percentage (0 to 100)",
                a.checkpoint_io_pressure
            ));
        }
        Ok(CheckpointPolicy {
            soft_bytes: a.checkpoint_log_bytes,
            hard_bytes: a.checkpoint_hard_bytes,
            age: Duration::from_secs(a.checkpoint_age),
            tick: Duration::from_millis(a.checkpoint_tick_ms),
            io_pressure_limit: a.checkpoint_io_pressure,
        })
    }
}

/// Bytes in a crawl's logs (`log-*` files of its directory).
fn log_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir).map_or(0, |rd| {
        rd.filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().starts_with("log-"))
            .filter_map(|e| e.metadata().ok())
            .map(|m| m.len())
            .sum()
    })
}

/// The share of the last 10 s some task waited on I/O (`None` where the kernel does not
/// report pressure: the scheduler then never skips a round).
fn io_pressure() -> Option<f64> {
    let text = std::fs::read_to_string("/proc/pressure/io").ok()?;
    let some = text.lines().find(|l| l.starts_with("some "))?;
    some.split_whitespace()
        .find_map(|f| f.strip_prefix("avg10="))?
        .parse()
        .ok()
}

/// Checkpoints crawls in the background, one at a time, every `policy.tick`: a crawl whose
/// log passed `policy.soft_bytes` or whose last checkpoint is older than `policy.age` (with
/// something logged since), skipping rounds under high I/O pressure except past
/// `policy.hard_bytes`. A failed checkpoint leaves the previous generation current; it is
/// logged and counted, and tried again next round.
///
/// Its metrics are registered when it is called, before the returned task first runs, so the
/// metrics page lists them from the moment the server answers.
fn checkpoint_scheduler(
    root: Arc<DataRoot>,
    metrics: Arc<Metrics>,
    policy: CheckpointPolicy,
) -> impl std::future::Future<Output = ()> {
    let r = metrics.registry();
    let done = r.counter(
        "meguri_checkpoints_total",
        "Background checkpoints completed.",
    );
    let failed = r.counter(
        "meguri_checkpoint_failures_total",
        "Background checkpoints that failed (the previous generation stays current).",
    );
    let skipped = r.counter(
        "meguri_checkpoint_rounds_skipped_total",
        "Scheduler rounds skipped because of I/O pressure.",
    );
    let took = r.histogram(
        "meguri_checkpoint_duration_seconds",
        "Time a background checkpoint took.",
        &[0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 60.0],
    );
    async move {
        let mut last: std::collections::HashMap<String, Instant> = Default::default();
        loop {
            tokio::time::sleep(policy.tick).await;
            let pressured = io_pressure().is_some_and(|p| p > policy.io_pressure_limit);
            if pressured {
                skipped.inc();
            }
            for c in root.crawls() {
                let since = *last.entry(c.id().to_string()).or_insert_with(Instant::now);
                let bytes = log_bytes(c.store().dir());
                let due = bytes >= policy.hard_bytes
                    || (!pressured
                        && (bytes >= policy.soft_bytes
                            || (bytes > 0 && since.elapsed() >= policy.age)));
                if !due {
                    continue;
                }
                let t = Instant::now();
                let c2 = c.clone();
                match tokio::task::spawn_blocking(move || c2.checkpoint()).await {
                    Ok(Ok(gen)) => {
                        done.inc();
                        took.observe_duration(t.elapsed());
                        tracing::info!(
                            "crawl {}: checkpoint to generation {gen} ({bytes} log bytes) in {} ms",
                            c.id(),
                            t.elapsed().as_millis()
                        );
                        last.insert(c.id().to_string(), Instant::now());
                    }
                    Ok(Err(e)) => {
                        failed.inc();
                        tracing::error!("background checkpoint: {e}");
                    }
                    Err(e) => {
                        failed.inc();
                        tracing::error!("background checkpoint: {e}");
                    }
                }
            }
        }
    }
}

/// Runs `meguri serve` until SIGINT or SIGTERM. Prints where it listens on `out` (one line,
/// with the real ports when port 0 was asked for).
pub fn run(args: &ServeArgs, out: &mut dyn Write) -> CmdResult {
    let config = TransportConfig::from_args(&args.transport).map_err(err)?;
    let policy = args.checkpoints.policy().map_err(err)?;
    let log = LogControl::init(&args.transport.log)
        .map_err(|e| CmdError::new(format!("serve: --log: {e}")))?;
    let default_delay = match args.default_delay {
        Some(s) if !(0.0..=86_400.0 * 365.0).contains(&s) => {
            return Err(err(format!(
                "--default-delay {s} is not a number of seconds"
            )))
        }
        Some(s) => Some((s * 1000.0).round() as u64),
        None => None,
    };
    let t0 = Instant::now();
    let handout_log = match &args.handout_log {
        Some(path) => Some(
            HandoutLog::open(path, (crate::crawl::system_clock())())
                .map_err(|e| err(format!("--handout-log {}: {e}", path.display())))?,
        ),
        None => None,
    };
    let opts = RootOptions {
        durability: args.durability,
        resident_budget: args.resident_budget,
        default_delay,
        handout_log: handout_log.clone(),
        ..RootOptions::default()
    };
    let (root, reports) = DataRoot::open(&args.data, opts).map_err(err)?;
    for r in &reports {
        tracing::info!(
            "crawl {}: generation {}, {} URLs in {} queues, {} log frames replayed, {} leases running, opened in {} ms (store {} ms, queues {} ms)",
            r.crawl, r.generation, r.rows, r.queues, r.frames, r.leases, r.millis,
            r.store_millis, r.millis - r.store_millis
        );
    }
    root.persist_settings().map_err(err)?;
    tracing::info!(
        "data root {}: {} crawls opened in {} ms ({:?} durability)",
        args.data.display(),
        reports.len(),
        t0.elapsed().as_millis(),
        args.durability
    );
    if let Some(path) = &args.seed {
        let t = Instant::now();
        let (lines, stored) = seed(&root, &args.crawl, path)?;
        tracing::info!(
            "seeded crawl {} from {}: {lines} lines, {stored} new URLs in {} ms",
            crate::crawl::names::crawl_id(&args.crawl),
            path.display(),
            t.elapsed().as_millis()
        );
    }
    let root = Arc::new(root);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("meguri-serve")
        .build()
        .map_err(|e| err(format!("cannot start the runtime: {e}")))?;
    let served = rt.block_on(async {
        let metrics = Metrics::new();
        let transport = Transport::bind(config, metrics.clone())
            .await
            .map_err(err)?;
        let (grpc, metrics_addr) = (transport.grpc_addr(), transport.metrics_addr());
        // Registered before the address line: a client that reads it finds every metric.
        let checkpoints = checkpoint_scheduler(root.clone(), metrics.clone(), policy);
        let gauges = Gauges::new(&metrics);
        let service = FrontierService::new(
            root.clone(),
            grpc.to_string(),
            log,
            metrics.clone(),
            transport.shutdown(),
        );
        writeln!(
            out,
            "meguri serve: gRPC on {grpc}, metrics on http://{metrics_addr}/metrics"
        )
        .and_then(|_| out.flush())
        .map_err(err)?;
        tracing::info!("serving {} on {grpc}", args.data.display());
        let r = root.clone();
        let ticker = tokio::spawn(async move {
            loop {
                gauges.update(&r);
                tokio::time::sleep(Duration::from_secs(2)).await;
            }
        });
        let scheduler = tokio::spawn(checkpoints);
        let r = root.clone();
        let finish = async move {
            ticker.abort();
            // A checkpoint in progress finishes on the blocking pool; the final one below
            // waits for it (the store runs one at a time).
            scheduler.abort();
            tokio::task::spawn_blocking(move || {
                let t = Instant::now();
                let failures = r.checkpoint_all();
                for f in &failures {
                    tracing::error!("checkpoint at shutdown: {f}");
                }
                tracing::info!(
                    "checkpointed {} crawls in {} ms",
                    r.crawls().len(),
                    t.elapsed().as_millis()
                );
                failures.is_empty()
            })
            .await
            .unwrap_or(false)
        };
        let (_report, ok) = transport
            .serve(service, super::stop_signal(), finish)
            .await
            .map_err(err)?;
        Ok::<bool, CmdError>(ok)
    });
    drop(rt);
    let ok = served?;
    let closed = match Arc::try_unwrap(root) {
        Ok(root) => root.close(),
        // Something still holds the root (a blocking call that outlived the grace period):
        // its stores close when it lets go; their logs were checkpointed just now.
        Err(_) => Vec::new(),
    };
    for e in &closed {
        tracing::error!("close: {e}");
    }
    if !ok || !closed.is_empty() {
        return Err(err(
            "stopped, but not every crawl was checkpointed and closed",
        ));
    }
    if let (Some(log), Some(path)) = (&handout_log, &args.handout_log) {
        if !log.flush() {
            return Err(err(format!(
                "the hand-out log {} is incomplete: a write failed (see the log)",
                path.display()
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{Args, Parser};

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        c: CheckpointArgs,
    }

    fn policy(args: &[&str]) -> Result<CheckpointPolicy, String> {
        let cli = Cli::try_parse_from(std::iter::once("x").chain(args.iter().copied()))
            .map_err(|e| e.to_string())?;
        cli.c.policy()
    }

    #[test]
    fn checkpoint_settings_default_as_documented_and_refuse_nonsense() {
        assert_eq!(
            policy(&[]).unwrap(),
            CheckpointPolicy {
                soft_bytes: 64 << 20,
                hard_bytes: 1 << 30,
                age: Duration::from_secs(600),
                tick: Duration::from_secs(10),
                io_pressure_limit: 40.0,
            }
        );
        let p = policy(&[
            "--checkpoint-log-bytes",
            "4K",
            "--checkpoint-hard-bytes",
            "4096",
            "--checkpoint-age",
            "1",
            "--checkpoint-tick-ms",
            "20",
            "--checkpoint-io-pressure",
            "100",
        ])
        .unwrap();
        assert_eq!((p.soft_bytes, p.hard_bytes), (4096, 4096));
        assert_eq!(
            (p.age, p.tick),
            (Duration::from_secs(1), Duration::from_millis(20))
        );
        for (args, says) in [
            (&["--checkpoint-log-bytes", "0"][..], "above 0"),
            (
                &[
                    "--checkpoint-log-bytes",
                    "2M",
                    "--checkpoint-hard-bytes",
                    "1M",
                ],
                "is below --checkpoint-log-bytes",
            ),
            (&["--checkpoint-age", "0"], "at least 1 second"),
            (&["--checkpoint-tick-ms", "0"], "not between 1 and"),
            (&["--checkpoint-tick-ms", "86400001"], "not between 1 and"),
            (&["--checkpoint-io-pressure", "101"], "not a percentage"),
            (&["--checkpoint-io-pressure", "NaN"], "not a percentage"),
            (&["--checkpoint-log-bytes", "12Q"], "unknown unit"),
            (&["--checkpoint-age", "-1"], "-1"),
        ] {
            let e = policy(args).unwrap_err();
            assert!(e.contains(says), "{args:?}: {e}");
        }
    }

    /// Every flag is the server's, `--offline`'s, or one of the few both take: none is
    /// silently ignored by the other mode.
    #[test]
    fn every_flag_belongs_to_one_mode_or_to_both() {
        let cmd = ServeArgs::augment_args(clap::Command::new("serve"));
        let members = |group: &str| -> Vec<String> {
            cmd.get_groups()
                .find(|g| g.get_id() == group)
                .map(|g| g.get_args().map(|a| a.to_string()).collect())
                .unwrap_or_default()
        };
        let (network, offline) = (members("network"), members("offline_only"));
        let both = ["data", "offline", "seed", "resident_budget"];
        for arg in cmd.get_arguments() {
            let id = arg.get_id().to_string();
            let n = usize::from(network.contains(&id))
                + usize::from(offline.contains(&id))
                + usize::from(both.contains(&id.as_str()));
            assert_eq!(
                n, 1,
                "--{id} must belong to exactly one of network, offline_only, both"
            );
        }
        assert!(network.len() > 10 && offline.len() > 5);
    }
}
