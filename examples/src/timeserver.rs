//! The time-server pair (IKC's `timeserver` example): a server session
//! `timeserver` that clients subscribe to and that posts the time to every
//! listener at each pulse, and a client that subscribes, asks to be told,
//! prints a few ticks and leaves.
//!
//! The server publishes:
//!
//! - `connect` (ARG0: the specifier to post the time to, such as
//!   `poe://Client/me/tick`): start telling it;
//! - `disconnect` (ARG0: the same specifier): stop;
//! - `time`: returns the time now.
//!
//! A listener whose kernel goes away, or that no kernel can reach any
//! more, is dropped.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::rc::Rc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ikc_client::{Client, ClientConfig};
use ikc_core::{InlineStates, Kernel, SessionId, Spawner};
use ikc_freezer::Value;
use ikc_responder::{Ikc, MonitorOp, MonitorStates, Protocol};
use ikc_specifier::{PartName, specifier_part};

/// The alias (and published session) of the time server.
pub const TIMESERVER: &str = "timeserver";

/// The time of day in UTC, `HH:MM:SS UTC`.
pub fn clock() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    format!(
        "{:02}:{:02}:{:02} UTC",
        (secs / 3600) % 24,
        (secs / 60) % 60,
        secs % 60
    )
}

#[derive(Debug, Default)]
struct Pulse {
    /// Specifier -> the kernel it is on.
    listeners: BTreeMap<String, String>,
    interval: Duration,
    ticks: u64,
    quiet: bool,
}

impl Pulse {
    fn say(&self, what: &str) {
        if !self.quiet {
            println!("[timeserver] {what}");
        }
    }
}

/// Start the `timeserver` session: it pulses every `interval` and posts
/// `"tick N at HH:MM:SS UTC"` to each listener. It lets go of everything
/// when IKC shuts down. With `quiet` it prints nothing.
pub fn spawn_time_server(spawner: &mut impl Spawner, interval: Duration, quiet: bool) -> SessionId {
    let pulse = Pulse {
        interval,
        quiet,
        ..Pulse::default()
    };
    spawner.spawn_session(
        InlineStates::with_heap(pulse)
            .state("_start", |p, ctx, _| {
                ctx.alias_set(TIMESERVER).expect("the alias is free");
                let ikc = Ikc::require(ctx).expect("start the IKC server first");
                ikc.publish(TIMESERVER, &["connect", "disconnect", "time"]);
                ikc.monitor(
                    ctx,
                    "*",
                    &MonitorStates::new()
                        .on(MonitorOp::Unregister, "kernel_gone")
                        .on(MonitorOp::Shutdown, "shutdown"),
                );
                ctx.delay("pulse", p.interval, Vec::new());
            })
            .state("connect", |p, _, ev| {
                let spec = ev.args.first().map(Value::to_string).unwrap_or_default();
                match specifier_part(&spec, PartName::Kernel).filter(|k| !k.is_empty()) {
                    Some(kernel) => {
                        p.say(&format!("{spec} will be told the time"));
                        p.listeners.insert(spec, kernel);
                    }
                    None => p.say(&format!("ignored connect from {spec:?}: no kernel named")),
                }
            })
            .state("disconnect", |p, _, ev| {
                let spec = ev.args.first().map(Value::to_string).unwrap_or_default();
                if p.listeners.remove(&spec).is_some() {
                    p.say(&format!("{spec} disconnected"));
                }
            })
            .state("time", |p, _, _| {
                let now = clock();
                p.say(&format!("asked the time: {now}"));
                Value::from(now)
            })
            .state("kernel_gone", |p, _, ev| {
                // ARG1: a name of the kernel that went (told once per name).
                let name = ev.args.get(1).map(Value::to_string).unwrap_or_default();
                let before = p.listeners.len();
                p.listeners.retain(|_, kernel| *kernel != name);
                if p.listeners.len() < before {
                    p.say(&format!(
                        "kernel {name} went away: its listeners are dropped"
                    ));
                }
            })
            .state("pulse", |p, ctx, _| {
                ctx.delay("pulse", p.interval, Vec::new());
                if p.listeners.is_empty() {
                    return;
                }
                p.ticks += 1;
                let text = format!("tick {} at {}", p.ticks, clock());
                let Some(ikc) = Ikc::of(ctx) else { return };
                let mut lost = Vec::new();
                for spec in p.listeners.keys() {
                    if ikc.post(ctx, spec, text.as_str()) == 0 {
                        lost.push(spec.clone());
                    }
                }
                for spec in lost {
                    p.listeners.remove(&spec);
                    p.say(&format!("{spec} cannot be reached: dropped"));
                }
                p.say(&format!("{text} -> {} listener(s)", p.listeners.len()));
            })
            .state("shutdown", |p, ctx, _| {
                ctx.delay_clear("pulse");
                p.listeners.clear();
                let _ = ctx.alias_remove(TIMESERVER);
            }),
    )
}

