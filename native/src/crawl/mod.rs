//! Crawls as URLFrontier sees them: namespaces of queues of URLs, each URL with its metadata,
//! its refetch date and its lease; stored in meguri partition directories and dispatched by the
//! engine's frontier. The server (`serve`) speaks gRPC and calls into this; nothing here knows
//! about the network.
//!
//! - [`names`]: crawl ids, queue keys, URL checks and the row keys they give.
//! - [`meta`]: a URL's metadata as one arena entry.
//! - [`Crawl`] (`state.rs`): one crawl: its store, frontier and queue table, and every
//!   URLFrontier operation on it.
//! - [`DataRoot`] (`root.rs`): the served directory: crawls by id, created on first use, and
//!   the node's settings.
//! - [`handouts`]: the hand-out log, the audit trail of every crawl's politeness.

pub mod handouts;
pub mod meta;
pub mod names;
mod root;
mod state;

pub use handouts::HandoutLog;
pub use root::{
    escape, system_clock, unescape, Clock, DataRoot, NodeSettings, RootOptions, CRAWLS,
    DEFAULT_DELAY_MS, NODE_FILE, PARTITION,
};
pub use state::{
    Ack, Crawl, CrawlError, CrawlStats, Filter, GetRequest, Handed, OpenReport, PutItem, Result,
    UrlState, DEFAULT_LEASE_MS, DEFAULT_PAGE,
};

#[cfg(test)]
mod tests;
