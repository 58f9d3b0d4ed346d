//! The kernel's state and the dispatcher: running a handler, catching its
//! panic, collecting garbage, stopping and freeing sessions.

use std::any::Any;
use std::panic::{self, AssertUnwindSafe, Location};
use std::sync::Arc;
use std::time::Instant;

use ikc_freezer::Value;
use mio::Registry;

use crate::ctx::Ctx;
use crate::event::{Event, Readiness, StateName};
use crate::handle::Shared;
use crate::ids::SessionId;
use crate::kernel::alarms::{Alarm, Alarms};
use crate::kernel::names::Names;
use crate::kernel::queue::{Queue, Queued};
use crate::kernel::sessions::Sessions;
use crate::kernel::signals::{Signal, SignalWatch};
use crate::kernel::watchers::Watchers;
use crate::sender::Sender;
use crate::session::StateChange;

/// Why a dispatch did not run the handler.
#[derive(Debug)]
pub(crate) enum DispatchError {
    /// The session no longer exists.
    Gone,
    /// The session is running a handler further up the stack; the event is
    /// given back.
    Busy(Event),
    /// The handler panicked and the session was stopped.
    Panicked { state: StateName, message: String },
    /// The handler reported a failure with `Ctx::fail`.
    Failed { state: StateName, message: String },
}

/// What a handler is run with: an event, or the readiness of a watcher
/// (which [`Session::handle_readiness`](crate::Session::handle_readiness)
/// may take without the event being built).
pub(crate) enum Delivery {
    /// An event, for [`Session::handle`](crate::Session::handle).
    Event(Event),
    /// A watcher's readiness, delivered to its state.
    Readiness(StateName, Readiness),
}

impl From<Event> for Delivery {
    fn from(event: Event) -> Self {
        Self::Event(event)
    }
}

impl Delivery {
    fn state(&self) -> &StateName {
        match self {
            Self::Event(event) => &event.state,
            Self::Readiness(state, _) => state,
        }
    }

    fn into_event(self) -> Event {
        match self {
            Self::Event(event) => event,
            Self::Readiness(state, readiness) => readiness.into_event(state),
        }
    }
}

/// Everything a handler may touch through its [`Ctx`].
pub(crate) struct Core {
    pub(crate) sessions: Sessions,
    pub(crate) queue: Queue,
    pub(crate) alarms: Alarms,
    pub(crate) watchers: Watchers,
    pub(crate) aliases: foldhash::HashMap<String, SessionId>,
    /// Changes whenever `aliases` does (see `internal::alias_generation`).
    pub(crate) alias_generation: u64,
    pub(crate) names: Names,
    pub(crate) registry: Registry,
    /// The time of the current turn (what `delay` counts from).
    pub(crate) now: Instant,
    pub(crate) forwarder: Option<SessionId>,
    /// Events for other kernels waiting for the forwarder they were handed
    /// to, oldest first.
    pub(crate) remote_posts:
        std::collections::VecDeque<(SessionId, crate::kernel::route::RemotePost)>,
    /// Kernel-wide services by type (see `Kernel::set_service`).
    pub(crate) services: foldhash::HashMap<std::any::TypeId, std::rc::Rc<dyn Any>>,
    pub(crate) panic_notify: Vec<(SessionId, StateName)>,
    pub(crate) signals: SignalWatch,
    pub(crate) sig_handled: bool,
    /// Signals raised with `Ctx::signal`, delivered at the end of the turn.
    pub(crate) pending_signals: Vec<Signal>,
    pub(crate) stop_requested: bool,
    /// Sessions to check once no handler is running (another session
    /// dropped a reference to them).
    pub(crate) gc_pending: Vec<SessionId>,
    /// How many handlers are running (nested calls).
    pub(crate) depth: u32,
    pub(crate) state_changes: Vec<(SessionId, StateChange)>,
    pub(crate) shared: Arc<Shared>,
    /// A failure reported by a running handler (`Ctx::fail`), with the
    /// call depth of that handler.
    pub(crate) failure: Option<(u32, String)>,
}

