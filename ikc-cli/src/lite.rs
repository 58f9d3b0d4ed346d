//! The one-shot commands (`call`, `post`, `ping`) and `watch`, over a
//! ClientLite connection.

use std::time::{Duration, Instant};

use ikc_cli::address::Addr;
use ikc_cli::event::MonitorEvent;
use ikc_cli::json::{from_json_text, to_json};
use ikc_clientlite::{Builder, ClientLite, Hash, Value};
use ikc_responder::{DEFAULT_TRACE_STATE, DEFAULT_WATCH_STATE};
use serde_json::json;

use crate::Common;
use crate::failure::Failure;
use crate::security::Security;

/// How long `watch` waits for the next event: as good as forever.
const WATCH_WAIT: Duration = Duration::from_secs(365 * 24 * 3600);

/// Our kernel name: `--name`, or `ikc-PID`.
pub(crate) fn our_name(common: &Common) -> String {
    common
        .name
        .clone()
        .unwrap_or_else(|| format!("ikc-{}", std::process::id()))
}

pub(crate) fn connect(common: &Common, addr: &Addr) -> Result<ClientLite, Failure> {
    let mut builder = Builder::new(addr.into())
        .name(our_name(common))
        .protocol(common.protocol)
        .timeout(common.timeout)
        .connect_timeout(common.timeout);
    if let Some(freezer) = &common.freezer {
        builder = builder.freezer(freezer.as_str());
    }
    let security = Security::load(common)?;
    if let Some(secret) = security.secret.clone() {
        builder = builder.secret(secret);
    }
    if let Some(tls) = security.client_tls(addr)? {
        builder = builder.tls(tls);
    }
    Ok(builder.connect()?)
}

fn argument(json: Option<&str>) -> Result<Value, Failure> {
    match json {
        None => Ok(Value::Undef),
        Some(text) => {
            from_json_text(text).map_err(|e| Failure::Usage(format!("the argument: {e}")))
        }
    }
}

fn print_json(common: &Common, value: &serde_json::Value) {
    if common.json {
        println!("{value}");
    } else {
        match serde_json::to_string_pretty(value) {
            Ok(text) => println!("{text}"),
            Err(_) => println!("{value}"),
        }
    }
}

/// `ikc call`: print the reply as JSON.
pub(crate) fn call(
    common: &Common,
    addr: &Addr,
    spec: &str,
    json: Option<&str>,
    list: bool,
) -> Result<(), Failure> {
    let arg = argument(json)?;
    let mut poe = connect(common, addr)?;
    let reply = if list {
        Value::Array(poe.call_list(spec, arg)?)
    } else {
        poe.call(spec, arg)?
    };
    poe.disconnect();
    print_json(common, &to_json(&reply));
    Ok(())
}

/// `ikc post`: post, then ping the kernel, so that an error report about
/// the post (IKC sends one for a state that is not published, a session
/// or kernel it does not know) arrives before the pong and is seen.
pub(crate) fn post(
    common: &Common,
    addr: &Addr,
    spec: &str,
    json: Option<&str>,
) -> Result<(), Failure> {
    let arg = argument(json)?;
    let mut poe = connect(common, addr)?;
    poe.post(spec, arg)?;
    poe.ping()?;
    poe.disconnect();
    if common.json {
        println!("{}", json!({ "posted": spec }));
    }
    Ok(())
}

/// `ikc ping`: the kernel at ADDR (IKC's `IKC/ping`), or another kernel
/// through it (`poe://KERNEL/IKC/ping`, called).
pub(crate) fn ping(common: &Common, addr: &Addr, kernel: Option<&str>) -> Result<(), Failure> {
    let mut poe = connect(common, addr)?;
    let start = Instant::now();
    let who = match kernel {
        None => {
            poe.ping()?;
            poe.peer()
                .map(|p| p.kernel_id.clone())
                .unwrap_or_else(|| addr.to_string())
        }
        Some(kernel) => {
            let reply = poe.call(format!("poe://{kernel}/IKC/ping").as_str(), "PING")?;
            if reply.as_str() != Some("PONG") {
                return Err(Failure::Ikc(format!(
                    "{kernel} answered {} instead of PONG",
                    to_json(&reply)
                )));
            }
            kernel.to_owned()
        }
    };
    let us = start.elapsed().as_micros();
    poe.disconnect();
    if common.json {
        println!("{}", json!({ "pong": who, "us": us }));
    } else {
        println!("PONG from {who} in {us} us");
    }
    Ok(())
}

