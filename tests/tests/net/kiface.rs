//! Lightspeed's kernel interface across kernels (issue 13): a handler
//! invoked from another kernel knows its remote SENDER (kernel, session,
//! state, file, line) and answers it three ways (SENDER, its specifier, a
//! postback from another thread); `call_rsvp` with array and hash forms;
//! no-publish mode with its authorization hook, and IKC's default.

use std::collections::BTreeSet;

use ikc_core::{InlineStates, Kernel, Sender};
use ikc_freezer::{Hash, Value};
use ikc_responder::{MonitorOp, MonitorStates, RequestCheck, Responder};
use ikc_tests::{Net, Notes, Transport, driver, notes, spawn_client};

use crate::common::{error_note, list, s, server, server_as};

/// The server's session `who`: `whoami` notes what it knows of its
/// SENDER and answers it `pong` three ways; `add` returns the sum of its
/// arguments; `hidden` and `secret` (never published) note their call.
fn who(kernel: &mut Kernel, notes: &Notes, no_publish: bool) {
    let (n, n2, n3) = (notes.clone(), notes.clone(), notes.clone());
    kernel.spawn(
        InlineStates::new()
            .state("_start", move |_, ctx, _| {
                ctx.alias_set("who").expect("alias free");
                let ikc = Responder::spawn(ctx);
                ikc.publish("who", &["whoami", "add"]);
                if no_publish {
                    ikc.no_publish(|req: &RequestCheck<'_>| {
                        if req.published || (req.session == "who" && req.state != "secret") {
                            Ok(())
                        } else {
                            Err(format!("{}/{} is private", req.session, req.state))
                        }
                    });
                }
                ikc.monitor(
                    ctx,
                    "*",
                    &MonitorStates::new().on(MonitorOp::Shutdown, "ikc_down"),
                );
            })
            .state("ikc_down", |_, ctx, _| {
                let _ = ctx.alias_remove("who");
            })
            .state("whoami", move |_, ctx, ev| {
                let remote = ev.sender.remote().cloned().unwrap_or_default();
                n.send(
                    "whoami",
                    vec![
                        Value::Bool(ev.sender.is_remote()),
                        Value::from(remote.kernel()),
                        Value::from(remote.session()),
                        Value::from(remote.state()),
                        Value::from(remote.file()),
                        Value::from(remote.line().map(i64::from)),
                        Value::from(ctx.sender_specifier(&ev.sender)),
                        Value::from(ev.caller_state().map(str::to_owned)),
                        Value::from(ev.caller_file.as_ref()),
                        Value::from(i64::from(ev.caller_line)),
                    ],
                );
                let to = ev.sender.target().expect("a remote session");
                let _ = ctx.post(to.clone(), "pong", vec![s("target")]);
                let spec = ctx.sender_specifier(&ev.sender).unwrap_or_default();
                let _ = ctx.post(spec.as_str(), "pong", vec![s("specifier")]);
                let postback = ctx
                    .postback_to(to, "pong", vec![s("postback")])
                    .expect("the thunk exists");
                std::thread::spawn(move || postback.post(vec![s("thread")]));
            })
            .state("add", |_, _, ev| {
                Value::from(ev.args.iter().filter_map(Value::as_i64).sum::<i64>())
            })
            .state("hidden", move |_, _, ev| n2.send("hidden", ev.args))
            .state("secret", move |_, _, ev| n3.send("secret", ev.args)),
    );
}

/// A client kernel `Client` at `at` with a driver `me` and a session
/// `caller` whose `go` calls `poe://Server/who/add` with `call_rsvp`.
fn client(
    net_at: &ikc_tests::Endpoint,
    n: &Notes,
) -> ikc_tests::KernelThread<ikc_core::KernelHandle> {
    client_sending_caller(net_at, n, true)
}

/// [`client`], whose driver monitors the kernel `Server` from the start
/// (its `mon_register` note says when `Server` can be reached).
fn client_watching_server(
    net_at: &ikc_tests::Endpoint,
    n: &Notes,
) -> ikc_tests::KernelThread<ikc_core::KernelHandle> {
    client_with(net_at, n, true, true)
}

/// [`client`], sending `caller` details or not.
fn client_sending_caller(
    net_at: &ikc_tests::Endpoint,
    n: &Notes,
    send_caller: bool,
) -> ikc_tests::KernelThread<ikc_core::KernelHandle> {
    client_with(net_at, n, send_caller, false)
}

