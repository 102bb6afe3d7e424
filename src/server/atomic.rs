//! Atomic, isolated operations over several shards: the coordinator's side of the
//! transactions described in `shard::locks`.
//!
//! * `Txn` locks keys shard by shard in ascending order, runs commands under the locks
//!   and releases them.
//! * `run_gathered` carries out any command whose keys span shards (SMOVE, ZUNIONSTORE,
//!   RENAME...): under the locks it copies the keys here, runs the command's ordinary
//!   handler on that copy and ships what changed back to the keys' owners. Every command
//!   family thus works across shards without code of its own.
//! * `exec` runs a MULTI/EXEC queue: in one message when its keys all live on one shard,
//!   else as a transaction over every shard it touches.

use std::rc::Rc;

use crate::commands::{self, CmdError, CmdResult, CommandSpec, Registry, Run, ShardCtx};
use crate::protocol::{Argv, PackedArgs, ReplyBuf};
use crate::server::client::Client;
use crate::shard::keyspace::Keyspace;
use crate::shard::locks::{lock_key, LockKey, LockMode, TxnId};
use crate::shard::mesh::{Batch, BatchReply};
use crate::shard::ops::{KeyValue, OpResult, ShardOp};
use crate::shard::{join_all, shard_of, Shard, ShardId};

/// A transaction in progress: the shards on which it holds locks.
pub struct Txn {
    shard: Rc<Shard>,
    pub id: TxnId,
    locked: Vec<ShardId>,
}

impl Txn {
    pub fn new(shard: &Rc<Shard>) -> Txn {
        Txn {
            id: shard.txn_id(),
            shard: shard.clone(),
            locked: Vec::new(),
        }
    }

    /// Locks `keys[s]` on every shard `s` that has some, in ascending shard order. With
    /// `watch`, also checks that connection's watched keys on the shards in
    /// `watch_shards` (a bit per shard, locked too): returns true when one changed.
    /// Fails (having released everything) when a shard refuses: its WAL has failed and
    /// the transaction would write there.
    pub async fn lock(
        &mut self,
        keys: Vec<Vec<LockKey>>,
        watch: Option<u64>,
        watch_shards: u64,
    ) -> Result<bool, CmdError> {
        let mut dirty = false;
        for (s, keys) in keys.into_iter().enumerate() {
            let watched = watch_shards & (1 << s) != 0;
            if keys.is_empty() && !watched {
                continue;
            }
            let op = ShardOp::Lock {
                txn: self.id,
                keys,
                watch: watch.filter(|_| watched),
            };
            self.locked.push(s);
            match self.shard.op(s, op).await {
                OpResult::Bool(d) => dirty |= d,
                OpResult::Error(why) => {
                    self.release_all().await;
                    return Err(CmdError::msg(why));
                }
                _ => {}
            }
        }
        Ok(dirty)
    }

    /// Runs shard commands on shard `s` under this transaction's locks.
    pub async fn run(&self, s: ShardId, batch: Batch) -> BatchReply {
        let op = ShardOp::TxnBatch {
            txn: self.id,
            lock: Vec::new(),
            batch,
            unlock: false,
        };
        match self.shard.op(s, op).await {
            OpResult::Batch(r) => r,
            other => error_reply(&other),
        }
    }

    /// Releases every lock, on all shards at once.
    pub async fn release(mut self) {
        self.release_all().await;
    }

    async fn release_all(&mut self) {
        let calls: Vec<_> = self
            .locked
            .iter()
            .map(|&s| self.shard.op(s, ShardOp::Unlock { txn: self.id }))
            .collect();
        join_all(calls).await;
        self.locked.clear();
    }
}

/// A batch reply holding one error, for an op that did not answer as expected.
fn error_reply(r: &OpResult) -> BatchReply {
    let msg = match r {
        OpResult::Error(e) => e.clone(),
        _ => "ERR internal error: unexpected shard reply".into(),
    };
    let mut out = ReplyBuf::new(crate::protocol::Protocol::Resp2);
    out.error(&msg);
    BatchReply {
        ends: vec![out.len()],
        out: out.buf,
    }
}

/// The lock mode a command needs on its keys.
pub fn lock_mode(spec: &CommandSpec) -> LockMode {
    if spec.has(commands::flags::WRITE) {
        LockMode::Exclusive
    } else {
        LockMode::Shared
    }
}

