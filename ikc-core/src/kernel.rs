//! [`Kernel`]: the event loop, and what code outside any handler can do
//! with it.

pub(crate) mod alarms;
pub(crate) mod core;
pub(crate) mod hash;
mod lifecycle;
mod names;
mod queue;
mod route;
pub(crate) mod sessions;
pub(crate) mod signals;
mod turn;
pub(crate) mod watchers;

use std::panic::Location;
use std::sync::Arc;
use std::time::Instant;

use crossbeam_channel::Receiver;
use ikc_freezer::Value;
use mio::{Events, Poll, Waker};

use self::core::Core;
use self::names::{Names, new_kernel_id};
pub use self::route::{FORWARD_STATE, RemotePost};
use self::signals::Signal;
use crate::error::{CallError, KernelError, PostError};
use crate::event::{Event, StateName};
use crate::handle::{KernelHandle, Remote, Shared};
use crate::ids::{SessionId, Target};
use crate::sender::Sender;
use crate::session::Session;

/// Events handled per turn before the loop polls for I/O again.
const BATCH: usize = 1024;

/// One event loop: POE's `$poe_kernel`, one per thread.
///
/// Create it, [`spawn`](Self::spawn) sessions (their `_start` runs at
/// once), then [`run`](Self::run) it until no session remains. Code
/// outside any handler can also [`post`](Self::post) and
/// [`call`](Self::call) (the SENDER is then [`Sender::Kernel`]), and other
/// threads reach the kernel through a [`KernelHandle`].
///
/// A kernel is not `Send`: it holds its sessions, which need not be. Run
/// several kernels on several threads, each created on its thread.
pub struct Kernel {
    core: Core,
    poll: Poll,
    events: Events,
    rx: Receiver<Remote>,
    /// Messages from other threads were left in the channel last turn.
    remote_backlog: bool,
    /// The channel from other threads has been closed (a run finished).
    remote_closed: bool,
}

impl std::fmt::Debug for Kernel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Kernel")
            .field("id", &self.core.names.id())
            .field("sessions", &self.core.sessions.len())
            .field("queued", &self.core.queue.len())
            .field("alarms", &self.core.alarms.len())
            .finish_non_exhaustive()
    }
}

/// What `sessions()` reports about one session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionInfo {
    /// Its id.
    pub id: SessionId,
    /// Its parent; `None` for the kernel.
    pub parent: Option<SessionId>,
    /// Its aliases.
    pub aliases: Vec<String>,
    /// Its children.
    pub children: Vec<SessionId>,
    /// Everything that holds it: queued events, aliases, alarms, watchers,
    /// children and extra references, each counted once.
    pub refcount: usize,
    /// Extra references (`refcount_increment`), all tags.
    pub extra_refs: usize,
}

impl SessionInfo {
    pub(crate) fn all(core: &Core) -> Vec<Self> {
        let mut all: Vec<Self> = core
            .sessions
            .iter()
            .map(|s| Self {
                id: s.id,
                parent: s.parent,
                aliases: s.aliases.clone(),
                children: s.children.clone(),
                refcount: s.refcount(),
                extra_refs: s.ref_total,
            })
            .collect();
        all.sort_by_key(|s| s.id);
        all
    }
}

impl Kernel {
    /// A new kernel with a new unique id. Reads the clock once, to start
    /// its notion of "now" (what `delay` counts from before the first
    /// turn).
    ///
    /// # Errors
    ///
    /// The poller or its waker could not be created.
    pub fn new() -> Result<Self, KernelError> {
        let poll = Poll::new()?;
        let registry = poll.registry().try_clone()?;
        let waker = Waker::new(poll.registry(), watchers::WAKE_TOKEN)?;
        let id = new_kernel_id();
        let (shared, rx) = Shared::new(waker, id.clone());
        Ok(Self {
            core: Core::new(registry, Names::new(id), shared, Instant::now()),
            poll,
            events: Events::with_capacity(256),
            rx,
            remote_backlog: false,
            remote_closed: false,
        })
    }

    /// The kernel's unique id (POE's `$kernel->ID`), in POE's shape
    /// `host-hextime-hexpid` plus a per-process counter:
    /// `vm-6b01b142-00000a62-00000001`.
    pub fn id(&self) -> &str {
        self.core.names.id()
    }

    /// Every name the kernel answers to in specifiers, its id first.
    pub fn names(&self) -> &[String] {
        self.core.names.all()
    }

    /// Add a name the kernel answers to; `false` if it already did.
    pub fn add_name(&mut self, name: &str) -> bool {
        self.core.names.add(name)
    }

    /// Remove a name; `false` if it was not one (the id stays).
    pub fn remove_name(&mut self, name: &str) -> bool {
        self.core.names.remove(name)
    }

    /// Is `name` this kernel's id or one of its names?
    pub fn is_local_name(&self, name: &str) -> bool {
        self.core.names.is_local(name)
    }

    /// A handle other threads can post through.
    pub fn handle(&self) -> KernelHandle {
        KernelHandle::new(Arc::clone(&self.core.shared))
    }

