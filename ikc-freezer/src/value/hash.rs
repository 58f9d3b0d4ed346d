//! [`Key`] and [`Hash`]: Perl hash keys and hashes.

use std::fmt;

use foldhash::SharedSeed;
use foldhash::fast::FoldHasher;
use hashbrown::HashTable;

use crate::value::Value;

mod entry;
mod iter;

pub use self::entry::{Entry, OccupiedEntry, VacantEntry};
pub use self::iter::{IntoIter, Iter, IterMut, Keys, Values};

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

    /// A key of at most [`INLINE`] bytes read from the wire, kept inline:
    /// text when ASCII, or (for `utf8`, a key flagged UTF-8) when valid
    /// UTF-8; bytes otherwise. `None` for a longer key, or a flagged one
    /// that is not UTF-8, which [`from_utf8_slice`](Self::from_utf8_slice)
    /// and [`from_byte_slice`](Self::from_byte_slice) read (or refuse) the
    /// long way.
    #[inline]
    pub(crate) fn short(bytes: &[u8], utf8: bool) -> Option<Self> {
        if bytes.len() > INLINE {
            return None;
        }
        let text = bytes.is_ascii() || (utf8 && std::str::from_utf8(bytes).is_ok());
        if utf8 && !text {
            return None;
        }
        Self::inline(bytes, text)
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
        Self::short(bytes, false).unwrap_or_else(|| Self::from_bytes(bytes.to_vec()))
    }

    /// A text key from UTF-8 bytes, or `None` if they are not UTF-8 (no
    /// allocation, and no UTF-8 decoding, for short ASCII keys).
    pub(crate) fn from_utf8_slice(bytes: &[u8]) -> Option<Self> {
        Self::short(bytes, true).or_else(|| std::str::from_utf8(bytes).ok().map(Self::from))
    }

    /// Is this the key with these bytes and kind? Short keys are compared
    /// byte by byte in place: cheaper than a call to `memcmp` for the few
    /// bytes of a typical key.
    #[inline]
    fn is(&self, bytes: &[u8], text: bool) -> bool {
        match &self.0 {
            KeyRepr::Inline {
                len,
                text: is_text,
                buf,
            } => {
                usize::from(*len) == bytes.len()
                    && *is_text == text
                    && buf.iter().zip(bytes).all(|(a, b)| a == b)
            }
            KeyRepr::Text(s) => text && s.as_bytes() == bytes,
            KeyRepr::Bytes(b) => !text && **b == *bytes,
        }
    }

    /// Is this the same key as `other`? Two short keys are compared as
    /// their fixed rooms (zero-filled past their length), without a
    /// length-dependent loop.
    #[inline]
    fn same(&self, other: &Self) -> bool {
        match (&self.0, &other.0) {
            (
                KeyRepr::Inline { len, text, buf },
                KeyRepr::Inline {
                    len: other_len,
                    text: other_text,
                    buf: other_buf,
                },
            ) => len == other_len && text == other_text && buf == other_buf,
            _ => self == other,
        }
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
/// The entries are a vector of pairs in insertion order. A hash of up to
/// eight entries, which is nearly every hash IKC carries, is searched in
/// order, without hashing and with one allocation; a larger one also
/// keeps an index of its keys, hashed with foldhash seeded at random per
/// process (fast on short keys, and not predictable by a peer that would
/// flood one bucket), so lookups stay constant-time however large a
/// peer's hash is.
#[derive(Clone, Default)]
pub struct Hash {
    entries: Vec<(Key, Value)>,
    index: Option<Box<HashTable<usize>>>,
}

/// The most entries a hash keeps without an index.
const UNINDEXED: usize = 8;

/// foldhash with the process's random seed.
fn hasher() -> FoldHasher<'static> {
    FoldHasher::with_seed(0x243f_6a88_85a3_08d3, SharedSeed::global_random())
}

/// The index hash of a key given as its bytes and whether it is text.
fn hash_of(bytes: &[u8], text: bool) -> u64 {
    let mut state = hasher();
    std::hash::Hasher::write(&mut state, bytes);
    std::hash::Hasher::write_u8(&mut state, u8::from(text));
    std::hash::Hasher::finish(&state)
}

