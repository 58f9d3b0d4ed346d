//! The [`Router`]: link-state routing for one kernel, without I/O.

mod link;
mod paths;

use std::collections::{BTreeMap, VecDeque};

use foldhash::{HashMap, HashMapExt, HashSet, HashSetExt};
use std::time::Instant;

use ikc_freezer::Value;

use crate::config::{PeerRole, RouterConfig};
use crate::control::{
    AdvertisedLeaf, AdvertisedLink, ControlMessage, Hello, LinkStateRecord, Refusal,
};
use crate::error::{ConfigError, RouterError};
use crate::id::{KernelId, LinkId};
use crate::info::{KernelEntry, LinkEntry, RouteEntry, RouterStats};
use crate::output::{CloseReason, NameClash, RouterOutput};
use crate::plan::{
    Destination, Forward, Route, RoutePlan, Targets, Unreachable, UnreachableReason,
};

use self::link::LinkState;
use self::paths::{Owner, Paths, Reached};

/// How many replaced incarnations of one kernel are remembered (to tell a
/// late copy of an old record from a second live kernel with the same ID).
const RETIRED_PER_KERNEL: usize = 4;

/// Link-state routing for one kernel, without I/O: Lightspeed's
/// `Router.pm`, as a state machine.
///
/// The router owns no socket and reads no clock. Its driver (the IKC
/// responder) tells it what happens and carries out what it asks:
///
/// 1. **Links.** When a channel to another kernel finishes its handshake,
///    call [`link_up`](Self::link_up) with a [`LinkId`] of your choosing
///    and the [`Peer`](crate::Peer) (its kernel ID, names, whether it
///    speaks routing, who dialed). When the channel closes, call
///    [`link_down`](Self::link_down).
/// 2. **Control messages.** Messages a routing peer sent to the reserved
///    routing state go to [`handle_control`](Self::handle_control) (or
///    [`handle_control_value`](Self::handle_control_value) with the raw
///    params).
/// 3. **Time.** Call [`handle_timeout`](Self::handle_timeout) when the
///    instant from [`poll_timeout`](Self::poll_timeout) has passed. The
///    value of `poll_timeout` may change after any call that takes `&mut
///    self`: ask again after each.
/// 4. **Outputs.** After each of the calls above, drain
///    [`poll_output`](Self::poll_output) until it returns `None`: send the
///    [`Transmit`](RouterOutput::Transmit)s, close the links it asks to
///    close, tell monitors about kernels that came and went.
/// 5. **Messages.** For each message to send or forward, ask
///    [`plan`](Self::plan) (several targets or `*`) or
///    [`route`](Self::route) (one target) where it goes. Paths are
///    recomputed once per batch of inputs, when `poll_output` is called:
///    routes and introspection reflect the inputs once it has been drained.
///
/// # Routing
///
/// Each kernel floods a record of its own links, `{origin, incarnation,
/// seq, names, links with weights, leaves}`; a record that is not newer
/// than the one held is dropped, which ends floods. An edge between two
/// routers counts only if both advertise it; paths are shortest from this
/// kernel (Dijkstra), the larger weight of both ends counting for a link.
/// Weights come from round trips the router measures itself with probes
/// (or a fixed weight). Kernels that do not speak routing are leaves:
/// advertised by the routers they are connected to, never transit hops.
///
/// # Examples
///
/// ```
/// use std::time::Instant;
/// use ikc_router::{Direction, Peer, Route, Router, RouterConfig, RouterOutput, LinkId};
///
/// let now = Instant::now();
/// let mut router = Router::new(RouterConfig::new("host-1-1").with_name("Server"), now)?;
/// // A Perl kernel connected: a leaf, reached directly.
/// router.link_up(LinkId(1), Peer::leaf("perl-1-2", Direction::Inbound).with_name("Perl"), now)?;
/// while let Some(output) = router.poll_output() {
///     if let RouterOutput::KernelUp(info) = output {
///         assert_eq!(info.kernel_id, "perl-1-2");
///         assert!(info.direct());
///     }
/// }
/// assert!(matches!(router.route("Perl"), Ok(Route::Link { link: LinkId(1), .. })));
/// assert_eq!(router.route("Server"), Ok(Route::Local));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Router {
    config: RouterConfig,
    /// This kernel's newest record.
    own: LinkStateRecord,
    own_dirty: bool,
    next_refresh: Instant,
    links: BTreeMap<LinkId, LinkState>,
    records: HashMap<KernelId, Stored>,
    /// Replaced incarnations per kernel: (incarnation, newest seq seen).
    retired: HashMap<KernelId, Vec<(u64, u64)>>,
    paths: Paths,
    graph_dirty: bool,
    next_aging: Option<Instant>,
    outputs: VecDeque<RouterOutput>,
    reported_clashes: HashMap<String, Vec<KernelId>>,
    incarnation_clashes: HashSet<KernelId>,
    nonce: u64,
    /// Links ever opened (orders links for the duplicate rule).
    links_opened: u64,
    /// This kernel's names changed since the name index was built.
    own_names_changed: bool,
    stats: RouterStats,
}

/// A record held, and when it last changed.
#[derive(Debug)]
struct Stored {
    record: LinkStateRecord,
    received: Instant,
}

impl Router {
    /// A router for the kernel `config` describes, alone in its mesh.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] for an empty ID or name, a zero limit or interval,
    /// or a record age not longer than the refresh interval.
    pub fn new(config: RouterConfig, now: Instant) -> Result<Self, ConfigError> {
        config.validate()?;
        let own = LinkStateRecord {
            origin: config.kernel_id.clone(),
            incarnation: config.incarnation,
            seq: 0,
            names: config.names.clone(),
            links: Vec::new(),
            leaves: Vec::new(),
        };
        let mut router = Self {
            next_refresh: now + config.refresh_interval,
            config,
            own,
            own_dirty: false,
            links: BTreeMap::new(),
            records: HashMap::new(),
            retired: HashMap::new(),
            paths: Paths::default(),
            graph_dirty: true,
            next_aging: None,
            outputs: VecDeque::new(),
            reported_clashes: HashMap::new(),
            incarnation_clashes: HashSet::new(),
            nonce: 0,
            links_opened: 0,
            own_names_changed: false,
            stats: RouterStats::default(),
        };
        router.recompute();
        Ok(router)
    }

