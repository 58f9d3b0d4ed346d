//! [`ServerPool`]: several kernels, each on its own thread, serving one
//! port: the Rust answer to IKC::Server's prefork `processes`.
//!
//! Perl IKC forks `processes` children that all accept on the one
//! listening socket, because a Perl process runs one kernel on one core.
//! A Rust process can run a kernel per thread instead, and share nothing
//! between them but the port:
//!
//! - **TCP**: each kernel has its own listening socket on the same port,
//!   bound with `SO_REUSEPORT`; the operating system spreads incoming
//!   connections over them (Linux hashes each connection's addresses and
//!   ports, so the spread is even and no kernel waits on another).
//! - **Unix sockets**: the kernels share one listening socket (each has
//!   its own descriptor for it), as Perl's children do: whichever is free
//!   accepts.
//!
//! Each kernel runs the user's setup closure (its published sessions, as
//! each Perl child runs the script's), has its own responder, and is known
//! to clients by the configured `name` and `aliases` and by its own real
//! kernel ID. Perl's `babysit` (restarting children that die) has no
//! counterpart: a kernel's thread does not die with a handler's panic.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::mpsc;
use std::thread::JoinHandle;

use ikc_core::{Kernel, KernelHandle};

use crate::config::ServerConfig;
use crate::error::ServerError;
use crate::listener::{Listener, SocketFile};
use crate::{Bound, Server, parse_ip};
use ikc_responder::unix_name;

/// A socket bound for one worker, still in its std form (it crosses threads).
enum WorkerSocket {
    Tcp(std::net::TcpListener),
    Unix(std::os::unix::net::UnixListener, Arc<SocketFile>),
}

/// One kernel of a pool.
#[derive(Debug)]
struct Worker {
    kernel_id: String,
    handle: Option<KernelHandle>,
    thread: Option<JoinHandle<Result<(), String>>>,
}

/// Kernels on threads serving one port ([`Server::spawn_pool`]).
///
/// The pool holds a [`KernelHandle`] to each kernel, so a kernel does not
/// exit while the pool is there to steer it: [`shutdown`](Self::shutdown)
/// asks each to shut IKC down, and [`join`](Self::join) lets go of the
/// handles and waits for the threads.
#[derive(Debug)]
pub struct ServerPool {
    address: String,
    local_port: Option<u16>,
    workers: Vec<Worker>,
}

impl ServerPool {
    /// The TCP port the kernels share (the one picked when port 0 was asked).
    pub fn port(&self) -> Option<u16> {
        self.local_port
    }

    /// The address the kernels listen on: `ip:port`, or `unix:path`.
    pub fn address(&self) -> &str {
        &self.address
    }

    /// How many kernels there are.
    pub fn len(&self) -> usize {
        self.workers.len()
    }

    /// Is the pool empty? (Never, once spawned.)
    pub fn is_empty(&self) -> bool {
        self.workers.is_empty()
    }

    /// Each kernel's real ID, in worker order.
    pub fn kernel_ids(&self) -> Vec<String> {
        self.workers.iter().map(|w| w.kernel_id.clone()).collect()
    }

    /// A handle to worker `index`'s kernel, to post to its sessions from
    /// any thread (until [`shutdown`](Self::shutdown)).
    pub fn handle(&self, index: usize) -> Option<&KernelHandle> {
        self.workers.get(index).and_then(|w| w.handle.as_ref())
    }

    /// Ask every kernel to shut IKC down (closing its connections once
    /// their queued messages are written), and let go of the handles so
    /// the kernels can exit.
    pub fn shutdown(&mut self) {
        for worker in &mut self.workers {
            if let Some(handle) = worker.handle.take() {
                if let Err(e) = handle.post(ikc_responder::IKC_ALIAS, "shutdown", Vec::new()) {
                    log::warn!("IKC pool: cannot shut down {}: {e}", worker.kernel_id);
                }
            }
        }
    }

