//! Bad input on a channel, at every stage (issue 8). Each test runs a real
//! server kernel on its own thread and a well-behaved ClientLite that gets
//! answers before and after the bad input; a raw socket sends the bad
//! input. The server's monitors must report a clear error, the offending
//! channel must be closed (or the message dropped, as IKC does), and
//! everything else must carry on.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use anyhow::{Context, ensure};
use ikc_channel::{Limits, Message, Protocol};
use ikc_clientlite::ClientLite;
use ikc_freezer::{Hash, Value};
use ikc_specifier::HashForm;
use ikc_tests::robust::{
    RawPeer, TestServer, WAIT, connect, expect_closed, freeze, init_logging, read_line,
};

const STORABLE: &str = "Storable";
const DUMPER: &str = "POE::Component::IKC::Freezer";
const NATIVE: &str = "IKC::Native";

/// A server and a ClientLite that is served.
fn server_and_good_client() -> anyhow::Result<(TestServer, ClientLite)> {
    init_logging();
    let server = TestServer::start("Server")?;
    let mut good = ClientLite::connect("127.0.0.1", server.port)?;
    assert_served(&mut good)?;
    Ok((server, good))
}

/// The well-behaved client still gets answers.
fn assert_served(good: &mut ClientLite) -> anyhow::Result<()> {
    ensure!(good.call("test/fetchQ", ())? == Value::Int(42));
    ensure!(good.call("test/add_1", 9)? == Value::Int(10));
    Ok(())
}

/// Write as much of `bytes` as the server takes; it may close on us.
fn write_until_closed(stream: &mut TcpStream, bytes: &[u8]) {
    for chunk in bytes.chunks(1024) {
        if stream.write_all(chunk).is_err() {
            return;
        }
    }
}

#[test]
fn garbage_handshake_lines_are_ignored_until_the_limit_then_the_channel_closes()
-> anyhow::Result<()> {
    let (mut server, mut good) = server_and_good_client()?;

    // A few garbage lines before a real SETUP: IKC ignores them, and the
    // handshake still succeeds.
    let mut stream = connect(server.port)?;
    stream.write_all(b"GET / HTTP/1.0\r\n\r\nBOGUS LINE\r\n")?;
    let mut tolerated = RawPeer::negotiate_on(stream, "Tolerated", STORABLE, Protocol::Ikc0)?;
    ensure!(tolerated.call("test/fetchQ", ())? == Value::Int(42));

    // Endless garbage: the server gives up after 16 rejected lines.
    let mut stream = connect(server.port)?;
    let garbage: String = (0..1000).map(|i| format!("GARBAGE {i}\r\n")).collect();
    write_until_closed(&mut stream, garbage.as_bytes());
    expect_closed(&mut stream)?;
    let n = server
        .notices()
        .wait_error("channel-negotiate", "rejected")?;
    ensure!(n.arg(1).contains("16"), "the limit is named: {n:?}");

    assert_served(&mut good)?;
    ensure!(tolerated.call("test/add_1", 1)? == Value::Int(2));
    server.shutdown()
}

#[test]
fn an_endless_handshake_line_is_cut_at_the_line_limit() -> anyhow::Result<()> {
    let (mut server, mut good) = server_and_good_client()?;
    let mut stream = connect(server.port)?;
    // Twice the 4 KiB line limit, with no line end, and then we wait: the
    // server must give up on its own rather than buffer more.
    stream.write_all(&[b'A'; 8 * 1024])?;
    expect_closed(&mut stream)?;
    server.notices().wait_error("channel-negotiate", "4096")?;
    assert_served(&mut good)?;
    server.shutdown()
}

/// Read one `LEN\0payload` frame.
fn read_frame(reader: &mut BufReader<TcpStream>) -> anyhow::Result<Vec<u8>> {
    let mut header = Vec::new();
    reader.read_until(0, &mut header)?;
    ensure!(header.pop() == Some(0), "a frame header");
    let len: usize = std::str::from_utf8(&header)?.parse()?;
    let mut payload = vec![0; len];
    reader.read_exact(&mut payload)?;
    Ok(payload)
}

