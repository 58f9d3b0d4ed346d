//! The native codec's fast path for messages gives exactly what the
//! general path (`to_value` + freeze, thaw + `from_value`) gives; and
//! converting a value by taking it apart gives what reading a copy gives.

use ikc_freezer::{Freezer, Hash, Key, Limits, Native, Value};
use ikc_specifier::HashForm;
use proptest::prelude::*;

use std::sync::Arc;

use crate::message::{LastRead, LastWritten};
use crate::{CallerInfo, Message, MessageTarget};

pub(super) fn arb_text() -> impl Strategy<Value = String> {
    prop_oneof![Just(String::new()), "[a-zA-Z:/._-]{1,12}", "\\PC{0,6}",]
}

pub(super) fn arb_key() -> impl Strategy<Value = Key> {
    prop_oneof![
        4 => prop::sample::select(vec![
            "event", "params", "from", "rsvp", "wantarray", "is_error", "kernel", "session",
            "state", "x", "caller", "file", "line",
        ])
        .prop_map(Key::from),
        1 => arb_text().prop_map(Key::from),
        1 => prop::collection::vec(any::<u8>(), 0..6).prop_map(Key::from_bytes),
    ]
}

pub(super) fn arb_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Undef),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::Int),
        (i64::MAX as u64 + 1..=u64::MAX).prop_map(Value::UInt),
        any::<f64>().prop_map(Value::Float),
        arb_text().prop_map(Value::Str),
        prop::collection::vec(any::<u8>(), 0..8).prop_map(Value::Bytes),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((arb_key(), inner.clone()), 0..5).prop_map(|pairs| {
                let mut hash = Hash::new();
                for (k, v) in pairs {
                    hash.insert(k, v);
                }
                Value::Hash(hash)
            }),
            inner.clone().prop_map(|v| Value::Ref(Box::new(v))),
            (arb_text(), inner).prop_map(|(class, v)| Value::blessed(class, v)),
        ]
    })
}

pub(super) fn arb_spec() -> impl Strategy<Value = HashForm> {
    (arb_text(), arb_text(), arb_text()).prop_map(|(k, s, t)| HashForm::new(k, s, t))
}

pub(super) fn arb_message() -> impl Strategy<Value = Message> {
    (
        prop_oneof![
            arb_text().prop_map(MessageTarget::from),
            arb_spec().prop_map(MessageTarget::from)
        ],
        arb_value(),
        prop::option::of(arb_spec()),
        prop::option::of(arb_spec()),
        prop::option::of(any::<bool>()),
        any::<bool>(),
        prop::collection::vec((arb_key(), arb_value()), 0..2),
        prop::option::of((arb_spec(), arb_text(), any::<u32>())),
    )
        .prop_map(
            |(event, params, from, rsvp, wantarray, is_error, extra, caller)| {
                let mut message = Message::post(event, params);
                message.caller = caller.map(|(at, file, line)| {
                    CallerInfo::new(at.kernel, at.session, at.state, file, line).into()
                });
                message.from = from.map(Arc::new);
                message.rsvp = rsvp.map(Arc::new);
                message.wantarray = wantarray;
                message.is_error = is_error;
                for (k, v) in extra {
                    message.extra.insert(k, v);
                }
                message
            },
        )
}

pub(super) fn small_limits() -> Limits {
    Limits {
        max_depth: 3,
        max_elements: 12,
        max_string_len: 5,
        ..Limits::default()
    }
}

/// What the general path makes of `bytes`.
fn general(native: &Native, bytes: &[u8]) -> Option<Message> {
    let value = native.thaw(bytes).ok()?;
    Message::try_from(value).ok()
}

