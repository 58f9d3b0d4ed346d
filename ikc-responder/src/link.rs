//! Channel sessions: one per connection. A channel session runs IKC's
//! handshake over its socket, registers the remote kernel with the
//! responder, hands incoming requests to it, and writes what the responder
//! queues for the remote kernel (IKC::Channel).

use std::cell::RefCell;
use std::fmt;
use std::io::{Read, Write};
use std::rc::{Rc, Weak};
use std::time::Duration;

use ikc_channel::{
    Channel, ChannelEvent, ClientChannelConfig, FrameError, Identity, Limits, Message, Peer,
    Protocol, ServerChannelConfig, Side,
};
use ikc_core::{AlarmId, Ctx, Event, ReadWrite, Readiness, Session, SessionId, Spawner, StateName};
use ikc_freezer::{Registry, Value};
use ikc_specifier::HashForm;

use crate::error::{ConnectionError, Operation};
use crate::introspect::LinkStats;
use crate::monitor::MonitorOp;
use crate::responder::{IKC_ALIAS, Responder};
use crate::security::LinkSecurity;
use crate::send::{
    ErrorSide, FLUSH_STATE, error_params, inform, report_error, report_plain, send_msg,
};
use crate::state::{Link, LinkPhase, LinkRef, Route, State};

/// The state readiness events of the socket arrive in.
const IO_STATE: &str = "IKC:io";
/// The state the handshake deadline fires in.
const TIMEOUT_STATE: &str = "IKC:timeout";
/// The state the subscriptions of a new channel complete in.
const DONE_STATE: &str = "IKC:done";
/// The state a closing channel gives up writing in.
const CLOSE_TIMEOUT_STATE: &str = "IKC:close_timeout";
/// Default bound on output queued for a peer that does not read.
pub const DEFAULT_HIGH_WATER: usize = 64 * 1024 * 1024;
/// Default time a closing channel may take to write what is queued.
pub const DEFAULT_CLOSE_TIMEOUT: Duration = Duration::from_secs(30);

/// A byte stream a channel can run on: a mio `TcpStream` or `UnixStream`.
pub trait ChannelStream: Read + Write + mio::event::Source + 'static {}

impl<T: Read + Write + mio::event::Source + 'static> ChannelStream for T {}

/// Called once the channel is up and its subscriptions succeeded (IKC's
/// `on_connect`), in the channel session.
pub type OnConnect = Box<dyn FnOnce(&mut Ctx<'_>)>;

/// Called for errors while the connection is being set up (IKC's
/// `on_error`), in the session that reports them.
pub type OnError = Box<dyn FnMut(&mut Ctx<'_>, &ConnectionError)>;

/// How a channel session is set up. Servers and clients fill this in.
#[non_exhaustive]
pub struct ChannelOptions {
    /// Which end of the connection we are.
    pub side: Side,
    /// Our kernel's name on this channel (the server's or client's `name`).
    pub name: Option<String>,
    /// More names for our kernel.
    pub aliases: Vec<String>,
    /// Our end of the socket as IKC names it: `ip:port`, or `unix:path`.
    pub local_address: String,
    /// The peer as we know it: the `host:port` a client connected to, or
    /// the `ip:port` a client connected from. Registered as an alias of the
    /// remote kernel.
    pub peer_address: Option<String>,
    /// The handshake to use (a server accepts both).
    pub protocol: Protocol,
    /// Client: the freezers to offer, in order of preference. Server: the
    /// freezers accepted.
    pub freezers: Registry,
    /// Handshake and framing limits.
    pub limits: Limits,
    /// Remote sessions to subscribe to once connected (client).
    pub subscribe: Vec<String>,
    /// Called when the channel is up and subscribed.
    pub on_connect: Option<OnConnect>,
    /// Called for errors before the channel is up.
    pub on_error: Option<OnError>,
    /// Close the channel when this many bytes wait for a peer that does not read.
    pub high_water: usize,
    /// How long a closing channel (`IKC/shutdown`) may take to write what
    /// is queued for the peer; after that it is closed anyway, so a peer
    /// that stopped reading cannot keep the kernel from exiting.
    pub close_timeout: Duration,
    /// Shared secret, TLS and the authorization hook (none by default).
    pub security: LinkSecurity,
    /// The routing weight of this link, fixed instead of derived from the
    /// measured round trip (`None` by default: measured). Routes prefer
    /// links of smaller weight; a measured loopback link weighs about 100.
    /// The peer is told and takes the same weight, unless it fixes one
    /// itself (then the larger of both counts, as for measured weights).
    pub link_weight: Option<u32>,
}

impl fmt::Debug for ChannelOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChannelOptions")
            .field("side", &self.side)
            .field("name", &self.name)
            .field("aliases", &self.aliases)
            .field("local_address", &self.local_address)
            .field("peer_address", &self.peer_address)
            .field("protocol", &self.protocol)
            .field("freezers", &self.freezers.names())
            .field("subscribe", &self.subscribe)
            .field("on_connect", &self.on_connect.is_some())
            .field("on_error", &self.on_error.is_some())
            .field("high_water", &self.high_water)
            .field("close_timeout", &self.close_timeout)
            .field("security", &self.security)
            .field("link_weight", &self.link_weight)
            .finish_non_exhaustive()
    }
}

