//! String commands: GET/SET and their variants, multi-key MGET/MSET/MSETNX, in-place
//! edits (APPEND, SETRANGE, GETRANGE), counters (INCR family, INCRBYFLOAT) and LCS.
//!
//! Every handler that reads a value goes through `str_ref`/`str_mut`, so that when more
//! value types arrive a key of another type answers WRONGTYPE without touching the key.

use super::util::{float_arg, int_arg, is};
use super::{
    flags::*, spec, CmdError, CmdResult, CommandSpec, Cross, LocalBoxFuture, OwnedArgs, Run,
    ShardCtx,
};
use crate::protocol::{Argv, ReplyBuf};
use crate::server::client::Client;
use crate::shard::keyspace::{Keyspace, Slot};
use crate::shard::ops::{OpResult, ShardOp};
use crate::shard::value::Value;
use crate::shard::{join_all, shard_of};
use crate::util::numbers::{format_long_double, parse_f64, parse_i64, write_i64};

/// Longest string APPEND and SETRANGE may build, and the LCS work-table limit: Redis's
/// default `proto-max-bulk-len` (512 MB). Shard handlers do not see the configuration, so
/// this is the default rather than the configured value; the configured value still
/// limits what a client can send in one argument.
pub(crate) const MAX_STRING_LEN: u64 = 512 * 1024 * 1024;

/// The bytes of a string value; any other type is WRONGTYPE.
#[inline]
fn str_ref(v: &Value) -> Result<&[u8], CmdError> {
    match v {
        Value::Str(s) => Ok(s),
        #[allow(unreachable_patterns)]
        _ => Err(CmdError::WrongType),
    }
}

/// The buffer of a string value, for in-place edits; any other type is WRONGTYPE.
#[inline]
fn str_mut(v: &mut Value) -> Result<&mut Vec<u8>, CmdError> {
    match v {
        Value::Str(s) => Ok(s),
        #[allow(unreachable_patterns)]
        _ => Err(CmdError::WrongType),
    }
}

/// Replaces a value with the string `bytes`, reusing the old string's buffer when it is
/// big enough but not wastefully big, so overwriting a key usually allocates nothing.
#[inline]
fn overwrite(v: &mut Value, bytes: &[u8]) {
    match v {
        Value::Str(s) if s.capacity() >= bytes.len() && s.capacity() <= bytes.len() * 2 + 32 => {
            s.clear();
            s.extend_from_slice(bytes);
        }
        #[allow(unreachable_patterns)]
        _ => *v = Value::Str(bytes.to_vec()),
    }
}

/// Stores `bytes` at `key` whatever was there, clearing any TTL (plain SET, MSET).
fn store(ks: &mut Keyspace, key: &[u8], bytes: &[u8], now: u64) -> Slot {
    match ks.lookup(key, now) {
        Some(slot) => {
            ks.modify_expiring(slot, Some(None), |v| overwrite(v, bytes));
            slot
        }
        None => ks.insert_new(key, Value::Str(bytes.to_vec()), now),
    }
}

/// Whether a string of `size` bytes may grow by `extra` bytes (Redis's limit on strings
/// built by APPEND and SETRANGE; overflow counts as too big).
fn check_len(size: u64, extra: u64) -> CmdResult {
    match size.checked_add(extra) {
        Some(total) if total <= MAX_STRING_LEN => Ok(()),
        _ => Err(CmdError::msg(
            "ERR string exceeds maximum allowed size (proto-max-bulk-len)",
        )),
    }
}

/// # Format
/// `GET key`
fn get(ctx: &mut ShardCtx<'_>, argv: &Argv<'_>) -> CmdResult {
    // Look up first, then write: the reply buffer and the keyspace are borrowed apart.
    let now = ctx.now_ms;
    let ks = &mut ctx.dbs[ctx.db];
    match ks.lookup_read(argv.get(1), now) {
        None => ctx.out.null(),
        Some(slot) => ctx.out.bulk(str_ref(&ks.entry(slot).value)?),
    }
    Ok(())
}

/// Expiry options shared by SET and GETEX.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ExpireOpt {
    /// No option: SET clears any TTL, GETEX leaves it.
    None,
    /// Absolute Unix ms.
    At(u64),
    /// SET: keep the current TTL.
    KeepTtl,
    /// GETEX: remove the TTL.
    Persist,
}

/// Parses the value of EX/PX/EXAT/PXAT into an absolute Unix ms time. `cmd` names the
/// command in the error, as Redis does (`invalid expire time in 'set' command`).
pub(crate) fn expire_at(
    unit_ms: bool,
    absolute: bool,
    arg: &[u8],
    now_ms: u64,
    cmd: &str,
) -> Result<u64, CmdError> {
    let invalid = || CmdError::msg(format!("ERR invalid expire time in '{cmd}' command"));
    let v = int_arg(arg)?;
    if v <= 0 {
        return Err(invalid());
    }
    let ms = if unit_ms {
        v
    } else {
        v.checked_mul(1000).ok_or_else(invalid)?
    };
    let at = if absolute {
        ms
    } else {
        ms.checked_add(now_ms as i64).ok_or_else(invalid)?
    };
    Ok(at as u64)
}

/// Which of EX/PX/EXAT/PXAT was given.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum TimeKind {
    Ex,
    Px,
    ExAt,
    PxAt,
}

impl TimeKind {
    fn parse(a: &[u8]) -> Option<TimeKind> {
        if is(a, "EX") {
            Some(TimeKind::Ex)
        } else if is(a, "PX") {
            Some(TimeKind::Px)
        } else if is(a, "EXAT") {
            Some(TimeKind::ExAt)
        } else if is(a, "PXAT") {
            Some(TimeKind::PxAt)
        } else {
            None
        }
    }
    fn unit_ms(self) -> bool {
        matches!(self, TimeKind::Px | TimeKind::PxAt)
    }
    fn absolute(self) -> bool {
        matches!(self, TimeKind::ExAt | TimeKind::PxAt)
    }
}

