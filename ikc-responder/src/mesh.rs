//! The mesh: the glue between the sans-IO router (`ikc-router`) and the
//! responder.
//!
//! - **Who routes.** A channel whose handshake chose the native codec has
//!   a Rust kernel at the other end (Perl IKC cannot load it, so a Perl
//!   peer never negotiates it, and the bytes it sees do not change). A
//!   Rust client that got the native codec from its server treats the link
//!   as a routing link at once and its router sends a hello; a Rust server
//!   waits for the first message from a native client: a hello makes the
//!   link a routing link, anything else (a Rust ClientLite) a leaf. Every
//!   other channel (Perl IKC, Perl's ClientLite, a Rust peer held to a Perl
//!   codec) is a leaf: advertised to the mesh as reached through this
//!   kernel, never sent a routing message, never a transit hop.
//! - **Control messages** travel as IKC messages to `IKC/IKC:route` on
//!   routing links only, their params the router's `ControlMessage`.
//! - **Forwarded messages** carry, on routing links only, two extra keys:
//!   the hops they passed (`ikc:hops`) and the kernel that sent them
//!   (`ikc:origin`, where errors go). A copy for several kernels names
//!   them all, comma-separated, in its `event`; each hop splits them by
//!   next hop again.
//! - **Perl leaves.** A copy for a leaf names the leaf alone and loses the
//!   extra keys. Its `rsvp` and `from`, when they name a kernel the leaf
//!   cannot know, are rewritten to name this kernel and a relay session
//!   (`IKC:via:<kernel>\x1f<session>`): what the leaf sends back there
//!   is forwarded to the kernel and session the relay names.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use ikc_channel::{Message, MessageTarget, Peer, Side};
use ikc_core::{Ctx, SessionId};
use ikc_freezer::Value;
use ikc_router::{
    CloseReason, Direction, KernelInfo, LinkId, Peer as RouterPeer, Route, Router, RouterConfig,
    RouterOutput, Targets, Unreachable, UnreachableReason,
};
use ikc_specifier::{HashForm, Part};

use crate::monitor::MonitorOp;
use crate::request::{parsed_target, request_parsed};
use crate::responder::IKC_ALIAS;
use crate::send::{
    ErrorSide, FLUSH_STATE, error_params, for_kernels, inform_kernel, report_error, report_plain,
    send_msg,
};
use crate::state::{LinkRef, Shared};
use crate::traffic::Passage;

/// The state control messages are sent to (in the `IKC` session).
pub(crate) const ROUTE_STATE: &str = "IKC:route";
/// The state a routing peer's goodbye is sent to (in the `IKC` session),
/// and the channel session's state that closes the channel in answer.
pub(crate) const BYE_STATE: &str = "IKC:bye";
/// The `IKC` session's state the router's timer fires in.
pub(crate) const TIMER_STATE: &str = "IKC:mesh_timer";
/// The extra message key with the hops a forwarded message passed.
pub(crate) const HOPS_KEY: &str = "ikc:hops";
/// The extra message key with the kernel a forwarded message came from.
pub(crate) const ORIGIN_KEY: &str = "ikc:origin";
/// The prefix of relay sessions (replies from Perl leaves to far kernels).
pub(crate) const RELAY_PREFIX: &str = "IKC:via:";
/// Between the kernel and the session in a relay session's name.
const RELAY_SEP: char = '\u{1f}';

/// What a channel is to the mesh.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MeshRole {
    /// Not known to the router: the handshake runs, the channel is a
    /// second one to a kernel already connected, or it was refused.
    Outside,
    /// A peer that offered the native codec dialed us: a routing peer if
    /// its first message is a hello, a leaf otherwise.
    Pending,
    /// A routing peer (a Rust kernel).
    Router,
    /// A kernel that does not route (Perl IKC, a ClientLite).
    Leaf,
}

