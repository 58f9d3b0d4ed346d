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

use ikc_core::Kernel;
use ikc_examples::test_session::spawn_connection_monitor;
use ikc_examples::timeserver::spawn_time_server;
use ikc_examples::{Args, init_logging, protocol};
use ikc_server::{Server, ServerConfig};

fn main() -> anyhow::Result<()> {
    init_logging();
    let args = Args::parse(
        &["port", "ip", "name", "unix", "interval-ms", "protocol"],
        &["once"],
    )?;
    let name = args.get_or("name", "Pulse").to_owned();
    let config = match args.get("unix") {
        Some(path) => ServerConfig::unix(path),
        None => ServerConfig::tcp(args.get_or("ip", "127.0.0.1"), args.number("port", 31338)?),
    }
    .name(name.as_str())
    .protocol(protocol(args.get("protocol"))?);
    let interval = Duration::from_millis(args.number("interval-ms", 1000)?);
    let mut kernel = Kernel::new()?;
    let listening = Server::spawn(&mut kernel, config)?;
    println!(
        "[timeserver] kernel {} ({name}) listening on {}, a pulse every {interval:?}",
        kernel.id(),
        listening.address
    );
    spawn_time_server(&mut kernel, interval, false);
    spawn_connection_monitor(&mut kernel, args.has("once"));
    kernel.run()?;
    println!("[timeserver] stopped");
    Ok(())
}