/// The client kernel of [`client`]: sending `caller` details or not, its
/// driver monitoring `Server` or not.
fn client_with(
    net_at: &ikc_tests::Endpoint,
    n: &Notes,
    send_caller: bool,
    watch_server: bool,
) -> ikc_tests::KernelThread<ikc_core::KernelHandle> {
    let (c, n) = (n.clone(), n.clone());
    spawn_client(
        "Client",
        net_at,
        move |cfg| {
            cfg.name("Client")
                .on_connect(move |_| c.send("connected", vec![]))
        },
        move |kernel| {
            kernel.spawn(driver(&n, "me"));
            Responder::spawn(kernel).send_caller(send_caller);
            if watch_server {
                // Queued before the client connects: the monitor is set
                // before `Server` can register.
                kernel.post("me", "monitor", vec![s("Server")])?;
            }
            let (n1, n2, n3) = (n.clone(), n.clone(), n.clone());
            kernel.spawn(
                InlineStates::new()
                    .state("_start", |_, ctx, _| ctx.alias_set("caller").expect("free"))
                    .state("go", move |_, ctx, _| {
                        // The array form with an upper-case hash RSVP...
                        let mut rsvp = Hash::new();
                        rsvp.insert("SESSION", "caller");
                        rsvp.insert("STATE", "sum");
                        let to = Value::from(vec!["Server", "who", "add"]);
                        let r = ctx.call_rsvp(
                            to,
                            Value::Hash(rsvp),
                            vec![Value::from(20), Value::from(22)],
                        );
                        n1.send("called", vec![Value::from(r.is_ok())]);
                        // ... a string and a lower-case hash RSVP without a session ...
                        let mut rsvp = Hash::new();
                        rsvp.insert("state", "sum");
                        let r = ctx.call_rsvp(
                            "poe://Server/who/add",
                            Value::Hash(rsvp),
                            vec![Value::from(1)],
                        );
                        n1.send("called", vec![Value::from(r.is_ok())]);
                        // ... and a call without one, which cannot work.
                        let err = ctx.call("poe://Server/who", "add", vec![]).unwrap_err();
                        n1.send("no_rsvp", vec![Value::from(err.to_string())]);
                        let err = ctx
                            .call_rsvp("poe://Server/who/add", "poe:/caller", vec![])
                            .unwrap_err();
                        n1.send("rsvp_without_state", vec![Value::from(err.to_string())]);
                    })
                    .state("sum", move |_, _, ev| {
                        let from = match &ev.sender {
                            Sender::Remote(r) => {
                                format!("{}:{}", r.session(), r.state().unwrap_or(""))
                            }
                            other => format!("{other:?}"),
                        };
                        let mut args = ev.args;
                        args.push(Value::from(from));
                        n2.send("sum", args);
                    })
                    .state("ikc_down", move |_, ctx, _| {
                        n3.send("caller_down", vec![]);
                        let _ = ctx.alias_remove("caller");
                    }),
            );
            Ok(())
        },
    )
}

/// How the client reaches the server in [`sender_details_and_answers`].
#[derive(Clone, Copy, PartialEq)]
enum Path {
    /// The client dials the server.
    Direct,
    /// The client dials a kernel `Hop` that dials the server: every
    /// message, answer and postback crosses `Hop`'s routing.
    ThroughHop,
}

