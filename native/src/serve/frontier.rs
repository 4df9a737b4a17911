//! The URLFrontier service over a [`DataRoot`]: each RPC turned into crawl operations, which
//! run on the blocking pool (they take locks and wait for fsyncs).
//!
//! Errors map to gRPC statuses as upstream's service does: an unknown queue or URL is
//! `NOT_FOUND`, a malformed request `INVALID_ARGUMENT`, a storage failure `INTERNAL`. In a
//! put stream a storage failure is an `AckMessage` `FAIL` (the client may resend), a refused
//! item `SKIPPED` (it should not).

use super::pb::url_frontier_server::UrlFrontier;
use super::pb::{self, ack_message::Status as AckStatus};
use super::{LogControl, Metrics, Shutdown};
use crate::crawl::{
    self, Ack, CrawlError, DataRoot, Filter, GetRequest, Handed, PutItem, UrlState,
};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tokio_stream::StreamExt;
use tonic::codegen::BoxStream;
use tonic::{Request, Response, Status, Streaming};

/// Items of a PutURLs stream processed (and made durable) together at most: what has already
/// arrived when the previous group is done, so one fsync covers them.
const PUT_GROUP: usize = 1024;

/// Acks or URLs queued for a client at most before the service waits for it to read.
const OUT_QUEUE: usize = 1024;

/// The service.
pub struct FrontierService {
    root: Arc<DataRoot>,
    node: String,
    log: LogControl,
    metrics: Arc<Metrics>,
    shutdown: Shutdown,
}

impl FrontierService {
    /// A service over `root`, answering `ListNodes` with `node`.
    pub fn new(
        root: Arc<DataRoot>,
        node: String,
        log: LogControl,
        metrics: Arc<Metrics>,
        shutdown: Shutdown,
    ) -> Self {
        FrontierService {
            root,
            node,
            log,
            metrics,
            shutdown,
        }
    }
}

/// The gRPC status of a crawl error.
pub fn status_of(e: &CrawlError) -> Status {
    match e {
        CrawlError::NoQueue { .. } => Status::not_found(e.to_string()),
        CrawlError::Invalid(_) => Status::invalid_argument(e.to_string()),
        _ => Status::internal(e.to_string()),
    }
}

/// Runs `f` on the blocking pool.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> crawl::Result<T> + Send + 'static,
) -> Result<T, Status> {
    match tokio::task::spawn_blocking(f).await {
        Ok(r) => r.map_err(|e| status_of(&e)),
        Err(e) => Err(Status::internal(format!("the operation failed: {e}"))),
    }
}

fn metadata_in(m: HashMap<String, pb::StringList>) -> crawl::meta::Metadata {
    m.into_iter().map(|(k, v)| (k, v.values)).collect()
}

fn metadata_out(m: crawl::meta::Metadata) -> HashMap<String, pb::StringList> {
    m.into_iter()
        .map(|(k, values)| (k, pb::StringList { values }))
        .collect()
}

fn known_item(crawl: &str, u: UrlState) -> pb::UrlItem {
    pb::UrlItem {
        id: u.url.clone(),
        creation_date: u.created,
        item: Some(pb::url_item::Item::Known(pb::KnownUrlItem {
            info: Some(pb::UrlInfo {
                url: u.url,
                key: u.key,
                metadata: metadata_out(u.metadata),
                crawl_id: crawl.to_string(),
            }),
            refetchable_from_date: u.refetch,
        })),
    }
}

/// One item of a put stream, checked: its crawl, what to put, and the id its ack echoes.
struct Incoming {
    crawl: String,
    item: PutItem,
    id: String,
}

