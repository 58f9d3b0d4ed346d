//! The routed mesh:
//!
//! - `mesh-oneway --hops K`: the one-way scenario through K intermediate
//!   kernels (`ikc-bench relay` processes in a chain between the client
//!   and the server);
//! - `mesh-rtt`: IKC calls across 3 hops (client, two relays, server),
//!   next to a raw TCP round trip through two byte-forwarding relays (3
//!   raw hops) measured in the same run;
//! - `mesh-broadcast --kernels N`: N kernels (threads of this process) in
//!   a mesh; one posts to `poe://*/node/hello`: the copies delivered (must
//!   be N) and the time until the last arrived;
//! - `mesh-converge --kernels N`: in the same mesh a link is cut; the time
//!   until the kernel that cut it reaches its old neighbour again through
//!   the others (and a call across the new path answers);
//! - `mesh-storm --kernels N`: N kernels dial one hub at the same moment;
//!   the control messages the whole mesh sent until every kernel knows
//!   every other, for N/4, N/2 and N (how it grows).

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, ensure};
use ikc_client::{Client, ClientConfig};
use ikc_core::Kernel;
use ikc_examples::mesh::{Events, Node};
use ikc_server::{Server, ServerConfig};

use crate::args::Args;
use crate::link::Link;
use crate::process::ServerProcess;
use crate::security::Security;
use crate::stats::{Summary, per_sec};

/// The hang guard of the in-process scenarios.
const WAIT: Duration = Duration::from_secs(120);

/// `ikc-bench relay --port 0 --next PORT`: a kernel with a server on
/// 127.0.0.1 and a client to `127.0.0.1:NEXT`, passing messages on. Prints
/// `port=N`; exits when its standard input closes.
pub(crate) fn relay(args: &Args) -> Result<()> {
    let port: u16 = args.number("port", 0)?;
    let next: u16 = args.number("next", 0)?;
    ensure!(next != 0, "relay needs --next PORT");
    let name = format!("Relay{}", std::process::id());
    let mut kernel = Kernel::new()?;
    let listening = Server::spawn(
        &mut kernel,
        ServerConfig::tcp("127.0.0.1", port).name(name.as_str()),
    )?;
    Client::spawn(
        &mut kernel,
        ClientConfig::tcp("127.0.0.1", next).name(name.as_str()),
    )?;
    crate::serve::exit_with_stdin();
    let mut stdout = std::io::stdout();
    writeln!(stdout, "port={}", listening.port().unwrap_or(port))?;
    stdout.flush()?;
    kernel.run()?;
    Ok(())
}

/// The server and `relays` relay processes chained in front of it; the
/// port a client dials.
fn chain(args: &Args, relays: usize) -> Result<(ServerProcess, Vec<ServerProcess>, u16)> {
    let server = ServerProcess::start(args)?;
    let mut next = server.port();
    let mut chain = Vec::with_capacity(relays);
    for _ in 0..relays {
        let relay = ServerProcess::start_as(args, "relay", &["--next", &next.to_string()])?;
        next = relay.port();
        chain.push(relay);
    }
    Ok((server, chain, next))
}

/// `mesh-oneway`.
pub(crate) fn oneway(args: &Args) -> Result<()> {
    let hops: usize = args.number("hops", 1)?;
    let (server, relays, port) = chain(args, hops)?;
    let (args, security) = Security::prepare(args)?;
    let (line, _) = crate::oneway::measure_over(&args, &Link::Relayed(port), &security)?;
    server.finish()?;
    drop(relays);
    println!("mesh-oneway intermediate_kernels={hops} {line}");
    Ok(())
}

/// `mesh-rtt`: calls across 3 hops, and raw TCP across 3 hops.
pub(crate) fn rtt(args: &Args) -> Result<()> {
    let codec = args.get_or("codec", "native");
    let name = crate::codec_name(codec)?;
    let n: u64 = args.number("n", 5_000)?;
    let warmup: u64 = args.number("warmup", 500)?;
    ensure!(n > 0, "--n must be positive");
    let (server, relays, port) = chain(args, 2)?;
    let summary =
        crate::rtt::calls_over(&Link::Relayed(port), name, &Security::default(), warmup, n)?;
    server.finish()?;
    drop(relays);
    println!("mesh-rtt hops=3 codec={codec} n={n} {}", summary.fields());
    let raw = raw_rtt(warmup, n)?;
    println!("mesh-rtt-raw hops=3 bytes=100 n={n} {}", raw.fields());
    Ok(())
}

