//! The set family: membership (SADD, SREM, SISMEMBER...), random access (SPOP,
//! SRANDMEMBER), SMOVE, the algebra commands (SINTER/SUNION/SDIFF, their STORE forms and
//! SINTERCARD) and SSCAN.
//!
//! Changes are journaled as `SetAdd`/`SetRem` deltas naming exactly the members touched,
//! so random choices (SPOP) are made before journaling and replay is deterministic.

use super::util::{int_arg, is, parse_cursor};
use super::{flags::*, spec, CmdError, CmdResult, CommandSpec, Cross, Run, ShardCtx};
use crate::protocol::{Argv, ReplyBuf};
use crate::shard::keyspace::{Keyspace, Slot};
use crate::shard::value::{Set, Value};
use crate::storage::effect::DeltaRef;
use crate::util::glob::{glob_match, is_match_all};

/// The set held by a value; any other type is WRONGTYPE.
#[inline]
fn set_ref(v: &Value) -> Result<&Set, CmdError> {
    match v {
        Value::Set(s) => Ok(s),
        _ => Err(CmdError::WrongType),
    }
}

#[inline]
fn set_mut(v: &mut Value) -> &mut Set {
    match v {
        Value::Set(s) => s,
        // Callers check the type with `set_ref` before changing anything.
        _ => unreachable!("type checked before the change"),
    }
}

/// Writes the members as a RESP3 set (an array in RESP2).
fn reply_members<'a>(out: &mut ReplyBuf, len: usize, members: impl Iterator<Item = &'a [u8]>) {
    out.set(len);
    for m in members {
        out.bulk(m);
    }
}

fn sadd(ctx: &mut ShardCtx<'_>, argv: &Argv<'_>) -> CmdResult {
    let now = ctx.now_ms;
    let ks = &mut ctx.dbs[ctx.db];
    let key = argv.get(1);
    match ks.lookup(key, now) {
        None => {
            let mut s = Set::new();
            let added = argv.iter().skip(2).filter(|m| s.insert(m)).count();
            ks.insert_new(key, Value::Set(Box::new(s)), now);
            ctx.out.int(added as i64);
        }
        Some(slot) => {
            let s = set_ref(&ks.entry(slot).value)?;
            if argv.len() == 3 {
                // The common single-member call allocates nothing and journals nothing
                // when the member is already there.
                let m = argv.get(2);
                if s.contains(m) {
                    ctx.out.int(0);
                    return Ok(());
                }
                ks.modify_delta(slot, DeltaRef::SetAdd { members: &[m] }, |v| {
                    set_mut(v).insert(m)
                });
                ctx.out.int(1);
            } else {
                let members: Vec<&[u8]> = argv.iter().skip(2).collect();
                let added = ks.modify_delta(slot, DeltaRef::SetAdd { members: &members }, |v| {
                    let s = set_mut(v);
                    members.iter().filter(|m| s.insert(m)).count()
                });
                ctx.out.int(added as i64);
            }
        }
    }
    Ok(())
}

fn srem(ctx: &mut ShardCtx<'_>, argv: &Argv<'_>) -> CmdResult {
    let now = ctx.now_ms;
    let ks = &mut ctx.dbs[ctx.db];
    let Some(slot) = ks.lookup(argv.get(1), now) else {
        ctx.out.int(0);
        return Ok(());
    };
    let s = set_ref(&ks.entry(slot).value)?;
    let present: Vec<&[u8]> = argv.iter().skip(2).filter(|m| s.contains(m)).collect();
    if present.is_empty() {
        ctx.out.int(0);
        return Ok(());
    }
    let removed = ks.modify_delta(slot, DeltaRef::SetRem { members: &present }, |v| {
        let s = set_mut(v);
        present.iter().filter(|m| s.remove(m)).count()
    });
    ctx.out.int(removed as i64);
    Ok(())
}

/// The set at `key` for a read command, or None when the key is missing.
fn read_set<'k>(ks: &'k mut Keyspace, key: &[u8], now: u64) -> Result<Option<&'k Set>, CmdError> {
    match ks.lookup_read(key, now) {
        None => Ok(None),
        Some(slot) => set_ref(&ks.entry(slot).value).map(Some),
    }
}

