//! Crawls as URLFrontier sees them: namespaces of queues of URLs, each URL with its metadata,
//! its refetch date and its lease; stored in meguri partition directories and dispatched by the
//! engine's frontier. The server (`serve`) speaks gRPC and calls into this; nothing here knows
//! about the network.
//!
//! - [`names`]: crawl ids, queue keys, URL checks and the row keys they give.
//! - [`meta`]: a URL's metadata as one arena entry.

pub mod meta;
pub mod names;
