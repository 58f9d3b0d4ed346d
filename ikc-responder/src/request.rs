//! Requests from other kernels: check them (valid, published, session
//! known), invoke the state through a thunk, and answer failures with
//! `remote_error` as IKC does.

use std::cell::Cell;
use std::rc::Rc;
use std::sync::Arc;

use ikc_channel::{Message, MessageTarget};
use ikc_core::{Ctx, Sender, SessionId, StateName};
use ikc_freezer::Value;
use ikc_specifier::{HashForm, ParseError, Part, Specifier};

use crate::caller;
use crate::responder::IKC_ALIAS;
use crate::security::RequestCheck;
use crate::send::{ErrorSide, error_params, report_error, send_msg};
use crate::state::Shared;

/// The proxy state: params are `[state, [args...]]`.
pub(crate) const PROXY_STATE: &str = "IKC:proxy";

/// A request's target, parsed once and kept: the parts the checks use,
/// and what the checks found while it still holds.
#[derive(Debug)]
pub(crate) struct ParsedTarget {
    pub(crate) spec: Specifier,
    /// The session part as IKC writes it (`a,b`, `*` or `''`).
    session: String,
    /// The state, as an event name.
    state: Option<StateName>,
    /// The published generation in which the session was found to have
    /// published the state (0: not yet).
    published_in: Cell<u64>,
    /// The session the session part resolved to, the kernel's alias
    /// generation then, and whether the part was the session's id.
    resolved: Cell<Option<Resolved>>,
}

/// What a target's session part resolved to (see [`ParsedTarget`]).
#[derive(Debug, Clone, Copy)]
struct Resolved {
    generation: u64,
    session: SessionId,
    by_id: bool,
}

impl ParsedTarget {
    fn new(spec: Specifier) -> Self {
        Self {
            session: spec.session.to_ikc(),
            state: spec.state.as_deref().map(StateName::new),
            spec,
            published_in: Cell::new(0),
            resolved: Cell::new(None),
        }
    }

    /// The local session the target names, by alias or by id. What was
    /// resolved before is kept while the kernel's aliases stay unchanged;
    /// a session named by its id is also checked to be there still (it
    /// can go without a change of alias; ids are never reused).
    fn resolve(&self, ctx: &Ctx<'_>) -> Option<SessionId> {
        let generation = ikc_core::internal::alias_generation(ctx);
        if let Some(kept) = self.resolved.get()
            && kept.generation == generation
            && (!kept.by_id || ctx.session_exists(kept.session))
        {
            return Some(kept.session);
        }
        let (session, by_id) = ikc_core::internal::resolve_session(ctx, &self.session)?;
        self.resolved.set(Some(Resolved {
            generation,
            session,
            by_id,
        }));
        Some(session)
    }
}

/// The parsed form of a request's target. Texts are parsed once and kept,
/// and hash forms converted once (a few dozen of each, most recent last):
/// requests mostly go to a few targets, and answers to a few RSVPs.
pub(crate) fn parsed_target(
    shared: &Shared,
    event: &MessageTarget,
) -> Result<Rc<ParsedTarget>, ParseError> {
    let text = match event {
        MessageTarget::Text(text) => text,
        MessageTarget::Hash(hash) => return Ok(parsed_hash_target(shared, hash)),
    };
    let mut st = shared.borrow_mut();
    if let Some(parsed) = st.targets.get(&**text) {
        return Ok(Rc::clone(parsed));
    }
    let parsed = Rc::new(ParsedTarget::new(Specifier::parse(text)?));
    st.targets.insert(Arc::clone(text), Rc::clone(&parsed));
    Ok(parsed)
}

/// [`parsed_target`] for a hash form.
fn parsed_hash_target(shared: &Shared, hash: &HashForm) -> Rc<ParsedTarget> {
    let mut st = shared.borrow_mut();
    if let Some(parsed) = st.hash_targets.get(hash) {
        return Rc::clone(parsed);
    }
    let parsed = Rc::new(ParsedTarget::new(Specifier::from_hash_form(hash)));
    st.hash_targets.insert(hash.clone(), Rc::clone(&parsed));
    parsed
}

