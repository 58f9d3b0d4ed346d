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

use ikc_examples::timeserver::{TimeClientOptions, run_time_client};
use ikc_examples::{Args, init_logging, protocol};

fn main() {
    init_logging();
    let result = (|| -> anyhow::Result<()> {
        let args = Args::parse(
            &[
                "port", "host", "unix", "name", "server", "ticks", "protocol", "timeout",
            ],
            &[],
        )?;
        let report = run_time_client(&TimeClientOptions {
            host: args.get_or("host", "127.0.0.1").to_owned(),
            port: args.number("port", 31338)?,
            unix: args.get("unix").map(Into::into),
            name: args.get_or("name", "TimeClient").to_owned(),
            server: args.get_or("server", "Pulse").to_owned(),
            ticks: args.number("ticks", 3)?,
            protocol: protocol(args.get("protocol"))?,
            timeout: Duration::from_secs(args.number("timeout", 30)?),
            quiet: false,
        })?;
        println!(
            "[timeclient] done: {} ticks, the server said it was {}",
            report.ticks.len(),
            report.time
        );
        Ok(())
    })();
    if let Err(e) = result {
        eprintln!("[timeclient] failed: {e}");
        std::process::exit(1);
    }
}