/// Runs `parts` (one command per shard, shards in ascending order) atomically. Strict
/// two-phase locking in ascending shard order: every shard but the last is locked in
/// turn, the last locks, runs and unlocks in one message, then the others run and unlock.
/// A reader locks in the same order, so it sees either none of the parts or all of them.
/// Inside a transaction (`txn`), the locks are already held.
///
/// A remote shard before the last runs its part in the message that locks it, and is
/// then unlocked by a message nobody waits for: one round trip per remote shard instead
/// of two (with two shards, every such command costs one round trip whichever core the
/// client is on). Isolation is the same, since nobody sees the part before the unlock.
/// What running early gives up is stopping before any part runs when a later shard
/// refuses (its WAL failed), so it is only done when the last shard is this one and
/// takes writes: then no shard after the early ones can refuse.
pub async fn run_parts(
    shard: &Rc<Shard>,
    parts: Vec<(ShardId, Vec<LockKey>, Batch)>,
    txn: Option<&Txn>,
) -> Vec<(ShardId, BatchReply)> {
    if let Some(txn) = txn {
        let calls: Vec<_> = parts
            .into_iter()
            .map(|(s, _, batch)| async move { (s, txn.run(s, batch).await) })
            .collect();
        return join_all(calls).await;
    }
    let id = shard.txn_id();
    let mut parts = parts;
    let (last_s, last_keys, last_batch) = parts.pop().expect("at least one part");
    let all: Vec<ShardId> = parts.iter().map(|p| p.0).chain([last_s]).collect();
    let run_early = last_s == shard.id && shard.refuses_writes(&last_keys).is_none();
    // A refusal (a shard whose WAL failed) stops everything before any part runs.
    let refused = |locked: &[ShardId], why: OpResult| {
        let reply = error_reply(&why);
        let locked = locked.to_vec();
        let shard = shard.clone();
        let all = all.clone();
        async move {
            let unlocks: Vec<_> = locked
                .iter()
                .map(|&s| shard.op(s, ShardOp::Unlock { txn: id }))
                .collect();
            join_all(unlocks).await;
            all.iter()
                .map(|&s| {
                    (
                        s,
                        BatchReply {
                            out: reply.out.clone(),
                            ends: reply.ends.clone(),
                        },
                    )
                })
                .collect::<Vec<_>>()
        }
    };
    let mut locked = Vec::new();
    let mut leading: Vec<(ShardId, Leading)> = Vec::with_capacity(parts.len());
    for (s, keys, batch) in parts {
        let early = run_early && s != shard.id;
        let (op, batch) = if early {
            let op = ShardOp::TxnBatch {
                txn: id,
                lock: keys,
                batch,
                unlock: false,
            };
            (op, None)
        } else {
            let op = ShardOp::Lock {
                txn: id,
                keys,
                watch: None,
            };
            (op, Some(batch))
        };
        let r = shard.op(s, op).await;
        if matches!(r, OpResult::Error(_)) {
            return refused(&locked, r).await;
        }
        locked.push(s);
        let state = match batch {
            Some(batch) => Leading::Locked(batch),
            None => Leading::Ran(r),
        };
        leading.push((s, state));
    }
    let last = shard
        .op(
            last_s,
            ShardOp::TxnBatch {
                txn: id,
                lock: last_keys,
                batch: last_batch,
                unlock: true,
            },
        )
        .await;
    if matches!(last, OpResult::Error(_)) {
        return refused(&locked, last).await;
    }
    let calls: Vec<_> = leading
        .into_iter()
        .map(|(s, state)| {
            let shard = shard.clone();
            async move {
                match state {
                    Leading::Locked(batch) => {
                        let op = ShardOp::TxnBatch {
                            txn: id,
                            lock: Vec::new(),
                            batch,
                            unlock: true,
                        };
                        (s, shard.op(s, op).await)
                    }
                    Leading::Ran(ran) => {
                        glommio::spawn_local(async move {
                            shard.op(s, ShardOp::Unlock { txn: id }).await;
                        })
                        .detach();
                        (s, ran)
                    }
                }
            }
        })
        .collect();
    let mut replies = join_all(calls).await;
    replies.push((last_s, last));
    replies
        .into_iter()
        .map(|(s, r)| match r {
            OpResult::Batch(b) => (s, b),
            other => (s, error_reply(&other)),
        })
        .collect()
}

/// A part of `run_parts` on a shard before the last, once that shard is locked.
enum Leading {
    /// Locked only: the batch runs after the last shard's part.
    Locked(Batch),
    /// Ran as it locked: its reply.
    Ran(OpResult),
}

