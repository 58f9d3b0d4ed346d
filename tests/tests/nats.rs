//! Kernels on NATS (issue 16): plain NATS clients calling IKC states
//! (tested with the Python `nats-py` client), kernels reaching each other
//! through one server and through a cluster of three, and a cluster
//! member killed while kernels use it.
//!
//! Every test starts its own `nats-server`s on free loopback ports and
//! stops them when done. Outside CI a test prints a line and passes when
//! `nats-server` (or `nats-py`) is missing; in CI it fails instead.

use std::collections::{BTreeSet, HashMap};
use std::process::Command;
use std::time::Duration;

use ikc_channel::{Message, MessageTarget};
use ikc_core::{InlineStates, Kernel, KernelHandle};
use ikc_freezer::Value;
use ikc_nats::NatsConfig;
use ikc_nats::server::{NatsCluster, NatsServer};
use ikc_responder::{MonitorOp, MonitorStates, Responder};
use ikc_tests::nats::{nats_available, nats_py_available};
use ikc_tests::perl::perl_command;
use ikc_tests::{
    Endpoint, Inbox, KernelThread, Note, Notes, Process, RawPeer, driver, notes,
    perl_ikc_available, spawn_kernel,
};

/// Heartbeats in these tests: a kernel gone is noticed within 3 of them
/// (a kernel that leaves says so, and one whose server dies resets its
/// links at once, so no test waits for them; shorter ones make loaded
/// machines see kernels miss beats).
const HEARTBEAT: Duration = Duration::from_secs(1);

fn s(text: &str) -> Value {
    Value::from(text)
}

/// The session `test` of kernel `label`: publishes `add_1` (ARG0 + 1),
/// `echo` (ARG0) and `here` (notes `here@<label>` with its args); has
/// `secret`, which it does not publish.
fn test_session(kernel: &mut Kernel, notes: &Notes, label: &'static str) {
    let n = notes.clone();
    let here = format!("here@{label}");
    kernel.spawn(
        InlineStates::new()
            .state("_start", |_, ctx, _| {
                ctx.alias_set("test").expect("alias free");
                let ikc = Responder::spawn(ctx);
                ikc.publish("test", &["add_1", "echo", "here"]);
                ikc.monitor(
                    ctx,
                    "*",
                    &MonitorStates::new().on(MonitorOp::Shutdown, "ikc_down"),
                );
            })
            .state("ikc_down", |_, ctx, _| {
                let _ = ctx.alias_remove("test");
            })
            .state("add_1", |_, _, ev| {
                Value::from(ev.args.first().and_then(Value::as_i64).unwrap_or(0) + 1)
            })
            .state("echo", |_, _, ev| {
                ev.args.into_iter().next().unwrap_or_default()
            })
            .state("here", move |_, _, ev| n.send(here.as_str(), ev.args))
            .state("secret", |_, _, _| Value::from("leaked")),
    );
}

/// A kernel `label` attached to `urls` with a driver `drv<label>` and the
/// `test` session.
fn nats_kernel(
    label: &'static str,
    urls: &str,
    freezer: &'static str,
    notes: &Notes,
) -> KernelThread<KernelHandle> {
    ikc_tests::robust::init_logging();
    let (urls, n) = (urls.to_owned(), notes.clone());
    spawn_kernel(label, move |kernel| {
        kernel.spawn(driver(&n, &format!("drv{label}")));
        test_session(kernel, &n, label);
        let config = NatsConfig::new(&urls)
            .name(label)
            .heartbeat(HEARTBEAT)
            .freezer(freezer);
        ikc_nats::attach(kernel, config)?;
        Ok(kernel.handle())
    })
}

fn drv(label: &str) -> String {
    format!("drv{label}")
}

/// Wait until kernel `at`'s monitors hear `op` about kernel `about` (by name).
fn wait_monitor(inbox: &mut Inbox, at: &str, op: MonitorOp, about: &str) -> Note {
    let label = format!("mon_{}", op.key());
    let data = drv(at);
    inbox.wait_for(&format!("{at} hearing {label} of {about}"), |n| {
        n.label == label && n.text(3) == data && n.text(1) == about
    })
}

/// How a register or unregister note says the kernel is reached: through
/// others (`routed`) or over a link of its own (`direct`).
fn reach(note: &Note) -> &'static str {
    if note.text(5) == "routed" {
        "routed"
    } else {
        "direct"
    }
}

