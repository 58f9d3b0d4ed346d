//! The kernel's side of the attachment: the session aliased `IKC:nats`
//! that starts the NATS thread, turns the kernels it hears of into
//! channel sessions, and serves the requests of plain NATS clients.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::mpsc as std_mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use async_nats::ConnectOptions;
use futures_util::stream::SelectAll;
use ikc_core::{Ctx, Event, Session, SessionId};
use ikc_freezer::{Registry, Value};
use ikc_responder::{
    ChannelOptions, Ikc, MonitorOp, MonitorStates, Responder, Side, spawn_channel,
};
use tokio::sync::mpsc;

use crate::bridge::{self, BridgeSetup};
use crate::config::NatsConfig;
use crate::error::NatsError;
use crate::json;
use crate::port::{KernelInbox, KernelPort, ToKernel, ToNats, WAKE_STATE, port};
use crate::presence::Presence;
use crate::subject::{BROADCAST, Subjects};

/// The alias of the kernel's NATS session.
pub const NATS_ALIAS: &str = "IKC:nats";
/// The state that detaches the kernel from NATS.
pub const DETACH_STATE: &str = "detach";
/// The state the NATS session hears IKC's shutdown in.
const SHUTDOWN_STATE: &str = "IKC:nats shutdown";

/// A kernel attached to NATS: what [`attach`](crate::attach) returns.
#[derive(Debug, Clone)]
pub struct NatsLink {
    session: SessionId,
    name: String,
    subjects: Subjects,
}

impl NatsLink {
    /// The NATS session (aliased [`NATS_ALIAS`]).
    pub fn session(&self) -> SessionId {
        self.session
    }

    /// The kernel's name on the bus.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The subject a NATS client uses to reach `session`/`state` of this kernel.
    pub fn subject(&self, session: &str, state: &str) -> String {
        self.subjects.destination(&self.name, session, state)
    }

    /// The subjects of the bus.
    pub fn subjects(&self) -> &Subjects {
        &self.subjects
    }

    /// Leave the bus: a last presence record tells the other kernels, and
    /// every kernel reached through NATS unregisters. IKC's `shutdown`
    /// does this too.
    ///
    /// # Errors
    ///
    /// The NATS session has already gone.
    pub fn detach(&self, ctx: &mut Ctx<'_>) -> Result<(), ikc_core::PostError> {
        ctx.post(self.session, DETACH_STATE, Vec::new())
    }
}

type Outcome = Rc<RefCell<Option<Result<NatsLink, NatsError>>>>;

/// The kernel's NATS session.
pub(crate) struct NatsSession {
    config: NatsConfig,
    outcome: Outcome,
    inbox: Option<KernelInbox>,
    to_nats: Option<mpsc::UnboundedSender<ToNats>>,
    thread: Option<JoinHandle<()>>,
    name: String,
    aliases: Vec<String>,
    detaching: bool,
}

impl std::fmt::Debug for NatsSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NatsSession")
            .field("name", &self.name)
            .field("servers", &self.config.servers)
            .field("detaching", &self.detaching)
            .finish_non_exhaustive()
    }
}

fn is_kernel_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b':' | b'.'))
}

fn incarnation() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    h.write_u32(std::process::id());
    format!("{:016x}", h.finish())
}

impl NatsSession {
    pub(crate) fn new(config: NatsConfig, outcome: Outcome) -> Self {
        Self {
            config,
            outcome,
            inbox: None,
            to_nats: None,
            thread: None,
            name: String::new(),
            aliases: Vec::new(),
            detaching: false,
        }
    }

    fn start(&mut self, ctx: &mut Ctx<'_>) {
        let result = self.connect(ctx);
        let result = result.map(|()| {
            if let Err(e) = ctx.alias_set(NATS_ALIAS) {
                log::warn!("cannot alias the NATS session {NATS_ALIAS}: {e}");
            }
            let ikc = Responder::spawn(ctx);
            let mut names = vec![self.name.clone()];
            names.extend(self.aliases.iter().cloned());
            names.retain(|n| n != ctx.kernel_id());
            ikc.register_local(ctx, &names);
            ikc.monitor(
                ctx,
                "*",
                &MonitorStates::new().on(MonitorOp::Shutdown, SHUTDOWN_STATE),
            );
            NatsLink {
                session: ctx.session_id(),
                name: self.name.clone(),
                subjects: Subjects::new(self.config.prefix.clone()),
            }
        });
        *self.outcome.borrow_mut() = Some(result);
    }

