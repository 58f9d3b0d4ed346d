//! JSON and IKC [`Value`]s, both ways.
//!
//! IKC carries Perl data; JSON lacks some of it. `ikc` reads arguments
//! and prints replies with this mapping:
//!
//! | Perl (`Value`) | JSON |
//! |---|---|
//! | `undef` | `null` |
//! | boolean (`Value::Bool`) | `true`, `false` |
//! | integer | a number without fraction |
//! | finite float | a number with a fraction or exponent (`1.0`) |
//! | NaN, infinities | `{"$float": "NaN"}`, `{"$float": "inf"}`, `{"$float": "-inf"}` |
//! | character string | a string |
//! | byte string that is valid UTF-8 | a string |
//! | other byte string | `{"$bytes": "BASE64"}` (standard alphabet, padded) |
//! | array reference | an array |
//! | hash reference | an object (serde_json prints its keys sorted; Perl hashes have no order) |
//! | hash with a key starting with `$`, or a key that is not UTF-8 | `{"$hash": [[KEY, VALUE], ...]}`, each KEY a string or `{"$bytes": ...}` |
//! | scalar reference `\$x` | `{"$ref": X}` |
//! | blessed reference | `{"$blessed": "Class", "$value": X}` |
//!
//! Reading JSON, a string becomes a character string, and an object
//! whose keys start with `$` must be one of the forms above (anything else
//! is an error that names the key); write a hash with such keys with
//! `$hash`. So every JSON text `ikc` prints reads back as the same value,
//! except that a byte string holding UTF-8 comes back as a character
//! string (Perl compares them equal).
//!
//! ```
//! use ikc_cli::json::{from_json_text, to_json};
//! use ikc_freezer::Value;
//!
//! let value = from_json_text(r#"{"n": 1, "who": {"$bytes": "/w=="}, "r": {"$ref": null}}"#)?;
//! assert_eq!(value.get("who"), Some(&Value::bytes(vec![0xff])));
//! // serde_json prints object keys sorted.
//! assert_eq!(to_json(&value).to_string(), r#"{"n":1,"r":{"$ref":null},"who":{"$bytes":"/w=="}}"#);
//! # Ok::<(), ikc_cli::json::JsonError>(())
//! ```

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ikc_freezer::{Blessed, Hash, Key, Value};
use serde_json::{Map, Number, Value as Json};

/// Why a JSON text is not an IKC value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JsonError {
    /// The text is not JSON.
    #[error("not JSON: {0}")]
    Syntax(String),
    /// An object uses a `$` key that is not one of the mapping's forms.
    #[error(
        "unknown form {key:?}: keys starting with '$' are $bytes, $ref, $blessed/$value, $float, $hash (write such hash keys with $hash)"
    )]
    UnknownForm {
        /// The key.
        key: String,
    },
    /// A form's content is not what it must be.
    #[error("bad {form}: {reason}")]
    BadForm {
        /// The form (`$bytes`, ...).
        form: &'static str,
        /// What is wrong.
        reason: String,
    },
}

/// Parse a JSON text into a [`Value`].
///
/// # Errors
///
/// [`JsonError`] when the text is not JSON or misuses a `$` form.
pub fn from_json_text(text: &str) -> Result<Value, JsonError> {
    let json: Json = serde_json::from_str(text).map_err(|e| JsonError::Syntax(e.to_string()))?;
    from_json(&json)
}

/// A JSON value as a [`Value`] (see the [module docs](self)).
///
/// # Errors
///
/// [`JsonError`] when an object misuses a `$` form.
pub fn from_json(json: &Json) -> Result<Value, JsonError> {
    Ok(match json {
        Json::Null => Value::Undef,
        Json::Bool(b) => Value::Bool(*b),
        Json::Number(n) => number(n),
        Json::String(s) => Value::Str(s.clone()),
        Json::Array(items) => Value::Array(items.iter().map(from_json).collect::<Result<_, _>>()?),
        Json::Object(map) => object(map)?,
    })
}

fn number(n: &Number) -> Value {
    if let Some(i) = n.as_i64() {
        Value::Int(i)
    } else if let Some(u) = n.as_u64() {
        Value::from(u)
    } else {
        Value::Float(n.as_f64().unwrap_or(f64::NAN))
    }
}

fn bad(form: &'static str, reason: impl Into<String>) -> JsonError {
    JsonError::BadForm {
        form,
        reason: reason.into(),
    }
}

