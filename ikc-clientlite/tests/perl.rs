//! Our ClientLite against Perl IKC's real server (`testdata/perl-server.pl`),
//! with both freezers and both handshakes. Runs only where
//! `perl -MPOE::Component::IKC::ClientLite -e1` works (set `PERL5LIB` to
//! the IKC library); prints a line saying it skipped otherwise.

mod util;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::thread;
use std::time::Duration;

use anyhow::{Context, Result, bail, ensure};
use ikc_clientlite::{Builder, Hash, LiteError, Protocol, Value};

fn perl_ikc_available() -> bool {
    let available = Command::new("perl")
        .args(["-MPOE::Component::IKC::ClientLite", "-e", "1"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    if !available {
        println!(
            "skipped: Perl's POE::Component::IKC is not installed \
             (perl -MPOE::Component::IKC::ClientLite -e1 failed; set PERL5LIB)"
        );
    }
    available
}

/// `perl-server.pl`, running until dropped.
struct PerlServer {
    child: Child,
    port: u16,
    stderr: Receiver<String>,
}

impl PerlServer {
    /// A server on a port the system picks.
    fn start(protocol: &str) -> Result<Self> {
        let script = format!("{}/testdata/perl-server.pl", env!("CARGO_MANIFEST_DIR"));
        let mut child = Command::new("perl")
            .arg(script)
            .env("PROTO", protocol)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .context("starting perl")?;
        let stdout = child.stdout.take().context("perl's stdout")?;
        let stderr = child.stderr.take().context("perl's stderr")?;
        let (tx, lines) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        // It prints its port once it listens.
        let mut first = String::new();
        BufReader::new(stdout).read_line(&mut first)?;
        let port = first
            .trim()
            .strip_prefix("port ")
            .and_then(|p| p.parse().ok())
            .with_context(|| format!("perl-server.pl said {first:?}"))?;
        Ok(Self {
            child,
            port,
            stderr: lines,
        })
    }

    /// Wait for the server to print `line` on stderr.
    fn expect_stderr(&self, line: &str) -> Result<()> {
        loop {
            match self.stderr.recv_timeout(Duration::from_secs(10)) {
                Ok(got) if got == line => return Ok(()),
                Ok(_) => {}
                Err(e) => bail!("perl-server.pl never printed {line:?}: {e}"),
            }
        }
    }
}

impl Drop for PerlServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// lite.pl's nested value.
fn nested() -> Value {
    let mut d = Hash::new();
    d.insert("e", Value::Array(vec![]));
    let mut h = Hash::new();
    h.insert(
        "a",
        vec![
            Value::Int(1),
            Value::bytes("two"),
            Value::from("x\u{263A}y"),
            Value::Undef,
        ],
    );
    h.insert("b", Value::reference(Value::bytes("s")));
    h.insert("c", -7);
    h.insert("d", d);
    Value::from(h)
}

#[test]
fn our_clientlite_against_perls_server() -> Result<()> {
    if !perl_ikc_available() {
        return Ok(());
    }
    for server_protocol in ["IKC0", "IKC"] {
        let server = PerlServer::start(server_protocol)?;
        let mut here = 0;
        for client_protocol in [Protocol::Ikc0, Protocol::Ikc] {
            for freezer in [None, Some("Storable"), Some("POE::Component::IKC::Freezer")] {
                let what =
                    format!("{server_protocol} server, {client_protocol:?} client, {freezer:?}");
                let mut builder = Builder::tcp("127.0.0.1", server.port)
                    .protocol(client_protocol)
                    .timeout(Duration::from_secs(10));
                if let Some(freezer) = freezer {
                    builder = builder.freezer(freezer);
                }
                let mut poe = builder.connect().with_context(|| what.clone())?;
                let peer = poe.peer().context("connected")?.clone();
                // The default offer (IKC::Native, Storable) gets Storable from Perl.
                ensure!(
                    peer.freezer == freezer.unwrap_or("Storable"),
                    "{what}: {peer:?}"
                );
                ensure!(peer.names().any(|n| n == "Inet"), "{what}: {peer:?}");
                let fell_back = server_protocol == "IKC" || client_protocol == Protocol::Ikc;
                let remote = if fell_back {
                    format!("127.0.0.1:{}", server.port)
                } else {
                    peer.kernel_id.clone()
                };
                ensure!(poe.remote_name() == Some(remote.as_str()), "{what}");

                let n = poe.call("test/fetchQ", ())?;
                ensure!(n.as_i64() == Some(42), "{what}: fetchQ={n}");
                let n = poe.post_respond("test/add_1", n)?;
                ensure!(n.as_i64() == Some(43), "{what}: add_1={n}");
                let back = poe.call("test/echo", nested())?;
                ensure!(back["a"][0].as_i64() == Some(1), "{what}: {back}");
                ensure!(back["a"][1].as_str() == Some("two"), "{what}: {back}");
                ensure!(back["a"][2] == Value::from("x\u{263A}y"), "{what}: {back}");
                ensure!(back["a"][3].is_undef(), "{what}: {back}");
                ensure!(
                    back["b"].as_referent().and_then(Value::as_str) == Some("s"),
                    "{what}: {back}"
                );
                ensure!(back["c"].as_i64() == Some(-7), "{what}: {back}");
                ensure!(back["d"]["e"] == Value::Array(vec![]), "{what}: {back}");
                let list = poe.call_list("test/echo", vec![1, 2])?;
                ensure!(
                    list.len() == 1 && list[0].as_array().map(<[_]>::len) == Some(2),
                    "{what}: {list:?}"
                );
                poe.ping().with_context(|| format!("{what}: ping"))?;
                match poe.call("test/nothere", 1) {
                    Err(LiteError::Remote {
                        message, operation, ..
                    }) => {
                        ensure!(
                            message.contains("has not published state 'nothere'"),
                            "{what}: {message}"
                        );
                        ensure!(operation == "check", "{what}: {operation}");
                    }
                    other => bail!("{what}: expected an error report, got {other:?}"),
                }
                here += 1;
                poe.post("test/here", here)?;
                server.expect_stderr(&format!("here got {here}"))?;
                poe.disconnect();
                println!(
                    "{what}: {} over {:?}, fetchQ=42 add_1=43 echo={back}",
                    peer.freezer, peer.protocol
                );
            }
        }
    }
    Ok(())
}

#[test]
fn a_killed_perl_server_is_noticed_before_writing() -> Result<()> {
    if !perl_ikc_available() {
        return Ok(());
    }
    let server = PerlServer::start("IKC0")?;
    let mut poe = Builder::tcp("127.0.0.1", server.port)
        .timeout(Duration::from_secs(10))
        .connect()?;
    ensure!(poe.call("test/fetchQ", ())?.as_i64() == Some(42));
    drop(server); // killed: the kernel closes its sockets
    // The post sees the closed connection, tries once to connect again,
    // and says why that failed (nothing listens any more).
    match poe.post("test/here", 1) {
        Err(LiteError::Connect { source, .. }) => {
            ensure!(
                source.kind() == std::io::ErrorKind::ConnectionRefused,
                "{source}"
            );
        }
        other => bail!("expected a connect error, got {other:?}"),
    }
    ensure!(!poe.is_connected());
    Ok(())
}
