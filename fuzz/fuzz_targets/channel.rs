//! Arbitrary bytes into every kind of channel: both handshakes (IKC0 and
//! IKC) in both roles from their first phase, and a negotiated server that
//! reads them as frames, thaws them and makes messages of them (see
//! `ikc_channel::internal::fuzz_channel`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| ikc_channel::internal::fuzz_channel(data));