fn smembers(ctx: &mut ShardCtx<'_>, argv: &Argv<'_>) -> CmdResult {
    let now = ctx.now_ms;
    match read_set(&mut ctx.dbs[ctx.db], argv.get(1), now)? {
        None => ctx.out.set(0),
        Some(s) => reply_members(ctx.out, s.len(), s.iter()),
    }
    Ok(())
}

fn sismember(ctx: &mut ShardCtx<'_>, argv: &Argv<'_>) -> CmdResult {
    let now = ctx.now_ms;
    let found =
        read_set(&mut ctx.dbs[ctx.db], argv.get(1), now)?.is_some_and(|s| s.contains(argv.get(2)));
    ctx.out.int(found as i64);
    Ok(())
}

fn smismember(ctx: &mut ShardCtx<'_>, argv: &Argv<'_>) -> CmdResult {
    let now = ctx.now_ms;
    let s = read_set(&mut ctx.dbs[ctx.db], argv.get(1), now)?;
    ctx.out.array(argv.len() - 2);
    for m in argv.iter().skip(2) {
        ctx.out.int(s.is_some_and(|s| s.contains(m)) as i64);
    }
    Ok(())
}

fn scard(ctx: &mut ShardCtx<'_>, argv: &Argv<'_>) -> CmdResult {
    let now = ctx.now_ms;
    let n = read_set(&mut ctx.dbs[ctx.db], argv.get(1), now)?.map_or(0, Set::len);
    ctx.out.int(n as i64);
    Ok(())
}

/// A non-negative count argument (SPOP), with Redis's wording.
fn positive_arg(arg: &[u8]) -> Result<usize, CmdError> {
    match int_arg(arg)? {
        n if n < 0 => Err(CmdError::msg("ERR value is out of range, must be positive")),
        n => Ok(n as usize),
    }
}

/// `count` distinct dense positions of a set of `len` members, chosen uniformly.
fn distinct_positions(len: usize, count: usize, rng: &mut fastrand::Rng) -> Vec<usize> {
    if count * 3 > len {
        // A large share: partially shuffle all positions.
        let mut all: Vec<usize> = (0..len).collect();
        for i in 0..count {
            let j = rng.usize(i..len);
            all.swap(i, j);
        }
        all.truncate(count);
        all
    } else {
        // A small share: draw and reject repeats.
        let mut seen = hashbrown::HashSet::with_capacity(count);
        let mut out = Vec::with_capacity(count);
        while out.len() < count {
            let p = rng.usize(..len);
            if seen.insert(p) {
                out.push(p);
            }
        }
        out
    }
}

fn spop(ctx: &mut ShardCtx<'_>, argv: &Argv<'_>) -> CmdResult {
    if argv.len() > 3 {
        return Err(CmdError::Syntax);
    }
    let count = if argv.len() == 3 {
        Some(positive_arg(argv.get(2))?)
    } else {
        None
    };
    let now = ctx.now_ms;
    let ks = &mut ctx.dbs[ctx.db];
    let Some(slot) = ks.lookup(argv.get(1), now) else {
        match count {
            None => ctx.out.null(),
            Some(_) => ctx.out.set(0),
        }
        return Ok(());
    };
    let s = set_ref(&ks.entry(slot).value)?;
    let Some(count) = count else {
        // Pick first, then journal exactly the member removed.
        let member = s.random(ctx.rng).unwrap_or_default().to_vec();
        ctx.out.bulk(&member);
        ks.modify_delta(
            slot,
            DeltaRef::SetRem {
                members: &[&member],
            },
            |v| set_mut(v).remove(&member),
        );
        return Ok(());
    };
    if count == 0 {
        ctx.out.set(0);
        return Ok(());
    }
    if count >= s.len() {
        // Everything goes: the key is deleted (journaled as one delete).
        reply_members(ctx.out, s.len(), s.iter());
        ks.remove_slot(slot);
        return Ok(());
    }
    let positions = distinct_positions(s.len(), count, ctx.rng);
    let popped: Vec<Vec<u8>> = positions
        .iter()
        .filter_map(|&p| s.at(p).map(<[u8]>::to_vec))
        .collect();
    reply_members(ctx.out, popped.len(), popped.iter().map(Vec::as_slice));
    let refs: Vec<&[u8]> = popped.iter().map(Vec::as_slice).collect();
    ks.modify_delta(slot, DeltaRef::SetRem { members: &refs }, |v| {
        let s = set_mut(v);
        for m in &refs {
            s.remove(m);
        }
    });
    Ok(())
}

