//! A small metrics registry rendered in the Prometheus text exposition format (version
//! 0.0.4): counters, gauges and fixed-bucket histograms, each alone or as a family keyed by
//! label values. Updates are atomic operations, no locks; a family takes a lock only to find
//! or create a child, so hot paths keep the child they use.
//!
//! [`Metrics`] bundles a [`Registry`] with what the transport maintains itself: upstream
//! URLFrontier's `frontier_*` metrics ([`FrontierMetrics`]), kept under upstream's names so
//! its Grafana dashboard works unchanged, and meguri's per-RPC metrics.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A value that only goes up.
#[derive(Debug, Default)]
pub struct Counter(AtomicU64);

impl Counter {
    /// Adds one.
    pub fn inc(&self) {
        self.inc_by(1);
    }
    /// Adds `n`.
    pub fn inc_by(&self, n: u64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }
    /// The current value.
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// A value that goes up and down (kept as an `f64`).
#[derive(Debug, Default)]
pub struct Gauge(AtomicF64);

impl Gauge {
    /// Sets the value.
    pub fn set(&self, v: f64) {
        self.0.store(v);
    }
    /// Adds `d` (which may be negative).
    pub fn add(&self, d: f64) {
        self.0.add(d);
    }
    /// Adds one.
    pub fn inc(&self) {
        self.add(1.0);
    }
    /// Subtracts one.
    pub fn dec(&self) {
        self.add(-1.0);
    }
    /// The current value.
    pub fn get(&self) -> f64 {
        self.0.load()
    }
}

/// Counts of observations in fixed buckets, with their sum.
#[derive(Debug)]
pub struct Histogram {
    /// Upper bounds, ascending; `+Inf` is implied after the last.
    bounds: Box<[f64]>,
    /// Observations per bucket (not cumulative), the last one for `+Inf`.
    counts: Box<[AtomicU64]>,
    sum: AtomicF64,
}

impl Histogram {
    fn new(bounds: &[f64]) -> Self {
        assert!(
            bounds.windows(2).all(|w| w[0] < w[1]) && bounds.iter().all(|b| b.is_finite()),
            "histogram buckets must be finite and strictly ascending: {bounds:?}"
        );
        Histogram {
            bounds: bounds.into(),
            counts: (0..=bounds.len()).map(|_| AtomicU64::new(0)).collect(),
            sum: AtomicF64::default(),
        }
    }

    /// Records one observation.
    pub fn observe(&self, v: f64) {
        let i = self.bounds.partition_point(|&b| b < v);
        self.counts[i].fetch_add(1, Ordering::Relaxed);
        self.sum.add(v);
    }

    /// Records a duration in seconds.
    pub fn observe_duration(&self, d: Duration) {
        self.observe(d.as_secs_f64());
    }

    /// Observations so far.
    pub fn count(&self) -> u64 {
        self.counts.iter().map(|c| c.load(Ordering::Relaxed)).sum()
    }

    /// Sum of the observations so far.
    pub fn sum(&self) -> f64 {
        self.sum.load()
    }
}

/// Buckets for request latencies, in seconds: 100 µs to 60 s.
pub const LATENCY_BUCKETS: &[f64] = &[
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    5.0, 10.0, 30.0, 60.0,
];

/// A family of metrics of one kind told apart by label values.
#[derive(Debug)]
pub struct Family<M> {
    labels: Box<[String]>,
    make: fn(&[f64]) -> M,
    buckets: Box<[f64]>,
    children: Mutex<BTreeMap<Box<[String]>, Arc<M>>>,
}

/// Counters told apart by labels.
pub type CounterVec = Family<Counter>;
/// Gauges told apart by labels.
pub type GaugeVec = Family<Gauge>;
/// Histograms told apart by labels.
pub type HistogramVec = Family<Histogram>;

impl<M> Family<M> {
    /// The child for these label values (one per label name, in order), created on first
    /// use. Keep the `Arc` on hot paths: this takes a lock.
    pub fn with(&self, values: &[&str]) -> Arc<M> {
        assert_eq!(
            values.len(),
            self.labels.len(),
            "label values {values:?} for labels {:?}",
            self.labels
        );
        let key: Box<[String]> = values.iter().map(|v| (*v).to_owned()).collect();
        let mut children = self.children.lock().unwrap_or_else(|e| e.into_inner());
        children
            .entry(key)
            .or_insert_with(|| Arc::new((self.make)(&self.buckets)))
            .clone()
    }
}

#[derive(Debug, Clone)]
enum Metric {
    Counter(Arc<Counter>),
    Gauge(Arc<Gauge>),
    Histogram(Arc<Histogram>),
    CounterVec(Arc<CounterVec>),
    GaugeVec(Arc<GaugeVec>),
    HistogramVec(Arc<HistogramVec>),
}

#[derive(Debug)]
struct Entry {
    name: String,
    help: String,
    metric: Metric,
}

/// Named metrics, rendered in registration order.
///
/// Registering a name twice, or an invalid name, is a programming error and panics: names
/// are fixed strings chosen in code, and a clash would silently merge two meanings.
#[derive(Debug, Default)]
pub struct Registry {
    entries: Mutex<Vec<Entry>>,
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    fn add(&self, name: &str, help: &str, metric: Metric) {
        assert!(valid_name(name, true), "invalid metric name {name:?}");
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        assert!(
            entries.iter().all(|e| e.name != name),
            "metric {name:?} registered twice"
        );
        entries.push(Entry {
            name: name.into(),
            help: help.into(),
            metric,
        });
    }

