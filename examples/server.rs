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

use ikc_core::Kernel;
use ikc_examples::test_session::{spawn_connection_monitor, spawn_test_session};
use ikc_examples::{Args, init_logging, protocol};
use ikc_server::{Server, ServerConfig};

fn main() -> anyhow::Result<()> {
    init_logging();
    let args = Args::parse(
        &[
            "port",
            "ip",
            "name",
            "aliases",
            "unix",
            "concurrency",
            "protocol",
        ],
        &["once"],
    )?;
    let name = args.get_or("name", "Server").to_owned();
    let mut config = match args.get("unix") {
        Some(path) => ServerConfig::unix(path),
        None => ServerConfig::tcp(args.get_or("ip", "127.0.0.1"), args.number("port", 31337)?),
    }
    .name(name.as_str())
    .concurrency(args.number("concurrency", 0)?)
    .protocol(protocol(args.get("protocol"))?);
    if let Some(aliases) = args.get("aliases") {
        config = config.aliases(aliases.split(',').filter(|a| !a.is_empty()));
    }
    let mut kernel = Kernel::new()?;
    let listening = Server::spawn(&mut kernel, config)?;
    println!(
        "[server] kernel {} ({name}) listening on {}",
        kernel.id(),
        listening.address
    );
    spawn_test_session(&mut kernel, false);
    spawn_connection_monitor(&mut kernel, args.has("once"));
    kernel.run()?;
    println!("[server] stopped");
    Ok(())
}
