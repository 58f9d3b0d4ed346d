//! What several test modules use: a server kernel `Server` with a driver
//! session `srv`, and a client kernel `Client` with a driver session `me`.

use ikc_core::{Ctx, InlineStates, Kernel};
use ikc_freezer::Value;
use std::time::Duration;

use ikc_client::{Client, ClientConfig};
use ikc_core::SessionId;
use ikc_responder::{Ikc, MonitorOp, MonitorStates, Responder};
use ikc_tests::{
    Endpoint, Inbox, KernelThread, Net, Note, Notes, Served, driver, spawn_client, spawn_kernel,
    spawn_server,
};

/// A state of [`service`]: ARG0 in, the return value out.
pub(crate) type Handler = fn(Value) -> Value;

/// Start a server kernel named `Server` (aliases `Srv`) at `at`, with a
/// driver `srv` noting to `notes`, then `setup`.
pub(crate) fn server(
    at: &Endpoint,
    notes: &Notes,
    setup: impl FnOnce(&mut Kernel) -> anyhow::Result<()> + Send + 'static,
) -> KernelThread<Served> {
    server_as("Server", &["Srv"], "srv", at, notes, setup)
}

/// [`server`] running the [`test_session`] (as kernel `Server`).
pub(crate) fn test_server(at: &Endpoint, notes: &Notes) -> KernelThread<Served> {
    let n = notes.clone();
    server(at, notes, move |k| {
        test_session(k, &n, "Server");
        Ok(())
    })
}

/// A [`test_server`] on `net` and a [`client`] connected to it (its
/// `connected` note taken from `inbox`).
pub(crate) fn test_server_and_client(
    net: &Net,
    notes: &Notes,
    inbox: &mut Inbox,
) -> (KernelThread<Served>, KernelThread<ikc_core::KernelHandle>) {
    let server = test_server(&net.endpoint(), notes);
    let client = client(&server.value.at, notes);
    inbox.wait("connected");
    (server, client)
}

/// Start a server kernel `name` with `aliases` at `at`, with a driver
/// `driver_alias` noting to `notes`, then `setup`.
pub(crate) fn server_as(
    name: &'static str,
    aliases: &'static [&'static str],
    driver_alias: &'static str,
    at: &Endpoint,
    notes: &Notes,
    setup: impl FnOnce(&mut Kernel) -> anyhow::Result<()> + Send + 'static,
) -> KernelThread<Served> {
    let notes = notes.clone();
    spawn_server(
        name,
        at,
        move |c| c.name(name).aliases(aliases.iter().copied()),
        move |kernel| {
            kernel.spawn(driver(&notes, driver_alias));
            setup(kernel)
        },
    )
}

/// Start a client kernel named `Client` connected to `at`, with a driver
/// `me` noting to `notes` (and `connected` noted by `on_connect`).
pub(crate) fn client(at: &Endpoint, notes: &Notes) -> KernelThread<ikc_core::KernelHandle> {
    let n = notes.clone();
    let notes = notes.clone();
    spawn_client(
        "Client",
        at,
        move |c| {
            c.name("Client")
                .on_connect(move |_| n.send("connected", Vec::new()))
        },
        move |kernel| {
            kernel.spawn(driver(&notes, "me"));
            Ok(())
        },
    )
}

