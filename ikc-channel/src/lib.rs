//! IKC's wire protocol without I/O: framing and both handshakes (IKC0 and IKC)
//!
//! Not implemented yet: see the README status table.

#![warn(missing_docs)]
#![forbid(unsafe_code)]
