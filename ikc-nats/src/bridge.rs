//! The NATS thread: a tokio runtime of its own running the async-nats
//! client, the presence protocol, one pipe per kernel heard on the bus,
//! and the requests of plain NATS clients. It talks to the kernel only
//! through [`KernelPort`] (the kernel's cross-thread handle) and the
//! sockets of the pipes.
//!
//! A pipe stands for one remote kernel: a socket pair whose kernel end is
//! an ordinary IKC channel session in the kernel, and whose NATS end is
//! driven here by a sans-IO [`Channel`] speaking for the remote kernel. So
//! the kernel's responder sees every kernel on the bus as a connected
//! kernel (register, unregister, posts, calls, errors, subscriptions all
//! work as over a socket), and each message it sends is published on the
//! destination's subject.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use async_nats::{Client, HeaderMap, Subscriber};
use bytes::Bytes;
use futures_util::StreamExt;
use futures_util::stream::SelectAll;
use ikc_channel::{Channel, ChannelEvent, Identity, Message, MessageTarget, ServerChannelConfig};
use ikc_freezer::{Freezer, Registry};
use ikc_specifier::Specifier;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;

use crate::json;
use crate::pairing::{Generations, LINK_HEADER, LinkTag, Verdict};
use crate::port::{KernelPort, ToKernel, ToNats};
use crate::presence::{Change, PeerTable, Presence};
use crate::subject::Subjects;

/// The header naming the freezer of an IKC message.
pub const FREEZER_HEADER: &str = "IKC-Freezer";
/// The header naming the kernel (ID) that sent an IKC message.
pub const SENDER_HEADER: &str = "IKC-Sender";
/// The header of an error reply to a plain NATS request (NATS's service
/// convention), with [`ERROR_CODE_HEADER`].
pub const ERROR_HEADER: &str = "Nats-Service-Error";
/// The numeric code of an error reply.
pub const ERROR_CODE_HEADER: &str = "Nats-Service-Error-Code";

/// How many sent messages are remembered for "no responders" reports.
const STATUS_BOOK: usize = 4096;
/// How many messages from NATS may wait for one remote kernel's pipe;
/// past this the bridge waits, and NATS's own bounded buffers (and slow
/// consumer reports) take over.
const PIPE_QUEUE: usize = 4096;

/// What the NATS thread needs to run.
pub(crate) struct BridgeSetup {
    pub(crate) client: Client,
    pub(crate) events: mpsc::UnboundedReceiver<async_nats::Event>,
    pub(crate) from_kernel: mpsc::UnboundedReceiver<ToNats>,
    pub(crate) port: KernelPort,
    pub(crate) subjects: Subjects,
    pub(crate) me: Presence,
    pub(crate) freezer: Arc<dyn Freezer>,
    pub(crate) subscriptions: SelectAll<Subscriber>,
    pub(crate) presence: Subscriber,
    pub(crate) presence_inbox: (String, Subscriber),
    pub(crate) status: (String, Subscriber),
}

/// Messages published with a reply subject `<status prefix>.<seq>`, so a
/// "no responders" status (nobody subscribed to the destination) can be
/// reported against the message it is about.
#[derive(Debug, Default)]
struct StatusBook {
    next: u64,
    sent: VecDeque<(u64, String, String)>,
}

impl StatusBook {
    fn note(&mut self, kernel: &str, what: String) -> u64 {
        self.next += 1;
        if self.sent.len() >= STATUS_BOOK {
            self.sent.pop_front();
        }
        self.sent.push_back((self.next, kernel.to_owned(), what));
        self.next
    }

    fn take(&mut self, seq: u64) -> Option<(String, String)> {
        let i = self.sent.iter().position(|(s, _, _)| *s == seq)?;
        self.sent.remove(i).map(|(_, k, w)| (k, w))
    }
}

/// What every pipe shares.
struct Outbound {
    client: Client,
    subjects: Subjects,
    freezer: Arc<dyn Freezer>,
    me: String,
    status_prefix: String,
    book: Mutex<StatusBook>,
    port: KernelPort,
}

