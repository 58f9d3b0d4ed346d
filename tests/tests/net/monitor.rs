//! Monitors: register (once per name, with the real-ID flag right),
//! unregister when the connection goes, channel ready/close with the
//! channel session's id (and closing a channel by posting `shutdown` to
//! it), the error operations, the `data` passed back, and shutdown.

use std::collections::BTreeSet;

use ikc_core::{InlineStates, Kernel, SessionId};
use ikc_freezer::{Hash, Value};
use ikc_responder::{Ikc, MonitorOp, MonitorStates};
use ikc_tests::{Inbox, Net, Note, Notes, RawPeer, Transport, driver, notes, spawn_client};

use crate::common::{s, server, test_session};

fn magic() -> Value {
    let mut h = Hash::new();
    h.insert("magic", "box");
    Value::Hash(h)
}

/// A session watching one kernel by an alias and by its real ID, with
/// `data`; it notes `w_<op>`.
fn watch(kernel: &mut Kernel, n: &Notes, real_id: String) {
    let n = n.clone();
    let (n1, n2, n3) = (n.clone(), n.clone(), n.clone());
    kernel.spawn(
        InlineStates::new()
            .state("_start", move |_, ctx, _| {
                ctx.alias_set("watch").expect("alias free");
                let ikc = Ikc::of(ctx).expect("responder");
                let states = MonitorStates::new()
                    .on(MonitorOp::Register, "w_register")
                    .on(MonitorOp::Unregister, "w_unregister")
                    .with_data(magic());
                ikc.monitor(ctx, "Srv", &states);
                ikc.monitor(ctx, &real_id, &states);
                let down = MonitorStates::new()
                    .on(MonitorOp::Shutdown, "w_shutdown")
                    .with_data(magic());
                ikc.monitor(ctx, "*", &down);
            })
            .state("w_register", move |_, _, ev| n1.send("w_register", ev.args))
            .state("w_unregister", move |_, _, ev| {
                n2.send("w_unregister", ev.args)
            })
            .state("w_shutdown", move |_, ctx, ev| {
                n3.send("w_shutdown", ev.args);
                let _ = ctx.alias_remove("watch");
            }),
    );
    let _ = n;
}

/// A session whose published `boom` state panics (an invocation failure).
fn boom(kernel: &mut Kernel) {
    kernel.spawn(
        InlineStates::new()
            .state("_start", |_, ctx, _| {
                ctx.alias_set("boom").expect("alias free");
                Ikc::of(ctx).expect("responder").publish("boom", &["now"]);
                Ikc::of(ctx).expect("responder").monitor(
                    ctx,
                    "*",
                    &MonitorStates::new().on(MonitorOp::Shutdown, "down"),
                );
            })
            .state("down", |_, ctx, _| {
                let _ = ctx.alias_remove("boom");
            })
            .state("now", |_, _, _| -> Value {
                panic!("boom goes the handler")
            }),
    );
}

/// `[id, [aliases], channel]` of kernel `id` in a driver's `kernels` answer.
fn kernel_entry(kernels: &Value, id: &str) -> (Vec<String>, SessionId) {
    let entry = kernels
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k.get_index(0).map(Value::to_string).as_deref() == Some(id))
        .unwrap_or_else(|| panic!("kernel {id} in {kernels:?}"));
    let aliases = entry.get_index(1).unwrap().as_array().unwrap();
    let channel = SessionId::from_value(entry.get_index(2).unwrap()).expect("a channel");
    (aliases.iter().map(Value::to_string).collect(), channel)
}

/// Wait for one `label` note from the driver `data` per name; check each
/// name is told once and only the real ID is flagged real.
fn told_once_per_name(inbox: &mut Inbox, label: &str, data: &str, id: &str, aliases: &[String]) {
    let want: BTreeSet<String> = std::iter::once(id.to_owned())
        .chain(aliases.iter().cloned())
        .collect();
    let mut got = BTreeSet::new();
    for _ in 0..=aliases.len() {
        let note = inbox.wait_for(&format!("{label} for {data}"), |n| {
            n.label == label && n.text(3) == data && want.contains(&n.text(1))
        });
        assert_eq!(note.text(0), "*", "{note:?}");
        let name = note.text(1);
        assert_eq!(note.arg(2), &Value::Bool(name == id), "real flag of {name}");
        assert!(got.insert(name.clone()), "{name} told twice");
    }
    assert_eq!(got, want);
}

