//! The blocking driver: one [`Channel`] (client side) over one [`BlockingStream`],
//! moved along the way rustls' `complete_io` moves a TLS connection: write
//! everything the channel has to send, then read once, feed what was read
//! in, and look at the events.

use std::collections::VecDeque;
use std::fmt;
use std::io;
use std::time::{Duration, Instant};

use ikc_channel::{
    Channel, ChannelError, ChannelEvent, ClientChannelConfig, FrameError, Identity, Limits,
    Message, Peer, Protocol, Secret, TlsClient,
};
use ikc_freezer::{FreezeError, Registry};

use crate::error::LiteError;
use crate::stream::{Address, BlockingStream};

/// How much one read takes in (Perl's ClientLite reads 65535 bytes).
const READ_SIZE: usize = 64 * 1024;

/// How far a wait may run past its deadline because the socket's read
/// timeout was left as it was (changing it costs a system call per wait).
const TIMEOUT_SLACK: Duration = Duration::from_millis(1);

/// How many messages may wait, unread, between two waits for a reply. The
/// server can send them unasked (error reports, posts to our session); past
/// this, the oldest are dropped with a warning, as Perl's ClientLite would
/// drop them on its next wait.
const MAX_UNREAD: usize = 1024;

/// What a client was built with: a [`Builder`](crate::Builder)'s settings,
/// checked, with their defaults filled in ([`Builder::into_settings`]).
/// Another driver of ClientLite's protocol (the tokio client in
/// `ikc-clientlite-async`) opens its channel from them with
/// [`channel`](Self::channel), so both clients negotiate the same way
/// (freezers, protocol, secret, TLS, limits).
///
/// [`Builder::into_settings`]: crate::Builder::into_settings
#[derive(Debug, Clone)]
pub struct Settings {
    pub(crate) address: Address,
    pub(crate) name: String,
    pub(crate) freezers: Registry,
    pub(crate) protocol: Protocol,
    pub(crate) timeout: Duration,
    pub(crate) connect_timeout: Duration,
    pub(crate) pid: u32,
    pub(crate) limits: Limits,
    pub(crate) secret: Option<Secret>,
    pub(crate) tls: Option<TlsClient>,
}

impl Settings {
    /// The server's address.
    pub fn address(&self) -> &Address {
        &self.address
    }

    /// The name the server knows the client by.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The freezers offered, most wanted first.
    pub fn freezers(&self) -> &Registry {
        &self.freezers
    }

    /// The handshake started with.
    pub fn protocol(&self) -> Protocol {
        self.protocol
    }

    /// How long a wait for a reply (or a write) may take.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// How long connecting, and each phase of the negotiation, may take.
    pub fn connect_timeout(&self) -> Duration {
        self.connect_timeout
    }

    /// The client side of the channel to open over a fresh connection
    /// (at `now`): our name and process ID, the freezers, the protocol,
    /// the limits, the secret and TLS. The whole negotiation may take
    /// IKC's worst case, each phase its [`connect_timeout`](Self::connect_timeout):
    /// `SETUP`, then the old handshake's `IAM`, `DONE`, `WORLD` and one
    /// `FREEZER` per offer.
    ///
    /// # Errors
    ///
    /// [`LiteError::Config`] for settings the channel refuses (a bad
    /// name, the secret over IKC's old handshake...),
    /// [`LiteError::Handshake`] when the channel cannot start.
    pub fn channel(&self, now: Instant) -> Result<Channel, LiteError> {
        let identity = Identity::new(&self.name).with_pid(self.pid);
        let mut config = ClientChannelConfig::new(identity, self.freezers.clone());
        config.protocol = self.protocol;
        config.peer_address = Some(self.address.kernel_name());
        config.limits = self.limits;
        config.secret.clone_from(&self.secret);
        config.tls.clone_from(&self.tls);
        let phases = 4 + u32::try_from(self.freezers.names().len()).unwrap_or(u32::MAX);
        config.limits.handshake_timeout = self.connect_timeout.saturating_mul(phases);
        Channel::client(config, now).map_err(|e| match e {
            ChannelError::Config(config) => LiteError::Config(config),
            other => LiteError::Handshake {
                address: self.address.to_string(),
                source: other,
            },
        })
    }
}