/// The options of SET (`for_set`) or GETEX, syntax-checked but with the time value not
/// yet interpreted: Redis reports syntax errors before it looks at the time.
#[derive(Debug, Default, PartialEq, Eq)]
struct StrOpts<'a> {
    nx: bool,
    xx: bool,
    get: bool,
    keepttl: bool,
    persist: bool,
    time: Option<(TimeKind, &'a [u8])>,
}

impl<'a> StrOpts<'a> {
    /// Redis's rules: NX and XX exclude each other; KEEPTTL, PERSIST and the four time
    /// options exclude each other, but repeating the same one is allowed (for a time
    /// option the last value wins). NX, XX, GET and KEEPTTL belong to SET only, PERSIST
    /// to GETEX only.
    fn parse(argv: &Argv<'a>, from: usize, for_set: bool) -> Result<StrOpts<'a>, CmdError> {
        let mut o = StrOpts::default();
        let mut i = from;
        while i < argv.len() {
            let a = argv.get(i);
            let has_next = i + 1 < argv.len();
            let kind = TimeKind::parse(a);
            if for_set && is(a, "NX") && !o.xx {
                o.nx = true;
            } else if for_set && is(a, "XX") && !o.nx {
                o.xx = true;
            } else if for_set && is(a, "GET") {
                o.get = true;
            } else if for_set && is(a, "KEEPTTL") && o.time.is_none() {
                o.keepttl = true;
            } else if !for_set && is(a, "PERSIST") && o.time.is_none() {
                o.persist = true;
            } else if let Some(k) = kind.filter(|&k| {
                has_next && !o.keepttl && !o.persist && o.time.is_none_or(|(prev, _)| prev == k)
            }) {
                o.time = Some((k, argv.get(i + 1)));
                i += 1;
            } else {
                return Err(CmdError::Syntax);
            }
            i += 1;
        }
        Ok(o)
    }

    /// The expiry these options ask for, with the time value checked.
    fn expire(&self, now_ms: u64, cmd: &str) -> Result<ExpireOpt, CmdError> {
        Ok(match self.time {
            Some((k, arg)) => {
                ExpireOpt::At(expire_at(k.unit_ms(), k.absolute(), arg, now_ms, cmd)?)
            }
            None if self.keepttl => ExpireOpt::KeepTtl,
            None if self.persist => ExpireOpt::Persist,
            None => ExpireOpt::None,
        })
    }
}

/// Only-if condition of a SET.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Cond {
    Always,
    /// NX: only if the key does not exist.
    Absent,
    /// XX: only if it exists.
    Present,
}

/// The common core of SET, SETNX, SETEX and PSETEX. With `get`, writes the old value (or
/// nil) as the reply, failing with WRONGTYPE first if it is not a string. Returns whether
/// the value was stored; the caller writes the reply otherwise.
fn set_generic(
    ctx: &mut ShardCtx<'_>,
    key: &[u8],
    bytes: &[u8],
    cond: Cond,
    expire: ExpireOpt,
    get: bool,
) -> Result<bool, CmdError> {
    let now = ctx.now_ms;
    let ks = &mut ctx.dbs[ctx.db];
    let existing = if get {
        ks.lookup_read(key, now)
    } else {
        ks.lookup(key, now)
    };
    if get {
        match existing {
            None => ctx.out.null(),
            Some(slot) => ctx.out.bulk(str_ref(&ks.entry(slot).value)?),
        }
    }
    let blocked = match cond {
        Cond::Always => false,
        Cond::Absent => existing.is_some(),
        Cond::Present => existing.is_none(),
    };
    if blocked {
        return Ok(false);
    }
    if let ExpireOpt::At(at) = expire {
        if at <= now {
            // An absolute time already past: the key is set and expires at once, which
            // leaves nothing behind.
            if let Some(slot) = existing {
                ks.remove_slot(slot);
            }
            return Ok(true);
        }
    }
    // Value and expiry change together, as one journal record.
    let expire_at = match expire {
        ExpireOpt::At(at) => Some(Some(at)),
        ExpireOpt::KeepTtl => None,
        ExpireOpt::None | ExpireOpt::Persist => Some(None),
    };
    match existing {
        Some(slot) => ks.modify_expiring(slot, expire_at, |v| overwrite(v, bytes)),
        None => {
            ks.insert_new_expiring(key, Value::Str(bytes.to_vec()), expire_at.flatten(), now);
        }
    }
    Ok(true)
}

/// # Format
/// `SET key value [NX | XX] [GET] [EX seconds | PX milliseconds |
///  EXAT unix-time-seconds | PXAT unix-time-milliseconds | KEEPTTL]`
fn set(ctx: &mut ShardCtx<'_>, argv: &Argv<'_>) -> CmdResult {
    let opts = StrOpts::parse(argv, 3, true)?;
    let expire = opts.expire(ctx.now_ms, "set")?;
    let cond = match (opts.nx, opts.xx) {
        (true, _) => Cond::Absent,
        (_, true) => Cond::Present,
        _ => Cond::Always,
    };
    let stored = set_generic(ctx, argv.get(1), argv.get(2), cond, expire, opts.get)?;
    if !opts.get {
        if stored {
            ctx.out.ok();
        } else {
            ctx.out.null();
        }
    }
    Ok(())
}

