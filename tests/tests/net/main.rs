//! Two (or more) kernels on their own threads talking IKC over loopback
//! TCP and Unix sockets: one test module per part of issue 6.
//!
//! Each test runs its kernels on threads ([`ikc_tests::spawn_server`],
//! [`ikc_tests::spawn_client`]); the sessions report what they see
//! through notes, which the test waits for on a channel. Nothing sleeps to
//! synchronise; timeouts only turn a hang into a failure.

mod client;
mod common;
mod kernels;
mod kiface;
mod monitor;
mod pool;
mod post_call;
mod publish;
mod sender;
mod server;
mod shutdown;
mod subscribe;
mod typed;
