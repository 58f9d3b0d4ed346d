//! post (the number of kernels reached, `*`, unknown kernels) and call
//! with an RSVP (the answer, one use only, wantarray, and nothing sent
//! back for undef).

use ikc_channel::Message;
use ikc_freezer::Value;
use ikc_specifier::HashForm;
use ikc_tests::{Net, Transport, driver, notes, spawn_kernel};

use crate::common::{
    TwoServers, call_one, error_note, s, test_server_and_client, test_session, two_servers,
};

fn post_counts_kernels_reached(transport: Transport) {
    let net = Net::new(transport);
    let (n, mut inbox) = notes();
    let TwoServers { one, two, client } = two_servers(&net, &n, &mut inbox);
    let post = |spec: &str, arg: &str| {
        client
            .value
            .call("me", "post", vec![s(spec), s(arg)])
            .unwrap()
    };

    // One named kernel: 1.
    assert_eq!(post("poe://Server/test/here", "one"), Value::from(1));
    assert_eq!(inbox.wait("here@Server").args, [s("one")]);

    // A list of kernels (Lightspeed style): each of them.
    assert_eq!(post("poe://Server,Other/test/here", "list"), Value::from(2));
    assert_eq!(inbox.wait("here@Server").args, [s("list")]);
    assert_eq!(inbox.wait("here@Other").args, [s("list")]);

    // `*`: every kernel IKC knows, our own included, as in Perl IKC (checked
    // against Perl: one server and `*` counts 2).
    assert_eq!(post("poe://*/test/here", "star"), Value::from(3));
    assert_eq!(inbox.wait("here@Server").args, [s("star")]);
    assert_eq!(inbox.wait("here@Other").args, [s("star")]);
    assert_eq!(inbox.wait("here@Client").args, [s("star")]);

    // An unknown kernel: 0, and a `resolve` error with IKC's text.
    assert_eq!(post("poe://Nowhere/test/here", "lost"), Value::from(0));
    let e = error_note(&mut inbox, "resolve");
    assert_eq!(
        e.text(5),
        format!("{}: Unknown kernel 'Nowhere'.", std::process::id())
    );
    assert_eq!(e.text(1), "*");

    client.value.call("me", "shutdown", vec![]).unwrap();
    client.join().unwrap();
    one.value.handle.call("srv", "shutdown", vec![]).unwrap();
    one.join().unwrap();
    two.value.handle.call("other", "shutdown", vec![]).unwrap();
    two.join().unwrap();
    assert!(inbox.all("here@Server").len() == 3 && inbox.all("here@Other").len() == 2);
}

#[test]
fn post_counts_kernels_reached_tcp() {
    post_counts_kernels_reached(Transport::Tcp);
}

#[test]
fn post_counts_kernels_reached_unix() {
    post_counts_kernels_reached(Transport::Unix);
}

/// `IKC/post` with no remote kernel at all: `*` still reaches our own
/// kernel; a named one is unknown.
#[test]
fn post_without_connections() {
    let (n, mut inbox) = notes();
    let n2 = n.clone();
    let lone = spawn_kernel("Lone", move |kernel| {
        kernel.spawn(driver(&n2, "me"));
        test_session(kernel, &n2, "Lone");
        Ok(kernel.handle())
    });
    let post = |spec: &str| {
        lone.value
            .call("me", "post", vec![s(spec), s("x")])
            .unwrap()
    };
    assert_eq!(post("poe://*/test/here"), Value::from(1));
    assert_eq!(inbox.wait("here@Lone").args, [s("x")]);
    assert_eq!(post("poe://Server/test/here"), Value::from(0));
    let e = error_note(&mut inbox, "resolve");
    assert!(e.text(5).ends_with("Unknown kernel 'Server'."), "{e:?}");
    lone.value.call("me", "shutdown", vec![]).unwrap();
    lone.join().unwrap();
}

