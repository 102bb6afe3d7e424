//! Server configuration: `config.json`, command-line overrides and the
//! run-time `CONFIG GET` / `CONFIG SET` view of it.
//!
//! The file is, field for field, the [`Config`] struct. When it is missing it
//! is written with every default so that an operator always has a complete,
//! discoverable file to edit instead of having to learn the keys from docs.
//! Every key also has a command-line flag of the same name
//! ([`ConfigOverrides`]) that wins over the file, which is what scripts and
//! tests want: start a server on another port without editing shared files.
//!
//! The command-line side is [`ConfigOverrides`], flattened into the binary's
//! clap parser; `memflux --help` lists every flag with its default.
//!
//! Errors are meant to be read by a person at a terminal, so every
//! [`ConfigError`] renders as a single line that names the file (or the flag)
//! and the offending key, rather than serde's generic wording.

use std::fmt;
use std::fs;
use std::io::{self, Write};
use std::net::IpAddr;
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::util::glob::glob_match;

/// File read from the working directory when no `--config` is given.
pub const DEFAULT_CONFIG_FILE: &str = "config.json";

/// Upper bound for `shards`. Far above any realistic core count; it exists so
/// that a typo such as `shards: 80000` fails at start-up instead of trying to
/// spawn tens of thousands of threads and data directories.
pub const MAX_SHARDS: usize = 1024;

/// Upper bound for `databases`. Redis allows up to `INT_MAX`, but every
/// database costs a keyspace per shard, so a smaller cap catches typos while
/// staying far beyond what any client uses.
pub const MAX_DATABASES: usize = 1_000_000;

/// Upper bound for `maxclients`, Redis's own (`UINT_MAX`).
pub const MAX_MAXCLIENTS: usize = u32::MAX as usize;

/// Upper bound for `timeout` in seconds, Redis's own (`INT_MAX`).
pub const MAX_TIMEOUT: u64 = i32::MAX as u64;

/// Lower bound for the byte-size limits. Redis refuses anything below 1mb for
/// both `proto-max-bulk-len` and `client-query-buffer-limit`; we keep the same
/// floor so that a config accepted here is also meaningful to Redis tooling,
/// and because smaller limits break ordinary clients (a 1 KiB bulk limit
/// rejects a modest JSON document).
pub const MIN_BYTE_LIMIT: u64 = 1024 * 1024;

/// Upper bound for the byte-size limits, Redis's own (`LONG_MAX`). Keeping the
/// value representable as `i64` means it can always be reported through RESP
/// integers and compared with signed lengths without overflow.
pub const MAX_BYTE_LIMIT: u64 = i64::MAX as u64;

/// Upper bound for `wal_size_threshold_mb`: 1 TiB of write-ahead log per
/// shard. Far beyond any sensible setting; it exists so that a typo fails at
/// start-up and so that the value in bytes always fits an `i64`.
pub const MAX_WAL_SIZE_THRESHOLD_MB: u64 = 1024 * 1024;

/// Levels accepted by `log_level` (and tracing's `LevelFilter`).
pub const LOG_LEVELS: [&str; 6] = ["error", "warn", "info", "debug", "trace", "off"];

/// The configuration keys, in struct (and therefore file) order. Used for the
/// "known keys" hint and kept honest by a test against the serialized struct.
pub const CONFIG_KEYS: [&str; 13] = [
    "host",
    "port",
    "dir",
    "shards",
    "pin_cpus",
    "databases",
    "maxclients",
    "log_level",
    "proto_max_bulk_len",
    "client_query_buffer_limit",
    "timeout",
    "durability",
    "wal_size_threshold_mb",
];

/// Redis's log level names, mapped to the tracing level with the closest
/// meaning. Accepted by `CONFIG SET loglevel` so Redis tooling keeps working.
const REDIS_LOG_LEVELS: [(&str, &str); 5] = [
    ("debug", "debug"),
    ("verbose", "debug"),
    ("notice", "info"),
    ("warning", "warn"),
    ("nothing", "off"),
];

/// When a write is acknowledged relative to its write-ahead log (WAL) record
/// reaching the disk; the `durability` key.
///
/// * `always` — a write is acknowledged only after an fdatasync covers its
///   WAL record (the default).
/// * `everysec` — the WAL is synced at least once a second.
/// * `no` — the WAL is written but the OS decides when it reaches the disk.
/// * `off` — no WAL at all: data survives a restart only through SAVE/BGSAVE
///   snapshots.
///
/// The first three are Redis's `appendfsync` values, which is the name
/// CONFIG GET/SET uses for this key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Durability {
    Always,
    Everysec,
    No,
    Off,
}

impl Durability {
    /// Every mode, in the order the documentation lists them.
    pub const ALL: [Durability; 4] = [
        Durability::Always,
        Durability::Everysec,
        Durability::No,
        Durability::Off,
    ];

    /// The mode as written in `config.json` and reported by CONFIG GET.
    pub fn as_str(self) -> &'static str {
        match self {
            Durability::Always => "always",
            Durability::Everysec => "everysec",
            Durability::No => "no",
            Durability::Off => "off",
        }
    }

    /// Parses a mode name, case-insensitively.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|mode| mode.as_str().eq_ignore_ascii_case(s))
    }
}

impl fmt::Display for Durability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The server configuration; `config.json` holds exactly these keys.
///
/// Every field has a hand-written deserializer so that a wrong value produces
/// an error naming its key (serde_json alone only reports "invalid type:
/// string, expected u16" with no key), and so that byte sizes may be written
/// with Redis units.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Address to listen on. Default: 127.0.0.1
    #[serde(deserialize_with = "de::host")]
    pub host: String,
    /// TCP port. Default: 8360
    #[serde(deserialize_with = "de::port")]
    pub port: u16,
    /// Data directory; shard N keeps its files in `<dir>/<N>/`. Default: "shards"
    #[serde(deserialize_with = "de::dir")]
    pub dir: PathBuf,
    /// Number of shards (one executor per shard). 0 = one per available core. Default: 0
    #[serde(deserialize_with = "de::shards")]
    pub shards: usize,
    /// Pin shard N's thread to CPU N. Default: false
    #[serde(deserialize_with = "de::pin_cpus")]
    pub pin_cpus: bool,
    /// Number of logical databases (SELECT 0..n-1). Default: 16
    #[serde(deserialize_with = "de::databases")]
    pub databases: usize,
    /// Maximum simultaneously connected clients. Default: 10000
    #[serde(deserialize_with = "de::maxclients")]
    pub maxclients: usize,
    /// tracing filter: error, warn, info, debug, trace (or an env-filter directive). Default: info
    #[serde(deserialize_with = "de::log_level")]
    pub log_level: String,
    /// Largest bulk string a client may send. Default: 512 MiB (536870912)
    #[serde(deserialize_with = "de::proto_max_bulk_len")]
    pub proto_max_bulk_len: u64,
    /// Largest query buffer per client before it is disconnected. Default: 1 GiB
    #[serde(deserialize_with = "de::client_query_buffer_limit")]
    pub client_query_buffer_limit: u64,
    /// Close a client idle for this many seconds; 0 = never. Default: 0
    #[serde(deserialize_with = "de::timeout")]
    pub timeout: u64,
    /// When writes reach the disk: always (acknowledged after an fdatasync
    /// covers the WAL record), everysec (WAL synced at least once a second),
    /// no (WAL written, the OS decides when it reaches the disk) or off (no
    /// WAL; only SAVE/BGSAVE snapshots survive a restart). Default: always
    #[serde(deserialize_with = "de::durability")]
    pub durability: Durability,
    /// When a shard's write-ahead log grows past this many MiB, the shard
    /// takes a snapshot and drops the log it covers. Default: 128
    #[serde(deserialize_with = "de::wal_size_threshold_mb")]
    pub wal_size_threshold_mb: u64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            host: "127.0.0.1".to_string(),
            port: 8360,
            dir: PathBuf::from("shards"),
            shards: 0,
            pin_cpus: false,
            databases: 16,
            maxclients: 10_000,
            log_level: "info".to_string(),
            proto_max_bulk_len: 512 * 1024 * 1024,
            client_query_buffer_limit: 1024 * 1024 * 1024,
            timeout: 0,
            durability: Durability::Always,
            wal_size_threshold_mb: 128,
        }
    }
}

/// Result of [`Config::load`].
#[derive(Debug, Clone)]
pub struct Loaded {
    /// The effective configuration: file, then command-line overrides.
    pub config: Config,
    /// The file that was read (or created), as given.
    pub path: PathBuf,
    /// True when the file did not exist and the defaults were written to it,
    /// so the caller can log where a fresh config was put.
    pub created: bool,
}

/// Where a rejected value came from, so the message can point at the right
/// place to fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ValueOrigin {
    /// The value was read from this config file.
    File(PathBuf),
    /// The value was given as the command-line flag named after the key.
    Flag,
    /// The value was set programmatically (e.g. a `Config` built in code).
    Unspecified,
}

/// Why the configuration could not be loaded. `Display` is a single line
/// meant for a terminal: it names the file or flag and the offending key.
#[derive(thiserror::Error, Debug)]
pub enum ConfigError {
    /// The file exists but could not be read.
    #[error("cannot read {}: {}", path.display(), io_reason(source))]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// The file was missing and the defaults could not be written.
    #[error("cannot write default config to {}: {}", path.display(), io_reason(source))]
    Write {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// The file is not valid JSON, or not the expected shape (unknown key,
    /// wrong type, ...). `line`/`column` are 1-based, 0 when unknown.
    #[error("{}: {message}", path.display())]
    Parse {
        path: PathBuf,
        message: String,
        line: usize,
        column: usize,
    },
    /// A value has the right type but is out of range or malformed.
    #[error("{}", invalid_line(origin, key, message))]
    Invalid {
        origin: ValueOrigin,
        key: &'static str,
        message: String,
    },
}

fn invalid_line(origin: &ValueOrigin, key: &str, message: &str) -> String {
    match origin {
        ValueOrigin::File(path) => format!("{}: key \"{key}\" {message}", path.display()),
        ValueOrigin::Flag => format!("--{key}: {message}"),
        ValueOrigin::Unspecified => format!("{key}: {message}"),
    }
}

/// `io::Error`'s Display appends " (os error N)", which is noise for an
/// operator; the OS's own wording ("Permission denied") is what they need.
fn io_reason(err: &io::Error) -> String {
    let text = err.to_string();
    match text.find(" (os error ") {
        Some(at) => text[..at].to_string(),
        None => text,
    }
}

/// A validation failure before we know where the value came from.
struct Problem {
    key: &'static str,
    message: String,
}

impl Problem {
    fn new(key: &'static str, message: String) -> Self {
        Problem { key, message }
    }
}

impl Config {
    /// Loads the configuration the server runs with.
    ///
    /// Reads `path` (default `config.json` in the working directory); when
    /// the file does not exist it is created with every default first. The
    /// file gets the *defaults*, never the overridden values: a one-off
    /// `--port 9000` must not silently become permanent. Overrides are then
    /// applied and the result validated, with errors attributed to the flag
    /// or the file depending on where the bad value came from.
    pub fn load(path: Option<&Path>, overrides: &ConfigOverrides) -> Result<Loaded, ConfigError> {
        let path = config_path(path);
        let (mut config, created) = read_or_create(&path)?;
        overrides.apply(&mut config);
        config.check().map_err(|problem| {
            let origin = if overrides.is_set(problem.key) {
                ValueOrigin::Flag
            } else {
                ValueOrigin::File(path.clone())
            };
            ConfigError::Invalid {
                origin,
                key: problem.key,
                message: problem.message,
            }
        })?;
        Ok(Loaded {
            config,
            path,
            created,
        })
    }

