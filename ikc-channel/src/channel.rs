//! [`Channel`]: one end of one IKC connection, without I/O.

use std::collections::VecDeque;
use std::fmt;
use std::sync::Arc;
use std::time::Instant;

use ikc_freezer::{Freezer, Value};

use crate::config::{ClientChannelConfig, Limits, ServerChannelConfig, Side};
use crate::error::{ChannelError, FrameError, ProtocolViolation};
use crate::event::{ChannelEvent, Peer};
use crate::framing::{FrameDecoder, encode_frame_header, encode_line};
use crate::handshake::refused_line;
use crate::handshake::{Agreement, ClientPhase, ServerPhase};
use crate::message::{LastRead, LastWritten, Message};
use crate::tls::TlsLayer;

mod negotiation;

use self::negotiation::{Negotiation, Outcome, Role, TlsFacts, peer_from};

/// One end of an IKC connection: negotiation, then framed messages, with
/// no I/O of its own (the quinn-proto and rustls pattern). The event-loop
/// channel session and ClientLite both drive one.
///
/// # Calling protocol
///
/// 1. Create it when the socket connects: [`Channel::client`] or
///    [`Channel::server`], with the current time. A client has its first
///    line to send at once.
/// 2. Whenever the socket is readable, pass what was read to
///    [`handle_input`](Self::handle_input) (any split works: one byte at a
///    time or many frames at once).
/// 3. When the instant from [`poll_timeout`](Self::poll_timeout) passes,
///    call [`handle_timeout`](Self::handle_timeout).
/// 4. Queue messages with [`send`](Self::send) at any time. Before
///    negotiation ends they wait (unfrozen) and go out, in order, right
///    after it; a queued message that the agreed freezer cannot encode comes
///    back as [`ChannelEvent::SendFailed`].
/// 5. After each of the above, call the polling methods until they return
///    `None`: [`poll_transmit`](Self::poll_transmit) (bytes to write, in
///    order), then [`poll_event`](Self::poll_event), then
///    [`poll_timeout`](Self::poll_timeout) (the value changes after every
///    `handle_*` call).
///
/// A fatal [`ChannelError`] from `handle_input` or `handle_timeout` ends the
/// channel: later calls return it again, and the driver should close the
/// socket. Events already queued stay pollable.
pub struct Channel {
    side: Side,
    limits: Limits,
    state: State,
    transmit: Vec<u8>,
    pub(crate) events: VecDeque<ChannelEvent>,
    /// Frames read but not yet thawed, polled after `events`.
    pub(crate) unread: UnreadFrames,
    scratch: Vec<u8>,
    peer: Option<Peer>,
    /// TLS, when configured: what goes in and out passes through it.
    /// Boxed: a rustls connection is large, and a clear channel (the
    /// usual kind) should not carry its room.
    tls: Option<Box<TlsLayer>>,
    /// Decrypted input (TLS only), kept to reuse its allocation.
    plain: Vec<u8>,
    /// What the last messages read repeat (their caller, their specifier
    /// hashes), shared with the next ones.
    last_read: LastRead,
    /// What the last messages sent repeat, with its bytes.
    last_written: LastWritten,
}

enum State {
    Negotiating(Box<Negotiation>),
    Open {
        frames: FrameDecoder,
        freezer: Arc<dyn Freezer>,
    },
    Failed(ChannelError),
}

impl Channel {
    /// The connecting end; its first line (`SETUP` or `HELLO`) is ready for
    /// [`poll_transmit`](Self::poll_transmit) at once.
    ///
    /// # Errors
    ///
    /// [`ChannelError::Config`] when a name cannot be announced or no
    /// freezer is configured.
    pub fn client(config: ClientChannelConfig, now: Instant) -> Result<Self, ChannelError> {
        config.validate()?;
        let tls = config.tls.as_ref().map(TlsLayer::client).transpose()?;
        let limits = config.limits;
        let mut negotiation =
            Negotiation::new(Role::Client(ClientPhase::Client010, config), &limits, now);
        let Role::Client(phase, config) = &mut negotiation.role else {
            unreachable!("made as a client just above")
        };
        let (first, first_line) = ClientPhase::start(config, &negotiation.nonce);
        *phase = first;
        let mut channel = Self::new(Side::Client, negotiation, limits, tls);
        log::debug!(
            "client sends {:?}",
            first_line.split(";AUTH=").next().unwrap_or_default()
        );
        encode_line(&first_line, &mut channel.transmit);
        Ok(channel)
    }

