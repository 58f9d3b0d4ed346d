use proptest::prelude::*;

use crate::{HashForm, ParseErrorKind, Part, PartName, Specifier, specifier_part};

/// What Perl IKC 0.2402's `specifier_parse` and `specifier_name` give for
/// each input (captured by running Perl on this list): input, kernel,
/// session, state, args (`-` for none), `specifier_name`; or `INVALID`.
const PERL_CASES: &str = "\
poe://kernel/session/state\tkernel\tsession\tstate\t-\tpoe://kernel/session/state
poe://kernel/session\tkernel\tsession\t\t-\tpoe://kernel/session
poe://kernel\tkernel\t\t\t-\tpoe://kernel
poe:/session/state\t\tsession\tstate\t-\tpoe:/session/state
poe:/session\t\tsession\t\t-\tpoe:/session
poe:state\t\t\tstate\t-\tpoe:/state
poe:\t\t\t\t-\tpoe:
poe:?arg\t\t\t\targ\tpoe:
poe:state?arg\t\t\tstate\targ\tpoe:/state
poe://k/s/t?a1\tk\ts\tt\ta1\tpoe://k/s/t
session/state\t\tsession\tstate\t-\tpoe:/session/state
state\t\t\tstate\t-\tpoe:/state
session/\t\tsession\t\t-\tpoe:/session
//kernel/session/state\tkernel\tsession\tstate\t-\tpoe://kernel/session/state
//kernel/state\tkernel\t\tstate\t-\tpoe://kernel/state
//kernel/session/\tkernel\tsession\t\t-\tpoe://kernel/session
poe:kernel/session/state\tINVALID
poe:*/session\tINVALID
poe:///session/state\t\tsession\tstate\t-\tpoe:/session/state
poe://host:303/session/state\thost:303\tsession\tstate\t-\tpoe://host:303/session/state
poe://*/timeserver/connect\t*\ttimeserver\tconnect\t-\tpoe://*/timeserver/connect
poe://Pulse/timeserver/connect\tPulse\ttimeserver\tconnect\t-\tpoe://Pulse/timeserver/connect
poe://Billy/bob/\tBilly\tbob\t\t-\tpoe://Billy/bob
poe://unix:sock/s/t\tunix:sock\ts\tt\t-\tpoe://unix:sock/s/t
poe://unix:my.host:12-3/s/t\tunix:my.host:12-3\ts\tt\t-\tpoe://unix:my.host:12-3/s/t
poe://127.0.0.1:41001/test/here\t127.0.0.1:41001\ttest\there\t-\tpoe://127.0.0.1:41001/test/here
poe://vm-6b01b142-00000a62-00000001/test/fetchQ\tvm-6b01b142-00000a62-00000001\ttest\tfetchQ\t-\tpoe://vm-6b01b142-00000a62-00000001/test/fetchQ
poe://my kernel/my session/my state\tmy kernel\tmy session\tmy state\t-\tpoe://my kernel/my session/my state
poe://k//t\tINVALID
poe:/s/t/u\tINVALID
s/t/u\tINVALID
/t\tINVALID
//k\tINVALID
poe://a/b?\tINVALID
poe:/s/t?x-y\tINVALID
poe://k.a.b/s/t\tk.a.b\ts\tt\t-\tpoe://k.a.b/s/t
poe:/s-1/t_2\t\ts-1\tt_2\t-\tpoe:/s-1/t_2
?x\t\t\t\tx\tpoe:
poe:/\t\t\t\t-\tpoe:
poe://\t\t\t\t-\tpoe:
x:y\tINVALID
poe://a:b/s\tINVALID
poe://:80/s\tINVALID
poe://a:80/s\tINVALID
poe://ab:80/s\tab:80\ts\t\t-\tpoe://ab:80/s
poe://unix:a/b/c\tunix:a\tb\tc\t-\tpoe://unix:a/b/c
poe:/s?\tINVALID
";

