//! The local channel: the session that runs requests our kernel sends to
//! itself (posting to one's own kernel by name, `*`, errors about those),
//! as IKC::LocalKernel does.
//!
//! A request is run by calling the target state through a thunk. Were the
//! `IKC` session to run it, a request for one of its own states (`ping`,
//! `do_you_have`, `remote_error`) would call the session that is running:
//! the kernel refuses re-entrant calls. So local requests are posted here,
//! to a session of their own, as they arrive on a channel session from
//! other kernels.

use ikc_channel::Message;
use ikc_core::{Ctx, Event, Session, SessionId};
use ikc_freezer::Value;

use crate::request::request;
use crate::state::{Shared, WeakShared};

/// The state a local request arrives in: `[message hash]`.
pub(crate) const LOCAL_REQUEST_STATE: &str = "IKC:local";
/// The reference tag the `IKC` session holds the local channel by.
const REF_TAG: &str = "IKC local channel";

/// Start the local channel; it lives until [`release`] (IKC shutdown).
pub(crate) fn spawn(ctx: &mut Ctx<'_>, shared: &Shared) -> SessionId {
    let id = ctx.spawn(LocalChannel {
        shared: std::rc::Rc::downgrade(shared),
    });
    // A kernel-wide service like the responder, held by a reference.
    let _ = ctx.detach_child(id);
    if ctx.refcount_increment(id, REF_TAG).is_err() {
        log::warn!("could not hold the IKC local channel {id}");
    }
    id
}

/// Let the local channel go (it stops once its queued requests are run).
pub(crate) fn release(ctx: &mut Ctx<'_>, id: SessionId) {
    let _ = ctx.refcount_decrement(id, REF_TAG);
}

/// The local channel session.
#[derive(Debug)]
struct LocalChannel {
    shared: WeakShared,
}

impl Session for LocalChannel {
    fn handle(&mut self, ctx: &mut Ctx<'_>, event: Event) -> Value {
        if event.state() != LOCAL_REQUEST_STATE {
            return Value::Undef;
        }
        let Some(shared) = self.shared.upgrade() else {
            log::warn!("local IKC request dropped: the responder has shut down");
            return Value::Undef;
        };
        let kernel_id = shared.borrow().kernel_id.clone();
        let arg = event.args.into_iter().next().unwrap_or_default();
        match Message::try_from(arg) {
            Ok(msg) => request(&shared, ctx, Box::new(msg), &kernel_id),
            Err(e) => log::warn!("bad local IKC request: {e}"),
        }
        Value::Undef
    }
}
