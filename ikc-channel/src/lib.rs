//! IKC's wire protocol without I/O: framing and both handshakes (IKC0 and
//! IKC), byte for byte as Perl's POE::Component::IKC 0.2402 speaks them.
//!
//! A [`Channel`] is one end of one connection. It owns no socket and reads
//! no clock: the driver feeds it the bytes it reads and the time, and takes
//! out the bytes to write and the events (the quinn-proto and rustls
//! pattern). The event-loop channel session and the blocking ClientLite
//! drive the same type.
//!
//! # The wire
//!
//! A connection starts with a line-based negotiation (lines end with CRLF;
//! CR, LF and CRLF are accepted), which tells each side the other's kernel
//! names and agrees on a freezer (codec):
//!
//! - **IKC0**: the client sends
//!   `SETUP KERNEL=id,name,...;FREEZER=f1,f2,...;PID=n`, the server answers
//!   `SETUP KERNEL=id,name,...;FREEZER=chosen;PID=n`, or `NOT`, after which
//!   the client falls back to IKC's dialogue;
//! - **IKC**: `HELLO`; `IAM` lines answered `OK` and closed by `DONE`, the
//!   server's then the client's; `FREEZER name` until `OK`; `WORLD`, `UP`.
//!
//! After it, each message is a frame: its length in ASCII decimal, a NUL
//! byte, then the frozen [`Message`] hash.
//!
//! # Calling protocol
//!
//! See [`Channel`]: feed input with `handle_input`, the time with
//! `handle_timeout`, queue messages with `send`, and after each call drain
//! `poll_transmit`, `poll_event` and `poll_timeout`.
//!
//! # Examples
//!
//! A client and a server in memory: the client calls `test/fetchQ` before
//! the handshake is even over, the server answers 42 to the RSVP.
//!
//! ```
//! use std::time::Instant;
//!
//! use ikc_channel::{Channel, ChannelError, ChannelEvent, ClientChannelConfig, Identity, Message, ServerChannelConfig};
//! use ikc_freezer::{Registry, Value};
//! use ikc_specifier::HashForm;
//!
//! /// The network: move bytes both ways until both ends are quiet.
//! fn pump(client: &mut Channel, server: &mut Channel) -> Result<(), ChannelError> {
//!     let mut wire = Vec::new();
//!     loop {
//!         let mut moved = false;
//!         if client.poll_transmit(&mut wire).is_some() {
//!             server.handle_input(&wire)?;
//!             wire.clear();
//!             moved = true;
//!         }
//!         if server.poll_transmit(&mut wire).is_some() {
//!             client.handle_input(&wire)?;
//!             wire.clear();
//!             moved = true;
//!         }
//!         if !moved {
//!             return Ok(());
//!         }
//!     }
//! }
//!
//! # fn main() -> Result<(), ChannelError> {
//! let now = Instant::now();
//! let me = Identity::new("host-1-1").with_name("Cli");
//! let mut client = Channel::client(ClientChannelConfig::new(me, Registry::standard()), now)?;
//! let me = Identity::new("host-2-1").with_name("Inet").with_name("127.0.0.1:603");
//! let mut server = Channel::server(ServerChannelConfig::new(me, Registry::standard()), now)?;
//!
//! // Queued until negotiation is over, then sent first thing.
//! let answer_to = HashForm::new("Cli", "me", "answer");
//! client.send(&Message::call("poe://Inet/test/fetchQ", (), answer_to))?;
//! pump(&mut client, &mut server)?;
//!
//! // The server registers the client's names, then takes the call.
//! let Some(ChannelEvent::Negotiated(peer)) = server.poll_event() else { unreachable!() };
//! assert_eq!(peer.names().collect::<Vec<_>>(), ["host-1-1", "Cli"]);
//! let Some(ChannelEvent::Message(call)) = server.poll_event() else { unreachable!() };
//! assert_eq!(call.event.specifier().unwrap().state.as_deref(), Some("fetchQ"));
//! server.send(&Message::post(call.rsvp.unwrap(), 42))?;
//! pump(&mut client, &mut server)?;
//!
//! let Some(ChannelEvent::Negotiated(peer)) = client.poll_event() else { unreachable!() };
//! assert_eq!(peer.kernel_id, "host-2-1");
//! let Some(ChannelEvent::Message(reply)) = client.poll_event() else { unreachable!() };
//! assert_eq!(reply.params, Value::Int(42));
//! assert!(client.poll_event().is_none());
//! # Ok(())
//! # }
//! ```
//!
//! # Safety against the peer
//!
//! Nothing the peer sends can make a channel panic or buffer without bound:
//! a negotiation line is at most [`Limits::max_line_len`] bytes, a frame's
//! announced length is checked against [`Limits::max_frame_len`] before
//! anything is allocated, nonsense lines are refused at most
//! [`Limits::max_rejected_lines`] times, and the handshake has
//! [`Limits::handshake_timeout`] to finish. Frames are thawed by the
//! codecs of `ikc-freezer`, which only ever build data.

