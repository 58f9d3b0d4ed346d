//! What the router asks of its driver ([`RouterOutput`]).

use crate::config::PeerRole;
use crate::control::ControlMessage;
use crate::error::RouterError;
use crate::id::{KernelId, LinkId};

/// Something the driver must do or report, from
/// [`Router::poll_output`](crate::Router::poll_output).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RouterOutput {
    /// Send `message` to the peer of `link` (always a
    /// [`PeerRole::Router`]): as the params of an IKC message to the
    /// reserved routing state, from [`ControlMessage::to_value`].
    Transmit {
        /// The link to send on.
        link: LinkId,
        /// The message.
        message: ControlMessage,
    },
    /// A kernel became reachable (IKC's `register` for monitors).
    KernelUp(KernelInfo),
    /// A kernel is no longer reachable (IKC's `unregister`).
    KernelDown(KernelInfo),
    /// A reachable kernel is now reached another way: directly instead of
    /// through others, or the other way round.
    KernelMoved(KernelInfo),
    /// The route to a reachable kernel is new or changed: another first
    /// link, neighbour or hop count (a change of cost alone is not
    /// reported: measured weights move all the time). Comes after the
    /// [`KernelUp`](Self::KernelUp) of a new kernel; a kernel that is no
    /// longer reachable has a [`KernelDown`](Self::KernelDown) instead.
    RouteChanged(crate::info::RouteEntry),
    /// Two kernels claim one name. The name resolves to neither until one
    /// of them goes; see [`NameClash`].
    NameClash(NameClash),
    /// Close this link, then call [`Router::link_down`](crate::Router::link_down)
    /// for it. The router already stopped using it.
    CloseLink {
        /// The link.
        link: LinkId,
        /// Why.
        reason: CloseReason,
    },
    /// Something to report that is not the answer to a call (a peer
    /// refused this kernel...).
    Error {
        /// The link concerned, if any.
        link: Option<LinkId>,
        /// What happened.
        error: RouterError,
    },
}

/// A kernel as monitors see it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct KernelInfo {
    /// Its kernel ID.
    pub kernel_id: KernelId,
    /// Its other names.
    pub names: Vec<String>,
    /// Its incarnation (`None` for kernels that do not speak routing).
    pub incarnation: Option<u64>,
    /// What it is to this kernel's mesh.
    pub role: PeerRole,
    /// How it is (or, in [`RouterOutput::KernelDown`], was) reached.
    pub reach: Reach,
}

impl KernelInfo {
    /// Whether it is (was) a neighbour, connected to this kernel directly.
    pub fn direct(&self) -> bool {
        matches!(self.reach, Reach::Direct { .. })
    }

    /// Every name: the ID first.
    pub fn all_names(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.kernel_id.as_str()).chain(self.names.iter().map(String::as_str))
    }
}

/// How a kernel is reached from this one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// Over its own link to this kernel.
    Direct {
        /// The link.
        link: LinkId,
        /// The link's weight.
        cost: u64,
    },
    /// Through other kernels.
    Routed {
        /// The first link of the path.
        next_hop: LinkId,
        /// How many links the path has.
        hops: u32,
        /// The sum of the path's weights.
        cost: u64,
    },
}

impl Reach {
    /// The link a message to this kernel leaves on.
    pub fn next_hop(&self) -> LinkId {
        match *self {
            Self::Direct { link, .. } => link,
            Self::Routed { next_hop, .. } => next_hop,
        }
    }

    /// The path's total weight.
    pub fn cost(&self) -> u64 {
        match *self {
            Self::Direct { cost, .. } | Self::Routed { cost, .. } => cost,
        }
    }

    /// How many links the path has.
    pub fn hops(&self) -> u32 {
        match *self {
            Self::Direct { .. } => 1,
            Self::Routed { hops, .. } => hops,
        }
    }
}

/// Two or more live kernels claim one name.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct NameClash {
    /// The name.
    pub name: String,
    /// The kernels claiming it (this kernel's ID among them if it is one),
    /// sorted. For two live incarnations of one kernel ID, that ID once.
    pub kernels: Vec<KernelId>,
    /// The link refused because of it, if the clash was found when a
    /// neighbour arrived (the link is closed with
    /// [`CloseReason::NameClash`]); `None` if found in the mesh's records.
    pub refused_link: Option<LinkId>,
    /// Whether this kernel is one of the claimants.
    pub involves_us: bool,
}

/// Why the router asks for a link to be closed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CloseReason {
    /// Another link joins the same two kernels; the rule (keep the link
    /// dialed by the kernel with the smaller ID; between two links dialed
    /// by the same side, keep the newer) keeps `kept`. Both ends apply it,
    /// so both close the same connection.
    DuplicateLink {
        /// The link kept.
        kept: LinkId,
    },
    /// The peer restarted (same kernel ID, new incarnation) and came back
    /// on `new_link`: this link is its old self's.
    Replaced {
        /// The link of the new incarnation.
        new_link: LinkId,
    },
    /// A name of the peer is taken by another live kernel (or by this
    /// one); the peer was told (if it speaks routing) and refused.
    NameClash {
        /// The name.
        name: String,
    },
    /// The peer refused this kernel.
    RefusedByPeer {
        /// The peer's reason.
        reason: String,
    },
    /// The peer's hello named another kernel than its handshake.
    PeerMismatch,
    /// Nothing came from the peer for `link_timeout`.
    Unresponsive,
}
