//! [`Message`]: IKC's request hash as a Rust type.

use std::borrow::Cow;
use std::cell::Cell;
use std::sync::Arc;

use ikc_freezer::{
    FreezeError, Hash, Key, Native, NativeDecoder, NativeEncoder, NativeString, Value,
};
use ikc_specifier::{HashForm, ParseError, Specifier};

use crate::error::MessageError;

mod caller;
mod storable;

use self::caller::CALLER_KEY;
pub use self::caller::CallerInfo;
pub(crate) use self::caller::{KeptSpec, LastRead, LastWritten, NativeEvent, SentSpec};

/// The keys of IKC's request hash that [`Message`] has fields for.
const MESSAGE_KEYS: [&str; 7] = [
    "event",
    "params",
    "from",
    "rsvp",
    "wantarray",
    "is_error",
    CALLER_KEY,
];

/// Where a message goes: IKC's `event` key, a specifier string or a
/// `{kernel, session, state}` hash, kept as the sender wrote it.
///
/// The text form is not parsed on arrival: a malformed specifier is the
/// receiving responder's to report (as IKC's `remote_error`), so it must
/// reach it. [`MessageTarget::specifier`] parses it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MessageTarget {
    /// A specifier string, such as `poe://Inet/test/here`. Shared: a
    /// channel that reads the same target again hands every message the
    /// same copy.
    Text(Arc<str>),
    /// The hash form, such as `{kernel => 'Cli', session => 'me', state => 'reply'}`.
    /// Shared: the targets a channel reads again and again are one copy.
    Hash(Arc<HashForm>),
}

impl MessageTarget {
    /// The target as a [`Specifier`].
    ///
    /// # Errors
    ///
    /// A [`ParseError`] when the text form is not a valid specifier (the
    /// hash form always converts).
    pub fn specifier(&self) -> Result<Specifier, ParseError> {
        match self {
            Self::Text(text) => Specifier::parse(text),
            Self::Hash(hash) => Ok(Specifier::from_hash_form(hash)),
        }
    }

    fn to_value(&self) -> Value {
        match self {
            Self::Text(text) => Value::from(&**text),
            Self::Hash(hash) => spec_hash(hash, true),
        }
    }
}

impl From<&str> for MessageTarget {
    /// The text as a target; the empty text (a message's placeholder
    /// until its `event` is read or set) allocates nothing.
    fn from(text: &str) -> Self {
        Self::Text(if text.is_empty() {
            Arc::default()
        } else {
            Arc::from(text)
        })
    }
}

impl From<String> for MessageTarget {
    fn from(text: String) -> Self {
        Self::Text(Arc::from(text))
    }
}

impl From<HashForm> for MessageTarget {
    fn from(hash: HashForm) -> Self {
        Self::Hash(Arc::new(hash))
    }
}

impl From<Arc<HashForm>> for MessageTarget {
    fn from(hash: Arc<HashForm>) -> Self {
        Self::Hash(hash)
    }
}

impl From<&Specifier> for MessageTarget {
    fn from(spec: &Specifier) -> Self {
        Self::Text(Arc::from(spec.to_string()))
    }
}

