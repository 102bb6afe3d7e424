//! Server commands: INFO, DBSIZE, FLUSHDB, FLUSHALL, SWAPDB, TIME, CONFIG, LASTSAVE,
//! SHUTDOWN, COMMAND.
//!
//! Everything keyspace-wide is gathered from (or applied to) every shard with a typed op
//! broadcast; the rest is answered from the connection's core alone.

use std::fmt::Write as _;
use std::sync::atomic::Ordering;

use super::util::{help_reply, int_arg, is, subcommand_arity, unknown_subcommand};
use super::{
    flags::*, spec, CmdError, CmdResult, CommandSpec, Cross, LocalBoxFuture, OwnedArgs, Registry,
    Run,
};
use crate::protocol::{Argv, ReplyBuf};
use crate::server::client::Client;
use crate::shard::ops::{OpResult, ShardOp};
use crate::shard::stats::ShardStats;
use crate::shard::{now_ms, Shard};
use crate::util::glob::glob_match;

/// Fails with the first shard's error, if any shard reported one.
fn first_error(results: Vec<OpResult>) -> CmdResult {
    for r in results {
        if let OpResult::Error(e) = r {
            return Err(CmdError::msg(e));
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// DBSIZE, FLUSHDB, FLUSHALL, SWAPDB
// ---------------------------------------------------------------------------

/// # Format
/// `DBSIZE`
fn dbsize<'a>(
    c: &'a mut Client,
    _args: OwnedArgs,
    out: &'a mut ReplyBuf,
) -> LocalBoxFuture<'a, CmdResult> {
    Box::pin(async move {
        let db = c.db;
        out.int(c.shard.db_sizes(db).await.iter().sum::<u64>() as i64);
        Ok(())
    })
}

/// The optional `ASYNC | SYNC` of FLUSHDB and FLUSHALL. Both free memory at once here:
/// dropping a keyspace is quick next to the network round trip, so ASYNC changes nothing
/// a client can observe.
fn flush_mode(args: &OwnedArgs) -> CmdResult {
    match args.len() {
        1 => Ok(()),
        2 if is(&args[1], "ASYNC") || is(&args[1], "SYNC") => Ok(()),
        _ => Err(CmdError::Syntax),
    }
}

/// # Format
/// `FLUSHDB [ASYNC | SYNC]`
fn flushdb<'a>(
    c: &'a mut Client,
    args: OwnedArgs,
    out: &'a mut ReplyBuf,
) -> LocalBoxFuture<'a, CmdResult> {
    Box::pin(async move {
        flush_mode(&args)?;
        let db = c.db;
        first_error(c.shard.broadcast(|_| ShardOp::FlushDb { db }).await)?;
        out.ok();
        Ok(())
    })
}

/// # Format
/// `FLUSHALL [ASYNC | SYNC]`
fn flushall<'a>(
    c: &'a mut Client,
    args: OwnedArgs,
    out: &'a mut ReplyBuf,
) -> LocalBoxFuture<'a, CmdResult> {
    Box::pin(async move {
        flush_mode(&args)?;
        first_error(c.shard.broadcast(|_| ShardOp::FlushAll).await)?;
        out.ok();
        Ok(())
    })
}

/// A SWAPDB index: Redis reads a C int, so anything else (including 64-bit values) is
/// "invalid"; the range is checked after both parse.
fn swap_index(arg: &[u8], which: &'static str) -> Result<i64, CmdError> {
    int_arg(arg)
        .ok()
        .filter(|n| i32::try_from(*n).is_ok())
        .ok_or_else(|| CmdError::msg(format!("ERR invalid {which} DB index")))
}

/// # Format
/// `SWAPDB index1 index2` — every shard swaps its two keyspaces, so clients that have
/// either database selected see the other's data at once.
fn swapdb<'a>(
    c: &'a mut Client,
    args: OwnedArgs,
    out: &'a mut ReplyBuf,
) -> LocalBoxFuture<'a, CmdResult> {
    Box::pin(async move {
        let a = swap_index(&args[1], "first")?;
        let b = swap_index(&args[2], "second")?;
        let databases = c.shard.config.borrow().databases as i64;
        if !(0..databases).contains(&a) || !(0..databases).contains(&b) {
            return Err(CmdError::msg("ERR DB index is out of range"));
        }
        let (a, b) = (a as usize, b as usize);
        if a != b {
            first_error(c.shard.broadcast(|_| ShardOp::SwapDb { a, b }).await)?;
        }
        out.ok();
        Ok(())
    })
}

// ---------------------------------------------------------------------------
// TIME, LASTSAVE, SHUTDOWN
// ---------------------------------------------------------------------------

/// # Format
/// `TIME` — `[unix seconds, microseconds]`, both as bulk strings.
fn time(_c: &mut Client, _argv: &Argv<'_>, out: &mut ReplyBuf) -> CmdResult {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    out.array(2);
    out.bulk_i64(now.as_secs() as i64);
    out.bulk_i64(now.subsec_micros() as i64);
    Ok(())
}

