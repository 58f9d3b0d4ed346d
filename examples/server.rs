//! An IKC server (IKC's synopsis): kernel `Server` publishing session
//! `test` with `fetchQ` (returns 42), `add_1` (`[n, rsvp]`: posts n+1 to
//! the RSVP), `here` (prints its arguments) and `echo` (returns ARG0).
//! Rust and Perl clients, and Perl's ClientLite, talk to it.
//!
//! ```text
//! cargo run --example server -- [--port 31337] [--ip 127.0.0.1] [--name Server]
//!     [--aliases A,B] [--unix PATH] [--concurrency N] [--protocol IKC0|IKC] [--once]
//! ```
//!
//! `--port 0` picks a free port, printed on the `listening on` line.
//! `--once` shuts down when the first client disconnects. Ctrl-C shuts down.

use clap::Parser;
use ikc_core::Kernel;
use ikc_examples::test_session::{spawn_connection_monitor, spawn_test_session};
use ikc_examples::{init_logging, parse_protocol};
use ikc_responder::Protocol;
use ikc_server::{Server, ServerConfig};

/// An IKC server: kernel `Server` publishing session `test` (fetchQ,
/// add_1, here, echo).
#[derive(Debug, Parser)]
struct Args {
    /// TCP port to listen on (0 picks a free one, printed on the
    /// `listening on` line).
    #[arg(long, default_value_t = 31337)]
    port: u16,
    /// Address to listen on (IKC's `ip`).
    #[arg(long, default_value = "127.0.0.1")]
    ip: String,
    /// The kernel's name.
    #[arg(long, default_value = "Server")]
    name: String,
    /// More names for the kernel, comma-separated.
    #[arg(long, value_delimiter = ',')]
    aliases: Vec<String>,
    /// Listen on this Unix socket instead of TCP.
    #[arg(long)]
    unix: Option<String>,
    /// Pause accepting at this many connections (0: no limit).
    #[arg(long, default_value_t = 0)]
    concurrency: usize,
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
    .aliases(args.aliases.iter().filter(|a| !a.is_empty()).cloned())
    .concurrency(args.concurrency)
    .protocol(args.protocol);
    let mut kernel = Kernel::new()?;
    let listening = Server::spawn(&mut kernel, config)?;
    println!(
        "[server] kernel {} ({name}) listening on {}",
        kernel.id(),
        listening.address
    );
    spawn_test_session(&mut kernel, false);
    spawn_connection_monitor(&mut kernel, args.once);
    kernel.run()?;
    println!("[server] stopped");
    Ok(())
}
