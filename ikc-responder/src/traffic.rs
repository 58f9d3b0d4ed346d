//! Message monitors: messages leaving for another kernel, arriving from
//! one, routed through this kernel, and dropped (with the reason).
//!
//! - **leaving**: a message this kernel sends, as it is put on a link
//!   (about the kernel at the other end);
//! - **arriving**: a message from another kernel that is handled here
//!   (about the kernel that sent it); one that only passes through is not;
//! - **routed**: a message the mesh passes on through this kernel, as it
//!   is put on the next link (about the kernel at the other end of it);
//! - **dropped**: a request from another kernel that could not be
//!   delivered here, with the reason.
//!
//! A session asks for them like for IKC's other monitor operations
//! ([`MonitorOp::Leaving`] ...); a message is told once to each monitoring
//! session, about the other kernel's real ID, and carries, after IKC's four
//! monitor arguments, one hash:
//!
//! ```text
//! { from => 'poe://A/sess', to => 'poe://B/sess/state', state => 'state',
//!   size => BYTES, args => PARAMS, reason => 'why' (dropped only) }
//! ```
//!
//! While no session monitors messages, each place a message passes costs
//! one branch ([`watching`]). The kernels that watch remotely (through
//! `IKC/watch`) are left out: their own traffic is not reported to them.

use ikc_channel::{Message, MessageTarget};
use ikc_core::Ctx;
use ikc_freezer::{Hash, Value};

use crate::monitor::MonitorOp;
use crate::state::{Link, LinkRef, Shared};

/// Does any session monitor messages? The one branch on the hot path.
#[inline]
pub(crate) fn watching(shared: &Shared) -> bool {
    shared.borrow().monitors.watches_messages()
}

/// The size of `msg` as the link's freezer writes it (only computed for
/// monitors).
pub(crate) fn encoded_size(link: &Link, msg: &Message) -> Option<usize> {
    let freezer = link.channel.freezer()?;
    let mut buf = Vec::new();
    freezer.freeze(&msg.to_value(), &mut buf).ok()?;
    Some(buf.len())
}

/// Tell the monitors of `kernel` (the other end: where the message goes,
/// or where it came from) about a message.
pub(crate) fn report(
    shared: &Shared,
    ctx: &mut Ctx<'_>,
    op: MonitorOp,
    kernel: &str,
    msg: &Message,
    size: Option<usize>,
    reason: Option<&str>,
) {
    if shared.borrow().watchers.iter().any(|w| w == kernel) {
        return;
    }
    let mut h = Hash::with_capacity(6);
    h.insert(
        "from",
        msg.from
            .as_ref()
            .map_or(Value::Undef, |f| Value::from(f.ikc_name())),
    );
    let (to, state) = match &msg.event {
        MessageTarget::Text(t) => (
            t.to_string(),
            ikc_specifier::Specifier::parse(t)
                .ok()
                .and_then(|s| s.state)
                .unwrap_or_default(),
        ),
        MessageTarget::Hash(hf) => (hf.ikc_name(), hf.state.clone()),
    };
    h.insert("to", to);
    h.insert("state", state);
    h.insert("size", size.map_or(Value::Undef, Value::from));
    h.insert("args", msg.params.clone());
    if let Some(reason) = reason {
        h.insert("reason", reason);
    }
    // Once per monitoring session, whichever name of the kernel it watches.
    let (notices, real) = {
        let st = shared.borrow();
        let real = st.remotes.real_id(kernel).unwrap_or(kernel).to_owned();
        let mut names = vec![real.as_str()];
        names.extend(st.remotes.aliases_of(&real).iter().map(String::as_str));
        (st.monitors.notices_once(&names, op), real)
    };
    let message = Value::Hash(h);
    for notice in notices {
        let args = vec![
            Value::from(notice.name_given),
            Value::from(real.as_str()),
            Value::Bool(true),
            notice.data,
            message.clone(),
        ];
        if ctx.post(notice.session, notice.state, args).is_err() {
            shared.borrow_mut().monitors.remove_session(notice.session);
        }
    }
}

