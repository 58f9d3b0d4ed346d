//! [`Ctx`]: what a handler gets, POE's `KERNEL` and `SESSION` in one.

mod io;
mod sessions;
mod timers;

use std::panic::Location;
use std::time::Instant;

use ikc_freezer::Value;

pub use self::timers::RemovedAlarm;
use crate::error::{CallError, DeliveryError, PostError};
use crate::event::{Event, StateName};
use crate::handle::KernelHandle;
use crate::ids::{SessionId, Target};
use crate::kernel::core::Core;
use crate::sender::Sender;
use crate::session::{Session, StateChange, boxed};

/// The kernel as seen from inside a handler, for the session running it.
///
/// Every handler gets `&mut Ctx`: it names the running session
/// ([`session_id`](Self::session_id), POE's `SESSION`), and does what POE
/// does through `$_[KERNEL]`: post, call and yield events, set timers,
/// aliases and references, spawn children, watch I/O and signals, and stop
/// the kernel. The event's SENDER, state and arguments are in the
/// [`Event`] the handler receives; the heap is the session itself.
///
/// # Calling rules
///
/// - [`post`](Self::post), [`yield_`](Self::yield_) and the timers only
///   queue: they never run another handler before returning, so a handler
///   always finishes before the next event is dispatched.
/// - [`call`](Self::call) runs the target's handler at once, nested inside
///   this one, and returns its value. A session whose handler is already
///   running (this one, or one further up a chain of calls) cannot be
///   called: its state is borrowed by that handler. That is a
///   [`CallError::Reentrant`]; post to it instead.
pub struct Ctx<'k> {
    pub(crate) core: &'k mut Core,
    pub(crate) slot: u32,
    pub(crate) me: SessionId,
    /// The state being handled (the `CALLER_STATE` of events made here).
    pub(crate) state: StateName,
}

impl std::fmt::Debug for Ctx<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ctx")
            .field("session", &self.me)
            .field("kernel", &self.core.names.id())
            .finish_non_exhaustive()
    }
}

impl<'k> Ctx<'k> {
    pub(crate) fn new(core: &'k mut Core, slot: u32, me: SessionId, state: StateName) -> Self {
        Self {
            core,
            slot,
            me,
            state,
        }
    }

    /// An event sent by this session from `at`, while handling the current
    /// state.
    pub(crate) fn event(
        &self,
        state: StateName,
        args: Vec<Value>,
        at: &'static Location<'static>,
    ) -> Event {
        Event {
            caller_state: Some(self.state.clone()),
            ..Event::located(state, args, Sender::Session(self.me), at)
        }
    }

    /// The state this handler is handling (POE's `$_[STATE]`).
    pub fn current_state(&self) -> &str {
        self.state.as_str()
    }

    /// The running session (POE's `$_[SESSION]->ID`).
    pub fn session_id(&self) -> SessionId {
        self.me
    }

    /// The kernel's unique id (POE's `$kernel->ID`).
    pub fn kernel_id(&self) -> &str {
        self.core.names.id()
    }

    /// Every name the kernel answers to, its id first.
    pub fn names(&self) -> &[String] {
        self.core.names.all()
    }

    /// Add a name the kernel answers to in specifiers; `false` if it
    /// already did.
    pub fn add_name(&mut self, name: &str) -> bool {
        self.core.names.add(name)
    }

    /// Remove a name; `false` if it was not one (the id cannot be removed).
    pub fn remove_name(&mut self, name: &str) -> bool {
        self.core.names.remove(name)
    }

    /// Is `name` this kernel's id or one of its names?
    pub fn is_local_name(&self, name: &str) -> bool {
        self.core.names.is_local(name)
    }

    /// The time of the current turn of the loop (what delays count from).
    pub fn now(&self) -> Instant {
        self.core.now
    }

