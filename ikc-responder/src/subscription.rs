//! Bookkeeping for `subscribe`: the receipts we wait for, and the callback
//! to post once every specifier of a request has been answered.
//!
//! Subscribing asks each remote kernel `IKC/do_you_have`, with an RSVP to a
//! receipt state unique to the request and specifier. A kernel that has
//! published the session answers `[specifier, kernel_id]`, one that has not
//! answers with a refusal string, and a timer answers "nothing" if no
//! kernel does. When every expected receipt is in, the callback gets the
//! list of specifiers that at least one kernel accepted.

use std::collections::{HashMap, HashSet};

/// A subscription request waiting for receipts.
#[derive(Debug)]
struct Waiting<S> {
    /// Where to post the callback: session and state.
    callback: (S, String),
    /// Specifiers not yet accepted.
    open: HashSet<String>,
    /// Specifiers accepted, in the order their receipts came.
    accepted: Vec<String>,
    /// Receipts still expected for the whole request.
    outstanding: usize,
}

/// What one receipt changed.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct ReceiptOutcome<S> {
    /// The specifier the receipt answers.
    pub(crate) spec: String,
    /// The callback to post now, with the accepted specifiers, if this was
    /// the last receipt of its request.
    pub(crate) done: Option<(S, String, Vec<String>)>,
    /// True when no more receipts are expected for this receipt state, so
    /// its timeout can be cancelled.
    pub(crate) finished: bool,
}

/// Every subscription in flight.
#[derive(Debug)]
pub(crate) struct Subscriptions<S> {
    /// Receipt state -> (request key, specifier, receipts still expected).
    pending: HashMap<String, (String, String, usize)>,
    /// Request key -> its callback bookkeeping.
    waiting: HashMap<String, Waiting<S>>,
    next: u64,
}

impl<S> Default for Subscriptions<S> {
    fn default() -> Self {
        Self {
            pending: HashMap::new(),
            waiting: HashMap::new(),
            next: 1,
        }
    }
}

impl<S: Copy> Subscriptions<S> {
    /// Start a request: returns its key, the prefix of its receipt states.
    pub(crate) fn begin(&mut self, callback: Option<(S, String)>) -> String {
        let n = self.next;
        self.next += 1;
        let label = callback.as_ref().map_or("", |(_, state)| state.as_str());
        let key = format!("IKC:receipt {n} {label}");
        if let Some(callback) = callback {
            self.waiting.insert(
                key.clone(),
                Waiting {
                    callback,
                    open: HashSet::new(),
                    accepted: Vec::new(),
                    outstanding: 0,
                },
            );
        }
        key
    }

    /// Record that `do_you_have` for `spec` went to `sent` kernels. Returns
    /// the receipt state. When `sent` is 0 one receipt is still expected:
    /// the caller posts a refusal to it at once.
    pub(crate) fn expect(&mut self, key: &str, spec: &str, sent: usize) -> String {
        let receipt = format!("{key}{spec}");
        let expected = sent.max(1);
        self.pending
            .insert(receipt.clone(), (key.to_owned(), spec.to_owned(), expected));
        if let Some(w) = self.waiting.get_mut(key) {
            w.open.insert(spec.to_owned());
            w.outstanding += expected;
        }
        receipt
    }

    /// Is `state` a receipt we are waiting for?
    pub(crate) fn is_pending(&self, state: &str) -> bool {
        self.pending.contains_key(state)
    }

    /// A receipt arrived: `accepted` is true for `[specifier, kernel_id]`,
    /// false for a refusal.
    pub(crate) fn receipt(&mut self, state: &str, accepted: bool) -> Option<ReceiptOutcome<S>> {
        self.settle(state, accepted, 1)
    }

    /// No (more) receipts will come for `state`: its timeout fired. Every
    /// receipt still expected counts as a refusal.
    pub(crate) fn expire(&mut self, state: &str) -> Option<ReceiptOutcome<S>> {
        let left = self.pending.get(state)?.2;
        self.settle(state, false, left)
    }

