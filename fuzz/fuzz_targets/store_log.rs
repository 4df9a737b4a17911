//! Feeds arbitrary bytes to the store's codecs: a log (parsed frame by frame, as replay does)
//! and a superblock. Every frame that parses must re-encode to the same bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use meguri_core::store::frame::{encode, parse, Parsed};
use meguri_core::store::superblock::{encode_slot, Slot, Superblock};

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
            encode_slot(c).expect("a valid slot re-encodes");
        }
    }
    let _ = sb.current();
});
