//! Mutual shared-secret authentication, riding on IKC0's `SETUP` exchange.
//!
//! Both kernels know a secret; each proves it to the other without sending
//! it. A proof is `HMAC-SHA256(K, transcript)`, where `K` is derived from the
//! secret with HKDF-SHA256 and the transcript holds a role label (`client`
//! or `server`), a fresh random nonce from each side, the kernel names both
//! sides announced, the freezer agreed on and, when the channel runs over
//! TLS, 32 bytes exported from the TLS session (RFC 5705/8446 exporter), so
//! a proof is worth nothing outside this one connection. Proofs are
//! compared in constant time. All primitives are `ring`'s.
//!
//! On the wire (only when the client has a secret; a server without one,
//! or that does not require it, otherwise answers byte for byte as before):
//!
//! 1. client: `SETUP KERNEL=...;FREEZER=...;AUTH=hmac-sha256-v1:<nonce_c>:PID=n;PID=n`.
//!    Perl IKC reads each `;`-field with unanchored patterns, and the
//!    trailing `PID=n` makes it take the `AUTH` field for the `PID` field it
//!    already has: a Perl server neither warns nor refuses, and answers its
//!    plain `SETUP`, which tells our client that the server cannot
//!    authenticate (the client then fails after the Perl server has finished
//!    its handshake, which Perl handles as an ordinary disconnect).
//! 2. server: `SETUP KERNEL=...;FREEZER=f;AUTH=hmac-sha256-v1:<nonce_s>:<proof_s>;PID=n`.
//! 3. client, once `proof_s` checks out: `AUTH <proof_c>`.
//! 4. server, once `proof_c` checks out (and the authorization hook agrees):
//!    `AUTH OK`; frames follow.
//!
//! A side that refuses the other says why in a `REFUSED <reason>` line
//! before it closes (a Perl peer prints that line in its "Server sent ..."
//! warning).

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use ring::rand::SecureRandom;
use ring::{hkdf, hmac};
use zeroize::Zeroizing;

use crate::error::ConfigError;

/// The scheme named in the `AUTH` field.
pub(crate) const SCHEME: &str = "hmac-sha256-v1";
/// Bytes of a nonce (hex on the wire).
pub(crate) const NONCE_LEN: usize = 32;
/// The TLS exporter label binding a proof to its TLS session.
pub(crate) const EXPORTER_LABEL: &[u8] = b"EXPORTER-ikc-rs-auth-v1";
/// HKDF salt and info: the key is for this protocol and nothing else.
const KDF_SALT: &[u8] = b"ikc-rs shared-secret authentication v1";
const KDF_INFO: &[u8] = b"hmac-sha256 proof key";

/// A shared secret: the bytes every kernel of a cluster is configured with.
///
/// It is never printed (`Debug` shows `Secret(..)`), never sent, and its
/// bytes are overwritten with zeros when the last clone is dropped. Clones
/// share one copy.
///
/// # Examples
///
/// ```
/// use ikc_channel::Secret;
///
/// let secret = Secret::new("correct horse battery staple")?;
/// assert_eq!(format!("{secret:?}"), "Secret(..)");
///
/// // From a file, as `--secret-file` reads it: one trailing newline is not part of it.
/// let path = std::env::temp_dir().join(format!("ikc-secret-doc-{}", std::process::id()));
/// std::fs::write(&path, "correct horse battery staple\n")?;
/// let from_file = Secret::from_file(&path)?;
/// std::fs::remove_file(&path)?;
/// assert!(from_file == secret);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct Secret(Arc<Zeroizing<Vec<u8>>>);

impl Secret {
    /// A secret from its bytes.
    ///
    /// # Errors
    ///
    /// [`ConfigError::EmptySecret`] when there are none.
    pub fn new(bytes: impl Into<Vec<u8>>) -> Result<Self, ConfigError> {
        let bytes = Zeroizing::new(bytes.into());
        if bytes.is_empty() {
            return Err(ConfigError::EmptySecret);
        }
        Ok(Self(Arc::new(bytes)))
    }

