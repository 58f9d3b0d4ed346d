//! Presence: how kernels on the bus find each other, and notice when one
//! is gone.
//!
//! Every attached kernel publishes a small JSON record on the presence
//! subject when it connects (and after each reconnect), then every
//! heartbeat interval, and a last one with `"state":"down"` when it
//! detaches:
//!
//! ```json
//! {"kernel":"vm-18c2f-1a2b-1","name":"Server","aliases":["Srv"],
//!  "incarnation":"5f0c…","state":"up","heartbeat_ms":1000,"pid":4242}
//! ```
//!
//! An announcement that asks for answers (on connect and reconnect) has a
//! reply subject, and every kernel that hears it answers there with its
//! own record, so a newcomer learns the bus in one round trip. A kernel
//! not heard from for [`MISSED_HEARTBEATS`] of its own intervals is taken
//! as gone. A known kernel ID with a new incarnation is a restart: the old
//! one is gone and the new one arrives. `{"state":"ask"}` with a reply
//! subject asks every kernel to answer with its record, without announcing
//! anyone.
//!
//! [`PeerTable`] is the bookkeeping without I/O: time is an argument.

use std::time::{Duration, Instant};

use serde_json::{Value as Json, json};

/// How many heartbeat intervals a kernel may miss before it is taken as gone.
pub const MISSED_HEARTBEATS: u32 = 3;

/// The longest presence record accepted.
const MAX_RECORD: usize = 16 * 1024;
/// The most names one kernel may announce.
const MAX_NAMES: usize = 64;

/// One kernel's presence record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Presence {
    /// The kernel's unique ID.
    pub kernel: String,
    /// The name its subjects use (`<prefix>.<name>.<session>.<state>`).
    pub name: String,
    /// More names it answers to.
    pub aliases: Vec<String>,
    /// Random per attachment: a new one means the kernel restarted.
    pub incarnation: String,
    /// False in the record a detaching kernel sends last.
    pub up: bool,
    /// Its heartbeat interval.
    pub heartbeat: Duration,
    /// Its process ID.
    pub pid: u32,
}

impl Presence {
    /// The record as JSON bytes.
    pub fn to_json(&self) -> Vec<u8> {
        let record = json!({
            "kernel": self.kernel,
            "name": self.name,
            "aliases": self.aliases,
            "incarnation": self.incarnation,
            "state": if self.up { "up" } else { "down" },
            "heartbeat_ms": u64::try_from(self.heartbeat.as_millis()).unwrap_or(u64::MAX),
            "pid": self.pid,
        });
        record.to_string().into_bytes()
    }

    /// Read a record; `None` if it is not one (too long, not JSON, a field
    /// missing or of the wrong type, too many names).
    pub fn from_json(bytes: &[u8]) -> Option<Self> {
        if bytes.len() > MAX_RECORD {
            return None;
        }
        let j: Json = serde_json::from_slice(bytes).ok()?;
        let text = |k: &str| j.get(k)?.as_str().map(str::to_owned);
        let aliases: Vec<String> = j
            .get("aliases")
            .and_then(Json::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Json::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        if aliases.len() > MAX_NAMES {
            return None;
        }
        let up = match j.get("state")?.as_str()? {
            "up" => true,
            "down" => false,
            _ => return None,
        };
        let record = Self {
            kernel: text("kernel")?,
            name: text("name")?,
            aliases,
            incarnation: text("incarnation")?,
            up,
            heartbeat: Duration::from_millis(j.get("heartbeat_ms")?.as_u64()?.max(1)),
            pid: j
                .get("pid")
                .and_then(Json::as_u64)
                .and_then(|p| u32::try_from(p).ok())
                .unwrap_or(0),
        };
        (!record.kernel.is_empty() && !record.name.is_empty()).then_some(record)
    }

    /// Is this the body of an ask, `{"state":"ask"}`: every kernel that
    /// hears it answers with its record on the reply subject (a kernel
    /// sends one when a message arrives from a kernel it does not know).
    pub fn is_ask(bytes: &[u8]) -> bool {
        bytes.len() <= MAX_RECORD
            && serde_json::from_slice::<Json>(bytes)
                .is_ok_and(|j| j.get("state").and_then(Json::as_str) == Some("ask"))
    }

    /// Every name: the ID, the name, then the aliases (no repeats).
    pub fn names(&self) -> Vec<String> {
        let mut names = vec![self.kernel.clone()];
        for n in std::iter::once(&self.name).chain(&self.aliases) {
            if !n.is_empty() && !names.contains(n) {
                names.push(n.clone());
            }
        }
        names
    }
}

/// What a presence record changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Change {
    /// Nothing (a heartbeat of a known kernel, or our own record).
    None,
    /// A kernel arrived.
    Arrived(Presence),
    /// A kernel restarted: the old incarnation is gone, the new one arrived.
    Restarted(Presence),
    /// A kernel said it is leaving.
    Left(String),
}

/// The kernels heard on the bus.
#[derive(Debug)]
pub(crate) struct PeerTable {
    me: String,
    peers: Vec<(Presence, Instant)>,
}

impl PeerTable {
    /// A table for the kernel `me` (its own records are ignored).
    pub(crate) fn new(me: impl Into<String>) -> Self {
        Self {
            me: me.into(),
            peers: Vec::new(),
        }
    }

