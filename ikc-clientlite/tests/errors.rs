//! Every way things go wrong: timeouts, a server that closes, restarts or
//! disappears, refused freezers, error reports, stray replies, bad frames.

mod util;

use std::io::Read;
use std::net::TcpListener;
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use anyhow::Result;
use ikc_channel::{ChannelError, Limits};
use ikc_clientlite::{Builder, ClientLite, LiteError, Protocol, Value};
use ikc_freezer::{Dumper, Registry};

use util::{Behaviour, ServerOptions, TestServer, logs};

fn client(server: &TestServer) -> Builder {
    Builder::tcp("127.0.0.1", server.port()).timeout(Duration::from_secs(10))
}

#[test]
fn a_reply_that_never_comes_is_a_timeout_then_the_next_call_reconnects() -> Result<()> {
    let server = TestServer::start()?;
    let mut poe = client(&server)
        .name("Waiting")
        .timeout(Duration::from_millis(200))
        .connect()?;
    server.next_negotiation();
    // A state that returns undef sends no reply (IKC's rule).
    let err = poe.call("test/nothing", ()).unwrap_err();
    match &err {
        LiteError::Timeout { waiting_for, after } => {
            assert_eq!(waiting_for, "poe://Waiting/IKCLite/response0");
            assert_eq!(*after, Duration::from_millis(200));
        }
        other => panic!("expected a timeout, got {other}"),
    }
    assert!(matches!(poe.error(), Some(LiteError::Timeout { .. })));
    assert!(!poe.is_connected(), "a timeout drops the connection");
    poe.set_timeout(Duration::from_secs(10));
    assert_eq!(poe.call("test/fetchQ", ())?, Value::Int(42));
    assert_eq!(
        server.next_negotiation().kernel_id,
        "Waiting",
        "connected again"
    );

    server.set_behaviour(Behaviour::Silent);
    poe.set_timeout(Duration::from_millis(100));
    for result in [
        poe.post_respond("test/add_1", 1),
        poe.call("test/fetchQ", ()),
    ] {
        assert!(
            matches!(result, Err(LiteError::Timeout { .. })),
            "{result:?}"
        );
    }
    Ok(())
}

#[test]
fn a_server_that_closes_mid_call_is_a_clear_error() -> Result<()> {
    let server = TestServer::start()?;
    let mut poe = client(&server).connect()?;
    server.set_behaviour(Behaviour::CloseOnCall);
    let err = poe.call("test/fetchQ", ()).unwrap_err();
    match &err {
        LiteError::Closed { waiting_for } => assert!(waiting_for.ends_with("/IKCLite/response0")),
        other => panic!("expected Closed, got {other}"),
    }
    assert!(err.to_string().contains("closed the connection"), "{err}");
    let err = poe.post_respond("test/add_1", 1).unwrap_err();
    assert!(matches!(err, LiteError::Closed { .. }), "{err}");
    server.set_behaviour(Behaviour::Normal);
    assert_eq!(poe.call("test/fetchQ", ())?, Value::Int(42));
    Ok(())
}

#[test]
fn a_restarted_server_gets_the_message_after_one_reconnection() -> Result<()> {
    let mut server = TestServer::start()?;
    let mut poe = client(&server).connect()?;
    server.next_negotiation();
    let first = server.kernel_id();
    assert_eq!(poe.call("test/fetchQ", ())?, Value::Int(42));
    server.restart()?;
    // The old connection is closed; the post notices, connects again and
    // sends it to the new incarnation.
    poe.post("test/here", "after restart")?;
    server.next_negotiation();
    let here = server.next_here();
    assert_eq!(here.params, Value::from("after restart"));
    let second = server.kernel_id();
    assert_ne!(first, second);
    assert_eq!(poe.remote_name(), Some(second.as_str()));
    assert_eq!(
        util::target_text(&here.event),
        format!("poe://{second}/test/here")
    );
    assert_eq!(poe.call("test/fetchQ", ())?, Value::Int(42));

    // Restarted between a call and the next call.
    server.restart()?;
    assert_eq!(poe.call("test/fetchQ", ())?, Value::Int(42));
    Ok(())
}

#[test]
fn a_server_gone_for_good_fails_after_one_attempt() -> Result<()> {
    let mut server = TestServer::start()?;
    let mut poe = client(&server).connect()?;
    server.stop();
    let err = poe.post("test/here", 1).unwrap_err();
    assert!(matches!(err, LiteError::Connect { .. }), "{err}");
    assert!(!poe.is_connected());
    // Still gone: each operation tries once more, and says why it failed.
    let err = poe.call("test/fetchQ", ()).unwrap_err();
    assert!(matches!(err, LiteError::Connect { .. }), "{err}");
    assert!(
        err.to_string()
            .contains(&format!("127.0.0.1:{}", server.port())),
        "{err}"
    );
    Ok(())
}

