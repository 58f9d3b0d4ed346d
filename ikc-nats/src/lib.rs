//! Kernels on a NATS cluster, and IKC sessions callable from any NATS
//! client.
//!
//! [`attach`] puts a kernel on a NATS bus (one server or a cluster, with
//! failover, credentials and TLS as the `async-nats` client supports
//! them). Every other kernel attached to the same bus then behaves as a
//! kernel connected over IKC: it registers (monitors hear `register`),
//! posts, calls with an RSVP, `remote_error`, subscriptions and proxies,
//! and `*` reach it, and it unregisters when it leaves, misses its
//! heartbeats, or the bus is lost. A kernel may have direct IKC links
//! (servers and clients) and a NATS attachment at once.
//!
//! The client runs on a thread of its own with a tokio runtime; the kernel
//! loop stays the single-threaded mio loop, and the two meet through the
//! kernel's cross-thread handle and one socket pair per remote kernel.
//! Only programs that use this crate build tokio.
//!
//! # Subjects
//!
//! | subject | what travels on it |
//! |---|---|
//! | `ikc.<kernel>.<session>.<state>` | a post (publish) or call (request) to one state of one kernel |
//! | `ikc.%2A.<session>.<state>` | the same to every kernel on the bus (IKC's `*`) |
//! | `ikc.presence` | each kernel's JSON presence record: on connect, every heartbeat, and on leaving |
//!
//! `<kernel>` is any name of the kernel (its ID, its [`NatsConfig::name`],
//! its aliases). Parts are escaped so each stays one token: `.`, `*`, `>`,
//! `%`, whitespace and control bytes are written `%XX` (upper-case hex),
//! an empty part `%-` (see [`escape`]). The prefix `ikc` is configurable.
//!
//! Between kernels the IKC message (IKC's request hash) travels in the
//! configured freezer (default `IKC::Native`), with the headers
//! `IKC-Freezer` (the freezer's name) and `IKC-Sender` (the sending
//! kernel's ID). RSVP answers are posts to the calling kernel's own
//! subject, so they need no request/reply.
//!
//! # Any NATS client calls IKC states
//!
//! A plain NATS message (no `IKC-Sender` header) to
//! `ikc.<kernel>.<session>.<state>`:
//!
//! - a **request** (it has a reply subject) calls the state with the JSON
//!   body as ARG0 (an empty body is `undef`) and gets the return value back
//!   as JSON (`undef` is `null`);
//! - a **publish** posts the JSON body to the state;
//! - a state that is not published is refused as IKC refuses it: the
//!   reply has the headers `Nats-Service-Error` (IKC's message, e.g.
//!   `Session 'test' has not published state 'secret'`) and
//!   `Nats-Service-Error-Code` (`403` state not published, `404` session
//!   not available, `400` bad subject or body, `500` the state failed),
//!   and the body `{"error": ..., "code": ...}`; the kernel's error
//!   monitors hear `local-check` as for a remote kernel.
//!
//! With the `nats` CLI: `nats request ikc.Server.test.add_1 41` answers `42`.
//!
//! # Kernels on NATS in a mesh
//!
//! Each pipe (the link to one kernel on the bus) is a routing link of the
//! mesh (`ikc-router`): the kernels on the bus are each other's direct
//! neighbours, and the routing records they exchange over NATS carry
//! whatever each of them reaches beyond the bus. So a kernel may have
//! direct IKC links (TCP, Unix sockets) and be on NATS at once, and:
//!
//! - a kernel M linked only to A, which is on NATS, reaches every kernel
//!   on the bus through A, and they reach M through A: posts, calls and
//!   their answers, `remote_error`, subscriptions, `*` (one copy each);
//!   their monitors hear each other `register` (as routed kernels) and
//!   `unregister` when the other goes;
//! - a Perl IKC kernel connected to A is a leaf of the mesh: A offers it
//!   the names of the kernels on the bus in the handshake, passes on its
//!   posts and calls, and relays the answers; kernels on the bus reach it
//!   through A, their answers relayed back the same way.
//!
//! A leaf would be simpler (no routing records on the bus) but is a dead
//! end: a kernel behind a NATS kernel would be unknown to the rest of the
//! bus, and `*` sent there would miss it.
//!
//! **One lifecycle per pair.** Each kernel holds its own pipe for every
//! other, and the two live apart (a kernel that lost its server drops its
//! pipes while the far kernel keeps its own). So every message between
//! kernels carries the header `IKC-Link`
//! (`<sender attachment>/<receiver attachment>/<generation>`): a kernel
//! that opens a pipe on its own takes the pair's next generation, the far
//! kernel seeing a newer generation drops its pipe and opens one of that
//! generation (its monitors hear `unregister` and `register`: the link did
//! break), and routing records of an older generation are dropped, so a
//! record of an old link never reaches a new one before its hello.
//! Requests sent on an old link are still delivered. A pipe the kernel
//! closes itself (IKC's `close` on its channel, the mesh's rules) is
//! opened again, in a new generation, when the peer is heard after one
//! heartbeat interval, twice as long each time the kernel closes it again
//! within a minute (up to 256 intervals).
//!
//! **Costs.** Routing records and the mesh's round-trip probes travel on
//! the bus: a change of one kernel's links is flooded to every kernel
//! over every pipe (about N² messages on a bus of N kernels; a kernel
//! joining changes N records), and each pair probes every 2 s. That is
//! small for tens of kernels and grows quickly past a hundred. Two kernels
//! that share a bus should not also be linked directly: the mesh keeps one
//! link between two kernels and closes the other, and a closed NATS pipe
//! keeps being reopened (less and less often, as above).
//!
//! # Delivery guarantees
//!
//! Core NATS delivers **at most once**: a message published while its
//! destination is not subscribed (the kernel is gone, or its server was
//! lost and its client has not reconnected yet) is dropped by NATS. What
//! the kernel does about it:
//!
//! - a message to a kernel the bus has not announced (or that unregistered)
//!   fails as IKC fails it (`Unknown kernel`, reported to `resolve` error
//!   monitors) and is never published;
//! - every message between kernels is published with a reply subject, so
//!   when NATS finds nobody subscribed to its destination it answers "no
//!   responders", and the sending kernel's error monitors hear
//!   `local-send` with the subject (a warning is logged if no monitor
//!   listens);
//! - when the kernel's own connection is lost, every kernel reached through
//!   NATS unregisters at once (monitors hear `unregister`); the client
//!   reconnects by itself (to any server of the cluster), and the kernels
//!   register again when they answer its new announcement;
//! - a kernel that misses three heartbeats unregisters.
//!
//! What remains is a message NATS accepted for a subscriber that vanished
//! before it was delivered (a server killed with the message in flight):
//! core NATS cannot report that, and neither can the kernel. Calls
//! whose answer matters should be retried by the caller after a timeout,
//! as with any at-most-once transport.
//!
//! # Example
//!
//! The subject scheme, which needs no server:
//!
//! ```
//! use ikc_nats::{Subjects, escape, unescape};
//!
//! let subjects = Subjects::default();
//! assert_eq!(subjects.destination("Server", "test", "add_1"), "ikc.Server.test.add_1");
//! assert_eq!(subjects.destination("*", "test", "add_1"), "ikc.%2A.test.add_1");
//! assert_eq!(escape("vm.example.com-1"), "vm%2Eexample%2Ecom-1");
//! assert_eq!(unescape("vm%2Eexample%2Ecom-1").as_deref(), Some("vm.example.com-1"));
//! let to = subjects.parse("ikc.Server.test.add_1").unwrap();
//! assert_eq!((to.kernel.as_str(), to.session.as_str(), to.state.as_str()), ("Server", "test", "add_1"));
//! ```
//!
//! A kernel on NATS publishing `test/add_1` (with a `nats-server` running
//! on 127.0.0.1:4222):
//!
//! ```no_run
//! use ikc_core::{InlineStates, Kernel};
//! use ikc_freezer::Value;
//! use ikc_responder::Responder;
//!
//! let mut kernel = Kernel::new()?;
//! let ikc = Responder::spawn(&mut kernel);
//! kernel.spawn(InlineStates::new()
//!     .state("_start", |_, ctx, _| { ctx.alias_set("test").unwrap(); })
//!     .state("add_1", |_, _, ev| Value::from(ev.args[0].as_i64().unwrap_or(0) + 1)));
//! ikc.publish("test", &["add_1"]);
//! let link = ikc_nats::attach(&mut kernel, ikc_nats::NatsConfig::new("nats://127.0.0.1:4222").name("Server"))?;
//! println!("call me: nats request {} 41", link.subject("test", "add_1"));
//! kernel.run()?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![warn(missing_docs)]
#![forbid(unsafe_code)]
#![doc(test(attr(deny(warnings))))]