#[test]
fn matches_perl_specifier_parse_and_name() {
    let mut checked = 0;
    for line in PERL_CASES.lines() {
        let cols: Vec<&str> = line.split('\t').collect();
        let input = cols[0];
        let parsed = Specifier::parse(input);
        if cols[1] == "INVALID" {
            assert!(
                parsed.is_err(),
                "{input:?} should be invalid, got {parsed:?}"
            );
        } else {
            let spec = parsed.unwrap_or_else(|e| panic!("{input:?} should parse: {e}"));
            let hash = spec.to_hash_form();
            assert_eq!(hash.kernel, cols[1], "kernel of {input:?}");
            assert_eq!(hash.session, cols[2], "session of {input:?}");
            assert_eq!(hash.state, cols[3], "state of {input:?}");
            let arg = spec.arg.as_deref().unwrap_or("-");
            assert_eq!(arg, cols[4], "arg of {input:?}");
            assert_eq!(spec.ikc_name(), cols[5], "specifier_name of {input:?}");
            // Our own printed form always reads back the same.
            assert_eq!(
                Specifier::parse(&spec.to_string()),
                Ok(spec.clone()),
                "{input:?}"
            );
        }
        checked += 1;
    }
    assert_eq!(checked, 47);
}

#[test]
fn specifier_part_prepends_poe_slash_slash() {
    // Perl: specifier_part('Pulse','kernel') etc.
    assert_eq!(
        specifier_part("Pulse", PartName::Kernel).as_deref(),
        Some("Pulse")
    );
    assert_eq!(
        specifier_part("poe://Pulse/x", PartName::Kernel).as_deref(),
        Some("Pulse")
    );
    assert_eq!(
        specifier_part("Inet/test/here", PartName::Kernel).as_deref(),
        Some("Inet")
    );
    assert_eq!(specifier_part("*", PartName::Kernel).as_deref(), Some("*"));
    assert_eq!(
        specifier_part("Inet/test/here", PartName::Session).as_deref(),
        Some("test")
    );
    assert_eq!(
        specifier_part("poe:/x?y", PartName::Arg).as_deref(),
        Some("y")
    );
    assert_eq!(specifier_part("poe:/x", PartName::Arg).as_deref(), Some(""));
    assert_eq!(specifier_part("a/b/c/d", PartName::Kernel), None);
}

#[test]
fn array_forms() {
    // Perl: specifier_name(['sess','st']) eq 'poe:/sess/st'
    let s = Specifier::from_array(&["sess", "st"]).unwrap();
    assert_eq!(s.ikc_name(), "poe:/sess/st");
    let s = Specifier::from_array(&["k", "sess", "st"]).unwrap();
    assert_eq!(s, Specifier::remote("k", "sess", "st"));
    let s = Specifier::from_array(&["a,b", "*", "st"]).unwrap();
    assert_eq!(s.kernel.names(), ["a", "b"]);
    assert!(s.session.is_all());
    let s = Specifier::from_array(&["", "", "st"]).unwrap();
    assert_eq!(s, Specifier::state_only("st"));

    let e = Specifier::from_array(&["x"]).unwrap_err();
    assert_eq!(e.kind, ParseErrorKind::BadArrayLength(1));
    let e = Specifier::from_array(&["k", "s", "t", "u"]).unwrap_err();
    assert_eq!(e.kind, ParseErrorKind::BadArrayLength(4));
    let e = Specifier::from_array(&["k/x", "s", "t"]).unwrap_err();
    assert_eq!(e.kind, ParseErrorKind::BadKernel("k/x".into()));
    let e = Specifier::from_array(&["k", "s!", "t"]).unwrap_err();
    assert_eq!(
        (e.kind, e.position),
        (ParseErrorKind::BadSession("s!".into()), 2)
    );
    let e = Specifier::from_array(&["k", "s", "t/"]).unwrap_err();
    assert_eq!(
        (e.kind, e.position),
        (ParseErrorKind::BadState("t/".into()), 4)
    );
    let e = Specifier::from_array(&["*,a", "s", "t"]).unwrap_err();
    assert_eq!(e.kind, ParseErrorKind::WildcardInList);
}

