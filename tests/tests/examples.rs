//! The example programs: their logic run in threads (the same code the
//! binaries run, from the examples' library), and the binaries themselves
//! run as separate processes talking over loopback.
//!
//! The process tests use the binaries `cargo test --workspace` builds next
//! to this test (`target/<profile>/examples/`); building them from a test
//! would take Cargo's lock and minutes. When they are not there (say,
//! `cargo test -p ikc-tests` alone), the test prints a SKIP line saying so.

use std::process::Command;
use std::sync::mpsc;
use std::time::Duration;

use ikc_core::Kernel;
use ikc_examples::demo::{ClientOptions, run_client};
use ikc_examples::test_session::{spawn_connection_monitor, spawn_test_session};
use ikc_examples::timeserver::{TimeClientOptions, run_time_client, spawn_time_server};
use ikc_examples::watcher::{WatchEvent, WatcherOptions, run_watcher};
use ikc_freezer::{DUMPER, STORABLE};
use ikc_responder::Protocol;
use ikc_server::Server;
use ikc_tests::{
    Endpoint, KernelThread, Net, Process, Served, Transport, WAIT, example_binary, spawn_kernel,
};

/// The `server` example's kernel in a thread: `test` published, shut down
/// when the first client leaves (`--once`).
fn example_server(name: &'static str, at: &Endpoint) -> KernelThread<Served> {
    let at = at.clone();
    spawn_kernel(name, move |kernel: &mut Kernel| {
        let listening = Server::spawn(kernel, at.server_config().name(name))?;
        spawn_test_session(kernel, true);
        spawn_connection_monitor(kernel, true);
        let at = match at {
            Endpoint::Tcp(_) => Endpoint::Tcp(listening.port().unwrap_or(0)),
            unix => unix,
        };
        Ok(Served {
            at,
            handle: kernel.handle(),
        })
    })
}

fn client_options(at: &Endpoint) -> ClientOptions {
    ClientOptions {
        host: "127.0.0.1".into(),
        port: match at {
            Endpoint::Tcp(p) => *p,
            Endpoint::Unix(_) => 0,
        },
        unix: match at {
            Endpoint::Unix(path) => Some(path.clone()),
            Endpoint::Tcp(_) => None,
        },
        name: "Client".into(),
        server: "Server".into(),
        freezers: None,
        protocol: Protocol::Ikc0,
        timeout: WAIT,
    }
}

fn client_walk(transport: Transport) {
    let net = Net::new(transport);
    // Every freezer and both handshakes: all 7 steps each time.
    for (freezers, protocol) in [
        (None, Protocol::Ikc0),
        (Some(vec![STORABLE.to_owned()]), Protocol::Ikc),
        (Some(vec![DUMPER.to_owned()]), Protocol::Ikc0),
    ] {
        let server = example_server("Server", &net.endpoint());
        let mut options = client_options(&server.value.at);
        options.freezers = freezers;
        options.protocol = protocol;
        run_client(&options).unwrap();
        server
            .join()
            .expect("the server shuts down after its client (--once)");
    }
}

#[test]
fn client_walk_tcp() {
    client_walk(Transport::Tcp);
}

#[test]
fn client_walk_unix() {
    client_walk(Transport::Unix);
}

fn time_pair(transport: Transport) {
    let net = Net::new(transport);
    let at = net.endpoint();
    let server = spawn_kernel("Pulse", move |kernel| {
        let listening = Server::spawn(kernel, at.server_config().name("Pulse"))?;
        spawn_time_server(kernel, Duration::from_millis(20), true);
        spawn_connection_monitor(kernel, true);
        Ok(match at {
            Endpoint::Tcp(_) => Endpoint::Tcp(listening.port().unwrap_or(0)),
            unix => unix,
        })
    });
    let base = client_options(&server.value);
    let report = run_time_client(&TimeClientOptions {
        host: base.host,
        port: base.port,
        unix: base.unix,
        name: "TimeClient".into(),
        server: "Pulse".into(),
        ticks: 3,
        protocol: Protocol::Ikc0,
        timeout: WAIT,
        quiet: true,
    })
    .unwrap();
    assert!(report.time.ends_with(" UTC"), "{report:?}");
    assert_eq!(report.ticks.len(), 3, "{report:?}");
    // The ticks count up from where this listener joined.
    let numbers: Vec<u64> = report
        .ticks
        .iter()
        .map(|t| t.split_whitespace().nth(1).unwrap().parse().unwrap())
        .collect();
    assert!(numbers.windows(2).all(|w| w[1] == w[0] + 1), "{numbers:?}");
    server
        .join()
        .expect("the time server shuts down after its client");
}