impl Outbound {
    /// Publish one message the kernel sent to `kernel` (known on the bus
    /// as `subject_name`).
    async fn publish(&self, pipe: &PipeId, msg: &Message) {
        let (kernel, subject_name) = (pipe.kernel.as_str(), pipe.subject_name.as_str());
        let (session, state) = match &msg.event {
            MessageTarget::Text(text) => match Specifier::parse(text) {
                Ok(spec) => (spec.session.to_ikc(), spec.state.unwrap_or_default()),
                Err(_) => (text.to_string(), String::new()),
            },
            MessageTarget::Hash(h) => (h.session.clone(), h.state.clone()),
        };
        let subject = self.subjects.destination(subject_name, &session, &state);
        let mut payload = Vec::new();
        if let Err(e) = self.freezer.freeze(&msg.to_value(), &mut payload) {
            self.port.send(ToKernel::Undeliverable {
                kernel: kernel.to_owned(),
                what: format!("cannot freeze the message for {subject}: {e}"),
            });
            return;
        }
        let mut headers = HeaderMap::new();
        headers.insert(FREEZER_HEADER, self.freezer.name());
        headers.insert(SENDER_HEADER, self.me.as_str());
        headers.insert(LINK_HEADER, pipe.tag.as_str());
        let sent = if is_mesh_control(msg) {
            // The mesh's own messages: a lost one is the link's end, which
            // the pair's next generation reports; no status for each.
            self.client
                .publish_with_headers(subject.clone(), headers, Bytes::from(payload))
                .await
        } else {
            let seq = self
                .book
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .note(kernel, subject.clone());
            let reply = format!("{}.{seq}", self.status_prefix);
            self.client
                .publish_with_reply_and_headers(
                    subject.clone(),
                    reply,
                    headers,
                    Bytes::from(payload),
                )
                .await
        };
        if let Err(e) = sent {
            self.port.send(ToKernel::Undeliverable {
                kernel: kernel.to_owned(),
                what: format!("cannot publish to {subject}: {e}"),
            });
        }
    }
}

/// One remote kernel's pipe, seen from the NATS thread. Dropping it
/// closes the pipe: what NATS brought for the kernel is written first, then
/// the kernel's channel session sees the end of its input (so the kernel
/// unregisters), and whatever it had already written for the remote kernel
/// is still published (see [`pipe`]).
struct Pipe {
    to_kernel: mpsc::Sender<Message>,
    task: tokio::task::JoinHandle<()>,
    /// Its pair generation (see [`crate::pairing`]).
    generation: u64,
    /// Unique among the pipes this bridge opened.
    serial: u64,
    /// When it was opened.
    opened: Instant,
}

/// When to open again a pipe the kernel closed.
#[derive(Debug, Clone, Copy)]
struct Reopen {
    /// Not before this (`None`: it is open again).
    after: Option<Instant>,
    /// How many times in a row the kernel closed a young pipe (the wait
    /// is the peer's heartbeat times 2 to this power).
    times: u32,
}

/// A pipe that lived this long before the kernel closed it resets the
/// wait before it is reopened.
const REOPEN_RESET: std::time::Duration = std::time::Duration::from_secs(60);
/// The most the wait doubles: 256 heartbeats.
const REOPEN_DOUBLINGS: u32 = 8;

/// Who a pipe speaks for, as its task needs it.
struct PipeId {
    /// The remote kernel's ID.
    kernel: String,
    /// The name its subjects use.
    subject_name: String,
    /// The `IKC-Link` header of what the pipe publishes.
    tag: String,
}

/// A message kept for a kernel not heard on the bus yet, with its link tag.
type Held = (LinkTag, Message);

/// Messages from kernels that have not announced themselves (yet): kept
/// until they do, within bounds.
#[derive(Debug, Default)]
struct Pending {
    by_sender: HashMap<String, (Instant, Vec<Held>)>,
    last_ask: Option<Instant>,
}