impl Core {
    pub(crate) fn set_service<T: 'static>(&mut self, service: std::rc::Rc<T>) {
        self.services
            .insert(std::any::TypeId::of::<T>(), service as std::rc::Rc<dyn Any>);
    }

    pub(crate) fn service<T: 'static>(&self) -> Option<std::rc::Rc<T>> {
        let found = self.services.get(&std::any::TypeId::of::<T>())?;
        std::rc::Rc::clone(found).downcast::<T>().ok()
    }

    pub(crate) fn remove_service<T: 'static>(&mut self) -> Option<std::rc::Rc<T>> {
        let found = self.services.remove(&std::any::TypeId::of::<T>())?;
        found.downcast::<T>().ok()
    }

    pub(crate) fn new(registry: Registry, names: Names, shared: Arc<Shared>, now: Instant) -> Self {
        Self {
            sessions: Sessions::default(),
            queue: Queue::default(),
            alarms: Alarms::new(now),
            watchers: Watchers::default(),
            aliases: foldhash::HashMap::default(),
            alias_generation: 0,
            names,
            registry,
            now,
            forwarder: None,
            remote_posts: std::collections::VecDeque::new(),
            services: foldhash::HashMap::default(),
            panic_notify: Vec::new(),
            signals: SignalWatch::default(),
            sig_handled: false,
            pending_signals: Vec::new(),
            stop_requested: false,
            gc_pending: Vec::new(),
            depth: 0,
            state_changes: Vec::new(),
            shared,
            failure: None,
        }
    }

    /// Queue an event for a live session.
    #[inline]
    pub(crate) fn enqueue(&mut self, slot: u32, session: SessionId, event: Event) -> bool {
        match self.sessions.get_mut(slot, session) {
            Some(s) => {
                s.pending += 1;
                self.queue.push(Queued {
                    slot,
                    session,
                    event,
                });
                true
            }
            None => false,
        }
    }

    /// Queue a kernel notice (`_child`, `_parent`, panic reports).
    pub(crate) fn notify(&mut self, to: SessionId, state: &'static str, args: Vec<Value>) {
        if let Some(slot) = self.sessions.find(to) {
            let event = kernel_event(StateName::from_static(state), args);
            self.enqueue(slot, to, event);
        }
    }

    /// Pop and dispatch the next queued event; `false` if the queue is empty.
    pub(crate) fn dispatch_next(&mut self) -> bool {
        let Some(item) = self.queue.pop() else {
            return false;
        };
        let Some(s) = self.sessions.get_mut(item.slot, item.session) else {
            return true; // its session has gone: drop it
        };
        s.pending -= 1;
        // At the top of the stack no handler is running, so the session
        // cannot be busy, and a panic has already been reported.
        if let Err(DispatchError::Failed { state, message }) =
            self.dispatch(item.slot, item.session, item.event)
        {
            log::warn!(
                "session {} failed in posted event {state:?}: {message}",
                item.session
            );
        }
        self.collect_pending_garbage();
        true
    }

    /// Run a handler now, then stop the session if nothing holds it (once
    /// no handler is running: a session a handler has just called or
    /// created lives until that handler returns, as in POE).
    pub(crate) fn dispatch(
        &mut self,
        slot: u32,
        session: SessionId,
        delivery: impl Into<Delivery>,
    ) -> Result<Value, DispatchError> {
        let value = self.dispatch_raw(slot, session, delivery)?;
        self.gc_after_dispatch(slot, session);
        Ok(value)
    }

    /// Run a handler now, catching a panic (which stops the session).
    pub(crate) fn dispatch_raw(
        &mut self,
        slot: u32,
        session: SessionId,
        delivery: impl Into<Delivery>,
    ) -> Result<Value, DispatchError> {
        let delivery = delivery.into();
        let Some(s) = self.sessions.get_mut(slot, session) else {
            return Err(DispatchError::Gone);
        };
        let Some(mut handler) = s.handler.take() else {
            return Err(DispatchError::Busy(delivery.into_event()));
        };
        let state = delivery.state().clone();
        self.depth += 1;
        let (result, state) = {
            let mut ctx = Ctx::new(self, slot, session, state);
            let result = panic::catch_unwind(AssertUnwindSafe(|| match delivery {
                Delivery::Event(event) => handler.handle(&mut ctx, event),
                Delivery::Readiness(state, readiness) => {
                    handler.handle_readiness(&mut ctx, state, readiness)
                }
            }));
            (result, ctx.state)
        };
        let failure = match self.failure.take() {
            Some((depth, message)) if depth == self.depth => Some(message),
            other => {
                self.failure = other;
                None
            }
        };
        self.depth -= 1;
        if let Some(s) = self.sessions.get_mut(slot, session) {
            s.handler = Some(handler);
        } else {
            drop_quietly(handler);
        }
        if !self.state_changes.is_empty() {
            self.discard_state_changes(session);
        }
        match result {
            Ok(_) if failure.is_some() => Err(DispatchError::Failed {
                state,
                message: failure.unwrap_or_default(),
            }),
            Ok(value) => Ok(value),
            Err(payload) => {
                let message = panic_message(payload.as_ref());
                drop_quietly(payload);
                log::error!(
                    "session {session} panicked in state {state:?}: {message}; \
                     stopping it without _stop"
                );
                self.report_panic(session, &state, &message);
                self.free_session(slot, session, Value::Undef);
                Err(DispatchError::Panicked { state, message })
            }
        }
    }

    /// State changes left over by a session that did not take them (only
    /// inline-state sessions can add states).
    fn discard_state_changes(&mut self, session: SessionId) {
        let before = self.state_changes.len();
        self.state_changes.retain(|(id, _)| *id != session);
        if self.state_changes.len() != before {
            log::warn!(
                "session {session} added or removed states, but only InlineStates sessions \
                 have a state table: ignored"
            );
        }
    }

    fn report_panic(&mut self, session: SessionId, state: &StateName, message: &str) {
        let aliases: Vec<Value> = self
            .sessions
            .by_id(session)
            .map(|s| s.aliases.iter().map(Value::from).collect())
            .unwrap_or_default();
        let listeners: Vec<(SessionId, StateName)> = self
            .panic_notify
            .iter()
            .filter(|(id, _)| *id != session)
            .cloned()
            .collect();
        for (to, notify_state) in listeners {
            if let Some(slot) = self.sessions.find(to) {
                let args = vec![
                    Value::from(session),
                    Value::from(state.as_str()),
                    Value::from(message),
                    Value::Array(aliases.clone()),
                ];
                self.enqueue(slot, to, kernel_event(notify_state, args));
            }
        }
    }

    /// Move an expired alarm into the queue.
    pub(crate) fn fire_alarm(&mut self, alarm: Alarm) {
        let Some(s) = self.sessions.get_mut(alarm.slot, alarm.session) else {
            return;
        };
        if s.alarms.gone() {
            let alarms = &self.alarms;
            let owner = alarm.session;
            s.alarms
                .prune(|id| alarms.get(id).is_some_and(|a| a.session == owner));
        }
        let event = Event {
            state: alarm.state,
            args: alarm.args,
            sender: Sender::Session(alarm.session),
            caller_state: alarm.caller_state,
            caller_file: crate::event::CallerFile::from(alarm.file),
            caller_line: alarm.line,
        };
        self.enqueue(alarm.slot, alarm.session, event);
    }

    /// Deliver a signal to every session watching it, synchronously. A
    /// terminal signal (all of ours) that no handler marks handled stops
    /// the kernel, as in POE.
    pub(crate) fn deliver_signal(&mut self, signal: Signal) {
        let watchers = self.signals.watchers_of(signal);
        self.sig_handled = false;
        for (session, state) in watchers {
            let Some(slot) = self.sessions.find(session) else {
                continue;
            };
            let event = kernel_event(state, vec![Value::from(signal.name())]);
            let _ = self.dispatch(slot, session, event);
            self.collect_pending_garbage();
        }
        if !self.sig_handled {
            log::info!("SIG{} was not handled: stopping the kernel", signal.name());
            self.stop_requested = true;
        }
    }

    /// Re-install the OS signal handlers to match the watchers.
    pub(crate) fn sync_signals(&mut self) {
        if let Err(e) = self.signals.sync(&self.registry) {
            log::error!("cannot install signal handlers: {e}");
        }
    }
}

/// An event the kernel sends, located in the kernel.
#[track_caller]
pub(crate) fn kernel_event(state: StateName, args: Vec<Value>) -> Event {
    Event::located(state, args, Sender::Kernel, Location::caller())
}

/// The text of a panic payload.
pub(crate) fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "(a panic payload that is not a string)".to_owned()
    }
}

/// Drop something whose `Drop` runs user code, without letting a panic in
/// it unwind through the kernel.
pub(crate) fn drop_quietly<T>(value: T) {
    if let Err(payload) = panic::catch_unwind(AssertUnwindSafe(move || drop(value))) {
        // Dropping this payload could panic again: leak it instead.
        std::mem::forget(payload);
        log::error!("a drop in a session panicked; ignored");
    }
}
