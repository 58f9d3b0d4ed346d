//! IKC event specifiers: `poe://kernel/session/state`.
//!
//! An IKC specifier names a kernel, a session in it and a state (event) of
//! that session, the way POE::Component::IKC::Specifier does. This crate
//! parses every form IKC accepts, prints them back, and adds
//! POE::Component::Lightspeed's extensions (comma lists of kernels and
//! sessions, `*` for every session, the array form).
//!
//! # The forms
//!
//! Full form, a session of a kernel, a kernel alone:
//!
//! ```
//! use ikc_specifier::{Part, Specifier};
//!
//! let s: Specifier = "poe://Pulse/timeserver/connect".parse()?;
//! assert_eq!((s.kernel_name(), s.session_name(), s.state.as_deref()),
//!            (Some("Pulse"), Some("timeserver"), Some("connect")));
//!
//! let s: Specifier = "poe://Billy/bob".parse()?;
//! assert_eq!((s.kernel_name(), s.session_name(), s.state.as_deref()), (Some("Billy"), Some("bob"), None));
//!
//! let s: Specifier = "poe://Billy".parse()?;
//! assert_eq!((s.kernel_name(), &s.session), (Some("Billy"), &Part::Unspecified));
//! # Ok::<(), ikc_specifier::ParseError>(())
//! ```
//!
//! Local forms (no kernel): a session's state, a state of the current
//! session, and `poe:` with IKC's `?arg` suffix:
//!
//! ```
//! use ikc_specifier::{Part, Specifier};
//!
//! let s: Specifier = "poe:/timeserver/connect".parse()?;
//! assert_eq!((&s.kernel, s.session_name(), s.state.as_deref()),
//!            (&Part::Unspecified, Some("timeserver"), Some("connect")));
//!
//! let s: Specifier = "poe:tick".parse()?;
//! assert_eq!((&s.session, s.state.as_deref()), (&Part::Unspecified, Some("tick")));
//!
//! let s: Specifier = "poe:response?7".parse()?;
//! assert_eq!((s.state.as_deref(), s.arg.as_deref()), (Some("response"), Some("7")));
//! # Ok::<(), ikc_specifier::ParseError>(())
//! ```
//!
//! Relative forms (what ClientLite and `IKC/post` accept): `session/state`,
//! and `//kernel/session/state`:
//!
//! ```
//! use ikc_specifier::Specifier;
//!
//! let s: Specifier = "test/fetchQ".parse()?;
//! assert_eq!((s.kernel_name(), s.session_name(), s.state.as_deref()),
//!            (None, Some("test"), Some("fetchQ")));
//!
//! let s: Specifier = "//Inet/test/echo".parse()?;
//! assert_eq!(s.to_string(), "poe://Inet/test/echo");
//! # Ok::<(), ikc_specifier::ParseError>(())
//! ```
//!
//! Kernels written as `*`, `host:port` and `unix:name`:
//!
//! ```
//! use ikc_specifier::{Part, Specifier};
//!
//! let s: Specifier = "poe://*/timeserver/connect".parse()?;
//! assert_eq!(s.kernel, Part::All);
//!
//! let s: Specifier = "poe://localhost:31337/test/here".parse()?;
//! assert_eq!(s.kernel_name(), Some("localhost:31337"));
//!
//! let s: Specifier = "poe://unix:ikc-socket/test/here".parse()?;
//! assert_eq!(s.kernel_name(), Some("unix:ikc-socket"));
//! # Ok::<(), ikc_specifier::ParseError>(())
//! ```
//!
//! Lightspeed's comma lists, `*` for every session, and the array form:
//!
//! ```
//! use ikc_specifier::{Part, Specifier};
//!
//! let s: Specifier = "poe://a,b/*/reload".parse()?;
//! assert_eq!(s.kernel.names(), ["a", "b"]);
//! assert_eq!(s.session, Part::All);
//!
//! let s = Specifier::from_array(&["Pulse", "timeserver", "connect"])?;
//! assert_eq!(s.to_string(), "poe://Pulse/timeserver/connect");
//! let s = Specifier::from_array(&["timeserver", "connect"])?;   // IKC's [session, state]
//! assert_eq!(s.to_string(), "poe:/timeserver/connect");
//! # Ok::<(), ikc_specifier::ParseError>(())
//! ```
//!
//! The hash form, `{kernel, session, state}`, as it travels inside IKC
//! messages (`''` for a part not given):
//!
//! ```
//! use ikc_specifier::{HashForm, Specifier};
//!
//! let hash = HashForm::new("Inet", "test", "");
//! let s = Specifier::from_hash_form(&hash);
//! assert_eq!(s.to_string(), "poe://Inet/test");
//! assert_eq!(s.to_hash_form(), hash);
//! ```
//!
//! # Printing
//!
//! [`Specifier`]'s `Display` prints a form that parses back to the same
//! value. [`Specifier::ikc_name`] prints exactly what IKC's `specifier_name`
//! prints (used in IKC's error messages and proxy-session names), which
//! loses a little: no `?arg`, and a state alone prints as `poe:/state`.
//!
//! ```
//! use ikc_specifier::Specifier;
//!
//! let s: Specifier = "poe:tick?3".parse()?;
//! assert_eq!(s.to_string(), "poe:tick?3");
//! assert_eq!(s.ikc_name(), "poe:/tick");
//! # Ok::<(), ikc_specifier::ParseError>(())
//! ```
//!
//! # Errors
//!
//! Malformed input is an error that says what is wrong and where; nothing
//! panics:
//!
//! ```
//! use ikc_specifier::{ParseErrorKind, Specifier};
//!
//! let err = "poe://Pulse/time!server/connect".parse::<Specifier>().unwrap_err();
//! assert_eq!(err.kind, ParseErrorKind::BadSession("time!server".into()));
//! assert_eq!(err.position, 12);
//! ```

