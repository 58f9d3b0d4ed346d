//! Helpers shared by the integration tests.
#![allow(clippy::mod_module_files, dead_code)]

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

use ikc_core::Kernel;

/// A shared record of what handlers saw, in order.
pub(crate) type Log = Rc<RefCell<Vec<String>>>;

pub(crate) fn new_log() -> Log {
    Rc::default()
}

pub(crate) fn push(log: &Log, line: impl Into<String>) {
    log.borrow_mut().push(line.into());
}

pub(crate) fn lines(log: &Log) -> Vec<String> {
    log.borrow().clone()
}

/// Turn the loop until `done` holds, each turn waiting for I/O or timers
/// (never sleeping); fails after 20 s of turns without getting there.
#[track_caller]
pub(crate) fn turn_until(kernel: &mut Kernel, mut done: impl FnMut(&Kernel) -> bool) {
    let start = std::time::Instant::now();
    while !done(kernel) {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "condition not reached in 20 s"
        );
        kernel
            .run_one(Some(Duration::from_millis(100)))
            .expect("turn");
    }
}
