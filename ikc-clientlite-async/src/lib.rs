//! An async IKC client for tokio: the methods of
//! [`ikc_clientlite::ClientLite`] (post, call, call_list, call_as,
//! post_respond, responded, ping), as futures, on one connection that any
//! number of tasks share.
//!
//! It speaks IKC exactly as ClientLite does (the same `ikc-channel`
//! negotiation and messages, the session `IKCLite`, `response<N>` RSVP
//! states), so it works with Perl IKC servers and with ours. Blocking
//! programs keep using `ikc-clientlite`, which does not build tokio.
//!
//! | ClientLite | here |
//! |---|---|
//! | `ClientLite::connect(host, port)?` | [`AsyncClientLite::connect`]`(host, port).await?` |
//! | `ClientLite::builder(..)...connect()?` | [`Builder`]`::tcp(..)...connect().await?` |
//! | `poe.call(spec, data)?` (`&mut self`) | `poe.call(spec, data).await?` (`&self`; clone the handle for other tasks) |
//! | `.secret(..)`, `.tls(..)` on the builder | the same on [`Builder`]: the shared secret and TLS, in `ikc-channel`'s channel |
//! | errors: [`LiteError`] | the same type |
//!
//! # Examples
//!
//! An IKC server kernel (hidden: `ikc-server`, a session `test`
//! publishing `add_1`) and a hundred tasks calling it at once over one
//! connection:
//!
//! ```
//! # use ikc_core::{InlineStates, Kernel};
//! # use ikc_responder::Ikc;
//! # use ikc_server::{Server, ServerConfig};
//! # fn spawn_server() -> u16 {
//! #     let (tx, rx) = std::sync::mpsc::channel();
//! #     std::thread::spawn(move || {
//! #         let mut kernel = Kernel::new().unwrap();
//! #         let config = ServerConfig::tcp("127.0.0.1", 0).name("Server");
//! #         let listening = Server::spawn(&mut kernel, config).unwrap();
//! #         kernel.spawn(InlineStates::new()
//! #             .state("_start", |_, ctx, _| {
//! #                 ctx.alias_set("test").unwrap();
//! #                 Ikc::of(ctx).unwrap().publish("test", &["add_1", "bye"]);
//! #             })
//! #             .typed_state("add_1", |_, n: i64| Ok::<_, String>(n + 1))
//! #             .state("bye", |_, ctx, _| Ikc::of(ctx).unwrap().shutdown(ctx)));
//! #         tx.send(listening.port().unwrap()).unwrap();
//! #         kernel.run().unwrap();
//! #     });
//! #     rx.recv().unwrap()
//! # }
//! use ikc_clientlite_async::{AsyncClientLite, LiteError};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let port = spawn_server();
//! let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
//! runtime.block_on(async {
//!     let poe = AsyncClientLite::connect("127.0.0.1", port).await?;
//!     let tasks: Vec<_> = (0..100_i64)
//!         .map(|i| {
//!             let poe = poe.clone();
//!             tokio::spawn(async move { poe.call_as::<i64>("test/add_1", i).await })
//!         })
//!         .collect();
//!     for (i, task) in (0..).zip(tasks) {
//!         assert_eq!(task.await.expect("task")?, i + 1);
//!     }
//!     poe.post("test/bye", ()).await?;
//!     Ok::<(), LiteError>(())
//! })?;
//! # Ok(())
//! # }
//! ```
//!
//! # Threads and tasks
//!
//! [`AsyncClientLite`] is `Clone + Send + Sync`. Every clone shares one
//! connection, driven by a task spawned on the runtime at `connect`;
//! requests from all clones are written in the order the task gets them,
//! and each reply goes to the task waiting for it. The task ends when the
//! last clone is dropped.

#![warn(missing_docs)]
#![forbid(unsafe_code)]
#![doc(test(attr(deny(warnings))))]

mod builder;
mod client;
mod driver;

pub use crate::builder::Builder;
pub use crate::client::AsyncClientLite;
pub use ikc_channel::{MessageTarget, Peer, Protocol};
pub use ikc_clientlite::{Address, LiteError, Secret, TlsClient};
pub use ikc_freezer::Value;
