//! Sessions: the [`Session`] trait (the struct is the heap) and
//! [`InlineStates`] (a closure per state, with POE's `_default`).

use std::any::Any;
use std::fmt;

use ikc_freezer::Value;

use crate::ctx::Ctx;
use crate::event::{Event, Readiness, StateName};
use crate::kernel::hash::FastMap;

/// A session: POE's session with its heap.
///
/// The kernel calls [`handle`](Session::handle) for every event the session
/// receives, including the lifecycle events:
///
/// | state | when | args |
/// |---|---|---|
/// | `_start` | once, inside `spawn`, before anything else | none; SENDER is the parent |
/// | `_stop` | once, when nothing holds the session any more, or the kernel stops | none |
/// | `_child` | a child was created, stopped, or handed over | `["create", child id, _start's value]`, `["lose", child id, _stop's value]`, `["gain", child id]` |
/// | `_parent` | the session got a new parent | `[old parent, new parent]`: a session id, or the kernel's id string |
///
/// The returned value is what `call` returns to its caller (and what
/// `_child` reports for `_start` and `_stop`); for posted events it is
/// dropped. A state the session does not know should return
/// `Value::Undef`.
///
/// ```
/// use ikc_core::{Ctx, Event, Kernel, Session};
/// use ikc_freezer::Value;
///
/// struct Counter { n: i64 }
///
/// impl Session for Counter {
///     fn handle(&mut self, ctx: &mut Ctx<'_>, ev: Event) -> Value {
///         match ev.state() {
///             "_start" => { ctx.alias_set("counter").ok(); Value::Undef }
///             "add" => { self.n += 1; Value::from(self.n) }
///             "done" => { ctx.alias_remove("counter").ok(); Value::Undef }
///             _ => Value::Undef,
///         }
///     }
/// }
///
/// let mut kernel = Kernel::new()?;
/// kernel.spawn(Counter { n: 0 });
/// assert_eq!(kernel.call("counter", "add", vec![])?, Value::Int(1));
/// assert_eq!(kernel.call("counter", "add", vec![])?, Value::Int(2));
/// kernel.post("counter", "done", vec![])?;
/// kernel.run()?; // "done" removes the alias; nothing holds the session; run returns
/// assert_eq!(kernel.session_count(), 0);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub trait Session: 'static {
    /// Handle one event.
    fn handle(&mut self, ctx: &mut Ctx<'_>, event: Event) -> Value;

    /// Handle the I/O readiness of one of this session's watchers (see
    /// [`Ctx::watch`](crate::Ctx::watch)), delivered to `state`.
    ///
    /// The default hands [`handle`](Self::handle) the event every session
    /// gets, `state` with [`Readiness::to_args`] as its arguments; a
    /// session that reads readiness often (a channel reading a socket)
    /// can take it here instead, without building the event.
    fn handle_readiness(
        &mut self,
        ctx: &mut Ctx<'_>,
        state: StateName,
        readiness: Readiness,
    ) -> Value {
        self.handle(ctx, readiness.into_event(state))
    }
}

/// The boxed handler of one inline state.
pub type StateFn<H> = Box<dyn FnMut(&mut H, &mut Ctx<'_>, Event) -> Value>;

/// A change to an inline-state session's table, made from a handler.
pub(crate) enum StateChange {
    /// Add (or replace) a state; the box holds a `StateFn<H>`.
    Add(StateName, Box<dyn Any>),
    Remove(StateName),
}

impl fmt::Debug for StateChange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Add(name, _) => write!(f, "Add({name:?})"),
            Self::Remove(name) => write!(f, "Remove({name:?})"),
        }
    }
}

/// A session built from closures, one per state (POE's inline states),
/// with a heap of type `H` that every closure gets first.
///
/// An event for a state that has no closure goes to the `_default`
/// closure, if there is one, as POE does: its ARG0 is the original state
/// name and ARG1 an array of the original arguments (SENDER and the caller
/// location are kept). Without `_default` the event is dropped (with a
/// `log::warn!`, except for lifecycle states starting with `_`) and a
/// `call` returns `Value::Undef`.
///
/// States can be added and removed at run time with
/// [`Ctx::state_add`]/[`Ctx::state_remove`] (POE's `$kernel->state`).
///
/// ```
/// use ikc_core::{InlineStates, Kernel};
/// use ikc_freezer::Value;
///
/// let mut kernel = Kernel::new()?;
/// let id = kernel.spawn(
///     InlineStates::with_heap(0_i64)
///         .state("_start", |_, ctx, _| { ctx.alias_set("adder").ok(); })
///         .state("add", |sum, _, ev| {
///             *sum += ev.args.iter().filter_map(|v| match v { Value::Int(n) => Some(*n), _ => None }).sum::<i64>();
///             *sum
///         })
///         // ARG0 is the unknown state's name, ARG1 its arguments
///         .state("_default", |_, _, ev| ev.arg(0).cloned().unwrap_or_default()),
/// );
/// assert_eq!(kernel.call(id, "add", vec![Value::from(2), Value::from(3)])?, Value::Int(5));
/// assert_eq!(kernel.call("adder", "add", vec![Value::from(1)])?, Value::Int(6));
/// assert_eq!(kernel.call(id, "mul", vec![])?, Value::from("mul"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct InlineStates<H = ()> {
    heap: H,
    states: StateTable<H>,
}