    /// Let go of the handles and wait for every kernel to exit (after an
    /// IKC shutdown, from [`shutdown`](Self::shutdown) or from a session).
    ///
    /// # Errors
    ///
    /// [`ServerError::Worker`] for the first kernel whose run failed or
    /// whose thread panicked.
    pub fn join(mut self) -> Result<(), ServerError> {
        for worker in &mut self.workers {
            worker.handle = None;
        }
        let mut first = Ok(());
        for (index, worker) in self.workers.iter_mut().enumerate() {
            let Some(thread) = worker.thread.take() else {
                continue;
            };
            let outcome = match thread.join() {
                Ok(Ok(())) => Ok(()),
                Ok(Err(reason)) => Err(reason),
                Err(_) => Err("its thread panicked".to_owned()),
            };
            if let (Err(reason), Ok(())) = (outcome, &first) {
                first = Err(ServerError::Worker { index, reason });
            }
        }
        first
    }
}

impl Server {
    /// Start `threads` kernels, each on its own thread, serving the same
    /// port or Unix socket (see [`ServerPool`] for how connections are
    /// shared). For each kernel `i`, `config(i)` makes its configuration
    /// and `setup(&mut kernel, i)` adds its sessions before it runs; both
    /// run on that kernel's thread, so they may hold what cannot cross
    /// threads.
    ///
    /// `config(0)` is also called once on the calling thread, to learn the
    /// address (`ip` and `port`, or `unix`): every call must give the same
    /// one. With port 0 the first socket picks a port and the others bind
    /// that one.
    ///
    /// # Errors
    ///
    /// [`ServerError`] if the address is bad or cannot be bound (nothing
    /// is left running then), or [`ServerError::Worker`] if a kernel could
    /// not start.
    pub fn spawn_pool<C, S>(threads: usize, config: C, setup: S) -> Result<ServerPool, ServerError>
    where
        C: Fn(usize) -> ServerConfig + Send + Sync + 'static,
        S: Fn(&mut Kernel, usize) + Send + Sync + 'static,
    {
        if threads == 0 {
            return Err(ServerError::Worker {
                index: 0,
                reason: "a pool needs at least one kernel".to_owned(),
            });
        }
        let first = config(0);
        let (sockets, address, local_port) = match first.unix.clone() {
            Some(path) => bind_unix(path, threads)?,
            None => bind_tcp(&first.host, first.port, threads)?,
        };
        drop(first);
        let config = Arc::new(config);
        let setup = Arc::new(setup);
        let (ready_tx, ready_rx) = mpsc::channel();
        let mut workers = Vec::with_capacity(threads);
        let mut failed = None;
        for (index, socket) in sockets.into_iter().enumerate() {
            let (config, setup, ready) =
                (Arc::clone(&config), Arc::clone(&setup), ready_tx.clone());
            let address = address.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("ikc-pool-{index}"))
                .spawn(move || run_worker(index, socket, address, &*config, &*setup, &ready));
            match spawned {
                Ok(thread) => workers.push(Worker {
                    kernel_id: String::new(),
                    handle: None,
                    thread: Some(thread),
                }),
                Err(e) => {
                    failed = Some(ServerError::Worker {
                        index,
                        reason: format!("cannot start its thread: {e}"),
                    });
                    break;
                }
            }
        }
        drop(ready_tx);
        let started = workers.len();
        let mut pool = ServerPool {
            address,
            local_port,
            workers,
        };
        for _ in 0..started {
            match ready_rx.recv() {
                Ok((index, Ok((kernel_id, handle)))) => {
                    pool.workers[index].kernel_id = kernel_id;
                    pool.workers[index].handle = Some(handle);
                }
                Ok((index, Err(reason))) => {
                    failed.get_or_insert(ServerError::Worker { index, reason });
                }
                Err(_) => {
                    failed.get_or_insert_with(|| ServerError::Worker {
                        index: 0,
                        reason: "a kernel's thread ended before it started".to_owned(),
                    });
                    break;
                }
            }
        }
        if let Some(e) = failed {
            pool.shutdown();
            let _ = pool.join();
            return Err(e);
        }
        Ok(pool)
    }
}

