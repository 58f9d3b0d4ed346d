//! [`AsyncClientLite`]: ClientLite's methods as futures, for any number of
//! tasks sharing one connection.

use std::fmt;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use ikc_channel::{Message, MessageTarget, Peer};
use ikc_clientlite::LiteError;
use ikc_clientlite::protocol::{IKC_SESSION, SESSION, Settings};
use ikc_freezer::{Hash, Value, from_value};
use ikc_specifier::HashForm;
use serde::de::DeserializeOwned;
use tokio::sync::{mpsc, oneshot};

use crate::builder::Builder;
use crate::driver::{self, Command, Dest, Driver, SharedStatus, Status, Wait};

/// An async IKC client for tokio: the methods of
/// [`ikc_clientlite::ClientLite`], as futures, on a handle that many tasks
/// share.
///
/// The handle is cheap to clone, and every clone talks over the same
/// connection: a task that sends registers its own `response<N>` state
/// and waits for it, so calls from many tasks are in flight at once and
/// each gets its own answer, in whatever order the server sends them. A
/// task spawned at [`connect`](Builder::connect) owns the connection; it
/// ends when the last handle is dropped.
///
/// Waiting follows ClientLite's rules, with what concurrency changes:
///
/// - each call waits at most [`timeout`](Builder::timeout)
///   ([`LiteError::Timeout`]); a reply that comes later is dropped with a
///   warning, and the connection stays up (replies are matched by their
///   state, never by their order);
/// - an error report from the server (`remote_error`) says nothing of the
///   request it is about: it ends the oldest wait in progress, or the next
///   one if none is ([`LiteError::Remote`]);
/// - posts to our session (`IKCLite/<state>`) that nobody waits for yet
///   are kept for [`responded`](Self::responded), up to a bound;
/// - if the connection is lost, every wait ends ([`LiteError::Closed`]),
///   and the next `post`, `call` or `post_respond` connects again (once;
///   a failed write also connects again and writes once more).
///   [`ping`](Self::ping) and [`responded`](Self::responded) never
///   reconnect, nor does anything after [`disconnect`](Self::disconnect)
///   until [`ensure_connected`](Self::ensure_connected).
#[derive(Clone)]
pub struct AsyncClientLite {
    inner: Arc<Inner>,
}

struct Inner {
    name: String,
    address: ikc_clientlite::Address,
    tx: mpsc::UnboundedSender<Command>,
    status: SharedStatus,
    next_request: AtomicU64,
    timeout: Mutex<Duration>,
    last_error: Mutex<Option<LiteError>>,
}

impl fmt::Debug for AsyncClientLite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsyncClientLite")
            .field("name", &self.inner.name)
            .field("address", &self.inner.address)
            .finish_non_exhaustive()
    }
}

impl AsyncClientLite {
    /// Connect to the TCP server at `host:port` with the default settings.
    ///
    /// # Errors
    ///
    /// As [`Builder::connect`].
    pub async fn connect(host: impl Into<String>, port: u16) -> Result<Self, LiteError> {
        Builder::tcp(host, port).connect().await
    }

    /// Connect to the server on the Unix-domain socket at `path`.
    ///
    /// # Errors
    ///
    /// As [`Builder::connect`].
    pub async fn connect_unix(path: impl Into<PathBuf>) -> Result<Self, LiteError> {
        Builder::unix(path).connect().await
    }

    /// Settings for a TCP server, to adjust before connecting.
    pub fn builder(host: impl Into<String>, port: u16) -> Builder {
        Builder::tcp(host, port)
    }

    pub(crate) async fn start(settings: Settings) -> Result<Self, LiteError> {
        let status: SharedStatus = Arc::new(Mutex::new(Status::default()));
        let (tx, rx) = mpsc::unbounded_channel();
        let inner = Inner {
            name: settings.name().to_owned(),
            address: settings.address().clone(),
            tx,
            status: Arc::clone(&status),
            next_request: AtomicU64::new(0),
            timeout: Mutex::new(settings.timeout()),
            last_error: Mutex::new(None),
        };
        let mut driver = Driver::new(settings, status);
        driver.open().await?;
        tokio::spawn(driver.run(rx));
        Ok(Self {
            inner: Arc::new(inner),
        })
    }

    /// The name the server knows us by.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// The server's address.
    pub fn address(&self) -> &ikc_clientlite::Address {
        &self.inner.address
    }

    /// The server as negotiated, while connected.
    pub fn peer(&self) -> Option<Peer> {
        self.status().peer.clone()
    }

    /// The kernel name relative specifiers go to, while connected.
    pub fn remote_name(&self) -> Option<String> {
        self.status().remote_name.clone()
    }

    /// Is there a connection now?
    pub fn is_connected(&self) -> bool {
        self.status().peer.is_some()
    }

