//! Arbitrary bytes into the frame decoder (`LEN\0PAYLOAD`), split into two
//! reads: it must never panic nor hand out more bytes than it was given
//! (see `ikc_channel::internal::fuzz_deframer`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| ikc_channel::internal::fuzz_deframer(data));
