//! The error returned when a specifier cannot be parsed.

use std::fmt;

/// Why a specifier string (or array form) was rejected.
///
/// The message names the part that is wrong and the byte offset in the
/// input where the problem starts, so a user can find it in a long line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid specifier {input:?}: {kind} (at byte {position})")]
pub struct ParseError {
    /// The text that was given to the parser (or the array form, joined by `/`).
    pub input: String,
    /// Byte offset in `input` where the problem was found.
    pub position: usize,
    /// What is wrong.
    pub kind: ParseErrorKind,
}

/// The specific reason a specifier was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ParseErrorKind {
    /// The input was empty. IKC treats an empty specifier as "no specifier".
    Empty,
    /// A kernel name that is neither a name, `*`, `host:port` nor `unix:name`.
    BadKernel(String),
    /// A session name with a character IKC does not allow (letters, digits,
    /// `_`, `-` and space), or an empty name in a comma list.
    BadSession(String),
    /// A state name with a character IKC does not allow (letters, digits,
    /// `_`, `-` and space).
    BadState(String),
    /// The `?arg` suffix is empty or holds something other than word characters.
    BadArg(String),
    /// `*` was mixed with names in a comma list (`poe://*,a/...`).
    WildcardInList,
    /// Something follows a complete specifier (for example a fourth path part).
    TrailingInput(String),
    /// The array form must have 2 (`[session, state]`, IKC) or 3
    /// (`[kernel, session, state]`, Lightspeed) elements.
    BadArrayLength(usize),
}

impl fmt::Display for ParseErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("empty specifier"),
            Self::BadKernel(k) => write!(
                f,
                "bad kernel name {k:?} (expected a name of letters, digits, '_', '-', '.', ' ', \
                 or '*', or host:port, or unix:name)"
            ),
            Self::BadSession(s) => write!(
                f,
                "bad session name {s:?} (expected letters, digits, '_', '-' or ' ', or '*')"
            ),
            Self::BadState(s) => write!(
                f,
                "bad state name {s:?} (expected letters, digits, '_', '-' or ' ')"
            ),
            Self::BadArg(a) => write!(f, "bad ?arg {a:?} (expected letters, digits or '_')"),
            Self::WildcardInList => f.write_str("'*' cannot be combined with other names"),
            Self::TrailingInput(t) => write!(f, "unexpected {t:?} after the specifier"),
            Self::BadArrayLength(n) => write!(
                f,
                "array form needs 2 ([session, state]) or 3 ([kernel, session, state]) \
                 elements, got {n}"
            ),
        }
    }
}
