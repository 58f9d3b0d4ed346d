//! Aliases, parents and children, reference counts, introspection.

use ikc_freezer::Value;

use crate::ctx::Ctx;
use crate::error::{AliasError, SessionError};
use crate::ids::SessionId;
use crate::kernel::SessionInfo;
use crate::sender::Sender;

impl Ctx<'_> {
    /// Give this session a name other sessions can post to. An alias keeps
    /// the session alive until it is removed.
    ///
    /// # Errors
    ///
    /// Another session has the alias.
    pub fn alias_set(&mut self, alias: &str) -> Result<(), AliasError> {
        match self.core.aliases.get(alias) {
            Some(&owner) if owner == self.me => Ok(()),
            Some(&owner) => Err(AliasError::InUse {
                alias: alias.to_owned(),
                owner,
            }),
            None => {
                self.core.aliases.insert(alias.to_owned(), self.me);
                self.core.alias_generation += 1;
                self.slot_mut().aliases.push(alias.to_owned());
                Ok(())
            }
        }
    }

    /// Remove one of this session's aliases.
    ///
    /// # Errors
    ///
    /// No session has it, or another session does.
    pub fn alias_remove(&mut self, alias: &str) -> Result<(), AliasError> {
        match self.core.aliases.get(alias) {
            None => Err(AliasError::NotFound(alias.to_owned())),
            Some(&owner) if owner != self.me => Err(AliasError::NotOwner {
                alias: alias.to_owned(),
                owner,
            }),
            Some(_) => {
                self.core.aliases.remove(alias);
                self.core.alias_generation += 1;
                self.slot_mut().aliases.retain(|a| a != alias);
                Ok(())
            }
        }
    }

    /// The session with this alias (or this id, written in digits).
    pub fn alias_resolve(&self, name: &str) -> Option<SessionId> {
        self.core.lookup_name(name).map(|(_, id)| id)
    }

    /// See [`internal::resolve_session`](crate::internal::resolve_session).
    pub(crate) fn resolve_session(&self, name: &str) -> Option<(SessionId, bool)> {
        self.core
            .lookup_name_by(name)
            .map(|(_, id, by_id)| (id, by_id))
    }

    /// See [`internal::alias_generation`](crate::internal::alias_generation).
    pub(crate) fn alias_generation(&self) -> u64 {
        self.core.alias_generation
    }

    /// A session's aliases, in the order they were set (empty for an
    /// unknown session).
    pub fn alias_list(&self, session: SessionId) -> Vec<String> {
        self.core
            .sessions
            .by_id(session)
            .map(|s| s.aliases.clone())
            .unwrap_or_default()
    }

    /// A session's aliases, in the order they were set, borrowed (empty for
    /// an unknown session): [`alias_list`](Self::alias_list) without the copy.
    pub fn aliases(&self, session: SessionId) -> &[String] {
        self.core
            .sessions
            .by_id(session)
            .map_or(&[], |s| s.aliases.as_slice())
    }

    /// This session's parent; `None` when it is the kernel.
    pub fn parent(&self) -> Option<SessionId> {
        self.slot().parent
    }

    /// This session's children.
    pub fn children(&self) -> &[SessionId] {
        &self.slot().children
    }

    /// Make the kernel this session's parent. The old parent receives
    /// `_child` `["lose", id, undef]` and this session `_parent`
    /// `[old, kernel id]` (both posted).
    ///
    /// # Errors
    ///
    /// The kernel already is the parent.
    pub fn detach_myself(&mut self) -> Result<(), SessionError> {
        let Some(parent) = self.slot().parent else {
            return Err(SessionError::AlreadyDetached(self.me));
        };
        self.detach(parent, self.me);
        Ok(())
    }

    /// Make the kernel the parent of one of this session's children, with
    /// the same notices as [`detach_myself`](Self::detach_myself).
    ///
    /// # Errors
    ///
    /// `child` is not a child of this session.
    pub fn detach_child(&mut self, child: SessionId) -> Result<(), SessionError> {
        if !self.slot().children.contains(&child) {
            return Err(SessionError::NotChild {
                child,
                parent: self.me,
            });
        }
        self.detach(self.me, child);
        Ok(())
    }

    fn detach(&mut self, parent: SessionId, child: SessionId) {
        if let Some(p) = self.core.sessions.by_id_mut(parent) {
            p.children.retain(|&c| c != child);
        }
        if let Some(c) = self.core.sessions.by_id_mut(child) {
            c.parent = None;
        }
        let kernel = self.core.parent_value(None);
        self.core
            .notify(child, "_parent", vec![Value::from(parent), kernel]);
        self.core.notify(
            parent,
            "_child",
            vec![Value::from("lose"), Value::from(child), Value::Undef],
        );
    }

    /// Hold an extra reference to a session under a tag, keeping it alive
    /// (POE's `refcount_increment`). Returns the tag's new count.
    ///
    /// # Errors
    ///
    /// No session has this id.
    pub fn refcount_increment(
        &mut self,
        session: SessionId,
        tag: &str,
    ) -> Result<usize, SessionError> {
        let s = self
            .core
            .sessions
            .by_id_mut(session)
            .ok_or(SessionError::UnknownSession(session))?;
        s.ref_total += 1;
        match s.refs.iter_mut().find(|(t, _)| t == tag) {
            Some((_, n)) => {
                *n += 1;
                Ok(*n)
            }
            None => {
                s.refs.push((tag.to_owned(), 1));
                Ok(1)
            }
        }
    }

    /// Drop an extra reference taken with
    /// [`refcount_increment`](Self::refcount_increment). Returns the tag's
    /// new count; a session nothing holds any more is stopped once no
    /// handler of it is running.
    ///
    /// # Errors
    ///
    /// No session has this id, or it holds no reference with this tag.
    pub fn refcount_decrement(
        &mut self,
        session: SessionId,
        tag: &str,
    ) -> Result<usize, SessionError> {
        let left = self.core.refcount_decrement(session, tag)?;
        // This session is checked when its handler returns.
        if session != self.me {
            self.core.gc_pending.push(session);
        }
        Ok(left)
    }

    /// The number of extra references (all tags) a session holds, or
    /// `None` if it does not exist (what IKC's thunks check before reuse).
    pub fn extra_refs(&self, session: SessionId) -> Option<usize> {
        self.core.sessions.by_id(session).map(|s| s.ref_total)
    }

    /// Every session, by id: parent, aliases, children, reference counts.
    pub fn sessions(&self) -> Vec<SessionInfo> {
        SessionInfo::all(self.core)
    }

    /// A sender as a specifier, `poe://kernel/session`, that can be stored,
    /// sent to other kernels and posted to later with a state (Lightspeed's
    /// `$_[SENDER]->ID`): a remote sender's own; for a session of this
    /// kernel, this kernel's id and the session's first alias (or its id in
    /// digits); `None` for the kernel.
    pub fn sender_specifier(&self, sender: &Sender) -> Option<String> {
        match sender {
            Sender::Kernel => None,
            Sender::Remote(remote) => Some(remote.specifier()),
            Sender::Session(id) => {
                let kernel = self.core.names.id();
                Some(match self.aliases(*id).first() {
                    Some(alias) => format!("poe://{kernel}/{alias}"),
                    None => format!("poe://{kernel}/{id}"),
                })
            }
        }
    }

    /// Does a session with this id exist?
    pub fn session_exists(&self, session: SessionId) -> bool {
        self.core.sessions.find(session).is_some()
    }
}
