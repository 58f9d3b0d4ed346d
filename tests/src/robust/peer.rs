//! A raw IKC peer over a blocking `std::net::TcpStream`: it negotiates
//! with the sans-IO `ikc_channel::Channel` (client side), and can then
//! send messages, or any bytes at all, and read what comes back.

use std::io::{self, BufRead, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use ikc_channel::{Channel, ChannelEvent, ClientChannelConfig, Identity, Message, Peer, Protocol};
use ikc_freezer::{Registry, Value};
use ikc_specifier::HashForm;

use super::WAIT;

/// Connect to `127.0.0.1:port`, with no delay on writes.
///
/// # Errors
///
/// The connection failed.
pub fn connect(port: u16) -> anyhow::Result<TcpStream> {
    let stream = TcpStream::connect(("127.0.0.1", port)).context("connect")?;
    stream.set_nodelay(true)?;
    Ok(stream)
}

/// `value` frozen by the standard freezer called `freezer`.
///
/// # Panics
///
/// No such freezer, or it cannot freeze `value`.
pub fn freeze(freezer: &str, value: &Value) -> Vec<u8> {
    let registry = Registry::standard();
    let codec = registry.get(freezer).expect("a standard freezer");
    let mut out = Vec::new();
    codec.freeze(value, &mut out).expect("freezable");
    out
}

/// Read one line (without its CR LF) from a buffered stream, waiting at
/// most [`WAIT`].
///
/// # Errors
///
/// The stream closed or timed out.
pub fn read_line(reader: &mut io::BufReader<TcpStream>) -> anyhow::Result<String> {
    reader.get_ref().set_read_timeout(Some(WAIT))?;
    let mut line = String::new();
    if reader.read_line(&mut line)? == 0 {
        bail!("the connection closed while a line was expected");
    }
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

/// A negotiated IKC connection driven by hand.
#[derive(Debug)]
pub struct RawPeer {
    /// The socket.
    pub stream: TcpStream,
    /// The protocol state (client side).
    pub channel: Channel,
    /// Our kernel name (announced alone, as ClientLite does).
    pub name: String,
    /// The server, once negotiated.
    pub peer: Option<Peer>,
    /// The most bytes one read takes from the socket (default 64 KiB;
    /// smaller makes a slow reader).
    pub read_chunk: usize,
    out: Vec<u8>,
    calls: u64,
}

impl RawPeer {
    /// Connect to `port` and negotiate IKC0 as kernel `name`, offering only
    /// `freezer`.
    ///
    /// # Errors
    ///
    /// The connection or the negotiation failed.
    pub fn negotiate(port: u16, name: &str, freezer: &str) -> anyhow::Result<Self> {
        Self::negotiate_on(connect(port)?, name, freezer, Protocol::Ikc0)
    }

    /// Negotiate over `stream` as kernel `name`, offering only `freezer`.
    ///
    /// # Errors
    ///
    /// The negotiation failed or took longer than [`WAIT`].
    pub fn negotiate_on(
        stream: TcpStream,
        name: &str,
        freezer: &str,
        protocol: Protocol,
    ) -> anyhow::Result<Self> {
        let standard = Registry::standard();
        let mut freezers = Registry::empty();
        freezers.register(standard.get(freezer).context("a standard freezer")?);
        let mut config = ClientChannelConfig::new(Identity::new(name), freezers);
        config.protocol = protocol;
        let channel = Channel::client(config, Instant::now())?;
        let mut me = Self {
            stream,
            channel,
            name: name.to_owned(),
            peer: None,
            read_chunk: 64 * 1024,
            out: Vec::new(),
            calls: 0,
        };
        me.flush()?;
        let deadline = Instant::now() + WAIT;
        while me.peer.is_none() {
            me.read_some(deadline)?;
            while let Some(event) = me.channel.poll_event() {
                match event {
                    ChannelEvent::Negotiated(peer) => me.peer = Some(peer),
                    other => bail!("unexpected event while negotiating: {other:?}"),
                }
            }
            me.flush()?;
        }
        Ok(me)
    }

    /// The server's kernel ID.
    pub fn server_id(&self) -> &str {
        self.peer.as_ref().map_or("", |p| p.kernel_id.as_str())
    }

    fn flush(&mut self) -> anyhow::Result<()> {
        while self.channel.poll_transmit(&mut self.out).is_some() {}
        if !self.out.is_empty() {
            self.stream.write_all(&self.out)?;
            self.out.clear();
        }
        Ok(())
    }

    /// Read once (waiting until `deadline`) and feed the channel.
    fn read_some(&mut self, deadline: Instant) -> anyhow::Result<()> {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            bail!("timed out waiting for the server");
        }
        self.stream.set_read_timeout(Some(left))?;
        let mut buf = [0u8; 64 * 1024];
        let chunk = self.read_chunk.clamp(1, buf.len());
        let n = match self.stream.read(&mut buf[..chunk]) {
            Ok(0) => bail!("the server closed the connection"),
            Ok(n) => n,
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                bail!("timed out waiting for the server")
            }
            Err(e) => return Err(e).context("read"),
        };
        self.channel.handle_input(&buf[..n])?;
        Ok(())
    }

    /// Send a message.
    ///
    /// # Errors
    ///
    /// It could not be encoded or written.
    pub fn send(&mut self, message: &Message) -> anyhow::Result<()> {
        self.channel.send(message)?;
        self.flush()
    }

    /// Send any value as one frame (a message or not).
    ///
    /// # Errors
    ///
    /// It could not be encoded or written.
    pub fn send_value(&mut self, value: &Value) -> anyhow::Result<()> {
        self.channel.send_value(value)?;
        self.flush()
    }

    /// Write bytes as they are.
    ///
    /// # Errors
    ///
    /// The write failed.
    pub fn write_raw(&mut self, bytes: &[u8]) -> anyhow::Result<()> {
        self.stream.write_all(bytes)?;
        Ok(())
    }

    /// Write one frame around `payload`: `LEN\0payload`.
    ///
    /// # Errors
    ///
    /// The write failed.
    pub fn write_frame(&mut self, payload: &[u8]) -> anyhow::Result<()> {
        let mut frame = format!("{}\0", payload.len()).into_bytes();
        frame.extend_from_slice(payload);
        self.write_raw(&frame)
    }

    /// The next message from the server (waiting at most `timeout`).
    ///
    /// # Errors
    ///
    /// None came in time, the connection closed, or a frame was bad.
    pub fn next_message(&mut self, timeout: Duration) -> anyhow::Result<Message> {
        let deadline = Instant::now() + timeout;
        loop {
            match self.channel.poll_event() {
                Some(ChannelEvent::Message(m)) => return Ok(*m),
                Some(other) => bail!("unexpected event: {other:?}"),
                None => self.read_some(deadline)?,
            }
        }
    }

    /// Call `session/state` of the server with `params` and return the
    /// answer (posted to our `me/reply<N>`). Other messages are skipped.
    ///
    /// # Errors
    ///
    /// No answer came within [`WAIT`].
    pub fn call(&mut self, spec: &str, params: impl Into<Value>) -> anyhow::Result<Value> {
        self.calls += 1;
        let state = format!("reply{}", self.calls);
        let to = format!("poe://{}/{spec}", self.server_id());
        let msg = Message::call(
            to.as_str(),
            params,
            HashForm::new(&*self.name, "me", &*state),
        )
        .with_from(HashForm::new(&*self.name, "me", ""));
        self.send(&msg)?;
        let deadline = Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let m = self
                .next_message(left)
                .with_context(|| format!("waiting for the answer to {to}"))?;
            if m.is_error {
                bail!("error report instead of the answer to {to}: {:?}", m.params);
            }
            if let Ok(spec) = m.event.specifier() {
                if spec.state.as_deref() == Some(&state) {
                    return Ok(m.params);
                }
            }
        }
    }

    /// Close our writing half (the server reads end of file).
    ///
    /// # Errors
    ///
    /// The socket refused.
    pub fn shutdown_write(&mut self) -> anyhow::Result<()> {
        self.stream.shutdown(Shutdown::Write)?;
        Ok(())
    }

    /// Wait (at most [`WAIT`]) until the server closes the connection,
    /// reading and dropping what it sends meanwhile. A reset counts as closed.
    ///
    /// # Errors
    ///
    /// It stayed open.
    pub fn expect_closed(&mut self) -> anyhow::Result<()> {
        expect_closed(&mut self.stream)
    }
}

/// Wait (at most [`WAIT`]) until the other end closes `stream`, reading and
/// dropping what it sends meanwhile. A reset counts as closed.
///
/// # Errors
///
/// It stayed open.
pub fn expect_closed(stream: &mut TcpStream) -> anyhow::Result<()> {
    let deadline = Instant::now() + WAIT;
    let mut buf = [0u8; 64 * 1024];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            bail!("the server kept the connection open");
        }
        stream.set_read_timeout(Some(left))?;
        match stream.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionAborted
                ) =>
            {
                return Ok(());
            }
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                bail!("the server kept the connection open")
            }
            Err(e) => return Err(e).context("read"),
        }
    }
}
