//! Monitors: sessions that asked to be told when remote kernels register,
//! unregister, are subscribed to, shut down, change channels or fail.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use ikc_freezer::Value;

/// What a monitor can be told about (IKC's monitor operations).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MonitorOp {
    /// A remote kernel (or one of its aliases) registered: the handshake finished.
    Register,
    /// A remote kernel (or alias) went away.
    Unregister,
    /// A subscription to a remote session succeeded (extra arg: the specifier).
    Subscribe,
    /// A proxy session for a remote session went away.
    Unsubscribe,
    /// Someone asked IKC to shut down.
    Shutdown,
    /// A channel became `ready` or `close`d (extra args: op, channel session id).
    Channel,
    /// An error (extra args: operation, message).
    Error,
    /// A message left for another kernel (extra arg: a hash describing
    /// it; see the `traffic` notes in the crate docs).
    Leaving,
    /// A message arrived from another kernel.
    Arriving,
    /// A message passed through this kernel on its way to another.
    Routed,
    /// A message from another kernel was not delivered (the hash has a `reason`).
    Dropped,
    /// The route to a kernel of the mesh is new or leads another way
    /// (extra args: the neighbour its messages go to first, and the hop
    /// count). A change of the route's cost alone is not reported.
    Route,
}

impl MonitorOp {
    /// IKC's operations, in its documentation order.
    pub const ALL: [Self; 7] = [
        Self::Register,
        Self::Unregister,
        Self::Subscribe,
        Self::Unsubscribe,
        Self::Shutdown,
        Self::Channel,
        Self::Error,
    ];

    /// The message monitors (ikc-rs's own): messages leaving, arriving,
    /// routed through and dropped.
    pub const MESSAGES: [Self; 4] = [Self::Leaving, Self::Arriving, Self::Routed, Self::Dropped];

    /// The mesh's own operations (ikc-rs's): a route that changed.
    pub const MESH: [Self; 1] = [Self::Route];

    /// Is this one of the [message monitors](Self::MESSAGES)?
    pub fn is_message(self) -> bool {
        Self::MESSAGES.contains(&self)
    }

    /// The key IKC uses for this operation in a monitor's states hash.
    pub fn key(self) -> &'static str {
        match self {
            Self::Register => "register",
            Self::Unregister => "unregister",
            Self::Subscribe => "subscribe",
            Self::Unsubscribe => "unsubscribe",
            Self::Shutdown => "shutdown",
            Self::Channel => "channel",
            Self::Error => "error",
            Self::Leaving => "leaving",
            Self::Arriving => "arriving",
            Self::Routed => "routed",
            Self::Dropped => "dropped",
            Self::Route => "route",
        }
    }

    /// The operation for an IKC key.
    pub fn from_key(key: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .chain(Self::MESSAGES)
            .chain(Self::MESH)
            .find(|op| op.key() == key)
    }
}

impl fmt::Display for MonitorOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

/// The states one session wants posted for one kernel (or `*`), and the
/// `data` value passed back to each of them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MonitorStates {
    /// Operation -> state to post in the monitoring session.
    pub states: BTreeMap<MonitorOp, String>,
    /// Any value, passed to every callback as ARG3.
    pub data: Value,
}

impl MonitorStates {
    /// No callbacks yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Post `state` for `op`.
    pub fn on(mut self, op: MonitorOp, state: impl Into<String>) -> Self {
        self.states.insert(op, state.into());
        self
    }

    /// Pass `data` to every callback.
    pub fn with_data(mut self, data: impl Into<Value>) -> Self {
        self.data = data.into();
        self
    }

    /// Read IKC's states hash: `{register => 'state', ..., data => ...}`.
    /// Unknown keys are ignored; a key whose state is empty or undef is unset.
    pub fn from_value(value: &Value) -> Self {
        let mut out = Self::default();
        if let Some(hash) = value.as_hash() {
            for (k, v) in hash {
                let Some(key) = k.as_str() else { continue };
                if key == "data" {
                    out.data = v.clone();
                } else if let Some(op) = MonitorOp::from_key(key) {
                    let state = match v {
                        Value::Str(s) => s.clone(),
                        Value::Bytes(b) => String::from_utf8_lossy(b).into_owned(),
                        _ => continue,
                    };
                    if !state.is_empty() {
                        out.states.insert(op, state);
                    }
                }
            }
        }
        out
    }

    /// Does this ask for anything?
    pub fn is_empty(&self) -> bool {
        self.states.is_empty()
    }
}

/// One monitor callback to post: to `session`, state `state`, with the name
/// the monitor was registered under and its `data`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Notice<S> {
    pub(crate) session: S,
    pub(crate) state: String,
    pub(crate) name_given: String,
    pub(crate) data: Value,
}

/// Monitors by kernel name (real ID, alias or `*`), then by session.
#[derive(Debug)]
pub(crate) struct Monitors<S> {
    by_kernel: HashMap<String, BTreeMap<S, (String, MonitorStates)>>,
    /// Some monitor asks for a message operation.
    messages: bool,
}

impl<S> Default for Monitors<S> {
    fn default() -> Self {
        Self {
            by_kernel: HashMap::new(),
            messages: false,
        }
    }
}

impl<S> Monitors<S> {
    /// Does any monitor ask for messages (leaving, arriving, ...)?
    #[inline]
    pub(crate) fn watches_messages(&self) -> bool {
        self.messages
    }

