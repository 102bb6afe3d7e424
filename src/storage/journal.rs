//! The in-memory side of a shard's write-ahead log.
//!
//! Keyspaces append effect records here as they change (`append`); the shard's WAL task
//! (`wal::run`) takes everything appended so far in one piece, writes it and, under
//! `durability=always`, syncs it. Records that arrive while a write or sync is in flight
//! accumulate and leave together with the next one: that is the group commit. A
//! connection that wrote waits with `wait_durable` until the synced position covers its
//! last record before its replies leave.

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::task::{Poll, Waker};

use super::effect::EffectRef;
use super::format;

pub struct Journal {
    /// False when durability is `off`: nothing is recorded.
    enabled: bool,
    /// Set while recovery rebuilds the keyspaces from the log itself.
    muted: Cell<bool>,
    /// Encoded records not yet handed to the WAL task.
    pending: RefCell<Vec<u8>>,
    /// The LSN the next record gets.
    next_lsn: Cell<u64>,
    /// Every record up to this LSN has been written to its segment (not necessarily
    /// synced).
    written_lsn: Cell<u64>,
    /// Every record up to this LSN is on stable storage.
    durable_lsn: Cell<u64>,
    /// Tasks waiting for `durable_lsn` to reach an LSN.
    waiters: RefCell<Vec<(u64, Waker)>>,
    /// The WAL task, parked until records arrive or it is nudged.
    writer: RefCell<Option<Waker>>,
    nudged: Cell<bool>,
    /// Set once a write or sync failed: the shard accepts no more writes.
    failure: RefCell<Option<Rc<str>>>,
    /// Bytes journaled since the last snapshot began (for `wal_size_threshold_mb`).
    bytes_since_snapshot: Cell<u64>,
    /// Records journaled since the last snapshot began (INFO's changes since last save).
    changes_since_snapshot: Cell<u64>,
}

impl Journal {
    /// A journal whose next record gets LSN `next_lsn`.
    pub fn new(enabled: bool, next_lsn: u64) -> Rc<Journal> {
        Rc::new(Journal {
            enabled,
            muted: Cell::new(false),
            pending: RefCell::new(Vec::new()),
            next_lsn: Cell::new(next_lsn),
            written_lsn: Cell::new(next_lsn - 1),
            durable_lsn: Cell::new(next_lsn - 1),
            waiters: RefCell::new(Vec::new()),
            writer: RefCell::new(None),
            nudged: Cell::new(false),
            failure: RefCell::new(None),
            bytes_since_snapshot: Cell::new(0),
            changes_since_snapshot: Cell::new(0),
        })
    }

    /// Recovery is done: the next record gets `next_lsn`, and everything before it is on
    /// disk already.
    pub fn recovered(&self, next_lsn: u64) {
        self.next_lsn.set(next_lsn);
        self.written_lsn.set(next_lsn - 1);
        self.durable_lsn.set(next_lsn - 1);
    }

    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// Appends one effect. A no-op when journaling is off or muted.
    #[inline]
    pub fn append(&self, effect: &EffectRef<'_>) {
        if !self.enabled || self.muted.get() {
            return;
        }
        let lsn = self.next_lsn.get();
        self.next_lsn.set(lsn + 1);
        let mut pending = self.pending.borrow_mut();
        let before = pending.len();
        format::encode_record(&mut pending, lsn, effect);
        self.bytes_since_snapshot
            .set(self.bytes_since_snapshot.get() + (pending.len() - before) as u64);
        self.changes_since_snapshot
            .set(self.changes_since_snapshot.get() + 1);
        drop(pending);
        if let Some(w) = self.writer.borrow_mut().take() {
            w.wake();
        }
    }

    /// Mutes (`true`) or unmutes the journal; recovery mutes it while it replays.
    pub fn set_muted(&self, muted: bool) {
        self.muted.set(muted);
    }

    /// LSN of the last record appended (0 before the first).
    pub fn last_lsn(&self) -> u64 {
        self.next_lsn.get() - 1
    }

    pub fn durable_lsn(&self) -> u64 {
        self.durable_lsn.get()
    }

    pub fn written_lsn(&self) -> u64 {
        self.written_lsn.get()
    }

    pub fn bytes_since_snapshot(&self) -> u64 {
        self.bytes_since_snapshot.get()
    }

    pub fn changes_since_snapshot(&self) -> u64 {
        self.changes_since_snapshot.get()
    }