#![warn(missing_docs)]
#![forbid(unsafe_code)]
#![doc(test(attr(deny(warnings))))]

mod auth;
mod channel;
mod config;
mod error;
mod event;
mod framing;
mod handshake;
mod message;
mod tls;

pub use crate::auth::{Authorizer, ConnectingPeer, Secret};
pub use crate::channel::Channel;
pub use crate::config::{
    ClientChannelConfig, Identity, Limits, Protocol, ServerChannelConfig, Side,
};
pub use crate::error::{
    AuthError, ChannelError, ConfigError, FrameError, FrameHeaderError, MessageError,
    ProtocolViolation, TlsConfigError, TlsError,
};
pub use crate::event::{ChannelEvent, Peer};
pub use crate::message::{CallerInfo, Message, MessageTarget};
pub use crate::tls::{TlsClient, TlsServer};
/// The rustls crate this one uses, for building [`TlsServer`] and
/// [`TlsClient`] from configurations of your own.
pub use rustls;

/// Entry points for fuzzers and tests. Not part of the stable API.
#[doc(hidden)]
pub mod internal {
    use std::time::Instant;

    use ikc_freezer::Registry;

    use crate::framing::FrameDecoder;
    use crate::{Channel, ClientChannelConfig, Identity, Protocol, ServerChannelConfig};

    /// Run `bytes` through a frame decoder with a 4 KiB limit, in two
    /// reads split at the first byte's value, checking that it neither
    /// panics nor hands out more than it was given.
    pub fn fuzz_deframer(bytes: &[u8]) {
        let split = bytes
            .first()
            .map_or(0, |&b| usize::from(b).min(bytes.len()));
        let mut decoder = FrameDecoder::new(4096, false);
        let mut total = 0;
        for mut part in [&bytes[..split], &bytes[split..]] {
            while let Some(frame) = decoder.decode(&mut part) {
                match frame {
                    Ok(payload) => total += payload.len(),
                    Err(_) => return,
                }
            }
        }
        assert!(total <= bytes.len());
    }

    /// Feed `bytes` to every kind of channel: a client and a server of
    /// each protocol from their first phase, and a server whose IKC0
    /// negotiation is over (so that the bytes are read as frames, thawed
    /// and made into messages).
    pub fn fuzz_channel(bytes: &[u8]) {
        let now = Instant::now();
        for protocol in [Protocol::Ikc0, Protocol::Ikc] {
            let mut config =
                ClientChannelConfig::new(Identity::new("fuzz-client"), Registry::standard());
            config.protocol = protocol;
            if let Ok(mut client) = Channel::client(config, now) {
                drain(&mut client, bytes);
            }
            let mut config =
                ServerChannelConfig::new(Identity::new("fuzz-server"), Registry::standard());
            config.protocol = protocol;
            if let Ok(mut server) = Channel::server(config, now) {
                drain(&mut server, bytes);
            }
        }
        let config = ServerChannelConfig::new(Identity::new("fuzz-server"), Registry::standard());
        if let Ok(mut server) = Channel::server(config, now) {
            let setup =
                b"SETUP KERNEL=fuzz;FREEZER=Storable,POE::Component::IKC::Freezer;PID=1\r\n";
            drain(&mut server, setup);
            assert!(server.is_negotiated());
            drain(&mut server, bytes);
        }
    }

    fn drain(channel: &mut Channel, bytes: &[u8]) {
        let _ = channel.handle_input(bytes);
        let mut out = Vec::new();
        while channel.poll_transmit(&mut out).is_some() {}
        while channel.poll_event().is_some() {}
    }
}

#[cfg(test)]
mod tests;
