//! Lightspeed's mesh routing without I/O: which kernel of an IKC mesh a
//! message goes to next.
//!
//! POE::Component::Lightspeed joined kernels in any shape and let any
//! kernel post to any other by name; its `Router.pm` kept a graph of
//! kernel names and recomputed all paths on every change. This crate is
//! that router rebuilt as a sans-IO state machine in the image of
//! `ikc-channel`: a [`Router`] owns no socket and reads no clock, and its
//! driver (the IKC responder) feeds it what happens and carries out what
//! it asks.
//!
//! - **Inputs:** a link came up ([`Router::link_up`], with the peer's
//!   identity as a [`Peer`]), went down ([`Router::link_down`]), a control
//!   message arrived from a routing peer ([`Router::handle_control`]),
//!   time passed ([`Router::handle_timeout`]).
//! - **Outputs** ([`Router::poll_output`]): send a [`ControlMessage`] on a
//!   link, a kernel became reachable or unreachable (directly or through
//!   others), two kernels claim one name, close a link (a duplicate, a
//!   refused peer, an unresponsive one), an error to report.
//! - **Decisions:** [`Router::plan`] splits a message's targets (names or
//!   `*`) into local delivery, one copy per next-hop link with disjoint
//!   kernel sets, and targets to report as unreachable; [`Router::route`]
//!   answers for a single target without allocating.
//! - **Introspection:** [`Router::kernels`], [`Router::links`],
//!   [`Router::routes`], [`Router::stats`].
//!
//! # How it routes
//!
//! Link-state routing, as OSPF and Zenoh do it. Each kernel floods a
//! [`LinkStateRecord`] of its own links (`origin`, a random `incarnation`
//! drawn at each start, a `seq` raised at each change, its names, its
//! links with their weights, the leaves it serves). A router keeps the
//! newest record of each kernel and passes on only what was news to it, so
//! floods end. An edge counts only if both ends advertise it, so a late
//! record cannot resurrect a lost link (Lightspeed's bug with two clients
//! joining at once). Paths are shortest from this kernel (Dijkstra).
//!
//! Each link's round trip is measured with probes, smoothed, and turned
//! into a weight with hysteresis; a configured weight overrides it. Two
//! links between the same kernels are resolved by a rule both ends apply
//! alike. A kernel back with a new incarnation is a restart and replaces
//! its old self; two live kernels with one name are a clash, reported
//! ([`RouterOutput::NameClash`]) and never routed around silently.
//! Kernels that do not speak routing (Perl IKC) are leaves: they never
//! receive a control message and never carry traffic onwards.
//!
//! A message for several kernels is split by next hop at each kernel,
//! each copy carrying the kernels it is for; the sets are disjoint, so
//! every target gets at most one copy even while tables disagree, and a
//! hop limit ends transient loops. A target nobody can reach comes back in
//! [`RoutePlan::unreachable`], for the driver to report as IKC reports an
//! unknown kernel.
//!
//! # Examples
//!
//! Two routers joined by hand (the [`sim`] module does this for a whole
//! mesh):
//!
//! ```
//! use std::time::Instant;
//! use ikc_router::{Direction, LinkId, Peer, Route, Router, RouterConfig, RouterOutput, Targets};
//!
//! let now = Instant::now();
//! let mut a = Router::new(RouterConfig::new("a-1").with_name("Alpha"), now)?;
//! let mut b = Router::new(RouterConfig::new("b-1").with_name("Beta"), now)?;
//! // The channel between them finished its handshake: a dialed b.
//! a.link_up(LinkId(1), Peer::router("b-1", Direction::Outbound), now)?;
//! b.link_up(LinkId(7), Peer::router("a-1", Direction::Inbound), now)?;
//!
//! // The driver's job: carry each Transmit to the other side (as an IKC
//! // message whose params are `message.to_value()`), until both are quiet.
//! let mut ups = Vec::new();
//! loop {
//!     let mut quiet = true;
//!     while let Some(output) = a.poll_output() {
//!         match output {
//!             RouterOutput::Transmit { message, .. } => {
//!                 quiet = false;
//!                 b.handle_control_value(LinkId(7), &message.to_value(), now)?;
//!             }
//!             RouterOutput::KernelUp(info) => ups.push(info.kernel_id),
//!             _ => {}
//!         }
//!     }
//!     while let Some(output) = b.poll_output() {
//!         if let RouterOutput::Transmit { message, .. } = output {
//!             quiet = false;
//!             a.handle_control(LinkId(1), message, now)?;
//!         }
//!     }
//!     if quiet {
//!         break;
//!     }
//! }
//! assert_eq!(ups, ["b-1"]);
//! assert!(matches!(a.route("Beta"), Ok(Route::Link { link: LinkId(1), .. })));
//!
//! // `*` from a, a included: deliver here, and one copy on link 1 for b-1.
//! let plan = a.plan(Targets::All { include_local: true }, None, 0);
//! assert!(plan.local);
//! assert_eq!(plan.forward.len(), 1);
//! assert_eq!(plan.forward[0].kernels[0].kernel_id, "b-1");
//!
//! // A name nobody has is reported, never dropped.
//! let names = vec!["Gamma".to_owned()];
//! let plan = a.plan(Targets::Names(&names), None, 0);
//! assert_eq!(plan.unreachable[0].name, "Gamma");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![warn(missing_docs)]
#![forbid(unsafe_code)]
#![doc(test(attr(deny(warnings))))]

mod config;
mod control;
mod error;
mod id;
mod info;
mod output;
mod plan;
mod router;
pub mod sim;

pub use crate::config::{Direction, FloodLimit, Peer, PeerRole, RouterConfig, WeightConfig};
pub use crate::control::{
    AdvertisedLeaf, AdvertisedLink, ControlMessage, Hello, LinkStateRecord, RecordSummary, Refusal,
};
pub use crate::error::{ConfigError, RouterError};
pub use crate::id::{KernelId, LinkId};
pub use crate::info::{KernelEntry, LinkEntry, RouteEntry, RouterStats};
pub use crate::output::{CloseReason, KernelInfo, NameClash, Reach, RouterOutput};
pub use crate::plan::{
    Destination, Forward, Route, RoutePlan, Targets, Unreachable, UnreachableReason,
};
pub use crate::router::Router;
