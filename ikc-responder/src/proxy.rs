//! Proxy sessions: local stand-ins for subscribed remote sessions.
//!
//! A proxy is aliased `poe://kernel/session` (and `session`, when that
//! alias is free). Whatever is posted to it goes to the remote session as
//! `IKC:proxy` with `[state, [args...]]`, so the remote state gets every
//! argument. It goes away on `unsubscribe`, when IKC shuts down, or when
//! the remote kernel disconnects.

use ikc_channel::Message;
use ikc_core::{Ctx, Event, Session};
use ikc_freezer::Value;
use ikc_specifier::HashForm;

use crate::caller::caller_of_event;
use crate::monitor::{MonitorOp, MonitorStates};
use crate::request::PROXY_STATE;
use crate::send::{inform, send_msg};
use crate::state::{Shared, WeakShared};
use crate::thunk::hash_value;

/// Removes a proxy's aliases (it then stops).
pub(crate) const SHUTDOWN_STATE: &str = "_shutdown";
/// Sent when the remote kernel is gone.
pub(crate) const DELETE_STATE: &str = "_delete";

/// A proxy for `kernel`/`session`; `rid` is the real ID of the kernel
/// that accepted the subscription.
#[derive(Debug)]
pub(crate) struct Proxy {
    kernel: String,
    session: String,
    rid: String,
    aliases: Vec<String>,
    shared: WeakShared,
}

impl Proxy {
    pub(crate) fn new(kernel: &str, session: &str, rid: &str, shared: &Shared) -> Self {
        Self {
            kernel: kernel.to_owned(),
            session: session.to_owned(),
            rid: rid.to_owned(),
            aliases: Vec::new(),
            shared: std::rc::Rc::downgrade(shared),
        }
    }

    /// The alias a proxy for `kernel`/`session` has: IKC's `specifier_name`.
    pub(crate) fn name(kernel: &str, session: &str) -> String {
        HashForm::new(kernel, session, "").ikc_name()
    }

    fn spec(&self) -> Value {
        hash_value(&HashForm::new(
            self.kernel.as_str(),
            self.session.as_str(),
            "",
        ))
    }

    fn start(&mut self, ctx: &mut Ctx<'_>, shared: &Shared) {
        let name = Self::name(&self.kernel, &self.session);
        if ctx.alias_set(&name).is_ok() {
            self.aliases.push(name);
        }
        if ctx.alias_resolve(&self.session).is_none() && ctx.alias_set(&self.session).is_ok() {
            self.aliases.push(self.session.clone());
        }
        let me = ctx.session_id();
        shared.borrow_mut().monitors.set(
            me,
            "*",
            "*",
            MonitorStates::new().on(MonitorOp::Shutdown, SHUTDOWN_STATE),
        );
        let spec = self.spec();
        inform(shared, ctx, &self.rid, MonitorOp::Subscribe, &[spec]);
    }

    fn remove_aliases(&mut self, ctx: &mut Ctx<'_>) {
        for alias in self.aliases.drain(..) {
            let _ = ctx.alias_remove(&alias);
        }
    }

    fn stop(&mut self, ctx: &mut Ctx<'_>) {
        let Some(shared) = self.shared.upgrade() else {
            return;
        };
        let me = ctx.session_id();
        {
            let mut st = shared.borrow_mut();
            st.monitors.remove_session(me);
            if let Some(list) = st.proxies.get_mut(&self.kernel) {
                list.retain(|&p| p != me);
            }
        }
        let spec = self.spec();
        inform(&shared, ctx, &self.rid, MonitorOp::Unsubscribe, &[spec]);
    }

    fn forward(&self, ctx: &mut Ctx<'_>, event: Event) {
        let state = event.state.clone();
        let state = state.as_str();
        let sender = event.sender.session();
        let caller = caller_of_event(ctx, &event);
        let args = event.args;
        let Some(shared) = self.shared.upgrade() else {
            log::warn!(
                "no IKC responder: cannot forward '{state}' to {}",
                self.session
            );
            return;
        };
        let target = HashForm::new(self.kernel.as_str(), self.session.as_str(), PROXY_STATE);
        let params = Value::Array(vec![Value::from(state), Value::Array(args)]);
        let msg = Message {
            caller,
            ..Message::post(target, params)
        };
        send_msg(&shared, ctx, msg, sender);
    }
}

impl Session for Proxy {
    fn handle(&mut self, ctx: &mut Ctx<'_>, event: Event) -> Value {
        match event.state() {
            "_start" => {
                if let Some(shared) = self.shared.upgrade() {
                    self.start(ctx, &shared);
                }
            }
            "_stop" => self.stop(ctx),
            SHUTDOWN_STATE | DELETE_STATE => self.remove_aliases(ctx),
            s if s.starts_with('_') => {}
            _ => self.forward(ctx, event),
        }
        Value::Undef
    }
}
