//! Who sent an event: POE's `SENDER`, which may be a session of another
//! kernel (Lightspeed's remote SENDER).

use std::fmt;
use std::sync::Arc;

use crate::event::{CallerFile, StateName};
use crate::ids::{SessionId, Target};

/// Who sent an event: POE's `SENDER`.
///
/// A session of another kernel is a [`Sender::Remote`]: it says which
/// kernel, session and state sent the event, from which file and line
/// (what the remote kernel told us), and which local session answers for
/// it. Posting to a remote sender (through [`target`](Self::target), or
/// to the session [`session`](Self::session) returns) sends the event back
/// to the remote session, as IKC's proxy SENDER does.
///
/// ```
/// use ikc_core::{RemoteSender, Sender, SessionId, Target};
///
/// let from = RemoteSender::new("Client", "pinger")
///     .with_state("do_stuff")
///     .with_location("client.rs", 42)
///     .with_via(SessionId::from_raw(7));
/// let sender = Sender::from(from);
/// assert!(sender.is_remote());
/// let remote = sender.remote().unwrap();
/// assert_eq!((remote.kernel(), remote.session(), remote.state()), ("Client", "pinger", Some("do_stuff")));
/// assert_eq!((remote.file(), remote.line()), (Some("client.rs"), Some(42)));
/// assert_eq!(remote.specifier(), "poe://Client/pinger");
/// // Posting to the sender reaches the local session that answers for it.
/// assert_eq!(sender.target(), Some(Target::Session(SessionId::from_raw(7))));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Sender {
    /// The kernel itself: lifecycle notices, timers, I/O, signals, and
    /// everything posted from outside any handler (from `Kernel` methods or
    /// from another thread through a `KernelHandle`).
    Kernel,
    /// A session of this kernel.
    Session(SessionId),
    /// A session of another kernel.
    Remote(Arc<RemoteSender>),
}

impl Sender {
    /// The local session to post to in order to answer the sender: the
    /// sending session itself, or for a remote sender the local session
    /// that answers for it (IKC's thunk). `None` for the kernel, and for a
    /// remote sender nothing answers for.
    pub fn session(&self) -> Option<SessionId> {
        match self {
            Self::Kernel => None,
            Self::Session(id) => Some(*id),
            Self::Remote(remote) => remote.via,
        }
    }

    /// Is the sender a session of another kernel (Lightspeed's
    /// `is_lightspeed`)?
    pub fn is_remote(&self) -> bool {
        matches!(self, Self::Remote(_))
    }

    /// The remote sender's details, if the sender is remote.
    pub fn remote(&self) -> Option<&RemoteSender> {
        match self {
            Self::Remote(remote) => Some(remote),
            _ => None,
        }
    }

    /// Where to post to answer the sender: the sending session; for a
    /// remote sender the local session that answers for it, or else its
    /// specifier (`poe://kernel/session`, which the kernel hands to IKC);
    /// `None` for the kernel.
    pub fn target(&self) -> Option<Target<'static>> {
        match self {
            Self::Kernel => None,
            Self::Session(id) => Some(Target::Session(*id)),
            Self::Remote(remote) => Some(match remote.via {
                Some(id) => Target::Session(id),
                None => Target::from(remote.specifier()),
            }),
        }
    }
}

impl From<SessionId> for Sender {
    fn from(id: SessionId) -> Self {
        Self::Session(id)
    }
}

impl From<RemoteSender> for Sender {
    fn from(remote: RemoteSender) -> Self {
        Self::Remote(Arc::new(remote))
    }
}

impl From<Arc<RemoteSender>> for Sender {
    fn from(remote: Arc<RemoteSender>) -> Self {
        Self::Remote(remote)
    }
}

/// A session of another kernel that sent an event (Lightspeed's remote
/// `SENDER`): the kernel and session it is, the state it was running, and
/// the file and line it posted from.
///
/// The state, file and line are what the remote kernel sent along; a Perl
/// IKC kernel sends none of them, and they are then `None`. It prints (and
/// [`specifier`](Self::specifier) returns) as `poe://kernel/session`, a
/// specifier that may be stored, sent elsewhere and posted to later with a
/// state (Lightspeed's `$_[SENDER]->ID`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct RemoteSender {
    kernel: String,
    session: String,
    /// Kept as the event name it becomes (`CALLER_STATE` of the events
    /// it sends), so that each event shares it.
    state: Option<StateName>,
    /// Shared with the events it sends (their `CALLER_FILE`).
    file: Option<Arc<str>>,
    line: Option<u32>,
    via: Option<SessionId>,
}

