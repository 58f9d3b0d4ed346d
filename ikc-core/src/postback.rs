//! Postbacks and callbacks: POE's `$session->postback(state, @args)` and
//! `$session->callback(state, @args)`.
//!
//! A [`Postback`] is a handle that, invoked with more arguments, posts a
//! state with `ARG0` the arguments given when it was made and `ARG1` the
//! ones given now. A [`Callback`] calls the state instead and returns its
//! value. Both keep their session alive while they exist (they hold a
//! reference to it, as in POE), are `Send + Sync` and cheap to clone, and
//! work from any thread: they go through the kernel's [`KernelHandle`].
//! Made for a remote `SENDER`, they answer the remote session.

use std::fmt;
use std::panic::Location;
use std::sync::Arc;

use ikc_freezer::Value;

use crate::ctx::Ctx;
use crate::error::{CallError, PostError, SessionError};
use crate::event::StateName;
use crate::handle::KernelHandle;
use crate::ids::{SessionId, Target};

/// The reference tag a postback or callback holds its session by.
pub(crate) const POSTBACK_TAG: &str = "postback";

/// What a postback and a callback share.
struct Inner {
    handle: KernelHandle,
    target: Target<'static>,
    /// The local session held alive, if the target is one.
    held: Option<SessionId>,
    state: StateName,
    args: Vec<Value>,
}

impl Inner {
    fn args(&self, given: Vec<Value>) -> Vec<Value> {
        vec![Value::Array(self.args.clone()), Value::Array(given)]
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        if let Some(session) = self.held {
            self.handle.release(session, POSTBACK_TAG);
        }
    }
}

impl fmt::Debug for Inner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Inner")
            .field("kernel", &self.handle.kernel_id())
            .field("target", &self.target)
            .field("state", &self.state)
            .field("args", &self.args)
            .finish()
    }
}

/// POE's postback: invoked with more arguments, it posts its state with
/// `ARG0` = the arguments it was made with and `ARG1` = the new ones.
///
/// Made with [`Ctx::postback`] (for this session) or
/// [`Ctx::postback_to`] (for any session, a specifier, or an event's
/// SENDER, remote ones included). While any clone of it exists its
/// session stays alive, and so does the kernel's
/// [`run`](crate::Kernel::run): drop it when it is no longer wanted (a
/// postback kept in its own session's heap keeps that session for ever, as
/// in POE).
///
/// # Examples
///
/// A worker thread reports back through a postback:
///
/// ```
/// use ikc_core::{InlineStates, Kernel};
/// use ikc_freezer::Value;
///
/// let mut kernel = Kernel::new()?;
/// let got = std::rc::Rc::new(std::cell::RefCell::new(Vec::new()));
/// let seen = std::rc::Rc::clone(&got);
/// kernel.spawn(InlineStates::new()
///     .state("_start", |_, ctx, _| {
///         let done = ctx.postback("done", vec![Value::from("job 1")]);
///         std::thread::spawn(move || done.post(vec![Value::from(42)]));
///     })
///     .state("done", move |_, _, ev| seen.borrow_mut().extend(ev.args)));
/// kernel.run()?; // returns once the postback is gone and `done` handled
/// assert_eq!(*got.borrow(), [Value::from(vec![Value::from("job 1")]), Value::from(vec![Value::from(42)])]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
pub struct Postback {
    inner: Arc<Inner>,
}

impl Postback {
    /// Post the state, from any thread (SENDER is the kernel, as for every
    /// post through a [`KernelHandle`]).
    ///
    /// # Errors
    ///
    /// The kernel is not running any more.
    #[track_caller]
    pub fn post(&self, args: Vec<Value>) -> Result<(), PostError> {
        let inner = &self.inner;
        inner.handle.post_at(
            &inner.target,
            &inner.state,
            inner.args(args),
            Location::caller(),
        )
    }

    /// Post the state from a handler of the kernel (SENDER is the running
    /// session), in order with that handler's other posts.
    ///
    /// # Errors
    ///
    /// The target has gone.
    #[track_caller]
    pub fn post_from(&self, ctx: &mut Ctx<'_>, args: Vec<Value>) -> Result<(), PostError> {
        let inner = &self.inner;
        ctx.post(&inner.target, &inner.state, inner.args(args))
    }

    /// The state it posts.
    pub fn state(&self) -> &str {
        self.inner.state.as_str()
    }
}

