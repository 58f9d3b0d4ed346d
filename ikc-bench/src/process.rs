//! The server process: this binary run again as `ikc-bench serve`.

use std::io::{BufRead, BufReader};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::args::Args;

/// A benchmark server: one we started (and stop), or one started by hand.
#[derive(Debug)]
pub(crate) struct ServerProcess {
    child: Option<Child>,
    /// Closing it tells the server to exit.
    stdin: Option<ChildStdin>,
    port: u16,
}

impl ServerProcess {
    /// Start `ikc-bench serve --port 0` (under `--server-wrap` if given),
    /// or use the server at `--connect PORT`.
    pub(crate) fn start(args: &Args) -> Result<Self> {
        Self::start_as(args, "serve", &[])
    }

    /// [`start`](Self::start) with another server subcommand, and `extra`
    /// arguments for it.
    pub(crate) fn start_as(args: &Args, subcommand: &str, extra: &[&str]) -> Result<Self> {
        if let Some(port) = args.get("connect") {
            let port = port.parse().with_context(|| format!("--connect {port}"))?;
            return Ok(Self {
                child: None,
                stdin: None,
                port,
            });
        }
        let exe = std::env::current_exe().context("finding this program")?;
        let mut command = match args.get("server-wrap") {
            Some(wrap) => {
                let mut words = wrap.split_whitespace();
                let program = words.next().context("--server-wrap is empty")?;
                let mut command = Command::new(program);
                command.args(words).arg(exe);
                command
            }
            None => Command::new(exe),
        };
        command.args([subcommand, "--port", "0"]).args(extra);
        for key in ["tls-dir", "secret-file"] {
            if let Some(value) = args.get(key) {
                command.args([format!("--{key}"), value.to_owned()]);
            }
        }
        if args.flag("monitor-messages") {
            command.arg("--monitor-messages");
        }
        command.stdin(Stdio::piped()).stdout(Stdio::piped());
        let mut child = command.spawn().context("starting the server process")?;
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().context("the server's stdout")?;
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .context("reading the server's port")?;
        let Some(port) = line.trim().strip_prefix("port=") else {
            let _ = child.kill();
            let _ = child.wait();
            bail!("the server printed {line:?} instead of port=N");
        };
        let port = port
            .parse()
            .with_context(|| format!("server port {port}"))?;
        Ok(Self {
            child: Some(child),
            stdin,
            port,
        })
    }

    /// The port it listens on (127.0.0.1).
    pub(crate) fn port(&self) -> u16 {
        self.port
    }

    /// The server's process id, if we started it.
    pub(crate) fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Wait for the server to exit (it was told to quit), closing its
    /// standard input too; killed after a few seconds.
    pub(crate) fn finish(mut self) -> Result<()> {
        self.stdin = None;
        let Some(mut child) = self.child.take() else {
            return Ok(());
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = child.try_wait()? {
                if !status.success() {
                    bail!("the server exited with {status}");
                }
                return Ok(());
            }
            if Instant::now() >= deadline {
                child.kill()?;
                child.wait()?;
                bail!("the server did not exit; killed it");
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.stdin = None;
        if let Some(child) = self.child.as_mut() {
            if matches!(child.try_wait(), Ok(None)) {
                let _ = child.kill();
            }
            let _ = child.wait();
        }
    }
}

/// The resident size of process `pid`, in KiB (`VmRSS` in `/proc/<pid>/status`).
pub(crate) fn rss_kib(pid: u32) -> Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .with_context(|| format!("reading /proc/{pid}/status"))?;
    let line = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .context("no VmRSS line")?;
    let kib = line
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .with_context(|| format!("VmRSS {line:?}"))?;
    Ok(kib)
}
