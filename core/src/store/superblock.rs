//! The superblock: two 256-byte slots, each able to name a complete checkpoint.
//!
//! ```text
//! off   0  magic u32 = 0x4D454755 (bytes 55 47 45 4D)
//! off   4  gen u64        checkpoint generation
//! off  12  frontier u64   the next log sequence number when the checkpoint was cut
//! off  20  arena_len u64  length of the snapshot's string arena
//! off  28  u16 len ‖ snapshot file name, then u16 len ‖ log file name, then zeros
//! off 220  optional owner extension (ours; the reference leaves zeros here and ignores it):
//!          "MGX1" ‖ range lo u64 ‖ range hi u64 ‖ epoch u64 ‖ 4 zero bytes
//! off 252  crc32c u32 over bytes 0..252
//! ```
//! The extension is written only for a directory that owns less than the whole key space or
//! has a nonzero epoch, so a default directory's slots are the reference's byte for byte. With
//! it, the names must end by offset 220.
//! Generation `g` lives in slot `g % 2`, so committing a new generation never overwrites the
//! slot that names the current one: a torn commit leaves the previous generation readable. The
//! valid slot with the higher generation is current.

use crate::crc::crc32c;
use crate::error::{Error, ErrorKind, Place, Result};
use alloc::format;
use alloc::string::String;

/// Bytes of the whole superblock file.
pub const LEN: usize = 2 * SLOT_LEN;
/// Bytes of one slot.
pub const SLOT_LEN: usize = 256;
/// The slot magic.
pub const MAGIC: u32 = 0x4D45_4755;
const NAMES_AT: usize = 28;
const CRC_AT: usize = 252;
const EXT_AT: usize = 220;
const EXT_MAGIC: [u8; 4] = *b"MGX1";

/// The host-key range a directory owns and the epoch of that ownership (routing and splits
/// use them). The default, the whole key space at epoch 0, is what a directory without the
/// extension (every reference directory) owns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Owner {
    /// Lowest owned host key.
    pub lo: u64,
    /// Highest owned host key (inclusive).
    pub hi: u64,
    /// Ownership epoch.
    pub epoch: u64,
}

impl Default for Owner {
    fn default() -> Self {
        Owner {
            lo: 0,
            hi: u64::MAX,
            epoch: 0,
        }
    }
}

impl Owner {
    /// Whether the range is the whole key space.
    pub fn covers_all(&self) -> bool {
        self.lo == 0 && self.hi == u64::MAX
    }
}

/// What one slot says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    /// Generation: the number of checkpoints taken.
    pub gen: u64,
    /// The first log sequence number after the checkpoint.
    pub frontier: u64,
    /// Length of the snapshot's arena (informational).
    pub arena_len: u64,
    /// File name of the snapshot, relative to the directory.
    pub snapshot: String,
    /// File name of the log that continues the snapshot.
    pub log: String,
    /// The owned range and epoch.
    pub owner: Owner,
}

impl Checkpoint {
    /// The slot (0 or 1) this generation is written to.
    pub fn slot(&self) -> usize {
        (self.gen % 2) as usize
    }
}

/// The state of one slot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Slot {
    /// Never written (all zero bytes, or beyond the end of a short file).
    Blank,
    /// A checksummed checkpoint.
    Valid(Checkpoint),
    /// Written but unreadable: a torn write or damage.
    Bad(Error),
}

