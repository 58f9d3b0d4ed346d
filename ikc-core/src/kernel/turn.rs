//! The loop: one turn polls for I/O, delivers messages from other threads
//! and signals, moves due alarms into the queue, and dispatches queued
//! events. Only this file reads the clock.

use std::io;
use std::time::{Duration, Instant};

use crate::error::{DeliveryError, KernelError};
use crate::event::Readiness;
use crate::handle::{Address, Remote};
use crate::ids::WatcherId;
use crate::kernel::core::{Core, Delivery};
use crate::kernel::watchers::{SIGNAL_TOKEN, WAKE_TOKEN, Watchers};
use crate::kernel::{BATCH, Kernel};

impl Kernel {
    /// Run until no session remains, or until the kernel is stopped
    /// (`Ctx::stop`, `KernelHandle::stop`, an unhandled signal).
    ///
    /// When nothing could ever happen again (no queued event, alarm, I/O
    /// watcher, signal watcher or [`KernelHandle`](crate::KernelHandle)
    /// outside the kernel) while sessions remain (held only by aliases or
    /// references), the kernel stops them all, as POE does with its idle
    /// and zombie signals, and returns.
    ///
    /// After `run` returns, handles refuse further posts until `run` (or a
    /// turn) is entered again.
    ///
    /// # Errors
    ///
    /// Polling failed.
    pub fn run(&mut self) -> Result<(), KernelError> {
        self.open_remote();
        let result = self.run_loop(&mut |_| true, true);
        self.close_remote();
        result
    }

    /// Run turns while `cond` holds (checked before each turn), for tests
    /// and for programs that drive the loop themselves. Returns as `run`
    /// does, or when `cond` is false, or when the kernel is idle (see
    /// [`run`](Self::run)), in which case the sessions are left alone.
    ///
    /// # Errors
    ///
    /// Polling failed.
    pub fn run_while(&mut self, mut cond: impl FnMut(&Self) -> bool) -> Result<(), KernelError> {
        self.open_remote();
        self.run_loop(&mut cond, false)
    }

    /// Run one turn, waiting at most `timeout` for I/O (`None`: until
    /// something happens or the next alarm is due; `Some(ZERO)`: not at
    /// all, like calloop's `dispatch(Some(Duration::ZERO))`). Returns how
    /// many events were dispatched.
    ///
    /// # Errors
    ///
    /// Polling failed.
    pub fn run_one(&mut self, timeout: Option<Duration>) -> Result<usize, KernelError> {
        self.open_remote();
        self.turn(timeout, None)
    }

    /// [`run_one`](Self::run_one) with `now` as the time of the turn: the
    /// alarms due at `now` fire, and delays set during the turn count from
    /// it. For tests with a fake clock.
    ///
    /// # Errors
    ///
    /// Polling failed.
    pub fn run_one_at(
        &mut self,
        now: Instant,
        timeout: Option<Duration>,
    ) -> Result<usize, KernelError> {
        self.open_remote();
        self.turn(timeout, Some(now))
    }

    fn run_loop(
        &mut self,
        cond: &mut dyn FnMut(&Self) -> bool,
        stop_when_idle: bool,
    ) -> Result<(), KernelError> {
        loop {
            if self.core.stop_requested {
                self.core.shutdown();
                return Ok(());
            }
            if self.core.sessions.is_empty() || !cond(self) {
                return Ok(());
            }
            if self.is_idle() {
                if stop_when_idle {
                    log::info!(
                        "kernel {} is idle with {} sessions: stopping them",
                        self.core.names.id(),
                        self.core.sessions.len()
                    );
                    if log::log_enabled!(log::Level::Debug) {
                        for s in crate::kernel::SessionInfo::all(&self.core) {
                            log::debug!(
                                "  session {} parent {:?} aliases {:?} children {:?} extra refs {}",
                                s.id,
                                s.parent,
                                s.aliases,
                                s.children,
                                s.extra_refs
                            );
                        }
                    }
                    self.core.shutdown();
                }
                return Ok(());
            }
            self.turn(None, None)?;
        }
    }

    /// Can nothing ever happen again?
    fn is_idle(&self) -> bool {
        self.core.queue.is_empty()
            && self.core.alarms.is_empty()
            && self.core.watchers.is_empty()
            && self.core.signals.is_empty()
            && self.core.pending_signals.is_empty()
            && !self.remote_backlog
            && self.rx.is_empty()
            && !self.core.shared.has_handles()
    }

