//! [`CallerInfo`]: who sent a message and from where, in the `caller` key
//! that Perl IKC ignores.

use std::borrow::Cow;
use std::sync::Arc;

use ikc_freezer::{
    FreezeError, Hash, NativeDecoder, NativeEncoder, NativeString, StorableEncoder, StorableKept,
    Value,
};

use ikc_specifier::HashForm;

use super::into_text;

/// The message key [`CallerInfo`] travels under.
pub(crate) const CALLER_KEY: &str = "caller";

/// Who sent a message, beyond IKC's `from`: the sending kernel and
/// session, the state it was running, and the file and line it posted
/// from (Lightspeed's SENDER details, POE's `CALLER_STATE`, `CALLER_FILE`
/// and `CALLER_LINE`).
///
/// It travels as `caller => {kernel, session, state, file, line}`, a key
/// Perl IKC 0.2402 does not read (its responder and ClientLite look only at
/// the keys they know), so Perl peers are not disturbed; a Perl peer sends
/// none. `from` stays as IKC writes it, since IKC gives it a meaning of its
/// own (where proxy SENDER answers go).
///
/// ```
/// use ikc_channel::{CallerInfo, Message};
///
/// let msg = Message::post("poe://Server/pong/ping", 1)
///     .with_caller(CallerInfo::new("Client", "pinger", "do_stuff", "client.rs", 42));
/// let back = Message::try_from(msg.to_value())?;
/// assert_eq!(back.caller.as_ref().map(|c| c.line), Some(42));
/// assert_eq!(back, msg);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// A message holds it behind an [`Arc`]: a channel reading the same
/// caller in message after message (a session posting in a loop) shares
/// one copy instead of building it again for each.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct CallerInfo {
    /// The sending kernel's name (its unique ID, or a name it registered).
    pub kernel: String,
    /// The sending session: an alias, or its id in digits.
    pub session: String,
    /// The state it was running; `""` if none (posted from outside a handler).
    pub state: String,
    /// The source file it posted from; `""` if not known.
    pub file: String,
    /// The line it posted from; 0 if not known.
    pub line: u32,
}

impl CallerInfo {
    /// Caller details.
    pub fn new(
        kernel: impl Into<String>,
        session: impl Into<String>,
        state: impl Into<String>,
        file: impl Into<String>,
        line: u32,
    ) -> Self {
        Self {
            kernel: kernel.into(),
            session: session.into(),
            state: state.into(),
            file: file.into(),
            line,
        }
    }

    /// The hash it travels as.
    pub(crate) fn to_value(&self) -> Value {
        let mut hash = Hash::with_capacity(5);
        hash.insert("kernel", self.kernel.as_str());
        hash.insert("session", self.session.as_str());
        hash.insert("state", self.state.as_str());
        hash.insert("file", self.file.as_str());
        hash.insert("line", i64::from(self.line));
        Value::Hash(hash)
    }

    /// Read it back; `None` for anything but a hash of scalars (which is
    /// then kept among the message's unknown keys). Missing parts are
    /// empty, a line that is not a number in range is 0.
    pub(crate) fn from_value(value: &Value) -> Option<Self> {
        let Value::Hash(hash) = value else {
            return None;
        };
        let mut caller = Self::default();
        for (key, value) in hash {
            if matches!(value, Value::Array(_) | Value::Hash(_)) {
                return None;
            }
            match key.as_bytes() {
                b"line" => caller.line = line(value),
                key => {
                    let Some(part) = caller.part(key) else {
                        continue;
                    };
                    *part = into_text(value.clone())?;
                }
            }
        }
        Some(caller)
    }

    fn part(&mut self, key: &[u8]) -> Option<&mut String> {
        match key {
            b"kernel" => Some(&mut self.kernel),
            b"session" => Some(&mut self.session),
            b"state" => Some(&mut self.state),
            b"file" => Some(&mut self.file),
            _ => None,
        }
    }

    /// Write the native encoding of [`to_value`](Self::to_value).
    pub(crate) fn freeze_native(&self, enc: &mut NativeEncoder<'_>) -> Result<(), FreezeError> {
        enc.hash(5, 1)?;
        enc.key("kernel");
        enc.str(&self.kernel);
        enc.key("session");
        enc.str(&self.session);
        enc.key("state");
        enc.str(&self.state);
        enc.key("file");
        enc.str(&self.file);
        enc.key("line");
        enc.int(i64::from(self.line));
        Ok(())
    }

