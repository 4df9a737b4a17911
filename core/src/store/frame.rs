//! Log frames: one checksummed record per update.
//!
//! ```text
//! lsn u64 ‖ kind u8 ‖ key_len u8 ‖ value_len u32 ‖ key ‖ value ‖ crc32c u32
//! ```
//! All integers are little-endian; the CRC covers every byte before it. `kind`'s low seven bits
//! say what the frame carries (0 URL, 1 host, 2 string intern, and meguri's own 3 URL
//! extension, 4 host extension) and bit 7 marks a tombstone, whose value is empty. A URL key is the 16-byte [`UrlKey::to_bytes`] image, a host key its
//! eight bytes; an intern frame has no key and its value is one arena entry
//! (`uvarint(len) ‖ bytes`), so replaying it appends exactly those bytes to the arena.
//!
//! **Extension frames.** A record whose extension columns ([`Record::EXT_COLUMNS`]) hold
//! anything is logged as its put frame followed at once, in the same write, by an extension
//! frame: the same key, the extension value ([`Record::put_ext_value`]). The reference skips
//! kinds it does not know, so it replays the put and sees the record without meguri's state;
//! meguri applies an extension frame only to the put frame right before it (same kind of
//! table, same key) and ignores it anywhere else. A put frame alone means "no extension": it
//! replaces the whole record, extension included. An extension value longer than this version
//! knows is accepted and its extra bytes ignored, so later versions may add columns.
//!
//! [`parse`] never trusts a length before checking it against [`MAX_VALUE_LEN`] and the bytes
//! at hand, so a torn or garbage tail costs no allocation.

use crate::bytes::{put_uvarint, read_uvarint};
use crate::crc::{crc32c, Crc32c};
use crate::error::{Error, ErrorKind, Place, Result};
use crate::keys::UrlKey;
use crate::records::{HostRecord, UrlRecord};
use crate::schema::Record;
use alloc::format;
use alloc::vec::Vec;

/// Bytes before the key: lsn, kind, key length, value length.
pub const HEADER_LEN: usize = 14;
/// The trailing CRC32C.
pub const CRC_LEN: usize = 4;
/// Bytes of an encoded URL record (87: the key is not part of the value).
pub const URL_VALUE_LEN: usize = UrlRecord::VALUE_LEN;
/// Bytes of an encoded host record (89).
pub const HOST_VALUE_LEN: usize = HostRecord::VALUE_LEN;
/// Kind of a URL frame.
pub const KIND_URL: u8 = 0;
/// Kind of a host frame.
pub const KIND_HOST: u8 = 1;
/// Kind of a string-intern frame.
pub const KIND_INTERN: u8 = 2;
/// Kind of a URL extension frame (meguri's; the reference skips it).
pub const KIND_URL_EXT: u8 = 3;
/// Kind of a host extension frame (meguri's; the reference skips it).
pub const KIND_HOST_EXT: u8 = 4;
/// Kind bit of a tombstone.
pub const TOMBSTONE: u8 = 0x80;
/// The largest value a frame may declare. Intern values (URL strings, packed robots blobs) are
/// the only long ones; anything larger is garbage, refused before any buffer is sized by it.
pub const MAX_VALUE_LEN: u32 = 16 << 20;

/// Size of a URL put frame.
pub const URL_PUT_LEN: usize = HEADER_LEN + 16 + URL_VALUE_LEN + CRC_LEN;
/// Size of a host put frame.
pub const HOST_PUT_LEN: usize = HEADER_LEN + 8 + HOST_VALUE_LEN + CRC_LEN;
/// Size of a URL extension frame.
pub const URL_EXT_LEN: usize = HEADER_LEN + 16 + UrlRecord::EXT_VALUE_LEN + CRC_LEN;
/// Size of a host extension frame.
pub const HOST_EXT_LEN: usize = HEADER_LEN + 8 + HostRecord::EXT_VALUE_LEN + CRC_LEN;

/// One update, as a log frame carries it.
#[derive(Debug, Clone, PartialEq)]
pub enum Update<'a> {
    /// A URL row, replacing any earlier one with the same key.
    PutUrl(UrlRecord),
    /// Removes a URL row.
    DeleteUrl(UrlKey),
    /// A host row, replacing any earlier one with the same host key.
    PutHost(HostRecord),
    /// Removes a host row (the reference never writes one, but replays it).
    DeleteHost(u64),
    /// Appends one string to the arena; the string is the entry without its length prefix.
    Intern(&'a [u8]),
    /// The extension columns of the URL row put by the frame right before (the record's key
    /// and extension fields; its other fields are zero and mean nothing).
    UrlExt(UrlRecord),
    /// The extension columns of the host row put by the frame right before.
    HostExt(HostRecord),
}

