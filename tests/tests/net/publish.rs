//! publish / retract / published, through the `IKC` session's states and
//! the object API; the states IKC publishes by itself (`ping`); and what a
//! remote kernel gets for a state that is not published (IKC's exact
//! `remote_error` text, seen by the monitors of both kernels as
//! `remote-check` and `local-check`).

use ikc_core::{InlineStates, Kernel};
use ikc_freezer::Value;
use ikc_tests::{Net, Transport, notes};

use crate::common::{
    alias_until_ikc_down, call_one, client, error_note, list, s, server, service, shut_down,
};

/// The error monitors' notes for an operation: `[name given, kernel, real?,
/// data, operation, message]`.
fn publish_retract_published(transport: Transport) {
    let net = Net::new(transport);
    let (n, mut inbox) = notes();
    let server = server(&net.endpoint(), &n, |k| {
        service(
            k,
            "svc",
            vec![("a", |_| s("A")), ("b", |_| s("B")), ("c", |_| s("C"))],
        );
        Ok(())
    });
    let srv = &server.value.handle;
    let ikc = |args: Vec<Value>| srv.call("srv", "ikc", args).unwrap();

    // Publish through IKC's state interface and through the object API.
    assert_eq!(
        ikc(vec![s("publish"), s("svc"), list(&["a", "b"])]),
        Value::Bool(true)
    );
    srv.call("srv", "publish_api", vec![s("svc"), list(&["c"])])
        .unwrap();
    assert_eq!(ikc(vec![s("published"), s("svc")]), list(&["a", "b", "c"]));
    assert_eq!(
        srv.call("srv", "published_api", vec![s("svc")]).unwrap(),
        list(&["a", "b", "c"])
    );
    // `publish` with no session publishes the caller's own aliases.
    assert_eq!(
        ikc(vec![s("publish"), Value::Undef, list(&["z"])]),
        Value::Bool(true)
    );
    assert_eq!(ikc(vec![s("published"), s("srv")]), list(&["z"]));
    // `published` with no session: every alias, IKC's own states included.
    let all = ikc(vec![s("published")]);
    let all = all.as_hash().expect("a hash of published states");
    assert_eq!(
        all.get("IKC"),
        Some(&list(&[
            "counters",
            "do_you_have",
            "kernels",
            "links",
            "ping",
            "remote_error",
            "routes",
            "sessions",
            "trace",
            "trace_hop",
            "watch"
        ]))
    );
    assert_eq!(all.get("svc"), Some(&list(&["a", "b", "c"])));
    assert_eq!(all.get("srv"), Some(&list(&["z"])));

    let client = client(&server.value.at, &n);
    inbox.wait("connected");
    let me = &client.value;
    let call = |spec: &str, rsvp: &str| call_one(me, spec, Value::Undef, rsvp);
    let post = |spec: &str| {
        let sent = me
            .call("me", "post", vec![s(spec), Value::from(1)])
            .unwrap();
        assert_eq!(sent, Value::from(1), "post {spec} reached one kernel");
    };

    call("poe://Server/svc/a", "got_a");
    call("poe://Server/svc/c", "got_c");
    // IKC publishes ping by itself: it answers PONG through call.
    call("poe://Server/IKC/ping", "pong");
    assert_eq!(inbox.wait("got_a").args, [s("A")]);
    assert_eq!(inbox.wait("got_c").args, [s("C")]);
    assert_eq!(inbox.wait("pong").args, [s("PONG")]);

    // Retract `a` through the state interface and `c` through the object API.
    assert_eq!(
        ikc(vec![s("retract"), s("svc"), list(&["a"])]),
        Value::Bool(true)
    );
    assert_eq!(
        srv.call("srv", "retract_api", vec![s("svc"), list(&["c"])])
            .unwrap(),
        Value::Bool(true)
    );
    assert_eq!(ikc(vec![s("published"), s("svc")]), list(&["b"]));

    // A retracted state is refused with IKC's text; both kernels' monitors hear.
    post("poe://Server/svc/a");
    let text = "Session 'svc' has not published state 'a'.  Request poe://Server/svc/a";
    let remote = error_note(&mut inbox, "remote-check");
    assert_eq!(remote.text(5), text);
    assert_eq!(
        (
            remote.text(0),
            remote.text(1),
            remote.arg(2),
            remote.text(3)
        ),
        (
            "*".into(),
            "Server".into(),
            &Value::Bool(false),
            "me".into()
        ),
        "monitor args: name given, kernel, real ID?, data"
    );
    let local = error_note(&mut inbox, "local-check");
    assert_eq!(local.text(5), text);
    assert_eq!(local.text(3), "srv");
    // `b` is still published.
    call("poe://Server/svc/b", "got_b");
    assert_eq!(inbox.wait("got_b").args, [s("B")]);

    // Retract everything: the session is no longer available at all.
    assert_eq!(
        ikc(vec![s("retract"), s("svc"), Value::Undef]),
        Value::Bool(true)
    );
    assert_eq!(ikc(vec![s("published"), s("svc")]), list(&[]));
    assert_eq!(
        srv.call("srv", "retract_api", vec![s("svc"), Value::Undef])
            .unwrap(),
        Value::Bool(false),
        "retracting what is not published fails"
    );
    post("poe://Server/svc/b");
    let text = "Session 'svc' is not available for remote kernels.  Request poe://Server/svc/b";
    assert_eq!(error_note(&mut inbox, "remote-check").text(5), text);
    assert_eq!(error_note(&mut inbox, "local-check").text(5), text);

    // Published, but no session by that alias: a resolve error.
    srv.call("srv", "publish_api", vec![s("ghost"), list(&["x"])])
        .unwrap();
    post("poe://Server/ghost/x");
    let text = "Unknown session 'ghost'.  Request poe://Server/ghost/x";
    assert_eq!(error_note(&mut inbox, "remote-resolve").text(5), text);
    assert_eq!(error_note(&mut inbox, "local-resolve").text(5), text);

    // The answers never came for what was refused.
    assert!(inbox.all("got_a").len() == 1 && inbox.all("got_b").len() == 1);

    shut_down(client, server, &mut inbox);
}

