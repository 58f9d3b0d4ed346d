//! Helpers shared by the golden tests: the fixture corpus's JSON value
//! description (see `testdata/README.md`) as a [`Value`].
#![allow(clippy::mod_module_files, dead_code, unreachable_pub)]

use anyhow::{Context as _, Result, anyhow, bail};
use ikc_freezer::{Hash, Key, Value};
use serde_json::Value as Json;

/// Decode a hex string.
pub fn hex(text: &str) -> Result<Vec<u8>> {
    if text.len() % 2 != 0 {
        bail!("odd-length hex");
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).context("bad hex"))
        .collect()
}

/// The value a fixture description stands for.
pub fn describe(json: &Json) -> Result<Value> {
    let obj = json
        .as_object()
        .context("a value description is an object")?;
    let (kind, arg) = obj.iter().next().context("empty description")?;
    Ok(match kind.as_str() {
        "undef" => Value::Undef,
        "int" => {
            let text = arg.as_str().context("int is a string")?;
            if let Ok(i) = text.parse::<i64>() {
                Value::Int(i)
            } else {
                Value::UInt(text.parse::<u64>().context("int beyond u64")?)
            }
        }
        "num" => Value::Float(arg.as_str().context("num")?.parse()?),
        "str" => Value::Str(arg.as_str().context("str")?.to_owned()),
        "bytes" => Value::Bytes(hex(arg.as_str().context("bytes")?)?),
        "array" => Value::Array(
            arg.as_array()
                .context("array")?
                .iter()
                .map(describe)
                .collect::<Result<_>>()?,
        ),
        "hash" => {
            let mut hash = Hash::new();
            for pair in arg.as_array().context("hash")? {
                // A text key, or {"bytes": hex} for a byte key.
                let key = match pair[0].as_str() {
                    Some(text) => Key::from(text),
                    None => Key::from_bytes(hex(pair[0]["bytes"].as_str().context("hash key")?)?),
                };
                hash.insert(key, describe(&pair[1])?);
            }
            Value::Hash(hash)
        }
        "ref" => Value::reference(describe(arg)?),
        "blessed" => Value::blessed(arg[0].as_str().context("class")?, describe(&arg[1])?),
        other => return Err(anyhow!("unknown description {other}")),
    })
}

/// Does the value hold a hash with two or more keys (whose order on the
/// wire is Perl's random choice)?
pub fn has_unordered_hash(value: &Value) -> bool {
    match value {
        Value::Hash(h) => h.len() >= 2 || h.values().any(has_unordered_hash),
        Value::Array(items) => items.iter().any(has_unordered_hash),
        Value::Ref(inner) => has_unordered_hash(inner),
        Value::Blessed(b) => has_unordered_hash(&b.value),
        _ => false,
    }
}

/// One line of `testdata/codec-fixtures.jsonl`.
#[derive(Debug)]
pub struct Fixture {
    pub name: String,
    pub original: Value,
    pub storable: Vec<u8>,
    pub storable_thawed: Value,
    pub dumper: Vec<u8>,
    pub dumper_thawed: Value,
}

/// Every fixture of the corpus captured from Perl.
pub fn fixtures() -> Result<Vec<Fixture>> {
    let text = include_str!("../../testdata/codec-fixtures.jsonl");
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let j: Json = serde_json::from_str(line)?;
            let field = |name: &str| j.get(name).with_context(|| format!("missing {name}"));
            Ok(Fixture {
                name: field("name")?.as_str().context("name")?.to_owned(),
                original: describe(field("original")?)?,
                storable: hex(field("storable_hex")?.as_str().context("hex")?)?,
                storable_thawed: describe(field("storable_thawed")?)?,
                dumper: hex(field("dumper_hex")?.as_str().context("hex")?)?,
                dumper_thawed: describe(field("dumper_thawed")?)?,
            })
        })
        .collect()
}
