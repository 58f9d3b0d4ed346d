//! Sending: routing a message to the kernels its specifier names, telling
//! monitors, and reporting errors the way IKC does.

use std::collections::HashSet;
use std::sync::Arc;

use ikc_channel::{Message, MessageTarget};
use ikc_core::{Ctx, SessionId};
use ikc_freezer::Value;
use ikc_specifier::{HashForm, Part, PartName, Specifier, specifier_part};

use crate::local::LOCAL_REQUEST_STATE;
use crate::monitor::MonitorOp;
use crate::request::parsed_target;
use crate::state::{LastProxyFrom, Route, Shared, State};
use crate::traffic::Passage;

/// The state a channel session flushes its output in.
pub(crate) const FLUSH_STATE: &str = "IKC:flush";

/// Tell every monitor of `rid` (and of `*`) about `op`, then, if `rid` is a
/// real kernel ID, do the same for each of its aliases (as IKC does: a
/// monitor of `*` hears about a kernel once per name). Returns how many
/// callbacks were posted.
pub(crate) fn inform(
    shared: &Shared,
    ctx: &mut Ctx<'_>,
    rid: &str,
    op: MonitorOp,
    params: &[Value],
) -> usize {
    let rid = if rid == "*" {
        rid.to_owned()
    } else {
        specifier_part(rid, PartName::Kernel)
            .filter(|k| !k.is_empty())
            .unwrap_or_else(|| rid.to_owned())
    };
    let (real, aliases) = {
        let st = shared.borrow();
        let real = st.remotes.is_real(&rid);
        let aliases = if real {
            st.remotes.aliases_of(&rid).to_vec()
        } else {
            Vec::new()
        };
        (real, aliases)
    };
    let mut count = notify(shared, ctx, &rid, &rid, real, op, params);
    for alias in aliases {
        count += inform(shared, ctx, &alias, op, params);
    }
    count
}

/// Tell every monitor of a kernel known by its real ID `rid` and its
/// other `names` (a kernel reached through the mesh, which the registry
/// of direct kernels does not hold), as [`inform`] does for direct ones.
pub(crate) fn inform_kernel(
    shared: &Shared,
    ctx: &mut Ctx<'_>,
    rid: &str,
    names: &[String],
    op: MonitorOp,
    params: &[Value],
) -> usize {
    let mut count = notify(shared, ctx, rid, rid, true, op, params);
    for name in names {
        count += notify(shared, ctx, name, name, false, op, params);
    }
    count
}

/// Post `op` to the monitors of `key` (and `*`), as IKC's callbacks.
fn notify(
    shared: &Shared,
    ctx: &mut Ctx<'_>,
    key: &str,
    rid: &str,
    real: bool,
    op: MonitorOp,
    params: &[Value],
) -> usize {
    let notices = shared.borrow().monitors.notices(key, op);
    let mut count = 0;
    let mut gone = Vec::new();
    for notice in notices {
        let mut args = Vec::with_capacity(4 + params.len());
        args.push(Value::from(notice.name_given));
        args.push(Value::from(rid));
        args.push(Value::Bool(real));
        args.push(notice.data);
        args.extend(params.iter().cloned());
        match ctx.post(notice.session, notice.state, args) {
            Ok(()) => count += 1,
            Err(_) => gone.push(notice.session),
        }
    }
    if !gone.is_empty() {
        let mut st = shared.borrow_mut();
        for session in gone {
            st.monitors.remove_session(session);
        }
    }
    count
}

/// Where an error happened, as IKC names it in the monitor's operation
/// (`local-check`, `remote-resolve`, `channel-read`, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ErrorSide {
    Local,
    Remote,
    Channel,
}

impl ErrorSide {
    fn prefix(self) -> &'static str {
        match self {
            Self::Local => "local",
            Self::Remote => "remote",
            Self::Channel => "channel",
        }
    }
}

/// Report an error to the error monitors of `kernel` (or `*`): operation
/// `"<side>-<when>"`, then the message. Logged when no monitor heard it
/// (unless `quiet`).
pub(crate) fn report_error(
    shared: &Shared,
    ctx: &mut Ctx<'_>,
    side: ErrorSide,
    message: &str,
    kernel: Option<&str>,
    when: &str,
    quiet: bool,
) -> usize {
    let prefix = side.prefix();
    let operation = if when.starts_with(&format!("{prefix}-")) {
        when.to_owned()
    } else {
        format!("{prefix}-{when}")
    };
    let kernel = kernel.filter(|k| !k.is_empty()).unwrap_or("*");
    shared.borrow_mut().counters.count_error(&operation);
    let n = inform(
        shared,
        ctx,
        kernel,
        MonitorOp::Error,
        &[Value::from(operation.as_str()), Value::from(message)],
    );
    if n == 0 && !quiet {
        log::warn!("IKC {operation} error: {message}");
    }
    n
}

