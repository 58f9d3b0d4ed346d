//! Where a kernel listens: `HOST:PORT`, a bare `PORT` (on 127.0.0.1), or
//! `unix:PATH`.
//!
//! ```
//! use ikc_cli::address::Addr;
//!
//! assert_eq!("31337".parse::<Addr>()?, Addr::Tcp { host: "127.0.0.1".into(), port: 31337 });
//! assert_eq!("[::1]:80".parse::<Addr>()?, Addr::Tcp { host: "::1".into(), port: 80 });
//! assert_eq!("unix:/tmp/ikc.sock".parse::<Addr>()?, Addr::Unix("/tmp/ikc.sock".into()));
//! assert!("localhost".parse::<Addr>().is_err());
//! # Ok::<(), ikc_cli::address::AddrError>(())
//! ```

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

/// A kernel's address on the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Addr {
    /// A TCP address.
    Tcp {
        /// Host name or IP address (without brackets for IPv6).
        host: String,
        /// Port (0 for a listener: pick one).
        port: u16,
    },
    /// A Unix-domain socket.
    Unix(PathBuf),
}

/// Why a text is not an address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("bad address {text:?}: {reason} (expected HOST:PORT, PORT or unix:PATH)")]
pub struct AddrError {
    /// The text given.
    pub text: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

impl FromStr for Addr {
    type Err = AddrError;

    fn from_str(text: &str) -> Result<Self, AddrError> {
        let fail = |reason| AddrError {
            text: text.to_owned(),
            reason,
        };
        if let Some(path) = text.strip_prefix("unix:") {
            if path.is_empty() {
                return Err(fail("the socket path is empty"));
            }
            return Ok(Self::Unix(PathBuf::from(path)));
        }
        let port = |p: &str| {
            p.parse::<u16>()
                .map_err(|_| fail("the port is not a number from 0 to 65535"))
        };
        if text.bytes().all(|b| b.is_ascii_digit()) && !text.is_empty() {
            return Ok(Self::Tcp {
                host: "127.0.0.1".to_owned(),
                port: port(text)?,
            });
        }
        let Some((host, p)) = text.rsplit_once(':') else {
            return Err(fail("no port"));
        };
        let host = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host);
        if host.is_empty() {
            return Err(fail("no host"));
        }
        if host.contains(':') && !text.starts_with('[') {
            return Err(fail("an IPv6 address must be in brackets"));
        }
        Ok(Self::Tcp {
            host: host.to_owned(),
            port: port(p)?,
        })
    }
}

impl fmt::Display for Addr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Tcp { host, port } if host.contains(':') => write!(f, "[{host}]:{port}"),
            Self::Tcp { host, port } => write!(f, "{host}:{port}"),
            Self::Unix(path) => write!(f, "unix:{}", path.display()),
        }
    }
}

impl From<&Addr> for ikc_clientlite::Address {
    fn from(addr: &Addr) -> Self {
        match addr {
            Addr::Tcp { host, port } => Self::Tcp {
                host: host.clone(),
                port: *port,
            },
            Addr::Unix(path) => Self::Unix(path.clone()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_addresses_say_why() {
        for (text, reason) in [
            ("", "no port"),
            ("host", "no port"),
            (":80", "no host"),
            ("h:99999", "the port is not a number from 0 to 65535"),
            ("h:x", "the port is not a number from 0 to 65535"),
            ("70000", "the port is not a number from 0 to 65535"),
            ("::1:80", "an IPv6 address must be in brackets"),
            ("unix:", "the socket path is empty"),
        ] {
            assert_eq!(text.parse::<Addr>().unwrap_err().reason, reason, "{text}");
        }
    }

    #[test]
    fn display_reads_back() {
        for text in ["127.0.0.1:1", "[::1]:2", "unix:/x/y", "example.org:31337"] {
            let addr: Addr = text.parse().unwrap();
            assert_eq!(addr.to_string(), text);
            assert_eq!(addr.to_string().parse::<Addr>().unwrap(), addr);
        }
    }
}
