//! Encode + decode of a typical IKC post message, per codec, on one core.
//!
//! Run with `cargo bench -p ikc-freezer --bench codecs`. Prints one line
//! per codec: `codec=NAME encode_decode_msgs_per_sec=N bytes=B`.

use std::hint::black_box;
use std::time::{Duration, Instant};

use anyhow::{Result, ensure};
use ikc_freezer::{Hash, Registry, Value};

/// `{event => 'poe://Server/test/here', params => {seq => i, name => 'hello
/// world', vals => [1,2,3]}, from => {kernel => 'Client', session => 'me',
/// state => 'IKC:proxy'}}`
fn message(seq: i64) -> Value {
    let mut params = Hash::with_capacity(3);
    params.insert("seq", seq);
    params.insert("name", "hello world");
    params.insert("vals", vec![1, 2, 3]);
    let mut from = Hash::with_capacity(3);
    from.insert("kernel", "Client");
    from.insert("session", "me");
    from.insert("state", "IKC:proxy");
    let mut msg = Hash::with_capacity(3);
    msg.insert("event", "poe://Server/test/here");
    msg.insert("params", params);
    msg.insert("from", from);
    Value::Hash(msg)
}

fn main() -> Result<()> {
    // `cargo bench -p ikc-freezer --bench codecs -- native` runs one codec;
    // `IKC_BENCH_ITERATIONS=N` runs exactly N messages (for a profiler).
    let only: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let fixed: Option<u64> = std::env::var("IKC_BENCH_ITERATIONS")
        .ok()
        .and_then(|n| n.parse().ok());
    let registry = Registry::standard();
    let msg = message(12345);
    let mut out = Vec::with_capacity(512);
    for name in registry.names() {
        let short = match name {
            ikc_freezer::NATIVE => "native",
            ikc_freezer::STORABLE => "storable",
            ikc_freezer::DUMPER => "dumper",
            other => other,
        };
        if !only.is_empty() && !only.iter().any(|o| o == short) {
            continue;
        }
        let Some(codec) = registry.get(name) else {
            continue;
        };
        out.clear();
        codec.freeze(&msg, &mut out)?;
        let size = out.len();
        let back = codec.thaw(&out)?;
        ensure!(
            back["params"]["seq"].as_i64() == Some(12345),
            "{name} lost the message"
        );

        // Warm up, then run for about a second.
        let mut iterations: u64 = 0;
        let budget = Duration::from_millis(1000);
        let start = Instant::now();
        while fixed.map_or_else(|| start.elapsed() < budget, |n| iterations < n) {
            for _ in 0..1000 {
                out.clear();
                codec.freeze(black_box(&msg), &mut out)?;
                black_box(codec.thaw(black_box(&out))?);
            }
            iterations += 1000;
        }
        let secs = start.elapsed().as_secs_f64();
        println!(
            "codec={short} encode_decode_msgs_per_sec={:.0} bytes={size}",
            iterations as f64 / secs
        );
    }
    Ok(())
}
