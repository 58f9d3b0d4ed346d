//! The Storable fast path: a [`Message`] written and read as the Storable
//! image of its hash (what Perl IKC sends by default) without building the
//! hash. The bytes are those of [`Message::to_value`] frozen by
//! [`Storable`]; reading gives the same message as thawing then
//! converting. Anything unusual is left to that general path, which also
//! reports every error.

use std::sync::Arc;

use ikc_freezer::{FreezeError, Key, Storable, StorableEncoder, Value};
use ikc_specifier::HashForm;

use super::caller::{CALLER_KEY, CallerInfo, LastRead, LastWritten, StorableEvent};
use super::{
    EVENT_PARTS, FROM_PARTS, MESSAGE_KEYS, Message, MessageTarget, PartNames, RSVP_PARTS,
    check_optional_spec, check_spec, check_text, into_text, is_true, take_optional_spec, take_spec,
};

impl Message {
    /// Append the Storable image of [`to_value`](Self::to_value) to
    /// `out`; `None` (nothing written) for a message with an
    /// [`extra`](Self::extra) key that Perl would flag (characters beyond
    /// ASCII) or that is one of the message's own keys (then `to_value`
    /// decides what the hash holds).
    #[cfg(test)]
    pub(crate) fn freeze_storable(
        &self,
        storable: &Storable,
        out: &mut Vec<u8>,
    ) -> Option<Result<(), FreezeError>> {
        self.freeze_storable_sharing(storable, out, &mut LastWritten::default())
    }

    /// [`freeze_storable`](Self::freeze_storable), copying the caller's
    /// bytes when it is the caller `sent` wrote last.
    pub(crate) fn freeze_storable_sharing(
        &self,
        storable: &Storable,
        out: &mut Vec<u8>,
        sent: &mut LastWritten,
    ) -> Option<Result<(), FreezeError>> {
        let plain_extra = |key: &Key| {
            !key.is_wide_utf8() && key.as_str().is_none_or(|k| !MESSAGE_KEYS.contains(&k))
        };
        if !self.extra.keys().all(plain_extra) {
            return None;
        }
        let start = out.len();
        let result = self.freeze_storable_fields(&mut storable.encoder(out), sent);
        if result.is_err() {
            out.truncate(start);
        }
        Some(result)
    }

    fn freeze_storable_fields<'v>(
        &'v self,
        enc: &mut StorableEncoder<'_, 'v>,
        sent: &mut LastWritten,
    ) -> Result<(), FreezeError> {
        enc.hash(self.field_count())?;
        match &self.event {
            MessageTarget::Text(text) => enc.str(text)?,
            MessageTarget::Hash(spec) => spec_storable(enc, spec, true)?,
        }
        enc.key(b"event")?;
        enc.value(&self.params, 1)?;
        enc.key(b"params")?;
        if let Some(from) = &self.from {
            spec_storable(enc, from, false)?;
            enc.key(b"from")?;
        }
        if let Some(rsvp) = &self.rsvp {
            spec_storable(enc, rsvp, true)?;
            enc.key(b"rsvp")?;
        }
        if let Some(wantarray) = self.wantarray {
            // perl_bool: 1 or ''.
            if wantarray {
                enc.int(1)?;
            } else {
                enc.str("")?;
            }
            enc.key(b"wantarray")?;
        }
        if self.is_error {
            enc.int(1)?;
            enc.key(b"is_error")?;
        }
        if let Some(caller) = &self.caller {
            sent.write(caller, enc, |enc| caller_storable(enc, caller))?;
            enc.key(CALLER_KEY.as_bytes())?;
        }
        for (key, value) in &self.extra {
            enc.value(value, 1)?;
            enc.key(key.as_bytes())?;
        }
        Ok(())
    }

    /// Read a message from a Storable image, sharing the caller with the
    /// previous message's when it is the same (and stepping over its
    /// bytes when they are too); `None` when the image is not a plain
    /// message hash (or not valid), which the general path then reports.
    pub(crate) fn thaw_storable_sharing(
        storable: &Storable,
        bytes: &[u8],
        callers: &mut LastRead,
    ) -> Option<Box<Self>> {
        let mut dec = storable.decoder(bytes).ok()?;
        let entries = dec.hash().ok()??;
        let mut event = None;
        // Built where it stays: the message is passed on boxed.
        let mut message = Self::empty_boxed();
        for _ in 0..entries {
            if let Some((kept, caller)) = callers.storable() {
                if dec.skip_kept(kept, CALLER_KEY).ok()? {
                    message.caller = Some(Arc::clone(caller));
                    continue;
                }
            }
            if let Some(last) = callers.storable_event.as_deref()
                && let Some(kept) = &last.kept
                && dec.skip_kept(kept, "event").ok()?
            {
                event = Some(MessageTarget::Text(Arc::clone(&last.text)));
                continue;
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
                b"event" => {
                    let target = checked_target(value)?;
                    if let MessageTarget::Text(text) = &target {
                        match callers.storable_event.as_deref_mut() {
                            // The same text again: its bytes are kept.
                            Some(last) if last.text == *text => {
                                last.kept = Some(dec.kept(start, end));
                            }
                            // Another text: noted in the room the last took.
                            Some(last) => {
                                last.text = Arc::clone(text);
                                last.kept = None;
                            }
                            None => {
                                callers.storable_event = Some(Box::new(StorableEvent {
                                    text: Arc::clone(text),
                                    kept: None,
                                }));
                            }
                        }
                    }
                    event = Some(target);
                }
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

/// A caller in Storable, as [`CallerInfo::to_value`] builds it.
fn caller_storable(
    enc: &mut StorableEncoder<'_, '_>,
    caller: &CallerInfo,
) -> Result<(), FreezeError> {
    enc.hash_ref(5, 1)?;
    for (part, key) in [
        (&caller.kernel, "kernel"),
        (&caller.session, "session"),
        (&caller.state, "state"),
        (&caller.file, "file"),
    ] {
        enc.str(part)?;
        enc.key(key.as_bytes())?;
    }
    enc.int(i64::from(caller.line))?;
    enc.key(b"line")
}

/// A specifier hash in Storable, as [`spec_hash`](super::spec_hash) builds it.
fn spec_storable(
    enc: &mut StorableEncoder<'_, '_>,
    spec: &HashForm,
    always_state: bool,
) -> Result<(), FreezeError> {
    let with_state = always_state || !spec.state.is_empty();
    enc.hash_ref(2 + usize::from(with_state), 1)?;
    enc.str(&spec.kernel)?;
    enc.key(b"kernel")?;
    enc.str(&spec.session)?;
    enc.key(b"session")?;
    if with_state {
        enc.str(&spec.state)?;
        enc.key(b"state")?;
    }
    Ok(())
}

/// `event` as the general path reads it; `None` for what it refuses.
fn checked_target(value: Value) -> Option<MessageTarget> {
    match value {
        Value::Hash(spec) => {
            check_spec(&spec, EVENT_PARTS).ok()?;
            Some(MessageTarget::from(take_spec(spec)))
        }
        other => {
            check_text(&other, "event", "a specifier string or hash").ok()?;
            into_text(other).map(MessageTarget::from)
        }
    }
}

/// `from` or `rsvp` as the general path reads it; `None` for what it refuses.
fn checked_optional_spec(
    value: Value,
    field: &'static str,
    names: PartNames,
) -> Option<Option<Arc<HashForm>>> {
    check_optional_spec(Some(&value), field, names).ok()?;
    Some(take_optional_spec(value))
}