/// # Format
/// `SETNX key value`
fn setnx(ctx: &mut ShardCtx<'_>, argv: &Argv<'_>) -> CmdResult {
    let stored = set_generic(
        ctx,
        argv.get(1),
        argv.get(2),
        Cond::Absent,
        ExpireOpt::None,
        false,
    )?;
    ctx.out.int(stored as i64);
    Ok(())
}

/// # Format
/// `SETEX key seconds value`
fn setex(ctx: &mut ShardCtx<'_>, argv: &Argv<'_>) -> CmdResult {
    set_with_ttl(ctx, argv, false, "setex")
}

/// # Format
/// `PSETEX key milliseconds value`
fn psetex(ctx: &mut ShardCtx<'_>, argv: &Argv<'_>) -> CmdResult {
    set_with_ttl(ctx, argv, true, "psetex")
}

/// SETEX and PSETEX: `key ttl value`, the TTL in seconds or milliseconds.
fn set_with_ttl(ctx: &mut ShardCtx<'_>, argv: &Argv<'_>, unit_ms: bool, cmd: &str) -> CmdResult {
    let at = expire_at(unit_ms, false, argv.get(2), ctx.now_ms, cmd)?;
    set_generic(
        ctx,
        argv.get(1),
        argv.get(3),
        Cond::Always,
        ExpireOpt::At(at),
        false,
    )?;
    ctx.out.ok();
    Ok(())
}

/// # Format
/// `GETSET key value` — sets the value, clearing any TTL, and replies the old one.
fn getset(ctx: &mut ShardCtx<'_>, argv: &Argv<'_>) -> CmdResult {
    let now = ctx.now_ms;
    let (key, bytes) = (argv.get(1), argv.get(2));
    let ks = &mut ctx.dbs[ctx.db];
    match ks.lookup_read(key, now) {
        None => {
            ks.insert_new(key, Value::Str(bytes.to_vec()), now);
            ctx.out.null();
        }
        Some(slot) => {
            str_ref(&ks.entry(slot).value)?;
            // Swap rather than overwrite: the old value is the reply, no copy needed.
            let old = ks.replace_value(slot, Value::Str(bytes.to_vec()), Some(None));
            ctx.out.bulk(str_ref(&old)?);
        }
    }
    Ok(())
}

/// # Format
/// `GETDEL key`
fn getdel(ctx: &mut ShardCtx<'_>, argv: &Argv<'_>) -> CmdResult {
    let now = ctx.now_ms;
    let ks = &mut ctx.dbs[ctx.db];
    match ks.lookup_read(argv.get(1), now) {
        None => ctx.out.null(),
        Some(slot) => {
            str_ref(&ks.entry(slot).value)?;
            let e = ks.remove_slot(slot);
            ctx.out.bulk(str_ref(&e.value)?);
        }
    }
    Ok(())
}

/// # Format
/// `GETEX key [EX seconds | PX milliseconds | EXAT unix-time-seconds |
///  PXAT unix-time-milliseconds | PERSIST]`
fn getex(ctx: &mut ShardCtx<'_>, argv: &Argv<'_>) -> CmdResult {
    let opts = StrOpts::parse(argv, 2, false)?;
    let now = ctx.now_ms;
    let ks = &mut ctx.dbs[ctx.db];
    // Redis checks, in order: syntax, existence (a missing key is nil even with a bad
    // time), type, then the time value.
    let Some(slot) = ks.lookup_read(argv.get(1), now) else {
        ctx.out.null();
        return Ok(());
    };
    str_ref(&ks.entry(slot).value)?;
    let expire = opts.expire(now, "getex")?;
    ctx.out.bulk(str_ref(&ks.entry(slot).value)?);
    match expire {
        // Only EXAT/PXAT can be in the past (relative times are at least 1 ms ahead).
        ExpireOpt::At(at) if at <= now => {
            ks.remove_slot(slot);
        }
        ExpireOpt::At(at) => ks.set_expire(slot, Some(at)),
        ExpireOpt::Persist => ks.set_expire(slot, None),
        ExpireOpt::None | ExpireOpt::KeepTtl => {}
    }
    Ok(())
}

/// # Format
/// `MGET key [key ...]`
fn mget(ctx: &mut ShardCtx<'_>, argv: &Argv<'_>) -> CmdResult {
    let now = ctx.now_ms;
    ctx.out.array(argv.len() - 1);
    for key in argv.iter().skip(1) {
        let ks = &mut ctx.dbs[ctx.db];
        // MGET reports keys of other types as missing rather than failing.
        match ks
            .lookup_read(key, now)
            .map(|s| str_ref(&ks.entry(s).value))
        {
            Some(Ok(s)) => ctx.out.bulk(s),
            _ => ctx.out.null(),
        }
    }
    Ok(())
}

/// # Format
/// `MSET key value [key value ...]`
fn mset(ctx: &mut ShardCtx<'_>, argv: &Argv<'_>) -> CmdResult {
    let now = ctx.now_ms;
    let ks = ctx.ks();
    for i in (1..argv.len()).step_by(2) {
        store(ks, argv.get(i), argv.get(i + 1), now);
    }
    ctx.out.ok();
    Ok(())
}

/// # Format
/// `MSETNX key value [key value ...]` — when every key lives on this shard (atomic).
fn msetnx(ctx: &mut ShardCtx<'_>, argv: &Argv<'_>) -> CmdResult {
    let now = ctx.now_ms;
    let ks = ctx.ks();
    let any = (1..argv.len())
        .step_by(2)
        .any(|i| ks.find_live(argv.get(i), now).is_some());
    if !any {
        for i in (1..argv.len()).step_by(2) {
            store(ks, argv.get(i), argv.get(i + 1), now);
        }
    }
    ctx.out.int(!any as i64);
    Ok(())
}

