//! IKC servers: listening kernels on TCP and Unix sockets
//!
//! Not implemented yet: see the README status table.

#![warn(missing_docs)]
#![forbid(unsafe_code)]