/// Every shard's figures, for INFO and LASTSAVE.
async fn all_stats(c: &Client) -> Vec<ShardStats> {
    let mut stats = Vec::with_capacity(c.shard.nshards);
    for r in c.shard.broadcast(|_| ShardOp::Stats).await {
        if let OpResult::Stats(st) = r {
            stats.push(*st);
        }
    }
    stats
}

/// The time (Unix seconds) up to which every shard has a snapshot: the oldest of the
/// shards' latest successful snapshots, or the start time if a shard has none yet (as
/// Redis reports its start time until the first save).
fn last_save_secs(shard: &Shard, stats: &[ShardStats]) -> u64 {
    let started = shard.process.started_ms;
    stats
        .iter()
        .map(|st| st.persistence.snapshot.last_ok_ms.unwrap_or(started))
        .min()
        .unwrap_or(started)
        / 1000
}

/// # Format
/// `LASTSAVE`
fn lastsave<'a>(
    c: &'a mut Client,
    _args: OwnedArgs,
    out: &'a mut ReplyBuf,
) -> LocalBoxFuture<'a, CmdResult> {
    Box::pin(async move {
        let stats = all_stats(c).await;
        out.int(last_save_secs(&c.shard, &stats) as i64);
        Ok(())
    })
}

/// # Format
/// `SAVE` — every shard writes a snapshot; replies once all are on disk. Unlike Redis's
/// SAVE this does not block other clients: shards keep serving while they write.
fn save<'a>(
    c: &'a mut Client,
    _args: OwnedArgs,
    out: &'a mut ReplyBuf,
) -> LocalBoxFuture<'a, CmdResult> {
    Box::pin(async move {
        for r in c.shard.broadcast(|_| ShardOp::Save).await {
            if let OpResult::Error(e) = r {
                return Err(CmdError::msg(e));
            }
        }
        out.ok();
        Ok(())
    })
}

/// # Format
/// `BGSAVE [SCHEDULE]` — every shard starts a snapshot; replies at once.
fn bgsave<'a>(
    c: &'a mut Client,
    args: OwnedArgs,
    out: &'a mut ReplyBuf,
) -> LocalBoxFuture<'a, CmdResult> {
    Box::pin(async move {
        let schedule = match args.len() {
            1 => false,
            2 if is(&args[1], "SCHEDULE") => true,
            _ => return Err(CmdError::Syntax),
        };
        let results = c.shard.broadcast(|_| ShardOp::BgSave { schedule }).await;
        let mut scheduled = false;
        for r in results {
            match r {
                OpResult::Error(e) => return Err(CmdError::msg(e)),
                OpResult::Bool(true) => scheduled = true,
                _ => {}
            }
        }
        if scheduled {
            out.simple(b"Background saving scheduled");
        } else {
            out.simple(b"Background saving started");
        }
        Ok(())
    })
}

