//! Test helpers: captured transcripts, codecs by name, and a [`Pair`] of
//! channels pumping bytes to each other in memory.

use std::sync::Arc;
use std::time::{Duration, Instant};

use ikc_freezer::{Freezer, Registry};

use crate::{Channel, ChannelError, ChannelEvent, ClientChannelConfig, ServerChannelConfig};

/// Which way bytes went in a transcript.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dir {
    /// `C>S`
    ToServer,
    /// `S>C`
    ToClient,
}

/// A capture from `testdata/`: the reads, in order.
#[derive(Debug, Clone)]
pub(crate) struct Transcript {
    pub(crate) name: String,
    pub(crate) reads: Vec<(Dir, Vec<u8>)>,
}

impl Transcript {
    /// Load `testdata/<name>`.
    #[track_caller]
    pub(crate) fn load(name: &str) -> Self {
        let path = format!("{}/testdata/{name}", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        Self::parse(name, &text)
    }

    #[track_caller]
    pub(crate) fn parse(name: &str, text: &str) -> Self {
        let mut reads = Vec::new();
        for line in text
            .lines()
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
        {
            let (tag, literal) = line.split_at(4);
            let dir = match tag {
                "C>S " => Dir::ToServer,
                "S>C " => Dir::ToClient,
                _ => panic!("{name}: bad line {line:?}"),
            };
            reads.push((dir, python_bytes(literal)));
        }
        Self {
            name: name.to_owned(),
            reads,
        }
    }

    /// The reads that went one way.
    pub(crate) fn reads(&self, dir: Dir) -> impl Iterator<Item = &[u8]> {
        self.reads
            .iter()
            .filter(move |(d, _)| *d == dir)
            .map(|(_, bytes)| bytes.as_slice())
    }

    /// Everything that went one way.
    pub(crate) fn stream(&self, dir: Dir) -> Vec<u8> {
        self.reads(dir).flatten().copied().collect()
    }

    /// What went one way, split into the negotiation lines and the frames
    /// after them. A line never holds a NUL; a frame header always does.
    pub(crate) fn split(&self, dir: Dir) -> (Vec<u8>, Vec<u8>) {
        let stream = self.stream(dir);
        let mut at = 0;
        while let Some(end) = stream[at..].windows(2).position(|w| w == b"\r\n") {
            if stream[at..at + end].contains(&0) {
                break;
            }
            at += end + 2;
        }
        (stream[..at].to_vec(), stream[at..].to_vec())
    }
}

/// Parse a Python bytes literal (`b'...'` or `b"..."`) as `repr` writes it.
#[track_caller]
pub(crate) fn python_bytes(literal: &str) -> Vec<u8> {
    let body = literal
        .strip_prefix("b'")
        .and_then(|b| b.strip_suffix('\''))
        .or_else(|| {
            literal
                .strip_prefix("b\"")
                .and_then(|b| b.strip_suffix('"'))
        })
        .unwrap_or_else(|| panic!("not a bytes literal: {literal:?}"));
    let mut out = Vec::with_capacity(body.len());
    let mut chars = body.bytes();
    while let Some(b) = chars.next() {
        if b != b'\\' {
            out.push(b);
            continue;
        }
        match chars.next() {
            Some(b'n') => out.push(b'\n'),
            Some(b'r') => out.push(b'\r'),
            Some(b't') => out.push(b'\t'),
            Some(b'\\') => out.push(b'\\'),
            Some(b'\'') => out.push(b'\''),
            Some(b'"') => out.push(b'"'),
            Some(b'x') => {
                let hex = [chars.next().unwrap(), chars.next().unwrap()];
                let hex = std::str::from_utf8(&hex).unwrap();
                out.push(u8::from_str_radix(hex, 16).unwrap());
            }
            other => panic!("unknown escape {other:?} in {literal:?}"),
        }
    }
    out
}

/// Split a stream of frames with a deframer of the test's own, so that the
/// crate's deframer is checked against something independent.
#[track_caller]
pub(crate) fn split_frames(mut stream: &[u8]) -> Vec<Vec<u8>> {
    let mut frames = Vec::new();
    while !stream.is_empty() {
        let nul = stream.iter().position(|&b| b == 0).expect("a frame header");
        let len: usize = std::str::from_utf8(&stream[..nul])
            .unwrap()
            .parse()
            .unwrap();
        frames.push(stream[nul + 1..nul + 1 + len].to_vec());
        stream = &stream[nul + 1 + len..];
    }
    frames
}

/// The codec negotiated under `name`: ikc-freezer's, or for a name it
/// does not provide, a stand-in that can negotiate but not encode.
pub(crate) fn codec(name: &str) -> Arc<dyn Freezer> {
    Registry::standard()
        .get(name)
        .unwrap_or_else(|| Arc::new(NameOnly(name.to_owned())))
}

/// A registry of the named codecs, in this order.
pub(crate) fn registry(names: &[&str]) -> Registry {
    let mut registry = Registry::empty();
    for name in names {
        registry.register(codec(name));
    }
    registry
}

/// A codec that only has a name: enough for handshakes, and for names
/// ikc-freezer does not (yet) provide.
#[derive(Debug)]
struct NameOnly(String);

impl Freezer for NameOnly {
    fn name(&self) -> &str {
        &self.0
    }