    /// Read it straight from native bytes (at nesting level 1); `None` for
    /// anything [`from_value`](Self::from_value) would not read, which the
    /// general path then handles. A caller equal to the one `last` holds is
    /// that one, shared: nothing is allocated for it, and when its bytes
    /// are the same as last time, nothing is decoded either.
    pub(crate) fn thaw_native(
        dec: &mut NativeDecoder<'_>,
        last: &mut LastRead,
    ) -> Option<Arc<Self>> {
        if let Some(kept) = &last.kept {
            if dec.skip_same(&kept.encoding, kept.values) {
                return Some(Arc::clone(&kept.caller));
            }
        }
        if !dec.at_hash() {
            return None;
        }
        let start = dec.read_so_far().len();
        let values_before = dec.values_read();
        let entries = dec.hash(1).ok()?;
        // kernel, session, state, file: borrowed from the frame while they
        // are UTF-8, as they nearly always are.
        let mut parts: [Cow<'_, str>; 4] = Default::default();
        let mut line_number = 0;
        for _ in 0..entries {
            let key = dec.key_ref().ok()?;
            let part = match key.as_bytes() {
                b"kernel" => 0,
                b"session" => 1,
                b"state" => 2,
                b"file" => 3,
                other => {
                    let value = dec.value(2).ok()?;
                    if matches!(value, Value::Array(_) | Value::Hash(_)) {
                        return None;
                    }
                    if other == b"line" {
                        line_number = line(&value);
                    }
                    continue;
                }
            };
            parts[part] = match dec.string().ok()?? {
                NativeString::Str(s) => Cow::Borrowed(s),
                NativeString::Bytes(bytes) => super::perl_text(bytes),
            };
        }
        let caller = match last.matching(&parts, line_number) {
            Some(same) => same,
            None => {
                let [kernel, session, state, file] = parts;
                Arc::new(Self {
                    kernel: kernel.into_owned(),
                    session: session.into_owned(),
                    state: state.into_owned(),
                    file: file.into_owned(),
                    line: line_number,
                })
            }
        };
        last.kept = Some(KeptCaller {
            caller: Arc::clone(&caller),
            encoding: dec.read_so_far()[start..].to_vec(),
            values: dec.values_read() - values_before,
            storable: None,
        });
        Some(caller)
    }
}

/// The caller a channel wrote last, with its bytes: the next messages
/// from the same caller (the same `Arc`) copy them. A channel writes with
/// one codec once negotiated, so the bytes are always that codec's. With
/// the native codec the `event`, `from` and `rsvp` hashes are kept the
/// same way.
#[derive(Debug, Default)]
pub(crate) struct LastWritten {
    last: Option<(Arc<CallerInfo>, Vec<u8>)>,
    /// The specifier hashes written last, with their bytes.
    pub(crate) specs: BySpecKey<SentSpec>,
}

/// One `T` per key of a message that holds a specifier hash (`event`,
/// `from`, `rsvp`): what a channel read or wrote there last.
#[derive(Debug)]
pub(crate) struct BySpecKey<T> {
    pub(crate) event: Option<Box<T>>,
    pub(crate) from: Option<Box<T>>,
    pub(crate) rsvp: Option<Box<T>>,
}

impl<T> Default for BySpecKey<T> {
    fn default() -> Self {
        Self {
            event: None,
            from: None,
            rsvp: None,
        }
    }
}

/// A specifier hash written, with its bytes.
#[derive(Debug)]
pub(crate) struct SentSpec {
    pub(crate) form: HashForm,
    /// The shared copy, once the same hash was written twice in a row.
    pub(crate) shared: Option<Arc<HashForm>>,
    pub(crate) encoding: Vec<u8>,
}

/// An encoder whose earlier output can be copied into it again.
pub(crate) trait CopyingEncoder {
    /// Everything written so far.
    fn written(&self) -> &[u8];
    /// Write bytes it wrote earlier for a value at the same level.
    fn append_encoded(&mut self, encoding: &[u8]);
}

impl CopyingEncoder for NativeEncoder<'_> {
    fn written(&self) -> &[u8] {
        NativeEncoder::written(self)
    }

    fn append_encoded(&mut self, encoding: &[u8]) {
        NativeEncoder::append_encoded(self, encoding);
    }
}

impl CopyingEncoder for StorableEncoder<'_, '_> {
    fn written(&self) -> &[u8] {
        StorableEncoder::written(self)
    }

    fn append_encoded(&mut self, encoding: &[u8]) {
        StorableEncoder::append_encoded(self, encoding);
    }
}

impl LastWritten {
    /// Write `caller` (at nesting level 1) as `fresh` writes it, or copy
    /// what it wrote for the same caller last time.
    pub(crate) fn write<E: CopyingEncoder>(
        &mut self,
        caller: &Arc<CallerInfo>,
        enc: &mut E,
        fresh: impl FnOnce(&mut E) -> Result<(), FreezeError>,
    ) -> Result<(), FreezeError> {
        if let Some((last, encoding)) = &self.last {
            // Kept alive here, so the same address is the same caller.
            if Arc::ptr_eq(last, caller) {
                enc.append_encoded(encoding);
                return Ok(());
            }
        }
        let start = enc.written().len();
        fresh(enc)?;
        self.last = Some((Arc::clone(caller), enc.written()[start..].to_vec()));
        Ok(())
    }
}