#[test]
fn time_pair_tcp() {
    time_pair(Transport::Tcp);
}

#[test]
fn time_pair_unix() {
    time_pair(Transport::Unix);
}

fn watcher_sees_the_server_come_back(transport: Transport) {
    let net = Net::new(transport);
    let first = example_server("Server", &net.endpoint());
    let at = first.value.at.clone();
    let (tx, events) = mpsc::channel();
    let base = client_options(&at);
    let options = WatcherOptions {
        host: base.host,
        port: base.port,
        unix: base.unix,
        name: "Monitor".into(),
        protocol: Protocol::Ikc0,
        comebacks: 1,
        retry: Duration::from_millis(20),
        events: Some(tx),
    };
    let watcher = std::thread::spawn(move || run_watcher(options));
    let next = || events.recv_timeout(WAIT).expect("a watcher event");
    // Connected and registered (the monitor may hear first).
    let both = |a: WatchEvent, b: WatchEvent| {
        let got = [next(), next()];
        assert!(got.contains(&a) && got.contains(&b), "{got:?}");
    };
    both(
        WatchEvent::Connected(1),
        WatchEvent::Registered(first.kernel_id.clone()),
    );
    // The server goes away (stopped as its Ctrl-C does: IKC/shutdown).
    let first_id = first.kernel_id.clone();
    first.value.handle.post("IKC", "shutdown", vec![]).unwrap();
    first.join().unwrap();
    assert_eq!(next(), WatchEvent::Unregistered(first_id));
    // Away: the watcher's attempts fail, and it keeps trying.
    assert!(matches!(next(), WatchEvent::Retrying(_)));
    // Back, at the same place.
    let second = example_server("Server", &at);
    let mut e = next();
    while matches!(e, WatchEvent::Retrying(_)) {
        e = next();
    }
    let got = [e, next(), next()];
    for want in [
        WatchEvent::Connected(2),
        WatchEvent::Registered(second.kernel_id.clone()),
        WatchEvent::Done,
    ] {
        assert!(got.contains(&want), "{want:?} in {got:?}");
    }
    watcher.join().unwrap().unwrap();
    second
        .join()
        .expect("the server shuts down when the watcher leaves");
}

#[test]
fn watcher_sees_the_server_come_back_tcp() {
    watcher_sees_the_server_come_back(Transport::Tcp);
}

#[test]
fn watcher_sees_the_server_come_back_unix() {
    watcher_sees_the_server_come_back(Transport::Unix);
}

/// The example binaries, or a SKIP line saying why not.
fn binaries(names: &[&str]) -> Option<Vec<std::path::PathBuf>> {
    let found: Option<Vec<_>> = names.iter().map(|n| example_binary(n)).collect();
    if found.is_none() {
        println!(
            "SKIP: the example binaries ({}) are not built next to this test; \
             `cargo test --workspace` (or `cargo build --examples`) builds them",
            names.join(", ")
        );
    }
    found
}

fn quiet(path: &std::path::Path) -> Command {
    let mut cmd = Command::new(path);
    cmd.env("RUST_LOG", "warn");
    cmd
}

/// The port on a server example's `listening on IP:PORT` line.
fn port_of(line: &str) -> u16 {
    line.split("listening on ")
        .nth(1)
        .and_then(|rest| rest.split([',', ' ']).next())
        .and_then(|addr| addr.rsplit(':').next())
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("a port in {line:?}"))
}

