//! `meguri frontier`: the project's own URLFrontier client, and the load generator that
//! measures a running `meguri serve` (or any URLFrontier 2.6 server).
//!
//! Three jobs, each returning a typed report the CLI renders as one line or as JSON:
//! - [`put`]: send URLs (from a CDX file or a plain list) as discovered items, one `URLItem`
//!   per URL on `PutURLs` streams or `PutDiscovered` batches, over one or more streams, with
//!   an optional share of duplicates; every item is counted by its acknowledgement.
//! - [`crawl`]: the loop a crawler runs: `GetURLs`, then acknowledge every URL handed out
//!   with a `known` item (completed, or due again after a delay), until a number of URLs was
//!   handled or the frontier has nothing more to give.
//! - [`stats`]: `GetStats` of a crawl.
//!
//! Latencies are measured per call (a `GetURLs` call to its stream's end) and per item (a
//! `PutURLs` item or a batch to its acknowledgement), and reported as p50/p99.

use crate::serve::pb::url_frontier_client::UrlFrontierClient;
use crate::serve::pb::{
    self, ack_message, get_params, url_item, DiscoveredBatch, DiscoveredUrlItem, GetParams,
    KnownUrlItem, QueueWithinCrawlParams, UrlInfo, UrlItem,
};
use serde::Serialize;
use std::collections::HashMap;
use std::fmt;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tokio_stream::StreamExt;
use tonic::metadata::MetadataValue;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

