//! Arbitrary bytes into the storable decoder; a value that decodes must survive
//! re-encoding (see `ikc_freezer::fuzzing`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| ikc_freezer::fuzzing::thaw_storable(data));
