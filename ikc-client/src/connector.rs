//! The client session: connects (with a timeout), hands the socket to a
//! channel session, and reconnects with backoff when asked to.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::io;
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::os::fd::AsRawFd;
use std::rc::Rc;
use std::time::Duration;

use ikc_core::{AlarmId, Ctx, Event, Interest, Readiness, Session, SessionId, WatcherId};
use ikc_freezer::{Registry, Value};
use ikc_responder::{
    ChannelOptions, ConnectionError, Ikc, MonitorOp, MonitorStates, Operation, Responder, Side,
    spawn_channel, unix_name,
};
use mio::net::{TcpStream, UnixStream};

use crate::config::{ClientConfig, OnConnect, OnError};

const CONNECTED_STATE: &str = "IKC:connected";
const CONNECT_TIMEOUT_STATE: &str = "IKC:connect_timeout";
const RECONNECT_STATE: &str = "IKC:reconnect";
/// The host name's addresses, from the resolver thread.
const RESOLVED_STATE: &str = "IKC:resolved";
const UP_STATE: &str = "IKC:up";
const SHUTDOWN_STATE: &str = "IKC:client_shutdown";

enum Conn {
    Tcp(TcpStream),
    Unix(UnixStream),
}

impl Conn {
    fn source(&mut self) -> &mut dyn mio::event::Source {
        match self {
            Self::Tcp(s) => s,
            Self::Unix(s) => s,
        }
    }

    /// `Ok(true)` once connected, `Ok(false)` if still in progress.
    fn check(&self) -> io::Result<bool> {
        let (err, connected) = match self {
            Self::Tcp(s) => (s.take_error()?, s.peer_addr()),
            Self::Unix(s) => (
                s.take_error()?,
                s.peer_addr().map(|_| SocketAddr::from(([0, 0, 0, 0], 0))),
            ),
        };
        if let Some(e) = err {
            return Err(e);
        }
        match connected {
            Ok(_) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::NotConnected => Ok(false),
            Err(e) => Err(e),
        }
    }
}

pub(crate) struct ClientSession {
    pub(crate) config: ClientConfig,
    pub(crate) freezers: Registry,
    pub(crate) on_connect: Rc<RefCell<Option<OnConnect>>>,
    pub(crate) on_error: Rc<RefCell<Option<OnError>>>,
    pub(crate) alias: String,
    pending: Option<(Conn, WatcherId)>,
    /// Addresses of the host not tried yet in this connection attempt.
    addresses: VecDeque<SocketAddr>,
    timeout: Option<AlarmId>,
    channel: Option<SessionId>,
    backoff: Duration,
    failures: u32,
    stopped: bool,
    /// Counts host name resolutions: an answer for an earlier one is
    /// dropped.
    resolution: i64,
}

impl ClientSession {
    pub(crate) fn new(mut config: ClientConfig, freezers: Registry) -> Self {
        let on_connect = Rc::new(RefCell::new(config.on_connect.take()));
        let on_error = Rc::new(RefCell::new(config.on_error.take()));
        let backoff = config.reconnect.map_or(Duration::ZERO, |r| r.initial);
        Self {
            alias: format!("IKC Client {}", config.name),
            config,
            freezers,
            on_connect,
            on_error,
            pending: None,
            addresses: VecDeque::new(),
            timeout: None,
            channel: None,
            backoff,
            failures: 0,
            stopped: false,
            resolution: 0,
        }
    }

    fn start(&mut self, ctx: &mut Ctx<'_>) {
        let ikc = Responder::spawn(ctx);
        let _ = ctx.alias_set(&self.alias);
        let mut names = vec![self.config.name.clone()];
        names.extend(self.config.aliases.iter().cloned());
        ikc.register_local(ctx, &names);
        ikc.monitor(
            ctx,
            "*",
            &MonitorStates::new().on(MonitorOp::Shutdown, SHUTDOWN_STATE),
        );
        self.connect(ctx);
    }

    fn report(&mut self, ctx: &mut Ctx<'_>, error: ConnectionError) {
        let heard = match self.on_error.borrow_mut().as_mut() {
            Some(f) => {
                f(ctx, &error);
                true
            }
            None => false,
        };
        let heard =
            heard || Ikc::of(ctx).is_some_and(|ikc| ikc.report_connection_error(ctx, &error));
        if !heard {
            log::warn!("IKC client {}: {error}", self.config.name);
        }
    }