/// Where a time client connects and what it does.
#[derive(Debug, Clone)]
pub struct TimeClientOptions {
    /// Server host.
    pub host: String,
    /// Server port.
    pub port: u16,
    /// A Unix socket path instead of host and port.
    pub unix: Option<PathBuf>,
    /// Our kernel's name.
    pub name: String,
    /// The time server kernel's name.
    pub server: String,
    /// How many ticks to wait for before leaving.
    pub ticks: usize,
    /// The handshake.
    pub protocol: Protocol,
    /// Give up after this long.
    pub timeout: Duration,
    /// Print nothing.
    pub quiet: bool,
}

#[derive(Debug, Default)]
struct Listener {
    options: Option<TimeClientOptions>,
    ticks: Vec<String>,
    asked: Option<String>,
    failure: Option<String>,
    done: bool,
}

impl Listener {
    fn opts(&self) -> &TimeClientOptions {
        self.options.as_ref().expect("options are set")
    }

    fn say(&self, what: &str) {
        if !self.opts().quiet {
            println!("[timeclient] {what}");
        }
    }

    fn proxy(&self) -> String {
        format!("poe://{}/{TIMESERVER}", self.opts().server)
    }

    fn me(&self) -> String {
        format!("poe://{}/me/tick", self.opts().name)
    }
}

/// What a time client got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeClientReport {
    /// The server's answer to `time`.
    pub time: String,
    /// The ticks received, in order.
    pub ticks: Vec<String>,
}

