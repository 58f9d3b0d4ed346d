//! `pingpong`: the floor under every round trip. Raw TCP over loopback
//! between two processes, no IKC: each client thread writes 100 bytes and
//! waits for the server to send them back (std blocking sockets,
//! TCP_NODELAY); the server is one thread on epoll (mio), as an IKC server
//! kernel is. With one thread it measures the round trip (mean, p50, p99);
//! with more, the calls per second a single-threaded server can answer.

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, ensure};
use mio::net::TcpListener;
use mio::{Events, Interest, Poll, Token};

use crate::args::Args;
use crate::process::ServerProcess;
use crate::stats::{Summary, per_sec};

/// Bytes per message, as in the reference C ping-pong.
const SIZE: usize = 100;
const LISTENER: Token = Token(usize::MAX);

/// `ikc-bench pingpong-serve`: echo every byte back, until the clients are
/// all gone (or standard input closes).
pub(crate) fn serve(args: &Args) -> Result<()> {
    let port: u16 = args.number("port", 0)?;
    let mut listener = TcpListener::bind(([127, 0, 0, 1], port).into())?;
    let mut poll = Poll::new()?;
    poll.registry()
        .register(&mut listener, LISTENER, Interest::READABLE)?;
    crate::serve::exit_with_stdin();
    let mut out = std::io::stdout();
    writeln!(out, "port={}", listener.local_addr()?.port())?;
    out.flush()?;
    let mut conns: Vec<Option<mio::net::TcpStream>> = Vec::new();
    let mut open = 0usize;
    let mut events = Events::with_capacity(1024);
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        poll.poll(&mut events, None)?;
        for event in &events {
            if event.token() == LISTENER {
                loop {
                    match listener.accept() {
                        Ok((mut stream, _)) => {
                            stream.set_nodelay(true)?;
                            poll.registry().register(
                                &mut stream,
                                Token(conns.len()),
                                Interest::READABLE,
                            )?;
                            conns.push(Some(stream));
                            open += 1;
                        }
                        Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                        Err(e) => return Err(e.into()),
                    }
                }
                continue;
            }
            let slot = event.token().0;
            let Some(stream) = conns.get_mut(slot).and_then(Option::as_mut) else {
                continue;
            };
            let mut closed = false;
            loop {
                match stream.read(&mut buf) {
                    Ok(0) => {
                        closed = true;
                        break;
                    }
                    Ok(n) => echo(stream, &buf[..n])?,
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == ErrorKind::Interrupted => {}
                    Err(_) => {
                        closed = true;
                        break;
                    }
                }
            }
            if closed {
                conns[slot] = None;
                open -= 1;
                if open == 0 {
                    return Ok(());
                }
            }
        }
    }
}

/// Write `bytes` back; the clients wait for each answer, so the socket
/// always has room, but a full one is waited out rather than dropped.
fn echo(stream: &mut mio::net::TcpStream, mut bytes: &[u8]) -> Result<()> {
    while !bytes.is_empty() {
        match stream.write(bytes) {
            Ok(n) => bytes = &bytes[n..],
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::Interrupted) => {
                std::thread::yield_now();
            }
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// `n` round trips on one connection, after `warmup`: the time of each.
fn round_trips(stream: &mut TcpStream, warmup: u64, n: u64) -> Result<Vec<Duration>> {
    let message = [0x5a_u8; SIZE];
    let mut back = [0_u8; SIZE];
    let mut times = Vec::with_capacity(n as usize);
    for i in 0..warmup + n {
        let start = Instant::now();
        stream.write_all(&message)?;
        stream.read_exact(&mut back)?;
        if i >= warmup {
            times.push(start.elapsed());
        }
    }
    ensure!(back == message, "the echo changed the bytes");
    Ok(times)
}

/// Returns the round trips and the calls per second.
pub(crate) fn run(args: &Args) -> Result<(Summary, u64)> {
    let threads: u64 = args.number("threads", 1)?;
    let n: u64 = args.number("n", 20_000)?;
    let warmup: u64 = args.number("warmup", 1000)?;
    ensure!(
        threads > 0 && n >= threads,
        "--threads must be positive and at most --n"
    );
    let per_thread = n / threads;
    let n = per_thread * threads;
    let server = ServerProcess::start_as(args, "pingpong-serve", &[])?;
    let port = server.port();
    let barrier = Arc::new(Barrier::new(threads as usize + 1));
    let workers: Vec<_> = (0..threads)
        .map(|_| {
            let barrier = Arc::clone(&barrier);
            std::thread::spawn(move || -> Result<Vec<Duration>> {
                let ready = TcpStream::connect(("127.0.0.1", port))
                    .and_then(|s| s.set_nodelay(true).map(|()| s))
                    .context("connecting")
                    .and_then(|mut s| round_trips(&mut s, warmup, 0).map(|_| s));
                barrier.wait();
                round_trips(&mut ready?, 0, per_thread)
            })
        })
        .collect();
    barrier.wait();
    let start = Instant::now();
    let mut times = Vec::with_capacity(n as usize);
    let mut failures = Vec::new();
    for worker in workers {
        match worker.join() {
            Ok(Ok(t)) => times.extend(t),
            Ok(Err(e)) => failures.push(format!("{e:#}")),
            Err(_) => failures.push("a client thread panicked".to_owned()),
        }
    }
    let elapsed = start.elapsed();
    server.finish()?;
    ensure!(
        failures.is_empty(),
        "client threads failed: {}",
        failures.join("; ")
    );
    let summary = Summary::of(&mut times).context("no round trips timed")?;
    if threads == 1 {
        println!("pingpong bytes={SIZE} n={n} {}", summary.fields());
    } else {
        println!(
            "pingpong bytes={SIZE} threads={threads} n={n} calls_per_sec={} p50_us={:.1} p99_us={:.1}",
            per_sec(n, elapsed),
            summary.p50_us,
            summary.p99_us
        );
    }
    Ok((summary, per_sec(n, elapsed)))
}
