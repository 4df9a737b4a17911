//! The JSON shapes of the views only the inspector has (layout, pages, page checks, rows,
//! find, schedule, progress). Everything several front ends show (summary, columns, verify,
//! tiling, route) is one of the core's reports (`meguri_core::report`), serialized as is; these
//! follow the same conventions: 64-bit keys as `"0x%016x"` strings ([`Hex`]), counts and byte
//! offsets as numbers, errors as the core's `Error` (`{kind, place, offset, message, text}`).

use meguri_core::error::Error;
use meguri_core::inspect::{ColumnLine, Summary};
use meguri_core::report::Hex;
use serde::Serialize;

/// Serializes a view (the views are plain data; serializing cannot fail).
pub fn to_json<T: Serialize + ?Sized>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
}

/// `summary()`: the core's summary and column lines, the columns' text, and the read counters.
#[derive(Serialize)]
pub struct SummaryOut<'a> {
    /// `meguri inspect`'s facts and text (`text` is `inspect` without `--columns`).
    pub summary: &'a Summary,
    /// `inspect --columns`' lines.
    pub columns: &'a [ColumnLine],
    /// The text `--columns` adds after the summary's.
    pub columns_text: String,
    /// Bytes read from the file so far.
    pub bytes_read: u64,
    /// Reads so far.
    pub reads: u64,
}

/// A zone map: the smallest and largest value, as decimal strings (a u64 may not fit a JS
/// number; the page shows key columns in hex).
#[derive(Serialize)]
pub struct Zone {
    /// Smallest value.
    pub min: String,
    /// Largest value.
    pub max: String,
}

impl Zone {
    /// The zone `(min, max)`, if any.
    pub fn of(z: Option<(u64, u64)>) -> Option<Zone> {
        z.map(|(a, b)| Zone {
            min: a.to_string(),
            max: b.to_string(),
        })
    }
}

/// A region of the layout.
#[derive(Serialize)]
pub struct LayoutRegion {
    /// Region id.
    pub id: u8,
    /// Its name.
    pub name: String,
    /// Absolute offset.
    pub offset: u64,
    /// Bytes.
    pub length: u64,
    /// The directory's CRC32C, `0x%08x`.
    pub crc: String,
}

/// A column of the layout: the core's column line plus where its pages are.
#[derive(Serialize)]
pub struct LayoutColumn<'a> {
    /// Table, id, name, width, pages, bytes, raw bytes, encodings.
    #[serde(flatten)]
    pub line: &'a ColumnLine,
    /// First page's offset.
    pub offset: Option<u64>,
    /// Values.
    pub rows: Option<u64>,
    /// The directory's codec.
    pub codec: Option<String>,
    /// Column CRC32C, `0x%08x`.
    pub crc: Option<String>,
    /// The column's zone map.
    pub zone: Option<Zone>,
}

/// `layout()`: where the bytes go.
#[derive(Serialize)]
pub struct Layout<'a> {
    /// File length.
    pub file_len: u64,
    /// 64.
    pub header_len: u64,
    /// Footer offset.
    pub footer_start: u64,
    /// Footer bytes.
    pub footer_len: u64,
    /// 12.
    pub trailer_len: u64,
    /// URL rows (header).
    pub urls: u64,
    /// Host rows (header).
    pub hosts: u64,
    /// Regions in directory order.
    pub regions: Vec<LayoutRegion>,
    /// Columns in directory order.
    pub columns: Vec<LayoutColumn<'a>>,
}

/// One page of a column, from the directory.
#[derive(Serialize)]
pub struct PageOut {
    /// Page index.
    pub page: u32,
    /// Absolute offset.
    pub offset: u64,
    /// On-disk bytes (header and payload).
    pub bytes: u64,
    /// First row.
    pub first_row: u64,
    /// Rows.
    pub rows: u64,
    /// Encoding name.
    pub encoding: String,
    /// Zone map.
    pub zone: Option<Zone>,
}

/// The payload CRC check of one page.
#[derive(Serialize)]
pub struct PageCheck<'a> {
    /// Page index.
    pub page: u32,
    /// Absolute offset.
    pub offset: u64,
    /// Whether the CRC matched.
    pub ok: bool,
    /// What is wrong, when not ok.
    pub error: Option<&'a Error>,
}

