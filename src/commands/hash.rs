//! The hash family: HSET/HGET and friends, counters (HINCRBY, HINCRBYFLOAT), whole-hash
//! reads (HGETALL, HKEYS, HVALS), HRANDFIELD and HSCAN.
//!
//! Changes are journaled as `HashSet`/`HashDel` deltas naming exactly the fields touched
//! (pairs flattened field, value, ...); a new key is journaled as a `Put`.
//!
//! HSCAN cursor scheme: every call returns the whole hash and cursor 0, so every field
//! present for the scan is returned (exactly once). COUNT is accepted as the hint it is.

use super::util::{float_arg, int_arg, is, parse_cursor};
use super::{flags::*, spec, CmdError, CmdResult, CommandSpec, Cross, Run, ShardCtx};
use crate::protocol::Argv;
use crate::shard::keyspace::Keyspace;
use crate::shard::value::{Hash, Value};
use crate::storage::effect::DeltaRef;
use crate::util::glob::{glob_match, is_match_all};
use crate::util::numbers::{format_long_double, parse_f64, parse_i64};

/// The hash held by a value; any other type is WRONGTYPE.
#[inline]
fn hash_ref(v: &Value) -> Result<&Hash, CmdError> {
    match v {
        Value::Hash(h) => Ok(h),
        _ => Err(CmdError::WrongType),
    }
}

#[inline]
fn hash_mut(v: &mut Value) -> &mut Hash {
    match v {
        Value::Hash(h) => h,
        // Callers check the type with `hash_ref` before changing anything.
        _ => unreachable!("type checked before the change"),
    }
}

/// The hash at `key` for a read command, or None when the key is missing.
fn read_hash<'k>(ks: &'k mut Keyspace, key: &[u8], now: u64) -> Result<Option<&'k Hash>, CmdError> {
    match ks.lookup_read(key, now) {
        None => Ok(None),
        Some(slot) => hash_ref(&ks.entry(slot).value).map(Some),
    }
}

/// Sets the field/value pairs `pairs` (flattened) at `key`; returns how many were new.
fn set_pairs(ctx: &mut ShardCtx<'_>, key: &[u8], pairs: &[&[u8]]) -> Result<usize, CmdError> {
    let now = ctx.now_ms;
    let ks = &mut ctx.dbs[ctx.db];
    match ks.lookup(key, now) {
        None => {
            let mut h = Hash::new();
            let added = pairs
                .chunks_exact(2)
                .filter(|p| h.insert(p[0], p[1].to_vec()))
                .count();
            ks.insert_new(key, Value::Hash(Box::new(h)), now);
            Ok(added)
        }
        Some(slot) => {
            hash_ref(&ks.entry(slot).value)?;
            Ok(ks.modify_delta(slot, DeltaRef::HashSet { pairs }, |v| {
                let h = hash_mut(v);
                pairs
                    .chunks_exact(2)
                    .filter(|p| h.insert(p[0], p[1].to_vec()))
                    .count()
            }))
        }
    }
}

fn pairs_of<'a>(argv: &Argv<'a>, name: &str) -> Result<Vec<&'a [u8]>, CmdError> {
    if !argv.len().is_multiple_of(2) {
        return Err(CmdError::wrong_arity(name));
    }
    Ok(argv.iter().skip(2).collect())
}

fn hset(ctx: &mut ShardCtx<'_>, argv: &Argv<'_>) -> CmdResult {
    let pairs = pairs_of(argv, "hset")?;
    let added = set_pairs(ctx, argv.get(1), &pairs)?;
    ctx.out.int(added as i64);
    Ok(())
}

fn hmset(ctx: &mut ShardCtx<'_>, argv: &Argv<'_>) -> CmdResult {
    let pairs = pairs_of(argv, "hmset")?;
    set_pairs(ctx, argv.get(1), &pairs)?;
    ctx.out.ok();
    Ok(())
}

fn hsetnx(ctx: &mut ShardCtx<'_>, argv: &Argv<'_>) -> CmdResult {
    let now = ctx.now_ms;
    let ks = &mut ctx.dbs[ctx.db];
    if let Some(slot) = ks.lookup(argv.get(1), now) {
        if hash_ref(&ks.entry(slot).value)?.contains(argv.get(2)) {
            ctx.out.int(0);
            return Ok(());
        }
    }
    set_pairs(ctx, argv.get(1), &[argv.get(2), argv.get(3)])?;
    ctx.out.int(1);
    Ok(())
}

