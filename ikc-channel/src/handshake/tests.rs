use super::*;
use crate::config::{ClientChannelConfig, ServerChannelConfig};
use crate::error::ProtocolViolation;
use crate::tests::util::registry;

const NO_AUTH: AuthInput<'static> = AuthInput {
    nonce: "",
    binding: b"",
};

#[test]
fn lines_are_classified_as_ikc_matches_them() {
    for (text, line) in [
        ("HELLO", Line::Hello),
        ("HELLO IKC1", Line::HelloVersion),
        ("HELLO IKC12", Line::Other),
        ("HELLO ", Line::Other),
        ("hello", Line::Other),
        ("SETUP KERNEL=a", Line::Setup(" KERNEL=a")),
        ("SETUP", Line::Setup("")),
        (
            "IAM vm-6b01b142-00000a62-00000001",
            Line::Iam("vm-6b01b142-00000a62-00000001"),
        ),
        ("IAM \t127.0.0.1:41001", Line::Iam("127.0.0.1:41001")),
        ("IAM unix:_tmp_s:12-4", Line::Iam("unix:_tmp_s:12-4")),
        ("IAM bad name!", Line::Other),
        ("IAM", Line::Other),
        ("IAMx", Line::Other),
        ("OK", Line::Ok),
        ("OK ", Line::Other),
        ("NOT", Line::Not),
        ("DONE", Line::Done),
        ("FREEZER Storable", Line::Freezer("Storable")),
        ("FREEZER  bad name!", Line::Freezer("bad name!")),
        ("FREEZER", Line::Other),
        ("WORLD", Line::World),
        ("UP", Line::Up),
        ("", Line::Other),
    ] {
        assert_eq!(Line::parse(text.as_bytes()), line, "{text:?}");
    }
    assert_eq!(Line::parse(b"IAM \xff"), Line::Other);
}

#[test]
fn setup_lines_parse_as_ikc_reads_them() {
    let setup =
        Setup::parse(" KERNEL=vm-1,Inet,Ikc,127.0.0.1:41001;FREEZER=Storable;PID=5576").unwrap();
    assert_eq!(
        setup,
        Setup {
            kernels: vec![
                "vm-1".into(),
                "Inet".into(),
                "Ikc".into(),
                "127.0.0.1:41001".into()
            ],
            freezers: vec!["Storable".into()],
            pid: Some(5576),
            auth: None,
        }
    );
    let setup = Setup::parse(" KERNEL=a;KERNEL=b,,c;FREEZER=x,y").unwrap();
    assert_eq!(setup.kernels, ["a", "b", "c"]);
    assert_eq!(setup.freezers, ["x", "y"]);
    assert_eq!(setup.pid, None);
    for bad in [
        "",
        " ",
        "KERNEL=a",
        " FREEZER=Storable;PID=1",
        " KERNEL=;PID=1",
        " KERNEL=a;PIDX=1",
        " KERNEL=a;PID=",
        " KERNEL=a;PID=+5",
        " KERNEL=a;PID=99999999999",
        " KERNEL=a;COLOUR=blue",
    ] {
        assert_eq!(Setup::parse(bad), None, "{bad:?}");
    }
}

#[test]
fn setup_lines_are_written_as_ikc_writes_them() {
    let me = Identity::new("vm-1")
        .with_name("Inet")
        .with_name("Ikc")
        .with_pid(42);
    assert_eq!(
        Setup::line(&me, &["Storable", "POE::Component::IKC::Freezer"], None),
        "SETUP KERNEL=vm-1,Inet,Ikc;FREEZER=Storable,POE::Component::IKC::Freezer;PID=42"
    );
    assert_eq!(
        Setup::line(
            &Identity::new("LiteClient").with_pid(7),
            &["Storable"],
            None
        ),
        "SETUP KERNEL=LiteClient;FREEZER=Storable;PID=7"
    );
}

fn client_config(protocol: Protocol) -> ClientChannelConfig {
    let mut config = ClientChannelConfig::new(
        Identity::new("c-id").with_name("Cli").with_name("Two"),
        registry(&["IKC::Native", "Storable"]),
    );
    config.protocol = protocol;
    config
}

/// Run `lines` through the client phases from the start, returning what it
/// sent and where it ended.
fn run_client(config: &ClientChannelConfig, lines: &[&str]) -> (Vec<String>, Next<ClientPhase>) {
    let (phase, first) = ClientPhase::start(config, "");
    let mut sent = vec![first];
    let mut next = Next::Phase(phase);
    for line in lines {
        let Next::Phase(phase) = next else { break };
        let step = phase.on_line(Line::parse(line.as_bytes()), config, NO_AUTH);
        sent.extend(step.send);
        next = step.next;
    }
    (sent, next)
}

#[test]
fn client_announces_its_id_then_its_names_last_first() {
    let config = client_config(Protocol::Ikc);
    let (sent, next) = run_client(
        &config,
        &[
            "IAM s-id", "IAM Srv", "DONE", "OK", "OK", "OK", "NOT", "OK", "UP",
        ],
    );
    assert_eq!(
        sent,
        [
            "HELLO",
            "OK",
            "OK",
            "IAM c-id",
            "IAM Two",
            "IAM Cli",
            "DONE",
            "FREEZER IKC::Native",
            "FREEZER Storable",
            "WORLD"
        ]
    );
    let Next::Done(agreement) = next else {
        panic!("{next:?}")
    };
    assert_eq!(agreement.names, ["s-id", "Srv"]);
    assert_eq!(agreement.freezer.name(), "Storable");
    assert_eq!(agreement.protocol, Protocol::Ikc);
}

