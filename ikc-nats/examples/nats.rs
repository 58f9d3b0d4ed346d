//! A kernel on NATS answering a call from a NATS client that is not ours
//! (Python's `nats-py`).
//!
//! ```text
//! cargo run --example nats                          # its own nats-server on a free port; nats-py calls the kernel
//! cargo run --example nats -- --url nats://127.0.0.1:4222 [--name Server] [--serve]
//! ```
//!
//! The kernel is named `Server` on the bus and publishes session `test`
//! with `add_1` (returns ARG0 + 1), `echo` (returns ARG0) and `here`
//! (prints ARG0). Without `--url` the example starts a `nats-server` of
//! its own (it must be installed). Unless `--serve` is given, it then runs
//! a Python client (`pip install nats-py`) that requests
//! `ikc.Server.test.add_1` with the body `41`, prints the answer (`42`)
//! and a refusal of an unpublished state, and the example shuts the kernel
//! down. With `--serve` the kernel stays on the bus until Ctrl-C; try
//! `nats request ikc.Server.test.add_1 41` with the `nats` CLI.

use std::process::Command;

use anyhow::{Context, bail};
use ikc_core::{InlineStates, Kernel, Signal};
use ikc_freezer::Value;
use ikc_nats::NatsConfig;
use ikc_nats::server::NatsServer;
use ikc_responder::{Ikc, MonitorOp, MonitorStates, Responder};

const CLIENT: &str = r#"
import asyncio, sys
import nats

async def main(url, kernel):
    nc = await nats.connect(url)
    msg = await nc.request(f"ikc.{kernel}.test.add_1", b"41", timeout=10)
    print(f"nats-py: request ikc.{kernel}.test.add_1 41 -> {msg.data.decode()}")
    msg = await nc.request(f"ikc.{kernel}.test.secret", b"1", timeout=10)
    print(f"nats-py: request ikc.{kernel}.test.secret 1 -> refused: {msg.headers['Nats-Service-Error']}")
    await nc.publish(f"ikc.{kernel}.test.here", b'"hello from nats-py"')
    await nc.close()

asyncio.run(main(sys.argv[1], sys.argv[2]))
"#;

fn arg(name: &str) -> Option<String> {
    let mut args = std::env::args().skip_while(|a| a != name);
    args.next()?;
    args.next()
}

fn main() -> anyhow::Result<()> {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
    let serve = std::env::args().any(|a| a == "--serve");
    let name = arg("--name").unwrap_or_else(|| "Server".to_owned());
    let (url, _server) = match arg("--url") {
        Some(url) => (url, None),
        None => {
            let server = NatsServer::start().context("starting nats-server (is it installed?)")?;
            println!("started nats-server at {}", server.url());
            (server.url(), Some(server))
        }
    };

    let mut kernel = Kernel::new()?;
    let ikc = Responder::spawn(&mut kernel);
    kernel.spawn(
        InlineStates::new()
            .state("_start", |_, ctx, _| {
                ctx.alias_set("test").expect("alias free");
                // Ctrl-C (or a TERM) shuts IKC down cleanly, which leaves the bus.
                let _ = ctx.sig(Signal::Int, "signal");
                let _ = ctx.sig(Signal::Term, "signal");
                let ikc = Ikc::of(ctx).expect("IKC runs");
                ikc.monitor(
                    ctx,
                    "*",
                    &MonitorStates::new().on(MonitorOp::Shutdown, "bye"),
                );
            })
            .state("signal", |_, ctx, _| {
                ctx.sig_handled();
                Ikc::of(ctx).expect("IKC runs").shutdown(ctx);
            })
            .state("add_1", |_, _, ev| {
                Value::from(ev.args.first().and_then(Value::as_i64).unwrap_or(0) + 1)
            })
            .state("echo", |_, _, ev| {
                ev.args.into_iter().next().unwrap_or_default()
            })
            .state("here", |_, ctx, ev| {
                println!("here: {}", ev.args.first().cloned().unwrap_or_default());
                if !std::env::args().any(|a| a == "--serve") {
                    // The client's last step: done.
                    Ikc::of(ctx).expect("IKC runs").shutdown(ctx);
                }
            })
            .state("secret", |_, _, _| Value::from("never over NATS"))
            .state("bye", |_, ctx, _| {
                let _ = ctx.alias_remove("test");
            }),
    );
    ikc.publish("test", &["add_1", "echo", "here"]);
    let link = ikc_nats::attach(&mut kernel, NatsConfig::new(&url).name(name.as_str()))?;
    println!(
        "kernel {name} is on NATS at {url}: request {} with a JSON body",
        link.subject("test", "add_1")
    );

    let client = if serve {
        println!(
            "serving until Ctrl-C (try: nats request {} 41)",
            link.subject("test", "add_1")
        );
        None
    } else {
        let (url, name) = (url.clone(), name.clone());
        Some(std::thread::spawn(move || {
            Command::new("python3")
                .args(["-c", CLIENT, &url, &name])
                .status()
        }))
    };
    kernel.run()?;
    if let Some(client) = client {
        let status = client
            .join()
            .map_err(|_| anyhow::anyhow!("the client thread panicked"))?
            .context("running python3")?;
        if !status.success() {
            bail!("the nats-py client failed ({status}): pip install nats-py");
        }
    }
    Ok(())
}
