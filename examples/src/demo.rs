//! The client's walk through IKC against a server publishing `test`:
//! post, call with an RSVP, a post to an unpublished state (the server's
//! `remote_error` reaches our error monitor), subscribe, and a post
//! through the proxy session. Each step prints what happened.

use std::cell::RefCell;
use std::path::PathBuf;
use std::rc::Rc;
use std::time::Duration;

use ikc_client::{Client, ClientConfig};
use ikc_core::{Ctx, InlineStates, Kernel};
use ikc_freezer::{Hash, Value};
use ikc_responder::{Ikc, MonitorOp, MonitorStates, Protocol};

/// Where the client connects and what it calls itself.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// Server host.
    pub host: String,
    /// Server port.
    pub port: u16,
    /// A Unix socket path instead of host and port.
    pub unix: Option<PathBuf>,
    /// Our kernel's name.
    pub name: String,
    /// The server kernel's name (or alias) to address.
    pub server: String,
    /// Freezers to offer (default: native, Storable, Dumper).
    pub freezers: Option<Vec<String>>,
    /// Handshake protocol.
    pub protocol: Protocol,
    /// Give up on the steps not done after this long.
    pub timeout: Duration,
}

/// The steps, in order.
const STEPS: [&str; 7] = [
    "connect",
    "post",
    "call",
    "call-echo",
    "remote_error",
    "subscribe",
    "proxy",
];

/// The nested value `echo` sends back, as Perl's `lite.pl` builds it:
/// `{a => [1, 'two', "x\x{263A}y", undef], b => \'s', c => -7, d => {e => []}}`
/// (Perl's plain literals are byte strings; the wide one is text).
pub fn nested_value() -> Value {
    let mut d = Hash::new();
    d.insert("e", Value::Array(Vec::new()));
    let mut h = Hash::new();
    h.insert(
        "a",
        Value::Array(vec![
            Value::Int(1),
            Value::bytes("two"),
            Value::from("x\u{263A}y"),
            Value::Undef,
        ]),
    );
    h.insert("b", Value::reference(Value::bytes("s")));
    h.insert("c", -7);
    h.insert("d", d);
    Value::Hash(h)
}

/// Are two values the same to Perl? A string is a string whether or not
/// it carries the UTF-8 flag (Perl hands back some as bytes), numbers
/// compare as numbers, and hashes compare without order.
pub fn perl_equivalent(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(x, y)| perl_equivalent(x, y))
        }
        (Value::Hash(x), Value::Hash(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get_key(k).is_some_and(|w| perl_equivalent(v, w)))
        }
        (Value::Ref(x), Value::Ref(y)) => perl_equivalent(x, y),
        (Value::Blessed(x), Value::Blessed(y)) => {
            x.class == y.class && perl_equivalent(&x.value, &y.value)
        }
        (Value::Undef, Value::Undef) => true,
        (Value::Undef, _) | (_, Value::Undef) => false,
        _ => match (a.as_bytes(), b.as_bytes()) {
            (Some(x), Some(y)) => x == y,
            _ => a.to_string() == b.to_string(),
        },
    }
}

#[derive(Debug, Default)]
struct Walk {
    server: String,
    name: String,
    done: Vec<&'static str>,
    failed: Vec<String>,
    finished: bool,
}

impl Walk {
    fn ok(&mut self, ctx: &mut Ctx<'_>, step: &'static str, what: &str) {
        println!("[client] {step:<12} ok: {what}");
        if !self.done.contains(&step) {
            self.done.push(step);
        }
        if self.done.len() == STEPS.len() {
            println!("[client] all {} steps worked", STEPS.len());
            self.finish(ctx);
        }
    }

    fn fail(&mut self, ctx: &mut Ctx<'_>, step: &str, what: &str) {
        println!("[client] {step:<12} FAILED: {what}");
        self.failed.push(format!("{step}: {what}"));
        self.finish(ctx);
    }

    fn finish(&mut self, ctx: &mut Ctx<'_>) {
        if std::mem::replace(&mut self.finished, true) {
            return;
        }
        ctx.delay_clear("timeout");
        let _ = ctx.alias_remove("me");
        if let Some(ikc) = Ikc::of(ctx) {
            ikc.shutdown(ctx);
        }
    }

    fn spec(&self, state: &str) -> String {
        format!("poe://{}/test/{state}", self.server)
    }
}

