//! The IKC responder: the `IKC` session that lets kernels post events to
//! each other, and the channel, proxy and thunk sessions that work for it
//! (POE::Component::IKC::Responder, ::Channel and ::Proxy).
//!
//! A kernel that talks IKC runs one [`Responder`] (servers and clients
//! start it for you). Sessions use it through its object interface
//! [`Ikc`], or by posting to the `IKC` session's states as in Perl:
//!
//! - **publish** states so other kernels may invoke them
//!   ([`Ikc::publish`]); the `IKC` session publishes `ping`,
//!   `do_you_have` and `remote_error` itself;
//! - **post** to a remote state ([`Ikc::post`], or straight from any
//!   session: `ctx.post_to("poe://Server/session/state", args)`);
//! - **call** a remote state and get its return value posted to an RSVP
//!   state ([`Ikc::call`]); the RSVP state needs no publishing;
//! - **subscribe** to remote sessions, which creates local proxy sessions
//!   you post to like any other ([`Ikc::subscribe`]);
//! - **monitor** remote kernels coming and going, channels, subscriptions
//!   and errors ([`Ikc::monitor`], [`MonitorStates`]);
//! - **shutdown** ([`Ikc::shutdown`]);
//! - let another kernel **watch** what this kernel's monitors see, by
//!   calling `IKC/watch` (what `ikc watch` does).
//!
//! A state invoked from another kernel sees a thunk session as its
//! `SENDER`: posting to it sends back to the remote session (IKC's proxy
//! SENDER). A request that cannot be delivered is reported to local error
//! monitors as `local-<stage>` and answered with `IKC/remote_error`, which
//! the sender's monitors see as `remote-<stage>`; an error is never
//! answered with an error.
//!
//! # Example
//!
//! A kernel may post to itself through IKC by any of its names; here a
//! session calls a published state of its own kernel and gets the answer
//! at its RSVP state. (Servers and clients, in `ikc-server` and
//! `ikc-client`, connect kernels to each other the same way.)
//!
//! ```
//! use ikc_core::{InlineStates, Kernel};
//! use ikc_freezer::Value;
//! use ikc_responder::{Ikc, Responder};
//! use std::{cell::RefCell, rc::Rc};
//!
//! let mut kernel = Kernel::new()?;
//! let ikc = Responder::spawn(&mut kernel);
//! let answer = Rc::new(RefCell::new(Value::Undef));
//!
//! kernel.spawn(InlineStates::new()
//!     .state("_start", |_, ctx, _| { ctx.alias_set("test").unwrap(); })
//!     .state("add_1", |_, _, ev| Value::from(ev.args[0].as_i64().unwrap_or(0) + 1)));
//! ikc.publish("test", &["add_1"]);
//!
//! let got = Rc::clone(&answer);
//! kernel.spawn(InlineStates::new()
//!     .state("_start", |_, ctx, _| {
//!         ctx.alias_set("me").unwrap();
//!         let ikc = Ikc::of(ctx).unwrap();
//!         let me = ctx.kernel_id().to_owned();
//!         assert_eq!(ikc.call(ctx, &format!("poe://{me}/test/add_1"), 41, "answer"), 1);
//!     })
//!     .state("answer", move |_, ctx, ev| {
//!         *got.borrow_mut() = ev.args[0].clone();
//!         Ikc::of(ctx).unwrap().shutdown(ctx);
//!     }));
//!
//! kernel.run()?;
//! assert_eq!(*answer.borrow(), Value::Int(42));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![warn(missing_docs)]
#![forbid(unsafe_code)]
#![doc(test(attr(deny(warnings))))]

mod api;
mod error;
mod link;
mod local;
mod monitor;
mod proxy;
mod published;
mod remote;
mod remote_call;
mod request;
mod responder;
mod security;
mod send;
mod state;
mod subscription;
mod thunk;
mod watch;

pub use crate::api::{Ikc, KernelInfo};
pub use crate::error::{ConnectionError, IkcError, Operation, unix_name};
pub use crate::link::{
    ChannelOptions, ChannelStream, DEFAULT_CLOSE_TIMEOUT, DEFAULT_HIGH_WATER, OnConnect, OnError,
    spawn_channel,
};
pub use crate::monitor::{MonitorOp, MonitorStates};
pub use crate::remote_call::{CALLS_ALIAS, RemoteCallError, RemoteCalls, RemoteReply};
pub use crate::responder::{IKC_ALIAS, Responder};
pub use crate::security::{LinkSecurity, RequestAuthorizer, RequestCheck};
pub use crate::watch::DEFAULT_WATCH_STATE;
pub use ikc_channel::{
    Authorizer, ChannelError, ConfigError, ConnectingPeer, Limits, Protocol, Secret, Side,
    TlsClient, TlsConfigError, TlsServer,
};