mod attachment;
mod bridge;
mod config;
mod error;
mod json;
mod pairing;
mod port;
mod presence;
pub mod server;
mod subject;

use std::cell::RefCell;
use std::rc::Rc;

use ikc_core::Spawner;

pub use crate::attachment::{DETACH_STATE, NATS_ALIAS, NatsLink};
pub use crate::bridge::{ERROR_CODE_HEADER, ERROR_HEADER, FREEZER_HEADER, SENDER_HEADER};
pub use crate::config::{DEFAULT_HEARTBEAT, NatsConfig};
pub use crate::error::NatsError;
pub use crate::json::{body_to_value, from_json, to_json};
pub use crate::pairing::LINK_HEADER;
pub use crate::presence::{MISSED_HEARTBEATS, Presence};
pub use crate::subject::{BROADCAST, DEFAULT_PREFIX, Destination, Subjects, escape, unescape};

/// Attach the kernel to NATS: connect (waiting up to the configured
/// connect timeout), subscribe to the kernel's subjects, announce it, and
/// start the session aliased [`NATS_ALIAS`] (and the IKC responder if it
/// is not running). From then on the kernels on the bus register as they
/// are heard, and NATS clients may call the kernel's published states.
///
/// The kernel keeps running while it is attached; IKC's `shutdown` (or
/// [`NatsLink::detach`]) leaves the bus.
///
/// # Errors
///
/// A bad configuration (no server, unknown freezer, a name that cannot be
/// a kernel name), or the first connection or subscription failed.
pub fn attach(spawner: &mut impl Spawner, config: NatsConfig) -> Result<NatsLink, NatsError> {
    let outcome = Rc::new(RefCell::new(None));
    spawner.spawn_session(attachment::NatsSession::new(config, Rc::clone(&outcome)));
    let result = outcome.borrow_mut().take();
    result.unwrap_or(Err(NatsError::KernelStopped))
}
