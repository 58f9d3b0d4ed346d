//! The sans-IO channel: both ends in memory, bytes moved by hand, so every
//! attack can be replayed byte for byte.

use std::time::{Duration, Instant};

use ikc_channel::{
    AuthError, Authorizer, Channel, ChannelError, ChannelEvent, ClientChannelConfig, Identity,
    Message, Protocol, Secret, ServerChannelConfig, TlsError,
};
use ikc_freezer::{Registry, Value};
use ikc_tests::TestPki;
use ikc_tests::certs::CLIENT_SUBJECT;

fn client_config(name: &str, secret: Option<&str>) -> ClientChannelConfig {
    let mut config = ClientChannelConfig::new(
        Identity::new(format!("{name}-id")).with_name(name),
        Registry::standard(),
    );
    config.secret = secret.map(|s| Secret::new(s).unwrap());
    config
}

fn server_config(secret: Option<&str>) -> ServerChannelConfig {
    let config = ServerChannelConfig::new(
        Identity::new("srv-id").with_name("Server"),
        Registry::standard(),
    );
    match secret {
        Some(s) => config.with_secret(Secret::new(s).unwrap()),
        None => config,
    }
}

/// Both ends of one connection, with what each said and how each ended.
struct Run {
    client: Channel,
    server: Channel,
    client_result: Result<(), ChannelError>,
    server_result: Result<(), ChannelError>,
    client_sent: Vec<u8>,
    server_sent: Vec<u8>,
}

impl Run {
    fn new(client: ClientChannelConfig, server: ServerChannelConfig) -> Self {
        let now = Instant::now();
        Self {
            client: Channel::client(client, now).unwrap(),
            server: Channel::server(server, now).unwrap(),
            client_result: Ok(()),
            server_result: Ok(()),
            client_sent: Vec::new(),
            server_sent: Vec::new(),
        }
    }

    /// Move bytes both ways until nothing moves; a failed end still sends
    /// what it queued (its refusal), and then nothing more is fed to it.
    fn pump(mut self) -> Self {
        loop {
            let mut moved = false;
            let mut bytes = Vec::new();
            if self.client.poll_transmit(&mut bytes).is_some() {
                self.client_sent.extend_from_slice(&bytes);
                if self.server_result.is_ok() {
                    self.server_result = self.server.handle_input(&bytes);
                }
                moved = true;
            }
            bytes.clear();
            if self.server.poll_transmit(&mut bytes).is_some() {
                self.server_sent.extend_from_slice(&bytes);
                if self.client_result.is_ok() {
                    self.client_result = self.client.handle_input(&bytes);
                }
                moved = true;
            }
            if !moved {
                return self;
            }
        }
    }

    fn negotiated(channel: &mut Channel) -> Option<ikc_channel::Peer> {
        std::iter::from_fn(|| channel.poll_event()).find_map(|e| match e {
            ChannelEvent::Negotiated(peer) => Some(peer),
            _ => None,
        })
    }
}

