//! post, call, yield: ordering, return values, nesting, SENDER and caller.

use ikc_freezer::Value;

use super::{Log, drain, lines, new_log, push, show, show_args};
use crate::{CallError, Ctx, DeliveryError, Event, InlineStates, Kernel, Sender, SessionId};

/// A session aliased `name` that records `name:state:args` for every event
/// and answers calls with its number of events so far.
fn recorder(name: &'static str, log: &Log) -> InlineStates<u32> {
    let log = log.clone();
    InlineStates::with_heap(0_u32)
        .state("_start", move |_, ctx: &mut Ctx<'_>, _| {
            ctx.alias_set(name).expect("alias");
        })
        .state("_default", move |n, _, ev: Event| {
            *n += 1;
            let args = ev.args[1].as_array().map(show_args).unwrap_or_default();
            push(&log, format!("{name}:{}:{args}", show(&ev.args[0])));
            *n
        })
}

#[test]
fn posts_are_dispatched_first_in_first_out() {
    let log = new_log();
    let mut k = Kernel::new().unwrap();
    k.spawn(recorder("b", &log));
    k.spawn(recorder("c", &log));
    k.spawn(InlineStates::new().state("_start", |_, ctx, _| {
        for (to, n) in [("b", 1), ("c", 2), ("b", 3), ("c", 4), ("b", 5)] {
            ctx.post(to, "e", vec![Value::from(n)]).unwrap();
        }
    }));
    drain(&mut k);
    assert_eq!(lines(&log), ["b:e:1", "c:e:2", "b:e:3", "c:e:4", "b:e:5"]);
}

#[test]
fn post_never_runs_the_target_before_returning() {
    let log = new_log();
    let mut k = Kernel::new().unwrap();
    k.spawn(recorder("b", &log));
    let l = log.clone();
    k.spawn(
        InlineStates::new()
            .state("_start", move |_, ctx, _| {
                ctx.post("b", "first", vec![]).unwrap();
                push(&l, "a:after post");
                ctx.yield_("mine", vec![]);
            })
            .state("mine", {
                let l = log.clone();
                move |_, _, _| push(&l, "a:mine")
            }),
    );
    drain(&mut k);
    assert_eq!(lines(&log), ["a:after post", "b:first:", "a:mine"]);
}

#[test]
fn call_as_gives_the_handler_another_sender() {
    let mut k = Kernel::new().unwrap();
    // "b" answers with the SENDER it sees.
    k.spawn(
        InlineStates::new()
            .state("_start", |_, ctx, _| ctx.alias_set("b").unwrap())
            .state("who", |_, _, ev: Event| match ev.sender {
                Sender::Session(id) => Value::from(id),
                Sender::Kernel => Value::from("kernel"),
                Sender::Remote(r) => Value::from(r.specifier()),
            }),
    );
    let stand_in = k.spawn(InlineStates::new().state("_start", |_, ctx, _| {
        ctx.alias_set("stand-in").unwrap();
    }));
    let a = k.spawn(
        InlineStates::new()
            .state("_start", |_, ctx, _| ctx.alias_set("a").unwrap())
            .state("go", move |_, ctx, _| {
                let plain = ctx.call("b", "who", vec![]).unwrap();
                let as_other = ctx.call_as(stand_in, "b", "who", vec![]).unwrap();
                Value::Array(vec![plain, as_other, Value::from(ctx.session_id())])
            }),
    );
    let got = k.call(a, "go", vec![]).unwrap();
    let got = got.as_array().unwrap();
    assert_eq!(got[0], got[2], "a plain call's SENDER is the caller");
    assert_eq!(SessionId::from_value(&got[1]), Some(stand_in));
}

