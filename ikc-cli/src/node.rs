//! `ikc node`: a standalone kernel that listens, dials its links (again
//! and again, with backoff, until the peer is up and whenever a link
//! drops), prints one line per monitor event, and exits on SIGINT or
//! SIGTERM.

use std::time::Duration;

use ikc_cli::address::Addr;
use ikc_cli::event::MonitorEvent;
use ikc_client::{Client, ClientConfig, Reconnect, Secret, TlsClient};
use ikc_core::{Ctx, InlineStates, Kernel, Signal};
use ikc_freezer::{DUMPER, NATIVE, Registry, STORABLE};
use ikc_nats::NatsConfig;
use ikc_responder::{Ikc, MonitorOp, MonitorStates, Responder};
use ikc_server::{Server, ServerConfig};
use serde_json::json;

use crate::Common;
use crate::failure::{Failure, chain};
use crate::security::Security;

/// The first wait before dialling again.
const FIRST_BACKOFF: Duration = Duration::from_millis(100);

/// The freezers to offer or accept: `--freezer`, or all of ours.
fn freezer_names(common: &Common) -> Result<Vec<String>, Failure> {
    match &common.freezer {
        None => Ok(vec![NATIVE.into(), STORABLE.into(), DUMPER.into()]),
        Some(name) if Registry::standard().get(name).is_some() => Ok(vec![name.clone()]),
        Some(name) => Err(Failure::Usage(format!(
            "--freezer {name:?}: known freezers are {NATIVE}, {STORABLE}, {DUMPER}"
        ))),
    }
}