/// Report an error with no `<side>-` prefix (`resolve`, `subscribe`).
pub(crate) fn report_plain(shared: &Shared, ctx: &mut Ctx<'_>, operation: &str, message: &str) {
    shared.borrow_mut().counters.count_error(operation);
    let n = inform(
        shared,
        ctx,
        "*",
        MonitorOp::Error,
        &[Value::from(operation), Value::from(message)],
    );
    if n == 0 {
        log::warn!("IKC {operation} error: {message}");
    }
}

/// Send `msg` to every kernel its `event` names (or the default kernel).
/// `sender` is the local session sending it: if it published something
/// and the message has no `from`, the remote side gets a `from` that lets
/// it answer (IKC's proxy SENDER). An RSVP gets a one-shot permission per
/// kernel reached. Returns the number of kernels the message went to.
pub(crate) fn send_msg(
    shared: &Shared,
    ctx: &mut Ctx<'_>,
    msg: Message,
    sender: Option<SessionId>,
) -> usize {
    send_msg_scoped(shared, ctx, msg, sender, true)
}

/// [`send_msg`], saying whether `*` includes this kernel: it does for the
/// IKC API (as in Perl IKC), not for posts through the kernel
/// (Lightspeed's kernel interface: `ctx.post_to("poe://*/s/st")`).
pub(crate) fn send_msg_scoped(
    shared: &Shared,
    ctx: &mut Ctx<'_>,
    mut msg: Message,
    sender: Option<SessionId>,
    star_includes_local: bool,
) -> usize {
    if msg.caller.is_some() && !shared.borrow().send_caller {
        msg.caller = None;
    }
    let kind = if msg.rsvp.is_some() { "call" } else { "post" };
    // A text target is parsed once and kept; a hash target (an RSVP
    // answer) needs only its kernel part.
    let parsed;
    let hash_kernel;
    let (kernel, session_given, state) = match &msg.event {
        MessageTarget::Text(_) => {
            parsed = match parsed_target(shared, &msg.event) {
                Ok(to) => to,
                Err(e) => {
                    log::warn!("bad 'event' for IKC/{kind}: {e}");
                    return 0;
                }
            };
            let spec = &parsed.spec;
            (
                KernelPart::of(&spec.kernel),
                spec.session.is_specified(),
                spec.state.as_deref(),
            )
        }
        MessageTarget::Hash(h) => {
            // One kernel (an RSVP's answer, nearly always) is borrowed as
            // it is; only a list is split.
            let kernel = match h.kernel.as_str() {
                "" => KernelPart::Unspecified,
                "*" => KernelPart::All,
                one if !one.contains(',') => KernelPart::Names(std::slice::from_ref(&h.kernel)),
                list => {
                    hash_kernel = Part::from_ikc(list);
                    KernelPart::of(&hash_kernel)
                }
            };
            let state = (!h.state.is_empty()).then_some(h.state.as_str());
            (kernel, !h.session.is_empty(), state)
        }
    };
    if !session_given {
        log::warn!("IKC/{kind} needs a session name: {}", describe(&msg));
        return 0;
    }
    let Some(state) = state else {
        log::warn!("IKC/{kind} needs a state name: {}", describe(&msg));
        return 0;
    };
    let default;
    let all;
    let names: &[String] = match kernel {
        KernelPart::Unspecified => match shared.borrow().remotes.default_kernel() {
            Some(d) => {
                default = [d.to_owned()];
                &default
            }
            None => {
                log::warn!(
                    "unable to decide which kernel to send state '{state}' to: no default kernel"
                );
                return 0;
            }
        },
        KernelPart::All => {
            all = ["*".to_owned()];
            &all
        }
        KernelPart::Names(names) => names,
    };
    if let (Some(sender), None) = (sender, &msg.from) {
        msg.from = proxy_from(shared, ctx, sender);
    }
    let copies = plan_copies(shared, ctx, names, star_includes_local);
    let Some(first) = copies.first else {
        return 0;
    };
    let mut more = copies.more;
    // In order; the last route takes the message itself, earlier ones a copy.
    let Some(last) = more.pop() else {
        return deliver_copy(shared, ctx, first, msg);
    };
    let mut count = 0;
    for copy in std::iter::once(first).chain(more) {
        count += deliver_copy(shared, ctx, copy, msg.clone());
    }
    count + deliver_copy(shared, ctx, last, msg)
}

