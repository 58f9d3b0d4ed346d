//! Writing a network-order Storable image, byte for byte as Perl's
//! `nfreeze` writes the same data.

use std::fmt::Write as _;

use crate::codec::STORABLE;
use crate::error::FreezeError;
use crate::value::number::{float_to_i64, write_perl_float};
use crate::value::{Hash, Key, Value};

use super::{LG_BLESS, LG_SCALAR, MAJOR, WRITE_MINOR, key_flag, op};

mod encoder;

pub use self::encoder::StorableEncoder;

pub(super) fn freeze(
    value: &Value,
    out: &mut Vec<u8>,
    max_depth: usize,
) -> Result<(), FreezeError> {
    Writer::new(out, max_depth).referent(value, 0)
}

fn unsupported(what: impl Into<String>) -> FreezeError {
    FreezeError::Unsupported {
        codec: STORABLE.to_owned(),
        what: what.into(),
    }
}

struct Writer<'a, 'v> {
    out: &'a mut Vec<u8>,
    /// Classes already written, by index (`SX_IX_BLESS`).
    classes: Vec<&'v str>,
    max_depth: usize,
}

impl<'a> Writer<'a, '_> {
    /// A writer that has written the image's header.
    fn new(out: &'a mut Vec<u8>, max_depth: usize) -> Self {
        out.push((MAJOR << 1) | 1);
        out.push(WRITE_MINOR);
        Self {
            out,
            classes: Vec::new(),
            max_depth,
        }
    }
}