    /// The accepting end; it waits for the client to speak.
    ///
    /// # Errors
    ///
    /// [`ChannelError::Config`] when a name cannot be announced or no
    /// freezer is configured.
    pub fn server(config: ServerChannelConfig, now: Instant) -> Result<Self, ChannelError> {
        config.validate()?;
        let tls = config.tls.as_ref().map(TlsLayer::server).transpose()?;
        let phase = ServerPhase::start(&config);
        let limits = config.limits;
        let negotiation = Negotiation::new(Role::Server(phase, config), &limits, now);
        Ok(Self::new(Side::Server, negotiation, limits, tls))
    }

    fn new(
        side: Side,
        negotiation: Negotiation,
        limits: Limits,
        tls: Option<Box<TlsLayer>>,
    ) -> Self {
        Self {
            side,
            limits,
            state: State::Negotiating(Box::new(negotiation)),
            transmit: Vec::new(),
            events: VecDeque::new(),
            unread: UnreadFrames::default(),
            scratch: Vec::new(),
            peer: None,
            tls,
            plain: Vec::new(),
            last_read: LastRead::default(),
            last_written: LastWritten::default(),
        }
    }

    /// Does this channel run over TLS?
    pub fn is_tls(&self) -> bool {
        self.tls.is_some()
    }

    /// Which end this is.
    pub fn side(&self) -> Side {
        self.side
    }

    /// The limits in force.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Is negotiation over (and the channel not failed)?
    pub fn is_negotiated(&self) -> bool {
        matches!(self.state, State::Open { .. })
    }

    /// The peer, once negotiation is over.
    pub fn peer(&self) -> Option<&Peer> {
        self.peer.as_ref()
    }

    /// The freezer in use, once negotiation is over.
    pub fn freezer(&self) -> Option<&Arc<dyn Freezer>> {
        match &self.state {
            State::Open { freezer, .. } => Some(freezer),
            _ => None,
        }
    }

