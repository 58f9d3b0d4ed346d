//! The serde bridge: any `Serialize` type to a [`Value`], and a [`Value`]
//! to any `Deserialize` type, so users send their own structs.

mod de;
mod impls;
mod key;
mod ser;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::ValueError;
use crate::value::Value;

/// The newtype name under which [`Value`] serializes a scalar reference.
pub(crate) const REF_TOKEN: &str = "$ikc_freezer::Ref";
/// The struct name under which [`Value`] serializes a blessed reference.
pub(crate) const BLESSED_TOKEN: &str = "$ikc_freezer::Blessed";
/// The newtype name under which [`Value`] asks to be deserialized losslessly.
pub(crate) const VALUE_TOKEN: &str = "$ikc_freezer::Value";

/// Convert any `Serialize` value to a [`Value`].
///
/// Structs and maps become hashes (keys are strings, as Perl's are: numbers,
/// chars and booleans are written as Perl would stringify them), sequences
/// and tuples become arrays, `()`/`None`/unit structs become `undef`,
/// strings become [`Str`](Value::Str) and byte buffers (`serde_bytes`,
/// `&[u8]` via `serialize_bytes`) become [`Bytes`](Value::Bytes). Enums use
/// serde's externally tagged form: a unit variant is its name, the others
/// `{Variant => value}`.
///
/// # Errors
///
/// A [`ValueError`] when the type's `Serialize` fails, or for a map key that
/// cannot be a Perl hash key (a sequence, a map, ...), or an `i128`/`u128`
/// beyond 64 bits.
pub fn to_value<T: Serialize + ?Sized>(value: &T) -> Result<Value, ValueError> {
    value.serialize(ser::ValueSerializer)
}

/// Convert a [`Value`] to any `Deserialize` type, reading Perl's untyped
/// data the Perl way.
///
/// Perl sends most data as untyped strings, so reading is Perl-friendly:
///
/// - numbers accept numeric strings (`"42"`, `" 2.5e3 "`), exactly or not
///   at all: an integer that does not fit the Rust type is an error, never
///   truncated;
/// - strings accept [`Bytes`](Value::Bytes) that are UTF-8, and numbers
///   (stringified as Perl does);
/// - `bool` accepts Perl's usual flags: `1`, `0`, `''`, `'1'`, `'0'`, and
///   `undef` as false;
/// - a blessed reference and a scalar reference read as what they point to,
///   so a struct reads a blessed hash (the class is dropped; read into a
///   [`Value`] to keep it);
/// - `Vec<u8>` accepts a byte string.
///
/// [`Value`] itself implements `Serialize` and `Deserialize`: through this
/// bridge it round-trips exactly (references and classes included); through
/// other formats such as JSON, a scalar reference is written as its target
/// and a blessed reference as `{"class": ..., "value": ...}`.
///
/// # Examples
///
/// ```
/// use ikc_freezer::{Value, from_value, to_value};
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Debug, PartialEq, Serialize, Deserialize)]
/// struct Job {
///     id: u32,
///     name: String,
///     tags: Vec<String>,
///     done: bool,
/// }
///
/// let job = Job { id: 7, name: "build".into(), tags: vec!["ci".into()], done: false };
/// let value = to_value(&job)?;
/// assert_eq!(value["name"], Value::from("build"));
///
/// // What a Perl peer sends for the same job: strings everywhere.
/// let perl = ikc_freezer::Hash::from_iter([
///     ("id", Value::bytes("7")),
///     ("name", Value::bytes("build")),
///     ("tags", Value::from(vec![Value::bytes("ci")])),
///     ("done", Value::bytes("")),
/// ]);
/// assert_eq!(from_value::<Job>(Value::from(perl))?, job);
/// # Ok::<(), ikc_freezer::ValueError>(())
/// ```
///
/// # Errors
///
/// A [`ValueError`] when the value does not have the shape the type needs,
/// or a number does not fit exactly.
pub fn from_value<T: DeserializeOwned>(value: Value) -> Result<T, ValueError> {
    T::deserialize(value)
}

#[cfg(test)]
mod tests;
