//! Typed operations a coordinator asks of every shard (or of one): the keyspace-wide
//! parts of KEYS, SCAN, DBSIZE, FLUSH*, SWAPDB, INFO, and the halves of cross-shard key
//! moves. Pipelined key commands travel as `mesh::Batch` instead; these are the rest.

use super::locks::{LockKey, TxnId};
use super::mesh::{Batch, BatchReply};
use std::sync::Arc;

use super::value::Value;
use crate::server::pubsub::Kind;

/// How `Put` treats an existing destination key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PutMode {
    /// Overwrite it.
    Replace,
    /// Leave it and report failure.
    IfAbsent,
}

#[derive(Debug)]
pub enum ShardOp {
    DbSize {
        db: usize,
    },
    Keys {
        db: usize,
        pattern: Vec<u8>,
    },
    Scan {
        db: usize,
        cursor: usize,
        count: usize,
        pattern: Option<Vec<u8>>,
        kind: Option<Vec<u8>>,
    },
    RandomKey {
        db: usize,
    },
    FlushDb {
        db: usize,
    },
    FlushAll,
    SwapDb {
        a: usize,
        b: usize,
    },
    /// Removes a key and hands over its value and expiry (source side of RENAME/MOVE).
    Take {
        db: usize,
        key: Vec<u8>,
    },
    /// Copies a key's value and expiry out (source side of COPY).
    Peek {
        db: usize,
        key: Vec<u8>,
    },
    /// Stores a value (destination side of RENAME/COPY).
    Put {
        db: usize,
        key: Vec<u8>,
        value: Value,
        expire_at: Option<u64>,
        mode: PutMode,
    },
    Exists {
        db: usize,
        key: Vec<u8>,
    },
    Stats,
    ClientList,
    /// Applies a run-time configuration change made with CONFIG SET on another shard.
    ConfigSet {
        name: Vec<u8>,
        value: Vec<u8>,
    },
    /// CONFIG RESETSTAT: zeroes this shard's counters.
    ResetStats,
    /// SAVE: takes a snapshot and replies when it is on disk.
    Save,
    /// BGSAVE: starts a snapshot and replies at once; with `schedule`, one already
    /// running is not an error: another follows it (reply `Bool(true)`).
    BgSave {
        schedule: bool,
    },
    /// Locks keys for a transaction, waiting until they are free. With `watch`, also
    /// answers (`Bool`) whether a key that connection watches here has changed.
    Lock {
        txn: TxnId,
        keys: Vec<LockKey>,
        watch: Option<u64>,
    },
    /// Runs commands for a transaction that holds their keys' locks (taking `lock`
    /// first, waiting if needed), then with `unlock` releases all it holds here.
    /// Replies `Batch`.
    TxnBatch {
        txn: TxnId,
        lock: Vec<LockKey>,
        batch: Batch,
        unlock: bool,
    },
    /// Releases every lock of a transaction.
    Unlock {
        txn: TxnId,
    },
    /// A MULTI/EXEC queue whose keys all live on this shard: waits until they are free,
    /// checks the watcher, then runs every command in one go. Replies `Batch`, or
    /// `Bool(false)` when a watched key changed (nothing runs).
    Exec {
        watch: Option<u64>,
        batch: Batch,
    },
    /// WATCH: connection `id` watches `keys` of `db` here.
    Watch {
        id: u64,
        db: usize,
        keys: Vec<Vec<u8>>,
    },
    /// UNWATCH: connection `id` watches nothing here any more.
    Unwatch {
        id: u64,
    },
    /// Copies keys out for a transaction that holds their locks (cross-shard commands
    /// that run on the coordinator): replies `Values`, in order.
    Fetch {
        db: usize,
        keys: Vec<Vec<u8>>,
    },
    /// Stores what such a command made of its keys (`None`: deleted), as one journal
    /// record, then with `unlock` releases the transaction's locks here.
    Apply {
        txn: TxnId,
        db: usize,
        changes: Vec<(Vec<u8>, Option<KeyValue>)>,
        unlock: bool,
    },
    /// PUBLISH / SPUBLISH: delivers to this shard's subscribers and answers how many
    /// received it. The bytes are shared by every shard's copy of the op.
    Publish {
        sharded: bool,
        channel: Arc<[u8]>,
        message: Arc<[u8]>,
    },
    /// PUBSUB CHANNELS / SHARDCHANNELS (and NUMPAT, with `Kind::Pattern`): the names
    /// this shard's clients subscribe to, optionally only those matching `pattern`.
    PubSubNames {
        kind: Kind,
        pattern: Option<Vec<u8>>,
    },
    /// PUBSUB NUMSUB / SHARDNUMSUB: this shard's subscriber count of each channel.
    PubSubCounts {
        kind: Kind,
        names: Vec<Vec<u8>>,
    },
    /// A blocking pop (BLPOP, BZMPOP...) by connection `id`, whose keys all live here:
    /// pops at once when it can, else waits here for an element or the timeout. Replies
    /// `Reply` with the encoded reply (nil on timeout), or `Done` when unblocked.
    Block {
        id: u64,
        db: usize,
        proto: crate::protocol::Protocol,
        args: Vec<Vec<u8>>,
    },
    /// Connection `id` stopped waiting (it disconnected, or its blocking command over
    /// several shards is done): its blocked pop or watch goes away.
    Unblock {
        id: u64,
    },
    /// A blocking command over keys of several shards by connection `id` (see
    /// `server::blocking`) watches this shard's `keys`: the next write that may let a pop
    /// of that kind (`zsets` or lists) succeed notifies it. Replies `Done` once parked.
    WatchReady {
        id: u64,
        db: usize,
        keys: Vec<Vec<u8>>,
        zsets: bool,
    },
    /// Waits until `WatchReady` of connection `id` is notified, or unblocked. `Done`.
    AwaitReady {
        id: u64,
    },
    /// A SQL statement's part on this shard (`sql::ops`).
    Sql(Box<crate::sql::ops::SqlOp>),
}

impl ShardOp {
    /// Whether the op changes data, and so is refused once the shard's WAL has failed.
    pub fn writes(&self) -> bool {
        matches!(
            self,
            ShardOp::FlushDb { .. }
                | ShardOp::FlushAll
                | ShardOp::SwapDb { .. }
                | ShardOp::Take { .. }
                | ShardOp::Put { .. }
                | ShardOp::Apply { .. }
                | ShardOp::Block { .. }
        ) || matches!(self, ShardOp::Sql(op) if op.writes())
    }
}

/// A key's value with its absolute expiry (Unix ms), as moved between shards.
pub type KeyValue = (Value, Option<u64>);

#[derive(Debug)]
pub enum OpResult {
    Done,
    Int(i64),
    Bool(bool),
    Keys(Vec<Vec<u8>>),
    Scan {
        next: usize,
        keys: Vec<Vec<u8>>,
    },
    Key(Option<Vec<u8>>),
    Value(Option<KeyValue>),
    Stats(Box<super::stats::ShardStats>),
    Clients(Vec<String>),
    Batch(BatchReply),
    Values(Vec<Option<KeyValue>>),
    Ints(Vec<i64>),
    /// One encoded reply (a blocking pop's).
    Reply(Vec<u8>),
    /// A SQL statement part's outcome.
    Sql(Box<crate::sql::ops::SqlReply>),
    Error(String),
}
