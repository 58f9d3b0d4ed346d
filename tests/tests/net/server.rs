//! The server's options: port 0 (the real port comes back), a Unix socket
//! path, the concurrency limit (the next connection waits and is served
//! once one closes), the handshake protocol, `on_error`, and shutdown.

use ikc_core::{InlineStates, Kernel};
use ikc_freezer::{DUMPER, NATIVE, Registry, STORABLE, Value};
use ikc_responder::{Ikc, MonitorOp, MonitorStates, Protocol};
use ikc_server::{Server, ServerConfig, ServerError};
use ikc_tests::{
    Endpoint, Net, RawPeer, Relay, Transcript, Transport, driver, notes, spawn_client, spawn_server,
};

use crate::common::{client, s, server};

#[test]
fn port_zero_and_unix_path_then_shutdown() {
    // TCP port 0: the server reports the port it got, and listens there.
    let (n, mut inbox) = notes();
    let server_tcp = server(&Endpoint::Tcp(0), &n, |_| Ok(()));
    let port = server_tcp.value.at.port();
    assert_ne!(port, 0);
    let c = client(&server_tcp.value.at, &n);
    inbox.wait("connected");
    c.value.call("me", "shutdown", vec![]).unwrap();
    c.join().unwrap();
    server_tcp
        .value
        .handle
        .call("srv", "shutdown", vec![])
        .unwrap();
    server_tcp.join().unwrap();
    // Shut down: nothing listens there any more.
    let refused = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap_err();
    assert_eq!(refused.kind(), std::io::ErrorKind::ConnectionRefused);

    // A Unix socket: the file exists while the server listens, and goes with it.
    let net = Net::new(Transport::Unix);
    let at = net.endpoint();
    let Endpoint::Unix(path) = at.clone() else {
        unreachable!()
    };
    let server_unix = server(&at, &n, |_| Ok(()));
    assert!(path.exists());
    let c = client(&server_unix.value.at, &n);
    inbox.wait("connected");
    c.value.call("me", "shutdown", vec![]).unwrap();
    c.join().unwrap();
    server_unix
        .value
        .handle
        .call("srv", "shutdown", vec![])
        .unwrap();
    server_unix.join().unwrap();
    assert!(!path.exists(), "the socket file is removed");

    // `ip` must be an IP address; a taken port is reported by spawn.
    let mut kernel = Kernel::new().unwrap();
    let err = Server::spawn(&mut kernel, ServerConfig::tcp("not-an-ip", 0)).unwrap_err();
    assert!(matches!(err, ServerError::BadAddress { .. }), "{err}");
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let err = Server::spawn(&mut kernel, ServerConfig::tcp("127.0.0.1", port)).unwrap_err();
    assert!(matches!(err, ServerError::Listen { .. }), "{err}");
}

/// A published `probe/count`: how many other kernels the server knows.
fn probe(kernel: &mut Kernel) {
    kernel.spawn(
        InlineStates::new()
            .state("_start", |_, ctx, _| {
                ctx.alias_set("probe").expect("alias free");
                let ikc = Ikc::of(ctx).expect("responder");
                ikc.publish("probe", &["count"]);
                ikc.monitor(
                    ctx,
                    "*",
                    &MonitorStates::new().on(MonitorOp::Shutdown, "down"),
                );
            })
            .state("down", |_, ctx, _| {
                let _ = ctx.alias_remove("probe");
            })
            .state("count", |_, ctx, _| {
                Value::from(Ikc::of(ctx).map_or(0, |ikc| ikc.kernels().len() - 1))
            }),
    );
}

/// Ask `probe/count` `times` times in a row, each after the last answer.
fn probes(
    client: &ikc_core::KernelHandle,
    inbox: &mut ikc_tests::Inbox,
    times: usize,
    until: Option<i64>,
) -> Vec<i64> {
    let mut answers = Vec::new();
    for _ in 0..times {
        client
            .call(
                "me",
                "call",
                vec![s("poe://Server/probe/count"), Value::Undef, s("count")],
            )
            .unwrap();
        let n = inbox.wait("count").arg(0).as_i64().unwrap();
        answers.push(n);
        if until == Some(n) {
            break;
        }
    }
    answers
}

