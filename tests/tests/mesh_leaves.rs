//! Kernels that do not route, as leaves of a Rust mesh: Perl IKC 0.2402
//! (a POE client and ClientLite) two Rust hops from the kernel it talks
//! to, when Perl IKC is installed; and, always, a peer that speaks IKC as
//! Perl does (Storable, no native codec), checking what a leaf is sent.
//!
//! The mesh in every test: `m1 <- m2 <- m3` (m2 dials m1, m3 dials m2);
//! the leaf connects to m1 and talks to m3.

use std::time::Duration;

use ikc_channel::{Message, MessageTarget};
use ikc_examples::mesh::{Events, Node};
use ikc_freezer::Value;
use ikc_specifier::HashForm;
use ikc_tests::perl::perl_command;
use ikc_tests::{Endpoint, Process, RawPeer, perl_ikc_available};

const WAIT: Duration = Duration::from_secs(60);

/// A chain m1 <- m2 <- m3, converged.
fn chain(events: &mut Events) -> Vec<Node> {
    let nodes: Vec<Node> = (1..=3)
        .map(|i| Node::start(&format!("m{i}"), events).unwrap())
        .collect();
    for (a, b) in [(1, 0), (2, 1)] {
        nodes[a].connect(nodes[b].port).unwrap();
        let port = i64::from(nodes[b].port);
        let name = nodes[a].name.clone();
        events
            .wait(WAIT, |e| {
                e.node == name && e.what == "linked" && e.args[0].as_i64() == Some(port)
            })
            .unwrap();
    }
    let far = nodes[2].kernel_id.clone();
    events
        .wait(WAIT, |e| {
            e.node == "m1" && e.what == "register" && e.text(0) == far
        })
        .unwrap();
    let near = nodes[0].kernel_id.clone();
    events
        .wait(WAIT, |e| {
            e.node == "m3" && e.what == "register" && e.text(0) == near
        })
        .unwrap();
    nodes
}

fn perl_or_skip(test: &str) -> bool {
    if perl_ikc_available() {
        return true;
    }
    println!(
        "SKIP {test}: Perl's POE::Component::IKC is not installed \
         (`perl -MPOE::Component::IKC::ClientLite -e1` fails; set PERL5LIB to its lib)"
    );
    false
}

#[test]
fn a_perl_poe_client_reaches_a_kernel_two_rust_hops_away() {
    if !perl_or_skip("a_perl_poe_client_reaches_a_kernel_two_rust_hops_away") {
        return;
    }
    let mut events = Events::new();
    let nodes = chain(&mut events);
    let mut perl = Process::spawn(perl_command(
        "mesh-client.pl",
        &[&nodes[0].port.to_string(), "m3"],
        &[],
    ))
    .unwrap();
    perl.wait_line(|l| l == "connected").unwrap();
    // Perl's post and call, through m1 and m2.
    let hello = events
        .wait(WAIT, |e| e.what == "hello" && e.text(0) == "from-perl")
        .unwrap();
    assert_eq!(hello.node, "m3");
    perl.wait_line(|l| l == "reply: perl-call").unwrap();
    // m3 posts to the Perl kernel and calls it.
    // (m3 hears of the Perl kernel, by its POE kernel ID, through m1.)
    let ours: Vec<String> = nodes.iter().map(|n| n.kernel_id.clone()).collect();
    events
        .wait(WAIT, |e| {
            e.node == "m3" && e.what == "register" && !ours.contains(&e.text(0))
        })
        .unwrap();
    nodes[2].post("poe://PerlLeaf/me/greet", "from-m3").unwrap();
    nodes[2].call("poe://PerlLeaf/me/twice", 21).unwrap();
    let answer = events.wait(WAIT, |e| e.what == "answer").unwrap();
    assert_eq!(
        (answer.node.as_str(), &answer.args[0]),
        ("m3", &Value::from(42))
    );
    let out = perl.wait().unwrap();
    let text = out.text();
    assert!(text.contains("greet: from-m3"), "{text}");
    assert!(text.contains("twice: 21"), "{text}");
    assert!(!text.contains("monitor error"), "{text}");
    println!("interop: Perl POE client <-> m1 <-> m2 <-> m3: post, call, greet and call back");
}

