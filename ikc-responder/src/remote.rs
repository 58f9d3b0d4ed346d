//! The registry of kernels the responder can reach: each remote kernel's
//! real ID and channel, every alias it is known by, and the default kernel.

use foldhash::HashMap;

/// How a registered kernel is reached: through a channel (a session owning
/// a connection), or the local kernel itself (posting to our own names).
pub(crate) type Route<C> = C;

/// Remote kernels by real ID and alias.
///
/// A kernel has one real ID (the first name it announced: its globally
/// unique `$kernel->ID`) and any number of aliases (its names, aliases,
/// `ip:port`, and the address we reached it at). `C` identifies the channel
/// (a session id in the responder).
#[derive(Debug)]
pub(crate) struct RemoteKernels<C> {
    /// Real ID -> channel.
    channels: HashMap<String, Route<C>>,
    /// Alias -> real ID.
    aliases: HashMap<String, String>,
    /// Every name, real ID or alias -> its channel, as `channels` and
    /// `aliases` resolve it (a real ID before an alias of the same name):
    /// a message to a kernel finds its channel in one look, whichever name
    /// it uses. Kept by [`reroute`](Self::reroute).
    routes: HashMap<String, Route<C>>,
    /// Real ID -> its aliases, in the order they were registered.
    alias_lists: HashMap<String, Vec<String>>,
    /// Real IDs in registration order (so `*` reaches kernels in a stable order).
    order: Vec<String>,
    /// The kernel `IKC/post` uses when a specifier names none.
    default: Option<String>,
}

/// What [`RemoteKernels::unregister`] removed.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Unregistered<C> {
    /// The channel the kernel was reached through (if a real ID was removed).
    pub(crate) channel: Option<C>,
    /// Every name that no longer resolves (real ID first, then aliases).
    pub(crate) names: Vec<String>,
}

impl<C: Copy + Eq> Default for RemoteKernels<C> {
    fn default() -> Self {
        Self {
            channels: HashMap::default(),
            aliases: HashMap::default(),
            routes: HashMap::default(),
            alias_lists: HashMap::default(),
            order: Vec::new(),
            default: None,
        }
    }
}

impl<C: Copy + Eq> RemoteKernels<C> {
    /// Register a kernel reached through `channel`. Returns false (and
    /// changes nothing) if a kernel with that real ID is already registered.
    /// Aliases already taken by another kernel are skipped. The first kernel
    /// registered becomes the default (unless the local kernel is).
    pub(crate) fn register(&mut self, real_id: &str, aliases: &[String], channel: C) -> bool {
        if self.channels.contains_key(real_id) {
            return false;
        }
        self.channels.insert(real_id.to_owned(), channel);
        self.order.push(real_id.to_owned());
        if self.default.is_none() {
            self.default = Some(real_id.to_owned());
        }
        let mut taken = Vec::new();
        for name in aliases {
            if name.is_empty() || name == real_id || self.aliases.contains_key(name) {
                continue;
            }
            self.aliases.insert(name.clone(), real_id.to_owned());
            taken.push(name.clone());
        }
        self.reroute(real_id);
        for name in &taken {
            self.reroute(name);
        }
        self.alias_lists.insert(real_id.to_owned(), taken);
        true
    }

    /// Register the local kernel under `real_id`, reached through `local`,
    /// with `names` as further aliases. Unlike [`register`](Self::register)
    /// this may be called again to add names, and it never sets the default.
    pub(crate) fn register_local(&mut self, real_id: &str, names: &[String], local: C) {
        if !self.channels.contains_key(real_id) {
            self.channels.insert(real_id.to_owned(), local);
            self.order.push(real_id.to_owned());
            self.alias_lists.insert(real_id.to_owned(), Vec::new());
        }
        for name in names {
            if name.is_empty() || name == real_id || self.aliases.contains_key(name) {
                continue;
            }
            self.aliases.insert(name.clone(), real_id.to_owned());
            self.reroute(name);
            self.alias_lists
                .entry(real_id.to_owned())
                .or_default()
                .push(name.clone());
        }
        self.reroute(real_id);
    }