fn srandmember(ctx: &mut ShardCtx<'_>, argv: &Argv<'_>) -> CmdResult {
    if argv.len() > 3 {
        return Err(CmdError::Syntax);
    }
    let count = if argv.len() == 3 {
        let n = int_arg(argv.get(2))?;
        if n == i64::MIN {
            return Err(CmdError::msg(
                "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807",
            ));
        }
        Some(n)
    } else {
        None
    };
    let now = ctx.now_ms;
    let s = read_set(&mut ctx.dbs[ctx.db], argv.get(1), now)?;
    let out = &mut *ctx.out;
    match (s, count) {
        (None, None) => out.null(),
        (None, Some(_)) => out.array(0),
        (Some(s), None) => out.bulk(s.random(ctx.rng).unwrap_or_default()),
        (Some(s), Some(n)) if n < 0 => {
            // Repeats allowed: independent draws.
            let n = n.unsigned_abs() as usize;
            out.array(n);
            for _ in 0..n {
                out.bulk(s.random(ctx.rng).unwrap_or_default());
            }
        }
        (Some(s), Some(n)) => {
            let n = n as usize;
            if n >= s.len() {
                out.array(s.len());
                for m in s.iter() {
                    out.bulk(m);
                }
            } else {
                let positions = distinct_positions(s.len(), n, ctx.rng);
                out.array(positions.len());
                for p in positions {
                    out.bulk(s.at(p).unwrap_or_default());
                }
            }
        }
    }
    Ok(())
}

