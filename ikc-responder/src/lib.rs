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
//! - **call through the kernel**, Lightspeed's way:
//!   `ctx.call_rsvp(destination, rsvp, args)`, each a `poe://` string, an
//!   array `[kernel, session, state]` or a hash `{KERNEL, SESSION, STATE}`
//!   (the `IKC` session's `post` and `call` states take these forms too);
//! - run in **no-publish mode** ([`Ikc::no_publish`]): remote kernels
//!   reach any aliased session's states, as far as an authorization hook
//!   allows;
//! - **shutdown** ([`Ikc::shutdown`]);
//! - let another kernel **watch** what this kernel's monitors see, by
//!   calling `IKC/watch` (what `ikc watch` does).
//!
//! A state invoked from another kernel sees a remote `SENDER`
//! ([`ikc_core::Sender::Remote`]): the remote kernel, session and state,
//! and the file and line it posted from (Lightspeed's SENDER details, sent
//! in a `caller` key Perl IKC ignores; a Perl sender says only its kernel
//! and session), answered by a thunk session: posting to it sends back to
//! the remote session (IKC's proxy SENDER), and so do postbacks made for
//! it. A request that cannot be delivered is reported to local error
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

//!
//! # Lightspeed's forms
//!
//! The same through IKC with Lightspeed's forms: no-publish mode with its
//! hook, a call whose destination is an array and whose RSVP is a hash,
//! the handler reading its remote SENDER's details, and a postback to that
//! SENDER. (Between two kernels it is the same; `cargo run --example
//! lightspeed` runs Lightspeed's synopsis over TCP.)
//!
//! ```
//! use ikc_core::{InlineStates, Kernel};
//! use ikc_freezer::{Hash, Value};
//! use ikc_responder::{Ikc, Responder};
//! use std::{cell::RefCell, rc::Rc};
//!
//! let mut kernel = Kernel::new()?;
//! let ikc = Responder::spawn(&mut kernel);
//! // Nothing is published: the hook lets remote kernels reach `who` and
//! // `me` (and what is published, such as RSVP answers, allowed once).
//! ikc.no_publish(|req| match (req.published, req.session) {
//!     (true, _) | (_, "who" | "me") => Ok(()),
//!     _ => Err("private".into()),
//! });
//! let me = kernel.id().to_owned();
//!
//! kernel.spawn(InlineStates::new()
//!     .state("_start", |_, ctx, _| { ctx.alias_set("who").unwrap(); })
//!     .state("whoami", |_, ctx, ev| {
//!         // Who called, from where: kernel, session, state, file, line.
//!         let from = ev.sender.remote().expect("through IKC: a remote SENDER");
//!         assert_eq!((from.session(), from.state()), ("me", Some("_start")));
//!         assert_eq!(ev.caller_file, file!());
//!         // Answer it later, through a postback.
//!         let later = ctx.postback_to(ev.sender.target().unwrap(), "later", vec![]).unwrap();
//!         later.post_from(ctx, vec![Value::from("bye")]).unwrap();
//!         Value::from(format!("you are {}", ctx.sender_specifier(&ev.sender).unwrap()))
//!     }));
//!
//! let got = Rc::new(RefCell::new(Vec::new()));
//! let (g1, g2) = (Rc::clone(&got), Rc::clone(&got));
//! kernel.spawn(InlineStates::new()
//!     .state("_start", move |_, ctx, _| {
//!         ctx.alias_set("me").unwrap();
//!         let mut rsvp = Hash::new();
//!         rsvp.insert("SESSION", "me");
//!         rsvp.insert("STATE", "answer");
//!         let to = Value::from(vec![me.as_str(), "who", "whoami"]);
//!         ctx.call("IKC", "call", vec![to, Value::Undef, Value::Hash(rsvp)]).unwrap();
//!     })
//!     .state("answer", move |_, _, ev| g1.borrow_mut().push(ev.args[0].to_string()))
//!     .state("later", move |_, ctx, ev| {
//!         g2.borrow_mut().push(ev.args[1][0].to_string());
//!         Ikc::of(ctx).unwrap().shutdown(ctx);
//!         ctx.alias_remove("me").unwrap();
//!     }));
//!
//! kernel.run()?;
//! let me = kernel.id();
//! assert_eq!(*got.borrow(), [format!("you are poe://{me}/me"), "bye".to_owned()]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![warn(missing_docs)]
#![forbid(unsafe_code)]
#![doc(test(attr(deny(warnings))))]

mod api;
mod caller;
mod error;
mod introspect;
mod link;
mod local;
mod mesh;
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
mod trace;
mod traffic;
mod watch;

pub use crate::api::{Ikc, KernelInfo, Reached};
pub use crate::error::{ConnectionError, IkcError, MeshConfigError, Operation, unix_name};
pub use crate::introspect::{Counters, LinkInfo, RouteInfo, SessionSummary};
pub use crate::link::{
    ChannelOptions, ChannelStream, DEFAULT_CLOSE_TIMEOUT, DEFAULT_HIGH_WATER, OnConnect, OnError,
    spawn_channel,
};
pub use crate::monitor::{MonitorOp, MonitorStates};
pub use crate::remote_call::{CALLS_ALIAS, RemoteCallError, RemoteCalls, RemoteReply};
pub use crate::responder::{IKC_ALIAS, Responder};
pub use crate::security::{LinkSecurity, RequestAuthorizer, RequestCheck};
pub use crate::trace::DEFAULT_TRACE_STATE;
pub use crate::watch::DEFAULT_WATCH_STATE;
pub use ikc_channel::{
    Authorizer, ChannelError, ConfigError, ConnectingPeer, Limits, Protocol, Secret, Side,
    TlsClient, TlsConfigError, TlsServer,
};
pub use ikc_router::{KernelEntry as MeshKernel, RouterConfig, RouterStats};
