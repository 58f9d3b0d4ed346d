//! The negotiation: IKC0's `SETUP` exchange and IKC's line-by-line dialogue,
//! for both roles, as explicit state machines.
//!
//! Each phase is named after its routine in Perl's `IKC/Channel.pm`. A phase
//! takes one line and returns a [`Step`]: the lines to send back, whether
//! the line was rejected, and the next phase (or the outcome). The
//! transition functions are pure: all I/O, limits and timing are the
//! [`Channel`](crate::Channel)'s.
//!
//! IKC0 (one round trip):
//!
//! 1. client: `SETUP KERNEL=id,names...;FREEZER=f1,f2...;PID=n`
//! 2. server: `SETUP KERNEL=id,names...;FREEZER=chosen;PID=n`, or `NOT`
//!    (no freezer in common, or a malformed `SETUP`), after which the client
//!    starts IKC's dialogue with `HELLO`.
//!
//! IKC:
//!
//! 1. client `HELLO`; server `IAM id`, then `IAM name` for each of its other
//!    names, last first, each answered `OK`; then `DONE`;
//! 2. the client does the same (`IAM` ... `DONE`), answered by `OK`s;
//! 3. client `FREEZER name` for each freezer it prefers, until the server
//!    answers `OK` rather than `NOT`;
//! 4. client `WORLD`, server `UP`.
//!
//! A line that makes no sense in its phase is answered `NOT` (unless it is
//! `NOT` itself) and counted, as IKC does; in the server's first phase it is
//! only counted, as IKC ignores it there.

mod client;
mod server;

use std::sync::Arc;

use ikc_freezer::Freezer;

pub(crate) use self::client::ClientPhase;
pub(crate) use self::server::ServerPhase;
use crate::config::{Identity, Protocol, is_announceable_name};
use crate::error::ChannelError;

/// One negotiation line, classified the way IKC's phases match lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Line<'a> {
    /// `HELLO`
    Hello,
    /// `HELLO IKC<digit>` (a newer protocol IKC refuses)
    HelloVersion,
    /// `SETUP` followed by whatever came after it
    Setup(&'a str),
    /// `IAM <name>` with a name of `[-:.\w]+`
    Iam(&'a str),
    /// `OK`
    Ok,
    /// `NOT`
    Not,
    /// `DONE`
    Done,
    /// `FREEZER <rest>`; the name is checked by the server
    Freezer(&'a str),
    /// `WORLD`
    World,
    /// `UP`
    Up,
    /// `AUTH <proof>` (ours: the client's authentication proof)
    Auth(&'a str),
    /// `AUTH OK` (ours: the server accepted the client's proof)
    AuthOk,
    /// `REFUSED <reason>` (ours: the peer refuses us and says why)
    Refused(&'a str),
    /// Anything else
    Other,
}

impl<'a> Line<'a> {
    pub(crate) fn parse(bytes: &'a [u8]) -> Self {
        let Ok(text) = std::str::from_utf8(bytes) else {
            return Self::Other;
        };
        match text {
            "HELLO" => return Self::Hello,
            "OK" => return Self::Ok,
            "NOT" => return Self::Not,
            "DONE" => return Self::Done,
            "WORLD" => return Self::World,
            "UP" => return Self::Up,
            "AUTH OK" => return Self::AuthOk,
            _ => {}
        }
        if let Some(version) = text.strip_prefix("HELLO IKC") {
            if version.len() == 1 && version.as_bytes()[0].is_ascii_digit() {
                return Self::HelloVersion;
            }
        }
        if let Some(rest) = text.strip_prefix("SETUP") {
            return Self::Setup(rest);
        }
        if let Some(name) = after_word(text, "IAM") {
            if is_announceable_name(name) {
                return Self::Iam(name);
            }
        }
        if let Some(reason) = after_word(text, "REFUSED") {
            return Self::Refused(reason);
        }
        if let Some(proof) = after_word(text, "AUTH") {
            return Self::Auth(proof);
        }
        if let Some(name) = after_word(text, "FREEZER") {
            if !name.is_empty() {
                return Self::Freezer(name);
            }
        }
        Self::Other
    }
}

/// `text` without `word` and the whitespace after it (Perl's `^WORD\s+`),
/// if it starts so.
fn after_word<'a>(text: &'a str, word: &str) -> Option<&'a str> {
    let rest = text.strip_prefix(word)?;
    let trimmed = rest.trim_start_matches([' ', '\t', '\x0b', '\x0c']);
    (trimmed.len() < rest.len()).then_some(trimmed)
}

/// What a finished negotiation agreed on.
#[derive(Debug, Clone)]
pub(crate) struct Agreement {
    /// The peer's names in the order it announced them (its ID first).
    pub(crate) names: Vec<String>,
    /// The peer's PID (IKC0 only).
    pub(crate) pid: Option<u32>,
    /// The freezer both sides use from now on.
    pub(crate) freezer: Arc<dyn Freezer>,
    /// The protocol the negotiation ended in.
    pub(crate) protocol: Protocol,
    /// Did the peer prove the shared secret?
    pub(crate) authenticated: bool,
}

/// What a phase needs besides the line and the configuration to take part
/// in shared-secret authentication: our nonce for this connection and the
/// TLS session's exporter value (empty in clear).
#[derive(Debug, Clone, Copy)]
pub(crate) struct AuthInput<'a> {
    pub(crate) nonce: &'a str,
    pub(crate) binding: &'a [u8],
}

/// Every name a side announces, its kernel ID first (what a `SETUP` carries).
pub(crate) fn announced(identity: &Identity) -> Vec<String> {
    std::iter::once(&identity.kernel_id)
        .chain(&identity.names)
        .cloned()
        .collect()
}

/// The `REFUSED` line for `reason`, on one line and not too long.
pub(crate) fn refused_line(reason: &str) -> String {
    let clean: String = reason
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(200)
        .collect();
    format!("REFUSED {clean}")
}

/// Where a phase goes after a line.
#[derive(Debug)]
pub(crate) enum Next<P> {
    /// Into this phase (perhaps the same one).
    Phase(P),
    /// Negotiation is over.
    Done(Agreement),
    /// Negotiation failed.
    Fail(ChannelError),
}

/// The outcome of one line: the next phase, the lines to send, and whether
/// the line counts as rejected.
#[derive(Debug)]
pub(crate) struct Step<P> {
    pub(crate) next: Next<P>,
    pub(crate) send: Vec<String>,
    pub(crate) rejected: bool,
}

impl<P> Step<P> {
    pub(crate) fn to(next: P) -> Self {
        Self {
            next: Next::Phase(next),
            send: Vec::new(),
            rejected: false,
        }
    }

    pub(crate) fn done(agreement: Agreement) -> Self {
        Self {
            next: Next::Done(agreement),
            send: Vec::new(),
            rejected: false,
        }
    }

    pub(crate) fn fail(error: impl Into<ChannelError>) -> Self {
        Self {
            next: Next::Fail(error.into()),
            send: Vec::new(),
            rejected: false,
        }
    }

    /// Also send `line`.
    pub(crate) fn send(mut self, line: impl Into<String>) -> Self {
        self.send.push(line.into());
        self
    }

    /// Stay in `phase`, counting `line` as rejected: answer `NOT` unless it
    /// is `NOT` (IKC's "prod the far side into saying something coherent").
    pub(crate) fn refuse(phase: P, line: Line<'_>) -> Self {
        let step = Self {
            next: Next::Phase(phase),
            send: Vec::new(),
            rejected: true,
        };
        if line == Line::Not {
            step
        } else {
            step.send("NOT")
        }
    }

    /// Stay in `phase`, counting the line as rejected without answering.
    pub(crate) fn ignore(phase: P) -> Self {
        Self {
            next: Next::Phase(phase),
            send: Vec::new(),
            rejected: true,
        }
    }
}

/// The fields of a `SETUP` line.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Setup {
    pub(crate) kernels: Vec<String>,
    pub(crate) freezers: Vec<String>,
    pub(crate) pid: Option<u32>,
    /// The `AUTH=` field's value, if there was one.
    pub(crate) auth: Option<String>,
}

