//! Host keys typed by a user, parsed in one place.

use crate::ops::{Error, Op};

/// A host key that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("parse host key {input:?}: {source}")]
pub struct HostKeyError {
    /// What was typed.
    pub input: String,
    /// Why it is not a number.
    #[source]
    pub source: std::num::ParseIntError,
}

/// Parses a host key as the reference does: trimmed, `0x`/`0X` then hex, otherwise decimal.
pub fn parse_host_key(s: &str) -> Result<u64, HostKeyError> {
    let t = s.trim();
    let parsed = match t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => t.parse::<u64>(),
    };
    parsed.map_err(|source| HostKeyError {
        input: s.to_string(),
        source,
    })
}

/// [`parse_host_key`] for `op`: a key that does not parse is a usage error (exit status 2).
pub fn host_key(op: Op, s: &str) -> Result<u64, Error> {
    parse_host_key(s).map_err(|e| Error::Usage {
        op,
        message: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_and_decimal_parse_and_junk_is_a_usage_error() {
        assert_eq!(parse_host_key(" 0x1f ").unwrap(), 31);
        assert_eq!(parse_host_key("0XFF").unwrap(), 255);
        assert_eq!(parse_host_key("42").unwrap(), 42);
        let e = host_key(Op::Map, "0xnothex").unwrap_err();
        assert!(e.is_usage());
        assert!(
            e.to_string()
                .starts_with("map: parse host key \"0xnothex\": "),
            "{e}"
        );
    }
}
