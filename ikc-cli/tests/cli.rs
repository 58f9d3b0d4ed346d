//! The `ikc` binary as a user runs it: against our server (a kernel
//! publishing the `test` session, in a thread), against `ikc node`
//! processes, and against Perl's IKC server when it is installed. Exit
//! codes, `--json` output (parsed), and the messages of bad addresses, bad
//! JSON, unknown states and timeouts.

use std::process::Command;

use ikc_examples::test_session::spawn_test_session;
use ikc_tests::perl::{free_port, perl_command, wait_listening};
use ikc_tests::{
    Endpoint, Finished, KernelThread, Process, Served, TempDir, perl_ikc_available, spawn_server,
};
use serde_json::{Value as Json, json};

fn ikc(args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ikc"));
    cmd.args(args).env("RUST_LOG", "error");
    cmd
}

/// Run `ikc ARGS` to the end.
fn run(args: &[&str]) -> Finished {
    Process::spawn(ikc(args)).unwrap().wait().unwrap()
}

#[track_caller]
fn expect_code(out: &Finished, code: i32) {
    assert_eq!(
        out.status.code(),
        Some(code),
        "stdout:\n{}\nstderr:\n{}",
        out.text(),
        out.stderr
    );
}

#[track_caller]
fn json_line(out: &Finished) -> Json {
    expect_code(out, 0);
    assert_eq!(out.stdout.len(), 1, "one JSON line: {:?}", out.stdout);
    serde_json::from_str(&out.stdout[0]).unwrap()
}

/// Our server: kernel `Server`, `test` published (fetchQ, add_1, here, echo).
fn our_server(at: Endpoint) -> KernelThread<Served> {
    spawn_server(
        "Server",
        &at,
        |c| c.name("Server"),
        |k| {
            spawn_test_session(k, true);
            Ok(())
        },
    )
}

fn stop(server: KernelThread<Served>) {
    server.value.handle.post("IKC", "shutdown", vec![]).unwrap();
    server.join().unwrap();
}

