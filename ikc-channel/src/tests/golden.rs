//! Golden tests: replay one side of a conversation captured from Perl IKC
//! into a channel of the other role, configured as the Perl peer was, and
//! check that it answers with exactly the bytes the Perl peer sent.

use std::time::Instant;

use ikc_freezer::{DUMPER, STORABLE};

use super::util::{Dir, Transcript, registry};
use crate::{
    Channel, ChannelError, ChannelEvent, ClientChannelConfig, Identity, Peer, Protocol,
    ServerChannelConfig,
};

/// What a channel did when fed one direction of a transcript.
#[derive(Debug)]
pub(super) struct Replay {
    pub(super) sent: Vec<u8>,
    pub(super) events: Vec<ChannelEvent>,
    pub(super) error: Option<ChannelError>,
}

impl Replay {
    pub(super) fn peer(&self) -> Option<&Peer> {
        self.events.iter().find_map(|e| match e {
            ChannelEvent::Negotiated(peer) => Some(peer),
            _ => None,
        })
    }
}

/// Feed `channel` the reads that went towards it, read by read.
pub(super) fn replay(channel: &mut Channel, transcript: &Transcript, towards: Dir) -> Replay {
    let mut sent = Vec::new();
    let mut events = Vec::new();
    let mut error = None;
    let _ = channel.poll_transmit(&mut sent);
    for read in transcript.reads(towards) {
        if let Err(e) = channel.handle_input(read) {
            error = Some(e);
            break;
        }
        let _ = channel.poll_transmit(&mut sent);
        events.extend(std::iter::from_fn(|| channel.poll_event()));
    }
    Replay {
        sent,
        events,
        error,
    }
}

pub(super) fn identity(id: &str, names: &[&str], pid: u32) -> Identity {
    names
        .iter()
        .fold(Identity::new(id), |i, n| i.with_name(*n))
        .with_pid(pid)
}

/// Our server, configured as the Perl server of `transcript`, fed the
/// client's side; the negotiation it sends must be the Perl server's.
#[track_caller]
pub(super) fn as_perl_server(transcript: &Transcript, config: ServerChannelConfig) -> Replay {
    let mut server = Channel::server(config, Instant::now()).unwrap();
    let replay = replay(&mut server, transcript, Dir::ToServer);
    let (perl_said, _) = transcript.split(Dir::ToClient);
    assert_eq!(
        String::from_utf8_lossy(&replay.sent),
        String::from_utf8_lossy(&perl_said),
        "{}: server negotiation",
        transcript.name
    );
    replay
}

/// Our client, configured as the Perl client of `transcript`, fed the
/// server's side; the negotiation it sends must be the Perl client's.
#[track_caller]
pub(super) fn as_perl_client(transcript: &Transcript, config: ClientChannelConfig) -> Replay {
    let mut client = Channel::client(config, Instant::now()).unwrap();
    let replay = replay(&mut client, transcript, Dir::ToClient);
    let (perl_said, _) = transcript.split(Dir::ToServer);
    assert_eq!(
        String::from_utf8_lossy(&replay.sent),
        String::from_utf8_lossy(&perl_said),
        "{}: client negotiation",
        transcript.name
    );
    replay
}

fn server(
    id: &str,
    port: u16,
    freezers: &[&str],
    protocol: Protocol,
    pid: u32,
) -> ServerChannelConfig {
    let address = format!("127.0.0.1:{port}");
    let mut config = ServerChannelConfig::new(
        identity(id, &["Inet", "Ikc", &address], pid),
        registry(freezers),
    );
    config.protocol = protocol;
    config
}

fn client(identity: Identity, freezers: &[&str], protocol: Protocol) -> ClientChannelConfig {
    let mut config = ClientChannelConfig::new(identity, registry(freezers));
    config.protocol = protocol;
    config
}

fn peer(id: &str, aliases: &[&str], pid: Option<u32>, freezer: &str, protocol: Protocol) -> Peer {
    Peer {
        kernel_id: id.to_owned(),
        aliases: aliases.iter().map(|a| (*a).to_owned()).collect(),
        pid,
        freezer: freezer.to_owned(),
        protocol,
        authenticated: false,
        tls: false,
        certificate_subject: None,
    }
}

const PERL_CODECS: &[&str] = &[STORABLE, DUMPER];

