//! Introspection: the kernels, links, routes, sessions and counters a
//! responder knows, as typed structs ([`Ikc::links`](crate::Ikc::links),
//! ...) and, for other kernels and the `ikc` tool, as the answers of the
//! `IKC` session's states `kernels`, `links`, `routes`, `sessions` and
//! `counters` (each a list of hashes, or one hash for `counters`).

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ikc_channel::{Protocol, Side};
use ikc_core::{Ctx, SessionId};
use ikc_freezer::{Hash, Value};

use crate::api::{KernelInfo, Reached};
use crate::mesh::{link_id, session_of};
use crate::state::{Route, Shared};

/// The states the `IKC` session publishes for introspection.
pub(crate) const REMOTE_STATES: [&str; 5] = ["kernels", "links", "routes", "sessions", "counters"];

/// What a link has carried, kept by its channel session and the responder.
#[derive(Debug, Clone)]
pub(crate) struct LinkStats {
    /// When the connection was made.
    pub(crate) since: SystemTime,
    /// Our end of the socket (`ip:port`, `unix:path`).
    pub(crate) local_address: String,
    /// The peer's end as we know it.
    pub(crate) peer_address: Option<String>,
    /// Messages decoded from the peer.
    pub(crate) messages_in: u64,
    /// Messages encoded for the peer.
    pub(crate) messages_out: u64,
    /// Bytes read.
    pub(crate) bytes_in: u64,
    /// Bytes handed to the socket.
    pub(crate) bytes_out: u64,
    /// Bytes written but not yet taken by the socket.
    pub(crate) bytes_queued: u64,
}

impl LinkStats {
    pub(crate) fn new(local_address: &str, peer_address: Option<&str>) -> Self {
        Self {
            since: SystemTime::now(),
            local_address: local_address.to_owned(),
            peer_address: peer_address.map(str::to_owned),
            messages_in: 0,
            messages_out: 0,
            bytes_in: 0,
            bytes_out: 0,
            bytes_queued: 0,
        }
    }
}

/// One connection of this kernel (NATS's `/connz` entry).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct LinkInfo {
    /// The channel session that owns the connection.
    pub channel: SessionId,
    /// Whether we accepted it (server) or dialled it (client).
    pub side: Side,
    /// The peer's kernel ID, once negotiated.
    pub peer: Option<String>,
    /// The peer's other names (its name, aliases, socket address).
    pub peer_names: Vec<String>,
    /// Our end of the socket.
    pub local_address: String,
    /// The peer's end as we know it.
    pub peer_address: Option<String>,
    /// The protocol negotiated (`None` while negotiating).
    pub protocol: Option<Protocol>,
    /// The freezer negotiated.
    pub freezer: Option<String>,
    /// Whether the link runs over TLS.
    pub tls: bool,
    /// Whether both ends proved the cluster's shared secret.
    pub authenticated: bool,
    /// When the connection was made.
    pub connected_since: SystemTime,
    /// Messages received.
    pub messages_in: u64,
    /// Messages sent.
    pub messages_out: u64,
    /// Bytes received.
    pub bytes_in: u64,
    /// Bytes sent.
    pub bytes_out: u64,
    /// Bytes waiting for the peer to read them.
    pub bytes_queued: u64,
    /// The round trip the mesh router measures with its probes, smoothed
    /// (links to kernels that route, once a probe came back).
    pub rtt: Option<Duration>,
    /// The weight the router gives the link in the mesh's paths (links
    /// the router knows).
    pub weight: Option<u32>,
}

/// How a destination kernel is reached.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RouteInfo {
    /// The destination kernel's ID.
    pub destination: String,
    /// The neighbour a message for it goes to first.
    pub next_hop: String,
    /// The channel session of that neighbour's link.
    pub channel: SessionId,
    /// The path's cost.
    pub cost: u64,
    /// How many links the path crosses.
    pub hops: u32,
}

/// A session of this kernel, as remote kernels may see it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SessionSummary {
    /// Its ID.
    pub id: SessionId,
    /// Its aliases.
    pub aliases: Vec<String>,
    /// The states it published (under any of its aliases).
    pub published: Vec<String>,
}