/// The responder's router and its timer.
#[derive(Debug)]
pub(crate) struct Mesh {
    pub(crate) router: Router,
    /// The alarm the `IKC` session holds for the router, and when.
    armed: Option<(Instant, ikc_core::AlarmId)>,
    /// A timer event is posted to the `IKC` session already.
    arm_posted: bool,
    /// Links the router knows (no timer without one).
    links: usize,
    /// Kernels monitors were told are registered `routed` (reached
    /// through others) and not told since that this ended, with the names
    /// they were told: each such `register` gets exactly one `unregister`,
    /// under the same names.
    routed: HashMap<String, Vec<String>>,
}

impl Mesh {
    /// Build the router again from `config` (its kernel ID, incarnation
    /// and names are kept): only while no link is up.
    pub(crate) fn reconfigure(
        &mut self,
        configure: impl FnOnce(&mut RouterConfig),
        now: Instant,
    ) -> Result<(), crate::MeshConfigError> {
        if self.links > 0 {
            return Err(crate::MeshConfigError::LinksUp { links: self.links });
        }
        let current = self.router.config().clone();
        let mut config = current.clone();
        configure(&mut config);
        config.kernel_id = current.kernel_id;
        config.incarnation = current.incarnation;
        config.names = current.names;
        self.router = Router::new(config, now)?;
        Ok(())
    }

    pub(crate) fn new(kernel_id: &str, now: Instant) -> Self {
        let router = Router::new(RouterConfig::new(kernel_id), now)
            .expect("a kernel ID is never empty, and the defaults are valid");
        Self {
            router,
            armed: None,
            arm_posted: false,
            links: 0,
            routed: HashMap::new(),
        }
    }
}

/// The link ID a channel session has in the router.
pub(crate) fn link_id(session: SessionId) -> LinkId {
    LinkId(session.get())
}

pub(crate) fn session_of(link: LinkId) -> SessionId {
    SessionId::from_raw(link.0)
}

/// Names worth advertising to the mesh: not per-socket addresses.
fn mesh_names(names: &[String], id: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for n in names {
        if n.is_empty() || n == id || n.contains(':') || out.contains(n) {
            continue;
        }
        out.push(n.clone());
    }
    out
}

/// A channel finished its handshake: tell the router, in the role the
/// handshake shows.
pub(crate) fn link_up(
    shared: &Shared,
    ctx: &mut Ctx<'_>,
    session: SessionId,
    link: &LinkRef,
    peer: &Peer,
    side: Side,
    registered: bool,
) {
    let native = peer.freezer == ikc_freezer::NATIVE;
    let role = match (native, side) {
        (true, Side::Client) => MeshRole::Router,
        (true, _) => MeshRole::Pending,
        (false, _) if registered => MeshRole::Leaf,
        _ => MeshRole::Outside,
    };
    link.borrow_mut().mesh = role;
    if matches!(role, MeshRole::Router | MeshRole::Leaf) {
        join(shared, ctx, session, link, role, side);
    }
}

fn join(
    shared: &Shared,
    ctx: &mut Ctx<'_>,
    session: SessionId,
    link: &LinkRef,
    role: MeshRole,
    side: Side,
) {
    let (peer_id, names, weight) = {
        let l = link.borrow();
        (
            l.remote_id.as_deref().unwrap_or_default().to_owned(),
            l.remote_names.clone(),
            l.link_weight,
        )
    };
    let direction = match side {
        Side::Client => Direction::Outbound,
        _ => Direction::Inbound,
    };
    let names = mesh_names(&names, &peer_id);
    let mut peer = match role {
        MeshRole::Router => RouterPeer::router(peer_id.as_str(), direction),
        _ => RouterPeer::leaf(peer_id.as_str(), direction),
    }
    .with_names(names);
    if let Some(weight) = weight {
        peer = peer.with_fixed_weight(weight);
    }
    let now = ctx.now();
    let result = shared
        .borrow_mut()
        .mesh
        .router
        .link_up(link_id(session), peer, now);
    match result {
        Ok(()) => {
            link.borrow_mut().mesh = role;
            shared.borrow_mut().mesh.links += 1;
        }
        Err(e) => {
            link.borrow_mut().mesh = MeshRole::Outside;
            report_plain(
                shared,
                ctx,
                "mesh",
                &format!("kernel {peer_id} is not part of the mesh: {e}"),
            );
        }
    }
    drive(shared, ctx);
}

