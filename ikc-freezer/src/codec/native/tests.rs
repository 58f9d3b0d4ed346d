use serde::{Deserialize, Serialize};

use super::*;
use crate::value::{Hash, Key};

/// The enum the module documentation describes, encoded by postcard itself.
#[derive(Serialize, Deserialize)]
enum Wire {
    Undef,
    Bool(bool),
    Int(i64),
    UInt(u64),
    Float(f64),
    Bytes(Vec<u8>),
    Str(String),
    Array(Vec<Self>),
    Hash(Vec<(WireKey, Self)>),
    Ref(Box<Self>),
    Blessed(String, Box<Self>),
}

#[derive(Serialize, Deserialize)]
enum WireKey {
    Str(String),
    Bytes(Vec<u8>),
}

fn wire(v: &Value) -> Wire {
    match v {
        Value::Undef => Wire::Undef,
        Value::Bool(b) => Wire::Bool(*b),
        Value::Int(i) => Wire::Int(*i),
        Value::UInt(u) => Wire::UInt(*u),
        Value::Float(f) => Wire::Float(*f),
        Value::Bytes(b) => Wire::Bytes(b.clone()),
        Value::Str(s) => Wire::Str(s.clone()),
        Value::Array(a) => Wire::Array(a.iter().map(wire).collect()),
        Value::Hash(h) => Wire::Hash(
            h.iter()
                .map(|(k, v)| {
                    let key = match k.as_str() {
                        Some(s) => WireKey::Str(s.to_owned()),
                        None => WireKey::Bytes(k.as_bytes().to_vec()),
                    };
                    (key, wire(v))
                })
                .collect(),
        ),
        Value::Ref(inner) => Wire::Ref(Box::new(wire(inner))),
        Value::Blessed(b) => Wire::Blessed(b.class.clone(), Box::new(wire(&b.value))),
    }
}

fn sample() -> Value {
    let mut h = Hash::new();
    h.insert("seq", Value::Int(-300));
    h.insert(Key::from_bytes(vec![0xe9]), Value::UInt(u64::MAX));
    h.insert("☺", Value::Float(-0.1));
    Value::from(vec![
        Value::Undef,
        Value::Bool(true),
        Value::Int(i64::MIN),
        Value::Int(i64::MAX),
        Value::bytes(vec![0, 0xff]),
        Value::from("text ☺"),
        Value::Hash(h),
        Value::reference(Value::reference(Value::Undef)),
        Value::blessed("My::Class", Value::Array(vec![])),
    ])
}

#[test]
fn bytes_are_postcards() {
    let value = sample();
    let mut ours = Vec::new();
    Native::new().freeze(&value, &mut ours).unwrap();
    let theirs = postcard::to_stdvec(&wire(&value)).unwrap();
    assert_eq!(ours, theirs);
    assert_eq!(Native::new().thaw(&ours).unwrap(), value);
    // And postcard reads ours.
    let back: Wire = postcard::from_bytes(&ours).unwrap();
    assert_eq!(postcard::to_stdvec(&back).unwrap(), ours);
}

#[test]
fn refusals() {
    let native = Native::new();
    assert!(matches!(
        native.thaw(&[]),
        Err(ThawError::UnexpectedEnd { .. })
    ));
    assert!(matches!(
        native.thaw(&[0, 0]),
        Err(ThawError::TrailingData { .. })
    ));
    assert!(matches!(
        native.thaw(&[11]),
        Err(ThawError::Malformed { .. })
    ));
    assert!(matches!(
        native.thaw(&[1, 2]),
        Err(ThawError::Malformed { .. })
    ));
    assert!(matches!(
        native.thaw(&[6, 1, 0xff]),
        Err(ThawError::Malformed { .. })
    ));
    // A count far beyond the input is refused before anything is allocated.
    assert!(matches!(
        native.thaw(&[7, 0xff, 0xff, 0xff, 0xff, 0x0f]),
        Err(ThawError::UnexpectedEnd { .. })
    ));
    assert!(matches!(
        native.thaw(&[
            3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02
        ]),
        Err(ThawError::Malformed { .. })
    ));
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    let mut bytes = vec![tag::REF; 100_000];
    bytes.push(tag::UNDEF);
    assert!(matches!(
        Native::new().thaw(&bytes),
        Err(ThawError::TooDeep { limit: 512 })
    ));
    let mut ok = [tag::ARRAY, 1].repeat(500);
    ok.push(tag::UNDEF);
    let reader = std::thread::Builder::new()
        .stack_size(64 << 10)
        .spawn(move || Native::new().thaw(&ok))
        .unwrap();
    // Dropped here: drop glue recurses, the reader does not.
    let value = reader.join().unwrap();
    assert!(value.is_ok());
}

