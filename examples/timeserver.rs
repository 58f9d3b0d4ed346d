//! A time server (IKC's `timeserver` example): kernel `Pulse` publishing
//! session `timeserver` with `connect` (ARG0: a specifier to post the time
//! to), `disconnect` and `time`. Clients subscribe to it and are told the
//! time at every pulse. Pair it with `timeclient`.
//!
//! ```text
//! cargo run --example timeserver -- [--port 31338] [--ip 127.0.0.1] [--name Pulse]
//!     [--unix PATH] [--interval-ms 1000] [--protocol IKC0|IKC] [--once]
//! ```
//!
//! `--port 0` picks a free port (printed on the `listening on` line).
//! `--once` shuts down when the first client disconnects. Ctrl-C shuts down.

use std::time::Duration;

use clap::Parser;
use ikc_core::Kernel;
use ikc_examples::test_session::spawn_connection_monitor;
use ikc_examples::timeserver::spawn_time_server;
use ikc_examples::{init_logging, parse_protocol};
use ikc_responder::Protocol;
use ikc_server::{Server, ServerConfig};

/// IKC's time server: kernel `Pulse`, session `timeserver`.
#[derive(Debug, Parser)]
struct Args {
    /// TCP port to listen on (0 picks a free one).
    #[arg(long, default_value_t = 31338)]
    port: u16,
    /// Address to listen on (IKC's `ip`).
    #[arg(long, default_value = "127.0.0.1")]
    ip: String,
    /// The kernel's name.
    #[arg(long, default_value = "Pulse")]
    name: String,
    /// Listen on this Unix socket instead of TCP.
    #[arg(long)]
    unix: Option<String>,
    /// Milliseconds between pulses.
    #[arg(long, default_value_t = 1000)]
    interval_ms: u64,
    /// The handshake: IKC0 or IKC.
    #[arg(long, default_value = "IKC0", value_parser = parse_protocol)]
    protocol: Protocol,
    /// Shut down when the first client disconnects.
    #[arg(long)]
    once: bool,
}

fn main() -> anyhow::Result<()> {
    init_logging();
    let args = Args::parse();
    let name = args.name.clone();
    let config = match &args.unix {
        Some(path) => ServerConfig::unix(path),
        None => ServerConfig::tcp(args.ip.as_str(), args.port),
    }
    .name(name.as_str())
    .protocol(args.protocol);
    let interval = Duration::from_millis(args.interval_ms);
    let mut kernel = Kernel::new()?;
    let listening = Server::spawn(&mut kernel, config)?;
    println!(
        "[timeserver] kernel {} ({name}) listening on {}, a pulse every {interval:?}",
        kernel.id(),
        listening.address
    );
    spawn_time_server(&mut kernel, interval, false);
    spawn_connection_monitor(&mut kernel, args.once);
    kernel.run()?;
    println!("[timeserver] stopped");
    Ok(())
}