    /// Start the NATS thread and wait for its first connection.
    fn connect(&mut self, ctx: &mut Ctx<'_>) -> Result<(), NatsError> {
        let config = self.config.clone();
        if config.servers.is_empty() {
            return Err(NatsError::NoServer);
        }
        let freezer = Registry::standard()
            .get(&config.freezer)
            .ok_or_else(|| NatsError::UnknownFreezer(config.freezer.clone()))?;
        self.name = config
            .name
            .clone()
            .unwrap_or_else(|| ctx.kernel_id().to_owned());
        self.aliases.clone_from(&config.aliases);
        for name in std::iter::once(&self.name).chain(&self.aliases) {
            if !is_kernel_name(name) {
                return Err(NatsError::BadName(name.clone()));
            }
        }
        let me = Presence {
            kernel: ctx.kernel_id().to_owned(),
            name: self.name.clone(),
            aliases: self.aliases.clone(),
            incarnation: incarnation(),
            up: true,
            heartbeat: config.heartbeat,
            pid: std::process::id(),
        };
        let (port, inbox) = port(ctx.handle(), ctx.session_id());
        let (to_nats, from_kernel) = mpsc::unbounded_channel();
        let (ready_tx, ready_rx) = std_mpsc::channel();
        let wait = config.connect_timeout + Duration::from_secs(5);
        let thread = std::thread::Builder::new()
            .name(format!("ikc-nats {}", self.name))
            .spawn(move || nats_thread(config, me, port, from_kernel, freezer, ready_tx))
            .map_err(NatsError::Thread)?;
        let ready = ready_rx.recv_timeout(wait).unwrap_or_else(|_| {
            Err(NatsError::Connect {
                servers: self.config.servers.join(","),
                message: format!("no connection within {wait:?}"),
            })
        });
        ready?;
        self.inbox = Some(inbox);
        self.to_nats = Some(to_nats);
        self.thread = Some(thread);
        Ok(())
    }

    fn on_wake(&mut self, ctx: &mut Ctx<'_>) {
        let Some(inbox) = self.inbox.take() else {
            return;
        };
        let items: Vec<ToKernel> = inbox.drain().collect();
        self.inbox = Some(inbox);
        for item in items {
            match item {
                ToKernel::PeerUp { kernel, stream } => self.peer_up(ctx, &kernel, stream),
                ToKernel::Request {
                    kernel,
                    session,
                    state,
                    arg,
                    reply,
                } => self.serve(ctx, &kernel, &session, &state, arg, reply),
                ToKernel::Undeliverable { kernel, what } => {
                    report(ctx, &kernel, "local-send", &what);
                }
                ToKernel::Detached => self.finished(ctx),
            }
        }
    }

    /// A kernel arrived on the bus: an IKC channel session on its pipe.
    fn peer_up(&mut self, ctx: &mut Ctx<'_>, kernel: &str, stream: std::os::unix::net::UnixStream) {
        if self.detaching {
            return;
        }
        let stream = match stream
            .set_nonblocking(true)
            .map(|()| mio::net::UnixStream::from_std(stream))
        {
            Ok(s) => s,
            Err(e) => {
                log::error!("cannot use the pipe of kernel {kernel}: {e}");
                return;
            }
        };
        let mut options = ChannelOptions::new(Side::Client, "nats");
        options.name = Some(self.name.clone());
        options.aliases.clone_from(&self.aliases);
        // A routing link of the mesh: the pipes of a pair share one
        // lifecycle (see the crate docs, "Kernels on NATS in a mesh").
        let peer = kernel.to_owned();
        options.on_error = Some(Box::new(move |_, e| {
            log::warn!("IKC channel to kernel {peer} over NATS: {e}");
        }));
        spawn_channel(ctx, stream, options);
    }

