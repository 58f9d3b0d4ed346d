//! `nats`: the one-way and call round-trip scenarios between two kernels
//! through one `nats-server`, next to the same through one intermediate
//! IKC kernel (an `ikc-bench relay` process: two TCP hops, routed by the
//! mesh) and over a direct IKC link, in one run (each on a fresh server
//! process attached to the same bus).
//!
//! The bus is a `nats-server` the benchmark starts on a free port, or
//! `--nats URL`. The client kernel attaches as `BenchClient` and starts
//! once the server kernel `Bench` has registered through the bus.

use anyhow::{Context, Result};
use ikc_nats::server::NatsServer;

use crate::args::Args;
use crate::link::Link;
use crate::oneway;
use crate::process::ServerProcess;
use crate::rtt;

/// How the client kernel reaches the server kernel in the `nats` scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Via {
    /// A direct IKC link.
    Direct,
    /// Through one intermediate IKC kernel.
    Relay,
    /// Through the NATS bus.
    Nats,
}

/// The `nats` scenario's processes: the server kernel (attached to the bus
/// at `url`, serving TCP too), a relay kernel in front of it for
/// [`Via::Relay`], and the client's link.
///
/// Without `nats` (the plain `oneway` and `rtt` scenarios): a server
/// process not on a bus, and a direct link.
pub(crate) fn start(
    args: &Args,
    codec: &str,
    nats: Option<(&str, Via)>,
) -> Result<(ServerProcess, Option<ServerProcess>, Link)> {
    let Some((url, via)) = nats else {
        let server = ServerProcess::start(args)?;
        let port = server.port();
        return Ok((server, None, Link::Direct(port)));
    };
    let server = ServerProcess::start_as(args, "serve", &["--nats", url, "--codec", codec])?;
    let (relay, link) = match via {
        Via::Direct => (None, Link::Direct(server.port())),
        Via::Nats => (None, Link::Nats(url.to_owned())),
        Via::Relay => {
            let relay =
                ServerProcess::start_as(args, "relay", &["--next", &server.port().to_string()])?;
            let port = relay.port();
            (Some(relay), Link::Relayed(port))
        }
    };
    Ok((server, relay, link))
}

pub(crate) fn run(args: &Args) -> Result<()> {
    let (url, _bus) = match args.get("nats") {
        Some(url) => (url.to_owned(), None),
        None => {
            let bus = NatsServer::start().context("starting nats-server (is it installed?)")?;
            (bus.url(), Some(bus))
        }
    };
    let oneway_args = args.with("n", args.get_or("n", "200000"));
    let rtt_args = args.with("n", args.get_or("calls", "5000"));
    let ways = [Via::Direct, Via::Relay, Via::Nats];
    for via in ways {
        oneway::run_over(&oneway_args, &url, via)?;
    }
    for via in ways {
        rtt::kernel_rtt_over(&rtt_args, &url, via)?;
    }
    Ok(())
}
