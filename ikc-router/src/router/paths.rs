//! Shortest paths from this kernel (Dijkstra over the records), and the
//! names of the kernels reached.

use std::cmp::{Ordering, Reverse};
use std::collections::{BTreeMap, BinaryHeap};

use foldhash::{HashMap, HashMapExt};

use crate::config::PeerRole;
use crate::control::LinkStateRecord;
use crate::id::{KernelId, LinkId};
use crate::output::{KernelInfo, Reach};

use super::link::LinkState;

/// A reachable kernel.
#[derive(Debug, Clone)]
pub(super) struct Reached {
    pub(super) reach: Reach,
    /// The neighbour at the end of the first link.
    pub(super) via: KernelId,
    pub(super) names: Vec<String>,
    pub(super) incarnation: Option<u64>,
    pub(super) role: PeerRole,
}

impl Reached {
    pub(super) fn info(&self, kernel_id: &KernelId) -> KernelInfo {
        KernelInfo {
            kernel_id: kernel_id.clone(),
            names: self.names.clone(),
            incarnation: self.incarnation,
            role: self.role,
            reach: self.reach,
        }
    }
}

/// Who a name belongs to, among this kernel and the reachable ones.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Owner {
    One(KernelId),
    /// A clash: the claimants, sorted.
    Many(Vec<KernelId>),
}

/// The result of a computation.
#[derive(Debug, Default)]
pub(super) struct Paths {
    pub(super) reach: HashMap<KernelId, Reached>,
    pub(super) names: HashMap<String, Owner>,
}

/// The label of a node during Dijkstra: cost, then hops, then the first
/// neighbour's ID break ties, so every run picks the same path.
#[derive(Debug, Clone, Copy)]
struct Label {
    cost: u64,
    hops: u32,
    first: usize,
    link: LinkId,
}

/// Compute the paths from `me` over the usable own links and the records
/// (the names are indexed by [`index_names`]).
pub(super) fn compute<'a>(
    me: &KernelId,
    my_incarnation: u64,
    links: impl Iterator<Item = (LinkId, &'a LinkState)>,
    records: impl Iterator<Item = &'a LinkStateRecord>,
) -> Paths {
    let mut graph = Graph::default();
    graph.intern(me);
    let records: Vec<&LinkStateRecord> = records.collect();
    for record in &records {
        let u = graph.intern(&record.origin);
        graph.nodes[u].record = Some(record);
    }
    // Advertised directed edges between routers (weight, and the
    // incarnation of the far end they were made with), then the leaves.
    let mut advertised: HashMap<(usize, usize), (u32, u64)> = HashMap::new();
    for record in &records {
        let u = graph.index[record.origin.as_str()];
        for link in &record.links {
            let v = graph.intern(&link.peer);
            advertised.insert((u, v), (link.weight, link.incarnation));
        }
        for leaf in &record.leaves {
            let v = graph.intern(&leaf.kernel_id);
            let node = &mut graph.nodes[v];
            if node.names.is_none() {
                node.names = Some(&leaf.names);
                node.role = PeerRole::Leaf;
            }
        }
    }

    let mut own: Vec<(LinkId, &LinkState)> = Vec::new();
    for (link, state) in links {
        if !state.usable {
            continue;
        }
        let v = graph.intern(&state.peer.kernel_id);
        own.push((link, state));
        let node = &mut graph.nodes[v];
        node.link_incarnation = state.incarnation;
        node.names = Some(&state.peer.names);
        node.role = state.peer.role;
    }
    let mut best: Vec<Option<Label>> = vec![None; graph.ids.len()];
    let mut heap = BinaryHeap::new();
    for &(link, state) in &own {
        let v = graph.index[state.peer.kernel_id.as_str()];
        // The larger weight of both ends counts, if the peer's record is
        // of this incarnation and lists us.
        let back = match advertised.get(&(v, 0)) {
            Some(&(weight, incarnation)) if incarnation == my_incarnation => weight,
            _ => 0,
        };
        let label = Label {
            cost: u64::from(state.weight.max(back)),
            hops: 1,
            first: v,
            link,
        };
        if graph.better(&label, best[v].as_ref()) {
            best[v] = Some(label);
            heap.push(Reverse((label.cost, label.hops, v)));
        }
    }
    let mut settled = vec![false; graph.ids.len()];
    settled[0] = true;
    while let Some(Reverse((cost, _, u))) = heap.pop() {
        if settled[u] {
            continue;
        }
        settled[u] = true;
        let Some(here) = best[u] else { continue };
        debug_assert_eq!(here.cost, cost);
        // Only routers with a record carry traffic onwards, and only with
        // the record of the incarnation they are linked to us as.
        let Some(record) = graph.nodes[u].record else {
            continue;
        };
        if !graph.nodes[u].current(record) {
            continue;
        }
        let mut relax = |v: usize, weight: u64| {
            if settled[v] {
                return;
            }
            let label = Label {
                cost: here.cost.saturating_add(weight),
                hops: here.hops + 1,
                first: here.first,
                link: here.link,
            };
            if graph.better(&label, best[v].as_ref()) {
                best[v] = Some(label);
                heap.push(Reverse((label.cost, label.hops, v)));
            }
        };
        for link in &record.links {
            let v = graph.index[link.peer.as_str()];
            // An edge counts only if both ends advertise it, each with the
            // incarnation the other's record has.
            let Some(far) = graph.nodes[v].record else {
                continue;
            };
            if far.incarnation != link.incarnation {
                continue;
            }
            if let Some(&(back, incarnation)) = advertised.get(&(v, u)) {
                if incarnation == record.incarnation {
                    relax(v, u64::from(link.weight.max(back)));
                }
            }
        }
        for leaf in &record.leaves {
            relax(graph.index[leaf.kernel_id.as_str()], u64::from(leaf.weight));
        }
    }

    let mut paths = Paths::default();
    for (v, label) in best.iter().enumerate() {
        let Some(label) = label else { continue };
        let id = graph.ids[v];
        let node = &graph.nodes[v];
        let (node_names, incarnation, role) = match node.record.filter(|r| node.current(r)) {
            Some(record) => (
                &record.names[..],
                Some(record.incarnation),
                PeerRole::Router,
            ),
            None => (
                node.names.map_or(&[][..], |n| &n[..]),
                node.link_incarnation,
                node.role,
            ),
        };
        let reach = if label.first == v {
            Reach::Direct {
                link: label.link,
                cost: label.cost,
            }
        } else {
            Reach::Routed {
                next_hop: label.link,
                hops: label.hops,
                cost: label.cost,
            }
        };
        paths.reach.insert(
            id.clone(),
            Reached {
                reach,
                via: (*graph.ids[label.first]).clone(),
                names: node_names.to_vec(),
                incarnation,
                role,
            },
        );
    }
    paths
}

