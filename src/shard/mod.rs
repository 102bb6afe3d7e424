//! A shard: one glommio executor on one core, owning a hash-partitioned slice of the
//! keyspace (every logical database's keys that route here), its counters and its
//! clients. Shards share nothing mutable; they talk through `mesh`.

pub mod blocking;
pub mod keyspace;
pub mod locks;
pub mod mesh;
pub mod ops;
pub mod routing;
pub mod stats;
pub mod value;

use std::cell::{Cell, OnceCell, RefCell};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::commands::{self, Registry, Run, ShardCtx};
use crate::config::Config;
use crate::protocol::ReplyBuf;
use crate::server::client::ClientRegistry;
use crate::storage::journal::Journal;
use crate::storage::wal::SyncPolicy;
use crate::storage::Storage;
use crate::util::glob::glob_match;
use keyspace::Keyspace;
use locks::{LockMode, LockTable, TxnId};
use mesh::{Batch, BatchReply, Mesh, Request, Response};
use ops::{OpResult, PutMode, ShardOp};
pub use routing::{shard_of, ShardId};
use stats::{Counters, DbStats, ShardStats};

/// The few facts every core shares: set once at start, or simple flags and counters that
/// are read rarely (never on the per-command path).
pub struct Process {
    /// Set by SHUTDOWN or a signal; every core polls it.
    pub shutdown: std::sync::Arc<AtomicBool>,
    /// Whether shutdown takes a last snapshot: `SHUTDOWN_DEFAULT`, `_SAVE` or `_NOSAVE`.
    pub shutdown_save: std::sync::atomic::AtomicU8,
    /// Connected clients across all cores, for `maxclients`.
    pub clients: AtomicUsize,
    /// Cores that have finished serving their connections during shutdown.
    pub drained: AtomicUsize,
    pub started_ms: u64,
    pub run_id: String,
    pub config_file: std::path::PathBuf,
    pub tcp_port: u16,
}

/// Shutdown snapshots: when durability is on (default), always (SHUTDOWN SAVE), never
/// (SHUTDOWN NOSAVE).
pub const SHUTDOWN_DEFAULT: u8 = 0;
pub const SHUTDOWN_SAVE: u8 = 1;
pub const SHUTDOWN_NOSAVE: u8 = 2;

/// Milliseconds since the Unix epoch.
#[inline]
pub fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

pub struct Shard {
    pub id: ShardId,
    pub nshards: usize,
    pub dbs: RefCell<Vec<Keyspace>>,
    mesh: RefCell<Option<Rc<Mesh>>>,
    pub counters: Counters,
    /// This core's copy of the configuration; CONFIG SET updates every core's copy.
    pub config: RefCell<Config>,
    pub clients: RefCell<ClientRegistry>,
    /// This core's pub/sub subscribers.
    pub pubsub: RefCell<crate::server::pubsub::Registry>,
    pub process: std::sync::Arc<Process>,
    pub rng: RefCell<fastrand::Rng>,
    /// Bumped when the configuration changes, so connections re-read their limits.
    pub config_epoch: Cell<u64>,
    /// The shard's WAL and snapshots; set once recovery is done.
    storage: OnceCell<Rc<Storage>>,
    journal: Rc<Journal>,
    /// Keys locked by cross-shard transactions (see `locks`).
    pub locks: RefCell<LockTable>,
    /// Numbers this shard's transactions (`txn_id`).
    next_txn: Cell<u64>,
    /// Clients blocked on this shard's keys (BLPOP...).
    pub blocked: RefCell<blocking::Blocked>,
    /// The SQL schemas this core has read, to plan statements without asking the
    /// schemas' shards each time.
    pub sql_schemas: RefCell<crate::sql::SchemaCache>,
}

impl Shard {
    pub fn new(
        id: ShardId,
        nshards: usize,
        config: Config,
        process: std::sync::Arc<Process>,
        journal: Rc<Journal>,
    ) -> Rc<Shard> {
        let dbs = (0..config.databases)
            .map(|db| Keyspace::with_journal(db as u32, journal.clone()))
            .collect();
        Rc::new(Shard {
            id,
            nshards,
            dbs: RefCell::new(dbs),
            mesh: RefCell::new(None),
            counters: Counters::default(),
            config: RefCell::new(config),
            clients: RefCell::new(ClientRegistry::default()),
            pubsub: RefCell::new(Default::default()),
            process,
            rng: RefCell::new(fastrand::Rng::new()),
            config_epoch: Cell::new(0),
            storage: OnceCell::new(),
            journal,
            locks: RefCell::new(LockTable::default()),
            next_txn: Cell::new(1),
            blocked: RefCell::new(Default::default()),
            sql_schemas: RefCell::new(Default::default()),
        })
    }

