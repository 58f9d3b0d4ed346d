//! The routed mesh over real sockets on 127.0.0.1: kernels on threads in
//! one process, joined in rings, chords and meshes, posting to each other
//! by name through the kernels between them.
//!
//! The waits are hang guards, never a way to order events: each test
//! waits for the notes it expects (registrations, deliveries, answers).

use std::collections::BTreeMap;
use std::time::Duration;

use ikc_examples::mesh::{Events, Node};
use ikc_freezer::Value;
use ikc_tests::Relay;

/// The hang guard.
const WAIT: Duration = Duration::from_secs(60);

/// Start `n` nodes named `{prefix}{i}`.
fn nodes(prefix: &str, n: usize, events: &Events) -> Vec<Node> {
    (0..n)
        .map(|i| Node::start(&format!("{prefix}{i}"), events).expect("node starts"))
        .collect()
}

/// Link `a` to `b` (a dials b), waiting for the link.
fn link(nodes: &[Node], events: &mut Events, a: usize, b: usize) {
    dial(&nodes[a], events, nodes[b].port, None);
}

/// `node` dials `port` (with the link's weight fixed, if given), waiting
/// for the link.
fn dial(node: &Node, events: &mut Events, port: u16, weight: Option<u32>) {
    match weight {
        Some(w) => node.connect_weighted(port, w).unwrap(),
        None => node.connect(port).unwrap(),
    }
    let port = i64::from(port);
    let name = node.name.clone();
    events
        .wait(WAIT, |e| {
            e.node == name
                && e.what == "linked"
                && e.args.first().and_then(Value::as_i64) == Some(port)
        })
        .unwrap();
}

/// Wait until every node has seen every other one register.
fn converge(nodes: &[Node], events: &mut Events) {
    let n = nodes.len();
    let mut seen: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let ids: Vec<String> = nodes.iter().map(|n| n.kernel_id.clone()).collect();
    while seen.values().map(Vec::len).sum::<usize>() < n * (n - 1) {
        let ev = events
            .wait(WAIT, |e| e.what == "register")
            .unwrap_or_else(|e| panic!("converging: {e}; seen {seen:?}"));
        let id = ev.text(0);
        if ids.contains(&id) {
            let list = seen.entry(ev.node.clone()).or_default();
            if !list.contains(&id) {
                list.push(id);
            }
        }
    }
}

/// Every `hello` note with `tag`, by node.
fn hellos(events: &mut Events, n: usize, tag: &str) -> BTreeMap<String, usize> {
    let got = events
        .wait_n(n, WAIT, |e| e.what == "hello" && e.text(0) == tag)
        .unwrap();
    let mut by: BTreeMap<String, usize> = BTreeMap::new();
    for e in got {
        *by.entry(e.node).or_default() += 1;
    }
    by
}

/// A marker sent the same ways after a broadcast: once it has reached
/// every node, any duplicate of the broadcast would have arrived too (each
/// copy of the marker takes the path its broadcast copy took).
fn settle(nodes: &[Node], events: &mut Events, from: usize, tag: &str) {
    nodes[from].post("poe://*/node/other", tag).unwrap();
    events
        .wait_n(nodes.len(), WAIT, |e| e.what == "other" && e.text(0) == tag)
        .unwrap();
}

fn ring_with_chords(n: usize, chords: &[(usize, usize)]) -> (Vec<Node>, Events) {
    let mut events = Events::new();
    let nodes = nodes("k", n, &events);
    for i in 0..n {
        link(&nodes, &mut events, i, (i + 1) % n);
    }
    for &(a, b) in chords {
        link(&nodes, &mut events, a, b);
    }
    converge(&nodes, &mut events);
    (nodes, events)
}

