//! The `ikc` command-line tool, and the pieces of it other programs can use.
//!
//! `cargo install --path ikc-cli` installs the `ikc` binary:
//!
//! ```text
//! ikc call ADDR SPEC [JSON]          # prints the reply as JSON
//! ikc post ADDR SPEC [JSON]
//! ikc ping ADDR [KERNEL]             # "PONG from K in N us"
//! ikc watch ADDR [--kernel K] [--ops register,unregister,error,...]
//! ikc node --name NAME [--alias A]... [--listen ADDR]... [--connect ADDR]...
//!
//! # every command: --secret-file FILE, --tls-ca FILE [--tls-name NAME],
//! # --tls-cert FILE --tls-key FILE (a node's listeners; a client certificate)
//! ```
//!
//! Addresses are `HOST:PORT`, a bare `PORT` (on 127.0.0.1) or
//! `unix:PATH` ([`address`]). Arguments and replies are JSON, with a
//! mapping for what JSON lacks: byte strings, scalar and blessed
//! references, `undef` ([`json`]). Exit codes: 0 success, 1 an IKC error
//! (a remote error report, a bad specifier; the message is on stderr), 2 a
//! usage error (bad address, bad JSON, unknown option), 3 a connection
//! failure or a timeout.
//!
//! One-shot commands (`call`, `post`, `ping`) use
//! [ClientLite](ikc_clientlite), so they work against Perl IKC servers
//! too. `watch` calls the kernel's `IKC/watch` state (an ikc-rs kernel),
//! which posts every monitor event back to it. `node` runs a standalone
//! kernel that listens and dials, redialling with backoff.
//!
//! # Examples
//!
//! ```
//! use ikc_cli::address::Addr;
//! use ikc_cli::json::{from_json_text, to_json};
//!
//! let addr: Addr = "31337".parse()?;
//! assert_eq!(addr.to_string(), "127.0.0.1:31337");
//! let args = from_json_text(r#"{"$blessed": "My::Point", "$value": [1, 2]}"#)?;
//! assert_eq!(to_json(&args).to_string(), r#"{"$blessed":"My::Point","$value":[1,2]}"#);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![warn(missing_docs)]
#![forbid(unsafe_code)]
#![doc(test(attr(deny(warnings))))]

pub mod address;
pub mod event;
pub mod json;