/// Encodes a slot. Fails if the names do not fit or are not plain file names.
pub fn encode_slot(c: &Checkpoint) -> Result<[u8; SLOT_LEN]> {
    let mut b = [0u8; SLOT_LEN];
    b[0..4].copy_from_slice(&MAGIC.to_le_bytes());
    b[4..12].copy_from_slice(&c.gen.to_le_bytes());
    b[12..20].copy_from_slice(&c.frontier.to_le_bytes());
    b[20..28].copy_from_slice(&c.arena_len.to_le_bytes());
    let ext = c.owner != Owner::default();
    if c.owner.lo > c.owner.hi {
        return Err(Error::new(ErrorKind::Invalid, "the owned range is empty"));
    }
    let limit = if ext { EXT_AT } else { CRC_AT };
    let mut at = NAMES_AT;
    for name in [&c.snapshot, &c.log] {
        check_name(name).map_err(|m| Error::new(ErrorKind::Invalid, m))?;
        let n = name.len();
        if at + 2 + n > limit {
            return Err(Error::new(
                ErrorKind::Invalid,
                "superblock file names do not fit in a slot",
            ));
        }
        b[at..at + 2].copy_from_slice(&(n as u16).to_le_bytes());
        b[at + 2..at + 2 + n].copy_from_slice(name.as_bytes());
        at += 2 + n;
    }
    if ext {
        b[EXT_AT..EXT_AT + 4].copy_from_slice(&EXT_MAGIC);
        b[EXT_AT + 4..EXT_AT + 12].copy_from_slice(&c.owner.lo.to_le_bytes());
        b[EXT_AT + 12..EXT_AT + 20].copy_from_slice(&c.owner.hi.to_le_bytes());
        b[EXT_AT + 20..EXT_AT + 28].copy_from_slice(&c.owner.epoch.to_le_bytes());
    }
    let crc = crc32c(&b[..CRC_AT]);
    b[CRC_AT..].copy_from_slice(&crc.to_le_bytes());
    Ok(b)
}

/// A name is a plain file name in the directory: no separators, no `..`, nothing odd. This
/// is what keeps a crafted superblock from pointing the store outside its directory.
fn check_name(name: &str) -> core::result::Result<(), String> {
    let ok = !name.is_empty()
        && name != "."
        && name != ".."
        && name
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_' || c == b'.');
    if ok {
        Ok(())
    } else {
        Err(format!("{name:?} is not a plain file name"))
    }
}

/// Decodes slot `index` (0 = A, 1 = B) from the bytes of a superblock file, which may be
/// short.
pub fn decode_slot(file: &[u8], index: usize) -> Slot {
    let start = index * SLOT_LEN;
    let Some(b) = file.get(start..start + SLOT_LEN) else {
        return Slot::Blank;
    };
    if b.iter().all(|&x| x == 0) {
        return Slot::Blank;
    }
    let bad = |kind, msg: String| {
        Slot::Bad(
            Error::new(kind, format!("slot {}: {msg}", slot_name(index)))
                .within(Place::Superblock)
                .at(start as u64),
        )
    };
    let u64_at = |o: usize| u64::from_le_bytes(b[o..o + 8].try_into().unwrap_or_default());
    let magic = u32::from_le_bytes(b[0..4].try_into().unwrap_or_default());
    if magic != MAGIC {
        return bad(ErrorKind::BadMagic, format!("magic is {magic:#010x}"));
    }
    let stored = u32::from_le_bytes(b[CRC_AT..].try_into().unwrap_or_default());
    let computed = crc32c(&b[..CRC_AT]);
    if stored != computed {
        return bad(
            ErrorKind::Checksum,
            format!("CRC32C is {stored:#010x}, its bytes give {computed:#010x}"),
        );
    }
    let mut names = [String::new(), String::new()];
    let mut at = NAMES_AT;
    for name in &mut names {
        let n = usize::from(u16::from_le_bytes([b[at], b[at + 1]]));
        if at + 2 + n > CRC_AT {
            return bad(
                ErrorKind::Corrupt,
                format!("a {n}-byte file name at slot offset {at} runs past the slot"),
            );
        }
        match core::str::from_utf8(&b[at + 2..at + 2 + n]) {
            Ok(s) => *name = s.into(),
            Err(_) => return bad(ErrorKind::Corrupt, "a file name is not UTF-8".into()),
        }
        if let Err(m) = check_name(name) {
            return bad(ErrorKind::Corrupt, m);
        }
        at += 2 + n;
    }
    let owner = if at <= EXT_AT && b[EXT_AT..EXT_AT + 4] == EXT_MAGIC {
        let o = Owner {
            lo: u64_at(EXT_AT + 4),
            hi: u64_at(EXT_AT + 12),
            epoch: u64_at(EXT_AT + 20),
        };
        if o.lo > o.hi {
            return bad(
                ErrorKind::Corrupt,
                format!("the owned range {:#x}..{:#x} is empty", o.lo, o.hi),
            );
        }
        o
    } else {
        Owner::default()
    };
    let [snapshot, log] = names;
    Slot::Valid(Checkpoint {
        gen: u64_at(4),
        frontier: u64_at(12),
        arena_len: u64_at(20),
        snapshot,
        log,
        owner,
    })
}