    /// Queue an event for a session (POE's `post`). `to` is a session id,
    /// an alias, or a specifier naming a session (`poe://kernel/session`,
    /// without a state: use [`post_to`](Self::post_to) for that).
    ///
    /// # Errors
    ///
    /// The target is unknown (the event is given back in the error).
    #[track_caller]
    pub fn post<'t>(
        &mut self,
        to: impl Into<Target<'t>>,
        state: impl Into<StateName>,
        args: Vec<Value>,
    ) -> Result<(), PostError> {
        let event = self.event(state.into(), args, Location::caller());
        self.core.post(Some(self.me), &to.into(), event)
    }

    /// Queue an event for the state a specifier names
    /// (`poe://kernel/session/state`, `poe:/session/state`, `poe:state` for
    /// this session, with IKC's `?arg` appended to the arguments).
    ///
    /// # Errors
    ///
    /// The specifier does not parse, names no state, or names an unknown
    /// session, or another kernel while no forwarder is registered.
    #[track_caller]
    pub fn post_to(&mut self, spec: &str, args: Vec<Value>) -> Result<(), PostError> {
        let event = self.event(StateName::new(spec), args, Location::caller());
        self.core.post_to(Some(self.me), spec, event)
    }

    /// Run a state of another session now and return its value (POE's
    /// `call`). See the calling rules in the type docs.
    ///
    /// # Errors
    ///
    /// The target is unknown or in another kernel, is already running a
    /// handler ([`CallError::Reentrant`]), or its handler panicked.
    #[track_caller]
    pub fn call<'t>(
        &mut self,
        to: impl Into<Target<'t>>,
        state: impl Into<StateName>,
        args: Vec<Value>,
    ) -> Result<Value, CallError> {
        let event = self.event(state.into(), args, Location::caller());
        self.core.call(Some(self.me), &to.into(), event)
    }

    /// [`call`](Self::call) on behalf of another sender: the handler sees
    /// `sender` as its SENDER. The IKC responder calls a request's state
    /// this way, with SENDER the remote session (a [`Sender::Remote`]
    /// answered by the thunk session that stands for it, so that posting to
    /// SENDER answers the remote session), without a hop through the
    /// thunk. For a remote sender the event's caller state, file and line
    /// are the remote ones. `sender` is not checked: posts to a SENDER that
    /// does not exist fail as usual.
    ///
    /// # Errors
    ///
    /// As [`call`](Self::call).
    #[track_caller]
    pub(crate) fn call_as<'t>(
        &mut self,
        sender: impl Into<Sender>,
        to: impl Into<Target<'t>>,
        state: impl Into<StateName>,
        args: Vec<Value>,
    ) -> Result<Value, CallError> {
        let event = self.event_as(sender.into(), state.into(), args, Location::caller());
        self.core.call(Some(self.me), &to.into(), event)
    }

    /// [`post`](Self::post) on behalf of another sender, as
    /// [`call_as`](Self::call_as) calls.
    ///
    /// # Errors
    ///
    /// As [`post`](Self::post).
    #[track_caller]
    pub(crate) fn post_as<'t>(
        &mut self,
        sender: impl Into<Sender>,
        to: impl Into<Target<'t>>,
        state: impl Into<StateName>,
        args: Vec<Value>,
    ) -> Result<(), PostError> {
        let event = self.event_as(sender.into(), state.into(), args, Location::caller());
        self.core.post(Some(self.me), &to.into(), event)
    }

    fn event_as(
        &self,
        sender: Sender,
        state: StateName,
        args: Vec<Value>,
        at: &'static Location<'static>,
    ) -> Event {
        match sender {
            Sender::Remote(remote) => Event::from_remote(state, args, remote),
            Sender::Session(id) if id == self.me => self.event(state, args, at),
            other => Event::located(state, args, other, at),
        }
    }

    /// Lightspeed's `call`, which reaches other kernels: run the state `to`
    /// names and have its return value posted to the state `rsvp` names.
    /// Each is a specifier string, an array `[kernel, session, state]` or
    /// a hash `{KERNEL, SESSION, STATE}` (or lower-case keys; see
    /// [`destination`](crate::destination)). An RSVP without a session
    /// means this session; without a kernel, this kernel.
    ///
    /// A state of this kernel runs now, and its value (unless undefined) is
    /// posted to the RSVP. A state of another kernel is sent there through
    /// IKC, which posts its value back to the RSVP; the RSVP state needs no
    /// publishing (the answer is allowed once).
    ///
    /// # Errors
    ///
    /// A destination that is not one, an RSVP without a state, an unknown
    /// session, or, for a local state, what [`call`](Self::call) returns.
    #[track_caller]
    pub fn call_rsvp(
        &mut self,
        to: impl Into<Value>,
        rsvp: impl Into<Value>,
        args: Vec<Value>,
    ) -> Result<(), CallError> {
        let event = self.event(StateName::from_static(""), args, Location::caller());
        let to = crate::destination(&to.into())?;
        let mut rsvp = crate::destination(&rsvp.into())?;
        if rsvp.state.is_none() {
            return Err(DeliveryError::MissingState(rsvp.to_string()).into());
        }
        if !rsvp.session.is_specified() {
            let me = self.aliases(self.me).first().cloned();
            rsvp.session = ikc_specifier::Part::name(me.unwrap_or_else(|| self.me.to_string()));
        }
        self.core.call_rsvp(Some(self.me), to, rsvp, event)
    }

    /// [`call`](Self::call) the state a specifier names.
    ///
    /// # Errors
    ///
    /// As [`call`](Self::call), and as [`post_to`](Self::post_to) for the
    /// specifier.
    #[track_caller]
    pub fn call_to(&mut self, spec: &str, args: Vec<Value>) -> Result<Value, CallError> {
        let event = self.event(StateName::new(spec), args, Location::caller());
        self.core.call_to(Some(self.me), spec, event)
    }

    /// Queue an event for this session (POE's `yield`).
    #[track_caller]
    pub fn yield_(&mut self, state: impl Into<StateName>, args: Vec<Value>) {
        let event = self.event(state.into(), args, Location::caller());
        self.core.enqueue(self.slot, self.me, event);
    }

    /// Create a child session and run its `_start` now. The parent (this
    /// session) receives `_child` `["create", id, value of _start]` as a
    /// posted event (POE calls it; here the parent is busy running this
    /// handler). The child lives at least until this handler returns, so
    /// it can be posted to or called right away even if nothing else holds
    /// it; after that it is stopped if nothing does.
    #[track_caller]
    pub fn spawn(&mut self, session: impl Session) -> SessionId {
        self.core
            .spawn(Some(self.me), Box::new(session), Location::caller())
    }

    /// Stop the kernel: when this handler returns, every session is
    /// stopped (children first, each with `_stop`), queued events, timers
    /// and watchers are dropped, and `run` returns.
    pub fn stop(&mut self) {
        self.core.stop_requested = true;
    }

    /// A handle other threads can post through.
    pub fn handle(&self) -> KernelHandle {
        KernelHandle::new(std::sync::Arc::clone(&self.core.shared))
    }

    /// Report that the running handler failed (POE's `die` in a handler
    /// that IKC catches): the `call` that ran it returns
    /// [`CallError::Failed`] with `message` (the handler's return value is
    /// dropped); a posted event's failure is logged with `log::warn!`. A
    /// request from another kernel that fails is reported by the IKC
    /// responder as any failed request is: to the local error monitors and
    /// back to the requester as `IKC/remote_error`. The session is not
    /// stopped. Typed states ([`InlineStates::typed_state`](crate::InlineStates::typed_state))
    /// fail this way on a bad argument.
    pub fn fail(&mut self, message: impl Into<String>) {
        self.core.failure = Some((self.core.depth, message.into()));
    }

    /// Make this session the forwarder: it receives, as
    /// [`FORWARD_STATE`](crate::FORWARD_STATE), every event posted to a
    /// specifier naming another kernel. The IKC responder registers itself.
    pub(crate) fn set_forwarder(&mut self) {
        self.core.forwarder = Some(self.me);
    }

    /// Stop being the forwarder (if this session is it).
    pub(crate) fn clear_forwarder(&mut self) {
        if self.core.forwarder == Some(self.me) {
            self.core.forwarder = None;
        }
    }

    /// The forwarder's side of a [`FORWARD_STATE`](crate::FORWARD_STATE)
    /// event: the oldest event posted to another kernel that was handed to
    /// this session as the forwarder (it may have stopped being the
    /// forwarder since: what was handed to it is still its to send).
    pub fn take_remote_post(&mut self) -> Option<crate::RemotePost> {
        let me = self.me;
        let at = self
            .core
            .remote_posts
            .iter()
            .position(|(id, _)| *id == me)?;
        self.core.remote_posts.remove(at).map(|(_, post)| post)
    }

    /// Keep `service` for the kernel's sessions to find by its type
    /// (see [`Kernel::set_service`](crate::Kernel::set_service)).
    pub fn set_service<T: 'static>(&mut self, service: std::rc::Rc<T>) {
        self.core.set_service(service);
    }

    /// The kernel's service of type `T`, if one is set.
    pub fn service<T: 'static>(&self) -> Option<std::rc::Rc<T>> {
        self.core.service::<T>()
    }

    /// Remove the kernel's service of type `T`, returning it.
    pub fn remove_service<T: 'static>(&mut self) -> Option<std::rc::Rc<T>> {
        self.core.remove_service::<T>()
    }

    /// The forwarder session, if one is registered.
    pub fn forwarder(&self) -> Option<SessionId> {
        self.core.forwarder
    }

    /// Be told when a handler of another session panics: `state` is posted
    /// to this session with `[session id, state, panic message, [aliases]]`.
    pub fn on_panic(&mut self, state: impl Into<StateName>) {
        let state = state.into();
        let me = self.me;
        self.core.panic_notify.retain(|(id, _)| *id != me);
        self.core.panic_notify.push((me, state));
    }

    /// Stop being told about panics.
    pub fn on_panic_remove(&mut self) {
        let me = self.me;
        self.core.panic_notify.retain(|(id, _)| *id != me);
    }

    /// Add (or replace) a state of this session at run time (POE's
    /// `$kernel->state(name, sub)`). Only [`InlineStates`](crate::InlineStates)
    /// sessions have a state table, and `H` must be their heap type; the
    /// change takes effect when the running handler returns. A `Session`
    /// type dispatches on its own, so it keeps its own table instead.
    pub fn state_add<H, R, F>(&mut self, name: impl Into<StateName>, f: F)
    where
        H: 'static,
        R: Into<Value>,
        F: FnMut(&mut H, &mut Ctx<'_>, Event) -> R + 'static,
    {
        let f: Box<dyn std::any::Any> = Box::new(boxed(f));
        self.core
            .state_changes
            .push((self.me, StateChange::Add(name.into(), f)));
    }

    /// Remove a state of this session (see [`state_add`](Self::state_add)).
    pub fn state_remove(&mut self, name: impl Into<StateName>) {
        self.core
            .state_changes
            .push((self.me, StateChange::Remove(name.into())));
    }

    pub(crate) fn has_state_changes(&self) -> bool {
        !self.core.state_changes.is_empty()
    }

    pub(crate) fn take_state_changes(&mut self) -> Vec<StateChange> {
        let me = self.me;
        let (mine, rest) = std::mem::take(&mut self.core.state_changes)
            .into_iter()
            .partition(|(id, _)| *id == me);
        self.core.state_changes = rest;
        mine.into_iter().map(|(_, c)| c).collect()
    }

    pub(crate) fn slot(&self) -> &crate::kernel::sessions::Slot {
        self.core
            .sessions
            .get(self.slot, self.me)
            .expect("the running session exists while its handler runs")
    }

    pub(crate) fn slot_mut(&mut self) -> &mut crate::kernel::sessions::Slot {
        self.core
            .sessions
            .get_mut(self.slot, self.me)
            .expect("the running session exists while its handler runs")
    }
}
