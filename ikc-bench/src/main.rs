//! `ikc-bench`: how fast ikc-rs is, measured over loopback with the server
//! and the client in separate processes.
//!
//! ```text
//! cargo run --release -p ikc-bench -- <scenario> [options]
//! cargo run --release -p ikc-bench -- --help     # every scenario and option
//! ```
//!
//! Every figure is printed as one line, `<scenario> key=value ...`, so runs
//! can be compared and scripts can read them. The payload of every message
//! is IKC's usual test hash `{seq => i, name => 'hello world', vals =>
//! [1,2,3]}`.
//!
//! | scenario | what it measures |
//! |---|---|
//! | `oneway` | a client kernel posts `--n` events to a published state, then calls `done`, which returns the count: messages per second |
//! | `rtt` | sequential IKC `call`s with an RSVP from a client kernel: mean, p50, p99 in µs |
//! | `lite-rtt` | sequential ClientLite `call`s: mean, p50, p99 in µs |
//! | `fanin` | `--threads` ClientLite threads calling at once: calls per second and p99 |
//! | `local` | events posted and dispatched inside one kernel: events per second |
//! | `memory` | resident size of a server holding `--connections` idle connections, per connection |
//! | `pingpong` | raw TCP round trips of 100 bytes, no IKC (`--threads N`: calls per second): the floor under `rtt` and `fanin` |
//! | `erlang` | the same payload between two Erlang nodes on 127.0.0.1: one-way and ping-pong (skipped, with a line saying so, without `erl`) |
//! | `nats` | `oneway` and `rtt` between two kernels through one `nats-server` (started on a free port, or `--nats URL`), next to the same through one intermediate IKC kernel (`relay`) and over a direct link, in one run |
//! | `mesh-oneway`, `mesh-rtt`, `mesh-broadcast`, `mesh-converge`, `mesh-storm` | the routed mesh: one-way and calls through relay kernels, a broadcast to every kernel, convergence after a cut, a join storm (see `mesh.rs`) |
//! | `all` | each of the above but `nats` with its defaults, then a `compare` line per figure: its reference from the same run and the ratio |
//!
//! The server is this binary again, run as `ikc-bench serve --port 0`
//! (it prints `port=N` and runs until its standard input closes or a
//! client posts `bench/quit`). `--connect PORT` uses a server started by
//! hand instead, for example under `perf stat` or `valgrind`.

mod all;
mod args;
mod erlang;
mod link;
mod local;
mod memory;
mod mesh;
mod nats;
mod oneway;
mod pingpong;
mod process;
mod rtt;
mod security;
mod serve;
mod stats;

use anyhow::{Result, bail};
use clap::ValueEnum;
use ikc_freezer::{Hash, Value};

use crate::args::{Args, Scenario};

/// With `--features mimalloc`: mimalloc as the global allocator.
#[cfg(feature = "mimalloc")]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The server kernel's name.
pub(crate) const SERVER_NAME: &str = "Bench";
/// The server session's alias.
pub(crate) const SESSION: &str = "bench";

fn main() {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn")).init();
    // Usage errors and --help end here (exit 2 and 0).
    let matches = args::command().get_matches();
    let scenario = *matches
        .get_one::<Scenario>("scenario")
        .expect("the scenario is required");
    let args = Args::from_matches(&matches);
    if let Err(e) = run(scenario, &args) {
        let name = scenario
            .to_possible_value()
            .map_or_else(String::new, |v| v.get_name().to_owned());
        eprintln!("ikc-bench {name}: {e:#}");
        std::process::exit(1);
    }
}

fn run(scenario: Scenario, args: &Args) -> Result<()> {
    match scenario {
        Scenario::Serve => serve::serve(args),
        Scenario::PingpongServe => pingpong::serve(args),
        Scenario::Pingpong => pingpong::run(args).map(drop),
        Scenario::Oneway => oneway::run(args).map(drop),
        Scenario::Rtt => rtt::kernel_rtt(args).map(drop),
        Scenario::LiteRtt => rtt::lite_rtt(args).map(drop),
        Scenario::Fanin => rtt::fanin(args).map(drop),
        Scenario::Local => local::run(args),
        Scenario::Memory => memory::run(args).map(drop),
        Scenario::Erlang => erlang::run(args).map(drop),
        Scenario::Nats => nats::run(args),
        Scenario::All => all::run(args),
        Scenario::Handshake => rtt::handshake(args),
        Scenario::Security => security_run(args),
        Scenario::MeshOneway => mesh::oneway(args),
        Scenario::MeshRtt => mesh::rtt(args),
        Scenario::MeshBroadcast => mesh::broadcast(args),
        Scenario::MeshConverge => mesh::converge_after_cut(args),
        Scenario::MeshStorm => mesh::storm(args),
        Scenario::Relay => mesh::relay(args),
    }
}

/// The payload of every benchmark message:
/// `{seq => i, name => 'hello world', vals => [1,2,3]}`.
pub(crate) fn payload(seq: u64) -> Value {
    let mut hash = Hash::with_capacity(3);
    hash.insert("seq", Value::from(seq));
    hash.insert("name", "hello world");
    hash.insert(
        "vals",
        Value::Array(vec![Value::Int(1), Value::Int(2), Value::Int(3)]),
    );
    Value::Hash(hash)
}

/// `security`: each figure in clear and over TLS in one run, the ratio of
/// the one-way rates, then handshakes per second clear, with the secret,
/// over TLS, and with both.
fn security_run(args: &Args) -> Result<()> {
    let clear = oneway::run(&args.with("tls", "off"))?;
    let tls = oneway::run(&args.with("tls", "on"))?;
    println!(
        "oneway tls_over_clear={:.2}",
        tls as f64 / clear.max(1) as f64
    );
    for tls in ["off", "on"] {
        rtt::kernel_rtt(&args.with("tls", tls))?;
    }
    for tls in ["off", "on"] {
        rtt::lite_rtt(&args.with("tls", tls))?;
    }
    for (tls, secret) in [("off", "off"), ("off", "on"), ("on", "off"), ("on", "on")] {
        rtt::handshake(&args.with("tls", tls).with("secret", secret))?;
    }
    Ok(())
}

/// The negotiated name of a codec given on the command line.
pub(crate) fn codec_name(codec: &str) -> Result<&'static str> {
    Ok(match codec {
        "native" | "IKC::Native" => ikc_freezer::NATIVE,
        "storable" | "Storable" => ikc_freezer::STORABLE,
        "dumper" | "POE::Component::IKC::Freezer" => ikc_freezer::DUMPER,
        other => bail!("unknown codec {other:?}: native, storable or dumper"),
    })
}