/// What the responder has done since it started (NATS's `/varz` totals).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Counters {
    /// Requests from other kernels whose state ran.
    pub delivered: u64,
    /// Messages passed on to another kernel on their way (by the mesh).
    pub routed: u64,
    /// Messages this kernel sent on a link to another kernel (those it
    /// passed on for others count as routed).
    pub sent: u64,
    /// Requests not delivered, by cause (IKC's stage: `check`, `request`,
    /// `invocation`, `resolve`, ...).
    pub dropped: BTreeMap<String, u64>,
    /// Errors reported to monitors, by kind (`local-check`,
    /// `remote-check`, `channel-read`, `resolve`, ...).
    pub errors: BTreeMap<String, u64>,
}

impl Counters {
    pub(crate) fn count_dropped(&mut self, cause: &str) {
        *self.dropped.entry(cause.to_owned()).or_default() += 1;
    }

    pub(crate) fn count_error(&mut self, kind: &str) {
        *self.errors.entry(kind.to_owned()).or_default() += 1;
    }

    /// As a hash: `{delivered, routed, sent, dropped => {cause => n}, errors => {kind => n}}`.
    pub fn to_value(&self) -> Value {
        let map = |m: &BTreeMap<String, u64>| {
            Value::Hash(
                m.iter()
                    .map(|(k, v)| (k.as_str(), Value::from(*v)))
                    .collect(),
            )
        };
        let mut h = Hash::with_capacity(5);
        h.insert("delivered", Value::from(self.delivered));
        h.insert("routed", Value::from(self.routed));
        h.insert("sent", Value::from(self.sent));
        h.insert("dropped", map(&self.dropped));
        h.insert("errors", map(&self.errors));
        Value::Hash(h)
    }
}

fn strings(items: &[String]) -> Value {
    Value::Array(items.iter().map(|s| Value::from(s.as_str())).collect())
}

fn opt(s: Option<&str>) -> Value {
    s.map_or(Value::Undef, Value::from)
}

fn saturating_u64(n: u128) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

fn unix_secs(t: SystemTime) -> Value {
    Value::Float(
        t.duration_since(UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64()),
    )
}

impl LinkInfo {
    /// As a hash with the fields' names (`connected_since` in seconds since
    /// the Unix epoch, `side` `client` or `server`, `rtt_us` the round trip
    /// in microseconds).
    pub fn to_value(&self) -> Value {
        let mut h = Hash::with_capacity(18);
        h.insert("channel", Value::from(self.channel));
        h.insert(
            "side",
            match self.side {
                Side::Client => "client",
                _ => "server",
            },
        );
        h.insert("peer", opt(self.peer.as_deref()));
        h.insert("peer_names", strings(&self.peer_names));
        h.insert("local_address", self.local_address.as_str());
        h.insert("peer_address", opt(self.peer_address.as_deref()));
        h.insert("protocol", opt(self.protocol.map(Protocol::as_str)));
        h.insert("freezer", opt(self.freezer.as_deref()));
        h.insert("tls", Value::Bool(self.tls));
        h.insert("authenticated", Value::Bool(self.authenticated));
        h.insert("connected_since", unix_secs(self.connected_since));
        h.insert("messages_in", Value::from(self.messages_in));
        h.insert("messages_out", Value::from(self.messages_out));
        h.insert("bytes_in", Value::from(self.bytes_in));
        h.insert("bytes_out", Value::from(self.bytes_out));
        h.insert("bytes_queued", Value::from(self.bytes_queued));
        h.insert(
            "rtt_us",
            self.rtt
                .map_or(Value::Undef, |d| Value::from(saturating_u64(d.as_micros()))),
        );
        h.insert("weight", self.weight.map_or(Value::Undef, Value::from));
        Value::Hash(h)
    }
}

