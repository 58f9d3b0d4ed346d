//! IKC servers: kernels that listen for other kernels (POE::Component::IKC::Server).
//!
//! [`Server::spawn`] binds a TCP port (0 picks one) or a Unix socket,
//! starts the IKC responder if needed, and gives every connection to a
//! channel session that runs IKC's handshake (IKC0, or the older IKC) and
//! then carries messages. Perl IKC clients and ClientLite connect to it as
//! they would to a Perl server.
//!
//! # Example
//!
//! A server and a client in one process, each kernel on its own thread:
//! the client calls the server's published `test/fetchQ` and gets 42.
//!
//! ```
//! use std::sync::mpsc;
//! use ikc_client::{Client, ClientConfig};
//! use ikc_core::{InlineStates, Kernel};
//! use ikc_freezer::Value;
//! use ikc_responder::Ikc;
//! use ikc_server::{Server, ServerConfig};
//!
//! // The server kernel: a session `test` publishing `fetchQ`.
//! let (port_tx, port_rx) = mpsc::channel();
//! let server = std::thread::spawn(move || -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
//!     let mut kernel = Kernel::new()?;
//!     let listening = Server::spawn(&mut kernel, ServerConfig::tcp("127.0.0.1", 0).name("Server"))?;
//!     kernel.spawn(InlineStates::new()
//!         .state("_start", |_, ctx, _| {
//!             ctx.alias_set("test").unwrap();
//!             Ikc::of(ctx).unwrap().publish("test", &["fetchQ", "bye"]);
//!         })
//!         .state("fetchQ", |_, _, _| Value::from(42))
//!         .state("bye", |_, ctx, _| Ikc::of(ctx).unwrap().shutdown(ctx)));
//!     port_tx.send(listening.port().unwrap())?;
//!     kernel.run()?;
//!     Ok(())
//! });
//!
//! // The client kernel: call test/fetchQ, then shut IKC down on both sides.
//! let port = port_rx.recv()?;
//! let mut kernel = Kernel::new()?;
//! let (answer_tx, answer_rx) = mpsc::channel();
//! kernel.spawn(InlineStates::new()
//!     .state("_start", move |_, ctx, _| {
//!         ctx.alias_set("me").unwrap();
//!         let mut config = ClientConfig::tcp("127.0.0.1", port).name("Client");
//!         let me = ctx.session_id();
//!         config.on_connect = Some(Box::new(move |ctx| { let _ = ctx.post(me, "go", vec![]); }));
//!         Client::spawn(ctx, config).unwrap();
//!     })
//!     .state("go", |_, ctx, _| {
//!         Ikc::of(ctx).unwrap().call(ctx, "poe://Server/test/fetchQ", (), "answer");
//!     })
//!     .state("answer", move |_, ctx, ev| {
//!         answer_tx.send(ev.args[0].clone()).unwrap();
//!         let ikc = Ikc::of(ctx).unwrap();
//!         ikc.post(ctx, "poe://Server/test/bye", ());   // queued output is flushed...
//!         ikc.shutdown(ctx);                            // ...before the channel closes
//!     }));
//! kernel.run()?;
//! assert_eq!(answer_rx.recv()?, Value::Int(42));
//! server.join().unwrap().unwrap();   // the server kernel ran out of sessions too
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

//!
//! # Many kernels on one port (IKC's prefork `processes`)
//!
//! Perl IKC's server can fork `processes` children that share its
//! listening socket, because a Perl process runs one kernel on one core.
//! [`Server::spawn_pool`] is the Rust answer: N kernels on N threads of one
//! process, each with its own socket on the same TCP port (`SO_REUSEPORT`:
//! the OS spreads connections over them) or its own descriptor for the
//! same Unix socket, and each running your setup closure, as each Perl
//! child runs the script. A kernel's sessions, responder and published
//! states are its own; clients see every kernel under the configured name
//! and its own real ID.
//!
//! ```
//! use ikc_core::InlineStates;
//! use ikc_freezer::Value;
//! use ikc_responder::{Ikc, MonitorOp, MonitorStates};
//! use ikc_server::{Server, ServerConfig};
//!
//! let mut pool = Server::spawn_pool(
//!     2,
//!     |_| ServerConfig::tcp("127.0.0.1", 0).name("Pool"),
//!     |kernel, index| {
//!         // Runs on each kernel's thread: `whoami/index` answers which kernel.
//!         kernel.spawn(InlineStates::with_heap(index)
//!             .state("_start", |_, ctx, _| {
//!                 ctx.alias_set("whoami").unwrap();
//!                 let ikc = Ikc::of(ctx).unwrap();
//!                 ikc.publish("whoami", &["index"]);
//!                 ikc.monitor(ctx, "*", &MonitorStates::new().on(MonitorOp::Shutdown, "bye"));
//!             })
//!             .state("index", |index, _, _| Value::from(*index))
//!             .state("bye", |_, ctx, _| { let _ = ctx.alias_remove("whoami"); }));
//!     },
//! )?;
//! assert_eq!(pool.len(), 2);
//! assert!(pool.port().is_some());     // one port, shared by both kernels
//! pool.shutdown();                    // IKC/shutdown in every kernel...
//! pool.join()?;                       // ...and each kernel exits
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![warn(missing_docs)]
#![forbid(unsafe_code)]
#![doc(test(attr(deny(warnings))))]

