//! The negotiation half of a [`Channel`](super::Channel): lines in, phase
//! transitions, replies out.

use std::time::Instant;

use ikc_freezer::Value;

use crate::config::{ClientChannelConfig, Limits, ServerChannelConfig};
use crate::error::{ChannelError, ProtocolViolation};
use crate::framing::{LineDecoder, encode_line};
use crate::handshake::{Agreement, ClientPhase, Line, Next, ServerPhase, Step};

/// A channel's state while negotiating.
pub(super) struct Negotiation {
    pub(super) role: Role,
    pub(super) lines: LineDecoder,
    pub(super) deadline: Instant,
    pub(super) rejected: usize,
    pub(super) queued: Vec<Value>,
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
    ) -> Outcome {
        let parsed = Line::parse(line);
        let (phase_name, address, step) = match &mut self.role {
            Role::Client(phase, config) => (
                phase.name(),
                &config.peer_address,
                advance(phase, ClientPhase::Client010, |p| p.on_line(parsed, config)),
            ),
            Role::Server(phase, config) => (
                phase.name(),
                &config.peer_address,
                advance(phase, ServerPhase::Server000, |p| p.on_line(parsed, config)),
            ),
        };
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
