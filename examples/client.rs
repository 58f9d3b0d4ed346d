//! An IKC client that walks through what IKC does against any server
//! publishing session `test` (ours, or Perl's `server.pl`): a post, a call
//! with an RSVP, a post to an unpublished state (the `remote_error` comes
//! back), a subscription, and a post through the proxy session. Exits 0
//! when every step worked, 1 with the failures otherwise.
//!
//! ```text
//! cargo run --example client -- [--port 31337] [--host 127.0.0.1] [--unix PATH]
//!     [--name Client] [--server Server] [--freezer NAME[,NAME..]] [--protocol IKC0|IKC]
//!     [--timeout SECONDS]
//! ```
//!
//! Against Perl's `server.pl` (kernel `Inet`): `--server Inet`.

use std::time::Duration;

use ikc_examples::demo::{ClientOptions, run_client};
use ikc_examples::{Args, init_logging, protocol};

fn main() {
    init_logging();
    let result = (|| -> anyhow::Result<()> {
        let args = Args::parse(
            &[
                "port", "host", "unix", "name", "server", "freezer", "protocol", "timeout",
            ],
            &[],
        )?;
        let options = ClientOptions {
            host: args.get_or("host", "127.0.0.1").to_owned(),
            port: args.number("port", 31337)?,
            unix: args.get("unix").map(Into::into),
            name: args.get_or("name", "Client").to_owned(),
            server: args.get_or("server", "Server").to_owned(),
            serializers: args
                .get("freezer")
                .map(|f| f.split(',').map(String::from).collect()),
            protocol: protocol(args.get("protocol"))?,
            timeout: Duration::from_secs(args.number("timeout", 10)?),
        };
        run_client(&options)
    })();
    if let Err(e) = result {
        eprintln!("[client] failed: {e}");
        std::process::exit(1);
    }
}
