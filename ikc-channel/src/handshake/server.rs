//! The accepting side's phases (`server_*` in Perl's `IKC/Channel.pm`).

use std::sync::Arc;

use ikc_freezer::{Freezer, STORABLE};

use super::{Agreement, AuthInput, Line, Setup, Step, announced, refused_line};
use crate::auth::{Prover, SCHEME, Transcript, is_nonce};
use crate::config::{Protocol, ServerChannelConfig, is_freezer_name};
use crate::error::{AuthError, ChannelError};

/// What a server requiring authentication tells a client that does not offer it.
const AUTH_REQUIRED: &str = "authentication required: this kernel admits only peers that prove the shared secret (ikc-rs hmac-sha256-v1)";

/// Where the server is in the negotiation.
#[derive(Debug)]
pub(crate) enum ServerPhase {
    /// `server_010` (IKC0): waiting for the client's `SETUP`, or its `HELLO`.
    Server010,
    /// `server_000` (IKC): waiting for `HELLO`; `SETUP` is refused.
    Server000,
    /// `server_001` (`negociate_001`): announcing our names, one `IAM` per
    /// `OK`; `unannounced` is popped from the end, as IKC does.
    Server001 { unannounced: Vec<String> },
    /// `server_002`: taking the client's `IAM` lines until `DONE`.
    Server002 { peer_names: Vec<String> },
    /// `server_003`: answering `FREEZER` offers until `WORLD`; `freezer` is
    /// the outcome of the last offer, as in IKC.
    Server003 {
        peer_names: Vec<String>,
        offered: Vec<String>,
        freezer: Option<Arc<dyn Freezer>>,
    },
    /// `server_auth` (ours): our `SETUP` with our proof is sent; waiting
    /// for the client's `AUTH <proof>`.
    ServerAuth {
        agreement: Agreement,
        client_nonce: String,
    },
}

impl ServerPhase {
    /// The first phase: the server waits for the client to speak.
    pub(crate) fn start(config: &ServerChannelConfig) -> Self {
        match config.protocol {
            Protocol::Ikc0 => Self::Server010,
            Protocol::Ikc => Self::Server000,
        }
    }

