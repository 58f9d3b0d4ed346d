//! `_start`, `_stop`, `_child`, `_parent`; what keeps a session alive;
//! detach; stop; run returning.

use ikc_freezer::Value;

use super::{Log, drain, lines, new_log, push, show_args};
use crate::{Ctx, Event, InlineStates, Kernel, Session, SessionError, SessionId};

/// Records every lifecycle event as `name:state:args`; spawns the
/// children it is given in `_start`.
struct Node {
    name: &'static str,
    log: Log,
    children: Vec<Self>,
    /// Keep an alias, so the node lives until told to drop it.
    alias: bool,
}

fn node(name: &'static str, log: &Log) -> Node {
    Node {
        name,
        log: log.clone(),
        children: Vec::new(),
        alias: false,
    }
}

impl Session for Node {
    fn handle(&mut self, ctx: &mut Ctx<'_>, ev: Event) -> Value {
        let args = show_args(&ev.args);
        push(&self.log, format!("{}:{}:{args}", self.name, ev.state()));
        match ev.state() {
            "_start" => {
                if self.alias {
                    ctx.alias_set(self.name).unwrap();
                }
                for child in std::mem::take(&mut self.children) {
                    ctx.spawn(child);
                }
                Value::from(format!("{}-started", self.name))
            }
            "_stop" => Value::from(format!("{}-stopped", self.name)),
            "unalias" => {
                ctx.alias_remove(self.name).unwrap();
                Value::Undef
            }
            "detach" => match ctx.detach_myself() {
                Ok(()) => Value::from(1),
                Err(e) => Value::from(e.to_string()),
            },
            "stop" => {
                ctx.stop();
                Value::Undef
            }
            _ => Value::Undef,
        }
    }
}

#[test]
fn start_child_and_stop_come_in_poe_order() {
    let log = new_log();
    let mut k = Kernel::new().unwrap();
    let mut parent = node("p", &log);
    parent.children.push(node("c", &log));
    let p = k.spawn(parent);
    let c = SessionId::from_raw(p.get() + 1);
    // _start of the child runs inside the parent's _start. The child has
    // nothing to do, so it stops at once after its _start; the parent is
    // told (posted) and then has nothing left either.
    assert_eq!(lines(&log), ["p:_start:", "c:_start:", "c:_stop:"]);
    assert_eq!(k.session_count(), 1);
    drain(&mut k);
    assert_eq!(
        lines(&log),
        [
            "p:_start:".to_string(),
            "c:_start:".into(),
            "c:_stop:".into(),
            format!("p:_child:create,{c},c-started"),
            format!("p:_child:lose,{c},c-stopped"),
            "p:_stop:".into(),
        ]
    );
    assert_eq!(k.session_count(), 0);
}

#[test]
fn an_alias_alone_keeps_a_session_alive() {
    let log = new_log();
    let mut k = Kernel::new().unwrap();
    let mut n = node("held", &log);
    n.alias = true;
    let id = k.spawn(n);
    drain(&mut k);
    for _ in 0..3 {
        k.run_one(Some(std::time::Duration::ZERO)).unwrap();
    }
    assert_eq!(k.alias_resolve("held"), Some(id));
    assert_eq!(k.alias_list(id), ["held"]);
    k.post("held", "unalias", vec![]).unwrap();
    drain(&mut k);
    assert_eq!(k.session_count(), 0);
    assert_eq!(k.alias_resolve("held"), None);
    assert_eq!(lines(&log).last().map(String::as_str), Some("held:_stop:"));
}

#[test]
fn extra_references_hold_a_session_until_released() {
    let mut k = Kernel::new().unwrap();
    let held =
        k.spawn(InlineStates::new().state("_start", |_, ctx, _| ctx.alias_set("held").unwrap()));
    let holder = k.spawn(
        InlineStates::new()
            .state("_start", |_, ctx, _| ctx.alias_set("holder").unwrap())
            .state("take", |_, ctx, ev| {
                let id = SessionId::from_value(&ev.args[0]).unwrap();
                ctx.refcount_increment(id, "mine").unwrap() as i64
            })
            .state("release", |_, ctx, ev| {
                let id = SessionId::from_value(&ev.args[0]).unwrap();
                ctx.refcount_decrement(id, "mine")
                    .map(|n| n as i64)
                    .unwrap_or(-1)
            })
            .state("count", |_, ctx, ev| {
                let id = SessionId::from_value(&ev.args[0]).unwrap();
                ctx.extra_refs(id).map_or(-1, |n| n as i64)
            }),
    );
    assert_eq!(
        k.call(holder, "take", vec![held.into()]).unwrap(),
        Value::Int(1)
    );
    assert_eq!(
        k.call(holder, "take", vec![held.into()]).unwrap(),
        Value::Int(2)
    );
    let info = k.sessions().into_iter().find(|s| s.id == held).unwrap();
    assert_eq!((info.extra_refs, info.refcount), (2, 3));
    assert_eq!(
        k.call(holder, "release", vec![held.into()]).unwrap(),
        Value::Int(1)
    );
    assert_eq!(
        k.call(holder, "count", vec![held.into()]).unwrap(),
        Value::Int(1)
    );
    assert_eq!(
        k.call(holder, "release", vec![held.into()]).unwrap(),
        Value::Int(0)
    );
    assert_eq!(
        k.call(holder, "release", vec![held.into()]).unwrap(),
        Value::Int(-1)
    );
    // Still aliased, so still alive.
    assert!(k.alias_resolve("held").is_some());
}

