//! The task that owns the connection: it writes what the handles send,
//! reads what the server sends, and hands each reply to the task waiting
//! for it.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::io;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Instant;

use ikc_channel::{Channel, ChannelError, ChannelEvent, Message, MessageTarget, Peer};
use ikc_clientlite::LiteError;
use ikc_clientlite::protocol::{IKC_SESSION, SESSION, Settings, remote_name, resolve};
use ikc_freezer::Value;
use ikc_specifier::{HashForm, PartName, Specifier};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::{mpsc, oneshot};

/// How much one read takes in.
const READ_SIZE: usize = 64 * 1024;
/// How many messages for our session may wait for a `responded`, and how
/// many error reports for the next wait, before the oldest are dropped.
const MAX_UNREAD: usize = 1024;

/// Where a reply (or the error that ends the wait) goes.
pub(crate) type Reply = oneshot::Sender<Result<Value, LiteError>>;

/// A wait for a message to `session/state` of our kernel name.
#[derive(Debug)]
pub(crate) struct Wait {
    pub(crate) session: &'static str,
    pub(crate) state: String,
    /// Orders waits: an error report ends the oldest.
    pub(crate) seq: u64,
}

/// Where a message goes.
#[derive(Debug)]
pub(crate) enum Dest {
    /// A specifier, resolved against the server's name.
    Spec(MessageTarget),
    /// The server's `IKC/ping`, by its kernel ID.
    Ping,
}

/// What a handle asks of the driver.
#[derive(Debug)]
pub(crate) enum Command {
    /// Send `message` to `dest`; with `wait`, the reply goes to `reply`,
    /// otherwise `reply` gets `undef` once the message is written.
    Send {
        dest: Dest,
        message: Box<Message>,
        wait: Option<Wait>,
        reply: Reply,
        /// Connect first if there is no connection.
        connect: bool,
    },
    /// Wait for a post to `IKCLite/<state>` (`responded`).
    Wait { wait: Wait, reply: Reply },
    /// The waiter gave up (timeout): forget its wait.
    Cancel { seq: u64 },
    /// Connect if not connected (`ensure_connected`).
    Connect { reply: Reply },
    /// Close the connection; nothing reconnects until `Connect`.
    Disconnect,
}

/// What the handles can read without asking the driver.
#[derive(Debug, Default)]
pub(crate) struct Status {
    pub(crate) peer: Option<Peer>,
    pub(crate) remote_name: Option<String>,
}

/// The status, shared by the driver and the handles.
pub(crate) type SharedStatus = Arc<Mutex<Status>>;

/// A byte stream the client can run over.
trait AsyncStream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> AsyncStream for T {}

/// A channel over a stream.
struct Wire {
    stream: Box<dyn AsyncStream>,
    channel: Channel,
    buf: Box<[u8]>,
    out: Vec<u8>,
}

/// A negotiated connection.
struct Conn {
    wire: Wire,
    peer: Peer,
    remote_name: String,
}

impl Wire {
    async fn flush(&mut self) -> io::Result<()> {
        while self.channel.poll_transmit(&mut self.out).is_some() {
            let written = self.stream.write_all(&self.out).await;
            self.out.clear();
            written?;
        }
        self.stream.flush().await
    }
}

/// The driver's state.
pub(crate) struct Driver {
    settings: Settings,
    status: SharedStatus,
    conn: Option<Conn>,
    /// `disconnect` was asked: only `Connect` opens a connection.
    disconnected: bool,
    /// Pending waits, oldest first.
    waits: BTreeMap<u64, (Key, Reply)>,
    /// The waits for each destination, oldest first.
    by_key: HashMap<Key, VecDeque<u64>>,
    /// Posts to our session nobody waited for, for a later `responded`.
    unread: VecDeque<(String, Value)>,
    /// Error reports that came while nobody waited, for the next wait.
    errors: VecDeque<LiteError>,
}

