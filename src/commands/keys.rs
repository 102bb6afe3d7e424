//! Generic key commands (Redis's `generic` group).

use super::{flags::*, spec, CmdResult, CommandSpec, Cross, LocalBoxFuture, OwnedArgs, Run, ShardCtx};
use crate::protocol::{Argv, ReplyBuf};
use crate::server::client::Client;
use crate::shard::ops::{OpResult, ShardOp};

/// # Format
/// `DEL key [key ...]`
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
    let n = argv.iter().skip(1).filter(|k| ks.find_live(k, now).is_some()).count();
    ctx.out.int(n as i64);
    Ok(())
}

/// # Format
/// `KEYS pattern`
fn keys<'a>(c: &'a mut Client, args: OwnedArgs, out: &'a mut ReplyBuf) -> LocalBoxFuture<'a, CmdResult> {
    Box::pin(async move {
        let db = c.db;
        let pattern = &args[1];
        let parts = c.shard.broadcast(|_| ShardOp::Keys { db, pattern: pattern.clone() }).await;
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

#[rustfmt::skip]
pub fn commands() -> Vec<CommandSpec> {
    vec![
        spec("del", -2, WRITE, (1, -1, 1), "generic", "1.0.0", "Deletes one or more keys.", "O(N) where N is the number of keys that will be removed.", Run::Shard(del), Cross::SumInts),
        spec("exists", -2, READONLY | FAST, (1, -1, 1), "generic", "1.0.0", "Determines whether one or more keys exist.", "O(N) where N is the number of keys to check.", Run::Shard(exists), Cross::SumInts),
        spec("keys", 2, READONLY, (0, 0, 0), "generic", "1.0.0", "Returns all key names that match a pattern.", "O(N) with N being the number of keys in the database", Run::Coord(keys), Cross::No),
    ]
}