#[test]
fn ten_kernels_in_a_ring_with_chords() {
    let (nodes, mut events) = ring_with_chords(10, &[(0, 5), (2, 7), (3, 8)]);

    // IKC's `*` (the IKC API): every kernel of the mesh, this one
    // included, exactly once.
    nodes[0].post("poe://*/node/hello", "star").unwrap();
    let posted = events.wait(WAIT, |e| e.what == "posted").unwrap();
    assert_eq!(
        posted.args[0],
        Value::from(10),
        "kernels reached: {posted:?}"
    );
    let by = hellos(&mut events, 10, "star");
    assert_eq!(by.len(), 10, "{by:?}");
    settle(&nodes, &mut events, 0, "after-star");
    assert!(events.drain(|e| e.what == "hello").is_empty());

    // Through the kernel (Lightspeed's interface): `*` is every other kernel.
    nodes[4].post_to("poe://*/node/hello", "ls-star").unwrap();
    let by = hellos(&mut events, 9, "ls-star");
    assert!(!by.contains_key("k4"), "{by:?}");
    assert_eq!(by.len(), 9, "{by:?}");

    // A list of kernels, some far away: one copy each.
    nodes[1]
        .post("poe://k6,k9,k1,k6/node/hello", "list")
        .unwrap();
    let by = hellos(&mut events, 3, "list");
    assert_eq!(by.keys().cloned().collect::<Vec<_>>(), ["k1", "k6", "k9"]);

    // A call across several hops, and its answer back.
    nodes[1].call("poe://k6/node/echo", "ping-k6").unwrap();
    let answer = events.wait(WAIT, |e| e.what == "answer").unwrap();
    assert_eq!(
        (answer.node.as_str(), answer.text(0).as_str()),
        ("k1", "ping-k6")
    );

    // Sessions: a list and `*` at a far kernel.
    nodes[0]
        .post("poe://k5/node,driver/hello", "sessions")
        .unwrap();
    let sessions = events
        .wait(WAIT, |e| {
            e.what == "error" || (e.what == "hello" && e.text(0) == "sessions")
        })
        .unwrap();
    assert_eq!(sessions.node, "k5", "{sessions:?}");
    nodes[0].post("poe://k5/*/other", "every-session").unwrap();
    events
        .wait(WAIT, |e| e.what == "other" && e.text(0) == "every-session")
        .unwrap();

    // A kernel nobody has: reported, as IKC reports an unknown kernel.
    nodes[0].post("poe://nowhere/node/hello", "lost").unwrap();
    let err = events
        .wait(WAIT, |e| {
            e.node == "k0" && e.what == "error" && e.text(1).contains("nowhere")
        })
        .unwrap();
    assert!(err.text(1).contains("Unknown kernel"), "{err:?}");
    settle(&nodes, &mut events, 3, "end");
    assert!(events.drain(|e| e.what == "hello").is_empty());
}

#[test]
fn a_cut_link_reroutes_and_a_partition_heals() {
    let (nodes, mut events) = ring_with_chords(5, &[]);
    // k0-k1 goes: k1 is still reached, the other way round the ring.
    nodes[0].cut("k1").unwrap();
    let k1 = nodes[1].kernel_id.clone();
    let k0 = nodes[0].kernel_id.clone();
    events
        .wait(WAIT, |e| {
            e.node == "k0" && e.what == "unregister" && e.text(0) == k1
        })
        .unwrap();
    events
        .wait(WAIT, |e| {
            e.node == "k1" && e.what == "unregister" && e.text(0) == k0
        })
        .unwrap();
    nodes[0].call("poe://k1/node/echo", "rerouted").unwrap();
    let answer = events
        .wait(WAIT, |e| e.what == "answer" && e.text(0) == "rerouted")
        .unwrap();
    assert_eq!(answer.node, "k0");
    // k2-k3 goes too: {k1, k2} and {k3, k4, k0} are apart.
    nodes[2].cut("k3").unwrap();
    events
        .wait(WAIT, |e| {
            e.node == "k0" && e.what == "unregister" && e.text(0) == nodes[2].kernel_id
        })
        .unwrap();
    nodes[0].post("poe://k2/node/hello", "partitioned").unwrap();
    events
        .wait(WAIT, |e| {
            e.node == "k0" && e.what == "error" && e.text(1).contains("k2")
        })
        .unwrap();
    // Heal: k2 dials k3 again.
    link(&nodes, &mut events, 2, 3);
    events
        .wait(WAIT, |e| {
            e.node == "k0" && e.what == "register" && e.text(0) == nodes[2].kernel_id
        })
        .unwrap();
    nodes[0].call("poe://k2/node/echo", "healed").unwrap();
    events
        .wait(WAIT, |e| e.what == "answer" && e.text(0) == "healed")
        .unwrap();
    assert!(events.drain(|e| e.what == "hello").is_empty());
}

