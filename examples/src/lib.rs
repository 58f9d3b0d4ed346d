//! Helpers shared by the example programs (`cargo run --example NAME`):
//! command-line flags, the `test` session IKC's examples publish, the
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

use std::collections::HashMap;

/// The handshake protocol named by `--protocol` (`IKC0`, the default, or `IKC`).
///
/// # Errors
///
/// Another name.
pub fn protocol(name: Option<&str>) -> anyhow::Result<ikc_responder::Protocol> {
    match name.map(str::to_ascii_uppercase).as_deref() {
        None | Some("IKC0") => Ok(ikc_responder::Protocol::Ikc0),
        Some("IKC") => Ok(ikc_responder::Protocol::Ikc),
        Some(other) => anyhow::bail!("--protocol {other:?}: expected IKC0 or IKC"),
    }
}

/// Start logging for an example: `RUST_LOG` if set, else `info`.
pub fn init_logging() {
    let _ = env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info"))
        .format_timestamp_millis()
        .try_init();
}

/// `--flag value` command-line options (and bare `--flag` switches).
#[derive(Debug, Default)]
pub struct Args {
    values: HashMap<String, String>,
}

impl Args {
    /// Read the process's arguments; `known` lists the flags that take a
    /// value, `switches` those that do not.
    ///
    /// # Errors
    ///
    /// An unknown flag, or a flag without its value.
    pub fn parse(known: &[&str], switches: &[&str]) -> anyhow::Result<Self> {
        Self::parse_from(std::env::args().skip(1), known, switches)
    }

    /// Read `args` (without the program name).
    ///
    /// # Errors
    ///
    /// An unknown flag, or a flag without its value.
    pub fn parse_from(
        args: impl IntoIterator<Item = String>,
        known: &[&str],
        switches: &[&str],
    ) -> anyhow::Result<Self> {
        let mut values = HashMap::new();
        let mut args = args.into_iter();
        while let Some(arg) = args.next() {
            let Some(flag) = arg.strip_prefix("--") else {
                anyhow::bail!(
                    "unexpected argument {arg:?} (flags: --{})",
                    known.join(", --")
                );
            };
            if switches.contains(&flag) {
                values.insert(flag.to_owned(), String::new());
            } else if known.contains(&flag) {
                let Some(value) = args.next() else {
                    anyhow::bail!("--{flag} needs a value");
                };
                values.insert(flag.to_owned(), value);
            } else {
                anyhow::bail!("unknown flag --{flag} (flags: --{})", known.join(", --"));
            }
        }
        Ok(Self { values })
    }

    /// The value of `--flag`, if given.
    pub fn get(&self, flag: &str) -> Option<&str> {
        self.values.get(flag).map(String::as_str)
    }

    /// The value of `--flag`, or `default`.
    pub fn get_or<'a>(&'a self, flag: &str, default: &'a str) -> &'a str {
        self.get(flag).unwrap_or(default)
    }

    /// Was the switch `--flag` given?
    pub fn has(&self, flag: &str) -> bool {
        self.values.contains_key(flag)
    }

    /// `--flag` as a number, or `default`.
    ///
    /// # Errors
    ///
    /// The value is not a number.
    pub fn number<T: std::str::FromStr>(&self, flag: &str, default: T) -> anyhow::Result<T>
    where
        T::Err: std::fmt::Display,
    {
        match self.get(flag) {
            None => Ok(default),
            Some(v) => v
                .parse()
                .map_err(|e| anyhow::anyhow!("--{flag} {v:?}: {e}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Args;

    #[test]
    fn flags_values_and_switches() {
        let args = Args::parse_from(
            ["--port", "31337", "--once"].map(String::from),
            &["port", "name"],
            &["once"],
        )
        .unwrap();
        assert_eq!(args.number("port", 0u16).unwrap(), 31337);
        assert_eq!(args.get_or("name", "Server"), "Server");
        assert!(args.has("once"));
        assert!(Args::parse_from(["--bogus".to_owned()], &["port"], &[]).is_err());
        assert!(Args::parse_from(["--port".to_owned()], &["port"], &[]).is_err());
    }
}
