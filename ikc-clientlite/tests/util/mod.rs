//! Helpers for the integration tests and the benchmark: an in-process IKC
//! server (built on `ikc-channel`, over `std::net`) that can be told to
//! misbehave, an in-memory duplex stream, a stream replaying a Perl
//! transcript, and a logger that keeps warnings for assertions.

#![allow(clippy::mod_module_files, dead_code, unreachable_pub)]

pub mod logs;
pub mod mem;
pub mod transcript;

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use ikc_channel::{
    Channel, ChannelEvent, Identity, Message, MessageTarget, Peer, Protocol, ServerChannelConfig,
};
use ikc_freezer::{Registry, Value};
use ikc_specifier::{HashForm, PartName};

/// How the server treats what it gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behaviour {
    /// Answer as a Perl server publishing `test/*` would.
    Normal,
    /// Answer nothing at all.
    Silent,
    /// Close the connection when a request that expects an answer arrives.
    CloseOnCall,
    /// Before each answer, send a reply for another RSVP state of
    /// `IKCLite` and a message for another session.
    StrayFirst,
    /// Before each answer, send an error report.
    ErrorFirst,
    /// Before each answer, send a frame that does not thaw.
    BadFrameFirst,
}

/// What the server saw, for the test to check.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum Heard {
    /// A client finished negotiating.
    Negotiated(Peer),
    /// `test/here` got this message.
    Here(Message),
}

/// How to set a server up.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// What it accepts: [`Protocol::Ikc`] answers `NOT` to `SETUP`.
    pub protocol: Protocol,
    /// The freezers it accepts.
    pub freezers: Registry,
}

impl Default for ServerOptions {
    fn default() -> Self {
        Self {
            protocol: Protocol::Ikc0,
            freezers: Registry::standard(),
        }
    }
}

/// What the acceptor and the connection threads share.
#[derive(Debug)]
pub struct Shared {
    options: ServerOptions,
    behaviour: Mutex<Behaviour>,
    /// Bumped on each restart: the kernel ID changes, as a new process's would.
    generation: AtomicU32,
    /// Every accepted socket, to be shut down on restart.
    sockets: Mutex<Vec<TcpStream>>,
    heard: Mutex<Sender<Heard>>,
    stopping: AtomicBool,
}

impl Shared {
    /// The kernel ID of the server's current incarnation.
    pub fn kernel_id(&self) -> String {
        format!("rust-test-{}", self.generation.load(Ordering::SeqCst))
    }

    fn behaviour(&self) -> Behaviour {
        *self
            .behaviour
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn tell(&self, heard: Heard) {
        let _ = self
            .heard
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .send(heard);
    }
}

/// An IKC server on 127.0.0.1, in threads of this process, publishing
/// `test/{fetchQ, add_1, echo, here, list, nothing, notify}` and answering
/// `IKC/ping`.
#[derive(Debug)]
pub struct TestServer {
    port: u16,
    shared: Arc<Shared>,
    heard: Receiver<Heard>,
    acceptor: Option<JoinHandle<()>>,
}

impl TestServer {
    /// A server with the default options, on a port the system picks.
    pub fn start() -> io::Result<Self> {
        Self::start_with(ServerOptions::default())
    }

    /// A server with these options.
    pub fn start_with(options: ServerOptions) -> io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let port = listener.local_addr()?.port();
        let (tx, heard) = mpsc::channel();
        let shared = Arc::new(Shared {
            options,
            behaviour: Mutex::new(Behaviour::Normal),
            generation: AtomicU32::new(1),
            sockets: Mutex::new(Vec::new()),
            heard: Mutex::new(tx),
            stopping: AtomicBool::new(false),
        });
        let acceptor = Some(spawn_acceptor(listener, Arc::clone(&shared)));
        Ok(Self {
            port,
            shared,
            heard,
            acceptor,
        })
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// What the server and its threads share (to serve other streams).
    pub fn shared(&self) -> Arc<Shared> {
        Arc::clone(&self.shared)
    }

    /// The kernel ID of the current incarnation.
    pub fn kernel_id(&self) -> String {
        self.shared.kernel_id()
    }

    /// Change how it treats what comes next.
    pub fn set_behaviour(&self, behaviour: Behaviour) {
        *self
            .shared
            .behaviour
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = behaviour;
    }

    /// The next thing the server saw, waiting up to 10 s.
    #[track_caller]
    pub fn next_heard(&self) -> Heard {
        match self.heard.recv_timeout(Duration::from_secs(10)) {
            Ok(heard) => heard,
            Err(RecvTimeoutError::Timeout) => panic!("the server heard nothing in 10 s"),
            Err(RecvTimeoutError::Disconnected) => panic!("the server is gone"),
        }
    }

