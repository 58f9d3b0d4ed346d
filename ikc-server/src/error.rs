//! Errors of starting a server.

use std::io;

/// Why a server could not start listening.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServerError {
    /// The address is not an IP address.
    #[error("bad listen address {address:?}: {reason}")]
    BadAddress {
        /// The address given.
        address: String,
        /// Why it was rejected.
        reason: String,
    },
    /// Binding or listening failed (address in use, permission, ...).
    #[error("cannot listen on {address}: {source}")]
    Listen {
        /// The address or path.
        address: String,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },
    /// A kernel of a [`ServerPool`](crate::ServerPool) could not start,
    /// or its run failed or its thread panicked.
    #[error("server pool kernel {index}: {reason}")]
    Worker {
        /// Which kernel (0-based).
        index: usize,
        /// What went wrong.
        reason: String,
    },
}
