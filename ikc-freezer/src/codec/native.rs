//! Our native codec, `IKC::Native`: postcard's encoding of a [`Value`].
//!
//! The bytes are exactly what `postcard` writes for this enum (a test
//! checks it against postcard itself), so any postcard implementation can
//! read them:
//!
//! ```text
//! enum Wire {                         // variant index as a varint
//!     Undef,                          // 0
//!     Bool(bool),                     // 1: one byte, 0 or 1
//!     Int(i64),                       // 2: zigzag varint
//!     UInt(u64),                      // 3: varint
//!     Float(f64),                     // 4: 8 bytes, little-endian
//!     Bytes(Vec<u8>),                 // 5: varint length, bytes
//!     Str(String),                    // 6: varint length, UTF-8
//!     Array(Vec<Wire>),               // 7: varint count, elements
//!     Hash(Vec<(WireKey, Wire)>),     // 8: varint count, key/value pairs
//!     Ref(Box<Wire>),                 // 9
//!     Blessed(String, Box<Wire>),     // 10: class, then the reference
//! }
//! enum WireKey { Str(String), Bytes(Vec<u8>) }   // 0, 1
//! ```
//!
//! It is lossless: every [`Value`] (booleans, floats, unsigned integers,
//! byte versus character strings, classes) comes back as it went. The
//! encoder and decoder are written by hand rather than through serde so the
//! decoder can check every count against the bytes left and keep its own
//! stack instead of recursing.

mod reader;
mod writer;

use crate::codec::{Freezer, NATIVE};
use crate::error::{FreezeError, ThawError};
use crate::limits::Limits;
use crate::value::Value;

/// Variant indexes of `Wire`.
mod tag {
    pub(super) const UNDEF: u8 = 0;
    pub(super) const BOOL: u8 = 1;
    pub(super) const INT: u8 = 2;
    pub(super) const UINT: u8 = 3;
    pub(super) const FLOAT: u8 = 4;
    pub(super) const BYTES: u8 = 5;
    pub(super) const STR: u8 = 6;
    pub(super) const ARRAY: u8 = 7;
    pub(super) const HASH: u8 = 8;
    pub(super) const REF: u8 = 9;
    pub(super) const BLESSED: u8 = 10;
    /// `WireKey::Str`.
    pub(super) const KEY_STR: u8 = 0;
    /// `WireKey::Bytes`.
    pub(super) const KEY_BYTES: u8 = 1;
}

/// The native codec: fast and lossless, for Rust peers (`IKC::Native`).
///
/// ```
/// use ikc_freezer::{Freezer, Native, Value};
///
/// let value = Value::from(vec![Value::Bool(true), Value::Float(0.1), Value::UInt(u64::MAX)]);
/// let mut bytes = Vec::new();
/// Native::new().freeze(&value, &mut bytes)?;
/// assert_eq!(Native::new().thaw(&bytes)?, value);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct Native {
    limits: Limits,
}

impl Native {
    /// The codec with the default [`Limits`].
    pub fn new() -> Self {
        Self::default()
    }

    /// The codec with the given decoding (and encoding depth) limits.
    pub fn with_limits(limits: Limits) -> Self {
        Self { limits }
    }

    /// The limits this codec applies.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }
}

impl Freezer for Native {
    fn name(&self) -> &str {
        NATIVE
    }

    fn freeze(&self, value: &Value, out: &mut Vec<u8>) -> Result<(), FreezeError> {
        let start = out.len();
        let result = writer::freeze(value, out, self.limits.max_depth);
        if result.is_err() {
            out.truncate(start);
        }
        result
    }

    fn thaw(&self, bytes: &[u8]) -> Result<Value, ThawError> {
        reader::thaw(bytes, self.limits)
    }
}

#[cfg(test)]
mod tests;