/// Why a client job failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The URL list could not be read.
    #[error("read {}: {source}", path.display())]
    Input {
        /// The list.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The token file could not be read or holds no usable token.
    #[error("token file {}: {reason}", path.display())]
    Token {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The server could not be reached.
    #[error("connect to {addr}: {source}")]
    Connect {
        /// Where.
        addr: String,
        /// Why.
        #[source]
        source: tonic::transport::Error,
    },
    /// A call failed.
    #[error("{call}: {status}")]
    Call {
        /// The RPC.
        call: &'static str,
        /// The server's (or the transport's) status.
        status: Box<tonic::Status>,
    },
    /// The runtime could not start.
    #[error("cannot start the runtime: {0}")]
    Runtime(#[source] std::io::Error),
}

fn call(name: &'static str) -> impl Fn(tonic::Status) -> ClientError {
    move |status| ClientError::Call {
        call: name,
        status: Box::new(status),
    }
}

/// Where the server is and who we are.
#[derive(Debug, Clone)]
pub struct Connect {
    /// `http://host:port` (a bare `host:port` gets `http://`).
    pub addr: String,
    /// Bearer token sent with every call.
    pub token: Option<String>,
    /// The crawl (URLFrontier crawlID; empty = the default crawl).
    pub crawl: String,
}

impl Connect {
    /// Reads a token file (first non-empty line, trimmed).
    pub fn token_from(path: &Path) -> Result<String, ClientError> {
        let text = std::fs::read_to_string(path).map_err(|e| ClientError::Token {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
        text.lines()
            .map(str::trim)
            .find(|l| !l.is_empty())
            .map(str::to_string)
            .ok_or_else(|| ClientError::Token {
                path: path.to_path_buf(),
                reason: "the file holds no token".into(),
            })
    }

    fn uri(&self) -> String {
        if self.addr.contains("://") {
            self.addr.clone()
        } else {
            format!("http://{}", self.addr)
        }
    }
}

/// A connected client; cheap to clone (one HTTP/2 connection per [`connect`] call).
#[derive(Clone)]
struct Client {
    inner: UrlFrontierClient<InterceptedService<Channel, TokenLayer>>,
}

/// Adds `authorization: Bearer <token>` to every call when a token is set.
#[derive(Clone)]
struct TokenLayer(Option<MetadataValue<tonic::metadata::Ascii>>);

impl tonic::service::Interceptor for TokenLayer {
    fn call(&mut self, mut req: tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> {
        if let Some(v) = &self.0 {
            req.metadata_mut().insert("authorization", v.clone());
        }
        Ok(req)
    }
}

async fn connect(c: &Connect) -> Result<Client, ClientError> {
    let uri = c.uri();
    let endpoint = Channel::from_shared(uri.clone()).map_err(|e| ClientError::Token {
        path: PathBuf::from(&uri),
        reason: format!("not an address: {e}"),
    })?;
    let channel = endpoint
        .connect_timeout(Duration::from_secs(5))
        .connect()
        .await
        .map_err(|source| ClientError::Connect {
            addr: uri.clone(),
            source,
        })?;
    let token = match &c.token {
        Some(t) => Some(
            format!("Bearer {t}")
                .parse()
                .map_err(|_| ClientError::Token {
                    path: PathBuf::from("<token>"),
                    reason: "the token is not printable ASCII".into(),
                })?,
        ),
        None => None,
    };
    Ok(Client {
        inner: UrlFrontierClient::with_interceptor(channel, TokenLayer(token))
            .max_decoding_message_size(64 << 20),
    })
}

fn runtime() -> Result<tokio::runtime::Runtime, ClientError> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .thread_name("meguri-frontier")
        .build()
        .map_err(ClientError::Runtime)
}

/// p50 and p99 of a set of durations, in milliseconds.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq)]
pub struct Latency {
    /// Samples.
    pub samples: u64,
    /// Median, ms.
    pub p50_ms: f64,
    /// 99th percentile, ms.
    pub p99_ms: f64,
}

impl Latency {
    fn of(mut v: Vec<Duration>) -> Latency {
        if v.is_empty() {
            return Latency::default();
        }
        v.sort_unstable();
        let at = |q: f64| {
            let i = ((v.len() as f64 * q).ceil() as usize).clamp(1, v.len()) - 1;
            v[i].as_secs_f64() * 1e3
        };
        Latency {
            samples: v.len() as u64,
            p50_ms: at(0.50),
            p99_ms: at(0.99),
        }
    }
}

impl fmt::Display for Latency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "p50 {:.3} ms, p99 {:.3} ms", self.p50_ms, self.p99_ms)
    }
}

/// Reads URLs from a CDX JSONL file (its `url` members) or a plain list (one URL a line),
/// zstd-compressed or not; at most `limit` (0 = all).
pub fn read_urls(path: &Path, limit: usize) -> Result<Vec<String>, ClientError> {
    let err = |source| ClientError::Input {
        path: path.to_path_buf(),
        source,
    };
    let file = std::fs::File::open(path).map_err(err)?;
    let mut buf = BufReader::with_capacity(1 << 20, file);
    let compressed = buf
        .fill_buf()
        .map_err(err)?
        .starts_with(&[0x28, 0xb5, 0x2f, 0xfd]);
    let reader: Box<dyn Read> = if compressed {
        Box::new(zstd::stream::read::Decoder::with_buffer(buf).map_err(err)?)
    } else {
        Box::new(buf)
    };
    let mut urls = Vec::new();
    for line in BufReader::new(reader).lines() {
        let line = line.map_err(err)?;
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let url = if line.starts_with('{') {
            match crate::seed::parse_line(line) {
                Some(c) if !c.url.is_empty() => c.url.into_owned(),
                _ => continue,
            }
        } else {
            line.to_string()
        };
        urls.push(url);
        if limit != 0 && urls.len() >= limit {
            break;
        }
    }
    Ok(urls)
}

/// How to put.
#[derive(Debug, Clone)]
pub struct PutOptions {
    /// The URLs, in the order to send them (before duplicates are mixed in).
    pub urls: Vec<String>,
    /// Concurrent streams.
    pub streams: usize,
    /// 0: `PutURLs`, one item per URL; n > 0: `PutDiscovered` batches of n URLs.
    pub batch: usize,
    /// Share of the items sent that repeat an earlier URL (0 ≤ d < 1).
    pub duplicates: f64,
}

/// What a put did.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct PutReport {
    /// Items sent (URLs, duplicates included).
    pub sent: u64,
    /// Acknowledged `OK`.
    pub ok: u64,
    /// Acknowledged `SKIPPED` (already known, malformed...).
    pub skipped: u64,
    /// Acknowledged `FAIL`.
    pub failed: u64,
    /// Streams used.
    pub streams: usize,
    /// Batch size (0: `PutURLs`).
    pub batch: usize,
    /// Wall time, seconds.
    pub seconds: f64,
    /// Items acknowledged per second.
    pub per_second: f64,
    /// Item (or batch) to acknowledgement.
    pub latency: Latency,
}