#[test]
fn routed_kernels_register_with_a_flag() {
    let mut events = Events::new();
    let nodes = nodes("r", 3, &events);
    link(&nodes, &mut events, 0, 1);
    link(&nodes, &mut events, 1, 2);
    let far = events
        .wait(WAIT, |e| {
            e.node == "r0" && e.what == "register" && e.text(0) == nodes[2].kernel_id
        })
        .unwrap();
    assert_eq!(far.text(1), "routed");
    let near = events
        .wait(WAIT, |e| {
            e.node == "r0" && e.what == "register" && e.text(0) == nodes[1].kernel_id
        })
        .unwrap();
    assert_eq!(near.text(1), "direct");
    // r2 goes away: r0 hears it unregister, routed.
    let mut nodes = nodes;
    let r2 = nodes.pop().unwrap();
    let id = r2.kernel_id.clone();
    r2.stop().unwrap();
    let gone = events
        .wait(WAIT, |e| {
            e.node == "r0" && e.what == "unregister" && e.text(0) == id
        })
        .unwrap();
    assert_eq!(gone.text(1), "routed");
}

#[test]
fn two_kernels_dialing_each_other_at_once_keep_one_link() {
    let mut events = Events::new();
    let nodes = nodes("d", 2, &events);
    nodes[0].connect(nodes[1].port).unwrap();
    nodes[1].connect(nodes[0].port).unwrap();
    converge(&nodes, &mut events);
    for round in 0..3 {
        let tag = format!("both-{round}");
        nodes[0].post("poe://d1/node/hello", tag.as_str()).unwrap();
        nodes[1].post("poe://d0/node/hello", tag.as_str()).unwrap();
        let by = hellos(&mut events, 2, &tag);
        assert_eq!(by.len(), 2, "{by:?}");
    }
    nodes[0].post("poe://*/node/hello", "star").unwrap();
    assert_eq!(hellos(&mut events, 2, "star").len(), 2);
    settle(&nodes, &mut events, 0, "end");
    assert!(events.drain(|e| e.what == "hello").is_empty());
}

#[test]
fn clients_joining_one_server_at_once() {
    for n in [2, 100] {
        let mut events = Events::new();
        let hub = Node::start("hub", &events).unwrap();
        let leaves = nodes(&format!("j{n}-"), n, &events);
        for leaf in &leaves {
            leaf.connect(hub.port).unwrap();
        }
        let mut all = vec![hub];
        all.extend(leaves);
        converge(&all, &mut events);
        all[1].post("poe://*/node/hello", "storm").unwrap();
        assert_eq!(hellos(&mut events, n + 1, "storm").len(), n + 1);
    }
}

#[test]
fn a_kernel_restarted_under_its_name_is_reached_again() {
    let mut events = Events::new();
    let mut nodes = nodes("s", 3, &events);
    link(&nodes, &mut events, 0, 1);
    link(&nodes, &mut events, 1, 2);
    converge(&nodes, &mut events);
    let old = nodes.pop().unwrap();
    let old_id = old.kernel_id.clone();
    old.stop().unwrap();
    events
        .wait(WAIT, |e| {
            e.node == "s0" && e.what == "unregister" && e.text(0) == old_id
        })
        .unwrap();
    let new = Node::start("s2", &events).unwrap();
    assert_ne!(new.kernel_id, old_id);
    nodes.push(new);
    link(&nodes, &mut events, 2, 1);
    let new_id = nodes[2].kernel_id.clone();
    events
        .wait(WAIT, |e| {
            e.node == "s0" && e.what == "register" && e.text(0) == new_id
        })
        .unwrap();
    nodes[0].call("poe://s2/node/echo", "again").unwrap();
    events
        .wait(WAIT, |e| e.what == "answer" && e.text(0) == "again")
        .unwrap();
}

