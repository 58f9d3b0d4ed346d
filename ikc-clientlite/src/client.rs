//! [`ClientLite`]: post, call, post_respond, responded and ping over one
//! blocking connection.

use std::fmt;
use std::io;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ikc_channel::{Message, MessageTarget, Peer};
use ikc_freezer::{Hash, Value, from_value};
use ikc_specifier::{HashForm, PartName, Specifier};
use serde::de::DeserializeOwned;

use crate::builder::Builder;
use crate::connection::{Connection, SendError, Settings};
use crate::error::LiteError;
use crate::reply::{self, IKC_SESSION, SESSION, Verdict};
use crate::stream::{Address, BoxedStream};

/// Opens a stream to the server (each time the client connects).
pub(crate) type Connector =
    Box<dyn FnMut(&Address, Duration) -> io::Result<BoxedStream> + Send + 'static>;

/// The state of the connection.
#[derive(Debug)]
enum Link {
    /// Connected and negotiated.
    Up(Box<Connection<BoxedStream>>),
    /// Lost (closed by the server, timed out, failed): the next `post`,
    /// `call` or `post_respond` connects again.
    Lost,
    /// Closed by [`ClientLite::disconnect`]: nothing reconnects until
    /// [`ClientLite::ensure_connected`].
    Disconnected,
}

/// A blocking IKC client: IKC's ClientLite, for code without an event
/// loop. See the [crate documentation](crate) for an overview.
///
/// Every method blocks until it is done: `post` until the message is
/// written, `call` until the reply has come (or [`timeout`](Builder::timeout)
/// has passed). A connection carries one conversation at a time, so
/// methods take `&mut self`; the client is [`Send`], so each thread can own
/// one (see [Threads](crate#threads)).
///
/// Specifiers may be absolute (`poe://Kernel/session/state`, or any text
/// starting with `poe:`, sent as it is), relative (`session/state`, sent
/// to the connected server as `poe://NAME/session/state`, where NAME is
/// [`remote_name`](Self::remote_name)), or a [`HashForm`].
pub struct ClientLite {
    settings: Settings,
    connector: Connector,
    link: Link,
    /// The number in the next `response<N>` RSVP state.
    next_request: u64,
    /// Our session, as the `from` of what we send (made once).
    from: Arc<HashForm>,
    /// The RSVP of the last call, rewritten in place for the next one
    /// when nothing holds it any more.
    rsvp: Arc<HashForm>,
    last_error: Option<LiteError>,
    /// The last relative specifier resolved: programs mostly send to the
    /// same few states, and resolving parses the specifier.
    resolved: Option<Resolved>,
}

/// A text target resolved against a server name.
#[derive(Debug)]
struct Resolved {
    text: String,
    remote_name: String,
    target: MessageTarget,
}

impl fmt::Debug for ClientLite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientLite")
            .field("name", &self.settings.name)
            .field("address", &self.settings.address)
            .field("link", &self.link)
            .field("next_request", &self.next_request)
            .field("last_error", &self.last_error)
            .finish_non_exhaustive()
    }
}

impl ClientLite {
    /// Connect to the TCP server at `host:port` with the default settings
    /// (see [`Builder`] for the others).
    ///
    /// # Errors
    ///
    /// As for [`Builder::connect`].
    pub fn connect(host: impl Into<String>, port: u16) -> Result<Self, LiteError> {
        Builder::tcp(host, port).connect()
    }

    /// Connect to the server on the Unix-domain socket at `path` with the
    /// default settings.
    ///
    /// # Errors
    ///
    /// As for [`Builder::connect`].
    pub fn connect_unix(path: impl Into<PathBuf>) -> Result<Self, LiteError> {
        Builder::unix(path).connect()
    }

    /// Settings for a TCP server, to adjust before connecting.
    pub fn builder(host: impl Into<String>, port: u16) -> Builder {
        Builder::tcp(host, port)
    }

