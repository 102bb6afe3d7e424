//! Blocking pops: BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP, BZPOPMIN, BZPOPMAX, BZMPOP.
//!
//! Outside MULTI, `server::connection` sends such a command to the shard owning its keys
//! as `ShardOp::Block`; the shard tries the pop (`attempt`) and, when there is nothing,
//! parks the client (`shard::blocking`) until a write to one of its keys lets the pop
//! succeed (`serve`) or the timeout passes. A command whose keys live on several shards
//! is carried out by `server::blocking` instead.
//!
//! The table's `Run::Shard` handler is the form that never blocks: EXEC runs it, and, as
//! in Redis, a blocking command inside a transaction behaves as if its timeout had
//! passed at once. The pops themselves are the list and sorted-set families' own.

use super::list::{self, End};
use super::util::is;
use super::zset::{self, Which};
use super::{flags::*, spec, CmdError, CmdResult, CommandSpec, Cross, Run, ShardCtx};
use crate::protocol::{Argv, ReplyBuf};
use crate::shard::value::Value;
use crate::util::numbers;

/// Which blocking command a call is.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[allow(clippy::enum_variant_names)] // the variants are the command names
enum Cmd {
    BLPop,
    BRPop,
    BLMove,
    BRPopLPush,
    BLMPop,
    BZPopMin,
    BZPopMax,
    BZMPop,
}

impl Cmd {
    fn of(name: &[u8]) -> Option<Cmd> {
        Some(match name {
            n if is(n, "BLPOP") => Cmd::BLPop,
            n if is(n, "BRPOP") => Cmd::BRPop,
            n if is(n, "BLMOVE") => Cmd::BLMove,
            n if is(n, "BRPOPLPUSH") => Cmd::BRPopLPush,
            n if is(n, "BLMPOP") => Cmd::BLMPop,
            n if is(n, "BZPOPMIN") => Cmd::BZPopMin,
            n if is(n, "BZPOPMAX") => Cmd::BZPopMax,
            n if is(n, "BZMPOP") => Cmd::BZMPop,
            _ => return None,
        })
    }

    fn on_zsets(self) -> bool {
        matches!(self, Cmd::BZPopMin | Cmd::BZPopMax | Cmd::BZMPop)
    }
}

/// A checked call: how long it may wait (ms, 0 = forever) and what it pops.
struct Call {
    cmd: Cmd,
    timeout_ms: u64,
    /// Positions of the keys it pops from (BLMOVE: the source only).
    keys: Vec<usize>,
    list_end: End,
    /// BLMOVE's destination end.
    to_end: End,
    which: Which,
    count: usize,
}

/// A timeout in seconds, as Redis reads it: a float, at most millisecond precision
/// (rounded up), 0 for no timeout. Values too large for milliseconds in 64 bits wrap
/// negative in Redis, and so report "negative" here too.
fn timeout_arg(arg: &[u8]) -> Result<u64, CmdError> {
    let not_float = || CmdError::msg("ERR timeout is not a float or out of range");
    let text = std::str::from_utf8(arg).map_err(|_| not_float())?;
    if text.is_empty() || text.starts_with(|c: char| c.is_ascii_whitespace()) {
        return Err(not_float());
    }
    let secs: f64 = text.parse().map_err(|_| not_float())?;
    if secs.is_nan() {
        return Err(not_float());
    }
    let ms = (secs * 1000.0).ceil();
    if !(0.0..9.2e18).contains(&ms) {
        return Err(CmdError::msg("ERR timeout is negative"));
    }
    Ok(ms as u64)
}

/// The keys of `numkeys key...` starting at `first`, never the last argument.
fn numkeys_positions(argv: &Argv<'_>, first: usize) -> Vec<usize> {
    let n = numbers::parse_i64(argv.get(first)).unwrap_or(0).max(0) as usize;
    let from = first + 1;
    (from..argv.len().saturating_sub(1).min(from.saturating_add(n))).collect()
}

