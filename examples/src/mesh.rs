//! Kernels of a mesh, each on its own thread, for the `mesh` example and
//! the mesh tests: every [`Node`] is a kernel with a server on
//! `127.0.0.1:0`, a session `node` that publishes `hello` and `echo`, and a
//! driver the program steers through a [`KernelHandle`] (connect to
//! another node, post, call, cut a link, shut down). What happens comes
//! back on one channel as [`MeshEvent`]s.

use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, channel};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use ikc_client::{Client, ClientConfig};
use ikc_core::{InlineStates, Kernel, KernelHandle};
use ikc_freezer::Value;
use ikc_responder::{Ikc, MonitorOp, MonitorStates};
use ikc_server::{Server, ServerConfig};

/// Something a node saw.
#[derive(Debug, Clone, PartialEq)]
pub struct MeshEvent {
    /// The node's name.
    pub node: String,
    /// What happened: `hello` (its `node/hello` state ran), `answer` (a
    /// call's answer, or a reply to its sender, came back), `subscribed`
    /// (args: the specifiers subscribed to), `register`/`unregister` (a kernel came or
    /// went: args `[kernel ID, "direct"|"routed"]`), `route` (the route to
    /// a kernel is new or changed: args `[kernel ID, neighbour ID, hops]`), `error` (args
    /// `[operation, message]`), `linked` (a client link is up), `posted`
    /// (args `[number of kernels]`).
    pub what: String,
    /// The values that go with it.
    pub args: Vec<Value>,
}

impl MeshEvent {
    /// Argument `n` as text.
    pub fn text(&self, n: usize) -> String {
        self.args.get(n).map(Value::to_string).unwrap_or_default()
    }
}

/// One kernel of the mesh, on its own thread.
#[derive(Debug)]
pub struct Node {
    /// Its name (the server's and clients' `name`).
    pub name: String,
    /// Its kernel ID.
    pub kernel_id: String,
    /// The port its server listens on.
    pub port: u16,
    /// A handle to its kernel.
    pub handle: KernelHandle,
    thread: Option<JoinHandle<()>>,
}

/// Where the nodes of one program report.
#[derive(Debug)]
pub struct Events {
    tx: Sender<MeshEvent>,
    rx: Receiver<MeshEvent>,
    seen: Vec<MeshEvent>,
}

impl Default for Events {
    fn default() -> Self {
        Self::new()
    }
}

impl Events {
    /// A new channel of events.
    pub fn new() -> Self {
        let (tx, rx) = channel();
        Self {
            tx,
            rx,
            seen: Vec::new(),
        }
    }

    /// Wait up to `within` for an event `pred` accepts (taking it).
    ///
    /// # Errors
    ///
    /// None came in time: the error lists what was seen.
    pub fn wait(
        &mut self,
        within: Duration,
        pred: impl Fn(&MeshEvent) -> bool,
    ) -> anyhow::Result<MeshEvent> {
        if let Some(i) = self.seen.iter().position(&pred) {
            return Ok(self.seen.remove(i));
        }
        let deadline = Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.rx.recv_timeout(left) {
                Ok(ev) if pred(&ev) => return Ok(ev),
                Ok(ev) => self.seen.push(ev),
                Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => {
                    anyhow::bail!(
                        "waited {within:?} in vain; seen: {:?}",
                        self.seen
                            .iter()
                            .map(|e| format!("{}:{}{:?}", e.node, e.what, e.args))
                            .collect::<Vec<_>>()
                    )
                }
            }
        }
    }

    /// Wait for `n` events `pred` accepts.
    ///
    /// # Errors
    ///
    /// They did not all come within `within`.
    pub fn wait_n(
        &mut self,
        n: usize,
        within: Duration,
        pred: impl Fn(&MeshEvent) -> bool,
    ) -> anyhow::Result<Vec<MeshEvent>> {
        let deadline = Instant::now() + within;
        let mut got = Vec::with_capacity(n);
        while got.len() < n {
            let left = deadline.saturating_duration_since(Instant::now());
            got.push(
                self.wait(left, &pred)
                    .with_context(|| format!("{} of {n}", got.len()))?,
            );
        }
        Ok(got)
    }

    /// Wait until `node` has seen each kernel of `ids` register (directly
    /// or through the mesh).
    ///
    /// # Errors
    ///
    /// Not all within `within`.
    pub fn wait_registered(
        &mut self,
        node: &str,
        ids: &[String],
        within: Duration,
    ) -> anyhow::Result<()> {
        let deadline = Instant::now() + within;
        let mut missing: Vec<&String> = ids.iter().collect();
        while !missing.is_empty() {
            let left = deadline.saturating_duration_since(Instant::now());
            let ev = self
                .wait(left, |e| e.node == node && e.what == "register")
                .with_context(|| format!("{node} still misses {missing:?}"))?;
            missing.retain(|id| **id != ev.text(0));
        }
        Ok(())
    }

    /// Take every event already received that `pred` accepts, without
    /// waiting.
    pub fn drain(&mut self, pred: impl Fn(&MeshEvent) -> bool) -> Vec<MeshEvent> {
        while let Ok(ev) = self.rx.try_recv() {
            self.seen.push(ev);
        }
        let (taken, kept) = std::mem::take(&mut self.seen).into_iter().partition(pred);
        self.seen = kept;
        taken
    }

    /// The sending end, for a node.
    pub fn sender(&self) -> Sender<MeshEvent> {
        self.tx.clone()
    }
}