impl ChannelOptions {
    /// Options for one end of a connection: standard freezers, IKC0,
    /// default limits, no callbacks.
    pub fn new(side: Side, local_address: impl Into<String>) -> Self {
        Self {
            side,
            name: None,
            aliases: Vec::new(),
            local_address: local_address.into(),
            peer_address: None,
            protocol: Protocol::Ikc0,
            freezers: Registry::standard(),
            limits: Limits::default(),
            subscribe: Vec::new(),
            on_connect: None,
            on_error: None,
            high_water: DEFAULT_HIGH_WATER,
            close_timeout: DEFAULT_CLOSE_TIMEOUT,
            security: LinkSecurity::default(),
            link_weight: None,
        }
    }
}

/// Start a channel session for a connected socket. Its `_start` begins
/// the handshake (a client speaks first). Returns the session's id.
pub fn spawn_channel<S: ChannelStream>(
    spawner: &mut impl Spawner,
    stream: S,
    options: ChannelOptions,
) -> SessionId {
    spawner.spawn_session(ChannelSession {
        stream: Some(stream),
        wheel: None,
        link: None,
        shared: Weak::new(),
        options,
        out: Vec::new(),
        timeout: None,
        close_timeout: None,
    })
}

/// A channel session. The connection's state (peer, phase) lives in its
/// [`Link`], shared with the responder; the session owns the socket.
struct ChannelSession<S: ChannelStream> {
    stream: Option<S>,
    wheel: Option<ReadWrite<S>>,
    /// Set in `_start`, once the channel and socket are set up.
    link: Option<LinkRef>,
    shared: Weak<RefCell<State>>,
    options: ChannelOptions,
    out: Vec<u8>,
    timeout: Option<AlarmId>,
    /// Set while a closed channel still writes what was queued.
    close_timeout: Option<AlarmId>,
}

impl<S: ChannelStream> ChannelSession<S> {
    fn shared(&self) -> Option<Rc<RefCell<State>>> {
        self.shared.upgrade()
    }

    /// The peer's real ID, once negotiated.
    fn remote_id(&self) -> Option<String> {
        self.link
            .as_ref()
            .and_then(|l| l.borrow().remote_id.as_deref().map(str::to_owned))
    }

    /// Is the handshake done?
    fn is_negotiated(&self) -> bool {
        self.link
            .as_ref()
            .is_some_and(|l| l.borrow().remote_id.is_some())
    }

    /// Is the channel closing or closed?
    fn is_closed(&self) -> bool {
        self.link.as_ref().is_some_and(|l| l.borrow().is_closed())
    }

