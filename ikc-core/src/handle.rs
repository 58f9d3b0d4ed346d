//! [`KernelHandle`]: posting into a kernel from other threads.

use std::fmt;
use std::panic::Location;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::thread::ThreadId;
use std::time::Duration;

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender as ChannelSender};
use ikc_freezer::Value;

use crate::error::{CallError, DeliveryError, PostError};
use crate::event::{Event, StateName};
use crate::ids::{SessionId, Target};
use crate::sender::Sender;

/// How a message from another thread is addressed.
#[derive(Debug)]
pub(crate) enum Address {
    /// `post(to, state, ..)`/`call(to, state, ..)`: the state is in the event.
    Target(Target<'static>),
    /// `post_to(spec, ..)`/`call_to(spec, ..)`: the state is in the specifier.
    Specifier(String),
}

/// A message from another thread.
#[derive(Debug)]
pub(crate) enum Remote {
    Post(Address, Event),
    Call(Address, Event, ChannelSender<Result<Value, CallError>>),
    /// Drop a reference a postback or callback held (`refcount_decrement`).
    Release(SessionId, &'static str),
    Stop,
}

/// What the handles of one kernel share with it.
pub(crate) struct Shared {
    /// `None` while the kernel is not running and has run before (or is
    /// gone): posts fail at once instead of waiting for ever.
    tx: RwLock<Option<ChannelSender<Remote>>>,
    waker: mio::Waker,
    wake_pending: AtomicBool,
    /// How many [`KernelHandle`]s exist: while any does, the kernel may
    /// still be posted to, so it is not idle.
    handles: AtomicUsize,
    kernel_id: String,
    thread: ThreadId,
}

impl Shared {
    pub(crate) fn new(waker: mio::Waker, kernel_id: String) -> (Arc<Self>, Receiver<Remote>) {
        let (tx, rx) = crossbeam_channel::unbounded();
        let shared = Arc::new(Self {
            tx: RwLock::new(Some(tx)),
            waker,
            wake_pending: AtomicBool::new(false),
            handles: AtomicUsize::new(0),
            kernel_id,
            thread: std::thread::current().id(),
        });
        (shared, rx)
    }

    /// Accept messages again (a new `run`); returns the new receiver, if
    /// the channel had been closed.
    pub(crate) fn open(&self) -> Option<Receiver<Remote>> {
        let mut tx = self.tx.write().unwrap_or_else(PoisonError::into_inner);
        if tx.is_some() {
            return None;
        }
        let (new_tx, rx) = crossbeam_channel::unbounded();
        *tx = Some(new_tx);
        Some(rx)
    }

    /// Refuse further messages; the caller drains what is queued.
    pub(crate) fn close(&self) {
        self.tx
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
    }

    /// Does any [`KernelHandle`] exist?
    pub(crate) fn has_handles(&self) -> bool {
        self.handles.load(Ordering::SeqCst) > 0
    }

    /// Called by the kernel before it drains the channel.
    pub(crate) fn clear_wake(&self) {
        self.wake_pending.store(false, Ordering::SeqCst);
    }

    /// Send a message and wake the kernel; the message comes back if the
    /// kernel is not taking any.
    fn send(&self, msg: Remote) -> Result<(), Box<Remote>> {
        {
            let tx = self.tx.read().unwrap_or_else(PoisonError::into_inner);
            let Some(tx) = tx.as_ref() else {
                return Err(Box::new(msg));
            };
            tx.send(msg).map_err(|e| Box::new(e.into_inner()))?;
        }
        if !self.wake_pending.swap(true, Ordering::SeqCst) {
            if let Err(e) = self.waker.wake() {
                log::error!("cannot wake kernel {}: {e}", self.kernel_id);
            }
        }
        Ok(())
    }
}

/// A cloneable, `Send + Sync` handle through which other threads post
/// into a kernel, call it and stop it.
///
/// Events from a handle have [`Sender::Kernel`] as SENDER. A post is
/// resolved in the kernel's thread: an unknown target there is logged (the
/// poster has moved on); a call reports it. While a handle exists the
/// kernel's `run` does not consider itself idle, since the handle may
/// still post. Once the kernel has finished running (or is dropped),
/// every operation fails with [`DeliveryError::KernelStopped`] instead of
/// waiting.
pub struct KernelHandle {
    shared: Arc<Shared>,
}

impl Clone for KernelHandle {
    fn clone(&self) -> Self {
        Self::new(Arc::clone(&self.shared))
    }
}

impl Drop for KernelHandle {
    fn drop(&mut self) {
        // The last handle: a kernel asleep waiting for posts may now be
        // idle, and nothing else would wake it to find out.
        if self.shared.handles.fetch_sub(1, Ordering::SeqCst) == 1 {
            if let Err(e) = self.shared.waker.wake() {
                log::error!("cannot wake kernel {}: {e}", self.shared.kernel_id);
            }
        }
    }
}

impl fmt::Debug for KernelHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KernelHandle")
            .field("kernel", &self.shared.kernel_id)
            .finish_non_exhaustive()
    }
}

impl KernelHandle {
    pub(crate) fn new(shared: Arc<Shared>) -> Self {
        shared.handles.fetch_add(1, Ordering::SeqCst);
        Self { shared }
    }

    /// The id of the kernel this handle posts into.
    pub fn kernel_id(&self) -> &str {
        &self.shared.kernel_id
    }