/// # Format
/// `SHUTDOWN [NOSAVE | SAVE] [NOW] [FORCE] [ABORT]`
///
/// Every core sees the flag, finishes its connections, takes its shutdown snapshot
/// (skipped with NOSAVE; taken even with `durability=off` with SAVE), syncs its WAL and
/// exits. As in Redis, the caller gets no reply; its connection just closes.
fn shutdown(c: &mut Client, argv: &Argv<'_>, _out: &mut ReplyBuf) -> CmdResult {
    let (mut save, mut nosave, mut others, mut abort) = (false, false, false, false);
    for a in argv.iter().skip(1) {
        if is(a, "NOSAVE") {
            nosave = true;
        } else if is(a, "SAVE") {
            save = true;
        } else if is(a, "NOW") || is(a, "FORCE") {
            others = true;
        } else if is(a, "ABORT") {
            abort = true;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    if (abort && (save || nosave || others)) || (save && nosave) {
        return Err(CmdError::Syntax);
    }
    if abort {
        // Shutdown never waits for anything here, so there is never one to abort.
        return Err(CmdError::msg("ERR No shutdown in progress."));
    }
    tracing::warn!(client = c.id, "SHUTDOWN requested; stopping");
    let choice = if nosave {
        crate::shard::SHUTDOWN_NOSAVE
    } else if save {
        crate::shard::SHUTDOWN_SAVE
    } else {
        crate::shard::SHUTDOWN_DEFAULT
    };
    c.shard
        .process
        .shutdown_save
        .store(choice, Ordering::SeqCst);
    c.shard.process.shutdown.store(true, Ordering::SeqCst);
    c.close_after_reply = true;
    Ok(())
}

// ---------------------------------------------------------------------------
// CONFIG
// ---------------------------------------------------------------------------

const CONFIG_HELP: &[&str] = &[
    "CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "GET <pattern>",
    "    Return parameters matching the glob-like <pattern> and their values.",
    "SET <directive> <value>",
    "    Set the configuration <directive> to <value>.",
    "RESETSTAT",
    "    Reset statistics reported by the INFO command.",
    "HELP",
    "    Prints this help.",
];

/// `CONFIG GET pattern [pattern ...]`: each parameter once, in table order of first match.
fn config_get(c: &Client, patterns: &[Vec<u8>], out: &mut ReplyBuf) {
    let cfg = c.shard.config.borrow();
    let mut pairs: Vec<(String, String)> = Vec::new();
    for p in patterns {
        for (k, v) in cfg.config_get(p) {
            if !pairs.iter().any(|(seen, _)| *seen == k) {
                pairs.push((k, v));
            }
        }
    }
    out.map(pairs.len());
    for (k, v) in pairs {
        out.bulk(k.as_bytes());
        out.bulk(v.as_bytes());
    }
}

/// Checks every pair of `CONFIG SET` before anything changes, in Redis's order: first
/// unknown or immutable names and repeated parameters (the first such problem wins),
/// then each value in turn.
fn config_set_validate(c: &Client, args: &[Vec<u8>]) -> CmdResult {
    if !args.len().is_multiple_of(2) {
        return Err(CmdError::Syntax);
    }
    let original = c.shard.config.borrow().clone();
    let mut seen: Vec<String> = Vec::new();
    for pair in args.chunks(2) {
        let (name, value) = (&pair[0], &pair[1]);
        if let Err(e) = original.clone().config_set(name, value) {
            if e.starts_with("ERR Unknown option") || e.ends_with("can't set immutable config") {
                return Err(CmdError::msg(e));
            }
        }
        // A known name never holds glob characters, so it matches exactly one parameter:
        // its canonical name tells aliases (`log_level`, `loglevel`) apart from others.
        let canonical = original
            .config_get(name)
            .into_iter()
            .next()
            .map(|(k, _)| k)
            .unwrap_or_default();
        if seen.contains(&canonical) {
            return Err(CmdError::msg(format!(
                "ERR CONFIG SET failed (possibly related to argument '{}') - duplicate parameter",
                String::from_utf8_lossy(name)
            )));
        }
        seen.push(canonical);
    }
    let mut scratch = original;
    for pair in args.chunks(2) {
        scratch
            .config_set(&pair[0], &pair[1])
            .map_err(CmdError::msg)?;
    }
    Ok(())
}

/// # Format
/// `CONFIG GET parameter [parameter ...] | SET parameter value [parameter value ...] |
///  RESETSTAT | HELP`
fn config<'a>(
    c: &'a mut Client,
    args: OwnedArgs,
    out: &'a mut ReplyBuf,
) -> LocalBoxFuture<'a, CmdResult> {
    Box::pin(async move {
        let sub = args[1].to_ascii_lowercase();
        let arity: i32 = match sub.as_slice() {
            b"get" => -3,
            b"set" => -4,
            b"resetstat" | b"help" => 2,
            _ => return Err(unknown_subcommand(&args[1], "config")),
        };
        let n = args.len() as i32;
        if (arity >= 0 && n != arity) || n < -arity {
            return Err(subcommand_arity("config", &args[1]));
        }
        match sub.as_slice() {
            b"get" => config_get(c, &args[2..], out),
            b"set" => {
                config_set_validate(c, &args[2..])?;
                // Valid on this core means valid on every core (they hold equal copies),
                // so the broadcast cannot fail half-way.
                for pair in args[2..].chunks(2) {
                    let results = c
                        .shard
                        .broadcast(|_| ShardOp::ConfigSet {
                            name: pair[0].clone(),
                            value: pair[1].clone(),
                        })
                        .await;
                    first_error(results)?;
                }
                out.ok();
            }
            b"resetstat" => {
                c.shard.broadcast(|_| ShardOp::ResetStats).await;
                out.ok();
            }
            _ => help_reply(out, CONFIG_HELP),
        }
        Ok(())
    })
}

// ---------------------------------------------------------------------------
// INFO
// ---------------------------------------------------------------------------

/// INFO's sections in output order, and whether `INFO` without arguments includes them.
const SECTIONS: [(&str, bool); 9] = [
    ("server", true),
    ("clients", true),
    ("memory", true),
    ("persistence", true),
    ("stats", true),
    ("replication", true),
    ("cpu", true),
    ("keyspace", true),
    ("shards", true),
];

/// Which sections an INFO call asks for (a bit per `SECTIONS` entry). Unknown names are
/// ignored, as Redis ignores them.
fn info_sections(args: &[Vec<u8>]) -> u32 {
    let default = SECTIONS
        .iter()
        .enumerate()
        .filter(|(_, s)| s.1)
        .fold(0, |m, (i, _)| m | 1 << i);
    if args.is_empty() {
        return default;
    }
    let mut mask = 0;
    for a in args {
        if is(a, "all") || is(a, "everything") {
            mask |= (1 << SECTIONS.len()) - 1;
        } else if is(a, "default") {
            mask |= default;
        } else if let Some(i) = SECTIONS.iter().position(|(name, _)| is(a, name)) {
            mask |= 1 << i;
        }
    }
    mask
}

