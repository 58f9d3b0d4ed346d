//! The `IKC` session: IKC's state interface (`post`, `call`, `publish`,
//! `subscribe`, `monitor`, `shutdown`, ...), the states remote kernels may
//! invoke (`do_you_have`, `ping`, `remote_error`), subscription receipts,
//! and the kernel's forwarder for posts addressed to other kernels.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Duration;

use ikc_channel::{CallerInfo, Message, MessageTarget};
use ikc_core::{Ctx, Event, FORWARD_STATE, RemotePost, Session, SessionId, Spawner, destination};
use ikc_freezer::Value;
use ikc_specifier::{HashForm, Specifier};

use crate::api::Ikc;
use crate::caller::caller_of_event;
use crate::local;
use crate::monitor::{MonitorOp, MonitorStates};
use crate::proxy::{DELETE_STATE, Proxy};
use crate::request::PROXY_STATE;
use crate::send::{ErrorSide, inform, report_error, report_plain, send_msg};
use crate::state::{Route, Shared, State};
use crate::thunk::{self, hash_form, hash_value};

/// The alias of the responder session.
pub const IKC_ALIAS: &str = "IKC";
/// How long a subscription waits for receipts.
const RECEIPT_TIMEOUT: Duration = Duration::from_secs(60);
/// The reference tag the `IKC` session holds itself by while its channels close.
const CLOSING_TAG: &str = "IKC channels closing";
/// The prefix of subscription receipt states.
const RECEIPT_PREFIX: &str = "IKC:receipt ";

/// The IKC responder: the session aliased `IKC` that every IKC component
/// of a kernel talks to.
///
/// Start it with [`Responder::spawn`] (servers and clients do this for
/// you). It answers IKC's states (the Perl state interface):
///
/// | state | ARG0.. | does |
/// |---|---|---|
/// | `post` | specifier, params | send params to a remote state (returns the number of kernels) |
/// | `call` | specifier, params, rsvp | the same, and the return value is posted to `rsvp` |
/// | `publish` | session alias (or undef: SENDER), `[states]` | let remote kernels invoke these states |
/// | `retract` | session alias, `[states]` (or undef: all) | take them back |
/// | `published` | session alias (optional) | `[states]`, or `{alias => [states]}` |
/// | `subscribe` | `[specifiers]`, callback state | create proxies for remote sessions |
/// | `unsubscribe` | `[specifiers]` | remove proxies |
/// | `monitor` | kernel name or `*`, `{register => state, ...}` | watch remote kernels |
/// | `default` | kernel name | the kernel used when a specifier names none |
/// | `register_local` | `[names]` | more names for this kernel |
/// | `ping` | | `"PONG"` |
/// | `kernels`, `links`, `routes`, `sessions`, `counters` | | introspection: a list of hashes (one hash for `counters`); see [`Ikc::links`] and the others |
/// | `trace` | `{to, args, state}` | post `args` to `to`, marked so that each kernel it crosses reports the hop (see [`DEFAULT_TRACE_STATE`](crate::DEFAULT_TRACE_STATE)) |
/// | `watch` | `{kernel, ops, state}` | tell the (remote) caller what monitors see (see [`DEFAULT_WATCH_STATE`](crate::DEFAULT_WATCH_STATE)) |
/// | `shutdown` | | close every channel and let the kernel exit |
#[derive(Debug, Default)]
pub struct Responder {
    shared: Option<Shared>,
}

impl Responder {
    /// Start the responder in this kernel, or find the one already running
    /// (like Perl's `POE::Component::IKC::Responder->spawn`, it is started
    /// once). Returns the object interface.
    pub fn spawn(spawner: &mut impl Spawner) -> Ikc {
        if let Some(shared) = spawner.spawner_service::<RefCell<State>>() {
            return Ikc::from_shared(shared);
        }
        spawner.spawn_session(Self::default());
        let shared = spawner
            .spawner_service::<RefCell<State>>()
            .expect("the responder registers itself in _start");
        Ikc::from_shared(shared)
    }