    pub fn journal(&self) -> &Rc<Journal> {
        &self.journal
    }

    /// Installs the storage once recovery is done.
    pub fn set_storage(&self, storage: Rc<Storage>) {
        if self.storage.set(storage).is_err() {
            panic!("storage installed twice");
        }
    }

    pub fn storage(&self) -> &Rc<Storage> {
        self.storage.get().expect("storage installed at start")
    }

    /// Under `durability=always`, waits until every record up to LSN `upto` is on disk;
    /// the replies of the commands that wrote or read them may leave only then (nothing
    /// is waited for when they are durable already). Fails when the WAL can no longer be
    /// written.
    pub async fn ack_writes(&self, upto: u64) -> Result<(), Rc<str>> {
        match self.storage.get().and_then(|s| s.wal.as_ref()) {
            Some(wal) if wal.policy() == SyncPolicy::Always => {
                self.journal.wait_durable(upto).await
            }
            _ => Ok(()),
        }
    }

    /// Joins the mesh; call once at start on the shard's own executor.
    pub async fn join_mesh(self: &Rc<Self>, ends: mesh::MeshEnds) {
        Mesh::connect(ends, self.clone(), &self.mesh).await;
    }

    fn mesh(&self) -> Rc<Mesh> {
        self.mesh.borrow().clone().expect("mesh joined")
    }

    /// Runs a batch of shard-local commands, appending each reply to `out` and its end
    /// offset to `ends`. Used both for forwarded batches and by the local path.
    pub fn run_batch(&self, batch: &Batch, reply: &mut BatchReply) {
        let registry = Registry::get();
        let mut out = ReplyBuf {
            buf: std::mem::take(&mut reply.out),
            proto: batch.proto,
        };
        let mut dbs = self.dbs.borrow_mut();
        let mut rng = self.rng.borrow_mut();
        let now = now_ms();
        let failure = self.journal.failure();
        for (i, argv) in batch.args.iter().enumerate() {
            let spec = registry.lookup(argv.get(0));
            if let (Some(why), Some(spec)) = (&failure, spec) {
                if spec.has(commands::flags::WRITE) {
                    out.error(why);
                    reply.ends.push(out.len());
                    continue;
                }
            }
            match spec.map(|s| s.run) {
                Some(Run::Shard(f)) => {
                    let mut ctx = ShardCtx {
                        dbs: &mut dbs,
                        db: batch.dbs[i] as usize,
                        now_ms: now,
                        out: &mut out,
                        rng: &mut rng,
                    };
                    commands::run_shard_command(f, &mut ctx, &argv);
                    if !self.blocked.borrow().is_empty() {
                        self.mark_written(batch.dbs[i] as usize, spec, &argv);
                    }
                }
                // The coordinator only forwards shard commands it has looked up.
                _ => out.error("ERR internal error: command cannot run on a remote shard"),
            }
            reply.ends.push(out.len());
        }
        Counters::add(&self.counters.commands, batch.args.len() as u64);
        reply.out = out.buf;
        if self.blocked.borrow().has_ready() {
            self.serve_blocked(&mut dbs, &mut rng);
        }
    }

    /// After write command `argv` ran on database `db` here: marks its keys that
    /// clients wait on as ready (call only when some client is blocked here).
    pub fn mark_written(
        &self,
        db: usize,
        spec: Option<&commands::CommandSpec>,
        argv: &crate::protocol::Argv<'_>,
    ) {
        let Some(spec) = spec.filter(|s| s.has(commands::flags::WRITE)) else {
            return;
        };
        let mut blocked = self.blocked.borrow_mut();
        if spec.name == "move" {
            // The key lands in another database.
            blocked.mark_all();
            return;
        }
        for p in spec.keys_of(argv) {
            if p < argv.len() {
                blocked.mark(db, argv.get(p));
            }
        }
    }

