//! The wall clock, read in one place: the operations take "now" as an option, and the CLI
//! fills it in from here.

/// The current epoch-hour from the system clock (0 before 1970, `u32::MAX` past its range).
pub fn hour_now() -> u32 {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    u32::try_from(secs / 3600).unwrap_or(u32::MAX)
}

/// The current time in milliseconds since the epoch (0 before 1970).
pub fn millis_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// A `--now` that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("--now {input:?}: expected an epoch-hour (498677) or @ and an epoch-second (@1795240232)")]
pub struct NowError {
    /// What was typed.
    pub input: String,
}

/// Parses `--now`: an epoch-hour (the clock starts at its first second), or `@` and an
/// epoch-second, as `date -d @S` takes one. Milliseconds since the epoch.
pub fn parse_now(s: &str) -> Result<u64, NowError> {
    let err = || NowError {
        input: s.to_string(),
    };
    let t = s.trim();
    match t.strip_prefix('@') {
        Some(secs) => secs
            .parse::<u64>()
            .ok()
            .and_then(|v| v.checked_mul(1000))
            .ok_or_else(err),
        None => t
            .parse::<u32>()
            .map(|h| u64::from(h) * 3_600_000)
            .map_err(|_| err()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn now_is_an_hour_or_an_at_second() {
        assert_eq!(parse_now("498677").unwrap(), 498_677 * 3_600_000);
        assert_eq!(parse_now("@1795240232").unwrap(), 1_795_240_232_000);
        for bad in ["", "@", "x", "-1", "@-5", "4294967296"] {
            assert!(parse_now(bad).is_err(), "{bad:?}");
        }
    }
}
