//! What each side of a channel announces and accepts, and the limits it
//! enforces.

use std::time::Duration;

use ikc_freezer::Registry;

use crate::auth::{Authorizer, Secret};
use crate::error::ConfigError;
use crate::tls::{TlsClient, TlsServer};

/// Which end of the connection a [`Channel`](crate::Channel) is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    /// The side that connected (IKC::Client, ClientLite).
    Client,
    /// The side that accepted (IKC::Server).
    Server,
}

/// IKC's two negotiation protocols.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Protocol {
    /// `IKC0`, the default of IKC 0.2402: the client sends one `SETUP` line
    /// and the server answers with one. A client falls back to [`Ikc`](Self::Ikc)
    /// by itself when the server answers `NOT`; a server accepts both.
    #[default]
    Ikc0,
    /// `IKC`, the original line-by-line dialogue (`HELLO`, `IAM`, `OK`,
    /// `DONE`, `FREEZER`, `WORLD`, `UP`). A server configured with it
    /// answers `NOT` to `SETUP`, as Perl's does.
    Ikc,
}

impl Protocol {
    /// The name IKC uses for it (`IKC0` or `IKC`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ikc0 => "IKC0",
            Self::Ikc => "IKC",
        }
    }
}

/// Bounds on what the peer may make a channel do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// Longest negotiation line, in bytes without its line end
    /// (default 4 KiB; Perl's lines are under 200 bytes).
    pub max_line_len: usize,
    /// Largest frame payload, in bytes (default 16 MiB).
    pub max_frame_len: usize,
    /// Time allowed from the channel's creation to the end of negotiation
    /// (default 30 s, ClientLite's connect timeout).
    pub handshake_timeout: Duration,
    /// How many negotiation lines may be rejected (answered `NOT`, or
    /// ignored as IKC ignores them) before the channel gives up (default 16).
    pub max_rejected_lines: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_line_len: 4 * 1024,
            max_frame_len: 16 * 1024 * 1024,
            handshake_timeout: Duration::from_secs(30),
            max_rejected_lines: 16,
        }
    }
}

/// The names a side announces, as IKC::Channel builds them.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Identity {
    /// The kernel's globally unique ID (POE's `$kernel->ID`, such as
    /// `host-6b01b142-00000a62-00000001`), announced first. ClientLite,
    /// which has no kernel, announces its `name` here and nothing else.
    pub kernel_id: String,
    /// The other names, in IKC::Channel's order: the server's or client's
    /// `name`, its `aliases`, then the local end of the socket, which the
    /// driver supplies (`ip:port`, or `unix:path` with characters other than
    /// `-:.\w` turned into `_`; a Unix client appends `:pid-fd`).
    pub names: Vec<String>,
    /// Our process ID, sent in `SETUP` (`PID=n`).
    pub pid: u32,
}

impl Identity {
    /// An identity with a kernel ID, no other names, and this process's ID.
    pub fn new(kernel_id: impl Into<String>) -> Self {
        Self {
            kernel_id: kernel_id.into(),
            names: Vec::new(),
            pid: std::process::id(),
        }
    }

    /// Add a name (builder style).
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.names.push(name.into());
        self
    }

    /// Set the PID (builder style).
    pub fn with_pid(mut self, pid: u32) -> Self {
        self.pid = pid;
        self
    }

    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        for name in std::iter::once(&self.kernel_id).chain(&self.names) {
            if !is_announceable_name(name) {
                return Err(ConfigError::BadKernelName(name.clone()));
            }
        }
        Ok(())
    }
}

/// How the connecting side of a [`Channel`](crate::Channel) negotiates.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ClientChannelConfig {
    /// What we announce.
    pub identity: Identity,
    /// The freezers we offer, in order of preference (the registry's order).
    pub freezers: Registry,
    /// Which handshake to start with ([`Protocol::Ikc0`] falls back by itself).
    pub protocol: Protocol,
    /// The name we know the server by: the `host:port` (or `unix:path`) we
    /// connected to. IKC registers it as one more alias of the server.
    pub peer_address: Option<String>,
    /// Limits on what the server may make us do.
    pub limits: Limits,
    /// The cluster's shared secret. With one, the client offers
    /// authentication in its `SETUP` and accepts only a server that proves
    /// the same secret (needs [`Protocol::Ikc0`]).
    pub secret: Option<Secret>,
    /// Run the channel over TLS, verifying the server with this.
    pub tls: Option<TlsClient>,
}