fn error_note(inbox: &mut Inbox, data: &str, op: &str) -> Note {
    inbox.wait_for(&format!("{data} told {op}"), |n| {
        n.label == "mon_error" && n.text(3) == data && n.text(4) == op
    })
}

fn monitor_operations(transport: Transport) {
    let net = Net::new(transport);
    let (n, mut inbox) = notes();
    let n1 = n.clone();
    let server = server(&net.endpoint(), &n, move |k| {
        test_session(k, &n1, "Server");
        boom(k);
        Ok(())
    });
    let server_id = server.kernel_id.clone();
    let (n2, n3) = (n.clone(), n.clone());
    let client = spawn_client(
        "Client",
        &server.value.at,
        move |c| {
            c.name("Client")
                .aliases(["Cli"])
                .on_connect(move |_| n2.send("connected", Vec::new()))
        },
        move |k| {
            k.spawn(driver(&n3, "me"));
            watch(k, &n3, server_id);
            Ok(())
        },
    );
    inbox.wait("connected");
    let me = &client.value;
    let srv = &server.value.handle;

    // Register: every name of the server once at the client, flagged real
    // for its ID only; ARG4 is its PID.
    let (server_names, client_channel) = kernel_entry(
        &me.call("me", "kernels", vec![]).unwrap(),
        &server.kernel_id,
    );
    assert!(
        server_names.contains(&"Server".to_owned()) && server_names.contains(&"Srv".to_owned())
    );
    assert_eq!(
        server_names.len(),
        3,
        "name, alias, address: {server_names:?}"
    );
    told_once_per_name(
        &mut inbox,
        "mon_register",
        "me",
        &server.kernel_id,
        &server_names,
    );
    assert!(
        inbox
            .all("mon_register")
            .iter()
            .all(|n| n.arg(4) == &Value::from(std::process::id())),
        "the PID"
    );
    // And the client's at the server.
    let (client_names, server_channel) = kernel_entry(
        &srv.call("srv", "kernels", vec![]).unwrap(),
        &client.kernel_id,
    );
    assert!(
        client_names.contains(&"Client".to_owned()) && client_names.contains(&"Cli".to_owned())
    );
    told_once_per_name(
        &mut inbox,
        "mon_register",
        "srv",
        &client.kernel_id,
        &client_names,
    );
    // A monitor of one name hears about that name (with the name it gave).
    let w = inbox.wait("w_register");
    let w2 = inbox.wait("w_register");
    let mut seen = [
        (w.text(0), w.text(1), w.arg(2).as_bool()),
        (w2.text(0), w2.text(1), w2.arg(2).as_bool()),
    ];
    seen.sort();
    let mut want = [
        ("Srv".to_owned(), "Srv".to_owned(), false),
        (server.kernel_id.clone(), server.kernel_id.clone(), true),
    ];
    want.sort();
    assert_eq!(seen, want);
    assert_eq!(w.arg(3), &magic(), "data passed back");

    // Channel ready, with the channel session's id, on both sides.
    let ready = inbox.wait_for("client channel ready", |n| {
        n.label == "mon_channel" && n.text(3) == "me" && n.arg(2) == &Value::Bool(true)
    });
    assert_eq!(
        (ready.text(4), ready.arg(5)),
        ("ready".into(), &Value::from(client_channel))
    );
    let ready = inbox.wait_for("server channel ready", |n| {
        n.label == "mon_channel" && n.text(3) == "srv" && n.arg(2) == &Value::Bool(true)
    });
    assert_eq!(
        (ready.text(4), ready.arg(5)),
        ("ready".into(), &Value::from(server_channel))
    );

    // Invocation errors: the handler panics.
    me.call("me", "post", vec![s("poe://Server/boom/now"), s("x")])
        .unwrap();
    let local = error_note(&mut inbox, "srv", "local-invocation");
    assert!(local.text(5).contains("boom goes the handler"), "{local:?}");
    assert!(
        local.text(5).ends_with(".  Request poe://Server/boom/now"),
        "{local:?}"
    );
    let remote = error_note(&mut inbox, "me", "remote-invocation");
    assert_eq!(remote.text(5), local.text(5));

    // Request errors: a request whose event is no specifier (from a raw
    // peer), and an error another kernel reports at its request stage.
    let mut raw = RawPeer::connect(&server.value.at, "RawPeer", &["Storable"]).unwrap();
    raw.send(&ikc_channel::Message::post(
        "poe://Server/test/here/extra",
        1,
    ))
    .unwrap();
    let e = error_note(&mut inbox, "srv", "local-request");
    assert!(
        e.text(5)
            .starts_with("poe://Server/test/here/extra isn't a valid specifier"),
        "{e:?}"
    );
    let back = raw.recv().unwrap();
    assert!(back.is_error);
    assert_eq!(
        back.params.get_index(0).map(Value::to_string),
        Some(e.text(5))
    );
    assert_eq!(back.params.get_index(2), Some(&s("request")));
    let mut reported = ikc_channel::Message::post(
        "poe://Server/IKC/remote_error",
        Value::from(vec![s("it went wrong there"), s("Server"), s("request")]),
    );
    reported.is_error = true;
    raw.send(&reported).unwrap();
    let e = error_note(&mut inbox, "srv", "remote-request");
    assert_eq!(e.text(5), "it went wrong there");
    drop(raw);

    // Close the client's channel from the server by posting `shutdown` to its id.
    srv.post(server_channel, "shutdown", vec![]).unwrap();
    let close = inbox.wait_for("server channel close", |n| {
        n.label == "mon_channel"
            && n.text(3) == "srv"
            && n.text(4) == "close"
            && n.text(1) == client.kernel_id
    });
    assert_eq!(close.arg(5), &Value::from(server_channel));
    told_once_per_name(
        &mut inbox,
        "mon_unregister",
        "srv",
        &client.kernel_id,
        &client_names,
    );
    // The client: unregistered, its channel closed, the peer's close reported.
    told_once_per_name(
        &mut inbox,
        "mon_unregister",
        "me",
        &server.kernel_id,
        &server_names,
    );
    let close = inbox.wait_for("client channel close", |n| {
        n.label == "mon_channel"
            && n.text(3) == "me"
            && n.text(4) == "close"
            && n.arg(2) == &Value::Bool(true)
    });
    assert_eq!(close.arg(5), &Value::from(client_channel));
    let e = error_note(&mut inbox, "me", "channel-read");
    assert_eq!(e.text(5), "[0] the peer closed the connection");
    inbox.wait("w_unregister");
    inbox.wait("w_unregister");

    // Nobody was told twice, even after all that traffic.
    for (data, id, names) in [
        ("me", &server.kernel_id, &server_names),
        ("srv", &client.kernel_id, &client_names),
    ] {
        let told = inbox
            .all("mon_register")
            .iter()
            .filter(|n| n.text(3) == data && (&n.text(1) == id || names.contains(&n.text(1))))
            .count();
        assert_eq!(told, names.len() + 1, "{data}");
    }

    // Shutdown monitors.
    me.call("me", "shutdown", vec![]).unwrap();
    let down = inbox.wait_for("client shutdown", |n| {
        n.label == "mon_shutdown" && n.text(3) == "me"
    });
    assert_eq!(down.args, [s("*"), s("*"), Value::Bool(false), s("me")]);
    assert_eq!(inbox.wait("w_shutdown").arg(3), &magic());
    client.join().unwrap();
    srv.call("srv", "shutdown", vec![]).unwrap();
    inbox.wait_for("server shutdown", |n| {
        n.label == "mon_shutdown" && n.text(3) == "srv"
    });
    server.join().unwrap();
}

#[test]
fn monitor_operations_tcp() {
    monitor_operations(Transport::Tcp);
}

#[test]
fn monitor_operations_unix() {
    monitor_operations(Transport::Unix);
}