/// A URLItem as a put, or why it is skipped.
fn incoming(u: pb::UrlItem) -> Result<Incoming, (String, String)> {
    let fallback_id = u.id.clone();
    let (info, refetch) = match u.item {
        Some(pb::url_item::Item::Discovered(d)) => (d.info, None),
        Some(pb::url_item::Item::Known(k)) => (k.info, Some(k.refetchable_from_date)),
        None => return Err((fallback_id, "neither discovered nor known".into())),
    };
    let Some(info) = info else {
        return Err((fallback_id, "no URL info".into()));
    };
    let id = if u.id.is_empty() {
        info.url.clone()
    } else {
        u.id
    };
    Ok(Incoming {
        crawl: crawl::names::crawl_id(&info.crawl_id).to_string(),
        item: PutItem {
            url: info.url,
            key: info.key,
            metadata: metadata_in(info.metadata),
            refetch,
            created: u.creation_date,
        },
        id,
    })
}

/// Puts `items` (grouped by crawl, one durable write per crawl); one status per item, in
/// order.
/// [`put_all`] on the blocking pool (the store waits for its fsync there); a task that did not
/// finish answers an error for every item.
async fn put_blocking(
    root: &Arc<DataRoot>,
    work: Vec<(String, PutItem)>,
) -> Vec<Result<Ack, String>> {
    let (root, n) = (root.clone(), work.len());
    match tokio::task::spawn_blocking(move || put_all(&root, &work)).await {
        Ok(r) => r,
        Err(e) => vec![Err(e.to_string()); n],
    }
}

fn put_all(root: &DataRoot, items: &[(String, PutItem)]) -> Vec<Result<Ack, String>> {
    let now = root.now();
    let mut out: Vec<Option<Result<Ack, String>>> = vec![None; items.len()];
    let mut by_crawl: Vec<(&str, Vec<usize>)> = Vec::new();
    for (i, (c, _)) in items.iter().enumerate() {
        match by_crawl.iter_mut().find(|(id, _)| id == c) {
            Some((_, v)) => v.push(i),
            None => by_crawl.push((c, vec![i])),
        }
    }
    for (id, idx) in by_crawl {
        let group = idx.iter().map(|&i| &items[i].1);
        let r = root.crawl_or_create(id).and_then(|c| c.put(group, now));
        match r {
            Ok(acks) => {
                for (&i, a) in idx.iter().zip(acks) {
                    out[i] = Some(Ok(a));
                }
            }
            Err(e) => {
                tracing::error!("put: {e}");
                for &i in &idx {
                    out[i] = Some(Err(e.to_string()));
                }
            }
        }
    }
    out.into_iter()
        .map(|o| o.unwrap_or_else(|| Err("not processed".into())))
        .collect()
}

/// The wire status of an outcome.
fn wire(r: &Result<Ack, String>) -> AckStatus {
    match r {
        Ok(Ack::Ok) => AckStatus::Ok,
        Ok(Ack::Skipped(_)) => AckStatus::Skipped,
        Err(_) => AckStatus::Fail,
    }
}

/// Waits for the next message of `inbound`, then takes those already arrived, up to `max`.
/// `None` when the stream ended (or failed: the error is returned with what came before).
async fn next_group<T>(inbound: &mut Streaming<T>, max: usize) -> Option<(Vec<T>, Option<Status>)> {
    let first = match inbound.next().await? {
        Ok(m) => m,
        Err(s) => return Some((Vec::new(), Some(s))),
    };
    let mut v = vec![first];
    while v.len() < max {
        // A zero timeout polls once: whatever is already buffered, without waiting.
        match tokio::time::timeout(Duration::ZERO, inbound.next()).await {
            Ok(Some(Ok(m))) => v.push(m),
            Ok(Some(Err(s))) => return Some((v, Some(s))),
            Ok(None) | Err(_) => break,
        }
    }
    Some((v, None))
}

#[tonic::async_trait]
impl UrlFrontier for FrontierService {
    async fn list_nodes(&self, _: Request<pb::Empty>) -> Result<Response<pb::StringList>, Status> {
        Ok(Response::new(pb::StringList {
            values: vec![self.node.clone()],
        }))
    }

