//! Channel tests: golden replays of Perl captures, Rust-to-Rust pairs,
//! limits, and property tests.

mod golden;
mod util;
