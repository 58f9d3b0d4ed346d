//! Golden tests of the frames: what Perl sent decodes to the messages Perl
//! meant, through the channel and independently of it; and the frames we
//! send for the same messages decode to them again.

use std::sync::Arc;
use std::time::Instant;

use ikc_freezer::{DUMPER, STORABLE, Value};
use ikc_specifier::HashForm;

use super::golden::{Replay, identity};
use super::util::{Dir, Transcript, codec, registry, split_frames};
use crate::{
    Channel, ChannelEvent, ClientChannelConfig, Identity, Message, MessageTarget, Protocol,
    ServerChannelConfig,
};

/// The frames that went one way, thawed and read by the test itself.
fn perl_messages(t: &Transcript, dir: Dir, freezer: &str) -> Vec<Message> {
    let (_, frames) = t.split(dir);
    let codec = codec(freezer);
    split_frames(&frames)
        .iter()
        .map(|frame| {
            let value = codec
                .thaw(frame)
                .unwrap_or_else(|e| panic!("{}: {e}", t.name));
            Message::try_from(value).unwrap()
        })
        .collect()
}

fn messages_of(replay: &Replay) -> Vec<Message> {
    assert_eq!(replay.error, None);
    replay
        .events
        .iter()
        .filter_map(|event| match event {
            ChannelEvent::Message(message) => Some(Message::clone(message)),
            ChannelEvent::Negotiated(_) => None,
            other => panic!("unexpected {other:?}"),
        })
        .collect()
}

/// Send `messages` through a negotiated channel and read our frames back.
fn round_trip(channel: &mut Channel, messages: &[Message], freezer: &str) {
    let mut out = Vec::new();
    let _ = channel.poll_transmit(&mut out);
    out.clear();
    for message in messages {
        channel.send(message).unwrap();
    }
    let _ = channel.poll_transmit(&mut out);
    let codec = codec(freezer);
    let ours: Vec<Message> = split_frames(&out)
        .iter()
        .map(|frame| Message::try_from(codec.thaw(frame).unwrap()).unwrap())
        .collect();
    assert_eq!(ours, messages);
}

struct Case {
    file: &'static str,
    freezer: &'static str,
    server: ServerChannelConfig,
    client: ClientChannelConfig,
}

fn cases() -> Vec<Case> {
    let server = |id: &str, protocol| {
        let mut config = ServerChannelConfig::new(
            identity(id, &["Inet", "Ikc", "127.0.0.1:41001"], 1),
            registry(&[STORABLE, DUMPER]),
        );
        config.protocol = protocol;
        config
    };
    let client = |me: Identity, freezer: &str, protocol| {
        let mut config = ClientChannelConfig::new(me, registry(&[freezer]));
        config.protocol = protocol;
        config
    };
    let cli = |id: &str, port: u16| identity(id, &["Cli", &format!("127.0.0.1:{port}")], 1);
    let inet = "vm-6b01b1cb-000015c8-00000001";
    let lite_inet = "vm-6b01b142-00000a62-00000001";
    vec![
        Case {
            file: "perl-client-ikc0-storable.log",
            freezer: STORABLE,
            server: server(inet, Protocol::Ikc0),
            client: client(
                cli("vm-6b01b1cc-00001606-00000001", 49646),
                STORABLE,
                Protocol::Ikc0,
            ),
        },
        Case {
            file: "perl-client-ikc0-freezer.log",
            freezer: DUMPER,
            server: server(inet, Protocol::Ikc0),
            client: client(
                cli("vm-6b01b1ce-00001649-00000001", 45890),
                DUMPER,
                Protocol::Ikc0,
            ),
        },
        Case {
            file: "perl-ikc0-freezer-clientlite.log",
            freezer: DUMPER,
            server: server(lite_inet, Protocol::Ikc0),
            client: client(Identity::new("LiteClient"), DUMPER, Protocol::Ikc0),
        },
        Case {
            file: "perl-ikc-storable-clientlite.log",
            freezer: STORABLE,
            server: server(lite_inet, Protocol::Ikc0),
            client: client(Identity::new("LiteClient"), STORABLE, Protocol::Ikc),
        },
        Case {
            file: "perl-client-perl-server-fallback.log",
            freezer: STORABLE,
            server: {
                let mut s = server("vm-6b01bf36-0000209f-00000001", Protocol::Ikc);
                s.identity.names[2] = "127.0.0.1:41101".into();
                s
            },
            client: client(
                cli("vm-6b01bf36-000020da-00000001", 43990),
                STORABLE,
                Protocol::Ikc0,
            ),
        },
    ]
}

