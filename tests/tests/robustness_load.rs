//! Load (issue 8): 200 clients connecting at the same moment, 1,000
//! connections open at once to one server, and a burst of posts on one
//! channel with none lost or reordered.
//!
//! The million-post burst prints its time; for a release-build number:
//!
//! ```sh
//! cargo test --release -p ikc-tests --test robustness_load burst -- --nocapture
//! ```

use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, ensure};
use ikc_client::{Client, ClientConfig};
use ikc_core::InlineStates;
use ikc_freezer::Value;
use ikc_responder::{Ikc, Responder};
use ikc_tests::robust::{ClientKernel, RECORDER, RawPeer, TestServer, init_logging};

/// Run `per_thread` on `threads` threads with small stacks; collect the
/// results (a thread that panicked is an error).
fn on_threads<T: Send + 'static>(
    threads: usize,
    per_thread: impl Fn(usize) -> anyhow::Result<T> + Send + Sync + 'static,
) -> anyhow::Result<Vec<T>> {
    let per_thread = Arc::new(per_thread);
    let handles = (0..threads)
        .map(|i| {
            let f = Arc::clone(&per_thread);
            thread::Builder::new()
                .name(format!("load {i}"))
                .stack_size(256 << 10)
                .spawn(move || f(i))
        })
        .collect::<Result<Vec<_>, _>>()?;
    handles
        .into_iter()
        .map(|h| h.join().map_err(|_| anyhow!("a client thread panicked"))?)
        .collect()
}

#[test]
fn two_hundred_clients_connecting_at_the_same_moment_all_get_answers() -> anyhow::Result<()> {
    init_logging();
    const CLIENTS: usize = 200;
    let mut server = TestServer::start("Server")?;
    let port = server.port;
    let barrier = Arc::new(Barrier::new(CLIENTS));
    let answers = on_threads(CLIENTS, move |i| {
        barrier.wait();
        let mut peer = RawPeer::negotiate(port, &format!("Crowd{i}"), "Storable")
            .with_context(|| format!("client {i} negotiating"))?;
        let answer = peer.call("test/add_1", i as i64)?;
        Ok((i, answer))
    })?;
    for (i, answer) in answers {
        ensure!(
            answer == Value::Int(i as i64 + 1),
            "client {i} got {answer:?}"
        );
    }
    let registered = server
        .notices()
        .wait_nth(CLIENTS, "every client registered", |n| {
            n.what == "register" && n.real && n.kernel.starts_with("Crowd")
        });
    registered?;
    server.shutdown()
}

#[test]
fn a_thousand_connections_open_at_once_to_one_server() -> anyhow::Result<()> {
    init_logging();
    const WANTED: usize = 1000;
    const THREADS: usize = 10;
    // Both ends of every connection live in this process, plus some slack.
    let need = (2 * WANTED + 200) as u64;
    let limit = rlimit::increase_nofile_limit(need).unwrap_or(0);
    let connections = if limit >= need {
        WANTED
    } else {
        let fit = (limit.saturating_sub(200) / 2) as usize / THREADS * THREADS;
        println!(
            "open-files limit is {limit} (hard): testing {fit} connections instead of {WANTED}"
        );
        fit
    };
    ensure!(connections >= 100, "too few descriptors to test: {limit}");
    let per_thread = connections / THREADS;

    let mut server = TestServer::start("Server")?;
    let port = server.port;
    let all_open = Arc::new(Barrier::new(THREADS));
    let all_done = Arc::new(Barrier::new(THREADS));
    let answered = on_threads(THREADS, move |t| {
        let mut peers = Vec::with_capacity(per_thread);
        for i in 0..per_thread {
            let name = format!("Many{}", t * per_thread + i);
            peers.push(RawPeer::negotiate(port, &name, "IKC::Native")?);
        }
        // Every connection is open and negotiated; now each makes a call.
        all_open.wait();
        let mut answered = 0;
        for peer in &mut peers {
            ensure!(peer.call("test/fetchQ", ())? == Value::Int(42));
            answered += 1;
        }
        // Keep them open until every thread is done.
        all_done.wait();
        Ok(answered)
    })?;
    ensure!(answered.iter().sum::<usize>() == connections);
    server
        .notices()
        .wait_nth(connections, "every connection registered", |n| {
            n.what == "register" && n.real && n.kernel.starts_with("Many")
        })?;
    server
        .notices()
        .wait_nth(connections, "every connection closed", |n| {
            n.what == "unregister" && n.real && n.kernel.starts_with("Many")
        })?;
    server.shutdown()
}

