//! The alarm queue: a min-heap of deadlines with lazy cancellation
//! (calloop's `TimerWheel`), and a table of the live alarms by id.
//!
//! Time is a parameter: nothing here reads the clock. Removing or moving
//! an alarm leaves its old heap entry behind, which is skipped when it
//! reaches the top; when stale entries outnumber live ones the heap is
//! rebuilt, so a program that keeps replacing a long delay does not grow
//! the heap without bound.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::Instant;

use ikc_freezer::Value;

use crate::event::StateName;
use crate::ids::{AlarmId, SessionId};
use crate::kernel::hash::FastMap;

/// A pending alarm: which state of which session to invoke, when, and with
/// what arguments.
#[derive(Debug)]
pub(crate) struct Alarm {
    pub(crate) when: Instant,
    pub(crate) slot: u32,
    pub(crate) session: SessionId,
    pub(crate) state: StateName,
    pub(crate) args: Vec<Value>,
    pub(crate) file: &'static str,
    pub(crate) line: u32,
}

/// Stale heap entries tolerated before a rebuild, on top of the live count.
const STALE_SLACK: usize = 1024;

#[derive(Debug, Default)]
pub(crate) struct Alarms {
    heap: BinaryHeap<Reverse<(Instant, u64)>>,
    live: FastMap<u64, Alarm>,
    next_id: u64,
}

impl Alarms {
    /// Schedule an alarm; its id orders it after earlier alarms with the
    /// same deadline.
    pub(crate) fn insert(&mut self, alarm: Alarm) -> AlarmId {
        self.next_id += 1;
        let id = self.next_id;
        self.heap.push(Reverse((alarm.when, id)));
        self.live.insert(id, alarm);
        AlarmId(id)
    }

    pub(crate) fn get(&self, id: AlarmId) -> Option<&Alarm> {
        self.live.get(&id.0)
    }

    /// Cancel an alarm.
    pub(crate) fn remove(&mut self, id: AlarmId) -> Option<Alarm> {
        let alarm = self.live.remove(&id.0)?;
        self.maybe_compact();
        Some(alarm)
    }

    /// Move an alarm to a new deadline.
    pub(crate) fn reschedule(&mut self, id: AlarmId, when: Instant) -> Option<Instant> {
        let alarm = self.live.get_mut(&id.0)?;
        alarm.when = when;
        self.heap.push(Reverse((when, id.0)));
        self.maybe_compact();
        Some(when)
    }

    /// The earliest live deadline.
    pub(crate) fn next_deadline(&mut self) -> Option<Instant> {
        self.drop_stale_top();
        self.heap.peek().map(|Reverse((when, _))| *when)
    }

    /// The earliest alarm due at `now`, taken out of the queue.
    pub(crate) fn pop_expired(&mut self, now: Instant) -> Option<(AlarmId, Alarm)> {
        self.drop_stale_top();
        let &Reverse((when, id)) = self.heap.peek()?;
        if when > now {
            return None;
        }
        self.heap.pop();
        let alarm = self.live.remove(&id)?;
        Some((AlarmId(id), alarm))
    }

    /// Number of live alarms.
    pub(crate) fn len(&self) -> usize {
        self.live.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.live.is_empty()
    }

    /// Drop everything (kernel shutdown).
    pub(crate) fn clear(&mut self) {
        self.heap = BinaryHeap::new();
        self.live = FastMap::default();
    }

    /// Pop heap entries whose alarm was removed or moved.
    fn drop_stale_top(&mut self) {
        while let Some(&Reverse((when, id))) = self.heap.peek() {
            match self.live.get(&id) {
                Some(alarm) if alarm.when == when => return,
                _ => {
                    self.heap.pop();
                }
            }
        }
    }

    fn maybe_compact(&mut self) {
        if self.heap.len() > 2 * self.live.len() + STALE_SLACK {
            let entries: Vec<_> = self
                .live
                .iter()
                .map(|(&id, alarm)| Reverse((alarm.when, id)))
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
            file: file!(),
            line: line!(),
        }
    }

