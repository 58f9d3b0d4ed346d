//! The fix-up statements of `Purity = 1`: `$VAR1->{'b'} = $VAR1->{'a'};`.
//!
//! Perl makes the two places share one referent; a [`Value`] is a tree, so
//! the second place gets a copy. Copies count against
//! [`Limits::max_elements`](crate::Limits::max_elements) and
//! [`Limits::max_depth`](crate::Limits::max_depth), so fix-ups that copy
//! copies cannot blow up memory.

use crate::error::ThawError;
use crate::limits::Budget;
use crate::value::{Key, Value};

use super::lexer::malformed;

/// One step of a path into the value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Step {
    /// `->{key}`
    Key(Key),
    /// `->[index]`
    Index(usize),
    /// `${ ... }`: the scalar a scalar reference points to.
    Deref,
}

/// A place in the value, from the root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Path {
    steps: Vec<Step>,
}

impl Path {
    pub(super) fn new(steps: Vec<Step>) -> Self {
        Self { steps }
    }

    pub(super) fn into_steps(self) -> Vec<Step> {
        self.steps
    }

    pub(super) fn len(&self) -> usize {
        self.steps.len()
    }

    /// Is `other` this place or inside it?
    pub(super) fn is_prefix_of(&self, other: &Self) -> bool {
        other.steps.starts_with(&self.steps)
    }
}

/// One step down from `value` (looking through a blessing).
fn step<'v>(value: &'v Value, step: &Step) -> Option<&'v Value> {
    match (value.unblessed(), step) {
        (Value::Hash(h), Step::Key(k)) => h.get_key(k),
        (Value::Array(a), Step::Index(i)) => a.get(*i),
        (Value::Ref(inner), Step::Deref) => Some(inner),
        _ => None,
    }
}

fn step_mut<'v>(value: &'v mut Value, step: &Step) -> Option<&'v mut Value> {
    let value = match value {
        Value::Blessed(b) => &mut b.value,
        other => other,
    };
    match (value, step) {
        (Value::Hash(h), Step::Key(k)) => h.get_key_mut(k),
        (Value::Array(a), Step::Index(i)) => a.get_mut(*i),
        (Value::Ref(inner), Step::Deref) => Some(inner),
        _ => None,
    }
}

/// Count the values in `value` and its depth (bounded by the depth limit,
/// which every tree built here respects).
fn measure(value: &Value) -> (usize, usize) {
    let (mut count, mut depth) = (1, 0);
    let mut visit = |child: &Value| {
        let (n, d) = measure(child);
        count += n;
        depth = depth.max(d + 1);
    };
    match value.unblessed() {
        Value::Array(items) => items.iter().for_each(&mut visit),
        Value::Hash(h) => h.values().for_each(&mut visit),
        Value::Ref(inner) => visit(inner),
        _ => {}
    }
    (count, depth)
}

/// A copy of the value at `source`, to be placed `target_len` steps deep.
pub(super) fn copy(
    root: &Value,
    source: &Path,
    target_len: usize,
    budget: &mut Budget,
    at: usize,
) -> Result<Value, ThawError> {
    let mut value = root;
    for s in &source.steps {
        value = step(value, s)
            .ok_or_else(|| malformed(at, "a fix-up reads a place that does not exist"))?;
    }
    let (count, depth) = measure(value);
    budget.check_depth(target_len + depth)?;
    budget.take_elements(count)?;
    Ok(value.clone())
}

/// Put `value` at `target` (whose container must exist).
pub(super) fn assign(
    root: &mut Value,
    target: &Path,
    value: Value,
    at: usize,
) -> Result<(), ThawError> {
    let Some((last, parents)) = target.steps.split_last() else {
        *root = value;
        return Ok(());
    };
    let missing = || malformed(at, "a fix-up writes into a place that does not exist");
    let mut place = root;
    for s in parents {
        place = step_mut(place, s).ok_or_else(missing)?;
    }
    let place = match place {
        Value::Blessed(b) => &mut b.value,
        other => other,
    };
    match (place, last) {
        (Value::Hash(h), Step::Key(k)) => {
            h.insert(k.clone(), value);
        }
        (Value::Array(a), Step::Index(i)) => *a.get_mut(*i).ok_or_else(missing)? = value,
        (Value::Ref(inner), Step::Deref) => **inner = value,
        _ => return Err(missing()),
    }
    Ok(())
}