/// 100 bytes there and back through two forwarding threads to an echo
/// thread: 3 TCP hops each way, as the IKC calls above.
fn raw_rtt(warmup: u64, n: u64) -> Result<Summary> {
    let echo = TcpListener::bind("127.0.0.1:0")?;
    let mut next = echo.local_addr()?.port();
    std::thread::spawn(move || {
        if let Ok((mut s, _)) = echo.accept() {
            let _ = s.set_nodelay(true);
            let mut buf = [0u8; 4096];
            while let Ok(k) = s.read(&mut buf) {
                if k == 0 || s.write_all(&buf[..k]).is_err() {
                    break;
                }
            }
        }
    });
    for _ in 0..2 {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let to = next;
        next = listener.local_addr()?.port();
        std::thread::spawn(move || {
            let (Ok((a, _)), Ok(b)) = (listener.accept(), TcpStream::connect(("127.0.0.1", to)))
            else {
                return;
            };
            forward_both(a, b);
        });
    }
    let mut s = TcpStream::connect(("127.0.0.1", next))?;
    s.set_nodelay(true)?;
    let msg = [7u8; 100];
    let mut back = [0u8; 100];
    let mut times = Vec::with_capacity(n as usize);
    for i in 0..warmup + n {
        let start = Instant::now();
        s.write_all(&msg)?;
        s.read_exact(&mut back)?;
        if i >= warmup {
            times.push(start.elapsed());
        }
    }
    Summary::of(&mut times).context("no round trips timed")
}

/// Copy bytes both ways between two sockets (one thread each way).
fn forward_both(a: TcpStream, b: TcpStream) {
    let _ = a.set_nodelay(true);
    let _ = b.set_nodelay(true);
    let (Ok(a2), Ok(b2)) = (a.try_clone(), b.try_clone()) else {
        return;
    };
    std::thread::spawn(move || copy(a2, b2));
    copy(b, a);
}

fn copy(mut from: TcpStream, mut to: TcpStream) {
    let mut buf = [0u8; 4096];
    while let Ok(k) = from.read(&mut buf) {
        if k == 0 || to.write_all(&buf[..k]).is_err() {
            break;
        }
    }
    let _ = to.shutdown(std::net::Shutdown::Write);
}

/// `kernels` nodes joined as a tree (each dials the one at half its index)
/// plus a chord from every fifth to three before it, converged.
fn mesh_of(kernels: usize, events: &mut Events) -> Result<Vec<Node>> {
    let nodes: Vec<Node> = (0..kernels)
        .map(|i| Node::start(&format!("n{i}"), events))
        .collect::<Result<_>>()?;
    let mut links = 0;
    for i in 1..kernels {
        nodes[i].connect(nodes[(i - 1) / 2].port)?;
        links += 1;
        if i % 5 == 0 {
            nodes[i].connect(nodes[i - 3].port)?;
            links += 1;
        }
    }
    // Every link up at its dialer: a kernel may register its neighbour
    // (reached through others) before their own link is, and cutting a
    // link still in its handshake would tell its dialer's monitors nothing.
    events.wait_n(links, WAIT, |e| e.what == "linked")?;
    converge(&nodes, events)?;
    Ok(nodes)
}

/// Wait until every node has seen every other register.
fn converge(nodes: &[Node], events: &mut Events) -> Result<()> {
    for node in nodes {
        let others: Vec<String> = nodes
            .iter()
            .filter(|n| n.name != node.name)
            .map(|n| n.kernel_id.clone())
            .collect();
        events.wait_registered(&node.name, &others, WAIT)?;
    }
    Ok(())
}

