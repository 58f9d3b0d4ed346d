//! The FIFO of posted events.

use std::collections::VecDeque;

use crate::event::Event;
use crate::ids::SessionId;

/// An event waiting for its session, with the slot it was resolved to.
#[derive(Debug)]
pub(crate) struct Queued {
    pub(crate) slot: u32,
    pub(crate) session: SessionId,
    pub(crate) event: Event,
}

/// Posted events in the order they were posted. An event for a session
/// that has gone by the time it is popped is dropped then (the slot's id no
/// longer matches), so stopping a session never walks the queue.
#[derive(Debug, Default)]
pub(crate) struct Queue {
    fifo: VecDeque<Queued>,
}

impl Queue {
    #[inline]
    pub(crate) fn push(&mut self, item: Queued) {
        self.fifo.push_back(item);
    }

    #[inline]
    pub(crate) fn pop(&mut self) -> Option<Queued> {
        self.fifo.pop_front()
    }

    pub(crate) fn len(&self) -> usize {
        self.fifo.len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.fifo.is_empty()
    }

    /// Drop every queued event (kernel shutdown).
    pub(crate) fn clear(&mut self) {
        self.fifo = VecDeque::new();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_in_first_out() {
        let mut q = Queue::default();
        for n in 0..5 {
            q.push(Queued {
                slot: n,
                session: SessionId::from_raw(u64::from(n)),
                event: Event::new("e", Vec::new()),
            });
        }
        assert_eq!(q.len(), 5);
        let order: Vec<u32> = std::iter::from_fn(|| q.pop()).map(|i| i.slot).collect();
        assert_eq!(order, [0, 1, 2, 3, 4]);
        assert!(q.is_empty());
    }
}