fn smove(ctx: &mut ShardCtx<'_>, argv: &Argv<'_>) -> CmdResult {
    let now = ctx.now_ms;
    let ks = &mut ctx.dbs[ctx.db];
    let (src_key, dst_key, member) = (argv.get(1), argv.get(2), argv.get(3));
    let src = ks.lookup(src_key, now);
    let dst = ks.lookup(dst_key, now);
    let Some(src) = src else {
        ctx.out.int(0);
        return Ok(());
    };
    let in_src = set_ref(&ks.entry(src).value)?.contains(member);
    if let Some(d) = dst {
        set_ref(&ks.entry(d).value)?;
    }
    if src_key == dst_key || !in_src {
        ctx.out.int(in_src as i64 * (src_key == dst_key) as i64);
        return Ok(());
    }
    ks.modify_delta(src, DeltaRef::SetRem { members: &[member] }, |v| {
        set_mut(v).remove(member)
    });
    match dst {
        Some(d) => {
            ks.modify_delta(d, DeltaRef::SetAdd { members: &[member] }, |v| {
                set_mut(v).insert(member)
            });
        }
        None => {
            let mut s = Set::new();
            s.insert(member);
            ks.insert_new(dst_key, Value::Set(Box::new(s)), now);
        }
    }
    ctx.out.int(1);
    Ok(())
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Algebra {
    Inter,
    Union,
    Diff,
}

/// Looks up every key (as a read) and checks all are sets; None stands for a missing key.
fn lookup_sets(ks: &mut Keyspace, keys: &[&[u8]], now: u64) -> Result<Vec<Option<Slot>>, CmdError> {
    let slots: Vec<Option<Slot>> = keys.iter().map(|k| ks.lookup_read(k, now)).collect();
    for s in slots.iter().flatten() {
        set_ref(&ks.entry(*s).value)?;
    }
    Ok(slots)
}

/// Computes the intersection, union or difference of the sets at `keys`.
fn compute(ks: &mut Keyspace, keys: &[&[u8]], op: Algebra, now: u64) -> Result<Set, CmdError> {
    let slots = lookup_sets(ks, keys, now)?;
    let sets: Vec<Option<&Set>> = slots
        .iter()
        .map(|s| s.and_then(|s| set_ref(&ks.entry(s).value).ok()))
        .collect();
    let mut result = Set::new();
    match op {
        Algebra::Inter => {
            if sets.iter().any(Option::is_none) {
                return Ok(result);
            }
            let mut sets: Vec<&Set> = sets.into_iter().flatten().collect();
            // Walk the smallest set, probing the others.
            sets.sort_by_key(|s| s.len());
            if let Some((first, rest)) = sets.split_first() {
                for m in first.iter() {
                    if rest.iter().all(|s| s.contains(m)) {
                        result.insert(m);
                    }
                }
            }
        }
        Algebra::Union => {
            for s in sets.iter().flatten() {
                for m in s.iter() {
                    result.insert(m);
                }
            }
        }
        Algebra::Diff => {
            if let Some(Some(first)) = sets.first() {
                for m in first.iter() {
                    if !sets[1..].iter().flatten().any(|s| s.contains(m)) {
                        result.insert(m);
                    }
                }
            }
        }
    }
    Ok(result)
}

fn algebra_read(ctx: &mut ShardCtx<'_>, argv: &Argv<'_>, op: Algebra) -> CmdResult {
    let keys: Vec<&[u8]> = argv.iter().skip(1).collect();
    let now = ctx.now_ms;
    let s = compute(&mut ctx.dbs[ctx.db], &keys, op, now)?;
    reply_members(ctx.out, s.len(), s.iter());
    Ok(())
}

fn algebra_store(ctx: &mut ShardCtx<'_>, argv: &Argv<'_>, op: Algebra) -> CmdResult {
    let keys: Vec<&[u8]> = argv.iter().skip(2).collect();
    let now = ctx.now_ms;
    let ks = &mut ctx.dbs[ctx.db];
    let s = compute(ks, &keys, op, now)?;
    let dst = argv.get(1);
    let n = s.len();
    if s.is_empty() {
        ks.remove(dst);
    } else {
        // Replaces whatever was there, of any type, and drops its TTL.
        ks.insert(dst, Value::Set(Box::new(s)), None, now);
    }
    ctx.out.int(n as i64);
    Ok(())
}

fn sinter(ctx: &mut ShardCtx<'_>, argv: &Argv<'_>) -> CmdResult {
    algebra_read(ctx, argv, Algebra::Inter)
}
fn sunion(ctx: &mut ShardCtx<'_>, argv: &Argv<'_>) -> CmdResult {
    algebra_read(ctx, argv, Algebra::Union)
}
fn sdiff(ctx: &mut ShardCtx<'_>, argv: &Argv<'_>) -> CmdResult {
    algebra_read(ctx, argv, Algebra::Diff)
}
fn sinterstore(ctx: &mut ShardCtx<'_>, argv: &Argv<'_>) -> CmdResult {
    algebra_store(ctx, argv, Algebra::Inter)
}
fn sunionstore(ctx: &mut ShardCtx<'_>, argv: &Argv<'_>) -> CmdResult {
    algebra_store(ctx, argv, Algebra::Union)
}
fn sdiffstore(ctx: &mut ShardCtx<'_>, argv: &Argv<'_>) -> CmdResult {
    algebra_store(ctx, argv, Algebra::Diff)
}

/// SINTERCARD's key count and LIMIT (0 = no limit).
fn sintercard_args(argv: &Argv<'_>) -> Result<(usize, usize), CmdError> {
    let numkeys = match int_arg(argv.get(1)) {
        Ok(n) if n > 0 => n as usize,
        _ => return Err(CmdError::msg("ERR numkeys should be greater than 0")),
    };
    if numkeys > argv.len() - 2 {
        return Err(CmdError::msg(
            "ERR Number of keys can't be greater than number of args",
        ));
    }
    let mut limit = 0;
    let mut i = 2 + numkeys;
    while i < argv.len() {
        if is(argv.get(i), "LIMIT") && i + 1 < argv.len() {
            limit = match int_arg(argv.get(i + 1)) {
                Ok(n) if n >= 0 => n as usize,
                _ => return Err(CmdError::msg("ERR LIMIT can't be negative")),
            };
            i += 2;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    Ok((numkeys, limit))
}

/// SINTERCARD's key positions: the `numkeys` arguments after the count.
fn sintercard_keys(argv: &Argv<'_>) -> Vec<usize> {
    let n = crate::util::numbers::parse_i64(argv.get(1))
        .unwrap_or(0)
        .max(0) as usize;
    (2..argv.len().min(2usize.saturating_add(n))).collect()
}

fn sintercard(ctx: &mut ShardCtx<'_>, argv: &Argv<'_>) -> CmdResult {
    let (numkeys, limit) = sintercard_args(argv)?;
    let keys: Vec<&[u8]> = argv.iter().skip(2).take(numkeys).collect();
    let now = ctx.now_ms;
    let ks = &mut ctx.dbs[ctx.db];
    let slots = lookup_sets(ks, &keys, now)?;
    let mut sets = Vec::with_capacity(slots.len());
    for s in &slots {
        match s {
            None => {
                ctx.out.int(0);
                return Ok(());
            }
            Some(s) => sets.push(set_ref(&ks.entry(*s).value)?),
        }
    }
    sets.sort_by_key(|s| s.len());
    let mut n = 0;
    if let Some((first, rest)) = sets.split_first() {
        for m in first.iter() {
            if rest.iter().all(|s| s.contains(m)) {
                n += 1;
                if n == limit {
                    break;
                }
            }
        }
    }
    ctx.out.int(n as i64);
    Ok(())
}

/// SSCAN walks dense positions from the top down; the cursor is the number of positions
/// not yet visited. A removal moves the last member into the hole, so a member can only
/// move from the visited top into the unvisited bottom, never the other way: every member
/// present for the whole scan is returned at least once.
fn sscan(ctx: &mut ShardCtx<'_>, argv: &Argv<'_>) -> CmdResult {
    let cursor = parse_cursor(argv.get(2))?;
    let mut count = 10usize;
    let mut pattern: Option<&[u8]> = None;
    let mut i = 3;
    while i < argv.len() {
        let has_value = i + 1 < argv.len();
        if is(argv.get(i), "COUNT") && has_value {
            let v = int_arg(argv.get(i + 1))?;
            if v < 1 {
                return Err(CmdError::Syntax);
            }
            count = v as usize;
        } else if is(argv.get(i), "MATCH") && has_value {
            pattern = Some(argv.get(i + 1));
        } else {
            return Err(CmdError::Syntax);
        }
        i += 2;
    }
    let pattern = pattern.filter(|p| !is_match_all(p));
    let now = ctx.now_ms;
    let out = &mut *ctx.out;
    let Some(s) = read_set(&mut ctx.dbs[ctx.db], argv.get(1), now)? else {
        out.array(2);
        out.bulk(b"0");
        out.array(0);
        return Ok(());
    };
    let len = s.len();
    let top = if cursor == 0 {
        len
    } else {
        (cursor.min(len as u64)) as usize
    };
    // Compact sets come back whole in one call, as Redis does.
    let bottom = if s.encoding() != "hashtable" {
        0
    } else {
        top.saturating_sub(count)
    };
    let matches = |m: &[u8]| pattern.is_none_or(|p| glob_match(p, m, false));
    let found: Vec<&[u8]> = (bottom..top)
        .rev()
        .filter_map(|p| s.at(p))
        .filter(|m| matches(m))
        .collect();
    out.array(2);
    let mut num = itoa::Buffer::new();
    out.bulk(num.format(bottom).as_bytes());
    out.array(found.len());
    for m in found {
        out.bulk(m);
    }
    Ok(())
}

#[rustfmt::skip]
pub fn commands() -> Vec<CommandSpec> {
    let one = (1, 1, 1);
    let all = (1, -1, 1);
    vec![
        spec("sadd", -3, WRITE | DENYOOM | FAST, one, "set", "1.0.0", "Adds one or more members to a set. Creates the key if it doesn't exist.", "O(1) for each element added, so O(N) to add N elements when the command is called with multiple arguments.", Run::Shard(sadd), Cross::No),
        spec("srem", -3, WRITE | FAST, one, "set", "1.0.0", "Removes one or more members from a set. Deletes the set if the last member was removed.", "O(N) where N is the number of members to be removed.", Run::Shard(srem), Cross::No),
        spec("smembers", 2, READONLY, one, "set", "1.0.0", "Returns all members of a set.", "O(N) where N is the set cardinality.", Run::Shard(smembers), Cross::No),
        spec("sismember", 3, READONLY | FAST, one, "set", "1.0.0", "Determines whether a member belongs to a set.", "O(1)", Run::Shard(sismember), Cross::No),
        spec("smismember", -3, READONLY | FAST, one, "set", "6.2.0", "Determines whether multiple members belong to a set.", "O(N) where N is the number of elements being checked for membership", Run::Shard(smismember), Cross::No),
        spec("scard", 2, READONLY | FAST, one, "set", "1.0.0", "Returns the number of members in a set.", "O(1)", Run::Shard(scard), Cross::No),
        spec("spop", -2, WRITE | FAST, one, "set", "1.0.0", "Returns one or more random members from a set after removing them. Deletes the set if the last member was popped.", "Without the count argument O(1), otherwise O(N) where N is the value of the passed count.", Run::Shard(spop), Cross::No),
        spec("srandmember", -2, READONLY, one, "set", "1.0.0", "Get one or multiple random members from a set", "Without the count argument O(1), otherwise O(N) where N is the absolute value of the passed count.", Run::Shard(srandmember), Cross::No),
        spec("smove", 4, WRITE | FAST, (1, 2, 1), "set", "1.0.0", "Moves a member from one set to another.", "O(1)", Run::Shard(smove), Cross::No),
        spec("sinter", -2, READONLY, all, "set", "1.0.0", "Returns the intersect of multiple sets.", "O(N*M) worst case where N is the cardinality of the smallest set and M is the number of sets.", Run::Shard(sinter), Cross::No),
        spec("sintercard", -3, READONLY, (2, 2, 1), "set", "7.0.0", "Returns the number of members of the intersect of multiple sets.", "O(N*M) worst case where N is the cardinality of the smallest set and M is the number of sets.", Run::Shard(sintercard), Cross::No).movable(sintercard_keys),
        spec("sunion", -2, READONLY, all, "set", "1.0.0", "Returns the union of multiple sets.", "O(N) where N is the total number of elements in all given sets.", Run::Shard(sunion), Cross::No),
        spec("sdiff", -2, READONLY, all, "set", "1.0.0", "Returns the difference of multiple sets.", "O(N) where N is the total number of elements in all given sets.", Run::Shard(sdiff), Cross::No),
        spec("sinterstore", -3, WRITE | DENYOOM, all, "set", "1.0.0", "Stores the intersect of multiple sets in a key.", "O(N*M) worst case where N is the cardinality of the smallest set and M is the number of sets.", Run::Shard(sinterstore), Cross::No),
        spec("sunionstore", -3, WRITE | DENYOOM, all, "set", "1.0.0", "Stores the union of multiple sets in a key.", "O(N) where N is the total number of elements in all given sets.", Run::Shard(sunionstore), Cross::No),
        spec("sdiffstore", -3, WRITE | DENYOOM, all, "set", "1.0.0", "Stores the difference of multiple sets in a key.", "O(N) where N is the total number of elements in all given sets.", Run::Shard(sdiffstore), Cross::No),
        spec("sscan", -3, READONLY, one, "set", "2.8.0", "Iterates over members of a set.", "O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection.", Run::Shard(sscan), Cross::No),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distinct_positions_have_no_repeats() {
        let mut rng = fastrand::Rng::with_seed(7);
        for (len, count) in [(10, 9), (1000, 5), (3, 3), (100, 40)] {
            let mut p = distinct_positions(len, count, &mut rng);
            assert_eq!(p.len(), count);
            assert!(p.iter().all(|&x| x < len));
            p.sort();
            p.dedup();
            assert_eq!(p.len(), count, "repeats for {len}/{count}");
        }
    }
}
