//! One link's state: the peer, its hello, round-trip measurement and the
//! derived weight, the flood limit, and the records waiting to go out.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use crate::config::{FloodLimit, Peer, PeerRole, WeightConfig};
use crate::control::{LinkStateRecord, RecordSummary};
use crate::id::{KernelId, LinkId};
use crate::info::LinkEntry;

/// A link as the router keeps it.
#[derive(Debug)]
pub(super) struct LinkState {
    pub(super) peer: Peer,
    /// When it came up among this router's links (1, 2, ...).
    pub(super) opened: u64,
    pub(super) since: Instant,
    /// Hello received (routers) or up (others), and not closing.
    pub(super) usable: bool,
    /// The router asked the driver to close it.
    pub(super) closing: bool,
    /// The peer's incarnation, from its hello.
    pub(super) incarnation: Option<u64>,
    pub(super) rtt: Rtt,
    /// The weight advertised (after hysteresis, or the fixed one).
    pub(super) weight: u32,
    /// The outstanding probe: nonce and when it was sent.
    pub(super) probe: Option<(u64, Instant)>,
    pub(super) next_probe: Option<Instant>,
    pub(super) last_heard: Instant,
    /// Records to flood on this link, one per origin (the newest).
    pub(super) outbox: BTreeMap<KernelId, LinkStateRecord>,
    /// The peer's hello summary, until the records it lacks are queued.
    pub(super) sync: Option<Vec<RecordSummary>>,
    /// The newest (incarnation, seq) of the peer's own record it sent here.
    pub(super) peer_seq: Option<(u64, u64)>,
    bucket: TokenBucket,
    pub(super) sent: u64,
    pub(super) received: u64,
    pub(super) stale: u64,
}

impl LinkState {
    pub(super) fn new(
        peer: Peer,
        weights: &WeightConfig,
        flood: &FloodLimit,
        now: Instant,
    ) -> Self {
        let usable = peer.role != PeerRole::Router;
        let weight = peer.fixed_weight.unwrap_or(weights.base).max(1);
        Self {
            peer,
            opened: 0,
            since: now,
            usable,
            closing: false,
            incarnation: None,
            rtt: Rtt::default(),
            weight,
            probe: None,
            next_probe: None,
            last_heard: now,
            outbox: BTreeMap::new(),
            sync: None,
            peer_seq: None,
            bucket: TokenBucket::new(flood, now),
            sent: 0,
            received: 0,
            stale: 0,
        }
    }

    pub(super) fn is_router(&self) -> bool {
        self.peer.role == PeerRole::Router
    }

    /// Take `cost` tokens; `false` if the peer floods.
    pub(super) fn admit(&mut self, cost: usize, flood: &FloodLimit, now: Instant) -> bool {
        self.bucket.take(cost, flood, now)
    }

    /// Queue a record for flooding, keeping only the newest per origin.
    pub(super) fn enqueue(&mut self, record: &LinkStateRecord) {
        match self.outbox.get(&record.origin) {
            Some(queued)
                if queued.incarnation == record.incarnation && queued.seq >= record.seq => {}
            _ => {
                self.outbox.insert(record.origin.clone(), record.clone());
            }
        }
    }

    /// A new round-trip sample; `true` if the advertised weight changed.
    pub(super) fn sample(&mut self, rtt: Duration, weights: &WeightConfig) -> bool {
        self.rtt.sample(rtt, weights.smoothing_shift);
        if self.peer.fixed_weight.is_some() {
            return false;
        }
        let derived = self.rtt.weight(weights);
        let delta = derived.abs_diff(self.weight);
        let threshold = (u64::from(self.weight) * u64::from(weights.hysteresis_percent) / 100)
            .max(u64::from(weights.min_change));
        if u64::from(delta) > threshold {
            self.weight = derived;
            return true;
        }
        false
    }

    /// Set or clear the fixed weight; `true` if the advertised weight changed.
    pub(super) fn set_fixed_weight(&mut self, fixed: Option<u32>, weights: &WeightConfig) -> bool {
        self.peer.fixed_weight = fixed;
        let weight = match fixed {
            Some(w) => w.max(1),
            None => self.rtt.weight(weights),
        };
        let changed = weight != self.weight;
        self.weight = weight;
        changed
    }

    /// When the link must be closed if nothing arrives.
    pub(super) fn deadline(&self, timeout: Option<Duration>) -> Option<Instant> {
        if self.closing || !self.is_router() {
            return None;
        }
        timeout.map(|t| self.last_heard + t)
    }

