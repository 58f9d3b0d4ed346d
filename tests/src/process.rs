//! [`Process`]: a program the tests run (an example binary, a Perl peer),
//! its output read line by line on threads so the test can wait for a
//! line, and killed if the test drops it.

use std::io::{BufRead, BufReader, Read};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::harness::WAIT;

/// A running program.
#[derive(Debug)]
pub struct Process {
    child: Option<Child>,
    lines: Receiver<String>,
    stdout: Vec<String>,
    stderr: Option<JoinHandle<String>>,
    /// What it was started as, for messages.
    pub what: String,
}

/// How a program ended and what it printed.
#[derive(Debug)]
pub struct Finished {
    /// Its exit status.
    pub status: ExitStatus,
    /// Its standard output, line by line.
    pub stdout: Vec<String>,
    /// Its standard error.
    pub stderr: String,
}

impl Finished {
    /// Standard output as one text.
    pub fn text(&self) -> String {
        self.stdout.join("\n")
    }
}

impl Process {
    /// Start `cmd` with its output captured (stdin closed).
    ///
    /// # Errors
    ///
    /// It could not be started.
    pub fn spawn(mut cmd: Command) -> anyhow::Result<Self> {
        let what = format!("{cmd:?}");
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd
            .spawn()
            .map_err(|e| anyhow::anyhow!("cannot start {what}: {e}"))?;
        let (tx, lines) = mpsc::channel();
        if let Some(out) = child.stdout.take() {
            std::thread::spawn(move || {
                for line in BufReader::new(out).lines() {
                    let Ok(line) = line else { break };
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            });
        }
        let stderr = child.stderr.take().map(|mut err| {
            std::thread::spawn(move || {
                let mut buf = Vec::new();
                let _ = err.read_to_end(&mut buf);
                String::from_utf8_lossy(&buf).into_owned()
            })
        });
        Ok(Self {
            child: Some(child),
            lines,
            stdout: Vec::new(),
            stderr,
            what,
        })
    }

    /// The process id.
    pub fn id(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Is it still running?
    pub fn is_running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }

    /// Wait for a line of its standard output for which `pred` holds (lines
    /// before it are kept for [`wait`](Self::wait)).
    ///
    /// # Errors
    ///
    /// No such line within [`WAIT`], or the program closed its output.
    pub fn wait_line(&mut self, pred: impl Fn(&str) -> bool) -> anyhow::Result<String> {
        let deadline = Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.stdout.push(line.clone());
                    if pred(&line) {
                        return Ok(line);
                    }
                }
                Err(RecvTimeoutError::Timeout) => anyhow::bail!(
                    "{}: no such line after {WAIT:?}; output so far:\n{}",
                    self.what,
                    self.stdout.join("\n")
                ),
                Err(RecvTimeoutError::Disconnected) => anyhow::bail!(
                    "{}: ended without such a line; output:\n{}",
                    self.what,
                    self.stdout.join("\n")
                ),
            }
        }
    }

    /// Send it SIGINT (as Ctrl-C does), with the `kill` command.
    ///
    /// # Errors
    ///
    /// `kill` could not be run or failed.
    pub fn interrupt(&self) -> anyhow::Result<()> {
        let pid = self.id().ok_or_else(|| anyhow::anyhow!("not running"))?;
        let status = Command::new("kill")
            .args(["-INT", &pid.to_string()])
            .status()?;
        anyhow::ensure!(status.success(), "kill -INT {pid} failed");
        Ok(())
    }

    fn finish(&mut self, status: ExitStatus) -> Finished {
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(5)) {
            self.stdout.push(line);
        }
        Finished {
            status,
            stdout: std::mem::take(&mut self.stdout),
            stderr: self
                .stderr
                .take()
                .and_then(|h| h.join().ok())
                .unwrap_or_default(),
        }
    }

    /// Wait for it to exit by itself.
    ///
    /// # Errors
    ///
    /// It was still running after [`WAIT`] (it is then killed).
    pub fn wait(mut self) -> anyhow::Result<Finished> {
        let mut child = self.child.take().expect("a running process");
        let deadline = Instant::now() + WAIT;
        // A bounded poll of the process's state: its exit is its own.
        loop {
            if let Some(status) = child.try_wait()? {
                return Ok(self.finish(status));
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let status = child.wait()?;
                let out = self.finish(status);
                anyhow::bail!(
                    "{} still running after {WAIT:?}; stdout:\n{}\nstderr:\n{}",
                    self.what,
                    out.text(),
                    out.stderr
                );
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Kill it and return what it printed.
    ///
    /// # Errors
    ///
    /// Waiting for it failed.
    pub fn kill(mut self) -> anyhow::Result<Finished> {
        let mut child = self.child.take().expect("a running process");
        let _ = child.kill();
        let status = child.wait()?;
        Ok(self.finish(status))
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// An example program built by Cargo next to the running test
/// (`target/<profile>/examples/<name>`), if it is there: `cargo test
/// --workspace` builds the examples before it runs the tests.
pub fn example_binary(name: &str) -> Option<PathBuf> {
    let exe = std::env::current_exe().ok()?;
    let path = exe.parent()?.parent()?.join("examples").join(name);
    path.is_file().then_some(path)
}
