//! Generic key commands (Redis's `generic` group): deletion and existence, key-space
//! iteration, renaming and copying, databases, expiry, and object introspection.
//!
//! Commands on one key run shard-local. Multi-key counting commands (DEL, UNLINK, EXISTS,
//! TOUCH) are split per shard and summed. RENAME, RENAMENX and COPY run shard-local when
//! both keys live on one shard, and otherwise through a coordinator that moves the value
//! with typed ops (`Take`/`Peek`/`Put`). KEYS, SCAN and RANDOMKEY visit every shard.

use super::util::{help_reply, int_arg, is, parse_cursor, subcommand_arity, unknown_subcommand};
use super::{
    flags::*, spec, CmdError, CmdResult, CommandSpec, Cross, LocalBoxFuture, OwnedArgs, Run,
    ShardCtx,
};
use crate::protocol::{Argv, ReplyBuf};
use crate::server::client::Client;
use crate::shard::keyspace::{lru_clock, Entry, Keyspace};
use crate::shard::ops::{OpResult, PutMode, ShardOp};
use crate::shard::shard_of;
use crate::util::glob::is_match_all;

const SAME_OBJECT: &str = "ERR source and destination objects are the same";
const DB_OUT_OF_RANGE: &str = "ERR DB index is out of range";

/// A reply a coordinator did not expect from a shard op.
fn unexpected(r: OpResult) -> CmdError {
    match r {
        OpResult::Error(e) => CmdError::msg(e),
        _ => CmdError::msg("ERR internal error: unexpected shard reply"),
    }
}

/// A database index argument as MOVE and COPY ... DB take it: an `int` (so a value past
/// 32 bits is "not an integer"), then checked against the configured count.
fn db_index(arg: &[u8], databases: usize) -> Result<usize, CmdError> {
    let n = int_arg(arg)?;
    if n < i32::MIN as i64 || n > i32::MAX as i64 {
        return Err(CmdError::NotInteger);
    }
    if n < 0 || n as usize >= databases {
        return Err(CmdError::msg(DB_OUT_OF_RANGE));
    }
    Ok(n as usize)
}

/// Stores a removed entry under `key` (known absent), keeping its expiry and its access
/// history: RENAME and MOVE move the object itself, so OBJECT IDLETIME/FREQ carry over.
fn put_entry(ks: &mut Keyspace, key: &[u8], e: Entry, now_ms: u64) {
    let (expire_at, lfu, last_access) = (e.expire_at(), e.lfu, e.last_access);
    let slot = ks.insert(key, e.value, expire_at, now_ms);
    ks.set_access_history(slot, lfu, last_access);
}

// ---------------------------------------------------------------------------------------
// DEL, UNLINK, EXISTS, TOUCH, TYPE

/// # Format
/// `DEL key [key ...]` (also `UNLINK key [key ...]`: values are freed inline either way,
/// since a shard's values are not shared with any other thread that could free them).
fn del(ctx: &mut ShardCtx<'_>, argv: &Argv<'_>) -> CmdResult {
    let now = ctx.now_ms;
    let ks = ctx.ks();
    let mut n = 0;
    for key in argv.iter().skip(1) {
        if let Some(slot) = ks.find_live(key, now) {
            ks.remove_slot(slot);
            n += 1;
        }
    }
    ctx.out.int(n);
    Ok(())
}

/// # Format
/// `EXISTS key [key ...]` — a key named twice counts twice.
fn exists(ctx: &mut ShardCtx<'_>, argv: &Argv<'_>) -> CmdResult {
    let now = ctx.now_ms;
    let ks = ctx.ks();
    let n = argv
        .iter()
        .skip(1)
        .filter(|k| ks.find_read(k, now).is_some())
        .count();
    ctx.out.int(n as i64);
    Ok(())
}

/// # Format
/// `TOUCH key [key ...]` — records an access to each existing key; counts them.
fn touch(ctx: &mut ShardCtx<'_>, argv: &Argv<'_>) -> CmdResult {
    let now = ctx.now_ms;
    let ks = ctx.ks();
    let n = argv
        .iter()
        .skip(1)
        .filter(|k| ks.lookup_read(k, now).is_some())
        .count();
    ctx.out.int(n as i64);
    Ok(())
}