    /// Serves the clients blocked on keys marked ready, first blocked first, while the
    /// keys hold something: each waiter's pop runs as a command of its own (journaled
    /// like LPOP), and its reply goes to its waiting op. Keys a transaction holds are
    /// left until it releases them, so no waiter sees a transaction half done.
    pub fn serve_blocked(&self, dbs: &mut [Keyspace], rng: &mut fastrand::Rng) {
        if !self.locks.borrow().is_empty() {
            return;
        }
        let now = now_ms();
        loop {
            let Some((db, key)) = self.blocked.borrow_mut().take_ready() else {
                return;
            };
            let ids = self.blocked.borrow().waiting_on(db, &key);
            for id in ids {
                let Some(slot) = dbs[db].lookup(&key, now) else {
                    break;
                };
                let value = &dbs[db].entry(slot).value;
                let (args, proto) = {
                    let blocked = self.blocked.borrow();
                    let Some(w) = blocked.get(id) else { continue };
                    if !commands::blocking::kind_matches(value, w.zsets) {
                        continue;
                    }
                    if w.notify_only {
                        // It pops on its own later; the element stays for it or for
                        // the waiters after it.
                        drop(blocked);
                        self.blocked.borrow_mut().serve(id, Vec::new());
                        continue;
                    }
                    if blocking::abandoned(&w.reply) {
                        drop(blocked);
                        self.blocked.borrow_mut().unblock(id);
                        continue;
                    }
                    (w.args.clone(), w.proto)
                };
                let spans = blocking::spans_of(&args);
                let flat = args.concat();
                let argv = crate::protocol::Argv::new(&flat, &spans);
                let mut out = ReplyBuf::new(proto);
                let mut ctx = ShardCtx {
                    dbs,
                    db,
                    now_ms: now,
                    out: &mut out,
                    rng,
                };
                if commands::blocking::serve(&mut ctx, &argv) {
                    Counters::add(&self.counters.commands, 1);
                    let mut blocked = self.blocked.borrow_mut();
                    blocked.serve(id, out.buf);
                    if let Some(dst) = commands::blocking::destination(&argv) {
                        blocked.mark(db, dst);
                    }
                }
            }
        }
    }

