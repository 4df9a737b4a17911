//! What the unit tests build their files from: a partition whose every column varies, our own
//! writer, a compressor that writes real (stored-block) zstd frames without a zstd library,
//! and a way to rewrite a written file's footer to break one rule at a time.

use crate::bytes::put_uvarint;
use crate::format::codec::{Compressor, Uncompressed, CODEC_ZSTD};
use crate::format::footer::{
    encode_meta, encode_regions, encode_section, Footer, TAG_HOST_COLUMNS, TAG_META, TAG_REGIONS,
    TAG_STATS, TAG_URL_COLUMNS,
};
use crate::format::header::{Header, Trailer};
use crate::format::zstd_frame::FRAME_MAGIC;
use crate::format::HEADER_LEN;
use crate::keys::UrlKey;
use crate::partition::Partition;
use crate::records::{HostRecord, UrlRecord};
use crate::write::{encode, WriteOptions};
use alloc::vec::Vec;

/// Appends one arena entry; returns its reference.
fn intern(arena: &mut Vec<u8>, s: &[u8]) -> u64 {
    let at = arena.len() as u64;
    put_uvarint(arena, s.len() as u64);
    arena.extend_from_slice(s);
    at
}

/// A partition of `hosts` hosts with `per_host` URLs each, host keys `1000, 2000, ...` in a
/// range of `[500, u64::MAX / 2]`. Every column takes several values; a third of the URLs are
/// unscheduled (`next_due` 0) and the rest are due at hours spread over `10_000..12_000`.
pub(crate) fn partition(hosts: u64, per_host: u64) -> Partition {
    let mut arena = alloc::vec![0u8];
    let mut host_rows = Vec::new();
    let mut urls = Vec::new();
    for h in 0..hosts {
        let host_key = 1000 * (h + 1);
        let name = alloc::format!("host{h}.example");
        let host_ref = intern(&mut arena, name.as_bytes());
        host_rows.push(HostRecord {
            host_key,
            host_ref,
            grouping: (h % 2) as u8,
            registrable_ref: if h % 3 == 0 { host_ref } else { 0 },
            resolved_ip: [h as u8; 16],
            ip_expiry: 500 + h as u32,
            robots_fetched: 400,
            robots_expiry: 900,
            robots_ref: 0,
            crawl_delay: 10 * (h % 4) as u16,
            host_next_eligible: 7 * h as u32,
            ip_next_eligible: 0,
            url_budget: 100,
            url_count: per_host as u32,
            depth_cap: 8,
            host_score: 0.25 * h as f32,
            crawl_total: 3 * h as u32,
            error_total: h as u32 % 5,
            avg_latency: 120,
            flags: (h % 16) as u16,
            ..Default::default()
        });
        for p in 0..per_host {
            let n = h * per_host + p;
            let url = alloc::format!("https://{name}/page/{p}");
            urls.push(UrlRecord {
                key: UrlKey {
                    host: host_key,
                    path: 17 * (p + 1),
                },
                status: (n % 9) as u8,
                priority: 1.0 / (n + 1) as f32,
                depth: (n % 7) as u16,
                discovery_source: (n % 5) as u8,
                url_ref: intern(&mut arena, url.as_bytes()),
                first_seen: 9_000 + n as u32,
                last_crawled: if n.is_multiple_of(4) {
                    0
                } else {
                    9_500 + n as u32
                },
                last_changed: 9_400,
                next_due: if n.is_multiple_of(3) {
                    0
                } else {
                    10_000 + (n * 37 % 2_000) as u32
                },
                lambda: 0.5,
                crawl_count: n as u32 % 11,
                change_count: n as u32 % 3,
                no_change_streak: (n % 6) as u16,
                etag_ref: if n.is_multiple_of(5) {
                    intern(&mut arena, b"\"etag\"")
                } else {
                    0
                },
                last_modified: 0,
                content_fp: n.wrapping_mul(0x9e37_79b9_7f4a_7c15),
                simhash: n << 7,
                http_status: [200, 301, 404][n as usize % 3],
                redirect_ref: 0,
                retry_count: (n % 3) as u8,
                error_count: (n % 2) as u16,
                ..Default::default()
            });
        }
    }
    Partition {
        id: 7,
        hostkey_lo: 500,
        hostkey_hi: u64::MAX / 2,
        created_hours: 480_000,
        urls,
        hosts: host_rows,
        arena,
        meta: alloc::vec![(b"writer".to_vec(), b"unit test".to_vec())],
        schedule: true,
        seen_filter: Vec::new(),
    }
}