    pub(crate) fn start(settings: Settings, connector: Connector) -> Result<Self, LiteError> {
        let from = Arc::new(HashForm::new(settings.name.as_str(), SESSION, ""));
        // Its state is written before each call.
        let rsvp = Arc::new(HashForm::clone(&from));
        let mut client = Self {
            settings,
            connector,
            link: Link::Lost,
            next_request: 0,
            from,
            rsvp,
            resolved: None,
            last_error: None,
        };
        client.open()?;
        Ok(client)
    }

    /// Our name: what the server knows this client as.
    pub fn name(&self) -> &str {
        &self.settings.name
    }

    /// The server's address.
    pub fn address(&self) -> &Address {
        &self.settings.address
    }

    /// The server as negotiated (its kernel ID and names, the freezer and
    /// the protocol agreed on), while connected.
    pub fn peer(&self) -> Option<&Peer> {
        match &self.link {
            Link::Up(connection) => Some(connection.peer()),
            _ => None,
        }
    }

    /// The kernel name relative specifiers are sent to, while connected:
    /// the server's kernel ID over IKC0, `host:port` over IKC's old
    /// handshake (what Perl's ClientLite uses).
    pub fn remote_name(&self) -> Option<&str> {
        match &self.link {
            Link::Up(connection) => Some(connection.remote_name()),
            _ => None,
        }
    }

    /// Is there a connection? (It may still have been closed by the server
    /// since it was last used; [`ping`](Self::ping) checks.)
    pub fn is_connected(&self) -> bool {
        matches!(self.link, Link::Up(_))
    }

    /// The last error any method returned (Perl's `$poe->error`).
    pub fn error(&self) -> Option<&LiteError> {
        self.last_error.as_ref()
    }

    /// How long each wait for a reply may take.
    pub fn timeout(&self) -> Duration {
        self.settings.timeout
    }

    /// Change how long each later wait for a reply may take.
    pub fn set_timeout(&mut self, timeout: Duration) {
        self.settings.timeout = timeout;
    }

    /// Close the connection. Later operations fail with
    /// [`LiteError::NotConnected`] until
    /// [`ensure_connected`](Self::ensure_connected) connects again.
    pub fn disconnect(&mut self) {
        if matches!(self.link, Link::Up(_)) {
            log::debug!(
                "{}: disconnecting from {}",
                self.settings.name,
                self.settings.address
            );
        }
        self.link = Link::Disconnected;
    }

    /// Make sure there is a working connection (Perl's `$poe->connect`):
    /// if connected and a [`ping`](Self::ping) is answered, nothing
    /// happens; otherwise connect again (also after
    /// [`disconnect`](Self::disconnect)).
    ///
    /// # Errors
    ///
    /// As for [`Builder::connect`].
    #[doc(alias = "connect")]
    pub fn ensure_connected(&mut self) -> Result<(), LiteError> {
        if matches!(self.link, Link::Up(_)) && self.ping_once().is_ok() {
            return Ok(());
        }
        let result = self.open();
        self.record(result)
    }

    /// Post `params` to `spec` on the server: the state gets them as its
    /// `ARG0`. Returns once the message is written; nothing says whether
    /// the state exists (an error report from the server surfaces in the
    /// next wait for a reply, as in Perl).
    ///
    /// If the connection is lost, this connects again first; if writing
    /// fails, it connects again and writes once more.
    ///
    /// # Errors
    ///
    /// [`LiteError::BadSpecifier`], [`LiteError::Freeze`],
    /// [`LiteError::NotConnected`] after [`disconnect`](Self::disconnect),
    /// or what connecting and writing again gave.
    pub fn post(
        &mut self,
        spec: impl Into<MessageTarget>,
        params: impl Into<Value>,
    ) -> Result<(), LiteError> {
        let target = spec.into();
        let mut message = Message::post(MessageTarget::from(""), params).with_from(self.from());
        let result = self.send(&target, &mut message);
        self.record(result)
    }