/// BLMPOP / BZMPOP key positions (for routing and `COMMAND GETKEYS`).
fn mpop_keys(argv: &Argv<'_>) -> Vec<usize> {
    numkeys_positions(argv, 2)
}

/// Checks a call's arguments in the order Redis does, so that the same error wins.
fn check(argv: &Argv<'_>) -> Result<Call, CmdError> {
    let cmd = Cmd::of(argv.get(0)).ok_or_else(|| CmdError::msg("ERR unknown command"))?;
    let mut call = Call {
        cmd,
        timeout_ms: 0,
        keys: Vec::new(),
        list_end: End::Left,
        to_end: End::Left,
        which: Which::Min,
        count: 1,
    };
    let last = argv.len() - 1;
    match cmd {
        Cmd::BLPop | Cmd::BRPop | Cmd::BZPopMin | Cmd::BZPopMax => {
            call.timeout_ms = timeout_arg(argv.get(last))?;
            call.keys = (1..last).collect();
            call.list_end = if cmd == Cmd::BRPop {
                End::Right
            } else {
                End::Left
            };
            call.which = if cmd == Cmd::BZPopMax {
                Which::Max
            } else {
                Which::Min
            };
        }
        Cmd::BLMove => {
            call.list_end = End::parse(argv.get(3))?;
            call.to_end = End::parse(argv.get(4))?;
            call.timeout_ms = timeout_arg(argv.get(5))?;
            call.keys = vec![1];
        }
        Cmd::BRPopLPush => {
            call.timeout_ms = timeout_arg(argv.get(3))?;
            call.list_end = End::Right;
            call.keys = vec![1];
        }
        Cmd::BLMPop => {
            let (n, end, count) = list::mpop_args(argv, 2)?;
            call.timeout_ms = timeout_arg(argv.get(1))?;
            call.keys = (3..3 + n).collect();
            call.list_end = end;
            call.count = count;
        }
        Cmd::BZMPop => {
            let (n, which, count) = zset::mpop_args(argv, 2)?;
            call.timeout_ms = timeout_arg(argv.get(1))?;
            call.keys = (3..3 + n).collect();
            call.which = which;
            call.count = count;
        }
    }
    Ok(call)
}

/// Runs the pop of a checked call without blocking. Writes the reply and returns true
/// when it popped; returns false, writing nothing, when every key is missing.
fn pop(ctx: &mut ShardCtx<'_>, argv: &Argv<'_>, call: &Call) -> Result<bool, CmdError> {
    let now = ctx.now_ms;
    let keys: Vec<&[u8]> = call.keys.iter().map(|&p| argv.get(p)).collect();
    match call.cmd {
        Cmd::BLMove | Cmd::BRPopLPush => {
            let ks = &mut ctx.dbs[ctx.db];
            if ks.lookup(argv.get(1), now).is_none() {
                return Ok(false);
            }
            list::move_one(ctx, argv.get(1), argv.get(2), call.list_end, call.to_end)?;
            Ok(true)
        }
        Cmd::BLPop | Cmd::BRPop | Cmd::BLMPop => {
            let ks = &mut ctx.dbs[ctx.db];
            let Some((i, items)) = list::pop_first(ks, &keys, call.list_end, call.count, now)?
            else {
                return Ok(false);
            };
            if call.cmd == Cmd::BLMPop {
                list::reply_key_items(ctx.out, keys[i], &items);
            } else {
                ctx.out.array(2);
                ctx.out.bulk(keys[i]);
                ctx.out
                    .bulk(items.first().map_or(&[][..], |v| v.as_slice()));
            }
            Ok(true)
        }
        Cmd::BZPopMin | Cmd::BZPopMax | Cmd::BZMPop => {
            let ks = &mut ctx.dbs[ctx.db];
            let Some((i, items)) = zset::pop_first(ks, &keys, call.which, call.count, now)? else {
                return Ok(false);
            };
            if call.cmd == Cmd::BZMPop {
                zset::reply_key_pairs(ctx.out, keys[i], &items);
            } else if let Some(item) = items.first() {
                zset::reply_key_member_score(ctx.out, keys[i], item);
            }
            Ok(true)
        }
    }
}