#[test]
fn call_post_ping_against_our_server() {
    let server = our_server(Endpoint::Tcp(0));
    let port = server.value.at.port().to_string();
    let addr = format!("127.0.0.1:{port}");

    // A reply with everything JSON lacks comes back as the same JSON.
    let arg = r#"{"a":[1,2.5,null,true],"b":{"$bytes":"/wA="},"c":{"$ref":"x"},"d":{"$blessed":"My::Class","$value":{"k":[]}},"e":{"$hash":[["$x",1]]}}"#;
    let reply = json_line(&run(&["--json", "call", &port, "test/echo", arg]));
    assert_eq!(reply, serde_json::from_str::<Json>(arg).unwrap());
    // Each freezer, both handshakes, HOST:PORT or PORT.
    for extra in [
        &["--freezer", "Storable"][..],
        &[
            "--freezer",
            "POE::Component::IKC::Freezer",
            "--protocol",
            "IKC",
        ],
        &["--protocol", "ikc"],
    ] {
        let mut args = vec!["--json", "call", &addr, "test/fetchQ"];
        args.extend_from_slice(extra);
        assert_eq!(json_line(&run(&args)), json!(42), "{extra:?}");
    }
    assert_eq!(
        json_line(&run(&["--json", "call", "--list", &port, "test/fetchQ"])),
        json!([42])
    );
    // Without --json the reply is pretty-printed JSON.
    let out = run(&["call", &port, "test/echo", r#"{"k":[1]}"#]);
    expect_code(&out, 0);
    assert_eq!(
        serde_json::from_str::<Json>(&out.text()).unwrap(),
        json!({"k": [1]})
    );

    let out = run(&["--json", "post", &port, "test/here", r#""hello""#]);
    assert_eq!(json_line(&out), json!({"posted": "test/here"}));

    let out = run(&["ping", &port]);
    expect_code(&out, 0);
    let line = out.text();
    assert!(
        line.starts_with(&format!("PONG from {} in ", server.kernel_id)) && line.ends_with(" us"),
        "{line}"
    );
    let pong = json_line(&run(&["--json", "ping", &addr]));
    assert_eq!(pong["pong"], json!(server.kernel_id));
    assert!(pong["us"].is_u64(), "{pong}");

    // IKC errors: exit 1, the server's message on stderr.
    for cmd in ["call", "post"] {
        let out = run(&[cmd, &port, "test/nope", "1"]);
        expect_code(&out, 1);
        assert!(
            out.stderr
                .contains("Session 'test' has not published state 'nope'"),
            "{}",
            out.stderr
        );
    }
    let out = run(&["call", &port, "nosuch/state"]);
    expect_code(&out, 1);
    assert!(out.stderr.contains("nosuch"), "{}", out.stderr);
    let out = run(&["call", &port, "poe://"]);
    expect_code(&out, 1);
    assert!(out.stderr.contains("bad specifier"), "{}", out.stderr);

    // A state that returns undef sends no reply: the call times out (3).
    let out = run(&["call", "--timeout", "0.2", &port, "test/here", "1"]);
    expect_code(&out, 3);
    assert!(out.stderr.contains("timed out"), "{}", out.stderr);

    // Usage: exit 2 with what is wrong.
    for (args, says) in [
        (vec!["call", &port, "test/echo", "{bad"], "not JSON"),
        (
            vec!["call", &port, "test/echo", r#"{"$what":1}"#],
            "unknown form \"$what\"",
        ),
        (
            vec!["call", "nohost", "test/echo"],
            "bad address \"nohost\": no port",
        ),
        (
            vec!["call", "host:99999", "test/echo"],
            "the port is not a number",
        ),
        (vec!["ping", "unix:"], "the socket path is empty"),
        (
            vec!["call", &port, "test/echo", "--freezer", "YAML"],
            "no freezer named \"YAML\"",
        ),
        (
            vec!["call", &port, "test/echo", "--protocol", "IKC2"],
            "is not IKC0 or IKC",
        ),
        (vec!["call", &port], "SPEC"),
        (vec!["frobnicate"], "frobnicate"),
        (vec!["node", "--listen", "0"], "ikc node needs --name NAME"),
    ] {
        let out = run(&args);
        expect_code(&out, 2);
        assert!(out.stderr.contains(says), "{args:?}: {}", out.stderr);
    }
    stop(server);

    // Nothing listens any more: a connection failure (3).
    let out = run(&["ping", &port]);
    expect_code(&out, 3);
    assert!(out.stderr.contains("cannot connect to"), "{}", out.stderr);
}

#[test]
fn commands_over_a_unix_socket() {
    let dir = TempDir::new();
    let path = dir.path().join("server.sock");
    let server = our_server(Endpoint::Unix(path.clone()));
    let addr = format!("unix:{}", path.display());
    assert_eq!(
        json_line(&run(&[
            "--json",
            "call",
            &addr,
            "test/echo",
            r#"[1,"two"]"#
        ])),
        json!([1, "two"])
    );
    assert!(run(&["ping", &addr]).text().starts_with("PONG from "));
    stop(server);
}

/// The events an `ikc node --json` or `ikc watch --json` printed.
fn events(lines: &[String]) -> Vec<Json> {
    lines
        .iter()
        .filter_map(|l| serde_json::from_str::<Json>(l).ok())
        .filter(|e| e.get("event").is_some())
        .collect()
}

#[test]
fn a_mesh_of_nodes_started_in_any_order_and_watched() {
    let dir = TempDir::new();
    let a_sock = dir.path().join("a.sock");
    let a_addr = format!("unix:{}", a_sock.display());

    // B dials A before A is up: it keeps trying.
    let mut b = Process::spawn(ikc(&[
        "--json",
        "node",
        "--name",
        "B",
        "--listen",
        "127.0.0.1:0",
        "--connect",
        &a_addr,
    ]))
    .unwrap();
    let b_listen = b.wait_line(|l| l.contains("listening")).unwrap();
    let b_addr = serde_json::from_str::<Json>(&b_listen).unwrap()["listening"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        b_addr.starts_with("127.0.0.1:") && !b_addr.ends_with(":0"),
        "{b_addr}"
    );

    // A comes up, also dialling B: two links, each side registers the other.
    let mut a = Process::spawn(ikc(&[
        "node",
        "--name",
        "A",
        "--alias",
        "Alpha",
        "--listen",
        &a_addr,
        "--connect",
        &b_addr,
    ]))
    .unwrap();
    assert_eq!(
        a.wait_line(|l| l.starts_with("listening on")).unwrap(),
        format!("listening on {a_addr}")
    );
    let registered = b
        .wait_line(|l| l.contains(r#""event":"register""#) && l.contains(r#""kernel":"A""#))
        .unwrap();
    let registered: Json = serde_json::from_str(&registered).unwrap();
    assert_eq!(registered["real"], json!(false));
    a.wait_line(|l| l.starts_with("register B")).unwrap();

    // A watcher of A sees B's unregistering when B stops.
    let mut watch = Process::spawn(ikc(&[
        "--json",
        "watch",
        &a_addr,
        "--ops",
        "unregister",
        "--count",
        "1",
    ]))
    .unwrap();
    let watching = watch.wait_line(|l| l.contains("watching")).unwrap();
    assert_eq!(
        serde_json::from_str::<Json>(&watching).unwrap(),
        json!({"watching": {"kernel": "*", "at": a_addr, "ops": ["unregister"]}})
    );
    b.interrupt().unwrap();
    let b = b.wait().unwrap();
    expect_code(&b, 0);
    assert!(
        events(&b.stdout).iter().any(|e| e["event"] == "shutdown"),
        "{:?}",
        b.stdout
    );
    let seen = watch.wait_line(|l| l.contains("unregister")).unwrap();
    let seen: Json = serde_json::from_str(&seen).unwrap();
    assert_eq!(seen["event"], json!("unregister"));
    let watch = watch.wait().unwrap();
    expect_code(&watch, 0);

    // A keeps redialling B; it stops cleanly on SIGTERM-like SIGINT.
    a.interrupt().unwrap();
    let a = a.wait().unwrap();
    expect_code(&a, 0);
    assert!(a.text().contains("unregister B"), "{}", a.text());
    assert_eq!(a.stdout.last().map(String::as_str), Some("shutdown *"));
}

#[test]
fn watch_names_a_kernel_that_cannot_be_watched() {
    let server = our_server(Endpoint::Tcp(0));
    let port = server.value.at.port().to_string();
    let out = run(&["watch", &port, "--ops", "register,sideways"]);
    expect_code(&out, 1);
    assert!(
        out.stderr.contains("unknown operation \"sideways\""),
        "{}",
        out.stderr
    );
    stop(server);
}

#[test]
fn one_shot_commands_against_perl_ikc() {
    if !perl_ikc_available() {
        println!(
            "SKIP one_shot_commands_against_perl_ikc: Perl's POE::Component::IKC is not \
             installed (`perl -MPOE::Component::IKC::ClientLite -e1` fails; set PERL5LIB to its lib)"
        );
        return;
    }
    for proto in ["IKC0", "IKC"] {
        let port = free_port();
        let perl = Process::spawn(perl_command(
            "server.pl",
            &[&port.to_string()],
            &[("PROTO", proto)],
        ))
        .unwrap();
        wait_listening(port).unwrap();
        let port = port.to_string();
        assert_eq!(
            json_line(&run(&["--json", "call", &port, "test/fetchQ"])),
            json!(42)
        );
        let arg = r#"{"a":[1,"two",null],"b":{"$ref":"s"},"c":-7,"d":{"e":[]}}"#;
        assert_eq!(
            json_line(&run(&["--json", "call", &port, "test/echo", arg])),
            serde_json::from_str::<Json>(arg).unwrap()
        );
        let out = run(&[
            "--json",
            "--freezer",
            "POE::Component::IKC::Freezer",
            "post",
            &port,
            "test/here",
            r#""hi""#,
        ]);
        assert_eq!(json_line(&out), json!({"posted": "test/here"}));
        let out = run(&["ping", &port]);
        expect_code(&out, 0);
        assert!(out.text().starts_with("PONG from "), "{}", out.text());
        let out = run(&["call", &port, "test/nope"]);
        expect_code(&out, 1);
        assert!(out.stderr.contains("nope"), "{}", out.stderr);
        // Perl has no IKC/watch: a clear IKC error.
        let out = run(&["watch", &port]);
        expect_code(&out, 1);
        assert!(out.stderr.contains("watch"), "{}", out.stderr);
        let _ = perl.kill();
    }
}

/// `ikc ARGS` that succeeds printing one JSON object per line.
#[track_caller]
fn json_lines(args: &[&str]) -> Vec<Json> {
    let out = run(args);
    expect_code(&out, 0);
    out.stdout
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// `ikc --json TOPIC ADDR`, one JSON object per line.
#[track_caller]
fn listing(topic: &str, addr: &str) -> Vec<Json> {
    json_lines(&["--json", topic, addr])
}

#[test]
fn introspection_of_our_server() {
    let server = our_server(Endpoint::Tcp(0));
    let port = server.value.at.port().to_string();
    assert_eq!(
        json_line(&run(&["--json", "call", &port, "test/fetchQ"])),
        json!(42)
    );
    expect_code(&run(&["call", &port, "test/nope"]), 1);

    let kernels = listing("kernels", &port);
    let me = kernels
        .iter()
        .find(|k| k["id"] == json!(server.kernel_id))
        .expect("the server itself");
    assert_eq!(me["reached"], json!("local"));
    assert!(me["aliases"].as_array().unwrap().contains(&json!("Server")));
    // The asking client is one of the kernels, reached through its link.
    let direct: Vec<&Json> = kernels
        .iter()
        .filter(|k| k["reached"] == "direct")
        .collect();
    assert_eq!(direct.len(), 1, "{kernels:?}");

    let links = listing("links", &port);
    assert_eq!(links.len(), 1, "only the asking connection: {links:?}");
    let link = &links[0];
    assert_eq!(link["side"], json!("server"));
    assert_eq!(link["protocol"], json!("IKC0"));
    assert_eq!(link["freezer"], json!("IKC::Native"));
    assert_eq!(link["messages_in"], json!(1), "the request itself");
    assert!(link["bytes_in"].as_u64().unwrap() > 0);
    assert_eq!(link["tls"], json!(false));
    // Each `ikc` run is a kernel of its own: `ikc-PID`.
    assert!(link["peer"].as_str().unwrap().starts_with("ikc-"), "{link}");
    assert!(
        direct[0]["id"].as_str().unwrap().starts_with("ikc-"),
        "{direct:?}"
    );

    let routes = listing("routes", &port);
    assert_eq!(routes.len(), 1, "{routes:?}");
    // One hop over the asking connection (that `ikc` run's), at the
    // weight the router gives such a link.
    assert_eq!(routes[0]["cost"], link["weight"], "{routes:?} {link}");
    assert_eq!(routes[0]["hops"], json!(1));
    assert_eq!(routes[0]["destination"], routes[0]["next_hop"]);
    // A leaf (the `ikc` tool) is never probed: no round trip.
    assert_eq!(link["rtt_us"], json!(null));

    let sessions = listing("sessions", &port);
    let test = sessions
        .iter()
        .find(|s| s["aliases"] == json!(["test"]))
        .expect("the test session");
    assert_eq!(
        test["published"],
        json!(["add_1", "echo", "fetchQ", "here"])
    );

    let counters = json_line(&run(&["--json", "counters", &port]));
    // fetchQ, nope's check failing, and the introspection calls before this one.
    assert!(counters["delivered"].as_u64().unwrap() >= 5, "{counters}");
    assert_eq!(counters["dropped"]["check"], json!(1), "{counters}");
    assert_eq!(counters["errors"]["local-check"], json!(1), "{counters}");
    assert_eq!(counters["routed"], json!(0));

    // The tables a person reads.
    let out = run(&["links", &port]);
    expect_code(&out, 0);
    assert!(out.stdout[0].starts_with("CHANNEL  SIDE"), "{}", out.text());
    let out = run(&["counters", &port]);
    expect_code(&out, 0);
    assert!(out.text().contains("dropped    1 check"), "{}", out.text());
    stop(server);
}

#[test]
fn watch_prints_messages_leaving_arriving_and_dropped() {
    let server = our_server(Endpoint::Tcp(0));
    let port = server.value.at.port().to_string();
    let mut watch = Process::spawn(ikc(&[
        "--json",
        "watch",
        &port,
        "--ops",
        "leaving,arriving,dropped",
        "--count",
        "5",
        "--max-len",
        "20",
    ]))
    .unwrap();
    watch.wait_line(|l| l.contains("watching")).unwrap();
    let long = format!("\"{}\"", "x".repeat(30));
    assert_eq!(
        json_line(&run(&[
            "--json",
            "--name",
            "caller",
            "call",
            &port,
            "test/echo",
            &long
        ])),
        json!("x".repeat(30))
    );
    expect_code(
        &run(&["--name", "caller2", "post", &port, "test/nope", "[1]"]),
        1,
    );
    let watch = watch.wait().unwrap();
    expect_code(&watch, 0);
    let seen = events(&watch.stdout);
    let ops: Vec<&str> = seen.iter().map(|e| e["event"].as_str().unwrap()).collect();
    assert_eq!(
        ops,
        ["arriving", "leaving", "arriving", "dropped", "leaving"],
        "{seen:?}"
    );
    // The call arriving: from the caller, to test/echo, its argument cut at 20.
    assert_eq!(seen[0]["kernel"], json!("caller"));
    assert_eq!(seen[0]["from"], json!("poe://caller/IKCLite"));
    assert_eq!(seen[0]["state"], json!("echo"));
    assert!(seen[0]["size"].as_u64().unwrap() > 30);
    assert_eq!(seen[0]["args"], json!(format!("\"{}...", "x".repeat(16))));
    // Its answer leaving for the caller's RSVP.
    assert_eq!(seen[1]["to"], json!("poe://caller/IKCLite/response0"));
    // The post to a session that is not there: dropped, with the reason,
    // then the error report leaving for its sender.
    assert_eq!(seen[2]["args"], json!([1]));
    assert_eq!(seen[3]["kernel"], json!("caller2"));
    assert_eq!(seen[3]["args"], json!([1]), "what was refused: {}", seen[3]);
    assert!(
        seen[3]["reason"]
            .as_str()
            .unwrap()
            .contains("Session 'test' has not published state 'nope'"),
        "{}",
        seen[3]
    );
    assert_eq!(seen[4]["to"], json!("poe://caller2/IKC/remote_error"));
    stop(server);
}

#[test]
fn trace_prints_each_hop() {
    let server = our_server(Endpoint::Tcp(0));
    let port = server.value.at.port().to_string();
    // Delivered on the kernel at ADDR itself: one hop.
    let out = run(&["--json", "trace", &port, "test/echo", "[1]"]);
    let hop = json_line(&out);
    assert_eq!(hop["action"], json!("delivered"));
    assert_eq!(hop["kernel"], json!(server.kernel_id));
    assert_eq!(
        hop["to"],
        json!(format!("poe://{}/test/echo", server.kernel_id))
    );

    // Through the server to a node linked to it: sent, then delivered there.
    let mut node = Process::spawn(ikc(&["node", "--name", "Far", "--connect", &port])).unwrap();
    node.wait_line(|l| l.starts_with("register ") && l.contains("(real)"))
        .unwrap();
    let hops = json_lines(&["--json", "trace", &port, "poe://Far/IKC/ping", r#""PING""#]);
    assert_eq!(hops.len(), 2, "{hops:?}");
    assert_eq!(hops[0]["action"], json!("sent"));
    assert_eq!(hops[0]["kernel"], json!(server.kernel_id));
    assert_eq!(hops[1]["action"], json!("delivered"));
    assert_eq!(hops[1]["kernel"], hops[0]["link"]);
    assert_ne!(hops[1]["kernel"], json!(server.kernel_id));

    // Not delivered: the hop says why, and the exit code is 1.
    let out = run(&["trace", &port, "poe://Far/nope/x"]);
    expect_code(&out, 1);
    assert!(out.stdout[0].contains(" sent -> "), "{}", out.text());
    assert!(
        out.stdout[1].contains(" dropped because Session 'nope' is not available"),
        "{}",
        out.text()
    );
    assert!(
        out.stderr.contains("the message was dropped at"),
        "{}",
        out.stderr
    );
    let out = run(&["trace", &port, "poe://Nowhere/x/y"]);
    expect_code(&out, 1);
    assert!(
        out.text().contains("cannot send to poe://Nowhere/x/y"),
        "{}",
        out.text()
    );

    node.interrupt().unwrap();
    expect_code(&node.wait().unwrap(), 0);
    stop(server);
}

/// `--secret-file`, `--tls-ca`, `--tls-cert`, `--tls-key`: `ikc call`
/// against a server requiring both, with and without them; and an `ikc
/// node` listening with TLS and the secret, called by `ikc`.
#[test]
fn secret_and_tls_options() {
    let pki = ikc_tests::TestPki::new();
    let dir = TempDir::new();
    let secret_file = dir.path().join("secret");
    std::fs::write(&secret_file, "cli secret\n").unwrap();
    let secret = ikc_clientlite::Secret::from_file(&secret_file).unwrap();
    let tls = pki.server("server", false);
    let server = spawn_server(
        "Server",
        &Endpoint::Tcp(0),
        move |c| c.name("Server").secret(secret).tls(tls),
        |k| {
            spawn_test_session(k, true);
            Ok(())
        },
    );
    let addr = format!("127.0.0.1:{}", server.value.at.port());
    let (secret_file, ca) = (
        secret_file.to_str().unwrap().to_owned(),
        pki.path("ca.pem").to_str().unwrap().to_owned(),
    );
    let secure = [
        "--secret-file",
        &secret_file,
        "--tls-ca",
        &ca,
        "--tls-name",
        "localhost",
    ];
    let mut args = secure.to_vec();
    args.extend(["--json", "call", &addr, "test/fetchQ"]);
    assert_eq!(json_line(&run(&args)), json!(42));
    // `ikc links` shows the link it asks over: TLS, both ends authenticated.
    let mut args = secure.to_vec();
    args.extend(["--json", "links", &addr]);
    let link = json_line(&run(&args));
    assert_eq!(link["tls"], json!(true), "{link}");
    assert_eq!(link["authenticated"], json!(true), "{link}");
    // Without the secret, or without TLS: refused, exit code 3, and why.
    let out = run(&[
        "--tls-ca",
        &ca,
        "--tls-name",
        "localhost",
        "call",
        &addr,
        "test/fetchQ",
    ]);
    expect_code(&out, 3);
    assert!(
        out.stderr.contains("authentication required"),
        "{}",
        out.stderr
    );
    let out = run(&["--secret-file", &secret_file, "call", &addr, "test/fetchQ"]);
    expect_code(&out, 3);
    stop(server);

    // A node listening with TLS (--tls-cert/--tls-key) and the secret.
    let (cert, key) = (
        pki.path("server.pem").to_str().unwrap().to_owned(),
        pki.path("server.key").to_str().unwrap().to_owned(),
    );
    let mut node = Process::spawn(ikc(&[
        "--json",
        "--name",
        "Secure",
        "--secret-file",
        &secret_file,
        "--tls-cert",
        &cert,
        "--tls-key",
        &key,
        "node",
        "--listen",
        "127.0.0.1:0",
    ]))
    .unwrap();
    let line = node.wait_line(|l| l.contains("listening")).unwrap();
    let at: Json = serde_json::from_str(&line).unwrap();
    let at = at["listening"].as_str().unwrap().to_owned();
    let mut args = vec![
        "--secret-file",
        secret_file.as_str(),
        "--tls-ca",
        ca.as_str(),
        "--tls-name",
        "localhost",
    ];
    args.extend(["--json", "ping", at.as_str()]);
    let out = run(&args);
    expect_code(&out, 0);
    let _ = node.kill();
}

/// Start `ikc --json node --name NAME ARGS...` and wait for its
/// `listening` line when it listens: the process and the address.
fn json_node(name: &str, args: &[&str]) -> (Process, Option<String>) {
    let mut all = vec!["--json", "node", "--name", name];
    all.extend_from_slice(args);
    let mut node = Process::spawn(ikc(&all)).unwrap();
    let at = args.contains(&"--listen").then(|| {
        let line = node.wait_line(|l| l.contains("listening")).unwrap();
        serde_json::from_str::<Json>(&line).unwrap()["listening"]
            .as_str()
            .unwrap()
            .to_owned()
    });
    (node, at)
}

/// Wait until `node` (a `--json` node) prints that `kernel` registered.
fn wait_registered(node: &mut Process, kernel: &str) -> Json {
    let needle = format!(r#""kernel":"{kernel}""#);
    let line = node
        .wait_line(|l| l.contains(r#""event":"register""#) && l.contains(&needle))
        .unwrap();
    serde_json::from_str(&line).unwrap()
}

/// The entry of `listing` whose `key` is `value`.
#[track_caller]
fn entry<'a>(listing: &'a [Json], key: &str, value: &Json) -> &'a Json {
    listing
        .iter()
        .find(|e| &e[key] == value)
        .unwrap_or_else(|| panic!("no {key} = {value} in {listing:#?}"))
}

/// A line of three nodes, A - B - C: A reaches C only through B. `ikc
/// kernels`, `routes` and `links` show the routed kernel, its route and
/// the links' measured round trips; `ikc watch --ops routed` at B sees a
/// call from A's side to C pass through B both ways (and no `arriving`);
/// `ikc trace` prints each hop; the counters count what was routed.
#[test]
fn a_three_kernel_mesh_introspected_watched_and_traced() {
    let (mut a, a_addr) = json_node("A", &["--listen", "127.0.0.1:0"]);
    let a_addr = a_addr.unwrap();
    let (b, b_addr) = json_node("B", &["--listen", "127.0.0.1:0", "--connect", &a_addr]);
    let b_addr = b_addr.unwrap();
    let (mut c, _) = json_node("C", &["--connect", &b_addr]);
    // A hears of C through B: registered as routed.
    let c_at_a = wait_registered(&mut a, "C");
    assert_eq!(c_at_a["args"][1], json!("routed"), "{c_at_a}");
    wait_registered(&mut c, "A");

    let kernels = listing("kernels", &a_addr);
    let own = entry(&kernels, "reached", &json!("local"));
    assert!(own["aliases"].as_array().unwrap().contains(&json!("A")));
    assert!(own["incarnation"].is_u64(), "{own}");
    let named = |name: &str| {
        kernels
            .iter()
            .find(|k| k["aliases"].as_array().unwrap().contains(&json!(name)))
            .unwrap_or_else(|| panic!("no kernel named {name} in {kernels:#?}"))
            .clone()
    };
    let (kb, kc) = (named("B"), named("C"));
    assert_eq!(kb["reached"], json!("direct"), "{kb}");
    assert_eq!(kb["hops"], json!(1));
    assert!(kb["incarnation"].is_u64(), "{kb}");
    assert_eq!(kc["reached"], json!("routed"), "{kc}");
    assert_eq!(kc["via"], kb["id"], "{kc}");
    assert_eq!(kc["hops"], json!(2));
    assert!(kc["incarnation"].is_u64(), "{kc}");
    // Through B's link.
    assert_eq!(kc["channel"], kb["channel"]);
    let (b_id, c_id) = (kb["id"].clone(), kc["id"].clone());

    let routes = listing("routes", &a_addr);
    let to_b = entry(&routes, "destination", &b_id);
    let to_c = entry(&routes, "destination", &c_id);
    assert_eq!(to_b["next_hop"], b_id);
    assert_eq!(to_b["hops"], json!(1));
    assert_eq!(to_c["next_hop"], b_id, "{to_c}");
    assert_eq!(to_c["hops"], json!(2));
    assert!(
        to_c["cost"].as_u64().unwrap() > to_b["cost"].as_u64().unwrap(),
        "{routes:?}"
    );
    assert_eq!(to_c["channel"], to_b["channel"]);

    // The link to B: measured by the router's probes (the first one goes
    // out as the link comes up; a reply may still be on its way, so ask
    // again until it is in); the asking `ikc` is a leaf, never probed.
    let mut asked = 0;
    let links = loop {
        let links = listing("links", &a_addr);
        if entry(&links, "peer", &b_id)["rtt_us"].is_u64() {
            break links;
        }
        asked += 1;
        assert!(asked < 50, "no round trip measured: {links:#?}");
    };
    let to_b = entry(&links, "peer", &b_id);
    assert!(to_b["weight"].as_u64().unwrap() > 0, "{to_b}");
    let leaf = links.iter().find(|l| l["peer"] != b_id).unwrap();
    assert_eq!(leaf["rtt_us"], json!(null), "{leaf}");
    let out = run(&["links", &a_addr]);
    expect_code(&out, 0);
    assert!(out.stdout[0].ends_with("RTT_US  WEIGHT"), "{}", out.text());

    // B passes a call from A's side to C on, and its answer back; nothing
    // of it arrives at B itself.
    let mut watch = Process::spawn(ikc(&[
        "--json",
        "watch",
        &b_addr,
        "--ops",
        "routed,arriving",
        "--count",
        "2",
    ]))
    .unwrap();
    watch.wait_line(|l| l.contains("watching")).unwrap();
    let out = run(&[
        "--json",
        "--name",
        "asker",
        "call",
        &a_addr,
        "poe://C/IKC/ping",
        r#""PING""#,
    ]);
    assert_eq!(json_line(&out), json!("PONG"));
    let watch = watch.wait().unwrap();
    expect_code(&watch, 0);
    let seen = events(&watch.stdout);
    let ops: Vec<&str> = seen.iter().map(|e| e["event"].as_str().unwrap()).collect();
    assert_eq!(ops, ["routed", "routed"], "{seen:#?}");
    // The call on its way to C, from the asker.
    assert_eq!(seen[0]["kernel"], c_id);
    assert_eq!(seen[0]["state"], json!("ping"));
    assert_eq!(seen[0]["from"], json!("poe://asker/IKCLite"));
    assert_eq!(seen[0]["args"], json!("PING"));
    // Its answer on its way back to A (for the asker).
    assert_eq!(
        seen[1]["kernel"],
        entry(&kernels, "reached", &json!("local"))["id"]
    );
    assert_eq!(seen[1]["to"], json!("poe://asker/IKCLite/response0"));

    // Each hop of a traced message: sent at A, routed at B, delivered at C.
    let hops = json_lines(&["--json", "trace", &a_addr, "poe://C/IKC/ping", r#""PING""#]);
    let did: Vec<(&str, &Json)> = hops
        .iter()
        .map(|h| (h["action"].as_str().unwrap(), &h["kernel"]))
        .collect();
    assert_eq!(
        did,
        [
            ("sent", &own["id"]),
            ("routed", &b_id),
            ("delivered", &c_id)
        ],
        "{hops:#?}"
    );
    assert_eq!(hops[0]["link"], b_id);
    assert_eq!(hops[1]["link"], c_id);
    let out = run(&["trace", &a_addr, "poe://C/IKC/ping"]);
    expect_code(&out, 0);
    assert_eq!(out.stdout.len(), 3, "{}", out.text());
    assert!(
        out.stdout[1].starts_with("hop 2 ")
            && out.stdout[1].ends_with(&format!(
                "{} routed -> {}",
                b_id.as_str().unwrap(),
                c_id.as_str().unwrap()
            )),
        "{}",
        out.text()
    );

    // B routed the call, its answer and the traced messages (both ways
    // for the hops C reported to A); it sent and delivered none of them.
    let counters = json_line(&run(&["--json", "counters", &b_addr]));
    assert!(counters["routed"].as_u64().unwrap() >= 6, "{counters}");
    let counters = json_line(&run(&["--json", "counters", &a_addr]));
    assert!(counters["routed"].as_u64().unwrap() >= 2, "{counters}");

    for node in [a, b, c] {
        node.interrupt().unwrap();
        expect_code(&node.wait().unwrap(), 0);
    }
}

/// The introspection states of `IKC` are requests like any other: with a
/// request hook set, a kernel it refuses gets IKC's refusal, and `ikc`
/// exits 1 saying why.
#[test]
fn introspection_goes_through_the_request_hook() {
    let server = spawn_server(
        "Guarded",
        &Endpoint::Tcp(0),
        |c| c.name("Guarded"),
        |k| {
            spawn_test_session(k, true);
            k.spawn(ikc_core::InlineStates::new().state("_start", |_, ctx, _| {
                let ikc = ikc_responder::Ikc::of(ctx).expect("a responder");
                ikc.authorize_requests(|req| {
                    if req.remote_kernel == "intruder" && req.session == "IKC" {
                        Err(format!(
                            "{} may not look at {}",
                            req.remote_kernel, req.state
                        ))
                    } else {
                        Ok(())
                    }
                });
            }));
            Ok(())
        },
    );
    let port = server.value.at.port().to_string();
    for topic in ["links", "kernels", "routes", "sessions", "counters"] {
        let out = run(&["--name", "intruder", topic, &port]);
        expect_code(&out, 1);
        assert!(
            out.stderr
                .contains(&format!("Not authorized: intruder may not look at {topic}")),
            "{topic}: {}",
            out.stderr
        );
        assert!(out.stdout.is_empty(), "{topic}: {}", out.text());
    }
    for args in [
        &["watch", &port][..],
        &["trace", &port, "test/echo", "1"][..],
    ] {
        let mut all = vec!["--name", "intruder"];
        all.extend_from_slice(args);
        let out = run(&all);
        expect_code(&out, 1);
        assert!(
            out.stderr.contains("Not authorized"),
            "{args:?}: {}",
            out.stderr
        );
    }
    // Others may look, and the intruder may still call what the hook allows.
    expect_code(&run(&["--name", "operator", "links", &port]), 0);
    assert_eq!(
        json_line(&run(&[
            "--name",
            "intruder",
            "--json",
            "call",
            &port,
            "test/fetchQ"
        ])),
        json!(42)
    );
    stop(server);
}

/// `ikc node --listen ... --nats URL` bridges its direct peers and the bus:
/// `ikc ping` and `ikc trace` connected to it reach a node that is only on
/// NATS. Skips (with a line) when nats-server is missing outside CI.
#[test]
fn a_node_on_nats_and_tcp_bridges_them() {
    if !ikc_tests::nats::nats_available("a_node_on_nats_and_tcp_bridges_them") {
        return;
    }
    let bus = ikc_nats::server::NatsServer::start().unwrap();
    let url = bus.url();
    let (mut edge, addr) = json_node("Edge", &["--listen", "127.0.0.1:0", "--nats", &url]);
    let addr = addr.expect("Edge listens");
    let mut busy = Process::spawn(ikc(&["node", "--name", "OnBus", "--nats", &url])).unwrap();
    busy.wait_line(|l| l.starts_with("register Edge")).unwrap();
    wait_registered(&mut edge, "OnBus");

    let out = run(&["ping", &addr, "OnBus"]);
    expect_code(&out, 0);
    assert!(out.text().contains("PONG from OnBus"), "{}", out.text());
    let hops = json_lines(&[
        "--json",
        "trace",
        &addr,
        "poe://OnBus/IKC/ping",
        r#""PING""#,
    ]);
    assert_eq!(hops.len(), 2, "{hops:?}");
    assert_eq!(hops[0]["action"], json!("sent"));
    assert_eq!(hops[1]["action"], json!("delivered"));

    for node in [busy, edge] {
        node.interrupt().unwrap();
        expect_code(&node.wait().unwrap(), 0);
    }
}