#[test]
fn unknown_commands_in_the_old_handshake_are_answered_not_and_it_goes_on() -> anyhow::Result<()> {
    let (mut server, mut good) = server_and_good_client()?;
    let mut stream = connect(server.port)?;
    let mut reader = BufReader::new(stream.try_clone()?);
    stream.write_all(b"HELLO\r\n")?;
    // The server announces its names, each answered OK, then DONE.
    loop {
        let line = read_line(&mut reader)?;
        if line == "DONE" {
            break;
        }
        ensure!(line.starts_with("IAM "), "got {line:?}");
        stream.write_all(b"OK\r\n")?;
    }
    let mut exchange = |send: &str, expect: &str| -> anyhow::Result<()> {
        stream.write_all(format!("{send}\r\n").as_bytes())?;
        let got = read_line(&mut reader)?;
        ensure!(got == expect, "{send:?} answered {got:?}, not {expect:?}");
        Ok(())
    };
    exchange("FROBNICATE the server", "NOT")?;
    exchange("IAM Scripted", "OK")?;
    exchange("SELECT * FROM kernels", "NOT")?;
    stream.write_all(b"DONE\r\n")?;
    let mut exchange = |send: &str, expect: &str| -> anyhow::Result<()> {
        stream.write_all(format!("{send}\r\n").as_bytes())?;
        let got = read_line(&mut reader)?;
        ensure!(got == expect, "{send:?} answered {got:?}, not {expect:?}");
        Ok(())
    };
    exchange("FREEZER Nonsense::Codec", "NOT")?;
    exchange("TELEPORT now", "NOT")?;
    exchange("FREEZER Storable", "OK")?;
    exchange("WORLD", "UP")?;
    server.notices().wait("Scripted registered", |n| {
        n.what == "register" && n.kernel == "Scripted"
    })?;

    // The channel works: a call is answered.
    let call = Message::call(
        "poe://Server/test/add_1",
        41,
        HashForm::new("Scripted", "me", "answer"),
    );
    let mut frame = freeze(STORABLE, &call.to_value());
    frame.splice(0..0, format!("{}\0", frame.len()).into_bytes());
    stream.write_all(&frame)?;
    let payload = read_frame(&mut reader)?;
    let registry = ikc_freezer::Registry::standard();
    let answer = Message::try_from(registry.get(STORABLE).context("Storable")?.thaw(&payload)?)?;
    ensure!(answer.params.as_i64() == Some(42), "{answer:?}");

    // After the handshake, a command is not a frame: the channel closes.
    stream.write_all(b"HELLO\r\n")?;
    expect_closed(&mut stream)?;
    server
        .notices()
        .wait_error("channel-read", "malformed frame header")?;
    server.notices().wait("Scripted unregistered", |n| {
        n.what == "unregister" && n.kernel == "Scripted"
    })?;
    assert_served(&mut good)?;
    server.shutdown()
}

#[test]
fn a_frame_length_that_is_not_a_number_closes_the_channel() -> anyhow::Result<()> {
    let (mut server, mut good) = server_and_good_client()?;
    let mut bad = RawPeer::negotiate(server.port, "NaN", STORABLE)?;
    bad.write_raw(b"12a\0not a frame")?;
    bad.expect_closed()?;
    let n = server
        .notices()
        .wait_error("channel-read", "malformed frame header")?;
    ensure!(n.arg(1).contains("0x61"), "the byte is named: {n:?}");
    server.notices().wait("NaN unregistered", |n| {
        n.what == "unregister" && n.kernel == "NaN"
    })?;
    assert_served(&mut good)?;
    server.shutdown()
}

