//! The Storable fast path for messages gives exactly what the general
//! path (`to_value` + freeze, thaw + `from_value`) gives, on messages, on
//! any hash, and on hostile bytes (truncated, altered, with
//! back-references), alone and in a run sharing a caller.

use std::sync::Arc;

use ikc_freezer::{Freezer, Hash, Storable, Value};
use ikc_specifier::HashForm;
use proptest::prelude::*;

use super::native_fast::{SharedCallers, arb_message, arb_value, run_of, small_limits};
use crate::message::{LastRead, LastWritten};
use crate::{CallerInfo, Message};

fn storable(small: bool) -> Storable {
    if small {
        Storable::with_limits(small_limits())
    } else {
        Storable::new()
    }
}

/// What the general path makes of `bytes`.
fn general(storable: &Storable, bytes: &[u8]) -> Option<Message> {
    let value = storable.thaw(bytes).ok()?;
    Message::try_from(value).ok()
}

/// The fast path alone.
fn fast(storable: &Storable, bytes: &[u8]) -> Option<Message> {
    Message::thaw_storable_sharing(storable, bytes, &mut LastRead::default()).map(|m| *m)
}

/// The fast path, if it reads `bytes`, agrees with the general path.
fn check_read(storable: &Storable, bytes: &[u8]) -> Result<(), TestCaseError> {
    if let Some(fast) = fast(storable, bytes) {
        prop_assert_eq!(Some(fast), general(storable, bytes));
    }
    Ok(())
}

/// The general image of `message`, if Storable can hold it.
fn image(message: &Message) -> Option<Vec<u8>> {
    let mut bytes = Vec::new();
    Storable::new()
        .freeze(&message.to_value(), &mut bytes)
        .ok()
        .map(|()| bytes)
}

