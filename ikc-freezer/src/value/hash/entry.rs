//! [`Entry`]: one key of a [`struct@Hash`], to insert or update in place.

use super::{Hash, Key};
use crate::value::Value;

/// A key of a [`struct@Hash`], present or not: [`Hash::entry`].
#[derive(Debug)]
pub enum Entry<'a> {
    /// The key is in the hash.
    Occupied(OccupiedEntry<'a>),
    /// The key is not in the hash.
    Vacant(VacantEntry<'a>),
}

/// A key that is in the hash.
#[derive(Debug)]
pub struct OccupiedEntry<'a> {
    pub(super) hash: &'a mut Hash,
    pub(super) index: usize,
}

/// A key that is not in the hash yet.
#[derive(Debug)]
pub struct VacantEntry<'a> {
    pub(super) hash: &'a mut Hash,
    pub(super) key: Key,
}

impl<'a> Entry<'a> {
    /// The key.
    pub fn key(&self) -> &Key {
        match self {
            Self::Occupied(entry) => entry.key(),
            Self::Vacant(entry) => &entry.key,
        }
    }

    /// The value, inserting `default` first if the key is absent.
    pub fn or_insert(self, default: impl Into<Value>) -> &'a mut Value {
        match self {
            Self::Occupied(entry) => entry.into_mut(),
            Self::Vacant(entry) => entry.insert(default.into()),
        }
    }

    /// The value, inserting what `default` returns first if the key is absent.
    pub fn or_insert_with<V: Into<Value>>(self, default: impl FnOnce() -> V) -> &'a mut Value {
        match self {
            Self::Occupied(entry) => entry.into_mut(),
            Self::Vacant(entry) => entry.insert(default().into()),
        }
    }

    /// The value, inserting `undef` first if the key is absent.
    pub fn or_default(self) -> &'a mut Value {
        self.or_insert(Value::Undef)
    }

    /// Change the value in place if the key is present.
    #[must_use]
    pub fn and_modify(mut self, f: impl FnOnce(&mut Value)) -> Self {
        if let Self::Occupied(entry) = &mut self {
            f(entry.get_mut());
        }
        self
    }
}

impl<'a> OccupiedEntry<'a> {
    /// The key.
    pub fn key(&self) -> &Key {
        &self.hash.entries[self.index].0
    }

    /// The value.
    pub fn get(&self) -> &Value {
        &self.hash.entries[self.index].1
    }

    /// The value, mutably.
    pub fn get_mut(&mut self) -> &mut Value {
        &mut self.hash.entries[self.index].1
    }

    /// The value, mutably, for as long as the hash is borrowed.
    pub fn into_mut(self) -> &'a mut Value {
        &mut self.hash.entries[self.index].1
    }

    /// Replace the value, returning the old one.
    pub fn insert(&mut self, value: impl Into<Value>) -> Value {
        std::mem::replace(self.get_mut(), value.into())
    }
}

impl<'a> VacantEntry<'a> {
    /// The key.
    pub fn key(&self) -> &Key {
        &self.key
    }

    /// Insert the key with `value` (last in order) and return the value.
    pub fn insert(self, value: impl Into<Value>) -> &'a mut Value {
        let hash = self.hash;
        hash.entries.push((self.key, value.into()));
        hash.index_last();
        let last = hash.entries.len() - 1;
        &mut hash.entries[last].1
    }
}