    async fn list_crawls(&self, _: Request<pb::Local>) -> Result<Response<pb::StringList>, Status> {
        let root = self.root.clone();
        let values = blocking(move || Ok(root.list_crawls())).await?;
        Ok(Response::new(pb::StringList { values }))
    }

    async fn delete_crawl(
        &self,
        req: Request<pb::DeleteCrawlMessage>,
    ) -> Result<Response<pb::Long>, Status> {
        let root = self.root.clone();
        let id = req.into_inner().value;
        let value = blocking(move || root.delete_crawl(&id)).await?;
        Ok(Response::new(pb::Long { value }))
    }

    async fn list_queues(
        &self,
        req: Request<pb::Pagination>,
    ) -> Result<Response<pb::QueueList>, Status> {
        let p = req.into_inner();
        let root = self.root.clone();
        let crawl_id = crawl::names::crawl_id(&p.crawl_id).to_string();
        let id = crawl_id.clone();
        let (values, total) = blocking(move || match root.crawl(&id) {
            Some(c) => c.list_queues(
                p.start as usize,
                p.size as usize,
                p.include_inactive,
                root.now(),
            ),
            None => Ok((Vec::new(), 0)),
        })
        .await?;
        Ok(Response::new(pb::QueueList {
            size: values.len() as u32,
            values,
            total: total as u64,
            start: p.start,
            crawl_id,
        }))
    }

    async fn get_ur_ls(
        &self,
        req: Request<pb::GetParams>,
    ) -> Result<Response<BoxStream<pb::UrlInfo>>, Status> {
        let p = req.into_inner();
        let root = self.root.clone();
        let crawl = match p.item {
            Some(pb::get_params::Item::CrawlId(c)) => Some(c),
            Some(pb::get_params::Item::AnyCrawlId(_)) | None => None,
        };
        let key = (!p.key.is_empty()).then_some(p.key);
        let handed: Vec<(String, Handed)> =
            if !root.settings().active || (key.is_some() && crawl.is_none()) {
                // Inactive: nothing. A key without a crawl names no queue (upstream: nothing).
                Vec::new()
            } else {
                blocking(move || {
                    let now = root.now();
                    let crawls = match &crawl {
                        Some(id) => root.crawl(id).into_iter().collect(),
                        None => root.crawls_rotated(),
                    };
                    let mut out = Vec::new();
                    let mut left = p.max_queues as usize;
                    for c in crawls {
                        let req = GetRequest {
                            max_queues: left,
                            max_per_queue: p.max_urls_per_queue,
                            lease_ms: u64::from(p.delay_requestable) * 1000,
                            key: key.as_deref(),
                        };
                        let (h, served) = c.get_urls(&req, now)?;
                        out.extend(h.into_iter().map(|h| (c.id().to_string(), h)));
                        if p.max_queues != 0 {
                            left = left.saturating_sub(served);
                            if left == 0 {
                                break;
                            }
                        }
                    }
                    Ok(out)
                })
                .await?
            };
        self.metrics
            .frontier
            .get_urls_total
            .inc_by(handed.len() as u64);
        let infos = handed.into_iter().map(|(crawl_id, h)| {
            Ok(pb::UrlInfo {
                url: h.url,
                key: h.key,
                metadata: metadata_out(h.metadata),
                crawl_id,
            })
        });
        Ok(Response::new(Box::pin(tokio_stream::iter(infos))))
    }

