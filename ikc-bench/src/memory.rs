//! `memory`: the resident size of a server holding `--connections` idle
//! ClientLite connections (each negotiated), per connection.

use anyhow::{Context, Result, ensure};
use ikc_clientlite::{Builder, ClientLite};

use crate::args::Args;
use crate::codec_name;
use crate::oneway::bench_state;
use crate::process::{ServerProcess, rss_kib};

/// File descriptors this process needs besides the connections.
const SPARE_FDS: u64 = 64;

/// Returns the bytes per connection.
pub(crate) fn run(args: &Args) -> Result<u64> {
    let connections: u64 = args.number("connections", 1000)?;
    let codec = args.get_or("codec", "native");
    let name = codec_name(codec)?;
    ensure!(connections > 0, "--connections must be positive");
    raise_fd_limit(connections + SPARE_FDS)?;
    let server = ServerProcess::start(args)?;
    let pid = server
        .pid()
        .context("the memory scenario starts its own server (no --connect)")?;
    let port = server.port();
    let connect =
        || -> Result<ClientLite> { Ok(Builder::tcp("127.0.0.1", port).freezer(name).connect()?) };
    // One connection first, so that what every connection shares (code,
    // the allocator's arenas) is counted in "before".
    let mut first = connect()?;
    first.ping()?;
    first.disconnect();
    let mut check = connect()?;
    check.ping()?;
    let before = rss_kib(pid)?;
    let mut held = Vec::with_capacity(connections as usize);
    for _ in 0..connections {
        held.push(connect()?);
    }
    // The server has answered every handshake; one more round trip on the
    // first connection makes sure it is done with all of them.
    check.ping()?;
    let after = rss_kib(pid)?;
    check.post(bench_state("quit").as_str(), ())?;
    drop(held);
    server.finish()?;
    let per_connection = (after.saturating_sub(before) * 1024) / connections;
    println!(
        "memory codec={codec} connections={connections} rss_before_kib={before} rss_after_kib={after} per_connection_bytes={per_connection}"
    );
    Ok(per_connection)
}

/// Make sure `needed` file descriptors can be open, raising the soft limit
/// (up to the hard one) if it is lower. The server process inherits it.
fn raise_fd_limit(needed: u64) -> Result<()> {
    let got = rlimit::increase_nofile_limit(needed).context("raising RLIMIT_NOFILE")?;
    ensure!(
        got >= needed,
        "{needed} file descriptors are needed but the hard limit allows only {got}"
    );
    Ok(())
}
