//! Kernels on their own threads, for tests: a server kernel with a
//! published `test` session, client kernels, and a recorder session that
//! reports IKC monitor callbacks (and anything posted to it) to the test
//! thread.

use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, bail};
use ikc_core::{InlineStates, Kernel, KernelHandle, SessionId, Spawner};
use ikc_freezer::Value;
use ikc_responder::{Ikc, MonitorOp, MonitorStates, Responder};
use ikc_server::{Server, ServerConfig};

use super::WAIT;

/// The alias of the recorder session (see [`spawn_recorder`]).
pub const RECORDER: &str = "recorder";

/// Something a kernel's recorder saw: an IKC monitor callback (`what` is
/// the operation: `register`, `unregister`, `error`, `channel`,
/// `shutdown`, `subscribe`, `unsubscribe`) or an event a test session
/// posted to the recorder (`what` is its state).
#[derive(Debug, Clone, PartialEq)]
pub struct Notice {
    /// The monitor operation, or the state posted to the recorder.
    pub what: String,
    /// The kernel the monitor was told about (empty for posted events).
    pub kernel: String,
    /// Is `kernel` the remote kernel's real ID (not one of its aliases)?
    pub real: bool,
    /// The operation's own arguments (for `error`: operation, message), or
    /// the posted event's arguments.
    pub args: Vec<Value>,
}

impl Notice {
    /// Argument `n` as text (`""` if missing).
    pub fn arg(&self, n: usize) -> String {
        self.args.get(n).map(Value::to_string).unwrap_or_default()
    }

    /// Is this an error report for `operation` (`channel-read`, `local-request`, ...)?
    pub fn is_error(&self, operation: &str) -> bool {
        self.what == "error" && self.arg(0) == operation
    }
}

/// Sends notices to the test thread.
pub type Reporter = Sender<Notice>;

/// What a kernel's recorder reported, as the test thread reads it.
#[derive(Debug)]
pub struct Notices {
    rx: Receiver<Notice>,
    seen: Vec<Notice>,
}

impl Notices {
    fn new(rx: Receiver<Notice>) -> Self {
        Self {
            rx,
            seen: Vec::new(),
        }
    }

    /// Take in everything reported so far; returns the whole history.
    pub fn drain(&mut self) -> &[Notice] {
        while let Ok(n) = self.rx.try_recv() {
            self.seen.push(n);
        }
        &self.seen
    }

    /// How many notices so far match `pred`.
    pub fn count(&mut self, pred: impl Fn(&Notice) -> bool) -> usize {
        self.drain().iter().filter(|n| pred(n)).count()
    }

    /// Wait (at most [`WAIT`]) until `n` notices match `pred` (counting
    /// those that came before the call), and return the `n`th.
    ///
    /// # Errors
    ///
    /// Not enough matched in time; the error lists what was seen.
    pub fn wait_nth(
        &mut self,
        n: usize,
        what: &str,
        pred: impl Fn(&Notice) -> bool,
    ) -> anyhow::Result<Notice> {
        self.wait_within(WAIT, n, what, pred)
    }

    /// [`wait_nth`](Self::wait_nth), waiting at most `timeout`.
    ///
    /// # Errors
    ///
    /// Not enough matched in time.
    pub fn wait_within(
        &mut self,
        timeout: Duration,
        n: usize,
        what: &str,
        pred: impl Fn(&Notice) -> bool,
    ) -> anyhow::Result<Notice> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(found) = self.drain().iter().filter(|x| pred(x)).nth(n - 1) {
                return Ok(found.clone());
            }
            let left = deadline.saturating_duration_since(Instant::now());
            match self.rx.recv_timeout(left) {
                Ok(notice) => self.seen.push(notice),
                Err(RecvTimeoutError::Timeout) => {
                    bail!("no {what} within {timeout:?}; seen: {:#?}", self.seen)
                }
                Err(RecvTimeoutError::Disconnected) => {
                    bail!("the kernel stopped before {what}; seen: {:#?}", self.seen)
                }
            }
        }
    }

    /// Wait for a notice matching `pred` (one that came before counts).
    ///
    /// # Errors
    ///
    /// None matched in time.
    pub fn wait(&mut self, what: &str, pred: impl Fn(&Notice) -> bool) -> anyhow::Result<Notice> {
        self.wait_nth(1, what, pred)
    }

    /// Wait for an error report for `operation` whose message contains `text`.
    ///
    /// # Errors
    ///
    /// None came in time.
    pub fn wait_error(&mut self, operation: &str, text: &str) -> anyhow::Result<Notice> {
        self.wait(&format!("{operation} error containing {text:?}"), |n| {
            n.is_error(operation) && n.arg(1).contains(text)
        })
    }
}

