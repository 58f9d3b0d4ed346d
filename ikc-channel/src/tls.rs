//! TLS inside the sans-IO [`Channel`](crate::Channel): rustls over byte
//! buffers (`read_tls`, `process_new_packets`, `reader`, `writer`,
//! `write_tls`), so the event-loop channel and ClientLite both get it.
//!
//! [`TlsServer`] and [`TlsClient`] are the configurations, made from PEM
//! files (what `--tls-cert`, `--tls-key` and `--tls-ca` name) or from a
//! rustls configuration of your own. One crypto provider is used, ring's,
//! chosen explicitly so that nothing depends on a process-wide default;
//! only TLS 1.3 is offered.

use std::io::{Read, Write};
use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::server::WebPkiClientVerifier;
use rustls::{ClientConnection, RootCertStore, ServerConnection};

use crate::error::{ChannelError, TlsConfigError, TlsError};

/// ring's provider, the only one linked (aws-lc-rs needs cmake to build).
/// rustls 0.23.48 deprecates it for lacking post-quantum key exchange; its
/// classical X25519 and P-256 remain what TLS 1.3 peers negotiate today.
#[allow(deprecated)]
fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn load_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsConfigError> {
    let bad = |reason: String| TlsConfigError::Pem {
        path: path.display().to_string(),
        reason,
    };
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| bad(e.to_string()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad(e.to_string()))?;
    if certs.is_empty() {
        return Err(bad("no certificate in the file".into()));
    }
    Ok(certs)
}

fn load_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsConfigError> {
    PrivateKeyDer::from_pem_file(path).map_err(|e| TlsConfigError::Pem {
        path: path.display().to_string(),
        reason: e.to_string(),
    })
}

fn load_roots(path: &Path) -> Result<Arc<RootCertStore>, TlsConfigError> {
    let mut roots = RootCertStore::empty();
    for cert in load_certs(path)? {
        roots.add(cert).map_err(|e| TlsConfigError::Pem {
            path: path.display().to_string(),
            reason: format!("not a usable CA certificate: {e}"),
        })?;
    }
    Ok(Arc::new(roots))
}

/// The TLS side of a listening kernel: its certificate chain and key, and
/// optionally the CA its clients' certificates must chain to (mutual TLS).
///
/// # Examples
///
/// ```no_run
/// use ikc_channel::TlsServer;
///
/// // --tls-cert and --tls-key
/// let tls = TlsServer::from_pem_files("server.pem", "server.key", None)?;
/// // Mutual TLS: clients must present a certificate signed by this CA.
/// let mutual = TlsServer::from_pem_files("server.pem", "server.key", Some("clients-ca.pem".as_ref()))?;
/// # let _ = (tls, mutual);
/// # Ok::<(), ikc_channel::TlsConfigError>(())
/// ```
#[derive(Debug, Clone)]
pub struct TlsServer {
    config: Arc<rustls::ServerConfig>,
}

impl TlsServer {
    /// From PEM files: `cert` holds the server's certificate chain (its own
    /// first), `key` its private key (PKCS#8, PKCS#1 or SEC1); with
    /// `client_ca`, every client must present a certificate chaining to a
    /// CA in that file, and its subject is given to the authorization hook.
    ///
    /// # Errors
    ///
    /// [`TlsConfigError`] when a file cannot be read or parsed, or the key
    /// does not suit the certificate.
    pub fn from_pem_files(
        cert: impl AsRef<Path>,
        key: impl AsRef<Path>,
        client_ca: Option<&Path>,
    ) -> Result<Self, TlsConfigError> {
        let certs = load_certs(cert.as_ref())?;
        let key = load_key(key.as_ref())?;
        let builder = rustls::ServerConfig::builder_with_provider(provider())
            .with_protocol_versions(&[&rustls::version::TLS13])
            .map_err(TlsConfigError::Rustls)?;
        let builder = match client_ca {
            Some(ca) => {
                let verifier =
                    WebPkiClientVerifier::builder_with_provider(load_roots(ca)?, provider())
                        .build()
                        .map_err(|e| TlsConfigError::Verifier(e.to_string()))?;
                builder.with_client_cert_verifier(verifier)
            }
            None => builder.with_no_client_auth(),
        };
        let config = builder
            .with_single_cert(certs, key)
            .map_err(TlsConfigError::Rustls)?;
        Ok(Self::from_config(Arc::new(config)))
    }

