//! Lightspeed's synopsis in Rust: kernels `testbox` and `otherbox`, each
//! with a session `mysession`, posting to each other through the kernel
//! (`ctx.post_to("poe://otherbox/mysession/ping", ..)`), with no `publish`:
//! both run IKC's no-publish mode, guarded by an authorization hook that
//! lets remote kernels reach `mysession` only. Every handler prints who
//! sent its event, from which state, file and line.
//!
//! ```text
//! cargo run --example lightspeed
//! ```
//!
//! What happens (the seed's ping/pong/confused pair, then the other forms):
//!
//! 1. testbox posts `poe://otherbox/mysession/ping` "how are you?";
//! 2. otherbox answers its SENDER twice: `pong` to the sender itself, and
//!    `pong` to the sender's specifier (`SENDER->ID`), then posts
//!    `poe://testbox/mysession/confused`, which prints where it came from;
//! 3. testbox calls `add` on otherbox with an RSVP, the destination as an
//!    array and the RSVP as a hash (`{KERNEL, SESSION, STATE}`);
//! 4. otherbox answers through a postback made for its remote SENDER;
//! 5. testbox asks for a state the hook refuses, and gets IKC's
//!    `remote_error`; then it leaves, and otherbox stops.

use std::sync::mpsc;
use std::time::Duration;

use anyhow::Context as _;
use ikc_client::{Client, ClientConfig};
use ikc_core::{Ctx, Event, InlineStates, Kernel};
use ikc_examples::init_logging;
use ikc_freezer::{Hash, Value};
use ikc_responder::{Ikc, MonitorOp, MonitorStates, RequestCheck, Responder};
use ikc_server::{Server, ServerConfig};

/// Lightspeed's `$_[SENDER]->ID`, `CALLER_STATE`, `CALLER_FILE` and
/// `CALLER_LINE`, as the seed prints them.
fn who(ctx: &Ctx<'_>, ev: &Event) -> String {
    format!(
        "'{}' State '{}' File '{}' Line '{}'",
        ctx.sender_specifier(&ev.sender).unwrap_or_default(),
        ev.caller_state().unwrap_or(""),
        ev.caller_file,
        ev.caller_line
    )
}

/// The hook both kernels guard no-publish mode with: remote kernels may
/// reach `mysession` (any state) and nothing else that is not published.
fn only_mysession(request: &RequestCheck<'_>) -> Result<(), String> {
    if request.published || request.session == "mysession" && request.state != "secret" {
        Ok(())
    } else {
        Err(format!(
            "{} may not reach {}/{}",
            request.remote_kernel, request.session, request.state
        ))
    }
}

fn otherbox(kernel: &mut Kernel) {
    kernel.spawn(
        InlineStates::new()
            .state("_start", |_, ctx, _| {
                ctx.alias_set("mysession").expect("alias free");
                let ikc = Responder::spawn(ctx);
                ikc.no_publish(only_mysession);
                // Stop when testbox leaves.
                ikc.monitor(
                    ctx,
                    "testbox",
                    &MonitorStates::new().on(MonitorOp::Unregister, "gone"),
                );
            })
            .state("ping", |_, ctx, ev| {
                println!(
                    "[otherbox] Received 'ping' from {} -> {}",
                    who(ctx, &ev),
                    ev.args[0]
                );
                // Perfect: to SENDER, and to SENDER->ID.
                let sender = ev.sender.target().expect("a session sent it");
                let _ = ctx.post(sender, "pong", vec![Value::from("wassup!")]);
                let id = ctx.sender_specifier(&ev.sender).unwrap_or_default();
                let _ = ctx.post(id.as_str(), "pong", vec![Value::from("wazzup!")]);
                // Demonstration of Lightspeed hackery.
                let _ = ctx.post_to(
                    "poe://testbox/mysession/confused",
                    vec![Value::from("huH!")],
                );
            })
            .state("add", |_, ctx, ev| {
                println!("[otherbox] Received 'add' from {}", who(ctx, &ev));
                let sum: i64 = ev.args.iter().filter_map(Value::as_i64).sum();
                // Answer later, through a postback to the remote SENDER.
                let to = ev.sender.target().expect("a session sent it");
                match ctx.postback_to(to, "postback", vec![Value::from("sum was")]) {
                    Ok(postback) => {
                        std::thread::spawn(move || postback.post(vec![Value::from(sum)]));
                    }
                    Err(e) => eprintln!("[otherbox] no postback: {e}"),
                }
                Value::from(sum)
            })
            .state("secret", |_, _, _| {
                println!("[otherbox] secret ran: the hook failed!")
            })
            .state("gone", |_, ctx, _| {
                println!("[otherbox] testbox left: stopping");
                let _ = ctx.alias_remove("mysession");
                if let Some(ikc) = Ikc::of(ctx) {
                    ikc.shutdown(ctx);
                }
            }),
    );
}

