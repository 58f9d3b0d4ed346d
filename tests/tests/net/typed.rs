//! Typed states and typed calls across kernels: the answer of a typed
//! state comes back to the caller's RSVP, and a bad argument is IKC's
//! error on both sides (`local-invocation` on the server, `remote_error`
//! seen as `remote-invocation` by the client), with the session still
//! serving; a typed call gets its answer, or the remote error about it, a
//! timeout, or the kernel gone, in a closure or through a handle.

use std::future::Future;
use std::time::Duration;

use ikc_core::{InlineStates, Kernel};
use ikc_freezer::{Value, to_value};
use ikc_responder::{Ikc, MonitorOp, MonitorStates, RemoteCallError, RemoteCalls, Responder};
use ikc_tests::{Endpoint, KernelThread, Net, Notes, Transport, notes, spawn_client};
use serde::{Deserialize, Serialize};

use crate::common::{client, error_note, s, server};

#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct Add {
    pub(crate) a: i64,
    pub(crate) b: i64,
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct Sum {
    pub(crate) sum: i64,
}

/// A session `calc` publishing the typed state `add` (`Add` in, `Sum` out,
/// "overflow" as its error), `echo` (returns ARG0) and `hold` (notes
/// `held`, answers nothing).
pub(crate) fn calc(kernel: &mut Kernel, notes: &Notes) {
    let n = notes.clone();
    kernel.spawn(
        InlineStates::new()
            .state("_start", |_, ctx, _| {
                ctx.alias_set("calc").expect("alias free");
                let ikc = Ikc::of(ctx).expect("responder");
                ikc.publish("calc", &["add", "echo", "hold"]);
                ikc.monitor(
                    ctx,
                    "*",
                    &MonitorStates::new().on(MonitorOp::Shutdown, "down"),
                );
            })
            .state("down", |_, ctx, _| {
                let _ = ctx.alias_remove("calc");
            })
            .state("echo", |_, _, ev| {
                ev.args.into_iter().next().unwrap_or_default()
            })
            .state("hold", move |_, _, _| n.send("held", Vec::new()))
            .typed_state("add", |_, req: Add| {
                req.a
                    .checked_add(req.b)
                    .map(|sum| Sum { sum })
                    .ok_or("overflow")
            }),
    );
}

fn typed_state_across_kernels(transport: Transport) {
    let net = Net::new(transport);
    let (n, mut inbox) = notes();
    let n1 = n.clone();
    let server = server(&net.endpoint(), &n, move |k| {
        calc(k, &n1);
        Ok(())
    });
    let client = client(&server.value.at, &n);
    inbox.wait("connected");
    let me = &client.value;
    let call = |params: Value, rsvp: &str| {
        let sent = me
            .call(
                "me",
                "call",
                vec![s("poe://Server/calc/add"), params, s(rsvp)],
            )
            .unwrap();
        assert_eq!(sent, Value::from(1));
    };

    call(to_value(&Add { a: 40, b: 2 }).unwrap(), "sum");
    let got = inbox.wait("sum").args;
    assert_eq!(
        ikc_freezer::from_value::<Sum>(got[0].clone()).unwrap(),
        Sum { sum: 42 }
    );

    // A bad argument: an error on both sides, never a panic.
    call(s("not a hash"), "never");
    let local = error_note(&mut inbox, "local-invocation");
    assert!(
        local.text(5).starts_with("add: bad argument ARG0: "),
        "{local:?}"
    );
    assert!(
        local.text(5).ends_with(".  Request poe://Server/calc/add"),
        "{local:?}"
    );
    let remote = error_note(&mut inbox, "remote-invocation");
    assert_eq!(remote.text(5), local.text(5));

    // The closure's own error travels the same way.
    call(to_value(&Add { a: i64::MAX, b: 1 }).unwrap(), "never");
    let remote = error_note(&mut inbox, "remote-invocation");
    assert!(
        remote.text(5).starts_with("add: overflow.  Request"),
        "{remote:?}"
    );

    // The session still serves.
    call(to_value(&Add { a: 1, b: 2 }).unwrap(), "again");
    assert_eq!(inbox.wait("again").args[0]["sum"], Value::Int(3));
    assert!(inbox.all("never").is_empty());

    me.call("me", "shutdown", vec![]).unwrap();
    client.join().unwrap();
    server.value.handle.call("srv", "shutdown", vec![]).unwrap();
    server.join().unwrap();
}

#[test]
fn typed_state_across_kernels_tcp() {
    typed_state_across_kernels(Transport::Tcp);
}

#[test]
fn typed_state_across_kernels_unix() {
    typed_state_across_kernels(Transport::Unix);
}