/// Something the server sent, in the order it came.
#[derive(Debug)]
// Messages are the common case; boxing them would cost an allocation each.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Incoming {
    /// A message.
    Message(Box<Message>),
    /// A whole frame that is not one.
    BadFrame(FrameError),
}

/// Why a message was not sent.
#[derive(Debug)]
pub(crate) enum SendError {
    /// The agreed freezer cannot encode it; the connection is fine.
    Freeze(FreezeError),
    /// The connection is not: writing failed, or the channel had failed.
    Broken(LiteError),
}

/// What one read did.
enum Pumped {
    /// Bytes came and were fed to the channel.
    Fed,
    /// The server closed its end.
    Eof,
    /// Nothing came: the deadline passed, or (for a read that must not
    /// wait) nothing was there.
    Nothing,
}

/// Why reading failed.
enum PumpError {
    Io(io::Error),
    Channel(ChannelError),
}

/// What one `read` call did.
enum ReadOnce {
    Done(Pumped),
    /// It would have blocked, or its timeout passed.
    Blocked,
    /// A signal interrupted it.
    Interrupted,
}

/// The channel and its stream: the part that moves bytes.
struct Wire<S> {
    stream: S,
    channel: Channel,
    buf: Box<[u8]>,
    out: Vec<u8>,
    /// The read timeout last set on the stream.
    read_timeout: Option<Duration>,
}

impl<S: BlockingStream> Wire<S> {
    fn new(stream: S, channel: Channel) -> Self {
        Self {
            stream,
            channel,
            buf: vec![0; READ_SIZE].into_boxed_slice(),
            out: Vec::new(),
            read_timeout: None,
        }
    }

    /// Write everything the channel has to send.
    fn flush(&mut self) -> io::Result<()> {
        while self.channel.poll_transmit(&mut self.out).is_some() {
            let written = self.stream.write_all(&self.out);
            self.out.clear();
            written?;
        }
        self.stream.flush()
    }

    /// Read once, waiting until `deadline` at most, and feed the channel.
    fn pump_until(&mut self, deadline: Instant) -> Result<Pumped, PumpError> {
        loop {
            let now = Instant::now();
            if now >= deadline {
                return Ok(Pumped::Nothing);
            }
            self.wait_at_most(deadline - now).map_err(PumpError::Io)?;
            if let ReadOnce::Done(pumped) = self.read_once()? {
                return Ok(pumped);
            }
        }
    }

    /// Make the next read wait about `remaining` at most. The timeout set
    /// for the previous wait is kept if it ends no more than
    /// [`TIMEOUT_SLACK`] after `remaining` and no sooner than half of it
    /// (a read that times out early is simply made again): back-to-back
    /// waits of the same length then cost no system call.
    fn wait_at_most(&mut self, remaining: Duration) -> io::Result<()> {
        if let Some(current) = self.read_timeout {
            if current <= remaining + TIMEOUT_SLACK && current >= remaining / 2 {
                return Ok(());
            }
        }
        // A zero timeout would mean "wait forever".
        let timeout = remaining.max(Duration::from_micros(1));
        self.stream.set_read_timeout(Some(timeout))?;
        self.read_timeout = Some(timeout);
        Ok(())
    }

    /// Read what is there without waiting, and feed the channel.
    fn pump_now(&mut self) -> Result<Pumped, PumpError> {
        self.stream.set_nonblocking(true).map_err(PumpError::Io)?;
        let result = loop {
            match self.read_once() {
                Ok(ReadOnce::Interrupted) => continue,
                Ok(ReadOnce::Blocked) => break Ok(Pumped::Nothing),
                Ok(ReadOnce::Done(pumped)) => break Ok(pumped),
                Err(e) => break Err(e),
            }
        };
        self.stream.set_nonblocking(false).map_err(PumpError::Io)?;
        result
    }

