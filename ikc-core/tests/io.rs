//! I/O watchers on real sockets: a TCP listener, connection and echo over
//! loopback, and a Unix stream pair, all in one kernel.

mod util;

use std::io::{ErrorKind, Read, Write};

use ikc_core::{Ctx, Event, Interest, Kernel, Readiness, Session, StateName, WatcherId};
use ikc_freezer::Value;
use mio::net::{TcpListener, TcpStream, UnixStream};
use util::{Log, lines, new_log, push, turn_until};

/// Accepts connections and spawns an echo session for each.
struct Listener {
    listener: TcpListener,
    log: Log,
    watcher: Option<WatcherId>,
}

impl Session for Listener {
    fn handle(&mut self, ctx: &mut Ctx<'_>, ev: Event) -> Value {
        match ev.state() {
            "_start" => {
                self.watcher = Some(
                    ctx.watch(&mut self.listener, Interest::READABLE, "accept")
                        .unwrap(),
                );
            }
            "accept" => loop {
                match self.listener.accept() {
                    Ok((stream, _)) => {
                        push(&self.log, "accepted");
                        ctx.spawn(Echo {
                            stream,
                            log: self.log.clone(),
                            watcher: None,
                        });
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                    Err(e) => panic!("accept: {e}"),
                }
            },
            "close" => {
                let id = self.watcher.take().unwrap();
                ctx.unwatch(&mut self.listener, id).unwrap();
            }
            _ => {}
        }
        Value::Undef
    }
}

/// Echoes what it reads with raw reads and writes (the buffering is
/// ReadWrite's job; this checks the watcher itself).
struct Echo {
    stream: TcpStream,
    log: Log,
    watcher: Option<WatcherId>,
}

impl Session for Echo {
    fn handle(&mut self, ctx: &mut Ctx<'_>, ev: Event) -> Value {
        match ev.state() {
            "_start" => {
                self.watcher = Some(
                    ctx.watch(&mut self.stream, Interest::READABLE, "ready")
                        .unwrap(),
                );
            }
            "ready" => {
                let ready = Readiness::from_event(&ev).expect("readiness args");
                assert_eq!(Some(ready.watcher), self.watcher);
                let mut buf = [0u8; 1024];
                loop {
                    match self.stream.read(&mut buf) {
                        Ok(0) => {
                            push(&self.log, "echo saw eof");
                            ctx.unwatch(&mut self.stream, ready.watcher).unwrap();
                            break;
                        }
                        Ok(n) => self.stream.write_all(&buf[..n]).unwrap(),
                        Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                        Err(e) => panic!("read: {e}"),
                    }
                }
            }
            _ => {}
        }
        Value::Undef
    }
}

/// Connects, sends a line once writable, and records what comes back.
struct Client {
    stream: TcpStream,
    log: Log,
    sent: bool,
    got: Vec<u8>,
}

impl Session for Client {
    fn handle(&mut self, ctx: &mut Ctx<'_>, ev: Event) -> Value {
        match ev.state() {
            "_start" => {
                ctx.watch(
                    &mut self.stream,
                    Interest::READABLE | Interest::WRITABLE,
                    "io",
                )
                .unwrap();
            }
            "io" => {
                let ready = Readiness::from_event(&ev).unwrap();
                if ready.writable && !self.sent {
                    self.stream.write_all(b"hello over tcp").unwrap();
                    self.sent = true;
                    ctx.reregister(&mut self.stream, ready.watcher, Interest::READABLE)
                        .unwrap();
                }
                let mut buf = [0u8; 64];
                loop {
                    match self.stream.read(&mut buf) {
                        Ok(0) => break,
                        Ok(n) => self.got.extend_from_slice(&buf[..n]),
                        Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                        Err(e) => panic!("read: {e}"),
                    }
                }
                if self.got == b"hello over tcp" {
                    push(
                        &self.log,
                        format!("client got {}", String::from_utf8_lossy(&self.got)),
                    );
                    // Closing our end: unwatch, and the stream drops with us.
                    ctx.unwatch(&mut self.stream, ready.watcher).unwrap();
                }
            }
            _ => {}
        }
        Value::Undef
    }
}

#[test]
fn tcp_listener_connection_and_echo_over_loopback() {
    let log = new_log();
    let mut k = Kernel::new().unwrap();
    let listener = TcpListener::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let addr = listener.local_addr().unwrap();
    let server = k.spawn(Listener {
        listener,
        log: log.clone(),
        watcher: None,
    });
    k.spawn(Client {
        stream: TcpStream::connect(addr).unwrap(),
        log: log.clone(),
        sent: false,
        got: Vec::new(),
    });
    turn_until(&mut k, |_| {
        lines(&log).contains(&"echo saw eof".to_string())
    });
    assert_eq!(
        lines(&log),
        ["accepted", "client got hello over tcp", "echo saw eof"]
    );
    // Only the listener is left, held by its watcher; closing it ends the
    // kernel.
    let info = k.sessions();
    assert_eq!(info.len(), 1);
    assert_eq!((info[0].id, info[0].refcount), (server, 1));
    k.post(server, "close", vec![]).unwrap();
    k.run().unwrap();
    assert_eq!(k.session_count(), 0);
}

/// Writes a message when its end of the pair is writable, then waits for
/// the peer to close.
struct PairEnd {
    stream: UnixStream,
    log: Log,
    name: &'static str,
    send: Option<&'static [u8]>,
}

impl Session for PairEnd {
    fn handle(&mut self, ctx: &mut Ctx<'_>, ev: Event) -> Value {
        match ev.state() {
            "_start" => {
                let interest = if self.send.is_some() {
                    Interest::READABLE | Interest::WRITABLE
                } else {
                    Interest::READABLE
                };
                ctx.watch(&mut self.stream, interest, "io").unwrap();
            }
            "io" => {
                let ready = Readiness::from_event(&ev).unwrap();
                if ready.writable {
                    if let Some(bytes) = self.send.take() {
                        self.stream.write_all(bytes).unwrap();
                        push(&self.log, format!("{} wrote", self.name));
                    }
                }
                // One read: the message is tiny, and either it, EOF, or
                // nothing yet is there.
                let mut buf = [0u8; 64];
                match self.stream.read(&mut buf) {
                    Ok(0) => {
                        let line = format!("{} eof (read_closed={})", self.name, ready.read_closed);
                        push(&self.log, line);
                        ctx.unwatch(&mut self.stream, ready.watcher).unwrap();
                    }
                    Ok(n) => {
                        let text = String::from_utf8_lossy(&buf[..n]);
                        push(&self.log, format!("{} read {text}", self.name));
                        // Got it: stop watching; our end drops when the
                        // session stops.
                        ctx.unwatch(&mut self.stream, ready.watcher).unwrap();
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                    Err(e) => panic!("read: {e}"),
                }
            }
            _ => {}
        }
        Value::Undef
    }
}

#[test]
fn unix_stream_pair_data_then_eof() {
    let log = new_log();
    let mut k = Kernel::new().unwrap();
    let (a, b) = UnixStream::pair().unwrap();
    k.spawn(PairEnd {
        stream: a,
        log: log.clone(),
        name: "a",
        send: Some(b"ping"),
    });
    k.spawn(PairEnd {
        stream: b,
        log: log.clone(),
        name: "b",
        send: None,
    });
    k.run().unwrap();
    let got = lines(&log);
    assert_eq!(got[0], "a wrote");
    assert_eq!(got[1], "b read ping");
    assert_eq!(got[2], "a eof (read_closed=true)");
    assert_eq!(got.len(), 3);
}

/// Takes its socket's readiness in `handle_readiness`, and logs every
/// event `handle` gets (reading there too, should readiness come as an
/// event, so the kernel still ends).
struct TakesReadiness {
    stream: UnixStream,
    log: Log,
    watcher: Option<WatcherId>,
}

impl TakesReadiness {
    /// Read what the peer wrote, stop watching, and log it.
    fn read_once(&mut self, ctx: &mut Ctx<'_>, how: &str, readiness: Readiness) {
        assert_eq!(Some(readiness.watcher), self.watcher);
        assert_eq!(ctx.current_state(), "ready");
        let mut buf = [0u8; 64];
        let n = self.stream.read(&mut buf).unwrap();
        let text = String::from_utf8_lossy(&buf[..n]);
        let line = format!("{how} readable={} read {text}", readiness.readable);
        push(&self.log, line);
        ctx.unwatch(&mut self.stream, readiness.watcher).unwrap();
    }
}

impl Session for TakesReadiness {
    fn handle(&mut self, ctx: &mut Ctx<'_>, ev: Event) -> Value {
        match ev.state() {
            "_start" => {
                self.watcher = Some(
                    ctx.watch(&mut self.stream, Interest::READABLE, "ready")
                        .unwrap(),
                );
                push(&self.log, "handle _start");
            }
            "ready" => {
                let readiness = Readiness::from_event(&ev).unwrap();
                self.read_once(ctx, "handle ready", readiness);
            }
            other => push(&self.log, format!("handle {other}")),
        }
        Value::Undef
    }

    fn handle_readiness(
        &mut self,
        ctx: &mut Ctx<'_>,
        state: StateName,
        readiness: Readiness,
    ) -> Value {
        self.read_once(ctx, &format!("readiness {state}"), readiness);
        Value::Undef
    }
}

#[test]
fn a_session_may_take_readiness_without_the_event() {
    let log = new_log();
    let mut k = Kernel::new().unwrap();
    let (ours, theirs) = UnixStream::pair().unwrap();
    k.spawn(TakesReadiness {
        stream: ours,
        log: log.clone(),
        watcher: None,
    });
    let mut theirs = std::os::unix::net::UnixStream::from(std::os::fd::OwnedFd::from(theirs));
    theirs.write_all(b"hi").unwrap();
    k.run().unwrap();
    assert_eq!(
        lines(&log),
        [
            "handle _start",
            "readiness ready readable=true read hi",
            "handle _stop"
        ]
    );
}