    /// Call the state `spec` with `params` and wait for its return value,
    /// asking for a scalar (`wantarray => ''`, as Perl's ClientLite does in
    /// scalar context).
    ///
    /// Sending is as for [`post`](Self::post), with an RSVP to
    /// `poe://NAME/IKCLite/response<N>`. A state that returns `undef`
    /// sends no reply (IKC's rule), so the call times out.
    ///
    /// # Errors
    ///
    /// As for [`post`](Self::post), and [`LiteError::Timeout`],
    /// [`LiteError::Closed`], [`LiteError::Remote`] (an error report came
    /// while waiting), [`LiteError::Thaw`].
    pub fn call(
        &mut self,
        spec: impl Into<MessageTarget>,
        params: impl Into<Value>,
    ) -> Result<Value, LiteError> {
        let result = self.call_inner(spec.into(), params.into(), false);
        self.record(result)
    }

    /// Call with `wantarray => 1`, as Perl's ClientLite does in list
    /// context: the state runs in list context and its list comes back.
    /// An array reply is returned as its elements, anything else as a list
    /// of one.
    ///
    /// # Errors
    ///
    /// As for [`call`](Self::call).
    pub fn call_list(
        &mut self,
        spec: impl Into<MessageTarget>,
        params: impl Into<Value>,
    ) -> Result<Vec<Value>, LiteError> {
        let result = self
            .call_inner(spec.into(), params.into(), true)
            .map(reply::into_list);
        self.record(result)
    }

    /// [`call`](Self::call), with the reply converted to `T` by the serde
    /// bridge ([`ikc_freezer::from_value`], which reads Perl's strings as
    /// numbers or booleans where `T` wants one).
    ///
    /// # Errors
    ///
    /// As for [`call`](Self::call), and [`LiteError::Convert`] when the
    /// reply does not fit `T`.
    pub fn call_as<T: DeserializeOwned>(
        &mut self,
        spec: impl Into<MessageTarget>,
        params: impl Into<Value>,
    ) -> Result<T, LiteError> {
        let result = self
            .call_inner(spec.into(), params.into(), false)
            .and_then(|value| from_value(value).map_err(LiteError::from));
        self.record(result)
    }

    /// Post `[params, rsvp]` to `spec` and wait for something to be posted
    /// to `rsvp`, a `{kernel, session, state}` hash for
    /// `poe://NAME/IKCLite/response<N>`. For states that answer later,
    /// from another state: they post their answer to the hash they got
    /// (`$kernel->post(IKC => 'post', $rsvp, $answer)` in Perl).
    ///
    /// # Errors
    ///
    /// As for [`call`](Self::call).
    pub fn post_respond(
        &mut self,
        spec: impl Into<MessageTarget>,
        params: impl Into<Value>,
    ) -> Result<Value, LiteError> {
        let rsvp = self.next_rsvp();
        // Plain (not UTF-8 flagged) strings, as Perl writes these names.
        let mut hash = Hash::with_capacity(3);
        hash.insert("kernel", Value::bytes(rsvp.kernel.as_str()));
        hash.insert("session", Value::bytes(rsvp.session.as_str()));
        hash.insert("state", Value::bytes(rsvp.state.as_str()));
        let params = Value::Array(vec![params.into(), Value::Hash(hash)]);
        let mut message = Message::post(MessageTarget::from(""), params).with_from(self.from());
        let target = spec.into();
        let result = self
            .send(&target, &mut message)
            .and_then(|()| self.wait(&rsvp));
        self.record(result)
    }

    /// Wait for the server to post to `state` of our session
    /// (`poe://NAME/IKCLite/STATE`): what a remote state sends to its
    /// sender (IKC's proxy SENDER) arrives there. The value is what was
    /// posted: an array of the post's arguments, for a post through IKC's
    /// proxy sender. Messages for other states are dropped with a warning.
    ///
    /// # Errors
    ///
    /// [`LiteError::BadSpecifier`] for a state name that is empty or holds
    /// a `/`, [`LiteError::NotConnected`], and the errors of a wait, as for
    /// [`call`](Self::call).
    pub fn responded(&mut self, state: &str) -> Result<Value, LiteError> {
        let result = self.responded_inner(state);
        self.record(result)
    }