#[test]
fn server_and_client_processes() {
    let Some(bin) = binaries(&["server", "client", "demo"]) else {
        return;
    };
    let mut cmd = quiet(&bin[0]);
    cmd.args(["--port", "0", "--once"]);
    let mut server = Process::spawn(cmd).unwrap();
    let port = port_of(&server.wait_line(|l| l.contains("listening on")).unwrap());
    let mut cmd = quiet(&bin[1]);
    cmd.args(["--port", &port.to_string()]);
    let client = Process::spawn(cmd).unwrap().wait().unwrap();
    assert!(
        client.status.success(),
        "client: {}\n{}",
        client.text(),
        client.stderr
    );
    assert!(
        client.text().contains("[client] all 7 steps worked"),
        "{}",
        client.text()
    );
    let server = server.wait().unwrap();
    assert!(
        server.status.success(),
        "server: {}\n{}",
        server.text(),
        server.stderr
    );
    assert!(
        server
            .text()
            .contains("[server] fetchQ called: answering 42")
    );
    assert_eq!(
        server.stdout.last().map(String::as_str),
        Some("[server] stopped")
    );

    let demo = Process::spawn(quiet(&bin[2])).unwrap().wait().unwrap();
    assert!(
        demo.status.success(),
        "demo: {}\n{}",
        demo.text(),
        demo.stderr
    );
    assert!(
        demo.text().contains("[client] all 7 steps worked"),
        "{}",
        demo.text()
    );
    assert!(demo.text().contains("[demo] done"), "{}", demo.text());
}

#[test]
fn time_pair_processes() {
    let Some(bin) = binaries(&["timeserver", "timeclient"]) else {
        return;
    };
    let mut cmd = quiet(&bin[0]);
    cmd.args(["--port", "0", "--once", "--interval-ms", "50"]);
    let mut server = Process::spawn(cmd).unwrap();
    let port = port_of(&server.wait_line(|l| l.contains("listening on")).unwrap());
    let mut cmd = quiet(&bin[1]);
    cmd.args(["--port", &port.to_string(), "--ticks", "3"]);
    let client = Process::spawn(cmd).unwrap().wait().unwrap();
    assert!(
        client.status.success(),
        "timeclient: {}\n{}",
        client.text(),
        client.stderr
    );
    let ticks = client
        .stdout
        .iter()
        .filter(|l| l.starts_with("[timeclient] tick: "))
        .count();
    assert_eq!(ticks, 3, "{}", client.text());
    assert!(
        client.text().contains("[timeclient] done: 3 ticks"),
        "{}",
        client.text()
    );
    let server = server.wait().unwrap();
    assert!(
        server.status.success(),
        "timeserver: {}\n{}",
        server.text(),
        server.stderr
    );
    assert!(
        server
            .text()
            .contains("poe://TimeClient/me/tick disconnected"),
        "{}",
        server.text()
    );
}

#[test]
fn monitor_process_sees_the_server_come_back() {
    let Some(bin) = binaries(&["server", "monitor"]) else {
        return;
    };
    let mut cmd = quiet(&bin[0]);
    cmd.args(["--port", "0"]);
    let mut server = Process::spawn(cmd).unwrap();
    let port = port_of(&server.wait_line(|l| l.contains("listening on")).unwrap()).to_string();
    let mut cmd = quiet(&bin[1]);
    cmd.args(["--port", &port, "--comebacks", "1", "--retry-ms", "50"]);
    let mut monitor = Process::spawn(cmd).unwrap();
    monitor.wait_line(|l| l.ends_with(" registered")).unwrap();
    // Ctrl-C to the server: it shuts down cleanly and exits.
    server.interrupt().unwrap();
    let gone = server.wait().unwrap();
    assert!(
        gone.status.success(),
        "server: {}\n{}",
        gone.text(),
        gone.stderr
    );
    assert!(
        gone.text().contains("[server] SIGINT: shutting down"),
        "{}",
        gone.text()
    );
    monitor.wait_line(|l| l.ends_with(" unregistered")).unwrap();
    monitor.wait_line(|l| l.ends_with("trying again")).unwrap();
    // The server is back on the same port; the monitor reconnects and is done.
    let mut cmd = quiet(&bin[0]);
    cmd.args(["--port", &port, "--once"]);
    let server = Process::spawn(cmd).unwrap();
    let monitor = monitor.wait().unwrap();
    assert!(
        monitor.status.success(),
        "monitor: {}\n{}",
        monitor.text(),
        monitor.stderr
    );
    let text = monitor.text();
    assert!(text.contains("connected (connection 2)"), "{text}");
    assert!(
        text.contains("the server came back 1 time(s): done"),
        "{text}"
    );
    let server = server.wait().unwrap();
    assert!(
        server.status.success(),
        "second server: {}\n{}",
        server.text(),
        server.stderr
    );
}
