//! [`Builder`]: ClientLite's settings, with Perl's defaults.

use std::io;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use ikc_channel::{Limits, Protocol, Secret, TlsClient};
use ikc_freezer::{Native, Registry};

use crate::client::{ClientLite, Connector};
use crate::connection::Settings;
use crate::error::LiteError;
use crate::stream::{self, Address, BlockingStream, BoxedStream};

/// Perl's default for both timeouts.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// How many default names this process has handed out.
static DEFAULT_NAMES: AtomicU32 = AtomicU32::new(0);

/// Which freezers to offer.
#[derive(Debug, Clone)]
enum Freezers {
    /// `IKC::Native`, then `Storable` (with the `storable` feature).
    Default,
    /// One of this crate's, by name.
    Named(String),
    /// The caller's own list.
    Registry(Registry),
}

/// How to connect: the server's address plus ClientLite's settings
/// (Perl's `spawn` parameters), with the same defaults.
///
/// | setting | default | Perl's parameter |
/// |---|---|---|
/// | [`name`](Self::name) | `Client<pid>` (then `Client<pid>-1`, `-2`, ... for further clients of the process) | `name` |
/// | [`freezer`](Self::freezer) | offer `IKC::Native`, then `Storable` | `serialiser` (default `Storable`) |
/// | [`protocol`](Self::protocol) | [`Protocol::Ikc0`], falling back to IKC on `NOT` | `protocol` |
/// | [`timeout`](Self::timeout) | 30 s | `timeout` |
/// | [`connect_timeout`](Self::connect_timeout) | the `timeout` | `connect_timeout` |
///
/// # Examples
///
/// ```no_run
/// use std::time::Duration;
///
/// use ikc_clientlite::{Builder, Protocol};
///
/// let mut poe = Builder::tcp("localhost", 31337)
///     .name("LiteClient")
///     .freezer("Storable")
///     .protocol(Protocol::Ikc)
///     .timeout(Duration::from_secs(5))
///     .connect()?;
/// poe.post("test/here", 7)?;
/// # Ok::<(), ikc_clientlite::LiteError>(())
/// ```
#[derive(Debug, Clone)]
#[must_use = "a Builder does nothing until `connect` is called"]
pub struct Builder {
    address: Address,
    name: Option<String>,
    freezers: Freezers,
    protocol: Protocol,
    timeout: Duration,
    connect_timeout: Option<Duration>,
    pid: Option<u32>,
    limits: Limits,
    secret: Option<Secret>,
    tls: Option<TlsClient>,
}

impl Builder {
    /// A client of the TCP server at `host:port`.
    pub fn tcp(host: impl Into<String>, port: u16) -> Self {
        Self::new(Address::Tcp {
            host: host.into(),
            port,
        })
    }

    /// A client of the server on the Unix-domain socket at `path` (Perl's
    /// ClientLite has no such option; IKC's event-loop client has).
    pub fn unix(path: impl Into<PathBuf>) -> Self {
        Self::new(Address::Unix(path.into()))
    }

    /// A client of the server at `address`.
    pub fn new(address: Address) -> Self {
        Self {
            address,
            name: None,
            freezers: Freezers::Default,
            protocol: Protocol::Ikc0,
            timeout: DEFAULT_TIMEOUT,
            connect_timeout: None,
            pid: None,
            limits: Limits::default(),
            secret: None,
            tls: None,
        }
    }

    /// The name the server knows us by (IKC's kernel name for this client):
    /// replies are addressed to `poe://NAME/IKCLite/...`. It must match
    /// `[-:.\w]+`.
    ///
    /// Two clients connected to one server must not share a name: the
    /// server keeps the first connection registered under it and sends the
    /// replies for both there. The default names are unique in the process
    /// for that reason.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Offer only this freezer: `IKC::Native`, `Storable` or
    /// `POE::Component::IKC::Freezer` (Perl's `serialiser`). Configured
    /// like Perl's ClientLite (same `name`, same freezer, same protocol),
    /// the client sends the same negotiation bytes as Perl's.
    ///
    /// An unknown name makes [`connect`](Self::connect) fail with
    /// [`LiteError::UnknownFreezer`].
    pub fn freezer(mut self, name: impl Into<String>) -> Self {
        self.freezers = Freezers::Named(name.into());
        self
    }