/// The fast path, if it reads `bytes`, agrees with the general path.
fn check_read(native: &Native, bytes: &[u8]) -> Result<(), TestCaseError> {
    if let Some(fast) = Message::thaw_native(native, bytes) {
        prop_assert_eq!(Some(fast), general(native, bytes));
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn writes_the_bytes_of_the_message_hash(message in arb_message(), small in any::<bool>()) {
        let native = if small { Native::with_limits(small_limits()) } else { Native::new() };
        let mut general_bytes = Vec::new();
        let general_result = native.freeze(&message.to_value(), &mut general_bytes);
        let mut fast_bytes = vec![7];
        match message.freeze_native(&native, &mut fast_bytes) {
            None => prop_assert!(!message.extra.is_empty()),
            Some(result) => {
                prop_assert_eq!(result.is_ok(), general_result.is_ok());
                if result.is_ok() {
                    prop_assert_eq!(&fast_bytes[1..], general_bytes.as_slice());
                } else {
                    prop_assert_eq!(fast_bytes, vec![7]);
                }
            }
        }
    }

    #[test]
    fn reads_messages_as_the_general_path_does(message in arb_message(), small in any::<bool>()) {
        let mut bytes = Vec::new();
        Native::new().freeze(&message.to_value(), &mut bytes).unwrap();
        let native = if small { Native::with_limits(small_limits()) } else { Native::new() };
        check_read(&native, &bytes)?;
        if !small && message.extra.is_empty() {
            // An ordinary message always takes the fast path.
            prop_assert!(Message::thaw_native(&native, &bytes).is_some());
        }
    }

    #[test]
    fn reads_any_hash_as_the_general_path_does(value in arb_value(), small in any::<bool>()) {
        let mut bytes = Vec::new();
        Native::new().freeze(&value, &mut bytes).unwrap();
        let native = if small { Native::with_limits(small_limits()) } else { Native::new() };
        check_read(&native, &bytes)?;
    }

    #[test]
    fn taking_a_value_apart_gives_what_reading_it_gives(value in arb_value(), message in arb_message()) {
        for value in [value, message.to_value()] {
            let read = Message::try_from(&value);
            let taken = Message::try_from(value);
            prop_assert_eq!(taken, read);
        }
    }

    #[test]
    fn reads_any_bytes_as_the_general_path_does(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
        check_read(&Native::new(), &bytes)?;
    }
}

#[test]
fn the_benchmark_post_takes_the_fast_path_both_ways() {
    let mut params = Hash::new();
    params.insert("seq", 7);
    params.insert("name", "hello world");
    params.insert(
        "vals",
        Value::Array(vec![Value::Int(1), Value::Int(2), Value::Int(3)]),
    );
    let message = Message::call(
        "poe://Bench/bench/echo",
        Value::Hash(params),
        HashForm::new("Client", "driver", "answer"),
    );
    let native = Native::new();
    let mut bytes = Vec::new();
    message.freeze_native(&native, &mut bytes).unwrap().unwrap();
    let mut expected = Vec::new();
    native.freeze(&message.to_value(), &mut expected).unwrap();
    assert_eq!(bytes, expected);
    assert_eq!(Message::thaw_native(&native, &bytes), Some(message));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// Reading messages one after another through one channel's caller
    /// cache gives each what reading it alone gives, and a caller that
    /// repeats is shared.
    #[test]
    fn a_run_of_messages_reads_as_each_alone(
        messages in prop::collection::vec(arb_message(), 1..6),
        repeat in any::<bool>(),
        small in any::<bool>(),
        recycle in any::<bool>(),
    ) {
        let native = if small { Native::with_limits(small_limits()) } else { Native::new() };
        let mut callers = LastRead::default();
        let mut shared = SharedCallers::default();
        for message in run_of(&messages, repeat) {
            let mut bytes = Vec::new();
            Native::new().freeze(&message.to_value(), &mut bytes).unwrap();
            let alone = Message::thaw_native(&native, &bytes);
            let in_run = Message::thaw_native_sharing(&native, &bytes, &mut callers);
            prop_assert_eq!(in_run.as_deref(), alone.as_ref());
            shared.check(in_run.as_ref().and_then(|m| m.caller.clone()))?;
            // The next message is read into this one's box, given back.
            if let Some(handled) = in_run.filter(|_| recycle) {
                handled.recycle();
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// RSVP hashes that share parts with the one before (a ClientLite's:
    /// the same kernel and session, another state), or lack some, read in
    /// a run as each alone.
    #[test]
    fn rsvps_sharing_parts_read_in_a_run_as_each_alone(
        rsvps in prop::collection::vec(
            (
                prop::sample::select(vec!["Client1", "Client2", ""]),
                prop::sample::select(vec!["IKCLite", "x"]),
                "response[0-9]{1,3}",
                prop::array::uniform3(any::<bool>()),
            ),
            1..8,
        ),
        recycle in any::<bool>(),
    ) {
        let native = Native::new();
        let mut callers = LastRead::default();
        for (kernel, session, state, given) in &rsvps {
            let mut rsvp = Hash::new();
            let parts = [("kernel", *kernel), ("session", *session), ("state", state.as_str())];
            for ((key, part), given) in parts.into_iter().zip(given) {
                if *given {
                    rsvp.insert(key, part);
                }
            }
            let mut message = Hash::new();
            message.insert("event", "poe://Server/bench/echo");
            message.insert("params", Value::from(1));
            message.insert("rsvp", Value::Hash(rsvp));
            let mut bytes = Vec::new();
            native.freeze(&Value::Hash(message), &mut bytes).unwrap();
            let alone = Message::thaw_native(&native, &bytes);
            prop_assert!(alone.is_some());
            let in_run = Message::thaw_native_sharing(&native, &bytes, &mut callers);
            prop_assert_eq!(in_run.as_deref(), alone.as_ref());
            if let Some(handled) = in_run.filter(|_| recycle) {
                handled.recycle();
            }
        }
    }
}

/// `messages` in order, each three times when `repeat` (a channel keeps
/// what it read twice in a row, and steps over it the third time).
pub(super) fn run_of(messages: &[Message], repeat: bool) -> impl Iterator<Item = &Message> {
    messages
        .iter()
        .flat_map(move |m| std::iter::repeat_n(m, 1 + 2 * usize::from(repeat)))
}

/// Checks that a caller read again in a run is the copy read last.
#[derive(Default)]
pub(super) struct SharedCallers(Option<Arc<CallerInfo>>);

impl SharedCallers {
    pub(super) fn check(&mut self, caller: Option<Arc<CallerInfo>>) -> Result<(), TestCaseError> {
        if let (Some(a), Some(b)) = (&caller, &self.0) {
            if a == b {
                prop_assert!(Arc::ptr_eq(a, b));
            }
        }
        if caller.is_some() {
            self.0 = caller;
        }
        Ok(())
    }
}

#[test]
fn a_repeated_caller_is_read_once_and_shared() {
    let native = Native::new();
    let mut callers = LastRead::default();
    let caller = CallerInfo::new("Client", "pinger", "go", "src/main.rs", 12);
    let read = |seq: i64, caller: &CallerInfo, callers: &mut LastRead| {
        let message = Message::post("poe://S/s/st", seq).with_caller(caller.clone());
        let mut bytes = Vec::new();
        message.freeze_native(&native, &mut bytes).unwrap().unwrap();
        let back = Message::thaw_native_sharing(&native, &bytes, callers)
            .map(|m| *m)
            .unwrap();
        assert_eq!(back, message);
        back.caller.unwrap()
    };
    let first = read(1, &caller, &mut callers);
    let second = read(2, &caller, &mut callers);
    assert!(Arc::ptr_eq(&first, &second));
    let other = CallerInfo::new("Client", "pinger", "go", "src/main.rs", 13);
    let third = read(3, &other, &mut callers);
    assert_eq!(*third, other);
    assert!(!Arc::ptr_eq(&first, &third));
}

#[test]
fn a_caller_sent_again_is_written_as_the_first_time() {
    let native = Native::new();
    let mut sent = LastWritten::default();
    let caller = Arc::new(CallerInfo::new("Client", "pinger", "go", "src/main.rs", 12));
    let other = Arc::new(CallerInfo::new("Client", "pinger", "go", "src/main.rs", 13));
    for (seq, caller) in [&caller, &caller, &other, &caller].into_iter().enumerate() {
        let message = Message::post("poe://S/s/st", seq as i64).with_caller(Arc::clone(caller));
        let mut shared = vec![1, 2];
        message
            .freeze_native_sharing(&native, &mut shared, &mut sent)
            .unwrap()
            .unwrap();
        let mut alone = vec![1, 2];
        message.freeze_native(&native, &mut alone).unwrap().unwrap();
        assert_eq!(shared, alone);
    }
}

/// The `event`, `from` and `rsvp` hashes a channel reads again and again
/// are stepped over once kept, and read afresh when they change; each
/// message reads as it does alone, whatever the limits.
#[test]
fn repeated_specifier_hashes_are_kept_and_changed_ones_read_afresh() {
    let spec = |k: &str, s: &str, st: &str| HashForm::new(k, s, st);
    let long = "k".repeat(300);
    let mut run = Vec::new();
    for i in 0..4 {
        // The same from and rsvp, as a kernel client sends them.
        run.push(
            Message::call(
                spec("Srv", "bench", "echo"),
                Value::from(i),
                spec("Cli", "me", "answer"),
            )
            .with_from(spec("Cli", "me", "IKC:proxy")),
        );
    }
    for i in 0..4 {
        // An RSVP that changes every time, as ClientLite's does.
        run.push(
            Message::call(
                spec("Srv", "bench", "echo"),
                Value::from(i),
                spec("Lite", "IKC", &format!("response{i}")),
            )
            .with_from(spec("Lite", "IKC", "")),
        );
    }
    // Answers: the same event hash, then one too long to keep.
    for i in 0..3 {
        run.push(Message::post(spec("Cli", "me", "answer"), Value::from(i)));
    }
    run.push(Message::post(spec(&long, "me", "answer"), Value::from(9)));
    run.push(Message::post(spec(&long, "me", "answer"), Value::from(10)));
    run.push(Message::post(spec("Cli", "me", "answer"), Value::from(11)));
    for (native, roomy) in [
        (Native::new(), true),
        (Native::with_limits(small_limits()), false),
    ] {
        let mut callers = LastRead::default();
        let mut rsvp_rooms = Vec::new();
        for message in &run {
            let mut bytes = Vec::new();
            Native::new()
                .freeze(&message.to_value(), &mut bytes)
                .unwrap();
            let alone = Message::thaw_native(&native, &bytes);
            let in_run = Message::thaw_native_sharing(&native, &bytes, &mut callers).map(|m| *m);
            assert_eq!(in_run, alone);
            if alone.is_some() {
                assert_eq!(in_run.as_ref(), Some(message));
            }
            if let Some(rsvp) = in_run.as_ref().and_then(|m| m.rsvp.as_ref()) {
                rsvp_rooms.push(Arc::as_ptr(rsvp));
            }
        }
        if roomy {
            // The answer's event hash is kept, read again after the long
            // one (which was not).
            let kept = callers
                .specs
                .event
                .as_deref()
                .expect("an event hash is noted");
            assert_eq!(kept.form.as_deref(), Some(&spec("Cli", "me", "answer")));
            // ClientLite's RSVP, which changed every time, was read into
            // the room of the one before (no message held it any more).
            let rsvp = callers.specs.rsvp.as_deref().expect("an rsvp is noted");
            assert_eq!(
                rsvp.form.as_deref(),
                Some(&spec("Lite", "IKC", "response3"))
            );
            assert_eq!(rsvp_rooms.len(), 8);
            assert!(
                rsvp_rooms.windows(2).all(|w| w[0] == w[1]),
                "{rsvp_rooms:?}"
            );
        }
    }
}

#[test]
fn a_hash_a_message_still_holds_is_not_rewritten() {
    let native = Native::new();
    let mut callers = LastRead::default();
    let read = |state: &str, callers: &mut LastRead| {
        let message = Message::call("poe://S/s/st", 1, HashForm::new("Lite", "IKC", state));
        let mut bytes = Vec::new();
        message.freeze_native(&native, &mut bytes).unwrap().unwrap();
        Message::thaw_native_sharing(&native, &bytes, callers).unwrap()
    };
    let first = read("response0", &mut callers);
    let second = read("response1", &mut callers);
    assert_eq!(first.rsvp.as_deref().unwrap().state, "response0");
    assert_eq!(second.rsvp.as_deref().unwrap().state, "response1");
    let third = read("response1", &mut callers);
    assert!(Arc::ptr_eq(
        second.rsvp.as_ref().unwrap(),
        third.rsvp.as_ref().unwrap()
    ));
}

#[test]
fn a_repeated_text_event_is_shared_and_a_changed_one_read_afresh() {
    let long = format!("poe://S/s/{}", "x".repeat(300));
    let events = [
        "poe://S/s/sink",
        "poe://S/s/sink",
        "poe://S/s/other",
        "poe://S/s/sink",
        long.as_str(),
        long.as_str(),
        "poe://S/s/sink",
    ];
    for (native, roomy) in [
        (Native::new(), true),
        (Native::with_limits(small_limits()), false),
    ] {
        let mut callers = LastRead::default();
        let mut last: Option<Arc<str>> = None;
        for (i, event) in events.iter().enumerate() {
            let message = Message::post(*event, Value::from(i));
            let mut bytes = Vec::new();
            message.freeze_native(&native, &mut bytes).unwrap().unwrap();
            let alone = Message::thaw_native(&native, &bytes);
            let in_run = Message::thaw_native_sharing(&native, &bytes, &mut callers).map(|m| *m);
            assert_eq!(in_run, alone);
            let Some(read) = in_run else { continue };
            assert_eq!(read, message);
            let MessageTarget::Text(text) = &read.event else {
                panic!("a text event: {read:?}")
            };
            if let Some(last) = &last
                && **last == **text
            {
                // The same text as the message before: shared, unless too
                // long to keep.
                assert_eq!(Arc::ptr_eq(last, text), text.len() < 256, "{text}");
            }
            last = Some(Arc::clone(text));
        }
        if roomy {
            let kept = callers.native_event.as_deref().expect("an event is noted");
            assert_eq!(&*kept.text, "poe://S/s/sink");
        }
    }
}

/// Specifier hashes written again are copied from the last time: the
/// bytes are those of each message frozen alone, when they repeat, when
/// they change (a state that empties, a kernel that grows) and when they
/// are too long to keep.
/// The same shared hash written again is known by pointer (and held
/// only then); a hash that changes every time is not held, so the reader
/// can rewrite the one it read in place.
#[test]
fn a_shared_hash_is_held_only_once_written_twice() {
    let native = Native::new();
    let mut sent = LastWritten::default();
    let a = Arc::new(HashForm::new("Cli", "me", "answer"));
    let b = Arc::new(HashForm::new("Cli", "me", "other"));
    let a_again = Arc::new(HashForm::clone(&a));
    let write = |to: &Arc<HashForm>, sent: &mut LastWritten| {
        let message = Message::post(Arc::clone(to), 1);
        let mut shared = Vec::new();
        message
            .freeze_native_sharing(&native, &mut shared, sent)
            .unwrap()
            .unwrap();
        let mut alone = Vec::new();
        message.freeze_native(&native, &mut alone).unwrap().unwrap();
        assert_eq!(shared, alone, "{message:?}");
    };
    write(&a, &mut sent);
    assert_eq!(Arc::strong_count(&a), 1, "written once: not held");
    write(&a, &mut sent);
    assert_eq!(Arc::strong_count(&a), 2, "written twice: held");
    write(&a_again, &mut sent);
    write(&a, &mut sent);
    write(&b, &mut sent);
    assert_eq!(Arc::strong_count(&a), 1, "another hash written: let go");
    assert_eq!(Arc::strong_count(&a_again), 1);
    assert_eq!(Arc::strong_count(&b), 1);
}

#[test]
fn specifier_hashes_sent_again_are_written_as_the_first_time() {
    let native = Native::new();
    let mut sent = LastWritten::default();
    let spec = |k: &str, s: &str, st: &str| HashForm::new(k, s, st);
    let long = "k".repeat(300);
    let froms = [
        spec("Cli", "me", "IKC:proxy"),
        spec("Cli", "me", "IKC:proxy"),
        spec("Cli", "me", ""),
        spec("Cli-longer-name", "me", ""),
        spec(&long, "me", ""),
        spec(&long, "me", ""),
        spec("Cli", "me", "IKC:proxy"),
    ];
    for (seq, from) in froms.iter().enumerate() {
        let message = Message::call(
            spec("Srv", "bench", "echo"),
            seq as i64,
            spec("Cli", "me", &format!("answer{}", seq % 2)),
        )
        .with_from(from.clone());
        let answer = Message::post(spec("Cli", "me", "answer"), seq as i64).with_from(from.clone());
        for message in [message, answer] {
            let mut shared = vec![7];
            message
                .freeze_native_sharing(&native, &mut shared, &mut sent)
                .unwrap()
                .unwrap();
            let mut alone = vec![7];
            message.freeze_native(&native, &mut alone).unwrap().unwrap();
            assert_eq!(shared, alone, "{message:?}");
        }
    }
}

#[test]
fn a_recycled_box_holds_the_next_message_read() {
    let native = Native::new();
    let mut callers = LastRead::default();
    let read = |callers: &mut LastRead, message: &Message| {
        let mut bytes = Vec::new();
        Native::new()
            .freeze(&message.to_value(), &mut bytes)
            .unwrap();
        Message::thaw_native_sharing(&native, &bytes, callers).unwrap()
    };
    let mut extra = Message::post("poe://K/s/first", Value::from(1));
    extra.extra.insert("x", 1);
    extra.wantarray = Some(true);
    let first = read(&mut callers, &extra);
    let room: *const Message = &*first;
    first.recycle();
    let second = read(
        &mut callers,
        &Message::post("poe://K/s/second", Value::from(2)),
    );
    assert!(std::ptr::eq(&*second, room), "built in the recycled box");
    // Nothing of the first message is left in it.
    assert_eq!(*second, Message::post("poe://K/s/second", Value::from(2)));
}
