//! Tokens of the Data::Dumper dialect, and its string literals.

use std::borrow::Cow;

use crate::error::ThawError;

/// One token.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Token<'a> {
    /// `$name` (the name without the sigil, `::` allowed).
    Var(&'a str),
    /// `${`: the start of a scalar dereference block.
    DerefBlock,
    /// `$$`: a scalar dereference of the variable that follows.
    DerefVar,
    Backslash,
    LBracket,
    RBracket,
    LBrace,
    RBrace,
    LParen,
    RParen,
    Comma,
    Semicolon,
    Assign,
    FatComma,
    Arrow,
    /// A numeric literal, sign included.
    Number(&'a str),
    /// A string literal, decoded.
    Text(Text<'a>),
    /// A bareword (`undef`, `bless`, `do`, `my`, or a hash key).
    Word(&'a str),
    End,
}

/// A decoded string literal.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Text<'a> {
    /// No character beyond `\xff`: a byte string, as Perl builds it.
    Bytes(Cow<'a, [u8]>),
    /// A character string (Perl sets the UTF-8 flag).
    Str(String),
}

/// Reads tokens from Dumper text.
#[derive(Debug)]
pub(super) struct Lexer<'a> {
    input: &'a [u8],
    pub(super) pos: usize,
}

fn is_word_start(b: u8) -> bool {
    b.is_ascii_alphabetic() || b == b'_'
}

fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

pub(super) fn malformed(offset: usize, reason: impl Into<String>) -> ThawError {
    ThawError::Malformed {
        offset,
        reason: reason.into(),
    }
}

pub(super) fn not_data(offset: usize, what: &str) -> ThawError {
    ThawError::Unsupported {
        offset,
        what: format!("{what}: only data is read, nothing is evaluated"),
    }
}

impl<'a> Lexer<'a> {
    pub(super) fn new(input: &'a [u8]) -> Self {
        Self { input, pos: 0 }
    }

    fn skip_space(&mut self) {
        while self
            .input
            .get(self.pos)
            .is_some_and(|b| b.is_ascii_whitespace() || *b == 0x0b)
        {
            self.pos += 1;
        }
    }

    /// The next token, without consuming it.
    pub(super) fn peek(&mut self) -> Result<Token<'a>, ThawError> {
        let saved = self.pos;
        let token = self.next();
        self.pos = saved;
        token
    }

    /// Where the next token starts.
    pub(super) fn offset(&mut self) -> usize {
        self.skip_space();
        self.pos
    }

    /// ASCII text of `input[start..end]` (only ever called on ASCII runs).
    fn ascii(&self, start: usize, end: usize) -> &'a str {
        std::str::from_utf8(&self.input[start..end]).unwrap_or("")
    }

    /// The next token.
    pub(super) fn next(&mut self) -> Result<Token<'a>, ThawError> {
        self.skip_space();
        let start = self.pos;
        let Some(&b) = self.input.get(start) else {
            return Ok(Token::End);
        };
        self.pos += 1;
        let next = self.input.get(self.pos).copied();
        Ok(match b {
            b'$' => match next {
                Some(b'{') => {
                    self.pos += 1;
                    Token::DerefBlock
                }
                Some(b'$') => Token::DerefVar,
                Some(c) if is_word_start(c) => {
                    let mut end = self.pos;
                    loop {
                        while self.input.get(end).copied().is_some_and(is_word) {
                            end += 1;
                        }
                        if self.input.get(end..end + 2) == Some(b"::")
                            && self.input.get(end + 2).copied().is_some_and(is_word_start)
                        {
                            end += 2;
                        } else {
                            break;
                        }
                    }
                    self.pos = end;
                    Token::Var(self.ascii(start + 1, end))
                }
                _ => return Err(not_data(start, "a special variable")),
            },
            b'\\' => Token::Backslash,
            b'[' => Token::LBracket,
            b']' => Token::RBracket,
            b'{' => Token::LBrace,
            b'}' => Token::RBrace,
            b'(' => Token::LParen,
            b')' => Token::RParen,
            b',' => Token::Comma,
            b';' => Token::Semicolon,
            b'=' if next == Some(b'>') => {
                self.pos += 1;
                Token::FatComma
            }
            b'=' if next != Some(b'=') && next != Some(b'~') => Token::Assign,
            b'-' if next == Some(b'>') => {
                self.pos += 1;
                Token::Arrow
            }
            b'-' | b'0'..=b'9' => self.number(start)?,
            b'\'' => Token::Text(self.single_quoted(start)?),
            b'"' => Token::Text(self.double_quoted(start)?),
            c if is_word_start(c) => {
                while self.input.get(self.pos).copied().is_some_and(is_word) {
                    self.pos += 1;
                }
                Token::Word(self.ascii(start, self.pos))
            }
            b'@' | b'%' | b'&' | b'*' => {
                return Err(not_data(start, "a non-scalar variable or glob"));
            }
            b'`' => return Err(not_data(start, "a command (backticks)")),
            b'#' => return Err(malformed(start, "comments are not part of the format")),
            _ => return Err(malformed(start, format!("unexpected byte 0x{b:02x}"))),
        })
    }

    /// A numeric literal: `-?digits`, optionally `.digits` and an exponent.
    fn number(&mut self, start: usize) -> Result<Token<'a>, ThawError> {
        let digits_from = if self.input[start] == b'-' {
            start + 1
        } else {
            start
        };
        let count = |from: usize| {
            self.input[from..]
                .iter()
                .take_while(|b| b.is_ascii_digit())
                .count()
        };
        let int_len = count(digits_from);
        if int_len == 0 {
            return Err(malformed(start, "a '-' that does not start a number"));
        }
        if int_len > 1 && self.input[digits_from] == b'0' {
            return Err(malformed(
                start,
                "a number with a leading zero (Perl reads it as octal)",
            ));
        }
        let mut end = digits_from + int_len;
        if self.input.get(end) == Some(&b'.') {
            let frac = count(end + 1);
            if frac == 0 {
                return Err(malformed(start, "a number ending in '.'"));
            }
            end += 1 + frac;
        }
        if matches!(self.input.get(end), Some(b'e' | b'E')) {
            let mut exp = end + 1;
            if matches!(self.input.get(exp), Some(b'+' | b'-')) {
                exp += 1;
            }
            let digits = count(exp);
            if digits == 0 {
                return Err(malformed(start, "an exponent without digits"));
            }
            end = exp + digits;
        }
        if self
            .input
            .get(end)
            .copied()
            .is_some_and(|b| is_word(b) || b == b'.')
        {
            return Err(malformed(start, "a malformed number"));
        }
        self.pos = end;
        Ok(Token::Number(self.ascii(start, end)))
    }

    /// `'...'`: only `\\` and `\'` are escapes; the bytes are kept as they are.
    fn single_quoted(&mut self, start: usize) -> Result<Text<'a>, ThawError> {
        let body = self.pos;
        let mut escaped = false;
        let mut i = body;
        loop {
            match self.input.get(i) {
                None => return Err(malformed(start, "unterminated string")),
                Some(b'\'') => break,
                Some(b'\\') if matches!(self.input.get(i + 1), Some(b'\\' | b'\'')) => {
                    escaped = true;
                    i += 2;
                }
                Some(_) => i += 1,
            }
        }
        self.pos = i + 1;
        let raw = &self.input[body..i];
        if !escaped {
            return Ok(Text::Bytes(Cow::Borrowed(raw)));
        }
        let mut out = Vec::with_capacity(raw.len());
        let mut j = 0;
        while j < raw.len() {
            if raw[j] == b'\\' && matches!(raw.get(j + 1), Some(b'\\' | b'\'')) {
                j += 1;
            }
            out.push(raw[j]);
            j += 1;
        }
        Ok(Text::Bytes(Cow::Owned(out)))
    }

    /// `"..."`: Perl's escapes; an unescaped `$` or `@` would interpolate a
    /// variable and is refused.
    fn double_quoted(&mut self, start: usize) -> Result<Text<'a>, ThawError> {
        // Code points; raw bytes count as Latin-1 characters, as in Perl.
        let mut chars: Vec<u32> = Vec::new();
        loop {
            let at = self.pos;
            let Some(&b) = self.input.get(at) else {
                return Err(malformed(start, "unterminated string"));
            };
            self.pos += 1;
            match b {
                b'"' => break,
                b'$' | b'@' => return Err(not_data(at, "interpolation of a variable in a string")),
                b'\\' => chars.push(self.escape(at)?),
                _ => chars.push(u32::from(b)),
            }
        }
        if chars.iter().all(|&c| c <= 0xff) {
            return Ok(Text::Bytes(Cow::Owned(
                chars.into_iter().map(|c| c as u8).collect(),
            )));
        }
        chars
            .into_iter()
            .map(|c| {
                char::from_u32(c).ok_or_else(|| {
                    malformed(start, format!("\\x{{{c:x}}} is not a Unicode scalar value"))
                })
            })
            .collect::<Result<String, _>>()
            .map(Text::Str)
    }

    /// One escape after a backslash in a double-quoted string.
    fn escape(&mut self, at: usize) -> Result<u32, ThawError> {
        let Some(&c) = self.input.get(self.pos) else {
            return Err(malformed(at, "unterminated string"));
        };
        self.pos += 1;
        Ok(match c {
            b'n' => 0x0a,
            b't' => 0x09,
            b'r' => 0x0d,
            b'f' => 0x0c,
            b'b' => 0x08,
            b'a' => 0x07,
            b'e' => 0x1b,
            b'0'..=b'7' => {
                let mut value = u32::from(c - b'0');
                for _ in 0..2 {
                    match self.input.get(self.pos) {
                        Some(&d @ b'0'..=b'7') => {
                            value = value * 8 + u32::from(d - b'0');
                            self.pos += 1;
                        }
                        _ => break,
                    }
                }
                value
            }
            b'x' => self.hex_escape(at)?,
            b'N' => {
                if self.input.get(self.pos..self.pos + 3) != Some(b"{U+") {
                    return Err(not_data(at, "a named character (\\N{name})"));
                }
                self.pos += 2;
                self.braced_hex(at)?
            }
            c if c.is_ascii_alphanumeric() => {
                return Err(not_data(at, &format!("the escape \\{}", char::from(c))));
            }
            // Any other character stands for itself (\\, \", \$, \@, ...).
            c => u32::from(c),
        })
    }

    /// `\xHH` (up to two digits) or `\x{HEX}`.
    fn hex_escape(&mut self, at: usize) -> Result<u32, ThawError> {
        if self.input.get(self.pos) == Some(&b'{') {
            return self.braced_hex(at);
        }
        let mut value = 0;
        for _ in 0..2 {
            match self
                .input
                .get(self.pos)
                .and_then(|d| char::from(*d).to_digit(16))
            {
                Some(d) => {
                    value = value * 16 + d;
                    self.pos += 1;
                }
                None => break,
            }
        }
        Ok(value)
    }

    /// `{HEX}` after `\x` or `\N{U+`; `self.pos` is at the `{` (or `+`).
    fn braced_hex(&mut self, at: usize) -> Result<u32, ThawError> {
        self.pos += 1;
        let mut value: u32 = 0;
        let mut digits = 0;
        while let Some(d) = self
            .input
            .get(self.pos)
            .and_then(|d| char::from(*d).to_digit(16))
        {
            value = value
                .checked_mul(16)
                .and_then(|v| v.checked_add(d))
                .ok_or_else(|| malformed(at, "character code out of range"))?;
            digits += 1;
            self.pos += 1;
        }
        if digits == 0 || self.input.get(self.pos) != Some(&b'}') {
            return Err(malformed(at, "malformed \\x{...} escape"));
        }
        self.pos += 1;
        Ok(value)
    }
}