#[test]
fn releasing_the_last_reference_stops_the_session() {
    let log = new_log();
    let mut k = Kernel::new().unwrap();
    let l = log.clone();
    let target = k.spawn(
        InlineStates::new()
            .state("_start", |_, ctx, _| {
                let me = ctx.session_id();
                ctx.refcount_increment(me, "self").unwrap();
            })
            .state("_stop", move |_, _, _| push(&l, "target stopped")),
    );
    assert_eq!(k.session_count(), 1);
    let l = log.clone();
    k.spawn(InlineStates::new().state("_start", move |_, ctx, _| {
        assert_eq!(
            ctx.refcount_decrement(target, "other"),
            Err(SessionError::NoSuchReference {
                session: target,
                tag: "other".into()
            })
        );
        ctx.refcount_decrement(target, "self").unwrap();
        push(&l, "released");
    }));
    assert_eq!(lines(&log), ["released", "target stopped"]);
    assert_eq!(k.session_count(), 0);
}

#[test]
fn detaching_notifies_parent_and_child() {
    let log = new_log();
    let mut k = Kernel::new().unwrap();
    let mut parent = node("p", &log);
    parent.alias = true;
    let mut child = node("c", &log);
    child.alias = true;
    parent.children.push(child);
    let p = k.spawn(parent);
    drain(&mut k);
    log.borrow_mut().clear();
    let c = k.alias_resolve("c").unwrap();
    assert_eq!(k.call("c", "detach", vec![]).unwrap(), Value::Int(1));
    drain(&mut k);
    assert_eq!(
        lines(&log),
        [
            "c:detach:".to_string(),
            format!("c:_parent:{p},{}", k.id()),
            format!("p:_child:lose,{c},undef")
        ]
    );
    assert_eq!(
        k.call("c", "detach", vec![]).unwrap(),
        Value::from(format!("session {c} is already detached"))
    );
    let info = k.sessions();
    assert!(
        info.iter()
            .all(|s| s.parent.is_none() && s.children.is_empty())
    );
}

#[test]
fn detach_child_only_for_own_children() {
    let mut k = Kernel::new().unwrap();
    let other =
        k.spawn(InlineStates::new().state("_start", |_, ctx, _| ctx.alias_set("o").unwrap()));
    k.spawn(InlineStates::new().state("_start", move |_, ctx, _| {
        let kid = ctx
            .spawn(InlineStates::new().state("_start", |_, ctx, _| ctx.alias_set("kid").unwrap()));
        assert_eq!(ctx.children(), [kid]);
        assert!(matches!(
            ctx.detach_child(other),
            Err(SessionError::NotChild { .. })
        ));
        ctx.detach_child(kid).unwrap();
        assert!(ctx.children().is_empty());
    }));
    let kid = k.alias_resolve("kid").unwrap();
    assert_eq!(
        k.sessions().iter().find(|s| s.id == kid).unwrap().parent,
        None
    );
}

#[test]
fn stop_stops_children_before_parents_and_run_returns() {
    let log = new_log();
    let mut k = Kernel::new().unwrap();
    let mut parent = node("p", &log);
    parent.alias = true;
    let mut child = node("c", &log);
    child.alias = true;
    let mut grandchild = node("g", &log);
    grandchild.alias = true;
    child.children.push(grandchild);
    parent.children.push(child);
    k.spawn(parent);
    let mut other = node("o", &log);
    other.alias = true;
    k.spawn(other);
    drain(&mut k);
    log.borrow_mut().clear();
    k.post("o", "stop", vec![]).unwrap();
    k.post("p", "never delivered", vec![]).unwrap();
    k.run().unwrap();
    assert_eq!(
        lines(&log),
        ["o:stop:", "g:_stop:", "c:_stop:", "p:_stop:", "o:_stop:"]
    );
    assert_eq!(k.session_count(), 0);
    assert_eq!(k.queue_len(), 0);
}

#[test]
fn run_returns_when_the_last_session_stops() {
    let log = new_log();
    let mut k = Kernel::new().unwrap();
    let l = log.clone();
    k.spawn(
        InlineStates::with_heap(0)
            .state("_start", |_, ctx, _| ctx.yield_("next", vec![]))
            .state("next", |n: &mut i32, ctx, _| {
                *n += 1;
                if *n < 100 {
                    ctx.yield_("next", vec![]);
                }
            })
            .state("_stop", move |n, _, _| {
                push(&l, format!("stopped after {n}"))
            }),
    );
    k.run().unwrap();
    assert_eq!(lines(&log), ["stopped after 100"]);
}

