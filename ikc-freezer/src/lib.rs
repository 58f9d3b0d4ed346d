//! The `Value` data model and IKC's freezers (codecs).
//!
//! Everything that crosses an IKC wire is a [`Value`], the Rust image of a
//! Perl datum. A [`Freezer`] turns values into bytes under a name the two
//! kernels negotiate; the [`Registry`] maps names to freezers.
//!
//! ```
//! use ikc_freezer::{Hash, Value};
//!
//! let mut params = Hash::new();
//! params.insert("seq", 1);
//! params.insert("name", "hello world");
//! params.insert("vals", vec![1, 2, 3]);
//! let v = Value::from(params);
//! assert_eq!(v.as_hash().and_then(|h| h.get("seq")), Some(&Value::Int(1)));
//! ```

#![warn(missing_docs)]
#![forbid(unsafe_code)]
#![doc(test(attr(deny(warnings))))]

mod bridge;
mod codec;
mod error;
#[doc(hidden)]
pub mod fuzzing;
mod limits;
mod value;

pub use crate::bridge::{from_value, to_value};
pub use crate::codec::{DUMPER, Dumper, Freezer, NATIVE, Native, Registry, STORABLE, Storable};
pub use crate::error::{FreezeError, ThawError, ValueError};
pub use crate::limits::Limits;
pub use crate::value::{Blessed, Hash, Key, Value};
