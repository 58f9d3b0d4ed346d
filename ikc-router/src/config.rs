//! What a router is configured with ([`RouterConfig`]) and what the driver
//! tells it about a neighbour when a link comes up ([`Peer`]).

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::time::{Duration, SystemTime};

use crate::error::ConfigError;
use crate::id::KernelId;

/// How a [`Router`](crate::Router) is set up.
///
/// Build one with [`RouterConfig::new`], which fills in the defaults, then
/// change the fields you need:
///
/// ```
/// use std::time::Duration;
/// use ikc_router::RouterConfig;
///
/// let mut config = RouterConfig::new("host-1-1");
/// config.names = vec!["Server".into()];
/// config.probe_interval = Duration::from_millis(500);
/// assert_eq!(config.hop_limit, 16);
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct RouterConfig {
    /// This kernel's globally unique ID (POE's `$kernel->ID`).
    pub kernel_id: KernelId,
    /// This kernel's other names (the server's or client's `name`, its
    /// `aliases`), advertised to the whole mesh. Leave out per-socket names
    /// such as `127.0.0.1:1234`: two kernels of a pool share them.
    pub names: Vec<String>,
    /// A number drawn at each start of the kernel: its start time in
    /// milliseconds above 20 random bits, so a later start is larger. A
    /// kernel that comes back under the same ID with a larger incarnation
    /// is a restart and replaces its old self (a record of a smaller one is
    /// a late copy of a former self's); two live incarnations of one ID are
    /// a clash.
    /// [`RouterConfig::new`] draws one; tests may fix it.
    pub incarnation: u64,
    /// The most kernels the router keeps records of (itself included).
    /// Bounds memory: a record beyond it is refused with
    /// [`RouterError::TooManyKernels`](crate::RouterError::TooManyKernels).
    pub max_kernels: usize,
    /// The most links (and, separately, leaves) one kernel's record may
    /// list; also the most links this kernel accepts at once.
    pub max_links_per_kernel: usize,
    /// The most names one kernel's record may list.
    pub max_names_per_kernel: usize,
    /// The longest name (in bytes) a record may carry.
    pub max_name_len: usize,
    /// How many kernels a message may pass through before it is refused as
    /// looping ([`Unreachable::HopLimit`](crate::UnreachableReason::HopLimit)).
    pub hop_limit: u32,
    /// How often each link to a routing peer is probed to measure its round
    /// trip.
    pub probe_interval: Duration,
    /// A link whose peer sent nothing (not even a probe's echo) for this
    /// long is closed as unresponsive ([`CloseReason::Unresponsive`](crate::CloseReason::Unresponsive)),
    /// which ends half-open TCP connections. `None` never closes.
    pub link_timeout: Option<Duration>,
    /// How often this kernel floods its own record again even if nothing
    /// changed, repairing any table that missed a change.
    pub refresh_interval: Duration,
    /// A record not renewed for this long is forgotten (must be longer than
    /// [`refresh_interval`](Self::refresh_interval)).
    pub record_max_age: Duration,
    /// How measured round trips become link weights.
    pub weights: WeightConfig,
    /// How many control messages a neighbour may send before it is
    /// refused as flooding.
    pub flood_limit: FloodLimit,
}

impl RouterConfig {
    /// The defaults for a kernel with this ID, with no other names and a
    /// freshly drawn incarnation.
    pub fn new(kernel_id: impl Into<KernelId>) -> Self {
        Self {
            kernel_id: kernel_id.into(),
            names: Vec::new(),
            incarnation: random_incarnation(),
            max_kernels: 1024,
            max_links_per_kernel: 256,
            max_names_per_kernel: 64,
            max_name_len: 255,
            hop_limit: 16,
            probe_interval: Duration::from_secs(2),
            link_timeout: Some(Duration::from_secs(60)),
            refresh_interval: Duration::from_secs(600),
            record_max_age: Duration::from_secs(1800),
            weights: WeightConfig::default(),
            flood_limit: FloodLimit::default(),
        }
    }

    /// Add a name (builder style).
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.names.push(name.into());
        self
    }

    /// Fix the incarnation (builder style), for tests and simulations.
    pub fn with_incarnation(mut self, incarnation: u64) -> Self {
        self.incarnation = incarnation;
        self
    }

    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        if self.kernel_id.is_empty() {
            return Err(ConfigError::EmptyKernelId);
        }
        if self.names.iter().any(String::is_empty) {
            return Err(ConfigError::EmptyName);
        }
        if self.names.len() > self.max_names_per_kernel {
            return Err(ConfigError::TooManyNames {
                count: self.names.len(),
                max: self.max_names_per_kernel,
            });
        }
        if let Some(long) = std::iter::once(self.kernel_id.as_str())
            .chain(self.names.iter().map(String::as_str))
            .find(|n| n.len() > self.max_name_len)
        {
            return Err(ConfigError::NameTooLong(long.to_owned()));
        }
        if self.max_kernels < 1 || self.max_links_per_kernel < 1 || self.hop_limit < 1 {
            return Err(ConfigError::ZeroLimit);
        }
        if self.probe_interval.is_zero() || self.refresh_interval.is_zero() {
            return Err(ConfigError::ZeroInterval);
        }
        if self.record_max_age <= self.refresh_interval {
            return Err(ConfigError::MaxAgeTooShort);
        }
        if self.weights.base == 0 || self.weights.rtt_unit.is_zero() {
            return Err(ConfigError::ZeroLimit);
        }
        Ok(())
    }
}

