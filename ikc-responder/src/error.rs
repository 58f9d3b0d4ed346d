//! Errors of the responder's object interface and of channels.

use ikc_channel::ChannelError;
use ikc_core::SessionId;

/// Why an IKC operation could not be done.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IkcError {
    /// No responder runs in this kernel (or it shut down).
    #[error("no IKC responder in this kernel")]
    NoResponder,
    /// The session has no alias, so remote kernels could not name it.
    #[error("session {0} has no alias to publish under")]
    NoAlias(SessionId),
    /// The session published nothing.
    #[error("session '{0}' published nothing")]
    NotPublished(String),
    /// No kernel by this name is registered.
    #[error("unknown kernel '{0}'")]
    UnknownKernel(String),
}

/// Why [`Ikc::configure_mesh`](crate::Ikc::configure_mesh) refused a
/// configuration of the mesh's router.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MeshConfigError {
    /// Routing links are up already: the router is configured before the
    /// kernel joins the mesh (before its servers accept or its clients
    /// connect).
    #[error("the mesh is configured before any link is up ({links} up)")]
    LinksUp {
        /// The links up when it was asked.
        links: usize,
    },
    /// The router refused the configuration.
    #[error("invalid mesh configuration: {0}")]
    Invalid(#[from] ikc_router::ConfigError),
}

/// What was being done when a connection failed, as IKC names it in
/// `on_error` and in `channel-<operation>` error monitors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Operation {
    /// Opening a listening socket.
    Listen,
    /// Accepting a connection.
    Accept,
    /// Connecting to a server.
    Connect,
    /// Setting a channel up (before any byte is exchanged).
    Setup,
    /// The handshake.
    Negotiate,
    /// Reading from the peer.
    Read,
    /// Writing to the peer.
    Write,
}

impl Operation {
    /// IKC's name: `listen`, `accept`, `connect`, `setup`, `negotiate`,
    /// `read`, `write`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Listen => "listen",
            Self::Accept => "accept",
            Self::Connect => "connect",
            Self::Setup => "setup",
            Self::Negotiate => "negotiate",
            Self::Read => "read",
            Self::Write => "write",
        }
    }
}

impl std::fmt::Display for Operation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// ETIMEDOUT, the error number IKC reports for a timed-out operation.
const ETIMEDOUT: i32 = 110;

/// A connection problem reported to a server's or client's `on_error`
/// (IKC's `$operation, $errnum, $errstr`: [`operation`](Self::operation),
/// [`errnum`](Self::errnum), [`message`](Self::message)) or, once a
/// channel is up, to `error` monitors as `channel-<operation>` with
/// `"[errnum] message"`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectionError {
    /// The channel failed: the peer broke the handshake or a frame's
    /// rules, authentication or TLS failed, the authorization hook or the
    /// peer refused, or the handshake timed out. The typed error says which.
    #[error("{operation} error [0]: {error}")]
    Channel {
        /// What was being done (`negotiate` or `read`).
        operation: Operation,
        /// The channel's error.
        error: ChannelError,
    },
    /// The operating system refused an operation.
    #[error("{operation} error [{errnum}]: {message}")]
    Io {
        /// What was being done.
        operation: Operation,
        /// The kind of I/O error.
        kind: std::io::ErrorKind,
        /// The OS error number (0 when there is none).
        errnum: i32,
        /// The system's description.
        message: String,
    },
    /// The peer closed the connection (IKC's `read` error 0).
    #[error("read error [0]: {}", peer_closed_text(*.mid_frame))]
    PeerClosed {
        /// It closed in the middle of a frame.
        mid_frame: bool,
    },
    /// The peer broke the protocol (during the handshake: `negotiate`;
    /// after it: `read`).
    #[error("{operation} error [0]: {message}")]
    Protocol {
        /// What was being done.
        operation: Operation,
        /// What went wrong.
        message: String,
    },
    /// The kernel could not take the socket or set the channel up
    /// (`setup`, `listen`, `connect`).
    #[error("{operation} error [0]: {message}")]
    Kernel {
        /// What was being done.
        operation: Operation,
        /// What went wrong.
        message: String,
    },
    /// An operation took longer than allowed (`connect`, or a closing
    /// channel's last `write`).
    #[error("{operation} error [{ETIMEDOUT}]: {message}")]
    TimedOut {
        /// What was being done.
        operation: Operation,
        /// What went wrong.
        message: String,
    },
    /// The peer stopped reading: more output is queued for it than the
    /// channel's high-water mark allows.
    #[error("write error [0]: the peer is not reading: {queued} bytes queued for it")]
    NotReading {
        /// Bytes queued for the peer.
        queued: usize,
    },
}

