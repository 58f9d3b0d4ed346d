//! A deterministic in-memory mesh of routers with virtual time, for tests
//! and benchmarks (quinn's `Pair`, generalised to N kernels).
//!
//! A [`Sim`] holds kernels ([`NodeId`]) joined by wires ([`WireId`]) with a
//! latency each. It plays the driver for every router: carries control
//! messages (through [`ControlMessage::to_value`] and back, as a real
//! driver does) after the wire's latency, in order; closes wires the
//! routers ask to close; fires their timers; and carries application
//! messages hop by hop with [`Router::plan`], recording which kernel got
//! which message and which targets were reported unreachable. Kernels can
//! also be leaves (Perl kernels): they never route, and the simulation
//! fails loudly if one is ever sent a control message.
//!
//! # Examples
//!
//! ```
//! use std::time::Duration;
//! use ikc_router::sim::Sim;
//! use ikc_router::Targets;
//!
//! let mut sim = Sim::new();
//! let ring: Vec<_> = (0..5).map(|i| sim.add_kernel(&format!("k{i}"))).collect();
//! for i in 0..5 {
//!     sim.connect(ring[i], ring[(i + 1) % 5], Duration::from_millis(1));
//! }
//! sim.run_until_quiet();
//! sim.check_converged()?;
//!
//! // `*` from k0 reaches each kernel exactly once, k0 included.
//! let message = sim.send(ring[0], Targets::All { include_local: true });
//! sim.run_until_quiet();
//! assert_eq!(sim.receivers(message).len(), 5);
//! # Ok::<(), String>(())
//! ```

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap, VecDeque};
use std::time::{Duration, Instant};

use ikc_freezer::Value;

use crate::config::{Direction, Peer, PeerRole, RouterConfig};
use crate::control::ControlMessage;
use crate::error::RouterError;
use crate::id::{KernelId, LinkId};
use crate::output::RouterOutput;
use crate::plan::{Route, Targets, UnreachableReason};
use crate::router::Router;

/// A kernel of the simulation (an index, in the order added).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NodeId(pub usize);

/// A wire (one connection) of the simulation, in the order connected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct WireId(pub usize);

/// An application message sent with [`Sim::send`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MessageId(pub u64);

/// A target reported unreachable somewhere on a message's way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Undeliverable {
    /// The message.
    pub message: MessageId,
    /// The kernel that reported it.
    pub at: NodeId,
    /// The target's name.
    pub name: String,
    /// Why.
    pub reason: UnreachableReason,
}

/// Counters of the whole simulation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct SimStats {
    /// Control messages carried.
    pub control_messages: u64,
    /// Records inside them.
    pub records: u64,
    /// Application message copies carried over wires.
    pub app_copies: u64,
    /// Application message copies lost on a wire that went down under them.
    pub app_lost: u64,
    /// Errors routers returned for control messages.
    pub control_errors: u64,
}

/// A kernel: a router, or a leaf that does not speak routing.
#[derive(Debug)]
struct Node {
    config: RouterConfig,
    router: Option<Router>,
    leaf: bool,
    notes: Vec<(Duration, RouterOutput)>,
    errors: Vec<RouterError>,
}

#[derive(Debug)]
struct Wire {
    ends: [(NodeId, LinkId); 2],
    latency: Duration,
    /// Neither end closed it.
    up: bool,
    /// Whether each end still reads (an end that closed, or saw the close,
    /// does not).
    open: [bool; 2],
    /// The last arrival time scheduled in each direction (FIFO order).
    last: [Instant; 2],
}

#[derive(Debug)]
enum Event {
    Control {
        wire: WireId,
        to: usize,
        value: Value,
    },
    App {
        wire: WireId,
        to: usize,
        message: MessageId,
        kernels: Vec<String>,
        hops: u32,
    },
    Down {
        wire: WireId,
        to: usize,
    },
}

#[derive(Debug)]
struct Pending {
    at: Instant,
    order: u64,
    event: Event,
}

impl PartialEq for Pending {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.order) == (other.at, other.order)
    }
}
impl Eq for Pending {}
impl PartialOrd for Pending {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Pending {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.at, self.order).cmp(&(other.at, other.order))
    }
}

