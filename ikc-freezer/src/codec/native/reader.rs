//! Reading the native encoding, with an explicit stack (no recursion).

use std::cell::Cell;
use std::fmt;

use crate::codec::with_kept_stack;
use crate::error::ThawError;
use crate::limits::{Budget, Limits};
use crate::value::{Hash, Key, Value};

use super::{NativeKey, NativeString, tag};

/// Room reserved up front for an array or hash: larger ones grow as their
/// elements actually arrive.
const MAX_PREALLOCATE: usize = 1024;

thread_local! {
    /// The stack [`Reader::run`] reuses.
    static STACK: Cell<Vec<Frame>> = const { Cell::new(Vec::new()) };
}

enum Frame {
    Array {
        items: Vec<Value>,
        left: usize,
    },
    Hash {
        hash: Hash,
        left: usize,
        key: Option<Key>,
    },
    Ref,
    Blessed {
        class: String,
    },
}

pub(super) fn thaw(input: &[u8], limits: Limits) -> Result<Value, ThawError> {
    let mut reader = Reader::new(input, limits)?;
    let value = reader.run(0)?;
    reader.finish()?;
    Ok(value)
}

pub(super) struct Reader<'a> {
    input: &'a [u8],
    pos: usize,
    budget: Budget,
}

impl fmt::Debug for Reader<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reader")
            .field("len", &self.input.len())
            .field("pos", &self.pos)
            .finish_non_exhaustive()
    }
}

impl<'a> Reader<'a> {
    pub(super) fn new(input: &'a [u8], limits: Limits) -> Result<Self, ThawError> {
        Ok(Self {
            input,
            pos: 0,
            budget: Budget::new(limits, input.len())?,
        })
    }

    pub(super) fn read_so_far(&self) -> &'a [u8] {
        &self.input[..self.pos]
    }

    pub(super) fn values_read(&self) -> usize {
        self.budget.elements()
    }

    pub(super) fn skip_same(&mut self, encoding: &[u8], values: usize) -> bool {
        if encoding.is_empty() || !self.input[self.pos..].starts_with(encoding) {
            return false;
        }
        if !self.budget.has_room_for(values) || self.budget.take_elements(values).is_err() {
            return false;
        }
        self.pos += encoding.len();
        true
    }

    /// Fail unless every byte was read.
    pub(super) fn finish(&self) -> Result<(), ThawError> {
        if self.pos != self.input.len() {
            return Err(ThawError::TrailingData {
                offset: self.pos,
                count: self.input.len() - self.pos,
            });
        }
        Ok(())
    }

    /// The kind tag of the next value, without reading it (`None` at the
    /// end or for a tag that is not one byte).
    pub(super) fn peek_tag(&self) -> Option<u8> {
        self.input.get(self.pos).copied().filter(|&b| b < 0x80)
    }

    /// If the next value is a string (`Str` or `Bytes`), read it (counted
    /// and checked as [`run`](Self::run) would); otherwise read nothing.
    pub(super) fn string(&mut self) -> Result<Option<NativeString<'a>>, ThawError> {
        let text = match self.peek_tag() {
            Some(tag::STR) => true,
            Some(tag::BYTES) => false,
            _ => return Ok(None),
        };
        self.budget.take_elements(1)?;
        self.pos += 1;
        let start = self.pos;
        let len = self.count(1)?;
        self.budget.check_string(len)?;
        let input = self.input;
        let bytes = &input[self.pos..self.pos + len];
        self.pos += len;
        if !text {
            return Ok(Some(NativeString::Bytes(bytes)));
        }
        match std::str::from_utf8(bytes) {
            Ok(s) => Ok(Some(NativeString::Str(s))),
            Err(_) => Err(Self::malformed(start, "string is not valid UTF-8")),
        }
    }

    /// If the next value is the character string `text` (of fewer than 128
    /// bytes), read it (counted and checked as [`run`](Self::run) would)
    /// and say so; otherwise read nothing.
    pub(super) fn string_is(&mut self, text: &str) -> Result<bool, ThawError> {
        let at = self.pos;
        // A length of 128 or more takes more than one varint byte.
        let same = text.len() < 0x80
            && self.peek_tag() == Some(tag::STR)
            && self
                .input
                .get(at + 1)
                .is_some_and(|&len| usize::from(len) == text.len())
            && self.input.get(at + 2..at + 2 + text.len()) == Some(text.as_bytes());
        if !same {
            return Ok(false);
        }
        self.budget.take_elements(1)?;
        self.budget.check_string(text.len())?;
        self.pos = at + 2 + text.len();
        Ok(true)
    }

    /// Read the start of a hash at nesting level `depth` (counted and
    /// checked as [`run`](Self::run) would): its number of entries.
    pub(super) fn hash_header(&mut self, depth: usize) -> Result<usize, ThawError> {
        let start = self.pos;
        self.budget.take_elements(1)?;
        if self.varint()? != u64::from(tag::HASH) {
            return Err(Self::malformed(start, "expected a hash"));
        }
        let left = self.count(3)?;
        if left > 0 {
            self.budget.check_depth(depth + 1)?;
        }
        Ok(left)
    }
}

