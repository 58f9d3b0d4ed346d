//! `local`: events posted from one session to another inside one kernel
//! and dispatched, with no IKC involved. Two figures: each event carrying
//! an integer, and each carrying the benchmark payload (built per event).

use std::cell::Cell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use anyhow::{Result, ensure};
use ikc_core::{Ctx, Event, Kernel, Session, SessionId};
use ikc_freezer::Value;

use crate::args::Args;
use crate::payload;
use crate::stats::per_sec;

/// Events posted per handler of the driver.
const BATCH: u64 = 1000;

/// Counts the events it gets; notes the time of the last.
struct Sink {
    n: u64,
    seen: u64,
    order_ok: bool,
    finished: Rc<Cell<Option<(Instant, bool)>>>,
}

impl Session for Sink {
    fn handle(&mut self, ctx: &mut Ctx<'_>, event: Event) -> Value {
        if event.state() == "_start" {
            // Alive until the last event arrives.
            let _ = ctx.alias_set("sink");
        }
        if event.state() == "event" {
            let seq = match event.args.first() {
                Some(Value::Int(i)) => u64::try_from(*i).ok(),
                Some(payload) => payload["seq"].as_u64(),
                None => None,
            };
            self.order_ok &= seq == Some(self.seen);
            self.seen += 1;
            if self.seen == self.n {
                self.finished.set(Some((Instant::now(), self.order_ok)));
                let _ = ctx.alias_remove("sink");
            }
        }
        Value::Undef
    }
}

/// Posts `n` events to the sink, a batch per handler.
struct Driver {
    sink: SessionId,
    n: u64,
    sent: u64,
    with_payload: bool,
}

impl Session for Driver {
    fn handle(&mut self, ctx: &mut Ctx<'_>, event: Event) -> Value {
        if matches!(event.state(), "_start" | "more") {
            let end = (self.sent + BATCH).min(self.n);
            for seq in self.sent..end {
                let arg = if self.with_payload {
                    payload(seq)
                } else {
                    Value::from(seq)
                };
                if ctx.post(self.sink, "event", vec![arg]).is_err() {
                    return Value::Undef;
                }
            }
            self.sent = end;
            if self.sent < self.n {
                ctx.yield_("more", Vec::new());
            }
        }
        Value::Undef
    }
}

/// Post and dispatch `n` events; the time taken.
fn measure(n: u64, with_payload: bool) -> Result<Duration> {
    let mut kernel = Kernel::new()?;
    let finished = Rc::new(Cell::new(None));
    let sink = kernel.spawn(Sink {
        n,
        seen: 0,
        order_ok: true,
        finished: Rc::clone(&finished),
    });
    let start = Instant::now();
    kernel.spawn(Driver {
        sink,
        n,
        sent: 0,
        with_payload,
    });
    kernel.run()?;
    let Some((end, order_ok)) = finished.get() else {
        anyhow::bail!("the sink did not get all {n} events");
    };
    ensure!(order_ok, "events arrived out of order");
    Ok(end - start)
}

pub(crate) fn run(args: &Args) -> Result<()> {
    let n: u64 = args.number("n", 5_000_000)?;
    ensure!(n > 0, "--n must be positive");
    for (with_payload, kind) in [(false, "int"), (true, "payload")] {
        let elapsed = measure(n, with_payload)?;
        println!(
            "local args={kind} n={n} secs={:.3} events_per_sec={}",
            elapsed.as_secs_f64(),
            per_sec(n, elapsed)
        );
    }
    Ok(())
}
