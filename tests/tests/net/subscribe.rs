//! subscribe / unsubscribe: proxy sessions for remote sessions, the
//! callback listing what succeeded, monitors, and the client's `subscribe`
//! option with `on_connect` called only once every subscription is made.

use ikc_core::KernelHandle;
use ikc_freezer::{Hash, Value};
use ikc_tests::{Inbox, KernelThread, Net, Notes, Transport, driver, notes, spawn_client};

use crate::common::{list, s, test_server, test_server_and_client};

fn spec_hash(kernel: &str, session: &str) -> Value {
    let mut h = Hash::new();
    h.insert("kernel", kernel);
    h.insert("session", session);
    h.insert("state", "");
    Value::Hash(h)
}

fn error_texts(inbox: &mut Inbox, op: &str) -> Vec<String> {
    inbox
        .all("mon_error")
        .iter()
        .filter(|n| n.text(4) == op)
        .map(|n| n.text(5))
        .collect()
}

fn subscribe_and_unsubscribe(transport: Transport) {
    let net = Net::new(transport);
    let (n, mut inbox) = notes();
    let (server, client) = test_server_and_client(&net, &n, &mut inbox);
    let me = &client.value;
    me.call(
        "me",
        "subscribe",
        vec![
            list(&[
                "poe://Server/test",
                "poe://Server/nothere",
                "poe://Nowhere/test",
            ]),
            s("subscribed"),
        ],
    )
    .unwrap();
    // The callback lists what succeeded, and omits the refusals.
    assert_eq!(
        inbox.wait("subscribed").args,
        [list(&["poe://Server/test"])]
    );
    let sub = inbox.wait("mon_subscribe");
    assert_eq!(sub.arg(4), &spec_hash("Server", "test"));
    let refused = error_texts(&mut inbox, "subscribe");
    assert!(
        refused.contains(&"Refused subscription poe://Server/nothere".to_owned())
            && refused.contains(&"Unknown kernel Nowhere".to_owned()),
        "{refused:?}"
    );

    // The proxy answers to both its aliases; several args travel as they are.
    let post = |target: &str, args: Vec<Value>| {
        let mut all = vec![s(target), s("here")];
        all.extend(args);
        me.call("me", "post_session", all).unwrap()
    };
    assert_eq!(
        post(
            "poe://Server/test",
            vec![s("a"), Value::from(2), list(&["c"])]
        ),
        Value::Bool(true)
    );
    assert_eq!(
        inbox.wait("here@Server").args,
        [s("a"), Value::from(2), list(&["c"])]
    );
    assert_eq!(post("test", vec![s("short alias")]), Value::Bool(true));
    assert_eq!(inbox.wait("here@Server").args, [s("short alias")]);

    // Unsubscribe: the proxy goes, and the monitors hear it.
    me.call("me", "unsubscribe", vec![list(&["poe://Server/test"])])
        .unwrap();
    let unsub = inbox.wait("mon_unsubscribe");
    assert_eq!(unsub.arg(4), &spec_hash("Server", "test"));
    assert_eq!(post("test", vec![s("gone")]), Value::Bool(false));

    me.call("me", "shutdown", vec![]).unwrap();
    client.join().unwrap();
    server.value.handle.call("srv", "shutdown", vec![]).unwrap();
    server.join().unwrap();
    assert!(
        inbox
            .all("here@Server")
            .iter()
            .all(|n| n.args != [s("gone")])
    );
}

#[test]
fn subscribe_and_unsubscribe_tcp() {
    subscribe_and_unsubscribe(Transport::Tcp);
}

#[test]
fn subscribe_and_unsubscribe_unix() {
    subscribe_and_unsubscribe(Transport::Unix);
}

/// A client subscribing to `specs` through its configuration; `on_connect`
/// notes `connected` with whether the proxy alias already exists.
fn subscribing_client(
    at: &ikc_tests::Endpoint,
    n: &Notes,
    specs: &'static [&'static str],
) -> KernelThread<KernelHandle> {
    let (n1, n2) = (n.clone(), n.clone());
    spawn_client(
        "Client",
        at,
        move |c| {
            c.name("Client")
                .subscribe(specs.iter().copied())
                .on_connect(move |ctx| {
                    let proxy = ctx.alias_resolve("poe://Server/test").is_some();
                    n1.send("connected", vec![Value::Bool(proxy)]);
                })
        },
        move |kernel| {
            kernel.spawn(driver(&n2, "me"));
            Ok(())
        },
    )
}

fn subscribe_option_then_on_connect(transport: Transport) {
    let net = Net::new(transport);
    let (n, mut inbox) = notes();
    let server = test_server(&net.endpoint(), &n);

    // Every subscription made: on_connect runs, and the proxy is there by then.
    let client = subscribing_client(&server.value.at, &n, &["poe://Server/test"]);
    assert_eq!(inbox.wait("connected").args, [Value::Bool(true)]);
    let posted = client
        .value
        .call(
            "me",
            "post_session",
            vec![s("test"), s("here"), s("via proxy")],
        )
        .unwrap();
    assert_eq!(posted, Value::Bool(true));
    assert_eq!(inbox.wait("here@Server").args, [s("via proxy")]);
    client.value.call("me", "shutdown", vec![]).unwrap();
    client.join().unwrap();

    // One refused: no on_connect, an error instead.
    let client = subscribing_client(
        &server.value.at,
        &n,
        &["poe://Server/test", "poe://Server/nothere"],
    );
    let e = inbox.wait_for("subscribe error", |n| {
        n.label == "mon_error" && n.text(5).starts_with("Unable to subscribe")
    });
    assert_eq!(e.text(5), "Unable to subscribe to poe://Server/nothere");
    // A round trip on the same channel after the error: still no on_connect.
    client
        .value
        .call(
            "me",
            "call",
            vec![s("poe://Server/IKC/ping"), Value::Undef, s("pong")],
        )
        .unwrap();
    inbox.wait("pong");
    assert_eq!(
        inbox.all("connected").len(),
        1,
        "only the first client connected"
    );
    client.value.call("me", "shutdown", vec![]).unwrap();
    client.join().unwrap();

    server.value.handle.call("srv", "shutdown", vec![]).unwrap();
    server.join().unwrap();
}

#[test]
fn subscribe_option_then_on_connect_tcp() {
    subscribe_option_then_on_connect(Transport::Tcp);
}

#[test]
fn subscribe_option_then_on_connect_unix() {
    subscribe_option_then_on_connect(Transport::Unix);
}
