//! zstd payloads under the format's frame rules: the pure and the C decoder give the same
//! verdict and the same bytes on every input, and the streaming check (fed in pieces) agrees
//! with the whole-payload decode. The first four bytes are the declared decoded size (at most
//! 1 MiB), the fifth the piece size; the rest is the payload.
#![no_main]

use libfuzzer_sys::fuzz_target;
use meguri_core::format::codec::{decompress, ZstdBackend, CODEC_ZSTD};
use meguri_core::format::zstd_frame::check_stream;

fuzz_target!(|data: &[u8]| {
    if data.len() < 5 {
        return;
    }
    let expected = u32::from_le_bytes([data[0], data[1], data[2], data[3]]).min(1 << 20) as usize;
    let piece = usize::from(data[4]).max(1) * 7;
    let payload = &data[5..];
    let pure = decompress(CODEC_ZSTD, payload, expected, ZstdBackend::Pure, 1000);
    let c = decompress(CODEC_ZSTD, payload, expected, ZstdBackend::C, 1000);
    match (&pure, &c) {
        (Ok(a), Ok(b)) => assert_eq!(a, b, "the backends decode differently"),
        (Err(a), Err(b)) => assert_eq!(a, b, "the backends refuse in different words"),
        _ => panic!("the backends disagree: pure {:?}, C {:?}", pure.is_ok(), c.is_ok()),
    }
    if !payload.is_empty() {
        let streamed = check_stream(payload, 1000, expected as u64, piece);
        assert_eq!(streamed.is_ok(), pure.is_ok(), "streaming check disagrees: {streamed:?} vs {pure:?}");
    }
});
