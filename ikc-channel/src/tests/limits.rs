//! Limits, timeouts, configuration checks, and garbage at every step of
//! every handshake.

use std::time::{Duration, Instant};

use super::golden::identity;
use super::util::{Dir, Pair, Transcript, registry};
use crate::{
    Channel, ChannelError, ChannelEvent, ClientChannelConfig, ConfigError, Identity, Protocol,
    ProtocolViolation, ServerChannelConfig,
};

pub(super) fn configs(
    client: Protocol,
    server: Protocol,
) -> (ClientChannelConfig, ServerChannelConfig) {
    let mut c = ClientChannelConfig::new(
        identity("c-id", &["Cli", "Two", "127.0.0.1:5"], 11),
        registry(&["IKC::Native", "Storable"]),
    );
    c.protocol = client;
    c.peer_address = Some("localhost:6".into());
    let mut s = ServerChannelConfig::new(
        identity("s-id", &["Srv", "127.0.0.1:6"], 22),
        registry(&["Storable", "POE::Component::IKC::Freezer"]),
    );
    s.protocol = server;
    s.peer_address = Some("127.0.0.1:5".into());
    (c, s)
}

pub(super) const PROTOCOL_PAIRS: [(Protocol, Protocol); 4] = [
    (Protocol::Ikc0, Protocol::Ikc0),
    (Protocol::Ikc, Protocol::Ikc0),
    (Protocol::Ikc0, Protocol::Ikc),
    (Protocol::Ikc, Protocol::Ikc),
];

/// Run a pair to the end of negotiation, recording each transmission as a
/// read of a transcript.
fn recorded(client: ClientChannelConfig, server: ServerChannelConfig) -> (Transcript, Pair) {
    recorded_with(client, server, false)
}

/// [`recorded`], optionally with messages both ways, some queued before
/// negotiation and some sent after it.
pub(super) fn recorded_with(
    client: ClientChannelConfig,
    server: ServerChannelConfig,
    messages: bool,
) -> (Transcript, Pair) {
    let mut pair = Pair::new(client, server);
    if messages {
        for message in sample_messages() {
            pair.client.send(&message).unwrap();
            pair.server.send(&message).unwrap();
        }
    }
    let mut reads = Vec::new();
    let mut sent_late = !messages;
    loop {
        if !sent_late && pair.client.is_negotiated() && pair.server.is_negotiated() {
            sent_late = true;
            for message in sample_messages() {
                pair.server.send(&message).unwrap();
                pair.client.send(&message).unwrap();
            }
        }
        let (to_server, to_client) = (pair.client_sent.len(), pair.server_sent.len());
        if !pair.step().unwrap() {
            break;
        }
        if pair.client_sent.len() > to_server {
            reads.push((Dir::ToServer, pair.client_sent[to_server..].to_vec()));
        }
        if pair.server_sent.len() > to_client {
            reads.push((Dir::ToClient, pair.server_sent[to_client..].to_vec()));
        }
    }
    assert!(pair.client.is_negotiated() && pair.server.is_negotiated());
    let transcript = Transcript {
        name: "pair".into(),
        reads,
    };
    (transcript, pair)
}

/// Messages like those in the Perl captures.
pub(super) fn sample_messages() -> Vec<crate::Message> {
    use ikc_specifier::HashForm;
    vec![
        crate::Message::post("poe://Srv/test/here", 7).with_from(HashForm::new(
            "c-id",
            "me",
            "IKC:proxy",
        )),
        crate::Message::call(
            "poe://Srv/test/echo",
            vec![1, 2],
            HashForm::new("Cli", "me", "reply"),
        ),
        crate::Message::post(
            HashForm::new("Cli", "me", "reply"),
            vec!["x\u{263a}y", "2.5"],
        ),
    ]
}

#[test]
fn every_protocol_pairing_negotiates_and_registers_both_ends() {
    for (cp, sp) in PROTOCOL_PAIRS {
        let (c, s) = configs(cp, sp);
        let (_, pair) = recorded(c, s);
        let (client_peer, server_peer) = (pair.client.peer().unwrap(), pair.server.peer().unwrap());
        let ended_in = if (cp, sp) == (Protocol::Ikc0, Protocol::Ikc0) {
            Protocol::Ikc0
        } else {
            Protocol::Ikc
        };
        assert_eq!(client_peer.protocol, ended_in);
        assert_eq!(client_peer.freezer, "Storable");
        assert_eq!(server_peer.freezer, "Storable");
        let names: Vec<_> = server_peer.names().collect();
        let expected_server_pid = (ended_in == Protocol::Ikc0).then_some(11);
        assert_eq!(server_peer.pid, expected_server_pid);
        match ended_in {
            Protocol::Ikc0 => assert_eq!(names, ["c-id", "Cli", "Two", "127.0.0.1:5"]),
            Protocol::Ikc => assert_eq!(names, ["c-id", "127.0.0.1:5", "Two", "Cli"]),
        }
        let names: Vec<_> = client_peer.names().collect();
        match ended_in {
            Protocol::Ikc0 => assert_eq!(names, ["s-id", "Srv", "127.0.0.1:6", "localhost:6"]),
            Protocol::Ikc => assert_eq!(names, ["s-id", "127.0.0.1:6", "Srv", "localhost:6"]),
        }
    }
}

