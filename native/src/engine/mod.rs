//! The crawl engine: what decides which URL is fetched next, and what a fetch's outcome does to
//! a URL's row. No network, no files and no clock of its own: the front ends (`meguri run`,
//! `meguri serve --offline`, the URLFrontier server) bring the storage, the time and, for the
//! drain, a fetcher.
//!
//! - [`frontier`]: per-queue URL heaps, the politeness gate and the lease table: the one place
//!   dispatch rules live.
//! - [`lane_heap`]: the min-queue under the frontier's schedule, for keys that mostly arrive
//!   in order.
//! - [`outcome`]: the state machine that folds a fetch's outcome into the rows, and the
//!   change-rate schedule.
//! - [`rows`]: the rows a drain folds outcomes into: a partition held whole, or only the
//!   columns a drain reads and writes (`meguri run`).
//! - [`drain`]: the drain loop of `meguri run` and `meguri serve --offline`, with the offline
//!   fetcher.

pub mod drain;
pub mod frontier;
pub mod lane_heap;
pub mod outcome;
pub mod rows;