/// Start the recorder session (aliased [`RECORDER`]): it monitors every
/// remote kernel for every operation and reports each callback, and
/// reports any other event posted to it, to `reporter`. It starts the
/// responder if needed.
pub fn spawn_recorder(spawner: &mut impl Spawner, reporter: Reporter) -> SessionId {
    let mut session = InlineStates::new().state("_start", |_, ctx, _| {
        let _ = ctx.alias_set(RECORDER);
        let ikc = Responder::spawn(ctx);
        let mut states = MonitorStates::new();
        for op in MonitorOp::ALL {
            states = states.on(op, format!("monitor {}", op.key()));
        }
        ikc.monitor(ctx, "*", &states);
    });
    for op in MonitorOp::ALL {
        let reporter = reporter.clone();
        session = session.state(format!("monitor {}", op.key()), move |_, _, ev| {
            let _ = reporter.send(Notice {
                what: op.key().to_owned(),
                kernel: ev.arg(1).map(Value::to_string).unwrap_or_default(),
                real: ev.arg(2).is_some_and(Value::as_bool),
                args: ev.args.iter().skip(4).cloned().collect(),
            });
        });
    }
    let session = session.state("_default", move |_, _, ev| {
        let state = ev.arg(0).map(Value::to_string).unwrap_or_default();
        if state.starts_with('_') {
            return;
        }
        let args = match ev.arg(1) {
            Some(Value::Array(a)) => a.clone(),
            _ => Vec::new(),
        };
        let _ = reporter.send(Notice {
            what: state,
            kernel: String::new(),
            real: false,
            args,
        });
    });
    spawner.spawn_session(session)
}

/// The `test` session a [`TestServer`] runs, publishing:
///
/// - `fetchQ` → 42; `echo` → ARG0; `add_1` → ARG0 + 1;
/// - `explode`: panics (the kernel contains it and stops the session);
/// - `echo_back`: posts `pong` with its arguments back to SENDER (so a
///   remote session gets an answer through a proxy);
/// - `flood [kernel, bytes]`: posts `chunk` with `bytes` bytes to SENDER,
///   one per turn, for as long as `kernel` is connected (at most 100,000
///   times), then reports `flooded [count]` to the recorder;
/// - `spam [target, count, bytes, shutdown_first]`: posts `count` messages
///   `[seq, data]` of `bytes` bytes to the remote state `target` at once,
///   then shuts IKC down (the messages are queued before the shutdown), and
///   reports `spammed [count]`. With `shutdown_first`, it asks IKC to shut
///   down first and then posts (the channels are still open until they
///   handle the shutdown, so the messages are queued before they close).
pub fn test_session() -> InlineStates {
    InlineStates::new()
        .state("_start", |_, ctx, _| {
            let _ = ctx.alias_set("test");
            let ikc = Responder::spawn(ctx);
            ikc.publish(
                "test",
                &[
                    "fetchQ",
                    "echo",
                    "add_1",
                    "echo_back",
                    "flood",
                    "spam",
                    "explode",
                ],
            );
        })
        .state("fetchQ", |_, _, _| Value::from(42))
        .state("explode", |_, _, ev| -> Value {
            panic!("the test session was asked to explode: {:?}", ev.arg(0))
        })
        .state("echo", |_, _, ev| ev.arg(0).cloned().unwrap_or_default())
        .state("add_1", |_, _, ev| {
            Value::from(ev.arg(0).and_then(Value::as_i64).unwrap_or(0) + 1)
        })
        .state("echo_back", |_, ctx, ev| {
            if let Some(sender) = ev.sender.session() {
                let _ = ctx.post(sender, "pong", ev.args);
            }
        })
        .state("flood", |_, ctx, ev| {
            let kernel = ev.arg(0).and_then(|p| p.get_index(0)).cloned();
            let bytes = ev.arg(0).and_then(|p| p.get_index(1)).cloned();
            if let (Some(sender), Some(kernel), Some(bytes)) = (ev.sender.session(), kernel, bytes)
            {
                ctx.yield_(
                    "flood_more",
                    vec![Value::from(sender), kernel, bytes, Value::from(0)],
                );
            }
        })
        .state("flood_more", |_, ctx, ev| {
            let n = ev.arg(3).and_then(Value::as_i64).unwrap_or(0);
            let kernel = ev.arg(1).map(Value::to_string).unwrap_or_default();
            let connected = Ikc::of(ctx).is_some_and(|ikc| ikc.is_connected(&kernel));
            let sender = ev.arg(0).and_then(SessionId::from_value);
            let size = ev
                .arg(2)
                .and_then(Value::as_i64)
                .and_then(|s| usize::try_from(s).ok())
                .unwrap_or(0);
            match sender {
                Some(sender) if connected && n < 100_000 => {
                    let _ = ctx.post(sender, "chunk", vec![Value::bytes(vec![b'x'; size])]);
                    let mut args = ev.args;
                    args[3] = Value::from(n + 1);
                    ctx.yield_("flood_more", args);
                }
                _ => {
                    let _ = ctx.post(RECORDER, "flooded", vec![Value::from(n)]);
                }
            }
        })
        // In an event of its own, not inside the channel's handler that
        // received the request.
        .state("spam", |_, ctx, ev| ctx.yield_("spam_now", ev.args))
        .state("spam_now", |_, ctx, ev| {
            let p = ev.arg(0).cloned().unwrap_or_default();
            let target = p.get_index(0).map(Value::to_string).unwrap_or_default();
            let count = p.get_index(1).and_then(Value::as_i64).unwrap_or(0);
            let size = p
                .get_index(2)
                .and_then(Value::as_i64)
                .and_then(|s| usize::try_from(s).ok())
                .unwrap_or(0);
            let shutdown_first = p.get_index(3).is_some_and(Value::as_bool);
            let Some(ikc) = Ikc::of(ctx) else { return };
            if shutdown_first {
                ikc.shutdown(ctx);
            }
            let mut sent = 0;
            for seq in 0..count {
                let data = Value::bytes(vec![b'a' + (seq % 26) as u8; size]);
                sent += ikc.post(ctx, &target, Value::Array(vec![Value::from(seq), data]));
            }
            if !shutdown_first {
                ikc.shutdown(ctx);
            }
            let _ = ctx.post(RECORDER, "spammed", vec![Value::from(sent)]);
        })
}

