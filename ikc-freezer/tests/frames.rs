//! Golden tests: the IKC message frames captured between Perl peers
//! (`testdata/frames.jsonl`, cut from the byte logs of Perl IKC 0.2402 by
//! `testdata/gen/`), each with what Perl itself thaws it to.

mod util;

use anyhow::{Context as _, Result, ensure};
use ikc_freezer::fuzzing::{dumper_normal_form, storable_normal_form};
use ikc_freezer::{Registry, STORABLE, Value};
use serde_json::Value as Json;

struct Frame {
    name: String,
    codec: String,
    payload: Vec<u8>,
    expected: Value,
}

fn frames() -> Result<Vec<Frame>> {
    include_str!("../testdata/frames.jsonl")
        .lines()
        .map(|line| {
            let j: Json = serde_json::from_str(line)?;
            let text = |field: &str| -> Result<String> {
                Ok(j[field]
                    .as_str()
                    .with_context(|| format!("missing {field}"))?
                    .to_owned())
            };
            Ok(Frame {
                name: format!("{} {} #{}", text("file")?, text("direction")?, j["index"]),
                codec: text("codec")?,
                payload: util::hex(&text("payload_hex")?)?,
                expected: util::describe(&j["expected"])?,
            })
        })
        .collect()
}

#[test]
fn every_captured_frame_decodes_to_what_perl_reads() -> Result<()> {
    let registry = Registry::standard();
    let frames = frames()?;
    ensure!(
        frames.len() == 30,
        "expected the 30 captured frames, found {}",
        frames.len()
    );
    for frame in &frames {
        let codec = registry.get(&frame.codec).context("codec")?;
        let got = codec.thaw(&frame.payload)?;
        ensure!(
            got == frame.expected,
            "{}: got {got}, want {}",
            frame.name,
            frame.expected
        );
        // Every IKC message names its event.
        ensure!(!got["event"].is_undef(), "{}: no event", frame.name);
    }
    Ok(())
}

#[test]
fn captured_frames_survive_our_encoding() -> Result<()> {
    let registry = Registry::standard();
    for frame in frames()? {
        let codec = registry.get(&frame.codec).context("codec")?;
        let mut ours = Vec::new();
        codec.freeze(&frame.expected, &mut ours)?;
        let back = codec.thaw(&ours)?;
        let want = if frame.codec == STORABLE {
            storable_normal_form(&frame.expected)
        } else {
            dumper_normal_form(&frame.expected)
        };
        ensure!(back == want, "{}: got {back}, want {want}", frame.name);
    }
    Ok(())
}

#[test]
fn a_perl_message_reads_from_rust() -> Result<()> {
    // ClientLite's `call` of fetchQ, as Perl froze it with Storable.
    let frame = frames()?
        .into_iter()
        .find(|f| f.name == "perl-ikc-storable-clientlite.log C>S #0")
        .context("frame")?;
    let msg = Registry::standard()
        .get(STORABLE)
        .context("codec")?
        .thaw(&frame.payload)?;
    ensure!(msg["event"].as_str() == Some("poe://localhost:41002/test/fetchQ"));
    ensure!(msg["rsvp"]["state"].as_str() == Some("response0"));
    ensure!(!msg["wantarray"].as_bool());
    Ok(())
}
