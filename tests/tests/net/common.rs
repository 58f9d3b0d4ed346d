//! What several test modules use: a server kernel `Server` with a driver
//! session `srv`, and a client kernel `Client` with a driver session `me`.

use ikc_core::{InlineStates, Kernel};
use ikc_freezer::Value;
use ikc_responder::{Ikc, MonitorOp, MonitorStates};
use ikc_tests::{Endpoint, KernelThread, Notes, Served, driver, spawn_client, spawn_server};

/// A state of [`service`]: ARG0 in, the return value out.
pub(crate) type Handler = fn(Value) -> Value;

/// Start a server kernel named `Server` (aliases `Srv`) at `at`, with a
/// driver `srv` noting to `notes`, then `setup`.
pub(crate) fn server(
    at: &Endpoint,
    notes: &Notes,
    setup: impl FnOnce(&mut Kernel) -> anyhow::Result<()> + Send + 'static,
) -> KernelThread<Served> {
    let notes = notes.clone();
    spawn_server(
        "Server",
        at,
        |c| c.name("Server").aliases(["Srv"]),
        move |kernel| {
            kernel.spawn(driver(&notes, "srv"));
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
        .state("_start", move |_, ctx, _| {
            ctx.alias_set(alias).expect("alias free");
            Ikc::of(ctx).expect("responder").monitor(
                ctx,
                "*",
                &MonitorStates::new().on(MonitorOp::Shutdown, "ikc_down"),
            );
        })
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

/// A list of strings as a `Value`.
pub(crate) fn list(items: &[&str]) -> Value {
    Value::Array(items.iter().map(|s| Value::from(*s)).collect())
}

/// `Value` from a string.
pub(crate) fn s(text: &str) -> Value {
    Value::from(text)
}
