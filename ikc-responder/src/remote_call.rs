//! Typed remote calls: call a state of another kernel with a serde value
//! and get its typed answer in a closure, or a typed error (the remote
//! kernel's error report, a timeout, the kernel gone), without naming an
//! RSVP state; and the same from another thread through the kernel's
//! handle, waiting for the answer or `.await`ing it.
//!
//! Every such call goes through one session per kernel, aliased
//! [`CALLS_ALIAS`], spawned with the responder: it sends the request with
//! an RSVP to one of its own states (`reply<N>`), keeps the continuation
//! and a timer, and watches the error reports and the kernels that go
//! away.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::marker::PhantomData;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, LazyLock, Mutex, PoisonError};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use ikc_core::{AlarmId, Ctx, Event, KernelHandle, Session, SessionId};
use ikc_freezer::{Value, ValueError, from_value, to_value};
use ikc_specifier::Specifier;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::api::Ikc;
use crate::monitor::{MonitorOp, MonitorStates};

/// The alias of the session that makes typed remote calls.
pub const CALLS_ALIAS: &str = "IKC-calls";
/// Where the answer to call N arrives: `reply<N>`.
const REPLY_PREFIX: &str = "reply";
/// A call to send: `[N]`.
const SEND_STATE: &str = "send";
/// A call from another thread: `[ticket, to, request, timeout in µs]`.
const HANDLE_STATE: &str = "handle_call";
/// Call N ran out of time: `[N]`.
const TIMEOUT_STATE: &str = "timeout";
const MON_ERROR: &str = "mon_error";
const MON_UNREGISTER: &str = "mon_unregister";
const MON_SHUTDOWN: &str = "mon_shutdown";

/// Why a typed remote call brought no typed answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RemoteCallError {
    /// The remote kernel reported an error about this request
    /// (`IKC/remote_error`): the state is not published, the session is
    /// unknown, the handler failed (a typed state's bad argument), ...
    #[error("the remote kernel reported an error (during {operation}): {message}")]
    Remote {
        /// IKC's message, ending with the request's specifier.
        message: String,
        /// IKC's stage: `request`, `check`, `resolve` or `invocation`.
        operation: String,
    },
    /// No answer in time. IKC sends nothing back for a state that returns
    /// `undef`, so calling one ends here too.
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    /// The connection to the kernel closed (or IKC shut down) before it
    /// answered.
    #[error("kernel {0:?} went away before answering")]
    KernelGone(String),
    /// The request could not be sent: the specifier does not parse, names
    /// several kernels, or names a kernel that is not connected.
    #[error("the request was not sent: {0}")]
    NotSent(String),
    /// The request could not be converted to a [`Value`].
    #[error("cannot convert the request: {0}")]
    Encode(ValueError),
    /// The answer does not convert to the type asked for.
    #[error("cannot convert the answer: {0}")]
    Decode(ValueError),
    /// The kernel is not running (a call through a [`KernelHandle`]), or
    /// it runs no IKC responder.
    #[error("the kernel is not running an IKC responder")]
    KernelStopped,
}