impl fmt::Display for PutReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let how = if self.batch == 0 {
            "PutURLs".to_string()
        } else {
            format!("PutDiscovered batches of {}", self.batch)
        };
        writeln!(
            f,
            "put {} URLs on {} stream(s) ({how}): {} ok, {} skipped, {} failed in {:.2} s \
             ({:.0} URLs/s; ack {})",
            self.sent,
            self.streams,
            self.ok,
            self.skipped,
            self.failed,
            self.seconds,
            self.per_second,
            self.latency
        )
    }
}

/// The items to send: every URL once, with duplicates of earlier ones mixed in so they make
/// `share` of the whole (a fixed pseudo-random choice: the same list every run).
fn with_duplicates(urls: &[String], share: f64) -> Vec<&str> {
    if !(share > 0.0 && share < 1.0) || urls.is_empty() {
        return urls.iter().map(String::as_str).collect();
    }
    let dups = (urls.len() as f64 * share / (1.0 - share)).round() as usize;
    let total = urls.len() + dups;
    let mut out = Vec::with_capacity(total);
    let (mut next, mut state) = (0usize, 0x9e37_79b9_7f4a_7c15u64);
    let mut left_dups = dups;
    while out.len() < total {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let new_left = urls.len() - next;
        let pick_dup = next > 0
            && left_dups > 0
            && (new_left == 0 || (state % (new_left + left_dups) as u64) < left_dups as u64);
        if pick_dup {
            out.push(urls[(state >> 20) as usize % next].as_str());
            left_dups -= 1;
        } else {
            out.push(urls[next].as_str());
            next += 1;
        }
    }
    out
}

fn info(url: &str, crawl: &str) -> UrlInfo {
    UrlInfo {
        url: url.to_string(),
        key: String::new(),
        metadata: HashMap::new(),
        crawl_id: crawl.to_string(),
    }
}

#[derive(Default)]
struct Tally {
    ok: u64,
    skipped: u64,
    failed: u64,
    lat: Vec<Duration>,
}

impl Tally {
    fn count(&mut self, status: i32) {
        match ack_message::Status::try_from(status) {
            Ok(ack_message::Status::Ok) => self.ok += 1,
            Ok(ack_message::Status::Skipped) => self.skipped += 1,
            _ => self.failed += 1,
        }
    }

    fn add(&mut self, o: Tally) {
        self.ok += o.ok;
        self.skipped += o.skipped;
        self.failed += o.failed;
        self.lat.extend(o.lat);
    }
}

/// One `PutURLs` stream: sends `items` as discovered URLs, counts the acknowledgements.
async fn put_stream(
    mut c: Client,
    items: Vec<String>,
    crawl: String,
) -> Result<Tally, ClientError> {
    let (tx, rx) = mpsc::channel::<UrlItem>(1024);
    let sent_at: std::sync::Arc<std::sync::Mutex<HashMap<String, Instant>>> = Default::default();
    let times = sent_at.clone();
    let n = items.len();
    let producer = tokio::spawn(async move {
        for (i, url) in items.into_iter().enumerate() {
            let id = i.to_string();
            if let Ok(mut m) = times.lock() {
                m.insert(id.clone(), Instant::now());
            }
            let item = UrlItem {
                item: Some(url_item::Item::Discovered(DiscoveredUrlItem {
                    info: Some(info(&url, &crawl)),
                })),
                id,
                creation_date: 0,
            };
            if tx.send(item).await.is_err() {
                break;
            }
        }
    });
    let mut acks = c
        .inner
        .put_ur_ls(ReceiverStream::new(rx))
        .await
        .map_err(call("PutURLs"))?
        .into_inner();
    let mut t = Tally::default();
    let mut seen = 0usize;
    while let Some(ack) = acks.next().await {
        let ack = ack.map_err(call("PutURLs"))?;
        if let Some(at) = sent_at.lock().ok().and_then(|mut m| m.remove(&ack.id)) {
            t.lat.push(at.elapsed());
        }
        t.count(ack.status);
        seen += 1;
        if seen == n {
            break;
        }
    }
    let _ = producer.await;
    Ok(t)
}

