//! Round trips: `rtt` (IKC calls with an RSVP from a client kernel),
//! `lite-rtt` (ClientLite's blocking `call`), and `fanin` (many ClientLite
//! threads calling at once). Every call sends the payload to `bench/echo`,
//! which returns it.

use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, ensure};
use ikc_clientlite::{Builder, ClientLite};
use ikc_core::{Ctx, Event, Session};
use ikc_freezer::{NATIVE, Value};
use ikc_responder::Ikc;

use crate::args::Args;
use crate::link::Link;
use crate::oneway::{Outcome, bench_state, quit_and_shutdown, run_client_kernel};
use crate::process::ServerProcess;
use crate::security::Security;
use crate::stats::{Summary, per_sec};
use crate::{SESSION, codec_name, payload};

struct Caller {
    warmup: u64,
    n: u64,
    echo: String,
    seq: u64,
    sent_at: Option<Instant>,
    times: Vec<Duration>,
    outcome: Outcome<Vec<Duration>>,
}

impl Caller {
    fn call_next(&mut self, ctx: &mut Ctx<'_>) {
        let Some(ikc) = Ikc::of(ctx) else { return };
        self.sent_at = Some(Instant::now());
        ikc.call(ctx, &self.echo, payload(self.seq), "answer");
    }
}

impl Session for Caller {
    fn handle(&mut self, ctx: &mut Ctx<'_>, event: Event) -> Value {
        match event.state() {
            "_start" => {
                ctx.alias_set("driver").expect("the alias is free");
            }
            "go" => self.call_next(ctx),
            "answer" => {
                let elapsed = self.sent_at.map(|t| t.elapsed()).unwrap_or_default();
                let seq = event.args.first().and_then(|a| a["seq"].as_u64());
                if seq != Some(self.seq) {
                    *self.outcome.borrow_mut() = Some(Err(format!(
                        "call {} answered {:?}",
                        self.seq,
                        event.args.first()
                    )));
                    quit_and_shutdown(ctx);
                    return Value::Undef;
                }
                if self.seq >= self.warmup {
                    self.times.push(elapsed);
                }
                self.seq += 1;
                if self.seq < self.warmup + self.n {
                    self.call_next(ctx);
                } else {
                    let times = std::mem::take(&mut self.times);
                    *self.outcome.borrow_mut() = Some(Ok(times));
                    let _ = ctx.alias_remove("driver");
                    quit_and_shutdown(ctx);
                }
            }
            _ => {}
        }
        Value::Undef
    }
}

/// `rtt`: sequential calls from a client kernel, each answer sending the next.
pub(crate) fn kernel_rtt(args: &Args) -> Result<Summary> {
    measure_kernel_rtt(args, None)
}

/// The `nats` scenario's round trips: the server attached to the bus at
/// `url`, the client calling over it, through a relay kernel or over a direct link (`via`).
pub(crate) fn kernel_rtt_over(args: &Args, url: &str, via: crate::nats::Via) -> Result<Summary> {
    measure_kernel_rtt(args, Some((url, via)))
}

fn measure_kernel_rtt(args: &Args, nats: Option<(&str, crate::nats::Via)>) -> Result<Summary> {
    let codec = args.get_or("codec", "native");
    let name = codec_name(codec)?;
    let n: u64 = args.number("n", 20_000)?;
    let warmup: u64 = args.number("warmup", 1000)?;
    ensure!(n > 0, "--n must be positive");
    let (args, security) = Security::prepare(args)?;
    let (server, relay, link) = crate::nats::start(&args, codec, nats)?;
    let summary = calls_over(&link, name, &security, warmup, n)?;
    server.finish()?;
    drop(relay);
    let scenario = match nats {
        Some(_) => format!("nats-rtt via={}", link.label()),
        None => "rtt".to_owned(),
    };
    println!(
        "{scenario} codec={codec} link={} n={n} {}",
        security.label(),
        summary.fields()
    );
    Ok(summary)
}

/// `warmup + n` sequential calls to `bench/echo` from a client kernel that
/// reaches the server over `link`; the times of the last `n`.
pub(crate) fn calls_over(
    link: &Link,
    codec: &str,
    security: &Security,
    warmup: u64,
    n: u64,
) -> Result<Summary> {
    let mut times = run_client_kernel(link, codec, security, |outcome| Caller {
        warmup,
        n,
        echo: bench_state("echo"),
        seq: 0,
        sent_at: None,
        times: Vec::with_capacity(n as usize),
        outcome,
    })?;
    Summary::of(&mut times).context("no calls timed")
}

fn lite_connect(port: u16, codec: &str, security: &Security) -> Result<ClientLite> {
    let builder = Builder::tcp("127.0.0.1", port)
        .freezer(codec)
        .timeout(Duration::from_secs(30));
    Ok(security.lite(builder).connect()?)
}

/// `warmup` untimed calls to `bench/echo`.
fn lite_warmup(poe: &mut ClientLite, warmup: u64) -> Result<()> {
    let echo = format!("{SESSION}/echo");
    for seq in 0..warmup {
        poe.call(echo.as_str(), payload(seq))?;
    }
    Ok(())
}