/// What a channel read last, which the next messages share while they
/// repeat it: the caller, the `event`, `from` and `rsvp` hashes, and a
/// Storable text `event`.
#[derive(Debug, Default)]
pub(crate) struct LastRead {
    kept: Option<KeptCaller>,
    /// The specifier hashes read last, kept with their bytes: a channel's
    /// messages repeat them (a client's `from` and `rsvp`, the `event` of
    /// the answers it gets).
    pub(crate) specs: BySpecKey<KeptSpec>,
    /// The text `event` read last from Storable bytes: posts and calls to
    /// the same target repeat it.
    pub(crate) storable_event: Option<Box<StorableEvent>>,
    /// The text `event` read last from native bytes, with those bytes.
    pub(crate) native_event: Option<Box<NativeEvent>>,
}

/// A text `event` read from native bytes, with those bytes: the next
/// message to the same target steps over them and shares the text.
#[derive(Debug)]
pub(crate) struct NativeEvent {
    pub(crate) text: Arc<str>,
    pub(crate) encoding: Vec<u8>,
    /// How many values reading it counted.
    pub(crate) values: usize,
}

/// A text `event` read from Storable bytes, with those bytes once it came
/// twice in a row (an event that changes every time costs no copy of
/// its bytes).
#[derive(Debug)]
pub(crate) struct StorableEvent {
    pub(crate) text: Arc<str>,
    pub(crate) kept: Option<StorableKept>,
}

/// A specifier hash read from native bytes, with those bytes.
#[derive(Debug)]
pub(crate) struct KeptSpec {
    /// The hash, once the same bytes came twice in a row (a hash that
    /// changes every time, such as ClientLite's RSVP, is not copied).
    pub(crate) form: Option<Arc<HashForm>>,
    /// Its encoding.
    pub(crate) encoding: Vec<u8>,
    /// How many values reading it counted.
    pub(crate) values: usize,
}

/// A caller read from native bytes, with those bytes.
#[derive(Debug)]
pub(crate) struct KeptCaller {
    caller: Arc<CallerInfo>,
    /// Its encoding (empty when it came through the general path).
    encoding: Vec<u8>,
    /// How many values reading it counted.
    values: usize,
    /// Its Storable encoding, when it came through the Storable path.
    storable: Option<Box<StorableKept>>,
}

impl LastRead {
    /// The kept caller, if it has these parts (kernel, session, state,
    /// file) and line.
    fn matching(&self, parts: &[Cow<'_, str>; 4], line: u32) -> Option<Arc<CallerInfo>> {
        let last = &self.kept.as_ref()?.caller;
        (last.line == line
            && last.kernel == parts[0]
            && last.session == parts[1]
            && last.state == parts[2]
            && last.file == parts[3])
            .then(|| Arc::clone(last))
    }

    /// `caller`, shared with the kept one if equal, else kept in its place.
    pub(crate) fn keep(&mut self, caller: CallerInfo) -> Arc<CallerInfo> {
        if let Some(last) = &self.kept {
            if *last.caller == caller {
                return Arc::clone(&last.caller);
            }
        }
        let caller = Arc::new(caller);
        self.kept = Some(KeptCaller {
            caller: Arc::clone(&caller),
            encoding: Vec::new(),
            values: 0,
            storable: None,
        });
        caller
    }

    /// The kept caller and its Storable encoding, if it has one.
    pub(crate) fn storable(&self) -> Option<(&StorableKept, &Arc<CallerInfo>)> {
        let kept = self.kept.as_ref()?;
        Some((kept.storable.as_deref()?, &kept.caller))
    }

    /// [`keep`](Self::keep) a caller read from Storable bytes, keeping
    /// those bytes (made by `encoding`) unless the kept caller has some.
    pub(crate) fn keep_storable(
        &mut self,
        caller: CallerInfo,
        encoding: impl FnOnce() -> StorableKept,
    ) -> Arc<CallerInfo> {
        let caller = self.keep(caller);
        if let Some(kept) = &mut self.kept {
            if kept.storable.is_none() {
                kept.storable = Some(Box::new(encoding()));
            }
        }
        caller
    }
}

/// A line number as sent: an integer, or digits; 0 otherwise.
fn line(value: &Value) -> u32 {
    match value {
        Value::Int(n) => u32::try_from(*n).unwrap_or(0),
        Value::UInt(n) => u32::try_from(*n).unwrap_or(0),
        other => other.as_str().and_then(|s| s.parse().ok()).unwrap_or(0),
    }
}