/// A URL row as the rows view shows it.
#[derive(Serialize)]
pub struct UrlRowOut {
    /// Row number.
    pub row: u64,
    /// Host key.
    pub host_key: Hex,
    /// Path key.
    pub path_key: Hex,
    /// Status name.
    pub status: String,
    /// Priority.
    pub priority: f32,
    /// Depth.
    pub depth: u16,
    /// Discovery source name.
    pub source: String,
    /// Arena offset of the URL.
    pub url_ref: u64,
    /// Epoch-hours.
    pub first_seen: u32,
    /// Epoch-hours.
    pub last_crawled: u32,
    /// Epoch-hours.
    pub last_changed: u32,
    /// Epoch-hours (0: not scheduled).
    pub next_due: u32,
    /// Change rate.
    pub lambda: f32,
    /// Crawls.
    pub crawl_count: u32,
    /// Changes.
    pub change_count: u32,
    /// Last HTTP status.
    pub http_status: u16,
    /// Errors.
    pub error_count: u16,
    /// The URL string: `null` when not asked for or not decoded yet (see `arena`).
    pub url: Option<String>,
}

/// A host row as the host rows view shows it.
#[derive(Serialize)]
pub struct HostRowOut {
    /// Row number.
    pub row: u64,
    /// Host key.
    pub host_key: Hex,
    /// Arena offset of the host name.
    pub host_ref: u64,
    /// The host name: `null` when not asked for or not decoded yet.
    pub host: Option<String>,
    /// `"registrable"` or `"host"`.
    pub grouping: &'static str,
    /// Arena offset of the registrable domain.
    pub registrable_ref: u64,
    /// The resolved IP as text (`null` when all zero).
    pub ip: Option<String>,
    /// Epoch-hours.
    pub ip_expiry: u32,
    /// Epoch-hours.
    pub robots_fetched: u32,
    /// Epoch-hours.
    pub robots_expiry: u32,
    /// Deciseconds.
    pub crawl_delay: u16,
    /// Epoch-seconds.
    pub host_next_eligible: u32,
    /// URL budget.
    pub url_budget: u32,
    /// URLs known.
    pub url_count: u32,
    /// Depth cap.
    pub depth_cap: u16,
    /// Score.
    pub host_score: f32,
    /// Crawls.
    pub crawl_total: u32,
    /// Errors.
    pub error_total: u32,
    /// Milliseconds.
    pub avg_latency: u16,
    /// Flag names joined by `|` (empty for none).
    pub flags: String,
}

/// Where the streamed arena stands (see `crate::arena`).
#[derive(Serialize, Clone, Copy, Default)]
pub struct ArenaState {
    /// Decoded arena bytes so far in the current pass.
    pub decoded: u64,
    /// The arena's decoded length (the page's declared size).
    pub total: u64,
    /// Compressed bytes read in the current pass.
    pub read: u64,
    /// Compressed bytes of the arena page's payload.
    pub compressed: u64,
    /// String references still waiting for the decoder.
    pub pending: usize,
    /// Whether a pending reference lies behind the decoder, so the next pass starts again from
    /// the start of the arena.
    pub restart: bool,
    /// Whether the stream reached the end of the frame in this pass.
    pub finished: bool,
    /// Passes started so far (1 + restarts).
    pub passes: u32,
    /// Bytes of decoded arena held now (window and cached strings).
    pub held: u64,
}

/// `url_rows` / `host_rows`.
#[derive(Serialize)]
pub struct RowsOut<T: Serialize> {
    /// `"url"` or `"host"`.
    pub table: &'static str,
    /// Rows in the table.
    pub total: u64,
    /// First row returned.
    pub from: u64,
    /// The rows.
    pub rows: Vec<T>,
    /// The arena stream's state after this call (`null` when strings were not asked for).
    pub arena: Option<ArenaState>,
}

/// `find`: where a host key (or a URL, or a host name) lies in a table.
#[derive(Serialize)]
pub struct FindOut {
    /// `"url"` or `"host"`.
    pub table: &'static str,
    /// The host key searched.
    pub host_key: Hex,
    /// The URL's path key, for a URL query.
    pub path_key: Option<Hex>,
    /// The host name the key was computed from, for a URL or host-name query.
    pub host: Option<String>,
    /// First row with the host key.
    pub first_row: Option<u64>,
    /// Rows with the host key.
    pub count: u64,
    /// The URL's row, for a URL query that matched.
    pub row: Option<u64>,
}

/// `keys_of`.
#[derive(Serialize)]
pub struct KeysOut<'a> {
    /// Host key.
    pub host_key: Hex,
    /// Path key (URL queries).
    pub path_key: Option<Hex>,
    /// The host the key was computed from (URL and host-name queries).
    pub host: Option<&'a str>,
}

/// `schedule()`.
#[derive(Serialize)]
pub struct ScheduleOut {
    /// Base hour.
    pub base: u32,
    /// Rows covered.
    pub covered: u32,
    /// Scheduled rows.
    pub scheduled: u64,
    /// Due rows per bucket.
    pub counts: Vec<u32>,
    /// First hour offset of each bucket.
    pub starts: Vec<u64>,
}