    pub(super) fn entry(&self, link: LinkId) -> LinkEntry {
        LinkEntry {
            link,
            peer: self.peer.kernel_id.clone(),
            peer_names: self.peer.names.clone(),
            role: self.peer.role,
            direction: self.peer.direction,
            usable: self.usable,
            weight: self.weight,
            fixed_weight: self.peer.fixed_weight,
            smoothed_rtt: self.rtt.smoothed,
            last_rtt: self.rtt.last,
            since: self.since,
            control_sent: self.sent,
            control_received: self.received,
            stale_records: self.stale,
        }
    }
}

/// A smoothed round trip (an EWMA, as TCP's SRTT).
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct Rtt {
    pub(super) smoothed: Option<Duration>,
    pub(super) last: Option<Duration>,
}

impl Rtt {
    fn sample(&mut self, rtt: Duration, shift: u32) {
        self.last = Some(rtt);
        self.smoothed = Some(match self.smoothed {
            None => rtt,
            Some(srtt) => {
                let srtt_ns = srtt.as_nanos() as i128;
                let step = (rtt.as_nanos() as i128 - srtt_ns) >> shift.min(16);
                Duration::from_nanos((srtt_ns + step).clamp(0, i128::from(u64::MAX)) as u64)
            }
        });
    }

    /// The weight the smoothed round trip gives (the base before any sample).
    fn weight(&self, weights: &WeightConfig) -> u32 {
        let Some(srtt) = self.smoothed else {
            return weights.base;
        };
        let units = srtt.as_nanos() / weights.rtt_unit.as_nanos().max(1);
        let weight = u128::from(weights.base) + units;
        weight.min(u128::from(weights.max.max(weights.base))) as u32
    }
}

/// The flood limit's bucket.
#[derive(Debug)]
struct TokenBucket {
    tokens: f64,
    refilled: Instant,
}

impl TokenBucket {
    fn new(limit: &FloodLimit, now: Instant) -> Self {
        Self {
            tokens: f64::from(limit.burst),
            refilled: now,
        }
    }

    fn take(&mut self, cost: usize, limit: &FloodLimit, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.refilled).as_secs_f64();
        self.refilled = self.refilled.max(now);
        self.tokens =
            (self.tokens + elapsed * f64::from(limit.per_second)).min(f64::from(limit.burst));
        let cost = cost as f64;
        if self.tokens < cost {
            return false;
        }
        self.tokens -= cost;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Direction;

    fn link() -> LinkState {
        LinkState::new(
            Peer::router("b", Direction::Outbound),
            &WeightConfig::default(),
            &FloodLimit::default(),
            Instant::now(),
        )
    }

    #[test]
    fn weight_follows_the_smoothed_rtt_with_hysteresis() {
        let weights = WeightConfig::default();
        let mut link = link();
        assert_eq!(link.weight, 100);
        // 1 ms adds 10: under the 20% threshold, the weight stays.
        assert!(!link.sample(Duration::from_millis(1), &weights));
        assert_eq!(link.weight, 100);
        // A slow link: 10 ms, smoothed over samples, crosses the threshold.
        let mut changed = false;
        for _ in 0..20 {
            changed |= link.sample(Duration::from_millis(10), &weights);
        }
        assert!(changed);
        assert!(link.weight > 150, "{}", link.weight);
        // Noise around the new value does not move it.
        let settled = link.weight;
        assert!(!link.sample(Duration::from_micros(9_500), &weights));
        assert_eq!(link.weight, settled);
    }

    #[test]
    fn a_fixed_weight_overrides_measurement() {
        let weights = WeightConfig::default();
        let mut link = link();
        assert!(link.set_fixed_weight(Some(7), &weights));
        assert!(!link.sample(Duration::from_secs(1), &weights));
        assert_eq!(link.weight, 7);
        assert!(link.set_fixed_weight(None, &weights));
        assert!(link.weight > 1000);
    }

    #[test]
    fn the_bucket_refills_at_its_rate() {
        let limit = FloodLimit {
            burst: 10,
            per_second: 10,
        };
        let t0 = Instant::now();
        let mut bucket = TokenBucket::new(&limit, t0);
        assert!(bucket.take(10, &limit, t0));
        assert!(!bucket.take(1, &limit, t0));
        assert!(bucket.take(5, &limit, t0 + Duration::from_millis(500)));
        assert!(!bucket.take(1, &limit, t0 + Duration::from_millis(500)));
    }
}
