//! A small JSON writer for the values the page asks for.
//!
//! The API hands JavaScript one JSON string per call, which the worker parses and posts to the
//! page as is. Writing it by hand keeps serde out of the bundle (the page's download is part of
//! what the inspector is judged on). Numbers above 2^53 cannot travel as JSON numbers without
//! losing bits, so keys and 64-bit fields go as hex or decimal strings.

use std::fmt::Write;

/// An object or array under construction.
pub struct Json {
    out: String,
    first: bool,
    close: char,
}

impl Json {
    /// A new `{…}`.
    pub fn object() -> Json {
        Json {
            out: String::from("{"),
            first: true,
            close: '}',
        }
    }

    /// A new `[…]`.
    pub fn array() -> Json {
        Json {
            out: String::from("["),
            first: true,
            close: ']',
        }
    }

    fn sep(&mut self) {
        if !self.first {
            self.out.push(',');
        }
        self.first = false;
    }

    fn key(&mut self, k: &str) {
        self.sep();
        quote(&mut self.out, k);
        self.out.push(':');
    }

    /// A string member.
    pub fn str(mut self, k: &str, v: &str) -> Json {
        self.key(k);
        quote(&mut self.out, v);
        self
    }

    /// A number member (exact below 2^53; callers send larger values as strings).
    pub fn num(mut self, k: &str, v: impl Into<f64>) -> Json {
        self.key(k);
        number(&mut self.out, v.into());
        self
    }

    /// A u64 member as a JSON number (for counts and offsets, which stay far below 2^53 for
    /// any file a browser can open).
    pub fn u64(mut self, k: &str, v: u64) -> Json {
        self.key(k);
        let _ = write!(self.out, "{v}");
        self
    }

    /// A u64 member as `"0x%016x"`.
    pub fn hex(self, k: &str, v: u64) -> Json {
        self.str(k, &hex(v))
    }

    /// A boolean member.
    pub fn bool(mut self, k: &str, v: bool) -> Json {
        self.key(k);
        self.out.push_str(if v { "true" } else { "false" });
        self
    }

    /// A `null` member.
    pub fn null(mut self, k: &str) -> Json {
        self.key(k);
        self.out.push_str("null");
        self
    }

    /// A member whose value is already JSON.
    pub fn raw(mut self, k: &str, json: &str) -> Json {
        self.key(k);
        self.out.push_str(json);
        self
    }

    /// An array element that is already JSON.
    pub fn push_raw(&mut self, json: &str) {
        self.sep();
        self.out.push_str(json);
    }

    /// An array element string.
    pub fn push_str(&mut self, v: &str) {
        self.sep();
        quote(&mut self.out, v);
    }

    /// An array element number.
    pub fn push_num(&mut self, v: impl Into<f64>) {
        self.sep();
        number(&mut self.out, v.into());
    }

    /// The finished text.
    pub fn done(mut self) -> String {
        self.out.push(self.close);
        self.out
    }
}

/// `0x%016x`, the way every text output of meguri prints a host key.
pub fn hex(v: u64) -> String {
    format!("0x{v:016x}")
}

fn number(out: &mut String, v: f64) {
    if v.is_finite() {
        let _ = write!(out, "{v}");
    } else {
        // JSON has no NaN or infinity; the page shows null as "–".
        out.push_str("null");
    }
}

/// Appends `s` as a JSON string literal.
pub fn quote(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}