fn object(map: &Map<String, Json>) -> Result<Value, JsonError> {
    let Some(tag) = map.keys().find(|k| k.starts_with('$')) else {
        let mut hash = Hash::with_capacity(map.len());
        for (k, v) in map {
            hash.insert(k.as_str(), from_json(v)?);
        }
        return Ok(Value::Hash(hash));
    };
    let only = |form: &'static str| -> Result<&Json, JsonError> {
        if map.len() == 1 {
            Ok(&map[form])
        } else {
            Err(bad(form, "must be the object's only key"))
        }
    };
    match tag.as_str() {
        "$bytes" => Ok(Value::Bytes(bytes(only("$bytes")?)?)),
        "$ref" => Ok(Value::Ref(Box::new(from_json(only("$ref")?)?))),
        "$float" => match only("$float")?.as_str() {
            Some("NaN") => Ok(Value::Float(f64::NAN)),
            Some("inf") => Ok(Value::Float(f64::INFINITY)),
            Some("-inf") => Ok(Value::Float(f64::NEG_INFINITY)),
            _ => Err(bad("$float", "must be \"NaN\", \"inf\" or \"-inf\"")),
        },
        "$hash" => {
            let Json::Array(pairs) = only("$hash")? else {
                return Err(bad("$hash", "must be an array of [key, value] pairs"));
            };
            let mut hash = Hash::with_capacity(pairs.len());
            for pair in pairs {
                let Some([key, value]) = pair.as_array().map(Vec::as_slice) else {
                    return Err(bad("$hash", "each pair must be [key, value]"));
                };
                let key = match key {
                    Json::String(s) => Key::from(s.as_str()),
                    Json::Object(o) if o.len() == 1 && o.contains_key("$bytes") => {
                        Key::from_bytes(bytes(&o["$bytes"])?)
                    }
                    _ => return Err(bad("$hash", "a key must be a string or {\"$bytes\": ...}")),
                };
                hash.insert(key, from_json(value)?);
            }
            Ok(Value::Hash(hash))
        }
        "$blessed" | "$value" => {
            let (Some(class), Some(value), 2) = (map.get("$blessed"), map.get("$value"), map.len())
            else {
                return Err(bad("$blessed", "needs exactly \"$blessed\" and \"$value\""));
            };
            let Some(class) = class.as_str().filter(|c| !c.is_empty()) else {
                return Err(bad("$blessed", "the class must be a non-empty string"));
            };
            Ok(Value::Blessed(Box::new(Blessed {
                class: class.to_owned(),
                value: from_json(value)?,
            })))
        }
        _ => Err(JsonError::UnknownForm { key: tag.clone() }),
    }
}

fn bytes(json: &Json) -> Result<Vec<u8>, JsonError> {
    let text = json
        .as_str()
        .ok_or_else(|| bad("$bytes", "must be a base64 string"))?;
    STANDARD
        .decode(text)
        .map_err(|e| bad("$bytes", format!("not base64: {e}")))
}

fn tagged(form: &str, value: Json) -> Json {
    let mut map = Map::with_capacity(1);
    map.insert(form.to_owned(), value);
    Json::Object(map)
}

fn bytes_json(b: &[u8]) -> Json {
    match std::str::from_utf8(b) {
        Ok(s) => Json::String(s.to_owned()),
        Err(_) => tagged("$bytes", Json::String(STANDARD.encode(b))),
    }
}

/// A [`Value`] as JSON (see the [module docs](self)).
pub fn to_json(value: &Value) -> Json {
    match value {
        Value::Undef => Json::Null,
        Value::Bool(b) => Json::Bool(*b),
        Value::Int(i) => Json::from(*i),
        Value::UInt(u) => Json::from(*u),
        Value::Float(f) => match Number::from_f64(*f) {
            Some(n) => Json::Number(n),
            None if f.is_nan() => tagged("$float", Json::from("NaN")),
            None if *f > 0.0 => tagged("$float", Json::from("inf")),
            None => tagged("$float", Json::from("-inf")),
        },
        Value::Str(s) => Json::String(s.clone()),
        Value::Bytes(b) => bytes_json(b),
        Value::Array(items) => Json::Array(items.iter().map(to_json).collect()),
        Value::Hash(hash) => {
            let text = |k: &Key| std::str::from_utf8(k.as_bytes()).ok().map(str::to_owned);
            let plain = hash
                .keys()
                .all(|k| text(k).is_some_and(|s| !s.starts_with('$')));
            if plain {
                Json::Object(
                    hash.iter()
                        .map(|(k, v)| (text(k).unwrap_or_default(), to_json(v)))
                        .collect(),
                )
            } else {
                let pairs = hash
                    .iter()
                    .map(|(k, v)| {
                        let key = bytes_json(k.as_bytes());
                        Json::Array(vec![key, to_json(v)])
                    })
                    .collect();
                tagged("$hash", Json::Array(pairs))
            }
        }
        Value::Ref(inner) => tagged("$ref", to_json(inner)),
        Value::Blessed(b) => {
            let mut map = Map::with_capacity(2);
            map.insert("$blessed".to_owned(), Json::String(b.class.clone()));
            map.insert("$value".to_owned(), to_json(&b.value));
            Json::Object(map)
        }
    }
}

