//! The session table: a slab of slots, found by id through a small index.

use std::fmt;

use crate::ids::{AlarmId, SessionId, WatcherId};
use crate::kernel::hash::FastMap;
use crate::session::Session;

/// One live session: its handler (the heap) and everything that keeps it
/// alive.
pub(crate) struct Slot {
    pub(crate) id: SessionId,
    /// `None` while one of its handlers runs (the handler borrows it).
    pub(crate) handler: Option<Box<dyn Session>>,
    /// `None`: the kernel is the parent.
    pub(crate) parent: Option<SessionId>,
    pub(crate) children: Vec<SessionId>,
    pub(crate) aliases: Vec<String>,
    /// Events queued for it.
    pub(crate) pending: usize,
    pub(crate) alarms: SessionAlarms,
    pub(crate) watchers: Vec<WatcherId>,
    /// Extra references by tag (`refcount_increment`).
    pub(crate) refs: Vec<(String, usize)>,
    pub(crate) ref_total: usize,
    /// `_stop` is being dispatched, or it is being freed.
    pub(crate) stopping: bool,
}

impl Slot {
    /// POE's reference count: is anything still holding this session?
    pub(crate) fn is_held(&self) -> bool {
        self.pending > 0
            || !self.aliases.is_empty()
            || !self.alarms.is_empty()
            || !self.watchers.is_empty()
            || !self.children.is_empty()
            || self.ref_total > 0
    }

    /// The count POE would report (each holder counts once).
    pub(crate) fn refcount(&self) -> usize {
        self.pending
            + self.aliases.len()
            + self.alarms.len()
            + self.watchers.len()
            + self.children.len()
            + self.ref_total
    }
}

impl fmt::Debug for Slot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Slot")
            .field("id", &self.id)
            .field("running", &self.handler.is_none())
            .field("parent", &self.parent)
            .field("children", &self.children)
            .field("aliases", &self.aliases)
            .field("pending", &self.pending)
            .field("alarms", &self.alarms.len())
            .field("watchers", &self.watchers)
            .field("refs", &self.refs)
            .finish()
    }
}

/// A session's pending alarms: how many, and their ids. An id that fired
/// or was removed stays in the list until the list is pruned (when it has
/// grown to twice the live count), so firing an alarm costs no lookup here.
#[derive(Debug, Default)]
pub(crate) struct SessionAlarms {
    count: usize,
    ids: Vec<AlarmId>,
}

impl SessionAlarms {
    pub(crate) fn add(&mut self, id: AlarmId) {
        self.ids.push(id);
        self.count += 1;
    }

    /// One of the alarms fired or was removed; `true` if the list should
    /// now be pruned.
    pub(crate) fn gone(&mut self) -> bool {
        self.count = self.count.saturating_sub(1);
        self.ids.len() > 2 * self.count + 16
    }

    /// Keep only the ids `live` accepts.
    pub(crate) fn prune(&mut self, live: impl Fn(AlarmId) -> bool) {
        self.ids.retain(|&id| live(id));
    }

    /// The ids (some may have gone: check each).
    pub(crate) fn ids(&self) -> &[AlarmId] {
        &self.ids
    }

    /// Forget every id (the caller removes the alarms).
    pub(crate) fn take(&mut self) -> Vec<AlarmId> {
        self.count = 0;
        std::mem::take(&mut self.ids)
    }

    pub(crate) fn len(&self) -> usize {
        self.count
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.count == 0
    }
}

/// The slab of sessions. A slot index plus the id stored in the slot is the
/// generation check: an event queued for a session that has gone finds
/// either an empty slot or a slot with another id.
#[derive(Debug, Default)]
pub(crate) struct Sessions {
    slots: Vec<Option<Slot>>,
    free: Vec<u32>,
    index: FastMap<u64, u32>,
    next_id: u64,
}

impl Sessions {
    /// Add a session; returns its slot and new id.
    pub(crate) fn insert(
        &mut self,
        handler: Box<dyn Session>,
        parent: Option<SessionId>,
    ) -> (u32, SessionId) {
        self.next_id += 1;
        let id = SessionId::from_raw(self.next_id);
        let slot = Slot {
            id,
            handler: Some(handler),
            parent,
            children: Vec::new(),
            aliases: Vec::new(),
            pending: 0,
            alarms: SessionAlarms::default(),
            watchers: Vec::new(),
            refs: Vec::new(),
            ref_total: 0,
            stopping: false,
        };
        let index = match self.free.pop() {
            Some(i) => {
                self.slots[i as usize] = Some(slot);
                i
            }
            None => {
                let i = u32::try_from(self.slots.len()).expect("fewer than 2^32 live sessions");
                self.slots.push(Some(slot));
                i
            }
        };
        self.index.insert(id.get(), index);
        (index, id)
    }

