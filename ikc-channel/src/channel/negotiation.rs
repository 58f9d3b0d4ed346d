//! The negotiation half of a [`Channel`](super::Channel): lines in, phase
//! transitions, replies out.

use std::time::Instant;

use ikc_freezer::Value;

use crate::auth::ConnectingPeer;
use crate::config::{ClientChannelConfig, Limits, ServerChannelConfig};
use crate::error::{ChannelError, ProtocolViolation};
use crate::framing::{LineDecoder, encode_line};
use crate::handshake::{
    Agreement, AuthInput, ClientPhase, Line, Next, ServerPhase, Step, refused_line,
};

/// A channel's state while negotiating.
pub(super) struct Negotiation {
    pub(super) role: Role,
    pub(super) lines: LineDecoder,
    pub(super) deadline: Instant,
    pub(super) rejected: usize,
    pub(super) queued: Vec<Value>,
    /// Our nonce for shared-secret authentication on this connection.
    pub(super) nonce: String,
    /// Has the peer sent anything yet?
    pub(super) heard: bool,
}

/// What the TLS layer tells the negotiation.
#[derive(Debug, Default)]
pub(super) struct TlsFacts {
    /// Does the channel run over TLS?
    pub(super) on: bool,
    /// The exporter value binding proofs to the session (empty in clear).
    pub(super) binding: Vec<u8>,
    /// The verified subject of the peer's certificate.
    pub(super) subject: Option<String>,
}

/// Which end, in which phase, with what configuration.
pub(super) enum Role {
    Client(ClientPhase, ClientChannelConfig),
    Server(ServerPhase, ServerChannelConfig),
}

/// What a line did to the negotiation.
pub(super) enum Outcome {
    Continue,
    Done(Agreement, Option<String>),
    Fail(ChannelError),
}

impl Negotiation {
    pub(super) fn new(role: Role, limits: &Limits, now: Instant) -> Self {
        Self {
            role,
            lines: LineDecoder::new(limits.max_line_len),
            deadline: now + limits.handshake_timeout,
            rejected: 0,
            queued: Vec::new(),
            nonce: crate::auth::nonce(),
            heard: false,
        }
    }

    /// IKC's name for the phase.
    pub(super) fn phase(&self) -> &'static str {
        match &self.role {
            Role::Client(phase, _) => phase.name(),
            Role::Server(phase, _) => phase.name(),
        }
    }

    /// Run one line through the phase, writing the replies to `transmit`.
    pub(super) fn on_line(
        &mut self,
        line: &[u8],
        limits: &Limits,
        transmit: &mut Vec<u8>,
        tls: &TlsFacts,
    ) -> Outcome {
        let parsed = Line::parse(line);
        if let Line::Refused(reason) = parsed {
            let reason: String = reason.chars().take(200).collect();
            log::warn!("the peer refused us during {}: {reason}", self.phase());
            return Outcome::Fail(ChannelError::Refused { reason });
        }
        let auth = AuthInput {
            nonce: &self.nonce,
            binding: &tls.binding,
        };
        let (phase_name, address, step) = match &mut self.role {
            Role::Client(phase, config) => (
                phase.name(),
                &config.peer_address,
                advance(phase, ClientPhase::Client010, |p| {
                    p.on_line(parsed, config, auth)
                }),
            ),
            Role::Server(phase, config) => {
                let name = phase.name();
                let mut step = advance(phase, ServerPhase::Server000, |p| {
                    p.on_line(parsed, config, auth)
                });
                authorize(config, tls, &mut step);
                (name, &config.peer_address, step)
            }
        };
        if let Next::Fail(error) = &step.next {
            if !matches!(error, ChannelError::Protocol(_)) {
                log::warn!("negotiation failed during {phase_name}: {error}");
            }
        }
        if step.rejected {
            self.rejected += 1;
            let shown = shorten(line);
            log::warn!("rejected {shown:?} during {phase_name}");
            if self.rejected > limits.max_rejected_lines {
                return Outcome::Fail(
                    ProtocolViolation::TooManyRejectedLines {
                        limit: limits.max_rejected_lines,
                        phase: phase_name,
                        last: shown,
                    }
                    .into(),
                );
            }
        }
        for line in &step.send {
            log::debug!("{phase_name} sends {line:?}");
            encode_line(line, transmit);
        }
        match step.next {
            Next::Phase(()) => Outcome::Continue,
            Next::Done(agreement) => Outcome::Done(agreement, address.clone()),
            Next::Fail(error) => Outcome::Fail(error),
        }
    }
}

/// A server's negotiation is about to succeed: ask the authorization hook,
/// and turn the success into a refusal if it says no.
fn authorize(config: &ServerChannelConfig, tls: &TlsFacts, step: &mut Step<()>) {
    let (Some(hook), Next::Done(agreement)) = (&config.authorizer, &step.next) else {
        return;
    };
    let peer = ConnectingPeer {
        names: &agreement.names,
        address: config.peer_address.as_deref(),
        authenticated: agreement.authenticated,
        tls: tls.on,
        certificate_subject: tls.subject.as_deref(),
    };
    if let Err(reason) = hook.authorize(&peer) {
        log::warn!(
            "kernel {} ({}) not authorized: {reason}",
            agreement.names.first().map_or("?", String::as_str),
            config.peer_address.as_deref().unwrap_or("unknown address")
        );
        step.send = vec![refused_line(&format!("not authorized: {reason}"))];
        step.next = Next::Fail(ChannelError::Unauthorized { reason });
    }
}

/// Run `f` on the phase in `slot`, leaving the next phase there (or
/// `placeholder` when negotiation ends, which is never looked at again).
fn advance<P>(slot: &mut P, placeholder: P, f: impl FnOnce(P) -> Step<P>) -> Step<()> {
    let step = f(std::mem::replace(slot, placeholder));
    let next = match step.next {
        Next::Phase(phase) => {
            *slot = phase;
            Next::Phase(())
        }
        Next::Done(agreement) => Next::Done(agreement),
        Next::Fail(error) => Next::Fail(error),
    };
    Step {
        next,
        send: step.send,
        rejected: step.rejected,
    }
}

/// The peer's ID and aliases: the names it announced, plus the address we
/// know it by unless it announced that too (IKC's `temp_remote_kernel`).
pub(super) fn peer_from(
    mut names: Vec<String>,
    address: Option<String>,
) -> Option<(String, Vec<String>)> {
    if let Some(address) = address {
        if !names.contains(&address) {
            names.push(address);
        }
    }
    if names.is_empty() {
        return None;
    }
    let kernel_id = names.remove(0);
    Some((kernel_id, names))
}

/// A line for a log or an error: lossily decoded, at most 80 characters.
fn shorten(line: &[u8]) -> String {
    String::from_utf8_lossy(line).chars().take(80).collect()
}
