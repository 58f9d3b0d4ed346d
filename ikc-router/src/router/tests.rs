//! Bad input from a neighbour: each is a typed error, the bad part is
//! dropped, and the router keeps routing with bounded memory.

use std::time::{Duration, Instant};

use ikc_freezer::Value;

use crate::config::{Direction, FloodLimit, Peer};
use crate::control::{AdvertisedLink, ControlMessage, Hello, LinkStateRecord};
use crate::error::RouterError;
use crate::id::{KernelId, LinkId};
use crate::output::{CloseReason, RouterOutput};
use crate::plan::Route;
use crate::{Router, RouterConfig};

const PEER: LinkId = LinkId(1);

fn hello(kernel_id: &str, incarnation: u64) -> ControlMessage {
    ControlMessage::Hello(Hello {
        kernel_id: kernel_id.into(),
        incarnation,
        names: Vec::new(),
        summary: Vec::new(),
        weight: None,
    })
}

fn record(origin: &str, incarnation: u64, seq: u64, links: &[(&str, u64)]) -> LinkStateRecord {
    LinkStateRecord {
        origin: origin.into(),
        incarnation,
        seq,
        names: vec![format!("name-of-{origin}")],
        links: links
            .iter()
            .map(|&(peer, incarnation)| AdvertisedLink {
                peer: peer.into(),
                incarnation,
                weight: 100,
            })
            .collect(),
        leaves: Vec::new(),
    }
}

/// A router "me" (incarnation 1) linked to routing peer "p" (incarnation
/// 2), which said hello; outputs drained.
fn linked(tweak: impl FnOnce(&mut RouterConfig)) -> (Router, Instant) {
    let now = Instant::now();
    let mut config = RouterConfig::new("me").with_incarnation(1);
    tweak(&mut config);
    let mut router = Router::new(config, now).unwrap();
    router
        .link_up(PEER, Peer::router("p", Direction::Outbound), now)
        .unwrap();
    router.handle_control(PEER, hello("p", 2), now).unwrap();
    drain(&mut router);
    (router, now)
}

fn drain(router: &mut Router) -> Vec<RouterOutput> {
    std::iter::from_fn(|| router.poll_output()).collect()
}

/// "p" announces itself linked to "me" and to `far` (also linked back).
fn far_kernel(router: &mut Router, now: Instant, far: &str) {
    let records = vec![
        record("p", 2, 1, &[("me", 1), (far, 3)]),
        record(far, 3, 1, &[("p", 2)]),
    ];
    router
        .handle_control(PEER, ControlMessage::Records(records), now)
        .unwrap();
    drain(router);
    assert!(matches!(
        router.route(far),
        Ok(Route::Link { link: PEER, .. })
    ));
}

#[test]
fn malformed_values_are_refused_and_routing_goes_on() {
    let (mut router, now) = linked(|_| {});
    far_kernel(&mut router, now, "far");
    let garbage = [
        Value::Undef,
        Value::from("Records"),
        Value::Array(vec![Value::Int(1)]),
    ];
    for value in &garbage {
        assert!(matches!(
            router.handle_control_value(PEER, value, now),
            Err(RouterError::Malformed(_))
        ));
    }
    assert_eq!(router.stats().records_refused, garbage.len() as u64);
    assert!(matches!(router.route("far"), Ok(Route::Link { .. })));
}

