//! The two framings of an IKC connection, as in Perl's `IKC::Channel`:
//! lines while negotiating (POE::Filter::Line) and length-prefixed frames
//! afterwards (POE::Filter::Reference).
//!
//! Both decoders consume their input slice as they go, so that the bytes
//! after the last negotiation line of a read can be handed to the frame
//! decoder. Both return `None` when they need more bytes, and never buffer
//! more than their limit.

mod line;
mod reference;

pub(crate) use self::line::LineDecoder;
pub(crate) use self::reference::{FrameDecoder, encode_frame_header};

/// The line end we send, as Perl does.
pub(crate) const CRLF: &[u8] = b"\r\n";

/// Append `line` and a CRLF to `out`.
pub(crate) fn encode_line(line: &str, out: &mut Vec<u8>) {
    out.extend_from_slice(line.as_bytes());
    out.extend_from_slice(CRLF);
}
