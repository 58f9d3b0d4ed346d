//! `--tls` and `--secret`: the benchmark makes a CA, a certificate for
//! 127.0.0.1 and a secret file in a temporary directory, starts the server
//! with them (`serve --tls-dir DIR --secret-file FILE`), and its clients
//! verify and authenticate with them.

use std::path::PathBuf;

use anyhow::{Context, Result};
use ikc_client::ClientConfig;
use ikc_clientlite::Builder;
use ikc_server::{Secret, ServerConfig, TlsServer};

use crate::args::Args;

/// What the clients of one run use.
#[derive(Debug, Clone, Default)]
pub(crate) struct Security {
    tls: Option<ikc_clientlite::TlsClient>,
    secret: Option<Secret>,
}

impl Security {
    /// For `--tls` and `--secret`, make the files and return the options
    /// to start the server with; `args` unchanged otherwise.
    pub(crate) fn prepare(args: &Args) -> Result<(Args, Self)> {
        let (tls, secret) = (args.flag("tls"), args.flag("secret"));
        if !tls && !secret {
            return Ok((args.clone(), Self::default()));
        }
        let dir = std::env::temp_dir().join(format!("ikc-bench-{}", std::process::id()));
        std::fs::create_dir_all(&dir).context("creating the certificate directory")?;
        let mut args = args.clone();
        let mut security = Self::default();
        if tls {
            write_certificates(&dir)?;
            security.tls = Some(ikc_clientlite::TlsClient::from_pem_files(
                dir.join("ca.pem"),
                "127.0.0.1",
                None,
            )?);
            args = args.with("tls-dir", &dir.to_string_lossy());
        }
        if secret {
            let file = dir.join("secret");
            std::fs::write(&file, "benchmark secret\n")?;
            security.secret = Some(Secret::from_file(&file)?);
            args = args.with("secret-file", &file.to_string_lossy());
        }
        Ok((args, security))
    }

    /// A label for the output: `clear`, `tls`, `secret` or `tls+secret`.
    pub(crate) fn label(&self) -> &'static str {
        match (self.tls.is_some(), self.secret.is_some()) {
            (false, false) => "clear",
            (true, false) => "tls",
            (false, true) => "secret",
            (true, true) => "tls+secret",
        }
    }

    pub(crate) fn client(&self, mut config: ClientConfig) -> ClientConfig {
        if let Some(tls) = &self.tls {
            config = config.tls(tls.clone());
        }
        if let Some(secret) = &self.secret {
            config = config.secret(secret.clone());
        }
        config
    }

    pub(crate) fn lite(&self, mut builder: Builder) -> Builder {
        if let Some(tls) = &self.tls {
            builder = builder.tls(tls.clone());
        }
        if let Some(secret) = &self.secret {
            builder = builder.secret(secret.clone());
        }
        builder
    }
}

/// The server's side: `--tls-dir` and `--secret-file` given to `serve`.
pub(crate) fn server(args: &Args, mut config: ServerConfig) -> Result<ServerConfig> {
    if let Some(dir) = args.get("tls-dir") {
        let dir = PathBuf::from(dir);
        config = config.tls(TlsServer::from_pem_files(
            dir.join("server.pem"),
            dir.join("server.key"),
            None,
        )?);
    }
    if let Some(file) = args.get("secret-file") {
        config = config.secret(Secret::from_file(file)?);
    }
    Ok(config)
}

fn write_certificates(dir: &std::path::Path) -> Result<()> {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
    let ca_key = KeyPair::generate()?;
    let mut ca = CertificateParams::new(Vec::new())?;
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_cert = ca.self_signed(&ca_key)?;
    let issuer = Issuer::new(ca, ca_key);
    let key = KeyPair::generate()?;
    let cert = CertificateParams::new(vec!["127.0.0.1".to_owned()])?.signed_by(&key, &issuer)?;
    std::fs::write(dir.join("ca.pem"), ca_cert.pem())?;
    std::fs::write(dir.join("server.pem"), cert.pem())?;
    std::fs::write(dir.join("server.key"), key.serialize_pem())?;
    Ok(())
}