impl<'a> Reader<'a> {
    fn malformed(offset: usize, reason: &str) -> ThawError {
        ThawError::Malformed {
            offset,
            reason: reason.to_owned(),
        }
    }

    fn end(&self) -> ThawError {
        ThawError::UnexpectedEnd {
            offset: self.input.len(),
        }
    }

    fn remaining(&self) -> usize {
        self.input.len() - self.pos
    }

    fn byte(&mut self) -> Result<u8, ThawError> {
        let b = *self.input.get(self.pos).ok_or_else(|| self.end())?;
        self.pos += 1;
        Ok(b)
    }

    /// A varint; one-byte varints (nearly all of them) take the fast path.
    #[inline(always)]
    fn varint(&mut self) -> Result<u64, ThawError> {
        if let Some(&b) = self.input.get(self.pos)
            && b < 0x80
        {
            self.pos += 1;
            return Ok(u64::from(b));
        }
        self.long_varint()
    }

    #[inline(never)]
    fn long_varint(&mut self) -> Result<u64, ThawError> {
        let start = self.pos;
        let mut value: u64 = 0;
        for shift in (0..70).step_by(7) {
            let b = self.byte()?;
            if shift == 63 && b > 1 {
                return Err(Self::malformed(start, "varint overflows 64 bits"));
            }
            value |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(value);
            }
        }
        Err(Self::malformed(start, "varint longer than 10 bytes"))
    }

    /// A count or length, checked against the bytes left: each unit takes
    /// at least `unit` bytes.
    fn count(&mut self, unit: usize) -> Result<usize, ThawError> {
        let n = self.varint()?;
        match usize::try_from(n) {
            Ok(n) if n <= self.remaining() / unit => Ok(n),
            _ => Err(self.end()),
        }
    }

    fn raw(&mut self) -> Result<&'a [u8], ThawError> {
        let len = self.count(1)?;
        self.budget.check_string(len)?;
        let input = self.input;
        let bytes = &input[self.pos..self.pos + len];
        self.pos += len;
        Ok(bytes)
    }

    fn text(&mut self) -> Result<&str, ThawError> {
        let start = self.pos;
        let raw = self.raw()?;
        std::str::from_utf8(raw).map_err(|_| Self::malformed(start, "string is not valid UTF-8"))
    }

    pub(super) fn key(&mut self) -> Result<Key, ThawError> {
        // A short key (nearly every key) is read straight into its inline
        // room: one look at the tag, the length and the bytes.
        if let Some(&[kind, len]) = self.input.get(self.pos..self.pos + 2)
            && kind <= tag::KEY_BYTES
            && let Some(bytes) = self
                .input
                .get(self.pos + 2..self.pos + 2 + usize::from(len))
            && let Some(key) = Key::short(bytes, kind == tag::KEY_STR)
        {
            self.budget.check_string(bytes.len())?;
            self.pos += 2 + bytes.len();
            return Ok(key);
        }
        self.key_ref().map(|key| key.to_key())
    }

    /// A hash key, borrowed from the input: a text key is checked to be
    /// UTF-8 here, so [`NativeKey::to_key`] cannot fail.
    pub(super) fn key_ref(&mut self) -> Result<NativeKey<'a>, ThawError> {
        // A short ASCII text key (every key of a message's envelope) in
        // one look at the tag, the one-byte length and the bytes.
        let input = self.input;
        if let Some(&[tag::KEY_STR, len]) = input.get(self.pos..self.pos + 2)
            && len < 0x80
            && let Some(bytes) = input.get(self.pos + 2..self.pos + 2 + usize::from(len))
            && bytes.is_ascii()
        {
            self.budget.check_string(bytes.len())?;
            self.pos += 2 + bytes.len();
            return Ok(NativeKey { bytes, text: true });
        }
        let start = self.pos;
        let text = match self.varint()? {
            n if n == u64::from(tag::KEY_STR) => true,
            n if n == u64::from(tag::KEY_BYTES) => false,
            _ => return Err(Self::malformed(start, "unknown hash key kind")),
        };
        let bytes = self.raw()?;
        if text && !bytes.is_ascii() && std::str::from_utf8(bytes).is_err() {
            return Err(Self::malformed(start, "hash key is not valid UTF-8"));
        }
        Ok(NativeKey { bytes, text })
    }

    /// Read one value at nesting level `base` (0: the top).
    ///
    /// The stack of open aggregates is kept per thread between values.
    pub(super) fn run(&mut self, base: usize) -> Result<Value, ThawError> {
        with_kept_stack(&STACK, |stack| self.run_with(base, stack))
    }

    fn run_with(&mut self, base: usize, stack: &mut Vec<Frame>) -> Result<Value, ThawError> {
        loop {
            if let Some(Frame::Hash { key, .. }) = stack.last_mut()
                && key.is_none()
            {
                *key = Some(self.key()?);
            }
            let Some(mut value) = self.begin(stack, base)? else {
                continue;
            };
            loop {
                match stack.last_mut() {
                    None => return Ok(value),
                    Some(Frame::Array { items, left }) => {
                        items.push(value);
                        *left -= 1;
                        if *left > 0 {
                            break;
                        }
                        value = match stack.pop() {
                            Some(Frame::Array { items, .. }) => Value::Array(items),
                            _ => return Err(Self::malformed(self.pos, "reader stack mismatch")),
                        };
                    }
                    Some(Frame::Hash { hash, left, key }) => {
                        if let Some(key) = key.take() {
                            hash.insert(key, value);
                        }
                        *left -= 1;
                        if *left > 0 {
                            break;
                        }
                        value = match stack.pop() {
                            Some(Frame::Hash { hash, .. }) => Value::Hash(hash),
                            _ => return Err(Self::malformed(self.pos, "reader stack mismatch")),
                        };
                    }
                    Some(Frame::Ref) => {
                        stack.pop();
                        value = Value::Ref(Box::new(value));
                    }
                    Some(Frame::Blessed { .. }) => {
                        let Some(Frame::Blessed { class }) = stack.pop() else {
                            return Err(Self::malformed(self.pos, "reader stack mismatch"));
                        };
                        value = Value::blessed(class, value);
                    }
                }
            }
        }
    }

    /// Read the start of a value: a scalar or an empty aggregate comes back
    /// finished; anything else pushes a frame.
    fn begin(&mut self, stack: &mut Vec<Frame>, base: usize) -> Result<Option<Value>, ThawError> {
        let start = self.pos;
        self.budget.take_elements(1)?;
        let variant = self.varint()?;
        let variant =
            u8::try_from(variant).map_err(|_| Self::malformed(start, "unknown value kind"))?;
        Ok(Some(match variant {
            tag::UNDEF => Value::Undef,
            tag::BOOL => match self.byte()? {
                0 => Value::Bool(false),
                1 => Value::Bool(true),
                _ => return Err(Self::malformed(start, "boolean is not 0 or 1")),
            },
            tag::INT => {
                let z = self.varint()?;
                Value::Int(((z >> 1) as i64) ^ -((z & 1) as i64))
            }
            tag::UINT => Value::UInt(self.varint()?),
            tag::FLOAT => {
                if self.remaining() < 8 {
                    return Err(self.end());
                }
                let mut le = [0; 8];
                le.copy_from_slice(&self.input[self.pos..self.pos + 8]);
                self.pos += 8;
                Value::Float(f64::from_le_bytes(le))
            }
            tag::BYTES => Value::Bytes(self.raw()?.to_vec()),
            tag::STR => Value::Str(self.text()?.to_owned()),
            tag::ARRAY => {
                let left = self.count(1)?;
                if left == 0 {
                    return Ok(Some(Value::Array(Vec::new())));
                }
                self.push(
                    stack,
                    base,
                    Frame::Array {
                        items: Vec::with_capacity(left.min(MAX_PREALLOCATE)),
                        left,
                    },
                )?;
                return Ok(None);
            }
            tag::HASH => {
                let left = self.count(3)?;
                if left == 0 {
                    return Ok(Some(Value::Hash(Hash::new())));
                }
                self.push(
                    stack,
                    base,
                    Frame::Hash {
                        hash: Hash::with_capacity(left.min(MAX_PREALLOCATE)),
                        left,
                        key: None,
                    },
                )?;
                return Ok(None);
            }
            tag::REF => {
                self.push(stack, base, Frame::Ref)?;
                return Ok(None);
            }
            tag::BLESSED => {
                let class = self.text()?.to_owned();
                self.push(stack, base, Frame::Blessed { class })?;
                return Ok(None);
            }
            _ => return Err(Self::malformed(start, "unknown value kind")),
        }))
    }

    fn push(&self, stack: &mut Vec<Frame>, base: usize, frame: Frame) -> Result<(), ThawError> {
        self.budget.check_depth(base + stack.len() + 1)?;
        stack.push(frame);
        Ok(())
    }
}