/// At most this many messages wait for one unannounced kernel...
const PENDING_PER_SENDER: usize = 4096;
/// ...and at most this many unannounced kernels are waited for.
const PENDING_SENDERS: usize = 64;
/// How long a detaching kernel waits for its pipes to pass on what its
/// kernel wrote last.
const DETACH_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// Run the bridge until the kernel detaches or stops.
pub(crate) async fn run(setup: BridgeSetup) {
    let BridgeSetup {
        client,
        mut events,
        mut from_kernel,
        port,
        subjects,
        mut me,
        freezer,
        mut subscriptions,
        mut presence,
        presence_inbox: (presence_inbox, mut answers),
        status: (status_prefix, mut status),
    } = setup;
    let out = Arc::new(Outbound {
        client: client.clone(),
        subjects: subjects.clone(),
        freezer,
        me: me.kernel.clone(),
        status_prefix,
        book: Mutex::new(StatusBook::default()),
        port: port.clone(),
    });
    let (closed_tx, mut closed) = mpsc::unbounded_channel();
    let mut bridge = Bridge {
        gens: Generations::new(me.incarnation.clone()),
        serial: 0,
        closed: closed_tx,
        reopen: HashMap::new(),
        client,
        subjects,
        registry: Registry::standard(),
        table: PeerTable::new(me.kernel.clone()),
        pipes: HashMap::new(),
        out,
        port,
        presence_inbox,
        connected: Arc::new(AtomicBool::new(true)),
        pending: Pending::default(),
        heartbeat: me.heartbeat,
    };
    bridge.announce(&me, true).await;
    // Heartbeats go out from a task of their own, so a busy bridge (a
    // flood of messages, a slow kernel) never looks dead to the others.
    let heartbeats = tokio::spawn(heartbeat(
        bridge.client.clone(),
        bridge.subjects.presence(),
        Bytes::from(me.to_json()),
        me.heartbeat,
        Arc::clone(&bridge.connected),
    ));
    let mut beat = tokio::time::interval(me.heartbeat);
    beat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        // Biased: presence first, so a kernel's answer to our announcement
        // is taken in before the messages it sends us after it.
        tokio::select! {
            biased;
            cmd = from_kernel.recv() => match cmd {
                Some(ToNats::Reply { subject, body, error }) => bridge.reply(subject, body, error).await,
                Some(ToNats::Detach) | None => break,
            },
            ev = events.recv() => if let Some(ev) = ev { bridge.on_event(ev, &me).await },
            m = answers.next() => if let Some(m) = m { bridge.on_presence(m, &me).await },
            m = presence.next() => if let Some(m) = m { bridge.on_presence(m, &me).await },
            _ = beat.tick() => bridge.on_beat(),
            m = status.next() => if let Some(m) = m { bridge.on_status(&m) },
            c = closed.recv() => if let Some((kernel, serial)) = c { bridge.on_pipe_closed(&kernel, serial) },
            m = subscriptions.next() => if let Some(m) = m { bridge.on_message(m, &me).await },
        }
        if !bridge.port.is_open() {
            break;
        }
    }
    heartbeats.abort();
    // Let the pipes pass on what the kernel wrote last, then say goodbye.
    let tasks: Vec<_> = bridge.pipes.drain().map(|(_, p)| p.task).collect();
    if tokio::time::timeout(DETACH_WAIT, futures_util::future::join_all(tasks))
        .await
        .is_err()
    {
        log::warn!("NATS detach: the kernel did not close its pipes within {DETACH_WAIT:?}");
    }
    me.up = false;
    bridge.announce(&me, false).await;
    if let Err(e) = bridge.client.flush().await {
        log::debug!("NATS flush at detach: {e}");
    }
    bridge.port.send(ToKernel::Detached);
}

struct Bridge {
    /// The generation of each pair (see [`crate::pairing`]).
    gens: Generations,
    /// The serial of the last pipe opened.
    serial: u64,
    /// Each pipe's task says here when it ends (kernel ID, serial).
    closed: mpsc::UnboundedSender<(String, u64)>,
    /// Kernels whose pipe our kernel closed while they are on the bus:
    /// reopened when they are heard after the instant given (how many
    /// times in a row the kernel closed a young pipe of theirs sets it).
    reopen: HashMap<String, Reopen>,
    client: Client,
    subjects: Subjects,
    registry: Registry,
    table: PeerTable,
    pipes: HashMap<String, Pipe>,
    out: Arc<Outbound>,
    port: KernelPort,
    presence_inbox: String,
    connected: Arc<AtomicBool>,
    pending: Pending,
    heartbeat: std::time::Duration,
}

/// Publish our presence record every `interval` while connected.
async fn heartbeat(
    client: Client,
    subject: String,
    record: Bytes,
    interval: std::time::Duration,
    connected: Arc<AtomicBool>,
) {
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if connected.load(Ordering::SeqCst) {
            if let Err(e) = client.publish(subject.clone(), record.clone()).await {
                log::warn!("cannot publish an IKC heartbeat on NATS: {e}");
            }
        }
    }
}

