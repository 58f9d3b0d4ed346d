//! The command line, read by clap: `ikc-bench <SCENARIO> [OPTIONS]`, with
//! `--help` listing every scenario and option.
//!
//! Options are one table ([`OPTIONS`], [`FLAGS`]) shared by every
//! scenario; each scenario reads those it uses, with its own defaults
//! (written in the option's help), through [`Args`].

use std::str::FromStr;

use anyhow::{Context, Result};
use clap::{Arg, ArgAction, ArgMatches, Command, ValueEnum};

/// What to measure (or which helper process to be).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Scenario {
    /// A client kernel posts --n events to a published state, then calls `done`: messages per second
    Oneway,
    /// Sequential IKC calls with an RSVP from a client kernel: mean, p50, p99 in µs
    Rtt,
    /// Sequential ClientLite calls: mean, p50, p99 in µs
    LiteRtt,
    /// --threads ClientLite threads calling at once: calls per second and p99
    Fanin,
    /// Connections per second (handshake, then close), with --tls and/or --secret
    Handshake,
    /// Oneway, rtt and lite-rtt in clear then over TLS; handshakes clear, with the secret, over TLS, both
    Security,
    /// Events posted and dispatched inside one kernel: events per second
    Local,
    /// Resident size of a server holding --connections idle connections, per connection
    Memory,
    /// Raw TCP round trips of 100 bytes, no IKC: the floor under rtt and fanin
    Pingpong,
    /// Oneway and rtt between two kernels through one nats-server, next to the same through one relay kernel and over a direct link
    Nats,
    /// The same payload between two Erlang nodes on 127.0.0.1: the reference (skipped without `erl`)
    Erlang,
    /// Every scenario but nats with its defaults, then each figure with its reference and the ratio
    All,
    /// The oneway scenario through --hops intermediate kernels (relay processes in a chain)
    MeshOneway,
    /// IKC calls across 3 hops (client, two relays, server), next to raw TCP across 3 hops
    MeshRtt,
    /// --kernels kernels in a mesh; one posts to poe://*/node/hello: copies delivered and time
    MeshBroadcast,
    /// In the same mesh a link is cut: the time until the kernel that cut it reaches its neighbour again
    MeshConverge,
    /// --kernels kernels dial one hub at once: control messages until every kernel knows every other
    MeshStorm,
    /// The server process (the scenarios start it themselves): prints port=N, runs until stdin closes
    Serve,
    /// The raw TCP server of pingpong (started by pingpong itself)
    #[value(hide = true)]
    PingpongServe,
    /// A relay kernel forwarding to --next PORT (the mesh scenarios start it themselves)
    Relay,
}

/// Options that take a value: name, value name, help (with each
/// scenario's default).
const OPTIONS: [(&str, &str, &str); 18] = [
    (
        "n",
        "N",
        "How many messages or calls: oneway/mesh-oneway 2000000, rtt/lite-rtt/pingpong 20000, \
         fanin 200000, handshake 1000, local 5000000, erlang 1000000, nats 200000, mesh-rtt 5000",
    ),
    (
        "calls",
        "N",
        "Calls for the round-trip part: erlang 20000, nats 5000",
    ),
    (
        "warmup",
        "N",
        "Calls made before measuring: 1000 (fanin 20 per thread, mesh-rtt 500)",
    ),
    (
        "codec",
        "CODEC",
        "Freezer: native (IKC::Native, the default), storable or dumper",
    ),
    (
        "batch",
        "N",
        "oneway: posts between two flow-control calls (1000)",
    ),
    ("window", "N", "oneway: batches in flight at once (4)"),
    ("threads", "N", "fanin: 100 client threads; pingpong: 1"),
    ("connections", "N", "memory: idle connections held (1000)"),
    (
        "port",
        "PORT",
        "serve, pingpong-serve, relay: the port to listen on (0: any)",
    ),
    ("hops", "N", "mesh-oneway: intermediate kernels (1)"),
    (
        "kernels",
        "N",
        "mesh-broadcast, mesh-converge: 50 kernels; mesh-storm: 100",
    ),
    ("rounds", "N", "mesh-broadcast: broadcasts measured (5)"),
    (
        "next",
        "PORT",
        "relay: the port of the next kernel in the chain",
    ),
    (
        "connect",
        "PORT",
        "Use a server started by hand (`ikc-bench serve --port P`) instead of starting one",
    ),
    (
        "server-wrap",
        "CMD ARGS",
        "Run the server process under a command, e.g. 'perf stat -e instructions'",
    ),
    (
        "nats",
        "URL",
        "nats: a nats-server to use instead of starting one on a free port",
    ),
    (
        "tls-dir",
        "DIR",
        "TLS certificates to use (ca.pem, server.pem, server.key; made for the run with --tls)",
    ),
    (
        "secret-file",
        "FILE",
        "The shared secret's file (one is made for the run with --secret)",
    ),
];

/// Options that take no value: name, help.
const FLAGS: [(&str, &str); 3] = [
    (
        "tls",
        "Speak TLS on every link (a certificate is made for the run)",
    ),
    (
        "secret",
        "Prove a shared secret on every link (made for the run)",
    ),
    (
        "monitor-messages",
        "oneway, serve: the server has a monitor of every message (leaving, arriving, routed, \
         dropped) of every kernel: what watching messages costs",
    ),
];

