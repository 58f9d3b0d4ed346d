//! [`ClientConfig`]: where a client connects and how it talks.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use ikc_core::Ctx;
use ikc_freezer::{DUMPER, NATIVE, STORABLE};
use ikc_responder::{
    ConnectionError, DEFAULT_CLOSE_TIMEOUT, DEFAULT_HIGH_WATER, Limits, LinkSecurity, Protocol,
    Secret, TlsClient,
};

/// Called each time the client is connected and subscribed (IKC's `on_connect`).
pub type OnConnect = Box<dyn FnMut(&mut Ctx<'_>)>;

/// Called with connection errors: failed connects, and channels that fail
/// before their handshake ends (IKC's `on_error`).
pub type OnError = Box<dyn FnMut(&mut Ctx<'_>, &ConnectionError)>;

/// Reconnect after a lost or failed connection, waiting longer each time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Reconnect {
    /// The first wait.
    pub initial: Duration,
    /// The longest wait (the wait doubles up to this). Each wait is drawn
    /// at random between half of the current one and all of it (jitter),
    /// so that clients of a restarted server do not all come back at once.
    pub max: Duration,
    /// Give up after this many attempts in a row (`None`: never).
    pub attempts: Option<u32>,
}

impl Default for Reconnect {
    fn default() -> Self {
        Self {
            initial: Duration::from_millis(100),
            max: Duration::from_secs(10),
            attempts: None,
        }
    }
}

/// Where and how a client connects (IKC::Client's parameters).
///
/// ```
/// use ikc_client::ClientConfig;
///
/// let config = ClientConfig::tcp("127.0.0.1", 31337)
///     .name("Client")
///     .subscribe(["poe://Server/test"]);
/// assert_eq!(config.subscribe, ["poe://Server/test"]);
/// ```
#[non_exhaustive]
pub struct ClientConfig {
    /// The host to connect to: an IP address or a name (IKC's `ip`).
    pub host: String,
    /// The TCP port (IKC's `port`).
    pub port: u16,
    /// Addresses to try in order instead of resolving `host` (which is
    /// then only the name the server is registered under, with `port`).
    /// Either way, every address is tried until one accepts.
    pub addresses: Vec<std::net::SocketAddr>,
    /// A Unix socket path to connect to instead (IKC's `unix`).
    pub unix: Option<PathBuf>,
    /// This kernel's name, announced to the server (IKC's `name`;
    /// default `Client<pid>`).
    pub name: String,
    /// More names for this kernel (IKC's `aliases`).
    pub aliases: Vec<String>,
    /// Called when connected and every subscription succeeded.
    pub on_connect: Option<OnConnect>,
    /// Called with connection errors.
    pub on_error: Option<OnError>,
    /// Remote sessions to subscribe to before `on_connect` (IKC's `subscribe`).
    pub subscribe: Vec<String>,
    /// Freezers to offer, most wanted first, by name (IKC's `serializers`). The
    /// default offers the native codec, then Storable, then IKC's Dumper
    /// freezer: a Rust server picks the first, a Perl server Storable.
    #[doc(alias = "serializers")]
    pub freezers: Vec<String>,
    /// The handshake to use; IKC0 falls back to IKC by itself.
    pub protocol: Protocol,
    /// How long connecting may take (the handshake has its own limit in `limits`).
    pub connect_timeout: Duration,
    /// Handshake and framing limits.
    pub limits: Limits,
    /// Close the connection when this many bytes wait for a server that does not read.
    pub high_water: usize,
    /// How long the connection, closing at shutdown, may take to write what
    /// is queued (default 30 s); then it is closed anyway.
    pub close_timeout: Duration,
    /// Reconnect when the connection fails or is lost (off by default, as in IKC).
    pub reconnect: Option<Reconnect>,
    /// Shared secret and TLS: set them with [`secret`](Self::secret) and
    /// [`tls`](Self::tls). None by default (IKC as Perl speaks it).
    pub security: LinkSecurity,
    /// The routing weight of this client's connection, fixed instead of measured (see
    /// [`link_weight`](Self::link_weight)); `None` (the default) derives
    /// it from the measured round trip.
    pub link_weight: Option<u32>,
}

impl fmt::Debug for ClientConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("addresses", &self.addresses)
            .field("unix", &self.unix)
            .field("name", &self.name)
            .field("aliases", &self.aliases)
            .field("subscribe", &self.subscribe)
            .field("freezers", &self.freezers)
            .field("protocol", &self.protocol)
            .field("connect_timeout", &self.connect_timeout)
            .field("limits", &self.limits)
            .field("high_water", &self.high_water)
            .field("close_timeout", &self.close_timeout)
            .field("reconnect", &self.reconnect)
            .field("on_connect", &self.on_connect.is_some())
            .field("on_error", &self.on_error.is_some())
            .field("security", &self.security)
            .field("link_weight", &self.link_weight)
            .finish_non_exhaustive()
    }
}