/// Bytes the way Redis's INFO writes them for people (`1.15M`).
fn bytes_to_human(n: u64) -> String {
    const UNITS: [(u64, &str); 5] = [
        (1 << 50, "P"),
        (1 << 40, "T"),
        (1 << 30, "G"),
        (1 << 20, "M"),
        (1 << 10, "K"),
    ];
    for (size, unit) in UNITS {
        if n >= size {
            return format!("{:.2}{unit}", n as f64 / size as f64);
        }
    }
    format!("{n}B")
}

/// Resident set size from `/proc/self/statm` (0 where it cannot be read).
fn rss_bytes() -> u64 {
    let pages = std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| {
            s.split_whitespace()
                .nth(1)
                .and_then(|p| p.parse::<u64>().ok())
        })
        .unwrap_or(0);
    // SAFETY: sysconf only reads a system constant.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    pages * page.max(0) as u64
}

/// `uname -s -r -m`, as Redis's `os` field shows it.
fn os_name() -> String {
    // SAFETY: uname fills the struct we pass; the fields are NUL-terminated C strings.
    unsafe {
        let mut u: libc::utsname = std::mem::zeroed();
        if libc::uname(&mut u) != 0 {
            return std::env::consts::OS.to_string();
        }
        let field = |f: &[libc::c_char]| {
            std::ffi::CStr::from_ptr(f.as_ptr())
                .to_string_lossy()
                .into_owned()
        };
        format!(
            "{} {} {}",
            field(&u.sysname),
            field(&u.release),
            field(&u.machine)
        )
    }
}

/// User and system CPU seconds of the process.
fn cpu_times() -> (f64, f64) {
    // SAFETY: getrusage only writes the struct we pass.
    unsafe {
        let mut r: libc::rusage = std::mem::zeroed();
        if libc::getrusage(libc::RUSAGE_SELF, &mut r) != 0 {
            return (0.0, 0.0);
        }
        let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
        (secs(r.ru_utime), secs(r.ru_stime))
    }
}