#[test]
fn a_genuine_duplicate_name_is_refused_and_reported() {
    let mut events = Events::new();
    let a = Node::start("Dup", &events).unwrap();
    let hub = Node::start("hub", &events).unwrap();
    let b = Node::start("Dup", &events).unwrap();
    let nodes = vec![a, hub, b];
    link(&nodes, &mut events, 0, 1);
    nodes[1].post("poe://Dup/node/hello", "first").unwrap();
    events
        .wait(WAIT, |e| {
            e.node == "Dup" && e.what == "hello" && e.text(0) == "first"
        })
        .unwrap();
    nodes[2].connect(nodes[1].port).unwrap();
    let clash = events
        .wait(WAIT, |e| e.what == "error" && e.text(1).contains("Dup"))
        .unwrap();
    assert!(
        clash.text(0).contains("clash") || clash.text(1).contains("claim"),
        "{clash:?}"
    );
    // The first Dup keeps its name: posts still reach it, once.
    nodes[1].post("poe://Dup/node/hello", "still").unwrap();
    let got = events
        .wait(WAIT, |e| e.what == "hello" && e.text(0) == "still")
        .unwrap();
    assert_eq!(got.node, "Dup");
}

#[test]
fn fifty_kernels_in_a_mesh() {
    let n = 50;
    let mut events = Events::new();
    let nodes = nodes("m", n, &events);
    // A tree plus chords: every kernel dials one before it, and every
    // fifth one more.
    for i in 1..n {
        link(&nodes, &mut events, i, (i - 1) / 2);
        if i % 5 == 0 {
            link(&nodes, &mut events, i, i - 3);
        }
    }
    converge(&nodes, &mut events);
    nodes[17].post("poe://*/node/hello", "fifty").unwrap();
    let by = hellos(&mut events, n, "fifty");
    assert_eq!(by.len(), n);
    nodes[49].call("poe://m0/node/echo", "far").unwrap();
    events
        .wait(WAIT, |e| e.what == "answer" && e.text(0) == "far")
        .unwrap();
    settle(&nodes, &mut events, 17, "end");
    assert!(events.drain(|e| e.what == "hello").is_empty());
}

/// Wait until `node`'s route to `kernel` is what `want` accepts, and
/// return it. The router's table is read again each time the node's
/// monitor reports a new route to `kernel` (`route` events), so no pause
/// is needed; the deadline is the hang guard.
fn wait_route(
    node: &Node,
    events: &mut Events,
    kernel: &str,
    want: impl Fn(Option<&(String, u32)>) -> bool,
) -> Option<(String, u32)> {
    let is_news = |e: &ikc_examples::mesh::MeshEvent| {
        e.node == node.name && (e.what == "route" || e.what == "unregister") && e.text(0) == kernel
    };
    loop {
        // News already heard is older than the table read next.
        events.drain(is_news);
        let route = node.route(kernel).unwrap();
        if want(route.as_ref()) {
            return route;
        }
        events.wait(WAIT, is_news).unwrap_or_else(|e| {
            panic!(
                "{}: the route to {kernel} is still {route:?}: {e}",
                node.name
            )
        });
    }
}

/// `Some((via, hops))` as a route.
fn through(via: &str, hops: u32) -> impl Fn(Option<&(String, u32)>) -> bool {
    let via = via.to_owned();
    move |r| r.is_some_and(|(v, h)| *v == via && *h == hops)
}

