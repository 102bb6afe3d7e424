//! The list family: pushes and pops at either end (LPUSH, RPOP, LMPOP...), indexed access
//! (LINDEX, LSET, LRANGE, LPOS), in-place rewrites (LINSERT, LREM, LTRIM) and moves
//! between lists (LMOVE, RPOPLPUSH).
//!
//! Pushes, pops and LSET are journaled as `ListPush`/`ListPop`/`ListSet` deltas, so that
//! a push onto a long list costs what it adds; the O(n) rewrites journal the whole value.
//! `pop_first` is shared with the blocking variants, which call it when a key wakes them.

use super::util::{int_arg, is};
use super::{flags::*, spec, CmdError, CmdResult, CommandSpec, Cross, Run, ShardCtx};
use crate::protocol::{Argv, ReplyBuf};
use crate::shard::keyspace::{Keyspace, Slot};
use crate::shard::value::{List, Value};
use crate::storage::effect::DeltaRef;

/// The list held by a value; any other type is WRONGTYPE.
#[inline]
fn list_ref(v: &Value) -> Result<&List, CmdError> {
    match v {
        Value::List(l) => Ok(l),
        _ => Err(CmdError::WrongType),
    }
}

#[inline]
fn list_mut(v: &mut Value) -> &mut List {
    match v {
        Value::List(l) => l,
        // Callers check the type with `list_ref` before changing anything.
        _ => unreachable!("type checked before the change"),
    }
}

/// Which end of a list a command works on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum End {
    Left,
    Right,
}

impl End {
    fn front(self) -> bool {
        self == End::Left
    }

    /// A LEFT|RIGHT argument, or a syntax error.
    pub(crate) fn parse(arg: &[u8]) -> Result<End, CmdError> {
        if is(arg, "LEFT") {
            Ok(End::Left)
        } else if is(arg, "RIGHT") {
            Ok(End::Right)
        } else {
            Err(CmdError::Syntax)
        }
    }
}

/// A position that may count from the end (-1 is the last) resolved against `len`.
#[inline]
fn resolve_index(index: i64, len: usize) -> Option<usize> {
    let i = if index < 0 {
        index.checked_add(len as i64)?
    } else {
        index
    };
    (i >= 0 && (i as usize) < len).then_some(i as usize)
}

/// The half-open range `start..end` an inclusive LRANGE/LTRIM pair selects, as Redis
/// clamps it; `None` when it selects nothing.
fn resolve_range(start: i64, stop: i64, len: usize) -> Option<(usize, usize)> {
    let len_i = len as i64;
    let mut start = if start < 0 {
        start.saturating_add(len_i)
    } else {
        start
    };
    let mut stop = if stop < 0 {
        stop.saturating_add(len_i)
    } else {
        stop
    };
    start = start.max(0);
    if start > stop || start >= len_i {
        return None;
    }
    stop = stop.min(len_i - 1);
    Some((start as usize, stop as usize + 1))
}

/// A count that must be positive (LPOP/RPOP), with Redis's wording.
fn positive_arg(arg: &[u8]) -> Result<usize, CmdError> {
    match int_arg(arg)? {
        n if n < 0 => Err(CmdError::msg("ERR value is out of range, must be positive")),
        n => Ok(n as usize),
    }
}

