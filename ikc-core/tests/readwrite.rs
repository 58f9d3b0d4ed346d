//! The ReadWrite helper: partial writes, the high-water mark, WRITABLE
//! interest only while output is pending, flush-then-close, EOF, and the
//! read limit — over a Unix stream pair and over loopback TCP.

mod util;

use std::io::{ErrorKind, Read, Write};
use std::net::Shutdown;

use ikc_core::{Ctx, Event, Interest, Kernel, ReadWrite, Readiness, Session};
use ikc_freezer::Value;
use mio::net::{TcpListener, TcpStream, UnixStream};
use util::{Log, lines, new_log, push, turn_until};

const BIG: usize = 4 * 1024 * 1024;

fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}

/// Puts `BIG` bytes at once, asks to close after the flush, and records
/// what the helper reports.
struct Writer {
    stream: Option<UnixStream>,
    rw: Option<ReadWrite<UnixStream>>,
    log: Log,
}

impl Session for Writer {
    fn handle(&mut self, ctx: &mut Ctx<'_>, ev: Event) -> Value {
        match ev.state() {
            "_start" => {
                let mut rw = ReadWrite::new(ctx, self.stream.take().unwrap(), "io").unwrap();
                rw.set_high_water(64 * 1024);
                assert_eq!(rw.interest(), Interest::READABLE);
                rw.put(ctx, &pattern(BIG)).unwrap();
                // The socket took part of it; the rest is queued.
                let queued = rw.queued();
                push(
                    &self.log,
                    format!("partial write: {}", queued > 0 && queued < BIG),
                );
                push(
                    &self.log,
                    format!("over high water: {}", rw.over_high_water()),
                );
                push(
                    &self.log,
                    format!("writable interest: {}", rw.interest().is_writable()),
                );
                assert!(!rw.close_after_flush(ctx), "output is pending");
                let refused = rw.put(ctx, b"more").unwrap_err();
                push(&self.log, format!("put after close: {:?}", refused.kind()));
                self.rw = Some(rw);
            }
            "io" => {
                let rw = self.rw.as_mut().unwrap();
                let ready = Readiness::from_event(&ev).unwrap();
                let out = rw.on_ready(ctx, &ready);
                assert!(out.error.is_none(), "{:?}", out.error);
                if out.flushed {
                    push(&self.log, format!("flushed, closed: {}", out.closed));
                    push(
                        &self.log,
                        format!("stream closed after flush: {}", rw.is_closed()),
                    );
                }
            }
            _ => {}
        }
        Value::Undef
    }
}

/// Reads everything with a small read limit and checks it.
struct Reader {
    stream: Option<UnixStream>,
    rw: Option<ReadWrite<UnixStream>>,
    got: Vec<u8>,
    log: Log,
    events: usize,
}

impl Session for Reader {
    fn handle(&mut self, ctx: &mut Ctx<'_>, ev: Event) -> Value {
        match ev.state() {
            "_start" => {
                let mut rw = ReadWrite::new(ctx, self.stream.take().unwrap(), "io").unwrap();
                rw.set_read_limit(64 * 1024);
                self.rw = Some(rw);
            }
            "io" => {
                self.events += 1;
                let rw = self.rw.as_mut().unwrap();
                let out = rw.on_ready(ctx, &Readiness::from_event(&ev).unwrap());
                assert!(
                    out.read <= 64 * 1024 + 64 * 1024,
                    "read limit respected: {}",
                    out.read
                );
                self.got.extend_from_slice(rw.input());
                let n = rw.input().len();
                rw.consume(n);
                if out.eof {
                    let ok = self.got == pattern(BIG);
                    push(
                        &self.log,
                        format!("reader eof after {} bytes, intact: {ok}", self.got.len()),
                    );
                    push(
                        &self.log,
                        format!("many events: {}", self.events > BIG / (128 * 1024)),
                    );
                    rw.close(ctx);
                }
            }
            _ => {}
        }
        Value::Undef
    }
}

#[test]
fn partial_writes_high_water_flush_then_close_and_eof() {
    let log = new_log();
    let mut k = Kernel::new().unwrap();
    let (a, b) = UnixStream::pair().unwrap();
    k.spawn(Writer {
        stream: Some(a),
        rw: None,
        log: log.clone(),
    });
    k.spawn(Reader {
        stream: Some(b),
        rw: None,
        got: Vec::new(),
        log: log.clone(),
        events: 0,
    });
    k.run().unwrap();
    assert_eq!(
        lines(&log),
        [
            "partial write: true",
            "over high water: true",
            "writable interest: true",
            "put after close: NotConnected",
            "flushed, closed: true",
            "stream closed after flush: true",
            &format!("reader eof after {BIG} bytes, intact: true"),
            "many events: true",
        ]
    );
}

/// Echoes lines back through a ReadWrite over TCP; reports EOF.
struct TcpEcho {
    stream: Option<TcpStream>,
    rw: Option<ReadWrite<TcpStream>>,
    log: Log,
}

impl Session for TcpEcho {
    fn handle(&mut self, ctx: &mut Ctx<'_>, ev: Event) -> Value {
        match ev.state() {
            "_start" => {
                ctx.alias_set("echo").unwrap();
                self.rw = Some(ReadWrite::new(ctx, self.stream.take().unwrap(), "io").unwrap());
            }
            "io" => {
                let rw = self.rw.as_mut().unwrap();
                let out = rw.on_ready(ctx, &Readiness::from_event(&ev).unwrap());
                let data = rw.take_input();
                if !data.is_empty() {
                    rw.put(ctx, &data).unwrap();
                }
                if out.eof {
                    push(&self.log, "echo eof");
                    rw.close_after_flush(ctx);
                    ctx.alias_remove("echo").unwrap();
                }
            }
            "flood" => {
                // The peer does not read: queue until over the mark.
                let rw = self.rw.as_mut().unwrap();
                rw.set_high_water(1024 * 1024);
                let chunk = vec![b'x'; 1024 * 1024];
                let mut puts = 0;
                while !rw.over_high_water() && puts < 256 {
                    rw.put(ctx, &chunk).unwrap();
                    puts += 1;
                }
                push(
                    &self.log,
                    format!("over high water: {}", rw.over_high_water()),
                );
                rw.close(ctx);
                push(
                    &self.log,
                    format!("closed: {} queued: {}", rw.is_closed(), rw.queued()),
                );
                ctx.alias_remove("echo").unwrap();
            }
            _ => {}
        }
        Value::Undef
    }
}