#[test]
fn a_route_follows_a_configured_weight() {
    let mut events = Events::new();
    let nodes = nodes("w", 3, &events);
    // w0-w1 directly, over a link configured to weigh 1000 (at w0's end
    // only), and w0-w2-w1 over two measured links (about 100 each).
    dial(&nodes[0], &mut events, nodes[1].port, Some(1000));
    link(&nodes, &mut events, 0, 2);
    link(&nodes, &mut events, 2, 1);
    converge(&nodes, &mut events);
    let (w0, w1, w2) = (
        &nodes[0].kernel_id,
        &nodes[1].kernel_id,
        &nodes[2].kernel_id,
    );
    wait_route(&nodes[0], &mut events, w1, through(w2, 2));
    // w1 took the weight from w0's hello: it goes round too.
    wait_route(&nodes[1], &mut events, w0, through(w2, 2));
    nodes[0].call("poe://w1/node/echo", "around").unwrap();
    let answer = events
        .wait(WAIT, |e| e.what == "answer" && e.text(0) == "around")
        .unwrap();
    assert_eq!(answer.node, "w0");
    // Its neighbour across the heavy link is still registered `direct`.
    assert!(
        nodes[0]
            .route(w2)
            .unwrap()
            .is_some_and(|(v, h)| v == *w2 && h == 1)
    );
}

#[test]
fn a_link_that_gets_slower_loses_its_route() {
    let mut events = Events::new();
    let nodes = nodes("v", 3, &events);
    // v0 reaches v1 through a relay (a measured link), and through v2
    // over two links fixed at 300 each.
    let relay = Relay::start(nodes[1].port).unwrap();
    dial(&nodes[0], &mut events, relay.port, None);
    dial(&nodes[0], &mut events, nodes[2].port, Some(300));
    dial(&nodes[2], &mut events, nodes[1].port, Some(300));
    converge(&nodes, &mut events);
    let (v0, v1, v2) = (
        &nodes[0].kernel_id,
        &nodes[1].kernel_id,
        &nodes[2].kernel_id,
    );
    wait_route(&nodes[0], &mut events, v1, through(v1, 1));
    nodes[0].call("poe://v1/node/echo", "direct").unwrap();
    events
        .wait(WAIT, |e| e.what == "answer" && e.text(0) == "direct")
        .unwrap();
    // The fault: the relay holds what it passes for 300 ms each way. The
    // probes measure it, and the weight (100 + one per 100 µs of smoothed
    // round trip) passes the 600 of the way round.
    relay.set_delay(Duration::from_millis(300));
    wait_route(&nodes[0], &mut events, v1, through(v2, 2));
    wait_route(&nodes[1], &mut events, v0, through(v2, 2));
    nodes[0].call("poe://v1/node/echo", "rerouted").unwrap();
    events
        .wait(WAIT, |e| e.what == "answer" && e.text(0) == "rerouted")
        .unwrap();
    relay.set_delay(Duration::ZERO);
}

/// Wait for `node`'s monitor to report `what` (`register`/`unregister`)
/// for `kernel` with the flag `how` (`direct`/`routed`).
fn wait_monitor(events: &mut Events, node: &str, what: &str, kernel: &str, how: &str) {
    events
        .wait(WAIT, |e| {
            e.node == node && e.what == what && e.text(0) == kernel && e.text(1) == how
        })
        .unwrap_or_else(|e| panic!("{node}: no {what} {how} of {kernel}: {e}"));
}

