//! Logging set-up: `tracing` to stderr, filtered by the configured level (or RUST_LOG).
//! The filter can be changed at run time (CONFIG SET loglevel).

use std::sync::OnceLock;

use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{fmt, reload, EnvFilter, Registry};

static FILTER: OnceLock<reload::Handle<EnvFilter, Registry>> = OnceLock::new();

fn filter_for(level: &str) -> EnvFilter {
    EnvFilter::try_new(level).unwrap_or_else(|_| EnvFilter::new("info"))
}

/// Installs the global subscriber. `level` is a level name or an env-filter directive;
/// RUST_LOG, when set, wins.
pub fn init(level: &str) {
    let filter = std::env::var("RUST_LOG")
        .ok()
        .and_then(|v| EnvFilter::try_new(v).ok())
        .unwrap_or_else(|| filter_for(level));
    let (filter, handle) = reload::Layer::new(filter);
    if tracing_subscriber::registry()
        .with(filter)
        .with(fmt::layer().with_writer(std::io::stderr))
        .try_init()
        .is_ok()
    {
        let _ = FILTER.set(handle);
    }
}

/// Changes the filter of the running server.
pub fn set_level(level: &str) {
    if let Some(h) = FILTER.get() {
        let _ = h.reload(filter_for(level));
    }
}
