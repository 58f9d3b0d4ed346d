//! Rust to Rust: a client and a server channel pumping bytes to each other.

use std::sync::Arc;

use ikc_freezer::{FreezeError, Freezer, NATIVE, Registry, STORABLE, ThawError, Value};
use ikc_specifier::HashForm;

use super::limits::{PROTOCOL_PAIRS, configs, sample_messages};
use super::util::{Pair, codec, registry};
use crate::{ChannelEvent, FrameError, Message, MessageError, Protocol};

fn messages(events: &[ChannelEvent]) -> Vec<Message> {
    events
        .iter()
        .filter_map(|e| match e {
            ChannelEvent::Message(m) => Some(Message::clone(m)),
            _ => None,
        })
        .collect()
}

#[test]
fn rust_peers_agree_on_the_native_codec_and_exchange_messages_both_ways() {
    let standard = Registry::standard();
    assert_eq!(standard.names()[0], NATIVE);
    for (cp, sp) in PROTOCOL_PAIRS {
        let (mut c, mut s) = configs(cp, sp);
        c.freezers = standard.clone();
        s.freezers = standard.clone();
        let mut pair = Pair::new(c, s);
        // Queued before negotiation: they go out right after it, in order.
        let early = sample_messages();
        for m in &early {
            pair.client.send(m).unwrap();
            pair.server.send(m).unwrap();
        }
        pair.drive().unwrap();
        assert_eq!(pair.client.peer().unwrap().freezer, NATIVE, "{cp:?}/{sp:?}");
        assert_eq!(pair.server.peer().unwrap().freezer, NATIVE, "{cp:?}/{sp:?}");
        let late = Message::call(
            HashForm::new("s-id", "test", "echo"),
            Value::from(vec![
                // The native codec keeps what Perl's codecs turn into strings.
                Value::Float(2.5),
                Value::Bool(true),
                Value::UInt(u64::MAX),
                Value::from("x\u{263a}y"),
                Value::bytes(vec![0, 255]),
            ]),
            HashForm::new("c-id", "me", "reply"),
        );
        pair.client.send(&late).unwrap();
        pair.server.send(&late).unwrap();
        pair.drive().unwrap();
        let mut expected = early.clone();
        expected.push(late);
        assert_eq!(messages(&pair.server_events), expected);
        assert_eq!(messages(&pair.client_events), expected);
        assert!(matches!(pair.client_events[0], ChannelEvent::Negotiated(_)));
    }
}

#[test]
fn a_rust_server_without_the_native_codec_makes_the_client_fall_back_as_perl_does() {
    let (mut c, s) = configs(Protocol::Ikc0, Protocol::Ikc0);
    c.freezers = registry(&[NATIVE, STORABLE]);
    let mut pair = Pair::new(c, s);
    pair.drive().unwrap();
    assert_eq!(pair.client.peer().unwrap().freezer, STORABLE);
    assert_eq!(pair.server.peer().unwrap().freezer, STORABLE);
}

#[test]
fn the_servers_first_frames_may_share_a_read_with_up() {
    let (c, s) = configs(Protocol::Ikc, Protocol::Ikc);
    let mut pair = Pair::new(c, s);
    pair.server.send(&sample_messages()[0]).unwrap();
    pair.drive().unwrap();
    let sent = String::from_utf8_lossy(&pair.server_sent).into_owned();
    assert!(
        sent.contains("UP\r\n") && !sent.ends_with("UP\r\n"),
        "{sent:?}"
    );
    assert_eq!(messages(&pair.client_events), &sample_messages()[..1]);
}

/// Storable, except that it refuses to freeze floats.
#[derive(Debug)]
struct NoFloats(Arc<dyn Freezer>);

impl Freezer for NoFloats {
    fn name(&self) -> &str {
        self.0.name()
    }

    fn freeze(&self, value: &Value, out: &mut Vec<u8>) -> Result<(), FreezeError> {
        if matches!(
            value.as_hash().and_then(|h| h.get("params")),
            Some(Value::Float(_))
        ) {
            return Err(FreezeError::Unsupported {
                codec: "NoFloats".into(),
                what: "a float".into(),
            });
        }
        self.0.freeze(value, out)
    }

    fn thaw(&self, bytes: &[u8]) -> Result<Value, ThawError> {
        self.0.thaw(bytes)
    }
}

#[test]
fn a_message_that_cannot_be_frozen_is_given_back_and_the_channel_goes_on() {
    let (mut c, s) = configs(Protocol::Ikc0, Protocol::Ikc0);
    let mut freezers = registry(&[]);
    freezers.register(Arc::new(NoFloats(codec(STORABLE))));
    c.freezers = freezers;
    let mut pair = Pair::new(c, s);
    let float = Message::post("poe:/a/b", 1.5);
    pair.client.send(&float).unwrap();
    pair.client.send(&sample_messages()[0]).unwrap();
    pair.drive().unwrap();
    assert!(pair.client_events.contains(&ChannelEvent::SendFailed {
        value: float.to_value(),
        error: FreezeError::Unsupported {
            codec: "NoFloats".into(),
            what: "a float".into()
        }
    }));
    assert!(matches!(
        pair.client.send(&float),
        Err(crate::ChannelError::Freeze(_))
    ));
    pair.client.send(&sample_messages()[1]).unwrap();
    pair.drive().unwrap();
    assert_eq!(messages(&pair.server_events), &sample_messages()[..2]);
}