#[test]
fn run_stops_sessions_that_nothing_can_wake() {
    let log = new_log();
    let mut k = Kernel::new().unwrap();
    let mut n = node("zombie", &log);
    n.alias = true;
    k.spawn(n);
    k.run().unwrap();
    assert_eq!(lines(&log), ["zombie:_start:", "zombie:_stop:"]);
}

#[test]
fn a_session_with_nothing_to_do_stops_inside_spawn() {
    let log = new_log();
    let mut k = Kernel::new().unwrap();
    k.spawn(node("idle", &log));
    assert_eq!(lines(&log), ["idle:_start:", "idle:_stop:"]);
    assert_eq!(k.session_count(), 0);
}

#[test]
fn aliases_are_unique_and_owned() {
    let mut k = Kernel::new().unwrap();
    let a = k.spawn(InlineStates::new().state("_start", |_, ctx, _| {
        ctx.alias_set("x").unwrap();
        ctx.alias_set("x").unwrap(); // setting it again is fine
        ctx.alias_set("y").unwrap();
    }));
    k.spawn(InlineStates::new().state("_start", move |_, ctx, _| {
        assert_eq!(
            ctx.alias_set("x"),
            Err(crate::AliasError::InUse {
                alias: "x".into(),
                owner: a
            })
        );
        assert_eq!(
            ctx.alias_remove("x"),
            Err(crate::AliasError::NotOwner {
                alias: "x".into(),
                owner: a
            })
        );
        assert_eq!(
            ctx.alias_remove("z"),
            Err(crate::AliasError::NotFound("z".into()))
        );
        assert_eq!(ctx.alias_list(a), ["x", "y"]);
        assert_eq!(ctx.aliases(a), ["x", "y"]);
        assert!(ctx.aliases(SessionId::from_raw(999_999)).is_empty());
        assert_eq!(ctx.alias_resolve(&a.to_string()), Some(a));
    }));
}

#[test]
fn the_alias_generation_changes_with_every_alias_change() {
    use std::cell::RefCell;
    use std::rc::Rc;
    let seen: Rc<RefCell<Vec<u64>>> = Rc::default();
    let mut k = Kernel::new().unwrap();
    let s = Rc::clone(&seen);
    k.spawn(InlineStates::new().state("_start", move |_, ctx, _| {
        let note = |ctx: &Ctx<'_>| s.borrow_mut().push(crate::internal::alias_generation(ctx));
        note(ctx);
        ctx.alias_set("x").unwrap();
        note(ctx);
        // Setting it again, or failing to remove one, changes nothing.
        ctx.alias_set("x").unwrap();
        assert!(ctx.alias_remove("z").is_err());
        note(ctx);
        ctx.alias_remove("x").unwrap();
        note(ctx);
    }));
    k.run().unwrap();
    let seen = seen.borrow();
    assert_eq!(seen.len(), 4, "{seen:?}");
    assert!(seen[1] > seen[0], "set: {seen:?}");
    assert_eq!(seen[2], seen[1], "no change: {seen:?}");
    assert!(seen[3] > seen[2], "removed: {seen:?}");
}

#[test]
fn a_session_name_resolves_as_an_alias_or_as_an_id() {
    let mut k = Kernel::new().unwrap();
    k.spawn(InlineStates::new().state("_start", move |_, ctx, _| {
        let me = ctx.session_id();
        let resolve = |ctx: &Ctx<'_>, name: &str| crate::internal::resolve_session(ctx, name);
        ctx.alias_set("x").unwrap();
        assert_eq!(resolve(ctx, "x"), Some((me, false)));
        assert_eq!(resolve(ctx, &me.to_string()), Some((me, true)));
        // Digits that are no session's id but an alias are the alias.
        let other = SessionId::from_raw(me.get() + 1000);
        ctx.alias_set(&other.to_string()).unwrap();
        assert_eq!(resolve(ctx, &other.to_string()), Some((me, false)));
        // Only plain digits name a session by its id.
        for name in ["", "y", &format!("+{me}"), &format!("{me} "), "99999999"] {
            assert_eq!(resolve(ctx, name), None, "{name:?}");
            assert_eq!(ctx.alias_resolve(name), None, "{name:?}");
        }
        ctx.alias_remove("x").unwrap();
        ctx.alias_remove(&other.to_string()).unwrap();
    }));
    k.run().unwrap();
}

#[test]
fn a_new_child_lives_until_the_creating_handler_returns() {
    let log = new_log();
    let mut k = Kernel::new().unwrap();
    let l = log.clone();
    k.spawn(InlineStates::new().state("_start", move |_, ctx, _| {
        let l2 = l.clone();
        let child = ctx.spawn(
            InlineStates::new()
                .state("configure", move |_, _, _| push(&l2, "configured"))
                .state("_stop", {
                    let l3 = l.clone();
                    move |_, _, _| push(&l3, "child stopped")
                }),
        );
        ctx.call(child, "configure", vec![]).unwrap();
        ctx.post(child, "later", vec![]).unwrap();
        push(&l, "parent done");
    }));
    drain(&mut k);
    assert_eq!(lines(&log), ["configured", "parent done", "child stopped"]);
    assert_eq!(k.session_count(), 0);
}
