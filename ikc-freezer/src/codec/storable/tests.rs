use super::*;
use crate::value::Hash;

fn thaw(hex: &str) -> Result<Value, ThawError> {
    Storable::new().thaw(&decode_hex(hex))
}

fn decode_hex(hex: &str) -> Vec<u8> {
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect()
}

fn freeze(v: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    Storable::new().freeze(v, &mut out).unwrap();
    out
}

#[test]
fn back_reference_to_a_scalar_slot_is_a_copy() {
    // perl: my @a = (7); nfreeze([\$a[0], \@a])
    let v = thaw("050b02000000020408870402000000010000000002").unwrap();
    let want = Value::from(vec![
        Value::reference(Value::Int(7)),
        Value::from(vec![Value::Int(7)]),
    ]);
    assert_eq!(v, want);
}

#[test]
fn shared_blessed_object_and_class_indexes() {
    // perl: my $o = bless {k=>1}, 'Obj'; nfreeze([$o, $o])
    let v = thaw("050b02000000020411034f626a03000000010881000000016b040000000002").unwrap();
    let mut h = Hash::new();
    h.insert("k", 1);
    let obj = Value::blessed("Obj", Value::from(h));
    assert_eq!(v, Value::from(vec![obj.clone(), obj]));

    // perl: [bless({}, 'A'), bless([], 'A'), bless({}, 'B'), bless([], 'B')]
    let hex = "050b020000000404110141030000000004120002000000000411014203000000000412010200000000";
    let v = thaw(hex).unwrap();
    let want = Value::from(vec![
        Value::blessed("A", Value::from(Hash::new())),
        Value::blessed("A", Value::Array(vec![])),
        Value::blessed("B", Value::from(Hash::new())),
        Value::blessed("B", Value::Array(vec![])),
    ]);
    assert_eq!(v, want);
    assert_eq!(freeze(&want), decode_hex(hex));
}

#[test]
fn immortals_and_undef_forms() {
    // perl: my @a; $a[0] = 1; $a[2] = 2; nfreeze(\@a) -- a hole is SX_SV_UNDEF
    let v = thaw("050b020000000308810e0882").unwrap();
    assert_eq!(
        v,
        Value::from(vec![Value::Int(1), Value::Undef, Value::Int(2)])
    );
    assert_eq!(thaw("050b0f").unwrap(), Value::reference(Value::Bool(true)));
    assert_eq!(
        thaw("050b10").unwrap(),
        Value::reference(Value::Bool(false))
    );
    assert_eq!(thaw("050b22").unwrap(), Value::reference(Value::Bool(true)));
}

#[test]
fn flagged_keys_latin1_and_wide() {
    // perl: a UTF-8 key "café" and "☺"
    let v = thaw("050b19000000000208820100000003e298ba08810200000004636166e9").unwrap();
    let mut h = Hash::new();
    h.insert("☺", 2);
    h.insert("café", 1);
    assert_eq!(v, Value::from(h.clone()));
    let mut one = Hash::new();
    one.insert("café", 1);
    assert_eq!(
        freeze(&Value::from(one)),
        decode_hex("050b19000000000108810200000004636166e9")
    );
}

#[test]
fn blessed_scalar_and_vstring() {
    assert_eq!(
        thaw("050b1101530885").unwrap(),
        Value::blessed("S", Value::reference(Value::Int(5)))
    );
    // perl: nfreeze([v1.2.3]): the v-string magic is dropped
    assert_eq!(
        thaw("050b02000000011d0676312e322e330a03010203").unwrap(),
        Value::from(vec![Value::bytes(vec![1, 2, 3])])
    );
}

#[test]
fn floats_and_big_integers_are_written_like_perl() {
    // perl: nfreeze([-0.0, 0.5, 1e15, 3.0, 1e100])
    let v = Value::from(vec![
        Value::Float(-0.0),
        Value::Float(0.5),
        Value::Float(1e15),
        Value::Float(3.0),
        Value::Float(1e100),
    ]);
    assert_eq!(
        freeze(&v),
        decode_hex(
            "050b020000000508800a03302e350a103130303030303030303030303030303008830a0631652b313030"
        )
    );
    // perl: nfreeze([18446744073709551615, 9223372036854775808])
    let v = Value::from(vec![Value::UInt(u64::MAX), Value::UInt(1 << 63)]);
    assert_eq!(
        freeze(&v),
        decode_hex(
            "050b02000000020a1431383434363734343037333730393535313631350a1339323233333732303336383534373735383038"
        )
    );
    // perl: nfreeze([!!1, !!0])
    assert_eq!(
        freeze(&Value::from(vec![true, false])),
        decode_hex("050b02000000020a01310a00")
    );
}

