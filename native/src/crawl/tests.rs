//! Crawls and data roots on real temporary directories, with a clock the test moves.

use super::*;
use crate::engine::frontier::Millis;
use crate::store::Durability;
use meguri_tests::Scratch;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// 2026-12-01 00:00:00 UTC, in ms.
const T0: Millis = 1_795_996_800_000;
const S: Millis = 1000;

struct Fixture {
    scratch: Scratch,
    clock: Arc<AtomicU64>,
}

impl Fixture {
    fn new(tag: &str) -> Self {
        Fixture {
            scratch: Scratch::new(tag),
            clock: Arc::new(AtomicU64::new(T0)),
        }
    }

    fn open(&self) -> DataRoot {
        let c = self.clock.clone();
        let opts = RootOptions {
            durability: Durability::Full,
            clock: Arc::new(move || c.load(Ordering::SeqCst)),
            ..RootOptions::default()
        };
        DataRoot::open(&self.scratch.0, opts).unwrap().0
    }

    fn advance(&self, ms: Millis) {
        self.clock.fetch_add(ms, Ordering::SeqCst);
    }

    fn now(&self) -> Millis {
        self.clock.load(Ordering::SeqCst)
    }
}

fn discovered(url: &str) -> PutItem {
    PutItem {
        url: url.into(),
        ..PutItem::default()
    }
}

fn known(url: &str, refetch: u64) -> PutItem {
    PutItem {
        url: url.into(),
        refetch: Some(refetch),
        ..PutItem::default()
    }
}

fn get(max_queues: usize, max_per_queue: u32, key: Option<&str>) -> GetRequest<'_> {
    GetRequest {
        max_queues,
        max_per_queue,
        lease_ms: 10 * S,
        key,
    }
}

fn urls(h: &[Handed]) -> Vec<&str> {
    h.iter().map(|h| h.url.as_str()).collect()
}

#[test]
fn discovered_then_known_then_completed() {
    let fx = Fixture::new("crawl-basic");
    let root = fx.open();
    let c = root.crawl_or_create("").unwrap();
    assert_eq!(c.id(), "DEFAULT");
    let acks = c
        .put(
            &[
                discovered("http://a.com/1"),
                discovered("http://a.com/1"),
                discovered("not a url"),
                PutItem {
                    key: "k".repeat(256),
                    ..discovered("http://a.com/2")
                },
                known("http://b.com/x", u64::MAX),
            ],
            fx.now(),
        )
        .unwrap();
    assert_eq!(acks[0], Ack::Ok);
    for (i, a) in acks.iter().enumerate().skip(1) {
        assert!(matches!(a, Ack::Skipped(_)), "{i}: {a:?}");
    }
    // Stored already: skipped again, in a later batch too.
    assert!(matches!(
        c.put(&[discovered("http://a.com/1")], fx.now()).unwrap()[0],
        Ack::Skipped(_)
    ));
    let s = c.stats(None, fx.now()).unwrap();
    assert_eq!((s.size, s.queues, s.active_queues), (1, 1, 1));

    let (h, served) = c.get_urls(&get(0, 0, None), fx.now()).unwrap();
    assert_eq!((urls(&h), served), (vec!["http://a.com/1"], 1));
    assert_eq!(h[0].key, "a.com");
    assert_eq!(c.stats(Some("a.com"), fx.now()).unwrap().in_process, 1);
    // Known with 0: completed, its lease ended, never handed out again.
    c.put(&[known("http://a.com/1", 0)], fx.now()).unwrap();
    let s = c.stats(None, fx.now()).unwrap();
    assert_eq!((s.size, s.in_process, s.completed), (0, 0, 1));
    assert_eq!(s.active_queues, 0);
    fx.advance(100 * S);
    assert!(c.get_urls(&get(0, 0, None), fx.now()).unwrap().0.is_empty());
    let st = c.url_status("http://a.com/1", "").unwrap().unwrap();
    assert_eq!((st.refetch, st.key.as_str()), (0, "a.com"));
    assert!(c.url_status("http://a.com/nope", "").unwrap().is_none());
    assert!(c.url_status("nope", "").is_err());
}

