//! URL keys: the 64-bit host key and path key hashes, and the CDX seeding split of a URL into
//! host and path.
//!
//! Both hashes are XXH64 with seed 0. The path key hashes the input *prefixed* by the eight
//! little-endian bytes of `0x9E3779B97F4A7C15` (it is not XXH64 with that seed), so a host and a
//! path with the same text get different keys.

use core::hash::Hasher;
use twox_hash::XxHash64;

const PATH_PREFIX: [u8; 8] = 0x9E37_79B9_7F4A_7C15u64.to_le_bytes();

/// A URL's 128-bit key: host key (high half) and path key (low half). Ordered as the 128-bit
/// big-endian number `host ‖ path`, which is the order URL rows are stored in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct UrlKey {
    /// Host key.
    pub host: u64,
    /// Path key.
    pub path: u64,
}

impl UrlKey {
    /// The 16-byte wire image: host key LE then path key LE.
    pub fn to_bytes(self) -> [u8; 16] {
        let mut b = [0u8; 16];
        b[..8].copy_from_slice(&self.host.to_le_bytes());
        b[8..].copy_from_slice(&self.path.to_le_bytes());
        b
    }
}

/// Host key of a host string (or a registrable domain, depending on grouping).
pub fn host_key_of(s: &[u8]) -> u64 {
    XxHash64::oneshot(0, s)
}

/// Path key of a path string (or whatever the caller hashes as the URL's rest).
pub fn path_key_of(s: &[u8]) -> u64 {
    let mut h = XxHash64::with_seed(0);
    h.write(&PATH_PREFIX);
    h.write(s);
    h.finish()
}

/// Drops everything up to and including the first `://`, wherever it occurs (the reference
/// does not anchor it at the scheme).
pub fn strip_scheme(u: &str) -> &str {
    match u.find("://") {
        Some(i) => &u[i + 3..],
        None => u,
    }
}

fn split_at_path(u: &str) -> usize {
    let rest = strip_scheme(u);
    let base = u.len() - rest.len();
    base + rest.find(['/', '?', '#']).unwrap_or(rest.len())
}

/// The host of a URL as the CDX seeding path sees it: after [`strip_scheme`], everything before
/// the first `/`, `?` or `#` (userinfo and port kept).
pub fn host_of(u: &str) -> &str {
    let rest = strip_scheme(u);
    &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())]
}

/// The path of a URL as the CDX seeding path sees it: from the first `/`, `?` or `#` after the
/// host (fragment included), or `/` when there is none.
pub fn path_of(u: &str) -> &str {
    let at = split_at_path(u);
    if at == u.len() {
        "/"
    } else {
        &u[at..]
    }
}

/// The key the CDX seeding path gives a URL: the host key of `host` (the CDX `host` field,
/// verbatim, or [`host_of`] the URL when that is empty) and the path key of [`path_of`] the URL.
pub fn seed_key(url: &str, host: &str) -> UrlKey {
    let host = if host.is_empty() { host_of(url) } else { host };
    UrlKey {
        host: host_key_of(host.as_bytes()),
        path: path_key_of(path_of(url).as_bytes()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_vectors() {
        let hosts: [(&str, u64); 7] = [
            ("example.com", 0x2883ba7dc9aa3289),
            ("golang.org", 0x5c94d8be4d1cd6be),
            ("rust-lang.org", 0xbd81fc1c46f41981),
            ("www.golang.org", 0x094047007b11482a),
            ("alpha.example", 0x91500a9e560d60a4),
            ("bravo.example", 0x54c31812b0cf6684),
            ("", 0xef46db3751d8e999),
        ];
        for (s, v) in hosts {
            assert_eq!(host_key_of(s.as_bytes()), v, "HostKeyOf({s:?})");
        }
        let paths: [(&str, u64); 5] = [
            ("/", 0xcdedbaa008cf001b),
            ("/about", 0x4e9667b0e54f561c),
            ("/blog?page=2", 0xd1d43de61ec615c4),
            ("/doc", 0xc41ee124be834a54),
            ("", 0xb4ad8a2a3728b057),
        ];
        for (s, v) in paths {
            assert_eq!(path_key_of(s.as_bytes()), v, "PathKeyOf({s:?})");
        }
    }

    #[test]
    fn seeding_split() {
        assert_eq!(
            host_of("https://user@a.example:8080/x?y#z"),
            "user@a.example:8080"
        );
        assert_eq!(path_of("https://user@a.example:8080/x?y#z"), "/x?y#z");
        assert_eq!(path_of("http://a.example"), "/");
        assert_eq!(path_of("http://a.example?q=1"), "?q=1");
        assert_eq!(path_of("http://a.example#frag"), "#frag");
        assert_eq!(host_of("a.example/p"), "a.example");
        // `://` inside the query still cuts there.
        assert_eq!(
            strip_scheme("a.example/r?u=http://b.example/x"),
            "b.example/x"
        );
        let k = seed_key("https://example.com/about", "");
        assert_eq!(k.host, 0x2883ba7dc9aa3289);
        assert_eq!(k.path, 0x4e9667b0e54f561c);
        let k = seed_key("https://www.example.com/", "example.com");
        assert_eq!(k.host, 0x2883ba7dc9aa3289);
    }
}
