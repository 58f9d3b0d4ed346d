//! The IKC kernel: a single-threaded mio event loop in the image of POE's
//! `POE::Kernel` and `POE::Session`.
//!
//! A [`Kernel`] runs [`Session`]s. A session is a value whose
//! [`handle`](Session::handle) method receives [`Event`]s (the struct is
//! POE's heap), or an [`InlineStates`] built from one closure per state.
//! Handlers get a [`Ctx`] to post, call and yield events, set timers and
//! aliases, spawn children and watch I/O and signals. Event arguments are
//! [`Value`](ikc_freezer::Value)s, the same values IKC sends to other
//! kernels.
//!
//! # Example
//!
//! A session that counts to 10, yielding to itself and using a zero delay
//! on every other step; `run` returns when it has stopped:
//!
//! ```
//! use std::time::Duration;
//!
//! use ikc_core::{Ctx, Event, Kernel, Session};
//! use ikc_freezer::Value;
//!
//! struct Counter {
//!     n: i64,
//!     seen: std::rc::Rc<std::cell::RefCell<Vec<i64>>>,
//! }
//!
//! impl Session for Counter {
//!     fn handle(&mut self, ctx: &mut Ctx<'_>, ev: Event) -> Value {
//!         match ev.state() {
//!             "_start" => ctx.yield_("count", vec![]),
//!             "count" => {
//!                 self.n += 1;
//!                 self.seen.borrow_mut().push(self.n);
//!                 if self.n < 10 {
//!                     if self.n % 2 == 0 {
//!                         ctx.delay("count", Duration::ZERO, vec![]);
//!                     } else {
//!                         ctx.yield_("count", vec![]);
//!                     }
//!                 }
//!                 // Nothing else holds the session: after n == 10 it stops.
//!             }
//!             "_stop" => self.seen.borrow_mut().push(-1),
//!             _ => {}
//!         }
//!         Value::Undef
//!     }
//! }
//!
//! let seen = std::rc::Rc::default();
//! let mut kernel = Kernel::new()?;
//! kernel.spawn(Counter { n: 0, seen: std::rc::Rc::clone(&seen) });
//! kernel.run()?;
//! assert_eq!(*seen.borrow(), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, -1]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Calling rules
//!
//! - [`Ctx::post`] (and [`Ctx::yield_`], and every timer) only queues: it
//!   never runs another handler before it returns. Queued events are
//!   dispatched one at a time, first in first out; alarms join the queue
//!   when they are due.
//! - [`Ctx::call`] runs the target's handler at once, nested in the
//!   caller's, and returns its value. A session that is already running a
//!   handler (the caller itself, or a session further up the chain of
//!   calls) cannot be called again, because its state is borrowed by that
//!   handler: that is [`CallError::Reentrant`]. Post to it instead.
//! - `_start` runs inside [`Kernel::spawn`]/[`Ctx::spawn`]; `_stop` runs
//!   when the session stops. The other notices (`_child`, `_parent`, panic
//!   reports) are posted, so they arrive after events already queued.
//!
//! # Targets
//!
//! `post`/`call` take a [`Target`]: a [`SessionId`], or a string that is
//! an alias, a session id in digits, or an IKC specifier. A specifier whose
//! kernel is not given or is one of this kernel's names
//! ([`Kernel::add_name`]) is delivered locally. One naming another kernel
//! (or `*`) goes to the forwarder ([`Kernel::set_forwarder`]; the IKC
//! responder registers itself), which receives [`FORWARD_STATE`] with the
//! original SENDER and takes the parsed destination and the event with
//! [`Ctx::take_remote_post`] (nothing is printed back to text).
//! `post(to, state, args)` takes a specifier naming a session
//! (`poe://kernel/session`); [`Ctx::post_to`] takes the state from the
//! specifier (`poe://kernel/session/state`).
//!
//! # Senders, caller information, postbacks
//!
//! Every [`Event`] says who sent it ([`Sender`]: the kernel, a session of
//! this kernel, or a [`RemoteSender`] in another kernel, with its kernel,
//! session, state, file and line) and where from (`caller_state`,
//! `caller_file`, `caller_line`, which for a remote sender are the remote
//! caller's). [`Sender::target`] is where to post an answer, and
//! [`Ctx::sender_specifier`] turns a sender into a `poe://kernel/session`
//! string to store and post to later (Lightspeed's `SENDER->ID`).
//! [`Ctx::postback`] and [`Ctx::callback`] (and their `_to` forms, which
//! take an event's SENDER, remote ones included) make POE's postbacks and
//! callbacks: `Send + Sync` handles that post or call a state with the
//! arguments they were made with and the ones given, from any thread, and
//! keep their session alive while they exist.
//!
//! ```
//! use ikc_core::{InlineStates, Kernel, Sender};
//! use ikc_freezer::Value;
//!
//! let mut kernel = Kernel::new()?;
//! kernel.spawn(InlineStates::new()
//!     .state("_start", |_, ctx, _| {
//!         ctx.alias_set("pong").unwrap();
//!         ctx.yield_("ping", vec![Value::from(1)]);
//!     })
//!     .state("ping", |_, ctx, ev| {
//!         // Sent by this very session, from its `_start`, in this file.
//!         assert_eq!(ev.sender, Sender::Session(ctx.session_id()));
//!         assert_eq!(ev.caller_state(), Some("_start"));
//!         assert_eq!(ev.caller_file, file!());
//!         // A postback answers it, from another thread.
//!         let reply = ctx.postback_to(ev.sender.target().unwrap(), "pong", vec![]).unwrap();
//!         std::thread::spawn(move || reply.post(vec![Value::from("hi")]));
//!     })
//!     .state("pong", |_, ctx, ev| {
//!         assert_eq!(ev.args, [Value::from(Vec::<Value>::new()), Value::from(vec!["hi"])]);
//!         ctx.alias_remove("pong").unwrap();
//!     }));
//! kernel.run()?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # What keeps a session alive
//!
//! As in POE, a session lives while something holds it: events queued for
//! it, aliases, pending alarms, I/O watchers, child sessions, and extra
//! references ([`Ctx::refcount_increment`]). After each event it handles
//! (and after `_start`), a session nothing holds is stopped, as soon as no
//! handler is running (so a handler can still call or post to a session it
//! has just created or called): it receives
//! `_stop`, its alarms, watchers and aliases are removed, its children are
//! handed to its parent (`_parent` to each, `_child gain` to the parent),
//! and its parent receives `_child lose`. Signal watchers do not hold a
//! session. [`Kernel::run`] returns when no session remains, when the
//! kernel is stopped ([`Ctx::stop`], [`KernelHandle::stop`], an unhandled
//! SIGINT/SIGTERM), or when nothing could ever wake it again.
//!
//! # I/O
//!
//! [`Ctx::watch`] registers any mio source; its readiness invokes a state
//! with the arguments [`Readiness`] decodes. [`ReadWrite`] buffers a
//! nonblocking stream (POE's `Wheel::ReadWrite`).
//!
//! # Panics in handlers
//!
//! A handler that panics does not take the kernel down. The panic is
//! caught; it is logged with `log::error!` (session, state, message); the
//! session is stopped at once *without* `_stop` (its state may be broken
//! half-way through an update), as if its handler had been removed: its
//! alarms, watchers and aliases go, its children go to its parent, its
//! parent gets `_child lose` with `undef`, and its heap is dropped. Every
//! session registered with [`Ctx::on_panic`] (or
//! [`Kernel::set_panic_notify`]) is posted its chosen state with
//! `[session id, state, message, [aliases]]`. A `call` into the panicking
//! handler returns [`CallError::Panicked`].
//!
//! # Threads
//!
//! A kernel belongs to the thread that made it. Other threads post, call
//! and stop it through a [`KernelHandle`] (crossbeam channel plus mio
//! waker). Several kernels can run in one process, one per thread.

#![warn(missing_docs)]
#![forbid(unsafe_code)]
#![doc(test(attr(deny(warnings))))]

mod ctx;
mod destination;
mod error;
mod event;
mod handle;
mod ids;
#[doc(hidden)]
pub mod internal;
mod kernel;
mod postback;
mod sender;
mod session;
mod typed;
mod wheel;

pub use crate::ctx::{Ctx, RemovedAlarm};
pub use crate::destination::destination;
pub use crate::error::{
    AliasError, CallError, DeliveryError, KernelError, PostError, SessionError,
};
pub use crate::event::{CallerFile, Event, Readiness, StateName};
pub use crate::handle::KernelHandle;
pub use crate::ids::{AlarmId, SessionId, Target, WatcherId};
pub use crate::kernel::signals::Signal;
pub use crate::kernel::{FORWARD_STATE, Kernel, RemotePost, SessionInfo};
pub use crate::postback::{Callback, Postback};
pub use crate::sender::{RemoteSender, Sender};
pub use crate::session::{InlineStates, Session, Spawner, StateFn};
pub use crate::typed::ArgError;
pub use crate::wheel::{ReadWrite, ReadyOutcome};
/// mio's `Interest`, re-exported for [`Ctx::watch`].
pub use mio::Interest;