/// IKC's proxy sender for a message from the local session `sender`: its
/// first published alias, as `{kernel, alias, IKC:proxy}` (made once per
/// alias and shared); `None` if it published nothing.
fn proxy_from(shared: &Shared, ctx: &Ctx<'_>, sender: SessionId) -> Option<Arc<HashForm>> {
    let mut st = shared.borrow_mut();
    let aliases = ikc_core::internal::alias_generation(ctx);
    let published = st.published.generation();
    // The same session sending again, with nothing changed: the same answer.
    if let Some(last) = &st.last_proxy_from
        && last.sender == sender
        && last.aliases == aliases
        && last.published == published
    {
        return last.from.clone();
    }
    let from = find_proxy_from(&mut st, ctx, sender);
    st.last_proxy_from = Some(LastProxyFrom {
        sender,
        aliases,
        published,
        from: from.clone(),
    });
    from
}

/// [`proxy_from`], looked for.
fn find_proxy_from(st: &mut State, ctx: &Ctx<'_>, sender: SessionId) -> Option<Arc<HashForm>> {
    let alias = ctx
        .aliases(sender)
        .iter()
        .find(|a| st.published.has_session(a))?;
    if let Some(from) = st.proxy_froms.get(alias.as_str()) {
        return Some(Arc::clone(from));
    }
    let from = Arc::new(HashForm::new(
        st.kernel_id.as_str(),
        alias.as_str(),
        "IKC:proxy",
    ));
    st.proxy_froms.insert(alias.clone(), Arc::clone(&from));
    Some(from)
}

/// The kernel part of a target, borrowed from the parsed target or from
/// the hash form's text.
#[derive(Clone, Copy)]
enum KernelPart<'a> {
    Unspecified,
    All,
    Names(&'a [String]),
}

impl<'a> KernelPart<'a> {
    fn of(part: &'a Part) -> Self {
        match part {
            Part::Unspecified => Self::Unspecified,
            Part::All => Self::All,
            Part::Names(names) => Self::Names(names),
        }
    }
}

/// What the `event` of one copy names.
#[derive(Debug, Clone, PartialEq, Eq)]
enum CopyFor {
    /// What the sender wrote (one kernel, or `*` for a direct peer).
    AsIs,
    /// The one kernel of a list it is for (a Perl peer cannot parse a list).
    One(String),
    /// These kernels (IDs), through a routing peer of the mesh.
    Mesh(Vec<String>),
}

/// The copies of a message: nearly always one, kept out of a vector.
#[derive(Debug, Default)]
struct Copies {
    first: Option<(Route, CopyFor)>,
    more: Vec<(Route, CopyFor)>,
}

impl Copies {
    fn get_mut(&mut self, route: Route) -> Option<&mut CopyFor> {
        if let Some((r, c)) = self.first.as_mut() {
            if *r == route {
                return Some(c);
            }
        }
        self.more
            .iter_mut()
            .find(|(r, _)| *r == route)
            .map(|(_, c)| c)
    }

    fn add(&mut self, route: Route, copy: CopyFor) {
        if self.first.is_none() {
            self.first = Some((route, copy));
        } else {
            self.more.push((route, copy));
        }
    }

    /// Add kernel `id` to the mesh copy on `route`.
    fn add_mesh(&mut self, route: Route, id: &str) {
        match self.get_mut(route) {
            Some(CopyFor::Mesh(ids)) => {
                if !ids.iter().any(|k| k == id) {
                    ids.push(id.to_owned());
                }
            }
            Some(_) => {}
            None => self.add(route, CopyFor::Mesh(vec![id.to_owned()])),
        }
    }
}