    /// Create a session whose parent is the kernel, and run its `_start`
    /// now (SENDER is the kernel). If nothing holds it after `_start`, it
    /// is stopped at once. If `_start` panics the session is gone when
    /// this returns.
    #[track_caller]
    pub fn spawn(&mut self, session: impl Session) -> SessionId {
        let id = self.core.spawn(None, Box::new(session), Location::caller());
        self.core.collect_pending_garbage();
        id
    }

    /// Queue an event from outside any handler (SENDER is the kernel).
    ///
    /// # Errors
    ///
    /// The target is unknown; the event is given back.
    #[track_caller]
    pub fn post<'t>(
        &mut self,
        to: impl Into<Target<'t>>,
        state: impl Into<StateName>,
        args: Vec<Value>,
    ) -> Result<(), PostError> {
        let event = Event::located(state.into(), args, Sender::Kernel, Location::caller());
        self.core.post(None, &to.into(), event)
    }

    /// Queue an event for the state a specifier names.
    ///
    /// # Errors
    ///
    /// As `Ctx::post_to`.
    #[track_caller]
    pub fn post_to(&mut self, spec: &str, args: Vec<Value>) -> Result<(), PostError> {
        let event = Event::located(
            StateName::new(spec),
            args,
            Sender::Kernel,
            Location::caller(),
        );
        self.core.post_to(None, spec, event)
    }

    /// Run a state now, from outside any handler, and return its value.
    ///
    /// # Errors
    ///
    /// As `Ctx::call`.
    #[track_caller]
    pub fn call<'t>(
        &mut self,
        to: impl Into<Target<'t>>,
        state: impl Into<StateName>,
        args: Vec<Value>,
    ) -> Result<Value, CallError> {
        let event = Event::located(state.into(), args, Sender::Kernel, Location::caller());
        let value = self.core.call(None, &to.into(), event);
        self.core.collect_pending_garbage();
        value
    }

    /// Call the state a specifier names.
    ///
    /// # Errors
    ///
    /// As `Ctx::call_to`.
    #[track_caller]
    pub fn call_to(&mut self, spec: &str, args: Vec<Value>) -> Result<Value, CallError> {
        let event = Event::located(
            StateName::new(spec),
            args,
            Sender::Kernel,
            Location::caller(),
        );
        let value = self.core.call_to(None, spec, event);
        self.core.collect_pending_garbage();
        value
    }

    /// Deliver a signal to the sessions watching it, now, as if the
    /// operating system had sent it (POE's `signal`). If none marks it
    /// handled, the kernel stops at the start of the next turn.
    pub fn signal(&mut self, signal: Signal) {
        self.core.deliver_signal(signal);
    }

    /// Stop every session now (children first, each with `_stop`) and drop
    /// every queued event, alarm and watcher.
    pub fn stop(&mut self) {
        self.core.shutdown();
    }

    /// Register (or, with `None`, remove) the session that receives events
    /// posted to other kernels, as [`FORWARD_STATE`].
    pub fn set_forwarder(&mut self, session: Option<SessionId>) {
        self.core.forwarder = session;
    }

    /// Keep `service` for the kernel's sessions to find by its type
    /// ([`Ctx::service`](crate::Ctx::service)), replacing one of the same type. A kernel-wide
    /// component (the IKC responder) keeps its shared state here, so any
    /// handler of this kernel reaches it without globals or thread-locals.
    pub fn set_service<T: 'static>(&mut self, service: std::rc::Rc<T>) {
        self.core.set_service(service);
    }

    /// The service of type `T`, if one is set.
    pub fn service<T: 'static>(&self) -> Option<std::rc::Rc<T>> {
        self.core.service::<T>()
    }

    /// The forwarder, if one is registered.
    pub fn forwarder(&self) -> Option<SessionId> {
        self.core.forwarder
    }

    /// Post `state` to `session` whenever a handler of another session
    /// panics (see `Ctx::on_panic`).
    pub fn set_panic_notify(&mut self, session: SessionId, state: impl Into<StateName>) {
        self.core.panic_notify.retain(|(id, _)| *id != session);
        self.core.panic_notify.push((session, state.into()));
    }

    /// Every session of the kernel, by id.
    pub fn sessions(&self) -> Vec<SessionInfo> {
        SessionInfo::all(&self.core)
    }

    /// How many sessions there are.
    pub fn session_count(&self) -> usize {
        self.core.sessions.len()
    }

    /// The session with this alias (or id in digits).
    pub fn alias_resolve(&self, name: &str) -> Option<SessionId> {
        self.core.lookup_name(name).map(|(_, id)| id)
    }

    /// A session's aliases.
    pub fn alias_list(&self, session: SessionId) -> Vec<String> {
        self.core
            .sessions
            .by_id(session)
            .map(|s| s.aliases.clone())
            .unwrap_or_default()
    }

    /// The time of the last turn (what delays count from).
    pub fn now(&self) -> Instant {
        self.core.now
    }

    /// How many events are queued.
    pub fn queue_len(&self) -> usize {
        self.core.queue.len()
    }

    /// How many alarms are pending.
    pub fn alarm_count(&self) -> usize {
        self.core.alarms.len()
    }
}

impl Drop for Kernel {
    fn drop(&mut self) {
        self.close_remote();
    }
}

#[cfg(test)]
mod tests;
