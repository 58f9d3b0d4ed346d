//! Arbitrary bytes into the native decoder; a value that decodes must survive
//! re-encoding (see `ikc_freezer::fuzzing`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| ikc_freezer::fuzzing::thaw_native(data));
