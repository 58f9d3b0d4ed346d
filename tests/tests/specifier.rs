//! The specifier crate as other crates use it.

use ikc_specifier::{HashForm, Specifier};

#[test]
fn wire_event_strings_from_perl_transcripts_parse() {
    // The `event` strings Perl's ClientLite and POE client put on the wire.
    for (text, kernel, session, state) in [
        (
            "poe://vm-6b01b142-00000a62-00000001/test/fetchQ",
            "vm-6b01b142-00000a62-00000001",
            "test",
            "fetchQ",
        ),
        (
            "poe://localhost:41002/test/add_1",
            "localhost:41002",
            "test",
            "add_1",
        ),
        ("poe://Inet/test/nothere", "Inet", "test", "nothere"),
    ] {
        let spec: Specifier = text.parse().unwrap();
        assert_eq!(spec.to_hash_form(), HashForm::new(kernel, session, state));
        assert_eq!(spec.ikc_name(), text);
    }
}
