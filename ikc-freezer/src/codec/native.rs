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

use std::fmt;

use crate::codec::{Freezer, NATIVE};
use crate::error::{FreezeError, ThawError};
use crate::limits::Limits;
use crate::value::{Key, Value};

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

    /// Write a value piece by piece (a hash, its keys, its values), for
    /// callers that encode a known shape without building a [`Value`]
    /// first. The bytes are exactly what [`freeze`](Freezer::freeze)
    /// writes for the value the pieces describe.
    ///
    /// ```
    /// use ikc_freezer::{Freezer, Hash, Native, Value};
    ///
    /// let native = Native::new();
    /// let mut pieces = Vec::new();
    /// let mut enc = native.encoder(&mut pieces);
    /// enc.hash(2, 0)?;
    /// enc.key("event");
    /// enc.str("poe://Server/test/here");
    /// enc.key("params");
    /// enc.value(&Value::Int(42), 1)?;
    ///
    /// let mut hash = Hash::new();
    /// hash.insert("event", "poe://Server/test/here");
    /// hash.insert("params", 42);
    /// let mut whole = Vec::new();
    /// native.freeze(&Value::Hash(hash), &mut whole)?;
    /// assert_eq!(pieces, whole);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn encoder<'a>(&self, out: &'a mut Vec<u8>) -> NativeEncoder<'a> {
        NativeEncoder {
            writer: writer::Writer {
                out,
                max_depth: self.limits.max_depth,
            },
        }
    }

    /// Read a value piece by piece, with this codec's limits counted over
    /// the whole input as [`thaw`](Freezer::thaw) counts them. Pieces that
    /// do not match what is there are errors.
    ///
    /// # Errors
    ///
    /// [`ThawError::TooLarge`] when `bytes` is over the input limit.
    pub fn decoder<'a>(&self, bytes: &'a [u8]) -> Result<NativeDecoder<'a>, ThawError> {
        Ok(NativeDecoder {
            reader: reader::Reader::new(bytes, self.limits)?,
        })
    }
}

/// Writes the native encoding piece by piece; see [`Native::encoder`].
/// Nesting levels count from 0 (the outermost value), as the depth limit
/// does.
pub struct NativeEncoder<'a> {
    writer: writer::Writer<'a>,
}

impl fmt::Debug for NativeEncoder<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NativeEncoder")
            .field("written", &self.writer.out.len())
            .finish_non_exhaustive()
    }
}

impl NativeEncoder<'_> {
    /// The start of a hash of `len` entries at nesting level `depth`; the
    /// entries follow as [`key`](Self::key) then a value.
    ///
    /// # Errors
    ///
    /// [`FreezeError::TooDeep`] at the depth limit.
    pub fn hash(&mut self, len: usize, depth: usize) -> Result<(), FreezeError> {
        self.writer.hash_header(len, depth)
    }

    /// A hash key given as text (as `Key::from(&str)` is written).
    pub fn key(&mut self, key: &str) {
        self.writer.text_key(key);
    }

    /// A character string (as `Value::Str` is written).
    pub fn str(&mut self, s: &str) {
        self.writer.str(s);
    }

    /// An integer (as `Value::Int` is written).
    pub fn int(&mut self, i: i64) {
        // Never fails: scalars have no depth.
        let _ = self.writer.value(&Value::Int(i), 0);
    }

    /// A whole value at nesting level `depth`.
    ///
    /// # Errors
    ///
    /// [`FreezeError::TooDeep`] when it nests past the depth limit.
    pub fn value(&mut self, value: &Value, depth: usize) -> Result<(), FreezeError> {
        self.writer.value(value, depth)
    }

    /// Everything in the output so far (what it held before this encoder
    /// started, then what it wrote).
    pub fn written(&self) -> &[u8] {
        self.writer.out
    }

    /// Append `encoding`, the bytes an encoder of the same codec wrote
    /// earlier for a value at the same nesting level (a slice of
    /// [`written`](Self::written)): a writer that sends the same value
    /// again and again (a message's fixed parts) writes it once.
    pub fn append_encoded(&mut self, encoding: &[u8]) {
        self.writer.out.extend_from_slice(encoding);
    }
}

/// A string read by [`NativeDecoder::string`], borrowed from the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NativeString<'a> {
    /// A character string (`Value::Str`).
    Str(&'a str),
    /// A byte string (`Value::Bytes`).
    Bytes(&'a [u8]),
}

/// A hash key read by [`NativeDecoder::key_ref`], borrowed from the input:
/// a reader that knows the keys it expects compares the bytes and builds
/// a [`Key`] only for the others.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NativeKey<'a> {
    bytes: &'a [u8],
    /// A text key (valid UTF-8, checked when read), or a byte key.
    text: bool,
}