/// POE's callback: invoked with more arguments, it calls its state with
/// `ARG0` = the arguments it was made with and `ARG1` = the new ones, and
/// returns the state's value.
///
/// Made with [`Ctx::callback`] or [`Ctx::callback_to`]; it holds its
/// session as a [`Postback`] does. A callback whose target is in another
/// kernel (a remote SENDER) cannot wait for an answer: it posts the state
/// there and returns `undef`, as Lightspeed's do.
///
/// # Examples
///
/// A thread calls a state through a callback and waits for its value:
///
/// ```
/// use ikc_core::{InlineStates, Kernel};
/// use ikc_freezer::Value;
///
/// let mut kernel = Kernel::new()?;
/// let (tx, rx) = std::sync::mpsc::channel();
/// kernel.spawn(InlineStates::new()
///     .state("_start", move |_, ctx, _| {
///         let add = ctx.callback("add", vec![Value::from(10)]);
///         let tx = tx.clone();
///         std::thread::spawn(move || tx.send(add.call(vec![Value::from(5)])));
///     })
///     .state("add", |_, _, ev| {
///         let (made, given) = (&ev.args[0][0], &ev.args[1][0]);
///         Value::from(made.as_i64().unwrap_or(0) + given.as_i64().unwrap_or(0))
///     }));
/// kernel.run()?; // returns once the callback is gone
/// assert_eq!(rx.recv()??, Value::from(15));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
pub struct Callback {
    inner: Arc<Inner>,
    /// The target is a session of this kernel (a call can wait for it).
    local: bool,
}

impl Callback {
    /// Call the state from another thread and wait for its value. A
    /// callback to another kernel posts and returns `undef`.
    ///
    /// # Errors
    ///
    /// As [`KernelHandle::call`]: [`CallError::WouldDeadlock`] from the
    /// kernel's own thread (use [`call_from`](Self::call_from) there).
    #[track_caller]
    pub fn call(&self, args: Vec<Value>) -> Result<Value, CallError> {
        let inner = &self.inner;
        let args = inner.args(args);
        if self.local {
            inner
                .handle
                .call_at(&inner.target, &inner.state, args, Location::caller())
        } else {
            inner
                .handle
                .post_at(&inner.target, &inner.state, args, Location::caller())
                .map_err(|e| e.reason)?;
            Ok(Value::Undef)
        }
    }

    /// Call the state from a handler of the kernel and return its value. A
    /// callback to another kernel posts and returns `undef`.
    ///
    /// # Errors
    ///
    /// As [`Ctx::call`].
    #[track_caller]
    pub fn call_from(&self, ctx: &mut Ctx<'_>, args: Vec<Value>) -> Result<Value, CallError> {
        let inner = &self.inner;
        let args = inner.args(args);
        if self.local {
            ctx.call(&inner.target, &inner.state, args)
        } else {
            ctx.post(&inner.target, &inner.state, args)
                .map_err(|e| e.reason)?;
            Ok(Value::Undef)
        }
    }

    /// The state it calls.
    pub fn state(&self) -> &str {
        self.inner.state.as_str()
    }
}

impl Ctx<'_> {
    /// A postback to a state of this session (POE's
    /// `$_[SESSION]->postback(state, @args)`).
    pub fn postback(&mut self, state: impl Into<StateName>, args: Vec<Value>) -> Postback {
        let inner = self.postback_inner(Target::Session(self.me), state.into(), args);
        Postback {
            inner: Arc::new(inner.expect("the running session exists")),
        }
    }

    /// A postback to a state of another session: a session id, an alias,
    /// a specifier (`poe://kernel/session`), or an event's SENDER
    /// (`ev.sender.target()`), remote ones included. A local session is
    /// kept alive while the postback exists.
    ///
    /// # Errors
    ///
    /// The target is a local session that does not exist.
    pub fn postback_to<'t>(
        &mut self,
        to: impl Into<Target<'t>>,
        state: impl Into<StateName>,
        args: Vec<Value>,
    ) -> Result<Postback, SessionError> {
        let inner = self.postback_inner(to.into().into_owned(), state.into(), args)?;
        Ok(Postback {
            inner: Arc::new(inner),
        })
    }

    /// A callback to a state of this session (POE's
    /// `$_[SESSION]->callback(state, @args)`).
    pub fn callback(&mut self, state: impl Into<StateName>, args: Vec<Value>) -> Callback {
        let inner = self.postback_inner(Target::Session(self.me), state.into(), args);
        Callback {
            inner: Arc::new(inner.expect("the running session exists")),
            local: true,
        }
    }

    /// A callback to a state of another session, as
    /// [`postback_to`](Self::postback_to) names it.
    ///
    /// # Errors
    ///
    /// The target is a local session that does not exist.
    pub fn callback_to<'t>(
        &mut self,
        to: impl Into<Target<'t>>,
        state: impl Into<StateName>,
        args: Vec<Value>,
    ) -> Result<Callback, SessionError> {
        let inner = self.postback_inner(to.into().into_owned(), state.into(), args)?;
        Ok(Callback {
            local: inner.held.is_some(),
            inner: Arc::new(inner),
        })
    }

    /// Resolve the target to a local session if it is one (and hold it),
    /// or keep it as a name for another kernel.
    fn postback_inner(
        &mut self,
        to: Target<'static>,
        state: StateName,
        args: Vec<Value>,
    ) -> Result<Inner, SessionError> {
        let held = match &to {
            Target::Session(id) => Some(*id),
            Target::Name(name) => self.alias_resolve(name),
        };
        let target = match held {
            Some(id) => {
                self.refcount_increment(id, POSTBACK_TAG)?;
                Target::Session(id)
            }
            None => to,
        };
        Ok(Inner {
            handle: self.handle(),
            target,
            held,
            state,
            args,
        })
    }
}