#[test]
fn publish_retract_published_tcp() {
    publish_retract_published(Transport::Tcp);
}

#[test]
fn publish_retract_published_unix() {
    publish_retract_published(Transport::Unix);
}

/// A session known as `name` that answers `a` with its name, takes the
/// alias `svc` on `take` and lets it go on `leave`, and lets every alias go
/// when IKC shuts down.
fn named(kernel: &mut Kernel, name: &'static str) {
    kernel.spawn(
        InlineStates::new()
            .state("_start", move |_, ctx, _| alias_until_ikc_down(ctx, name))
            .state("a", move |_, _, _| s(name))
            .state("id", |_, ctx, _| Value::from(ctx.session_id()))
            .state("hold", |_, ctx, _| {
                let me = ctx.session_id();
                ctx.refcount_increment(me, "test").is_ok()
            })
            .state("release", |_, ctx, _| {
                let me = ctx.session_id();
                ctx.refcount_decrement(me, "test").is_ok()
            })
            .state("take", |_, ctx, _| ctx.alias_set("svc").is_ok())
            .state("leave", |_, ctx, _| ctx.alias_remove("svc").is_ok())
            .state("ikc_down", |_, ctx, _| {
                for alias in ctx.aliases(ctx.session_id()).to_vec() {
                    let _ = ctx.alias_remove(&alias);
                }
            }),
    );
}

/// A request for a session by its id, resolved for the requests before,
/// is refused with IKC's resolve error once that session is gone, though
/// no alias changed when it went.
fn a_session_named_by_id_is_looked_for_again(transport: Transport) {
    let net = Net::new(transport);
    let (n, mut inbox) = notes();
    let server = server(&net.endpoint(), &n, |k| {
        named(k, "first");
        Ok(())
    });
    let srv = &server.value.handle;
    let id = srv.call("first", "id", vec![]).unwrap();
    let id = id.as_u64().expect("a session id").to_string();
    srv.call("srv", "publish_api", vec![s(&id), list(&["a"])])
        .unwrap();
    let client = client(&server.value.at, &n);
    inbox.wait("connected");
    let target = format!("poe://Server/{id}/a");
    let call = |rsvp: &str| call_one(&client.value, &target, Value::Undef, rsvp);

    // Held by a reference, the session loses its alias, then is called
    // by id twice.
    assert_eq!(
        srv.call("first", "hold", vec![]).unwrap(),
        Value::Bool(true)
    );
    srv.call("first", "ikc_down", vec![]).unwrap();
    call("got_1");
    call("got_2");
    assert_eq!(inbox.wait("got_1").args, [s("first")]);
    assert_eq!(inbox.wait("got_2").args, [s("first")]);
    // Let go, it stops: no alias changes on the way.
    assert_eq!(
        srv.call(id.as_str(), "release", vec![]).unwrap(),
        Value::Bool(true)
    );
    call("got_3");
    let text = format!("Unknown session '{id}'.  Request {target}");
    assert_eq!(error_note(&mut inbox, "remote-resolve").text(5), text);
    assert!(inbox.all("got_3").is_empty());

    shut_down(client, server, &mut inbox);
}

#[test]
fn a_session_named_by_id_is_looked_for_again_tcp() {
    a_session_named_by_id_is_looked_for_again(Transport::Tcp);
}

/// A request goes to the session that has the alias now: the target's
/// alias, resolved for the requests before, is resolved again once it
/// has moved to another session or gone (while its first owner lives).
fn requests_follow_an_alias_that_moves(transport: Transport) {
    let net = Net::new(transport);
    let (n, mut inbox) = notes();
    let server = server(&net.endpoint(), &n, |k| {
        named(k, "first");
        named(k, "second");
        Ok(())
    });
    let srv = &server.value.handle;
    assert_eq!(
        srv.call("first", "take", vec![]).unwrap(),
        Value::Bool(true)
    );
    srv.call("srv", "publish_api", vec![s("svc"), list(&["a"])])
        .unwrap();
    let client = client(&server.value.at, &n);
    inbox.wait("connected");
    let me = &client.value;
    let call = |rsvp: &str| call_one(me, "poe://Server/svc/a", Value::Undef, rsvp);

    call("got_1");
    call("got_2");
    assert_eq!(inbox.wait("got_1").args, [s("first")]);
    assert_eq!(inbox.wait("got_2").args, [s("first")]);
    // The alias goes; its first owner stays (as `first`).
    assert_eq!(
        srv.call("first", "leave", vec![]).unwrap(),
        Value::Bool(true)
    );
    call("got_3");
    let text = "Unknown session 'svc'.  Request poe://Server/svc/a";
    assert_eq!(error_note(&mut inbox, "remote-resolve").text(5), text);
    // Another session takes it.
    assert_eq!(
        srv.call("second", "take", vec![]).unwrap(),
        Value::Bool(true)
    );
    call("got_4");
    assert_eq!(inbox.wait("got_4").args, [s("second")]);
    assert!(inbox.all("got_3").is_empty());

    shut_down(client, server, &mut inbox);
}

#[test]
fn requests_follow_an_alias_that_moves_tcp() {
    requests_follow_an_alias_that_moves(Transport::Tcp);
}