/// Builds the INFO text for the sections in `mask` from every shard's counters.
fn info_text(shard: &Shard, stats: &[ShardStats], mask: u32) -> String {
    let mut s = String::new();
    let p = &shard.process;
    let now = now_ms();
    let sum = |f: fn(&ShardStats) -> u64| stats.iter().map(f).sum::<u64>();
    for (i, (name, _)) in SECTIONS.iter().enumerate() {
        if mask & (1 << i) == 0 {
            continue;
        }
        if !s.is_empty() {
            s.push_str("\r\n");
        }
        // `writeln!` would end lines with a bare LF; INFO lines end with CRLF.
        macro_rules! line {
            ($($arg:tt)*) => {{
                let _ = write!(s, $($arg)*);
                s.push_str("\r\n");
            }};
        }
        match *name {
            "server" => {
                let uptime = now.saturating_sub(p.started_ms) / 1000;
                let config_file =
                    std::path::absolute(&p.config_file).unwrap_or_else(|_| p.config_file.clone());
                let exe = std::env::current_exe()
                    .map(|e| e.display().to_string())
                    .unwrap_or_default();
                line!("# Server");
                line!("redis_version:{}", crate::server::REDIS_VERSION);
                line!("memflux_version:{}", env!("CARGO_PKG_VERSION"));
                line!("redis_mode:standalone");
                line!("os:{}", os_name());
                line!("arch_bits:{}", usize::BITS);
                line!("multiplexing_api:io_uring");
                line!("process_id:{}", std::process::id());
                line!("run_id:{}", p.run_id);
                line!("tcp_port:{}", p.tcp_port);
                line!("server_time_usec:{}", now * 1000);
                line!("uptime_in_seconds:{uptime}");
                line!("uptime_in_days:{}", uptime / 86400);
                line!("executable:{exe}");
                line!("config_file:{}", config_file.display());
                line!("shards:{}", shard.nshards);
            }
            "clients" => {
                line!("# Clients");
                line!(
                    "connected_clients:{}",
                    sum(|st| st.connected_clients as u64)
                );
                line!("cluster_connections:0");
                line!("maxclients:{}", shard.config.borrow().maxclients);
                line!("blocked_clients:0");
                line!("tracking_clients:0");
            }
            "memory" => {
                let used = sum(|st| st.used_memory as u64);
                let rss = rss_bytes();
                line!("# Memory");
                line!("used_memory:{used}");
                line!("used_memory_human:{}", bytes_to_human(used));
                line!("used_memory_rss:{rss}");
                line!("used_memory_rss_human:{}", bytes_to_human(rss));
                line!("maxmemory:0");
                line!("maxmemory_human:0B");
                line!("maxmemory_policy:noeviction");
            }
            "persistence" => {
                let ps = |st: &ShardStats| st.persistence.clone();
                let all: Vec<_> = stats.iter().map(ps).collect();
                let any = |f: fn(&crate::shard::stats::PersistenceStats) -> bool| all.iter().any(f);
                line!("# Persistence");
                line!("loading:0");
                line!("async_loading:0");
                line!(
                    "rdb_changes_since_last_save:{}",
                    all.iter().map(|p| p.changes_since_snapshot).sum::<u64>()
                );
                line!(
                    "rdb_bgsave_in_progress:{}",
                    any(|p| p.snapshot.in_progress) as u8
                );
                line!("rdb_last_save_time:{}", last_save_secs(shard, stats));
                line!(
                    "rdb_last_bgsave_status:{}",
                    if any(|p| !p.snapshot.last_ok) {
                        "err"
                    } else {
                        "ok"
                    }
                );
                line!(
                    "rdb_last_bgsave_time_sec:{}",
                    all.iter()
                        .map(|p| p.snapshot.last_duration_ms)
                        .max()
                        .unwrap_or(0)
                        / 1000
                );
                line!(
                    "rdb_last_bgsave_time_ms:{}",
                    all.iter()
                        .map(|p| p.snapshot.last_duration_ms)
                        .max()
                        .unwrap_or(0)
                );
                line!(
                    "rdb_saves:{}",
                    all.iter().map(|p| p.snapshot.taken).min().unwrap_or(0)
                );
                line!(
                    "rdb_last_snapshot_keys:{}",
                    all.iter().map(|p| p.snapshot.last_keys).sum::<u64>()
                );
                line!(
                    "rdb_last_snapshot_bytes:{}",
                    all.iter().map(|p| p.snapshot.last_bytes).sum::<u64>()
                );
                line!("aof_enabled:{}", any(|p| p.wal_enabled) as u8);
                line!("aof_rewrite_in_progress:0");
                line!(
                    "aof_last_write_status:{}",
                    if any(|p| p.wal_failure.is_some()) {
                        "err"
                    } else {
                        "ok"
                    }
                );
                line!("durability:{}", shard.config.borrow().durability.as_str());
                line!(
                    "wal_size_bytes:{}",
                    all.iter().map(|p| p.wal_bytes).sum::<u64>()
                );
                line!(
                    "wal_segments:{}",
                    all.iter().map(|p| p.wal_segments).sum::<usize>()
                );
            }
            "stats" => {
                line!("# Stats");
                line!(
                    "total_connections_received:{}",
                    sum(|st| st.connections_received)
                );
                line!("total_commands_processed:{}", sum(|st| st.commands));
                line!("instantaneous_ops_per_sec:0");
                line!("total_net_input_bytes:{}", sum(|st| st.net_input_bytes));
                line!("total_net_output_bytes:{}", sum(|st| st.net_output_bytes));
                line!("rejected_connections:{}", sum(|st| st.rejected_connections));
                line!("expired_keys:{}", sum(|st| st.expired_keys));
                line!("evicted_keys:0");
                line!("keyspace_hits:{}", sum(|st| st.keyspace_hits));
                line!("keyspace_misses:{}", sum(|st| st.keyspace_misses));
                line!("pubsub_channels:0");
                line!("pubsub_patterns:0");
            }
            "replication" => {
                line!("# Replication");
                line!("role:master");
                line!("connected_slaves:0");
                line!("master_replid:{}", p.run_id);
                line!("master_repl_offset:0");
            }
            "cpu" => {
                let (user, sys) = cpu_times();
                line!("# CPU");
                line!("used_cpu_sys:{sys:.6}");
                line!("used_cpu_user:{user:.6}");
            }
            "keyspace" => {
                line!("# Keyspace");
                let databases = stats.iter().map(|st| st.dbs.len()).max().unwrap_or(0);
                for db in 0..databases {
                    let keys: usize = stats
                        .iter()
                        .filter_map(|st| st.dbs.get(db))
                        .map(|d| d.keys)
                        .sum();
                    let expires: usize = stats
                        .iter()
                        .filter_map(|st| st.dbs.get(db))
                        .map(|d| d.expires)
                        .sum();
                    if keys > 0 {
                        line!("db{db}:keys={keys},expires={expires},avg_ttl=0");
                    }
                }
            }
            _ => {
                line!("# Shards");
                for st in stats {
                    line!(
                        "shard{}:keys={},expires={},ops={},used_memory={},connected_clients={},forwarded_batches={},served_batches={},wal_bytes={},last_lsn={},durable_lsn={}",
                        st.id,
                        st.keys(),
                        st.dbs.iter().map(|d| d.expires).sum::<usize>(),
                        st.commands,
                        st.used_memory,
                        st.connected_clients,
                        st.forwarded_batches,
                        st.served_batches,
                        st.persistence.wal_bytes,
                        st.persistence.last_lsn,
                        st.persistence.durable_lsn
                    );
                }
            }
        }
    }
    s
}