    fn address(&self) -> String {
        match &self.config.unix {
            Some(path) => path.display().to_string(),
            None => format!("{}:{}", self.config.host, self.config.port),
        }
    }

    fn connect(&mut self, ctx: &mut Ctx<'_>) {
        if self.stopped {
            return;
        }
        self.addresses.clear();
        if self.config.unix.is_none() && !self.config.addresses.is_empty() {
            self.addresses.extend(self.config.addresses.iter().copied());
        } else if self.config.unix.is_none() {
            let host = self
                .config
                .host
                .trim_start_matches('[')
                .trim_end_matches(']');
            match host.parse::<IpAddr>() {
                Ok(ip) => self
                    .addresses
                    .push_back(SocketAddr::new(ip, self.config.port)),
                Err(_) => {
                    self.resolve(ctx);
                    return;
                }
            }
        }
        self.try_next(ctx);
    }

    /// Resolve the host name on a thread of its own (the system resolver
    /// blocks, and the kernel's thread must not): the addresses come back
    /// as [`RESOLVED_STATE`] through the kernel's handle.
    fn resolve(&mut self, ctx: &mut Ctx<'_>) {
        self.resolution += 1;
        let resolution = self.resolution;
        let (host, port) = (self.config.host.clone(), self.config.port);
        let handle = ctx.handle();
        let me = ctx.session_id();
        let spawned = std::thread::Builder::new()
            .name("ikc-resolve".to_owned())
            .spawn(move || {
                let args = match (host.as_str(), port).to_socket_addrs() {
                    Ok(addrs) => vec![
                        Value::from(resolution),
                        Value::Array(addrs.map(|a| Value::from(a.to_string())).collect()),
                    ],
                    Err(e) => vec![
                        Value::from(resolution),
                        Value::Undef,
                        Value::from(e.to_string()),
                    ],
                };
                // The kernel may have stopped meanwhile: nobody to tell.
                let _ = handle.post(me, RESOLVED_STATE, args);
            });
        if let Err(e) = spawned {
            self.failed(ctx, ConnectionError::from_io(Operation::Connect, &e));
        }
    }

    /// The resolver thread's answer: `[resolution, [addresses]]`, or
    /// `[resolution, undef, message]`.
    fn resolved(&mut self, ctx: &mut Ctx<'_>, args: &[Value]) {
        let current = args.first().and_then(Value::as_i64) == Some(self.resolution);
        if !current || self.stopped || self.pending.is_some() {
            return;
        }
        let Some(addrs) = args.get(1).and_then(Value::as_array) else {
            let message = args.get(2).map(Value::to_string).unwrap_or_default();
            let e = io::Error::new(io::ErrorKind::NotFound, message);
            self.failed(ctx, ConnectionError::from_io(Operation::Connect, &e));
            return;
        };
        self.addresses.clear();
        self.addresses.extend(
            addrs
                .iter()
                .filter_map(|a| a.as_str()?.parse::<SocketAddr>().ok()),
        );
        if self.addresses.is_empty() {
            let e = io::Error::new(io::ErrorKind::NotFound, "the host has no address");
            self.failed(ctx, ConnectionError::from_io(Operation::Connect, &e));
            return;
        }
        self.try_next(ctx);
    }

    /// Start connecting to the next address of the host (a name may
    /// resolve to several, e.g. `::1` and `127.0.0.1`); the last failure is
    /// the one reported.
    fn try_next(&mut self, ctx: &mut Ctx<'_>) {
        let conn = match &self.config.unix {
            Some(path) => UnixStream::connect(path).map(Conn::Unix),
            None => match self.addresses.pop_front() {
                Some(addr) => TcpStream::connect(addr).map(Conn::Tcp),
                None => return,
            },
        };
        let mut conn = match conn {
            Ok(c) => c,
            Err(e) => {
                self.attempt_failed(ctx, ConnectionError::from_io(Operation::Connect, &e));
                return;
            }
        };
        match ctx.watch(conn.source(), Interest::WRITABLE, CONNECTED_STATE) {
            Ok(id) => self.pending = Some((conn, id)),
            Err(e) => {
                self.failed(
                    ctx,
                    ConnectionError::kernel(Operation::Connect, e.to_string()),
                );
                return;
            }
        }
        self.timeout = Some(ctx.delay_set(
            CONNECT_TIMEOUT_STATE,
            self.config.connect_timeout,
            Vec::new(),
        ));
    }