    /// Read a secret from a file (what a `--secret-file` option names).
    /// One trailing line end (`\n` or `\r\n`) is dropped, so a file written
    /// by `echo` or an editor works; everything else is the secret.
    ///
    /// # Errors
    ///
    /// [`ConfigError::SecretFile`] when the file cannot be read, and
    /// [`ConfigError::EmptySecret`] when it holds nothing.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, ConfigError> {
        let path = path.as_ref();
        let mut bytes =
            Zeroizing::new(std::fs::read(path).map_err(|e| ConfigError::SecretFile {
                path: path.display().to_string(),
                reason: e.to_string(),
            })?);
        if bytes.ends_with(b"\n") {
            bytes.pop();
            if bytes.ends_with(b"\r") {
                bytes.pop();
            }
        }
        Self::new(std::mem::take(&mut *bytes))
    }

    /// The proof key: HKDF-SHA256 of the secret, for this protocol only.
    pub(crate) fn key(&self) -> hmac::Key {
        let salt = hkdf::Salt::new(hkdf::HKDF_SHA256, KDF_SALT);
        let prk = salt.extract(&self.0);
        let okm = prk
            .expand(&[KDF_INFO], hmac::HMAC_SHA256)
            .expect("32 bytes is a valid HKDF-SHA256 output length");
        hmac::Key::from(okm)
    }
}

impl PartialEq for Secret {
    /// Constant-time comparison of the bytes.
    fn eq(&self, other: &Self) -> bool {
        self.0.len() == other.0.len()
            && hmac::verify(
                &hmac::Key::new(hmac::HMAC_SHA256, b"compare"),
                &self.0,
                hmac::sign(&hmac::Key::new(hmac::HMAC_SHA256, b"compare"), &other.0).as_ref(),
            )
            .is_ok()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(..)")
    }
}

/// A fresh random nonce from the system's CSPRNG, hex encoded.
pub(crate) fn nonce() -> String {
    let mut bytes = [0u8; NONCE_LEN];
    ring::rand::SystemRandom::new()
        .fill(&mut bytes)
        .expect("the system random number generator failed");
    hex(&bytes)
}

/// Which side a proof is made by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Prover {
    Client,
    Server,
}

/// What both proofs of one handshake cover.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Transcript<'a> {
    pub(crate) client_nonce: &'a str,
    pub(crate) server_nonce: &'a str,
    pub(crate) client_names: &'a [String],
    pub(crate) server_names: &'a [String],
    pub(crate) freezer: &'a str,
    /// The TLS exporter value, empty in clear.
    pub(crate) binding: &'a [u8],
}

impl Transcript<'_> {
    fn bytes(&self, prover: Prover) -> Vec<u8> {
        let mut out = Vec::with_capacity(256);
        field(&mut out, SCHEME.as_bytes());
        field(
            &mut out,
            match prover {
                Prover::Client => b"client",
                Prover::Server => b"server",
            },
        );
        field(&mut out, self.client_nonce.as_bytes());
        field(&mut out, self.server_nonce.as_bytes());
        field(&mut out, self.client_names.join(",").as_bytes());
        field(&mut out, self.server_names.join(",").as_bytes());
        field(&mut out, self.freezer.as_bytes());
        field(&mut out, self.binding);
        out
    }

    /// The proof `prover` sends, hex encoded.
    pub(crate) fn prove(&self, secret: &Secret, prover: Prover) -> String {
        hex(hmac::sign(&secret.key(), &self.bytes(prover)).as_ref())
    }

    /// Does `proof` (hex) prove the secret for `prover`? Constant time.
    pub(crate) fn verify(&self, secret: &Secret, prover: Prover, proof: &str) -> bool {
        let Some(tag) = unhex(proof) else {
            return false;
        };
        hmac::verify(&secret.key(), &self.bytes(prover), &tag).is_ok()
    }
}

/// Length-prefixed, so that no two transcripts share bytes.
fn field(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as u64).to_be_bytes());
    out.extend_from_slice(bytes);
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 15)]));
    }
    out
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if text.len() % 2 != 0 || text.len() > 128 {
        return None;
    }
    let digit = |b: u8| {
        char::from(b)
            .to_digit(16)
            .and_then(|d| u8::try_from(d).ok())
    };
    text.as_bytes()
        .chunks(2)
        .map(|pair| Some(digit(pair[0])? << 4 | digit(pair[1])?))
        .collect()
}

/// Is `text` a nonce as we send them (64 lower-case hex digits)?
pub(crate) fn is_nonce(text: &str) -> bool {
    text.len() == NONCE_LEN * 2 && text.bytes().all(|b| b.is_ascii_hexdigit())
}