#[test]
fn a_huge_declared_length_closes_the_channel_before_any_payload() -> anyhow::Result<()> {
    let (mut server, mut good) = server_and_good_client()?;
    for (name, header) in [
        ("Huge", &b"99999999999999999999\0"[..]),
        // One byte over the 16 MiB limit, and no NUL yet: the digits alone
        // are enough to refuse it.
        ("JustOver", b"16777217"),
        ("Overflow", b"999999999999999999999999999999"),
    ] {
        let mut bad = RawPeer::negotiate(server.port, name, STORABLE)?;
        bad.write_raw(header)?;
        // No payload is sent: the server refuses on the header alone, so
        // it never waits for (or allocates) the announced bytes.
        bad.expect_closed()?;
        server.notices().wait(&format!("{name} refused"), |n| {
            n.is_error("channel-read") && n.kernel == name && n.arg(1).contains("16777216")
        })?;
    }
    assert_served(&mut good)?;
    server.shutdown()
}

#[test]
fn a_truncated_frame_then_end_of_file_is_reported() -> anyhow::Result<()> {
    let (mut server, mut good) = server_and_good_client()?;
    let mut bad = RawPeer::negotiate(server.port, "Truncated", STORABLE)?;
    bad.write_raw(b"100\0only part of it")?;
    bad.shutdown_write()?;
    bad.expect_closed()?;
    server
        .notices()
        .wait_error("channel-read", "middle of a frame")?;
    server.notices().wait("Truncated unregistered", |n| {
        n.what == "unregister" && n.kernel == "Truncated"
    })?;
    assert_served(&mut good)?;
    server.shutdown()
}

#[test]
fn a_payload_no_codec_can_read_is_dropped_and_the_channel_goes_on() -> anyhow::Result<()> {
    let (mut server, mut good) = server_and_good_client()?;
    for freezer in [STORABLE, DUMPER, NATIVE] {
        let name = format!("Garbled{}", freezer.len());
        let mut peer = RawPeer::negotiate(server.port, &name, freezer)?;
        peer.write_frame(b"\xff\xfe this is no frozen data \x00\x01")?;
        server
            .notices()
            .wait(&format!("{freezer} thaw error"), |n| {
                n.is_error("channel-read") && n.kernel == name && n.arg(1).contains(freezer)
            })?;
        // As in IKC, the frame is dropped and the channel carries on.
        ensure!(peer.call("test/fetchQ", ())? == Value::Int(42));
    }
    assert_served(&mut good)?;
    server.shutdown()
}

/// The next message must be IKC's `remote_error` to us about `when`.
fn expect_remote_error(peer: &mut RawPeer, when: &str, text: &str) -> anyhow::Result<Message> {
    let m = peer.next_message(WAIT)?;
    let spec = m.event.specifier()?;
    ensure!(
        m.is_error
            && spec.session_name() == Some("IKC")
            && spec.state.as_deref() == Some("remote_error")
            && spec.kernel_name() == Some(peer.name.as_str()),
        "not a remote_error to us: {m:?}"
    );
    ensure!(m.params[2].to_string() == when, "stage: {m:?}");
    ensure!(m.params[0].to_string().contains(text), "message: {m:?}");
    Ok(m)
}

#[test]
fn a_message_that_is_not_a_request_hash_gets_remote_error() -> anyhow::Result<()> {
    let (mut server, mut good) = server_and_good_client()?;
    let mut peer = RawPeer::negotiate(server.port, "NotAHash", STORABLE)?;

    peer.send_value(&Value::from(vec![Value::from(1), Value::from("two")]))?;
    server
        .notices()
        .wait_error("local-request", "expected a hash, found an array")?;
    expect_remote_error(&mut peer, "request", "expected a hash")?;

    let mut no_event = Hash::new();
    no_event.insert("params", "where does this go?");
    no_event.insert("from", "somebody");
    peer.send_value(&Value::Hash(no_event))?;
    server.notices().wait_error("local-request", "event")?;
    expect_remote_error(&mut peer, "request", "event")?;

    // The message was dropped; the channel goes on.
    ensure!(peer.call("test/fetchQ", ())? == Value::Int(42));
    assert_served(&mut good)?;
    server.shutdown()
}

