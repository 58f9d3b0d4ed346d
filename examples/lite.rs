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

use anyhow::{Context, Result, bail, ensure};
use ikc_clientlite::{Builder, Protocol, Value};

#[derive(Debug, Default)]
struct Args {
    host: Option<String>,
    port: Option<u16>,
    unix: Option<String>,
    freezer: Option<String>,
    protocol: Option<Protocol>,
    name: Option<String>,
    timeout: Option<Duration>,
}

const USAGE: &str = "usage: lite --port N [--host H] [--unix PATH] [--freezer NAME] \
                     [--protocol IKC0|IKC] [--name NAME] [--timeout SECONDS]";

fn parse_args() -> Result<Args> {
    let mut args = Args::default();
    let mut argv = std::env::args().skip(1);
    while let Some(flag) = argv.next() {
        if flag == "--help" || flag == "-h" {
            println!("{USAGE}");
            std::process::exit(0);
        }
        let value = argv
            .next()
            .with_context(|| format!("{flag} needs a value\n{USAGE}"))?;
        match flag.as_str() {
            "--host" => args.host = Some(value),
            "--port" => args.port = Some(value.parse().context("--port takes a number")?),
            "--unix" => args.unix = Some(value),
            "--freezer" => {
                args.freezer = Some(match value.as_str() {
                    "Dumper" => "POE::Component::IKC::Freezer".to_owned(),
                    "Native" => "IKC::Native".to_owned(),
                    _ => value,
                });
            }
            "--protocol" => {
                args.protocol = Some(match value.to_ascii_uppercase().as_str() {
                    "IKC0" => Protocol::Ikc0,
                    "IKC" => Protocol::Ikc,
                    _ => bail!("--protocol takes IKC0 or IKC, not {value:?}"),
                });
            }
            "--name" => args.name = Some(value),
            "--timeout" => {
                let seconds: f64 = value.parse().context("--timeout takes seconds")?;
                ensure!(
                    seconds > 0.0 && seconds.is_finite(),
                    "--timeout must be positive"
                );
                args.timeout = Some(Duration::from_secs_f64(seconds));
            }
            _ => bail!("unknown argument {flag:?}\n{USAGE}"),
        }
    }
    Ok(args)
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
    let args = parse_args()?;
    let mut builder = match (&args.unix, args.port) {
        (Some(path), _) => Builder::unix(path),
        (None, Some(port)) => Builder::tcp(args.host.as_deref().unwrap_or("localhost"), port),
        (None, None) => bail!("--port or --unix is required\n{USAGE}"),
    };
    if let Some(freezer) = args.freezer {
        builder = builder.freezer(freezer);
    }
    if let Some(protocol) = args.protocol {
        builder = builder.protocol(protocol);
    }
    if let Some(name) = args.name {
        builder = builder.name(name);
    }
    builder = builder.timeout(args.timeout.unwrap_or(Duration::from_secs(10)));

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
