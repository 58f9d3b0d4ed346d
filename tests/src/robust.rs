//! Helpers for the robustness tests (`tests/tests/robustness_*.rs`):
//! kernels on their own threads whose IKC monitors report to the test
//! thread, and raw blocking peers that speak IKC (or misbehave) over a
//! plain `std::net::TcpStream`.
//!
//! Everything binds or connects to `127.0.0.1` only. Waiting is always a
//! bounded wait on a condition (a channel receive with a deadline), never
//! a sleep.

mod kernel;
mod peer;

pub use self::kernel::{
    ClientKernel, KernelThread, Notice, Notices, RECORDER, Reporter, ServerBuilder, TestServer,
    spawn_recorder, test_session,
};
pub use self::peer::{RawPeer, connect, expect_closed, freeze, read_line};

use std::time::Duration;

/// How long a test waits for something that should happen at once.
pub const WAIT: Duration = Duration::from_secs(20);

/// Log to stderr as `RUST_LOG` asks (once per test process; shown for
/// failing tests).
pub fn init_logging() {
    let _ = env_logger::builder().is_test(true).try_init();
}