    /// This kernel's ID.
    pub fn kernel_id(&self) -> &KernelId {
        &self.config.kernel_id
    }

    /// This kernel's incarnation.
    pub fn incarnation(&self) -> u64 {
        self.config.incarnation
    }

    /// This kernel's other names.
    pub fn names(&self) -> &[String] {
        &self.config.names
    }

    /// The configuration.
    pub fn config(&self) -> &RouterConfig {
        &self.config
    }

    /// A link finished its handshake.
    ///
    /// A routing peer is sent a hello at once, and becomes usable when its
    /// own hello arrives; any other peer is usable at once. If another link
    /// joins the same two kernels (checked at the hello for a routing
    /// peer, whose incarnation tells a restart from a second link), the
    /// duplicate rule picks one and the other gets a
    /// [`RouterOutput::CloseLink`]. A peer claiming a name
    /// another live kernel has (or this kernel's ID) is refused the same way
    /// with a [`RouterOutput::NameClash`].
    ///
    /// # Errors
    ///
    /// [`RouterError::LinkInUse`] if `link` is already up,
    /// [`RouterError::TooManyLinks`] past `max_links_per_kernel`,
    /// [`RouterError::TooLarge`] or [`RouterError::Malformed`] for names
    /// beyond the limits. The link is then not known to the router.
    pub fn link_up(
        &mut self,
        link: LinkId,
        peer: crate::Peer,
        now: Instant,
    ) -> Result<(), RouterError> {
        if self.links.contains_key(&link) {
            return Err(RouterError::LinkInUse(link));
        }
        let open = self.links.values().filter(|l| !l.closing).count();
        if open >= self.config.max_links_per_kernel {
            return Err(RouterError::TooManyLinks {
                max: self.config.max_links_per_kernel,
            });
        }
        if peer.kernel_id.is_empty() || peer.kernel_id.len() > self.config.max_name_len {
            return Err(RouterError::Malformed(
                "the peer's kernel ID is empty or too long".into(),
            ));
        }
        if peer.names.len() > self.config.max_names_per_kernel {
            return Err(RouterError::TooLarge {
                what: "names",
                count: peer.names.len(),
                max: self.config.max_names_per_kernel,
            });
        }
        log::debug!(
            "{link} up to {} ({:?}, {:?})",
            peer.kernel_id,
            peer.role,
            peer.direction
        );
        let role = peer.role;
        let mut state = LinkState::new(peer, &self.config.weights, &self.config.flood_limit, now);
        self.links_opened += 1;
        state.opened = self.links_opened;
        let names: Vec<String> = state.peer.names.clone();
        let kernel_id = state.peer.kernel_id.clone();
        self.links.insert(link, state);

        // Duplicates among routers wait for the hello, which tells a
        // restart (another incarnation) from a second link.
        if role != PeerRole::Router {
            if let Some(closed) = self.resolve_duplicate(link, &kernel_id) {
                if closed == link {
                    return Ok(());
                }
            }
        }
        if kernel_id == self.config.kernel_id {
            self.refuse(link, kernel_id.to_string(), vec![kernel_id]);
        } else if role == PeerRole::Router {
            self.send_hello(link);
        } else if !self.check_names(link, &kernel_id, &names) {
            self.own_dirty |= role == PeerRole::Leaf;
            self.graph_dirty = true;
        }
        Ok(())
    }

    /// A link closed (by the peer, the network, or after a
    /// [`RouterOutput::CloseLink`]). Unknown links are ignored.
    pub fn link_down(&mut self, link: LinkId, now: Instant) {
        let Some(state) = self.links.remove(&link) else {
            log::debug!("{link} down, but it was not up");
            return;
        };
        log::debug!(
            "{link} down ({}, up for {:?})",
            state.peer.kernel_id,
            now.saturating_duration_since(state.since)
        );
        if state.usable {
            self.own_dirty |= state.peer.role != PeerRole::Hidden;
            self.graph_dirty = true;
        }
    }

    /// A control message from the peer of `link`.
    ///
    /// # Errors
    ///
    /// What was wrong with the message ([`RouterError`]); the bad parts are
    /// dropped, the good parts of a batch of records are kept. A record no
    /// newer than the one held is the normal end of a flood, not an error
    /// (counted in [`LinkEntry::stale_records`]).
    pub fn handle_control(
        &mut self,
        link: LinkId,
        message: ControlMessage,
        now: Instant,
    ) -> Result<(), RouterError> {
        let result = self.control(link, message, now);
        if result.is_err() {
            self.stats.records_refused += 1;
        }
        result
    }

    /// [`handle_control`](Self::handle_control) for the raw params of the
    /// IKC message.
    ///
    /// # Errors
    ///
    /// [`RouterError::Malformed`] if `params` is not a control message, and
    /// those of [`handle_control`](Self::handle_control).
    pub fn handle_control_value(
        &mut self,
        link: LinkId,
        params: &Value,
        now: Instant,
    ) -> Result<(), RouterError> {
        match ControlMessage::from_value(params) {
            Ok(message) => self.handle_control(link, message, now),
            Err(error) => {
                self.stats.records_refused += 1;
                Err(error)
            }
        }
    }