/// What a checked request will run.
struct Invocation {
    target: SessionId,
    state: StateName,
    args: Vec<Value>,
}

/// Why a request was not run: IKC's message, the stage (`request`,
/// `check`, `resolve`, `invocation`), and the state an `IKC:proxy` request
/// carried (the specifier is reported with it, as IKC does).
struct Failure {
    message: String,
    when: &'static str,
    proxy_state: Option<String>,
}

impl Failure {
    fn new(message: String, when: &'static str) -> Self {
        Self {
            message,
            when,
            proxy_state: None,
        }
    }
}

/// Handle one request that arrived from another kernel (or from our own
/// kernel through IKC). A failure is reported to `IKC/remote_error` of
/// `errors_to`, the sending kernel's ID.
///
/// The state runs with SENDER the thunk standing for the request's `from`
/// (posting to it answers the remote session); a call's return value goes
/// to its RSVP.
pub(crate) fn request(shared: &Shared, ctx: &mut Ctx<'_>, msg: Box<Message>, errors_to: &str) {
    let to = parsed_target(shared, &msg.event).ok();
    request_parsed(shared, ctx, msg, to, errors_to);
}

/// [`request`] for a message whose target the caller has parsed already
/// (`None`: it is not a valid specifier), so that it is not looked up
/// twice.
pub(crate) fn request_parsed(
    shared: &Shared,
    ctx: &mut Ctx<'_>,
    mut msg: Box<Message>,
    to: Option<Rc<ParsedTarget>>,
    errors_to: &str,
) {
    crate::traffic::delivering(shared, ctx, errors_to, &msg);
    if let Some(to) = &to {
        if let Some(sessions) = several_sessions(shared, ctx, &msg, to) {
            // `poe://k/s1,s2/st` and `poe://k/*/st`: one request per session.
            for session in sessions {
                let mut one = msg.clone();
                one.event = for_session(&to.spec, &session);
                request(shared, ctx, one, errors_to);
            }
            return;
        }
    }
    let failure = match &to {
        None => {
            let text = match &msg.event {
                MessageTarget::Text(t) => t.clone(),
                MessageTarget::Hash(h) => h.ikc_name().into(),
            };
            Failure::new(format!("{text} isn't a valid specifier"), "request")
        }
        Some(to) => match check(shared, ctx, &mut msg, to, errors_to) {
            Ok(inv) => match invoke(shared, ctx, &mut msg, inv, errors_to) {
                Ok(()) => {
                    if !msg.extra.is_empty() {
                        let to = crate::send::describe(&msg);
                        crate::trace::hop(shared, ctx, &msg, "delivered", &[("to", &to)]);
                    }
                    // The channels build the next message in this box.
                    msg.recycle();
                    return;
                }
                Err(f) => f,
            },
            Err(f) => f,
        },
    };
    respond_with_error(shared, ctx, &msg, to.as_deref(), &failure, errors_to);
}

/// The sessions a request for a list of sessions, or for `*`, goes to:
/// the sessions named, or every session (by the first of its published
/// aliases) that published the state. `None` for a request to one session.
fn several_sessions(
    shared: &Shared,
    ctx: &Ctx<'_>,
    msg: &Message,
    to: &ParsedTarget,
) -> Option<Vec<String>> {
    match &to.spec.session {
        Part::Names(names) if names.len() > 1 => {
            let mut out: Vec<String> = Vec::with_capacity(names.len());
            for n in names {
                if !out.contains(n) {
                    out.push(n.clone());
                }
            }
            Some(out)
        }
        Part::All => {
            let state = if to.spec.state.as_deref() == Some(PROXY_STATE) {
                msg.params
                    .get_index(0)
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned()
            } else {
                to.spec.state.clone().unwrap_or_default()
            };
            let st = shared.borrow();
            let mut seen: Vec<SessionId> = Vec::new();
            let mut out = Vec::new();
            for (alias, states) in st.published.all() {
                if !states.contains(&state) {
                    continue;
                }
                let Some(id) = ctx.alias_resolve(&alias) else {
                    continue;
                };
                if !seen.contains(&id) {
                    seen.push(id);
                    out.push(alias);
                }
            }
            Some(out)
        }
        _ => None,
    }
}

