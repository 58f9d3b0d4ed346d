//! Frames after negotiation: `<ASCII decimal length>\0<payload>`, as
//! POE::Filter::Reference writes them (no compression).

use std::borrow::Cow;

use crate::error::{ChannelError, FrameHeaderError};

/// The most digits a length may have, leading zeros included. Perl writes
/// none; 20 is enough for any `u64`.
pub(crate) const MAX_HEADER_DIGITS: usize = 20;

/// Append the header of a frame of `len` payload bytes to `out`.
pub(crate) fn encode_frame_header(len: usize, out: &mut Vec<u8>) {
    out.extend_from_slice(itoa::Buffer::new().format(len).as_bytes());
    out.push(0);
}

/// Decodes frames incrementally from reads split anywhere.
///
/// The announced length is checked against the limit digit by digit, so
/// nothing is allocated for a length over it; the payload buffer grows only
/// as bytes arrive. When a whole frame lies in one input slice it is
/// returned borrowed, without a copy.
#[derive(Debug)]
pub(crate) struct FrameDecoder {
    state: State,
    max_len: usize,
    skip_lf: bool,
}

#[derive(Debug)]
enum State {
    /// Reading the length: its value so far and how many digits were read.
    Header { len: u64, digits: usize },
    /// Reading a payload of `len` bytes, `partial` of which have arrived.
    Payload { len: usize, partial: Vec<u8> },
    /// A fatal error was returned; it is returned again.
    Failed(ChannelError),
}

impl FrameDecoder {
    /// A decoder for payloads of at most `max_len` bytes. With `skip_lf`,
    /// one LF at the very start is dropped: the end of a CR-LF line end whose
    /// CR closed the last negotiation line.
    pub(crate) fn new(max_len: usize, skip_lf: bool) -> Self {
        Self {
            state: State::Header { len: 0, digits: 0 },
            max_len,
            skip_lf,
        }
    }

    /// Is a frame partly read?
    pub(crate) fn is_mid_frame(&self) -> bool {
        !matches!(self.state, State::Header { digits: 0, .. })
    }