impl<'a> NativeKey<'a> {
    /// The key's bytes (UTF-8 for a text key).
    pub fn as_bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// Is it a text key (Perl's UTF-8 flag), rather than a byte key?
    pub fn is_text(&self) -> bool {
        self.text
    }

    /// The key as [`NativeDecoder::key`] reads it.
    pub fn to_key(&self) -> Key {
        if self.text {
            // Checked to be UTF-8 when read.
            Key::from_utf8_slice(self.bytes).unwrap_or_else(|| Key::from_byte_slice(self.bytes))
        } else {
            Key::from_byte_slice(self.bytes)
        }
    }
}

/// Reads the native encoding piece by piece; see [`Native::decoder`].
#[derive(Debug)]
pub struct NativeDecoder<'a> {
    reader: reader::Reader<'a>,
}

impl<'a> NativeDecoder<'a> {
    /// Is the next value a hash?
    pub fn at_hash(&self) -> bool {
        self.reader.peek_tag() == Some(tag::HASH)
    }

    /// Read the start of a hash at nesting level `depth`: its number of
    /// entries, each to be read as [`key`](Self::key) then a value.
    ///
    /// # Errors
    ///
    /// The next value is not a hash, or is over a limit.
    pub fn hash(&mut self, depth: usize) -> Result<usize, ThawError> {
        self.reader.hash_header(depth)
    }

    /// If the next value is a string, read it without building a
    /// [`Value`]; anything else is left unread (`None`).
    ///
    /// # Errors
    ///
    /// Malformed input, or a string over the limits.
    pub fn string(&mut self) -> Result<Option<NativeString<'a>>, ThawError> {
        self.reader.string()
    }

    /// If the next value is the character string `text`, read it and
    /// return `true`; otherwise read nothing and return `false` (read it
    /// with [`string`](Self::string) or [`value`](Self::value)). Cheaper
    /// than [`string`](Self::string) for a reader that expects the string
    /// it has (no UTF-8 check, no copy). A `text` of 128 bytes or more is
    /// never matched (`false`): read those with [`string`](Self::string).
    ///
    /// # Errors
    ///
    /// The string is over a limit.
    pub fn string_is(&mut self, text: &str) -> Result<bool, ThawError> {
        self.reader.string_is(text)
    }

    /// Read a hash key.
    ///
    /// # Errors
    ///
    /// Malformed input.
    pub fn key(&mut self) -> Result<Key, ThawError> {
        self.reader.key()
    }

    /// Read a hash key without building a [`Key`] (see [`NativeKey`]).
    ///
    /// # Errors
    ///
    /// Malformed input.
    pub fn key_ref(&mut self) -> Result<NativeKey<'a>, ThawError> {
        self.reader.key_ref()
    }

    /// Read a whole value at nesting level `depth`.
    ///
    /// # Errors
    ///
    /// Malformed input, or a value over the limits.
    pub fn value(&mut self, depth: usize) -> Result<Value, ThawError> {
        self.reader.run(depth)
    }

    /// The bytes read so far, from the start of the input.
    pub fn read_so_far(&self) -> &'a [u8] {
        self.reader.read_so_far()
    }

    /// How many values have been read so far (what the limit on the
    /// number of values counts).
    pub fn values_read(&self) -> usize {
        self.reader.values_read()
    }

    /// Step over the next value if its encoding is `encoding`, byte for
    /// byte: the encoding of a value read earlier from the same freezer,
    /// at the same nesting level, which then counted `values` values.
    /// Returns whether it did; nothing is read when the bytes differ or
    /// when counting `values` more would pass the limit (reading the value
    /// then reports it as before).
    ///
    /// The encoding is self-delimiting, so the next value is then exactly
    /// the earlier one: a reader that meets the same value again and again
    /// (a message's fixed parts) can reuse what it built from it.
    pub fn skip_same(&mut self, encoding: &[u8], values: usize) -> bool {
        self.reader.skip_same(encoding, values)
    }

    /// Check that the input was read to its end.
    ///
    /// # Errors
    ///
    /// [`ThawError::TrailingData`] when bytes are left.
    pub fn finish(self) -> Result<(), ThawError> {
        self.reader.finish()
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

    fn as_native(&self) -> Option<&Native> {
        Some(self)
    }
}

#[cfg(test)]
mod tests;
