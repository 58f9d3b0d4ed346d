//! Command-line options: `--key value` pairs.

use std::str::FromStr;

use anyhow::{Context, Result, bail};

/// Every option any scenario reads.
const KNOWN: [&str; 13] = [
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
];

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