    /// IKC's name for this phase.
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Self::Server010 => "server_010",
            Self::Server000 => "server_000",
            Self::Server001 { .. } => "server_001",
            Self::Server002 { .. } => "server_002",
            Self::Server003 { .. } => "server_003",
            Self::ServerAuth { .. } => "server_auth",
        }
    }

    /// The transition on one line from the client.
    pub(crate) fn on_line(
        self,
        line: Line<'_>,
        config: &ServerChannelConfig,
        auth: AuthInput<'_>,
    ) -> Step<Self> {
        match (self, line) {
            (Self::Server010 | Self::Server000, Line::Hello) if config.require_auth => {
                Step::fail(AuthError::NotOffered).send(refused_line(AUTH_REQUIRED))
            }
            (Self::Server010 | Self::Server000, Line::Hello) => {
                let identity = &config.identity;
                Step::to(Self::Server001 {
                    unannounced: identity.names.clone(),
                })
                .send(format!("IAM {}", identity.kernel_id))
            }
            (phase @ (Self::Server010 | Self::Server000), Line::HelloVersion) => {
                Step::refuse(phase, line)
            }
            (Self::Server010, Line::Setup(text)) => {
                // Perl matches `^SETUP (.+)$` here and ignores other lines.
                if !text.starts_with(' ') || text.len() < 2 {
                    return Step::ignore(Self::Server010);
                }
                let Some(setup) = Setup::parse(text) else {
                    return Step::refuse(Self::Server010, line);
                };
                let Some(freezer) = config.freezers.choose(&setup.freezers) else {
                    log::warn!(
                        "client offered no freezer we have: {}",
                        setup.freezers.join(", ")
                    );
                    return Step::refuse(Self::Server010, line);
                };
                let foreign = !setup.freezers.iter().any(|f| f == ikc_freezer::NATIVE);
                let agreement = Agreement {
                    names: setup.kernels,
                    pid: setup.pid,
                    freezer,
                    protocol: Protocol::Ikc0,
                    authenticated: false,
                };
                match (&config.secret, setup.auth) {
                    (Some(secret), Some(offer)) => {
                        let Some(client_nonce) = client_nonce(&offer) else {
                            return Step::fail(AuthError::Malformed)
                                .send(refused_line("malformed AUTH field in SETUP"));
                        };
                        let server_names = announced(&config.identity);
                        let proof = transcript(&agreement, &client_nonce, &server_names, auth)
                            .prove(secret, Prover::Server);
                        let field = format!("{SCHEME}:{}:{proof}", auth.nonce);
                        let reply = Setup::line(
                            &config.identity,
                            &[agreement.freezer.name()],
                            Some(&field),
                        );
                        Step::to(Self::ServerAuth {
                            agreement,
                            client_nonce,
                        })
                        .send(reply)
                    }
                    (_, None) if config.require_auth => {
                        Step::fail(AuthError::NotOffered).send(refused_line(AUTH_REQUIRED))
                    }
                    _ => {
                        let reply = if foreign && !config.names_for_foreign_clients.is_empty() {
                            let mut identity = config.identity.clone();
                            for name in &config.names_for_foreign_clients {
                                if !identity.names.contains(name) && *name != identity.kernel_id {
                                    identity.names.push(name.clone());
                                }
                            }
                            Setup::line(&identity, &[agreement.freezer.name()], None)
                        } else {
                            Setup::line(&config.identity, &[agreement.freezer.name()], None)
                        };
                        Step::done(agreement).send(reply)
                    }
                }
            }
            (Self::Server000, Line::Setup(_)) => Step::refuse(Self::Server000, line),
            (phase @ (Self::Server010 | Self::Server000), _) => Step::ignore(phase),

            (Self::Server001 { mut unannounced }, Line::Ok) => match unannounced.pop() {
                Some(name) => Step::to(Self::Server001 { unannounced }).send(format!("IAM {name}")),
                None => Step::to(Self::Server002 {
                    peer_names: Vec::new(),
                })
                .send("DONE"),
            },
            (phase @ Self::Server001 { .. }, line) => Step::refuse(phase, line),

            (Self::Server002 { mut peer_names }, Line::Iam(name)) => {
                peer_names.push(name.to_owned());
                Step::to(Self::Server002 { peer_names }).send("OK")
            }
            (Self::Server002 { peer_names }, Line::Done) => Step::to(Self::Server003 {
                peer_names,
                offered: Vec::new(),
                freezer: None,
            }),
            (phase @ Self::Server002 { .. }, line) => Step::refuse(phase, line),

            (
                Self::Server003 {
                    peer_names,
                    mut offered,
                    freezer,
                },
                Line::Freezer(name),
            ) => {
                offered.push(name.to_owned());
                if !is_freezer_name(name) {
                    // IKC refuses the line and keeps the earlier outcome.
                    let phase = Self::Server003 {
                        peer_names,
                        offered,
                        freezer,
                    };
                    return Step::refuse(phase, line);
                }
                let freezer = config.freezers.get(name);
                let accepted = freezer.is_some();
                let phase = Self::Server003 {
                    peer_names,
                    offered,
                    freezer,
                };
                if accepted {
                    Step::to(phase).send("OK")
                } else {
                    Step::refuse(phase, line)
                }
            }
            (
                Self::Server003 {
                    peer_names,
                    offered,
                    freezer,
                },
                Line::World,
            ) => {
                // A client whose every offer was refused says WORLD anyway;
                // IKC then uses POE::Filter::Reference's default, Storable.
                let Some(freezer) = freezer.or_else(|| config.freezers.get(STORABLE)) else {
                    return Step::fail(ChannelError::NoCommonFreezer { offered });
                };
                Step::done(Agreement {
                    names: peer_names,
                    pid: None,
                    freezer,
                    protocol: Protocol::Ikc,
                    authenticated: false,
                })
                .send("UP")
            }
            (phase @ Self::Server003 { .. }, line) => Step::refuse(phase, line),

            (
                Self::ServerAuth {
                    mut agreement,
                    client_nonce,
                },
                Line::Auth(proof),
            ) => {
                let Some(secret) = &config.secret else {
                    return Step::fail(AuthError::Malformed);
                };
                let server_names = announced(&config.identity);
                let transcript = transcript(&agreement, &client_nonce, &server_names, auth);
                if !transcript.verify(secret, Prover::Client, proof) {
                    return Step::fail(AuthError::BadProof { peer: "client" }).send(refused_line(
                        "authentication failed: the client's proof does not match",
                    ));
                }
                agreement.authenticated = true;
                Step::done(agreement).send("AUTH OK")
            }
            (Self::ServerAuth { .. }, _) => Step::fail(AuthError::Malformed)
                .send(refused_line("expected the client's AUTH proof")),
        }
    }
}

/// The client's nonce from its `AUTH=` field (`scheme:nonce:PID=n`).
fn client_nonce(offer: &str) -> Option<String> {
    let mut parts = offer.split(':');
    if parts.next()? != SCHEME {
        return None;
    }
    let nonce = parts.next()?;
    is_nonce(nonce).then(|| nonce.to_owned())
}

/// What the proofs of this handshake cover, as the server sees it.
fn transcript<'a>(
    agreement: &'a Agreement,
    client_nonce: &'a str,
    server_names: &'a [String],
    auth: AuthInput<'a>,
) -> Transcript<'a> {
    Transcript {
        client_nonce,
        server_nonce: auth.nonce,
        client_names: &agreement.names,
        server_names,
        freezer: agreement.freezer.name(),
        binding: auth.binding,
    }
}
