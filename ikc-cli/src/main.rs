//! `ikc`: call, post, ping and watch IKC kernels from a shell, and run a
//! standalone IKC node. See the crate docs (`ikc_cli`) and `ikc --help`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use ikc_cli::address::Addr;
use ikc_responder::Protocol;

mod failure;
mod inspect;
mod lite;
mod node;
mod security;

/// Talk to IKC kernels (POE::Component::IKC and ikc-rs) from a shell.
///
/// Addresses are HOST:PORT, a bare PORT (127.0.0.1) or unix:PATH.
/// JSON arguments and replies map to Perl data as documented in
/// ikc-cli's `json` module: byte strings are {"$bytes": BASE64}, scalar
/// references {"$ref": X}, blessed ones {"$blessed": CLASS, "$value": X},
/// undef is null.
///
/// Exit codes: 0 success, 1 an IKC error (remote error report, bad
/// specifier), 2 usage, 3 connection failure or timeout.
#[derive(Debug, Parser)]
#[command(name = "ikc", version)]
struct Cli {
    #[command(flatten)]
    common: Common,
    #[command(subcommand)]
    command: Command,
}

/// Options every command takes.
#[derive(Debug, Args)]
struct Common {
    /// Our kernel name (default: ikc-PID; `node` requires one).
    #[arg(long, global = true)]
    name: Option<String>,
    /// The freezer to offer (IKC::Native, Storable,
    /// POE::Component::IKC::Freezer); default: native, then Storable.
    #[arg(long, global = true)]
    freezer: Option<String>,
    /// The handshake to start with: IKC0 (falls back to IKC) or IKC.
    #[arg(long, global = true, value_parser = parse_protocol, default_value = "IKC0")]
    protocol: Protocol,
    /// Seconds to wait for a connection or a reply.
    #[arg(long, global = true, value_parser = parse_seconds, default_value = "10")]
    timeout: Duration,
    /// Print one JSON object per line.
    #[arg(long, global = true)]
    json: bool,
    /// The cluster's shared secret, read from this file (one trailing
    /// newline ignored): prove it to every peer and require it from them.
    #[arg(long, global = true, value_name = "FILE")]
    secret_file: Option<PathBuf>,
    /// Connect with TLS, verifying the server against the CA certificates
    /// in this PEM file (`node`: with --tls-cert, listeners also require
    /// client certificates from this CA).
    #[arg(long, global = true, value_name = "FILE")]
    tls_ca: Option<PathBuf>,
    /// The name the server's certificate must carry (default: the host
    /// of the address).
    #[arg(long, global = true, value_name = "NAME")]
    tls_name: Option<String>,
    /// A certificate chain (PEM): `node` listens with TLS using it; with
    /// --tls-ca, connections present it as a client certificate.
    #[arg(long, global = true, value_name = "FILE", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The private key (PEM) of --tls-cert.
    #[arg(long, global = true, value_name = "FILE", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Call a published state and print its reply as JSON.
    Call {
        /// The kernel to connect to.
        addr: Addr,
        /// The state: session/state (on the kernel at ADDR) or poe://KERNEL/session/state.
        spec: String,
        /// The argument, as JSON (default: null).
        #[arg(value_name = "JSON")]
        arg: Option<String>,
        /// Ask for a list (Perl's wantarray); the reply prints as an array.
        #[arg(long)]
        list: bool,
    },
    /// Post to a published state (then ping, so an error report is seen).
    Post {
        /// The kernel to connect to.
        addr: Addr,
        /// The state: session/state or poe://KERNEL/session/state.
        spec: String,
        /// The argument, as JSON (default: null).
        #[arg(value_name = "JSON")]
        arg: Option<String>,
    },
    /// Ping the kernel at ADDR, or KERNEL through it: "PONG from K in N us".
    Ping {
        /// The kernel to connect to.
        addr: Addr,
        /// Another kernel to ping through the one at ADDR.
        kernel: Option<String>,
    },
    /// Print what the kernel at ADDR sees: kernels registering and
    /// unregistering, channels, subscriptions, errors (an ikc-rs kernel).
    Watch {
        /// The kernel to watch.
        addr: Addr,
        /// Only events about this kernel (default: all, `*`).
        #[arg(long)]
        kernel: Option<String>,
        /// The operations to watch, comma-separated: register, unregister,
        /// subscribe, unsubscribe, shutdown, channel, error (the default:
        /// all of these), the messages leaving, arriving, routed, dropped,
        /// and route (the route to a kernel of the mesh changed).
        #[arg(long, value_delimiter = ',')]
        ops: Vec<String>,
        /// Exit after this many events.
        #[arg(long)]
        count: Option<usize>,
        /// Shorten a message's arguments, as JSON, past this many characters.
        #[arg(long, default_value_t = 200)]
        max_len: usize,
    },
    /// Post a message marked for tracing through the kernel at ADDR, and
    /// print each hop it makes (an ikc-rs kernel): sent, routed (passed on
    /// by a kernel on the way), delivered, dropped (exit 1).
    Trace {
        /// The kernel the message enters at.
        addr: Addr,
        /// The state: session/state (on the kernel at ADDR) or poe://KERNEL/session/state.
        spec: String,
        /// The argument, as JSON (default: null).
        #[arg(value_name = "JSON")]
        arg: Option<String>,
    },
    /// List every kernel the kernel at ADDR reaches, with its names,
    /// incarnation and how it is reached (direct, or routed via a neighbour).
    Kernels {
        /// The kernel to ask.
        addr: Addr,
    },
    /// List the connections of the kernel at ADDR: peer, addresses,
    /// protocol, freezer, messages and bytes in and out, bytes queued,
    /// measured round trip (us) and mesh weight.
    Links {
        /// The kernel to ask.
        addr: Addr,
    },
    /// List the routes of the kernel at ADDR: destination, next hop, cost, hops.
    Routes {
        /// The kernel to ask.
        addr: Addr,
    },
    /// List the sessions of the kernel at ADDR: IDs, aliases, published states.
    Sessions {
        /// The kernel to ask.
        addr: Addr,
    },
    /// Show the counters of the kernel at ADDR: messages delivered, routed,
    /// sent, dropped by cause; errors by kind.
    Counters {
        /// The kernel to ask.
        addr: Addr,
    },
    /// Run a standalone kernel that listens, dials and prints monitor events.
    Node {
        /// More names for this kernel.
        #[arg(long = "alias")]
        aliases: Vec<String>,
        /// Listen here (HOST:PORT, PORT or unix:PATH; port 0 picks one).
        #[arg(long = "listen")]
        listen: Vec<Addr>,
        /// Dial this kernel, redialling with backoff until it is up and whenever the link drops.
        #[arg(long = "connect")]
        connect: Vec<Addr>,
        /// Longest wait between two dials, in seconds.
        #[arg(long, value_parser = parse_seconds, default_value = "5")]
        max_backoff: Duration,
        /// Fix the mesh routing weight of every link this node makes or
        /// accepts (a measured loopback link weighs about 100; routes take
        /// the lightest path), instead of measuring round trips.
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
        link_weight: Option<u32>,
        /// Attach to a NATS bus (URL[,URL...] for failover): every kernel on it
        /// is reachable, and NATS clients may call this kernel's published states.
        #[arg(long)]
        nats: Option<String>,
    },
}

