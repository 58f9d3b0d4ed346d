//! Property tests in the simulated mesh: random topologies of up to 50
//! kernels with cycles, random link failures and restarts, random
//! multi-target sends. Every reachable target gets exactly one copy,
//! nothing unreachable disappears without an error, tables converge.

use std::collections::BTreeSet;
use std::time::Duration;

use ikc_router::sim::{MessageId, NodeId, Sim, WireId};
use ikc_router::{Targets, UnreachableReason};
use proptest::prelude::*;

/// A mesh: `n` routing kernels, a random spanning tree plus extra edges
/// (cycles), and a few leaves hanging off one or two routers.
#[derive(Debug, Clone)]
struct Topology {
    n: usize,
    edges: Vec<(usize, usize, u64)>,
    leaves: Vec<Vec<usize>>,
}

fn topology(max: usize) -> impl Strategy<Value = Topology> {
    (2..=max).prop_flat_map(|n| {
        let tree = proptest::collection::vec((any::<prop::sample::Index>(), 1..5u64), n - 1);
        let extra = proptest::collection::vec((0..n, 0..n, 1..5u64), 0..=n);
        let leaves = proptest::collection::vec(proptest::collection::vec(0..n, 1..=2), 0..=3);
        (Just(n), tree, extra, leaves).prop_map(|(n, tree, extra, leaves)| {
            let mut edges: Vec<(usize, usize, u64)> = tree
                .into_iter()
                .enumerate()
                .map(|(i, (parent, ms))| (i + 1, parent.index(i + 1), ms))
                .collect();
            edges.extend(extra.into_iter().filter(|(a, b, _)| a != b));
            Topology { n, edges, leaves }
        })
    })
}

struct Mesh {
    sim: Sim,
    routers: Vec<NodeId>,
    leaves: Vec<NodeId>,
    wires: Vec<WireId>,
}

fn build(topology: &Topology) -> Mesh {
    let mut sim = Sim::new();
    let routers: Vec<NodeId> = (0..topology.n)
        .map(|i| sim.add_kernel_named(&format!("k{i}"), &[&format!("K{i}")]))
        .collect();
    let mut wires: Vec<WireId> = topology
        .edges
        .iter()
        .map(|&(a, b, ms)| sim.connect(routers[a], routers[b], Duration::from_millis(ms)))
        .collect();
    let mut leaves = Vec::new();
    for (i, neighbours) in topology.leaves.iter().enumerate() {
        let leaf = sim.add_leaf(&format!("perl{i}"), &[&format!("Perl{i}")]);
        for &r in neighbours.iter().collect::<BTreeSet<_>>() {
            wires.push(sim.connect(leaf, routers[r], Duration::from_millis(1)));
        }
        leaves.push(leaf);
    }
    Mesh {
        sim,
        routers,
        leaves,
        wires,
    }
}

impl Mesh {
    fn all(&self) -> Vec<NodeId> {
        self.routers.iter().chain(&self.leaves).copied().collect()
    }

    /// Check a message sent while the mesh was quiet: each target in the
    /// sender's component exactly once, every other one reported.
    fn check_quiet_send(
        &self,
        from: NodeId,
        message: MessageId,
        targets: &[NodeId],
        unknown: &[String],
    ) {
        let reachable: BTreeSet<NodeId> = self.sim.component(from).into_iter().collect();
        let mut got = self.sim.receivers(message).to_vec();
        got.sort();
        let mut expected: Vec<NodeId> = targets
            .iter()
            .copied()
            .filter(|t| *t == from || reachable.contains(t))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        expected.sort();
        assert_eq!(got, expected, "copies of a multi-target send");
        let reported: BTreeSet<&str> = self
            .sim
            .undeliverable()
            .iter()
            .filter(|u| u.message == message)
            .map(|u| u.name.as_str())
            .collect();
        for target in targets
            .iter()
            .filter(|t| **t != from && !reachable.contains(t))
        {
            let name = self.sim.kernel_id(*target).as_str();
            assert!(
                reported.contains(name),
                "unreachable {name} was not reported"
            );
        }
        for name in unknown {
            assert!(
                reported.contains(name.as_str()),
                "unknown {name} was not reported"
            );
        }
        assert!(self.sim.lost(message).is_empty());
    }

    /// Check a message sent while the mesh changed: no kernel got two
    /// copies, and every target got it, was reported, or was on a wire
    /// that went down under it.
    fn check_churn_send(&self, message: MessageId, targets: &[NodeId]) {
        let got = self.sim.receivers(message);
        let unique: BTreeSet<&NodeId> = got.iter().collect();
        assert_eq!(unique.len(), got.len(), "a kernel got two copies: {got:?}");
        let reported: BTreeSet<&str> = self
            .sim
            .undeliverable()
            .iter()
            .filter(|u| u.message == message)
            .map(|u| u.name.as_str())
            .collect();
        let lost: BTreeSet<&str> = self.sim.lost(message).iter().map(String::as_str).collect();
        for target in targets {
            let id = self.sim.kernel_id(*target).as_str();
            assert!(
                unique.contains(target) || reported.contains(id) || lost.contains(id),
                "{id} neither got the message, nor was reported, nor was lost with a wire"
            );
        }
    }
}

