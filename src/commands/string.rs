//! String commands.

use super::util::{int_arg, is};
use super::{flags::*, spec, CmdError, CmdResult, CommandSpec, Cross, Run, ShardCtx};
use crate::protocol::Argv;
use crate::shard::value::Value;

/// # Format
/// `GET key`
fn get(ctx: &mut ShardCtx<'_>, argv: &Argv<'_>) -> CmdResult {
    // Look up first, then write: the reply buffer and the keyspace are borrowed apart.
    let now = ctx.now_ms;
    let ks = &mut ctx.dbs[ctx.db];
    match ks.lookup_read(argv.get(1), now) {
        None => ctx.out.null(),
        Some(slot) => match &ks.entry(slot).value {
            Value::Str(s) => ctx.out.bulk(s),
            #[allow(unreachable_patterns)]
            _ => return Err(CmdError::WrongType),
        },
    }
    Ok(())
}

/// Expiry options shared by SET and GETEX.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ExpireOpt {
    /// No option: SET clears any TTL.
    None,
    /// Absolute Unix ms.
    At(u64),
    KeepTtl,
}

/// Parses the value of EX/PX/EXAT/PXAT into an absolute Unix ms time.
pub(crate) fn expire_at(unit_ms: bool, absolute: bool, arg: &[u8], now_ms: u64, cmd: &str) -> Result<u64, CmdError> {
    let invalid = || CmdError::msg(format!("ERR invalid expire time in '{cmd}' command"));
    let v = int_arg(arg)?;
    if v <= 0 {
        return Err(invalid());
    }
    let ms = if unit_ms { v } else { v.checked_mul(1000).ok_or_else(invalid)? };
    let at = if absolute { ms } else { ms.checked_add(now_ms as i64).ok_or_else(invalid)? };
    Ok(at as u64)
}

/// # Format
/// `SET key value [NX | XX] [GET] [EX seconds | PX milliseconds |
///  EXAT unix-time-seconds | PXAT unix-time-milliseconds | KEEPTTL]`
fn set(ctx: &mut ShardCtx<'_>, argv: &Argv<'_>) -> CmdResult {
    let (mut nx, mut xx, mut want_get) = (false, false, false);
    let mut expire = ExpireOpt::None;
    let mut i = 3;
    while i < argv.len() {
        let a = argv.get(i);
        let has_next = i + 1 < argv.len();
        let timed = |unit_ms, absolute| -> Result<ExpireOpt, CmdError> {
            Ok(ExpireOpt::At(expire_at(unit_ms, absolute, argv.get(i + 1), ctx.now_ms, "set")?))
        };
        if is(a, "NX") && !xx {
            nx = true;
        } else if is(a, "XX") && !nx {
            xx = true;
        } else if is(a, "GET") {
            want_get = true;
        } else if is(a, "KEEPTTL") && expire == ExpireOpt::None {
            expire = ExpireOpt::KeepTtl;
        } else if expire == ExpireOpt::None
            && has_next
            && (is(a, "EX") || is(a, "PX") || is(a, "EXAT") || is(a, "PXAT"))
        {
            let unit_ms = is(a, "PX") || is(a, "PXAT");
            let absolute = is(a, "EXAT") || is(a, "PXAT");
            expire = timed(unit_ms, absolute)?;
            i += 1;
        } else {
            return Err(CmdError::Syntax);
        }
        i += 1;
    }
    let now = ctx.now_ms;
    let key = argv.get(1);
    let ks = &mut ctx.dbs[ctx.db];
    let existing = ks.find_live(key, now);
    if want_get {
        match existing.map(|s| &ks.entry(s).value) {
            None => ctx.out.null(),
            Some(Value::Str(s)) => ctx.out.bulk(s),
            #[allow(unreachable_patterns)]
            Some(_) => return Err(CmdError::WrongType),
        }
    }
    if (nx && existing.is_some()) || (xx && existing.is_none()) {
        if !want_get {
            ctx.out.null();
        }
        return Ok(());
    }
    let value = Value::Str(argv.get(2).to_vec());
    match (existing, expire) {
        (Some(slot), ExpireOpt::KeepTtl) => {
            ks.replace_value(slot, value);
        }
        (_, ExpireOpt::At(at)) => {
            ks.insert(key, value, Some(at), now);
        }
        _ => {
            ks.insert(key, value, None, now);
        }
    }
    if !want_get {
        ctx.out.ok();
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
        match ks.lookup_read(key, now).map(|s| &ks.entry(s).value) {
            Some(Value::Str(s)) => ctx.out.bulk(s),
            #[allow(unreachable_patterns)]
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
        ks.insert(argv.get(i), Value::Str(argv.get(i + 1).to_vec()), None, now);
    }
    ctx.out.ok();
    Ok(())
}

#[rustfmt::skip]
pub fn commands() -> Vec<CommandSpec> {
    vec![
        spec("get", 2, READONLY | FAST, (1, 1, 1), "string", "1.0.0", "Returns the string value of a key.", "O(1)", Run::Shard(get), Cross::No),
        spec("set", -3, WRITE | DENYOOM, (1, 1, 1), "string", "1.0.0", "Sets the string value of a key, ignoring its type. The key is created if it doesn't exist.", "O(1)", Run::Shard(set), Cross::No),
        spec("mget", -2, READONLY | FAST, (1, -1, 1), "string", "1.0.0", "Atomically returns the string values of one or more keys.", "O(N) where N is the number of keys to retrieve.", Run::Shard(mget), Cross::Interleave),
        spec("mset", -3, WRITE | DENYOOM, (1, -1, 2), "string", "1.0.1", "Atomically creates or modifies the string values of one or more keys.", "O(N) where N is the number of keys to set.", Run::Shard(mset), Cross::AllOk),
    ]
}