#[test]
fn perl_frames_arrive_as_the_messages_perl_sent_both_ways() {
    for case in cases() {
        let t = Transcript::load(case.file);
        let mut server = Channel::server(case.server.clone(), Instant::now()).unwrap();
        let replay = super::golden::replay(&mut server, &t, Dir::ToServer);
        let from_client = perl_messages(&t, Dir::ToServer, case.freezer);
        assert_eq!(messages_of(&replay), from_client, "{}", case.file);
        // Sending what the Perl server sent, we frame it so it reads back the same.
        round_trip(
            &mut server,
            &perl_messages(&t, Dir::ToClient, case.freezer),
            case.freezer,
        );

        let mut client = Channel::client(case.client.clone(), Instant::now()).unwrap();
        let replay = super::golden::replay(&mut client, &t, Dir::ToClient);
        let from_server = perl_messages(&t, Dir::ToClient, case.freezer);
        assert!(!from_server.is_empty());
        assert_eq!(messages_of(&replay), from_server, "{}", case.file);
        round_trip(&mut client, &from_client, case.freezer);
    }
}

#[test]
fn perl_frames_read_as_the_requests_ikc_documents() {
    let t = Transcript::load("perl-client-ikc0-storable.log");
    let sent = perl_messages(&t, Dir::ToServer, STORABLE);
    let cli = "vm-6b01b1cc-00001606-00000001";
    let proxy = HashForm::new(cli, "me", "IKC:proxy");
    assert_eq!(
        sent[0],
        Message::post("poe://Inet/test/here", 7).with_from(proxy.clone())
    );
    assert_eq!(
        sent[1],
        Message {
            wantarray: None,
            ..Message::call(
                "poe://Inet/test/echo",
                vec![1, 2],
                HashForm::new("Cli", "me", "reply")
            )
            .with_from(proxy.clone())
        }
    );
    assert_eq!(
        sent[3].event,
        MessageTarget::Hash(HashForm::new("Inet", "IKC", "do_you_have").into())
    );
    assert_eq!(sent[3].from, Some(Arc::new(HashForm::new(cli, "IKC", ""))));
    // Storable carries Perl's plain strings as bytes.
    let (here, args) = (
        Value::bytes("here"),
        vec![Value::bytes("via-proxy"), Value::bytes("second-arg")],
    );
    assert_eq!(sent[4].params, Value::from(vec![here, Value::Array(args)]));
    let answers = perl_messages(&t, Dir::ToClient, STORABLE);
    assert!(answers[1].is_error);
    assert_eq!(
        answers[1].event,
        MessageTarget::Hash(HashForm::new(cli, "IKC", "remote_error").into())
    );
    assert_eq!(answers[1].params.as_array().map(<[Value]>::len), Some(3));

    let t = Transcript::load("perl-ikc0-freezer-clientlite.log");
    let sent = perl_messages(&t, Dir::ToServer, DUMPER);
    assert_eq!(sent[0].wantarray, Some(false));
    assert_eq!(sent[0].params, Value::Undef);
    assert_eq!(
        sent[0].from,
        Some(Arc::new(HashForm::new("LiteClient", "IKCLite", "")))
    );
    assert_eq!(
        sent[0].rsvp,
        Some(Arc::new(HashForm::new(
            "LiteClient",
            "IKCLite",
            "response0"
        )))
    );
    let answers = perl_messages(&t, Dir::ToClient, DUMPER);
    assert_eq!(answers[0].params, Value::Int(42));
}

#[test]
fn a_server_that_took_no_freezer_reads_storable_as_perl_does() {
    for file in [
        "perl-server-ikc-nofreezer.log",
        "perl-server-ikc0-refusals.log",
        "perl-server-ikc0-native-first.log",
    ] {
        let t = Transcript::load(file);
        let me = identity("s", &["Inet", "Ikc", "127.0.0.1:1"], 1);
        let mut config = ServerChannelConfig::new(me, registry(&[STORABLE, DUMPER]));
        config.protocol = if file.contains("-ikc-") {
            Protocol::Ikc
        } else {
            Protocol::Ikc0
        };
        let mut server = Channel::server(config, Instant::now()).unwrap();
        let replay = super::golden::replay(&mut server, &t, Dir::ToServer);
        let messages = messages_of(&replay);
        assert_eq!(messages.len(), 1, "{file}");
        assert_eq!(
            messages[0].event,
            MessageTarget::from("poe://Inet/test/here")
        );
        assert_eq!(messages[0].params, Value::Int(7));
    }
}
