//! The alarm queue: a min-heap of deadlines with lazy cancellation
//! (calloop's `TimerWheel`), over a slab of the live alarms.
//!
//! Time is a parameter: nothing here reads the clock. A heap entry is
//! `(deadline, sequence, slot)`, all integers: the deadline in nanoseconds
//! since the queue's epoch, a sequence number that orders alarms with the
//! same deadline first-set first-fired, and the slab slot holding the
//! alarm. An [`AlarmId`] is that slot plus the slot's generation (as a
//! [`WatcherId`](crate::WatcherId) is), so finding an alarm by id is an
//! index, not a hash lookup. Removing or moving an alarm leaves its old
//! heap entry behind; it is skipped when it reaches the top (its slot holds
//! another sequence number or deadline). When stale entries outnumber live
//! ones the heap is rebuilt, so a program that keeps replacing a long delay
//! does not grow the heap without bound.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::Instant;

use ikc_freezer::Value;

use crate::event::StateName;
use crate::ids::{AlarmId, SessionId};

/// A pending alarm: which state of which session to invoke, when, and with
/// what arguments.
#[derive(Debug)]
pub(crate) struct Alarm {
    pub(crate) when: Instant,
    pub(crate) slot: u32,
    pub(crate) session: SessionId,
    pub(crate) state: StateName,
    pub(crate) args: Vec<Value>,
    /// The state that set it (the event's `CALLER_STATE`).
    pub(crate) caller_state: Option<StateName>,
    pub(crate) file: &'static str,
    pub(crate) line: u32,
}

/// Stale heap entries tolerated before a rebuild, on top of the live count.
const STALE_SLACK: usize = 1024;

#[derive(Debug)]
struct Entry {
    /// Bumped each time the slot is reused (the high half of the id).
    generation: u32,
    /// The sequence number of the alarm in this slot.
    seq: u64,
    /// Its deadline, in nanoseconds since the epoch.
    deadline: u64,
    alarm: Option<Alarm>,
}

fn pack(slot: u32, generation: u32) -> AlarmId {
    AlarmId((u64::from(generation) << 32) | u64::from(slot))
}

fn unpack(id: AlarmId) -> (usize, u32) {
    ((id.0 & 0xffff_ffff) as usize, (id.0 >> 32) as u32)
}

#[derive(Debug)]
pub(crate) struct Alarms {
    heap: BinaryHeap<Reverse<(u64, u64, u32)>>,
    slab: Vec<Entry>,
    free: Vec<u32>,
    live: usize,
    next_seq: u64,
    /// Deadlines count from here; moved back if an earlier time shows up.
    epoch: Instant,
}

impl Alarms {
    pub(crate) fn new(epoch: Instant) -> Self {
        Self {
            heap: BinaryHeap::new(),
            slab: Vec::new(),
            free: Vec::new(),
            live: 0,
            next_seq: 0,
            epoch,
        }
    }

    /// Nanoseconds since the epoch (moving the epoch back first if needed).
    fn offset(&mut self, when: Instant) -> u64 {
        if when < self.epoch {
            self.rebase(when);
        }
        u64::try_from(when.duration_since(self.epoch).as_nanos()).unwrap_or(u64::MAX)
    }

    /// Move the epoch back to `when`: every deadline grows by the same
    /// amount, which keeps the heap ordered.
    fn rebase(&mut self, when: Instant) {
        let shift = u64::try_from((self.epoch - when).as_nanos()).unwrap_or(u64::MAX);
        self.epoch = when;
        for entry in &mut self.slab {
            entry.deadline = entry.deadline.saturating_add(shift);
        }
        let entries: Vec<_> = std::mem::take(&mut self.heap)
            .into_vec()
            .into_iter()
            .map(|Reverse((d, seq, slot))| Reverse((d.saturating_add(shift), seq, slot)))
            .collect();
        self.heap = BinaryHeap::from(entries);
    }

    /// Schedule an alarm.
    pub(crate) fn insert(&mut self, alarm: Alarm) -> AlarmId {
        self.next_seq += 1;
        let seq = self.next_seq;
        let deadline = self.offset(alarm.when);
        let slot = match self.free.pop() {
            Some(slot) => slot,
            None => {
                let slot = u32::try_from(self.slab.len()).expect("fewer than 2^32 alarms");
                self.slab.push(Entry {
                    generation: 0,
                    seq: 0,
                    deadline: 0,
                    alarm: None,
                });
                slot
            }
        };
        let entry = &mut self.slab[slot as usize];
        entry.generation = entry.generation.wrapping_add(1);
        entry.seq = seq;
        entry.deadline = deadline;
        entry.alarm = Some(alarm);
        self.live += 1;
        self.heap.push(Reverse((deadline, seq, slot)));
        pack(slot, entry.generation)
    }