    fn read_once(&mut self) -> Result<ReadOnce, PumpError> {
        match self.stream.read(&mut self.buf) {
            Ok(0) => Ok(ReadOnce::Done(Pumped::Eof)),
            Ok(n) => {
                self.channel
                    .handle_input(&self.buf[..n])
                    .map_err(PumpError::Channel)?;
                Ok(ReadOnce::Done(Pumped::Fed))
            }
            // The server closed the connection with data we had sent unread.
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionAborted
                ) =>
            {
                Ok(ReadOnce::Done(Pumped::Eof))
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => Ok(ReadOnce::Interrupted),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                Ok(ReadOnce::Blocked)
            }
            Err(e) => Err(PumpError::Io(e)),
        }
    }
}

/// A negotiated connection to a server.
pub(crate) struct Connection<S> {
    wire: Wire<S>,
    peer: Peer,
    /// The name relative specifiers resolve against.
    remote_name: String,
    /// What arrived and was not looked at yet, oldest first.
    unread: VecDeque<Incoming>,
    /// The server, for error messages.
    address: String,
}

impl<S> fmt::Debug for Connection<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connection")
            .field("address", &self.address)
            .field("peer", &self.peer)
            .field("remote_name", &self.remote_name)
            .field("unread", &self.unread.len())
            .finish_non_exhaustive()
    }
}

impl<S: BlockingStream> Connection<S> {
    /// Run IKC's negotiation over `stream`, each phase within
    /// `settings.connect_timeout`.
    pub(crate) fn negotiate(stream: S, settings: &Settings) -> Result<Self, LiteError> {
        let address = settings.address.to_string();
        let handshake_error = |source| LiteError::Handshake {
            address: address.clone(),
            source,
        };
        let per_phase = settings.connect_timeout;
        let start = Instant::now();
        let channel = settings.channel(start)?;
        let mut wire = Wire::new(stream, channel);
        let mut unread = VecDeque::new();
        let mut phase = wire.channel.phase();
        let mut deadline = start + per_phase;
        loop {
            wire.flush().map_err(|e| LiteError::io(&address, e))?;
            let mut negotiated = None;
            while let Some(event) = wire.channel.poll_event() {
                match event {
                    ChannelEvent::Negotiated(peer) => negotiated = Some(peer),
                    other => keep(&mut unread, other, None),
                }
            }
            if let Some(peer) = negotiated {
                let remote_name = remote_name(&settings.address, &peer);
                log::debug!(
                    "connected to {address} as {}: kernel {} ({}), {} over {}",
                    settings.name,
                    peer.kernel_id,
                    peer.aliases.join(", "),
                    peer.freezer,
                    peer.protocol.as_str()
                );
                return Ok(Self {
                    wire,
                    peer,
                    remote_name,
                    unread,
                    address,
                });
            }
            let now = Instant::now();
            if wire.channel.phase() != phase {
                phase = wire.channel.phase();
                deadline = now + per_phase;
            }
            let waiting_for = || {
                let phase = phase.unwrap_or("start");
                format!("negotiation phase {phase} with {address}")
            };
            wire.channel.handle_timeout(now).map_err(handshake_error)?;
            match wire.pump_until(deadline) {
                Ok(Pumped::Fed) => {}
                Ok(Pumped::Eof) => {
                    return Err(LiteError::Closed {
                        waiting_for: waiting_for(),
                    });
                }
                Ok(Pumped::Nothing) => {
                    return Err(LiteError::Timeout {
                        waiting_for: waiting_for(),
                        after: per_phase,
                    });
                }
                Err(PumpError::Io(e)) => return Err(LiteError::io(&address, e)),
                Err(PumpError::Channel(e)) => {
                    // A refusal line or TLS alert tells the server why.
                    let _ = wire.flush();
                    return Err(handshake_error(e));
                }
            }
        }
    }

    /// The server, as negotiated.
    pub(crate) fn peer(&self) -> &Peer {
        &self.peer
    }

    /// The kernel name relative specifiers go to.
    pub(crate) fn remote_name(&self) -> &str {
        &self.remote_name
    }

    /// Freeze and write one message.
    pub(crate) fn send(&mut self, message: &Message) -> Result<(), SendError> {
        match self.wire.channel.send(message) {
            Ok(()) => {}
            Err(ChannelError::Freeze(e)) => return Err(SendError::Freeze(e)),
            Err(e) => return Err(SendError::Broken(LiteError::Channel(e))),
        }
        self.wire
            .flush()
            .map_err(|e| SendError::Broken(LiteError::io(&self.address, e)))
    }

