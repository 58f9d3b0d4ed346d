//! `erlang`: the reference from another runtime. Two Erlang nodes on
//! 127.0.0.1 exchange the same payload as every ikc-bench message
//! (`#{seq => I, name => <<"hello world">>, vals => [1,2,3]}`) over the
//! Erlang distribution: one-way posts with the same batches and window as
//! `oneway`, then sequential ping-pongs as `rtt` makes calls.
//!
//! The scenario starts its own `epmd` on a free loopback port and both
//! nodes (`-name ...@127.0.0.1`, distribution bound to 127.0.0.1, a
//! random cookie), compiles `erlang/ikc_bench_erl.erl` into a temporary
//! directory, and stops everything it started. Without `erl`, `erlc` and
//! `epmd` on the `PATH` it prints a line saying it was skipped.

use std::io::{BufRead, BufReader, Read};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};

use crate::args::Args;
use crate::stats::{Summary, per_sec};

/// The Erlang side of the benchmark.
const MODULE_SOURCE: &str = include_str!("../erlang/ikc_bench_erl.erl");
const MODULE: &str = "ikc_bench_erl";

/// What the Erlang nodes measured.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Figures {
    /// One-way messages per second.
    pub(crate) oneway_per_sec: u64,
    /// Ping-pong round trips.
    pub(crate) rtt: Summary,
}

/// A child process killed (if still running) and reaped when dropped.
struct Reaped(Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A temporary directory removed when dropped.
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Is `program` on the `PATH`?
fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()))
}

/// Run the scenario; `None` (after printing why) when Erlang is not installed.
pub(crate) fn run(args: &Args) -> Result<Option<Figures>> {
    if let Some(missing) = ["erl", "erlc", "epmd"].into_iter().find(|p| !on_path(p)) {
        println!(
            "erlang skipped: `{missing}` is not on the PATH (install Erlang/OTP to measure the reference)"
        );
        return Ok(None);
    }
    let n: u64 = args.number("n", 1_000_000)?;
    let batch: u64 = args.number("batch", 1000)?;
    let window: u64 = args.number("window", 4)?;
    let calls: u64 = args.number("calls", 20_000)?;
    let warmup: u64 = args.number("warmup", 1000)?;
    ensure!(
        n > 0 && batch > 0 && window > 0 && calls > 0,
        "--n, --batch, --window and --calls must be positive"
    );
    let dir =
        TempDir(std::env::temp_dir().join(format!("ikc-bench-erlang-{}", std::process::id())));
    std::fs::create_dir_all(&dir.0).context("creating a temporary directory")?;
    compile(&dir.0)?;

    let epmd_port = free_port()?;
    let _epmd = Reaped(
        Command::new("epmd")
            .args(["-port", &epmd_port.to_string(), "-address", "127.0.0.1"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("starting epmd")?,
    );
    wait_for_port(epmd_port)?;

    let cookie = format!("ikcbench{:x}", nanos_now());
    let id = std::process::id();
    let server_name = format!("ikcbench_server_{id}@127.0.0.1");
    let mut server = Reaped(
        node(&dir.0, epmd_port, &cookie, &server_name)
            .args(["-s", MODULE, "server"])
            .stdout(Stdio::piped())
            .spawn()
            .context("starting the Erlang server node")?,
    );
    let mut ready = String::new();
    BufReader::new(server.0.stdout.take().context("the server node's stdout")?)
        .read_line(&mut ready)
        .context("waiting for the Erlang server node")?;
    ensure!(
        ready.trim() == "ready",
        "the Erlang server node printed {ready:?}"
    );

    let numbers = [n, batch, window, calls, warmup].map(|v| v.to_string());
    let client = node(
        &dir.0,
        epmd_port,
        &cookie,
        &format!("ikcbench_client_{id}@127.0.0.1"),
    )
    .args(["-run", MODULE, "client", &server_name])
    .args(&numbers)
    .stdout(Stdio::piped())
    .spawn()
    .context("starting the Erlang client node")?;
    let mut client = Reaped(client);
    let mut output = String::new();
    client
        .0
        .stdout
        .take()
        .context("the client node's stdout")?
        .read_to_string(&mut output)
        .context("reading the Erlang client's results")?;
    let status = client.0.wait()?;
    ensure!(
        status.success(),
        "the Erlang client node failed: {status}\n{output}"
    );
    let figures = parse(&output, n)?;
    println!(
        "erlang-oneway n={n} secs={:.3} msgs_per_sec={}",
        n as f64 / figures.oneway_per_sec as f64,
        figures.oneway_per_sec
    );
    println!("erlang-pingpong n={calls} {}", figures.rtt.fields());
    Ok(Some(figures))
}

/// `erl` for one node, distribution on loopback only.
fn node(dir: &Path, epmd_port: u16, cookie: &str, name: &str) -> Command {
    let mut command = Command::new("erl");
    command
        .env("ERL_EPMD_PORT", epmd_port.to_string())
        .args(["-noshell", "-noinput", "-name", name, "-setcookie", cookie])
        .args(["-kernel", "inet_dist_use_interface", "{127,0,0,1}"])
        .arg("-pa")
        .arg(dir)
        .stdin(Stdio::null());
    command
}

fn compile(dir: &Path) -> Result<()> {
    let source = dir.join(format!("{MODULE}.erl"));
    std::fs::write(&source, MODULE_SOURCE).context("writing the Erlang module")?;
    let out = Command::new("erlc")
        .arg("-o")
        .arg(dir)
        .arg(&source)
        .output()
        .context("running erlc")?;
    ensure!(
        out.status.success(),
        "erlc failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(())
}

/// A loopback port nobody listens on now.
fn free_port() -> Result<u16> {
    Ok(TcpListener::bind((Ipv4Addr::LOCALHOST, 0))?
        .local_addr()?
        .port())
}

/// Wait (up to 10 s) until something accepts connections on `port`.
fn wait_for_port(port: u16) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect((Ipv4Addr::LOCALHOST, port)).is_err() {
        if Instant::now() > deadline {
            bail!("epmd did not start listening on 127.0.0.1:{port}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(())
}

fn nanos_now() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos())
}

/// Read the client's two lines.
fn parse(output: &str, n: u64) -> Result<Figures> {
    let field = |line: &str, key: &str| -> Option<String> {
        line.split_whitespace()
            .find_map(|kv| kv.strip_prefix(key)?.strip_prefix('=').map(str::to_owned))
    };
    let oneway = output
        .lines()
        .find(|l| l.starts_with("oneway "))
        .context("no oneway line from the Erlang client")?;
    let count: u64 = field(oneway, "count").context("count")?.parse()?;
    let misordered: u64 = field(oneway, "misordered").context("misordered")?.parse()?;
    ensure!(
        count == n,
        "the Erlang server counted {count} posts, {n} were sent"
    );
    ensure!(
        misordered == 0,
        "the Erlang server saw {misordered} posts out of order"
    );
    let nanos: u64 = field(oneway, "nanos").context("nanos")?.parse()?;
    let pingpong = output
        .lines()
        .find(|l| l.starts_with("pingpong "))
        .context("no pingpong line from the Erlang client")?;
    let mut samples = field(pingpong, "samples_ns")
        .context("samples_ns")?
        .split(',')
        .map(|s| s.parse().map(Duration::from_nanos))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Figures {
        oneway_per_sec: per_sec(n, Duration::from_nanos(nanos)),
        rtt: Summary::of(&mut samples).context("no ping-pongs timed")?,
    })
}
