//! MemFlux: a thread-per-core, shared-nothing, Redis-compatible in-memory database.
//!
//! Each core runs one glommio executor that owns a *shard*: the keys whose Redis Cluster
//! hash slot maps to it, in every logical database. Connections stay on the core that
//! accepted them; commands for keys owned elsewhere travel to the owner over inter-core
//! channels, batched per pipeline, and their replies return in pipeline order.
//!
//! # Layout
//!
//! * [`protocol`] — RESP: the incremental request parser, reply encoding (RESP2/RESP3),
//!   argument spans. Knows nothing of storage or commands.
//! * [`server`] — start-up checks, executors and listeners (SO_REUSEPORT), the connection
//!   loop with its pipeline batching, and everything that spans shards: split commands
//!   (`coordinator`), gathered commands and MULTI/EXEC under cross-shard locks
//!   (`atomic`), blocking pops over several shards (`blocking`), pub/sub (`pubsub`);
//!   shutdown.
//! * [`shard`] — one core's state: the keyspace (`keyspace`: slab + hash index, lazy and
//!   active expiry), values (`value`: one file per type), key routing (`routing`: CRC16
//!   slots, hash tags), transaction locks (`locks`), blocked clients (`blocking`), the
//!   inter-shard mesh and the typed operations it carries, counters.
//! * [`commands`] — the command table and one file per command family (`string`, `keys`,
//!   `list`, `hash`, `set`, `zset`, `json`, `blocking`, `pubsub`, `transaction`,
//!   `connection`, `server`, `sql`). Handlers run shard-local (`ShardCtx`), on the connection,
//!   or as async coordinators across shards.
//! * [`storage`] — durability: per-shard WAL with group commit, snapshots taken without
//!   stopping the shard, recovery at start-up, `memflux inspect`. `storage::format` owns
//!   every on-disk layout.
//! * [`sql`] — SQL over the JSON documents stored as `<table>:<pk>`: parse, bind, plan
//!   into per-shard fragments and a coordinator part, scan (on each shard), execute
//!   (gather, join, aggregate, sort), DML/DDL; values, types and functions with
//!   PostgreSQL's semantics. `sql/mod.rs` lists the stages.
//! * [`json`] — JSON documents: JSONPath/legacy path selection and RedisJSON formatting.
//! * [`config`] — `config.json` and the CLI flags that override it.
//! * [`util`] — glob matching and number parsing/formatting with Redis's rules.
//!
//! The `memflux` binary (`src/main.rs`) only parses flags and calls [`server::run`], or
//! [`storage::inspect::run`] for `memflux inspect`.

pub mod commands;
pub mod config;
pub mod json;
pub mod logging;
pub mod protocol;
pub mod server;
pub mod shard;
pub mod sql;
pub mod storage;
pub mod util;
