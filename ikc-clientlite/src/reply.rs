//! What to make of a message that arrives while we wait for a reply: the
//! rules of Perl's ClientLite (`_response`), as a pure function.

use std::borrow::Cow;

use ikc_channel::{Message, MessageTarget};
use ikc_freezer::Value;
use ikc_specifier::{HashForm, PartName, Specifier};

use crate::connection::{Incoming, target_name};
use crate::error::LiteError;

/// The session ClientLite calls itself: replies and posts to "our sender"
/// come to `poe://NAME/IKCLite/STATE`.
pub const SESSION: &str = "IKCLite";

/// The session that answers `ping` (`IKC/pong`).
pub const IKC_SESSION: &str = "IKC";

/// What a message means to the wait in progress.
#[derive(Debug)]
pub(crate) enum Verdict {
    /// The reply waited for: its `params`.
    Reply(Value),
    /// The wait ends with this error.
    Fail(LiteError),
    /// Not for this wait: dropped, with this warning.
    Discard(String),
}

/// Sort one arrival, waiting for `expecting`, in Perl's order:
///
/// 1. a frame that is not a message ends the wait (Perl's thaw dies);
/// 2. an error report (`is_error`) ends the wait with what it says,
///    whoever it is addressed to;
/// 3. a message for a session other than `IKCLite` or `IKC` is dropped
///    with a warning;
/// 4. so is one for another state of those sessions (a reply to an
///    earlier request that timed out, a post to another state);
/// 5. the rest is the reply. The kernel part is not compared, as Perl
///    does not compare it.
pub(crate) fn classify(incoming: Incoming, expecting: &HashForm) -> Verdict {
    let mut message = match incoming {
        Incoming::BadFrame(error) => return Verdict::Fail(LiteError::Thaw(error)),
        Incoming::Message(message) => message,
    };
    if message.is_error {
        return Verdict::Fail(LiteError::remote(&message.params));
    }
    let Some((session, state)) = session_and_state(&message) else {
        return Verdict::Discard(format!(
            "dropping a message for {:?}, which is not a specifier",
            target_name(&message)
        ));
    };
    if session != SESSION && session != IKC_SESSION {
        return Verdict::Discard(format!(
            "dropping a message for {} (session {session:?} is not ours)",
            target_name(&message)
        ));
    }
    if session != expecting.session.as_str() || state != expecting.state.as_str() {
        return Verdict::Discard(format!(
            "dropping a message for {} while waiting for {}",
            target_name(&message),
            expecting.ikc_name()
        ));
    }
    drop((session, state));
    let params = std::mem::take(&mut message.params);
    // The next message read on this thread is built in this box.
    message.recycle();
    Verdict::Reply(params)
}

fn session_and_state(message: &Message) -> Option<(Cow<'_, str>, Cow<'_, str>)> {
    match &message.event {
        MessageTarget::Hash(hash) => Some((Cow::from(&hash.session), Cow::from(&hash.state))),
        MessageTarget::Text(text) => {
            let spec = Specifier::parse(text).ok()?;
            Some((
                Cow::from(spec.part(PartName::Session)),
                Cow::from(spec.part(PartName::State)),
            ))
        }
    }
}

/// A call's value as a list, as Perl's ClientLite returns it in list
/// context: an array's elements, or the one value.
pub(crate) fn into_list(value: Value) -> Vec<Value> {
    match value {
        Value::Array(items) => items,
        other => vec![other],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn incoming(event: impl Into<MessageTarget>, params: impl Into<Value>) -> Incoming {
        Incoming::Message(Box::new(Message::post(event, params)))
    }

    fn waiting() -> HashForm {
        HashForm::new("Me", SESSION, "response3")
    }

    #[test]
    fn the_reply_is_taken_by_session_and_state() {
        let reply = incoming(HashForm::new("Me", SESSION, "response3"), 42);
        assert!(matches!(
            classify(reply, &waiting()),
            Verdict::Reply(Value::Int(42))
        ));
        // Perl does not look at the kernel, nor at the form of the target.
        let reply = incoming("poe://Someone/IKCLite/response3", "x");
        assert!(matches!(classify(reply, &waiting()), Verdict::Reply(v) if v == Value::from("x")));
    }

    #[test]
    fn other_states_and_sessions_are_dropped() {
        let stale = incoming(HashForm::new("Me", SESSION, "response2"), 1);
        let Verdict::Discard(why) = classify(stale, &waiting()) else {
            panic!("a stale reply must be dropped");
        };
        assert!(why.contains("poe://Me/IKCLite/response2"), "{why}");
        assert!(why.contains("poe://Me/IKCLite/response3"), "{why}");
        let pong = incoming(HashForm::new("Me", IKC_SESSION, "pong"), "PONG");
        assert!(matches!(classify(pong, &waiting()), Verdict::Discard(_)));
        let foreign = incoming(HashForm::new("Me", "other", "response3"), 1);
        let Verdict::Discard(why) = classify(foreign, &waiting()) else {
            panic!("a message for another session must be dropped");
        };
        assert!(why.contains("\"other\""), "{why}");
        let garbage = incoming("poe://bad kernel!/x", 1);
        assert!(matches!(classify(garbage, &waiting()), Verdict::Discard(_)));
    }

    #[test]
    fn an_error_report_ends_the_wait_whoever_it_is_for() {
        let mut report = Message::post(
            HashForm::new("Me", IKC_SESSION, "remote_error"),
            vec![
                Value::bytes("Session 'x' is not available"),
                Value::bytes("Inet"),
                Value::bytes("check"),
            ],
        );
        report.is_error = true;
        match classify(Incoming::Message(Box::new(report)), &waiting()) {
            Verdict::Fail(LiteError::Remote {
                message,
                kernel,
                operation,
            }) => {
                assert_eq!(message, "Session 'x' is not available");
                assert_eq!(kernel, "Inet");
                assert_eq!(operation, "check");
            }
            other => panic!("expected a remote error, got {other:?}"),
        }
        // An error report of another shape still says what it holds.
        let mut odd = Message::post("poe://Me/elsewhere/x", "it broke");
        odd.is_error = true;
        match classify(Incoming::Message(Box::new(odd)), &waiting()) {
            Verdict::Fail(LiteError::Remote { message, .. }) => assert_eq!(message, "it broke"),
            other => panic!("expected a remote error, got {other:?}"),
        }
    }

    #[test]
    fn lists_are_arrays_or_one_value() {
        assert_eq!(
            into_list(Value::from(vec![1, 2])),
            [Value::Int(1), Value::Int(2)]
        );
        assert_eq!(into_list(Value::Int(7)), [Value::Int(7)]);
        assert_eq!(into_list(Value::Undef), [Value::Undef]);
    }
}