impl Node {
    /// Start a kernel named `name` on a thread, with its server, its
    /// `node` session and its driver; it reports to `events`.
    ///
    /// # Errors
    ///
    /// The kernel or its server could not start.
    pub fn start(name: &str, events: &Events) -> anyhow::Result<Self> {
        let tx = events.sender();
        let (ready_tx, ready_rx) = channel();
        let label = name.to_owned();
        let thread = std::thread::Builder::new()
            .name(format!("mesh-{name}"))
            .spawn(move || {
                let started = (|| -> anyhow::Result<Kernel> {
                    let mut kernel = Kernel::new()?;
                    let listening = Server::spawn(
                        &mut kernel,
                        ServerConfig::tcp("127.0.0.1", 0).name(label.as_str()),
                    )?;
                    let port = listening.port().context("a TCP port")?;
                    spawn_sessions(&mut kernel, &label, tx);
                    ready_tx
                        .send(Ok((port, kernel.id().to_owned(), kernel.handle())))
                        .ok();
                    Ok(kernel)
                })();
                match started {
                    Ok(mut kernel) => {
                        if let Err(e) = kernel.run() {
                            log::error!("kernel {label}: {e}");
                        }
                    }
                    Err(e) => {
                        ready_tx.send(Err(e)).ok();
                    }
                }
            })?;
        let (port, kernel_id, handle) = ready_rx
            .recv()
            .context("the node's thread died while starting")??;
        Ok(Self {
            name: name.to_owned(),
            kernel_id,
            port,
            handle,
            thread: Some(thread),
        })
    }

    /// Dial the node listening on `port` (a client link from this node).
    ///
    /// # Errors
    ///
    /// The kernel is gone.
    pub fn connect(&self, port: u16) -> anyhow::Result<()> {
        self.ask("connect", vec![Value::from(i64::from(port))])
    }

    /// Dial the node listening on `port`, fixing the link's routing
    /// weight (`ClientConfig::link_weight`).
    ///
    /// # Errors
    ///
    /// The kernel is gone.
    pub fn connect_weighted(&self, port: u16, weight: u32) -> anyhow::Result<()> {
        self.ask(
            "connect",
            vec![Value::from(i64::from(port)), Value::from(i64::from(weight))],
        )
    }

    /// Set this node's hop limit (`Ikc::configure_mesh`): how many kernels
    /// a message may pass through before it is refused.
    ///
    /// # Errors
    ///
    /// The kernel is gone, or the router refused (a link is up already, or
    /// the limit is 0).
    pub fn set_hop_limit(&self, limit: u32) -> anyhow::Result<()> {
        let v = self
            .handle
            .call("driver", "hop_limit", vec![Value::from(i64::from(limit))])
            .map_err(|e| anyhow::anyhow!("node {}: {e:?}", self.name))?;
        match v.as_str() {
            Some(refused) => anyhow::bail!("node {}: {refused}", self.name),
            None => Ok(()),
        }
    }

