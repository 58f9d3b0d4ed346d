//! [`NatsConfig`]: where the bus is and how the kernel appears on it.

use std::path::PathBuf;
use std::time::Duration;

use ikc_freezer::NATIVE;

use crate::subject::DEFAULT_PREFIX;

/// The default heartbeat interval of presence records.
pub const DEFAULT_HEARTBEAT: Duration = Duration::from_secs(1);

/// How a kernel attaches to NATS.
///
/// ```
/// let config = ikc_nats::NatsConfig::new("nats://127.0.0.1:4222,nats://127.0.0.1:4223")
///     .name("Server")
///     .alias("Srv");
/// assert_eq!(config.servers().len(), 2);
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct NatsConfig {
    pub(crate) servers: Vec<String>,
    pub(crate) name: Option<String>,
    pub(crate) aliases: Vec<String>,
    pub(crate) prefix: String,
    pub(crate) freezer: String,
    pub(crate) heartbeat: Duration,
    pub(crate) connect_timeout: Duration,
    pub(crate) credentials: Option<PathBuf>,
    pub(crate) token: Option<String>,
    pub(crate) user_password: Option<(String, String)>,
    pub(crate) root_certificates: Vec<PathBuf>,
    pub(crate) client_certificate: Option<(PathBuf, PathBuf)>,
    pub(crate) require_tls: bool,
}

impl NatsConfig {
    /// Attach to these servers: `nats://host:port` (or `tls://...`),
    /// several separated by commas for failover. The client also learns
    /// the other servers of a cluster from the one it reaches.
    pub fn new(servers: &str) -> Self {
        Self {
            servers: servers
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
            name: None,
            aliases: Vec::new(),
            prefix: DEFAULT_PREFIX.to_owned(),
            freezer: NATIVE.to_owned(),
            heartbeat: DEFAULT_HEARTBEAT,
            connect_timeout: Duration::from_secs(5),
            credentials: None,
            token: None,
            user_password: None,
            root_certificates: Vec::new(),
            client_certificate: None,
            require_tls: false,
        }
    }

    /// The servers.
    pub fn servers(&self) -> &[String] {
        &self.servers
    }

    /// The kernel's name on the bus: its subjects are
    /// `<prefix>.<name>.<session>.<state>`. Default: the kernel's ID. The
    /// kernel also answers to this name locally (as a server's `name`).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// One more name the kernel answers to on the bus.
    pub fn alias(mut self, alias: impl Into<String>) -> Self {
        self.aliases.push(alias.into());
        self
    }

    /// The first token(s) of every subject (default `ikc`).
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// The freezer IKC messages travel in between kernels (default the
    /// native codec, `IKC::Native`; `Storable` and
    /// `POE::Component::IKC::Freezer` work too). Each message names its
    /// freezer in a header, so kernels configured differently still
    /// understand each other.
    pub fn freezer(mut self, name: impl Into<String>) -> Self {
        self.freezer = name.into();
        self
    }

    /// How often the kernel announces itself (default 1 s). Others take it
    /// as gone after three intervals without a word from it.
    pub fn heartbeat(mut self, interval: Duration) -> Self {
        self.heartbeat = interval.max(Duration::from_millis(1));
        self
    }

    /// How long the first connection may take (default 5 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Authenticate with a NATS credentials file (JWT and NKey seed).
    pub fn credentials_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.credentials = Some(path.into());
        self
    }

    /// Authenticate with a token.
    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(token.into());
        self
    }

    /// Authenticate with a user name and password.
    pub fn user_password(mut self, user: impl Into<String>, password: impl Into<String>) -> Self {
        self.user_password = Some((user.into(), password.into()));
        self
    }

    /// Trust the CA certificates in this PEM file for TLS.
    pub fn root_certificates(mut self, pem: impl Into<PathBuf>) -> Self {
        self.root_certificates.push(pem.into());
        self
    }

    /// Present this client certificate and key (PEM files) over TLS.
    pub fn client_certificate(mut self, cert: impl Into<PathBuf>, key: impl Into<PathBuf>) -> Self {
        self.client_certificate = Some((cert.into(), key.into()));
        self
    }

    /// Refuse to talk to a server without TLS.
    pub fn require_tls(mut self, required: bool) -> Self {
        self.require_tls = required;
        self
    }
}