/// One IKC request, as the hash Perl's responder and ClientLite send:
///
/// | key | field | Perl writes |
/// |---|---|---|
/// | `event` | [`event`](Self::event) | a specifier string or `{kernel, session, state}` |
/// | `params` | [`params`](Self::params) | any value (the handler's `ARG0`) |
/// | `from` | [`from`](Self::from) | `{kernel, session[, state]}` of the sender, or nothing |
/// | `rsvp` | [`rsvp`](Self::rsvp) | `{kernel, session, state}` for a call's answer |
/// | `wantarray` | [`wantarray`](Self::wantarray) | `''` or `1` on calls, absent on posts |
/// | `is_error` | [`is_error`](Self::is_error) | `1` on `IKC/remote_error` messages |
/// | `caller` | [`caller`](Self::caller) | nothing (ours: [`CallerInfo`], which Perl ignores) |
///
/// Other keys are kept, in order, in [`extra`](Self::extra), so that a value
/// converts to a message and back without loss (IKC ignores keys it does
/// not know, and so should a responder).
///
/// Converting from a [`Value`] is lenient where Perl is: a missing `params`
/// is `undef`; a specifier hash part that is missing or `undef` is `''`;
/// numbers in names are read as their decimal text; `wantarray` and
/// `is_error` are read with Perl's truth rules. Byte strings that are not
/// UTF-8 are read as Latin-1, the characters Perl sees.
#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    /// The destination.
    pub event: MessageTarget,
    /// The argument (`ARG0` of the handler). Several arguments travel as
    /// an array.
    pub params: Value,
    /// The sending session, where answers and `SENDER` posts go. An empty
    /// `state` is left out on the wire, as ClientLite leaves it out.
    /// Shared, as the `event` hash is: a channel that reads the same
    /// sender again gives each message the same copy.
    pub from: Option<Arc<HashForm>>,
    /// Where a call's return value is to be posted (shared, as `from`).
    pub rsvp: Option<Arc<HashForm>>,
    /// Does the caller want a list? `None` when the key is absent (posts).
    pub wantarray: Option<bool>,
    /// Is this an error report (`IKC/remote_error`)? Never answer one with an
    /// error.
    pub is_error: bool,
    /// Who sent it and from where (not an IKC key: Perl IKC ignores it and
    /// sends none). Shared: messages a channel reads from the same caller
    /// hold the same copy.
    pub caller: Option<Arc<CallerInfo>>,
    /// Keys IKC does not define, in their order.
    pub extra: Hash,
}

thread_local! {
    /// A message box handed back by [`Message::recycle`], empty, for the
    /// next message a channel reads on this thread.
    static SPARE_BOX: Cell<Option<Box<Message>>> = const { Cell::new(None) };
}

impl Message {
    /// Give back the box of a message that has been handled: the next
    /// message a channel reads on this thread is built in it instead of in
    /// a new allocation (a responder reads, handles and lets go of one
    /// message at a time). Dropping the box instead is always correct.
    pub fn recycle(mut self: Box<Self>) {
        *self = Self::unread();
        SPARE_BOX.set(Some(self));
    }

    /// An empty post (no target, no params): what a message is before
    /// its keys are read into it.
    fn unread() -> Self {
        Self::post(MessageTarget::from(""), Value::Undef)
    }

    /// [`unread`](Self::unread) in a box: the one
    /// [`recycle`](Self::recycle) kept, if any, else a new one.
    pub(crate) fn empty_boxed() -> Box<Self> {
        SPARE_BOX.take().unwrap_or_else(|| Box::new(Self::unread()))
    }

    /// A post: `event` with `params`, nothing else.
    pub fn post(event: impl Into<MessageTarget>, params: impl Into<Value>) -> Self {
        Self {
            event: event.into(),
            params: params.into(),
            from: None,
            rsvp: None,
            wantarray: None,
            is_error: false,
            caller: None,
            extra: Hash::new(),
        }
    }

    /// A call: a post whose answer is to be posted to `rsvp`; `wantarray`
    /// is `''` (a scalar is wanted), as ClientLite's `call` sends it.
    pub fn call(
        event: impl Into<MessageTarget>,
        params: impl Into<Value>,
        rsvp: impl Into<Arc<HashForm>>,
    ) -> Self {
        Self {
            rsvp: Some(rsvp.into()),
            wantarray: Some(false),
            ..Self::post(event, params)
        }
    }

    /// Set the sender (builder style).
    pub fn with_from(mut self, from: impl Into<Arc<HashForm>>) -> Self {
        self.from = Some(from.into());
        self
    }

    /// Set the caller details (builder style).
    pub fn with_caller(mut self, caller: impl Into<Arc<CallerInfo>>) -> Self {
        self.caller = Some(caller.into());
        self
    }

    /// How many keys the hash of [`to_value`](Self::to_value) has (for a
    /// message whose extra keys are not its own).
    fn field_count(&self) -> usize {
        2 + usize::from(self.from.is_some())
            + usize::from(self.rsvp.is_some())
            + usize::from(self.wantarray.is_some())
            + usize::from(self.is_error)
            + usize::from(self.caller.is_some())
            + self.extra.len()
    }

