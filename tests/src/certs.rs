//! Certificates made at test time (nothing secret is committed): a CA, a
//! server certificate for `localhost` and `127.0.0.1`, a client
//! certificate, an expired server certificate, and a server certificate
//! from a CA nobody trusts, written as PEM files into a temporary directory.

use std::path::PathBuf;

use ikc_channel::{TlsClient, TlsServer};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    date_time_ymd,
};

use crate::harness::TempDir;

/// A throw-away PKI in a temporary directory.
#[derive(Debug)]
pub struct TestPki {
    dir: TempDir,
}

/// The subject of [`TestPki`]'s client certificate.
pub const CLIENT_SUBJECT: &str = "CN=worker-1, O=ikc tests";

impl TestPki {
    /// Make the files: `ca.pem`; `server.pem`/`server.key`;
    /// `client.pem`/`client.key`; `expired.pem`/`expired.key`;
    /// `rogue.pem`/`rogue.key` (signed by another CA).
    ///
    /// # Panics
    ///
    /// If a certificate cannot be made or written.
    pub fn new() -> Self {
        let dir = TempDir::new();
        let write = |name: &str, text: String| {
            std::fs::write(dir.path().join(name), text).expect("write a PEM file");
        };
        let (ca_pem, ca) = authority("ikc test CA");
        write("ca.pem", ca_pem);
        let (_, rogue_ca) = authority("someone else's CA");
        let server_names = vec!["localhost".to_owned(), "127.0.0.1".to_owned()];
        let leaf = |names: Vec<String>, cn: &str, client: bool, expired: bool, issuer| {
            let key = KeyPair::generate().expect("key");
            let mut params = CertificateParams::new(names).expect("params");
            params.distinguished_name.push(DnType::CommonName, cn);
            params
                .distinguished_name
                .push(DnType::OrganizationName, "ikc tests");
            params.extended_key_usages = vec![if client {
                ExtendedKeyUsagePurpose::ClientAuth
            } else {
                ExtendedKeyUsagePurpose::ServerAuth
            }];
            if expired {
                params.not_before = date_time_ymd(2019, 1, 1);
                params.not_after = date_time_ymd(2020, 1, 1);
            }
            let cert = params.signed_by(&key, issuer).expect("sign");
            (cert.pem(), key.serialize_pem())
        };
        for (name, (cert, key)) in [
            (
                "server",
                leaf(server_names.clone(), "ikc server", false, false, &ca),
            ),
            ("client", leaf(Vec::new(), "worker-1", true, false, &ca)),
            (
                "expired",
                leaf(server_names.clone(), "ikc server", false, true, &ca),
            ),
            (
                "rogue",
                leaf(server_names, "ikc server", false, false, &rogue_ca),
            ),
        ] {
            write(&format!("{name}.pem"), cert);
            write(&format!("{name}.key"), key);
        }
        Self { dir }
    }

    /// The path of one of the files.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// A TLS server with `server.pem` (or `expired`/`rogue`, by the
    /// files' stem); with `mutual`, clients need a certificate from the CA.
    ///
    /// # Panics
    ///
    /// If the files do not load.
    pub fn server(&self, stem: &str, mutual: bool) -> TlsServer {
        let ca = self.path("ca.pem");
        TlsServer::from_pem_files(
            self.path(&format!("{stem}.pem")),
            self.path(&format!("{stem}.key")),
            mutual.then_some(ca.as_path()),
        )
        .expect("TLS server configuration")
    }

    /// A TLS client trusting the CA, verifying `server_name`, with the
    /// client certificate if `with_cert`.
    ///
    /// # Panics
    ///
    /// If the files do not load.
    pub fn client(&self, server_name: &str, with_cert: bool) -> TlsClient {
        let (cert, key) = (self.path("client.pem"), self.path("client.key"));
        TlsClient::from_pem_files(
            self.path("ca.pem"),
            server_name,
            with_cert.then_some((cert.as_path(), key.as_path())),
        )
        .expect("TLS client configuration")
    }
}

impl Default for TestPki {
    fn default() -> Self {
        Self::new()
    }
}

fn authority(name: &str) -> (String, Issuer<'static, KeyPair>) {
    let key = KeyPair::generate().expect("key");
    let mut params = CertificateParams::new(Vec::new()).expect("params");
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    let cert = params.self_signed(&key).expect("self-sign");
    (cert.pem(), Issuer::new(params, key))
}
