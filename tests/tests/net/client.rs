//! The client's options: TCP or Unix, its name and aliases as the server
//! sees them, `on_error` when the connection is refused, the serializers
//! it prefers, and the connect timeout.

use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use ikc_client::{Client, ClientConfig, ClientError};
use ikc_freezer::{DUMPER, STORABLE, Value};
use ikc_tests::{
    Endpoint, Net, Notes, Relay, Transcript, Transport, driver, notes, spawn_client, spawn_kernel,
};

use crate::common::{s, server, test_server};

fn names_seen_by_server(transport: Transport) {
    let net = Net::new(transport);
    let (n, mut inbox) = notes();
    let server = server(&net.endpoint(), &n, |_| Ok(()));
    let n1 = n.clone();
    let n2 = n.clone();
    let client = spawn_client(
        "Client",
        &server.value.at,
        move |c| {
            c.name("Joe")
                .aliases(["Joseph", "Jo"])
                .on_connect(move |_| n1.send("connected", Vec::new()))
        },
        move |k| {
            k.spawn(driver(&n2, "me"));
            Ok(())
        },
    );
    inbox.wait("connected");
    let kernels = server.value.handle.call("srv", "kernels", vec![]).unwrap();
    let entry = kernels
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k.get_index(0) == Some(&s(&client.kernel_id)))
        .expect("the client's kernel is registered under its ID");
    let aliases: Vec<String> = entry
        .get_index(1)
        .and_then(Value::as_array)
        .unwrap()
        .iter()
        .map(Value::to_string)
        .collect();
    assert_eq!(&aliases[..3], ["Joe", "Joseph", "Jo"], "{aliases:?}");
    // Then the client's end of the socket, as IKC names it.
    assert_eq!(aliases.len(), 4, "{aliases:?}");
    match &server.value.at {
        Endpoint::Tcp(_) => {
            let addr: SocketAddr = aliases[3].parse().expect("ip:port");
            assert!(addr.ip().is_loopback() && addr.port() != 0);
        }
        Endpoint::Unix(path) => {
            let clean: String = path
                .to_string_lossy()
                .chars()
                .map(|c| {
                    if c.is_alphanumeric() || "-:._".contains(c) {
                        c
                    } else {
                        '_'
                    }
                })
                .collect();
            let prefix = format!("unix:{clean}:{}-", std::process::id());
            assert!(aliases[3].starts_with(&prefix), "{aliases:?} {prefix}");
        }
    }
    // The server posts to the client by any of those names.
    for name in ["Joe", "Jo"] {
        let sent = server
            .value
            .handle
            .call(
                "srv",
                "post",
                vec![s(&format!("poe://{name}/IKC/ping")), Value::Undef],
            )
            .unwrap();
        assert_eq!(sent, Value::from(1), "{name}");
    }
    client.value.call("me", "shutdown", vec![]).unwrap();
    client.join().unwrap();
    server.value.handle.call("srv", "shutdown", vec![]).unwrap();
    server.join().unwrap();
}

#[test]
fn names_seen_by_server_tcp() {
    names_seen_by_server(Transport::Tcp);
}

#[test]
fn names_seen_by_server_unix() {
    names_seen_by_server(Transport::Unix);
}

/// A kernel with only a client connecting to `at`, noting `on_error`; with
/// no reconnect asked for, the kernel exits by itself after the error.
fn lone_client(at: &Endpoint, n: &Notes, timeout: Duration) {
    let (at, n) = (at.clone(), n.clone());
    let k = spawn_kernel("Client", move |kernel| {
        let config = at
            .client_config()
            .name("Lonely")
            .connect_timeout(timeout)
            .on_connect({
                let n = n.clone();
                move |_| n.send("connected", Vec::new())
            })
            .on_error(move |_, e| {
                n.send(
                    "on_error",
                    vec![
                        s(e.operation().as_str()),
                        Value::from(i64::from(e.errnum())),
                        s(&e.message()),
                    ],
                );
            });
        Client::spawn(kernel, config)?;
        Ok(())
    });
    k.join().expect("the client's kernel exits after the error");
}