impl Bridge {
    /// Publish our presence record; `ask` makes every kernel answer.
    async fn announce(&self, me: &Presence, ask: bool) {
        let subject = self.subjects.presence();
        let body = Bytes::from(me.to_json());
        let sent = if ask {
            self.client
                .publish_with_reply(subject, self.presence_inbox.clone(), body)
                .await
        } else {
            self.client.publish(subject, body).await
        };
        if let Err(e) = sent {
            log::warn!("cannot publish IKC presence on NATS: {e}");
        }
    }

    async fn on_event(&mut self, ev: async_nats::Event, me: &Presence) {
        match ev {
            async_nats::Event::Disconnected => {
                self.connected.store(false, Ordering::SeqCst);
                let gone = self.table.clear();
                log::warn!(
                    "NATS connection lost: {} kernel(s) on the bus are unreachable until it is back",
                    gone.len()
                );
                self.pipes.clear();
                self.reopen.clear();
            }
            async_nats::Event::Connected => {
                if !self.connected.swap(true, Ordering::SeqCst) {
                    log::info!("NATS connection back: announcing this kernel again");
                }
                self.announce(me, true).await;
            }
            other => log::info!("NATS: {other}"),
        }
    }

    /// Take the kernels that missed their heartbeats as gone, and give up
    /// on messages from kernels that never announced themselves.
    fn on_beat(&mut self) {
        if !self.connected.load(Ordering::SeqCst) {
            return;
        }
        let now = Instant::now();
        let limit = self.heartbeat * crate::presence::MISSED_HEARTBEATS;
        self.pending.by_sender.retain(|sender, (since, msgs)| {
            let keep = now.saturating_duration_since(*since) < limit;
            if !keep {
                log::warn!(
                    "{} IKC message(s) from kernel {sender} dropped: it never announced itself on NATS",
                    msgs.len()
                );
            }
            keep
        });
        for gone in self.table.expire(now) {
            log::warn!(
                "kernel {} ({}) missed {} heartbeats on NATS: taken as gone",
                gone.kernel,
                gone.name,
                crate::presence::MISSED_HEARTBEATS
            );
            self.pipes.remove(&gone.kernel);
            self.reopen.remove(&gone.kernel);
        }
    }

    async fn on_presence(&mut self, m: async_nats::Message, me: &Presence) {
        let Some(record) = Presence::from_json(&m.payload) else {
            // An ask (`{"state":"ask"}` with a reply subject): answer it.
            if let (Some(reply), true) = (&m.reply, Presence::is_ask(&m.payload)) {
                if let Err(e) = self
                    .client
                    .publish(reply.clone(), Bytes::from(me.to_json()))
                    .await
                {
                    log::warn!("cannot answer a presence request: {e}");
                }
            } else {
                log::debug!("not a presence record on {}", m.subject);
            }
            return;
        };
        if record.kernel == me.kernel {
            return;
        }
        if let (Some(reply), true) = (&m.reply, record.up) {
            if let Err(e) = self
                .client
                .publish(reply.clone(), Bytes::from(me.to_json()))
                .await
            {
                log::warn!("cannot answer a presence request: {e}");
            }
        }
        let kernel = record.kernel.clone();
        match self.table.heard(record, Instant::now()) {
            Change::None => {
                let due = self
                    .reopen
                    .get(&kernel)
                    .and_then(|r| r.after)
                    .is_some_and(|t| t <= Instant::now());
                if due {
                    if let Some(p) = self.table.get(&kernel).cloned() {
                        log::info!("reopening the pipe of kernel {kernel} on NATS");
                        self.open_own_pipe(&p, me);
                    }
                }
            }
            Change::Arrived(p) => self.open_own_pipe(&p, me),
            Change::Restarted(p) => {
                self.pipes.remove(&p.kernel);
                self.gens.forget(&p.kernel);
                self.open_own_pipe(&p, me);
            }
            Change::Left(kernel) => {
                self.pipes.remove(&kernel);
                self.gens.forget(&kernel);
                self.reopen.remove(&kernel);
            }
        }
    }

