//! Bearer-token authentication: the tokens come from a file, clients present one as
//! `authorization: Bearer <token>` (gRPC metadata, or the HTTP header for /metrics).

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tonic::service::Interceptor;
use tonic::{Request, Status};

/// The accepted tokens; checks a request's `authorization` value against them. Cheap to
/// clone. As a tonic [`Interceptor`] it refuses calls with `UNAUTHENTICATED`.
#[derive(Clone)]
pub struct BearerAuth {
    tokens: Arc<[Box<[u8]>]>,
}

impl fmt::Debug for BearerAuth {
    // Never print the tokens themselves.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BearerAuth({} tokens)", self.tokens.len())
    }
}

/// Why a token file was refused.
#[derive(Debug)]
pub struct TokenError {
    /// The file.
    pub path: PathBuf,
    /// What is wrong with it.
    pub reason: String,
}

impl fmt::Display for TokenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "token file {}: {}", self.path.display(), self.reason)
    }
}

impl std::error::Error for TokenError {}

/// Why a request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthFailure {
    /// No `authorization` value at all.
    Missing,
    /// A value that is not `Bearer <one of the tokens>`.
    Invalid,
}

impl AuthFailure {
    /// The message sent to the client.
    pub fn message(self) -> &'static str {
        match self {
            AuthFailure::Missing => {
                "missing `authorization: Bearer <token>` metadata: this server requires a token"
            }
            AuthFailure::Invalid => "the bearer token is not one this server accepts",
        }
    }
}

impl BearerAuth {
    /// Reads the tokens of `path`: one per line, surrounding whitespace trimmed, blank lines
    /// and lines starting with `#` skipped. A token must be printable ASCII without spaces
    /// (it travels in a header). Several lines allow rotating tokens without a restart of
    /// the clients.
    pub fn from_file(path: &Path) -> Result<Self, TokenError> {
        let err = |reason: String| TokenError {
            path: path.to_path_buf(),
            reason,
        };
        let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
        let mut tokens = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let t = line.trim();
            if t.is_empty() || t.starts_with('#') {
                continue;
            }
            if !t.bytes().all(|b| b.is_ascii_graphic()) {
                return Err(err(format!(
                    "line {}: a token must be printable ASCII without spaces",
                    i + 1
                )));
            }
            tokens.push(t.as_bytes().into());
        }
        if tokens.is_empty() {
            return Err(err("holds no token".into()));
        }
        Ok(BearerAuth {
            tokens: tokens.into(),
        })
    }

    /// Accepts exactly these tokens (for tests and embedding).
    pub fn new<I: IntoIterator<Item = S>, S: AsRef<str>>(tokens: I) -> Self {
        BearerAuth {
            tokens: tokens
                .into_iter()
                .map(|t| t.as_ref().as_bytes().into())
                .collect(),
        }
    }

    /// Checks an `authorization` value (`None` when absent). The scheme is matched without
    /// regard to case, as HTTP wants; the token exactly, in time independent of where it
    /// differs.
    pub fn check(&self, authorization: Option<&[u8]>) -> Result<(), AuthFailure> {
        let value = authorization.ok_or(AuthFailure::Missing)?;
        let token = match value.split_at_checked(7) {
            Some((scheme, rest)) if scheme.eq_ignore_ascii_case(b"bearer ") => rest.trim_ascii(),
            _ => return Err(AuthFailure::Invalid),
        };
        // Every token is compared, so timing does not tell which one came close either.
        let mut ok = false;
        for t in self.tokens.iter() {
            ok |= constant_time_eq(t, token);
        }
        if ok {
            Ok(())
        } else {
            Err(AuthFailure::Invalid)
        }
    }
}

/// Equality whose time depends on the lengths only, not on the position of a difference.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    // Keeps the optimiser from turning the fold into an early-exit comparison.
    std::hint::black_box(diff) == 0
}

impl Interceptor for BearerAuth {
    fn call(&mut self, req: Request<()>) -> Result<Request<()>, Status> {
        let value = req.metadata().get("authorization").map(|v| v.as_bytes());
        match self.check(value) {
            Ok(()) => Ok(req),
            Err(f) => Err(Status::unauthenticated(f.message())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_scheme_and_token() {
        let a = BearerAuth::new(["s3cret", "next-one"]);
        assert_eq!(a.check(None), Err(AuthFailure::Missing));
        assert_eq!(a.check(Some(b"Bearer s3cret")), Ok(()));
        assert_eq!(a.check(Some(b"bearer next-one")), Ok(()));
        assert_eq!(a.check(Some(b"BEARER  s3cret ")), Ok(()));
        for bad in [
            &b"Bearer s3cre"[..],
            b"Bearer s3cret2",
            b"Basic s3cret",
            b"s3cret",
            b"Bearer",
            b"",
        ] {
            assert_eq!(a.check(Some(bad)), Err(AuthFailure::Invalid), "{bad:?}");
        }
    }

    #[test]
    fn token_file_format() {
        let dir = std::env::temp_dir().join(format!("meguri-auth-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let f = dir.join("tokens");
        std::fs::write(&f, "# rotated monthly\n\n  alpha  \nbeta\n").unwrap();
        let a = BearerAuth::from_file(&f).unwrap();
        assert_eq!(format!("{a:?}"), "BearerAuth(2 tokens)");
        assert!(a.check(Some(b"Bearer alpha")).is_ok() && a.check(Some(b"Bearer beta")).is_ok());
        std::fs::write(&f, "# nothing\n\n").unwrap();
        let e = BearerAuth::from_file(&f).unwrap_err().to_string();
        assert!(e.ends_with("holds no token"), "{e}");
        std::fs::write(&f, "ok\nwith space\n").unwrap();
        let e = BearerAuth::from_file(&f).unwrap_err().to_string();
        assert!(e.contains("line 2"), "{e}");
        let e = BearerAuth::from_file(&dir.join("absent"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("absent"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
