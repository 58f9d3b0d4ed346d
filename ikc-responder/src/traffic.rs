//! Message monitors: messages leaving for another kernel, arriving from
//! one, routed through this kernel, and dropped (with the reason).
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

use ikc_channel::{Message, Target};
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
        Target::Text(t) => (
            t.clone(),
            ikc_specifier::Specifier::parse(t)
                .ok()
                .and_then(|s| s.state)
                .unwrap_or_default(),
        ),
        Target::Hash(hf) => (hf.ikc_name(), hf.state.clone()),
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

/// A message about to leave, for the monitors (only made when some monitor
/// asks for messages).
#[derive(Debug)]
pub(crate) struct Leaving {
    kernel: String,
    size: Option<usize>,
}

/// Prepare the report of a message put on `link` (which is borrowed by
/// the caller: the report itself is made once it is let go).
pub(crate) fn leaving(shared: &Shared, link: &Link, msg: &Message) -> Option<Leaving> {
    if !watching(shared) {
        return None;
    }
    Some(Leaving {
        kernel: link.remote_id.as_deref().unwrap_or_default().to_owned(),
        size: encoded_size(link, msg),
    })
}

impl Leaving {
    pub(crate) fn report(self, shared: &Shared, ctx: &mut Ctx<'_>, msg: &Message) {
        report(
            shared,
            ctx,
            MonitorOp::Leaving,
            &self.kernel,
            msg,
            self.size,
            None,
        );
    }
}

/// A message arrived on `link` from `kernel`: count it, and tell monitors.
pub(crate) fn arriving(
    shared: &Shared,
    ctx: &mut Ctx<'_>,
    link: &LinkRef,
    kernel: &str,
    msg: &Message,
) {
    link.borrow_mut().stats.messages_in += 1;
    if watching(shared) {
        let size = encoded_size(&link.borrow(), msg);
        report(shared, ctx, MonitorOp::Arriving, kernel, msg, size, None);
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
