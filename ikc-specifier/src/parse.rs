//! The hand-written parser for the string forms.
//!
//! Two grammars, as in IKC's `specifier_parse`:
//!
//! ```text
//! absolute:  "poe:" [ "//" KERNELS? ] [ "/" SESSIONS ] [ "/"? STATE? ] [ "?" ARG ]
//! relative:  [ "//" KERNELS "/" ] [ SESSIONS "/" ] [ STATE ] [ "?" ARG ]
//! ```
//!
//! `KERNELS` and `SESSIONS` are comma lists (Lightspeed's extension; IKC
//! allows one name) or `*`. A kernel name is a word (`[-. \w]+`), a
//! `host:port` or a `unix:name[:n-m]`; a session or state name is `[- \w]+`.

use crate::error::{ParseError, ParseErrorKind};
use crate::specifier::{Part, Specifier};

/// Perl's `\w`: letters, digits, marks of a word, and `_`.
pub(crate) fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// A character IKC allows in session and state names: `[- \w]`.
pub(crate) fn is_name_char(c: char) -> bool {
    is_word(c) || c == '-' || c == ' '
}

/// Is `name` one kernel name IKC accepts (not counting `*`)?
pub(crate) fn is_kernel_name(name: &str) -> bool {
    // (?:[-. \w]+)
    if !name.is_empty()
        && name
            .chars()
            .all(|c| is_word(c) || matches!(c, '-' | '.' | ' '))
    {
        return true;
    }
    // (?:unix:[-.\w]+(?::\d+-\d+)?)
    if let Some(rest) = name.strip_prefix("unix:") {
        let (path, range) = match rest.split_once(':') {
            Some((p, r)) => (p, Some(r)),
            None => (rest, None),
        };
        let path_ok =
            !path.is_empty() && path.chars().all(|c| is_word(c) || matches!(c, '-' | '.'));
        let range_ok = match range {
            None => true,
            Some(r) => match r.split_once('-') {
                Some((a, b)) => is_digits(a) && is_digits(b),
                None => false,
            },
        };
        if path_ok && range_ok {
            return true;
        }
    }
    // (?:[a-zA-Z0-9][-.a-zA-Z0-9]+:\d+)
    if let Some((host, port)) = name.rsplit_once(':') {
        let mut chars = host.chars();
        let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphanumeric());
        let rest: Vec<char> = chars.collect();
        let rest_ok = !rest.is_empty()
            && rest
                .iter()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.'));
        if first_ok && rest_ok && is_digits(port) {
            return true;
        }
    }
    false
}

fn is_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// The parser's cursor over the input.
struct Cursor<'a> {
    input: &'a str,
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn rest(&self) -> &'a str {
        &self.input[self.pos..]
    }

    fn eat(&mut self, prefix: &str) -> bool {
        if self.rest().starts_with(prefix) {
            self.pos += prefix.len();
            true
        } else {
            false
        }
    }

    /// Take everything up to (not including) the first of `stops`, or to the end.
    fn take_until(&mut self, stops: &[char]) -> (usize, &'a str) {
        let start = self.pos;
        let rest = self.rest();
        let len = rest.find(|c| stops.contains(&c)).unwrap_or(rest.len());
        self.pos += len;
        (start, &rest[..len])
    }

    fn error(&self, position: usize, kind: ParseErrorKind) -> ParseError {
        ParseError {
            input: self.input.to_owned(),
            position,
            kind,
        }
    }
}

/// Parse a comma list of kernel names, or `*`.
fn kernels(c: &Cursor<'_>, at: usize, text: &str) -> Result<Part, ParseError> {
    list(c, at, text, is_kernel_name, ParseErrorKind::BadKernel)
}

/// Parse a comma list of session names, or `*`.
fn sessions(c: &Cursor<'_>, at: usize, text: &str) -> Result<Part, ParseError> {
    list(
        c,
        at,
        text,
        |s| !s.is_empty() && s.chars().all(is_name_char),
        ParseErrorKind::BadSession,
    )
}

