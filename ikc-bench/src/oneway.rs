//! `oneway`: a client kernel posts N payloads to `bench/sink`, then calls
//! `bench/done`, which answers the count. Posts go out in batches of
//! `--batch` per handler (so each loop turn writes one batch); after each
//! batch a call to `bench/ack` is sent, and at most `--window` of them may
//! be unanswered, which bounds what waits in the socket.

use std::cell::RefCell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use anyhow::{Result, bail, ensure};
use ikc_client::{Client, ClientConfig};
use ikc_core::{Ctx, Event, InlineStates, Kernel, Session};
use ikc_freezer::Value;
use ikc_responder::{Ikc, MonitorOp, MonitorStates};

use crate::args::Args;
use crate::link::Link;
use crate::security::Security;
use crate::stats::per_sec;
use crate::{SERVER_NAME, SESSION, codec_name, payload};

/// What a client-kernel scenario reports back to `main`.
pub(crate) type Outcome<T> = Rc<RefCell<Option<Result<T, String>>>>;

/// Run `session` in a client kernel that reaches the server over `link`
/// with `codec`; the session is posted `go` once the server's kernel is
/// reachable and must put its result in `outcome` and shut IKC down.
pub(crate) fn run_client_kernel<S: Session, T: 'static>(
    link: &Link,
    codec: &str,
    security: &Security,
    session: impl FnOnce(Outcome<T>) -> S,
) -> Result<T> {
    let outcome: Outcome<T> = Rc::new(RefCell::new(None));
    let mut kernel = Kernel::new()?;
    let driver = kernel.spawn(session(Rc::clone(&outcome)));
    let port = match link {
        Link::Direct(port) => *port,
        Link::Relayed(port) => {
            // Go once the server's kernel is reachable (its records have
            // come through the mesh), not when our own link is up.
            go_when_registered(&mut kernel, driver);
            *port
        }
        Link::Nats(url) => {
            ikc_nats::attach(
                &mut kernel,
                ikc_nats::NatsConfig::new(url)
                    .name("BenchClient")
                    .freezer(codec),
            )?;
            // Go once the server's kernel has registered through the bus.
            go_when_registered(&mut kernel, driver);
            kernel.run()?;
            return take_outcome(&outcome);
        }
    };
    let failed = Rc::clone(&outcome);
    let direct = matches!(link, Link::Direct(_));
    let config = security
        .client(ClientConfig::tcp("127.0.0.1", port))
        .name("BenchClient")
        .freezers([codec])
        .on_connect(move |ctx| {
            if direct {
                let _ = ctx.post(driver, "go", Vec::new());
            }
        })
        .on_error(move |ctx, e| {
            *failed.borrow_mut() = Some(Err(format!("connection: {e}")));
            if let Some(ikc) = Ikc::of(ctx) {
                ikc.shutdown(ctx);
            }
        });
    Client::spawn(&mut kernel, config)?;
    kernel.run()?;
    take_outcome(&outcome)
}

/// Post `go` to `driver` once the server's kernel registers (through a
/// relay or the bus).
fn go_when_registered(kernel: &mut Kernel, driver: ikc_core::SessionId) {
    kernel.spawn(
        InlineStates::new()
            .state("_start", |_, ctx, _| {
                ctx.alias_set("bench waiter").expect("the alias is free");
                let states = MonitorStates::new()
                    .on(MonitorOp::Register, "up")
                    .on(MonitorOp::Shutdown, "down");
                ikc_responder::Responder::spawn(ctx).monitor(ctx, SERVER_NAME, &states);
            })
            .state("up", move |_, ctx, _| {
                let _ = ctx.post(driver, "go", Vec::new());
                if let Some(ikc) = Ikc::of(ctx) {
                    ikc.monitor(ctx, SERVER_NAME, &MonitorStates::new());
                }
                let _ = ctx.alias_remove("bench waiter");
            })
            .state("down", |_, ctx, _| {
                let _ = ctx.alias_remove("bench waiter");
            }),
    );
}

fn take_outcome<T>(outcome: &Outcome<T>) -> Result<T> {
    let result = outcome.borrow_mut().take();
    match result {
        Some(Ok(t)) => Ok(t),
        Some(Err(e)) => bail!("{e}"),
        None => bail!("the client kernel stopped without a result"),
    }
}

/// The specifier of a state of the server's `bench` session.
pub(crate) fn bench_state(state: &str) -> String {
    format!("poe://{SERVER_NAME}/{SESSION}/{state}")
}

/// Tell the server to exit and shut our IKC down (queued messages are
/// written first).
pub(crate) fn quit_and_shutdown(ctx: &mut Ctx<'_>) {
    if let Some(ikc) = Ikc::of(ctx) {
        ikc.post(ctx, &bench_state("quit"), ());
        ikc.shutdown(ctx);
    }
}

