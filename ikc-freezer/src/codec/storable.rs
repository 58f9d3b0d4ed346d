//! Perl's `Storable` in network order (`nfreeze`/`thaw`), under the name
//! `Storable`.
//!
//! # What survives a trip through Storable
//!
//! Storable keeps what Perl keeps, so a few [`Value`]s come back in the
//! form Perl itself would give them:
//!
//! - [`Bool`](Value::Bool) is written as Perl writes a copied boolean: the
//!   string `"1"` or `""` (read back as [`Bytes`](Value::Bytes)). Perl's
//!   immortal `PL_sv_yes`/`PL_sv_no` (and the booleans of newer Storable)
//!   read as [`Bool`](Value::Bool).
//! - Integers from -2^31 to 2^31-1 stay integers; larger ones, and every
//!   [`UInt`](Value::UInt), are written as decimal strings, as network-order
//!   Storable does, and read back as [`Bytes`](Value::Bytes).
//! - A [`Float`](Value::Float) that is an exact integer is written as that
//!   integer (so the rule above applies); any other float is written as
//!   Perl prints it (`%.15g`) and reads back as [`Bytes`](Value::Bytes).
//! - The top of an image is always a reference: an array or hash at the top
//!   stands for a reference to it and [`Ref`](Value::Ref)`(x)` for `\x`; a
//!   plain scalar at the top cannot be frozen (Perl's `nfreeze` refuses it
//!   too).
//! - A value reached twice in Perl (a shared reference) is read as two
//!   copies; a value that contains itself is refused.
//!
//! Code references, tied variables, objects with `STORABLE_freeze` hooks,
//! regular expressions and native-order images (`freeze` rather than
//! `nfreeze`) are refused with a [`ThawError`]; nothing is ever executed.

mod reader;
mod writer;

pub use self::reader::{StorableDecoder, StorableKept, StorableMark};
pub use self::writer::StorableEncoder;

use crate::codec::{Freezer, STORABLE};
use crate::error::{FreezeError, ThawError};
use crate::limits::Limits;
use crate::value::Value;

/// The Storable image major version we read and write.
const MAJOR: u8 = 2;
/// The minor version we write (Storable 3.x writes 11).
const WRITE_MINOR: u8 = 11;
/// The newest minor version we read (12 adds booleans).
const READ_MINOR: u8 = 12;

/// Storable's opcodes (`SX_*` in Storable.xs).
#[allow(dead_code, reason = "the full table documents the format")]
mod op {
    pub(super) const OBJECT: u8 = 0;
    pub(super) const LSCALAR: u8 = 1;
    pub(super) const ARRAY: u8 = 2;
    pub(super) const HASH: u8 = 3;
    pub(super) const REF: u8 = 4;
    pub(super) const UNDEF: u8 = 5;
    pub(super) const INTEGER: u8 = 6;
    pub(super) const DOUBLE: u8 = 7;
    pub(super) const BYTE: u8 = 8;
    pub(super) const NETINT: u8 = 9;
    pub(super) const SCALAR: u8 = 10;
    pub(super) const TIED_ARRAY: u8 = 11;
    pub(super) const TIED_HASH: u8 = 12;
    pub(super) const TIED_SCALAR: u8 = 13;
    pub(super) const SV_UNDEF: u8 = 14;
    pub(super) const SV_YES: u8 = 15;
    pub(super) const SV_NO: u8 = 16;
    pub(super) const BLESS: u8 = 17;
    pub(super) const IX_BLESS: u8 = 18;
    pub(super) const HOOK: u8 = 19;
    pub(super) const OVERLOAD: u8 = 20;
    pub(super) const TIED_KEY: u8 = 21;
    pub(super) const TIED_IDX: u8 = 22;
    pub(super) const UTF8STR: u8 = 23;
    pub(super) const LUTF8STR: u8 = 24;
    pub(super) const FLAG_HASH: u8 = 25;
    pub(super) const CODE: u8 = 26;
    pub(super) const WEAKREF: u8 = 27;
    pub(super) const WEAKOVERLOAD: u8 = 28;
    pub(super) const VSTRING: u8 = 29;
    pub(super) const LVSTRING: u8 = 30;
    pub(super) const SVUNDEF_ELEM: u8 = 31;
    pub(super) const REGEXP: u8 = 32;
    pub(super) const LOBJECT: u8 = 33;
    pub(super) const BOOLEAN_TRUE: u8 = 34;
    pub(super) const BOOLEAN_FALSE: u8 = 35;
}

