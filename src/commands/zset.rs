//! The sorted-set family: ZADD/ZINCRBY and removal, score and rank queries, the range
//! commands (by rank, score or lex, either direction, with LIMIT, and their STORE and
//! REMRANGE forms), pops (ZPOPMIN/ZPOPMAX/ZMPOP), the algebra commands
//! (ZUNION/ZINTER/ZDIFF, their STORE forms and ZINTERCARD), ZRANDMEMBER and ZSCAN.
//!
//! Rank and range queries go through the skip list's O(log n) rank API; nothing sorts per
//! call. Changes are journaled as `ZAdd`/`ZRem` deltas naming exactly the members
//! touched (random picks are made before journaling), and the STORE forms replace the
//! destination with one whole-value `Put`, or delete it when the result is empty.
//! `pop_first`, `reply_key_pairs` and `reply_key_member_score` are shared with the
//! blocking pops.

use core::ops::Range;

use super::util::{int_arg, is, parse_cursor};
use super::{flags::*, spec, CmdError, CmdResult, CommandSpec, Cross, Run, ShardCtx};
use crate::protocol::{Argv, ReplyBuf};
use crate::shard::keyspace::{Keyspace, Slot};
use crate::shard::value::zset::{LexBound, RangeEnd, ScoreBound};
use crate::shard::value::{Set, Value, ZSet};
use crate::storage::effect::DeltaRef;
use crate::util::glob::{glob_match, is_match_all};
use crate::util::numbers;

/// The sorted set held by a value; any other type is WRONGTYPE.
#[inline]
fn zset_ref(v: &Value) -> Result<&ZSet, CmdError> {
    match v {
        Value::ZSet(z) => Ok(z),
        _ => Err(CmdError::WrongType),
    }
}

#[inline]
fn zset_mut(v: &mut Value) -> &mut ZSet {
    match v {
        Value::ZSet(z) => z,
        // Callers check the type with `zset_ref` before changing anything.
        _ => unreachable!("type checked before the change"),
    }
}

/// The sorted set at `key` for a read command, or None when the key is missing.
fn read_zset<'k>(ks: &'k mut Keyspace, key: &[u8], now: u64) -> Result<Option<&'k ZSet>, CmdError> {
    match ks.lookup_read(key, now) {
        None => Ok(None),
        Some(slot) => zset_ref(&ks.entry(slot).value).map(Some),
    }
}

fn not_float_range() -> CmdError {
    CmdError::msg("ERR min or max is not a float")
}

fn not_lex_range() -> CmdError {
    CmdError::msg("ERR min or max not valid string range item")
}

fn nan_score() -> CmdError {
    CmdError::msg("ERR resulting score is not a number (NaN)")
}

fn score_bound(arg: &[u8]) -> Result<ScoreBound, CmdError> {
    ScoreBound::parse(arg).ok_or_else(not_float_range)
}

fn lex_bound(arg: &[u8]) -> Result<LexBound<'_>, CmdError> {
    LexBound::parse(arg).ok_or_else(not_lex_range)
}

/// Writes `n` elements the way WITHSCORES replies look: RESP2 a flat array of member,
/// score, member, score...; RESP3 an array of [member, score] pairs. Without scores, an
/// array of members. `items` must yield exactly `n` elements.
pub(crate) fn reply_elements<'a>(
    out: &mut ReplyBuf,
    n: usize,
    items: impl Iterator<Item = (&'a [u8], f64)>,
    withscores: bool,
) {
    if !withscores {
        out.array(n);
        for (m, _) in items {
            out.bulk(m);
        }
    } else if out.resp3() {
        out.array(n);
        for (m, s) in items {
            out.array(2);
            out.bulk(m);
            out.double(s);
        }
    } else {
        out.array(2 * n);
        for (m, s) in items {
            out.bulk(m);
            out.double(s);
        }
    }
}

/// Popped elements: member and score, in pop order.
pub(crate) type Elements = Vec<(Vec<u8>, f64)>;

/// Writes a ZMPOP-style reply: the key, then its elements as [member, score] pairs (nested
/// in both protocols).
pub(crate) fn reply_key_pairs(out: &mut ReplyBuf, key: &[u8], items: &Elements) {
    out.array(2);
    out.bulk(key);
    out.array(items.len());
    for (m, s) in items {
        out.array(2);
        out.bulk(m);
        out.double(*s);
    }
}

/// Writes a BZPOPMIN-style reply: key, member, score in one flat array.
#[allow(dead_code)] // for the blocking pops, which are built separately
pub(crate) fn reply_key_member_score(out: &mut ReplyBuf, key: &[u8], item: &(Vec<u8>, f64)) {
    out.array(3);
    out.bulk(key);
    out.bulk(&item.0);
    out.double(item.1);
}

// ---- ZADD, ZINCRBY ----

#[derive(Default, Clone, Copy)]
struct AddFlags {
    nx: bool,
    xx: bool,
    gt: bool,
    lt: bool,
    ch: bool,
    incr: bool,
}

/// What ZADD does with one member, given its current score.
#[derive(Clone, Copy, PartialEq)]
enum AddOutcome {
    Added(f64),
    Updated(f64),
    /// Allowed, but the score stays the same.
    Same(f64),
    /// Not allowed by NX/XX/GT/LT.
    Skipped,
}

fn decide(f: AddFlags, current: Option<f64>, score: f64) -> Result<AddOutcome, CmdError> {
    let Some(cur) = current else {
        return Ok(if f.xx {
            AddOutcome::Skipped
        } else {
            AddOutcome::Added(score)
        });
    };
    if f.nx {
        return Ok(AddOutcome::Skipped);
    }
    let new = if f.incr {
        let n = cur + score;
        if n.is_nan() {
            return Err(nan_score());
        }
        n
    } else {
        score
    };
    if (f.gt && new <= cur) || (f.lt && new >= cur) {
        return Ok(AddOutcome::Skipped);
    }
    Ok(if new == cur {
        AddOutcome::Same(new)
    } else {
        AddOutcome::Updated(new)
    })
}

/// Applies decided changes: `members[i]` gets `scores[i]`, journaled as one `ZAdd`, or a
/// new key holding just them.
fn apply_changes(
    ks: &mut Keyspace,
    slot: Option<Slot>,
    key: &[u8],
    scores: &[f64],
    members: &[&[u8]],
    now: u64,
) {
    if members.is_empty() {
        return;
    }
    let fill = |z: &mut ZSet| {
        for (m, s) in members.iter().zip(scores) {
            z.insert(m, *s);
        }
    };
    match slot {
        Some(slot) => {
            ks.modify_delta(slot, DeltaRef::ZAdd { scores, members }, |v| {
                fill(zset_mut(v))
            });
        }
        None => {
            let mut z = ZSet::new();
            fill(&mut z);
            ks.insert_new(key, Value::ZSet(Box::new(z)), now);
        }
    }
}