    /// The slot of a live alarm.
    fn find(&self, id: AlarmId) -> Option<usize> {
        let (slot, generation) = unpack(id);
        let entry = self.slab.get(slot)?;
        (entry.generation == generation && entry.alarm.is_some()).then_some(slot)
    }

    pub(crate) fn get(&self, id: AlarmId) -> Option<&Alarm> {
        self.slab[self.find(id)?].alarm.as_ref()
    }

    /// Cancel an alarm.
    pub(crate) fn remove(&mut self, id: AlarmId) -> Option<Alarm> {
        let slot = self.find(id)?;
        let alarm = self.slab[slot].alarm.take();
        self.free.push(slot as u32);
        self.live -= 1;
        self.maybe_compact();
        alarm
    }

    /// Move an alarm to a new deadline.
    pub(crate) fn reschedule(&mut self, id: AlarmId, when: Instant) -> Option<Instant> {
        let slot = self.find(id)?;
        let deadline = self.offset(when);
        let entry = &mut self.slab[slot];
        entry.deadline = deadline;
        if let Some(alarm) = entry.alarm.as_mut() {
            alarm.when = when;
        }
        self.heap.push(Reverse((deadline, entry.seq, slot as u32)));
        self.maybe_compact();
        Some(when)
    }

    /// The earliest live deadline.
    pub(crate) fn next_deadline(&mut self) -> Option<Instant> {
        self.drop_stale_top();
        let &Reverse((_, _, slot)) = self.heap.peek()?;
        self.slab[slot as usize].alarm.as_ref().map(|a| a.when)
    }

    /// The earliest alarm due at `now`, taken out of the queue.
    pub(crate) fn pop_expired(&mut self, now: Instant) -> Option<(AlarmId, Alarm)> {
        if now < self.epoch {
            return None;
        }
        let now = u64::try_from(now.duration_since(self.epoch).as_nanos()).unwrap_or(u64::MAX);
        self.drop_stale_top();
        let &Reverse((deadline, _, slot)) = self.heap.peek()?;
        if deadline > now {
            return None;
        }
        self.heap.pop();
        let entry = &mut self.slab[slot as usize];
        let alarm = entry.alarm.take()?;
        let id = pack(slot, entry.generation);
        self.free.push(slot);
        self.live -= 1;
        Some((id, alarm))
    }

    /// Number of live alarms.
    pub(crate) fn len(&self) -> usize {
        self.live
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.live == 0
    }

    /// Drop everything (kernel shutdown). Slots keep their generations, so
    /// old ids stay dead.
    pub(crate) fn clear(&mut self) {
        self.heap = BinaryHeap::new();
        self.free.clear();
        for (slot, entry) in self.slab.iter_mut().enumerate() {
            entry.alarm = None;
            self.free.push(slot as u32);
        }
        self.live = 0;
    }

    /// Is this heap entry the current schedule of a live alarm?
    fn is_live(&self, deadline: u64, seq: u64, slot: u32) -> bool {
        let e = &self.slab[slot as usize];
        e.seq == seq && e.deadline == deadline && e.alarm.is_some()
    }

    /// Pop heap entries whose alarm was removed or moved.
    fn drop_stale_top(&mut self) {
        while let Some(&Reverse((deadline, seq, slot))) = self.heap.peek() {
            if self.is_live(deadline, seq, slot) {
                return;
            }
            self.heap.pop();
        }
    }

    fn maybe_compact(&mut self) {
        if self.heap.len() > 2 * self.live + STALE_SLACK {
            let entries: Vec<_> = self
                .slab
                .iter()
                .enumerate()
                .filter(|(_, e)| e.alarm.is_some())
                .map(|(slot, e)| Reverse((e.deadline, e.seq, slot as u32)))
                .collect();
            self.heap = BinaryHeap::from(entries);
        }
    }