/// # Format
/// `APPEND key value`
fn append(ctx: &mut ShardCtx<'_>, argv: &Argv<'_>) -> CmdResult {
    let now = ctx.now_ms;
    let (key, tail) = (argv.get(1), argv.get(2));
    let ks = &mut ctx.dbs[ctx.db];
    let len = match ks.lookup(key, now) {
        // Appending to nothing creates the key, even with an empty value.
        None => {
            ks.insert_new(key, Value::Str(tail.to_vec()), now);
            tail.len()
        }
        Some(slot) => ks.modify(slot, |v| {
            let s = str_mut(v)?;
            check_len(s.len() as u64, tail.len() as u64)?;
            s.extend_from_slice(tail);
            Ok::<_, CmdError>(s.len())
        })?,
    };
    ctx.out.int(len as i64);
    Ok(())
}

/// # Format
/// `STRLEN key`
fn strlen(ctx: &mut ShardCtx<'_>, argv: &Argv<'_>) -> CmdResult {
    let now = ctx.now_ms;
    let ks = &mut ctx.dbs[ctx.db];
    let len = match ks.lookup_read(argv.get(1), now) {
        None => 0,
        Some(slot) => str_ref(&ks.entry(slot).value)?.len(),
    };
    ctx.out.int(len as i64);
    Ok(())
}

/// The byte range GETRANGE returns for a string of `len` bytes, with Redis's rules:
/// negative indexes count from the end; both ends are clamped into the string; a range
/// given by two negative indexes the wrong way round is empty, and so is any range whose
/// start ends up after its end.
fn substring_range(len: usize, start: i64, end: i64) -> Option<std::ops::Range<usize>> {
    if start < 0 && end < 0 && start > end {
        return None;
    }
    let len = len as i64;
    // len >= 0 and the index < 0, so these sums cannot overflow.
    let start = if start < 0 {
        (len + start).max(0)
    } else {
        start
    };
    let end = if end < 0 { (len + end).max(0) } else { end };
    let end = end.min(len - 1);
    if len == 0 || start > end {
        return None;
    }
    Some(start as usize..end as usize + 1)
}

/// # Format
/// `GETRANGE key start end` (also `SUBSTR key start end`)
fn getrange(ctx: &mut ShardCtx<'_>, argv: &Argv<'_>) -> CmdResult {
    let start = int_arg(argv.get(2))?;
    let end = int_arg(argv.get(3))?;
    let now = ctx.now_ms;
    let ks = &mut ctx.dbs[ctx.db];
    let Some(slot) = ks.lookup_read(argv.get(1), now) else {
        ctx.out.bulk(b"");
        return Ok(());
    };
    let s = str_ref(&ks.entry(slot).value)?;
    match substring_range(s.len(), start, end) {
        Some(r) => ctx.out.bulk(&s[r]),
        None => ctx.out.bulk(b""),
    }
    Ok(())
}

/// # Format
/// `SETRANGE key offset value`
fn setrange(ctx: &mut ShardCtx<'_>, argv: &Argv<'_>) -> CmdResult {
    let offset = int_arg(argv.get(2))?;
    if offset < 0 {
        return Err(CmdError::msg("ERR offset is out of range"));
    }
    let offset = offset as u64;
    let patch = argv.get(3);
    let now = ctx.now_ms;
    let key = argv.get(1);
    let ks = &mut ctx.dbs[ctx.db];
    let len = match ks.lookup(key, now) {
        None => {
            // Writing nothing to a missing key creates nothing.
            if patch.is_empty() {
                ctx.out.int(0);
                return Ok(());
            }
            check_len(offset, patch.len() as u64)?;
            let mut s = vec![0u8; offset as usize + patch.len()];
            s[offset as usize..].copy_from_slice(patch);
            let len = s.len();
            ks.insert_new(key, Value::Str(s), now);
            len
        }
        Some(slot) => ks.modify(slot, |v| {
            let s = str_mut(v)?;
            if patch.is_empty() {
                return Ok(s.len());
            }
            check_len(offset, patch.len() as u64)?;
            let (from, to) = (offset as usize, offset as usize + patch.len());
            if s.len() < to {
                // The gap between the old end and the offset is zero bytes.
                s.resize(to, 0);
            }
            s[from..to].copy_from_slice(patch);
            Ok::<_, CmdError>(s.len())
        })?,
    };
    ctx.out.int(len as i64);
    Ok(())
}

/// Adds `delta` to the integer at `key` (0 when missing), keeping its TTL.
fn incr_by(ctx: &mut ShardCtx<'_>, key: &[u8], delta: i64) -> CmdResult {
    let now = ctx.now_ms;
    let ks = &mut ctx.dbs[ctx.db];
    let value = match ks.lookup(key, now) {
        None => {
            let mut s = Vec::with_capacity(20);
            write_i64(delta, &mut s);
            ks.insert_new(key, Value::Str(s), now);
            delta
        }
        Some(slot) => ks.modify(slot, |v| {
            let s = str_mut(v)?;
            let old = parse_i64(s).ok_or(CmdError::NotInteger)?;
            let new = old.checked_add(delta).ok_or(CmdError::Overflow)?;
            // Rewrite in place: an integer's digits fit the buffer they were parsed from
            // or nearly so.
            s.clear();
            write_i64(new, s);
            Ok::<_, CmdError>(new)
        })?,
    };
    ctx.out.int(value);
    Ok(())
}

/// # Format
/// `INCR key`
fn incr(ctx: &mut ShardCtx<'_>, argv: &Argv<'_>) -> CmdResult {
    incr_by(ctx, argv.get(1), 1)
}

/// # Format
/// `DECR key`
fn decr(ctx: &mut ShardCtx<'_>, argv: &Argv<'_>) -> CmdResult {
    incr_by(ctx, argv.get(1), -1)
}

