//! KernelHandle: posting, calling and stopping from other threads; several
//! kernels in one process.

use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use ikc_core::{CallError, DeliveryError, InlineStates, Kernel, KernelHandle, Sender};
use ikc_freezer::Value;

/// Start a kernel on its own thread with a session aliased `sink` that
/// counts "add" events, answers "total" calls, and on "quit" drops its
/// alias (so the kernel ends). The thread returns the count and whether
/// every event came from the kernel (SENDER).
fn spawn_sink() -> (KernelHandle, thread::JoinHandle<(i64, bool)>) {
    let (tx, rx) = mpsc::channel();
    let thread = thread::spawn(move || {
        let mut k = Kernel::new().unwrap();
        let result = std::rc::Rc::new(std::cell::Cell::new((0_i64, true)));
        let r = result.clone();
        k.spawn(
            InlineStates::with_heap(0_i64)
                .state("_start", |_, ctx, _| ctx.alias_set("sink").unwrap())
                .state("add", move |n, _, ev| {
                    if let Some(Value::Int(x)) = ev.arg(0) {
                        *n += x;
                    }
                    r.set((*n, r.get().1 && ev.sender == Sender::Kernel));
                })
                .state("total", |n, _, _| *n)
                .state("quit", |_, ctx, _| ctx.alias_remove("sink").unwrap()),
        );
        tx.send(k.handle()).unwrap();
        k.run().unwrap();
        result.get()
    });
    (rx.recv().unwrap(), thread)
}

#[test]
fn other_threads_post_and_call() {
    let (handle, thread) = spawn_sink();
    let posters: Vec<_> = (0..4)
        .map(|_| {
            let h = handle.clone();
            thread::spawn(move || {
                for _ in 0..1000 {
                    h.post("sink", "add", vec![Value::from(1)]).unwrap();
                }
            })
        })
        .collect();
    for p in posters {
        p.join().unwrap();
    }
    // A call is answered after every post sent before it from this thread;
    // the posters have all finished, so all 4000 are counted.
    assert_eq!(
        handle.call("sink", "total", vec![]).unwrap(),
        Value::Int(4000)
    );
    assert_eq!(
        handle.call_to("poe:/sink/total", vec![]).unwrap(),
        Value::Int(4000)
    );
    let err = handle.call("nobody", "total", vec![]).unwrap_err();
    assert_eq!(
        err,
        CallError::Delivery(DeliveryError::UnknownSession("nobody".into()))
    );
    handle.post_to("poe:/sink/quit", vec![]).unwrap();
    let (count, from_kernel) = thread.join().unwrap();
    assert_eq!(count, 4000);
    assert!(from_kernel, "events from handles have the kernel as SENDER");

    // The kernel has finished: nothing waits for it any more.
    assert!(!handle.is_open());
    let err = handle
        .post("sink", "add", vec![Value::from(5)])
        .unwrap_err();
    assert_eq!(err.reason, DeliveryError::KernelStopped);
    assert_eq!(err.event.args, [Value::from(5)]);
    assert_eq!(
        handle.call("sink", "total", vec![]),
        Err(CallError::Delivery(DeliveryError::KernelStopped))
    );
}

#[test]
fn call_timeout_and_deadlock_detection() {
    let mut k = Kernel::new().unwrap();
    k.spawn(
        InlineStates::new()
            .state("_start", |_, ctx, _| ctx.alias_set("s").unwrap())
            .state("ping", |_, _, _| "pong"),
    );
    let handle = k.handle();
    // The kernel's own thread would wait for ever.
    assert_eq!(
        handle.call("s", "ping", vec![]),
        Err(CallError::WouldDeadlock)
    );
    // No turn runs while this thread waits: the call times out.
    let h = handle.clone();
    let timed_out =
        thread::spawn(move || h.call_timeout("s", "ping", vec![], Duration::from_millis(50)))
            .join()
            .unwrap();
    assert_eq!(timed_out, Err(CallError::Timeout));
    // Answered once the kernel turns.
    let h = handle.clone();
    let caller = thread::spawn(move || h.call("s", "ping", vec![]));
    while !caller.is_finished() {
        k.run_one(Some(Duration::from_millis(100))).unwrap();
    }
    assert_eq!(caller.join().unwrap(), Ok(Value::from("pong")));
}

#[test]
fn stop_from_another_thread() {
    let (tx, rx) = mpsc::channel();
    let thread = thread::spawn(move || {
        let mut k = Kernel::new().unwrap();
        let stopped = std::rc::Rc::new(std::cell::Cell::new(false));
        let s = stopped.clone();
        k.spawn(
            InlineStates::new()
                .state("_start", |_, ctx, _| ctx.alias_set("forever").unwrap())
                .state("_stop", move |_, _, _| s.set(true)),
        );
        tx.send(k.handle()).unwrap();
        k.run().unwrap();
        stopped.get()
    });
    let handle = rx.recv().unwrap();
    handle.stop();
    assert!(thread.join().unwrap(), "sessions got _stop");
}