    /// Take in, without waiting, whatever the server sent since we last
    /// looked: so that a connection the server has closed is noticed before
    /// a message is written into it (where it would be lost), and so that
    /// what it sent unasked is kept in order.
    pub(crate) fn check_alive(&mut self) -> Result<(), LiteError> {
        // Usually nothing is waiting: a peek says so in one system call.
        // Bytes, the close, an error or a stream that cannot peek: read.
        if let Some(Err(e)) = self.wire.stream.peek_nonblocking() {
            if e.kind() == io::ErrorKind::WouldBlock {
                return Ok(());
            }
        }
        match self.wire.pump_now() {
            Ok(Pumped::Fed) => {
                self.take_events(Some(MAX_UNREAD));
                Ok(())
            }
            Ok(Pumped::Nothing) => Ok(()),
            Ok(Pumped::Eof) => Err(LiteError::Closed {
                waiting_for: "the next request".to_owned(),
            }),
            Err(PumpError::Io(e)) => Err(LiteError::io(&self.address, e)),
            Err(PumpError::Channel(e)) => Err(LiteError::Channel(e)),
        }
    }

    /// The next thing the server sent, waiting until `deadline` at most
    /// (`timeout` and `waiting_for` describe the wait in errors).
    pub(crate) fn next_incoming(
        &mut self,
        deadline: Instant,
        timeout: Duration,
        waiting_for: &dyn Fn() -> String,
    ) -> Result<Incoming, LiteError> {
        loop {
            if let Some(incoming) = self.unread.pop_front() {
                return Ok(incoming);
            }
            match self.wire.pump_until(deadline) {
                Ok(Pumped::Fed) => self.take_events(None),
                Ok(Pumped::Eof) => {
                    return Err(LiteError::Closed {
                        waiting_for: waiting_for(),
                    });
                }
                Ok(Pumped::Nothing) => {
                    return Err(LiteError::Timeout {
                        waiting_for: waiting_for(),
                        after: timeout,
                    });
                }
                Err(PumpError::Io(e)) => return Err(LiteError::io(&self.address, e)),
                Err(PumpError::Channel(e)) => return Err(LiteError::Channel(e)),
            }
        }
    }

    fn take_events(&mut self, cap: Option<usize>) {
        while let Some(event) = self.wire.channel.poll_event() {
            keep(&mut self.unread, event, cap);
        }
    }
}

/// Queue what the channel reported, dropping the oldest past `cap`.
fn keep(unread: &mut VecDeque<Incoming>, event: ChannelEvent, cap: Option<usize>) {
    let incoming = match event {
        ChannelEvent::Message(message) => Incoming::Message(message),
        ChannelEvent::BadFrame(error) => Incoming::BadFrame(error),
        other => {
            log::debug!("ignoring channel event {other:?}");
            return;
        }
    };
    if cap.is_some_and(|cap| unread.len() >= cap) {
        if let Some(Incoming::Message(dropped)) = unread.pop_front() {
            log::warn!(
                "too many unread messages from the server; dropping the one for {}",
                target_name(&dropped)
            );
        }
    }
    unread.push_back(incoming);
}

/// How a message's destination is written in logs.
pub(crate) fn target_name(message: &Message) -> String {
    match &message.event {
        ikc_channel::MessageTarget::Text(text) => text.to_string(),
        ikc_channel::MessageTarget::Hash(hash) => hash.ikc_name(),
    }
}

/// The kernel name relative specifiers resolve against, as Perl's
/// ClientLite picks it: the first name of the server's `SETUP` over IKC0,
/// `host:port` as the user wrote them over the old handshake. (For a Unix
/// socket, or a `host:port` that is not a valid kernel name, such as an
/// IPv6 address, the server's kernel ID.)
pub fn remote_name(address: &Address, peer: &Peer) -> String {
    match (peer.protocol, address) {
        (Protocol::Ikc, Address::Tcp { .. }) => {
            let name = address.kernel_name();
            if ikc_specifier::is_valid_kernel_name(&name) {
                name
            } else {
                peer.kernel_id.clone()
            }
        }
        _ => peer.kernel_id.clone(),
    }
}
