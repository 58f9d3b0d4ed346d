//! Handlers that panic, and signals delivered through the kernel.

use ikc_freezer::Value;

use super::{drain, lines, new_log, push, show_args};
use crate::{CallError, InlineStates, Kernel, Signal};

/// A session that panics on "boom", aliased `name`.
fn fragile(name: &'static str, log: &super::Log) -> InlineStates {
    let l = log.clone();
    let l2 = log.clone();
    InlineStates::new()
        .state("_start", move |_, ctx, _| {
            ctx.alias_set(name).unwrap();
        })
        .state("boom", |_, _, _| -> Value { panic!("kaboom") })
        .state("ok", move |_, _, _| push(&l, format!("{name} ok")))
        .state("_stop", move |_, _, _| push(&l2, format!("{name} _stop")))
}

#[test]
fn a_panicking_handler_stops_its_session_and_is_reported() {
    let log = new_log();
    let mut k = Kernel::new().unwrap();
    let l = log.clone();
    k.spawn(
        InlineStates::new()
            .state("_start", |_, ctx, _| {
                ctx.alias_set("watcher").unwrap();
                ctx.on_panic("panicked");
            })
            .state("panicked", move |_, _, ev| {
                push(&l, format!("notice {}", show_args(&ev.args)))
            }),
    );
    let victim = k.spawn(fragile("victim", &log));
    k.spawn(fragile("bystander", &log));
    k.post("victim", "boom", vec![]).unwrap();
    k.post("victim", "ok", vec![]).unwrap();
    k.post("bystander", "ok", vec![]).unwrap();
    drain(&mut k);
    assert_eq!(
        lines(&log),
        [
            "bystander ok".to_string(),
            format!("notice {victim},boom,kaboom,[victim]")
        ],
        "no _stop for the victim, its queued event is dropped"
    );
    assert_eq!(k.alias_resolve("victim"), None);
    assert!(k.sessions().iter().all(|s| s.id != victim));
}

#[test]
fn a_call_into_a_panicking_handler_returns_an_error() {
    let log = new_log();
    let mut k = Kernel::new().unwrap();
    let victim = k.spawn(fragile("victim", &log));
    let l = log.clone();
    let caller = k.spawn(
        InlineStates::new()
            .state("_start", |_, ctx, _| ctx.alias_set("caller").unwrap())
            .state("go", move |_, ctx, _| {
                let r = ctx.call("victim", "boom", vec![]);
                push(&l, format!("caller survived: {r:?}"));
            }),
    );
    k.call(caller, "go", vec![]).unwrap();
    let expected = CallError::Panicked {
        session: victim,
        state: "boom".into(),
        message: "kaboom".into(),
    };
    assert_eq!(lines(&log), [format!("caller survived: Err({expected:?})")]);
    assert!(k.alias_resolve("caller").is_some());
}

#[test]
fn a_panicking_parent_hands_its_children_to_the_grandparent() {
    let log = new_log();
    let mut k = Kernel::new().unwrap();
    let (l1, l2) = (log.clone(), log.clone());
    k.spawn(
        InlineStates::new()
            .state("_start", move |_, ctx, _| {
                ctx.alias_set("g").unwrap();
                let l2 = l2.clone();
                ctx.spawn(fragile("p", &new_log()).state("_start", move |_, ctx, _| {
                    ctx.alias_set("p").unwrap();
                    let l2 = l2.clone();
                    ctx.spawn(
                        InlineStates::new()
                            .state("_start", |_, ctx, _| ctx.alias_set("c").unwrap())
                            .state("_parent", move |_, _, ev| {
                                push(&l2, format!("c _parent {}", show_args(&ev.args)));
                            }),
                    );
                }));
            })
            .state("_child", move |_, _, ev| {
                push(&l1, format!("g _child {}", show_args(&ev.args)))
            }),
    );
    let (g, p, c) = (
        k.alias_resolve("g").unwrap(),
        k.alias_resolve("p").unwrap(),
        k.alias_resolve("c").unwrap(),
    );
    drain(&mut k);
    assert_eq!(lines(&log), [format!("g _child create,{p},undef")]);
    log.borrow_mut().clear();
    k.post("p", "boom", vec![]).unwrap();
    drain(&mut k);
    assert_eq!(
        lines(&log),
        [
            format!("g _child gain,{c}"),
            format!("c _parent {p},{g}"),
            format!("g _child lose,{p},undef"),
        ]
    );
    let info = k.sessions();
    let c_info = info.iter().find(|s| s.id == c).unwrap();
    assert_eq!(c_info.parent, Some(g));
    assert_eq!(info.iter().find(|s| s.id == g).unwrap().children, [c]);
}

#[test]
fn a_panic_in_start_or_stop_is_contained() {
    let log = new_log();
    let mut k = Kernel::new().unwrap();
    let id =
        k.spawn(InlineStates::new().state("_start", |_, _, _| -> Value { panic!("no start") }));
    assert!(k.sessions().iter().all(|s| s.id != id));
    let l = log.clone();
    k.spawn(
        InlineStates::new()
            .state("_start", |_, ctx, _| ctx.yield_("x", vec![]))
            .state("x", move |_, _, _| push(&l, "x"))
            .state("_stop", |_, _, _| -> Value { panic!("no stop") }),
    );
    drain(&mut k);
    assert_eq!(lines(&log), ["x"]);
    assert_eq!(k.session_count(), 0);
}

#[test]
fn signals_reach_watchers_and_unhandled_ones_stop_the_kernel() {
    let log = new_log();
    let mut k = Kernel::new().unwrap();
    let l = log.clone();
    k.spawn(
        InlineStates::new()
            .state("_start", |_, ctx, _| {
                ctx.alias_set("s").unwrap();
                ctx.sig(Signal::Int, "int").unwrap();
            })
            .state("int", move |_, ctx, ev| {
                push(&l, format!("got {}", show_args(&ev.args)));
                ctx.sig_handled();
            })
            .state("raise", |_, ctx, _| ctx.signal(Signal::Int)),
    );
    // Handled: the kernel keeps running.
    k.signal(Signal::Int);
    assert_eq!(lines(&log), ["got INT"]);
    k.post("s", "raise", vec![]).unwrap();
    drain(&mut k);
    assert_eq!(lines(&log), ["got INT", "got INT"]);
    assert_eq!(k.session_count(), 1);
    // Nobody watches TERM: unhandled, so the kernel stops.
    k.signal(Signal::Term);
    k.run().unwrap();
    assert_eq!(k.session_count(), 0);
}