#[test]
fn lightspeed_lists_and_wildcards() {
    let s: Specifier = "poe://a,b,c/x,y/go".parse().unwrap();
    assert_eq!(s.kernel.names(), ["a", "b", "c"]);
    assert_eq!(s.session.names(), ["x", "y"]);
    assert_eq!(s.to_string(), "poe://a,b,c/x,y/go");
    let s: Specifier = "poe://*/*/go".parse().unwrap();
    assert_eq!(
        (s.kernel.clone(), s.session.clone()),
        (Part::All, Part::All)
    );
    let s: Specifier = "//a,127.0.0.1:80/s/go".parse().unwrap();
    assert_eq!(s.kernel.names(), ["a", "127.0.0.1:80"]);

    let e = "poe://a,*/s/t".parse::<Specifier>().unwrap_err();
    assert_eq!((e.kind, e.position), (ParseErrorKind::WildcardInList, 8));
    let e = "poe://a,,b/s/t".parse::<Specifier>().unwrap_err();
    assert_eq!(
        (e.kind, e.position),
        (ParseErrorKind::BadKernel(String::new()), 8)
    );
    let e = "poe://a/x,/t".parse::<Specifier>().unwrap_err();
    assert_eq!(e.kind, ParseErrorKind::BadSession(String::new()));
}

#[test]
fn errors_say_what_and_where() {
    let e = "".parse::<Specifier>().unwrap_err();
    assert_eq!(e.kind, ParseErrorKind::Empty);
    let e = "poe://Pulse/time!server/connect"
        .parse::<Specifier>()
        .unwrap_err();
    assert_eq!(
        (e.kind.clone(), e.position),
        (ParseErrorKind::BadSession("time!server".into()), 12)
    );
    assert_eq!(
        e.to_string(),
        "invalid specifier \"poe://Pulse/time!server/connect\": bad session name \"time!server\" \
         (expected letters, digits, '_', '-' or ' ', or '*') (at byte 12)"
    );
    let e = "poe:/s/t/u".parse::<Specifier>().unwrap_err();
    assert_eq!(
        (e.kind, e.position),
        (ParseErrorKind::TrailingInput("/u".into()), 8)
    );
    let e = "poe:/s/t?".parse::<Specifier>().unwrap_err();
    assert_eq!(e.kind, ParseErrorKind::BadArg(String::new()));
    let e = "poe://k!/s".parse::<Specifier>().unwrap_err();
    assert_eq!(
        (e.kind, e.position),
        (ParseErrorKind::BadKernel("k!".into()), 6)
    );
    let e = "//k".parse::<Specifier>().unwrap_err();
    assert_eq!(e.kind, ParseErrorKind::BadKernel("k".into()));
    let e = "poe:/s/t!".parse::<Specifier>().unwrap_err();
    assert_eq!(
        (e.kind, e.position),
        (ParseErrorKind::BadState("t!".into()), 7)
    );
}

#[test]
fn display_round_trips_where_ikc_name_is_lossy() {
    for (spec, display, ikc) in [
        (Specifier::state_only("tick"), "poe:tick", "poe:/tick"),
        (
            Specifier {
                kernel: Part::name("k"),
                state: Some("t".into()),
                ..Specifier::default()
            },
            "//k/t",
            "poe://k/t",
        ),
        (
            Specifier {
                arg: Some("9".into()),
                ..Specifier::local("s", "t")
            },
            "poe:/s/t?9",
            "poe:/s/t",
        ),
        (Specifier::default(), "poe:", "poe:"),
        (
            Specifier::session_of("Inet", "test"),
            "poe://Inet/test",
            "poe://Inet/test",
        ),
    ] {
        assert_eq!(spec.to_string(), display);
        assert_eq!(spec.ikc_name(), ikc);
        assert_eq!(display.parse::<Specifier>().unwrap(), spec);
    }
}