/// What to do with the answer (or the error) of call N.
type Continuation = Box<dyn FnOnce(&mut Ctx<'_>, Result<Value, RemoteCallError>)>;

/// One call in flight.
struct Pending {
    /// The target, as sent (`poe://Kernel/session/state`).
    spec: String,
    /// The kernel part of it, as written.
    kernel: String,
    request: Option<Value>,
    /// The request went out (its answer or error may come).
    sent: bool,
    timeout: Duration,
    alarm: Option<AlarmId>,
    on_reply: Continuation,
}

/// The calls in flight in one kernel (a kernel service).
#[derive(Default)]
pub(crate) struct Calls {
    next: u64,
    pending: BTreeMap<u64, Pending>,
}

/// Start the calls session (with the responder).
pub(crate) fn spawn(ctx: &mut Ctx<'_>) -> SessionId {
    let id = ctx.spawn(CallsSession);
    // A kernel-wide helper: it must not hold the IKC session as a child.
    let _ = ctx.detach_child(id);
    id
}

/// Queue a call: stored in the kernel's calls service, sent by the calls
/// session.
fn queue(
    ctx: &mut Ctx<'_>,
    to: &str,
    request: Result<Value, RemoteCallError>,
    timeout: Duration,
    on_reply: Continuation,
) {
    let Some(calls) = ctx.service::<RefCell<Calls>>() else {
        // No responder: nobody will run the continuation later, so run it now.
        on_reply(ctx, Err(RemoteCallError::KernelStopped));
        return;
    };
    let spec = crate::api::absolute(to);
    let n = {
        let mut calls = calls.borrow_mut();
        let n = calls.next;
        calls.next += 1;
        let (request, early) = match request {
            Ok(v) => (Some(v), None),
            Err(e) => (None, Some(e)),
        };
        let on_reply: Continuation = match early {
            None => on_reply,
            Some(e) => Box::new(move |ctx, _| on_reply(ctx, Err(e))),
        };
        calls.pending.insert(
            n,
            Pending {
                kernel: String::new(),
                spec,
                request,
                sent: false,
                timeout,
                alarm: None,
                on_reply,
            },
        );
        n
    };
    if ctx
        .post(CALLS_ALIAS, SEND_STATE, vec![Value::from(n)])
        .is_err()
    {
        if let Some(p) = calls.borrow_mut().pending.remove(&n) {
            (p.on_reply)(ctx, Err(RemoteCallError::KernelStopped));
        }
    }
}

impl Ikc {
    /// Call the state `to` (`poe://Kernel/session/state`, or
    /// `Kernel/session/state`) of another kernel with `request` as its
    /// ARG0, and run `on_reply` with its typed answer, or with why there is
    /// none: [`RemoteCallError::Remote`] when the remote kernel reports an
    /// error about this request, [`RemoteCallError::Timeout`] after
    /// `timeout`, [`RemoteCallError::KernelGone`] when its connection
    /// closes first. No RSVP state to name or publish: the answer comes
    /// back to the kernel's [`CALLS_ALIAS`] session, which runs `on_reply`
    /// (with that session's [`Ctx`]: post to your own session from it to
    /// carry on there).
    ///
    /// `on_reply` runs exactly once, after this returns (also for an error
    /// found at once, such as a request that does not convert).
    ///
    /// ```
    /// use std::time::Duration;
    /// use std::{cell::RefCell, rc::Rc};
    ///
    /// use ikc_core::{InlineStates, Kernel};
    /// use ikc_responder::{Ikc, RemoteCallError, Responder};
    ///
    /// let mut kernel = Kernel::new()?;
    /// let ikc = Responder::spawn(&mut kernel);
    /// kernel.spawn(InlineStates::new()
    ///     .state("_start", |_, ctx, _| { ctx.alias_set("calc").unwrap(); })
    ///     .typed_state("double", |_, n: i64| Ok::<_, String>(n * 2)));
    /// ikc.publish("calc", &["double"]);
    ///
    /// let got = Rc::new(RefCell::new(Vec::new()));
    /// let seen = Rc::clone(&got);
    /// kernel.spawn(InlineStates::new().state("_start", move |_, ctx, _| {
    ///     let ikc = Ikc::of(ctx).unwrap();
    ///     let me = format!("poe://{}/calc/double", ctx.kernel_id());
    ///     let seen = Rc::clone(&seen);
    ///     ikc.call_typed(ctx, &me, &21, Duration::from_secs(5), move |ctx, answer: Result<i64, RemoteCallError>| {
    ///         seen.borrow_mut().push(answer);
    ///         Ikc::of(ctx).unwrap().shutdown(ctx);
    ///     });
    /// }));
    /// kernel.run()?;
    /// assert_eq!(*got.borrow(), [Ok(42)]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn call_typed<Req, Resp, F>(
        &self,
        ctx: &mut Ctx<'_>,
        to: &str,
        request: &Req,
        timeout: Duration,
        on_reply: F,
    ) where
        Req: Serialize + ?Sized,
        Resp: DeserializeOwned + 'static,
        F: FnOnce(&mut Ctx<'_>, Result<Resp, RemoteCallError>) + 'static,
    {
        let request = to_value(request).map_err(RemoteCallError::Encode);
        let on_reply: Continuation = Box::new(move |ctx, answer| {
            on_reply(
                ctx,
                answer.and_then(|v| from_value(v).map_err(RemoteCallError::Decode)),
            );
        });
        queue(ctx, to, request, timeout, on_reply);
    }
}

/// The session that makes the calls.
#[derive(Debug)]
struct CallsSession;

impl Session for CallsSession {
    fn handle(&mut self, ctx: &mut Ctx<'_>, event: Event) -> Value {
        match event.state() {
            "_start" => {
                if let Err(e) = ctx.alias_set(CALLS_ALIAS) {
                    log::error!("cannot alias the typed-calls session: {e}");
                }
                ctx.set_service(Rc::new(RefCell::new(Calls::default())));
                if let Some(ikc) = Ikc::of(ctx) {
                    let states = MonitorStates::new()
                        .on(MonitorOp::Error, MON_ERROR)
                        .on(MonitorOp::Unregister, MON_UNREGISTER)
                        .on(MonitorOp::Shutdown, MON_SHUTDOWN);
                    ikc.monitor(ctx, "*", &states);
                }
            }
            SEND_STATE => {
                if let Some(n) = event.arg(0).and_then(Value::as_u64) {
                    send(ctx, n);
                }
            }
            HANDLE_STATE => handle_call(ctx, event.args),
            TIMEOUT_STATE => {
                if let Some(n) = event.arg(0).and_then(Value::as_u64) {
                    if let Some(p) = take(ctx, n) {
                        (p.on_reply)(ctx, Err(RemoteCallError::Timeout(p.timeout)));
                    }
                }
            }
            MON_ERROR => remote_error(ctx, &event.args),
            MON_UNREGISTER => {
                let kernel = event.arg(1).map(Value::to_string).unwrap_or_default();
                fail_where(
                    ctx,
                    |p| p.sent && p.kernel == kernel,
                    || RemoteCallError::KernelGone(kernel.clone()),
                );
            }
            MON_SHUTDOWN => {
                let _ = ctx.alias_remove(CALLS_ALIAS);
            }
            "_stop" => {
                fail_where(ctx, |_| true, || RemoteCallError::KernelStopped);
                let _ = ctx.remove_service::<RefCell<Calls>>();
            }
            state => {
                if let Some(n) = state
                    .strip_prefix(REPLY_PREFIX)
                    .and_then(|n| n.parse::<u64>().ok())
                {
                    match take(ctx, n) {
                        Some(p) => {
                            let answer = event.args.into_iter().next().unwrap_or_default();
                            (p.on_reply)(ctx, Ok(answer));
                        }
                        None => log::debug!("answer to typed call {n} after it ended: dropped"),
                    }
                }
            }
        }
        Value::Undef
    }
}

/// Remove call N, and its timer.
fn take(ctx: &mut Ctx<'_>, n: u64) -> Option<Pending> {
    let calls = ctx.service::<RefCell<Calls>>()?;
    let p = calls.borrow_mut().pending.remove(&n)?;
    if let Some(alarm) = p.alarm {
        ctx.alarm_remove(alarm);
    }
    Some(p)
}

/// End every call `matches` picks with `error()`, oldest first.
fn fail_where(
    ctx: &mut Ctx<'_>,
    matches: impl Fn(&Pending) -> bool,
    error: impl Fn() -> RemoteCallError,
) {
    let Some(calls) = ctx.service::<RefCell<Calls>>() else {
        return;
    };
    let ended: Vec<u64> = calls
        .borrow()
        .pending
        .iter()
        .filter(|(_, p)| matches(p))
        .map(|(n, _)| *n)
        .collect();
    for n in ended {
        if let Some(p) = take(ctx, n) {
            (p.on_reply)(ctx, Err(error()));
        }
    }
}

/// Send call N (or end it with the error it was queued with).
fn send(ctx: &mut Ctx<'_>, n: u64) {
    let Some(calls) = ctx.service::<RefCell<Calls>>() else {
        return;
    };
    let Some(ikc) = Ikc::of(ctx) else {
        if let Some(p) = take(ctx, n) {
            (p.on_reply)(ctx, Err(RemoteCallError::KernelStopped));
        }
        return;
    };
    let (spec, request, timeout) = {
        let mut calls = calls.borrow_mut();
        let Some(p) = calls.pending.get_mut(&n) else {
            return;
        };
        (p.spec.clone(), p.request.take(), p.timeout)
    };
    let Some(request) = request else {
        // Queued with an error (the request did not convert).
        if let Some(p) = take(ctx, n) {
            (p.on_reply)(ctx, Err(RemoteCallError::NotSent(String::new())));
        }
        return;
    };
    let kernel = match Specifier::parse(&spec) {
        Ok(parsed) => {
            let kernel = parsed.kernel.to_ikc();
            if kernel == "*" || kernel.contains(',') {
                Err(format!(
                    "{spec} names more than one kernel; a typed call goes to one"
                ))
            } else {
                Ok(kernel)
            }
        }
        Err(e) => Err(format!("{spec}: {e}")),
    };
    let kernel = match kernel {
        Ok(kernel) => kernel,
        Err(why) => {
            if let Some(p) = take(ctx, n) {
                (p.on_reply)(ctx, Err(RemoteCallError::NotSent(why)));
            }
            return;
        }
    };
    let reached = ikc.call(ctx, &spec, request, &format!("{REPLY_PREFIX}{n}"));
    if reached == 0 {
        if let Some(p) = take(ctx, n) {
            let why = format!("no kernel {kernel:?} is connected");
            (p.on_reply)(ctx, Err(RemoteCallError::NotSent(why)));
        }
        return;
    }
    let alarm = ctx.delay_set(TIMEOUT_STATE, timeout, vec![Value::from(n)]);
    if let Some(p) = calls.borrow_mut().pending.get_mut(&n) {
        p.kernel = kernel;
        p.sent = true;
        p.alarm = Some(alarm);
    }
}

/// An error monitor's report: `[name, kernel, real, data, operation,
/// message]`. A report from another kernel (`remote-<stage>`) names the
/// request it is about (`... Request poe://K/s/st ...`): it ends the
/// oldest call to that specifier.
fn remote_error(ctx: &mut Ctx<'_>, args: &[Value]) {
    let operation = args.get(4).map(Value::to_string).unwrap_or_default();
    let Some(stage) = operation.strip_prefix("remote-") else {
        return;
    };
    let message = args.get(5).map(Value::to_string).unwrap_or_default();
    let Some(calls) = ctx.service::<RefCell<Calls>>() else {
        return;
    };
    let found = calls
        .borrow()
        .pending
        .iter()
        .find(|(_, p)| p.sent && mentions(&message, &p.spec))
        .map(|(n, _)| *n);
    if let Some(p) = found.and_then(|n| take(ctx, n)) {
        let error = RemoteCallError::Remote {
            message,
            operation: stage.to_owned(),
        };
        (p.on_reply)(ctx, Err(error));
    }
}

/// Does IKC's error text name the request `spec` (`Request <spec>` then
/// the end, a space or a dot)?
fn mentions(message: &str, spec: &str) -> bool {
    let needle = format!("Request {spec}");
    message.match_indices(&needle).any(|(at, _)| {
        matches!(
            message[at + needle.len()..].chars().next(),
            None | Some(' ' | '.' | '\n')
        )
    })
}

// ---- calls from other threads ----

/// Where an answer for another thread goes.
#[derive(Debug, Default)]
struct Slot {
    state: Mutex<SlotState>,
    ready: Condvar,
}

#[derive(Debug, Default)]
struct SlotState {
    result: Option<Result<Value, RemoteCallError>>,
    waker: Option<Waker>,
}

impl Slot {
    fn fill(&self, result: Result<Value, RemoteCallError>) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.result = Some(result);
        if let Some(waker) = state.waker.take() {
            waker.wake();
        }
        self.ready.notify_all();
    }
}

