//! `ikc-bench serve`: the server process. Kernel `Bench`, listening on
//! 127.0.0.1, with the session `bench` publishing:
//!
//! - `sink`: counts the payloads posted to it and checks their `seq` runs
//!   0, 1, 2, ...;
//! - `ack`: returns the count so far (the one-way client's flow control);
//! - `done`: returns `{count, misordered}` and starts counting afresh;
//! - `echo`: returns its argument;
//! - `quit`: stops the server.
//!
//! With `--nats URL` the kernel is also attached to that NATS bus as
//! `Bench` (in the `--codec` freezer), for the `nats` scenario. With
//! `--monitor-messages` a session monitors every message of every kernel
//! (IKC's `leaving`, `arriving`, `routed` and `dropped` monitors of `*`)
//! and counts what it hears, so a scenario shows what watching costs.
//!
//! It prints `port=N` once listening, and exits when a client posts
//! `quit` or when its standard input closes (the benchmark that started it
//! is gone).

use std::io::{Read, Write};

use anyhow::Result;
use ikc_core::{InlineStates, Kernel};
use ikc_freezer::{Hash, Value};
use ikc_responder::{Ikc, MonitorOp, MonitorStates};
use ikc_server::{Server, ServerConfig};

use crate::args::Args;
use crate::{SERVER_NAME, SESSION};

/// The states `bench` publishes.
const STATES: [&str; 5] = ["sink", "ack", "done", "echo", "quit"];

/// What `sink` has seen.
#[derive(Debug, Default)]
struct Sink {
    count: u64,
    next_seq: u64,
    misordered: u64,
}

/// Exit with the benchmark that started us, however it ends: when our
/// standard input closes.
pub(crate) fn exit_with_stdin() {
    std::thread::spawn(|| {
        let mut stdin = std::io::stdin();
        let mut buf = [0; 64];
        while matches!(stdin.read(&mut buf), Ok(n) if n > 0) {}
        std::process::exit(0);
    });
}

pub(crate) fn serve(args: &Args) -> Result<()> {
    let port: u16 = args.number("port", 0)?;
    let mut kernel = Kernel::new()?;
    let config = ServerConfig::tcp("127.0.0.1", port).name(SERVER_NAME);
    let listening = Server::spawn(&mut kernel, crate::security::server(args, config)?)?;
    if let Some(url) = args.get("nats") {
        let freezer = crate::codec_name(args.get_or("codec", "native"))?;
        ikc_nats::attach(
            &mut kernel,
            ikc_nats::NatsConfig::new(url)
                .name(SERVER_NAME)
                .freezer(freezer),
        )?;
    }
    kernel.spawn(
        InlineStates::with_heap(Sink::default())
            .state("_start", |_, ctx, _| {
                ctx.alias_set(SESSION).expect("the alias is free");
                Ikc::require(ctx)
                    .expect("the server started the responder")
                    .publish(SESSION, &STATES);
            })
            .state("sink", |sink: &mut Sink, _, ev| {
                let seq = ev.args.first().and_then(|p| p["seq"].as_u64());
                if seq != Some(sink.next_seq) {
                    sink.misordered += 1;
                }
                sink.next_seq = seq.map_or(sink.next_seq, |s| s + 1);
                sink.count += 1;
            })
            .state("ack", |sink: &mut Sink, _, _| Value::from(sink.count))
            .state("done", |sink: &mut Sink, _, _| {
                let mut result = Hash::new();
                result.insert("count", Value::from(sink.count));
                result.insert("misordered", Value::from(sink.misordered));
                *sink = Sink::default();
                Value::Hash(result)
            })
            .state("echo", |_, _, mut ev| {
                ev.args.drain(..).next().unwrap_or_default()
            })
            .state("quit", |_, ctx, _| ctx.stop()),
    );
    if args.flag("monitor-messages") {
        kernel.spawn(
            InlineStates::with_heap(0_u64)
                .state("_start", |_, ctx, _| {
                    ctx.alias_set("bench message monitor")
                        .expect("the alias is free");
                    let mut states = MonitorStates::new();
                    for op in MonitorOp::MESSAGES {
                        states = states.on(op, "message");
                    }
                    Ikc::require(ctx)
                        .expect("the server started the responder")
                        .monitor(ctx, "*", &states);
                })
                .state("message", |seen: &mut u64, _, _| *seen += 1),
        );
    }
    exit_with_stdin();
    let mut stdout = std::io::stdout();
    writeln!(stdout, "port={}", listening.port().unwrap_or(port))?;
    stdout.flush()?;
    kernel.run()?;
    Ok(())
}