#[test]
fn a_specifier_that_does_not_parse_gets_remote_error() -> anyhow::Result<()> {
    let (mut server, mut good) = server_and_good_client()?;
    let mut peer = RawPeer::negotiate(server.port, "BadSpec", STORABLE)?;
    for bad in [
        "poe://Server/te!st/fetchQ",
        "poe://Se!rver/test/fetchQ",
        "poe://a,,b/test/fetchQ",
        "poe://Server/test/fetchQ/extra",
        "poe:///?",
        "//",
    ] {
        let msg = Message::call(bad, (), HashForm::new("BadSpec", "me", "answer"))
            .with_from(HashForm::new("BadSpec", "me", ""));
        peer.send(&msg)?;
        server.notices().wait_error("local-request", bad)?;
        expect_remote_error(&mut peer, "request", "isn't a valid specifier")?;
    }
    ensure!(peer.call("test/fetchQ", ())? == Value::Int(42));
    assert_served(&mut good)?;
    server.shutdown()
}

/// Payloads nesting arrays 100,000 deep, per freezer.
fn deep_payloads() -> Vec<(&'static str, Vec<u8>)> {
    const DEPTH: usize = 100_000;
    // Derive each codec's "array of one element" prefix from its own output.
    let one = Value::from(vec![Value::Undef]);
    let native_one = freeze(NATIVE, &one);
    let (unit, end) = native_one.split_at(native_one.len() - 1);
    let mut native = unit.repeat(DEPTH);
    native.extend_from_slice(end);
    // Storable: network-order header, then a reference to a reference ...
    let mut storable = vec![0x05, 0x0b];
    storable.extend(std::iter::repeat_n(0x04, DEPTH)); // SX_REF
    storable.push(0x05); // SX_UNDEF
    let dumper = format!(
        "$POE::Component::IKC::Freezer::VAR1 = {}1{};",
        "[".repeat(DEPTH),
        "]".repeat(DEPTH)
    )
    .into_bytes();
    vec![(NATIVE, native), (STORABLE, storable), (DUMPER, dumper)]
}

#[test]
fn nesting_100000_deep_is_refused_and_the_channel_goes_on() -> anyhow::Result<()> {
    let (mut server, mut good) = server_and_good_client()?;
    for (i, (freezer, payload)) in deep_payloads().into_iter().enumerate() {
        let name = format!("Deep{i}");
        let mut peer = RawPeer::negotiate(server.port, &name, freezer)?;
        peer.write_frame(&payload)?;
        server.notices().wait(&format!("{freezer} too deep"), |n| {
            n.is_error("channel-read") && n.kernel == name && n.arg(1).contains("deep")
        })?;
        ensure!(peer.call("test/fetchQ", ())? == Value::Int(42));
    }
    assert_served(&mut good)?;
    server.shutdown()
}

