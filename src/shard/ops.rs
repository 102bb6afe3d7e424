//! Typed operations a coordinator asks of every shard (or of one): the keyspace-wide
//! parts of KEYS, SCAN, DBSIZE, FLUSH*, SWAPDB, INFO, and the halves of cross-shard key
//! moves. Pipelined key commands travel as `mesh::Batch` instead; these are the rest.

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
        )
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
    Scan { next: usize, keys: Vec<Vec<u8>> },
    Key(Option<Vec<u8>>),
    Value(Option<KeyValue>),
    Stats(Box<super::stats::ShardStats>),
    Clients(Vec<String>),
    Ints(Vec<i64>),
    Error(String),
}