/// Run the node until SIGINT or SIGTERM.
pub(crate) fn run(
    common: &Common,
    aliases: Vec<String>,
    listen: Vec<Addr>,
    connect: Vec<Addr>,
    max_backoff: Duration,
    link_weight: Option<u32>,
    nats: Option<String>,
) -> Result<(), Failure> {
    let Some(name) = common.name.clone() else {
        return Err(Failure::Usage("ikc node needs --name NAME".into()));
    };
    if listen.is_empty() && connect.is_empty() && nats.is_none() {
        return Err(Failure::Usage(
            "ikc node needs at least one --listen, --connect or --nats".into(),
        ));
    }
    let freezers = freezer_names(common)?;
    let mut registry = Registry::empty();
    for f in &freezers {
        if let Some(freezer) = Registry::standard().get(f) {
            registry.register(freezer);
        }
    }
    let mut kernel = Kernel::new().map_err(|e| Failure::Ikc(chain(&e)))?;
    let ikc = Responder::spawn(&mut kernel);
    let json = common.json;
    let security = Security::load(common)?;
    let server_tls = security.server_tls()?;
    for addr in &listen {
        let mut config = match addr {
            Addr::Tcp { host, port } => ServerConfig::tcp(host.as_str(), *port),
            Addr::Unix(path) => ServerConfig::unix(path),
        }
        .name(name.as_str())
        .aliases(aliases.iter().cloned())
        .protocol(common.protocol)
        .freezers(registry.clone());
        if let Some(secret) = security.secret.clone() {
            config = config.secret(secret);
        }
        if let Some(tls) = server_tls.clone() {
            config = config.tls(tls);
        }
        if let Some(weight) = link_weight {
            config = config.link_weight(weight);
        }
        let listening = Server::spawn(&mut kernel, config)
            .map_err(|e| Failure::Connection(format!("cannot listen on {addr}: {}", chain(&e))))?;
        // TCP: the address bound (the port picked for port 0); Unix: the path.
        let at = match addr {
            Addr::Tcp { .. } => listening.address,
            Addr::Unix(_) => addr.to_string(),
        };
        if json {
            println!("{}", json!({ "listening": at }));
        } else {
            println!("listening on {at}");
        }
    }
    if let Some(urls) = &nats {
        let mut config = NatsConfig::new(urls).name(name.as_str());
        for alias in &aliases {
            config = config.alias(alias.as_str());
        }
        if let Some(freezer) = &common.freezer {
            config = config.freezer(freezer.as_str());
        }
        let link = ikc_nats::attach(&mut kernel, config)
            .map_err(|e| Failure::Connection(format!("cannot attach to NATS: {}", chain(&e))))?;
        let subject = link.subject("SESSION", "STATE");
        if json {
            println!("{}", json!({ "nats": urls, "subject": subject }));
        } else {
            println!("on NATS at {urls}: {subject}");
        }
    }
    let protocol = common.protocol;
    let timeout = common.timeout;
    let mut dials = Vec::new();
    for addr in connect {
        let tls = security.client_tls(&addr)?;
        dials.push((addr, tls));
    }
    let secret = security.secret.clone();
    let kernel_id = ikc.kernel_id();
    let mut session = InlineStates::new()
        .state("_start", move |_, ctx, _| {
            ctx.alias_set("ikc-node")
                .expect("a fresh kernel has no aliases");
            let _ = ctx.sig(Signal::Int, "signal");
            let _ = ctx.sig(Signal::Term, "signal");
            let mut states = MonitorStates::new();
            for op in MonitorOp::ALL {
                states = states.on(op, format!("monitor:{op}"));
            }
            if let Some(ikc) = Ikc::of(ctx) {
                ikc.monitor(ctx, "*", &states);
            }
            for (addr, tls) in &dials {
                dial(
                    ctx,
                    addr,
                    &name,
                    &aliases,
                    protocol,
                    timeout,
                    &freezers,
                    max_backoff,
                    link_weight,
                    (secret.clone(), tls.clone()),
                );
            }
        })
        .state("signal", |_, ctx, _| {
            eprintln!("ikc node: signal received, shutting down");
            ctx.sig_handled();
            let _ = ctx.sig_remove(Signal::Int);
            let _ = ctx.sig_remove(Signal::Term);
            let _ = ctx.alias_remove("ikc-node");
            if let Some(ikc) = Ikc::of(ctx) {
                ikc.shutdown(ctx);
            }
        });
    for op in MonitorOp::ALL {
        session = session.state(format!("monitor:{op}"), move |_, _, ev| {
            // ARG0 name given, ARG1 kernel, ARG2 real, ARG3 data, then extras.
            let mut args = ev.args.clone().into_iter();
            let _name_given = args.next();
            let kernel = args.next().map(|k| k.to_string()).unwrap_or_default();
            let real = args.next().is_some_and(|r| r.as_bool());
            let _data = args.next();
            let event = MonitorEvent {
                op: op.key().to_owned(),
                kernel,
                real,
                args: args.collect(),
            };
            if json {
                println!("{}", event.to_json(usize::MAX));
            } else {
                println!("{}", event.line(usize::MAX));
            }
        });
    }
    kernel.spawn(session);
    log::info!("ikc node {kernel_id} running");
    kernel.run().map_err(|e| Failure::Ikc(chain(&e)))?;
    Ok(())
}

/// Start a client that dials `addr` until it connects, and again each
/// time the link drops.
#[allow(clippy::too_many_arguments)]
fn dial(
    ctx: &mut Ctx<'_>,
    addr: &Addr,
    name: &str,
    aliases: &[String],
    protocol: ikc_responder::Protocol,
    timeout: Duration,
    freezers: &[String],
    max_backoff: Duration,
    link_weight: Option<u32>,
    (secret, tls): (Option<Secret>, Option<TlsClient>),
) {
    let mut reconnect = Reconnect::default();
    reconnect.initial = FIRST_BACKOFF.min(max_backoff);
    reconnect.max = max_backoff;
    reconnect.attempts = None;
    let config = match addr {
        Addr::Tcp { host, port } => ClientConfig::tcp(host.as_str(), *port),
        Addr::Unix(path) => ClientConfig::unix(path),
    }
    .name(name)
    .aliases(aliases.iter().cloned())
    .protocol(protocol)
    .connect_timeout(timeout)
    .freezers(freezers.iter().cloned())
    .reconnect(reconnect);
    let config = match link_weight {
        Some(weight) => config.link_weight(weight),
        None => config,
    };
    let config = match secret {
        Some(secret) => config.secret(secret),
        None => config,
    };
    let config = match tls {
        Some(tls) => config.tls(tls),
        None => config,
    };
    if let Err(e) = Client::spawn(ctx, config) {
        log::error!("cannot dial {addr}: {}", chain(&e));
    }
}
