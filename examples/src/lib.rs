//! Helpers shared by the example programs (`cargo run --example NAME`):
//! the `--protocol` flag, the `test` session IKC's examples publish, the
//! client's walk through post, call, subscribe and monitor ([`demo`]), the
//! time-server pair ([`timeserver`]) and the reconnecting monitor
//! ([`watcher`]). The integration tests run the same code in threads.

#![warn(missing_docs)]
#![forbid(unsafe_code)]

pub mod demo;
pub mod mesh;
pub mod test_session;
pub mod timeserver;
pub mod watcher;

/// `--protocol`: the handshake to start with, `IKC0` (the default, falling
/// back to IKC by itself) or `IKC`, in any case. A clap value parser.
///
/// # Errors
///
/// Another name.
pub fn parse_protocol(name: &str) -> Result<ikc_responder::Protocol, String> {
    match name.to_ascii_uppercase().as_str() {
        "IKC0" => Ok(ikc_responder::Protocol::Ikc0),
        "IKC" => Ok(ikc_responder::Protocol::Ikc),
        _ => Err(format!("{name:?}: expected IKC0 or IKC")),
    }
}

/// Where a client example connects (`--port`, `--host`, `--unix`): the
/// server example's address by default.
#[derive(Debug, Clone, clap::Args)]
pub struct ServerAddress {
    /// The server's TCP port.
    #[arg(long, default_value_t = 31337)]
    pub port: u16,
    /// The server's host (IKC's `ip`).
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// Connect to this Unix socket instead of TCP.
    #[arg(long)]
    pub unix: Option<String>,
}

/// Start logging for an example: `RUST_LOG` if set, else `info`.
pub fn init_logging() {
    let _ = env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info"))
        .format_timestamp_millis()
        .try_init();
}

#[cfg(test)]
mod tests {
    use super::parse_protocol;

    #[test]
    fn protocols_by_name() {
        assert_eq!(parse_protocol("ikc0"), Ok(ikc_responder::Protocol::Ikc0));
        assert_eq!(parse_protocol("IKC"), Ok(ikc_responder::Protocol::Ikc));
        assert!(parse_protocol("IKC2").is_err());
    }
}