fn sender_details_and_answers(transport: Transport, path: Path) {
    let net = Net::new(transport);
    let (n, mut inbox) = notes();
    let n1 = n.clone();
    let server = server(&net.endpoint(), &n, move |k| {
        who(k, &n1, false);
        Ok(())
    });
    let hop = (path == Path::ThroughHop).then(|| {
        let (to_server, linked) = (server.value.at.clone(), n.clone());
        let hop = server_as("Hop", &[], "hop", &net.endpoint(), &n, move |k| {
            let config = to_server
                .client_config()
                .name("Hop")
                .on_connect(move |_| linked.send("hop_linked", vec![]));
            ikc_client::Client::spawn(k, config)?;
            Ok(())
        });
        inbox.wait("hop_linked");
        hop
    });
    let client = match &hop {
        None => client(&server.value.at, &n),
        Some(hop) => {
            let client = client_watching_server(&hop.value.at, &n);
            // The client's own monitor of `Server` (its first argument),
            // not `Hop`'s or the server's monitors of `*`, which also name
            // `Server`: only then does the client know a route to it.
            inbox.wait_for("Server registered at the client", |note| {
                note.label == "mon_register"
                    && note.args.first().and_then(Value::as_str) == Some("Server")
            });
            client
        }
    };
    inbox.wait("connected");
    let me = &client.value;
    // `me` publishes `pong`, so that IKC's default mode lets answers in.
    me.call("me", "publish", vec![list(&["pong"])]).unwrap();
    assert_eq!(
        me.call("me", "post_to", vec![s("poe://Server/who/whoami"), s("hi")])
            .unwrap(),
        Value::Bool(true)
    );
    let seen = inbox.wait("whoami");
    // The driver's `post_to` state posted it, at some line of driver.rs.
    let line = seen.arg(5).as_i64().unwrap_or(0);
    assert!(line > 0, "{seen:?}");
    let want_spec = format!("poe://{}/me", client.kernel_id);
    assert_eq!(
        seen.args,
        vec![
            Value::Bool(true),
            Value::from(client.kernel_id.as_str()),
            s("me"),
            s("post_to"),
            s("tests/src/driver.rs"),
            Value::from(line),
            Value::from(want_spec.as_str()),
            s("post_to"),
            s("tests/src/driver.rs"),
            Value::from(line),
        ]
    );
    // The three answers reach `me`, each with its arguments.
    let answers: BTreeSet<String> = (0..3)
        .map(|_| format!("{:?}", inbox.wait("pong").args))
        .collect();
    let want: BTreeSet<String> = [
        vec![s("target")],
        vec![s("specifier")],
        vec![list(&["postback"]), list(&["thread"])],
    ]
    .iter()
    .map(|a| format!("{a:?}"))
    .collect();
    assert_eq!(answers, want);

    // call_rsvp: the answers come to the RSVPs, sent by who's `add`.
    client.value.post("caller", "go", vec![]).unwrap();
    assert_eq!(inbox.wait("called").args, [Value::Bool(true)]);
    assert_eq!(inbox.wait("called").args, [Value::Bool(true)]);
    let no_rsvp = inbox.wait("no_rsvp").text(0);
    assert!(no_rsvp.contains("give it an RSVP"), "{no_rsvp}");
    let no_state = inbox.wait("rsvp_without_state").text(0);
    assert!(no_state.contains("names no state"), "{no_state}");
    let sums: BTreeSet<String> = (0..2)
        .map(|_| format!("{:?}", inbox.wait("sum").args))
        .collect();
    let want: BTreeSet<String> = [
        vec![Value::from(42), s("who:add")],
        vec![Value::from(1), s("who:add")],
    ]
    .iter()
    .map(|a| format!("{a:?}"))
    .collect();
    assert_eq!(sums, want);

    me.call("me", "shutdown", vec![]).unwrap();
    let _ = client.value.post("caller", "ikc_down", vec![]);
    client.join().unwrap();
    if let Some(hop) = hop {
        hop.value.handle.call("hop", "shutdown", vec![]).unwrap();
        hop.join().unwrap();
    }
    server.value.handle.call("srv", "shutdown", vec![]).unwrap();
    server.join().unwrap();
}

#[test]
fn sender_details_and_answers_tcp() {
    sender_details_and_answers(Transport::Tcp, Path::Direct);
}

#[test]
fn sender_details_and_answers_unix() {
    sender_details_and_answers(Transport::Unix, Path::Direct);
}

#[test]
fn sender_details_and_answers_through_a_routing_kernel() {
    sender_details_and_answers(Transport::Tcp, Path::ThroughHop);
}