    fn start(&mut self, ctx: &mut Ctx<'_>) {
        // A kernel-wide service: it must not keep whoever started it alive.
        let _ = ctx.detach_myself();
        if let Err(e) = ctx.alias_set(IKC_ALIAS) {
            log::error!("cannot alias the IKC responder: {e}");
        }
        let shared = Rc::new(RefCell::new(State::new(
            ctx.session_id(),
            ctx.kernel_id(),
            ctx.now(),
        )));
        ctx.set_service(Rc::clone(&shared));
        let local = local::spawn(ctx, &shared);
        crate::remote_call::spawn(ctx);
        shared.borrow_mut().local_channel = Some(local);
        ikc_core::internal::set_forwarder(ctx);
        self.shared = Some(shared);
    }

    fn dispatch(&mut self, ctx: &mut Ctx<'_>, shared: &Shared, event: Event) -> Value {
        let sender = event.sender.session();
        // Who asked for a post or call, for the other kernel (`caller`).
        let caller = matches!(event.state.as_str(), "post" | "post2" | "call")
            .then(|| caller_of_event(ctx, &event))
            .flatten();
        let mut args = event.args;
        let mut arg = |n: usize| args.get_mut(n).map(std::mem::take).unwrap_or_default();
        match event.state.as_str() {
            "post" => {
                let (to, params) = (arg(0), arg(1));
                match target_of(shared, Dest::Value(&to)) {
                    Some(to) => {
                        let msg = Message::post(to, params);
                        let msg = Message { caller, ..msg };
                        Value::from(send_msg(shared, ctx, msg, sender))
                    }
                    None => bad_target("post", Dest::Value(&to)),
                }
            }
            "post2" => {
                let (to, from, params) = (arg(0), arg(1), arg(2));
                let sender = SessionId::from_value(&from).or(sender);
                match target_of(shared, Dest::Value(&to)) {
                    Some(to) => {
                        let msg = Message::post(to, params);
                        let msg = Message { caller, ..msg };
                        Value::from(send_msg(shared, ctx, msg, sender))
                    }
                    None => bad_target("post", Dest::Value(&to)),
                }
            }
            "call" => {
                // Perl's IKC/call returns nothing (the object API's call
                // returns the count).
                let (to, params, rsvp) = (arg(0), arg(1), arg(2));
                call(
                    shared,
                    ctx,
                    Dest::Value(&to),
                    params,
                    Dest::Value(&rsvp),
                    sender,
                    caller,
                );
                Value::Undef
            }
            "raw_message" => {
                let (msg, from) = (arg(0), arg(1));
                let sender = SessionId::from_value(&from).or(sender);
                match Message::try_from(msg) {
                    Ok(msg) => Value::from(send_msg(shared, ctx, msg, sender)),
                    Err(e) => {
                        log::warn!("IKC/raw_message: {e}");
                        Value::from(0)
                    }
                }
            }
            "publish" => {
                let (session, states) = (arg(0), arg(1));
                let aliases = session_aliases(ctx, &session, sender);
                shared
                    .borrow_mut()
                    .published
                    .publish(&aliases, &strings(&states));
                Value::from(!aliases.is_empty())
            }
            "retract" => {
                let (session, states) = (arg(0), arg(1));
                let aliases = session_aliases(ctx, &session, sender);
                let states = (!states.is_undef()).then(|| strings(&states));
                let ok = shared
                    .borrow_mut()
                    .published
                    .retract(&aliases, states.as_deref());
                if !ok {
                    log::warn!("IKC/retract: {session} published nothing");
                }
                Value::from(ok)
            }
            "published" => published(shared, &arg(0)),
            "subscribe" => {
                let (specs, callback) = (arg(0), arg(1));
                let specs = match specs {
                    Value::Array(_) => strings(&specs),
                    Value::Undef => Vec::new(),
                    one => vec![one.to_string()],
                };
                let callback = callback
                    .as_str()
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned);
                subscribe(shared, ctx, &specs, callback, sender);
                Value::from(true)
            }
            "unsubscribe" => {
                for spec in strings(&arg(0)) {
                    let _ = ctx.post(spec.as_str(), crate::proxy::SHUTDOWN_STATE, Vec::new());
                }
                Value::Undef
            }
            "monitor" => {
                let (name, states) = (arg(0), arg(1));
                match sender {
                    Some(session) => monitor(
                        shared,
                        session,
                        &name.to_string(),
                        &MonitorStates::from_value(&states),
                    ),
                    None => log::warn!("IKC/monitor needs a session to post to"),
                }
                Value::Undef
            }
            "inform_monitors" => {
                let (rid, op) = (arg(0).to_string(), arg(1).to_string());
                let rest: Vec<Value> = args.into_iter().skip(2).collect();
                match MonitorOp::from_key(&op) {
                    Some(op) => Value::from(inform(shared, ctx, &rid, op, &rest)),
                    None => Value::from(0),
                }
            }
            "default" => {
                let name = arg(0).to_string();
                let ok = shared.borrow_mut().remotes.set_default(&name);
                if !ok {
                    log::warn!("IKC/default: we do not know the kernel {name}");
                }
                Value::from(ok)
            }
            "register_local" => {
                let names = match arg(0) {
                    v @ Value::Array(_) => strings(&v),
                    one => vec![one.to_string()],
                };
                register_local(shared, ctx, &names);
                Value::from(true)
            }
            "ping" => Value::from("PONG"),
            "watch" => crate::watch::watch(shared, ctx, &arg(0), sender),
            "trace" => crate::trace::start(shared, ctx, &arg(0), sender),
            "trace_hop" => {
                crate::trace::hop_arrived(shared, ctx, arg(0));
                Value::Undef
            }
            s @ ("kernels" | "links" | "routes" | "sessions" | "counters") => {
                crate::introspect::answer(shared, ctx, s)
            }
            "do_you_have" => do_you_have(shared, &arg(0)),
            "remote_error" => {
                let (message, kernel, when) = error_parts(&arg(0));
                report_error(
                    shared,
                    ctx,
                    ErrorSide::Remote,
                    &message,
                    kernel.as_deref(),
                    &when,
                    false,
                );
                Value::Undef
            }
            "channel_error" => {
                let (message, kernel, when) = error_parts(&arg(0));
                report_error(
                    shared,
                    ctx,
                    ErrorSide::Channel,
                    &message,
                    kernel.as_deref(),
                    &when,
                    true,
                );
                Value::Undef
            }
            "shutdown" => {
                shutdown(shared, ctx);
                Value::Undef
            }
            crate::mesh::TIMER_STATE => {
                crate::mesh::on_timer(shared, ctx);
                Value::Undef
            }
            FORWARD_STATE => {
                if let Some(post) = ctx.take_remote_post() {
                    forward(shared, ctx, post, sender);
                }
                Value::Undef
            }
            state if state.starts_with(RECEIPT_PREFIX) => {
                let state = state.to_owned();
                receipt(shared, ctx, &state, args);
                Value::Undef
            }
            s if s.starts_with('_') => Value::Undef,
            other => {
                log::warn!("unknown state '{other}' posted to IKC");
                Value::Undef
            }
        }
    }
}