    /// The message as the hash IKC sends.
    pub fn to_value(&self) -> Value {
        let mut hash = Hash::with_capacity(4 + self.extra.len());
        hash.insert("event", self.event.to_value());
        hash.insert("params", self.params.clone());
        if let Some(from) = &self.from {
            hash.insert("from", spec_hash(from, false));
        }
        if let Some(rsvp) = &self.rsvp {
            hash.insert("rsvp", spec_hash(rsvp, true));
        }
        if let Some(wantarray) = self.wantarray {
            hash.insert("wantarray", perl_bool(wantarray));
        }
        if self.is_error {
            hash.insert("is_error", 1);
        }
        if let Some(caller) = &self.caller {
            hash.insert(CALLER_KEY, caller.to_value());
        }
        for (key, value) in &self.extra {
            hash.insert(key.clone(), value.clone());
        }
        Value::Hash(hash)
    }
}

impl From<&Message> for Value {
    fn from(message: &Message) -> Self {
        message.to_value()
    }
}

impl From<Message> for Value {
    fn from(message: Message) -> Self {
        message.to_value()
    }
}

impl TryFrom<Value> for Message {
    type Error = MessageError;

    fn try_from(value: Value) -> Result<Self, MessageError> {
        Self::from_value(value, &mut LastRead::default()).map_err(|failed| failed.0)
    }
}

impl TryFrom<&Value> for Message {
    type Error = MessageError;

    fn try_from(value: &Value) -> Result<Self, MessageError> {
        let head = Head::read(value)?;
        let Value::Hash(hash) = value else {
            return Err(MessageError::NotAHash { found: kind(value) });
        };
        let mut hash = hash.clone();
        Ok(head.into_message(&mut hash))
    }
}

impl Message {
    /// Convert, handing the value back with the error so that it can be
    /// reported. The value is checked first, then taken apart: strings are
    /// moved into the message, not copied.
    pub(crate) fn from_value(
        value: Value,
        callers: &mut LastRead,
    ) -> Result<Self, Box<(MessageError, Value)>> {
        if let Err(error) = Head::check(&value) {
            return Err(Box::new((error, value)));
        }
        let Value::Hash(hash) = value else {
            // Head::check accepts only a hash.
            return Err(Box::new((
                MessageError::NotAHash {
                    found: kind(&value),
                },
                value,
            )));
        };
        let mut message = Self::unread();
        for (key, value) in hash {
            // Keys are unique, and an ASCII key is always a text key.
            match key.as_bytes() {
                b"event" => {
                    message.event = match value {
                        Value::Hash(spec) => MessageTarget::from(take_spec(spec)),
                        other => MessageTarget::Text(into_text(other).unwrap_or_default().into()),
                    };
                }
                b"params" => message.params = value,
                b"from" => message.from = take_optional_spec(value),
                b"rsvp" => message.rsvp = take_optional_spec(value),
                b"wantarray" => message.wantarray = Some(is_true(&value)),
                b"is_error" => message.is_error = is_true(&value),
                b"caller" => match CallerInfo::from_value(&value) {
                    Some(caller) => message.caller = Some(callers.keep(caller)),
                    None => {
                        message.extra.insert(key, value);
                    }
                },
                _ => {
                    message.extra.insert(key, value);
                }
            }
        }
        Ok(message)
    }
}

/// A checked specifier hash, taken apart (see [`read_spec`]).
fn take_spec(spec: Hash) -> HashForm {
    let mut form = HashForm::default();
    for (key, value) in spec {
        let part = match key.as_bytes() {
            b"kernel" => &mut form.kernel,
            b"session" => &mut form.session,
            b"state" => &mut form.state,
            _ => continue,
        };
        *part = into_text(value).unwrap_or_default();
    }
    form
}

/// A checked `from` or `rsvp`, taken apart (see [`optional_spec`]).
fn take_optional_spec(value: Value) -> Option<Arc<HashForm>> {
    match value {
        Value::Hash(spec) => Some(Arc::new(take_spec(spec))),
        _ => None,
    }
}

/// The native codec's fast path: a [`Message`] written and read as the
/// native bytes of its hash, without building the hash. The bytes are the
/// same as those of [`Message::to_value`] frozen by [`Native`]; reading
/// gives the same message as thawing then converting. Anything unusual is
/// left to that general path.
impl Message {
    /// Append the native encoding of [`to_value`](Self::to_value) to `out`;
    /// `None` (nothing written) for a message with an [`extra`](Self::extra)
    /// key that is bytes or one of the message's own keys (then
    /// `to_value` decides what the hash holds).
    #[cfg(test)]
    pub(crate) fn freeze_native(
        &self,
        native: &Native,
        out: &mut Vec<u8>,
    ) -> Option<Result<(), FreezeError>> {
        self.freeze_native_sharing(native, out, &mut LastWritten::default())
    }