/// What a connecting kernel looks like to the server's authorization hook
/// ([`Authorizer`]), once the handshake (and authentication, if any) has
/// checked what can be checked.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct ConnectingPeer<'a> {
    /// The names it announced, its kernel ID first.
    pub names: &'a [String],
    /// Its address as the socket reports it (`ip:port`), when known.
    pub address: Option<&'a str>,
    /// Did it prove the shared secret?
    pub authenticated: bool,
    /// Does the connection run over TLS?
    pub tls: bool,
    /// The subject of the TLS client certificate it presented and that the
    /// server verified (mutual TLS), such as `CN=worker-1, O=Example`.
    pub certificate_subject: Option<&'a str>,
}

type AuthorizeFn = dyn Fn(&ConnectingPeer<'_>) -> Result<(), String> + Send + Sync;

/// The server's per-connection authorization hook (Lightspeed's
/// `AUTHCLIENT`): called once per connecting kernel, after the handshake
/// has checked its secret and certificate and before it is registered.
/// `Err(reason)` refuses it: the reason is logged, sent to the peer in a
/// `REFUSED` line, and the channel fails with
/// [`ChannelError::Unauthorized`](crate::ChannelError::Unauthorized).
///
/// # Examples
///
/// ```
/// use ikc_channel::{Authorizer, ConnectingPeer};
///
/// // Only authenticated kernels, and never one calling itself "admin".
/// let hook = Authorizer::new(|peer: &ConnectingPeer<'_>| {
///     if !peer.authenticated {
///         return Err("this server admits only kernels that know the secret".into());
///     }
///     if peer.names.iter().any(|n| n == "admin") {
///         return Err("the name 'admin' is reserved".into());
///     }
///     Ok(())
/// });
/// # let _ = hook;
/// ```
#[derive(Clone)]
pub struct Authorizer(Arc<AuthorizeFn>);

impl Authorizer {
    /// A hook from a closure.
    pub fn new(
        hook: impl Fn(&ConnectingPeer<'_>) -> Result<(), String> + Send + Sync + 'static,
    ) -> Self {
        Self(Arc::new(hook))
    }

    /// Ask the hook.
    ///
    /// # Errors
    ///
    /// The hook's reason for refusing.
    pub fn authorize(&self, peer: &ConnectingPeer<'_>) -> Result<(), String> {
        (self.0)(peer)
    }
}

impl fmt::Debug for Authorizer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Authorizer(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn transcript<'a>(names: &'a [String], binding: &'a [u8]) -> Transcript<'a> {
        Transcript {
            client_nonce: "aa",
            server_nonce: "bb",
            client_names: names,
            server_names: names,
            freezer: "Storable",
            binding,
        }
    }

    #[test]
    fn a_proof_verifies_only_with_the_same_secret_role_and_transcript() {
        let names = vec!["k1".to_owned()];
        let secret = Secret::new("s3cret").unwrap();
        let t = transcript(&names, b"");
        let proof = t.prove(&secret, Prover::Client);
        assert!(t.verify(&secret, Prover::Client, &proof));
        assert!(!t.verify(&secret, Prover::Server, &proof), "reflected");
        assert!(!t.verify(&Secret::new("other").unwrap(), Prover::Client, &proof));
        assert!(!transcript(&names, b"tls").verify(&secret, Prover::Client, &proof));
        let other_names = vec!["k2".to_owned()];
        assert!(!transcript(&other_names, b"").verify(&secret, Prover::Client, &proof));
        assert!(!t.verify(&secret, Prover::Client, "zz"));
        assert!(!t.verify(&secret, Prover::Client, ""));
    }

    #[test]
    fn nonces_are_fresh_hex() {
        let (a, b) = (nonce(), nonce());
        assert!(is_nonce(&a) && is_nonce(&b));
        assert_ne!(a, b);
    }

    #[test]
    fn secrets_compare_and_never_print() {
        assert!(Secret::new("a").unwrap() == Secret::new("a").unwrap());
        assert!(Secret::new("a").unwrap() != Secret::new("b").unwrap());
        assert_eq!(Secret::new(""), Err(ConfigError::EmptySecret));
        assert_eq!(
            format!("{:?}", Secret::new("hunter2").unwrap()),
            "Secret(..)"
        );
    }
}