#[test]
fn records_before_hello_and_control_to_a_leaf_are_refused() {
    let now = Instant::now();
    let mut router = Router::new(RouterConfig::new("me"), now).unwrap();
    router
        .link_up(PEER, Peer::router("p", Direction::Inbound), now)
        .unwrap();
    let records = ControlMessage::Records(vec![record("p", 2, 1, &[])]);
    assert_eq!(
        router.handle_control(PEER, records, now),
        Err(RouterError::NoHello(PEER))
    );
    router
        .link_up(LinkId(2), Peer::leaf("perl", Direction::Inbound), now)
        .unwrap();
    assert_eq!(
        router.handle_control(LinkId(2), ControlMessage::Probe { nonce: 1 }, now),
        Err(RouterError::NotARouter(LinkId(2)))
    );
    assert_eq!(
        router.handle_control(LinkId(9), ControlMessage::Probe { nonce: 1 }, now),
        Err(RouterError::UnknownLink(LinkId(9)))
    );
    // The leaf never gets a control message.
    assert!(drain(&mut router).iter().all(|o| !matches!(
        o,
        RouterOutput::Transmit {
            link: LinkId(2),
            ..
        }
    )));
}

#[test]
fn oversized_records_are_dropped_and_the_rest_of_the_batch_kept() {
    let (mut router, now) = linked(|c| c.max_links_per_kernel = 4);
    let mut big = record("big", 9, 1, &[]);
    big.links = (0..5)
        .map(|i| AdvertisedLink {
            peer: format!("x{i}").into(),
            incarnation: 1,
            weight: 1,
        })
        .collect();
    let batch = vec![
        big,
        record("p", 2, 1, &[("me", 1), ("ok", 3)]),
        record("ok", 3, 1, &[("p", 2)]),
    ];
    assert!(matches!(
        router.handle_control(PEER, ControlMessage::Records(batch), now),
        Err(RouterError::TooLarge {
            what: "links in a record",
            ..
        })
    ));
    drain(&mut router);
    assert!(router.route("ok").is_ok());
    assert!(router.kernels().iter().all(|k| k.kernel_id != "big"));
    // A whole message beyond the table's size is refused at once.
    let flood: Vec<_> = (0..router.config().max_kernels + 1)
        .map(|i| record(&format!("k{i}"), 1, 1, &[]))
        .collect();
    assert!(matches!(
        router.handle_control(PEER, ControlMessage::Records(flood), now),
        Err(RouterError::TooLarge { .. })
    ));
}

#[test]
fn a_peer_replaying_its_own_old_record_is_an_error_and_stale_copies_are_not() {
    let (mut router, now) = linked(|_| {});
    let fresh = ControlMessage::Records(vec![record("p", 2, 5, &[("me", 1)])]);
    router.handle_control(PEER, fresh.clone(), now).unwrap();
    let old = ControlMessage::Records(vec![record("p", 2, 3, &[("me", 1)])]);
    assert_eq!(
        router.handle_control(PEER, old, now),
        Err(RouterError::Replay {
            origin: "p".into(),
            seq: 3,
            have: 5
        })
    );
    // The same record again (a flood's end) is no error, only counted.
    router.handle_control(PEER, fresh, now).unwrap();
    assert_eq!(router.links()[0].stale_records, 1);
    assert_eq!(
        router
            .kernels()
            .iter()
            .find(|k| k.kernel_id == "p")
            .unwrap()
            .seq,
        Some(5)
    );
}

#[test]
fn a_flooding_peer_is_cut_off_and_refilled_later() {
    let (mut router, now) = linked(|c| {
        c.flood_limit = FloodLimit {
            burst: 10,
            per_second: 10,
        };
    });
    let mut refused = 0;
    for nonce in 0..50 {
        match router.handle_control(PEER, ControlMessage::Probe { nonce }, now) {
            Ok(()) => {}
            Err(RouterError::Flood(PEER)) => refused += 1,
            Err(other) => panic!("{other}"),
        }
    }
    // The hello took one token; nine probes passed.
    assert_eq!(refused, 41);
    let echoes = drain(&mut router)
        .into_iter()
        .filter(|o| {
            matches!(
                o,
                RouterOutput::Transmit {
                    message: ControlMessage::Echo { .. },
                    ..
                }
            )
        })
        .count();
    assert_eq!(echoes, 9);
    let later = now + Duration::from_secs(1);
    router
        .handle_control(PEER, ControlMessage::Probe { nonce: 99 }, later)
        .unwrap();
}