/// # Format
/// `INFO [section [section ...]]`
fn info<'a>(
    c: &'a mut Client,
    args: OwnedArgs,
    out: &'a mut ReplyBuf,
) -> LocalBoxFuture<'a, CmdResult> {
    Box::pin(async move {
        let mask = info_sections(&args[1..]);
        let stats = if mask != 0 {
            all_stats(c).await
        } else {
            Vec::new()
        };
        let text = info_text(&c.shard, &stats, mask);
        out.verbatim(b"txt", text.as_bytes());
        Ok(())
    })
}

// ---------------------------------------------------------------------------
// COMMAND
// ---------------------------------------------------------------------------

/// Command flags in the order Redis lists them.
const FLAG_ORDER: [(u32, &str); 11] = [
    (WRITE, "write"),
    (READONLY, "readonly"),
    (DENYOOM, "denyoom"),
    (ADMIN, "admin"),
    (PUBSUB, "pubsub"),
    (NOSCRIPT, "noscript"),
    (BLOCKING, "blocking"),
    (LOADING, "loading"),
    (STALE, "stale"),
    (FAST, "fast"),
    (NO_AUTH, "no_auth"),
];

/// ACL categories, in Redis's order.
const CATEGORIES: [&str; 21] = [
    "keyspace",
    "read",
    "write",
    "set",
    "sortedset",
    "list",
    "hash",
    "string",
    "bitmap",
    "hyperloglog",
    "geo",
    "stream",
    "pubsub",
    "admin",
    "fast",
    "slow",
    "blocking",
    "dangerous",
    "connection",
    "transaction",
    "scripting",
];

/// A command's ACL categories (a bit per `CATEGORIES` entry), derived as Redis derives
/// the implicit ones: from the group and the flags, plus the few it declares by name.
fn categories(s: &CommandSpec) -> u32 {
    let bit = |name: &str| {
        CATEGORIES
            .iter()
            .position(|c| *c == name)
            .map_or(0, |i| 1u32 << i)
    };
    let mut m = match s.group {
        "generic" => bit("keyspace"),
        "sorted_set" => bit("sortedset"),
        "transactions" => bit("transaction"),
        g => bit(g),
    };
    if s.has(WRITE) {
        m |= bit("write");
    }
    if s.has(READONLY) {
        m |= bit("read");
    }
    if s.has(ADMIN) {
        m |= bit("admin") | bit("dangerous");
    }
    if s.has(PUBSUB) {
        m |= bit("pubsub");
    }
    if s.has(BLOCKING) {
        m |= bit("blocking");
    }
    m |= if s.has(FAST) {
        bit("fast")
    } else {
        bit("slow")
    };
    // Server commands that read or write data are keyspace commands.
    if s.group == "server" && s.has(WRITE | READONLY) {
        m |= bit("keyspace");
    }
    m |= match s.name {
        "flushall" | "flushdb" | "swapdb" | "keys" | "info" | "sort" | "migrate" | "restore"
        | "monitor" | "debug" => bit("dangerous"),
        "lastsave" | "role" => bit("admin") | bit("dangerous"),
        "command" => bit("connection"),
        _ => 0,
    };
    m
}

/// Writes one `COMMAND INFO` entry: name, arity, flags, first key, last key, step, ACL
/// categories, tips, key specifications, subcommands. MemFlux has no tips, key
/// specifications or subcommand entries, so those are empty.
fn command_info_entry(out: &mut ReplyBuf, s: &CommandSpec) {
    out.array(10);
    out.bulk(s.name.as_bytes());
    out.int(s.arity as i64);
    let mut flags: Vec<&str> = FLAG_ORDER
        .iter()
        .filter(|(f, _)| s.has(*f))
        .map(|(_, n)| *n)
        .collect();
    if s.movable_keys.is_some() {
        flags.push("movablekeys");
    }
    out.set(flags.len());
    for f in flags {
        out.simple(f.as_bytes());
    }
    out.int(s.first_key as i64);
    out.int(s.last_key as i64);
    out.int(s.step as i64);
    let cats = categories(s);
    out.set(cats.count_ones() as usize);
    for (i, c) in CATEGORIES.iter().enumerate() {
        if cats & (1 << i) != 0 {
            out.simple(format!("@{c}").as_bytes());
        }
    }
    out.set(0);
    out.set(0);
    out.set(0);
}

/// Writes one `COMMAND DOCS` value: the documentation map (without arguments).
fn command_docs_entry(out: &mut ReplyBuf, s: &CommandSpec) {
    out.map(4);
    for (k, v) in [
        ("summary", s.summary),
        ("since", s.since),
        ("group", s.group),
        ("complexity", s.complexity),
    ] {
        out.bulk(k.as_bytes());
        out.bulk(v.as_bytes());
    }
}