fn list(
    c: &Cursor<'_>,
    at: usize,
    text: &str,
    valid: impl Fn(&str) -> bool,
    bad: impl Fn(String) -> ParseErrorKind,
) -> Result<Part, ParseError> {
    if text == "*" {
        return Ok(Part::All);
    }
    let mut names = Vec::new();
    let mut offset = at;
    for name in text.split(',') {
        if name == "*" {
            return Err(c.error(offset, ParseErrorKind::WildcardInList));
        }
        if !valid(name) {
            return Err(c.error(offset, bad(name.to_owned())));
        }
        names.push(name.to_owned());
        offset += name.len() + 1;
    }
    Ok(Part::Names(names))
}

fn state(c: &Cursor<'_>, at: usize, text: &str) -> Result<Option<String>, ParseError> {
    if text.is_empty() {
        Ok(None)
    } else if text.chars().all(is_name_char) {
        Ok(Some(text.to_owned()))
    } else {
        Err(c.error(at, ParseErrorKind::BadState(text.to_owned())))
    }
}

/// Parse `?arg` (if present) and require the end of input.
fn arg_and_end(c: &mut Cursor<'_>) -> Result<Option<String>, ParseError> {
    let arg = if c.eat("?") {
        let (at, text) = c.take_until(&[]);
        if text.is_empty() || !text.chars().all(is_word) {
            return Err(c.error(at, ParseErrorKind::BadArg(text.to_owned())));
        }
        Some(text.to_owned())
    } else {
        None
    };
    if !c.rest().is_empty() {
        return Err(c.error(c.pos, ParseErrorKind::TrailingInput(c.rest().to_owned())));
    }
    Ok(arg)
}

/// Parse any string form of a specifier.
pub(crate) fn parse(input: &str) -> Result<Specifier, ParseError> {
    let mut c = Cursor { input, pos: 0 };
    if input.is_empty() {
        return Err(c.error(0, ParseErrorKind::Empty));
    }
    if c.eat("poe:") {
        absolute(&mut c)
    } else {
        relative(&mut c)
    }
}

fn absolute(c: &mut Cursor<'_>) -> Result<Specifier, ParseError> {
    let mut spec = Specifier::default();
    if c.eat("//") {
        let (at, text) = c.take_until(&['/', '?']);
        if !text.is_empty() {
            spec.kernel = kernels(c, at, text)?;
        }
    }
    // "/" SESSIONS: only when a non-empty name follows the slash.
    if c.rest().starts_with('/') {
        let after = &c.rest()[1..];
        let len = after.find(['/', '?']).unwrap_or(after.len());
        if len > 0 {
            c.pos += 1;
            let (at, text) = c.take_until(&['/', '?']);
            spec.session = sessions(c, at, text)?;
        }
    }
    // "/"? STATE
    c.eat("/");
    let (at, text) = c.take_until(&['/', '?']);
    spec.state = state(c, at, text)?;
    spec.arg = arg_and_end(c)?;
    Ok(spec)
}

fn relative(c: &mut Cursor<'_>) -> Result<Specifier, ParseError> {
    let mut spec = Specifier::default();
    if c.eat("//") {
        let (at, text) = c.take_until(&['/', '?']);
        if text.is_empty() || !c.eat("/") {
            // IKC requires "//kernel/" in the relative form.
            return Err(c.error(at, ParseErrorKind::BadKernel(text.to_owned())));
        }
        spec.kernel = kernels(c, at, text)?;
    }
    let (at, first) = c.take_until(&['/', '?']);
    if c.eat("/") {
        spec.session = sessions(c, at, first)?;
        let (at, text) = c.take_until(&['/', '?']);
        spec.state = state(c, at, text)?;
    } else {
        spec.state = state(c, at, first)?;
    }
    spec.arg = arg_and_end(c)?;
    Ok(spec)
}