/// # Format
/// `TYPE key`
fn type_(ctx: &mut ShardCtx<'_>, argv: &Argv<'_>) -> CmdResult {
    let now = ctx.now_ms;
    let ks = &mut ctx.dbs[ctx.db];
    let name = match ks.find_read(argv.get(1), now) {
        Some(slot) => ks.entry(slot).value.type_name(),
        None => "none",
    };
    ctx.out.simple(name.as_bytes());
    Ok(())
}

// ---------------------------------------------------------------------------------------
// KEYS, SCAN, RANDOMKEY

/// # Format
/// `KEYS pattern`
fn keys<'a>(
    c: &'a mut Client,
    args: OwnedArgs,
    out: &'a mut ReplyBuf,
) -> LocalBoxFuture<'a, CmdResult> {
    Box::pin(async move {
        let db = c.db;
        let pattern = &args[1];
        let parts = c
            .shard
            .broadcast(|_| ShardOp::Keys {
                db,
                pattern: pattern.clone(),
            })
            .await;
        let keys: Vec<Vec<u8>> = parts
            .into_iter()
            .flat_map(|p| match p {
                OpResult::Keys(k) => k,
                _ => Vec::new(),
            })
            .collect();
        out.array(keys.len());
        for k in &keys {
            out.bulk(k);
        }
        Ok(())
    })
}

/// Where a SCAN cursor points: the shard in the low part (`cursor % nshards`) and the
/// slab position within that shard in the high part (`cursor / nshards`). Cursor 0 is the
/// start of shard 0, and a walk ends when the last shard is exhausted, so 0 means "done"
/// exactly as in Redis.
fn split_cursor(cursor: u64, nshards: usize) -> (usize, usize) {
    let n = nshards as u64;
    ((cursor % n) as usize, (cursor / n) as usize)
}

fn join_cursor(shard: usize, pos: usize, nshards: usize) -> u64 {
    (pos as u64)
        .saturating_mul(nshards as u64)
        .saturating_add(shard as u64)
}

/// # Format
/// `SCAN cursor [MATCH pattern] [COUNT count] [TYPE type]`
///
/// Shards are walked one after another; when one is exhausted before COUNT keys were
/// gathered the same call goes on with the next, so a reply is rarely short for nothing.
fn scan<'a>(
    c: &'a mut Client,
    args: OwnedArgs,
    out: &'a mut ReplyBuf,
) -> LocalBoxFuture<'a, CmdResult> {
    Box::pin(async move {
        let cursor = parse_cursor(&args[1])?;
        let mut count = 10usize;
        let mut pattern: Option<&[u8]> = None;
        let mut kind: Option<&[u8]> = None;
        let mut i = 2;
        while i < args.len() {
            let (opt, has_value) = (&args[i], i + 1 < args.len());
            if is(opt, "COUNT") && has_value {
                let v = int_arg(&args[i + 1])?;
                if v < 1 {
                    return Err(CmdError::Syntax);
                }
                count = v as usize;
            } else if is(opt, "MATCH") && has_value {
                pattern = Some(&args[i + 1]);
            } else if is(opt, "TYPE") && has_value {
                // An unknown type name matches nothing (Redis 7.0 and 7.2 do the same).
                kind = Some(&args[i + 1]);
            } else {
                return Err(CmdError::Syntax);
            }
            i += 2;
        }
        let pattern = pattern.filter(|p| !is_match_all(p));
        let n = c.shard.nshards;
        let db = c.db;
        let (mut shard, mut pos) = split_cursor(cursor, n);
        let mut keys = Vec::new();
        let next = loop {
            let op = ShardOp::Scan {
                db,
                cursor: pos,
                count: count - keys.len(),
                pattern: pattern.map(<[u8]>::to_vec),
                kind: kind.map(<[u8]>::to_vec),
            };
            let (next_pos, found) = match c.shard.op(shard, op).await {
                OpResult::Scan { next, keys } => (next, keys),
                other => return Err(unexpected(other)),
            };
            if keys.is_empty() {
                keys = found;
            } else {
                keys.extend(found);
            }
            if next_pos != 0 {
                break join_cursor(shard, next_pos, n);
            }
            shard += 1;
            pos = 0;
            if shard == n {
                break 0;
            }
            if keys.len() >= count {
                break join_cursor(shard, 0, n);
            }
        };
        out.array(2);
        out.bulk(itoa::Buffer::new().format(next).as_bytes());
        out.array(keys.len());
        for k in &keys {
            out.bulk(k);
        }
        Ok(())
    })
}