/// [`wait_monitor`] for a kernel reached over a link of its own.
fn wait_direct(inbox: &mut Inbox, at: &str, op: MonitorOp, about: &str) -> Note {
    let label = format!("mon_{}", op.key());
    let data = drv(at);
    inbox.wait_for(&format!("{at} hearing {label} of {about} (direct)"), |n| {
        n.label == label && n.text(3) == data && n.text(1) == about && reach(n) == "direct"
    })
}

/// Wait until kernel `at`'s error monitors hear operation `op`.
fn wait_error(inbox: &mut Inbox, at: &str, op: &str) -> Note {
    let data = drv(at);
    inbox.wait_for(&format!("{at} hearing an error {op}"), |n| {
        n.label == "mon_error" && n.text(3) == data && n.text(4) == op
    })
}

fn shutdown(kernels: Vec<KernelThread<KernelHandle>>, labels: &[&str]) {
    for (k, label) in kernels.iter().zip(labels) {
        k.value
            .call(drv(label).as_str(), "shutdown", vec![])
            .unwrap();
    }
    for k in kernels {
        k.join().unwrap();
    }
}

#[test]
fn nats_py_calls_published_states() {
    let test = "nats_py_calls_published_states";
    if !nats_available(test) || !nats_py_available(test) {
        return;
    }
    let server = NatsServer::start().unwrap();
    let (n, mut inbox) = notes();
    let kernel = nats_kernel("Server", &server.url(), "IKC::Native", &n);

    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/nats/client.py");
    let out = Command::new("python3")
        .args([script, &server.url(), "Server"])
        .output()
        .expect("python3 runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "client.py failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let steps: HashMap<String, serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).expect("a JSON line"))
        .map(|j| (j["step"].as_str().unwrap().to_owned(), j))
        .collect();
    let data = |step: &str| steps[step]["data"].as_str().unwrap().to_owned();
    assert_eq!(data("call"), "42");
    let echoed: serde_json::Value = serde_json::from_str(&data("echo")).unwrap();
    assert_eq!(
        echoed,
        serde_json::json!({"list": [1, 2.5, null, "x"], "n": -3})
    );
    assert_eq!(data("empty"), "null");
    assert_eq!(data("ping"), "\"PONG\"");
    assert_eq!(data("broadcast"), "2");
    for (step, code, text) in [
        (
            "unpublished",
            "403",
            "Session 'test' has not published state 'secret'",
        ),
        (
            "unknown-session",
            "404",
            "Session 'nope' is not available for remote kernels",
        ),
        ("not-json", "400", "is not JSON"),
    ] {
        assert_eq!(steps[step]["code"], code, "{step}: {}", steps[step]);
        assert!(
            steps[step]["error"].as_str().unwrap().contains(text),
            "{step}: {}",
            steps[step]
        );
    }
    assert!(steps.contains_key("posted"));
    assert_eq!(inbox.wait("here@Server").args, [s("posted")]);
    // The kernel's monitors heard the refusal as IKC's `local-check`.
    let e = wait_error(&mut inbox, "Server", "local-check");
    assert!(
        e.text(5).starts_with(
            "Session 'test' has not published state 'secret'.  Request poe://Server/test/secret"
        ),
        "{e:?}"
    );
    shutdown(vec![kernel], &["Server"]);
}