/// The simulated mesh.
#[derive(Debug)]
pub struct Sim {
    start: Instant,
    now: Instant,
    nodes: Vec<Node>,
    wires: Vec<Wire>,
    by_link: HashMap<(NodeId, LinkId), WireId>,
    queue: BinaryHeap<Reverse<Pending>>,
    order: u64,
    next_link: u64,
    next_message: u64,
    next_incarnation: u64,
    delivered: BTreeMap<MessageId, Vec<NodeId>>,
    undeliverable: Vec<Undeliverable>,
    lost: BTreeMap<MessageId, Vec<String>>,
    stats: SimStats,
    tweak: Option<fn(&mut RouterConfig)>,
}

impl Default for Sim {
    fn default() -> Self {
        Self::new()
    }
}

impl Sim {
    /// An empty mesh at virtual time zero.
    pub fn new() -> Self {
        let start = Instant::now();
        Self {
            start,
            now: start,
            nodes: Vec::new(),
            wires: Vec::new(),
            by_link: HashMap::new(),
            queue: BinaryHeap::new(),
            order: 0,
            next_link: 1,
            next_message: 1,
            next_incarnation: 1,
            delivered: BTreeMap::new(),
            lost: BTreeMap::new(),
            undeliverable: Vec::new(),
            stats: SimStats::default(),
            tweak: None,
        }
    }

    /// Apply `tweak` to the configuration of every kernel added after this
    /// call (and of their restarts).
    pub fn with_config(mut self, tweak: fn(&mut RouterConfig)) -> Self {
        self.tweak = Some(tweak);
        self
    }

    /// Add a routing kernel with this ID and no other names.
    pub fn add_kernel(&mut self, kernel_id: &str) -> NodeId {
        self.add_kernel_named(kernel_id, &[])
    }

    /// Add a routing kernel with this ID and these names.
    pub fn add_kernel_named(&mut self, kernel_id: &str, names: &[&str]) -> NodeId {
        let mut config = RouterConfig::new(kernel_id);
        config.names = names.iter().map(|n| (*n).to_owned()).collect();
        self.add_kernel_with(config)
    }

    /// Add a routing kernel with this configuration (its incarnation is
    /// replaced by a deterministic one).
    pub fn add_kernel_with(&mut self, mut config: RouterConfig) -> NodeId {
        if let Some(tweak) = self.tweak {
            tweak(&mut config);
        }
        config.incarnation = self.incarnation();
        let router = Router::new(config.clone(), self.now).expect("a valid configuration");
        self.nodes.push(Node {
            config,
            router: Some(router),
            leaf: false,
            notes: Vec::new(),
            errors: Vec::new(),
        });
        let id = NodeId(self.nodes.len() - 1);
        self.drain(id);
        id
    }

    /// Add a kernel that does not speak routing (a Perl kernel).
    pub fn add_leaf(&mut self, kernel_id: &str, names: &[&str]) -> NodeId {
        let mut config = RouterConfig::new(kernel_id);
        config.names = names.iter().map(|n| (*n).to_owned()).collect();
        self.nodes.push(Node {
            config,
            router: None,
            leaf: true,
            notes: Vec::new(),
            errors: Vec::new(),
        });
        NodeId(self.nodes.len() - 1)
    }

    /// `a` dials `b`; both handshakes finish now. Leaves are announced to
    /// their routing neighbour as [`PeerRole::Leaf`].
    ///
    /// # Panics
    ///
    /// If both ends are leaves, or an end is stopped.
    pub fn connect(&mut self, a: NodeId, b: NodeId, latency: Duration) -> WireId {
        assert!(
            !(self.nodes[a.0].leaf && self.nodes[b.0].leaf),
            "two leaves cannot meet in a mesh"
        );
        let wire = WireId(self.wires.len());
        let link_a = LinkId(self.next_link);
        let link_b = LinkId(self.next_link + 1);
        self.next_link += 2;
        self.wires.push(Wire {
            ends: [(a, link_a), (b, link_b)],
            latency,
            up: true,
            open: [true; 2],
            last: [self.now; 2],
        });
        self.by_link.insert((a, link_a), wire);
        self.by_link.insert((b, link_b), wire);
        for (me, link, other, direction) in [
            (a, link_a, b, Direction::Outbound),
            (b, link_b, a, Direction::Inbound),
        ] {
            let peer = self.peer_of(other, direction);
            let now = self.now;
            if let Some(router) = self.nodes[me.0].router.as_mut() {
                router.link_up(link, peer, now).expect("a fresh link");
            }
        }
        self.drain(a);
        self.drain(b);
        wire
    }

    /// Cut a wire now (both ends see it go at once).
    pub fn disconnect(&mut self, wire: WireId) {
        self.wires[wire.0].up = false;
        for side in 0..2 {
            self.end_down(wire, side);
        }
    }

