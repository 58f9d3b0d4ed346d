//! `all`: every scenario, then each figure next to its reference from the
//! same run (raw TCP, Erlang) and the ratio, one `compare` line each:
//!
//! ```text
//! compare figure=oneway-native value=.. unit=msgs_per_sec reference=erlang-oneway reference_value=.. ratio=.. aim=ratio>=10
//! ```

use anyhow::Result;

use crate::args::Args;
use crate::{erlang, local, memory, oneway, pingpong, rtt};

/// One `compare` line.
fn compare(figure: &str, value: f64, unit: &str, reference: Option<(&str, f64)>, aim: &str) {
    let mut line = format!("compare figure={figure} value={value:.1} unit={unit}");
    if let Some((name, reference)) = reference {
        line += &format!(
            " reference={name} reference_value={reference:.1} ratio={:.2} difference={:+.1}",
            value / reference,
            value - reference
        );
    }
    println!("{line} aim={aim}");
}

pub(crate) fn run(args: &Args) -> Result<()> {
    let oneway_native = oneway::run(&args.with("codec", "native"))?;
    let oneway_storable = oneway::run(&args.with("codec", "storable"))?;
    let rtt_native = rtt::kernel_rtt(&args.with("codec", "native"))?;
    rtt::kernel_rtt(&args.with("codec", "storable"))?;
    let (raw, _) = pingpong::run(args)?;
    let lite = rtt::lite_rtt(args)?;
    let fanin = rtt::fanin(args)?;
    let (_, raw_fanin) = pingpong::run(&args.with("threads", "100"))?;
    let erlang = erlang::run(args)?;
    local::run(args)?;
    let memory = memory::run(args)?;

    let erlang_oneway = erlang.map(|e| ("erlang-oneway", e.oneway_per_sec as f64));
    let erlang_rtt = erlang.map(|e| ("erlang-pingpong-p50", e.rtt.p50_us));
    compare(
        "oneway-native",
        oneway_native as f64,
        "msgs_per_sec",
        erlang_oneway,
        "value>=2000000,ratio>=10",
    );
    compare(
        "oneway-storable",
        oneway_storable as f64,
        "msgs_per_sec",
        erlang_oneway,
        "value>=1000000",
    );
    compare(
        "rtt-p50",
        rtt_native.p50_us,
        "us",
        Some(("pingpong-p50", raw.p50_us)),
        "difference<=5",
    );
    if erlang_rtt.is_some() {
        compare("rtt-p50", rtt_native.p50_us, "us", erlang_rtt, "ratio<1");
    }
    compare(
        "lite-rtt-p50",
        lite.p50_us,
        "us",
        Some(("pingpong-p50", raw.p50_us)),
        "difference<=5",
    );
    compare(
        "fanin",
        fanin as f64,
        "calls_per_sec",
        Some(("pingpong-fanin", raw_fanin as f64)),
        "ratio>=0.80",
    );
    compare(
        "memory-per-connection",
        memory as f64,
        "bytes",
        None,
        "value<=8192",
    );
    Ok(())
}