/// One `PutDiscovered` stream: sends `items` in batches of `batch`.
async fn batch_stream(
    mut c: Client,
    items: Vec<String>,
    crawl: String,
    batch: usize,
) -> Result<Tally, ClientError> {
    let (tx, rx) = mpsc::channel::<DiscoveredBatch>(16);
    let sent_at: std::sync::Arc<std::sync::Mutex<HashMap<String, Instant>>> = Default::default();
    let times = sent_at.clone();
    let batches = items.len().div_ceil(batch);
    let producer = tokio::spawn(async move {
        for (i, chunk) in items.chunks(batch).enumerate() {
            let id = i.to_string();
            if let Ok(mut m) = times.lock() {
                m.insert(id.clone(), Instant::now());
            }
            let b = DiscoveredBatch {
                id,
                items: chunk.iter().map(|u| info(u, &crawl)).collect(),
            };
            if tx.send(b).await.is_err() {
                break;
            }
        }
    });
    let mut acks = c
        .inner
        .put_discovered(ReceiverStream::new(rx))
        .await
        .map_err(call("PutDiscovered"))?
        .into_inner();
    let mut t = Tally::default();
    let mut seen = 0usize;
    while let Some(ack) = acks.next().await {
        let ack = ack.map_err(call("PutDiscovered"))?;
        if let Some(at) = sent_at.lock().ok().and_then(|mut m| m.remove(&ack.id)) {
            t.lat.push(at.elapsed());
        }
        for s in ack.statuses {
            t.count(s);
        }
        seen += 1;
        if seen == batches {
            break;
        }
    }
    let _ = producer.await;
    Ok(t)
}

/// Sends URLs as discovered items; see [`PutOptions`].
pub fn put(c: &Connect, o: &PutOptions) -> Result<PutReport, ClientError> {
    let items = with_duplicates(&o.urls, o.duplicates);
    let streams = o.streams.max(1);
    // Stream i sends items i, i + streams, ...: every stream sees the same mix.
    let mut parts: Vec<Vec<String>> = vec![Vec::new(); streams];
    for (i, u) in items.iter().enumerate() {
        parts[i % streams].push((*u).to_string());
    }
    let sent = items.len() as u64;
    runtime()?.block_on(async {
        let mut jobs = Vec::new();
        let start = Instant::now();
        for part in parts {
            let client = connect(c).await?;
            let crawl = c.crawl.clone();
            let batch = o.batch;
            jobs.push(tokio::spawn(async move {
                if batch == 0 {
                    put_stream(client, part, crawl).await
                } else {
                    batch_stream(client, part, crawl, batch).await
                }
            }));
        }
        let mut total = Tally::default();
        for j in jobs {
            match j.await {
                Ok(r) => total.add(r?),
                Err(e) => {
                    return Err(ClientError::Runtime(std::io::Error::other(e.to_string())));
                }
            }
        }
        let seconds = start.elapsed().as_secs_f64();
        Ok(PutReport {
            sent,
            ok: total.ok,
            skipped: total.skipped,
            failed: total.failed,
            streams,
            batch: o.batch,
            seconds,
            per_second: (total.ok + total.skipped + total.failed) as f64 / seconds.max(1e-9),
            latency: Latency::of(total.lat),
        })
    })
}

