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

mod channel;
mod config;
mod error;
mod event;
mod framing;
mod handshake;
mod message;

pub use crate::channel::Channel;
pub use crate::config::{ClientConfig, Identity, Limits, Protocol, ServerConfig, Side};
pub use crate::error::{
    ChannelError, ConfigError, FrameError, FrameHeaderError, MessageError, ProtocolViolation,
};
pub use crate::event::{ChannelEvent, Peer};
pub use crate::message::{Message, Target};

/// Entry points for fuzzers and tests. Not part of the stable API.
#[doc(hidden)]
pub mod internal {
    use crate::framing::FrameDecoder;

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
}

#[cfg(test)]
mod tests;