#[test]
fn call_returns_the_handler_value_and_nests() {
    let log = new_log();
    let mut k = Kernel::new().unwrap();
    let l = log.clone();
    k.spawn(
        InlineStates::new()
            .state("_start", |_, ctx, _| ctx.alias_set("c").unwrap())
            .state("get", move |_, _, ev| {
                push(&l, "c");
                Value::from(ev.args.len() as i64 + 1)
            }),
    );
    let l = log.clone();
    k.spawn(
        InlineStates::new()
            .state("_start", |_, ctx, _| ctx.alias_set("b").unwrap())
            .state("get", move |_, ctx, _| {
                push(&l, "b in");
                let from_c = ctx
                    .call("c", "get", vec![Value::from(1), Value::from(2)])
                    .unwrap();
                push(&l, "b out");
                match from_c {
                    Value::Int(n) => Value::from(n * 10),
                    _ => Value::Undef,
                }
            }),
    );
    let l = log.clone();
    let a = k.spawn(
        InlineStates::new()
            .state("_start", |_, ctx, _| ctx.alias_set("a").unwrap())
            .state("go", move |_, ctx, _| {
                push(&l, "a in");
                let v = ctx.call("b", "get", vec![]).unwrap();
                push(&l, format!("a out {}", show(&v)));
                v
            }),
    );
    assert_eq!(k.call(a, "go", vec![]).unwrap(), Value::Int(30));
    assert_eq!(lines(&log), ["a in", "b in", "c", "b out", "a out 30"]);
}

#[test]
fn calling_a_running_session_is_a_reentrant_error() {
    let log = new_log();
    let mut k = Kernel::new().unwrap();
    let l = log.clone();
    k.spawn(
        InlineStates::new()
            .state("_start", |_, ctx, _| ctx.alias_set("b").unwrap())
            .state("back", move |_, ctx, ev| {
                let caller = ev.sender.session().unwrap();
                match ctx.call(caller, "anything", vec![]) {
                    Err(CallError::Reentrant { session, state }) => {
                        push(&l, format!("b: {} busy in {state}", session == caller));
                    }
                    other => push(&l, format!("b: unexpected {other:?}")),
                }
            }),
    );
    let l = log.clone();
    let a = k.spawn(
        InlineStates::new()
            .state("_start", |_, ctx, _| ctx.alias_set("a").unwrap())
            .state("go", move |_, ctx, _| {
                let me = ctx.session_id();
                let own = ctx.call(me, "go", vec![]);
                push(
                    &l,
                    format!(
                        "a: self {}",
                        matches!(own, Err(CallError::Reentrant { .. }))
                    ),
                );
                ctx.call("b", "back", vec![]).unwrap();
            }),
    );
    k.call(a, "go", vec![]).unwrap();
    assert_eq!(lines(&log), ["a: self true", "b: true busy in anything"]);
}

#[test]
fn yield_queues_behind_what_is_already_queued() {
    let log = new_log();
    let mut k = Kernel::new().unwrap();
    k.spawn(recorder("b", &log));
    let l = log.clone();
    k.spawn(
        InlineStates::with_heap(0)
            .state("_start", |_, ctx, _| {
                ctx.yield_("tick", vec![]);
                ctx.post("b", "x", vec![]).unwrap();
            })
            .state("tick", move |n: &mut i32, ctx, _| {
                *n += 1;
                push(&l, format!("a:tick{n}"));
                if *n < 3 {
                    ctx.yield_("tick", vec![]);
                    ctx.post("b", "y", vec![Value::from(*n)]).unwrap();
                }
            }),
    );
    drain(&mut k);
    assert_eq!(
        lines(&log),
        ["a:tick1", "b:x:", "a:tick2", "b:y:1", "a:tick3", "b:y:2"]
    );
}

#[test]
fn handlers_see_sender_and_caller_location() {
    type Seen = Vec<(Sender, Option<String>, String, u32)>;
    let seen: std::rc::Rc<std::cell::RefCell<Seen>> = Default::default();
    let mut k = Kernel::new().unwrap();
    let s = seen.clone();
    let b = k.spawn(
        InlineStates::new()
            .state("_start", |_, ctx, _| ctx.alias_set("b").unwrap())
            .state("e", move |_, _, ev| {
                let state = ev.caller_state().map(str::to_owned);
                s.borrow_mut()
                    .push((ev.sender, state, ev.caller_file.into(), ev.caller_line));
            }),
    );
    let line = std::cell::Cell::new(0);
    let a = k.spawn(InlineStates::new());
    assert_eq!(k.session_count(), 1, "a has nothing to hold it");
    let a_line = line!() + 2;
    let a2 = k.spawn(InlineStates::new().state("_start", move |_, ctx, _| {
        ctx.post("b", "e", vec![]).unwrap();
    }));
    line.set(line!() + 1);
    k.post(b, "e", vec![]).unwrap();
    drain(&mut k);
    let seen = seen.borrow();
    let here = file!().to_owned();
    assert_eq!(
        seen[0],
        (
            Sender::Session(a2),
            Some("_start".into()),
            here.clone(),
            a_line
        )
    );
    assert_eq!(seen[1], (Sender::Kernel, None, here, line.get()));
    assert_ne!(a, a2);
}