const COMMAND_HELP: &[&str] = &[
    "COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "(no subcommand)",
    "    Return details about all MemFlux commands.",
    "COUNT",
    "    Return the total number of commands in this server.",
    "LIST",
    "    Return a list of all commands in this server.",
    "INFO [<command-name> ...]",
    "    Return details about multiple commands.",
    "    If no command names are given, documentation details for all",
    "    commands are returned.",
    "DOCS [<command-name> ...]",
    "    Return documentation details about multiple commands.",
    "    If no command names are given, documentation details for all",
    "    commands are returned.",
    "GETKEYS <full-command>",
    "    Return the keys from a full command.",
    "HELP",
    "    Prints this help.",
];

/// `COMMAND LIST [FILTERBY MODULE name | ACLCAT category | PATTERN pattern]`
fn command_list(argv: &Argv<'_>, out: &mut ReplyBuf) -> CmdResult {
    let all = Registry::get().all();
    let keep: Box<dyn Fn(&CommandSpec) -> bool> = match argv.len() {
        2 => Box::new(|_| true),
        5 if is(argv.get(2), "FILTERBY") => {
            let (kind, value) = (argv.get(3), argv.get(4));
            if is(kind, "MODULE") {
                // No modules: nothing belongs to one.
                Box::new(|_| false)
            } else if is(kind, "ACLCAT") {
                let cat = CATEGORIES.iter().position(|c| is(value, c));
                Box::new(move |s| cat.is_some_and(|i| categories(s) & (1 << i) != 0))
            } else if is(kind, "PATTERN") {
                let pattern = value.to_vec();
                Box::new(move |s| glob_match(&pattern, s.name.as_bytes(), true))
            } else {
                return Err(CmdError::Syntax);
            }
        }
        _ => return Err(CmdError::Syntax),
    };
    let names: Vec<&str> = all.iter().filter(|s| keep(s)).map(|s| s.name).collect();
    out.array(names.len());
    for n in names {
        out.bulk(n.as_bytes());
    }
    Ok(())
}

/// `COMMAND GETKEYS command [arg ...]`
fn command_getkeys(argv: &Argv<'_>, out: &mut ReplyBuf) -> CmdResult {
    let Some(s) = Registry::get().lookup(argv.get(2)) else {
        return Err(CmdError::msg("ERR Invalid command specified"));
    };
    if s.first_key == 0 {
        return Err(CmdError::msg("ERR The command has no key arguments"));
    }
    let argc = argv.len() - 2;
    if !s.arity_ok(argc) {
        return Err(CmdError::msg(
            "ERR Invalid number of arguments specified for command",
        ));
    }
    let call = Argv::new(argv.base(), &argv.spans()[2..]);
    let keys: Vec<usize> = s.keys_of(&call).collect();
    if keys.is_empty() {
        return Err(CmdError::msg("ERR Invalid arguments specified for command"));
    }
    out.array(keys.len());
    for k in keys {
        out.bulk(argv.get(k + 2));
    }
    Ok(())
}

/// # Format
/// `COMMAND [COUNT | DOCS [name ...] | GETKEYS command [arg ...] | HELP | INFO [name ...] |
///  LIST [FILTERBY MODULE name | ACLCAT category | PATTERN pattern]]`
fn command(_c: &mut Client, argv: &Argv<'_>, out: &mut ReplyBuf) -> CmdResult {
    let registry = Registry::get();
    if argv.len() == 1 {
        out.array(registry.all().len());
        for s in registry.all() {
            command_info_entry(out, s);
        }
        return Ok(());
    }
    let sub = argv.get(1);
    let arity: i32 = if is(sub, "COUNT") || is(sub, "HELP") {
        2
    } else if is(sub, "INFO") || is(sub, "DOCS") || is(sub, "LIST") {
        -2
    } else if is(sub, "GETKEYS") {
        -4
    } else {
        return Err(unknown_subcommand(sub, "command"));
    };
    let n = argv.len() as i32;
    if (arity >= 0 && n != arity) || n < -arity {
        return Err(subcommand_arity("command", sub));
    }
    if is(sub, "COUNT") {
        out.int(registry.all().len() as i64);
    } else if is(sub, "HELP") {
        help_reply(out, COMMAND_HELP);
    } else if is(sub, "LIST") {
        command_list(argv, out)?;
    } else if is(sub, "GETKEYS") {
        command_getkeys(argv, out)?;
    } else if is(sub, "INFO") {
        // No names: every command. Unknown names answer null in their place.
        if argv.len() == 2 {
            out.array(registry.all().len());
            registry
                .all()
                .iter()
                .for_each(|s| command_info_entry(out, s));
        } else {
            out.array(argv.len() - 2);
            for name in argv.iter().skip(2) {
                match registry.lookup(name) {
                    Some(s) => command_info_entry(out, s),
                    None => out.null(),
                }
            }
        }
    } else {
        // DOCS: a map from name to documentation; unknown names are left out.
        let specs: Vec<&CommandSpec> = if argv.len() == 2 {
            registry.all().iter().collect()
        } else {
            argv.iter()
                .skip(2)
                .filter_map(|n| registry.lookup(n))
                .collect()
        };
        out.map(specs.len());
        for s in specs {
            out.bulk(s.name.as_bytes());
            command_docs_entry(out, s);
        }
    }
    Ok(())
}