    /// Parses the contents of a config file. `path` is only used to label
    /// errors. Values are not validated; see [`Config::validate`].
    pub fn from_json(bytes: &[u8], path: &Path) -> Result<Config, ConfigError> {
        // Some Windows editors save UTF-8 with a byte-order mark, which JSON
        // parsers reject with a baffling "expected value at column 1".
        let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        if bytes.iter().all(u8::is_ascii_whitespace) {
            // serde_json would say "EOF while parsing a value at line 1
            // column 0", which hides the simple truth.
            return Err(ConfigError::Parse {
                path: path.to_path_buf(),
                message: "file is empty; expected a JSON object \
                          (delete the file to have the defaults written)"
                    .to_string(),
                line: 0,
                column: 0,
            });
        }
        // serde's derived struct visitor also accepts a JSON array, filling
        // fields by position; a file like `[1, 2]` must not become a config.
        let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
        if first != Some(&b'{') {
            let value: serde_json::Value = serde_json::from_slice(bytes)
                .map_err(|err| friendly_parse_error(&err, bytes, path))?;
            return Err(ConfigError::Parse {
                path: path.to_path_buf(),
                message: format!(
                    "the file must hold a JSON object such as {{\"port\": 8360}}, got {}",
                    json_kind(&value)
                ),
                line: 0,
                column: 0,
            });
        }
        serde_json::from_slice(bytes).map_err(|err| friendly_parse_error(&err, bytes, path))
    }

    /// Pretty JSON with keys in struct order and a trailing newline: the
    /// exact format of the file written by [`write_default`].
    pub fn to_json_pretty(&self) -> Result<String, serde_json::Error> {
        let mut text = serde_json::to_string_pretty(self)?;
        text.push('\n');
        Ok(text)
    }

    /// Checks every value against its allowed range. The error names the key
    /// but not where the value came from; [`Config::load`] adds that.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.check().map_err(|problem| ConfigError::Invalid {
            origin: ValueOrigin::Unspecified,
            key: problem.key,
            message: problem.message,
        })
    }

    fn check(&self) -> Result<(), Problem> {
        if !is_valid_host(&self.host) {
            return Err(Problem::new(
                "host",
                format!(
                    "must be an IP address such as 127.0.0.1, 0.0.0.0 or ::1 (or \"localhost\"), got {:?}",
                    self.host
                ),
            ));
        }
        if self.port == 0 {
            // Redis uses port 0 for "no TCP listener"; MemFlux has no other
            // listener, so 0 can only be a mistake.
            return Err(Problem::new("port", range_message(1, u16::MAX, self.port)));
        }
        if self.dir.as_os_str().is_empty() {
            return Err(Problem::new("dir", "must not be empty".to_string()));
        }
        if self.shards > MAX_SHARDS {
            return Err(Problem::new(
                "shards",
                format!(
                    "must be between 0 and {MAX_SHARDS} (0 = one per core), got {}",
                    self.shards
                ),
            ));
        }
        if !(1..=MAX_DATABASES).contains(&self.databases) {
            return Err(Problem::new(
                "databases",
                range_message(1, MAX_DATABASES, self.databases),
            ));
        }
        if !(1..=MAX_MAXCLIENTS).contains(&self.maxclients) {
            return Err(Problem::new(
                "maxclients",
                range_message(1, MAX_MAXCLIENTS, self.maxclients),
            ));
        }
        if let Err(why) = check_log_filter(&self.log_level) {
            return Err(Problem::new("log_level", why));
        }
        // No cross-check between the two byte limits: like Redis, a bulk
        // limit above the query buffer limit is allowed, because
        // proto_max_bulk_len also caps strings grown in place by APPEND and
        // SETRANGE, which never pass through the query buffer.
        for (key, value) in [
            ("proto_max_bulk_len", self.proto_max_bulk_len),
            ("client_query_buffer_limit", self.client_query_buffer_limit),
        ] {
            if !(MIN_BYTE_LIMIT..=MAX_BYTE_LIMIT).contains(&value) {
                return Err(Problem::new(
                    key,
                    format!("must be between {MIN_BYTE_LIMIT} (1mb) and {MAX_BYTE_LIMIT} bytes, got {value}"),
                ));
            }
        }
        if self.timeout > MAX_TIMEOUT {
            return Err(Problem::new(
                "timeout",
                format!(
                    "must be between 0 and {MAX_TIMEOUT} seconds (0 = never), got {}",
                    self.timeout
                ),
            ));
        }
        if !(1..=MAX_WAL_SIZE_THRESHOLD_MB).contains(&self.wal_size_threshold_mb) {
            return Err(Problem::new(
                "wal_size_threshold_mb",
                range_message(1, MAX_WAL_SIZE_THRESHOLD_MB, self.wal_size_threshold_mb),
            ));
        }
        Ok(())
    }

    /// Number of shard executors to start: `shards`, or one per available
    /// core when it is 0 (capped at [`MAX_SHARDS`], falling back to 1 when the
    /// core count cannot be determined, e.g. in a restricted sandbox).
    pub fn shard_count(&self) -> usize {
        if self.shards != 0 {
            return self.shards;
        }
        std::thread::available_parallelism()
            .map_or(1, NonZeroUsize::get)
            .min(MAX_SHARDS)
    }

    /// `CONFIG GET pattern`: every parameter whose name matches the glob
    /// `pattern` (case-insensitively), as `(redis-name, value)` pairs in a
    /// stable order. A parameter matches through its Redis name
    /// (`proto-max-bulk-len`, `bind`) or through our key (`proto_max_bulk_len`,
    /// `host`); either way it is reported once, under its Redis name.
    /// Callers handling several patterns should de-duplicate by name.
    pub fn config_get(&self, pattern: &[u8]) -> Vec<(String, String)> {
        PARAMS
            .iter()
            .filter(|param| {
                param
                    .names()
                    .any(|name| glob_match(pattern, name.as_bytes(), true))
            })
            .map(|param| (param.redis.to_string(), self.param_value(param.id)))
            .collect()
    }

    /// `CONFIG SET name value` for the parameters that can change while the
    /// server runs. On failure returns the Redis 7 error text (without the
    /// leading `-`) for the caller to send as an error reply; the config is
    /// left unchanged. Applying the new value (e.g. reloading the log filter)
    /// is the caller's job.
    pub fn config_set(&mut self, name: &[u8], value: &[u8]) -> Result<(), String> {
        let as_sent = String::from_utf8_lossy(name);
        let Some(param) = find_param(name) else {
            return Err(format!(
                "ERR Unknown option or number of arguments for CONFIG SET - '{as_sent}'"
            ));
        };
        // Redis names the parameter as sent for "immutable", but by its
        // canonical name once the value itself is rejected; mirror that.
        let failed = |detail: &str| {
            format!(
                "ERR CONFIG SET failed (possibly related to argument '{}') - {detail}",
                param.redis
            )
        };
        let immutable = || {
            format!("ERR CONFIG SET failed (possibly related to argument '{as_sent}') - can't set immutable config")
        };
        // What CONFIG GET appendonly reports, the one value it accepts.
        let appendonly = self.param_value(ParamId::AppendOnly);
        match param.id {
            ParamId::MaxClients => {
                self.maxclients =
                    parse_int_in(value, 1, MAX_MAXCLIENTS as i64).map_err(|e| failed(&e))? as usize;
            }
            ParamId::Timeout => {
                self.timeout =
                    parse_int_in(value, 0, MAX_TIMEOUT as i64).map_err(|e| failed(&e))? as u64;
            }
            ParamId::LogLevel => {
                self.log_level = parse_log_level_setting(value).map_err(|e| failed(&e))?;
            }
            ParamId::ProtoMaxBulkLen => {
                self.proto_max_bulk_len = parse_memory_setting(value).map_err(|e| failed(&e))?;
            }
            ParamId::ClientQueryBufferLimit => {
                self.client_query_buffer_limit =
                    parse_memory_setting(value).map_err(|e| failed(&e))?;
            }
            ParamId::Durability => {
                self.durability =
                    parse_durability_setting(self.durability, value).map_err(|e| failed(&e))?;
            }
            ParamId::WalSizeThresholdMb => {
                self.wal_size_threshold_mb =
                    parse_int_in(value, 1, MAX_WAL_SIZE_THRESHOLD_MB as i64)
                        .map_err(|e| failed(&e))? as u64;
            }
            // These are reported for the benefit of tools that check them,
            // and are fixed while the server runs. Setting them to what they
            // already are is accepted because tools and test suites routinely
            // run `CONFIG SET save ""` to turn snapshots off.
            ParamId::Save if value.is_empty() => {}
            ParamId::AppendOnly if value.eq_ignore_ascii_case(appendonly.as_bytes()) => {}
            ParamId::Host
            | ParamId::Port
            | ParamId::Dir
            | ParamId::Shards
            | ParamId::PinCpus
            | ParamId::Databases
            | ParamId::Save
            | ParamId::AppendOnly => return Err(immutable()),
        }
        Ok(())
    }

    fn param_value(&self, id: ParamId) -> String {
        match id {
            ParamId::Host => self.host.clone(),
            ParamId::Port => self.port.to_string(),
            ParamId::Dir => self.dir.display().to_string(),
            ParamId::Shards => self.shards.to_string(),
            ParamId::PinCpus => yes_no(self.pin_cpus).to_string(),
            ParamId::Databases => self.databases.to_string(),
            ParamId::MaxClients => self.maxclients.to_string(),
            ParamId::LogLevel => self.log_level.clone(),
            ParamId::ProtoMaxBulkLen => self.proto_max_bulk_len.to_string(),
            ParamId::ClientQueryBufferLimit => self.client_query_buffer_limit.to_string(),
            ParamId::Timeout => self.timeout.to_string(),
            ParamId::Durability => self.durability.as_str().to_string(),
            ParamId::WalSizeThresholdMb => self.wal_size_threshold_mb.to_string(),
            ParamId::Save => String::new(),
            ParamId::AppendOnly => yes_no(self.durability != Durability::Off).to_string(),
        }
    }
}

/// The file [`Config::load`] uses: `path`, or `config.json` in the working
/// directory. Kept relative so messages show the path as the operator knows it.
pub fn config_path(path: Option<&Path>) -> PathBuf {
    path.map_or_else(|| PathBuf::from(DEFAULT_CONFIG_FILE), Path::to_path_buf)
}

fn yes_no(flag: bool) -> &'static str {
    if flag {
        "yes"
    } else {
        "no"
    }
}

fn range_message(min: impl fmt::Display, max: impl fmt::Display, got: impl fmt::Display) -> String {
    format!("must be between {min} and {max}, got {got}")
}

