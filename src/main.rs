//! The `memflux` binary: a thin wrapper over the library (the server, `memflux inspect`).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use memflux::config::{Config, ConfigOverrides};
use memflux::storage::inspect::{self, Output};

/// MemFlux: a thread-per-core, Redis-compatible in-memory database.
///
/// Without a subcommand, runs the server: reads config.json from the working directory
/// (writing it with every default when it is missing); every key can be overridden by the
/// flag of the same name.
#[derive(Parser, Debug)]
#[command(name = "memflux", version, about, long_about = None, args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,

    /// Configuration file to read (written with defaults when missing).
    #[arg(long, value_name = "FILE", default_value = "config.json")]
    config: PathBuf,

    #[command(flatten)]
    overrides: ConfigOverrides,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Read a data directory, a shard's folder, a snapshot or a WAL segment offline (safe
    /// while the server runs). Exit code 0: healthy, 1: damage found, 2: could not inspect.
    Inspect {
        /// Data directory, shard folder, snapshot.mfs(.tmp) or wal-<seq>.log.
        path: PathBuf,
        /// Print one JSON document instead of text.
        #[arg(long, conflicts_with = "keys")]
        json: bool,
        /// Print every snapshot entry and WAL record as a JSON line.
        #[arg(long)]
        keys: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Some(Command::Inspect { path, json, keys }) = &cli.command {
        let output = match (json, keys) {
            (true, _) => Output::Json,
            (_, true) => Output::Keys,
            _ => Output::Text,
        };
        return ExitCode::from(inspect::run(path, output));
    }
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
