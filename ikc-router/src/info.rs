//! Introspection: what a router knows, as plain structs for monitors and
//! the `ikc` command line ([`KernelEntry`], [`LinkEntry`], [`RouteEntry`],
//! [`RouterStats`]).

use std::time::{Duration, Instant};

use crate::config::{Direction, PeerRole};
use crate::id::{KernelId, LinkId};
use crate::output::Reach;

/// A kernel the router knows of.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct KernelEntry {
    /// Its ID.
    pub kernel_id: KernelId,
    /// Its other names.
    pub names: Vec<String>,
    /// Its incarnation, for kernels that speak routing.
    pub incarnation: Option<u64>,
    /// The sequence number of the record held, for kernels that speak
    /// routing.
    pub seq: Option<u64>,
    /// What it is to the mesh.
    pub role: PeerRole,
    /// Whether it is this kernel.
    pub local: bool,
    /// How it is reached; `None` if it is not reachable now (or is this
    /// kernel).
    pub reach: Option<Reach>,
}

/// One of this kernel's links.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LinkEntry {
    /// The link.
    pub link: LinkId,
    /// The peer's kernel ID.
    pub peer: KernelId,
    /// The peer's other names.
    pub peer_names: Vec<String>,
    /// What the peer is.
    pub role: PeerRole,
    /// Who dialed.
    pub direction: Direction,
    /// Whether the link carries traffic: for a routing peer, once its
    /// hello arrived; `false` too once the router asked for it to be closed.
    pub usable: bool,
    /// The weight this kernel advertises for it.
    pub weight: u32,
    /// The configured weight, if one overrides measurement.
    pub fixed_weight: Option<u32>,
    /// The smoothed round trip, once measured.
    pub smoothed_rtt: Option<Duration>,
    /// The last round trip measured.
    pub last_rtt: Option<Duration>,
    /// When the link came up.
    pub since: Instant,
    /// Control messages sent on it.
    pub control_sent: u64,
    /// Control messages received on it.
    pub control_received: u64,
    /// Records received on it that were not news (the normal end of a
    /// flood).
    pub stale_records: u64,
}

/// The route to one reachable kernel.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RouteEntry {
    /// The destination.
    pub kernel_id: KernelId,
    /// The first link.
    pub next_hop: LinkId,
    /// The neighbour at the end of the first link.
    pub via: KernelId,
    /// The sum of the weights.
    pub cost: u64,
    /// How many links.
    pub hops: u32,
}

/// Counters since the router started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct RouterStats {
    /// Control messages handed out as [`RouterOutput::Transmit`](crate::RouterOutput::Transmit).
    pub control_sent: u64,
    /// Records inside them.
    pub records_sent: u64,
    /// Control messages received.
    pub control_received: u64,
    /// Records accepted as news.
    pub records_accepted: u64,
    /// Records dropped as not newer than the one held.
    pub records_stale: u64,
    /// Records or messages refused as bad.
    pub records_refused: u64,
    /// Times the shortest paths were recomputed.
    pub recomputes: u64,
    /// Records this kernel originated about itself.
    pub originated: u64,
}