/// Adds `members[i]` with `scores[i]` under `f` to the sorted set at `key`, then replies:
/// the new score (or null when skipped) with INCR, else the count of added (and, with CH,
/// changed) members. A missing key is created only when something is added.
fn add_members(
    ctx: &mut ShardCtx<'_>,
    key: &[u8],
    f: AddFlags,
    scores: &[f64],
    members: &[&[u8]],
) -> CmdResult {
    let now = ctx.now_ms;
    let ks = &mut ctx.dbs[ctx.db];
    let slot = ks.lookup(key, now);
    let existing = match slot {
        Some(s) => Some(zset_ref(&ks.entry(s).value)?),
        None => None,
    };
    let (mut added, mut updated) = (0i64, 0i64);
    let last;
    if let ([m], [s]) = (members, scores) {
        // The common single-pair call decides and journals without collecting.
        last = decide(f, existing.and_then(|z| z.score(m)), *s)?;
        match last {
            AddOutcome::Added(v) | AddOutcome::Updated(v) => {
                added = matches!(last, AddOutcome::Added(_)) as i64;
                updated = 1 - added;
                apply_changes(ks, slot, key, &[v], &[m], now);
            }
            AddOutcome::Same(_) | AddOutcome::Skipped => {}
        }
    } else {
        // Decide every change before touching the set, so that what is journaled is
        // exactly what changes. A member named twice sees its own earlier change, as in
        // Redis.
        let mut new_scores: Vec<f64> = Vec::with_capacity(members.len());
        let mut new_members: Vec<&[u8]> = Vec::with_capacity(members.len());
        let mut position: hashbrown::HashMap<&[u8], usize, ahash::RandomState> =
            hashbrown::HashMap::with_capacity_and_hasher(members.len(), Default::default());
        let mut outcome = AddOutcome::Skipped;
        for (&m, &s) in members.iter().zip(scores) {
            let pending = position.get(m).copied();
            let current = match pending {
                Some(i) => Some(new_scores[i]),
                None => existing.and_then(|z| z.score(m)),
            };
            outcome = decide(f, current, s)?;
            let score = match outcome {
                AddOutcome::Added(v) => {
                    added += 1;
                    v
                }
                AddOutcome::Updated(v) => {
                    updated += 1;
                    v
                }
                AddOutcome::Same(_) | AddOutcome::Skipped => continue,
            };
            match pending {
                Some(i) => new_scores[i] = score,
                None => {
                    position.insert(m, new_members.len());
                    new_scores.push(score);
                    new_members.push(m);
                }
            }
        }
        last = outcome;
        apply_changes(ks, slot, key, &new_scores, &new_members, now);
    }
    if f.incr {
        match last {
            AddOutcome::Added(v) | AddOutcome::Updated(v) | AddOutcome::Same(v) => {
                ctx.out.double(v)
            }
            AddOutcome::Skipped => ctx.out.null(),
        }
    } else {
        ctx.out.int(added + if f.ch { updated } else { 0 });
    }
    Ok(())
}

fn zadd(ctx: &mut ShardCtx<'_>, argv: &Argv<'_>) -> CmdResult {
    let mut f = AddFlags::default();
    let mut i = 2;
    while i < argv.len() {
        let a = argv.get(i);
        let flag = match a.len() {
            2 if is(a, "NX") => &mut f.nx,
            2 if is(a, "XX") => &mut f.xx,
            2 if is(a, "GT") => &mut f.gt,
            2 if is(a, "LT") => &mut f.lt,
            2 if is(a, "CH") => &mut f.ch,
            4 if is(a, "INCR") => &mut f.incr,
            _ => break,
        };
        *flag = true;
        i += 1;
    }
    let rest = argv.len() - i;
    if rest == 0 || !rest.is_multiple_of(2) {
        return Err(CmdError::Syntax);
    }
    if f.nx && f.xx {
        return Err(CmdError::msg(
            "ERR XX and NX options at the same time are not compatible",
        ));
    }
    if (f.nx && (f.gt || f.lt)) || (f.gt && f.lt) {
        return Err(CmdError::msg(
            "ERR GT, LT, and/or NX options at the same time are not compatible",
        ));
    }
    let pairs = rest / 2;
    if f.incr && pairs > 1 {
        return Err(CmdError::msg(
            "ERR INCR option supports a single increment-element pair",
        ));
    }
    let key = argv.get(1);
    if pairs == 1 {
        // The common single-pair call collects nothing.
        let score = numbers::parse_f64(argv.get(i)).ok_or(CmdError::NotFloat)?;
        return add_members(ctx, key, f, &[score], &[argv.get(i + 1)]);
    }
    let mut scores = Vec::with_capacity(pairs);
    let mut members = Vec::with_capacity(pairs);
    for p in 0..pairs {
        scores.push(numbers::parse_f64(argv.get(i + 2 * p)).ok_or(CmdError::NotFloat)?);
        members.push(argv.get(i + 2 * p + 1));
    }
    add_members(ctx, key, f, &scores, &members)
}

fn zincrby(ctx: &mut ShardCtx<'_>, argv: &Argv<'_>) -> CmdResult {
    let by = numbers::parse_f64(argv.get(2)).ok_or(CmdError::NotFloat)?;
    let f = AddFlags {
        incr: true,
        ..AddFlags::default()
    };
    add_members(ctx, argv.get(1), f, &[by], &[argv.get(3)])
}

// ---- removal, scores, ranks, counts ----

fn zrem(ctx: &mut ShardCtx<'_>, argv: &Argv<'_>) -> CmdResult {
    let now = ctx.now_ms;
    let ks = &mut ctx.dbs[ctx.db];
    let Some(slot) = ks.lookup(argv.get(1), now) else {
        ctx.out.int(0);
        return Ok(());
    };
    let z = zset_ref(&ks.entry(slot).value)?;
    // A member named twice is journaled twice; removing it again on replay is harmless.
    let present: Vec<&[u8]> = argv.iter().skip(2).filter(|m| z.contains(m)).collect();
    if present.is_empty() {
        ctx.out.int(0);
        return Ok(());
    }
    let removed = ks.modify_delta(slot, DeltaRef::ZRem { members: &present }, |v| {
        let z = zset_mut(v);
        present.iter().filter(|m| z.remove(m).is_some()).count()
    });
    ctx.out.int(removed as i64);
    Ok(())
}

fn zcard(ctx: &mut ShardCtx<'_>, argv: &Argv<'_>) -> CmdResult {
    let now = ctx.now_ms;
    let n = read_zset(&mut ctx.dbs[ctx.db], argv.get(1), now)?.map_or(0, ZSet::len);
    ctx.out.int(n as i64);
    Ok(())
}

fn zscore(ctx: &mut ShardCtx<'_>, argv: &Argv<'_>) -> CmdResult {
    let now = ctx.now_ms;
    let z = read_zset(&mut ctx.dbs[ctx.db], argv.get(1), now)?;
    match z.and_then(|z| z.score(argv.get(2))) {
        Some(s) => ctx.out.double(s),
        None => ctx.out.null(),
    }
    Ok(())
}

fn zmscore(ctx: &mut ShardCtx<'_>, argv: &Argv<'_>) -> CmdResult {
    let now = ctx.now_ms;
    let z = read_zset(&mut ctx.dbs[ctx.db], argv.get(1), now)?;
    ctx.out.array(argv.len() - 2);
    for m in argv.iter().skip(2) {
        match z.and_then(|z| z.score(m)) {
            Some(s) => ctx.out.double(s),
            None => ctx.out.null(),
        }
    }
    Ok(())
}

fn rank_generic(ctx: &mut ShardCtx<'_>, argv: &Argv<'_>, rev: bool, name: &str) -> CmdResult {
    if argv.len() > 4 {
        return Err(CmdError::wrong_arity(name));
    }
    let withscore = match argv.len() {
        4 if is(argv.get(3), "WITHSCORE") => true,
        4 => return Err(CmdError::Syntax),
        _ => false,
    };
    let now = ctx.now_ms;
    let z = read_zset(&mut ctx.dbs[ctx.db], argv.get(1), now)?;
    let member = argv.get(2);
    let found = z.and_then(|z| {
        let r = if rev {
            z.rev_rank(member)
        } else {
            z.rank(member)
        }?;
        Some((r, z.score(member).unwrap_or_default()))
    });
    let out = &mut *ctx.out;
    match (found, withscore) {
        (None, false) => out.null(),
        (None, true) => out.null_array(),
        (Some((r, _)), false) => out.int(r as i64),
        (Some((r, s)), true) => {
            out.array(2);
            out.int(r as i64);
            out.double(s);
        }
    }
    Ok(())
}