fn tcp_pair() -> (TcpStream, std::net::TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let client = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    // The connection is established (connect returned), so accept has it;
    // accept is nonblocking, so wait for readiness rather than spin.
    let mut poll = mio::Poll::new().unwrap();
    let mut listener = listener;
    poll.registry()
        .register(&mut listener, mio::Token(0), Interest::READABLE)
        .unwrap();
    let mut events = mio::Events::with_capacity(4);
    loop {
        match listener.accept() {
            Ok((server, _)) => return (server, client),
            Err(e) if e.kind() == ErrorKind::WouldBlock => poll.poll(&mut events, None).unwrap(),
            Err(e) => panic!("accept: {e}"),
        }
    }
}

#[test]
fn tcp_echo_then_eof() {
    let log = new_log();
    let mut k = Kernel::new().unwrap();
    let (server, mut client) = tcp_pair();
    k.spawn(TcpEcho {
        stream: Some(server),
        rw: None,
        log: log.clone(),
    });
    client.write_all(b"hello\n").unwrap();
    client.shutdown(Shutdown::Write).unwrap();
    k.run().unwrap();
    let mut back = Vec::new();
    client.read_to_end(&mut back).unwrap();
    assert_eq!(back, b"hello\n");
    assert_eq!(lines(&log), ["echo eof"]);
}

#[test]
fn a_peer_that_stops_reading_crosses_the_high_water_mark() {
    let log = new_log();
    let mut k = Kernel::new().unwrap();
    let (server, client) = tcp_pair();
    k.spawn(TcpEcho {
        stream: Some(server),
        rw: None,
        log: log.clone(),
    });
    k.post("echo", "flood", vec![]).unwrap();
    turn_until(&mut k, |k| k.session_count() == 0);
    assert_eq!(
        lines(&log),
        ["over high water: true", "closed: true queued: 0"]
    );
    drop(client);
}

/// Pauses input in `_start`; "resume" resumes it; records what it reads.
struct Pausable {
    stream: Option<UnixStream>,
    rw: Option<ReadWrite<UnixStream>>,
    log: Log,
}

impl Session for Pausable {
    fn handle(&mut self, ctx: &mut Ctx<'_>, ev: Event) -> Value {
        match ev.state() {
            "_start" => {
                let mut rw = ReadWrite::new(ctx, self.stream.take().unwrap(), "io").unwrap();
                rw.pause_input();
                self.rw = Some(rw);
            }
            "resume" => self.rw.as_mut().unwrap().resume_input(ctx),
            "io" => {
                let rw = self.rw.as_mut().unwrap();
                let out = rw.on_ready(ctx, &Readiness::from_event(&ev).unwrap());
                if out.read > 0 {
                    push(
                        &self.log,
                        String::from_utf8_lossy(&rw.take_input()).into_owned(),
                    );
                }
                if out.eof {
                    push(&self.log, "eof".to_owned());
                    rw.close(ctx);
                }
            }
            _ => {}
        }
        Value::Undef
    }
}

#[test]
fn data_and_close_while_paused_are_both_read_after_resume() {
    // Reads stop at a short read (the socket is empty then); a close that
    // arrived while paused must still be read to the end.
    let log = new_log();
    let mut k = Kernel::new().unwrap();
    let (mut a, b) = UnixStream::pair().unwrap();
    let id = k.spawn(Pausable {
        stream: Some(b),
        rw: None,
        log: log.clone(),
    });
    let big: Vec<u8> = (0..100_000u32).map(|i| b'a' + (i % 26) as u8).collect();
    a.write_all(&big).unwrap();
    drop(a);
    for _ in 0..3 {
        k.run_one(Some(std::time::Duration::ZERO)).unwrap();
    }
    assert!(lines(&log).is_empty());
    k.post(id, "resume", vec![]).unwrap();
    turn_until(&mut k, |_| lines(&log).last().is_some_and(|l| l == "eof"));
    let got: String = lines(&log)
        .iter()
        .filter(|l| *l != "eof")
        .map(String::as_str)
        .collect();
    assert!(
        got.as_bytes() == big.as_slice(),
        "read {} bytes of {}",
        got.len(),
        big.len()
    );
}

#[test]
fn paused_input_waits_in_the_socket_until_resumed() {
    let log = new_log();
    let mut k = Kernel::new().unwrap();
    let (mut a, b) = UnixStream::pair().unwrap();
    let id = k.spawn(Pausable {
        stream: Some(b),
        rw: None,
        log: log.clone(),
    });
    a.write_all(b"abc").unwrap();
    // The data is in the socket: turns run, readiness arrives, nothing is read.
    for _ in 0..3 {
        k.run_one(Some(std::time::Duration::ZERO)).unwrap();
    }
    assert!(lines(&log).is_empty());
    k.post(id, "resume", vec![]).unwrap();
    turn_until(&mut k, |_| !lines(&log).is_empty());
    assert_eq!(lines(&log), ["abc"]);
    drop(a);
    k.run().unwrap();
}