#[test]
fn a_value_seen_before_is_stepped_over_and_counted() {
    let mut inner = Hash::new();
    inner.insert("kernel", "K");
    inner.insert("line", 7);
    let value = Value::Array(vec![
        Value::Hash(inner.clone()),
        Value::Hash(inner),
        Value::Int(1),
    ]);
    let mut bytes = Vec::new();
    Native::new().freeze(&value, &mut bytes).unwrap();

    // Past the array's header (its tag, then its count), read the first
    // hash in full and note its bytes and count.
    let native = Native::new();
    let header = 2;
    let mut reader_only = native.decoder(&bytes[header..]).unwrap();
    let start = reader_only.read_so_far().len();
    let before = reader_only.values_read();
    let first = reader_only.value(1).unwrap();
    let encoding = reader_only.read_so_far()[start..].to_vec();
    let counted = reader_only.values_read() - before;
    assert_eq!(first, value[0]);
    // The second hash is the same bytes: stepped over, counted alike.
    assert!(reader_only.skip_same(&encoding, counted));
    assert_eq!(reader_only.values_read(), 2 * counted);
    // The integer is not.
    assert!(!reader_only.skip_same(&encoding, counted));
    assert_eq!(reader_only.value(1).unwrap(), Value::Int(1));
    reader_only.finish().unwrap();

    // No room for the values under a tight limit: nothing is read, and
    // reading it reports the limit as it would have.
    let limits = Limits {
        max_elements: counted + 1,
        ..Limits::default()
    };
    let tight = Native::with_limits(limits);
    let mut dec = tight.decoder(&bytes[header..]).unwrap();
    dec.value(1).unwrap();
    assert!(!dec.skip_same(&encoding, counted));
    assert!(dec.value(1).is_err());
}

#[test]
fn a_borrowed_key_is_the_key_the_decoder_builds() {
    let mut hash = Hash::new();
    hash.insert("event", 1);
    hash.insert(Key::from_bytes(vec![b'k', 0xff]), 2);
    hash.insert("caf\u{e9} with a key longer than the inline room", 3);
    let mut bytes = Vec::new();
    Native::new()
        .freeze(&Value::Hash(hash.clone()), &mut bytes)
        .unwrap();
    let native = Native::new();
    let (mut by_ref, mut by_key) = (
        native.decoder(&bytes).unwrap(),
        native.decoder(&bytes).unwrap(),
    );
    assert_eq!(by_ref.hash(0).unwrap(), 3);
    assert_eq!(by_key.hash(0).unwrap(), 3);
    for (want, _) in &hash {
        let key = by_ref.key_ref().unwrap();
        assert_eq!(key.as_bytes(), want.as_bytes());
        assert_eq!(key.to_key(), *want);
        assert_eq!(by_key.key().unwrap(), *want);
        assert_eq!(by_ref.value(1).unwrap(), by_key.value(1).unwrap());
    }
    assert!(by_ref.key_ref().is_err(), "no key is left");

    // A text key that is not UTF-8 is refused, as `key` refuses it.
    let bad = [tag::HASH, 1, tag::KEY_STR, 1, 0xff, tag::INT, 0];
    let mut dec = native.decoder(&bad).unwrap();
    dec.hash(0).unwrap();
    let error = dec.key_ref().unwrap_err().to_string();
    assert!(error.contains("not valid UTF-8"), "{error}");
}