    /// Change a wire's latency (for messages sent from now on).
    pub fn set_latency(&mut self, wire: WireId, latency: Duration) {
        self.wires[wire.0].latency = latency;
    }

    /// Stop a kernel (its wires go down at its neighbours after their
    /// latency, as TCP would tell them).
    pub fn stop(&mut self, node: NodeId) {
        for w in 0..self.wires.len() {
            for side in 0..2 {
                if self.wires[w].ends[side].0 == node && self.wires[w].open[side] {
                    self.close_end(WireId(w), side);
                }
            }
        }
        self.nodes[node.0].router = None;
    }

    /// Start a stopped kernel again under the same ID and names with a new
    /// incarnation (a restart), or under a new ID if `new_kernel_id` is
    /// given (a restarted IKC kernel gets a new ID but keeps its names).
    pub fn restart(&mut self, node: NodeId, new_kernel_id: Option<&str>) {
        if self.nodes[node.0].router.is_some() {
            self.stop(node);
        }
        let mut config = self.nodes[node.0].config.clone();
        if let Some(id) = new_kernel_id {
            config.kernel_id = KernelId::new(id);
        }
        config.incarnation = self.incarnation();
        self.nodes[node.0].router = Some(Router::new(config.clone(), self.now).expect("valid"));
        self.nodes[node.0].config = config;
        self.drain(node);
    }

    /// Send an application message from `from` to `targets`; returns its ID
    /// (see [`receivers`](Self::receivers) and [`undeliverable`](Self::undeliverable)).
    pub fn send(&mut self, from: NodeId, targets: Targets<'_>) -> MessageId {
        let message = MessageId(self.next_message);
        self.next_message += 1;
        self.route_app(from, message, targets, None, 0);
        message
    }

    /// Send to kernels by name.
    pub fn send_to(&mut self, from: NodeId, names: &[&str]) -> MessageId {
        let names: Vec<String> = names.iter().map(|n| (*n).to_owned()).collect();
        self.send(from, Targets::Names(&names))
    }

    /// Process everything until no message is in flight (timers do not
    /// fire); returns the virtual time it took.
    pub fn run_until_quiet(&mut self) -> Duration {
        let began = self.now;
        while let Some(at) = self.queue.peek().map(|Reverse(p)| p.at) {
            self.run_instant(at);
        }
        self.now - began
    }

    /// Handle every event due at `at`, then let each kernel touched act,
    /// as an event loop handles all ready input before it writes.
    fn run_instant(&mut self, at: Instant) {
        self.now = self.now.max(at);
        let mut touched = std::collections::BTreeSet::new();
        while self.queue.peek().is_some_and(|Reverse(p)| p.at <= at) {
            let Reverse(pending) = self.queue.pop().expect("peeked");
            if let Some(node) = self.handle(pending.event) {
                touched.insert(node);
            }
        }
        for node in touched {
            self.drain(node);
        }
    }

    /// Let `duration` of virtual time pass, firing timers and carrying
    /// messages.
    pub fn advance(&mut self, duration: Duration) {
        let end = self.now + duration;
        loop {
            let next_event = self.queue.peek().map(|Reverse(p)| p.at);
            let next_timer = self
                .nodes
                .iter()
                .enumerate()
                .filter_map(|(i, n)| Some((n.router.as_ref()?.poll_timeout()?, i)))
                .min();
            let timer_first = match (next_event, next_timer) {
                (Some(e), Some((t, _))) => t < e,
                (None, Some(_)) => true,
                (_, None) => false,
            };
            if timer_first {
                let (at, node) = next_timer.expect("checked");
                if at > end {
                    break;
                }
                self.now = self.now.max(at);
                let now = self.now;
                if let Some(router) = self.nodes[node].router.as_mut() {
                    router.handle_timeout(now);
                }
                self.drain(NodeId(node));
            } else {
                let Some(at) = next_event else { break };
                if at > end {
                    break;
                }
                self.run_instant(at);
            }
        }
        self.now = self.now.max(end);
    }

    /// Virtual time since the simulation began.
    pub fn elapsed(&self) -> Duration {
        self.now - self.start
    }

    /// The virtual clock.
    pub fn now(&self) -> Instant {
        self.now
    }

    /// A kernel's router (`None` for a leaf or a stopped kernel).
    pub fn router(&self, node: NodeId) -> Option<&Router> {
        self.nodes[node.0].router.as_ref()
    }