fn call_with_rsvp(transport: Transport) {
    let net = Net::new(transport);
    let (n, mut inbox) = notes();
    let (server, client) = test_server_and_client(&net, &n, &mut inbox);
    let me = &client.value;
    let call = |spec: &str, params: Value, rsvp: &str| call_one(me, spec, params, rsvp);

    // The answer arrives at the RSVP state, which needs no publishing.
    call("poe://Server/test/fetchQ", Value::Undef, "poe:/me/got");
    assert_eq!(inbox.wait("got").args, [Value::from(42)]);
    call("Server/test/echo", Value::from(vec!["a", "b"]), "echoed");
    assert_eq!(inbox.wait("echoed").args, [Value::from(vec!["a", "b"])]);

    // One use only: the server posting to the RSVP again is refused.
    let again = server
        .value
        .handle
        .call("srv", "post", vec![s("poe://Client/me/got"), s("again")])
        .unwrap();
    assert_eq!(again, Value::from(1), "the post itself goes out");
    let text = "Session 'me' is not available for remote kernels.  Request poe://Client/me/got";
    assert_eq!(error_note(&mut inbox, "local-check").text(5), text);
    assert_eq!(error_note(&mut inbox, "remote-check").text(5), text);
    // The same from the handler's side: it posts twice to the RSVP it was given.
    call(
        "poe://Server/test/twice",
        s("poe://Client/me/once"),
        "poe:/me/once",
    );
    assert_eq!(inbox.wait("once").args, [s("first")]);
    // The handler's session published states, so IKC says who sent it.
    let text = format!(
        "Session 'me' is not available for remote kernels.  Request poe://Client/me/once \
         sent by poe://{}/test/IKC:proxy",
        server.kernel_id
    );
    assert_eq!(error_note(&mut inbox, "local-check").text(5), text);
    assert_eq!(error_note(&mut inbox, "remote-check").text(5), text);

    // A handler returning undef sends nothing back: the next answer on the
    // same channel arrives, that one never does.
    call("poe://Server/test/nothing", Value::Undef, "nothing");
    call("poe://Server/test/empty", Value::Undef, "empty");
    call("poe://Server/test/fetchQ", Value::Undef, "after");
    inbox.wait("after");
    assert!(inbox.all("nothing").is_empty());
    // An empty list is defined: it comes back as such.
    assert_eq!(inbox.wait("empty").args, [Value::Array(Vec::new())]);

    // wantarray: the answer is the list; a scalar comes as a one-element
    // list, and so does undef ([undef], as Perl's list-context call gives);
    // an empty list sends nothing.
    let want = |state: &str, rsvp: &str| {
        let mut msg = Message::call(
            format!("poe://Server/test/{state}"),
            Value::Undef,
            HashForm::new("", "me", rsvp),
        );
        msg.wantarray = Some(true);
        let sent = me.call("me", "send", vec![msg.to_value()]).unwrap();
        assert_eq!(sent, Value::from(1));
    };
    want("list", "as_list");
    want("fetchQ", "scalar_as_list");
    want("empty", "empty_list");
    want("nothing", "undef_list");
    call("poe://Server/test/fetchQ", Value::Undef, "after_lists");
    assert_eq!(inbox.wait("as_list").args, [Value::from(vec![1, 2, 3])]);
    assert_eq!(inbox.wait("scalar_as_list").args, [Value::from(vec![42])]);
    assert_eq!(
        inbox.wait("undef_list").args,
        [Value::from(vec![Value::Undef])]
    );
    inbox.wait("after_lists");
    assert!(inbox.all("empty_list").is_empty());

    me.call("me", "shutdown", vec![]).unwrap();
    client.join().unwrap();
    server.value.handle.call("srv", "shutdown", vec![]).unwrap();
    server.join().unwrap();
}

#[test]
fn call_with_rsvp_tcp() {
    call_with_rsvp(Transport::Tcp);
}

#[test]
fn call_with_rsvp_unix() {
    call_with_rsvp(Transport::Unix);
}
