//! The listening session: accepts connections and gives each to a channel
//! session, pausing at the concurrency limit.

use std::cell::RefCell;
use std::io;
use std::path::PathBuf;
use std::rc::Rc;
use std::sync::Arc;

use ikc_core::{Ctx, Event, Interest, Readiness, Session, SessionId, WatcherId};
use ikc_freezer::Value;
use ikc_responder::{
    ChannelOptions, ConnectionError, Ikc, MonitorOp, MonitorStates, OnError, Operation, Responder,
    Side, spawn_channel, unix_name,
};
use mio::net::{TcpListener, UnixListener};

use crate::config::ServerConfig;

const ACCEPT_STATE: &str = "IKC:accept";
const SHUTDOWN_STATE: &str = "IKC:server_shutdown";

/// A bound listening socket.
#[derive(Debug)]
pub(crate) enum Listener {
    Tcp(TcpListener),
    /// A Unix socket and its file, removed once every listener sharing it
    /// (one, or a pool's) has stopped.
    Unix(UnixListener, Arc<SocketFile>),
}

/// The file of a listening Unix socket, removed when the last listener
/// using it lets go.
#[derive(Debug)]
pub(crate) struct SocketFile {
    pub(crate) path: PathBuf,
}

impl Drop for SocketFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

impl Listener {
    fn source(&mut self) -> &mut dyn mio::event::Source {
        match self {
            Self::Tcp(l) => l,
            Self::Unix(l, _) => l,
        }
    }
}

/// The listening session.
pub(crate) struct ListenerSession {
    pub(crate) listener: Option<Listener>,
    pub(crate) address: String,
    pub(crate) watcher: Option<WatcherId>,
    pub(crate) config: ServerConfig,
    pub(crate) on_error: Option<Rc<RefCell<OnError>>>,
    pub(crate) connections: usize,
    pub(crate) channels: Vec<SessionId>,
    pub(crate) paused: bool,
}

impl ListenerSession {
    fn start(&mut self, ctx: &mut Ctx<'_>) {
        let ikc = Responder::spawn(ctx);
        let _ = ctx.alias_set(&format!("IKC Server {}", self.address));
        let mut names: Vec<String> = self.config.name.iter().cloned().collect();
        names.extend(self.config.aliases.iter().cloned());
        ikc.register_local(ctx, &names);
        ikc.monitor(
            ctx,
            "*",
            &MonitorStates::new().on(MonitorOp::Shutdown, SHUTDOWN_STATE),
        );
        self.on_error = self
            .config
            .on_error
            .take()
            .map(|f| Rc::new(RefCell::new(f)));
        let Some(listener) = self.listener.as_mut() else {
            return;
        };
        match ctx.watch(listener.source(), Interest::READABLE, ACCEPT_STATE) {
            Ok(id) => self.watcher = Some(id),
            Err(e) => {
                self.report(
                    ctx,
                    ConnectionError::kernel(Operation::Listen, e.to_string()),
                );
                self.listener = None;
            }
        }
        log::info!(
            "IKC server {} listening on {}",
            self.config
                .name
                .as_deref()
                .unwrap_or_else(|| ctx.kernel_id()),
            self.address
        );
    }

    fn report(&mut self, ctx: &mut Ctx<'_>, error: ConnectionError) {
        let heard = match &self.on_error {
            Some(f) => {
                (f.borrow_mut())(ctx, &error);
                true
            }
            None => Ikc::of(ctx).is_some_and(|ikc| ikc.report_connection_error(ctx, &error)),
        };
        if !heard {
            log::warn!("IKC server {}: {error}", self.address);
        }
    }