impl ClientConfig {
    /// Connect to TCP `host:port`.
    pub fn tcp(host: impl Into<String>, port: u16) -> Self {
        Self {
            host: host.into(),
            port,
            addresses: Vec::new(),
            unix: None,
            name: format!("Client{}", std::process::id()),
            aliases: Vec::new(),
            on_connect: None,
            on_error: None,
            subscribe: Vec::new(),
            freezers: vec![NATIVE.to_owned(), STORABLE.to_owned(), DUMPER.to_owned()],
            protocol: Protocol::Ikc0,
            connect_timeout: Duration::from_secs(30),
            limits: Limits::default(),
            high_water: DEFAULT_HIGH_WATER,
            close_timeout: DEFAULT_CLOSE_TIMEOUT,
            reconnect: None,
            security: LinkSecurity::default(),
            link_weight: None,
        }
    }

    /// Authenticate with the cluster's shared `secret` (read one with
    /// [`Secret::from_file`] for a `--secret-file`): the client offers
    /// authentication, proves the secret, and accepts only a server that
    /// proves it too. A Perl IKC server cannot, so the client refuses it
    /// (after the Perl server's handshake is over, which Perl handles as an
    /// ordinary disconnect). Needs [`Protocol::Ikc0`], the default.
    ///
    /// ```
    /// use ikc_client::{ClientConfig, Secret};
    ///
    /// let config = ClientConfig::tcp("127.0.0.1", 603).secret(Secret::new("cluster secret")?);
    /// # let _ = config;
    /// # Ok::<(), ikc_client::ConfigError>(())
    /// ```
    pub fn secret(mut self, secret: Secret) -> Self {
        self.security.secret = Some(secret);
        self
    }

    /// Speak TLS, verifying the server with `tls` (made with
    /// [`TlsClient::from_pem_files`] from `--tls-ca`, the name to verify,
    /// and optionally a client certificate).
    pub fn tls(mut self, tls: TlsClient) -> Self {
        self.security.tls_client = Some(tls);
        self
    }

    /// Connect to the Unix socket at `path`.
    pub fn unix(path: impl Into<PathBuf>) -> Self {
        Self {
            unix: Some(path.into()),
            ..Self::tcp("", 0)
        }
    }

    /// Try these addresses in order (for example a server's replicas, or
    /// both families of a dual-stack host) instead of resolving `host`.
    pub fn addresses(mut self, addresses: impl IntoIterator<Item = std::net::SocketAddr>) -> Self {
        self.addresses = addresses.into_iter().collect();
        self
    }

    /// Set this kernel's name.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// Set more names for this kernel.
    pub fn aliases<S: Into<String>>(mut self, aliases: impl IntoIterator<Item = S>) -> Self {
        self.aliases = aliases.into_iter().map(Into::into).collect();
        self
    }

    /// Subscribe to these remote sessions before `on_connect`.
    pub fn subscribe<S: Into<String>>(mut self, specs: impl IntoIterator<Item = S>) -> Self {
        self.subscribe = specs.into_iter().map(Into::into).collect();
        self
    }

    /// Offer these freezers, most wanted first.
    #[doc(alias = "serializers")]
    pub fn freezers<S: Into<String>>(mut self, names: impl IntoIterator<Item = S>) -> Self {
        self.freezers = names.into_iter().map(Into::into).collect();
        self
    }

    /// Set the handshake protocol.
    pub fn protocol(mut self, protocol: Protocol) -> Self {
        self.protocol = protocol;
        self
    }

    /// Set the connect timeout.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Close the connection when more than `bytes` of output wait for a
    /// server that does not read (default 64 MiB).
    pub fn high_water(mut self, bytes: usize) -> Self {
        self.high_water = bytes;
        self
    }

    /// Give a closing connection at most `timeout` to write what is queued.
    pub fn close_timeout(mut self, timeout: Duration) -> Self {
        self.close_timeout = timeout;
        self
    }

    /// Reconnect with backoff when the connection fails or is lost.
    pub fn reconnect(mut self, reconnect: Reconnect) -> Self {
        self.reconnect = Some(reconnect);
        self
    }

    /// Fix the routing weight of this client's link instead of deriving it from the
    /// measured round trip. The mesh sends a message along the path whose
    /// links weigh least in total; a link measured on loopback weighs
    /// about 100 (100 plus one per 100 µs of smoothed round trip). A large
    /// weight keeps traffic off a link while another path exists (a backup
    /// link); a small one draws it there. The kernel at the other end takes
    /// the same weight, unless it fixes one itself: then the larger counts.
    ///
    /// ```
    /// use ikc_client::ClientConfig;
    ///
    /// let config = ClientConfig::tcp("127.0.0.1", 31337).link_weight(1000);
    /// assert_eq!(config.link_weight, Some(1000));
    /// ```
    pub fn link_weight(mut self, weight: u32) -> Self {
        self.link_weight = Some(weight.max(1));
        self
    }

    /// Call `f` each time the client is connected and subscribed.
    pub fn on_connect(mut self, f: impl FnMut(&mut Ctx<'_>) + 'static) -> Self {
        self.on_connect = Some(Box::new(f));
        self
    }

    /// Call `f` with connection errors.
    pub fn on_error(mut self, f: impl FnMut(&mut Ctx<'_>, &ConnectionError) + 'static) -> Self {
        self.on_error = Some(Box::new(f));
        self
    }
}