impl RouteInfo {
    /// As a hash: `{destination, next_hop, channel, cost, hops}`.
    pub fn to_value(&self) -> Value {
        let mut h = Hash::with_capacity(5);
        h.insert("destination", self.destination.as_str());
        h.insert("next_hop", self.next_hop.as_str());
        h.insert("channel", Value::from(self.channel));
        h.insert("cost", Value::from(self.cost));
        h.insert("hops", Value::from(self.hops));
        Value::Hash(h)
    }
}

impl SessionSummary {
    /// As a hash: `{id, aliases, published}`.
    pub fn to_value(&self) -> Value {
        let mut h = Hash::with_capacity(3);
        h.insert("id", Value::from(self.id));
        h.insert("aliases", strings(&self.aliases));
        h.insert("published", strings(&self.published));
        Value::Hash(h)
    }
}

/// Every link, negotiated or not, by channel session.
pub(crate) fn links(shared: &Shared) -> Vec<LinkInfo> {
    let st = shared.borrow();
    let measured: HashMap<_, _> = st
        .mesh
        .router
        .links()
        .into_iter()
        .map(|l| (l.link, (l.smoothed_rtt, l.weight)))
        .collect();
    let mut out: Vec<LinkInfo> = st
        .links
        .iter()
        .map(|(session, link)| {
            let link = link.borrow();
            let peer = link.channel.peer();
            let s = &link.stats;
            LinkInfo {
                channel: *session,
                side: link.channel.side(),
                peer: peer.map(|p| p.kernel_id.clone()),
                peer_names: peer.map(|p| p.aliases.clone()).unwrap_or_default(),
                local_address: s.local_address.clone(),
                peer_address: s.peer_address.clone(),
                protocol: peer.map(|p| p.protocol),
                freezer: peer.map(|p| p.freezer.clone()),
                tls: link.channel.is_tls(),
                authenticated: peer.is_some_and(|p| p.authenticated),
                connected_since: s.since,
                messages_in: s.messages_in,
                messages_out: s.messages_out,
                bytes_in: s.bytes_in,
                bytes_out: s.bytes_out,
                bytes_queued: s.bytes_queued,
                rtt: measured.get(&link_id(*session)).and_then(|m| m.0),
                weight: measured.get(&link_id(*session)).map(|m| m.1),
            }
        })
        .collect();
    out.sort_by_key(|l| l.channel);
    out
}

/// The route to each kernel the mesh router reaches (directly or
/// through others), and to each kernel connected outside the mesh (a
/// second connection, a refused router...), one hop through its link at
/// the router's base weight.
pub(crate) fn routes(shared: &Shared) -> Vec<RouteInfo> {
    let st = shared.borrow();
    let mut out: Vec<RouteInfo> = st
        .mesh
        .router
        .routes()
        .into_iter()
        .map(|r| RouteInfo {
            destination: r.kernel_id.to_string(),
            next_hop: r.via.to_string(),
            channel: session_of(r.next_hop),
            cost: r.cost,
            hops: r.hops,
        })
        .collect();
    let base = u64::from(st.mesh.router.config().weights.base);
    for (id, route) in st.remotes.kernels() {
        if let Route::Channel(channel) = route {
            if !out.iter().any(|r| r.destination == id) {
                out.push(RouteInfo {
                    destination: id.to_owned(),
                    next_hop: id.to_owned(),
                    channel,
                    cost: base,
                    hops: 1,
                });
            }
        }
    }
    out.sort_by(|a, b| a.destination.cmp(&b.destination));
    out
}