impl Hash {
    /// An empty hash.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty hash with room for `n` entries.
    pub fn with_capacity(n: usize) -> Self {
        Self {
            entries: Vec::with_capacity(n),
            index: None,
        }
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Is the hash empty?
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The position of the key with these bytes and kind.
    #[inline]
    fn position(&self, bytes: &[u8], text: bool) -> Option<usize> {
        let matches = |key: &Key| key.is(bytes, text);
        match &self.index {
            None => self.entries.iter().position(|(key, _)| matches(key)),
            Some(index) => index
                .find(hash_of(bytes, text), |&i| matches(&self.entries[i].0))
                .copied(),
        }
    }

    fn position_of(&self, key: &Key) -> Option<usize> {
        self.position(key.as_bytes(), key.is_text())
    }

    /// Index the entry just pushed, building the index once the hash
    /// outgrows [`UNINDEXED`] (nothing to do for a small hash: checked
    /// here, inline, before the work).
    #[inline]
    fn index_last(&mut self) {
        if self.index.is_some() || self.entries.len() > UNINDEXED {
            self.index_entry();
        }
    }

    #[inline(never)]
    fn index_entry(&mut self) {
        let entries = &self.entries;
        let hash_at = |&i: &usize| {
            let key: &Key = &entries[i].0;
            hash_of(key.as_bytes(), key.is_text())
        };
        match &mut self.index {
            Some(index) => {
                let i = entries.len() - 1;
                index.insert_unique(hash_at(&i), i, hash_at);
            }
            None if entries.len() > UNINDEXED => self.reindex(),
            None => {}
        }
    }

    /// Rebuild the index from the entries (none for a small hash).
    fn reindex(&mut self) {
        if self.entries.len() <= UNINDEXED {
            self.index = None;
            return;
        }
        let entries = &self.entries;
        let hash_at = |&i: &usize| {
            let key: &Key = &entries[i].0;
            hash_of(key.as_bytes(), key.is_text())
        };
        let mut index = HashTable::with_capacity(entries.len());
        for i in 0..entries.len() {
            index.insert_unique(hash_at(&i), i, hash_at);
        }
        self.index = Some(Box::new(index));
    }

    /// Set `key` to `value`, returning the old value. A new key goes last.
    pub fn insert(&mut self, key: impl Into<Key>, value: impl Into<Value>) -> Option<Value> {
        let key = key.into();
        let value = value.into();
        let found = match self.index {
            // A small hash (nearly every one) is searched here, inline.
            None => self.entries.iter().position(|(k, _)| k.same(&key)),
            Some(_) => self.position_of(&key),
        };
        if let Some(i) = found {
            return Some(std::mem::replace(&mut self.entries[i].1, value));
        }
        self.entries.push((key, value));
        self.index_last();
        None
    }

    /// The value for a text key.
    pub fn get(&self, key: &str) -> Option<&Value> {
        let i = self.position(key.as_bytes(), true)?;
        Some(&self.entries[i].1)
    }

    /// The value for any key.
    pub fn get_key(&self, key: &Key) -> Option<&Value> {
        let i = self.position_of(key)?;
        Some(&self.entries[i].1)
    }

    /// A mutable reference to the value for any key.
    pub fn get_key_mut(&mut self, key: &Key) -> Option<&mut Value> {
        let i = self.position_of(key)?;
        Some(&mut self.entries[i].1)
    }

    /// A mutable reference to the value for a text key.
    pub fn get_mut(&mut self, key: &str) -> Option<&mut Value> {
        let i = self.position(key.as_bytes(), true)?;
        Some(&mut self.entries[i].1)
    }

    /// Does the hash have this text key?
    pub fn contains_key(&self, key: &str) -> bool {
        self.position(key.as_bytes(), true).is_some()
    }

    /// Remove a text key, keeping the order of the others.
    pub fn remove(&mut self, key: &str) -> Option<Value> {
        let i = self.position(key.as_bytes(), true)?;
        let (_, value) = self.entries.remove(i);
        if self.index.is_some() {
            self.reindex();
        }
        Some(value)
    }

    /// The entry for `key`, to insert or update in place.
    pub fn entry(&mut self, key: impl Into<Key>) -> Entry<'_> {
        let key = key.into();
        match self.position_of(&key) {
            Some(index) => Entry::Occupied(OccupiedEntry { hash: self, index }),
            None => Entry::Vacant(VacantEntry { hash: self, key }),
        }
    }

    /// Iterate over the entries in insertion order.
    pub fn iter(&self) -> Iter<'_> {
        Iter(self.entries.iter())
    }

    /// Iterate mutably over the entries in insertion order.
    pub fn iter_mut(&mut self) -> IterMut<'_> {
        IterMut(self.entries.iter_mut())
    }

    /// The keys in insertion order.
    pub fn keys(&self) -> Keys<'_> {
        Keys(self.entries.iter())
    }

    /// The values in insertion order.
    pub fn values(&self) -> Values<'_> {
        Values(self.entries.iter())
    }
}

impl PartialEq for Hash {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len()
            && self
                .iter()
                .all(|(key, value)| other.get_key(key) == Some(value))
    }
}

impl fmt::Debug for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl<K: Into<Key>, V: Into<Value>> FromIterator<(K, V)> for Hash {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        let mut hash = Self::new();
        hash.extend(iter);
        hash
    }
}

impl<K: Into<Key>, V: Into<Value>> Extend<(K, V)> for Hash {
    fn extend<I: IntoIterator<Item = (K, V)>>(&mut self, iter: I) {
        for (key, value) in iter {
            self.insert(key, value);
        }
    }
}

