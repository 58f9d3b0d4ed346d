//! A logger that keeps what each thread logged, so that a test can check
//! the warnings its client gave (tests run in parallel threads).

use std::sync::{Mutex, PoisonError};
use std::thread::{self, ThreadId};

use log::{Level, LevelFilter, Log, Metadata, Record};

static RECORDS: Mutex<Vec<(ThreadId, Level, String)>> = Mutex::new(Vec::new());

struct Capture;

static LOGGER: Capture = Capture;

impl Log for Capture {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.level() <= Level::Info
    }

    fn log(&self, record: &Record<'_>) {
        if self.enabled(record.metadata()) {
            RECORDS
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push((
                    thread::current().id(),
                    record.level(),
                    record.args().to_string(),
                ));
        }
    }

    fn flush(&self) {}
}

/// Install the logger (once per test binary; later calls do nothing).
pub fn init() {
    if log::set_logger(&LOGGER).is_ok() {
        log::set_max_level(LevelFilter::Info);
    }
}

/// The warnings this thread logged so far, taken out of the log.
pub fn take_warnings() -> Vec<String> {
    let me = thread::current().id();
    let mut records = RECORDS.lock().unwrap_or_else(PoisonError::into_inner);
    let (mine, others): (Vec<_>, Vec<_>) = records
        .drain(..)
        .partition(|(thread, level, _)| *thread == me && *level == Level::Warn);
    *records = others;
    mine.into_iter().map(|(_, _, text)| text).collect()
}