    /// Time passed: send due probes, close unresponsive links, refresh this
    /// kernel's record, forget old records.
    pub fn handle_timeout(&mut self, now: Instant) {
        let mut probes = Vec::new();
        let mut dead = Vec::new();
        for (&link, state) in &mut self.links {
            if let Some(deadline) = state.deadline(self.config.link_timeout) {
                if deadline <= now {
                    dead.push(link);
                    continue;
                }
            }
            if state.usable && state.is_router() && state.next_probe.is_some_and(|t| t <= now) {
                probes.push(link);
            }
        }
        for link in dead {
            log::info!(
                "{link}: nothing heard for {:?}, closing",
                self.config.link_timeout
            );
            self.close(link, CloseReason::Unresponsive);
        }
        for link in probes {
            self.send_probe(link, now);
        }
        if self.next_refresh <= now {
            self.own_dirty = true;
            self.next_refresh = now + self.config.refresh_interval;
        }
        if self.next_aging.is_some_and(|t| t <= now) {
            let max_age = self.config.record_max_age;
            let before = self.records.len();
            self.records
                .retain(|_, stored| stored.received + max_age > now);
            if self.records.len() != before {
                log::debug!(
                    "forgot {} records older than {max_age:?}",
                    before - self.records.len()
                );
                self.graph_dirty = true;
            }
            self.update_aging();
        }
    }