/// A kernel running on its own thread, whose recorder reports to
/// [`notices`](Self::notices). Dropping it stops the kernel.
#[derive(Debug)]
pub struct KernelThread {
    /// The kernel's ID.
    pub kernel_id: String,
    /// What its recorder reported.
    pub notices: Notices,
    handle: Option<KernelHandle>,
    thread: Option<JoinHandle<anyhow::Result<()>>>,
    exited: Receiver<()>,
}

/// A client kernel (any kernel a test sets up itself).
pub type ClientKernel = KernelThread;

impl KernelThread {
    /// Start a kernel on a new thread: a recorder, then whatever `setup`
    /// spawns. `setup` returns a value handed back to the caller (a port,
    /// say).
    ///
    /// # Errors
    ///
    /// The kernel could not be created, or `setup` failed.
    pub fn start<T: Send + 'static>(
        name: &str,
        setup: impl FnOnce(&mut Kernel) -> anyhow::Result<T> + Send + 'static,
    ) -> anyhow::Result<(Self, T)> {
        let (notice_tx, notice_rx) = mpsc::channel();
        let (ready_tx, ready_rx) = mpsc::channel();
        let (exit_tx, exited) = mpsc::channel::<()>();
        let thread = std::thread::Builder::new().name(name.to_owned()).spawn(
            move || -> anyhow::Result<()> {
                let _exit = exit_tx;
                let started = (|| {
                    let mut kernel = Kernel::new()?;
                    spawn_recorder(&mut kernel, notice_tx);
                    let out = setup(&mut kernel)?;
                    Ok::<_, anyhow::Error>((kernel, out))
                })();
                let mut kernel = match started {
                    Ok((kernel, out)) => {
                        let info = (kernel.id().to_owned(), kernel.handle(), out);
                        let _ = ready_tx.send(Ok(info));
                        kernel
                    }
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return Ok(());
                    }
                };
                kernel.run()?;
                Ok(())
            },
        )?;
        let (kernel_id, handle, out) = ready_rx
            .recv_timeout(WAIT)
            .context("the kernel thread did not start")??;
        Ok((
            Self {
                kernel_id,
                notices: Notices::new(notice_rx),
                handle: Some(handle),
                thread: Some(thread),
                exited,
            },
            out,
        ))
    }

    /// A handle to post into the kernel.
    pub fn handle(&self) -> &KernelHandle {
        self.handle.as_ref().expect("the kernel is running")
    }

    /// Post `state` to the session `to` (an alias or specifier).
    ///
    /// # Errors
    ///
    /// The kernel has stopped.
    pub fn post(&self, to: &str, state: &str, args: Vec<Value>) -> anyhow::Result<()> {
        self.handle()
            .post(to, state.to_owned(), args)
            .map_err(|e| anyhow!("post {to}/{state}: {}", e.reason))
    }

    /// `IKC/shutdown`, then wait for the kernel to run out of work and
    /// exit (at most [`WAIT`]).
    ///
    /// # Errors
    ///
    /// It did not exit in time, or its loop failed.
    pub fn shutdown(mut self) -> anyhow::Result<()> {
        self.post("IKC", "shutdown", Vec::new())?;
        // Our handle would keep the kernel waiting for posts.
        self.handle = None;
        self.join()
    }

    /// Stop the kernel at once (sockets are closed, nothing is flushed)
    /// and wait for its thread.
    ///
    /// # Errors
    ///
    /// Its loop failed.
    pub fn kill(mut self) -> anyhow::Result<()> {
        if let Some(handle) = self.handle.take() {
            handle.stop();
        }
        self.join()
    }

    fn join(&mut self) -> anyhow::Result<()> {
        let Some(thread) = self.thread.take() else {
            return Ok(());
        };
        match self.exited.recv_timeout(WAIT) {
            Err(RecvTimeoutError::Disconnected) => {}
            _ => bail!("kernel {} did not exit within {WAIT:?}", self.kernel_id),
        }
        thread
            .join()
            .map_err(|_| anyhow!("kernel thread {} panicked", self.kernel_id))?
    }
}