    /// One address failed: try the next, or report the failure.
    fn attempt_failed(&mut self, ctx: &mut Ctx<'_>, error: ConnectionError) {
        if self.addresses.is_empty() {
            self.failed(ctx, error);
        } else {
            log::debug!(
                "IKC client {}: {error}; trying the next address",
                self.config.name
            );
            self.try_next(ctx);
        }
    }

    fn on_writable(&mut self, ctx: &mut Ctx<'_>) {
        let Some((conn, _)) = &self.pending else {
            return;
        };
        match conn.check() {
            Ok(false) => {}
            Ok(true) => self.connected(ctx),
            Err(e) => {
                self.drop_pending(ctx);
                self.attempt_failed(ctx, ConnectionError::from_io(Operation::Connect, &e));
            }
        }
    }

    fn drop_pending(&mut self, ctx: &mut Ctx<'_>) {
        if let Some(id) = self.timeout.take() {
            ctx.alarm_remove(id);
        }
        if let Some((mut conn, id)) = self.pending.take() {
            let _ = ctx.unwatch(conn.source(), id);
        }
    }

    fn connected(&mut self, ctx: &mut Ctx<'_>) {
        if let Some(id) = self.timeout.take() {
            ctx.alarm_remove(id);
        }
        let Some((mut conn, id)) = self.pending.take() else {
            return;
        };
        let _ = ctx.unwatch(conn.source(), id);
        let (local, peer) = match &conn {
            Conn::Tcp(s) => {
                let _ = s.set_nodelay(true);
                let local = s
                    .local_addr()
                    .map_or_else(|_| String::new(), |a| format!("{}:{}", a.ip(), a.port()));
                (local, format!("{}:{}", self.config.host, self.config.port))
            }
            Conn::Unix(s) => {
                let path = self.config.unix.clone().unwrap_or_default();
                let name = unix_name(&path);
                (
                    format!("{name}:{}-{}", std::process::id(), s.as_raw_fd()),
                    name,
                )
            }
        };
        log::info!(
            "IKC client {} connected to {}",
            self.config.name,
            self.address()
        );
        let mut options = ChannelOptions::new(Side::Client, local);
        options.name = Some(self.config.name.clone());
        options.aliases.clone_from(&self.config.aliases);
        options.peer_address = Some(peer);
        options.protocol = self.config.protocol;
        options.freezers = self.freezers.clone();
        options.limits = self.config.limits;
        options.high_water = self.config.high_water;
        options.close_timeout = self.config.close_timeout;
        options.security = self.config.security.clone();
        options.link_weight = self.config.link_weight;
        options.subscribe.clone_from(&self.config.subscribe);
        let me = ctx.session_id();
        let on_connect = Rc::clone(&self.on_connect);
        options.on_connect = Some(Box::new(move |ctx| {
            let _ = ctx.post(me, UP_STATE, Vec::new());
            if let Some(f) = on_connect.borrow_mut().as_mut() {
                f(ctx);
            }
        }));
        let on_error = Rc::clone(&self.on_error);
        if on_error.borrow().is_some() {
            options.on_error = Some(Box::new(move |ctx, e| {
                if let Some(f) = on_error.borrow_mut().as_mut() {
                    f(ctx, e);
                }
            }));
        }
        self.channel = Some(match conn {
            Conn::Tcp(s) => spawn_channel(ctx, s, options),
            Conn::Unix(s) => spawn_channel(ctx, s, options),
        });
    }

    /// A connect failed: report it, then retry or give up.
    fn failed(&mut self, ctx: &mut Ctx<'_>, error: ConnectionError) {
        self.report(ctx, error);
        self.retry_or_stop(ctx);
    }