/// Where the copies of a message for `names` (kernel names, or `*`) go:
/// kernels connected directly first (as IKC resolves them), then kernels
/// the mesh reaches, each once. Names nobody reaches are reported as IKC
/// reports an unknown kernel.
fn plan_copies(
    shared: &Shared,
    ctx: &mut Ctx<'_>,
    names: &[String],
    star_includes_local: bool,
) -> Copies {
    let mut copies = Copies::default();
    let several = names.len() > 1;
    for name in names {
        let st = shared.borrow();
        let routing = |route: Route| match route {
            Route::Channel(s) => st
                .link(s)
                .is_some_and(|l| l.borrow().mesh == crate::mesh::MeshRole::Router),
            Route::Local => false,
        };
        if name == "*" {
            // IKC's `*`: this kernel and every kernel connected, plus
            // every kernel of the mesh, each once. The router's plan
            // decides the kernels of the mesh (a neighbour may be reached
            // through another link while its own link is being set up);
            // a routing neighbour the plan does not cover yet gets its copy
            // on its own link.
            let plan = st.mesh.router.plan(
                ikc_router::Targets::All {
                    include_local: false,
                },
                None,
                0,
            );
            let mut covered: HashSet<&str> = HashSet::new();
            for fwd in &plan.forward {
                let route = Route::Channel(crate::mesh::session_of(fwd.link));
                for d in &fwd.kernels {
                    copies.add_mesh(route, &d.kernel_id);
                    covered.insert(d.kernel_id.as_str());
                }
            }
            for route in st.remotes.channels_of(name) {
                if copies.get_mut(route).is_some()
                    || (route == Route::Local && !star_includes_local)
                {
                    continue;
                }
                if routing(route) {
                    let Route::Channel(session) = route else {
                        continue;
                    };
                    let id = st
                        .link(session)
                        .and_then(|l| l.borrow().remote_id.as_deref().map(str::to_owned))
                        .unwrap_or_default();
                    if !id.is_empty() && !covered.contains(&id.as_str()) {
                        copies.add_mesh(route, &id);
                    }
                } else {
                    copies.add(route, CopyFor::AsIs);
                }
            }
            continue;
        }
        let direct = st.remotes.channels_of(name);
        let mut any = false;
        for route in direct {
            any = true;
            if copies.get_mut(route).is_some() {
                if routing(route) {
                    let id = st.remotes.real_id(name).unwrap_or(name).to_owned();
                    copies.add_mesh(route, &id);
                }
                continue;
            }
            let copy = match (several, routing(route)) {
                (false, _) => CopyFor::AsIs,
                (true, false) => CopyFor::One(name.clone()),
                (true, true) => {
                    CopyFor::Mesh(vec![st.remotes.real_id(name).unwrap_or(name).to_owned()])
                }
            };
            copies.add(route, copy);
        }
        if any {
            continue;
        }
        let found = match st.mesh.router.route(name) {
            Ok(ikc_router::Route::Local) => Ok(None),
            Ok(ikc_router::Route::Link { link, kernel_id }) => Ok(Some((
                Route::Channel(crate::mesh::session_of(link)),
                kernel_id.to_string(),
            ))),
            Err(u) => Err(crate::mesh::why_unreachable(&u)),
        };
        drop(st);
        match found {
            Ok(None) => {
                if copies.get_mut(Route::Local).is_none() {
                    let copy = if several {
                        CopyFor::One(name.clone())
                    } else {
                        CopyFor::AsIs
                    };
                    copies.add(Route::Local, copy);
                }
            }
            Ok(Some((route, id))) => copies.add_mesh(route, &id),
            Err(why) => {
                let pid = std::process::id();
                report_plain(shared, ctx, "resolve", &format!("{pid}: {why}."));
            }
        }
    }
    copies
}

/// Deliver one copy of a message, first making its `event` name the
/// kernels it is for. Returns the number of kernels it went to.
fn deliver_copy(
    shared: &Shared,
    ctx: &mut Ctx<'_>,
    (route, copy): (Route, CopyFor),
    mut msg: Message,
) -> usize {
    match copy {
        CopyFor::AsIs => usize::from(deliver_allowing_rsvp(shared, ctx, route, msg, None)),
        CopyFor::One(name) => {
            msg.event = for_kernels(&msg.event, std::slice::from_ref(&name));
            usize::from(deliver_allowing_rsvp(shared, ctx, route, msg, None))
        }
        CopyFor::Mesh(ids) => {
            let sent = deliver_allowing_rsvp(shared, ctx, route, msg, Some(&ids));
            if sent { ids.len() } else { 0 }
        }
    }
}

/// `event` with its kernel part replaced by `names`.
pub(crate) fn for_kernels(event: &MessageTarget, names: &[String]) -> MessageTarget {
    match event {
        MessageTarget::Text(text) => match Specifier::parse(text) {
            Ok(mut spec) => {
                spec.kernel = Part::Names(names.to_vec());
                MessageTarget::from(spec.to_string())
            }
            Err(_) => event.clone(),
        },
        MessageTarget::Hash(hash) => {
            let mut hash = HashForm::clone(hash);
            hash.kernel = names.join(",");
            MessageTarget::from(hash)
        }
    }
}

