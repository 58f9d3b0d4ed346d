//! [`ReadWrite`]: buffered nonblocking I/O on a stream, the role of POE's
//! `Wheel::ReadWrite`.

use std::cell::Cell;
use std::io::{self, Read, Write};

use mio::Interest;
use mio::event::Source;

use crate::ctx::Ctx;
use crate::error::KernelError;
use crate::event::{Readiness, StateName};
use crate::ids::WatcherId;

/// Bytes read per `read` call at most.
const READ_CHUNK: usize = 64 * 1024;
/// Bytes read per `read` call at first: the chunk doubles each time a read
/// fills it, so an idle connection keeps a small buffer and a busy one
/// soon reads [`READ_CHUNK`] at a time.
const FIRST_READ_CHUNK: usize = 4 * 1024;
/// Default bytes read per readiness event before yielding to other events.
const DEFAULT_READ_LIMIT: usize = 256 * 1024;
/// Default high-water mark of queued output.
const DEFAULT_HIGH_WATER: usize = 1024 * 1024;
/// An input buffer larger than this is freed once consumed, not kept.
const MAX_KEPT_INPUT: usize = 4 * READ_CHUNK;

thread_local! {
    /// The input buffer of the last stream on this thread whose input was
    /// all consumed, for the next stream that reads. A stream holds an input
    /// buffer only from a read until its input is consumed, so an idle
    /// connection holds none, while reading neither allocates nor zeroes
    /// memory again: the kernel runs one handler at a time, and one buffer
    /// goes from stream to stream.
    static SPARE_INPUT: Cell<Vec<u8>> = const { Cell::new(Vec::new()) };
}

/// A buffer for the next read: the spare one, or a new one.
fn take_spare_input() -> Vec<u8> {
    SPARE_INPUT.with(Cell::take)
}

/// Keep `input` (all consumed) for the next read on this thread, unless the
/// spare buffer already there is larger.
fn give_spare_input(input: Vec<u8>) {
    if input.len() > MAX_KEPT_INPUT {
        return; // give a burst's memory back
    }
    SPARE_INPUT.with(|spare| {
        let other = spare.take();
        spare.set(if input.len() >= other.len() {
            input
        } else {
            other
        });
    });
}

/// What one [`ReadWrite::on_ready`] call did.
#[derive(Debug, Default)]
#[non_exhaustive]
pub struct ReadyOutcome {
    /// Bytes appended to the input buffer.
    pub read: usize,
    /// The peer closed its end (a read returned 0). No more input will come.
    pub eof: bool,
    /// The output queue became empty during this call (POE's
    /// `FlushedEvent`).
    pub flushed: bool,
    /// The stream was closed (after "flush then close" finished).
    pub closed: bool,
    /// A read or write failed; the stream should be closed.
    pub error: Option<io::Error>,
}

/// A nonblocking stream registered with the kernel, with an input buffer
/// and an output queue.
///
/// Create it in a handler with [`ReadWrite::new`], naming the state its
/// readiness events invoke; in that state's handler call
/// [`on_ready`](Self::on_ready), then consume [`input`](Self::input).
/// [`put`](Self::put) queues output and writes what the socket takes at
/// once; the rest is written as the socket allows, with `WRITABLE`
/// interest registered only while output is pending.
///
/// Reads are edge-triggered: `on_ready` reads until the socket would
/// block, but at most [`set_read_limit`](Self::set_read_limit) bytes per
/// event; if it stops at the limit it posts itself another readiness event
/// so other sessions get their turn. Consume the input each time: the
/// buffer grows by up to the read limit per event. Once all of it is
/// consumed the stream holds no input buffer (its memory goes to the next
/// stream of the thread that reads), so idle connections cost little.
///
/// Works with any `Read + Write + Source`: `mio::net::TcpStream`,
/// `mio::net::UnixStream`.
#[derive(Debug)]
pub struct ReadWrite<S: Read + Write + Source> {
    stream: Option<S>,
    watcher: WatcherId,
    state: StateName,
    /// Input: the first `filled` bytes are data; the rest is zeroed space
    /// kept for the next reads, so reading never re-zeroes memory. Empty
    /// (no allocation) while there is no input: once consumed, the buffer
    /// goes back to the thread's spare (see [`SPARE_INPUT`]).
    input: Vec<u8>,
    filled: usize,
    /// Bytes asked for by the next `read`.
    chunk: usize,
    output: Vec<u8>,
    /// Bytes of `output` already written.
    written: usize,
    interest: Interest,
    high_water: usize,
    read_limit: usize,
    paused: bool,
    /// A readiness event said the peer closed its end (or the socket
    /// failed): reads go on until end of input.
    peer_closed: bool,
    eof: bool,
    close_when_flushed: bool,
}

