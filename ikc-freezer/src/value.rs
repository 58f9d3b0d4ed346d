//! [`Value`]: the Rust image of a Perl datum.

mod access;
mod convert;
mod display;
pub(crate) mod hash;
pub(crate) mod number;

pub use self::hash::{Hash, Key};

/// Everything that crosses an IKC wire: the Rust image of a Perl datum.
///
/// Aggregates are references, as they are in every IKC message: an
/// [`Array`](Value::Array) is Perl's `[...]`, a [`Hash`](Value::Hash) is
/// `{...}`, and [`Ref`](Value::Ref) is a reference to a scalar (`\"s"`), so
/// `Ref(Array(..))` is a reference to an array reference.
///
/// Read values the Perl way: [`as_i64`](Self::as_i64), [`as_f64`](Self::as_f64)
/// and friends read numeric strings as Perl numifies them (exactly, or
/// `None`), [`as_str`](Self::as_str) accepts byte strings that are UTF-8 (Perl
/// sends most text without the UTF-8 flag), [`as_bool`](Self::as_bool) is
/// Perl truthiness, indexing (`v["key"][0]`) gives `undef` for anything
/// missing, and `to_string()` is Perl's stringification.
///
/// ```
/// use ikc_freezer::Value;
///
/// let perl = Value::from(vec![Value::bytes(" 42 "), Value::bytes("0 but true")]);
/// assert_eq!(perl[0].as_i64(), Some(42));
/// assert!(perl[1].as_bool());
/// assert_eq!(perl[7]["missing"], Value::Undef);
/// assert_eq!(Value::Float(0.1 + 0.2).to_string(), "0.3");
/// ```
#[derive(Debug, Clone, Default)]
pub enum Value {
    /// Perl's `undef`.
    #[default]
    Undef,
    /// A boolean. Perl has none on the wire: the Perl codecs write `1` and
    /// `''` (Perl's true and false); the native codec keeps it.
    Bool(bool),
    /// A signed integer (Perl IV).
    Int(i64),
    /// An unsigned integer above `i64::MAX` (Perl UV). Smaller unsigned
    /// values are always [`Value::Int`]: build with `Value::from(u64)`.
    UInt(u64),
    /// A floating-point number (Perl NV).
    Float(f64),
    /// A byte string (Perl string without the UTF-8 flag).
    Bytes(Vec<u8>),
    /// A character string (Perl string with the UTF-8 flag on).
    Str(String),
    /// A reference to an array.
    Array(Vec<Self>),
    /// A reference to a hash.
    Hash(Hash),
    /// A reference to a scalar (`\$x`).
    Ref(Box<Self>),
    /// A blessed reference: a class name and the reference it blesses.
    Blessed(Box<Blessed>),
}

/// A blessed reference: `bless $value, $class`.
#[derive(Debug, Clone, PartialEq)]
pub struct Blessed {
    /// The package the reference is blessed into.
    pub class: String,
    /// The reference itself (an array, hash or scalar reference).
    pub value: Value,
}

impl PartialEq for Value {
    fn eq(&self, other: &Self) -> bool {
        use Value::*;
        match (self, other) {
            (Undef, Undef) => true,
            (Bool(a), Bool(b)) => a == b,
            (Int(a), Int(b)) => a == b,
            (UInt(a), UInt(b)) => a == b,
            // An out-of-canon UInt (built by hand) still equals its Int.
            (Int(a), UInt(b)) | (UInt(b), Int(a)) => u64::try_from(*a).is_ok_and(|a| a == *b),
            (Float(a), Float(b)) => a == b || (a.is_nan() && b.is_nan()),
            (Bytes(a), Bytes(b)) => a == b,
            (Str(a), Str(b)) => a == b,
            (Array(a), Array(b)) => a == b,
            (Hash(a), Hash(b)) => a == b,
            (Ref(a), Ref(b)) => a == b,
            (Blessed(a), Blessed(b)) => a == b,
            _ => false,
        }
    }
}