#[test]
fn ikc0_server_answers_as_perl_does() {
    for (file, client_id, client_names, client_pid, freezer) in [
        (
            "perl-client-ikc0-storable.log",
            "vm-6b01b1cc-00001606-00000001",
            &["Cli", "127.0.0.1:49646"][..],
            5638,
            STORABLE,
        ),
        (
            "perl-client-ikc0-freezer.log",
            "vm-6b01b1ce-00001649-00000001",
            &["Cli", "127.0.0.1:45890"],
            5705,
            DUMPER,
        ),
        (
            "perl-ikc0-freezer-clientlite.log",
            "LiteClient",
            &[],
            2701,
            DUMPER,
        ),
    ] {
        let t = Transcript::load(file);
        let (perl_id, pid) = match file {
            "perl-ikc0-freezer-clientlite.log" => ("vm-6b01b142-00000a62-00000001", 2658),
            _ => ("vm-6b01b1cb-000015c8-00000001", 5576),
        };
        let mut config = server(perl_id, 41001, PERL_CODECS, Protocol::Ikc0, pid);
        config.peer_address = Some("127.0.0.1:50000".into());
        let replay = as_perl_server(&t, config);
        let mut aliases = client_names.to_vec();
        aliases.push("127.0.0.1:50000");
        assert_eq!(
            replay.peer(),
            Some(&peer(
                client_id,
                &aliases,
                Some(client_pid),
                freezer,
                Protocol::Ikc0
            )),
            "{file}"
        );
    }
}

#[test]
fn ikc0_client_speaks_as_perl_does() {
    for (file, me, freezer, server_pid) in [
        (
            "perl-client-ikc0-storable.log",
            identity(
                "vm-6b01b1cc-00001606-00000001",
                &["Cli", "127.0.0.1:49646"],
                5638,
            ),
            STORABLE,
            5576,
        ),
        (
            "perl-client-ikc0-freezer.log",
            identity(
                "vm-6b01b1ce-00001649-00000001",
                &["Cli", "127.0.0.1:45890"],
                5705,
            ),
            DUMPER,
            5576,
        ),
        (
            "perl-ikc0-freezer-clientlite.log",
            Identity::new("LiteClient").with_pid(2701),
            DUMPER,
            2658,
        ),
    ] {
        let t = Transcript::load(file);
        let mut config = client(me, &[freezer], Protocol::Ikc0);
        config.peer_address = Some("localhost:41002".into());
        let replay = as_perl_client(&t, config);
        let server_id = match file {
            "perl-ikc0-freezer-clientlite.log" => "vm-6b01b142-00000a62-00000001",
            _ => "vm-6b01b1cb-000015c8-00000001",
        };
        assert_eq!(
            replay.peer(),
            Some(&peer(
                server_id,
                &["Inet", "Ikc", "127.0.0.1:41001", "localhost:41002"],
                Some(server_pid),
                freezer,
                Protocol::Ikc0
            )),
            "{file}"
        );
    }
}

#[test]
fn ikc_handshake_both_roles_as_clientlite_and_perl_server() {
    let t = Transcript::load("perl-ikc-storable-clientlite.log");
    let server_id = "vm-6b01b142-00000a62-00000001";
    // Perl's server is in its default IKC0 mode: HELLO moves it to IKC.
    let replay = as_perl_server(&t, server(server_id, 41001, PERL_CODECS, Protocol::Ikc0, 1));
    assert_eq!(
        replay.peer(),
        Some(&peer("LiteClient", &[], None, STORABLE, Protocol::Ikc))
    );

    let me = Identity::new("LiteClient");
    let replay = as_perl_client(&t, client(me, &[STORABLE], Protocol::Ikc));
    assert_eq!(
        replay.peer(),
        Some(&peer(
            server_id,
            &["127.0.0.1:41001", "Ikc", "Inet"],
            None,
            STORABLE,
            Protocol::Ikc
        ))
    );
}

#[test]
fn ikc0_client_falls_back_to_ikc_as_perl_does() {
    let t = Transcript::load("perl-client-perl-server-fallback.log");
    let server_id = "vm-6b01bf36-0000209f-00000001";
    let replay = as_perl_server(&t, server(server_id, 41101, PERL_CODECS, Protocol::Ikc, 1));
    assert_eq!(
        replay.peer(),
        Some(&peer(
            "vm-6b01bf36-000020da-00000001",
            &["127.0.0.1:43990", "Cli"],
            None,
            STORABLE,
            Protocol::Ikc
        ))
    );

    let me = identity(
        "vm-6b01bf36-000020da-00000001",
        &["Cli", "127.0.0.1:43990"],
        8410,
    );
    let mut config = client(me, &[STORABLE], Protocol::Ikc0);
    config.peer_address = Some("localhost:41102".into());
    let replay = as_perl_client(&t, config);
    // The names Perl's client registered for this server, in its order.
    let registered: Vec<_> = replay.peer().unwrap().names().collect();
    assert_eq!(
        registered,
        [
            server_id,
            "127.0.0.1:41101",
            "Ikc",
            "Inet",
            "localhost:41102"
        ]
    );
}