/// `spec` as the target of one of its sessions.
fn for_session(spec: &Specifier, session: &str) -> MessageTarget {
    let mut one = spec.clone();
    one.session = Part::Names(vec![session.to_owned()]);
    MessageTarget::Text(one.to_string().into())
}

/// Run the state, and send a call's answer to its RSVP. IKC answers only
/// with something: an undefined scalar, or an empty list, sends nothing.
fn invoke(
    shared: &Shared,
    ctx: &mut Ctx<'_>,
    msg: &mut Message,
    inv: Invocation,
    came_from: &str,
) -> Result<(), Failure> {
    let sender = caller::sender_of(shared, ctx, msg, came_from);
    // The state's name is needed after the call only for an answer.
    let answered_state = msg.rsvp.is_some().then(|| inv.state.clone());
    let ret = ikc_core::internal::call_as(ctx, sender, inv.target, inv.state, inv.args)
        .map_err(|e| Failure::new(e.to_string(), "invocation"))?;
    shared.borrow_mut().counters.delivered += 1;
    let Some(rsvp) = msg.rsvp.take() else {
        return Ok(());
    };
    let (answer, params) = if msg.wantarray.unwrap_or(false) {
        // Perl calls the state in list context: undef is the list
        // (undef), sent as [undef]; an empty list sends nothing.
        match ret {
            Value::Array(list) => (!list.is_empty(), Value::Array(list)),
            other => (true, Value::Array(vec![other])),
        }
    } else {
        (!ret.is_undef(), ret)
    };
    if answer {
        let mut answer = Message::post(rsvp, params);
        let sender = Sender::Session(inv.target);
        let state = answered_state.as_ref().map(StateName::as_str);
        answer.caller = caller::caller_of(ctx, &sender, state, "", 0);
        send_msg(shared, ctx, answer, Some(inv.target));
    }
    Ok(())
}

fn check(
    shared: &Shared,
    ctx: &mut Ctx<'_>,
    msg: &mut Message,
    to: &ParsedTarget,
    remote_kernel: &str,
) -> Result<Invocation, Failure> {
    let params = std::mem::take(&mut msg.params);
    let (state, mut args, proxy_state) = if to.spec.state.as_deref() == Some(PROXY_STATE) {
        // IKC:proxy carries [state, [args...]] so a state gets several ARGs.
        let bad = || {
            Failure::new(
                "IKC:proxy request needs params [state, [args...]]".to_owned(),
                "request",
            )
        };
        let Value::Array(mut parts) = params else {
            return Err(bad());
        };
        let inner = if parts.len() > 1 {
            parts.swap_remove(1)
        } else {
            Value::Undef
        };
        let Some(state) = parts.first().and_then(Value::as_str).map(str::to_owned) else {
            return Err(bad());
        };
        let args = match inner {
            Value::Array(args) => args,
            Value::Undef => Vec::new(),
            other => vec![other],
        };
        (StateName::new(&state), args, Some(state))
    } else {
        let state = to.state.clone().unwrap_or_else(|| StateName::from(""));
        (state, vec![params], None)
    };
    let fail = |message: String, when: &'static str| Failure {
        message,
        when,
        proxy_state: proxy_state.clone(),
    };
    // What a plain request's target found published is kept with it.
    let noted = proxy_state.is_none().then_some(&to.published_in);
    let checked = shared
        .borrow_mut()
        .published
        .check(&to.session, state.as_str(), noted);
    // IKC's rule: only published states run. In no-publish mode an
    // unpublished state of an aliased session may run, if the hook agrees.
    let published = checked.is_ok();
    let refused = match checked {
        Err(refusal) if !no_publish_may_run(shared, ctx, &to.session, state.as_str()) => {
            give_back(msg, proxy_state.as_deref(), args);
            return Err(fail(refusal.message(), "check"));
        }
        Err(refusal) => Some(refusal),
        Ok(()) => None,
    };
    let hook = shared.borrow().request_authorizer.clone();
    if let Some(hook) = hook {
        let request = RequestCheck {
            remote_kernel,
            session: &to.session,
            state: state.as_str(),
            published,
        };
        if let Err(reason) = hook.authorize(&request) {
            log::warn!(
                "request for {}/{} from {remote_kernel} not authorized: {reason}",
                to.session,
                state.as_str()
            );
            // An unpublished state gets IKC's own refusal.
            let message =
                refused.map_or_else(|| format!("Not authorized: {reason}"), |r| r.message());
            give_back(msg, proxy_state.as_deref(), args);
            return Err(fail(message, "check"));
        }
    }
    let Some(target) = to.resolve(ctx) else {
        let message = format!("Unknown session '{}'", to.session);
        give_back(msg, proxy_state.as_deref(), args);
        return Err(fail(message, "resolve"));
    };
    if let Some(arg) = &to.spec.arg {
        args.push(Value::from(arg.as_str()));
    }
    Ok(Invocation {
        target,
        state,
        args,
    })
}

