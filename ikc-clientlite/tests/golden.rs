//! Our client, configured like Perl's ClientLite in each capture (name
//! `LiteClient`, the same freezer, protocol, PID and address), gets the
//! server's side of the capture replayed to it and must write what Perl's
//! wrote: the negotiation lines byte for byte, and each frame decoding to
//! the same message (hash order on the wire is Perl's random order, so the
//! frames' bytes are compared by length, where the values are written alike).

mod util;

use std::time::Duration;

use anyhow::{Result, ensure};
use ikc_channel::Protocol;
use ikc_clientlite::{Builder, ClientLite, Hash, LiteError, Value};

use util::mem::{Script, Units};
use util::transcript::{Transcript, decode_frame, is_frame};

/// Connect to the replayed server of `file`.
fn replay(file: &str, builder: Builder) -> Result<(ClientLite, Transcript, Units)> {
    let transcript = Transcript::load(file);
    let (script, units) = Script::new(&transcript);
    let mut script = Some(script);
    let poe = builder
        .name("LiteClient")
        .timeout(Duration::from_secs(2))
        .connect_with(move |_, _| {
            script
                .take()
                .ok_or_else(|| std::io::Error::other("the capture has one connection"))
        })?;
    Ok((poe, transcript, units))
}

/// What our client wrote against what Perl's wrote, unit by unit. Returns
/// how many frames had the same length as Perl's.
#[track_caller]
fn compare(transcript: &Transcript, units: &Units, freezer: &str) -> usize {
    let ours = units.lock().expect("units").clone();
    let perls = transcript.client_units();
    assert_eq!(
        ours.len(),
        perls.len(),
        "number of lines and frames written"
    );
    let mut same_length = 0;
    for (i, (ours, perls)) in ours.iter().zip(&perls).enumerate() {
        if is_frame(perls) {
            assert!(is_frame(ours), "unit {i}: Perl wrote a frame");
            let (our_message, perl_message) =
                (decode_frame(freezer, ours), decode_frame(freezer, perls));
            assert_eq!(our_message, perl_message, "unit {i}: the messages differ");
            same_length += usize::from(ours.len() == perls.len());
        } else {
            assert_eq!(
                String::from_utf8_lossy(ours),
                String::from_utf8_lossy(perls),
                "unit {i}: negotiation line"
            );
        }
    }
    same_length
}

/// The value lite.pl echoed in these captures:
/// `{a => [1, '2.5', "x\x{263a}y", undef], b => \'s', c => -7}`.
fn echoed() -> Value {
    let mut h = Hash::new();
    h.insert(
        "a",
        vec![
            Value::Int(1),
            Value::bytes("2.5"),
            Value::from("x\u{263a}y"),
            Value::Undef,
        ],
    );
    h.insert("b", Value::reference(Value::bytes("s")));
    h.insert("c", -7);
    Value::from(h)
}

/// lite.pl's conversation: call fetchQ, post_respond add_1, call echo, post here.
fn lite_pl(poe: &mut ClientLite) -> Result<()> {
    let n = poe.call("test/fetchQ", ())?;
    ensure!(n.as_i64() == Some(42), "fetchQ gave {n}");
    let n = poe.post_respond("test/add_1", n)?;
    ensure!(n.as_i64() == Some(43), "add_1 gave {n}");
    let back = poe.call("test/echo", echoed())?;
    ensure!(
        back["a"][2].as_str() == Some("x\u{263a}y"),
        "echo gave {back}"
    );
    ensure!(back["c"].as_i64() == Some(-7), "echo gave {back}");
    poe.post("test/here", n)?;
    poe.disconnect();
    Ok(())
}

#[test]
fn ikc0_with_the_dumper_freezer_as_perl() -> Result<()> {
    let builder = Builder::tcp("localhost", 41001)
        .freezer("POE::Component::IKC::Freezer")
        .protocol(Protocol::Ikc0)
        .pid(2701);
    let (mut poe, transcript, units) = replay("perl-ikc0-freezer-clientlite.log", builder)?;
    // Over IKC0, relative specifiers go to the server's first SETUP name.
    assert_eq!(poe.remote_name(), Some("vm-6b01b142-00000a62-00000001"));
    lite_pl(&mut poe)?;
    let same_length = compare(&transcript, &units, "POE::Component::IKC::Freezer");
    // Data::Dumper text of the same hash in another order is as long.
    assert_eq!(same_length, 4);
    Ok(())
}

#[test]
fn the_old_handshake_with_storable_as_perl() -> Result<()> {
    let builder = Builder::tcp("localhost", 41002)
        .freezer("Storable")
        .protocol(Protocol::Ikc);
    let (mut poe, transcript, units) = replay("perl-ikc-storable-clientlite.log", builder)?;
    // Over IKC, they go to host:port as the user wrote them.
    assert_eq!(poe.remote_name(), Some("localhost:41002"));
    assert_eq!(
        poe.peer().map(|p| p.kernel_id.as_str()),
        Some("vm-6b01b142-00000a62-00000001")
    );
    lite_pl(&mut poe)?;
    assert_eq!(compare(&transcript, &units, "Storable"), 4);
    Ok(())
}

#[test]
fn ping_list_calls_and_error_reports_as_perl() -> Result<()> {
    let builder = Builder::tcp("localhost", 41302)
        .freezer("Storable")
        .protocol(Protocol::Ikc);
    let (mut poe, transcript, units) = replay("perl-ikc-storable-clientlite-more.log", builder)?;
    // Ping goes to the server's kernel ID, with the RSVP IKC/pong.
    poe.ping()?;
    // A list call: Perl's echo in list context returned one array.
    let list = poe.call_list("test/echo", vec![Value::Int(1), Value::bytes("two")])?;
    assert_eq!(
        list,
        [Value::from(vec![Value::Int(1), Value::bytes("two")])]
    );
    // A call to an unpublished state: Perl's server sends an error report.
    match poe.call("test/nothere", 5) {
        Err(LiteError::Remote {
            message,
            kernel,
            operation,
        }) => {
            assert_eq!(
                message,
                "Session 'test' has not published state 'nothere'.  Request \
                 poe://localhost:41302/test/nothere sent by poe://LiteClient/IKCLite"
            );
            assert_eq!(kernel, "localhost:41302");
            assert_eq!(operation, "check");
        }
        other => panic!("expected the server's error report, got {other:?}"),
    }
    poe.post("test/here", 1)?;
    poe.disconnect();
    // Perl writes `wantarray => 1` as the string "1"; we write the integer
    // (Perl reads both as true): that frame is one byte shorter.
    assert_eq!(compare(&transcript, &units, "Storable"), 3);
    Ok(())
}