impl Update<'_> {
    /// The extension frame that follows this update's frame in the log, if any: only a put of
    /// a record whose extension holds something has one.
    pub fn ext(&self) -> Option<Update<'static>> {
        match self {
            Update::PutUrl(r) if r.has_ext() => Some(Update::UrlExt(*r)),
            Update::PutHost(h) if h.has_ext() => Some(Update::HostExt(*h)),
            _ => None,
        }
    }

    /// How many frames this update writes: one, or two with its extension frame.
    pub fn frames(&self) -> u64 {
        1 + u64::from(self.ext().is_some())
    }
}

/// Applies an extension frame's update to `prev`, the update of the frame right before it:
/// `true` when it belongs there (a put of the same table and key) and was applied.
pub fn apply_ext(prev: &mut Update<'_>, ext: &Update<'_>) -> bool {
    match (prev, ext) {
        (Update::PutUrl(r), Update::UrlExt(x)) if r.key == x.key => {
            let mut v = Vec::with_capacity(UrlRecord::EXT_VALUE_LEN);
            x.put_ext_value(&mut v);
            r.set_ext_value(&v);
            true
        }
        (Update::PutHost(h), Update::HostExt(x)) if h.host_key == x.host_key => {
            let mut v = Vec::with_capacity(HostRecord::EXT_VALUE_LEN);
            x.put_ext_value(&mut v);
            h.set_ext_value(&v);
            true
        }
        _ => false,
    }
}

/// A decoded frame.
#[derive(Debug, Clone, PartialEq)]
pub struct Frame<'a> {
    /// Log sequence number.
    pub lsn: u64,
    /// What it carries; `None` for a kind this version does not know (skipped on replay).
    pub update: Option<Update<'a>>,
    /// The raw kind byte.
    pub kind: u8,
    /// Encoded length in bytes.
    pub len: usize,
}

/// What [`parse`] found at the start of a buffer.
#[derive(Debug, Clone, PartialEq)]
pub enum Parsed<'a> {
    /// A whole, checksummed frame.
    Frame(Frame<'a>),
    /// The buffer ends inside a frame (or its header). At the end of a log this is a torn
    /// write.
    Incomplete,
    /// The bytes are not a valid frame.
    Bad(Error),
}

/// The encoded size of `u`.
pub fn encoded_len(u: &Update<'_>) -> usize {
    HEADER_LEN
        + CRC_LEN
        + match u {
            Update::PutUrl(_) => 16 + URL_VALUE_LEN,
            Update::DeleteUrl(_) => 16,
            Update::PutHost(_) => 8 + HOST_VALUE_LEN,
            Update::DeleteHost(_) => 8,
            Update::Intern(s) => crate::bytes::uvarint_len(s.len() as u64) + s.len(),
            Update::UrlExt(_) => 16 + UrlRecord::EXT_VALUE_LEN,
            Update::HostExt(_) => 8 + HostRecord::EXT_VALUE_LEN,
        }
}

/// Appends the frames for `u`, its extension frame included, numbered from `lsn`; returns the
/// number of frames written.
pub fn encode_all(lsn: u64, u: &Update<'_>, out: &mut Vec<u8>) -> Result<u64> {
    encode(lsn, u, out)?;
    if let Some(x) = u.ext() {
        encode(lsn + 1, &x, out)?;
        return Ok(2);
    }
    Ok(1)
}