/// A request refused before its state ran gets its arguments back, so
/// `dropped` monitors see what was sent (`[state, [args...]]` again for
/// `IKC:proxy`).
fn give_back(msg: &mut Message, proxy_state: Option<&str>, mut args: Vec<Value>) {
    msg.params = match proxy_state {
        Some(state) => Value::Array(vec![Value::from(state), Value::Array(args)]),
        None if args.len() == 1 => args.swap_remove(0),
        None => Value::Array(args),
    };
}

/// May an unpublished state run, in no-publish mode? Only if the mode is on
/// (with its hook set), the session is a local session other than `IKC`,
/// and the state is not one of POE's own (`_start`, ...). The hook decides.
fn no_publish_may_run(shared: &Shared, ctx: &Ctx<'_>, session: &str, state: &str) -> bool {
    let st = shared.borrow();
    st.no_publish
        && st.request_authorizer.is_some()
        && session != IKC_ALIAS
        && !state.starts_with('_')
        && ctx.alias_resolve(session).is_some()
}

/// Report a failed request to local monitors (`local-<when>`) and, unless
/// it was itself an error message, to the requester (`remote_error`).
fn respond_with_error(
    shared: &Shared,
    ctx: &mut Ctx<'_>,
    msg: &Message,
    to: Option<&ParsedTarget>,
    failure: &Failure,
    errors_to: &str,
) {
    crate::traffic::dropped(shared, ctx, msg, errors_to, failure.when, &failure.message);
    if !msg.extra.is_empty() {
        crate::trace::hop(shared, ctx, msg, "dropped", &[("reason", &failure.message)]);
    }
    // The kernel as the requester wrote it, for the error's `kernel` field.
    let rkernel = to.map(|t| t.spec.kernel.to_ikc());
    let rkernel = rkernel.as_deref();
    let mut text = failure.message.trim_end_matches('\n').to_owned();
    text.push_str(".  Request ");
    if let Some(to) = to {
        match &failure.proxy_state {
            Some(state) => {
                let mut spec = to.spec.clone();
                spec.state = Some(state.clone());
                text.push_str(&spec.ikc_name());
            }
            None => text.push_str(&to.spec.ikc_name()),
        }
    }
    if let Some(from) = &msg.from {
        text.push_str(" sent by ");
        text.push_str(&from.ikc_name());
    }
    report_error(
        shared,
        ctx,
        ErrorSide::Local,
        &text,
        rkernel,
        failure.when,
        false,
    );
    // Never answer an error with an error.
    if msg.is_error {
        return;
    }
    let errors_to = HashForm::new(errors_to, IKC_ALIAS, "remote_error");
    let mut reply = Message::post(errors_to, error_params(&text, rkernel, failure.when));
    reply.is_error = true;
    send_msg(shared, ctx, reply, None);
}
