//! Shutdown under backpressure (issue 8): `IKC/shutdown` closes a channel
//! only after everything queued for it before the shutdown is written, even
//! when the peer reads slowly and the queue is far larger than the socket
//! buffers.

use anyhow::{Context, ensure};
use ikc_channel::Message;
use ikc_freezer::Value;
use ikc_tests::robust::{RawPeer, TestServer, WAIT, init_logging};

#[test]
fn shutdown_flushes_everything_queued_to_a_slow_reader_before_closing() -> anyhow::Result<()> {
    init_logging();
    const COUNT: i64 = 400;
    const SIZE: usize = 64 << 10; // 25 MiB in all: far more than a socket holds
    let mut server = TestServer::start("Server")?;
    let mut slow = RawPeer::negotiate(server.port, "Slow", "Storable")?;
    slow.send(&Message::post(
        "poe://Server/test/spam",
        Value::Array(vec![
            Value::from("poe://Slow/me/chunk"),
            Value::from(COUNT),
            Value::from(SIZE as i64),
        ]),
    ))?;
    // The server queued them all, then asked IKC to shut down; we have not
    // read anything yet.
    let spammed = server.notices().wait("spammed", |n| n.what == "spammed")?;
    ensure!(spammed.args[0].as_i64() == Some(COUNT), "{spammed:?}");
    server
        .notices()
        .wait("shutdown", |n| n.what == "shutdown")?;

    // Now read, a little at a time: every message arrives, in order, then
    // the connection closes.
    slow.read_chunk = 4096;
    for seq in 0..COUNT {
        let m = slow
            .next_message(WAIT)
            .with_context(|| format!("message {seq} of {COUNT}"))?;
        let spec = m.event.specifier()?;
        ensure!(spec.state.as_deref() == Some("chunk"), "{:?}", m.event);
        ensure!(
            m.params[0].as_i64() == Some(seq),
            "message {seq} came as {:?}",
            m.params[0]
        );
        let data = m.params[1].as_bytes().unwrap_or_default();
        ensure!(
            data.len() == SIZE && data.iter().all(|&b| b == b'a' + (seq % 26) as u8),
            "message {seq} was damaged"
        );
    }
    slow.expect_closed()?;
    server.shutdown()
}