/// Appends the frame for `u` with sequence number `lsn` to `out`.
pub fn encode(lsn: u64, u: &Update<'_>, out: &mut Vec<u8>) -> Result<()> {
    if let Update::Intern(s) = u {
        if s.len() as u64 + 10 > u64::from(MAX_VALUE_LEN) {
            return Err(Error::new(
                ErrorKind::Invalid,
                format!(
                    "a {}-byte string is longer than a log frame can carry",
                    s.len()
                ),
            ));
        }
    }
    let start = out.len();
    let (kind, key_len): (u8, u8) = match u {
        Update::PutUrl(_) => (KIND_URL, 16),
        Update::DeleteUrl(_) => (KIND_URL | TOMBSTONE, 16),
        Update::PutHost(_) => (KIND_HOST, 8),
        Update::DeleteHost(_) => (KIND_HOST | TOMBSTONE, 8),
        Update::Intern(_) => (KIND_INTERN, 0),
        Update::UrlExt(_) => (KIND_URL_EXT, 16),
        Update::HostExt(_) => (KIND_HOST_EXT, 8),
    };
    out.extend_from_slice(&lsn.to_le_bytes());
    out.push(kind);
    out.push(key_len);
    let len_at = out.len();
    out.extend_from_slice(&[0; 4]);
    match u {
        Update::PutUrl(r) => {
            out.extend_from_slice(&r.key.to_bytes());
            put_url_value(r, out);
        }
        Update::DeleteUrl(k) => out.extend_from_slice(&k.to_bytes()),
        Update::PutHost(h) => {
            out.extend_from_slice(&h.host_key.to_le_bytes());
            put_host_value(h, out);
        }
        Update::DeleteHost(k) => out.extend_from_slice(&k.to_le_bytes()),
        Update::Intern(s) => {
            put_uvarint(out, s.len() as u64);
            out.extend_from_slice(s);
        }
        Update::UrlExt(r) => {
            out.extend_from_slice(&r.key.to_bytes());
            r.put_ext_value(out);
        }
        Update::HostExt(h) => {
            out.extend_from_slice(&h.host_key.to_le_bytes());
            h.put_ext_value(out);
        }
    }
    let value_len = (out.len() - len_at - 4 - usize::from(key_len)) as u32;
    out[len_at..len_at + 4].copy_from_slice(&value_len.to_le_bytes());
    let crc = crc32c(&out[start..]);
    out.extend_from_slice(&crc.to_le_bytes());
    Ok(())
}

/// Parses the frame at the start of `buf`; `offset` is where `buf` starts in the log, used only
/// in error messages.
pub fn parse(buf: &[u8], offset: u64) -> Parsed<'_> {
    if buf.len() < HEADER_LEN {
        return Parsed::Incomplete;
    }
    let bad = |msg: alloc::string::String| {
        Parsed::Bad(Error::corrupt(msg).within(Place::LogFrame).at(offset))
    };
    let lsn = u64::from_le_bytes(buf[0..8].try_into().unwrap_or_default());
    let kind = buf[8];
    let key_len = usize::from(buf[9]);
    let value_len = u32::from_le_bytes(buf[10..14].try_into().unwrap_or_default());
    if value_len > MAX_VALUE_LEN {
        return bad(format!(
            "frame declares a {value_len}-byte value (at most {MAX_VALUE_LEN})"
        ));
    }
    let body_end = HEADER_LEN + key_len + value_len as usize;
    let len = body_end + CRC_LEN;
    if buf.len() < len {
        return Parsed::Incomplete;
    }
    let stored = u32::from_le_bytes(buf[body_end..len].try_into().unwrap_or_default());
    let mut crc = Crc32c::new();
    crc.update(&buf[..body_end]);
    let computed = crc.finish();
    if stored != computed {
        return Parsed::Bad(
            Error::new(
                ErrorKind::Checksum,
                format!("frame CRC32C is {stored:#010x}, its bytes give {computed:#010x}"),
            )
            .within(Place::LogFrame)
            .at(offset),
        );
    }
    let key = &buf[HEADER_LEN..HEADER_LEN + key_len];
    let value = &buf[HEADER_LEN + key_len..body_end];
    let tomb = kind & TOMBSTONE != 0;
    let shape_err = |what: &str| {
        bad(format!(
            "{what} frame with a {key_len}-byte key and a {value_len}-byte value"
        ))
    };
    let update = match kind & !TOMBSTONE {
        KIND_URL => {
            if key_len != 16 || value.len() != if tomb { 0 } else { URL_VALUE_LEN } {
                return shape_err("URL");
            }
            let k = url_key(key);
            if tomb {
                Some(Update::DeleteUrl(k))
            } else {
                Some(Update::PutUrl(url_value(k, value)))
            }
        }
        KIND_HOST => {
            if key_len != 8 || value.len() != if tomb { 0 } else { HOST_VALUE_LEN } {
                return shape_err("host");
            }
            let k = u64::from_le_bytes(key.try_into().unwrap_or_default());
            if tomb {
                Some(Update::DeleteHost(k))
            } else {
                Some(Update::PutHost(host_value(k, value)))
            }
        }
        KIND_INTERN => {
            if key_len != 0 || tomb {
                return shape_err("intern");
            }
            match read_uvarint(value) {
                Ok((n, used)) if n == (value.len() - used) as u64 => {
                    Some(Update::Intern(&value[used..]))
                }
                _ => {
                    return bad(format!(
                        "intern frame value is not one arena entry ({value_len} bytes)"
                    ))
                }
            }
        }
        KIND_URL_EXT => {
            if key_len != 16 || tomb || value.len() < UrlRecord::EXT_VALUE_LEN {
                return shape_err("URL extension");
            }
            let mut r = UrlRecord {
                key: url_key(key),
                ..UrlRecord::default()
            };
            r.set_ext_value(value);
            Some(Update::UrlExt(r))
        }
        KIND_HOST_EXT => {
            if key_len != 8 || tomb || value.len() < HostRecord::EXT_VALUE_LEN {
                return shape_err("host extension");
            }
            let mut h = HostRecord {
                host_key: u64::from_le_bytes(key.try_into().unwrap_or_default()),
                ..HostRecord::default()
            };
            h.set_ext_value(value);
            Some(Update::HostExt(h))
        }
        _ => None,
    };
    Parsed::Frame(Frame {
        lsn,
        update,
        kind,
        len,
    })
}