    /// Registers a counter. By Prometheus convention its name ends in `_total`.
    pub fn counter(&self, name: &str, help: &str) -> Arc<Counter> {
        let c = Arc::new(Counter::default());
        self.add(name, help, Metric::Counter(c.clone()));
        c
    }

    /// Registers a gauge.
    pub fn gauge(&self, name: &str, help: &str) -> Arc<Gauge> {
        let g = Arc::new(Gauge::default());
        self.add(name, help, Metric::Gauge(g.clone()));
        g
    }

    /// Registers a histogram with these bucket upper bounds (finite, ascending).
    pub fn histogram(&self, name: &str, help: &str, buckets: &[f64]) -> Arc<Histogram> {
        let h = Arc::new(Histogram::new(buckets));
        self.add(name, help, Metric::Histogram(h.clone()));
        h
    }

    /// Registers a family of counters with these label names.
    pub fn counter_vec(&self, name: &str, help: &str, labels: &[&str]) -> Arc<CounterVec> {
        let f = Arc::new(family(labels, &[], |_| Counter::default()));
        self.add(name, help, Metric::CounterVec(f.clone()));
        f
    }

    /// Registers a family of gauges with these label names.
    pub fn gauge_vec(&self, name: &str, help: &str, labels: &[&str]) -> Arc<GaugeVec> {
        let f = Arc::new(family(labels, &[], |_| Gauge::default()));
        self.add(name, help, Metric::GaugeVec(f.clone()));
        f
    }

    /// Registers a family of histograms with these label names and buckets.
    pub fn histogram_vec(
        &self,
        name: &str,
        help: &str,
        labels: &[&str],
        buckets: &[f64],
    ) -> Arc<HistogramVec> {
        Histogram::new(buckets); // checks the buckets now rather than at first use
        assert!(
            !labels.contains(&"le"),
            "`le` is the histograms' bucket label"
        );
        let f = Arc::new(family(labels, buckets, Histogram::new));
        self.add(name, help, Metric::HistogramVec(f.clone()));
        f
    }

