//! The messages routers exchange ([`ControlMessage`]), and their form as an
//! IKC [`Value`].
//!
//! Only [`PeerRole::Router`](crate::PeerRole::Router) peers ever receive
//! one: the driver carries [`ControlMessage::to_value`] as the params of an
//! IKC message to a state reserved for routing, and hands what arrives
//! there to [`Router::handle_control`](crate::Router::handle_control)
//! after [`ControlMessage::from_value`].

use ikc_freezer::Value;
use serde::{Deserialize, Serialize};

use crate::config::RouterConfig;
use crate::error::RouterError;
use crate::id::KernelId;

/// A message between two routers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum ControlMessage {
    /// The first message on a link: who this kernel is, and which records
    /// it holds, so the peer sends only the records it lacks.
    Hello(Hello),
    /// Link-state records, flooded: each router keeps the newest record of
    /// each kernel and passes on the ones that were new to it.
    Records(Vec<LinkStateRecord>),
    /// A round-trip probe; the peer answers with [`ControlMessage::Echo`]
    /// carrying the same nonce.
    Probe {
        /// Chosen by the prober.
        nonce: u64,
    },
    /// The answer to a [`ControlMessage::Probe`].
    Echo {
        /// The probe's nonce.
        nonce: u64,
    },
    /// The sender refuses the link (a name clash); it closes the link next.
    Refuse(Refusal),
}

/// A router's greeting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Hello {
    /// The sender's kernel ID; must be the one its handshake announced.
    pub kernel_id: KernelId,
    /// The sender's incarnation.
    pub incarnation: u64,
    /// The sender's names.
    pub names: Vec<String>,
    /// The records the sender holds: origin, incarnation, sequence number.
    pub summary: Vec<RecordSummary>,
    /// The weight the sender's configuration fixes for this link, if any:
    /// the receiver takes it too (unless it fixes one itself), so a weight
    /// configured at one end holds for the link whichever end measures.
    #[serde(default)]
    pub weight: Option<u32>,
}

/// Which version of a kernel's record a router holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RecordSummary {
    /// The kernel the record is about.
    pub origin: KernelId,
    /// That kernel's incarnation.
    pub incarnation: u64,
    /// The record's sequence number.
    pub seq: u64,
}

/// One kernel's description of itself and its links, the unit of
/// link-state routing.
///
/// A record is newer than another of the same origin when it has the same
/// incarnation and a larger `seq`, or another incarnation (a restart). An
/// edge between two routers counts only if both of their records list it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct LinkStateRecord {
    /// The kernel described.
    pub origin: KernelId,
    /// Its incarnation.
    pub incarnation: u64,
    /// Its sequence number, raised at each change.
    pub seq: u64,
    /// Its names besides its ID.
    pub names: Vec<String>,
    /// Its links to routing kernels.
    pub links: Vec<AdvertisedLink>,
    /// The kernels that do not speak routing it is connected to, which the
    /// mesh reaches through it.
    pub leaves: Vec<AdvertisedLeaf>,
}

/// A link as its owner advertises it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct AdvertisedLink {
    /// The kernel at the other end.
    pub peer: KernelId,
    /// Its incarnation, from its hello: the link counts only while the
    /// peer's record has this incarnation too, so a dead kernel's old
    /// record cannot bring its links back.
    pub incarnation: u64,
    /// The link's weight from this end (the larger of both ends counts).
    pub weight: u32,
}

/// A leaf (a kernel that does not speak routing) as the router it is
/// connected to advertises it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct AdvertisedLeaf {
    /// The leaf's kernel ID.
    pub kernel_id: KernelId,
    /// Its other names.
    pub names: Vec<String>,
    /// The link's weight.
    pub weight: u32,
}

/// Why a router refused a link.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Refusal {
    /// The name both kernels claim.
    pub name: String,
    /// A sentence for the logs and monitors.
    pub reason: String,
}

impl ControlMessage {
    /// The message as an IKC value (serde's externally tagged form: a hash
    /// with the variant's name as its only key).
    pub fn to_value(&self) -> Value {
        // Every field is a string, an integer or a list of them: the bridge
        // cannot fail on them.
        ikc_freezer::to_value(self).unwrap_or_default()
    }

    /// A message from an IKC value, refusing anything that is not one.
    ///
    /// The size checks against a router's limits happen in
    /// [`Router::handle_control`](crate::Router::handle_control).
    ///
    /// # Errors
    ///
    /// [`RouterError::Malformed`] with what was wrong.
    pub fn from_value(value: &Value) -> Result<Self, RouterError> {
        Self::try_from(value.clone())
    }

    /// How many records the message carries (what the flood limit counts,
    /// with one for the message itself).
    pub fn record_count(&self) -> usize {
        match self {
            Self::Records(records) => records.len(),
            Self::Hello(hello) => hello.summary.len(),
            Self::Probe { .. } | Self::Echo { .. } | Self::Refuse(_) => 0,
        }
    }

    /// Check the message against the limits of `config`.
    pub(crate) fn check_limits(&self, config: &RouterConfig) -> Result<(), RouterError> {
        match self {
            Self::Hello(hello) => {
                check_count(
                    "records in a hello",
                    hello.summary.len(),
                    config.max_kernels,
                )?;
                check_names(&hello.names, config)?;
                check_name(&hello.kernel_id, config)
            }
            Self::Records(records) => {
                check_count("records in one message", records.len(), config.max_kernels)
            }
            Self::Refuse(refusal) => {
                check_count("refusal text", refusal.reason.len(), 4096)?;
                check_count("name length", refusal.name.len(), config.max_name_len)
            }
            Self::Probe { .. } | Self::Echo { .. } => Ok(()),
        }
    }
}