/// How a link's weight is derived from its measured round trip.
///
/// `weight = base + smoothed_rtt / rtt_unit`, capped at `max`. The smoothed
/// RTT is an exponentially weighted moving average (each sample counts for
/// `1 / 2^smoothing_shift`, TCP's 1/8 by default). The weight advertised to
/// the mesh changes only when the derived one differs from it by more than
/// `hysteresis_percent` percent and at least `min_change`, so routes do not
/// flap with the noise of measurement.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct WeightConfig {
    /// The weight of a link with no measurement yet, and the part of every
    /// measured weight that counts the hop itself (Zenoh uses 100).
    pub base: u32,
    /// How much round trip adds one to the weight.
    pub rtt_unit: Duration,
    /// The largest weight a measurement can give.
    pub max: u32,
    /// The EWMA's shift: a sample counts for `1 / 2^shift`.
    pub smoothing_shift: u32,
    /// The relative change needed before a new weight is advertised.
    pub hysteresis_percent: u32,
    /// The absolute change needed before a new weight is advertised.
    pub min_change: u32,
}

impl Default for WeightConfig {
    fn default() -> Self {
        Self {
            base: 100,
            rtt_unit: Duration::from_micros(100),
            max: 1_000_000,
            smoothing_shift: 3,
            hysteresis_percent: 20,
            min_change: 5,
        }
    }
}

/// A token bucket on the control messages (records count one each) a
/// neighbour may send: `burst` at once, refilled at `per_second`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct FloodLimit {
    /// The bucket's size.
    pub burst: u32,
    /// The refill rate.
    pub per_second: u32,
}

impl Default for FloodLimit {
    fn default() -> Self {
        Self {
            burst: 20_000,
            per_second: 5_000,
        }
    }
}

/// What kind of kernel is at the other end of a link.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PeerRole {
    /// A Rust kernel that speaks routing: it receives control messages,
    /// floods records and may forward messages to others.
    Router,
    /// A kernel that does not speak routing (Perl IKC, an older Rust
    /// kernel): it never receives a control message, is advertised to the
    /// mesh as a leaf of this kernel, and is never a transit hop.
    Leaf,
    /// A peer reachable from this kernel only (a ClientLite, a monitoring
    /// tool): never sent control messages, never advertised to the mesh.
    Hidden,
}

/// Which side opened the connection (for the duplicate-link rule).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// This kernel dialed the peer (IKC client side).
    Outbound,
    /// The peer dialed this kernel (IKC server side).
    Inbound,
}

/// A neighbour, as the driver knows it when its link comes up (from the
/// IKC handshake and the configuration).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Peer {
    /// The peer's kernel ID, the first name its handshake announced.
    pub kernel_id: KernelId,
    /// The peer's other names (its `name` and `aliases`; leave out the
    /// per-socket `ip:port` names). For a [`PeerRole::Router`] the names
    /// its own records announce take over once they arrive.
    pub names: Vec<String>,
    /// What the peer can do.
    pub role: PeerRole,
    /// Who dialed.
    pub direction: Direction,
    /// A weight for this link that overrides measurement.
    pub fixed_weight: Option<u32>,
}

impl Peer {
    /// A peer of the given role with no other names and a measured weight.
    pub fn new(kernel_id: impl Into<KernelId>, role: PeerRole, direction: Direction) -> Self {
        Self {
            kernel_id: kernel_id.into(),
            names: Vec::new(),
            role,
            direction,
            fixed_weight: None,
        }
    }

    /// A Rust peer that speaks routing ([`PeerRole::Router`]).
    pub fn router(kernel_id: impl Into<KernelId>, direction: Direction) -> Self {
        Self::new(kernel_id, PeerRole::Router, direction)
    }

    /// A peer that does not speak routing ([`PeerRole::Leaf`]).
    pub fn leaf(kernel_id: impl Into<KernelId>, direction: Direction) -> Self {
        Self::new(kernel_id, PeerRole::Leaf, direction)
    }

    /// A peer this kernel keeps to itself ([`PeerRole::Hidden`]).
    pub fn hidden(kernel_id: impl Into<KernelId>, direction: Direction) -> Self {
        Self::new(kernel_id, PeerRole::Hidden, direction)
    }

    /// Add a name (builder style).
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.names.push(name.into());
        self
    }

    /// Set the names (builder style).
    pub fn with_names<I, S>(mut self, names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.names = names.into_iter().map(Into::into).collect();
        self
    }

    /// Fix this link's weight (builder style).
    pub fn with_fixed_weight(mut self, weight: u32) -> Self {
        self.fixed_weight = Some(weight);
        self
    }
}

/// A random 64-bit number without a random-number crate: std's hasher keys
/// are drawn from the OS per process (and per `RandomState` after that);
/// the clock and the process ID are mixed in for good measure.
pub(crate) fn random_incarnation() -> u64 {
    let mut hasher = RandomState::new().build_hasher();
    let since_epoch = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default();
    hasher.write_u128(since_epoch.as_nanos());
    hasher.write_u32(std::process::id());
    // Milliseconds since the epoch on top, so a kernel restarted under the
    // same ID has a larger incarnation than its former self (records of
    // two incarnations are ordered by it anywhere in the mesh); random
    // bits below tell apart kernels started in the same millisecond.
    let millis = u64::try_from(since_epoch.as_millis()).unwrap_or(u64::MAX);
    (millis << INCARNATION_RANDOM_BITS) | (hasher.finish() & ((1 << INCARNATION_RANDOM_BITS) - 1))
}

/// Random low bits of a drawn incarnation (the rest is the start time).
const INCARNATION_RANDOM_BITS: u32 = 20;
