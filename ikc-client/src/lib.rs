//! IKC clients: kernels that connect to IKC servers (POE::Component::IKC::Client).
//!
//! [`Client::spawn`] starts a session that connects to a server over TCP
//! or a Unix socket (with a timeout), starts the IKC responder if needed,
//! runs IKC's handshake (IKC0, falling back to IKC by itself), subscribes
//! to the remote sessions asked for, and then calls `on_connect`. From
//! then on, sessions post to the server's published states with
//! [`Ikc::post`](ikc_responder::Ikc::post) or
//! `ctx.post_to("poe://Server/session/state", args)`.
//!
//! Unlike Perl IKC, a client can reconnect with backoff when the server
//! goes away ([`ClientConfig::reconnect`]); its subscriptions are made
//! again and `on_connect` runs again.
//!
//! See `ikc-server`'s crate docs for a server and client exchanging events.
//!
//! ```
//! use ikc_client::{Client, ClientConfig};
//! use ikc_core::Kernel;
//!
//! // Nothing listens on this Unix socket: the client reports the failed
//! // connect to on_error and, with no reconnect asked for, stops.
//! let mut kernel = Kernel::new()?;
//! let config = ClientConfig::unix("/nonexistent/ikc.sock")
//!     .name("Lonely")
//!     .on_error(|ctx, e| {
//!         assert_eq!(e.operation(), ikc_responder::Operation::Connect);
//!         ikc_responder::Ikc::of(ctx).unwrap().shutdown(ctx);
//!     });
//! Client::spawn(&mut kernel, config)?;
//! kernel.run()?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![warn(missing_docs)]
#![forbid(unsafe_code)]
#![doc(test(attr(deny(warnings))))]

mod config;
mod connector;
mod error;

use ikc_core::{SessionId, Spawner};
use ikc_freezer::Registry;

pub use crate::config::{ClientConfig, OnConnect, OnError, Reconnect};
use crate::connector::ClientSession;
pub use crate::error::ClientError;
pub use ikc_responder::{ConfigError, Secret, TlsClient, TlsConfigError};

/// Starts IKC clients.
#[derive(Debug)]
pub struct Client;

impl Client {
    /// Start a client session (IKC::Client's `spawn`). It connects once the
    /// kernel runs; connection errors go to `on_error`.
    ///
    /// # Errors
    ///
    /// [`ClientError`] if none of the freezers asked for is known, or no
    /// address was given.
    pub fn spawn(
        spawner: &mut impl Spawner,
        config: ClientConfig,
    ) -> Result<SessionId, ClientError> {
        if config.unix.is_none() && config.host.is_empty() && config.addresses.is_empty() {
            return Err(ClientError::NoAddress);
        }
        let standard = Registry::standard();
        let mut freezers = Registry::empty();
        for name in &config.freezers {
            match standard.get(name) {
                Some(f) => {
                    freezers.register(f);
                }
                None => log::warn!("IKC client: unknown serializer {name:?} skipped"),
            }
        }
        if freezers.names().is_empty() {
            return Err(ClientError::NoFreezer {
                asked: config.freezers.clone(),
                known: standard.names().into_iter().map(str::to_owned).collect(),
            });
        }
        Ok(spawner.spawn_session(ClientSession::new(config, freezers)))
    }
}