fn lines(bytes: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(bytes)
        .split("\r\n")
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

#[test]
fn the_same_secret_authenticates_both_sides_and_messages_flow() {
    let mut run = Run::new(
        client_config("Cli", Some("s3cret")),
        server_config(Some("s3cret")),
    );
    run.client
        .send(&Message::post("poe://Server/test/here", 1))
        .unwrap();
    let mut run = run.pump();
    assert_eq!(run.client_result, Ok(()));
    assert_eq!(run.server_result, Ok(()));
    let cp = Run::negotiated(&mut run.client).unwrap();
    let sp = Run::negotiated(&mut run.server).unwrap();
    assert!(cp.authenticated && sp.authenticated);
    assert!(!cp.tls);
    assert_eq!(sp.kernel_id, "Cli-id");
    assert!(matches!(
        run.server.poll_event(),
        Some(ChannelEvent::Message(_))
    ));
    // The secret never travels; the client's PID carrier is in its SETUP.
    let wire = [run.client_sent.clone(), run.server_sent.clone()].concat();
    assert!(!wire.windows(6).any(|w| w == b"s3cret"));
    let sent = lines(&run.client_sent);
    assert!(sent[0].contains(";AUTH=hmac-sha256-v1:"), "{sent:?}");
    assert!(sent[0].ends_with(&format!(":PID={0};PID={0}", std::process::id())));
    assert!(sent[1].starts_with("AUTH "));
    assert!(lines(&run.server_sent).contains(&"AUTH OK".to_owned()));
}

#[test]
fn a_wrong_secret_fails_on_both_sides_with_a_reason() {
    let run = Run::new(
        client_config("Cli", Some("right")),
        server_config(Some("wrong")),
    )
    .pump();
    assert_eq!(
        run.client_result,
        Err(AuthError::BadProof { peer: "server" }.into())
    );
    assert!(matches!(
        run.server_result,
        Err(ChannelError::Refused { ref reason }) if reason.contains("server's proof does not match")
    ));
    assert!(run.client.peer().is_none() && run.server.peer().is_none());
}

#[test]
fn a_client_without_the_secret_is_refused_by_a_server_that_requires_it() {
    for protocol in [Protocol::Ikc0, Protocol::Ikc] {
        let mut client = client_config("Cli", None);
        client.protocol = protocol;
        let run = Run::new(client, server_config(Some("s3cret"))).pump();
        assert_eq!(
            run.server_result,
            Err(AuthError::NotOffered.into()),
            "{protocol:?}"
        );
        assert!(matches!(
            run.client_result,
            Err(ChannelError::Refused { ref reason }) if reason.starts_with("authentication required")
        ));
        // What a Perl client prints in its "Server sent '...'" warning.
        assert!(lines(&run.server_sent)[0].starts_with("REFUSED authentication required"));
    }
}

#[test]
fn a_server_without_auth_answers_an_offering_client_as_before_and_the_client_refuses_it() {
    let run = Run::new(client_config("Cli", Some("s3cret")), server_config(None)).pump();
    assert_eq!(
        run.client_result,
        Err(AuthError::PeerDoesNotAuthenticate.into())
    );
    // The server ignored the offer, as Perl does, and finished its side.
    assert_eq!(run.server_result, Ok(()));
    let reply = &lines(&run.server_sent)[0];
    assert!(reply.starts_with("SETUP KERNEL=srv-id,Server;FREEZER=") && !reply.contains("AUTH"));
}

#[test]
fn an_optional_secret_admits_unauthenticated_clients_byte_for_byte_as_without_one() {
    let mut optional = server_config(Some("s3cret"));
    optional.require_auth = false;
    let mut with = Run::new(client_config("Cli", None), optional).pump();
    let without = Run::new(client_config("Cli", None), server_config(None)).pump();
    assert_eq!(
        lines(&with.server_sent)[0].split(";PID").next(),
        lines(&without.server_sent)[0].split(";PID").next()
    );
    assert!(!Run::negotiated(&mut with.server).unwrap().authenticated);
}

/// Replay the client's lines of an earlier successful handshake against a
/// new server connection: the server's fresh nonce makes the old proof fail.
#[test]
fn a_replayed_handshake_fails() {
    let recorded = Run::new(
        client_config("Cli", Some("s3cret")),
        server_config(Some("s3cret")),
    )
    .pump();
    assert_eq!(recorded.server_result, Ok(()));
    let mut server = Channel::server(server_config(Some("s3cret")), Instant::now()).unwrap();
    let mut result = Ok(());
    for line in lines(&recorded.client_sent) {
        result = server.handle_input(format!("{line}\r\n").as_bytes());
        if result.is_err() {
            break;
        }
    }
    assert_eq!(result, Err(AuthError::BadProof { peer: "client" }.into()));
    assert!(server.peer().is_none());
    // The same against a client: the server's recorded answer fails its fresh nonce.
    let mut client = Channel::client(client_config("Cli", Some("s3cret")), Instant::now()).unwrap();
    let answer = lines(&recorded.server_sent)[0].clone();
    assert_eq!(
        client.handle_input(format!("{answer}\r\n").as_bytes()),
        Err(AuthError::BadProof { peer: "server" }.into())
    );
}

/// Send the server's own proof back as the client's: the role label makes
/// it fail.
#[test]
fn a_reflected_challenge_fails() {
    let mut attacker = Channel::client(client_config("Cli", None), Instant::now()).unwrap();
    let mut offer = Vec::new();
    let _ = attacker.poll_transmit(&mut offer);
    let nonce = "ab".repeat(32);
    let setup = String::from_utf8(offer)
        .unwrap()
        .replace(";PID=", &format!(";AUTH=hmac-sha256-v1:{nonce}:PID=1;PID="));
    let mut server = Channel::server(server_config(Some("s3cret")), Instant::now()).unwrap();
    server.handle_input(setup.as_bytes()).unwrap();
    let mut reply = Vec::new();
    let _ = server.poll_transmit(&mut reply);
    let reply = String::from_utf8(reply).unwrap();
    let field = reply
        .split(";AUTH=")
        .nth(1)
        .unwrap()
        .split(';')
        .next()
        .unwrap();
    let server_proof = field.rsplit(':').next().unwrap();
    assert_eq!(
        server.handle_input(format!("AUTH {server_proof}\r\n").as_bytes()),
        Err(AuthError::BadProof { peer: "client" }.into())
    );
    assert!(server.peer().is_none());
}

/// A man in the middle (or a client) changes the names after the proof:
/// the proofs cover every name, so both sides fail.
#[test]
fn a_peer_claiming_names_it_did_not_authenticate_for_fails() {
    let mut client = Channel::client(client_config("Cli", Some("s3cret")), Instant::now()).unwrap();
    let mut server = Channel::server(server_config(Some("s3cret")), Instant::now()).unwrap();
    let mut bytes = Vec::new();
    let _ = client.poll_transmit(&mut bytes);
    let forged = String::from_utf8(bytes)
        .unwrap()
        .replace("KERNEL=Cli-id,Cli", "KERNEL=Cli-id,Admin");
    server.handle_input(forged.as_bytes()).unwrap();
    let mut reply = Vec::new();
    let _ = server.poll_transmit(&mut reply);
    // The server proved over the forged names: the client sees the mismatch.
    assert_eq!(
        client.handle_input(&reply),
        Err(AuthError::BadProof { peer: "server" }.into())
    );
    let mut refusal = Vec::new();
    let _ = client.poll_transmit(&mut refusal);
    assert!(matches!(
        server.handle_input(&refusal),
        Err(ChannelError::Refused { .. })
    ));
    assert!(server.peer().is_none());
}

#[test]
fn the_authorization_hook_sees_the_peer_and_can_refuse_it() {
    let mut config = server_config(Some("s3cret"));
    config.peer_address = Some("127.0.0.1:5555".into());
    config.authorizer = Some(Authorizer::new(|peer| {
        assert!(peer.authenticated && !peer.tls);
        assert_eq!(peer.address, Some("127.0.0.1:5555"));
        if peer.names.iter().any(|n| n == "Intruder") {
            Err("kernel 'Intruder' is banned".into())
        } else {
            Ok(())
        }
    }));
    let ok = Run::new(client_config("Friend", Some("s3cret")), config.clone()).pump();
    assert_eq!((ok.client_result, ok.server_result), (Ok(()), Ok(())));
    let no = Run::new(client_config("Intruder", Some("s3cret")), config).pump();
    assert_eq!(
        no.server_result,
        Err(ChannelError::Unauthorized {
            reason: "kernel 'Intruder' is banned".into()
        })
    );
    assert!(
        matches!(no.client_result, Err(ChannelError::Refused { ref reason }) if reason.contains("banned"))
    );
}

#[test]
fn a_stalled_handshake_ends_at_the_deadline() {
    let now = Instant::now();
    let mut server = Channel::server(server_config(Some("s3cret")), now).unwrap();
    let mut client = Channel::client(client_config("Cli", Some("s3cret")), now).unwrap();
    let mut bytes = Vec::new();
    let _ = client.poll_transmit(&mut bytes);
    server.handle_input(&bytes).unwrap(); // and the client's proof never comes
    let deadline = server.poll_timeout().unwrap();
    assert!(
        server
            .handle_timeout(deadline - Duration::from_millis(1))
            .is_ok()
    );
    assert!(matches!(
        server.handle_timeout(deadline),
        Err(ChannelError::HandshakeTimeout { .. })
    ));
    assert!(matches!(
        client.handle_timeout(client.poll_timeout().unwrap()),
        Err(ChannelError::HandshakeTimeout { .. })
    ));
}

#[test]
fn secrets_are_read_from_files_and_never_shown() {
    let dir = ikc_tests::TempDir::new();
    let path = dir.path().join("secret");
    std::fs::write(&path, "from a file\r\n").unwrap();
    let secret = Secret::from_file(&path).unwrap();
    assert!(secret == Secret::new("from a file").unwrap());
    assert_eq!(format!("{secret:?}"), "Secret(..)");
    let mut config = client_config("Cli", None);
    config.secret = Some(secret);
    assert!(!format!("{config:?}").contains("from a file"));
    assert!(Secret::from_file(dir.path().join("missing")).is_err());
}

// ---- TLS ----

fn tls_pair(
    pki: &TestPki,
    server_stem: &str,
    mutual: bool,
    name: &str,
    with_cert: bool,
    secret: Option<&str>,
) -> Run {
    let mut client = client_config("Cli", secret);
    client.tls = Some(pki.client(name, with_cert));
    let mut server = server_config(secret);
    server.tls = Some(pki.server(server_stem, mutual));
    Run::new(client, server).pump()
}

fn rustls_error(result: &Result<(), ChannelError>) -> String {
    match result {
        Err(ChannelError::Tls(TlsError::Rustls(e))) => e.to_string(),
        other => panic!("expected a rustls error, got {other:?}"),
    }
}

#[test]
fn tls_and_the_secret_compose_and_the_proofs_are_bound_to_the_session() {
    let pki = TestPki::new();
    let mut run = tls_pair(&pki, "server", true, "localhost", true, Some("s3cret"));
    assert_eq!((&run.client_result, &run.server_result), (&Ok(()), &Ok(())));
    let cp = Run::negotiated(&mut run.client).unwrap();
    let sp = Run::negotiated(&mut run.server).unwrap();
    assert!(cp.tls && cp.authenticated && sp.tls && sp.authenticated);
    assert_eq!(sp.certificate_subject.as_deref(), Some(CLIENT_SUBJECT));
    // Nothing of IKC's handshake shows in clear.
    assert!(!run.client_sent.windows(5).any(|w| w == b"SETUP"));
    // Messages flow both ways through TLS.
    run.client
        .send(&Message::post("poe://Server/s/st", Value::from("hi")))
        .unwrap();
    run.server
        .send(&Message::post("poe://Cli/s/st", Value::from("ho")))
        .unwrap();
    let mut run = run.pump();
    assert!(
        matches!(run.server.poll_event(), Some(ChannelEvent::Message(m)) if m.params == Value::from("hi"))
    );
    assert!(
        matches!(run.client.poll_event(), Some(ChannelEvent::Message(m)) if m.params == Value::from("ho"))
    );
}

#[test]
fn certificates_that_are_untrusted_expired_or_for_another_name_are_refused() {
    let pki = TestPki::new();
    for (stem, name, expect) in [
        ("rogue", "localhost", "UnknownIssuer"),
        ("expired", "localhost", "Expired"),
        ("server", "ikc.example.net", "NotValidForName"),
    ] {
        let run = tls_pair(&pki, stem, false, name, false, None);
        let error = format!("{:?}", run.client_result);
        assert!(error.contains(expect), "{stem}/{name}: {error}");
        // The server hears the client's alert.
        assert!(
            run.server_result.is_err(),
            "{stem}: {:?}",
            run.server_result
        );
        assert!(run.client.peer().is_none() && run.server.peer().is_none());
    }
}

#[test]
fn a_missing_client_certificate_is_refused_where_required() {
    let pki = TestPki::new();
    let run = tls_pair(&pki, "server", true, "localhost", false, None);
    let error = rustls_error(&run.server_result);
    assert!(
        error.contains("peer sent no certificates") || error.contains("certificate"),
        "{error}"
    );
    assert!(run.client_result.is_err());
    assert!(run.server.peer().is_none());
}

#[test]
fn tls_against_clear_fails_clearly_both_ways() {
    let pki = TestPki::new();
    // A TLS client on a clear port.
    let mut client = client_config("Cli", None);
    client.tls = Some(pki.client("localhost", false));
    let run = Run::new(client, server_config(None)).pump();
    assert_eq!(run.server_result, Err(ChannelError::UnexpectedTls));
    assert!(matches!(
        run.client_result,
        Err(ChannelError::Tls(TlsError::NotTls { first: b'R' }))
    ));
    // A clear client on a TLS port.
    let mut server = server_config(None);
    server.tls = Some(pki.server("server", false));
    let run = Run::new(client_config("Cli", None), server).pump();
    assert!(matches!(
        run.server_result,
        Err(ChannelError::Tls(TlsError::NotTls { first: b'S' }))
    ));
}

#[test]
fn garbage_and_truncated_tls_records_fail_without_panicking() {
    let pki = TestPki::new();
    let server_tls = pki.server("server", false);
    let inputs: Vec<Vec<u8>> = vec![
        vec![0x16, 0x03, 0x01, 0xff, 0xff, 0, 0, 0],
        vec![0x17, 0x03, 0x03, 0x00, 0x05, 1, 2, 3, 4, 5],
        vec![0x16; 300],
        (0u8..=255)
            .cycle()
            .take(5000)
            .map(|b| b.wrapping_mul(37) | 0x14)
            .collect(),
    ];
    for input in inputs {
        let mut server = server_config(None);
        server.tls = Some(server_tls.clone());
        let mut server = Channel::server(server, Instant::now()).unwrap();
        let result = server.handle_input(&input);
        assert!(result.is_err(), "{input:?}");
        assert!(server.peer().is_none());
    }
    // A real ClientHello cut short: nothing happens until the deadline.
    let mut client = client_config("Cli", None);
    client.tls = Some(pki.client("localhost", false));
    let mut client = Channel::client(client, Instant::now()).unwrap();
    let mut hello = Vec::new();
    let _ = client.poll_transmit(&mut hello);
    for cut in [1, 5, hello.len() / 2, hello.len() - 1] {
        let mut server = server_config(None);
        server.tls = Some(server_tls.clone());
        let mut server = Channel::server(server, Instant::now()).unwrap();
        assert_eq!(server.handle_input(&hello[..cut]), Ok(()));
        let deadline = server.poll_timeout().unwrap();
        assert!(matches!(
            server.handle_timeout(deadline),
            Err(ChannelError::HandshakeTimeout { .. })
        ));
    }
}