/// Posts, calls, remote errors, subscriptions, `*`, register and
/// unregister between two kernels on one server, in different freezers.
#[test]
fn two_kernels_on_one_server() {
    let test = "two_kernels_on_one_server";
    if !nats_available(test) {
        return;
    }
    let server = NatsServer::start().unwrap();
    let (n, mut inbox) = notes();
    let a = nats_kernel("A", &server.url(), "Storable", &n);
    let b = nats_kernel("B", &server.url(), "IKC::Native", &n);
    wait_monitor(&mut inbox, "A", MonitorOp::Register, "B");
    wait_monitor(&mut inbox, "B", MonitorOp::Register, "A");
    let call =
        |state: &str, args: Vec<Value>| a.value.call("drvA", state.to_owned(), args).unwrap();

    assert_eq!(
        call("post", vec![s("poe://B/test/here"), s("hello")]),
        1.into()
    );
    assert_eq!(inbox.wait("here@B").args, [s("hello")]);

    call(
        "call",
        vec![s("poe://B/test/add_1"), 41.into(), s("answer")],
    );
    assert_eq!(inbox.wait("answer").args, [Value::from(42)]);

    // Refused as over a socket: B's monitors hear local-check, A's remote-check.
    call("post", vec![s("poe://B/test/secret"), s("x")]);
    let remote = wait_error(&mut inbox, "A", "remote-check");
    assert!(remote.text(5).contains("has not published state 'secret'"));
    wait_error(&mut inbox, "B", "local-check");

    // A subscription and a post through the proxy.
    call(
        "subscribe",
        vec![Value::from(vec!["poe://B/test"]), s("subscribed")],
    );
    assert_eq!(
        inbox.wait("subscribed").args,
        [Value::from(vec!["poe://B/test"])]
    );
    assert_eq!(
        call(
            "post_session",
            vec![s("poe://B/test"), s("here"), s("proxied")]
        ),
        true.into()
    );
    assert_eq!(inbox.wait("here@B").args, [s("proxied")]);

    // `*`: both kernels (A's own included, as IKC counts).
    assert_eq!(
        call("post", vec![s("poe://*/test/here"), s("star")]),
        2.into()
    );
    assert_eq!(inbox.wait("here@A").args, [s("star")]);
    assert_eq!(inbox.wait("here@B").args, [s("star")]);

    // B leaves: A hears it unregister.
    b.value.call("drvB", "shutdown", vec![]).unwrap();
    wait_monitor(&mut inbox, "A", MonitorOp::Unregister, "B");
    b.join().unwrap();
    // Now B is unknown: the post fails as IKC fails it.
    assert_eq!(
        call("post", vec![s("poe://B/test/here"), s("late")]),
        0.into()
    );
    shutdown(vec![a], &["A"]);
}

/// Which kernels each kernel has registered, from the monitor notes, and
/// how (a kernel may be registered `routed` through others and `direct`
/// over its own link at once while the mesh converges).
#[derive(Debug, Default)]
struct Registry {
    known: HashMap<String, BTreeSet<(String, &'static str)>>,
}

impl Registry {
    fn take(&mut self, note: &Note, names: &[&str]) {
        let (Some(at), about) = (
            note.text(3).strip_prefix("drv").map(str::to_owned),
            note.text(1),
        ) else {
            return;
        };
        if !names.contains(&about.as_str()) {
            return;
        }
        let set = self.known.entry(at).or_default();
        match note.label.as_str() {
            "mon_register" => {
                set.insert((about, reach(note)));
            }
            "mon_unregister" => {
                set.remove(&(about, reach(note)));
            }
            _ => {}
        }
    }

