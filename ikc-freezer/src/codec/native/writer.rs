//! Writing the native encoding.

use crate::error::FreezeError;
use crate::value::{Hash, Value};

use super::tag;

pub(super) fn freeze(
    value: &Value,
    out: &mut Vec<u8>,
    max_depth: usize,
) -> Result<(), FreezeError> {
    Writer { out, max_depth }.value(value, 0)
}

pub(super) struct Writer<'a> {
    pub(super) out: &'a mut Vec<u8>,
    pub(super) max_depth: usize,
}

impl Writer<'_> {
    /// The start of a hash of `len` entries at nesting level `depth`.
    pub(super) fn hash_header(&mut self, len: usize, depth: usize) -> Result<(), FreezeError> {
        self.check(depth)?;
        self.out.push(tag::HASH);
        self.varint(len as u64);
        Ok(())
    }

    /// A character string.
    pub(super) fn str(&mut self, s: &str) {
        self.out.push(tag::STR);
        self.bytes(s.as_bytes());
    }

    /// A text key.
    pub(super) fn text_key(&mut self, key: &str) {
        self.out.push(tag::KEY_STR);
        self.bytes(key.as_bytes());
    }

    fn varint(&mut self, mut n: u64) {
        while n >= 0x80 {
            self.out.push((n as u8) | 0x80);
            n >>= 7;
        }
        self.out.push(n as u8);
    }

    fn bytes(&mut self, bytes: &[u8]) {
        self.varint(bytes.len() as u64);
        self.out.extend_from_slice(bytes);
    }

    pub(super) fn value(&mut self, value: &Value, depth: usize) -> Result<(), FreezeError> {
        match value {
            Value::Undef => self.out.push(tag::UNDEF),
            Value::Bool(b) => self.out.extend_from_slice(&[tag::BOOL, u8::from(*b)]),
            Value::Int(i) => {
                self.out.push(tag::INT);
                self.varint(((i << 1) ^ (i >> 63)) as u64);
            }
            Value::UInt(u) => {
                self.out.push(tag::UINT);
                self.varint(*u);
            }
            Value::Float(f) => {
                self.out.push(tag::FLOAT);
                self.out.extend_from_slice(&f.to_le_bytes());
            }
            Value::Bytes(b) => {
                self.out.push(tag::BYTES);
                self.bytes(b);
            }
            Value::Str(s) => {
                self.out.push(tag::STR);
                self.bytes(s.as_bytes());
            }
            Value::Array(items) => {
                self.check(depth)?;
                self.out.push(tag::ARRAY);
                self.varint(items.len() as u64);
                for item in items {
                    self.value(item, depth + 1)?;
                }
            }
            Value::Hash(hash) => {
                self.check(depth)?;
                self.hash(hash, depth)?;
            }
            Value::Ref(inner) => {
                self.check(depth)?;
                self.out.push(tag::REF);
                self.value(inner, depth + 1)?;
            }
            Value::Blessed(b) => {
                self.check(depth)?;
                self.out.push(tag::BLESSED);
                self.bytes(b.class.as_bytes());
                self.value(&b.value, depth + 1)?;
            }
        }
        Ok(())
    }

    fn check(&self, depth: usize) -> Result<(), FreezeError> {
        if depth >= self.max_depth {
            return Err(FreezeError::TooDeep {
                limit: self.max_depth,
            });
        }
        Ok(())
    }

    fn hash(&mut self, hash: &Hash, depth: usize) -> Result<(), FreezeError> {
        self.out.push(tag::HASH);
        self.varint(hash.len() as u64);
        for (key, item) in hash {
            self.out.push(if key.is_bytes() {
                tag::KEY_BYTES
            } else {
                tag::KEY_STR
            });
            self.bytes(key.as_bytes());
            self.value(item, depth + 1)?;
        }
        Ok(())
    }
}
