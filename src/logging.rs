//! Logging set-up: `tracing` to stderr, filtered by the configured level (or RUST_LOG).

use tracing_subscriber::EnvFilter;

/// Installs the global subscriber. `level` is a level name or an env-filter directive.
pub fn init(level: &str) {
    let filter = std::env::var("RUST_LOG")
        .ok()
        .and_then(|v| EnvFilter::try_new(v).ok())
        .or_else(|| EnvFilter::try_new(level).ok())
        .unwrap_or_else(|| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).try_init();
}
