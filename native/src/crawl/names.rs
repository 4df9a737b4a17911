//! Names in the URLFrontier model: crawl ids, queue keys and the URLs themselves, checked and
//! turned into the keys meguri stores rows under.
//!
//! A URL's row key is `(host key, path key)`: the host key is the XXH64 of its queue key (so a
//! queue's URLs sit together in one partition and range splits never cut a queue), the path key
//! the reference's path hash of the whole URL string (so `http://a/x` and `https://a/x` are two
//! URLs). A queue key left empty is the URL's host name, the key `seed` uses for a URL.

use meguri_core::keys::{host_key_of, path_key_of, UrlKey};

/// The crawl a request without one names (and `""` is the same crawl).
pub const DEFAULT_CRAWL: &str = "DEFAULT";

/// The longest queue key accepted, in bytes (longer ones are acked SKIPPED).
pub const MAX_KEY_LEN: usize = 255;

/// The longest URL accepted, in bytes.
pub const MAX_URL_LEN: usize = 8192;

/// The crawl id a request names: `""` is [`DEFAULT_CRAWL`].
pub fn crawl_id(id: &str) -> &str {
    if id.is_empty() {
        DEFAULT_CRAWL
    } else {
        id
    }
}

/// Why a URL or key is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The URL is not an absolute URL with a scheme and a host.
    Malformed(String),
    /// The URL is longer than [`MAX_URL_LEN`].
    UrlTooLong(usize),
    /// The queue key is longer than [`MAX_KEY_LEN`].
    KeyTooLong(usize),
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::Malformed(why) => write!(f, "malformed URL: {why}"),
            Refusal::UrlTooLong(n) => {
                write!(f, "URL of {n} bytes, over the {MAX_URL_LEN}-byte limit")
            }
            Refusal::KeyTooLong(n) => {
                write!(
                    f,
                    "queue key of {n} bytes, over the {MAX_KEY_LEN}-byte limit"
                )
            }
        }
    }
}

/// The host name of an absolute URL: after `scheme://`, before the first `/`, `?`, `#` or
/// `&`, without user info or port. Checks the scheme and that there is a host.
pub fn host_name(url: &str) -> Result<&str, Refusal> {
    if url.len() > MAX_URL_LEN {
        return Err(Refusal::UrlTooLong(url.len()));
    }
    if url.bytes().any(|b| b.is_ascii_control() || b == b' ') {
        return Err(Refusal::Malformed(
            "it holds a space or a control character".into(),
        ));
    }
    let Some((scheme, rest)) = url.split_once("://") else {
        return Err(Refusal::Malformed("no scheme://".into()));
    };
    let scheme_ok = scheme.bytes().enumerate().all(|(i, b)| {
        b.is_ascii_alphabetic() || (i > 0 && (b.is_ascii_digit() || b"+.-".contains(&b)))
    });
    if scheme.is_empty() || !scheme_ok {
        return Err(Refusal::Malformed(format!("scheme {scheme:?}")));
    }
    let authority = rest.split(['/', '?', '#', '&']).next().unwrap_or_default();
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = if let Some(v6) = host_port.strip_prefix('[') {
        // An IPv6 literal keeps its brackets; the port follows them.
        match v6.find(']') {
            Some(end) => &host_port[..end + 2],
            None => return Err(Refusal::Malformed("unclosed IPv6 literal".into())),
        }
    } else {
        host_port.split(':').next().unwrap_or_default()
    };
    if host.is_empty() {
        return Err(Refusal::Malformed("no host".into()));
    }
    Ok(host)
}

/// The queue key of a URL: the one given, or its host name.
pub fn queue_key<'a>(url: &'a str, key: &'a str) -> Result<&'a str, Refusal> {
    let host = host_name(url)?;
    let key = if key.is_empty() { host } else { key };
    if key.len() > MAX_KEY_LEN {
        return Err(Refusal::KeyTooLong(key.len()));
    }
    Ok(key)
}

/// The row key of `url` in queue `key`.
pub fn url_key(queue: &str, url: &str) -> UrlKey {
    UrlKey {
        host: host_key_of(queue.as_bytes()),
        path: path_key_of(url.as_bytes()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_key_is_the_host_name() {
        // The conformance test's URL: no path, a query straight after the host.
        assert_eq!(
            queue_key("http://gac.icann.org?language_id=9", ""),
            Ok("gac.icann.org")
        );
        assert_eq!(
            queue_key("https://u:p@Example.com:8443/a", ""),
            Ok("Example.com")
        );
        assert_eq!(queue_key("http://[::1]:80/x", ""), Ok("[::1]"));
        assert_eq!(queue_key("http://a.b/x", "mykey"), Ok("mykey"));
        assert_eq!(queue_key("http://a.b&x=1", ""), Ok("a.b"));
    }

    #[test]
    fn malformed_urls_and_long_keys_are_refused() {
        for bad in [
            "",
            "example.com/a",
            "://x",
            "1http://a",
            "http:///path",
            "http://a b",
            "http://[::1/x",
        ] {
            assert!(
                matches!(queue_key(bad, ""), Err(Refusal::Malformed(_))),
                "{bad:?}"
            );
        }
        let long = "k".repeat(256);
        assert_eq!(queue_key("http://a/", &long), Err(Refusal::KeyTooLong(256)));
        assert!(queue_key("http://a/", &"k".repeat(255)).is_ok());
        let url = format!("http://a/{}", "x".repeat(MAX_URL_LEN));
        assert!(matches!(queue_key(&url, ""), Err(Refusal::UrlTooLong(_))));
    }

    #[test]
    fn keys_keep_a_queue_together_and_tell_schemes_apart() {
        let a = url_key("example.com", "http://example.com/x");
        let b = url_key("example.com", "https://example.com/x");
        assert_eq!(a.host, b.host);
        assert_ne!(a.path, b.path);
        assert_eq!(a.host, host_key_of(b"example.com"));
        assert_eq!(crawl_id(""), "DEFAULT");
        assert_eq!(crawl_id("BESPOKE"), "BESPOKE");
    }
}
