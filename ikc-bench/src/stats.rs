//! Latency summaries.

use std::time::Duration;

/// Mean, median and 99th percentile of a set of durations, in µs.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Summary {
    pub(crate) mean_us: f64,
    pub(crate) p50_us: f64,
    pub(crate) p99_us: f64,
}

impl Summary {
    /// Summarise `times` (sorted in place). `None` when there are none.
    pub(crate) fn of(times: &mut [Duration]) -> Option<Self> {
        let n = times.len();
        if n == 0 {
            return None;
        }
        times.sort_unstable();
        let us = |d: Duration| d.as_secs_f64() * 1e6;
        let total: Duration = times.iter().sum();
        Some(Self {
            mean_us: us(total) / n as f64,
            p50_us: us(times[n / 2]),
            p99_us: us(times[(n * 99 / 100).min(n - 1)]),
        })
    }

    /// `mean_us=.. p50_us=.. p99_us=..`
    pub(crate) fn fields(&self) -> String {
        format!(
            "mean_us={:.1} p50_us={:.1} p99_us={:.1}",
            self.mean_us, self.p50_us, self.p99_us
        )
    }
}

/// Events per second, rounded.
pub(crate) fn per_sec(n: u64, elapsed: Duration) -> u64 {
    (n as f64 / elapsed.as_secs_f64()).round() as u64
}
