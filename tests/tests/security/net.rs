//! Over sockets, between kernels on threads: a server with a TLS port and
//! a clear port in one kernel, both requiring the secret; good and bad
//! peers (ClientLite and client kernels); the server keeps serving, tells
//! `on_error` (with the channel's typed error) or its `error` monitors, and
//! registers nobody that failed.

use std::net::TcpStream;
use std::time::Duration;

use ikc_channel::{AuthError, ChannelError, TlsError};
use ikc_client::{Client, ClientConfig};
use ikc_clientlite::{ClientLite, LiteError};
use ikc_core::{InlineStates, Kernel};
use ikc_freezer::Value;
use ikc_responder::{Ikc, Limits, MonitorOp, MonitorStates};
use ikc_server::{Secret, Server, ServerConfig};
use ikc_tests::{Inbox, KernelThread, Notes, TestPki, notes, spawn_kernel};

const SECRET: &str = "cluster secret";

struct Secure {
    kernel: KernelThread<()>,
    handle: ikc_core::KernelHandle,
    tls_port: u16,
    clear_port: u16,
}

/// Kernel `Secure`: `test/echo` published, `test/private` published but
/// refused by the per-request hook, a TLS port (mutual TLS optional
/// through `mutual`) and a clear port, both requiring the secret; failed
/// handshakes noted as `failed` with the channel's error, registrations as
/// `register`.
fn secure_server(pki: &TestPki, notes: &Notes, limits: Limits) -> Secure {
    let tls = pki.server("server", false);
    let n = notes.clone();
    let kernel = spawn_kernel("Secure", move |kernel: &mut Kernel| {
        let secret = Secret::new(SECRET)?;
        let failed = |n: &Notes| {
            let n = n.clone();
            move |_: &mut ikc_core::Ctx<'_>, e: &ikc_responder::ConnectionError| {
                n.send(
                    "failed",
                    vec![Value::from(format!("{:?}", e.channel_error()))],
                );
            }
        };
        let base = |port| {
            ServerConfig::tcp("127.0.0.1", port)
                .name("Secure")
                .limits(limits)
                .secret(secret.clone())
        };
        let on_tls = Server::spawn(kernel, base(0).tls(tls).on_error(failed(&n)))?;
        let clear = Server::spawn(kernel, base(0).on_error(failed(&n)))?;
        let notes = n.clone();
        kernel.spawn(
            InlineStates::new()
                .state("_start", move |_, ctx, _| {
                    ctx.alias_set("test").expect("alias");
                    let ikc = Ikc::of(ctx).expect("responder");
                    ikc.publish("test", &["echo", "private"]);
                    ikc.authorize_requests(|req| {
                        if req.state == "private" {
                            Err(format!("{} may not call private", req.remote_kernel))
                        } else {
                            Ok(())
                        }
                    });
                    ikc.monitor(
                        ctx,
                        "*",
                        &MonitorStates::new().on(MonitorOp::Register, "reg"),
                    );
                })
                .state("echo", |_, _, ev| ev.args[0].clone())
                .state("private", |_, _, _| Value::from("secret data"))
                .state("reg", {
                    let notes = notes.clone();
                    move |_, _, ev| notes.send("register", vec![ev.args[1].clone()])
                })
                .state("stop", |_, ctx, _| {
                    Ikc::of(ctx).expect("responder").shutdown(ctx);
                    ctx.alias_remove("test").ok();
                }),
        );
        Ok((
            kernel.handle(),
            on_tls.port().unwrap(),
            clear.port().unwrap(),
        ))
    });
    let ((handle, tls_port, clear_port), kernel) = kernel.split();
    Secure {
        kernel,
        handle,
        tls_port,
        clear_port,
    }
}

fn lite(port: u16, name: &str) -> ikc_clientlite::Builder {
    ClientLite::builder("127.0.0.1", port)
        .name(name)
        .timeout(Duration::from_secs(20))
}

fn handshake_error(result: Result<ClientLite, LiteError>) -> ChannelError {
    match result {
        Err(LiteError::Handshake { source, .. }) => source,
        other => panic!("expected a handshake error, got {other:?}"),
    }
}

/// Wait until a kernel by this name is registered with the server.
fn registered(inbox: &mut Inbox, name: &str) {
    inbox.wait_for(name, |n| n.label == "register" && n.text(0) == name);
}

