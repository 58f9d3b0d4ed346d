//! A time client (IKC's `timeserver` example, the other half): subscribes
//! to `poe://Pulse/timeserver` (the `subscribe` client option, so the proxy
//! session exists when `on_connect` runs), asks through the proxy to be
//! told the time, calls `time` once, prints `--ticks` pulses, says goodbye
//! and exits 0 (1 with a message if anything failed).
//!
//! ```text
//! cargo run --example timeclient -- [--port 31338] [--host 127.0.0.1] [--unix PATH]
//!     [--name TimeClient] [--server Pulse] [--ticks 3] [--protocol IKC0|IKC]
//!     [--timeout SECONDS]
//! ```

use std::time::Duration;

use clap::Parser;
use ikc_examples::timeserver::{TimeClientOptions, run_time_client};
use ikc_examples::{init_logging, parse_protocol};
use ikc_responder::Protocol;

/// Subscribes to `poe://Pulse/timeserver`, asks through the proxy to be
/// told the time, prints the pulses and leaves.
#[derive(Debug, Parser)]
struct Args {
    /// The time server's TCP port.
    #[arg(long, default_value_t = 31338)]
    port: u16,
    /// The time server's host.
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    /// Connect to this Unix socket instead of TCP.
    #[arg(long)]
    unix: Option<String>,
    /// This kernel's name.
    #[arg(long, default_value = "TimeClient")]
    name: String,
    /// The time server kernel's name.
    #[arg(long, default_value = "Pulse")]
    server: String,
    /// How many pulses to print before leaving.
    #[arg(long, default_value_t = 3)]
    ticks: usize,
    /// The handshake: IKC0 or IKC.
    #[arg(long, default_value = "IKC0", value_parser = parse_protocol)]
    protocol: Protocol,
    /// Seconds to wait for the pulses.
    #[arg(long, default_value_t = 30)]
    timeout: u64,
}

fn main() {
    init_logging();
    let args = Args::parse();
    let result = run_time_client(&TimeClientOptions {
        host: args.host,
        port: args.port,
        unix: args.unix.map(Into::into),
        name: args.name,
        server: args.server,
        ticks: args.ticks,
        protocol: args.protocol,
        timeout: Duration::from_secs(args.timeout),
        quiet: false,
    });
    match result {
        Ok(report) => println!(
            "[timeclient] done: {} ticks, the server said it was {}",
            report.ticks.len(),
            report.time
        ),
        Err(e) => {
            eprintln!("[timeclient] failed: {e}");
            std::process::exit(1);
        }
    }
}
