//! Files and a partition directory made by our own writer and store, so the corruption sweep,
//! the round trips and `verify` run on every checkout, with or without `../shared`.
//!
//! Every fixture is a pure function of its parameters (no clock, no randomness beyond a fixed
//! xorshift seed), so two runs give the same bytes and a failure names a file that can be
//! rebuilt exactly. Between them they hold every feature of the format a reader has to get
//! right: columns of one page and of many, codec none and zstd, the schedule wheel with rows in
//! every tier, both seen-set filters, key-value metadata, empty tables, extension columns and
//! arena strings of every reference column. [`FEATURE_FILES`] names them; [`store_dir`] writes
//! a directory with a superblock, a snapshot and a log of every frame kind.

use meguri_core::bytes::put_uvarint;
use meguri_core::format::codec::{CZstd, Compressor, Uncompressed};
use meguri_core::keys::UrlKey;
use meguri_core::manifest::{Entry, Manifest};
use meguri_core::partition::Partition;
use meguri_core::reader::Reader;
use meguri_core::records::{HostRecord, UrlRecord};
use meguri_core::seenset::{BloomBuilder, RibbonBuilder};
use meguri_core::write::{encode, WriteOptions};
use std::path::{Path, PathBuf};

/// The hour every generated file is created at and its schedule counts from.
pub const BASE_HOUR: u32 = 480_000;

/// A deterministic stream of numbers (xorshift64).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn intern(arena: &mut Vec<u8>, s: &[u8]) -> u64 {
    let at = arena.len() as u64;
    put_uvarint(arena, s.len() as u64);
    arena.extend_from_slice(s);
    at
}

/// What a generated partition holds, beyond its size.
#[derive(Debug, Clone, Copy, Default)]
pub struct Shape {
    /// Write the schedule wheel (rows are due across every tier either way).
    pub schedule: bool,
    /// Seen-set filter over every URL key.
    pub filter: Filter,
    /// Extension columns set on some rows of both tables.
    pub ext: bool,
    /// Key-value metadata pairs.
    pub meta: bool,
}

/// Which seen-set filter a generated partition carries.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Filter {
    /// No seen-set region.
    #[default]
    None,
    /// A blocked Bloom filter (kind 0).
    Bloom,
    /// A ribbon filter (kind 1) of 7-bit fingerprints.
    Ribbon,
}