    /// [`responded`](Self::responded) as a list, as Perl's ClientLite
    /// returns it in list context: an array's elements, or the one value.
    ///
    /// # Errors
    ///
    /// As for [`responded`](Self::responded).
    pub fn responded_list(&mut self, state: &str) -> Result<Vec<Value>, LiteError> {
        let result = self.responded_inner(state).map(reply::into_list);
        self.record(result)
    }

    /// Ask the server's `IKC/ping` whether the connection works: it must
    /// answer `PONG` within the timeout. This never connects again; a
    /// failure (other than an error report) drops the connection, so that
    /// the next `post` or `call` makes a new one.
    ///
    /// # Errors
    ///
    /// [`LiteError::NotConnected`], [`LiteError::PingFailed`], and the
    /// errors of a write and of a wait.
    pub fn ping(&mut self) -> Result<(), LiteError> {
        let result = self.ping_once();
        self.record(result)
    }

    fn ping_once(&mut self) -> Result<(), LiteError> {
        let name = self.settings.name.clone();
        let Link::Up(connection) = &mut self.link else {
            return Err(LiteError::NotConnected);
        };
        // As Perl's ClientLite sends it: to the server's kernel ID, an RSVP
        // to IKC/pong, and no `from`.
        let mut message = Message::post(
            format!("poe://{}/IKC/ping", connection.peer().kernel_id),
            Value::bytes("PING"),
        );
        let pong = HashForm::new(name, IKC_SESSION, "pong");
        message.rsvp = Some(pong.clone().into());
        let sent = connection
            .check_alive()
            .and_then(|()| match connection.send(&message) {
                Ok(()) => Ok(()),
                Err(SendError::Freeze(e)) => Err(LiteError::Freeze(e)),
                Err(SendError::Broken(e)) => Err(e),
            });
        if let Err(error) = sent {
            self.link = Link::Lost;
            return Err(error);
        }
        let reply = self.wait(&pong)?;
        let is_pong = reply.as_bytes() == Some(b"PONG".as_slice());
        if is_pong {
            Ok(())
        } else {
            self.link = Link::Lost;
            Err(LiteError::PingFailed { reply })
        }
    }

    fn call_inner(
        &mut self,
        target: MessageTarget,
        params: Value,
        list: bool,
    ) -> Result<Value, LiteError> {
        let rsvp = self.next_rsvp();
        let mut message =
            Message::call(MessageTarget::from(""), params, rsvp).with_from(self.from());
        message.wantarray = Some(list);
        self.send(&target, &mut message)?;
        // The RSVP goes out as it was made; the wait looks for it.
        let rsvp = message.rsvp.take().unwrap_or_default();
        drop(message);
        self.wait(&rsvp)
    }

    fn responded_inner(&mut self, state: &str) -> Result<Value, LiteError> {
        if state.is_empty() || state.contains('/') {
            return Err(LiteError::BadSpecifier {
                spec: state.to_owned(),
                reason: "responded() takes a state name alone".to_owned(),
            });
        }
        let expecting = HashForm::new(self.settings.name.as_str(), SESSION, state);
        self.wait(&expecting)
    }

    /// Our session, as the `from` of what we send.
    fn from(&self) -> Arc<HashForm> {
        Arc::clone(&self.from)
    }

    /// A fresh `response<N>` state of our session (written into the last
    /// call's RSVP when that one is no longer held).
    fn next_rsvp(&mut self) -> Arc<HashForm> {
        let rsvp = Arc::make_mut(&mut self.rsvp);
        rsvp.state.clear();
        rsvp.state.push_str("response");
        rsvp.state
            .push_str(itoa::Buffer::new().format(self.next_request));
        self.next_request += 1;
        Arc::clone(&self.rsvp)
    }

    /// Connect (again), dropping any connection first.
    fn open(&mut self) -> Result<(), LiteError> {
        self.link = Link::Lost;
        let address = &self.settings.address;
        let connect_timeout = self.settings.connect_timeout;
        let stream = (self.connector)(address, connect_timeout).map_err(|source| {
            if source.kind() == io::ErrorKind::TimedOut {
                LiteError::Timeout {
                    waiting_for: format!("connection to {address}"),
                    after: connect_timeout,
                }
            } else {
                LiteError::Connect {
                    address: address.to_string(),
                    source: source.into(),
                }
            }
        })?;
        let connection = Connection::negotiate(stream, &self.settings)?;
        self.link = Link::Up(Box::new(connection));
        Ok(())
    }