/// Connect, subscribe to the time server, ask it the time, listen to
/// `ticks` pulses, say goodbye and shut down.
///
/// # Errors
///
/// The connection or subscription failed, or the ticks did not come in time.
pub fn run_time_client(options: &TimeClientOptions) -> anyhow::Result<TimeClientReport> {
    let mut kernel = Kernel::new()?;
    let state = Rc::new(RefCell::new(Listener {
        options: Some(options.clone()),
        ..Listener::default()
    }));
    let shared = Rc::clone(&state);
    kernel.spawn(
        InlineStates::with_heap(shared)
            .state("_start", |l, ctx, _| {
                ctx.alias_set("me").expect("alias 'me' is free");
                let opts = l.borrow().opts().clone();
                let proxy = l.borrow().proxy();
                let me = ctx.session_id();
                let config = match &opts.unix {
                    Some(path) => ClientConfig::unix(path),
                    None => ClientConfig::tcp(opts.host.as_str(), opts.port),
                }
                .name(opts.name.as_str())
                .protocol(opts.protocol)
                // The proxy exists before on_connect runs.
                .subscribe([proxy])
                .on_connect(move |ctx| {
                    let _ = ctx.post(me, "connected", Vec::new());
                })
                .on_error(move |ctx, e| {
                    let _ = ctx.post(me, "failed", vec![Value::from(e.to_string())]);
                });
                if let Err(e) = Client::spawn(ctx, config) {
                    ctx.yield_("failed", vec![Value::from(e.to_string())]);
                    return;
                }
                let ikc = Ikc::of(ctx).expect("the client started the responder");
                // The server posts ticks here: publish the state.
                ikc.publish("me", &["tick"]);
                ikc.monitor(
                    ctx,
                    "*",
                    &MonitorStates::new()
                        .on(MonitorOp::Subscribe, "subscribed")
                        .on(MonitorOp::Error, "error")
                        .on(MonitorOp::Unregister, "server_gone"),
                );
                ctx.delay("timeout", opts.timeout, Vec::new());
            })
            .state("subscribed", |l, _, ev| {
                if ev.args.get(2).is_some_and(Value::as_bool) {
                    let proxy = l.borrow().proxy();
                    l.borrow()
                        .say(&format!("subscribed: {proxy} is a local proxy session"));
                }
            })
            .state("connected", |l, ctx, _| {
                let (proxy, me, server) = {
                    let l = l.borrow();
                    (l.proxy(), l.me(), l.opts().server.clone())
                };
                l.borrow()
                    .say(&format!("connected; asking {proxy} to tell {me} the time"));
                // Through the proxy, like posting to any local session.
                if let Err(e) = ctx.post(proxy.as_str(), "connect", vec![Value::from(me)]) {
                    ctx.yield_("failed", vec![Value::from(e.to_string())]);
                    return;
                }
                let ikc = Ikc::of(ctx).expect("responder");
                ikc.call(
                    ctx,
                    &format!("poe://{server}/{TIMESERVER}/time"),
                    (),
                    "time_is",
                );
            })
            .state("time_is", |l, _, ev| {
                let time = ev.args.first().map(Value::to_string).unwrap_or_default();
                l.borrow().say(&format!("the server says it is {time}"));
                l.borrow_mut().asked = Some(time);
            })
            .state("tick", |l, ctx, ev| {
                let text = ev.args.first().map(Value::to_string).unwrap_or_default();
                l.borrow().say(&format!("tick: {text}"));
                let enough = {
                    let mut l = l.borrow_mut();
                    l.ticks.push(text);
                    !l.done && l.ticks.len() >= l.opts().ticks
                };
                if enough {
                    let (proxy, me, n) = {
                        let l = l.borrow();
                        (l.proxy(), l.me(), l.ticks.len())
                    };
                    l.borrow().say(&format!("got {n} ticks: saying goodbye"));
                    let _ = ctx.post(proxy.as_str(), "disconnect", vec![Value::from(me)]);
                    finish(l, ctx);
                }
            })
            .state("error", |l, _, ev| {
                let op = ev.args.get(4).map(Value::to_string).unwrap_or_default();
                let msg = ev.args.get(5).map(Value::to_string).unwrap_or_default();
                if !op.starts_with("channel-") {
                    l.borrow().say(&format!("error {op}: {msg}"));
                }
            })
            .state("server_gone", |l, ctx, ev| {
                if ev.args.get(2).is_some_and(Value::as_bool) && !l.borrow().done {
                    let why = format!("the server {} went away", ev.args[1]);
                    l.borrow_mut().failure = Some(why);
                    finish(l, ctx);
                }
            })
            .state("failed", |l, ctx, ev| {
                let why = ev.args.first().map(Value::to_string).unwrap_or_default();
                l.borrow_mut().failure.get_or_insert(why);
                finish(l, ctx);
            })
            .state("timeout", |l, ctx, _| {
                let n = l.borrow().ticks.len();
                l.borrow_mut()
                    .failure
                    .get_or_insert_with(|| format!("only {n} ticks before the timeout"));
                finish(l, ctx);
            }),
    );
    kernel.run()?;
    let state = state.borrow();
    if let Some(why) = &state.failure {
        anyhow::bail!("{why}");
    }
    Ok(TimeClientReport {
        time: state.asked.clone().unwrap_or_default(),
        ticks: state.ticks.clone(),
    })
}

fn finish(l: &Rc<RefCell<Listener>>, ctx: &mut ikc_core::Ctx<'_>) {
    if std::mem::replace(&mut l.borrow_mut().done, true) {
        return;
    }
    ctx.delay_clear("timeout");
    let _ = ctx.alias_remove("me");
    if let Some(ikc) = Ikc::of(ctx) {
        ikc.shutdown(ctx);
    }
}