    /// Open a pipe for `p` on our own initiative: the next generation of
    /// the pair (or the one the peer's held messages already use).
    fn open_own_pipe(&mut self, p: &Presence, me: &Presence) {
        let held = self
            .pending
            .by_sender
            .get(&p.kernel)
            .into_iter()
            .flat_map(|(_, msgs)| msgs.iter())
            .map(|(tag, _)| tag)
            .filter(|t| t.sender == p.incarnation)
            .map(|t| t.generation)
            .max()
            .unwrap_or(0);
        let generation = self.gens.open(&p.kernel, held);
        self.open_pipe(p, me, generation);
    }

    /// A pipe's task ended. If it is the kernel's current pipe, the kernel
    /// closed the channel (the mesh's rule for a second link to one
    /// kernel, an unresponsive peer...): the pipe is opened again, in a
    /// new generation, when the kernel is next heard on the bus.
    fn on_pipe_closed(&mut self, kernel: &str, serial: u64) {
        if self.pipes.get(kernel).is_none_or(|p| p.serial != serial) {
            return;
        }
        let Some(pipe) = self.pipes.remove(kernel) else {
            return;
        };
        let Some(peer) = self.table.get(kernel) else {
            return;
        };
        // A pipe closed young again and again (the kernel keeps another
        // link to that kernel, say) is reopened less and less often.
        let now = Instant::now();
        let young = now.saturating_duration_since(pipe.opened) < REOPEN_RESET;
        let times = match self.reopen.get(kernel) {
            Some(r) if young => (r.times + 1).min(REOPEN_DOUBLINGS),
            _ => 0,
        };
        let wait = peer.heartbeat * (1u32 << times);
        log::info!(
            "the kernel closed its link to kernel {kernel} over NATS: reopened when {kernel} is heard after {wait:?}"
        );
        self.reopen.insert(
            kernel.to_owned(),
            Reopen {
                after: Some(now + wait),
                times,
            },
        );
    }

    /// Start the pipe of a kernel that arrived, and hand its kernel end
    /// to the kernel.
    fn open_pipe(&mut self, p: &Presence, me: &Presence, generation: u64) {
        let mut identity = Identity::new(p.kernel.clone()).with_pid(p.pid);
        identity.names = p.names().into_iter().skip(1).collect();
        let channel = match Channel::server(
            ServerChannelConfig::new(identity, self.registry.clone()),
            Instant::now(),
        ) {
            Ok(c) => c,
            Err(e) => {
                log::warn!("kernel {} on NATS is ignored: {e}", p.kernel);
                return;
            }
        };
        let (ours, theirs) = match std::os::unix::net::UnixStream::pair() {
            Ok(pair) => pair,
            Err(e) => {
                log::error!("cannot make a pipe for kernel {}: {e}", p.kernel);
                return;
            }
        };
        let stream = match ours
            .set_nonblocking(true)
            .and_then(|()| tokio::net::UnixStream::from_std(ours))
        {
            Ok(s) => s,
            Err(e) => {
                log::error!("cannot make a pipe for kernel {}: {e}", p.kernel);
                return;
            }
        };
        // Two kernels with one name (or a kernel with ours): their name
        // subject is shared, so use the unique ID.
        let subject_name = if p.name == me.name || self.table.name_taken(&p.name, &p.kernel) {
            log::warn!(
                "kernel name '{}' is used by more than one kernel on NATS: kernel {} is addressed by its ID",
                p.name,
                p.kernel
            );
            p.kernel.clone()
        } else {
            p.name.clone()
        };
        let (tx, rx) = mpsc::channel(PIPE_QUEUE.max(PENDING_PER_SENDER));
        if let Some((_, waiting)) = self.pending.by_sender.remove(&p.kernel) {
            for (tag, msg) in waiting {
                // Routing messages of another link than this one are over;
                // requests stand on their own.
                if is_mesh_control(&msg) && !self.gens.fits(p, generation, &tag) {
                    log::debug!(
                        "a routing message from {} on a closed link: dropped",
                        p.kernel
                    );
                    continue;
                }
                // A fresh queue at least as long as the pending bound.
                let _ = tx.try_send(msg);
            }
        }
        self.serial += 1;
        let serial = self.serial;
        let id = PipeId {
            kernel: p.kernel.clone(),
            subject_name,
            tag: self.gens.tag(p, generation).header(),
        };
        let (out, closed) = (Arc::clone(&self.out), self.closed.clone());
        let task = tokio::spawn(async move {
            let kernel = id.kernel.clone();
            pipe(stream, channel, rx, out, id).await;
            let _ = closed.send((kernel, serial));
        });
        self.pipes.insert(
            p.kernel.clone(),
            Pipe {
                to_kernel: tx,
                task,
                generation,
                serial,
                opened: Instant::now(),
            },
        );
        if let Some(r) = self.reopen.get_mut(&p.kernel) {
            r.after = None;
        }
        log::info!(
            "kernel {} ({}) is on NATS (pipe generation {generation})",
            p.kernel,
            p.name
        );
        self.port.send(ToKernel::PeerUp {
            kernel: p.kernel.clone(),
            stream: theirs,
        });
    }

