//! IKC's pure-Perl freezer, `POE::Component::IKC::Freezer`: Data::Dumper
//! text (`Purity = 1`, `Indent = 0`) that Perl evaluates and we read as data.
//!
//! # The dialect
//!
//! IKC freezes with `Dumper` into the variable
//! `$POE::Component::IKC::Freezer::VAR1` and thaws with `eval`. We never
//! evaluate anything: the text is parsed against the grammar Dumper
//! writes, and anything else (code, calls, interpolation, globs,
//! regular expressions) is a [`ThawError`]:
//!
//! - `undef`, integers and decimals, `'single'` and `"double"` quoted
//!   strings (with `\x{263a}`, `\n`, octal and `\$ \@ \\ \"` escapes),
//!   `[...]`, `{'key' => ...}`, `\` references (`\'s'`, `\\42`),
//!   `bless( ..., 'Class' )`, `do{my $o}` (a placeholder) and
//!   `do{\(my $o = ...)}` (a blessed scalar's reference);
//! - after the main statement, fix-ups such as
//!   `$POE::Component::IKC::Freezer::VAR1->{'b'} = $POE::Component::IKC::Freezer::VAR1->{'a'};`
//!   that make two places share a reference: the second place gets a copy
//!   (a value that contains itself is refused).
//!
//! # What survives a trip through Dumper
//!
//! Perl's `eval` of Dumper text gives back what these rules give:
//!
//! - Integers of up to 10 characters are written bare and read back as
//!   integers; longer ones (and every [`UInt`](Value::UInt)) are quoted, as
//!   Dumper quotes them, and read back as [`Bytes`](Value::Bytes).
//! - A [`Float`](Value::Float) is quoted as Perl prints it (`'2.5'`) and
//!   reads back as [`Bytes`](Value::Bytes).
//! - [`Bool`](Value::Bool) is written `1` or `''` (an integer, or an empty
//!   byte string, on the way back).
//! - A [`Str`](Value::Str) with no character beyond `\x{ff}` reads back as
//!   [`Bytes`](Value::Bytes) (Latin-1): Perl's `eval` drops the UTF-8 flag
//!   of such strings. Wider strings keep it.
//! - Quoted digits stay strings, so a [`Bytes`](Value::Bytes) `"42"` stays
//!   a byte string.

mod fixup;
mod lexer;
mod parser;
mod writer;

use crate::codec::{DUMPER, Freezer};
use crate::error::{FreezeError, ThawError};
use crate::limits::Limits;
use crate::value::Value;

/// The variable IKC's freezer assigns (Data::Dumper's `Varname` plus `1`).
pub(crate) const VAR_NAME: &str = "POE::Component::IKC::Freezer::VAR1";

/// IKC's Data::Dumper freezer, read as data (never evaluated).
///
/// ```
/// use ikc_freezer::{Dumper, Freezer, Value};
///
/// let text = br"$POE::Component::IKC::Freezer::VAR1 = {'a' => [1,2],'b' => []};$POE::Component::IKC::Freezer::VAR1->{'b'} = $POE::Component::IKC::Freezer::VAR1->{'a'};";
/// let value = Dumper::new().thaw(text)?;
/// assert_eq!(value["b"], Value::from(vec![1, 2]));
///
/// let mut out = Vec::new();
/// Dumper::new().freeze(&Value::from(vec![Value::Int(1), Value::bytes("it's")]), &mut out)?;
/// assert_eq!(out, br"$POE::Component::IKC::Freezer::VAR1 = [1,'it\'s'];");
///
/// // Code is refused, never run.
/// assert!(Dumper::new().thaw(br#"$POE::Component::IKC::Freezer::VAR1 = [`rm -rf /`];"#).is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct Dumper {
    limits: Limits,
}

impl Dumper {
    /// The codec with the default [`Limits`].
    pub fn new() -> Self {
        Self::default()
    }

    /// The codec with the given decoding (and encoding depth) limits.
    pub fn with_limits(limits: Limits) -> Self {
        Self { limits }
    }

    /// The limits this codec applies.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }
}

impl Freezer for Dumper {
    fn name(&self) -> &str {
        DUMPER
    }

    fn freeze(&self, value: &Value, out: &mut Vec<u8>) -> Result<(), FreezeError> {
        let start = out.len();
        let result = writer::freeze(value, out, self.limits.max_depth);
        if result.is_err() {
            out.truncate(start);
        }
        result
    }

    fn thaw(&self, bytes: &[u8]) -> Result<Value, ThawError> {
        parser::thaw(bytes, self.limits)
    }
}

#[cfg(test)]
mod tests;