/// A channel closed: tell the router.
pub(crate) fn link_down(shared: &Shared, ctx: &mut Ctx<'_>, session: SessionId, link: &LinkRef) {
    let was = std::mem::replace(&mut link.borrow_mut().mesh, MeshRole::Outside);
    if matches!(was, MeshRole::Router | MeshRole::Leaf) {
        let now = ctx.now();
        let mut st = shared.borrow_mut();
        st.mesh.router.link_down(link_id(session), now);
        st.mesh.links = st.mesh.links.saturating_sub(1);
        drop(st);
        drive(shared, ctx);
    }
}

/// Queue a goodbye on a routing link: the peer closes its end when it
/// reads it (after everything we sent before it).
pub(crate) fn say_bye(link: &LinkRef) {
    let mut l = link.borrow_mut();
    let peer = l.remote_id.as_deref().unwrap_or_default().to_owned();
    let msg = Message::post(HashForm::new(peer, IKC_ALIAS, BYE_STATE), Value::Undef);
    if let Err(e) = l.channel.send(&msg) {
        log::debug!("IKC mesh: cannot say goodbye: {e}");
    }
}

/// Is this message a routing peer's goodbye?
fn is_bye(msg: &Message) -> bool {
    match &msg.event {
        MessageTarget::Hash(h) => h.state == BYE_STATE && h.session == IKC_ALIAS,
        MessageTarget::Text(_) => false,
    }
}

/// Is this message one of the router's?
fn is_control(msg: &Message) -> bool {
    match &msg.event {
        MessageTarget::Hash(h) => h.state == ROUTE_STATE && h.session == IKC_ALIAS,
        MessageTarget::Text(_) => false,
    }
}

/// Carry out what the router asks, then keep its timer.
pub(crate) fn drive(shared: &Shared, ctx: &mut Ctx<'_>) {
    loop {
        let output = shared.borrow_mut().mesh.router.poll_output();
        let Some(output) = output else { break };
        match output {
            RouterOutput::Transmit { link, message } => {
                transmit(shared, ctx, session_of(link), message.to_value());
            }
            RouterOutput::KernelUp(info) => {
                if !info.direct() {
                    inform_routed(shared, ctx, &info, MonitorOp::Register);
                }
            }
            RouterOutput::KernelMoved(info) => {
                if info.direct() {
                    // Its own link is back (and registered it `direct`):
                    // the registration through others ends.
                    inform_routed(shared, ctx, &info, MonitorOp::Unregister);
                } else if !shared.borrow().remotes.is_real(&info.kernel_id) {
                    inform_routed(shared, ctx, &info, MonitorOp::Register);
                }
            }
            RouterOutput::KernelDown(info) => {
                if !info.direct() && !shared.borrow().remotes.is_real(&info.kernel_id) {
                    inform_routed(shared, ctx, &info, MonitorOp::Unregister);
                    let names: Vec<String> = info.all_names().map(str::to_owned).collect();
                    crate::responder::forget_sessions_of(shared, ctx, &names);
                }
            }
            RouterOutput::RouteChanged(route) => {
                let names = shared
                    .borrow()
                    .mesh
                    .router
                    .reachable(&route.kernel_id)
                    .map(|info| info.names)
                    .unwrap_or_default();
                inform_kernel(
                    shared,
                    ctx,
                    &route.kernel_id,
                    &names,
                    MonitorOp::Route,
                    &[
                        Value::from(route.via.as_str()),
                        Value::from(i64::from(route.hops)),
                    ],
                );
            }
            RouterOutput::NameClash(clash) => {
                let kernels: Vec<&str> = clash.kernels.iter().map(|k| k.as_str()).collect();
                report_plain(
                    shared,
                    ctx,
                    "clash",
                    &format!(
                        "the name '{}' is claimed by several kernels of the mesh: {}",
                        clash.name,
                        kernels.join(", ")
                    ),
                );
            }
            RouterOutput::CloseLink { link, reason } => close_link(shared, ctx, link, &reason),
            RouterOutput::Error { link, error } => {
                let peer = link
                    .and_then(|l| shared.borrow().link(session_of(l)))
                    .and_then(|l| l.borrow().remote_id.clone());
                report_error(
                    shared,
                    ctx,
                    ErrorSide::Local,
                    &format!("mesh: {error}"),
                    peer.as_deref(),
                    "mesh",
                    false,
                );
            }
            other => log::debug!("router output ignored: {other:?}"),
        }
    }
    arm(shared, ctx);
}