#[test]
fn connecting_nowhere_is_a_connect_error() -> Result<()> {
    let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let err = ClientLite::connect("127.0.0.1", port).unwrap_err();
    match &err {
        LiteError::Connect { address, source } => {
            assert_eq!(address, &format!("127.0.0.1:{port}"));
            assert_eq!(source.kind(), std::io::ErrorKind::ConnectionRefused);
        }
        other => panic!("expected Connect, got {other}"),
    }
    Ok(())
}

#[test]
fn a_silent_server_times_out_the_negotiation() -> Result<()> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let port = listener.local_addr()?.port();
    let (held_tx, held_rx) = std::sync::mpsc::channel();
    let holder = thread::spawn(move || -> Result<Vec<u8>> {
        let (mut socket, _) = listener.accept()?;
        // Keep the socket open until the client has given up, then see
        // what it sent.
        held_rx.recv()?;
        let mut sent = Vec::new();
        socket.read_to_end(&mut sent)?;
        Ok(sent)
    });
    let err = Builder::tcp("127.0.0.1", port)
        .name("Impatient")
        .connect_timeout(Duration::from_millis(200))
        .connect()
        .unwrap_err();
    match &err {
        LiteError::Timeout { waiting_for, after } => {
            assert_eq!(
                waiting_for,
                &format!("negotiation phase client_010 with 127.0.0.1:{port}")
            );
            assert_eq!(*after, Duration::from_millis(200));
        }
        other => panic!("expected a timeout, got {other}"),
    }
    held_tx.send(())?;
    let sent = holder.join().expect("holder thread")?;
    let sent = String::from_utf8(sent)?;
    assert!(
        sent.starts_with("SETUP KERNEL=Impatient;FREEZER=IKC::Native,Storable;PID="),
        "{sent}"
    );
    Ok(())
}

#[test]
fn a_server_that_hangs_up_during_negotiation_is_a_clear_error() -> Result<()> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let port = listener.local_addr()?.port();
    let closer = thread::spawn(move || listener.accept().map(drop));
    let err = ClientLite::connect("127.0.0.1", port).unwrap_err();
    assert!(
        matches!(&err, LiteError::Closed { waiting_for } if waiting_for.starts_with("negotiation phase")),
        "{err}"
    );
    closer.join().expect("closer thread")?;
    Ok(())
}

#[test]
fn a_refused_freezer_fails_the_negotiation() -> Result<()> {
    let mut only_dumper = Registry::empty();
    only_dumper.register(Arc::new(Dumper::new()));
    for protocol in [Protocol::Ikc0, Protocol::Ikc] {
        let server = TestServer::start_with(ServerOptions {
            protocol,
            freezers: only_dumper.clone(),
        })?;
        let err = client(&server).freezer("Storable").connect().unwrap_err();
        match &err {
            LiteError::Handshake {
                source: ChannelError::NoCommonFreezer { offered },
                ..
            } => assert_eq!(offered, &["Storable"]),
            other => panic!("{protocol:?}: expected a refused freezer, got {other}"),
        }
        // What the server does take works.
        let mut poe = client(&server)
            .freezer("POE::Component::IKC::Freezer")
            .connect()?;
        assert_eq!(poe.call("test/fetchQ", ())?.as_i64(), Some(42));
    }
    Ok(())
}

#[test]
fn an_error_report_says_what_the_server_said() -> Result<()> {
    let server = TestServer::start()?;
    let mut poe = client(&server).name("Asker").connect()?;
    let err = poe.call("test/nope", 1).unwrap_err();
    match &err {
        LiteError::Remote {
            message,
            kernel,
            operation,
        } => {
            assert!(
                message.contains("has not published state 'nope'"),
                "{message}"
            );
            assert!(message.contains("sent by poe://Asker/IKCLite"), "{message}");
            assert_eq!(kernel, &server.kernel_id());
            assert_eq!(operation, "check");
        }
        other => panic!("expected a remote error, got {other}"),
    }
    assert!(
        err.to_string().contains("has not published state 'nope'"),
        "{err}"
    );
    assert!(
        poe.is_connected(),
        "an error report leaves the connection up"
    );
    assert_eq!(poe.call("test/fetchQ", ())?, Value::Int(42));
    Ok(())
}

#[test]
fn an_error_report_for_an_earlier_post_ends_the_next_wait_as_in_perl() -> Result<()> {
    logs::init();
    let server = TestServer::start()?;
    let mut poe = client(&server).name("Poster").connect()?;
    poe.post("test/nope", 1)?;
    // The report comes first: this call fails with it...
    let err = poe.call("test/fetchQ", ()).unwrap_err();
    assert!(
        matches!(err, LiteError::Remote { ref operation, .. } if operation == "check"),
        "{err}"
    );
    // ...and its late reply is dropped, with a warning, by the next wait.
    assert_eq!(poe.call("test/fetchQ", ())?, Value::Int(42));
    let warnings = logs::take_warnings();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].contains("poe://Poster/IKCLite/response0")
            && warnings[0].contains("waiting for poe://Poster/IKCLite/response1"),
        "{warnings:?}"
    );
    Ok(())
}

