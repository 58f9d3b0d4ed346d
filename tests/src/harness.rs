//! Kernels on threads, the notes their sessions send to the test, and the
//! places servers listen on (TCP port 0 on 127.0.0.1, or a Unix socket in a
//! temporary directory of the test's own).
//!
//! A test runs each kernel on its own thread ([`spawn_kernel`],
//! [`spawn_server`], [`spawn_client`]); the kernels' sessions tell the test
//! what happened through [`Notes`], and the test waits for what it expects
//! with [`Inbox::wait`]. The waits are on channels: nothing sleeps. The
//! only timeouts are hang guards ([`WAIT`]): a test that would hang fails
//! with everything it saw so far.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use ikc_client::{Client, ClientConfig};
use ikc_core::{Ctx, Event, Kernel};
use ikc_freezer::Value;
use ikc_server::{Server, ServerConfig};

/// How long a test waits for something before it fails (a hang guard,
/// never a way to order events).
pub const WAIT: Duration = Duration::from_secs(30);

/// Something a session told the test: a label and the values that go with it.
#[derive(Debug, Clone, PartialEq)]
pub struct Note {
    /// What happened (`"answer"`, `"register"`, ...).
    pub label: String,
    /// The event's arguments, or whatever the session chose to send.
    pub args: Vec<Value>,
}

impl Note {
    /// Argument `n` (`undef` when missing).
    pub fn arg(&self, n: usize) -> &Value {
        static UNDEF: Value = Value::Undef;
        self.args.get(n).unwrap_or(&UNDEF)
    }

    /// Argument `n` as text (`""` for `undef`).
    pub fn text(&self, n: usize) -> String {
        match self.arg(n) {
            Value::Undef => String::new(),
            v => v.to_string(),
        }
    }
}

/// The sending end of a test's notes; clone it into every session.
#[derive(Debug, Clone)]
pub struct Notes {
    tx: Sender<Note>,
}

impl Notes {
    /// Tell the test that `label` happened, with `args`.
    pub fn send(&self, label: impl Into<String>, args: Vec<Value>) {
        let _ = self.tx.send(Note {
            label: label.into(),
            args,
        });
    }

    /// A state handler that notes `label` with the event's arguments and
    /// returns `undef`.
    pub fn state<H>(&self, label: &str) -> impl FnMut(&mut H, &mut Ctx<'_>, Event) + 'static {
        let notes = self.clone();
        let label = label.to_owned();
        move |_, _, ev| notes.send(label.as_str(), ev.args)
    }
}

/// The test's end of its notes.
#[derive(Debug)]
pub struct Inbox {
    rx: Receiver<Note>,
    seen: Vec<(Note, bool)>,
}

/// A new channel of notes.
pub fn notes() -> (Notes, Inbox) {
    let (tx, rx) = mpsc::channel();
    (
        Notes { tx },
        Inbox {
            rx,
            seen: Vec::new(),
        },
    )
}

impl Inbox {
    /// The first note with this label not taken yet (waiting for it).
    ///
    /// # Panics
    ///
    /// When none comes within [`WAIT`]; the message lists every note seen.
    pub fn wait(&mut self, label: &str) -> Note {
        self.wait_for(&format!("a note {label:?}"), |n| n.label == label)
    }

    /// The first note not taken yet for which `pred` holds (waiting for it).
    ///
    /// # Panics
    ///
    /// When none comes within [`WAIT`]; the message lists every note seen.
    pub fn wait_for(&mut self, what: &str, pred: impl Fn(&Note) -> bool) -> Note {
        let deadline = Instant::now() + WAIT;
        let mut checked = 0;
        loop {
            for (note, taken) in self.seen.iter_mut().skip(checked) {
                if !*taken && pred(note) {
                    *taken = true;
                    return note.clone();
                }
            }
            checked = self.seen.len();
            let left = deadline.saturating_duration_since(Instant::now());
            match self.rx.recv_timeout(left) {
                Ok(note) => self.seen.push((note, false)),
                Err(RecvTimeoutError::Timeout) => {
                    panic!("waited {WAIT:?} for {what}; notes so far:\n{}", self.dump())
                }
                Err(RecvTimeoutError::Disconnected) => {
                    panic!(
                        "every session stopped before {what}; notes so far:\n{}",
                        self.dump()
                    )
                }
            }
        }
    }

    /// Take in every note that has arrived (without waiting).
    pub fn collect(&mut self) {
        while let Ok(note) = self.rx.try_recv() {
            self.seen.push((note, false));
        }
    }

    /// Every note received so far with this label, taken or not, in order.
    pub fn all(&mut self, label: &str) -> Vec<Note> {
        self.collect();
        self.seen
            .iter()
            .filter(|(n, _)| n.label == label)
            .map(|(n, _)| n.clone())
            .collect()
    }

