//! Channel tests: golden replays of Perl captures, Rust-to-Rust pairs,
//! limits, and property tests.

mod frames;
mod golden;
mod limits;
mod native_fast;
mod pair;
mod props;
mod storable_fast;
pub(crate) mod util;