/// Who has each name: this kernel and the reachable ones.
pub(super) fn index_names(
    me: &KernelId,
    my_names: &[String],
    reach: &HashMap<KernelId, Reached>,
) -> HashMap<String, Owner> {
    let mut names: BTreeMap<&str, Vec<&KernelId>> = BTreeMap::new();
    for name in std::iter::once(me.as_str()).chain(my_names.iter().map(String::as_str)) {
        names.entry(name).or_default().push(me);
    }
    for (id, reached) in reach {
        for name in std::iter::once(id.as_str()).chain(reached.names.iter().map(String::as_str)) {
            let owners = names.entry(name).or_default();
            if !owners.contains(&id) {
                owners.push(id);
            }
        }
    }
    let mut index = HashMap::with_capacity(names.len());
    for (name, mut owners) in names {
        let owner = if owners.len() == 1 {
            Owner::One(owners[0].clone())
        } else {
            owners.sort();
            Owner::Many(owners.into_iter().cloned().collect())
        };
        index.insert(name.to_owned(), owner);
    }
    index
}

#[derive(Debug, Clone, Copy)]
struct Node<'a> {
    record: Option<&'a LinkStateRecord>,
    names: Option<&'a Vec<String>>,
    role: PeerRole,
    /// The incarnation its hello announced, for a neighbour.
    link_incarnation: Option<u64>,
}

impl Node<'_> {
    /// Whether `record` is of the incarnation this kernel is linked to (a
    /// neighbour that restarted may still have its old record held).
    fn current(&self, record: &LinkStateRecord) -> bool {
        self.link_incarnation
            .is_none_or(|i| i == record.incarnation)
    }
}

#[derive(Debug, Default)]
struct Graph<'a> {
    ids: Vec<&'a KernelId>,
    index: HashMap<&'a str, usize>,
    nodes: Vec<Node<'a>>,
}

impl<'a> Graph<'a> {
    fn intern(&mut self, id: &'a KernelId) -> usize {
        if let Some(&i) = self.index.get(id.as_str()) {
            return i;
        }
        let i = self.ids.len();
        self.ids.push(id);
        self.index.insert(id.as_str(), i);
        self.nodes.push(Node {
            record: None,
            names: None,
            role: PeerRole::Router,
            link_incarnation: None,
        });
        i
    }

    /// Whether `new` beats `old` (lower cost, then fewer hops, then the
    /// smaller first neighbour, then the smaller link).
    fn better(&self, new: &Label, old: Option<&Label>) -> bool {
        let Some(old) = old else { return true };
        let order = (new.cost, new.hops)
            .cmp(&(old.cost, old.hops))
            .then_with(|| self.ids[new.first].cmp(self.ids[old.first]))
            .then_with(|| new.link.cmp(&old.link));
        order == Ordering::Less
    }
}
