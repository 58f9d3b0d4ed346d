//! The responder's state, shared by the `IKC` session and the sessions
//! that work for it (channels, proxies, thunks) in the same kernel.
//!
//! Perl IKC keeps one responder object per process in a global (`$ikc`).
//! Here each kernel has one responder, whose state the kernel keeps as a
//! service ([`ikc_core::Kernel::set_service`]) while the `IKC` session
//! runs; the sessions that work for it (channels, proxies, thunks, the
//! local channel) are handed a weak reference when they are spawned. When
//! the `IKC` session stops, the state goes and those sessions find no
//! responder.

use foldhash::HashMap;
use std::cell::RefCell;
use std::rc::{Rc, Weak};
use std::sync::Arc;

use ikc_channel::{CallerInfo, Channel};
use ikc_core::{RemoteSender, SessionId};

use ikc_specifier::HashForm;

use crate::introspect::{Counters, LinkStats};
use crate::mesh::{Mesh, MeshRole};
use crate::monitor::Monitors;
use crate::published::Published;
use crate::remote::RemoteKernels;
use crate::request::ParsedTarget;
use crate::subscription::Subscriptions;

/// How a registered kernel is reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Route {
    /// Our own kernel (posting to our own names goes through IKC too).
    Local,
    /// A channel session and its connection.
    Channel(SessionId),
}

/// Where a channel is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LinkPhase {
    /// The handshake is running.
    Negotiating,
    /// The handshake is done: messages flow.
    Up,
    /// The channel is closing or closed: nothing more may be sent on it.
    Closed,
}

/// A connection's state, in one place: shared by its channel session
/// (which owns the socket) and the responder (which encodes messages into
/// it).
///
/// Whoever queues bytes in `channel` must make sure the channel session
/// writes them: [`Link::note_output`] says whether a flush event must be
/// posted.
#[derive(Debug)]
pub(crate) struct Link {
    /// The sans-IO protocol state.
    pub(crate) channel: Channel,
    /// Our name on this channel (IKC's `kernel_name`): filled into the
    /// `kernel` of an RSVP that has none.
    pub(crate) kernel_name: String,
    /// The peer's real ID, once the handshake is done.
    pub(crate) remote_id: Option<Rc<str>>,
    /// The remote kernel was registered through this channel (not a
    /// second channel to a kernel already connected).
    pub(crate) registered: bool,
    /// Where the channel is in its life.
    pub(crate) phase: LinkPhase,
    /// The peer's other names, from the handshake.
    pub(crate) remote_names: Vec<String>,
    /// What the channel is to the mesh.
    pub(crate) mesh: MeshRole,
    /// We said goodbye: the socket closes when the peer closes its end.
    pub(crate) awaiting_eof: bool,
    /// We dialed this connection (a client channel).
    pub(crate) dialed: bool,
    /// The routing weight the configuration fixes for this link.
    pub(crate) link_weight: Option<u32>,
    /// A flush event is already posted to the channel session.
    pub(crate) flush_pending: bool,
    /// The channel session is handing on what it read, and writes the
    /// output queued meanwhile when it is done: no flush event is needed.
    pub(crate) draining: bool,
    /// What the link has carried (introspection).
    pub(crate) stats: LinkStats,
    /// The last RSVP sent without a kernel, and the copy sent with
    /// [`kernel_name`](Self::kernel_name) filled in.
    pub(crate) last_rsvp: Option<(Arc<HashForm>, Arc<HashForm>)>,
}

impl Link {
    /// `rsvp` (which names no kernel) with our name on this channel
    /// filled in; the copy made for the same shared RSVP last time is
    /// reused (a caller sends the same RSVP call after call).
    pub(crate) fn rsvp_with_kernel(&mut self, rsvp: &Arc<HashForm>) -> Arc<HashForm> {
        if let Some((sent, filled)) = &self.last_rsvp
            && Arc::ptr_eq(sent, rsvp)
            && filled.kernel == self.kernel_name
        {
            return Arc::clone(filled);
        }
        let mut form = HashForm::clone(rsvp);
        form.kernel.clone_from(&self.kernel_name);
        let filled = Arc::new(form);
        self.last_rsvp = Some((Arc::clone(rsvp), Arc::clone(&filled)));
        filled
    }

