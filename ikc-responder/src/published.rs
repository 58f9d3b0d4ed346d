//! Which local states remote kernels may invoke: published states, and the
//! one-shot permissions that let a call's answer reach its RSVP state.

use std::cell::Cell;
use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};

use foldhash::{HashMap, HashSet};
use hashbrown::Equivalent;

/// The states the `IKC` session publishes by itself.
pub(crate) const AUTO_PUBLISHED: [&str; 3] = ["remote_error", "do_you_have", "ping"];

/// Why a remote request may not run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// The session published nothing.
    SessionNotAvailable(String),
    /// The session did not publish this state.
    StateNotPublished(String, String),
}

impl Refusal {
    /// IKC's message for this refusal (it travels back in `remote_error`).
    pub(crate) fn message(&self) -> String {
        match self {
            Self::SessionNotAvailable(s) => {
                format!("Session '{s}' is not available for remote kernels")
            }
            Self::StateNotPublished(s, st) => {
                format!("Session '{s}' has not published state '{st}'")
            }
        }
    }
}

/// Published states by session alias, plus one-shot RSVP permissions.
#[derive(Debug)]
pub(crate) struct Published {
    /// A hash set per alias: every request looks a state up here.
    local: HashMap<String, HashSet<String>>,
    /// Changes whenever `local` does: a state found published stays so
    /// while this stays the same (see [`check`](Self::check)).
    generation: u64,
    /// Waiting one-shot permissions by (session, state): one hash
    /// lookup for each call's RSVP and for its answer.
    rsvp: hashbrown::HashMap<RsvpState, u32, foldhash::fast::RandomState>,
    /// How many RSVP states are kept at a count of 0: a caller that waits
    /// on the same state again and again does not copy its names each
    /// time. Swept past [`SPENT_KEPT`].
    spent: usize,
}

/// The most used-up RSVP permissions kept before they are swept.
const SPENT_KEPT: usize = 64;

/// A session and one of its states, waiting for a call's answer.
#[derive(Debug, PartialEq, Eq)]
struct RsvpState {
    session: String,
    state: String,
}

/// An [`RsvpState`] borrowed, to look one up without copying the names.
#[derive(Clone, Copy)]
struct RsvpStateRef<'a> {
    session: &'a str,
    state: &'a str,
}

impl Hash for RsvpState {
    fn hash<H: Hasher>(&self, hasher: &mut H) {
        RsvpStateRef::from(self).hash(hasher);
    }
}

impl Hash for RsvpStateRef<'_> {
    fn hash<H: Hasher>(&self, hasher: &mut H) {
        self.session.hash(hasher);
        self.state.hash(hasher);
    }
}

impl<'a> From<&'a RsvpState> for RsvpStateRef<'a> {
    fn from(owned: &'a RsvpState) -> Self {
        Self {
            session: &owned.session,
            state: &owned.state,
        }
    }
}

impl Equivalent<RsvpState> for RsvpStateRef<'_> {
    fn equivalent(&self, key: &RsvpState) -> bool {
        self.session == key.session && self.state == key.state
    }
}

impl Default for Published {
    fn default() -> Self {
        let mut local = HashMap::default();
        local.insert(
            "IKC".to_owned(),
            AUTO_PUBLISHED
                .iter()
                .chain(&crate::watch::REMOTE_STATES)
                .chain(&crate::introspect::REMOTE_STATES)
                .chain(&crate::trace::REMOTE_STATES)
                .map(|s| (*s).to_owned())
                .collect(),
        );
        Self {
            local,
            generation: 1,
            rsvp: hashbrown::HashMap::default(),
            spent: 0,
        }
    }
}

impl Published {
    /// A number that changes whenever anything is published or
    /// retracted.
    pub(crate) fn generation(&self) -> u64 {
        self.generation
    }

    /// Publish `states` under each of `aliases`.
    pub(crate) fn publish(&mut self, aliases: &[String], states: &[String]) {
        self.generation += 1;
        for alias in aliases {
            let set = self.local.entry(alias.clone()).or_default();
            set.extend(states.iter().cloned());
        }
    }

    /// Retract `states` (all if `None`) from each alias. Returns false if an
    /// alias had published nothing.
    pub(crate) fn retract(&mut self, aliases: &[String], states: Option<&[String]>) -> bool {
        self.generation += 1;
        let mut all_known = true;
        for alias in aliases {
            let Some(set) = self.local.get_mut(alias) else {
                all_known = false;
                continue;
            };
            match states {
                Some(states) => {
                    for s in states {
                        set.remove(s);
                    }
                    if set.is_empty() {
                        self.local.remove(alias);
                    }
                }
                None => {
                    self.local.remove(alias);
                }
            }
        }
        all_known
    }