#[test]
fn a_flapping_link_settles_and_loses_nothing() {
    let (nodes, mut events) = ring_with_chords(4, &[]);
    // Let the ring settle first: once every kernel routes to its two
    // neighbours directly, the monitors have heard all the ring's
    // building (a neighbour first reached the other way round, then
    // directly, is registered `routed`, then `direct`).
    for (i, node) in nodes.iter().enumerate() {
        for j in [(i + 1) % 4, (i + 3) % 4] {
            let id = &nodes[j].kernel_id;
            wait_route(node, &mut events, id, through(id, 1));
        }
    }
    events.drain(|e| e.what == "register" || e.what == "unregister");
    let (k0, k1) = (nodes[0].kernel_id.clone(), nodes[1].kernel_id.clone());
    let rounds = 5;
    for round in 0..rounds {
        // Down: each end unregisters the other as a neighbour and
        // registers it again as reached through k2 and k3.
        nodes[0].cut("k1").unwrap();
        for (node, other) in [("k0", &k1), ("k1", &k0)] {
            wait_monitor(&mut events, node, "unregister", other, "direct");
            wait_monitor(&mut events, node, "register", other, "routed");
        }
        nodes[0]
            .post("poe://k1/node/hello", format!("down-{round}-a"))
            .unwrap();
        nodes[1]
            .post("poe://k0/node/hello", format!("down-{round}-b"))
            .unwrap();
        // Up again: a neighbour once more, no longer routed. The routed
        // registration ends before the direct one starts, so the last word
        // a monitor hears says the kernel is there.
        link(&nodes, &mut events, 0, 1);
        for (node, other) in [("k0", &k1), ("k1", &k0)] {
            wait_monitor(&mut events, node, "register", other, "direct");
            let ended =
                events.drain(|e| e.node == node && e.what == "unregister" && e.text(0) == *other);
            assert_eq!(ended.len(), 1, "{node}: {ended:?}");
            assert_eq!(ended[0].text(1), "routed", "{node}: {ended:?}");
        }
        nodes[0]
            .post("poe://k1/node/hello", format!("up-{round}-a"))
            .unwrap();
        nodes[1]
            .post("poe://k0/node/hello", format!("up-{round}-b"))
            .unwrap();
    }
    // Every message arrived once, where it was sent.
    let got = events
        .wait_n(4 * rounds, WAIT, |e| {
            e.what == "hello" && (e.text(0).starts_with("down-") || e.text(0).starts_with("up-"))
        })
        .unwrap();
    let mut tags: Vec<(String, String)> = got.iter().map(|e| (e.text(0), e.node.clone())).collect();
    tags.sort();
    tags.dedup();
    assert_eq!(tags.len(), 4 * rounds, "{tags:?}");
    for (tag, node) in &tags {
        assert_eq!(node, if tag.ends_with("-a") { "k1" } else { "k0" }, "{tag}");
    }
    settle(&nodes, &mut events, 2, "end");
    assert!(events.drain(|e| e.what == "hello").is_empty());
    // Nobody saw anything else come or go: k2 and k3 never lost k0 or k1.
    let extra = events.drain(|e| e.what == "register" || e.what == "unregister");
    assert!(extra.is_empty(), "{extra:?}");
}

#[test]
fn a_message_past_the_hop_limit_is_reported_to_its_sender() {
    // A chain of 19 kernels: h18 is 18 links from h0, beyond the default
    // limit of 16 kernels passed through.
    let n = 19;
    let mut events = Events::new();
    let nodes = nodes("h", n, &events);
    for i in 1..n {
        link(&nodes, &mut events, i, i - 1);
    }
    converge(&nodes, &mut events);
    // 16 kernels between: still delivered, and answered.
    nodes[0].call("poe://h17/node/echo", "h17").unwrap();
    events
        .wait(WAIT, |e| e.what == "answer" && e.text(0) == "h17")
        .unwrap();
    // 17 between: h17 refuses to pass it on, as IKC reports an unknown
    // kernel: to its own monitors, and as `remote_error` to the sender.
    nodes[0].post("poe://h18/node/hello", "too-far").unwrap();
    let there = events
        .wait(WAIT, |e| {
            e.node == "h17" && e.what == "error" && e.text(1).contains("hops away")
        })
        .unwrap();
    assert!(there.text(1).contains("h18"), "{there:?}");
    let back = events
        .wait(WAIT, |e| {
            e.node == "h0" && e.what == "error" && e.text(1).contains("hops away")
        })
        .unwrap();
    assert!(back.text(1).contains("h18"), "{back:?}");
    settle(&nodes, &mut events, 9, "end");
    assert!(events.drain(|e| e.what == "hello").is_empty());
}