fn zrank(ctx: &mut ShardCtx<'_>, argv: &Argv<'_>) -> CmdResult {
    rank_generic(ctx, argv, false, "zrank")
}
fn zrevrank(ctx: &mut ShardCtx<'_>, argv: &Argv<'_>) -> CmdResult {
    rank_generic(ctx, argv, true, "zrevrank")
}

fn zcount(ctx: &mut ShardCtx<'_>, argv: &Argv<'_>) -> CmdResult {
    let (min, max) = (score_bound(argv.get(2))?, score_bound(argv.get(3))?);
    let now = ctx.now_ms;
    let n = read_zset(&mut ctx.dbs[ctx.db], argv.get(1), now)?
        .map_or(0, |z| z.score_range_ranks(min, max).len());
    ctx.out.int(n as i64);
    Ok(())
}

fn zlexcount(ctx: &mut ShardCtx<'_>, argv: &Argv<'_>) -> CmdResult {
    let (min, max) = (lex_bound(argv.get(2))?, lex_bound(argv.get(3))?);
    let now = ctx.now_ms;
    let n = read_zset(&mut ctx.dbs[ctx.db], argv.get(1), now)?
        .map_or(0, |z| z.lex_range_ranks(min, max).len());
    ctx.out.int(n as i64);
    Ok(())
}

// ---- ranges ----

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum RangeKind {
    Rank,
    Score,
    Lex,
}

/// One parsed range request (ZRANGE and its older spellings).
#[derive(Clone, Copy)]
struct RangeQuery<'a> {
    kind: RangeKind,
    rev: bool,
    withscores: bool,
    offset: i64,
    /// Negative: no limit.
    limit: i64,
    /// The lower and upper ends as given (already swapped back for REV score/lex ranges).
    min: &'a [u8],
    max: &'a [u8],
}

/// Parses `key min max [options]` starting at the key's position `key_at`. `kind` and
/// `rev` are fixed by the older commands (ZRANGEBYSCORE, ZREVRANGE...), which then refuse
/// BYSCORE/BYLEX/REV; `store` (ZRANGESTORE) refuses WITHSCORES.
fn parse_range<'a>(
    argv: &Argv<'a>,
    key_at: usize,
    kind: Option<RangeKind>,
    rev: Option<bool>,
    store: bool,
) -> Result<RangeQuery<'a>, CmdError> {
    let (mut kind_set, mut rev_set) = (kind, rev);
    let (mut withscores, mut offset, mut limit) = (false, 0i64, -1i64);
    let mut i = key_at + 3;
    while i < argv.len() {
        let a = argv.get(i);
        let left = argv.len() - i - 1;
        if !store && is(a, "WITHSCORES") {
            withscores = true;
        } else if is(a, "LIMIT") && left >= 2 {
            offset = int_arg(argv.get(i + 1))?;
            limit = int_arg(argv.get(i + 2))?;
            i += 2;
        } else if rev_set.is_none() && is(a, "REV") {
            rev_set = Some(true);
        } else if kind_set.is_none() && is(a, "BYSCORE") {
            kind_set = Some(RangeKind::Score);
        } else if kind_set.is_none() && is(a, "BYLEX") {
            kind_set = Some(RangeKind::Lex);
        } else {
            return Err(CmdError::Syntax);
        }
        i += 1;
    }
    let kind = kind_set.unwrap_or(RangeKind::Rank);
    let rev = rev_set.unwrap_or(false);
    if limit != -1 && kind == RangeKind::Rank {
        return Err(CmdError::msg(
            "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX",
        ));
    }
    if withscores && kind == RangeKind::Lex {
        return Err(CmdError::msg(
            "ERR syntax error, WITHSCORES not supported in combination with BYLEX",
        ));
    }
    if kind == RangeKind::Rank {
        // A rank range ignores the offset of a `LIMIT offset -1`, as Redis does.
        offset = 0;
    }
    let (mut min, mut max) = (argv.get(key_at + 1), argv.get(key_at + 2));
    if rev && kind != RangeKind::Rank {
        core::mem::swap(&mut min, &mut max);
    }
    Ok(RangeQuery {
        kind,
        rev,
        withscores,
        offset,
        limit,
        min,
        max,
    })
}

/// The ranks an inclusive `start..=stop` pair selects out of `len` (negative counting
/// from the end), clamped as Redis clamps them; None when it selects nothing.
fn clamp_ranks(start: i64, stop: i64, len: usize) -> Option<Range<usize>> {
    let len_i = len as i64;
    let start = if start < 0 {
        start.saturating_add(len_i)
    } else {
        start
    }
    .max(0);
    let stop = if stop < 0 {
        stop.saturating_add(len_i)
    } else {
        stop
    };
    if start > stop || start >= len_i {
        return None;
    }
    Some(start as usize..stop.min(len_i - 1) as usize + 1)
}

/// Range bounds parsed ahead of the key lookup (parse errors come before WRONGTYPE).
enum Bounds<'a> {
    Rank(i64, i64),
    Score(ScoreBound, ScoreBound),
    Lex(LexBound<'a>, LexBound<'a>),
}

impl<'a> Bounds<'a> {
    fn parse(q: &RangeQuery<'a>) -> Result<Self, CmdError> {
        Ok(match q.kind {
            RangeKind::Rank => Bounds::Rank(int_arg(q.min)?, int_arg(q.max)?),
            RangeKind::Score => Bounds::Score(score_bound(q.min)?, score_bound(q.max)?),
            RangeKind::Lex => Bounds::Lex(lex_bound(q.min)?, lex_bound(q.max)?),
        })
    }

    /// The ascending ranks the bounds admit (before any LIMIT). Rank bounds of a REV
    /// query count from the top.
    fn ranks(&self, z: &ZSet, rev: bool) -> Range<usize> {
        let len = z.len();
        match *self {
            Bounds::Rank(start, stop) => match clamp_ranks(start, stop, len) {
                None => 0..0,
                Some(r) if rev => len - r.end..len - r.start,
                Some(r) => r,
            },
            Bounds::Score(min, max) => z.score_range_ranks(min, max),
            Bounds::Lex(min, max) => z.lex_range_ranks(min, max),
        }
    }
}

/// Where a query's answer starts and how many elements it has, in the query's direction:
/// ascending ranks from `skip` when forward, positions from the top when REV.
fn selection(q: &RangeQuery<'_>, ranks: Range<usize>, len: usize) -> (usize, usize) {
    let n = ranks.len();
    if q.offset < 0 || q.offset as u64 >= n as u64 {
        // A negative offset selects nothing, as in Redis.
        return (0, 0);
    }
    let offset = q.offset as usize;
    let mut count = n - offset;
    if q.limit >= 0 {
        count = count.min(usize::try_from(q.limit).unwrap_or(usize::MAX));
    }
    let first = if q.rev {
        len - ranks.end + offset
    } else {
        ranks.start + offset
    };
    (first, count)
}

/// The selected elements, lazily, in the query's direction.
fn selected<'z>(z: &'z ZSet, rev: bool, first: usize) -> crate::shard::value::zset::ZSetIter<'z> {
    if rev {
        z.iter_rev_from_rank(first)
    } else {
        z.iter_from_rank(first)
    }
}

fn range_generic(
    ctx: &mut ShardCtx<'_>,
    argv: &Argv<'_>,
    kind: Option<RangeKind>,
    rev: Option<bool>,
) -> CmdResult {
    let q = parse_range(argv, 1, kind, rev, false)?;
    let bounds = Bounds::parse(&q)?;
    let now = ctx.now_ms;
    let out = &mut *ctx.out;
    let Some(z) = read_zset(&mut ctx.dbs[ctx.db], argv.get(1), now)? else {
        out.array(0);
        return Ok(());
    };
    let (first, count) = selection(&q, bounds.ranks(z, q.rev), z.len());
    reply_elements(
        out,
        count,
        selected(z, q.rev, first).take(count),
        q.withscores,
    );
    Ok(())
}