    /// Send `message` to `target` (Perl's `_try_send`): connect first if
    /// the connection was lost; if writing fails, connect again and write
    /// once more.
    fn send(&mut self, target: &MessageTarget, message: &mut Message) -> Result<(), LiteError> {
        match self.link {
            Link::Disconnected => return Err(LiteError::NotConnected),
            Link::Lost => self.open()?,
            Link::Up(_) => {}
        }
        let mut retried = false;
        loop {
            let Link::Up(connection) = &mut self.link else {
                return Err(LiteError::NotConnected);
            };
            message.event = resolve_kept(&mut self.resolved, target, connection.remote_name())?;
            let failure = match connection.check_alive() {
                Err(error) => error,
                Ok(()) => match connection.send(message) {
                    Ok(()) => return Ok(()),
                    Err(SendError::Freeze(error)) => return Err(LiteError::Freeze(error)),
                    Err(SendError::Broken(error)) => error,
                },
            };
            self.link = Link::Lost;
            if retried {
                return Err(failure);
            }
            log::info!(
                "{}: connection to {} lost ({failure}); connecting again to send",
                self.settings.name,
                self.settings.address
            );
            retried = true;
            self.open()?;
        }
    }

    /// Wait for a message to `expecting`, applying Perl's rules to the
    /// others (see [`reply::classify`]).
    fn wait(&mut self, expecting: &HashForm) -> Result<Value, LiteError> {
        let timeout = self.settings.timeout;
        let deadline = Instant::now() + timeout;
        let name = &self.settings.name;
        let Link::Up(connection) = &mut self.link else {
            return Err(LiteError::NotConnected);
        };
        let waiting_for = || expecting.ikc_name();
        loop {
            let incoming = match connection.next_incoming(deadline, timeout, &waiting_for) {
                Ok(incoming) => incoming,
                Err(error) => {
                    if error.is_disconnect() {
                        self.link = Link::Lost;
                    }
                    return Err(error);
                }
            };
            match reply::classify(incoming, expecting) {
                Verdict::Reply(value) => return Ok(value),
                Verdict::Fail(error) => return Err(error),
                Verdict::Discard(why) => log::warn!("{name}: {why}"),
            }
        }
    }

    fn record<T>(&mut self, result: Result<T, LiteError>) -> Result<T, LiteError> {
        if let Err(error) = &result {
            log::debug!("{}: {error}", self.settings.name);
            self.last_error = Some(error.clone());
        }
        result
    }
}

/// [`resolve`], kept for the next time when the target is text.
fn resolve_kept(
    kept: &mut Option<Resolved>,
    target: &MessageTarget,
    remote_name: &str,
) -> Result<MessageTarget, LiteError> {
    let MessageTarget::Text(text) = target else {
        return resolve(target, remote_name);
    };
    if let Some(r) = kept.as_ref() {
        if *r.text == **text && r.remote_name == remote_name {
            return Ok(r.target.clone());
        }
    }
    let resolved = resolve(target, remote_name)?;
    *kept = Some(Resolved {
        text: text.to_string(),
        remote_name: remote_name.to_owned(),
        target: resolved.clone(),
    });
    Ok(resolved)
}

