//! Lifecycle: spawning, garbage collection, stopping and freeing sessions,
//! and stopping the whole kernel.

use std::panic::Location;

use ikc_freezer::Value;

use crate::error::SessionError;
use crate::event::{Event, StateName};
use crate::ids::SessionId;
use crate::kernel::core::{Core, drop_quietly, kernel_event};
use crate::sender::Sender;
use crate::session::Session;

/// Rounds of `_stop` a shutdown runs before freeing what `_stop` handlers
/// keep spawning without asking them again.
const SHUTDOWN_ROUNDS: usize = 8;

impl Core {
    /// Collect the session now if no handler runs, else once none does.
    pub(crate) fn gc_after_dispatch(&mut self, slot: u32, session: SessionId) {
        if self.depth == 0 {
            self.check_gc(slot, session);
        } else {
            self.gc_pending.push(session);
        }
    }

    /// Stop the session if nothing holds it and it is not running.
    pub(crate) fn check_gc(&mut self, slot: u32, session: SessionId) {
        let Some(s) = self.sessions.get(slot, session) else {
            return;
        };
        if s.stopping || s.handler.is_none() || s.is_held() {
            return;
        }
        self.stop_session(slot, session);
    }

    /// Drop an extra reference (`refcount_decrement`); the caller sees to
    /// collecting the session. Returns the tag's new count.
    pub(crate) fn refcount_decrement(
        &mut self,
        session: SessionId,
        tag: &str,
    ) -> Result<usize, SessionError> {
        let s = self
            .sessions
            .by_id_mut(session)
            .ok_or(SessionError::UnknownSession(session))?;
        let Some(i) = s.refs.iter().position(|(t, _)| t == tag) else {
            return Err(SessionError::NoSuchReference {
                session,
                tag: tag.to_owned(),
            });
        };
        s.ref_total -= 1;
        s.refs[i].1 -= 1;
        let left = s.refs[i].1;
        if left == 0 {
            s.refs.remove(i);
        }
        Ok(left)
    }

    /// Check the sessions another session let go of.
    pub(crate) fn collect_pending_garbage(&mut self) {
        while let Some(id) = self.gc_pending.pop() {
            if let Some(slot) = self.sessions.find(id) {
                self.check_gc(slot, id);
            }
        }
    }

    /// Dispatch `_stop`, then free the session.
    pub(crate) fn stop_session(&mut self, slot: u32, session: SessionId) {
        let Some(s) = self.sessions.get_mut(slot, session) else {
            return;
        };
        if s.stopping || s.handler.is_none() {
            return;
        }
        s.stopping = true;
        let event = kernel_event(StateName::from_static("_stop"), Vec::new());
        let value = self.dispatch_raw(slot, session, event).unwrap_or_default();
        self.free_session(slot, session, value);
    }

    /// Remove a session and everything it holds; tell its parent (`_child
    /// lose`) and hand its children to its parent (`_parent` to each child,
    /// `_child gain` to the parent). The notices are posted.
    pub(crate) fn free_session(&mut self, slot: u32, session: SessionId, stop_value: Value) {
        let Some(mut s) = self.sessions.remove(slot, session) else {
            return;
        };
        for alias in s.aliases.drain(..) {
            self.aliases.remove(&alias);
            self.alias_generation += 1;
        }
        for id in s.alarms.take() {
            if self.alarms.get(id).is_some_and(|a| a.session == session) {
                self.alarms.remove(id);
            }
        }
        for id in s.watchers.drain(..) {
            self.watchers.remove(id);
        }
        if self.signals.remove_session(session) {
            self.sync_signals();
        }
        self.panic_notify.retain(|(id, _)| *id != session);
        if self.forwarder == Some(session) {
            self.forwarder = None;
        }
        self.remote_posts.retain(|(id, _)| *id != session);
        self.state_changes.retain(|(id, _)| *id != session);

        // POE's order: hand each child over (`_child gain` to the new
        // parent, `_parent` to the child), then `_child lose` to the parent.
        let parent = s.parent;
        for child in std::mem::take(&mut s.children) {
            let Some(cs) = self.sessions.by_id_mut(child) else {
                continue;
            };
            cs.parent = parent;
            if let Some(p) = parent {
                if let Some(ps) = self.sessions.by_id_mut(p) {
                    ps.children.push(child);
                }
                self.notify(p, "_child", vec![Value::from("gain"), Value::from(child)]);
            }
            let new_parent = self.parent_value(parent);
            self.notify(child, "_parent", vec![Value::from(session), new_parent]);
        }
        if let Some(p) = parent {
            if let Some(ps) = self.sessions.by_id_mut(p) {
                ps.children.retain(|&c| c != session);
            }
            let args = vec![Value::from("lose"), Value::from(session), stop_value];
            self.notify(p, "_child", args);
        }
        if let Some(handler) = s.handler.take() {
            drop_quietly(handler);
        }
    }

    /// A parent as an event argument: a session id, or the kernel's id.
    pub(crate) fn parent_value(&self, parent: Option<SessionId>) -> Value {
        parent.map_or_else(|| Value::from(self.names.id()), Value::from)
    }

    /// Create a session and run its `_start` (synchronously, like
    /// `POE::Session->create`).
    pub(crate) fn spawn(
        &mut self,
        parent: Option<SessionId>,
        handler: Box<dyn Session>,
        at: &'static Location<'static>,
    ) -> SessionId {
        let parent = parent.filter(|p| self.sessions.by_id(*p).is_some());
        let (slot, id) = self.sessions.insert(handler, parent);
        if let Some(p) = parent.and_then(|p| self.sessions.by_id_mut(p)) {
            p.children.push(id);
        }
        let sender = parent.map_or(Sender::Kernel, Sender::Session);
        let start = Event::located(StateName::from_static("_start"), Vec::new(), sender, at);
        let started = self.dispatch_raw(slot, id, start);
        if let (Some(p), Ok(value)) = (parent, started) {
            self.notify(
                p,
                "_child",
                vec![Value::from("create"), Value::from(id), value],
            );
        }
        // Collected once no handler runs (POE sweeps after the event that
        // created it), so the creator can still post to or call it.
        self.gc_after_dispatch(slot, id);
        id
    }

    /// Stop every session (children before parents, each with `_stop`)
    /// and drop every queued event, alarm and watcher.
    pub(crate) fn shutdown(&mut self) {
        for _ in 0..SHUTDOWN_ROUNDS {
            if self.sessions.is_empty() {
                break;
            }
            for (slot, id) in self.sessions.leaves_first() {
                self.stop_session(slot, id);
            }
        }
        for (slot, id) in self.sessions.leaves_first() {
            log::warn!("session {id} kept spawning sessions while the kernel stopped: freed");
            self.free_session(slot, id, Value::Undef);
        }
        self.queue.clear();
        self.alarms.clear();
        self.watchers.clear();
        self.pending_signals.clear();
        self.gc_pending.clear();
        self.state_changes.clear();
        self.stop_requested = false;
    }
}