    /// Bring `routes` up to date for `name`, after a change to what it
    /// names.
    fn reroute(&mut self, name: &str) {
        let channel = self
            .real_id(name)
            .and_then(|id| self.channels.get(id).copied());
        match channel {
            Some(channel) => {
                self.routes.insert(name.to_owned(), channel);
            }
            None => {
                self.routes.remove(name);
            }
        }
    }

    /// Remove a kernel by real ID (with every alias), or a single alias.
    pub(crate) fn unregister(&mut self, name: &str) -> Option<Unregistered<C>> {
        if let Some(channel) = self.channels.remove(name) {
            self.order.retain(|id| id != name);
            let aliases = self.alias_lists.remove(name).unwrap_or_default();
            for alias in &aliases {
                self.aliases.remove(alias);
                self.reroute(alias);
            }
            self.reroute(name);
            if self.default.as_deref() == Some(name)
                || self.default.as_ref().is_some_and(|d| aliases.contains(d))
            {
                self.default = None;
            }
            let mut names = vec![name.to_owned()];
            names.extend(aliases);
            return Some(Unregistered {
                channel: Some(channel),
                names,
            });
        }
        let real = self.aliases.remove(name)?;
        self.reroute(name);
        if let Some(list) = self.alias_lists.get_mut(&real) {
            list.retain(|a| a != name);
        }
        if self.default.as_deref() == Some(name) {
            self.default = None;
        }
        Some(Unregistered {
            channel: None,
            names: vec![name.to_owned()],
        })
    }

    /// The channels a kernel name reaches: `*` is every registered kernel
    /// (the local one included, as in IKC), an alias or real ID is one.
    pub(crate) fn channel_list(&self, name: &str) -> Vec<C> {
        self.channels_of(name).collect()
    }

    /// [`channel_list`](Self::channel_list) without collecting.
    pub(crate) fn channels_of<'a>(&'a self, name: &'a str) -> impl Iterator<Item = C> + 'a {
        let all = (name == "*").then_some(&self.order);
        let one = if name == "*" {
            None
        } else {
            self.routes.get(name).copied()
        };
        all.into_iter()
            .flatten()
            .filter_map(|id| self.channels.get(id).copied())
            .chain(one)
    }

    /// The real ID a name (real ID or alias) stands for.
    pub(crate) fn real_id<'a>(&'a self, name: &'a str) -> Option<&'a str> {
        if self.channels.contains_key(name) {
            Some(name)
        } else {
            self.aliases.get(name).map(String::as_str)
        }
    }

    /// Is `name` a real ID (not an alias)?
    pub(crate) fn is_real(&self, name: &str) -> bool {
        self.channels.contains_key(name)
    }

    /// The aliases of a real ID, in registration order.
    pub(crate) fn aliases_of(&self, real_id: &str) -> &[String] {
        self.alias_lists.get(real_id).map_or(&[], Vec::as_slice)
    }

    /// Make `name` (real ID or alias) the default kernel.
    pub(crate) fn set_default(&mut self, name: &str) -> bool {
        match self.real_id(name) {
            Some(id) => {
                self.default = Some(id.to_owned());
                true
            }
            None => false,
        }
    }

    /// The default kernel's real ID.
    pub(crate) fn default_kernel(&self) -> Option<&str> {
        self.default.as_deref()
    }

