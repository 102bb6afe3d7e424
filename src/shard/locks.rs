//! Key locks for atomic operations that span shards (multi-key commands whose keys live
//! on several shards, and MULTI/EXEC).
//!
//! Such an operation is a transaction with an id (`TxnId`). It locks its keys on every
//! shard it touches, in ascending shard order (so two transactions can never wait on
//! each other in a cycle), runs its parts while holding them and releases them: strict
//! two-phase locking. A key locked by a transaction is invisible to everybody else until
//! the release: a plain command that names it waits (`conflicts`), so no client ever
//! observes half of a transaction.
//!
//! The table is empty almost always, and every command first asks `is_empty`: single-shard
//! commands outside transactions pay one branch for all of this.

use std::cell::{Cell, RefCell};
use std::task::{Poll, Waker};

use hashbrown::HashMap;

/// A transaction: unique across the process (the coordinating shard's id is in the low
/// bits). 0 means "no transaction".
pub type TxnId = u64;

/// Readers share a key; a writer holds it alone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LockMode {
    Shared,
    Exclusive,
}

/// A key to lock: database, the key's `key_hash`, mode.
pub type LockKey = (u32, u64, LockMode);

/// A locked key: database and key hash.
type LockedKey = (u32, u64);

/// What a lock names a key by. Locking hashes rather than key bytes costs no allocation
/// per key on either side; two keys with one hash (one chance in 2^64 per pair) merely
/// make one of them wait for the other's transaction, as if it were the same key, which
/// is still correct (and cannot deadlock: the order of locking is by shard, not by key).
pub fn key_hash(key: &[u8]) -> u64 {
    // Fixed seeds: every shard must compute the same hash for a key.
    static HASHER: std::sync::OnceLock<ahash::RandomState> = std::sync::OnceLock::new();
    HASHER
        .get_or_init(|| ahash::RandomState::with_seeds(0x6d65, 0x6d66, 0x6c75, 0x78))
        .hash_one(key)
}

/// The lock `mode` on `key` of database `db`.
pub fn lock_key(db: u32, key: &[u8], mode: LockMode) -> LockKey {
    (db, key_hash(key), mode)
}

#[derive(Default)]
pub struct LockTable {
    /// (db, key) -> the transactions holding it, with their modes.
    keys: HashMap<LockedKey, Vec<(TxnId, LockMode)>>,
    /// Per transaction: the keys it holds here, for the release.
    held: HashMap<TxnId, Vec<LockedKey>>,
    released: Notify,
}

impl LockTable {
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.held.is_empty()
    }

    /// Whether `txn` (0 for a plain command) must wait before using `key` in `mode`.
    pub fn conflicts(&self, txn: TxnId, db: u32, key: &[u8], mode: LockMode) -> bool {
        self.conflicts_hashed(txn, db, key_hash(key), mode)
    }

    fn conflicts_hashed(&self, txn: TxnId, db: u32, hash: u64, mode: LockMode) -> bool {
        let Some(holders) = self.keys.get(&(db, hash)) else {
            return false;
        };
        holders
            .iter()
            .any(|&(t, m)| t != txn && (m == LockMode::Exclusive || mode == LockMode::Exclusive))
    }

    /// Takes every lock of `keys` for `txn` if none conflicts (all or nothing, so a
    /// transaction never sits on half of one shard's keys while waiting for the rest).
    pub fn try_acquire(&mut self, txn: TxnId, keys: &[LockKey]) -> bool {
        if keys
            .iter()
            .any(|&(db, hash, mode)| self.conflicts_hashed(txn, db, hash, mode))
        {
            return false;
        }
        if keys.is_empty() {
            return true;
        }
        let held = self.held.entry(txn).or_default();
        for (db, k, mode) in keys {
            let id: LockedKey = (*db, *k);
            let holders = self.keys.entry(id).or_default();
            match holders.iter_mut().find(|(t, _)| *t == txn) {
                Some((_, m)) => {
                    if *mode == LockMode::Exclusive {
                        *m = LockMode::Exclusive;
                    }
                }
                None => {
                    holders.push((txn, *mode));
                    held.push(id);
                }
            }
        }
        true
    }

    /// Releases everything `txn` holds here and wakes whoever waits.
    pub fn release(&mut self, txn: TxnId) {
        let Some(held) = self.held.remove(&txn) else {
            return;
        };
        for id in held {
            if let Some(holders) = self.keys.get_mut(&id) {
                holders.retain(|(t, _)| *t != txn);
                if holders.is_empty() {
                    self.keys.remove(&id);
                }
            }
        }
        self.released.notify_all();
    }

    /// The notification fired whenever locks are released.
    pub fn released(&self) -> &Notify {
        &self.released
    }
}