impl Drop for KernelThread {
    fn drop(&mut self) {
        if let Some(handle) = self.handle.take() {
            handle.stop();
        }
        if self.thread.is_some() {
            let _ = self.join();
        }
    }
}

/// A server kernel on its own thread: an IKC server on `127.0.0.1`, the
/// [`test_session`], a recorder, and whatever the builder's setup adds.
#[derive(Debug)]
pub struct TestServer {
    /// The port it listens on.
    pub port: u16,
    /// The kernel.
    pub kernel: KernelThread,
}

/// Builds a [`TestServer`].
pub struct ServerBuilder {
    name: String,
    port: u16,
    configure: Box<dyn FnOnce(ServerConfig) -> ServerConfig + Send>,
    setup: Box<dyn FnOnce(&mut Kernel) + Send>,
}

impl std::fmt::Debug for ServerBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerBuilder")
            .field("name", &self.name)
            .field("port", &self.port)
            .finish_non_exhaustive()
    }
}

impl ServerBuilder {
    /// Listen on this port (default 0: any).
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// Change the server's configuration.
    pub fn configure(
        mut self,
        f: impl FnOnce(ServerConfig) -> ServerConfig + Send + 'static,
    ) -> Self {
        self.configure = Box::new(f);
        self
    }

    /// Spawn more sessions in the server kernel.
    pub fn setup(mut self, f: impl FnOnce(&mut Kernel) + Send + 'static) -> Self {
        self.setup = Box::new(f);
        self
    }

    /// Start it.
    ///
    /// # Errors
    ///
    /// The kernel or the server could not start.
    pub fn start(self) -> anyhow::Result<TestServer> {
        let Self {
            name,
            port,
            configure,
            setup,
        } = self;
        let thread_name = format!("server {name}");
        let (kernel, port) = KernelThread::start(&thread_name, move |kernel| {
            let config = configure(ServerConfig::tcp("127.0.0.1", port).name(name));
            let listening = Server::spawn(kernel, config)?;
            kernel.spawn(test_session());
            setup(kernel);
            listening.port().context("a TCP server has a port")
        })?;
        Ok(TestServer { port, kernel })
    }
}

impl TestServer {
    /// A server named `name`, on any port, with default settings.
    pub fn builder(name: &str) -> ServerBuilder {
        ServerBuilder {
            name: name.to_owned(),
            port: 0,
            configure: Box::new(|c| c),
            setup: Box::new(|_| {}),
        }
    }

    /// Start a server named `name` with default settings.
    ///
    /// # Errors
    ///
    /// It could not start.
    pub fn start(name: &str) -> anyhow::Result<Self> {
        Self::builder(name).start()
    }

    /// What its recorder reported.
    pub fn notices(&mut self) -> &mut Notices {
        &mut self.kernel.notices
    }

    /// `IKC/shutdown` and wait for the kernel to exit.
    ///
    /// # Errors
    ///
    /// It did not exit in time.
    pub fn shutdown(self) -> anyhow::Result<()> {
        self.kernel.shutdown()
    }
}