fn failed(inbox: &mut Inbox) -> String {
    inbox.wait("failed").text(0)
}

#[test]
fn bad_peers_are_refused_with_reasons_on_both_sides_and_the_server_goes_on() {
    let pki = TestPki::new();
    let (n, mut inbox) = notes();
    let server = secure_server(&pki, &n, Limits::default());
    let tls = || pki.client("localhost", false);
    let secret = || Secret::new(SECRET).unwrap();

    // TLS and the secret together: calls work; the per-request hook refuses one state.
    let mut good = lite(server.tls_port, "Good")
        .tls(tls())
        .secret(secret())
        .connect()
        .unwrap();
    assert_eq!(good.call("test/echo", 7).unwrap(), Value::from(7));
    let refused = good.call("test/private", ()).unwrap_err();
    assert!(
        matches!(&refused, LiteError::Remote { message, .. } if message.contains("Not authorized")),
        "{refused}"
    );
    registered(&mut inbox, "Good");

    // The wrong secret: the client finds the server's proof wrong and says so.
    let wrong = lite(server.tls_port, "Wrong")
        .tls(tls())
        .secret(Secret::new("guess").unwrap())
        .connect();
    assert_eq!(
        handshake_error(wrong),
        AuthError::BadProof { peer: "server" }.into()
    );
    assert!(failed(&mut inbox).contains("Refused"));

    // No secret on the clear port: refused with a reason the client reports.
    let none = handshake_error(lite(server.clear_port, "NoSecret").connect());
    assert!(
        matches!(&none, ChannelError::Refused { reason } if reason.starts_with("authentication required")),
        "{none}"
    );
    assert!(failed(&mut inbox).contains("NotOffered"));

    // A TLS client on the clear port, a clear client on the TLS port.
    let tls_on_clear = handshake_error(
        lite(server.clear_port, "TlsOnClear")
            .tls(tls())
            .secret(secret())
            .connect(),
    );
    assert!(
        matches!(tls_on_clear, ChannelError::Tls(TlsError::NotTls { .. })),
        "{tls_on_clear}"
    );
    assert!(failed(&mut inbox).contains("UnexpectedTls"));
    let clear_on_tls = lite(server.tls_port, "ClearOnTls")
        .secret(secret())
        .connect();
    assert!(clear_on_tls.is_err());
    assert!(failed(&mut inbox).contains("NotTls"));

    // A certificate for another name.
    let wrong_name = pki.client("ikc.example.net", false);
    let error = handshake_error(
        lite(server.tls_port, "WrongName")
            .tls(wrong_name)
            .secret(secret())
            .connect(),
    );
    assert!(
        format!("{error:?}").contains("NotValidForName"),
        "{error:?}"
    );
    failed(&mut inbox);

    // The server went on: the first client still works, a new one too, and
    // only the good ones were ever registered.
    assert_eq!(good.call("test/echo", 8).unwrap(), Value::from(8));
    let mut again = lite(server.clear_port, "Again")
        .secret(secret())
        .connect()
        .unwrap();
    assert_eq!(again.call("test/echo", 9).unwrap(), Value::from(9));
    registered(&mut inbox, "Again");
    drop((good, again));
    server.handle.post("test", "stop", vec![]).unwrap();
    drop(server.handle);
    server.kernel.join().unwrap();
    for note in inbox.all("register") {
        let name = note.text(0);
        assert!(
            !["Wrong", "NoSecret", "TlsOnClear", "ClearOnTls", "WrongName"]
                .contains(&name.as_str()),
            "{name} registered"
        );
    }
}

