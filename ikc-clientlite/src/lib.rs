//! A blocking IKC client with no event loop (POE::Component::IKC::ClientLite)
//!
//! Not implemented yet: see the README status table.

#![warn(missing_docs)]
#![forbid(unsafe_code)]