    /// The next message to `test/here`, skipping negotiations.
    #[track_caller]
    pub fn next_here(&self) -> Message {
        loop {
            if let Heard::Here(message) = self.next_heard() {
                return message;
            }
        }
    }

    /// The next negotiation, skipping `test/here` values.
    #[track_caller]
    pub fn next_negotiation(&self) -> Peer {
        loop {
            if let Heard::Negotiated(peer) = self.next_heard() {
                return peer;
            }
        }
    }

    /// Stop: stop accepting and close every connection. When this
    /// returns, the sockets are shut down.
    pub fn stop(&mut self) {
        self.shared.stopping.store(true, Ordering::SeqCst);
        if let Some(acceptor) = self.acceptor.take() {
            // Wake the acceptor; it sees `stopping` and drops the listener.
            let _ = TcpStream::connect(("127.0.0.1", self.port));
            let _ = acceptor.join();
        }
        let sockets = std::mem::take(
            &mut *self
                .shared
                .sockets
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
        );
        for socket in sockets {
            let _ = socket.shutdown(Shutdown::Both);
        }
    }

    /// Stop, then listen again on the same port as a new incarnation
    /// (another kernel ID).
    pub fn restart(&mut self) -> io::Result<()> {
        self.stop();
        self.shared.generation.fetch_add(1, Ordering::SeqCst);
        let listener = TcpListener::bind(("127.0.0.1", self.port))?;
        self.shared.stopping.store(false, Ordering::SeqCst);
        self.acceptor = Some(spawn_acceptor(listener, Arc::clone(&self.shared)));
        Ok(())
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.stop();
    }
}

fn spawn_acceptor(listener: TcpListener, shared: Arc<Shared>) -> JoinHandle<()> {
    thread::spawn(move || {
        for socket in listener.incoming() {
            if shared.stopping.load(Ordering::SeqCst) {
                return;
            }
            let Ok(socket) = socket else { continue };
            let _ = socket.set_nodelay(true);
            let (Ok(peer), Ok(local), Ok(for_stop), Ok(for_end)) = (
                socket.peer_addr(),
                socket.local_addr(),
                socket.try_clone(),
                socket.try_clone(),
            ) else {
                continue;
            };
            shared
                .sockets
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(for_stop);
            let shared = Arc::clone(&shared);
            thread::spawn(move || {
                let _ = serve(socket, &shared, Some(peer.to_string()), local.to_string());
                // The clone kept for `stop` would hold the socket open.
                let _ = for_end.shutdown(Shutdown::Both);
            });
        }
    })
}

/// Serve one connection until it closes.
pub fn serve<S: Read + Write>(
    mut stream: S,
    shared: &Shared,
    peer_address: Option<String>,
    local_name: String,
) -> io::Result<()> {
    let options = &shared.options;
    let me = Identity::new(shared.kernel_id())
        .with_name("Inet")
        .with_name("Ikc")
        .with_name(local_name);
    let mut config = ServerChannelConfig::new(me, options.freezers.clone());
    config.protocol = options.protocol;
    config.peer_address = peer_address;
    let mut channel = Channel::server(config, Instant::now()).map_err(io::Error::other)?;
    let mut client_id = String::new();
    let (mut buf, mut out) = (vec![0; 64 * 1024], Vec::new());
    loop {
        let n = stream.read(&mut buf)?;
        if n == 0 {
            return Ok(());
        }
        let fed = channel.handle_input(&buf[..n]);
        while let Some(event) = channel.poll_event() {
            match event {
                ChannelEvent::Negotiated(peer) => {
                    client_id.clone_from(&peer.kernel_id);
                    shared.tell(Heard::Negotiated(peer));
                }
                ChannelEvent::Message(message) => match respond(shared, &client_id, *message) {
                    Respond::Send(replies) => {
                        if shared.behaviour() == Behaviour::BadFrameFirst && !replies.is_empty() {
                            while channel.poll_transmit(&mut out).is_some() {
                                stream.write_all(&out)?;
                                out.clear();
                            }
                            stream.write_all(BAD_FRAME)?;
                        }
                        for reply in &replies {
                            channel.send(reply).map_err(io::Error::other)?;
                        }
                    }
                    Respond::Close => return Ok(()),
                },
                _ => {}
            }
        }
        while channel.poll_transmit(&mut out).is_some() {
            stream.write_all(&out)?;
            out.clear();
        }
        if fed.is_err() {
            return Ok(());
        }
    }
}

enum Respond {
    Send(Vec<Message>),
    Close,
}

/// A frame no codec thaws.
const BAD_FRAME: &[u8] = b"3\0\xff\xfe\xfd";

/// What Perl's responder and the `test` session would send back.
fn respond(shared: &Shared, client_id: &str, message: Message) -> Respond {
    let behaviour = shared.behaviour();
    let Ok(to) = message.event.specifier() else {
        return Respond::Send(vec![]);
    };
    let (session, state) = (to.part(PartName::Session), to.part(PartName::State));
    if session == "test" && state == "here" {
        shared.tell(Heard::Here(message.clone()));
    }
    if behaviour == Behaviour::Silent {
        return Respond::Send(vec![]);
    }
    let expects_answer = message.rsvp.is_some() || (session == "test" && state == "add_1");
    if behaviour == Behaviour::CloseOnCall && expects_answer {
        return Respond::Close;
    }
    let me = shared.kernel_id();
    let proxy = HashForm::new(me.as_str(), session.as_str(), "IKC:proxy");
    let reply = |to: HashForm, value: Value| Message::post(to, value).with_from(proxy.clone());
    let wantarray = message.wantarray == Some(true);
    let answer: Option<Value> = match (session.as_str(), state.as_str()) {
        ("IKC", "ping") => Some(Value::bytes("PONG")),
        ("test", "fetchQ") => Some(Value::Int(42)),
        ("test", "echo") if wantarray => Some(Value::Array(vec![message.params.clone()])),
        ("test", "echo") => Some(message.params.clone()),
        ("test", "list") if wantarray => Some(Value::from(vec![
            Value::Int(1),
            Value::bytes("two"),
            Value::Int(3),
        ])),
        ("test", "list") => Some(Value::Int(3)),
        ("test", "here" | "nothing") => None,
        ("test", "add_1") => {
            // post_respond: params [n, rsvp]; the answer goes to rsvp.
            let n = message.params.get_index(0).and_then(Value::as_i64);
            let rsvp = message.params.get_index(1).and_then(hash_form);
            let (Some(n), Some(rsvp)) = (n, rsvp) else {
                return Respond::Send(vec![]);
            };
            return Respond::Send(with_noise(
                behaviour,
                client_id,
                vec![reply(rsvp, Value::Int(n + 1))],
            ));
        }
        ("test", "notify") => {
            // Post back to the sender (IKC's proxy SENDER): params [state, value].
            let state = message.params.get_index(0).map(ToString::to_string);
            let value = message.params.get_index(1).cloned().unwrap_or_default();
            let (Some(from), Some(state)) = (&message.from, state) else {
                return Respond::Send(vec![]);
            };
            let to = HashForm::new(from.kernel.as_str(), from.session.as_str(), state);
            return Respond::Send(vec![reply(to, Value::Array(vec![value]))]);
        }
        _ => {
            let report = error_report(
                client_id,
                format!(
                    "Session '{session}' has not published state '{state}'.  Request {} sent by {}",
                    to.ikc_name(),
                    message
                        .from
                        .as_ref()
                        .map(|from| from.ikc_name())
                        .unwrap_or_default()
                ),
                &to.part(PartName::Kernel),
                "check",
            );
            return Respond::Send(vec![report]);
        }
    };
    match (answer, message.rsvp) {
        (Some(value), Some(rsvp)) => Respond::Send(with_noise(
            behaviour,
            client_id,
            vec![reply(HashForm::clone(&rsvp), value)],
        )),
        _ => Respond::Send(vec![]),
    }
}

/// The replies, preceded by what the behaviour adds.
fn with_noise(behaviour: Behaviour, client_id: &str, mut replies: Vec<Message>) -> Vec<Message> {
    let noise = match behaviour {
        Behaviour::StrayFirst => vec![
            Message::post(HashForm::new(client_id, "IKCLite", "response9999"), "stale"),
            Message::post(HashForm::new(client_id, "elsewhere", "thing"), "foreign"),
        ],
        Behaviour::ErrorFirst => vec![error_report(
            client_id,
            "something failed".into(),
            "Inet",
            "invocation",
        )],
        _ => vec![],
    };
    replies.splice(0..0, noise);
    replies
}

/// IKC's error report, sent to the client's `IKC/remote_error`.
pub fn error_report(client_id: &str, text: String, kernel: &str, when: &str) -> Message {
    let mut report = Message::post(
        HashForm::new(client_id, "IKC", "remote_error"),
        vec![Value::from(text), Value::from(kernel), Value::from(when)],
    );
    report.is_error = true;
    report
}

/// A `{kernel, session, state}` hash value as a [`HashForm`].
fn hash_form(value: &Value) -> Option<HashForm> {
    let part = |key| value.get(key).map(ToString::to_string).unwrap_or_default();
    value
        .as_hash()
        .map(|_| HashForm::new(part("kernel"), part("session"), part("state")))
}

/// The message a target names, for assertions.
pub fn target_text(target: &MessageTarget) -> String {
    match target {
        MessageTarget::Text(text) => text.to_string(),
        MessageTarget::Hash(hash) => hash.ikc_name(),
    }
}