    /// IKC's name for the negotiation phase (`client_010`, `server_003`, ...),
    /// while negotiating.
    pub fn phase(&self) -> Option<&'static str> {
        match &self.state {
            State::Negotiating(negotiation) => Some(negotiation.phase()),
            _ => None,
        }
    }

    /// The fatal error that ended the channel, if one did.
    pub fn error(&self) -> Option<&ChannelError> {
        match &self.state {
            State::Failed(error) => Some(error),
            _ => None,
        }
    }

    /// Is part of a frame buffered (so that end of input now would cut a
    /// message)?
    pub fn is_mid_frame(&self) -> bool {
        matches!(&self.state, State::Open { frames, .. } if frames.is_mid_frame())
    }

    /// Feed bytes read from the socket.
    ///
    /// # Errors
    ///
    /// A fatal [`ChannelError`]: a negotiation line or frame over its limit,
    /// a malformed frame header, too many rejected negotiation lines, or no
    /// freezer in common. The channel is dead afterwards.
    pub fn handle_input(&mut self, input: &[u8]) -> Result<(), ChannelError> {
        let Some(tls) = self.tls.as_mut() else {
            return self.handle_plain(input);
        };
        if let State::Failed(error) = &self.state {
            return Err(error.clone());
        }
        let mut plain = std::mem::take(&mut self.plain);
        plain.clear();
        let result = match tls.read(input, &mut plain) {
            Ok(()) => self.handle_plain(&plain),
            Err(error) => {
                // What was decrypted before the bad record still counts.
                let _ = self.handle_plain(&plain);
                Err(self.fail(error.into()))
            }
        };
        self.plain = plain;
        result
    }

    fn handle_plain(&mut self, mut input: &[u8]) -> Result<(), ChannelError> {
        loop {
            match &mut self.state {
                State::Failed(error) => return Err(error.clone()),
                State::Negotiating(negotiation) => {
                    if !negotiation.heard && !input.is_empty() {
                        negotiation.heard = true;
                        // A TLS record (handshake 0x16 or alert 0x15) on a
                        // channel in clear: say so to a TLS peer in a way
                        // its TLS layer reports as "not TLS".
                        if self.tls.is_none() && matches!(input[0], 0x15 | 0x16) {
                            if self.side == Side::Server {
                                let line = refused_line("this port does not speak TLS");
                                encode_line(&line, &mut self.transmit);
                            }
                            return Err(self.fail(ChannelError::UnexpectedTls));
                        }
                    }
                    let line = match negotiation.lines.decode(&mut input) {
                        None => return Ok(()),
                        Some(Ok(line)) => line,
                        Some(Err(error)) => return Err(self.fail(error)),
                    };
                    let tls = match &self.tls {
                        Some(tls) => TlsFacts {
                            on: true,
                            binding: tls.binding().unwrap_or_default(),
                            subject: tls.peer_subject(),
                        },
                        None => TlsFacts::default(),
                    };
                    match negotiation.on_line(&line, &self.limits, &mut self.transmit, &tls) {
                        Outcome::Continue => {}
                        Outcome::Fail(error) => return Err(self.fail(error)),
                        Outcome::Done(agreement, peer_address) => {
                            self.open(agreement, peer_address)?;
                        }
                    }
                }
                State::Open { frames, .. } => {
                    // Framed now (a bad header fails the channel here), thawed
                    // when polled: one message is built, handled and dropped
                    // before the next is built, so the allocator reuses the
                    // same memory for each instead of holding a whole read's
                    // worth of messages at once.
                    // The payloads take no more room than the input: made
                    // once, not grown (and copied) as they are added.
                    self.unread.bytes.reserve(input.len());
                    while let Some(frame) = frames.decode(&mut input) {
                        match frame {
                            Ok(payload) => self.unread.push(&payload),
                            Err(error) => return Err(self.fail(error)),
                        }
                    }
                    return Ok(());
                }
            }
        }
    }

    /// Tell the channel the time; past the handshake deadline this fails it.
    ///
    /// # Errors
    ///
    /// [`ChannelError::HandshakeTimeout`] when negotiation is not over by
    /// the deadline (or the error that already ended the channel).
    pub fn handle_timeout(&mut self, now: Instant) -> Result<(), ChannelError> {
        match &self.state {
            State::Failed(error) => Err(error.clone()),
            State::Negotiating(negotiation) if now >= negotiation.deadline => {
                Err(self.fail(ChannelError::HandshakeTimeout {
                    limit: self.limits.handshake_timeout,
                }))
            }
            _ => Ok(()),
        }
    }

    /// Send a message: frozen with the agreed freezer and framed, or queued
    /// until negotiation is over.
    ///
    /// # Errors
    ///
    /// [`ChannelError::Freeze`] when the freezer cannot encode it (the
    /// channel stays usable and nothing was sent), or the error that ended
    /// the channel.
    pub fn send(&mut self, message: &Message) -> Result<(), ChannelError> {
        if let State::Open { freezer, .. } = &self.state {
            // The fast paths write the message's fields straight into the
            // frame; `None` leaves it to the general path.
            self.scratch.clear();
            let written = if let Some(native) = freezer.as_native() {
                message.freeze_native_sharing(native, &mut self.scratch, &mut self.last_written)
            } else if let Some(storable) = freezer.as_storable() {
                message.freeze_storable_sharing(storable, &mut self.scratch, &mut self.last_written)
            } else {
                None
            };
            if let Some(result) = written {
                result?;
                encode_frame_header(self.scratch.len(), &mut self.transmit);
                self.transmit.extend_from_slice(&self.scratch);
                return Ok(());
            }
        }
        self.send_value(&message.to_value())
    }

    /// Send any value as one frame, as [`send`](Self::send) does with a
    /// message's hash.
    ///
    /// # Errors
    ///
    /// As for [`send`](Self::send).
    pub fn send_value(&mut self, value: &Value) -> Result<(), ChannelError> {
        match &mut self.state {
            State::Failed(error) => Err(error.clone()),
            State::Negotiating(negotiation) => {
                negotiation.queued.push(value.clone());
                Ok(())
            }
            State::Open { freezer, .. } => {
                freeze_frame(
                    freezer.as_ref(),
                    value,
                    &mut self.scratch,
                    &mut self.transmit,
                )?;
                Ok(())
            }
        }
    }

    /// Append the bytes to write to `out`; `None` when there are none.
    /// Returns how many bytes were appended.
    #[must_use]
    pub fn poll_transmit(&mut self, out: &mut Vec<u8>) -> Option<usize> {
        if let Some(tls) = self.tls.as_mut() {
            if self.transmit.is_empty() && !tls.wants_write() {
                return None;
            }
            let before = out.len();
            tls.write(&mut self.transmit, out);
            return (out.len() > before).then(|| out.len() - before);
        }
        let len = self.transmit.len();
        if len == 0 {
            return None;
        }
        if out.is_empty() {
            std::mem::swap(out, &mut self.transmit);
        } else {
            out.append(&mut self.transmit);
        }
        Some(len)
    }

    /// The next event, if any.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<ChannelEvent> {
        // Events made while reading (negotiation's) come before the frames
        // that followed them.
        if let Some(event) = self.events.pop_front() {
            if matches!(event, ChannelEvent::Negotiated(_)) && self.events.is_empty() {
                // The queue's room was taken by negotiation: an idle channel
                // gives it back.
                self.events = VecDeque::new();
            }
            return Some(event);
        }
        self.unread.thaw_next(&mut self.last_read)
    }

    /// When [`handle_timeout`](Self::handle_timeout) must be called next:
    /// the handshake deadline while negotiating, `None` afterwards.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        match &self.state {
            State::Negotiating(negotiation) => Some(negotiation.deadline),
            _ => None,
        }
    }

    fn fail(&mut self, error: ChannelError) -> ChannelError {
        log::warn!("{:?} channel failed: {error}", self.side);
        self.state = State::Failed(error.clone());
        error
    }

    /// Negotiation is over: switch to frames, report the peer, and send
    /// what was queued.
    fn open(
        &mut self,
        agreement: Agreement,
        peer_address: Option<String>,
    ) -> Result<(), ChannelError> {
        let State::Negotiating(negotiation) = &mut self.state else {
            return Ok(());
        };
        let skip_lf = negotiation.lines.after_cr();
        let queued = std::mem::take(&mut negotiation.queued);
        let peer = match peer_from(agreement.names, peer_address) {
            Some((kernel_id, aliases)) => Peer {
                kernel_id,
                aliases,
                pid: agreement.pid,
                freezer: agreement.freezer.name().to_owned(),
                protocol: agreement.protocol,
                authenticated: agreement.authenticated,
                tls: self.tls.is_some(),
                certificate_subject: self.tls.as_deref().and_then(TlsLayer::peer_subject),
            },
            None => return Err(self.fail(ProtocolViolation::NoKernelName.into())),
        };
        log::debug!(
            "{:?} negotiated {} with {} using {}{}{}",
            self.side,
            peer.protocol.as_str(),
            peer.kernel_id,
            peer.freezer,
            if peer.authenticated {
                ", authenticated"
            } else {
                ""
            },
            if peer.tls { ", over TLS" } else { "" },
        );
        let freezer = agreement.freezer;
        for value in queued {
            if let Err(error) = freeze_frame(
                freezer.as_ref(),
                &value,
                &mut self.scratch,
                &mut self.transmit,
            ) {
                self.events
                    .push_back(ChannelEvent::SendFailed { value, error });
            }
        }
        self.unread.freezer = Some(Arc::clone(&freezer));
        self.state = State::Open {
            frames: FrameDecoder::new(self.limits.max_frame_len, skip_lf),
            freezer,
        };
        self.peer = Some(peer.clone());
        self.events.push_back(ChannelEvent::Negotiated(peer));
        Ok(())
    }
}

