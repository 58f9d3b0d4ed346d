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

use ikc_examples::watcher::{WatcherOptions, run_watcher};
use ikc_examples::{Args, init_logging, protocol};

fn main() -> anyhow::Result<()> {
    init_logging();
    let args = Args::parse(
        &[
            "port",
            "host",
            "unix",
            "name",
            "comebacks",
            "retry-ms",
            "protocol",
        ],
        &[],
    )?;
    run_watcher(WatcherOptions {
        host: args.get_or("host", "127.0.0.1").to_owned(),
        port: args.number("port", 31337)?,
        unix: args.get("unix").map(Into::into),
        name: args.get_or("name", "Monitor").to_owned(),
        protocol: protocol(args.get("protocol"))?,
        comebacks: args.number("comebacks", 0)?,
        retry: Duration::from_millis(args.number("retry-ms", 100)?),
        events: None,
    })
}
