//! Multi-key commands whose keys live on several shards (MSET, MGET, DEL, EXISTS...): the
//! same command is sent to every shard involved with that shard's keys, and the replies
//! are combined.
//!
//! The parts run as one transaction (`atomic::run_parts`): no client observes some
//! shards' parts without the others'. Consecutive such commands of one pipeline form a
//! `SplitGroup` and run as one transaction too: one set of lock and run messages for the
//! whole run of commands instead of one per command. Running several commands of one
//! client as a unit is a schedule the client could have got anyway (nobody else's command
//! happened to come between them), so each stays atomic and isolated.

use super::atomic::{self, Txn};
use crate::commands::{CmdError, CmdResult, CommandSpec, Cross};
use crate::protocol::{reply_reader, Argv, PackedArgs, Protocol, ReplyBuf};
use crate::server::client::Client;
use crate::shard::locks::{lock_key, LockKey};
use crate::shard::mesh::{Batch, BatchReply};
use crate::shard::{shard_of, Shard, ShardId};
use std::rc::Rc;

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
    let mut group = SplitGroup::new(shard.nshards, out.proto);
    group.add(spec, how, argv, client.db as u32);
    group.run(&shard, txn, out).await;
    Ok(())
}

/// Split commands to run as one transaction, their replies combined in order.
pub struct SplitGroup {
    proto: Protocol,
    /// Per shard: the keys to lock there and the parts to run there, in command order.
    shards: Vec<Option<(Vec<LockKey>, Batch)>>,
    commands: Vec<SplitCommand>,
}

/// How one command's reply is made from its parts.
struct SplitCommand {
    how: Cross,
    key_count: usize,
    /// Per part: its shard, its index in that shard's batch and, for `Interleave`, which
    /// of the command's keys (in argument order) it carries.
    parts: Vec<(ShardId, usize, Vec<usize>)>,
}

impl SplitGroup {
    pub fn new(nshards: usize, proto: Protocol) -> SplitGroup {
        SplitGroup {
            proto,
            shards: (0..nshards).map(|_| None).collect(),
            commands: Vec::new(),
        }
    }

    /// Number of commands gathered.
    pub fn len(&self) -> usize {
        self.commands.len()
    }

    pub fn is_empty(&self) -> bool {
        self.commands.is_empty()
    }

    /// The protocol the gathered commands were sent in (a group never spans a HELLO).
    pub fn proto(&self) -> Protocol {
        self.proto
    }

    /// Adds one command (its arguments copied), in database `db`.
    pub fn add(&mut self, spec: &CommandSpec, how: Cross, argv: &Argv<'_>, db: u32) {
        let n = self.shards.len();
        let step = spec.step.max(1) as usize;
        let positions: Vec<usize> = spec.keys_of(argv).collect();
        let owners: Vec<ShardId> = positions
            .iter()
            .map(|&p| shard_of(argv.get(p), n))
            .collect();
        let mode = atomic::lock_mode(spec);
        let mut parts = Vec::new();
        for s in 0..n {
            let mine: Vec<usize> = (0..positions.len()).filter(|&i| owners[i] == s).collect();
            if mine.is_empty() {
                continue;
            }
            let (keys, batch) = self.shards[s].get_or_insert_with(|| {
                (
                    Vec::new(),
                    Batch {
                        proto: self.proto,
                        dbs: Vec::new(),
                        args: PackedArgs::new(),
                    },
                )
            });
            keys.extend(
                mine.iter()
                    .map(|&i| lock_key(db, argv.get(positions[i]), mode)),
            );
            let args = std::iter::once(argv.get(0)).chain(
                mine.iter()
                    .flat_map(|&i| (positions[i]..positions[i] + step).map(|p| argv.get(p))),
            );
            batch.args.push(args);
            batch.dbs.push(db);
            let index = batch.args.len() - 1;
            let keys_carried = if matches!(how, Cross::Interleave) {
                mine
            } else {
                Vec::new()
            };
            parts.push((s, index, keys_carried));
        }
        self.commands.push(SplitCommand {
            how,
            key_count: positions.len(),
            parts,
        });
    }

    /// Runs every gathered command as one transaction (inside `txn`, whose locks are
    /// held already) and writes their replies to `out`, in order.
    pub async fn run(self, shard: &Rc<Shard>, txn: Option<&Txn>, out: &mut ReplyBuf) {
        let sends: Vec<(ShardId, Vec<LockKey>, Batch)> = self
            .shards
            .into_iter()
            .enumerate()
            .filter_map(|(s, part)| part.map(|(keys, batch)| (s, keys, batch)))
            .collect();
        let mut replies: Vec<Option<BatchReply>> = (0..shard.nshards).map(|_| None).collect();
        for (s, r) in atomic::run_parts(shard, sends, txn).await {
            replies[s] = Some(r);
        }
        for command in &self.commands {
            if let Err(e) = command.reply(&replies, out) {
                out.error(e.message());
            }
        }
    }
}

impl SplitCommand {
    /// Writes this command's reply from its parts' replies.
    fn reply(&self, replies: &[Option<BatchReply>], out: &mut ReplyBuf) -> CmdResult {
        let mut got: Vec<&[u8]> = Vec::with_capacity(self.parts.len());
        for (s, i, _) in &self.parts {
            let reply = replies[*s]
                .as_ref()
                .filter(|r| !r.ends.is_empty())
                .ok_or_else(|| CmdError::msg("ERR internal error: shard did not reply"))?;
            // A shard that refused the transaction answers every part with one error.
            let part = if *i < reply.ends.len() {
                reply.get(*i)
            } else if reply_reader::is_error(reply.get(0)) {
                reply.get(0)
            } else {
                return Err(CmdError::msg("ERR internal error: shard did not reply"));
            };
            got.push(part);
        }
        // A part that failed (e.g. WRONGTYPE) fails the whole command, as it would on
        // one node.
        if let Some(error) = got.iter().find(|r| reply_reader::is_error(r)) {
            out.raw(error);
            return Ok(());
        }
        match self.how {
            Cross::SumInts => {
                let total: i64 = got
                    .iter()
                    .map(|r| reply_reader::as_int(r).unwrap_or(0))
                    .sum();
                out.int(total);
            }
            Cross::AllOk => out.ok(),
            Cross::Interleave => {
                let mut slots: Vec<&[u8]> = vec![&[]; self.key_count];
                for ((_, _, keys), r) in self.parts.iter().zip(&got) {
                    let elements = reply_reader::elements(r)
                        .ok_or_else(|| CmdError::msg("ERR internal error: bad part reply"))?;
                    for (&k, e) in keys.iter().zip(elements) {
                        slots[k] = e;
                    }
                }
                out.array(self.key_count);
                for e in slots {
                    out.raw(e);
                }
            }
            Cross::No | Cross::Coord(_) => unreachable!("handled by the caller"),
        }
        Ok(())
    }
}