mod config;
mod error;
mod listener;
mod pool;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use ikc_core::{SessionId, Spawner};
use mio::net::{TcpListener, UnixListener};

pub use crate::config::ServerConfig;
pub use crate::error::ServerError;
use crate::listener::{Listener, ListenerSession, SocketFile};
pub use crate::pool::ServerPool;
use ikc_responder::unix_name;
pub use ikc_responder::{
    Authorizer, ConfigError, ConnectingPeer, Secret, TlsConfigError, TlsServer,
};

/// Starts IKC servers.
#[derive(Debug)]
pub struct Server;

/// A server that is listening.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Listening {
    /// The listening session (its `_child lose` notices track connections).
    pub session: SessionId,
    /// The TCP address bound, or `unix:path`.
    pub address: String,
    /// The TCP port bound (the one picked when port 0 was asked), if TCP.
    pub local_port: Option<u16>,
}

impl Listening {
    /// The TCP port bound, if TCP (IKC's `spawn` returns it).
    pub fn port(&self) -> Option<u16> {
        self.local_port
    }
}

/// A socket bound for a server, before its listening session starts.
#[derive(Debug)]
pub(crate) struct Bound {
    pub(crate) listener: Listener,
    pub(crate) address: String,
    pub(crate) local_port: Option<u16>,
}

impl Server {
    /// Bind and start listening (IKC::Server's `spawn`). The socket is
    /// bound before this returns, so the port is known and errors are
    /// reported here; connections are accepted once the kernel runs.
    ///
    /// # Errors
    ///
    /// [`ServerError`] if the address is bad or cannot be bound.
    pub fn spawn(
        spawner: &mut impl Spawner,
        config: ServerConfig,
    ) -> Result<Listening, ServerError> {
        let bound = match config.unix.clone() {
            Some(path) => {
                // An old socket file would make bind fail, as in IKC.
                let _ = std::fs::remove_file(&path);
                let l = UnixListener::bind(&path).map_err(|source| ServerError::Listen {
                    address: path.display().to_string(),
                    source,
                })?;
                Bound {
                    address: unix_name(&path),
                    listener: Listener::Unix(l, Arc::new(SocketFile { path })),
                    local_port: None,
                }
            }
            None => {
                let addr = SocketAddr::new(parse_ip(&config.host)?, config.port);
                let l = TcpListener::bind(addr).map_err(|source| ServerError::Listen {
                    address: addr.to_string(),
                    source,
                })?;
                let bound = l.local_addr().map_err(|source| ServerError::Listen {
                    address: addr.to_string(),
                    source,
                })?;
                Bound {
                    listener: Listener::Tcp(l),
                    address: format!("{}:{}", bound.ip(), bound.port()),
                    local_port: Some(bound.port()),
                }
            }
        };
        Ok(Self::start(spawner, config, bound))
    }

    /// Start the listening session on a bound socket.
    pub(crate) fn start(
        spawner: &mut impl Spawner,
        mut config: ServerConfig,
        bound: Bound,
    ) -> Listening {
        if let Some(port) = bound.local_port {
            config.port = port;
        }
        let session = spawner.spawn_session(ListenerSession {
            listener: Some(bound.listener),
            address: bound.address.clone(),
            watcher: None,
            config,
            on_error: None,
            connections: 0,
            channels: Vec::new(),
            paused: false,
        });
        Listening {
            session,
            address: bound.address,
            local_port: bound.local_port,
        }
    }
}

/// The IP address a server listens on.
pub(crate) fn parse_ip(ip: &str) -> Result<IpAddr, ServerError> {
    ip.parse()
        .map_err(|e: std::net::AddrParseError| ServerError::BadAddress {
            address: ip.to_owned(),
            reason: e.to_string(),
        })
}