    /// The states published by one alias (sorted).
    pub(crate) fn states_of(&self, alias: &str) -> Vec<String> {
        self.local.get(alias).map(sorted).unwrap_or_default()
    }

    /// Every alias with its published states (sorted).
    pub(crate) fn all(&self) -> BTreeMap<String, Vec<String>> {
        self.local
            .iter()
            .map(|(k, v)| (k.clone(), sorted(v)))
            .collect()
    }

    /// Did `alias` publish anything?
    pub(crate) fn has_session(&self, alias: &str) -> bool {
        self.local.contains_key(alias)
    }

    /// Did `alias` publish `state`?
    pub(crate) fn has_state(&self, alias: &str, state: &str) -> bool {
        self.local.get(alias).is_some_and(|s| s.contains(state))
    }

    /// Let a remote kernel post to `session/state` once more (a call's RSVP).
    pub(crate) fn allow_once(&mut self, session: &str, state: &str) {
        // The names are copied only for a state not yet waiting.
        if let Some(n) = self.rsvp.get_mut(&RsvpStateRef { session, state }) {
            if *n == 0 {
                self.spent -= 1;
            }
            *n += 1;
            return;
        }
        let key = RsvpState {
            session: session.to_owned(),
            state: state.to_owned(),
        };
        self.rsvp.insert(key, 1);
    }

    /// Take back one permission given by [`allow_once`](Self::allow_once)
    /// (the message could not be sent after all, or the answer used it);
    /// `false` if none was waiting.
    pub(crate) fn revoke_once(&mut self, session: &str, state: &str) -> bool {
        let Some(n) = self
            .rsvp
            .get_mut(&RsvpStateRef { session, state })
            .filter(|n| **n > 0)
        else {
            return false;
        };
        *n -= 1;
        if *n == 0 {
            self.spent += 1;
            if self.spent > SPENT_KEPT {
                self.rsvp.retain(|_, n| *n > 0);
                self.spent = 0;
            }
        }
        true
    }

    /// May a remote kernel invoke `session/state`? A one-shot RSVP
    /// permission is used up first; otherwise the state must be published.
    /// `noted` keeps, for the caller's next check of the same pair, the
    /// generation in which the state was found published: while nothing
    /// is published or retracted, the next check does not look again.
    pub(crate) fn check(
        &mut self,
        session: &str,
        state: &str,
        noted: Option<&Cell<u64>>,
    ) -> Result<(), Refusal> {
        // A waiting one-shot permission is used (one look, not two).
        if !self.rsvp.is_empty() && self.revoke_once(session, state) {
            return Ok(());
        }
        if noted.is_some_and(|noted| noted.get() == self.generation) {
            return Ok(());
        }
        self.check_published(session, state)?;
        if let Some(noted) = noted {
            noted.set(self.generation);
        }
        Ok(())
    }

    /// Did `session` publish `state`?
    fn check_published(&self, session: &str, state: &str) -> Result<(), Refusal> {
        match self.local.get(session) {
            None => Err(Refusal::SessionNotAvailable(session.to_owned())),
            Some(states) if !states.contains(state) => Err(Refusal::StateNotPublished(
                session.to_owned(),
                state.to_owned(),
            )),
            Some(_) => Ok(()),
        }
    }
}