fn hget(ctx: &mut ShardCtx<'_>, argv: &Argv<'_>) -> CmdResult {
    let now = ctx.now_ms;
    match read_hash(&mut ctx.dbs[ctx.db], argv.get(1), now)?.and_then(|h| h.get(argv.get(2))) {
        Some(v) => ctx.out.bulk(v),
        None => ctx.out.null(),
    }
    Ok(())
}

fn hmget(ctx: &mut ShardCtx<'_>, argv: &Argv<'_>) -> CmdResult {
    let now = ctx.now_ms;
    let h = read_hash(&mut ctx.dbs[ctx.db], argv.get(1), now)?;
    ctx.out.array(argv.len() - 2);
    for f in argv.iter().skip(2) {
        match h.and_then(|h| h.get(f)) {
            Some(v) => ctx.out.bulk(v),
            None => ctx.out.null(),
        }
    }
    Ok(())
}

fn hdel(ctx: &mut ShardCtx<'_>, argv: &Argv<'_>) -> CmdResult {
    let now = ctx.now_ms;
    let ks = &mut ctx.dbs[ctx.db];
    let Some(slot) = ks.lookup(argv.get(1), now) else {
        ctx.out.int(0);
        return Ok(());
    };
    let h = hash_ref(&ks.entry(slot).value)?;
    let present: Vec<&[u8]> = argv.iter().skip(2).filter(|f| h.contains(f)).collect();
    if present.is_empty() {
        ctx.out.int(0);
        return Ok(());
    }
    let removed = ks.modify_delta(slot, DeltaRef::HashDel { fields: &present }, |v| {
        let h = hash_mut(v);
        present.iter().filter(|f| h.remove(f).is_some()).count()
    });
    ctx.out.int(removed as i64);
    Ok(())
}

fn hexists(ctx: &mut ShardCtx<'_>, argv: &Argv<'_>) -> CmdResult {
    let now = ctx.now_ms;
    let h = read_hash(&mut ctx.dbs[ctx.db], argv.get(1), now)?;
    ctx.out
        .int(h.is_some_and(|h| h.contains(argv.get(2))) as i64);
    Ok(())
}

fn hlen(ctx: &mut ShardCtx<'_>, argv: &Argv<'_>) -> CmdResult {
    let now = ctx.now_ms;
    let h = read_hash(&mut ctx.dbs[ctx.db], argv.get(1), now)?;
    ctx.out.int(h.map_or(0, Hash::len) as i64);
    Ok(())
}

fn hstrlen(ctx: &mut ShardCtx<'_>, argv: &Argv<'_>) -> CmdResult {
    let now = ctx.now_ms;
    let h = read_hash(&mut ctx.dbs[ctx.db], argv.get(1), now)?;
    ctx.out
        .int(h.and_then(|h| h.get(argv.get(2))).map_or(0, <[u8]>::len) as i64);
    Ok(())
}

/// HGETALL (a RESP3 map), HKEYS and HVALS.
fn read_all(ctx: &mut ShardCtx<'_>, argv: &Argv<'_>, keys: bool, values: bool) -> CmdResult {
    let now = ctx.now_ms;
    let h = read_hash(&mut ctx.dbs[ctx.db], argv.get(1), now)?;
    let len = h.map_or(0, Hash::len);
    if keys && values {
        ctx.out.map(len);
    } else {
        ctx.out.array(len);
    }
    if let Some(h) = h {
        for (f, v) in h.iter() {
            if keys {
                ctx.out.bulk(f);
            }
            if values {
                ctx.out.bulk(v);
            }
        }
    }
    Ok(())
}

fn hgetall(ctx: &mut ShardCtx<'_>, argv: &Argv<'_>) -> CmdResult {
    read_all(ctx, argv, true, true)
}
fn hkeys(ctx: &mut ShardCtx<'_>, argv: &Argv<'_>) -> CmdResult {
    read_all(ctx, argv, true, false)
}
fn hvals(ctx: &mut ShardCtx<'_>, argv: &Argv<'_>) -> CmdResult {
    read_all(ctx, argv, false, true)
}

fn hincrby(ctx: &mut ShardCtx<'_>, argv: &Argv<'_>) -> CmdResult {
    let incr = int_arg(argv.get(3))?;
    let now = ctx.now_ms;
    let (key, field) = (argv.get(1), argv.get(2));
    let old = match ctx.dbs[ctx.db].lookup(key, now) {
        None => 0,
        Some(slot) => match hash_ref(&ctx.dbs[ctx.db].entry(slot).value)?.get(field) {
            None => 0,
            Some(v) => {
                parse_i64(v).ok_or_else(|| CmdError::msg("ERR hash value is not an integer"))?
            }
        },
    };
    let new = old.checked_add(incr).ok_or(CmdError::Overflow)?;
    let mut buf = itoa::Buffer::new();
    set_pairs(ctx, key, &[field, buf.format(new).as_bytes()])?;
    ctx.out.int(new);
    Ok(())
}