#[test]
fn unknown_targets_give_the_event_back() {
    let mut k = Kernel::new().unwrap();
    let err = k.post("nobody", "hello", vec![Value::from(7)]).unwrap_err();
    assert_eq!(err.reason, DeliveryError::UnknownSession("nobody".into()));
    assert_eq!(err.event.state, "hello");
    assert_eq!(err.event.args, [Value::Int(7)]);
    let err = k.post(SessionId::from_raw(99), "x", vec![]).unwrap_err();
    assert_eq!(err.reason, DeliveryError::UnknownSession("99".into()));
    assert_eq!(
        k.call("nobody", "x", vec![]),
        Err(CallError::Delivery(DeliveryError::UnknownSession(
            "nobody".into()
        )))
    );
    assert!(err.to_string().contains("no session \"99\""), "{err}");
}

#[test]
fn inline_default_gets_the_state_name_and_an_array_of_args() {
    let log = new_log();
    let mut k = Kernel::new().unwrap();
    k.spawn(recorder("b", &log));
    k.post("b", "anything", vec![Value::from(1), Value::from("two")])
        .unwrap();
    drain(&mut k);
    assert_eq!(lines(&log), ["b:anything:1,two"]);

    // Without _default: dropped, and a call returns undef.
    let plain = k.spawn(
        InlineStates::new()
            .state("_start", |_, ctx, _| ctx.alias_set("plain").unwrap())
            .state("known", |_, _, _| 1),
    );
    assert_eq!(k.call(plain, "unknown", vec![]).unwrap(), Value::Undef);
    assert_eq!(k.call(plain, "known", vec![]).unwrap(), Value::Int(1));
}

#[test]
fn inline_states_can_be_added_and_removed_at_run_time() {
    let mut k = Kernel::new().unwrap();
    let id = k.spawn(
        InlineStates::with_heap(10_i64)
            .state("_start", |_, ctx, _| ctx.alias_set("s").unwrap())
            .state("learn", |_, ctx, _| {
                ctx.state_add("double", |n: &mut i64, _, _| {
                    *n *= 2;
                    *n
                });
                // The wrong heap type is refused (and logged).
                ctx.state_add("bad", |_: &mut String, _, _| 0);
            })
            .state("forget", |_, ctx, _| ctx.state_remove("double")),
    );
    assert_eq!(k.call(id, "double", vec![]).unwrap(), Value::Undef);
    k.call(id, "learn", vec![]).unwrap();
    assert_eq!(k.call(id, "double", vec![]).unwrap(), Value::Int(20));
    assert_eq!(k.call(id, "bad", vec![]).unwrap(), Value::Undef);
    k.call(id, "forget", vec![]).unwrap();
    assert_eq!(k.call(id, "double", vec![]).unwrap(), Value::Undef);
}

#[test]
fn senders_turn_into_specifiers() {
    let mut k = Kernel::new().unwrap();
    let kernel = k.id().to_owned();
    let seen: std::rc::Rc<std::cell::RefCell<Vec<Option<String>>>> = Default::default();
    let s = seen.clone();
    k.spawn(
        InlineStates::new()
            .state("_start", |_, ctx, _| ctx.alias_set("b").unwrap())
            .state("e", move |_, ctx, ev: Event| {
                s.borrow_mut().push(ctx.sender_specifier(&ev.sender));
            }),
    );
    let anonymous = k.spawn(InlineStates::new().state("_start", |_, ctx, _| {
        ctx.post("b", "e", vec![]).unwrap();
        ctx.yield_("later", vec![]);
    }));
    k.spawn(InlineStates::new().state("_start", |_, ctx, _| {
        ctx.alias_set("named").unwrap();
        ctx.post("b", "e", vec![]).unwrap();
        let remote = crate::RemoteSender::new("far", "pinger");
        ctx.post_as(remote, "b", "e", vec![]).unwrap();
    }));
    k.post("b", "e", vec![]).unwrap();
    drain(&mut k);
    assert_eq!(
        *seen.borrow(),
        [
            Some(format!("poe://{kernel}/{anonymous}")),
            Some(format!("poe://{kernel}/named")),
            Some("poe://far/pinger".to_owned()),
            None,
        ]
    );
}
