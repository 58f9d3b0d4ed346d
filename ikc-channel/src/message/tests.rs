use proptest::prelude::*;

use super::*;

fn spec(kernel: &str, session: &str, state: Option<&str>) -> Value {
    let mut hash = Hash::new();
    hash.insert("kernel", kernel);
    hash.insert("session", session);
    if let Some(state) = state {
        hash.insert("state", state);
    }
    Value::Hash(hash)
}

/// ClientLite's call, as the Dumper transcript shows it (byte strings, as
/// Storable gives Perl's plain strings).
fn clientlite_call() -> Value {
    let mut hash = Hash::new();
    hash.insert("rsvp", spec("LiteClient", "IKCLite", Some("response0")));
    hash.insert("from", spec("LiteClient", "IKCLite", None));
    hash.insert("wantarray", Value::bytes(""));
    hash.insert(
        "event",
        Value::bytes("poe://vm-6b01b142-00000a62-00000001/test/fetchQ"),
    );
    hash.insert("params", Value::Undef);
    Value::Hash(hash)
}

#[test]
fn a_clientlite_call_reads_as_a_call() {
    let message = Message::try_from(clientlite_call()).unwrap();
    assert_eq!(
        message,
        Message {
            event: MessageTarget::Text("poe://vm-6b01b142-00000a62-00000001/test/fetchQ".into()),
            params: Value::Undef,
            from: Some(HashForm::new("LiteClient", "IKCLite", "").into()),
            rsvp: Some(HashForm::new("LiteClient", "IKCLite", "response0").into()),
            wantarray: Some(false),
            is_error: false,
            caller: None,
            extra: Hash::new(),
        }
    );
    assert_eq!(
        message.event.specifier().unwrap().to_string(),
        "poe://vm-6b01b142-00000a62-00000001/test/fetchQ"
    );
    // And back, as Perl writes it: `from` without a state, `wantarray` ''.
    assert_eq!(Message::try_from(message.to_value()).unwrap(), message);
    let value = message.to_value();
    let hash = value.as_hash().unwrap();
    assert_eq!(hash.get("from"), Some(&spec("LiteClient", "IKCLite", None)));
    assert_eq!(hash.get("wantarray"), Some(&Value::from("")));
    assert!(!hash.contains_key("is_error"));
}

#[test]
fn a_remote_error_reads_with_its_flag_and_hash_target() {
    let mut hash = Hash::new();
    hash.insert("is_error", 1);
    hash.insert(
        "params",
        vec![
            Value::from("Session 'test' has not published state 'nothere'."),
            "Inet".into(),
            "check".into(),
        ],
    );
    hash.insert("event", spec("vm-1", "IKC", Some("remote_error")));
    let message = Message::try_from(Value::Hash(hash)).unwrap();
    assert!(message.is_error);
    assert_eq!(
        message.event,
        MessageTarget::Hash(HashForm::new("vm-1", "IKC", "remote_error").into())
    );
    assert_eq!(message.wantarray, None);
    assert_eq!(
        message.to_value().as_hash().unwrap().get("is_error"),
        Some(&Value::Int(1))
    );
}

#[test]
fn builders_write_what_perl_writes() {
    let call = Message::call(
        "poe://Inet/test/echo",
        vec![1, 2],
        HashForm::new("Cli", "me", "reply"),
    )
    .with_from(HashForm::new("vm-1", "me", "IKC:proxy"));
    let value = call.to_value();
    let hash = value.as_hash().unwrap();
    assert_eq!(
        hash.get("event"),
        Some(&Value::from("poe://Inet/test/echo"))
    );
    assert_eq!(hash.get("params"), Some(&Value::from(vec![1, 2])));
    assert_eq!(hash.get("rsvp"), Some(&spec("Cli", "me", Some("reply"))));
    assert_eq!(
        hash.get("from"),
        Some(&spec("vm-1", "me", Some("IKC:proxy")))
    );
    let post = Message::post(&"poe://Inet/test/here".parse::<Specifier>().unwrap(), 7);
    let keys: Vec<_> = post
        .to_value()
        .as_hash()
        .unwrap()
        .keys()
        .map(|k| k.to_string())
        .collect();
    assert_eq!(keys, ["event", "params"]);
}