/// Pushes the arguments from position 2 on; `only_existing` is the X forms.
fn push(ctx: &mut ShardCtx<'_>, argv: &Argv<'_>, end: End, only_existing: bool) -> CmdResult {
    let now = ctx.now_ms;
    let ks = &mut ctx.dbs[ctx.db];
    let key = argv.get(1);
    let front = end.front();
    match ks.lookup(key, now) {
        None if only_existing => ctx.out.int(0),
        None => {
            let mut l = List::new();
            for item in argv.iter().skip(2) {
                if front {
                    l.push_front(item.to_vec());
                } else {
                    l.push_back(item.to_vec());
                }
            }
            let len = l.len();
            ks.insert_new(key, Value::List(Box::new(l)), now);
            ctx.out.int(len as i64);
        }
        Some(slot) => {
            list_ref(&ks.entry(slot).value)?;
            let apply = |v: &mut Value, items: &[&[u8]]| {
                let l = list_mut(v);
                for item in items {
                    if front {
                        l.push_front(item.to_vec());
                    } else {
                        l.push_back(item.to_vec());
                    }
                }
                l.len()
            };
            let len = if argv.len() == 3 {
                // The common single-element push collects nothing.
                let items = [argv.get(2)];
                ks.modify_delta(
                    slot,
                    DeltaRef::ListPush {
                        front,
                        items: &items,
                    },
                    |v| apply(v, &items),
                )
            } else {
                let items: Vec<&[u8]> = argv.iter().skip(2).collect();
                ks.modify_delta(
                    slot,
                    DeltaRef::ListPush {
                        front,
                        items: &items,
                    },
                    |v| apply(v, &items),
                )
            };
            ctx.out.int(len as i64);
        }
    }
    Ok(())
}

fn lpush(ctx: &mut ShardCtx<'_>, argv: &Argv<'_>) -> CmdResult {
    push(ctx, argv, End::Left, false)
}
fn rpush(ctx: &mut ShardCtx<'_>, argv: &Argv<'_>) -> CmdResult {
    push(ctx, argv, End::Right, false)
}
fn lpushx(ctx: &mut ShardCtx<'_>, argv: &Argv<'_>) -> CmdResult {
    push(ctx, argv, End::Left, true)
}
fn rpushx(ctx: &mut ShardCtx<'_>, argv: &Argv<'_>) -> CmdResult {
    push(ctx, argv, End::Right, true)
}

/// Pops up to `count` elements from the list at `slot` (already type-checked), journaling
/// exactly how many were taken; the key goes when emptied.
fn pop_slot(ks: &mut Keyspace, slot: Slot, end: End, count: usize) -> Vec<Vec<u8>> {
    let front = end.front();
    let len = match &ks.entry(slot).value {
        Value::List(l) => l.len(),
        _ => 0,
    };
    let take = count.min(len);
    ks.modify_delta(
        slot,
        DeltaRef::ListPop {
            front,
            count: take as u64,
        },
        |v| {
            let l = list_mut(v);
            (0..take)
                .filter_map(|_| if front { l.pop_front() } else { l.pop_back() })
                .collect()
        },
    )
}

/// What `pop_first` took: the index of the key in the list given, and the elements.
pub(crate) type Popped = (usize, Vec<Vec<u8>>);

/// Pops up to `count` elements from the first of `keys` holding a non-empty list, as
/// LMPOP (and the blocking pops when woken) do. Returns the key's index in `keys` and the
/// elements, or None when every key is missing. A key of another type is WRONGTYPE.
pub(crate) fn pop_first(
    ks: &mut Keyspace,
    keys: &[&[u8]],
    end: End,
    count: usize,
    now: u64,
) -> Result<Option<Popped>, CmdError> {
    for (i, key) in keys.iter().enumerate() {
        let Some(slot) = ks.lookup(key, now) else {
            continue;
        };
        list_ref(&ks.entry(slot).value)?;
        return Ok(Some((i, pop_slot(ks, slot, end, count))));
    }
    Ok(None)
}

fn pop(ctx: &mut ShardCtx<'_>, argv: &Argv<'_>, end: End, name: &str) -> CmdResult {
    if argv.len() > 3 {
        return Err(CmdError::wrong_arity(name));
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
            Some(_) => ctx.out.null_array(),
        }
        return Ok(());
    };
    list_ref(&ks.entry(slot).value)?;
    match count {
        None => {
            let items = pop_slot(ks, slot, end, 1);
            match items.first() {
                Some(item) => ctx.out.bulk(item),
                None => ctx.out.null(),
            }
        }
        Some(0) => ctx.out.array(0),
        Some(n) => reply_items(ctx.out, &pop_slot(ks, slot, end, n)),
    }
    Ok(())
}