fn names_of(sim: &Sim, targets: &[NodeId]) -> Vec<String> {
    targets
        .iter()
        .map(|t| sim.kernel_id(*t).to_string())
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn random_meshes_converge_and_deliver_exactly_once(
        topology in topology(50),
        sends in proptest::collection::vec((any::<prop::sample::Index>(), proptest::collection::vec(any::<prop::sample::Index>(), 1..6), any::<bool>()), 1..6),
    ) {
        let mut mesh = build(&topology);
        mesh.sim.run_until_quiet();
        mesh.sim.check_converged().map_err(TestCaseError::fail)?;
        let all = mesh.all();
        for (from, targets, star) in sends {
            let from = mesh.routers[from.index(mesh.routers.len())];
            if star {
                let message = mesh.sim.send(from, Targets::All { include_local: true });
                mesh.sim.run_until_quiet();
                let mut everyone: Vec<NodeId> = mesh.sim.component(from);
                everyone.push(from);
                mesh.check_quiet_send(from, message, &everyone, &[]);
            } else {
                let targets: Vec<NodeId> = targets.iter().map(|t| all[t.index(all.len())]).collect();
                let mut names = names_of(&mesh.sim, &targets);
                names.push("nobody".to_owned());
                let message = mesh.sim.send(from, Targets::Names(&names));
                mesh.sim.run_until_quiet();
                mesh.check_quiet_send(from, message, &targets, &["nobody".to_owned()]);
            }
        }
    }

    #[test]
    fn failures_and_restarts_keep_delivery_honest_and_tables_converge(
        topology in topology(30),
        ops in proptest::collection::vec((0..5u8, any::<prop::sample::Index>(), any::<prop::sample::Index>(), 0..3u8), 1..25),
    ) {
        let mut mesh = build(&topology);
        mesh.sim.run_until_quiet();
        let mut restarts = 0;
        for (op, x, y, settle) in ops {
            let all = mesh.all();
            match op {
                // Cut a wire.
                0 => {
                    let wire = mesh.wires[x.index(mesh.wires.len())];
                    mesh.sim.disconnect(wire);
                }
                // Join two routers (maybe again: a duplicate link).
                1 => {
                    let a = mesh.routers[x.index(mesh.routers.len())];
                    let b = mesh.routers[y.index(mesh.routers.len())];
                    if a != b {
                        let wire = mesh.sim.connect(a, b, Duration::from_millis(1 + u64::from(settle)));
                        mesh.wires.push(wire);
                    }
                }
                // Restart a router, same ID or a new one, and reconnect it.
                2 => {
                    let node = mesh.routers[x.index(mesh.routers.len())];
                    restarts += 1;
                    let new_id = format!("{}-r{restarts}", mesh.sim.kernel_id(node));
                    mesh.sim.restart(node, (settle == 0).then_some(new_id.as_str()));
                    let other = mesh.routers[y.index(mesh.routers.len())];
                    if other != node {
                        let wire = mesh.sim.connect(node, other, Duration::from_millis(1));
                        mesh.wires.push(wire);
                    }
                }
                // A multi-target send while things move.
                _ => {
                    let from = mesh.routers[x.index(mesh.routers.len())];
                    let targets: Vec<NodeId> = (0..3).map(|i| all[(y.index(all.len()) + i * 7) % all.len()]).collect();
                    let names = names_of(&mesh.sim, &targets);
                    let message = mesh.sim.send(from, Targets::Names(&names));
                    match settle {
                        0 => { mesh.sim.run_until_quiet(); }
                        1 => mesh.sim.advance(Duration::from_micros(1500)),
                        _ => {}
                    }
                    mesh.sim.run_until_quiet();
                    mesh.check_churn_send(message, &targets);
                }
            }
            match settle {
                0 => { mesh.sim.run_until_quiet(); }
                1 => mesh.sim.advance(Duration::from_millis(2)),
                _ => {}
            }
        }
        mesh.sim.run_until_quiet();
        mesh.sim.check_converged().map_err(TestCaseError::fail)?;
        // Once quiet again, `*` from anyone reaches its whole component once.
        let from = mesh.routers[0];
        let message = mesh.sim.send(from, Targets::All { include_local: true });
        mesh.sim.run_until_quiet();
        let mut everyone = mesh.sim.component(from);
        everyone.push(from);
        mesh.check_quiet_send(from, message, &everyone, &[]);
        for &node in &mesh.routers {
            for error in mesh.sim.errors(node) {
                prop_assert!(false, "{} refused a control message: {error}", mesh.sim.kernel_id(node));
            }
        }
    }
}

#[test]
fn unknown_and_unreachable_are_told_apart() {
    let mut sim = Sim::new();
    let a = sim.add_kernel("a");
    let b = sim.add_kernel("b");
    let wire = sim.connect(a, b, Duration::from_millis(1));
    sim.run_until_quiet();
    sim.disconnect(wire);
    sim.run_until_quiet();
    let message = sim.send_to(a, &["b", "zz"]);
    sim.run_until_quiet();
    let reasons: Vec<_> = sim
        .undeliverable()
        .iter()
        .filter(|u| u.message == message)
        .map(|u| (u.name.clone(), u.reason.clone()))
        .collect();
    assert_eq!(
        reasons,
        [
            (
                "b".to_owned(),
                UnreachableReason::NoPath {
                    kernel_id: "b".into()
                }
            ),
            ("zz".to_owned(), UnreachableReason::Unknown),
        ]
    );
}