impl Session for Responder {
    fn handle(&mut self, ctx: &mut Ctx<'_>, event: Event) -> Value {
        match event.state() {
            "_start" => {
                self.start(ctx);
                return Value::Undef;
            }
            "_stop" => {
                let ours = ctx
                    .service::<RefCell<State>>()
                    .zip(self.shared.as_ref())
                    .is_some_and(|(found, mine)| Rc::ptr_eq(&found, mine));
                if ours {
                    ctx.remove_service::<RefCell<State>>();
                }
                ikc_core::internal::clear_forwarder(ctx);
                self.shared = None;
                return Value::Undef;
            }
            _ => {}
        }
        let Some(shared) = self.shared.clone() else {
            return Value::Undef;
        };
        self.dispatch(ctx, &shared, event)
    }
}

/// A destination as IKC's `post` and `call` take it: a specifier string
/// (`poe://` may be left out), or Lightspeed's array `[kernel, session,
/// state]` or hash `{KERNEL, SESSION, STATE}` (IKC's lower-case keys too).
/// A destination as IKC's API takes it: a value (the arguments of
/// `IKC/post` and `IKC/call`) or text (the Rust API's).
#[derive(Debug, Clone, Copy)]
pub(crate) enum Dest<'a> {
    Value(&'a Value),
    Text(&'a str),
}

impl<'a> Dest<'a> {
    /// A hash or array value: a destination in parts.
    fn parts(self) -> Option<&'a Value> {
        match self {
            Dest::Value(value @ (Value::Hash(_) | Value::Array(_))) => Some(value),
            _ => None,
        }
    }

    /// The destination as text, if it is text.
    fn text(self) -> Option<&'a str> {
        match self {
            Dest::Value(value) => value.as_str(),
            Dest::Text(text) => Some(text),
        }
    }
}