    /// Record that output was queued; true if the caller must post a flush
    /// event to the channel session. Never while the channel session is
    /// [`draining`](Self::draining) its input.
    pub(crate) fn note_output(&mut self) -> bool {
        !self.draining && !std::mem::replace(&mut self.flush_pending, true)
    }

    /// Is the channel closing or closed?
    pub(crate) fn is_closed(&self) -> bool {
        self.phase == LinkPhase::Closed
    }
}

/// What [`State::last_proxy_from`] keeps.
#[derive(Debug)]
pub(crate) struct LastProxyFrom {
    /// The sending session.
    pub(crate) sender: SessionId,
    /// The kernel's alias generation when it was found.
    pub(crate) aliases: u64,
    /// The published states' generation when it was found.
    pub(crate) published: u64,
    /// The proxy sender (`None`: the session published nothing).
    pub(crate) from: Option<Arc<HashForm>>,
}

/// A shared [`Link`].
pub(crate) type LinkRef = Rc<RefCell<Link>>;

/// The key a thunk is cached under: the `from` of the requests it stands
/// for (all parts empty when there is none).
pub(crate) type ThunkKey = HashForm;

/// Everything the responder knows.
#[derive(Debug)]
pub(crate) struct State {
    /// The `IKC` session.
    pub(crate) session: SessionId,
    /// This kernel's ID.
    pub(crate) kernel_id: String,
    /// Kernels we can reach, by real ID and alias.
    pub(crate) remotes: RemoteKernels<Route>,
    /// Channel sessions and their links, negotiated or not.
    pub(crate) links: HashMap<SessionId, LinkRef>,
    /// Published states and RSVP permissions.
    pub(crate) published: Published,
    /// The per-request authorization hook.
    pub(crate) request_authorizer: Option<crate::security::RequestAuthorizer>,
    /// No-publish mode: unpublished states run if the hook agrees.
    pub(crate) no_publish: bool,
    /// Send `caller` details with messages (on by default).
    pub(crate) send_caller: bool,
    /// Monitors by kernel name.
    pub(crate) monitors: Monitors<SessionId>,
    /// Subscriptions in flight.
    pub(crate) subscriptions: Subscriptions<SessionId>,
    /// Proxy sessions by the remote kernel name they were created for.
    pub(crate) proxies: HashMap<String, Vec<SessionId>>,
    /// Thunk sessions (remote SENDERs) by the `from` they stand for.
    pub(crate) thunks: HashMap<ThunkKey, SessionId>,
    /// Thunks in creation order, for evicting the oldest.
    pub(crate) thunk_order: Vec<ThunkKey>,
    /// The SENDER made for the last request that carried a `caller` or a
    /// `from`, with what decided it: the next request from the same
    /// caller (a channel shares it while it repeats) and `from` reuses
    /// it. Cleared whenever a thunk is added or released.
    pub(crate) last_sender: Option<(SenderKey, Arc<RemoteSender>)>,
    /// The session that runs requests our kernel sends to itself.
    pub(crate) local_channel: Option<SessionId>,
    /// `IKC/shutdown` was asked for.
    pub(crate) shutting_down: bool,
    /// Request targets already parsed, by text.
    pub(crate) targets: Recent<Arc<str>, Rc<ParsedTarget>>,
    /// Hash-form targets (RSVP answers, mostly) already converted.
    pub(crate) hash_targets: Recent<HashForm, Rc<ParsedTarget>>,
    /// RSVPs given as text to `IKC/call`, parsed, with the calling
    /// session filled in when the text names none.
    pub(crate) rsvp_texts: Recent<String, (Option<SessionId>, Arc<HashForm>)>,
    /// The `from` of messages sent by a session that published something
    /// (IKC's proxy sender), by alias.
    pub(crate) proxy_froms: Recent<String, Arc<HashForm>>,
    /// The proxy sender found last: for this session, while neither the
    /// kernel's aliases nor the published states have changed.
    pub(crate) last_proxy_from: Option<LastProxyFrom>,
    /// The `IKC` session holds itself until its channels have closed.
    pub(crate) held_until_closed: bool,
    /// The router and its timer.
    pub(crate) mesh: Mesh,
    /// Messages delivered, sent, dropped; errors (introspection).
    pub(crate) counters: Counters,
    /// Kernels watching through `IKC/watch` (once per watch): their own
    /// traffic is not reported to message monitors.
    pub(crate) watchers: Vec<String>,
    /// Traces started here (`IKC/trace`), to relay their hops.
    pub(crate) traces: crate::trace::Traces,
    /// The message that just arrived, while it is handled (only while
    /// message monitors watch).
    pub(crate) arrival: Option<crate::traffic::Arrival>,
}