    /// Resets the counters a snapshot covers; called when one begins.
    pub fn snapshot_began(&self) {
        self.bytes_since_snapshot.set(0);
        self.changes_since_snapshot.set(0);
    }

    /// Why the shard refuses writes, if it does.
    pub fn failure(&self) -> Option<Rc<str>> {
        self.failure.borrow().clone()
    }

    /// Records a write or sync failure: from now on writes are refused and every waiter
    /// is released with the error.
    pub fn fail(&self, why: String) {
        if self.failure.borrow().is_none() {
            *self.failure.borrow_mut() = Some(why.into());
        }
        for (_, w) in self.waiters.borrow_mut().drain(..) {
            w.wake();
        }
    }

    /// Takes every pending record: the bytes and the LSN of the last one.
    pub fn take_pending(&self) -> Option<(Vec<u8>, u64)> {
        let mut pending = self.pending.borrow_mut();
        if pending.is_empty() {
            return None;
        }
        let cap = pending.capacity().min(4 << 20);
        let bytes = std::mem::replace(&mut *pending, Vec::with_capacity(cap));
        Some((bytes, self.last_lsn()))
    }

    pub fn has_waiters(&self) -> bool {
        !self.waiters.borrow().is_empty()
    }

    pub fn has_pending(&self) -> bool {
        !self.pending.borrow().is_empty()
    }

    /// Waits until records are pending or the task is nudged (for the WAL task).
    pub async fn records_pending(&self) {
        std::future::poll_fn(|cx| {
            if self.has_pending() || self.nudged.replace(false) {
                Poll::Ready(())
            } else {
                *self.writer.borrow_mut() = Some(cx.waker().clone());
                Poll::Pending
            }
        })
        .await
    }

    /// Wakes the WAL task without a record (shutdown, snapshot cut, policy change).
    pub fn nudge_writer(&self) {
        self.nudged.set(true);
        if let Some(w) = self.writer.borrow_mut().take() {
            w.wake();
        }
    }

    pub fn set_written(&self, lsn: u64) {
        self.written_lsn.set(lsn);
    }

    /// Everything up to `lsn` is on stable storage: release the waiters it covers.
    pub fn set_durable(&self, lsn: u64) {
        if lsn <= self.durable_lsn.get() {
            return;
        }
        self.durable_lsn.set(lsn);
        self.waiters.borrow_mut().retain(|(want, w)| {
            if *want <= lsn {
                w.wake_by_ref();
                false
            } else {
                true
            }
        });
    }

    /// Waits until the record with LSN `lsn` is on stable storage. Fails when the WAL can
    /// no longer be written.
    pub async fn wait_durable(&self, lsn: u64) -> Result<(), Rc<str>> {
        std::future::poll_fn(|cx| {
            if let Some(why) = self.failure() {
                return Poll::Ready(Err(why));
            }
            if self.durable_lsn.get() >= lsn {
                return Poll::Ready(Ok(()));
            }
            self.waiters.borrow_mut().push((lsn, cx.waker().clone()));
            // The WAL task syncs for waiters when it wakes, but records it wrote before a
            // switch to `always` bring no new record to wake it.
            self.nudge_writer();
            Poll::Pending
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::format::{read_record, RecordStep};

    #[test]
    fn records_get_consecutive_lsns_and_leave_together() {
        let j = Journal::new(true, 5);
        j.append(&EffectRef::FlushDb { db: 0 });
        j.append(&EffectRef::Del { db: 1, key: b"k" });
        assert_eq!(j.last_lsn(), 6);
        let (bytes, last) = j.take_pending().unwrap();
        assert_eq!(last, 6);
        let RecordStep::Record { lsn, next, .. } = read_record(&bytes, 0) else {
            panic!()
        };
        assert_eq!(lsn, 5);
        let RecordStep::Record { lsn, .. } = read_record(&bytes, next) else {
            panic!()
        };
        assert_eq!(lsn, 6);
        assert!(j.take_pending().is_none());
    }

    #[test]
    fn disabled_or_muted_journal_records_nothing() {
        let off = Journal::new(false, 1);
        off.append(&EffectRef::FlushDb { db: 0 });
        assert!(off.take_pending().is_none());
        let j = Journal::new(true, 1);
        j.set_muted(true);
        j.append(&EffectRef::FlushDb { db: 0 });
        assert!(j.take_pending().is_none());
        assert_eq!(j.last_lsn(), 0);
    }
}
