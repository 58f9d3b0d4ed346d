//! `Serialize` and `Deserialize` for [`Value`] itself.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::forward_to_deserialize_any;
use serde::ser::{Serialize, SerializeMap, SerializeSeq, SerializeStruct, Serializer};

use crate::bridge::de::{Variant, visit_array, visit_hash};
use crate::bridge::{BLESSED_TOKEN, REF_TOKEN, VALUE_TOKEN};
use crate::error::ValueError;
use crate::value::{Blessed, Hash, Key, Value};

impl Serialize for Value {
    /// Scalars as themselves (`undef` as unit), arrays as sequences, hashes
    /// as maps, a scalar reference as a newtype around its target, and a
    /// blessed reference as a struct `{class, value}`.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::Undef => serializer.serialize_unit(),
            Self::Bool(b) => serializer.serialize_bool(*b),
            Self::Int(i) => serializer.serialize_i64(*i),
            Self::UInt(u) => serializer.serialize_u64(*u),
            Self::Float(f) => serializer.serialize_f64(*f),
            Self::Bytes(b) => serializer.serialize_bytes(b),
            Self::Str(s) => serializer.serialize_str(s),
            Self::Array(items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            Self::Hash(hash) => {
                let mut map = serializer.serialize_map(Some(hash.len()))?;
                for (key, value) in hash {
                    map.serialize_entry(key, value)?;
                }
                map.end()
            }
            Self::Ref(inner) => serializer.serialize_newtype_struct(REF_TOKEN, inner),
            Self::Blessed(b) => {
                let mut s = serializer.serialize_struct(BLESSED_TOKEN, 2)?;
                s.serialize_field("class", &b.class)?;
                s.serialize_field("value", &b.value)?;
                s.end()
            }
        }
    }
}

impl Serialize for Key {
    /// A text key as a string, a byte key as bytes.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.as_str() {
            Some(s) => serializer.serialize_str(s),
            None => serializer.serialize_bytes(self.as_bytes()),
        }
    }
}

impl<'de> Deserialize<'de> for Value {
    /// Any self-describing input; from [`from_value`](crate::from_value)
    /// exactly (references, classes and byte strings kept).
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_newtype_struct(VALUE_TOKEN, ValueVisitor)
    }
}

impl<'de> Deserialize<'de> for Key {
    /// A string or bytes.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(KeyVisitor)
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any Perl value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Int(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_i128<E: de::Error>(self, v: i128) -> Result<Value, E> {
        i64::try_from(v)
            .map(Value::Int)
            .or_else(|_| u64::try_from(v).map(Value::from))
            .map_err(|_| E::custom(format!("{v} does not fit in 64 bits")))
    }
    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Value, E> {
        u64::try_from(v)
            .map(Value::from)
            .map_err(|_| E::custom(format!("{v} does not fit in 64 bits")))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Value::Float(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::Str(v))
    }
    fn visit_bytes<E>(self, v: &[u8]) -> Result<Value, E> {
        Ok(Value::Bytes(v.to_vec()))
    }
    fn visit_byte_buf<E>(self, v: Vec<u8>) -> Result<Value, E> {
        Ok(Value::Bytes(v))
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Undef)
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Undef)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        Value::deserialize(d)
    }
    /// The entry point of [`Value::deserialize`]: read whatever follows.
    fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut hash = Hash::with_capacity(map.size_hint().unwrap_or(0).min(4096));
        while let Some((key, value)) = map.next_entry::<Key, Value>()? {
            hash.insert(key, value);
        }
        Ok(Value::Hash(hash))
    }
    /// A scalar reference or blessed reference, from the bridge.
    fn visit_enum<A: de::EnumAccess<'de>>(self, data: A) -> Result<Value, A::Error> {
        use de::VariantAccess as _;
        let (tag, variant): (String, _) = data.variant()?;
        let value: Value = variant.newtype_variant()?;
        Ok(if tag == REF_VARIANT {
            Value::Ref(Box::new(value))
        } else {
            Value::blessed(tag, value)
        })
    }
}

struct KeyVisitor;

impl Visitor<'_> for KeyVisitor {
    type Value = Key;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a hash key (a string or bytes)")
    }

    fn visit_str<E>(self, v: &str) -> Result<Key, E> {
        Ok(Key::from(v))
    }
    fn visit_string<E>(self, v: String) -> Result<Key, E> {
        Ok(Key::from(v))
    }
    fn visit_bytes<E>(self, v: &[u8]) -> Result<Key, E> {
        Ok(Key::from_bytes(v.to_vec()))
    }
    fn visit_byte_buf<E>(self, v: Vec<u8>) -> Result<Key, E> {
        Ok(Key::from_bytes(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Key, E> {
        Ok(Key::from(v.to_string()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Key, E> {
        Ok(Key::from(v.to_string()))
    }
}

/// Reads a [`Value`] exactly, for [`Value`]'s own `Deserialize`: byte
/// strings stay bytes, and references and blessings arrive as enum
/// variants (a scalar reference under [`REF_VARIANT`], a blessed reference
/// under its class).
pub(crate) struct Lossless(pub(crate) Value);

/// The enum variant name of a scalar reference in [`Lossless`] reading (a
/// class name cannot start with `$`).
pub(crate) const REF_VARIANT: &str = "$ikc_freezer::Ref";

impl<'de> Deserializer<'de> for Lossless {
    type Error = ValueError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        match self.0 {
            Value::Bytes(b) => visitor.visit_byte_buf(b),
            Value::Ref(inner) => visitor.visit_enum(Variant {
                name: Value::from(REF_VARIANT),
                value: Some(*inner),
            }),
            Value::Blessed(b) => {
                let Blessed { class, value } = *b;
                visitor.visit_enum(Variant {
                    name: Value::Str(class),
                    value: Some(value),
                })
            }
            Value::Array(items) => visit_array(items, visitor),
            Value::Hash(hash) => visit_hash(hash, visitor),
            other => other.deserialize_any(visitor),
        }
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf option unit unit_struct newtype_struct seq tuple
        tuple_struct map struct enum identifier ignored_any
    }
}