/// A partition of `hosts` hosts (1 to 6 URLs each; `hosts` 0 gives empty tables) in which every
/// column of both tables takes many values, every arena reference column points at a string
/// on some rows and is 0 on others, and `next_due` spreads over every tier of the wheel (near,
/// mid, far, overflow) with a quarter of the rows unscheduled.
pub fn partition(id: u32, hosts: u64, shape: Shape) -> Partition {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ u64::from(id) ^ (hosts << 20));
    let (lo, hi) = (0x0100_0000_0000_0000u64, 0xF0FF_FFFF_FFFF_FFFFu64);
    let step = (hi - lo) / (hosts + 1);
    let mut p = Partition {
        id,
        hostkey_lo: lo,
        hostkey_hi: hi,
        created_hours: BASE_HOUR,
        arena: vec![0],
        schedule: shape.schedule,
        ..Default::default()
    };
    if shape.meta {
        p.meta = vec![
            (b"generator".to_vec(), b"meguri-tests fixtures".to_vec()),
            (b"origin".to_vec(), format!("partition {id}").into_bytes()),
        ];
    }
    for h in 0..hosts {
        let host_key = lo + step * (h + 1) + rng.below(step / 2);
        let name = format!("h{h}.fixture{}.example", h % 7);
        let host_ref = intern(&mut p.arena, name.as_bytes());
        let n = 1 + rng.below(6);
        let mut host = HostRecord {
            host_key,
            host_ref,
            grouping: (h % 3) as u8,
            registrable_ref: if h % 4 == 0 {
                intern(&mut p.arena, format!("fixture{}.example", h % 7).as_bytes())
            } else {
                0
            },
            resolved_ip: [(h % 251) as u8; 16],
            ip_expiry: BASE_HOUR + rng.below(500) as u32,
            robots_fetched: BASE_HOUR - 10,
            robots_expiry: BASE_HOUR + 100,
            robots_ref: if h % 5 == 0 {
                intern(&mut p.arena, b"User-agent: *\nDisallow: /private\n")
            } else {
                0
            },
            crawl_delay: (10 * (h % 4)) as u16,
            host_next_eligible: rng.below(1 << 20) as u32,
            ip_next_eligible: (h % 2) as u32 * 77,
            url_budget: 100 + (h % 9) as u32,
            url_count: n as u32,
            depth_cap: 8,
            host_score: 0.125 * (h % 17) as f32,
            crawl_total: rng.below(1000) as u32,
            error_total: (h % 5) as u32,
            avg_latency: rng.below(2000) as u16,
            flags: (h % 16) as u16,
            ..HostRecord::default()
        };
        if shape.ext && h % 3 == 1 {
            host.queue_delay = 1 + 250 * (h % 4) as u32;
            host.blocked_until = if h % 2 == 0 { 1_795_000_000 } else { 0 };
            host.last_handout = 1_795_000_000_000 + h;
        }
        p.hosts.push(host);
        let mut path = 0u64;
        for k in 0..n {
            path += 1 + rng.below(1 << 40);
            let i = p.urls.len() as u64;
            let url = format!("https://{name}/p/{k}?q={}", rng.below(1000));
            // Due offsets from the base: near (hours), mid (days), far (months), overflow.
            let next_due = match rng.below(8) {
                0 | 1 => 0,
                2 | 3 => BASE_HOUR + rng.below(168) as u32,
                4 | 5 => BASE_HOUR + 168 + rng.below(2160) as u32,
                6 => BASE_HOUR + 2328 + rng.below(17_280) as u32,
                _ => BASE_HOUR + 19_608 + rng.below(100_000) as u32,
            };
            let mut u = UrlRecord {
                key: UrlKey {
                    host: host_key,
                    path,
                },
                status: (i % 9) as u8,
                priority: 1.0 / (1 + i % 50) as f32,
                depth: (i % 7) as u16,
                discovery_source: (i % 5) as u8,
                url_ref: intern(&mut p.arena, url.as_bytes()),
                first_seen: BASE_HOUR - 500 + (i % 400) as u32,
                last_crawled: if i.is_multiple_of(4) {
                    0
                } else {
                    BASE_HOUR - 3
                },
                last_changed: BASE_HOUR - 40,
                next_due,
                lambda: 0.5 + (i % 3) as f32,
                crawl_count: (i % 11) as u32,
                change_count: (i % 3) as u32,
                no_change_streak: (i % 6) as u16,
                etag_ref: if i.is_multiple_of(5) {
                    intern(&mut p.arena, format!("\"etag-{i}\"").as_bytes())
                } else {
                    0
                },
                last_modified: if i.is_multiple_of(2) {
                    1_790_000_000
                } else {
                    0
                },
                content_fp: rng.next(),
                simhash: rng.next() >> (i % 64),
                http_status: [200, 301, 404, 503, 0][(i % 5) as usize],
                redirect_ref: if i % 10 == 3 {
                    intern(&mut p.arena, b"https://elsewhere.example/")
                } else {
                    0
                },
                retry_count: (i % 3) as u8,
                error_count: (i % 2) as u16,
                ..UrlRecord::default()
            };
            if shape.ext && i.is_multiple_of(3) {
                u.refetch_at = 1_795_240_232 + i as u32;
                u.created_at = 1_790_000_000;
                u.lease_until = if i.is_multiple_of(2) {
                    1_795_250_000
                } else {
                    0
                };
                u.meta_ref = if i.is_multiple_of(6) {
                    intern(&mut p.arena, format!("k\x00v{i}").as_bytes())
                } else {
                    0
                };
            }
            p.urls.push(u);
        }
    }
    let keys = p.urls.iter().map(|u| u.key);
    p.seen_filter = match shape.filter {
        Filter::None => Vec::new(),
        Filter::Bloom => {
            let mut b = BloomBuilder::new(p.urls.len() as u64);
            keys.for_each(|k| b.insert(k));
            b.finish()
        }
        Filter::Ribbon => {
            let mut b = RibbonBuilder::new(7).expect("r in range");
            keys.for_each(|k| b.insert(k));
            b.finish()
        }
    };
    p
}

/// A generated file: its name, what it covers, the partition it holds and its bytes.
#[derive(Debug, Clone)]
pub struct Fixture {
    /// A short name (used in failure messages and as the file name).
    pub name: &'static str,
    /// The partition the bytes encode.
    pub partition: Partition,
    /// Rows a page the file was written with.
    pub page_rows: usize,
    /// Whether pages were compressed with zstd (else stored as they are).
    pub zstd: bool,
    /// The file.
    pub bytes: Vec<u8>,
}

