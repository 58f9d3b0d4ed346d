//! Every method of ClientLite against the in-process test server (over
//! TCP, a Unix socket and an in-memory pipe), with each protocol and freezer.

mod util;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::Duration;

use anyhow::Result;
use ikc_clientlite::{Builder, ClientLite, Hash, LiteError, Protocol, Value};
use ikc_freezer::{Registry, to_value};
use ikc_specifier::HashForm;
use serde::{Deserialize, Serialize};

use util::mem::mem_pair;
use util::{Heard, ServerOptions, TestServer, logs, serve, target_text};

/// The value Perl's lite.pl echoes:
/// `{a => [1, 'two', "x\x{263A}y", undef], b => \'s', c => -7, d => {e => []}}`.
fn nested() -> Value {
    let mut d = Hash::new();
    d.insert("e", Value::Array(vec![]));
    let mut h = Hash::new();
    h.insert(
        "a",
        vec![
            Value::Int(1),
            Value::bytes("two"),
            Value::from("x\u{263A}y"),
            Value::Undef,
        ],
    );
    h.insert("b", Value::reference(Value::bytes("s")));
    h.insert("c", -7);
    h.insert("d", d);
    Value::from(h)
}

fn client(server: &TestServer) -> Builder {
    Builder::tcp("127.0.0.1", server.port()).timeout(Duration::from_secs(10))
}

#[test]
fn does_what_lite_pl_does() -> Result<()> {
    let server = TestServer::start()?;
    let mut poe = client(&server).name("LiteClient").connect()?;
    assert_eq!(poe.name(), "LiteClient");

    let registered = server.next_negotiation();
    assert_eq!(registered.kernel_id, "LiteClient");
    assert!(
        registered
            .aliases
            .iter()
            .any(|a| a.starts_with("127.0.0.1:"))
    );
    let peer = poe.peer().expect("connected").clone();
    assert_eq!(peer.kernel_id, server.kernel_id());
    assert_eq!(
        peer.freezer, "IKC::Native",
        "two Rust ends use the native codec"
    );
    assert_eq!(peer.protocol, Protocol::Ikc0);
    assert_eq!(poe.remote_name(), Some(server.kernel_id().as_str()));

    let n = poe.call("test/fetchQ", ())?;
    assert_eq!(n, Value::Int(42));
    let n = poe.post_respond("test/add_1", n)?;
    assert_eq!(n, Value::Int(43));
    assert_eq!(poe.call("test/echo", nested())?, nested());
    poe.post("test/here", n)?;
    let here = server.next_here();
    assert_eq!(here.params, Value::Int(43));
    // The relative specifier went to the server's kernel ID, from IKCLite.
    assert_eq!(
        target_text(&here.event),
        format!("poe://{}/test/here", server.kernel_id())
    );
    assert_eq!(
        here.from,
        Some(Arc::new(HashForm::new("LiteClient", "IKCLite", "")))
    );
    poe.disconnect();
    assert!(!poe.is_connected());
    assert!(poe.error().is_none());
    Ok(())
}

#[test]
fn every_freezer_and_protocol_works() -> Result<()> {
    for server_protocol in [Protocol::Ikc0, Protocol::Ikc] {
        let server = TestServer::start_with(ServerOptions {
            protocol: server_protocol,
            ..ServerOptions::default()
        })?;
        for client_protocol in [Protocol::Ikc0, Protocol::Ikc] {
            for freezer in ["IKC::Native", "Storable", "POE::Component::IKC::Freezer"] {
                let what =
                    format!("{server_protocol:?} server, {client_protocol:?} client, {freezer}");
                let mut poe = client(&server)
                    .protocol(client_protocol)
                    .freezer(freezer)
                    .connect()?;
                let peer = poe.peer().expect("connected").clone();
                assert_eq!(peer.freezer, freezer, "{what}");
                // Only IKC0 against an IKC0 server stays IKC0; the rest fall back.
                let expected =
                    if (server_protocol, client_protocol) == (Protocol::Ikc0, Protocol::Ikc0) {
                        Protocol::Ikc0
                    } else {
                        Protocol::Ikc
                    };
                assert_eq!(peer.protocol, expected, "{what}");
                let remote = match expected {
                    Protocol::Ikc0 => server.kernel_id(),
                    Protocol::Ikc => format!("127.0.0.1:{}", server.port()),
                };
                assert_eq!(poe.remote_name(), Some(remote.as_str()), "{what}");

                assert_eq!(poe.call("test/fetchQ", ())?.as_i64(), Some(42), "{what}");
                assert_eq!(
                    poe.post_respond("test/add_1", 42)?.as_i64(),
                    Some(43),
                    "{what}"
                );
                let back = poe.call("test/echo", nested())?;
                // Perl formats keep the text and numbers (strings may come
                // back as bytes); the native codec keeps everything.
                assert_eq!(back["a"][2].as_str(), Some("x\u{263A}y"), "{what}");
                assert_eq!(back["c"].as_i64(), Some(-7), "{what}");
                assert_eq!(
                    back["b"].as_referent().and_then(Value::as_str),
                    Some("s"),
                    "{what}"
                );
                assert!(back["a"][3].is_undef(), "{what}");
                poe.post("test/here", 1)?;
                let here = server.next_here();
                assert_eq!(
                    target_text(&here.event),
                    format!("poe://{remote}/test/here"),
                    "{what}"
                );
                poe.ping()?;
            }
        }
    }
    Ok(())
}