/// The router asked to close a link.
fn close_link(shared: &Shared, ctx: &mut Ctx<'_>, link: LinkId, reason: &CloseReason) {
    let session = session_of(link);
    let Some(l) = shared.borrow().link(session) else {
        return;
    };
    let (peer, role) = {
        let l = l.borrow();
        (
            l.remote_id.as_deref().unwrap_or_default().to_owned(),
            l.mesh,
        )
    };
    let text = match reason {
        CloseReason::DuplicateLink { .. } => {
            format!("a second connection to {peer}: closed, the other is kept")
        }
        CloseReason::Replaced { .. } => format!("{peer} restarted: its old connection is closed"),
        CloseReason::NameClash { name } => {
            format!("{peer} refused: the name '{name}' belongs to another kernel of the mesh")
        }
        CloseReason::RefusedByPeer { reason } => format!("{peer} refused us: {reason}"),
        CloseReason::PeerMismatch => format!("{peer} said it is another kernel"),
        CloseReason::Unresponsive => format!("{peer} stopped answering"),
        other => format!("{peer}: {other:?}"),
    };
    if role == MeshRole::Leaf && matches!(reason, CloseReason::NameClash { .. }) {
        // A leaf stays a plain IKC channel, outside the mesh.
        report_plain(shared, ctx, "clash", &text);
        link_down(shared, ctx, session, &l);
        return;
    }
    if matches!(reason, CloseReason::DuplicateLink { .. }) && !l.borrow().dialed {
        // Both ends drop the same connection: the end that dialed it closes
        // it (with a goodbye), the other waits for that, so nothing sent on
        // it in the meantime is lost.
        log::info!("IKC mesh: {text}; the peer closes it");
        return;
    }
    let quiet = matches!(
        reason,
        CloseReason::DuplicateLink { .. } | CloseReason::Replaced { .. }
    );
    if quiet {
        log::info!("IKC mesh: {text}");
    } else {
        report_plain(shared, ctx, "mesh", &text);
    }
    let _ = ctx.post(session, "close", Vec::new());
}

/// Put a control message on a routing link.
fn transmit(shared: &Shared, ctx: &mut Ctx<'_>, session: SessionId, params: Value) {
    let Some(link) = shared.borrow().link(session) else {
        return;
    };
    let mut l = link.borrow_mut();
    if l.is_closed() {
        return;
    }
    let peer = l.remote_id.as_deref().unwrap_or_default().to_owned();
    let msg = Message::post(HashForm::new(peer, IKC_ALIAS, ROUTE_STATE), params);
    if let Err(e) = l.channel.send(&msg) {
        log::warn!("IKC mesh: cannot send a control message: {e}");
        return;
    }
    if l.note_output() {
        drop(l);
        let _ = ctx.post(session, FLUSH_STATE, Vec::new());
    }
}

