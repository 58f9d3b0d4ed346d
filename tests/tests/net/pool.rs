//! [`Server::spawn_pool`]: several kernels on their own threads serving
//! one port (the answer to IKC's prefork `processes`). Connections spread
//! over the kernels and every one is served.

use ikc_core::{InlineStates, Kernel};
use ikc_freezer::{NATIVE, Value};
use ikc_responder::{Ikc, MonitorOp, MonitorStates};
use ikc_server::Server;
use ikc_tests::{Endpoint, Net, RawPeer, Transport};

const KERNELS: usize = 2;
const CONNECTIONS: usize = 40;

/// `whoami/index`: which kernel of the pool answers.
fn whoami(kernel: &mut Kernel, index: usize) {
    kernel.spawn(
        InlineStates::with_heap(index)
            .state("_start", |_, ctx, _| {
                ctx.alias_set("whoami").expect("alias free");
                let ikc = Ikc::of(ctx).expect("the server started the responder");
                ikc.publish("whoami", &["index"]);
                ikc.monitor(
                    ctx,
                    "*",
                    &MonitorStates::new().on(MonitorOp::Shutdown, "down"),
                );
            })
            .state("down", |_, ctx, _| {
                let _ = ctx.alias_remove("whoami");
            })
            .state("index", |index, _, _| Value::from(*index)),
    );
}

fn pool_serves_every_connection(transport: Transport) {
    let net = Net::new(transport);
    let place = net.endpoint();
    let config_place = place.clone();
    let mut pool = Server::spawn_pool(
        KERNELS,
        move |_| config_place.server_config().name("Pool"),
        whoami,
    )
    .unwrap();
    assert_eq!(pool.len(), KERNELS);
    let ids = pool.kernel_ids();
    let at = match place {
        Endpoint::Tcp(_) => Endpoint::Tcp(pool.port().expect("a TCP port")),
        unix => unix,
    };
    let mut served = [0usize; KERNELS];
    for c in 0..CONNECTIONS {
        let mut peer = RawPeer::connect(&at, &format!("Conn{c}"), &[NATIVE]).unwrap();
        let announced = peer.peer().expect("handshake done").kernel_id.clone();
        let who = peer.call("poe://Pool/whoami/index", Value::Undef).unwrap();
        let who = usize::try_from(who.as_i64().expect("an index")).unwrap();
        assert_eq!(
            announced, ids[who],
            "the kernel that answered is the one connected"
        );
        served[who] += 1;
    }
    println!("{transport:?}: connections served by each kernel: {served:?}");
    assert_eq!(served.iter().sum::<usize>(), CONNECTIONS);
    if transport == Transport::Tcp {
        // SO_REUSEPORT hashes each connection: with 40 of them, each kernel
        // gets some (the odds of one getting none are 2 in 2^40).
        assert!(served.iter().all(|&n| n > 0), "{served:?}");
    }
    pool.shutdown();
    pool.join().unwrap();
    if let Endpoint::Unix(path) = &at {
        assert!(!path.exists(), "the socket file goes with the last kernel");
    }
}

#[test]
fn pool_serves_every_connection_tcp() {
    pool_serves_every_connection(Transport::Tcp);
}

#[test]
fn pool_serves_every_connection_unix() {
    pool_serves_every_connection(Transport::Unix);
}

#[test]
fn pool_bind_errors_come_back() {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    // The port is taken by a socket without SO_REUSEPORT.
    let err =
        Server::spawn_pool(2, move |_| Endpoint::Tcp(port).server_config(), |_, _| {}).unwrap_err();
    assert!(
        matches!(err, ikc_server::ServerError::Listen { .. }),
        "{err}"
    );
    let err = Server::spawn_pool(0, |_| Endpoint::Tcp(0).server_config(), |_, _| {}).unwrap_err();
    assert!(
        matches!(err, ikc_server::ServerError::Worker { .. }),
        "{err}"
    );
}