#[test]
fn call_list_asks_for_a_list() -> Result<()> {
    let server = TestServer::start()?;
    let mut poe = client(&server).connect()?;
    assert_eq!(
        poe.call_list("test/list", ())?,
        [Value::Int(1), Value::bytes("two"), Value::Int(3)]
    );
    // In scalar context the same state answers otherwise.
    assert_eq!(poe.call("test/list", ())?, Value::Int(3));
    // A list of one array (Perl's echo in list context) is that array.
    let list = poe.call_list("test/echo", vec![1, 2])?;
    assert_eq!(list, [Value::from(vec![1, 2])]);
    Ok(())
}

#[test]
fn call_as_converts_the_reply() -> Result<()> {
    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Job {
        id: u32,
        name: String,
        tags: Vec<String>,
    }
    let server = TestServer::start()?;
    let mut poe = client(&server).freezer("Storable").connect()?;
    let q: u64 = poe.call_as("test/fetchQ", ())?;
    assert_eq!(q, 42);
    let job = Job {
        id: 7,
        name: "build".into(),
        tags: vec!["ci".into(), "☺".into()],
    };
    let back: Job = poe.call_as("test/echo", to_value(&job)?)?;
    assert_eq!(back, job);
    let err = poe.call_as::<Vec<String>>("test/fetchQ", ()).unwrap_err();
    assert!(matches!(err, LiteError::Convert(_)), "{err}");
    assert!(matches!(poe.error(), Some(LiteError::Convert(_))));
    // The connection is fine.
    assert_eq!(poe.call("test/fetchQ", ())?, Value::Int(42));
    Ok(())
}

#[test]
fn responded_waits_for_a_post_to_our_session() -> Result<()> {
    let server = TestServer::start()?;
    let mut poe = client(&server).name("Waiter").connect()?;
    // The state posts back to its sender (IKC's proxy SENDER): the post
    // arrives at poe://Waiter/IKCLite/done with the arguments as an array.
    poe.post("test/notify", vec![Value::from("done"), Value::Int(7)])?;
    assert_eq!(poe.responded("done")?, Value::from(vec![7]));

    // Sent before anyone waits: kept for the next wait, not lost.
    poe.post("test/notify", vec![Value::from("later"), Value::Int(8)])?;
    poe.post("test/here", "sync")?;
    assert_eq!(server.next_here().params, Value::from("sync"));
    assert_eq!(poe.responded_list("later")?, [Value::Int(8)]);

    for bad in ["", "a/b"] {
        let err = poe.responded(bad).unwrap_err();
        assert!(
            matches!(err, LiteError::BadSpecifier { .. }),
            "{bad:?}: {err}"
        );
    }
    Ok(())
}

#[test]
fn absolute_and_hash_specifiers_are_sent_as_given() -> Result<()> {
    let server = TestServer::start()?;
    let mut poe = client(&server).connect()?;
    poe.post("poe://Inet/test/here", 1)?;
    assert_eq!(
        target_text(&server.next_here().event),
        "poe://Inet/test/here"
    );
    poe.post(HashForm::new("Ikc", "test", "here"), 2)?;
    let here = server.next_here();
    assert_eq!(
        here.event,
        ikc_clientlite::MessageTarget::Hash(HashForm::new("Ikc", "test", "here").into())
    );
    assert_eq!(poe.call("poe:/test/fetchQ", ())?, Value::Int(42));
    Ok(())
}

#[test]
fn ping_never_reconnects_and_ensure_connected_does() -> Result<()> {
    let mut server = TestServer::start()?;
    let mut poe = client(&server).connect()?;
    server.next_negotiation();
    poe.ping()?;
    poe.ensure_connected()?; // connected and answering: nothing happens
    server.stop();
    let err = poe.ping().unwrap_err();
    assert!(err.is_disconnect(), "{err}");
    assert!(!poe.is_connected());
    server.restart()?;
    assert!(matches!(poe.ping(), Err(LiteError::NotConnected)));
    assert!(matches!(poe.error(), Some(LiteError::NotConnected)));
    poe.ensure_connected()?;
    server.next_negotiation();
    poe.ping()?;
    assert_eq!(poe.remote_name(), Some(server.kernel_id().as_str()));
    Ok(())
}

