//! ClientLite against a server publishing `test/*` (fetchQ, add_1, echo,
//! here), doing what Perl's `lite.pl` does: call `fetchQ`, post_respond
//! `add_1` with the result, call `echo` with a nested value, post `here`.
//!
//! ```sh
//! cargo run --example lite -- --port 31337 [--host H] [--unix PATH] \
//!     [--freezer NAME] [--protocol IKC0|IKC] [--name NAME] [--timeout SECONDS]
//! ```
//!
//! `--freezer` takes `Storable`, `POE::Component::IKC::Freezer` (or
//! `Dumper`), or `IKC::Native` (or `Native`); by default the client offers
//! `IKC::Native`, then `Storable`. Prints `fetchQ=42`, `add_1=43`,
//! `echo=<the value>` and `done`, or the error and a non-zero exit status.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result};
use clap::Parser;
use ikc_clientlite::{Builder, Protocol, Value};

/// Perl's `lite.pl`: ClientLite against a server publishing `test/*`.
#[derive(Debug, Parser)]
struct Args {
    /// The server's TCP port (or give --unix).
    #[arg(long, required_unless_present = "unix")]
    port: Option<u16>,
    /// The server's host.
    #[arg(long, default_value = "localhost")]
    host: String,
    /// Connect to this Unix socket instead of TCP.
    #[arg(long)]
    unix: Option<String>,
    /// The one freezer to offer: Storable, POE::Component::IKC::Freezer
    /// (or Dumper), IKC::Native (or Native). By default IKC::Native, then
    /// Storable are offered.
    #[arg(long, value_parser = freezer_name)]
    freezer: Option<String>,
    /// The handshake: IKC0 or IKC.
    #[arg(long, default_value = "IKC0", value_parser = ikc_examples::parse_protocol)]
    protocol: Protocol,
    /// The name the server knows us by.
    #[arg(long)]
    name: Option<String>,
    /// Seconds to wait for each reply.
    #[arg(long, default_value_t = 10.0, value_parser = positive_seconds)]
    timeout: f64,
}

/// The freezer's full name for its short forms.
fn freezer_name(name: &str) -> Result<String, String> {
    Ok(match name {
        "Dumper" => "POE::Component::IKC::Freezer".to_owned(),
        "Native" => "IKC::Native".to_owned(),
        _ => name.to_owned(),
    })
}

fn positive_seconds(text: &str) -> Result<f64, String> {
    let seconds: f64 = text.parse().map_err(|e| format!("{text:?}: {e}"))?;
    if seconds > 0.0 && seconds.is_finite() {
        Ok(seconds)
    } else {
        Err("must be positive".to_owned())
    }
}

/// The value with its hashes' keys sorted (Perl's `Sortkeys`), so that it
/// prints the same whatever order the server sent.
fn sorted(value: &Value) -> Value {
    match value {
        Value::Array(items) => Value::Array(items.iter().map(sorted).collect()),
        Value::Hash(hash) => {
            let mut entries: Vec<_> = hash.iter().collect();
            entries.sort_by(|(a, _), (b, _)| a.as_bytes().cmp(b.as_bytes()));
            Value::Hash(
                entries
                    .into_iter()
                    .map(|(k, v)| (k.clone(), sorted(v)))
                    .collect(),
            )
        }
        Value::Ref(inner) => Value::reference(sorted(inner)),
        other => other.clone(),
    }
}

fn main() -> ExitCode {
    ikc_examples::init_logging();
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("lite: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<()> {
    let args = Args::parse();
    let mut builder = match (&args.unix, args.port) {
        (Some(path), _) => Builder::unix(path),
        (None, port) => Builder::tcp(args.host.as_str(), port.unwrap_or_default()),
    };
    if let Some(freezer) = args.freezer {
        builder = builder.freezer(freezer);
    }
    builder = builder.protocol(args.protocol);
    if let Some(name) = args.name {
        builder = builder.name(name);
    }
    builder = builder.timeout(Duration::from_secs_f64(args.timeout));

    let mut poe = builder.connect().context("connect")?;
    if let Some(peer) = poe.peer() {
        log::info!(
            "connected to {} ({}) as {}: {} over {}",
            peer.kernel_id,
            poe.remote_name().unwrap_or_default(),
            poe.name(),
            peer.freezer,
            peer.protocol.as_str()
        );
    }
    let n = poe.call("test/fetchQ", ()).context("call test/fetchQ")?;
    println!("fetchQ={n}");
    let n = poe
        .post_respond("test/add_1", n)
        .context("post_respond test/add_1")?;
    println!("add_1={n}");
    let echoed = poe
        .call("test/echo", ikc_examples::demo::nested_value())
        .context("call test/echo")?;
    println!("echo={}", sorted(&echoed));
    poe.post("test/here", n).context("post test/here")?;
    poe.disconnect();
    println!("done");
    Ok(())
}