impl Fixture {
    fn new(name: &'static str, partition: Partition, page_rows: usize, zstd: bool) -> Fixture {
        let opts = WriteOptions {
            page_rows,
            ..WriteOptions::default()
        };
        let bytes = encode(&partition, &opts, &*compressor(zstd)).expect("a fixture encodes");
        Fixture {
            name,
            partition,
            page_rows,
            zstd,
            bytes,
        }
    }

    /// Writes the file into `dir` (as `<name>.meguri`) and returns its path.
    pub fn write_to(&self, dir: &Path) -> PathBuf {
        let path = dir.join(format!("{}.meguri", self.name));
        std::fs::write(&path, &self.bytes).expect("write a fixture");
        path
    }
}

/// The compressor fixtures use: zstd at level 3 (the C library; deterministic for a given
/// version) or none.
pub fn compressor(zstd: bool) -> Box<dyn Compressor> {
    if zstd {
        Box::new(CZstd::new(3))
    } else {
        Box::new(Uncompressed)
    }
}

/// Names of [`feature_files`], in order, with what each covers.
pub const FEATURE_FILES: [(&str, &str); 6] = [
    (
        "mp1-none",
        "codec none, one row a page (every column many pages), wheel, metadata",
    ),
    (
        "wheel-bloom-ext-zstd",
        "zstd, 64 rows a page, wheel in every tier, Bloom filter, metadata, extension columns",
    ),
    (
        "ribbon-mp100-zstd",
        "zstd, 100 rows a page, ribbon filter, no wheel, no metadata",
    ),
    (
        "ext-none-mp64",
        "codec none, 64 rows a page, extension columns, wheel, Bloom filter",
    ),
    (
        "empty-zstd-meta",
        "empty tables, zstd default codec, metadata",
    ),
    ("empty-none", "empty tables, codec none, nothing else"),
];

/// Files covering every feature of the format (see [`FEATURE_FILES`]), built once per process.
pub fn feature_files() -> &'static [Fixture] {
    static FILES: std::sync::OnceLock<Vec<Fixture>> = std::sync::OnceLock::new();
    FILES.get_or_init(|| {
        let all = Shape {
            schedule: true,
            filter: Filter::Bloom,
            ext: true,
            meta: true,
        };
        let files = vec![
            Fixture::new(
                "mp1-none",
                partition(
                    11,
                    6,
                    Shape {
                        schedule: true,
                        meta: true,
                        ..Shape::default()
                    },
                ),
                1,
                false,
            ),
            Fixture::new("wheel-bloom-ext-zstd", partition(12, 120, all), 64, true),
            Fixture::new(
                "ribbon-mp100-zstd",
                partition(
                    13,
                    300,
                    Shape {
                        filter: Filter::Ribbon,
                        ..Shape::default()
                    },
                ),
                100,
                true,
            ),
            Fixture::new(
                "ext-none-mp64",
                partition(14, 60, Shape { meta: false, ..all }),
                64,
                false,
            ),
            Fixture::new(
                "empty-zstd-meta",
                partition(
                    15,
                    0,
                    Shape {
                        meta: true,
                        ..Shape::default()
                    },
                ),
                16_384,
                true,
            ),
            Fixture::new(
                "empty-none",
                partition(16, 0, Shape::default()),
                16_384,
                false,
            ),
        ];
        assert_eq!(
            files.iter().map(|f| f.name).collect::<Vec<_>>(),
            FEATURE_FILES.map(|(n, _)| n)
        );
        files
    })
}

/// One of [`feature_files`] by name.
pub fn feature_file(name: &str) -> &'static Fixture {
    feature_files()
        .iter()
        .find(|f| f.name == name)
        .unwrap_or_else(|| panic!("no fixture {name}"))
}

/// Three files tiling the whole key space (ids 1 to 3, cut at `1 << 62` and `1 << 63`, 20
/// hosts each; see [`crate::small_partition`]) as `(part-N.meguri, bytes)`, and their manifest
/// (epoch 4).
pub fn parts_and_manifest() -> (Vec<(String, Vec<u8>)>, Vec<u8>) {
    let cuts = [0u64, 1 << 62, 1 << 63];
    let mut m = Manifest::default();
    let mut parts = Vec::new();
    for (i, &lo) in cuts.iter().enumerate() {
        let hi = cuts.get(i + 1).map_or(u64::MAX, |c| c - 1);
        let p = crate::small_partition(i as u32 + 1, lo, hi, 20);
        let opts = WriteOptions {
            page_rows: 64,
            ..WriteOptions::default()
        };
        let bytes = encode(&p, &opts, &*compressor(true)).expect("a part encodes");
        let name = format!("part-{}.meguri", i + 1);
        let r = Reader::open(&bytes[..]).expect("a part opens");
        m.entries
            .push(Entry::of_file(r.shape(), name.clone().into_bytes(), 4));
        parts.push((name, bytes));
    }
    (parts, m.encode())
}