#[test]
fn a_configured_hop_limit_is_kept() {
    // g0 - g1 - g2 - g3 - g4, every kernel limited to 2 kernels passed
    // through: g3 is reached, g4 is refused at g3.
    let n = 5;
    let mut events = Events::new();
    let nodes = nodes("g", n, &events);
    let zero = nodes[0].set_hop_limit(0).unwrap_err().to_string();
    assert!(zero.contains("invalid mesh configuration"), "{zero}");
    for node in &nodes {
        node.set_hop_limit(2).unwrap();
    }
    for i in 1..n {
        link(&nodes, &mut events, i, i - 1);
    }
    converge(&nodes, &mut events);
    let late = nodes[2].set_hop_limit(16).unwrap_err().to_string();
    assert!(late.contains("before any link is up"), "{late}");
    nodes[0].call("poe://g3/node/echo", "g3").unwrap();
    events
        .wait(WAIT, |e| e.what == "answer" && e.text(0) == "g3")
        .unwrap();
    nodes[0].post("poe://g4/node/hello", "too-far").unwrap();
    let there = events
        .wait(WAIT, |e| {
            e.node == "g3" && e.what == "error" && e.text(1).contains("hops away")
        })
        .unwrap();
    assert!(there.text(1).contains("more than 2 hops"), "{there:?}");
    let back = events
        .wait(WAIT, |e| {
            e.node == "g0" && e.what == "error" && e.text(1).contains("hops away")
        })
        .unwrap();
    assert!(back.text(1).contains("g4"), "{back:?}");
    // From the middle: every kernel is within the limit.
    settle(&nodes, &mut events, 2, "end");
    assert!(events.drain(|e| e.what == "hello").is_empty());
}

#[test]
fn subscribe_sender_errors_and_calls_cross_two_kernels() {
    // c0 - c1 - c2 - c3: c1 and c2 lie between c0 and c3.
    let mut events = Events::new();
    let nodes = nodes("c", 4, &events);
    for i in 1..4 {
        link(&nodes, &mut events, i, i - 1);
    }
    converge(&nodes, &mut events);
    // A call: its RSVP answer comes back the same way.
    nodes[0].call("poe://c3/node/echo", "called").unwrap();
    let answer = events
        .wait(WAIT, |e| e.what == "answer" && e.text(0) == "called")
        .unwrap();
    assert_eq!(answer.node, "c0");
    // A proxy SENDER: c3 posts to the SENDER of what c0's driver sent it.
    nodes[0].post("poe://c3/node/reply", "to-sender").unwrap();
    let answer = events
        .wait(WAIT, |e| e.what == "answer" && e.text(0) == "to-sender")
        .unwrap();
    assert_eq!(answer.node, "c0");
    // A subscription: a local proxy of c3's `node` at c0.
    nodes[0].subscribe("poe://c3/node").unwrap();
    let subscribed = events.wait(WAIT, |e| e.what == "subscribed").unwrap();
    assert_eq!(subscribed.node, "c0");
    assert_eq!(
        subscribed.args,
        [Value::Array(vec![Value::from("poe://c3/node")])]
    );
    nodes[0]
        .post_local("poe://c3/node", "hello", "by-proxy")
        .unwrap();
    let hello = events
        .wait(WAIT, |e| e.what == "hello" && e.text(0) == "by-proxy")
        .unwrap();
    assert_eq!(hello.node, "c3");
    // An error at c3 (no such session) comes back as `remote_error`.
    nodes[0].post("poe://c3/nobody/hello", "unheard").unwrap();
    let error = events
        .wait(WAIT, |e| {
            e.node == "c0" && e.what == "error" && e.text(1).contains("nobody")
        })
        .unwrap();
    assert!(error.text(0).starts_with("remote"), "{error:?}");
}