/// Whether a command with a coordinator of its own (`Cross::Coord`) is carried out by
/// `run_gathered` instead: writes are, so that they are atomic, except COPY ... DB n
/// (its destination is in another database). Reads keep their coordinator, which
/// gathers only what the reply needs (JSON.MGET fetches paths, not documents).
pub fn can_gather(spec: &CommandSpec, argv: &Argv<'_>) -> bool {
    spec.has(commands::flags::WRITE)
        && !(spec.name == "copy" && argv.iter().skip(3).any(|a| a.eq_ignore_ascii_case(b"db")))
}

/// Carries out a shard command whose keys live on several shards: locks the keys (unless
/// `txn` already holds them), copies them here, runs the command's handler on the copy,
/// and stores what changed back on the owning shards, releasing the locks.
pub async fn run_gathered(
    client: &mut Client,
    spec: &CommandSpec,
    argv: &Argv<'_>,
    out: &mut ReplyBuf,
    txn: Option<&Txn>,
) -> CmdResult {
    let shard = client.shard.clone();
    let result = gather_and_run(&shard, client.db, spec, argv, out, txn).await;
    client.now_ms = crate::shard::now_ms();
    result
}

/// `run_gathered` for a command of database `db` run from `shard`.
pub async fn gather_and_run(
    shard: &Rc<Shard>,
    db: usize,
    spec: &CommandSpec,
    argv: &Argv<'_>,
    out: &mut ReplyBuf,
    txn: Option<&Txn>,
) -> CmdResult {
    let Run::Shard(handler) = spec.run else {
        return Err(CmdError::msg("ERR internal error: not a shard command"));
    };
    let n = shard.nshards;
    // The command's distinct keys, by owner.
    let mut keys: Vec<Vec<Vec<u8>>> = vec![Vec::new(); n];
    for p in spec.keys_of(argv) {
        if p >= argv.len() {
            continue;
        }
        let k = argv.get(p);
        let owner = &mut keys[shard_of(k, n)];
        if !owner.iter().any(|x| x == k) {
            owner.push(k.to_vec());
        }
    }
    let mut own = None;
    if txn.is_none() {
        let mode = lock_mode(spec);
        let mut t = Txn::new(shard);
        let lock_keys = keys
            .iter()
            .map(|ks| ks.iter().map(|k| lock_key(db as u32, k, mode)).collect())
            .collect();
        t.lock(lock_keys, None, 0).await?;
        own = Some(t);
    }
    let txn_id = txn.or(own.as_ref()).map_or(0, |t| t.id);

    // Copy the keys here.
    let fetches: Vec<_> = keys
        .iter()
        .enumerate()
        .filter(|(_, ks)| !ks.is_empty())
        .map(|(s, ks)| {
            let shard = shard.clone();
            let op = ShardOp::Fetch {
                db,
                keys: ks.clone(),
            };
            async move { (s, shard.op(s, op).await) }
        })
        .collect();
    let mut before: Vec<Vec<Option<KeyValue>>> = vec![Vec::new(); n];
    for (s, r) in join_all(fetches).await {
        match r {
            OpResult::Values(v) => before[s] = v,
            other => {
                if let Some(t) = own {
                    t.release().await;
                }
                return Err(CmdError::msg(match other {
                    OpResult::Error(e) => e,
                    _ => "ERR internal error: unexpected shard reply".into(),
                }));
            }
        }
    }
    let now = crate::shard::now_ms();
    let mut scratch: Vec<Keyspace> = (0..=db).map(|_| Keyspace::new()).collect();
    for (ks, vs) in keys.iter().zip(&before) {
        for (k, v) in ks.iter().zip(vs) {
            if let Some((value, expire_at)) = v {
                scratch[db].insert(k, value.clone(), *expire_at, now);
            }
        }
    }

    // Run the ordinary handler on the copy.
    {
        let mut rng = shard.rng.borrow_mut();
        let mut ctx = ShardCtx {
            dbs: &mut scratch,
            db,
            now_ms: now,
            out,
            rng: &mut rng,
        };
        commands::run_shard_command(handler, &mut ctx, argv);
    }

    // Ship back what changed.
    let applies: Vec<_> = keys
        .iter()
        .zip(&before)
        .enumerate()
        .filter(|(_, (ks, _))| !ks.is_empty())
        .map(|(s, (ks, vs))| {
            let changes: Vec<(Vec<u8>, Option<KeyValue>)> = ks
                .iter()
                .zip(vs)
                .filter_map(|(k, old)| {
                    let new = scratch[db].find(k).map(|slot| {
                        let e = scratch[db].entry(slot);
                        (e.value.clone(), e.expire_at())
                    });
                    (new != *old).then(|| (k.clone(), new))
                })
                .collect();
            let shard = shard.clone();
            let unlock = own.is_some();
            async move {
                let op = if changes.is_empty() {
                    if !unlock {
                        return OpResult::Done;
                    }
                    ShardOp::Unlock { txn: txn_id }
                } else {
                    ShardOp::Apply {
                        txn: txn_id,
                        db,
                        changes,
                        unlock,
                    }
                };
                shard.op(s, op).await
            }
        })
        .collect();
    let results = join_all(applies).await;
    if let Some(OpResult::Error(e)) = results.iter().find(|r| matches!(r, OpResult::Error(_))) {
        // The WAL of some shard failed: the command's reply must not claim success.
        out.buf.clear();
        out.error(e);
    }
    Ok(())
}

