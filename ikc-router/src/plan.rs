//! Where a message goes: the targets a sender names ([`Targets`]) and the
//! router's answer ([`RoutePlan`], or [`Route`] for one target).

use crate::id::{KernelId, LinkId};

/// The kernels a message is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Targets<'a> {
    /// These kernels, each by its ID or any of its names (the kernel part
    /// of `poe://a,b/...`, split at the commas). A kernel named twice gets
    /// one copy.
    Names(&'a [String]),
    /// Every kernel this one reaches now (`poe://*/...`): the mesh's
    /// routers and leaves, and this kernel's own hidden peers (another
    /// kernel's hidden peers are not known here); and this kernel too if
    /// `include_local` (IKC's `*` includes it; Lightspeed's kernel
    /// interface excludes it).
    All {
        /// Whether this kernel is one of the targets.
        include_local: bool,
    },
}

/// One target kernel of a copy sent to a neighbour.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Destination {
    /// The kernel's ID: what the copy should carry for the next hops.
    pub kernel_id: KernelId,
    /// The name the sender used for it (its ID for [`Targets::All`]).
    pub requested: String,
}

/// The copy of a message that goes out on one link.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Forward {
    /// The link.
    pub link: LinkId,
    /// The kernels this copy is for. The sets of all forwards of a plan
    /// are disjoint, so each target gets at most one copy.
    pub kernels: Vec<Destination>,
}

/// Why a target cannot be reached: the driver reports it as IKC reports an
/// unknown kernel (a local error, `remote_error` to the sender).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum UnreachableReason {
    /// No kernel of the mesh has this name.
    Unknown,
    /// The kernel is known but no path leads to it now.
    NoPath {
        /// The kernel.
        kernel_id: KernelId,
    },
    /// Several live kernels claim the name.
    Ambiguous {
        /// The claimants.
        kernels: Vec<KernelId>,
    },
    /// The message passed through `limit` kernels already.
    HopLimit {
        /// The configured limit.
        limit: u32,
    },
}

/// A target the plan cannot serve.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Unreachable {
    /// The name as requested.
    pub name: String,
    /// Why.
    pub reason: UnreachableReason,
}

/// What to do with a message: deliver it here, send copies on links, and
/// report the targets nobody can reach.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct RoutePlan {
    /// Deliver one copy to this kernel.
    pub local: bool,
    /// One copy per link, each for a disjoint set of kernels, in link
    /// order.
    pub forward: Vec<Forward>,
    /// The targets to report as unreachable, in the order asked.
    pub unreachable: Vec<Unreachable>,
}

impl RoutePlan {
    /// How many copies the plan makes (local delivery included).
    pub fn copies(&self) -> usize {
        usize::from(self.local) + self.forward.len()
    }

    /// Whether the plan does nothing and reports nothing (an empty
    /// target list, or `*` in a mesh of one).
    pub fn is_empty(&self) -> bool {
        !self.local && self.forward.is_empty() && self.unreachable.is_empty()
    }
}

/// Where a message for one kernel goes (the fast path of
/// [`Router::route`](crate::Router::route)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route<'r> {
    /// The name is one of this kernel's.
    Local,
    /// Send it on `link`.
    Link {
        /// The next hop.
        link: LinkId,
        /// The target's kernel ID.
        kernel_id: &'r KernelId,
    },
}
