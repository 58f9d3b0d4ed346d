//! Helpers shared by the example programs (`cargo run --example NAME`).

#![warn(missing_docs)]
#![forbid(unsafe_code)]

/// Start logging for an example: `RUST_LOG` if set, else `info`.
pub fn init_logging() {
    let _ = env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info"))
        .format_timestamp_millis()
        .try_init();
}