    /// The last error any clone of this handle met (Perl's `$poe->error`).
    pub fn error(&self) -> Option<LiteError> {
        lock(&self.inner.last_error).clone()
    }

    /// How long calls wait for their reply.
    pub fn timeout(&self) -> Duration {
        *lock(&self.inner.timeout)
    }

    /// Change how long calls wait (for every clone).
    pub fn set_timeout(&self, timeout: Duration) {
        *lock(&self.inner.timeout) = timeout;
    }

    /// Close the connection; nothing reconnects until
    /// [`ensure_connected`](Self::ensure_connected). Waits in progress end
    /// with [`LiteError::NotConnected`].
    pub fn disconnect(&self) {
        let _ = self.inner.tx.send(Command::Disconnect);
    }

    /// Connect if there is no connection (Perl's `connect`).
    ///
    /// # Errors
    ///
    /// As [`Builder::connect`].
    pub async fn ensure_connected(&self) -> Result<(), LiteError> {
        let (reply, rx) = oneshot::channel();
        let result = self
            .ask(Command::Connect { reply }, rx, None, || {
                "a connection".into()
            })
            .await;
        self.record(result.map(drop))
    }

    /// Post `params` to `spec`: the state gets them as its `ARG0`. Returns
    /// once the message is written.
    ///
    /// # Errors
    ///
    /// As [`ikc_clientlite::ClientLite::post`].
    pub async fn post(
        &self,
        spec: impl Into<MessageTarget>,
        params: impl Into<Value>,
    ) -> Result<(), LiteError> {
        let message =
            Message::post(MessageTarget::from(""), params).with_from(driver::from(self.name()));
        let result = self.send(Dest::Spec(spec.into()), message, None).await;
        self.record(result.map(drop))
    }

    /// Call the state `spec` with `params` and wait for its return value
    /// (a scalar: `wantarray => ''`).
    ///
    /// # Errors
    ///
    /// As [`ikc_clientlite::ClientLite::call`].
    pub async fn call(
        &self,
        spec: impl Into<MessageTarget>,
        params: impl Into<Value>,
    ) -> Result<Value, LiteError> {
        let result = self.call_inner(spec.into(), params.into(), false).await;
        self.record(result)
    }

    /// Call with `wantarray => 1`: the state's list, as a `Vec`.
    ///
    /// # Errors
    ///
    /// As [`call`](Self::call).
    pub async fn call_list(
        &self,
        spec: impl Into<MessageTarget>,
        params: impl Into<Value>,
    ) -> Result<Vec<Value>, LiteError> {
        let result =
            self.call_inner(spec.into(), params.into(), true)
                .await
                .map(|value| match value {
                    Value::Array(items) => items,
                    other => vec![other],
                });
        self.record(result)
    }

    /// [`call`](Self::call), with the reply converted to `T` by the serde
    /// bridge.
    ///
    /// # Errors
    ///
    /// As [`call`](Self::call), and [`LiteError::Convert`].
    pub async fn call_as<T: DeserializeOwned>(
        &self,
        spec: impl Into<MessageTarget>,
        params: impl Into<Value>,
    ) -> Result<T, LiteError> {
        let result = self
            .call_inner(spec.into(), params.into(), false)
            .await
            .and_then(|value| from_value(value).map_err(LiteError::from));
        self.record(result)
    }

    /// Post `[params, rsvp]` to `spec` and wait for something to be posted
    /// to `rsvp` (a `{kernel, session, state}` hash of ours), for states
    /// that answer later from another state.
    ///
    /// # Errors
    ///
    /// As [`call`](Self::call).
    pub async fn post_respond(
        &self,
        spec: impl Into<MessageTarget>,
        params: impl Into<Value>,
    ) -> Result<Value, LiteError> {
        let (seq, state) = self.next_state();
        let mut hash = Hash::with_capacity(3);
        hash.insert("kernel", Value::bytes(self.name()));
        hash.insert("session", Value::bytes(SESSION));
        hash.insert("state", Value::bytes(state.as_str()));
        let params = Value::Array(vec![params.into(), Value::Hash(hash)]);
        let message =
            Message::post(MessageTarget::from(""), params).with_from(driver::from(self.name()));
        let wait = Wait {
            session: SESSION,
            state,
            seq,
        };
        let result = self
            .send(Dest::Spec(spec.into()), message, Some(wait))
            .await;
        self.record(result)
    }

