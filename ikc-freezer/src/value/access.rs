//! Constructors, Perl-style accessors and indexing for [`Value`].

use std::ops::Index;

use crate::value::number::{Number, parse_number};
use crate::value::{Blessed, Hash, Value};

/// What indexing returns for a missing element: Perl reads `undef` without
/// creating anything.
static UNDEF: Value = Value::Undef;

impl Value {
    /// A blessed reference.
    pub fn blessed(class: impl Into<String>, value: Self) -> Self {
        Self::Blessed(Box::new(Blessed {
            class: class.into(),
            value,
        }))
    }

    /// A byte string (Perl string without the UTF-8 flag). `Vec<u8>`
    /// converts to an array of integers, so byte strings are built here.
    pub fn bytes(bytes: impl Into<Vec<u8>>) -> Self {
        Self::Bytes(bytes.into())
    }

    /// A reference to a scalar.
    pub fn reference(value: Self) -> Self {
        Self::Ref(Box::new(value))
    }

    /// Is this `undef`?
    pub fn is_undef(&self) -> bool {
        matches!(self, Self::Undef)
    }

    /// Is this a reference (array, hash, scalar reference or blessed)?
    pub fn is_reference(&self) -> bool {
        matches!(
            self,
            Self::Array(_) | Self::Hash(_) | Self::Ref(_) | Self::Blessed(_)
        )
    }

    /// The hash, if this is a hash reference.
    pub fn as_hash(&self) -> Option<&Hash> {
        match self {
            Self::Hash(h) => Some(h),
            _ => None,
        }
    }

    /// The hash, mutably, if this is a hash reference.
    pub fn as_hash_mut(&mut self) -> Option<&mut Hash> {
        match self {
            Self::Hash(h) => Some(h),
            _ => None,
        }
    }

    /// The elements, if this is an array reference.
    pub fn as_array(&self) -> Option<&[Self]> {
        match self {
            Self::Array(a) => Some(a),
            _ => None,
        }
    }

    /// The elements, mutably, if this is an array reference.
    pub fn as_array_mut(&mut self) -> Option<&mut Vec<Self>> {
        match self {
            Self::Array(a) => Some(a),
            _ => None,
        }
    }

    /// The scalar a scalar reference points to (`$$ref`).
    pub fn as_referent(&self) -> Option<&Self> {
        match self {
            Self::Ref(v) => Some(v),
            _ => None,
        }
    }

    /// The class and reference, if this is a blessed reference.
    pub fn as_blessed(&self) -> Option<&Blessed> {
        match self {
            Self::Blessed(b) => Some(b),
            _ => None,
        }
    }

    /// The class of a blessed reference (Perl's `ref` on an object).
    pub fn class(&self) -> Option<&str> {
        self.as_blessed().map(|b| b.class.as_str())
    }

    /// The value itself, or for a blessed reference the reference it
    /// blesses: what Perl's `$obj->{key}` and `$obj->[i]` look through.
    pub fn unblessed(&self) -> &Self {
        match self {
            Self::Blessed(b) => &b.value,
            other => other,
        }
    }

    /// The value of a hash key (looking through a blessing), as Perl's
    /// `$h->{key}` reads it without creating anything.
    pub fn get(&self, key: &str) -> Option<&Self> {
        self.unblessed().as_hash()?.get(key)
    }

    /// The element at `index` (looking through a blessing).
    pub fn get_index(&self, index: usize) -> Option<&Self> {
        self.unblessed().as_array()?.get(index)
    }

