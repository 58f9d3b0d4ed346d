//! I/O watchers and signal watchers.

use mio::Interest;
use mio::event::Source;

use crate::ctx::Ctx;
use crate::error::KernelError;
use crate::event::StateName;
use crate::ids::WatcherId;
use crate::kernel::signals::Signal;
use crate::kernel::watchers::{Watch, Watchers};

impl Ctx<'_> {
    /// Register a mio source this session owns: its readiness invokes
    /// `state` with the arguments described by
    /// [`Readiness`](crate::Readiness). A watcher keeps the session alive
    /// until [`unwatch`](Self::unwatch) or the session stops.
    ///
    /// mio is edge-triggered: on each readiness event read (or write) until
    /// `WouldBlock`. The session must keep the source: when it stops, the
    /// watcher is removed and dropping the source closes it, which takes it
    /// out of the poller.
    ///
    /// # Errors
    ///
    /// The poller refused the source.
    pub fn watch<S: Source + ?Sized>(
        &mut self,
        source: &mut S,
        interest: Interest,
        state: impl Into<StateName>,
    ) -> Result<WatcherId, KernelError> {
        let id = self.core.watchers.insert(Watch {
            slot: self.slot,
            session: self.me,
            state: state.into(),
        });
        if let Err(e) = self
            .core
            .registry
            .register(source, Watchers::token(id), interest)
        {
            self.core.watchers.remove(id);
            return Err(e.into());
        }
        self.slot_mut().watchers.push(id);
        Ok(id)
    }

    fn check_watcher(&self, id: WatcherId) -> Result<(), KernelError> {
        match self.core.watchers.get(id) {
            Some(w) if w.session == self.me => Ok(()),
            _ => Err(KernelError::UnknownWatcher(id)),
        }
    }

    /// Change what a watcher waits for (for example add `WRITABLE` while
    /// output is queued).
    ///
    /// # Errors
    ///
    /// The watcher is not this session's, or the poller refused.
    pub fn reregister<S: Source + ?Sized>(
        &mut self,
        source: &mut S,
        id: WatcherId,
        interest: Interest,
    ) -> Result<(), KernelError> {
        self.check_watcher(id)?;
        self.core
            .registry
            .reregister(source, Watchers::token(id), interest)?;
        Ok(())
    }

    /// Change the state a watcher invokes (POE's `$wheel->event`).
    ///
    /// # Errors
    ///
    /// The watcher is not this session's.
    pub fn set_watch_state(
        &mut self,
        id: WatcherId,
        state: impl Into<StateName>,
    ) -> Result<(), KernelError> {
        self.check_watcher(id)?;
        if let Some(w) = self.core.watchers.get_mut(id) {
            w.state = state.into();
        }
        Ok(())
    }

    /// Take a source out of the poller and forget its watcher.
    ///
    /// # Errors
    ///
    /// The watcher is not this session's, or the poller refused to
    /// deregister (the watcher is forgotten anyway).
    pub fn unwatch<S: Source + ?Sized>(
        &mut self,
        source: &mut S,
        id: WatcherId,
    ) -> Result<(), KernelError> {
        self.check_watcher(id)?;
        self.core.watchers.remove(id);
        self.slot_mut().watchers.retain(|&w| w != id);
        self.core.registry.deregister(source)?;
        Ok(())
    }

    /// Invoke `state` when `signal` arrives (POE's `sig`), with the
    /// signal's name (`"INT"`, `"TERM"`) as ARG0. One state per session
    /// and signal: a second call replaces the first.
    ///
    /// Signals are terminal: if no handler calls
    /// [`sig_handled`](Self::sig_handled), the kernel stops after
    /// delivering it (POE's rule). A signal watcher does not keep the
    /// session alive. The process keeps the operating system's default
    /// action for a signal no kernel watches.
    ///
    /// # Errors
    ///
    /// The signal handler could not be installed.
    pub fn sig(&mut self, signal: Signal, state: impl Into<StateName>) -> Result<(), KernelError> {
        self.core.signals.set(signal, self.me, state.into());
        self.core.signals.sync(&self.core.registry)?;
        Ok(())
    }

    /// Stop watching a signal (POE's `sig` without a state).
    ///
    /// # Errors
    ///
    /// The signal handlers could not be updated.
    pub fn sig_remove(&mut self, signal: Signal) -> Result<(), KernelError> {
        if self.core.signals.remove(signal, self.me) {
            self.core.signals.sync(&self.core.registry)?;
        }
        Ok(())
    }

    /// Mark the signal being delivered as handled, so the kernel keeps
    /// running (POE's `sig_handled`).
    pub fn sig_handled(&mut self) {
        self.core.sig_handled = true;
    }

    /// Deliver a signal to this kernel's watchers as if the operating
    /// system had sent it (POE's `signal`). It is delivered when this
    /// handler's turn of the loop ends.
    pub fn signal(&mut self, signal: Signal) {
        self.core.pending_signals.push(signal);
    }
}