#![warn(missing_docs)]
#![forbid(unsafe_code)]
#![doc(test(attr(deny(warnings))))]

mod error;
mod parse;
mod specifier;

pub use crate::error::{ParseError, ParseErrorKind};
pub use crate::specifier::{HashForm, Part, PartName, Specifier, specifier_part};

/// Does `name` look like a kernel name IKC accepts in a specifier: a word
/// of letters, digits, `_`, `-`, `.` and spaces; `host:port`; or
/// `unix:name[:n-m]`? (`*` is not a name: it means every kernel.)
///
/// ```
/// assert!(ikc_specifier::is_valid_kernel_name("vm-6b01b142-00000a62-00000001"));
/// assert!(ikc_specifier::is_valid_kernel_name("127.0.0.1:31337"));
/// assert!(!ikc_specifier::is_valid_kernel_name("a/b"));
/// ```
pub fn is_valid_kernel_name(name: &str) -> bool {
    parse::is_kernel_name(name)
}

/// Entry points for fuzzers and tests. Not part of the stable API.
#[doc(hidden)]
pub mod internal {
    use crate::{PartName, Specifier, specifier_part};

    /// Run arbitrary bytes (as UTF-8 text, if they are) through every way
    /// of reading a specifier, checking that nothing panics and that
    /// whatever parses prints to text that parses back to the same value.
    ///
    /// # Panics
    ///
    /// When that round trip fails: a bug for the fuzzer to find.
    pub fn fuzz_specifier(bytes: &[u8]) {
        let Ok(text) = std::str::from_utf8(bytes) else {
            return;
        };
        if let Ok(spec) = Specifier::parse(text) {
            let printed = spec.to_string();
            assert_eq!(
                Specifier::parse(&printed).as_ref(),
                Ok(&spec),
                "{text:?} printed as {printed:?}"
            );
            let _ = spec.ikc_name();
            let _ = Specifier::from_hash_form(&spec.to_hash_form());
        }
        for part in [
            PartName::Kernel,
            PartName::Session,
            PartName::State,
            PartName::Arg,
        ] {
            let _ = specifier_part(text, part);
        }
        let pieces: Vec<&str> = text.split('/').collect();
        let _ = Specifier::from_array(&pieces);
    }
}

#[cfg(test)]
mod tests;
