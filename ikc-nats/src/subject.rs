//! The subject scheme: which NATS subject an IKC destination is, and back.
//!
//! | subject | meaning |
//! |---|---|
//! | `<prefix>.<kernel>.<session>.<state>` | one destination: post (publish) or call (request) |
//! | `<prefix>.%2A.<session>.<state>` | every kernel on the bus (IKC's `*` kernel) |
//! | `<prefix>.presence` | kernels announcing themselves (JSON heartbeats) |
//!
//! Each part is one subject token, escaped: NATS reserves `.` (the token
//! separator), `*` and `>` (wildcards) and whitespace, so these bytes, `%`
//! itself and every control byte are written `%XX` (two upper-case hex
//! digits), as in a URL. Every other byte stays as it is. `*` as a kernel
//! is therefore `%2A`, which is the broadcast subject.

use std::fmt::Write as _;

/// The default first token of every subject.
pub const DEFAULT_PREFIX: &str = "ikc";

/// The broadcast kernel token (`*` escaped).
pub const BROADCAST: &str = "%2A";

/// Must `b` be escaped in a subject token?
fn reserved(b: u8) -> bool {
    matches!(b, b'.' | b'*' | b'>' | b'%') || b <= b' ' || b == 0x7f
}

/// Escape one part into one subject token (see the module docs). An
/// empty part is written `%-`, which no escape produces otherwise.
pub fn escape(part: &str) -> String {
    if part.is_empty() {
        return EMPTY.to_owned();
    }
    let mut out = String::with_capacity(part.len());
    for c in part.chars() {
        match u8::try_from(c) {
            Ok(b) if b.is_ascii() && reserved(b) => {
                let _ = write!(out, "%{b:02X}");
            }
            _ => out.push(c),
        }
    }
    out
}

/// How an empty part is written.
const EMPTY: &str = "%-";

/// Undo [`escape`]. `None` if the token is not something [`escape`]
/// writes: an empty token, a `%` not followed by two hex digits, an escape of a byte that
/// needs none, or a reserved byte left bare.
pub fn unescape(token: &str) -> Option<String> {
    if token == EMPTY {
        return Some(String::new());
    }
    if token.is_empty() {
        return None;
    }
    let bytes = token.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'%' {
            let hex = token.get(i + 1..i + 3)?;
            let v = u8::from_str_radix(hex, 16).ok()?;
            if !reserved(v) || hex.bytes().any(|h| h.is_ascii_lowercase()) {
                return None;
            }
            out.push(v);
            i += 3;
        } else if reserved(b) {
            return None;
        } else {
            out.push(b);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// A destination a subject names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Destination {
    /// The kernel (`*` for the broadcast subject).
    pub kernel: String,
    /// The session (alias).
    pub session: String,
    /// The state.
    pub state: String,
}

/// The subjects of one bus, under a prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subjects {
    prefix: String,
}

impl Default for Subjects {
    fn default() -> Self {
        Self::new(DEFAULT_PREFIX)
    }
}

impl Subjects {
    /// The subjects under `prefix` (one or more tokens, e.g. `ikc` or
    /// `acme.ikc`).
    pub fn new(prefix: impl Into<String>) -> Self {
        Self {
            prefix: prefix.into(),
        }
    }

    /// The prefix.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The subject of one destination (`kernel` `*` is the broadcast subject).
    pub fn destination(&self, kernel: &str, session: &str, state: &str) -> String {
        format!(
            "{}.{}.{}.{}",
            self.prefix,
            escape(kernel),
            escape(session),
            escape(state)
        )
    }

    /// What a kernel known as `name` subscribes to: every destination in it.
    pub fn kernel_wildcard(&self, name: &str) -> String {
        format!("{}.{}.>", self.prefix, escape(name))
    }

    /// The presence subject.
    pub fn presence(&self) -> String {
        format!("{}.presence", self.prefix)
    }

    /// The destination a subject names, if it is one of ours: the prefix,
    /// then exactly three escaped tokens.
    pub fn parse(&self, subject: &str) -> Option<Destination> {
        let rest = subject
            .strip_prefix(self.prefix.as_str())?
            .strip_prefix('.')?;
        let mut tokens = rest.split('.');
        let (kernel, session, state) = (tokens.next()?, tokens.next()?, tokens.next()?);
        if tokens.next().is_some() {
            return None;
        }
        Some(Destination {
            kernel: unescape(kernel)?,
            session: unescape(session)?,
            state: unescape(state)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn reserved_bytes_are_escaped() {
        assert_eq!(escape("Server"), "Server");
        assert_eq!(
            escape("vm.example.com-1a-2b-1"),
            "vm%2Eexample%2Ecom-1a-2b-1"
        );
        assert_eq!(escape("*"), BROADCAST);
        assert_eq!(escape("a b>c%"), "a%20b%3Ec%25");
        assert_eq!(escape("IKC:proxy"), "IKC:proxy");
        assert_eq!(escape(""), "%-");
        assert_eq!(escape("é.ü"), "é%2Eü");
    }

    #[test]
    fn subjects_round_trip() {
        let s = Subjects::default();
        let subject = s.destination("vm.1", "test", "add_1");
        assert_eq!(subject, "ikc.vm%2E1.test.add_1");
        assert_eq!(
            s.parse(&subject),
            Some(Destination {
                kernel: "vm.1".into(),
                session: "test".into(),
                state: "add_1".into()
            })
        );
        assert_eq!(s.destination("*", "s", "st"), "ikc.%2A.s.st");
        assert_eq!(s.parse("ikc.%2A.s.st").unwrap().kernel, "*");
        assert_eq!(s.kernel_wildcard("a.b"), "ikc.a%2Eb.>");
        assert_eq!(s.presence(), "ikc.presence");
        assert_eq!(s.parse("ikc.presence"), None);
        assert_eq!(s.parse("ikc.a.b"), None);
        assert_eq!(s.parse("ikc.a.b.c.d"), None);
        assert_eq!(s.parse("other.a.b.c"), None);
        assert_eq!(s.parse("ikcx.a.b.c"), None);
        let deep = Subjects::new("acme.ikc");
        assert_eq!(deep.parse("acme.ikc.k.s.st").unwrap().state, "st");
    }

    #[test]
    fn malformed_escapes_are_refused() {
        for bad in ["%", "%4", "%ZZ", "%41", "%2e", "a*b", "%2A%"] {
            assert_eq!(unescape(bad), None, "{bad}");
        }
    }

    proptest! {
        #[test]
        fn escape_round_trips_and_is_one_plain_token(part in any::<String>()) {
            let token = escape(&part);
            prop_assert!(!token.is_empty());
            prop_assert!(!token.contains(['.', ' ', '\t', '\r', '\n']));
            prop_assert!(token != "*" && token != ">");
            prop_assert_eq!(unescape(&token), Some(part));
        }

        #[test]
        fn unescape_never_panics(token in any::<String>()) {
            if let Some(part) = unescape(&token) {
                prop_assert_eq!(escape(&part), token);
            }
        }
    }
}