    /// Wait for the server to post to `state` of our session
    /// (`poe://NAME/IKCLite/STATE`). A post that came before this was
    /// called is kept for it.
    ///
    /// # Errors
    ///
    /// [`LiteError::BadSpecifier`] for an empty state or one with a `/`,
    /// [`LiteError::NotConnected`], and the errors of a wait.
    pub async fn responded(&self, state: &str) -> Result<Value, LiteError> {
        if state.is_empty() || state.contains('/') {
            return self.record(Err(LiteError::BadSpecifier {
                spec: state.to_owned(),
                reason: "responded() takes a state name alone".to_owned(),
            }));
        }
        let (reply, rx) = oneshot::channel();
        let seq = self.inner.next_request.fetch_add(1, Ordering::Relaxed);
        let wait = Wait {
            session: SESSION,
            state: state.to_owned(),
            seq,
        };
        let waiting_for = || format!("poe://{}/{SESSION}/{state}", self.name());
        let result = self
            .ask(Command::Wait { wait, reply }, rx, Some(seq), waiting_for)
            .await;
        self.record(result)
    }

    /// Ask the server's `IKC/ping` whether the connection works: it must
    /// answer `PONG` in time. This never connects.
    ///
    /// # Errors
    ///
    /// [`LiteError::NotConnected`], [`LiteError::PingFailed`], and the
    /// errors of a write and of a wait.
    pub async fn ping(&self) -> Result<(), LiteError> {
        let mut message = Message::post(MessageTarget::from(""), Value::bytes("PING"));
        message.rsvp = Some(HashForm::new(self.name(), IKC_SESSION, "pong").into());
        let seq = self.inner.next_request.fetch_add(1, Ordering::Relaxed);
        let wait = Wait {
            session: IKC_SESSION,
            state: "pong".to_owned(),
            seq,
        };
        let (reply, rx) = oneshot::channel();
        let command = Command::Send {
            dest: Dest::Ping,
            message: Box::new(message),
            wait: Some(wait),
            reply,
            connect: false,
        };
        let name = self.name().to_owned();
        let result = self
            .ask(command, rx, Some(seq), || format!("poe://{name}/IKC/pong"))
            .await
            .and_then(|reply| {
                if reply.as_bytes() == Some(b"PONG".as_slice()) {
                    Ok(())
                } else {
                    Err(LiteError::PingFailed { reply })
                }
            });
        self.record(result)
    }

    async fn call_inner(
        &self,
        target: MessageTarget,
        params: Value,
        list: bool,
    ) -> Result<Value, LiteError> {
        let (seq, state) = self.next_state();
        let rsvp = HashForm::new(self.name(), SESSION, state.as_str());
        let mut message = Message::call(MessageTarget::from(""), params, rsvp)
            .with_from(driver::from(self.name()));
        message.wantarray = Some(list);
        let wait = Wait {
            session: SESSION,
            state,
            seq,
        };
        self.send(Dest::Spec(target), message, Some(wait)).await
    }

    async fn send(
        &self,
        dest: Dest,
        message: Message,
        wait: Option<Wait>,
    ) -> Result<Value, LiteError> {
        let (reply, rx) = oneshot::channel();
        let seq = wait.as_ref().map(|w| w.seq);
        let waiting_for = match &wait {
            Some(w) => format!("poe://{}/{}/{}", self.name(), w.session, w.state),
            None => format!("the post to be written to {}", self.inner.address),
        };
        let command = Command::Send {
            dest,
            message: Box::new(message),
            wait,
            reply,
            connect: true,
        };
        self.ask(command, rx, seq, || waiting_for.clone()).await
    }

    /// Hand `command` to the driver and wait for its answer on `rx`, at
    /// most the timeout; on a timeout, the wait `seq` is cancelled.
    async fn ask(
        &self,
        command: Command,
        rx: oneshot::Receiver<Result<Value, LiteError>>,
        seq: Option<u64>,
        waiting_for: impl Fn() -> String,
    ) -> Result<Value, LiteError> {
        let gone = || LiteError::Closed {
            waiting_for: waiting_for(),
        };
        self.inner.tx.send(command).map_err(|_| gone())?;
        let timeout = self.timeout();
        match tokio::time::timeout(timeout, rx).await {
            Ok(Ok(result)) => result,
            Ok(Err(_)) => Err(gone()),
            Err(_) => {
                if let Some(seq) = seq {
                    let _ = self.inner.tx.send(Command::Cancel { seq });
                }
                Err(LiteError::Timeout {
                    waiting_for: waiting_for(),
                    after: timeout,
                })
            }
        }
    }

    /// A fresh `response<N>` state.
    fn next_state(&self) -> (u64, String) {
        let seq = self.inner.next_request.fetch_add(1, Ordering::Relaxed);
        (seq, format!("response{seq}"))
    }

    fn status(&self) -> std::sync::MutexGuard<'_, Status> {
        lock(&self.inner.status)
    }

    fn record<T>(&self, result: Result<T, LiteError>) -> Result<T, LiteError> {
        if let Err(error) = &result {
            log::debug!("{}: {error}", self.name());
            *lock(&self.inner.last_error) = Some(error.clone());
        }
        result
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_handle_is_shared_between_tasks() {
        fn send_sync<T: Send + Sync + Clone + 'static>() {}
        send_sync::<AsyncClientLite>();
    }
}