fn is_valid_host(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost") || host.parse::<IpAddr>().is_ok()
}

/// Reads and parses `path`, or writes the defaults there when it is missing.
fn read_or_create(path: &Path) -> Result<(Config, bool), ConfigError> {
    match fs::read(path) {
        Ok(bytes) => return Ok((Config::from_json(&bytes, path)?, false)),
        Err(err) if err.kind() == io::ErrorKind::NotFound => {}
        Err(source) => {
            return Err(ConfigError::Read {
                path: path.to_path_buf(),
                source,
            })
        }
    }
    match write_default(path) {
        Ok(()) => Ok((Config::default(), true)),
        // Another process created the file between our read and our write
        // (two servers started together). Use theirs rather than fail.
        Err(ConfigError::Write { source, .. }) if source.kind() == io::ErrorKind::AlreadyExists => {
            let bytes = fs::read(path).map_err(|source| ConfigError::Read {
                path: path.to_path_buf(),
                source,
            })?;
            Ok((Config::from_json(&bytes, path)?, false))
        }
        Err(err) => Err(err),
    }
}

/// Writes the default configuration to `path` as pretty JSON (keys in struct
/// order, trailing newline).
///
/// Refuses to replace an existing file (the error's source is then
/// `AlreadyExists`): the file is only ever generated when missing, and
/// creating it exclusively means a race with another process can never
/// clobber an operator's edits. A partially written file is removed so the
/// next start does not trip over truncated JSON.
pub fn write_default(path: &Path) -> Result<(), ConfigError> {
    let write_error = |source: io::Error| ConfigError::Write {
        path: path.to_path_buf(),
        source,
    };
    let text = Config::default()
        .to_json_pretty()
        .map_err(|err| write_error(io::Error::other(err)))?;
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(write_error)?;
    if let Err(err) = file
        .write_all(text.as_bytes())
        .and_then(|()| file.sync_all())
    {
        drop(file);
        let _ = fs::remove_file(path);
        return Err(write_error(err));
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Memory values
// ---------------------------------------------------------------------------

/// Parses a byte count with Redis memory units, following Redis's `memtoull`:
/// ASCII digits followed by an optional case-insensitive unit `b` (1), `k`
/// (1000), `kb` (1024), `m` (10^6), `mb` (2^20), `g` (10^9) or `gb` (2^30).
/// No sign, whitespace or fraction is allowed; overflow yields `None`.
///
/// One deliberate difference: Redis reads a unit with no digits ("mb") as 0;
/// here it is rejected, since it is always a typo.
pub fn parse_memory(s: &str) -> Option<u64> {
    let digits_end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (digits, unit) = s.split_at(digits_end);
    if digits.is_empty() {
        return None;
    }
    let multiplier: u64 = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" => 1000,
        "kb" => 1024,
        "m" => 1000 * 1000,
        "mb" => 1024 * 1024,
        "g" => 1000 * 1000 * 1000,
        "gb" => 1024 * 1024 * 1024,
        _ => return None,
    };
    digits.parse::<u64>().ok()?.checked_mul(multiplier)
}

/// Formats a byte count with the largest binary Redis unit that represents it
/// exactly (`536870912` → `512mb`), for help text and messages.
pub fn format_memory(bytes: u64) -> String {
    const UNITS: [(u64, &str); 3] = [(1 << 30, "gb"), (1 << 20, "mb"), (1 << 10, "kb")];
    if bytes != 0 {
        for (size, unit) in UNITS {
            if bytes.is_multiple_of(size) {
                return format!("{}{unit}", bytes / size);
            }
        }
    }
    bytes.to_string()
}

/// clap value parser for byte-size flags.
fn parse_memory_arg(s: &str) -> Result<u64, String> {
    parse_memory(s).ok_or_else(|| {
        "expected a byte count such as 536870912, 512mb or 1gb \
         (units: k, kb, m, mb, g, gb)"
            .to_string()
    })
}

// ---------------------------------------------------------------------------
// Log filter
// ---------------------------------------------------------------------------

/// Checks that `filter` looks like something tracing's env-filter accepts:
/// a level, or comma-separated directives `level` / `target=level` /
/// `target[span]=level`.
///
/// Stricter than env-filter in one way: a bare word must be a level. A bare
/// target (`memflux`, meaning "everything from memflux") is legal there, but
/// a misspelt level (`warnn`) would be read the same way and silently log at
/// trace level, which is the worse failure; `memflux=trace` says the same.
fn check_log_filter(filter: &str) -> Result<(), String> {
    let levels = LOG_LEVELS.join(", ");
    let fail = |detail: String| {
        Err(format!(
            "must be one of {levels}, or a tracing filter directive such as \
             \"info,memflux=debug\"; {detail}"
        ))
    };
    if filter.trim().is_empty() {
        return fail("got an empty string".to_string());
    }
    for directive in filter.split(',').map(str::trim) {
        if directive.is_empty() {
            return fail(format!("got an empty directive in {filter:?}"));
        }
        // The level follows the last '=' outside a `[span{field=value}]`
        // filter, whose contents may contain '=' themselves.
        let search_from = directive.rfind(']').unwrap_or(0);
        let split = directive[search_from..]
            .rfind('=')
            .map(|at| at + search_from);
        let (target, level) = match split {
            Some(at) => (&directive[..at], &directive[at + 1..]),
            None => ("", directive),
        };
        if !is_log_level(level) {
            if let Some((_, tracing)) = REDIS_LOG_LEVELS
                .iter()
                .find(|(redis, _)| redis.eq_ignore_ascii_case(level))
            {
                return fail(format!(
                    "{level:?} is a Redis log level, use {tracing:?} instead"
                ));
            }
            return fail(format!("got {filter:?}"));
        }
        if split.is_some() && !is_valid_target(target) {
            return fail(format!("{target:?} is not a valid target in {filter:?}"));
        }
    }
    Ok(())
}

fn is_log_level(s: &str) -> bool {
    LOG_LEVELS.iter().any(|level| level.eq_ignore_ascii_case(s))
}

/// `target`, `target[span]` or `[span]`, with a Rust-path-like target.
fn is_valid_target(spec: &str) -> bool {
    let (target, span) = match spec.find('[') {
        Some(at) => (&spec[..at], Some(&spec[at..])),
        None => (spec, None),
    };
    let target_ok = target
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | ':' | '-' | '.'));
    match span {
        Some(span) => target_ok && span.len() >= 2 && span.ends_with(']'),
        None => target_ok && !target.is_empty(),
    }
}

/// `CONFIG SET loglevel` accepts our levels and directives, plus Redis's
/// level names (translated, because the stored value is handed to tracing,
/// which would read `notice` as a target name).
fn parse_log_level_setting(value: &[u8]) -> Result<String, String> {
    let rejected = || {
        let mut names: Vec<&str> = REDIS_LOG_LEVELS.iter().map(|(redis, _)| *redis).collect();
        for level in LOG_LEVELS {
            if !names.contains(&level) {
                names.push(level);
            }
        }
        format!(
            "argument(s) must be one of the following: {}, or a tracing filter directive such as 'info,memflux=debug'",
            names.join(", ")
        )
    };
    let text = std::str::from_utf8(value).map_err(|_| rejected())?;
    if let Some((_, tracing)) = REDIS_LOG_LEVELS
        .iter()
        .find(|(redis, _)| redis.eq_ignore_ascii_case(text))
    {
        return Ok((*tracing).to_string());
    }
    if is_log_level(text) {
        return Ok(text.to_ascii_lowercase());
    }
    check_log_filter(text).map_err(|_| rejected())?;
    Ok(text.to_string())
}

// ---------------------------------------------------------------------------
// CONFIG GET / SET parameters
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ParamId {
    Host,
    Port,
    Dir,
    Shards,
    PinCpus,
    Databases,
    MaxClients,
    LogLevel,
    ProtoMaxBulkLen,
    ClientQueryBufferLimit,
    Timeout,
    Durability,
    WalSizeThresholdMb,
    Save,
    AppendOnly,
}

struct Param {
    id: ParamId,
    /// Name as Redis spells it; the name CONFIG GET reports.
    redis: &'static str,
    /// Our config key, when the parameter is one (save/appendonly are not).
    key: Option<&'static str>,
    /// Our key in the kebab-case spelling the CLI also accepts.
    kebab: Option<&'static str>,
}

impl Param {
    fn names(&self) -> impl Iterator<Item = &'static str> {
        [Some(self.redis), self.key, self.kebab]
            .into_iter()
            .flatten()
    }
}

const fn param(
    id: ParamId,
    redis: &'static str,
    key: Option<&'static str>,
    kebab: Option<&'static str>,
) -> Param {
    Param {
        id,
        redis,
        key,
        kebab,
    }
}

/// Struct order, then the read-only Redis parameters tools ask for
/// (redis-benchmark reads `save` and `appendonly` at start-up).
const PARAMS: [Param; 15] = [
    param(ParamId::Host, "bind", Some("host"), None),
    param(ParamId::Port, "port", Some("port"), None),
    param(ParamId::Dir, "dir", Some("dir"), None),
    param(ParamId::Shards, "shards", Some("shards"), None),
    param(ParamId::PinCpus, "pin-cpus", Some("pin_cpus"), None),
    param(ParamId::Databases, "databases", Some("databases"), None),
    param(ParamId::MaxClients, "maxclients", Some("maxclients"), None),
    param(
        ParamId::LogLevel,
        "loglevel",
        Some("log_level"),
        Some("log-level"),
    ),
    param(
        ParamId::ProtoMaxBulkLen,
        "proto-max-bulk-len",
        Some("proto_max_bulk_len"),
        None,
    ),
    param(
        ParamId::ClientQueryBufferLimit,
        "client-query-buffer-limit",
        Some("client_query_buffer_limit"),
        None,
    ),
    param(ParamId::Timeout, "timeout", Some("timeout"), None),
    param(ParamId::Durability, "appendfsync", Some("durability"), None),
    param(
        ParamId::WalSizeThresholdMb,
        "wal-size-threshold-mb",
        Some("wal_size_threshold_mb"),
        None,
    ),
    param(ParamId::Save, "save", None, None),
    param(ParamId::AppendOnly, "appendonly", None, None),
];

fn find_param(name: &[u8]) -> Option<&'static Param> {
    PARAMS.iter().find(|param| {
        param
            .names()
            .any(|candidate| candidate.as_bytes().eq_ignore_ascii_case(name))
    })
}

/// Parses an integer the way Redis's `string2ll` does (optional '-', digits,
/// no '+', no leading zeros, no spaces) and range-checks it, with Redis's
/// error wording. Negative input to an unsigned parameter fails the range
/// check, as in Redis.
fn parse_int_in(value: &[u8], min: i64, max: i64) -> Result<i64, String> {
    let parsed = std::str::from_utf8(value).ok().and_then(|text| {
        let digits = text.strip_prefix('-').unwrap_or(text);
        let canonical = !digits.is_empty()
            && digits.bytes().all(|b| b.is_ascii_digit())
            && (digits == "0" || !digits.starts_with('0'))
            && text != "-0";
        if canonical {
            text.parse::<i64>().ok()
        } else {
            None
        }
    });
    let n = parsed.ok_or_else(|| "argument couldn't be parsed into an integer".to_string())?;
    if !(min..=max).contains(&n) {
        return Err(format!(
            "argument must be between {min} and {max} inclusive"
        ));
    }
    Ok(n)
}