impl Setup {
    /// Read what follows `SETUP` (Perl's `^SETUP (.+)$` then
    /// `Protocol::__neg_setup`). `None` where Perl would count the line as
    /// bad: no space and text after `SETUP`, an unknown field, a PID that is
    /// not a number, or no kernel name. Empty names are dropped.
    pub(crate) fn parse(after_setup: &str) -> Option<Self> {
        let fields = after_setup.strip_prefix(' ').filter(|f| !f.is_empty())?;
        let mut setup = Self::default();
        for field in fields.split(';') {
            if let Some(kernels) = field.strip_prefix("KERNEL=") {
                setup.kernels.extend(non_empty(kernels.split(',')));
            } else if let Some(freezers) = field.strip_prefix("FREEZER=") {
                setup.freezers.extend(non_empty(freezers.split(',')));
            } else if let Some(auth) = field.strip_prefix("AUTH=") {
                setup.auth = Some(auth.to_owned());
            } else if let Some(pid) = field.strip_prefix("PID=") {
                setup.pid = Some(pid.parse().ok().filter(|_| is_digits(pid))?);
            } else if !field.is_empty() {
                return None;
            }
        }
        (!setup.kernels.is_empty()).then_some(setup)
    }

    /// The `SETUP` line a side with `identity` sends, offering or naming
    /// `freezers`, with an `AUTH=` field holding `auth` if given.
    pub(crate) fn line<S: AsRef<str>>(
        identity: &Identity,
        freezers: &[S],
        auth: Option<&str>,
    ) -> String {
        let mut line = format!("SETUP KERNEL={}", identity.kernel_id);
        for name in &identity.names {
            line.push(',');
            line.push_str(name);
        }
        line.push_str(";FREEZER=");
        for (i, name) in freezers.iter().enumerate() {
            if i > 0 {
                line.push(',');
            }
            line.push_str(name.as_ref());
        }
        if let Some(auth) = auth {
            line.push_str(";AUTH=");
            line.push_str(auth);
        }
        line.push_str(&format!(";PID={}", identity.pid));
        line
    }
}

fn non_empty<'a>(names: impl Iterator<Item = &'a str>) -> impl Iterator<Item = String> {
    names.filter(|n| !n.is_empty()).map(str::to_owned)
}

fn is_digits(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests;
