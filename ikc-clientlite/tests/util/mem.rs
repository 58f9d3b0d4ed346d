//! Streams without sockets: an in-memory duplex pipe, and a stream that
//! plays the server's side of a captured conversation.

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender, TryRecvError};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use ikc_clientlite::BlockingStream;

use super::transcript::{Dir, Transcript};

/// One end of an in-memory duplex pipe. Dropping it closes the pipe: the
/// other end reads end-of-file, and its writes fail.
#[derive(Debug)]
pub struct MemStream {
    rx: Receiver<Vec<u8>>,
    tx: Sender<Vec<u8>>,
    pending: VecDeque<u8>,
    read_timeout: Option<Duration>,
    nonblocking: bool,
}

/// Two connected ends.
pub fn mem_pair() -> (MemStream, MemStream) {
    let (a_tx, b_rx) = mpsc::channel();
    let (b_tx, a_rx) = mpsc::channel();
    let end = |rx, tx| MemStream {
        rx,
        tx,
        pending: VecDeque::new(),
        read_timeout: None,
        nonblocking: false,
    };
    (end(a_rx, a_tx), end(b_rx, b_tx))
}

impl Read for MemStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.pending.is_empty() {
            let chunk = if self.nonblocking {
                match self.rx.try_recv() {
                    Ok(chunk) => chunk,
                    Err(TryRecvError::Empty) => return Err(io::ErrorKind::WouldBlock.into()),
                    Err(TryRecvError::Disconnected) => return Ok(0),
                }
            } else if let Some(timeout) = self.read_timeout {
                match self.rx.recv_timeout(timeout) {
                    Ok(chunk) => chunk,
                    Err(RecvTimeoutError::Timeout) => return Err(io::ErrorKind::WouldBlock.into()),
                    Err(RecvTimeoutError::Disconnected) => return Ok(0),
                }
            } else {
                match self.rx.recv() {
                    Ok(chunk) => chunk,
                    Err(_) => return Ok(0),
                }
            };
            self.pending.extend(chunk);
        }
        let n = buf.len().min(self.pending.len());
        for (slot, byte) in buf.iter_mut().zip(self.pending.drain(..n)) {
            *slot = byte;
        }
        Ok(n)
    }
}

impl Write for MemStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.tx
            .send(buf.to_vec())
            .map_err(|_| io::Error::from(io::ErrorKind::BrokenPipe))?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl BlockingStream for MemStream {
    fn set_read_timeout(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        self.read_timeout = timeout;
        Ok(())
    }

    fn set_nonblocking(&mut self, nonblocking: bool) -> io::Result<()> {
        self.nonblocking = nonblocking;
        Ok(())
    }
}

/// What a client wrote, cut into negotiation lines and frames.
pub type Units = Arc<Mutex<Vec<Vec<u8>>>>;

/// The server's side of a transcript: each of the server's reads is handed
/// out once the client has written as many lines and frames as Perl's
/// client had at that point; until then a read would block. Past the end
/// of the transcript, reads see end-of-file.
#[derive(Debug)]
pub struct Script {
    steps: VecDeque<(Dir, Vec<u8>)>,
    written: Vec<u8>,
    units: Units,
    /// How many of the client's units the steps consumed so far.
    consumed: usize,
}

impl Script {
    /// A script for `transcript`, and where the client's units will be.
    pub fn new(transcript: &Transcript) -> (Self, Units) {
        let units = Units::default();
        let script = Self {
            steps: transcript.reads.iter().cloned().collect(),
            written: Vec::new(),
            units: Arc::clone(&units),
            consumed: 0,
        };
        (script, units)
    }

    /// Cut complete lines and frames off what was written.
    fn cut(&mut self) {
        loop {
            let Some(unit_len) = unit_len(&self.written) else {
                return;
            };
            let unit: Vec<u8> = self.written.drain(..unit_len).collect();
            self.units
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(unit);
        }
    }
}

/// The length of the first whole unit of `bytes`: a frame
/// (`<digits>\0<payload>`) or a line ending in CRLF.
pub fn unit_len(bytes: &[u8]) -> Option<usize> {
    let digits = bytes.iter().take_while(|b| b.is_ascii_digit()).count();
    if digits > 0 && bytes.get(digits) == Some(&0) {
        let len: usize = std::str::from_utf8(&bytes[..digits]).ok()?.parse().ok()?;
        let end = digits + 1 + len;
        return (bytes.len() >= end).then_some(end);
    }
    bytes.windows(2).position(|w| w == b"\r\n").map(|at| at + 2)
}

impl Read for Script {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            let written = self
                .units
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .len();
            match self.steps.front_mut() {
                None => return Ok(0),
                Some((Dir::ToServer, _)) if written > self.consumed => {
                    self.consumed += 1;
                    self.steps.pop_front();
                }
                Some((Dir::ToServer, _)) => return Err(io::ErrorKind::WouldBlock.into()),
                Some((Dir::ToClient, chunk)) => {
                    let n = buf.len().min(chunk.len());
                    buf[..n].copy_from_slice(&chunk[..n]);
                    chunk.drain(..n);
                    if chunk.is_empty() {
                        self.steps.pop_front();
                    }
                    return Ok(n);
                }
            }
        }
    }
}

impl Write for Script {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.written.extend_from_slice(buf);
        self.cut();
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl BlockingStream for Script {
    fn set_read_timeout(&mut self, _timeout: Option<Duration>) -> io::Result<()> {
        Ok(())
    }

    fn set_nonblocking(&mut self, _nonblocking: bool) -> io::Result<()> {
        Ok(())
    }
}