/// Our own kernel and those connected directly (in the order they
/// registered), then those the mesh reaches through others (by ID).
pub(crate) fn kernels(shared: &Shared) -> Vec<KernelInfo> {
    let st = shared.borrow();
    let mesh = st.mesh.router.kernels();
    let incarnations: HashMap<&str, u64> = mesh
        .iter()
        .filter_map(|k| Some((k.kernel_id.as_str(), k.incarnation?)))
        .collect();
    let mut out: Vec<KernelInfo> = st
        .remotes
        .kernels()
        .map(|(id, route)| {
            let (channel, reached) = match route {
                Route::Local => (None, Reached::Local),
                Route::Channel(s) => (Some(s), Reached::Direct),
            };
            KernelInfo {
                id: id.to_owned(),
                aliases: st.remotes.aliases_of(id).to_vec(),
                channel,
                reached,
                incarnation: incarnations.get(id).copied(),
            }
        })
        .collect();
    let routes: HashMap<_, _> = st
        .mesh
        .router
        .routes()
        .into_iter()
        .map(|r| (r.kernel_id.clone(), r))
        .collect();
    for k in mesh {
        if k.local || st.remotes.is_real(&k.kernel_id) {
            continue;
        }
        let Some(route) = routes.get(&k.kernel_id) else {
            continue;
        };
        let reached = if route.hops > 1 {
            Reached::Routed {
                via: route.via.to_string(),
                hops: route.hops,
            }
        } else {
            Reached::Direct
        };
        out.push(KernelInfo {
            id: k.kernel_id.to_string(),
            aliases: k.names,
            channel: Some(session_of(route.next_hop)),
            reached,
            incarnation: k.incarnation,
        });
    }
    out
}

/// Every session of the kernel with its aliases and published states.
pub(crate) fn sessions(shared: &Shared, ctx: &Ctx<'_>) -> Vec<SessionSummary> {
    let st = shared.borrow();
    ctx.sessions()
        .into_iter()
        .map(|s| {
            let mut published: Vec<String> = s
                .aliases
                .iter()
                .flat_map(|a| st.published.states_of(a))
                .collect();
            published.sort();
            published.dedup();
            SessionSummary {
                id: s.id,
                aliases: s.aliases,
                published,
            }
        })
        .collect()
}

/// Answer one of the introspection states.
pub(crate) fn answer(shared: &Shared, ctx: &Ctx<'_>, state: &str) -> Value {
    match state {
        "kernels" => Value::Array(kernels(shared).iter().map(KernelInfo::to_value).collect()),
        "links" => Value::Array(links(shared).iter().map(LinkInfo::to_value).collect()),
        "routes" => Value::Array(routes(shared).iter().map(RouteInfo::to_value).collect()),
        "sessions" => Value::Array(
            sessions(shared, ctx)
                .iter()
                .map(SessionSummary::to_value)
                .collect(),
        ),
        _ => shared.borrow().counters.to_value(),
    }
}

impl KernelInfo {
    /// As a hash: `{id, aliases, reached, channel, via, hops,
    /// incarnation}`, `reached` being `local` (this kernel), `direct` (a
    /// link of ours) or `routed` (through `via`, the first kernel on the
    /// way, `hops` links away).
    pub fn to_value(&self) -> Value {
        let mut h = Hash::with_capacity(7);
        h.insert("id", self.id.as_str());
        h.insert("aliases", strings(&self.aliases));
        let (reached, via, hops) = match &self.reached {
            Reached::Local => ("local", Value::Undef, 0),
            Reached::Direct => ("direct", Value::Undef, 1),
            Reached::Routed { via, hops } => ("routed", Value::from(via.as_str()), *hops),
        };
        h.insert("reached", reached);
        h.insert("channel", self.channel.map_or(Value::Undef, Value::from));
        h.insert("via", via);
        h.insert("hops", Value::from(hops));
        h.insert(
            "incarnation",
            self.incarnation.map_or(Value::Undef, Value::from),
        );
        Value::Hash(h)
    }
}

/// Introspection, from a session of this kernel.
impl crate::Ikc {
    /// Every connection, negotiated or not, in the order they were made.
    pub fn links(&self) -> Vec<LinkInfo> {
        links(self.shared())
    }

    /// How each remote kernel is reached: the first kernel on the way,
    /// the path's cost and its length.
    pub fn routes(&self) -> Vec<RouteInfo> {
        routes(self.shared())
    }

    /// Every session of this kernel, with its aliases and published states.
    pub fn sessions(&self, ctx: &Ctx<'_>) -> Vec<SessionSummary> {
        sessions(self.shared(), ctx)
    }

    /// What the responder has done so far.
    pub fn counters(&self) -> Counters {
        self.shared().borrow().counters.clone()
    }
}