    /// Wait until every kernel has registered every other one.
    fn wait_full_mesh(&mut self, inbox: &mut Inbox, names: &[&str]) {
        let full = |r: &Self| {
            names.iter().all(|me| {
                r.known.get(*me).is_some_and(|set| {
                    names
                        .iter()
                        .filter(|o| *o != me)
                        .all(|o| set.iter().any(|(k, _)| k == o))
                })
            })
        };
        while !full(self) {
            let note = inbox.wait_for("a register or unregister", |n| {
                n.label == "mon_register" || n.label == "mon_unregister"
            });
            self.take(&note, names);
        }
    }
}

/// Two kernels on two servers of a cluster of three; the first one's
/// server is killed: its client reconnects to another member, the kernel
/// reports the other kernel unregistered and then registered again, and
/// posts sent while it was gone are refused (reported), not lost.
#[test]
fn cluster_member_killed_under_two_kernels() {
    let test = "cluster_member_killed_under_two_kernels";
    if !nats_available(test) {
        return;
    }
    let mut cluster = NatsCluster::start().unwrap();
    let (n, mut inbox) = notes();
    let a = nats_kernel("A", &cluster.servers[0].url(), "IKC::Native", &n);
    let b = nats_kernel("B", &cluster.servers[1].url(), "IKC::Native", &n);
    let mut mesh = Registry::default();
    mesh.wait_full_mesh(&mut inbox, &["A", "B"]);
    let call =
        |state: &str, args: Vec<Value>| a.value.call("drvA", state.to_owned(), args).unwrap();
    call("call", vec![s("poe://B/test/add_1"), 1.into(), s("answer")]);
    assert_eq!(inbox.wait("answer").args, [Value::from(2)]);

    cluster.servers[0].kill();
    wait_monitor(&mut inbox, "A", MonitorOp::Unregister, "B");
    wait_monitor(&mut inbox, "A", MonitorOp::Register, "B");
    call("call", vec![s("poe://B/test/add_1"), 2.into(), s("answer")]);
    assert_eq!(inbox.wait("answer").args, [Value::from(3)]);
    call("post", vec![s("poe://B/test/here"), s("after")]);
    assert_eq!(inbox.wait("here@B").args, [s("after")]);
    shutdown(vec![a, b], &["A", "B"]);
}

/// Ten kernels spread over a cluster of three: all of them register each
/// other, a `*` post reaches all ten, one kernel calls every other, a
/// subscription works across servers; then a server is killed, the kernels
/// on it come back, and everything works again.
#[test]
fn ten_kernels_on_a_cluster_of_three() {
    const NAMES: [&str; 10] = ["K0", "K1", "K2", "K3", "K4", "K5", "K6", "K7", "K8", "K9"];
    let test = "ten_kernels_on_a_cluster_of_three";
    if !nats_available(test) {
        return;
    }
    let mut cluster = NatsCluster::start().unwrap();
    let (n, mut inbox) = notes();
    let kernels: Vec<_> = NAMES
        .iter()
        .enumerate()
        .map(|(i, name)| nats_kernel(name, &cluster.servers[i % 3].url(), "IKC::Native", &n))
        .collect();
    let mut mesh = Registry::default();
    mesh.wait_full_mesh(&mut inbox, &NAMES);

    let exchange = |inbox: &mut Inbox, round: &str| {
        let k0 = &kernels[0].value;
        assert_eq!(
            k0.call("drvK0", "post", vec![s("poe://*/test/here"), s(round)])
                .unwrap(),
            10.into()
        );
        for name in NAMES {
            let got = inbox.wait(&format!("here@{name}"));
            assert_eq!(
                got.args,
                [s(round)],
                "a second copy at {name}? notes:\n{}",
                inbox.dump()
            );
        }
        let k5 = &kernels[5].value;
        for (i, name) in NAMES.iter().enumerate() {
            if *name != "K5" {
                let spec = format!("poe://{name}/test/add_1");
                let n = Value::from(i64::try_from(i).unwrap() * 100);
                k5.call("drvK5", "call", vec![s(&spec), n, s("sum")])
                    .unwrap();
            }
        }
        let mut answers: Vec<i64> = (0..9)
            .map(|_| inbox.wait("sum").args[0].as_i64().unwrap())
            .collect();
        answers.sort_unstable();
        let expected: Vec<i64> = (0..10).filter(|i| *i != 5).map(|i| i * 100 + 1).collect();
        assert_eq!(answers, expected);
    };
    exchange(&mut inbox, "first");

    // A subscription across servers (K1 on the second, K2 on the third).
    let k1 = &kernels[1].value;
    k1.call(
        "drvK1",
        "subscribe",
        vec![Value::from(vec!["poe://K2/test"]), s("subscribed")],
    )
    .unwrap();
    assert_eq!(
        inbox.wait("subscribed").args,
        [Value::from(vec!["poe://K2/test"])]
    );
    k1.call(
        "drvK1",
        "post_session",
        vec![s("poe://K2/test"), s("here"), s("proxied")],
    )
    .unwrap();
    assert_eq!(inbox.wait("here@K2").args, [s("proxied")]);

    // The third server goes: K2, K5 and K8 lose it, reconnect elsewhere,
    // and the kernels find each other again. Every link of theirs is
    // reset at both ends (a new pair generation), so every other kernel
    // hears them unregister too before they register again.
    cluster.servers[2].kill();
    let moved = ["K2", "K5", "K8"];
    for at in NAMES {
        for about in NAMES {
            if at != about && (moved.contains(&at) || moved.contains(&about)) {
                let note = wait_direct(&mut inbox, at, MonitorOp::Unregister, about);
                mesh.take(&note, &NAMES);
            }
        }
    }
    mesh.wait_full_mesh(&mut inbox, &NAMES);
    exchange(&mut inbox, "second");
    shutdown(kernels, &NAMES);
}

/// Kernel `label` on NATS (as [`nats_kernel`]) that also serves IKC on a
/// TCP port of 127.0.0.1 (the value: its port, and a handle).
fn nats_kernel_serving(
    label: &'static str,
    urls: &str,
    notes: &Notes,
) -> KernelThread<(u16, KernelHandle)> {
    ikc_tests::robust::init_logging();
    let (urls, n) = (urls.to_owned(), notes.clone());
    spawn_kernel(label, move |kernel| {
        kernel.spawn(driver(&n, &format!("drv{label}")));
        test_session(kernel, &n, label);
        let listening = ikc_server::Server::spawn(
            kernel,
            ikc_server::ServerConfig::tcp("127.0.0.1", 0).name(label),
        )?;
        let config = NatsConfig::new(&urls).name(label).heartbeat(HEARTBEAT);
        ikc_nats::attach(kernel, config)?;
        Ok((listening.port().expect("a TCP port"), kernel.handle()))
    })
}

/// Kernel `label`, not on NATS, connected over TCP to `port`.
fn direct_kernel(label: &'static str, port: u16, notes: &Notes) -> KernelThread<KernelHandle> {
    let n = notes.clone();
    spawn_kernel(label, move |kernel| {
        kernel.spawn(driver(&n, &format!("drv{label}")));
        test_session(kernel, &n, label);
        ikc_client::Client::spawn(
            kernel,
            ikc_client::ClientConfig::tcp("127.0.0.1", port).name(label),
        )?;
        Ok(kernel.handle())
    })
}

/// A mixed mesh: M is linked over TCP to A, and A and B are on NATS. M
/// reaches B through A and B reaches M through A: posts, calls either
/// way, `*` from either side, and the monitors of each hear the other
/// register (reached through A) and unregister when it goes.
#[test]
fn a_direct_kernel_and_a_nats_kernel_reach_each_other_through_a_kernel_on_both() {
    let test = "a_direct_kernel_and_a_nats_kernel_reach_each_other_through_a_kernel_on_both";
    if !nats_available(test) {
        return;
    }
    let server = NatsServer::start().unwrap();
    let (n, mut inbox) = notes();
    let a = nats_kernel_serving("A", &server.url(), &n);
    let b = nats_kernel("B", &server.url(), "IKC::Native", &n);
    wait_monitor(&mut inbox, "A", MonitorOp::Register, "B");
    let m = direct_kernel("M", a.value.0, &n);
    // Each hears of the other, reached through A.
    let up = wait_monitor(&mut inbox, "B", MonitorOp::Register, "M");
    assert_eq!(up.text(5), "routed", "{up:?}");
    let up = wait_monitor(&mut inbox, "M", MonitorOp::Register, "B");
    assert_eq!(up.text(5), "routed", "{up:?}");

    let at_m =
        |state: &str, args: Vec<Value>| m.value.call("drvM", state.to_owned(), args).unwrap();
    let at_b =
        |state: &str, args: Vec<Value>| b.value.call("drvB", state.to_owned(), args).unwrap();

    // M -> B through A: a post and a call, the answer back to M.
    assert_eq!(
        at_m("post", vec![s("poe://B/test/here"), s("from M")]),
        1.into()
    );
    assert_eq!(inbox.wait("here@B").args, [s("from M")]);
    at_m(
        "call",
        vec![s("poe://B/test/add_1"), 41.into(), s("m_answer")],
    );
    assert_eq!(inbox.wait("m_answer").args, [Value::from(42)]);

    // B -> M, started on the NATS side.
    assert_eq!(
        at_b("post", vec![s("poe://M/test/here"), s("from B")]),
        1.into()
    );
    assert_eq!(inbox.wait("here@M").args, [s("from B")]);
    at_b(
        "call",
        vec![s("poe://M/test/add_1"), 9.into(), s("b_answer")],
    );
    assert_eq!(inbox.wait("b_answer").args, [Value::from(10)]);

    // `*` from either side reaches all three, once each.
    for (from, round) in [("B", "star from B"), ("M", "star from M")] {
        let sent = if from == "B" {
            at_b("post", vec![s("poe://*/test/here"), s(round)])
        } else {
            at_m("post", vec![s("poe://*/test/here"), s(round)])
        };
        assert_eq!(sent, 3.into(), "{round}");
        for at in ["A", "B", "M"] {
            assert_eq!(
                inbox.wait(&format!("here@{at}")).args,
                [s(round)],
                "{round} at {at}"
            );
        }
    }

    // M goes: B hears it unregister; B leaves NATS: A hears it, and M too.
    m.value.call("drvM", "shutdown", vec![]).unwrap();
    wait_monitor(&mut inbox, "B", MonitorOp::Unregister, "M");
    m.join().unwrap();
    let m = direct_kernel("M", a.value.0, &n);
    wait_monitor(&mut inbox, "B", MonitorOp::Register, "M");
    wait_monitor(&mut inbox, "M", MonitorOp::Register, "B");
    b.value.call("drvB", "shutdown", vec![]).unwrap();
    wait_monitor(&mut inbox, "A", MonitorOp::Unregister, "B");
    wait_monitor(&mut inbox, "M", MonitorOp::Unregister, "B");
    b.join().unwrap();
    assert_eq!(
        m.value
            .call("drvM", "post", vec![s("poe://B/test/here"), s("late")])
            .unwrap(),
        0.into()
    );
    m.value.call("drvM", "shutdown", vec![]).unwrap();
    m.join().unwrap();
    a.value.1.call("drvA", "shutdown", vec![]).unwrap();
    a.join().unwrap();
}

/// Kernel `label` on NATS (as [`nats_kernel`]) with a session `node`
/// publishing `hello` (noted `hello@<label>`) and `echo` (ARG0), as the
/// Perl mesh peers expect of the kernel they talk to.
fn nats_kernel_with_node(
    label: &'static str,
    urls: &str,
    notes: &Notes,
) -> KernelThread<KernelHandle> {
    ikc_tests::robust::init_logging();
    let (urls, n) = (urls.to_owned(), notes.clone());
    spawn_kernel(label, move |kernel| {
        kernel.spawn(driver(&n, &format!("drv{label}")));
        test_session(kernel, &n, label);
        let hello = (n.clone(), format!("hello@{label}"));
        kernel.spawn(
            InlineStates::new()
                .state("_start", |_, ctx, _| {
                    ctx.alias_set("node").expect("alias free");
                    Responder::spawn(ctx).publish("node", &["hello", "echo"]);
                })
                .state("hello", move |_, _, ev| {
                    hello.0.send(hello.1.as_str(), ev.args)
                })
                .state("echo", |_, _, ev| {
                    ev.args.into_iter().next().unwrap_or_default()
                }),
        );
        let config = NatsConfig::new(&urls).name(label).heartbeat(HEARTBEAT);
        ikc_nats::attach(kernel, config)?;
        Ok(kernel.handle())
    })
}

/// A served on TCP and on NATS, B on NATS, and M linked to A over TCP,
/// once M hears of B through A (so A's mesh has B).
struct Bridged {
    a: KernelThread<(u16, KernelHandle)>,
    b: KernelThread<KernelHandle>,
    m: KernelThread<KernelHandle>,
    _server: NatsServer,
}

impl Bridged {
    fn start(notes: &Notes, inbox: &mut Inbox) -> Self {
        let server = NatsServer::start().unwrap();
        let a = nats_kernel_serving("A", &server.url(), notes);
        let b = nats_kernel_with_node("B", &server.url(), notes);
        let m = direct_kernel("M", a.value.0, notes);
        wait_monitor(inbox, "M", MonitorOp::Register, "B");
        Self {
            a,
            b,
            m,
            _server: server,
        }
    }