impl IntoIterator for Hash {
    type Item = (Key, Value);
    type IntoIter = IntoIter;

    fn into_iter(self) -> IntoIter {
        IntoIter(self.entries.into_iter())
    }
}

impl<'a> IntoIterator for &'a Hash {
    type Item = (&'a Key, &'a Value);
    type IntoIter = Iter<'a>;

    fn into_iter(self) -> Iter<'a> {
        self.iter()
    }
}

impl<'a> IntoIterator for &'a mut Hash {
    type Item = (&'a Key, &'a mut Value);
    type IntoIter = IterMut<'a>;

    fn into_iter(self) -> IterMut<'a> {
        self.iter_mut()
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// One change to a hash.
    #[derive(Debug, Clone)]
    enum Op {
        Insert(u8, i64),
        Remove(u8),
        Entry(u8, i64),
    }

    fn key(k: u8) -> String {
        // Short keys stay inline; every eighth one is long (boxed).
        if k % 8 == 0 {
            format!("a-long-key-that-is-not-kept-inline-{k}")
        } else {
            format!("k{k}")
        }
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => (0..40u8, any::<i64>()).prop_map(|(k, v)| Op::Insert(k, v)),
            1 => (0..40u8).prop_map(Op::Remove),
            1 => (0..40u8, any::<i64>()).prop_map(|(k, v)| Op::Entry(k, v)),
        ]
    }

    proptest! {
        /// Small (unindexed) and large (indexed) hashes behave as a list
        /// of pairs in insertion order, through growth and removals.
        #[test]
        fn behaves_as_an_ordered_list_of_pairs(ops in proptest::collection::vec(op(), 0..120)) {
            let mut hash = Hash::new();
            let mut model: Vec<(String, i64)> = Vec::new();
            for op in ops {
                match op {
                    Op::Insert(k, v) => {
                        let old = model.iter_mut().find(|(mk, _)| *mk == key(k)).map(|e| std::mem::replace(&mut e.1, v));
                        if old.is_none() {
                            model.push((key(k), v));
                        }
                        prop_assert_eq!(hash.insert(key(k), v), old.map(Value::Int));
                    }
                    Op::Remove(k) => {
                        let at = model.iter().position(|(mk, _)| *mk == key(k));
                        let old = at.map(|i| model.remove(i).1);
                        prop_assert_eq!(hash.remove(&key(k)), old.map(Value::Int));
                    }
                    Op::Entry(k, v) => {
                        let slot = hash.entry(key(k)).or_insert(v);
                        if !model.iter().any(|(mk, _)| *mk == key(k)) {
                            model.push((key(k), v));
                        }
                        let expected = model.iter().find(|(mk, _)| *mk == key(k)).map(|e| e.1);
                        prop_assert_eq!(slot.as_i64(), expected);
                    }
                }
                prop_assert_eq!(hash.len(), model.len());
                for k in 0..40 {
                    let expected = model.iter().find(|(mk, _)| *mk == key(k)).map(|e| Value::Int(e.1));
                    prop_assert_eq!(hash.get(&key(k)).cloned(), expected.clone());
                    prop_assert_eq!(hash.get_key(&Key::from(key(k))).cloned(), expected);
                }
            }
            let order: Vec<String> = hash.keys().map(|k| k.to_string()).collect();
            let expected: Vec<String> = model.iter().map(|(k, _)| k.clone()).collect();
            prop_assert_eq!(order, expected);
        }
    }

    #[test]
    fn equality_ignores_order_in_small_and_large_hashes() {
        for n in [3, 30] {
            let forward: Hash = (0..n).map(|i| (format!("k{i}"), i)).collect();
            let backward: Hash = (0..n).rev().map(|i| (format!("k{i}"), i)).collect();
            assert_eq!(forward, backward);
            let mut changed = backward.clone();
            changed.insert("k1", 99);
            assert_ne!(forward, changed);
        }
    }

    #[test]
    fn text_and_byte_keys_stay_apart() {
        let mut hash = Hash::new();
        for i in 0..20u8 {
            hash.insert(Key::from_bytes(vec![0xe9, i]), i64::from(i));
            hash.insert(format!("\u{e9}{i}"), -i64::from(i));
        }
        assert_eq!(hash.len(), 40);
        assert_eq!(
            hash.get_key(&Key::from_bytes(vec![0xe9, 3])),
            Some(&Value::Int(3))
        );
        assert_eq!(hash.get("\u{e9}3"), Some(&Value::Int(-3)));

        // The same bytes as text and as bytes are two keys of a small hash.
        let mut small = Hash::new();
        small.insert(Key::from_bytes("\u{e9}".as_bytes().to_vec()), 1);
        small.insert("\u{e9}", 2);
        small.insert("\u{e9}", 3);
        assert_eq!(small.len(), 2);
        assert_eq!(small.get("\u{e9}"), Some(&Value::Int(3)));
    }
}