/// `n` calls to `bench/echo`, numbered from `first`: the time of each.
fn lite_calls(poe: &mut ClientLite, first: u64, n: u64) -> Result<Vec<Duration>> {
    let echo = format!("{SESSION}/echo");
    let mut times = Vec::with_capacity(n as usize);
    for seq in first..first + n {
        let start = Instant::now();
        let answer = poe.call(echo.as_str(), payload(seq))?;
        times.push(start.elapsed());
        ensure!(
            answer["seq"].as_u64() == Some(seq),
            "call {seq} answered {answer}"
        );
    }
    Ok(times)
}

/// `lite-rtt`: sequential ClientLite calls.
pub(crate) fn lite_rtt(args: &Args) -> Result<Summary> {
    let codec = args.get_or("codec", "native");
    let name = codec_name(codec)?;
    let n: u64 = args.number("n", 20_000)?;
    let warmup: u64 = args.number("warmup", 1000)?;
    ensure!(n > 0, "--n must be positive");
    let (args, security) = Security::prepare(args)?;
    let server = ServerProcess::start(&args)?;
    let mut poe = lite_connect(server.port(), name, &security)?;
    lite_warmup(&mut poe, warmup)?;
    let mut times = lite_calls(&mut poe, warmup, n)?;
    poe.post(bench_state("quit").as_str(), ())?;
    poe.disconnect();
    server.finish()?;
    let summary = Summary::of(&mut times).context("no calls timed")?;
    println!(
        "lite-rtt codec={codec} link={} n={n} {}",
        security.label(),
        summary.fields()
    );
    Ok(summary)
}

/// `fanin`: `--threads` ClientLite connections calling at once, `--n`
/// calls in all.
/// Returns the calls per second.
pub(crate) fn fanin(args: &Args) -> Result<u64> {
    let codec = args.get_or("codec", "native");
    let name = codec_name(codec)?;
    let threads: u64 = args.number("threads", 100)?;
    let n: u64 = args.number("n", 200_000)?;
    let warmup: u64 = args.number("warmup", 20)?;
    ensure!(
        threads > 0 && n >= threads,
        "--threads must be positive and at most --n"
    );
    let per_thread = n / threads;
    let n = per_thread * threads;
    let server = ServerProcess::start(args)?;
    let port = server.port();
    // Every thread connects and warms up; then all start together.
    let barrier = Arc::new(Barrier::new(threads as usize + 1));
    let workers: Vec<_> = (0..threads)
        .map(|_| {
            let barrier = Arc::clone(&barrier);
            std::thread::spawn(move || -> Result<Vec<Duration>> {
                let ready = lite_connect(port, name, &Security::default()).and_then(|mut poe| {
                    lite_warmup(&mut poe, warmup)?;
                    Ok(poe)
                });
                barrier.wait();
                lite_calls(&mut ready?, warmup, per_thread)
            })
        })
        .collect();
    barrier.wait();
    let start = Instant::now();
    let mut times = Vec::with_capacity(n as usize);
    let mut failures = Vec::new();
    for worker in workers {
        match worker.join() {
            Ok(Ok(t)) => times.extend(t),
            Ok(Err(e)) => failures.push(format!("{e:#}")),
            Err(_) => failures.push("a client thread panicked".to_owned()),
        }
    }
    let elapsed = start.elapsed();
    let mut poe = lite_connect(port, name, &Security::default())?;
    poe.post(bench_state("quit").as_str(), ())?;
    poe.disconnect();
    server.finish()?;
    ensure!(
        failures.is_empty(),
        "client threads failed: {}",
        failures.join("; ")
    );
    let summary = Summary::of(&mut times).context("no calls timed")?;
    let rate = per_sec(n, elapsed);
    println!(
        "fanin codec={codec} threads={threads} n={n} calls_per_sec={rate} p50_us={:.1} p99_us={:.1}",
        summary.p50_us, summary.p99_us
    );
    Ok(rate)
}

/// `handshake`: `--n` ClientLite connections opened (handshake done) and
/// closed one after the other, against one server kernel (one core).
pub(crate) fn handshake(args: &Args) -> Result<()> {
    let n: u64 = args.number("n", 1000)?;
    ensure!(n > 0, "--n must be positive");
    let (args, security) = Security::prepare(args)?;
    let server = ServerProcess::start(&args)?;
    let start = Instant::now();
    for _ in 0..n {
        lite_connect(server.port(), NATIVE, &security)?.disconnect();
    }
    let elapsed = start.elapsed();
    let mut poe = lite_connect(server.port(), NATIVE, &security)?;
    poe.post(bench_state("quit").as_str(), ())?;
    poe.disconnect();
    server.finish()?;
    println!(
        "handshake link={} n={n} secs={:.3} conns_per_sec={}",
        security.label(),
        elapsed.as_secs_f64(),
        per_sec(n, elapsed)
    );
    Ok(())
}