    fn stop(self) {
        self.m.value.call("drvM", "shutdown", vec![]).unwrap();
        self.m.join().unwrap();
        shutdown(vec![self.b], &["B"]);
        self.a.value.1.call("drvA", "shutdown", vec![]).unwrap();
        self.a.join().unwrap();
    }
}

/// What a leaf that speaks IKC as Perl does (Storable only, no native
/// codec) gets from A when it connects: the NATS kernels offered as names
/// of A in the handshake, calls to them answered through A, and calls from
/// them naming the leaf alone with the RSVP through A. Always runs.
#[test]
fn a_perl_style_leaf_of_a_nats_kernel_reaches_the_bus() {
    let test = "a_perl_style_leaf_of_a_nats_kernel_reaches_the_bus";
    if !nats_available(test) {
        return;
    }
    let (n, mut inbox) = notes();
    let mesh = Bridged::start(&n, &mut inbox);
    let mut leaf =
        RawPeer::connect(&Endpoint::Tcp(mesh.a.value.0), "RawLeaf", &["Storable"]).unwrap();
    let peer = leaf.handshake().unwrap();
    assert_eq!(peer.kernel_id, mesh.a.kernel_id);
    for name in ["A", "B", "M", mesh.b.kernel_id.as_str()] {
        assert!(
            peer.aliases.iter().any(|a| a == name),
            "{name} not offered: {peer:?}"
        );
    }
    // The leaf calls B on the bus through A.
    assert_eq!(
        leaf.call("poe://B/node/echo", "raw-call").unwrap(),
        s("raw-call")
    );
    leaf.send(&Message::post("poe://B/node/hello", s("raw-post")))
        .unwrap();
    assert_eq!(inbox.wait("hello@B").args, [s("raw-post")]);

    // B calls the leaf: the request names it alone, without the mesh's
    // keys, its RSVP through A.
    let up = wait_monitor(&mut inbox, "B", MonitorOp::Register, "RawLeaf");
    assert_eq!(up.text(5), "routed");
    mesh.b
        .value
        .call(
            "drvB",
            "call",
            vec![s("poe://RawLeaf/me/twice"), 21.into(), s("leaf_answer")],
        )
        .unwrap();
    let req = leaf.recv().unwrap();
    assert_eq!(
        req.event,
        MessageTarget::Text("poe://RawLeaf/me/twice".into()),
        "{req:?}"
    );
    assert!(req.extra.is_empty(), "no mesh keys for a leaf: {req:?}");
    let rsvp = req.rsvp.clone().expect("an rsvp");
    assert_eq!(rsvp.kernel, "A");
    leaf.send(&Message::post(rsvp, Value::from(42))).unwrap();
    assert_eq!(inbox.wait("leaf_answer").args, [Value::from(42)]);
    drop(leaf);
    wait_monitor(&mut inbox, "B", MonitorOp::Unregister, "RawLeaf");
    mesh.stop();
}

/// Perl IKC 0.2402 connected to A reaches B on the bus through it (a post,
/// a call and its answer), and B posts to and calls the Perl kernel. Runs
/// when Perl IKC is installed.
#[test]
fn a_perl_kernel_reaches_nats_kernels_through_a_rust_kernel() {
    let test = "a_perl_kernel_reaches_nats_kernels_through_a_rust_kernel";
    if !nats_available(test) {
        return;
    }
    if !perl_ikc_available() {
        println!(
            "SKIPPED {test}: Perl's POE::Component::IKC is not installed \
             (`perl -MPOE::Component::IKC::ClientLite -e1` fails; set PERL5LIB to its lib)"
        );
        return;
    }
    let (n, mut inbox) = notes();
    let mesh = Bridged::start(&n, &mut inbox);
    let mut perl = Process::spawn(perl_command(
        "mesh-client.pl",
        &[&mesh.a.value.0.to_string(), "B"],
        &[],
    ))
    .unwrap();
    perl.wait_line(|l| l == "connected").unwrap();
    assert_eq!(inbox.wait("hello@B").text(0), "from-perl");
    perl.wait_line(|l| l == "reply: perl-call").unwrap();
    wait_monitor(&mut inbox, "B", MonitorOp::Register, "PerlLeaf");
    let at_b =
        |state: &str, args: Vec<Value>| mesh.b.value.call("drvB", state.to_owned(), args).unwrap();
    assert_eq!(
        at_b("post", vec![s("poe://PerlLeaf/me/greet"), s("from-B")]),
        1.into()
    );
    at_b(
        "call",
        vec![s("poe://PerlLeaf/me/twice"), 21.into(), s("perl_answer")],
    );
    assert_eq!(inbox.wait("perl_answer").args, [Value::from(42)]);
    let out = perl.wait().unwrap();
    let text = out.text();
    assert!(text.contains("greet: from-B"), "{text}");
    assert!(text.contains("twice: 21"), "{text}");
    assert!(!text.contains("monitor error"), "{text}");
    wait_monitor(&mut inbox, "B", MonitorOp::Unregister, "PerlLeaf");
    println!("interop: Perl POE client -> A (TCP) -> B (NATS): post, call, greet and call back");
    mesh.stop();
}

/// The mixed mesh (M linked over TCP to A; A and B on two servers of a
/// cluster of three) when A's server is killed: A reconnects to another
/// member, the pair A-B moves to a new generation, B hears A and M go and
/// come back, M hears B go and come back, and calls work both ways again.
#[test]
fn a_mixed_mesh_survives_a_cluster_member_killed() {
    let test = "a_mixed_mesh_survives_a_cluster_member_killed";
    if !nats_available(test) {
        return;
    }
    let mut cluster = NatsCluster::start().unwrap();
    let (n, mut inbox) = notes();
    let a = nats_kernel_serving("A", &cluster.servers[0].url(), &n);
    let b = nats_kernel("B", &cluster.servers[1].url(), "IKC::Native", &n);
    let m = direct_kernel("M", a.value.0, &n);
    for (at, about) in [("B", "A"), ("B", "M"), ("M", "B"), ("A", "B")] {
        wait_monitor(&mut inbox, at, MonitorOp::Register, about);
    }
    let at_m =
        |state: &str, args: Vec<Value>| m.value.call("drvM", state.to_owned(), args).unwrap();
    let at_b =
        |state: &str, args: Vec<Value>| b.value.call("drvB", state.to_owned(), args).unwrap();
    at_m(
        "call",
        vec![s("poe://B/test/add_1"), 1.into(), s("m_answer")],
    );
    assert_eq!(inbox.wait("m_answer").args, [Value::from(2)]);

    cluster.servers[0].kill();
    for (at, about) in [("B", "A"), ("B", "M"), ("M", "B"), ("A", "B")] {
        wait_monitor(&mut inbox, at, MonitorOp::Unregister, about);
    }
    for (at, about) in [("B", "A"), ("B", "M"), ("M", "B"), ("A", "B")] {
        wait_monitor(&mut inbox, at, MonitorOp::Register, about);
    }
    at_m(
        "call",
        vec![s("poe://B/test/add_1"), 2.into(), s("m_answer")],
    );
    assert_eq!(inbox.wait("m_answer").args, [Value::from(3)]);
    at_b(
        "call",
        vec![s("poe://M/test/add_1"), 3.into(), s("b_answer")],
    );
    assert_eq!(inbox.wait("b_answer").args, [Value::from(4)]);
    assert_eq!(
        at_b("post", vec![s("poe://*/test/here"), s("after")]),
        3.into()
    );
    for at in ["A", "B", "M"] {
        assert_eq!(
            inbox.wait(&format!("here@{at}")).args,
            [s("after")],
            "at {at}"
        );
    }
    m.value.call("drvM", "shutdown", vec![]).unwrap();
    m.join().unwrap();
    shutdown(vec![b], &["B"]);
    a.value.1.call("drvA", "shutdown", vec![]).unwrap();
    a.join().unwrap();
}

/// A kernel closes its link to a kernel on the bus (IKC's `close` to the
/// channel session): both hear the other unregister (the goodbye travels
/// over NATS), the pipes are opened again when the peer is next heard,
/// both register again, and calls work.
#[test]
fn a_link_closed_by_its_kernel_is_opened_again() {
    let test = "a_link_closed_by_its_kernel_is_opened_again";
    if !nats_available(test) {
        return;
    }
    let server = NatsServer::start().unwrap();
    let (n, mut inbox) = notes();
    let a = nats_kernel("A", &server.url(), "IKC::Native", &n);
    let b = nats_kernel("B", &server.url(), "IKC::Native", &n);
    wait_monitor(&mut inbox, "A", MonitorOp::Register, "B");
    wait_monitor(&mut inbox, "B", MonitorOp::Register, "A");
    let kernels = a.value.call("drvA", "kernels", vec![]).unwrap();
    let channel = kernels
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k.as_array().unwrap()[0].to_string() == b.kernel_id)
        .and_then(|k| k.as_array().unwrap()[2].as_i64())
        .expect("A's channel to B");
    let closed = a
        .value
        .call(
            "drvA",
            "post_session",
            vec![s(&channel.to_string()), s("close")],
        )
        .unwrap();
    assert_eq!(closed, true.into());
    wait_monitor(&mut inbox, "A", MonitorOp::Unregister, "B");
    wait_monitor(&mut inbox, "B", MonitorOp::Unregister, "A");
    wait_monitor(&mut inbox, "A", MonitorOp::Register, "B");
    wait_monitor(&mut inbox, "B", MonitorOp::Register, "A");
    a.value
        .call(
            "drvA",
            "call",
            vec![s("poe://B/test/add_1"), 5.into(), s("answer")],
        )
        .unwrap();
    assert_eq!(inbox.wait("answer").args, [Value::from(6)]);
    shutdown(vec![a, b], &["A", "B"]);
}
