//! Local dispatch: post + dispatch of small events in one kernel.
//!
//! `cargo bench -p ikc-core --bench dispatch` prints one line per case:
//! events dispatched, seconds, and events per second.

use std::hint::black_box;
use std::time::Instant;

use ikc_core::{Ctx, Event, InlineStates, Kernel, Session, SessionId};
use ikc_freezer::Value;

const N: u64 = 5_000_000;

/// Yields to itself until it has seen `left` events.
struct Yielder {
    left: u64,
    args: bool,
}

impl Session for Yielder {
    fn handle(&mut self, ctx: &mut Ctx<'_>, ev: Event) -> Value {
        let ticking = matches!(ev.state(), "_start" | "tick");
        if ticking && self.left > 0 {
            self.left -= 1;
            let args = if self.args {
                vec![Value::Int(self.left as i64)]
            } else {
                Vec::new()
            };
            ctx.yield_("tick", args);
        }
        black_box(&ev.args);
        Value::Undef
    }
}

/// Posts "ping"/"pong" to its peer (by id) until `left` runs out.
struct Player {
    peer: Option<SessionId>,
    left: u64,
}

impl Session for Player {
    fn handle(&mut self, ctx: &mut Ctx<'_>, ev: Event) -> Value {
        match ev.state() {
            "_start" => {
                ctx.alias_set(if self.peer.is_none() { "pong" } else { "ping" })
                    .unwrap();
            }
            "serve" => {
                let peer = self.peer.unwrap();
                ctx.post(peer, "ball", Vec::new()).unwrap();
            }
            "ball" => {
                if self.left == 0 {
                    ctx.alias_remove(if self.peer.is_none() { "pong" } else { "ping" })
                        .unwrap();
                    if let Some(peer) = ev.sender.session() {
                        let _ = ctx.post(peer, "done", Vec::new());
                    }
                    return Value::Undef;
                }
                self.left -= 1;
                let back = ev.sender.session().unwrap();
                ctx.post(back, "ball", Vec::new()).unwrap();
            }
            "done" => {
                let _ = ctx.alias_remove("ping");
                let _ = ctx.alias_remove("pong");
            }
            _ => {}
        }
        Value::Undef
    }
}

/// Answers calls.
struct Callee;

impl Session for Callee {
    fn handle(&mut self, ctx: &mut Ctx<'_>, ev: Event) -> Value {
        match ev.state() {
            "_start" => {
                ctx.alias_set("callee").unwrap();
                Value::Undef
            }
            "get" => Value::Int(1),
            "done" => {
                ctx.alias_remove("callee").unwrap();
                Value::Undef
            }
            _ => Value::Undef,
        }
    }
}

/// Calls the callee `left` times, one call per yielded event.
struct Caller {
    callee: SessionId,
    left: u64,
    sum: i64,
}

impl Session for Caller {
    fn handle(&mut self, ctx: &mut Ctx<'_>, ev: Event) -> Value {
        if matches!(ev.state(), "_start" | "go") {
            for _ in 0..1000 {
                if self.left == 0 {
                    ctx.post(self.callee, "done", Vec::new()).unwrap();
                    black_box(self.sum);
                    return Value::Undef;
                }
                self.left -= 1;
                if let Ok(Value::Int(n)) = ctx.call(self.callee, "get", Vec::new()) {
                    self.sum += n;
                }
            }
            ctx.yield_("go", Vec::new());
        }
        Value::Undef
    }
}

fn report(name: &str, events: u64, secs: f64) {
    println!(
        "dispatch/{name:<22} {events:>9} events in {secs:>7.3} s = {:>6.2} M events/s",
        events as f64 / secs / 1e6
    );
}

fn yield_case(name: &str, args: bool) {
    let mut k = Kernel::new().unwrap();
    let start = Instant::now();
    k.spawn(Yielder { left: N, args });
    k.run().unwrap();
    report(name, N, start.elapsed().as_secs_f64());
}

fn inline_yield() {
    let mut k = Kernel::new().unwrap();
    let start = Instant::now();
    k.spawn(
        InlineStates::with_heap(N)
            .state("_start", |_, ctx, _| ctx.yield_("tick", Vec::new()))
            .state("tick", |left: &mut u64, ctx, _| {
                if *left > 1 {
                    *left -= 1;
                    ctx.yield_("tick", Vec::new());
                }
            }),
    );
    k.run().unwrap();
    report("yield (InlineStates)", N, start.elapsed().as_secs_f64());
}

fn ping_pong() {
    let mut k = Kernel::new().unwrap();
    let pong = k.spawn(Player {
        peer: None,
        left: N / 2,
    });
    let ping = k.spawn(Player {
        peer: Some(pong),
        left: N / 2,
    });
    let start = Instant::now();
    k.post(ping, "serve", Vec::new()).unwrap();
    k.run().unwrap();
    report("ping-pong (post by id)", N, start.elapsed().as_secs_f64());
}

fn calls() {
    let mut k = Kernel::new().unwrap();
    let callee = k.spawn(Callee);
    let start = Instant::now();
    k.spawn(Caller {
        callee,
        left: N,
        sum: 0,
    });
    k.run().unwrap();
    report("call", N, start.elapsed().as_secs_f64());
}

fn cross_thread() {
    const M: u64 = 1_000_000;
    let mut k = Kernel::new().unwrap();
    k.spawn(
        InlineStates::with_heap(0_u64)
            .state("_start", |_, ctx, _| ctx.alias_set("sink").unwrap())
            .state("add", |n: &mut u64, ctx, _| {
                *n += 1;
                if *n == M {
                    ctx.alias_remove("sink").unwrap();
                }
            }),
    );
    let handle = k.handle();
    let start = Instant::now();
    let poster = std::thread::spawn(move || {
        for _ in 0..M {
            handle.post("sink", "add", Vec::new()).unwrap();
        }
    });
    k.run().unwrap();
    poster.join().unwrap();
    report("KernelHandle post", M, start.elapsed().as_secs_f64());
}

fn main() {
    yield_case("yield", false);
    yield_case("yield (1 Int arg)", true);
    inline_yield();
    ping_pong();
    calls();
    cross_thread();
}