fn zrange(ctx: &mut ShardCtx<'_>, argv: &Argv<'_>) -> CmdResult {
    range_generic(ctx, argv, None, None)
}
fn zrevrange(ctx: &mut ShardCtx<'_>, argv: &Argv<'_>) -> CmdResult {
    range_generic(ctx, argv, Some(RangeKind::Rank), Some(true))
}
fn zrangebyscore(ctx: &mut ShardCtx<'_>, argv: &Argv<'_>) -> CmdResult {
    range_generic(ctx, argv, Some(RangeKind::Score), Some(false))
}
fn zrevrangebyscore(ctx: &mut ShardCtx<'_>, argv: &Argv<'_>) -> CmdResult {
    range_generic(ctx, argv, Some(RangeKind::Score), Some(true))
}
fn zrangebylex(ctx: &mut ShardCtx<'_>, argv: &Argv<'_>) -> CmdResult {
    range_generic(ctx, argv, Some(RangeKind::Lex), Some(false))
}
fn zrevrangebylex(ctx: &mut ShardCtx<'_>, argv: &Argv<'_>) -> CmdResult {
    range_generic(ctx, argv, Some(RangeKind::Lex), Some(true))
}

/// Replaces `dst` with `z` (dropping any TTL and old value of any type) in one `Put`, or
/// deletes it when `z` is empty. Replies the new cardinality.
fn store_result(ctx: &mut ShardCtx<'_>, dst: &[u8], z: ZSet) {
    let now = ctx.now_ms;
    let ks = &mut ctx.dbs[ctx.db];
    let n = z.len();
    match ks.find_live(dst, now) {
        Some(slot) if n == 0 => {
            ks.remove_slot(slot);
        }
        None if n == 0 => {}
        Some(slot) => {
            ks.replace_value(slot, Value::ZSet(Box::new(z)), Some(None));
        }
        None => {
            ks.insert_new(dst, Value::ZSet(Box::new(z)), now);
        }
    }
    ctx.out.int(n as i64);
}

fn zrangestore(ctx: &mut ShardCtx<'_>, argv: &Argv<'_>) -> CmdResult {
    let q = parse_range(argv, 2, None, None, true)?;
    let bounds = Bounds::parse(&q)?;
    let now = ctx.now_ms;
    let mut result = ZSet::new();
    if let Some(z) = read_zset(&mut ctx.dbs[ctx.db], argv.get(2), now)? {
        let (first, count) = selection(&q, bounds.ranks(z, q.rev), z.len());
        for (m, s) in selected(z, q.rev, first).take(count) {
            result.insert(m, s);
        }
    }
    store_result(ctx, argv.get(1), result);
    Ok(())
}

/// Removes the elements at ascending ranks `ranks` of the sorted set at `slot`, journaling
/// exactly the members removed (or deleting the key when that is all of them).
fn remove_ranks(ks: &mut Keyspace, slot: Slot, ranks: Range<usize>) -> usize {
    let z = match &ks.entry(slot).value {
        Value::ZSet(z) => z,
        _ => return 0,
    };
    let n = ranks.len();
    if n == 0 {
        return 0;
    }
    if n == z.len() {
        ks.remove_slot(slot);
        return n;
    }
    let members: Vec<Vec<u8>> = z
        .iter_from_rank(ranks.start)
        .take(n)
        .map(|(m, _)| m.to_vec())
        .collect();
    let refs: Vec<&[u8]> = members.iter().map(Vec::as_slice).collect();
    ks.modify_delta(slot, DeltaRef::ZRem { members: &refs }, |v| {
        zset_mut(v).remove_rank_range(ranks.start, ranks.end - 1)
    })
}

fn remrange_generic(ctx: &mut ShardCtx<'_>, argv: &Argv<'_>, kind: RangeKind) -> CmdResult {
    let q = RangeQuery {
        kind,
        rev: false,
        withscores: false,
        offset: 0,
        limit: -1,
        min: argv.get(2),
        max: argv.get(3),
    };
    let bounds = Bounds::parse(&q)?;
    let now = ctx.now_ms;
    let ks = &mut ctx.dbs[ctx.db];
    let Some(slot) = ks.lookup(argv.get(1), now) else {
        ctx.out.int(0);
        return Ok(());
    };
    let ranks = bounds.ranks(zset_ref(&ks.entry(slot).value)?, false);
    let n = remove_ranks(ks, slot, ranks);
    ctx.out.int(n as i64);
    Ok(())
}

fn zremrangebyrank(ctx: &mut ShardCtx<'_>, argv: &Argv<'_>) -> CmdResult {
    remrange_generic(ctx, argv, RangeKind::Rank)
}
fn zremrangebyscore(ctx: &mut ShardCtx<'_>, argv: &Argv<'_>) -> CmdResult {
    remrange_generic(ctx, argv, RangeKind::Score)
}
fn zremrangebylex(ctx: &mut ShardCtx<'_>, argv: &Argv<'_>) -> CmdResult {
    remrange_generic(ctx, argv, RangeKind::Lex)
}

// ---- pops ----

/// Which end of a sorted set a pop takes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Which {
    Min,
    Max,
}

impl Which {
    /// A MIN|MAX argument, or a syntax error.
    pub(crate) fn parse(arg: &[u8]) -> Result<Which, CmdError> {
        if is(arg, "MIN") {
            Ok(Which::Min)
        } else if is(arg, "MAX") {
            Ok(Which::Max)
        } else {
            Err(CmdError::Syntax)
        }
    }
}

/// Pops up to `count` elements from `which` end of the sorted set at `slot` (already
/// type-checked), journaling exactly the members taken; the key goes when emptied.
pub(crate) fn pop_slot(ks: &mut Keyspace, slot: Slot, which: Which, count: usize) -> Elements {
    let z = match &ks.entry(slot).value {
        Value::ZSet(z) => z,
        _ => return Vec::new(),
    };
    let take = count.min(z.len());
    let items: Elements = match which {
        Which::Min => z.iter().take(take).map(|(m, s)| (m.to_vec(), s)).collect(),
        Which::Max => z
            .iter_rev()
            .take(take)
            .map(|(m, s)| (m.to_vec(), s))
            .collect(),
    };
    if take == 0 {
        return items;
    }
    if take == z.len() {
        ks.remove_slot(slot);
        return items;
    }
    let refs: Vec<&[u8]> = items.iter().map(|(m, _)| m.as_slice()).collect();
    ks.modify_delta(slot, DeltaRef::ZRem { members: &refs }, |v| {
        let z = zset_mut(v);
        for _ in 0..take {
            match which {
                Which::Min => z.pop_min(),
                Which::Max => z.pop_max(),
            };
        }
    });
    items
}

/// What `pop_first` took: the index of the key in the list given, and the elements.
pub(crate) type Popped = (usize, Elements);

/// Pops up to `count` elements from the first of `keys` holding a sorted set, as ZMPOP
/// (and the blocking pops when woken) do. None when every key is missing; a key of
/// another type is WRONGTYPE.
pub(crate) fn pop_first(
    ks: &mut Keyspace,
    keys: &[&[u8]],
    which: Which,
    count: usize,
    now: u64,
) -> Result<Option<Popped>, CmdError> {
    for (i, key) in keys.iter().enumerate() {
        let Some(slot) = ks.lookup(key, now) else {
            continue;
        };
        zset_ref(&ks.entry(slot).value)?;
        return Ok(Some((i, pop_slot(ks, slot, which, count))));
    }
    Ok(None)
}

