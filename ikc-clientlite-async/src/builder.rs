//! [`Builder`]: the async client's settings, with ClientLite's defaults.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use ikc_channel::{Limits, Protocol};
use ikc_clientlite::{Address, LiteError};
use ikc_freezer::{Native, Registry, Storable};

use crate::client::AsyncClientLite;

/// Perl's default for both timeouts.
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// How many default names this process has handed out.
static DEFAULT_NAMES: AtomicU32 = AtomicU32::new(0);

/// What a client was built with.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    pub(crate) address: Address,
    pub(crate) name: String,
    pub(crate) freezers: Registry,
    pub(crate) protocol: Protocol,
    pub(crate) timeout: Duration,
    pub(crate) connect_timeout: Duration,
    pub(crate) pid: u32,
    pub(crate) limits: Limits,
}

/// How to connect: the server's address and the settings of
/// [`ikc_clientlite::Builder`], with the same names and defaults
/// (`timeout` 30 s, `connect_timeout` the timeout, IKC0 with a fallback to
/// IKC, `IKC::Native` then `Storable` offered).
///
/// # Examples
///
/// ```no_run
/// # #[allow(dead_code)]
/// # async fn run() -> Result<(), ikc_clientlite::LiteError> {
/// use std::time::Duration;
///
/// use ikc_clientlite_async::Builder;
///
/// let poe = Builder::tcp("localhost", 31337)
///     .name("AsyncClient")
///     .timeout(Duration::from_secs(5))
///     .connect()
///     .await?;
/// poe.post("test/here", 7).await?;
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
#[must_use = "a Builder does nothing until `connect` is called"]
pub struct Builder {
    address: Address,
    name: Option<String>,
    freezers: Option<Result<Registry, String>>,
    protocol: Protocol,
    timeout: Duration,
    connect_timeout: Option<Duration>,
    pid: Option<u32>,
    limits: Limits,
}

impl Builder {
    /// A client of the TCP server at `host:port`. The host name is
    /// resolved by tokio, off the runtime's worker threads.
    pub fn tcp(host: impl Into<String>, port: u16) -> Self {
        Self::new(Address::Tcp {
            host: host.into(),
            port,
        })
    }

    /// A client of the server on the Unix-domain socket at `path`.
    pub fn unix(path: impl Into<PathBuf>) -> Self {
        Self::new(Address::Unix(path.into()))
    }

    /// A client of the server at `address`.
    pub fn new(address: Address) -> Self {
        Self {
            address,
            name: None,
            freezers: None,
            protocol: Protocol::Ikc0,
            timeout: DEFAULT_TIMEOUT,
            connect_timeout: None,
            pid: None,
            limits: Limits::default(),
        }
    }

    /// The name the server knows us by: replies are addressed to
    /// `poe://NAME/IKCLite/...`. It must match `[-:.\w]+`, and two clients
    /// of one server need two names (the defaults are unique in the
    /// process).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Offer only the freezer of this name (`IKC::Native`, `Storable` or
    /// `POE::Component::IKC::Freezer`): Perl's `serialiser`.
    pub fn freezer(mut self, name: impl Into<String>) -> Self {
        let name = name.into();
        self.freezers = Some(
            Registry::standard()
                .get(&name)
                .map(|freezer| {
                    let mut registry = Registry::empty();
                    registry.register(freezer);
                    registry
                })
                .ok_or(name),
        );
        self
    }

    /// Offer the freezers of `registry`, in its order.
    pub fn freezers(mut self, registry: Registry) -> Self {
        self.freezers = Some(Ok(registry));
        self
    }

    /// The handshake to start with ([`Protocol::Ikc0`] falls back to IKC).
    pub fn protocol(mut self, protocol: Protocol) -> Self {
        self.protocol = protocol;
        self
    }

    /// How long a call waits for its reply (and a post for its write).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// How long connecting, and each phase of the negotiation, may take.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = Some(timeout);
        self
    }

    /// The process id announced to the server (default: this process's).
    pub fn pid(mut self, pid: u32) -> Self {
        self.pid = Some(pid);
        self
    }

    /// Limits on what the server may send (frame and line sizes).
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// Connect and negotiate, and start the task that drives the
    /// connection (on the current tokio runtime).
    ///
    /// # Errors
    ///
    /// As [`ikc_clientlite::Builder::connect`]: [`LiteError::Connect`] or
    /// [`LiteError::Timeout`] when the server cannot be reached,
    /// [`LiteError::Handshake`] when the negotiation fails,
    /// [`LiteError::Config`] or [`LiteError::UnknownFreezer`] for settings
    /// that cannot work.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime.
    pub async fn connect(self) -> Result<AsyncClientLite, LiteError> {
        AsyncClientLite::start(self.settings()?).await
    }

    pub(crate) fn settings(self) -> Result<Settings, LiteError> {
        let freezers = match self.freezers {
            None => {
                let mut registry = Registry::empty();
                registry.register(Arc::new(Native::new()));
                registry.register(Arc::new(Storable::new()));
                registry
            }
            Some(Ok(registry)) => registry,
            Some(Err(name)) => return Err(LiteError::UnknownFreezer { name }),
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
        })
    }
}

/// `AsyncClient<pid>` for the process's first client, then
/// `AsyncClient<pid>-<n>`: unique in the process, and apart from the
/// blocking ClientLite's `Client<pid>` names.
fn default_name() -> String {
    let pid = std::process::id();
    match DEFAULT_NAMES.fetch_add(1, Ordering::Relaxed) {
        0 => format!("AsyncClient{pid}"),
        n => format!("AsyncClient{pid}-{n}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_follow_clientlite() {
        let settings = Builder::tcp("localhost", 603).settings().unwrap();
        assert_eq!(settings.timeout, DEFAULT_TIMEOUT);
        assert_eq!(settings.connect_timeout, DEFAULT_TIMEOUT);
        assert_eq!(settings.protocol, Protocol::Ikc0);
        assert_eq!(settings.freezers.names(), ["IKC::Native", "Storable"]);
        let other = Builder::tcp("localhost", 603).settings().unwrap();
        assert_ne!(settings.name, other.name);
        let settings = Builder::tcp("h", 1)
            .timeout(Duration::from_secs(3))
            .freezer("Storable")
            .settings()
            .unwrap();
        assert_eq!(settings.connect_timeout, Duration::from_secs(3));
        assert_eq!(settings.freezers.names(), ["Storable"]);
        let err = Builder::tcp("h", 1).freezer("YAML").settings().unwrap_err();
        assert!(matches!(err, LiteError::UnknownFreezer { ref name } if name == "YAML"));
    }
}