    fn on_status(&mut self, m: &async_nats::Message) {
        if m.status != Some(async_nats::StatusCode::NO_RESPONDERS) {
            return;
        }
        let seq = m
            .subject
            .rsplit('.')
            .next()
            .and_then(|s| s.parse::<u64>().ok());
        let Some((kernel, subject)) = seq.and_then(|s| {
            self.out
                .book
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take(s)
        }) else {
            return;
        };
        self.port.send(ToKernel::Undeliverable {
            kernel,
            what: format!("no kernel on NATS is subscribed to {subject}: the message was dropped"),
        });
    }

    async fn on_message(&mut self, m: async_nats::Message, me: &Presence) {
        let sender = m
            .headers
            .as_ref()
            .and_then(|h| h.get(SENDER_HEADER))
            .map(|v| v.as_str().to_owned());
        match sender {
            Some(sender) => self.on_kernel_message(&sender, &m, me).await,
            None => self.on_client_message(m).await,
        }
    }

    /// An IKC message from another kernel: into its pipe.
    async fn on_kernel_message(&mut self, sender: &str, m: &async_nats::Message, me: &Presence) {
        let freezer_name = m
            .headers
            .as_ref()
            .and_then(|h| h.get(FREEZER_HEADER))
            .map_or("", |v| v.as_str());
        let Some(freezer) = self.registry.get(freezer_name) else {
            log::warn!(
                "IKC message on {} from {sender} in unknown freezer '{freezer_name}': dropped",
                m.subject
            );
            return;
        };
        let msg = freezer
            .thaw(&m.payload)
            .map_err(|e| e.to_string())
            .and_then(|v| Message::try_from(v).map_err(|e| e.to_string()));
        let msg = match msg {
            Ok(msg) => msg,
            Err(e) => {
                log::warn!(
                    "IKC message on {} from {sender} is not a message: {e}",
                    m.subject
                );
                return;
            }
        };
        let tag = m
            .headers
            .as_ref()
            .and_then(|h| h.get(LINK_HEADER))
            .and_then(|v| LinkTag::parse(v.as_str()));
        let Some(tag) = tag else {
            log::warn!(
                "IKC message on {} from {sender} without a valid {LINK_HEADER} header: dropped",
                m.subject
            );
            return;
        };
        let peer = self.table.get(sender).cloned();
        let has_pipe = self
            .pipes
            .get(sender)
            .is_some_and(|p| p.generation == self.gens.current(sender));
        match self.gens.judge(sender, peer.as_ref(), has_pipe, &tag) {
            Verdict::Deliver => {}
            Verdict::Reset(generation) => {
                let Some(peer) = peer else { return };
                log::info!(
                    "kernel {sender} opened pipe generation {generation} on NATS: ours follows"
                );
                self.pipes.remove(sender);
                self.gens.adopt(sender, generation);
                self.open_pipe(&peer, me, generation);
            }
            Verdict::Stale if is_mesh_control(&msg) => {
                log::debug!("a routing message from {sender} on a closed link: dropped");
                return;
            }
            Verdict::Stale => {
                // A request the sender's kernel sent before the pair moved
                // on: it stands on its own, so it is delivered all the same.
                if !self.pipes.contains_key(sender) {
                    log::warn!(
                        "IKC message on {} from kernel {sender} dropped: our kernel closed its link to {sender}",
                        m.subject
                    );
                    return;
                }
            }
            Verdict::Hold => return self.hold(sender, tag, msg, &m.subject).await,
        }
        if let Some(pipe) = self.pipes.get(sender) {
            let _ = pipe.to_kernel.send(msg).await;
        }
    }