impl<'v> Writer<'_, 'v> {
    fn length(&mut self, len: usize, what: &str) -> Result<(), FreezeError> {
        let n = i32::try_from(len).map_err(|_| unsupported(format!("{what} longer than 2 GiB")))?;
        self.out.extend_from_slice(&n.to_be_bytes());
        Ok(())
    }

    /// The thing a reference points to.
    fn referent(&mut self, value: &'v Value, depth: usize) -> Result<(), FreezeError> {
        if depth > self.max_depth {
            return Err(FreezeError::TooDeep {
                limit: self.max_depth,
            });
        }
        match value {
            Value::Array(items) => {
                self.out.push(op::ARRAY);
                self.length(items.len(), "array")?;
                for item in items {
                    self.scalar(item, depth)?;
                }
                Ok(())
            }
            Value::Hash(hash) => self.hash(hash, depth),
            // Perl's `\undef` points at the immortal undef.
            Value::Ref(inner) if inner.is_undef() => {
                self.out.push(op::SV_UNDEF);
                Ok(())
            }
            Value::Ref(inner) => self.scalar(inner, depth),
            Value::Blessed(b) => {
                if !matches!(b.value, Value::Array(_) | Value::Hash(_) | Value::Ref(_)) {
                    return Err(unsupported(format!(
                        "a blessed {} (only array, hash and scalar references can be blessed)",
                        b.value.kind()
                    )));
                }
                self.bless(&b.class)?;
                self.referent(&b.value, depth)
            }
            scalar => Err(unsupported(format!(
                "a top-level {} (Storable stores a reference: wrap it in Value::Ref)",
                scalar.kind()
            ))),
        }
    }

    fn bless(&mut self, class: &'v str) -> Result<(), FreezeError> {
        if let Some(index) = self.classes.iter().position(|c| *c == class) {
            self.out.push(op::IX_BLESS);
            if index <= LG_BLESS {
                self.out.push(index as u8);
            } else {
                self.out.push(0x80);
                self.length(index, "class table")?;
            }
        } else {
            self.out.push(op::BLESS);
            if class.len() <= LG_BLESS {
                self.out.push(class.len() as u8);
            } else {
                self.out.push(0x80);
                self.length(class.len(), "class name")?;
            }
            self.out.extend_from_slice(class.as_bytes());
            self.classes.push(class);
        }
        Ok(())
    }

    /// A value in a scalar slot (array element, hash value, referent of a
    /// scalar reference).
    fn scalar(&mut self, value: &'v Value, depth: usize) -> Result<(), FreezeError> {
        match value {
            Value::Undef => self.out.push(op::UNDEF),
            Value::Bool(b) => self.string(if *b { b"1" } else { b"" }, false)?,
            Value::Int(i) => self.integer(*i)?,
            Value::UInt(u) => self.decimal(format_args!("{u}"))?,
            Value::Float(f) => match float_to_i64(*f) {
                Some(i) => self.integer(i)?,
                None => {
                    let mut text = String::new();
                    write_perl_float(&mut text, *f).map_err(|_| unsupported("a float"))?;
                    self.string(text.as_bytes(), false)?;
                }
            },
            Value::Bytes(b) => self.string(b, false)?,
            Value::Str(s) => self.string(s.as_bytes(), true)?,
            Value::Array(_) | Value::Hash(_) | Value::Ref(_) | Value::Blessed(_) => {
                self.out.push(op::REF);
                self.referent(value, depth + 1)?;
            }
        }
        Ok(())
    }

    fn integer(&mut self, i: i64) -> Result<(), FreezeError> {
        if (-128..=127).contains(&i) {
            self.out.push(op::BYTE);
            self.out.push((i + 128) as u8);
        } else if let Ok(n) = i32::try_from(i) {
            self.out.push(op::NETINT);
            self.out.extend_from_slice(&n.to_be_bytes());
        } else {
            // Network order has no 64-bit integers: Perl writes the digits.
            self.decimal(format_args!("{i}"))?;
        }
        Ok(())
    }

    fn decimal(&mut self, number: std::fmt::Arguments<'_>) -> Result<(), FreezeError> {
        let mut text = String::with_capacity(20);
        text.write_fmt(number)
            .map_err(|_| unsupported("a number"))?;
        self.string(text.as_bytes(), false)
    }

    fn string(&mut self, bytes: &[u8], utf8: bool) -> Result<(), FreezeError> {
        if bytes.len() <= LG_SCALAR {
            self.out.push(if utf8 { op::UTF8STR } else { op::SCALAR });
            self.out.push(bytes.len() as u8);
        } else {
            self.out.push(if utf8 { op::LUTF8STR } else { op::LSCALAR });
            self.length(bytes.len(), "string")?;
        }
        self.out.extend_from_slice(bytes);
        Ok(())
    }

    fn hash(&mut self, hash: &'v Hash, depth: usize) -> Result<(), FreezeError> {
        // Perl flags a hash whose keys include characters beyond ASCII.
        let flagged = hash.keys().any(Key::is_wide_utf8);
        if flagged {
            self.out.push(op::FLAG_HASH);
            self.out.push(0);
        } else {
            self.out.push(op::HASH);
        }
        self.length(hash.len(), "hash")?;
        for (key, value) in hash {
            self.scalar(value, depth)?;
            if flagged && key.is_wide_utf8() {
                self.wide_key(key)?;
            } else {
                if flagged {
                    self.out.push(0);
                }
                let raw = key.as_bytes();
                self.length(raw.len(), "hash key")?;
                self.out.extend_from_slice(raw);
            }
        }
        Ok(())
    }

    /// A key with characters beyond ASCII, in a flagged hash.
    fn wide_key(&mut self, key: &Key) -> Result<(), FreezeError> {
        let text = key.as_str().unwrap_or_default();
        if text.chars().all(|c| u32::from(c) <= 0xff) {
            // Perl keeps such keys as Latin-1 bytes, flagged.
            self.out.push(key_flag::WASUTF8);
            let latin1: Vec<u8> = text.chars().map(|c| c as u8).collect();
            self.length(latin1.len(), "hash key")?;
            self.out.extend_from_slice(&latin1);
        } else {
            self.out.push(key_flag::UTF8);
            self.length(text.len(), "hash key")?;
            self.out.extend_from_slice(text.as_bytes());
        }
        Ok(())
    }
}