#[test]
fn server_refuses_and_ignores_as_perl_does() {
    let t = Transcript::load("perl-server-ikc0-refusals.log");
    let config = server(
        "vm-6b01bf4c-00002128-00000001",
        41111,
        PERL_CODECS,
        Protocol::Ikc0,
        1,
    );
    let replay = as_perl_server(&t, config);
    assert_eq!(replay.error, None);
    assert_eq!(
        replay.peer(),
        Some(&peer("Raw", &[], None, STORABLE, Protocol::Ikc))
    );

    let t = Transcript::load("perl-server-ikc-nofreezer.log");
    let config = server(
        "vm-6b01bf5a-0000216c-00000001",
        41121,
        PERL_CODECS,
        Protocol::Ikc,
        1,
    );
    let replay = as_perl_server(&t, config);
    // Every FREEZER refused, then WORLD: Storable, as POE::Filter::Reference's default.
    assert_eq!(
        replay.peer(),
        Some(&peer("Raw", &["Raw2"], None, STORABLE, Protocol::Ikc))
    );

    let t = Transcript::load("perl-server-ikc0-native-first.log");
    let config = server(
        "vm-6b01bf5f-000021a3-00000001",
        41131,
        PERL_CODECS,
        Protocol::Ikc0,
        8611,
    );
    let replay = as_perl_server(&t, config);
    assert_eq!(
        replay.peer(),
        Some(&peer(
            "Raw",
            &["Raw2", "unix:x"],
            Some(77),
            STORABLE,
            Protocol::Ikc0
        ))
    );
}

#[test]
fn client_answers_bad_servers_as_perl_does() {
    let cli2 = |id: &str, port: u16, pid: u32| {
        identity(id, &["Cli2", "Two", &format!("127.0.0.1:{port}")], pid)
    };

    let t = Transcript::load("perl-client-ikc-ok.log");
    let me = cli2("vm-6b01bf8c-000022c7-00000001", 60934, 1);
    let replay = as_perl_client(&t, client(me, PERL_CODECS, Protocol::Ikc));
    assert_eq!(
        replay.peer(),
        Some(&peer("srv-id", &[], None, STORABLE, Protocol::Ikc))
    );

    for (file, me) in [
        (
            "perl-client-ikc0-badsetup.log",
            cli2("vm-6b01bf84-0000225f-00000001", 56882, 8799),
        ),
        (
            "perl-client-ikc0-garbage.log",
            cli2("vm-6b01bf88-00002293-00000001", 44334, 8851),
        ),
    ] {
        let replay = as_perl_client(
            &Transcript::load(file),
            client(me, &[STORABLE], Protocol::Ikc0),
        );
        assert_eq!((replay.peer(), &replay.error), (None, &None), "{file}");
    }
}

#[test]
fn client_whose_every_freezer_is_refused_stops_where_perl_says_world() {
    let t = Transcript::load("perl-client-fallback-refused.log");
    let me = identity(
        "vm-6b01bf71-0000221b-00000001",
        &["Cli2", "Two", "127.0.0.1:60008"],
        8731,
    );
    let mut client =
        Channel::client(client(me, PERL_CODECS, Protocol::Ikc0), Instant::now()).unwrap();
    let replay = replay(&mut client, &t, Dir::ToClient);
    let (perl_said, _) = t.split(Dir::ToServer);
    let perl_said = String::from_utf8(perl_said).unwrap();
    // Perl goes on with WORLD and Storable regardless; we stop instead.
    let until_world = perl_said.strip_suffix("WORLD\r\n").unwrap();
    assert_eq!(String::from_utf8_lossy(&replay.sent), until_world);
    assert_eq!(
        replay.error,
        Some(ChannelError::NoCommonFreezer {
            offered: vec![STORABLE.into(), DUMPER.into()]
        })
    );
}