    fn settle(&mut self, state: &str, accepted: bool, count: usize) -> Option<ReceiptOutcome<S>> {
        let (key, spec, left) = self.pending.get_mut(state)?;
        *left = left.saturating_sub(count);
        let finished = *left == 0;
        let (key, spec) = (key.clone(), spec.clone());
        if finished {
            self.pending.remove(state);
        }
        let mut done = None;
        if let Some(w) = self.waiting.get_mut(&key) {
            if accepted && w.open.remove(&spec) {
                w.accepted.push(spec.clone());
            }
            w.outstanding = w.outstanding.saturating_sub(count);
            if w.outstanding == 0 {
                if let Some(w) = self.waiting.remove(&key) {
                    done = Some((w.callback.0, w.callback.1, w.accepted));
                }
            }
        }
        Some(ReceiptOutcome {
            spec,
            done,
            finished,
        })
    }

    /// Forget everything in flight (shutdown); returns the receipt states.
    pub(crate) fn clear(&mut self) -> Vec<String> {
        self.waiting.clear();
        self.pending.drain().map(|(state, _)| state).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn callback_after_every_spec_is_answered() {
        let mut subs = Subscriptions::default();
        let key = subs.begin(Some((5u32, "subscribed".to_owned())));
        let r1 = subs.expect(&key, "poe://A/x", 1);
        let r2 = subs.expect(&key, "poe://B/y", 1);
        assert!(subs.is_pending(&r1));
        let o = subs.receipt(&r1, true).unwrap();
        assert_eq!(
            o,
            ReceiptOutcome {
                spec: "poe://A/x".into(),
                done: None,
                finished: true
            }
        );
        let o = subs.receipt(&r2, false).unwrap();
        assert_eq!(
            o.done,
            Some((5, "subscribed".into(), vec!["poe://A/x".into()]))
        );
        assert!(!subs.is_pending(&r1) && !subs.is_pending(&r2));
        // A late receipt (e.g. the timeout) is ignored.
        assert!(subs.receipt(&r1, false).is_none());
        assert!(subs.expire(&r2).is_none());
    }

    #[test]
    fn unknown_kernel_still_expects_one_refusal() {
        let mut subs = Subscriptions::default();
        let key = subs.begin(Some((1u32, "cb".to_owned())));
        let r = subs.expect(&key, "poe://Nobody/x", 0);
        let o = subs.receipt(&r, false).unwrap();
        assert_eq!(o.done, Some((1, "cb".into(), vec![])));
    }

    #[test]
    fn star_kernel_waits_for_every_kernel_and_one_yes_is_enough() {
        let mut subs = Subscriptions::default();
        let key = subs.begin(Some((1u32, "cb".to_owned())));
        let r = subs.expect(&key, "poe://*/x", 3);
        let o = subs.receipt(&r, false).unwrap();
        assert!(!o.finished && o.done.is_none());
        let o = subs.receipt(&r, true).unwrap();
        assert!(!o.finished && o.done.is_none());
        let o = subs.receipt(&r, false).unwrap();
        assert!(o.finished);
        assert_eq!(o.done, Some((1, "cb".into(), vec!["poe://*/x".into()])));
    }

    #[test]
    fn timeout_settles_every_missing_receipt() {
        let mut subs = Subscriptions::default();
        let key = subs.begin(Some((1u32, "cb".to_owned())));
        let r = subs.expect(&key, "poe://*/x", 3);
        subs.receipt(&r, true).unwrap();
        let o = subs.expire(&r).unwrap();
        assert!(o.finished);
        assert_eq!(o.done, Some((1, "cb".into(), vec!["poe://*/x".into()])));
        assert!(subs.expire(&r).is_none());
    }

    #[test]
    fn without_callback_receipts_still_finish() {
        let mut subs: Subscriptions<u32> = Subscriptions::default();
        let key = subs.begin(None);
        let r = subs.expect(&key, "poe://A/x", 1);
        let o = subs.receipt(&r, true).unwrap();
        assert!(o.finished && o.done.is_none());
        assert!(subs.clear().is_empty());
    }
}
