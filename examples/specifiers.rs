//! Parse the IKC specifiers given on the command line (or a few samples)
//! and show their parts, IKC's `specifier_name`, and our round-trip form.
//!
//! ```text
//! cargo run --example specifiers -- poe://Pulse/timeserver/connect test/fetchQ
//! ```

use clap::Parser;
use ikc_specifier::Specifier;

/// Show the parts of IKC specifiers, IKC's `specifier_name` and our
/// round-trip form.
#[derive(Debug, Parser)]
struct Args {
    /// Specifiers to parse (a few samples if none).
    specifiers: Vec<String>,
}

fn main() -> anyhow::Result<()> {
    ikc_examples::init_logging();
    let mut args = Args::parse().specifiers;
    if args.is_empty() {
        args = [
            "poe://Pulse/timeserver/connect",
            "poe:/timeserver/connect",
            "poe:tick?3",
            "test/fetchQ",
            "poe://*/IKC/ping",
            "poe://a,b/*/reload",
            "poe://Pulse/time!server",
        ]
        .map(String::from)
        .to_vec();
    }
    let mut bad = 0;
    for text in &args {
        match text.parse::<Specifier>() {
            Ok(s) => println!(
                "{text:<34} kernel={:<10} session={:<12} state={:<8} arg={:<3} ikc_name={} display={s}",
                format!("{:?}", s.kernel.to_ikc()),
                format!("{:?}", s.session.to_ikc()),
                format!("{:?}", s.state.as_deref().unwrap_or("")),
                s.arg.as_deref().unwrap_or("-"),
                s.ikc_name(),
            ),
            Err(e) => {
                bad += 1;
                println!("{text:<34} error: {e}");
            }
        }
    }
    println!("{} parsed, {bad} rejected", args.len() - bad);
    Ok(())
}