    fn start(&mut self, ctx: &mut Ctx<'_>) {
        let ikc = Responder::spawn(ctx);
        self.shared = Rc::downgrade(ikc.shared());
        let me = ctx.session_id();
        let mut names: Vec<String> = self.options.name.iter().cloned().collect();
        names.extend(self.options.aliases.iter().cloned());
        names.push(self.options.local_address.clone());
        names.retain(|n| !n.is_empty());
        let kernel_name = names.first().cloned().unwrap_or_default();
        let mut identity = Identity::new(ctx.kernel_id());
        identity.names = names;
        let now = ctx.now();
        let channel = match self.options.side {
            Side::Client => {
                let mut config = ClientChannelConfig::new(identity, self.options.freezers.clone());
                config.protocol = self.options.protocol;
                config.peer_address.clone_from(&self.options.peer_address);
                config.limits = self.options.limits;
                self.options.security.apply_to_client(&mut config);
                Channel::client(config, now)
            }
            _ => {
                let mut config = ServerChannelConfig::new(identity, self.options.freezers.clone());
                config.names_for_foreign_clients = crate::mesh::far_names(&ikc.shared().borrow());
                config.protocol = self.options.protocol;
                config.peer_address.clone_from(&self.options.peer_address);
                config.limits = self.options.limits;
                self.options.security.apply_to_server(&mut config);
                Channel::server(config, now)
            }
        };
        let channel = match channel {
            Ok(c) => c,
            Err(e) => {
                self.fail(
                    ctx,
                    ConnectionError::kernel(Operation::Setup, e.to_string()),
                );
                return;
            }
        };
        let Some(stream) = self.stream.take() else {
            return;
        };
        let mut wheel = match ReadWrite::new(ctx, stream, IO_STATE) {
            Ok(w) => w,
            Err((_, e)) => {
                self.fail(
                    ctx,
                    ConnectionError::kernel(Operation::Setup, e.to_string()),
                );
                return;
            }
        };
        wheel.set_high_water(self.options.high_water);
        self.wheel = Some(wheel);
        let link = Rc::new(RefCell::new(Link {
            channel,
            kernel_name,
            remote_id: None,
            registered: false,
            phase: LinkPhase::Negotiating,
            remote_names: Vec::new(),
            mesh: crate::mesh::MeshRole::Outside,
            awaiting_eof: false,
            dialed: self.options.side == Side::Client,
            link_weight: self.options.link_weight,
            flush_pending: false,
            draining: false,
            last_rsvp: None,
            stats: LinkStats::new(
                &self.options.local_address,
                self.options.peer_address.as_deref(),
            ),
        }));
        ikc.shared().borrow_mut().links.insert(me, Rc::clone(&link));
        self.link = Some(link);
        self.flush(ctx);
        self.arm_timeout(ctx);
    }

    fn arm_timeout(&mut self, ctx: &mut Ctx<'_>) {
        if let Some(id) = self.timeout.take() {
            ctx.alarm_remove(id);
        }
        let deadline = self
            .link
            .as_ref()
            .and_then(|l| l.borrow().channel.poll_timeout());
        if let Some(deadline) = deadline {
            self.timeout = Some(ctx.alarm_set(TIMEOUT_STATE, deadline, Vec::new()));
        }
    }

    fn on_timeout(&mut self, ctx: &mut Ctx<'_>) {
        self.timeout = None;
        let Some(link) = self.link.clone() else {
            return;
        };
        let result = link.borrow_mut().channel.handle_timeout(ctx.now());
        match result {
            Err(e) => self.fail(ctx, ConnectionError::channel(Operation::Negotiate, e)),
            Ok(()) => self.arm_timeout(ctx),
        }
    }