/// A set's states, sorted.
fn sorted(set: &HashSet<String>) -> Vec<String> {
    let mut states: Vec<String> = set.iter().cloned().collect();
    states.sort_unstable();
    states
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    impl Published {
        /// The count of one-shot permissions kept for `session/state`.
        fn waiting(&self, session: &str, state: &str) -> Option<u32> {
            self.rsvp.get(&RsvpStateRef { session, state }).copied()
        }
    }

    #[test]
    fn rsvp_permissions_are_per_session_and_state() {
        let mut p = Published::default();
        p.allow_once("ab", "c");
        p.allow_once("me", "reply");
        // The same letters split another way are another pair.
        assert!(p.check("a", "bc", None).is_err());
        assert!(p.check("me", "c", None).is_err());
        assert!(p.check("ab", "reply", None).is_err());
        assert_eq!(p.check("ab", "c", None), Ok(()));
        assert_eq!(p.check("me", "reply", None), Ok(()));
        assert_eq!(p.waiting("ab", "c"), Some(0));
        assert_eq!(p.waiting("a", "bc"), None);
    }

    #[test]
    fn ikc_states_are_published_from_the_start() {
        let mut p = Published::default();
        assert_eq!(p.check("IKC", "ping", None), Ok(()));
        assert_eq!(p.check("IKC", "do_you_have", None), Ok(()));
        assert_eq!(p.check("IKC", "remote_error", None), Ok(()));
        assert_eq!(
            p.check("IKC", "shutdown", None),
            Err(Refusal::StateNotPublished("IKC".into(), "shutdown".into()))
        );
    }

    #[test]
    fn publish_check_retract_with_perl_messages() {
        let mut p = Published::default();
        p.publish(&v(&["test"]), &v(&["fetchQ", "here"]));
        assert_eq!(p.check("test", "here", None), Ok(()));
        let refusal = p.check("test", "nothere", None).unwrap_err();
        assert_eq!(
            refusal.message(),
            "Session 'test' has not published state 'nothere'"
        );
        let refusal = p.check("other", "x", None).unwrap_err();
        assert_eq!(
            refusal.message(),
            "Session 'other' is not available for remote kernels"
        );
        assert_eq!(p.states_of("test"), v(&["fetchQ", "here"]));
        assert!(p.retract(&v(&["test"]), Some(&v(&["here"]))));
        assert!(p.check("test", "here", None).is_err());
        assert!(p.retract(&v(&["test"]), None));
        assert!(!p.has_session("test"));
        assert!(!p.retract(&v(&["test"]), None));
    }

    #[test]
    fn rsvp_permission_is_used_once() {
        let mut p = Published::default();
        p.allow_once("me", "reply");
        p.allow_once("me", "reply");
        assert_eq!(p.check("me", "reply", None), Ok(()));
        assert_eq!(p.check("me", "reply", None), Ok(()));
        assert!(p.check("me", "reply", None).is_err());
        p.allow_once("me", "reply");
        p.revoke_once("me", "reply");
        assert!(p.check("me", "reply", None).is_err());
        // Revoking what is not waiting takes nothing from a later call.
        p.revoke_once("me", "reply");
        p.allow_once("me", "reply");
        assert_eq!(p.check("me", "reply", None), Ok(()));
        assert!(p.check("me", "reply", None).is_err());
    }

    #[test]
    fn used_up_rsvp_permissions_are_kept_a_while_then_swept() {
        let mut p = Published::default();
        for i in 0..=SPENT_KEPT {
            let session = i.to_string();
            p.allow_once(&session, "reply");
            assert_eq!(p.check(&session, "reply", None), Ok(()));
            assert!(p.check(&session, "reply", None).is_err());
        }
        // One past the bound: every used-up entry went.
        assert_eq!(p.spent, 0);
        assert!(p.rsvp.is_empty());
        // A state that waits again and again stays, at 0 between calls.
        for _ in 0..3 {
            p.allow_once("me", "reply");
            assert_eq!(p.check("me", "reply", None), Ok(()));
        }
        assert_eq!(p.spent, 1);
        assert_eq!(p.waiting("me", "reply"), Some(0));
    }

    #[test]
    fn a_state_found_published_is_noted_until_the_states_change() {
        let mut p = Published::default();
        p.publish(&v(&["test"]), &v(&["here"]));
        let noted = Cell::new(0);
        assert_eq!(p.check("test", "here", Some(&noted)), Ok(()));
        assert_eq!(noted.get(), p.generation);
        // Noted: answered without a look (a state never published would
        // pass with this note, so the note is the caller's own pair's).
        p.local.clear();
        assert_eq!(p.check("test", "here", Some(&noted)), Ok(()));
        // Publishing or retracting anything takes the note's worth away.
        p.publish(&v(&["other"]), &v(&["x"]));
        assert!(p.check("test", "here", Some(&noted)).is_err());
        p.publish(&v(&["test"]), &v(&["here"]));
        assert_eq!(p.check("test", "here", Some(&noted)), Ok(()));
        assert!(p.retract(&v(&["test"]), Some(&v(&["here"]))));
        assert!(p.check("test", "here", Some(&noted)).is_err());
        // A refusal is not noted.
        let refused = Cell::new(0);
        assert!(p.check("test", "nothere", Some(&refused)).is_err());
        assert_eq!(refused.get(), 0);
        // A one-shot permission is still used up first.
        p.publish(&v(&["test"]), &v(&["here"]));
        assert_eq!(p.check("test", "here", Some(&noted)), Ok(()));
        p.allow_once("test", "here");
        assert_eq!(p.check("test", "here", Some(&noted)), Ok(()));
        assert_eq!(p.waiting("test", "here"), Some(0));
    }
}
