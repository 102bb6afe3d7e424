//! Per-shard counters and the snapshot of them INFO gathers from every shard.

use std::cell::Cell;

/// Counters a shard bumps as it works. Plain `Cell`s: only this core touches them.
#[derive(Default)]
pub struct Counters {
    pub commands: Cell<u64>,
    pub connections_received: Cell<u64>,
    pub rejected_connections: Cell<u64>,
    pub net_input_bytes: Cell<u64>,
    pub net_output_bytes: Cell<u64>,
    pub expired_keys: Cell<u64>,
    pub keyspace_hits: Cell<u64>,
    pub keyspace_misses: Cell<u64>,
    pub forwarded_batches: Cell<u64>,
    pub served_batches: Cell<u64>,
    /// The keyspaces' own expired/hit/miss totals at the last CONFIG RESETSTAT: the
    /// keyspaces keep counting, INFO reports the difference.
    pub expired_base: Cell<u64>,
    pub hits_base: Cell<u64>,
    pub misses_base: Cell<u64>,
}

impl Counters {
    #[inline]
    pub fn add(c: &Cell<u64>, n: u64) {
        c.set(c.get() + n);
    }

    /// CONFIG RESETSTAT: zeroes the counters. `expired`, `hits` and `misses` are the
    /// keyspaces' current totals, which become the new baselines.
    pub fn reset(&self, expired: u64, hits: u64, misses: u64) {
        for c in [
            &self.commands,
            &self.connections_received,
            &self.rejected_connections,
            &self.net_input_bytes,
            &self.net_output_bytes,
            &self.expired_keys,
            &self.keyspace_hits,
            &self.keyspace_misses,
            &self.forwarded_batches,
            &self.served_batches,
        ] {
            c.set(0);
        }
        self.expired_base.set(expired);
        self.hits_base.set(hits);
        self.misses_base.set(misses);
    }
}

/// Keys of one logical database on one shard.
#[derive(Debug, Clone, Copy, Default)]
pub struct DbStats {
    pub keys: usize,
    pub expires: usize,
}

/// What one shard reports to INFO.
#[derive(Debug, Clone, Default)]
pub struct ShardStats {
    pub id: usize,
    pub dbs: Vec<DbStats>,
    pub used_memory: usize,
    pub commands: u64,
    pub connected_clients: usize,
    pub connections_received: u64,
    pub rejected_connections: u64,
    pub net_input_bytes: u64,
    pub net_output_bytes: u64,
    pub expired_keys: u64,
    pub keyspace_hits: u64,
    pub keyspace_misses: u64,
    pub forwarded_batches: u64,
    pub served_batches: u64,
    pub persistence: PersistenceStats,
}

/// One shard's WAL and snapshot figures (INFO persistence, LASTSAVE).
#[derive(Debug, Clone, Default)]
pub struct PersistenceStats {
    pub snapshot: crate::storage::SnapshotStatus,
    pub changes_since_snapshot: u64,
    pub wal_enabled: bool,
    pub wal_bytes: u64,
    pub wal_segments: usize,
    pub last_lsn: u64,
    pub durable_lsn: u64,
    pub wal_failure: Option<String>,
}

impl ShardStats {
    pub fn keys(&self) -> usize {
        self.dbs.iter().map(|d| d.keys).sum()
    }
}