fn url_key(b: &[u8]) -> UrlKey {
    UrlKey {
        host: u64::from_le_bytes(b[0..8].try_into().unwrap_or_default()),
        path: u64::from_le_bytes(b[8..16].try_into().unwrap_or_default()),
    }
}

/// Appends the 87-byte value of a URL record: every column but the key's, in column order, at
/// its width (the schema's [`Record::put_value`]).
pub fn put_url_value(r: &UrlRecord, out: &mut Vec<u8>) {
    r.put_value(out);
}

/// Appends the 89-byte value of a host record (its key excluded), as [`put_url_value`] does.
pub fn put_host_value(h: &HostRecord, out: &mut Vec<u8>) {
    h.put_value(out);
}

/// Decodes an 87-byte URL value (the caller checked its length).
pub fn url_value(key: UrlKey, v: &[u8]) -> UrlRecord {
    UrlRecord {
        key,
        ..UrlRecord::read_value(v)
    }
}

/// Decodes an 89-byte host value (the caller checked its length).
pub fn host_value(host_key: u64, v: &[u8]) -> HostRecord {
    HostRecord {
        host_key,
        ..HostRecord::read_value(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url() -> UrlRecord {
        UrlRecord {
            key: UrlKey {
                host: 0x0102_0304_0506_0708,
                path: 0x1112_1314_1516_1718,
            },
            status: 4,
            priority: 0.5,
            depth: 3,
            discovery_source: 1,
            url_ref: 77,
            first_seen: 1,
            last_crawled: 2,
            last_changed: 3,
            next_due: 4,
            lambda: 0.25,
            crawl_count: 5,
            change_count: 6,
            no_change_streak: 7,
            etag_ref: 8,
            last_modified: 9,
            content_fp: 10,
            simhash: 11,
            http_status: 200,
            redirect_ref: 12,
            retry_count: 13,
            error_count: 14,
            ..Default::default()
        }
    }

    #[test]
    fn sizes_match_the_layout() {
        let mut out = Vec::new();
        put_url_value(&url(), &mut out);
        assert_eq!(out.len(), URL_VALUE_LEN);
        out.clear();
        put_host_value(&HostRecord::default(), &mut out);
        assert_eq!(out.len(), HOST_VALUE_LEN);
        for (u, n) in [
            (Update::PutUrl(url()), 121),
            (Update::PutHost(HostRecord::default()), 115),
            (Update::DeleteUrl(url().key), 34),
            (Update::Intern(b"abc"), 14 + 4 + 4),
        ] {
            out.clear();
            encode(9, &u, &mut out).unwrap();
            assert_eq!(out.len(), n);
            assert_eq!(encoded_len(&u), n);
        }
    }

    #[test]
    fn round_trips_and_refuses_damage() {
        let h = HostRecord {
            host_key: 42,
            resolved_ip: [7; 16],
            host_score: 1.5,
            flags: 3,
            ..HostRecord::default()
        };
        let updates = [
            Update::PutUrl(url()),
            Update::DeleteUrl(url().key),
            Update::PutHost(h),
            Update::DeleteHost(42),
            Update::Intern(b"https://example.com/"),
            Update::UrlExt(UrlRecord {
                key: url().key,
                created_at: 5,
                ..UrlRecord::default()
            }),
            Update::HostExt(HostRecord {
                host_key: 42,
                queue_delay: 1001,
                ..HostRecord::default()
            }),
        ];
        for (i, u) in updates.iter().enumerate() {
            let mut out = Vec::new();
            encode(100 + i as u64, u, &mut out).unwrap();
            match parse(&out, 0) {
                Parsed::Frame(f) => {
                    assert_eq!(f.lsn, 100 + i as u64);
                    assert_eq!(f.update.as_ref(), Some(u));
                    assert_eq!(f.len, out.len());
                }
                other => panic!("{other:?}"),
            }
            for cut in 0..out.len() {
                assert_eq!(parse(&out[..cut], 0), Parsed::Incomplete);
            }
            for bit in 0..out.len() * 8 {
                let mut bad = out.clone();
                bad[bit / 8] ^= 1 << (bit % 8);
                assert!(
                    !matches!(parse(&bad, 0), Parsed::Frame(_)),
                    "a flipped bit {bit} went unnoticed"
                );
            }
        }
    }

    #[test]
    fn a_record_with_an_extension_is_its_put_frame_then_its_extension_frame() {
        let mut r = url();
        assert_eq!(Update::PutUrl(r).frames(), 1);
        r.refetch_at = 1_795_240_232;
        r.meta_ref = 9;
        let mut h = HostRecord {
            host_key: 42,
            ..HostRecord::default()
        };
        h.last_handout = u64::MAX - 1;
        for (u, ext_kind, ext_len) in [
            (Update::PutUrl(r), KIND_URL_EXT, URL_EXT_LEN),
            (Update::PutHost(h), KIND_HOST_EXT, HOST_EXT_LEN),
        ] {
            let mut out = Vec::new();
            assert_eq!(encode_all(7, &u, &mut out).unwrap(), 2);
            let Parsed::Frame(put) = parse(&out, 0) else {
                panic!("the put frame parses")
            };
            // The put frame is the reference's: its record has no extension.
            let mut prev = put.update.clone().unwrap();
            assert_ne!(prev, u);
            let Parsed::Frame(ext) = parse(&out[put.len..], put.len as u64) else {
                panic!("the extension frame parses")
            };
            assert_eq!((ext.lsn, ext.kind, ext.len), (8, ext_kind, ext_len));
            assert_eq!(put.len + ext.len, out.len());
            let x = ext.update.unwrap();
            assert!(apply_ext(&mut prev, &x));
            assert_eq!(prev, u, "put then extension gives the record back");
            // An extension frame after anything else is not applied.
            assert!(!apply_ext(&mut Update::DeleteUrl(r.key), &x));
            assert!(!apply_ext(&mut Update::Intern(b"x"), &x));
        }
        let mut other = Update::PutUrl(UrlRecord::default());
        assert!(!apply_ext(&mut other, &Update::UrlExt(r)), "another key");
        // A longer extension value (a later version's) is accepted, its extra bytes ignored.
        let mut out = Vec::new();
        encode(1, &Update::UrlExt(r), &mut out).unwrap();
        let mut longer = out[..out.len() - CRC_LEN].to_vec();
        longer.extend_from_slice(&[0xee; 4]);
        let n = (UrlRecord::EXT_VALUE_LEN + 4) as u32;
        longer[10..14].copy_from_slice(&n.to_le_bytes());
        let crc = crc32c(&longer);
        longer.extend_from_slice(&crc.to_le_bytes());
        assert!(
            matches!(parse(&longer, 0), Parsed::Frame(f) if f.update == Some(Update::UrlExt(UrlRecord { key: r.key, refetch_at: r.refetch_at, meta_ref: 9, ..UrlRecord::default() })))
        );
        // A shorter one is refused.
        let mut short = out[..out.len() - CRC_LEN - 1].to_vec();
        short[10..14].copy_from_slice(&((UrlRecord::EXT_VALUE_LEN - 1) as u32).to_le_bytes());
        let crc = crc32c(&short);
        short.extend_from_slice(&crc.to_le_bytes());
        assert!(matches!(parse(&short, 0), Parsed::Bad(_)));
    }

    #[test]
    fn huge_declared_lengths_are_refused_without_reading() {
        let mut out = Vec::new();
        encode(1, &Update::Intern(b"x"), &mut out).unwrap();
        out[10..14].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(matches!(parse(&out, 5), Parsed::Bad(e) if e.offset == Some(5)));
    }
}