fn hincrbyfloat(ctx: &mut ShardCtx<'_>, argv: &Argv<'_>) -> CmdResult {
    let incr = float_arg(argv.get(3))?;
    if !incr.is_finite() {
        return Err(CmdError::msg("ERR value is NaN or Infinity"));
    }
    let now = ctx.now_ms;
    let (key, field) = (argv.get(1), argv.get(2));
    let old = match ctx.dbs[ctx.db].lookup(key, now) {
        None => 0.0,
        Some(slot) => match hash_ref(&ctx.dbs[ctx.db].entry(slot).value)?.get(field) {
            None => 0.0,
            Some(v) => {
                parse_f64(v).ok_or_else(|| CmdError::msg("ERR hash value is not a float"))?
            }
        },
    };
    let new = old + incr;
    if !new.is_finite() {
        return Err(CmdError::IncrNanOrInf);
    }
    let mut s = Vec::with_capacity(24);
    format_long_double(new, &mut s);
    set_pairs(ctx, key, &[field, &s])?;
    ctx.out.bulk(&s);
    Ok(())
}

/// `HRANDFIELD key [count [WITHVALUES]]`
fn hrandfield(ctx: &mut ShardCtx<'_>, argv: &Argv<'_>) -> CmdResult {
    let now = ctx.now_ms;
    if argv.len() == 2 {
        let h = read_hash(&mut ctx.dbs[ctx.db], argv.get(1), now)?;
        match h.filter(|h| !h.is_empty()) {
            None => ctx.out.null(),
            Some(h) => {
                let n = ctx.rng.usize(..h.len());
                match h.iter().nth(n) {
                    Some((f, _)) => ctx.out.bulk(f),
                    None => ctx.out.null(),
                }
            }
        }
        return Ok(());
    }
    let count = int_arg(argv.get(2))?;
    if count == i64::MIN {
        return Err(CmdError::msg(
            "ERR value is out of range, must be between -9223372036854775807 and 9223372036854775807",
        ));
    }
    if argv.len() > 4 || (argv.len() == 4 && !is(argv.get(3), "WITHVALUES")) {
        return Err(CmdError::Syntax);
    }
    let withvalues = argv.len() == 4;
    if withvalues && !(-(i64::MAX / 2)..=i64::MAX / 2).contains(&count) {
        return Err(CmdError::msg("ERR value is out of range"));
    }
    let rng = &mut *ctx.rng;
    let out = &mut *ctx.out;
    let Some(h) = read_hash(&mut ctx.dbs[ctx.db], argv.get(1), now)? else {
        out.array(0);
        return Ok(());
    };
    let len = h.len();
    let picks: Vec<usize> = if count < 0 {
        (0..count.unsigned_abs())
            .map(|_| rng.usize(..len))
            .collect()
    } else if count as u64 >= len as u64 {
        (0..len).collect()
    } else {
        let mut all: Vec<usize> = (0..len).collect();
        let k = count as usize;
        for i in 0..k {
            let j = rng.usize(i..len);
            all.swap(i, j);
        }
        all.truncate(k);
        all
    };
    let entries: Vec<(&[u8], &[u8])> = h.iter().collect();
    let resp3 = out.resp3();
    if withvalues && !resp3 {
        out.array(picks.len() * 2);
    } else {
        out.array(picks.len());
    }
    for p in picks {
        let (f, v) = entries[p];
        if withvalues {
            if resp3 {
                out.array(2);
            }
            out.bulk(f);
            out.bulk(v);
        } else {
            out.bulk(f);
        }
    }
    Ok(())
}

