//! `ikc kernels|links|routes|sessions|counters ADDR`: ask the kernel's
//! `IKC` session and print the answer, one JSON object per line with
//! `--json`, a table otherwise.

use ikc_cli::address::Addr;
use ikc_cli::json::to_json;
use ikc_clientlite::Value;
use serde_json::Value as Json;

use crate::Common;
use crate::failure::Failure;
use crate::lite::connect;

/// What to ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Topic {
    /// Every kernel known, with its names, incarnation and how it is
    /// reached (directly, or routed through a neighbour).
    Kernels,
    /// Every connection: peer, addresses, protocol, freezer, traffic,
    /// measured round trip and mesh weight.
    Links,
    /// Destination, next hop, cost and hops for each kernel reached.
    Routes,
    /// Sessions with their aliases and published states.
    Sessions,
    /// Messages delivered, routed, sent, dropped by cause; errors by kind.
    Counters,
}

impl Topic {
    fn state(self) -> &'static str {
        match self {
            Self::Kernels => "kernels",
            Self::Links => "links",
            Self::Routes => "routes",
            Self::Sessions => "sessions",
            Self::Counters => "counters",
        }
    }

    /// The columns of the table, as keys of each entry.
    fn columns(self) -> &'static [&'static str] {
        match self {
            Self::Kernels => &[
                "id",
                "reached",
                "via",
                "hops",
                "channel",
                "incarnation",
                "aliases",
            ],
            Self::Links => &[
                "channel",
                "side",
                "peer",
                "peer_address",
                "protocol",
                "freezer",
                "messages_in",
                "messages_out",
                "bytes_in",
                "bytes_out",
                "bytes_queued",
                "rtt_us",
                "weight",
            ],
            Self::Routes => &["destination", "next_hop", "cost", "hops", "channel"],
            Self::Sessions => &["id", "aliases", "published"],
            Self::Counters => &[],
        }
    }
}

/// Ask and print.
pub(crate) fn run(common: &Common, addr: &Addr, topic: Topic) -> Result<(), Failure> {
    let mut poe = connect(common, addr)?;
    let answer = poe.call(format!("IKC/{}", topic.state()).as_str(), Value::Undef)?;
    poe.disconnect();
    let json = to_json(&answer);
    match (topic, json) {
        (Topic::Counters, json @ Json::Object(_)) => {
            if common.json {
                println!("{json}");
            } else {
                print_counters(&json);
            }
        }
        (_, Json::Array(entries)) => {
            if common.json {
                for entry in &entries {
                    println!("{entry}");
                }
            } else {
                print_table(topic.columns(), &entries);
            }
        }
        (_, other) => {
            return Err(Failure::Ikc(format!(
                "IKC/{} answered {other}, not what an ikc-rs kernel answers",
                topic.state()
            )));
        }
    }
    Ok(())
}

fn cell(value: Option<&Json>) -> String {
    match value {
        None | Some(Json::Null) => "-".to_owned(),
        Some(Json::String(s)) => s.clone(),
        Some(Json::Array(items)) => items
            .iter()
            .map(|i| cell(Some(i)))
            .collect::<Vec<_>>()
            .join(","),
        Some(other) => other.to_string(),
    }
}

fn print_table(columns: &[&str], entries: &[Json]) {
    let rows: Vec<Vec<String>> = entries
        .iter()
        .map(|e| columns.iter().map(|c| cell(e.get(c))).collect())
        .collect();
    let widths: Vec<usize> = columns
        .iter()
        .enumerate()
        .map(|(i, c)| {
            rows.iter()
                .map(|r| r[i].chars().count())
                .chain([c.len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: Vec<String>| {
        let text: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        println!("{}", text.join("  ").trim_end());
    };
    line(columns.iter().map(|c| c.to_uppercase()).collect());
    for row in rows {
        line(row);
    }
}

fn print_counters(json: &Json) {
    for key in ["delivered", "routed", "sent"] {
        println!("{key:<10} {}", cell(json.get(key)));
    }
    for key in ["dropped", "errors"] {
        match json.get(key).and_then(Json::as_object) {
            Some(map) if !map.is_empty() => {
                for (cause, n) in map {
                    println!("{:<10} {n} {cause}", key);
                }
            }
            _ => println!("{key:<10} 0"),
        }
    }
}
