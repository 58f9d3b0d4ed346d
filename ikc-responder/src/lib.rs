//! The IKC responder session: publish, post, call, subscribe, monitor; channel and proxy sessions
//!
//! Not implemented yet: see the README status table.

#![warn(missing_docs)]
#![forbid(unsafe_code)]