#[rustfmt::skip]
pub fn commands() -> Vec<CommandSpec> {
    let none = (0, 0, 0);
    vec![
        spec("info", -1, LOADING | STALE, none, "server", "1.0.0", "Returns information and statistics about the server.", "O(1)", Run::Coord(info), Cross::No),
        spec("dbsize", 1, READONLY | FAST, none, "server", "1.0.0", "Returns the number of keys in the database.", "O(1)", Run::Coord(dbsize), Cross::No),
        spec("flushdb", -1, WRITE, none, "server", "1.0.0", "Remove all keys from the current database.", "O(N) where N is the number of keys in the selected database", Run::Coord(flushdb), Cross::No),
        spec("flushall", -1, WRITE, none, "server", "1.0.0", "Removes all keys from all databases.", "O(N) where N is the total number of keys in all databases", Run::Coord(flushall), Cross::No),
        spec("swapdb", 3, WRITE | FAST, none, "server", "4.0.0", "Swaps two Redis databases.", "O(N) where N is the count of clients watching or blocking on keys from both databases.", Run::Coord(swapdb), Cross::No),
        spec("time", 1, LOADING | STALE | FAST, none, "server", "2.6.0", "Returns the server time.", "O(1)", Run::Conn(time), Cross::No),
        spec("lastsave", 1, LOADING | STALE | FAST, none, "server", "1.0.0", "Returns the Unix timestamp of the last successful save to disk.", "O(1)", Run::Coord(lastsave), Cross::No),
        spec("save", 1, ADMIN | NOSCRIPT, none, "server", "1.0.0", "Synchronously saves the database(s) to disk.", "O(N) where N is the total number of keys in all databases", Run::Coord(save), Cross::No),
        spec("bgsave", -1, ADMIN | NOSCRIPT, none, "server", "1.0.0", "Asynchronously saves the database(s) to disk.", "O(1)", Run::Coord(bgsave), Cross::No),
        spec("shutdown", -1, ADMIN | NOSCRIPT | LOADING | STALE, none, "server", "1.0.0", "Synchronously saves the database(s) to disk and shuts down the Redis server.", "O(N) when saving, where N is the total number of keys in all databases when saving data, otherwise O(1)", Run::Conn(shutdown), Cross::No),
        spec("config", -2, ADMIN | NOSCRIPT | LOADING | STALE, none, "server", "2.0.0", "A container for server configuration commands.", "Depends on subcommand.", Run::Coord(config), Cross::No),
        spec("command", -1, LOADING | STALE, none, "server", "2.8.13", "Returns detailed information about all commands.", "O(N) where N is the total number of Redis commands", Run::Conn(command), Cross::No),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_bytes_like_redis() {
        assert_eq!(bytes_to_human(0), "0B");
        assert_eq!(bytes_to_human(1023), "1023B");
        assert_eq!(bytes_to_human(1024), "1.00K");
        assert_eq!(bytes_to_human(1_210_888), "1.15M");
        assert_eq!(bytes_to_human(3 << 30), "3.00G");
    }

    #[test]
    fn section_selection() {
        let all = (1 << SECTIONS.len()) - 1;
        assert_eq!(info_sections(&[]), all);
        assert_eq!(info_sections(&[b"EVERYTHING".to_vec()]), all);
        assert_eq!(info_sections(&[b"nosuch".to_vec()]), 0);
        let ks = SECTIONS.iter().position(|s| s.0 == "keyspace").unwrap();
        assert_eq!(
            info_sections(&[b"KeySpace".to_vec(), b"nosuch".to_vec()]),
            1 << ks
        );
    }

    #[test]
    fn categories_follow_redis() {
        let r = Registry::get();
        let names = |cmd: &str| {
            let m = categories(r.lookup(cmd.as_bytes()).unwrap());
            CATEGORIES
                .iter()
                .enumerate()
                .filter(|(i, _)| m & (1 << i) != 0)
                .map(|(_, c)| *c)
                .collect::<Vec<_>>()
        };
        assert_eq!(names("get"), ["read", "string", "fast"]);
        assert_eq!(names("dbsize"), ["keyspace", "read", "fast"]);
        assert_eq!(
            names("flushall"),
            ["keyspace", "write", "slow", "dangerous"]
        );
        assert_eq!(names("swapdb"), ["keyspace", "write", "fast", "dangerous"]);
        assert_eq!(names("ping"), ["fast", "connection"]);
        assert_eq!(names("command"), ["slow", "connection"]);
        assert_eq!(names("lastsave"), ["admin", "fast", "dangerous"]);
        assert_eq!(names("info"), ["slow", "dangerous"]);
    }
}
