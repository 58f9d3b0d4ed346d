//! What real Perl reads from the bytes this crate writes.
//!
//! `testdata/perl-crosscheck.jsonl` records, for each case and codec, our
//! encoding and what Perl 5.36 (Storable 3.26, Data::Dumper's eval) read
//! back from it. The always-running test checks that we still write those
//! bytes and read them as Perl did. When `perl` with Storable and JSON::PP
//! is installed, a second test asks Perl again, live; without it, it says
//! so and skips. `IKC_WRITE_CROSSCHECK=1` rewrites the record from Perl.

mod util;

use std::io::Write as _;
use std::process::{Command, Stdio};

use anyhow::{Context as _, Result, bail, ensure};
use ikc_freezer::{DUMPER, Dumper, Freezer, Hash, Key, STORABLE, Storable, Value};
use serde_json::{Value as Json, json};

fn cases() -> Vec<(&'static str, Value)> {
    let post = {
        let params = Hash::from_iter([
            ("seq", Value::Int(1)),
            ("name", Value::from("hello world")),
            ("vals", Value::from(vec![1, 2, 3])),
        ]);
        let from = Hash::from_iter([
            ("kernel", "Client"),
            ("session", "me"),
            ("state", "IKC:proxy"),
        ]);
        Value::Hash(Hash::from_iter([
            ("event", Value::from("poe://Server/test/here")),
            ("params", Value::Hash(params)),
            ("from", Value::Hash(from)),
        ]))
    };
    let scalars = Value::from(vec![
        Value::Undef,
        Value::Bool(true),
        Value::Bool(false),
        Value::Int(0),
        Value::Int(-1),
        Value::Int(127),
        Value::Int(-128),
        Value::Int(128),
        Value::Int(i64::from(i32::MAX)),
        Value::Int(i64::from(i32::MIN)),
        Value::Int(1 << 31),
        Value::Int(i64::MAX),
        Value::Int(i64::MIN),
        Value::UInt(u64::MAX),
        Value::Float(2.5),
        Value::Float(-0.0),
        Value::Float(1e100),
        Value::Float(0.1),
        Value::Float(f64::INFINITY),
        Value::Float(3.0),
        Value::bytes(b"caf\xe9".to_vec()),
        Value::from("x\u{263a}y"),
        Value::from("caf\u{e9}"),
        Value::from("plain"),
        Value::bytes("it's \\ \"$x\" @y\n\0end"),
        Value::bytes(""),
        Value::bytes("x".repeat(300)),
        Value::from("\u{263a}".repeat(100)),
    ]);
    let refs = Value::Hash(Hash::from_iter([
        ("r", Value::reference(Value::bytes("s"))),
        ("rr", Value::reference(Value::reference(Value::Int(42)))),
        ("ru", Value::reference(Value::Undef)),
        ("ra", Value::reference(Value::from(vec![1, 2]))),
        (
            "obj",
            Value::blessed("My::Class", Value::Hash(Hash::from_iter([("k", vec![1])]))),
        ),
        (
            "sobj",
            Value::blessed("S", Value::reference(Value::from("v"))),
        ),
        ("aobj", Value::blessed("My::Class", Value::Array(vec![]))),
    ]));
    let keys = Value::Hash(Hash::from_iter([
        (Key::from("caf\u{e9}"), 1),
        (Key::from("\u{263a}"), 2),
        (Key::from_bytes(vec![0xff]), 3),
        (Key::from(""), 4),
        (Key::from("it's"), 5),
    ]));
    let deep = Value::from(vec![Value::from(vec![Value::from(vec![Value::from(
        vec![1],
    )])])]);
    vec![
        ("ikc_post", post),
        ("scalars", scalars),
        ("references", refs),
        ("keys", keys),
        ("deep", deep),
        ("top_scalar_ref", Value::reference(Value::from("top"))),
        (
            "top_blessed_scalar",
            Value::blessed("Top", Value::reference(Value::Int(7))),
        ),
    ]
}

