//! Real signals: SIGTERM and SIGINT raised in this process reach the
//! sessions that watch them, in every kernel that watches them.
//!
//! One test function, so that no other test in this binary runs while a
//! signal is in flight. A signal is only raised while a kernel watches it
//! (otherwise the default action would end the test process).

use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use ikc_core::{InlineStates, Kernel, Signal};
use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::low_level::raise;

/// A kernel on a thread whose session watches TERM and INT, marks them
/// handled, reports each to the test, and ends on INT.
fn watcher(report: mpsc::Sender<(usize, String)>, n: usize) -> thread::JoinHandle<()> {
    let (ready_tx, ready_rx) = mpsc::channel();
    let thread = thread::spawn(move || {
        let mut k = Kernel::new().unwrap();
        k.spawn(
            InlineStates::new()
                .state("_start", move |_, ctx, _| {
                    ctx.alias_set("sig").unwrap();
                    ctx.sig(Signal::Term, "got").unwrap();
                    ctx.sig(Signal::Int, "got").unwrap();
                })
                .state("got", move |_, ctx, ev| {
                    ctx.sig_handled();
                    let name = match ev.arg(0) {
                        Some(ikc_freezer::Value::Str(s)) => s.clone(),
                        other => format!("{other:?}"),
                    };
                    if name == "INT" {
                        ctx.sig_remove(Signal::Term).unwrap();
                        ctx.sig_remove(Signal::Int).unwrap();
                        ctx.alias_remove("sig").unwrap();
                    }
                    report.send((n, name)).unwrap();
                }),
        );
        ready_tx.send(()).unwrap();
        k.run().unwrap();
    });
    ready_rx.recv().unwrap();
    thread
}

#[test]
fn raised_signals_reach_every_watching_kernel() {
    let (tx, rx) = mpsc::channel();
    let a = watcher(tx.clone(), 0);
    let b = watcher(tx, 1);
    raise(SIGTERM).unwrap();
    let mut got: Vec<(usize, String)> = (0..2)
        .map(|_| rx.recv_timeout(Duration::from_secs(10)).unwrap())
        .collect();
    got.sort();
    assert_eq!(got, [(0, "TERM".to_string()), (1, "TERM".to_string())]);
    // Both kernels are still running: the signal was handled.
    raise(SIGINT).unwrap();
    let mut got: Vec<(usize, String)> = (0..2)
        .map(|_| rx.recv_timeout(Duration::from_secs(10)).unwrap())
        .collect();
    got.sort();
    assert_eq!(got, [(0, "INT".to_string()), (1, "INT".to_string())]);
    a.join().unwrap();
    b.join().unwrap();
}