    /// Offer these freezers, in the registry's order (for codecs of your
    /// own, or another order).
    pub fn freezers(mut self, registry: Registry) -> Self {
        self.freezers = Freezers::Registry(registry);
        self
    }

    /// Which negotiation to start with. [`Protocol::Ikc0`] (the default)
    /// falls back to the old one by itself when the server answers `NOT`.
    pub fn protocol(mut self, protocol: Protocol) -> Self {
        self.protocol = protocol;
        self
    }

    /// How long each wait for a reply may take (`call`, `post_respond`,
    /// `responded`, `ping`), and how long a write may block.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// How long the TCP connect may take, and each phase of the
    /// negotiation (so a full fallback to IKC's old handshake may take
    /// several times this). Defaults to the [`timeout`](Self::timeout).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = Some(timeout);
        self
    }

    /// The process ID announced in IKC0's `SETUP` (default: this
    /// process's). Useful to reproduce a recorded conversation exactly.
    pub fn pid(mut self, pid: u32) -> Self {
        self.pid = Some(pid);
        self
    }

    /// Limits on what the server may send: longest negotiation line,
    /// largest frame, rejected lines. (The negotiation's overall time
    /// limit is derived from [`connect_timeout`](Self::connect_timeout).)
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Authenticate with the cluster's shared `secret` (see
    /// [`Secret::from_file`] for a `--secret-file`): ClientLite proves it
    /// and accepts only a server that proves it back. Needs
    /// [`Protocol::Ikc0`], the default.
    ///
    /// ```no_run
    /// use ikc_clientlite::{Builder, Secret};
    ///
    /// let mut poe = Builder::tcp("localhost", 31337)
    ///     .secret(Secret::from_file("/etc/ikc/secret")?)
    ///     .connect()?;
    /// # let _ = poe.ping();
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn secret(mut self, secret: Secret) -> Self {
        self.secret = Some(secret);
        self
    }

    /// Speak TLS, verifying the server with `tls` (from
    /// [`TlsClient::from_pem_files`]: the CA file, the server name to
    /// verify, and optionally a client certificate). TLS runs inside the
    /// channel, over whatever stream [`connect`](Self::connect) or
    /// [`connect_with`](Self::connect_with) opens.
    ///
    /// ```no_run
    /// use ikc_clientlite::{Builder, TlsClient};
    ///
    /// let tls = TlsClient::from_pem_files("ca.pem", "ikc.example.net", None)?;
    /// let mut poe = Builder::tcp("ikc.example.net", 31337).tls(tls).connect()?;
    /// # let _ = poe.ping();
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn tls(mut self, tls: TlsClient) -> Self {
        self.tls = Some(tls);
        self
    }

    /// Connect and negotiate (Perl's `spawn`).
    ///
    /// # Errors
    ///
    /// [`LiteError::Connect`] or [`LiteError::Timeout`] when the server
    /// cannot be reached, [`LiteError::Handshake`] when the negotiation
    /// fails (no freezer in common, ...), [`LiteError::Config`] or
    /// [`LiteError::UnknownFreezer`] for settings that cannot work.
    pub fn connect(self) -> Result<ClientLite, LiteError> {
        let write_timeout = self.timeout;
        let connector: Connector = Box::new(move |address, connect_timeout| {
            stream::open(address, connect_timeout, write_timeout)
        });
        ClientLite::start(self.into_settings()?, connector)
    }

    /// Connect through `connector`, which opens a stream to the address
    /// (within the connect timeout it is given) each time the client
    /// (re)connects: for a TLS stream, a tunnel, an in-memory pipe in
    /// tests. The address still names the server for relative specifiers
    /// over IKC's old handshake.
    ///
    /// # Errors
    ///
    /// As for [`connect`](Self::connect); an error from `connector` is a
    /// [`LiteError::Connect`] (a [`LiteError::Timeout`] if its kind is
    /// [`io::ErrorKind::TimedOut`]).
    pub fn connect_with<S, F>(self, mut connector: F) -> Result<ClientLite, LiteError>
    where
        S: BlockingStream + Send + 'static,
        F: FnMut(&Address, Duration) -> io::Result<S> + Send + 'static,
    {
        let connector: Connector = Box::new(move |address, timeout| {
            connector(address, timeout).map(|stream| Box::new(stream) as BoxedStream)
        });
        ClientLite::start(self.into_settings()?, connector)
    }

    /// The settings, checked, with the defaults filled in, for another
    /// driver of ClientLite's protocol (such as the tokio client in
    /// `ikc-clientlite-async`), which opens its channel from them with
    /// [`Settings::channel`].
    ///
    /// # Errors
    ///
    /// [`LiteError::UnknownFreezer`] for a [`freezer`](Self::freezer)
    /// name this crate does not have.
    pub fn into_settings(self) -> Result<Settings, LiteError> {
        let freezers = match self.freezers {
            Freezers::Default => {
                let mut registry = Registry::empty();
                registry.register(Arc::new(Native::new()));
                #[cfg(feature = "storable")]
                registry.register(Arc::new(ikc_freezer::Storable::new()));
                registry
            }
            Freezers::Named(name) => {
                let freezer = Registry::standard()
                    .get(&name)
                    .ok_or(LiteError::UnknownFreezer { name })?;
                let mut registry = Registry::empty();
                registry.register(freezer);
                registry
            }
            Freezers::Registry(registry) => registry,
        };
        Ok(Settings {
            address: self.address,
            name: self.name.unwrap_or_else(default_name),
            freezers,
            protocol: self.protocol,
            timeout: self.timeout,
            connect_timeout: self.connect_timeout.unwrap_or(self.timeout),
            pid: self.pid.unwrap_or_else(std::process::id),
            limits: self.limits,
            secret: self.secret,
            tls: self.tls,
        })
    }
}