    /// Every registered real ID with its channel, in registration order.
    pub(crate) fn kernels(&self) -> impl Iterator<Item = (&str, C)> + '_ {
        self.order
            .iter()
            .filter_map(|id| self.channels.get(id).map(|c| (id.as_str(), *c)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn register_resolves_id_and_aliases_and_sets_default() {
        let mut r = RemoteKernels::default();
        assert!(r.register("vm-1", &names(&["Inet", "Ikc", "127.0.0.1:41001"]), 7u32));
        assert_eq!(r.channel_list("vm-1"), [7]);
        assert_eq!(r.channel_list("Ikc"), [7]);
        assert_eq!(r.channel_list("nope"), Vec::<u32>::new());
        assert_eq!(r.default_kernel(), Some("vm-1"));
        assert!(r.is_real("vm-1") && !r.is_real("Inet"));
        assert_eq!(
            r.aliases_of("vm-1"),
            names(&["Inet", "Ikc", "127.0.0.1:41001"])
        );
        // A second kernel with the same real ID is refused; taken aliases are skipped.
        assert!(!r.register("vm-1", &[], 8));
        assert!(r.register("vm-2", &names(&["Inet", "Other"]), 8));
        assert_eq!(r.channel_list("Inet"), [7]);
        assert_eq!(r.aliases_of("vm-2"), names(&["Other"]));
        assert_eq!(r.channel_list("*"), [7, 8]);
    }

    #[test]
    fn unregister_by_id_removes_aliases_and_default() {
        let mut r = RemoteKernels::default();
        r.register("vm-1", &names(&["Inet"]), 1u32);
        r.register("vm-2", &names(&["B"]), 2);
        let gone = r.unregister("vm-1").unwrap();
        assert_eq!(
            gone,
            Unregistered {
                channel: Some(1),
                names: names(&["vm-1", "Inet"])
            }
        );
        assert_eq!(r.default_kernel(), None);
        assert!(r.channel_list("Inet").is_empty());
        assert_eq!(r.channel_list("*"), [2]);
        // One alias alone.
        let gone = r.unregister("B").unwrap();
        assert_eq!(
            gone,
            Unregistered {
                channel: None,
                names: names(&["B"])
            }
        );
        assert_eq!(r.channel_list("vm-2"), [2]);
        assert!(r.unregister("B").is_none());
    }

    /// One change to a registry, from a small set of names (so that
    /// names collide: an alias of one kernel may be another's real ID).
    #[derive(Debug, Clone)]
    enum Change {
        Register(usize, Vec<usize>, u32),
        RegisterLocal(usize, Vec<usize>),
        Unregister(usize),
    }

    const NAMES: [&str; 6] = ["a", "b", "c", "d", "e", "f"];

    fn change() -> impl proptest::strategy::Strategy<Value = Change> {
        use proptest::prelude::*;
        let name = 0..NAMES.len();
        let names = proptest::collection::vec(0..NAMES.len(), 0..4);
        prop_oneof![
            (name.clone(), names.clone(), 1..4u32).prop_map(|(n, a, c)| Change::Register(n, a, c)),
            (name.clone(), names).prop_map(|(n, a)| Change::RegisterLocal(n, a)),
            name.prop_map(Change::Unregister),
        ]
    }

    proptest::proptest! {
        /// Whatever is registered and unregistered, every name reaches the
        /// channel the real IDs and aliases give it: a real ID first, then
        /// an alias's kernel.
        #[test]
        fn each_name_reaches_the_channel_its_kernel_has(
            changes in proptest::collection::vec(change(), 0..24),
        ) {
            let mut r = RemoteKernels::default();
            for change in changes {
                match change {
                    Change::Register(n, aliases, channel) => {
                        let aliases: Vec<String> = aliases.iter().map(|&a| NAMES[a].to_owned()).collect();
                        r.register(NAMES[n], &aliases, channel);
                    }
                    Change::RegisterLocal(n, aliases) => {
                        let aliases: Vec<String> = aliases.iter().map(|&a| NAMES[a].to_owned()).collect();
                        r.register_local(NAMES[n], &aliases, 0);
                    }
                    Change::Unregister(n) => {
                        r.unregister(NAMES[n]);
                    }
                }
                for name in NAMES {
                    let by_rule = r.channels.get(name).copied().or_else(|| {
                        let id = r.aliases.get(name)?;
                        r.channels.get(id).copied()
                    });
                    proptest::prop_assert_eq!(r.channel_list(name), Vec::from_iter(by_rule), "{}", name);
                }
            }
        }
    }

    #[test]
    fn local_kernel_never_becomes_default_but_star_reaches_it() {
        let mut r = RemoteKernels::default();
        r.register_local("me-1", &names(&["Me"]), 0u32);
        r.register_local("me-1", &names(&["AlsoMe"]), 0);
        assert_eq!(r.default_kernel(), None);
        assert_eq!(r.channel_list("AlsoMe"), [0]);
        r.register("vm-2", &[], 2);
        assert_eq!(r.default_kernel(), Some("vm-2"));
        assert_eq!(r.channel_list("*"), [0, 2]);
        assert!(r.set_default("Me"));
        assert_eq!(r.default_kernel(), Some("me-1"));
        assert!(!r.set_default("unknown"));
    }
}