#[test]
fn client_falls_back_on_not_and_fails_when_every_freezer_is_refused() {
    let config = client_config(Protocol::Ikc0);
    let (sent, next) = run_client(
        &config,
        &["NOT", "IAM s", "DONE", "OK", "OK", "OK", "NOT", "NOT"],
    );
    assert_eq!(
        sent[0],
        "SETUP KERNEL=c-id,Cli,Two;FREEZER=IKC::Native,Storable;PID=".to_owned()
            + &std::process::id().to_string()
    );
    assert_eq!(sent[1], "HELLO");
    assert!(
        matches!(next, Next::Fail(ChannelError::NoCommonFreezer { .. })),
        "{next:?}"
    );
}

#[test]
fn client_takes_the_servers_setup() {
    let config = client_config(Protocol::Ikc0);
    let (_, next) = run_client(
        &config,
        &["SETUP KERNEL=s-id,Srv;FREEZER=IKC::Native;PID=9"],
    );
    let Next::Done(agreement) = next else {
        panic!("{next:?}")
    };
    assert_eq!(
        (agreement.names, agreement.pid),
        (vec!["s-id".into(), "Srv".into()], Some(9))
    );
    let (_, next) = run_client(&config, &["SETUP KERNEL=s-id;FREEZER=Nope;PID=9"]);
    assert!(matches!(
        next,
        Next::Fail(ChannelError::Protocol(
            ProtocolViolation::UnknownFreezer { .. }
        ))
    ));
}

fn server_config(protocol: Protocol) -> ServerChannelConfig {
    let mut config = ServerChannelConfig::new(
        Identity::new("s-id")
            .with_name("Srv")
            .with_name("127.0.0.1:1"),
        registry(&["Storable", "POE::Component::IKC::Freezer"]),
    );
    config.protocol = protocol;
    config
}

fn run_server(config: &ServerChannelConfig, lines: &[&str]) -> (Vec<String>, Next<ServerPhase>) {
    let mut sent = Vec::new();
    let mut next = Next::Phase(ServerPhase::start(config));
    for line in lines {
        let Next::Phase(phase) = next else { break };
        let step = phase.on_line(Line::parse(line.as_bytes()), config, NO_AUTH);
        sent.extend(step.send);
        next = step.next;
    }
    (sent, next)
}

#[test]
fn server_picks_the_first_offered_freezer_it_has() {
    let config = server_config(Protocol::Ikc0);
    let (sent, next) = run_server(
        &config,
        &["SETUP KERNEL=c;FREEZER=IKC::Native,POE::Component::IKC::Freezer,Storable;PID=3"],
    );
    let pid = std::process::id();
    assert_eq!(
        sent,
        [format!(
            "SETUP KERNEL=s-id,Srv,127.0.0.1:1;FREEZER=POE::Component::IKC::Freezer;PID={pid}"
        )]
    );
    let Next::Done(agreement) = next else {
        panic!("{next:?}")
    };
    assert_eq!(agreement.freezer.name(), "POE::Component::IKC::Freezer");
}

#[test]
fn server_in_ikc_mode_refuses_setup_and_the_last_freezer_answer_counts() {
    let config = server_config(Protocol::Ikc);
    let (sent, next) = run_server(
        &config,
        &[
            "SETUP KERNEL=c;FREEZER=Storable",
            "HELLO",
            "OK",
            "OK",
            "OK",
            "IAM c",
            "DONE",
            "FREEZER Storable",
            "FREEZER Nope",
            "FREEZER POE::Component::IKC::Freezer",
            "WORLD",
        ],
    );
    assert_eq!(
        sent,
        [
            "NOT",
            "IAM s-id",
            "IAM 127.0.0.1:1",
            "IAM Srv",
            "DONE",
            "OK",
            "OK",
            "NOT",
            "OK",
            "UP"
        ]
    );
    let Next::Done(agreement) = next else {
        panic!("{next:?}")
    };
    assert_eq!(agreement.freezer.name(), "POE::Component::IKC::Freezer");

    // Refused last, WORLD: Storable, if we have it.
    let (_, next) = run_server(
        &config,
        &[
            "HELLO",
            "OK",
            "OK",
            "OK",
            "DONE",
            "FREEZER Storable",
            "FREEZER Nope",
            "WORLD",
        ],
    );
    let Next::Done(agreement) = next else {
        panic!("{next:?}")
    };
    assert_eq!(agreement.freezer.name(), "Storable");
    let mut config = server_config(Protocol::Ikc);
    config.freezers = registry(&["IKC::Native"]);
    let (_, next) = run_server(
        &config,
        &["HELLO", "OK", "OK", "OK", "DONE", "FREEZER Nope", "WORLD"],
    );
    assert!(
        matches!(next, Next::Fail(ChannelError::NoCommonFreezer { offered }) if offered == ["Nope"])
    );
}

#[test]
fn the_servers_first_phase_ignores_what_it_does_not_know() {
    let config = server_config(Protocol::Ikc0);
    let step = ServerPhase::start(&config).on_line(Line::parse(b"BOGUS"), &config, NO_AUTH);
    assert!(step.rejected && step.send.is_empty());
    let step = ServerPhase::start(&config).on_line(Line::parse(b"HELLO IKC2"), &config, NO_AUTH);
    assert!(step.rejected);
    assert_eq!(step.send, ["NOT"]);
}
