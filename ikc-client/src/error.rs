//! Errors of starting a client.

/// Why a client could not be started.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// None of the freezers asked for is known.
    #[error("none of the freezers {asked:?} is known (known: {known:?})")]
    NoFreezer {
        /// The names asked for.
        asked: Vec<String>,
        /// The names this build supports.
        known: Vec<String>,
    },
    /// Neither a TCP port nor a Unix path was given.
    #[error("a client needs a host and port, or a Unix socket path")]
    NoAddress,
}