/// Keep an alarm in the `IKC` session for the router's next deadline
/// (only while links are up, so an idle kernel can exit).
fn arm(shared: &Shared, ctx: &mut Ctx<'_>) {
    let (deadline, ikc, armed, posted, shutting) = {
        let st = shared.borrow();
        let deadline = if st.mesh.links > 0 {
            st.mesh.router.poll_timeout()
        } else {
            None
        };
        (
            deadline,
            st.session,
            st.mesh.armed,
            st.mesh.arm_posted,
            st.shutting_down,
        )
    };
    let wanted = if shutting { None } else { deadline };
    if armed.map(|(t, _)| t) == wanted {
        return;
    }
    if ctx.session_id() != ikc {
        if !posted && ctx.post(ikc, TIMER_STATE, Vec::new()).is_ok() {
            shared.borrow_mut().mesh.arm_posted = true;
        }
        return;
    }
    if let Some((_, id)) = armed {
        ctx.alarm_remove(id);
    }
    let alarm = wanted.map(|t| (t, ctx.alarm_set(TIMER_STATE, t, Vec::new())));
    shared.borrow_mut().mesh.armed = alarm;
}

/// The router's timer (in the `IKC` session).
pub(crate) fn on_timer(shared: &Shared, ctx: &mut Ctx<'_>) {
    let now = ctx.now();
    {
        let mut st = shared.borrow_mut();
        st.mesh.arm_posted = false;
        let due = st.mesh.armed.is_some_and(|(t, _)| t <= now);
        if due {
            st.mesh.armed = None;
            st.mesh.router.handle_timeout(now);
        }
    }
    drive(shared, ctx);
}

/// Stop the timer (shutdown).
pub(crate) fn disarm(shared: &Shared, ctx: &mut Ctx<'_>) {
    let armed = shared.borrow_mut().mesh.armed.take();
    if let Some((_, id)) = armed {
        ctx.alarm_remove(id);
    }
}

/// Tell monitors about a kernel reached through others: a `register`
/// once, and an `unregister` only after a `register`.
fn inform_routed(shared: &Shared, ctx: &mut Ctx<'_>, info: &KernelInfo, op: MonitorOp) {
    let names = {
        let routed = &mut shared.borrow_mut().mesh.routed;
        match op {
            MonitorOp::Register => {
                if routed.contains_key(info.kernel_id.as_str()) {
                    return;
                }
                routed.insert(info.kernel_id.to_string(), info.names.clone());
                info.names.clone()
            }
            _ => match routed.remove(info.kernel_id.as_str()) {
                Some(names) => names,
                None => return,
            },
        }
    };
    inform_routed_kernel(shared, ctx, &info.kernel_id, &names, op);
}

fn inform_routed_kernel(
    shared: &Shared,
    ctx: &mut Ctx<'_>,
    kernel_id: &str,
    names: &[String],
    op: MonitorOp,
) {
    inform_kernel(
        shared,
        ctx,
        kernel_id,
        names,
        op,
        &[Value::Undef, Value::from("routed")],
    );
}

/// A kernel registered `routed` now has its own link, about to be
/// registered `direct`: its registration through others ends first, so
/// monitors hear `unregister routed` before `register direct` and the last
/// word they hear says it is there.
pub(crate) fn routed_becomes_direct(shared: &Shared, ctx: &mut Ctx<'_>, kernel_id: &str) {
    let names = shared.borrow_mut().mesh.routed.remove(kernel_id);
    if let Some(names) = names {
        inform_routed_kernel(shared, ctx, kernel_id, &names, MonitorOp::Unregister);
    }
}

/// A kernel registered `direct` lost its link and was just unregistered
/// `direct`: if the router still reaches it through others, it is
/// registered `routed` now. (When the router had counted the lost link,
/// its `KernelMoved` does this once it hears the link is down; when it had
/// not yet, because the link went before the peer's record confirmed it,
/// nothing would move, and the monitors' last word would wrongly say the
/// kernel is gone.)
pub(crate) fn direct_becomes_routed(shared: &Shared, ctx: &mut Ctx<'_>, kernel_id: &str) {
    let info = shared.borrow().mesh.router.reachable(kernel_id);
    if let Some(info) = info.filter(|info| !info.direct()) {
        inform_routed(shared, ctx, &info, MonitorOp::Register);
    }
}

