//! Timers, with a fake clock: every turn is `run_one_at(t0 + n)`.

use std::time::{Duration, Instant};

use ikc_freezer::Value;

use super::{Log, lines, new_log, push, show_args};
use crate::{AlarmId, Ctx, Event, InlineStates, Kernel, Session};

const MS: Duration = Duration::from_millis(1);

/// A kernel whose "now" is `t0`, so delays set by `_start` count from it.
fn kernel_at(t0: Instant) -> Kernel {
    let mut k = Kernel::new().unwrap();
    k.run_one_at(t0, Some(Duration::ZERO)).unwrap();
    k
}

/// Run the turn at `t`, returning what fired.
fn at(k: &mut Kernel, t: Instant, log: &Log) -> Vec<String> {
    log.borrow_mut().clear();
    k.run_one_at(t, Some(Duration::ZERO)).unwrap();
    // Run once more at the same time so events queued by handlers of this
    // turn are dispatched too.
    k.run_one_at(t, Some(Duration::ZERO)).unwrap();
    lines(log)
}

/// Records every timer event as `state:args`; `_start` runs `setup`.
struct Timed<F: FnMut(&mut Ctx<'_>) + 'static> {
    log: Log,
    setup: F,
}

impl<F: FnMut(&mut Ctx<'_>) + 'static> Session for Timed<F> {
    fn handle(&mut self, ctx: &mut Ctx<'_>, ev: Event) -> Value {
        match ev.state() {
            "_start" => (self.setup)(ctx),
            "_stop" => push(&self.log, "_stop"),
            s => push(&self.log, format!("{s}:{}", show_args(&ev.args))),
        }
        Value::Undef
    }
}

#[test]
fn a_delay_fires_at_its_deadline_and_not_before() {
    let t0 = Instant::now();
    let log = new_log();
    let mut k = kernel_at(t0);
    k.spawn(Timed {
        log: log.clone(),
        setup: |ctx| {
            ctx.delay("tick", 10 * MS, vec![Value::from(1)]);
        },
    });
    assert_eq!(k.alarm_count(), 1);
    assert!(at(&mut k, t0 + 9 * MS, &log).is_empty());
    assert_eq!(at(&mut k, t0 + 10 * MS, &log), ["tick:1", "_stop"]);
    assert_eq!(k.session_count(), 0, "the alarm was all that held it");
}

#[test]
fn delay_replaces_and_delay_add_adds() {
    let t0 = Instant::now();
    let log = new_log();
    let mut k = kernel_at(t0);
    k.spawn(Timed {
        log: log.clone(),
        setup: |ctx| {
            ctx.delay("a", 5 * MS, vec![Value::from(1)]);
            ctx.delay("a", 7 * MS, vec![Value::from(2)]); // replaces the first
            ctx.delay_add("b", 5 * MS, vec![Value::from(1)]);
            ctx.delay_add("b", 6 * MS, vec![Value::from(2)]); // both stay
            ctx.delay("other", 8 * MS, vec![]);
        },
    });
    assert_eq!(at(&mut k, t0 + 5 * MS, &log), ["b:1"]);
    assert_eq!(at(&mut k, t0 + 6 * MS, &log), ["b:2"]);
    assert_eq!(at(&mut k, t0 + 7 * MS, &log), ["a:2"]);
    assert_eq!(at(&mut k, t0 + 8 * MS, &log), ["other:", "_stop"]);
}

#[test]
fn alarms_with_the_same_deadline_fire_in_the_order_set() {
    let t0 = Instant::now();
    let log = new_log();
    let mut k = kernel_at(t0);
    k.spawn(Timed {
        log: log.clone(),
        setup: move |ctx| {
            for n in 0..5 {
                ctx.alarm_set("n", t0 + 3 * MS, vec![Value::from(n)]);
            }
            ctx.alarm_set("early", t0 + MS, vec![]);
        },
    });
    assert_eq!(
        at(&mut k, t0 + 3 * MS, &log),
        ["early:", "n:0", "n:1", "n:2", "n:3", "n:4", "_stop"]
    );
}

#[test]
fn alarm_set_remove_adjust_and_remove_all() {
    let t0 = Instant::now();
    let log = new_log();
    let mut k = kernel_at(t0);
    let ids: std::rc::Rc<std::cell::RefCell<Vec<AlarmId>>> = Default::default();
    let keep = ids.clone();
    let l = log.clone();
    k.spawn(
        InlineStates::new()
            .state("_start", move |_, ctx, _| {
                ctx.alias_set("t").unwrap();
                let mut ids = keep.borrow_mut();
                ids.push(ctx.alarm_set("x", t0 + 10 * MS, vec![Value::from(0)]));
                ids.push(ctx.delay_set("x", 20 * MS, vec![Value::from(1)]));
                ids.push(ctx.alarm_add("y", t0 + 30 * MS, vec![]));
                ids.push(ctx.delay_add("y", 40 * MS, vec![]));
            })
            .state("edit", move |_, ctx, _| {
                let ids = ids.borrow();
                let removed = ctx.alarm_remove(ids[0]).unwrap();
                assert_eq!((removed.id, removed.state.as_str()), (ids[0], "x"));
                assert_eq!(
                    (removed.when, removed.args),
                    (t0 + 10 * MS, vec![Value::from(0)])
                );
                assert!(ctx.alarm_remove(ids[0]).is_none(), "already removed");
                assert_eq!(ctx.alarm_adjust(ids[1], 5 * MS), Some(t0 + 25 * MS));
                assert_eq!(ctx.alarm_adjust_earlier(ids[2], 28 * MS), Some(t0 + 2 * MS));
                assert_eq!(ctx.delay_adjust(ids[3], 50 * MS), Some(t0 + 50 * MS));
                let pending: Vec<_> = ctx
                    .alarms()
                    .into_iter()
                    .map(|(id, _, when)| (id, when))
                    .collect();
                assert_eq!(
                    pending,
                    [
                        (ids[2], t0 + 2 * MS),
                        (ids[1], t0 + 25 * MS),
                        (ids[3], t0 + 50 * MS)
                    ]
                );
            })
            .state("clear", |_, ctx, _| {
                let all = ctx.alarm_remove_all();
                Value::from(all.len())
            })
            .state("x", {
                let l = l.clone();
                move |_, _, ev| push(&l, format!("x:{}", show_args(&ev.args)))
            })
            .state("y", move |_, _, _| push(&l, "y")),
    );
    k.call("t", "edit", vec![]).unwrap();
    assert_eq!(at(&mut k, t0 + 2 * MS, &log), ["y"]);
    assert_eq!(at(&mut k, t0 + 24 * MS, &log), Vec::<String>::new());
    assert_eq!(at(&mut k, t0 + 25 * MS, &log), ["x:1"]);
    assert_eq!(k.call("t", "clear", vec![]).unwrap(), Value::Int(1));
    assert_eq!(at(&mut k, t0 + 60 * MS, &log), Vec::<String>::new());
    assert_eq!(k.alarm_count(), 0);
}

#[test]
fn delay_clear_and_alarm_replace_are_per_state_and_per_session() {
    let t0 = Instant::now();
    let log = new_log();
    let mut k = kernel_at(t0);
    let other_id: std::rc::Rc<std::cell::Cell<Option<AlarmId>>> = Default::default();
    let o = other_id.clone();
    k.spawn(Timed {
        log: log.clone(),
        setup: move |ctx| {
            ctx.alias_set("other").unwrap();
            o.set(Some(ctx.delay_add("a", 5 * MS, vec![Value::from("other")])));
        },
    });
    let l = log.clone();
    k.spawn(
        InlineStates::new()
            .state("_start", move |_, ctx, _| {
                ctx.delay_add("a", 5 * MS, vec![]);
                ctx.delay_add("a", 6 * MS, vec![]);
                ctx.delay_add("b", 5 * MS, vec![]);
                assert_eq!(ctx.delay_clear("a"), 2);
                assert_eq!(ctx.delay_clear("a"), 0);
                // Someone else's alarm cannot be touched.
                let theirs = other_id.get().unwrap();
                assert!(ctx.alarm_remove(theirs).is_none());
                assert!(ctx.alarm_adjust(theirs, MS).is_none());
                ctx.alarm("b", t0 + 7 * MS, vec![Value::from("replaced")]);
            })
            .state("b", move |_, _, ev| {
                push(&l, format!("mine b:{}", show_args(&ev.args)))
            }),
    );
    assert_eq!(at(&mut k, t0 + 5 * MS, &log), ["a:other"]);
    assert_eq!(at(&mut k, t0 + 7 * MS, &log), ["mine b:replaced"]);
}

#[test]
fn the_poll_waits_only_until_the_next_alarm() {
    // Real clock, tiny delay: run() must wake for the alarm by itself.
    let log = new_log();
    let mut k = Kernel::new().unwrap();
    k.spawn(Timed {
        log: log.clone(),
        setup: |ctx| {
            ctx.delay("late", 2 * MS, vec![]);
            ctx.delay("soon", Duration::ZERO, vec![]);
        },
    });
    k.run().unwrap();
    assert_eq!(lines(&log), ["soon:", "late:", "_stop"]);
}