#[test]
fn frames_that_are_not_messages_are_reported_and_reading_goes_on() {
    let (c, s) = configs(Protocol::Ikc0, Protocol::Ikc0);
    let mut pair = Pair::new(c, s);
    pair.drive().unwrap();
    pair.client.send_value(&Value::from(vec![1, 2])).unwrap();
    pair.drive().unwrap();
    pair.server.handle_input(b"3\0\xff\xff\xff").unwrap();
    pair.client.send(&sample_messages()[0]).unwrap();
    pair.drive().unwrap();
    let events = &pair.server_events[1..];
    assert_eq!(
        events[0],
        ChannelEvent::BadFrame(FrameError::NotAMessage {
            value: Value::from(vec![1, 2]),
            source: MessageError::NotAHash { found: "an array" }
        })
    );
    assert!(
        matches!(&events[1], ChannelEvent::BadFrame(FrameError::Thaw { freezer, len: 3, .. }) if freezer == STORABLE)
    );
    assert_eq!(
        events[2],
        ChannelEvent::Message(Box::new(sample_messages()[0].clone()))
    );
}

#[test]
fn an_idle_channel_gives_back_the_room_negotiation_took_and_messages_still_flow() {
    for (cp, sp) in PROTOCOL_PAIRS {
        let (c, s) = configs(cp, sp);
        let mut pair = Pair::new(c, s);
        pair.drive().unwrap();
        assert!(matches!(
            pair.server_events[..],
            [ChannelEvent::Negotiated(_)]
        ));
        // Nothing queued after `Negotiated`: the queue holds no allocation.
        assert_eq!(pair.server.events.capacity(), 0, "{cp:?}/{sp:?}");
        assert_eq!(pair.client.events.capacity(), 0, "{cp:?}/{sp:?}");
        let post = Message::post("poe://s-id/test/here", Value::from(7));
        pair.client.send(&post).unwrap();
        pair.drive().unwrap();
        assert_eq!(messages(&pair.server_events), [post]);
    }
}

#[test]
fn frames_are_thawed_one_at_a_time_as_they_are_polled_and_a_burst_room_is_given_back() {
    let (c, s) = configs(PROTOCOL_PAIRS[0].0, PROTOCOL_PAIRS[0].1);
    let mut pair = Pair::new(c, s);
    pair.drive().unwrap();
    let posts: Vec<Message> = (0..3)
        .map(|i| Message::post("poe://s-id/test/here", Value::from(i)))
        .chain([Message::post(
            "poe://s-id/test/here",
            Value::from("x".repeat(3 * super::super::channel::UNREAD_ROOM_KEPT)),
        )])
        .collect();
    for post in &posts {
        pair.client.send(post).unwrap();
    }
    let mut bytes = Vec::new();
    pair.client.poll_transmit(&mut bytes).unwrap();
    pair.server.handle_input(&bytes).unwrap();
    // Framed, not thawed: nothing is built until it is polled.
    assert!(pair.server.events.is_empty());
    assert_eq!(pair.server.unread.ends.len(), posts.len());
    for (i, want) in posts.iter().enumerate() {
        match pair.server.poll_event() {
            Some(ChannelEvent::Message(got)) => assert_eq!(*got, *want),
            other => panic!("{other:?}"),
        }
        assert_eq!(pair.server.unread.ends.len(), posts.len() - i - 1);
    }
    assert!(pair.server.poll_event().is_none());
    // The burst's room, more than is kept, went back.
    assert_eq!(pair.server.unread.bytes.capacity(), 0);
}

#[test]
fn frames_before_a_fatal_header_in_the_same_read_are_still_polled() {
    let (c, s) = configs(PROTOCOL_PAIRS[0].0, PROTOCOL_PAIRS[0].1);
    let mut pair = Pair::new(c, s);
    pair.drive().unwrap();
    let post = Message::post("poe://s-id/test/here", Value::from(1));
    pair.client.send(&post).unwrap();
    let mut bytes = Vec::new();
    pair.client.poll_transmit(&mut bytes).unwrap();
    // A frame header that is not a length.
    bytes.extend_from_slice(b"x\0");
    assert!(pair.server.handle_input(&bytes).is_err());
    match pair.server.poll_event() {
        Some(ChannelEvent::Message(got)) => assert_eq!(*got, post),
        other => panic!("{other:?}"),
    }
    assert!(pair.server.poll_event().is_none());
}
