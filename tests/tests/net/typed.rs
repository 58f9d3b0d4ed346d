//! Typed states across kernels: the answer of a typed state comes back to
//! the caller's RSVP, and a bad argument is IKC's error on both sides
//! (`local-invocation` on the server, `remote_error` seen as
//! `remote-invocation` by the client), with the session still serving.

use ikc_core::{InlineStates, Kernel};
use ikc_freezer::{Value, to_value};
use ikc_responder::{Ikc, MonitorOp, MonitorStates};
use ikc_tests::{Net, Transport, notes};
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
/// "overflow" as its error).
pub(crate) fn calc(kernel: &mut Kernel) {
    kernel.spawn(
        InlineStates::new()
            .state("_start", |_, ctx, _| {
                ctx.alias_set("calc").expect("alias free");
                let ikc = Ikc::of(ctx).expect("responder");
                ikc.publish("calc", &["add"]);
                ikc.monitor(
                    ctx,
                    "*",
                    &MonitorStates::new().on(MonitorOp::Shutdown, "down"),
                );
            })
            .state("down", |_, ctx, _| {
                let _ = ctx.alias_remove("calc");
            })
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
    let server = server(&net.endpoint(), &n, |k| {
        calc(k);
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
