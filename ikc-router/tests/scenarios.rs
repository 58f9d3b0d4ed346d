//! The scenarios the issue lists, in the simulated mesh: simultaneous
//! dials, join storms, restarts, a genuine duplicate name, a partition and
//! its heal, a flapping link, a weight change that reroutes, Perl leaves.

use std::time::Duration;

use ikc_router::sim::{NodeId, Sim};
use ikc_router::{CloseReason, LinkId, Reach, Route, RouterOutput, Targets, UnreachableReason};

const MS: Duration = Duration::from_millis(1);

fn star(sim: &mut Sim, clients: usize) -> (NodeId, Vec<NodeId>) {
    let server = sim.add_kernel_named("server", &["Server"]);
    let clients: Vec<NodeId> = (0..clients)
        .map(|i| sim.add_kernel_named(&format!("client-{i}"), &[&format!("Client{i}")]))
        .collect();
    (server, clients)
}

fn ups(sim: &Sim, node: NodeId) -> Vec<(String, bool)> {
    sim.notes(node)
        .iter()
        .filter_map(|(_, o)| match o {
            RouterOutput::KernelUp(info) => Some((info.kernel_id.to_string(), info.direct())),
            _ => None,
        })
        .collect()
}

fn downs(sim: &Sim, node: NodeId) -> Vec<String> {
    sim.notes(node)
        .iter()
        .filter_map(|(_, o)| match o {
            RouterOutput::KernelDown(info) => Some(info.kernel_id.to_string()),
            _ => None,
        })
        .collect()
}

