//! Events: the state name, the arguments, the sender and where it was sent from.

use std::borrow::{Borrow, Cow};
use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::ops::Deref;
use std::panic::Location;
use std::sync::Arc;

use ikc_freezer::Value;

use crate::ids::WatcherId;
use crate::sender::{RemoteSender, Sender};

/// The impls by which a name type reads as the `str` its `as_str` gives:
/// `Deref`, `AsRef`, `Borrow`, comparison with `str` and `&str`, `Debug`
/// and `Display` (for [`StateName`] and [`CallerFile`]).
macro_rules! reads_as_str {
    ($name:ty) => {
        impl Deref for $name {
            type Target = str;

            fn deref(&self) -> &str {
                self.as_str()
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                self.as_str()
            }
        }

        impl Borrow<str> for $name {
            fn borrow(&self) -> &str {
                self.as_str()
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.as_str() == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.as_str() == *other
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Debug::fmt(self.as_str(), f)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

/// The name of a state (POE's event name), cheap to clone.
///
/// A `&'static str` (a literal) is kept as it is, so posting
/// `ctx.yield_("tick", ...)` allocates nothing for the name; any other
/// string is shared behind an `Arc`. It compares, hashes and prints as the
/// string it holds.
#[derive(Clone)]
pub struct StateName(Repr);

#[derive(Clone)]
enum Repr {
    Static(&'static str),
    Shared(Arc<str>),
}

impl StateName {
    /// A state name from a string literal (no allocation).
    pub const fn from_static(name: &'static str) -> Self {
        Self(Repr::Static(name))
    }

    /// A state name copied from any string.
    pub fn new(name: &str) -> Self {
        Self(Repr::Shared(Arc::from(name)))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        match &self.0 {
            Repr::Static(s) => s,
            Repr::Shared(s) => s,
        }
    }
}

reads_as_str!(StateName);

impl PartialEq for StateName {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for StateName {}

impl PartialOrd for StateName {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for StateName {
    fn cmp(&self, other: &Self) -> Ordering {
        self.as_str().cmp(other.as_str())
    }
}

impl Hash for StateName {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl From<&'static str> for StateName {
    fn from(name: &'static str) -> Self {
        Self::from_static(name)
    }
}

impl From<String> for StateName {
    fn from(name: String) -> Self {
        Self(Repr::Shared(Arc::from(name)))
    }
}

impl From<&String> for StateName {
    fn from(name: &String) -> Self {
        Self::new(name)
    }
}

impl From<Arc<str>> for StateName {
    fn from(name: Arc<str>) -> Self {
        Self(Repr::Shared(name))
    }
}

impl From<Cow<'static, str>> for StateName {
    fn from(name: Cow<'static, str>) -> Self {
        match name {
            Cow::Borrowed(s) => Self::from_static(s),
            Cow::Owned(s) => Self::from(s),
        }
    }
}

impl From<&Self> for StateName {
    fn from(name: &Self) -> Self {
        name.clone()
    }
}

impl From<StateName> for Value {
    fn from(name: StateName) -> Self {
        Self::Str(name.as_str().to_owned())
    }
}

/// A source file name, POE's `CALLER_FILE`: a `&'static str` for events
/// made in this process ([`Location::file`]), or the text a remote sender
/// sent, shared by every event from that sender (held as a [`StateName`]
/// holds its name). It reads as a `str`.
///
/// ```
/// use ikc_core::CallerFile;
///
/// let here = CallerFile::from(file!());
/// assert_eq!(here, file!());
/// assert!(here.ends_with(".rs"));
/// let remote = CallerFile::from(String::from("client.rs"));
/// assert_eq!(remote.to_string(), "client.rs");
/// assert_eq!(CallerFile::default(), "");
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CallerFile(StateName);

impl CallerFile {
    /// The file name.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

reads_as_str!(CallerFile);

impl Default for CallerFile {
    fn default() -> Self {
        Self(StateName::from_static(""))
    }
}

impl From<&'static str> for CallerFile {
    fn from(file: &'static str) -> Self {
        Self(StateName::from_static(file))
    }
}

impl From<Arc<str>> for CallerFile {
    fn from(file: Arc<str>) -> Self {
        Self(StateName::from(file))
    }
}

impl From<String> for CallerFile {
    fn from(file: String) -> Self {
        Self(StateName::from(file))
    }
}

impl From<CallerFile> for String {
    fn from(file: CallerFile) -> Self {
        file.as_str().to_owned()
    }
}

/// One event, as a handler receives it: POE's `STATE`, `ARG0..`, `SENDER`,
/// `CALLER_STATE`, `CALLER_FILE` and `CALLER_LINE`.
///
/// The caller fields say where the event was posted (or called, or its
/// timer set) from. For an event from another kernel they are what that
/// kernel sent along (see [`RemoteSender`]), so a handler reads them the
/// same way wherever its caller lives; a kernel that sends none (Perl IKC)
/// leaves them empty: no state, file `""`, line 0.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// The state (event name) being invoked.
    pub state: StateName,
    /// The arguments: `ARG0`, `ARG1`, ...
    pub args: Vec<Value>,
    /// Who posted or called it.
    pub sender: Sender,
    /// The state the sender was running when it made the event (POE's
    /// `CALLER_STATE`); `None` when the kernel made it from outside any
    /// handler, or the remote sender did not say.
    pub caller_state: Option<StateName>,
    /// The source file of the `post`/`call`/`yield_`/timer call that made
    /// it; `""` when a remote sender did not say.
    pub caller_file: CallerFile,
    /// The line of that call; 0 when a remote sender did not say.
    pub caller_line: u32,
}

impl Event {
    /// An event from the kernel, located at the caller of this function.
    #[track_caller]
    pub fn new(state: impl Into<StateName>, args: Vec<Value>) -> Self {
        Self::located(state.into(), args, Sender::Kernel, Location::caller())
    }

    /// An event sent by a session of another kernel: the caller fields
    /// are the remote sender's state, file and line.
    pub fn from_remote(
        state: impl Into<StateName>,
        args: Vec<Value>,
        sender: Arc<RemoteSender>,
    ) -> Self {
        Self {
            state: state.into(),
            args,
            caller_state: sender.state_name().cloned(),
            caller_file: sender.caller_file(),
            caller_line: sender.line().unwrap_or(0),
            sender: Sender::Remote(sender),
        }
    }

    pub(crate) fn located(
        state: StateName,
        args: Vec<Value>,
        sender: Sender,
        at: &'static Location<'static>,
    ) -> Self {
        Self {
            state,
            args,
            sender,
            caller_state: None,
            caller_file: CallerFile::from(at.file()),
            caller_line: at.line(),
        }
    }

    /// The state name as a string.
    pub fn state(&self) -> &str {
        self.state.as_str()
    }

    /// Argument `n` (`ARGn`), if there is one.
    pub fn arg(&self, n: usize) -> Option<&Value> {
        self.args.get(n)
    }

    /// The state the sender was running, as a string (POE's
    /// `CALLER_STATE`); `None` if not known.
    pub fn caller_state(&self) -> Option<&str> {
        self.caller_state.as_deref()
    }
}

/// What an I/O readiness event says, decoded from its arguments.
///
/// A watcher's state is invoked with the arguments
/// `[watcher id, readable, writable, read_closed, write_closed, error]`:
/// ARG0 an integer (the [`WatcherId`]), the others booleans, taken from the
/// mio event. Readiness is edge-triggered: read (or write) until the
/// operation returns `WouldBlock`, or no further event will come.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Readiness {
    /// The watcher the event is for.
    pub watcher: WatcherId,
    /// The source can be read.
    pub readable: bool,
    /// The source can be written.
    pub writable: bool,
    /// The read half is closed (the peer shut down or closed).
    pub read_closed: bool,
    /// The write half is closed.
    pub write_closed: bool,
    /// The source reports an error.
    pub error: bool,
}

impl Readiness {
    /// Number of arguments a readiness event carries.
    pub const ARGS: usize = 6;

    pub(crate) fn from_mio(watcher: WatcherId, event: &mio::event::Event) -> Self {
        Self {
            watcher,
            readable: event.is_readable(),
            writable: event.is_writable(),
            read_closed: event.is_read_closed(),
            write_closed: event.is_write_closed(),
            error: event.is_error(),
        }
    }

    /// Decode the arguments of a readiness event; `None` if they are not one.
    pub fn from_args(args: &[Value]) -> Option<Self> {
        let [id, r, w, rc, wc, e] = args else {
            return None;
        };
        let flag = |v: &Value| match v {
            Value::Bool(b) => Some(*b),
            _ => None,
        };
        Some(Self {
            watcher: WatcherId::from_value(id)?,
            readable: flag(r)?,
            writable: flag(w)?,
            read_closed: flag(rc)?,
            write_closed: flag(wc)?,
            error: flag(e)?,
        })
    }

    /// Decode a readiness event; `None` if it is not one.
    pub fn from_event(event: &Event) -> Option<Self> {
        Self::from_args(&event.args)
    }

    /// The event the kernel delivers this readiness as: `state`, from the
    /// kernel, with [`to_args`](Self::to_args) as its arguments.
    pub fn into_event(self, state: StateName) -> Event {
        crate::kernel::core::kernel_event(state, self.to_args())
    }

    /// The event arguments that carry this readiness.
    pub fn to_args(&self) -> Vec<Value> {
        vec![
            Value::from(self.watcher),
            Value::Bool(self.readable),
            Value::Bool(self.writable),
            Value::Bool(self.read_closed),
            Value::Bool(self.write_closed),
            Value::Bool(self.error),
        ]
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    #[test]
    fn state_names_compare_and_hash_as_strings() {
        let a = StateName::from("tick");
        let b = StateName::from(String::from("tick"));
        assert_eq!(a, b);
        assert_eq!(a, "tick");
        let mut map = HashMap::new();
        map.insert(b, 1);
        assert_eq!(map.get("tick"), Some(&1));
        assert_eq!(format!("{a} {a:?}"), "tick \"tick\"");
    }

    #[test]
    fn events_record_the_caller() {
        let line = line!() + 1;
        let ev = Event::new("go", vec![Value::from(1)]);
        assert_eq!((ev.caller_file.as_ref(), ev.caller_line), (file!(), line));
        assert_eq!(ev.caller_state(), None);
        assert_eq!(ev.arg(0), Some(&Value::Int(1)));
        assert_eq!(ev.arg(1), None);
        assert_eq!(ev.sender, Sender::Kernel);
    }

    #[test]
    fn remote_events_carry_the_remote_callers_location() {
        let from = RemoteSender::new("Client", "pinger")
            .with_state("do_stuff")
            .with_location("client.rs", 42);
        let ev = Event::from_remote("ping", vec![], Arc::new(from));
        assert_eq!(ev.caller_state(), Some("do_stuff"));
        assert_eq!((ev.caller_file.as_ref(), ev.caller_line), ("client.rs", 42));
        assert!(ev.sender.is_remote());
        // A Perl sender says nothing.
        let ev = Event::from_remote("ping", vec![], Arc::new(RemoteSender::new("Perl", "s")));
        assert_eq!(
            (ev.caller_state(), ev.caller_file.as_ref(), ev.caller_line),
            (None, "", 0)
        );
    }

    #[test]
    fn readiness_round_trips_through_args() {
        let r = Readiness {
            watcher: WatcherId(7 | (3 << 32)),
            readable: true,
            writable: false,
            read_closed: true,
            write_closed: false,
            error: false,
        };
        assert_eq!(Readiness::from_args(&r.to_args()), Some(r));
        assert_eq!(Readiness::from_args(&[Value::from(1)]), None);
        let mut bad = r.to_args();
        bad[2] = Value::from(1);
        assert_eq!(Readiness::from_args(&bad), None);
    }
}