    /// Take in a record heard at `now`.
    pub(crate) fn heard(&mut self, record: Presence, now: Instant) -> Change {
        if record.kernel == self.me {
            return Change::None;
        }
        let pos = self
            .peers
            .iter()
            .position(|(p, _)| p.kernel == record.kernel);
        match (pos, record.up) {
            (Some(i), false) => {
                let (old, _) = self.peers.remove(i);
                if old.incarnation == record.incarnation {
                    Change::Left(old.kernel)
                } else {
                    // A late goodbye of an older incarnation: the live one stays.
                    self.peers.insert(i, (old, now));
                    Change::None
                }
            }
            (None, false) => Change::None,
            (Some(i), true) => {
                let same = self.peers[i].0.incarnation == record.incarnation;
                self.peers[i] = (record.clone(), now);
                if same {
                    Change::None
                } else {
                    Change::Restarted(record)
                }
            }
            (None, true) => {
                self.peers.push((record.clone(), now));
                Change::Arrived(record)
            }
        }
    }

    /// The kernels not heard from for [`MISSED_HEARTBEATS`] of their
    /// intervals at `now`: removed and returned.
    pub(crate) fn expire(&mut self, now: Instant) -> Vec<Presence> {
        let mut gone = Vec::new();
        self.peers.retain(|(p, seen)| {
            let alive = now.saturating_duration_since(*seen) < p.heartbeat * MISSED_HEARTBEATS;
            if !alive {
                gone.push(p.clone());
            }
            alive
        });
        gone
    }

    /// Forget every kernel (our connection to the bus is lost): returned.
    pub(crate) fn clear(&mut self) -> Vec<Presence> {
        self.peers.drain(..).map(|(p, _)| p).collect()
    }

    /// A kernel's record, by ID.
    pub(crate) fn get(&self, kernel: &str) -> Option<&Presence> {
        self.peers
            .iter()
            .map(|(p, _)| p)
            .find(|p| p.kernel == kernel)
    }

    /// Is some other kernel than `kernel` using `name` as its name?
    pub(crate) fn name_taken(&self, name: &str, kernel: &str) -> bool {
        self.peers
            .iter()
            .any(|(p, _)| p.kernel != kernel && p.name == name)
    }

    /// How many kernels are known.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.peers.len()
    }

    /// Is the table empty?
    #[cfg(test)]
    pub(crate) fn is_empty(&self) -> bool {
        self.peers.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(kernel: &str, incarnation: &str, up: bool) -> Presence {
        Presence {
            kernel: kernel.into(),
            name: format!("N{kernel}"),
            aliases: vec!["x".into()],
            incarnation: incarnation.into(),
            up,
            heartbeat: Duration::from_millis(100),
            pid: 7,
        }
    }

    #[test]
    fn records_round_trip_and_bad_ones_are_refused() {
        let r = record("k1", "i1", true);
        assert_eq!(Presence::from_json(&r.to_json()), Some(r.clone()));
        let down = record("k1", "i1", false);
        assert_eq!(Presence::from_json(&down.to_json()), Some(down));
        assert_eq!(r.names(), ["k1", "Nk1", "x"]);
        for bad in [
            &b"nope"[..],
            br#"{"kernel":"k"}"#,
            br#"{"kernel":"","name":"n","incarnation":"i","state":"up","heartbeat_ms":1}"#,
            br#"{"kernel":"k","name":"n","incarnation":"i","state":"maybe","heartbeat_ms":1}"#,
            br#"{"kernel":"k","name":"n","incarnation":"i","state":"up","heartbeat_ms":"1"}"#,
        ] {
            assert_eq!(Presence::from_json(bad), None);
        }
        assert_eq!(Presence::from_json(&vec![b' '; MAX_RECORD + 1]), None);
        assert!(Presence::is_ask(br#"{"state":"ask"}"#));
        assert!(!Presence::is_ask(&r.to_json()) && !Presence::is_ask(b"ask"));
    }

    #[test]
    fn arrivals_restarts_departures_and_expiry() {
        let t0 = Instant::now();
        let mut t = PeerTable::new("me");
        assert_eq!(t.heard(record("me", "i", true), t0), Change::None);
        assert!(matches!(
            t.heard(record("k1", "i1", true), t0),
            Change::Arrived(_)
        ));
        assert_eq!(t.heard(record("k1", "i1", true), t0), Change::None);
        assert!(matches!(
            t.heard(record("k1", "i2", true), t0),
            Change::Restarted(_)
        ));
        // A goodbye from the old incarnation changes nothing.
        assert_eq!(t.heard(record("k1", "i1", false), t0), Change::None);
        assert_eq!(t.len(), 1);
        assert!(t.name_taken("Nk1", "k9") && !t.name_taken("Nk1", "k1"));
        assert!(matches!(
            t.heard(record("k2", "j", true), t0),
            Change::Arrived(_)
        ));
        assert_eq!(
            t.heard(record("k2", "j", false), t0),
            Change::Left("k2".into())
        );
        // k1 heard at t0 with 100 ms beats: alive at 299 ms, gone at 300 ms.
        assert!(t.expire(t0 + Duration::from_millis(299)).is_empty());
        let gone = t.expire(t0 + Duration::from_millis(300));
        assert_eq!(gone.len(), 1);
        assert!(t.is_empty());
        t.heard(record("k3", "i", true), t0);
        assert_eq!(t.clear().len(), 1);
        assert!(t.get("k3").is_none());
    }
}