    fn on_io(&mut self, ctx: &mut Ctx<'_>, ready: &Readiness) {
        let (Some(wheel), Some(link)) = (self.wheel.as_mut(), self.link.clone()) else {
            return;
        };
        let outcome = wheel.on_ready(ctx, ready);
        if link.borrow().is_closed() {
            // Closing: only writing what was queued matters. What the peer
            // sends now is dropped unread (not decoded into events nobody
            // takes), and a failed write means the rest cannot be written;
            // except after our goodbye to a routing peer, whose messages
            // until it closes are still good (it may not have read the
            // goodbye before sending them).
            let n = wheel.input().len();
            if link.borrow().awaiting_eof && n > 0 {
                let result = link.borrow_mut().channel.handle_input(wheel.input());
                wheel.consume(n);
                if result.is_ok() {
                    self.drain_closing(ctx);
                }
            } else {
                wheel.consume(n);
            }
            let Some(wheel) = self.wheel.as_mut() else {
                return;
            };
            if let Some(e) = outcome.error {
                log::debug!("IKC channel: write failed while closing: {e}");
                wheel.close(ctx);
            } else if outcome.eof && link.borrow().awaiting_eof {
                // The peer read our goodbye and closed: nothing it sent
                // is left unread, so closing sends no reset.
                wheel.close(ctx);
            }
            if wheel.is_closed() {
                if let Some(id) = self.close_timeout.take() {
                    ctx.alarm_remove(id);
                }
            }
            return;
        }
        if outcome.read > 0 {
            let input = wheel.input();
            let n = input.len();
            let result = {
                let mut link = link.borrow_mut();
                link.stats.bytes_in += n as u64;
                link.channel.handle_input(input)
            };
            wheel.consume(n);
            // Output the requests queue is written below, in one flush at
            // the end, not by a flush event each. Where this returns
            // before that flush, the channel is closed: `close` wrote the
            // output if it closed gently, and a forced close drops it, as
            // a flush event would find it.
            link.borrow_mut().draining = true;
            self.drain_events(ctx);
            link.borrow_mut().draining = false;
            if let Err(e) = result {
                let op = if self.is_negotiated() {
                    Operation::Read
                } else {
                    Operation::Negotiate
                };
                // A refusal line or TLS alert tells the peer why.
                self.flush(ctx);
                self.fail(ctx, ConnectionError::channel(op, e));
                return;
            }
        }
        if self.is_closed() {
            return;
        }
        if let Some(e) = outcome.error {
            self.fail(ctx, ConnectionError::from_io(Operation::Read, &e));
            return;
        }
        if outcome.eof {
            let mid_frame = link.borrow().channel.is_mid_frame();
            self.fail(ctx, ConnectionError::PeerClosed { mid_frame });
            return;
        }
        self.flush(ctx);
    }

    /// Hand on the requests a routing peer sent while we were closing.
    fn drain_closing(&mut self, ctx: &mut Ctx<'_>) {
        let (Some(shared), Some(link)) = (self.shared(), self.link.clone()) else {
            return;
        };
        loop {
            let event = link.borrow_mut().channel.poll_event();
            match event {
                Some(ChannelEvent::Message(msg)) => {
                    let me = ctx.session_id();
                    crate::mesh::incoming(&shared, ctx, me, &link, msg);
                }
                Some(_) => {}
                None => return,
            }
        }
    }

    /// Act on everything the channel decoded.
    fn drain_events(&mut self, ctx: &mut Ctx<'_>) {
        while !self.is_closed() {
            let event = match &self.link {
                Some(link) => link.borrow_mut().channel.poll_event(),
                None => return,
            };
            let Some(event) = event else { return };
            match event {
                ChannelEvent::Negotiated(peer) => self.negotiated(ctx, peer),
                ChannelEvent::Message(msg) => {
                    if let (Some(shared), Some(link)) = (self.shared(), self.link.clone()) {
                        let me = ctx.session_id();
                        crate::mesh::incoming(&shared, ctx, me, &link, msg);
                    } else {
                        log::warn!("IKC request dropped: the responder has shut down");
                    }
                }
                ChannelEvent::BadFrame(e) => self.bad_frame(ctx, e),
                ChannelEvent::SendFailed { error, .. } => {
                    if let Some(shared) = self.shared() {
                        report_error(
                            &shared,
                            ctx,
                            ErrorSide::Local,
                            &format!(
                                "a message queued before the handshake could not be encoded: {error}"
                            ),
                            self.remote_id().as_deref(),
                            "send",
                            false,
                        );
                    }
                }
                other => log::debug!("channel event ignored: {other:?}"),
            }
        }
    }