/// What a blocking command waits for: up to `timeout_ms` (0 = forever), on the keys at
/// `keys` (positions in the arguments), of sorted sets (`zsets`) or lists. Errors are the
/// command's own syntax errors, in Redis's order.
pub struct WaitSpec {
    pub timeout_ms: u64,
    pub keys: Vec<usize>,
    pub zsets: bool,
}

/// Checks a blocking call and says what it would wait for.
pub fn wait_spec(argv: &Argv<'_>) -> Result<WaitSpec, CmdError> {
    let call = check(argv)?;
    Ok(WaitSpec {
        timeout_ms: call.timeout_ms,
        zsets: call.cmd.on_zsets(),
        keys: call.keys,
    })
}

/// Whether a reply of the non-blocking form (`run_now`) is its "nothing to pop" nil.
pub fn is_nothing(reply: &[u8]) -> bool {
    matches!(reply, b"*-1\r\n" | b"$-1\r\n" | b"_\r\n")
}

/// What a blocking command's first try on its shard came to.
pub enum Attempt {
    /// The reply (or an error) is written.
    Done,
    /// Nothing to pop: wait up to `timeout_ms` (0 = forever) on the keys at `keys`.
    Wait {
        timeout_ms: u64,
        keys: Vec<usize>,
        zsets: bool,
    },
}

/// The first try of a blocking command on the shard that owns its keys.
pub fn attempt(ctx: &mut ShardCtx<'_>, argv: &Argv<'_>) -> Attempt {
    let result = check(argv).and_then(|call| Ok((pop_journaled(ctx, argv, &call)?, call)));
    match result {
        Ok((true, _)) => Attempt::Done,
        Ok((false, call)) => Attempt::Wait {
            timeout_ms: call.timeout_ms,
            keys: call.keys,
            zsets: call.cmd.on_zsets(),
        },
        Err(e) => {
            ctx.out.error(e.message());
            Attempt::Done
        }
    }
}

/// `pop` as one journal record, like any command (BLMOVE's pop and push together).
fn pop_journaled(ctx: &mut ShardCtx<'_>, argv: &Argv<'_>, call: &Call) -> Result<bool, CmdError> {
    let journal = ctx.dbs.first().and_then(|ks| ks.journal_handle()).cloned();
    if let Some(j) = &journal {
        j.begin_group();
    }
    let r = pop(ctx, argv, call);
    if let Some(j) = &journal {
        j.end_group();
    }
    r
}

/// Re-runs a parked waiter's pop once one of its keys may hold something. Returns true
/// when the waiter is done (reply or error written), false to keep it waiting.
pub fn serve(ctx: &mut ShardCtx<'_>, argv: &Argv<'_>) -> bool {
    !matches!(attempt(ctx, argv), Attempt::Wait { .. })
}

/// Whether a value is what a waiter of that kind pops from (a key turned into another
/// type does not wake it).
pub fn kind_matches(value: &Value, zsets: bool) -> bool {
    match value {
        Value::List(_) => !zsets,
        Value::ZSet(_) => zsets,
        _ => false,
    }
}

/// The nil a call gets when its time is up (inside MULTI: at once).
pub fn reply_timeout(out: &mut ReplyBuf) {
    out.null_array();
}

/// BLMOVE's and BRPOPLPUSH's destination, which a served waiter has just pushed to.
pub fn destination<'a>(argv: &Argv<'a>) -> Option<&'a [u8]> {
    match Cmd::of(argv.get(0)) {
        Some(Cmd::BLMove | Cmd::BRPopLPush) => Some(argv.get(2)),
        _ => None,
    }
}

