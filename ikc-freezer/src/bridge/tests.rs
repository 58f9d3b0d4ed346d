use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::*;
use crate::value::Hash;

#[derive(Debug, PartialEq, Serialize, Deserialize)]
enum Shape {
    Dot,
    Circle(f64),
    Rect { w: u32, h: u32 },
    Pair(i8, i8),
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Message {
    event: String,
    seq: u64,
    ratio: f32,
    on: bool,
    note: Option<String>,
    shapes: Vec<Shape>,
    counts: BTreeMap<u16, i64>,
    #[serde(with = "bytes")]
    blob: Vec<u8>,
    nothing: (),
}

mod bytes {
    pub(super) fn serialize<S: serde::Serializer>(b: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(b)
    }
    pub(super) fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        serde::Deserialize::deserialize(d)
    }
}

fn message() -> Message {
    Message {
        event: "poe://Server/test/here".into(),
        seq: u64::MAX,
        ratio: 0.5,
        on: true,
        note: None,
        shapes: vec![
            Shape::Dot,
            Shape::Circle(1.5),
            Shape::Rect { w: 2, h: 3 },
            Shape::Pair(-1, 1),
        ],
        counts: BTreeMap::from([(1, -5), (20, 7)]),
        blob: vec![0, 0xff],
        nothing: (),
    }
}

#[test]
fn round_trip_and_shape() {
    let v = to_value(&message()).unwrap();
    assert_eq!(v["event"], Value::from("poe://Server/test/here"));
    assert_eq!(v["seq"], Value::UInt(u64::MAX));
    assert_eq!(v["note"], Value::Undef);
    assert_eq!(v["shapes"][0], Value::from("Dot"));
    assert_eq!(v["shapes"][1]["Circle"], Value::Float(1.5));
    assert_eq!(v["shapes"][2]["Rect"]["h"], Value::Int(3));
    assert_eq!(v["shapes"][3]["Pair"], Value::from(vec![-1, 1]));
    assert_eq!(v["counts"]["20"], Value::Int(7));
    assert_eq!(v["blob"], Value::bytes(vec![0, 0xff]));
    assert_eq!(from_value::<Message>(v).unwrap(), message());
}

#[test]
fn reads_perl_data() {
    let mut h = Hash::new();
    h.insert("event", Value::bytes("poe://Server/test/here"));
    h.insert("seq", Value::bytes(" 18446744073709551615 "));
    h.insert("ratio", Value::bytes("0.5"));
    h.insert("on", Value::Int(1));
    h.insert("note", Value::Int(42));
    h.insert(
        "shapes",
        Value::from(vec![
            Value::bytes("Dot"),
            Value::Hash(Hash::from_iter([("Circle", Value::bytes("1.5"))])),
            Value::Hash(Hash::from_iter([(
                "Rect",
                Value::blessed(
                    "Rect",
                    Value::Hash(Hash::from_iter([("w", "2"), ("h", "3")])),
                ),
            )])),
            Value::Hash(Hash::from_iter([("Pair", vec!["-1", "1"])])),
        ]),
    );
    h.insert(
        "counts",
        Value::Hash(Hash::from_iter([("1", -5), ("20", 7)])),
    );
    h.insert("blob", Value::bytes(vec![0, 0xff]));
    h.insert("nothing", Value::Undef);
    let m: Message = from_value(Value::Hash(h)).unwrap();
    assert_eq!(m.note.as_deref(), Some("42"));
    assert_eq!(
        m,
        Message {
            note: Some("42".into()),
            ..message()
        }
    );
}

#[test]
fn numbers_are_never_truncated() {
    assert!(from_value::<u8>(Value::Int(256)).is_err());
    assert!(from_value::<i64>(Value::UInt(u64::MAX)).is_err());
    assert!(from_value::<u64>(Value::bytes("18446744073709551616")).is_err());
    assert!(from_value::<i32>(Value::bytes("2.5")).is_err());
    assert!(from_value::<i32>(Value::bytes("abc")).is_err());
    assert_eq!(from_value::<i32>(Value::bytes("2.0")).unwrap(), 2);
    assert_eq!(
        from_value::<i128>(Value::UInt(u64::MAX)).unwrap(),
        i128::from(u64::MAX)
    );
    assert!(!from_value::<bool>(Value::bytes("")).unwrap());
    assert!(!from_value::<bool>(Value::Undef).unwrap());
    assert!(from_value::<bool>(Value::bytes("yes")).is_err());
    assert!(to_value(&u128::MAX).is_err());
    let err = from_value::<String>(Value::bytes(vec![0xff])).unwrap_err();
    assert!(err.to_string().contains("not UTF-8"), "{err}");
}

#[test]
fn value_is_its_own_image() {
    let mut h = Hash::new();
    h.insert(crate::Key::from_bytes(vec![0xe9]), Value::Bool(false));
    h.insert("r", Value::reference(Value::bytes("s")));
    let v = Value::from(vec![
        Value::Undef,
        Value::UInt(u64::MAX),
        Value::Float(-0.5),
        Value::bytes("bytes"),
        Value::from("text"),
        Value::blessed("My::Class", Value::Hash(h)),
        Value::blessed("Scalar", Value::reference(Value::Int(1))),
    ]);
    assert_eq!(to_value(&v).unwrap(), v);
    assert_eq!(from_value::<Value>(v.clone()).unwrap(), v);
    // Inside a user's struct too.
    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Wrap {
        raw: Value,
    }
    let w = from_value::<Wrap>(to_value(&Wrap { raw: v.clone() }).unwrap()).unwrap();
    assert_eq!(w.raw, v);
}