/// `CONFIG SET appendfsync` (alias `durability`): Redis's three fsync
/// policies, switchable at run time. `off` means no WAL at all, so the server
/// cannot move into or out of it without a restart.
fn parse_durability_setting(current: Durability, value: &[u8]) -> Result<Durability, String> {
    let mode = std::str::from_utf8(value)
        .ok()
        .and_then(Durability::parse)
        .ok_or_else(|| {
            "argument(s) must be one of the following: always, everysec, no".to_string()
        })?;
    if mode != current && (mode == Durability::Off || current == Durability::Off) {
        return Err("durability can't be turned on or off while the server runs".to_string());
    }
    Ok(mode)
}

fn parse_memory_setting(value: &[u8]) -> Result<u64, String> {
    let bytes = std::str::from_utf8(value)
        .ok()
        .and_then(parse_memory)
        .ok_or_else(|| "argument must be a memory value".to_string())?;
    if !(MIN_BYTE_LIMIT..=MAX_BYTE_LIMIT).contains(&bytes) {
        return Err(format!(
            "argument must be between {MIN_BYTE_LIMIT} and {MAX_BYTE_LIMIT} inclusive"
        ));
    }
    Ok(bytes)
}

// ---------------------------------------------------------------------------
// Command-line overrides
// ---------------------------------------------------------------------------

// Command-line flags, one per config key, each overriding the file's value;
// meant to be `#[command(flatten)]`-ed into the binary's parser.
//
// Flags are spelt exactly like the JSON keys (`--proto_max_bulk_len`) so the
// file and the command line read the same; the conventional kebab-case
// spelling (`--proto-max-bulk-len`) is a hidden alias, as are the Redis names
// `--bind` and `--loglevel`. Help text is built from `Config::default()` so
// the documented defaults cannot drift from the real ones.
//
// This is a plain comment rather than a doc comment on purpose: clap turns a
// flattened struct's doc comment into the `about` text of whatever command
// flattens it, which would replace the binary's own description.
#[derive(clap::Args, Debug, Default, Clone)]
pub struct ConfigOverrides {
    /// Address to listen on.
    #[arg(long = "host", alias = "bind", value_name = "ADDR",
          help = with_default("Address to listen on (an IP address or localhost)", Config::default().host))]
    pub host: Option<String>,

    /// TCP port.
    #[arg(long = "port", value_name = "PORT",
          help = with_default("TCP port", Config::default().port))]
    pub port: Option<u16>,

    /// Data directory; shard N keeps its files in `<dir>/<N>/`.
    #[arg(long = "dir", value_name = "DIR",
          help = with_default("Data directory; shard N keeps its files in <DIR>/<N>/",
                              Config::default().dir.display()))]
    pub dir: Option<PathBuf>,

    /// Number of shards; 0 = one per available core.
    #[arg(long = "shards", value_name = "N",
          help = with_default("Number of shards, one executor thread each; 0 = one per available core",
                              Config::default().shards))]
    pub shards: Option<usize>,

    /// Pin shard N's thread to CPU N. A bare `--pin_cpus` means true.
    #[arg(long = "pin_cpus", alias = "pin-cpus", value_name = "BOOL",
          num_args = 0..=1, default_missing_value = "true",
          value_parser = clap::builder::BoolishValueParser::new(),
          help = with_default("Pin shard N's thread to CPU N (true/false)", Config::default().pin_cpus))]
    pub pin_cpus: Option<bool>,

    /// Number of logical databases (SELECT 0..n-1).
    #[arg(long = "databases", value_name = "N",
          help = with_default("Number of logical databases (SELECT 0..N-1)", Config::default().databases))]
    pub databases: Option<usize>,

    /// Maximum simultaneously connected clients.
    #[arg(long = "maxclients", value_name = "N",
          help = with_default("Maximum simultaneously connected clients", Config::default().maxclients))]
    pub maxclients: Option<usize>,

    /// tracing filter: a level or an env-filter directive.
    #[arg(long = "log_level", aliases = ["log-level", "loglevel"], value_name = "FILTER",
          help = with_default("Log filter: error, warn, info, debug, trace, off, or a directive like info,memflux=debug",
                              Config::default().log_level))]
    pub log_level: Option<String>,

    /// Largest bulk string a client may send (bytes, Redis units allowed).
    #[arg(long = "proto_max_bulk_len", alias = "proto-max-bulk-len", value_name = "BYTES",
          value_parser = parse_memory_arg,
          help = with_default("Largest bulk string a client may send, e.g. 536870912 or 512mb",
                              format_memory(Config::default().proto_max_bulk_len)))]
    pub proto_max_bulk_len: Option<u64>,

    /// Largest per-client query buffer before disconnecting (bytes, Redis units allowed).
    #[arg(long = "client_query_buffer_limit", alias = "client-query-buffer-limit", value_name = "BYTES",
          value_parser = parse_memory_arg,
          help = with_default("Largest query buffer per client before it is disconnected, e.g. 1gb",
                              format_memory(Config::default().client_query_buffer_limit)))]
    pub client_query_buffer_limit: Option<u64>,

    /// Close a client idle for this many seconds; 0 = never.
    #[arg(long = "timeout", value_name = "SECONDS",
          help = with_default("Close a client idle for this many seconds; 0 = never",
                              Config::default().timeout))]
    pub timeout: Option<u64>,

    /// When writes reach the disk: always, everysec, no or off.
    #[arg(long = "durability", value_name = "MODE",
          value_parser = parse_durability_arg,
          help = with_default("When writes reach the disk: always (acknowledged after an fdatasync covers the WAL record), \
                               everysec (WAL synced at least once a second), no (the OS flushes the WAL), \
                               off (no WAL; only SAVE/BGSAVE snapshots survive a restart)",
                              Config::default().durability))]
    pub durability: Option<Durability>,

    /// WAL size (MiB) past which a shard snapshots and drops the log.
    #[arg(long = "wal_size_threshold_mb", alias = "wal-size-threshold-mb", value_name = "MIB",
          help = with_default("When a shard's write-ahead log grows past this many MiB, the shard takes a snapshot and drops the log",
                              Config::default().wal_size_threshold_mb))]
    pub wal_size_threshold_mb: Option<u64>,
}

fn with_default(text: &str, default: impl fmt::Display) -> String {
    format!("{text} [default: {default}]")
}

/// clap value parser for `--durability`.
fn parse_durability_arg(s: &str) -> Result<Durability, String> {
    Durability::parse(s).ok_or_else(|| "expected always, everysec, no or off".to_string())
}

impl ConfigOverrides {
    /// Copies every flag that was given over the corresponding field.
    pub fn apply(&self, config: &mut Config) {
        fn set<T: Clone>(field: &mut T, value: &Option<T>) {
            if let Some(value) = value {
                *field = value.clone();
            }
        }
        set(&mut config.host, &self.host);
        set(&mut config.port, &self.port);
        set(&mut config.dir, &self.dir);
        set(&mut config.shards, &self.shards);
        set(&mut config.pin_cpus, &self.pin_cpus);
        set(&mut config.databases, &self.databases);
        set(&mut config.maxclients, &self.maxclients);
        set(&mut config.log_level, &self.log_level);
        set(&mut config.proto_max_bulk_len, &self.proto_max_bulk_len);
        set(
            &mut config.client_query_buffer_limit,
            &self.client_query_buffer_limit,
        );
        set(&mut config.timeout, &self.timeout);
        set(&mut config.durability, &self.durability);
        set(
            &mut config.wal_size_threshold_mb,
            &self.wal_size_threshold_mb,
        );
    }

    /// Whether the flag for config key `key` was given.
    pub fn is_set(&self, key: &str) -> bool {
        match key {
            "host" => self.host.is_some(),
            "port" => self.port.is_some(),
            "dir" => self.dir.is_some(),
            "shards" => self.shards.is_some(),
            "pin_cpus" => self.pin_cpus.is_some(),
            "databases" => self.databases.is_some(),
            "maxclients" => self.maxclients.is_some(),
            "log_level" => self.log_level.is_some(),
            "proto_max_bulk_len" => self.proto_max_bulk_len.is_some(),
            "client_query_buffer_limit" => self.client_query_buffer_limit.is_some(),
            "timeout" => self.timeout.is_some(),
            "durability" => self.durability.is_some(),
            "wal_size_threshold_mb" => self.wal_size_threshold_mb.is_some(),
            _ => false,
        }
    }
}

// ---------------------------------------------------------------------------
// JSON parsing: per-field deserializers and friendlier serde_json errors
// ---------------------------------------------------------------------------

/// Field deserializers. Each reads the raw JSON value and converts it itself,
/// so that a mismatch can be reported as `key "port" must be ..., got "abc"`.
/// Ranges beyond what the type can hold are left to [`Config::validate`],
/// which also covers values from the command line.
mod de {
    use std::path::PathBuf;

    use serde::{Deserialize, Deserializer};
    use serde_json::Value;

    use super::{
        format_memory, parse_memory, Durability, MAX_BYTE_LIMIT, MAX_DATABASES, MAX_MAXCLIENTS,
        MAX_SHARDS, MAX_TIMEOUT, MAX_WAL_SIZE_THRESHOLD_MB, MIN_BYTE_LIMIT,
    };

    /// How a rejected JSON value is shown after "got".
    fn shown(value: &Value) -> String {
        match value {
            Value::Array(_) => "an array".to_string(),
            Value::Object(_) => "an object".to_string(),
            Value::String(s) if s.chars().count() > 60 => {
                let head: String = s.chars().take(60).collect();
                format!("{:?}…", head)
            }
            other => other.to_string(),
        }
    }

    fn mismatch<E: serde::de::Error>(key: &str, expected: &str, value: &Value) -> E {
        E::custom(format!(
            "key \"{key}\" must be {expected}, got {}",
            shown(value)
        ))
    }

    fn string<'de, D: Deserializer<'de>>(d: D, key: &str) -> Result<String, D::Error> {
        match Value::deserialize(d)? {
            Value::String(s) => Ok(s),
            other => Err(mismatch(key, "a string", &other)),
        }
    }

    fn integer<'de, D, T>(d: D, key: &str, expected: &str) -> Result<T, D::Error>
    where
        D: Deserializer<'de>,
        T: TryFrom<u64>,
    {
        let value = Value::deserialize(d)?;
        value
            .as_u64()
            .and_then(|n| T::try_from(n).ok())
            .ok_or_else(|| mismatch(key, expected, &value))
    }