#[test]
fn a_client_kernel_authenticates_over_tls_and_a_wrong_one_gets_a_typed_error() {
    let pki = TestPki::new();
    let (n, mut inbox) = notes();
    let server = secure_server(&pki, &n, Limits::default());
    for (name, secret) in [("Kernel", SECRET), ("Impostor", "guess")] {
        let n = n.clone();
        let tls = pki.client("127.0.0.1", false);
        let port = server.tls_port;
        let client = spawn_kernel(name, move |kernel: &mut Kernel| {
            let up = n.clone();
            let config = ClientConfig::tcp("127.0.0.1", port)
                .name(name)
                .tls(tls)
                .secret(Secret::new(secret)?)
                .on_connect(move |ctx| {
                    up.send("up", vec![]);
                    Ikc::of(ctx).expect("responder").shutdown(ctx);
                })
                .on_error(move |_, e| {
                    n.send(
                        "client failed",
                        vec![Value::from(format!("{:?}", e.channel_error()))],
                    )
                });
            Client::spawn(kernel, config)?;
            Ok(())
        });
        if secret == SECRET {
            inbox.wait("up");
            registered(&mut inbox, name);
        } else {
            let note = inbox.wait("client failed");
            assert!(note.text(0).contains("BadProof"), "{}", note.text(0));
            assert!(failed(&mut inbox).contains("Refused"));
        }
        client.join().unwrap();
    }
    server.handle.post("test", "stop", vec![]).unwrap();
    drop(server.handle);
    server.kernel.join().unwrap();
}

/// 200 connections open and never finish the TLS handshake (half of them
/// send half a ClientHello): the server serves a good client meanwhile,
/// and each stalled one ends at the handshake timeout.
#[test]
fn two_hundred_stalled_tls_handshakes_time_out_and_the_server_goes_on() {
    let pki = TestPki::new();
    let (n, mut inbox) = notes();
    let mut limits = Limits::default();
    limits.handshake_timeout = Duration::from_secs(3);
    let server = secure_server(&pki, &n, limits);
    let hello = {
        let mut client = ikc_channel::ClientChannelConfig::new(
            ikc_channel::Identity::new("x"),
            ikc_freezer::Registry::standard(),
        );
        client.tls = Some(pki.client("localhost", false));
        let mut channel = ikc_channel::Channel::client(client, std::time::Instant::now()).unwrap();
        let mut bytes = Vec::new();
        let _ = channel.poll_transmit(&mut bytes);
        bytes
    };
    let stalled: Vec<TcpStream> = (0..200)
        .map(|i| {
            let mut s = TcpStream::connect(("127.0.0.1", server.tls_port)).unwrap();
            if i % 2 == 0 {
                std::io::Write::write_all(&mut s, &hello[..hello.len() / 2]).unwrap();
            }
            s
        })
        .collect();
    let mut good = lite(server.tls_port, "Good")
        .tls(pki.client("localhost", false))
        .secret(Secret::new(SECRET).unwrap())
        .connect()
        .unwrap();
    assert_eq!(good.call("test/echo", 1).unwrap(), Value::from(1));
    for _ in 0..200 {
        let why = failed(&mut inbox);
        assert!(why.contains("HandshakeTimeout"), "{why}");
    }
    assert_eq!(good.call("test/echo", 2).unwrap(), Value::from(2));
    drop((good, stalled));
    server.handle.post("test", "stop", vec![]).unwrap();
    drop(server.handle);
    server.kernel.join().unwrap();
}

/// A server without `on_error` tells its `error` monitors why a peer
/// failed (`channel-negotiate`), and registers nobody.
#[test]
fn a_failed_handshake_is_an_error_monitor_event() {
    let (n, mut inbox) = notes();
    let server = spawn_kernel("Watched", move |kernel: &mut Kernel| {
        let config = ServerConfig::tcp("127.0.0.1", 0)
            .name("Watched")
            .secret(Secret::new(SECRET)?);
        let port = Server::spawn(kernel, config)?.port().unwrap();
        let notes = n.clone();
        kernel.spawn(
            InlineStates::new()
                .state("_start", |_, ctx, _| {
                    ctx.alias_set("watcher").expect("alias");
                    let ikc = Ikc::of(ctx).expect("responder");
                    let states = MonitorStates::new()
                        .on(MonitorOp::Error, "error")
                        .on(MonitorOp::Register, "reg");
                    ikc.monitor(ctx, "*", &states);
                })
                .state("error", {
                    let notes = notes.clone();
                    move |_, _, ev| notes.send("error", ev.args)
                })
                .state("reg", move |_, _, ev| notes.send("register", ev.args))
                .state("stop", |_, ctx, _| {
                    Ikc::of(ctx).expect("responder").shutdown(ctx);
                    ctx.alias_remove("watcher").ok();
                }),
        );
        Ok((kernel.handle(), port))
    });
    let ((handle, port), server) = server.split();
    let wrong = lite(port, "Wrong")
        .secret(Secret::new("guess").unwrap())
        .connect();
    assert!(wrong.is_err());
    let note = inbox.wait("error");
    let said: Vec<String> = note.args.iter().map(ToString::to_string).collect();
    assert!(
        said.iter()
            .any(|a| a.contains("refused") || a.contains("Refused")),
        "{said:?}"
    );
    assert!(said.iter().any(|a| a.contains("negotiate")), "{said:?}");
    handle.post("watcher", "stop", vec![]).unwrap();
    drop(handle);
    server.join().unwrap();
    assert!(inbox.all("register").is_empty(), "nobody registered");
}