fn target_of(shared: &Shared, to: Dest<'_>) -> Option<MessageTarget> {
    match to.parts() {
        Some(parts) => destination(parts)
            .ok()
            .map(|s| MessageTarget::Hash(s.to_hash_form().into())),
        None => to.text().map(|text| text_target(shared, text)),
    }
}

/// A target given as text: IKC reads a bare `kernel/session/state` as
/// `poe://kernel/session/state`. A target sent before shares the text kept
/// when it was parsed.
pub(crate) fn text_target(shared: &Shared, text: &str) -> MessageTarget {
    if !text.starts_with("poe:") {
        return MessageTarget::from(format!("poe://{text}"));
    }
    let kept = shared.borrow().targets.key(text).map(Arc::clone);
    kept.map_or_else(|| MessageTarget::from(text), MessageTarget::Text)
}

fn bad_target(kind: &str, to: Dest<'_>) -> Value {
    log::warn!("bad or missing 'event' parameter {to:?} to IKC/{kind}");
    Value::from(0)
}

/// IKC's `call`: a post with an RSVP the remote side answers.
pub(crate) fn call(
    shared: &Shared,
    ctx: &mut Ctx<'_>,
    to: Dest<'_>,
    params: Value,
    rsvp: Dest<'_>,
    sender: Option<SessionId>,
    caller: Option<Arc<CallerInfo>>,
) -> usize {
    let Some(to) = target_of(shared, to) else {
        bad_target("call", to);
        return 0;
    };
    let rsvp = match rsvp.parts() {
        Some(parts) => destination(parts).ok().map(|s| Arc::new(s.to_hash_form())),
        None => rsvp.text().and_then(|text| rsvp_text(shared, text, sender)),
    };
    let Some(mut rsvp) = rsvp else {
        log::warn!("missing or bad 'rsvp' parameter in IKC/call");
        return 0;
    };
    if rsvp.state.is_empty() {
        log::warn!("rsvp state not set in IKC/call");
        return 0;
    }
    if rsvp.session.is_empty() {
        match sender {
            Some(id) => Arc::make_mut(&mut rsvp).session = id.to_string(),
            None => {
                log::warn!("IKC/call from outside a session needs an rsvp with a session");
                return 0;
            }
        }
    }
    let mut msg = Message::call(to, params, rsvp);
    msg.wantarray = None;
    msg.caller = caller;
    send_msg(shared, ctx, msg, sender)
}

/// An RSVP given as text (`poe:state`, `session/state`...) as a hash form,
/// with `sender` as its session when the text names none; the texts a
/// kernel uses are parsed once and kept (a few dozen), so a caller sends
/// the same shared RSVP call after call.
fn rsvp_text(shared: &Shared, text: &str, sender: Option<SessionId>) -> Option<Arc<HashForm>> {
    let mut st = shared.borrow_mut();
    let kept = st.rsvp_texts.find(|t, (s, _)| t == text && *s == sender);
    if let Some((_, form)) = kept {
        return Some(Arc::clone(form));
    }
    let mut form = if text.starts_with("poe:") {
        Specifier::parse(text)
    } else {
        Specifier::parse(&format!("poe:{text}"))
    }
    .ok()?
    .to_hash_form();
    if let (true, Some(id)) = (form.session.is_empty(), sender) {
        form.session = id.to_string();
    }
    let form = Arc::new(form);
    st.rsvp_texts
        .insert(text.to_owned(), (sender, Arc::clone(&form)));
    Some(form)
}

/// The aliases to publish under: the given name, or SENDER's aliases.
fn session_aliases(ctx: &Ctx<'_>, session: &Value, sender: Option<SessionId>) -> Vec<String> {
    if let Some(id) = SessionId::from_value(session)
        .filter(|_| !matches!(session, Value::Str(_) | Value::Bytes(_)))
    {
        return ctx.alias_list(id);
    }
    match session.as_str().filter(|s| !s.is_empty()) {
        Some(name) => vec![name.to_owned()],
        None => sender.map(|s| ctx.alias_list(s)).unwrap_or_default(),
    }
}