/// # Format
/// `RANDOMKEY`
///
/// Picks a shard with probability proportional to its key count, then a key there, so
/// every key is about equally likely whatever the shards' sizes.
fn randomkey<'a>(
    c: &'a mut Client,
    _args: OwnedArgs,
    out: &'a mut ReplyBuf,
) -> LocalBoxFuture<'a, CmdResult> {
    Box::pin(async move {
        let db = c.db;
        let sizes = c.shard.db_sizes(db).await;
        let total: u64 = sizes.iter().sum();
        if total == 0 {
            out.null();
            return Ok(());
        }
        let mut r = c.shard.rng.borrow_mut().u64(..total);
        let chosen = sizes
            .iter()
            .position(|&s| {
                if r < s {
                    return true;
                }
                r -= s;
                false
            })
            .unwrap_or(0);
        // The chosen shard may hold only expired keys; then try the others in turn.
        let n = sizes.len();
        for s in (0..n).map(|k| (chosen + k) % n).filter(|&s| sizes[s] > 0) {
            match c.shard.op(s, ShardOp::RandomKey { db }).await {
                OpResult::Key(Some(k)) => {
                    out.bulk(&k);
                    return Ok(());
                }
                OpResult::Key(None) => {}
                other => return Err(unexpected(other)),
            }
        }
        out.null();
        Ok(())
    })
}

// ---------------------------------------------------------------------------------------
// RENAME, RENAMENX, COPY, MOVE

/// RENAME and RENAMENX when both keys live on this shard.
fn rename_local(ctx: &mut ShardCtx<'_>, argv: &Argv<'_>, nx: bool) -> CmdResult {
    let now = ctx.now_ms;
    let (src, dst) = (argv.get(1), argv.get(2));
    let ks = &mut ctx.dbs[ctx.db];
    let Some(slot) = ks.lookup(src, now) else {
        return Err(CmdError::NoSuchKey);
    };
    if src == dst {
        // Renaming a key onto itself changes nothing, but the key must exist.
        if nx {
            ctx.out.int(0);
        } else {
            ctx.out.ok();
        }
        return Ok(());
    }
    if let Some(old) = ks.find_live(dst, now) {
        if nx {
            ctx.out.int(0);
            return Ok(());
        }
        ks.remove_slot(old);
    }
    let e = ks.remove_slot(slot);
    put_entry(ks, dst, e, now);
    if nx {
        ctx.out.int(1);
    } else {
        ctx.out.ok();
    }
    Ok(())
}

/// # Format
/// `RENAME key newkey`
fn rename(ctx: &mut ShardCtx<'_>, argv: &Argv<'_>) -> CmdResult {
    rename_local(ctx, argv, false)
}

/// # Format
/// `RENAMENX key newkey`
fn renamenx(ctx: &mut ShardCtx<'_>, argv: &Argv<'_>) -> CmdResult {
    rename_local(ctx, argv, true)
}

/// COPY's options: the destination database and REPLACE.
struct CopyOpts {
    db: usize,
    replace: bool,
}