    /// From a rustls configuration of your own (it must use a crypto
    /// provider, such as ring's, and allow TLS 1.3, whose exporter binds
    /// the shared-secret proofs to the session).
    pub fn from_config(config: Arc<rustls::ServerConfig>) -> Self {
        Self { config }
    }

    /// The rustls configuration.
    pub fn config(&self) -> &Arc<rustls::ServerConfig> {
        &self.config
    }
}

/// The TLS side of a connecting kernel: the CA file the server's
/// certificate must chain to, the name it must carry, and optionally a
/// certificate of our own (mutual TLS).
///
/// # Examples
///
/// ```no_run
/// use ikc_channel::TlsClient;
///
/// // --tls-ca; the server's certificate must name "ikc.example.net".
/// let tls = TlsClient::from_pem_files("ca.pem", "ikc.example.net", None)?;
/// // With a client certificate, for a server that requires one.
/// let mutual = TlsClient::from_pem_files(
///     "ca.pem",
///     "ikc.example.net",
///     Some(("client.pem".as_ref(), "client.key".as_ref())),
/// )?;
/// # let _ = (tls, mutual);
/// # Ok::<(), ikc_channel::TlsConfigError>(())
/// ```
#[derive(Debug, Clone)]
pub struct TlsClient {
    config: Arc<rustls::ClientConfig>,
    server_name: ServerName<'static>,
}

impl TlsClient {
    /// From PEM files: `ca` holds the CA certificates the server's chain
    /// must lead to; `server_name` is the DNS name or IP address its
    /// certificate must carry; `identity` is our certificate chain and key
    /// files, for servers that require client certificates.
    ///
    /// # Errors
    ///
    /// [`TlsConfigError`] when a file cannot be read or parsed, or the
    /// server name is neither a DNS name nor an IP address.
    pub fn from_pem_files(
        ca: impl AsRef<Path>,
        server_name: &str,
        identity: Option<(&Path, &Path)>,
    ) -> Result<Self, TlsConfigError> {
        let roots = load_roots(ca.as_ref())?;
        let builder = rustls::ClientConfig::builder_with_provider(provider())
            .with_protocol_versions(&[&rustls::version::TLS13])
            .map_err(TlsConfigError::Rustls)?
            .with_root_certificates(roots);
        let config = match identity {
            Some((cert, key)) => builder
                .with_client_auth_cert(load_certs(cert)?, load_key(key)?)
                .map_err(TlsConfigError::Rustls)?,
            None => builder.with_no_client_auth(),
        };
        Self::from_config(Arc::new(config), server_name)
    }

    /// From a rustls configuration of your own and the server name to verify.
    ///
    /// # Errors
    ///
    /// [`TlsConfigError::ServerName`] when `server_name` is neither a DNS
    /// name nor an IP address.
    pub fn from_config(
        config: Arc<rustls::ClientConfig>,
        server_name: &str,
    ) -> Result<Self, TlsConfigError> {
        let server_name = ServerName::try_from(server_name.to_owned())
            .map_err(|_| TlsConfigError::ServerName(server_name.to_owned()))?;
        Ok(Self {
            config,
            server_name,
        })
    }

    /// The same configuration, verifying the server under another name.
    ///
    /// # Errors
    ///
    /// As for [`from_config`](Self::from_config).
    pub fn with_server_name(self, server_name: &str) -> Result<Self, TlsConfigError> {
        Self::from_config(self.config, server_name)
    }

