use super::*;
use crate::value::Hash;

const V: &str = "$POE::Component::IKC::Freezer::VAR1";

fn thaw(text: &str) -> Result<Value, ThawError> {
    Dumper::new().thaw(text.replace("$V", V).as_bytes())
}

fn freeze(v: &Value) -> String {
    let mut out = Vec::new();
    Dumper::new().freeze(v, &mut out).unwrap();
    String::from_utf8(out).unwrap().replace(V, "$V")
}

fn hash(pairs: &[(&str, Value)]) -> Value {
    Value::Hash(pairs.iter().cloned().collect::<Hash>())
}

// Each text below is what Data::Dumper 2.184 (perl 5.36) wrote with IKC's
// settings; each expected value is what Perl's eval gave back.

#[test]
fn purity_fixups_copy_shared_references() {
    let v = thaw("$V = {'a' => \\'s','b' => do{my $o}};$V->{'b'} = $V->{'a'};").unwrap();
    let s = Value::reference(Value::bytes("s"));
    assert_eq!(v, hash(&[("a", s.clone()), ("b", s)]));

    let v = thaw("$V = {'a' => [[1]],'b' => {'c' => []}};$V->{'b'}{'c'} = $V->{'a'}[0];").unwrap();
    assert_eq!(v["b"]["c"], Value::from(vec![1]));

    let v = thaw("$V = [bless( {'k' => 1}, 'Obj' ),{}];$V->[1] = $V->[0];").unwrap();
    assert_eq!(v[1], v[0]);
    assert_eq!(v[1].class(), Some("Obj"));

    let v = thaw("$V = [[1],[[]]];$V->[1][0] = $V->[0];").unwrap();
    assert_eq!(v[1][0], Value::from(vec![1]));

    let v = thaw("$V = [\\[1,2],do{my $o}];$V->[1] = $V->[0];").unwrap();
    assert_eq!(v[1], Value::reference(Value::from(vec![1, 2])));

    let v = thaw("$V = [{'v' => 'z'},do{my $o}];$V->[1] = \\$V->[0]{'v'};").unwrap();
    assert_eq!(v[1], Value::reference(Value::bytes("z")));

    let v = thaw("$V = [\\\\'x',do{my $o}];${$V->[1]} = 1;${$V->[0]} = $V->[1];");
    assert!(v.is_err(), "a fix-up may only copy from the structure");
}

#[test]
fn scalar_forms() {
    let v = thaw("$V = [\\undef,\\\\\\'x',bless( do{\\(my $o = 'v')}, 'Foo' ),1,''];").unwrap();
    assert_eq!(
        v,
        Value::from(vec![
            Value::reference(Value::Undef),
            Value::reference(Value::reference(Value::reference(Value::bytes("x")))),
            Value::blessed("Foo", Value::reference(Value::bytes("v"))),
            Value::Int(1),
            Value::bytes(""),
        ])
    );
    let v =
        thaw("$V = [-5,'-5','05','+5',' 5',1000000000,'10000000000',-999999999,2.5,1e3];").unwrap();
    assert_eq!(v[0], Value::Int(-5));
    assert_eq!(v[1], Value::bytes("-5"));
    assert_eq!(v[5], Value::Int(1_000_000_000));
    assert_eq!(v[6], Value::bytes("10000000000"));
    assert_eq!(v[8], Value::Float(2.5));
    assert_eq!(v[9], Value::Float(1000.0));
    assert_eq!(thaw("$V = 'abc';").unwrap(), Value::bytes("abc"));
    assert_eq!(thaw(" $V\n=\tundef ; ").unwrap(), Value::Undef);
    assert_eq!(
        thaw("$V = [18446744073709551615,18446744073709551616];").unwrap(),
        Value::from(vec![
            Value::UInt(u64::MAX),
            Value::Float(18446744073709551616.0)
        ])
    );
}

#[test]
fn strings_and_keys() {
    let v = thaw(
        "$V = ['caf\u{e9}',\"caf\\x{e9}\",\"\\x{263a}\",'abc',\"a\\\"b\\$c\\@d\\\\e\\x{263a}\n\",'it\\'s','a\\b',\"\\t\\101\\x41\\0\"];",
    )
    .unwrap();
    assert_eq!(v[0], Value::bytes("caf\u{e9}".as_bytes()));
    assert_eq!(v[1], Value::bytes(b"caf\xe9".to_vec()));
    assert_eq!(v[2], Value::from("☺"));
    assert_eq!(v[4], Value::from("a\"b$c@d\\e☺\n"));
    assert_eq!(v[5], Value::bytes("it's"));
    assert_eq!(v[6], Value::bytes("a\\b"));
    assert_eq!(v[7], Value::bytes("\tAA\0"));

    let v = thaw("$V = {\"caf\\x{e9}\" => 5,'it\\'s' => 6,'-1' => 2,\"\\x{263a}\" => 4,'1' => 1};")
        .unwrap();
    let h = v.as_hash().unwrap();
    assert_eq!(h.get("☺"), Some(&Value::Int(4)));
    assert_eq!(h.get("it's"), Some(&Value::Int(6)));
    assert_eq!(
        h.get_key(&crate::Key::from_bytes(b"caf\xe9".to_vec())),
        Some(&Value::Int(5))
    );
}

