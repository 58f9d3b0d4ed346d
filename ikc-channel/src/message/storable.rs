//! The Storable fast path: a [`Message`] read from the Storable image of
//! its hash (what Perl IKC sends by default) without building the hash:
//! the same message as thawing then converting. Anything unusual is left
//! to that general path, which also reports every error.

use std::sync::Arc;

use ikc_freezer::{Storable, Value};
use ikc_specifier::HashForm;

use super::caller::{CALLER_KEY, CallerCache, CallerInfo};
use super::{
    EVENT_PARTS, FROM_PARTS, Message, MessageTarget, PartNames, RSVP_PARTS, check_optional_spec,
    check_spec, check_text, into_text, is_true, take_optional_spec, take_spec,
};

impl Message {
    /// Read a message from a Storable image, sharing the caller with the
    /// previous message's when it is the same (and stepping over its
    /// bytes when they are too); `None` when the image is not a plain
    /// message hash (or not valid), which the general path then reports.
    pub(crate) fn thaw_storable_sharing(
        storable: &Storable,
        bytes: &[u8],
        callers: &mut CallerCache,
    ) -> Option<Self> {
        let mut dec = storable.decoder(bytes).ok()?;
        let entries = dec.hash().ok()??;
        let mut event = None;
        let mut message = Self::post(MessageTarget::Text(String::new()), Value::Undef);
        for _ in 0..entries {
            if let Some((kept, caller)) = callers.storable() {
                if dec.skip_kept(kept, CALLER_KEY).ok()? {
                    message.caller = Some(Arc::clone(caller));
                    continue;
                }
            }
            let start = dec.mark();
            let value = dec.value().ok()?;
            let end = dec.mark();
            let Some(key) = dec.key().ok()? else {
                // A restricted hash's placeholder: not an entry.
                continue;
            };
            // A repeated key replaces the earlier value, as in the hash.
            // An ASCII key is always a text key, so its bytes say which it is.
            match key.as_bytes() {
                b"event" => event = Some(checked_target(value)?),
                b"params" => message.params = value,
                b"from" => message.from = checked_optional_spec(value, "from", FROM_PARTS)?,
                b"rsvp" => message.rsvp = checked_optional_spec(value, "rsvp", RSVP_PARTS)?,
                b"wantarray" => message.wantarray = Some(is_true(&value)),
                b"is_error" => message.is_error = is_true(&value),
                b"caller" => {
                    let caller = CallerInfo::from_value(&value)?;
                    message.caller = Some(callers.keep_storable(caller, || dec.kept(start, end)));
                }
                _ => {
                    message.extra.insert(key, value);
                }
            }
        }
        dec.finish().ok()?;
        message.event = event?;
        Some(message)
    }
}

/// `event` as the general path reads it; `None` for what it refuses.
fn checked_target(value: Value) -> Option<MessageTarget> {
    match value {
        Value::Hash(spec) => {
            check_spec(&spec, EVENT_PARTS).ok()?;
            Some(MessageTarget::Hash(take_spec(spec)))
        }
        other => {
            check_text(&other, "event", "a specifier string or hash").ok()?;
            into_text(other).map(MessageTarget::Text)
        }
    }
}

/// `from` or `rsvp` as the general path reads it; `None` for what it refuses.
fn checked_optional_spec(
    value: Value,
    field: &'static str,
    names: PartNames,
) -> Option<Option<HashForm>> {
    check_optional_spec(Some(&value), field, names).ok()?;
    Some(take_optional_spec(value))
}