/// `"A"` or `"B"`.
pub fn slot_name(index: usize) -> &'static str {
    if index == 0 {
        "A"
    } else {
        "B"
    }
}

/// What a superblock file says as a whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Superblock {
    /// Both slots as read.
    pub slots: [Slot; 2],
}

impl Superblock {
    /// Reads both slots of a superblock file's bytes.
    pub fn read(file: &[u8]) -> Superblock {
        Superblock {
            slots: [decode_slot(file, 0), decode_slot(file, 1)],
        }
    }

    /// The current checkpoint: the valid slot with the higher generation (slot A on a tie).
    ///
    /// `Ok(None)` means no checkpoint was ever committed: both slots are blank. A slot that was
    /// written but is unreadable while the other is valid is the torn write of a commit that
    /// never completed, so the valid slot stands. If no slot is valid and one is damaged, the
    /// directory's current generation is unknown: that is an error, never "start empty".
    pub fn current(&self) -> Result<Option<(usize, &Checkpoint)>> {
        let valid = |i: usize| match &self.slots[i] {
            Slot::Valid(c) => Some((i, c)),
            _ => None,
        };
        match (valid(0), valid(1)) {
            (Some(a), Some(b)) => Ok(Some(if b.1.gen > a.1.gen { b } else { a })),
            (Some(a), None) => Ok(Some(a)),
            (None, Some(b)) => Ok(Some(b)),
            (None, None) => {
                let damage: alloc::vec::Vec<String> = self
                    .slots
                    .iter()
                    .filter_map(|s| match s {
                        Slot::Bad(e) => Some(e.message.clone()),
                        _ => None,
                    })
                    .collect();
                if damage.is_empty() {
                    Ok(None)
                } else {
                    Err(Error::corrupt(format!(
                        "no valid slot ({}); the current checkpoint cannot be known",
                        damage.join("; ")
                    ))
                    .within(Place::Superblock))
                }
            }
        }
    }
}