fn copy_opts<'a>(
    mut opts: impl Iterator<Item = &'a [u8]>,
    current_db: usize,
    databases: usize,
) -> Result<CopyOpts, CmdError> {
    let mut parsed = CopyOpts {
        db: current_db,
        replace: false,
    };
    while let Some(opt) = opts.next() {
        if is(opt, "REPLACE") {
            parsed.replace = true;
        } else if is(opt, "DB") {
            let Some(v) = opts.next() else {
                return Err(CmdError::Syntax);
            };
            parsed.db = db_index(v, databases)?;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    Ok(parsed)
}

/// # Format
/// `COPY source destination [DB destination-db] [REPLACE]`
fn copy(ctx: &mut ShardCtx<'_>, argv: &Argv<'_>) -> CmdResult {
    let opts = copy_opts(argv.iter().skip(3), ctx.db, ctx.dbs.len())?;
    let (src, dst) = (argv.get(1), argv.get(2));
    if opts.db == ctx.db && src == dst {
        return Err(CmdError::msg(SAME_OBJECT));
    }
    let now = ctx.now_ms;
    let Some(slot) = ctx.dbs[ctx.db].lookup_read(src, now) else {
        ctx.out.int(0);
        return Ok(());
    };
    // Checking the destination may lazily expire it; the source slot stays valid because
    // the source is live and distinct from it.
    let old = ctx.dbs[opts.db].find_live(dst, now);
    if old.is_some() && !opts.replace {
        ctx.out.int(0);
        return Ok(());
    }
    let e = ctx.dbs[ctx.db].entry(slot);
    let (value, expire_at) = (e.value.clone(), e.expire_at());
    let ks = &mut ctx.dbs[opts.db];
    if let Some(old) = old {
        ks.remove_slot(old);
    }
    // The copy is a new object: fresh access history, the source's TTL.
    ks.insert_new_expiring(dst, value, expire_at, now);
    ctx.out.int(1);
    Ok(())
}

/// COPY when source and destination live on different shards.
fn copy_cross<'a>(
    c: &'a mut Client,
    args: OwnedArgs,
    out: &'a mut ReplyBuf,
) -> LocalBoxFuture<'a, CmdResult> {
    Box::pin(async move {
        let databases = c.shard.config.borrow().databases;
        let opts = copy_opts(args[3..].iter().map(Vec::as_slice), c.db, databases)?;
        let shard = c.shard.clone();
        let n = shard.nshards;
        let mut args = args.into_iter();
        let (_, Some(src), Some(dst)) = (args.next(), args.next(), args.next()) else {
            return Err(CmdError::wrong_arity("copy"));
        };
        // Different shards means different keys, so never "the same object".
        let (src_shard, dst_shard) = (shard_of(&src, n), shard_of(&dst, n));
        let (value, expire_at) = match shard
            .op(src_shard, ShardOp::Peek { db: c.db, key: src })
            .await
        {
            OpResult::Value(Some(kv)) => kv,
            OpResult::Value(None) => {
                out.int(0);
                return Ok(());
            }
            other => return Err(unexpected(other)),
        };
        let mode = if opts.replace {
            PutMode::Replace
        } else {
            PutMode::IfAbsent
        };
        match shard
            .op(
                dst_shard,
                ShardOp::Put {
                    db: opts.db,
                    key: dst,
                    value,
                    expire_at,
                    mode,
                },
            )
            .await
        {
            OpResult::Bool(done) => out.int(done as i64),
            other => return Err(unexpected(other)),
        }
        Ok(())
    })
}