#[test]
fn a_dumper_payload_that_smuggles_code_runs_nothing() -> anyhow::Result<()> {
    let (mut server, mut good) = server_and_good_client()?;
    let dir = std::env::temp_dir().join(format!("ikc-pwned-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let marker = dir.join("pwned");
    let m = marker.display().to_string();
    let request = |params: &str| {
        format!(
            "$POE::Component::IKC::Freezer::VAR1 = {{ 'event' => 'poe://Server/test/echo', \
             'params' => {params}, 'rsvp' => {{ 'kernel' => 'Smuggler', 'session' => 'me', \
             'state' => 'answer' }} }};"
        )
    };
    let attempts = [
        format!("system(\"touch {m}\")"),
        format!("`touch {m}`"),
        format!("qx{{touch {m}}}"),
        format!("sub {{ system('touch {m}') }}"),
        format!("do {{ system('touch {m}'); 1 }}"),
        format!("do{{ open(my $f, '>', '{m}'); 1 }}"),
        format!("\"${{\\ system('touch {m}')}}\""),
        format!("\"@{{[ system('touch {m}') ]}}\""),
        format!("eval \"system('touch {m}')\""),
        "require POSIX".to_owned(),
        format!("[ 1, system('touch {m}') ]"),
        "bless( { 'x' => `id` }, 'Evil' )".to_owned(),
    ];
    let mut peer = RawPeer::negotiate(server.port, "Smuggler", DUMPER)?;
    for (i, params) in attempts.iter().enumerate() {
        let text = request(params);
        peer.write_frame(text.as_bytes())?;
        // Each is refused as data the parser does not read: reported, and
        // the frame dropped.
        server
            .notices()
            .wait_nth(i + 1, &format!("refusal of {params}"), |n| {
                n.is_error("channel-read") && n.kernel == "Smuggler"
            })?;
    }
    // The channel goes on, nothing ran, and the answers are intact.
    ensure!(peer.call("test/fetchQ", ())? == Value::Int(42));
    ensure!(!marker.exists(), "{} was created", marker.display());
    // Text that merely looks like code is data and comes back as it was sent.
    let looks_like_code = format!("${{\\ system('touch {m}')}} `id` @{{[ 1 ]}}");
    ensure!(
        peer.call("test/echo", looks_like_code.as_str())?
            .to_string()
            == looks_like_code
    );
    ensure!(!marker.exists());
    assert_served(&mut good)?;
    let _ = std::fs::remove_dir_all(&dir);
    server.shutdown()
}

#[test]
fn a_request_whose_handler_panics_gets_remote_error_and_the_kernel_goes_on() -> anyhow::Result<()> {
    let (mut server, mut good) = server_and_good_client()?;
    let mut peer = RawPeer::negotiate(server.port, "Arsonist", STORABLE)?;
    let msg = Message::call(
        "poe://Server/test/explode",
        "now",
        HashForm::new("Arsonist", "me", "answer"),
    )
    .with_from(HashForm::new("Arsonist", "me", ""));
    peer.send(&msg)?;
    server.notices().wait_error("local-invocation", "explode")?;
    expect_remote_error(&mut peer, "invocation", "explode")?;
    // The panicking session is gone (the kernel stops it, as POE would
    // have died); the kernel, the channel and every other session go on.
    let err = peer.call("test/fetchQ", ());
    ensure!(err.is_err(), "the test session was stopped: {err:?}");
    ensure!(peer.call("IKC/ping", ())?.to_string() == "PONG");
    let gone = good.call("test/fetchQ", ());
    ensure!(gone.is_err(), "{gone:?}");
    ensure!(good.ping().is_ok());
    server.shutdown()
}

#[test]
fn a_connection_that_never_finishes_its_handshake_is_dropped_at_the_timeout() -> anyhow::Result<()>
{
    init_logging();
    let mut server = TestServer::builder("Server")
        .configure(|c| {
            let mut limits = Limits::default();
            limits.handshake_timeout = Duration::from_millis(300);
            c.limits(limits)
        })
        .start()?;
    let mut good = ClientLite::connect("127.0.0.1", server.port)?;
    assert_served(&mut good)?;
    // One says nothing at all; the other starts the old handshake and stops.
    let mut silent = connect(server.port)?;
    let mut halfway = connect(server.port)?;
    halfway.write_all(b"HELLO\r\n")?;
    expect_closed(&mut silent)?;
    expect_closed(&mut halfway)?;
    server
        .notices()
        .wait_nth(2, "two handshake timeouts", |n| {
            n.is_error("channel-negotiate") && n.arg(1).contains("did not finish within 300ms")
        })?;
    assert_served(&mut good)?;
    server.shutdown()
}
