//! Errors of the channel: fatal ones ([`ChannelError`]), and the ones about
//! a single frame that leave the connection usable ([`FrameError`],
//! [`MessageError`]).

use std::time::Duration;

use ikc_freezer::{FreezeError, ThawError, Value};

/// Why a channel cannot go on (or, for [`ChannelError::Config`] and
/// [`ChannelError::Freeze`], why a call was refused).
///
/// Once [`Channel::handle_input`](crate::Channel::handle_input) or
/// [`Channel::handle_timeout`](crate::Channel::handle_timeout) returns one
/// of these, the channel is dead: every later call returns the same error,
/// and the driver should close the connection.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ChannelError {
    /// The configuration cannot be announced on the wire.
    #[error("invalid channel configuration: {0}")]
    Config(#[from] ConfigError),
    /// A negotiation line grew past [`Limits::max_line_len`](crate::Limits::max_line_len)
    /// without a line end.
    #[error("negotiation line longer than the limit of {limit} bytes")]
    LineTooLong {
        /// The limit that applied.
        limit: usize,
    },
    /// A frame announced a payload longer than
    /// [`Limits::max_frame_len`](crate::Limits::max_frame_len).
    #[error("frame of {announced} bytes announced, over the limit of {limit} bytes")]
    FrameTooLarge {
        /// The length the peer announced (or as much of it as was read
        /// before it passed the limit).
        announced: u64,
        /// The limit that applied.
        limit: usize,
    },
    /// A frame header was not ASCII decimal digits followed by a NUL byte.
    #[error("malformed frame header: {reason}")]
    BadFrameHeader {
        /// What was wrong.
        reason: FrameHeaderError,
    },
    /// The handshake did not finish within
    /// [`Limits::handshake_timeout`](crate::Limits::handshake_timeout).
    #[error("negotiation did not finish within {limit:?}")]
    HandshakeTimeout {
        /// The time allowed.
        limit: Duration,
    },
    /// The peer broke the negotiation protocol.
    #[error("negotiation failed: {0}")]
    Protocol(#[from] ProtocolViolation),
    /// The two sides have no freezer in common.
    #[error("the peer accepted none of the freezers offered ({})", offered.join(", "))]
    NoCommonFreezer {
        /// What was offered (by us as a client, by the peer as a server).
        offered: Vec<String>,
    },
    /// A value could not be encoded with the negotiated freezer (returned by
    /// [`Channel::send`](crate::Channel::send); the channel stays usable).
    #[error("cannot freeze the message: {0}")]
    Freeze(#[from] FreezeError),
    /// Shared-secret authentication failed (see [`AuthError`]).
    #[error("authentication failed: {0}")]
    Auth(#[from] AuthError),
    /// The peer refused us and said why (a `REFUSED <reason>` line).
    #[error("the peer refused the connection: {reason}")]
    Refused {
        /// The peer's reason, as it sent it (at most 200 characters).
        reason: String,
    },
    /// The server's authorization hook refused the peer
    /// ([`Authorizer`](crate::Authorizer)).
    #[error("not authorized: {reason}")]
    Unauthorized {
        /// The hook's reason.
        reason: String,
    },
    /// TLS failed: handshake, certificate, or a broken record.
    #[error("TLS: {0}")]
    Tls(#[from] TlsError),
    /// A channel in clear received a TLS record: the peer speaks TLS and we
    /// do not (a TLS client on a clear port, or a clear client of a TLS server
    /// that answered with an alert).
    #[error("the peer speaks TLS on a connection configured in clear")]
    UnexpectedTls,
}

/// Why shared-secret authentication failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// We require authentication and the client did not offer it (a Perl
    /// IKC kernel, an older kernel, or one configured without the secret).
    #[error(
        "the peer did not offer shared-secret authentication, which this server requires (a Perl IKC or unconfigured kernel?)"
    )]
    NotOffered,
    /// We have a secret and the server did not prove it knows one (a Perl
    /// IKC kernel, or a server configured without the secret).
    #[error("the server does not authenticate (a Perl IKC kernel, or one without the secret?)")]
    PeerDoesNotAuthenticate,
    /// The peer's proof does not match: it has a different secret, or
    /// replayed, reflected or altered a handshake.
    #[error(
        "the {peer}'s proof does not match (a different secret, or a replayed, reflected or altered handshake)"
    )]
    BadProof {
        /// `client` or `server`.
        peer: &'static str,
    },
    /// The peer's `AUTH` data is not well formed.
    #[error("malformed authentication data from the peer")]
    Malformed,
}

/// A TLS failure on a channel.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    /// rustls refused the peer: an untrusted, expired or wrong-name
    /// certificate, a missing client certificate, a bad record, an alert...
    #[error("{0}")]
    Rustls(rustls::Error),
    /// The first byte from the peer cannot start a TLS record: it does not
    /// speak TLS (a clear peer on a TLS connection).
    #[error("the peer does not speak TLS (its first byte is {first:#04x}): is its end in clear?")]
    NotTls {
        /// The byte received.
        first: u8,
    },
    /// rustls could not take or give bytes.
    #[error("{0}")]
    Io(String),
}