    /// Everything, in the Prometheus text exposition format.
    pub fn render(&self) -> String {
        let mut out = String::with_capacity(4096);
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        for e in entries.iter() {
            let kind = match &e.metric {
                Metric::Counter(_) | Metric::CounterVec(_) => "counter",
                Metric::Gauge(_) | Metric::GaugeVec(_) => "gauge",
                Metric::Histogram(_) | Metric::HistogramVec(_) => "histogram",
            };
            let _ = writeln!(out, "# HELP {} {}", e.name, escape(&e.help, false));
            let _ = writeln!(out, "# TYPE {} {kind}", e.name);
            let name = &e.name;
            match &e.metric {
                Metric::Counter(c) => sample(&mut out, name, "", c.get() as f64),
                Metric::Gauge(g) => sample(&mut out, name, "", g.get()),
                Metric::Histogram(h) => histogram(&mut out, name, "", h),
                Metric::CounterVec(f) => each(f, |l, c| sample(&mut out, name, l, c.get() as f64)),
                Metric::GaugeVec(f) => each(f, |l, g| sample(&mut out, name, l, g.get())),
                Metric::HistogramVec(f) => each(f, |l, h| histogram(&mut out, name, l, h)),
            }
        }
        out
    }
}

fn family<M>(labels: &[&str], buckets: &[f64], make: fn(&[f64]) -> M) -> Family<M> {
    for l in labels {
        assert!(
            valid_name(l, false) && !l.starts_with("__"),
            "invalid label name {l:?}"
        );
    }
    Family {
        labels: labels.iter().map(|l| l.to_string()).collect(),
        make,
        buckets: buckets.into(),
        children: Mutex::default(),
    }
}

/// Calls `f` with each child of a family and its rendered label pairs (`a="x",b="y"`).
fn each<M>(f: &Family<M>, mut g: impl FnMut(&str, &M)) {
    let children = f.children.lock().unwrap_or_else(|e| e.into_inner());
    let mut labels = String::new();
    for (values, m) in children.iter() {
        labels.clear();
        for (i, (n, v)) in f.labels.iter().zip(values.iter()).enumerate() {
            if i > 0 {
                labels.push(',');
            }
            let _ = write!(labels, "{n}=\"{}\"", escape(v, true));
        }
        g(&labels, m);
    }
}

fn sample(out: &mut String, name: &str, labels: &str, v: f64) {
    if labels.is_empty() {
        let _ = writeln!(out, "{name} {}", Num(v));
    } else {
        let _ = writeln!(out, "{name}{{{labels}}} {}", Num(v));
    }
}

fn histogram(out: &mut String, name: &str, labels: &str, h: &Histogram) {
    // Cumulative bucket counts; `_count` is the `+Inf` bucket, so the two always agree
    // even while observations race with rendering.
    let sep = if labels.is_empty() { "" } else { "," };
    let mut cumulative = 0u64;
    for (i, c) in h.counts.iter().enumerate() {
        cumulative += c.load(Ordering::Relaxed);
        let le = h.bounds.get(i).copied().unwrap_or(f64::INFINITY);
        let _ = writeln!(
            out,
            "{name}_bucket{{{labels}{sep}le=\"{}\"}} {cumulative}",
            Num(le)
        );
    }
    let braces = |s: &str| {
        if s.is_empty() {
            String::new()
        } else {
            format!("{{{s}}}")
        }
    };
    let _ = writeln!(out, "{name}_sum{} {}", braces(labels), Num(h.sum()));
    let _ = writeln!(out, "{name}_count{} {cumulative}", braces(labels));
}

/// A sample value as the format spells it (`+Inf`, `-Inf`, `NaN`, else Rust's shortest
/// round-tripping decimal).
struct Num(f64);

impl std::fmt::Display for Num {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            v if v.is_nan() => f.write_str("NaN"),
            v if v == f64::INFINITY => f.write_str("+Inf"),
            v if v == f64::NEG_INFINITY => f.write_str("-Inf"),
            v => write!(f, "{v}"),
        }
    }
}

/// Escapes HELP text (`\` and newline) or a label value (also `"`).
fn escape(s: &str, quote: bool) -> std::borrow::Cow<'_, str> {
    if !s.contains(['\\', '\n', '"']) {
        return s.into();
    }
    let mut o = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\\' => o.push_str("\\\\"),
            '\n' => o.push_str("\\n"),
            '"' if quote => o.push_str("\\\""),
            c => o.push(c),
        }
    }
    o.into()
}

/// `[a-zA-Z_:][a-zA-Z0-9_:]*` for metric names; label names do not allow `:`.
fn valid_name(s: &str, colon: bool) -> bool {
    let ok = |c: u8, first: bool| {
        c.is_ascii_alphabetic()
            || c == b'_'
            || (colon && c == b':')
            || (!first && c.is_ascii_digit())
    };
    !s.is_empty() && s.bytes().enumerate().all(|(i, c)| ok(c, i == 0))
}

/// An `f64` updated atomically (through its bits).
#[derive(Debug, Default)]
struct AtomicF64(AtomicU64);

impl AtomicF64 {
    fn load(&self) -> f64 {
        f64::from_bits(self.0.load(Ordering::Relaxed))
    }
    fn store(&self, v: f64) {
        self.0.store(v.to_bits(), Ordering::Relaxed);
    }
    fn add(&self, d: f64) {
        let _ = self
            .0
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |b| {
                Some((f64::from_bits(b) + d).to_bits())
            });
    }
}