    /// A plain NATS client's request (or publish).
    fn serve(
        &mut self,
        ctx: &mut Ctx<'_>,
        kernel: &str,
        session: &str,
        state: &str,
        arg: Value,
        reply: Option<String>,
    ) {
        let kernel = if kernel == "*" { BROADCAST } else { kernel };
        match invoke(ctx, session, state, arg, reply.is_some()) {
            Ok(value) => {
                if let Some(subject) = reply {
                    let body = json::to_json(&value).to_string().into_bytes();
                    self.send(ToNats::Reply {
                        subject,
                        body,
                        error: None,
                    });
                }
            }
            Err(f) => {
                let text = format!(
                    "{}.  Request poe://{kernel}/{session}/{state} sent by a NATS client",
                    f.message
                );
                report(
                    ctx,
                    ctx.kernel_id().to_owned().as_str(),
                    &format!("local-{}", f.when),
                    &text,
                );
                if let Some(subject) = reply {
                    self.send(ToNats::Reply {
                        subject,
                        body: Vec::new(),
                        error: Some((f.code, f.message)),
                    });
                }
            }
        }
    }

    fn send(&self, item: ToNats) {
        if let Some(tx) = &self.to_nats {
            let _ = tx.send(item);
        }
    }

    /// Leave the bus (the thread answers with `Detached` when it is done).
    fn detach(&mut self) {
        if self.detaching {
            return;
        }
        self.detaching = true;
        self.send(ToNats::Detach);
    }

    /// The NATS thread has finished: let the session go.
    fn finished(&mut self, ctx: &mut Ctx<'_>) {
        self.detaching = true;
        self.to_nats = None;
        self.inbox = None;
        if let Some(thread) = self.thread.take() {
            if thread.join().is_err() {
                log::error!("the NATS thread panicked");
            }
        }
        let _ = ctx.alias_remove(NATS_ALIAS);
        log::info!("kernel {} left NATS", self.name);
    }
}

impl Drop for NatsSession {
    fn drop(&mut self) {
        if let Some(tx) = self.to_nats.take() {
            let _ = tx.send(ToNats::Detach);
        }
    }
}

impl Session for NatsSession {
    fn handle(&mut self, ctx: &mut Ctx<'_>, event: Event) -> Value {
        match event.state() {
            WAKE_STATE => self.on_wake(ctx),
            "_start" => self.start(ctx),
            DETACH_STATE | SHUTDOWN_STATE => self.detach(),
            "_stop" => self.detach(),
            _ => {}
        }
        Value::Undef
    }
}

/// Why a plain request was not served.
struct Failure {
    code: u16,
    when: &'static str,
    message: String,
}

/// Run a published state for a NATS client: a call for a request, a post
/// for a publish. Refused as IKC refuses remote kernels.
fn invoke(
    ctx: &mut Ctx<'_>,
    session: &str,
    state: &str,
    arg: Value,
    call: bool,
) -> Result<Value, Failure> {
    let fail = |code, when, message| Failure {
        code,
        when,
        message,
    };
    let Some(ikc) = Ikc::of(ctx) else {
        return Err(fail(503, "check", "IKC is shutting down".to_owned()));
    };
    let published = ikc.published(session);
    if published.is_empty() {
        return Err(fail(
            404,
            "check",
            format!("Session '{session}' is not available for remote kernels"),
        ));
    }
    if !published.iter().any(|s| s == state) {
        return Err(fail(
            403,
            "check",
            format!("Session '{session}' has not published state '{state}'"),
        ));
    }
    let Some(target) = ctx.alias_resolve(session) else {
        return Err(fail(404, "resolve", format!("Unknown session '{session}'")));
    };
    if call {
        ctx.call(target, state.to_owned(), vec![arg])
            .map_err(|e| fail(500, "invocation", e.to_string()))
    } else {
        ctx.post(target, state.to_owned(), vec![arg])
            .map(|()| Value::Undef)
            .map_err(|e| fail(500, "invocation", e.to_string()))
    }
}

/// Tell IKC's error monitors of `kernel` (and `*`) about `operation`;
/// logged when none heard it.
fn report(ctx: &mut Ctx<'_>, kernel: &str, operation: &str, message: &str) {
    let heard = Ikc::of(ctx).map(|ikc| {
        ctx.call(
            ikc.session(),
            "inform_monitors",
            vec![
                Value::from(kernel),
                Value::from(MonitorOp::Error.key()),
                Value::from(operation),
                Value::from(message),
            ],
        )
    });
    let n = match heard {
        Some(Ok(v)) => v.as_i64().unwrap_or(0),
        _ => 0,
    };
    if n == 0 {
        log::warn!("IKC {operation} error: {message}");
    }
}