    /// The name the server's certificate must carry.
    pub fn server_name(&self) -> &ServerName<'static> {
        &self.server_name
    }
}

/// A rustls connection driven over buffers.
pub(crate) struct TlsLayer {
    conn: rustls::Connection,
    /// Has the peer sent anything yet (to recognise a peer not speaking TLS)?
    heard: bool,
}

impl TlsLayer {
    /// The connecting end, boxed (see [`new`](Self::new)).
    pub(crate) fn client(tls: &TlsClient) -> Result<Box<Self>, ChannelError> {
        let conn = ClientConnection::new(Arc::clone(&tls.config), tls.server_name.clone())
            .map_err(|e| ChannelError::Tls(TlsError::Rustls(e)))?;
        Ok(Self::new(conn.into()))
    }

    /// The accepting end, boxed (see [`new`](Self::new)).
    pub(crate) fn server(tls: &TlsServer) -> Result<Box<Self>, ChannelError> {
        let conn = ServerConnection::new(Arc::clone(&tls.config))
            .map_err(|e| ChannelError::Tls(TlsError::Rustls(e)))?;
        Ok(Self::new(conn.into()))
    }

    /// Boxed: a rustls connection is large, and a channel in clear (the
    /// usual kind) should not carry its room.
    fn new(mut conn: rustls::Connection) -> Box<Self> {
        // Our own transmit buffer and the socket's high-water mark bound
        // what waits; rustls must take all of it.
        conn.set_buffer_limit(None);
        Box::new(Self { conn, heard: false })
    }

    /// Decrypt `input` into `plain`.
    pub(crate) fn read(&mut self, mut input: &[u8], plain: &mut Vec<u8>) -> Result<(), TlsError> {
        if !self.heard && !input.is_empty() {
            self.heard = true;
            // A TLS record starts with its content type, 20 to 24.
            if !(20..=24).contains(&input[0]) {
                return Err(TlsError::NotTls { first: input[0] });
            }
        }
        while !input.is_empty() {
            self.conn
                .read_tls(&mut input)
                .map_err(|e| TlsError::Io(e.to_string()))?;
            let state = self.conn.process_new_packets().map_err(TlsError::Rustls)?;
            let n = state.plaintext_bytes_to_read();
            if n > 0 {
                let start = plain.len();
                plain.resize(start + n, 0);
                self.conn
                    .reader()
                    .read_exact(&mut plain[start..])
                    .map_err(|e| TlsError::Io(e.to_string()))?;
            }
        }
        Ok(())
    }

    /// Encrypt `plain` (emptied) and append every record to write to `out`.
    pub(crate) fn write(&mut self, plain: &mut Vec<u8>, out: &mut Vec<u8>) {
        if !plain.is_empty() {
            // Cannot fail: the buffer limit is off.
            let _ = self.conn.writer().write_all(plain);
            plain.clear();
        }
        self.flush(out);
    }

    /// Append the records rustls has to send (handshake, alerts) to `out`.
    pub(crate) fn flush(&mut self, out: &mut Vec<u8>) {
        while self.conn.wants_write() {
            if self.conn.write_tls(out).is_err() {
                break;
            }
        }
    }

    pub(crate) fn wants_write(&self) -> bool {
        self.conn.wants_write()
    }

    /// 32 bytes bound to this TLS session, for the authentication proofs.
    pub(crate) fn binding(&self) -> Option<Vec<u8>> {
        self.conn
            .export_keying_material(vec![0u8; 32], crate::auth::EXPORTER_LABEL, None)
            .ok()
    }

    /// The subject of the peer's (verified) end-entity certificate.
    pub(crate) fn peer_subject(&self) -> Option<String> {
        let der = self.conn.peer_certificates()?.first()?;
        let (_, cert) = x509_parser::parse_x509_certificate(der.as_ref()).ok()?;
        Some(cert.subject().to_string())
    }
}
