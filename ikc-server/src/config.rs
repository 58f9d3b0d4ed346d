//! [`ServerConfig`]: what a server listens on and how it talks.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use ikc_freezer::Registry;
use ikc_responder::{
    Authorizer, ConnectingPeer, ConnectionError, DEFAULT_CLOSE_TIMEOUT, DEFAULT_HIGH_WATER, Limits,
    LinkSecurity, OnError, Protocol, Secret, TlsServer,
};

/// Where and how a server listens (IKC::Server's parameters).
///
/// ```
/// use ikc_server::ServerConfig;
///
/// let config = ServerConfig::tcp("127.0.0.1", 0)   // port 0: pick one
///     .name("Server")
///     .aliases(["Srv"])
///     .concurrency(100);
/// assert_eq!(config.port, 0);
/// ```
#[non_exhaustive]
pub struct ServerConfig {
    /// The address to bind, an IP address (IKC's `ip`; `host` as in
    /// `ClientConfig`). Default `127.0.0.1`; Perl IKC's default, `0.0.0.0`,
    /// listens on every interface.
    #[doc(alias = "ip")]
    pub host: String,
    /// The port (IKC's `port`); 0 picks a free one, reported by
    /// [`Listening::port`](crate::Listening::port).
    pub port: u16,
    /// A Unix socket path to listen on instead of TCP (IKC's `unix`).
    pub unix: Option<PathBuf>,
    /// This kernel's name (IKC's `name`), announced to clients.
    pub name: Option<String>,
    /// More names for this kernel (IKC's `aliases`).
    pub aliases: Vec<String>,
    /// At most this many connections at once; 0 means no limit (IKC's
    /// `concurrency`). At the limit the server stops accepting, and
    /// resumes when a connection closes.
    pub concurrency: usize,
    /// The handshake clients must speak first (both are accepted when IKC0).
    pub protocol: Protocol,
    /// The freezers clients may choose from.
    pub freezers: Registry,
    /// Handshake and framing limits.
    pub limits: Limits,
    /// Close a connection when this many bytes wait for a peer that does not read.
    pub high_water: usize,
    /// How long a connection closing at shutdown may take to write what is
    /// queued (default 30 s); then it is closed anyway.
    pub close_timeout: Duration,
    /// Called with accept errors and with errors of connections that fail
    /// before their handshake ends (IKC's `on_error`).
    pub on_error: Option<OnError>,
    /// Shared secret, TLS and the authorization hook: set them with
    /// [`secret`](Self::secret), [`tls`](Self::tls) and
    /// [`authorize`](Self::authorize). None by default, and then the
    /// server speaks byte for byte as Perl IKC does.
    pub security: LinkSecurity,
    /// The routing weight of every connection this server accepts, fixed instead of measured (see
    /// [`link_weight`](Self::link_weight)); `None` (the default) derives
    /// it from the measured round trip.
    pub link_weight: Option<u32>,
}

impl fmt::Debug for ServerConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("unix", &self.unix)
            .field("name", &self.name)
            .field("aliases", &self.aliases)
            .field("concurrency", &self.concurrency)
            .field("protocol", &self.protocol)
            .field("freezers", &self.freezers.names())
            .field("limits", &self.limits)
            .field("high_water", &self.high_water)
            .field("close_timeout", &self.close_timeout)
            .field("on_error", &self.on_error.is_some())
            .field("security", &self.security)
            .field("link_weight", &self.link_weight)
            .finish_non_exhaustive()
    }
}

impl ServerConfig {
    /// Listen on TCP `host:port` (`host` an IP address: IKC's `ip`).
    pub fn tcp(host: impl Into<String>, port: u16) -> Self {
        Self {
            host: host.into(),
            port,
            unix: None,
            name: None,
            aliases: Vec::new(),
            concurrency: 0,
            protocol: Protocol::Ikc0,
            freezers: Registry::standard(),
            limits: Limits::default(),
            high_water: DEFAULT_HIGH_WATER,
            close_timeout: DEFAULT_CLOSE_TIMEOUT,
            on_error: None,
            security: LinkSecurity::default(),
            link_weight: None,
        }
    }

    /// Listen on a Unix socket at `path` (an old socket file there is removed).
    pub fn unix(path: impl Into<PathBuf>) -> Self {
        Self {
            unix: Some(path.into()),
            ..Self::tcp("127.0.0.1", 0)
        }
    }

    /// Set the kernel's name.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Set more names for the kernel.
    pub fn aliases<S: Into<String>>(mut self, aliases: impl IntoIterator<Item = S>) -> Self {
        self.aliases = aliases.into_iter().map(Into::into).collect();
        self
    }