fn pop_generic(ctx: &mut ShardCtx<'_>, argv: &Argv<'_>, which: Which) -> CmdResult {
    if argv.len() > 3 {
        return Err(CmdError::Syntax);
    }
    let count = if argv.len() == 3 {
        match numbers::parse_i64(argv.get(2)) {
            Some(n) if n >= 0 => Some(n as usize),
            _ => return Err(CmdError::msg("ERR value is out of range, must be positive")),
        }
    } else {
        None
    };
    let now = ctx.now_ms;
    let ks = &mut ctx.dbs[ctx.db];
    let Some(slot) = ks.lookup(argv.get(1), now) else {
        ctx.out.array(0);
        return Ok(());
    };
    zset_ref(&ks.entry(slot).value)?;
    let items = pop_slot(ks, slot, which, count.unwrap_or(1));
    let pairs = items.iter().map(|(m, s)| (m.as_slice(), *s));
    if count.is_none() {
        // Without a count the reply stays flat in RESP3 too.
        ctx.out.array(2 * items.len());
        for (m, s) in pairs {
            ctx.out.bulk(m);
            ctx.out.double(s);
        }
    } else {
        reply_elements(ctx.out, items.len(), pairs, true);
    }
    Ok(())
}

fn zpopmin(ctx: &mut ShardCtx<'_>, argv: &Argv<'_>) -> CmdResult {
    pop_generic(ctx, argv, Which::Min)
}
fn zpopmax(ctx: &mut ShardCtx<'_>, argv: &Argv<'_>) -> CmdResult {
    pop_generic(ctx, argv, Which::Max)
}

/// ZMPOP's keys: `numkeys` of them from position 2 (never the last argument, which is at
/// least MIN|MAX).
fn zmpop_keys(argv: &Argv<'_>) -> Vec<usize> {
    let n = numbers::parse_i64(argv.get(1)).unwrap_or(0).max(0) as usize;
    (2..argv.len().saturating_sub(1).min(2usize.saturating_add(n))).collect()
}

/// `numkeys key... MIN|MAX [COUNT count]` from position `first` (1 for ZMPOP; the
/// blocking form passes the position after its timeout). Returns the key count, the end
/// and the count.
pub(crate) fn mpop_args(argv: &Argv<'_>, first: usize) -> Result<(usize, Which, usize), CmdError> {
    let numkeys = numbers::parse_i64(argv.get(first))
        .filter(|&n| n > 0)
        .ok_or_else(|| CmdError::msg("ERR numkeys should be greater than 0"))?;
    let keys_from = first + 1;
    if numkeys as u64 > argv.len().saturating_sub(keys_from + 1) as u64 {
        return Err(CmdError::Syntax);
    }
    let numkeys = numkeys as usize;
    let mut i = keys_from + numkeys;
    let which = Which::parse(argv.get(i))?;
    i += 1;
    let mut count = None;
    while i < argv.len() {
        if is(argv.get(i), "COUNT") && i + 1 < argv.len() && count.is_none() {
            let c = numbers::parse_i64(argv.get(i + 1))
                .filter(|&c| c > 0)
                .ok_or_else(|| CmdError::msg("ERR count should be greater than 0"))?;
            count = Some(c as usize);
            i += 2;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    Ok((numkeys, which, count.unwrap_or(1)))
}

fn zmpop(ctx: &mut ShardCtx<'_>, argv: &Argv<'_>) -> CmdResult {
    let (numkeys, which, count) = mpop_args(argv, 1)?;
    let keys: Vec<&[u8]> = argv.iter().skip(2).take(numkeys).collect();
    let now = ctx.now_ms;
    match pop_first(&mut ctx.dbs[ctx.db], &keys, which, count, now)? {
        None => ctx.out.null_array(),
        Some((i, items)) => reply_key_pairs(ctx.out, keys[i], &items),
    }
    Ok(())
}

// ---- algebra ----

#[derive(Clone, Copy, PartialEq, Eq)]
enum Op {
    Union,
    Inter,
    Diff,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Aggregate {
    Sum,
    Min,
    Max,
}

impl Aggregate {
    /// Folds `val` into `target`. A NaN sum (inf + -inf) becomes 0, and MIN/MAX ignore a
    /// NaN `val`, as Redis does.
    #[inline]
    fn fold(self, target: &mut f64, val: f64) {
        match self {
            Aggregate::Sum => {
                *target += val;
                if target.is_nan() {
                    *target = 0.0;
                }
            }
            Aggregate::Min => {
                if val < *target {
                    *target = val;
                }
            }
            Aggregate::Max => {
                if val > *target {
                    *target = val;
                }
            }
        }
    }
}

/// A weighted score; 0 × ±inf counts as 0, as in Redis.
#[inline]
fn weighted(score: f64, weight: f64) -> f64 {
    let v = score * weight;
    if v.is_nan() {
        0.0
    } else {
        v
    }
}

struct AlgebraArgs<'a> {
    keys: Vec<&'a [u8]>,
    weights: Vec<f64>,
    aggregate: Aggregate,
    withscores: bool,
    /// ZINTERCARD's LIMIT (0: none).
    limit: usize,
}

/// Parses `numkeys key... [WEIGHTS w...] [AGGREGATE SUM|MIN|MAX] [WITHSCORES]` with the
/// count at `at`. ZDIFF takes neither WEIGHTS nor AGGREGATE, the STORE forms no
/// WITHSCORES, and ZINTERCARD (`card`) only LIMIT.
fn algebra_args<'a>(
    argv: &Argv<'a>,
    at: usize,
    op: Op,
    store: bool,
    card: bool,
    name: &str,
) -> Result<AlgebraArgs<'a>, CmdError> {
    let n = int_arg(argv.get(at))?;
    if n < 1 {
        return Err(CmdError::msg(format!(
            "ERR at least 1 input key is needed for '{name}' command"
        )));
    }
    if n as u64 > (argv.len() - at - 1) as u64 {
        return Err(CmdError::Syntax);
    }
    let n = n as usize;
    let mut a = AlgebraArgs {
        keys: argv.iter().skip(at + 1).take(n).collect(),
        weights: vec![1.0; n],
        aggregate: Aggregate::Sum,
        withscores: false,
        limit: 0,
    };
    let mut i = at + 1 + n;
    while i < argv.len() {
        let opt = argv.get(i);
        let left = argv.len() - i - 1;
        if card {
            if is(opt, "LIMIT") && left >= 1 {
                a.limit = match numbers::parse_i64(argv.get(i + 1)) {
                    Some(l) if l >= 0 => l as usize,
                    _ => return Err(CmdError::msg("ERR LIMIT can't be negative")),
                };
                i += 2;
                continue;
            }
            return Err(CmdError::Syntax);
        }
        if op != Op::Diff && is(opt, "WEIGHTS") && left >= n {
            for (k, w) in a.weights.iter_mut().enumerate() {
                *w = numbers::parse_f64(argv.get(i + 1 + k))
                    .ok_or_else(|| CmdError::msg("ERR weight value is not a float"))?;
            }
            i += n + 1;
        } else if op != Op::Diff && is(opt, "AGGREGATE") && left >= 1 {
            let v = argv.get(i + 1);
            a.aggregate = if is(v, "SUM") {
                Aggregate::Sum
            } else if is(v, "MIN") {
                Aggregate::Min
            } else if is(v, "MAX") {
                Aggregate::Max
            } else {
                return Err(CmdError::Syntax);
            };
            i += 2;
        } else if !store && is(opt, "WITHSCORES") {
            a.withscores = true;
            i += 1;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    Ok(a)
}

/// One input of an algebra command: plain sets count with score 1.
#[derive(Clone, Copy)]
enum Source<'a> {
    Missing,
    Z(&'a ZSet),
    S(&'a Set),
}

impl Source<'_> {
    fn len(&self) -> usize {
        match self {
            Source::Missing => 0,
            Source::Z(z) => z.len(),
            Source::S(s) => s.len(),
        }
    }

    fn score(&self, m: &[u8]) -> Option<f64> {
        match self {
            Source::Missing => None,
            Source::Z(z) => z.score(m),
            Source::S(s) => s.contains(m).then_some(1.0),
        }
    }

    fn for_each<'s>(&'s self, mut f: impl FnMut(&'s [u8], f64)) {
        match self {
            Source::Missing => {}
            Source::Z(z) => z.iter().for_each(|(m, s)| f(m, s)),
            Source::S(s) => s.iter().for_each(|m| f(m, 1.0)),
        }
    }
}

/// Looks up every input (as a read): slots of sorted sets or sets, None when missing;
/// any other type is WRONGTYPE.
fn lookup_sources(
    ks: &mut Keyspace,
    keys: &[&[u8]],
    now: u64,
) -> Result<Vec<Option<Slot>>, CmdError> {
    let slots: Vec<Option<Slot>> = keys.iter().map(|k| ks.lookup_read(k, now)).collect();
    for s in slots.iter().flatten() {
        match ks.entry(*s).value {
            Value::ZSet(_) | Value::Set(_) => {}
            _ => return Err(CmdError::WrongType),
        }
    }
    Ok(slots)
}

fn sources<'k>(ks: &'k Keyspace, slots: &[Option<Slot>]) -> Vec<Source<'k>> {
    slots
        .iter()
        .map(|s| match s.map(|s| &ks.entry(s).value) {
            Some(Value::ZSet(z)) => Source::Z(z),
            Some(Value::Set(s)) => Source::S(s),
            _ => Source::Missing,
        })
        .collect()
}