    /// Where errors about requests from this channel go.
    fn errors_to(&self) -> HashForm {
        HashForm::new(
            self.remote_id().unwrap_or_default(),
            IKC_ALIAS,
            "remote_error",
        )
    }

    fn bad_frame(&mut self, ctx: &mut Ctx<'_>, error: FrameError) {
        let Some(shared) = self.shared() else { return };
        match error {
            FrameError::NotAMessage { source, .. } => {
                // IKC fails such a request at its first stage, and says so.
                let text = format!("{source}.  Request ");
                report_error(
                    &shared,
                    ctx,
                    ErrorSide::Local,
                    &text,
                    None,
                    "request",
                    false,
                );
                let mut reply =
                    Message::post(self.errors_to(), error_params(&text, None, "request"));
                reply.is_error = true;
                send_msg(&shared, ctx, reply, None);
            }
            other => {
                let text = format!("[0] {other}");
                report_error(
                    &shared,
                    ctx,
                    ErrorSide::Channel,
                    &text,
                    self.remote_id().as_deref(),
                    "read",
                    false,
                );
            }
        }
    }

    fn negotiated(&mut self, ctx: &mut Ctx<'_>, peer: Peer) {
        self.options.on_error = None;
        if let Some(id) = self.timeout.take() {
            ctx.alarm_remove(id);
        }
        let Some(shared) = self.shared() else { return };
        let me = ctx.session_id();
        let rid = peer.kernel_id.clone();
        let registered =
            shared
                .borrow_mut()
                .remotes
                .register(&rid, &peer.aliases, Route::Channel(me));
        if let Some(link) = &self.link {
            let mut link = link.borrow_mut();
            link.remote_id = Some(rid.as_str().into());
            link.remote_names.clone_from(&peer.aliases);
            link.registered = registered;
            link.phase = LinkPhase::Up;
        }
        if registered {
            log::info!(
                "IKC channel {me} up: kernel {rid} ({}), freezer {}",
                peer.aliases.join(", "),
                peer.freezer
            );
            crate::mesh::routed_becomes_direct(&shared, ctx, &rid);
            let pid = peer.pid.map_or(Value::Undef, Value::from);
            inform(
                &shared,
                ctx,
                &rid,
                MonitorOp::Register,
                &[pid, Value::from("direct")],
            );
        } else {
            log::warn!(
                "remote kernel '{rid}' is already connected: channel {me} stays unregistered"
            );
        }
        if let Some(link) = self.link.clone() {
            crate::mesh::link_up(
                &shared,
                ctx,
                me,
                &link,
                &peer,
                self.options.side,
                registered,
            );
        }
        if self.options.subscribe.is_empty() {
            ctx.yield_(DONE_STATE, vec![Value::Array(Vec::new())]);
        } else {
            let ikc = shared.borrow().session;
            let specs = Value::from(self.options.subscribe.clone());
            if let Err(e) = ctx.call(ikc, "subscribe", vec![specs, Value::from(DONE_STATE)]) {
                log::warn!("cannot subscribe: {e}");
            }
        }
        inform(
            &shared,
            ctx,
            &rid,
            MonitorOp::Channel,
            &[Value::from("ready"), Value::from(me)],
        );
    }

    fn on_done(&mut self, ctx: &mut Ctx<'_>, accepted: &Value) {
        if !self.options.subscribe.is_empty() {
            let accepted: Vec<String> = accepted
                .as_array()
                .map(|a| a.iter().map(Value::to_string).collect())
                .unwrap_or_default();
            let missing: Vec<String> = self
                .options
                .subscribe
                .iter()
                .filter(|s| !accepted.contains(s))
                .cloned()
                .collect();
            self.options.subscribe.clear();
            if !missing.is_empty() {
                if let Some(shared) = self.shared() {
                    report_plain(
                        &shared,
                        ctx,
                        "subscribe",
                        &format!("Unable to subscribe to {}", missing.join(", ")),
                    );
                }
                return;
            }
        }
        if let Some(on_connect) = self.options.on_connect.take() {
            on_connect(ctx);
        }
    }

