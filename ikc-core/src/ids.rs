//! Identifiers: sessions, alarms, I/O watchers, and who sent an event.

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use ikc_freezer::Value;

/// A session's id, POE's `$session->ID`.
///
/// Ids come from a counter per kernel that starts at 1 and is never reused,
/// so a stale id never reaches a newer session. Print one with `Display`
/// (the bare number, as POE prints it) and parse it back with `FromStr`.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SessionId(u64);

impl SessionId {
    /// The id with this number (for example one read back from a message).
    pub const fn from_raw(n: u64) -> Self {
        Self(n)
    }

    /// The number.
    pub const fn get(self) -> u64 {
        self.0
    }

    /// The id held in an event argument: an integer, or a string of digits
    /// (POE's `alias_resolve` accepts both).
    pub fn from_value(value: &Value) -> Option<Self> {
        value_to_u64(value).map(Self)
    }
}

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl FromStr for SessionId {
    type Err = std::num::ParseIntError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        s.parse().map(Self)
    }
}

impl From<SessionId> for Value {
    fn from(id: SessionId) -> Self {
        Self::from(id.0)
    }
}

/// An alarm's id, as returned by `alarm_set`/`delay_set` (POE's alarm ids).
///
/// Like a [`WatcherId`] it is a slot of the alarm queue plus the slot's
/// generation, so finding an alarm is an index: the id of an alarm that
/// fired or was removed does not match the alarm that reuses its slot
/// (until that one slot has been reused 2^32 times).
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AlarmId(pub(crate) u64);

impl AlarmId {
    /// The number.
    pub const fn get(self) -> u64 {
        self.0
    }

    /// The id held in an event argument (an integer or a string of digits).
    pub fn from_value(value: &Value) -> Option<Self> {
        value_to_u64(value).map(Self)
    }
}

impl fmt::Display for AlarmId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl From<AlarmId> for Value {
    fn from(id: AlarmId) -> Self {
        Self::from(id.0)
    }
}

/// An I/O watcher's id, as returned by `Ctx::watch` and carried as ARG0 of
/// every readiness event.
///
/// It is a slot index plus a generation (the mio token), so the id of a
/// removed watcher never matches the watcher that reuses its slot.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct WatcherId(pub(crate) u64);

impl WatcherId {
    /// The number (the mio token the watcher is registered with).
    pub const fn get(self) -> u64 {
        self.0
    }

    /// The id held in an event argument (an integer).
    pub fn from_value(value: &Value) -> Option<Self> {
        value_to_u64(value).map(Self)
    }
}

impl fmt::Display for WatcherId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl From<WatcherId> for Value {
    fn from(id: WatcherId) -> Self {
        Self::from(id.0)
    }
}

/// Where an event goes: a session id, or a name.
///
/// A name is looked up, in this order, as an alias of a local session, as a
/// session id written in digits, and, if it starts with `poe:` or `//`, as
/// an IKC specifier (see the crate docs: a specifier naming another kernel
/// goes to the forwarder).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Target<'a> {
    /// A session by id.
    Session(SessionId),
    /// An alias, a session id in digits, or a specifier.
    Name(Cow<'a, str>),
}

impl Target<'_> {
    /// The same target, owning its name (to send it to another thread).
    pub fn into_owned(self) -> Target<'static> {
        match self {
            Self::Session(id) => Target::Session(id),
            Self::Name(n) => Target::Name(Cow::Owned(n.into_owned())),
        }
    }
}

impl fmt::Display for Target<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Session(id) => write!(f, "session {id}"),
            Self::Name(n) => write!(f, "{n:?}"),
        }
    }
}

impl From<SessionId> for Target<'_> {
    fn from(id: SessionId) -> Self {
        Self::Session(id)
    }
}

impl<'a> From<&'a str> for Target<'a> {
    fn from(name: &'a str) -> Self {
        Self::Name(Cow::Borrowed(name))
    }
}

impl<'a> From<&'a String> for Target<'a> {
    fn from(name: &'a String) -> Self {
        Self::Name(Cow::Borrowed(name))
    }
}

impl From<String> for Target<'_> {
    fn from(name: String) -> Self {
        Self::Name(Cow::Owned(name))
    }
}

impl<'a> From<&Self> for Target<'a> {
    fn from(t: &Self) -> Self {
        t.clone()
    }
}

/// A non-negative integer in a value (an `Int`, a `UInt`, or digits).
pub(crate) fn value_to_u64(value: &Value) -> Option<u64> {
    match value {
        Value::Int(n) => u64::try_from(*n).ok(),
        Value::UInt(n) => Some(*n),
        Value::Str(s) => s.parse().ok(),
        Value::Bytes(b) => std::str::from_utf8(b).ok()?.parse().ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_id_round_trips_through_text_and_values() {
        let id = SessionId::from_raw(42);
        assert_eq!(id.to_string(), "42");
        assert_eq!("42".parse::<SessionId>(), Ok(id));
        assert_eq!(SessionId::from_value(&Value::from(id)), Some(id));
        assert_eq!(SessionId::from_value(&Value::from("42")), Some(id));
        assert_eq!(SessionId::from_value(&Value::from(-1)), None);
        assert_eq!(SessionId::from_value(&Value::Undef), None);
    }

    #[test]
    fn targets_borrow_or_own_names() {
        let name = String::from("IKC");
        assert_eq!(Target::from(&name), Target::Name(Cow::Borrowed("IKC")));
        let owned = Target::from("IKC").into_owned();
        assert_eq!(owned, Target::Name(Cow::Owned("IKC".into())));
        assert_eq!(
            Target::from(SessionId::from_raw(3)).to_string(),
            "session 3"
        );
    }
}
