//! JSON for NATS clients: a request's body becomes ARG0, a state's return
//! value becomes the reply's body.
//!
//! JSON maps onto Perl data as Perl's JSON modules map it: `null` is
//! `undef`, numbers are integers when they are whole and fit, strings are
//! text, arrays and objects are array and hash references. Back the other
//! way a byte string is read as UTF-8 when it is, and as Latin-1 (one
//! character per byte, as Perl does) when it is not; a scalar reference is
//! its target and a blessed reference is the data it blesses, since JSON
//! has neither. A float that JSON cannot carry (NaN, infinity) is `null`.

use ikc_freezer::{Hash, Key, Value};
use serde_json::{Map, Number, Value as Json};

/// How deep a JSON body may nest (serde_json refuses deeper input itself
/// at 128; this bounds the walk back the other way).
const MAX_DEPTH: usize = 128;

/// A request body as ARG0: empty is `undef`, anything else must be JSON.
///
/// # Errors
///
/// The parser's message when the body is not JSON.
pub fn body_to_value(body: &[u8]) -> Result<Value, serde_json::Error> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Undef);
    }
    serde_json::from_slice::<Json>(body).map(|j| from_json(&j))
}

/// A JSON document as a [`Value`].
pub fn from_json(json: &Json) -> Value {
    match json {
        Json::Null => Value::Undef,
        Json::Bool(b) => Value::Bool(*b),
        Json::Number(n) => n
            .as_i64()
            .map(Value::Int)
            .or_else(|| n.as_u64().map(Value::from))
            .unwrap_or_else(|| Value::Float(n.as_f64().unwrap_or(f64::NAN))),
        Json::String(s) => Value::Str(s.clone()),
        Json::Array(items) => Value::Array(items.iter().map(from_json).collect()),
        Json::Object(map) => {
            let mut hash = Hash::default();
            for (k, v) in map {
                hash.insert(Key::from(k.as_str()), from_json(v));
            }
            Value::Hash(hash)
        }
    }
}

/// A [`Value`] as JSON (see the module docs).
pub fn to_json(value: &Value) -> Json {
    to_json_at(value, 0)
}

fn text(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_owned(),
        Err(_) => bytes.iter().map(|&b| char::from(b)).collect(),
    }
}

fn to_json_at(value: &Value, depth: usize) -> Json {
    if depth > MAX_DEPTH {
        return Json::Null;
    }
    match value {
        Value::Undef => Json::Null,
        Value::Bool(b) => Json::Bool(*b),
        Value::Int(i) => Json::from(*i),
        Value::UInt(u) => Json::from(*u),
        Value::Float(f) => Number::from_f64(*f).map_or(Json::Null, Json::Number),
        Value::Str(s) => Json::String(s.clone()),
        Value::Bytes(b) => Json::String(text(b)),
        Value::Array(items) => {
            Json::Array(items.iter().map(|v| to_json_at(v, depth + 1)).collect())
        }
        Value::Hash(hash) => {
            let mut map = Map::new();
            for (k, v) in hash {
                map.insert(text(k.as_bytes()), to_json_at(v, depth + 1));
            }
            Json::Object(map)
        }
        Value::Ref(inner) => to_json_at(inner, depth + 1),
        Value::Blessed(b) => to_json_at(&b.value, depth + 1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_become_values() {
        assert_eq!(body_to_value(b"").unwrap(), Value::Undef);
        assert_eq!(body_to_value(b" \n").unwrap(), Value::Undef);
        assert_eq!(body_to_value(b"41").unwrap(), Value::Int(41));
        assert_eq!(body_to_value(b"1.5").unwrap(), Value::Float(1.5));
        assert_eq!(body_to_value(b"\"hi\"").unwrap(), Value::from("hi"));
        let v = body_to_value(br#"{"a":[1,null,true],"b":"x"}"#).unwrap();
        assert_eq!(v.get("a").unwrap().as_array().unwrap().len(), 3);
        assert_eq!(v.get("b").unwrap().as_str(), Some("x"));
        assert!(body_to_value(b"{nope").is_err());
    }

    #[test]
    fn values_become_json() {
        let v =
            body_to_value(br#"{"a":[1,null,true,-2.5],"b":"x","c":{"d":18446744073709551615}}"#)
                .unwrap();
        assert_eq!(
            to_json(&v).to_string(),
            r#"{"a":[1,null,true,-2.5],"b":"x","c":{"d":18446744073709551615}}"#
        );
        assert_eq!(
            to_json(&Value::Bytes(b"caf\xe9".to_vec())),
            Json::from("café")
        );
        assert_eq!(to_json(&Value::Bytes("café".into())), Json::from("café"));
        assert_eq!(to_json(&Value::Float(f64::NAN)), Json::Null);
        assert_eq!(to_json(&Value::Ref(Box::new(Value::Int(3)))), Json::from(3));
    }
}