/// `mesh-broadcast`.
pub(crate) fn broadcast(args: &Args) -> Result<()> {
    let kernels: usize = args.number("kernels", 50)?;
    ensure!(kernels >= 2, "--kernels must be at least 2");
    let mut events = Events::new();
    let nodes = mesh_of(kernels, &mut events)?;
    let rounds: usize = args.number("rounds", 5)?;
    let mut times = Vec::with_capacity(rounds);
    for round in 0..rounds {
        let tag = format!("b{round}");
        let start = Instant::now();
        nodes[kernels / 3].post("poe://*/node/hello", tag.as_str())?;
        let got = events.wait_n(kernels, WAIT, |e| e.what == "hello" && e.text(0) == tag)?;
        times.push(start.elapsed());
        let mut by: Vec<&str> = got.iter().map(|e| e.node.as_str()).collect();
        by.sort_unstable();
        by.dedup();
        ensure!(
            by.len() == kernels,
            "round {round}: {} kernels got it",
            by.len()
        );
    }
    // A marker the same ways: any duplicate would have come before it.
    nodes[kernels / 3].post("poe://*/node/other", "end")?;
    events.wait_n(kernels, WAIT, |e| e.what == "other")?;
    let extra = events.drain(|e| e.what == "hello").len();
    ensure!(extra == 0, "{extra} copies too many");
    let summary = Summary::of(&mut times).context("no rounds")?;
    println!(
        "mesh-broadcast kernels={kernels} copies_delivered={kernels} duplicates=0 rounds={rounds} {}",
        summary.fields()
    );
    drop(nodes);
    Ok(())
}

/// `mesh-converge`.
pub(crate) fn converge_after_cut(args: &Args) -> Result<()> {
    let kernels: usize = args.number("kernels", 50)?;
    ensure!(kernels >= 6, "--kernels must be at least 6");
    let mut events = Events::new();
    let nodes = mesh_of(kernels, &mut events)?;
    // n5 dialed n2 (tree) and n2 (chord: 5 - 3): cut the tree link of a
    // kernel with a chord, n10 -> n4 (n10 also dialed n7).
    let (a, b) = (10.min(kernels - 1), (10.min(kernels - 1) - 1) / 2);
    let lost = nodes[b].kernel_id.clone();
    events.drain(|_| true);
    let start = Instant::now();
    nodes[a].cut(&lost)?;
    let gone = events.wait(WAIT, |e| {
        e.node == nodes[a].name && e.what == "unregister" && e.text(0) == lost
    })?;
    let noticed = start.elapsed();
    let back = events.wait(WAIT, |e| {
        e.node == nodes[a].name && e.what == "register" && e.text(0) == lost
    })?;
    let rerouted = start.elapsed();
    ensure!(back.text(1) == "routed", "{back:?} after {gone:?}");
    nodes[a].call(&format!("poe://{}/node/echo", nodes[b].name), "across")?;
    events.wait(WAIT, |e| e.what == "answer")?;
    let answered = start.elapsed();
    println!(
        "mesh-converge kernels={kernels} noticed_ms={:.3} rerouted_ms={:.3} converge_after_notice_ms={:.3} call_answered_ms={:.3}",
        ms(noticed),
        ms(rerouted),
        ms(rerouted - noticed),
        ms(answered)
    );
    drop(nodes);
    Ok(())
}

/// `mesh-storm`.
pub(crate) fn storm(args: &Args) -> Result<()> {
    let kernels: usize = args.number("kernels", 100)?;
    ensure!(kernels >= 4, "--kernels must be at least 4");
    for n in [kernels / 4, kernels / 2, kernels] {
        let mut events = Events::new();
        let hub = Node::start("hub", &events)?;
        let leaves: Vec<Node> = (0..n)
            .map(|i| Node::start(&format!("s{i}"), &events))
            .collect::<Result<_>>()?;
        let start = Instant::now();
        for leaf in &leaves {
            leaf.connect(hub.port)?;
        }
        let mut all = vec![hub];
        all.extend(leaves);
        converge(&all, &mut events)?;
        let elapsed = start.elapsed();
        let mut sent = 0;
        for node in &all {
            sent += node.control_sent()?;
        }
        let k = all.len() as u64;
        println!(
            "mesh-storm kernels={k} control_messages={sent} per_kernel={} per_kernel_squared={:.2} secs={:.3} joins_per_sec={}",
            sent / k,
            sent as f64 / (k * k) as f64,
            elapsed.as_secs_f64(),
            per_sec(k - 1, elapsed)
        );
        drop(all);
    }
    Ok(())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