/// Every case encoded by every Perl codec: (case, codec, bytes).
fn encodings() -> Result<Vec<(String, &'static str, Vec<u8>)>> {
    let codecs: [&dyn Freezer; 2] = [&Storable::new(), &Dumper::new()];
    let mut out = Vec::new();
    for (name, value) in cases() {
        for codec in codecs {
            let mut bytes = Vec::new();
            codec.freeze(&value, &mut bytes)?;
            let codec_name = if codec.name() == STORABLE {
                STORABLE
            } else {
                DUMPER
            };
            out.push((name.to_owned(), codec_name, bytes));
        }
    }
    Ok(out)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn codec(name: &str) -> Box<dyn Freezer> {
    if name == STORABLE {
        Box::new(Storable::new())
    } else {
        Box::new(Dumper::new())
    }
}

#[test]
fn perl_read_our_bytes_as_we_do() -> Result<()> {
    let recorded: Vec<Json> = include_str!("../testdata/perl-crosscheck.jsonl")
        .lines()
        .map(serde_json::from_str)
        .collect::<Result<_, _>>()?;
    let ours = encodings()?;
    ensure!(
        recorded.len() == ours.len(),
        "{} recorded, {} cases",
        recorded.len(),
        ours.len()
    );
    for (record, (name, codec_name, bytes)) in recorded.iter().zip(&ours) {
        ensure!(
            record["case"] == *name && record["codec"] == *codec_name,
            "record order"
        );
        ensure!(
            record["payload_hex"] == hex(bytes),
            "{name}/{codec_name}: our bytes changed since Perl checked them"
        );
        let perl_read = util::describe(&record["expected"])?;
        let we_read = codec(codec_name).thaw(bytes)?;
        ensure!(
            we_read == perl_read,
            "{name}/{codec_name}: we read {we_read}, Perl read {perl_read}"
        );
    }
    Ok(())
}

/// Ask Perl what it reads from our bytes, one JSON line per encoding.
fn ask_perl(lines: &str) -> Result<Option<String>> {
    let probe = Command::new("perl")
        .args(["-MStorable", "-MData::Dumper", "-MJSON::PP", "-e1"])
        .stderr(Stdio::null())
        .status();
    if !probe.is_ok_and(|s| s.success()) {
        println!("SKIP perl_crosscheck: perl with Storable and JSON::PP is not installed");
        return Ok(None);
    }
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/testdata/gen/describe_frames.pl"
    );
    let mut child = Command::new("perl")
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()?;
    child
        .stdin
        .take()
        .context("stdin")?
        .write_all(lines.as_bytes())?;
    let output = child.wait_with_output()?;
    if !output.status.success() {
        bail!("perl failed");
    }
    Ok(Some(String::from_utf8(output.stdout)?))
}

#[test]
fn perl_reads_our_bytes_live() -> Result<()> {
    let mut lines = String::new();
    for (name, codec_name, bytes) in encodings()? {
        let line = json!({"case": name, "codec": codec_name, "payload_hex": hex(&bytes)});
        lines.push_str(&line.to_string());
        lines.push('\n');
    }
    let Some(perl) = ask_perl(&lines)? else {
        return Ok(());
    };
    if std::env::var_os("IKC_WRITE_CROSSCHECK").is_some() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/testdata/perl-crosscheck.jsonl"
        );
        std::fs::write(path, &perl)?;
        return Ok(());
    }
    let recorded = include_str!("../testdata/perl-crosscheck.jsonl");
    for (live, kept) in perl.lines().zip(recorded.lines()) {
        let live: Json = serde_json::from_str(live)?;
        let kept: Json = serde_json::from_str(kept)?;
        ensure!(
            util::describe(&live["expected"])? == util::describe(&kept["expected"])?,
            "{}: Perl now reads {}, recorded {}",
            live["case"],
            live["expected"],
            kept["expected"]
        );
    }
    ensure!(
        perl.lines().count() == recorded.lines().count(),
        "case count"
    );
    Ok(())
}
