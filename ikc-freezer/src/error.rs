//! Errors of the codecs.

/// Why a value could not be encoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FreezeError {
    /// The value is nested deeper than the codec allows.
    #[error("value nested deeper than {limit} levels")]
    TooDeep {
        /// The depth limit.
        limit: usize,
    },
    /// The value cannot be written in this format.
    #[error("cannot encode {what} with {codec}")]
    Unsupported {
        /// The codec's name.
        codec: String,
        /// What could not be encoded.
        what: String,
    },
}

/// Why bytes could not be decoded into a value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ThawError {
    /// The input ended in the middle of a value.
    #[error("input ended unexpectedly at byte {offset}")]
    UnexpectedEnd {
        /// Where the input ended.
        offset: usize,
    },
    /// Bytes remain after a complete value.
    #[error("{count} trailing bytes after the value at byte {offset}")]
    TrailingData {
        /// Where the extra bytes start.
        offset: usize,
        /// How many there are.
        count: usize,
    },
    /// The input is not in this codec's format.
    #[error("malformed input at byte {offset}: {reason}")]
    Malformed {
        /// Where the problem is.
        offset: usize,
        /// What is wrong.
        reason: String,
    },
    /// The input is nested deeper than the limit.
    #[error("input nested deeper than {limit} levels")]
    TooDeep {
        /// The depth limit.
        limit: usize,
    },
    /// The input declares more elements, or a longer string, than the limit
    /// or the input itself can hold.
    #[error("{what} of {declared} exceeds the limit of {limit}")]
    TooLarge {
        /// What was too large (`array length`, `string length`, ...).
        what: &'static str,
        /// What the input declared.
        declared: u64,
        /// The limit that applied.
        limit: u64,
    },
    /// The input is well formed but uses a feature this codec refuses to
    /// decode (code references, tied variables, `STORABLE_freeze` hooks,
    /// expressions that are not data, ...).
    #[error("unsupported at byte {offset}: {what}")]
    Unsupported {
        /// Where the feature appears.
        offset: usize,
        /// What it is, and why it is refused.
        what: String,
    },
    /// A reference points back to a value that contains it. Values are
    /// trees, so a cyclic structure cannot be represented.
    #[error("cyclic reference at byte {offset}: a value cannot contain itself")]
    Cycle {
        /// Where the back-reference is.
        offset: usize,
    },
}

/// Why a Rust value could not be converted to or from a [`Value`](crate::Value)
/// by [`to_value`](crate::to_value) or [`from_value`](crate::from_value).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ValueError {
    /// A message from the type's `Serialize` or `Deserialize` implementation,
    /// or from serde (a missing field, an unknown variant, ...).
    #[error("{0}")]
    Custom(String),
    /// The value has the wrong kind for the Rust type asked for.
    #[error("expected {expected}, found {found}")]
    InvalidType {
        /// What the Rust type needs.
        expected: String,
        /// What the value is.
        found: String,
    },
    /// A number does not fit the Rust type asked for (never truncated).
    #[error("{value} does not fit in {target}")]
    OutOfRange {
        /// The number, as text.
        value: String,
        /// The Rust type.
        target: &'static str,
    },
    /// A map key is neither a string, bytes, a number, a char nor a bool
    /// (Perl hash keys are strings).
    #[error("a hash key must be a string, bytes, a number, a char or a bool, not {0}")]
    InvalidKey(&'static str),
}
