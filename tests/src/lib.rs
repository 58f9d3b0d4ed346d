//! Helpers shared by the workspace's integration tests (`tests/tests/*.rs`).

#![warn(missing_docs)]
#![forbid(unsafe_code)]

use std::process::Command;

pub mod raw;

/// Is Perl's POE::Component::IKC installed (found on `PERL5LIB`)? Interop
/// tests run only when it is, and print a line saying they skipped when not.
pub fn perl_ikc_available() -> bool {
    Command::new("perl")
        .args(["-MPOE::Component::IKC::ClientLite", "-e", "1"])
        .output()
        .is_ok_and(|o| o.status.success())
}