/// How to crawl.
#[derive(Debug, Clone)]
pub struct CrawlOptions {
    /// Queues per `GetURLs` call (0: no limit).
    pub max_queues: u32,
    /// URLs per queue per call (0: no limit).
    pub per_queue: u32,
    /// Lease, seconds (0: the server's default).
    pub lease: u32,
    /// Stop after this many URLs were handed out and acknowledged (0: until the frontier
    /// has nothing more to give).
    pub limit: u64,
    /// Acknowledge each URL as due again this many seconds from now (0: completed, never
    /// handed out again).
    pub refetch_after: u64,
    /// Stop after this many calls in a row hand out nothing.
    pub idle_calls: u32,
    /// Concurrent pollers.
    pub pollers: usize,
}

/// What a crawl did.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct CrawlReport {
    /// `GetURLs` calls.
    pub calls: u64,
    /// URLs handed out.
    pub handed_out: u64,
    /// Acknowledgements `OK`.
    pub acked: u64,
    /// Acknowledgements not `OK`.
    pub not_acked: u64,
    /// Distinct queues served.
    pub queues: u64,
    /// Wall time, seconds.
    pub seconds: f64,
    /// URLs handed out and acknowledged per second.
    pub per_second: f64,
    /// One `GetURLs` call, to its stream's end.
    pub get_latency: Latency,
}

impl fmt::Display for CrawlReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "crawled {} URLs from {} queues in {} GetURLs calls, {} acked ({} not) in {:.2} s \
             ({:.0} URLs/s; GetURLs {})",
            self.handed_out,
            self.queues,
            self.calls,
            self.acked,
            self.not_acked,
            self.seconds,
            self.per_second,
            self.get_latency
        )
    }
}

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

struct Poller {
    handed: u64,
    acked: u64,
    not_acked: u64,
    calls: u64,
    queues: std::collections::HashSet<String>,
    lat: Vec<Duration>,
}

async fn poll(
    mut c: Client,
    o: CrawlOptions,
    crawl: String,
    budget: std::sync::Arc<std::sync::atomic::AtomicI64>,
) -> Result<Poller, ClientError> {
    use std::sync::atomic::Ordering;
    let mut p = Poller {
        handed: 0,
        acked: 0,
        not_acked: 0,
        calls: 0,
        queues: Default::default(),
        lat: Vec::new(),
    };
    let mut idle = 0;
    while o.limit == 0 || budget.load(Ordering::Relaxed) > 0 {
        let t = Instant::now();
        let params = GetParams {
            max_urls_per_queue: o.per_queue,
            max_queues: o.max_queues,
            key: String::new(),
            delay_requestable: o.lease,
            item: Some(get_params::Item::CrawlId(crawl.clone())),
        };
        let mut s = c
            .inner
            .get_ur_ls(params)
            .await
            .map_err(call("GetURLs"))?
            .into_inner();
        let mut got = Vec::new();
        while let Some(u) = s.next().await {
            got.push(u.map_err(call("GetURLs"))?);
        }
        p.lat.push(t.elapsed());
        p.calls += 1;
        if got.is_empty() {
            idle += 1;
            if idle >= o.idle_calls {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
            continue;
        }
        idle = 0;
        budget.fetch_sub(got.len() as i64, Ordering::Relaxed);
        p.handed += got.len() as u64;
        let refetch = if o.refetch_after == 0 {
            0
        } else {
            now_secs() + o.refetch_after
        };
        let n = got.len();
        let items: Vec<UrlItem> = got
            .into_iter()
            .map(|u| {
                p.queues.insert(u.key.clone());
                UrlItem {
                    id: u.url.clone(),
                    item: Some(url_item::Item::Known(KnownUrlItem {
                        info: Some(u),
                        refetchable_from_date: refetch,
                    })),
                    creation_date: 0,
                }
            })
            .collect();
        let mut acks = c
            .inner
            .put_ur_ls(tokio_stream::iter(items))
            .await
            .map_err(call("PutURLs"))?
            .into_inner();
        let mut seen = 0;
        while let Some(a) = acks.next().await {
            let a = a.map_err(call("PutURLs"))?;
            if a.status == ack_message::Status::Ok as i32 {
                p.acked += 1;
            } else {
                p.not_acked += 1;
            }
            seen += 1;
            if seen == n {
                break;
            }
        }
    }
    Ok(p)
}

/// Runs the crawler's loop; see [`CrawlOptions`].
pub fn crawl(c: &Connect, o: &CrawlOptions) -> Result<CrawlReport, ClientError> {
    runtime()?.block_on(async {
        let budget = std::sync::Arc::new(std::sync::atomic::AtomicI64::new(o.limit as i64));
        let start = Instant::now();
        let mut jobs = Vec::new();
        for _ in 0..o.pollers.max(1) {
            let client = connect(c).await?;
            jobs.push(tokio::spawn(poll(
                client,
                o.clone(),
                c.crawl.clone(),
                budget.clone(),
            )));
        }
        let mut r = CrawlReport::default();
        let mut queues = std::collections::HashSet::new();
        let mut lat = Vec::new();
        for j in jobs {
            let p = j
                .await
                .map_err(|e| ClientError::Runtime(std::io::Error::other(e.to_string())))??;
            r.calls += p.calls;
            r.handed_out += p.handed;
            r.acked += p.acked;
            r.not_acked += p.not_acked;
            queues.extend(p.queues);
            lat.extend(p.lat);
        }
        r.queues = queues.len() as u64;
        r.seconds = start.elapsed().as_secs_f64();
        r.per_second = r.acked as f64 / r.seconds.max(1e-9);
        r.get_latency = Latency::of(lat);
        Ok(r)
    })
}

/// A crawl's statistics, as `GetStats` gives them.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct StatsReport {
    /// The crawl.
    pub crawl: String,
    /// URLs queued or in process.
    pub size: u64,
    /// URLs leased.
    pub in_process: u64,
    /// Queues.
    pub queues: u64,
    /// The server's named counts (`completed`, `active_queues`...).
    pub counts: std::collections::BTreeMap<String, u64>,
}

