//! What is left of the hand-built JSON helpers: `cmd::live` (not yet an operation) still
//! formats keys with [`hex`]. Reports now serialize through `meguri_core::report`; this module
//! goes when `live` moves onto it.

/// A host key as the `0x%016x` string the text outputs use.
pub fn hex(v: u64) -> String {
    format!("0x{v:016x}")
}