/// An inline-state session's closures by state name, remembering the
/// state it ran last: a session that gets the same event again and again
/// (a sink, an echo) finds its closure with one comparison of the name.
struct StateTable<H> {
    entries: Vec<(StateName, StateFn<H>)>,
    /// The position of each name in `entries`.
    index: FastMap<StateName, usize>,
    /// The position of the state found last.
    last: Option<usize>,
}

impl<H> Default for StateTable<H> {
    fn default() -> Self {
        Self {
            entries: Vec::new(),
            index: FastMap::default(),
            last: None,
        }
    }
}

impl<H> StateTable<H> {
    /// Add the closure for `name`, replacing one of the same name.
    fn insert(&mut self, name: StateName, f: StateFn<H>) {
        match self.index.get(name.as_str()) {
            Some(&i) => self.entries[i].1 = f,
            None => {
                self.index.insert(name.clone(), self.entries.len());
                self.entries.push((name, f));
            }
        }
    }

    /// Remove the closure for `name`, if there is one.
    fn remove(&mut self, name: &str) {
        let Some(i) = self.index.remove(name) else {
            return;
        };
        drop(self.entries.swap_remove(i));
        if let Some((moved, _)) = self.entries.get(i)
            && let Some(at) = self.index.get_mut(moved.as_str())
        {
            *at = i;
        }
        self.last = None;
    }

    fn contains(&self, name: &str) -> bool {
        self.index.contains_key(name)
    }

    /// The closure for `name`.
    fn get_mut(&mut self, name: &str) -> Option<&mut StateFn<H>> {
        let i = match self.last {
            Some(i) if self.entries[i].0.as_str() == name => i,
            _ => {
                let i = *self.index.get(name)?;
                self.last = Some(i);
                i
            }
        };
        Some(&mut self.entries[i].1)
    }

    fn names(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|(name, _)| name.as_str())
    }
}

impl InlineStates<()> {
    /// A session without a heap (closures can capture their own state).
    pub fn new() -> Self {
        Self::with_heap(())
    }
}

impl Default for InlineStates<()> {
    fn default() -> Self {
        Self::new()
    }
}

impl<H: 'static> InlineStates<H> {
    /// A session whose closures share `heap`.
    pub fn with_heap(heap: H) -> Self {
        Self {
            heap,
            states: StateTable::default(),
        }
    }

    /// Add the closure for a state (replacing one of the same name). The
    /// closure's return value is what `call` returns; `()` is `undef`.
    pub fn state<R, F>(mut self, name: impl Into<StateName>, f: F) -> Self
    where
        R: Into<Value>,
        F: FnMut(&mut H, &mut Ctx<'_>, Event) -> R + 'static,
    {
        self.states.insert(name.into(), boxed(f));
        self
    }

    /// The heap.
    pub fn heap(&self) -> &H {
        &self.heap
    }

    /// The heap, mutably.
    pub fn heap_mut(&mut self) -> &mut H {
        &mut self.heap
    }

    /// Does the session have a closure for `name`?
    pub fn has_state(&self, name: &str) -> bool {
        self.states.contains(name)
    }

    fn apply_changes(&mut self, ctx: &mut Ctx<'_>) {
        for change in ctx.take_state_changes() {
            match change {
                StateChange::Add(name, f) => match f.downcast::<StateFn<H>>() {
                    Ok(f) => self.states.insert(name, *f),
                    Err(_) => log::warn!(
                        "session {}: state_add({name:?}) with a heap type other than {}: ignored",
                        ctx.session_id(),
                        std::any::type_name::<H>()
                    ),
                },
                StateChange::Remove(name) => {
                    self.states.remove(name.as_str());
                }
            }
        }
    }
}

/// Box a state closure, turning its return value into a `Value`.
pub(crate) fn boxed<H, R, F>(mut f: F) -> StateFn<H>
where
    R: Into<Value>,
    F: FnMut(&mut H, &mut Ctx<'_>, Event) -> R + 'static,
{
    Box::new(move |heap, ctx, event| f(heap, ctx, event).into())
}

impl<H: 'static> Session for InlineStates<H> {
    fn handle(&mut self, ctx: &mut Ctx<'_>, event: Event) -> Value {
        let value = if let Some(f) = self.states.get_mut(event.state.as_str()) {
            f(&mut self.heap, ctx, event)
        } else if let Some(f) = self.states.get_mut("_default") {
            let args = vec![Value::from(event.state.as_str()), Value::Array(event.args)];
            let event = Event {
                state: StateName::from_static("_default"),
                args,
                ..event
            };
            f(&mut self.heap, ctx, event)
        } else {
            if !event.state.starts_with('_') {
                log::warn!(
                    "session {} has no state {:?} and no _default: event from {}:{} dropped",
                    ctx.session_id(),
                    event.state,
                    event.caller_file,
                    event.caller_line
                );
            }
            Value::Undef
        };
        if ctx.has_state_changes() {
            self.apply_changes(ctx);
        }
        value
    }
}