/// The answers other threads wait for, by ticket (process-wide: tickets
/// are unique in the process).
static TICKETS: LazyLock<Mutex<HashMap<u64, Arc<Slot>>>> = LazyLock::new(Mutex::default);
static NEXT_TICKET: AtomicU64 = AtomicU64::new(0);

fn tickets() -> std::sync::MutexGuard<'static, HashMap<u64, Arc<Slot>>> {
    TICKETS.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A call from another thread, in the kernel's thread: queue it with a
/// continuation that fills the caller's slot.
fn handle_call(ctx: &mut Ctx<'_>, args: Vec<Value>) {
    let mut args = args.into_iter();
    let ticket = args.next().and_then(|v| v.as_u64());
    let to = args.next().map(|v| v.to_string()).unwrap_or_default();
    let request = args.next().unwrap_or_default();
    let micros = args.next().and_then(|v| v.as_u64()).unwrap_or(0);
    let Some(ticket) = ticket else {
        return;
    };
    let on_reply: Continuation = Box::new(move |_, answer| {
        if let Some(slot) = tickets().remove(&ticket) {
            slot.fill(answer);
        }
    });
    queue(
        ctx,
        &to,
        Ok(request),
        Duration::from_micros(micros),
        on_reply,
    );
}

/// Typed remote calls from another thread, through a [`KernelHandle`] of
/// a kernel that runs an IKC responder (a server's or a client's).
///
/// ```
/// use std::time::Duration;
///
/// use ikc_core::{InlineStates, Kernel};
/// use ikc_responder::{RemoteCalls, Responder};
///
/// // A kernel on its own thread, publishing calc/double.
/// let (tx, rx) = std::sync::mpsc::channel();
/// let kernel_thread = std::thread::spawn(move || {
///     let mut kernel = Kernel::new().unwrap();
///     let ikc = Responder::spawn(&mut kernel);
///     kernel.spawn(InlineStates::new()
///         .state("_start", |_, ctx, _| { ctx.alias_set("calc").unwrap(); })
///         .typed_state("double", |_, n: i64| Ok::<_, String>(n * 2)));
///     ikc.publish("calc", &["double"]);
///     tx.send((kernel.handle(), kernel.id().to_owned())).unwrap();
///     kernel.run().unwrap();
/// });
/// let (handle, id) = rx.recv()?;
/// let spec = format!("poe://{id}/calc/double");
/// let four: i64 = handle.remote_call(&spec, &2, Duration::from_secs(5))?;
/// assert_eq!(four, 4);
/// // Or awaited, in any async runtime.
/// let six: i64 = futures_lite_block_on(handle.remote_call_async(&spec, &3, Duration::from_secs(5)))?;
/// assert_eq!(six, 6);
/// handle.call("IKC", "shutdown", vec![])?;
/// drop(handle); // a live handle could still post: the kernel would wait for it
/// kernel_thread.join().unwrap();
/// # fn futures_lite_block_on<F: std::future::Future>(f: F) -> F::Output {
/// #     // A minimal executor for the example: poll until ready.
/// #     struct Wake(std::thread::Thread);
/// #     impl std::task::Wake for Wake { fn wake(self: std::sync::Arc<Self>) { self.0.unpark(); } }
/// #     let waker = std::task::Waker::from(std::sync::Arc::new(Wake(std::thread::current())));
/// #     let mut cx = std::task::Context::from_waker(&waker);
/// #     let mut f = std::pin::pin!(f);
/// #     loop {
/// #         if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) { return v; }
/// #         std::thread::park();
/// #     }
/// # }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub trait RemoteCalls {
    /// Call `to` on another kernel with `request` and wait (blocking this
    /// thread) for the typed answer, at most `timeout`. Not from the
    /// kernel's own thread: it cannot answer while its thread waits (the
    /// call would end in a timeout).
    ///
    /// # Errors
    ///
    /// As [`Ikc::call_typed`]; [`RemoteCallError::KernelStopped`] when the
    /// kernel does not run.
    fn remote_call<Req, Resp>(
        &self,
        to: &str,
        request: &Req,
        timeout: Duration,
    ) -> Result<Resp, RemoteCallError>
    where
        Req: Serialize + ?Sized,
        Resp: DeserializeOwned;

    /// [`remote_call`](Self::remote_call) as a future, for async code (any
    /// runtime: the kernel's thread wakes it).
    fn remote_call_async<Req, Resp>(
        &self,
        to: &str,
        request: &Req,
        timeout: Duration,
    ) -> RemoteReply<Resp>
    where
        Req: Serialize + ?Sized,
        Resp: DeserializeOwned;
}