    fn turn(
        &mut self,
        timeout: Option<Duration>,
        fixed_now: Option<Instant>,
    ) -> Result<usize, KernelError> {
        if self.core.stop_requested {
            self.core.shutdown();
            return Ok(0);
        }
        let clock = || fixed_now.unwrap_or_else(Instant::now);
        let now = clock();
        self.core.now = now;
        let busy = !self.core.queue.is_empty()
            || !self.core.pending_signals.is_empty()
            || self.remote_backlog;
        let wait = if busy {
            Some(Duration::ZERO)
        } else {
            let next_alarm = self
                .core
                .alarms
                .next_deadline()
                .map(|when| when.saturating_duration_since(now));
            match (timeout, next_alarm) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            }
        };
        if let Err(e) = self.poll.poll(&mut self.events, wait) {
            if e.kind() != io::ErrorKind::Interrupted {
                return Err(e.into());
            }
        }
        self.core.now = clock();

        let mut handled = 0;
        let (mut woken, mut signalled) = (false, false);
        for event in self.events.iter() {
            match event.token() {
                WAKE_TOKEN => woken = true,
                SIGNAL_TOKEN => signalled = true,
                token => {
                    self.core.dispatch_io(Watchers::from_token(token), event);
                    handled += 1;
                }
            }
        }
        if woken || self.remote_backlog {
            handled += self.drain_remote();
        }
        if signalled {
            for signal in self.core.signals.drain() {
                self.core.deliver_signal(signal);
                handled += 1;
            }
        }
        let now = self.core.now;
        while let Some((_, alarm)) = self.core.alarms.pop_expired(now) {
            self.core.fire_alarm(alarm);
        }
        for _ in 0..BATCH {
            if self.core.stop_requested || !self.core.dispatch_next() {
                break;
            }
            handled += 1;
        }
        for signal in std::mem::take(&mut self.core.pending_signals) {
            self.core.deliver_signal(signal);
            handled += 1;
        }
        Ok(handled)
    }

    /// Handle messages from other threads (at most a batch per turn).
    fn drain_remote(&mut self) -> usize {
        self.core.shared.clear_wake();
        let mut n = 0;
        while n < BATCH {
            let Ok(msg) = self.rx.try_recv() else { break };
            self.core.handle_remote(msg);
            n += 1;
        }
        self.remote_backlog = n == BATCH;
        n
    }

    /// Take messages from other threads again (a new run).
    pub(crate) fn open_remote(&mut self) {
        if !self.remote_closed {
            return;
        }
        if let Some(rx) = self.core.shared.open() {
            self.rx = rx;
        }
        self.remote_closed = false;
    }

    /// Refuse messages from other threads, answering the calls waiting.
    pub(crate) fn close_remote(&mut self) {
        self.remote_closed = true;
        self.core.shared.close();
        while let Ok(msg) = self.rx.try_recv() {
            match msg {
                Remote::Call(_, _, reply) => {
                    let _ = reply.send(Err(DeliveryError::KernelStopped.into()));
                }
                Remote::Post(_, event) => log::debug!(
                    "kernel {} stopped: event {:?} from another thread dropped",
                    self.core.names.id(),
                    event.state
                ),
                Remote::Stop | Remote::Release(..) => {}
            }
        }
        self.remote_backlog = false;
    }
}

impl Core {
    /// Dispatch an I/O readiness event to its watcher's session.
    fn dispatch_io(&mut self, id: WatcherId, event: &mio::event::Event) {
        let Some(watch) = self.watchers.get(id) else {
            return; // removed since, or a stale token
        };
        let (slot, session) = (watch.slot, watch.session);
        let readiness = Readiness::from_mio(id, event);
        let delivery = Delivery::Readiness(watch.state.clone(), readiness);
        let _ = self.dispatch(slot, session, delivery);
        self.collect_pending_garbage();
    }

    /// Deliver one message from another thread.
    fn handle_remote(&mut self, msg: Remote) {
        match msg {
            Remote::Post(address, event) => {
                let posted = match address {
                    Address::Target(target) => self.post(None, &target, event),
                    Address::Specifier(spec) => self.post_to(None, &spec, event),
                };
                if let Err(e) = posted {
                    log::warn!(
                        "event from another thread (posted at {}:{}) not delivered: {e}",
                        e.event.caller_file,
                        e.event.caller_line
                    );
                }
            }
            Remote::Call(address, event, reply) => {
                // Posts that reached the kernel before this call are
                // handled before it, as a caller posting then calling
                // expects.
                for _ in 0..self.queue.len() {
                    if self.stop_requested || !self.dispatch_next() {
                        break;
                    }
                }
                if self.stop_requested {
                    let _ = reply.send(Err(DeliveryError::KernelStopped.into()));
                    return;
                }
                let result = match address {
                    Address::Target(target) => self.call(None, &target, event),
                    Address::Specifier(spec) => self.call_to(None, &spec, event),
                };
                self.collect_pending_garbage();
                let _ = reply.send(result);
            }
            Remote::Release(session, tag) => match self.refcount_decrement(session, tag) {
                Ok(_) => {
                    self.gc_pending.push(session);
                    self.collect_pending_garbage();
                }
                Err(e) => log::debug!("releasing a postback's reference: {e}"),
            },
            Remote::Stop => self.stop_requested = true,
        }
    }
}