/// Why a TLS configuration could not be built from its files.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum TlsConfigError {
    /// A PEM file could not be read or holds nothing usable.
    #[error("{path}: {reason}")]
    Pem {
        /// The file.
        path: String,
        /// What was wrong.
        reason: String,
    },
    /// rustls refused the configuration (a key that does not suit its
    /// certificate, ...).
    #[error("{0}")]
    Rustls(rustls::Error),
    /// The client-certificate verifier could not be built.
    #[error("client certificate verifier: {0}")]
    Verifier(String),
    /// The server name to verify is neither a DNS name nor an IP address.
    #[error("{0:?} is not a DNS name or IP address to verify the server against")]
    ServerName(String),
}

/// What was wrong with a frame header (`<decimal length>\0`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FrameHeaderError {
    /// A byte other than a digit or NUL where the length should be.
    #[error("byte {byte:#04x} where a decimal length was expected")]
    NotADigit {
        /// The offending byte.
        byte: u8,
    },
    /// A NUL with no digits before it.
    #[error("empty length")]
    EmptyLength,
    /// More digits than any length could need (leading zeros included).
    #[error("length has more than {limit} digits")]
    TooManyDigits {
        /// The most digits accepted.
        limit: usize,
    },
}

/// A broken rule of the negotiation (the line-based handshake).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProtocolViolation {
    /// The peer sent more unexpected or refused lines than
    /// [`Limits::max_rejected_lines`](crate::Limits::max_rejected_lines).
    /// `last` is the last such line (shortened), `phase` the Perl phase name.
    #[error("too many rejected lines (limit {limit}); last was {last:?} during {phase}")]
    TooManyRejectedLines {
        /// The limit that applied.
        limit: usize,
        /// The handshake phase, named after IKC's (`client_010`, `server_003`, ...).
        phase: &'static str,
        /// The last rejected line, lossily decoded and cut to 80 characters.
        last: String,
    },
    /// The server's `SETUP` named a freezer this side cannot speak.
    #[error("the server chose freezer {name:?}, which this side does not have")]
    UnknownFreezer {
        /// The name the server chose.
        name: String,
    },
    /// The handshake ended without the peer announcing any kernel name.
    #[error("the peer announced no kernel name")]
    NoKernelName,
}

/// Why a configuration cannot be used on the wire.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A kernel ID, name or alias that IKC's `IAM` line cannot carry: it must
    /// be non-empty ASCII letters, digits, `_`, `-`, `.` and `:`.
    #[error("kernel name {0:?} cannot be announced (expected letters, digits, '_', '-', '.', ':')")]
    BadKernelName(String),
    /// A freezer name that IKC's `FREEZER` line cannot carry: it must be
    /// non-empty ASCII letters, digits, `_`, `-` and `:`.
    #[error("freezer name {0:?} cannot be negotiated (expected letters, digits, '_', '-', ':')")]
    BadFreezerName(String),
    /// The freezer registry is empty.
    #[error("no freezer configured")]
    NoFreezer,
    /// A shared secret with no bytes.
    #[error("the shared secret is empty")]
    EmptySecret,
    /// The secret file could not be read.
    #[error("cannot read the secret file {path}: {reason}")]
    SecretFile {
        /// The file.
        path: String,
        /// The operating system's reason.
        reason: String,
    },
    /// Authentication rides on IKC0's `SETUP`: a client with a secret
    /// cannot start with IKC's old dialogue.
    #[error("shared-secret authentication needs the IKC0 protocol")]
    AuthNeedsIkc0,
    /// A server requires authentication but has no secret.
    #[error("authentication is required but no secret is configured")]
    RequiredWithoutSecret,
}

/// A complete frame that did not yield a [`Message`](crate::Message). The
/// connection goes on (as in IKC, where such a frame is reported and the
/// channel keeps reading).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum FrameError {
    /// The payload could not be thawed with the negotiated freezer.
    #[error("cannot thaw a {len}-byte frame with {freezer}: {source}")]
    Thaw {
        /// The negotiated freezer's name.
        freezer: String,
        /// The payload length.
        len: usize,
        /// The codec's error.
        source: ThawError,
    },
    /// The payload thawed, but not into an IKC message.
    #[error("frame is not an IKC message: {source}")]
    NotAMessage {
        /// What the payload thawed to.
        value: Value,
        /// Why it is not a message.
        source: MessageError,
    },
}

/// Why a [`Value`] is not an IKC message (see
/// [`Message::try_from`](crate::Message)).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MessageError {
    /// A message is a (plain, unblessed) hash reference.
    #[error("expected a hash, found {found}")]
    NotAHash {
        /// What kind of value was found.
        found: &'static str,
    },
    /// The hash has no `event` key.
    #[error("no 'event' key")]
    MissingEvent,
    /// A known key holds a value of the wrong kind.
    #[error("'{field}' holds {found}, expected {expected}")]
    BadField {
        /// The key (or `key.part` for a part of a specifier hash).
        field: &'static str,
        /// What was expected.
        expected: &'static str,
        /// What kind of value was found.
        found: &'static str,
    },
}
