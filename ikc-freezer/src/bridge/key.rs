//! Perl hash keys through serde: map keys become [`Key`]s (numbers, chars
//! and booleans stringified as Perl would), and [`Key`]s read as strings,
//! bytes or, for number-keyed maps, numbers.

use serde::de::{self, IntoDeserializer, Visitor};
use serde::forward_to_deserialize_any;
use serde::ser::{self, Impossible, Serialize};

use crate::bridge::de::key_value;
use crate::error::ValueError;
use crate::value::{Key, Value};

/// Map keys: Perl hash keys are strings.
#[derive(Debug, Clone, Copy)]
pub(crate) struct KeySerializer;

impl KeySerializer {
    fn text(s: impl ToString) -> Result<Key, ValueError> {
        Ok(Key::from(s.to_string()))
    }
}

impl ser::Serializer for KeySerializer {
    type Ok = Key;
    type Error = ValueError;
    type SerializeSeq = Impossible<Key, ValueError>;
    type SerializeTuple = Impossible<Key, ValueError>;
    type SerializeTupleStruct = Impossible<Key, ValueError>;
    type SerializeTupleVariant = Impossible<Key, ValueError>;
    type SerializeMap = Impossible<Key, ValueError>;
    type SerializeStruct = Impossible<Key, ValueError>;
    type SerializeStructVariant = Impossible<Key, ValueError>;

    fn serialize_bool(self, v: bool) -> Result<Key, ValueError> {
        Self::text(if v { "1" } else { "" })
    }
    fn serialize_i8(self, v: i8) -> Result<Key, ValueError> {
        Self::text(v)
    }
    fn serialize_i16(self, v: i16) -> Result<Key, ValueError> {
        Self::text(v)
    }
    fn serialize_i32(self, v: i32) -> Result<Key, ValueError> {
        Self::text(v)
    }
    fn serialize_i64(self, v: i64) -> Result<Key, ValueError> {
        Self::text(v)
    }
    fn serialize_i128(self, v: i128) -> Result<Key, ValueError> {
        Self::text(v)
    }
    fn serialize_u8(self, v: u8) -> Result<Key, ValueError> {
        Self::text(v)
    }
    fn serialize_u16(self, v: u16) -> Result<Key, ValueError> {
        Self::text(v)
    }
    fn serialize_u32(self, v: u32) -> Result<Key, ValueError> {
        Self::text(v)
    }
    fn serialize_u64(self, v: u64) -> Result<Key, ValueError> {
        Self::text(v)
    }
    fn serialize_u128(self, v: u128) -> Result<Key, ValueError> {
        Self::text(v)
    }
    fn serialize_f32(self, v: f32) -> Result<Key, ValueError> {
        Self::text(Value::from(v))
    }
    fn serialize_f64(self, v: f64) -> Result<Key, ValueError> {
        Self::text(Value::Float(v))
    }
    fn serialize_char(self, v: char) -> Result<Key, ValueError> {
        Self::text(v)
    }
    fn serialize_str(self, v: &str) -> Result<Key, ValueError> {
        Ok(Key::from(v))
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<Key, ValueError> {
        Ok(Key::from_bytes(v.to_vec()))
    }
    fn serialize_none(self) -> Result<Key, ValueError> {
        Err(ValueError::InvalidKey("None"))
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<Key, ValueError> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<Key, ValueError> {
        Err(ValueError::InvalidKey("()"))
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<Key, ValueError> {
        Err(ValueError::InvalidKey("a unit struct"))
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<Key, ValueError> {
        Ok(Key::from(variant))
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<Key, ValueError> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _value: &T,
    ) -> Result<Key, ValueError> {
        Err(ValueError::InvalidKey("an enum variant with data"))
    }
    fn serialize_seq(self, _len: Option<usize>) -> Result<Self::SerializeSeq, ValueError> {
        Err(ValueError::InvalidKey("a sequence"))
    }
    fn serialize_tuple(self, _len: usize) -> Result<Self::SerializeTuple, ValueError> {
        Err(ValueError::InvalidKey("a tuple"))
    }
    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleStruct, ValueError> {
        Err(ValueError::InvalidKey("a tuple struct"))
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleVariant, ValueError> {
        Err(ValueError::InvalidKey("an enum variant with data"))
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<Self::SerializeMap, ValueError> {
        Err(ValueError::InvalidKey("a map"))
    }
    fn serialize_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStruct, ValueError> {
        Err(ValueError::InvalidKey("a struct"))
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStructVariant, ValueError> {
        Err(ValueError::InvalidKey("an enum variant with data"))
    }
}

/// A hash key, read as a string (or bytes), or parsed as a number.
#[derive(Debug)]
pub(crate) struct KeyDeserializer(pub(crate) Key);

impl IntoDeserializer<'_, ValueError> for KeyDeserializer {
    type Deserializer = Self;
    fn into_deserializer(self) -> Self {
        self
    }
}

macro_rules! key_as_number {
    ($($method:ident),*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
            key_value(self.0).$method(visitor)
        }
    )*};
}

impl<'de> de::Deserializer<'de> for KeyDeserializer {
    type Error = ValueError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, ValueError> {
        match self.0.as_str() {
            Some(s) => visitor.visit_str(s),
            None => visitor.visit_bytes(self.0.as_bytes()),
        }
    }

    key_as_number!(
        deserialize_bool,
        deserialize_i8,
        deserialize_i16,
        deserialize_i32,
        deserialize_i64,
        deserialize_i128,
        deserialize_u8,
        deserialize_u16,
        deserialize_u32,
        deserialize_u64,
        deserialize_u128,
        deserialize_f32,
        deserialize_f64
    );

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, ValueError> {
        key_value(self.0).deserialize_enum(name, variants, visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, ValueError> {
        visitor.visit_newtype_struct(self)
    }

    forward_to_deserialize_any! {
        char str string bytes byte_buf option unit unit_struct seq tuple
        tuple_struct map struct identifier ignored_any
    }
}