/// Runs a MULTI/EXEC queue; see the module docs.
pub async fn exec(client: &mut Client, out: &mut ReplyBuf) -> CmdResult {
    let Some(multi) = client.multi.take() else {
        return Err(CmdError::msg("ERR EXEC without MULTI"));
    };
    if multi.failed {
        unwatch_all(client).await;
        return Err(CmdError::msg(
            "EXECABORT Transaction discarded because of previous errors.",
        ));
    }
    let shard = client.shard.clone();
    let n = shard.nshards;
    let registry = Registry::get();
    let databases = shard.dbs.borrow().len();

    // Plan: where each command's keys live, and whether all of it fits one shard.
    let mut keys: Vec<Vec<LockKey>> = vec![Vec::new(); n];
    let mut single: Option<Option<ShardId>> = Some(None);
    let mut db = client.db;
    for args in &multi.queue {
        let argv_spans = spans_of(args);
        let flat: Vec<u8> = args.concat();
        let argv = Argv::new(&flat, &argv_spans);
        let Some(spec) = registry.lookup(argv.get(0)) else {
            continue;
        };
        match spec.run {
            Run::Shard(_) => {
                let mode = lock_mode(spec);
                for p in spec.keys_of(&argv) {
                    if p >= argv.len() {
                        continue;
                    }
                    let k = argv.get(p);
                    let s = shard_of(k, n);
                    keys[s].push(lock_key(db as u32, k, mode));
                    single = match single {
                        Some(None) => Some(Some(s)),
                        Some(Some(t)) if t == s => Some(Some(s)),
                        _ => None,
                    };
                }
            }
            _ if spec.name == "select" => {
                if let Some(d) = std::str::from_utf8(argv.get(1))
                    .ok()
                    .and_then(|t| t.parse::<usize>().ok())
                    .filter(|&d| d < databases)
                {
                    db = d;
                }
                single = None;
            }
            _ => single = None,
        }
    }
    let watch = (client.watching != 0).then_some(client.id);

    // Every key on one shard (and any WATCH there too): one message does it all.
    if let Some(target) = single {
        let s = target.unwrap_or(shard.id);
        if client.watching & !(1u64 << s) == 0 {
            let mut args = PackedArgs::new();
            let mut dbs = Vec::new();
            for a in &multi.queue {
                args.push(a.iter().map(Vec::as_slice));
                dbs.push(client.db as u32);
            }
            let batch = Batch {
                proto: out.proto,
                dbs,
                args,
            };
            let count = batch.args.len();
            let r = shard.op(s, ShardOp::Exec { watch, batch }).await;
            unwatch_all(client).await;
            match r {
                OpResult::Bool(false) => out.null_array(),
                OpResult::Batch(reply) => {
                    out.array(count);
                    for i in 0..count {
                        out.raw(reply.get(i));
                    }
                }
                OpResult::Error(e) => return Err(CmdError::msg(e)),
                _ => return Err(CmdError::msg("ERR internal error: unexpected shard reply")),
            }
            return Ok(());
        }
    }

    // The general case: lock everything the queue touches, run it command by command.
    let mut txn = Txn::new(&shard);
    let dirty = match txn.lock(keys, watch, client.watching).await {
        Ok(dirty) => dirty,
        Err(e) => {
            unwatch_all(client).await;
            return Err(e);
        }
    };
    if dirty {
        txn.release().await;
        unwatch_all(client).await;
        out.null_array();
        return Ok(());
    }
    out.array(multi.queue.len());
    for args in &multi.queue {
        let spans = spans_of(args);
        let flat: Vec<u8> = args.concat();
        let argv = Argv::new(&flat, &spans);
        run_in_txn(client, &argv, out, &txn).await;
    }
    txn.release().await;
    unwatch_all(client).await;
    Ok(())
}

