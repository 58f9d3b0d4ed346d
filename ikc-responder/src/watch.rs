//! Remote watching: `IKC/watch` lets another kernel (the `ikc` tool, a
//! ClientLite, any IKC peer) be told what this kernel's monitors see.
//!
//! A watch request is a remote call of `IKC/watch` with a hash
//! `{kernel => NAME or '*', ops => [...], state => STATE}`. The `IKC`
//! session starts a relay session that registers an ordinary monitor
//! (see [`MonitorStates`]) and posts each notice back to the remote sender
//! (IKC's proxy SENDER) at `STATE`, as one hash:
//!
//! ```text
//! { op => 'register', kernel => 'K', real => 1, args => [...] }
//! ```
//!
//! `args` holds what the monitor operation adds (for `error`: the
//! operation and the message; for `channel`: `ready` or `close` and the
//! channel session; for the message operations `leaving`, `arriving`,
//! `routed` and `dropped`: a hash describing the message). Without `ops`,
//! IKC's own operations are watched ([`MonitorOp::ALL`]); messages only
//! when asked for. The watcher's own traffic is never reported to message
//! monitors, so watching does not feed itself. The relay stops when the watching kernel unregisters,
//! when a notice cannot reach it, or at shutdown, so a watcher that goes
//! away leaves nothing behind. The call itself answers the list of
//! operations being watched.

use std::collections::BTreeSet;

use ikc_core::{Ctx, Event, Session, SessionId};
use ikc_freezer::{Hash, Value};

use crate::monitor::{MonitorOp, MonitorStates};
use crate::responder::monitor;
use crate::state::Shared;

/// The states the `IKC` session publishes for remote watching.
pub(crate) const REMOTE_STATES: [&str; 1] = ["watch"];

/// The state a watch reports to when the request names none.
pub const DEFAULT_WATCH_STATE: &str = "ikc_watch";

/// The reference tag a relay holds itself by.
const RELAY_TAG: &str = "IKC watch relay";
/// Relay states that forward the notice (`fwd:register`).
const FORWARD_PREFIX: &str = "fwd:";
/// Relay states the relay only listens to, for its own lifetime (`own:shutdown`).
const OWN_PREFIX: &str = "own:";

