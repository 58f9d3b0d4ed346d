//! Kernel names: `*`, the default kernel, posting to one's own kernel by
//! name or ID (through IKC's local route), and Lightspeed-style posts
//! straight from a session (`ctx.post_to("poe://Server/test/here", args)`).

use ikc_freezer::Value;
use ikc_tests::{Net, Transport, notes};

use crate::common::{TwoServers, error_note, list, s, two_servers};

fn kernel_names(transport: Transport) {
    let net = Net::new(transport);
    let (n, mut inbox) = notes();
    let TwoServers { one, two, client } = two_servers(&net, &n, &mut inbox);
    let me = &client.value;
    let ask = |state: &'static str, args: Vec<Value>| me.call("me", state, args).unwrap();

    // The default kernel: a specifier without a kernel goes there.
    assert_eq!(
        ask("ikc", vec![s("default"), s("Server")]),
        Value::Bool(true)
    );
    assert_eq!(ask("default_kernel", vec![]), s(&one.kernel_id));
    assert_eq!(
        ask("post", vec![s("poe:/test/here"), s("to default")]),
        Value::from(1)
    );
    assert_eq!(inbox.wait("here@Server").args, [s("to default")]);
    assert_eq!(ask("set_default", vec![s("Other")]), Value::Bool(true));
    assert_eq!(ask("default_kernel", vec![]), s(&two.kernel_id));
    assert_eq!(
        ask("post", vec![s("poe:/test/here"), s("now other")]),
        Value::from(1)
    );
    assert_eq!(inbox.wait("here@Other").args, [s("now other")]);
    assert_eq!(ask("set_default", vec![s("Nowhere")]), Value::Bool(false));
    assert_eq!(
        ask("ikc", vec![s("default"), s("Nowhere")]),
        Value::Bool(false)
    );
    assert_eq!(ask("default_kernel", vec![]), s(&two.kernel_id));

    // Our own kernel by name and by ID, through IKC (post and call).
    assert_eq!(
        ask("post", vec![s("poe://Client/test/here"), s("by name")]),
        Value::from(1)
    );
    assert_eq!(inbox.wait("here@Client").args, [s("by name")]);
    let by_id = format!("poe://{}/test/here", client.kernel_id);
    assert_eq!(ask("post", vec![s(&by_id), s("by id")]), Value::from(1));
    assert_eq!(inbox.wait("here@Client").args, [s("by id")]);
    let sent = ask(
        "call",
        vec![s("poe://Client/test/fetchQ"), Value::Undef, s("own_answer")],
    );
    assert_eq!(sent, Value::from(1));
    assert_eq!(inbox.wait("own_answer").args, [Value::from(42)]);
    // IKC's own published states answer locally too.
    let sent = ask(
        "call",
        vec![s("poe://Client/IKC/ping"), Value::Undef, s("own_pong")],
    );
    assert_eq!(sent, Value::from(1));
    assert_eq!(inbox.wait("own_pong").args, [s("PONG")]);
    // Subscribing to a session of our own kernel (IKC/do_you_have answers
    // locally too), then posting through the proxy.
    ask(
        "subscribe",
        vec![list(&["poe://Client/test"]), s("own_subscribed")],
    );
    assert_eq!(
        inbox.wait("own_subscribed").args,
        [list(&["poe://Client/test"])]
    );
    assert_eq!(
        ask(
            "post_session",
            vec![s("poe://Client/test"), s("here"), s("own proxy")]
        ),
        Value::Bool(true)
    );
    assert_eq!(inbox.wait("here@Client").args, [s("own proxy")]);
    // An unpublished state of our own kernel: refused, both sides of the
    // error in this one kernel.
    assert_eq!(
        ask("post", vec![s("poe://Client/test/secret"), s("no")]),
        Value::from(1)
    );
    let text = "Session 'test' has not published state 'secret'.  Request poe://Client/test/secret";
    assert_eq!(error_note(&mut inbox, "local-check").text(5), text);
    assert_eq!(error_note(&mut inbox, "remote-check").text(5), text);

    // Lightspeed style, from an ordinary session: one argument...
    assert_eq!(
        ask("post_to", vec![s("poe://Server/test/here"), s("one arg")]),
        Value::Bool(true)
    );
    assert_eq!(inbox.wait("here@Server").args, [s("one arg")]);
    // ...several (each its own ARG)...
    assert_eq!(
        ask(
            "post_to",
            vec![
                s("poe://Server/test/here"),
                s("a"),
                Value::from(2),
                list(&["c"])
            ]
        ),
        Value::Bool(true)
    );
    assert_eq!(
        inbox.wait("here@Server").args,
        [s("a"), Value::from(2), list(&["c"])]
    );
    // ...none...
    assert_eq!(
        ask("post_to", vec![s("poe://Server/test/here")]),
        Value::Bool(true)
    );
    assert_eq!(inbox.wait("here@Server").args, Vec::<Value>::new());
    // ...to a session specifier with the state apart...
    assert_eq!(
        ask(
            "post_session",
            vec![s("poe://Other/test"), s("here"), s("x"), s("y")]
        ),
        Value::Bool(true)
    );
    assert_eq!(inbox.wait("here@Other").args, [s("x"), s("y")]);
    // ...to every other kernel (Lightspeed's `*` through the kernel
    // leaves this one out; IKC/post's `*` includes it)...
    assert_eq!(
        ask("post_to", vec![s("poe://*/test/here"), s("all")]),
        Value::Bool(true)
    );
    for k in ["here@Server", "here@Other"] {
        assert_eq!(inbox.wait(k).args, [s("all")], "{k}");
    }
    assert_eq!(
        ask("post", vec![s("poe://*/test/here"), s("ikc all")]),
        Value::from(3)
    );
    for k in ["here@Server", "here@Other", "here@Client"] {
        assert_eq!(inbox.wait(k).args, [s("ikc all")], "{k}");
    }
    let copies = inbox
        .all("here@Client")
        .iter()
        .filter(|n| n.args == [s("ikc all")] || n.args == [s("all")])
        .count();
    assert_eq!(
        copies, 1,
        "one copy for this kernel, from IKC/post's `*` only"
    );
    // ...and to an unpublished state, refused as any IKC post.
    assert_eq!(
        ask("post_to", vec![s("poe://Server/test/secret"), s("x")]),
        Value::Bool(true)
    );
    let e = error_note(&mut inbox, "remote-check");
    assert!(
        e.text(5)
            .starts_with("Session 'test' has not published state 'secret'"),
        "{e:?}"
    );
    assert!(inbox.all("secret@Server").is_empty());

    me.call("me", "shutdown", vec![]).unwrap();
    client.join().unwrap();
    one.value.handle.call("srv", "shutdown", vec![]).unwrap();
    one.join().unwrap();
    two.value.handle.call("other", "shutdown", vec![]).unwrap();
    two.join().unwrap();
}

#[test]
fn kernel_names_tcp() {
    kernel_names(Transport::Tcp);
}

#[test]
fn kernel_names_unix() {
    kernel_names(Transport::Unix);
}