impl Superblock {
    /// Why the current slot is current, in words: the decision of [`Superblock::current`]
    /// explained (the inspector shows it beside both slots). `None` when no slot is valid and
    /// one is damaged, which [`Superblock::current`] reports as an error.
    pub fn why(&self) -> Option<String> {
        let state = |i: usize| match &self.slots[i] {
            Slot::Blank => "blank",
            Slot::Valid(_) => "valid",
            Slot::Bad(_) => "damaged",
        };
        match (&self.slots[0], &self.slots[1]) {
            (Slot::Valid(a), Slot::Valid(b)) => Some(if b.gen > a.gen {
                format!("slot B holds the higher generation ({} > {})", b.gen, a.gen)
            } else if a.gen > b.gen {
                format!("slot A holds the higher generation ({} > {})", a.gen, b.gen)
            } else {
                format!("both slots hold generation {}; slot A wins a tie", a.gen)
            }),
            (Slot::Valid(_), _) | (_, Slot::Valid(_)) => {
                let (cur, other) = if matches!(self.slots[0], Slot::Valid(_)) {
                    (0, 1)
                } else {
                    (1, 0)
                };
                let tail = if state(other) == "damaged" {
                    " (a commit torn before it completed, or damage: the valid slot stands)"
                } else {
                    ""
                };
                Some(format!(
                    "slot {} is the only valid slot; slot {} is {}{tail}",
                    slot_name(cur),
                    slot_name(other),
                    state(other)
                ))
            }
            _ if self.slots.iter().all(|s| matches!(s, Slot::Blank)) => {
                Some("both slots are blank: no checkpoint was ever committed".into())
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cp(gen: u64) -> Checkpoint {
        Checkpoint {
            gen,
            frontier: 100 + gen,
            arena_len: 7,
            snapshot: format!("snap-{gen}.meguri"),
            log: format!("log-{}", gen + 1),
            owner: Owner::default(),
        }
    }

    fn file(slots: &[Checkpoint]) -> [u8; LEN] {
        let mut f = [0u8; LEN];
        for c in slots {
            let s = c.slot() * SLOT_LEN;
            f[s..s + SLOT_LEN].copy_from_slice(&encode_slot(c).unwrap());
        }
        f
    }

    #[test]
    fn picks_the_newer_valid_slot() {
        let f = file(&[cp(4), cp(5)]);
        let sb = Superblock::read(&f);
        assert_eq!(sb.current().unwrap().unwrap().1, &cp(5));
        let mut torn = f;
        torn[SLOT_LEN + 30] ^= 1;
        let sb = Superblock::read(&torn);
        assert!(matches!(sb.slots[1], Slot::Bad(_)));
        assert_eq!(sb.current().unwrap().unwrap().1, &cp(4));
    }

    #[test]
    fn blank_is_no_checkpoint_but_damage_is_an_error() {
        assert_eq!(Superblock::read(&[]).current().unwrap(), None);
        assert_eq!(Superblock::read(&[0; LEN]).current().unwrap(), None);
        let mut f = file(&[cp(1)]);
        f[SLOT_LEN + 5] ^= 0x40;
        let e = Superblock::read(&f).current().unwrap_err();
        assert!(e.message.contains("slot B"), "{e}");
    }

    #[test]
    fn refuses_names_that_leave_the_directory() {
        let mut c = cp(2);
        c.snapshot = "../etc/passwd".into();
        assert!(encode_slot(&c).is_err());
        // The same name with a valid CRC, as a crafted file would carry it.
        let mut b = encode_slot(&cp(2)).unwrap();
        let name = b"../x";
        b[30..34].copy_from_slice(name);
        b[28..30].copy_from_slice(&4u16.to_le_bytes());
        let crc = crc32c(&b[..CRC_AT]);
        b[CRC_AT..].copy_from_slice(&crc.to_le_bytes());
        assert!(matches!(decode_slot(&b, 0), Slot::Bad(_)));
        // A name length that runs past the slot.
        b[28..30].copy_from_slice(&300u16.to_le_bytes());
        let crc = crc32c(&b[..CRC_AT]);
        b[CRC_AT..].copy_from_slice(&crc.to_le_bytes());
        assert!(matches!(decode_slot(&b, 0), Slot::Bad(_)));
    }

    #[test]
    fn the_owner_extension_round_trips_and_a_default_one_is_not_written() {
        let plain = encode_slot(&cp(3)).unwrap();
        assert!(plain[EXT_AT..CRC_AT].iter().all(|&b| b == 0));
        let mut c = cp(3);
        c.owner = Owner {
            lo: 0x10,
            hi: 0x7fff_ffff_ffff_ffff,
            epoch: 9,
        };
        let b = encode_slot(&c).unwrap();
        assert_eq!(&b[EXT_AT..EXT_AT + 4], b"MGX1");
        assert_eq!(decode_slot(&b, 0), Slot::Valid(c.clone()));
        // An empty range is refused both ways.
        c.owner.lo = c.owner.hi + 1;
        assert!(encode_slot(&c).is_err());
        let mut bad = b;
        bad[EXT_AT + 4..EXT_AT + 12].copy_from_slice(&u64::MAX.to_le_bytes());
        let crc = crc32c(&bad[..CRC_AT]);
        bad[CRC_AT..].copy_from_slice(&crc.to_le_bytes());
        assert!(matches!(decode_slot(&bad, 0), Slot::Bad(_)));
    }

    #[test]
    fn reads_the_reference_layout() {
        // Slot B of a reference directory after its first checkpoint, rebuilt from the layout.
        let f = file(&[cp(1)]);
        assert_eq!(&f[SLOT_LEN..SLOT_LEN + 4], &[0x55, 0x47, 0x45, 0x4D]);
        assert!(f[..SLOT_LEN].iter().all(|&b| b == 0));
    }
}
