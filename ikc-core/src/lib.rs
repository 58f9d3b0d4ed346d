//! The IKC kernel: a single-threaded mio event loop with POE's sessions, aliases, events, timers and I/O
//!
//! Not implemented yet: see the README status table.

#![warn(missing_docs)]
#![forbid(unsafe_code)]