/// `ikc watch`: ask the kernel's `IKC/watch` to post its monitor events
/// to us, and print each.
pub(crate) fn watch(
    common: &Common,
    addr: &Addr,
    kernel: Option<&str>,
    ops: &[String],
    count: Option<usize>,
    max_len: usize,
) -> Result<(), Failure> {
    let mut poe = connect(common, addr)?;
    let mut request = Hash::new();
    request.insert("kernel", kernel.unwrap_or("*"));
    if !ops.is_empty() {
        request.insert(
            "ops",
            Value::Array(ops.iter().map(|op| Value::from(op.trim())).collect()),
        );
    }
    request.insert("state", DEFAULT_WATCH_STATE);
    let answer = poe.call("IKC/watch", Value::Hash(request))?;
    let Value::Array(watched) = answer else {
        return Err(Failure::Ikc(answer.to_string()));
    };
    let watched: Vec<String> = watched.iter().map(Value::to_string).collect();
    // Printed once the watch is in place: what follows is every event.
    if common.json {
        println!(
            "{}",
            json!({ "watching": { "kernel": kernel.unwrap_or("*"), "at": addr.to_string(), "ops": watched } })
        );
    } else {
        println!(
            "watching {} at {addr} for {}",
            kernel.unwrap_or("*"),
            watched.join(",")
        );
    }
    poe.set_timeout(WATCH_WAIT);
    let mut seen = 0;
    while count.is_none_or(|n| seen < n) {
        let posted = poe.responded(DEFAULT_WATCH_STATE)?;
        let report = match posted {
            Value::Array(mut items) if !items.is_empty() => items.swap_remove(0),
            other => other,
        };
        let Some(event) = MonitorEvent::from_report(&report) else {
            log::warn!("not a watch report: {report}");
            continue;
        };
        if common.json {
            println!("{}", event.to_json(max_len));
        } else {
            println!("{}", event.line(max_len));
        }
        seen += 1;
    }
    poe.disconnect();
    Ok(())
}

/// `ikc trace`: have the kernel at ADDR post a traced message, and print
/// each hop reported, until one delivers or drops it.
pub(crate) fn trace(
    common: &Common,
    addr: &Addr,
    spec: &str,
    json: Option<&str>,
) -> Result<(), Failure> {
    let arg = argument(json)?;
    let mut poe = connect(common, addr)?;
    // A relative specifier names a state of the kernel at ADDR.
    let to = if spec.starts_with("poe:") {
        spec.to_owned()
    } else {
        let server = poe.remote_name().unwrap_or_default().to_owned();
        format!("poe://{server}/{spec}")
    };
    let mut request = Hash::new();
    request.insert("to", to.as_str());
    request.insert("args", arg);
    request.insert("state", DEFAULT_TRACE_STATE);
    let start = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64());
    let id = poe.call("IKC/trace", Value::Hash(request))?;
    if id.as_i64().is_none() {
        return Err(Failure::Ikc(id.to_string()));
    }
    let mut n = 0;
    loop {
        let posted = poe.responded(DEFAULT_TRACE_STATE)?;
        let hop = match posted {
            Value::Array(mut items) if !items.is_empty() => items.swap_remove(0),
            other => other,
        };
        if hop.get("id") != Some(&id) {
            continue;
        }
        n += 1;
        let text = |k: &str| hop.get(k).map(Value::to_string).unwrap_or_default();
        let action = text("action");
        if common.json {
            println!("{}", to_json(&hop));
        } else {
            let at = hop.get("time").and_then(Value::as_f64).unwrap_or(start);
            let detail = match action.as_str() {
                "sent" | "routed" => format!("-> {}", text("link")),
                "delivered" => format!("to {}", text("to")),
                "dropped" => format!("because {}", text("reason")),
                _ => String::new(),
            };
            println!(
                "hop {n} +{:.3}ms {} {action} {detail}",
                (at - start) * 1000.0,
                text("kernel")
            );
        }
        if action == "delivered" {
            break;
        }
        if action == "dropped" {
            poe.disconnect();
            return Err(Failure::Ikc(format!(
                "the message was dropped at {}: {}",
                text("kernel"),
                text("reason")
            )));
        }
    }
    poe.disconnect();
    Ok(())
}
