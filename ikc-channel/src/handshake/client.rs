//! The connecting side's phases (`client_*` in Perl's `IKC/Channel.pm`).

use std::sync::Arc;

use ikc_freezer::Freezer;

use super::{Agreement, AuthInput, Line, Setup, Step, announced, refused_line};
use crate::auth::{Prover, SCHEME, Transcript, is_nonce};
use crate::config::{ClientChannelConfig, Protocol};
use crate::error::{AuthError, ChannelError, ProtocolViolation};

/// Where the client is in the negotiation.
#[derive(Debug)]
pub(crate) enum ClientPhase {
    /// `client_010`: our `SETUP` is sent; waiting for the server's, or `NOT`.
    Client010,
    /// `client_000`: `HELLO` is sent; taking the server's `IAM` lines until
    /// `DONE`.
    Client000 { peer_names: Vec<String> },
    /// `client_001` (`negociate_001`): announcing our names, one `IAM` per
    /// `OK`; `unannounced` is popped from the end, as IKC does.
    Client001 {
        peer_names: Vec<String>,
        unannounced: Vec<String>,
    },
    /// `client_002`: offering freezers; `freezer`, at index `offered` of
    /// our preference list, is on the table.
    Client002 {
        peer_names: Vec<String>,
        offered: usize,
        freezer: Arc<dyn Freezer>,
    },
    /// `client_003`: `WORLD` is sent; waiting for `UP`.
    Client003 {
        peer_names: Vec<String>,
        freezer: Arc<dyn Freezer>,
    },
    /// `client_auth` (ours): the server's proof checked out and ours is
    /// sent; waiting for `AUTH OK`.
    ClientAuth { agreement: Agreement },
}

impl ClientPhase {
    /// The first phase and the line that opens the negotiation.
    /// With a secret, the `SETUP` offers authentication with our `nonce`;
    /// the field ends in `PID=n` so that Perl IKC, which matches
    /// `PID=(\d+)` anywhere in a field, takes it for the PID it already has.
    pub(crate) fn start(config: &ClientChannelConfig, nonce: &str) -> (Self, String) {
        let offer = config
            .secret
            .as_ref()
            .map(|_| format!("{SCHEME}:{nonce}:PID={}", config.identity.pid));
        match config.protocol {
            Protocol::Ikc0 => (
                Self::Client010,
                Setup::line(&config.identity, &config.freezers.names(), offer.as_deref()),
            ),
            Protocol::Ikc => (Self::hello_sent(), "HELLO".to_owned()),
        }
    }