fn reply_items(out: &mut ReplyBuf, items: &[Vec<u8>]) {
    out.array(items.len());
    for item in items {
        out.bulk(item);
    }
}

fn lpop(ctx: &mut ShardCtx<'_>, argv: &Argv<'_>) -> CmdResult {
    pop(ctx, argv, End::Left, "lpop")
}
fn rpop(ctx: &mut ShardCtx<'_>, argv: &Argv<'_>) -> CmdResult {
    pop(ctx, argv, End::Right, "rpop")
}

/// The list at `key` for a read command, or None when the key is missing.
fn read_list<'k>(ks: &'k mut Keyspace, key: &[u8], now: u64) -> Result<Option<&'k List>, CmdError> {
    match ks.lookup_read(key, now) {
        None => Ok(None),
        Some(slot) => list_ref(&ks.entry(slot).value).map(Some),
    }
}

fn llen(ctx: &mut ShardCtx<'_>, argv: &Argv<'_>) -> CmdResult {
    let now = ctx.now_ms;
    let n = read_list(&mut ctx.dbs[ctx.db], argv.get(1), now)?.map_or(0, List::len);
    ctx.out.int(n as i64);
    Ok(())
}

fn lrange(ctx: &mut ShardCtx<'_>, argv: &Argv<'_>) -> CmdResult {
    let (start, stop) = (int_arg(argv.get(2))?, int_arg(argv.get(3))?);
    let now = ctx.now_ms;
    let out = &mut *ctx.out;
    let Some(l) = read_list(&mut ctx.dbs[ctx.db], argv.get(1), now)? else {
        out.array(0);
        return Ok(());
    };
    match resolve_range(start, stop, l.len()) {
        None => out.array(0),
        Some((s, e)) => {
            out.array(e - s);
            for item in l.range(s, e) {
                out.bulk(item);
            }
        }
    }
    Ok(())
}

fn lindex(ctx: &mut ShardCtx<'_>, argv: &Argv<'_>) -> CmdResult {
    let index = int_arg(argv.get(2))?;
    let now = ctx.now_ms;
    let out = &mut *ctx.out;
    match read_list(&mut ctx.dbs[ctx.db], argv.get(1), now)? {
        Some(l) => match resolve_index(index, l.len()).and_then(|i| l.get(i)) {
            Some(item) => out.bulk(item),
            None => out.null(),
        },
        None => out.null(),
    }
    Ok(())
}

fn lset(ctx: &mut ShardCtx<'_>, argv: &Argv<'_>) -> CmdResult {
    let index = int_arg(argv.get(2))?;
    let item = argv.get(3);
    let now = ctx.now_ms;
    let ks = &mut ctx.dbs[ctx.db];
    let Some(slot) = ks.lookup(argv.get(1), now) else {
        return Err(CmdError::NoSuchKey);
    };
    let l = list_ref(&ks.entry(slot).value)?;
    let Some(i) = resolve_index(index, l.len()) else {
        return Err(CmdError::msg("ERR index out of range"));
    };
    ks.modify_delta(
        slot,
        DeltaRef::ListSet {
            index: i as u64,
            item,
        },
        |v| list_mut(v).set(i, item.to_vec()),
    );
    ctx.out.ok();
    Ok(())
}

fn linsert(ctx: &mut ShardCtx<'_>, argv: &Argv<'_>) -> CmdResult {
    let after = if is(argv.get(2), "AFTER") {
        true
    } else if is(argv.get(2), "BEFORE") {
        false
    } else {
        return Err(CmdError::Syntax);
    };
    let (pivot, item) = (argv.get(3), argv.get(4));
    let now = ctx.now_ms;
    let ks = &mut ctx.dbs[ctx.db];
    let Some(slot) = ks.lookup(argv.get(1), now) else {
        ctx.out.int(0);
        return Ok(());
    };
    let l = list_ref(&ks.entry(slot).value)?;
    let Some(pos) = l.iter().position(|x| x == pivot) else {
        ctx.out.int(-1);
        return Ok(());
    };
    let at = pos + after as usize;
    let len = ks.modify(slot, |v| {
        let l = list_mut(v);
        l.insert(at, item.to_vec());
        l.len()
    });
    ctx.out.int(len as i64);
    Ok(())
}