#[test]
fn replies_for_other_states_are_dropped_with_a_warning() -> Result<()> {
    logs::init();
    let server = TestServer::start()?;
    let mut poe = client(&server).name("Strays").connect()?;
    server.set_behaviour(Behaviour::StrayFirst);
    assert_eq!(poe.call("test/fetchQ", ())?, Value::Int(42));
    assert_eq!(poe.post_respond("test/add_1", 1)?, Value::Int(2));
    let warnings = logs::take_warnings();
    assert_eq!(warnings.len(), 4, "{warnings:?}");
    assert!(
        warnings[0].contains("poe://Strays/IKCLite/response9999"),
        "{warnings:?}"
    );
    assert!(warnings[1].contains("\"elsewhere\""), "{warnings:?}");

    server.set_behaviour(Behaviour::ErrorFirst);
    let err = poe.call("test/fetchQ", ()).unwrap_err();
    assert!(
        matches!(&err, LiteError::Remote { message, kernel, operation }
            if message == "something failed" && kernel == "Inet" && operation == "invocation"),
        "{err}"
    );
    Ok(())
}

#[test]
fn a_frame_that_does_not_thaw_ends_the_wait() -> Result<()> {
    logs::init();
    let server = TestServer::start()?;
    let mut poe = client(&server).freezer("Storable").connect()?;
    server.set_behaviour(Behaviour::BadFrameFirst);
    let err = poe.call("test/fetchQ", ()).unwrap_err();
    assert!(matches!(err, LiteError::Thaw(_)), "{err}");
    assert!(
        poe.is_connected(),
        "the connection goes on, as the channel's does"
    );
    server.set_behaviour(Behaviour::Normal);
    // The late reply to the failed call is dropped; this one's is taken.
    assert_eq!(poe.call("test/fetchQ", ())?, Value::Int(42));
    assert_eq!(logs::take_warnings().len(), 1);
    Ok(())
}

#[test]
fn a_frame_over_the_limit_closes_the_connection() -> Result<()> {
    let server = TestServer::start()?;
    let mut limits = Limits::default();
    limits.max_frame_len = 200;
    let mut poe = client(&server).limits(limits).connect()?;
    let big = "x".repeat(1000);
    // Writing is not limited; the echoed frame is, when it is read.
    let err = poe.call("test/echo", big.as_str()).unwrap_err();
    assert!(
        matches!(
            err,
            LiteError::Channel(ChannelError::FrameTooLarge { limit: 200, .. })
        ),
        "{err}"
    );
    assert!(!poe.is_connected());
    assert_eq!(poe.call("test/echo", "small")?, Value::from("small"));
    Ok(())
}

#[test]
fn bad_specifiers_and_unfreezable_values_send_nothing() -> Result<()> {
    let server = TestServer::start()?;
    let mut poe = client(&server).freezer("Storable").connect()?;
    for spec in ["fetchQ", "poe://Inet", "test/bad state!"] {
        let err = poe.post(spec, 1).unwrap_err();
        assert!(
            matches!(err, LiteError::BadSpecifier { .. }),
            "{spec}: {err}"
        );
    }
    let mut deep = Value::Int(0);
    for _ in 0..600 {
        deep = Value::Array(vec![deep]);
    }
    let err = poe.call("test/echo", deep).unwrap_err();
    assert!(matches!(err, LiteError::Freeze(_)), "{err}");
    assert!(poe.is_connected());
    // Nothing reached the server but this.
    poe.post("test/here", "only")?;
    assert_eq!(server.next_here().params, Value::from("only"));
    assert_eq!(poe.call("test/fetchQ", ())?, Value::Int(42));
    Ok(())
}

#[test]
fn a_pong_that_is_not_pong_fails_the_ping() -> Result<()> {
    // A server whose IKC/ping answers something else: the in-memory pipe
    // with a hand-written answer.
    use ikc_channel::{Channel, ChannelEvent, Identity, Message, ServerChannelConfig};
    use std::io::Write;
    use std::time::Instant;

    let mut poe = Builder::tcp("memory", 1).connect_with(|_, _| {
        let (ours, mut theirs) = util::mem::mem_pair();
        thread::spawn(move || -> Result<()> {
            let me = Identity::new("odd-1");
            let mut channel = Channel::server(
                ServerChannelConfig::new(me, Registry::standard()),
                Instant::now(),
            )?;
            let (mut buf, mut out) = (vec![0; 4096], Vec::new());
            loop {
                let n = theirs.read(&mut buf)?;
                if n == 0 {
                    return Ok(());
                }
                channel.handle_input(&buf[..n])?;
                while let Some(event) = channel.poll_event() {
                    if let ChannelEvent::Message(message) = event
                        && let Some(rsvp) = message.rsvp
                    {
                        channel.send(&Message::post(rsvp, "PANG"))?;
                    }
                }
                while channel.poll_transmit(&mut out).is_some() {
                    theirs.write_all(&out)?;
                    out.clear();
                }
            }
        });
        Ok(ours)
    })?;
    let err = poe.ping().unwrap_err();
    assert!(
        matches!(&err, LiteError::PingFailed { reply } if *reply == Value::from("PANG")),
        "{err}"
    );
    assert!(!poe.is_connected());
    Ok(())
}