/// Why a message is put on a link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Passage {
    /// This kernel sends it: `leaving` for monitors, `sent` for a trace,
    /// counted as sent.
    Leaving,
    /// This kernel passes it on for another kernel: `routed` for monitors
    /// and for a trace, counted as routed.
    Routed,
}

impl Passage {
    fn op(self) -> MonitorOp {
        match self {
            Self::Leaving => MonitorOp::Leaving,
            Self::Routed => MonitorOp::Routed,
        }
    }

    /// What a trace hop says this kernel did.
    pub(crate) fn trace_action(self) -> &'static str {
        match self {
            Self::Leaving => "sent",
            Self::Routed => "routed",
        }
    }

    /// Count a message put on a link.
    pub(crate) fn count(self, counters: &mut crate::introspect::Counters) {
        match self {
            Self::Leaving => counters.sent += 1,
            Self::Routed => counters.routed += 1,
        }
    }
}

/// A message about to leave (or to be passed on), for the monitors (only
/// made when some monitor asks for messages).
#[derive(Debug)]
pub(crate) struct Leaving {
    kernel: String,
    size: Option<usize>,
    op: MonitorOp,
}

/// Prepare the report of a message put on `link` (which is borrowed by
/// the caller: the report itself is made once it is let go).
pub(crate) fn leaving(
    shared: &Shared,
    link: &Link,
    msg: &Message,
    passage: Passage,
) -> Option<Leaving> {
    if !watching(shared) {
        return None;
    }
    Some(Leaving {
        kernel: link.remote_id.as_deref().unwrap_or_default().to_owned(),
        size: encoded_size(link, msg),
        op: passage.op(),
    })
}

impl Leaving {
    pub(crate) fn report(self, shared: &Shared, ctx: &mut Ctx<'_>, msg: &Message) {
        report(shared, ctx, self.op, &self.kernel, msg, self.size, None);
    }
}

/// A message that arrived on a link, held while the mesh decides where it
/// goes: it is reported as `arriving` only if it is delivered here (one
/// passed on is reported as `routed` where it leaves).
#[derive(Debug)]
pub(crate) struct Arrival {
    size: Option<usize>,
}

/// A message arrived on `link`: count it, and, when monitors ask for
/// messages, hold what its report needs. True if something is held: the
/// caller lets it go ([`forget_arrival`]) once the message is handled.
pub(crate) fn arrived(shared: &Shared, link: &LinkRef, msg: &Message) -> bool {
    link.borrow_mut().stats.messages_in += 1;
    if !watching(shared) {
        return false;
    }
    let size = encoded_size(&link.borrow(), msg);
    shared.borrow_mut().arrival = Some(Arrival { size });
    true
}

/// The message that arrived is handled.
pub(crate) fn forget_arrival(shared: &Shared) {
    shared.borrow_mut().arrival = None;
}

/// A message from `kernel` is about to be handled here: if it arrived on
/// a link (not from this kernel itself), tell the monitors it arrived.
pub(crate) fn delivering(shared: &Shared, ctx: &mut Ctx<'_>, kernel: &str, msg: &Message) {
    if !watching(shared) {
        return;
    }
    let arrival = shared.borrow_mut().arrival.take();
    if let Some(arrival) = arrival {
        report(
            shared,
            ctx,
            MonitorOp::Arriving,
            kernel,
            msg,
            arrival.size,
            None,
        );
    }
}

/// A request from `kernel` was not delivered: count it by `cause`, and
/// tell monitors why.
pub(crate) fn dropped(
    shared: &Shared,
    ctx: &mut Ctx<'_>,
    msg: &Message,
    kernel: &str,
    cause: &str,
    reason: &str,
) {
    shared.borrow_mut().counters.count_dropped(cause);
    if watching(shared) {
        report(
            shared,
            ctx,
            MonitorOp::Dropped,
            kernel,
            msg,
            None,
            Some(reason),
        );
    }
}