/// A message arrived on a channel: a control message for the router, a
/// request for this kernel, or one to pass on.
pub(crate) fn incoming(
    shared: &Shared,
    ctx: &mut Ctx<'_>,
    session: SessionId,
    link: &LinkRef,
    msg: Box<Message>,
) {
    let (role, remote, closing) = {
        let l = link.borrow();
        (
            l.mesh,
            l.remote_id.clone().unwrap_or_default(),
            l.awaiting_eof,
        )
    };
    let control = is_control(&msg);
    if closing && (control || is_bye(&msg)) {
        // The link is going: the router no longer uses it.
        return;
    }
    let role = if role == MeshRole::Pending {
        let role = if control {
            MeshRole::Router
        } else {
            MeshRole::Leaf
        };
        join(shared, ctx, session, link, role, Side::Server);
        link.borrow().mesh
    } else {
        role
    };
    if role == MeshRole::Router && is_bye(&msg) {
        let _ = ctx.post(session, BYE_STATE, Vec::new());
        return;
    }
    if control && role == MeshRole::Router {
        let now = ctx.now();
        let result = shared.borrow_mut().mesh.router.handle_control_value(
            link_id(session),
            &msg.params,
            now,
        );
        if let Err(e) = result {
            report_error(
                shared,
                ctx,
                ErrorSide::Channel,
                &format!("bad routing message: {e}"),
                Some(&*remote),
                "mesh",
                false,
            );
        }
        drive(shared, ctx);
        return;
    }
    let held = crate::traffic::arrived(shared, link, &msg);
    let from_mesh = role == MeshRole::Router;
    route_incoming(shared, ctx, Some(session), from_mesh, msg, &remote);
    if held {
        crate::traffic::forget_arrival(shared);
    }
}

/// Decide where a message that arrived (or that a relay names) goes.
fn route_incoming(
    shared: &Shared,
    ctx: &mut Ctx<'_>,
    arrived_on: Option<SessionId>,
    from_mesh: bool,
    mut msg: Box<Message>,
    remote: &str,
) {
    let (hops, origin) = if from_mesh {
        let hops = msg
            .extra
            .get(HOPS_KEY)
            .and_then(Value::as_i64)
            .map_or(0, |h| u32::try_from(h).unwrap_or(u32::MAX));
        let origin = msg
            .extra
            .get(ORIGIN_KEY)
            .and_then(Value::as_str)
            .map(str::to_owned);
        (hops, origin)
    } else {
        (0, None)
    };
    let errors_to = origin.as_deref().unwrap_or(remote);
    unrelay(&mut msg);
    // A bad specifier is the local request's to report.
    let to = parsed_target(shared, &msg.event).ok();
    let Some(Part::Names(names)) = to.as_deref().map(|to| &to.spec.kernel) else {
        return request_parsed(shared, ctx, msg, to, errors_to);
    };
    let link = arrived_on.map(link_id);
    if let [name] = names.as_slice() {
        if ctx.is_local_name(name) {
            return request_parsed(shared, ctx, msg, to, errors_to);
        }
        let st = shared.borrow();
        let route = st.mesh.router.route(name);
        let limit = st.mesh.router.config().hop_limit;
        match route {
            Ok(Route::Local) => {
                drop(st);
                request_parsed(shared, ctx, msg, to, errors_to);
            }
            Ok(Route::Link {
                link: next,
                kernel_id,
            }) => {
                let kernel_id = kernel_id.as_str().to_owned();
                drop(st);
                if hops >= limit {
                    let why = format!("Kernel '{name}' is more than {limit} hops away");
                    unreachable(shared, ctx, &msg, &[(name.clone(), why)], errors_to);
                } else {
                    forward(
                        shared,
                        ctx,
                        session_of(next),
                        *msg,
                        &[kernel_id],
                        hops + 1,
                        errors_to,
                    );
                }
            }
            Err(u) => {
                drop(st);
                if hops == 0 {
                    // IKC ignores the kernel of a request that came
                    // straight from its sender: a name we do not know
                    // (an address the sender reached us by...) is ours.
                    request_parsed(shared, ctx, msg, to, errors_to);
                } else {
                    let why = why_unreachable(&u);
                    unreachable(shared, ctx, &msg, &[(name.clone(), why)], errors_to);
                }
            }
        }
        return;
    }
    let plan = {
        let st = shared.borrow();
        let local_names: Vec<String> = names
            .iter()
            .filter(|n| !ctx.is_local_name(n))
            .cloned()
            .collect();
        let mut plan = st
            .mesh
            .router
            .plan(Targets::Names(&local_names), link, hops);
        plan.local |= local_names.len() < names.len();
        plan
    };
    let last = plan.forward.len();
    for (i, fwd) in plan.forward.iter().enumerate() {
        let kernels: Vec<String> = fwd
            .kernels
            .iter()
            .map(|d| d.kernel_id.as_str().to_owned())
            .collect();
        let copy = if i + 1 == last && !plan.local {
            std::mem::replace(&mut *msg, Message::post("", Value::Undef))
        } else {
            Message::clone(&msg)
        };
        forward(
            shared,
            ctx,
            session_of(fwd.link),
            copy,
            &kernels,
            hops + 1,
            errors_to,
        );
    }
    if !plan.unreachable.is_empty() {
        let list: Vec<(String, String)> = plan
            .unreachable
            .iter()
            .map(|u| (u.name.clone(), why_unreachable(u)))
            .collect();
        unreachable(shared, ctx, &msg, &list, errors_to);
    }
    if plan.local {
        request_parsed(shared, ctx, msg, to, errors_to);
    }
}

