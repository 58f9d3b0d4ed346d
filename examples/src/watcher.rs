//! The `monitor` example's logic: a client that watches a server come and
//! go. It connects with [`ClientConfig::reconnect`], so when the server
//! goes away it keeps trying (waiting longer each time) and connects again
//! when the server is back; a monitor of `*` prints every kernel that
//! registers and unregisters.

use std::cell::RefCell;
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::mpsc::Sender;
use std::time::Duration;

use ikc_client::{Client, ClientConfig, Reconnect};
use ikc_core::{InlineStates, Kernel, Signal};
use ikc_freezer::Value;
use ikc_responder::{Ikc, MonitorOp, MonitorStates, Protocol};

/// What the watcher saw, in order (also printed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WatchEvent {
    /// Connected (the n-th time, from 1).
    Connected(usize),
    /// A connection attempt failed; another will follow.
    Retrying(String),
    /// A kernel registered: its real ID.
    Registered(String),
    /// A kernel unregistered: its real ID.
    Unregistered(String),
    /// The server came back as often as asked: done.
    Done,
}

/// Where the watcher connects and when it stops.
#[derive(Debug, Clone)]
pub struct WatcherOptions {
    /// Server host.
    pub host: String,
    /// Server port.
    pub port: u16,
    /// A Unix socket path instead of host and port.
    pub unix: Option<PathBuf>,
    /// Our kernel's name.
    pub name: String,
    /// The handshake.
    pub protocol: Protocol,
    /// Stop after the server came back this many times (0: run until Ctrl-C).
    pub comebacks: usize,
    /// The first wait before reconnecting (it doubles up to 2 s).
    pub retry: Duration,
    /// Also send each event here (for tests).
    pub events: Option<Sender<WatchEvent>>,
}

#[derive(Debug)]
struct Watch {
    options: WatcherOptions,
    connections: usize,
    registrations: usize,
    done: bool,
}

impl Watch {
    fn tell(&self, event: WatchEvent) {
        let text = match &event {
            WatchEvent::Connected(n) => format!("connected (connection {n})"),
            WatchEvent::Retrying(why) => format!("{why}; trying again"),
            WatchEvent::Registered(id) => format!("kernel {id} registered"),
            WatchEvent::Unregistered(id) => format!("kernel {id} unregistered"),
            WatchEvent::Done => {
                let n = self.options.comebacks;
                format!("the server came back {n} time(s): done")
            }
        };
        println!("[monitor] {text}");
        if let Some(tx) = &self.options.events {
            let _ = tx.send(event);
        }
    }
}

/// Watch the server until it came back `comebacks` times (or Ctrl-C).
///
/// # Errors
///
/// The kernel or the client could not start.
pub fn run_watcher(options: WatcherOptions) -> anyhow::Result<()> {
    let mut kernel = Kernel::new()?;
    let watch = Rc::new(RefCell::new(Watch {
        options,
        connections: 0,
        registrations: 0,
        done: false,
    }));
    kernel.spawn(
        InlineStates::with_heap(watch)
            .state("_start", |w, ctx, _| {
                ctx.alias_set("watcher").expect("alias free");
                let _ = ctx.sig(Signal::Int, "signal");
                let _ = ctx.sig(Signal::Term, "signal");
                let opts = w.borrow().options.clone();
                let me = ctx.session_id();
                let mut reconnect = Reconnect::default();
                reconnect.initial = opts.retry;
                reconnect.max = Duration::from_secs(2);
                let config = match &opts.unix {
                    Some(path) => ClientConfig::unix(path),
                    None => ClientConfig::tcp(opts.host.as_str(), opts.port),
                }
                .name(opts.name.as_str())
                .protocol(opts.protocol)
                .reconnect(reconnect)
                .on_connect(move |ctx| {
                    let _ = ctx.post(me, "connected", Vec::new());
                })
                .on_error(move |ctx, e| {
                    let _ = ctx.post(me, "retrying", vec![Value::from(e.to_string())]);
                });
                Client::spawn(ctx, config).expect("the client's settings are valid");
                Ikc::of(ctx).expect("the client started IKC").monitor(
                    ctx,
                    "*",
                    &MonitorStates::new()
                        .on(MonitorOp::Register, "registered")
                        .on(MonitorOp::Unregister, "unregistered"),
                );
            })
            .state("connected", |w, _, _| {
                let n = {
                    let mut w = w.borrow_mut();
                    w.connections += 1;
                    w.connections
                };
                w.borrow().tell(WatchEvent::Connected(n));
            })
            .state("retrying", |w, _, ev| {
                let why = ev.args.first().map(Value::to_string).unwrap_or_default();
                w.borrow().tell(WatchEvent::Retrying(why));
            })
            .state("registered", |w, ctx, ev| {
                // A monitor of `*` hears once per name: ARG2 marks the real ID.
                if !ev.args.get(2).is_some_and(Value::as_bool) {
                    return;
                }
                w.borrow()
                    .tell(WatchEvent::Registered(ev.args[1].to_string()));
                let comebacks = {
                    let mut w = w.borrow_mut();
                    w.registrations += 1;
                    w.registrations - 1
                };
                let wanted = w.borrow().options.comebacks;
                if wanted > 0 && comebacks >= wanted {
                    w.borrow().tell(WatchEvent::Done);
                    stop(w, ctx);
                }
            })
            .state("unregistered", |w, _, ev| {
                if ev.args.get(2).is_some_and(Value::as_bool) {
                    w.borrow()
                        .tell(WatchEvent::Unregistered(ev.args[1].to_string()));
                }
            })
            .state("signal", |w, ctx, _| {
                println!("[monitor] interrupted: shutting down");
                ctx.sig_handled();
                stop(w, ctx);
            }),
    );
    kernel.run()?;
    Ok(())
}

fn stop(w: &Rc<RefCell<Watch>>, ctx: &mut ikc_core::Ctx<'_>) {
    if std::mem::replace(&mut w.borrow_mut().done, true) {
        return;
    }
    let _ = ctx.sig_remove(Signal::Int);
    let _ = ctx.sig_remove(Signal::Term);
    let _ = ctx.alias_remove("watcher");
    if let Some(ikc) = Ikc::of(ctx) {
        ikc.shutdown(ctx);
    }
}