#[test]
fn disconnect_is_final_until_ensure_connected() -> Result<()> {
    let server = TestServer::start()?;
    let mut poe = client(&server).connect()?;
    poe.disconnect();
    assert!(matches!(
        poe.post("test/here", 1),
        Err(LiteError::NotConnected)
    ));
    assert!(matches!(
        poe.call("test/fetchQ", ()),
        Err(LiteError::NotConnected)
    ));
    assert!(matches!(poe.responded("x"), Err(LiteError::NotConnected)));
    assert!(poe.peer().is_none() && poe.remote_name().is_none());
    poe.ensure_connected()?;
    assert_eq!(poe.call("test/fetchQ", ())?, Value::Int(42));
    Ok(())
}

#[cfg(unix)]
#[test]
fn connects_over_a_unix_socket() -> Result<()> {
    use std::os::unix::net::UnixListener;

    let server = TestServer::start()?;
    let path = std::env::temp_dir().join(format!("ikc-clientlite-{}.sock", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let listener = UnixListener::bind(&path)?;
    let shared = server.shared();
    let serving = thread::spawn(move || -> Result<()> {
        let (socket, _) = listener.accept()?;
        serve(socket, &shared, None, "unix:test".into())?;
        Ok(())
    });
    let mut poe = ClientLite::connect_unix(&path)?;
    assert_eq!(poe.remote_name(), Some(server.kernel_id().as_str()));
    assert!(
        poe.peer()
            .expect("connected")
            .aliases
            .iter()
            .any(|a| a.starts_with("unix:"))
    );
    assert_eq!(poe.call("test/fetchQ", ())?, Value::Int(42));
    poe.disconnect();
    serving.join().expect("server thread")?;
    std::fs::remove_file(&path)?;
    Ok(())
}

#[test]
fn runs_over_an_in_memory_pipe_and_reconnects_through_the_connector() -> Result<()> {
    let server = TestServer::start()?;
    let shared = server.shared();
    let connections = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&connections);
    let mut poe = Builder::tcp("memory", 1)
        .timeout(Duration::from_secs(10))
        .connect_with(move |address, _timeout| {
            assert_eq!(address.to_string(), "memory:1");
            counter.fetch_add(1, Ordering::SeqCst);
            let (ours, theirs) = mem_pair();
            let shared = Arc::clone(&shared);
            thread::spawn(move || serve(theirs, &shared, None, "memory".into()));
            Ok(ours)
        })?;
    assert_eq!(poe.call("test/fetchQ", ())?, Value::Int(42));
    assert_eq!(poe.call("test/echo", nested())?, nested());
    // The server closes the pipe mid-call; the next call reconnects.
    server.set_behaviour(util::Behaviour::CloseOnCall);
    assert!(matches!(
        poe.call("test/fetchQ", ()),
        Err(LiteError::Closed { .. })
    ));
    server.set_behaviour(util::Behaviour::Normal);
    assert_eq!(poe.call("test/fetchQ", ())?, Value::Int(42));
    assert_eq!(connections.load(Ordering::SeqCst), 2);
    Ok(())
}

#[test]
fn one_client_per_thread() -> Result<()> {
    let server = TestServer::start()?;
    let port = server.port();
    let workers: Vec<_> = (0..4)
        .map(|i| {
            thread::spawn(move || -> Result<String> {
                // Default names: unique in the process, so the server sends
                // each thread its own replies.
                let mut poe = ClientLite::connect("127.0.0.1", port)?;
                for j in 0..20 {
                    let n = i * 100 + j;
                    assert_eq!(poe.post_respond("test/add_1", n)?, Value::Int(n + 1));
                }
                Ok(poe.name().to_owned())
            })
        })
        .collect();
    let mut names = Vec::new();
    for worker in workers {
        names.push(worker.join().expect("worker thread")?);
    }
    names.sort();
    names.dedup();
    assert_eq!(names.len(), 4, "{names:?}");
    Ok(())
}

#[test]
fn the_server_registers_what_perl_would() -> Result<()> {
    logs::init();
    let server = TestServer::start_with(ServerOptions {
        freezers: {
            let mut registry = Registry::empty();
            registry.register(Arc::new(ikc_freezer::Storable::new()));
            registry
        },
        ..ServerOptions::default()
    })?;
    // Native is offered first and refused; Storable is taken.
    let poe = client(&server).name("Cli").pid(4242).connect()?;
    let Heard::Negotiated(peer) = server.next_heard() else {
        panic!("expected the negotiation first");
    };
    assert_eq!((peer.kernel_id.as_str(), peer.pid), ("Cli", Some(4242)));
    assert_eq!(peer.freezer, "Storable");
    assert_eq!(poe.peer().map(|p| p.freezer.as_str()), Some("Storable"));
    assert!(logs::take_warnings().is_empty());
    Ok(())
}