    /// Where the first note for which `pred` holds is among every note
    /// received so far (taken or not).
    pub fn position(&mut self, pred: impl Fn(&Note) -> bool) -> Option<usize> {
        self.collect();
        self.seen.iter().position(|(n, _)| pred(n))
    }

    /// Every label received so far, in order.
    pub fn labels(&mut self) -> Vec<String> {
        self.collect();
        self.seen.iter().map(|(n, _)| n.label.clone()).collect()
    }

    /// Every note received so far, one per line.
    pub fn dump(&self) -> String {
        self.seen
            .iter()
            .map(|(n, taken)| {
                let args: Vec<String> = n.args.iter().map(|a| format!("{a:?}")).collect();
                format!(
                    "  {}{} [{}]",
                    if *taken { "" } else { "* " },
                    n.label,
                    args.join(", ")
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// A kernel running on its own thread.
#[derive(Debug)]
pub struct KernelThread<T> {
    /// What the setup closure returned (a port, a handle, ...).
    pub value: T,
    /// The kernel's ID.
    pub kernel_id: String,
    label: String,
    done: Receiver<Result<(), String>>,
    thread: Option<JoinHandle<()>>,
}

impl<T> KernelThread<T> {
    /// Wait for the kernel's `run()` to return (dropping `value` first, so
    /// a [`KernelHandle`](ikc_core::KernelHandle) held there does not keep
    /// the kernel alive).
    ///
    /// # Errors
    ///
    /// `run()` failed, the thread panicked, or the kernel was still running
    /// after [`WAIT`].
    pub fn join(self) -> anyhow::Result<()> {
        let Self {
            value,
            label,
            done,
            mut thread,
            ..
        } = self;
        drop(value);
        match done.recv_timeout(WAIT) {
            Ok(Ok(())) => {
                if let Some(t) = thread.take() {
                    let _ = t.join();
                }
                Ok(())
            }
            Ok(Err(e)) => anyhow::bail!("kernel {label}: {e}"),
            Err(RecvTimeoutError::Timeout) => {
                anyhow::bail!("kernel {label} was still running after {WAIT:?}")
            }
            Err(RecvTimeoutError::Disconnected) => {
                let why = thread
                    .take()
                    .map(|t| match t.join() {
                        Err(p) => panic_text(&*p),
                        Ok(()) => "its thread ended without a word".to_owned(),
                    })
                    .unwrap_or_default();
                anyhow::bail!("kernel {label} panicked: {why}")
            }
        }
    }

    /// Split off the value (for example to drop a handle early), keeping a
    /// joinable kernel.
    pub fn split(self) -> (T, KernelThread<()>) {
        (
            self.value,
            KernelThread {
                value: (),
                kernel_id: self.kernel_id,
                label: self.label,
                done: self.done,
                thread: self.thread,
            },
        )
    }
}

fn panic_text(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<String>()
        .cloned()
        .or_else(|| p.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_else(|| "a panic".to_owned())
}

/// Run a kernel on a new thread: `setup` gets it before `run()` and returns
/// a value for the test (a port, a [`KernelHandle`](ikc_core::KernelHandle), ...).
///
/// # Panics
///
/// When `setup` fails or panics.
pub fn spawn_kernel<T, F>(label: &str, setup: F) -> KernelThread<T>
where
    T: Send + 'static,
    F: FnOnce(&mut Kernel) -> anyhow::Result<T> + Send + 'static,
{
    let (value_tx, value_rx) = mpsc::channel();
    let (done_tx, done) = mpsc::channel();
    let thread = std::thread::Builder::new()
        .name(label.to_owned())
        .spawn(move || {
            let mut kernel = match Kernel::new() {
                Ok(k) => k,
                Err(e) => {
                    let _ = value_tx.send(Err(format!("Kernel::new: {e}")));
                    return;
                }
            };
            match setup(&mut kernel) {
                Ok(v) => {
                    let _ = value_tx.send(Ok((v, kernel.id().to_owned())));
                }
                Err(e) => {
                    let _ = value_tx.send(Err(format!("setup: {e:#}")));
                    return;
                }
            }
            let result = kernel.run().map_err(|e| e.to_string());
            let _ = done_tx.send(result);
        })
        .expect("spawn a kernel thread");
    match value_rx.recv_timeout(WAIT) {
        Ok(Ok((value, kernel_id))) => KernelThread {
            value,
            kernel_id,
            label: label.to_owned(),
            done,
            thread: Some(thread),
        },
        Ok(Err(e)) => panic!("kernel {label}: {e}"),
        Err(_) => {
            let why = thread.join().err().map(|p| panic_text(&*p));
            panic!("kernel {label} did not start: {why:?}")
        }
    }
}

/// Where a server listens and a client connects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// TCP on 127.0.0.1 (port 0 before the server binds it).
    Tcp(u16),
    /// A Unix socket path.
    Unix(PathBuf),
}

impl Endpoint {
    /// A server configuration for this place.
    pub fn server_config(&self) -> ServerConfig {
        match self {
            Self::Tcp(port) => ServerConfig::tcp("127.0.0.1", *port),
            Self::Unix(path) => ServerConfig::unix(path),
        }
    }

    /// A client configuration for this place.
    pub fn client_config(&self) -> ClientConfig {
        match self {
            Self::Tcp(port) => ClientConfig::tcp("127.0.0.1", *port),
            Self::Unix(path) => ClientConfig::unix(path),
        }
    }

    /// The TCP port.
    ///
    /// # Panics
    ///
    /// For a Unix socket.
    pub fn port(&self) -> u16 {
        match self {
            Self::Tcp(port) => *port,
            Self::Unix(path) => panic!("{} is not a TCP port", path.display()),
        }
    }
}

/// The transports a test runs over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// TCP on 127.0.0.1.
    Tcp,
    /// A Unix socket in a temporary directory.
    Unix,
}

/// A test's network: TCP, or Unix sockets in a directory of its own that
/// is removed when this is dropped.
#[derive(Debug)]
pub struct Net {
    /// The transport.
    pub transport: Transport,
    dir: Option<TempDir>,
    sockets: AtomicUsize,
}

impl Net {
    /// A network over `transport`.
    pub fn new(transport: Transport) -> Self {
        Self {
            transport,
            dir: (transport == Transport::Unix).then(TempDir::new),
            sockets: AtomicUsize::new(0),
        }
    }

    /// A fresh place for a server: TCP port 0, or a new socket path.
    pub fn endpoint(&self) -> Endpoint {
        match &self.dir {
            None => Endpoint::Tcp(0),
            Some(dir) => {
                let n = self.sockets.fetch_add(1, Ordering::Relaxed);
                Endpoint::Unix(dir.path().join(format!("s{n}.sock")))
            }
        }
    }
}

/// A directory under the system's temporary directory, removed on drop.
#[derive(Debug)]
pub struct TempDir {
    path: PathBuf,
}

impl TempDir {
    /// Create a new, empty directory.
    ///
    /// # Panics
    ///
    /// If it cannot be created.
    pub fn new() -> Self {
        static COUNT: AtomicUsize = AtomicUsize::new(0);
        let n = COUNT.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!("ikc-tests-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).expect("create a temporary directory");
        Self { path }
    }

    /// Its path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Default for TempDir {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// A server kernel's value for the test: where clients connect, and a
/// handle to steer its sessions (let go of by [`KernelThread::join`]).
#[derive(Debug)]
pub struct Served {
    /// Where clients connect (the real port for TCP).
    pub at: Endpoint,
    /// A handle to the server's kernel.
    pub handle: ikc_core::KernelHandle,
}

/// Run a server kernel on a thread: it listens at `at` (configured further
/// by `configure`, on the kernel's thread), then `setup` adds its sessions.
///
/// # Panics
///
/// When the server cannot listen or `setup` fails.
pub fn spawn_server<C, F>(
    label: &str,
    at: &Endpoint,
    configure: C,
    setup: F,
) -> KernelThread<Served>
where
    C: FnOnce(ServerConfig) -> ServerConfig + Send + 'static,
    F: FnOnce(&mut Kernel) -> anyhow::Result<()> + Send + 'static,
{
    let at = at.clone();
    spawn_kernel(label, move |kernel| {
        let config = configure(at.server_config());
        let listening = Server::spawn(kernel, config)?;
        setup(kernel)?;
        let at = match at {
            Endpoint::Tcp(_) => Endpoint::Tcp(listening.port().expect("a TCP port")),
            unix @ Endpoint::Unix(_) => unix,
        };
        Ok(Served {
            at,
            handle: kernel.handle(),
        })
    })
}

/// Run a client kernel on a thread: `setup` adds its sessions, then a
/// client connects to `at` (configured further by `configure`, on the
/// kernel's thread). The value is a handle to the kernel, so the test can
/// post to or call its sessions; [`KernelThread::join`] lets go of it.
///
/// # Panics
///
/// When `setup` fails or the client cannot start.
pub fn spawn_client<C, F>(
    label: &str,
    at: &Endpoint,
    configure: C,
    setup: F,
) -> KernelThread<ikc_core::KernelHandle>
where
    C: FnOnce(ClientConfig) -> ClientConfig + Send + 'static,
    F: FnOnce(&mut Kernel) -> anyhow::Result<()> + Send + 'static,
{
    let at = at.clone();
    spawn_kernel(label, move |kernel| {
        setup(kernel)?;
        Client::spawn(kernel, configure(at.client_config()))?;
        Ok(kernel.handle())
    })
}
