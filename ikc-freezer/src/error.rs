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
}
