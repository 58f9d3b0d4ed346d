//! [`StorableEncoder`]: a Storable image written piece by piece.

use crate::error::FreezeError;
use crate::value::Value;

use super::super::op;
use super::Writer;

/// Writes a Storable image piece by piece, byte for byte as
/// [`freeze`](crate::Freezer::freeze) writes the same value; see
/// [`Storable::encoder`](crate::Storable::encoder).
///
/// Nesting levels count as the depth limit does: the root hash is level 0,
/// its values level 1. A hash is written as its length, then each entry's
/// value followed by its [`key`](Self::key), as Storable orders them.
pub struct StorableEncoder<'a, 'v> {
    writer: Writer<'a, 'v>,
}

impl std::fmt::Debug for StorableEncoder<'_, '_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StorableEncoder")
            .field("written", &self.writer.out.len())
            .finish_non_exhaustive()
    }
}

impl<'a, 'v> StorableEncoder<'a, 'v> {
    pub(in crate::codec::storable) fn new(out: &'a mut Vec<u8>, max_depth: usize) -> Self {
        Self {
            writer: Writer::new(out, max_depth),
        }
    }

    /// The root: a hash reference with `len` entries whose keys are all
    /// written unflagged (see [`key`](Self::key)).
    ///
    /// # Errors
    ///
    /// [`FreezeError::Unsupported`] for more than 2^31-1 entries.
    pub fn hash(&mut self, len: usize) -> Result<(), FreezeError> {
        self.writer.out.push(op::HASH);
        self.writer.length(len, "hash")
    }

    /// A hash value that is a reference to a hash (at nesting `level`)
    /// with `len` entries, keys written unflagged.
    ///
    /// # Errors
    ///
    /// [`FreezeError::TooDeep`] past the depth limit.
    pub fn hash_ref(&mut self, len: usize, level: usize) -> Result<(), FreezeError> {
        if level > self.writer.max_depth {
            return Err(FreezeError::TooDeep {
                limit: self.writer.max_depth,
            });
        }
        self.writer.out.push(op::REF);
        self.hash(len)
    }

    /// The key of the entry whose value was just written: its raw bytes,
    /// unflagged. Perl writes a key unflagged when it is ASCII or a byte
    /// string; a hash with a character key beyond ASCII is flagged, and is
    /// for [`freeze`](crate::Freezer::freeze) to write.
    ///
    /// # Errors
    ///
    /// [`FreezeError::Unsupported`] for a key longer than 2 GiB.
    pub fn key(&mut self, key: &[u8]) -> Result<(), FreezeError> {
        self.writer.length(key.len(), "hash key")?;
        self.writer.out.extend_from_slice(key);
        Ok(())
    }

    /// A character string value, as [`Value::Str`].
    ///
    /// # Errors
    ///
    /// [`FreezeError::Unsupported`] for a string longer than 2 GiB.
    pub fn str(&mut self, text: &str) -> Result<(), FreezeError> {
        self.writer.string(text.as_bytes(), true)
    }

    /// An integer value, as [`Value::Int`].
    ///
    /// # Errors
    ///
    /// Never for an integer; the signature matches the other pieces.
    pub fn int(&mut self, n: i64) -> Result<(), FreezeError> {
        self.writer.integer(n)
    }

    /// Everything in the output so far (what it held before this encoder
    /// started, then what it wrote).
    pub fn written(&self) -> &[u8] {
        self.writer.out
    }

    /// Append `encoding`, the bytes an encoder of the same codec wrote
    /// earlier for a value at the same nesting level with no blessed
    /// objects in it (a slice of [`written`](Self::written)): a writer
    /// that sends the same value again and again (a message's fixed parts)
    /// writes it once.
    pub fn append_encoded(&mut self, encoding: &[u8]) {
        self.writer.out.extend_from_slice(encoding);
    }

    /// Any value, at nesting `level` (1 for the root hash's values).
    ///
    /// # Errors
    ///
    /// A [`FreezeError`] for what `freeze` refuses in it.
    pub fn value(&mut self, value: &'v Value, level: usize) -> Result<(), FreezeError> {
        self.writer.scalar(value, level.saturating_sub(1))
    }
}
