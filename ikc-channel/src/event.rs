//! What a [`Channel`](crate::Channel) reports: [`ChannelEvent`] and the
//! [`Peer`] a negotiation found.

use ikc_freezer::{FreezeError, Value};

use crate::config::Protocol;
use crate::error::FrameError;
use crate::message::Message;

/// Something that happened on a channel, from
/// [`Channel::poll_event`](crate::Channel::poll_event).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
// Messages are by far the most common event; boxing them would cost an
// allocation each to save space on the rare ones.
#[allow(clippy::large_enum_variant)]
pub enum ChannelEvent {
    /// Negotiation is over; messages flow from now on. Register the peer's
    /// names (IKC's `IKC/register`) on this event.
    Negotiated(Peer),
    /// A message arrived. Boxed: a message is large, and it is moved from
    /// the channel to the responder's routing and on to its request.
    Message(Box<Message>),
    /// A whole frame arrived that is not a message (it does not thaw, or it
    /// is not a request hash). The connection goes on; IKC reports such a
    /// frame and keeps reading.
    BadFrame(FrameError),
    /// A value queued by [`send`](crate::Channel::send) before negotiation
    /// ended could not be frozen with the freezer agreed on. It is handed
    /// back; nothing was sent for it.
    SendFailed {
        /// The value that was not sent.
        value: Value,
        /// Why.
        error: FreezeError,
    },
}

/// The kernel at the other end, as the negotiation announced it.
///
/// The fields map to the arguments of Perl's `IKC/register` call, which
/// IKC::Channel makes when negotiation ends:
/// `register($kernel_id, \@aliases, $pid)`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Peer {
    /// The first name the peer announced: its globally unique kernel ID
    /// (`IAM id` or `SETUP KERNEL=id,...`). ClientLite announces its `name`
    /// here. If the peer announced no name at all (possible in IKC's old
    /// handshake), this is the configured `peer_address`.
    pub kernel_id: String,
    /// The peer's other names in the order announced (its `name`, its
    /// `aliases` and its end of the socket, `ip:port` or `unix:...`; over
    /// IKC's old handshake the order is reversed after the ID, as the peer
    /// pops them), followed by the configured `peer_address` if the peer
    /// did not announce it itself. Repeated names are kept, as IKC keeps them.
    pub aliases: Vec<String>,
    /// The peer's process ID, from `PID=n` (IKC0 only; `None` after IKC's
    /// old handshake, where Perl registers `undef`).
    pub pid: Option<u32>,
    /// The freezer both sides use.
    pub freezer: String,
    /// The protocol the negotiation ended in (an IKC0 client that fell back
    /// ends in [`Protocol::Ikc`]).
    pub protocol: Protocol,
    /// Did the peer prove the shared secret (mutual authentication)?
    pub authenticated: bool,
    /// Does the channel run over TLS?
    pub tls: bool,
    /// The subject of the certificate the peer presented and that was
    /// verified: the server's for a client, the client's (mutual TLS) for a
    /// server.
    pub certificate_subject: Option<String>,
}

impl Peer {
    /// Every name of the peer: the kernel ID, then the aliases.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.kernel_id.as_str()).chain(self.aliases.iter().map(String::as_str))
    }
}