impl RemoteCalls for KernelHandle {
    fn remote_call<Req, Resp>(
        &self,
        to: &str,
        request: &Req,
        timeout: Duration,
    ) -> Result<Resp, RemoteCallError>
    where
        Req: Serialize + ?Sized,
        Resp: DeserializeOwned,
    {
        let mut reply = self.remote_call_async::<Req, Resp>(to, request, timeout);
        let (ticket, slot) =
            std::mem::replace(&mut reply.inner, Err(RemoteCallError::KernelStopped))?;
        // The kernel's timer ends the call; this deadline only guards
        // against a kernel that stops without a word.
        let deadline = Instant::now() + timeout + Duration::from_secs(1);
        let mut state = slot.state.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            if let Some(result) = state.result.take() {
                return result.and_then(|v| from_value(v).map_err(RemoteCallError::Decode));
            }
            let now = Instant::now();
            if now >= deadline {
                tickets().remove(&ticket);
                return Err(RemoteCallError::Timeout(timeout));
            }
            state = slot
                .ready
                .wait_timeout(state, deadline - now)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }

    fn remote_call_async<Req, Resp>(
        &self,
        to: &str,
        request: &Req,
        timeout: Duration,
    ) -> RemoteReply<Resp>
    where
        Req: Serialize + ?Sized,
        Resp: DeserializeOwned,
    {
        let start = || {
            let request = to_value(request).map_err(RemoteCallError::Encode)?;
            let ticket = NEXT_TICKET.fetch_add(1, Ordering::Relaxed);
            let slot = Arc::new(Slot::default());
            tickets().insert(ticket, Arc::clone(&slot));
            let micros = u64::try_from(timeout.as_micros()).unwrap_or(u64::MAX);
            let args = vec![
                Value::from(ticket),
                Value::from(to),
                request,
                Value::from(micros),
            ];
            if self.post(CALLS_ALIAS, HANDLE_STATE, args).is_err() {
                tickets().remove(&ticket);
                return Err(RemoteCallError::KernelStopped);
            }
            Ok((ticket, slot))
        };
        RemoteReply {
            inner: start(),
            _answer: PhantomData,
        }
    }
}

