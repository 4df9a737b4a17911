//! Fixed-size structures, each declared once.
//!
//! A `layout!` declaration lists a structure's fields in file order with their types. The
//! struct, the byte offset of every field, the total length, the reader and the writer all come
//! from that one list, so a field cannot be read at one offset and written at another, and an
//! error or a `verify` finding that points at a field names its offset constant rather than a
//! number.
//!
//! Every layout gets:
//! - a module of offsets (`header_at::FLAGS`, `page_at::CRC`, ...) and its length `LEN`;
//! - `read(&[u8; LEN])`: the fields as found, judged by nobody;
//! - `take(&mut Cursor)`: the same from a cursor, failing with the field's name when the bytes
//!   run out (for layouts inside a variable-length body, such as the footer's sections);
//! - `to_bytes()` and `encode(&mut Vec<u8>)`: the fields as stored.

/// A little-endian field of a fixed layout.
pub trait Field: Copy {
    /// Bytes on disk.
    const SIZE: usize;
    /// Reads the field from the start of `b`; missing bytes read as zero (the layouts only ever
    /// hand over whole fields, so this never happens, but it cannot panic if it did).
    fn get(b: &[u8]) -> Self;
    /// Writes the field to the start of `b` (as much of it as fits).
    fn set(self, b: &mut [u8]);
}

/// The first `N` bytes of `b`, zero-padded.
fn array<const N: usize>(b: &[u8]) -> [u8; N] {
    let mut a = [0u8; N];
    let n = b.len().min(N);
    a[..n].copy_from_slice(&b[..n]);
    a
}

fn put<const N: usize>(a: [u8; N], b: &mut [u8]) {
    let n = b.len().min(N);
    b[..n].copy_from_slice(&a[..n]);
}

macro_rules! le_field {
    ($($t:ty),*) => {$(
        impl Field for $t {
            const SIZE: usize = core::mem::size_of::<$t>();
            fn get(b: &[u8]) -> Self {
                <$t>::from_le_bytes(array(b))
            }
            fn set(self, b: &mut [u8]) {
                put(self.to_le_bytes(), b)
            }
        }
    )*};
}
le_field!(u8, u16, u32, u64, f32);

impl<const N: usize> Field for [u8; N] {
    const SIZE: usize = N;
    fn get(b: &[u8]) -> Self {
        array(b)
    }
    fn set(self, b: &mut [u8]) {
        put(self, b)
    }
}

/// Declares a fixed layout: the struct, its offsets module and its reader and writer (see the
/// module documentation). Each field line is `name: type = OFFSET_CONST, "name in errors";`.
macro_rules! layout {
    (
        $(#[$meta:meta])*
        pub struct $name:ident in $at:ident {
            $(
                $(#[$fmeta:meta])*
                $field:ident: $ty:ty = $off:ident, $label:literal;
            )*
        }
    ) => {
        $(#[$meta])*
        pub struct $name {
            $(
                $(#[$fmeta])*
                pub $field: $ty,
            )*
        }

        #[doc = concat!("Byte offsets of the fields of [`", stringify!($name), "`], and its length.")]
        pub mod $at {
            $crate::format::layout::offsets!(0; $($field: $ty = $off),*);
        }

        impl $name {
            /// Reads the fields as found.
            pub fn read(b: &[u8; $at::LEN]) -> Self {
                $name {
                    $($field: <$ty as $crate::format::layout::Field>::get(&b[$at::$off..]),)*
                }
            }

            /// Reads the fields from `c`, naming the field whose bytes run out.
            pub fn take(c: &mut $crate::bytes::Cursor<'_>) -> $crate::error::Result<Self> {
                Ok($name {
                    $($field: <$ty as $crate::format::layout::Field>::get(
                        c.take(<$ty as $crate::format::layout::Field>::SIZE, $label)?,
                    ),)*
                })
            }

            /// The fields as stored.
            pub fn to_bytes(&self) -> [u8; $at::LEN] {
                let mut b = [0u8; $at::LEN];
                $($crate::format::layout::Field::set(self.$field, &mut b[$at::$off..]);)*
                b
            }

            /// Appends the fields as stored.
            pub fn encode(&self, out: &mut alloc::vec::Vec<u8>) {
                out.extend_from_slice(&self.to_bytes());
            }
        }
    };
}
pub(crate) use layout;

/// The offset constants of a layout: each field starts where the one before it ends.
macro_rules! offsets {
    ($at:expr; ) => {
        /// Length of the whole layout in bytes.
        pub const LEN: usize = $at;
    };
    ($at:expr; $field:ident: $ty:ty = $off:ident $(, $rf:ident: $rty:ty = $roff:ident)*) => {
        #[doc = concat!("Offset of `", stringify!($field), "`.")]
        pub const $off: usize = $at;
        $crate::format::layout::offsets!(
            $off + <$ty as $crate::format::layout::Field>::SIZE;
            $($rf: $rty = $roff),*
        );
    };
}
pub(crate) use offsets;