/// Upstream URLFrontier's metrics, under upstream's names.
///
/// The transport maintains the call counters and the GetURLs latency itself, from the
/// calls it sees (only calls that passed authentication count); the service maintains the
/// URL counts, which only it knows.
#[derive(Debug)]
pub struct FrontierMetrics {
    /// `frontier_getURLs_calls_total`: GetURLs calls. Transport.
    pub get_urls_calls: Arc<Counter>,
    /// `frontier_getURLs_total`: URLs handed out by GetURLs. Service.
    pub get_urls_total: Arc<Counter>,
    /// `frontier_getURLs_latency_seconds`: time from a GetURLs call to the end of its
    /// stream. Transport.
    pub get_urls_latency: Arc<Histogram>,
    /// `frontier_putURLs_calls_total`: PutURLs streams opened. Transport.
    pub put_urls_calls: Arc<Counter>,
    /// `frontier_putURLs_total`: items received on PutURLs (and in PutDiscovered
    /// batches). Service.
    pub put_urls_total: Arc<Counter>,
    /// `frontier_putURLs_discovered_total`: discovered items received. Service.
    pub put_urls_discovered: Arc<Counter>,
    /// `frontier_putURLs_ignored_total`: discovered items ignored as already known.
    /// Service.
    pub put_urls_ignored: Arc<Counter>,
    /// `frontier_putURLs_completed_total`: known items marking a URL done (no refetch
    /// date). Service.
    pub put_urls_completed: Arc<Counter>,
    /// `frontier_putDiscovered_calls_total`: PutDiscovered streams opened. Transport.
    pub put_discovered_calls: Arc<Counter>,
    /// `frontier_putURLs_forward_notready_total`: items a cluster node could not forward
    /// to their owner. meguri does not forward; kept so dashboards find it (always 0).
    pub put_urls_forward_notready: Arc<Counter>,
}

impl FrontierMetrics {
    fn register(r: &Registry) -> Self {
        FrontierMetrics {
            get_urls_calls: r.counter("frontier_getURLs_calls_total", "GetURLs calls."),
            get_urls_total: r.counter("frontier_getURLs_total", "URLs handed out by GetURLs."),
            get_urls_latency: r.histogram(
                "frontier_getURLs_latency_seconds",
                "Time from a GetURLs call to the end of its stream, in seconds.",
                LATENCY_BUCKETS,
            ),
            put_urls_calls: r.counter("frontier_putURLs_calls_total", "PutURLs streams opened."),
            put_urls_total: r.counter("frontier_putURLs_total", "URL items received."),
            put_urls_discovered: r.counter(
                "frontier_putURLs_discovered_total",
                "Discovered URL items received.",
            ),
            put_urls_ignored: r.counter(
                "frontier_putURLs_ignored_total",
                "Discovered URL items ignored because the URL was already known.",
            ),
            put_urls_completed: r.counter(
                "frontier_putURLs_completed_total",
                "Known URL items marking their URL done.",
            ),
            put_discovered_calls: r.counter(
                "frontier_putDiscovered_calls_total",
                "PutDiscovered streams opened.",
            ),
            put_urls_forward_notready: r.counter(
                "frontier_putURLs_forward_notready_total",
                "URL items that could not be forwarded to another node (meguri does not forward).",
            ),
        }
    }
}

/// The per-RPC metrics the transport keeps (meguri's own names).
#[derive(Debug)]
pub(crate) struct RpcMetrics {
    /// `meguri_rpc_requests_total{service,method,code}`.
    pub requests: Arc<CounterVec>,
    /// `meguri_rpc_duration_seconds{service,method}`.
    pub duration: Arc<HistogramVec>,
    /// `meguri_rpc_in_flight{service,method}`.
    pub in_flight: Arc<GaugeVec>,
    /// `meguri_rpc_cancelled_at_shutdown_total`.
    pub cancelled_at_shutdown: Arc<Counter>,
    /// `meguri_grpc_connections`.
    pub connections: Arc<Gauge>,
    /// `meguri_grpc_connections_total`.
    pub connections_total: Arc<Counter>,
}

/// The registry of a server, with the metrics the transport maintains already in it.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    /// Upstream URLFrontier's metrics.
    pub frontier: FrontierMetrics,
    pub(crate) rpc: RpcMetrics,
}

impl Metrics {
    /// A registry holding upstream's `frontier_*` metrics and meguri's per-RPC metrics
    /// (`meguri_rpc_*`, `meguri_grpc_connections*`). The service registers its own on
    /// [`Metrics::registry`], named `meguri_*` by convention.
    pub fn new() -> Arc<Self> {
        let registry = Registry::new();
        let frontier = FrontierMetrics::register(&registry);
        let labels = &["service", "method"];
        let rpc = RpcMetrics {
            requests: registry.counter_vec(
                "meguri_rpc_requests_total",
                "gRPC calls finished, by method and status code.",
                &["service", "method", "code"],
            ),
            duration: registry.histogram_vec(
                "meguri_rpc_duration_seconds",
                "Time from a gRPC call's arrival to the end of its response (streams included), in seconds.",
                labels,
                LATENCY_BUCKETS,
            ),
            in_flight: registry.gauge_vec(
                "meguri_rpc_in_flight",
                "gRPC calls in progress.",
                labels,
            ),
            cancelled_at_shutdown: registry.counter(
                "meguri_rpc_cancelled_at_shutdown_total",
                "gRPC calls ended with UNAVAILABLE because they outlasted the shutdown grace period.",
            ),
            connections: registry.gauge("meguri_grpc_connections", "gRPC connections open."),
            connections_total: registry.counter(
                "meguri_grpc_connections_total",
                "gRPC connections accepted.",
            ),
        };
        Arc::new(Metrics {
            registry,
            frontier,
            rpc,
        })
    }