    /// [`freeze_native`](Self::freeze_native), copying the caller's bytes
    /// when it is the caller `sent` wrote last.
    pub(crate) fn freeze_native_sharing(
        &self,
        native: &Native,
        out: &mut Vec<u8>,
        sent: &mut LastWritten,
    ) -> Option<Result<(), FreezeError>> {
        let plain_extra = |key: &Key| key.as_str().is_some_and(|k| !MESSAGE_KEYS.contains(&k));
        if !self.extra.keys().all(plain_extra) {
            return None;
        }
        let start = out.len();
        let result = self.freeze_native_fields(&mut native.encoder(out), sent);
        if result.is_err() {
            out.truncate(start);
        }
        Some(result)
    }

    fn freeze_native_fields(
        &self,
        enc: &mut NativeEncoder<'_>,
        sent: &mut LastWritten,
    ) -> Result<(), FreezeError> {
        enc.hash(self.field_count(), 0)?;
        enc.key("event");
        match &self.event {
            MessageTarget::Text(text) => enc.str(text),
            MessageTarget::Hash(spec) => {
                spec_native_sharing(enc, spec, true, &mut sent.specs.event)?;
            }
        }
        enc.key("params");
        enc.value(&self.params, 1)?;
        if let Some(from) = &self.from {
            enc.key("from");
            spec_native_sharing(enc, from, false, &mut sent.specs.from)?;
        }
        if let Some(rsvp) = &self.rsvp {
            enc.key("rsvp");
            spec_native_sharing(enc, rsvp, true, &mut sent.specs.rsvp)?;
        }
        if let Some(wantarray) = self.wantarray {
            enc.key("wantarray");
            // perl_bool: 1 or ''.
            if wantarray {
                enc.int(1);
            } else {
                enc.str("");
            }
        }
        if self.is_error {
            enc.key("is_error");
            enc.int(1);
        }
        if let Some(caller) = &self.caller {
            enc.key(CALLER_KEY);
            sent.write(caller, enc, |enc| caller.freeze_native(enc))?;
        }
        // Keys a kernel added (the mesh's hop count and origin, a trace
        // mark), after the message's own as in `to_value`: a message
        // passed on by the mesh is written from its fields, its params
        // never copied into a hash first.
        for (key, value) in &self.extra {
            enc.key(key.as_str().unwrap_or_default());
            enc.value(value, 1)?;
        }
        Ok(())
    }

    /// Read a message from native bytes; `None` when they are not a plain
    /// message hash (or not valid), which the general path then reports.
    #[cfg(test)]
    pub(crate) fn thaw_native(native: &Native, bytes: &[u8]) -> Option<Self> {
        Self::thaw_native_sharing(native, bytes, &mut LastRead::default()).map(|m| *m)
    }

    /// [`thaw_native`](Self::thaw_native), sharing the caller with the
    /// previous message's when it is the same.
    pub(crate) fn thaw_native_sharing(
        native: &Native,
        bytes: &[u8],
        callers: &mut LastRead,
    ) -> Option<Box<Self>> {
        let mut dec = native.decoder(bytes).ok()?;
        if !dec.at_hash() {
            return None;
        }
        let entries = dec.hash(0).ok()?;
        let mut event = None;
        // Built where it stays: the message is passed on boxed.
        let mut message = Self::empty_boxed();
        for _ in 0..entries {
            let key = dec.key_ref().ok()?;
            // A repeated key replaces the earlier value, as in the hash.
            // An ASCII key is always a text key, so its bytes say which it is.
            match key.as_bytes() {
                b"event" => {
                    event = Some(if dec.at_hash() {
                        MessageTarget::Hash(native_spec_kept(&mut dec, &mut callers.specs.event)?)
                    } else if let Some(text) =
                        native_text_kept(&mut dec, &mut callers.native_event)?
                    {
                        MessageTarget::Text(text)
                    } else {
                        MessageTarget::Text(into_text(dec.value(1).ok()?)?.into())
                    });
                }
                b"from" => {
                    message.from = native_optional_spec(&mut dec, &mut callers.specs.from)?;
                }
                b"rsvp" => {
                    message.rsvp = native_optional_spec(&mut dec, &mut callers.specs.rsvp)?;
                }
                b"caller" => message.caller = Some(CallerInfo::thaw_native(&mut dec, callers)?),
                _ => {
                    let value = dec.value(1).ok()?;
                    match key.as_bytes() {
                        b"params" => message.params = value,
                        b"wantarray" => message.wantarray = Some(is_true(&value)),
                        b"is_error" => message.is_error = is_true(&value),
                        _ => {
                            message.extra.insert(key.to_key(), value);
                        }
                    }
                }
            }
        }
        dec.finish().ok()?;
        message.event = event?;
        Some(message)
    }
}

