//! Thunks: the local sessions that stand in for a remote sender.
//!
//! A state invoked by another kernel sees a thunk as its `SENDER` (the
//! responder calls the state on the thunk's behalf, and sends the return
//! value to the caller's RSVP). The thunk forwards whatever is posted to
//! it back to the remote session (IKC's "proxy SENDER"). One thunk serves
//! every request with the same `from`,
//! so a handler may keep `SENDER` and answer later; it keeps a thunk alive
//! beyond the connection with `refcount_increment`.

use ikc_channel::Message;
use ikc_core::{Ctx, Event, Session, SessionId};
use ikc_freezer::{Hash, Value};
use ikc_specifier::HashForm;

use crate::caller::caller_of_event;
use crate::send::send_msg;
use crate::state::{Shared, ThunkKey, WeakShared};

/// The reference tag the responder holds a thunk by.
const REF_TAG: &str = "IKC thunk";
/// How many thunks the responder keeps before releasing the oldest.
const MAX_THUNKS: usize = 1024;

/// A hash-form specifier as a `Value` (`{kernel, session, state}`).
pub(crate) fn hash_value(h: &HashForm) -> Value {
    let mut hash = Hash::with_capacity(3);
    hash.insert("kernel", h.kernel.as_str());
    hash.insert("session", h.session.as_str());
    hash.insert("state", h.state.as_str());
    Value::Hash(hash)
}

/// Read a hash-form specifier from a `Value` (or parse a string).
pub(crate) fn hash_form(value: &Value) -> Option<HashForm> {
    match value {
        Value::Hash(h) => {
            let part = |k: &str| h.get(k).map(Value::to_string).unwrap_or_default();
            Some(HashForm::new(
                part("kernel"),
                part("session"),
                part("state"),
            ))
        }
        other => other
            .as_str()
            .and_then(|s| ikc_specifier::Specifier::parse(s).ok())
            .map(|s| s.to_hash_form()),
    }
}

/// The thunk for requests sent by `from`, started if needed.
pub(crate) fn thunk_for(shared: &Shared, ctx: &mut Ctx<'_>, from: Option<&HashForm>) -> SessionId {
    let anonymous = HashForm::default();
    let found = shared
        .borrow()
        .thunks
        .get(from.unwrap_or(&anonymous))
        .copied();
    if let Some(id) = found {
        if ctx.session_exists(id) {
            return id;
        }
    }
    let key: ThunkKey = from.cloned().unwrap_or_default();
    let id = ctx.spawn(Thunk {
        from: from.cloned(),
        shared: std::rc::Rc::downgrade(shared),
    });
    // Thunks live on their own, not as children of a channel.
    let _ = ctx.detach_child(id);
    if ctx.refcount_increment(id, REF_TAG).is_err() {
        log::warn!("could not hold thunk session {id}");
    }
    let evicted = {
        let mut st = shared.borrow_mut();
        st.last_sender = None;
        st.thunks.insert(key.clone(), id);
        st.thunk_order.retain(|k| k != &key);
        st.thunk_order.push(key);
        if st.thunk_order.len() > MAX_THUNKS {
            let old = st.thunk_order.remove(0);
            st.thunks.remove(&old)
        } else {
            None
        }
    };
    if let Some(old) = evicted {
        let _ = ctx.refcount_decrement(old, REF_TAG);
    }
    id
}

/// Release the thunks standing for sessions of the kernels in `names`.
pub(crate) fn release_kernel(shared: &Shared, ctx: &mut Ctx<'_>, names: &[String]) {
    let released: Vec<SessionId> = {
        let mut st = shared.borrow_mut();
        let keys: Vec<ThunkKey> = st
            .thunks
            .keys()
            .filter(|k| names.contains(&k.kernel))
            .cloned()
            .collect();
        st.last_sender = None;
        st.thunk_order.retain(|k| !keys.contains(k));
        keys.iter().filter_map(|k| st.thunks.remove(k)).collect()
    };
    for id in released {
        let _ = ctx.refcount_decrement(id, REF_TAG);
    }
}

/// Release every thunk (shutdown).
pub(crate) fn release_all(shared: &Shared, ctx: &mut Ctx<'_>) {
    let all: Vec<SessionId> = {
        let mut st = shared.borrow_mut();
        st.last_sender = None;
        st.thunk_order.clear();
        st.thunks.drain().map(|(_, id)| id).collect()
    };
    for id in all {
        let _ = ctx.refcount_decrement(id, REF_TAG);
    }
}

/// A remote sender, as a local session.
#[derive(Debug)]
struct Thunk {
    from: Option<HashForm>,
    shared: WeakShared,
}

impl Thunk {
    fn respond(&self, ctx: &mut Ctx<'_>, event: Event) {
        let state = event.state.clone();
        let state = state.as_str();
        let sender = event.sender.session();
        let caller = caller_of_event(ctx, &event);
        let args = event.args;
        let Some(from) = &self.from else {
            log::warn!("attempt to respond to an anonymous foreign post with '{state}'");
            return;
        };
        let Some(shared) = self.shared.upgrade() else {
            log::warn!(
                "no IKC responder: cannot send '{state}' back to {}",
                from.ikc_name()
            );
            return;
        };
        let mut msg = if from.state.is_empty() {
            let event = HashForm::new(from.kernel.as_str(), from.session.as_str(), state);
            Message::post(event, Value::Array(args))
        } else {
            Message::post(
                from.clone(),
                Value::Array(vec![Value::from(state), Value::Array(args)]),
            )
        };
        msg.caller = caller;
        send_msg(&shared, ctx, msg, sender);
    }
}

impl Session for Thunk {
    fn handle(&mut self, ctx: &mut Ctx<'_>, event: Event) -> Value {
        match event.state() {
            s if s.starts_with('_') => Value::Undef,
            _ => {
                self.respond(ctx, event);
                Value::Undef
            }
        }
    }
}