/// Unpublished states: refused by IKC's default, run in no-publish mode
/// when the hook agrees, refused with IKC's error on both sides when not.
fn no_publish(transport: Transport, mode_on: bool) {
    let net = Net::new(transport);
    let (n, mut inbox) = notes();
    let n1 = n.clone();
    let server = server(&net.endpoint(), &n, move |k| {
        who(k, &n1, mode_on);
        Ok(())
    });
    let client = client(&server.value.at, &n);
    inbox.wait("connected");
    let me = &client.value;
    let post = |spec: &str| {
        me.call("me", "post_to", vec![s(spec), s("x")]).unwrap();
    };
    post("poe://Server/who/hidden");
    if mode_on {
        assert_eq!(inbox.wait("hidden").args, [s("x")]);
    } else {
        let text =
            "Session 'who' has not published state 'hidden'.  Request poe://Server/who/hidden";
        for side in ["local-check", "remote-check"] {
            let error = error_note(&mut inbox, side).text(5);
            assert!(error.starts_with(text), "{error}");
        }
    }
    // Denied by the hook (or not published): IKC's error, here and there.
    post("poe://Server/who/secret");
    let text = "Session 'who' has not published state 'secret'.  Request poe://Server/who/secret";
    let local = error_note(&mut inbox, "local-check").text(5);
    assert!(local.starts_with(text), "{local}");
    let remote = error_note(&mut inbox, "remote-check").text(5);
    assert!(remote.starts_with(text), "{remote}");
    // IKC's own states stay out of reach, and so do POE's.
    post("poe://Server/IKC/shutdown");
    let remote = error_note(&mut inbox, "remote-check").text(5);
    assert!(
        remote.starts_with("Session 'IKC' has not published state 'shutdown'"),
        "{remote}"
    );
    post("poe://Server/who/_stop");
    let remote = error_note(&mut inbox, "remote-check").text(5);
    assert!(
        remote.starts_with("Session 'who' has not published state '_stop'"),
        "{remote}"
    );
    assert!(inbox.all("secret").is_empty());
    if !mode_on {
        assert!(inbox.all("hidden").is_empty());
    }

    me.call("me", "shutdown", vec![]).unwrap();
    let _ = client.value.post("caller", "ikc_down", vec![]);
    client.join().unwrap();
    server.value.handle.call("srv", "shutdown", vec![]).unwrap();
    server.join().unwrap();
}

#[test]
fn no_publish_mode_tcp() {
    no_publish(Transport::Tcp, true);
}

#[test]
fn no_publish_mode_unix() {
    no_publish(Transport::Unix, true);
}

#[test]
fn publish_required_by_default_tcp() {
    no_publish(Transport::Tcp, false);
}

#[test]
fn ikc_call_state_returns_undef_and_the_api_the_count() {
    let net = Net::new(Transport::Tcp);
    let (n, mut inbox) = notes();
    let n1 = n.clone();
    let server = server(&net.endpoint(), &n, move |k| {
        who(k, &n1, false);
        Ok(())
    });
    let client = client(&server.value.at, &n);
    inbox.wait("connected");
    let me = &client.value;
    let state = me
        .call(
            "me",
            "ikc",
            vec![
                s("call"),
                s("poe://Server/who/add"),
                Value::from(5),
                s("poe:/me/added"),
            ],
        )
        .unwrap();
    assert_eq!(state, Value::Undef, "IKC/call returns nothing, as in Perl");
    assert_eq!(inbox.wait("added").args, [Value::from(5)]);
    let api = me
        .call(
            "me",
            "call",
            vec![s("poe://Server/who/add"), Value::from(6), s("added")],
        )
        .unwrap();
    assert_eq!(
        api,
        Value::from(1),
        "Ikc::call returns the number of kernels"
    );
    assert_eq!(inbox.wait("added").args, [Value::from(6)]);
    me.call("me", "shutdown", vec![]).unwrap();
    let _ = client.value.post("caller", "ikc_down", vec![]);
    client.join().unwrap();
    server.value.handle.call("srv", "shutdown", vec![]).unwrap();
    server.join().unwrap();
}

#[test]
fn without_caller_details_a_sender_says_what_ikc_says() {
    let net = Net::new(Transport::Tcp);
    let (n, mut inbox) = notes();
    let n1 = n.clone();
    let server = server(&net.endpoint(), &n, move |k| {
        who(k, &n1, false);
        Ok(())
    });
    let client = client_sending_caller(&server.value.at, &n, false);
    inbox.wait("connected");
    let me = &client.value;
    me.call("me", "publish", vec![list(&["pong"])]).unwrap();
    me.call("me", "post_to", vec![s("poe://Server/who/whoami"), s("hi")])
        .unwrap();
    let seen = inbox.wait("whoami");
    // IKC's from: this kernel's ID, the published alias; nothing more.
    assert_eq!(
        seen.args[..6],
        [
            Value::Bool(true),
            Value::from(client.kernel_id.as_str()),
            s("me"),
            Value::Undef,
            Value::Undef,
            Value::Undef,
        ]
    );
    assert_eq!(seen.args[7..], [Value::Undef, s(""), Value::from(0)]);
    me.call("me", "shutdown", vec![]).unwrap();
    let _ = client.value.post("caller", "ikc_down", vec![]);
    client.join().unwrap();
    server.value.handle.call("srv", "shutdown", vec![]).unwrap();
    server.join().unwrap();
}