impl TryFrom<Value> for ControlMessage {
    type Error = RouterError;

    fn try_from(value: Value) -> Result<Self, RouterError> {
        ikc_freezer::from_value(value).map_err(|e| RouterError::Malformed(e.to_string()))
    }
}

impl From<&ControlMessage> for Value {
    fn from(message: &ControlMessage) -> Self {
        message.to_value()
    }
}

impl LinkStateRecord {
    /// Check one record against the limits of `config`, and its own
    /// consistency.
    pub(crate) fn check(&self, config: &RouterConfig) -> Result<(), RouterError> {
        check_name(&self.origin, config)?;
        check_names(&self.names, config)?;
        check_count(
            "links in a record",
            self.links.len(),
            config.max_links_per_kernel,
        )?;
        check_count(
            "leaves in a record",
            self.leaves.len(),
            config.max_links_per_kernel,
        )?;
        let bad = |reason| RouterError::BadRecord {
            origin: self.origin.clone(),
            reason,
        };
        for link in &self.links {
            check_name(&link.peer, config)?;
            if link.peer == self.origin {
                return Err(bad("a link to itself"));
            }
            if link.weight == 0 {
                return Err(bad("a link of weight 0"));
            }
        }
        for leaf in &self.leaves {
            check_name(&leaf.kernel_id, config)?;
            check_names(&leaf.names, config)?;
            if leaf.kernel_id == self.origin {
                return Err(bad("itself as a leaf"));
            }
            if leaf.weight == 0 {
                return Err(bad("a leaf of weight 0"));
            }
        }
        Ok(())
    }

    /// This record's summary.
    pub fn summary(&self) -> RecordSummary {
        RecordSummary {
            origin: self.origin.clone(),
            incarnation: self.incarnation,
            seq: self.seq,
        }
    }
}

fn check_count(what: &'static str, count: usize, max: usize) -> Result<(), RouterError> {
    if count > max {
        return Err(RouterError::TooLarge { what, count, max });
    }
    Ok(())
}

fn check_name(name: &str, config: &RouterConfig) -> Result<(), RouterError> {
    if name.is_empty() {
        return Err(RouterError::Malformed("an empty kernel name".to_owned()));
    }
    check_count("name length", name.len(), config.max_name_len)
}

fn check_names(names: &[String], config: &RouterConfig) -> Result<(), RouterError> {
    check_count("names", names.len(), config.max_names_per_kernel)?;
    names.iter().try_for_each(|name| check_name(name, config))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> LinkStateRecord {
        LinkStateRecord {
            origin: "a".into(),
            incarnation: u64::MAX - 3,
            seq: 7,
            names: vec!["Alpha".into()],
            links: vec![AdvertisedLink {
                peer: "b".into(),
                incarnation: 5,
                weight: 100,
            }],
            leaves: vec![AdvertisedLeaf {
                kernel_id: "perl".into(),
                names: vec!["Perl".into()],
                weight: 120,
            }],
        }
    }

    #[test]
    fn every_message_round_trips_through_a_value() {
        let messages = [
            ControlMessage::Hello(Hello {
                kernel_id: "a".into(),
                incarnation: 1 << 63,
                names: vec!["Alpha".into()],
                summary: vec![record().summary()],
                weight: Some(700),
            }),
            ControlMessage::Records(vec![record(), record()]),
            ControlMessage::Probe { nonce: u64::MAX },
            ControlMessage::Echo { nonce: 0 },
            ControlMessage::Refuse(Refusal {
                name: "Server".into(),
                reason: "taken".into(),
            }),
        ];
        for message in messages {
            let value = message.to_value();
            assert_eq!(ControlMessage::from_value(&value), Ok(message));
        }
    }

    #[test]
    fn garbage_is_malformed_not_a_panic() {
        let garbage = [
            Value::Undef,
            Value::Int(3),
            Value::from("Records"),
            Value::Array(vec![Value::Undef]),
            ikc_freezer::to_value(&std::collections::BTreeMap::from([("Probe", "x")])).unwrap(),
            ikc_freezer::to_value(&std::collections::BTreeMap::from([("Nope", 1)])).unwrap(),
        ];
        for value in garbage {
            assert!(matches!(
                ControlMessage::from_value(&value),
                Err(RouterError::Malformed(_))
            ));
        }
    }

    #[test]
    fn limits_are_checked() {
        let config = RouterConfig::new("me");
        let mut big = record();
        big.links = (0..=config.max_links_per_kernel)
            .map(|i| AdvertisedLink {
                peer: format!("k{i}").into(),
                incarnation: 1,
                weight: 1,
            })
            .collect();
        assert!(matches!(
            big.check(&config),
            Err(RouterError::TooLarge { .. })
        ));
        let mut selfish = record();
        selfish.links[0].peer = "a".into();
        assert!(matches!(
            selfish.check(&config),
            Err(RouterError::BadRecord { .. })
        ));
        assert_eq!(record().check(&config), Ok(()));
    }
}
