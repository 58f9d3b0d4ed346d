//! Sending: routing a message to the kernels its specifier names, telling
//! monitors, and reporting errors the way IKC does.

use ikc_channel::{Message, MessageTarget};
use ikc_core::{Ctx, SessionId};
use ikc_freezer::Value;
use ikc_specifier::{HashForm, Part, PartName, Specifier, specifier_part};

use crate::local::LOCAL_REQUEST_STATE;
use crate::monitor::MonitorOp;
use crate::request::parsed_target;
use crate::state::{Route, Shared};

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
    let (notices, real, aliases) = {
        let st = shared.borrow();
        let real = st.remotes.is_real(&rid);
        let aliases = if real {
            st.remotes.aliases_of(&rid).to_vec()
        } else {
            Vec::new()
        };
        (st.monitors.notices(&rid, op), real, aliases)
    };
    let mut count = 0;
    let mut gone = Vec::new();
    for notice in notices {
        let mut args = Vec::with_capacity(4 + params.len());
        args.push(Value::from(notice.name_given));
        args.push(Value::from(rid.as_str()));
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
    for alias in aliases {
        count += inform(shared, ctx, &alias, op, params);
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
    mut msg: Message,
    sender: Option<SessionId>,
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
                &spec.kernel,
                spec.session.is_specified(),
                spec.state.as_deref(),
            )
        }
        MessageTarget::Hash(h) => {
            hash_kernel = Part::from_ikc(&h.kernel);
            let state = (!h.state.is_empty()).then_some(h.state.as_str());
            (&hash_kernel, !h.session.is_empty(), state)
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
    let all = ["*".to_owned()];
    let names: &[String] = match kernel {
        Part::Unspecified => match shared.borrow().remotes.default_kernel() {
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
        Part::All => &all,
        Part::Names(names) => names,
    };
    if let (Some(sender), None) = (sender, &msg.from) {
        let st = shared.borrow();
        if let Some(alias) = ctx
            .aliases(sender)
            .iter()
            .find(|a| st.published.has_session(a))
        {
            msg.from = Some(HashForm::new(
                st.kernel_id.as_str(),
                alias.as_str(),
                "IKC:proxy",
            ));
        }
    }
    // A list of kernels: each copy names the one kernel it is for (a Perl
    // peer cannot parse a list). `*` goes as it is, as IKC sends it.
    let single = |name: &String| (names.len() > 1).then(|| name.clone());
    // Nearly always one route: kept out of a vector.
    let mut first: Option<(Route, Option<String>)> = None;
    let mut more: Vec<(Route, Option<String>)> = Vec::new();
    for name in names {
        let st = shared.borrow();
        let found = st.remotes.channels_of(name);
        let mut any = false;
        for route in found {
            any = true;
            let seen = |r: &(Route, Option<String>)| r.0 == route;
            if first.is_none() {
                first = Some((route, single(name)));
            } else if !first.as_ref().is_some_and(seen) && !more.iter().any(seen) {
                more.push((route, single(name)));
            }
        }
        drop(st);
        if !any {
            let pid = std::process::id();
            let err = if name == "*" {
                format!("{pid}: Not connected to any foreign kernels.")
            } else {
                format!("{pid}: Unknown kernel '{name}'.")
            };
            report_plain(shared, ctx, "resolve", &err);
        }
    }
    let Some(first) = first else {
        return 0;
    };
    // In order; the last route takes the message itself, earlier ones a copy.
    let Some(last) = more.pop() else {
        return usize::from(deliver_copy(shared, ctx, first, msg));
    };
    let mut count = 0;
    for route in std::iter::once(first).chain(more) {
        count += usize::from(deliver_copy(shared, ctx, route, msg.clone()));
    }
    count + usize::from(deliver_copy(shared, ctx, last, msg))
}

/// Deliver one copy of a message, first making its `event` name the one
/// kernel `name` when it is given (a copy of a message to a list).
fn deliver_copy(
    shared: &Shared,
    ctx: &mut Ctx<'_>,
    (route, name): (Route, Option<String>),
    mut msg: Message,
) -> bool {
    if let Some(name) = name {
        msg.event = for_one_kernel(&msg.event, &name);
    }
    deliver_allowing_rsvp(shared, ctx, route, msg)
}

/// `event` with its kernel part replaced by the one kernel `name`.
pub(crate) fn for_one_kernel(event: &MessageTarget, name: &str) -> MessageTarget {
    match event {
        MessageTarget::Text(text) => match Specifier::parse(text) {
            Ok(mut spec) => {
                spec.kernel = Part::Names(vec![name.to_owned()]);
                MessageTarget::Text(spec.to_string())
            }
            Err(_) => event.clone(),
        },
        MessageTarget::Hash(hash) => {
            let mut hash = hash.clone();
            hash.kernel = name.to_owned();
            MessageTarget::Hash(hash)
        }
    }
}

/// Put one message on one route, letting its RSVP state (if any) be
/// invoked once by the kernel it goes to.
fn deliver_allowing_rsvp(shared: &Shared, ctx: &mut Ctx<'_>, route: Route, msg: Message) -> bool {
    if let Some(r) = &msg.rsvp {
        shared
            .borrow_mut()
            .published
            .allow_once(&r.session, &r.state);
    }
    match deliver(shared, ctx, route, msg) {
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
            if let Some(r) = msg.rsvp.as_mut() {
                if r.kernel.is_empty() {
                    r.kernel = kernel_id;
                }
            }
            let value = msg.to_value();
            match ctx.post(local, LOCAL_REQUEST_STATE, vec![value]) {
                Ok(()) => Ok(()),
                Err(_) => Err(Box::new(msg)),
            }
        }
        Route::Channel(session) => {
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
            if let Some(r) = msg.rsvp.as_mut() {
                if r.kernel.is_empty() {
                    r.kernel.clone_from(&link.kernel_name);
                }
            }
            match link.channel.send(&msg) {
                Ok(()) => {
                    link.stats.messages_out += 1;
                    let leaving = crate::traffic::leaving(shared, &link, &msg);
                    let traced = (!msg.extra.is_empty()).then(|| link.remote_id.clone());
                    let flush = link.note_output();
                    drop(link);
                    if let Some(next) = traced {
                        let next = next.unwrap_or_default();
                        crate::trace::hop(shared, ctx, &msg, "sent", &[("link", &next)]);
                    }
                    shared.borrow_mut().counters.sent += 1;
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
    }
}

/// A short description of a message for logs.
pub(crate) fn describe(msg: &Message) -> String {
    match &msg.event {
        MessageTarget::Text(t) => t.clone(),
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
