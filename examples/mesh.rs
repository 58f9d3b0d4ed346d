//! Five kernels in a ring, in one process (one thread each), talking
//! through each other: the routed mesh step by step.
//!
//! ```text
//! cargo run --example mesh
//! ```
//!
//! 1. Five kernels `A`..`E` start, each with a server on 127.0.0.1, and
//!    each dials the next: A-B-C-D-E-A.
//! 2. Each learns the whole ring: `register` monitors fire for every
//!    kernel, `direct` for a neighbour, `routed` for one reached through
//!    others (a neighbour first heard of through the ring is `routed`
//!    first, then `direct` when its own link is up).
//! 3. `A` posts to `poe://*/node/hello`: every kernel, A included, gets
//!    it exactly once.
//! 4. The link A-B is cut; B is now reached the other way round.
//! 5. `A` calls `poe://B/node/echo` and gets the answer back over
//!    A-E-D-C-B.

use std::time::Duration;

use ikc_examples::mesh::{Events, Node};
use ikc_freezer::Value;

const WAIT: Duration = Duration::from_secs(30);

/// Five kernels in a ring, in one process, talking through each other: the routed mesh step by step.
///
/// Takes no options (`--help` prints this).
#[derive(Debug, clap::Parser)]
#[command(name = "mesh")]
struct Args {}

fn main() -> anyhow::Result<()> {
    <Args as clap::Parser>::parse();
    let _ = env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn"))
        .try_init();
    let mut events = Events::new();
    let names = ["A", "B", "C", "D", "E"];
    println!("1. starting five kernels, each listening on 127.0.0.1 and dialing the next:");
    let nodes: Vec<Node> = names
        .iter()
        .map(|n| Node::start(n, &events))
        .collect::<anyhow::Result<_>>()?;
    for (i, node) in nodes.iter().enumerate() {
        let next = &nodes[(i + 1) % nodes.len()];
        node.connect(next.port)?;
        let port = i64::from(next.port);
        let name = node.name.clone();
        events.wait(WAIT, |e| {
            e.node == name && e.what == "linked" && e.args[0].as_i64() == Some(port)
        })?;
        println!(
            "   {} (port {}) -> {} (port {})",
            node.name, node.port, next.name, next.port
        );
    }

    println!("2. each kernel learns the ring (register monitors, direct or routed):");
    let a_id = |id: &str| {
        nodes
            .iter()
            .find(|n| n.kernel_id == id)
            .map_or_else(|| id.to_owned(), |n| n.name.clone())
    };
    let mut seen: Vec<String> = Vec::new();
    while seen.len() < 4 {
        let ev = events.wait(WAIT, |e| e.node == "A" && e.what == "register")?;
        println!("   A sees {} register ({})", a_id(&ev.text(0)), ev.text(1));
        if !seen.contains(&ev.text(0)) {
            seen.push(ev.text(0));
        }
    }
    // The others learn it too; wait until each has seen four kernels.
    for node in &nodes[1..] {
        let others: Vec<String> = nodes
            .iter()
            .filter(|n| n.name != node.name)
            .map(|n| n.kernel_id.clone())
            .collect();
        events.wait_registered(&node.name, &others, WAIT)?;
    }

    println!("3. A posts to poe://*/node/hello (IKC's `*`: every kernel, A included):");
    nodes[0].post("poe://*/node/hello", "hello, ring")?;
    let mut got = events.wait_n(5, WAIT, |e| e.what == "hello")?;
    got.sort_by(|a, b| a.node.cmp(&b.node));
    for e in &got {
        println!("   {} got hello: {:?}", e.node, e.text(0));
    }
    println!("   {} kernels, one copy each", got.len());

    println!("4. the link A-B is cut:");
    nodes[0].cut(&nodes[1].kernel_id)?;
    let moved = events.wait(WAIT, |e| {
        e.node == "A" && e.what == "register" && e.text(0) == nodes[1].kernel_id
    })?;
    println!(
        "   A reaches B again, {} now (the other way round: A-E-D-C-B)",
        moved.text(1)
    );

    println!("5. A calls poe://B/node/echo across the new path:");
    nodes[0].call("poe://B/node/echo", Value::from("are you there, B?"))?;
    let answer = events.wait(WAIT, |e| e.what == "answer")?;
    println!("   A got the answer: {:?}", answer.text(0));

    for node in nodes {
        node.stop()?;
    }
    println!("done");
    Ok(())
}