impl<S: Read + Write + Source> ReadWrite<S> {
    /// Register `stream` for reading; its readiness invokes `state` of the
    /// running session.
    ///
    /// # Errors
    ///
    /// The poller refused the stream, which is given back.
    pub fn new(
        ctx: &mut Ctx<'_>,
        mut stream: S,
        state: impl Into<StateName>,
    ) -> Result<Self, (S, KernelError)> {
        let state = state.into();
        let watcher = match ctx.watch(&mut stream, Interest::READABLE, state.clone()) {
            Ok(id) => id,
            Err(e) => return Err((stream, e)),
        };
        Ok(Self {
            stream: Some(stream),
            watcher,
            state,
            input: Vec::new(),
            filled: 0,
            chunk: FIRST_READ_CHUNK,
            output: Vec::new(),
            written: 0,
            interest: Interest::READABLE,
            high_water: DEFAULT_HIGH_WATER,
            read_limit: DEFAULT_READ_LIMIT,
            paused: false,
            peer_closed: false,
            eof: false,
            close_when_flushed: false,
        })
    }

    /// The watcher (ARG0 of this stream's readiness events).
    pub fn watcher(&self) -> WatcherId {
        self.watcher
    }

    /// Is this readiness event for this stream?
    pub fn is_mine(&self, ready: &Readiness) -> bool {
        ready.watcher == self.watcher
    }

    /// The output high-water mark (bytes queued); see
    /// [`over_high_water`](Self::over_high_water).
    pub fn set_high_water(&mut self, bytes: usize) {
        self.high_water = bytes;
    }

    /// Bytes read per readiness event at most (at least one chunk).
    pub fn set_read_limit(&mut self, bytes: usize) {
        self.read_limit = bytes.max(1);
    }

    /// The bytes read and not yet consumed.
    pub fn input(&self) -> &[u8] {
        &self.input[..self.filled]
    }

    /// Drop the first `n` bytes of input (all of it if `n` is larger).
    pub fn consume(&mut self, n: usize) {
        let n = n.min(self.filled);
        self.input.copy_within(n..self.filled, 0);
        self.filled -= n;
        if self.filled == 0 && !self.input.is_empty() {
            give_spare_input(std::mem::take(&mut self.input));
        }
    }

    /// Take all the input.
    pub fn take_input(&mut self) -> Vec<u8> {
        let mut taken = std::mem::take(&mut self.input);
        taken.truncate(self.filled);
        self.filled = 0;
        taken
    }

    /// Bytes queued for output and not yet written.
    pub fn queued(&self) -> usize {
        self.output.len() - self.written
    }

    /// Is more output queued than the high-water mark? A peer that stops
    /// reading makes this true; the caller may then close it.
    pub fn over_high_water(&self) -> bool {
        self.queued() > self.high_water
    }

    /// Did the peer close its end?
    pub fn is_eof(&self) -> bool {
        self.eof
    }

    /// Has the stream been closed?
    pub fn is_closed(&self) -> bool {
        self.stream.is_none()
    }

    /// What the stream is registered for (`WRITABLE` only while output is
    /// pending).
    pub fn interest(&self) -> Interest {
        self.interest
    }

    /// The stream.
    pub fn get_ref(&self) -> Option<&S> {
        self.stream.as_ref()
    }

    /// Queue `bytes` and write as much as the socket takes now.
    ///
    /// # Errors
    ///
    /// The stream is closed (or closing), or the write failed.
    pub fn put(&mut self, ctx: &mut Ctx<'_>, bytes: &[u8]) -> io::Result<()> {
        self.accepting()?;
        self.output.extend_from_slice(bytes);
        self.flush(ctx).map(|_| ())
    }