/// The shared state.
pub(crate) type Shared = Rc<RefCell<State>>;

/// A weak reference to the shared state, as the responder's helper
/// sessions hold it.
pub(crate) type WeakShared = Weak<RefCell<State>>;

/// The responder of the kernel `ctx` runs in, if it is running.
pub(crate) fn lookup(ctx: &ikc_core::Ctx<'_>) -> Option<Shared> {
    ctx.service::<RefCell<State>>()
}

impl State {
    pub(crate) fn new(session: SessionId, kernel_id: &str, now: std::time::Instant) -> Self {
        let mut remotes = RemoteKernels::default();
        remotes.register_local(kernel_id, &[], Route::Local);
        Self {
            session,
            kernel_id: kernel_id.to_owned(),
            remotes,
            links: HashMap::default(),
            published: Published::default(),
            request_authorizer: None,
            no_publish: false,
            send_caller: true,
            monitors: Monitors::default(),
            subscriptions: Subscriptions::default(),
            proxies: HashMap::default(),
            thunks: HashMap::default(),
            thunk_order: Vec::new(),
            last_sender: None,
            local_channel: None,
            shutting_down: false,
            targets: Recent::default(),
            hash_targets: Recent::default(),
            rsvp_texts: Recent::default(),
            proxy_froms: Recent::default(),
            last_proxy_from: None,
            held_until_closed: false,
            mesh: Mesh::new(kernel_id, now),
            counters: Counters::default(),
            watchers: Vec::new(),
            traces: crate::trace::Traces::default(),
            arrival: None,
        }
    }

    /// The link of a channel session.
    pub(crate) fn link(&self, session: SessionId) -> Option<LinkRef> {
        self.links.get(&session).cloned()
    }
}

/// What decides a request's remote SENDER (see `caller::sender_of`): its
/// `caller`, when it names a kernel, and its `from`.
#[derive(Debug)]
pub(crate) struct SenderKey {
    pub(crate) caller: Option<Arc<CallerInfo>>,
    pub(crate) from: Option<Arc<HashForm>>,
}

impl SenderKey {
    /// Is this the key of a request with `caller` and `from`? Callers are
    /// the same when they are the same shared copy; so are senders, or
    /// when their text is the same.
    pub(crate) fn is(
        &self,
        caller: Option<&Arc<CallerInfo>>,
        from: Option<&Arc<HashForm>>,
    ) -> bool {
        let same_caller = match (&self.caller, caller) {
            (Some(a), Some(b)) => Arc::ptr_eq(a, b),
            (None, None) => true,
            _ => false,
        };
        let same_from = match (&self.from, from) {
            (Some(a), Some(b)) => Arc::ptr_eq(a, b) || a == b,
            (None, None) => true,
            _ => false,
        };
        same_caller && same_from
    }
}

