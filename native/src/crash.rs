//! Deliberate crashes for tests: `MEGURI_CRASH_AT=<point>` makes the process abort at that
//! point of a multi-step protocol (reshape jobs, store checkpoints), so tests can prove every
//! step leaves a recoverable directory. Unset, it costs one environment lookup per point.

/// Aborts the process if `MEGURI_CRASH_AT` names `name`.
pub fn crash_point(name: &str) {
    if std::env::var("MEGURI_CRASH_AT").is_ok_and(|v| v == name) {
        eprintln!("meguri: MEGURI_CRASH_AT={name}: aborting");
        std::process::abort();
    }
}
