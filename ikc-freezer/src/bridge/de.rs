//! [`Value`] → `Deserialize`, reading Perl's untyped data the Perl way.

use serde::de::{self, DeserializeSeed, IntoDeserializer, Visitor};

use crate::bridge::VALUE_TOKEN;
use crate::bridge::impls::Lossless;
use crate::error::ValueError;
use crate::value::number::Number;
use crate::value::{Hash, Key, Value};

impl de::Error for ValueError {
    fn custom<T: std::fmt::Display>(msg: T) -> Self {
        Self::Custom(msg.to_string())
    }

    fn invalid_type(unexp: de::Unexpected<'_>, exp: &dyn de::Expected) -> Self {
        Self::InvalidType {
            expected: exp.to_string(),
            found: unexp.to_string(),
        }
    }
}

fn invalid(value: &Value, expected: &str) -> ValueError {
    ValueError::InvalidType {
        expected: expected.to_owned(),
        found: value.kind().to_owned(),
    }
}

/// Look through a blessing or a scalar reference to what it points to.
fn referent(value: Value) -> Value {
    let mut value = value;
    loop {
        value = match value {
            Value::Blessed(b) => b.value,
            Value::Ref(inner) => *inner,
            other => return other,
        };
    }
}

/// The integer in `value`, exactly, converted to `T`.
fn integer<T: TryFrom<i64> + TryFrom<u64>>(
    value: &Value,
    target: &'static str,
) -> Result<T, ValueError> {
    let number = value.as_number().ok_or_else(|| invalid(value, target))?;
    let exact: Option<Result<T, _>> = match number {
        Number::Int(i) => Some(T::try_from(i).map_err(|_| ())),
        Number::UInt(u) => Some(T::try_from(u).map_err(|_| ())),
        Number::Float(_) => number
            .to_i64()
            .map(|i| T::try_from(i).map_err(|_| ()))
            .or_else(|| number.to_u64().map(|u| T::try_from(u).map_err(|_| ()))),
    };
    match exact {
        Some(Ok(n)) => Ok(n),
        _ => Err(ValueError::OutOfRange {
            value: value.to_string(),
            target,
        }),
    }
}

macro_rules! deserialize_integer {
    ($($method:ident => $visit:ident: $t:ty),* $(,)?) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
            let value = referent(self);
            visitor.$visit(integer::<$t>(&value, stringify!($t))?)
        }
    )*};
}

impl<'de> de::Deserializer<'de> for Value {
    type Error = ValueError;