    fn bytes<'de, D: Deserializer<'de>>(d: D, key: &str) -> Result<u64, D::Error> {
        let value = Value::deserialize(d)?;
        let parsed = match &value {
            Value::Number(n) => n.as_u64(),
            Value::String(s) => parse_memory(s),
            _ => None,
        };
        parsed.ok_or_else(|| {
            mismatch(
                key,
                &format!(
                    "a byte count from {MIN_BYTE_LIMIT} to {MAX_BYTE_LIMIT}, as a number or a \
                     string with Redis units such as \"{}\" or \"1gb\"",
                    format_memory(512 * 1024 * 1024)
                ),
                &value,
            )
        })
    }

    pub fn host<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
        string(d, "host")
    }

    pub fn port<'de, D: Deserializer<'de>>(d: D) -> Result<u16, D::Error> {
        integer(d, "port", "an integer from 1 to 65535")
    }

    pub fn dir<'de, D: Deserializer<'de>>(d: D) -> Result<PathBuf, D::Error> {
        string(d, "dir").map(PathBuf::from)
    }

    pub fn shards<'de, D: Deserializer<'de>>(d: D) -> Result<usize, D::Error> {
        integer(
            d,
            "shards",
            &format!("an integer from 0 to {MAX_SHARDS} (0 = one per core)"),
        )
    }

    pub fn pin_cpus<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
        match Value::deserialize(d)? {
            Value::Bool(b) => Ok(b),
            other => Err(mismatch("pin_cpus", "true or false", &other)),
        }
    }

    pub fn databases<'de, D: Deserializer<'de>>(d: D) -> Result<usize, D::Error> {
        integer(
            d,
            "databases",
            &format!("an integer from 1 to {MAX_DATABASES}"),
        )
    }

    pub fn maxclients<'de, D: Deserializer<'de>>(d: D) -> Result<usize, D::Error> {
        integer(
            d,
            "maxclients",
            &format!("an integer from 1 to {MAX_MAXCLIENTS}"),
        )
    }

    pub fn log_level<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
        string(d, "log_level")
    }

    pub fn proto_max_bulk_len<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
        bytes(d, "proto_max_bulk_len")
    }

    pub fn client_query_buffer_limit<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
        bytes(d, "client_query_buffer_limit")
    }

    pub fn timeout<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
        integer(
            d,
            "timeout",
            &format!("an integer number of seconds from 0 to {MAX_TIMEOUT}"),
        )
    }

    pub fn durability<'de, D: Deserializer<'de>>(d: D) -> Result<Durability, D::Error> {
        let value = Value::deserialize(d)?;
        value.as_str().and_then(Durability::parse).ok_or_else(|| {
            mismatch(
                "durability",
                "one of \"always\", \"everysec\", \"no\", \"off\"",
                &value,
            )
        })
    }

    pub fn wal_size_threshold_mb<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
        integer(
            d,
            "wal_size_threshold_mb",
            &format!("an integer number of MiB from 1 to {MAX_WAL_SIZE_THRESHOLD_MB}"),
        )
    }
}

/// Rewrites a serde_json error into a one-line message for an operator.
fn friendly_parse_error(err: &serde_json::Error, text: &[u8], path: &Path) -> ConfigError {
    let (line, column) = (err.line(), err.column());
    // serde_json appends " at line L column C" to its message; we place the
    // position ourselves.
    let full = err.to_string();
    let raw = full
        .strip_suffix(&format!(" at line {line} column {column}"))
        .unwrap_or(&full);
    let message = match err.classify() {
        serde_json::error::Category::Syntax | serde_json::error::Category::Eof => {
            format!(
                "invalid JSON at line {line} column {column}: {}",
                syntax_message(raw, char_at(text, line, column))
            )
        }
        // The message names the key, which locates the problem in a flat
        // file. serde_json's position is not reported: for these errors it
        // points past the closing '}', not at the offending key.
        serde_json::error::Category::Data | serde_json::error::Category::Io => {
            return ConfigError::Parse {
                path: path.to_path_buf(),
                message: data_message(raw),
                line: 0,
                column: 0,
            };
        }
    };
    ConfigError::Parse {
        path: path.to_path_buf(),
        message,
        line,
        column,
    }
}