/// `(session, state)` of a wait.
type Key = (&'static str, String);

impl Driver {
    pub(crate) fn new(settings: Settings, status: SharedStatus) -> Self {
        Self {
            settings,
            status,
            conn: None,
            disconnected: false,
            waits: BTreeMap::new(),
            by_key: HashMap::new(),
            unread: VecDeque::new(),
            errors: VecDeque::new(),
        }
    }

    /// Connect for the first time (before the task starts).
    pub(crate) async fn open(&mut self) -> Result<(), LiteError> {
        let (conn, early) = negotiate(&self.settings).await?;
        self.set_conn(Some(conn));
        for event in early {
            self.incoming(event);
        }
        Ok(())
    }

    /// Run until every handle is gone.
    pub(crate) async fn run(mut self, mut rx: mpsc::UnboundedReceiver<Command>) {
        enum Step {
            Command(Option<Command>),
            Read(io::Result<usize>),
        }
        loop {
            let conn = &mut self.conn;
            let step = tokio::select! {
                command = rx.recv() => Step::Command(command),
                read = async {
                    let w = &mut conn.as_mut().expect("read only while connected").wire;
                    w.stream.read(&mut w.buf).await
                }, if conn.is_some() => Step::Read(read),
            };
            match step {
                Step::Command(None) => break,
                Step::Command(Some(command)) => self.command(command).await,
                Step::Read(result) => self.read(result).await,
            }
        }
        log::debug!("{}: every handle is gone; closing", self.settings.name());
    }

    fn set_conn(&mut self, conn: Option<Conn>) {
        let mut status = self.status.lock().unwrap_or_else(PoisonError::into_inner);
        status.peer = conn.as_ref().map(|c| c.peer.clone());
        status.remote_name = conn.as_ref().map(|c| c.remote_name.clone());
        drop(status);
        self.conn = conn;
    }

    async fn command(&mut self, command: Command) {
        match command {
            Command::Send {
                dest,
                message,
                wait,
                reply,
                connect,
            } => self.send(dest, message, wait, reply, connect).await,
            Command::Wait { wait, reply } => {
                if self.conn.is_none() {
                    let _ = reply.send(Err(LiteError::NotConnected));
                    return;
                }
                let key = (wait.session, wait.state);
                if let Some(at) = self.unread.iter().position(|(state, _)| *state == key.1) {
                    let (_, value) = self.unread.remove(at).expect("found");
                    let _ = reply.send(Ok(value));
                } else {
                    self.add_wait(key, wait.seq, reply);
                }
            }
            Command::Cancel { seq } => {
                if let Some((key, _)) = self.waits.remove(&seq) {
                    if let Some(seqs) = self.by_key.get_mut(&key) {
                        seqs.retain(|s| *s != seq);
                        if seqs.is_empty() {
                            self.by_key.remove(&key);
                        }
                    }
                }
            }
            Command::Connect { reply } => {
                self.disconnected = false;
                let result = match self.conn {
                    Some(_) => Ok(()),
                    None => self.reopen().await,
                };
                let _ = reply.send(result.map(|()| Value::Undef));
            }
            Command::Disconnect => {
                self.disconnected = true;
                if self.conn.is_some() {
                    self.lost(&|| LiteError::NotConnected);
                }
            }
        }
    }

    async fn reopen(&mut self) -> Result<(), LiteError> {
        self.set_conn(None);
        self.open().await
    }

    async fn send(
        &mut self,
        dest: Dest,
        mut message: Box<Message>,
        wait: Option<Wait>,
        reply: Reply,
        connect: bool,
    ) {
        if self.conn.is_none() {
            if self.disconnected || !connect {
                let _ = reply.send(Err(LiteError::NotConnected));
                return;
            }
            if let Err(e) = self.reopen().await {
                let _ = reply.send(Err(e));
                return;
            }
        }
        // An error report nobody has seen yet ends this wait (Perl's rule).
        if wait.is_some() {
            if let Some(error) = self.errors.pop_front() {
                let _ = reply.send(Err(error));
                return;
            }
        }
        let mut retried = false;
        loop {
            let conn = self.conn.as_mut().expect("connected above");
            message.event = match &dest {
                Dest::Spec(target) => match resolve(target, &conn.remote_name) {
                    Ok(target) => target,
                    Err(e) => {
                        let _ = reply.send(Err(e));
                        return;
                    }
                },
                Dest::Ping => {
                    MessageTarget::from(format!("poe://{}/IKC/ping", conn.peer.kernel_id))
                }
            };
            let failure = match conn.wire.channel.send(&message) {
                Err(ChannelError::Freeze(e)) => {
                    let _ = reply.send(Err(LiteError::Freeze(e)));
                    return;
                }
                Err(e) => LiteError::Channel(e),
                Ok(()) => match conn.wire.flush().await {
                    Ok(()) => break,
                    Err(e) => LiteError::io(&self.settings.address().to_string(), e),
                },
            };
            let shown = failure.to_string();
            self.lost(&|| failure.clone());
            if retried || !connect {
                let _ = reply.send(Err(failure));
                return;
            }
            log::info!(
                "{}: connection to {} lost ({shown}); connecting again to send",
                self.settings.name(),
                self.settings.address()
            );
            retried = true;
            if let Err(e) = self.open().await {
                let _ = reply.send(Err(e));
                return;
            }
        }
        match wait {
            Some(wait) => self.add_wait((wait.session, wait.state), wait.seq, reply),
            None => {
                let _ = reply.send(Ok(Value::Undef));
            }
        }
    }

    fn add_wait(&mut self, key: Key, seq: u64, reply: Reply) {
        self.by_key.entry(key.clone()).or_default().push_back(seq);
        self.waits.insert(seq, (key, reply));
    }

    async fn read(&mut self, result: io::Result<usize>) {
        let address = self.settings.address().to_string();
        let conn = &mut self.conn.as_mut().expect("read only while connected").wire;
        let fed = match result {
            Ok(0) => Err(None),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionAborted
                ) =>
            {
                Err(None)
            }
            Err(e) => Err(Some(LiteError::io(&address, e))),
            Ok(n) => conn
                .channel
                .handle_input(&conn.buf[..n])
                .map_err(|e| Some(LiteError::Channel(e))),
        };
        let mut events = Vec::new();
        while let Some(event) = conn.channel.poll_event() {
            events.push(event);
        }
        let flushed = conn.flush().await;
        for event in events {
            self.incoming(event);
        }
        match (fed, flushed) {
            (Err(None), _) => {
                log::debug!("{}: the server closed the connection", self.settings.name());
                self.lost(&|| LiteError::Closed {
                    waiting_for: String::new(),
                });
            }
            (Err(Some(error)), _) => self.lost(&|| error.clone()),
            (Ok(()), Err(e)) => {
                let error = LiteError::io(&address, e);
                self.lost(&|| error.clone());
            }
            (Ok(()), Ok(())) => {}
        }
    }

    /// The connection is gone: every wait ends with `error` (a `Closed`
    /// names what each was waiting for).
    fn lost(&mut self, error: &dyn Fn() -> LiteError) {
        self.set_conn(None);
        self.by_key.clear();
        for (_, ((session, state), reply)) in std::mem::take(&mut self.waits) {
            let error = match error() {
                LiteError::Closed { .. } => LiteError::Closed {
                    waiting_for: format!("poe://{}/{session}/{state}", self.settings.name()),
                },
                other => other,
            };
            let _ = reply.send(Err(error));
        }
    }

    fn incoming(&mut self, event: ChannelEvent) {
        let name = self.settings.name();
        let message = match event {
            ChannelEvent::Message(message) => message,
            ChannelEvent::BadFrame(error) => {
                self.fail_oldest(LiteError::Thaw(error));
                return;
            }
            other => {
                log::debug!("{name}: ignoring channel event {other:?}");
                return;
            }
        };
        if message.is_error {
            self.fail_oldest(LiteError::remote(&message.params));
            return;
        }
        let parts = match &message.event {
            MessageTarget::Hash(hash) => Some((hash.session.to_string(), hash.state.to_string())),
            MessageTarget::Text(text) => Specifier::parse(text).ok().map(|spec| {
                (
                    spec.part(PartName::Session).to_string(),
                    spec.part(PartName::State).to_string(),
                )
            }),
        };
        let Some((session, state)) = parts else {
            log::warn!("{name}: dropping a message for a target that is not a specifier");
            return;
        };
        let session: &'static str = match session.as_str() {
            SESSION => SESSION,
            IKC_SESSION => IKC_SESSION,
            _ => {
                log::warn!("{name}: dropping a message for session {session:?}, not ours");
                return;
            }
        };
        let key = (session, state);
        let (seq, emptied) = match self.by_key.get_mut(&key) {
            Some(seqs) => (seqs.pop_front(), seqs.is_empty()),
            None => (None, false),
        };
        if emptied {
            self.by_key.remove(&key);
        }
        if let Some((_, reply)) = seq.and_then(|seq| self.waits.remove(&seq)) {
            let _ = reply.send(Ok(message.params));
        } else if session == SESSION && !key.1.starts_with("response") {
            if self.unread.len() >= MAX_UNREAD {
                self.unread.pop_front();
                log::warn!("{name}: too many posts nobody waited for; dropping the oldest");
            }
            self.unread.push_back((key.1, message.params));
        } else {
            log::warn!(
                "{name}: dropping a message for {session}/{} (nobody waits for it: a late reply?)",
                key.1
            );
        }
    }

    /// An error report, or an unreadable frame: IKC does not say which
    /// request it is about, so it ends the oldest wait, or the next one.
    fn fail_oldest(&mut self, error: LiteError) {
        if let Some((seq, (key, reply))) = self.waits.pop_first() {
            if let Some(seqs) = self.by_key.get_mut(&key) {
                seqs.retain(|s| *s != seq);
                if seqs.is_empty() {
                    self.by_key.remove(&key);
                }
            }
            let _ = reply.send(Err(error));
        } else {
            if self.errors.len() >= MAX_UNREAD {
                self.errors.pop_front();
            }
            self.errors.push_back(error);
        }
    }
}

