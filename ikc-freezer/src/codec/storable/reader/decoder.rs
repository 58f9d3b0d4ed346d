//! [`StorableDecoder`]: a Storable image whose root is a hash, read entry
//! by entry.

use crate::codec::{KEPT_STACK, give_back};
use crate::error::ThawError;
use crate::limits::Limits;
use crate::value::{Key, Value};

use super::super::op;
use super::{Frame, Reader, STACK, Tag};

/// Reads a Storable image whose root is a hash reference one entry at a
/// time, as [`thaw`](crate::Freezer::thaw) reads it: the same limits,
/// counted over the whole image, the same numbering of objects for
/// back-references, and the same values. See
/// [`Storable::decoder`](crate::Storable::decoder).
///
/// Storable writes each entry's value before its key, so an entry is read
/// as [`value`](Self::value) (or [`skip_kept`](Self::skip_kept)), then
/// [`key`](Self::key).
pub struct StorableDecoder<'a> {
    reader: Reader<'a>,
    /// The reader's stack, kept for the whole image (and given back to
    /// the thread's when dropped).
    stack: Vec<Frame>,
    /// The root hash's tag, and whether its keys carry flags.
    root: Option<(Option<usize>, bool)>,
}

/// A place in a [`StorableDecoder`]'s input, with the counts reached there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StorableMark {
    pos: usize,
    tags: usize,
    elements: usize,
}

/// The bytes of a hash value read once, kept so that the same bytes in a
/// later image can be stepped over without reading them again
/// ([`StorableDecoder::skip_kept`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StorableKept {
    bytes: Vec<u8>,
    /// Where each object in `bytes` starts, from the start of `bytes`.
    tags: Vec<usize>,
    /// The values reading `bytes` counted.
    elements: usize,
    /// The limits they were read under.
    limits: Limits,
}

impl std::fmt::Debug for StorableDecoder<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StorableDecoder")
            .field("pos", &self.reader.pos)
            .field("len", &self.reader.input.len())
            .finish_non_exhaustive()
    }
}

impl<'a> StorableDecoder<'a> {
    pub(in crate::codec::storable) fn new(
        input: &'a [u8],
        limits: Limits,
    ) -> Result<Self, ThawError> {
        Ok(Self {
            reader: Reader::new(input, limits)?,
            stack: STACK.take(),
            root: None,
        })
    }

    /// Start the root hash: its entry count, or `None` (nothing read) when
    /// the root is anything but an unblessed hash reference. Call it
    /// first, once.
    ///
    /// # Errors
    ///
    /// A [`ThawError`] for a malformed hash header, or when called twice.
    pub fn hash(&mut self) -> Result<Option<usize>, ThawError> {
        let r = &mut self.reader;
        if self.root.is_some() || r.pos != 2 {
            return Err(r.malformed(r.pos, "the root hash is read once, first"));
        }
        let start = r.pos;
        let flagged = match r.input.get(start) {
            Some(&op::HASH) => false,
            Some(&op::FLAG_HASH) => true,
            _ => return Ok(None),
        };
        r.pos += 1;
        r.budget.take_elements(1)?;
        let tag = r.register(start);
        let entries = r.hash_len(flagged)?;
        self.root = Some((tag, flagged));
        Ok(Some(entries))
    }

    /// The next entry's value, as `thaw` reads it.
    ///
    /// # Errors
    ///
    /// A [`ThawError`] for malformed input or input over the limits.
    pub fn value(&mut self) -> Result<Value, ThawError> {
        let r = &mut self.reader;
        r.root_in_slot = true;
        // Empty unless the last value failed.
        self.stack.clear();
        let node = r.run_with(&mut self.stack)?;
        r.slot(node)
    }

    /// The next entry's key; `None` for a restricted hash's placeholder,
    /// which is not an entry (its value is to be dropped).
    ///
    /// # Errors
    ///
    /// A [`ThawError`] for a malformed key, or before [`hash`](Self::hash).
    pub fn key(&mut self) -> Result<Option<Key>, ThawError> {
        let Some((_, flagged)) = self.root else {
            return Err(self
                .reader
                .malformed(self.reader.pos, "a key outside a hash"));
        };
        self.reader.key(flagged)
    }

    /// Where the decoder is: give two marks to [`kept`](Self::kept).
    pub fn mark(&self) -> StorableMark {
        StorableMark {
            pos: self.reader.pos,
            tags: self.reader.tags.len(),
            elements: self.reader.budget.elements(),
        }
    }

    /// The bytes between two marks (a value [`value`](Self::value) read),
    /// kept for [`skip_kept`](Self::skip_kept) in a later image.
    pub fn kept(&self, from: StorableMark, to: StorableMark) -> StorableKept {
        let r = &self.reader;
        let bytes = r.input.get(from.pos..to.pos).unwrap_or_default();
        StorableKept {
            bytes: bytes.to_vec(),
            tags: r
                .tags
                .get(from.tags..to.tags)
                .unwrap_or_default()
                .iter()
                .map(|tag| tag.start.saturating_sub(from.pos))
                .collect(),
            elements: to.elements.saturating_sub(from.elements),
            limits: r.budget.limits(),
        }
    }

    /// When the next entry is `kept`'s bytes under the key `key` (ASCII,
    /// without flags), step over both, counting and numbering what they
    /// hold as reading them would, and say `true`; otherwise read nothing
    /// and say `false`. The caller already has the value those bytes read
    /// as.
    ///
    /// # Errors
    ///
    /// A [`ThawError`] when the stepped-over values are over the limits.
    pub fn skip_kept(&mut self, kept: &StorableKept, key: &str) -> Result<bool, ThawError> {
        let Some((_, flagged)) = self.root else {
            return Ok(false);
        };
        let r = &mut self.reader;
        if kept.limits != r.budget.limits() || r.replaying > 0 {
            return Ok(false);
        }
        let Ok(key_len) = i32::try_from(key.len()) else {
            return Ok(false);
        };
        // The key first (short, and where another entry differs at
        // once), then the value's bytes.
        let (value, after) = r.input[r.pos..]
            .split_at_checked(kept.bytes.len())
            .unwrap_or_default();
        let ((true, [0, after @ ..]) | (false, after)) = (flagged, after) else {
            return Ok(false);
        };
        let matches = after
            .strip_prefix(&key_len.to_be_bytes())
            .is_some_and(|rest| rest.starts_with(key.as_bytes()))
            && value == kept.bytes.as_slice();
        if !matches {
            return Ok(false);
        }
        r.budget.take_elements(kept.elements)?;
        r.budget.check_string(key.len())?;
        let start = r.pos;
        r.tags.extend(kept.tags.iter().map(|&offset| Tag {
            start: start + offset,
            done: true,
        }));
        r.pos += kept.bytes.len() + usize::from(flagged) + 4 + key.len();
        Ok(true)
    }

    /// End the image: the root hash is complete and nothing follows it.
    ///
    /// # Errors
    ///
    /// [`ThawError::TrailingData`] when bytes follow the hash.
    pub fn finish(mut self) -> Result<(), ThawError> {
        if let Some((tag, _)) = self.root {
            self.reader.complete(tag);
        }
        if self.reader.pos != self.reader.input.len() {
            return Err(self.reader.trailing());
        }
        Ok(())
    }
}

impl Drop for StorableDecoder<'_> {
    fn drop(&mut self) {
        give_back(&STACK, std::mem::take(&mut self.stack), KEPT_STACK);
    }
}