/// A reply a Perl leaf sent to a relay session: back to the kernel and
/// session the relay names.
fn unrelay(msg: &mut Message) {
    let MessageTarget::Hash(h) = &msg.event else {
        return;
    };
    let Some(rest) = h.session.strip_prefix(RELAY_PREFIX) else {
        return;
    };
    let Some((kernel, session)) = rest.split_once(RELAY_SEP) else {
        return;
    };
    msg.event = MessageTarget::Hash(HashForm::new(kernel, session, h.state.as_str()).into());
}

/// `spec` as a relay through this kernel (named `us` on the leaf's link).
fn relay(spec: &HashForm, us: &str) -> HashForm {
    HashForm::new(
        us,
        format!("{RELAY_PREFIX}{}{RELAY_SEP}{}", spec.kernel, spec.session),
        spec.state.as_str(),
    )
}

/// Send a copy of a message on to the next hop, for `kernels`.
pub(crate) fn pass_on(
    shared: &Shared,
    ctx: &mut Ctx<'_>,
    session: SessionId,
    mut msg: Message,
    kernels: &[String],
    hops: u32,
    origin: &str,
) -> Result<(), Box<Message>> {
    let Some(link) = shared.borrow().link(session) else {
        return Err(Box::new(msg));
    };
    let role = link.borrow().mesh;
    // A copy for one kernel whose `event` already names one kernel (the
    // name this copy was routed by) goes as it is: no reprinting.
    let names_one = kernels.len() == 1 && names_one_kernel(shared, &msg.event);
    if role == MeshRole::Router {
        if !names_one {
            msg.event = for_kernels(&msg.event, kernels);
        }
        msg.extra.insert(HOPS_KEY, Value::from(i64::from(hops)));
        if msg.extra.get(ORIGIN_KEY).is_none() {
            msg.extra.insert(ORIGIN_KEY, Value::from(origin));
        }
        if let Some(r) = msg.rsvp.as_mut().filter(|r| r.kernel.is_empty()) {
            Arc::make_mut(r)
                .kernel
                .clone_from(&shared.borrow().kernel_id);
        }
    } else {
        // A leaf: one kernel, no mesh keys, replies through us.
        let (us, leaf) = {
            let l = link.borrow();
            (
                l.kernel_name.clone(),
                l.remote_id.as_deref().unwrap_or_default().to_owned(),
            )
        };
        let kernel_id = shared.borrow().kernel_id.clone();
        msg.extra.remove(HOPS_KEY);
        msg.extra.remove(ORIGIN_KEY);
        if !names_one {
            msg.event = for_kernels(&msg.event, std::slice::from_ref(&leaf));
        }
        let foreign =
            |k: &str| !k.is_empty() && k != kernel_id && k != leaf && !ctx.is_local_name(k);
        if let Some(r) = msg.rsvp.as_ref().filter(|r| foreign(&r.kernel)) {
            msg.rsvp = Some(relay(r, &us).into());
        }
        if let Some(f) = msg.from.as_ref().filter(|f| foreign(&f.kernel)) {
            msg.from = Some(relay(f, &us).into());
        }
    }
    // A copy with hops passed through kernels before: this one routes it.
    let passage = if hops == 0 {
        Passage::Leaving
    } else {
        Passage::Routed
    };
    crate::send::deliver_to_channel(shared, ctx, session, msg, passage)
}