/// Run the walk; `Ok` when every step worked.
///
/// # Errors
///
/// The steps that failed or never finished.
pub fn run_client(options: &ClientOptions) -> anyhow::Result<()> {
    let mut kernel = Kernel::new()?;
    let walk = Rc::new(RefCell::new(Walk {
        server: options.server.clone(),
        name: options.name.clone(),
        ..Walk::default()
    }));
    let opts = options.clone();
    let w = Rc::clone(&walk);
    kernel.spawn(
        InlineStates::with_heap(w)
            .state("_start", move |_, ctx, _| {
                ctx.alias_set("me").expect("alias 'me' is free");
                let mut config = match &opts.unix {
                    Some(path) => ClientConfig::unix(path),
                    None => ClientConfig::tcp(opts.host.as_str(), opts.port),
                }
                .name(opts.name.as_str())
                .protocol(opts.protocol);
                if let Some(s) = &opts.freezers {
                    config = config.freezers(s.iter().cloned());
                }
                let me = ctx.session_id();
                config = config
                    .on_connect(move |ctx| {
                        let _ = ctx.post(me, "go", Vec::new());
                    })
                    .on_error(move |ctx, e| {
                        let _ = ctx.post(me, "connect_error", vec![Value::from(e.to_string())]);
                    });
                if let Err(e) = Client::spawn(ctx, config) {
                    ctx.yield_("connect_error", vec![Value::from(e.to_string())]);
                    return;
                }
                let ikc = Ikc::of(ctx).expect("the client started the responder");
                // Publishing lets the server answer us, and makes us its proxy SENDER.
                ikc.publish("me", &["got_add1"]);
                ikc.monitor(
                    ctx,
                    "*",
                    &MonitorStates::new()
                        .on(MonitorOp::Register, "registered")
                        .on(MonitorOp::Error, "monitor_error"),
                );
                ctx.delay("timeout", opts.timeout, Vec::new());
            })
            .state("connect_error", |w, ctx, ev| {
                let why = ev.args.first().map(Value::to_string).unwrap_or_default();
                w.borrow_mut().fail(ctx, "connect", &why);
            })
            .state("registered", |_, _, ev| {
                if ev.args.get(2).is_some_and(Value::as_bool) {
                    println!("[client] server kernel {} registered", ev.args[1]);
                }
            })
            .state("go", |w, ctx, _| {
                let ikc = Ikc::of(ctx).expect("responder");
                let (here, fetch, echo, nothere, server) = {
                    let w = w.borrow();
                    (
                        w.spec("here"),
                        w.spec("fetchQ"),
                        w.spec("echo"),
                        w.spec("nothere"),
                        w.server.clone(),
                    )
                };
                w.borrow_mut()
                    .ok(ctx, "connect", &format!("connected to {server}"));
                let n = ikc.post(ctx, &here, "hello from Rust");
                if n == 1 {
                    w.borrow_mut().ok(
                        ctx,
                        "post",
                        &format!("{here} \"hello from Rust\" (sent to {n} kernel)"),
                    );
                } else {
                    w.borrow_mut()
                        .fail(ctx, "post", &format!("{here} reached {n} kernels"));
                }
                ikc.call(ctx, &fetch, (), "got_fetchq");
                ikc.call(ctx, &echo, nested_value(), "got_echo");
                ikc.post(ctx, &nothere, 1);
                let _ = ikc.subscribe(ctx, &[format!("poe://{server}/test")], Some("subscribed"));
            })
            .state("got_fetchq", |w, ctx, ev| {
                let v = ev.args.first().cloned().unwrap_or_default();
                if v.as_i64() == Some(42) {
                    w.borrow_mut().ok(ctx, "call", "test/fetchQ answered 42");
                } else {
                    w.borrow_mut()
                        .fail(ctx, "call", &format!("test/fetchQ answered {v}"));
                }
            })
            .state("got_echo", |w, ctx, ev| {
                let v = ev.args.first().cloned().unwrap_or_default();
                if perl_equivalent(&v, &nested_value()) {
                    w.borrow_mut()
                        .ok(ctx, "call-echo", &format!("test/echo returned {v}"));
                } else {
                    w.borrow_mut()
                        .fail(ctx, "call-echo", &format!("test/echo returned {v}"));
                }
            })
            .state("monitor_error", |w, ctx, ev| {
                // ARG4: the operation; ARG5: the message.
                let op = ev.args.get(4).map(Value::to_string).unwrap_or_default();
                let msg = ev.args.get(5).map(Value::to_string).unwrap_or_default();
                if op == "remote-check" && msg.contains("nothere") {
                    w.borrow_mut().ok(
                        ctx,
                        "remote_error",
                        &format!("the server refused test/nothere: {msg}"),
                    );
                } else {
                    println!("[client] error {op}: {msg}");
                }
            })
            .state("subscribed", |w, ctx, ev| {
                let list = ev.args.first().cloned().unwrap_or_default();
                let (server, name) = {
                    let w = w.borrow();
                    (w.server.clone(), w.name.clone())
                };
                let spec = format!("poe://{server}/test");
                let got: Vec<String> = list
                    .as_array()
                    .unwrap_or(&[])
                    .iter()
                    .map(Value::to_string)
                    .collect();
                if !got.contains(&spec) {
                    w.borrow_mut().fail(
                        ctx,
                        "subscribe",
                        &format!("subscribed to {got:?}, not {spec}"),
                    );
                    return;
                }
                w.borrow_mut().ok(
                    ctx,
                    "subscribe",
                    &format!("a proxy session now stands for {spec}"),
                );
                // Post through the proxy like any local session: add_1 answers at our RSVP.
                let mut rsvp = Hash::new();
                rsvp.insert("kernel", name.as_str());
                rsvp.insert("session", "me");
                rsvp.insert("state", "got_add1");
                let arg = Value::Array(vec![Value::from(41), Value::Hash(rsvp)]);
                if let Err(e) = ctx.post(spec.as_str(), "add_1", vec![arg]) {
                    w.borrow_mut().fail(ctx, "proxy", &e.to_string());
                }
            })
            .state("got_add1", |w, ctx, ev| {
                let v = ev.args.first().cloned().unwrap_or_default();
                if v.as_i64() == Some(42) {
                    w.borrow_mut()
                        .ok(ctx, "proxy", "add_1 posted through the proxy answered 42");
                } else {
                    w.borrow_mut()
                        .fail(ctx, "proxy", &format!("add_1 answered {v}"));
                }
            })
            .state("timeout", |w, ctx, _| {
                let missing: Vec<&str> = {
                    let w = w.borrow();
                    STEPS
                        .iter()
                        .copied()
                        .filter(|s| !w.done.contains(s))
                        .collect()
                };
                w.borrow_mut().fail(
                    ctx,
                    "timeout",
                    &format!("no answer for: {}", missing.join(", ")),
                );
            }),
    );
    kernel.run()?;
    let walk = walk.borrow();
    if walk.failed.is_empty() && walk.done.len() == STEPS.len() {
        Ok(())
    } else {
        anyhow::bail!("{}", walk.failed.join("; "))
    }
}