#[test]
fn hash_form_round_trip_and_wire_names() {
    // The receipt state IKC invents for subscriptions is not a valid state
    // name, but it must survive the hash form untouched.
    let receipt = "IKC:receipt 2 CODE(0x55ec7fae19f0)poe://Inet/test";
    let hash = HashForm::new("vm-1", "IKC", receipt);
    let spec = Specifier::from_hash_form(&hash);
    assert_eq!(spec.to_hash_form(), hash);
    assert_eq!(spec.ikc_name(), format!("poe://vm-1/IKC/{receipt}"));
    // The error message IKC sends names the sender with specifier_name.
    let from = HashForm::new("vm-6b01b1ce-00001649-00000001", "me", "IKC:proxy");
    assert_eq!(
        from.ikc_name(),
        "poe://vm-6b01b1ce-00001649-00000001/me/IKC:proxy"
    );
    assert_eq!(HashForm::new("", "", "").ikc_name(), "poe:");
    assert_eq!(
        Specifier::from_hash_form(&HashForm::new("*", "", "")).kernel,
        Part::All
    );
}

#[test]
fn resolve_relative_fills_only_missing_parts() {
    let s: Specifier = "test/fetchQ".parse().unwrap();
    assert_eq!(
        s.resolve_relative("Inet", "me").to_string(),
        "poe://Inet/test/fetchQ"
    );
    let s: Specifier = "poe:reply".parse().unwrap();
    assert_eq!(s.resolve_relative("", "me").to_string(), "poe:/me/reply");
    let s: Specifier = "poe://Other/x/y".parse().unwrap();
    assert_eq!(s.resolve_relative("Inet", "me"), s);
    assert_eq!(s.without_state().to_string(), "poe://Other/x");
}

fn name() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9_][a-zA-Z0-9_ -]{0,8}"
        .prop_map(|s| s.trim_end().to_owned())
        .prop_filter("non-empty", |s| !s.is_empty())
}

fn kernel_name() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9_][a-zA-Z0-9_.-]{0,10}",
        ("[a-z][a-z0-9.-]{1,8}", 1u16..65535).prop_map(|(h, p)| format!("{h}:{p}")),
        "unix:[a-z0-9.-]{1,8}",
    ]
}

fn part(names: impl Strategy<Value = String>) -> impl Strategy<Value = Part> {
    prop_oneof![
        Just(Part::Unspecified),
        Just(Part::All),
        proptest::collection::vec(names, 1..4).prop_map(Part::Names),
    ]
}

fn specifier() -> impl Strategy<Value = Specifier> {
    (
        part(kernel_name()),
        part(name()),
        proptest::option::of(name()),
        proptest::option::of("[a-zA-Z0-9_]{1,6}"),
    )
        .prop_map(|(kernel, session, state, arg)| Specifier {
            kernel,
            session,
            state,
            arg,
        })
}

proptest! {
    #[test]
    fn print_then_parse_is_identity(spec in specifier()) {
        let text = spec.to_string();
        prop_assert_eq!(Specifier::parse(&text), Ok(spec), "printed as {:?}", text);
    }

    #[test]
    fn arbitrary_strings_never_panic(text in ".{0,64}") {
        let _ = Specifier::parse(&text);
        let _ = specifier_part(&text, PartName::State);
    }

    #[test]
    fn specifier_like_strings_never_panic(text in "(poe:)?(//)?[a-z*,:./? 0-9!-]{0,24}") {
        if let Ok(spec) = Specifier::parse(&text) {
            // Anything we accept prints to something we accept again.
            prop_assert_eq!(Specifier::parse(&spec.to_string()), Ok(spec));
        }
    }

    #[test]
    fn the_fuzz_entry_survives_anything(
        bytes in proptest::collection::vec(any::<u8>(), 0..64),
        text in "(poe:)?(//)?[a-zA-Z0-9*,:./?_ -]{0,32}",
    ) {
        crate::internal::fuzz_specifier(&bytes);
        crate::internal::fuzz_specifier(text.as_bytes());
    }

    #[test]
    fn hash_form_round_trip(spec in specifier()) {
        let spec = Specifier { arg: None, ..spec };
        prop_assert_eq!(Specifier::from_hash_form(&spec.to_hash_form()), spec);
    }
}
