//! `--secret-file`, `--tls-ca`, `--tls-name`, `--tls-cert` and `--tls-key`:
//! what they make of the links `ikc` opens and listens on.

use std::path::PathBuf;

use ikc_cli::address::Addr;
use ikc_clientlite::{Secret, TlsClient};
use ikc_server::TlsServer;

use crate::Common;
use crate::failure::Failure;

/// The security options, loaded once.
#[derive(Debug, Clone, Default)]
pub(crate) struct Security {
    /// The shared secret, from `--secret-file`.
    pub(crate) secret: Option<Secret>,
    /// `--tls-ca`: connect with TLS, verifying the server against it.
    ca: Option<PathBuf>,
    /// `--tls-name`: the name the server's certificate must carry.
    name: Option<String>,
    /// `--tls-cert` and `--tls-key`: a listener's certificate, and the
    /// client certificate a connection presents.
    identity: Option<(PathBuf, PathBuf)>,
}

impl Security {
    /// Read the options (and the secret file).
    pub(crate) fn load(common: &Common) -> Result<Self, Failure> {
        let secret = common
            .secret_file
            .as_ref()
            .map(Secret::from_file)
            .transpose()
            .map_err(|e| Failure::Usage(format!("--secret-file: {e}")))?;
        let identity = match (&common.tls_cert, &common.tls_key) {
            (Some(cert), Some(key)) => Some((cert.clone(), key.clone())),
            (None, None) => None,
            _ => {
                return Err(Failure::Usage(
                    "--tls-cert and --tls-key go together".into(),
                ));
            }
        };
        Ok(Self {
            secret,
            ca: common.tls_ca.clone(),
            name: common.tls_name.clone(),
            identity,
        })
    }

    /// TLS for a connection to `addr`, when `--tls-ca` is given: the
    /// server must carry `--tls-name`, or the host of `addr`.
    pub(crate) fn client_tls(&self, addr: &Addr) -> Result<Option<TlsClient>, Failure> {
        let Some(ca) = &self.ca else {
            return Ok(None);
        };
        let name = match (&self.name, addr) {
            (Some(name), _) => name.clone(),
            (None, Addr::Tcp { host, .. }) => host.clone(),
            (None, Addr::Unix(_)) => {
                return Err(Failure::Usage(
                    "--tls-ca over a Unix socket needs --tls-name".into(),
                ));
            }
        };
        let identity = self
            .identity
            .as_ref()
            .map(|(cert, key)| (cert.as_path(), key.as_path()));
        TlsClient::from_pem_files(ca, &name, identity)
            .map(Some)
            .map_err(|e| Failure::Usage(format!("TLS: {e}")))
    }

    /// TLS for a listener, when `--tls-cert` and `--tls-key` are given
    /// (with `--tls-ca`, clients must present a certificate from that CA).
    pub(crate) fn server_tls(&self) -> Result<Option<TlsServer>, Failure> {
        let Some((cert, key)) = &self.identity else {
            return Ok(None);
        };
        TlsServer::from_pem_files(cert, key, self.ca.as_deref())
            .map(Some)
            .map_err(|e| Failure::Usage(format!("TLS: {e}")))
    }
}
