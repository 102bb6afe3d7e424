//! Multi-key commands whose keys live on several shards: the same command is sent to
//! every shard involved with that shard's keys, and the replies are combined.
//!
//! The parts run as one transaction (`atomic::run_parts`): no client observes some
//! shards' parts without the others'.

use super::atomic::{self, Txn};
use crate::commands::{CmdError, CmdResult, CommandSpec, Cross};
use crate::protocol::{reply_reader, Argv, PackedArgs, ReplyBuf};
use crate::server::client::Client;
use crate::shard::mesh::{Batch, BatchReply};
use crate::shard::{shard_of, ShardId};

/// Splits `argv` by the shard of each key and combines the parts' replies per `how`.
/// Inside a transaction (`txn`) the keys are locked already.
pub async fn split_by_shard(
    client: &mut Client,
    spec: &CommandSpec,
    how: Cross,
    argv: &Argv<'_>,
    out: &mut ReplyBuf,
    txn: Option<&Txn>,
) -> CmdResult {
    let shard = client.shard.clone();
    let n = shard.nshards;
    let step = spec.step.max(1) as usize;
    // Per shard: the command rebuilt with that shard's keys, and which key indexes
    // (in the original order) it carries.
    let mut parts: Vec<Option<(PackedArgs, Vec<usize>)>> = (0..n).map(|_| None).collect();
    let mut part_args: Vec<Vec<&[u8]>> = (0..n).map(|_| vec![argv.get(0)]).collect();
    let mut key_count = 0;
    for (i, pos) in spec.keys_of(argv).enumerate() {
        let s = shard_of(argv.get(pos), n);
        part_args[s].extend((pos..pos + step).map(|p| argv.get(p)));
        parts[s]
            .get_or_insert_with(|| (PackedArgs::new(), Vec::new()))
            .1
            .push(i);
        key_count += 1;
    }
    for (s, part) in parts.iter_mut().enumerate() {
        if let Some((packed, _)) = part {
            packed.push(part_args[s].iter().copied());
        }
    }
    let mode = atomic::lock_mode(spec);
    let db = client.db as u32;
    let sends: Vec<_> = parts
        .iter_mut()
        .enumerate()
        .filter_map(|(s, p)| p.as_mut().map(|(packed, _)| (s, std::mem::take(packed))))
        .map(|(s, args)| {
            let keys = args
                .get(0)
                .iter()
                .skip(1)
                .step_by(step)
                .map(|k| (db, k.to_vec(), mode))
                .collect();
            let batch = Batch {
                proto: out.proto,
                dbs: vec![db],
                args,
            };
            (s, keys, batch)
        })
        .collect();
    let replies: Vec<(ShardId, BatchReply)> = atomic::run_parts(&shard, sends, txn).await;

    // A part that failed (e.g. WRONGTYPE) fails the whole command, as it would on one node.
    for (_, r) in &replies {
        if r.ends.is_empty() {
            return Err(CmdError::msg("ERR internal error: shard did not reply"));
        }
        if reply_reader::is_error(r.get(0)) {
            out.raw(r.get(0));
            return Ok(());
        }
    }
    match how {
        Cross::SumInts => {
            let total: i64 = replies
                .iter()
                .map(|(_, r)| reply_reader::as_int(r.get(0)).unwrap_or(0))
                .sum();
            out.int(total);
        }
        Cross::AllOk => out.ok(),
        Cross::Interleave => {
            let mut slots: Vec<&[u8]> = vec![&[]; key_count];
            for (s, r) in &replies {
                let elements = reply_reader::elements(r.get(0))
                    .ok_or_else(|| CmdError::msg("ERR internal error: bad part reply"))?;
                let indexes = &parts[*s].as_ref().expect("part sent").1;
                for (&i, e) in indexes.iter().zip(elements) {
                    slots[i] = e;
                }
            }
            out.array(key_count);
            for e in slots {
                out.raw(e);
            }
        }
        Cross::No | Cross::Coord(_) => unreachable!("handled by the caller"),
    }
    Ok(())
}