/// `Client<pid>` as Perl's ClientLite, for the process's first client;
/// `Client<pid>-<n>` for the next ones, which would otherwise collide.
fn default_name() -> String {
    let pid = std::process::id();
    match DEFAULT_NAMES.fetch_add(1, Ordering::Relaxed) {
        0 => format!("Client{pid}"),
        n => format!("Client{pid}-{n}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_follow_perl() {
        let settings = Builder::tcp("localhost", 603).into_settings().unwrap();
        assert_eq!(settings.timeout, DEFAULT_TIMEOUT);
        assert_eq!(settings.connect_timeout, DEFAULT_TIMEOUT);
        assert_eq!(settings.protocol, Protocol::Ikc0);
        assert_eq!(settings.pid, std::process::id());
        assert_eq!(settings.freezers.names(), ["IKC::Native", "Storable"]);
        assert!(
            settings
                .name
                .starts_with(&format!("Client{}", std::process::id()))
        );

        let settings = Builder::tcp("h", 1)
            .timeout(Duration::from_secs(3))
            .into_settings()
            .unwrap();
        assert_eq!(
            settings.connect_timeout,
            Duration::from_secs(3),
            "follows timeout"
        );
        let settings = Builder::tcp("h", 1)
            .timeout(Duration::from_secs(3))
            .connect_timeout(Duration::from_secs(1))
            .freezer("POE::Component::IKC::Freezer")
            .into_settings()
            .unwrap();
        assert_eq!(settings.connect_timeout, Duration::from_secs(1));
        assert_eq!(settings.freezers.names(), ["POE::Component::IKC::Freezer"]);
    }

    #[test]
    fn default_names_are_unique_in_the_process() {
        let a = default_name();
        let b = default_name();
        assert_ne!(a, b);
        let pid = std::process::id().to_string();
        for name in [a, b] {
            assert!(name.starts_with("Client") && name.contains(&pid), "{name}");
        }
    }

    #[test]
    fn an_unknown_freezer_is_an_error() {
        let err = Builder::tcp("h", 1)
            .freezer("FreezeThaw")
            .into_settings()
            .unwrap_err();
        assert!(matches!(err, LiteError::UnknownFreezer { ref name } if name == "FreezeThaw"));
    }
}