/// Does `event` name exactly one kernel (not a list, not `*`, not none)?
fn names_one_kernel(shared: &Shared, event: &MessageTarget) -> bool {
    match event {
        MessageTarget::Hash(h) => {
            !h.kernel.is_empty() && h.kernel != "*" && !h.kernel.contains(',')
        }
        MessageTarget::Text(_) => parsed_target(shared, event)
            .is_ok_and(|t| matches!(&t.spec.kernel, Part::Names(n) if n.len() == 1)),
    }
}

/// A forwarded copy that could not be put on its link: its kernels are
/// unreachable.
fn forward(
    shared: &Shared,
    ctx: &mut Ctx<'_>,
    session: SessionId,
    msg: Message,
    kernels: &[String],
    hops: u32,
    errors_to: &str,
) {
    if let Err(msg) = pass_on(shared, ctx, session, msg, kernels, hops, errors_to) {
        let list: Vec<(String, String)> = kernels
            .iter()
            .map(|k| (k.clone(), format!("Kernel '{k}' went away")))
            .collect();
        unreachable(shared, ctx, &msg, &list, errors_to);
    }
}

/// IKC's words for a kernel nobody can reach.
pub(crate) fn why_unreachable(u: &Unreachable) -> String {
    match &u.reason {
        UnreachableReason::HopLimit { limit } => {
            format!("Kernel '{}' is more than {limit} hops away", u.name)
        }
        UnreachableReason::Ambiguous { kernels } => {
            let k: Vec<&str> = kernels.iter().map(|k| k.as_str()).collect();
            format!("Kernel name '{}' is claimed by {}", u.name, k.join(", "))
        }
        _ => format!("Unknown kernel '{}'", u.name),
    }
}

/// Report targets nobody can reach as IKC reports an unknown kernel: to
/// local monitors, and as `remote_error` to the kernel that sent it.
fn unreachable(
    shared: &Shared,
    ctx: &mut Ctx<'_>,
    msg: &Message,
    targets: &[(String, String)],
    errors_to: &str,
) {
    for (name, why) in targets {
        let text = format!(
            "{why}.  Request {} sent by {}",
            crate::send::describe(msg),
            msg.from
                .as_ref()
                .map_or_else(|| errors_to.to_owned(), |from| from.ikc_name())
        );
        report_error(
            shared,
            ctx,
            ErrorSide::Local,
            &text,
            Some(name),
            "resolve",
            false,
        );
        if msg.is_error || errors_to.is_empty() {
            continue;
        }
        let mut reply = Message::post(
            HashForm::new(errors_to, IKC_ALIAS, "remote_error"),
            error_params(&text, Some(name), "resolve"),
        );
        reply.is_error = true;
        send_msg(shared, ctx, reply, None);
    }
}

/// The names of every kernel the mesh reaches from here (not this one),
/// offered to a Perl client in the handshake so it can name them.
pub(crate) fn far_names(st: &crate::state::State) -> Vec<String> {
    let mut out = Vec::new();
    for k in st.mesh.router.kernels() {
        if k.local || k.reach.is_none() {
            continue;
        }
        out.push(k.kernel_id.to_string());
        out.extend(k.names.iter().filter(|n| !n.contains(':')).cloned());
    }
    out
}
