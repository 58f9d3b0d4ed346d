//! Helpers shared by the workspace's integration tests (`tests/tests/*.rs`):
//! kernels on threads and the notes they send ([`harness`]), a session
//! the test steers to use IKC ([`mod@driver`]), a blocking
//! IKC peer the test drives itself ([`raw`]), a recording TCP relay
//! ([`relay`]), programs run as processes ([`process`]), Perl IKC
//! peers ([`perl`]), the robustness tests' recorders and misbehaving
//! peers ([`robust`]), and certificates made at test time ([`certs`]).

#![warn(missing_docs)]
#![forbid(unsafe_code)]

pub mod certs;
pub mod driver;
pub mod harness;
pub mod nats;
pub mod perl;
pub mod process;
pub mod raw;
pub mod relay;
pub mod robust;

pub use crate::certs::TestPki;
pub use crate::driver::{all_monitors, driver, monitor_state};
pub use crate::harness::{
    Endpoint, Inbox, KernelThread, Net, Note, Notes, Served, TempDir, Transport, WAIT, notes,
    spawn_client, spawn_kernel, spawn_server,
};
pub use crate::perl::perl_ikc_available;
pub use crate::process::{Finished, Process, example_binary};
pub use crate::raw::RawPeer;
pub use crate::relay::{Relay, Transcript};
