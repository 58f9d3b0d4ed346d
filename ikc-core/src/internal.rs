//! Hooks for the IKC responder, not for sessions: registering the
//! forwarder of posts to other kernels, and calling or posting on behalf
//! of a remote sender. Hidden from the docs and outside the API's stability: a session
//! that used them would take over every remote post of its kernel, or
//! forge its SENDER.

use ikc_freezer::Value;

use crate::ctx::Ctx;
use crate::error::{CallError, PostError};
use crate::event::StateName;
use crate::ids::Target;
use crate::sender::Sender;

/// Make the running session the forwarder: it receives, as
/// [`FORWARD_STATE`](crate::FORWARD_STATE), every event posted to a
/// specifier naming another kernel.
pub fn set_forwarder(ctx: &mut Ctx<'_>) {
    ctx.set_forwarder();
}

/// Stop being the forwarder (if the running session is it).
pub fn clear_forwarder(ctx: &mut Ctx<'_>) {
    ctx.clear_forwarder();
}

/// A number that changes whenever an alias of this kernel is set or
/// removed (an alias also goes with its session): what
/// [`Ctx::alias_resolve`] answered stays true while this stays the same,
/// so the responder can keep a resolved request target.
pub fn alias_generation(ctx: &Ctx<'_>) -> u64 {
    ctx.alias_generation()
}

/// [`Ctx::alias_resolve`], also saying how the name was found: `true`
/// if it is the session's id (digits, and no alias by that name), `false`
/// if it is an alias. A session found by its id can stop without any
/// alias changing, so [`alias_generation`] does not vouch for it.
pub fn resolve_session(ctx: &Ctx<'_>, name: &str) -> Option<(crate::SessionId, bool)> {
    ctx.resolve_session(name)
}

/// `ctx.call` on behalf of another sender: the handler sees `sender` as
/// its SENDER (the responder calls a request's state so, with SENDER the
/// remote session, answered by the thunk that stands for it).
///
/// # Errors
///
/// As [`Ctx::call`].
#[track_caller]
pub fn call_as<'t>(
    ctx: &mut Ctx<'_>,
    sender: impl Into<Sender>,
    to: impl Into<Target<'t>>,
    state: impl Into<StateName>,
    args: Vec<Value>,
) -> Result<Value, CallError> {
    ctx.call_as(sender, to, state, args)
}

/// `ctx.post` on behalf of another sender, as [`call_as`] calls.
///
/// # Errors
///
/// As [`Ctx::post`].
#[track_caller]
pub fn post_as<'t>(
    ctx: &mut Ctx<'_>,
    sender: impl Into<Sender>,
    to: impl Into<Target<'t>>,
    state: impl Into<StateName>,
    args: Vec<Value>,
) -> Result<(), PostError> {
    ctx.post_as(sender, to, state, args)
}