#[test]
fn refusals() {
    let cycle = thaw("050b0300000001040000000000000000026d65").unwrap_err();
    assert!(matches!(cycle, ThawError::Cycle { .. }), "{cycle}");
    let native = thaw("040b0831323334353637380408080802010000000881").unwrap_err();
    assert!(native.to_string().contains("native byte order"), "{native}");
    let future = thaw("050d0e").unwrap_err();
    assert!(future.to_string().contains("version 2.13"), "{future}");
    let code = thaw("050b1a").unwrap_err();
    assert!(matches!(code, ThawError::Unsupported { .. }), "{code}");
    let tied = thaw("050b0c").unwrap_err();
    assert!(tied.to_string().contains("tied"), "{tied}");
    assert!(matches!(
        thaw("050b0e00"),
        Err(ThawError::TrailingData { .. })
    ));
    assert!(matches!(
        thaw("050b02"),
        Err(ThawError::UnexpectedEnd { .. })
    ));
    assert!(matches!(
        thaw("050b027fffffff"),
        Err(ThawError::UnexpectedEnd { .. })
    ));
    assert!(matches!(
        thaw("050b02ffffffff"),
        Err(ThawError::Malformed { .. })
    ));
    assert!(matches!(
        thaw("050b0000000000"),
        Err(ThawError::Malformed { .. })
    ));
    let top = Storable::new()
        .freeze(&Value::Int(1), &mut Vec::new())
        .unwrap_err();
    assert!(matches!(top, FreezeError::Unsupported { .. }), "{top}");
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    let mut bytes = vec![0x05, 0x0b];
    bytes.extend(std::iter::repeat_n(op::REF, 100_000));
    bytes.push(op::UNDEF);
    assert!(matches!(
        Storable::new().thaw(&bytes),
        Err(ThawError::TooDeep { limit: 512 })
    ));
    let mut deep = Value::Undef;
    for _ in 0..600 {
        deep = Value::from(vec![deep]);
    }
    let err = Storable::new().freeze(&deep, &mut Vec::new()).unwrap_err();
    assert_eq!(err, FreezeError::TooDeep { limit: 512 });
}

#[test]
fn doubling_back_references_hit_the_element_limit() {
    // [x, x] where x = [y, y] where y = ... : each level doubles the copies.
    let mut bytes = vec![0x05, 0x0b];
    let levels: i32 = 40;
    for _ in 0..levels {
        bytes.extend([op::ARRAY, 0, 0, 0, 2, op::REF]);
    }
    bytes.push(op::UNDEF);
    // Close each level from the inside out: its second element points back
    // at the first element's array (tag 2k+2 for level k).
    for k in (0..levels).rev() {
        bytes.push(op::REF);
        bytes.push(op::OBJECT);
        bytes.extend((2 * k + 2).to_be_bytes());
    }
    let limits = Limits {
        max_elements: 10_000,
        ..Limits::default()
    };
    let err = Storable::with_limits(limits).thaw(&bytes).unwrap_err();
    assert!(
        matches!(
            err,
            ThawError::TooLarge {
                what: "value count",
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn reading_does_not_recurse() {
    // 500 nested array references read fine on a 64 KiB stack (the value
    // is dropped on the test's own thread: drop glue does recurse).
    let mut bytes = vec![0x05, 0x0b];
    for _ in 0..500 {
        bytes.extend([op::ARRAY, 0, 0, 0, 1, op::REF]);
    }
    bytes.extend([op::ARRAY, 0, 0, 0, 0]);
    let reader = std::thread::Builder::new()
        .stack_size(64 << 10)
        .spawn(move || Storable::new().thaw(&bytes))
        .unwrap();
    let mut value = reader.join().unwrap().unwrap();
    let mut depth = 0;
    while let Some([inner]) = value.as_array() {
        value = inner.clone();
        depth += 1;
    }
    assert_eq!(depth, 500);
}