    /// A message from a kernel not (or no longer) announced: keep it for
    /// when it announces itself, and ask every kernel to announce now.
    async fn hold(&mut self, sender: &str, tag: LinkTag, msg: Message, subject: &str) {
        let senders = self.pending.by_sender.len();
        let entry = match self.pending.by_sender.get_mut(sender) {
            Some(entry) => entry,
            None if senders < PENDING_SENDERS => self
                .pending
                .by_sender
                .entry(sender.to_owned())
                .or_insert_with(|| (Instant::now(), Vec::new())),
            None => {
                log::warn!(
                    "IKC message on {subject} from kernel {sender}, which has not announced itself on NATS: dropped (too many unannounced kernels)"
                );
                return;
            }
        };
        if entry.1.len() >= PENDING_PER_SENDER {
            log::warn!(
                "IKC message on {subject} from kernel {sender}, which has not announced itself on NATS: dropped ({PENDING_PER_SENDER} already wait)"
            );
            return;
        }
        entry.1.push((tag, msg));
        let now = Instant::now();
        if self
            .pending
            .last_ask
            .is_none_or(|t| now.saturating_duration_since(t) >= self.heartbeat)
        {
            self.pending.last_ask = Some(now);
            self.ask_presence().await;
        }
    }

    /// Ask every kernel to announce itself (to our presence inbox).
    async fn ask_presence(&self) {
        let ask = Bytes::from_static(br#"{"state":"ask"}"#);
        if let Err(e) = self
            .client
            .publish_with_reply(self.subjects.presence(), self.presence_inbox.clone(), ask)
            .await
        {
            log::warn!("cannot ask for IKC presence on NATS: {e}");
        }
    }

    /// A plain NATS client: a request calls, a publish posts.
    async fn on_client_message(&mut self, m: async_nats::Message) {
        let Some(dest) = self.subjects.parse(&m.subject) else {
            let why = format!(
                "{} is not {}.<kernel>.<session>.<state>",
                m.subject,
                self.subjects.prefix()
            );
            self.refuse(m.reply.map(|r| r.to_string()), 400, why).await;
            return;
        };
        match json::body_to_value(&m.payload) {
            Ok(arg) => {
                let request = ToKernel::Request {
                    kernel: dest.kernel,
                    session: dest.session,
                    state: dest.state,
                    arg,
                    reply: m.reply.map(|r| r.to_string()),
                };
                if let Err(refused) = self.port.try_send(request) {
                    if let ToKernel::Request { reply, .. } = *refused {
                        let why = format!("the kernel is busy: {} is not served now", m.subject);
                        self.refuse(reply, 503, why).await;
                    }
                }
            }
            Err(e) => {
                let why = format!("the body of a request to {} is not JSON: {e}", m.subject);
                self.refuse(m.reply.map(|r| r.to_string()), 400, why).await;
            }
        }
    }

    async fn refuse(&self, reply: Option<String>, code: u16, why: String) {
        match reply {
            Some(reply) => self.reply(reply, Vec::new(), Some((code, why))).await,
            None => log::warn!("NATS publish refused: {why}"),
        }
    }

    /// Answer a plain request: the JSON body, or an error (headers
    /// [`ERROR_HEADER`] and [`ERROR_CODE_HEADER`], and `{"error": ...}`).
    async fn reply(&self, subject: String, body: Vec<u8>, error: Option<(u16, String)>) {
        let sent = match error {
            None => self.client.publish(subject, Bytes::from(body)).await,
            Some((code, message)) => {
                let mut headers = HeaderMap::new();
                headers.insert(ERROR_HEADER, message.as_str());
                headers.insert(ERROR_CODE_HEADER, code.to_string().as_str());
                let body = serde_json::json!({ "error": message, "code": code }).to_string();
                self.client
                    .publish_with_headers(subject, headers, Bytes::from(body))
                    .await
            }
        };
        if let Err(e) = sent {
            log::warn!("cannot answer a NATS request: {e}");
        }
    }
}

/// The states of the mesh's own messages between routing peers (in the
/// `IKC` session): routing records and the goodbye of a closing link.
const MESH_STATES: [&str; 2] = ["IKC:route", "IKC:bye"];
/// The goodbye a kernel sends on a routing link it closes.
const BYE: &str = "IKC:bye";

/// The `IKC`-session state a message is for, if it names one by hash.
fn ikc_state(msg: &Message) -> Option<&str> {
    match &msg.event {
        MessageTarget::Hash(h) if h.session == "IKC" => Some(h.state.as_str()),
        _ => None,
    }
}

/// Is this one of the mesh's own messages (a routing record, a goodbye)?
fn is_mesh_control(msg: &Message) -> bool {
    ikc_state(msg).is_some_and(|s| MESH_STATES.contains(&s))
}

/// Drive one remote kernel's pipe: bytes from the kernel's channel
/// session become messages published on NATS; messages from NATS are
/// written to the channel session.
///
/// When the bridge lets go of the pipe (the remote kernel left, our
/// connection to the bus is lost, or the pair moved to a new generation),
/// what is queued for the kernel is written, our end stops writing (the
/// channel session reads its end and the kernel unregisters the remote
/// kernel), and the messages the kernel wrote before it noticed are still
/// read and published: the client library holds them while it
/// reconnects, and a destination nobody subscribes to any more comes back
/// as "no responders", reported to the kernel. None is dropped unseen
/// here. When the kernel closes the link itself (its goodbye passes
/// here), our end stops writing at once, as the peer's would.
async fn pipe(
    mut stream: tokio::net::UnixStream,
    mut channel: Channel,
    mut rx: mpsc::Receiver<Message>,
    out: Arc<Outbound>,
    id: PipeId,
) {
    let kernel = id.kernel.as_str();
    let mut buf = vec![0u8; 64 * 1024];
    let mut bytes = Vec::new();
    let mut open = true;
    loop {
        if channel.poll_transmit(&mut bytes).is_some() {
            if let Err(e) = stream.write_all(&bytes).await {
                log::debug!("pipe of kernel {kernel}: {e}");
                return;
            }
            bytes.clear();
        }
        if !open {
            if let Err(e) = stream.shutdown().await {
                log::debug!("pipe of kernel {kernel}: {e}");
            }
            // Read what the kernel wrote until it closes its end.
            drain(&mut stream, &mut channel, &mut buf, &out, &id).await;
            return;
        }
        tokio::select! {
            read = stream.read(&mut buf) => {
                let n = match read {
                    Ok(0) => return,
                    Ok(n) => n,
                    Err(e) => {
                        log::debug!("pipe of kernel {kernel}: {e}");
                        return;
                    }
                };
                match pass_on(&mut channel, &buf[..n], &out, &id).await {
                    Passed::More => {}
                    Passed::Bye => open = false,
                    Passed::Broken => return,
                }
            }
            msg = rx.recv() => {
                let mut next = msg;
                if next.is_none() {
                    open = false;
                }
                while let Some(msg) = next {
                    if let Err(e) = channel.send(&msg) {
                        log::warn!("IKC message from kernel {kernel} cannot be passed on: {e}");
                    }
                    next = rx.try_recv().ok();
                }
            }
        }
    }
}

/// What became of bytes from the kernel.
enum Passed {
    /// Published; more may come.
    More,
    /// The kernel said goodbye on a routing link: it closes it.
    Bye,
    /// The kernel broke the protocol.
    Broken,
}

/// Feed bytes from the kernel into the channel and publish the messages
/// they complete.
async fn pass_on(channel: &mut Channel, input: &[u8], out: &Outbound, id: &PipeId) -> Passed {
    let result = channel.handle_input(input);
    let mut bye = false;
    while let Some(event) = channel.poll_event() {
        match event {
            ChannelEvent::Message(msg) => {
                bye |= ikc_state(&msg) == Some(BYE);
                out.publish(id, &msg).await;
            }
            ChannelEvent::BadFrame(e) => log::warn!("pipe of kernel {}: {e}", id.kernel),
            _ => {}
        }
    }
    if let Err(e) = result {
        log::warn!("pipe of kernel {}: {e}", id.kernel);
        return Passed::Broken;
    }
    if bye { Passed::Bye } else { Passed::More }
}

/// After our end stopped writing: publish what the kernel still writes
/// until it closes its end.
async fn drain(
    stream: &mut tokio::net::UnixStream,
    channel: &mut Channel,
    buf: &mut [u8],
    out: &Outbound,
    id: &PipeId,
) {
    loop {
        match stream.read(buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                if let Passed::Broken = pass_on(channel, &buf[..n], out, id).await {
                    return;
                }
            }
        }
    }
}
