//! A client that watches a server come and go: it connects with
//! `ClientConfig::reconnect`, prints every kernel that registers and
//! unregisters (a monitor of `*`) and every failed attempt while the
//! server is away, and reconnects when the server is back. Start it, stop
//! and restart the `server` example, and watch.
//!
//! ```text
//! cargo run --example monitor -- [--port 31337] [--host 127.0.0.1] [--unix PATH]
//!     [--name Monitor] [--comebacks N] [--retry-ms 100] [--protocol IKC0|IKC]
//! ```
//!
//! With `--comebacks N` it exits 0 once the server came back N times;
//! without, it runs until Ctrl-C.

use std::time::Duration;

use clap::Parser;
use ikc_examples::watcher::{WatcherOptions, run_watcher};
use ikc_examples::{ServerAddress, init_logging, parse_protocol};
use ikc_responder::Protocol;

/// A client with `reconnect` and a monitor of `*`: prints kernels
/// registering and unregistering.
#[derive(Debug, Parser)]
struct Args {
    #[command(flatten)]
    server_address: ServerAddress,
    /// This kernel's name.
    #[arg(long, default_value = "Monitor")]
    name: String,
    /// Exit once the server came back this many times (0: never).
    #[arg(long, default_value_t = 0)]
    comebacks: usize,
    /// The first reconnect wait, in milliseconds.
    #[arg(long, default_value_t = 100)]
    retry_ms: u64,
    /// The handshake: IKC0 or IKC.
    #[arg(long, default_value = "IKC0", value_parser = parse_protocol)]
    protocol: Protocol,
}

fn main() -> anyhow::Result<()> {
    init_logging();
    let args = Args::parse();
    run_watcher(WatcherOptions {
        host: args.server_address.host,
        port: args.server_address.port,
        unix: args.server_address.unix.map(Into::into),
        name: args.name,
        protocol: args.protocol,
        comebacks: args.comebacks,
        retry: Duration::from_millis(args.retry_ms),
        events: None,
    })
}