fn lrem(ctx: &mut ShardCtx<'_>, argv: &Argv<'_>) -> CmdResult {
    let count = int_arg(argv.get(2))?;
    let item = argv.get(3);
    let now = ctx.now_ms;
    let ks = &mut ctx.dbs[ctx.db];
    let Some(slot) = ks.lookup(argv.get(1), now) else {
        ctx.out.int(0);
        return Ok(());
    };
    let l = list_ref(&ks.entry(slot).value)?;
    let limit = if count == 0 {
        usize::MAX
    } else {
        count.unsigned_abs().min(usize::MAX as u64) as usize
    };
    // Find the positions first so that a call that removes nothing journals nothing.
    let mut positions: Vec<usize> = if count < 0 {
        let len = l.len();
        l.iter()
            .rev()
            .enumerate()
            .filter(|(_, x)| *x == item)
            .take(limit)
            .map(|(i, _)| len - 1 - i)
            .collect()
    } else {
        l.iter()
            .enumerate()
            .filter(|(_, x)| *x == item)
            .take(limit)
            .map(|(i, _)| i)
            .collect()
    };
    if positions.is_empty() {
        ctx.out.int(0);
        return Ok(());
    }
    // Remove from the back so earlier positions stay valid.
    positions.sort_unstable_by(|a, b| b.cmp(a));
    let removed = positions.len();
    ks.modify(slot, |v| {
        let l = list_mut(v);
        for p in positions {
            l.remove(p);
        }
    });
    ctx.out.int(removed as i64);
    Ok(())
}

fn ltrim(ctx: &mut ShardCtx<'_>, argv: &Argv<'_>) -> CmdResult {
    let (start, stop) = (int_arg(argv.get(2))?, int_arg(argv.get(3))?);
    let now = ctx.now_ms;
    let ks = &mut ctx.dbs[ctx.db];
    let Some(slot) = ks.lookup(argv.get(1), now) else {
        ctx.out.ok();
        return Ok(());
    };
    let len = list_ref(&ks.entry(slot).value)?.len();
    let (s, e) = resolve_range(start, stop, len).unwrap_or((0, 0));
    if (s, e) != (0, len) {
        ks.modify(slot, |v| list_mut(v).retain_range(s, e));
    }
    ctx.out.ok();
    Ok(())
}

/// LPOS's options.
struct LposArgs {
    rank: i64,
    count: Option<usize>,
    maxlen: usize,
}

fn lpos_args(argv: &Argv<'_>) -> Result<LposArgs, CmdError> {
    let mut a = LposArgs {
        rank: 1,
        count: None,
        maxlen: 0,
    };
    let mut i = 3;
    while i < argv.len() {
        let opt = argv.get(i);
        if i + 1 >= argv.len() {
            return Err(CmdError::Syntax);
        }
        let n = argv.get(i + 1);
        if is(opt, "RANK") {
            let r = int_arg(n)?;
            if r == i64::MIN {
                return Err(CmdError::msg(
                    "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807",
                ));
            }
            if r == 0 {
                return Err(CmdError::msg(
                    "ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list",
                ));
            }
            a.rank = r;
        } else if is(opt, "COUNT") {
            let c = int_arg(n)?;
            if c < 0 {
                return Err(CmdError::msg("ERR COUNT can't be negative"));
            }
            a.count = Some(c as usize);
        } else if is(opt, "MAXLEN") {
            let m = int_arg(n)?;
            if m < 0 {
                return Err(CmdError::msg("ERR MAXLEN can't be negative"));
            }
            a.maxlen = m as usize;
        } else {
            return Err(CmdError::Syntax);
        }
        i += 2;
    }
    Ok(a)
}