type Ready = mpsc::Sender<(usize, Result<(String, KernelHandle), String>)>;

/// One worker's thread: a kernel listening on its socket, set up and run.
fn run_worker(
    index: usize,
    socket: WorkerSocket,
    address: String,
    config: &dyn Fn(usize) -> ServerConfig,
    setup: &dyn Fn(&mut Kernel, usize),
    ready: &Ready,
) -> Result<(), String> {
    let started = (|| -> Result<Kernel, String> {
        let mut kernel = Kernel::new().map_err(|e| e.to_string())?;
        let (listener, local_port) = match socket {
            WorkerSocket::Tcp(l) => {
                let port = l.local_addr().map_err(|e| e.to_string())?.port();
                (
                    Listener::Tcp(mio::net::TcpListener::from_std(l)),
                    Some(port),
                )
            }
            WorkerSocket::Unix(l, file) => (
                Listener::Unix(mio::net::UnixListener::from_std(l), file),
                None,
            ),
        };
        let bound = Bound {
            listener,
            address,
            local_port,
        };
        Server::start(&mut kernel, config(index), bound);
        setup(&mut kernel, index);
        Ok(kernel)
    })();
    let mut kernel = match started {
        Ok(kernel) => kernel,
        Err(reason) => {
            let _ = ready.send((index, Err(reason.clone())));
            return Err(reason);
        }
    };
    let _ = ready.send((index, Ok((kernel.id().to_owned(), kernel.handle()))));
    kernel.run().map_err(|e| e.to_string())
}

/// `threads` TCP sockets on one port, each with `SO_REUSEPORT`.
fn bind_tcp(
    ip: &str,
    port: u16,
    threads: usize,
) -> Result<(Vec<WorkerSocket>, String, Option<u16>), ServerError> {
    use socket2::{Domain, Protocol, Socket, Type};
    let mut addr = SocketAddr::new(parse_ip(ip)?, port);
    let mut sockets = Vec::with_capacity(threads);
    for _ in 0..threads {
        let listen = |addr: SocketAddr| -> std::io::Result<std::net::TcpListener> {
            let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
            socket.set_reuse_address(true)?;
            socket.set_reuse_port(true)?;
            socket.set_nonblocking(true)?;
            socket.bind(&addr.into())?;
            socket.listen(1024)?;
            Ok(socket.into())
        };
        let l = listen(addr).map_err(|source| ServerError::Listen {
            address: addr.to_string(),
            source,
        })?;
        if addr.port() == 0 {
            // The first socket picked the port; the others share it.
            addr = l.local_addr().map_err(|source| ServerError::Listen {
                address: addr.to_string(),
                source,
            })?;
        }
        sockets.push(WorkerSocket::Tcp(l));
    }
    let address = format!("{}:{}", addr.ip(), addr.port());
    Ok((sockets, address, Some(addr.port())))
}

/// One Unix socket, with a descriptor for each of `threads` kernels.
fn bind_unix(
    path: std::path::PathBuf,
    threads: usize,
) -> Result<(Vec<WorkerSocket>, String, Option<u16>), ServerError> {
    let fail = |source| ServerError::Listen {
        address: path.display().to_string(),
        source,
    };
    // An old socket file would make bind fail, as in IKC.
    let _ = std::fs::remove_file(&path);
    let l = std::os::unix::net::UnixListener::bind(&path).map_err(fail)?;
    l.set_nonblocking(true).map_err(fail)?;
    let address = unix_name(&path);
    let file = Arc::new(SocketFile { path: path.clone() });
    let mut sockets = Vec::with_capacity(threads);
    for _ in 1..threads {
        let clone = l.try_clone().map_err(fail)?;
        sockets.push(WorkerSocket::Unix(clone, Arc::clone(&file)));
    }
    sockets.push(WorkerSocket::Unix(l, file));
    Ok((sockets, address, None))
}