    /// A kernel's router, to call it directly (then call
    /// [`drain`](Self::drain)).
    pub fn router_mut(&mut self, node: NodeId) -> Option<&mut Router> {
        self.nodes[node.0].router.as_mut()
    }

    /// A kernel's current ID.
    pub fn kernel_id(&self, node: NodeId) -> &KernelId {
        &self.nodes[node.0].config.kernel_id
    }

    /// The link IDs of a wire's two ends.
    pub fn wire_links(&self, wire: WireId) -> [(NodeId, LinkId); 2] {
        self.wires[wire.0].ends
    }

    /// Whether a wire is up (neither end closed it).
    pub fn wire_up(&self, wire: WireId) -> bool {
        self.wires[wire.0].up
    }

    /// Everything but transmits the router of `node` output, with when.
    pub fn notes(&self, node: NodeId) -> &[(Duration, RouterOutput)] {
        &self.nodes[node.0].notes
    }

    /// Forget the notes of every kernel.
    pub fn clear_notes(&mut self) {
        for node in &mut self.nodes {
            node.notes.clear();
        }
    }

    /// Errors a kernel's router returned for control messages.
    pub fn errors(&self, node: NodeId) -> &[RouterError] {
        &self.nodes[node.0].errors
    }

    /// The kernels that got `message`, one entry per copy, in order.
    pub fn receivers(&self, message: MessageId) -> &[NodeId] {
        self.delivered.get(&message).map_or(&[], Vec::as_slice)
    }

    /// The target kernels of `message` whose copy was on a wire that went
    /// down under it (what TCP loses with a connection; IKC cannot report
    /// it either).
    pub fn lost(&self, message: MessageId) -> &[String] {
        self.lost.get(&message).map_or(&[], Vec::as_slice)
    }

    /// Targets reported unreachable, for every message.
    pub fn undeliverable(&self) -> &[Undeliverable] {
        &self.undeliverable
    }

    /// The counters.
    pub fn stats(&self) -> SimStats {
        self.stats
    }

    /// Reset the counters (for measuring one phase).
    pub fn reset_stats(&mut self) {
        self.stats = SimStats::default();
    }

    /// How many kernels there are (stopped ones included).
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Whether there are no kernels.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// Whether a kernel is running (leaves always are).
    pub fn is_running(&self, node: NodeId) -> bool {
        self.nodes[node.0].leaf || self.nodes[node.0].router.is_some()
    }

    /// The running kernels `node` can reach over wires that are up
    /// (itself excluded): what its router should see.
    pub fn component(&self, node: NodeId) -> Vec<NodeId> {
        let mut seen = vec![false; self.nodes.len()];
        let mut queue = VecDeque::from([node]);
        seen[node.0] = true;
        while let Some(n) = queue.pop_front() {
            // Leaves do not carry traffic onwards.
            if n != node && self.nodes[n.0].leaf {
                continue;
            }
            for wire in self.wires.iter().filter(|w| w.up) {
                let ends = wire.ends;
                for side in 0..2 {
                    if ends[side].0 == n && !seen[ends[1 - side].0.0] {
                        seen[ends[1 - side].0.0] = true;
                        queue.push_back(ends[1 - side].0);
                    }
                }
            }
        }
        seen[node.0] = false;
        (0..self.nodes.len())
            .filter(|&i| seen[i] && self.is_running(NodeId(i)))
            .map(NodeId)
            .collect()
    }

    /// Check that every running router's table matches the wires: it
    /// reaches exactly the kernels of its component, and following next
    /// hops from it reaches each of them without a loop.
    ///
    /// # Errors
    ///
    /// A description of the first disagreement.
    pub fn check_converged(&self) -> Result<(), String> {
        for (i, node) in self.nodes.iter().enumerate() {
            let Some(router) = &node.router else { continue };
            let mut expected: Vec<&str> = self
                .component(NodeId(i))
                .iter()
                .map(|n| self.kernel_id(*n).as_str())
                .collect();
            expected.sort_unstable();
            let routes = router.routes();
            let got: Vec<&str> = routes.iter().map(|r| r.kernel_id.as_str()).collect();
            if got != expected {
                return Err(format!(
                    "{} reaches {got:?}, but its component is {expected:?}",
                    node.config.kernel_id
                ));
            }
            for route in &routes {
                self.follow(NodeId(i), &route.kernel_id)?;
            }
        }
        Ok(())
    }

