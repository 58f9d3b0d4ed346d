//! [`Key`] and [`Hash`]: Perl hash keys and hashes.

use std::fmt;

use foldhash::SharedSeed;
use foldhash::fast::FoldHasher;
use indexmap::IndexMap;
use indexmap::map::Entry;

use crate::value::Value;

/// A Perl hash key: a character string, or a byte string that is not ASCII.
///
/// Perl compares keys by their characters, so an ASCII key is the same key
/// whether or not it carried the UTF-8 flag; [`Key`] normalises such keys to
/// text. Non-ASCII bytes without the flag stay bytes. (Perl also treats a
/// byte key and a character key with the same Latin-1 characters as one key;
/// [`Key`] does not merge those.)
///
/// Keys of up to 22 bytes, which are nearly all keys, are stored inline
/// without a heap allocation.
#[derive(Clone)]
pub struct Key(KeyRepr);

/// Longest key stored inline.
const INLINE: usize = 22;

#[derive(Clone)]
enum KeyRepr {
    /// A short key: its bytes, their length, and whether they are text.
    Inline {
        len: u8,
        text: bool,
        buf: [u8; INLINE],
    },
    Text(Box<str>),
    Bytes(Box<[u8]>),
}

impl Key {
    /// A short key, or `None` if `bytes` is too long to keep inline.
    fn inline(bytes: &[u8], text: bool) -> Option<Self> {
        let mut buf = [0; INLINE];
        buf.get_mut(..bytes.len())?.copy_from_slice(bytes);
        Some(Self(KeyRepr::Inline {
            len: bytes.len() as u8,
            text,
            buf,
        }))
    }

    /// A key from a byte string without the UTF-8 flag.
    pub fn from_bytes(bytes: Vec<u8>) -> Self {
        let text = bytes.is_ascii();
        if let Some(key) = Self::inline(&bytes, text) {
            return key;
        }
        if text {
            // ASCII is valid UTF-8.
            match String::from_utf8(bytes) {
                Ok(s) => Self(KeyRepr::Text(s.into_boxed_str())),
                Err(e) => Self(KeyRepr::Bytes(e.into_bytes().into_boxed_slice())),
            }
        } else {
            Self(KeyRepr::Bytes(bytes.into_boxed_slice()))
        }
    }

    /// A key from borrowed bytes without the UTF-8 flag (no allocation for
    /// short keys).
    pub(crate) fn from_byte_slice(bytes: &[u8]) -> Self {
        let text = bytes.is_ascii();
        Self::inline(bytes, text).unwrap_or_else(|| Self::from_bytes(bytes.to_vec()))
    }

    fn is_text(&self) -> bool {
        match &self.0 {
            KeyRepr::Inline { text, .. } => *text,
            KeyRepr::Text(_) => true,
            KeyRepr::Bytes(_) => false,
        }
    }

    /// The key as text, if it is text (every ASCII key is).
    pub fn as_str(&self) -> Option<&str> {
        match &self.0 {
            KeyRepr::Inline { len, text, buf } if *text => {
                std::str::from_utf8(&buf[..usize::from(*len)]).ok()
            }
            KeyRepr::Text(s) => Some(s),
            _ => None,
        }
    }

    /// The key's bytes (UTF-8 for a text key).
    pub fn as_bytes(&self) -> &[u8] {
        match &self.0 {
            KeyRepr::Inline { len, buf, .. } => &buf[..usize::from(*len)],
            KeyRepr::Text(s) => s.as_bytes(),
            KeyRepr::Bytes(b) => b,
        }
    }

    /// Is this a character key with non-ASCII characters (one Perl flags UTF-8)?
    pub fn is_wide_utf8(&self) -> bool {
        self.is_text() && !self.as_bytes().is_ascii()
    }

    /// Is this a non-ASCII byte key (no UTF-8 flag in Perl)?
    pub fn is_bytes(&self) -> bool {
        !self.is_text()
    }
}

impl PartialEq for Key {
    fn eq(&self, other: &Self) -> bool {
        self.is_text() == other.is_text() && self.as_bytes() == other.as_bytes()
    }
}

impl Eq for Key {}

impl std::hash::Hash for Key {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.as_bytes().hash(state);
        self.is_text().hash(state);
    }
}

impl PartialOrd for Key {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Key {
    /// By bytes, then text before bytes.
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.as_bytes()
            .cmp(other.as_bytes())
            .then_with(|| other.is_text().cmp(&self.is_text()))
    }
}

/// A text key to look up without building a [`Key`]: it hashes and
/// compares as the [`Key`] of the same text does.
struct TextProbe<'a>(&'a str);

impl std::hash::Hash for TextProbe<'_> {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.0.as_bytes().hash(state);
        true.hash(state);
    }
}

impl indexmap::Equivalent<Key> for TextProbe<'_> {
    fn equivalent(&self, key: &Key) -> bool {
        key.is_text() && key.as_bytes() == self.0.as_bytes()
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.as_str() {
            Some(s) => fmt::Debug::fmt(s, f),
            None => write!(f, "b\"{}\"", self.as_bytes().escape_ascii()),
        }
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.as_str() {
            Some(s) => f.write_str(s),
            None => write!(f, "{}", self.as_bytes().escape_ascii()),
        }
    }
}

impl From<&str> for Key {
    fn from(s: &str) -> Self {
        Self::inline(s.as_bytes(), true).unwrap_or_else(|| Self(KeyRepr::Text(s.into())))
    }
}

impl From<String> for Key {
    fn from(s: String) -> Self {
        Self::inline(s.as_bytes(), true).unwrap_or_else(|| Self(KeyRepr::Text(s.into_boxed_str())))
    }
}

impl From<&String> for Key {
    fn from(s: &String) -> Self {
        Self::from(s.as_str())
    }
}

/// A Perl hash: keys to values, iterated in insertion order, compared
/// without regard to order (as Perl hashes are unordered).
///
/// Keys are hashed with foldhash, seeded at random per process: fast on
/// short keys, and not predictable by a peer that would flood one bucket.
/// The table lives behind one pointer, so a [`Value`] stays small.
#[derive(Clone, Default)]
pub struct Hash {
    map: IndexMap<Key, Value, KeyHasher>,
}

/// foldhash with the process's random seed; a zero-sized `BuildHasher`.
#[derive(Debug, Clone, Copy, Default)]
struct KeyHasher;

impl std::hash::BuildHasher for KeyHasher {
    type Hasher = FoldHasher<'static>;

    fn build_hasher(&self) -> FoldHasher<'static> {
        FoldHasher::with_seed(0x243f_6a88_85a3_08d3, SharedSeed::global_random())
    }
}

impl Hash {
    /// An empty hash.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty hash with room for `n` entries.
    pub fn with_capacity(n: usize) -> Self {
        Self {
            map: IndexMap::with_capacity_and_hasher(n, KeyHasher),
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
        self.map.get(&TextProbe(key))
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
        self.map.get_mut(&TextProbe(key))
    }

    /// Does the hash have this text key?
    pub fn contains_key(&self, key: &str) -> bool {
        self.map.contains_key(&TextProbe(key))
    }

    /// Remove a text key, keeping the order of the others.
    pub fn remove(&mut self, key: &str) -> Option<Value> {
        self.map.shift_remove(&TextProbe(key))
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