fn strings(v: &Value) -> Vec<String> {
    match v {
        Value::Array(a) => a.iter().map(Value::to_string).collect(),
        Value::Undef => Vec::new(),
        one => vec![one.to_string()],
    }
}

fn published(shared: &Shared, session: &Value) -> Value {
    let st = shared.borrow();
    match session.as_str().filter(|s| !s.is_empty()) {
        Some(alias) => Value::from(st.published.states_of(alias)),
        None => {
            let mut hash = ikc_freezer::Hash::new();
            for (alias, states) in st.published.all() {
                hash.insert(alias, Value::from(states));
            }
            Value::Hash(hash)
        }
    }
}

/// Register more names for this kernel (with the kernel and the responder).
pub(crate) fn register_local(shared: &Shared, ctx: &mut Ctx<'_>, names: &[String]) {
    let names: Vec<String> = names.iter().filter(|n| !n.is_empty()).cloned().collect();
    for name in &names {
        ctx.add_name(name);
    }
    let mut st = shared.borrow_mut();
    let id = st.kernel_id.clone();
    st.remotes.register_local(&id, &names, Route::Local);
    // Addresses (`ip:port`, `unix:...`) name a socket, not the kernel: the
    // mesh hears only the kernel's names.
    let mesh_names: Vec<&String> = names.iter().filter(|n| !n.contains(':')).collect();
    let now = ctx.now();
    st.mesh.router.add_names(&mesh_names, now);
    drop(st);
    crate::mesh::drive(shared, ctx);
}

/// Set or clear a session's monitor of a kernel.
pub(crate) fn monitor(shared: &Shared, session: SessionId, name: &str, states: &MonitorStates) {
    let key = if name == "*" {
        "*".to_owned()
    } else {
        match ikc_specifier::specifier_part(name, ikc_specifier::PartName::Kernel) {
            Some(k) if !k.is_empty() => k,
            _ => name.to_owned(),
        }
    };
    shared
        .borrow_mut()
        .monitors
        .set(session, &key, name, states.clone());
}

fn error_parts(v: &Value) -> (String, Option<String>, String) {
    match v {
        Value::Array(a) => (
            a.first().map(Value::to_string).unwrap_or_default(),
            a.get(1).filter(|k| !k.is_undef()).map(Value::to_string),
            a.get(2).map(Value::to_string).unwrap_or_default(),
        ),
        other => (other.to_string(), None, String::new()),
    }
}

/// `IKC/do_you_have`, asked by a kernel that subscribes: `[specifier,
/// its kernel ID]`. Answers `[specifier, our ID]` or a refusal.
fn do_you_have(shared: &Shared, param: &Value) -> Value {
    let spec = param.get_index(0).and_then(hash_form);
    let Some(mut spec) = spec else {
        return Value::from("Refused subscription: bad specifier");
    };
    let st = shared.borrow();
    let ok = st.published.has_session(&spec.session)
        && (spec.state.is_empty() || st.published.has_state(&spec.session, &spec.state));
    if ok {
        if spec.kernel.is_empty() {
            spec.kernel.clone_from(&st.kernel_id);
        }
        Value::Array(vec![hash_value(&spec), Value::from(st.kernel_id.as_str())])
    } else {
        Value::from(format!("Refused subscription {}", spec.ikc_name()))
    }
}

