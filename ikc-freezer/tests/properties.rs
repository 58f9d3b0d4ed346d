//! Property tests: random values survive each codec (in the codec's normal
//! form), and random or truncated input never panics a decoder.

use ikc_freezer::fuzzing::{self, dumper_normal_form, storable_normal_form};
use ikc_freezer::{Dumper, Freezer, Hash, Key, Native, Storable, Value};
use proptest::prelude::*;

fn key() -> impl Strategy<Value = Key> {
    prop_oneof![
        "[a-z_]{0,8}".prop_map(Key::from),
        "\\PC{0,6}".prop_map(Key::from),
        proptest::collection::vec(any::<u8>(), 0..8).prop_map(Key::from_bytes),
    ]
}

fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Undef),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::Int),
        (-200i64..200).prop_map(Value::Int),
        // Around the 32-bit (Storable) and 10-character (Dumper) limits.
        (-3_000_000_000i64..3_000_000_000).prop_map(Value::Int),
        (-20_000_000_000i64..20_000_000_000).prop_map(Value::Int),
        (-1e12f64..1e12).prop_map(|f| Value::Float(f.round())),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::Float),
        proptest::collection::vec(any::<u8>(), 0..300).prop_map(Value::Bytes),
        "\\PC{0,12}".prop_map(Value::Str),
        "[\\u{80}-\\u{ff}]{1,4}".prop_map(Value::Str),
    ]
}

fn value() -> impl Strategy<Value = Value> {
    scalar().prop_recursive(5, 64, 6, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            proptest::collection::vec((key(), inner.clone()), 0..6)
                .prop_map(|pairs| Value::Hash(pairs.into_iter().collect::<Hash>())),
            inner.clone().prop_map(Value::reference),
            ("[A-Z][a-z]{0,5}(::[A-Z][a-z]{0,5})?", inner.clone()).prop_map(|(class, v)| {
                // Only references can be blessed.
                let v = if v.is_reference() && v.class().is_none() {
                    v
                } else {
                    Value::reference(v)
                };
                Value::blessed(class, v)
            }),
        ]
    })
}

/// Storable stores a reference: wrap a scalar the way Perl would (`\$x`).
fn as_reference(v: Value) -> Value {
    if v.is_reference() {
        v
    } else {
        Value::reference(v)
    }
}

fn trip(codec: &dyn Freezer, v: &Value) -> Value {
    let mut bytes = Vec::new();
    codec.freeze(v, &mut bytes).unwrap();
    codec.thaw(&bytes).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn native_is_lossless(v in value()) {
        prop_assert_eq!(trip(&Native::new(), &v), v);
    }

    #[test]
    fn storable_keeps_what_perl_keeps(v in value()) {
        let v = as_reference(v);
        prop_assert_eq!(trip(&Storable::new(), &v), storable_normal_form(&v));
    }

    #[test]
    fn dumper_keeps_what_perl_keeps(v in value()) {
        prop_assert_eq!(trip(&Dumper::new(), &v), dumper_normal_form(&v));
    }

    #[test]
    fn random_bytes_never_panic(mut bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        fuzzing::thaw_native(&bytes);
        fuzzing::thaw_dumper(&bytes);
        fuzzing::thaw_storable(&bytes);
        // Past the header, to reach the opcodes.
        bytes.splice(0..0, [0x05, 0x0b]);
        fuzzing::thaw_storable(&bytes);
    }

    #[test]
    fn random_dumper_text_never_panics(text in "[$\\[\\]{}()'\"\\\\=>,;:\\-0-9a-zA-Z_ x]{0,80}") {
        let text = format!("$POE::Component::IKC::Freezer::VAR1 = {text}");
        fuzzing::thaw_dumper(text.as_bytes());
    }

    #[test]
    fn truncations_never_panic(v in value()) {
        let v = as_reference(v);
        let codecs: [&dyn Freezer; 3] = [&Native::new(), &Storable::new(), &Dumper::new()];
        for codec in codecs {
            let mut bytes = Vec::new();
            codec.freeze(&v, &mut bytes).unwrap();
            for end in 0..bytes.len() {
                let result = codec.thaw(&bytes[..end]);
                if codec.name() != ikc_freezer::DUMPER {
                    // Binary encodings are self-delimiting: a prefix is never whole.
                    prop_assert!(result.is_err());
                }
            }
        }
    }
}
