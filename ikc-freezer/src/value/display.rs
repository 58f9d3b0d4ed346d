//! `Display` for [`Value`]: Perl's stringification for scalars, a readable
//! Perl-literal form for references.

use std::fmt::{self, Write as _};

use crate::value::number::write_perl_float;
use crate::value::{Key, Value};

/// Perl's stringification of a scalar; a readable literal for references.
///
/// Scalars print as Perl prints them: `undef` as the empty string, booleans
/// as `1` and the empty string, integers in decimal, floats as Perl's
/// `%.15g` (`0.3`, `1e+15`, `Inf`, `NaN`), strings as their text (byte
/// strings that are not UTF-8 are shown with replacement characters).
///
/// References do not print as Perl's `HASH(0x55d0...)`, which says nothing
/// useful; they print as a compact Perl literal instead: `[1,'two',undef]`,
/// `{'k' => 'v'}`, `\'s'`, `bless( {...}, 'My::Class' )`. Strings inside
/// are single-quoted with `\\` and `\'` escaped; a hash prints in its
/// iteration order.
impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Undef | Self::Bool(false) => Ok(()),
            Self::Bool(true) => f.write_str("1"),
            Self::Int(i) => write!(f, "{i}"),
            Self::UInt(u) => write!(f, "{u}"),
            Self::Float(x) => write_perl_float(f, *x),
            Self::Bytes(b) => f.write_str(&String::from_utf8_lossy(b)),
            Self::Str(s) => f.write_str(s),
            reference => write_literal(f, reference),
        }
    }
}

fn write_quoted(f: &mut fmt::Formatter<'_>, text: &str) -> fmt::Result {
    f.write_char('\'')?;
    for c in text.chars() {
        if c == '\'' || c == '\\' {
            f.write_char('\\')?;
        }
        f.write_char(c)?;
    }
    f.write_char('\'')
}

fn write_key(f: &mut fmt::Formatter<'_>, key: &Key) -> fmt::Result {
    match key.as_str() {
        Some(s) => write_quoted(f, s),
        None => write_quoted(f, &String::from_utf8_lossy(key.as_bytes())),
    }
}

/// Nesting beyond this prints as `...`: Display must not overflow the stack.
const MAX_DISPLAY_DEPTH: usize = 128;

fn write_literal(f: &mut fmt::Formatter<'_>, value: &Value) -> fmt::Result {
    write_nested(f, value, 0)
}

fn write_nested(f: &mut fmt::Formatter<'_>, value: &Value, depth: usize) -> fmt::Result {
    if depth > MAX_DISPLAY_DEPTH {
        return f.write_str("...");
    }
    match value {
        Value::Undef => f.write_str("undef"),
        Value::Bool(true) => f.write_str("1"),
        Value::Bool(false) => f.write_str("''"),
        Value::Int(i) => write!(f, "{i}"),
        Value::UInt(u) => write!(f, "{u}"),
        Value::Float(x) => write_perl_float(f, *x),
        Value::Bytes(b) => write_quoted(f, &String::from_utf8_lossy(b)),
        Value::Str(s) => write_quoted(f, s),
        Value::Array(items) => {
            f.write_char('[')?;
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    f.write_char(',')?;
                }
                write_nested(f, item, depth + 1)?;
            }
            f.write_char(']')
        }
        Value::Hash(hash) => {
            f.write_char('{')?;
            for (i, (k, v)) in hash.iter().enumerate() {
                if i > 0 {
                    f.write_char(',')?;
                }
                write_key(f, k)?;
                f.write_str(" => ")?;
                write_nested(f, v, depth + 1)?;
            }
            f.write_char('}')
        }
        Value::Ref(inner) => {
            f.write_char('\\')?;
            write_nested(f, inner, depth + 1)
        }
        Value::Blessed(b) => {
            f.write_str("bless( ")?;
            write_nested(f, &b.value, depth + 1)?;
            f.write_str(", ")?;
            write_quoted(f, &b.class)?;
            f.write_str(" )")
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::value::{Hash, Value};

    #[test]
    fn scalars_print_like_perl() {
        assert_eq!(Value::Undef.to_string(), "");
        assert_eq!(Value::Bool(true).to_string(), "1");
        assert_eq!(Value::Bool(false).to_string(), "");
        assert_eq!(Value::Int(-42).to_string(), "-42");
        assert_eq!(Value::UInt(u64::MAX).to_string(), "18446744073709551615");
        assert_eq!(Value::Float(0.1 + 0.2).to_string(), "0.3");
        assert_eq!(Value::Float(1e15).to_string(), "1e+15");
        assert_eq!(Value::bytes("caf\u{e9}").to_string(), "café");
        assert_eq!(Value::from("☺").to_string(), "☺");
    }

    #[test]
    fn references_print_as_literals() {
        let mut h = Hash::new();
        h.insert("it's", Value::reference(Value::from("s")));
        let v = Value::from(vec![
            Value::Undef,
            Value::Int(1),
            Value::blessed("My::Class", Value::from(h)),
        ]);
        assert_eq!(
            v.to_string(),
            r"[undef,1,bless( {'it\'s' => \'s'}, 'My::Class' )]"
        );
    }
}