#[test]
fn unknown_keys_are_kept_in_order() {
    let mut hash = clientlite_call().as_hash().unwrap().clone();
    hash.insert("route", vec!["a", "b"]);
    hash.insert("errors_to", spec("x", "IKC", Some("remote_error")));
    let message = Message::try_from(Value::Hash(hash)).unwrap();
    let keys: Vec<_> = message.extra.keys().map(|k| k.to_string()).collect();
    assert_eq!(keys, ["route", "errors_to"]);
    assert_eq!(Message::try_from(message.to_value()).unwrap(), message);
}

#[test]
fn perl_truth_and_perl_text() {
    for (value, truth) in [
        (Value::Undef, false),
        (Value::from(""), false),
        (Value::bytes("0"), false),
        (Value::Int(0), false),
        (Value::Float(0.0), false),
        (Value::from("0.0"), true),
        (Value::from("00"), true),
        (Value::Int(1), true),
        (Value::from(vec![0]), true),
    ] {
        let mut hash = Hash::new();
        hash.insert("event", "poe:x");
        hash.insert("wantarray", value.clone());
        hash.insert("is_error", value.clone());
        let message = Message::try_from(Value::Hash(hash)).unwrap();
        assert_eq!(
            (message.wantarray, message.is_error),
            (Some(truth), truth),
            "{value:?}"
        );
    }
    let mut event = Hash::new();
    event.insert("kernel", Value::bytes(b"caf\xe9".to_vec()));
    event.insert("session", "s");
    let mut hash = Hash::new();
    hash.insert("event", Value::Hash(event));
    hash.insert("from", {
        let mut from = Hash::new();
        from.insert("kernel", 42);
        from.insert("session", Value::Undef);
        Value::Hash(from)
    });
    let message = Message::try_from(Value::Hash(hash)).unwrap();
    assert_eq!(
        message.event,
        MessageTarget::Hash(HashForm::new("caf\u{e9}", "s", "").into())
    );
    assert_eq!(message.from, Some(Arc::new(HashForm::new("42", "", ""))));
}

#[test]
fn values_that_are_not_messages_are_named_errors() {
    let with = |key: &str, value: Value| {
        let mut hash = clientlite_call().as_hash().unwrap().clone();
        hash.insert(key, value);
        Value::Hash(hash)
    };
    let not_hash = MessageError::NotAHash { found: "an array" };
    for (value, error) in [
        (Value::from(vec![1]), not_hash),
        (Value::Undef, MessageError::NotAHash { found: "undef" }),
        (
            Value::blessed("Foo", Value::Hash(Hash::new())),
            MessageError::NotAHash {
                found: "a blessed reference",
            },
        ),
        (Value::Hash(Hash::new()), MessageError::MissingEvent),
        (
            with("event", Value::from(vec!["a"])),
            MessageError::BadField {
                field: "event",
                expected: "a specifier string or hash",
                found: "an array",
            },
        ),
        (
            with("from", Value::from("me")),
            MessageError::BadField {
                field: "from",
                expected: "a specifier hash",
                found: "a string",
            },
        ),
    ] {
        assert_eq!(Message::try_from(&value), Err(error.clone()), "{value:?}");
        let (failed, given_back) =
            *Message::from_value(value.clone(), &mut LastRead::default()).unwrap_err();
        assert_eq!((failed, given_back), (error, value));
    }
    let mut bad_state = spec("k", "s", None);
    if let Value::Hash(h) = &mut bad_state {
        h.insert("state", Value::Float(1.5));
    }
    assert_eq!(
        Message::try_from(with("rsvp", bad_state)),
        Err(MessageError::BadField {
            field: "rsvp.state",
            expected: "a string",
            found: "a number"
        })
    );
}

fn name() -> impl Strategy<Value = String> {
    "[-a-zA-Z0-9_:.]{0,12}"
}

fn hash_form() -> impl Strategy<Value = HashForm> {
    (name(), name(), name()).prop_map(|(k, s, t)| HashForm::new(k, s, t))
}

fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Undef),
        any::<i64>().prop_map(Value::Int),
        ".{0,8}".prop_map(Value::from),
        proptest::collection::vec(any::<u8>(), 0..8).prop_map(Value::bytes),
    ]
}