#[test]
fn the_table_is_bounded_by_max_kernels() {
    let (mut router, now) = linked(|c| c.max_kernels = 4);
    far_kernel(&mut router, now, "far");
    // Unreachable kernels (nobody links to them) fill the table...
    for i in 0..10 {
        let stranger = record(&format!("s{i}"), 1, 1, &[]);
        let later = now + Duration::from_millis(i);
        // Each evicts an older unreachable one, never a reachable one.
        assert_eq!(
            router.handle_control(PEER, ControlMessage::Records(vec![stranger]), later),
            Ok(())
        );
        drain(&mut router);
    }
    assert!(router.kernels().len() <= 4);
    assert!(router.route("far").is_ok());
    // With only reachable kernels held, a newcomer is refused.
    let (mut router, now) = linked(|c| c.max_kernels = 3);
    far_kernel(&mut router, now, "far");
    let result = router.handle_control(
        PEER,
        ControlMessage::Records(vec![record("s", 1, 1, &[])]),
        now,
    );
    assert_eq!(result, Err(RouterError::TooManyKernels { max: 3 }));
}

#[test]
fn a_hello_under_another_id_closes_the_link() {
    let now = Instant::now();
    let mut router = Router::new(RouterConfig::new("me"), now).unwrap();
    router
        .link_up(PEER, Peer::router("p", Direction::Inbound), now)
        .unwrap();
    assert!(matches!(
        router.handle_control(PEER, hello("impostor", 2), now),
        Err(RouterError::PeerMismatch { .. })
    ));
    assert!(drain(&mut router).contains(&RouterOutput::CloseLink {
        link: PEER,
        reason: CloseReason::PeerMismatch
    }));
    assert!(router.route("p").is_err());
}

#[test]
fn a_replaced_incarnation_saying_hello_again_is_a_clash() {
    let (mut router, now) = linked(|_| {});
    // "p" restarts (incarnation 7) on a new link: the old link is replaced.
    router
        .link_up(LinkId(2), Peer::router("p", Direction::Outbound), now)
        .unwrap();
    router
        .handle_control(LinkId(2), hello("p", 7), now)
        .unwrap();
    let outputs = drain(&mut router);
    assert!(outputs.iter().any(|o| matches!(
        o,
        RouterOutput::CloseLink {
            link: PEER,
            reason: CloseReason::DuplicateLink { .. } | CloseReason::Replaced { .. }
        }
    )));
    router.link_down(PEER, now);
    router
        .handle_control(
            LinkId(2),
            ControlMessage::Records(vec![record("p", 7, 1, &[("me", 1)])]),
            now,
        )
        .unwrap();
    drain(&mut router);
    // Incarnation 2 comes back: it is alive after all, a second kernel "p".
    router
        .link_up(LinkId(3), Peer::router("p", Direction::Inbound), now)
        .unwrap();
    drain(&mut router);
    router
        .handle_control(LinkId(3), hello("p", 2), now)
        .unwrap();
    let outputs = drain(&mut router);
    assert!(
        outputs
            .iter()
            .any(|o| matches!(o, RouterOutput::NameClash(c) if c.name == "p")),
        "{outputs:?}"
    );
}

#[test]
fn old_records_are_forgotten() {
    let (mut router, now) = linked(|c| {
        c.refresh_interval = Duration::from_secs(10);
        c.record_max_age = Duration::from_secs(30);
        c.link_timeout = None;
    });
    let stranger = ControlMessage::Records(vec![record("gone", 1, 1, &[])]);
    router.handle_control(PEER, stranger, now).unwrap();
    drain(&mut router);
    assert!(router.kernels().iter().any(|k| k.kernel_id == "gone"));
    let mut t = now;
    while t < now + Duration::from_secs(31) {
        t = router.poll_timeout().unwrap().max(t);
        router.handle_timeout(t);
        drain(&mut router);
    }
    assert!(router.kernels().iter().all(|k| k.kernel_id != "gone"));
}

