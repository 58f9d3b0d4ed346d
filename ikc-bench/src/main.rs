//! `ikc-bench`: how fast ikc-rs is, measured over loopback with the server
//! and the client in separate processes.
//!
//! ```text
//! cargo run --release -p ikc-bench -- <scenario> [options]
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
//! | `all` | each of the above but `nats` with its defaults, then a `compare` line per figure: its reference from the same run and the ratio |
//!
//! The server is this binary again, run as `ikc-bench serve --port 0`
//! (it prints `port=N` and runs until its standard input closes or a
//! client posts `bench/quit`). `--connect PORT` uses a server started by
//! hand instead, for example under `perf stat` or `valgrind`.

mod all;
mod args;
mod erlang;
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

/// With `--features mimalloc`: mimalloc as the global allocator.
#[cfg(feature = "mimalloc")]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
use ikc_freezer::{Hash, Value};

use crate::args::Args;

/// The server kernel's name.
pub(crate) const SERVER_NAME: &str = "Bench";
/// The server session's alias.
pub(crate) const SESSION: &str = "bench";

const USAGE: &str =
    "usage: ikc-bench <oneway|rtt|lite-rtt|fanin|handshake|security|local|memory|pingpong|erlang|nats|mesh-*|all|serve> [options]

  oneway    [--n 2000000] [--codec native|storable|dumper] [--batch 1000] [--window 4] [--tls] [--secret]
            [--monitor-messages]   the server has a monitor of every message (leaving, arriving,
            routed, dropped) of every kernel: what watching messages costs
  rtt       [--n 20000] [--warmup 1000] [--codec native|storable|dumper] [--tls] [--secret]
  lite-rtt  [--n 20000] [--warmup 1000] [--codec native|storable|dumper] [--tls] [--secret]
  fanin     [--threads 100] [--n 200000] [--warmup 20] [--codec native|storable|dumper]
  handshake [--n 1000] [--tls] [--secret]   connections (handshake, then close) per second
  security  oneway, rtt and lite-rtt in clear then with --tls; handshake clear, --secret, --tls, both
  local     [--n 5000000]
  memory    [--connections 1000]
  pingpong  [--n 20000] [--warmup 1000] [--threads 1]   raw TCP, no IKC: the floor
  nats      [--n 200000] [--calls 5000] [--warmup 1000] [--codec native|storable|dumper] [--nats URL]
            oneway and rtt through one nats-server, through one relay kernel
            and over a direct link
  erlang    [--n 1000000] [--calls 20000] [--warmup 1000]   Erlang/OTP on 127.0.0.1: the reference
  all       every scenario with its defaults (oneway and rtt for native and storable),
            then each figure with its reference from the same run and the ratio
  mesh-oneway [--hops 1]    one-way through N intermediate kernels (relay processes)
  mesh-rtt                  calls across 3 hops, and raw TCP across 3 hops, in one run
  mesh-broadcast [--kernels 50]  poe://*/node/hello to every kernel of a mesh: copies and time
  mesh-converge [--kernels 50]   a link cut in a mesh: time until the reroute
  mesh-storm [--kernels 100]     kernels joining one hub at once: control messages sent
  serve     [--port 0] [--monitor-messages]   the server process (started by the scenarios themselves)
  relay     --next PORT     a relay kernel (started by the mesh scenarios)

  Scenarios that talk to a server take --connect PORT (a server started by
  hand with `ikc-bench serve`) and --server-wrap 'CMD ARGS' (run the server
  under a command, e.g. 'perf stat -e instructions').";

fn main() {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn")).init();
    let mut argv = std::env::args().skip(1);
    let Some(scenario) = argv.next() else {
        eprintln!("{USAGE}");
        std::process::exit(2);
    };
    let result = Args::parse(argv).and_then(|args| run(&scenario, &args));
    if let Err(e) = result {
        eprintln!("ikc-bench {scenario}: {e:#}");
        std::process::exit(1);
    }
}

fn run(scenario: &str, args: &Args) -> Result<()> {
    match scenario {
        "serve" => serve::serve(args),
        "pingpong-serve" => pingpong::serve(args),
        "pingpong" => pingpong::run(args).map(drop),
        "oneway" => oneway::run(args).map(drop),
        "rtt" => rtt::kernel_rtt(args).map(drop),
        "lite-rtt" => rtt::lite_rtt(args).map(drop),
        "fanin" => rtt::fanin(args).map(drop),
        "local" => local::run(args),
        "relay" => mesh::relay(args),
        "mesh-oneway" => mesh::oneway(args),
        "mesh-rtt" => mesh::rtt(args),
        "mesh-broadcast" => mesh::broadcast(args),
        "mesh-converge" => mesh::converge_after_cut(args),
        "mesh-storm" => mesh::storm(args),
        "memory" => memory::run(args).map(drop),
        "erlang" => erlang::run(args).map(drop),
        "nats" => nats::run(args),
        "all" => all::run(args),
        "handshake" => rtt::handshake(args),
        "security" => security_run(args),
        "help" | "--help" | "-h" => {
            println!("{USAGE}");
            Ok(())
        }
        other => bail!("unknown scenario {other:?}\n{USAGE}"),
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