    fn freeze(
        &self,
        _: &ikc_freezer::Value,
        _: &mut Vec<u8>,
    ) -> Result<(), ikc_freezer::FreezeError> {
        Err(ikc_freezer::FreezeError::Unsupported {
            codec: self.0.clone(),
            what: "anything (test double)".into(),
        })
    }

    fn thaw(&self, _: &[u8]) -> Result<ikc_freezer::Value, ikc_freezer::ThawError> {
        Err(ikc_freezer::ThawError::Malformed {
            offset: 0,
            reason: "test double".into(),
        })
    }
}

/// A client and a server channel joined by an in-memory connection, with a
/// clock of their own (quinn-proto's `Pair`).
#[derive(Debug)]
pub(crate) struct Pair {
    pub(crate) client: Channel,
    pub(crate) server: Channel,
    pub(crate) time: Instant,
    /// Every byte the client sent, and the server.
    pub(crate) client_sent: Vec<u8>,
    pub(crate) server_sent: Vec<u8>,
    pub(crate) client_events: Vec<ChannelEvent>,
    pub(crate) server_events: Vec<ChannelEvent>,
}

impl Pair {
    #[track_caller]
    pub(crate) fn new(client: ClientChannelConfig, server: ServerChannelConfig) -> Self {
        let time = Instant::now();
        Self {
            client: Channel::client(client, time).unwrap(),
            server: Channel::server(server, time).unwrap(),
            time,
            client_sent: Vec::new(),
            server_sent: Vec::new(),
            client_events: Vec::new(),
            server_events: Vec::new(),
        }
    }

    /// Move what each side has to send to the other, once. Returns whether
    /// anything moved.
    pub(crate) fn step(&mut self) -> Result<bool, ChannelError> {
        let mut moved = false;
        let mut bytes = Vec::new();
        if self.client.poll_transmit(&mut bytes).is_some() {
            self.client_sent.extend_from_slice(&bytes);
            self.server.handle_input(&bytes)?;
            moved = true;
        }
        bytes.clear();
        if self.server.poll_transmit(&mut bytes).is_some() {
            self.server_sent.extend_from_slice(&bytes);
            self.client.handle_input(&bytes)?;
            moved = true;
        }
        self.client_events
            .extend(std::iter::from_fn(|| self.client.poll_event()));
        self.server_events
            .extend(std::iter::from_fn(|| self.server.poll_event()));
        Ok(moved)
    }

    /// Step until nothing moves.
    pub(crate) fn drive(&mut self) -> Result<(), ChannelError> {
        while self.step()? {}
        Ok(())
    }

    /// Let time pass and tell both sides.
    pub(crate) fn advance(
        &mut self,
        by: Duration,
    ) -> (Result<(), ChannelError>, Result<(), ChannelError>) {
        self.time += by;
        (
            self.client.handle_timeout(self.time),
            self.server.handle_timeout(self.time),
        )
    }
}