/// `IKC/watch`: start a relay for `sender` (the thunk of the remote
/// session that called). Returns the operations watched, or an error text.
pub(crate) fn watch(
    shared: &Shared,
    ctx: &mut Ctx<'_>,
    request: &Value,
    sender: Option<SessionId>,
) -> Value {
    let Some(to) = sender else {
        return Value::from("IKC/watch needs a sender to report to");
    };
    let Some(watcher) = watcher_kernel(shared, to) else {
        return Value::from("IKC/watch must be called from another kernel");
    };
    let text = |key: &str| {
        request
            .as_hash()
            .and_then(|h| h.get(key))
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    let kernel = text("kernel").unwrap_or_else(|| "*".to_owned());
    let state = text("state").unwrap_or_else(|| DEFAULT_WATCH_STATE.to_owned());
    let mut ops = BTreeSet::new();
    match request.as_hash().and_then(|h| h.get("ops")) {
        None | Some(Value::Undef) => ops.extend(MonitorOp::ALL),
        Some(list) => {
            let names: Vec<String> = match list {
                Value::Array(items) => items.iter().map(Value::to_string).collect(),
                one => one.to_string().split(',').map(str::to_owned).collect(),
            };
            for name in names {
                match MonitorOp::from_key(name.trim()) {
                    Some(op) => {
                        ops.insert(op);
                    }
                    None => return Value::from(format!("IKC/watch: unknown operation {name:?}")),
                }
            }
        }
    }
    let relay = ctx.spawn(Relay {
        to,
        state,
        watcher: watcher.clone(),
        forward: ops.clone(),
        stopped: false,
    });
    let _ = ctx.detach_child(relay);
    if ctx.refcount_increment(relay, RELAY_TAG).is_err() {
        return Value::from("IKC/watch: the relay did not start");
    }
    // The watched operations on the kernel asked for; unregister and
    // shutdown on every kernel as well, to notice the watcher leaving.
    let mut watched = MonitorStates::new();
    for op in &ops {
        watched = watched.on(*op, format!("{FORWARD_PREFIX}{op}"));
    }
    let own = [MonitorOp::Unregister, MonitorOp::Shutdown];
    if kernel == "*" {
        for op in own {
            if !ops.contains(&op) {
                watched = watched.on(op, format!("{OWN_PREFIX}{op}"));
            }
        }
        monitor(shared, relay, "*", &watched);
    } else {
        monitor(shared, relay, &kernel, &watched);
        let mut lifetime = MonitorStates::new();
        for op in own {
            lifetime = lifetime.on(op, format!("{OWN_PREFIX}{op}"));
        }
        monitor(shared, relay, "*", &lifetime);
    }
    shared.borrow_mut().watchers.push(watcher.clone());
    log::info!("IKC: {watcher} watches {kernel} ({ops:?})");
    Value::Array(ops.iter().map(|op| Value::from(op.key())).collect())
}

/// The kernel a thunk session stands for.
fn watcher_kernel(shared: &Shared, thunk: SessionId) -> Option<String> {
    shared
        .borrow()
        .thunks
        .iter()
        .find(|(_, id)| **id == thunk)
        .map(|(from, _)| from.kernel.clone())
        .filter(|k| !k.is_empty())
}

/// Posts the notices of one watch back to the watcher.
#[derive(Debug)]
struct Relay {
    /// The thunk of the remote session.
    to: SessionId,
    /// The remote state to post to.
    state: String,
    /// The watcher's kernel name (its unregistering ends the watch).
    watcher: String,
    /// The operations to forward.
    forward: BTreeSet<MonitorOp>,
    /// The relay has let go of everything.
    stopped: bool,
}

impl Relay {
    fn stop(&mut self, ctx: &mut Ctx<'_>) {
        if std::mem::replace(&mut self.stopped, true) {
            return;
        }
        if let Some(shared) = crate::state::lookup(ctx) {
            let mut st = shared.borrow_mut();
            st.monitors.remove_session(ctx.session_id());
            if let Some(i) = st.watchers.iter().position(|w| *w == self.watcher) {
                st.watchers.swap_remove(i);
            }
        }
        let me = ctx.session_id();
        let _ = ctx.refcount_decrement(me, RELAY_TAG);
    }

    fn notice(&mut self, ctx: &mut Ctx<'_>, state: &str, args: Vec<Value>) {
        let (forward, key) = match state.split_once(':') {
            Some(("fwd", key)) => (true, key),
            Some(("own", key)) => (false, key),
            _ => return,
        };
        let Some(op) = MonitorOp::from_key(key) else {
            return;
        };
        // ARG0 name given, ARG1 kernel, ARG2 real, ARG3 data, then extras.
        let mut args = args.into_iter();
        let _name_given = args.next();
        let kernel = args.next().unwrap_or_default();
        let real = args.next().unwrap_or_default();
        let _data = args.next();
        let extra: Vec<Value> = args.collect();
        let leaving = (op == MonitorOp::Unregister
            && real.as_bool()
            && kernel.as_str() == Some(self.watcher.as_str()))
            || op == MonitorOp::Shutdown;
        if forward && self.forward.contains(&op) {
            let mut report = Hash::with_capacity(4);
            report.insert("op", op.key());
            report.insert("kernel", kernel);
            report.insert("real", Value::Bool(real.as_bool()));
            report.insert("args", Value::Array(extra));
            let sent = ctx.post(self.to, self.state.clone(), vec![Value::Hash(report)]);
            if sent.is_err() {
                self.stop(ctx);
                return;
            }
        }
        if leaving {
            self.stop(ctx);
        }
    }
}

impl Session for Relay {
    fn handle(&mut self, ctx: &mut Ctx<'_>, event: Event) -> Value {
        let state = event.state().to_owned();
        if state.starts_with(FORWARD_PREFIX) || state.starts_with(OWN_PREFIX) {
            self.notice(ctx, &state, event.args);
        }
        Value::Undef
    }
}
