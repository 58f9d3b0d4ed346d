//! Conversations captured from Perl IKC (`testdata/*.log`).

use ikc_channel::Message;
use ikc_freezer::Registry;

/// Which way bytes went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dir {
    /// `C>S`
    ToServer,
    /// `S>C`
    ToClient,
}

/// A capture: the socket reads, in order.
#[derive(Debug, Clone)]
pub struct Transcript {
    /// The reads.
    pub reads: Vec<(Dir, Vec<u8>)>,
}

impl Transcript {
    /// Load `testdata/<name>`.
    #[track_caller]
    pub fn load(name: &str) -> Self {
        let path = format!("{}/testdata/{name}", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        let reads = text
            .lines()
            .filter(|line| !line.is_empty() && !line.starts_with('#'))
            .map(|line| {
                let dir = match &line[..4] {
                    "C>S " => Dir::ToServer,
                    "S>C " => Dir::ToClient,
                    other => panic!("{name}: unknown direction {other:?}"),
                };
                (dir, bytes_literal(&line[4..]))
            })
            .collect();
        Self { reads }
    }

    /// What the client wrote, one entry per read of the server's.
    pub fn client_units(&self) -> Vec<Vec<u8>> {
        self.reads
            .iter()
            .filter(|(dir, _)| *dir == Dir::ToServer)
            .map(|(_, bytes)| bytes.clone())
            .collect()
    }
}

/// Decode a Python bytes literal (`b'...'` or `b"..."`).
#[track_caller]
pub fn bytes_literal(literal: &str) -> Vec<u8> {
    let body = literal
        .strip_prefix("b'")
        .and_then(|rest| rest.strip_suffix('\''))
        .or_else(|| {
            literal
                .strip_prefix("b\"")
                .and_then(|rest| rest.strip_suffix('"'))
        })
        .unwrap_or_else(|| panic!("not a bytes literal: {literal}"));
    let mut out = Vec::with_capacity(body.len());
    let mut bytes = body.bytes();
    while let Some(byte) = bytes.next() {
        if byte != b'\\' {
            out.push(byte);
            continue;
        }
        let escaped = match bytes.next() {
            Some(b'n') => b'\n',
            Some(b'r') => b'\r',
            Some(b't') => b'\t',
            Some(b'x') => {
                let hex: Vec<u8> = bytes.by_ref().take(2).collect();
                let hex = std::str::from_utf8(&hex).expect("hex digits");
                u8::from_str_radix(hex, 16).expect("hex digits")
            }
            Some(other @ (b'\\' | b'\'' | b'"')) => other,
            other => panic!("unknown escape {other:?} in {literal}"),
        };
        out.push(escaped);
    }
    out
}

/// Is this unit a frame (`<digits>\0...`) rather than a negotiation line?
pub fn is_frame(unit: &[u8]) -> bool {
    let digits = unit.iter().take_while(|b| b.is_ascii_digit()).count();
    digits > 0 && unit.get(digits) == Some(&0)
}

/// Thaw a frame with the codec negotiated under `freezer` and read it as a
/// message.
#[track_caller]
pub fn decode_frame(freezer: &str, unit: &[u8]) -> Message {
    let nul = unit.iter().position(|&b| b == 0).expect("a frame header");
    let codec = Registry::standard().get(freezer).expect("a known freezer");
    let value = codec.thaw(&unit[nul + 1..]).expect("a frame that thaws");
    Message::try_from(value).expect("a message")
}