/// The answer to a [`RemoteCalls::remote_call_async`], as a future.
#[must_use = "a RemoteReply does nothing unless awaited"]
#[derive(Debug)]
pub struct RemoteReply<T> {
    inner: Result<(u64, Arc<Slot>), RemoteCallError>,
    _answer: PhantomData<fn() -> T>,
}

impl<T: DeserializeOwned> Future for RemoteReply<T> {
    type Output = Result<T, RemoteCallError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        let slot = match &this.inner {
            Ok((_, slot)) => Arc::clone(slot),
            Err(e) => return Poll::Ready(Err(e.clone())),
        };
        let mut state = slot.state.lock().unwrap_or_else(PoisonError::into_inner);
        match state.result.take() {
            Some(result) => {
                Poll::Ready(result.and_then(|v| from_value(v).map_err(RemoteCallError::Decode)))
            }
            None => {
                state.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

impl<T> Drop for RemoteReply<T> {
    fn drop(&mut self) {
        if let Ok((ticket, _)) = &self.inner {
            tickets().remove(ticket);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_text_names_its_request_exactly() {
        let text = "Session 'calc' has not published state 'add'.  Request poe://S/calc/add sent by poe://C/x";
        assert!(mentions(text, "poe://S/calc/add"));
        assert!(!mentions(text, "poe://S/calc/ad"));
        assert!(mentions(
            "boom.  Request poe://S/calc/add",
            "poe://S/calc/add"
        ));
        assert!(mentions(
            "boom.  Request poe://S/calc/add.",
            "poe://S/calc/add"
        ));
        assert!(!mentions(
            "boom.  Request poe://S/calc/add_1",
            "poe://S/calc/add"
        ));
    }

    #[test]
    fn errors_print_what_happened() {
        assert_eq!(
            RemoteCallError::Timeout(Duration::from_secs(2)).to_string(),
            "no answer within 2s"
        );
        assert_eq!(
            RemoteCallError::KernelGone("Server".into()).to_string(),
            "kernel \"Server\" went away before answering"
        );
    }
}
