//! The session `test` that IKC's examples (and Perl's `server.pl`) publish:
//!
//! - `fetchQ` returns 42;
//! - `add_1` takes `[n, rsvp]` and posts `n + 1` to the RSVP specifier;
//! - `here` prints its arguments;
//! - `echo` returns ARG0.
//!
//! Perl's ClientLite test client (`lite.pl`, `test-lite`) works against it.

use ikc_core::{InlineStates, SessionId, Signal, Spawner};
use ikc_freezer::Value;
use ikc_responder::{IKC_ALIAS, Ikc, MonitorOp, MonitorStates};

/// The states `test` publishes.
pub const TEST_STATES: [&str; 4] = ["fetchQ", "add_1", "here", "echo"];

fn show(args: &[Value]) -> String {
    args.iter()
        .map(|v| match v {
            Value::Str(_) | Value::Bytes(_) => format!("{:?}", v.to_string()),
            other => other.to_string(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Start the `test` session and publish its states. With `quiet`, it
/// prints nothing (benchmarks).
pub fn spawn_test_session(spawner: &mut impl Spawner, quiet: bool) -> SessionId {
    spawner.spawn_session(
        InlineStates::with_heap(quiet)
            .state("_start", |_, ctx, _| {
                ctx.alias_set("test").expect("the alias 'test' is free");
                let ikc = Ikc::require(ctx).expect("start the IKC server first");
                ikc.publish("test", &TEST_STATES);
                // Let the kernel exit when IKC shuts down.
                ikc.monitor(
                    ctx,
                    "*",
                    &MonitorStates::new().on(MonitorOp::Shutdown, "shutdown"),
                );
            })
            .state("shutdown", |_, ctx, _| {
                let _ = ctx.alias_remove("test");
            })
            .state("fetchQ", |quiet, _, _| {
                if !*quiet {
                    println!("[server] fetchQ called: answering 42");
                }
                Value::from(42)
            })
            .state("add_1", |quiet, ctx, ev| {
                let arg = ev.args.first().cloned().unwrap_or_default();
                let n = arg.get_index(0).and_then(Value::as_i64).unwrap_or(0);
                let rsvp = arg.get_index(1).cloned().unwrap_or_default();
                if !*quiet {
                    println!("[server] add_1({n}): posting {} to {rsvp}", n + 1);
                }
                // As Perl's server.pl does: IKC/post to the RSVP it was given.
                let _ = ctx.post(IKC_ALIAS, "post", vec![rsvp, Value::from(n + 1)]);
            })
            .state("here", |quiet, _, ev| {
                if !*quiet {
                    println!("[server] here got {}", show(&ev.args));
                }
            })
            .state("echo", |quiet, _, ev| {
                let v = ev.args.first().cloned().unwrap_or_default();
                if !*quiet {
                    println!("[server] echo {v}");
                }
                v
            }),
    )
}

/// Start a session that prints remote kernels coming and going (a monitor
/// of `*`). With `shutdown_after_first`, IKC shuts down when the first
/// remote kernel disconnects, so the server's kernel exits.
pub fn spawn_connection_monitor(
    spawner: &mut impl Spawner,
    shutdown_after_first: bool,
) -> SessionId {
    spawner.spawn_session(
        InlineStates::with_heap(shutdown_after_first)
            .state("_start", |_, ctx, _| {
                ctx.alias_set("connection monitor")
                    .expect("the alias is free");
                // Ctrl-C (or a TERM) shuts IKC down cleanly.
                let _ = ctx.sig(Signal::Int, "signal");
                let _ = ctx.sig(Signal::Term, "signal");
                let ikc = Ikc::require(ctx).expect("start the IKC server first");
                ikc.monitor(
                    ctx,
                    "*",
                    &MonitorStates::new()
                        .on(MonitorOp::Register, "registered")
                        .on(MonitorOp::Unregister, "unregistered")
                        .on(MonitorOp::Error, "error")
                        .on(MonitorOp::Shutdown, "shutdown"),
                );
            })
            .state("shutdown", |_, ctx, _| {
                let _ = ctx.alias_remove("connection monitor");
            })
            .state("signal", |_, ctx, ev| {
                println!(
                    "[server] SIG{}: shutting down",
                    ev.args.first().map(Value::to_string).unwrap_or_default()
                );
                ctx.sig_handled();
                if let Some(ikc) = Ikc::of(ctx) {
                    ikc.shutdown(ctx);
                }
            })
            .state("registered", |_, ctx, ev| {
                // ARG1: the kernel's name; ARG2: true for its real ID.
                if ev.args.get(2).is_some_and(Value::as_bool) {
                    let id = ev.args[1].to_string();
                    let names = Ikc::of(ctx)
                        .and_then(|ikc| ikc.kernels().into_iter().find(|k| k.id == id))
                        .map(|k| k.aliases.join(", "))
                        .unwrap_or_default();
                    println!("[server] kernel {id} connected (also known as {names})");
                }
            })
            .state("unregistered", |once, ctx, ev| {
                if ev.args.get(2).is_some_and(Value::as_bool) {
                    println!("[server] kernel {} disconnected", ev.args[1]);
                    if *once {
                        println!("[server] --once: shutting down");
                        if let Some(ikc) = Ikc::of(ctx) {
                            ikc.shutdown(ctx);
                        }
                    }
                }
            })
            .state("error", |_, _, ev| {
                // ARG2: ARG1 is the kernel's real ID (a monitor of `*` hears
                // once per name); ARG4: the operation; ARG5: the message.
                let (real, op) = (ev.args[2].as_bool(), ev.args[4].to_string());
                if op.starts_with("channel-") && !real {
                    return;
                }
                println!("[server] error {op}: {}", ev.args[5]);
            }),
    )
}
