//! The async client against a real IKC server kernel (ikc-server on its
//! own thread): concurrent calls over one connection, every ClientLite
//! method, errors, timeouts and reconnection.

use std::collections::BTreeMap;
use std::time::Duration;

use ikc_clientlite_async::{AsyncClientLite, Builder, LiteError, Value};
use ikc_core::{InlineStates, Kernel, KernelHandle};
use ikc_responder::Ikc;
use ikc_server::{Server, ServerConfig};

/// A server kernel `Server` with a session `test` publishing:
/// `add_1` (typed), `list` ([1, 2, 3]), `nothing` (undef: no reply),
/// `answer_later` (`post_respond`: posts ARG0 + 1 to the RSVP it got),
/// `poke` (posts ARG0 to the sender's state `told`), `bye` (shuts down).
fn spawn_server() -> (u16, KernelHandle, std::thread::JoinHandle<()>) {
    let (tx, rx) = std::sync::mpsc::channel();
    let thread = std::thread::spawn(move || {
        let mut kernel = Kernel::new().unwrap();
        let config = ServerConfig::tcp("127.0.0.1", 0).name("Server");
        let listening = Server::spawn(&mut kernel, config).unwrap();
        kernel.spawn(
            InlineStates::new()
                .state("_start", |_, ctx, _| {
                    ctx.alias_set("test").unwrap();
                    Ikc::of(ctx).unwrap().publish(
                        "test",
                        &["add_1", "list", "nothing", "answer_later", "poke", "bye"],
                    );
                })
                .typed_state("add_1", |_, n: i64| Ok::<_, String>(n + 1))
                .state("list", |_, _, _| Value::from(vec![1, 2, 3]))
                .state("nothing", |_, _, _| Value::Undef)
                .state("answer_later", |_, ctx, ev| {
                    let (n, rsvp): (i64, BTreeMap<String, String>) = ev.arg_as(0).unwrap();
                    let spec = format!(
                        "poe://{}/{}/{}",
                        rsvp["kernel"], rsvp["session"], rsvp["state"]
                    );
                    Ikc::of(ctx).unwrap().post(ctx, &spec, n + 1);
                })
                .state("poke", |_, ctx, ev| {
                    let sender = ev.sender.session().unwrap();
                    ctx.post(sender, "told", ev.args).unwrap();
                })
                .state("bye", |_, ctx, _| Ikc::of(ctx).unwrap().shutdown(ctx)),
        );
        tx.send((listening.port().unwrap(), kernel.handle()))
            .unwrap();
        kernel.run().unwrap();
    });
    let (port, handle) = rx.recv().unwrap();
    (port, handle, thread)
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn many_tasks_share_one_connection() {
    let (port, _, server) = spawn_server();
    runtime().block_on(async {
        let poe = AsyncClientLite::connect("127.0.0.1", port).await.unwrap();
        assert_eq!(poe.peer().unwrap().freezer, "IKC::Native");
        let tasks: Vec<_> = (0..200_i64)
            .map(|i| {
                let poe = poe.clone();
                tokio::spawn(async move {
                    match i % 3 {
                        0 => poe.call_as::<i64>("test/add_1", i).await.map(|n| n - 1),
                        1 => poe
                            .call("test/add_1", i)
                            .await
                            .map(|v| v.as_i64().unwrap() - 1),
                        _ => poe
                            .post_respond("test/answer_later", i)
                            .await
                            .map(|v| v.as_i64().unwrap() - 1),
                    }
                })
            })
            .collect();
        for (i, task) in (0..).zip(tasks) {
            assert_eq!(task.await.unwrap().unwrap(), i);
        }
        assert_eq!(
            poe.call_list("test/list", ()).await.unwrap(),
            [Value::Int(1), Value::Int(2), Value::Int(3)]
        );
        poe.ping().await.unwrap();
        poe.post("test/bye", ()).await.unwrap();
    });
    server.join().unwrap();
}

#[test]
fn responded_gets_posts_to_our_session_even_early() {
    let (port, _, server) = spawn_server();
    runtime().block_on(async {
        let poe = Builder::tcp("127.0.0.1", port)
            .name("Asyncer")
            .freezer("Storable")
            .connect()
            .await
            .unwrap();
        assert_eq!(poe.name(), "Asyncer");
        assert_eq!(poe.peer().unwrap().freezer, "Storable");
        poe.post("test/poke", "first").await.unwrap();
        // The post may well arrive before we wait: it is kept.
        let later = poe.call("test/add_1", 1).await.unwrap();
        assert_eq!(later, Value::Int(2));
        assert_eq!(
            poe.responded("told").await.unwrap(),
            Value::from(vec!["first"])
        );
        let err = poe.responded("a/b").await.unwrap_err();
        assert!(matches!(err, LiteError::BadSpecifier { .. }));
        poe.post("test/bye", ()).await.unwrap();
    });
    server.join().unwrap();
}

#[test]
fn errors_timeouts_and_a_lost_connection() {
    let (port, _, server) = spawn_server();
    runtime().block_on(async {
        let poe = Builder::tcp("127.0.0.1", port)
            .timeout(Duration::from_millis(300))
            .connect()
            .await
            .unwrap();
        // A bad argument for a typed state: IKC's error comes back.
        let err = poe.call("test/add_1", "x").await.unwrap_err();
        let LiteError::Remote {
            message, operation, ..
        } = &err
        else {
            panic!("{err:?}");
        };
        assert_eq!(operation, "invocation");
        assert!(message.starts_with("add_1: bad argument ARG0"), "{message}");
        assert!(poe.error().is_some());
        // A state not published.
        let err = poe.call("test/secret", 1).await.unwrap_err();
        assert!(matches!(err, LiteError::Remote { ref operation, .. } if operation == "check"));
        // No reply (undef): a timeout, and the connection stays usable.
        let err = poe.call("test/nothing", 1).await.unwrap_err();
        assert!(matches!(err, LiteError::Timeout { .. }), "{err:?}");
        assert_eq!(poe.call("test/add_1", 9).await.unwrap(), Value::Int(10));
        // A bad specifier is refused before anything is sent.
        let err = poe.post("fetchQ", 1).await.unwrap_err();
        assert!(matches!(err, LiteError::BadSpecifier { .. }));
        // Disconnected: nothing goes out until ensure_connected.
        poe.disconnect();
        let err = poe.post("test/add_1", 1).await.unwrap_err();
        assert!(matches!(err, LiteError::NotConnected), "{err:?}");
        assert!(!poe.is_connected());
        poe.ensure_connected().await.unwrap();
        assert!(poe.is_connected());
        // The server shuts down: the wait in progress ends, not by timeout.
        poe.set_timeout(Duration::from_secs(30));
        poe.post("test/bye", ()).await.unwrap();
        let err = poe.responded("never").await.unwrap_err();
        assert!(
            matches!(err, LiteError::Closed { .. } | LiteError::NotConnected),
            "{err:?}"
        );
    });
    server.join().unwrap();
}

#[test]
fn a_server_that_is_not_there() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    runtime().block_on(async {
        let err = AsyncClientLite::connect("127.0.0.1", port)
            .await
            .unwrap_err();
        assert!(matches!(err, LiteError::Connect { .. }), "{err:?}");
    });
}