/// Computes a union, intersection or difference of the inputs at `a.keys`.
fn compute(ks: &mut Keyspace, a: &AlgebraArgs<'_>, op: Op, now: u64) -> Result<ZSet, CmdError> {
    let slots = lookup_sources(ks, &a.keys, now)?;
    let srcs = sources(ks, &slots);
    let mut result = ZSet::new();
    match op {
        Op::Union => {
            let mut order: Vec<usize> = (0..srcs.len()).collect();
            order.sort_by_key(|&i| srcs[i].len());
            let mut acc: hashbrown::HashMap<&[u8], f64, ahash::RandomState> =
                hashbrown::HashMap::default();
            for &i in &order {
                let w = a.weights[i];
                srcs[i].for_each(|m, s| {
                    let v = weighted(s, w);
                    acc.entry(m)
                        .and_modify(|t| a.aggregate.fold(t, v))
                        .or_insert(v);
                });
            }
            for (m, s) in acc {
                result.insert(m, s);
            }
        }
        Op::Inter => {
            if srcs.iter().any(|s| s.len() == 0) {
                return Ok(result);
            }
            // Walk the smallest input, probing the others.
            let mut order: Vec<usize> = (0..srcs.len()).collect();
            order.sort_by_key(|&i| srcs[i].len());
            let (first, rest) = order.split_first().expect("at least one key");
            srcs[*first].for_each(|m, s| {
                let mut score = weighted(s, a.weights[*first]);
                for &j in rest {
                    match srcs[j].score(m) {
                        Some(v) => a.aggregate.fold(&mut score, v * a.weights[j]),
                        None => return,
                    }
                }
                result.insert(m, if score.is_nan() { 0.0 } else { score });
            });
        }
        Op::Diff => {
            srcs[0].for_each(|m, s| {
                if !srcs[1..].iter().any(|o| o.score(m).is_some()) {
                    result.insert(m, s);
                }
            });
        }
    }
    Ok(result)
}

fn algebra_read(ctx: &mut ShardCtx<'_>, argv: &Argv<'_>, op: Op, name: &str) -> CmdResult {
    let a = algebra_args(argv, 1, op, false, false, name)?;
    let now = ctx.now_ms;
    let z = compute(&mut ctx.dbs[ctx.db], &a, op, now)?;
    reply_elements(ctx.out, z.len(), z.iter(), a.withscores);
    Ok(())
}

fn algebra_store(ctx: &mut ShardCtx<'_>, argv: &Argv<'_>, op: Op, name: &str) -> CmdResult {
    let a = algebra_args(argv, 2, op, true, false, name)?;
    let now = ctx.now_ms;
    let z = compute(&mut ctx.dbs[ctx.db], &a, op, now)?;
    store_result(ctx, argv.get(1), z);
    Ok(())
}

fn zunion(ctx: &mut ShardCtx<'_>, argv: &Argv<'_>) -> CmdResult {
    algebra_read(ctx, argv, Op::Union, "zunion")
}
fn zinter(ctx: &mut ShardCtx<'_>, argv: &Argv<'_>) -> CmdResult {
    algebra_read(ctx, argv, Op::Inter, "zinter")
}
fn zdiff(ctx: &mut ShardCtx<'_>, argv: &Argv<'_>) -> CmdResult {
    algebra_read(ctx, argv, Op::Diff, "zdiff")
}
fn zunionstore(ctx: &mut ShardCtx<'_>, argv: &Argv<'_>) -> CmdResult {
    algebra_store(ctx, argv, Op::Union, "zunionstore")
}
fn zinterstore(ctx: &mut ShardCtx<'_>, argv: &Argv<'_>) -> CmdResult {
    algebra_store(ctx, argv, Op::Inter, "zinterstore")
}
fn zdiffstore(ctx: &mut ShardCtx<'_>, argv: &Argv<'_>) -> CmdResult {
    algebra_store(ctx, argv, Op::Diff, "zdiffstore")
}

fn zintercard(ctx: &mut ShardCtx<'_>, argv: &Argv<'_>) -> CmdResult {
    let a = algebra_args(argv, 1, Op::Inter, false, true, "zintercard")?;
    let now = ctx.now_ms;
    let ks = &mut ctx.dbs[ctx.db];
    let slots = lookup_sources(ks, &a.keys, now)?;
    let mut srcs = sources(ks, &slots);
    if srcs.iter().any(|s| s.len() == 0) {
        ctx.out.int(0);
        return Ok(());
    }
    srcs.sort_by_key(Source::len);
    let mut n = 0usize;
    let (first, rest) = srcs.split_first().expect("at least one key");
    // Counting only: stop at the limit without visiting the rest.
    let mut check = |m: &[u8]| {
        if a.limit != 0 && n >= a.limit {
            return;
        }
        if rest.iter().all(|o| o.score(m).is_some()) {
            n += 1;
        }
    };
    match first {
        Source::Z(z) => {
            for (m, _) in z.iter() {
                check(m);
            }
        }
        Source::S(s) => {
            for m in s.iter() {
                check(m);
            }
        }
        Source::Missing => {}
    }
    ctx.out.int(n as i64);
    Ok(())
}

/// Key positions of `numkeys key...` with the count at `at` (ZUNION, ZINTERCARD: 1;
/// ZUNIONSTORE: 2, after the destination at 1).
fn numkeys_positions(argv: &Argv<'_>, at: usize) -> Vec<usize> {
    let n = numbers::parse_i64(argv.get(at)).unwrap_or(0).max(0) as usize;
    let first = at + 1;
    (first..argv.len().min(first.saturating_add(n))).collect()
}

fn read_algebra_keys(argv: &Argv<'_>) -> Vec<usize> {
    numkeys_positions(argv, 1)
}

fn store_algebra_keys(argv: &Argv<'_>) -> Vec<usize> {
    let mut keys = vec![1];
    keys.extend(numkeys_positions(argv, 2));
    keys
}