/// The command line's grammar.
pub(crate) fn command() -> Command {
    let mut command = Command::new("ikc-bench")
        .about("How fast ikc-rs is, measured over loopback with the server and the client in separate processes")
        .after_help(
            "Every figure is printed as one line, `<scenario> key=value ...`. The payload of \
             every message is IKC's usual test hash {seq => i, name => 'hello world', vals => [1,2,3]}. \
             Run it in release mode: cargo run --release -p ikc-bench -- oneway",
        )
        .args_override_self(true)
        .arg(
            Arg::new("scenario")
                .required(true)
                .value_parser(clap::value_parser!(Scenario))
                .help("What to measure"),
        );
    for (name, value_name, help) in OPTIONS {
        command = command.arg(
            Arg::new(name)
                .long(name)
                .value_name(value_name)
                .action(ArgAction::Set)
                .help(help),
        );
    }
    for (name, help) in FLAGS {
        command = command.arg(
            Arg::new(name)
                .long(name)
                .action(ArgAction::SetTrue)
                .help(help),
        );
    }
    command
}

/// The options given on the command line, as scenarios read them; a
/// scenario that runs another one passes it these with some changed
/// ([`with`](Self::with)).
#[derive(Debug, Clone, Default)]
pub(crate) struct Args {
    pairs: Vec<(String, String)>,
}

impl Args {
    /// The options clap read.
    pub(crate) fn from_matches(matches: &ArgMatches) -> Self {
        let mut pairs = Vec::new();
        for (name, _, _) in OPTIONS {
            if let Some(value) = matches.get_one::<String>(name) {
                pairs.push((name.to_owned(), value.clone()));
            }
        }
        for (name, _) in FLAGS {
            if matches.get_flag(name) {
                pairs.push((name.to_owned(), "on".to_owned()));
            }
        }
        Self { pairs }
    }

    /// Was the flag `key` given (and not turned `off` by [`with`](Self::with))?
    pub(crate) fn flag(&self, key: &str) -> bool {
        self.get(key).is_some_and(|v| v != "off")
    }

    /// The last value given for `key`.
    pub(crate) fn get(&self, key: &str) -> Option<&str> {
        self.pairs
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The value of `key`, or `default`.
    pub(crate) fn get_or<'a>(&'a self, key: &str, default: &'a str) -> &'a str {
        self.get(key).unwrap_or(default)
    }

    /// `key` read as a number (`_` may group digits), or `default`.
    pub(crate) fn number<T: FromStr>(&self, key: &str, default: T) -> Result<T>
    where
        T::Err: std::error::Error + Send + Sync + 'static,
    {
        match self.get(key) {
            Some(v) => v
                .replace('_', "")
                .parse()
                .with_context(|| format!("--{key} {v}")),
            None => Ok(default),
        }
    }

    /// These options with `key` set to `value`.
    pub(crate) fn with(&self, key: &str, value: &str) -> Self {
        let mut args = self.clone();
        args.pairs.push((key.to_owned(), value.to_owned()));
        args
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(argv: &[&str]) -> Result<(Scenario, Args), clap::Error> {
        let matches = command().try_get_matches_from(argv)?;
        let scenario = *matches.get_one::<Scenario>("scenario").expect("required");
        Ok((scenario, Args::from_matches(&matches)))
    }

    #[test]
    fn the_grammar_is_consistent() {
        command().debug_assert();
    }

    #[test]
    fn scenarios_options_and_flags() {
        let (scenario, args) = parse(&[
            "ikc-bench",
            "lite-rtt",
            "--n",
            "2_000",
            "--codec=storable",
            "--tls",
            "--n",
            "3000",
        ])
        .unwrap();
        assert_eq!(scenario, Scenario::LiteRtt);
        assert_eq!(
            args.number::<u64>("n", 1).unwrap(),
            3000,
            "the last --n wins"
        );
        assert_eq!(args.get_or("codec", "native"), "storable");
        assert!(args.flag("tls"));
        assert!(!args.flag("secret"));
        assert!(!args.with("tls", "off").flag("tls"));
        assert_eq!(args.number::<u64>("warmup", 7).unwrap(), 7);
        let (_, args) = parse(&["ikc-bench", "oneway", "--n", "2_000"]).unwrap();
        assert_eq!(args.number::<u64>("n", 1).unwrap(), 2000);
    }

    #[test]
    fn bad_command_lines_are_refused() {
        for argv in [
            &["ikc-bench"][..],
            &["ikc-bench", "nonsense"],
            &["ikc-bench", "oneway", "--nope", "1"],
            &["ikc-bench", "oneway", "--n"],
            &["ikc-bench", "oneway", "stray"],
        ] {
            assert!(parse(argv).is_err(), "{argv:?}");
        }
        let (_, args) = parse(&["ikc-bench", "rtt", "--n", "many"]).unwrap();
        assert!(args.number::<u64>("n", 1).is_err());
    }
}
