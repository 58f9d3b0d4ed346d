//! Writing Dumper text as IKC's freezer (Data::Dumper's XS code, with
//! `Purity = 1`, `Indent = 0`) writes it.

use std::fmt::Write as _;

use crate::codec::DUMPER;
use crate::error::FreezeError;
use crate::value::number::write_perl_float;
use crate::value::{Key, Value};

use super::VAR_NAME;

pub(super) fn freeze(
    value: &Value,
    out: &mut Vec<u8>,
    max_depth: usize,
) -> Result<(), FreezeError> {
    out.push(b'$');
    out.extend_from_slice(VAR_NAME.as_bytes());
    out.extend_from_slice(b" = ");
    write_value(value, out, 0, max_depth)?;
    out.push(b';');
    Ok(())
}

fn write_value(
    value: &Value,
    out: &mut Vec<u8>,
    depth: usize,
    max_depth: usize,
) -> Result<(), FreezeError> {
    if depth > max_depth {
        return Err(FreezeError::TooDeep { limit: max_depth });
    }
    match value {
        Value::Undef => out.extend_from_slice(b"undef"),
        Value::Bool(true) => out.push(b'1'),
        Value::Bool(false) => out.extend_from_slice(b"''"),
        Value::Int(i) => {
            // Dumper quotes integers longer than 10 characters.
            let start = out.len();
            let _ = write!(ByteWriter(out), "{i}");
            if out.len() - start > 10 {
                out.insert(start, b'\'');
                out.push(b'\'');
            }
        }
        Value::UInt(u) => {
            let _ = write!(ByteWriter(out), "'{u}'");
        }
        Value::Float(f) => {
            let mut text = String::new();
            write_perl_float(&mut text, *f).map_err(|_| FreezeError::Unsupported {
                codec: DUMPER.to_owned(),
                what: "a float".to_owned(),
            })?;
            single_quoted(text.as_bytes(), out);
        }
        Value::Bytes(b) => single_quoted(b, out),
        Value::Str(s) => text(s, out),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_value(item, out, depth + 1, max_depth)?;
            }
            out.push(b']');
        }
        Value::Hash(hash) => {
            out.push(b'{');
            for (i, (key, item)) in hash.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_key(key, out);
                out.extend_from_slice(b" => ");
                write_value(item, out, depth + 1, max_depth)?;
            }
            out.push(b'}');
        }
        Value::Ref(inner) => {
            out.push(b'\\');
            write_value(inner, out, depth + 1, max_depth)?;
        }
        Value::Blessed(b) => {
            out.extend_from_slice(b"bless( ");
            match &b.value {
                Value::Array(_) | Value::Hash(_) => {
                    write_value(&b.value, out, depth + 1, max_depth)?
                }
                Value::Ref(inner) => {
                    // Dumper's form for a blessed scalar reference.
                    out.extend_from_slice(b"do{\\(my $o = ");
                    write_value(inner, out, depth + 1, max_depth)?;
                    out.extend_from_slice(b")}");
                }
                other => {
                    return Err(FreezeError::Unsupported {
                        codec: DUMPER.to_owned(),
                        what: format!(
                            "a blessed {} (only array, hash and scalar references can be blessed)",
                            other.kind()
                        ),
                    });
                }
            }
            out.extend_from_slice(b", ");
            single_quoted(b.class.as_bytes(), out);
            out.extend_from_slice(b" )");
        }
    }
    Ok(())
}

/// Adapts a byte vector to `fmt::Write`.
struct ByteWriter<'a>(&'a mut Vec<u8>);

impl std::fmt::Write for ByteWriter<'_> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
}

/// `'...'` with `\` and `'` escaped; every other byte as it is.
fn single_quoted(bytes: &[u8], out: &mut Vec<u8>) {
    out.push(b'\'');
    for &b in bytes {
        if b == b'\'' || b == b'\\' {
            out.push(b'\\');
        }
        out.push(b);
    }
    out.push(b'\'');
}

/// A character string: single-quoted if ASCII, else double-quoted with
/// `\x{...}` for every character beyond ASCII (Dumper's `esc_q_utf8`).
fn text(s: &str, out: &mut Vec<u8>) {
    if s.is_ascii() {
        return single_quoted(s.as_bytes(), out);
    }
    out.push(b'"');
    for c in s.chars() {
        match c {
            '"' | '\\' | '$' | '@' => {
                out.push(b'\\');
                out.push(c as u8);
            }
            c if c.is_ascii() => out.push(c as u8),
            c => {
                let _ = write!(ByteWriter(out), "\\x{{{:x}}}", u32::from(c));
            }
        }
    }
    out.push(b'"');
}

fn write_key(key: &Key, out: &mut Vec<u8>) {
    if key.is_wide_utf8() {
        text(key.as_str().unwrap_or_default(), out);
    } else {
        single_quoted(key.as_bytes(), out);
    }
}