    async fn put_ur_ls(
        &self,
        req: Request<Streaming<pb::UrlItem>>,
    ) -> Result<Response<BoxStream<pb::AckMessage>>, Status> {
        let mut inbound = req.into_inner();
        let (tx, rx) = mpsc::channel(OUT_QUEUE);
        let root = self.root.clone();
        let metrics = self.metrics.clone();
        let shutdown = self.shutdown.clone();
        tokio::spawn(async move {
            loop {
                let group = tokio::select! {
                    _ = tx.closed() => return,
                    _ = shutdown.cancelled() => return,
                    g = next_group(&mut inbound, PUT_GROUP) => g,
                };
                let Some((msgs, err)) = group else { return };
                let f = &metrics.frontier;
                f.put_urls_total.inc_by(msgs.len() as u64);
                let mut acks: Vec<Option<pb::AckMessage>> = Vec::with_capacity(msgs.len());
                let mut work = Vec::new();
                let mut ids = Vec::new();
                let mut discovered = Vec::new();
                for m in msgs {
                    match incoming(m) {
                        Ok(inc) => {
                            if inc.item.refetch.is_none() {
                                f.put_urls_discovered.inc();
                            } else if inc.item.refetch == Some(0) {
                                f.put_urls_completed.inc();
                            }
                            discovered.push(inc.item.refetch.is_none());
                            ids.push((acks.len(), inc.id));
                            work.push((inc.crawl, inc.item));
                            acks.push(None);
                        }
                        Err((id, why)) => {
                            tracing::debug!("PutURLs: {id:?} skipped: {why}");
                            acks.push(Some(pb::AckMessage {
                                id,
                                status: AckStatus::Skipped as i32,
                            }));
                        }
                    }
                }
                if !work.is_empty() {
                    let results = put_blocking(&root, work).await;
                    for (((slot, id), r), disc) in ids.into_iter().zip(results).zip(discovered) {
                        if disc && matches!(r, Ok(Ack::Skipped(_))) {
                            f.put_urls_ignored.inc();
                        }
                        acks[slot] = Some(pb::AckMessage {
                            id,
                            status: wire(&r) as i32,
                        });
                    }
                }
                for a in acks.into_iter().flatten() {
                    if tx.send(Ok(a)).await.is_err() {
                        return;
                    }
                }
                if let Some(s) = err {
                    let _ = tx.send(Err(s)).await;
                    return;
                }
            }
        });
        Ok(Response::new(Box::pin(ReceiverStream::new(rx))))
    }

    async fn put_discovered(
        &self,
        req: Request<Streaming<pb::DiscoveredBatch>>,
    ) -> Result<Response<BoxStream<pb::BatchAck>>, Status> {
        let mut inbound = req.into_inner();
        let (tx, rx) = mpsc::channel(16);
        let root = self.root.clone();
        let metrics = self.metrics.clone();
        let shutdown = self.shutdown.clone();
        tokio::spawn(async move {
            loop {
                let group = tokio::select! {
                    _ = tx.closed() => return,
                    _ = shutdown.cancelled() => return,
                    g = next_group(&mut inbound, 16) => g,
                };
                let Some((batches, err)) = group else { return };
                let f = &metrics.frontier;
                // Every batch of the group in one write; acks split back per batch.
                let mut work = Vec::new();
                let mut sizes = Vec::with_capacity(batches.len());
                let mut ids = Vec::with_capacity(batches.len());
                for b in batches {
                    sizes.push(b.items.len());
                    ids.push(b.id);
                    for info in b.items {
                        work.push((
                            crawl::names::crawl_id(&info.crawl_id).to_string(),
                            PutItem {
                                url: info.url,
                                key: info.key,
                                metadata: metadata_in(info.metadata),
                                refetch: None,
                                created: 0,
                            },
                        ));
                    }
                }
                f.put_urls_total.inc_by(work.len() as u64);
                f.put_urls_discovered.inc_by(work.len() as u64);
                let results = put_blocking(&root, work).await;
                let mut it = results.into_iter();
                for (id, size) in ids.into_iter().zip(sizes) {
                    let statuses: Vec<i32> = it
                        .by_ref()
                        .take(size)
                        .map(|r| {
                            if matches!(r, Ok(Ack::Skipped(_))) {
                                f.put_urls_ignored.inc();
                            }
                            wire(&r) as i32
                        })
                        .collect();
                    if tx.send(Ok(pb::BatchAck { id, statuses })).await.is_err() {
                        return;
                    }
                }
                if let Some(s) = err {
                    let _ = tx.send(Err(s)).await;
                    return;
                }
            }
        });
        Ok(Response::new(Box::pin(ReceiverStream::new(rx))))
    }

