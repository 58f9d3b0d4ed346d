//! Kernel behaviour, driven one turn at a time (calloop's
//! `dispatch(Some(Duration::ZERO))`) and with a fake clock.

mod events;
mod lifecycle;
mod panics;
mod postbacks;
mod routing;
mod timers;

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use ikc_freezer::Value;

use crate::Kernel;

/// A shared record of what handlers saw, in order.
pub(super) type Log = Rc<RefCell<Vec<String>>>;

pub(super) fn new_log() -> Log {
    Rc::default()
}

pub(super) fn push(log: &Log, line: impl Into<String>) {
    log.borrow_mut().push(line.into());
}

pub(super) fn lines(log: &Log) -> Vec<String> {
    log.borrow().clone()
}

/// A compact rendering of a value for assertions.
pub(super) fn show(v: &Value) -> String {
    match v {
        Value::Undef => "undef".into(),
        Value::Bool(b) => b.to_string(),
        Value::Int(n) => n.to_string(),
        Value::UInt(n) => n.to_string(),
        Value::Float(f) => f.to_string(),
        Value::Str(s) => s.clone(),
        Value::Bytes(b) => String::from_utf8_lossy(b).into_owned(),
        Value::Array(a) => format!("[{}]", a.iter().map(show).collect::<Vec<_>>().join(",")),
        other => format!("{other:?}"),
    }
}

/// The arguments of an event, rendered.
pub(super) fn show_args(args: &[Value]) -> String {
    args.iter().map(show).collect::<Vec<_>>().join(",")
}

/// Run zero-timeout turns until the queue is empty (bounded, so a bug
/// that keeps posting fails instead of hanging).
#[track_caller]
pub(super) fn drain(kernel: &mut Kernel) {
    for _ in 0..10_000 {
        kernel.run_one(Some(Duration::ZERO)).expect("turn");
        if kernel.queue_len() == 0 {
            return;
        }
    }
    panic!("the queue never emptied");
}