    fn accept(&mut self, ctx: &mut Ctx<'_>) {
        loop {
            if self.config.concurrency > 0 && self.connections >= self.config.concurrency {
                if !self.paused {
                    log::debug!(
                        "IKC server {}: at {} connections, pausing",
                        self.address,
                        self.connections
                    );
                }
                self.paused = true;
                return;
            }
            let Some(listener) = self.listener.as_mut() else {
                return;
            };
            let accepted = match listener {
                Listener::Tcp(l) => l.accept().map(|(stream, peer)| {
                    let _ = stream.set_nodelay(true);
                    let local = stream.local_addr().map_or_else(
                        |_| self.address.clone(),
                        |a| format!("{}:{}", a.ip(), a.port()),
                    );
                    let peer = format!("{}:{}", peer.ip(), peer.port());
                    (Stream::Tcp(stream), local, Some(peer))
                }),
                Listener::Unix(l, file) => {
                    let name = unix_name(&file.path);
                    l.accept()
                        .map(|(stream, _)| (Stream::Unix(stream), name, None))
                }
            };
            match accepted {
                Ok((stream, local, peer)) => self.start_channel(ctx, stream, local, peer),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    // Out of descriptors and the like: report, and retry on
                    // the next readiness rather than spin.
                    self.report(ctx, ConnectionError::from_io(Operation::Accept, &e));
                    return;
                }
            }
        }
    }

    fn start_channel(
        &mut self,
        ctx: &mut Ctx<'_>,
        stream: Stream,
        local: String,
        peer: Option<String>,
    ) {
        let mut options = ChannelOptions::new(Side::Server, local);
        options.name.clone_from(&self.config.name);
        options.aliases.clone_from(&self.config.aliases);
        options.peer_address = peer;
        options.protocol = self.config.protocol;
        options.freezers = self.config.freezers.clone();
        options.limits = self.config.limits;
        options.high_water = self.config.high_water;
        options.close_timeout = self.config.close_timeout;
        options.security = self.config.security.clone();
        options.link_weight = self.config.link_weight;
        if let Some(f) = &self.on_error {
            let f = Rc::clone(f);
            options.on_error = Some(Box::new(move |ctx, e| (f.borrow_mut())(ctx, e)));
        }
        let id = match stream {
            Stream::Tcp(s) => spawn_channel(ctx, s, options),
            Stream::Unix(s) => spawn_channel(ctx, s, options),
        };
        self.connections += 1;
        self.channels.push(id);
    }

    fn child_lost(&mut self, ctx: &mut Ctx<'_>, child: Option<SessionId>) {
        let Some(child) = child else { return };
        let before = self.channels.len();
        self.channels.retain(|&c| c != child);
        if self.channels.len() == before {
            return;
        }
        self.connections = self.connections.saturating_sub(1);
        if self.paused
            && (self.config.concurrency == 0 || self.connections < self.config.concurrency)
        {
            log::debug!(
                "IKC server {}: below the limit, accepting again",
                self.address
            );
            self.paused = false;
            // Connections that waited are not signalled again: accept now.
            self.accept(ctx);
        }
    }

    fn stop_listening(&mut self, ctx: &mut Ctx<'_>) {
        if let (Some(mut listener), Some(id)) = (self.listener.take(), self.watcher.take()) {
            let _ = ctx.unwatch(listener.source(), id);
            // Dropping it lets go of a Unix socket's file.
        }
        let _ = ctx.alias_remove(&format!("IKC Server {}", self.address));
        if let Some(ikc) = Ikc::of(ctx) {
            ikc.monitor(ctx, "*", &MonitorStates::new());
        }
    }
}

enum Stream {
    Tcp(mio::net::TcpStream),
    Unix(mio::net::UnixStream),
}

impl Session for ListenerSession {
    fn handle(&mut self, ctx: &mut Ctx<'_>, event: Event) -> Value {
        match event.state() {
            ACCEPT_STATE if Readiness::from_event(&event).is_some() && !self.paused => {
                self.accept(ctx);
            }
            "_child" if event.arg(0).and_then(Value::as_str) == Some("lose") => {
                let child = event.arg(1).and_then(SessionId::from_value);
                self.child_lost(ctx, child);
            }
            SHUTDOWN_STATE | "shutdown" => self.stop_listening(ctx),
            "_start" => self.start(ctx),
            "_stop" => self.stop_listening(ctx),
            _ => {}
        }
        Value::Undef
    }
}
