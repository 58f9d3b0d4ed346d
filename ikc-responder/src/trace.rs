//! Per-hop tracing: a message marked for tracing makes each kernel it
//! crosses report what it did with it, as NATS's message tracing does.
//!
//! A kernel (the `ikc` tool, any IKC peer) calls `IKC/trace` on an
//! *entry* kernel with `{to => SPECIFIER, args => ARG, state => STATE}`.
//! The entry kernel posts `ARG` to `SPECIFIER` with one more key in the
//! message hash, `trace => {kernel => ENTRY, id => N}` (Perl IKC ignores
//! keys it does not know), and answers the call with `N`. Each kernel that
//! handles the message reports a hop to `poe://ENTRY/IKC/trace_hop`:
//!
//! ```text
//! { id => N, kernel => 'its ID',
//!   action => 'sent' | 'routed' | 'delivered' | 'dropped',
//!   link => 'the next kernel' (sent, routed), to => 'SPECIFIER' (delivered),
//!   reason => '...' (dropped), time => seconds since the epoch }
//! ```
//!
//! (`sent` where the message leaves the kernel that sent it, `routed` at
//! each kernel of the mesh that passes it on), and the entry kernel posts
//! each hop to the tracer's `STATE`. Reports go
//! to the entry kernel rather than to the tracer, so a tracer that joins as
//! a leaf (a ClientLite) hears from kernels that do not know it. Hop reports
//! are not traced themselves. An unmarked message costs one branch
//! (`extra.is_empty()`) where it is sent and where it arrives.

use std::time::{SystemTime, UNIX_EPOCH};

use ikc_channel::{Message, MessageTarget};
use ikc_core::{Ctx, SessionId};
use ikc_freezer::{Hash, Value};
use ikc_specifier::HashForm;

use crate::responder::IKC_ALIAS;
use crate::send::send_msg;
use crate::state::Shared;

/// The states the `IKC` session publishes for tracing.
pub(crate) const REMOTE_STATES: [&str; 2] = ["trace", "trace_hop"];

/// The state a trace reports to when the request names none.
pub const DEFAULT_TRACE_STATE: &str = "ikc_trace";

/// The message key that marks a traced message.
const TRACE_KEY: &str = "trace";

/// How many traces an entry kernel remembers (the oldest is forgotten).
const MAX_TRACES: usize = 256;

/// Traces started here: id -> (the tracer's thunk, its state).
#[derive(Debug, Default)]
pub(crate) struct Traces {
    next: u64,
    open: Vec<(u64, SessionId, String)>,
}

/// `IKC/trace`: post the request's `args` to its `to`, marked for tracing.
/// Returns the trace's id, or an error text.
pub(crate) fn start(
    shared: &Shared,
    ctx: &mut Ctx<'_>,
    request: &Value,
    sender: Option<SessionId>,
) -> Value {
    let Some(tracer) = sender else {
        return Value::from("IKC/trace needs a sender to report to");
    };
    let field = |k: &str| request.as_hash().and_then(|h| h.get(k));
    let Some(to) = field("to").and_then(Value::as_str).map(str::to_owned) else {
        return Value::from("IKC/trace needs {to => SPECIFIER}");
    };
    let to = if to.starts_with("poe:") {
        to
    } else {
        format!("poe://{to}")
    };
    let state = field("state")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .unwrap_or(DEFAULT_TRACE_STATE)
        .to_owned();
    let args = field("args").cloned().unwrap_or_default();
    let (id, entry) = {
        let mut st = shared.borrow_mut();
        let traces = &mut st.traces;
        traces.next += 1;
        let id = traces.next;
        traces.open.push((id, tracer, state));
        if traces.open.len() > MAX_TRACES {
            traces.open.remove(0);
        }
        (id, st.kernel_id.clone())
    };
    let mut mark = Hash::with_capacity(2);
    mark.insert("kernel", entry.as_str());
    mark.insert("id", Value::from(id));
    let mut msg = Message::post(MessageTarget::from(to.as_str()), args);
    msg.extra.insert(TRACE_KEY, Value::Hash(mark));
    if send_msg(shared, ctx, msg, None) == 0 {
        let mut hop = Hash::new();
        hop.insert("action", "dropped");
        hop.insert("reason", format!("cannot send to {to}"));
        report(shared, ctx, &entry, id, hop);
    }
    Value::from(id)
}

/// `IKC/trace_hop`: a kernel reports a hop of a trace started here.
pub(crate) fn hop_arrived(shared: &Shared, ctx: &mut Ctx<'_>, hop: Value) {
    let Some(id) = hop.get("id").and_then(Value::as_i64) else {
        return;
    };
    let found = shared
        .borrow()
        .traces
        .open
        .iter()
        .find(|(t, _, _)| i64::try_from(*t).is_ok_and(|t| t == id))
        .map(|(_, tracer, state)| (*tracer, state.clone()));
    match found {
        Some((tracer, state)) => {
            let _ = ctx.post(tracer, state, vec![hop]);
        }
        None => log::debug!("hop of unknown trace {id} dropped"),
    }
}

/// Does the message carry a trace mark? (Cheap: no copy of the mark.)
pub(crate) fn is_marked(msg: &Message) -> bool {
    msg.extra.get(TRACE_KEY).is_some()
}

/// The trace mark of a message, if it has one: (entry kernel, id).
fn mark(msg: &Message) -> Option<(String, u64)> {
    let mark = msg.extra.get(TRACE_KEY)?;
    let entry = mark.get("kernel")?.as_str()?.to_owned();
    let id = u64::try_from(mark.get("id")?.as_i64()?).ok()?;
    Some((entry, id))
}

/// Report what this kernel did with a traced message (`action`, and
/// `detail` as more keys). Does nothing for an unmarked message.
pub(crate) fn hop(
    shared: &Shared,
    ctx: &mut Ctx<'_>,
    msg: &Message,
    action: &str,
    detail: &[(&str, &str)],
) {
    let Some((entry, id)) = mark(msg) else {
        return;
    };
    let mut hop = Hash::with_capacity(4 + detail.len());
    hop.insert("action", action);
    for (k, v) in detail {
        hop.insert(*k, *v);
    }
    report(shared, ctx, &entry, id, hop);
}

fn report(shared: &Shared, ctx: &mut Ctx<'_>, entry: &str, id: u64, mut hop: Hash) {
    let me = shared.borrow().kernel_id.clone();
    hop.insert("id", Value::from(id));
    hop.insert("kernel", me.as_str());
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64());
    hop.insert("time", Value::Float(now));
    if entry == me {
        hop_arrived(shared, ctx, Value::Hash(hop));
    } else {
        let msg = Message::post(
            HashForm::new(entry, IKC_ALIAS, "trace_hop"),
            Value::Hash(hop),
        );
        send_msg(shared, ctx, msg, None);
    }
}
