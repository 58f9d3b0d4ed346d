//! IKC for Rust: kernels (event loops) that post events to sessions in
//! other kernels and call their states over TCP or Unix sockets, wire
//! compatible with Perl's POE::Component::IKC 0.2402. This crate is the
//! one dependency to write: it re-exports the workspace's crates behind
//! features, and its [`prelude`] brings in what a server and a client use.
//!
//! ```toml
//! [dependencies]
//! ikc = "0.1"                                        # server, client, lite, Perl's freezers
//! # ikc = { version = "0.1", features = ["async"] }  # and the tokio client
//! # ikc = { version = "0.1", default-features = false, features = ["server", "client"] }  # Rust peers only
//! ```
//!
//! | feature | default | what it adds | crate |
//! |---|---|---|---|
//! | `server` | yes | [`Server`](server::Server): listening kernels | `ikc-server` |
//! | `client` | yes | [`Client`](client::Client): connecting kernels | `ikc-client` |
//! | `lite` | yes | [`ClientLite`](lite::ClientLite): a blocking client, no event loop | `ikc-clientlite` |
//! | `async` | | `lite_async::AsyncClientLite`: ClientLite for tokio | `ikc-clientlite-async` |
//! | `kernel` | with `server`/`client` | [`Kernel`](kernel::Kernel), sessions, and the [`Ikc`](responder::Ikc) responder | `ikc-core`, `ikc-responder` |
//! | `channel` | | `channel`: the sans-IO wire protocol | `ikc-channel` |
//! | `router` | | `router`: Lightspeed's mesh routing, without I/O | `ikc-router` |
//! | `nats` | | `nats`: kernels on a NATS bus, IKC states callable from any NATS client (builds tokio) | `ikc-nats` |
//! | `storable` | yes | `freezer::Storable`: Perl's Storable, what Perl IKC peers offer first | `ikc-freezer` |
//! | `dumper` | yes | `freezer::Dumper`: IKC's Data::Dumper text, read as data, never evaluated | `ikc-freezer` |
//!
//! Values ([`freezer`]) and specifiers ([`specifier`]) are always there,
//! with the native codec (`IKC::Native`). Without `storable` and `dumper`
//! a kernel speaks to Rust peers only: Perl's ClientLite and kernels offer
//! a Perl format, and the handshake refuses them. TLS and the shared
//! secret are always built in (`ikc-channel` carries them); there is no
//! `tls` feature. Each crate can also be used alone (`ikc-clientlite`
//! builds neither the kernel nor tokio; `ikc-server`, `ikc-client`,
//! `ikc-clientlite` and `ikc-nats` have the same `storable` and `dumper`
//! features, on by default).
//!
//! # Examples
//!
//! The shortest typed server, and a blocking client calling it: a kernel
//! publishes the typed state `calc/add`; ClientLite calls it with a Rust
//! struct and reads the answer as one.
//!
//! ```
//! use ikc::prelude::*;
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Serialize, Deserialize)]
//! struct Add { a: i64, b: i64 }
//! #[derive(Serialize, Deserialize)]
//! struct Sum { sum: i64 }
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let (port_tx, port_rx) = std::sync::mpsc::channel();
//! let server = std::thread::spawn(move || -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
//!     let mut kernel = Kernel::new()?;
//!     let listening = Server::spawn(&mut kernel, ServerConfig::tcp("127.0.0.1", 0).name("Calc"))?;
//!     kernel.spawn(
//!         InlineStates::new()
//!             .state("_start", |_, ctx, _| {
//!                 ctx.alias_set("calc").unwrap();
//!                 Ikc::of(ctx).unwrap().publish("calc", &["add", "bye"]);
//!             })
//!             .typed_state("add", |_ctx, req: Add| Ok::<_, String>(Sum { sum: req.a + req.b }))
//!             .state("bye", |_, ctx, _| Ikc::of(ctx).unwrap().shutdown(ctx)),
//!     );
//!     port_tx.send(listening.port().unwrap())?;
//!     kernel.run()?;
//!     Ok(())
//! });
//!
//! let mut calc = ClientLite::connect("127.0.0.1", port_rx.recv()?)?;
//! let sum: Sum = calc.call_as("calc/add", to_value(&Add { a: 2, b: 3 })?)?;
//! assert_eq!(sum.sum, 5);
//! // A bad argument is IKC's remote error, not a crash of the server.
//! assert!(matches!(calc.call("calc/add", "two and three"), Err(LiteError::Remote { .. })));
//! calc.post("calc/bye", ())?;
//! server.join().unwrap().map_err(|e| e.to_string())?;
//! # Ok(())
//! # }
//! ```
//!
//! The README's "From Rust" section shows the same server and client as
//! a kernel client and as a tokio client, next to their POE-style forms,
//! and how each call of a Perl IKC script is written here.