#[test]
fn every_address_is_tried_until_one_accepts() {
    let net = Net::new(Transport::Tcp);
    let (n, mut inbox) = notes();
    let server = server(&net.endpoint(), &n, |_| Ok(()));
    // A port nobody listens on comes first: refused, then the server.
    let dead = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let live = SocketAddr::from(([127, 0, 0, 1], server.value.at.port()));
    let n1 = n.clone();
    let client = spawn_client(
        "Client",
        &server.value.at,
        move |c| {
            c.addresses([dead, live])
                .on_connect(move |_| n1.send("connected", Vec::new()))
                .on_error({
                    let n = n.clone();
                    move |_, e| n.send("on_error", vec![s(&e.to_string())])
                })
        },
        |_| Ok(()),
    );
    inbox.wait("connected");
    assert!(
        inbox.all("on_error").is_empty(),
        "a refused first address is not an error while others remain"
    );
    drop(client);
}

#[test]
fn a_host_name_is_resolved_and_every_address_tried() {
    // "localhost" is a name: resolved on a thread of its own (the kernel's
    // thread never waits for the resolver); it may give ::1 first, where
    // nothing listens, then 127.0.0.1.
    let net = Net::new(Transport::Tcp);
    let (n, mut inbox) = notes();
    let server = server(&net.endpoint(), &n, |_| Ok(()));
    let port = server.value.at.port();
    let n1 = n.clone();
    let client = spawn_kernel("Client", move |kernel| {
        let config = ClientConfig::tcp("localhost", port)
            .name("Client")
            .on_connect(move |_| n1.send("connected", Vec::new()));
        Client::spawn(kernel, config)?;
        Ok(kernel.handle())
    });
    inbox.wait("connected");
    drop(client);
}

#[test]
fn on_error_connection_refused() {
    let (n, mut inbox) = notes();
    // A TCP port nobody listens on: bound, then let go.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    lone_client(&Endpoint::Tcp(port), &n, Duration::from_secs(10));
    let e = inbox.wait("on_error");
    assert_eq!(e.text(0), "connect");
    assert_eq!(e.arg(1), &Value::from(111), "ECONNREFUSED: {e:?}");
    // A Unix socket file nobody listens on.
    let dir = ikc_tests::TempDir::new();
    let path = dir.path().join("dead.sock");
    drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
    lone_client(&Endpoint::Unix(path), &n, Duration::from_secs(10));
    let e = inbox.wait("on_error");
    assert_eq!(e.text(0), "connect");
    assert_eq!(e.arg(1), &Value::from(111), "ECONNREFUSED: {e:?}");
    assert!(inbox.all("connected").is_empty());
}

/// A listener on 127.0.0.1 whose accept queue is full, with the
/// connections that fill it. Linux drops a SYN for a listening socket
/// whose accept queue is full, so a new connect to it stays pending: the
/// one reliable way to make a loopback connect take long. The queue is
/// known to be full when a connect does not complete within 200 ms (a
/// probe that sets the test up; it orders nothing). `None` where the OS
/// does not behave so.
fn full_backlog_listener() -> Option<(socket2::Socket, Vec<TcpStream>, u16)> {
    use socket2::{Domain, Socket, Type};
    let sock = Socket::new(Domain::IPV4, Type::STREAM, None).ok()?;
    let addr: SocketAddr = "127.0.0.1:0".parse().ok()?;
    sock.bind(&addr.into()).ok()?;
    sock.listen(0).ok()?;
    let addr = sock.local_addr().ok()?.as_socket()?;
    let mut held = Vec::new();
    for _ in 0..8 {
        match TcpStream::connect_timeout(&addr, Duration::from_millis(200)) {
            Ok(s) => held.push(s),
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {
                return Some((sock, held, addr.port()));
            }
            Err(_) => return None,
        }
    }
    None
}