/// `p` written with `page_rows` rows a page, payloads stored as they are.
pub(crate) fn file(p: &Partition, page_rows: usize) -> Vec<u8> {
    let opts = WriteOptions {
        page_rows,
        ..WriteOptions::default()
    };
    encode(p, &opts, &Uncompressed).expect("the test partition encodes")
}

/// A zstd frame holding `content` in stored (raw) blocks: the real format, which every zstd
/// decoder reads, made without a compressor. With `fcs`, the frame is single-segment and
/// declares its content size; with `checksum`, it ends with the content checksum.
pub(crate) fn raw_frame(content: &[u8], fcs: bool, checksum: bool) -> Vec<u8> {
    const BLOCK: usize = 128 << 10;
    let mut f = Vec::from(FRAME_MAGIC);
    let n = content.len();
    let mut d = if checksum { 0x04 } else { 0 };
    if fcs {
        // Single segment, with the smallest content-size field that holds `n`.
        d |= 0x20;
        d |= match n {
            0..=255 => 0,
            256..=65_791 => 0x40,
            _ => 0x80,
        };
        f.push(d);
        match n {
            0..=255 => f.push(n as u8),
            256..=65_791 => f.extend_from_slice(&((n - 256) as u16).to_le_bytes()),
            _ => f.extend_from_slice(&(n as u32).to_le_bytes()),
        }
    } else {
        f.push(d);
        // A 128 KiB window, the largest block.
        f.push((17 - 10) << 3);
    }
    let mut blocks = content.chunks(BLOCK).peekable();
    if blocks.peek().is_none() {
        f.extend_from_slice(&1u32.to_le_bytes()[..3]);
    }
    while let Some(b) = blocks.next() {
        let last = u32::from(blocks.peek().is_none());
        let bh = ((b.len() as u32) << 3) | last;
        f.extend_from_slice(&bh.to_le_bytes()[..3]);
        f.extend_from_slice(b);
    }
    if checksum {
        let sum = twox_hash::XxHash64::oneshot(0, content) as u32;
        f.extend_from_slice(&sum.to_le_bytes());
    }
    f
}

/// Writes every payload as a stored-block zstd frame with content size and checksum, so tests
/// read real codec-2 pages without a zstd library.
pub(crate) struct StoredZstd;

impl Compressor for StoredZstd {
    fn codec(&self) -> u8 {
        CODEC_ZSTD
    }
    fn compress(&self, input: &[u8], out: &mut Vec<u8>) -> u8 {
        if !input.is_empty() {
            out.extend_from_slice(&raw_frame(input, true, true));
        }
        CODEC_ZSTD
    }
    fn min_output(&self, len: usize) -> usize {
        len
    }
}

/// The parsed footer of one of our files.
pub(crate) fn footer_of(file: &[u8]) -> Footer {
    let h = Header::read(file[..HEADER_LEN].try_into().expect("a header"));
    let start = h.footer_offset as usize;
    let end = file.len() - crate::format::TRAILER_LEN;
    Footer::parse(&file[start..end], start as u64).expect("our footer parses")
}

/// `file` with its footer re-encoded after `change`: the sections the writer writes, from the
/// parsed footer, then a new trailer. The footer starts where it did, so the header stays
/// valid; directory entries keep their own bytes, only their list changes.
pub(crate) fn with_footer(file: &[u8], change: impl FnOnce(&mut Footer)) -> Vec<u8> {
    let mut f = footer_of(file);
    let start = f.sections.first().map_or(file.len(), |s| s.offset as usize);
    change(&mut f);
    let mut footer = Vec::new();
    let mut body = Vec::new();
    encode_regions(&mut body, &f.regions);
    encode_section(&mut footer, TAG_REGIONS, &body);
    for (tag, dirs) in [
        (TAG_URL_COLUMNS, &f.url_columns),
        (TAG_HOST_COLUMNS, &f.host_columns),
    ] {
        body.clear();
        put_uvarint(&mut body, dirs.len() as u64);
        for d in dirs.iter() {
            d.encode(&mut body);
        }
        encode_section(&mut footer, tag, &body);
    }
    if let Some(st) = f.stats {
        body.clear();
        st.encode(&mut body);
        encode_section(&mut footer, TAG_STATS, &body);
    }
    if let Some(meta) = &f.meta {
        body.clear();
        encode_meta(&mut body, meta);
        encode_section(&mut footer, TAG_META, &body);
    }
    Trailer::of_footer(&footer).encode(&mut footer);
    let mut out = file[..start].to_vec();
    out.extend_from_slice(&footer);
    out
}
