//! [`RawPeer`]: a blocking IKC client driven by the test thread itself,
//! with `ikc-channel`'s sans-IO [`Channel`] over a std socket. Tests use it
//! where they must know exactly when a connection was made or what was
//! said on it (the concurrency limit, handshake failures, replaying bytes
//! captured from Perl).

use std::io::{Read, Write};
use std::net::TcpStream;
use std::os::unix::net::UnixStream;
use std::time::Instant;

use ikc_channel::{Channel, ChannelEvent, ClientChannelConfig, Identity, Message, Peer, Protocol};
use ikc_freezer::{Registry, Value};
use ikc_specifier::HashForm;

use crate::harness::{Endpoint, WAIT};

/// A socket of either kind.
#[derive(Debug)]
enum Socket {
    Tcp(TcpStream),
    Unix(UnixStream),
}

impl Socket {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self {
            Self::Tcp(s) => s.read(buf),
            Self::Unix(s) => s.read(buf),
        }
    }

    fn write_all(&mut self, buf: &[u8]) -> std::io::Result<()> {
        match self {
            Self::Tcp(s) => s.write_all(buf),
            Self::Unix(s) => s.write_all(buf),
        }
    }
}

/// A blocking IKC client for tests. Reads give up after [`WAIT`] (a hang
/// guard).
#[derive(Debug)]
pub struct RawPeer {
    socket: Socket,
    channel: Channel,
    name: String,
    out: Vec<u8>,
    /// Every byte the server sent, in order.
    pub received: Vec<u8>,
    peer: Option<Peer>,
    next_rsvp: u64,
}

impl RawPeer {
    /// Connect to `at` and send the first handshake line, without waiting
    /// for an answer. `name` is announced as the kernel ID; `freezers` are
    /// offered in order.
    ///
    /// # Errors
    ///
    /// The connection or the first write failed, or a freezer is unknown.
    pub fn start(
        at: &Endpoint,
        name: &str,
        freezers: &[&str],
        protocol: Protocol,
    ) -> anyhow::Result<Self> {
        let socket = match at {
            Endpoint::Tcp(port) => {
                let s = TcpStream::connect(("127.0.0.1", *port))?;
                s.set_read_timeout(Some(WAIT))?;
                s.set_nodelay(true)?;
                Socket::Tcp(s)
            }
            Endpoint::Unix(path) => {
                let s = UnixStream::connect(path)?;
                s.set_read_timeout(Some(WAIT))?;
                Socket::Unix(s)
            }
        };
        let standard = Registry::standard();
        let mut registry = Registry::empty();
        for f in freezers {
            let freezer = standard
                .get(f)
                .ok_or_else(|| anyhow::anyhow!("unknown freezer {f}"))?;
            registry.register(freezer);
        }
        let mut config = ClientChannelConfig::new(Identity::new(name), registry);
        config.protocol = protocol;
        let channel = Channel::client(config, Instant::now())?;
        let mut peer = Self {
            socket,
            channel,
            name: name.to_owned(),
            out: Vec::new(),
            received: Vec::new(),
            peer: None,
            next_rsvp: 0,
        };
        peer.flush()?;
        Ok(peer)
    }

    /// Connect and finish the handshake.
    ///
    /// # Errors
    ///
    /// As [`start`](Self::start) and [`handshake`](Self::handshake).
    pub fn connect(at: &Endpoint, name: &str, freezers: &[&str]) -> anyhow::Result<Self> {
        let mut peer = Self::start(at, name, freezers, Protocol::Ikc0)?;
        peer.handshake()?;
        Ok(peer)
    }

    fn flush(&mut self) -> anyhow::Result<()> {
        if self.channel.poll_transmit(&mut self.out).is_some() {
            self.socket.write_all(&self.out)?;
            self.out.clear();
        }
        Ok(())
    }

    fn read_more(&mut self) -> anyhow::Result<()> {
        let mut buf = [0u8; 64 * 1024];
        let n = self.socket.read(&mut buf)?;
        if n == 0 {
            anyhow::bail!("the server closed the connection");
        }
        self.received.extend_from_slice(&buf[..n]);
        self.channel.handle_input(&buf[..n])?;
        self.flush()
    }

    /// Wait for the handshake to finish; returns the server as it announced itself.
    ///
    /// # Errors
    ///
    /// The server closed the connection or the negotiation failed.
    pub fn handshake(&mut self) -> anyhow::Result<Peer> {
        loop {
            if let Some(peer) = &self.peer {
                return Ok(peer.clone());
            }
            self.read_more()?;
            while let Some(ev) = self.channel.poll_event() {
                match ev {
                    ChannelEvent::Negotiated(peer) => self.peer = Some(peer),
                    other => anyhow::bail!("before the handshake ended: {other:?}"),
                }
            }
        }
    }

    /// The server as it announced itself, once the handshake is done.
    pub fn peer(&self) -> Option<&Peer> {
        self.peer.as_ref()
    }

    /// Send a message.
    ///
    /// # Errors
    ///
    /// The channel or the socket failed.
    pub fn send(&mut self, msg: &Message) -> anyhow::Result<()> {
        self.channel.send(msg)?;
        self.flush()
    }

    /// Send any value as one frame.
    ///
    /// # Errors
    ///
    /// The channel or the socket failed.
    pub fn send_value(&mut self, value: &Value) -> anyhow::Result<()> {
        self.channel.send_value(value)?;
        self.flush()
    }

    /// The next message from the server.
    ///
    /// # Errors
    ///
    /// The server closed the connection, or sent something that is not a message.
    pub fn recv(&mut self) -> anyhow::Result<Message> {
        loop {
            match self.channel.poll_event() {
                Some(ChannelEvent::Message(msg)) => return Ok(*msg),
                Some(other) => anyhow::bail!("expected a message, got {other:?}"),
                None => self.read_more()?,
            }
        }
    }

    /// Call `to` (`poe://kernel/session/state`) with `params` and wait for
    /// the answer posted to our RSVP. Messages that are not the answer
    /// (errors, say) fail the call.
    ///
    /// # Errors
    ///
    /// The connection failed, or something else came back.
    pub fn call(&mut self, to: &str, params: impl Into<Value>) -> anyhow::Result<Value> {
        self.next_rsvp += 1;
        let state = format!("answer{}", self.next_rsvp);
        let rsvp = HashForm::new(self.name.as_str(), "raw", state.as_str());
        self.send(&Message::call(to, params, rsvp))?;
        let msg = self.recv()?;
        let target = msg.event.specifier()?;
        if target.state.as_deref() != Some(state.as_str()) {
            anyhow::bail!("expected the answer at {state}, got {msg:?}");
        }
        Ok(msg.params)
    }
}
