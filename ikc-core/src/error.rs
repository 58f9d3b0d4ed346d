//! The errors of the kernel.

use std::io;

use ikc_specifier::ParseError;

use crate::event::{Event, StateName};
use crate::ids::{SessionId, WatcherId};

/// Why an event could not be delivered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DeliveryError {
    /// No session has this id or alias.
    #[error("no session {0:?} in this kernel")]
    UnknownSession(String),
    /// The specifier names another kernel, and no forwarder (the IKC
    /// responder) is registered to take it there.
    #[error("unknown kernel {0:?} (no forwarder is registered)")]
    UnknownKernel(String),
    /// The target starts like a specifier (`poe:` or `//`) but does not parse.
    #[error(transparent)]
    BadSpecifier(#[from] ParseError),
    /// The specifier has no session and the event was not sent from a
    /// session (so there is no "current session" to fill in).
    #[error("specifier {0:?} names no session, and there is no current session")]
    NoCurrentSession(String),
    /// `post`/`call` take the state as an argument, but the specifier also
    /// names one: use `post_to`, which takes the state from the specifier.
    #[error("specifier {0:?} names a state: use post_to")]
    StateInTarget(String),
    /// `post_to` takes the state from the specifier, and it names none.
    #[error("specifier {0:?} names no state")]
    MissingState(String),
    /// The specifier names several sessions or `*` in this kernel, which
    /// local delivery does not expand.
    #[error("specifier {0:?} names more than one local session")]
    UnsupportedTarget(String),
    /// The kernel has finished running (or was dropped) and takes no more
    /// events from other threads.
    #[error("the kernel is not running")]
    KernelStopped,
    /// A destination given as a value is none of a specifier string, an
    /// array `[kernel, session, state]` or a hash `{KERNEL, SESSION, STATE}`.
    #[error("a destination is a specifier string, an array or a hash, not {0}")]
    NotADestination(&'static str),
}

/// A `post` that failed, with the event given back (calloop's
/// `InsertError` habit): nothing was queued.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("cannot post {:?}: {reason}", event.state)]
#[non_exhaustive]
pub struct PostError {
    /// The event that was not delivered (boxed: errors stay small).
    pub event: Box<Event>,
    /// Why.
    pub reason: DeliveryError,
}

impl PostError {
    pub(crate) fn new(event: Event, reason: DeliveryError) -> Self {
        Self {
            event: Box::new(event),
            reason,
        }
    }
}

/// A `call` that did not return a value from the handler.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum CallError {
    /// The target could not be resolved.
    #[error(transparent)]
    Delivery(#[from] DeliveryError),
    /// The target session is already running a handler further up this
    /// call chain (a handler that calls its own session, or A calls B calls
    /// A). Its state is borrowed by the running handler; post instead.
    #[error(
        "session {session} is already running a handler and cannot be called re-entrantly ({state:?})"
    )]
    Reentrant {
        /// The busy session.
        session: SessionId,
        /// The state that was called.
        state: StateName,
    },
    /// The specifier names another kernel: a call cannot wait for another
    /// kernel: call it with an RSVP state for the answer
    /// (`Ctx::call_rsvp`), or post it.
    #[error(
        "a call to another kernel ({0}) cannot wait for its answer: give it an RSVP (call_rsvp)"
    )]
    Remote(String),
    /// The handler panicked; the session has been stopped.
    #[error("session {session} panicked in {state:?}: {message}")]
    Panicked {
        /// The session that panicked (it no longer exists).
        session: SessionId,
        /// The state it was handling.
        state: StateName,
        /// The panic message.
        message: String,
    },
    /// The handler reported a failure ([`Ctx::fail`](crate::Ctx::fail)),
    /// for example a typed state whose argument did not fit its type. The
    /// session lives on.
    #[error("{message}")]
    Failed {
        /// The session whose handler failed.
        session: SessionId,
        /// The state it was handling.
        state: StateName,
        /// What went wrong.
        message: String,
    },
    /// `KernelHandle::call_timeout`: no answer in time. The event may still
    /// be handled later.
    #[error("no answer from the kernel in time")]
    Timeout,
    /// `KernelHandle::call` from the kernel's own thread, which would wait
    /// for ever (the kernel cannot run while its thread waits).
    #[error("a KernelHandle call from the kernel's own thread would deadlock")]
    WouldDeadlock,
}

/// An error of the event loop or of an I/O watcher.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KernelError {
    /// The operating system refused (creating the poller, polling,
    /// registering a source, installing a signal handler).
    #[error(transparent)]
    Io(#[from] io::Error),
    /// The watcher does not exist or belongs to another session.
    #[error("no watcher {0} in this session")]
    UnknownWatcher(WatcherId),
}

/// An alias operation that was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AliasError {
    /// Another session already has this alias.
    #[error("alias {alias:?} belongs to session {owner}")]
    InUse {
        /// The alias.
        alias: String,
        /// The session that has it.
        owner: SessionId,
    },
    /// No session has this alias.
    #[error("no alias {0:?}")]
    NotFound(String),
    /// The alias belongs to another session, so this one cannot remove it.
    #[error("alias {alias:?} belongs to session {owner}, not to this one")]
    NotOwner {
        /// The alias.
        alias: String,
        /// The session that has it.
        owner: SessionId,
    },
}

/// A parent/child or reference-count operation that was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SessionError {
    /// No session has this id.
    #[error("no session {0}")]
    UnknownSession(SessionId),
    /// The session is not a child of the caller.
    #[error("session {child} is not a child of session {parent}")]
    NotChild {
        /// The would-be child.
        child: SessionId,
        /// The caller.
        parent: SessionId,
    },
    /// The session's parent already is the kernel.
    #[error("session {0} is already detached")]
    AlreadyDetached(SessionId),
    /// `refcount_decrement` of a tag whose count is zero.
    #[error("session {session} holds no reference tagged {tag:?}")]
    NoSuchReference {
        /// The session.
        session: SessionId,
        /// The tag.
        tag: String,
    },
}