/// `bytes` (an image whose root is a hash) with one more entry, `key`,
/// whose value is a back-reference to object `tag`, as Perl writes a
/// value reached twice.
fn with_back_reference(bytes: &[u8], tag: u32, key: &[u8]) -> Vec<u8> {
    let mut out = bytes.to_vec();
    let count = u32::from_be_bytes([out[3], out[4], out[5], out[6]]);
    out[3..7].copy_from_slice(&(count + 1).to_be_bytes());
    out.push(0); // SX_OBJECT
    out.extend_from_slice(&tag.to_be_bytes());
    out.extend_from_slice(&(key.len() as u32).to_be_bytes());
    out.extend_from_slice(key);
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn writes_the_bytes_of_the_message_hash(message in arb_message(), small in any::<bool>()) {
        let storable = storable(small);
        let mut general_bytes = Vec::new();
        let general_result = storable.freeze(&message.to_value(), &mut general_bytes);
        let mut fast_bytes = vec![7];
        match message.freeze_storable(&storable, &mut fast_bytes) {
            None => prop_assert!(!message.extra.is_empty()),
            Some(result) => {
                prop_assert_eq!(&result, &general_result);
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
        let Some(bytes) = image(&message) else { return Ok(()) };
        let storable = storable(small);
        check_read(&storable, &bytes)?;
        if !small && message.extra.is_empty() {
            // An ordinary message always takes the fast path.
            prop_assert!(fast(&storable, &bytes).is_some());
        }
    }

    #[test]
    fn reads_any_hash_as_the_general_path_does(value in arb_value(), small in any::<bool>()) {
        let mut bytes = Vec::new();
        if Storable::new().freeze(&value, &mut bytes).is_ok() {
            check_read(&storable(small), &bytes)?;
        }
    }

    #[test]
    fn reads_any_bytes_as_the_general_path_does(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
        check_read(&Storable::new(), &bytes)?;
        let mut image = vec![0x05, 0x0b, 0x03];
        image.extend_from_slice(&bytes);
        check_read(&Storable::new(), &image)?;
    }

    #[test]
    fn reads_damaged_messages_as_the_general_path_does(
        message in arb_message(),
        cut in any::<prop::sample::Index>(),
        flip in any::<prop::sample::Index>(),
        byte in any::<u8>(),
        tag in 0u32..40,
    ) {
        let Some(bytes) = image(&message) else { return Ok(()) };
        let storable = Storable::new();
        check_read(&storable, &bytes[..cut.index(bytes.len())])?;
        let mut altered = bytes.clone();
        altered[flip.index(bytes.len())] = byte;
        check_read(&storable, &altered)?;
        check_read(&storable, &with_back_reference(&bytes, tag, b"again"))?;
        check_read(&storable, &with_back_reference(&bytes, tag, b"params"))?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// Reading messages one after another through one channel's caller
    /// cache gives each what reading it alone gives (stepping over a
    /// repeated caller's bytes numbers their objects for the
    /// back-references after them), and a caller that repeats is shared.
    #[test]
    fn a_run_of_messages_reads_as_each_alone(
        messages in prop::collection::vec(arb_message(), 1..6),
        repeat in any::<bool>(),
        small in any::<bool>(),
        tag in prop::option::of(0u32..40),
    ) {
        let storable = storable(small);
        let mut callers = LastRead::default();
        let mut shared = SharedCallers::default();
        for message in run_of(&messages, repeat) {
            let Some(mut bytes) = image(message) else { continue };
            if let Some(tag) = tag {
                bytes = with_back_reference(&bytes, tag, b"again");
            }
            let alone = fast(&storable, &bytes);
            let in_run = Message::thaw_storable_sharing(&storable, &bytes, &mut callers).map(|m| *m);
            prop_assert_eq!(&in_run, &alone);
            if let Some(read) = &in_run {
                prop_assert_eq!(Some(read.clone()), general(&storable, &bytes));
            }
            shared.check(in_run.and_then(|m| m.caller))?;
        }
    }
}

/// The benchmark's post: `{seq, name, vals}` params, with a caller.
fn bench_post(seq: i64, caller: &Arc<CallerInfo>) -> Message {
    let mut params = Hash::new();
    params.insert("seq", seq);
    params.insert("name", "hello world");
    params.insert(
        "vals",
        Value::Array(vec![Value::Int(1), Value::Int(2), Value::Int(3)]),
    );
    Message::post("poe://Bench/bench/sink", Value::Hash(params))
        .with_from(HashForm::new("Client", "driver", ""))
        .with_caller(Arc::clone(caller))
}

#[test]
fn the_benchmark_post_takes_the_fast_path_both_ways() {
    let storable = Storable::new();
    let caller = Arc::new(CallerInfo::new(
        "Client",
        "driver",
        "go",
        "src/oneway.rs",
        157,
    ));
    let other = Arc::new(CallerInfo::new(
        "Client",
        "driver",
        "go",
        "src/oneway.rs",
        158,
    ));
    let mut callers = LastRead::default();
    let mut sent = LastWritten::default();
    let mut kept: Option<Arc<CallerInfo>> = None;
    for (seq, caller) in [&caller, &caller, &other, &caller, &caller]
        .into_iter()
        .enumerate()
    {
        let message = bench_post(seq as i64, caller);
        // Written with the caller's bytes copied when it repeats: the
        // same bytes as the general path's.
        let mut bytes = Vec::new();
        message
            .freeze_storable_sharing(&storable, &mut bytes, &mut sent)
            .unwrap()
            .unwrap();
        assert_eq!(Some(&bytes), image(&message).as_ref());
        let back = Message::thaw_storable_sharing(&storable, &bytes, &mut callers)
            .map(|m| *m)
            .unwrap();
        assert_eq!(back, message);
        // A caller read again is the copy read last.
        let read = back.caller.unwrap();
        if let Some(last) = kept.as_ref().filter(|last| **last == read) {
            assert!(Arc::ptr_eq(last, &read));
        }
        kept = Some(read);
    }
}

#[test]
fn a_message_from_perl_takes_the_fast_path() {
    // What Perl IKC 0.2402's ClientLite sends for
    // `post('poe://Server/pong/ping', 'hi')` (nfreeze of its request hash).
    let mut request = Hash::new();
    request.insert("params", Value::bytes("hi"));
    request.insert("event", Value::bytes("poe://Server/pong/ping"));
    let mut bytes = Vec::new();
    Storable::new()
        .freeze(&Value::Hash(request), &mut bytes)
        .unwrap();
    let message = fast(&Storable::new(), &bytes).unwrap();
    assert_eq!(
        message,
        Message::post("poe://Server/pong/ping", Value::bytes("hi"))
    );
}

/// A text `event` that repeats is stepped over from the third time, one
/// that changes is read afresh, and a back-reference after a stepped-over
/// event still finds its object: each message reads as it does alone.
#[test]
fn a_repeated_text_event_is_kept_and_a_changed_one_read_afresh() {
    let post = |to: &str, n: i64| Message::post(to, Value::from(n));
    let mut run = Vec::new();
    for n in 0..4 {
        run.push(post("poe://Bench/bench/sink", n));
    }
    for n in 0..4 {
        // Two targets taking turns: never kept.
        let to = if n % 2 == 0 {
            "poe://Bench/bench/a"
        } else {
            "poe://Bench/bench/b"
        };
        run.push(post(to, n));
    }
    for n in 0..3 {
        run.push(post("poe://Bench/bench/sink", n));
    }
    // A hash-form event between text ones.
    run.push(post("", 9));
    run.last_mut().unwrap().event = HashForm::new("Bench", "bench", "sink").into();
    run.push(post("poe://Bench/bench/sink", 10));
    for small in [false, true] {
        let storable = storable(small);
        for tag in [None, Some(1)] {
            let mut callers = LastRead::default();
            for message in &run {
                let Some(mut bytes) = image(message) else {
                    continue;
                };
                if let Some(tag) = tag {
                    bytes = with_back_reference(&bytes, tag, b"again");
                }
                let alone = fast(&storable, &bytes);
                let in_run =
                    Message::thaw_storable_sharing(&storable, &bytes, &mut callers).map(|m| *m);
                assert_eq!(in_run, alone, "{message:?}");
                if let Some(read) = &in_run {
                    assert_eq!(Some(read.clone()), general(&storable, &bytes));
                }
            }
        }
    }
}