    /// Follow next hops from `from` to `target`.
    fn follow(&self, from: NodeId, target: &KernelId) -> Result<(), String> {
        let mut at = from;
        for _ in 0..=self.nodes.len() {
            if self.kernel_id(at) == target {
                return Ok(());
            }
            let Some(router) = self.nodes[at.0].router.as_ref() else {
                return Err(format!(
                    "the path from {} to {target} enters leaf {}",
                    self.kernel_id(from),
                    self.kernel_id(at)
                ));
            };
            let next_hop = match router.route(target) {
                Ok(Route::Link { link, .. }) => link,
                Ok(Route::Local) => return Ok(()),
                Err(unreachable) => {
                    return Err(format!(
                        "{} on the way from {} has no route to {target}: {:?}",
                        self.kernel_id(at),
                        self.kernel_id(from),
                        unreachable.reason
                    ));
                }
            };
            let wire = self.by_link[&(at, next_hop)];
            let ends = self.wires[wire.0].ends;
            at = if ends[0].0 == at {
                ends[1].0
            } else {
                ends[0].0
            };
        }
        Err(format!(
            "the path from {} to {target} loops",
            self.kernel_id(from)
        ))
    }

    /// Carry out everything the router of `node` asks.
    pub fn drain(&mut self, node: NodeId) {
        loop {
            let Some(router) = self.nodes[node.0].router.as_mut() else {
                return;
            };
            let Some(output) = router.poll_output() else {
                return;
            };
            match output {
                RouterOutput::Transmit { link, message } => self.transmit(node, link, &message),
                RouterOutput::CloseLink { link, reason } => {
                    log::debug!("{} closes {link}: {reason:?}", self.kernel_id(node));
                    self.record_note(node, RouterOutput::CloseLink { link, reason });
                    let wire = self.by_link[&(node, link)];
                    let side = self.side(wire, node, link);
                    if self.wires[wire.0].open[side] {
                        self.close_end(wire, side);
                        self.end_down(wire, side);
                    }
                }
                other => self.record_note(node, other),
            }
        }
    }

    fn record_note(&mut self, node: NodeId, output: RouterOutput) {
        let at = self.elapsed();
        self.nodes[node.0].notes.push((at, output));
    }

    fn transmit(&mut self, node: NodeId, link: LinkId, message: &ControlMessage) {
        let wire = self.by_link[&(node, link)];
        let side = self.side(wire, node, link);
        if !self.wires[wire.0].open[side] || !self.wires[wire.0].open[1 - side] {
            return;
        }
        self.stats.control_messages += 1;
        self.stats.records += message.record_count() as u64;
        let value = message.to_value();
        let at = self.arrival(wire, side);
        self.schedule(
            at,
            Event::Control {
                wire,
                to: 1 - side,
                value,
            },
        );
    }

    fn side(&self, wire: WireId, node: NodeId, link: LinkId) -> usize {
        usize::from(self.wires[wire.0].ends[1] == (node, link))
    }

    /// When something sent now from `side` arrives (FIFO per direction).
    fn arrival(&mut self, wire: WireId, side: usize) -> Instant {
        let w = &mut self.wires[wire.0];
        let at = (self.now + w.latency).max(w.last[side]);
        w.last[side] = at;
        at
    }

    fn schedule(&mut self, at: Instant, event: Event) {
        self.order += 1;
        self.queue.push(Reverse(Pending {
            at,
            order: self.order,
            event,
        }));
    }

    /// Handle one event; returns the kernel whose router it fed.
    fn handle(&mut self, event: Event) -> Option<NodeId> {
        match event {
            Event::Control { wire, to, value } => {
                let (node, link) = self.wires[wire.0].ends[to];
                assert!(
                    !self.nodes[node.0].leaf,
                    "leaf {} was sent a control message",
                    self.kernel_id(node)
                );
                if !self.wires[wire.0].open[to] {
                    return None;
                }
                let now = self.now;
                let router = self.nodes[node.0].router.as_mut()?;
                // Owned, as a driver has the params of the message it read.
                let result = ControlMessage::try_from(value)
                    .and_then(|message| router.handle_control(link, message, now));
                if let Err(error) = result {
                    log::debug!(
                        "{} refused a control message: {error}",
                        self.nodes[node.0].config.kernel_id
                    );
                    self.stats.control_errors += 1;
                    self.nodes[node.0].errors.push(error);
                }
                Some(node)
            }
            Event::App {
                wire,
                to,
                message,
                kernels,
                hops,
            } => {
                let (node, link) = self.wires[wire.0].ends[to];
                if !self.wires[wire.0].open[to] || !self.is_running(node) {
                    self.stats.app_lost += 1;
                    self.lost.entry(message).or_default().extend(kernels);
                    return None;
                }
                if self.nodes[node.0].leaf {
                    self.delivered.entry(message).or_default().push(node);
                    return None;
                }
                self.route_app(node, message, Targets::Names(&kernels), Some(link), hops);
                None
            }
            Event::Down { wire, to } => {
                if !self.wires[wire.0].open[to] {
                    return None;
                }
                self.wires[wire.0].open[to] = false;
                let (node, link) = self.wires[wire.0].ends[to];
                let now = self.now;
                let router = self.nodes[node.0].router.as_mut()?;
                router.link_down(link, now);
                Some(node)
            }
        }
    }