prop_compose! {
    fn message()(
        event in prop_oneof![name().prop_map(MessageTarget::from), hash_form().prop_map(MessageTarget::from)],
        params in prop_oneof![scalar(), proptest::collection::vec(scalar(), 0..4).prop_map(Value::Array)],
        from in proptest::option::of(hash_form()),
        rsvp in proptest::option::of(hash_form()),
        wantarray in proptest::option::of(any::<bool>()),
        is_error in any::<bool>(),
        extra in proptest::collection::vec(("x_[a-z]{1,6}", scalar()), 0..3),
        caller in proptest::option::of((hash_form(), name(), any::<u32>())),
    ) -> Message {
        let caller = caller.map(|(at, file, line)| Arc::new(CallerInfo::new(at.kernel, at.session, at.state, file, line)));
        Message { event, params, from: from.map(Arc::new), rsvp: rsvp.map(Arc::new), wantarray, is_error, caller, extra: extra.into_iter().collect() }
    }
}

proptest! {
    #[test]
    fn messages_survive_the_trip_through_a_value(message in message()) {
        prop_assert_eq!(Message::try_from(message.to_value()).unwrap(), message);
    }

    #[test]
    fn the_native_path_writes_what_the_value_path_writes(message in message()) {
        // Extra keys included (the mesh's hop count and origin): written
        // from the fields, the bytes are those of `to_value` frozen.
        use ikc_freezer::Freezer as _;
        let native = Native::new();
        let mut direct = Vec::new();
        message.freeze_native(&native, &mut direct).unwrap().unwrap();
        let mut general = Vec::new();
        native.freeze(&message.to_value(), &mut general).unwrap();
        prop_assert_eq!(&direct, &general);
        prop_assert_eq!(Message::thaw_native(&native, &direct), Some(message));
    }
}

#[test]
fn caller_details_travel_as_a_hash_under_caller() {
    let caller = CallerInfo::new("Client", "pinger", "do_stuff", "examples/lightspeed.rs", 42);
    let message = Message::post("poe://Server/pong/ping", 1).with_caller(caller.clone());
    let value = message.to_value();
    let hash = value.as_hash().unwrap();
    let keys: Vec<_> = hash.keys().map(|k| k.to_string()).collect();
    assert_eq!(keys, ["event", "params", "caller"]);
    let sent = hash.get("caller").unwrap();
    assert_eq!(sent["kernel"], Value::from("Client"));
    assert_eq!(sent["session"], Value::from("pinger"));
    assert_eq!(sent["state"], Value::from("do_stuff"));
    assert_eq!(sent["file"], Value::from("examples/lightspeed.rs"));
    assert_eq!(sent["line"], Value::Int(42));
    assert_eq!(
        Message::try_from(&value).unwrap().caller.as_deref(),
        Some(&caller)
    );
    assert_eq!(
        Message::try_from(value).unwrap().caller.as_deref(),
        Some(&caller)
    );
    // Perl sends none.
    assert_eq!(Message::try_from(clientlite_call()).unwrap().caller, None);
}

#[test]
fn caller_parts_are_read_leniently_and_a_strange_caller_is_kept_as_is() {
    let mut sent = Hash::new();
    sent.insert("kernel", Value::bytes("K"));
    sent.insert("line", "17");
    sent.insert("other", 5);
    let mut hash = Hash::new();
    hash.insert("event", "poe://K/s/st");
    hash.insert("caller", Value::Hash(sent));
    let message = Message::try_from(Value::Hash(hash)).unwrap();
    assert_eq!(
        message.caller.as_deref(),
        Some(&CallerInfo::new("K", "", "", "", 17))
    );
    assert!(message.extra.is_empty());

    for strange in [Value::from("text"), Value::Array(vec![]), {
        let mut h = Hash::new();
        h.insert("state", Value::Array(vec![]));
        Value::Hash(h)
    }] {
        let mut hash = Hash::new();
        hash.insert("event", "poe://K/s/st");
        hash.insert("caller", strange.clone());
        let message = Message::try_from(Value::Hash(hash)).unwrap();
        assert_eq!(message.caller, None);
        assert_eq!(message.extra.get("caller"), Some(&strange));
    }
}

#[test]
fn the_empty_target_is_one_shared_text() {
    // A message is built with an empty target until its `event` is read:
    // that placeholder must not cost an allocation per message.
    let (MessageTarget::Text(a), MessageTarget::Text(b)) =
        (MessageTarget::from(""), MessageTarget::from(""))
    else {
        panic!("a text target");
    };
    assert!(Arc::ptr_eq(&a, &b));
    let MessageTarget::Text(c) = MessageTarget::from("poe://K/s/st") else {
        panic!("a text target");
    };
    assert_eq!(&*c, "poe://K/s/st");
}
