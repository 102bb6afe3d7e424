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
    /// The command whose effects are being gathered into one record, if one is.
    group: Cell<Option<Group>>,
    /// Open `begin_group` calls: a group opened inside another (a command inside EXEC)
    /// joins the outer one, sealed by the outermost `end_group`.
    group_depth: Cell<u32>,
}

/// Where an open group's record stands in `pending`.
#[derive(Clone, Copy)]
struct Group {
    /// Offset of the group's record; None until its first effect.
    start: Option<usize>,
    /// Effects gathered so far.
    effects: u32,
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
            group: Cell::new(None),
            group_depth: Cell::new(0),
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
        if let Some(group) = self.group.get() {
            self.append_to_group(group, effect);
            return;
        }
        let lsn = self.take_lsn();
        let mut pending = self.pending.borrow_mut();
        let before = pending.len();
        format::encode_record(&mut pending, lsn, effect);
        self.count_record(pending.len() - before);
        drop(pending);
        self.wake_writer();
    }

    /// Starts gathering the effects of one command: until `end_group`, they go into a
    /// single record, so that recovery applies all of them or (when a crash tore the
    /// record) none. Costs nothing for a command that changes nothing.
    #[inline]
    pub fn begin_group(&self) {
        let depth = self.group_depth.get();
        self.group_depth.set(depth + 1);
        if depth == 0 && self.enabled && !self.muted.get() {
            self.group.set(Some(Group {
                start: None,
                effects: 0,
            }));
        }
    }

    /// Closes the group `begin_group` opened and seals its record. One effect stays a
    /// plain record; several become one `Effect::Group` record.
    #[inline]
    pub fn end_group(&self) {
        let depth = self.group_depth.get().saturating_sub(1);
        self.group_depth.set(depth);
        if depth > 0 {
            return;
        }
        let Some(Group {
            start: Some(start),
            effects,
        }) = self.group.take()
        else {
            return;
        };
        let mut pending = self.pending.borrow_mut();
        let payload = start + format::RECORD_HEADER_LEN;
        if effects > 1 {
            // The payload is `Effect::Group`'s tag, a one-byte count placeholder and the
            // effects; bincode writes a count of 251 or more in more bytes.
            let mut count = [0u8; 9];
            let n = bincode::encode_into_slice(effects as u64, &mut count, format::BINCODE)
                .expect("a u64 fits in 9 bytes");
            pending.splice(payload + 1..payload + 2, count[..n].iter().copied());
        }
        let lsn = self.next_lsn.get() - 1;
        format::seal_record(&mut pending, start, lsn);
        self.count_record(pending.len() - start);
        drop(pending);
        self.wake_writer();
    }

    fn append_to_group(&self, mut group: Group, effect: &EffectRef<'_>) {
        let mut pending = self.pending.borrow_mut();
        match group.start {
            None => {
                // The first effect: a record header to fill in at the end, then the effect.
                self.take_lsn();
                group.start = Some(pending.len());
                pending.extend_from_slice(&[0u8; format::RECORD_HEADER_LEN]);
            }
            Some(start) if group.effects == 1 => {
                // A second effect: the record becomes a group; the tag and the count go in
                // front of the first effect.
                let at = start + format::RECORD_HEADER_LEN;
                pending.splice(at..at, [format::GROUP_TAG, 0]);
            }
            Some(_) => {}
        }
        bincode::encode_into_std_write(effect, &mut *pending, format::BINCODE)
            .expect("encoding into a Vec");
        group.effects += 1;
        self.group.set(Some(group));
    }

    fn take_lsn(&self) -> u64 {
        let lsn = self.next_lsn.get();
        self.next_lsn.set(lsn + 1);
        lsn
    }

    fn count_record(&self, bytes: usize) {
        self.bytes_since_snapshot
            .set(self.bytes_since_snapshot.get() + bytes as u64);
        self.changes_since_snapshot
            .set(self.changes_since_snapshot.get() + 1);
    }

    fn wake_writer(&self) {
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
    use crate::storage::effect::Effect;
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

    fn decode(bytes: &[u8]) -> Vec<(u64, Effect)> {
        let mut out = Vec::new();
        let mut at = 0;
        while let RecordStep::Record { lsn, payload, next } = read_record(bytes, at) {
            let (e, used): (Effect, usize) =
                bincode::decode_from_slice(payload, format::BINCODE).unwrap();
            assert_eq!(used, payload.len());
            out.push((lsn, e));
            at = next;
        }
        assert_eq!(at, bytes.len(), "every byte is a whole record");
        out
    }

    #[test]
    fn a_group_is_one_record_and_one_lsn() {
        let j = Journal::new(true, 1);
        let del = |k: &'static [u8]| EffectRef::Del { db: 0, key: k };
        // Nothing changed: no record.
        j.begin_group();
        j.end_group();
        // One effect: a plain record.
        j.begin_group();
        j.append(&del(b"a"));
        j.end_group();
        // Two effects: one group record.
        j.begin_group();
        j.append(&del(b"b"));
        j.append(&EffectRef::FlushDb { db: 3 });
        j.end_group();
        // Outside a group, one record per effect again.
        j.append(&del(b"c"));
        // Enough effects that the count takes more than one byte.
        j.begin_group();
        for _ in 0..300 {
            j.append(&del(b"d"));
        }
        j.end_group();
        assert_eq!(j.last_lsn(), 4);
        let (bytes, last) = j.take_pending().unwrap();
        assert_eq!(last, 4);
        let records = decode(&bytes);
        let owned = |k: &[u8]| Effect::Del {
            db: 0,
            key: k.to_vec(),
        };
        assert_eq!(records[0], (1, owned(b"a")));
        assert_eq!(
            records[1],
            (
                2,
                Effect::Group(vec![owned(b"b"), Effect::FlushDb { db: 3 }])
            )
        );
        assert_eq!(records[2], (3, owned(b"c")));
        assert_eq!(records[3], (4, Effect::Group(vec![owned(b"d"); 300])));
        assert_eq!(records.len(), 4);
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
