//! Deliberate crashes for tests: with the `crash-points` feature (enabled for this crate's
//! own tests), `MEGURI_CRASH_AT=<point>` makes the process abort at that point of a
//! multi-step protocol (reshape jobs, store checkpoints), so tests can prove every step leaves
//! a recoverable directory. Without the feature, as in release builds, a crash point is
//! nothing at all: no environment lookup, no branch.

/// Aborts the process if `MEGURI_CRASH_AT` names `name` (only with the `crash-points`
/// feature).
#[cfg(feature = "crash-points")]
pub fn crash_point(name: &str) {
    if std::env::var("MEGURI_CRASH_AT").is_ok_and(|v| v == name) {
        eprintln!("meguri: MEGURI_CRASH_AT={name}: aborting");
        std::process::abort();
    }
}

/// Does nothing: this build has no crash points.
#[cfg(not(feature = "crash-points"))]
#[inline(always)]
pub fn crash_point(_name: &str) {}