    /// Post an event to a session of the kernel (by id, alias or
    /// specifier, as `Ctx::post`).
    ///
    /// # Errors
    ///
    /// The kernel is not running any more; the event is given back.
    #[track_caller]
    pub fn post<'t>(
        &self,
        to: impl Into<Target<'t>>,
        state: impl Into<StateName>,
        args: Vec<Value>,
    ) -> Result<(), PostError> {
        let event = Event::located(state.into(), args, Sender::Kernel, Location::caller());
        self.send_post(Address::Target(to.into().into_owned()), event)
    }

    /// Post to the state a specifier names (as `Ctx::post_to`).
    ///
    /// # Errors
    ///
    /// The kernel is not running any more. The event given back carries
    /// the specifier as its state (the state is only read from it in the
    /// kernel's thread).
    #[track_caller]
    pub fn post_to(&self, spec: &str, args: Vec<Value>) -> Result<(), PostError> {
        let event = Event::located(
            StateName::new(spec),
            args,
            Sender::Kernel,
            Location::caller(),
        );
        self.send_post(Address::Specifier(spec.to_owned()), event)
    }

    fn send_post(&self, address: Address, event: Event) -> Result<(), PostError> {
        match self
            .shared
            .send(Remote::Post(address, event))
            .map_err(|m| *m)
        {
            Ok(()) => Ok(()),
            Err(Remote::Post(_, event) | Remote::Call(_, event, _)) => {
                Err(PostError::new(event, DeliveryError::KernelStopped))
            }
            Err(Remote::Stop | Remote::Release(..)) => Ok(()),
        }
    }

    /// Call a state in the kernel's thread and wait for its value.
    ///
    /// # Errors
    ///
    /// As `Ctx::call`; [`CallError::WouldDeadlock`] from the kernel's own
    /// thread; `KernelStopped` if the kernel is not running any more.
    #[track_caller]
    pub fn call<'t>(
        &self,
        to: impl Into<Target<'t>>,
        state: impl Into<StateName>,
        args: Vec<Value>,
    ) -> Result<Value, CallError> {
        let event = Event::located(state.into(), args, Sender::Kernel, Location::caller());
        self.send_call(Address::Target(to.into().into_owned()), event, None)
    }

    /// [`call`](Self::call), giving up after `timeout` with
    /// [`CallError::Timeout`] (the event may still run later).
    ///
    /// # Errors
    ///
    /// As [`call`](Self::call), and `Timeout`.
    #[track_caller]
    pub fn call_timeout<'t>(
        &self,
        to: impl Into<Target<'t>>,
        state: impl Into<StateName>,
        args: Vec<Value>,
        timeout: Duration,
    ) -> Result<Value, CallError> {
        let event = Event::located(state.into(), args, Sender::Kernel, Location::caller());
        self.send_call(
            Address::Target(to.into().into_owned()),
            event,
            Some(timeout),
        )
    }

    /// Call the state a specifier names and wait for its value.
    ///
    /// # Errors
    ///
    /// As [`call`](Self::call).
    #[track_caller]
    pub fn call_to(&self, spec: &str, args: Vec<Value>) -> Result<Value, CallError> {
        let event = Event::located(
            StateName::new(spec),
            args,
            Sender::Kernel,
            Location::caller(),
        );
        self.send_call(Address::Specifier(spec.to_owned()), event, None)
    }

    fn send_call(
        &self,
        address: Address,
        event: Event,
        timeout: Option<Duration>,
    ) -> Result<Value, CallError> {
        if std::thread::current().id() == self.shared.thread {
            return Err(CallError::WouldDeadlock);
        }
        let (reply_tx, reply_rx) = crossbeam_channel::bounded(1);
        if self
            .shared
            .send(Remote::Call(address, event, reply_tx))
            .is_err()
        {
            return Err(DeliveryError::KernelStopped.into());
        }
        let answer = match timeout {
            None => reply_rx.recv().map_err(|_| RecvTimeoutError::Disconnected),
            Some(t) => reply_rx.recv_timeout(t),
        };
        match answer {
            Ok(result) => result,
            Err(RecvTimeoutError::Timeout) => Err(CallError::Timeout),
            // The kernel dropped the call unanswered: it stopped.
            Err(RecvTimeoutError::Disconnected) => Err(DeliveryError::KernelStopped.into()),
        }
    }

    /// [`post`](Self::post) located at `at` (postbacks).
    pub(crate) fn post_at(
        &self,
        to: &Target<'static>,
        state: &StateName,
        args: Vec<Value>,
        at: &'static Location<'static>,
    ) -> Result<(), PostError> {
        let event = Event::located(state.clone(), args, Sender::Kernel, at);
        self.send_post(Address::Target(to.clone()), event)
    }

    /// [`call`](Self::call) located at `at` (callbacks).
    pub(crate) fn call_at(
        &self,
        to: &Target<'static>,
        state: &StateName,
        args: Vec<Value>,
        at: &'static Location<'static>,
    ) -> Result<Value, CallError> {
        let event = Event::located(state.clone(), args, Sender::Kernel, at);
        self.send_call(Address::Target(to.clone()), event, None)
    }

    /// Drop a reference to a session (a postback or callback went away);
    /// nothing happens if the kernel is not running any more.
    pub(crate) fn release(&self, session: SessionId, tag: &'static str) {
        let _ = self.shared.send(Remote::Release(session, tag));
    }

    /// Ask the kernel to stop (as `Ctx::stop`). Does nothing if it is not
    /// running any more.
    pub fn stop(&self) {
        let _ = self.shared.send(Remote::Stop);
    }

    /// Is the kernel still taking messages?
    pub fn is_open(&self) -> bool {
        self.shared
            .tx
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .is_some()
    }
}
