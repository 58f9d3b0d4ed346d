//! The router's benchmarks, in the simulated mesh (`cargo bench -p
//! ikc-router`, or `cargo run --release -p ikc-router --bench mesh`):
//!
//! - convergence after a link failure in a 50-kernel mesh: virtual time
//!   until every table is right again, and the CPU time the routers spent
//!   (recomputing paths included);
//! - the control messages a join storm costs: n clients joining one
//!   server at the same moment, for n = 10, 25, 50, 100; and the same
//!   clients joining one after the other (each join settled before the
//!   next), where nothing can be batched.
//!
//! Virtual time is what the protocol costs (1 ms per wire here), CPU time
//! (this thread's, from `/proc/thread-self/schedstat`, so a loaded machine
//! does not inflate it) is what the routers and the simulation cost;
//! neither includes sockets.

use std::time::{Duration, Instant};

use ikc_router::sim::{NodeId, Sim, WireId};

/// CPU time this thread has run, from the kernel's scheduler statistics
/// (wall time would count the other processes of a loaded machine).
fn cpu_time() -> Duration {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .map_or(Duration::ZERO, Duration::from_nanos)
}

/// Measure `f` in CPU time (wall time where schedstat is missing).
struct CpuClock {
    wall: Instant,
    cpu: Duration,
}

impl CpuClock {
    fn start() -> Self {
        Self {
            wall: Instant::now(),
            cpu: cpu_time(),
        }
    }

    fn elapsed(&self) -> Duration {
        let cpu = cpu_time();
        if cpu.is_zero() {
            self.wall.elapsed()
        } else {
            cpu - self.cpu
        }
    }
}

fn main() {
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!("load average: {}", load.trim());
    convergence(50);
    for n in [10, 25, 50, 100] {
        join_storm(n);
    }
    for n in [10, 25, 50, 100] {
        join_one_by_one(n);
    }
}

/// A ring of `n` kernels with chords to the kernel 7 places on: cycles
/// everywhere, every kernel with 4 links.
fn ring_with_chords(sim: &mut Sim, n: usize) -> (Vec<NodeId>, Vec<WireId>) {
    let nodes: Vec<NodeId> = (0..n)
        .map(|i| sim.add_kernel(&format!("k{i:03}")))
        .collect();
    let mut wires = Vec::new();
    for i in 0..n {
        wires.push(sim.connect(nodes[i], nodes[(i + 1) % n], Duration::from_millis(1)));
        wires.push(sim.connect(nodes[i], nodes[(i + 7) % n], Duration::from_millis(1)));
    }
    (nodes, wires)
}

fn convergence(n: usize) {
    let mut sim = Sim::new();
    let (nodes, wires) = ring_with_chords(&mut sim, n);
    sim.run_until_quiet();
    sim.check_converged().expect("the mesh converges");
    let recomputes = |sim: &Sim| -> u64 {
        nodes
            .iter()
            .map(|&k| sim.router(k).map_or(0, |r| r.stats().recomputes))
            .sum()
    };
    let mut rounds = Vec::new();
    // Cut each of several links in turn (and heal it), measuring each cut.
    for &wire in wires.iter().step_by(wires.len() / 10) {
        sim.reset_stats();
        let before = recomputes(&sim);
        let cpu = CpuClock::start();
        sim.disconnect(wire);
        let virtual_time = sim.run_until_quiet();
        let cpu = cpu.elapsed();
        sim.check_converged()
            .expect("the mesh converges after the cut");
        let stats = sim.stats();
        rounds.push((
            virtual_time,
            cpu,
            stats.control_messages,
            recomputes(&sim) - before,
        ));
        let [(a, _), (b, _)] = sim.wire_links(wire);
        sim.connect(a, b, Duration::from_millis(1));
        sim.run_until_quiet();
    }
    // One router alone: a weight change, the new paths and the new record.
    let now = sim.now();
    let router = sim.router_mut(nodes[0]).expect("running");
    let link = router.links()[0].link;
    let flips = 2000u32;
    let cpu = CpuClock::start();
    for i in 0..flips {
        router
            .set_link_weight(link, Some(100 + i % 2 * 50), now)
            .expect("the link is up");
        while router.poll_output().is_some() {}
    }
    let per_flip = cpu.elapsed() / flips;
    let count = rounds.len() as u32;
    let worst_virtual = rounds.iter().map(|r| r.0).max().unwrap_or_default();
    let mean_cpu = rounds.iter().map(|r| r.1).sum::<Duration>() / count;
    let messages = rounds.iter().map(|r| r.2).sum::<u64>() / u64::from(count);
    let recomputed = rounds.iter().map(|r| r.3).sum::<u64>() / u64::from(count);
    println!(
        "convergence after a link cut, {n}-kernel ring with chords (1 ms wires), mean of {count} cuts: \
         {:.1} ms virtual (worst), {:.2} ms CPU for all {n} routers (sim's Value encoding included), \
         {messages} control messages, {recomputed} path computations",
        worst_virtual.as_secs_f64() * 1e3,
        mean_cpu.as_secs_f64() * 1e3,
    );
    println!(
        "one router of that mesh: a weight change, its paths recomputed and its record rebuilt: {:.1} us",
        per_flip.as_secs_f64() * 1e6,
    );
}

fn join_storm(n: usize) {
    // Small storms are repeated so the CPU clock has something to measure.
    let reps = (20_000 / (n * n)).max(1);
    let mut cpu_total = Duration::ZERO;
    let mut result = None;
    for _ in 0..reps {
        let mut sim = Sim::new();
        let server = sim.add_kernel("server");
        let clients: Vec<NodeId> = (0..n)
            .map(|i| sim.add_kernel(&format!("client-{i:03}")))
            .collect();
        sim.reset_stats();
        let cpu = CpuClock::start();
        for &client in &clients {
            sim.connect(client, server, Duration::from_millis(1));
        }
        let virtual_time = sim.run_until_quiet();
        cpu_total += cpu.elapsed();
        sim.check_converged().expect("the join storm converges");
        result = Some((sim.stats(), virtual_time));
    }
    let (stats, virtual_time) = result.expect("at least one storm");
    let cpu = cpu_total / reps as u32;
    let n1 = n as f64;
    println!(
        "join storm, {n:>3} clients at once: {:>5} control messages ({:.1} per client), \
         {:>6} records ({:.2} x n^2), converged in {:.1} ms virtual, {:.2} ms CPU",
        stats.control_messages,
        stats.control_messages as f64 / n1,
        stats.records,
        stats.records as f64 / (n1 * n1),
        virtual_time.as_secs_f64() * 1e3,
        cpu.as_secs_f64() * 1e3,
    );
}

fn join_one_by_one(n: usize) {
    let mut sim = Sim::new();
    let server = sim.add_kernel("server");
    let clients: Vec<NodeId> = (0..n)
        .map(|i| sim.add_kernel(&format!("client-{i:03}")))
        .collect();
    sim.reset_stats();
    let cpu = CpuClock::start();
    for &client in &clients {
        sim.connect(client, server, Duration::from_millis(1));
        sim.run_until_quiet();
    }
    let cpu = cpu.elapsed();
    sim.check_converged().expect("the joins converge");
    let stats = sim.stats();
    let n1 = n as f64;
    println!(
        "one by one, {n:>3} clients: {:>5} control messages ({:.2} x n^2), {:>6} records ({:.2} x n^2), {:.2} ms CPU",
        stats.control_messages,
        stats.control_messages as f64 / (n1 * n1),
        stats.records,
        stats.records as f64 / (n1 * n1),
        cpu.as_secs_f64() * 1e3,
    );
}
