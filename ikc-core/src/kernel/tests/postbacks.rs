//! Postbacks and callbacks: arguments, SENDER, what they keep alive, and
//! targets in other kernels.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use ikc_freezer::Value;

use super::{Log, lines, new_log, push, show_args};
use crate::{
    CallError, Callback, FORWARD_STATE, InlineStates, Kernel, Postback, RemoteSender, Sender,
    SessionId,
};

/// Run turns until nothing is queued here or in the channel from handles
/// (postbacks post through it).
fn settle(k: &mut Kernel) {
    for _ in 0..100 {
        if k.run_one(Some(Duration::ZERO)).expect("turn") == 0 && k.queue_len() == 0 {
            return;
        }
    }
    panic!("the kernel never settled");
}

type Slot<T> = Rc<RefCell<Option<T>>>;

/// A session aliased `target` recording `state:ARG0|ARG1:sender` and
/// `_stop`, that makes a postback and a callback to its `got` state on
/// `_start` and hands them out.
fn target(log: &Log, pb: &Slot<Postback>, cb: &Slot<Callback>) -> InlineStates {
    let (l1, l2) = (log.clone(), log.clone());
    let (pb, cb) = (pb.clone(), cb.clone());
    InlineStates::new()
        .state("_start", move |_, ctx, _| {
            *pb.borrow_mut() = Some(ctx.postback("got", vec![Value::from("made")]));
            *cb.borrow_mut() = Some(ctx.callback("got", vec![Value::from(1)]));
        })
        .state("got", move |_, _, ev| {
            let args: Vec<String> = ev
                .args
                .iter()
                .map(|a| show_args(a.as_array().unwrap_or_default()))
                .collect();
            let sender = match &ev.sender {
                Sender::Kernel => "kernel".to_owned(),
                Sender::Session(id) => id.to_string(),
                Sender::Remote(r) => r.specifier(),
            };
            push(&l1, format!("got:{}:{sender}", args.join("|")));
            Value::from(args.join("|"))
        })
        .state("_stop", move |_, _, _| push(&l2, "_stop"))
}

#[test]
fn a_postback_posts_its_arguments_and_the_new_ones_and_holds_its_session() {
    let log = new_log();
    let (pb, cb): (Slot<Postback>, Slot<Callback>) = Default::default();
    let mut k = Kernel::new().unwrap();
    let id = k.spawn(target(&log, &pb, &cb));
    assert_eq!(k.session_count(), 1, "held by its postback and callback");
    let postback = pb.borrow_mut().take().unwrap();
    assert_eq!(postback.state(), "got");
    postback.post(vec![Value::from(2), Value::from(3)]).unwrap();
    let copy = postback.clone();
    drop(postback);
    settle(&mut k);
    assert_eq!(lines(&log), ["got:made|2,3:kernel"]);

    // From a handler: SENDER is the running session.
    let poster = k.spawn(InlineStates::new().state("_start", move |_, ctx, _| {
        copy.post_from(ctx, vec![Value::from("x")]).unwrap();
    }));
    settle(&mut k);
    assert_eq!(lines(&log)[1], format!("got:made|x:{poster}"));
    assert_eq!(k.session_count(), 1, "the callback still holds it");

    let callback = cb.borrow_mut().take().unwrap();
    assert_eq!(k.sessions()[0].extra_refs, 1);
    drop(callback);
    settle(&mut k);
    assert_eq!(lines(&log).last().map(String::as_str), Some("_stop"));
    assert_eq!(
        k.session_count(),
        0,
        "session {id} stopped once nothing held it"
    );
}

#[test]
fn a_callback_returns_the_states_value_in_the_kernel_and_from_threads() {
    let log = new_log();
    let (pb, cb): (Slot<Postback>, Slot<Callback>) = Default::default();
    let mut k = Kernel::new().unwrap();
    k.spawn(target(&log, &pb, &cb));
    drop(pb.borrow_mut().take());
    let callback = cb.borrow_mut().take().unwrap();

    let in_kernel = Rc::new(RefCell::new(Value::Undef));
    let (cb2, got) = (callback.clone(), in_kernel.clone());
    k.spawn(InlineStates::new().state("_start", move |_, ctx, _| {
        *got.borrow_mut() = cb2.call_from(ctx, vec![Value::from(5)]).unwrap();
    }));
    assert_eq!(*in_kernel.borrow(), Value::from("1|5"));
    // The kernel's own thread cannot wait for itself.
    assert_eq!(callback.call(vec![]).unwrap_err(), CallError::WouldDeadlock);

    let thread = std::thread::spawn(move || callback.call(vec![Value::from(7)]));
    k.run().unwrap();
    assert_eq!(thread.join().unwrap().unwrap(), Value::from("1|7"));
    assert_eq!(lines(&log), ["got:1|5:2", "got:1|7:kernel", "_stop"]);
}