#[test]
fn writes_like_dumper() {
    let v = Value::from(vec![
        Value::Int(-5),
        Value::Int(1_000_000_000),
        Value::Int(10_000_000_000),
        Value::Int(-1_000_000_000),
        Value::Float(2.5),
        Value::Float(3.0),
        Value::Bool(true),
        Value::Bool(false),
        Value::bytes("it's a\\b"),
        Value::from("a\"b$c@d\\e☺\n"),
        Value::from("abc"),
        Value::reference(Value::Undef),
        Value::blessed("Foo", Value::reference(Value::bytes("v"))),
        Value::blessed("Obj", hash(&[("k", Value::Int(1))])),
    ]);
    assert_eq!(
        freeze(&v),
        "$V = [-5,1000000000,'10000000000','-1000000000','2.5','3',1,'','it\\'s a\\\\b',\
         \"a\\\"b\\$c\\@d\\\\e\\x{263a}\n\",'abc',\\undef,bless( do{\\(my $o = 'v')}, 'Foo' ),\
         bless( {'k' => 1}, 'Obj' )];"
    );
    assert_eq!(
        freeze(&hash(&[("caf\u{e9}", Value::Int(5))])),
        "$V = {\"caf\\x{e9}\" => 5};"
    );
    let err = Dumper::new()
        .freeze(&Value::blessed("X", Value::Int(1)), &mut Vec::new())
        .unwrap_err();
    assert!(matches!(err, FreezeError::Unsupported { .. }));
}

#[test]
fn refuses_what_is_not_data() {
    let cases = [
        "$V = {'c' => sub { \"DUMMY\" }};",
        "$V = [qr/ab+c/i];",
        "$V = [\\*::STDOUT];",
        "$V = [`id`];",
        "$V = [system('id')];",
        "$V = [\"$ENV{HOME}\"];",
        "$V = [\"@INC\"];",
        "$V = [eval { 1 }];",
        "$V = [qw(a b)];",
        "$V = [\"\\u0041\"];",
        "$V = [do { 1 }];",
        "$V = [1]; system('id');",
        "$V = [\\7,[${$V->[0]}]];",
        "$VAR1 = [1];",
        "$V = [01];",
        "$V = [1];$V->[0] = 2;",
        "$V = [1] ;; ",
        "",
        "$V = [1,2",
        "$V = 'abc",
    ];
    for text in cases {
        assert!(thaw(text).is_err(), "accepted {text:?}");
    }
    let cycle = thaw("$V = {'self' => {}};$V->{'self'} = $V;").unwrap_err();
    assert!(matches!(cycle, ThawError::Cycle { .. }), "{cycle}");
    let cycle = thaw("$V = [do{my $o}];$V->[0] = \\$V->[0];").unwrap_err();
    assert!(matches!(cycle, ThawError::Cycle { .. }), "{cycle}");
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    let text = format!("$V = {}1{};", "[".repeat(100_000), "]".repeat(100_000));
    assert!(matches!(
        thaw(&text),
        Err(ThawError::TooDeep { limit: 512 })
    ));
    let text = format!("$V = {}1;", "\\".repeat(100_000));
    assert!(matches!(
        thaw(&text),
        Err(ThawError::TooDeep { limit: 512 })
    ));
    let ok = format!("$V = {}1{};", "[".repeat(500), "]".repeat(500));
    let parser = std::thread::Builder::new()
        .stack_size(64 << 10)
        .spawn(move || thaw(&ok))
        .unwrap();
    // Dropped here: drop glue recurses, the parser does not.
    let value = parser.join().unwrap();
    assert!(value.is_ok());
}

#[test]
fn doubling_fixups_hit_the_element_limit() {
    // Each level's two slots both copy the level below: 2^n values.
    let levels = 40;
    let mut text = String::from("$V = [[1,1]");
    for _ in 1..levels {
        text.push_str(",[[],[]]");
    }
    text.push_str("];");
    for k in 1..levels {
        for slot in 0..2 {
            text.push_str(&format!("$V->[{k}][{slot}] = $V->[{}];", k - 1));
        }
    }
    let err = thaw(&text).unwrap_err();
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
