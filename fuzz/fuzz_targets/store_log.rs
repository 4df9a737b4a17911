//! Feeds arbitrary bytes to the store's codecs: a log (parsed frame by frame, as replay does)
//! and a superblock. Every frame that parses must re-encode to the same bytes, and every valid
//! slot must re-encode to a slot that decodes to the same checkpoint.
#![no_main]

use libfuzzer_sys::fuzz_target;
use meguri_core::store::frame::{encode, parse, Parsed};
use meguri_core::store::superblock::{decode_slot, encode_slot, Slot, Superblock};

fuzz_target!(|data: &[u8]| {
    let mut at = 0;
    while let Parsed::Frame(f) = parse(&data[at..], at as u64) {
        if let Some(u) = &f.update {
            let mut out = Vec::new();
            encode(f.lsn, u, &mut out).expect("a parsed frame re-encodes");
            assert_eq!(&out[..], &data[at..at + f.len]);
        }
        at += f.len;
    }
    let sb = Superblock::read(data);
    for s in &sb.slots {
        if let Slot::Valid(c) = s {
            // Names, frontier and the owner extension (range and epoch) all round-trip.
            let b = encode_slot(c).expect("a valid slot re-encodes");
            assert_eq!(decode_slot(&b, 0), Slot::Valid(c.clone()));
        }
    }
    let _ = sb.current();
});