/// A session aliased `alias` with the given states, each returning what
/// the closure makes of ARG0; it lets go of its alias when IKC shuts down.
pub(crate) fn service(
    kernel: &mut Kernel,
    alias: &'static str,
    states: Vec<(&'static str, Handler)>,
) {
    let mut s = InlineStates::new()
        .state("_start", move |_, ctx, _| alias_until_ikc_down(ctx, alias))
        .state("ikc_down", move |_, ctx, _| {
            let _ = ctx.alias_remove(alias);
        });
    for (name, f) in states {
        s = s.state(name, move |_, _, ev| {
            f(ev.args.into_iter().next().unwrap_or_default())
        });
    }
    kernel.spawn(s);
}

/// Take `alias`, and have `ikc_down` posted when IKC shuts down (where
/// the session lets its aliases go, so that the kernel can stop).
pub(crate) fn alias_until_ikc_down(ctx: &mut Ctx<'_>, alias: &str) {
    ctx.alias_set(alias).expect("alias free");
    Ikc::of(ctx).expect("responder").monitor(
        ctx,
        "*",
        &MonitorStates::new().on(MonitorOp::Shutdown, "ikc_down"),
    );
}

/// Shut the client (driver `me`) down, wait until the server's monitors
/// have heard it go, then shut the server (driver `srv`) down.
pub(crate) fn shut_down(
    client: KernelThread<ikc_core::KernelHandle>,
    server: KernelThread<Served>,
    inbox: &mut Inbox,
) {
    client.value.call("me", "shutdown", vec![]).unwrap();
    client.join().unwrap();
    inbox.wait("mon_unregister");
    server.value.handle.call("srv", "shutdown", vec![]).unwrap();
    server.join().unwrap();
}

/// Have the client's driver (`me`) call `spec` with `params`, the answer
/// to go to `rsvp`, and check the call went to exactly one kernel.
pub(crate) fn call_one(me: &ikc_core::KernelHandle, spec: &str, params: Value, rsvp: &str) {
    let sent = me
        .call("me", "call", vec![s(spec), params, s(rsvp)])
        .unwrap();
    assert_eq!(sent, Value::from(1), "call {spec} reached one kernel");
}

/// A list of strings as a `Value`.
pub(crate) fn list(items: &[&str]) -> Value {
    Value::Array(items.iter().map(|s| Value::from(*s)).collect())
}

/// `Value` from a string.
pub(crate) fn s(text: &str) -> Value {
    Value::from(text)
}

/// The session `test` of these tests, noting to `notes` with labels
/// `<state>@<kernel>`. It publishes:
///
/// - `here`: notes its arguments;
/// - `fetchQ`: returns 42; `echo`: returns ARG0;
/// - `list`: returns `[1, 2, 3]`; `empty`: returns `[]`; `nothing`: returns undef;
/// - `twice`: ARG0 is a specifier: posts `"first"`, then `"second"` to it;
/// - `later`: keeps its SENDER and, after a short delay, posts `reply`
///   to it with `["late", ARG0]`, and `unpublished` with `["nope"]`;
///
/// and has a state `secret` it does not publish.
pub(crate) fn test_session(kernel: &mut Kernel, notes: &Notes, kernel_label: &'static str) {
    let n = notes.clone();
    let here = format!("here@{kernel_label}");
    let secret = format!("secret@{kernel_label}");
    let n2 = notes.clone();
    kernel.spawn(
        InlineStates::new()
            .state("_start", |_, ctx, _| {
                ctx.alias_set("test").expect("alias free");
                let ikc = Responder::spawn(ctx);
                ikc.publish(
                    "test",
                    &[
                        "here", "fetchQ", "echo", "list", "empty", "nothing", "twice", "later",
                    ],
                );
                ikc.monitor(
                    ctx,
                    "*",
                    &MonitorStates::new().on(MonitorOp::Shutdown, "ikc_down"),
                );
            })
            .state("ikc_down", |_, ctx, _| {
                let _ = ctx.alias_remove("test");
            })
            .state("here", move |_, _, ev| n.send(here.as_str(), ev.args))
            .state("secret", move |_, _, ev| n2.send(secret.as_str(), ev.args))
            .state("fetchQ", |_, _, _| Value::from(42))
            .state("echo", |_, _, ev| {
                ev.args.into_iter().next().unwrap_or_default()
            })
            .state("list", |_, _, _| Value::from(vec![1, 2, 3]))
            .state("empty", |_, _, _| Value::Array(Vec::new()))
            .state("nothing", |_, _, _| Value::Undef)
            .state("twice", |_, ctx, ev| {
                let to = ev.args.first().cloned().unwrap_or_default();
                let _ = ctx.post("IKC", "post", vec![to.clone(), Value::from("first")]);
                let _ = ctx.post("IKC", "post", vec![to, Value::from("second")]);
            })
            .state("later", |_, ctx, ev| {
                let sender = ev.sender.session().map_or(Value::Undef, Value::from);
                let arg = ev.args.into_iter().next().unwrap_or_default();
                ctx.delay("reply_later", Duration::from_millis(20), vec![sender, arg]);
            })
            .state("reply_later", |_, ctx, mut ev| {
                let arg = ev.args.pop().unwrap_or_default();
                if let Some(sender) = ev.args.first().and_then(SessionId::from_value) {
                    let _ = ctx.post(sender, "reply", vec![Value::from("late"), arg]);
                    let _ = ctx.post(sender, "unpublished", vec![Value::from("nope")]);
                }
            }),
    );
}

/// A client kernel `Client` connected to both servers, with a driver `me`
/// and a `test` session of its own.
pub(crate) fn two_server_client(
    at1: &Endpoint,
    at2: &Endpoint,
    n: &Notes,
) -> KernelThread<ikc_core::KernelHandle> {
    let (at1, at2, n) = (at1.clone(), at2.clone(), n.clone());
    spawn_kernel("Client", move |kernel| {
        kernel.spawn(driver(&n, "me"));
        test_session(kernel, &n, "Client");
        for at in [at1, at2] {
            let n = n.clone();
            let config: ClientConfig = at
                .client_config()
                .name("Client")
                .on_connect(move |_| n.send("connected", Vec::new()));
            Client::spawn(kernel, config)?;
        }
        Ok(kernel.handle())
    })
}

/// Wait until an error monitor reports operation `op` (ARG4).
pub(crate) fn error_note(inbox: &mut Inbox, op: &str) -> Note {
    inbox.wait_for(&format!("an error monitor told {op}"), |n| {
        n.label == "mon_error" && n.text(4) == op
    })
}

/// Two servers (`Server` and `Other`, each with its `test` session) and a
/// client kernel connected to both; returns once both connections are up.
pub(crate) struct TwoServers {
    pub(crate) one: KernelThread<Served>,
    pub(crate) two: KernelThread<Served>,
    pub(crate) client: KernelThread<ikc_core::KernelHandle>,
}

/// Start [`TwoServers`] on `net`, noting to `n`, and wait for both connections.
pub(crate) fn two_servers(net: &Net, n: &Notes, inbox: &mut Inbox) -> TwoServers {
    let n2 = n.clone();
    let one = test_server(&net.endpoint(), n);
    let two = server_as("Other", &[], "other", &net.endpoint(), n, move |k| {
        test_session(k, &n2, "Other");
        Ok(())
    });
    let client = two_server_client(&one.value.at, &two.value.at, n);
    inbox.wait("connected");
    inbox.wait("connected");
    TwoServers { one, two, client }
}