impl fmt::Display for StatsReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let crawl = if self.crawl.is_empty() {
            "DEFAULT"
        } else {
            &self.crawl
        };
        write!(
            f,
            "crawl {crawl}: {} URLs queued or in process, {} in process, {} queues",
            self.size, self.in_process, self.queues
        )?;
        for (k, v) in &self.counts {
            write!(f, ", {k} {v}")?;
        }
        writeln!(f)
    }
}

/// `GetStats` of the crawl.
pub fn stats(c: &Connect) -> Result<StatsReport, ClientError> {
    runtime()?.block_on(async {
        let mut client = connect(c).await?;
        let s: pb::Stats = client
            .inner
            .get_stats(QueueWithinCrawlParams {
                key: String::new(),
                crawl_id: c.crawl.clone(),
                local: false,
            })
            .await
            .map_err(call("GetStats"))?
            .into_inner();
        Ok(StatsReport {
            crawl: c.crawl.clone(),
            size: s.size,
            in_process: u64::from(s.in_process),
            queues: s.number_of_queues,
            counts: s.counts.into_iter().collect(),
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicates_make_the_share_asked_and_repeat_only_earlier_urls() {
        let urls: Vec<String> = (0..1000)
            .map(|i| format!("https://h{i}.example/"))
            .collect();
        let items = with_duplicates(&urls, 0.45);
        let dups = items.len() - urls.len();
        assert!((dups as f64 / items.len() as f64 - 0.45).abs() < 0.01);
        let mut seen = std::collections::HashSet::new();
        let mut next = 0;
        for u in &items {
            if !seen.insert(*u) {
                continue;
            }
            // New URLs come in list order: a duplicate is always of one sent before.
            assert_eq!(*u, urls[next]);
            next += 1;
        }
        assert_eq!(next, urls.len());
        assert_eq!(
            with_duplicates(&urls, 0.45),
            items,
            "the same list every run"
        );
        assert_eq!(with_duplicates(&urls, 0.0).len(), urls.len());
    }

    #[test]
    fn percentiles_pick_ranks() {
        let v: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        let l = Latency::of(v);
        assert_eq!((l.samples, l.p50_ms, l.p99_ms), (100, 50.0, 99.0));
        assert_eq!(Latency::of(Vec::new()), Latency::default());
    }
}