    /// IKC's name for this phase.
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Self::Client010 => "client_010",
            Self::Client000 { .. } => "client_000",
            Self::Client001 { .. } => "client_001",
            Self::Client002 { .. } => "client_002",
            Self::Client003 { .. } => "client_003",
            Self::ClientAuth { .. } => "client_auth",
        }
    }

    /// The transition on one line from the server.
    pub(crate) fn on_line(
        self,
        line: Line<'_>,
        config: &ClientChannelConfig,
        auth: AuthInput<'_>,
    ) -> Step<Self> {
        match (self, line) {
            (Self::Client010, Line::Not) if config.secret.is_some() => {
                Step::fail(AuthError::PeerDoesNotAuthenticate)
            }
            (Self::Client010, Line::Not) => Step::to(Self::hello_sent()).send("HELLO"),
            (Self::Client010, Line::Setup(text)) => {
                let setup = match Setup::parse(text) {
                    Some(setup) if setup.freezers.len() == 1 => setup,
                    _ => return Step::refuse(Self::Client010, line),
                };
                let name = &setup.freezers[0];
                let Some(freezer) = config.freezers.get(name) else {
                    return Step::fail(ProtocolViolation::UnknownFreezer { name: name.clone() });
                };
                let agreement = Agreement {
                    names: setup.kernels,
                    pid: setup.pid,
                    freezer,
                    protocol: Protocol::Ikc0,
                    authenticated: false,
                };
                let Some(secret) = &config.secret else {
                    return Step::done(agreement);
                };
                let Some(offer) = setup.auth else {
                    return Step::fail(AuthError::PeerDoesNotAuthenticate);
                };
                let Some((server_nonce, server_proof)) = server_offer(&offer) else {
                    return Step::fail(AuthError::Malformed)
                        .send(refused_line("malformed AUTH field in SETUP"));
                };
                let client_names = announced(&config.identity);
                let transcript = Transcript {
                    client_nonce: auth.nonce,
                    server_nonce,
                    client_names: &client_names,
                    server_names: &agreement.names,
                    freezer: agreement.freezer.name(),
                    binding: auth.binding,
                };
                if !transcript.verify(secret, Prover::Server, server_proof) {
                    return Step::fail(AuthError::BadProof { peer: "server" }).send(refused_line(
                        "authentication failed: the server's proof does not match",
                    ));
                }
                let proof = transcript.prove(secret, Prover::Client);
                Step::to(Self::ClientAuth { agreement }).send(format!("AUTH {proof}"))
            }
            (phase @ Self::Client010, line) => Step::refuse(phase, line),

            (Self::Client000 { mut peer_names }, Line::Iam(name)) => {
                peer_names.push(name.to_owned());
                Step::to(Self::Client000 { peer_names }).send("OK")
            }
            (Self::Client000 { peer_names }, Line::Done) => {
                let identity = &config.identity;
                Step::to(Self::Client001 {
                    peer_names,
                    unannounced: identity.names.clone(),
                })
                .send(format!("IAM {}", identity.kernel_id))
            }
            (phase @ Self::Client000 { .. }, line) => Step::refuse(phase, line),

            (
                Self::Client001 {
                    peer_names,
                    mut unannounced,
                },
                Line::Ok,
            ) => match unannounced.pop() {
                Some(name) => Step::to(Self::Client001 {
                    peer_names,
                    unannounced,
                })
                .send(format!("IAM {name}")),
                None => Self::offer(peer_names, 0, config).send_first("DONE"),
            },
            (phase @ Self::Client001 { .. }, line) => Step::refuse(phase, line),

            (
                Self::Client002 {
                    peer_names,
                    freezer,
                    ..
                },
                Line::Ok,
            ) => Step::to(Self::Client003 {
                peer_names,
                freezer,
            })
            .send("WORLD"),
            (
                Self::Client002 {
                    peer_names,
                    offered,
                    ..
                },
                Line::Not,
            ) => Self::offer(peer_names, offered + 1, config),
            (phase @ Self::Client002 { .. }, line) => Step::refuse(phase, line),

            (
                Self::Client003 {
                    peer_names,
                    freezer,
                },
                Line::Up,
            ) => Step::done(Agreement {
                names: peer_names,
                pid: None,
                freezer,
                protocol: Protocol::Ikc,
                authenticated: false,
            }),
            (phase @ Self::Client003 { .. }, line) => Step::refuse(phase, line),

            (Self::ClientAuth { mut agreement }, Line::AuthOk) => {
                agreement.authenticated = true;
                Step::done(agreement)
            }
            (Self::ClientAuth { .. }, _) => Step::fail(AuthError::Malformed),
        }
    }

    fn hello_sent() -> Self {
        Self::Client000 {
            peer_names: Vec::new(),
        }
    }

    /// Offer the freezer at `index` of our list, or fail when none is left.
    fn offer(peer_names: Vec<String>, index: usize, config: &ClientChannelConfig) -> Step<Self> {
        let names = config.freezers.names();
        let offer = names
            .get(index)
            .and_then(|name| Some((name, config.freezers.get(name)?)));
        match offer {
            Some((name, freezer)) => {
                let line = format!("FREEZER {name}");
                Step::to(Self::Client002 {
                    peer_names,
                    offered: index,
                    freezer,
                })
                .send(line)
            }
            None => Step::fail(ChannelError::NoCommonFreezer {
                offered: names.into_iter().map(str::to_owned).collect(),
            }),
        }
    }
}

impl<P> Step<P> {
    /// Send `line` before the lines already queued.
    fn send_first(mut self, line: &str) -> Self {
        self.send.insert(0, line.to_owned());
        self
    }
}

/// The server's nonce and proof from its `AUTH=` field (`scheme:nonce:proof`).
fn server_offer(offer: &str) -> Option<(&str, &str)> {
    let mut parts = offer.split(':');
    if parts.next()? != SCHEME {
        return None;
    }
    let nonce = parts.next()?;
    let proof = parts.next()?;
    (is_nonce(nonce) && parts.next().is_none()).then_some((nonce, proof))
}
