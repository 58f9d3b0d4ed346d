//! `IKC/shutdown`: every channel closes once its queued messages are
//! written, the monitors are told, and `run()` returns on both sides.

use ikc_core::{InlineStates, Kernel};
use ikc_freezer::Value;
use ikc_responder::{Ikc, MonitorOp, MonitorStates};
use ikc_tests::{Net, Notes, Transport, notes};

use crate::common::{client, s, server, test_server, test_session};

const MESSAGES: i64 = 10_000;

/// `counter/count` checks its ARG0 counts up from 0; when a kernel
/// unregisters it notes `total` with how many it got and whether they
/// came in order.
fn counter(kernel: &mut Kernel, n: &Notes) {
    let n = n.clone();
    kernel.spawn(
        InlineStates::with_heap((0i64, true))
            .state("_start", |_, ctx, _| {
                ctx.alias_set("counter").expect("alias free");
                let ikc = Ikc::of(ctx).expect("responder");
                ikc.publish("counter", &["count"]);
                ikc.monitor(
                    ctx,
                    "*",
                    &MonitorStates::new()
                        .on(MonitorOp::Unregister, "gone")
                        .on(MonitorOp::Shutdown, "down"),
                );
            })
            .state("count", |(count, in_order), _, ev| {
                *in_order &= ev.args.first().and_then(Value::as_i64) == Some(*count);
                *count += 1;
            })
            .state("gone", move |(count, in_order), _, ev| {
                if ev.args[2].as_bool() {
                    n.send("total", vec![Value::from(*count), Value::Bool(*in_order)]);
                }
            })
            .state("down", |_, ctx, _| {
                let _ = ctx.alias_remove("counter");
            }),
    );
}

fn queued_messages_are_flushed(transport: Transport) {
    let net = Net::new(transport);
    let (n, mut inbox) = notes();
    let n1 = n.clone();
    let server = server(&net.endpoint(), &n, move |k| {
        counter(k, &n1);
        Ok(())
    });
    let client = client(&server.value.at, &n);
    inbox.wait("connected");
    // 10,000 posts, then IKC/shutdown, in one handler.
    let sent = client
        .value
        .call(
            "me",
            "post_and_shutdown",
            vec![s("poe://Server/counter/count"), Value::from(MESSAGES)],
        )
        .unwrap();
    assert_eq!(sent, Value::from(MESSAGES));
    // The client's monitors hear of the shutdown, and its kernel exits.
    inbox.wait_for("client shutdown", |n| {
        n.label == "mon_shutdown" && n.text(3) == "me"
    });
    client.join().unwrap();
    // The server got every message, in order, before the connection closed.
    assert_eq!(
        inbox.wait("total").args,
        [Value::from(MESSAGES), Value::Bool(true)]
    );
    server.value.handle.call("srv", "shutdown", vec![]).unwrap();
    server.join().unwrap();
}

#[test]
fn queued_messages_are_flushed_tcp() {
    queued_messages_are_flushed(Transport::Tcp);
}

#[test]
fn queued_messages_are_flushed_unix() {
    queued_messages_are_flushed(Transport::Unix);
}

fn server_shutdown_closes_every_channel(transport: Transport) {
    let net = Net::new(transport);
    let (n, mut inbox) = notes();
    let server = server(&net.endpoint(), &n, |_| Ok(()));
    let clients: Vec<_> = ["One", "Two"]
        .iter()
        .map(|name| {
            let (n1, n2) = (n.clone(), n.clone());
            let name: &'static str = name;
            ikc_tests::spawn_client(
                name,
                &server.value.at,
                move |c| {
                    c.name(name)
                        .on_connect(move |_| n1.send("connected", Vec::new()))
                },
                move |k| {
                    k.spawn(ikc_tests::driver(&n2, name));
                    test_session(k, &n2, name);
                    Ok(())
                },
            )
        })
        .collect();
    inbox.wait("connected");
    inbox.wait("connected");
    // A message to each client and the shutdown, in one handler: the
    // messages go out before the channels close.
    let sent = server
        .value
        .handle
        .call(
            "srv",
            "post_and_shutdown",
            vec![s("poe://One,Two/test/here"), Value::from(1)],
        )
        .unwrap();
    assert_eq!(sent, Value::from(2));
    inbox.wait_for("server shutdown", |n| {
        n.label == "mon_shutdown" && n.text(3) == "srv"
    });
    // Every channel closed: the server's kernel has nothing left and exits.
    server.join().unwrap();
    for (name, client) in ["One", "Two"].into_iter().zip(clients) {
        assert_eq!(inbox.wait(&format!("here@{name}")).args, [Value::from(0)]);
        inbox.wait_for("server gone", |n| {
            n.label == "mon_unregister" && n.text(3) == name && n.arg(2) == &Value::Bool(true)
        });
        inbox.wait_for("channel closed", |n| {
            n.label == "mon_channel" && n.text(3) == name && n.text(4) == "close"
        });
        client.value.call(name, "shutdown", vec![]).unwrap();
        client.join().unwrap();
    }
}

#[test]
fn server_shutdown_closes_every_channel_tcp() {
    server_shutdown_closes_every_channel(Transport::Tcp);
}

#[test]
fn server_shutdown_closes_every_channel_unix() {
    server_shutdown_closes_every_channel(Transport::Unix);
}

/// A post queued for a proxy session, or for the forwarder (Lightspeed
/// style), in the handler that shuts IKC down still goes out.
fn queued_events_go_out_before_shutdown(transport: Transport) {
    let net = Net::new(transport);
    let (n, mut inbox) = notes();
    let server = test_server(&net.endpoint(), &n);
    for (target, state, what) in [
        ("poe://Server/test", s("here"), "via session"),
        ("poe://Server/test/here", Value::Undef, "via post_to"),
    ] {
        let client = client(&server.value.at, &n);
        inbox.wait("connected");
        client
            .value
            .call(
                "me",
                "subscribe",
                vec![Value::from(vec!["poe://Server/test"]), s("subscribed")],
            )
            .unwrap();
        inbox.wait("subscribed");
        let queued = client
            .value
            .call("me", "queue_and_shutdown", vec![s(target), state])
            .unwrap();
        assert_eq!(queued, Value::Bool(true));
        client.join().unwrap();
        assert_eq!(inbox.wait("here@Server").args, [s(what)]);
    }
    server.value.handle.call("srv", "shutdown", vec![]).unwrap();
    server.join().unwrap();
}

#[test]
fn queued_events_go_out_before_shutdown_tcp() {
    queued_events_go_out_before_shutdown(Transport::Tcp);
}

#[test]
fn queued_events_go_out_before_shutdown_unix() {
    queued_events_go_out_before_shutdown(Transport::Unix);
}