#[test]
fn connect_timeout() {
    let Some((_listener, _held, port)) = full_backlog_listener() else {
        println!("SKIP connect_timeout: could not fill a listen queue on 127.0.0.1 on this OS");
        return;
    };
    let (n, mut inbox) = notes();
    lone_client(&Endpoint::Tcp(port), &n, Duration::from_millis(100));
    let e = inbox.wait("on_error");
    assert_eq!(e.text(0), "connect");
    assert_eq!(e.arg(1), &Value::from(110), "ETIMEDOUT: {e:?}");
    assert!(e.text(2).contains("timed out"), "{e:?}");
}

/// The freezer line of a client's `SETUP` and of the server's answer, for
/// a client offering `serializers` (the default when `None`), through a
/// recording relay; the client checks a value survives an echo.
fn freezers_offered_and_chosen(serializers: Option<&'static [&'static str]>) -> (String, String) {
    let (n, mut inbox) = notes();
    let server = test_server(&Endpoint::Tcp(0), &n);
    let relay = Relay::start(server.value.at.port()).unwrap();
    let (n2, n3) = (n.clone(), n.clone());
    let client = spawn_client(
        "Client",
        &Endpoint::Tcp(relay.port),
        move |c| {
            let c = c
                .name("Client")
                .on_connect(move |_| n2.send("connected", Vec::new()));
            match serializers {
                Some(list) => c.freezers(list.iter().copied()),
                None => c,
            }
        },
        move |k| {
            k.spawn(driver(&n3, "me"));
            Ok(())
        },
    );
    inbox.wait("connected");
    let value = Value::from(vec![s("x\u{263a}y"), Value::from(-7), Value::Undef]);
    client
        .value
        .call(
            "me",
            "call",
            vec![s("poe://Server/test/echo"), value.clone(), s("echoed")],
        )
        .unwrap();
    let echoed = inbox.wait("echoed");
    assert!(
        ikc_examples::demo::perl_equivalent(echoed.arg(0), &value),
        "{echoed:?}"
    );
    client.value.call("me", "shutdown", vec![]).unwrap();
    client.join().unwrap();
    server.value.handle.call("srv", "shutdown", vec![]).unwrap();
    server.join().unwrap();
    let t = relay.transcript(0);
    let freezer = |lines: Vec<String>| {
        lines[0]
            .split(';')
            .find_map(|part| part.strip_prefix("FREEZER="))
            .expect("a FREEZER field")
            .to_owned()
    };
    (
        freezer(Transcript::lines(&t.to_server)),
        freezer(Transcript::lines(&t.to_client)),
    )
}

#[test]
fn serializers_preference() {
    // The default: native first, which our server takes.
    let (offered, chosen) = freezers_offered_and_chosen(None);
    assert_eq!(offered, "IKC::Native,Storable,POE::Component::IKC::Freezer");
    assert_eq!(chosen, "IKC::Native");
    // Only Storable offered: Storable.
    let (offered, chosen) = freezers_offered_and_chosen(Some(&[STORABLE]));
    assert_eq!((offered.as_str(), chosen.as_str()), (STORABLE, STORABLE));
    // The Dumper freezer preferred to Storable: the server follows the order.
    let (offered, chosen) = freezers_offered_and_chosen(Some(&[DUMPER, STORABLE]));
    assert_eq!(offered, format!("{DUMPER},{STORABLE}"));
    assert_eq!(chosen, DUMPER);
    // Nothing known: the client does not start.
    let err = spawn_kernel("Client", |kernel| {
        let err = Client::spawn(kernel, ClientConfig::tcp("127.0.0.1", 1).freezers(["YAML"]))
            .unwrap_err();
        Ok(err)
    });
    let (err, k) = err.split();
    assert!(matches!(err, ClientError::NoFreezer { .. }), "{err:?}");
    k.join().unwrap();
}