fn peer_closed_text(mid_frame: bool) -> &'static str {
    if mid_frame {
        "the peer closed the connection in the middle of a frame"
    } else {
        "the peer closed the connection"
    }
}

impl ConnectionError {
    /// From an I/O error during `operation`.
    pub fn from_io(operation: Operation, e: &std::io::Error) -> Self {
        Self::Io {
            operation,
            kind: e.kind(),
            errnum: e.raw_os_error().unwrap_or(0),
            message: e.to_string(),
        }
    }

    /// A protocol or setup failure during `operation`.
    pub fn protocol(operation: Operation, message: impl Into<String>) -> Self {
        Self::Protocol {
            operation,
            message: message.into(),
        }
    }

    /// The channel's own error during `operation`.
    pub fn channel(operation: Operation, error: ChannelError) -> Self {
        Self::Channel { operation, error }
    }

    /// The channel's typed error, when the channel found the problem.
    pub fn channel_error(&self) -> Option<&ChannelError> {
        match self {
            Self::Channel { error, .. } => Some(error),
            _ => None,
        }
    }

    /// The kernel refused something during `operation`.
    pub fn kernel(operation: Operation, message: impl Into<String>) -> Self {
        Self::Kernel {
            operation,
            message: message.into(),
        }
    }

    /// What was being done.
    pub fn operation(&self) -> Operation {
        match self {
            Self::Io { operation, .. }
            | Self::Channel { operation, .. }
            | Self::Protocol { operation, .. }
            | Self::Kernel { operation, .. }
            | Self::TimedOut { operation, .. } => *operation,
            Self::PeerClosed { .. } => Operation::Read,
            Self::NotReading { .. } => Operation::Write,
        }
    }

    /// The error number IKC reports: the OS error, ETIMEDOUT for a
    /// timeout, 0 otherwise (0 with `read` is the peer closing).
    pub fn errnum(&self) -> i32 {
        match self {
            Self::Io { errnum, .. } => *errnum,
            Self::TimedOut { .. } => ETIMEDOUT,
            _ => 0,
        }
    }

    /// The description alone (IKC's `$errstr`).
    pub fn message(&self) -> String {
        match self {
            Self::Io { message, .. }
            | Self::Protocol { message, .. }
            | Self::Kernel { message, .. }
            | Self::TimedOut { message, .. } => message.clone(),
            Self::PeerClosed { mid_frame } => peer_closed_text(*mid_frame).to_owned(),
            Self::NotReading { queued } => {
                format!("the peer is not reading: {queued} bytes queued for it")
            }
            Self::Channel { error, .. } => error.to_string(),
        }
    }

    /// Is this the peer closing the connection (not worth a warning)?
    pub fn is_peer_closed(&self) -> bool {
        matches!(self, Self::PeerClosed { .. })
    }

    /// What error monitors get: `"[errnum] message"`.
    pub(crate) fn monitor_text(&self) -> String {
        format!("[{}] {}", self.errnum(), self.message())
    }
}

/// The IKC name of a Unix socket path: `unix:` and the path with every
/// character but letters, digits, `-`, `:`, `.` and `_` replaced by `_`
/// (what IKC announces for, and registers as, a Unix-socket kernel).
///
/// ```
/// assert_eq!(ikc_responder::unix_name("/tmp/ikc.sock".as_ref()), "unix:_tmp_ikc.sock");
/// ```
pub fn unix_name(path: &std::path::Path) -> String {
    let clean: String = path
        .to_string_lossy()
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || matches!(c, '-' | ':' | '.' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("unix:{clean}")
}
