//! [`LiteError`]: everything that can go wrong for a [`ClientLite`](crate::ClientLite).

use std::io;
use std::sync::Arc;
use std::time::Duration;

use ikc_channel::{ChannelError, ConfigError, FrameError};
use ikc_freezer::{FreezeError, Value, ValueError};

/// Why a [`ClientLite`](crate::ClientLite) operation failed.
///
/// The last one is also kept by the client:
/// [`ClientLite::error`](crate::ClientLite::error) is Perl's `$poe->error`.
/// Errors are `Clone` so that it can be kept; an [`io::Error`] is shared
/// behind an [`Arc`] for that reason. Where another error is the cause, it
/// is the [`source`](std::error::Error::source), not part of the message:
/// print the chain (`{:#}` with anyhow) to see both.
///
/// What the connection looks like afterwards:
///
/// - [`Timeout`](Self::Timeout), [`Closed`](Self::Closed),
///   [`Io`](Self::Io) and [`Channel`](Self::Channel) drop the connection
///   (a reply might still be on its way, and must not be taken for the
///   answer to a later request); the next `post`, `call` or `post_respond`
///   connects again.
/// - [`Remote`](Self::Remote), [`Thaw`](Self::Thaw),
///   [`Freeze`](Self::Freeze), [`BadSpecifier`](Self::BadSpecifier),
///   [`PingFailed`](Self::PingFailed) and [`Convert`](Self::Convert) leave
///   it as it was.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum LiteError {
    /// The settings cannot be announced on the wire (a `name` that is not
    /// `[-:.\w]+`, an empty freezer list, ...).
    #[error("invalid configuration: {0}")]
    Config(#[from] ConfigError),
    /// [`Builder::freezer`](crate::Builder::freezer) named a freezer this
    /// crate does not have.
    #[error(
        "no freezer named {name:?} (known: IKC::Native, Storable, POE::Component::IKC::Freezer)"
    )]
    UnknownFreezer {
        /// The name asked for.
        name: String,
    },
    /// The connection could not be opened.
    #[error("cannot connect to {address}")]
    Connect {
        /// Where we tried to connect.
        address: String,
        /// What the operating system (or the connector) said.
        #[source]
        source: Arc<io::Error>,
    },
    /// The connection opened, but IKC's negotiation failed: the server
    /// refused every freezer offered
    /// ([`ChannelError::NoCommonFreezer`]), chose one we do not have, or
    /// broke the protocol.
    #[error("negotiation with {address} failed")]
    Handshake {
        /// The server.
        address: String,
        /// What the channel found wrong.
        #[source]
        source: ChannelError,
    },
    /// Nothing came in time: the TCP connect or a negotiation phase took
    /// longer than `connect_timeout`, or a reply longer than `timeout`.
    /// A state that returns `undef` sends no reply at all (IKC's rule), so
    /// calling one ends here too.
    #[error("timed out after {after:?} waiting for {waiting_for}")]
    Timeout {
        /// What we were waiting for: `connection to HOST:PORT`,
        /// `negotiation phase PHASE with HOST:PORT`, or the reply's
        /// specifier (`poe://NAME/IKCLite/response3`).
        waiting_for: String,
        /// How long we waited.
        after: Duration,
    },
    /// The server closed the connection while we waited.
    #[error("the server closed the connection while we waited for {waiting_for}")]
    Closed {
        /// What we were waiting for (as in [`Timeout`](Self::Timeout)).
        waiting_for: String,
    },
    /// Reading from or writing to the connection failed (after the one
    /// reconnection a write failure earns).
    #[error("i/o error with {address}")]
    Io {
        /// The server.
        address: String,
        /// What the operating system said.
        #[source]
        source: Arc<io::Error>,
    },
    /// The server sent an error report (a message with `is_error` set,
    /// IKC's `IKC/remote_error`): the request was for a state that is not
    /// published, a session that does not exist, and so on. IKC's report
    /// does not say which request it is about, so it may concern an
    /// earlier `post`; it ends whichever wait it arrives in, as in Perl.
    #[error("the server reported an error (during {operation}): {message}")]
    Remote {
        /// The server's message: what went wrong, usually followed by the
        /// request's specifier and its sender's.
        message: String,
        /// The kernel the failed request was addressed to, as the server
        /// read it (empty when it had none).
        kernel: String,
        /// The step that failed, IKC's `when`: `request`, `check`,
        /// `resolve` or `invocation`.
        operation: String,
    },
    /// A frame arrived that could not be thawed, or is not a message.
    #[error("unreadable message from the server: {0}")]
    Thaw(FrameError),
    /// The value cannot be frozen with the freezer agreed with this server;
    /// nothing was sent.
    #[error("cannot freeze the message: {0}")]
    Freeze(FreezeError),
    /// The connection broke IKC's framing (a frame over the size limit, a
    /// malformed length); it was closed.
    #[error("the connection failed: {0}")]
    Channel(ChannelError),
    /// The specifier cannot be sent: it does not parse, or it names no
    /// session or no state.
    #[error("bad specifier {spec:?}: {reason}")]
    BadSpecifier {
        /// The specifier as given (resolved against the server's name when
        /// it was relative).
        spec: String,
        /// What is wrong with it.
        reason: String,
    },
    /// There is no connection: [`disconnect`](crate::ClientLite::disconnect)
    /// was called, or the connection was lost and this operation does not
    /// reconnect (`ping`, `responded`).
    #[error("not connected")]
    NotConnected,
    /// `IKC/ping` answered something other than `PONG`.
    #[error("ping answered {reply} instead of PONG")]
    PingFailed {
        /// What came back.
        reply: Value,
    },
    /// The reply does not convert to the type asked of
    /// [`call_as`](crate::ClientLite::call_as).
    #[error("cannot convert the reply: {0}")]
    Convert(#[from] ValueError),
}

impl LiteError {
    /// Does this error mean the connection is gone (so that the next
    /// operation that may reconnect will)?
    pub fn is_disconnect(&self) -> bool {
        matches!(
            self,
            Self::Timeout { .. }
                | Self::Closed { .. }
                | Self::Io { .. }
                | Self::Channel(_)
                | Self::NotConnected
        )
    }

    /// [`LiteError::Io`] with the server's address.
    pub fn io(address: &str, source: io::Error) -> Self {
        Self::Io {
            address: address.to_owned(),
            source: Arc::new(source),
        }
    }

    /// IKC's error report `[message, kernel, when]` (the `params` of an
    /// `IKC/remote_error` message) as [`LiteError::Remote`]. Anything else
    /// a server may put in `params` becomes the message.
    pub fn remote(params: &Value) -> Self {
        let text = |v: Option<&Value>| v.map(ToString::to_string).unwrap_or_default();
        match params.as_array() {
            Some(items) if !items.is_empty() => Self::Remote {
                message: text(items.first()),
                kernel: text(items.get(1)),
                operation: text(items.get(2)),
            },
            _ => Self::Remote {
                message: params.to_string(),
                kernel: String::new(),
                operation: String::new(),
            },
        }
    }
}