/// # Format
/// `INCRBY key increment`
fn incrby(ctx: &mut ShardCtx<'_>, argv: &Argv<'_>) -> CmdResult {
    let delta = int_arg(argv.get(2))?;
    incr_by(ctx, argv.get(1), delta)
}

/// # Format
/// `DECRBY key decrement`
fn decrby(ctx: &mut ShardCtx<'_>, argv: &Argv<'_>) -> CmdResult {
    let delta = int_arg(argv.get(2))?;
    // i64::MIN has no negation; Redis words this case differently from other overflows.
    let delta = delta
        .checked_neg()
        .ok_or_else(|| CmdError::msg("ERR decrement would overflow"))?;
    incr_by(ctx, argv.get(1), delta)
}

/// # Format
/// `INCRBYFLOAT key increment`
fn incrbyfloat(ctx: &mut ShardCtx<'_>, argv: &Argv<'_>) -> CmdResult {
    let now = ctx.now_ms;
    let (key, arg) = (argv.get(1), argv.get(2));
    let ks = &mut ctx.dbs[ctx.db];
    // Redis checks the type, then the stored value, then the increment.
    let sum = |old: f64| -> Result<f64, CmdError> {
        let r = old + float_arg(arg)?;
        if r.is_finite() {
            Ok(r)
        } else {
            Err(CmdError::IncrNanOrInf)
        }
    };
    let slot = match ks.lookup(key, now) {
        None => {
            let mut s = Vec::with_capacity(24);
            format_long_double(sum(0.0)?, &mut s);
            ks.insert_new(key, Value::Str(s), now)
        }
        Some(slot) => {
            ks.modify(slot, |v| {
                let s = str_mut(v)?;
                let new = sum(parse_f64(s).ok_or(CmdError::NotFloat)?)?;
                s.clear();
                format_long_double(new, s);
                Ok::<_, CmdError>(())
            })?;
            slot
        }
    };
    ctx.out.bulk(str_ref(&ks.entry(slot).value)?);
    Ok(())
}

/// LCS options.
#[derive(Debug, Default, PartialEq, Eq)]
struct LcsOpts {
    len: bool,
    idx: bool,
    with_match_len: bool,
    min_match_len: usize,
}

impl LcsOpts {
    fn parse<'a>(args: impl Iterator<Item = &'a [u8]>) -> Result<LcsOpts, CmdError> {
        let mut o = LcsOpts::default();
        let mut args = args.peekable();
        while let Some(a) = args.next() {
            if is(a, "IDX") {
                o.idx = true;
            } else if is(a, "LEN") {
                o.len = true;
            } else if is(a, "WITHMATCHLEN") {
                o.with_match_len = true;
            } else if is(a, "MINMATCHLEN") && args.peek().is_some() {
                let n = int_arg(args.next().expect("peeked"))?;
                o.min_match_len = n.max(0) as usize;
            } else {
                return Err(CmdError::Syntax);
            }
        }
        if o.idx && o.len {
            return Err(CmdError::msg(
                "ERR If you want both the length and indexes, please just use IDX.",
            ));
        }
        Ok(o)
    }
}

/// Replies the longest common subsequence of `a` and `b` per `opts`: the subsequence
/// itself, its length (LEN), or the matched ranges (IDX), reported from the end of the
/// strings towards their start as Redis reports them.
fn lcs_reply(a: &[u8], b: &[u8], opts: &LcsOpts, out: &mut ReplyBuf) -> CmdResult {
    if a.len() >= u32::MAX as usize - 1 || b.len() >= u32::MAX as usize - 1 {
        return Err(CmdError::msg("ERR String too long for LCS"));
    }
    let (rows, cols) = (a.len() + 1, b.len() + 1);
    // The table holds u32 lengths, as in Redis, so the same inputs hit the same limit.
    let cells = (rows as u64) * (cols as u64);
    if cells.saturating_mul(4) > MAX_STRING_LEN {
        return Err(CmdError::msg(
            "ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len",
        ));
    }
    // table[i * cols + j] = LCS length of a[..i] and b[..j].
    let mut table = vec![0u32; rows * cols];
    for i in 1..rows {
        for j in 1..cols {
            table[i * cols + j] = if a[i - 1] == b[j - 1] {
                table[(i - 1) * cols + j - 1] + 1
            } else {
                table[(i - 1) * cols + j].max(table[i * cols + j - 1])
            };
        }
    }
    let total = table[rows * cols - 1];
    if opts.len {
        out.int(total as i64);
        return Ok(());
    }
    // Walk back from the end. On a match step diagonally; otherwise towards the larger
    // neighbour, preferring to drop from `b` on ties. Consecutive diagonal steps form one
    // matched range.
    let mut subseq = vec![0u8; total as usize];
    let mut ranges: Vec<(usize, usize, usize, usize)> = Vec::new(); // a_start, a_end, b_start, b_end
    let mut open: Option<(usize, usize, usize, usize)> = None;
    let (mut i, mut j, mut k) = (a.len(), b.len(), total as usize);
    while i > 0 && j > 0 {
        if a[i - 1] == b[j - 1] {
            k -= 1;
            subseq[k] = a[i - 1];
            open = Some(match open {
                Some((_, ae, _, be)) => (i - 1, ae, j - 1, be),
                None => (i - 1, i - 1, j - 1, j - 1),
            });
            i -= 1;
            j -= 1;
        } else {
            if table[(i - 1) * cols + j] > table[i * cols + j - 1] {
                i -= 1;
            } else {
                j -= 1;
            }
            ranges.extend(open.take());
        }
    }
    ranges.extend(open.take());
    if !opts.idx {
        out.bulk(&subseq);
        return Ok(());
    }
    let shown: Vec<_> = ranges
        .iter()
        .filter(|r| r.1 - r.0 + 1 >= opts.min_match_len)
        .collect();
    out.map(2);
    out.bulk(b"matches");
    out.array(shown.len());
    for &&(a0, a1, b0, b1) in &shown {
        out.array(2 + opts.with_match_len as usize);
        out.array(2);
        out.int(a0 as i64);
        out.int(a1 as i64);
        out.array(2);
        out.int(b0 as i64);
        out.int(b1 as i64);
        if opts.with_match_len {
            out.int((a1 - a0 + 1) as i64);
        }
    }
    out.bulk(b"len");
    out.int(total as i64);
    Ok(())
}