    /// Self-describing reading; byte strings that are UTF-8 read as text,
    /// references as what they point to.
    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        match referent(self) {
            Self::Undef => visitor.visit_unit(),
            Self::Bool(b) => visitor.visit_bool(b),
            Self::Int(i) => visitor.visit_i64(i),
            Self::UInt(u) => visitor.visit_u64(u),
            Self::Float(f) => visitor.visit_f64(f),
            Self::Bytes(b) => match String::from_utf8(b) {
                Ok(s) => visitor.visit_string(s),
                Err(e) => visitor.visit_byte_buf(e.into_bytes()),
            },
            Self::Str(s) => visitor.visit_string(s),
            Self::Array(items) => visit_array(items, visitor),
            Self::Hash(hash) => visit_hash(hash, visitor),
            Self::Ref(_) | Self::Blessed(_) => {
                Err(ValueError::Custom("unreachable reference".to_owned()))
            }
        }
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        let value = referent(self);
        let flag = match &value {
            Self::Undef => false,
            Self::Bool(b) => *b,
            Self::Int(_) | Self::UInt(_) | Self::Float(_) => value.as_bool(),
            Self::Bytes(_) | Self::Str(_) => match value.as_bytes() {
                Some(b"" | b"0") => false,
                Some(b"1") => true,
                _ => return Err(invalid(&value, "a boolean (1, 0 or '')")),
            },
            _ => return Err(invalid(&value, "a boolean")),
        };
        visitor.visit_bool(flag)
    }

    deserialize_integer! {
        deserialize_i8 => visit_i8: i8,
        deserialize_i16 => visit_i16: i16,
        deserialize_i32 => visit_i32: i32,
        deserialize_i64 => visit_i64: i64,
        deserialize_i128 => visit_i128: i128,
        deserialize_u8 => visit_u8: u8,
        deserialize_u16 => visit_u16: u16,
        deserialize_u32 => visit_u32: u32,
        deserialize_u64 => visit_u64: u64,
        deserialize_u128 => visit_u128: u128,
    }

    fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        self.deserialize_f64(visitor)
    }

    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        let value = referent(self);
        match value.as_f64() {
            Some(f) => visitor.visit_f64(f),
            None => Err(invalid(&value, "a number")),
        }
    }

    fn deserialize_char<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        self.deserialize_string(visitor)
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        self.deserialize_string(visitor)
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        match referent(self) {
            Self::Str(s) => visitor.visit_string(s),
            Self::Bytes(b) => match String::from_utf8(b) {
                Ok(s) => visitor.visit_string(s),
                Err(_) => Err(ValueError::InvalidType {
                    expected: "a string".to_owned(),
                    found: "a byte string that is not UTF-8".to_owned(),
                }),
            },
            number @ (Self::Int(_) | Self::UInt(_) | Self::Float(_) | Self::Bool(_)) => {
                visitor.visit_string(number.to_string())
            }
            other => Err(invalid(&other, "a string")),
        }
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        self.deserialize_byte_buf(visitor)
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        match referent(self) {
            Self::Bytes(b) => visitor.visit_byte_buf(b),
            Self::Str(s) => visitor.visit_byte_buf(s.into_bytes()),
            Self::Array(items) => visit_array(items, visitor),
            other => Err(invalid(&other, "a byte string")),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        match self {
            Self::Undef => visitor.visit_none(),
            other => visitor.visit_some(other),
        }
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        match referent(self) {
            Self::Undef => visitor.visit_unit(),
            other => Err(invalid(&other, "undef")),
        }
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, ValueError> {
        self.deserialize_unit(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, ValueError> {
        if name == VALUE_TOKEN {
            visitor.visit_newtype_struct(Lossless(self))
        } else {
            visitor.visit_newtype_struct(self)
        }
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        match referent(self) {
            Self::Array(items) => visit_array(items, visitor),
            // A byte string read as a sequence of bytes (`Vec<u8>`).
            Self::Bytes(b) => visit_array(b.into_iter().map(Self::from).collect(), visitor),
            Self::Str(s) => visit_array(
                s.into_bytes().into_iter().map(Self::from).collect(),
                visitor,
            ),
            other => Err(invalid(&other, "an array")),
        }
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, ValueError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, ValueError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        match referent(self) {
            Self::Hash(hash) => visit_hash(hash, visitor),
            other => Err(invalid(&other, "a hash")),
        }
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, ValueError> {
        match referent(self) {
            Self::Hash(hash) => visit_hash(hash, visitor),
            Self::Array(items) => visit_array(items, visitor),
            other => Err(invalid(&other, "a hash")),
        }
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, ValueError> {
        match referent(self) {
            text @ (Self::Str(_) | Self::Bytes(_)) => visitor.visit_enum(Variant {
                name: Self::from(text.as_str().unwrap_or_default()),
                value: None,
            }),
            Self::Hash(hash) if hash.len() == 1 => {
                let Some((key, value)) = hash.into_iter().next() else {
                    return Err(ValueError::Custom("empty enum hash".to_owned()));
                };
                visitor.visit_enum(Variant {
                    name: key_value(key),
                    value: Some(value),
                })
            }
            other => Err(invalid(&other, "an enum variant name or a one-key hash")),
        }
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        self.deserialize_string(visitor)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        visitor.visit_unit()
    }
}

/// A hash key as a value (text or bytes).
pub(crate) fn key_value(key: Key) -> Value {
    match key.as_str() {
        Some(s) => Value::from(s),
        None => Value::Bytes(key.as_bytes().to_vec()),
    }
}

pub(crate) fn visit_array<'de, V: Visitor<'de>>(
    items: Vec<Value>,
    visitor: V,
) -> Result<V::Value, ValueError> {
    let len = items.len();
    let mut seq = de::value::SeqDeserializer::new(items.into_iter());
    let value = visitor.visit_seq(&mut seq)?;
    seq.end()
        .map_err(|_| ValueError::Custom(format!("an array of {len} elements has too many")))?;
    Ok(value)
}

pub(crate) fn visit_hash<'de, V: Visitor<'de>>(
    hash: Hash,
    visitor: V,
) -> Result<V::Value, ValueError> {
    let mut map = de::value::MapDeserializer::new(
        hash.into_iter()
            .map(|(k, v)| (super::key::KeyDeserializer(k), v)),
    );
    let value = visitor.visit_map(&mut map)?;
    map.end()?;
    Ok(value)
}

impl IntoDeserializer<'_, ValueError> for Value {
    type Deserializer = Self;
    fn into_deserializer(self) -> Self {
        self
    }
}

/// An enum variant: its name, and its value unless it is a unit variant.
pub(crate) struct Variant {
    pub(crate) name: Value,
    pub(crate) value: Option<Value>,
}

impl<'de> de::EnumAccess<'de> for Variant {
    type Error = ValueError;
    type Variant = VariantValue;

    fn variant_seed<S: DeserializeSeed<'de>>(
        self,
        seed: S,
    ) -> Result<(S::Value, VariantValue), ValueError> {
        let name = seed.deserialize(self.name)?;
        Ok((name, VariantValue(self.value)))
    }
}

/// The value of an enum variant.
pub(crate) struct VariantValue(Option<Value>);

impl<'de> de::VariantAccess<'de> for VariantValue {
    type Error = ValueError;

    fn unit_variant(self) -> Result<(), ValueError> {
        match self.0 {
            None | Some(Value::Undef) => Ok(()),
            Some(other) => Err(invalid(&other, "a unit variant")),
        }
    }

    fn newtype_variant_seed<S: DeserializeSeed<'de>>(
        self,
        seed: S,
    ) -> Result<S::Value, ValueError> {
        seed.deserialize(self.0.unwrap_or_default())
    }

    fn tuple_variant<V: Visitor<'de>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, ValueError> {
        de::Deserializer::deserialize_seq(self.0.unwrap_or_default(), visitor)
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, ValueError> {
        de::Deserializer::deserialize_map(self.0.unwrap_or_default(), visitor)
    }
}
