//! Arbitrary text into the specifier parser (`poe://kernel/session/state`,
//! relative and local forms, `?arg`, comma lists): it must never panic, and
//! whatever it accepts must print to text that parses back to the same value.
#![no_main]

use ikc_specifier::{PartName, Specifier, specifier_part};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(spec) = Specifier::parse(text) {
        let printed = spec.to_string();
        assert_eq!(
            Specifier::parse(&printed).as_ref(),
            Ok(&spec),
            "{text:?} printed as {printed:?}"
        );
        let _ = spec.ikc_name();
        let _ = Specifier::from_hash_form(&spec.to_hash_form());
    }
    for part in [PartName::Kernel, PartName::Session, PartName::State, PartName::Arg] {
        let _ = specifier_part(text, part);
    }
    let pieces: Vec<&str> = text.split('/').collect();
    let _ = Specifier::from_array(&pieces);
});