/// A client kernel `Client` with a session `caller` whose state `call`
/// (`[spec, request, timeout in ms, label]`) makes a typed call and notes
/// the outcome under `label`: `["ok", answer]` or `["err", error]`.
fn typed_caller(at: &Endpoint, n: &Notes) -> KernelThread<ikc_core::KernelHandle> {
    let n1 = n.clone();
    let n2 = n.clone();
    spawn_client(
        "Client",
        at,
        move |c| {
            c.name("Client")
                .on_connect(move |_| n1.send("connected", Vec::new()))
        },
        move |kernel| {
            kernel.spawn(
                InlineStates::new()
                    .state("_start", |_, ctx, _| {
                        ctx.alias_set("caller").expect("alias free");
                        Responder::spawn(ctx).monitor(
                            ctx,
                            "*",
                            &MonitorStates::new().on(MonitorOp::Shutdown, "down"),
                        );
                    })
                    .state("down", |_, ctx, _| {
                        let _ = ctx.alias_remove("caller");
                    })
                    .state("call", move |_, ctx, ev| {
                        let (spec, request, ms, label): (String, Value, u64, String) =
                            ev.args_as().expect("call's arguments");
                        let n = n2.clone();
                        Ikc::require(ctx).expect("responder").call_typed(
                            ctx,
                            &spec,
                            &request,
                            Duration::from_millis(ms),
                            move |_, answer: Result<Sum, RemoteCallError>| match answer {
                                Ok(sum) => n.send(&label, vec![s("ok"), Value::from(sum.sum)]),
                                Err(e) => n.send(&label, vec![s("err"), s(&format!("{e:?}"))]),
                            },
                        );
                    }),
            );
            Ok(())
        },
    )
}

fn typed_calls_across_kernels(transport: Transport) {
    let net = Net::new(transport);
    let (n, mut inbox) = notes();
    let n1 = n.clone();
    let server = server(&net.endpoint(), &n, move |k| {
        calc(k, &n1);
        Ok(())
    });
    let client = typed_caller(&server.value.at, &n);
    inbox.wait("connected");
    let me = &client.value;
    let call = |spec: &str, request: Value, ms: u64, label: &str| {
        me.post(
            "caller",
            "call",
            vec![s(spec), request, Value::from(ms), s(label)],
        )
        .unwrap();
    };
    let add = |a: i64, b: i64| to_value(&Add { a, b }).unwrap();

    call("poe://Server/calc/add", add(40, 2), 10_000, "sum");
    assert_eq!(inbox.wait("sum").args, [s("ok"), Value::from(42)]);
    // Relative to the kernel name, as Ikc::post takes it.
    call("Server/calc/add", add(1, 2), 10_000, "relative");
    assert_eq!(inbox.wait("relative").args, [s("ok"), Value::from(3)]);

    // Errors the remote kernel reports, each ending its own call.
    call("poe://Server/calc/add", s("nonsense"), 10_000, "bad_arg");
    call("poe://Server/calc/secret", add(1, 1), 10_000, "unpublished");
    let bad = inbox.wait("bad_arg").text(1);
    assert!(
        bad.starts_with("Remote { message: \"add: bad argument ARG0"),
        "{bad}"
    );
    assert!(bad.contains("operation: \"invocation\""), "{bad}");
    let unpublished = inbox.wait("unpublished").text(1);
    assert!(
        unpublished.contains("operation: \"check\""),
        "{unpublished}"
    );
    // A state that answers nothing (undef): the timeout ends the call.
    call("poe://Server/calc/hold", add(0, 0), 50, "held_too_long");
    assert_eq!(inbox.wait("held_too_long").text(1), "Timeout(50ms)");
    inbox.wait("held");
    // A kernel nobody is connected to.
    call("poe://Nobody/calc/add", add(1, 1), 10_000, "nobody");
    assert!(
        inbox.wait("nobody").text(1).starts_with("NotSent("),
        "not sent"
    );
    // A decoding error: the answer is not a Sum.
    call("poe://Server/calc/echo", s("not a sum"), 10_000, "decode");
    assert!(inbox.wait("decode").text(1).starts_with("Decode("));

    // From another thread, through the client kernel's handle.
    let sum: Sum = me
        .remote_call(
            "poe://Server/calc/add",
            &Add { a: 5, b: 6 },
            Duration::from_secs(10),
        )
        .unwrap();
    assert_eq!(sum, Sum { sum: 11 });
    let sum: Sum = block_on(me.remote_call_async(
        "poe://Server/calc/add",
        &Add { a: 7, b: 8 },
        Duration::from_secs(10),
    ))
    .unwrap();
    assert_eq!(sum, Sum { sum: 15 });
    let err = me
        .remote_call::<_, Sum>("poe://Server/calc/add", "x", Duration::from_secs(10))
        .unwrap_err();
    assert!(matches!(err, RemoteCallError::Remote { .. }), "{err:?}");

    // The server goes away while a call waits: KernelGone, not a timeout.
    call("poe://Server/calc/hold", add(0, 0), 600_000, "gone");
    inbox.wait("held");
    server.value.handle.call("srv", "shutdown", vec![]).unwrap();
    assert_eq!(inbox.wait("gone").text(1), "KernelGone(\"Server\")");
    server.join().unwrap();

    client.value.call("IKC", "shutdown", vec![]).unwrap();
    client.join().unwrap();
}

#[test]
fn typed_calls_across_kernels_tcp() {
    typed_calls_across_kernels(Transport::Tcp);
}

#[test]
fn typed_calls_across_kernels_unix() {
    typed_calls_across_kernels(Transport::Unix);
}

/// Run a future to completion on this thread (the kernel's thread wakes it).
fn block_on<F: Future>(f: F) -> F::Output {
    struct Unpark(std::thread::Thread);
    impl std::task::Wake for Unpark {
        fn wake(self: std::sync::Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = std::task::Waker::from(std::sync::Arc::new(Unpark(std::thread::current())));
    let mut cx = std::task::Context::from_waker(&waker);
    let mut f = std::pin::pin!(f);
    loop {
        if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
        std::thread::park();
    }
}
