//! I/O watchers: which session's state a mio token wakes.
//!
//! A [`WatcherId`] is the mio token: a slot index in the low 32 bits and the
//! slot's generation above it, so events for a removed watcher (a source
//! that was dropped without `unwatch`, or a late event) miss the watcher
//! that reuses the slot.

use mio::Token;

use crate::event::StateName;
use crate::ids::{SessionId, WatcherId};

/// The token of the cross-thread waker.
pub(crate) const WAKE_TOKEN: Token = Token(usize::MAX);
/// The token of the signal pipe.
pub(crate) const SIGNAL_TOKEN: Token = Token(usize::MAX - 1);

/// Generations stay below this, so no watcher token collides with the
/// reserved ones.
const GENERATION_MASK: u32 = 0x7fff_ffff;

/// A registered source: the owner and the state its readiness invokes.
#[derive(Debug, Clone)]
pub(crate) struct Watch {
    pub(crate) slot: u32,
    pub(crate) session: SessionId,
    pub(crate) state: StateName,
}

#[derive(Debug)]
struct WatchSlot {
    generation: u32,
    watch: Option<Watch>,
}

#[derive(Debug, Default)]
pub(crate) struct Watchers {
    slots: Vec<WatchSlot>,
    free: Vec<u32>,
    live: usize,
}

fn pack(index: u32, generation: u32) -> WatcherId {
    WatcherId((u64::from(generation) << 32) | u64::from(index))
}

fn unpack(id: WatcherId) -> (usize, u32) {
    ((id.0 & 0xffff_ffff) as usize, (id.0 >> 32) as u32)
}

impl Watchers {
    pub(crate) fn insert(&mut self, watch: Watch) -> WatcherId {
        self.live += 1;
        if let Some(index) = self.free.pop() {
            let slot = &mut self.slots[index as usize];
            slot.generation = (slot.generation + 1) & GENERATION_MASK;
            slot.watch = Some(watch);
            return pack(index, slot.generation);
        }
        let index = u32::try_from(self.slots.len()).expect("fewer than 2^32 watchers");
        self.slots.push(WatchSlot {
            generation: 0,
            watch: Some(watch),
        });
        pack(index, 0)
    }

    pub(crate) fn get(&self, id: WatcherId) -> Option<&Watch> {
        let (index, generation) = unpack(id);
        let slot = self.slots.get(index)?;
        if slot.generation != generation {
            return None;
        }
        slot.watch.as_ref()
    }

    pub(crate) fn get_mut(&mut self, id: WatcherId) -> Option<&mut Watch> {
        let (index, generation) = unpack(id);
        let slot = self.slots.get_mut(index)?;
        if slot.generation != generation {
            return None;
        }
        slot.watch.as_mut()
    }

    pub(crate) fn remove(&mut self, id: WatcherId) -> Option<Watch> {
        let (index, generation) = unpack(id);
        let slot = self.slots.get_mut(index)?;
        if slot.generation != generation {
            return None;
        }
        let watch = slot.watch.take()?;
        self.live -= 1;
        self.free.push(index as u32);
        Some(watch)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.live == 0
    }

    pub(crate) fn clear(&mut self) {
        for (index, slot) in self.slots.iter_mut().enumerate() {
            if slot.watch.take().is_some() {
                self.free.push(index as u32);
            }
        }
        self.live = 0;
    }

    /// The mio token of a watcher.
    pub(crate) fn token(id: WatcherId) -> Token {
        Token(id.0 as usize)
    }

    /// The watcher a mio token names (it may since have gone).
    pub(crate) fn from_token(token: Token) -> WatcherId {
        WatcherId(token.0 as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn watch(state: &'static str) -> Watch {
        Watch {
            slot: 0,
            session: SessionId::from_raw(1),
            state: StateName::from(state),
        }
    }

    #[test]
    fn a_reused_slot_gets_a_new_id() {
        let mut w = Watchers::default();
        let a = w.insert(watch("a"));
        assert_eq!(w.get(a).map(|x| x.state.to_string()), Some("a".into()));
        assert!(w.remove(a).is_some());
        assert!(w.is_empty());
        let b = w.insert(watch("b"));
        assert_ne!(a, b);
        assert!(w.get(a).is_none());
        assert!(w.remove(a).is_none());
        assert_eq!(Watchers::from_token(Watchers::token(b)), b);
        assert!(w.get(b).is_some());
    }

    #[test]
    fn tokens_never_collide_with_reserved_ones() {
        let id = pack(u32::MAX, GENERATION_MASK);
        let token = Watchers::token(id);
        assert_ne!(token, WAKE_TOKEN);
        assert_ne!(token, SIGNAL_TOKEN);
    }
}