/// Runs one queued command of a transaction that holds its keys' locks.
async fn run_in_txn(client: &mut Client, argv: &Argv<'_>, out: &mut ReplyBuf, txn: &Txn) {
    let Some(spec) = Registry::get().lookup(argv.get(0)) else {
        out.error(commands::unknown_command(argv).message());
        return;
    };
    let shard = client.shard.clone();
    let result = match spec.run {
        Run::Conn(f) => f(client, argv, out),
        Run::Coord(f) => {
            let owned = argv.iter().map(<[u8]>::to_vec).collect();
            let r = Box::pin(f(client, owned, out)).await;
            client.now_ms = crate::shard::now_ms();
            r
        }
        Run::Shard(_) => {
            let mut owners = spec
                .keys_of(argv)
                .filter(|&p| p < argv.len())
                .map(|p| shard_of(argv.get(p), shard.nshards));
            let first = owners.next();
            let one = match first {
                None => Some(shard.id),
                Some(s) if owners.all(|o| o == s) => Some(s),
                Some(_) => None,
            };
            match one {
                Some(s) => {
                    let mut args = PackedArgs::new();
                    args.push_argv(argv);
                    let batch = Batch {
                        proto: out.proto,
                        dbs: vec![client.db as u32],
                        args,
                    };
                    let reply = txn.run(s, batch).await;
                    out.raw(reply.get(0));
                    Ok(())
                }
                None => match spec.cross {
                    commands::Cross::SumInts
                    | commands::Cross::AllOk
                    | commands::Cross::Interleave => {
                        super::coordinator::split_by_shard(
                            client,
                            spec,
                            spec.cross,
                            argv,
                            out,
                            Some(txn),
                        )
                        .await
                    }
                    // Gathered under the transaction's locks, reads too: a command's
                    // own coordinator sends plain commands, which would wait for
                    // this transaction's locks.
                    commands::Cross::Coord(f) if spec.name == "copy" && !can_gather(spec, argv) => {
                        let owned = argv.iter().map(<[u8]>::to_vec).collect();
                        f(client, owned, out).await
                    }
                    _ => run_gathered(client, spec, argv, out, Some(txn)).await,
                },
            }
        }
    };
    if let Err(e) = result {
        out.error(e.message());
    }
}

/// Spans of owned arguments laid end to end (see `Argv::new`).
fn spans_of(args: &[Vec<u8>]) -> Vec<(usize, usize)> {
    let mut at = 0;
    args.iter()
        .map(|a| {
            let span = (at, at + a.len());
            at += a.len();
            span
        })
        .collect()
}

/// WATCH: registers the keys with their owners.
pub async fn watch(client: &mut Client, keys: &[Vec<u8>]) -> CmdResult {
    if client.multi.is_some() {
        return Err(CmdError::msg("ERR WATCH inside MULTI is not allowed"));
    }
    let shard = client.shard.clone();
    let n = shard.nshards;
    let mut by_shard: Vec<Vec<Vec<u8>>> = vec![Vec::new(); n];
    for k in keys {
        by_shard[shard_of(k, n)].push(k.clone());
    }
    for (s, keys) in by_shard.into_iter().enumerate() {
        if keys.is_empty() {
            continue;
        }
        client.watching |= 1 << s;
        let op = ShardOp::Watch {
            id: client.id,
            db: client.db,
            keys,
        };
        shard.op(s, op).await;
    }
    Ok(())
}

/// UNWATCH (and the end of every EXEC/DISCARD): forgets all watched keys.
pub async fn unwatch_all(client: &mut Client) {
    if client.watching == 0 {
        return;
    }
    let shard = client.shard.clone();
    let calls: Vec<_> = (0..shard.nshards)
        .filter(|s| client.watching & (1 << s) != 0)
        .map(|s| shard.op(s, ShardOp::Unwatch { id: client.id }))
        .collect();
    join_all(calls).await;
    client.watching = 0;
}

/// Waits until a plain command's keys on this shard are free of transactions' locks.
pub async fn wait_local(shard: &Shard, db: usize, argv: &Argv<'_>) {
    shard.wait_command_free(db as u32, argv).await;
}