/// What the responder parsed lately, by what it parsed it from: the last
/// [`Recent::KEPT`] entries, most recent last (a kernel's messages go to a
/// few targets and answer a few RSVPs, so a short list finds them).
#[derive(Debug)]
pub(crate) struct Recent<K, V> {
    entries: Vec<(K, V)>,
}

impl<K, V> Default for Recent<K, V> {
    fn default() -> Self {
        Self {
            entries: Vec::new(),
        }
    }
}

impl<K, V> Recent<K, V> {
    /// How many entries are kept.
    pub(crate) const KEPT: usize = 32;

    /// The most recent entry that `matches`.
    fn entry(&self, matches: impl Fn(&K, &V) -> bool) -> Option<&(K, V)> {
        self.entries.iter().rev().find(|(k, v)| matches(k, v))
    }

    /// The value kept for `key`, if any.
    pub(crate) fn get<Q>(&self, key: &Q) -> Option<&V>
    where
        K: std::borrow::Borrow<Q>,
        Q: PartialEq + ?Sized,
    {
        self.entry(|k, _| k.borrow() == key).map(|(_, v)| v)
    }

    /// The key kept equal to `key`, if any (a shared key is then shared
    /// again rather than copied).
    pub(crate) fn key<Q>(&self, key: &Q) -> Option<&K>
    where
        K: std::borrow::Borrow<Q>,
        Q: PartialEq + ?Sized,
    {
        self.entry(|k, _| k.borrow() == key).map(|(k, _)| k)
    }

    /// The most recent value whose entry `matches`.
    pub(crate) fn find(&self, matches: impl Fn(&K, &V) -> bool) -> Option<&V> {
        self.entry(matches).map(|(_, v)| v)
    }

    /// Keep `value` for `key`, forgetting the oldest entry when full.
    pub(crate) fn insert(&mut self, key: K, value: V) {
        if self.entries.len() >= Self::KEPT {
            self.entries.remove(0);
        }
        self.entries.push((key, value));
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use ikc_channel::{Identity, ServerChannelConfig};
    use ikc_freezer::Registry;

    use super::*;

    fn link(kernel_name: &str) -> Link {
        let config = ServerChannelConfig::new(Identity::new("id"), Registry::standard());
        Link {
            channel: Channel::server(config, Instant::now()).expect("channel"),
            kernel_name: kernel_name.to_owned(),
            remote_id: None,
            registered: false,
            phase: LinkPhase::Up,
            remote_names: Vec::new(),
            mesh: MeshRole::Outside,
            awaiting_eof: false,
            dialed: false,
            link_weight: None,
            flush_pending: false,
            draining: false,
            last_rsvp: None,
            stats: LinkStats::new("127.0.0.1:1", None),
        }
    }

    #[test]
    fn an_rsvp_gets_the_links_name_and_its_copy_is_kept_for_the_same_rsvp() {
        let mut link = link("Server");
        let rsvp = Arc::new(HashForm::new("", "me", "answer"));
        let filled = link.rsvp_with_kernel(&rsvp);
        assert_eq!(*filled, HashForm::new("Server", "me", "answer"));
        assert_eq!(rsvp.kernel, "", "the RSVP sent is not changed");
        // The same shared RSVP again: the same copy.
        assert!(Arc::ptr_eq(&filled, &link.rsvp_with_kernel(&rsvp)));
        // An equal RSVP that is another copy: filled in again.
        let other = Arc::new(HashForm::new("", "me", "answer"));
        let refilled = link.rsvp_with_kernel(&other);
        assert_eq!(refilled, filled);
        assert!(!Arc::ptr_eq(&refilled, &filled));
        // The link's name changed: the kept copy is not used.
        link.kernel_name = "Renamed".to_owned();
        assert_eq!(link.rsvp_with_kernel(&other).kernel, "Renamed");
    }
}