fn parse_protocol(text: &str) -> Result<Protocol, String> {
    match text.to_ascii_uppercase().as_str() {
        "IKC0" => Ok(Protocol::Ikc0),
        "IKC" => Ok(Protocol::Ikc),
        _ => Err(format!("{text:?} is not IKC0 or IKC")),
    }
}

fn parse_seconds(text: &str) -> Result<Duration, String> {
    let secs: f64 = text
        .parse()
        .map_err(|_| format!("{text:?} is not a number of seconds"))?;
    if !(secs.is_finite() && secs > 0.0 && secs < 1e9) {
        return Err(format!("{text:?}: seconds must be above 0"));
    }
    Ok(Duration::from_secs_f64(secs))
}

fn main() -> ExitCode {
    let _ = env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn"))
        .try_init();
    let cli = Cli::parse();
    let common = &cli.common;
    let result = match cli.command {
        Command::Call {
            addr,
            spec,
            arg,
            list,
        } => lite::call(common, &addr, &spec, arg.as_deref(), list),
        Command::Post { addr, spec, arg } => lite::post(common, &addr, &spec, arg.as_deref()),
        Command::Ping { addr, kernel } => lite::ping(common, &addr, kernel.as_deref()),
        Command::Watch {
            addr,
            kernel,
            ops,
            count,
            max_len,
        } => lite::watch(common, &addr, kernel.as_deref(), &ops, count, max_len),
        Command::Trace { addr, spec, arg } => lite::trace(common, &addr, &spec, arg.as_deref()),
        Command::Kernels { addr } => inspect::run(common, &addr, inspect::Topic::Kernels),
        Command::Links { addr } => inspect::run(common, &addr, inspect::Topic::Links),
        Command::Routes { addr } => inspect::run(common, &addr, inspect::Topic::Routes),
        Command::Sessions { addr } => inspect::run(common, &addr, inspect::Topic::Sessions),
        Command::Counters { addr } => inspect::run(common, &addr, inspect::Topic::Counters),
        Command::Node {
            aliases,
            listen,
            connect,
            max_backoff,
            link_weight,
            nats,
        } => node::run(
            common,
            aliases,
            listen,
            connect,
            max_backoff,
            link_weight,
            nats,
        ),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(failure) => {
            eprintln!("ikc: {failure}");
            ExitCode::from(failure.code())
        }
    }
}
