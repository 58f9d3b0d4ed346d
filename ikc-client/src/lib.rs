//! IKC clients: kernels that connect to IKC servers
//!
//! Not implemented yet: see the README status table.

#![warn(missing_docs)]
#![forbid(unsafe_code)]