impl<H> fmt::Debug for InlineStates<H> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut names: Vec<&str> = self.states.names().collect();
        names.sort_unstable();
        f.debug_struct("InlineStates")
            .field("states", &names)
            .finish_non_exhaustive()
    }
}

/// Where sessions can be started: the [`Kernel`](crate::Kernel) itself
/// (before or between runs) or a handler's [`Ctx`]. Components such as
/// IKC servers and clients take `&mut impl Spawner`, so they can be
/// started from `main` or from a session's `_start` alike.
pub trait Spawner {
    /// Start `session` (its `_start` runs before this returns) and return its id.
    fn spawn_session<S: Session>(&mut self, session: S) -> crate::SessionId;

    /// The ID of the kernel the session will run in.
    fn spawner_kernel_id(&self) -> &str;

    /// That kernel's service of type `T` (see [`crate::Kernel::set_service`]).
    fn spawner_service<T: 'static>(&self) -> Option<std::rc::Rc<T>>;
}

impl Spawner for crate::Kernel {
    fn spawn_session<S: Session>(&mut self, session: S) -> crate::SessionId {
        self.spawn(session)
    }

    fn spawner_kernel_id(&self) -> &str {
        self.id()
    }

    fn spawner_service<T: 'static>(&self) -> Option<std::rc::Rc<T>> {
        self.service::<T>()
    }
}

impl Spawner for Ctx<'_> {
    fn spawn_session<S: Session>(&mut self, session: S) -> crate::SessionId {
        self.spawn(session)
    }

    fn spawner_kernel_id(&self) -> &str {
        self.kernel_id()
    }

    fn spawner_service<T: 'static>(&self) -> Option<std::rc::Rc<T>> {
        self.service::<T>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Call each state of session `id` in turn: what each returned, as an
    /// integer (`None` for undef: no such state).
    fn call_all(
        kernel: &mut crate::Kernel,
        id: crate::SessionId,
        names: &[&str],
    ) -> Vec<Option<i64>> {
        names
            .iter()
            .map(|name| kernel.call(id, name.to_string(), vec![]).unwrap().as_i64())
            .collect()
    }

    #[test]
    fn inline_states_find_each_state_after_adds_replaces_and_removes() {
        let mut kernel = crate::Kernel::new().unwrap();
        let mut session = InlineStates::new()
            .state("_start", |_, ctx, _| {
                ctx.alias_set("table").unwrap();
            })
            .state("remove", |_, ctx, ev| {
                ctx.state_remove(ev.args[0].to_string());
            })
            .state("add_once", |_, ctx, _| {
                ctx.state_add("once", |_: &mut (), ctx, _| {
                    ctx.state_remove("once");
                    7
                });
            })
            .state("add", |_, ctx, ev| {
                let n = ev.args[1].as_i64().unwrap();
                ctx.state_add(ev.args[0].to_string(), move |_: &mut (), _, _| n);
            });
        for (n, name) in ["a", "b", "c", "d"].into_iter().enumerate() {
            session = session.state(name, move |_, _, _| n as i64);
        }
        let id = kernel.spawn(session);
        let change = |kernel: &mut crate::Kernel, what: &'static str, args: Vec<Value>| {
            kernel.call(id, what, args).unwrap();
        };
        // Found again and again (the last one is remembered), then others.
        assert_eq!(
            call_all(&mut kernel, id, &["c", "c", "a", "d", "x"]),
            [Some(2), Some(2), Some(0), Some(3), None]
        );
        // Removing "b" moves the last state into its place.
        change(&mut kernel, "remove", vec![Value::from("b")]);
        change(&mut kernel, "remove", vec![Value::from("missing")]);
        assert_eq!(
            call_all(&mut kernel, id, &["d", "b", "a", "c", "d"]),
            [Some(3), None, Some(0), Some(2), Some(3)]
        );
        // Replacing keeps the place; removing the one found last forgets it.
        change(&mut kernel, "add", vec![Value::from("a"), Value::from(10)]);
        assert_eq!(call_all(&mut kernel, id, &["a", "a"]), [Some(10), Some(10)]);
        change(&mut kernel, "remove", vec![Value::from("a")]);
        change(&mut kernel, "add", vec![Value::from("e"), Value::from(4)]);
        assert_eq!(
            call_all(&mut kernel, id, &["a", "e", "c", "d"]),
            [None, Some(4), Some(2), Some(3)]
        );
        // A state that removes itself is the one found last, and here
        // the last in the table.
        change(&mut kernel, "add_once", vec![]);
        assert_eq!(
            call_all(&mut kernel, id, &["once", "once", "c", "e"]),
            [Some(7), None, Some(2), Some(4)]
        );
    }
}