/// "an array", "a string", ... for messages about the file's top level.
fn json_kind(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

/// The character serde_json stopped at (1-based line, 1-based column counted
/// in bytes), used to recognise common non-JSON habits.
fn char_at(text: &[u8], line: usize, column: usize) -> Option<char> {
    let line_text = text.split(|&b| b == b'\n').nth(line.checked_sub(1)?)?;
    let rest = line_text.get(column.checked_sub(1)?..)?;
    String::from_utf8_lossy(rest).chars().next()
}

fn syntax_message(raw: &str, at: Option<char>) -> String {
    match raw {
        "expected value" | "expected ident" | "key must be a string" => match at {
            Some('/' | '#') => return "comments are not allowed in JSON".to_string(),
            Some('\'') => return "strings must use double quotes, not single quotes".to_string(),
            _ => {}
        },
        _ => {}
    }
    match raw {
        "EOF while parsing an object" => {
            "unexpected end of file inside an object (missing '}'?)".to_string()
        }
        "EOF while parsing a list" => {
            "unexpected end of file inside an array (missing ']'?)".to_string()
        }
        "EOF while parsing a string" => {
            "unexpected end of file inside a string (missing closing '\"'?)".to_string()
        }
        "EOF while parsing a value" => "unexpected end of file, expected a value".to_string(),
        "expected value" => {
            "expected a value (a string, number, true, false, null, object or array)".to_string()
        }
        "expected ident" => "invalid literal (expected true, false or null)".to_string(),
        "key must be a string" => "object keys must be double-quoted strings".to_string(),
        "trailing comma" => "trailing comma (JSON allows no ',' before '}' or ']')".to_string(),
        "trailing characters" => "unexpected text after the end of the JSON object".to_string(),
        other => other.replace('`', "'"),
    }
}

fn data_message(raw: &str) -> String {
    // Our own field deserializers already produce the final wording.
    if raw.starts_with("key \"") {
        return raw.to_string();
    }
    if let Some(rest) = raw.strip_prefix("unknown field `") {
        let name = rest
            .rfind("`, expected")
            .or_else(|| rest.rfind("`, there are no fields"))
            .map_or(rest, |end| &rest[..end]);
        let mut message = format!(
            "unknown key \"{name}\" (known keys: {})",
            CONFIG_KEYS.join(", ")
        );
        if let Some(suggestion) = suggest_key(name) {
            message.push_str(&format!("; did you mean \"{suggestion}\"?"));
        }
        return message;
    }
    if let Some(rest) = raw.strip_prefix("duplicate field `") {
        let name = rest.strip_suffix('`').unwrap_or(rest);
        return format!("key \"{name}\" appears more than once");
    }
    raw.replace('`', "'")
}

/// The config key an unknown key was probably meant to be: a kebab-case or
/// Redis spelling of a real key, or a near miss (edit distance <= 2).
fn suggest_key(unknown: &str) -> Option<&'static str> {
    let normalized = unknown.to_ascii_lowercase().replace('-', "_");
    if let Some(key) = CONFIG_KEYS.iter().find(|key| **key == normalized) {
        return Some(key);
    }
    if let Some(param) = find_param(unknown.as_bytes()) {
        return param.key;
    }
    CONFIG_KEYS
        .iter()
        .map(|key| (edit_distance(&normalized, key), *key))
        .filter(|(distance, _)| *distance <= 2 && *distance < normalized.len())
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, key)| key)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != *cb);
            current[j + 1] = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        previous = current;
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{CommandFactory, Parser};

    /// Stand-in for the binary's top-level parser.
    #[derive(Parser, Debug)]
    #[command(name = "memflux")]
    struct TestCli {
        /// Config file to read.
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
        #[command(flatten)]
        overrides: ConfigOverrides,
    }

    fn cli(args: &[&str]) -> ConfigOverrides {
        let mut argv = vec!["memflux"];
        argv.extend_from_slice(args);
        TestCli::try_parse_from(argv)
            .expect("arguments parse")
            .overrides
    }

    fn cli_error(args: &[&str]) -> String {
        let mut argv = vec!["memflux"];
        argv.extend_from_slice(args);
        TestCli::try_parse_from(argv)
            .expect_err("arguments rejected")
            .to_string()
    }

    fn write(dir: &tempfile::TempDir, text: &str) -> PathBuf {
        let path = dir.path().join("config.json");
        fs::write(&path, text).unwrap();
        path
    }

    /// Loads `text` as a config file named `config.json` and returns the
    /// error line, with the temp directory prefix removed.
    fn load_error(text: &str, overrides: &ConfigOverrides) -> String {
        let dir = tempfile::tempdir().unwrap();
        let path = write(&dir, text);
        let err = Config::load(Some(&path), overrides).expect_err("config rejected");
        let line = err.to_string();
        assert!(!line.contains('\n'), "error spans lines: {line}");
        line.replace(&format!("{}/", dir.path().display()), "")
    }

    fn parse_error(text: &str) -> String {
        Config::from_json(text.as_bytes(), Path::new("config.json"))
            .expect_err("parse rejected")
            .to_string()
    }

    #[test]
    fn defaults_are_the_documented_values() {
        let c = Config::default();
        assert_eq!(c.host, "127.0.0.1");
        assert_eq!(c.port, 8360);
        assert_eq!(c.dir, PathBuf::from("shards"));
        assert_eq!(c.shards, 0);
        assert!(!c.pin_cpus);
        assert_eq!(c.databases, 16);
        assert_eq!(c.maxclients, 10_000);
        assert_eq!(c.log_level, "info");
        assert_eq!(c.proto_max_bulk_len, 536_870_912);
        assert_eq!(c.client_query_buffer_limit, 1 << 30);
        assert_eq!(c.timeout, 0);
        assert_eq!(c.durability, Durability::Always);
        assert_eq!(c.wal_size_threshold_mb, 128);
        c.validate().expect("defaults are valid");
    }

    #[test]
    fn config_keys_match_struct_order() {
        let value = serde_json::to_value(Config::default()).unwrap();
        let keys: Vec<&str> = value
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(keys, CONFIG_KEYS);
        for key in CONFIG_KEYS {
            assert!(
                find_param(key.as_bytes()).is_some(),
                "{key} has no CONFIG name"
            );
        }
    }

    #[test]
    fn defaults_round_trip_through_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.json");
        write_default(&path).unwrap();
        let loaded = Config::load(Some(&path), &ConfigOverrides::default()).unwrap();
        assert!(!loaded.created);
        assert_eq!(loaded.path, path);
        assert_eq!(loaded.config, Config::default());

        let text = Config::default().to_json_pretty().unwrap();
        let parsed = Config::from_json(text.as_bytes(), &path).unwrap();
        assert_eq!(parsed, Config::default());
    }

    #[test]
    fn missing_file_is_created_with_every_default() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.json");
        let overrides = cli(&["--port", "9000"]);
        let loaded = Config::load(Some(&path), &overrides).unwrap();
        assert!(loaded.created);
        assert_eq!(loaded.config.port, 9000, "override applies");

        let text = fs::read_to_string(&path).unwrap();
        assert!(text.ends_with("}\n"), "trailing newline: {text:?}");
        assert!(
            text.contains("\n  \"port\": 8360,\n"),
            "pretty, defaults only: {text}"
        );
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        let keys: Vec<&str> = value
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(keys, CONFIG_KEYS);
        assert_eq!(value["proto_max_bulk_len"], 536_870_912, "plain number");

        // Second start reads the file it wrote.
        let again = Config::load(Some(&path), &ConfigOverrides::default()).unwrap();
        assert!(!again.created);
        assert_eq!(again.config, Config::default());
    }

    #[test]
    fn committed_config_json_is_the_defaults() {
        assert_eq!(
            include_str!("../config.json"),
            Config::default().to_json_pretty().unwrap(),
            "regenerate config.json from Config::default()"
        );
    }

    #[test]
    fn durability_names() {
        for (mode, name) in [
            (Durability::Always, "always"),
            (Durability::Everysec, "everysec"),
            (Durability::No, "no"),
            (Durability::Off, "off"),
        ] {
            assert_eq!(mode.as_str(), name);
            assert_eq!(Durability::parse(name), Some(mode));
            assert_eq!(Durability::parse(&name.to_ascii_uppercase()), Some(mode));
            assert_eq!(
                serde_json::to_value(mode).unwrap(),
                serde_json::Value::from(name)
            );
        }
        assert_eq!(Durability::parse("EverySec"), Some(Durability::Everysec));
        for bad in ["", "yes", "sometimes", "always "] {
            assert_eq!(Durability::parse(bad), None, "{bad:?}");
        }
        let config =
            Config::from_json(br#"{"durability": "Off"}"#, Path::new("config.json")).unwrap();
        assert_eq!(config.durability, Durability::Off);
        assert_eq!(
            serde_json::to_value(&config).unwrap()["durability"],
            "off",
            "written back in lower case"
        );
    }

    #[test]
    fn default_path_is_config_json_in_cwd() {
        // Checked through the helper load uses, rather than by loading with
        // None: changing the process's cwd would race with other tests.
        assert_eq!(config_path(None), PathBuf::from("config.json"));
        assert_eq!(
            config_path(Some(Path::new("/etc/m.json"))),
            PathBuf::from("/etc/m.json")
        );
    }

    #[test]
    fn byte_order_mark_is_ignored() {
        let config = Config::from_json(b"\xEF\xBB\xBF{\"port\": 9}", Path::new("c.json")).unwrap();
        assert_eq!(config.port, 9);
    }

    #[test]
    fn write_default_refuses_to_overwrite() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(&dir, "{\"port\": 1234}\n");
        let err = write_default(&path).unwrap_err();
        assert!(err
            .to_string()
            .starts_with("cannot write default config to "));
        assert_eq!(fs::read_to_string(&path).unwrap(), "{\"port\": 1234}\n");
    }

    #[test]
    fn write_failure_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("missing-dir").join("config.json");
        let err = Config::load(Some(&path), &ConfigOverrides::default()).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "cannot write default config to {}: No such file or directory",
                path.display()
            )
        );
    }

    #[test]
    fn read_failure_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let err = Config::load(Some(dir.path()), &ConfigOverrides::default()).unwrap_err();
        assert!(matches!(err, ConfigError::Read { .. }), "{err:?}");
        assert_eq!(
            err.to_string(),
            format!("cannot read {}: Is a directory", dir.path().display())
        );
    }

    #[test]
    fn partial_file_keeps_other_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(&dir, r#"{ "port": 7000, "dir": "/var/lib/memflux" }"#);
        let config = Config::load(Some(&path), &ConfigOverrides::default())
            .unwrap()
            .config;
        assert_eq!(config.port, 7000);
        assert_eq!(config.dir, PathBuf::from("/var/lib/memflux"));
        assert_eq!(
            config,
            Config {
                port: 7000,
                dir: PathBuf::from("/var/lib/memflux"),
                ..Config::default()
            }
        );
    }

    #[test]
    fn unknown_key_is_named_with_the_known_keys() {
        assert_eq!(
            parse_error("{\n  \"prot\": 8361\n}"),
            "config.json: unknown key \"prot\" (known keys: host, port, dir, shards, pin_cpus, \
             databases, maxclients, log_level, proto_max_bulk_len, client_query_buffer_limit, \
             timeout, durability, wal_size_threshold_mb); did you mean \"port\"?"
        );
        let dashed = parse_error(r#"{"proto-max-bulk-len": "1mb"}"#);
        assert!(
            dashed.contains("did you mean \"proto_max_bulk_len\"?"),
            "{dashed}"
        );
        let redis = parse_error(r#"{"bind": "0.0.0.0"}"#);
        assert!(redis.contains("did you mean \"host\"?"), "{redis}");
        let fsync = parse_error(r#"{"appendfsync": "always"}"#);
        assert!(fsync.contains("did you mean \"durability\"?"), "{fsync}");
        let far = parse_error(r#"{"zzzzzzzz": 1}"#);
        assert!(!far.contains("did you mean"), "{far}");
    }

    #[test]
    fn bad_json_reports_line_and_column() {
        assert_eq!(
            parse_error("{\n  \"port\": 8361\n  \"host\": \"::1\"\n}"),
            "config.json: invalid JSON at line 3 column 3: expected ',' or '}'"
        );
        assert_eq!(
            parse_error("{\n  \"port\": 8361,\n}"),
            "config.json: invalid JSON at line 3 column 1: trailing comma (JSON allows no ',' before '}' or ']')"
        );
        assert_eq!(
            parse_error("{\n  // listen here\n  \"port\": 1\n}"),
            "config.json: invalid JSON at line 2 column 3: comments are not allowed in JSON"
        );
        assert_eq!(
            parse_error("{\"port\": 1"),
            "config.json: invalid JSON at line 1 column 10: unexpected end of file inside an object (missing '}'?)"
        );
        assert_eq!(
            parse_error("{'port': 1}"),
            "config.json: invalid JSON at line 1 column 2: strings must use double quotes, not single quotes"
        );
        assert_eq!(
            parse_error("{} x"),
            "config.json: invalid JSON at line 1 column 4: unexpected text after the end of the JSON object"
        );
        assert!(parse_error("  \n").contains("file is empty"));
        assert_eq!(
            parse_error("[1, 2]"),
            "config.json: the file must hold a JSON object such as {\"port\": 8360}, got an array"
        );
        assert_eq!(
            parse_error("[1, 2"),
            "config.json: invalid JSON at line 1 column 5: unexpected end of file inside an array (missing ']'?)"
        );
        assert_eq!(
            parse_error(r#"{"port": 1, "port": 2}"#),
            "config.json: key \"port\" appears more than once"
        );
    }

    #[test]
    fn parse_error_carries_position() {
        let err = Config::from_json(b"{\n\n  \"port\" 1}", Path::new("c.json")).unwrap_err();
        match err {
            ConfigError::Parse { line, column, .. } => assert_eq!((line, column), (3, 10)),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn wrong_types_name_the_key() {
        assert_eq!(
            parse_error("{\n  \"port\": \"abc\"\n}"),
            "config.json: key \"port\" must be an integer from 1 to 65535, got \"abc\""
        );
        for (json, expected) in [
            (r#"{"port": 70000}"#, "key \"port\" must be an integer from 1 to 65535, got 70000"),
            (r#"{"port": -1}"#, "key \"port\" must be an integer from 1 to 65535, got -1"),
            (r#"{"port": 8360.5}"#, "key \"port\" must be an integer from 1 to 65535, got 8360.5"),
            (r#"{"host": 5}"#, "key \"host\" must be a string, got 5"),
            (r#"{"dir": null}"#, "key \"dir\" must be a string, got null"),
            (r#"{"pin_cpus": "yes"}"#, "key \"pin_cpus\" must be true or false, got \"yes\""),
            (r#"{"databases": [16]}"#, "key \"databases\" must be an integer from 1 to 1000000, got an array"),
            (r#"{"log_level": {}}"#, "key \"log_level\" must be a string, got an object"),
            (
                r#"{"timeout": true}"#,
                "key \"timeout\" must be an integer number of seconds from 0 to 2147483647, got true",
            ),
            (r#"{"shards": "4"}"#, "key \"shards\" must be an integer from 0 to 1024 (0 = one per core), got \"4\""),
            (r#"{"maxclients": 1e3}"#, "key \"maxclients\" must be an integer from 1 to 4294967295, got 1000.0"),
            (r#"{"proto_max_bulk_len": "12xb"}"#, "key \"proto_max_bulk_len\" must be a byte count"),
            (r#"{"client_query_buffer_limit": -5}"#, "key \"client_query_buffer_limit\" must be a byte count"),
            (
                r#"{"durability": "sometimes"}"#,
                "key \"durability\" must be one of \"always\", \"everysec\", \"no\", \"off\", got \"sometimes\"",
            ),
            (
                r#"{"durability": true}"#,
                "key \"durability\" must be one of \"always\", \"everysec\", \"no\", \"off\", got true",
            ),
            (
                r#"{"wal_size_threshold_mb": "128mb"}"#,
                "key \"wal_size_threshold_mb\" must be an integer number of MiB from 1 to 1048576, got \"128mb\"",
            ),
            (
                r#"{"wal_size_threshold_mb": -1}"#,
                "key \"wal_size_threshold_mb\" must be an integer number of MiB from 1 to 1048576, got -1",
            ),
        ] {
            let got = parse_error(json);
            assert!(got.starts_with(&format!("config.json: {expected}")), "{json}: {got}");
        }
    }

    #[test]
    fn memory_units_follow_redis() {
        for (text, bytes) in [
            ("0", Some(0)),
            ("100", Some(100)),
            ("100b", Some(100)),
            ("100B", Some(100)),
            ("100k", Some(100_000)),
            ("100kb", Some(102_400)),
            ("1m", Some(1_000_000)),
            ("1mb", Some(1_048_576)),
            ("512MB", Some(536_870_912)),
            ("2g", Some(2_000_000_000)),
            ("1gb", Some(1_073_741_824)),
            ("1Gb", Some(1_073_741_824)),
            ("18446744073709551615", Some(u64::MAX)),
            ("18446744073709551616", None),
            ("17179869184gb", None),
            ("", None),
            ("mb", None),
            ("-1", None),
            ("+1", None),
            (" 1", None),
            ("1 mb", None),
            ("1.5mb", None),
            ("1tb", None),
            ("1kbb", None),
        ] {
            assert_eq!(parse_memory(text), bytes, "{text:?}");
        }
        assert_eq!(format_memory(536_870_912), "512mb");
        assert_eq!(format_memory(1 << 30), "1gb");
        assert_eq!(format_memory(2048), "2kb");
        assert_eq!(format_memory(1000), "1000");
        assert_eq!(format_memory(0), "0");
    }

    #[test]
    fn byte_sizes_accept_numbers_and_units_in_json() {
        let config = Config::from_json(
            br#"{"proto_max_bulk_len": "64mb", "client_query_buffer_limit": 2147483648}"#,
            Path::new("config.json"),
        )
        .unwrap();
        assert_eq!(config.proto_max_bulk_len, 64 << 20);
        assert_eq!(config.client_query_buffer_limit, 2 << 30);
        // ...and are written back as plain numbers.
        let json = serde_json::to_value(&config).unwrap();
        assert_eq!(json["proto_max_bulk_len"], 67_108_864);
    }

    #[test]
    fn cli_overrides_beat_the_file_in_both_spellings() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(
            &dir,
            r#"{"port": 7000, "shards": 4, "proto_max_bulk_len": "2mb", "log_level": "warn"}"#,
        );
        let overrides = cli(&[
            "--port",
            "8361",
            "--shards",
            "2",
            "--dir",
            "/var/lib/memflux",
            "--proto_max_bulk_len",
            "1mb",
            "--client-query-buffer-limit",
            "2gb",
            "--pin-cpus",
            "--log-level",
            "debug",
            "--maxclients",
            "50",
            "--timeout",
            "300",
            "--databases",
            "4",
            "--host",
            "::1",
            "--durability",
            "everysec",
            "--wal_size_threshold_mb",
            "64",
        ]);
        let config = Config::load(Some(&path), &overrides).unwrap().config;
        assert_eq!(
            config,
            Config {
                host: "::1".into(),
                port: 8361,
                dir: PathBuf::from("/var/lib/memflux"),
                shards: 2,
                pin_cpus: true,
                databases: 4,
                maxclients: 50,
                log_level: "debug".into(),
                proto_max_bulk_len: 1 << 20,
                client_query_buffer_limit: 2 << 30,
                timeout: 300,
                durability: Durability::Everysec,
                wal_size_threshold_mb: 64,
            }
        );

        let kebab = cli(&["--proto-max-bulk-len", "3mb", "--pin_cpus", "false"]);
        assert_eq!(kebab.proto_max_bulk_len, Some(3 << 20));
        assert_eq!(kebab.pin_cpus, Some(false));
        let redis_names = cli(&["--bind", "0.0.0.0", "--loglevel", "trace", "--pin_cpus=yes"]);
        assert_eq!(redis_names.host.as_deref(), Some("0.0.0.0"));
        assert_eq!(redis_names.log_level.as_deref(), Some("trace"));
        assert_eq!(redis_names.pin_cpus, Some(true));
        let durability = cli(&["--durability", "OFF", "--wal-size-threshold-mb", "1"]);
        assert_eq!(durability.durability, Some(Durability::Off));
        assert_eq!(durability.wal_size_threshold_mb, Some(1));

        // Flags that were not given leave the file's values alone.
        let config = Config::load(Some(&path), &cli(&[])).unwrap().config;
        assert_eq!((config.port, config.shards), (7000, 4));
        assert_eq!(config.proto_max_bulk_len, 2 << 20);
    }

    #[test]
    fn cli_rejects_malformed_values() {
        let err = cli_error(&["--proto_max_bulk_len", "lots"]);
        assert!(err.contains("--proto_max_bulk_len"), "{err}");
        assert!(err.contains("512mb"), "{err}");
        let err = cli_error(&["--port", "abc"]);
        assert!(err.contains("--port"), "{err}");
        let err = cli_error(&["--prot", "1"]);
        assert!(err.contains("--prot"), "{err}");
        let err = cli_error(&["--durability", "sometimes"]);
        assert!(err.contains("--durability"), "{err}");
        assert!(err.contains("always, everysec, no or off"), "{err}");
        let err = cli_error(&["--wal_size_threshold_mb", "128mb"]);
        assert!(err.contains("--wal_size_threshold_mb"), "{err}");
    }

    #[test]
    fn help_documents_every_flag_with_its_default() {
        TestCli::command().debug_assert();
        let about = TestCli::command().get_about().map(ToString::to_string);
        assert_eq!(
            about.as_deref(),
            Some("Stand-in for the binary's top-level parser"),
            "flattening must not replace the parent's description"
        );
        let help = TestCli::command().render_help().to_string();
        let d = Config::default();
        let expected = [
            ("--host", d.host.clone()),
            ("--port", d.port.to_string()),
            ("--dir", d.dir.display().to_string()),
            ("--shards", d.shards.to_string()),
            ("--pin_cpus", d.pin_cpus.to_string()),
            ("--databases", d.databases.to_string()),
            ("--maxclients", d.maxclients.to_string()),
            ("--log_level", d.log_level.clone()),
            ("--proto_max_bulk_len", "512mb".to_string()),
            ("--client_query_buffer_limit", "1gb".to_string()),
            ("--timeout", d.timeout.to_string()),
            ("--durability", "always".to_string()),
            (
                "--wal_size_threshold_mb",
                d.wal_size_threshold_mb.to_string(),
            ),
        ];
        for (flag, default) in expected {
            let line = help
                .lines()
                .skip_while(|line| !line.contains(&format!("{flag} ")))
                .take_while(|line| !line.trim_start().starts_with("--") || line.contains(flag))
                .collect::<Vec<_>>()
                .join(" ");
            assert!(!line.is_empty(), "{flag} missing from help:\n{help}");
            assert!(
                line.contains(&format!("[default: {default}]")),
                "{flag} lacks [default: {default}]:\n{help}"
            );
        }
        assert_eq!(parse_memory("512mb"), Some(d.proto_max_bulk_len));
        assert_eq!(parse_memory("1gb"), Some(d.client_query_buffer_limit));
    }

    #[test]
    fn validation_failures_name_file_or_flag() {
        let none = ConfigOverrides::default();
        assert_eq!(
            load_error(r#"{"databases": 0}"#, &none),
            "config.json: key \"databases\" must be between 1 and 1000000, got 0"
        );
        assert_eq!(
            load_error(r#"{"databases": 4}"#, &cli(&["--databases", "0"])),
            "--databases: must be between 1 and 1000000, got 0"
        );
        // A bad value in the file is still reported when a flag fixes a
        // different key.
        assert_eq!(
            load_error(r#"{"port": 0}"#, &cli(&["--databases", "3"])),
            "config.json: key \"port\" must be between 1 and 65535, got 0"
        );
        assert_eq!(
            load_error("{}", &cli(&["--port", "0"])),
            "--port: must be between 1 and 65535, got 0"
        );
        assert_eq!(
            load_error(r#"{"wal_size_threshold_mb": 0}"#, &none),
            "config.json: key \"wal_size_threshold_mb\" must be between 1 and 1048576, got 0"
        );
        assert_eq!(
            load_error("{}", &cli(&["--wal-size-threshold-mb", "2000000"])),
            "--wal_size_threshold_mb: must be between 1 and 1048576, got 2000000"
        );
        assert_eq!(
            load_error("{}", &cli(&["--proto-max-bulk-len", "1000"])),
            "--proto_max_bulk_len: must be between 1048576 (1mb) and 9223372036854775807 bytes, got 1000"
        );
    }

    #[test]
    fn validation_rules() {
        let ok = |f: fn(&mut Config)| {
            let mut c = Config::default();
            f(&mut c);
            c.validate()
        };
        let fails = |f: fn(&mut Config), expected: &str| {
            let mut c = Config::default();
            f(&mut c);
            let err = c.validate().expect_err(expected).to_string();
            assert!(
                err.starts_with(expected),
                "expected {expected:?}, got {err:?}"
            );
        };
        fails(|c| c.host = "my-host".into(), "host: must be an IP address");
        fails(|c| c.host = String::new(), "host: must be an IP address");
        ok(|c| c.host = "localhost".into()).unwrap();
        ok(|c| c.host = "0.0.0.0".into()).unwrap();
        ok(|c| c.host = "::".into()).unwrap();
        fails(|c| c.port = 0, "port: must be between 1 and 65535, got 0");
        fails(|c| c.dir = PathBuf::new(), "dir: must not be empty");
        fails(|c| c.shards = 1025, "shards: must be between 0 and 1024");
        ok(|c| c.shards = 1024).unwrap();
        fails(
            |c| c.databases = 0,
            "databases: must be between 1 and 1000000, got 0",
        );
        fails(
            |c| c.databases = 1_000_001,
            "databases: must be between 1 and 1000000",
        );
        ok(|c| c.databases = 1).unwrap();
        fails(
            |c| c.maxclients = 0,
            "maxclients: must be between 1 and 4294967295, got 0",
        );
        fails(
            |c| c.log_level = "loud".into(),
            "log_level: must be one of error, warn",
        );
        fails(|c| c.log_level = String::new(), "log_level: must be one of");
        fails(
            |c| c.log_level = "notice".into(),
            "log_level: must be one of",
        );
        fails(
            |c| c.proto_max_bulk_len = 1024,
            "proto_max_bulk_len: must be between 1048576",
        );
        fails(
            |c| c.proto_max_bulk_len = u64::MAX,
            "proto_max_bulk_len: must be between",
        );
        ok(|c| c.proto_max_bulk_len = MIN_BYTE_LIMIT).unwrap();
        fails(
            |c| c.client_query_buffer_limit = 1024 * 1024 - 1,
            "client_query_buffer_limit: must be between 1048576",
        );
        // Allowed, as in Redis: see the comment in `check`.
        ok(|c| {
            c.proto_max_bulk_len = 4 << 30;
            c.client_query_buffer_limit = 1 << 20;
        })
        .unwrap();
        fails(
            |c| c.timeout = 1 << 31,
            "timeout: must be between 0 and 2147483647",
        );
        ok(|c| c.timeout = 3600).unwrap();
        fails(
            |c| c.wal_size_threshold_mb = 0,
            "wal_size_threshold_mb: must be between 1 and 1048576, got 0",
        );
        fails(
            |c| c.wal_size_threshold_mb = 1_048_577,
            "wal_size_threshold_mb: must be between 1 and 1048576, got 1048577",
        );
        ok(|c| c.wal_size_threshold_mb = 1).unwrap();
        ok(|c| c.wal_size_threshold_mb = MAX_WAL_SIZE_THRESHOLD_MB).unwrap();
        ok(|c| c.durability = Durability::Off).unwrap();
    }

    #[test]
    fn log_filter_syntax() {
        for good in [
            "info",
            "WARN",
            "off",
            "memflux=debug",
            "info,memflux=debug",
            "warn, memflux::server=trace",
            "memflux[conn]=debug",
            "[request{id=5}]=trace",
            "my-crate.x=error",
        ] {
            assert!(check_log_filter(good).is_ok(), "{good:?} rejected");
        }
        for bad in [
            "",
            " ",
            "loud",
            "memflux",
            "info,",
            "=debug",
            "memflux=loud",
            "a b=info",
            "x[span=info",
            "notice",
        ] {
            assert!(check_log_filter(bad).is_err(), "{bad:?} accepted");
        }
        let hint = check_log_filter("warning").unwrap_err();
        assert!(hint.contains("use \"warn\" instead"), "{hint}");
    }

    #[test]
    fn shard_count_resolves_zero_to_cores() {
        let mut c = Config {
            shards: 3,
            ..Config::default()
        };
        assert_eq!(c.shard_count(), 3);
        c.shards = 0;
        let cores = std::thread::available_parallelism().map_or(1, NonZeroUsize::get);
        assert_eq!(c.shard_count(), cores.min(MAX_SHARDS));
        assert!(c.shard_count() >= 1);
    }

    fn names(pairs: &[(String, String)]) -> Vec<&str> {
        pairs.iter().map(|(name, _)| name.as_str()).collect()
    }

    #[test]
    fn config_get_patterns() {
        let c = Config::default();
        let all = c.config_get(b"*");
        assert_eq!(
            names(&all),
            [
                "bind",
                "port",
                "dir",
                "shards",
                "pin-cpus",
                "databases",
                "maxclients",
                "loglevel",
                "proto-max-bulk-len",
                "client-query-buffer-limit",
                "timeout",
                "appendfsync",
                "wal-size-threshold-mb",
                "save",
                "appendonly",
            ]
        );
        let value = |name: &str| {
            all.iter()
                .find(|(n, _)| n == name)
                .map(|(_, v)| v.as_str())
                .unwrap()
        };
        assert_eq!(value("bind"), "127.0.0.1");
        assert_eq!(value("port"), "8360");
        assert_eq!(value("dir"), "shards");
        assert_eq!(value("pin-cpus"), "no");
        assert_eq!(value("loglevel"), "info");
        assert_eq!(value("proto-max-bulk-len"), "536870912");
        assert_eq!(value("client-query-buffer-limit"), "1073741824");
        assert_eq!(value("appendfsync"), "always");
        assert_eq!(value("wal-size-threshold-mb"), "128");
        assert_eq!(value("save"), "");
        assert_eq!(value("appendonly"), "yes");

        assert_eq!(
            c.config_get(b"max*"),
            vec![("maxclients".to_string(), "10000".to_string())]
        );
        assert_eq!(
            c.config_get(b"bind"),
            vec![("bind".to_string(), "127.0.0.1".to_string())]
        );
        assert_eq!(names(&c.config_get(b"BIND")), ["bind"]);
        assert_eq!(names(&c.config_get(b"host")), ["bind"]);
        assert_eq!(
            names(&c.config_get(b"proto_max_bulk_len")),
            ["proto-max-bulk-len"]
        );
        assert_eq!(names(&c.config_get(b"log_level")), ["loglevel"]);
        assert_eq!(names(&c.config_get(b"durability")), ["appendfsync"]);
        assert_eq!(
            names(&c.config_get(b"append*")),
            ["appendfsync", "appendonly"]
        );
        assert_eq!(
            names(&c.config_get(b"wal_size_threshold_mb")),
            ["wal-size-threshold-mb"]
        );
        assert_eq!(
            names(&c.config_get(b"*-*")),
            [
                "pin-cpus",
                "loglevel",
                "proto-max-bulk-len",
                "client-query-buffer-limit",
                "wal-size-threshold-mb"
            ]
        );
        assert!(c.config_get(b"nosuchparam").is_empty());
        assert!(c.config_get(b"").is_empty());
    }

    #[test]
    fn config_set_changes_runtime_parameters() {
        let mut c = Config::default();
        c.config_set(b"maxclients", b"500").unwrap();
        assert_eq!(c.maxclients, 500);
        c.config_set(b"TIMEOUT", b"0").unwrap();
        c.config_set(b"timeout", b"60").unwrap();
        assert_eq!(c.timeout, 60);
        c.config_set(b"proto-max-bulk-len", b"64mb").unwrap();
        assert_eq!(c.proto_max_bulk_len, 64 << 20);
        c.config_set(b"proto_max_bulk_len", b"2097152").unwrap();
        assert_eq!(c.proto_max_bulk_len, 2 << 20);
        c.config_set(b"client-query-buffer-limit", b"2gb").unwrap();
        assert_eq!(c.client_query_buffer_limit, 2 << 30);
        c.config_set(b"client_query_buffer_limit", b"1mb").unwrap();
        assert_eq!(c.client_query_buffer_limit, 1 << 20);
        c.config_set(b"loglevel", b"debug").unwrap();
        assert_eq!(c.log_level, "debug");
        c.config_set(b"loglevel", b"WARNING").unwrap();
        assert_eq!(c.log_level, "warn", "Redis level names are translated");
        c.config_set(b"loglevel", b"notice").unwrap();
        assert_eq!(c.log_level, "info");
        c.config_set(b"log_level", b"TRACE").unwrap();
        assert_eq!(c.log_level, "trace");
        c.config_set(b"log-level", b"info,memflux=debug").unwrap();
        assert_eq!(c.log_level, "info,memflux=debug");
        c.config_set(b"appendfsync", b"everysec").unwrap();
        assert_eq!(c.durability, Durability::Everysec);
        c.config_set(b"durability", b"NO").unwrap();
        assert_eq!(c.durability, Durability::No);
        c.config_set(b"APPENDFSYNC", b"always").unwrap();
        assert_eq!(c.durability, Durability::Always);
        c.config_set(b"wal-size-threshold-mb", b"1").unwrap();
        assert_eq!(c.wal_size_threshold_mb, 1);
        c.config_set(b"wal_size_threshold_mb", b"1048576").unwrap();
        assert_eq!(c.wal_size_threshold_mb, 1_048_576);
        c.config_set(b"save", b"").unwrap();
        c.config_set(b"appendonly", b"yes").unwrap();
        c.config_set(b"appendonly", b"YES").unwrap();
        c.validate().unwrap();
        assert_eq!(c.config_get(b"maxclients")[0].1, "500");
    }

    #[test]
    fn config_set_errors_use_redis_wording() {
        let mut c = Config::default();
        let before = c.clone();
        let err = |c: &mut Config, name: &str, value: &str| {
            c.config_set(name.as_bytes(), value.as_bytes()).unwrap_err()
        };
        assert_eq!(
            err(&mut c, "foo", "1"),
            "ERR Unknown option or number of arguments for CONFIG SET - 'foo'"
        );
        assert_eq!(
            err(&mut c, "port", "7000"),
            "ERR CONFIG SET failed (possibly related to argument 'port') - can't set immutable config"
        );
        for immutable in [
            "bind",
            "host",
            "dir",
            "databases",
            "shards",
            "pin-cpus",
            "pin_cpus",
            "Port",
        ] {
            assert_eq!(
                err(&mut c, immutable, "1"),
                format!(
                    "ERR CONFIG SET failed (possibly related to argument '{immutable}') - can't set immutable config"
                )
            );
        }
        assert_eq!(
            err(&mut c, "save", "900 1"),
            "ERR CONFIG SET failed (possibly related to argument 'save') - can't set immutable config"
        );
        assert_eq!(
            err(&mut c, "appendonly", "no"),
            "ERR CONFIG SET failed (possibly related to argument 'appendonly') - can't set immutable config"
        );
        assert_eq!(
            err(&mut c, "appendfsync", "off"),
            "ERR CONFIG SET failed (possibly related to argument 'appendfsync') - durability can't be turned on or off while the server runs"
        );
        assert_eq!(
            err(&mut c, "durability", "OFF"),
            "ERR CONFIG SET failed (possibly related to argument 'appendfsync') - durability can't be turned on or off while the server runs"
        );
        for bad in ["sometimes", "", "yes", "always "] {
            assert_eq!(
                err(&mut c, "appendfsync", bad),
                "ERR CONFIG SET failed (possibly related to argument 'appendfsync') - argument(s) must be one of the following: always, everysec, no",
                "{bad:?}"
            );
        }
        assert_eq!(
            err(&mut c, "wal-size-threshold-mb", "0"),
            "ERR CONFIG SET failed (possibly related to argument 'wal-size-threshold-mb') - argument must be between 1 and 1048576 inclusive"
        );
        assert_eq!(
            err(&mut c, "wal_size_threshold_mb", "64mb"),
            "ERR CONFIG SET failed (possibly related to argument 'wal-size-threshold-mb') - argument couldn't be parsed into an integer"
        );
        for bad in ["abc", "", "1.5", "+5", "007", " 5", "99999999999999999999"] {
            assert_eq!(
                err(&mut c, "maxclients", bad),
                "ERR CONFIG SET failed (possibly related to argument 'maxclients') - argument couldn't be parsed into an integer",
                "{bad:?}"
            );
        }
        assert_eq!(
            err(&mut c, "MaxClients", "0"),
            "ERR CONFIG SET failed (possibly related to argument 'maxclients') - argument must be between 1 and 4294967295 inclusive"
        );
        assert_eq!(
            err(&mut c, "maxclients", "-1"),
            "ERR CONFIG SET failed (possibly related to argument 'maxclients') - argument must be between 1 and 4294967295 inclusive"
        );
        assert_eq!(
            err(&mut c, "timeout", "-1"),
            "ERR CONFIG SET failed (possibly related to argument 'timeout') - argument must be between 0 and 2147483647 inclusive"
        );
        assert_eq!(
            err(&mut c, "proto-max-bulk-len", "lots"),
            "ERR CONFIG SET failed (possibly related to argument 'proto-max-bulk-len') - argument must be a memory value"
        );
        assert_eq!(
            err(&mut c, "proto_max_bulk_len", "100"),
            "ERR CONFIG SET failed (possibly related to argument 'proto-max-bulk-len') - argument must be between 1048576 and 9223372036854775807 inclusive"
        );
        assert_eq!(
            err(&mut c, "client-query-buffer-limit", "-1"),
            "ERR CONFIG SET failed (possibly related to argument 'client-query-buffer-limit') - argument must be a memory value"
        );
        let loglevel = err(&mut c, "loglevel", "loud");
        assert!(
            loglevel.starts_with(
                "ERR CONFIG SET failed (possibly related to argument 'loglevel') - argument(s) must be one of the following: debug, verbose, notice, warning, nothing, error, warn, info, trace, off"
            ),
            "{loglevel}"
        );
        assert!(c
            .config_set(b"maxclients", &[0xff, b'1'])
            .unwrap_err()
            .ends_with("argument couldn't be parsed into an integer"));
        assert_eq!(
            c.config_set(&[b'x', 0xff], b"1").unwrap_err(),
            "ERR Unknown option or number of arguments for CONFIG SET - 'x\u{fffd}'"
        );
        assert_eq!(c, before, "failed sets change nothing");
    }

    #[test]
    fn durability_off_is_fixed_at_run_time() {
        let mut c = Config {
            durability: Durability::Off,
            ..Config::default()
        };
        assert_eq!(c.config_get(b"appendfsync")[0].1, "off");
        assert_eq!(c.config_get(b"appendonly")[0].1, "no");
        let before = c.clone();
        for on in ["always", "everysec", "no"] {
            assert_eq!(
                c.config_set(b"appendfsync", on.as_bytes()).unwrap_err(),
                "ERR CONFIG SET failed (possibly related to argument 'appendfsync') - durability can't be turned on or off while the server runs",
                "{on}"
            );
        }
        assert_eq!(
            c.config_set(b"appendfsync", b"sometimes").unwrap_err(),
            "ERR CONFIG SET failed (possibly related to argument 'appendfsync') - argument(s) must be one of the following: always, everysec, no"
        );
        assert_eq!(
            c.config_set(b"appendonly", b"yes").unwrap_err(),
            "ERR CONFIG SET failed (possibly related to argument 'appendonly') - can't set immutable config"
        );
        assert_eq!(c, before, "failed sets change nothing");
        // Setting what it already is changes nothing and is accepted.
        c.config_set(b"appendonly", b"NO").unwrap();
        c.config_set(b"durability", b"off").unwrap();
        assert_eq!(c, before);
    }
}