/// Put one message on one route, letting its RSVP state (if any) be
/// invoked once by the kernel it goes to.
fn deliver_allowing_rsvp(
    shared: &Shared,
    ctx: &mut Ctx<'_>,
    route: Route,
    msg: Message,
    mesh: Option<&[String]>,
) -> bool {
    if let Some(r) = &msg.rsvp {
        shared
            .borrow_mut()
            .published
            .allow_once(&r.session, &r.state);
    }
    let result = match (mesh, route) {
        (Some(ids), Route::Channel(session)) => {
            let me = shared.borrow().kernel_id.clone();
            crate::mesh::pass_on(shared, ctx, session, msg, ids, 0, &me)
        }
        _ => deliver(shared, ctx, route, msg),
    };
    match result {
        Ok(()) => true,
        Err(msg) => {
            if let Some(r) = &msg.rsvp {
                shared
                    .borrow_mut()
                    .published
                    .revoke_once(&r.session, &r.state);
            }
            false
        }
    }
}

/// Put one message on one route; the message comes back if it could not be.
fn deliver(
    shared: &Shared,
    ctx: &mut Ctx<'_>,
    route: Route,
    mut msg: Message,
) -> Result<(), Box<Message>> {
    match route {
        Route::Local => {
            let (local, kernel_id) = {
                let st = shared.borrow();
                (st.local_channel, st.kernel_id.clone())
            };
            let Some(local) = local else {
                log::warn!(
                    "not sending {} to our own kernel: IKC is shutting down",
                    describe(&msg)
                );
                return Err(Box::new(msg));
            };
            if let Some(r) = msg.rsvp.as_mut().filter(|r| r.kernel.is_empty()) {
                Arc::make_mut(r).kernel = kernel_id;
            }
            let value = msg.to_value();
            match ctx.post(local, LOCAL_REQUEST_STATE, vec![value]) {
                Ok(()) => Ok(()),
                Err(_) => Err(Box::new(msg)),
            }
        }
        Route::Channel(session) => deliver_to_channel(shared, ctx, session, msg, Passage::Leaving),
    }
}

/// Put one message on a channel; it comes back if it could not be.
pub(crate) fn deliver_to_channel(
    shared: &Shared,
    ctx: &mut Ctx<'_>,
    session: SessionId,
    mut msg: Message,
    passage: Passage,
) -> Result<(), Box<Message>> {
    let Some(link) = shared.borrow().link(session) else {
        return Err(Box::new(msg));
    };
    let mut link = link.borrow_mut();
    if link.is_closed() {
        log::warn!(
            "not sending {} to a channel that is shutting down",
            describe(&msg)
        );
        return Err(Box::new(msg));
    }
    if let Some(r) = msg.rsvp.as_mut().filter(|r| r.kernel.is_empty()) {
        *r = link.rsvp_with_kernel(r);
    }
    match link.channel.send(&msg) {
        Ok(()) => {
            link.stats.messages_out += 1;
            let leaving = crate::traffic::leaving(shared, &link, &msg, passage);
            let traced = crate::trace::is_marked(&msg).then(|| link.remote_id.clone());
            let flush = link.note_output();
            drop(link);
            if let Some(next) = traced {
                let next = next.as_deref().unwrap_or_default();
                let action = passage.trace_action();
                crate::trace::hop(shared, ctx, &msg, action, &[("link", next)]);
            }
            passage.count(&mut shared.borrow_mut().counters);
            if let Some(leaving) = leaving {
                leaving.report(shared, ctx, &msg);
            }
            if flush && ctx.post(session, FLUSH_STATE, Vec::new()).is_err() {
                log::warn!("channel session {session} is gone; message dropped");
                return Err(Box::new(msg));
            }
            Ok(())
        }
        Err(e) => {
            let remote = link.remote_id.clone();
            drop(link);
            report_error(
                shared,
                ctx,
                ErrorSide::Local,
                &format!("cannot send {}: {e}", describe(&msg)),
                remote.as_deref(),
                "send",
                false,
            );
            Err(Box::new(msg))
        }
    }
}

/// A short description of a message for logs.
pub(crate) fn describe(msg: &Message) -> String {
    match &msg.event {
        MessageTarget::Text(t) => t.to_string(),
        MessageTarget::Hash(h) => h.ikc_name(),
    }
}

/// The params of an IKC error message: `[message, kernel, when]`.
pub(crate) fn error_params(message: &str, kernel: Option<&str>, when: &str) -> Value {
    Value::Array(vec![
        Value::from(message),
        kernel.map_or(Value::Undef, Value::from),
        Value::from(when),
    ])
}