fn concurrency_limit(transport: Transport) {
    let net = Net::new(transport);
    let (n, mut inbox) = notes();
    let n1 = n.clone();
    let server = spawn_server(
        "Server",
        &net.endpoint(),
        |c| c.name("Server").concurrency(1),
        move |k| {
            k.spawn(driver(&n1, "srv"));
            probe(k);
            Ok(())
        },
    );
    let a = client(&server.value.at, &n);
    let a_id = a.kernel_id.clone();
    inbox.wait("connected");
    // B connects (the OS completes the connection into the listen queue)
    // and says SETUP: the server, at its limit, does not take it.
    let mut b = RawPeer::start(&server.value.at, "RawB", &[STORABLE], Protocol::Ikc0).unwrap();
    // A round trip through the server, ten times over: the server still
    // knows only A. (Without the limit, B is registered within these
    // round trips: see `no_limit_control`.)
    assert_eq!(probes(&a.value, &mut inbox, 10, None), [1; 10]);
    assert!(
        inbox
            .all("mon_register")
            .iter()
            .all(|n| n.text(1) != "RawB")
    );
    // A goes; the server takes B, which is served.
    a.value.call("me", "shutdown", vec![]).unwrap();
    a.join().unwrap();
    let peer = b.handshake().unwrap();
    assert_eq!(peer.kernel_id, server.kernel_id);
    assert_eq!(
        b.call("poe://Server/IKC/ping", Value::Undef).unwrap(),
        s("PONG")
    );
    // The server's own account: A unregistered before B registered.
    let a_gone = inbox.position(|n| n.label == "mon_unregister" && n.text(1) == a_id);
    let b_came = inbox.position(|n| n.label == "mon_register" && n.text(1) == "RawB");
    assert!(a_gone.is_some() && a_gone < b_came, "{}", inbox.dump());
    drop(b);
    server.value.handle.call("srv", "shutdown", vec![]).unwrap();
    server.join().unwrap();
}

#[test]
fn concurrency_limit_tcp() {
    concurrency_limit(Transport::Tcp);
}

#[test]
fn concurrency_limit_unix() {
    concurrency_limit(Transport::Unix);
}

/// The same sequence without a limit: B is registered while A is still
/// connected, so the probe above tells a waiting connection from a served one.
#[test]
fn no_limit_control() {
    let net = Net::new(Transport::Tcp);
    let (n, mut inbox) = notes();
    let n1 = n.clone();
    let server = spawn_server(
        "Server",
        &net.endpoint(),
        |c| c.name("Server"),
        move |k| {
            k.spawn(driver(&n1, "srv"));
            probe(k);
            Ok(())
        },
    );
    let a = client(&server.value.at, &n);
    inbox.wait("connected");
    let mut b = RawPeer::start(&server.value.at, "RawB", &[STORABLE], Protocol::Ikc0).unwrap();
    let answers = probes(&a.value, &mut inbox, 10, Some(2));
    println!("probes without a limit: {answers:?}");
    assert_eq!(answers.last(), Some(&2), "{answers:?}");
    b.handshake().unwrap();
    drop(b);
    a.value.call("me", "shutdown", vec![]).unwrap();
    a.join().unwrap();
    server.value.handle.call("srv", "shutdown", vec![]).unwrap();
    server.join().unwrap();
}

/// The handshake lines of one connection from a client speaking
/// `client_protocol` to a server configured with `server_protocol`,
/// through a recording relay; the client then pings the server.
fn handshake(server_protocol: Protocol, client_protocol: Protocol) -> (Vec<String>, Vec<String>) {
    let (n, mut inbox) = notes();
    let n1 = n.clone();
    let server = spawn_server(
        "Server",
        &Endpoint::Tcp(0),
        move |c| c.name("Server").protocol(server_protocol),
        move |k| {
            k.spawn(driver(&n1, "srv"));
            Ok(())
        },
    );
    let relay = Relay::start(server.value.at.port()).unwrap();
    let n2 = n.clone();
    let c = spawn_client(
        "Client",
        &Endpoint::Tcp(relay.port),
        move |c| {
            c.name("Client")
                .protocol(client_protocol)
                .on_connect(move |_| n2.send("connected", Vec::new()))
        },
        {
            let n = n.clone();
            move |k| {
                k.spawn(driver(&n, "me"));
                Ok(())
            }
        },
    );
    inbox.wait("connected");
    c.value
        .call(
            "me",
            "call",
            vec![s("poe://Server/IKC/ping"), Value::Undef, s("pong")],
        )
        .unwrap();
    assert_eq!(inbox.wait("pong").args, [s("PONG")]);
    c.value.call("me", "shutdown", vec![]).unwrap();
    c.join().unwrap();
    server.value.handle.call("srv", "shutdown", vec![]).unwrap();
    server.join().unwrap();
    let t = relay.transcript(0);
    (
        Transcript::lines(&t.to_server),
        Transcript::lines(&t.to_client),
    )
}

