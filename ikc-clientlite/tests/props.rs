//! Whatever a server sends, the client returns (a value or an error) and
//! never panics or hangs: random bytes in place of the negotiation, and
//! random bytes (and random frames) after a real one.

mod util;

use std::io::{Read, Write};
use std::thread;
use std::time::{Duration, Instant};

use ikc_channel::{Channel, Identity, ServerChannelConfig};
use ikc_clientlite::{Builder, ClientLite, LiteError};
use ikc_freezer::Registry;
use proptest::prelude::*;

use util::mem::{MemStream, mem_pair};

/// A client connected through a pipe whose other end runs `server`.
fn client_of(server: impl FnOnce(MemStream) + Send + 'static) -> Result<ClientLite, LiteError> {
    let mut server = Some(server);
    Builder::tcp("fuzz", 1)
        .timeout(Duration::from_millis(300))
        .connect_with(move |_, _| {
            let (ours, theirs) = mem_pair();
            if let Some(server) = server.take() {
                thread::spawn(move || server(theirs));
            }
            // Later connections get a server that hangs up at once.
            Ok(ours)
        })
}

/// Negotiate as a server on `stream`; the stream and channel afterwards.
fn negotiate(mut stream: MemStream) -> Option<(MemStream, Channel)> {
    let me = Identity::new("fuzz-server");
    let mut channel = Channel::server(
        ServerChannelConfig::new(me, Registry::standard()),
        Instant::now(),
    )
    .ok()?;
    let (mut buf, mut out) = (vec![0; 4096], Vec::new());
    while !channel.is_negotiated() {
        let n = stream.read(&mut buf).ok().filter(|&n| n > 0)?;
        channel.handle_input(&buf[..n]).ok()?;
        while channel.poll_transmit(&mut out).is_some() {
            stream.write_all(&out).ok()?;
            out.clear();
        }
    }
    Some((stream, channel))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn garbage_instead_of_a_negotiation_is_an_error(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let result = client_of(move |mut stream| {
            let _ = stream.write_all(&bytes);
            // Then hang up.
        });
        prop_assert!(result.is_err());
    }

    #[test]
    fn garbage_after_the_negotiation_never_panics(
        frames in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..64), 0..4),
        raw in proptest::collection::vec(any::<u8>(), 0..200),
    ) {
        let started = Instant::now();
        let mut poe = client_of(move |stream| {
            let Some((mut stream, _channel)) = negotiate(stream) else { return };
            // Well-framed junk, then raw junk, then hang up.
            for frame in frames {
                let _ = stream.write_all(format!("{}\0", frame.len()).as_bytes());
                let _ = stream.write_all(&frame);
            }
            let _ = stream.write_all(&raw);
        }).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let result = poe.call("test/fetchQ", ());
        prop_assert!(result.is_err(), "{result:?}");
        // A second call reconnects to a pipe nobody serves, and fails too.
        prop_assert!(poe.call("test/fetchQ", ()).is_err());
        prop_assert!(started.elapsed() < Duration::from_secs(10));
    }
}