fn testbox(kernel: &mut Kernel, port: u16) -> anyhow::Result<()> {
    kernel.spawn(
        InlineStates::with_heap(0_usize)
            .state("_start", move |_, ctx, _| {
                ctx.alias_set("mysession").expect("alias free");
                let ikc = Responder::spawn(ctx);
                ikc.no_publish(only_mysession);
                ikc.monitor(
                    ctx,
                    "*",
                    &MonitorStates::new().on(MonitorOp::Error, "error"),
                );
                let me = ctx.session_id();
                let config = ClientConfig::tcp("127.0.0.1", port)
                    .name("testbox")
                    .on_connect(move |ctx| {
                        let _ = ctx.post(me, "do_stuff", vec![]);
                    });
                if let Err(e) = Client::spawn(ctx, config) {
                    eprintln!("[testbox] cannot connect: {e}");
                    let _ = ctx.alias_remove("mysession");
                }
            })
            .state("do_stuff", |_, ctx, _| {
                // Perfect.
                let _ = ctx.post_to(
                    "poe://otherbox/mysession/ping",
                    vec![Value::from("how are you?")],
                );
            })
            .state("pong", |seen, ctx, ev| {
                println!(
                    "[testbox] Received 'pong' from {} -> {}",
                    who(ctx, &ev),
                    ev.args[0]
                );
                *seen += 1;
                ctx.yield_("next", vec![]);
            })
            .state("confused", |seen, ctx, ev| {
                // Is this a Lightspeed (remote) request?
                let kind = if ev.sender.is_remote() {
                    "Lightspeed"
                } else {
                    "regular"
                };
                println!(
                    "[testbox] Received {kind} request from: {} -> {}",
                    who(ctx, &ev),
                    ev.args[0]
                );
                *seen += 1;
                ctx.yield_("next", vec![]);
            })
            .state("next", |seen, ctx, _| {
                // After the two pongs and `confused` (once).
                if *seen == 3 {
                    *seen += 1;
                    // The call form: destination as an array, RSVP as a hash.
                    let mut rsvp = Hash::new();
                    rsvp.insert("SESSION", "mysession");
                    rsvp.insert("STATE", "sum");
                    let to = Value::from(vec!["otherbox", "mysession", "add"]);
                    let args = vec![Value::from(20), Value::from(22)];
                    if let Err(e) = ctx.call_rsvp(to, Value::Hash(rsvp), args) {
                        eprintln!("[testbox] call failed: {e}");
                    }
                }
            })
            .state("sum", |_, ctx, ev| {
                println!(
                    "[testbox] RSVP 'sum' from {} -> {}",
                    who(ctx, &ev),
                    ev.args[0]
                );
            })
            .state("postback", |_, ctx, ev| {
                println!(
                    "[testbox] Postback from {} -> {} {}",
                    who(ctx, &ev),
                    ev.args[0][0],
                    ev.args[1][0]
                );
                // A state the hook refuses: IKC's remote_error comes back.
                let _ = ctx.post_to("poe://otherbox/mysession/secret", vec![]);
            })
            .state("error", |_, ctx, ev| {
                println!("[testbox] error {}: {}", ev.args[4], ev.args[5]);
                if ev.args[4].as_str() == Some("remote-check") {
                    let _ = ctx.alias_remove("mysession");
                    if let Some(ikc) = Ikc::of(ctx) {
                        ikc.shutdown(ctx);
                    }
                }
            }),
    );
    Ok(())
}

/// Lightspeed's synopsis (ping/pong/confused) in Rust, with call_rsvp's array and hash forms, a postback to a remote SENDER and a refusal in no-publish mode.
///
/// Takes no options (`--help` prints this).
#[derive(Debug, clap::Parser)]
#[command(name = "lightspeed")]
struct Args {}

fn main() -> anyhow::Result<()> {
    <Args as clap::Parser>::parse();
    init_logging();
    let (port_tx, port_rx) = mpsc::channel();
    let server = std::thread::spawn(move || -> anyhow::Result<()> {
        let mut kernel = Kernel::new()?;
        let listening = Server::spawn(
            &mut kernel,
            ServerConfig::tcp("127.0.0.1", 0).name("otherbox"),
        )?;
        otherbox(&mut kernel);
        port_tx.send(listening.port().unwrap_or(0))?;
        kernel.run()?;
        Ok(())
    });
    let port = port_rx
        .recv_timeout(Duration::from_secs(10))
        .context("otherbox did not start")?;
    let mut kernel = Kernel::new()?;
    testbox(&mut kernel, port)?;
    kernel.run()?;
    match server.join() {
        Ok(r) => r?,
        Err(_) => anyhow::bail!("otherbox's thread panicked"),
    }
    println!("[lightspeed] done");
    Ok(())
}