#[test]
fn protocols_ikc0_ikc_and_fallback() {
    // IKC0 both ways: one SETUP line each.
    let (up, down) = handshake(Protocol::Ikc0, Protocol::Ikc0);
    assert_eq!(up.len(), 1, "{up:?}");
    assert!(
        up[0].starts_with("SETUP KERNEL=") && up[0].contains("FREEZER=IKC::Native,"),
        "{up:?}"
    );
    assert_eq!(down.len(), 1, "{down:?}");
    assert!(
        down[0].starts_with("SETUP KERNEL=") && down[0].contains(";FREEZER=IKC::Native;"),
        "{down:?}"
    );

    // A client asking for the old handshake: HELLO, accepted by an IKC0 server.
    let (up, down) = handshake(Protocol::Ikc0, Protocol::Ikc);
    assert_eq!(up.first().map(String::as_str), Some("HELLO"), "{up:?}");
    assert_eq!(up.last().map(String::as_str), Some("WORLD"), "{up:?}");
    assert_eq!(down.last().map(String::as_str), Some("UP"), "{down:?}");

    // A server that speaks only the old handshake refuses SETUP; the IKC0
    // client falls back to HELLO by itself.
    let (up, down) = handshake(Protocol::Ikc, Protocol::Ikc0);
    assert!(up[0].starts_with("SETUP KERNEL="), "{up:?}");
    assert_eq!(up[1], "HELLO", "{up:?}");
    assert_eq!(down[0], "NOT", "{down:?}");
    assert_eq!(down.last().map(String::as_str), Some("UP"), "{down:?}");
    assert!(up.contains(&"FREEZER IKC::Native".to_owned()), "{up:?}");

    let (up, down) = handshake(Protocol::Ikc, Protocol::Ikc);
    assert_eq!(up[0], "HELLO", "{up:?}");
    assert_eq!(down.last().map(String::as_str), Some("UP"), "{down:?}");
}

/// `on_error`: a client offering only freezers the server does not have
/// fails its handshake; the server reports it and serves the next client.
fn server_on_error(transport: Transport) {
    let net = Net::new(transport);
    let (n, mut inbox) = notes();
    let (n1, n2) = (n.clone(), n.clone());
    let server = spawn_server(
        "Server",
        &net.endpoint(),
        move |c| {
            let mut only_dumper = Registry::empty();
            only_dumper.register(
                Registry::standard()
                    .get(DUMPER)
                    .expect("the Dumper freezer"),
            );
            c.name("Server")
                .freezers(only_dumper)
                .on_error(move |_, e| {
                    n1.send(
                        "on_error",
                        vec![
                            s(e.operation().as_str()),
                            Value::from(i64::from(e.errnum())),
                            s(&e.message()),
                        ],
                    );
                })
        },
        move |k| {
            k.spawn(driver(&n2, "srv"));
            Ok(())
        },
    );
    // Native only: refused in IKC0 (NOT), then in IKC's FREEZER offers; the
    // client gives up and hangs up.
    let mut bad = RawPeer::start(&server.value.at, "Bad", &[NATIVE], Protocol::Ikc0).unwrap();
    let failed = bad.handshake().unwrap_err();
    assert!(failed.to_string().contains("freezer"), "{failed:#}");
    drop(bad);
    let e = inbox.wait("on_error");
    assert_eq!(
        (e.text(0), e.arg(1)),
        ("read".to_owned(), &Value::from(0)),
        "the client hung up mid-handshake: {e:?}"
    );
    // The server goes on serving.
    let mut good = RawPeer::connect(&server.value.at, "Good", &[NATIVE, DUMPER]).unwrap();
    // (The Dumper freezer brings strings back without Perl's UTF-8 flag.)
    let pong = good.call("poe://Server/IKC/ping", Value::Undef).unwrap();
    assert_eq!(pong.as_bytes(), Some(&b"PONG"[..]));
    drop(good);
    inbox.wait_for("Good gone", |n| {
        n.label == "mon_unregister" && n.text(1) == "Good"
    });
    assert_eq!(inbox.all("on_error").len(), 1);
    server.value.handle.call("srv", "shutdown", vec![]).unwrap();
    server.join().unwrap();
}

#[test]
fn server_on_error_tcp() {
    server_on_error(Transport::Tcp);
}

#[test]
fn server_on_error_unix() {
    server_on_error(Transport::Unix);
}