    /// Take the next frame's payload out of `input`, advancing it.
    ///
    /// `None`: `input` is used up and no frame is complete (what arrived is
    /// kept). `Some(Err)`: the header is malformed or over the limit; the
    /// stream cannot be resynchronised, so every later call fails too.
    pub(crate) fn decode<'a>(
        &mut self,
        input: &mut &'a [u8],
    ) -> Option<Result<Cow<'a, [u8]>, ChannelError>> {
        if self.skip_lf && !input.is_empty() {
            self.skip_lf = false;
            if input[0] == b'\n' {
                *input = &input[1..];
            }
        }
        loop {
            match &mut self.state {
                State::Failed(error) => return Some(Err(error.clone())),
                State::Header { len, digits } => {
                    let (&byte, rest) = input.split_first()?;
                    *input = rest;
                    match byte {
                        b'0'..=b'9' => {
                            *digits += 1;
                            let longer = len
                                .checked_mul(10)
                                .and_then(|l| l.checked_add(u64::from(byte - b'0')));
                            *len = longer.unwrap_or(u64::MAX);
                            if *len > self.max_len as u64 {
                                let announced = *len;
                                return Some(Err(self.fail(ChannelError::FrameTooLarge {
                                    announced,
                                    limit: self.max_len,
                                })));
                            }
                            if *digits > MAX_HEADER_DIGITS {
                                return Some(Err(self.fail_header(
                                    FrameHeaderError::TooManyDigits {
                                        limit: MAX_HEADER_DIGITS,
                                    },
                                )));
                            }
                        }
                        0 if *digits == 0 => {
                            return Some(Err(self.fail_header(FrameHeaderError::EmptyLength)));
                        }
                        0 => {
                            // `len <= max_len`, which is a usize.
                            let len = *len as usize;
                            if input.len() >= len {
                                let (payload, rest) = input.split_at(len);
                                *input = rest;
                                self.state = State::Header { len: 0, digits: 0 };
                                return Some(Ok(Cow::Borrowed(payload)));
                            }
                            self.state = State::Payload {
                                len,
                                partial: Vec::new(),
                            };
                        }
                        byte => {
                            return Some(Err(
                                self.fail_header(FrameHeaderError::NotADigit { byte })
                            ));
                        }
                    }
                }
                State::Payload { len, partial } => {
                    if input.is_empty() {
                        return None;
                    }
                    let take = (*len - partial.len()).min(input.len());
                    partial.reserve_exact(take);
                    partial.extend_from_slice(&input[..take]);
                    *input = &input[take..];
                    if partial.len() < *len {
                        return None;
                    }
                    let payload = std::mem::take(partial);
                    self.state = State::Header { len: 0, digits: 0 };
                    return Some(Ok(Cow::Owned(payload)));
                }
            }
        }
    }

    fn fail_header(&mut self, reason: FrameHeaderError) -> ChannelError {
        self.fail(ChannelError::BadFrameHeader { reason })
    }

    fn fail(&mut self, error: ChannelError) -> ChannelError {
        self.state = State::Failed(error.clone());
        error
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(decoder: &mut FrameDecoder, mut input: &[u8]) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        while let Some(frame) = decoder.decode(&mut input) {
            out.push(frame.unwrap().into_owned());
        }
        assert!(input.is_empty());
        out
    }

    #[test]
    fn headers_are_written_as_perl_writes_them() {
        for (len, text) in [
            (0, "0\0"),
            (7, "7\0"),
            (185, "185\0"),
            (1_000_000, "1000000\0"),
        ] {
            let mut out = Vec::new();
            encode_frame_header(len, &mut out);
            assert_eq!(out, text.as_bytes());
        }
        let mut out = Vec::new();
        encode_frame_header(usize::MAX, &mut out);
        assert_eq!(out, format!("{}\0", usize::MAX).as_bytes());
    }

    #[test]
    fn many_frames_in_one_read_and_one_frame_over_many() {
        let mut d = FrameDecoder::new(100, false);
        assert_eq!(
            frames(&mut d, b"3\0abc0\x002\0de"),
            [b"abc".to_vec(), vec![], b"de".to_vec()]
        );
        let stream = b"11\0hello world4\0ciao";
        let mut got = Vec::new();
        for byte in stream.chunks(1) {
            got.extend(frames(&mut d, byte));
        }
        assert_eq!(got, [b"hello world".to_vec(), b"ciao".to_vec()]);
        assert!(!d.is_mid_frame());
    }

    #[test]
    fn a_whole_frame_in_the_input_is_borrowed() {
        let mut d = FrameDecoder::new(100, false);
        let mut input: &[u8] = b"3\0abc1";
        assert!(matches!(
            d.decode(&mut input),
            Some(Ok(Cow::Borrowed(b"abc")))
        ));
        assert_eq!(input, b"1");
        assert!(d.decode(&mut input).is_none());
        assert!(d.is_mid_frame());
    }

    #[test]
    fn a_length_over_the_limit_fails_before_any_payload() {
        let mut d = FrameDecoder::new(100, false);
        let mut input: &[u8] = b"101";
        assert_eq!(
            d.decode(&mut input),
            Some(Err(ChannelError::FrameTooLarge {
                announced: 101,
                limit: 100
            }))
        );
        let mut input: &[u8] = b"3\0abc";
        assert!(matches!(d.decode(&mut input), Some(Err(_))), "stays failed");
        let mut d = FrameDecoder::new(usize::MAX, false);
        let mut input: &[u8] = b"99999999999999999999999\0";
        assert!(matches!(d.decode(&mut input), Some(Err(_))));
    }

    #[test]
    fn malformed_headers_are_named() {
        for (input, reason) in [
            (&b"\0"[..], FrameHeaderError::EmptyLength),
            (b"1a\0", FrameHeaderError::NotADigit { byte: b'a' }),
            (b"-1\0", FrameHeaderError::NotADigit { byte: b'-' }),
            (
                b"000000000000000000000\0",
                FrameHeaderError::TooManyDigits { limit: 20 },
            ),
        ] {
            let mut d = FrameDecoder::new(100, false);
            let mut input = input;
            assert_eq!(
                d.decode(&mut input),
                Some(Err(ChannelError::BadFrameHeader { reason }))
            );
        }
    }

    #[test]
    fn leading_zeros_are_read_as_perl_reads_them() {
        let mut d = FrameDecoder::new(100, false);
        assert_eq!(frames(&mut d, b"003\0abc"), [b"abc".to_vec()]);
    }

    #[test]
    fn the_lf_of_a_split_crlf_is_skipped_once() {
        let mut d = FrameDecoder::new(100, true);
        assert_eq!(frames(&mut d, b""), Vec::<Vec<u8>>::new());
        assert_eq!(frames(&mut d, b"\n1\0x"), [b"x".to_vec()]);
        let mut d = FrameDecoder::new(100, true);
        let mut input: &[u8] = b"\n\n";
        assert!(matches!(d.decode(&mut input), Some(Err(_))));
    }
}