    fn fired(alarms: &mut Alarms, now: Instant) -> Vec<String> {
        std::iter::from_fn(|| alarms.pop_expired(now))
            .map(|(_, a)| a.state.to_string())
            .collect()
    }

    #[test]
    fn fires_in_deadline_order_then_insertion_order() {
        let t0 = Instant::now();
        let mut alarms = Alarms::default();
        alarms.insert(alarm(t0 + Duration::from_secs(2), "b"));
        alarms.insert(alarm(t0 + Duration::from_secs(1), "a"));
        alarms.insert(alarm(t0 + Duration::from_secs(2), "c"));
        assert_eq!(alarms.next_deadline(), Some(t0 + Duration::from_secs(1)));
        assert!(fired(&mut alarms, t0).is_empty());
        assert_eq!(fired(&mut alarms, t0 + Duration::from_secs(1)), ["a"]);
        assert_eq!(fired(&mut alarms, t0 + Duration::from_secs(5)), ["b", "c"]);
        assert!(alarms.is_empty());
        assert_eq!(alarms.next_deadline(), None);
    }

    #[test]
    fn removed_and_moved_alarms_skip_their_old_entries() {
        let t0 = Instant::now();
        let mut alarms = Alarms::default();
        let a = alarms.insert(alarm(t0 + Duration::from_secs(1), "a"));
        let b = alarms.insert(alarm(t0 + Duration::from_secs(2), "b"));
        assert_eq!(
            alarms.remove(a).map(|x| x.state.to_string()),
            Some("a".into())
        );
        assert!(alarms.remove(a).is_none());
        assert_eq!(
            alarms.reschedule(b, t0 + Duration::from_secs(10)),
            Some(t0 + Duration::from_secs(10))
        );
        assert_eq!(alarms.next_deadline(), Some(t0 + Duration::from_secs(10)));
        assert!(fired(&mut alarms, t0 + Duration::from_secs(9)).is_empty());
        assert_eq!(fired(&mut alarms, t0 + Duration::from_secs(10)), ["b"]);
    }

    #[test]
    fn replacing_a_long_delay_does_not_grow_the_heap() {
        let t0 = Instant::now();
        let mut alarms = Alarms::default();
        let mut id = alarms.insert(alarm(t0 + Duration::from_secs(60), "timeout"));
        for _ in 0..100_000 {
            alarms.remove(id);
            id = alarms.insert(alarm(t0 + Duration::from_secs(60), "timeout"));
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
        /// (deadline, id) order and exactly the live ones fire.
        #[test]
        fn fires_exactly_the_live_alarms_in_order(
            ops in proptest::collection::vec((0u64..50, 0u8..3, any::<prop::sample::Index>()), 1..200)
        ) {
            let t0 = Instant::now();
            let mut alarms = Alarms::default();
            let mut model: Vec<(u64, AlarmId)> = Vec::new();
            for (secs, op, pick) in ops {
                let when = t0 + Duration::from_secs(secs);
                match op {
                    0 => {
                        let id = alarms.insert(alarm(when, "x"));
                        model.push((secs, id));
                    }
                    1 if !model.is_empty() => {
                        let (_, id) = model.remove(pick.index(model.len()));
                        prop_assert!(alarms.remove(id).is_some());
                    }
                    _ if !model.is_empty() => {
                        let i = pick.index(model.len());
                        model[i].0 = secs;
                        prop_assert!(alarms.reschedule(model[i].1, when).is_some());
                    }
                    _ => {}
                }
            }
            model.sort_by_key(|&(secs, id)| (secs, id));
            let got: Vec<AlarmId> = std::iter::from_fn(|| alarms.pop_expired(t0 + Duration::from_secs(100)))
                .map(|(id, _)| id)
                .collect();
            let want: Vec<AlarmId> = model.iter().map(|&(_, id)| id).collect();
            prop_assert_eq!(got, want);
        }
    }
}