/// Flags of an `SX_FLAG_HASH` key (`SHV_K_*`).
mod key_flag {
    pub(super) const UTF8: u8 = 0x01;
    pub(super) const WASUTF8: u8 = 0x02;
    pub(super) const ISSV: u8 = 0x08;
    pub(super) const PLACEHOLDER: u8 = 0x10;
}

/// Class names and indexes up to this length fit in one byte (`LG_BLESS`).
const LG_BLESS: usize = 127;
/// Strings up to this length use the one-byte-length opcodes (`LG_SCALAR`).
const LG_SCALAR: usize = 255;

/// Perl's `Storable` network-order format (`nfreeze`/`thaw`).
///
/// ```
/// use ikc_freezer::{Freezer, Storable, Value};
///
/// // What Perl's `nfreeze([1, 'two'])` produces.
/// let perl = [0x05, 0x0b, 0x02, 0, 0, 0, 2, 0x08, 0x81, 0x0a, 3, b't', b'w', b'o'];
/// let value = Storable::new().thaw(&perl)?;
/// assert_eq!(value, Value::from(vec![Value::Int(1), Value::bytes("two")]));
///
/// let mut out = Vec::new();
/// Storable::new().freeze(&value, &mut out)?;
/// assert_eq!(out, perl);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct Storable {
    limits: Limits,
}

impl Storable {
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

    /// Write an image piece by piece, byte for byte as
    /// [`freeze`](Freezer::freeze) writes the same value: for a caller
    /// that has the value's parts rather than the value (ikc-channel writes
    /// a message's fields this way, without building its hash).
    ///
    /// ```
    /// use ikc_freezer::{Freezer, Hash, Storable, Value};
    ///
    /// let storable = Storable::new();
    /// let list = Value::from(vec![1, 2]);
    /// let mut pieces = Vec::new();
    /// let mut enc = storable.encoder(&mut pieces);
    /// enc.hash(2)?;
    /// enc.str("hello")?;
    /// enc.key(b"text")?;
    /// enc.value(&list, 1)?;
    /// enc.key(b"list")?;
    ///
    /// let mut hash = Hash::new();
    /// hash.insert("text", "hello");
    /// hash.insert("list", list.clone());
    /// let mut whole = Vec::new();
    /// storable.freeze(&Value::Hash(hash), &mut whole)?;
    /// assert_eq!(pieces, whole);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn encoder<'a, 'v>(&self, out: &'a mut Vec<u8>) -> StorableEncoder<'a, 'v> {
        StorableEncoder::new(out, self.limits.max_depth)
    }

    /// Read an image whose root is a hash entry by entry, with this
    /// codec's limits counted over the whole image as
    /// [`thaw`](Freezer::thaw) counts them.
    ///
    /// ```
    /// use ikc_freezer::{Freezer, Hash, Storable, Value};
    ///
    /// let storable = Storable::new();
    /// let mut hash = Hash::new();
    /// hash.insert("text", "hello");
    /// let mut image = Vec::new();
    /// storable.freeze(&Value::Hash(hash), &mut image)?;
    ///
    /// let mut dec = storable.decoder(&image)?;
    /// assert_eq!(dec.hash()?, Some(1));
    /// assert_eq!(dec.value()?, Value::from("hello"));
    /// assert_eq!(dec.key()?.as_ref().and_then(|k| k.as_str()), Some("text"));
    /// dec.finish()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// A [`ThawError`] when `bytes` is over the input limit or its header
    /// is not one this reads.
    pub fn decoder<'a>(&self, bytes: &'a [u8]) -> Result<StorableDecoder<'a>, ThawError> {
        StorableDecoder::new(bytes, self.limits)
    }
}

impl Freezer for Storable {
    fn name(&self) -> &str {
        STORABLE
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

    fn as_storable(&self) -> Option<&Storable> {
        Some(self)
    }
}

#[cfg(test)]
mod tests;