/// Open a stream to the server, within the connect timeout.
async fn connect(settings: &Settings) -> Result<Box<dyn AsyncStream>, LiteError> {
    let address = settings.address();
    let opening = async {
        match address {
            ikc_clientlite::Address::Tcp { host, port } => {
                let stream = tokio::net::TcpStream::connect((host.as_str(), *port)).await?;
                stream.set_nodelay(true)?;
                Ok(Box::new(stream) as Box<dyn AsyncStream>)
            }
            #[cfg(unix)]
            ikc_clientlite::Address::Unix(path) => {
                let stream = tokio::net::UnixStream::connect(path).await?;
                Ok(Box::new(stream) as Box<dyn AsyncStream>)
            }
            other => Err(io::Error::new(
                io::ErrorKind::Unsupported,
                format!("cannot connect to {other} on this platform"),
            )),
        }
    };
    match tokio::time::timeout(settings.connect_timeout(), opening).await {
        Ok(Ok(stream)) => Ok(stream),
        Ok(Err(source)) => Err(LiteError::Connect {
            address: address.to_string(),
            source: Arc::new(source),
        }),
        Err(_) => Err(LiteError::Timeout {
            waiting_for: format!("connection to {address}"),
            after: settings.connect_timeout(),
        }),
    }
}

/// Connect and run IKC's negotiation, each phase within the connect
/// timeout. Returns the connection and what arrived with the end of the
/// negotiation.
async fn negotiate(settings: &Settings) -> Result<(Conn, Vec<ChannelEvent>), LiteError> {
    let stream = connect(settings).await?;
    let address = settings.address().to_string();
    let handshake_error = |source| LiteError::Handshake {
        address: address.clone(),
        source,
    };
    let per_phase = settings.connect_timeout();
    let channel = settings.channel(Instant::now())?;
    let mut conn = Wire {
        stream,
        channel,
        buf: vec![0; READ_SIZE].into_boxed_slice(),
        out: Vec::new(),
    };
    let mut early = Vec::new();
    let mut phase = conn.channel.phase();
    loop {
        conn.flush().await.map_err(|e| LiteError::io(&address, e))?;
        let mut negotiated = None;
        while let Some(event) = conn.channel.poll_event() {
            match event {
                ChannelEvent::Negotiated(peer) => negotiated = Some(peer),
                other => early.push(other),
            }
        }
        if let Some(peer) = negotiated {
            log::debug!(
                "connected to {address} as {}: kernel {}, {} over {}",
                settings.name(),
                peer.kernel_id,
                peer.freezer,
                peer.protocol.as_str()
            );
            let conn = Conn {
                wire: conn,
                remote_name: remote_name(settings.address(), &peer),
                peer,
            };
            return Ok((conn, early));
        }
        let waiting_for = || {
            let phase = phase.unwrap_or("start");
            format!("negotiation phase {phase} with {address}")
        };
        let read = tokio::time::timeout(per_phase, conn.stream.read(&mut conn.buf)).await;
        match read {
            Err(_) => {
                return Err(LiteError::Timeout {
                    waiting_for: waiting_for(),
                    after: per_phase,
                });
            }
            Ok(Ok(0)) => {
                return Err(LiteError::Closed {
                    waiting_for: waiting_for(),
                });
            }
            Ok(Ok(n)) => {
                if let Err(e) = conn.channel.handle_input(&conn.buf[..n]) {
                    // A refusal line or TLS alert tells the server why.
                    let _ = conn.flush().await;
                    return Err(handshake_error(e));
                }
            }
            Ok(Err(e)) => return Err(LiteError::io(&address, e)),
        }
        conn.channel
            .handle_timeout(Instant::now())
            .map_err(handshake_error)?;
        phase = conn.channel.phase();
    }
}

/// Our kernel's session as the `from` of what we send.
pub(crate) fn from(name: &str) -> HashForm {
    HashForm::new(name, SESSION, "")
}