/// A specifier hash in the native encoding, as [`spec_hash`] builds it.
fn spec_native(
    enc: &mut NativeEncoder<'_>,
    spec: &HashForm,
    always_state: bool,
) -> Result<(), FreezeError> {
    let with_state = always_state || !spec.state.is_empty();
    enc.hash(2 + usize::from(with_state), 1)?;
    enc.key("kernel");
    enc.str(&spec.kernel);
    enc.key("session");
    enc.str(&spec.session);
    if with_state {
        enc.key("state");
        enc.str(&spec.state);
    }
    Ok(())
}

/// [`spec_native`], copying the bytes written last time at the same key
/// when the hash is the same; what it writes afresh is noted in the room
/// the last one took.
fn spec_native_sharing(
    enc: &mut NativeEncoder<'_>,
    spec: &Arc<HashForm>,
    always_state: bool,
    sent: &mut Option<Box<SentSpec>>,
) -> Result<(), FreezeError> {
    if let Some(last) = sent.as_deref_mut() {
        let same_copy = last.shared.as_ref().is_some_and(|s| Arc::ptr_eq(s, spec));
        if same_copy || last.form == **spec {
            enc.append_encoded(&last.encoding);
            if !same_copy {
                // Sent again: known by pointer from now on.
                last.shared = Some(Arc::clone(spec));
            }
            return Ok(());
        }
    }
    let start = enc.written().len();
    spec_native(enc, spec, always_state)?;
    let encoding = &enc.written()[start..];
    match sent {
        _ if encoding.len() > KEPT_SPEC_LEN => *sent = None,
        Some(last) => {
            // A copy, field by field so the strings keep their room, and
            // no hold on the shared one until it comes again: a hash that
            // changes every time (a ClientLite RSVP answered) is then the
            // reader's to rewrite in place (see `native_spec_kept`).
            last.form.kernel.clone_from(&spec.kernel);
            last.form.session.clone_from(&spec.session);
            last.form.state.clone_from(&spec.state);
            last.shared = None;
            last.encoding.clear();
            last.encoding.extend_from_slice(encoding);
        }
        None => {
            *sent = Some(Box::new(SentSpec {
                form: HashForm::clone(spec),
                shared: None,
                encoding: encoding.to_vec(),
            }));
        }
    }
    Ok(())
}

/// A string `event` as [`text`] reads it, straight from native bytes and
/// shared: the text read last is kept with its bytes, and the same bytes
/// next time are stepped over and give the same shared text; `Some(None)`
/// when the next value is not a string (nothing is read).
fn native_text_kept(
    dec: &mut NativeDecoder<'_>,
    kept: &mut Option<Box<NativeEvent>>,
) -> Option<Option<Arc<str>>> {
    if let Some(last) = kept.as_deref()
        && dec.skip_same(&last.encoding, last.values)
    {
        return Some(Some(Arc::clone(&last.text)));
    }
    let start = dec.read_so_far().len();
    let values_before = dec.values_read();
    let text: Arc<str> = match dec.string().ok()? {
        None => return Some(None),
        Some(NativeString::Str(s)) => Arc::from(s),
        Some(NativeString::Bytes(bytes)) => Arc::from(&*perl_text(bytes)),
    };
    let encoding = &dec.read_so_far()[start..];
    let values = dec.values_read() - values_before;
    match kept {
        _ if encoding.len() > KEPT_SPEC_LEN => *kept = None,
        // Noted in the room the last one took.
        Some(last) => {
            last.text = Arc::clone(&text);
            last.encoding.clear();
            last.encoding.extend_from_slice(encoding);
            last.values = values;
        }
        None => {
            *kept = Some(Box::new(NativeEvent {
                text: Arc::clone(&text),
                encoding: encoding.to_vec(),
                values,
            }));
        }
    }
    Some(Some(text))
}