    /// When [`handle_timeout`](Self::handle_timeout) should be called next.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        let mut next = Some(self.next_refresh);
        let mut consider = |t: Option<Instant>| {
            if let Some(t) = t {
                next = Some(next.map_or(t, |n| n.min(t)));
            }
        };
        consider(self.next_aging);
        for state in self.links.values() {
            consider(state.deadline(self.config.link_timeout));
            if state.usable {
                consider(state.next_probe);
            }
        }
        next
    }

    /// The next thing to do or report; `None` when there is nothing more.
    #[must_use]
    pub fn poll_output(&mut self) -> Option<RouterOutput> {
        self.settle();
        if self.own_dirty {
            self.originate();
        }
        self.queue_syncs();
        if let Some(output) = self.outputs.pop_front() {
            return Some(self.count(output));
        }
        let (&link, state) = self.links.iter_mut().find(|(_, s)| !s.outbox.is_empty())?;
        let max = self.config.max_kernels;
        let mut records: Vec<LinkStateRecord> = Vec::with_capacity(state.outbox.len().min(max));
        while records.len() < max {
            let Some((_, record)) = state.outbox.pop_first() else {
                break;
            };
            records.push(record);
        }
        Some(self.count(RouterOutput::Transmit {
            link,
            message: ControlMessage::Records(records),
        }))
    }

    /// Add names this kernel answers to (a server's or client's `name` and
    /// `aliases`, given after the router started); they are advertised to
    /// the mesh with the next record. Empty names, names already held and
    /// names beyond the limits are skipped.
    pub fn add_names<S: AsRef<str>>(&mut self, names: &[S], _now: Instant) {
        let mut added = false;
        for name in names {
            let name = name.as_ref();
            if name.is_empty()
                || name == self.config.kernel_id.as_str()
                || name.len() > self.config.max_name_len
                || self.config.names.len() >= self.config.max_names_per_kernel
                || self.config.names.iter().any(|n| n == name)
            {
                continue;
            }
            self.config.names.push(name.to_owned());
            added = true;
        }
        if added {
            log::debug!("names now {:?}", self.config.names);
            self.own_dirty = true;
            self.graph_dirty = true;
            self.own_names_changed = true;
        }
    }

    /// Set or clear a fixed weight for `link` (a weight change that may
    /// move routes). Clearing it goes back to the measured weight, and
    /// probes the link at `now`.
    ///
    /// # Errors
    ///
    /// [`RouterError::UnknownLink`] if the link is not up.
    pub fn set_link_weight(
        &mut self,
        link: LinkId,
        weight: Option<u32>,
        now: Instant,
    ) -> Result<(), RouterError> {
        let state = self
            .links
            .get_mut(&link)
            .ok_or(RouterError::UnknownLink(link))?;
        if weight.is_none() && state.usable && state.is_router() {
            // Back to measuring: probe at once rather than at the next turn.
            state.next_probe = Some(now);
        }
        if state.set_fixed_weight(weight, &self.config.weights) {
            self.own_dirty = true;
            self.graph_dirty = true;
        }
        Ok(())
    }

    /// Where a message for the kernel named `name` (its ID or any of its
    /// names) goes.
    ///
    /// # Errors
    ///
    /// An [`Unreachable`] saying why nobody can take it.
    pub fn route(&self, name: &str) -> Result<Route<'_>, Unreachable> {
        match self.paths.names.get(name) {
            Some(Owner::One(kernel_id)) if *kernel_id == self.config.kernel_id => Ok(Route::Local),
            // The name index is built from the reachable kernels, so the
            // lookup finds it; were it ever missing, the name is unreachable.
            Some(Owner::One(kernel_id)) => match self.paths.reach.get_key_value(kernel_id.as_str())
            {
                Some((kernel_id, reached)) => Ok(Route::Link {
                    link: reached.reach.next_hop(),
                    kernel_id,
                }),
                None => Err(self.unreachable(name, None)),
            },
            other => Err(self.unreachable(name, other)),
        }
    }

    /// The kernel ID a name (an ID or any name) stands for now, if exactly
    /// one reachable kernel (or this one) has it.
    pub fn resolve(&self, name: &str) -> Option<&KernelId> {
        match self.paths.names.get(name) {
            Some(Owner::One(kernel_id)) => Some(kernel_id),
            _ => None,
        }
    }

    /// Where a message goes: deliver it here, which copies to send on
    /// which links (each target kernel in exactly one of them), and which
    /// targets to report as unreachable.
    ///
    /// `hops` is how many kernels the message passed through before this
    /// one (0 for a message this kernel sends); at `hop_limit` every remote
    /// target is unreachable ([`UnreachableReason::HopLimit`]). `arrived_on`
    /// is the link it came in on, `None` for a local send; a target whose
    /// next hop is that link (the tables of two kernels disagree for a
    /// moment) is still forwarded, and the hop limit ends any loop.
    ///
    /// [`Targets::All`] expands to every kernel reachable now: expand it
    /// once, at the sender, and forward the kernel lists the plan gives.
    pub fn plan(&self, targets: Targets<'_>, arrived_on: Option<LinkId>, hops: u32) -> RoutePlan {
        let limit = self.config.hop_limit;
        let over = hops >= limit;
        let mut plan = RoutePlan::default();
        let mut groups: BTreeMap<LinkId, Vec<Destination>> = BTreeMap::new();
        match targets {
            Targets::Names(names) => {
                let mut seen: HashSet<&KernelId> = HashSet::new();
                for name in names {
                    match self.paths.names.get(name.as_str()) {
                        Some(Owner::One(kernel_id)) if *kernel_id == self.config.kernel_id => {
                            plan.local = true
                        }
                        Some(Owner::One(kernel_id)) => {
                            if !seen.insert(kernel_id) {
                                continue;
                            }
                            if over {
                                plan.unreachable.push(Unreachable {
                                    name: name.clone(),
                                    reason: UnreachableReason::HopLimit { limit },
                                });
                                continue;
                            }
                            let Some(reached) = self.paths.reach.get(kernel_id) else {
                                plan.unreachable.push(self.unreachable(name, None));
                                continue;
                            };
                            let link = reached.reach.next_hop();
                            groups.entry(link).or_default().push(Destination {
                                kernel_id: kernel_id.clone(),
                                requested: name.clone(),
                            });
                        }
                        other => plan.unreachable.push(self.unreachable(name, other)),
                    }
                }
            }
            Targets::All { include_local } => {
                plan.local = include_local;
                if over && !self.paths.reach.is_empty() {
                    plan.unreachable.push(Unreachable {
                        name: "*".to_owned(),
                        reason: UnreachableReason::HopLimit { limit },
                    });
                } else {
                    for (kernel_id, reached) in &self.paths.reach {
                        groups
                            .entry(reached.reach.next_hop())
                            .or_default()
                            .push(Destination {
                                kernel_id: kernel_id.clone(),
                                requested: kernel_id.to_string(),
                            });
                    }
                    for kernels in groups.values_mut() {
                        kernels.sort_by(|a, b| a.kernel_id.cmp(&b.kernel_id));
                    }
                }
            }
        }
        if let Some(arrived) = arrived_on {
            if groups.contains_key(&arrived) {
                log::debug!("a message from {arrived} goes back on it (tables disagree for now)");
            }
        }
        plan.forward = groups
            .into_iter()
            .map(|(link, kernels)| Forward { link, kernels })
            .collect();
        plan
    }

    /// A reachable kernel as monitors see it (its names, how it is
    /// reached); `None` when it cannot be reached now.
    pub fn reachable(&self, kernel_id: &str) -> Option<crate::output::KernelInfo> {
        let (id, reached) = self.paths.reach.get_key_value(kernel_id)?;
        Some(reached.info(id))
    }

    /// Every kernel known: this one, the reachable ones, and those whose
    /// record is held but that cannot be reached now. Sorted by ID.
    pub fn kernels(&self) -> Vec<KernelEntry> {
        let mut entries: BTreeMap<KernelId, KernelEntry> = BTreeMap::new();
        entries.insert(
            self.config.kernel_id.clone(),
            KernelEntry {
                kernel_id: self.config.kernel_id.clone(),
                names: self.config.names.clone(),
                incarnation: Some(self.config.incarnation),
                seq: Some(self.own.seq),
                role: PeerRole::Router,
                local: true,
                reach: None,
            },
        );
        for (kernel_id, stored) in &self.records {
            entries.insert(
                kernel_id.clone(),
                KernelEntry {
                    kernel_id: kernel_id.clone(),
                    names: stored.record.names.clone(),
                    incarnation: Some(stored.record.incarnation),
                    seq: Some(stored.record.seq),
                    role: PeerRole::Router,
                    local: false,
                    reach: None,
                },
            );
        }
        for (kernel_id, reached) in &self.paths.reach {
            let entry = entries
                .entry(kernel_id.clone())
                .or_insert_with(|| KernelEntry {
                    kernel_id: kernel_id.clone(),
                    names: reached.names.clone(),
                    incarnation: reached.incarnation,
                    seq: None,
                    role: reached.role,
                    local: false,
                    reach: None,
                });
            entry.reach = Some(reached.reach);
        }
        entries.into_values().collect()
    }

    /// This kernel's links, by link ID.
    pub fn links(&self) -> Vec<LinkEntry> {
        self.links
            .iter()
            .map(|(&link, state)| state.entry(link))
            .collect()
    }

    /// The route to each reachable kernel, sorted by kernel ID.
    pub fn routes(&self) -> Vec<RouteEntry> {
        let mut routes: Vec<RouteEntry> = self
            .paths
            .reach
            .iter()
            .map(|(kernel_id, reached)| route_entry(kernel_id, reached))
            .collect();
        routes.sort_by(|a, b| a.kernel_id.cmp(&b.kernel_id));
        routes
    }

    /// The counters.
    pub fn stats(&self) -> RouterStats {
        self.stats
    }

    /// This kernel's newest record, as it floods it.
    pub fn own_record(&self) -> &LinkStateRecord {
        &self.own
    }

    // ---- inputs ----

    fn control(
        &mut self,
        link: LinkId,
        message: ControlMessage,
        now: Instant,
    ) -> Result<(), RouterError> {
        let config = &self.config;
        let state = self
            .links
            .get_mut(&link)
            .ok_or(RouterError::UnknownLink(link))?;
        if !state.is_router() {
            return Err(RouterError::NotARouter(link));
        }
        if state.closing {
            return Ok(());
        }
        state.received += 1;
        self.stats.control_received += 1;
        state.last_heard = now;
        if !state.admit(1 + message.record_count(), &config.flood_limit, now) {
            return Err(RouterError::Flood(link));
        }
        message.check_limits(config)?;
        match message {
            ControlMessage::Hello(hello) => self.hello(link, hello, now),
            ControlMessage::Records(records) => {
                if !state.usable {
                    return Err(RouterError::NoHello(link));
                }
                self.records(link, records, now)
            }
            ControlMessage::Probe { nonce } => {
                self.outputs.push_back(RouterOutput::Transmit {
                    link,
                    message: ControlMessage::Echo { nonce },
                });
                Ok(())
            }
            ControlMessage::Echo { nonce } => {
                match state.probe {
                    Some((sent_nonce, sent)) if sent_nonce == nonce => {
                        state.probe = None;
                        let rtt = now.saturating_duration_since(sent);
                        if state.sample(rtt, &config.weights) {
                            log::debug!(
                                "{link}: weight now {} (srtt {:?})",
                                state.weight,
                                state.rtt.smoothed
                            );
                            self.own_dirty = true;
                            self.graph_dirty = true;
                        }
                    }
                    _ => log::debug!("{link}: echo {nonce} answers no outstanding probe"),
                }
                Ok(())
            }
            ControlMessage::Refuse(refusal) => {
                let peer = state.peer.kernel_id.clone();
                log::warn!("{peer} refused this kernel: {}", refusal.reason);
                let mut kernels = vec![peer.clone(), self.config.kernel_id.clone()];
                kernels.sort();
                self.outputs.push_back(RouterOutput::NameClash(NameClash {
                    name: refusal.name.clone(),
                    kernels,
                    refused_link: Some(link),
                    involves_us: true,
                }));
                self.outputs.push_back(RouterOutput::Error {
                    link: Some(link),
                    error: RouterError::Refused {
                        peer,
                        reason: refusal.reason.clone(),
                    },
                });
                self.close(
                    link,
                    CloseReason::RefusedByPeer {
                        reason: refusal.reason,
                    },
                );
                Ok(())
            }
        }
    }

    fn hello(&mut self, link: LinkId, hello: Hello, now: Instant) -> Result<(), RouterError> {
        let state = self
            .links
            .get_mut(&link)
            .ok_or(RouterError::UnknownLink(link))?;
        if hello.kernel_id != state.peer.kernel_id {
            let error = RouterError::PeerMismatch {
                link,
                expected: state.peer.kernel_id.clone(),
                said: hello.kernel_id,
            };
            self.close(link, CloseReason::PeerMismatch);
            return Err(error);
        }
        if state.usable {
            log::debug!("{link}: a second hello, ignored");
            return Ok(());
        }
        state.peer.names = hello.names.clone();
        let kernel_id = hello.kernel_id.clone();
        // A kernel never goes back to an incarnation it left: one that was
        // replaced and says hello again is a second live kernel with this ID.
        let came_back = self
            .retired
            .get(&kernel_id)
            .is_some_and(|r| r.iter().any(|(i, _)| *i == hello.incarnation));
        if came_back {
            self.refuse(link, kernel_id.to_string(), vec![kernel_id.clone()]);
            return Ok(());
        }
        // A restart: the same kernel on another link with another incarnation.
        let replaced: Vec<(LinkId, u64)> = self
            .links
            .iter()
            .filter(|&(&other, s)| other != link && !s.closing && s.peer.kernel_id == kernel_id)
            .filter_map(|(&other, s)| Some((other, s.incarnation?)))
            .filter(|&(_, incarnation)| incarnation != hello.incarnation)
            .collect();
        for (old, incarnation) in replaced {
            log::info!("{kernel_id} restarted: {link} replaces {old}");
            self.close(old, CloseReason::Replaced { new_link: link });
            let seq = self
                .records
                .get(&kernel_id)
                .map_or(0, |held| held.record.seq);
            self.retire(kernel_id.clone(), incarnation, seq);
        }
        if let Some(closed) = self.resolve_duplicate(link, &kernel_id) {
            if closed == link {
                return Ok(());
            }
        }
        if self.check_names(link, &kernel_id, &hello.names) {
            return Ok(());
        }
        // The record held of its former incarnation is over.
        let former = self
            .records
            .get(&kernel_id)
            .filter(|held| held.record.incarnation != hello.incarnation)
            .map(|held| (held.record.incarnation, held.record.seq));
        if let Some((incarnation, seq)) = former {
            self.records.remove(&kernel_id);
            self.retire(kernel_id.clone(), incarnation, seq);
            self.update_aging();
        }
        let state = self
            .links
            .get_mut(&link)
            .ok_or(RouterError::UnknownLink(link))?;
        state.usable = true;
        state.incarnation = Some(hello.incarnation);
        state.sync = Some(hello.summary);
        if let (None, Some(weight)) = (state.peer.fixed_weight, hello.weight) {
            // The peer's configuration fixes this link's weight: so does
            // this end, whatever it measures.
            log::debug!("{link}: weight {weight}, fixed by the peer");
            state.set_fixed_weight(Some(weight), &self.config.weights);
        }
        self.own_dirty = true;
        self.graph_dirty = true;
        self.send_probe(link, now);
        Ok(())
    }

    fn records(
        &mut self,
        link: LinkId,
        records: Vec<LinkStateRecord>,
        now: Instant,
    ) -> Result<(), RouterError> {
        let mut first_error = None;
        for record in records {
            if let Err(error) = self.record(link, record, now) {
                log::debug!("{link}: record dropped: {error}");
                first_error.get_or_insert(error);
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    fn record(
        &mut self,
        link: LinkId,
        record: LinkStateRecord,
        now: Instant,
    ) -> Result<(), RouterError> {
        record.check(&self.config)?;
        let state = self
            .links
            .get_mut(&link)
            .ok_or(RouterError::UnknownLink(link))?;
        if record.origin == state.peer.kernel_id {
            if let Some((incarnation, seq)) = state.peer_seq {
                if incarnation == record.incarnation && record.seq < seq {
                    return Err(RouterError::Replay {
                        origin: record.origin,
                        seq: record.seq,
                        have: seq,
                    });
                }
            }
            state.peer_seq = Some((record.incarnation, record.seq));
        }
        if record.origin == self.config.kernel_id {
            return self.own_echo(link, record);
        }
        let verdict = match self.records.get(&record.origin) {
            None => Verdict::New,
            Some(held) if held.record.incarnation == record.incarnation => {
                if record.seq > held.record.seq {
                    Verdict::Newer
                } else {
                    Verdict::Stale
                }
            }
            Some(held) if record.incarnation < held.record.incarnation => Verdict::Stale,
            Some(_) => self.other_incarnation(&record),
        };
        match verdict {
            Verdict::Stale => {
                self.stats.records_stale += 1;
                if let Some(state) = self.links.get_mut(&link) {
                    state.stale += 1;
                }
                return Ok(());
            }
            Verdict::New => self.make_room(&record.origin)?,
            Verdict::Newer => {}
            Verdict::Restart => {
                if let Some(old) = self.records.remove(&record.origin) {
                    self.retire(
                        record.origin.clone(),
                        old.record.incarnation,
                        old.record.seq,
                    );
                }
            }
        }
        self.stats.records_accepted += 1;
        for (&other, state) in &mut self.links {
            if other != link && state.usable && state.is_router() {
                state.enqueue(&record);
            }
        }
        self.records.insert(
            record.origin.clone(),
            Stored {
                record,
                received: now,
            },
        );
        self.update_aging();
        self.graph_dirty = true;
        Ok(())
    }

    /// A record about this kernel came back.
    fn own_echo(&mut self, link: LinkId, record: LinkStateRecord) -> Result<(), RouterError> {
        if record.incarnation == self.config.incarnation {
            if record.seq > self.own.seq {
                // Our own record from before a lost state: outbid it.
                self.own.seq = record.seq;
                self.own_dirty = true;
            } else if let Some(state) = self.links.get_mut(&link) {
                state.stale += 1;
                self.stats.records_stale += 1;
            }
            return Ok(());
        }
        // Another incarnation of this kernel's ID: our former self, whose
        // records fade, unless it keeps changing (another live kernel with
        // our ID).
        let retired = self.retired.entry(record.origin.clone()).or_default();
        match retired.iter_mut().find(|(i, _)| *i == record.incarnation) {
            Some(entry) if record.seq > entry.1 => {
                entry.1 = record.seq;
                if self.incarnation_clashes.insert(record.origin.clone()) {
                    log::warn!("another live kernel has this kernel's ID {}", record.origin);
                    self.outputs.push_back(RouterOutput::NameClash(NameClash {
                        name: record.origin.to_string(),
                        kernels: vec![record.origin.clone()],
                        refused_link: None,
                        involves_us: true,
                    }));
                }
            }
            Some(_) => {}
            None => self.retire(record.origin.clone(), record.incarnation, record.seq),
        }
        Ok(())
    }

    /// A record of another incarnation than the one held: a restart, or a
    /// late copy of a replaced one.
    fn other_incarnation(&self, record: &LinkStateRecord) -> Verdict {
        let retired = self
            .retired
            .get(&record.origin)
            .is_some_and(|r| r.iter().any(|(i, _)| *i == record.incarnation));
        if retired {
            // A late copy of a replaced incarnation's record.
            Verdict::Stale
        } else {
            Verdict::Restart
        }
    }

    /// Remember an incarnation of `origin` as replaced.
    fn retire(&mut self, origin: KernelId, incarnation: u64, seq: u64) {
        if self.retired.len() >= self.config.max_kernels && !self.retired.contains_key(&origin) {
            self.retired.clear();
        }
        let retired = self.retired.entry(origin).or_default();
        if retired.iter().all(|(i, _)| *i != incarnation) {
            retired.push((incarnation, seq));
            if retired.len() > RETIRED_PER_KERNEL {
                retired.remove(0);
            }
        }
    }

    /// Make room for a record of a new kernel, evicting the oldest
    /// unreachable record if the table is full.
    fn make_room(&mut self, origin: &KernelId) -> Result<(), RouterError> {
        let max = self.config.max_kernels;
        if self.records.len() + 1 < max {
            return Ok(());
        }
        self.settle();
        let victim = self
            .records
            .iter()
            .filter(|(id, _)| !self.paths.reach.contains_key(id.as_str()))
            .min_by_key(|(_, stored)| stored.received)
            .map(|(id, _)| id.clone());
        match victim {
            Some(victim) => {
                log::debug!("table full: {victim} (unreachable) makes room for {origin}");
                self.records.remove(&victim);
                Ok(())
            }
            None => Err(RouterError::TooManyKernels { max }),
        }
    }

    // ---- outputs ----

    /// Recompute the paths if an input changed the graph, and queue the
    /// changes for monitors. Done lazily, so a batch of inputs costs one
    /// computation.
    fn settle(&mut self) {
        if self.graph_dirty {
            self.recompute();
        }
    }

    fn recompute(&mut self) {
        self.graph_dirty = false;
        self.stats.recomputes += 1;
        let paths = paths::compute(
            &self.config.kernel_id,
            self.config.incarnation,
            self.links.iter().map(|(&l, s)| (l, s)),
            self.records.values().map(|s| &s.record),
        );
        let mut old = std::mem::replace(&mut self.paths, paths);
        // The same kernels with the same names: the name index stands.
        let same_names = old.reach.len() == self.paths.reach.len()
            && self
                .paths
                .reach
                .iter()
                .all(|(id, now)| old.reach.get(id).is_some_and(|was| was.names == now.names));
        let same_names = same_names && !std::mem::take(&mut self.own_names_changed);
        self.paths.names = if same_names && !old.names.is_empty() {
            std::mem::take(&mut old.names)
        } else {
            paths::index_names(
                &self.config.kernel_id,
                &self.config.names,
                &self.paths.reach,
            )
        };
        let mut changes: Vec<(&KernelId, RouterOutput)> = Vec::new();
        for (kernel_id, before) in &old.reach {
            match self.paths.reach.get(kernel_id) {
                None => changes.push((kernel_id, RouterOutput::KernelDown(before.info(kernel_id)))),
                Some(now) if now.incarnation != before.incarnation => {
                    changes.push((kernel_id, RouterOutput::KernelDown(before.info(kernel_id))));
                    changes.push((kernel_id, RouterOutput::KernelUp(now.info(kernel_id))));
                }
                Some(now) if moved(before, now) => {
                    changes.push((kernel_id, RouterOutput::KernelMoved(now.info(kernel_id))));
                }
                Some(_) => {}
            }
        }
        for (kernel_id, now) in &self.paths.reach {
            if !old.reach.contains_key(kernel_id) {
                changes.push((kernel_id, RouterOutput::KernelUp(now.info(kernel_id))));
            }
        }
        // Routes that are new or lead another way, after the kernels'
        // own news (a sort that keeps each kernel's order).
        for (kernel_id, now) in &self.paths.reach {
            let same = old.reach.get(kernel_id).is_some_and(|before| {
                before.reach.next_hop() == now.reach.next_hop()
                    && before.via == now.via
                    && before.reach.hops() == now.reach.hops()
            });
            if !same {
                changes.push((
                    kernel_id,
                    RouterOutput::RouteChanged(route_entry(kernel_id, now)),
                ));
            }
        }
        changes.sort_by(|a, b| a.0.cmp(b.0));
        let changes: Vec<RouterOutput> = changes.into_iter().map(|(_, output)| output).collect();
        self.outputs.extend(changes);
        // Clashes found in the mesh's records, reported once each.
        let mut clashes: Vec<(&String, &Vec<KernelId>)> = self
            .paths
            .names
            .iter()
            .filter_map(|(name, owner)| match owner {
                Owner::Many(kernels) => Some((name, kernels)),
                Owner::One(_) => None,
            })
            .collect();
        clashes.sort();
        self.reported_clashes
            .retain(|name, _| matches!(self.paths.names.get(name), Some(Owner::Many(_))));
        for (name, kernels) in clashes {
            if self.reported_clashes.get(name) == Some(kernels) {
                continue;
            }
            log::warn!("name {name:?} is claimed by {kernels:?}");
            self.reported_clashes.insert(name.clone(), kernels.clone());
            self.outputs.push_back(RouterOutput::NameClash(NameClash {
                name: name.clone(),
                kernels: kernels.clone(),
                refused_link: None,
                involves_us: kernels.contains(&self.config.kernel_id),
            }));
        }
    }

    /// Build and flood a new record of this kernel.
    fn originate(&mut self) {
        self.own_dirty = false;
        let mut links: BTreeMap<&KernelId, (u64, u32)> = BTreeMap::new();
        let mut leaves: BTreeMap<&KernelId, (&Vec<String>, u32)> = BTreeMap::new();
        for state in self.links.values().filter(|s| s.usable) {
            match state.peer.role {
                PeerRole::Router => {
                    let incarnation = state.incarnation.unwrap_or_default();
                    links.insert(&state.peer.kernel_id, (incarnation, state.weight));
                }
                PeerRole::Leaf => {
                    leaves.insert(&state.peer.kernel_id, (&state.peer.names, state.weight));
                }
                PeerRole::Hidden => {}
            }
        }
        let max = self.config.max_links_per_kernel;
        let record = LinkStateRecord {
            origin: self.config.kernel_id.clone(),
            incarnation: self.config.incarnation,
            seq: self.own.seq + 1,
            names: self.config.names.clone(),
            links: links
                .into_iter()
                .take(max)
                .map(|(peer, (incarnation, weight))| AdvertisedLink {
                    peer: peer.clone(),
                    incarnation,
                    weight,
                })
                .collect(),
            leaves: leaves
                .into_iter()
                .take(max)
                .map(|(kernel_id, (names, weight))| AdvertisedLeaf {
                    kernel_id: kernel_id.clone(),
                    names: names.clone(),
                    weight,
                })
                .collect(),
        };
        self.stats.originated += 1;
        for state in self.links.values_mut() {
            if state.usable && state.is_router() {
                state.enqueue(&record);
            }
        }
        self.own = record;
    }

    /// Queue, for each link whose peer's hello arrived, the records its
    /// summary lacks.
    fn queue_syncs(&mut self) {
        for state in self.links.values_mut() {
            let Some(summary) = state.sync.take() else {
                continue;
            };
            if !state.usable {
                continue;
            }
            let held: HashMap<&str, (u64, u64)> = summary
                .iter()
                .map(|s| (s.origin.as_str(), (s.incarnation, s.seq)))
                .collect();
            let newer = |record: &LinkStateRecord| match held.get(record.origin.as_str()) {
                Some(&(incarnation, seq)) => incarnation != record.incarnation || seq < record.seq,
                None => true,
            };
            if newer(&self.own) {
                state.enqueue(&self.own);
            }
            for stored in self.records.values() {
                if stored.record.origin != state.peer.kernel_id && newer(&stored.record) {
                    state.enqueue(&stored.record);
                }
            }
        }
    }

    fn count(&mut self, output: RouterOutput) -> RouterOutput {
        if let RouterOutput::Transmit { link, message } = &output {
            self.stats.control_sent += 1;
            self.stats.records_sent += message.record_count() as u64;
            if let Some(state) = self.links.get_mut(link) {
                state.sent += 1;
            }
        }
        output
    }

    fn send_hello(&mut self, link: LinkId) {
        let weight = self.links.get(&link).and_then(|s| s.peer.fixed_weight);
        let mut summary: Vec<_> = self.records.values().map(|s| s.record.summary()).collect();
        summary.sort_by(|a, b| a.origin.cmp(&b.origin));
        summary.push(self.own.summary());
        summary.truncate(self.config.max_kernels);
        self.outputs.push_back(RouterOutput::Transmit {
            link,
            message: ControlMessage::Hello(Hello {
                kernel_id: self.config.kernel_id.clone(),
                incarnation: self.config.incarnation,
                names: self.config.names.clone(),
                summary,
                weight,
            }),
        });
    }

    fn send_probe(&mut self, link: LinkId, now: Instant) {
        let Some(state) = self.links.get_mut(&link) else {
            return;
        };
        self.nonce = self.nonce.wrapping_add(1);
        let nonce = self.nonce ^ self.config.incarnation;
        state.probe = Some((nonce, now));
        state.next_probe = Some(now + self.config.probe_interval);
        self.outputs.push_back(RouterOutput::Transmit {
            link,
            message: ControlMessage::Probe { nonce },
        });
    }

    /// Apply the duplicate-link rule to a new link; returns the link closed.
    fn resolve_duplicate(&mut self, new: LinkId, kernel_id: &KernelId) -> Option<LinkId> {
        let old = self
            .links
            .iter()
            .find(|&(&l, s)| {
                l != new
                    && !s.closing
                    && s.peer.kernel_id == *kernel_id
                    && (s.usable || !s.is_router())
            })
            .map(|(&l, s)| (l, s.peer.direction, s.opened))?;
        let new_direction = self.links[&new].peer.direction;
        let keep_new = if old.1 == new_direction {
            // Two links dialed by the same side: the older one is half-open
            // or about to go; keep the one that came up last.
            self.links[&new].opened > old.2
        } else {
            // Dialed by each side at once: keep the one the smaller ID dialed.
            let we_are_smaller = self.config.kernel_id < *kernel_id;
            (new_direction == crate::Direction::Outbound) == we_are_smaller
        };
        let (closed, kept) = if keep_new { (old.0, new) } else { (new, old.0) };
        log::info!("duplicate links to {kernel_id}: keeping {kept}, closing {closed}");
        self.close(closed, CloseReason::DuplicateLink { kept });
        Some(closed)
    }

    /// Refuse a link whose peer claims a name another live kernel has;
    /// returns whether it was refused.
    fn check_names(&mut self, link: LinkId, kernel_id: &KernelId, names: &[String]) -> bool {
        self.settle();
        for name in std::iter::once(kernel_id.as_str()).chain(names.iter().map(String::as_str)) {
            let others: Vec<KernelId> = match self.paths.names.get(name) {
                Some(Owner::One(owner)) => vec![owner.clone()],
                Some(Owner::Many(owners)) => owners.clone(),
                None => Vec::new(),
            };
            let mut others: Vec<KernelId> = others.into_iter().filter(|o| o != kernel_id).collect();
            if !others.is_empty() {
                others.push(kernel_id.clone());
                others.sort();
                self.refuse(link, name.to_owned(), others);
                return true;
            }
        }
        false
    }

    fn refuse(&mut self, link: LinkId, name: String, mut kernels: Vec<KernelId>) {
        kernels.dedup();
        let reason =
            format!("the name {name:?} is taken by another kernel of the mesh ({kernels:?})");
        log::warn!("{link} refused: {reason}");
        if self.links.get(&link).is_some_and(LinkState::is_router) {
            self.outputs.push_back(RouterOutput::Transmit {
                link,
                message: ControlMessage::Refuse(Refusal {
                    name: name.clone(),
                    reason,
                }),
            });
        }
        self.outputs.push_back(RouterOutput::NameClash(NameClash {
            involves_us: kernels.contains(&self.config.kernel_id),
            name: name.clone(),
            kernels,
            refused_link: Some(link),
        }));
        self.close(link, CloseReason::NameClash { name });
    }

    /// Stop using a link and ask the driver to close it.
    fn close(&mut self, link: LinkId, reason: CloseReason) {
        let Some(state) = self.links.get_mut(&link) else {
            return;
        };
        if state.closing {
            return;
        }
        if state.usable {
            self.own_dirty |= state.peer.role != PeerRole::Hidden;
            self.graph_dirty = true;
        }
        state.closing = true;
        state.usable = false;
        state.outbox.clear();
        state.sync = None;
        self.outputs
            .push_back(RouterOutput::CloseLink { link, reason });
    }

    fn update_aging(&mut self) {
        self.next_aging = self
            .records
            .values()
            .map(|stored| stored.received + self.config.record_max_age)
            .min();
    }

    fn unreachable(&self, name: &str, owner: Option<&Owner>) -> Unreachable {
        let reason = match owner {
            Some(Owner::Many(kernels)) => UnreachableReason::Ambiguous {
                kernels: kernels.clone(),
            },
            _ => match self
                .records
                .values()
                .find(|s| s.record.origin == name || s.record.names.iter().any(|n| n == name))
            {
                Some(stored) => UnreachableReason::NoPath {
                    kernel_id: stored.record.origin.clone(),
                },
                None => UnreachableReason::Unknown,
            },
        };
        Unreachable {
            name: name.to_owned(),
            reason,
        }
    }
}

/// What a record of a known kernel is to the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    New,
    Newer,
    Stale,
    Restart,
}

/// Whether a kernel went from direct to routed or back.
/// The route to `kernel_id` as [`Router::routes`] lists it.
fn route_entry(kernel_id: &KernelId, reached: &Reached) -> RouteEntry {
    RouteEntry {
        kernel_id: kernel_id.clone(),
        next_hop: reached.reach.next_hop(),
        via: reached.via.clone(),
        cost: reached.reach.cost(),
        hops: reached.reach.hops(),
    }
}

fn moved(before: &Reached, now: &Reached) -> bool {
    before.info_direct() != now.info_direct()
}

impl Reached {
    fn info_direct(&self) -> bool {
        matches!(self.reach, crate::output::Reach::Direct { .. })
    }
}

#[cfg(test)]
mod tests;