struct OneWay {
    n: u64,
    batch: u64,
    window: u64,
    sink: String,
    ack: String,
    sent: u64,
    unanswered: u64,
    done_asked: bool,
    start: Option<Instant>,
    outcome: Outcome<(Duration, Value)>,
}

impl OneWay {
    /// Send the next batch if the window allows, then come back for more.
    fn pump(&mut self, ctx: &mut Ctx<'_>) {
        let Some(ikc) = Ikc::of(ctx) else { return };
        if self.sent == self.n {
            if !std::mem::replace(&mut self.done_asked, true) {
                ikc.call(ctx, &bench_state("done"), (), "finished");
            }
            return;
        }
        if self.unanswered >= self.window {
            return; // `acked` resumes
        }
        let end = (self.sent + self.batch).min(self.n);
        for seq in self.sent..end {
            ikc.post(ctx, &self.sink, payload(seq));
        }
        self.sent = end;
        if self.sent < self.n {
            ikc.call(ctx, &self.ack, (), "acked");
            self.unanswered += 1;
        }
        ctx.yield_("more", Vec::new());
    }
}

impl Session for OneWay {
    fn handle(&mut self, ctx: &mut Ctx<'_>, mut event: Event) -> Value {
        match event.state() {
            "_start" => {
                ctx.alias_set("driver").expect("the alias is free");
            }
            "go" => {
                self.start = Some(Instant::now());
                self.pump(ctx);
            }
            "more" => self.pump(ctx),
            "acked" => {
                self.unanswered -= 1;
                self.pump(ctx);
            }
            "finished" => {
                let elapsed = self.start.map(|s| s.elapsed()).unwrap_or_default();
                let answer = event.args.drain(..).next().unwrap_or_default();
                *self.outcome.borrow_mut() = Some(Ok((elapsed, answer)));
                let _ = ctx.alias_remove("driver");
                quit_and_shutdown(ctx);
            }
            _ => {}
        }
        Value::Undef
    }
}

/// Returns the messages per second.
pub(crate) fn run(args: &Args) -> Result<u64> {
    measure(args, None)
}

/// The `nats` scenario's one-way figure: the server attached to the bus at
/// `url`, the client over it, through a relay kernel or over a direct link (`via`). Returns
/// the messages per second.
pub(crate) fn run_over(args: &Args, url: &str, via: crate::nats::Via) -> Result<u64> {
    measure(args, Some((url, via)))
}

fn measure(args: &Args, nats: Option<(&str, crate::nats::Via)>) -> Result<u64> {
    let codec = args.get_or("codec", "native");
    let (args, security) = Security::prepare(args)?;
    let (server, relay, link) = crate::nats::start(&args, codec, nats)?;
    let (fields, rate) = measure_over(&args, &link, &security)?;
    server.finish()?;
    drop(relay);
    let scenario = match nats {
        Some(_) => format!("nats-oneway via={}", link.label()),
        None => "oneway".to_owned(),
    };
    println!("{scenario} {fields}");
    Ok(rate)
}

/// The one-way scenario against a server reached over `link`: its figures
/// (`codec=... link=... n=... secs=... msgs_per_sec=...`) and the rate.
pub(crate) fn measure_over(args: &Args, link: &Link, security: &Security) -> Result<(String, u64)> {
    let codec = args.get_or("codec", "native");
    let name = codec_name(codec)?;
    let n: u64 = args.number("n", 2_000_000)?;
    let batch: u64 = args.number("batch", 1000)?;
    let window: u64 = args.number("window", 4)?;
    ensure!(
        n > 0 && batch > 0 && window > 0,
        "--n, --batch and --window must be positive"
    );
    let (elapsed, answer) = run_client_kernel(link, name, security, |outcome| OneWay {
        n,
        batch,
        window,
        sink: bench_state("sink"),
        ack: bench_state("ack"),
        sent: 0,
        unanswered: 0,
        done_asked: false,
        start: None,
        outcome,
    })?;
    let count = answer["count"].as_u64();
    let misordered = answer["misordered"].as_u64();
    ensure!(
        count == Some(n),
        "the server counted {answer} posts, {n} were sent"
    );
    ensure!(
        misordered == Some(0),
        "the server saw {answer}: posts out of order"
    );
    let rate = per_sec(n, elapsed);
    let fields = format!(
        "codec={codec} link={} n={n} secs={:.3} msgs_per_sec={rate}",
        security.label(),
        elapsed.as_secs_f64(),
    );
    Ok((fields, rate))
}