    /// The slot of a live session.
    #[inline]
    pub(crate) fn find(&self, id: SessionId) -> Option<u32> {
        self.index.get(&id.get()).copied()
    }

    /// The session in `slot`, if it still is `id`.
    #[inline]
    pub(crate) fn get(&self, slot: u32, id: SessionId) -> Option<&Slot> {
        match self.slots.get(slot as usize) {
            Some(Some(s)) if s.id == id => Some(s),
            _ => None,
        }
    }

    /// The session in `slot`, if it still is `id`.
    #[inline]
    pub(crate) fn get_mut(&mut self, slot: u32, id: SessionId) -> Option<&mut Slot> {
        match self.slots.get_mut(slot as usize) {
            Some(Some(s)) if s.id == id => Some(s),
            _ => None,
        }
    }

    /// A live session by id.
    pub(crate) fn by_id(&self, id: SessionId) -> Option<&Slot> {
        self.get(self.find(id)?, id)
    }

    /// A live session by id.
    pub(crate) fn by_id_mut(&mut self, id: SessionId) -> Option<&mut Slot> {
        let slot = self.find(id)?;
        self.get_mut(slot, id)
    }

    /// Take a session out of the table.
    pub(crate) fn remove(&mut self, slot: u32, id: SessionId) -> Option<Slot> {
        let entry = self.slots.get_mut(slot as usize)?;
        if entry.as_ref().is_none_or(|s| s.id != id) {
            return None;
        }
        let taken = entry.take();
        self.index.remove(&id.get());
        self.free.push(slot);
        taken
    }

    /// Number of live sessions.
    pub(crate) fn len(&self) -> usize {
        self.index.len()
    }

    /// Are there no sessions?
    pub(crate) fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    /// Every live session, in slot order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = &Slot> {
        self.slots.iter().flatten()
    }

    /// Every live session's slot and id, children before their parents
    /// (the order in which a kernel shutdown stops them).
    pub(crate) fn leaves_first(&self) -> Vec<(u32, SessionId)> {
        let mut order = Vec::with_capacity(self.len());
        let mut stack: Vec<(SessionId, bool)> = self
            .iter()
            .filter(|s| s.parent.is_none())
            .map(|s| (s.id, false))
            .collect();
        stack.reverse();
        while let Some((id, expanded)) = stack.pop() {
            let Some(slot) = self.find(id) else { continue };
            if expanded {
                order.push((slot, id));
                continue;
            }
            stack.push((id, true));
            if let Some(s) = self.get(slot, id) {
                stack.extend(s.children.iter().rev().map(|&c| (c, false)));
            }
        }
        order
    }
}

#[cfg(test)]
mod tests {
    use ikc_freezer::Value;

    use super::*;
    use crate::ctx::Ctx;
    use crate::event::Event;

    struct Nop;
    impl Session for Nop {
        fn handle(&mut self, _: &mut Ctx<'_>, _: Event) -> Value {
            Value::Undef
        }
    }

    #[test]
    fn slots_are_reused_but_ids_are_not() {
        let mut s = Sessions::default();
        let (a_slot, a) = s.insert(Box::new(Nop), None);
        let (_, b) = s.insert(Box::new(Nop), None);
        assert_eq!((a.get(), b.get()), (1, 2));
        assert!(s.remove(a_slot, a).is_some());
        assert!(s.remove(a_slot, a).is_none());
        let (c_slot, c) = s.insert(Box::new(Nop), None);
        assert_eq!(c_slot, a_slot);
        assert_eq!(c.get(), 3);
        assert!(
            s.get(a_slot, a).is_none(),
            "a stale id misses the reused slot"
        );
        assert!(s.by_id(c).is_some());
        assert_eq!(s.len(), 2);
    }

    #[test]
    fn leaves_come_before_parents() {
        let mut s = Sessions::default();
        let (_, root) = s.insert(Box::new(Nop), None);
        let (_, child) = s.insert(Box::new(Nop), Some(root));
        let (_, grandchild) = s.insert(Box::new(Nop), Some(child));
        let (_, other) = s.insert(Box::new(Nop), None);
        s.by_id_mut(root).unwrap().children.push(child);
        s.by_id_mut(child).unwrap().children.push(grandchild);
        let order: Vec<_> = s.leaves_first().into_iter().map(|(_, id)| id).collect();
        assert_eq!(order, vec![grandchild, child, root, other]);
    }
}