#[test]
fn own_names_and_id_cannot_be_taken_by_a_neighbour() {
    let now = Instant::now();
    let mut router = Router::new(RouterConfig::new("me").with_name("Server"), now).unwrap();
    router
        .link_up(
            PEER,
            Peer::leaf("perl", Direction::Inbound).with_name("Server"),
            now,
        )
        .unwrap();
    router
        .link_up(LinkId(2), Peer::router("me", Direction::Inbound), now)
        .unwrap();
    let outputs = drain(&mut router);
    let closed: Vec<LinkId> = outputs
        .iter()
        .filter_map(|o| match o {
            RouterOutput::CloseLink {
                link,
                reason: CloseReason::NameClash { .. },
            } => Some(*link),
            _ => None,
        })
        .collect();
    assert_eq!(closed, [PEER, LinkId(2)]);
    assert_eq!(router.route("Server"), Ok(Route::Local));
    assert_eq!(router.resolve("Server"), Some(&KernelId::from("me")));
}

#[test]
fn names_added_later_are_advertised_and_checked() {
    let (mut router, now) = linked(|_| {});
    far_kernel(&mut router, now, "far");
    router.add_names(&["Server", "", "me", "name-of-far"], now);
    let outputs = drain(&mut router);
    let advertised = outputs.iter().find_map(|o| match o {
        RouterOutput::Transmit {
            message: ControlMessage::Records(records),
            ..
        } => records.iter().find(|r| r.origin == "me"),
        _ => None,
    });
    assert_eq!(
        advertised.map(|r| r.names.clone()),
        Some(vec!["Server".to_owned(), "name-of-far".to_owned()])
    );
    assert_eq!(router.route("Server"), Ok(Route::Local));
    // "far" had that name first: a clash, reported, and the name is nobody's.
    assert!(outputs.iter().any(|o| matches!(
        o,
        RouterOutput::NameClash(clash) if clash.name == "name-of-far" && clash.involves_us
    )));
    assert!(router.route("name-of-far").is_err());
}

#[test]
fn a_weight_fixed_at_one_end_holds_at_both() {
    let now = Instant::now();
    // "me" fixes its link to "p" at 700: its hello says so.
    let mut me = Router::new(RouterConfig::new("me").with_incarnation(1), now).unwrap();
    me.link_up(
        PEER,
        Peer::router("p", Direction::Outbound).with_fixed_weight(700),
        now,
    )
    .unwrap();
    let sent = drain(&mut me);
    let Some(RouterOutput::Transmit {
        message: ControlMessage::Hello(said),
        ..
    }) = sent.first()
    else {
        panic!("no hello first: {sent:?}");
    };
    assert_eq!(said.weight, Some(700));
    // "p", which configured nothing, takes the weight from that hello and
    // advertises it, whatever its probes measure later.
    let mut p = Router::new(RouterConfig::new("p").with_incarnation(2), now).unwrap();
    p.link_up(LinkId(9), Peer::router("me", Direction::Inbound), now)
        .unwrap();
    p.handle_control(LinkId(9), ControlMessage::Hello(said.clone()), now)
        .unwrap();
    drain(&mut p);
    let link = &p.links()[0];
    assert_eq!((link.weight, link.fixed_weight), (700, Some(700)));
    assert!(p.own_record().links.iter().all(|l| l.weight == 700));
    // A weight this end fixes itself wins over the peer's.
    let mut q = Router::new(RouterConfig::new("q").with_incarnation(3), now).unwrap();
    q.link_up(
        LinkId(4),
        Peer::router("me", Direction::Inbound).with_fixed_weight(50),
        now,
    )
    .unwrap();
    q.handle_control(LinkId(4), ControlMessage::Hello(said.clone()), now)
        .unwrap();
    assert_eq!(q.links()[0].weight, 50);
}
