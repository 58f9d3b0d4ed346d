//! Iterators over a [`Hash`](super::Hash), in insertion order.

use std::iter::FusedIterator;

use super::Key;
use crate::value::Value;

/// Generates an iterator over the entry vector: the struct, `Iterator`
/// (with the exact size), `DoubleEndedIterator`, `ExactSizeIterator` and
/// `FusedIterator`.
macro_rules! entry_iter {
    ($(#[$doc:meta])* $name:ident $(<$a:lifetime>)?, $inner:ty, $item:ty, |$entry:ident| $map:expr) => {
        $(#[$doc])*
        #[derive(Debug)]
        pub struct $name$(<$a>)?(pub(super) $inner);

        impl$(<$a>)? Iterator for $name$(<$a>)? {
            type Item = $item;

            fn next(&mut self) -> Option<Self::Item> {
                self.0.next().map(|$entry| $map)
            }

            fn size_hint(&self) -> (usize, Option<usize>) {
                self.0.size_hint()
            }
        }

        impl$(<$a>)? DoubleEndedIterator for $name$(<$a>)? {
            fn next_back(&mut self) -> Option<Self::Item> {
                self.0.next_back().map(|$entry| $map)
            }
        }

        impl$(<$a>)? ExactSizeIterator for $name$(<$a>)? {}

        impl$(<$a>)? FusedIterator for $name$(<$a>)? {}
    };
}

entry_iter!(
    /// The entries of a hash, borrowed: [`Hash::iter`](super::Hash::iter).
    Iter<'a>, std::slice::Iter<'a, (Key, Value)>, (&'a Key, &'a Value), |entry| (&entry.0, &entry.1)
);
entry_iter!(
    /// The entries of a hash, values mutable: [`Hash::iter_mut`](super::Hash::iter_mut).
    IterMut<'a>, std::slice::IterMut<'a, (Key, Value)>, (&'a Key, &'a mut Value), |entry| (&entry.0, &mut entry.1)
);
entry_iter!(
    /// The keys of a hash: [`Hash::keys`](super::Hash::keys).
    Keys<'a>, std::slice::Iter<'a, (Key, Value)>, &'a Key, |entry| &entry.0
);
entry_iter!(
    /// The values of a hash: [`Hash::values`](super::Hash::values).
    Values<'a>, std::slice::Iter<'a, (Key, Value)>, &'a Value, |entry| &entry.1
);
entry_iter!(
    /// The entries of a hash, taken: `Hash::into_iter`.
    IntoIter, std::vec::IntoIter<(Key, Value)>, (Key, Value), |entry| entry
);