const LCS_WRONG_TYPE: &str = "ERR The specified keys must contain string values";

/// # Format
/// `LCS key1 key2 [LEN] [IDX] [MINMATCHLEN min-match-len] [WITHMATCHLEN]`
fn lcs(ctx: &mut ShardCtx<'_>, argv: &Argv<'_>) -> CmdResult {
    let now = ctx.now_ms;
    let ks = &mut ctx.dbs[ctx.db];
    let sa = ks.lookup_read(argv.get(1), now);
    let sb = ks.lookup_read(argv.get(2), now);
    let value = |slot: Option<Slot>| match slot {
        None => Ok(&[][..]),
        Some(s) => str_ref(&ks.entry(s).value).map_err(|_| CmdError::msg(LCS_WRONG_TYPE)),
    };
    let (a, b) = (value(sa)?, value(sb)?);
    let opts = LcsOpts::parse(argv.iter().skip(3))?;
    lcs_reply(a, b, &opts, ctx.out)
}

/// LCS whose two keys live on different shards: copy both values here and compare.
fn lcs_cross<'a>(
    c: &'a mut Client,
    args: OwnedArgs,
    out: &'a mut ReplyBuf,
) -> LocalBoxFuture<'a, CmdResult> {
    Box::pin(async move {
        let db = c.db;
        let shard = c.shard.clone();
        let n = shard.nshards;
        let peeks: Vec<_> = args[1..3]
            .iter()
            .map(|k| shard.op(shard_of(k, n), ShardOp::Peek { db, key: k.clone() }))
            .collect();
        let mut values = Vec::with_capacity(2);
        for r in join_all(peeks).await {
            values.push(match r {
                OpResult::Value(None) => Value::Str(Vec::new()),
                OpResult::Value(Some((v, _))) => v,
                OpResult::Error(e) => return Err(CmdError::msg(e)),
                _ => return Err(CmdError::msg("ERR internal error: unexpected shard reply")),
            });
        }
        let wrong = |_| CmdError::msg(LCS_WRONG_TYPE);
        let (a, b) = (
            str_ref(&values[0]).map_err(wrong)?,
            str_ref(&values[1]).map_err(wrong)?,
        );
        let opts = LcsOpts::parse(args[3..].iter().map(Vec::as_slice))?;
        lcs_reply(a, b, &opts, out)
    })
}

