//! Channel tests: golden replays of Perl captures, Rust-to-Rust pairs,
//! limits, and property tests.

mod frames;
mod golden;
mod limits;
mod native_fast;
mod pair;
mod props;
pub(crate) mod util;