    /// Marks keys changed by an op ready and serves their waiters.
    fn after_op_write<'k>(
        &self,
        dbs: &mut [Keyspace],
        db: usize,
        keys: impl Iterator<Item = &'k [u8]>,
    ) {
        if self.blocked.borrow().is_empty() {
            return;
        }
        {
            let mut blocked = self.blocked.borrow_mut();
            for k in keys {
                blocked.mark(db, k);
            }
        }
        self.serve_blocked(dbs, &mut self.rng.borrow_mut());
    }

    /// A blocking pop: pops at once when it can, else parks the client until a write
    /// serves it (`serve_blocked`), its timeout passes (a timer on this core, so the
    /// two never both happen) or it is unblocked.
    async fn block(
        self: &Rc<Self>,
        id: u64,
        db: usize,
        proto: crate::protocol::Protocol,
        args: Vec<Vec<u8>>,
    ) -> OpResult {
        let spans = blocking::spans_of(&args);
        let flat = args.concat();
        let argv = crate::protocol::Argv::new(&flat, &spans);
        if !self.locks.borrow().is_empty() {
            self.wait_command_free(db as u32, &argv).await;
        }
        let mut out = ReplyBuf::new(proto);
        let attempt = {
            let mut dbs = self.dbs.borrow_mut();
            let mut rng = self.rng.borrow_mut();
            let mut ctx = ShardCtx {
                dbs: &mut dbs,
                db,
                now_ms: now_ms(),
                out: &mut out,
                rng: &mut rng,
            };
            commands::blocking::attempt(&mut ctx, &argv)
        };
        Counters::add(&self.counters.commands, 1);
        let commands::blocking::Attempt::Wait {
            timeout_ms,
            keys,
            zsets,
        } = attempt
        else {
            return OpResult::Reply(out.buf);
        };
        let reply = blocking::reply_slot();
        self.blocked.borrow_mut().park(
            id,
            blocking::Waiter {
                db,
                proto,
                args,
                keys,
                zsets,
                notify_only: false,
                reply: reply.clone(),
            },
        );
        let served = if timeout_ms == 0 {
            reply.wait().await
        } else {
            let timer = async {
                glommio::timer::sleep(Duration::from_millis(timeout_ms)).await;
                None
            };
            // The reply is looked at first: a waiter served just as its timer fired
            // keeps what it popped.
            futures_lite::future::or(reply.wait(), timer).await
        };
        match served {
            Some(bytes) => OpResult::Reply(bytes),
            None if reply.was_dropped() => OpResult::Done,
            None => {
                self.blocked.borrow_mut().remove_if(id, &reply);
                commands::blocking::reply_timeout(&mut out);
                OpResult::Reply(out.buf)
            }
        }
    }

    /// Runs a batch of shard-local commands on another shard.
    pub async fn call_batch(&self, to: ShardId, batch: Batch) -> BatchReply {
        Counters::add(&self.counters.forwarded_batches, 1);
        self.mesh().call_batch(to, batch).await
    }

    /// Sends a request to another shard and waits for the reply.
    pub async fn call(&self, to: ShardId, request: Request) -> Response {
        self.mesh().call(to, request).await
    }

    /// Runs a typed op on shard `to` (inline when it is this shard).
    pub async fn op(self: &Rc<Self>, to: ShardId, op: ShardOp) -> OpResult {
        if to == self.id {
            return self.run_op_async(op).await;
        }
        match self.call(to, Request::Op(op)).await {
            Response::Op(r) => r,
            Response::Batches(_) => OpResult::Error("ERR internal error: unexpected reply".into()),
        }
    }

    /// Runs `make(shard)` on every shard concurrently and returns the results in shard
    /// order.
    pub async fn broadcast(self: &Rc<Self>, make: impl Fn(ShardId) -> ShardOp) -> Vec<OpResult> {
        let futures: Vec<_> = (0..self.nshards).map(|s| self.op(s, make(s))).collect();
        join_all(futures).await
    }

    /// Key count of logical database `db` on every shard, in shard order (DBSIZE sums
    /// them; RANDOMKEY weighs shards by them).
    pub async fn db_sizes(self: &Rc<Self>, db: usize) -> Vec<u64> {
        self.broadcast(|_| ShardOp::DbSize { db })
            .await
            .into_iter()
            .map(|r| match r {
                OpResult::Int(n) => n.max(0) as u64,
                _ => 0,
            })
            .collect()
    }

    /// Executes an op, including those that take time (snapshots).
    async fn run_op_async(self: &Rc<Self>, op: ShardOp) -> OpResult {
        match op {
            ShardOp::Save => match self.storage().snapshot(&self.dbs).await {
                Ok(()) => OpResult::Done,
                Err(e) => OpResult::Error(e),
            },
            ShardOp::BgSave { schedule } => {
                let running = self.storage().snapshot_in_progress();
                if running && !schedule {
                    return OpResult::Error("ERR Background save already in progress".into());
                }
                let shard = self.clone();
                let mut save = Box::pin(async move {
                    shard.storage().snapshot_idle().await;
                    let _ = shard.storage().snapshot(&shard.dbs).await;
                });
                // Run it up to its first await here: a snapshot that can start takes its
                // point in time before the reply leaves, as a fork would, so that every
                // write acknowledged before "Background saving started" is in it and
                // none sent after it.
                if futures_lite::future::poll_once(&mut save).await.is_none() {
                    glommio::spawn_local(save).detach();
                }
                OpResult::Bool(running)
            }
            ShardOp::Lock { txn, keys, watch } => {
                locks::acquire(&self.locks, txn, &keys).await;
                if let Some(why) = self.refuses_writes(&keys) {
                    self.locks.borrow_mut().release(txn);
                    return OpResult::Error(why);
                }
                let dirty = watch.is_some_and(|id| self.watch_dirty(id));
                OpResult::Bool(dirty)
            }
            ShardOp::TxnBatch {
                txn,
                lock,
                batch,
                unlock,
            } => {
                if !lock.is_empty() {
                    locks::acquire(&self.locks, txn, &lock).await;
                    if let Some(why) = self.refuses_writes(&lock) {
                        self.locks.borrow_mut().release(txn);
                        return OpResult::Error(why);
                    }
                }
                let mut reply = BatchReply::default();
                self.run_batch(&batch, &mut reply);
                if unlock {
                    self.locks.borrow_mut().release(txn);
                    self.serve_after_unlock();
                }
                OpResult::Batch(reply)
            }
            ShardOp::Block {
                id,
                db,
                proto,
                args,
            } => self.block(id, db, proto, args).await,
            ShardOp::WatchReady {
                id,
                db,
                keys,
                zsets,
            } => {
                let now = now_ms();
                let mut dbs = self.dbs.borrow_mut();
                // Something to pop already: no need to wait (`Bool(true)`).
                let ready = keys.iter().any(|k| {
                    dbs[db].find_live(k, now).is_some_and(|slot| {
                        commands::blocking::kind_matches(&dbs[db].entry(slot).value, zsets)
                    })
                });
                if ready {
                    return OpResult::Bool(true);
                }
                let positions = (0..keys.len()).collect();
                self.blocked.borrow_mut().park(
                    id,
                    blocking::Waiter {
                        db,
                        proto: crate::protocol::Protocol::Resp2,
                        args: keys,
                        keys: positions,
                        zsets,
                        notify_only: true,
                        reply: blocking::reply_slot(),
                    },
                );
                OpResult::Done
            }
            ShardOp::AwaitReady { id } => {
                let reply = self
                    .blocked
                    .borrow()
                    .get(id)
                    .filter(|w| w.notify_only)
                    .map(|w| w.reply.clone());
                // Gone already: notified (or unblocked) before this op came.
                if let Some(reply) = reply {
                    reply.wait().await;
                }
                OpResult::Done
            }
            ShardOp::Sql(op) => OpResult::Sql(Box::new(crate::sql::ops::serve(self, *op).await)),
            ShardOp::Exec { watch, batch } => {
                self.wait_batch_free(&batch).await;
                if watch.is_some_and(|id| self.watch_dirty(id)) {
                    return OpResult::Bool(false);
                }
                let mut reply = BatchReply::default();
                // One journal record for the whole transaction: a crash keeps all of
                // it or none.
                self.journal.begin_group();
                self.run_batch(&batch, &mut reply);
                self.journal.end_group();
                OpResult::Batch(reply)
            }
            op => self.run_op(op),
        }
    }

    /// Why a transaction that would write `keys` here must be refused: this shard's WAL
    /// has failed (checked when it locks, so that no shard applies its part of a
    /// write another shard cannot journal).
    pub fn refuses_writes(&self, keys: &[locks::LockKey]) -> Option<String> {
        let writes = keys.iter().any(|(_, _, mode)| *mode == LockMode::Exclusive);
        writes
            .then(|| self.journal.failure())
            .flatten()
            .map(|why| why.to_string())
    }

    /// Serves waiters whose keys became ready while a transaction held them.
    fn serve_after_unlock(&self) {
        if self.blocked.borrow().has_ready() {
            self.serve_blocked(&mut self.dbs.borrow_mut(), &mut self.rng.borrow_mut());
        }
    }

    /// A new transaction id, unique across shards.
    pub fn txn_id(&self) -> TxnId {
        let seq = self.next_txn.get();
        self.next_txn.set(seq + 1);
        (seq << 16) | self.id as u64
    }

    /// Whether connection `id` watches a key here that changed (or expired) since.
    pub fn watch_dirty(&self, id: u64) -> bool {
        let now = now_ms();
        let mut dirty = false;
        for ks in self.dbs.borrow_mut().iter_mut() {
            dirty |= ks.watch_dirty(id, now);
        }
        dirty
    }

    /// Whether a command of a batch names a key that a transaction holds.
    fn batch_blocked(&self, batch: &Batch) -> bool {
        let locks = self.locks.borrow();
        !locks.is_empty()
            && batch
                .args
                .iter()
                .zip(&batch.dbs)
                .any(|(argv, &db)| command_blocked(&locks, 0, db, &argv))
    }

    /// Waits until no command of `batch` names a key a transaction holds.
    async fn wait_batch_free(&self, batch: &Batch) {
        while self.batch_blocked(batch) {
            let seen = self.locks.borrow().released().generation();
            locks::Notify::wait_past(&self.locks, seen).await;
        }
    }

    /// Waits until the keys of a plain command are free of transactions' locks. Costs a
    /// branch when nothing is locked.
    #[inline]
    pub async fn wait_command_free(&self, db: u32, argv: &crate::protocol::Argv<'_>) {
        if self.locks.borrow().is_empty() {
            return;
        }
        locks::wait_until_free(&self.locks, |t| command_blocked(t, 0, db, argv)).await;
    }

    /// Takes a snapshot whenever the WAL has grown past `wal_size_threshold_mb` since the
    /// last one, so that recovery never replays more than about that much log.
    pub async fn snapshot_when_wal_grows(self: Rc<Self>) {
        loop {
            glommio::timer::sleep(Duration::from_millis(100)).await;
            if self.process.shutdown.load(Ordering::Relaxed) {
                return;
            }
            let storage = self.storage();
            if storage.wal.is_none() || storage.snapshot_in_progress() {
                continue;
            }
            let threshold = self.config.borrow().wal_size_threshold_mb << 20;
            if self.journal.bytes_since_snapshot() >= threshold {
                let _ = storage.snapshot(&self.dbs).await;
            }
        }
    }

    /// Executes an op against this shard's state.
    pub fn run_op(&self, op: ShardOp) -> OpResult {
        if op.writes() {
            if let Some(why) = self.journal.failure() {
                // A refused transaction part still lets go of its locks.
                if let ShardOp::Apply {
                    txn, unlock: true, ..
                } = op
                {
                    self.locks.borrow_mut().release(txn);
                }
                return OpResult::Error(why.to_string());
            }
        }
        let now = now_ms();
        let mut dbs = self.dbs.borrow_mut();
        match op {
            ShardOp::DbSize { db } => OpResult::Int(dbs[db].len() as i64),
            ShardOp::Keys { db, pattern } => {
                let ks = &dbs[db];
                let all = crate::util::glob::is_match_all(&pattern);
                let mut keys = Vec::new();
                ks.scan(0, usize::MAX, |e| {
                    let live = e.expire_at().is_none_or(|t| t > now);
                    if live && (all || glob_match(&pattern, &e.key, false)) {
                        keys.push(e.key.to_vec());
                    }
                });
                OpResult::Keys(keys)
            }
            ShardOp::Scan {
                db,
                cursor,
                count,
                pattern,
                kind,
            } => {
                let ks = &mut dbs[db];
                let mut keys = Vec::new();
                let mut expired = Vec::new();
                let next = ks.scan(cursor, count, |e| {
                    if e.expire_at().is_some_and(|t| t <= now) {
                        expired.push(e.key.to_vec());
                        return;
                    }
                    if let Some(p) = &pattern {
                        if !glob_match(p, &e.key, false) {
                            return;
                        }
                    }
                    if let Some(k) = &kind {
                        if !k.eq_ignore_ascii_case(e.value.type_name().as_bytes()) {
                            return;
                        }
                    }
                    keys.push(e.key.to_vec());
                });
                // SCAN deletes the expired keys it meets, as Redis does.
                for k in expired {
                    ks.remove(&k);
                    Counters::add(&self.counters.expired_keys, 1);
                }
                OpResult::Scan { next, keys }
            }
            ShardOp::RandomKey { db } => {
                let ks = &mut dbs[db];
                let mut rng = self.rng.borrow_mut();
                // Skip over expired keys (deleting them), but give up after a while so a
                // keyspace full of expired keys cannot stall the core.
                for _ in 0..100 {
                    let Some(slot) = ks.random_slot(&mut rng) else {
                        return OpResult::Key(None);
                    };
                    let e = ks.entry(slot);
                    if e.expire_at().is_some_and(|t| t <= now) {
                        ks.remove_slot(slot);
                        Counters::add(&self.counters.expired_keys, 1);
                        continue;
                    }
                    return OpResult::Key(Some(e.key.to_vec()));
                }
                OpResult::Key(None)
            }
            ShardOp::FlushDb { db } => {
                dbs[db].clear();
                OpResult::Done
            }
            ShardOp::FlushAll => {
                dbs.iter_mut().for_each(Keyspace::clear);
                OpResult::Done
            }
            ShardOp::SwapDb { a, b } => {
                keyspace::swap_dbs(&mut dbs, a, b);
                if !self.blocked.borrow().is_empty() {
                    self.blocked.borrow_mut().mark_all();
                    self.serve_blocked(&mut dbs, &mut self.rng.borrow_mut());
                }
                OpResult::Done
            }
            ShardOp::Take { db, key } => {
                let ks = &mut dbs[db];
                match ks.find_live(&key, now) {
                    Some(slot) => {
                        let e = ks.remove_slot(slot);
                        let exp = e.expire_at();
                        OpResult::Value(Some((e.value, exp)))
                    }
                    None => OpResult::Value(None),
                }
            }
            ShardOp::Peek { db, key } => {
                let ks = &mut dbs[db];
                match ks.find_live(&key, now) {
                    Some(slot) => {
                        let e = ks.entry(slot);
                        OpResult::Value(Some((e.value.clone(), e.expire_at())))
                    }
                    None => OpResult::Value(None),
                }
            }
            ShardOp::Put {
                db,
                key,
                value,
                expire_at,
                mode,
            } => {
                let ks = &mut dbs[db];
                if mode == PutMode::IfAbsent && ks.find_live(&key, now).is_some() {
                    return OpResult::Bool(false);
                }
                ks.insert(&key, value, expire_at, now);
                self.after_op_write(&mut dbs, db, std::iter::once(key.as_slice()));
                OpResult::Bool(true)
            }
            ShardOp::Exists { db, key } => OpResult::Bool(dbs[db].find_live(&key, now).is_some()),
            ShardOp::Stats => OpResult::Stats(Box::new(self.stats_locked(&dbs))),
            ShardOp::ClientList => OpResult::Clients(self.clients.borrow().list_lines(now)),
            ShardOp::Publish {
                sharded,
                channel,
                message,
            } => {
                let n = self
                    .pubsub
                    .borrow_mut()
                    .publish(sharded, &channel, &message);
                OpResult::Int(n as i64)
            }
            ShardOp::PubSubNames { kind, pattern } => {
                OpResult::Keys(self.pubsub.borrow().names(kind, pattern.as_deref()))
            }
            ShardOp::PubSubCounts { kind, names } => {
                OpResult::Ints(self.pubsub.borrow().counts(kind, &names))
            }
            ShardOp::ConfigSet { name, value } => {
                drop(dbs);
                let mut config = self.config.borrow_mut();
                match config.config_set(&name, &value) {
                    Ok(()) => {
                        // The log filter is process-wide; every shard applying it is harmless.
                        crate::logging::set_level(&config.log_level);
                        if let (Some(wal), Some(policy)) = (
                            self.storage.get().and_then(|s| s.wal.as_ref()),
                            SyncPolicy::for_durability(config.durability),
                        ) {
                            wal.set_policy(policy);
                        }
                        self.config_epoch.set(self.config_epoch.get() + 1);
                        OpResult::Done
                    }
                    Err(e) => OpResult::Error(e),
                }
            }
            ShardOp::Save
            | ShardOp::BgSave { .. }
            | ShardOp::Lock { .. }
            | ShardOp::TxnBatch { .. }
            | ShardOp::Block { .. }
            | ShardOp::WatchReady { .. }
            | ShardOp::AwaitReady { .. }
            | ShardOp::Sql(_)
            | ShardOp::Exec { .. } => {
                OpResult::Error("ERR internal error: op runs asynchronously".into())
            }
            ShardOp::Unlock { txn } => {
                self.locks.borrow_mut().release(txn);
                if self.blocked.borrow().has_ready() {
                    self.serve_blocked(&mut dbs, &mut self.rng.borrow_mut());
                }
                OpResult::Done
            }
            ShardOp::Unblock { id } => {
                self.blocked.borrow_mut().unblock(id);
                OpResult::Done
            }
            ShardOp::Watch { id, db, keys } => {
                for k in &keys {
                    dbs[db].watch(id, k, now);
                }
                OpResult::Done
            }
            ShardOp::Unwatch { id } => {
                for ks in dbs.iter_mut() {
                    ks.unwatch(id);
                }
                OpResult::Done
            }
            ShardOp::Fetch { db, keys } => OpResult::Values(
                keys.iter()
                    .map(|k| {
                        let slot = dbs[db].find_live(k, now)?;
                        let e = dbs[db].entry(slot);
                        Some((e.value.clone(), e.expire_at()))
                    })
                    .collect(),
            ),
            ShardOp::Apply {
                txn,
                db,
                changes,
                unlock,
            } => {
                let ks = &mut dbs[db];
                self.journal.begin_group();
                let mut written = Vec::new();
                let waiting = !self.blocked.borrow().is_empty();
                for (key, change) in changes {
                    match change {
                        Some((value, expire_at)) => {
                            ks.insert(&key, value, expire_at, now);
                            if waiting {
                                written.push(key);
                            }
                        }
                        None => {
                            ks.remove(&key);
                        }
                    }
                }
                self.journal.end_group();
                if unlock {
                    self.locks.borrow_mut().release(txn);
                }
                self.after_op_write(&mut dbs, db, written.iter().map(Vec::as_slice));
                OpResult::Done
            }
            ShardOp::ResetStats => {
                let (expired, hits, misses) = keyspace_totals(&dbs);
                self.counters.reset(expired, hits, misses);
                OpResult::Done
            }
        }
    }

    fn stats_locked(&self, dbs: &[Keyspace]) -> ShardStats {
        let c = &self.counters;
        let (expired, hits, misses) = keyspace_totals(dbs);
        ShardStats {
            id: self.id,
            dbs: dbs
                .iter()
                .map(|k| DbStats {
                    keys: k.len(),
                    expires: k.expires(),
                })
                .collect(),
            used_memory: dbs.iter().map(Keyspace::memory).sum(),
            commands: c.commands.get(),
            connected_clients: self.clients.borrow().len(),
            connections_received: c.connections_received.get(),
            rejected_connections: c.rejected_connections.get(),
            net_input_bytes: c.net_input_bytes.get(),
            net_output_bytes: c.net_output_bytes.get(),
            expired_keys: c.expired_keys.get() + expired.saturating_sub(c.expired_base.get()),
            keyspace_hits: c.keyspace_hits.get() + hits.saturating_sub(c.hits_base.get()),
            keyspace_misses: c.keyspace_misses.get() + misses.saturating_sub(c.misses_base.get()),
            forwarded_batches: c.forwarded_batches.get(),
            served_batches: c.served_batches.get(),
            persistence: self.persistence_stats(),
        }
    }

    fn persistence_stats(&self) -> stats::PersistenceStats {
        let j = &self.journal;
        let storage = self.storage.get();
        let wal = storage.and_then(|s| s.wal.as_ref());
        stats::PersistenceStats {
            snapshot: storage.map(|s| s.status()).unwrap_or_default(),
            changes_since_snapshot: j.changes_since_snapshot(),
            wal_enabled: wal.is_some(),
            wal_bytes: wal.map_or(0, |w| w.disk_bytes()),
            wal_segments: wal.map_or(0, |w| w.segment_count()),
            last_lsn: j.last_lsn(),
            durable_lsn: j.durable_lsn(),
            wal_failure: j.failure().map(|f| f.to_string()),
        }
    }

    /// The active expiry cycle: Redis's algorithm, per shard. Every 100 ms, sample 20 keys
    /// with a TTL in each database and delete the expired ones; repeat while more than a
    /// quarter of a sample had expired, within a time budget, so that keys nobody reads
    /// still go away without the cycle ever stalling the core.
    pub async fn active_expire_loop(self: Rc<Self>) {
        const SAMPLE: usize = 20;
        const BUDGET: Duration = Duration::from_millis(5);
        loop {
            glommio::timer::sleep(Duration::from_millis(100)).await;
            if self.process.shutdown.load(Ordering::Relaxed) {
                return;
            }
            let start = std::time::Instant::now();
            let now = now_ms();
            let mut dbs = self.dbs.borrow_mut();
            let mut rng = self.rng.borrow_mut();
            for ks in dbs.iter_mut() {
                loop {
                    let (sampled, expired) = ks.expire_sample(now, SAMPLE, &mut rng);
                    if sampled == 0 || expired * 4 <= sampled || start.elapsed() > BUDGET {
                        break;
                    }
                }
            }
        }
    }
}