fn lpos(ctx: &mut ShardCtx<'_>, argv: &Argv<'_>) -> CmdResult {
    let a = lpos_args(argv)?;
    let item = argv.get(2);
    let now = ctx.now_ms;
    let out = &mut *ctx.out;
    let Some(l) = read_list(&mut ctx.dbs[ctx.db], argv.get(1), now)? else {
        match a.count {
            Some(_) => out.array(0),
            None => out.null(),
        }
        return Ok(());
    };
    let len = l.len();
    let scan = if a.maxlen == 0 {
        len
    } else {
        a.maxlen.min(len)
    };
    let skip = (a.rank.unsigned_abs() - 1).min(usize::MAX as u64) as usize;
    let want = match a.count {
        None => 1,
        Some(0) => usize::MAX,
        Some(c) => c,
    };
    let found: Vec<usize> = if a.rank > 0 {
        l.iter()
            .take(scan)
            .enumerate()
            .filter(|(_, x)| *x == item)
            .skip(skip)
            .take(want)
            .map(|(i, _)| i)
            .collect()
    } else {
        l.iter()
            .rev()
            .take(scan)
            .enumerate()
            .filter(|(_, x)| *x == item)
            .skip(skip)
            .take(want)
            .map(|(i, _)| len - 1 - i)
            .collect()
    };
    match a.count {
        Some(_) => {
            out.array(found.len());
            for p in found {
                out.int(p as i64);
            }
        }
        None => match found.first() {
            Some(&p) => out.int(p as i64),
            None => out.null(),
        },
    }
    Ok(())
}

/// Moves one element from `src`'s `from` end to `dst`'s `to` end (LMOVE, RPOPLPUSH, and
/// their blocking forms).
pub(crate) fn move_one(
    ctx: &mut ShardCtx<'_>,
    src_key: &[u8],
    dst_key: &[u8],
    from: End,
    to: End,
) -> CmdResult {
    let now = ctx.now_ms;
    let ks = &mut ctx.dbs[ctx.db];
    let Some(src) = ks.lookup(src_key, now) else {
        ctx.out.null();
        return Ok(());
    };
    let src_len = list_ref(&ks.entry(src).value)?.len();
    let dst = ks.lookup(dst_key, now);
    if let Some(d) = dst {
        list_ref(&ks.entry(d).value)?;
    }
    if src_key == dst_key && src_len == 1 {
        // Rotating a one-element list changes nothing.
        if let Some(item) = list_ref(&ks.entry(src).value)?.get(0) {
            ctx.out.bulk(item);
        }
        return Ok(());
    }
    let item = pop_slot(ks, src, from, 1).pop().unwrap_or_default();
    let front = to.front();
    // The source keeps its slot when it is also the destination (it held two or more).
    let dst = if src_key == dst_key { Some(src) } else { dst };
    match dst {
        Some(d) => {
            let items = [item.as_slice()];
            ks.modify_delta(
                d,
                DeltaRef::ListPush {
                    front,
                    items: &items,
                },
                |v| {
                    let l = list_mut(v);
                    if front {
                        l.push_front(item.clone());
                    } else {
                        l.push_back(item.clone());
                    }
                },
            );
        }
        None => {
            let mut l = List::new();
            l.push_back(item.clone());
            ks.insert_new(dst_key, Value::List(Box::new(l)), now);
        }
    }
    ctx.out.bulk(&item);
    Ok(())
}

fn lmove(ctx: &mut ShardCtx<'_>, argv: &Argv<'_>) -> CmdResult {
    let from = End::parse(argv.get(3))?;
    let to = End::parse(argv.get(4))?;
    move_one(ctx, argv.get(1), argv.get(2), from, to)
}

fn rpoplpush(ctx: &mut ShardCtx<'_>, argv: &Argv<'_>) -> CmdResult {
    move_one(ctx, argv.get(1), argv.get(2), End::Right, End::Left)
}

/// LMPOP's keys: `numkeys` of them from position 2.
fn lmpop_keys(argv: &Argv<'_>) -> Vec<usize> {
    let n = crate::util::numbers::parse_i64(argv.get(1))
        .unwrap_or(0)
        .max(0) as usize;
    // The last argument is LEFT|RIGHT at the least, never a key: a numkeys too large is
    // the handler's syntax error, not a cross-shard call.
    (2..argv.len().saturating_sub(1).min(2usize.saturating_add(n))).collect()
}