#[test]
fn garbage_at_every_step_of_every_handshake_is_refused_as_ikc_refuses_it() {
    for (cp, sp) in PROTOCOL_PAIRS {
        let (c, s) = configs(cp, sp);
        let (transcript, clean) = recorded(c.clone(), s.clone());
        for towards in [Dir::ToServer, Dir::ToClient] {
            let reads: Vec<_> = transcript.reads(towards).collect();
            for garbage_at in 0..reads.len() {
                let mut channel = match towards {
                    Dir::ToServer => Channel::server(s.clone(), Instant::now()).unwrap(),
                    Dir::ToClient => Channel::client(c.clone(), Instant::now()).unwrap(),
                };
                let mut sent = Vec::new();
                let mut events = Vec::new();
                for (i, read) in reads.iter().enumerate() {
                    let _ = channel.poll_transmit(&mut sent);
                    if i == garbage_at {
                        let first_phase =
                            matches!(channel.phase(), Some("server_010" | "server_000"));
                        let mut reply = Vec::new();
                        channel.handle_input(b"GARBAGE\r\n").unwrap();
                        let _ = channel.poll_transmit(&mut reply);
                        let expected: &[u8] = if first_phase { b"" } else { b"NOT\r\n" };
                        assert_eq!(reply, expected, "{cp:?}/{sp:?} {towards:?} before read {i}");
                    }
                    channel.handle_input(read).unwrap();
                    events.extend(std::iter::from_fn(|| channel.poll_event()));
                }
                let _ = channel.poll_transmit(&mut sent);
                let (clean_sent, clean_peer) = match towards {
                    Dir::ToServer => (&clean.server_sent, clean.server.peer()),
                    Dir::ToClient => (&clean.client_sent, clean.client.peer()),
                };
                assert_eq!(
                    &sent, clean_sent,
                    "{cp:?}/{sp:?} {towards:?} garbage at {garbage_at}"
                );
                assert_eq!(channel.peer(), clean_peer);
                assert!(matches!(events.as_slice(), [ChannelEvent::Negotiated(_)]));
            }
        }
    }
}

#[test]
fn the_handshake_times_out_by_the_clock_it_is_given() {
    let (c, s) = configs(Protocol::Ikc0, Protocol::Ikc0);
    let mut pair = Pair::new(c, s);
    let start = pair.time;
    assert_eq!(
        pair.server.poll_timeout(),
        Some(start + Duration::from_secs(30))
    );
    assert_eq!(
        pair.client.poll_timeout(),
        Some(start + Duration::from_secs(30))
    );
    assert_eq!(
        pair.advance(Duration::from_millis(29_999)),
        (Ok(()), Ok(()))
    );
    let limit = Duration::from_secs(30);
    let timeout = Err(ChannelError::HandshakeTimeout { limit });
    assert_eq!(
        pair.advance(Duration::from_millis(1)),
        (timeout.clone(), timeout.clone())
    );
    assert_eq!(pair.server.handle_input(b"HELLO\r\n"), timeout);
    assert_eq!(pair.server.poll_timeout(), None);

    let (c, s) = configs(Protocol::Ikc, Protocol::Ikc0);
    let mut pair = Pair::new(c, s);
    pair.drive().unwrap();
    assert_eq!(
        (pair.client.poll_timeout(), pair.server.poll_timeout()),
        (None, None)
    );
    assert_eq!(pair.advance(Duration::from_secs(3600)), (Ok(()), Ok(())));
}

#[test]
fn a_line_over_the_limit_ends_the_channel() {
    let (c, s) = configs(Protocol::Ikc0, Protocol::Ikc0);
    let mut server = Channel::server(s, Instant::now()).unwrap();
    let long = vec![b'A'; 4096];
    server.handle_input(&long).unwrap();
    let too_long = Err(ChannelError::LineTooLong { limit: 4096 });
    assert_eq!(server.handle_input(b"A"), too_long);
    assert_eq!(server.handle_input(b"\r\n"), too_long);
    assert_eq!(server.error(), too_long.as_ref().err());

    let mut client = Channel::client(c, Instant::now()).unwrap();
    let mut line = b"IAM ".to_vec();
    line.extend(vec![b'x'; 5000]);
    assert_eq!(client.handle_input(&line), too_long);
}