/// [`parts_and_manifest`] written into `dir` (the manifest as `meguri.manifest`); returns the
/// manifest's path.
pub fn parts_with_manifest(dir: &Path) -> PathBuf {
    let (parts, manifest) = parts_and_manifest();
    for (name, bytes) in parts {
        std::fs::write(dir.join(name), bytes).expect("write a part");
    }
    let path = dir.join("meguri.manifest");
    std::fs::write(&path, manifest).expect("write the manifest");
    path
}

/// What [`store_dir`] wrote: the live rows the directory must give back, as a partition in our
/// writer's arena layout (compare with [`crate::values_of`], which resolves the strings).
#[derive(Debug, Clone)]
pub struct StoreFixture {
    /// The directory.
    pub dir: PathBuf,
    /// Every live row after the log is replayed, sorted.
    pub live: Partition,
    /// URL rows the snapshot holds (before the log).
    pub snapshot_urls: usize,
    /// Frames the log holds, by kind: URL puts, URL deletes, host puts, extension frames.
    pub frames: [usize; 4],
}

/// Writes a partition directory at `dir` with the native store: a superblock, a snapshot of
/// 60 hosts' rows (extension columns on some) made by a checkpoint, and a log after it with
/// every frame kind: URL puts (new rows and changed ones), URL deletes, host puts and
/// extension frames. Deterministic: the same bytes on every run.
pub fn store_dir(dir: &Path) -> StoreFixture {
    use meguri::store::{Durability, Options, Store};
    use meguri_core::arena::Arena;
    use meguri_core::schema::Record;
    let mut live = partition(
        21,
        60,
        Shape {
            schedule: true,
            ext: true,
            ..Shape::default()
        },
    );
    let src = live.arena.clone();
    let st = Store::open(
        dir,
        Options {
            durability: Durability::Full,
            partition_id: live.id,
            created_hours: BASE_HOUR,
            ..Options::default()
        },
    )
    .expect("open a new store");
    // Rows carry references into `src`; the store gets its own strings.
    // Calls its argument with the function that re-interns one reference.
    type MapRefs<'a> = dyn FnMut(&mut dyn FnMut(u64) -> u64) + 'a;
    let restring = |st: &Store, refs: &mut MapRefs<'_>| {
        refs(&mut |r| {
            if r == 0 {
                return 0;
            }
            st.intern(Arena(&src).get(r).expect("a fixture string"))
                .expect("intern")
        })
    };
    let put_url = |st: &Store, u: &UrlRecord| {
        let mut u = *u;
        restring(st, &mut |f| u.map_arena_refs(f));
        st.put_url(u).expect("put a URL");
    };
    let put_host = |st: &Store, h: &HostRecord| {
        let mut h = *h;
        restring(st, &mut |f| h.map_arena_refs(f));
        st.put_host(h).expect("put a host");
    };
    // Half the rows before the checkpoint (in the snapshot), half after (in the log).
    let half = live.urls.len() / 2;
    live.hosts.iter().for_each(|h| put_host(&st, h));
    live.urls[..half].iter().for_each(|u| put_url(&st, u));
    st.checkpoint().expect("checkpoint");
    let mut frames = [0usize; 4];
    for u in &live.urls[half..] {
        put_url(&st, u);
        frames[0] += 1;
        frames[3] += usize::from(u.has_ext());
    }
    // Changes to snapshot rows: a new status on every 5th, every 7th deleted.
    let mut deleted = Vec::new();
    for (i, u) in live.urls[..half].iter_mut().enumerate() {
        if i % 7 == 3 {
            st.delete_url(u.key)
                .expect("delete")
                .expect("the row was live");
            deleted.push(u.key);
            frames[1] += 1;
        } else if i.is_multiple_of(5) {
            u.status = (u.status + 1) % 9;
            u.crawl_count += 1;
            put_url(&st, u);
            frames[0] += 1;
            frames[3] += usize::from(u.has_ext());
        }
    }
    for h in live.hosts.iter_mut().step_by(9) {
        h.crawl_total += 1;
        put_host(&st, h);
        frames[2] += 1;
    }
    st.close().expect("close the store");
    live.urls.retain(|u| !deleted.contains(&u.key));
    StoreFixture {
        dir: dir.to_path_buf(),
        live,
        snapshot_urls: half,
        frames,
    }
}