    async fn get_stats(
        &self,
        req: Request<pb::QueueWithinCrawlParams>,
    ) -> Result<Response<pb::Stats>, Status> {
        let p = req.into_inner();
        let root = self.root.clone();
        let crawl_id = crawl::names::crawl_id(&p.crawl_id).to_string();
        let id = crawl_id.clone();
        let s = blocking(move || match root.crawl(&id) {
            Some(c) => c.stats((!p.key.is_empty()).then_some(p.key.as_str()), root.now()),
            None => Ok(crawl::CrawlStats::default()),
        })
        .await?;
        let counts = HashMap::from([
            ("completed".to_string(), s.completed),
            ("active_queues".to_string(), s.active_queues),
        ]);
        Ok(Response::new(pb::Stats {
            size: s.size,
            in_process: u32::try_from(s.in_process).unwrap_or(u32::MAX),
            counts,
            number_of_queues: s.queues,
            crawl_id,
        }))
    }

    async fn delete_queue(
        &self,
        req: Request<pb::QueueWithinCrawlParams>,
    ) -> Result<Response<pb::Long>, Status> {
        let p = req.into_inner();
        if p.key.is_empty() {
            return Err(Status::invalid_argument("DeleteQueue needs a queue key"));
        }
        let root = self.root.clone();
        let value = blocking(move || match root.crawl(&p.crawl_id) {
            Some(c) => c.delete_queue(&p.key),
            None => Ok(0),
        })
        .await?;
        Ok(Response::new(pb::Long { value }))
    }

    async fn block_queue_until(
        &self,
        req: Request<pb::BlockQueueParams>,
    ) -> Result<Response<pb::Empty>, Status> {
        let p = req.into_inner();
        if p.key.is_empty() {
            return Err(Status::invalid_argument(
                "BlockQueueUntil needs a queue key",
            ));
        }
        let root = self.root.clone();
        blocking(move || root.crawl_or_create(&p.crawl_id)?.block(&p.key, p.time)).await?;
        Ok(Response::new(pb::Empty {}))
    }

    async fn set_active(&self, req: Request<pb::Active>) -> Result<Response<pb::Empty>, Status> {
        let state = req.into_inner().state;
        let root = self.root.clone();
        blocking(move || root.set_active(state)).await?;
        Ok(Response::new(pb::Empty {}))
    }

    async fn get_active(&self, _: Request<pb::Local>) -> Result<Response<pb::Boolean>, Status> {
        Ok(Response::new(pb::Boolean {
            state: self.root.settings().active,
        }))
    }

    async fn set_delay(
        &self,
        req: Request<pb::QueueDelayParams>,
    ) -> Result<Response<pb::Empty>, Status> {
        let p = req.into_inner();
        let root = self.root.clone();
        let ms = u64::from(p.delay_requestable) * 1000;
        blocking(move || {
            if p.key.is_empty() {
                root.set_default_delay(ms)
            } else {
                root.crawl_or_create(&p.crawl_id)?.set_delay(&p.key, ms)
            }
        })
        .await?;
        Ok(Response::new(pb::Empty {}))
    }

    async fn set_log_level(
        &self,
        req: Request<pb::LogLevelParams>,
    ) -> Result<Response<pb::Empty>, Status> {
        self.log.apply(req.get_ref())?;
        Ok(Response::new(pb::Empty {}))
    }

    async fn set_crawl_limit(
        &self,
        req: Request<pb::CrawlLimitParams>,
    ) -> Result<Response<pb::Empty>, Status> {
        let p = req.into_inner();
        let root = self.root.clone();
        blocking(move || match root.crawl(&p.crawl_id) {
            Some(c) => c.set_limit(&p.key, p.limit),
            None => Err(CrawlError::NoQueue {
                crawl: crawl::names::crawl_id(&p.crawl_id).to_string(),
                key: p.key,
            }),
        })
        .await?;
        Ok(Response::new(pb::Empty {}))
    }