impl ClientChannelConfig {
    /// A client configuration with the default protocol (IKC0) and limits,
    /// no secret and no TLS.
    pub fn new(identity: Identity, freezers: Registry) -> Self {
        Self {
            identity,
            freezers,
            protocol: Protocol::default(),
            peer_address: None,
            limits: Limits::default(),
            secret: None,
            tls: None,
        }
    }

    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        self.identity.validate()?;
        validate_freezers(&self.freezers)?;
        if self.secret.is_some() && self.protocol != Protocol::Ikc0 {
            return Err(ConfigError::AuthNeedsIkc0);
        }
        Ok(())
    }
}

/// How the accepting side of a [`Channel`](crate::Channel) negotiates.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ServerChannelConfig {
    /// What we announce.
    pub identity: Identity,
    /// The freezers we accept; the client's first offer found here wins.
    /// When the client gives up offering (IKC's old handshake), `Storable`
    /// is used if it is here, as Perl does.
    pub freezers: Registry,
    /// [`Protocol::Ikc0`] accepts both handshakes; [`Protocol::Ikc`] answers
    /// `NOT` to `SETUP`.
    pub protocol: Protocol,
    /// The name we know the client by: its `ip:port` as the socket reports
    /// it. IKC registers it as one more alias of the client (Perl does not
    /// for Unix sockets: leave it `None` there).
    pub peer_address: Option<String>,
    /// Limits on what the client may make us do.
    pub limits: Limits,
    /// More names announced in IKC0's `SETUP` answer, after our own, to a
    /// client that did not offer the native codec (a Perl kernel): the
    /// kernels of a mesh it may reach through us, which it then registers
    /// as names of this channel. A client offering the native codec (a Rust
    /// kernel, which routes by itself) and IKC's old handshake (where the
    /// server announces its names before it knows the client) get our own
    /// names only.
    pub names_for_foreign_clients: Vec<String>,
    /// The cluster's shared secret: a client that offers authentication
    /// must prove it, and we prove it back.
    pub secret: Option<Secret>,
    /// Refuse clients that do not offer authentication (Perl IKC kernels,
    /// kernels without the secret), with a `REFUSED` line saying why. When
    /// false, such clients are admitted unauthenticated (the authorization
    /// hook sees `authenticated: false`) and the server answers them byte
    /// for byte as a server without a secret does.
    pub require_auth: bool,
    /// Run the channel over TLS with this certificate (and client
    /// certificate policy).
    pub tls: Option<TlsServer>,
    /// Decide, per connecting kernel, whether to admit it.
    pub authorizer: Option<Authorizer>,
}

impl ServerChannelConfig {
    /// A server configuration accepting both protocols, with default
    /// limits, no secret, no TLS and no authorization hook.
    pub fn new(identity: Identity, freezers: Registry) -> Self {
        Self {
            identity,
            freezers,
            protocol: Protocol::default(),
            peer_address: None,
            limits: Limits::default(),
            names_for_foreign_clients: Vec::new(),
            secret: None,
            require_auth: false,
            tls: None,
            authorizer: None,
        }
    }

    /// Require every client to prove `secret` (builder style).
    pub fn with_secret(mut self, secret: Secret) -> Self {
        self.secret = Some(secret);
        self.require_auth = true;
        self
    }

    pub(crate) fn validate(&self) -> Result<(), ConfigError> {
        self.identity.validate()?;
        validate_freezers(&self.freezers)?;
        if self.require_auth && self.secret.is_none() {
            return Err(ConfigError::RequiredWithoutSecret);
        }
        Ok(())
    }
}

pub(crate) fn validate_freezers(freezers: &Registry) -> Result<(), ConfigError> {
    let names = freezers.names();
    if names.is_empty() {
        return Err(ConfigError::NoFreezer);
    }
    match names.into_iter().find(|name| !is_freezer_name(name)) {
        Some(bad) => Err(ConfigError::BadFreezerName(bad.to_owned())),
        None => Ok(()),
    }
}

/// A kernel name an `IAM` line can carry: Perl's `[-:.\w]+`.
pub(crate) fn is_announceable_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b':' | b'.'))
}

/// A freezer name a `FREEZER` line can carry: Perl's `[-:\w]+`.
pub(crate) fn is_freezer_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b':'))
}
