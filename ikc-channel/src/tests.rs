//! Channel tests.