/// # Format
/// `MOVE key db` — routing ignores the database, so the key stays on its shard.
fn move_(ctx: &mut ShardCtx<'_>, argv: &Argv<'_>) -> CmdResult {
    let dst_db = db_index(argv.get(2), ctx.dbs.len())?;
    if dst_db == ctx.db {
        return Err(CmdError::msg(SAME_OBJECT));
    }
    let now = ctx.now_ms;
    let key = argv.get(1);
    let Some(slot) = ctx.dbs[ctx.db].lookup(key, now) else {
        ctx.out.int(0);
        return Ok(());
    };
    if ctx.dbs[dst_db].find_live(key, now).is_some() {
        ctx.out.int(0);
        return Ok(());
    }
    let e = ctx.dbs[ctx.db].remove_slot(slot);
    put_entry(&mut ctx.dbs[dst_db], key, e, now);
    ctx.out.int(1);
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Expiry

/// EXPIRE's conditions (Redis 7).
#[derive(Default, Clone, Copy)]
struct ExpireFlags {
    nx: bool,
    xx: bool,
    gt: bool,
    lt: bool,
}

fn expire_flags(argv: &Argv<'_>) -> Result<ExpireFlags, CmdError> {
    let mut f = ExpireFlags::default();
    for opt in argv.iter().skip(3) {
        if is(opt, "NX") {
            f.nx = true;
        } else if is(opt, "XX") {
            f.xx = true;
        } else if is(opt, "GT") {
            f.gt = true;
        } else if is(opt, "LT") {
            f.lt = true;
        } else {
            return Err(CmdError::msg(format!(
                "ERR Unsupported option {}",
                String::from_utf8_lossy(opt)
            )));
        }
    }
    if f.nx && (f.xx || f.gt || f.lt) {
        return Err(CmdError::msg(
            "ERR NX and XX, GT or LT options at the same time are not compatible",
        ));
    }
    if f.gt && f.lt {
        return Err(CmdError::msg(
            "ERR GT and LT options at the same time are not compatible",
        ));
    }
    Ok(f)
}

/// EXPIRE, PEXPIRE, EXPIREAT and PEXPIREAT: `unit_ms` says the time is in milliseconds,
/// `absolute` that it is a Unix time rather than relative to now.
fn expire_generic(
    ctx: &mut ShardCtx<'_>,
    argv: &Argv<'_>,
    unit_ms: bool,
    absolute: bool,
    name: &str,
) -> CmdResult {
    let flags = expire_flags(argv)?;
    let invalid = || CmdError::msg(format!("ERR invalid expire time in '{name}' command"));
    let mut when = int_arg(argv.get(2))?;
    // Negative times are allowed (they delete the key); only overflow is an error.
    if !unit_ms {
        when = when.checked_mul(1000).ok_or_else(invalid)?;
    }
    let base = if absolute { 0 } else { ctx.now_ms as i64 };
    if when > i64::MAX - base {
        return Err(invalid());
    }
    when += base;

    let now = ctx.now_ms;
    let ks = &mut ctx.dbs[ctx.db];
    let Some(slot) = ks.lookup(argv.get(1), now) else {
        ctx.out.int(0);
        return Ok(());
    };
    // A key without a TTL counts as expiring never: GT always fails on it, LT passes.
    let current = ks.entry(slot).expire_at().map(|t| t as i64);
    let refused = (flags.nx && current.is_some())
        || (flags.xx && current.is_none())
        || (flags.gt && current.is_none_or(|c| when <= c))
        || (flags.lt && current.is_some_and(|c| when >= c));
    if refused {
        ctx.out.int(0);
        return Ok(());
    }
    if when <= now as i64 {
        ks.remove_slot(slot);
    } else {
        ks.set_expire(slot, Some(when as u64));
    }
    ctx.out.int(1);
    Ok(())
}

/// # Format
/// `EXPIRE key seconds [NX | XX | GT | LT]`
fn expire(ctx: &mut ShardCtx<'_>, argv: &Argv<'_>) -> CmdResult {
    expire_generic(ctx, argv, false, false, "expire")
}

/// # Format
/// `PEXPIRE key milliseconds [NX | XX | GT | LT]`
fn pexpire(ctx: &mut ShardCtx<'_>, argv: &Argv<'_>) -> CmdResult {
    expire_generic(ctx, argv, true, false, "pexpire")
}

/// # Format
/// `EXPIREAT key unix-time-seconds [NX | XX | GT | LT]`
fn expireat(ctx: &mut ShardCtx<'_>, argv: &Argv<'_>) -> CmdResult {
    expire_generic(ctx, argv, false, true, "expireat")
}

/// # Format
/// `PEXPIREAT key unix-time-milliseconds [NX | XX | GT | LT]`
fn pexpireat(ctx: &mut ShardCtx<'_>, argv: &Argv<'_>) -> CmdResult {
    expire_generic(ctx, argv, true, true, "pexpireat")
}

/// TTL, PTTL, EXPIRETIME and PEXPIRETIME: -2 for a missing key, -1 without expiry.
/// Seconds are rounded to the nearest (`(ms + 500) / 1000`), as Redis rounds them.
fn ttl_generic(
    ctx: &mut ShardCtx<'_>,
    argv: &Argv<'_>,
    unit_ms: bool,
    absolute: bool,
) -> CmdResult {
    let now = ctx.now_ms;
    let ks = &mut ctx.dbs[ctx.db];
    let reply = match ks.find_read(argv.get(1), now) {
        None => -2,
        Some(slot) => match ks.entry(slot).expire_at() {
            None => -1,
            Some(at) => {
                let ms = if absolute { at } else { at.saturating_sub(now) };
                if unit_ms {
                    ms as i64
                } else {
                    ((ms as u128 + 500) / 1000) as i64
                }
            }
        },
    };
    ctx.out.int(reply);
    Ok(())
}

/// # Format
/// `TTL key`
fn ttl(ctx: &mut ShardCtx<'_>, argv: &Argv<'_>) -> CmdResult {
    ttl_generic(ctx, argv, false, false)
}

/// # Format
/// `PTTL key`
fn pttl(ctx: &mut ShardCtx<'_>, argv: &Argv<'_>) -> CmdResult {
    ttl_generic(ctx, argv, true, false)
}

/// # Format
/// `EXPIRETIME key`
fn expiretime(ctx: &mut ShardCtx<'_>, argv: &Argv<'_>) -> CmdResult {
    ttl_generic(ctx, argv, false, true)
}

/// # Format
/// `PEXPIRETIME key`
fn pexpiretime(ctx: &mut ShardCtx<'_>, argv: &Argv<'_>) -> CmdResult {
    ttl_generic(ctx, argv, true, true)
}

/// # Format
/// `PERSIST key`
fn persist(ctx: &mut ShardCtx<'_>, argv: &Argv<'_>) -> CmdResult {
    let now = ctx.now_ms;
    let ks = &mut ctx.dbs[ctx.db];
    let removed = match ks.lookup(argv.get(1), now) {
        Some(slot) if ks.entry(slot).expire_at().is_some() => {
            ks.set_expire(slot, None);
            1
        }
        _ => 0,
    };
    ctx.out.int(removed);
    Ok(())
}

// ---------------------------------------------------------------------------------------
// OBJECT

const OBJECT_HELP: &[&str] = &[
    "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "ENCODING <key>",
    "    Return the kind of internal representation used in order to store the value",
    "    associated with a <key>.",
    "FREQ <key>",
    "    Return the access frequency index of the <key>. The returned integer is",
    "    proportional to the logarithm of the recent access frequency of the key.",
    "IDLETIME <key>",
    "    Return the idle time of the <key>, that is the approximated number of",
    "    seconds elapsed since the last access to the key.",
    "REFCOUNT <key>",
    "    Return the number of references of the value associated with the specified",
    "    <key>.",
    "HELP",
    "    Print this help.",
];

/// The reference count Redis reports for shared objects (small integers).
const SHARED_REFCOUNT: i64 = i32::MAX as i64;
/// Redis shares the integers 0..10000 between keys when no eviction policy needs
/// per-key access data (the default), so OBJECT REFCOUNT shows them as shared.
const SHARED_INTEGERS: i64 = 10_000;

/// # Format
/// `OBJECT ENCODING key | FREQ key | IDLETIME key | REFCOUNT key | HELP`
///
/// FREQ deviates from Redis on purpose: Redis refuses it unless an LFU eviction policy
/// is configured, because it keeps either the LRU clock or the LFU counter per object.
/// MemFlux keeps both on every key (`Entry::lfu`, `Entry::last_access`), so FREQ and
/// IDLETIME both always answer. The counter is reported as kept (no time decay).
fn object(ctx: &mut ShardCtx<'_>, argv: &Argv<'_>) -> CmdResult {
    let sub = argv.get(1);
    if is(sub, "HELP") {
        if argv.len() != 2 {
            return Err(subcommand_arity("object", sub));
        }
        help_reply(ctx.out, OBJECT_HELP);
        return Ok(());
    }
    if !["ENCODING", "FREQ", "IDLETIME", "REFCOUNT"]
        .iter()
        .any(|s| is(sub, s))
    {
        return Err(unknown_subcommand(sub, "object"));
    }
    if argv.len() != 3 {
        return Err(subcommand_arity("object", sub));
    }
    let now = ctx.now_ms;
    let ks = &mut ctx.dbs[ctx.db];
    let Some(slot) = ks.find_read(argv.get(2), now) else {
        ctx.out.null();
        return Ok(());
    };
    let e = ks.entry(slot);
    if is(sub, "ENCODING") {
        ctx.out.bulk(e.value.encoding().as_bytes());
    } else if is(sub, "FREQ") {
        ctx.out.int(e.lfu as i64);
    } else if is(sub, "IDLETIME") {
        ctx.out
            .int(lru_clock(now).wrapping_sub(e.last_access) as i64);
    } else {
        let shared = e.value.encoding() == "int"
            && e.value
                .as_str()
                .and_then(crate::util::numbers::parse_i64)
                .is_some_and(|v| (0..SHARED_INTEGERS).contains(&v));
        ctx.out.int(if shared { SHARED_REFCOUNT } else { 1 });
    }
    Ok(())
}

#[rustfmt::skip]
pub fn commands() -> Vec<CommandSpec> {
    let none = (0, 0, 0);
    let one = (1, 1, 1);
    let two = (1, 2, 1);
    let all = (1, -1, 1);
    vec![
        spec("del", -2, WRITE, all, "generic", "1.0.0", "Deletes one or more keys.", "O(N) where N is the number of keys that will be removed.", Run::Shard(del), Cross::SumInts),
        spec("unlink", -2, WRITE | FAST, all, "generic", "4.0.0", "Asynchronously deletes one or more keys.", "O(1) for each key removed regardless of its size. Then the command does O(N) work in a different thread in order to reclaim memory, where N is the number of allocations the deleted objects where composed of.", Run::Shard(del), Cross::SumInts),
        spec("exists", -2, READONLY | FAST, all, "generic", "1.0.0", "Determines whether one or more keys exist.", "O(N) where N is the number of keys to check.", Run::Shard(exists), Cross::SumInts),
        spec("touch", -2, READONLY | FAST, all, "generic", "3.2.1", "Returns the number of existing keys out of those specified after updating the time they were last accessed.", "O(N) where N is the number of keys that will be touched.", Run::Shard(touch), Cross::SumInts),
        spec("type", 2, READONLY | FAST, one, "generic", "1.0.0", "Determines the type of value stored at a key.", "O(1)", Run::Shard(type_), Cross::No),
        spec("keys", 2, READONLY, none, "generic", "1.0.0", "Returns all key names that match a pattern.", "O(N) with N being the number of keys in the database", Run::Coord(keys), Cross::No),
        spec("scan", -2, READONLY, none, "generic", "2.8.0", "Iterates over the key names in the database.", "O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection.", Run::Coord(scan), Cross::No),
        spec("randomkey", 1, READONLY, none, "generic", "1.0.0", "Returns a random key name from the database.", "O(1)", Run::Coord(randomkey), Cross::No),
        spec("rename", 3, WRITE, two, "generic", "1.0.0", "Renames a key and overwrites the destination.", "O(1)", Run::Shard(rename), Cross::No),
        spec("renamenx", 3, WRITE | FAST, two, "generic", "1.0.0", "Renames a key only when the target key name doesn't exist.", "O(1)", Run::Shard(renamenx), Cross::No),
        spec("copy", -3, WRITE | DENYOOM, two, "generic", "6.2.0", "Copies the value of a key to a new key.", "O(N) worst case for collections, where N is the number of nested items. O(1) for string values.", Run::Shard(copy), Cross::Coord(copy_cross)),
        spec("move", 3, WRITE | FAST, one, "generic", "1.0.0", "Moves a key to another database.", "O(1)", Run::Shard(move_), Cross::No),
        spec("expire", -3, WRITE | FAST, one, "generic", "1.0.0", "Sets the expiration time of a key in seconds.", "O(1)", Run::Shard(expire), Cross::No),
        spec("pexpire", -3, WRITE | FAST, one, "generic", "2.6.0", "Sets the expiration time of a key in milliseconds.", "O(1)", Run::Shard(pexpire), Cross::No),
        spec("expireat", -3, WRITE | FAST, one, "generic", "1.2.0", "Sets the expiration time of a key to a Unix timestamp.", "O(1)", Run::Shard(expireat), Cross::No),
        spec("pexpireat", -3, WRITE | FAST, one, "generic", "2.6.0", "Sets the expiration time of a key to a Unix milliseconds timestamp.", "O(1)", Run::Shard(pexpireat), Cross::No),
        spec("ttl", 2, READONLY | FAST, one, "generic", "1.0.0", "Returns the expiration time in seconds of a key.", "O(1)", Run::Shard(ttl), Cross::No),
        spec("pttl", 2, READONLY | FAST, one, "generic", "2.6.0", "Returns the expiration time in milliseconds of a key.", "O(1)", Run::Shard(pttl), Cross::No),
        spec("expiretime", 2, READONLY | FAST, one, "generic", "7.0.0", "Returns the expiration time of a key as a Unix timestamp.", "O(1)", Run::Shard(expiretime), Cross::No),
        spec("pexpiretime", 2, READONLY | FAST, one, "generic", "7.0.0", "Returns the expiration time of a key as a Unix milliseconds timestamp.", "O(1)", Run::Shard(pexpiretime), Cross::No),
        spec("persist", 2, WRITE | FAST, one, "generic", "2.2.0", "Removes the expiration time of a key.", "O(1)", Run::Shard(persist), Cross::No),
        // Redis lists OBJECT as a flagless container whose subcommands take the key at
        // position 2; without subcommand entries here, the container carries both.
        spec("object", -2, READONLY, (2, 2, 1), "generic", "2.2.3", "A container for object introspection commands.", "Depends on subcommand.", Run::Shard(object), Cross::No),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_parsing_follows_strtoul() {
        assert_eq!(parse_cursor(b"0"), Ok(0));
        assert_eq!(parse_cursor(b""), Ok(0));
        assert_eq!(parse_cursor(b"+12"), Ok(12));
        assert_eq!(parse_cursor(b"007"), Ok(7));
        assert_eq!(parse_cursor(b"-1"), Ok(u64::MAX));
        assert_eq!(parse_cursor(b"18446744073709551615"), Ok(u64::MAX));
        for bad in [
            &b"18446744073709551616"[..],
            b" 1",
            b"1 ",
            b"abc",
            b"-",
            b"+",
            b"1x",
            b"0x10",
        ] {
            assert!(
                parse_cursor(bad).is_err(),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn cursor_round_trips() {
        for n in 1..5 {
            for shard in 0..n {
                for pos in [0usize, 1, 7, 1000] {
                    let c = join_cursor(shard, pos, n);
                    assert_eq!(split_cursor(c, n), (shard, pos));
                }
            }
        }
        assert_eq!(
            join_cursor(0, 0, 2),
            0,
            "cursor 0 starts (and ends) the walk"
        );
    }

    #[test]
    fn db_index_ranges() {
        assert_eq!(db_index(b"3", 16), Ok(3));
        assert_eq!(db_index(b"16", 16), Err(CmdError::msg(DB_OUT_OF_RANGE)));
        assert_eq!(db_index(b"-1", 16), Err(CmdError::msg(DB_OUT_OF_RANGE)));
        assert_eq!(db_index(b"4294967296", 16), Err(CmdError::NotInteger));
        assert_eq!(db_index(b"x", 16), Err(CmdError::NotInteger));
    }
}