/// A specifier hash (at nesting level 1) as [`read_spec`] reads it,
/// straight from native bytes: parts that are strings or `undef` are read
/// directly, other scalars as [`text`] reads them; other keys are skipped.
/// `None` for anything `read_spec` refuses.
fn native_spec(dec: &mut NativeDecoder<'_>, spec: &mut HashForm) -> Option<()> {
    let entries = dec.hash(1).ok()?;
    // Which parts the hash gave: the others are cleared at the end.
    let mut given = [false; 3];
    for _ in 0..entries {
        let key = dec.key_ref().ok()?;
        let (i, part) = match key.as_bytes() {
            b"kernel" => (0, &mut spec.kernel),
            b"session" => (1, &mut spec.session),
            b"state" => (2, &mut spec.state),
            _ => {
                dec.value(2).ok()?;
                continue;
            }
        };
        given[i] = true;
        // The same text again (a rewritten hash's kernel and session) is
        // kept; other text is written into the room the part has.
        if dec.string_is(part).ok()? {
            continue;
        }
        part.clear();
        match dec.string().ok()? {
            Some(NativeString::Str(s)) => part.push_str(s),
            Some(NativeString::Bytes(bytes)) => part.push_str(&perl_text(bytes)),
            None => *part = text(&dec.value(2).ok()?, "spec", "a string").ok()?,
        }
    }
    for (given, part) in
        given
            .into_iter()
            .zip([&mut spec.kernel, &mut spec.session, &mut spec.state])
    {
        if !given {
            part.clear();
        }
    }
    Some(())
}

/// The longest specifier hash encoding kept for the next message.
const KEPT_SPEC_LEN: usize = 256;

/// [`native_spec`], sharing the work with the hash read last at the same
/// key: the same bytes again are stepped over and give the same shared
/// hash; other bytes are read into the last hash's room when no message
/// holds it any more (a ClientLite RSVP, which changes every call, then
/// costs no allocation).
fn native_spec_kept(
    dec: &mut NativeDecoder<'_>,
    kept: &mut Option<Box<KeptSpec>>,
) -> Option<Arc<HashForm>> {
    if let Some(last) = kept.as_deref()
        && let Some(form) = &last.form
        && dec.skip_same(&last.encoding, last.values)
    {
        return Some(Arc::clone(form));
    }
    let start = dec.read_so_far().len();
    let values_before = dec.values_read();
    // Taken out first: a read that fails leaves nothing to share.
    let mut form = kept
        .as_deref_mut()
        .and_then(|last| last.form.take())
        .filter(|last| Arc::strong_count(last) == 1 && Arc::weak_count(last) == 0)
        .unwrap_or_default();
    native_spec(dec, Arc::get_mut(&mut form)?)?;
    let encoding = &dec.read_so_far()[start..];
    let values = dec.values_read() - values_before;
    match kept {
        _ if encoding.len() > KEPT_SPEC_LEN => *kept = None,
        // Noted in the room the last one took.
        Some(last) => {
            last.encoding.clear();
            last.encoding.extend_from_slice(encoding);
            last.values = values;
            last.form = Some(Arc::clone(&form));
        }
        None => {
            *kept = Some(Box::new(KeptSpec {
                form: Some(Arc::clone(&form)),
                encoding: encoding.to_vec(),
                values,
            }));
        }
    }
    Some(form)
}

/// `from` or `rsvp` as [`optional_spec`] reads it, straight from native
/// bytes; `None` for anything it would refuse.
fn native_optional_spec(
    dec: &mut NativeDecoder<'_>,
    kept: &mut Option<Box<KeptSpec>>,
) -> Option<Option<Arc<HashForm>>> {
    if dec.at_hash() {
        return native_spec_kept(dec, kept).map(Some);
    }
    match dec.value(1).ok()? {
        Value::Undef => Some(None),
        _ => None,
    }
}