/// `HSCAN key cursor [MATCH pattern] [COUNT count] [NOVALUES]` — see the module doc for
/// the cursor scheme. As Redis does, a missing key replies before options are checked.
fn hscan(ctx: &mut ShardCtx<'_>, argv: &Argv<'_>) -> CmdResult {
    parse_cursor(argv.get(2))?;
    let now = ctx.now_ms;
    let out = &mut *ctx.out;
    let Some(h) = read_hash(&mut ctx.dbs[ctx.db], argv.get(1), now)? else {
        out.array(2);
        out.bulk(b"0");
        out.array(0);
        return Ok(());
    };
    let mut pattern: Option<&[u8]> = None;
    let mut novalues = false;
    let mut i = 3;
    while i < argv.len() {
        let has_value = i + 1 < argv.len();
        if is(argv.get(i), "COUNT") && has_value {
            if int_arg(argv.get(i + 1))? < 1 {
                return Err(CmdError::Syntax);
            }
            i += 2;
        } else if is(argv.get(i), "MATCH") && has_value {
            pattern = Some(argv.get(i + 1));
            i += 2;
        } else if is(argv.get(i), "NOVALUES") {
            novalues = true;
            i += 1;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    let pattern = pattern.filter(|p| !is_match_all(p));
    let found: Vec<(&[u8], &[u8])> = h
        .iter()
        .filter(|(f, _)| pattern.is_none_or(|p| glob_match(p, f, false)))
        .collect();
    out.array(2);
    out.bulk(b"0");
    out.array(found.len() * if novalues { 1 } else { 2 });
    for (f, v) in found {
        out.bulk(f);
        if !novalues {
            out.bulk(v);
        }
    }
    Ok(())
}

#[rustfmt::skip]
pub fn commands() -> Vec<CommandSpec> {
    let one = (1, 1, 1);
    let scan = "O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection.";
    vec![
        spec("hset", -4, WRITE | DENYOOM | FAST, one, "hash", "2.0.0", "Creates or modifies the value of a field in a hash.", "O(1) for each field/value pair added, so O(N) to add N field/value pairs when the command is called with multiple field/value pairs.", Run::Shard(hset), Cross::No),
        spec("hsetnx", 4, WRITE | DENYOOM | FAST, one, "hash", "2.0.0", "Sets the value of a field in a hash only when the field doesn't exist.", "O(1)", Run::Shard(hsetnx), Cross::No),
        spec("hmset", -4, WRITE | DENYOOM | FAST, one, "hash", "2.0.0", "Sets the values of multiple fields.", "O(N) where N is the number of fields being set.", Run::Shard(hmset), Cross::No),
        spec("hget", 3, READONLY | FAST, one, "hash", "2.0.0", "Returns the value of a field in a hash.", "O(1)", Run::Shard(hget), Cross::No),
        spec("hmget", -3, READONLY | FAST, one, "hash", "2.0.0", "Returns the values of all fields in a hash.", "O(N) where N is the number of fields being requested.", Run::Shard(hmget), Cross::No),
        spec("hdel", -3, WRITE | FAST, one, "hash", "2.0.0", "Deletes one or more fields and their values from a hash. Deletes the hash if no fields remain.", "O(N) where N is the number of fields to be removed.", Run::Shard(hdel), Cross::No),
        spec("hexists", 3, READONLY | FAST, one, "hash", "2.0.0", "Determines whether a field exists in a hash.", "O(1)", Run::Shard(hexists), Cross::No),
        spec("hlen", 2, READONLY | FAST, one, "hash", "2.0.0", "Returns the number of fields in a hash.", "O(1)", Run::Shard(hlen), Cross::No),
        spec("hstrlen", 3, READONLY | FAST, one, "hash", "3.2.0", "Returns the length of the value of a field.", "O(1)", Run::Shard(hstrlen), Cross::No),
        spec("hgetall", 2, READONLY, one, "hash", "2.0.0", "Returns all fields and values in a hash.", "O(N) where N is the size of the hash.", Run::Shard(hgetall), Cross::No),
        spec("hkeys", 2, READONLY, one, "hash", "2.0.0", "Returns all fields in a hash.", "O(N) where N is the size of the hash.", Run::Shard(hkeys), Cross::No),
        spec("hvals", 2, READONLY, one, "hash", "2.0.0", "Returns all values in a hash.", "O(N) where N is the size of the hash.", Run::Shard(hvals), Cross::No),
        spec("hincrby", 4, WRITE | DENYOOM | FAST, one, "hash", "2.0.0", "Increments the integer value of a field in a hash by a number. Uses 0 as initial value if the field doesn't exist.", "O(1)", Run::Shard(hincrby), Cross::No),
        spec("hincrbyfloat", 4, WRITE | DENYOOM | FAST, one, "hash", "2.6.0", "Increments the floating point value of a field by a number. Uses 0 as initial value if the field doesn't exist.", "O(1)", Run::Shard(hincrbyfloat), Cross::No),
        spec("hrandfield", -2, READONLY, one, "hash", "6.2.0", "Returns one or more random fields from a hash.", "O(N) where N is the number of fields returned", Run::Shard(hrandfield), Cross::No),
        spec("hscan", -3, READONLY, one, "hash", "2.8.0", "Iterates over fields and values of a hash.", scan, Run::Shard(hscan), Cross::No),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_parsing() {
        assert_eq!(parse_cursor(b"0"), Ok(0));
        assert_eq!(parse_cursor(b"12"), Ok(12));
        assert!(parse_cursor(b"x").is_err());
        assert!(parse_cursor(b"1 ").is_err());
    }
}
