//! [`Key`] and [`Hash`]: Perl hash keys and hashes.

use std::fmt;

use indexmap::IndexMap;
use indexmap::map::Entry;

use crate::value::Value;

/// A Perl hash key: a character string, or a byte string that is not ASCII.
///
/// Perl compares keys by their characters, so an ASCII key is the same key
/// whether or not it carried the UTF-8 flag; [`Key`] normalises such keys to
/// text. Non-ASCII bytes without the flag stay bytes.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Key(KeyRepr);

#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum KeyRepr {
    Str(String),
    Bytes(Vec<u8>),
}

impl Key {
    /// A key from a byte string without the UTF-8 flag.
    pub fn from_bytes(bytes: Vec<u8>) -> Self {
        if bytes.is_ascii() {
            // ASCII is valid UTF-8.
            match String::from_utf8(bytes) {
                Ok(s) => Self(KeyRepr::Str(s)),
                Err(e) => Self(KeyRepr::Bytes(e.into_bytes())),
            }
        } else {
            Self(KeyRepr::Bytes(bytes))
        }
    }

    /// The key as text, if it is text (every ASCII key is).
    pub fn as_str(&self) -> Option<&str> {
        match &self.0 {
            KeyRepr::Str(s) => Some(s),
            KeyRepr::Bytes(_) => None,
        }
    }

    /// The key's bytes (UTF-8 for a text key).
    pub fn as_bytes(&self) -> &[u8] {
        match &self.0 {
            KeyRepr::Str(s) => s.as_bytes(),
            KeyRepr::Bytes(b) => b,
        }
    }

    /// Is this a character key with non-ASCII characters (one Perl flags UTF-8)?
    pub fn is_wide_utf8(&self) -> bool {
        matches!(&self.0, KeyRepr::Str(s) if !s.is_ascii())
    }

    /// Is this a non-ASCII byte key (no UTF-8 flag in Perl)?
    pub fn is_bytes(&self) -> bool {
        matches!(self.0, KeyRepr::Bytes(_))
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            KeyRepr::Str(s) => fmt::Debug::fmt(s, f),
            KeyRepr::Bytes(b) => write!(f, "b\"{}\"", b.escape_ascii()),
        }
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            KeyRepr::Str(s) => f.write_str(s),
            KeyRepr::Bytes(b) => write!(f, "{}", b.escape_ascii()),
        }
    }
}

impl From<&str> for Key {
    fn from(s: &str) -> Self {
        Self(KeyRepr::Str(s.to_owned()))
    }
}

impl From<String> for Key {
    fn from(s: String) -> Self {
        Self(KeyRepr::Str(s))
    }
}

impl From<&String> for Key {
    fn from(s: &String) -> Self {
        Self(KeyRepr::Str(s.clone()))
    }
}

/// A Perl hash: keys to values, iterated in insertion order, compared
/// without regard to order (as Perl hashes are unordered).
#[derive(Clone, Default)]
pub struct Hash {
    map: IndexMap<Key, Value>,
}

impl Hash {
    /// An empty hash.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty hash with room for `n` entries.
    pub fn with_capacity(n: usize) -> Self {
        Self {
            map: IndexMap::with_capacity(n),
        }
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Is the hash empty?
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Set `key` to `value`, returning the old value. A new key goes last.
    pub fn insert(&mut self, key: impl Into<Key>, value: impl Into<Value>) -> Option<Value> {
        self.map.insert(key.into(), value.into())
    }

    /// The value for a text key.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.map.get(&Key::from(key))
    }

    /// The value for any key.
    pub fn get_key(&self, key: &Key) -> Option<&Value> {
        self.map.get(key)
    }

    /// A mutable reference to the value for any key.
    pub fn get_key_mut(&mut self, key: &Key) -> Option<&mut Value> {
        self.map.get_mut(key)
    }

    /// A mutable reference to the value for a text key.
    pub fn get_mut(&mut self, key: &str) -> Option<&mut Value> {
        self.map.get_mut(&Key::from(key))
    }

    /// Does the hash have this text key?
    pub fn contains_key(&self, key: &str) -> bool {
        self.map.contains_key(&Key::from(key))
    }

    /// Remove a text key, keeping the order of the others.
    pub fn remove(&mut self, key: &str) -> Option<Value> {
        self.map.shift_remove(&Key::from(key))
    }

    /// The entry for `key`, to insert or update in place.
    pub fn entry(&mut self, key: impl Into<Key>) -> Entry<'_, Key, Value> {
        self.map.entry(key.into())
    }

    /// Iterate over the entries in insertion order.
    pub fn iter(&self) -> indexmap::map::Iter<'_, Key, Value> {
        self.map.iter()
    }

    /// Iterate mutably over the entries in insertion order.
    pub fn iter_mut(&mut self) -> indexmap::map::IterMut<'_, Key, Value> {
        self.map.iter_mut()
    }

    /// The keys in insertion order.
    pub fn keys(&self) -> indexmap::map::Keys<'_, Key, Value> {
        self.map.keys()
    }

    /// The values in insertion order.
    pub fn values(&self) -> indexmap::map::Values<'_, Key, Value> {
        self.map.values()
    }
}

impl PartialEq for Hash {
    fn eq(&self, other: &Self) -> bool {
        self.map == other.map
    }
}

impl fmt::Debug for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.map.iter()).finish()
    }
}

impl<K: Into<Key>, V: Into<Value>> FromIterator<(K, V)> for Hash {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        Self {
            map: iter
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        }
    }
}

impl<K: Into<Key>, V: Into<Value>> Extend<(K, V)> for Hash {
    fn extend<I: IntoIterator<Item = (K, V)>>(&mut self, iter: I) {
        self.map
            .extend(iter.into_iter().map(|(k, v)| (k.into(), v.into())));
    }
}

impl IntoIterator for Hash {
    type Item = (Key, Value);
    type IntoIter = indexmap::map::IntoIter<Key, Value>;

    fn into_iter(self) -> Self::IntoIter {
        self.map.into_iter()
    }
}

impl<'a> IntoIterator for &'a Hash {
    type Item = (&'a Key, &'a Value);
    type IntoIter = indexmap::map::Iter<'a, Key, Value>;

    fn into_iter(self) -> Self::IntoIter {
        self.map.iter()
    }
}