/// Takes `keys` for `txn` on this shard, waiting until none is held by another
/// transaction.
pub async fn acquire(table: &RefCell<LockTable>, txn: TxnId, keys: &[LockKey]) {
    loop {
        let wait = {
            let mut t = table.borrow_mut();
            if t.try_acquire(txn, keys) {
                return;
            }
            t.released.generation()
        };
        Notify::wait_past(table, wait).await;
    }
}

/// Waits until `blocked` (evaluated against the table) turns false. Used by plain
/// commands that name a locked key.
pub async fn wait_until_free(table: &RefCell<LockTable>, blocked: impl Fn(&LockTable) -> bool) {
    loop {
        let wait = {
            let t = table.borrow();
            if !blocked(&t) {
                return;
            }
            t.released.generation()
        };
        Notify::wait_past(table, wait).await;
    }
}

/// A broadcast wake-up: everyone waiting when `notify_all` runs is woken.
#[derive(Default)]
pub struct Notify {
    generation: Cell<u64>,
    waiters: RefCell<Vec<Waker>>,
}

impl Notify {
    pub fn notify_all(&self) {
        self.generation.set(self.generation.get() + 1);
        for w in self.waiters.take() {
            w.wake();
        }
    }

    pub fn generation(&self) -> u64 {
        self.generation.get()
    }

    /// Waits until the table's notification has fired since `seen` was read.
    pub async fn wait_past(table: &RefCell<LockTable>, seen: u64) {
        std::future::poll_fn(|cx| {
            let t = table.borrow();
            if t.released.generation.get() != seen {
                Poll::Ready(())
            } else {
                t.released.waiters.borrow_mut().push(cx.waker().clone());
                Poll::Pending
            }
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(key: &str, mode: LockMode) -> LockKey {
        lock_key(0, key.as_bytes(), mode)
    }

    #[test]
    fn shared_and_exclusive() {
        let mut t = LockTable::default();
        assert!(t.is_empty());
        assert!(t.try_acquire(1, &[k("a", LockMode::Shared)]));
        assert!(t.try_acquire(2, &[k("a", LockMode::Shared)]));
        assert!(!t.try_acquire(3, &[k("a", LockMode::Exclusive)]));
        assert!(t.conflicts(0, 0, b"a", LockMode::Exclusive));
        assert!(!t.conflicts(0, 0, b"a", LockMode::Shared));
        assert!(
            !t.conflicts(0, 1, b"a", LockMode::Exclusive),
            "other database"
        );
        t.release(1);
        t.release(2);
        assert!(t.is_empty());
        assert!(t.try_acquire(3, &[k("a", LockMode::Exclusive), k("b", LockMode::Shared)]));
        assert!(!t.try_acquire(4, &[k("c", LockMode::Shared), k("a", LockMode::Shared)]));
        assert!(
            !t.conflicts(0, 0, b"c", LockMode::Exclusive),
            "all or nothing"
        );
        // A holder does not conflict with itself, and may upgrade.
        assert!(t.try_acquire(3, &[k("b", LockMode::Exclusive)]));
        assert!(t.conflicts(0, 0, b"b", LockMode::Shared));
        t.release(3);
        assert!(t.is_empty());
    }
}