/// The destination as sent, Perl's way: text starting with `poe:` and
/// hash forms as they are, other text relative to the server's name
/// (`remote_name`, see [`remote_name`](crate::protocol::remote_name)); it
/// must name a session and a state.
///
/// # Errors
///
/// [`LiteError::BadSpecifier`] when it does not parse, or names no session
/// or no state.
pub fn resolve(target: &MessageTarget, remote_name: &str) -> Result<MessageTarget, LiteError> {
    let (text, spec) = match target {
        MessageTarget::Hash(hash) => (hash.ikc_name(), Ok(Specifier::from_hash_form(hash))),
        MessageTarget::Text(text) if text.starts_with("poe:") => {
            (text.to_string(), Specifier::parse(text))
        }
        MessageTarget::Text(text) => {
            let full = format!("poe://{remote_name}/{text}");
            let spec = Specifier::parse(&full);
            (full, spec)
        }
    };
    let bad = |reason: String| LiteError::BadSpecifier {
        spec: text.clone(),
        reason,
    };
    let spec = spec.map_err(|e| bad(e.to_string()))?;
    if spec.part(PartName::Session).is_empty() {
        return Err(bad("it names no session".to_owned()));
    }
    if spec.part(PartName::State).is_empty() {
        return Err(bad("it names no state".to_owned()));
    }
    Ok(match target {
        MessageTarget::Hash(hash) => MessageTarget::Hash(hash.clone()),
        MessageTarget::Text(_) => MessageTarget::from(text),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_moves_between_threads_and_its_errors_too() {
        fn send<T: Send>() {}
        fn send_sync<T: Send + Sync + 'static>() {}
        send::<ClientLite>();
        send_sync::<LiteError>();
    }

    #[test]
    fn relative_specifiers_go_to_the_server() {
        let resolved = resolve(&MessageTarget::from("test/fetchQ"), "vm-1-2-3").unwrap();
        assert_eq!(resolved, MessageTarget::from("poe://vm-1-2-3/test/fetchQ"));
        let resolved = resolve(&MessageTarget::from("test/here"), "localhost:41002").unwrap();
        assert_eq!(
            resolved,
            MessageTarget::from("poe://localhost:41002/test/here")
        );
        // Absolute ones (anything starting with poe:) are sent as they are.
        for text in ["poe://Other/test/here", "poe:/test/here"] {
            assert_eq!(
                resolve(&MessageTarget::from(text), "X").unwrap(),
                MessageTarget::from(text)
            );
        }
        let hash = HashForm::new("Other", "test", "here");
        assert_eq!(
            resolve(&MessageTarget::from(hash.clone()), "X").unwrap(),
            MessageTarget::Hash(hash.into())
        );
    }

    #[test]
    fn a_kept_resolution_is_used_only_for_the_same_text_and_server() {
        let mut kept = None;
        let target = MessageTarget::from("test/fetchQ");
        let first = resolve_kept(&mut kept, &target, "vm-1").unwrap();
        assert_eq!(first, MessageTarget::from("poe://vm-1/test/fetchQ"));
        assert_eq!(resolve_kept(&mut kept, &target, "vm-1").unwrap(), first);
        // Another server (a reconnection), another text: resolved afresh.
        assert_eq!(
            resolve_kept(&mut kept, &target, "vm-2").unwrap(),
            MessageTarget::from("poe://vm-2/test/fetchQ")
        );
        assert_eq!(
            resolve_kept(&mut kept, &MessageTarget::from("test/here"), "vm-2").unwrap(),
            MessageTarget::from("poe://vm-2/test/here")
        );
        // A bad one is an error each time, and is not kept.
        assert!(resolve_kept(&mut kept, &MessageTarget::from("fetchQ"), "vm-2").is_err());
        assert!(resolve_kept(&mut kept, &MessageTarget::from("fetchQ"), "vm-2").is_err());
    }

    #[test]
    fn a_specifier_needs_a_session_and_a_state() {
        for (text, why) in [
            ("fetchQ", "no state"),
            ("poe://Inet", "no session"),
            ("poe:fetchQ", "no session"),
            ("test/fe tch!", "state"),
        ] {
            match resolve(&MessageTarget::from(text), "Inet") {
                Err(LiteError::BadSpecifier { reason, .. }) => {
                    assert!(reason.contains(why), "{text}: {reason}");
                }
                other => panic!("{text}: {other:?}"),
            }
        }
        let no_state = HashForm::new("Inet", "test", "");
        assert!(matches!(
            resolve(&MessageTarget::from(no_state), "X"),
            Err(LiteError::BadSpecifier { .. })
        ));
    }
}