/// Bytes as the characters Perl sees: UTF-8 as it is, anything else as
/// Latin-1 (one character per byte).
pub(crate) fn perl_text(bytes: &[u8]) -> Cow<'_, str> {
    match std::str::from_utf8(bytes) {
        Ok(s) => Cow::Borrowed(s),
        Err(_) => Cow::Owned(bytes.iter().map(|&byte| char::from(byte)).collect()),
    }
}

/// A scalar as the text Perl would see, as [`text`] reads it, taking the
/// string instead of copying it; `None` for what `text` refuses.
pub(crate) fn into_text(value: Value) -> Option<String> {
    match value {
        Value::Str(s) => Some(s),
        Value::Bytes(b) => Some(match String::from_utf8(b) {
            Ok(s) => s,
            Err(e) => perl_text(e.as_bytes()).into_owned(),
        }),
        other => text(&other, "event", "").ok(),
    }
}

/// The keys of a message other than `params`, read without taking the
/// value apart (so that a failure can hand it back whole).
struct Head {
    event: MessageTarget,
    from: Option<Arc<HashForm>>,
    rsvp: Option<Arc<HashForm>>,
    wantarray: Option<bool>,
    is_error: bool,
    caller: Option<Arc<CallerInfo>>,
}

impl Head {
    fn read(value: &Value) -> Result<Self, MessageError> {
        let Value::Hash(hash) = value else {
            return Err(MessageError::NotAHash { found: kind(value) });
        };
        let event = match hash.get("event") {
            None => return Err(MessageError::MissingEvent),
            Some(Value::Hash(spec)) => MessageTarget::from(read_spec(spec, EVENT_PARTS)?),
            Some(other) => {
                MessageTarget::Text(text(other, "event", "a specifier string or hash")?.into())
            }
        };
        Ok(Self {
            event,
            from: optional_spec(hash.get("from"), "from", FROM_PARTS)?.map(Arc::new),
            rsvp: optional_spec(hash.get("rsvp"), "rsvp", RSVP_PARTS)?.map(Arc::new),
            wantarray: hash.get("wantarray").map(is_true),
            is_error: hash.get("is_error").is_some_and(is_true),
            caller: hash
                .get(CALLER_KEY)
                .and_then(CallerInfo::from_value)
                .map(Arc::new),
        })
    }

    /// Would [`read`](Self::read) succeed? The same error if not, found
    /// without copying anything.
    fn check(value: &Value) -> Result<(), MessageError> {
        let Value::Hash(hash) = value else {
            return Err(MessageError::NotAHash { found: kind(value) });
        };
        match hash.get("event") {
            None => return Err(MessageError::MissingEvent),
            Some(Value::Hash(spec)) => check_spec(spec, EVENT_PARTS)?,
            Some(other) => check_text(other, "event", "a specifier string or hash")?,
        }
        check_optional_spec(hash.get("from"), "from", FROM_PARTS)?;
        check_optional_spec(hash.get("rsvp"), "rsvp", RSVP_PARTS)
    }

    /// The message, with `params` and the unknown keys taken from `hash`.
    fn into_message(self, hash: &mut Hash) -> Message {
        for key in ["event", "from", "rsvp", "wantarray", "is_error"] {
            hash.remove(key);
        }
        if self.caller.is_some() {
            hash.remove(CALLER_KEY);
        }
        Message {
            event: self.event,
            params: hash.remove("params").unwrap_or_default(),
            from: self.from,
            rsvp: self.rsvp,
            wantarray: self.wantarray,
            is_error: self.is_error,
            caller: self.caller,
            extra: std::mem::take(hash),
        }
    }
}

/// A specifier hash as IKC writes it; `state` is left out when empty unless
/// `always_state`.
fn spec_hash(spec: &HashForm, always_state: bool) -> Value {
    let mut hash = Hash::with_capacity(3);
    hash.insert("kernel", spec.kernel.as_str());
    hash.insert("session", spec.session.as_str());
    if always_state || !spec.state.is_empty() {
        hash.insert("state", spec.state.as_str());
    }
    Value::Hash(hash)
}

/// Perl's true (`1`) and false (`''`).
fn perl_bool(b: bool) -> Value {
    if b { Value::Int(1) } else { Value::from("") }
}