#[test]
fn queues_serve_in_refetch_order_with_politeness_and_leases() {
    let fx = Fixture::new("crawl-order");
    let root = fx.open();
    let c = root.crawl_or_create("BESPOKE").unwrap();
    let now_s = fx.now() / 1000;
    c.put(
        &[
            known("http://q.com/later", now_s),
            known("http://q.com/sooner", now_s - 10_000),
            known("http://q.com/future", now_s + 3600),
        ],
        fx.now(),
    )
    .unwrap();
    let (h, _) = c.get_urls(&get(0, 1, Some("q.com")), fx.now()).unwrap();
    assert_eq!(urls(&h), ["http://q.com/sooner"]);
    // One in flight and max 1 per queue: nothing.
    fx.advance(2 * S);
    assert!(c.get_urls(&get(0, 1, None), fx.now()).unwrap().0.is_empty());
    // Allowed two, one second delay passed: the next one.
    let (h, _) = c.get_urls(&get(0, 2, None), fx.now()).unwrap();
    assert_eq!(urls(&h), ["http://q.com/later"]);
    // Within the delay: nothing even with room.
    fx.advance(S / 2);
    assert!(c.get_urls(&get(0, 0, None), fx.now()).unwrap().0.is_empty());
    // Leases end after 10 s: both come back, in order.
    fx.advance(10 * S);
    let (h, _) = c.get_urls(&get(0, 0, None), fx.now()).unwrap();
    assert_eq!(urls(&h), ["http://q.com/sooner", "http://q.com/later"]);
    // An unknown key gives nothing.
    assert!(c
        .get_urls(&get(0, 0, Some("other.com")), fx.now())
        .unwrap()
        .0
        .is_empty());
}

#[test]
fn gates_block_limit_delay_and_deletes_count() {
    let fx = Fixture::new("crawl-gates");
    let root = fx.open();
    let c = root.crawl_or_create("x").unwrap();
    let items: Vec<PutItem> = (0..5)
        .map(|i| discovered(&format!("http://g.org/{i}")))
        .collect();
    c.put(&items, fx.now()).unwrap();
    c.block("g.org", fx.now() / 1000 + 60).unwrap();
    assert!(c.get_urls(&get(0, 0, None), fx.now()).unwrap().0.is_empty());
    assert_eq!(c.stats(None, fx.now()).unwrap().active_queues, 0);
    assert!(c.list_queues(0, 0, false, fx.now()).unwrap().0.is_empty());
    assert_eq!(c.list_queues(0, 0, true, fx.now()).unwrap().0, ["g.org"]);
    fx.advance(60 * S);
    c.set_delay("g.org", 5 * S).unwrap();
    let (h, _) = c.get_urls(&get(0, 1, None), fx.now()).unwrap();
    assert_eq!(h.len(), 1);
    c.put(&[known(&h[0].url, 0)], fx.now()).unwrap();
    c.set_limit("g.org", 1).unwrap();
    fx.advance(10 * S);
    assert!(
        c.get_urls(&get(0, 0, None), fx.now()).unwrap().0.is_empty(),
        "limit reached"
    );
    c.set_limit("g.org", 0).unwrap();
    assert_eq!(c.get_urls(&get(0, 2, None), fx.now()).unwrap().0.len(), 2);
    fx.advance(4 * S);
    assert!(
        c.get_urls(&get(0, 0, None), fx.now()).unwrap().0.is_empty(),
        "5 s delay since the last hand-out"
    );
    fx.advance(S);
    assert_eq!(c.get_urls(&get(0, 0, None), fx.now()).unwrap().0.len(), 2);
    assert!(matches!(
        c.set_limit("nope.org", 3),
        Err(CrawlError::NoQueue { .. })
    ));
    assert_eq!(c.count(None, None).unwrap(), 5);
    let f = Filter::new("G.ORG/3", true);
    assert_eq!(c.count(Some("g.org"), Some(&f)).unwrap(), 1);
    assert_eq!(
        c.count(None, Some(&Filter::new("G.ORG", false))).unwrap(),
        0
    );
    assert_eq!(c.delete_queue("g.org").unwrap(), 5);
    assert_eq!(c.delete_queue("g.org").unwrap(), 0);
    assert_eq!(c.stats(None, fx.now()).unwrap(), CrawlStats::default());
    assert!(root.list_crawls().is_empty());
}

