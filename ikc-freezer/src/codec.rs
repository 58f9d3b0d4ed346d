//! The [`Freezer`] trait and the [`Registry`] that maps negotiated names to codecs.

#[cfg(feature = "dumper")]
pub(crate) mod dumper;
pub(crate) mod native;
#[cfg(feature = "storable-codec")]
pub(crate) mod storable;

use std::cell::Cell;
use std::fmt;
use std::sync::Arc;
use std::thread::LocalKey;

use crate::error::{FreezeError, ThawError};
use crate::value::Value;

#[cfg(feature = "dumper")]
pub use self::dumper::Dumper;
pub use self::native::{Native, NativeDecoder, NativeEncoder, NativeKey, NativeString};
#[cfg(feature = "storable-codec")]
pub use self::storable::{Storable, StorableDecoder, StorableEncoder, StorableKept, StorableMark};

/// The name under which our native codec (postcard over [`Value`]) is
/// offered. Perl IKC cannot load it and falls back to the next name offered.
pub const NATIVE: &str = "IKC::Native";
/// Perl's `Storable` (`nfreeze`/`thaw`), Perl IKC's default.
pub const STORABLE: &str = "Storable";
/// IKC's pure-Perl freezer: Data::Dumper text, read by us as data only.
pub const DUMPER: &str = "POE::Component::IKC::Freezer";

/// A codec that turns a [`Value`] into bytes and back, under the name IKC
/// negotiates (`FREEZER=...` in the handshake).
pub trait Freezer: Send + Sync + fmt::Debug {
    /// The name this codec is negotiated under.
    fn name(&self) -> &str;

    /// Append the encoding of `value` to `out`.
    ///
    /// # Errors
    ///
    /// A [`FreezeError`] when the value cannot be represented in this format.
    fn freeze(&self, value: &Value, out: &mut Vec<u8>) -> Result<(), FreezeError>;

    /// Decode one value from exactly `bytes`.
    ///
    /// # Errors
    ///
    /// A [`ThawError`] for malformed input or input over the codec's limits.
    fn thaw(&self, bytes: &[u8]) -> Result<Value, ThawError>;

    /// This codec as the [`Native`] codec, if it is one: callers with a
    /// faster path for the native encoding (ikc-channel's message codec)
    /// use it, with this codec's limits.
    fn as_native(&self) -> Option<&Native> {
        None
    }

    /// This codec as the [`Storable`] codec, if it is one: callers with a
    /// faster path for Storable images (ikc-channel's message codec) use
    /// it, with this codec's limits.
    #[cfg(feature = "storable-codec")]
    fn as_storable(&self) -> Option<&Storable> {
        None
    }
}

/// The codecs a kernel can speak, by negotiated name.
#[derive(Debug, Clone, Default)]
pub struct Registry {
    freezers: Vec<Arc<dyn Freezer>>,
}

impl Registry {
    /// A registry with no codecs.
    pub fn empty() -> Self {
        Self::default()
    }

    /// Every codec this crate was built with, with default
    /// [`Limits`](crate::Limits), in order of preference: [`NATIVE`], then
    /// [`STORABLE`] (feature `storable`) and [`DUMPER`] (feature `dumper`).
    pub fn standard() -> Self {
        let mut registry = Self::empty();
        registry.register(Arc::new(Native::new()));
        #[cfg(feature = "storable")]
        registry.register(Arc::new(Storable::new()));
        #[cfg(feature = "dumper")]
        registry.register(Arc::new(Dumper::new()));
        registry
    }

    /// Add (or replace, by name) a codec.
    pub fn register(&mut self, freezer: Arc<dyn Freezer>) -> &mut Self {
        self.freezers.retain(|f| f.name() != freezer.name());
        self.freezers.push(freezer);
        self
    }

    /// The codec negotiated under `name`.
    pub fn get(&self, name: &str) -> Option<Arc<dyn Freezer>> {
        self.freezers.iter().find(|f| f.name() == name).cloned()
    }

    /// The names of every codec, in registration order.
    pub fn names(&self) -> Vec<&str> {
        self.freezers.iter().map(|f| f.name()).collect()
    }

    /// The first name in `offered` that this registry supports: what a
    /// server answers to a client's preference list.
    pub fn choose<S: AsRef<str>>(&self, offered: &[S]) -> Option<Arc<dyn Freezer>> {
        offered.iter().find_map(|name| self.get(name.as_ref()))
    }
}

/// The most entries of a decoder's stack kept for the next value.
pub(crate) const KEPT_STACK: usize = 64;

/// Run `read` with a stack kept per thread in `kept` between values, so
/// that decoding a message does not allocate its stack anew (a stack that
/// grew past [`KEPT_STACK`] entries is let go).
pub(crate) fn with_kept_stack<F, R>(
    kept: &'static LocalKey<Cell<Vec<F>>>,
    read: impl FnOnce(&mut Vec<F>) -> R,
) -> R {
    let mut stack = kept.take();
    let result = read(&mut stack);
    give_back(kept, stack, KEPT_STACK);
    result
}

/// Put `items` back in `kept`, emptied, for the next value read on this
/// thread, unless it grew past `most` entries.
pub(crate) fn give_back<F>(kept: &'static LocalKey<Cell<Vec<F>>>, mut items: Vec<F>, most: usize) {
    if items.capacity() <= most {
        items.clear();
        kept.set(items);
    }
}

#[cfg(all(test, feature = "storable", feature = "dumper"))]
mod tests {
    use super::*;

    #[test]
    fn standard_registry_prefers_native_and_falls_back() {
        let registry = Registry::standard();
        assert_eq!(registry.names(), [NATIVE, STORABLE, DUMPER]);
        // A Perl client offers Storable (or the Dumper freezer) only.
        let pick = |offer: &[&str]| registry.choose(offer).map(|f| f.name().to_owned());
        assert_eq!(pick(&[STORABLE, DUMPER]).as_deref(), Some(STORABLE));
        assert_eq!(pick(&["Unknown", DUMPER]).as_deref(), Some(DUMPER));
        assert_eq!(pick(&[NATIVE, STORABLE]).as_deref(), Some(NATIVE));
        assert_eq!(pick(&["YAML"]), None);
        let mut empty = Registry::empty();
        assert!(empty.names().is_empty());
        empty.register(Arc::new(Dumper::new()));
        empty.register(Arc::new(Dumper::new()));
        assert_eq!(empty.names(), [DUMPER]);
    }
}
