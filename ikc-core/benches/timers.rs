//! Timers: schedule one million alarms, then fire them all.
//!
//! `cargo bench -p ikc-core --bench timers` prints how long scheduling and
//! firing took, and the rate of each. The clock is fake (`run_one_at`), so
//! firing measures the kernel, not waiting.

use std::hint::black_box;
use std::time::{Duration, Instant};

use ikc_core::{Ctx, Event, Kernel, Session};
use ikc_freezer::Value;

const N: u64 = 1_000_000;

/// On "schedule" sets `N` alarms spread over a second (in a scrambled
/// order); counts them as they fire.
struct Many {
    fired: u64,
    replace: bool,
}

impl Session for Many {
    fn handle(&mut self, ctx: &mut Ctx<'_>, ev: Event) -> Value {
        match ev.state() {
            "_start" => ctx.alias_set("many").unwrap(),
            "schedule" => {
                let mut x: u64 = 0x2545_f491_4f6c_dd1d;
                for _ in 0..N {
                    // xorshift: deadlines in a scrambled order
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    let after = Duration::from_nanos(x % 1_000_000_000);
                    if self.replace {
                        ctx.delay("once", after, Vec::new());
                    } else {
                        ctx.delay_add("fire", after, Vec::new());
                    }
                }
                ctx.alias_remove("many").unwrap();
            }
            "fire" | "once" => self.fired += 1,
            _ => {}
        }
        black_box(self.fired);
        Value::Undef
    }
}

fn rate(n: u64, d: Duration) -> f64 {
    n as f64 / d.as_secs_f64() / 1e6
}

fn main() {
    let t0 = Instant::now();
    let mut k = Kernel::new().unwrap();
    k.run_one_at(t0, Some(Duration::ZERO)).unwrap();
    k.spawn(Many {
        fired: 0,
        replace: false,
    });

    let start = Instant::now();
    k.call("many", "schedule", Vec::new()).unwrap();
    let scheduled = start.elapsed();
    assert_eq!(k.alarm_count() as u64, N);

    let start = Instant::now();
    let late = t0 + Duration::from_secs(2);
    while k.session_count() > 0 {
        k.run_one_at(late, Some(Duration::ZERO)).unwrap();
    }
    let fired = start.elapsed();
    assert_eq!(k.alarm_count(), 0);

    println!(
        "timers/schedule {N} alarms: {:>7.3} s = {:>5.2} M/s",
        scheduled.as_secs_f64(),
        rate(N, scheduled)
    );
    println!(
        "timers/fire     {N} alarms: {:>7.3} s = {:>5.2} M/s",
        fired.as_secs_f64(),
        rate(N, fired)
    );
    let total = scheduled + fired;
    println!(
        "timers/schedule+fire {N}:   {:>7.3} s = {:>5.2} M/s",
        total.as_secs_f64(),
        rate(N, total)
    );

    // POE's delay(): each call replaces the previous alarm of the state.
    let mut k = Kernel::new().unwrap();
    k.run_one_at(t0, Some(Duration::ZERO)).unwrap();
    k.spawn(Many {
        fired: 0,
        replace: true,
    });
    let start = Instant::now();
    k.call("many", "schedule", Vec::new()).unwrap();
    let replaced = start.elapsed();
    assert_eq!(k.alarm_count(), 1);
    println!(
        "timers/delay replace {N}:   {:>7.3} s = {:>5.2} M/s",
        replaced.as_secs_f64(),
        rate(N, replaced)
    );
}
