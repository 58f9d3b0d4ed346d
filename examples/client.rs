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

use clap::Parser;
use ikc_examples::demo::{ClientOptions, run_client};
use ikc_examples::{ServerAddress, init_logging, parse_protocol};
use ikc_responder::Protocol;

/// An IKC client kernel walking through post, call, a refused post,
/// subscribe and a post through the proxy, against a server publishing
/// `test`.
#[derive(Debug, Parser)]
struct Args {
    #[command(flatten)]
    server_address: ServerAddress,
    /// This kernel's name.
    #[arg(long, default_value = "Client")]
    name: String,
    /// The server kernel's name.
    #[arg(long, default_value = "Server")]
    server: String,
    /// Freezers to offer, in order, comma-separated (IKC's `serializers`).
    #[arg(long, value_delimiter = ',')]
    freezer: Option<Vec<String>>,
    /// The handshake: IKC0 or IKC.
    #[arg(long, default_value = "IKC0", value_parser = parse_protocol)]
    protocol: Protocol,
    /// Seconds to wait for each step.
    #[arg(long, default_value_t = 10)]
    timeout: u64,
}

fn main() {
    init_logging();
    let args = Args::parse();
    let options = ClientOptions {
        host: args.server_address.host,
        port: args.server_address.port,
        unix: args.server_address.unix.map(Into::into),
        name: args.name,
        server: args.server,
        freezers: args.freezer,
        protocol: args.protocol,
        timeout: Duration::from_secs(args.timeout),
    };
    if let Err(e) = run_client(&options) {
        eprintln!("[client] failed: {e}");
        std::process::exit(1);
    }
}