impl mesh::RequestHandler for Shard {
    async fn handle(self: &Rc<Self>, _from: ShardId, request: Request) -> Response {
        let before = self.journal.last_lsn();
        let response = self.serve(request).await;
        match self.ack_writes(self.journal.last_lsn()).await {
            Ok(()) => response,
            // A WAL failure: reads are still answered.
            Err(_) if self.journal.last_lsn() == before => response,
            // Nothing this request wrote can be acknowledged.
            Err(why) => match response {
                Response::Batches(replies) => Response::Batches(
                    replies
                        .into_iter()
                        .map(|r| {
                            let mut out = ReplyBuf::new(crate::protocol::Protocol::Resp2);
                            let mut ends = Vec::with_capacity(r.ends.len());
                            for _ in 0..r.ends.len() {
                                out.error(&why);
                                ends.push(out.len());
                            }
                            BatchReply { out: out.buf, ends }
                        })
                        .collect(),
                ),
                Response::Op(_) => Response::Op(OpResult::Error(why.to_string())),
            },
        }
    }
}

impl Shard {
    async fn serve(self: &Rc<Self>, request: Request) -> Response {
        match request {
            Request::Batches(batches) => {
                Counters::add(&self.counters.served_batches, batches.len() as u64);
                let mut replies: Vec<Option<BatchReply>> = Vec::with_capacity(batches.len());
                let mut deferred = false;
                for batch in &batches {
                    // A batch naming a key that a transaction holds waits for it, after
                    // the others have run: they belong to other connections, and one of
                    // them may be the transaction's own work.
                    if self.batch_blocked(batch) {
                        replies.push(None);
                        deferred = true;
                        continue;
                    }
                    replies.push(Some(self.run_new_batch(batch)));
                }
                if deferred {
                    for (batch, reply) in batches.iter().zip(replies.iter_mut()) {
                        if reply.is_none() {
                            self.wait_batch_free(batch).await;
                            *reply = Some(self.run_new_batch(batch));
                        }
                    }
                }
                Response::Batches(replies.into_iter().map(|r| r.expect("ran")).collect())
            }
            Request::Op(op) => Response::Op(self.run_op_async(op).await),
        }
    }
}

