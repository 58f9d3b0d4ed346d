//! Typed states and arguments: serde types in and out of a state, with a
//! bad argument reported to the caller as an error instead of a panic.

use std::fmt::Display;

use ikc_freezer::{Value, ValueError, from_value, to_value};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::ctx::Ctx;
use crate::event::{Event, StateName};
use crate::session::InlineStates;

/// An event argument that could not be read as the type asked for.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ArgError {
    /// The event has no argument `n`.
    #[error("no argument ARG{0}")]
    Missing(usize),
    /// Argument `n` does not have the shape the type needs.
    #[error("bad argument ARG{n}: {source}")]
    Invalid {
        /// Which argument (0 is ARG0).
        n: usize,
        /// What the serde bridge found wrong.
        source: ValueError,
    },
    /// The arguments, taken together, do not have the shape the type needs
    /// (see [`Event::args_as`]).
    #[error("bad arguments: {0}")]
    InvalidArgs(ValueError),
}

impl Event {
    /// Argument `n` (`ARGn`) read as a serde type, with the serde bridge's
    /// Perl-friendly rules ([`ikc_freezer::from_value`]): numbers accept
    /// numeric strings, structs read hashes, and so on.
    ///
    /// ```
    /// use ikc_core::{ArgError, Event};
    /// use ikc_freezer::Value;
    ///
    /// let ev = Event::new("add", vec![Value::bytes("41"), Value::from("x")]);
    /// assert_eq!(ev.arg_as::<i64>(0)?, 41);
    /// assert!(matches!(ev.arg_as::<i64>(1), Err(ArgError::Invalid { n: 1, .. })));
    /// assert_eq!(ev.arg_as::<i64>(2), Err(ArgError::Missing(2)));
    /// # Ok::<(), ArgError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`ArgError::Missing`] if there is no such argument,
    /// [`ArgError::Invalid`] if it does not fit `T`.
    pub fn arg_as<T: DeserializeOwned>(&self, n: usize) -> Result<T, ArgError> {
        let value = self.args.get(n).ok_or(ArgError::Missing(n))?;
        from_value(value.clone()).map_err(|source| ArgError::Invalid { n, source })
    }

    /// All the arguments read as one serde type: no argument reads as
    /// `undef` (so `()` and `Option<T>` fit), a single argument as itself
    /// (what an IKC post or call carries: one ARG0), and several as an
    /// array of them (a tuple or a `Vec`: what a post through a proxy
    /// session with several arguments carries).
    ///
    /// ```
    /// use ikc_core::Event;
    /// use ikc_freezer::Value;
    ///
    /// let one = Event::new("add", vec![Value::from(2)]);
    /// assert_eq!(one.args_as::<i64>()?, 2);
    /// let two = Event::new("add", vec![Value::from(2), Value::from("x")]);
    /// assert_eq!(two.args_as::<(i64, String)>()?, (2, "x".to_owned()));
    /// let none = Event::new("tick", vec![]);
    /// assert_eq!(none.args_as::<Option<i64>>()?, None);
    /// # Ok::<(), ikc_core::ArgError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`ArgError::Invalid`] (for ARG0) or [`ArgError::InvalidArgs`] when
    /// the arguments do not fit `T`.
    pub fn args_as<T: DeserializeOwned>(&self) -> Result<T, ArgError> {
        match self.args.as_slice() {
            [] => from_value(Value::Undef).map_err(ArgError::InvalidArgs),
            [one] => from_value(one.clone()).map_err(|source| ArgError::Invalid { n: 0, source }),
            many => from_value(Value::Array(many.to_vec())).map_err(ArgError::InvalidArgs),
        }
    }
}

impl<H: 'static> InlineStates<H> {
    /// Add a typed state: its argument is read from the event with
    /// [`Event::args_as`] (ARG0 for an IKC post or call), and its `Ok`
    /// value, converted with [`ikc_freezer::to_value`], is what a `call`
    /// returns (and so what a remote caller's RSVP receives).
    ///
    /// A bad argument, an `Err` from the closure, or a value that cannot be
    /// converted never panics and never stops the session: the handler
    /// fails ([`Ctx::fail`]) with a message saying what went wrong, a local
    /// `call` returns [`CallError::Failed`](crate::CallError::Failed), and a
    /// request from another kernel is reported as IKC reports any failed
    /// request: to the local error monitors (`local-invocation`) and back
    /// to the requesting kernel as `IKC/remote_error` (`remote-invocation`).
    ///
    /// ```
    /// use ikc_core::{CallError, InlineStates, Kernel};
    /// use ikc_freezer::{Value, to_value};
    /// use serde::{Deserialize, Serialize};
    ///
    /// #[derive(Serialize, Deserialize)]
    /// struct Add { a: i64, b: i64 }
    /// #[derive(Serialize)]
    /// struct Sum { sum: i64 }
    ///
    /// let mut kernel = Kernel::new()?;
    /// kernel.spawn(
    ///     InlineStates::new()
    ///         .state("_start", |_, ctx, _| { ctx.alias_set("calc").ok(); })
    ///         .typed_state("add", |_ctx, req: Add| {
    ///             req.a.checked_add(req.b).map(|sum| Sum { sum }).ok_or("overflow")
    ///         }),
    /// );
    /// let answer = kernel.call("calc", "add", vec![to_value(&Add { a: 2, b: 3 })?])?;
    /// assert_eq!(answer["sum"], Value::Int(5));
    ///
    /// // A bad argument is an error for the caller, and the session lives on.
    /// let err = kernel.call("calc", "add", vec![Value::from("nonsense")]).unwrap_err();
    /// assert!(matches!(err, CallError::Failed { .. }));
    /// let err = kernel.call("calc", "add", vec![to_value(&Add { a: i64::MAX, b: 1 })?]).unwrap_err();
    /// assert_eq!(err.to_string(), "add: overflow");
    /// assert!(kernel.alias_resolve("calc").is_some());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn typed_state<T, R, E, F>(self, name: impl Into<StateName>, mut f: F) -> Self
    where
        T: DeserializeOwned,
        R: Serialize,
        E: Display,
        F: FnMut(&mut Ctx<'_>, T) -> Result<R, E> + 'static,
    {
        self.typed_heap_state(name, move |_, ctx, req| f(ctx, req))
    }

    /// [`typed_state`](Self::typed_state) whose closure also gets the
    /// session's heap.
    pub fn typed_heap_state<T, R, E, F>(self, name: impl Into<StateName>, mut f: F) -> Self
    where
        T: DeserializeOwned,
        R: Serialize,
        E: Display,
        F: FnMut(&mut H, &mut Ctx<'_>, T) -> Result<R, E> + 'static,
    {
        self.state(name, move |heap, ctx, ev| {
            let outcome = ev
                .args_as::<T>()
                .map_err(|e| e.to_string())
                .and_then(|req| f(heap, ctx, req).map_err(|e| e.to_string()))
                .and_then(|ret| to_value(&ret).map_err(|e| format!("bad return value: {e}")));
            outcome.unwrap_or_else(|message| {
                ctx.fail(format!("{}: {message}", ev.state));
                Value::Undef
            })
        })
    }
}

#[cfg(test)]
mod tests;
