//! Negotiation lines: CR, LF or CRLF end a line (Perl sends CRLF).

use crate::error::ChannelError;

/// Splits negotiation lines out of a byte stream.
///
/// A line ends at CR or LF; an LF straight after a CR belongs to the same
/// line end, even when it arrives in a later read. Empty lines (which a
/// stray LF-CR pair would make) are skipped. At most `max_len` bytes of an
/// unfinished line are buffered.
#[derive(Debug)]
pub(crate) struct LineDecoder {
    partial: Vec<u8>,
    max_len: usize,
    after_cr: bool,
}

impl LineDecoder {
    pub(crate) fn new(max_len: usize) -> Self {
        Self {
            partial: Vec::new(),
            max_len,
            after_cr: false,
        }
    }

    /// Did the last line end with a CR whose LF may still come?
    pub(crate) fn after_cr(&self) -> bool {
        self.after_cr
    }

    /// Take the next line (without its end) out of `input`, advancing it.
    ///
    /// `None`: `input` is used up and no line is complete (the start of one
    /// may be buffered). `Some(Err)`: the line is over the limit.
    pub(crate) fn decode(&mut self, input: &mut &[u8]) -> Option<Result<Vec<u8>, ChannelError>> {
        loop {
            if self.after_cr && !input.is_empty() {
                if input[0] == b'\n' {
                    *input = &input[1..];
                }
                self.after_cr = false;
            }
            let Some(end) = input.iter().position(|&b| b == b'\r' || b == b'\n') else {
                if self.partial.len() + input.len() > self.max_len {
                    return Some(Err(self.too_long()));
                }
                self.partial.extend_from_slice(input);
                *input = &[];
                return None;
            };
            if self.partial.len() + end > self.max_len {
                return Some(Err(self.too_long()));
            }
            let mut line = std::mem::take(&mut self.partial);
            line.extend_from_slice(&input[..end]);
            let crlf = input[end] == b'\r' && input.get(end + 1) == Some(&b'\n');
            // A CR at the very end may have its LF in the next read.
            self.after_cr = input[end] == b'\r' && end + 1 == input.len();
            *input = &input[end + 1 + usize::from(crlf)..];
            if !line.is_empty() {
                return Some(Ok(line));
            }
        }
    }

    fn too_long(&mut self) -> ChannelError {
        self.partial = Vec::new();
        ChannelError::LineTooLong {
            limit: self.max_len,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(decoder: &mut LineDecoder, mut input: &[u8]) -> Vec<String> {
        let mut out = Vec::new();
        while let Some(line) = decoder.decode(&mut input) {
            out.push(String::from_utf8(line.unwrap()).unwrap());
        }
        assert!(input.is_empty());
        out
    }

    #[test]
    fn every_line_end_is_accepted() {
        let mut d = LineDecoder::new(100);
        assert_eq!(
            lines(&mut d, b"A\r\nB\nC\rD\n\rE\r\n"),
            ["A", "B", "C", "D", "E"]
        );
    }

    #[test]
    fn a_crlf_split_across_reads_is_one_line_end() {
        let mut d = LineDecoder::new(100);
        assert_eq!(lines(&mut d, b"HELLO\r"), ["HELLO"]);
        assert!(d.after_cr());
        assert_eq!(lines(&mut d, b"\nOK"), Vec::<String>::new());
        assert_eq!(lines(&mut d, b"\r\n"), ["OK"]);
    }

    #[test]
    fn input_after_a_line_is_left_in_the_slice() {
        let mut d = LineDecoder::new(100);
        let mut input: &[u8] = b"UP\r\n12\0abc";
        assert_eq!(d.decode(&mut input).unwrap().unwrap(), b"UP");
        assert_eq!(input, b"12\0abc");
    }

    #[test]
    fn a_line_over_the_limit_is_an_error_before_its_end_arrives() {
        let mut d = LineDecoder::new(4);
        let mut input: &[u8] = b"ABC";
        assert!(d.decode(&mut input).is_none());
        let mut input: &[u8] = b"DE";
        assert_eq!(
            d.decode(&mut input),
            Some(Err(ChannelError::LineTooLong { limit: 4 }))
        );
        let mut d = LineDecoder::new(4);
        assert_eq!(lines(&mut d, b"ABCD\r\n"), ["ABCD"]);
        let mut input: &[u8] = b"ABCDE\r\n";
        assert!(matches!(
            d.decode(&mut input),
            Some(Err(ChannelError::LineTooLong { .. }))
        ));
    }
}