/// Frames whose payloads are read but not yet thawed.
#[derive(Default)]
pub(crate) struct UnreadFrames {
    /// The payloads, one after another.
    pub(crate) bytes: Vec<u8>,
    /// Where each payload ends in `bytes`, in order.
    pub(crate) ends: VecDeque<usize>,
    /// Where the next payload starts.
    start: usize,
    /// The freezer the payloads are thawed with: the one agreed on, set
    /// when the channel opens, and kept here (not only in the open state)
    /// because frames read before a fatal error are still polled.
    freezer: Option<Arc<dyn Freezer>>,
}

/// The most room [`UnreadFrames`] keeps once its frames are all thawed: a
/// burst's worth is given back, so an idle channel holds little.
pub(crate) const UNREAD_ROOM_KEPT: usize = 4096;

impl UnreadFrames {
    fn push(&mut self, payload: &[u8]) {
        self.bytes.extend_from_slice(payload);
        self.ends.push_back(self.bytes.len());
    }

    /// Thaw the next frame into its event.
    fn thaw_next(&mut self, callers: &mut LastRead) -> Option<ChannelEvent> {
        let end = self.ends.pop_front()?;
        let freezer = self.freezer.as_ref()?;
        let event = decode(freezer.as_ref(), &self.bytes[self.start..end], callers);
        self.start = end;
        if self.ends.is_empty() {
            self.start = 0;
            if self.bytes.capacity() > UNREAD_ROOM_KEPT {
                self.bytes = Vec::new();
                self.ends = VecDeque::new();
            } else {
                self.bytes.clear();
            }
        }
        Some(event)
    }
}