/// The handler EXEC runs: the pop, or nil at once (as if the timeout had passed).
fn run_now(ctx: &mut ShardCtx<'_>, argv: &Argv<'_>) -> CmdResult {
    let call = check(argv)?;
    if !pop(ctx, argv, &call)? {
        match call.cmd {
            // Redis answers these two with a null bulk here, a null array on timeout.
            Cmd::BLMove | Cmd::BRPopLPush => ctx.out.null(),
            _ => reply_timeout(ctx.out),
        }
    }
    Ok(())
}

#[rustfmt::skip]
pub fn commands() -> Vec<CommandSpec> {
    let keys_then_timeout = (1, -2, 1);
    let two = (1, 2, 1);
    vec![
        spec("blpop", -3, WRITE | BLOCKING, keys_then_timeout, "list", "2.0.0", "Removes and returns the first element in a list. Blocks until an element is available otherwise. Deletes the list if the last element was popped.", "O(N) where N is the number of provided keys.", Run::Shard(run_now), Cross::No),
        spec("brpop", -3, WRITE | BLOCKING, keys_then_timeout, "list", "2.0.0", "Removes and returns the last element in a list. Blocks until an element is available otherwise. Deletes the list if the last element was popped.", "O(N) where N is the number of provided keys.", Run::Shard(run_now), Cross::No),
        spec("blmove", 6, WRITE | DENYOOM | BLOCKING, two, "list", "6.2.0", "Pops an element from a list, pushes it to another list and returns it. Blocks until an element is available otherwise. Deletes the list if the last element was moved.", "O(1)", Run::Shard(run_now), Cross::No),
        spec("brpoplpush", 4, WRITE | DENYOOM | BLOCKING, two, "list", "2.2.0", "Pops an element from a list, pushes it to another list and returns it. Block until an element is available otherwise. Deletes the list if the last element was popped.", "O(1)", Run::Shard(run_now), Cross::No),
        spec("blmpop", -5, WRITE | BLOCKING, (3, 3, 1), "list", "7.0.0", "Pops the first element from one of multiple lists. Blocks until an element is available otherwise. Deletes the list if the last element was popped.", "O(N+M) where N is the number of provided keys and M is the number of elements returned.", Run::Shard(run_now), Cross::No).movable(mpop_keys),
        spec("bzpopmin", -3, WRITE | FAST | BLOCKING, keys_then_timeout, "sorted-set", "5.0.0", "Removes and returns the member with the lowest score from one or more sorted sets. Blocks until a member is available otherwise. Deletes the sorted set if the last element was popped.", "O(log(N)) with N being the number of elements in the sorted set.", Run::Shard(run_now), Cross::No),
        spec("bzpopmax", -3, WRITE | FAST | BLOCKING, keys_then_timeout, "sorted-set", "5.0.0", "Removes and returns the member with the highest score from one or more sorted sets. Blocks until a member available otherwise.  Deletes the sorted set if the last element was popped.", "O(log(N)) with N being the number of elements in the sorted set.", Run::Shard(run_now), Cross::No),
        spec("bzmpop", -5, WRITE | BLOCKING, (3, 3, 1), "sorted-set", "7.0.0", "Removes and returns a member by score from one or more sorted sets. Blocks until a member is available otherwise. Deletes the sorted set if the last element was popped.", "O(K) + O(M*log(N)) where K is the number of provided keys, N being the number of elements in the sorted set, and M being the number of elements popped.", Run::Shard(run_now), Cross::No).movable(mpop_keys),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_read_as_redis_reads_them() {
        assert_eq!(timeout_arg(b"0").unwrap(), 0);
        assert_eq!(timeout_arg(b"1.5").unwrap(), 1500);
        assert_eq!(timeout_arg(b"0.0001").unwrap(), 1);
        assert!(timeout_arg(b"-1").is_err());
        assert!(timeout_arg(b"abc").is_err());
        assert!(timeout_arg(b"nan").is_err());
        assert!(timeout_arg(b" 1").is_err());
        assert!(timeout_arg(b"").is_err());
        assert_eq!(
            timeout_arg(b"inf").unwrap_err().message(),
            "ERR timeout is negative"
        );
    }
}
