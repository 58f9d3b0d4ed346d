//! Proxy SENDER: a state invoked from another kernel sees a thunk as its
//! SENDER; posting to it later (here after a delay) reaches the remote
//! session's state, with every argument, if that state is published there.

use ikc_freezer::Value;
use ikc_tests::{Net, Transport, notes};

use crate::common::{list, s, shut_down, test_server_and_client};

fn reply_to_sender(transport: Transport) {
    let net = Net::new(transport);
    let (n, mut inbox) = notes();
    let (server, client) = test_server_and_client(&net, &n, &mut inbox);
    let me = &client.value;
    // Publishing makes `me` a sender the remote side can answer.
    assert_eq!(
        me.call("me", "publish", vec![list(&["reply"])]).unwrap(),
        Value::Bool(true)
    );
    let sent = me
        .call("me", "post", vec![s("poe://Server/test/later"), s("hi")])
        .unwrap();
    assert_eq!(sent, Value::from(1));

    // After its delay the handler posts `reply` to its SENDER: it arrives
    // here with both arguments.
    assert_eq!(inbox.wait("reply").args, [s("late"), s("hi")]);
    // `unpublished` is refused here, and the refusal goes back.
    let text = format!(
        "Session 'me' has not published state 'unpublished'.  Request poe://{}/me/unpublished \
         sent by poe://{}/test/IKC:proxy",
        client.kernel_id, server.kernel_id
    );
    let local = inbox.wait_for("local-check", |n| {
        n.label == "mon_error" && n.text(4) == "local-check"
    });
    assert_eq!(local.text(5), text);
    let remote = inbox.wait_for("remote-check", |n| {
        n.label == "mon_error" && n.text(4) == "remote-check"
    });
    assert_eq!(remote.text(5), text);
    assert!(inbox.all("unpublished").is_empty());

    shut_down(client, server, &mut inbox);
}

#[test]
fn reply_to_sender_tcp() {
    reply_to_sender(Transport::Tcp);
}

#[test]
fn reply_to_sender_unix() {
    reply_to_sender(Transport::Unix);
}

/// The proxy sender a post carries (IKC's `from`, the first alias of the
/// sending session that published something) follows the session's
/// aliases and what is published, post after post. The server refuses
/// each post, and its refusal names the sender it saw.
fn the_proxy_sender_follows_aliases_and_publishing(transport: Transport) {
    let net = Net::new(transport);
    let (n, mut inbox) = notes();
    let (server, client) = test_server_and_client(&net, &n, &mut inbox);
    let me = &client.value;
    let mut refusal = || {
        let sent = me
            .call("me", "post", vec![s("poe://Server/test/nothere")])
            .unwrap();
        assert_eq!(sent, Value::from(1));
        let error = inbox.wait_for("remote-check", |n| {
            n.label == "mon_error" && n.text(4) == "remote-check"
        });
        error.text(5)
    };
    let request = "Session 'test' has not published state 'nothere'.  \
                   Request poe://Server/test/nothere";
    let by = |alias: &str| {
        format!(
            "{request} sent by poe://{}/{alias}/IKC:proxy",
            client.kernel_id
        )
    };

    // Nothing published: no proxy sender.
    assert_eq!(refusal(), request);
    // `alt` publishes, but no session has that alias yet.
    me.call("me", "publish_api", vec![s("alt"), list(&["x"])])
        .unwrap();
    assert_eq!(refusal(), request);
    // The session takes the alias (the published states stay the same).
    assert_eq!(
        me.call("me", "alias_set", vec![s("alt")]).unwrap(),
        Value::Bool(true)
    );
    assert_eq!(refusal(), by("alt"));
    // It publishes under its first alias (its aliases stay the same).
    assert_eq!(
        me.call("me", "publish", vec![list(&["reply"])]).unwrap(),
        Value::Bool(true)
    );
    assert_eq!(refusal(), by("me"));
    assert_eq!(
        me.call("me", "alias_remove", vec![s("alt")]).unwrap(),
        Value::Bool(true)
    );

    shut_down(client, server, &mut inbox);
}

#[test]
fn the_proxy_sender_follows_aliases_and_publishing_tcp() {
    the_proxy_sender_follows_aliases_and_publishing(Transport::Tcp);
}