    /// Write what the channel has queued.
    fn flush(&mut self, ctx: &mut Ctx<'_>) {
        let Some(link) = &self.link else { return };
        let queued = {
            let mut link = link.borrow_mut();
            link.flush_pending = false;
            link.channel.poll_transmit(&mut self.out).is_some()
        };
        if !queued {
            return;
        }
        let Some(wheel) = self.wheel.as_mut() else {
            self.out.clear();
            return;
        };
        let bytes_out = self.out.len() as u64;
        let result = wheel.put_buffer(ctx, &mut self.out);
        {
            let mut link = link.borrow_mut();
            link.stats.bytes_out += bytes_out;
            link.stats.bytes_queued = wheel.queued() as u64;
        }
        if let Err(e) = result {
            self.fail(ctx, ConnectionError::from_io(Operation::Write, &e));
            return;
        }
        if wheel.over_high_water() {
            let queued = wheel.queued();
            self.fail(ctx, ConnectionError::NotReading { queued });
        }
    }

    /// Report a connection problem (to `on_error` before the handshake
    /// finishes, to error monitors after) and close at once.
    fn fail(&mut self, ctx: &mut Ctx<'_>, error: ConnectionError) {
        if self.is_closed() {
            return;
        }
        let peer_closed = error.is_peer_closed();
        let negotiated = self.is_negotiated();
        match (&mut self.options.on_error, negotiated) {
            (Some(on_error), false) => on_error(ctx, &error),
            _ => {
                if let Some(shared) = self.shared() {
                    report_error(
                        &shared,
                        ctx,
                        ErrorSide::Channel,
                        &error.monitor_text(),
                        self.remote_id().as_deref(),
                        error.operation().as_str(),
                        peer_closed,
                    );
                } else if !peer_closed {
                    log::warn!("IKC channel: {error}");
                }
            }
        }
        self.close(ctx, true);
    }

    /// Close the channel: tell monitors, unregister the remote kernel, and
    /// close the socket (after writing what is queued, unless `force`).
    fn close(&mut self, ctx: &mut Ctx<'_>, force: bool) {
        let Some(link) = self.link.clone() else {
            return;
        };
        if link.borrow().is_closed() {
            return;
        }
        if !force {
            self.flush(ctx);
            // A flush over the high-water mark fails the channel, which
            // closes it: do not close (and tell monitors) twice.
            if link.borrow().is_closed() {
                return;
            }
        }
        let say_bye = !force && {
            let l = link.borrow();
            l.mesh == crate::mesh::MeshRole::Router
        };
        let (remote_id, registered) = {
            let mut link = link.borrow_mut();
            link.phase = LinkPhase::Closed;
            (
                link.remote_id.as_deref().map(str::to_owned),
                link.registered,
            )
        };
        let me = ctx.session_id();
        if let Some(id) = self.timeout.take() {
            ctx.alarm_remove(id);
        }
        if let Some(shared) = self.shared() {
            if let Some(rid) = remote_id {
                inform(
                    &shared,
                    ctx,
                    &rid,
                    MonitorOp::Channel,
                    &[Value::from("close"), Value::from(me)],
                );
                let ours = shared.borrow().remotes.channel_list(&rid) == [Route::Channel(me)];
                if registered && ours && !move_registration(&shared, me, &rid) {
                    crate::responder::unregister_remote(&shared, ctx, &rid);
                }
            }
            crate::mesh::link_down(&shared, ctx, me, &link);
            shared.borrow_mut().links.remove(&me);
            crate::responder::channel_closed(&shared, ctx);
        }
        if say_bye {
            // A routing peer may be sending to us (probes, records): closing
            // with its bytes unread would reset the connection and lose what
            // we sent it. Say goodbye and close once it has closed.
            link.borrow_mut().awaiting_eof = true;
            crate::mesh::say_bye(&link);
            let _ = link.borrow_mut().channel.poll_transmit(&mut self.out);
            if let Some(wheel) = self.wheel.as_mut() {
                if !self.out.is_empty() && wheel.put(ctx, &self.out).is_err() {
                    wheel.close(ctx);
                }
            }
            self.out.clear();
        }
        if let Some(wheel) = self.wheel.as_mut() {
            if force {
                wheel.close(ctx);
            } else if (say_bye && !wheel.is_closed()) || !wheel.close_after_flush(ctx) {
                self.close_timeout = Some(ctx.delay_set(
                    CLOSE_TIMEOUT_STATE,
                    self.options.close_timeout,
                    Vec::new(),
                ));
            }
        }
    }