#[test]
fn crawls_are_namespaces_and_listed_while_they_have_queues() {
    let fx = Fixture::new("crawl-ids");
    let root = fx.open();
    assert!(root.list_crawls().is_empty());
    for id in ["BESPOKE", "", "DEFAULT"] {
        root.crawl_or_create(id)
            .unwrap()
            .put(&[discovered("http://same.net/")], fx.now())
            .unwrap();
    }
    assert_eq!(root.list_crawls(), ["BESPOKE", "DEFAULT"]);
    assert_eq!(
        root.crawl("").unwrap().stats(None, fx.now()).unwrap().size,
        1
    );
    assert_eq!(root.delete_crawl("BESPOKE").unwrap(), 1);
    assert_eq!(root.list_crawls(), ["DEFAULT"]);
    assert_eq!(root.delete_crawl("never").unwrap(), 0);
    assert!(root.crawl("never").is_none(), "a delete creates nothing");
    assert!(fx
        .scratch
        .join("crawls/BESPOKE/p-0000000000000000")
        .is_dir());
}

#[test]
fn list_and_purge_by_creation_date() {
    let fx = Fixture::new("crawl-purge");
    let root = fx.open();
    let c = root.crawl_or_create("").unwrap();
    let now_s = fx.now() / 1000;
    let mut old = discovered("http://p.io/old");
    old.created = now_s - 10 * 86_400;
    let mut meta = meta::Metadata::new();
    meta.insert("source".into(), vec!["seed".into()]);
    let new = PutItem {
        metadata: meta.clone(),
        ..discovered("http://p.io/new")
    };
    c.put(&[old, new, known("http://p.io/done", 0)], fx.now())
        .unwrap();
    let mut seen = Vec::new();
    c.scan(None, None, |u| {
        seen.push(u);
        true
    })
    .unwrap();
    assert_eq!(seen.len(), 3);
    let n = seen.iter().find(|u| u.url.ends_with("/new")).unwrap();
    assert_eq!((n.metadata.clone(), n.refetch), (meta, now_s));
    assert_eq!(c.purge(None, now_s - 5 * 86_400, fx.now()).unwrap(), 1);
    assert_eq!(c.count(None, None).unwrap(), 2);
    assert_eq!(c.stats(None, fx.now()).unwrap().size, 1);
}

/// What the store persists today (URL rows, host rows' reference columns) survives a close
/// and reopen: URLs, completed ones, queue names, crawl limits, delays, politeness, and the
/// node settings.
#[test]
fn reopen_keeps_rows_queues_and_node_settings() {
    let fx = Fixture::new("crawl-reopen");
    {
        let root = fx.open();
        let c = root.crawl_or_create("BESPOKE").unwrap();
        c.put(
            &[
                discovered("http://r.org/a"),
                discovered("http://r.org/b"),
                known("http://r.org/c", 0),
                PutItem {
                    key: "mykey".into(),
                    ..discovered("http://s.org/x")
                },
            ],
            fx.now(),
        )
        .unwrap();
        c.set_limit("r.org", 7).unwrap();
        c.set_delay("r.org", 3 * S).unwrap();
        let (h, _) = c.get_urls(&get(0, 1, Some("r.org")), fx.now()).unwrap();
        assert_eq!(h.len(), 1);
        root.set_active(false).unwrap();
        root.set_default_delay(2 * S).unwrap();
        assert!(root.close().is_empty());
    }
    fx.advance(S);
    let root = fx.open();
    assert_eq!(
        root.settings(),
        NodeSettings {
            active: false,
            default_delay: 2 * S
        }
    );
    let c = root.crawl("BESPOKE").unwrap();
    assert_eq!(c.count(None, None).unwrap(), 4);
    let s = c.stats(None, fx.now()).unwrap();
    assert_eq!((s.queues, s.completed), (2, 1));
    assert_eq!(
        c.list_queues(0, 0, true, fx.now()).unwrap().0,
        ["mykey", "r.org"]
    );
    let g = c.gate("r.org").unwrap().unwrap();
    assert_eq!((g.limit, g.delay), (Some(7), Some(3 * S)));
    // The hand-out before the restart still counts: r.org waits its 3 s.
    let served = |c: &Crawl, now| {
        c.get_urls(&get(0, 0, Some("r.org")), now)
            .unwrap()
            .0
            .into_iter()
            .filter(|h| h.key == "r.org")
            .count()
    };
    assert_eq!(served(&c, fx.now()), 0);
    fx.advance(2 * S);
    assert!(served(&c, fx.now()) >= 1);
    assert_eq!(
        c.url_status("http://s.org/x", "mykey")
            .unwrap()
            .unwrap()
            .key,
        "mykey"
    );
}

