//! Round-trip time of sequential `call`s (`test/fetchQ`, answered 42).
//!
//! ```sh
//! cargo bench -p ikc-clientlite --bench rtt
//! IKC_RTT_PORT=31337 [IKC_RTT_HOST=127.0.0.1] cargo bench -p ikc-clientlite --bench rtt
//! ```
//!
//! Without `IKC_RTT_PORT` it starts the in-process test server (threads of
//! this process, on 127.0.0.1). With it, it calls the server there, which
//! must publish `test/fetchQ` (ours, or Perl's `perl-server.pl`).
//! `IKC_RTT_N` sets the number of calls per line (default 10000). One line
//! is printed per freezer offered.

#[path = "../tests/util/mod.rs"]
mod util;

use std::time::{Duration, Instant};

use anyhow::{Context, Result, ensure};
use ikc_clientlite::Builder;

fn main() -> Result<()> {
    let n: usize = std::env::var("IKC_RTT_N")
        .ok()
        .map(|n| n.parse())
        .transpose()
        .context("IKC_RTT_N")?
        .unwrap_or(10_000);
    ensure!(n > 0, "IKC_RTT_N must be positive");
    let external = std::env::var("IKC_RTT_PORT").ok();
    let local = match external {
        Some(_) => None,
        None => Some(util::TestServer::start()?),
    };
    let (host, port, server) = match (&external, &local) {
        (Some(port), _) => (
            std::env::var("IKC_RTT_HOST").unwrap_or_else(|_| "127.0.0.1".to_owned()),
            port.parse().context("IKC_RTT_PORT")?,
            "external",
        ),
        (None, Some(server)) => ("127.0.0.1".to_owned(), server.port(), "in-process"),
        (None, None) => unreachable!("one of the two is set"),
    };
    for freezer in [None, Some("Storable"), Some("POE::Component::IKC::Freezer")] {
        let mut builder = Builder::tcp(host.as_str(), port).timeout(Duration::from_secs(10));
        if let Some(freezer) = freezer {
            builder = builder.freezer(freezer);
        }
        let mut poe = builder.connect()?;
        let negotiated = poe.peer().map(|p| p.freezer.clone()).unwrap_or_default();
        for _ in 0..n.min(500) {
            poe.call("test/fetchQ", ())?;
        }
        let mut times = Vec::with_capacity(n);
        for _ in 0..n {
            let start = Instant::now();
            let answer = poe.call("test/fetchQ", ())?;
            times.push(start.elapsed());
            ensure!(answer.as_i64() == Some(42), "fetchQ answered {answer}");
        }
        times.sort_unstable();
        let total: Duration = times.iter().sum();
        let us = |d: Duration| d.as_secs_f64() * 1e6;
        println!(
            "lite-rtt n={n} mean_us={:.1} p50_us={:.1} p99_us={:.1} freezer={negotiated} server={server}",
            us(total) / n as f64,
            us(times[n / 2]),
            us(times[(n * 99 / 100).min(n - 1)]),
        );
        poe.disconnect();
    }
    Ok(())
}
