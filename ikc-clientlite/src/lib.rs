//! A blocking IKC client with no event loop: POE::Component::IKC's
//! ClientLite, for command-line tools, request handlers, tests and plain
//! threads.
//!
//! A [`ClientLite`] opens one connection (TCP or a Unix socket) to an IKC
//! server, negotiates as IKC does, and then posts and calls states of the
//! server's published sessions, waiting for replies on the spot. It uses
//! `std::net` only: no event loop, no runtime, no background thread.
//!
//! | Perl's ClientLite | here |
//! |---|---|
//! | `POE::Component::IKC::ClientLite->spawn(%params)` | [`ClientLite::connect`], [`Builder`] |
//! | `$poe->post($spec, $data)` | [`ClientLite::post`] |
//! | `$poe->call($spec, $data)` (scalar / list context) | [`ClientLite::call`] / [`ClientLite::call_list`], and [`ClientLite::call_as`] for a typed reply |
//! | `$poe->post_respond($spec, $data)` | [`ClientLite::post_respond`] |
//! | `$poe->responded($state)` | [`ClientLite::responded`], [`ClientLite::responded_list`] |
//! | `$poe->ping` | [`ClientLite::ping`] |
//! | `$poe->connect` / `$poe->disconnect` | [`ClientLite::ensure_connected`] / [`ClientLite::disconnect`] |
//! | `$poe->name`, `$poe->error` | [`ClientLite::name`], [`ClientLite::error`] |
//! | `timeout`, `connect_timeout`, `name`, `serialiser`, `protocol` | [`Builder`] methods of those names (`serialiser` is [`Builder::freezer`]) |
//!
//! # Examples
//!
//! A server that answers every call with its argument plus one (a few
//! hidden lines, built on `ikc-channel`), and a client calling it:
//!
//! ```
//! # use std::io::{Read, Write};
//! # use std::net::TcpListener;
//! # use std::time::Instant;
//! # use ikc_channel::{Channel, ChannelEvent, Identity, Message, ServerChannelConfig};
//! # use ikc_freezer::Registry;
//! # type BoxError = Box<dyn std::error::Error + Send + Sync>;
//! # fn spawn_server() -> Result<u16, BoxError> {
//! #     let listener = TcpListener::bind("127.0.0.1:0")?;
//! #     let port = listener.local_addr()?.port();
//! #     std::thread::spawn(move || -> Result<(), BoxError> {
//! #         let (mut socket, _) = listener.accept()?;
//! #         let me = Identity::new("demo-1").with_name("Demo");
//! #         let mut channel = Channel::server(ServerChannelConfig::new(me, Registry::standard()), Instant::now())?;
//! #         let (mut buf, mut out) = (vec![0; 65536], Vec::new());
//! #         loop {
//! #             let n = socket.read(&mut buf)?;
//! #             if n == 0 {
//! #                 return Ok(());
//! #             }
//! #             channel.handle_input(&buf[..n])?;
//! #             while let Some(event) = channel.poll_event() {
//! #                 let ChannelEvent::Message(message) = event else { continue };
//! #                 if let Message { rsvp: Some(rsvp), params, .. } = *message {
//! #                     let params = params.as_array().map_or(params.clone(), |p| p[0].clone());
//! #                     channel.send(&Message::post(rsvp, params.as_i64().unwrap_or(0) + 1))?;
//! #                 }
//! #             }
//! #             while channel.poll_transmit(&mut out).is_some() {
//! #                 socket.write_all(&out)?;
//! #                 out.clear();
//! #             }
//! #         }
//! #     });
//! #     Ok(port)
//! # }
//! # fn main() -> Result<(), BoxError> {
//! use ikc_clientlite::{ClientLite, Value};
//!
//! let port = spawn_server()?;
//! let mut poe = ClientLite::builder("127.0.0.1", port).name("Demo-client").connect()?;
//! // Two Rust ends agree on the native codec (a Perl server would pick Storable).
//! assert_eq!(poe.peer().map(|p| p.freezer.as_str()), Some("IKC::Native"));
//!
//! // Relative specifiers go to the server: poe://demo-1/test/add_1.
//! assert_eq!(poe.call("test/add_1", 41)?, Value::Int(42));
//! let n: u8 = poe.call_as("test/add_1", 1)?;
//! assert_eq!(n, 2);
//! poe.post("test/here", "hello")?;
//! poe.disconnect();
//! # Ok(())
//! # }
//! ```
//!
//! # On the wire
//!
//! The client sends what Perl's ClientLite sends, so IKC servers (Perl's
//! or ours) cannot tell them apart:
//!
//! - its kernel name is its [`name`](Builder::name) alone, and it calls
//!   its session `IKCLite`: messages carry
//!   `from => {kernel => NAME, session => 'IKCLite'}`;
//! - `call` asks for the reply at `poe://NAME/IKCLite/response<N>` (N
//!   counts from 0 for each client) with `wantarray => ''` (`1` for
//!   [`call_list`](ClientLite::call_list));
//! - `post_respond` posts `[data, {kernel, session, state}]`;
//! - `ping` calls `poe://KERNEL-ID/IKC/ping` with the RSVP `IKC/pong`;
//! - relative specifiers (`session/state`) go to the server's first
//!   `SETUP` name (its kernel ID) over IKC0, and to `host:port` as written
//!   by the user over IKC's old handshake, as in Perl.
//!
//! The default freezers differ on purpose: `IKC::Native` then `Storable`
//! are offered, so a Rust server answers with the native codec and a Perl
//! one with Storable. Configured like a Perl ClientLite (same
//! [`name`](Builder::name), [`freezer`](Builder::freezer) and
//! [`protocol`](Builder::protocol)), the negotiation bytes are Perl's.
//!
//! # Waiting for replies
//!
//! A wait reads until the message it waits for arrives, or
//! [`timeout`](Builder::timeout) passes ([`LiteError::Timeout`], never a
//! hang), or the server closes the connection ([`LiteError::Closed`]).
//! Other messages that arrive meanwhile are treated as Perl's ClientLite
//! treats them:
//!
//! - a message with `is_error` set (IKC's `remote_error`: a state not
//!   published, an unknown session) ends the wait with
//!   [`LiteError::Remote`], carrying the server's message, kernel and
//!   operation. IKC's report does not say which request it is about: after
//!   a `post` to a state that does not exist, the report ends the next
//!   wait, whichever it is;
//! - a message for another state of `IKCLite` (a late reply to a call
//!   that timed out, say) or for another session is dropped with a
//!   `log::warn!`;
//! - a frame that cannot be thawed ends the wait with [`LiteError::Thaw`].
//!
//! Messages the server sends while no one waits are kept, in order (up to
//! a bound), for the next wait: so a state that posts back to its sender
//! before [`responded`](ClientLite::responded) is called is not missed.
//!
//! # Connection loss
//!
//! Before each write the client looks, without waiting, for anything the
//! server sent: a closed connection is noticed then, rather than by a
//! message written into it and lost. When the connection is found closed,
//! or a write fails, the client connects again and writes once more; if
//! that fails, the error is returned. A timeout or a closed connection
//! during a wait drops the connection (a late reply must not be taken for
//! the answer to a later request), and the next `post`, `call` or
//! `post_respond` connects again. [`ping`](ClientLite::ping) never
//! reconnects. After [`disconnect`](ClientLite::disconnect) nothing
//! reconnects until [`ensure_connected`](ClientLite::ensure_connected).
//!
//! # Threads
//!
//! A [`ClientLite`] is [`Send`]: give each thread its own, the way Perl
//! gives each process its own. Its methods take `&mut self`, because a
//! connection carries one conversation at a time: requests and replies
//! are matched in order on the one socket, and sharing it between threads
//! would mean a reader thread sorting replies out, which is an event loop
//! (use `ikc-client` for that). A connection costs one socket and a 64 KiB
//! buffer, so one per thread is cheap; if threads must share a few, a
//! `Mutex<ClientLite>` or a pool of them from any pool crate works, and
//! keeps the pooling policy (size, health checks with
//! [`ping`](ClientLite::ping)) in your hands.
//!
//! Each client of one server needs its own [`name`](Builder::name): the
//! server registers the first connection under a name and sends the
//! replies for that name there. The default names are unique within the
//! process: `Client<pid>` (Perl's default) for the first, then
//! `Client<pid>-1`, `Client<pid>-2`, ...
//!
//! ```no_run
//! use std::thread;
//!
//! use ikc_clientlite::ClientLite;
//!
//! let workers: Vec<_> = (0..4)
//!     .map(|i| {
//!         thread::spawn(move || -> Result<(), ikc_clientlite::LiteError> {
//!             let mut poe = ClientLite::connect("localhost", 31337)?;
//!             poe.post("jobs/done", i)?;
//!             Ok(())
//!         })
//!     })
//!     .collect();
//! for worker in workers {
//!     worker.join().expect("worker panicked")?;
//! }
//! # Ok::<(), ikc_clientlite::LiteError>(())
//! ```
//!
//! # Other streams
//!
//! [`Builder::connect_with`] takes a function that opens any [`BlockingStream`]
//! (a TLS stream, a tunnel, an in-memory pipe), called at each
//! (re)connection. The client drives IKC's `ikc-channel` over it with
//! plain blocking reads and writes.

#![warn(missing_docs)]
#![forbid(unsafe_code)]
#![doc(test(attr(deny(warnings))))]

mod builder;
mod client;
mod connection;
mod error;
mod reply;
mod stream;

pub use crate::builder::Builder;
pub use crate::client::ClientLite;
pub use crate::error::LiteError;

/// ClientLite's side of IKC, for other drivers of the same protocol (such
/// as the tokio client in `ikc-clientlite-async`): the channel a client
/// opens, how relative specifiers are resolved and what the client's
/// session is called.
pub mod protocol {
    pub use crate::client::resolve;
    pub use crate::connection::{Settings, remote_name};
    pub use crate::reply::{IKC_SESSION, SESSION};
}
pub use crate::stream::{Address, BlockingStream};

pub use ikc_channel::{
    ChannelError, ConfigError, Limits, MessageTarget, Peer, Protocol, Secret, TlsClient,
    TlsConfigError,
};
pub use ikc_freezer::{Hash, Registry, Value};
pub use ikc_specifier::HashForm;