/// The `sink` session of the burst's server: `seq n` must come with n =
/// 0, 1, 2, ...; `seq_done total` reports `sink [received, out_of_order,
/// total]` to the recorder.
fn sink() -> InlineStates<(i64, i64, i64)> {
    InlineStates::with_heap((0_i64, 0_i64, 0_i64))
        .state("_start", |_, ctx, _| {
            let _ = ctx.alias_set("sink");
            Responder::spawn(ctx).publish("sink", &["seq", "seq_done"]);
        })
        .state("seq", |(next, received, disorder), _, ev| {
            let n = ev.arg(0).and_then(Value::as_i64).unwrap_or(-1);
            if n != *next {
                *disorder += 1;
            }
            *next = n + 1;
            *received += 1;
        })
        .state("seq_done", |(_, received, disorder), ctx, ev| {
            let total = ev.arg(0).cloned().unwrap_or_default();
            let report = vec![Value::from(*received), Value::from(*disorder), total];
            let _ = ctx.post(RECORDER, "sink", report);
        })
}

/// A client kernel posts `total` sequence numbers to the server's sink as
/// fast as it can (`chunk` posts per event, so the channel writes between
/// chunks), then `seq_done`. Returns the time from the first post to the
/// sink's report.
fn burst(total: i64, chunk: i64) -> anyhow::Result<Duration> {
    init_logging();
    let mut server = TestServer::builder("Server")
        .setup(|kernel| {
            kernel.spawn(sink());
        })
        .start()?;
    let port = server.port;
    let (client, ()) = ClientKernel::start("client Burst", move |kernel| {
        // Each post carries its caller's details (issue 13), about 110
        // bytes more than IKC's own keys: a million unthrottled posts can
        // queue well past the default 64 MB high-water mark while a slow
        // (debug, loaded) server catches up.
        let config = ClientConfig::tcp("127.0.0.1", port)
            .name("Burst")
            .high_water(256 * 1024 * 1024)
            .on_connect(|ctx| {
                let _ = ctx.post("burster", "go", vec![Value::from(0)]);
            });
        Client::spawn(kernel, config)?;
        kernel.spawn(
            InlineStates::new()
                .state("_start", |_, ctx, _| {
                    let _ = ctx.alias_set("burster");
                })
                .state("go", move |_, ctx, ev| {
                    let Some(ikc) = Ikc::of(ctx) else { return };
                    let from = ev.arg(0).and_then(Value::as_i64).unwrap_or(0);
                    if from == 0 {
                        let _ = ctx.post(RECORDER, "started", Vec::new());
                    }
                    let to = (from + chunk).min(total);
                    for n in from..to {
                        ikc.post(ctx, "poe://Server/sink/seq", n);
                    }
                    if to < total {
                        ctx.yield_("go", vec![Value::from(to)]);
                    } else {
                        ikc.post(ctx, "poe://Server/sink/seq_done", total);
                    }
                }),
        );
        Ok(())
    })?;
    let mut client = client;
    client
        .notices
        .wait("burst started", |n| n.what == "started")?;
    let started = Instant::now();
    // Generous: a million posts in a debug build take a while.
    let report =
        server
            .notices()
            .wait_within(Duration::from_secs(300), 1, "the sink's report", |n| {
                n.what == "sink"
            })?;
    let elapsed = started.elapsed();
    let received = report.args[0].as_i64();
    let disorder = report.args[1].as_i64();
    ensure!(
        received == Some(total) && disorder == Some(0),
        "the sink received {received:?} of {total}, {disorder:?} out of order"
    );
    let lost = client
        .notices
        .count(|n| n.what == "error" || n.what == "unregister");
    ensure!(
        lost == 0,
        "the client saw errors: {:#?}",
        client.notices.drain()
    );
    client.shutdown()?;
    server.shutdown()?;
    Ok(elapsed)
}

#[test]
fn a_burst_of_a_million_posts_arrives_complete_and_in_order() -> anyhow::Result<()> {
    let elapsed = burst(1_000_000, 10_000)?;
    println!(
        "burst: 1000000 posts in {elapsed:?} ({:.0} posts/s)",
        1e6 / elapsed.as_secs_f64()
    );
    Ok(())
}