    /// One end closes: it reads no more; the other end sees the close
    /// after what was already in flight to it.
    fn close_end(&mut self, wire: WireId, side: usize) {
        self.wires[wire.0].up = false;
        self.wires[wire.0].open[side] = false;
        let at = self.arrival(wire, side);
        self.schedule(at, Event::Down { wire, to: 1 - side });
    }

    fn end_down(&mut self, wire: WireId, side: usize) {
        let was_open = std::mem::replace(&mut self.wires[wire.0].open[side], false);
        let (node, link) = self.wires[wire.0].ends[side];
        let now = self.now;
        if let Some(router) = self.nodes[node.0].router.as_mut() {
            if was_open || router.links().iter().any(|l| l.link == link) {
                router.link_down(link, now);
                self.drain(node);
            }
        }
    }

    fn route_app(
        &mut self,
        node: NodeId,
        message: MessageId,
        targets: Targets<'_>,
        arrived_on: Option<LinkId>,
        hops: u32,
    ) {
        if self.nodes[node.0].leaf {
            // A leaf sends only to its neighbour, by name (a Perl kernel
            // cannot expand `*` to the mesh): it hands the message over.
            let names: Vec<String> = match targets {
                Targets::Names(names) => names.to_vec(),
                Targets::All { .. } => Vec::new(),
            };
            if let Some(w) = self
                .wires
                .iter()
                .position(|w| w.up && w.ends.iter().any(|(n, _)| *n == node))
            {
                let side = usize::from(self.wires[w].ends[1].0 == node);
                let at = self.arrival(WireId(w), side);
                self.stats.app_copies += 1;
                self.schedule(
                    at,
                    Event::App {
                        wire: WireId(w),
                        to: 1 - side,
                        message,
                        kernels: names,
                        hops: hops + 1,
                    },
                );
            } else {
                // Alone, it knows no kernel: IKC reports each as unknown.
                for name in names {
                    self.undeliverable.push(Undeliverable {
                        message,
                        at: node,
                        name,
                        reason: UnreachableReason::Unknown,
                    });
                }
            }
            return;
        }
        let Some(router) = self.nodes[node.0].router.as_ref() else {
            return;
        };
        let plan = router.plan(targets, arrived_on, hops);
        if plan.local {
            self.delivered.entry(message).or_default().push(node);
        }
        for unreachable in plan.unreachable {
            self.undeliverable.push(Undeliverable {
                message,
                at: node,
                name: unreachable.name,
                reason: unreachable.reason,
            });
        }
        for forward in plan.forward {
            let wire = self.by_link[&(node, forward.link)];
            let side = self.side(wire, node, forward.link);
            let at = self.arrival(wire, side);
            let kernels = forward
                .kernels
                .into_iter()
                .map(|d| d.kernel_id.to_string())
                .collect();
            self.stats.app_copies += 1;
            self.schedule(
                at,
                Event::App {
                    wire,
                    to: 1 - side,
                    message,
                    kernels,
                    hops: hops + 1,
                },
            );
        }
    }

    fn peer_of(&self, node: NodeId, direction: Direction) -> Peer {
        let config = &self.nodes[node.0].config;
        let role = if self.nodes[node.0].leaf {
            PeerRole::Leaf
        } else {
            PeerRole::Router
        };
        Peer::new(config.kernel_id.clone(), role, direction).with_names(config.names.clone())
    }

    fn incarnation(&mut self) -> u64 {
        self.next_incarnation += 1;
        // Counting up like the start times above the real ones' random bits.
        (self.next_incarnation << 20)
            | (self.next_incarnation.wrapping_mul(0x9E37_79B9_7F4A_7C15) & 0xF_FFFF)
    }
}