    async fn get_url_status(
        &self,
        req: Request<pb::UrlStatusRequest>,
    ) -> Result<Response<pb::UrlItem>, Status> {
        let p = req.into_inner();
        let root = self.root.clone();
        let crawl_id = crawl::names::crawl_id(&p.crawl_id).to_string();
        let id = crawl_id.clone();
        let url = p.url.clone();
        let found = blocking(move || match root.crawl(&id) {
            Some(c) => c.url_status(&p.url, &p.key),
            None => {
                // Still refuse a malformed URL as such.
                crawl::names::queue_key(&p.url, &p.key)
                    .map_err(|e| CrawlError::Invalid(e.to_string()))?;
                Ok(None)
            }
        })
        .await?;
        match found {
            Some(u) => Ok(Response::new(known_item(&crawl_id, u))),
            None => Err(Status::not_found(format!(
                "crawl {crawl_id} has no URL {url}"
            ))),
        }
    }

    async fn list_ur_ls(
        &self,
        req: Request<pb::ListUrlParams>,
    ) -> Result<Response<BoxStream<pb::UrlItem>>, Status> {
        let p = req.into_inner();
        let (tx, rx) = mpsc::channel(OUT_QUEUE);
        let Some(c) = self.root.crawl(&p.crawl_id) else {
            return Ok(Response::new(Box::pin(tokio_stream::empty())));
        };
        let crawl_id = c.id().to_string();
        let filter = p
            .filter
            .as_deref()
            .map(|f| Filter::new(f, p.ignore_case.unwrap_or(false)));
        let size = if p.size == 0 {
            crawl::DEFAULT_PAGE
        } else {
            p.size as usize
        };
        let start = p.start as usize;
        tokio::task::spawn_blocking(move || {
            let key = (!p.key.is_empty()).then_some(p.key.as_str());
            let (mut skipped, mut sent) = (0, 0);
            let r = c.scan(key, filter.as_ref(), |u| {
                if skipped < start {
                    skipped += 1;
                    return true;
                }
                sent += 1;
                // A client that went away ends the scan.
                tx.blocking_send(Ok(known_item(&crawl_id, u))).is_ok() && sent < size
            });
            if let Err(e) = r {
                let _ = tx.blocking_send(Err(status_of(&e)));
            }
        });
        Ok(Response::new(Box::pin(ReceiverStream::new(rx))))
    }

    async fn count_ur_ls(
        &self,
        req: Request<pb::CountUrlParams>,
    ) -> Result<Response<pb::Long>, Status> {
        let p = req.into_inner();
        let root = self.root.clone();
        let value = blocking(move || match root.crawl(&p.crawl_id) {
            Some(c) => {
                let filter = p
                    .filter
                    .as_deref()
                    .map(|f| Filter::new(f, p.ignore_case.unwrap_or(false)));
                c.count(
                    (!p.key.is_empty()).then_some(p.key.as_str()),
                    filter.as_ref(),
                )
            }
            None => Ok(0),
        })
        .await?;
        Ok(Response::new(pb::Long { value }))
    }

    async fn purge_ur_ls(
        &self,
        req: Request<pb::PurgeUrlParams>,
    ) -> Result<Response<pb::Long>, Status> {
        let p = req.into_inner();
        let root = self.root.clone();
        let value = blocking(move || match root.crawl(&p.crawl_id) {
            Some(c) => {
                let now = root.now();
                let before = (now / 1000).saturating_sub(u64::from(p.days) * 86_400);
                c.purge((!p.key.is_empty()).then_some(p.key.as_str()), before, now)
            }
            None => Ok(0),
        })
        .await?;
        Ok(Response::new(pb::Long { value }))
    }
}