    fn recount(&mut self) {
        self.messages = self
            .by_kernel
            .values()
            .flat_map(BTreeMap::values)
            .any(|(_, states)| states.states.keys().any(|op| op.is_message()));
    }
}

impl<S: Copy + Ord> Monitors<S> {
    /// Set (or, with empty states, remove) `session`'s monitor of `kernel`.
    /// `name_given` is what the session asked for (passed back as ARG0).
    pub(crate) fn set(
        &mut self,
        session: S,
        kernel: &str,
        name_given: &str,
        states: MonitorStates,
    ) {
        if states.is_empty() {
            if let Some(m) = self.by_kernel.get_mut(kernel) {
                m.remove(&session);
                if m.is_empty() {
                    self.by_kernel.remove(kernel);
                }
            }
        } else {
            self.by_kernel
                .entry(kernel.to_owned())
                .or_default()
                .insert(session, (name_given.to_owned(), states));
        }
        self.recount();
    }

    /// Forget every monitor of a session (it stopped).
    pub(crate) fn remove_session(&mut self, session: S) {
        self.by_kernel.retain(|_, m| {
            m.remove(&session);
            !m.is_empty()
        });
        self.recount();
    }

    /// The callbacks for `op` about a kernel known by several names: the
    /// monitors of each name, then of `*`, each session once.
    pub(crate) fn notices_once(&self, names: &[&str], op: MonitorOp) -> Vec<Notice<S>> {
        let keys: Vec<&str> = names.iter().copied().chain(["*"]).collect();
        self.collect(&keys, op, true)
    }

    /// The callbacks for `op` about kernel name `name`: monitors of that
    /// name, then monitors of `*` (once, if `name` is itself `*`).
    pub(crate) fn notices(&self, name: &str, op: MonitorOp) -> Vec<Notice<S>> {
        let keys: &[&str] = if name == "*" { &["*"] } else { &[name, "*"] };
        self.collect(keys, op, false)
    }

    /// The monitors of `op` under each key in turn (each session once if
    /// `once`).
    fn collect(&self, keys: &[&str], op: MonitorOp, once: bool) -> Vec<Notice<S>> {
        let mut out: Vec<Notice<S>> = Vec::new();
        for key in keys {
            let Some(m) = self.by_kernel.get(*key) else {
                continue;
            };
            for (session, (name_given, states)) in m {
                if once && out.iter().any(|n| n.session == *session) {
                    continue;
                }
                if let Some(state) = states.states.get(&op) {
                    out.push(Notice {
                        session: *session,
                        state: state.clone(),
                        name_given: name_given.clone(),
                        data: states.data.clone(),
                    });
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ikc_freezer::Hash;

    #[test]
    fn states_hash_from_perl_shape() {
        let mut h = Hash::new();
        h.insert("register", "reg");
        h.insert("error", "err");
        h.insert("bogus", "x");
        h.insert("unregister", "");
        h.insert("data", "magic box");
        let m = MonitorStates::from_value(&Value::from(h));
        assert_eq!(
            m,
            MonitorStates::new()
                .on(MonitorOp::Register, "reg")
                .on(MonitorOp::Error, "err")
                .with_data("magic box")
        );
    }

    #[test]
    fn named_then_star_monitors_are_told() {
        let mut ms = Monitors::default();
        ms.set(
            1u32,
            "*",
            "*",
            MonitorStates::new().on(MonitorOp::Register, "any"),
        );
        ms.set(
            2,
            "Pulse",
            "poe://Pulse",
            MonitorStates::new().on(MonitorOp::Register, "pulse"),
        );
        ms.set(
            3,
            "Pulse",
            "Pulse",
            MonitorStates::new().on(MonitorOp::Error, "e"),
        );
        let n = ms.notices("Pulse", MonitorOp::Register);
        assert_eq!(
            n.iter()
                .map(|n| (n.session, n.state.as_str(), n.name_given.as_str()))
                .collect::<Vec<_>>(),
            [(2, "pulse", "poe://Pulse"), (1, "any", "*")]
        );
        assert_eq!(ms.notices("*", MonitorOp::Register).len(), 1);
        assert!(ms.notices("Other", MonitorOp::Error).is_empty());
        // Empty states neglect; a stopped session is forgotten.
        ms.set(2, "Pulse", "Pulse", MonitorStates::new());
        assert_eq!(ms.notices("Pulse", MonitorOp::Register).len(), 1);
        ms.remove_session(1);
        assert!(ms.notices("Pulse", MonitorOp::Register).is_empty());
        assert_eq!(ms.notices("Pulse", MonitorOp::Error).len(), 1);
    }

    #[test]
    fn message_monitors_are_counted() {
        let mut ms = Monitors::default();
        assert!(!ms.watches_messages());
        ms.set(
            1u32,
            "*",
            "*",
            MonitorStates::new().on(MonitorOp::Register, "r"),
        );
        assert!(!ms.watches_messages());
        ms.set(
            2,
            "B",
            "B",
            MonitorStates::new().on(MonitorOp::Leaving, "out"),
        );
        assert!(ms.watches_messages());
        assert_eq!(MonitorOp::from_key("dropped"), Some(MonitorOp::Dropped));
        assert_eq!(MonitorOp::from_key("route"), Some(MonitorOp::Route));
        ms.remove_session(2);
        assert!(!ms.watches_messages());
        ms.set(
            3,
            "*",
            "*",
            MonitorStates::new().on(MonitorOp::Arriving, "in"),
        );
        ms.set(3, "*", "*", MonitorStates::new());
        assert!(!ms.watches_messages());
    }
}