    /// Limit concurrent connections (0: no limit).
    pub fn concurrency(mut self, n: usize) -> Self {
        self.concurrency = n;
        self
    }

    /// Set the handshake protocol.
    pub fn protocol(mut self, protocol: Protocol) -> Self {
        self.protocol = protocol;
        self
    }

    /// Set the freezers clients may choose from.
    pub fn freezers(mut self, freezers: Registry) -> Self {
        self.freezers = freezers;
        self
    }

    /// Set handshake and framing limits.
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Close a connection when more than `bytes` of output wait for a peer
    /// that does not read (default 64 MiB).
    pub fn high_water(mut self, bytes: usize) -> Self {
        self.high_water = bytes;
        self
    }

    /// Give a closing connection at most `timeout` to write what is queued.
    pub fn close_timeout(mut self, timeout: Duration) -> Self {
        self.close_timeout = timeout;
        self
    }

    /// Require every client to prove the shared `secret` (and prove it back):
    /// clients that do not offer it, such as Perl IKC kernels, are refused
    /// with a `REFUSED authentication required` line and a logged reason.
    /// Read the secret with [`Secret::from_file`] for a `--secret-file`.
    ///
    /// ```
    /// use ikc_server::{Secret, ServerConfig};
    ///
    /// let config = ServerConfig::tcp("127.0.0.1", 0).secret(Secret::new("cluster secret")?);
    /// # let _ = config;
    /// # Ok::<(), ikc_server::ConfigError>(())
    /// ```
    pub fn secret(mut self, secret: Secret) -> Self {
        self.security.secret = Some(secret);
        self.security.require_auth = true;
        self
    }

    /// With a [`secret`](Self::secret), still admit clients that do not
    /// offer authentication (Perl IKC kernels), unauthenticated: the
    /// [`authorize`](Self::authorize) hook sees `authenticated: false`
    /// and may refuse them by name or address.
    pub fn allow_unauthenticated(mut self) -> Self {
        self.security.require_auth = false;
        self
    }

    /// Speak TLS on this listener (made with [`TlsServer::from_pem_files`]
    /// from `--tls-cert` and `--tls-key`, optionally requiring client
    /// certificates). A kernel may run one server with TLS and another in
    /// clear, on two ports.
    pub fn tls(mut self, tls: TlsServer) -> Self {
        self.security.tls_server = Some(tls);
        self
    }

    /// Decide per connecting kernel (Lightspeed's `AUTHCLIENT`): `hook`
    /// sees its names, address, whether it authenticated and its TLS
    /// client certificate's subject, after the handshake checked them and
    /// before the kernel is registered; `Err(reason)` refuses it.
    ///
    /// ```
    /// use ikc_server::ServerConfig;
    ///
    /// let config = ServerConfig::tcp("127.0.0.1", 0)
    ///     .authorize(|peer| match peer.address {
    ///         Some(a) if a.starts_with("127.0.0.1:") => Ok(()),
    ///         _ => Err("only local kernels".to_owned()),
    ///     });
    /// # let _ = config;
    /// ```
    pub fn authorize(
        mut self,
        hook: impl Fn(&ConnectingPeer<'_>) -> Result<(), String> + Send + Sync + 'static,
    ) -> Self {
        self.security.authorizer = Some(Authorizer::new(hook));
        self
    }

    /// Fix the routing weight of the links of the kernels that connect to this server instead of deriving it from the
    /// measured round trip. The mesh sends a message along the path whose
    /// links weigh least in total; a link measured on loopback weighs
    /// about 100 (100 plus one per 100 µs of smoothed round trip). A large
    /// weight keeps traffic off a link while another path exists (a backup
    /// link); a small one draws it there. The kernel at the other end takes
    /// the same weight, unless it fixes one itself: then the larger counts.
    ///
    /// ```
    /// use ikc_server::ServerConfig;
    ///
    /// let config = ServerConfig::tcp("127.0.0.1", 0).link_weight(1000);
    /// assert_eq!(config.link_weight, Some(1000));
    /// ```
    pub fn link_weight(mut self, weight: u32) -> Self {
        self.link_weight = Some(weight.max(1));
        self
    }

    /// Call `f` with accept errors and failed handshakes.
    pub fn on_error(
        mut self,
        f: impl FnMut(&mut ikc_core::Ctx<'_>, &ConnectionError) + 'static,
    ) -> Self {
        self.on_error = Some(Box::new(f));
        self
    }
}