#[rustfmt::skip]
pub fn commands() -> Vec<CommandSpec> {
    let one = (1, 1, 1);
    let str_complexity = "O(N) where N is the length of the returned string. The complexity is ultimately determined by the returned length, but because creating a substring from an existing string is very cheap, it can be considered O(1) for small strings.";
    vec![
        spec("get", 2, READONLY | FAST, one, "string", "1.0.0", "Returns the string value of a key.", "O(1)", Run::Shard(get), Cross::No),
        spec("set", -3, WRITE | DENYOOM, one, "string", "1.0.0", "Sets the string value of a key, ignoring its type. The key is created if it doesn't exist.", "O(1)", Run::Shard(set), Cross::No),
        spec("setnx", 3, WRITE | DENYOOM | FAST, one, "string", "1.0.0", "Set the string value of a key only when the key doesn't exist.", "O(1)", Run::Shard(setnx), Cross::No),
        spec("setex", 4, WRITE | DENYOOM, one, "string", "2.0.0", "Sets the string value and expiration time of a key. Creates the key if it doesn't exist.", "O(1)", Run::Shard(setex), Cross::No),
        spec("psetex", 4, WRITE | DENYOOM, one, "string", "2.6.0", "Sets both string value and expiration time in milliseconds of a key. The key is created if it doesn't exist.", "O(1)", Run::Shard(psetex), Cross::No),
        spec("getset", 3, WRITE | DENYOOM | FAST, one, "string", "1.0.0", "Returns the previous string value of a key after setting it to a new value.", "O(1)", Run::Shard(getset), Cross::No),
        spec("getdel", 2, WRITE | FAST, one, "string", "6.2.0", "Returns the string value of a key after deleting the key.", "O(1)", Run::Shard(getdel), Cross::No),
        spec("getex", -2, WRITE | FAST, one, "string", "6.2.0", "Returns the string value of a key after setting its expiration time.", "O(1)", Run::Shard(getex), Cross::No),
        spec("mget", -2, READONLY | FAST, (1, -1, 1), "string", "1.0.0", "Atomically returns the string values of one or more keys.", "O(N) where N is the number of keys to retrieve.", Run::Shard(mget), Cross::Interleave),
        spec("mset", -3, WRITE | DENYOOM, (1, -1, 2), "string", "1.0.1", "Atomically creates or modifies the string values of one or more keys.", "O(N) where N is the number of keys to set.", Run::Shard(mset), Cross::AllOk),
        spec("msetnx", -3, WRITE | DENYOOM, (1, -1, 2), "string", "1.0.1", "Atomically modifies the string values of one or more keys only when all keys don't exist.", "O(N) where N is the number of keys to set.", Run::Shard(msetnx), Cross::No),
        spec("append", 3, WRITE | DENYOOM | FAST, one, "string", "2.0.0", "Appends a string to the value of a key. Creates the key if it doesn't exist.", "O(1). The amortized time complexity is O(1) assuming the appended value is small and the already present value is of any size, since the dynamic string library used by Redis will double the free space available on every reallocation.", Run::Shard(append), Cross::No),
        spec("strlen", 2, READONLY | FAST, one, "string", "2.2.0", "Returns the length of a string value.", "O(1)", Run::Shard(strlen), Cross::No),
        spec("getrange", 4, READONLY, one, "string", "2.4.0", "Returns a substring of the string stored at a key.", str_complexity, Run::Shard(getrange), Cross::No),
        spec("substr", 4, READONLY, one, "string", "1.0.0", "Returns a substring from a string value.", str_complexity, Run::Shard(getrange), Cross::No),
        spec("setrange", 4, WRITE | DENYOOM, one, "string", "2.2.0", "Overwrites a part of a string value with another by an offset. Creates the key if it doesn't exist.", "O(1), not counting the time taken to copy the new string in place. Usually, this string is very small so the amortized complexity is O(1). Otherwise, complexity is O(M) with M being the length of the value argument.", Run::Shard(setrange), Cross::No),
        spec("incr", 2, WRITE | DENYOOM | FAST, one, "string", "1.0.0", "Increments the integer value of a key by one. Uses 0 as initial value if the key doesn't exist.", "O(1)", Run::Shard(incr), Cross::No),
        spec("decr", 2, WRITE | DENYOOM | FAST, one, "string", "1.0.0", "Decrements the integer value of a key by one. Uses 0 as initial value if the key doesn't exist.", "O(1)", Run::Shard(decr), Cross::No),
        spec("incrby", 3, WRITE | DENYOOM | FAST, one, "string", "1.0.0", "Increments the integer value of a key by a number. Uses 0 as initial value if the key doesn't exist.", "O(1)", Run::Shard(incrby), Cross::No),
        spec("decrby", 3, WRITE | DENYOOM | FAST, one, "string", "1.0.0", "Decrements a number from the integer value of a key. Uses 0 as initial value if the key doesn't exist.", "O(1)", Run::Shard(decrby), Cross::No),
        spec("incrbyfloat", 3, WRITE | DENYOOM | FAST, one, "string", "2.6.0", "Increment the floating point value of a key by a number. Uses 0 as initial value if the key doesn't exist.", "O(1)", Run::Shard(incrbyfloat), Cross::No),
        spec("lcs", -3, READONLY, (1, 2, 1), "string", "7.0.0", "Finds the longest common substring.", "O(N*M) where N and M are the lengths of s1 and s2, respectively", Run::Shard(lcs), Cross::Coord(lcs_cross)),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{PackedArgs, Protocol};

    fn packed(args: &[&str]) -> PackedArgs {
        let mut p = PackedArgs::new();
        p.push(args.iter().map(|a| a.as_bytes()));
        p
    }

    /// NX, XX, GET, KEEPTTL and the time option of a parsed SET.
    type SetFlags = (bool, bool, bool, bool, Option<(TimeKind, Vec<u8>)>);

    fn set_opts(args: &[&str]) -> Result<SetFlags, CmdError> {
        let mut all = vec!["SET", "k", "v"];
        all.extend_from_slice(args);
        let p = packed(&all);
        let o = StrOpts::parse(&p.get(0), 3, true)?;
        Ok((
            o.nx,
            o.xx,
            o.get,
            o.keepttl,
            o.time.map(|(k, v)| (k, v.to_vec())),
        ))
    }

    fn getex_opts(args: &[&str]) -> Result<(bool, Option<TimeKind>), CmdError> {
        let mut all = vec!["GETEX", "k"];
        all.extend_from_slice(args);
        let p = packed(&all);
        let o = StrOpts::parse(&p.get(0), 2, false)?;
        Ok((o.persist, o.time.map(|(k, _)| k)))
    }

    #[test]
    fn set_option_rules() {
        assert_eq!(set_opts(&[]).unwrap(), (false, false, false, false, None));
        assert_eq!(
            set_opts(&["nx", "GET"]).unwrap(),
            (true, false, true, false, None)
        );
        assert_eq!(
            set_opts(&["XX", "xx"]).unwrap(),
            (false, true, false, false, None)
        );
        assert_eq!(set_opts(&["NX", "XX"]), Err(CmdError::Syntax));
        assert_eq!(
            set_opts(&["KEEPTTL", "keepttl"]).unwrap(),
            (false, false, false, true, None)
        );
        // The same time option twice: the last value wins.
        assert_eq!(
            set_opts(&["EX", "1", "ex", "2"]).unwrap().4,
            Some((TimeKind::Ex, b"2".to_vec()))
        );
        assert_eq!(set_opts(&["EX", "1", "PX", "2"]), Err(CmdError::Syntax));
        assert_eq!(set_opts(&["EXAT", "1", "PXAT", "2"]), Err(CmdError::Syntax));
        assert_eq!(set_opts(&["EX", "1", "KEEPTTL"]), Err(CmdError::Syntax));
        assert_eq!(set_opts(&["KEEPTTL", "PX", "1"]), Err(CmdError::Syntax));
        assert_eq!(set_opts(&["EX"]), Err(CmdError::Syntax));
        assert_eq!(set_opts(&["PERSIST"]), Err(CmdError::Syntax));
        assert_eq!(set_opts(&["FOO"]), Err(CmdError::Syntax));
        // The time value is not looked at while parsing.
        assert_eq!(
            set_opts(&["PXAT", "abc"]).unwrap().4,
            Some((TimeKind::PxAt, b"abc".to_vec()))
        );
    }

    #[test]
    fn getex_option_rules() {
        assert_eq!(getex_opts(&[]).unwrap(), (false, None));
        assert_eq!(getex_opts(&["persist", "PERSIST"]).unwrap(), (true, None));
        assert_eq!(
            getex_opts(&["EXAT", "5"]).unwrap(),
            (false, Some(TimeKind::ExAt))
        );
        assert_eq!(getex_opts(&["PERSIST", "EX", "1"]), Err(CmdError::Syntax));
        assert_eq!(getex_opts(&["EX", "1", "PERSIST"]), Err(CmdError::Syntax));
        for opt in ["NX", "XX", "GET", "KEEPTTL"] {
            assert_eq!(getex_opts(&[opt]), Err(CmdError::Syntax), "{opt}");
        }
    }

    #[test]
    fn expire_times() {
        let now = 1_000_000;
        assert_eq!(expire_at(false, false, b"10", now, "set"), Ok(now + 10_000));
        assert_eq!(expire_at(true, false, b"10", now, "set"), Ok(now + 10));
        assert_eq!(expire_at(false, true, b"10", now, "set"), Ok(10_000));
        assert_eq!(expire_at(true, true, b"10", now, "set"), Ok(10));
        let invalid = Err(CmdError::msg("ERR invalid expire time in 'getex' command"));
        for bad in ["0", "-1", "9223372036854775807"] {
            assert_eq!(
                expire_at(false, false, bad.as_bytes(), now, "getex"),
                invalid,
                "{bad}"
            );
        }
        assert_eq!(
            expire_at(true, false, b"9223372036854775807", now, "getex"),
            invalid
        );
        assert_eq!(
            expire_at(true, true, b"9223372036854775807", now, "set"),
            Ok(i64::MAX as u64)
        );
        assert_eq!(
            expire_at(false, false, b"x", now, "set"),
            Err(CmdError::NotInteger)
        );
    }

    #[test]
    fn substring_ranges() {
        let r = |len, s, e| substring_range(len, s, e);
        assert_eq!(r(5, 0, -1), Some(0..5));
        assert_eq!(r(5, -3, -1), Some(2..5));
        assert_eq!(r(5, 0, -100), Some(0..1));
        assert_eq!(r(5, -100, -200), None);
        assert_eq!(r(5, -1, -3), None);
        assert_eq!(r(5, 5, 10), None);
        assert_eq!(r(5, 4, 100), Some(4..5));
        assert_eq!(r(5, 2, 1), None);
        assert_eq!(r(5, -100, 100), Some(0..5));
        assert_eq!(r(5, i64::MIN, i64::MAX), Some(0..5));
        assert_eq!(r(5, 3, i64::MIN), None);
        assert_eq!(r(0, 0, -1), None);
        assert_eq!(r(0, 0, 0), None);
    }

    #[test]
    fn check_len_limit() {
        assert!(check_len(0, MAX_STRING_LEN).is_ok());
        assert!(check_len(1, MAX_STRING_LEN).is_err());
        assert!(check_len(i64::MAX as u64, 1).is_err());
        assert!(check_len(u64::MAX, 1).is_err());
    }

    #[test]
    fn overwrite_reuses_only_snug_buffers() {
        let mut v = Value::Str(Vec::with_capacity(16));
        let before = v.as_str().unwrap().as_ptr();
        overwrite(&mut v, b"hello");
        assert_eq!(v, Value::Str(b"hello".to_vec()));
        assert_eq!(v.as_str().unwrap().as_ptr(), before);
        let mut big = Value::Str(Vec::with_capacity(4096));
        overwrite(&mut big, b"x");
        assert_eq!(big.as_str(), Some(&b"x"[..]));
        assert!(big.heap_size() < 4096);
    }

    fn lcs_out(a: &str, b: &str, opts: &[&str]) -> String {
        let o = LcsOpts::parse(opts.iter().map(|s| s.as_bytes())).unwrap();
        let mut out = ReplyBuf::new(Protocol::Resp2);
        lcs_reply(a.as_bytes(), b.as_bytes(), &o, &mut out).unwrap();
        String::from_utf8(out.buf).unwrap()
    }

    #[test]
    fn lcs_cases() {
        assert_eq!(lcs_out("ohmytext", "mynewtext", &[]), "$6\r\nmytext\r\n");
        assert_eq!(lcs_out("ohmytext", "mynewtext", &["LEN"]), ":6\r\n");
        assert_eq!(lcs_out("", "abc", &[]), "$0\r\n\r\n");
        assert_eq!(
            lcs_out("ohmytext", "mynewtext", &["IDX"]),
            "*4\r\n$7\r\nmatches\r\n*2\r\n*2\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n*2\r\n*2\r\n:2\r\n:3\r\n*2\r\n:0\r\n:1\r\n$3\r\nlen\r\n:6\r\n"
        );
        assert_eq!(
            lcs_out("ohmytext", "mynewtext", &["IDX", "MINMATCHLEN", "4", "WITHMATCHLEN"]),
            "*4\r\n$7\r\nmatches\r\n*1\r\n*3\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n:4\r\n$3\r\nlen\r\n:6\r\n"
        );
        let parse = |o: &[&str]| LcsOpts::parse(o.iter().map(|s| s.as_bytes()));
        assert_eq!(
            parse(&["IDX", "LEN"]).unwrap_err().message(),
            "ERR If you want both the length and indexes, please just use IDX."
        );
        assert_eq!(parse(&["MINMATCHLEN"]), Err(CmdError::Syntax));
        assert_eq!(parse(&["MINMATCHLEN", "x"]), Err(CmdError::NotInteger));
        assert_eq!(parse(&["MINMATCHLEN", "-5"]).unwrap().min_match_len, 0);
    }
}