#[test]
fn too_many_rejected_lines_end_the_channel() {
    let (c, s) = configs(Protocol::Ikc0, Protocol::Ikc0);
    let mut server = Channel::server(s, Instant::now()).unwrap();
    for _ in 0..16 {
        server.handle_input(b"BOGUS\r\n").unwrap();
    }
    let error = ChannelError::Protocol(ProtocolViolation::TooManyRejectedLines {
        limit: 16,
        phase: "server_010",
        last: "BOGUS".into(),
    });
    assert_eq!(server.handle_input(b"BOGUS\r\n"), Err(error.clone()));
    assert_eq!(server.send(&crate::Message::post("poe:x", 1)), Err(error));

    let mut client = Channel::client(c, Instant::now()).unwrap();
    let _ = client.poll_transmit(&mut Vec::new());
    let nots = "WHAT\r\n".repeat(16);
    client.handle_input(nots.as_bytes()).unwrap();
    let mut sent = Vec::new();
    let _ = client.poll_transmit(&mut sent);
    assert_eq!(sent, "NOT\r\n".repeat(16).as_bytes());
    assert!(matches!(
        client.handle_input(b"WHAT\r\n"),
        Err(ChannelError::Protocol(
            ProtocolViolation::TooManyRejectedLines {
                phase: "client_010",
                ..
            }
        ))
    ));
}

#[test]
fn a_frame_over_the_limit_or_malformed_ends_the_channel() {
    let t = Transcript::load("perl-ikc0-freezer-clientlite.log");
    for (input, error) in [
        (
            &b"16777217\0"[..],
            ChannelError::FrameTooLarge {
                announced: 16_777_217,
                limit: 16 << 20,
            },
        ),
        (
            b"12x",
            ChannelError::BadFrameHeader {
                reason: crate::FrameHeaderError::NotADigit { byte: b'x' },
            },
        ),
    ] {
        let (_, s) = configs(Protocol::Ikc0, Protocol::Ikc0);
        let mut server = Channel::server(s, Instant::now()).unwrap();
        let (setup, _) = t.split(Dir::ToServer);
        server.handle_input(&setup).unwrap();
        assert!(server.is_negotiated());
        assert_eq!(server.handle_input(input), Err(error.clone()));
        assert_eq!(server.handle_input(b"1\0x"), Err(error));
        assert!(!server.is_negotiated());
    }
}

#[test]
fn a_config_that_cannot_be_announced_is_refused() {
    let (c, s) = configs(Protocol::Ikc0, Protocol::Ikc0);
    let mut bad = c.clone();
    bad.identity = Identity::new("has space");
    assert_eq!(
        Channel::client(bad, Instant::now()).unwrap_err(),
        ChannelError::Config(ConfigError::BadKernelName("has space".into()))
    );
    let mut bad = s.clone();
    bad.identity = Identity::new("ok").with_name("a,b");
    assert_eq!(
        Channel::server(bad, Instant::now()).unwrap_err(),
        ChannelError::Config(ConfigError::BadKernelName("a,b".into()))
    );
    let mut bad = s.clone();
    bad.freezers = registry(&[]);
    assert_eq!(
        Channel::server(bad, Instant::now()).unwrap_err(),
        ChannelError::Config(ConfigError::NoFreezer)
    );
    let mut bad = c;
    bad.freezers = registry(&["Storable", "My Codec"]);
    assert_eq!(
        Channel::client(bad, Instant::now()).unwrap_err(),
        ChannelError::Config(ConfigError::BadFreezerName("My Codec".into()))
    );
}

#[test]
fn cr_and_lf_line_ends_work_and_a_split_crlf_does_not_leak_into_frames() {
    let t = Transcript::load("perl-ikc-storable-clientlite.log");
    let mut c = ClientChannelConfig::new(Identity::new("LiteClient"), registry(&["Storable"]));
    c.protocol = Protocol::Ikc;
    let (server_lines, frames) = t.split(Dir::ToClient);
    for ending in ["\r", "\n", "\r\n"] {
        let text = String::from_utf8(server_lines.clone())
            .unwrap()
            .replace("\r\n", ending);
        let mut client = Channel::client(c.clone(), Instant::now()).unwrap();
        // Byte by byte, so that a CRLF's LF comes alone after UP's CR.
        let mut stream = text.into_bytes();
        stream.extend_from_slice(&frames);
        for byte in &stream {
            client.handle_input(std::slice::from_ref(byte)).unwrap();
        }
        assert!(client.is_negotiated(), "{ending:?}");
        let events: Vec<_> = std::iter::from_fn(|| client.poll_event()).collect();
        assert_eq!(events.len(), 1 + 3, "{ending:?}: {events:?}");
    }
}