#[test]
fn several_kernels_pass_a_token_around_a_ring() {
    const KERNELS: usize = 3;
    const LAPS: i64 = 100;
    let (handle_tx, handle_rx) = mpsc::channel();
    let mut peers_tx = Vec::new();
    let mut threads = Vec::new();
    for i in 0..KERNELS {
        let (tx, rx) = mpsc::channel::<Vec<KernelHandle>>();
        peers_tx.push(tx);
        let handle_tx = handle_tx.clone();
        threads.push(thread::spawn(move || {
            let mut k = Kernel::new().unwrap();
            handle_tx.send((i, k.handle())).unwrap();
            let all = rx.recv().unwrap();
            let next = all[(i + 1) % KERNELS].clone();
            let my_id = k.id().to_owned();
            let hops = std::rc::Rc::new(std::cell::Cell::new(0));
            let h = hops.clone();
            k.spawn(
                InlineStates::new()
                    .state("_start", |_, ctx, _| ctx.alias_set("relay").unwrap())
                    .state("token", move |_, ctx, ev| {
                        h.set(h.get() + 1);
                        let Some(Value::Int(n)) = ev.arg(0) else {
                            return;
                        };
                        if *n >= LAPS * KERNELS as i64 {
                            for other in &all {
                                other.stop();
                            }
                            ctx.stop();
                        } else {
                            next.post("relay", "token", vec![Value::from(n + 1)])
                                .unwrap();
                        }
                    }),
            );
            if i == 0 {
                k.post("relay", "token", vec![Value::from(1)]).unwrap();
            }
            k.run().unwrap();
            (my_id, hops.get())
        }));
    }
    let mut handles: Vec<(usize, KernelHandle)> =
        (0..KERNELS).map(|_| handle_rx.recv().unwrap()).collect();
    handles.sort_by_key(|(i, _)| *i);
    let handles: Vec<KernelHandle> = handles.into_iter().map(|(_, h)| h).collect();
    for tx in &peers_tx {
        tx.send(handles.clone()).unwrap();
    }
    let results: Vec<(String, i64)> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    let total: i64 = results.iter().map(|(_, n)| n).sum();
    assert_eq!(total, LAPS * KERNELS as i64);
    for (_, hops) in &results {
        assert_eq!(*hops, LAPS);
    }
    let ids: std::collections::HashSet<&String> = results.iter().map(|(id, _)| id).collect();
    assert_eq!(ids.len(), KERNELS, "every kernel has its own id");
}

#[test]
fn a_call_is_handled_after_the_posts_sent_before_it() {
    let mut k = Kernel::new().unwrap();
    k.spawn(
        InlineStates::with_heap(0_i64)
            .state("_start", |_, ctx, _| ctx.alias_set("sink").unwrap())
            .state("add", |n, _, _| *n += 1)
            .state("total", |n, _, _| *n),
    );
    let handle = k.handle();
    // Everything is sent before the kernel turns, so posts and the call
    // arrive in one burst, more than one turn's batch.
    let caller = thread::spawn(move || {
        for _ in 0..3000 {
            handle.post("sink", "add", vec![]).unwrap();
        }
        handle.call("sink", "total", vec![])
    });
    while !caller.is_finished() {
        k.run_one(Some(Duration::from_millis(100))).unwrap();
    }
    assert_eq!(caller.join().unwrap(), Ok(Value::Int(3000)));
}

#[test]
fn handles_are_send_sync_clone_and_reopen_with_a_new_run() {
    fn assert_thread_safe<T: Send + Sync + Clone + 'static>() {}
    assert_thread_safe::<KernelHandle>();

    let mut k = Kernel::new().unwrap();
    let handle = k.handle();
    assert!(handle.is_open(), "posts before the first run are queued");
    assert_eq!(handle.kernel_id(), k.id());
    k.run().unwrap(); // no sessions: returns at once, and closes
    assert!(!handle.is_open());
    k.spawn(
        InlineStates::new()
            .state("_start", |_, ctx, _| ctx.alias_set("s").unwrap())
            .state("bye", |_, ctx, _| ctx.alias_remove("s").unwrap()),
    );
    k.run_one(Some(Duration::ZERO)).unwrap(); // a turn opens it again
    assert!(handle.is_open());
    handle.post("s", "bye", vec![]).unwrap();
    k.run().unwrap();
    assert_eq!(k.session_count(), 0);
}

#[test]
fn dropping_the_last_handle_lets_a_waiting_kernel_finish() {
    // The kernel has nothing to do but wait for posts from a handle. Once
    // the last handle is dropped, nothing can wake it again, so `run` must
    // return, even if the kernel is already asleep in its poll.
    for _ in 0..50 {
        let (handle_tx, handle_rx) = mpsc::channel();
        let (handled_tx, handled_rx) = mpsc::channel();
        let (done_tx, done_rx) = mpsc::channel();
        let kernel = thread::spawn(move || {
            let mut kernel = Kernel::new().unwrap();
            kernel.spawn(
                InlineStates::new()
                    .state("_start", |_, ctx, _| {
                        ctx.alias_set("waiter").unwrap();
                    })
                    .state("poke", move |_, _, _| {
                        handled_tx.send(()).unwrap();
                    }),
            );
            handle_tx.send(kernel.handle()).unwrap();
            kernel.run().unwrap();
            done_tx.send(()).unwrap();
        });
        let handle = handle_rx.recv().unwrap();
        handle.post("waiter", "poke", vec![]).unwrap();
        handled_rx.recv_timeout(Duration::from_secs(10)).unwrap();
        drop(handle);
        done_rx
            .recv_timeout(Duration::from_secs(10))
            .expect("the kernel returned once its last handle was dropped");
        kernel.join().unwrap();
    }
}
