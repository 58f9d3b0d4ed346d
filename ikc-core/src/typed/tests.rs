use std::cell::RefCell;
use std::rc::Rc;

use ikc_freezer::{Value, to_value};
use serde::{Deserialize, Serialize};

use crate::{ArgError, CallError, Event, InlineStates, Kernel};

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Add {
    a: i64,
    b: i64,
}

fn calc(kernel: &mut Kernel) {
    kernel.spawn(
        InlineStates::with_heap(0_u32)
            .state("_start", |_, ctx, _| {
                ctx.alias_set("calc").unwrap();
            })
            .typed_heap_state("add", |calls, _, req: Add| {
                *calls += 1;
                req.a.checked_add(req.b).ok_or("overflow")
            })
            .typed_heap_state("calls", |calls, _, (): ()| Ok::<_, String>(*calls))
            .state("done", |_, ctx, _| {
                ctx.alias_remove("calc").unwrap();
            }),
    );
}

#[test]
fn a_typed_state_reads_its_argument_and_returns_its_value() {
    let mut kernel = Kernel::new().unwrap();
    calc(&mut kernel);
    let req = to_value(&Add { a: 40, b: 2 }).unwrap();
    assert_eq!(
        kernel.call("calc", "add", vec![req]).unwrap(),
        Value::Int(42)
    );
    // Perl sends numbers as strings: the bridge reads them.
    let perl = Value::from(ikc_freezer::Hash::from_iter([
        ("a", Value::bytes("1")),
        ("b", Value::bytes("2")),
    ]));
    assert_eq!(
        kernel.call("calc", "add", vec![perl]).unwrap(),
        Value::Int(3)
    );
    assert_eq!(kernel.call("calc", "calls", vec![]).unwrap(), Value::Int(2));
}

#[test]
fn a_bad_argument_fails_the_call_and_the_session_lives_on() {
    let mut kernel = Kernel::new().unwrap();
    calc(&mut kernel);
    let err = kernel
        .call("calc", "add", vec![Value::from("nonsense")])
        .unwrap_err();
    let CallError::Failed { state, message, .. } = &err else {
        panic!("expected Failed, got {err:?}");
    };
    assert_eq!(state, "add");
    assert!(message.starts_with("add: bad argument ARG0: "), "{message}");
    // The closure's own error.
    let req = to_value(&Add { a: i64::MAX, b: 1 }).unwrap();
    let err = kernel.call("calc", "add", vec![req]).unwrap_err();
    assert_eq!(err.to_string(), "add: overflow");
    // Counted only the call that reached the closure.
    assert_eq!(kernel.call("calc", "calls", vec![]).unwrap(), Value::Int(1));
    kernel.post("calc", "done", vec![]).unwrap();
    kernel.run().unwrap();
    assert_eq!(kernel.session_count(), 0);
}

#[test]
fn a_failed_posted_event_is_dropped_and_the_next_one_runs() {
    let mut kernel = Kernel::new().unwrap();
    let seen = Rc::new(RefCell::new(Vec::new()));
    let log = Rc::clone(&seen);
    kernel.spawn(
        InlineStates::new()
            .state("_start", |_, ctx, _| {
                ctx.alias_set("sink").unwrap();
            })
            .typed_state("take", move |ctx, n: u8| {
                log.borrow_mut().push(n);
                if n == 3 {
                    ctx.alias_remove("sink").unwrap();
                }
                Ok::<_, String>(())
            }),
    );
    for v in [Value::from(1), Value::from(-1), Value::from(3)] {
        kernel.post("sink", "take", vec![v]).unwrap();
    }
    kernel.run().unwrap();
    assert_eq!(*seen.borrow(), [1, 3]);
}

#[test]
fn a_failure_belongs_to_the_handler_that_reported_it() {
    // An outer handler calls a typed state that fails: the outer call
    // succeeds, and sees the inner failure as its call's error.
    let mut kernel = Kernel::new().unwrap();
    calc(&mut kernel);
    let outer = kernel.spawn(
        InlineStates::new()
            .state("_start", |_, ctx, _| {
                ctx.alias_set("outer").unwrap();
            })
            .state("go", |_, ctx, _| {
                let inner = ctx.call("calc", "add", vec![Value::from("x")]);
                Value::from(matches!(inner, Err(CallError::Failed { .. })))
            })
            .state("fail_after_call", |_, ctx, _| {
                ctx.fail("outer failed");
                let inner = ctx.call("calc", "calls", vec![]);
                assert!(inner.is_ok());
            }),
    );
    assert_eq!(kernel.call(outer, "go", vec![]).unwrap(), Value::Bool(true));
    let err = kernel.call(outer, "fail_after_call", vec![]).unwrap_err();
    assert_eq!(err.to_string(), "outer failed");
}

#[test]
fn args_as_reads_none_one_or_many_arguments() {
    assert_eq!(Event::new("a", vec![]).args_as::<()>(), Ok(()));
    assert_eq!(
        Event::new("a", vec![Value::from(1), Value::from(2)]).args_as::<Vec<i32>>(),
        Ok(vec![1, 2])
    );
    assert!(matches!(
        Event::new("a", vec![Value::from(1), Value::from("x")]).args_as::<(i32, i32)>(),
        Err(ArgError::InvalidArgs(_))
    ));
    assert!(matches!(
        Event::new("a", vec![Value::from("x")]).args_as::<i32>(),
        Err(ArgError::Invalid { n: 0, .. })
    ));
}
