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
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use async_nats::{Client, HeaderMap, Subscriber};
use bytes::Bytes;
use futures_util::StreamExt;
use futures_util::stream::SelectAll;
use ikc_channel::{Channel, ChannelEvent, Identity, Message, ServerConfig, Target};
use ikc_freezer::{Freezer, Registry};
use ikc_specifier::Specifier;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;

use crate::json;
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
    async fn publish(&self, kernel: &str, subject_name: &str, msg: &Message) {
        let (session, state) = match &msg.event {
            Target::Text(text) => match Specifier::parse(text) {
                Ok(spec) => (spec.session.to_ikc(), spec.state.unwrap_or_default()),
                Err(_) => (text.clone(), String::new()),
            },
            Target::Hash(h) => (h.session.clone(), h.state.clone()),
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
        let seq = self
            .book
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .note(kernel, subject.clone());
        let reply = format!("{}.{seq}", self.status_prefix);
        let sent = self
            .client
            .publish_with_reply_and_headers(subject.clone(), reply, headers, Bytes::from(payload))
            .await;
        if let Err(e) = sent {
            self.port.send(ToKernel::Undeliverable {
                kernel: kernel.to_owned(),
                what: format!("cannot publish to {subject}: {e}"),
            });
        }
    }
}

/// One remote kernel's pipe, seen from the NATS thread.
struct Pipe {
    to_kernel: mpsc::Sender<Message>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Pipe {
    fn drop(&mut self) {
        // Closing our end tells the kernel's channel session the kernel is gone.
        self.task.abort();
    }
}

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
    let mut bridge = Bridge {
        client,
        subjects,
        registry: Registry::standard(),
        table: PeerTable::new(me.kernel.clone()),
        pipes: HashMap::new(),
        out,
        port,
        presence_inbox,
        connected: true,
    };
    bridge.announce(&me, true).await;
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
            m = status.next() => if let Some(m) = m { bridge.on_status(&m) },
            m = subscriptions.next() => if let Some(m) = m { bridge.on_message(m).await },
            _ = beat.tick() => bridge.on_beat(&me).await,
        }
        if !bridge.port.is_open() {
            break;
        }
    }
    me.up = false;
    bridge.announce(&me, false).await;
    bridge.pipes.clear();
    if let Err(e) = bridge.client.flush().await {
        log::debug!("NATS flush at detach: {e}");
    }
    bridge.port.send(ToKernel::Detached);
}

struct Bridge {
    client: Client,
    subjects: Subjects,
    registry: Registry,
    table: PeerTable,
    pipes: HashMap<String, Pipe>,
    out: Arc<Outbound>,
    port: KernelPort,
    presence_inbox: String,
    connected: bool,
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
                self.connected = false;
                let gone = self.table.clear();
                log::warn!(
                    "NATS connection lost: {} kernel(s) on the bus are unreachable until it is back",
                    gone.len()
                );
                self.pipes.clear();
            }
            async_nats::Event::Connected => {
                if !self.connected {
                    log::info!("NATS connection back: announcing this kernel again");
                }
                self.connected = true;
                self.announce(me, true).await;
            }
            other => log::info!("NATS: {other}"),
        }
    }

    async fn on_beat(&mut self, me: &Presence) {
        if !self.connected {
            return;
        }
        self.announce(me, false).await;
        for gone in self.table.expire(Instant::now()) {
            log::warn!(
                "kernel {} ({}) missed {} heartbeats on NATS: taken as gone",
                gone.kernel,
                gone.name,
                crate::presence::MISSED_HEARTBEATS
            );
            self.pipes.remove(&gone.kernel);
        }
    }

    async fn on_presence(&mut self, m: async_nats::Message, me: &Presence) {
        let Some(record) = Presence::from_json(&m.payload) else {
            log::debug!("not a presence record on {}", m.subject);
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
        match self.table.heard(record, Instant::now()) {
            Change::None => {}
            Change::Arrived(p) => self.open_pipe(&p, me),
            Change::Restarted(p) => {
                self.pipes.remove(&p.kernel);
                self.open_pipe(&p, me);
            }
            Change::Left(kernel) => {
                self.pipes.remove(&kernel);
            }
        }
    }

    /// Start the pipe of a kernel that arrived, and hand its kernel end
    /// to the kernel.
    fn open_pipe(&mut self, p: &Presence, me: &Presence) {
        let mut identity = Identity::new(p.kernel.clone()).with_pid(p.pid);
        identity.names = p.names().into_iter().skip(1).collect();
        let channel = match Channel::server(
            ServerConfig::new(identity, self.registry.clone()),
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
        let (tx, rx) = mpsc::channel(PIPE_QUEUE);
        let task = tokio::spawn(pipe(
            stream,
            channel,
            rx,
            Arc::clone(&self.out),
            p.kernel.clone(),
            subject_name,
        ));
        self.pipes.insert(
            p.kernel.clone(),
            Pipe {
                to_kernel: tx,
                task,
            },
        );
        log::info!("kernel {} ({}) is on NATS", p.kernel, p.name);
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

    async fn on_message(&mut self, m: async_nats::Message) {
        let sender = m
            .headers
            .as_ref()
            .and_then(|h| h.get(SENDER_HEADER))
            .map(|v| v.as_str().to_owned());
        match sender {
            Some(sender) => self.on_kernel_message(&sender, &m).await,
            None => self.on_client_message(m).await,
        }
    }

    /// An IKC message from another kernel: into its pipe.
    async fn on_kernel_message(&mut self, sender: &str, m: &async_nats::Message) {
        let Some(pipe) = self.pipes.get(sender) else {
            log::warn!(
                "IKC message on {} from kernel {sender}, which has not announced itself on NATS: dropped",
                m.subject
            );
            return;
        };
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
        match msg {
            Ok(msg) => {
                let _ = pipe.to_kernel.send(msg).await;
            }
            Err(e) => log::warn!(
                "IKC message on {} from {sender} is not a message: {e}",
                m.subject
            ),
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

/// Drive one remote kernel's pipe: bytes from the kernel's channel
/// session become messages published on NATS; messages from NATS are
/// written to the channel session.
async fn pipe(
    mut stream: tokio::net::UnixStream,
    mut channel: Channel,
    mut rx: mpsc::Receiver<Message>,
    out: Arc<Outbound>,
    kernel: String,
    subject_name: String,
) {
    let mut buf = vec![0u8; 64 * 1024];
    let mut bytes = Vec::new();
    loop {
        if channel.poll_transmit(&mut bytes).is_some() {
            if let Err(e) = stream.write_all(&bytes).await {
                log::debug!("pipe of kernel {kernel}: {e}");
                return;
            }
            bytes.clear();
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
                if let Err(e) = channel.handle_input(&buf[..n]) {
                    log::warn!("pipe of kernel {kernel}: {e}");
                    return;
                }
                while let Some(event) = channel.poll_event() {
                    match event {
                        ChannelEvent::Message(msg) => out.publish(&kernel, &subject_name, &msg).await,
                        ChannelEvent::BadFrame(e) => log::warn!("pipe of kernel {kernel}: {e}"),
                        _ => {}
                    }
                }
            }
            msg = rx.recv() => {
                let Some(msg) = msg else { return };
                let mut next = Some(msg);
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
