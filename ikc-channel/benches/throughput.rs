//! How many IKC messages a pair of channels moves per second with each
//! codec: `send` (freeze and frame) on one side, `handle_input` in 64 KiB
//! reads (deframe, thaw, read the message) and `poll_event` on the other.
//! Run with `cargo bench -p ikc-channel`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use ikc_channel::{
    Channel, ChannelEvent, ClientChannelConfig, Identity, Message, ServerChannelConfig,
};
use ikc_freezer::{DUMPER, NATIVE, Registry, STORABLE, Value};
use ikc_specifier::HashForm;

const READ: usize = 64 * 1024;

fn pair(freezer: &str) -> (Channel, Channel) {
    let standard = Registry::standard();
    let mut registry = Registry::empty();
    registry.register(standard.get(freezer).expect("a standard codec"));
    let now = Instant::now();
    let mut client = Channel::client(
        ClientChannelConfig::new(
            Identity::new("bench-client").with_name("Cli"),
            registry.clone(),
        ),
        now,
    )
    .expect("client");
    let mut server = Channel::server(
        ServerChannelConfig::new(Identity::new("bench-server").with_name("Inet"), registry),
        now,
    )
    .expect("server");
    let mut wire = Vec::new();
    loop {
        let mut moved = false;
        if client.poll_transmit(&mut wire).is_some() {
            server.handle_input(&wire).expect("client's lines");
            wire.clear();
            moved = true;
        }
        if server.poll_transmit(&mut wire).is_some() {
            client.handle_input(&wire).expect("server's lines");
            wire.clear();
            moved = true;
        }
        if !moved {
            break;
        }
    }
    while client.poll_event().is_some() || server.poll_event().is_some() {}
    assert!(client.is_negotiated() && server.is_negotiated());
    (client, server)
}

/// A post like the ones in the Perl captures, with a small payload.
fn post(seq: i64) -> Message {
    Message::post(
        "poe://Inet/test/here",
        Value::from(vec![
            Value::Int(seq),
            Value::from("hello world"),
            Value::from(vec![1, 2, 3]),
        ]),
    )
    .with_from(HashForm::new("bench-client", "me", "IKC:proxy"))
}

fn run(freezer: &str, messages: i64) -> (Duration, usize) {
    let (mut client, mut server) = pair(freezer);
    let batch: Vec<Message> = (0..1000).map(post).collect();
    let mut wire = Vec::new();
    let mut bytes = 0;
    let mut received = 0;
    let start = Instant::now();
    for round in 0..messages / 1000 {
        for message in &batch {
            client.send(message).expect("send");
        }
        let _ = client.poll_transmit(&mut wire);
        bytes += wire.len();
        for read in wire.chunks(READ) {
            server.handle_input(read).expect("input");
            while let Some(event) = server.poll_event() {
                if let ChannelEvent::Message(m) = event {
                    black_box(m);
                    received += 1;
                }
            }
        }
        wire.clear();
        black_box(round);
    }
    let elapsed = start.elapsed();
    assert_eq!(received, messages);
    (elapsed, bytes)
}

fn main() {
    let messages = 50_000;
    for freezer in [NATIVE, STORABLE, DUMPER] {
        let _ = run(freezer, 2_000); // warm up
        let (elapsed, bytes) = run(freezer, messages);
        let secs = elapsed.as_secs_f64();
        println!(
            "channel {freezer:<30} {messages} posts in {:>7.1} ms: {:>9.0} msg/s, {:>6.1} MB/s, {:>4} bytes/msg",
            secs * 1e3,
            messages as f64 / secs,
            bytes as f64 / secs / 1e6,
            bytes / messages as usize
        );
    }
}
