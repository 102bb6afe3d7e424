//! Transactions: MULTI, EXEC, DISCARD, WATCH, UNWATCH. While a connection is inside
//! MULTI, `server::connection::dispatch` queues every command but those that
//! `runs_inside_multi` names; EXEC hands the queue to `server::atomic::exec`, which runs
//! it atomically and isolated across every shard it touches.

use super::{
    flags::*, spec, CmdError, CmdResult, CommandSpec, Cross, LocalBoxFuture, OwnedArgs, Run,
};
use crate::protocol::{Argv, ReplyBuf};
use crate::server::atomic;
use crate::server::client::{Client, Multi};

/// Commands that run at once inside MULTI instead of being queued.
pub fn runs_inside_multi(spec: &CommandSpec) -> bool {
    matches!(
        spec.name,
        "exec" | "discard" | "multi" | "watch" | "quit" | "reset"
    )
}

fn multi(c: &mut Client, _argv: &Argv<'_>, out: &mut ReplyBuf) -> CmdResult {
    if c.multi.is_some() {
        return Err(CmdError::msg("ERR MULTI calls can not be nested"));
    }
    c.multi = Some(Multi::default());
    out.ok();
    Ok(())
}

fn exec<'a>(
    c: &'a mut Client,
    _args: OwnedArgs,
    out: &'a mut ReplyBuf,
) -> LocalBoxFuture<'a, CmdResult> {
    Box::pin(atomic::exec(c, out))
}

fn discard<'a>(
    c: &'a mut Client,
    _args: OwnedArgs,
    out: &'a mut ReplyBuf,
) -> LocalBoxFuture<'a, CmdResult> {
    Box::pin(async move {
        if c.multi.take().is_none() {
            return Err(CmdError::msg("ERR DISCARD without MULTI"));
        }
        atomic::unwatch_all(c).await;
        out.ok();
        Ok(())
    })
}

fn watch<'a>(
    c: &'a mut Client,
    args: OwnedArgs,
    out: &'a mut ReplyBuf,
) -> LocalBoxFuture<'a, CmdResult> {
    Box::pin(async move {
        atomic::watch(c, &args[1..]).await?;
        out.ok();
        Ok(())
    })
}

fn unwatch<'a>(
    c: &'a mut Client,
    _args: OwnedArgs,
    out: &'a mut ReplyBuf,
) -> LocalBoxFuture<'a, CmdResult> {
    Box::pin(async move {
        atomic::unwatch_all(c).await;
        out.ok();
        Ok(())
    })
}

#[rustfmt::skip]
pub fn commands() -> Vec<CommandSpec> {
    let none = (0, 0, 0);
    vec![
        spec("multi", 1, NOSCRIPT | LOADING | STALE | FAST, none, "transactions", "1.2.0", "Starts a transaction.", "O(1)", Run::Conn(multi), Cross::No),
        spec("exec", 1, NOSCRIPT | LOADING | STALE, none, "transactions", "1.2.0", "Executes all commands in a transaction.", "Depends on commands in the transaction", Run::Coord(exec), Cross::No),
        spec("discard", 1, NOSCRIPT | LOADING | STALE | FAST, none, "transactions", "2.0.0", "Discards a transaction.", "O(N), when N is the number of queued commands", Run::Coord(discard), Cross::No),
        spec("watch", -2, NOSCRIPT | LOADING | STALE | FAST, (1, -1, 1), "transactions", "2.2.0", "Monitors changes to keys to determine the execution of a transaction.", "O(1) for every key.", Run::Coord(watch), Cross::No),
        spec("unwatch", 1, NOSCRIPT | LOADING | STALE | FAST, none, "transactions", "2.2.0", "Forgets about watched keys of a transaction.", "O(1)", Run::Coord(unwatch), Cross::No),
    ]
}
