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

/// A connection problem reported to a server's or client's `on_error`
/// (IKC's `$operation, $errnum, $errstr`) or, once a channel is up, to
/// `error` monitors as `channel-<operation>` with `"[errnum] message"`.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{operation} error [{errnum}]: {message}")]
#[non_exhaustive]
pub struct ConnectionError {
    /// What was being done: `connect`, `accept`, `read`, `write`, `negotiate`, `setup`.
    pub operation: String,
    /// The OS error number, or 0 when there is none (0 with `read` is the peer closing).
    pub errnum: i32,
    /// What went wrong.
    pub message: String,
    /// The channel's typed error, when the channel found the problem
    /// (authentication, TLS, authorization, a broken handshake...).
    pub channel: Option<ChannelError>,
}

impl ConnectionError {
    /// A connection error.
    pub fn new(operation: impl Into<String>, errnum: i32, message: impl Into<String>) -> Self {
        Self {
            operation: operation.into(),
            errnum,
            message: message.into(),
            channel: None,
        }
    }

    /// From the channel's error.
    pub fn from_channel(operation: impl Into<String>, error: ChannelError) -> Self {
        Self {
            channel: Some(error.clone()),
            ..Self::new(operation, 0, error.to_string())
        }
    }

    /// From an I/O error.
    pub fn from_io(operation: impl Into<String>, e: &std::io::Error) -> Self {
        Self::new(operation, e.raw_os_error().unwrap_or(0), e.to_string())
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
