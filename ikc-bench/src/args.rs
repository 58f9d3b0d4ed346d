//! Command-line options: `--key value` pairs.

use std::str::FromStr;

use anyhow::{Context, Result, bail};

/// Every option any scenario reads.
const KNOWN: [&str; 23] = [
    "nats",
    "monitor-messages",
    "tls",
    "secret",
    "tls-dir",
    "secret-file",
    "calls",
    "n",
    "codec",
    "batch",
    "window",
    "warmup",
    "threads",
    "connections",
    "port",
    "connect",
    "server-wrap",
    "host",
    "timeout",
    "hops",
    "kernels",
    "rounds",
    "next",
];

/// Options that take no value.
const FLAGS: [&str; 3] = ["tls", "secret", "monitor-messages"];

/// The options given after the scenario name.
#[derive(Debug, Clone, Default)]
pub(crate) struct Args {
    pairs: Vec<(String, String)>,
}

impl Args {
    /// Read `--key value` pairs (or `--key=value`).
    pub(crate) fn parse(argv: impl Iterator<Item = String>) -> Result<Self> {
        let mut pairs = Vec::new();
        let mut argv = argv.peekable();
        while let Some(arg) = argv.next() {
            let Some(key) = arg.strip_prefix("--") else {
                bail!("unexpected argument {arg:?}: options are --key value");
            };
            let (key, value) = match key.split_once('=') {
                Some((k, v)) => (k.to_owned(), v.to_owned()),
                None if FLAGS.contains(&key) => (key.to_owned(), "on".to_owned()),
                None => {
                    let value = argv
                        .next()
                        .with_context(|| format!("--{key} needs a value"))?;
                    (key.to_owned(), value)
                }
            };
            if !KNOWN.contains(&key.as_str()) {
                bail!("unknown option --{key} (known: --{})", KNOWN.join(", --"));
            }
            pairs.push((key, value));
        }
        Ok(Self { pairs })
    }

    /// Was the flag `key` given?
    pub(crate) fn flag(&self, key: &str) -> bool {
        self.get(key).is_some_and(|v| v != "off")
    }

    /// The last value given for `key`.
    pub(crate) fn get(&self, key: &str) -> Option<&str> {
        self.pairs
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The value of `key`, or `default`.
    pub(crate) fn get_or<'a>(&'a self, key: &str, default: &'a str) -> &'a str {
        self.get(key).unwrap_or(default)
    }

    /// `key` read as a number, or `default`.
    pub(crate) fn number<T: FromStr>(&self, key: &str, default: T) -> Result<T>
    where
        T::Err: std::error::Error + Send + Sync + 'static,
    {
        match self.get(key) {
            Some(v) => v
                .replace('_', "")
                .parse()
                .with_context(|| format!("--{key} {v}")),
            None => Ok(default),
        }
    }

    /// These options with `key` set to `value`.
    pub(crate) fn with(&self, key: &str, value: &str) -> Self {
        let mut args = self.clone();
        args.pairs.push((key.to_owned(), value.to_owned()));
        args
    }
}
