//! `nats-server` child processes for tests, examples and benchmarks: one
//! server, or a cluster of three with routes between them, each on free
//! loopback ports (the server picks them, `-p -1`, and says which in its
//! log), killed when dropped.
//!
//! Every wait reads the server's log line by line, bounded by
//! [`SERVER_WAIT`] so a server that never comes up fails instead of
//! hanging.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use crate::error::NatsError;

/// How long a server may take to say what is waited for.
pub const SERVER_WAIT: Duration = Duration::from_secs(30);

/// The `nats-server` program: `$NATS_SERVER`, or `nats-server` on the PATH.
pub fn nats_server_program() -> String {
    std::env::var("NATS_SERVER").unwrap_or_else(|_| "nats-server".to_owned())
}

/// Does `nats-server --version` run?
pub fn nats_server_installed() -> bool {
    Command::new(nats_server_program())
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// One running `nats-server` on 127.0.0.1.
#[derive(Debug)]
pub struct NatsServer {
    child: Child,
    log: Receiver<String>,
    port: u16,
    route_port: Option<u16>,
}

fn port_after(line: &str, marker: &str) -> Option<u16> {
    let rest = &line[line.find(marker)? + marker.len()..];
    rest.trim().rsplit(':').next()?.parse().ok()
}

fn failed(message: impl Into<String>) -> NatsError {
    NatsError::Server(message.into())
}

impl NatsServer {
    /// A lone server on a free port.
    ///
    /// # Errors
    ///
    /// It cannot start, or does not say where it listens.
    pub fn start() -> Result<Self, NatsError> {
        Self::spawn(&[], false, None)
    }

    /// A lone server on `port` (to restart one where its clients expect it).
    ///
    /// # Errors
    ///
    /// As [`start`](Self::start).
    pub fn start_on(port: u16) -> Result<Self, NatsError> {
        Self::spawn(&[], false, Some(port))
    }

    fn spawn(routes: &[u16], cluster: bool, port: Option<u16>) -> Result<Self, NatsError> {
        let mut cmd = Command::new(nats_server_program());
        let port_arg = port.map_or_else(|| "-1".to_owned(), |p| p.to_string());
        cmd.args(["-a", "127.0.0.1", "-p", &port_arg]);
        if cluster {
            cmd.args(["--cluster", "nats://127.0.0.1:-1", "--cluster_name", "ikc"]);
            if !routes.is_empty() {
                let routes: Vec<String> = routes
                    .iter()
                    .map(|p| format!("nats://127.0.0.1:{p}"))
                    .collect();
                cmd.args(["--routes", &routes.join(",")]);
            }
        }
        cmd.stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = cmd
            .spawn()
            .map_err(|e| failed(format!("cannot run {}: {e}", nats_server_program())))?;
        let stderr = child
            .stderr
            .take()
            .ok_or_else(|| failed("no log from nats-server"))?;
        let (tx, log) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut server = Self {
            child,
            log,
            port: 0,
            route_port: None,
        };
        let line = server.wait_log("client connections on")?;
        server.port = port_after(&line, "client connections on")
            .ok_or_else(|| failed(format!("no client port in {line:?}")))?;
        if cluster {
            let line = server.wait_log("route connections on")?;
            server.route_port = port_after(&line, "route connections on");
        }
        Ok(server)
    }

    /// The next log line containing `text` (waiting up to [`SERVER_WAIT`]).
    ///
    /// # Errors
    ///
    /// The server exited, or said nothing of the kind in time.
    pub fn wait_log(&mut self, text: &str) -> Result<String, NatsError> {
        let deadline = Instant::now() + SERVER_WAIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.log.recv_timeout(left) {
                Ok(line) if line.contains(text) => return Ok(line),
                Ok(_) => {}
                Err(RecvTimeoutError::Timeout) => {
                    return Err(failed(format!(
                        "nats-server said nothing with {text:?} within {SERVER_WAIT:?}"
                    )));
                }
                Err(RecvTimeoutError::Disconnected) => {
                    return Err(failed(format!("nats-server exited before saying {text:?}")));
                }
            }
        }
    }

    /// Its client port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Its route port, when it is a cluster member.
    pub fn route_port(&self) -> Option<u16> {
        self.route_port
    }

    /// Its URL.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// Kill it (SIGKILL) and wait for it to be gone.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Three servers with routes between them.
#[derive(Debug)]
pub struct NatsCluster {
    /// The members.
    pub servers: Vec<NatsServer>,
}

impl NatsCluster {
    /// Start three servers (the second and third route to the first and
    /// learn each other from it) and wait until every one has its two routes.
    ///
    /// # Errors
    ///
    /// A server cannot start or its routes do not come up.
    pub fn start() -> Result<Self, NatsError> {
        let seed = NatsServer::spawn(&[], true, None)?;
        let seed_route = seed
            .route_port
            .ok_or_else(|| failed("the first server has no route port"))?;
        let mut servers = vec![
            seed,
            NatsServer::spawn(&[seed_route], true, None)?,
            NatsServer::spawn(&[seed_route], true, None)?,
        ];
        for server in &mut servers {
            for _ in 0..2 {
                server.wait_log("Route connection created")?;
            }
        }
        Ok(Self { servers })
    }

    /// Every member's URL, comma-separated.
    pub fn urls(&self) -> String {
        self.servers
            .iter()
            .map(NatsServer::url)
            .collect::<Vec<_>>()
            .join(",")
    }
}