    /// The route this node's mesh router takes to `kernel` (an ID): the
    /// ID of the neighbour it leaves through and the number of links;
    /// `None` while the kernel is unreachable.
    ///
    /// # Errors
    ///
    /// The kernel is gone.
    pub fn route(&self, kernel: &str) -> anyhow::Result<Option<(String, u32)>> {
        let v = self
            .handle
            .call("driver", "route", vec![Value::from(kernel)])
            .map_err(|e| anyhow::anyhow!("node {}: {e:?}", self.name))?;
        let Some([via, hops]) = v.as_array() else {
            return Ok(None);
        };
        let hops = hops
            .as_i64()
            .and_then(|h| u32::try_from(h).ok())
            .unwrap_or(0);
        Ok(Some((via.to_string(), hops)))
    }

    /// Post `arg` to `spec` through IKC (`IKC/post`): reports `posted`.
    ///
    /// # Errors
    ///
    /// The kernel is gone.
    pub fn post(&self, spec: &str, arg: impl Into<Value>) -> anyhow::Result<()> {
        self.ask("post", vec![Value::from(spec), arg.into()])
    }

    /// Post `arg` to `spec` straight from a session, through the kernel
    /// (`ctx.post_to`, Lightspeed's kernel interface).
    ///
    /// # Errors
    ///
    /// The kernel is gone.
    pub fn post_to(&self, spec: &str, arg: impl Into<Value>) -> anyhow::Result<()> {
        self.ask("post_to", vec![Value::from(spec), arg.into()])
    }

    /// Call `spec` with `arg`: its answer comes back as `answer`.
    ///
    /// # Errors
    ///
    /// The kernel is gone.
    pub fn call(&self, spec: &str, arg: impl Into<Value>) -> anyhow::Result<()> {
        self.ask("call", vec![Value::from(spec), arg.into()])
    }

    /// Subscribe to the remote session `spec` (`poe://kernel/session`):
    /// reports `subscribed` with the specifiers that succeeded. Posts to
    /// the local proxy go with [`post_local`](Self::post_local).
    ///
    /// # Errors
    ///
    /// The kernel is gone.
    pub fn subscribe(&self, spec: &str) -> anyhow::Result<()> {
        self.ask("subscribe", vec![Value::from(spec)])
    }

    /// Post `arg` to `state` of the local session aliased `session` (a
    /// subscription's proxy, `poe://kernel/session`), from the driver.
    ///
    /// # Errors
    ///
    /// The kernel is gone.
    pub fn post_local(
        &self,
        session: &str,
        state: &str,
        arg: impl Into<Value>,
    ) -> anyhow::Result<()> {
        self.ask(
            "post_local",
            vec![Value::from(session), Value::from(state), arg.into()],
        )
    }

    /// Close this node's channel to the kernel `peer` (by name or ID).
    ///
    /// # Errors
    ///
    /// The kernel is gone.
    pub fn cut(&self, peer: &str) -> anyhow::Result<()> {
        self.ask("cut", vec![Value::from(peer)])
    }

    fn ask(&self, state: &str, args: Vec<Value>) -> anyhow::Result<()> {
        self.handle
            .post("driver", state.to_owned(), args)
            .map_err(|e| anyhow::anyhow!("node {}: {e:?}", self.name))
    }

    /// How many routing control messages this node has sent.
    ///
    /// # Errors
    ///
    /// The kernel is gone.
    pub fn control_sent(&self) -> anyhow::Result<u64> {
        let v = self
            .handle
            .call("driver", "stats", Vec::new())
            .map_err(|e| anyhow::anyhow!("node {}: {e:?}", self.name))?;
        Ok(v.as_u64().unwrap_or(0))
    }

    /// Shut IKC down in this node and wait for its kernel to end.
    ///
    /// # Errors
    ///
    /// Its thread panicked.
    pub fn stop(mut self) -> anyhow::Result<()> {
        self.stop_inner()
    }

