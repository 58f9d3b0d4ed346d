//! Arbitrary text into the specifier parser (`poe://kernel/session/state`,
//! relative and local forms, `?arg`, comma lists, the array form): it must
//! never panic, and whatever it accepts must print to text that parses back
//! to the same value (see `ikc_specifier::internal::fuzz_specifier`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| ikc_specifier::internal::fuzz_specifier(data));
