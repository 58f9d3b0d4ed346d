//! The `Value` data model and IKC's freezers (codecs).
//!
//! Everything that crosses an IKC wire is a [`Value`], the Rust image of a
//! Perl datum: `undef`, integers, floats, byte strings and character strings
//! (Perl's UTF-8 flag), arrays, hashes, scalar references and blessed
//! references. A [`Freezer`] turns values into bytes under the name two
//! kernels negotiate in their handshake; a [`Registry`] maps names to
//! freezers. Three are provided, the two Perl formats behind features
//! (both on by default):
//!
//! | codec | name | for | feature |
//! |---|---|---|---|
//! | [`Native`] | [`NATIVE`] (`IKC::Native`) | Rust peers: postcard, fast and lossless | always |
//! | `Storable` | [`STORABLE`] (`Storable`) | Perl peers: `Storable::nfreeze`, Perl IKC's default | `storable` |
//! | `Dumper` | [`DUMPER`] (`POE::Component::IKC::Freezer`) | Perl peers: Data::Dumper text, read as data, never evaluated | `dumper` |
//!
//! A cluster of Rust kernels only can leave both out (`default-features =
//! false`): [`Registry::standard`] then holds the native codec alone, and a
//! peer offering only a Perl format is refused in the handshake. The
//! `storable-codec` feature (which `storable` turns on) builds the
//! Storable types without offering the codec there; ikc-channel turns it
//! on for its Storable message path (`Storable::encoder`,
//! `Storable::decoder`: a message written and read without its hash).
//!
//! Each codec's documentation says which values come back changed from a
//! Perl format and how (Perl has no booleans on the wire, writes large
//! integers and floats as strings, ...). Decoders never panic, never
//! recurse and never allocate more than the input justifies; [`Limits`]
//! caps depth, counts and lengths.
//!
//! Values convert to and from Rust types with [`to_value`] and
//! [`from_value`] (serde), which read Perl's untyped strings as numbers or
//! booleans where the Rust type asks for one, exactly or not at all.
//!
//! # Examples
//!
//! ```
//! # #[cfg(all(feature = "storable", feature = "dumper"))] {
//! use ikc_freezer::{Hash, Registry, Value, from_value, to_value};
//! use serde::{Deserialize, Serialize};
//!
//! // Build an IKC message by hand...
//! let mut params = Hash::new();
//! params.insert("seq", 1);
//! params.insert("name", "hello world");
//! params.insert("vals", vec![1, 2, 3]);
//! let mut msg = Hash::new();
//! msg.insert("event", "poe://Server/test/here");
//! msg.insert("params", params);
//! let msg = Value::from(msg);
//! assert_eq!(msg["params"]["vals"][2], Value::Int(3));
//! assert_eq!(msg["params"]["nothing"], Value::Undef);
//!
//! // ...or from your own types.
//! #[derive(Debug, PartialEq, Serialize, Deserialize)]
//! struct Params {
//!     seq: u32,
//!     name: String,
//!     vals: Vec<i64>,
//! }
//! let params: Params = from_value(msg["params"].clone())?;
//! assert_eq!(to_value(&params)?, msg["params"]);
//!
//! // Every codec, chosen by name as the handshake does.
//! let registry = Registry::standard();
//! for name in registry.names() {
//!     let codec = registry.get(name).expect("registered");
//!     let mut bytes = Vec::new();
//!     codec.freeze(&msg, &mut bytes)?;
//!     let back = codec.thaw(&bytes)?;
//!     // Perl formats keep integers and text (as Perl would read them).
//!     assert_eq!(back["params"]["seq"].as_i64(), Some(1));
//!     assert_eq!(back["event"].as_str(), Some("poe://Server/test/here"));
//! }
//!
//! // A Perl client offering [Storable] gets Storable.
//! assert_eq!(registry.choose(&["Storable"]).map(|c| c.name().to_owned()).as_deref(), Some("Storable"));
//! # }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![warn(missing_docs)]
#![forbid(unsafe_code)]
#![doc(test(attr(deny(warnings))))]

mod bridge;
mod codec;
mod error;
#[cfg(all(feature = "storable", feature = "dumper"))]
#[doc(hidden)]
pub mod fuzzing;
mod limits;
mod value;

pub use crate::bridge::{from_value, to_value};
#[cfg(feature = "dumper")]
pub use crate::codec::Dumper;
pub use crate::codec::{
    DUMPER, Freezer, NATIVE, Native, NativeDecoder, NativeEncoder, NativeKey, NativeString,
    Registry, STORABLE,
};
#[cfg(feature = "storable-codec")]
pub use crate::codec::{Storable, StorableDecoder, StorableEncoder, StorableKept, StorableMark};
pub use crate::error::{FreezeError, ThawError, ValueError};
pub use crate::limits::Limits;
pub use crate::value::{Blessed, Hash, Key, Value};

/// The iterators and entries of a [`struct@Hash`].
pub mod hash {
    pub use crate::value::hash::{
        Entry, IntoIter, Iter, IterMut, Keys, OccupiedEntry, VacantEntry, Values,
    };
}
