//! The `memflux` binary: a thin wrapper over the library.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use memflux::config::{Config, ConfigOverrides};

/// MemFlux: a thread-per-core, Redis-compatible in-memory database.
///
/// Reads config.json from the working directory (writing it with every default when it
/// is missing); every key can be overridden by the flag of the same name.
#[derive(Parser, Debug)]
#[command(name = "memflux", version, about, long_about = None)]
struct Cli {
    /// Configuration file to read (written with defaults when missing).
    #[arg(long, value_name = "FILE", default_value = "config.json")]
    config: PathBuf,

    #[command(flatten)]
    overrides: ConfigOverrides,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let loaded = match Config::load(Some(&cli.config), &cli.overrides) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("memflux: {e}");
            return ExitCode::from(1);
        }
    };
    memflux::logging::init(&loaded.config.log_level);
    if loaded.created {
        tracing::info!("wrote default configuration to {}", loaded.path.display());
    }
    match memflux::server::run(loaded.config, loaded.path) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e}");
            eprintln!("memflux: {e}");
            ExitCode::from(1)
        }
    }
}