impl Shard {
    fn run_new_batch(&self, batch: &Batch) -> BatchReply {
        let mut reply = BatchReply {
            out: Vec::with_capacity(batch.args.len() * 16),
            ends: Vec::with_capacity(batch.args.len()),
        };
        self.run_batch(batch, &mut reply);
        reply
    }
}

/// Whether a command run by `txn` (0: a plain command) must wait for a key another
/// transaction holds: writes wait for any lock, reads only for exclusive ones.
pub fn command_blocked(
    locks: &LockTable,
    txn: TxnId,
    db: u32,
    argv: &crate::protocol::Argv<'_>,
) -> bool {
    let Some(spec) = Registry::get().lookup(argv.get(0)) else {
        return false;
    };
    if !spec.arity_ok(argv.len()) {
        return false;
    }
    let mode = if spec.has(commands::flags::WRITE) {
        LockMode::Exclusive
    } else {
        LockMode::Shared
    };
    spec.keys_of(argv)
        .any(|p| p < argv.len() && locks.conflicts(txn, db, argv.get(p), mode))
}

/// The keyspaces' own counters summed over every database: (expired, hits, misses).
fn keyspace_totals(dbs: &[Keyspace]) -> (u64, u64, u64) {
    dbs.iter().fold((0, 0, 0), |(e, h, m), k| {
        (e + k.expired_count(), h + k.hits(), m + k.misses())
    })
}

/// Awaits every future, returning their outputs in order. The futures run concurrently
/// on this core (they mostly wait on other shards).
pub async fn join_all<F: std::future::Future>(futures: Vec<F>) -> Vec<F::Output> {
    let handles: Vec<_> = futures.into_iter().map(|f| Box::pin(f)).collect();
    let mut outputs: Vec<Option<F::Output>> = handles.iter().map(|_| None).collect();
    let mut handles: Vec<Option<_>> = handles.into_iter().map(Some).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (h, o) in handles.iter_mut().zip(outputs.iter_mut()) {
            if let Some(fut) = h {
                match fut.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => {
                        *o = Some(v);
                        *h = None;
                    }
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    outputs.into_iter().map(|o| o.expect("completed")).collect()
}