/// Everything, the extension columns included: exact refetch dates, creation dates,
/// metadata, blocks, delays and leases.
#[test]
fn reopen_keeps_dates_metadata_blocks_and_leases() {
    let fx = Fixture::new("crawl-reopen-ext");
    let now_s = fx.now() / 1000;
    let mut meta = meta::Metadata::new();
    meta.insert("depth".into(), vec!["1".into(), "2".into()]);
    {
        let root = fx.open();
        let c = root.crawl_or_create("").unwrap();
        c.put(
            &[
                PutItem {
                    metadata: meta.clone(),
                    ..known("http://e.org/later", now_s + 1234)
                },
                discovered("http://e.org/now"),
                discovered("http://f.org/now"),
            ],
            fx.now(),
        )
        .unwrap();
        c.block("f.org", now_s + 500).unwrap();
        c.set_delay("e.org", 0).unwrap();
        let (h, _) = c.get_urls(&get(0, 0, None), fx.now()).unwrap();
        assert_eq!(urls(&h), ["http://e.org/now"]);
        assert!(root.close().is_empty());
    }
    let root = fx.open();
    let c = root.crawl("").unwrap();
    let st = c.url_status("http://e.org/later", "").unwrap().unwrap();
    assert_eq!((st.refetch, &st.metadata), (now_s + 1234, &meta));
    assert_eq!(c.stats(None, fx.now()).unwrap().in_process, 1, "the lease");
    let g = c.gate("f.org").unwrap().unwrap();
    assert_eq!(g.blocked_until, (now_s + 500) * 1000);
    assert_eq!(c.gate("e.org").unwrap().unwrap().delay, Some(0));
    // Leased for 10 s: not before.
    fx.advance(9 * S);
    assert!(c.get_urls(&get(0, 0, None), fx.now()).unwrap().0.is_empty());
    fx.advance(2 * S);
    let (h, _) = c.get_urls(&get(0, 0, None), fx.now()).unwrap();
    assert_eq!(urls(&h), ["http://e.org/now"]);
    // Through a checkpoint (the snapshot's extension columns) as well as the log.
    c.checkpoint().unwrap();
    drop(c);
    assert!(root.close().is_empty());
    let root = fx.open();
    let c = root.crawl("").unwrap();
    let st = c.url_status("http://e.org/later", "").unwrap().unwrap();
    assert_eq!((st.refetch, st.metadata), (now_s + 1234, meta));
    assert_eq!(
        c.stats(None, fx.now()).unwrap().in_process,
        1,
        "leased again"
    );
    assert_eq!(
        c.gate("f.org").unwrap().unwrap().blocked_until,
        (now_s + 500) * 1000
    );
}

#[test]
fn a_partition_directory_is_served_as_default() {
    let fx = Fixture::new("crawl-single");
    {
        let s = crate::store::Store::open(&fx.scratch.0, crate::store::Options::default()).unwrap();
        s.checkpoint().unwrap();
        s.close().unwrap();
    }
    let root = fx.open();
    let c = root.crawl_or_create("").unwrap();
    c.put(&[discovered("http://d.org/")], fx.now()).unwrap();
    root.crawl_or_create("other").unwrap();
    assert_eq!(root.crawl_dir("DEFAULT"), fx.scratch.0);
    drop(c);
    assert!(root.close().is_empty());
    let root = fx.open();
    assert_eq!(root.crawl("").unwrap().count(None, None).unwrap(), 1);
    assert!(root.crawl("other").is_some());
}
