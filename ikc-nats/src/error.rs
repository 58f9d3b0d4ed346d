//! Errors of the NATS attachment.

/// Why a kernel could not attach to NATS.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NatsError {
    /// No server URL was given.
    #[error("no NATS server given")]
    NoServer,
    /// The configuration names a freezer the registry does not have.
    #[error("unknown freezer '{0}'")]
    UnknownFreezer(String),
    /// A name the kernel would announce cannot be a kernel name.
    #[error("'{0}' cannot be a kernel name (letters, digits, '_', '-', ':' and '.' only)")]
    BadName(String),
    /// The credentials file could not be read.
    #[error("cannot read NATS credentials from {path}: {source}")]
    Credentials {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// Connecting to the servers failed.
    #[error("cannot connect to NATS ({servers}): {message}")]
    Connect {
        /// The servers tried.
        servers: String,
        /// The client library's message.
        message: String,
    },
    /// Subscribing failed.
    #[error("cannot subscribe to {subject}: {message}")]
    Subscribe {
        /// The subject.
        subject: String,
        /// The client library's message.
        message: String,
    },
    /// The NATS thread could not be started.
    #[error("cannot start the NATS thread: {0}")]
    Thread(#[source] std::io::Error),
    /// A `nats-server` child process (see [`server`](crate::server)) failed.
    #[error("nats-server: {0}")]
    Server(String),
    /// The kernel does not take posts from other threads any more.
    #[error("the kernel has stopped")]
    KernelStopped,
}
