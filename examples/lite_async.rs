//! The async ClientLite on tokio: many tasks sharing one connection to a
//! server publishing `test/*` (the `server` example, or Perl's
//! `server.pl`), each calling `echo` and `post_respond`ing `add_1` at
//! once; then `fetchQ` and a ping.
//!
//! ```sh
//! cargo run --example lite_async                         # starts its own server kernel on a thread
//! cargo run --example lite_async -- --port 31337 --tasks 1000
//! echo 'cluster secret' > /tmp/secret
//! cargo run --example lite_async -- --secret-file /tmp/secret   # its own server requires the secret too
//! ```
//!
//! Against a TLS server, `--tls-ca FILE` (and `--tls-name NAME` when its
//! certificate does not name the host).
//!
//! Prints `tasks=N ok`, `fetchQ=42` and `done`, or the error and a
//! non-zero exit status.

use std::time::Duration;

use anyhow::{Context, Result, ensure};
use clap::Parser;
use ikc_clientlite_async::{AsyncClientLite, Builder, Secret, TlsClient, Value};

/// Many tokio tasks calling an IKC server over one connection.
#[derive(Debug, Parser)]
struct Args {
    /// The server's port; without it, the example starts its own server
    /// kernel (the `server` example's `test` session) on a thread.
    #[arg(long)]
    port: Option<u16>,
    /// The server's host.
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    /// How many tasks call at once.
    #[arg(long, default_value_t = 100)]
    tasks: i64,
    /// How long a call may wait for its answer, in seconds.
    #[arg(long, default_value_t = 10.0)]
    timeout: f64,
    /// Prove the cluster's shared secret, read from this file (the
    /// example's own server then requires it).
    #[arg(long)]
    secret_file: Option<String>,
    /// Speak TLS, verifying the server with this CA certificate (PEM).
    #[arg(long)]
    tls_ca: Option<String>,
    /// The name the server's certificate must carry (default: --host).
    #[arg(long, requires = "tls_ca")]
    tls_name: Option<String>,
}

/// Start the `server` example's kernel on a thread; its port.
fn spawn_server(secret: Option<Secret>) -> Result<u16> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || -> Result<()> {
        let mut kernel = ikc_core::Kernel::new()?;
        let mut config = ikc_server::ServerConfig::tcp("127.0.0.1", 0).name("Server");
        if let Some(secret) = secret {
            config = config.secret(secret);
        }
        let listening = ikc_server::Server::spawn(&mut kernel, config)?;
        ikc_examples::test_session::spawn_test_session(&mut kernel, true);
        tx.send(listening.port().context("a TCP port")?)?;
        kernel.run()?;
        Ok(())
    });
    Ok(rx.recv()?)
}

#[tokio::main]
async fn main() -> Result<()> {
    ikc_examples::init_logging();
    let args = Args::parse();
    ensure!(
        args.timeout > 0.0 && args.timeout.is_finite(),
        "--timeout must be positive"
    );
    let secret = match &args.secret_file {
        Some(file) => {
            Some(Secret::from_file(file).with_context(|| format!("--secret-file {file}"))?)
        }
        None => None,
    };
    let port = match args.port {
        Some(port) => port,
        None => spawn_server(secret.clone())?,
    };
    let mut builder =
        Builder::tcp(args.host.as_str(), port).timeout(Duration::from_secs_f64(args.timeout));
    if let Some(secret) = secret {
        builder = builder.secret(secret);
    }
    if let Some(ca) = &args.tls_ca {
        let name = args.tls_name.as_deref().unwrap_or(&args.host);
        builder = builder.tls(
            TlsClient::from_pem_files(ca, name, None).with_context(|| format!("--tls-ca {ca}"))?,
        );
    }
    let poe: AsyncClientLite = builder
        .connect()
        .await
        .with_context(|| format!("connecting to {}:{port}", args.host))?;
    println!(
        "connected to {} as {}",
        poe.remote_name().unwrap_or_default(),
        poe.name()
    );

    let tasks: Vec<_> = (0..args.tasks)
        .map(|i| {
            let poe = poe.clone();
            tokio::spawn(async move {
                let echoed = poe.call("test/echo", i).await?;
                let added = poe.post_respond("test/add_1", i).await?;
                Ok::<_, ikc_clientlite_async::LiteError>((i, echoed, added))
            })
        })
        .collect();
    for task in tasks {
        let (i, echoed, added) = task.await??;
        ensure!(echoed.as_i64() == Some(i), "echo({i}) answered {echoed}");
        ensure!(added.as_i64() == Some(i + 1), "add_1({i}) answered {added}");
    }
    println!("tasks={} ok", args.tasks);
    let q = poe.call("test/fetchQ", Value::Undef).await?;
    println!("fetchQ={q}");
    poe.ping().await?;
    println!("done");
    Ok(())
}