    fn stop_inner(&mut self) -> anyhow::Result<()> {
        let Some(thread) = self.thread.take() else {
            return Ok(());
        };
        let _ = self.handle.post("driver", "shutdown", Vec::new());
        thread
            .join()
            .map_err(|_| anyhow::anyhow!("node {} panicked", self.name))
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.stop_inner();
    }
}

fn spawn_sessions(kernel: &mut Kernel, name: &str, tx: Sender<MeshEvent>) {
    let report = {
        let name = name.to_owned();
        move |what: &str, args: Vec<Value>| {
            let _ = tx.send(MeshEvent {
                node: name.clone(),
                what: what.to_owned(),
                args,
            });
        }
    };
    let r = report.clone();
    let r2 = report.clone();
    kernel.spawn(
        InlineStates::new()
            .state("_start", |_, ctx, _| {
                ctx.alias_set("node").expect("alias node");
                Ikc::of(ctx)
                    .expect("a responder")
                    .publish("node", &["hello", "echo", "other", "reply"]);
            })
            .state("hello", move |_, _, ev| r("hello", ev.args))
            .state("other", move |_, _, ev| r2("other", ev.args))
            .state("echo", |_, _, ev| {
                ev.args.into_iter().next().unwrap_or_default()
            })
            // Answer the sender (a proxy SENDER when it is remote) at its
            // `answer` state.
            .state("reply", |_, ctx, ev| {
                if let Some(to) = ev.sender.target() {
                    let _ = ctx.post(to, "answer", ev.args);
                }
            })
            .state("shutdown", |_, ctx, _| {
                let _ = ctx.alias_remove("node");
            }),
    );
    let me = name.to_owned();
    kernel.spawn(
        InlineStates::new()
            .state("_start", |_, ctx, _| {
                ctx.alias_set("driver").expect("alias driver");
                let ikc = Ikc::of(ctx).expect("a responder");
                ikc.publish("driver", &["answer"]);
                ikc.monitor(
                    ctx,
                    "*",
                    &MonitorStates::new()
                        .on(MonitorOp::Register, "registered")
                        .on(MonitorOp::Unregister, "unregistered")
                        .on(MonitorOp::Route, "rerouted")
                        .on(MonitorOp::Error, "failed"),
                );
            })
            .state("connect", {
                let report = report.clone();
                let me = me.clone();
                move |_, ctx, ev| {
                    let port = ev.args.first().and_then(Value::as_i64).unwrap_or(0);
                    let weight = ev.args.get(1).and_then(Value::as_i64);
                    let report = report.clone();
                    let mut config =
                        ClientConfig::tcp("127.0.0.1", u16::try_from(port).unwrap_or(0))
                            .name(me.as_str())
                            .on_connect(move |_| report("linked", vec![Value::from(port)]));
                    if let Some(w) = weight.and_then(|w| u32::try_from(w).ok()) {
                        config = config.link_weight(w);
                    }
                    if let Err(e) = Client::spawn(ctx, config) {
                        log::warn!("cannot connect to port {port}: {e}");
                    }
                }
            })
            .state("post", {
                let report = report.clone();
                move |_, ctx, ev| {
                    let spec = ev.args.first().map(Value::to_string).unwrap_or_default();
                    let arg = ev.args.get(1).cloned().unwrap_or_default();
                    let n = Ikc::of(ctx).map_or(0, |ikc| ikc.post(ctx, &spec, arg));
                    report("posted", vec![Value::from(n)]);
                }
            })
            .state("post_to", |_, ctx, ev| {
                let spec = ev.args.first().map(Value::to_string).unwrap_or_default();
                let arg = ev.args.get(1).cloned().unwrap_or_default();
                if let Err(e) = ctx.post_to(spec.as_str(), vec![arg]) {
                    log::warn!("post_to {spec}: {e}");
                }
            })
            .state("call", |_, ctx, ev| {
                let spec = ev.args.first().map(Value::to_string).unwrap_or_default();
                let arg = ev.args.get(1).cloned().unwrap_or_default();
                if let Some(ikc) = Ikc::of(ctx) {
                    ikc.call(ctx, &spec, arg, "answer");
                }
            })
            .state("answer", {
                let report = report.clone();
                move |_, _, ev| report("answer", ev.args)
            })
            .state("subscribe", |_, ctx, ev| {
                let spec = ev.args.first().map(Value::to_string).unwrap_or_default();
                if let Some(ikc) = Ikc::of(ctx) {
                    let _ = ikc.subscribe(ctx, &[spec], Some("subscribed"));
                }
            })
            .state("subscribed", {
                let report = report.clone();
                move |_, _, ev| report("subscribed", ev.args)
            })
            .state("post_local", |_, ctx, ev| {
                let session = ev.args.first().map(Value::to_string).unwrap_or_default();
                let state = ev.args.get(1).map(Value::to_string).unwrap_or_default();
                let arg = ev.args.get(2).cloned().unwrap_or_default();
                if let Err(e) = ctx.post(session.as_str(), state, vec![arg]) {
                    log::warn!("post to {session}: {e}");
                }
            })
            .state("cut", |_, ctx, ev| {
                let peer = ev.args.first().map(Value::to_string).unwrap_or_default();
                let Some(ikc) = Ikc::of(ctx) else { return };
                for k in ikc.kernels() {
                    if k.id == peer || k.aliases.contains(&peer) {
                        if let Some(channel) = k.channel {
                            let _ = ctx.post(channel, "close", Vec::new());
                        }
                    }
                }
            })
            .state("registered", {
                let report = report.clone();
                move |_, _, ev| {
                    // [name given, kernel, real?, data, pid, how]
                    if ev.args.get(2).is_some_and(Value::as_bool) {
                        let id = ev.args.get(1).cloned().unwrap_or_default();
                        let how = ev.args.get(5).cloned().unwrap_or_default();
                        report("register", vec![id, how]);
                    }
                }
            })
            .state("unregistered", {
                let report = report.clone();
                move |_, _, ev| {
                    if ev.args.get(2).is_some_and(Value::as_bool) {
                        let id = ev.args.get(1).cloned().unwrap_or_default();
                        let how = ev.args.get(5).cloned().unwrap_or_default();
                        report("unregister", vec![id, how]);
                    }
                }
            })
            .state("rerouted", {
                let report = report.clone();
                move |_, _, ev| {
                    // [name given, kernel, real?, data, via, hops]
                    if ev.args.get(2).is_some_and(Value::as_bool) {
                        let mut args = ev.args;
                        let hops = args.get(5).cloned().unwrap_or_default();
                        let via = args.get(4).cloned().unwrap_or_default();
                        let id = args.swap_remove(1);
                        report("route", vec![id, via, hops]);
                    }
                }
            })
            .state("failed", {
                let report = report.clone();
                move |_, _, ev| {
                    let args = ev.args.into_iter().skip(4).collect();
                    report("error", args);
                }
            })
            .state("hop_limit", |_, ctx, ev| {
                let limit = ev.args.first().and_then(Value::as_i64).unwrap_or(0);
                let Some(ikc) = Ikc::of(ctx) else {
                    return Value::from("no IKC responder");
                };
                let limit = u32::try_from(limit).unwrap_or(0);
                match ikc.configure_mesh(ctx, |config| config.hop_limit = limit) {
                    Ok(()) => Value::Undef,
                    Err(e) => Value::from(e.to_string()),
                }
            })
            .state("route", |_, ctx, ev| {
                let kernel = ev.args.first().map(Value::to_string).unwrap_or_default();
                let Some(ikc) = Ikc::of(ctx) else {
                    return Value::Undef;
                };
                ikc.mesh_routes()
                    .into_iter()
                    .find(|r| r.kernel_id == kernel.as_str())
                    .map_or(Value::Undef, |r| {
                        Value::Array(vec![
                            Value::from(r.via.as_str()),
                            Value::from(i64::from(r.hops)),
                        ])
                    })
            })
            .state("stats", |_, ctx, _| {
                Ikc::of(ctx).map_or(Value::Undef, |ikc| {
                    Value::from(ikc.mesh_stats().control_sent)
                })
            })
            .state("shutdown", |_, ctx, _| {
                let _ = ctx.alias_remove("driver");
                let _ = ctx.post("node", "shutdown", Vec::new());
                if let Some(ikc) = Ikc::of(ctx) {
                    ikc.shutdown(ctx);
                }
            }),
    );
}
