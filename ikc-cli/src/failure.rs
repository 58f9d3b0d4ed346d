//! Why a command failed, and the exit code a script sees.

use std::error::Error;
use std::fmt;

use ikc_clientlite::LiteError;

/// A failed command: its message, and which exit code it earns.
#[derive(Debug)]
pub(crate) enum Failure {
    /// 1: the kernel reported an error, or the request cannot be made.
    Ikc(String),
    /// 2: the command line is wrong (bad JSON, a missing option).
    Usage(String),
    /// 3: no connection, a lost one, or no answer in time.
    Connection(String),
}

impl Failure {
    /// The process exit code.
    pub(crate) fn code(&self) -> u8 {
        match self {
            Self::Ikc(_) => 1,
            Self::Usage(_) => 2,
            Self::Connection(_) => 3,
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Ikc(m) | Self::Usage(m) | Self::Connection(m) => f.write_str(m),
        }
    }
}

/// An error and its causes, `outer: inner: ...`.
pub(crate) fn chain(error: &dyn Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

impl From<LiteError> for Failure {
    fn from(error: LiteError) -> Self {
        let text = chain(&error);
        match error {
            LiteError::Connect { .. }
            | LiteError::Handshake { .. }
            | LiteError::Timeout { .. }
            | LiteError::Closed { .. }
            | LiteError::Io { .. }
            | LiteError::Channel(_)
            | LiteError::NotConnected => Self::Connection(text),
            LiteError::Config(_) | LiteError::UnknownFreezer { .. } => Self::Usage(text),
            _ => Self::Ikc(text),
        }
    }
}