/// The tokio client (`ikc-clientlite-async`) proves the secret and speaks
/// TLS with the same channel as ClientLite: calls over the TLS port and
/// the clear port, several tasks on one TLS connection, the per-request
/// hook's refusal; a wrong secret, no secret and a certificate for another
/// name fail with the channel's typed errors, and the server goes on.
#[test]
fn the_async_client_proves_the_secret_and_speaks_tls() {
    use ikc_clientlite_async::Builder;

    let pki = TestPki::new();
    let (n, mut inbox) = notes();
    let server = secure_server(&pki, &n, Limits::default());
    let secret = || Secret::new(SECRET).unwrap();
    let lite = |port, name: &str| {
        Builder::tcp("127.0.0.1", port)
            .name(name)
            .timeout(Duration::from_secs(20))
    };
    let async_handshake_error = |result: Result<_, LiteError>| match result {
        Err(LiteError::Handshake { source, .. }) => source,
        Err(other) => panic!("expected a handshake error, got {other:?}"),
        Ok(_) => panic!("expected a handshake error, got a connection"),
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let tls = lite(server.tls_port, "AsyncTls")
            .tls(pki.client("localhost", false))
            .secret(secret())
            .connect()
            .await
            .unwrap();
        let tasks: Vec<_> = (0..20_i64)
            .map(|i| {
                let tls = tls.clone();
                tokio::spawn(async move { tls.call_as::<i64>("test/echo", i).await })
            })
            .collect();
        for (i, task) in (0..).zip(tasks) {
            assert_eq!(task.await.unwrap().unwrap(), i);
        }
        let refused = tls.call("test/private", ()).await.unwrap_err();
        assert!(
            matches!(&refused, LiteError::Remote { message, .. } if message.contains("Not authorized")),
            "{refused}"
        );
        registered(&mut inbox, "AsyncTls");

        let clear = lite(server.clear_port, "AsyncClear")
            .secret(secret())
            .connect()
            .await
            .unwrap();
        assert_eq!(
            clear.call("test/echo", "in clear").await.unwrap(),
            Value::from("in clear")
        );
        registered(&mut inbox, "AsyncClear");

        let wrong = lite(server.tls_port, "AsyncWrong")
            .tls(pki.client("localhost", false))
            .secret(Secret::new("guess").unwrap())
            .connect()
            .await;
        assert_eq!(
            async_handshake_error(wrong),
            AuthError::BadProof { peer: "server" }.into()
        );
        assert!(failed(&mut inbox).contains("Refused"));

        let none = async_handshake_error(lite(server.clear_port, "AsyncNoSecret").connect().await);
        assert!(
            matches!(&none, ChannelError::Refused { reason } if reason.starts_with("authentication required")),
            "{none}"
        );
        assert!(failed(&mut inbox).contains("NotOffered"));

        let wrong_name = async_handshake_error(
            lite(server.tls_port, "AsyncWrongName")
                .tls(pki.client("ikc.example.net", false))
                .secret(secret())
                .connect()
                .await,
        );
        assert!(
            format!("{wrong_name:?}").contains("NotValidForName"),
            "{wrong_name:?}"
        );
        failed(&mut inbox);

        // The good connections still work.
        assert_eq!(tls.call("test/echo", 8).await.unwrap(), Value::from(8));
        assert_eq!(clear.call("test/echo", 9).await.unwrap(), Value::from(9));
    });
    drop(runtime);
    server.handle.post("test", "stop", vec![]).unwrap();
    drop(server.handle);
    server.kernel.join().unwrap();
    for note in inbox.all("register") {
        let name = note.text(0);
        assert!(
            !["AsyncWrong", "AsyncNoSecret", "AsyncWrongName"].contains(&name.as_str()),
            "{name} registered"
        );
    }
}