#[test]
fn perl_clientlite_calls_a_kernel_two_rust_hops_away() {
    if !perl_or_skip("perl_clientlite_calls_a_kernel_two_rust_hops_away") {
        return;
    }
    let mut events = Events::new();
    let nodes = chain(&mut events);
    let perl = Process::spawn(perl_command(
        "mesh-lite.pl",
        &[&nodes[0].port.to_string(), "m3"],
        &[],
    ))
    .unwrap();
    let out = perl.wait().unwrap();
    let text = out.text();
    assert!(text.contains("echo=lite-call"), "{text}");
    assert!(text.contains("echo=lite-again"), "{text}");
    assert!(text.contains("done"), "{text}");
    let hello = events
        .wait(WAIT, |e| e.what == "hello" && e.text(0) == "from-lite")
        .unwrap();
    assert_eq!(hello.node, "m3");
    println!("interop: Perl ClientLite -> m1 -> m2 -> m3: two calls and a post");
}

/// What a leaf that speaks IKC as Perl does (Storable only) sees: the
/// far kernels offered as names of m1 in the handshake; messages for it
/// naming it alone, without the mesh's keys; replies routed back through
/// a relay session of m1. Always runs.
#[test]
fn a_leaf_sees_only_what_perl_ikc_understands() {
    let mut events = Events::new();
    let nodes = chain(&mut events);
    let mut leaf =
        RawPeer::connect(&Endpoint::Tcp(nodes[0].port), "RawLeaf", &["Storable"]).unwrap();
    let peer = leaf.handshake().unwrap();
    assert_eq!(peer.kernel_id, nodes[0].kernel_id);
    assert!(peer.aliases.contains(&"m1".to_owned()), "{peer:?}");
    assert!(
        peer.aliases.contains(&"m3".to_owned()),
        "far kernels offered: {peer:?}"
    );
    assert!(peer.aliases.contains(&nodes[2].kernel_id), "{peer:?}");

    // The leaf calls m3 through m1 and m2: the answer comes back to it.
    let answer = leaf.call("poe://m3/node/echo", "raw-call").unwrap();
    assert_eq!(answer, Value::from("raw-call"));

    // m3 calls the leaf: the request names the leaf alone, carries no mesh
    // keys, and its RSVP names m1 and a relay session.
    events
        .wait(WAIT, |e| {
            e.node == "m3" && e.what == "register" && e.text(0) == "RawLeaf"
        })
        .unwrap();
    nodes[2].call("poe://RawLeaf/me/twice", 21).unwrap();
    let req = leaf.recv().unwrap();
    let MessageTarget::Text(event) = &req.event else {
        panic!("{req:?}")
    };
    assert_eq!(&**event, "poe://RawLeaf/me/twice");
    assert!(req.extra.is_empty(), "no mesh keys for a leaf: {req:?}");
    let rsvp = req.rsvp.clone().expect("an rsvp");
    assert_eq!(rsvp.kernel, "m1");
    assert!(rsvp.session.starts_with("IKC:via:"), "{rsvp:?}");
    assert_eq!(rsvp.state, "answer");
    let from = req.from.clone().expect("a from");
    assert_eq!(from.kernel, "m1");
    // Answer as Perl does: a post to the RSVP.
    leaf.send(&Message::post(rsvp, Value::from(42))).unwrap();
    let answer = events.wait(WAIT, |e| e.what == "answer").unwrap();
    assert_eq!(
        (answer.node.as_str(), &answer.args[0]),
        ("m3", &Value::from(42))
    );

    // A post to a list: the leaf's copy names it alone.
    nodes[2].post("poe://m2,RawLeaf/me/greet", "list").unwrap();
    let req = leaf.recv().unwrap();
    assert_eq!(
        req.event,
        MessageTarget::Text("poe://RawLeaf/me/greet".into()),
        "{req:?}"
    );
    assert!(req.extra.is_empty());
    let _ = HashForm::default();
}