// ---- ZRANDMEMBER ----

/// `count` distinct ranks of a set of `len` elements, chosen uniformly.
fn distinct_ranks(len: usize, count: usize, rng: &mut fastrand::Rng) -> Vec<usize> {
    if count * 3 > len {
        // A large share: partially shuffle all ranks.
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
            let r = rng.usize(..len);
            if seen.insert(r) {
                out.push(r);
            }
        }
        out
    }
}

fn zrandmember(ctx: &mut ShardCtx<'_>, argv: &Argv<'_>) -> CmdResult {
    if argv.len() > 4 {
        return Err(CmdError::Syntax);
    }
    let count = if argv.len() >= 3 {
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
    let withscores = match argv.len() {
        4 if is(argv.get(3), "WITHSCORES") => true,
        4 => return Err(CmdError::Syntax),
        _ => false,
    };
    if withscores && count.is_some_and(|n| n < -(i64::MAX / 2)) {
        // Twice as many reply elements would not fit the reply length.
        return Err(CmdError::msg("ERR value is out of range"));
    }
    let now = ctx.now_ms;
    let z = read_zset(&mut ctx.dbs[ctx.db], argv.get(1), now)?;
    let out = &mut *ctx.out;
    let (z, n) = match (z, count) {
        (None, None) => {
            out.null();
            return Ok(());
        }
        (None, Some(_)) => {
            out.array(0);
            return Ok(());
        }
        (Some(z), None) => {
            let r = ctx.rng.usize(..z.len());
            out.bulk(z.by_rank(r).map(|e| e.0).unwrap_or_default());
            return Ok(());
        }
        (Some(z), Some(n)) => (z, n),
    };
    if n < 0 {
        // Repeats allowed: independent draws.
        let n = n.unsigned_abs() as usize;
        let rng = &mut *ctx.rng;
        let len = z.len();
        let picks = (0..n).filter_map(|_| z.by_rank(rng.usize(..len)));
        reply_elements(out, n, picks, withscores);
    } else if n as u64 >= z.len() as u64 {
        reply_elements(out, z.len(), z.iter(), withscores);
    } else {
        let ranks = distinct_ranks(z.len(), n as usize, ctx.rng);
        let picks = ranks.iter().filter_map(|&r| z.by_rank(r));
        reply_elements(out, ranks.len(), picks, withscores);
    }
    Ok(())
}

// ---- ZSCAN ----

/// A score as an order-preserving, never-zero cursor (zeros of either sign are one
/// score), so cursor 0 stays "start".
fn score_cursor(score: f64) -> u64 {
    let bits = if score == 0.0 { 0.0f64 } else { score }.to_bits();
    if bits >> 63 == 1 {
        !bits
    } else {
        bits | 1 << 63
    }
}

fn cursor_score(cursor: u64) -> f64 {
    if cursor >> 63 == 1 {
        f64::from_bits(cursor & !(1 << 63))
    } else {
        f64::from_bits(!cursor)
    }
}

/// ZSCAN walks in score order; the cursor is the score to resume at. A call always
/// finishes the run of elements sharing its last score, so the next one starts strictly
/// above everything returned, and every element present for the whole scan (with an
/// unchanged score) is returned at least once, whatever is added or removed meanwhile.
/// Compact sets come back whole in one call, as Redis does.
fn zscan(ctx: &mut ShardCtx<'_>, argv: &Argv<'_>) -> CmdResult {
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
    let empty = |out: &mut ReplyBuf| {
        out.array(2);
        out.bulk(b"0");
        out.array(0);
    };
    let Some(z) = read_zset(&mut ctx.dbs[ctx.db], argv.get(1), now)? else {
        empty(out);
        return Ok(());
    };
    let whole = z.encoding() == "listpack";
    let start = if cursor == 0 || whole {
        0
    } else {
        let s = cursor_score(cursor);
        if s.is_nan() {
            // Not a cursor ZSCAN hands out: nothing to resume.
            empty(out);
            return Ok(());
        }
        z.rank_of_score_bound(ScoreBound::Inclusive(s), RangeEnd::Min)
    };
    let mut found: Vec<(&[u8], f64)> = Vec::new();
    let mut next = 0u64;
    let mut last: Option<f64> = None;
    for (visited, (m, s)) in z.iter_from_rank(start).enumerate() {
        if !whole && visited >= count && last != Some(s) {
            next = score_cursor(s);
            break;
        }
        last = Some(s);
        if pattern.is_none_or(|p| glob_match(p, m, false)) {
            found.push((m, s));
        }
    }
    out.array(2);
    let mut num = itoa::Buffer::new();
    out.bulk(num.format(next).as_bytes());
    // Scores are bulk strings here in both protocols, as Redis sends them.
    out.array(2 * found.len());
    let mut text = Vec::with_capacity(24);
    for (m, s) in found {
        out.bulk(m);
        text.clear();
        numbers::format_double(s, &mut text);
        out.bulk(&text);
    }
    Ok(())
}

#[rustfmt::skip]
pub fn commands() -> Vec<CommandSpec> {
    let one = (1, 1, 1);
    let g = "sorted_set";
    vec![
        spec("zadd", -4, WRITE | DENYOOM | FAST, one, g, "1.2.0", "Adds one or more members to a sorted set, or updates their scores. Creates the key if it doesn't exist.", "O(log(N)) for each item added, where N is the number of elements in the sorted set.", Run::Shard(zadd), Cross::No),
        spec("zincrby", 4, WRITE | DENYOOM | FAST, one, g, "1.2.0", "Increments the score of a member in a sorted set.", "O(log(N)) where N is the number of elements in the sorted set.", Run::Shard(zincrby), Cross::No),
        spec("zrem", -3, WRITE | FAST, one, g, "1.2.0", "Removes one or more members from a sorted set. Deletes the sorted set if all members were removed.", "O(M*log(N)) with N being the number of elements in the sorted set and M the number of elements to be removed.", Run::Shard(zrem), Cross::No),
        spec("zcard", 2, READONLY | FAST, one, g, "1.2.0", "Returns the number of members in a sorted set.", "O(1)", Run::Shard(zcard), Cross::No),
        spec("zscore", 3, READONLY | FAST, one, g, "1.2.0", "Returns the score of a member in a sorted set.", "O(1)", Run::Shard(zscore), Cross::No),
        spec("zmscore", -3, READONLY | FAST, one, g, "6.2.0", "Returns the score of one or more members in a sorted set.", "O(N) where N is the number of members being requested.", Run::Shard(zmscore), Cross::No),
        spec("zrank", -3, READONLY | FAST, one, g, "2.0.0", "Returns the index of a member in a sorted set ordered by ascending scores.", "O(log(N))", Run::Shard(zrank), Cross::No),
        spec("zrevrank", -3, READONLY | FAST, one, g, "2.0.0", "Returns the index of a member in a sorted set ordered by descending scores.", "O(log(N))", Run::Shard(zrevrank), Cross::No),
        spec("zcount", 4, READONLY | FAST, one, g, "2.0.0", "Returns the count of members in a sorted set that have scores within a range.", "O(log(N)) with N being the number of elements in the sorted set.", Run::Shard(zcount), Cross::No),
        spec("zlexcount", 4, READONLY | FAST, one, g, "2.8.9", "Returns the number of members in a sorted set within a lexicographical range.", "O(log(N)) with N being the number of elements in the sorted set.", Run::Shard(zlexcount), Cross::No),
        spec("zrange", -4, READONLY, one, g, "1.2.0", "Returns members in a sorted set within a range of indexes.", "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements returned.", Run::Shard(zrange), Cross::No),
        spec("zrangestore", -5, WRITE | DENYOOM, (1, 2, 1), g, "6.2.0", "Stores a range of members from sorted set in a key.", "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements stored into the destination key.", Run::Shard(zrangestore), Cross::No),
        spec("zrevrange", -4, READONLY, one, g, "1.2.0", "Returns members in a sorted set within a range of indexes in reverse order.", "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements returned.", Run::Shard(zrevrange), Cross::No),
        spec("zrangebyscore", -4, READONLY, one, g, "1.0.5", "Returns members in a sorted set within a range of scores.", "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements being returned.", Run::Shard(zrangebyscore), Cross::No),
        spec("zrevrangebyscore", -4, READONLY, one, g, "2.2.0", "Returns members in a sorted set within a range of scores in reverse order.", "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements being returned.", Run::Shard(zrevrangebyscore), Cross::No),
        spec("zrangebylex", -4, READONLY, one, g, "2.8.9", "Returns members in a sorted set within a lexicographical range.", "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements being returned.", Run::Shard(zrangebylex), Cross::No),
        spec("zrevrangebylex", -4, READONLY, one, g, "2.8.9", "Returns members in a sorted set within a lexicographical range in reverse order.", "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements being returned.", Run::Shard(zrevrangebylex), Cross::No),
        spec("zremrangebyrank", 4, WRITE, one, g, "2.0.0", "Removes members in a sorted set within a range of indexes. Deletes the sorted set if all members were removed.", "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements removed by the operation.", Run::Shard(zremrangebyrank), Cross::No),
        spec("zremrangebyscore", 4, WRITE, one, g, "1.2.0", "Removes members in a sorted set within a range of scores. Deletes the sorted set if all members were removed.", "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements removed by the operation.", Run::Shard(zremrangebyscore), Cross::No),
        spec("zremrangebylex", 4, WRITE, one, g, "2.8.9", "Removes members in a sorted set within a lexicographical range. Deletes the sorted set if all members were removed.", "O(log(N)+M) with N being the number of elements in the sorted set and M the number of elements removed by the operation.", Run::Shard(zremrangebylex), Cross::No),
        spec("zpopmin", -2, WRITE | FAST, one, g, "5.0.0", "Returns the lowest-scoring members from a sorted set after removing them. Deletes the sorted set if the last member was popped.", "O(log(N)*M) with N being the number of elements in the sorted set, and M being the number of elements popped.", Run::Shard(zpopmin), Cross::No),
        spec("zpopmax", -2, WRITE | FAST, one, g, "5.0.0", "Returns the highest-scoring members from a sorted set after removing them. Deletes the sorted set if the last member was popped.", "O(log(N)*M) with N being the number of elements in the sorted set, and M being the number of elements popped.", Run::Shard(zpopmax), Cross::No),
        spec("zmpop", -4, WRITE, (2, 2, 1), g, "7.0.0", "Returns the highest- or lowest-scoring members from one or more sorted sets after removing them. Deletes the sorted set if the last member was popped.", "O(K) + O(M*log(N)) where K is the number of provided keys, N being the number of elements in the sorted set, and M being the number of elements popped.", Run::Shard(zmpop), Cross::No).movable(zmpop_keys),
        spec("zunion", -3, READONLY, (2, 2, 1), g, "6.2.0", "Returns the union of multiple sorted sets.", "O(N)+O(M*log(M)) with N being the sum of the sizes of the input sorted sets, and M being the number of elements in the resulting sorted set.", Run::Shard(zunion), Cross::No).movable(read_algebra_keys),
        spec("zinter", -3, READONLY, (2, 2, 1), g, "6.2.0", "Returns the intersect of multiple sorted sets.", "O(N*K)+O(M*log(M)) worst case with N being the smallest input sorted set, K being the number of input sorted sets and M being the number of elements in the resulting sorted set.", Run::Shard(zinter), Cross::No).movable(read_algebra_keys),
        spec("zdiff", -3, READONLY, (2, 2, 1), g, "6.2.0", "Returns the difference between multiple sorted sets.", "O(L + (N-K)log(N)) worst case where L is the total number of elements in all the sets, N is the size of the first set, and K is the size of the result set.", Run::Shard(zdiff), Cross::No).movable(read_algebra_keys),
        spec("zintercard", -3, READONLY, (2, 2, 1), g, "7.0.0", "Returns the number of members of the intersect of multiple sorted sets.", "O(N*K) worst case with N being the smallest input sorted set, K being the number of input sorted sets.", Run::Shard(zintercard), Cross::No).movable(read_algebra_keys),
        spec("zunionstore", -4, WRITE | DENYOOM, one, g, "2.0.0", "Stores the union of multiple sorted sets in a key.", "O(N)+O(M log(M)) with N being the sum of the sizes of the input sorted sets, and M being the number of elements in the resulting sorted set.", Run::Shard(zunionstore), Cross::No).movable(store_algebra_keys),
        spec("zinterstore", -4, WRITE | DENYOOM, one, g, "2.0.0", "Stores the intersect of multiple sorted sets in a key.", "O(N*K)+O(M*log(M)) worst case with N being the smallest input sorted set, K being the number of input sorted sets and M being the number of elements in the resulting sorted set.", Run::Shard(zinterstore), Cross::No).movable(store_algebra_keys),
        spec("zdiffstore", -4, WRITE | DENYOOM, one, g, "6.2.0", "Stores the difference of multiple sorted sets in a key.", "O(L + (N-K)log(N)) worst case where L is the total number of elements in all the sets, N is the size of the first set, and K is the size of the result set.", Run::Shard(zdiffstore), Cross::No).movable(store_algebra_keys),
        spec("zrandmember", -2, READONLY, one, g, "6.2.0", "Returns one or more random members from a sorted set.", "O(N) where N is the number of members returned", Run::Shard(zrandmember), Cross::No),
        spec("zscan", -3, READONLY, one, g, "2.8.0", "Iterates over members and scores of a sorted set.", "O(1) for every call. O(N) for a complete iteration, including enough command calls for the cursor to return back to 0. N is the number of elements inside the collection.", Run::Shard(zscan), Cross::No),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn score_cursors_keep_order_and_never_zero() {
        let scores = [
            f64::NEG_INFINITY,
            -1e300,
            -1.5,
            -f64::MIN_POSITIVE,
            0.0,
            5e-324,
            1.0,
            2.5,
            1e300,
            f64::INFINITY,
        ];
        for w in scores.windows(2) {
            assert!(score_cursor(w[0]) < score_cursor(w[1]), "{w:?}");
        }
        for s in scores {
            assert_ne!(score_cursor(s), 0);
            assert_eq!(cursor_score(score_cursor(s)), s);
        }
        assert_eq!(score_cursor(-0.0), score_cursor(0.0));
        assert!(cursor_score(1).is_nan());
    }

    #[test]
    fn rank_clamping() {
        assert_eq!(clamp_ranks(0, -1, 3), Some(0..3));
        assert_eq!(clamp_ranks(-100, 100, 3), Some(0..3));
        assert_eq!(clamp_ranks(2, 1, 3), None);
        assert_eq!(clamp_ranks(3, 5, 3), None);
        assert_eq!(clamp_ranks(i64::MIN, i64::MAX, 3), Some(0..3));
        assert_eq!(clamp_ranks(0, -1, 0), None);
    }

    #[test]
    fn distinct_ranks_have_no_repeats() {
        let mut rng = fastrand::Rng::with_seed(3);
        for (len, count) in [(10, 9), (1000, 5), (3, 3)] {
            let mut r = distinct_ranks(len, count, &mut rng);
            r.sort();
            r.dedup();
            assert_eq!(r.len(), count);
            assert!(r.iter().all(|&x| x < len));
        }
    }
}