    /// A short name for the kind of value, for messages: `undef`, `boolean`,
    /// `integer`, `float`, `byte string`, `string`, `array`, `hash`,
    /// `scalar reference` or `blessed reference`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Undef => "undef",
            Self::Bool(_) => "boolean",
            Self::Int(_) | Self::UInt(_) => "integer",
            Self::Float(_) => "float",
            Self::Bytes(_) => "byte string",
            Self::Str(_) => "string",
            Self::Array(_) => "array",
            Self::Hash(_) => "hash",
            Self::Ref(_) => "scalar reference",
            Self::Blessed(_) => "blessed reference",
        }
    }

    /// The number this value holds or spells, read as Perl numifies a
    /// string (see [`as_i64`](Self::as_i64)).
    pub(crate) fn as_number(&self) -> Option<Number> {
        match self {
            Self::Bool(b) => Some(Number::Int(i64::from(*b))),
            Self::Int(i) => Some(Number::Int(*i)),
            Self::UInt(u) => Some(i64::try_from(*u).map_or(Number::UInt(*u), Number::Int)),
            Self::Float(f) => Some(Number::Float(*f)),
            Self::Bytes(b) => parse_number(b),
            Self::Str(s) => parse_number(s.as_bytes()),
            _ => None,
        }
    }

    /// The value as an `i64`, if it is exactly one.
    ///
    /// Integers, integral floats, booleans (0 or 1) and strings Perl reads
    /// as numbers (leading and trailing whitespace, a sign, decimals,
    /// exponents, `"0 but true"`) qualify. Where Perl would quietly give 0
    /// (`undef`, `"abc"`, `"12abc"`), truncate (`"2.5"`) or lose digits
    /// (integers beyond 64 bits), this gives `None` instead.
    pub fn as_i64(&self) -> Option<i64> {
        self.as_number()?.to_i64()
    }

    /// The value as a `u64`, if it is exactly one (as [`as_i64`](Self::as_i64)).
    pub fn as_u64(&self) -> Option<u64> {
        self.as_number()?.to_u64()
    }

    /// The value as an `f64`: numbers, booleans, and strings Perl reads as
    /// numbers (including `Inf` and `NaN`). Integers beyond 2^53 round, as
    /// they do in Perl. `None` for anything else.
    pub fn as_f64(&self) -> Option<f64> {
        self.as_number().map(Number::to_f64)
    }

    /// The text of a string value: a [`Str`](Self::Str), or
    /// [`Bytes`](Self::Bytes) that are valid UTF-8 (Perl sends most
    /// strings without the UTF-8 flag). Numbers are not strings here: use
    /// `to_string()` for Perl's stringification.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Self::Str(s) => Some(s),
            Self::Bytes(b) => std::str::from_utf8(b).ok(),
            _ => None,
        }
    }

    /// The bytes of a string value (UTF-8 for a [`Str`](Self::Str)).
    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            Self::Str(s) => Some(s.as_bytes()),
            Self::Bytes(b) => Some(b),
            _ => None,
        }
    }

    /// Perl truthiness: `undef`, `0`, `0.0`, `""` and `"0"` are false;
    /// every other value, and every reference, is true.
    pub fn as_bool(&self) -> bool {
        match self {
            Self::Undef => false,
            Self::Bool(b) => *b,
            Self::Int(i) => *i != 0,
            Self::UInt(_) => true,
            Self::Float(f) => *f != 0.0,
            Self::Bytes(b) => !(b.is_empty() || b == b"0"),
            Self::Str(s) => !(s.is_empty() || s == "0"),
            Self::Array(_) | Self::Hash(_) | Self::Ref(_) | Self::Blessed(_) => true,
        }
    }
}

impl Index<usize> for Value {
    type Output = Self;

    /// The element at `index` of an array (or blessed array), or `undef`
    /// when there is none: never panics.
    fn index(&self, index: usize) -> &Self {
        self.get_index(index).unwrap_or(&UNDEF)
    }
}

impl Index<&str> for Value {
    type Output = Self;

    /// The value of `key` in a hash (or blessed hash), or `undef` when
    /// there is none: never panics.
    fn index(&self, key: &str) -> &Self {
        self.get(key).unwrap_or(&UNDEF)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn perl_numbers() {
        assert_eq!(Value::bytes(" 42 ").as_i64(), Some(42));
        assert_eq!(Value::from("0 but true").as_i64(), Some(0));
        assert!(Value::from("0 but true").as_bool());
        assert_eq!(Value::bytes("2.5").as_f64(), Some(2.5));
        assert_eq!(Value::bytes("2.5").as_i64(), None);
        assert_eq!(Value::bytes("1e3").as_u64(), Some(1000));
        assert_eq!(
            Value::bytes("18446744073709551615").as_u64(),
            Some(u64::MAX)
        );
        assert_eq!(Value::bytes("18446744073709551616").as_u64(), None);
        assert_eq!(Value::bytes("18446744073709551616").as_i64(), None);
        assert_eq!(Value::UInt(u64::MAX).as_i64(), None);
        assert_eq!(Value::Float(3.0).as_i64(), Some(3));
        assert_eq!(Value::Bool(true).as_i64(), Some(1));
        assert_eq!(Value::Undef.as_i64(), None);
        assert_eq!(Value::bytes("abc").as_f64(), None);
        assert_eq!(Value::from(vec![1]).as_i64(), None);
    }

    #[test]
    fn perl_truth() {
        for v in [
            Value::Undef,
            Value::Int(0),
            Value::Float(0.0),
            Value::bytes(""),
            Value::from("0"),
            Value::Bool(false),
        ] {
            assert!(!v.as_bool(), "{v:?}");
        }
        for v in [
            Value::bytes("0.0"),
            Value::from("00"),
            Value::from(" "),
            Value::Int(-1),
            Value::Float(f64::NAN),
            Value::from(Vec::<i32>::new()),
            Value::reference(Value::Undef),
        ] {
            assert!(v.as_bool(), "{v:?}");
        }
    }

    #[test]
    fn strings() {
        assert_eq!(Value::bytes("hi").as_str(), Some("hi"));
        assert_eq!(Value::bytes(vec![0xff]).as_str(), None);
        assert_eq!(Value::bytes(vec![0xff]).as_bytes(), Some(&[0xff][..]));
        assert_eq!(Value::from("☺").as_bytes(), Some("☺".as_bytes()));
        assert_eq!(Value::Int(5).as_str(), None);
    }

    #[test]
    fn indexing_never_panics() {
        let mut h = Hash::new();
        h.insert("list", vec![10, 20]);
        let v = Value::blessed("Obj", Value::from(h));
        assert_eq!(v["list"][1], Value::Int(20));
        assert_eq!(v["list"][9], Value::Undef);
        assert_eq!(v["nope"]["deeper"][0], Value::Undef);
        assert_eq!(Value::Int(1)[0], Value::Undef);
        assert_eq!(v.class(), Some("Obj"));
    }
}