/// Thaw and convert one frame's payload.
fn decode(freezer: &dyn Freezer, payload: &[u8], callers: &mut LastRead) -> ChannelEvent {
    let read = if let Some(native) = freezer.as_native() {
        Message::thaw_native_sharing(native, payload, callers)
    } else if let Some(storable) = freezer.as_storable() {
        Message::thaw_storable_sharing(storable, payload, callers)
    } else {
        None
    };
    if let Some(message) = read {
        return ChannelEvent::Message(message);
    }
    let value = match freezer.thaw(payload) {
        Ok(value) => value,
        Err(source) => {
            return ChannelEvent::BadFrame(FrameError::Thaw {
                freezer: freezer.name().to_owned(),
                len: payload.len(),
                source,
            });
        }
    };
    match Message::from_value(value, callers) {
        Ok(message) => ChannelEvent::Message(Box::new(message)),
        Err(failed) => {
            let (source, value) = *failed;
            ChannelEvent::BadFrame(FrameError::NotAMessage { value, source })
        }
    }
}

/// Freeze `value` into `scratch` and append it to `out` as one frame.
fn freeze_frame(
    freezer: &dyn Freezer,
    value: &Value,
    scratch: &mut Vec<u8>,
    out: &mut Vec<u8>,
) -> Result<(), ikc_freezer::FreezeError> {
    scratch.clear();
    freezer.freeze(value, scratch)?;
    encode_frame_header(scratch.len(), out);
    out.extend_from_slice(scratch);
    Ok(())
}

impl fmt::Debug for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match &self.state {
            State::Negotiating(_) => "negotiating",
            State::Open { .. } => "open",
            State::Failed(_) => "failed",
        };
        f.debug_struct("Channel")
            .field("side", &self.side)
            .field("state", &state)
            .field("phase", &self.phase())
            .field("peer", &self.peer)
            .field("transmit", &self.transmit.len())
            .field("events", &self.events.len())
            .field("unread_frames", &self.unread.ends.len())
            .finish_non_exhaustive()
    }
}