    /// A closed channel could not write what was queued in time: drop it.
    fn on_close_timeout(&mut self, ctx: &mut Ctx<'_>) {
        self.close_timeout = None;
        let Some(wheel) = self.wheel.as_mut() else {
            return;
        };
        if wheel.is_closed() {
            return;
        }
        if wheel.queued() == 0 {
            log::debug!("IKC channel: the peer did not close after our goodbye");
            wheel.close(ctx);
            return;
        }
        let error = ConnectionError::TimedOut {
            operation: Operation::Write,
            message: format!(
                "gave up writing {} bytes to a peer that did not read them within {:?} of the close",
                wheel.queued(),
                self.options.close_timeout
            ),
        };
        wheel.close(ctx);
        let remote_id = self.remote_id();
        match self.shared() {
            Some(shared) => {
                report_error(
                    &shared,
                    ctx,
                    ErrorSide::Channel,
                    &error.monitor_text(),
                    remote_id.as_deref(),
                    error.operation().as_str(),
                    false,
                );
            }
            None => log::warn!(
                "IKC channel to {}: {error}",
                remote_id.as_deref().unwrap_or("a peer")
            ),
        }
    }
}

impl<S: ChannelStream> Session for ChannelSession<S> {
    fn handle(&mut self, ctx: &mut Ctx<'_>, event: Event) -> Value {
        match event.state() {
            IO_STATE => {
                if let Some(ready) = Readiness::from_event(&event) {
                    self.on_io(ctx, &ready);
                }
            }
            FLUSH_STATE => self.flush(ctx),
            "_start" => self.start(ctx),
            TIMEOUT_STATE => self.on_timeout(ctx),
            CLOSE_TIMEOUT_STATE => self.on_close_timeout(ctx),
            DONE_STATE => self.on_done(ctx, event.arg(0).unwrap_or(&Value::Undef)),
            "shutdown" | "close" => self.close(ctx, false),
            // The routing peer is closing: to monitors, as the peer
            // closing the connection (what they heard before goodbyes).
            crate::mesh::BYE_STATE => {
                self.fail(ctx, ConnectionError::PeerClosed { mid_frame: false })
            }
            "_stop" => self.close(ctx, true),
            _ => {}
        }
        Value::Undef
    }

    /// The socket's readiness, read without the event being built.
    fn handle_readiness(
        &mut self,
        ctx: &mut Ctx<'_>,
        state: StateName,
        readiness: Readiness,
    ) -> Value {
        if state == IO_STATE {
            self.on_io(ctx, &readiness);
            Value::Undef
        } else {
            self.handle(ctx, readiness.into_event(state))
        }
    }
}

/// A registered channel to `rid` closes while a second channel to the same
/// kernel stays open (two kernels dialed each other, and the mesh keeps the
/// other connection): the kernel stays registered, through that one.
/// Returns whether it did.
fn move_registration(shared: &Rc<RefCell<State>>, closing: SessionId, rid: &str) -> bool {
    let mut st = shared.borrow_mut();
    let other = st.links.iter().find_map(|(&session, link)| {
        let l = link.borrow();
        (session != closing && !l.is_closed() && l.remote_id.as_deref() == Some(rid))
            .then(|| (session, Rc::clone(link)))
    });
    let Some((session, link)) = other else {
        return false;
    };
    let aliases = st.remotes.aliases_of(rid).to_vec();
    st.remotes.unregister(rid);
    if st.remotes.register(rid, &aliases, Route::Channel(session)) {
        link.borrow_mut().registered = true;
    }
    true
}