/// Ask each kernel named in `specs` whether it has the session; create a
/// proxy for each that does; post `callback` to `sender` when every
/// specifier is answered.
fn subscribe(
    shared: &Shared,
    ctx: &mut Ctx<'_>,
    specs: &[String],
    callback: Option<String>,
    sender: Option<SessionId>,
) {
    let callback = match (callback, sender) {
        (Some(state), Some(session)) => Some((session, state)),
        _ => None,
    };
    let key = shared.borrow_mut().subscriptions.begin(callback);
    let id = shared.borrow().kernel_id.clone();
    for spec in specs {
        let parsed = Specifier::parse(spec)
            .ok()
            .filter(|s| s.kernel.is_specified());
        let sent = match &parsed {
            Some(ses) => {
                let receipt = format!("{key}{spec}");
                let mut question = ses.to_hash_form();
                question.state = ses.state.clone().unwrap_or_default();
                let msg = Message {
                    from: Some(HashForm::new(id.as_str(), IKC_ALIAS, "").into()),
                    ..Message::call(
                        HashForm::new(ses.kernel.to_ikc(), IKC_ALIAS, "do_you_have"),
                        Value::Array(vec![hash_value(&question), Value::from(id.as_str())]),
                        HashForm::new(id.as_str(), IKC_ALIAS, receipt),
                    )
                };
                let mut msg = msg;
                msg.wantarray = None;
                let n = send_msg(shared, ctx, msg, None);
                if n == 0 {
                    report_plain(
                        shared,
                        ctx,
                        "subscribe",
                        &format!("Unknown kernel {}", ses.kernel),
                    );
                }
                n
            }
            None => {
                report_plain(
                    shared,
                    ctx,
                    "subscribe",
                    &format!("cannot subscribe to {spec}: a subscription needs a remote kernel"),
                );
                0
            }
        };
        let receipt = shared.borrow_mut().subscriptions.expect(&key, spec, sent);
        if sent == 0 {
            // Nobody will answer: refuse at once.
            ctx.yield_(
                receipt.clone(),
                vec![Value::from(format!("Refused subscription to {spec}"))],
            );
        } else {
            ctx.delay(receipt, RECEIPT_TIMEOUT, Vec::new());
        }
    }
}

/// A subscription receipt: `[specifier, kernel_id]` (accepted), a string
/// (refused), or nothing (the timeout).
fn receipt(shared: &Shared, ctx: &mut Ctx<'_>, state: &str, mut args: Vec<Value>) {
    if !shared.borrow().subscriptions.is_pending(state) {
        return;
    }
    let outcome = if args.is_empty() {
        report_plain(
            shared,
            ctx,
            "subscribe",
            &format!(
                "no answer to subscription {}",
                &state[RECEIPT_PREFIX.len()..]
            ),
        );
        shared.borrow_mut().subscriptions.expire(state)
    } else {
        let resp = std::mem::take(&mut args[0]);
        let accepted = match &resp {
            Value::Array(parts) if parts.len() >= 2 => parts[0]
                .is_reference()
                .then(|| hash_form(&parts[0]))
                .flatten()
                .zip(Some(parts[1].to_string())),
            _ => None,
        };
        match accepted {
            Some((ses, rid)) => {
                let name = Proxy::name(&ses.kernel, &ses.session);
                if ctx.alias_resolve(&name).is_none() {
                    let proxy = ctx.spawn(Proxy::new(&ses.kernel, &ses.session, &rid, shared));
                    let _ = ctx.detach_child(proxy);
                    shared
                        .borrow_mut()
                        .proxies
                        .entry(ses.kernel.clone())
                        .or_default()
                        .push(proxy);
                }
                shared.borrow_mut().subscriptions.receipt(state, true)
            }
            None => {
                let text = match resp.as_str() {
                    Some(s) if !s.is_empty() => s.to_owned(),
                    _ => format!("Refused subscription to {}", &state[RECEIPT_PREFIX.len()..]),
                };
                report_plain(shared, ctx, "subscribe", &text);
                shared.borrow_mut().subscriptions.receipt(state, false)
            }
        }
    };
    let Some(outcome) = outcome else { return };
    if outcome.finished {
        ctx.delay_clear(state);
    }
    if let Some((session, callback, yes)) = outcome.done {
        let _ = ctx.post(session, callback, vec![Value::from(yes)]);
    }
}