/// The JSON of a value, cut to at most `max` characters (with `...`
/// in place of the rest), as `ikc watch` prints message arguments.
pub fn shortened(value: &Value, max: usize) -> String {
    let text = to_json(value).to_string();
    if text.chars().count() <= max {
        return text;
    }
    let mut cut: String = text.chars().take(max.saturating_sub(3)).collect();
    cut.push_str("...");
    cut
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A byte string holding UTF-8 reads back as a character string.
    fn canonical(value: &Value) -> Value {
        match value {
            Value::Bytes(b) => match std::str::from_utf8(b) {
                Ok(s) => Value::Str(s.to_owned()),
                Err(_) => value.clone(),
            },
            Value::Array(items) => Value::Array(items.iter().map(canonical).collect()),
            Value::Hash(h) => Value::Hash(
                h.iter()
                    .map(|(k, v)| {
                        let key = match std::str::from_utf8(k.as_bytes()) {
                            Ok(s) => Key::from(s),
                            Err(_) => k.clone(),
                        };
                        (key, canonical(v))
                    })
                    .collect(),
            ),
            Value::Ref(inner) => Value::Ref(Box::new(canonical(inner))),
            Value::Blessed(b) => Value::Blessed(Box::new(Blessed {
                class: b.class.clone(),
                value: canonical(&b.value),
            })),
            other => other.clone(),
        }
    }

    fn arb_key() -> impl Strategy<Value = Key> {
        prop_oneof![
            "[a-z$]{0,6}".prop_map(|s| Key::from(s.as_str())),
            ".{0,4}".prop_map(|s| Key::from(s.as_str())),
            prop::collection::vec(any::<u8>(), 0..5).prop_map(Key::from_bytes),
        ]
    }

    fn arb_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Undef),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::Int),
            (i64::MAX as u64 + 1..=u64::MAX).prop_map(Value::UInt),
            any::<f64>().prop_map(Value::Float),
            ".{0,8}".prop_map(Value::Str),
            prop::collection::vec(any::<u8>(), 0..8).prop_map(Value::Bytes),
        ];
        leaf.prop_recursive(4, 32, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::vec((arb_key(), inner.clone()), 0..4)
                    .prop_map(|pairs| Value::Hash(pairs.into_iter().collect())),
                inner.clone().prop_map(|v| Value::Ref(Box::new(v))),
                ("[A-Z][a-z:]{0,6}", inner).prop_map(|(class, value)| {
                    Value::Blessed(Box::new(Blessed { class, value }))
                }),
            ]
        })
    }

    proptest! {
        #[test]
        fn value_to_json_and_back(value in arb_value()) {
            let text = to_json(&value).to_string();
            let back = from_json_text(&text).expect("what we print reads back");
            prop_assert_eq!(back, canonical(&value));
        }

        #[test]
        fn json_to_value_and_back(value in arb_value()) {
            // Any JSON we print is a fixed point of read-then-print.
            let json = to_json(&value);
            let again = to_json(&from_json(&json).expect("reads back"));
            prop_assert_eq!(again, json);
        }

        #[test]
        fn any_text_gives_a_value_or_an_error(text in ".{0,40}") {
            let _ = from_json_text(&text);
        }

        #[test]
        fn shortened_is_bounded(value in arb_value(), max in 3usize..40) {
            prop_assert!(shortened(&value, max).chars().count() <= max);
        }
    }

    #[test]
    fn each_form() {
        let v = from_json_text(
            r#"[null, true, 1, 1.5, "x", {"$bytes":"AAE="}, {"$ref":2},
                {"$blessed":"Foo::Bar","$value":{"a":1}}, {"$float":"-inf"},
                {"$hash":[["$k",1],[{"$bytes":"/w=="},2]]}]"#,
        )
        .unwrap();
        let mut h = Hash::new();
        h.insert("a", 1);
        let mut dollar = Hash::new();
        dollar.insert("$k", 1);
        dollar.insert(Key::from_bytes(vec![0xff]), 2);
        assert_eq!(
            v,
            Value::Array(vec![
                Value::Undef,
                Value::Bool(true),
                Value::Int(1),
                Value::Float(1.5),
                Value::Str("x".into()),
                Value::Bytes(vec![0, 1]),
                Value::Ref(Box::new(Value::Int(2))),
                Value::Blessed(Box::new(Blessed {
                    class: "Foo::Bar".into(),
                    value: Value::Hash(h)
                })),
                Value::Float(f64::NEG_INFINITY),
                Value::Hash(dollar),
            ])
        );
    }

    #[test]
    fn misused_forms_are_named() {
        assert_eq!(
            from_json_text(r#"{"$nope": 1}"#),
            Err(JsonError::UnknownForm {
                key: "$nope".into()
            })
        );
        assert!(matches!(
            from_json_text(r#"{"$bytes": "!!"}"#),
            Err(JsonError::BadForm { form: "$bytes", .. })
        ));
        assert!(matches!(
            from_json_text(r#"{"$ref": 1, "x": 2}"#),
            Err(JsonError::BadForm { form: "$ref", .. })
        ));
        assert!(matches!(from_json_text("{"), Err(JsonError::Syntax(_))));
    }
}
