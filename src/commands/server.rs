//! Server commands.

use super::{flags::*, spec, CmdResult, CommandSpec, Cross, LocalBoxFuture, OwnedArgs, Run};
use crate::protocol::{Argv, ReplyBuf};
use crate::server::client::Client;
use crate::shard::ops::{OpResult, ShardOp};

/// # Format
/// `DBSIZE`
fn dbsize<'a>(c: &'a mut Client, _args: OwnedArgs, out: &'a mut ReplyBuf) -> LocalBoxFuture<'a, CmdResult> {
    Box::pin(async move {
        let db = c.db;
        let total: i64 = c
            .shard
            .broadcast(|_| ShardOp::DbSize { db })
            .await
            .into_iter()
            .map(|r| if let OpResult::Int(n) = r { n } else { 0 })
            .sum();
        out.int(total);
        Ok(())
    })
}

/// # Format
/// `FLUSHALL [ASYNC | SYNC]`
fn flushall<'a>(c: &'a mut Client, _args: OwnedArgs, out: &'a mut ReplyBuf) -> LocalBoxFuture<'a, CmdResult> {
    Box::pin(async move {
        c.shard.broadcast(|_| ShardOp::FlushAll).await;
        out.ok();
        Ok(())
    })
}

/// # Format
/// `CONFIG GET parameter [parameter ...]`
fn config(c: &mut Client, argv: &Argv<'_>, out: &mut ReplyBuf) -> CmdResult {
    let cfg = c.shard.config.borrow();
    let mut pairs = Vec::new();
    for p in argv.iter().skip(2) {
        pairs.extend(cfg.config_get(p));
    }
    out.map(pairs.len());
    for (k, v) in pairs {
        out.bulk(k.as_bytes());
        out.bulk(v.as_bytes());
    }
    Ok(())
}

#[rustfmt::skip]
pub fn commands() -> Vec<CommandSpec> {
    let none = (0, 0, 0);
    vec![
        spec("dbsize", 1, READONLY | FAST, none, "server", "1.0.0", "Returns the number of keys in the database.", "O(1)", Run::Coord(dbsize), Cross::No),
        spec("flushall", -1, WRITE, none, "server", "1.0.0", "Removes all keys from all databases.", "O(N) where N is the total number of keys in all databases", Run::Coord(flushall), Cross::No),
        spec("config", -2, ADMIN | NOSCRIPT | LOADING | STALE, none, "server", "2.0.0", "A container for server configuration commands.", "Depends on subcommand.", Run::Conn(config), Cross::No),
    ]
}