fn optional_spec(
    value: Option<&Value>,
    field: &'static str,
    names: PartNames,
) -> Result<Option<HashForm>, MessageError> {
    match value {
        None | Some(Value::Undef) => Ok(None),
        Some(Value::Hash(spec)) => read_spec(spec, names).map(Some),
        Some(other) => Err(MessageError::BadField {
            field,
            expected: "a specifier hash",
            found: kind(other),
        }),
    }
}

/// Would [`optional_spec`] succeed? The same error if not.
fn check_optional_spec(
    value: Option<&Value>,
    field: &'static str,
    names: PartNames,
) -> Result<(), MessageError> {
    match value {
        None | Some(Value::Undef) => Ok(()),
        Some(Value::Hash(spec)) => check_spec(spec, names),
        Some(other) => Err(MessageError::BadField {
            field,
            expected: "a specifier hash",
            found: kind(other),
        }),
    }
}

/// Would [`read_spec`] succeed? The same error if not.
fn check_spec(spec: &Hash, names: PartNames) -> Result<(), MessageError> {
    for (key, name) in ["kernel", "session", "state"].into_iter().zip(names) {
        if let Some(v) = spec.get(key) {
            check_text(v, name, "a string")?;
        }
    }
    Ok(())
}

/// Would [`text`] succeed? The same error if not.
fn check_text(
    value: &Value,
    field: &'static str,
    expected: &'static str,
) -> Result<(), MessageError> {
    match value {
        Value::Undef
        | Value::Str(_)
        | Value::Bytes(_)
        | Value::Int(_)
        | Value::UInt(_)
        | Value::Bool(_) => Ok(()),
        other => Err(MessageError::BadField {
            field,
            expected,
            found: kind(other),
        }),
    }
}

/// The names of a specifier hash's parts in errors, per key.
type PartNames = [&'static str; 3];
const EVENT_PARTS: PartNames = ["event.kernel", "event.session", "event.state"];
const FROM_PARTS: PartNames = ["from.kernel", "from.session", "from.state"];
const RSVP_PARTS: PartNames = ["rsvp.kernel", "rsvp.session", "rsvp.state"];

fn read_spec(spec: &Hash, names: PartNames) -> Result<HashForm, MessageError> {
    let part = |key: &str, name: &'static str| match spec.get(key) {
        None => Ok(String::new()),
        Some(v) => text(v, name, "a string"),
    };
    Ok(HashForm {
        kernel: part("kernel", names[0])?,
        session: part("session", names[1])?,
        state: part("state", names[2])?,
    })
}

/// A scalar as the text Perl would see.
fn text(
    value: &Value,
    field: &'static str,
    expected: &'static str,
) -> Result<String, MessageError> {
    match value {
        Value::Undef => Ok(String::new()),
        Value::Str(s) => Ok(s.clone()),
        Value::Bytes(b) => Ok(perl_text(b).into_owned()),
        Value::Int(n) => Ok(n.to_string()),
        Value::UInt(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(if *b { "1" } else { "" }.to_owned()),
        other => Err(MessageError::BadField {
            field,
            expected,
            found: kind(other),
        }),
    }
}

/// Perl's truth: `undef`, `''`, `'0'`, `0` and `0.0` are false; everything
/// else, references included, is true.
fn is_true(value: &Value) -> bool {
    match value {
        Value::Undef => false,
        Value::Bool(b) => *b,
        Value::Int(n) => *n != 0,
        Value::UInt(n) => *n != 0,
        Value::Float(f) => *f != 0.0,
        Value::Str(s) => !(s.is_empty() || s == "0"),
        Value::Bytes(b) => !(b.is_empty() || b == b"0"),
        _ => true,
    }
}

/// What kind of value this is, for error messages.
pub(crate) fn kind(value: &Value) -> &'static str {
    match value {
        Value::Undef => "undef",
        Value::Bool(_) => "a boolean",
        Value::Int(_) | Value::UInt(_) => "an integer",
        Value::Float(_) => "a number",
        Value::Bytes(_) => "a byte string",
        Value::Str(_) => "a string",
        Value::Array(_) => "an array",
        Value::Hash(_) => "a hash",
        Value::Ref(_) => "a scalar reference",
        Value::Blessed(_) => "a blessed reference",
    }
}

#[cfg(test)]
mod tests;
