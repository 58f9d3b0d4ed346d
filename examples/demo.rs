//! The main job: an IKC server and an IKC client exchanging events, each
//! kernel on its own thread in this one process, over TCP on 127.0.0.1.
//!
//! ```text
//! cargo run --example demo
//! ```
//!
//! The server (kernel `Server`) publishes session `test`; the client
//! (kernel `Client`) posts to it, calls it, gets refused for an
//! unpublished state, subscribes, and posts through the proxy. When the
//! client disconnects, the server shuts down too.

use std::sync::mpsc;
use std::time::Duration;

use ikc_core::Kernel;
use ikc_examples::demo::{ClientOptions, run_client};
use ikc_examples::init_logging;
use ikc_examples::test_session::{spawn_connection_monitor, spawn_test_session};
use ikc_responder::Protocol;
use ikc_server::{Server, ServerConfig};

/// An IKC server and client, each kernel on its own thread, exchanging events over TCP on 127.0.0.1: the main job, each step printed.
///
/// Takes no options (`--help` prints this).
#[derive(Debug, clap::Parser)]
#[command(name = "demo")]
struct Args {}

fn main() -> anyhow::Result<()> {
    <Args as clap::Parser>::parse();
    init_logging();
    let (port_tx, port_rx) = mpsc::channel();
    let server = std::thread::spawn(move || -> anyhow::Result<()> {
        let mut kernel = Kernel::new()?;
        let listening = Server::spawn(
            &mut kernel,
            ServerConfig::tcp("127.0.0.1", 0).name("Server"),
        )?;
        println!(
            "[server] kernel {} (Server) listening on {}",
            kernel.id(),
            listening.address
        );
        spawn_test_session(&mut kernel, false);
        spawn_connection_monitor(&mut kernel, true);
        port_tx.send(listening.port().unwrap_or(0))?;
        kernel.run()?;
        println!("[server] stopped");
        Ok(())
    });
    let port = port_rx.recv()?;
    let result = run_client(&ClientOptions {
        host: "127.0.0.1".into(),
        port,
        unix: None,
        name: "Client".into(),
        server: "Server".into(),
        freezers: None,
        protocol: Protocol::Ikc0,
        timeout: Duration::from_secs(10),
    });
    match server.join() {
        Ok(r) => r?,
        Err(_) => anyhow::bail!("the server thread panicked"),
    }
    result?;
    println!("[demo] done: both kernels exchanged events and exited");
    Ok(())
}
