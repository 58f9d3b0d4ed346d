//! Identifiers: a kernel's ID ([`KernelId`]) and a link's ([`LinkId`]).

use std::borrow::Borrow;
use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A kernel's globally unique ID, POE's `$kernel->ID`
/// (`host-6b01b142-00000a62-00000001`), as the IKC handshake announces it.
///
/// Cheap to clone (a shared string); compares, hashes and orders as the
/// string does, and borrows as `&str`, so maps keyed by `KernelId` can be
/// searched with a `&str`.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KernelId(Arc<str>);

impl KernelId {
    /// A kernel ID from its text.
    pub fn new(id: impl AsRef<str>) -> Self {
        Self(Arc::from(id.as_ref()))
    }

    /// The ID as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Deref for KernelId {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl Borrow<str> for KernelId {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for KernelId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for KernelId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl fmt::Display for KernelId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for KernelId {
    fn from(id: &str) -> Self {
        Self::new(id)
    }
}

impl From<String> for KernelId {
    fn from(id: String) -> Self {
        Self(Arc::from(id))
    }
}

impl From<&String> for KernelId {
    fn from(id: &String) -> Self {
        Self::new(id)
    }
}

impl PartialEq<str> for KernelId {
    fn eq(&self, other: &str) -> bool {
        &*self.0 == other
    }
}

impl PartialEq<&str> for KernelId {
    fn eq(&self, other: &&str) -> bool {
        &*self.0 == *other
    }
}

impl Serialize for KernelId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for KernelId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Self::from)
    }
}

/// One connection between this kernel and a neighbour, numbered by the
/// driver (a channel session's ID, a slab index...).
///
/// The router never invents link IDs: every [`LinkId`] it mentions was
/// given to [`Router::link_up`](crate::Router::link_up). A driver must not
/// reuse an ID until it has called
/// [`Router::link_down`](crate::Router::link_down) for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LinkId(pub u64);

impl fmt::Display for LinkId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "link#{}", self.0)
    }
}