#[test]
fn postbacks_to_a_remote_sender_go_to_the_session_that_answers_for_it() {
    let log = new_log();
    let mut k = Kernel::new().unwrap();
    // The stand-in for a remote session (IKC's thunk) records what it gets.
    let l = log.clone();
    let thunk = k.spawn(
        InlineStates::new()
            .state("_start", |_, ctx, _| ctx.alias_set("thunk").unwrap())
            .state("_default", move |_, _, ev| {
                push(&l, format!("thunk:{}", show_args(&ev.args)));
            }),
    );
    let made: Slot<(Postback, Callback)> = Default::default();
    let m = made.clone();
    let handler = k.spawn(
        InlineStates::new()
            .state("_start", |_, ctx, _| ctx.alias_set("handler").unwrap())
            .state("ping", move |_, ctx, ev| {
                assert_eq!(ev.sender.remote().map(|r| r.kernel()), Some("far"));
                let to = ev.sender.target().unwrap();
                let pb = ctx.postback_to(&to, "pong", vec![Value::from(1)]).unwrap();
                let cb = ctx.callback_to(to, "pong", vec![Value::from(2)]).unwrap();
                *m.borrow_mut() = Some((pb, cb));
            }),
    );
    // It is invoked as IKC invokes states for remote senders.
    let remote = Arc::new(RemoteSender::new("far", "pinger").with_via(thunk));
    k.spawn(InlineStates::new().state("_start", move |_, ctx, _| {
        ctx.call_as(Arc::clone(&remote), handler, "ping", vec![])
            .unwrap();
    }));
    let (pb, cb) = made.borrow_mut().take().unwrap();
    let refs = |k: &Kernel| {
        k.sessions()
            .iter()
            .find(|s| s.id == thunk)
            .map(|s| s.extra_refs)
    };
    assert_eq!(
        refs(&k),
        Some(2),
        "the postback and the callback hold the thunk"
    );
    pb.post(vec![Value::from("a")]).unwrap();
    settle(&mut k);
    // A callback to a session standing for a remote one calls it (which
    // sends the event on) and returns what it returns.
    k.spawn(InlineStates::new().state("_start", move |_, ctx, _| {
        assert_eq!(cb.call_from(ctx, vec![Value::from("b")]), Ok(Value::Undef));
    }));
    drop(pb);
    settle(&mut k);
    assert_eq!(
        lines(&log),
        ["thunk:pong,[[1],[a]]", "thunk:pong,[[2],[b]]"]
    );
    assert_eq!(refs(&k), Some(0), "released with the last of them");
}

#[test]
fn postbacks_to_another_kernel_go_to_the_forwarder() {
    let log = new_log();
    let mut k = Kernel::new().unwrap();
    let l = log.clone();
    let fwd = k.spawn(
        InlineStates::new()
            .state("_start", |_, ctx, _| {
                ctx.alias_set("fwd").unwrap();
                ctx.set_forwarder();
            })
            .state(FORWARD_STATE, move |_, ctx, _| {
                let post = ctx.take_remote_post().unwrap();
                push(&l, format!("{}:{}", post.to, show_args(&post.event.args)));
            }),
    );
    let _ = fwd;
    k.spawn(InlineStates::new().state("_start", |_, ctx, _| {
        let pb = ctx
            .postback_to("poe://far/pinger", "pong", vec![Value::from(1)])
            .unwrap();
        pb.post_from(ctx, vec![Value::from(2)]).unwrap();
        let cb = ctx.callback_to("poe://far/pinger", "pong", vec![]).unwrap();
        assert_eq!(
            cb.call_from(ctx, vec![]),
            Ok(Value::Undef),
            "posted, not called"
        );
    }));
    settle(&mut k);
    assert_eq!(
        lines(&log),
        [
            "poe://far/pinger/pong:[1],[2]",
            "poe://far/pinger/pong:[],[]"
        ]
    );
}

#[test]
fn a_postback_to_an_unknown_session_is_an_error() {
    let mut k = Kernel::new().unwrap();
    let err = Rc::new(RefCell::new(None));
    let e = err.clone();
    k.spawn(InlineStates::new().state("_start", move |_, ctx, _| {
        *e.borrow_mut() = ctx.postback_to(SessionId::from_raw(999), "x", vec![]).err();
    }));
    assert!(err.borrow().is_some());
}
