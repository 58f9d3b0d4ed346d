//! Running Perl IKC peers (`tests/interop/perl/*.pl`) for the interop
//! tests. They run only when Perl's POE::Component::IKC is installed
//! ([`perl_ikc_available`]); CI has no Perl IKC and the tests say they
//! skipped.

use std::io::Read;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread::JoinHandle;
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

/// A Perl process, killed when dropped. Its output is read on threads, so
/// a chatty peer never blocks on a full pipe.
#[derive(Debug)]
pub struct PerlProcess {
    child: Option<Child>,
    readers: Vec<JoinHandle<Vec<u8>>>,
    /// What it was started as, for messages.
    pub what: String,
}

/// What a finished Perl process printed.
#[derive(Debug)]
pub struct PerlOutput {
    /// How it exited.
    pub status: ExitStatus,
    /// Its standard output.
    pub stdout: String,
    /// Its standard error.
    pub stderr: String,
}

impl PerlProcess {
    /// Start `perl SCRIPT ARGS` with `env` added, output captured.
    ///
    /// # Errors
    ///
    /// Perl could not be started.
    pub fn spawn(script_name: &str, args: &[&str], env: &[(&str, &str)]) -> anyhow::Result<Self> {
        let mut cmd = Command::new("perl");
        cmd.arg(script(script_name))
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn()?;
        let mut readers = Vec::new();
        if let Some(mut out) = child.stdout.take() {
            readers.push(std::thread::spawn(move || {
                let mut buf = Vec::new();
                let _ = out.read_to_end(&mut buf);
                buf
            }));
        }
        if let Some(mut err) = child.stderr.take() {
            readers.push(std::thread::spawn(move || {
                let mut buf = Vec::new();
                let _ = err.read_to_end(&mut buf);
                buf
            }));
        }
        Ok(Self {
            child: Some(child),
            readers,
            what: format!("perl {script_name} {}", args.join(" ")),
        })
    }

    fn output(&mut self, status: ExitStatus) -> PerlOutput {
        let mut texts = self
            .readers
            .drain(..)
            .map(|r| String::from_utf8_lossy(&r.join().unwrap_or_default()).into_owned());
        PerlOutput {
            status,
            stdout: texts.next().unwrap_or_default(),
            stderr: texts.next().unwrap_or_default(),
        }
    }

    /// Wait for it to exit by itself and return its output.
    ///
    /// # Errors
    ///
    /// It was still running after [`WAIT`] (it is killed), or waiting failed.
    pub fn wait(mut self) -> anyhow::Result<PerlOutput> {
        let mut child = self.child.take().expect("a running process");
        let deadline = Instant::now() + WAIT;
        // A bounded poll on the process's state; Perl's exit is not ours to signal.
        loop {
            if let Some(status) = child.try_wait()? {
                return Ok(self.output(status));
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let status = child.wait()?;
                let out = self.output(status);
                anyhow::bail!(
                    "{} still running after {WAIT:?}; stdout:\n{}\nstderr:\n{}",
                    self.what,
                    out.stdout,
                    out.stderr
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Kill it and return what it printed.
    ///
    /// # Errors
    ///
    /// Waiting for it failed.
    pub fn kill(mut self) -> anyhow::Result<PerlOutput> {
        let mut child = self.child.take().expect("a running process");
        let _ = child.kill();
        let status = child.wait()?;
        Ok(self.output(status))
    }
}

impl Drop for PerlProcess {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