/// The NATS thread: connect, subscribe, say so, then run the bridge.
fn nats_thread(
    config: NatsConfig,
    me: Presence,
    port: KernelPort,
    from_kernel: mpsc::UnboundedReceiver<ToNats>,
    freezer: std::sync::Arc<dyn ikc_freezer::Freezer>,
    ready: std_mpsc::Sender<Result<(), NatsError>>,
) {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            let _ = ready.send(Err(NatsError::Thread(e)));
            return;
        }
    };
    runtime.block_on(async move {
        let (events_tx, events) = mpsc::unbounded_channel();
        let client = match connect(&config, events_tx).await {
            Ok(c) => c,
            Err(e) => {
                let _ = ready.send(Err(e));
                return;
            }
        };
        let subjects = Subjects::new(config.prefix.clone());
        let subscribe = |subject: String| {
            let client = client.clone();
            async move {
                client
                    .subscribe(subject.clone())
                    .await
                    .map_err(|e| NatsError::Subscribe {
                        subject,
                        message: e.to_string(),
                    })
            }
        };
        let setup = async {
            let mut subscriptions = SelectAll::new();
            let mut names = vec![me.kernel.clone(), me.name.clone()];
            names.extend(me.aliases.iter().cloned());
            names.push("*".to_owned());
            names.dedup();
            for name in &names {
                subscriptions.push(subscribe(subjects.kernel_wildcard(name)).await?);
            }
            let presence = subscribe(subjects.presence()).await?;
            let inbox = client.new_inbox();
            let answers = subscribe(inbox.clone()).await?;
            let status_prefix = client.new_inbox();
            let status = subscribe(format!("{status_prefix}.>")).await?;
            client.flush().await.map_err(|e| NatsError::Subscribe {
                subject: subjects.presence(),
                message: e.to_string(),
            })?;
            Ok::<_, NatsError>(BridgeSetup {
                client: client.clone(),
                events,
                from_kernel,
                port,
                subjects: subjects.clone(),
                me,
                freezer,
                subscriptions,
                presence,
                presence_inbox: (inbox, answers),
                status: (status_prefix, status),
            })
        };
        match setup.await {
            Ok(setup) => {
                let _ = ready.send(Ok(()));
                bridge::run(setup).await;
            }
            Err(e) => {
                let _ = ready.send(Err(e));
            }
        }
    });
}

async fn connect(
    config: &NatsConfig,
    events: mpsc::UnboundedSender<async_nats::Event>,
) -> Result<async_nats::Client, NatsError> {
    let servers = config.servers.join(",");
    let mut options = match &config.credentials {
        Some(path) => ConnectOptions::with_credentials_file(path.clone())
            .await
            .map_err(|source| NatsError::Credentials {
                path: path.display().to_string(),
                source,
            })?,
        None => ConnectOptions::new(),
    };
    if let Some(token) = &config.token {
        options = options.token(token.clone());
    }
    if let Some((user, password)) = &config.user_password {
        options = options.user_and_password(user.clone(), password.clone());
    }
    for pem in &config.root_certificates {
        options = options.add_root_certificates(pem.clone());
    }
    if let Some((cert, key)) = &config.client_certificate {
        options = options.add_client_certificate(cert.clone(), key.clone());
    }
    let addrs = config
        .servers
        .iter()
        .map(|s| s.parse::<async_nats::ServerAddr>())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| NatsError::Connect {
            servers: servers.clone(),
            message: e.to_string(),
        })?;
    options
        .require_tls(config.require_tls)
        .name(format!(
            "ikc {}",
            config.name.as_deref().unwrap_or("kernel")
        ))
        .connection_timeout(config.connect_timeout)
        .event_callback(move |ev| {
            let events = events.clone();
            async move {
                let _ = events.send(ev);
            }
        })
        .connect(addrs)
        .await
        .map_err(|e| NatsError::Connect {
            servers,
            message: e.to_string(),
        })
}