impl RemoteSender {
    /// A session of a remote kernel, with no state, location, or local
    /// session answering for it.
    pub fn new(kernel: impl Into<String>, session: impl Into<String>) -> Self {
        Self {
            kernel: kernel.into(),
            session: session.into(),
            ..Self::default()
        }
    }

    /// The state the remote session was running when it sent the event.
    #[must_use]
    pub fn with_state(mut self, state: impl Into<String>) -> Self {
        self.state = Some(StateName::from(state.into()));
        self
    }

    /// The file and line the remote session sent the event from.
    #[must_use]
    pub fn with_location(mut self, file: impl Into<String>, line: u32) -> Self {
        self.file = Some(Arc::from(file.into()));
        self.line = Some(line);
        self
    }

    /// The local session that answers for the remote one: events posted to
    /// the sender go to it (IKC's thunk).
    #[must_use]
    pub fn with_via(mut self, session: SessionId) -> Self {
        self.via = Some(session);
        self
    }

    /// The remote kernel's name (Lightspeed's `remote_kernel`).
    pub fn kernel(&self) -> &str {
        &self.kernel
    }

    /// The remote session's name (`remote_session`): an alias, or a
    /// session id in digits.
    pub fn session(&self) -> &str {
        &self.session
    }

    /// The state it was running (`remote_state`); `None` if the remote
    /// kernel did not say (Perl IKC never does).
    pub fn state(&self) -> Option<&str> {
        self.state.as_ref().map(StateName::as_str)
    }

    /// [`state`](Self::state) as the event name it is.
    pub(crate) fn state_name(&self) -> Option<&StateName> {
        self.state.as_ref()
    }

    /// The file it posted from (`remote_file`); `None` if not known.
    pub fn file(&self) -> Option<&str> {
        self.file.as_deref()
    }

    /// The file, shared, for the events it sends.
    pub(crate) fn caller_file(&self) -> CallerFile {
        self.file.as_ref().map_or_else(CallerFile::default, |file| {
            CallerFile::from(Arc::clone(file))
        })
    }

    /// The line it posted from (`remote_line`); `None` if not known.
    pub fn line(&self) -> Option<u32> {
        self.line
    }

    /// The local session that answers for it, if any.
    pub fn via(&self) -> Option<SessionId> {
        self.via
    }

    /// Its specifier, `poe://kernel/session` (Lightspeed's `SENDER->ID`
    /// without the trailing `/`): post to it with a state, or append
    /// `/state` for `post_to`.
    pub fn specifier(&self) -> String {
        format!("poe://{}/{}", self.kernel, self.session)
    }
}

impl fmt::Display for RemoteSender {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "poe://{}/{}", self.kernel, self.session)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_and_kernel_senders() {
        let id = SessionId::from_raw(3);
        assert_eq!(Sender::from(id).session(), Some(id));
        assert_eq!(Sender::from(id).target(), Some(Target::Session(id)));
        assert_eq!(Sender::Kernel.session(), None);
        assert_eq!(Sender::Kernel.target(), None);
        assert!(!Sender::from(id).is_remote());
        assert_eq!(Sender::Kernel.remote(), None);
    }

    #[test]
    fn a_remote_sender_with_nothing_answering_is_its_specifier() {
        let sender = Sender::from(RemoteSender::new("Perl", "IKCLite"));
        let remote = sender.remote().unwrap();
        assert_eq!(
            (remote.state(), remote.file(), remote.line()),
            (None, None, None)
        );
        assert_eq!(sender.session(), None);
        assert_eq!(
            sender.target(),
            Some(Target::from("poe://Perl/IKCLite".to_owned()))
        );
        assert_eq!(remote.to_string(), remote.specifier());
    }
}
