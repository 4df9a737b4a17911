//! The wall clock, read in one place: the operations take "now" as an option, and the CLI
//! fills it in from here.

/// The current epoch-hour from the system clock (0 before 1970, `u32::MAX` past its range).
pub fn hour_now() -> u32 {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    u32::try_from(secs / 3600).unwrap_or(u32::MAX)
}