fn clashes(sim: &Sim, node: NodeId) -> Vec<String> {
    sim.notes(node)
        .iter()
        .filter_map(|(_, o)| match o {
            RouterOutput::NameClash(clash) => Some(clash.name.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn two_kernels_dialing_each_other_at_once_keep_one_link() {
    let mut sim = Sim::new();
    let a = sim.add_kernel("a");
    let b = sim.add_kernel("b");
    let ab = sim.connect(a, b, MS);
    let ba = sim.connect(b, a, MS);
    sim.run_until_quiet();
    // The link dialed by the smaller ID ("a") survives, at both ends.
    assert!(sim.wire_up(ab));
    assert!(!sim.wire_up(ba));
    sim.check_converged().unwrap();
    for node in [a, b] {
        assert_eq!(sim.router(node).unwrap().links().len(), 1);
        assert!(sim.errors(node).is_empty(), "{:?}", sim.errors(node));
        let closes: Vec<_> = sim
            .notes(node)
            .iter()
            .filter(|(_, o)| {
                matches!(
                    o,
                    RouterOutput::CloseLink {
                        reason: CloseReason::DuplicateLink { .. },
                        ..
                    }
                )
            })
            .collect();
        assert_eq!(closes.len(), 1);
    }
    // Each saw the other come up once, directly, and never go.
    assert_eq!(ups(&sim, a), [("b".to_owned(), true)]);
    assert_eq!(ups(&sim, b), [("a".to_owned(), true)]);
    assert!(downs(&sim, a).is_empty() && downs(&sim, b).is_empty());
}

#[test]
fn two_clients_joining_one_server_at_once_see_each_other_routed() {
    let mut sim = Sim::new();
    let (server, clients) = star(&mut sim, 2);
    for &client in &clients {
        sim.connect(client, server, MS);
    }
    sim.run_until_quiet();
    sim.check_converged().unwrap();
    let c0 = sim.router(clients[0]).unwrap();
    assert!(matches!(c0.route("Client1"), Ok(Route::Link { .. })));
    let mut seen = ups(&sim, clients[0]);
    seen.sort();
    assert_eq!(
        seen,
        [("client-1".to_owned(), false), ("server".to_owned(), true)]
    );
    let message = sim.send(
        clients[0],
        Targets::All {
            include_local: true,
        },
    );
    sim.run_until_quiet();
    let mut got = sim.receivers(message).to_vec();
    got.sort();
    assert_eq!(got, [server, clients[0], clients[1]]);
}

#[test]
fn a_hundred_clients_joining_at_once_converge() {
    let mut sim = Sim::new();
    let (server, clients) = star(&mut sim, 100);
    for &client in &clients {
        sim.connect(client, server, MS);
    }
    sim.run_until_quiet();
    sim.check_converged().unwrap();
    for node in std::iter::once(server).chain(clients.iter().copied()) {
        assert!(sim.errors(node).is_empty());
        assert!(clashes(&sim, node).is_empty());
    }
    let message = sim.send(
        clients[7],
        Targets::All {
            include_local: false,
        },
    );
    sim.run_until_quiet();
    assert_eq!(sim.receivers(message).len(), 100);
}

#[test]
fn a_restart_under_the_same_id_replaces_the_old_kernel() {
    let mut sim = Sim::new();
    let a = sim.add_kernel_named("a", &["A"]);
    let b = sim.add_kernel_named("b", &["B"]);
    let c = sim.add_kernel_named("c", &["C"]);
    sim.connect(a, b, MS);
    sim.connect(b, c, MS);
    sim.run_until_quiet();
    let first = sim.router(c).unwrap().incarnation();
    sim.clear_notes();
    sim.stop(c);
    sim.run_until_quiet();
    sim.restart(c, None);
    sim.connect(c, b, MS);
    sim.run_until_quiet();
    sim.check_converged().unwrap();
    let kernels = sim.router(a).unwrap().kernels();
    let entry = kernels.iter().find(|k| k.kernel_id == "c").unwrap();
    assert_ne!(entry.incarnation, Some(first));
    assert_eq!(
        entry.incarnation,
        Some(sim.router(c).unwrap().incarnation())
    );
    assert_eq!(downs(&sim, a), ["c"]);
    assert_eq!(ups(&sim, a), [("c".to_owned(), false)]);
    assert!(clashes(&sim, a).is_empty());
}

#[test]
fn a_restart_under_a_new_id_keeps_the_name() {
    let mut sim = Sim::new();
    let a = sim.add_kernel_named("a", &["A"]);
    let b = sim.add_kernel_named("b", &["B"]);
    let c = sim.add_kernel_named("c-1", &["C"]);
    sim.connect(a, b, MS);
    sim.connect(b, c, MS);
    sim.run_until_quiet();
    sim.stop(c);
    sim.run_until_quiet();
    sim.restart(c, Some("c-2"));
    sim.connect(c, a, MS);
    sim.run_until_quiet();
    sim.check_converged().unwrap();
    for node in [a, b] {
        assert!(clashes(&sim, node).is_empty());
        assert_eq!(
            sim.router(node).unwrap().resolve("C").map(|k| k.as_str()),
            Some("c-2")
        );
    }
}

#[test]
fn a_genuine_duplicate_name_is_refused_on_both_sides() {
    let mut sim = Sim::new();
    let a = sim.add_kernel_named("a", &["Server"]);
    let b = sim.add_kernel_named("b", &["Hub"]);
    let c = sim.add_kernel_named("c", &["Server"]);
    sim.connect(a, b, MS);
    sim.run_until_quiet();
    let wire = sim.connect(c, b, MS);
    sim.run_until_quiet();
    assert!(!sim.wire_up(wire));
    assert_eq!(clashes(&sim, b), ["Server"]);
    assert_eq!(clashes(&sim, c), ["Server"]);
    assert!(sim.notes(c).iter().any(|(_, o)| matches!(
        o,
        RouterOutput::Error {
            error: ikc_router::RouterError::Refused { .. },
            ..
        }
    )));
    // a never heard of c; the name still means a.
    assert_eq!(
        sim.router(b).unwrap().resolve("Server").map(|k| k.as_str()),
        Some("a")
    );
    sim.check_converged().unwrap();
}

#[test]
fn a_duplicate_name_met_through_the_mesh_is_reported_and_not_routed() {
    let mut sim = Sim::new();
    let a = sim.add_kernel_named("a", &["Server"]);
    let b = sim.add_kernel_named("b", &[]);
    let c = sim.add_kernel_named("c", &[]);
    let d = sim.add_kernel_named("d", &["Server"]);
    // Two halves formed apart, then joined by b-c.
    sim.connect(a, b, MS);
    sim.connect(c, d, MS);
    sim.run_until_quiet();
    sim.connect(b, c, MS);
    sim.run_until_quiet();
    assert!(clashes(&sim, b).contains(&"Server".to_owned()));
    let err = sim.router(b).unwrap().route("Server").unwrap_err();
    assert!(matches!(err.reason, UnreachableReason::Ambiguous { .. }));
    let message = sim.send_to(b, &["Server"]);
    sim.run_until_quiet();
    assert!(sim.receivers(message).is_empty());
    assert!(sim.undeliverable().iter().any(|u| u.message == message));
}

#[test]
fn a_partition_and_its_heal() {
    let mut sim = Sim::new();
    let nodes: Vec<NodeId> = (0..6).map(|i| sim.add_kernel(&format!("k{i}"))).collect();
    // Two triangles joined by one bridge.
    for (x, y) in [(0, 1), (1, 2), (2, 0), (3, 4), (4, 5), (5, 3)] {
        sim.connect(nodes[x], nodes[y], MS);
    }
    let bridge = sim.connect(nodes[2], nodes[3], MS);
    sim.run_until_quiet();
    sim.check_converged().unwrap();
    sim.disconnect(bridge);
    sim.run_until_quiet();
    sim.check_converged().unwrap();
    assert_eq!(sim.router(nodes[0]).unwrap().routes().len(), 2);
    let message = sim.send_to(nodes[0], &["k1", "k4"]);
    sim.run_until_quiet();
    assert_eq!(sim.receivers(message), [nodes[1]]);
    let lost: Vec<_> = sim
        .undeliverable()
        .iter()
        .filter(|u| u.message == message)
        .collect();
    assert_eq!(lost.len(), 1);
    assert_eq!(lost[0].name, "k4");
    assert!(matches!(lost[0].reason, UnreachableReason::NoPath { .. }));
    sim.connect(nodes[1], nodes[4], MS);
    sim.run_until_quiet();
    sim.check_converged().unwrap();
    let message = sim.send(
        nodes[0],
        Targets::All {
            include_local: true,
        },
    );
    sim.run_until_quiet();
    assert_eq!(sim.receivers(message).len(), 6);
}

#[test]
fn a_flapping_link_settles() {
    let mut sim = Sim::new();
    let nodes: Vec<NodeId> = (0..4).map(|i| sim.add_kernel(&format!("k{i}"))).collect();
    sim.connect(nodes[0], nodes[1], MS);
    sim.connect(nodes[1], nodes[2], MS);
    sim.connect(nodes[2], nodes[3], MS);
    sim.run_until_quiet();
    for round in 0..20 {
        let wire = sim.connect(nodes[3], nodes[0], MS);
        if round % 3 == 0 {
            sim.run_until_quiet();
        } else {
            sim.advance(MS / 2);
        }
        sim.disconnect(wire);
    }
    sim.run_until_quiet();
    sim.check_converged().unwrap();
    let routes = sim.router(nodes[0]).unwrap().routes();
    assert_eq!(routes.iter().find(|r| r.kernel_id == "k3").unwrap().hops, 3);
    for &node in &nodes {
        assert!(sim.errors(node).is_empty(), "{:?}", sim.errors(node));
    }
}

#[test]
fn a_slower_link_moves_routes() {
    let mut sim = Sim::new();
    let nodes: Vec<NodeId> = (0..4).map(|i| sim.add_kernel(&format!("k{i}"))).collect();
    // A square: k0-k1-k2 and k0-k3-k2.
    let w01 = sim.connect(nodes[0], nodes[1], MS);
    sim.connect(nodes[1], nodes[2], MS);
    sim.connect(nodes[0], nodes[3], MS);
    sim.connect(nodes[3], nodes[2], MS);
    sim.advance(Duration::from_secs(10));
    sim.check_converged().unwrap();
    let via = |sim: &Sim| {
        let routes = sim.router(nodes[0]).unwrap().routes();
        routes
            .into_iter()
            .find(|r| r.kernel_id == "k2")
            .unwrap()
            .via
            .to_string()
    };
    // Equal costs: the tie goes to the smaller neighbour ID.
    assert_eq!(via(&sim), "k1");
    // k0-k1 becomes slow: 20 ms each way.
    sim.set_latency(w01, 20 * MS);
    sim.advance(Duration::from_secs(60));
    sim.check_converged().unwrap();
    assert_eq!(via(&sim), "k3");
    let link = sim
        .router(nodes[0])
        .unwrap()
        .links()
        .into_iter()
        .find(|l| l.peer == "k1")
        .unwrap();
    assert!(link.smoothed_rtt.unwrap() > 30 * MS);
}

#[test]
fn a_fixed_weight_reroutes() {
    let mut sim = Sim::new();
    let nodes: Vec<NodeId> = (0..4).map(|i| sim.add_kernel(&format!("k{i}"))).collect();
    let w01 = sim.connect(nodes[0], nodes[1], MS);
    sim.connect(nodes[1], nodes[2], MS);
    sim.connect(nodes[0], nodes[3], MS);
    sim.connect(nodes[3], nodes[2], MS);
    sim.run_until_quiet();
    let link: LinkId = sim.wire_links(w01)[0].1;
    let now = sim.now();
    sim.router_mut(nodes[0])
        .unwrap()
        .set_link_weight(link, Some(1000), now)
        .unwrap();
    sim.drain(nodes[0]);
    sim.run_until_quiet();
    let route = sim.router(nodes[0]).unwrap().routes();
    let to_k2 = route.iter().find(|r| r.kernel_id == "k2").unwrap();
    assert_eq!(to_k2.via, "k3");
    // k1 itself is now cheaper through k3 and k2 than directly.
    let to_k1 = route.iter().find(|r| r.kernel_id == "k1").unwrap();
    assert_eq!(to_k1.hops, 3);
    assert!(matches!(
        sim.router(nodes[0])
            .unwrap()
            .kernels()
            .iter()
            .find(|k| k.kernel_id == "k1")
            .unwrap()
            .reach,
        Some(Reach::Routed { .. })
    ));
}

#[test]
fn perl_leaves_are_reached_through_their_neighbour_and_never_sent_routing() {
    let mut sim = Sim::new();
    let a = sim.add_kernel_named("a", &["A"]);
    let b = sim.add_kernel_named("b", &["B"]);
    let perl = sim.add_leaf("perl-1", &["Perl"]);
    sim.connect(a, b, MS);
    sim.connect(perl, b, MS);
    sim.run_until_quiet();
    sim.check_converged().unwrap();
    assert!(matches!(
        sim.router(a).unwrap().route("Perl"),
        Ok(Route::Link { .. })
    ));
    let message = sim.send(
        a,
        Targets::All {
            include_local: true,
        },
    );
    sim.run_until_quiet();
    let mut got = sim.receivers(message).to_vec();
    got.sort();
    assert_eq!(got, [a, b, perl]);
    // The leaf's own send goes through its neighbour.
    let message = sim.send_to(perl, &["A"]);
    sim.run_until_quiet();
    assert_eq!(sim.receivers(message), [a]);
}

#[test]
fn a_silent_peer_is_closed_as_unresponsive() {
    let mut sim = Sim::new().with_config(|c| {
        c.probe_interval = Duration::from_secs(1);
        c.link_timeout = Some(Duration::from_secs(5));
    });
    let a = sim.add_kernel("a");
    let b = sim.add_kernel("b");
    let wire = sim.connect(a, b, MS);
    sim.run_until_quiet();
    sim.advance(Duration::from_secs(30));
    assert!(sim.wire_up(wire), "probes keep a live link open");
    // b freezes: it stops answering, but the TCP connection stays (half-open).
    sim.set_latency(wire, Duration::from_secs(3600));
    sim.advance(Duration::from_secs(30));
    assert!(!sim.wire_up(wire));
    assert!(sim.notes(a).iter().any(|(_, o)| matches!(
        o,
        RouterOutput::CloseLink {
            reason: CloseReason::Unresponsive,
            ..
        }
    )));
}

#[test]
fn hop_limit_is_reported() {
    let mut sim = Sim::new().with_config(|c| c.hop_limit = 3);
    let nodes: Vec<NodeId> = (0..6).map(|i| sim.add_kernel(&format!("k{i}"))).collect();
    for i in 0..5 {
        sim.connect(nodes[i], nodes[i + 1], MS);
    }
    sim.run_until_quiet();
    let message = sim.send_to(nodes[0], &["k2", "k5"]);
    sim.run_until_quiet();
    assert_eq!(sim.receivers(message), [nodes[2]]);
    let lost: Vec<_> = sim
        .undeliverable()
        .iter()
        .filter(|u| u.message == message)
        .collect();
    assert_eq!(lost.len(), 1);
    assert_eq!(lost[0].name, "k5");
    assert_eq!(lost[0].reason, UnreachableReason::HopLimit { limit: 3 });
}

/// The routes `node`'s router announced, in order: (kernel, neighbour, hops).
fn route_changes(sim: &Sim, node: NodeId) -> Vec<(String, String, u32)> {
    sim.notes(node)
        .iter()
        .filter_map(|(_, o)| match o {
            RouterOutput::RouteChanged(route) => Some((
                route.kernel_id.to_string(),
                route.via.to_string(),
                route.hops,
            )),
            _ => None,
        })
        .collect()
}

#[test]
fn a_route_that_changes_is_announced_once_per_change() {
    let mut sim = Sim::new();
    let a = sim.add_kernel("a");
    let b = sim.add_kernel("b");
    let c = sim.add_kernel("c");
    sim.connect(a, b, MS);
    sim.connect(b, c, MS);
    let ac = sim.connect(a, c, MS);
    sim.run_until_quiet();
    sim.check_converged().unwrap();
    // The last route announced for each kernel is the route it has.
    let first = route_changes(&sim, a);
    for (kernel, via) in [("b", "b"), ("c", "c")] {
        let last = first.iter().rev().find(|r| r.0 == kernel);
        assert_eq!(
            last,
            Some(&(kernel.to_owned(), via.to_owned(), 1)),
            "{first:?}"
        );
    }
    sim.clear_notes();
    // The direct link goes: c is reached through b, and a says so once.
    sim.disconnect(ac);
    sim.run_until_quiet();
    let changes = route_changes(&sim, a);
    assert_eq!(changes, [("c".to_owned(), "b".to_owned(), 2)]);
    // Time passes, probes measure the links: no change, no announcement.
    sim.clear_notes();
    sim.advance(Duration::from_secs(30));
    sim.run_until_quiet();
    assert!(
        route_changes(&sim, a).is_empty(),
        "{:?}",
        route_changes(&sim, a)
    );
    // The link is back: the route is direct again.
    sim.connect(a, c, MS);
    sim.run_until_quiet();
    assert_eq!(
        route_changes(&sim, a),
        [("c".to_owned(), "c".to_owned(), 1)]
    );
}
