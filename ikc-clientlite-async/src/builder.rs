//! [`Builder`]: the async client's settings, ClientLite's own.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use ikc_channel::{Limits, Protocol, Secret, TlsClient};
use ikc_clientlite::protocol::Settings;
use ikc_clientlite::{Address, LiteError};
use ikc_freezer::Registry;

use crate::client::AsyncClientLite;

/// How many default names this process has handed out.
static DEFAULT_NAMES: AtomicU32 = AtomicU32::new(0);

/// How to connect: the server's address and the settings of
/// [`ikc_clientlite::Builder`], which this wraps, with the same names and
/// defaults (`timeout` 30 s, `connect_timeout` the timeout, IKC0 with a
/// fallback to IKC, `IKC::Native` then `Storable` offered, no secret, no
/// TLS). Only the default name differs: `AsyncClient<pid>`.
///
/// # Examples
///
/// ```no_run
/// # #[allow(dead_code)]
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use std::time::Duration;
///
/// use ikc_clientlite_async::{Builder, Secret, TlsClient};
///
/// let poe = Builder::tcp("ikc.example.net", 31337)
///     .name("AsyncClient")
///     .timeout(Duration::from_secs(5))
///     .secret(Secret::from_file("/etc/ikc/secret")?)
///     .tls(TlsClient::from_pem_files("ca.pem", "ikc.example.net", None)?)
///     .connect()
///     .await?;
/// poe.post("test/here", 7).await?;
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
#[must_use = "a Builder does nothing until `connect` is called"]
pub struct Builder {
    inner: ikc_clientlite::Builder,
    /// A name was given (otherwise `AsyncClient<pid>` is).
    named: bool,
}

impl Builder {
    /// A client of the TCP server at `host:port`. The host name is
    /// resolved by tokio, off the runtime's worker threads.
    pub fn tcp(host: impl Into<String>, port: u16) -> Self {
        Self::wrap(ikc_clientlite::Builder::tcp(host, port))
    }

    /// A client of the server on the Unix-domain socket at `path`.
    pub fn unix(path: impl Into<PathBuf>) -> Self {
        Self::wrap(ikc_clientlite::Builder::unix(path))
    }

    /// A client of the server at `address`.
    pub fn new(address: Address) -> Self {
        Self::wrap(ikc_clientlite::Builder::new(address))
    }

    fn wrap(inner: ikc_clientlite::Builder) -> Self {
        Self {
            inner,
            named: false,
        }
    }

    fn with(self, set: impl FnOnce(ikc_clientlite::Builder) -> ikc_clientlite::Builder) -> Self {
        Self {
            inner: set(self.inner),
            ..self
        }
    }

    /// The name the server knows us by: replies are addressed to
    /// `poe://NAME/IKCLite/...`. As [`ikc_clientlite::Builder::name`]: it
    /// must match `[-:.\w]+`, and two clients of one server need two names
    /// (the defaults are unique in the process).
    pub fn name(self, name: impl Into<String>) -> Self {
        let mut builder = self.with(|b| b.name(name));
        builder.named = true;
        builder
    }

    /// Offer only the freezer of this name (`IKC::Native`, `Storable` or
    /// `POE::Component::IKC::Freezer`): Perl's `serialiser`.
    pub fn freezer(self, name: impl Into<String>) -> Self {
        self.with(|b| b.freezer(name))
    }

    /// Offer the freezers of `registry`, in its order.
    pub fn freezers(self, registry: Registry) -> Self {
        self.with(|b| b.freezers(registry))
    }

    /// The handshake to start with ([`Protocol::Ikc0`] falls back to IKC).
    pub fn protocol(self, protocol: Protocol) -> Self {
        self.with(|b| b.protocol(protocol))
    }

    /// How long a call waits for its reply (and a post for its write).
    pub fn timeout(self, timeout: Duration) -> Self {
        self.with(|b| b.timeout(timeout))
    }

    /// How long connecting, and each phase of the negotiation, may take.
    pub fn connect_timeout(self, timeout: Duration) -> Self {
        self.with(|b| b.connect_timeout(timeout))
    }

    /// The process id announced to the server (default: this process's).
    pub fn pid(self, pid: u32) -> Self {
        self.with(|b| b.pid(pid))
    }

    /// Limits on what the server may send (frame and line sizes).
    pub fn limits(self, limits: Limits) -> Self {
        self.with(|b| b.limits(limits))
    }

    /// Authenticate with the cluster's shared `secret`, as
    /// [`ikc_clientlite::Builder::secret`]: the client proves it and
    /// accepts only a server that proves it back. Needs
    /// [`Protocol::Ikc0`], the default.
    pub fn secret(self, secret: Secret) -> Self {
        self.with(|b| b.secret(secret))
    }

    /// Speak TLS, verifying the server with `tls`, as
    /// [`ikc_clientlite::Builder::tls`]. TLS runs inside `ikc-channel`'s
    /// channel, over the tokio stream.
    pub fn tls(self, tls: TlsClient) -> Self {
        self.with(|b| b.tls(tls))
    }

    /// Connect and negotiate, and start the task that drives the
    /// connection (on the current tokio runtime).
    ///
    /// # Errors
    ///
    /// As [`ikc_clientlite::Builder::connect`]: [`LiteError::Connect`] or
    /// [`LiteError::Timeout`] when the server cannot be reached,
    /// [`LiteError::Handshake`] when the negotiation fails (no freezer in
    /// common, a wrong secret, a server whose certificate does not
    /// verify...), [`LiteError::Config`] or [`LiteError::UnknownFreezer`]
    /// for settings that cannot work.
    ///
    /// # Panics
    ///
    /// Outside a tokio runtime.
    pub async fn connect(self) -> Result<AsyncClientLite, LiteError> {
        AsyncClientLite::start(self.settings()?).await
    }

    pub(crate) fn settings(self) -> Result<Settings, LiteError> {
        let inner = if self.named {
            self.inner
        } else {
            self.inner.name(default_name())
        };
        inner.into_settings()
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
        assert_eq!(settings.timeout(), Duration::from_secs(30));
        assert_eq!(settings.connect_timeout(), Duration::from_secs(30));
        assert_eq!(settings.protocol(), Protocol::Ikc0);
        assert_eq!(settings.freezers().names(), ["IKC::Native", "Storable"]);
        assert!(
            settings.name().starts_with("AsyncClient"),
            "{}",
            settings.name()
        );
        let other = Builder::tcp("localhost", 603).settings().unwrap();
        assert_ne!(settings.name(), other.name());
        let named = Builder::tcp("localhost", 603)
            .name("Mine")
            .settings()
            .unwrap();
        assert_eq!(named.name(), "Mine");
        let settings = Builder::tcp("h", 1)
            .timeout(Duration::from_secs(3))
            .freezer("Storable")
            .settings()
            .unwrap();
        assert_eq!(settings.connect_timeout(), Duration::from_secs(3));
        assert_eq!(settings.freezers().names(), ["Storable"]);
        let err = Builder::tcp("h", 1).freezer("YAML").settings().unwrap_err();
        assert!(matches!(err, LiteError::UnknownFreezer { ref name } if name == "YAML"));
    }
}
