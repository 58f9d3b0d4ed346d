//! Issue 14: shared-secret authentication, authorization hooks and TLS,
//! with every attack the issue lists; in memory over the sans-IO channel
//! ([`channel`]) and over sockets between kernels ([`net`]).

mod channel;
mod net;
