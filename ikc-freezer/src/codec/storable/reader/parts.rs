//! The byte-level pieces of a Storable image: header, lengths, scalars,
//! class names and hash keys.

use crate::error::ThawError;
use crate::value::{Key, Value};

use super::super::{MAJOR, READ_MINOR, key_flag, op};
use super::{Reader, Tag};

impl Reader<'_> {
    pub(super) fn malformed(&self, offset: usize, reason: impl Into<String>) -> ThawError {
        ThawError::Malformed {
            offset,
            reason: reason.into(),
        }
    }

    pub(super) fn unsupported(offset: usize, what: &str) -> ThawError {
        ThawError::Unsupported {
            offset,
            what: what.to_owned(),
        }
    }

    pub(super) fn remaining(&self) -> usize {
        self.input.len() - self.pos
    }

    pub(super) fn byte(&mut self) -> Result<u8, ThawError> {
        let b = *self
            .input
            .get(self.pos)
            .ok_or(ThawError::UnexpectedEnd { offset: self.pos })?;
        self.pos += 1;
        Ok(b)
    }

    pub(super) fn take(&mut self, n: usize) -> Result<&[u8], ThawError> {
        if n > self.remaining() {
            return Err(ThawError::UnexpectedEnd {
                offset: self.input.len(),
            });
        }
        let bytes = &self.input[self.pos..self.pos + n];
        self.pos += n;
        Ok(bytes)
    }

    pub(super) fn i32(&mut self) -> Result<i32, ThawError> {
        let b = self.take(4)?;
        Ok(i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// A 32-bit length or count; Storable writes them as signed integers.
    pub(super) fn length(&mut self) -> Result<usize, ThawError> {
        let at = self.pos;
        let n = self.i32()?;
        usize::try_from(n).map_err(|_| self.malformed(at, format!("negative length {n}")))
    }

    pub(super) fn header(&mut self) -> Result<(), ThawError> {
        let flags = self.byte()?;
        let minor = self.byte()?;
        if flags & 1 == 0 {
            return Err(Self::unsupported(
                0,
                "native byte order image (Storable::freeze); only network order (nfreeze) is read",
            ));
        }
        let major = flags >> 1;
        if major != MAJOR || minor > READ_MINOR {
            return Err(Self::unsupported(
                0,
                &format!(
                    "Storable image version {major}.{minor} (this reads 2.0 to 2.{READ_MINOR})"
                ),
            ));
        }
        Ok(())
    }

    /// Number a new object (unless replaying) and return its tag.
    pub(super) fn register(&mut self, start: usize) -> Option<usize> {
        if self.replaying > 0 {
            return None;
        }
        self.tags.push(Tag { start, done: false });
        Some(self.tags.len() - 1)
    }

    pub(super) fn complete(&mut self, tag: Option<usize>) {
        if let Some(t) = tag.and_then(|t| self.tags.get_mut(t)) {
            t.done = true;
        }
    }

    /// The class of an `SX_BLESS` (recorded for later `SX_IX_BLESS`) or an
    /// `SX_IX_BLESS`.
    #[inline(never)]
    pub(super) fn class(&mut self, opcode: u8, start: usize) -> Result<String, ThawError> {
        let len = self.bless_len()?;
        if opcode == op::IX_BLESS {
            return self
                .classes
                .get(len)
                .cloned()
                .ok_or_else(|| self.malformed(start, format!("unknown class index {len}")));
        }
        let name = self.take(len)?;
        let class = String::from_utf8(name.to_vec())
            .map_err(|_| self.malformed(start, "class name is not UTF-8"))?;
        if self.replaying == 0 {
            self.classes.push(class.clone());
        }
        Ok(class)
    }

    /// A class name length or class index: one byte, or 0x80 and 4 bytes.
    pub(super) fn bless_len(&mut self) -> Result<usize, ThawError> {
        let b = self.byte()?;
        if b & 0x80 != 0 {
            self.length()
        } else {
            Ok(usize::from(b))
        }
    }

    /// The opcode after a blessing, which must start a new object.
    #[inline(never)]
    pub(super) fn blessed_opcode(&mut self) -> Result<u8, ThawError> {
        let at = self.pos;
        let opcode = self.byte()?;
        if matches!(opcode, op::OBJECT | op::BLESS | op::IX_BLESS) {
            return Err(self.malformed(at, "a blessing must be followed by a new object"));
        }
        Ok(opcode)
    }

    /// Find a back-reference's tag: where its bytes start.
    #[inline(never)]
    pub(super) fn tag_start(&mut self, start: usize) -> Result<usize, ThawError> {
        let at = self.pos;
        let tag = self.i32()?;
        let entry = usize::try_from(tag)
            .ok()
            .and_then(|t| self.tags.get(t).copied())
            .ok_or_else(|| self.malformed(at, format!("back-reference to unknown object {tag}")))?;
        if !entry.done {
            return Err(ThawError::Cycle { offset: start });
        }
        Ok(entry.start)
    }

    /// Skip a v-string's magic; the opcode of the scalar after it.
    #[inline(never)]
    pub(super) fn skip_vstring(&mut self, opcode: u8) -> Result<u8, ThawError> {
        let len = if opcode == op::VSTRING {
            usize::from(self.byte()?)
        } else {
            self.length()?
        };
        self.take(len)?;
        let at = self.pos;
        let inner = self.byte()?;
        if matches!(inner, op::OBJECT | op::BLESS | op::IX_BLESS) {
            return Err(self.malformed(at, "a v-string must be followed by a scalar"));
        }
        Ok(inner)
    }

    /// A plain scalar opcode's value.
    pub(super) fn scalar(&mut self, opcode: u8, start: usize) -> Result<Value, ThawError> {
        Ok(match opcode {
            op::UNDEF | op::SV_UNDEF | op::SVUNDEF_ELEM => Value::Undef,
            op::SV_YES | op::BOOLEAN_TRUE => Value::Bool(true),
            op::SV_NO | op::BOOLEAN_FALSE => Value::Bool(false),
            op::BYTE => Value::Int(i64::from(self.byte()?) - 128),
            op::NETINT => Value::Int(i64::from(self.i32()?)),
            op::SCALAR | op::UTF8STR => {
                let len = usize::from(self.byte()?);
                self.string(len, opcode == op::UTF8STR, start)?
            }
            op::LSCALAR | op::LUTF8STR => {
                let len = self.length()?;
                self.string(len, opcode == op::LUTF8STR, start)?
            }
            op::INTEGER | op::DOUBLE => {
                return Err(Self::unsupported(
                    start,
                    "native-order number in a network-order image",
                ));
            }
            op::TIED_ARRAY | op::TIED_HASH | op::TIED_SCALAR | op::TIED_KEY | op::TIED_IDX => {
                return Err(Self::unsupported(start, "tied variable"));
            }
            op::HOOK => {
                return Err(Self::unsupported(
                    start,
                    "object frozen by a STORABLE_freeze hook",
                ));
            }
            op::CODE => {
                return Err(Self::unsupported(start, "code reference (never evaluated)"));
            }
            op::REGEXP => return Err(Self::unsupported(start, "regular expression")),
            op::LOBJECT => return Err(Self::unsupported(start, "object larger than 2 GiB")),
            other => return Err(self.malformed(start, format!("unknown opcode {other}"))),
        })
    }

    pub(super) fn string(
        &mut self,
        len: usize,
        utf8: bool,
        start: usize,
    ) -> Result<Value, ThawError> {
        self.budget.check_string(len)?;
        let bytes = self.take(len)?;
        if utf8 {
            match std::str::from_utf8(bytes) {
                Ok(s) => Ok(Value::Str(s.to_owned())),
                Err(_) => Err(self.malformed(start, "UTF-8 string is not valid UTF-8")),
            }
        } else {
            Ok(Value::Bytes(bytes.to_vec()))
        }
    }

    /// The element count of an array, checked against the input.
    #[inline(never)]
    pub(super) fn array_len(&mut self) -> Result<usize, ThawError> {
        let len = self.length()?;
        // Every element takes at least one byte.
        if len > self.remaining() {
            return Err(ThawError::UnexpectedEnd {
                offset: self.input.len(),
            });
        }
        Ok(len)
    }

    /// The entry count of a hash, checked against the input.
    #[inline(never)]
    pub(super) fn hash_len(&mut self, flagged: bool) -> Result<usize, ThawError> {
        if flagged {
            // Hash flags: only "restricted", which does not change the data.
            self.byte()?;
        }
        let len = self.length()?;
        // Every entry takes a value byte and a 4-byte key length at least.
        if len > self.remaining() / 5 {
            return Err(ThawError::UnexpectedEnd {
                offset: self.input.len(),
            });
        }
        Ok(len)
    }

    /// A hash key (after its value); `None` for a restricted hash's
    /// placeholder, which is not a real entry.
    #[inline(never)]
    pub(super) fn key(&mut self, flagged: bool) -> Result<Option<Key>, ThawError> {
        let at = self.pos;
        let flags = if flagged { self.byte()? } else { 0 };
        if flags & key_flag::ISSV != 0 {
            return Err(Self::unsupported(at, "hash key stored as a scalar"));
        }
        let key_len = self.length()?;
        self.budget.check_string(key_len)?;
        let raw = self.take(key_len)?;
        if flags & key_flag::PLACEHOLDER != 0 {
            return Ok(None);
        }
        Ok(Some(if flags & key_flag::UTF8 != 0 {
            let text = std::str::from_utf8(raw).map_err(|_| ThawError::Malformed {
                offset: at,
                reason: "UTF-8 hash key is not valid UTF-8".to_owned(),
            })?;
            Key::from(text)
        } else if flags & key_flag::WASUTF8 != 0 {
            // Perl stored a character key as Latin-1 bytes.
            Key::from(raw.iter().map(|&b| char::from(b)).collect::<String>())
        } else {
            Key::from_byte_slice(raw)
        }))
    }
}