/// A post from a session of this kernel to a state of another kernel
/// (Lightspeed style), as the kernel hands it over: the parsed destination
/// and the event. One argument travels as params; several travel as
/// `IKC:proxy` so the remote state gets each. A `?arg` goes on the end of
/// the arguments, where the receiving kernel would have put it (Perl's
/// IKC pushes it after the params), so it survives either way.
fn forward(shared: &Shared, ctx: &mut Ctx<'_>, post: RemotePost, sender: Option<SessionId>) {
    let RemotePost {
        mut to,
        event,
        rsvp,
        ..
    } = post;
    let star = to.kernel == ikc_specifier::Part::All;
    let caller = caller_of_event(ctx, &event);
    let state = event.state.to_string();
    let mut args = event.args;
    if let Some(arg) = to.arg.take() {
        args.push(Value::from(arg));
    }
    let msg = if args.len() == 1 {
        to.state = Some(state);
        Message::post(
            MessageTarget::Hash(to.to_hash_form().into()),
            args.pop().unwrap_or_default(),
        )
    } else {
        to.state = Some(PROXY_STATE.to_owned());
        Message::post(
            MessageTarget::Hash(to.to_hash_form().into()),
            Value::Array(vec![Value::from(state), Value::Array(args)]),
        )
    };
    let msg = Message {
        caller,
        // A call (Ctx::call_rsvp): the answer goes to the RSVP.
        wantarray: rsvp.as_ref().map(|_| false),
        rsvp: rsvp.map(|r| Arc::new(r.to_hash_form())),
        ..msg
    };
    // Lightspeed's kernel interface: `*` is every other kernel.
    crate::send::send_msg_scoped(shared, ctx, msg, sender, !star);
}

/// Forget a remote kernel: tell monitors, drop its names, delete its
/// proxies and thunks.
pub(crate) fn unregister_remote(shared: &Shared, ctx: &mut Ctx<'_>, rid: &str) {
    if !shared.borrow().remotes.is_real(rid) {
        return;
    }
    inform(
        shared,
        ctx,
        rid,
        MonitorOp::Unregister,
        &[Value::Undef, Value::from("direct")],
    );
    crate::mesh::direct_becomes_routed(shared, ctx, rid);
    let Some(gone) = shared.borrow_mut().remotes.unregister(rid) else {
        return;
    };
    forget_sessions_of(shared, ctx, &gone.names);
}

/// A kernel known by `names` is gone: delete its proxies and release
/// its thunks.
pub(crate) fn forget_sessions_of(shared: &Shared, ctx: &mut Ctx<'_>, names: &[String]) {
    let proxies: Vec<SessionId> = {
        let mut st = shared.borrow_mut();
        names
            .iter()
            .filter_map(|n| st.proxies.remove(n))
            .flatten()
            .collect()
    };
    for proxy in proxies {
        let _ = ctx.post(proxy, DELETE_STATE, Vec::new());
    }
    thunk::release_kernel(shared, ctx, names);
}

/// A channel of a shut-down responder has closed: once none is left, let
/// go of the `IKC` session (held by [`shutdown`] until then).
pub(crate) fn channel_closed(shared: &Shared, ctx: &mut Ctx<'_>) {
    let release = {
        let mut st = shared.borrow_mut();
        (st.shutting_down && st.links.is_empty() && std::mem::take(&mut st.held_until_closed))
            .then_some(st.session)
    };
    if let Some(me) = release {
        let _ = ctx.refcount_decrement(me, CLOSING_TAG);
    }
}

/// `IKC/shutdown`: close every channel (after its queued output is
/// written), tell the shutdown monitors, and let go of everything that
/// keeps the kernel running. Runs in the `IKC` session (its alias and
/// timers are its own).
pub(crate) fn shutdown(shared: &Shared, ctx: &mut Ctx<'_>) {
    if std::mem::replace(&mut shared.borrow_mut().shutting_down, true) {
        return;
    }
    let _ = ctx.alias_remove(IKC_ALIAS);
    ikc_core::internal::clear_forwarder(ctx);
    crate::mesh::disarm(shared, ctx);
    let channels: Vec<SessionId> = shared.borrow().links.keys().copied().collect();
    // Stay (and keep the responder's state) until every channel has
    // closed: events queued before the shutdown (posts to proxies, say)
    // still go out, and the channels still tell the monitors as they close.
    if !channels.is_empty() {
        let me = shared.borrow().session;
        if ctx.refcount_increment(me, CLOSING_TAG).is_ok() {
            shared.borrow_mut().held_until_closed = true;
        }
    }
    for channel in channels {
        let _ = ctx.post(channel, "shutdown", Vec::new());
    }
    inform(shared, ctx, "*", MonitorOp::Shutdown, &[]);
    let receipts = shared.borrow_mut().subscriptions.clear();
    for receipt in receipts {
        ctx.delay_clear(&receipt);
    }
    thunk::release_all(shared, ctx);
    let local = shared.borrow_mut().local_channel.take();
    if let Some(local) = local {
        local::release(ctx, local);
    }
}