    #[cfg(test)]
    pub(crate) fn heap_len(&self) -> usize {
        self.heap.len()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use proptest::prelude::*;

    use super::*;

    fn alarm(when: Instant, state: &'static str) -> Alarm {
        Alarm {
            when,
            slot: 0,
            session: SessionId::from_raw(1),
            state: StateName::from(state),
            args: Vec::new(),
            caller_state: None,
            file: file!(),
            line: line!(),
        }
    }

    fn fired(alarms: &mut Alarms, now: Instant) -> Vec<String> {
        std::iter::from_fn(|| alarms.pop_expired(now))
            .map(|(_, a)| a.state.to_string())
            .collect()
    }

    const S: Duration = Duration::from_secs(1);

    #[test]
    fn fires_in_deadline_order_then_insertion_order() {
        let t0 = Instant::now();
        let mut alarms = Alarms::new(t0);
        alarms.insert(alarm(t0 + 2 * S, "b"));
        alarms.insert(alarm(t0 + S, "a"));
        alarms.insert(alarm(t0 + 2 * S, "c"));
        assert_eq!(alarms.next_deadline(), Some(t0 + S));
        assert!(fired(&mut alarms, t0).is_empty());
        assert_eq!(fired(&mut alarms, t0 + S), ["a"]);
        assert_eq!(fired(&mut alarms, t0 + 5 * S), ["b", "c"]);
        assert!(alarms.is_empty());
        assert_eq!(alarms.next_deadline(), None);
    }

    #[test]
    fn removed_and_moved_alarms_skip_their_old_entries() {
        let t0 = Instant::now();
        let mut alarms = Alarms::new(t0);
        let a = alarms.insert(alarm(t0 + S, "a"));
        let b = alarms.insert(alarm(t0 + 2 * S, "b"));
        let removed = alarms.remove(a).map(|x| x.state.to_string());
        assert_eq!(removed, Some("a".into()));
        assert!(alarms.remove(a).is_none());
        assert_eq!(alarms.reschedule(b, t0 + 10 * S), Some(t0 + 10 * S));
        assert_eq!(alarms.get(b).map(|x| x.when), Some(t0 + 10 * S));
        assert_eq!(alarms.next_deadline(), Some(t0 + 10 * S));
        assert!(fired(&mut alarms, t0 + 9 * S).is_empty());
        // A new alarm reusing a's slot is not confused with a.
        let c = alarms.insert(alarm(t0 + 3 * S, "c"));
        assert_eq!(unpack(c).0, unpack(a).0);
        assert_ne!(c, a);
        assert!(alarms.get(a).is_none());
        assert!(alarms.get(c).is_some());
        assert_eq!(fired(&mut alarms, t0 + 10 * S), ["c", "b"]);
    }

    #[test]
    fn times_before_the_epoch_keep_their_order() {
        let t0 = Instant::now();
        let later = t0 + 10 * S;
        let mut alarms = Alarms::new(later);
        alarms.insert(alarm(later + S, "after"));
        alarms.insert(alarm(t0 + 2 * S, "second"));
        alarms.insert(alarm(t0 + S, "first"));
        assert_eq!(alarms.next_deadline(), Some(t0 + S));
        assert!(fired(&mut alarms, t0).is_empty());
        assert_eq!(fired(&mut alarms, t0 + 5 * S), ["first", "second"]);
        assert_eq!(fired(&mut alarms, later + S), ["after"]);
    }

    #[test]
    fn replacing_a_long_delay_does_not_grow_the_heap() {
        let t0 = Instant::now();
        let mut alarms = Alarms::new(t0);
        let mut id = alarms.insert(alarm(t0 + 60 * S, "timeout"));
        for _ in 0..100_000 {
            alarms.remove(id);
            id = alarms.insert(alarm(t0 + 60 * S, "timeout"));
        }
        assert_eq!(alarms.len(), 1);
        assert!(
            alarms.heap_len() <= 2 + STALE_SLACK + 1,
            "heap {}",
            alarms.heap_len()
        );
    }

    proptest! {
        /// Whatever is inserted, removed and moved, the alarms fire in
        /// (deadline, order set) order and exactly the live ones fire.
        #[test]
        fn fires_exactly_the_live_alarms_in_order(
            ops in proptest::collection::vec((0u64..50, 0u8..3, any::<prop::sample::Index>()), 1..200)
        ) {
            let t0 = Instant::now();
            let mut alarms = Alarms::new(t0 + 20 * S);
            // (deadline, insertion number, id)
            let mut model: Vec<(u64, usize, AlarmId)> = Vec::new();
            for (n, (secs, op, pick)) in ops.into_iter().enumerate() {
                let when = t0 + Duration::from_secs(secs);
                match op {
                    0 => {
                        let id = alarms.insert(alarm(when, "x"));
                        model.push((secs, n, id));
                    }
                    1 if !model.is_empty() => {
                        let (_, _, id) = model.remove(pick.index(model.len()));
                        prop_assert!(alarms.remove(id).is_some());
                        prop_assert!(alarms.remove(id).is_none());
                    }
                    _ if !model.is_empty() => {
                        let i = pick.index(model.len());
                        model[i].0 = secs;
                        prop_assert!(alarms.reschedule(model[i].2, when).is_some());
                    }
                    _ => {}
                }
            }
            prop_assert_eq!(alarms.len(), model.len());
            model.sort_by_key(|&(secs, n, _)| (secs, n));
            let got: Vec<AlarmId> = std::iter::from_fn(|| alarms.pop_expired(t0 + 100 * S))
                .map(|(id, _)| id)
                .collect();
            let want: Vec<AlarmId> = model.iter().map(|&(_, _, id)| id).collect();
            prop_assert_eq!(got, want);
        }
    }
}
