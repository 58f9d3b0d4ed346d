//! The router's errors: a refused configuration ([`ConfigError`]), and what
//! went wrong with a driver's call or a neighbour's control message
//! ([`RouterError`]).

use crate::id::{KernelId, LinkId};

/// Why [`Router::new`](crate::Router::new) refused a configuration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The kernel ID is empty.
    #[error("the kernel ID is empty")]
    EmptyKernelId,
    /// One of the names is empty.
    #[error("a kernel name is empty")]
    EmptyName,
    /// More names than `max_names_per_kernel`.
    #[error("{count} names, over the limit of {max}")]
    TooManyNames {
        /// How many names were configured.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// A name is longer than `max_name_len`.
    #[error("name {0:?} is longer than the limit")]
    NameTooLong(String),
    /// A limit (kernels, links, hop limit, base weight, RTT unit) is zero.
    #[error("a limit is zero")]
    ZeroLimit,
    /// The probe or refresh interval is zero.
    #[error("an interval is zero")]
    ZeroInterval,
    /// `record_max_age` is not longer than `refresh_interval`: records
    /// would expire before their owner renews them.
    #[error("record_max_age must be longer than refresh_interval")]
    MaxAgeTooShort,
}

/// What went wrong with a call or with a control message from a neighbour.
///
/// An error from [`Router::handle_control`](crate::Router::handle_control)
/// means the neighbour sent something it should not have: the offending
/// record or message was dropped, everything valid in it was kept, and the
/// mesh keeps routing. The driver may close the link (the router does not
/// close it for these).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RouterError {
    /// The link is not up (never announced, or already down).
    #[error("{0} is not up")]
    UnknownLink(LinkId),
    /// [`Router::link_up`](crate::Router::link_up) for a link ID already up.
    #[error("{0} is already up")]
    LinkInUse(LinkId),
    /// This kernel already has as many links as `max_links_per_kernel`.
    #[error("too many links (the limit is {max})")]
    TooManyLinks {
        /// The limit.
        max: usize,
    },
    /// A control message arrived on a link to a peer that is not a
    /// [`PeerRole::Router`](crate::PeerRole::Router).
    #[error("control message on {0}, whose peer does not speak routing")]
    NotARouter(LinkId),
    /// Records arrived before the peer's hello.
    #[error("control message on {0} before the peer's hello")]
    NoHello(LinkId),
    /// The control message is not one (bad shape or types).
    #[error("malformed control message: {0}")]
    Malformed(String),
    /// A control message or record holds more than a limit allows.
    #[error("{what}: {count}, over the limit of {max}")]
    TooLarge {
        /// What was counted (`records`, `links`, `names`, `name length`...).
        what: &'static str,
        /// How many there were.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// A record was refused because the table already holds `max_kernels`
    /// kernels, none of them unreachable.
    #[error("table full: {max} kernels")]
    TooManyKernels {
        /// The limit.
        max: usize,
    },
    /// A record is inconsistent (a link to itself, a weight of zero, a
    /// name repeated...).
    #[error("bad record from {origin}: {reason}")]
    BadRecord {
        /// The kernel the record is about.
        origin: KernelId,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The peer's hello names another kernel than its handshake did.
    #[error("peer on {link} said hello as {said}, but its handshake announced {expected}")]
    PeerMismatch {
        /// The link.
        link: LinkId,
        /// The ID from the handshake.
        expected: KernelId,
        /// The ID in the hello.
        said: KernelId,
    },
    /// The peer sent an older version of its own record than one it sent
    /// before on the same link (a replay).
    #[error("{origin} replayed its record: sequence {seq}, {have} already seen")]
    Replay {
        /// The peer.
        origin: KernelId,
        /// The sequence number it sent.
        seq: u64,
        /// The newest sequence number seen.
        have: u64,
    },
    /// The peer sent more control messages than
    /// [`FloodLimit`](crate::FloodLimit) allows; the excess was dropped.
    #[error("{0} floods control messages; the excess was dropped")]
    Flood(LinkId),
    /// The peer refused this kernel (a [`ControlMessage::Refuse`](crate::ControlMessage::Refuse)),
    /// reported through [`RouterOutput::Error`](crate::RouterOutput::Error).
    #[error("{peer} refused this kernel: {reason}")]
    Refused {
        /// The peer that refused.
        peer: KernelId,
        /// Its reason, as it wrote it.
        reason: String,
    },
}
