//! Running Perl IKC peers (`tests/interop/perl/*.pl`) for the interop
//! tests. They run only when Perl's POE::Component::IKC is installed
//! ([`perl_ikc_available`]); CI has no Perl IKC and the tests say they
//! skipped.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::harness::WAIT;

/// Is Perl's POE::Component::IKC installed (found on `PERL5LIB`)? Interop
/// tests run only when it is, and print a line saying they skipped when not.
pub fn perl_ikc_available() -> bool {
    Command::new("perl")
        .args(["-MPOE::Component::IKC::ClientLite", "-e", "1"])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// The path of one of the project's Perl peer scripts.
pub fn script(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("interop")
        .join("perl")
        .join(name)
}

/// A port nobody listens on right now (bound on 127.0.0.1:0, then let go),
/// for a Perl server, which needs its port on the command line.
///
/// # Panics
///
/// If no port can be bound.
pub fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    l.local_addr().expect("local address").port()
}

/// Is something listening on TCP `port` (as `ss -ltn` shows it)? Read
/// without connecting: Perl IKC's server dies when a connection closes
/// before its handshake ends.
pub fn is_listening(port: u16) -> bool {
    let suffix = format!(":{port}");
    if let Ok(out) = Command::new("ss").args(["-ltnH"]).output() {
        if out.status.success() {
            return String::from_utf8_lossy(&out.stdout).lines().any(|l| {
                l.split_whitespace()
                    .nth(3)
                    .is_some_and(|local| local.ends_with(&suffix))
            });
        }
    }
    // No `ss`: the kernel's own table (state 0A is LISTEN).
    let hex = format!(":{port:04X}");
    ["/proc/net/tcp", "/proc/net/tcp6"].iter().any(|table| {
        std::fs::read_to_string(table).is_ok_and(|t| {
            t.lines().skip(1).any(|l| {
                let cols: Vec<&str> = l.split_whitespace().collect();
                cols.len() > 3 && cols[1].ends_with(&hex) && cols[3] == "0A"
            })
        })
    })
}

/// Wait until `port` is listening: a bounded retry loop on that condition
/// (Perl starts in its own time; there is nothing of ours to synchronise
/// with).
///
/// # Errors
///
/// Not listening after [`WAIT`].
pub fn wait_listening(port: u16) -> anyhow::Result<()> {
    let deadline = Instant::now() + WAIT;
    while !is_listening(port) {
        if Instant::now() > deadline {
            anyhow::bail!("nothing listens on port {port} after {WAIT:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(())
}

/// `perl SCRIPT ARGS` (one of the project's peer scripts) with `env`
/// added, to run with [`Process`](crate::process::Process).
pub fn perl_command(script_name: &str, args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut cmd = Command::new("perl");
    cmd.arg(script(script_name)).args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}