    /// Where the service registers its own metrics.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// Everything, in the Prometheus text exposition format.
    pub fn render(&self) -> String {
        self.registry.render()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_format() {
        let r = Registry::new();
        let c = r.counter("jobs_total", "Jobs done.\nSecond \\ line.");
        c.inc();
        c.inc_by(41);
        let g = r.gauge("temperature", "Now.");
        g.set(-1.5);
        let h = r.histogram("wait_seconds", "Waits.", &[0.1, 1.0]);
        h.observe(0.05);
        h.observe(0.1); // a bound is inclusive
        h.observe(7.0);
        let v = r.counter_vec("calls_total", "Calls.", &["method", "code"]);
        v.with(&["Put", "OK"]).inc();
        v.with(&["Get \"x\"\n", "OK"]).inc_by(2);
        v.with(&["Put", "OK"]).inc();
        let hv = r.histogram_vec("lat_seconds", "Latency.", &["m"], &[0.5]);
        hv.with(&["a"]).observe(1.0);
        let expected = r#"# HELP jobs_total Jobs done.\nSecond \\ line.
# TYPE jobs_total counter
jobs_total 42
# HELP temperature Now.
# TYPE temperature gauge
temperature -1.5
# HELP wait_seconds Waits.
# TYPE wait_seconds histogram
wait_seconds_bucket{le="0.1"} 2
wait_seconds_bucket{le="1"} 2
wait_seconds_bucket{le="+Inf"} 3
wait_seconds_sum 7.15
wait_seconds_count 3
# HELP calls_total Calls.
# TYPE calls_total counter
calls_total{method="Get \"x\"\n",code="OK"} 2
calls_total{method="Put",code="OK"} 2
# HELP lat_seconds Latency.
# TYPE lat_seconds histogram
lat_seconds_bucket{m="a",le="0.5"} 0
lat_seconds_bucket{m="a",le="+Inf"} 1
lat_seconds_sum{m="a"} 1
lat_seconds_count{m="a"} 1
"#;
        assert_eq!(r.render(), expected);
    }

    #[test]
    fn every_line_parses() {
        // The grammar of a sample line: name, optional {labels}, one space, a value.
        let m = Metrics::new();
        m.frontier.get_urls_latency.observe(0.003);
        m.rpc
            .duration
            .with(&["urlfrontier.URLFrontier", "GetURLs"])
            .observe(0.2);
        let text = m.render();
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("# ") {
                assert!(
                    rest.starts_with("HELP ") || rest.starts_with("TYPE "),
                    "{line}"
                );
                continue;
            }
            let (series, value) = line.rsplit_once(' ').expect(line);
            assert!(value == "+Inf" || value.parse::<f64>().is_ok(), "{line}");
            let name = series.split('{').next().unwrap();
            assert!(valid_name(name, true), "{line}");
            if let Some(labels) = series.strip_prefix(name) {
                assert!(labels.is_empty() || (labels.starts_with('{') && labels.ends_with('}')));
            }
        }
        for name in [
            "frontier_getURLs_calls_total",
            "frontier_getURLs_total",
            "frontier_getURLs_latency_seconds",
            "frontier_putURLs_calls_total",
            "frontier_putURLs_total",
            "frontier_putURLs_discovered_total",
            "frontier_putURLs_ignored_total",
            "frontier_putURLs_completed_total",
            "frontier_putDiscovered_calls_total",
            "frontier_putURLs_forward_notready_total",
        ] {
            assert!(text.contains(&format!("\n# TYPE {name} ")), "{name}");
        }
        assert!(text.contains("frontier_getURLs_latency_seconds_bucket{le=\"0.005\"} 1\n"));
    }

    #[test]
    #[should_panic(expected = "registered twice")]
    fn duplicate_names_panic() {
        let r = Registry::new();
        r.counter("a_total", "");
        r.gauge("a_total", "");
    }

    #[test]
    #[should_panic(expected = "invalid metric name")]
    fn invalid_names_panic() {
        Registry::new().counter("2fast", "");
    }
}
