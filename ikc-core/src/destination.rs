//! Destinations given as values, in every form Lightspeed takes: a
//! specifier string, an array, or a hash with upper- or lower-case keys.

use ikc_freezer::Value;
use ikc_specifier::Specifier;

use crate::error::DeliveryError;

/// Read a destination given as a value, as Lightspeed's `post` and `call`
/// take them:
///
/// - a specifier string: `"poe://kernel/session/state"` (or any form
///   [`Specifier`] parses);
/// - an array: `[kernel, session, state]`, or IKC's `[session, state]`;
/// - a hash: `{KERNEL, SESSION, STATE}` (Lightspeed's keys) or `{kernel,
///   session, state}` (IKC's); a part not given is empty.
///
/// ```
/// use ikc_core::destination;
/// use ikc_freezer::{Hash, Value};
///
/// let text = destination(&Value::from("poe://otherbox/mysession/ping"))?;
/// let array = destination(&Value::from(vec!["otherbox", "mysession", "ping"]))?;
/// let mut hash = Hash::new();
/// hash.insert("KERNEL", "otherbox");
/// hash.insert("SESSION", "mysession");
/// hash.insert("STATE", "ping");
/// let hash = destination(&Value::Hash(hash))?;
/// assert_eq!(text, array);
/// assert_eq!(text, hash);
/// assert_eq!(text.to_string(), "poe://otherbox/mysession/ping");
/// # Ok::<(), ikc_core::DeliveryError>(())
/// ```
///
/// # Errors
///
/// A string or parts that do not make a valid specifier
/// ([`DeliveryError::BadSpecifier`]), or a value of another kind
/// ([`DeliveryError::NotADestination`]).
pub fn destination(value: &Value) -> Result<Specifier, DeliveryError> {
    match value {
        Value::Array(parts) => {
            let parts: Vec<String> = parts.iter().map(part).collect();
            Ok(Specifier::from_array(&parts)?)
        }
        Value::Hash(hash) => {
            let get = |lower: &str, upper: &str| {
                hash.get(upper)
                    .or_else(|| hash.get(lower))
                    .map(part)
                    .unwrap_or_default()
            };
            let parts = [
                get("kernel", "KERNEL"),
                get("session", "SESSION"),
                get("state", "STATE"),
            ];
            Ok(Specifier::from_array(&parts)?)
        }
        other => match other.as_str() {
            Some(text) => Ok(Specifier::parse(text)?),
            None => Err(DeliveryError::NotADestination(kind(other))),
        },
    }
}

/// A part of an array or hash destination, as text.
fn part(value: &Value) -> String {
    match value {
        Value::Undef => String::new(),
        other => other
            .as_str()
            .map_or_else(|| other.to_string(), str::to_owned),
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Undef => "undef",
        Value::Bool(_) => "a boolean",
        Value::Int(_) | Value::UInt(_) | Value::Float(_) => "a number",
        Value::Ref(_) => "a scalar reference",
        Value::Blessed(_) => "a blessed reference",
        _ => "a string that is not text",
    }
}

#[cfg(test)]
mod tests {
    use ikc_freezer::Hash;

    use super::*;

    #[test]
    fn every_form_names_the_same_destination() {
        let want = Specifier::parse("poe://k/s/st").unwrap();
        let mut lower = Hash::new();
        lower.insert("kernel", "k");
        lower.insert("session", "s");
        lower.insert("state", "st");
        assert_eq!(destination(&Value::Hash(lower)).unwrap(), want);
        assert_eq!(
            destination(&Value::from(vec!["k", "s", "st"])).unwrap(),
            want
        );
        assert_eq!(destination(&Value::bytes("poe://k/s/st")).unwrap(), want);
        // IKC's two-element array and a hash without a kernel are local.
        let local = Specifier::parse("poe:/s/st").unwrap();
        assert_eq!(destination(&Value::from(vec!["s", "st"])).unwrap(), local);
        let mut partial = Hash::new();
        partial.insert("SESSION", "s");
        partial.insert("STATE", "st");
        assert_eq!(destination(&Value::Hash(partial)).unwrap(), local);
    }

    #[test]
    fn other_values_and_bad_parts_are_errors() {
        assert_eq!(
            destination(&Value::from(3)),
            Err(DeliveryError::NotADestination("a number"))
        );
        assert!(matches!(
            destination(&Value::from(vec!["k", "s/x", "st"])),
            Err(DeliveryError::BadSpecifier(_))
        ));
        assert!(matches!(
            destination(&Value::from(vec!["a", "b", "c", "d"])),
            Err(DeliveryError::BadSpecifier(_))
        ));
    }
}
