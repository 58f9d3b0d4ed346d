//! Entry points for the fuzz targets (`fuzz/`), and the normal forms each
//! codec reduces a [`Value`] to.
//!
//! Each `thaw_*` function decodes arbitrary bytes and, when they decode,
//! checks the codec's own promise: encoding the value and decoding it again
//! gives the value back, in the codec's normal form. They panic when a
//! codec breaks that promise, which is what a fuzzer looks for, so they are
//! for fuzzing and tests only, never for a production path.

use crate::codec::{Dumper, Freezer, Native, Storable};
use crate::error::ThawError;
use crate::value::{Blessed, Hash, Key, Value};

/// Fuzz the native decoder.
pub fn thaw_native(data: &[u8]) {
    round_trip(&Native::new(), data, |v| v.clone());
}

/// Fuzz the Storable decoder, and its entry-by-entry reading of a hash
/// ([`Storable::decoder`]), which must agree with it.
pub fn thaw_storable(data: &[u8]) {
    round_trip(&Storable::new(), data, storable_normal_form);
    storable_entries_agree(data);
}

/// A hash read entry by entry is the hash `thaw` reads; when either fails,
/// both do.
fn storable_entries_agree(data: &[u8]) {
    let storable = Storable::new();
    let whole = storable.thaw(data);
    let by_entry = (|| -> Result<Option<Hash>, ThawError> {
        let mut dec = storable.decoder(data)?;
        let Some(entries) = dec.hash()? else {
            return Ok(None);
        };
        let mut hash = Hash::new();
        for _ in 0..entries {
            let value = dec.value()?;
            if let Some(key) = dec.key()? {
                hash.insert(key, value);
            }
        }
        dec.finish()?;
        Ok(Some(hash))
    })();
    match by_entry {
        Ok(Some(hash)) => assert_eq!(whole.ok(), Some(Value::Hash(hash)), "Storable entries"),
        // Not a plain hash: for thaw alone.
        Ok(None) => {}
        Err(_) => assert!(
            !matches!(whole, Ok(Value::Hash(_))),
            "Storable entries refused a hash"
        ),
    }
}

/// Fuzz the Dumper parser.
pub fn thaw_dumper(data: &[u8]) {
    round_trip(&Dumper::new(), data, dumper_normal_form);
}

fn round_trip(codec: &dyn Freezer, data: &[u8], normal: impl Fn(&Value) -> Value) {
    let Ok(value) = codec.thaw(data) else {
        return;
    };
    let mut bytes = Vec::new();
    if codec.freeze(&value, &mut bytes).is_err() {
        return;
    }
    let again = codec.thaw(&bytes);
    assert_eq!(
        again.as_ref().ok(),
        Some(&normal(&value)),
        "{} round trip",
        codec.name()
    );
}

fn map(value: &Value, scalar: &dyn Fn(&Value) -> Value, key: &dyn Fn(&Key) -> Key) -> Value {
    match value {
        Value::Array(items) => Value::Array(items.iter().map(|v| map(v, scalar, key)).collect()),
        Value::Hash(h) => Value::Hash(
            h.iter()
                .map(|(k, v)| (key(k), map(v, scalar, key)))
                .collect::<Hash>(),
        ),
        Value::Ref(inner) => Value::Ref(Box::new(map(inner, scalar, key))),
        Value::Blessed(b) => Value::Blessed(Box::new(Blessed {
            class: b.class.clone(),
            value: map(&b.value, scalar, key),
        })),
        other => scalar(other),
    }
}

/// What a value reads back as after a trip through Storable (see
/// [`Storable`]'s documentation).
pub fn storable_normal_form(value: &Value) -> Value {
    fn scalar(v: &Value) -> Value {
        let int = |i: i64| {
            if i32::try_from(i).is_ok() {
                Value::Int(i)
            } else {
                Value::Bytes(i.to_string().into_bytes())
            }
        };
        match v {
            Value::Bool(b) => Value::bytes(if *b { "1" } else { "" }),
            Value::Int(i) => int(*i),
            Value::UInt(u) => Value::Bytes(u.to_string().into_bytes()),
            Value::Float(f) => match crate::value::number::float_to_i64(*f) {
                Some(i) => int(i),
                None => Value::Bytes(v.to_string().into_bytes()),
            },
            other => other.clone(),
        }
    }
    map(value, &scalar, &Key::clone)
}

/// What a value reads back as after a trip through Dumper text (see
/// [`Dumper`]'s documentation).
pub fn dumper_normal_form(value: &Value) -> Value {
    fn latin1(s: &str) -> Option<Vec<u8>> {
        s.chars().map(|c| u8::try_from(u32::from(c)).ok()).collect()
    }
    fn scalar(v: &Value) -> Value {
        match v {
            Value::Bool(true) => Value::Int(1),
            Value::Bool(false) => Value::bytes(""),
            Value::Int(i) if i.to_string().len() <= 10 => Value::Int(*i),
            Value::Int(_) | Value::UInt(_) | Value::Float(_) => {
                Value::Bytes(v.to_string().into_bytes())
            }
            Value::Str(s) => latin1(s).map_or_else(|| v.clone(), Value::Bytes),
            other => other.clone(),
        }
    }
    fn key(k: &Key) -> Key {
        match k.as_str().filter(|_| k.is_wide_utf8()).and_then(latin1) {
            Some(bytes) => Key::from_bytes(bytes),
            None => k.clone(),
        }
    }
    map(value, &scalar, &key)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every fuzz entry point runs on a valid encoding and on each of its
    /// prefixes without panicking.
    #[test]
    fn fuzz_entry_points_survive_prefixes() {
        let value = Value::from(vec![
            Value::from("x☺"),
            Value::Int(1 << 40),
            Value::Hash(Hash::from_iter([(
                "k",
                Value::reference(Value::Float(2.5)),
            )])),
            Value::blessed("C", Value::Array(vec![Value::Bool(true)])),
        ]);
        let hash = Value::Hash(Hash::from_iter([
            ("list", value.clone()),
            ("k", Value::Undef),
        ]));
        type Entry<'a> = (&'a dyn Freezer, fn(&[u8]));
        let entries: [Entry<'_>; 3] = [
            (&Native::new(), thaw_native),
            (&Storable::new(), thaw_storable),
            (&Dumper::new(), thaw_dumper),
        ];
        for (codec, entry) in entries {
            for value in [&value, &hash] {
                let mut bytes = Vec::new();
                codec.freeze(value, &mut bytes).unwrap();
                for end in 0..=bytes.len() {
                    entry(&bytes[..end]);
                }
            }
        }
    }
}
