//! The byte sources behind a [`crate::MeguriFile`]: a JavaScript callback or bytes in memory,
//! shared between the strict reader and the verifier, with counters of reads and bytes.

use meguri_core::error::{Error, ErrorKind, Result};
use meguri_core::source::Source;
use std::borrow::Cow;
use std::cell::Cell;
use std::rc::Rc;
use wasm_bindgen::{JsCast, JsValue};

/// A JavaScript `read(offset, len) -> Uint8Array` callback over a file of `len` bytes.
pub struct JsRead {
    len: u64,
    read: js_sys::Function,
}

impl JsRead {
    /// Wraps the callback.
    pub fn new(len: u64, read: js_sys::Function) -> JsRead {
        JsRead { len, read }
    }

    fn fetch(&self, offset: u64, len: usize) -> Result<Vec<u8>> {
        let fail = |msg: String| Error::new(ErrorKind::Source, msg).at(offset);
        let v = self
            .read
            .call2(
                &JsValue::NULL,
                &JsValue::from_f64(offset as f64),
                &JsValue::from_f64(len as f64),
            )
            .map_err(|e| {
                fail(format!(
                    "reading {len} bytes failed: {}",
                    e.as_string()
                        .or_else(|| js_sys::Error::from(e).message().as_string())
                        .unwrap_or_default()
                ))
            })?;
        if !v.is_instance_of::<js_sys::Uint8Array>() {
            return Err(fail(String::from(
                "the read callback did not return a Uint8Array",
            )));
        }
        Ok(js_sys::Uint8Array::from(v).to_vec())
    }
}

enum Kind {
    Js(JsRead),
    Bytes(Vec<u8>),
}

struct Inner {
    kind: Kind,
    reads: Cell<u64>,
    bytes: Cell<u64>,
}

/// A cheaply cloned source (the reader owns one clone, the verifier borrows another).
#[derive(Clone)]
pub struct Shared(Rc<Inner>);

impl Shared {
    fn of(kind: Kind) -> Shared {
        Shared(Rc::new(Inner {
            kind,
            reads: Cell::new(0),
            bytes: Cell::new(0),
        }))
    }

    /// A source read through JavaScript.
    pub fn js(r: JsRead) -> Shared {
        Shared::of(Kind::Js(r))
    }

    /// A source in memory.
    pub fn bytes(b: Vec<u8>) -> Shared {
        Shared::of(Kind::Bytes(b))
    }

    /// Reads so far.
    pub fn reads(&self) -> u64 {
        self.0.reads.get()
    }

    /// Bytes delivered so far.
    pub fn bytes_read(&self) -> u64 {
        self.0.bytes.get()
    }
}

impl Source for Shared {
    fn len(&self) -> u64 {
        match &self.0.kind {
            Kind::Js(r) => r.len,
            Kind::Bytes(b) => b.len() as u64,
        }
    }

    fn read_at(&self, offset: u64, len: usize) -> Result<Cow<'_, [u8]>> {
        self.0.reads.set(self.0.reads.get() + 1);
        self.0.bytes.set(self.0.bytes.get() + len as u64);
        match &self.0.kind {
            Kind::Js(r) => {
                let v = r.fetch(offset, len)?;
                if v.len() != len {
                    return Err(Error::new(
                        ErrorKind::Source,
                        format!("asked for {len} bytes, the file gave {}", v.len()),
                    )
                    .at(offset));
                }
                Ok(Cow::Owned(v))
            }
            Kind::Bytes(b) => b.as_slice().read_at(offset, len),
        }
    }
}