/// `numkeys key... LEFT|RIGHT [COUNT count]` from position `first` (1 for LMPOP; the
/// blocking form passes the position after its timeout). Returns the key count, the end
/// and the count.
pub(crate) fn mpop_args(argv: &Argv<'_>, first: usize) -> Result<(usize, End, usize), CmdError> {
    let numkeys = crate::util::numbers::parse_i64(argv.get(first))
        .filter(|&n| n > 0)
        .ok_or_else(|| CmdError::msg("ERR numkeys should be greater than 0"))?;
    let keys_from = first + 1;
    if numkeys as u64 > argv.len().saturating_sub(keys_from + 1) as u64 {
        return Err(CmdError::Syntax);
    }
    let numkeys = numkeys as usize;
    let mut i = keys_from + numkeys;
    let end = End::parse(argv.get(i))?;
    i += 1;
    let mut count = None;
    while i < argv.len() {
        if is(argv.get(i), "COUNT") && i + 1 < argv.len() && count.is_none() {
            let c = crate::util::numbers::parse_i64(argv.get(i + 1))
                .filter(|&c| c > 0)
                .ok_or_else(|| CmdError::msg("ERR count should be greater than 0"))?;
            count = Some(c as usize);
            i += 2;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    Ok((numkeys, end, count.unwrap_or(1)))
}

/// Writes an LMPOP-style reply: the key and its popped elements.
pub(crate) fn reply_key_items(out: &mut ReplyBuf, key: &[u8], items: &[Vec<u8>]) {
    out.array(2);
    out.bulk(key);
    reply_items(out, items);
}

fn lmpop(ctx: &mut ShardCtx<'_>, argv: &Argv<'_>) -> CmdResult {
    let (numkeys, end, count) = mpop_args(argv, 1)?;
    let keys: Vec<&[u8]> = argv.iter().skip(2).take(numkeys).collect();
    let now = ctx.now_ms;
    match pop_first(&mut ctx.dbs[ctx.db], &keys, end, count, now)? {
        None => ctx.out.null_array(),
        Some((i, items)) => reply_key_items(ctx.out, keys[i], &items),
    }
    Ok(())
}

#[rustfmt::skip]
pub fn commands() -> Vec<CommandSpec> {
    let one = (1, 1, 1);
    let two = (1, 2, 1);
    vec![
        spec("lpush", -3, WRITE | DENYOOM | FAST, one, "list", "1.0.0", "Prepends one or more elements to a list. Creates the key if it doesn't exist.", "O(1) for each element added, so O(N) to add N elements when the command is called with multiple arguments.", Run::Shard(lpush), Cross::No),
        spec("rpush", -3, WRITE | DENYOOM | FAST, one, "list", "1.0.0", "Appends one or more elements to a list. Creates the key if it doesn't exist.", "O(1) for each element added, so O(N) to add N elements when the command is called with multiple arguments.", Run::Shard(rpush), Cross::No),
        spec("lpushx", -3, WRITE | DENYOOM | FAST, one, "list", "2.2.0", "Prepends one or more elements to a list only when the list exists.", "O(1) for each element added, so O(N) to add N elements when the command is called with multiple arguments.", Run::Shard(lpushx), Cross::No),
        spec("rpushx", -3, WRITE | DENYOOM | FAST, one, "list", "2.2.0", "Appends an element to a list only when the list exists.", "O(1) for each element added, so O(N) to add N elements when the command is called with multiple arguments.", Run::Shard(rpushx), Cross::No),
        spec("lpop", -2, WRITE | FAST, one, "list", "1.0.0", "Returns the first elements in a list after removing it. Deletes the list if the last element was popped.", "O(N) where N is the number of elements returned", Run::Shard(lpop), Cross::No),
        spec("rpop", -2, WRITE | FAST, one, "list", "1.0.0", "Returns and removes the last elements of a list. Deletes the list if the last element was popped.", "O(N) where N is the number of elements returned", Run::Shard(rpop), Cross::No),
        spec("llen", 2, READONLY | FAST, one, "list", "1.0.0", "Returns the length of a list.", "O(1)", Run::Shard(llen), Cross::No),
        spec("lrange", 4, READONLY, one, "list", "1.0.0", "Returns a range of elements from a list.", "O(S+N) where S is the distance of start offset from HEAD for small lists, from nearest end (HEAD or TAIL) for large lists; and N is the number of elements in the specified range.", Run::Shard(lrange), Cross::No),
        spec("lindex", 3, READONLY, one, "list", "1.0.0", "Returns an element from a list by its index.", "O(N) where N is the number of elements to traverse to get to the element at index. This makes asking for the first or the last element of the list O(1).", Run::Shard(lindex), Cross::No),
        spec("lset", 4, WRITE | DENYOOM, one, "list", "1.0.0", "Sets the value of an element in a list by its index.", "O(N) where N is the length of the list. Setting either the first or the last element of the list is O(1).", Run::Shard(lset), Cross::No),
        spec("linsert", 5, WRITE | DENYOOM, one, "list", "2.2.0", "Inserts an element before or after another element in a list.", "O(N) where N is the number of elements to traverse before seeing the value pivot. This means that inserting somewhere on the left end on the list (head) can be considered O(1) and inserting somewhere on the right end (tail) is O(N).", Run::Shard(linsert), Cross::No),
        spec("lrem", 4, WRITE, one, "list", "1.0.0", "Removes elements from a list. Deletes the list if the last element was removed.", "O(N+M) where N is the length of the list and M is the number of elements removed.", Run::Shard(lrem), Cross::No),
        spec("ltrim", 4, WRITE, one, "list", "1.0.0", "Removes elements from both ends a list. Deletes the list if all elements were trimmed.", "O(N) where N is the number of elements to be removed by the operation.", Run::Shard(ltrim), Cross::No),
        spec("lpos", -3, READONLY, one, "list", "6.0.6", "Returns the index of matching elements in a list.", "O(N) where N is the number of elements in the list, for the average case. When searching for elements near the head or the tail of the list, or when the MAXLEN option is provided, the command may run in constant time.", Run::Shard(lpos), Cross::No),
        spec("lmove", 5, WRITE | DENYOOM, two, "list", "6.2.0", "Returns an element after popping it from one list and pushing it to another. Deletes the list if the last element was moved.", "O(1)", Run::Shard(lmove), Cross::No),
        spec("rpoplpush", 3, WRITE | DENYOOM, two, "list", "1.2.0", "Returns the last element of a list after removing and pushing it to another list. Deletes the list if the last element was popped.", "O(1)", Run::Shard(rpoplpush), Cross::No),
        spec("lmpop", -4, WRITE, (2, 2, 1), "list", "7.0.0", "Returns multiple elements from a list after removing them. Deletes the list if the last element was popped.", "O(N+M) where N is the number of provided keys and M is the number of elements returned.", Run::Shard(lmpop), Cross::No).movable(lmpop_keys),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indexes_count_from_either_end() {
        assert_eq!(resolve_index(0, 3), Some(0));
        assert_eq!(resolve_index(-1, 3), Some(2));
        assert_eq!(resolve_index(-4, 3), None);
        assert_eq!(resolve_index(3, 3), None);
        assert_eq!(resolve_index(i64::MIN, 3), None);
    }

    #[test]
    fn ranges_clamp_as_redis_does() {
        assert_eq!(resolve_range(0, -1, 3), Some((0, 3)));
        assert_eq!(resolve_range(-100, 100, 3), Some((0, 3)));
        assert_eq!(resolve_range(2, 1, 3), None);
        assert_eq!(resolve_range(5, 10, 3), None);
        assert_eq!(resolve_range(1, 1, 3), Some((1, 2)));
        assert_eq!(resolve_range(i64::MIN, i64::MAX, 3), Some((0, 3)));
    }
}