#![warn(missing_docs)]
#![forbid(unsafe_code)]
#![doc(test(attr(deny(warnings))))]

/// Specifiers: `poe://kernel/session/state` (the `ikc-specifier` crate).
pub use ikc_specifier as specifier;

/// Values and freezers: [`Value`](freezer::Value), the serde bridge, the
/// native, Storable and Dumper codecs (the `ikc-freezer` crate).
pub use ikc_freezer as freezer;

/// The sans-IO wire protocol: framing, handshakes, messages (the
/// `ikc-channel` crate).
#[cfg(feature = "channel")]
pub use ikc_channel as channel;

/// Lightspeed's mesh routing without I/O (the `ikc-router` crate).
#[cfg(feature = "router")]
pub use ikc_router as router;

/// The kernel: sessions, events, timers, I/O, handles (the `ikc-core`
/// crate; POE::Kernel and POE::Session).
#[cfg(feature = "kernel")]
pub use ikc_core as kernel;

/// The `IKC` session: publish, post, call, subscribe, monitor (the
/// `ikc-responder` crate; IKC::Responder).
#[cfg(feature = "kernel")]
pub use ikc_responder as responder;

/// Listening kernels (the `ikc-server` crate; IKC::Server).
#[cfg(feature = "server")]
pub use ikc_server as server;

/// Connecting kernels (the `ikc-client` crate; IKC::Client).
#[cfg(feature = "client")]
pub use ikc_client as client;

/// The blocking client without an event loop (the `ikc-clientlite`
/// crate; IKC::ClientLite).
#[cfg(feature = "lite")]
pub use ikc_clientlite as lite;

/// ClientLite for tokio (the `ikc-clientlite-async` crate).
#[cfg(feature = "async")]
pub use ikc_clientlite_async as lite_async;

/// Kernels on a NATS bus, and IKC sessions callable from any NATS client
/// (the `ikc-nats` crate).
#[cfg(feature = "nats")]
pub use ikc_nats as nats;

/// What servers and clients use, in one `use ikc::prelude::*;`.
pub mod prelude {
    pub use ikc_freezer::{Value, from_value, to_value};
    pub use ikc_specifier::Specifier;

    /// The shared secret and TLS settings every link takes
    /// (`ServerConfig::secret`/`tls`, `ClientConfig::secret`/`tls`,
    /// ClientLite's and the tokio client's builders).
    #[cfg(any(feature = "kernel", feature = "lite"))]
    pub use ikc_channel::{Secret, TlsClient, TlsServer};

    #[cfg(feature = "kernel")]
    pub use ikc_core::{
        ArgError, CallError, Ctx, Event, InlineStates, Kernel, KernelHandle, Session, SessionId,
    };
    #[cfg(feature = "kernel")]
    pub use ikc_responder::{
        Ikc, MonitorOp, MonitorStates, RemoteCallError, RemoteCalls, Responder,
    };

    #[cfg(feature = "server")]
    pub use ikc_server::{Server, ServerConfig};

    #[cfg(feature = "client")]
    pub use ikc_client::{Client, ClientConfig};

    #[cfg(feature = "lite")]
    pub use ikc_clientlite::{ClientLite, LiteError};

    #[cfg(feature = "async")]
    pub use ikc_clientlite_async::AsyncClientLite;

    #[cfg(feature = "nats")]
    pub use ikc_nats::{NatsConfig, NatsLink};
}

#[cfg(test)]
mod tests {
    use crate::freezer::{DUMPER, NATIVE, Registry, STORABLE};

    /// The codecs a kernel offers, and what ClientLite offers by default,
    /// follow the `storable` and `dumper` features.
    #[test]
    fn the_perl_freezers_follow_the_features() {
        let standard = Registry::standard();
        let names = standard.names();
        assert_eq!(names[0], NATIVE);
        assert_eq!(names.contains(&STORABLE), cfg!(feature = "storable"));
        assert_eq!(names.contains(&DUMPER), cfg!(feature = "dumper"));
        #[cfg(feature = "lite")]
        {
            let settings = crate::lite::Builder::tcp("localhost", 1)
                .into_settings()
                .expect("default settings");
            let offered = settings.freezers().names();
            let mut expected = vec![NATIVE];
            if cfg!(feature = "storable") {
                expected.push(STORABLE);
            }
            assert_eq!(offered, expected);
        }
    }
}