    /// [`put`](Self::put) for bytes in a buffer the caller reuses: when
    /// nothing is queued, the buffers are swapped instead of copied (the
    /// caller gets back an empty buffer with room). `bytes` is empty
    /// afterwards either way.
    ///
    /// # Errors
    ///
    /// As [`put`](Self::put).
    pub fn put_buffer(&mut self, ctx: &mut Ctx<'_>, bytes: &mut Vec<u8>) -> io::Result<()> {
        if let Err(e) = self.accepting() {
            bytes.clear();
            return Err(e);
        }
        // Nothing queued means nothing written of it either.
        if self.output.is_empty() {
            std::mem::swap(&mut self.output, bytes);
        } else {
            self.output.extend_from_slice(bytes);
        }
        bytes.clear();
        self.flush(ctx).map(|_| ())
    }

    /// May output be queued? Not once the stream is closed or closing.
    fn accepting(&self) -> io::Result<()> {
        if self.stream.is_none() || self.close_when_flushed {
            return Err(io::Error::new(io::ErrorKind::NotConnected, "stream closed"));
        }
        Ok(())
    }

    /// Write queued output until done or the socket would block; returns
    /// whether the queue is now empty. Sets `WRITABLE` interest while
    /// output remains.
    fn flush(&mut self, ctx: &mut Ctx<'_>) -> io::Result<bool> {
        let Some(stream) = self.stream.as_mut() else {
            return Ok(true);
        };
        while self.written < self.output.len() {
            match stream.write(&self.output[self.written..]) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => self.written += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        let done = self.written == self.output.len();
        if done {
            self.output.clear();
            self.written = 0;
        } else if self.written > READ_CHUNK && self.written * 2 > self.output.len() {
            // Reclaim the written prefix once it dominates the buffer.
            self.output.drain(..self.written);
            self.written = 0;
        }
        let wanted = if done {
            Interest::READABLE
        } else {
            Interest::READABLE | Interest::WRITABLE
        };
        if wanted != self.interest {
            ctx.reregister(stream, self.watcher, wanted)
                .map_err(kernel_to_io)?;
            self.interest = wanted;
        }
        Ok(done)
    }

    /// Handle a readiness event of this stream: read what is available
    /// into the input buffer, write what is queued, and finish a pending
    /// "flush then close". Events for other watchers are ignored.
    pub fn on_ready(&mut self, ctx: &mut Ctx<'_>, ready: &Readiness) -> ReadyOutcome {
        let mut out = ReadyOutcome::default();
        if !self.is_mine(ready) || self.stream.is_none() {
            return out;
        }
        self.peer_closed |= ready.read_closed || ready.error;
        if ready.writable || ready.error || self.queued() > 0 {
            let had_output = self.queued() > 0;
            match self.flush(ctx) {
                Ok(done) => out.flushed = had_output && done,
                Err(e) => {
                    out.error = Some(e);
                    return out;
                }
            }
        }
        if (ready.readable || ready.read_closed || ready.error) && !self.paused && !self.eof {
            self.read_available(ctx, &mut out);
        }
        if self.close_when_flushed && self.queued() == 0 && self.stream.is_some() {
            self.close(ctx);
            out.closed = true;
        }
        out
    }

    fn read_available(&mut self, ctx: &mut Ctx<'_>, out: &mut ReadyOutcome) {
        if self.input.is_empty() {
            self.input = take_spare_input();
        }
        self.read_into_input(ctx, out);
        // Nothing read: the buffer goes back at once.
        self.consume(0);
    }

    fn read_into_input(&mut self, ctx: &mut Ctx<'_>, out: &mut ReadyOutcome) {
        let Some(stream) = self.stream.as_mut() else {
            return;
        };
        loop {
            if out.read >= self.read_limit {
                // More may be waiting: come back after other events.
                let again = Readiness {
                    watcher: self.watcher,
                    readable: true,
                    writable: false,
                    read_closed: false,
                    write_closed: false,
                    error: false,
                };
                ctx.yield_(self.state.clone(), again.to_args());
                return;
            }
            let start = self.filled;
            let chunk = self.chunk;
            if self.input.len() < start + chunk {
                self.input.resize(start + chunk, 0);
            }
            match stream.read(&mut self.input[start..start + chunk]) {
                Ok(0) => {
                    self.eof = true;
                    out.eof = true;
                    return;
                }
                Ok(n) => {
                    self.filled += n;
                    out.read += n;
                    if n == chunk {
                        self.chunk = (chunk * 2).min(READ_CHUNK);
                    } else if !self.peer_closed {
                        // A short read emptied the socket: what arrives
                        // later raises a new (edge-triggered) event, so
                        // the read that would say "would block" is saved.
                        // Once the peer closed, read on to the end.
                        return;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    out.error = Some(e);
                    return;
                }
            }
        }
    }

    /// Stop reading (POE's `pause_input`); input the peer sends waits in
    /// the socket.
    pub fn pause_input(&mut self) {
        self.paused = true;
    }

    /// Read again (POE's `resume_input`). Posts a readiness event to this
    /// stream's state, since edge-triggered readiness that arrived while
    /// paused will not be reported again.
    pub fn resume_input(&mut self, ctx: &mut Ctx<'_>) {
        if !self.paused {
            return;
        }
        self.paused = false;
        if self.stream.is_some() {
            let again = Readiness {
                watcher: self.watcher,
                readable: true,
                writable: false,
                read_closed: false,
                write_closed: false,
                error: false,
            };
            ctx.yield_(self.state.clone(), again.to_args());
        }
    }

    /// Close once the queued output is written (at once if none is).
    /// Returns `true` if the stream closed now. Further `put`s fail.
    pub fn close_after_flush(&mut self, ctx: &mut Ctx<'_>) -> bool {
        if self.stream.is_none() {
            return true;
        }
        self.close_when_flushed = true;
        if self.queued() == 0 {
            self.close(ctx);
            return true;
        }
        false
    }

    /// Close now, dropping queued output: unwatch and drop the stream.
    pub fn close(&mut self, ctx: &mut Ctx<'_>) {
        if let Some(mut stream) = self.stream.take() {
            if let Err(e) = ctx.unwatch(&mut stream, self.watcher) {
                log::debug!("unwatch on close: {e}");
            }
        }
        self.output = Vec::new();
        self.written = 0;
    }
}

fn kernel_to_io(e: KernelError) -> io::Error {
    match e {
        KernelError::Io(e) => e,
        other => io::Error::other(other),
    }
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;
    use std::rc::Rc;

    use ikc_freezer::Value;
    use mio::net::UnixStream;

    use super::*;
    use crate::{Event, Kernel, Session};

    /// What a stream saw when it read: its input, the input buffer's
    /// address, and the bytes it held once the input was consumed.
    type Reads = Rc<RefCell<Vec<(Vec<u8>, usize, usize)>>>;

    /// Two streams; the peer of the first writes, then, once the first
    /// has read, the peer of the second.
    struct TwoReaders {
        streams: Vec<UnixStream>,
        peers: Vec<UnixStream>,
        wheels: Vec<ReadWrite<UnixStream>>,
        reads: Reads,
    }

    impl Session for TwoReaders {
        fn handle(&mut self, ctx: &mut Ctx<'_>, ev: Event) -> Value {
            match ev.state() {
                "_start" => {
                    for stream in self.streams.drain(..) {
                        self.wheels
                            .push(ReadWrite::new(ctx, stream, "io").expect("watched"));
                    }
                    self.peers[0].write_all(b"first").expect("written");
                }
                "io" => {
                    let ready = Readiness::from_event(&ev).expect("readiness");
                    let Some(i) = self.wheels.iter().position(|w| w.is_mine(&ready)) else {
                        return Value::Undef;
                    };
                    let wheel = &mut self.wheels[i];
                    let out = wheel.on_ready(ctx, &ready);
                    if out.read == 0 {
                        return Value::Undef;
                    }
                    let input = wheel.input().to_vec();
                    let address = wheel.input.as_ptr() as usize;
                    wheel.consume(input.len());
                    self.reads
                        .borrow_mut()
                        .push((input, address, wheel.input.capacity()));
                    if i == 0 {
                        self.peers[1].write_all(b"second").expect("written");
                    } else {
                        for wheel in &mut self.wheels {
                            wheel.close(ctx);
                        }
                    }
                }
                _ => {}
            }
            Value::Undef
        }
    }

    #[test]
    fn a_stream_holds_no_input_buffer_once_its_input_is_consumed() {
        let (a, peer_a) = UnixStream::pair().expect("pair");
        let (b, peer_b) = UnixStream::pair().expect("pair");
        let reads = Reads::default();
        let mut kernel = Kernel::new().expect("kernel");
        kernel.spawn(TwoReaders {
            streams: vec![a, b],
            peers: vec![peer_a, peer_b],
            wheels: Vec::new(),
            reads: Rc::clone(&reads),
        });
        kernel.run().expect("ran");
        let reads = reads.borrow();
        assert_eq!(reads.len(), 2, "{reads:?}");
        assert_eq!(reads[0].0, b"first");
        assert_eq!(reads[1].0, b"second");
        // Consumed: nothing held.
        assert_eq!((reads[0].2, reads[1].2), (0, 0));
        // The second stream read into the buffer the first gave back.
        assert_eq!(reads[0].1, reads[1].1);
    }

    /// What [`BufferWriter`] saw: the bytes queued after each put, and
    /// the lengths of its two buffers once put.
    type Puts = Rc<RefCell<Option<(usize, usize, usize, usize)>>>;

    /// Writes two buffers with [`ReadWrite::put_buffer`] while the peer
    /// does not read: the first larger than the socket takes, so the
    /// second is queued behind it. Then it lets the peer read.
    struct BufferWriter {
        stream: Option<UnixStream>,
        wheel: Option<ReadWrite<UnixStream>>,
        first: Vec<u8>,
        puts: Puts,
        peer_may_read: std::sync::mpsc::Sender<()>,
    }

    impl Session for BufferWriter {
        fn handle(&mut self, ctx: &mut Ctx<'_>, ev: Event) -> Value {
            match ev.state() {
                "_start" => {
                    let stream = self.stream.take().expect("stream");
                    let mut wheel = ReadWrite::new(ctx, stream, "io").expect("watched");
                    wheel.put_buffer(ctx, &mut self.first).expect("put");
                    let after_first = wheel.queued();
                    let mut tail = b"tail".to_vec();
                    wheel.put_buffer(ctx, &mut tail).expect("put");
                    *self.puts.borrow_mut() =
                        Some((after_first, wheel.queued(), self.first.len(), tail.len()));
                    wheel.close_after_flush(ctx);
                    self.wheel = Some(wheel);
                    self.peer_may_read.send(()).expect("peer waiting");
                }
                "io" => {
                    let ready = Readiness::from_event(&ev).expect("readiness");
                    if let Some(wheel) = self.wheel.as_mut() {
                        wheel.on_ready(ctx, &ready);
                    }
                }
                _ => {}
            }
            Value::Undef
        }
    }

    #[test]
    fn buffers_put_are_written_whole_and_in_order() {
        let (ours, peer) = std::os::unix::net::UnixStream::pair().expect("pair");
        ours.set_nonblocking(true).expect("nonblocking");
        let (peer_may_read, may_read) = std::sync::mpsc::channel();
        let reader = std::thread::spawn(move || {
            let mut peer = peer;
            let mut all = Vec::new();
            if may_read.recv().is_ok() {
                peer.read_to_end(&mut all).expect("read");
            }
            all
        });
        let first: Vec<u8> = (0..4 << 20).map(|i: u32| (i % 251) as u8).collect();
        let puts = Puts::default();
        let mut kernel = Kernel::new().expect("kernel");
        kernel.spawn(BufferWriter {
            stream: Some(UnixStream::from_std(ours)),
            wheel: None,
            first: first.clone(),
            puts: Rc::clone(&puts),
            peer_may_read,
        });
        kernel.run().expect("ran");
        let all = reader.join().expect("reader");
        let (after_first, after_second, first_left, tail_left) =
            puts.borrow().expect("both buffers put");
        // The socket took part of the first; the second waited behind it.
        assert!(after_first > 0, "the socket took everything");
        assert_eq!(after_second, after_first + 4);
        // The callers' buffers come back empty.
        assert_eq!((first_left, tail_left), (0, 0));
        assert_eq!(all.len(), first.len() + 4);
        assert!(all[..first.len()] == first[..], "first buffer changed");
        assert_eq!(&all[first.len()..], b"tail");
    }
}