    fn retry_or_stop(&mut self, ctx: &mut Ctx<'_>) {
        let Some(reconnect) = self.config.reconnect.filter(|_| !self.stopped) else {
            self.stop(ctx);
            return;
        };
        self.failures += 1;
        if reconnect.attempts.is_some_and(|max| self.failures > max) {
            log::warn!(
                "IKC client {}: giving up after {} attempts",
                self.config.name,
                self.failures - 1
            );
            self.stop(ctx);
            return;
        }
        let wait = jittered(self.backoff, random_unit());
        log::info!(
            "IKC client {}: reconnecting to {} in {wait:?}",
            self.config.name,
            self.address(),
        );
        ctx.delay(RECONNECT_STATE, wait, Vec::new());
        self.backoff = (self.backoff * 2).min(reconnect.max);
    }

    fn stop(&mut self, ctx: &mut Ctx<'_>) {
        self.stopped = true;
        self.drop_pending(ctx);
        ctx.delay_clear(RECONNECT_STATE);
        let _ = ctx.alias_remove(&self.alias);
        if let Some(ikc) = Ikc::of(ctx) {
            ikc.monitor(ctx, "*", &MonitorStates::new());
        }
    }

    fn shutdown(&mut self, ctx: &mut Ctx<'_>) {
        self.stop(ctx);
        if let Some(channel) = self.channel {
            let _ = ctx.post(channel, "shutdown", Vec::new());
        }
    }
}

/// A wait between half of `backoff` and all of it, `unit` (in `[0, 1)`)
/// choosing where: clients that lost the same server do not all come back
/// at the same moment (equal jitter).
fn jittered(backoff: Duration, unit: f64) -> Duration {
    let half = backoff / 2;
    half + half.mul_f64(unit.clamp(0.0, 1.0))
}

/// A random number in `[0, 1)`, from the standard library's randomly
/// seeded hasher (no generator needed for a jitter).
fn random_unit() -> f64 {
    let bits = RandomState::new().build_hasher().finish() >> 11;
    // 53 bits: exactly representable.
    bits as f64 / (1_u64 << 53) as f64
}

impl Session for ClientSession {
    fn handle(&mut self, ctx: &mut Ctx<'_>, event: Event) -> Value {
        match event.state() {
            CONNECTED_STATE if Readiness::from_event(&event).is_some() => self.on_writable(ctx),
            CONNECT_TIMEOUT_STATE => {
                self.timeout = None;
                if self.pending.is_some() {
                    self.drop_pending(ctx);
                    let after = self.config.connect_timeout;
                    self.attempt_failed(
                        ctx,
                        ConnectionError::TimedOut {
                            operation: Operation::Connect,
                            message: format!("connection timed out after {after:?}"),
                        },
                    );
                }
            }
            RECONNECT_STATE => self.connect(ctx),
            RESOLVED_STATE => self.resolved(ctx, &event.args),
            UP_STATE => {
                self.failures = 0;
                self.backoff = self.config.reconnect.map_or(Duration::ZERO, |r| r.initial);
            }
            "_child" => {
                let lost = event.arg(0).and_then(Value::as_str) == Some("lose");
                let child = event.arg(1).and_then(SessionId::from_value);
                if lost && child.is_some() && child == self.channel {
                    self.channel = None;
                    self.retry_or_stop(ctx);
                }
            }
            SHUTDOWN_STATE | "shutdown" => self.shutdown(ctx),
            "_start" => self.start(ctx),
            _ => {}
        }
        Value::Undef
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_jittered_wait_lies_between_half_and_all_of_the_backoff() {
        let backoff = Duration::from_millis(800);
        assert_eq!(jittered(backoff, 0.0), Duration::from_millis(400));
        assert_eq!(jittered(backoff, 0.5), Duration::from_millis(600));
        assert!(jittered(backoff, 0.999_999) <= backoff);
        assert_eq!(jittered(Duration::ZERO, 0.7), Duration::ZERO);
    }

    #[test]
    fn random_units_are_in_range_and_vary() {
        let draws: Vec<f64> = (0..64).map(|_| random_unit()).collect();
        assert!(draws.iter().all(|u| (0.0..1.0).contains(u)));
        let first = draws[0];
        assert!(draws.iter().any(|u| (u - first).abs() > f64::EPSILON));
    }
}