proptest::proptest! {
    /// `key` reads a short key straight into its inline room: whatever the
    /// bytes and kind, it gives the key (or the refusal) `key_ref` gives.
    #[test]
    fn a_short_key_read_directly_is_the_key_read_by_reference(
        bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..30),
        chars in "\\PC{0,12}",
        text in proptest::prelude::any::<bool>(),
        form in 0..3u8,
    ) {
        // Any bytes, ASCII bytes, or UTF-8 text (short or long).
        let bytes: Vec<u8> = match form {
            0 => bytes,
            1 => bytes.iter().map(|b| b & 0x7f).collect(),
            _ => chars.into_bytes(),
        };
        let kind = if text { tag::KEY_STR } else { tag::KEY_BYTES };
        let mut frame = vec![tag::HASH, 1, kind, bytes.len() as u8];
        frame.extend_from_slice(&bytes);
        frame.extend_from_slice(&[tag::INT, 0]);
        let native = Native::new();
        let (mut direct, mut by_ref) =
            (native.decoder(&frame).unwrap(), native.decoder(&frame).unwrap());
        direct.hash(0).unwrap();
        by_ref.hash(0).unwrap();
        match (direct.key(), by_ref.key_ref()) {
            (Ok(key), Ok(key_ref)) => {
                proptest::prop_assert_eq!(&key, &key_ref.to_key());
                proptest::prop_assert_eq!(direct.value(1).unwrap(), Value::Int(0));
                proptest::prop_assert_eq!(by_ref.value(1).unwrap(), Value::Int(0));
            }
            (Err(a), Err(b)) => proptest::prop_assert_eq!(a.to_string(), b.to_string()),
            (a, b) => proptest::prop_assert!(false, "direct {a:?}, by reference {b:?}"),
        }
    }
}

#[test]
fn string_is_reads_only_the_string_it_names_and_counts_it() {
    let native = Native::new();
    let mut bytes = Vec::new();
    let list = Value::from(vec![
        Value::from("same"),
        Value::from("other"),
        Value::bytes("same"),
        Value::from(""),
    ]);
    native.freeze(&list, &mut bytes).unwrap();
    // Decoders at the first element (past the array's tag and count).
    let mut at = native.decoder(&bytes[2..]).unwrap();
    let mut twin = native.decoder(&bytes[2..]).unwrap();
    assert!(at.string_is("same").unwrap());
    twin.string().unwrap();
    assert_eq!(at.read_so_far(), twin.read_so_far());
    assert_eq!(at.values_read(), twin.values_read());
    // Not the string named (another, shorter or longer): nothing read.
    assert!(!at.string_is("othe").unwrap());
    assert!(!at.string_is("others").unwrap());
    assert!(!at.string_is("same").unwrap());
    assert!(at.string_is("other").unwrap());
    // A byte string is not the character string.
    assert!(!at.string_is("same").unwrap());
    assert_eq!(at.value(0).unwrap(), Value::bytes("same"));
    assert!(at.string_is("").unwrap());
}

#[test]
fn string_is_never_takes_a_long_length_for_a_one_byte_one() {
    // 200 `a`s: a length varint of two bytes, 0xC8 0x01. The text
    // "\x01" + 199 `a`s has the length 200 (the first byte) and the bytes
    // that follow it, but it is not the string.
    let native = Native::new();
    let mut bytes = Vec::new();
    native
        .freeze(&Value::from("a".repeat(200)), &mut bytes)
        .unwrap();
    let mut text = String::from("\u{1}");
    text.push_str(&"a".repeat(199));
    let mut dec = native.decoder(&bytes).unwrap();
    assert!(!dec.string_is(&text).unwrap());
    assert!(dec.string_is(&"a".repeat(200)).is_ok_and(|same| !same));
    assert_eq!(dec.value(0).unwrap(), Value::from("a".repeat(200)));
}
