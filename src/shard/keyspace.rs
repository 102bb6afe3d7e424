//! One logical database of one shard: a hash index over a slab of entries.
//!
//! Entries live in a slab (`Vec<Option<Entry>>`) and never move while they exist; a
//! `hashbrown::HashTable<u32>` maps keys to slab positions. This costs one indirection
//! per lookup but gives what a plain hash map cannot:
//! * `SCAN` cursors are slab positions, so every key present for a whole scan is returned
//!   exactly once, however the table grows or shrinks in between;
//! * `RANDOMKEY` and the active expiry cycle sample uniformly in O(1).
//!
//! Every method that changes data journals the change (`storage::Journal`) and, while a
//! snapshot is being taken, first hands the entry's old state to the snapshot
//! (`before_change`); so no command can change data behind the log's or the snapshot's
//! back. Values are reachable mutably only through `modify`.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering as AtomicOrdering};

use hashbrown::HashTable;

use super::value::Value;
use crate::storage::effect::{DeltaRef, EffectRef};
use crate::storage::journal::Journal;
use crate::storage::snapshot::SnapshotSink;

/// Bytes of bookkeeping per key beyond key and value payloads (slab slot, index slot,
/// allocator headers), so INFO memory tracks reality closely enough.
const ENTRY_OVERHEAD: usize = 96;

/// A key and what it holds.
#[derive(Debug)]
pub struct Entry {
    pub key: Box<[u8]>,
    hash: u64,
    pub value: Value,
    /// Absolute expiry time in Unix milliseconds; 0 = no expiry.
    expire_at: u64,
    /// Position in `Keyspace::expiring` when `expire_at != 0`.
    expiring_pos: u32,
    /// Last access, in seconds of the shard's clock (for `OBJECT IDLETIME`).
    pub last_access: u32,
    /// Logarithmic access counter (for `OBJECT FREQ`).
    pub lfu: u8,
    /// The snapshot epoch this entry was already written for (or created during).
    snap_epoch: u32,
}

impl Entry {
    #[inline]
    pub fn expire_at(&self) -> Option<u64> {
        (self.expire_at != 0).then_some(self.expire_at)
    }
    fn memory(&self) -> usize {
        self.key.len() + self.value.heap_size() + ENTRY_OVERHEAD
    }
}

/// Position of an entry in the slab. Valid until that entry is removed.
pub type Slot = u32;

pub struct Keyspace {
    index: HashTable<Slot>,
    slab: Vec<Option<Entry>>,
    free: Vec<Slot>,
    hasher: ahash::RandomState,
    /// Slots of entries that have an expiry, for sampling by the active expiry cycle.
    expiring: Vec<Slot>,
    memory: usize,
    /// Keys deleted because their TTL passed (lazily or by the active cycle).
    expired: u64,
    /// Read lookups that found / did not find their key (INFO keyspace_hits/misses).
    hits: u64,
    misses: u64,
    /// This keyspace's database number, as journaled.
    db: u32,
    journal: Option<Rc<Journal>>,
    /// The snapshot walking this keyspace, if one is running.
    snap: Option<SnapCursor>,
    /// Keys that clients WATCH, when any do: changes mark their watchers dirty.
    watches: Option<Box<RefCell<Watches>>>,
}

/// WATCH bookkeeping of one keyspace: who watches which key, and which watchers saw a
/// watched key change (their EXEC must fail). Watchers are connection ids.
#[derive(Default)]
struct Watches {
    keys: hashbrown::HashMap<Box<[u8]>, Vec<u64>>,
    dirty: hashbrown::HashSet<u64>,
}

/// Where a running snapshot's walk over one keyspace stands.
struct SnapCursor {
    /// Slab positions below this one have been written.
    pos: usize,
    epoch: u32,
    /// The database number when the snapshot began (SWAPDB may change `Keyspace::db`).
    db: u32,
    sink: Rc<RefCell<SnapshotSink>>,
}

impl Default for Keyspace {
    fn default() -> Self {
        Keyspace {
            index: HashTable::new(),
            slab: Vec::new(),
            free: Vec::new(),
            hasher: ahash::RandomState::new(),
            expiring: Vec::new(),
            memory: 0,
            expired: 0,
            hits: 0,
            misses: 0,
            db: 0,
            journal: None,
            snap: None,
            watches: None,
        }
    }
}

/// Prefix of the keys every core caches: the SQL schemas (`_internal:schemas:<table>`),
/// read to plan each statement.
pub const CATALOG_PREFIX: &[u8] = b"_internal:schemas:";

/// Counts changes of catalog keys (and flushes and swaps of whole databases), bumped
/// by whichever core makes one while it makes it, so before the change's reply goes
/// out. A core's cached schemas are good while the epoch they were read at is
/// current. It is the one counter all cores share that changes after start: it moves
/// only with DDL, is read once per SQL statement, and never on the path of other
/// commands.
static CATALOG_EPOCH: AtomicU64 = AtomicU64::new(0);

/// The current catalog epoch (see `CATALOG_EPOCH`).
pub fn catalog_epoch() -> u64 {
    CATALOG_EPOCH.load(AtomicOrdering::Acquire)
}

#[inline]
fn note_change(key: &[u8]) {
    if key.first() == Some(&b'_') && key.starts_with(CATALOG_PREFIX) {
        catalog_changed();
    }
}

#[cold]
fn catalog_changed() {
    CATALOG_EPOCH.fetch_add(1, AtomicOrdering::Release);
}

/// Seconds clock for LRU bookkeeping; wraps every 136 years.
#[inline]
pub fn lru_clock(now_ms: u64) -> u32 {
    (now_ms / 1000) as u32
}

impl Keyspace {
    /// A keyspace that journals nothing (tests, benchmarks, offline tools).
    pub fn new() -> Self {
        Self::default()
    }

    /// Database `db` of a shard, journaling into `journal`.
    pub fn with_journal(db: u32, journal: Rc<Journal>) -> Self {
        Keyspace {
            db,
            journal: Some(journal),
            ..Self::default()
        }
    }

    pub fn db(&self) -> u32 {
        self.db
    }

    /// The shard's journal (None for keyspaces that journal nothing).
    pub fn journal_handle(&self) -> Option<&Rc<Journal>> {
        self.journal.as_ref()
    }

    /// Journals a change, and marks the watchers of the key it names dirty: every change
    /// of data comes through here, `journal_put` or `modify_delta`, so none escapes
    /// WATCH either.
    #[inline]
    fn journal(&self, effect: EffectRef<'_>) {
        match &effect {
            EffectRef::Put { key, .. }
            | EffectRef::Del { key, .. }
            | EffectRef::Expire { key, .. }
            | EffectRef::Delta { key, .. } => note_change(key),
            EffectRef::FlushDb { .. } | EffectRef::SwapDb { .. } => catalog_changed(),
            EffectRef::GroupTag => {}
        }
        if self.watches.is_some() {
            match &effect {
                EffectRef::Put { key, .. }
                | EffectRef::Del { key, .. }
                | EffectRef::Expire { key, .. }
                | EffectRef::Delta { key, .. } => self.touch_watched(key),
                EffectRef::FlushDb { .. } | EffectRef::SwapDb { .. } => self.touch_all_watched(),
                EffectRef::GroupTag => {}
            }
        }
        if let Some(j) = &self.journal {
            j.append(&effect);
        }
    }

    #[cold]
    fn touch_watched(&self, key: &[u8]) {
        if let Some(w) = &self.watches {
            let w = &mut *w.borrow_mut();
            if let Some(ids) = w.keys.get(key) {
                w.dirty.extend(ids.iter().copied());
            }
        }
    }

    #[cold]
    fn touch_all_watched(&self) {
        if let Some(w) = &self.watches {
            let Watches { keys, dirty } = &mut *w.borrow_mut();
            dirty.extend(keys.values().flatten().copied());
        }
    }

    /// WATCH: connection `id` watches `key` from now on (a key already expired is
    /// deleted first, so that its expiry does not count as a change).
    pub fn watch(&mut self, id: u64, key: &[u8], now_ms: u64) {
        self.find_live(key, now_ms);
        let mut w = self.watches.get_or_insert_with(Box::default).borrow_mut();
        let ids = w.keys.entry(key.into()).or_default();
        if !ids.contains(&id) {
            ids.push(id);
        }
    }

    /// Whether a key watched by `id` changed since WATCH. Keys that expired since are
    /// deleted now, which counts as a change (as a key that was live at WATCH and is
    /// gone at EXEC must).
    pub fn watch_dirty(&mut self, id: u64, now_ms: u64) -> bool {
        let Some(w) = &self.watches else { return false };
        let keys: Vec<Box<[u8]>> = w
            .borrow()
            .keys
            .iter()
            .filter(|(_, ids)| ids.contains(&id))
            .map(|(k, _)| k.clone())
            .collect();
        for k in keys {
            self.find_live(&k, now_ms);
        }
        self.watches
            .as_ref()
            .is_some_and(|w| w.borrow().dirty.contains(&id))
    }

    /// UNWATCH: forgets every key `id` watches here.
    pub fn unwatch(&mut self, id: u64) {
        let Some(w) = &mut self.watches else { return };
        let w = w.get_mut();
        w.keys.retain(|_, ids| {
            ids.retain(|&i| i != id);
            !ids.is_empty()
        });
        w.dirty.remove(&id);
        if w.keys.is_empty() && w.dirty.is_empty() {
            self.watches = None;
        }
    }

    /// Journals the current state of the entry at `slot` as a `Put`.
    fn journal_put(&self, slot: Slot) {
        note_change(&self.entry(slot).key);
        if self.watches.is_some() {
            self.touch_watched(&self.entry(slot).key);
        }
        if let Some(j) = &self.journal {
            let e = self.entry(slot);
            j.append(&EffectRef::Put {
                db: self.db,
                key: &e.key,
                value: &e.value,
                expire_at: e.expire_at,
            });
        }
    }

    /// Hands the entry at `slot` to a running snapshot if the snapshot has not written it
    /// yet; call before changing or removing an entry.
    #[inline]
    fn before_change(&mut self, slot: Slot) {
        let Some(c) = &self.snap else { return };
        if (slot as usize) < c.pos {
            return;
        }
        let e = self.slab[slot as usize].as_mut().expect("live slot");
        if e.snap_epoch != c.epoch {
            c.sink
                .borrow_mut()
                .write_entry(c.db, &e.key, &e.value, e.expire_at);
            e.snap_epoch = c.epoch;
        }
    }

    /// Starts walking this keyspace for snapshot `epoch` (epochs start at 1 and grow).
    pub fn snapshot_begin(&mut self, epoch: u32, sink: Rc<RefCell<SnapshotSink>>) {
        self.snap = Some(SnapCursor {
            pos: 0,
            epoch,
            db: self.db,
            sink,
        });
    }

    /// Writes the entries of up to `positions` slab positions to the running snapshot.
    /// Returns true when the walk is complete (or none is running).
    pub fn snapshot_step(&mut self, positions: usize) -> bool {
        let Some(c) = &mut self.snap else {
            return true;
        };
        let end = c.pos.saturating_add(positions).min(self.slab.len());
        {
            let mut sink = c.sink.borrow_mut();
            for e in self.slab[c.pos.min(end)..end].iter_mut().flatten() {
                if e.snap_epoch != c.epoch {
                    sink.write_entry(c.db, &e.key, &e.value, e.expire_at);
                    e.snap_epoch = c.epoch;
                }
            }
        }
        c.pos = end;
        if end >= self.slab.len() {
            self.snap = None;
            true
        } else {
            false
        }
    }

    /// Abandons a running snapshot's walk (the snapshot failed).
    pub fn snapshot_abort(&mut self) {
        self.snap = None;
    }

    pub fn snapshot_running(&self) -> bool {
        self.snap.is_some()
    }

    #[inline]
    pub fn len(&self) -> usize {
        self.index.len()
    }
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }
    /// Number of keys with an expiry.
    pub fn expires(&self) -> usize {
        self.expiring.len()
    }
    /// Approximate bytes held by keys and values.
    pub fn memory(&self) -> usize {
        self.memory
    }
    pub fn expired_count(&self) -> u64 {
        self.expired
    }
    pub fn hits(&self) -> u64 {
        self.hits
    }
    pub fn misses(&self) -> u64 {
        self.misses
    }

    /// Slab length: the exclusive upper bound of SCAN cursors.
    pub fn slab_len(&self) -> usize {
        self.slab.len()
    }

    /// Finds a key without looking at its expiry.
    #[inline]
    pub fn find(&self, key: &[u8]) -> Option<Slot> {
        let hash = self.hasher.hash_one(key);
        let slab = &self.slab;
        self.index
            .find(hash, |&s| {
                slab[s as usize].as_ref().is_some_and(|e| &*e.key == key)
            })
            .copied()
    }

    /// Finds a live key: an expired one is deleted on the spot (lazy expiry) and reported
    /// as missing. Does not count as an access.
    #[inline]
    pub fn find_live(&mut self, key: &[u8], now_ms: u64) -> Option<Slot> {
        let slot = self.find(key)?;
        let e = self.entry(slot);
        if e.expire_at != 0 && e.expire_at <= now_ms {
            self.remove_slot(slot);
            self.expired += 1;
            return None;
        }
        Some(slot)
    }

    /// Like `find_live`, and records the access for OBJECT IDLETIME/FREQ.
    #[inline]
    pub fn lookup(&mut self, key: &[u8], now_ms: u64) -> Option<Slot> {
        let slot = self.find_live(key, now_ms)?;
        let e = self.entry_mut(slot);
        e.last_access = lru_clock(now_ms);
        e.lfu = lfu_increment(e.lfu);
        Some(slot)
    }

    /// A lookup on behalf of a read command: also counts a keyspace hit or miss.
    #[inline]
    pub fn lookup_read(&mut self, key: &[u8], now_ms: u64) -> Option<Slot> {
        let r = self.lookup(key, now_ms);
        if r.is_some() {
            self.hits += 1;
        } else {
            self.misses += 1;
        }
        r
    }

    /// A read that must not count as an access (EXISTS, TYPE, TTL, OBJECT: Redis's
    /// `LOOKUP_NOTOUCH`), so OBJECT IDLETIME/FREQ stay truthful, but that still counts a
    /// keyspace hit or miss.
    #[inline]
    pub fn find_read(&mut self, key: &[u8], now_ms: u64) -> Option<Slot> {
        let r = self.find_live(key, now_ms);
        if r.is_some() {
            self.hits += 1;
        } else {
            self.misses += 1;
        }
        r
    }

    /// Looks up a live key and returns its entry.
    #[inline]
    pub fn get(&mut self, key: &[u8], now_ms: u64) -> Option<&Entry> {
        let slot = self.lookup(key, now_ms)?;
        Some(self.entry(slot))
    }

    #[inline]
    pub fn entry(&self, slot: Slot) -> &Entry {
        self.slab[slot as usize].as_ref().expect("live slot")
    }
    #[inline]
    fn entry_mut(&mut self, slot: Slot) -> &mut Entry {
        self.slab[slot as usize].as_mut().expect("live slot")
    }

    /// Restores a moved object's access history (RENAME, MOVE keep OBJECT IDLETIME/FREQ).
    /// Not journaled: access history is not data.
    pub fn set_access_history(&mut self, slot: Slot, lfu: u8, last_access: u32) {
        let e = self.entry_mut(slot);
        e.lfu = lfu;
        e.last_access = last_access;
    }
    /// The entry at a slab position if one lives there (for cursors and sampling).
    pub fn entry_at(&self, pos: usize) -> Option<&Entry> {
        self.slab.get(pos).and_then(|e| e.as_ref())
    }

    /// Sets `key` to `value`. `expire_at`: `Some(ms)` sets that expiry, `None` clears any.
    /// Returns the entry's slot.
    pub fn insert(
        &mut self,
        key: &[u8],
        value: Value,
        expire_at: Option<u64>,
        now_ms: u64,
    ) -> Slot {
        match self.find(key) {
            Some(slot) => {
                self.modify_expiring(slot, Some(expire_at), |v| *v = value);
                slot
            }
            None => self.insert_new_expiring(key, value, expire_at, now_ms),
        }
    }

    /// Adds a key known to be absent.
    pub fn insert_new(&mut self, key: &[u8], value: Value, now_ms: u64) -> Slot {
        self.insert_new_expiring(key, value, None, now_ms)
    }

    /// Adds a key known to be absent, expiring at `expire_at`; journaled as one `Put`, so
    /// that a crash can never keep the key without its TTL.
    pub fn insert_new_expiring(
        &mut self,
        key: &[u8],
        value: Value,
        expire_at: Option<u64>,
        now_ms: u64,
    ) -> Slot {
        let slot = self.insert_raw(key, value, now_ms);
        self.set_expire_raw(slot, expire_at);
        self.journal_put(slot);
        slot
    }

    fn insert_raw(&mut self, key: &[u8], value: Value, now_ms: u64) -> Slot {
        let hash = self.hasher.hash_one(key);
        let entry = Entry {
            key: key.into(),
            hash,
            value,
            expire_at: 0,
            expiring_pos: 0,
            last_access: lru_clock(now_ms),
            lfu: LFU_INIT,
            // Created after a running snapshot began: not part of it.
            snap_epoch: self.snap.as_ref().map_or(0, |c| c.epoch),
        };
        self.memory += entry.memory();
        let slot = match self.free.pop() {
            Some(s) => {
                self.slab[s as usize] = Some(entry);
                s
            }
            None => {
                self.slab.push(Some(entry));
                (self.slab.len() - 1) as Slot
            }
        };
        let slab = &self.slab;
        self.index.insert_unique(hash, slot, |&s| {
            slab[s as usize].as_ref().expect("indexed").hash
        });
        slot
    }

    /// Replaces the value of a live entry; `expire` as in `modify_expiring`.
    pub fn replace_value(
        &mut self,
        slot: Slot,
        value: Value,
        expire: Option<Option<u64>>,
    ) -> Value {
        self.modify_expiring(slot, expire, |v| std::mem::replace(v, value))
    }

    /// Changes a value in place, keeping its expiry and the memory figure right;
    /// journals the result.
    #[inline]
    pub fn modify<R>(&mut self, slot: Slot, f: impl FnOnce(&mut Value) -> R) -> R {
        self.modify_expiring(slot, None, f)
    }

    /// Like `modify`, and when `expire` is `Some` also sets (`Some(Some(ms))`) or clears
    /// (`Some(None)`) the expiry: one `Put` for both, so that a crash cannot keep half of
    /// the change. A container left empty is deleted (the slot is then gone).
    #[inline]
    pub fn modify_expiring<R>(
        &mut self,
        slot: Slot,
        expire: Option<Option<u64>>,
        f: impl FnOnce(&mut Value) -> R,
    ) -> R {
        self.before_change(slot);
        let r = self.modify_raw(slot, f);
        if self.remove_if_emptied(slot) {
            return r;
        }
        if let Some(at) = expire {
            self.set_expire_raw(slot, at);
        }
        self.journal_put(slot);
        r
    }

    /// Changes part of a container in place and journals `delta`, which must describe
    /// exactly what `f` does, instead of the whole value. A container left empty is
    /// deleted (the slot is then gone).
    #[inline]
    pub fn modify_delta<R>(
        &mut self,
        slot: Slot,
        delta: DeltaRef<'_>,
        f: impl FnOnce(&mut Value) -> R,
    ) -> R {
        self.before_change(slot);
        let r = self.modify_raw(slot, f);
        if self.remove_if_emptied(slot) {
            return r;
        }
        note_change(&self.entry(slot).key);
        if self.watches.is_some() {
            self.touch_watched(&self.entry(slot).key);
        }
        if let Some(j) = &self.journal {
            j.append(&EffectRef::Delta {
                db: self.db,
                key: &self.entry(slot).key,
                delta,
            });
        }
        r
    }

    /// Deletes the entry when its container has no elements left (Redis never keeps an
    /// empty list, hash or set); returns whether it did.
    #[inline]
    fn remove_if_emptied(&mut self, slot: Slot) -> bool {
        let emptied = self.entry(slot).value.is_empty_container();
        if emptied {
            self.remove_slot(slot);
        }
        emptied
    }

    #[inline]
    fn modify_raw<R>(&mut self, slot: Slot, f: impl FnOnce(&mut Value) -> R) -> R {
        let e = self.slab[slot as usize].as_mut().expect("live slot");
        let before = e.value.heap_size();
        let r = f(&mut e.value);
        let after = e.value.heap_size();
        self.memory = self.memory + after - before;
        r
    }

    /// Sets (`Some`) or clears (`None`) the expiry of a live entry.
    pub fn set_expire(&mut self, slot: Slot, expire_at: Option<u64>) {
        if self.entry(slot).expire_at == expire_at.unwrap_or(0) {
            return; // unchanged: nothing to journal (SET clears a TTL that is not there)
        }
        self.before_change(slot);
        self.set_expire_raw(slot, expire_at);
        let e = self.entry(slot);
        self.journal(EffectRef::Expire {
            db: self.db,
            key: &e.key,
            at: e.expire_at,
        });
    }

    fn set_expire_raw(&mut self, slot: Slot, expire_at: Option<u64>) {
        let at = expire_at.unwrap_or(0);
        let e = self.slab[slot as usize].as_mut().expect("live slot");
        match (e.expire_at != 0, at != 0) {
            (false, true) => {
                e.expiring_pos = self.expiring.len() as u32;
                self.expiring.push(slot);
            }
            (true, false) => {
                let pos = e.expiring_pos;
                self.unlist_expiring(pos);
            }
            _ => {}
        }
        self.slab[slot as usize]
            .as_mut()
            .expect("live slot")
            .expire_at = at;
    }

    fn unlist_expiring(&mut self, pos: u32) {
        self.expiring.swap_remove(pos as usize);
        if let Some(&moved) = self.expiring.get(pos as usize) {
            self.slab[moved as usize]
                .as_mut()
                .expect("expiring slot")
                .expiring_pos = pos;
        }
    }

    /// Removes a key; returns its entry if it existed (expired or not).
    pub fn remove(&mut self, key: &[u8]) -> Option<Entry> {
        let slot = self.find(key)?;
        Some(self.remove_slot(slot))
    }

    pub fn remove_slot(&mut self, slot: Slot) -> Entry {
        self.before_change(slot);
        let e = self.slab[slot as usize].take().expect("live slot");
        let db = self.db;
        self.journal(EffectRef::Del { db, key: &e.key });
        if e.expire_at != 0 {
            self.unlist_expiring(e.expiring_pos);
        }
        if let Ok(found) = self.index.find_entry(e.hash, |&s| s == slot) {
            found.remove();
        }
        self.memory -= e.memory();
        if self.index.is_empty() {
            // Start over so an emptied keyspace gives its slab back.
            self.slab = Vec::new();
            self.free = Vec::new();
        } else {
            self.free.push(slot);
        }
        e
    }

    /// Removes every key.
    pub fn clear(&mut self) {
        // A running snapshot still needs the old contents: let it finish this keyspace.
        self.snapshot_step(usize::MAX);
        self.journal(EffectRef::FlushDb { db: self.db });
        *self = Keyspace {
            watches: self.watches.take(),
            hasher: self.hasher.clone(),
            expired: self.expired,
            hits: self.hits,
            misses: self.misses,
            db: self.db,
            journal: self.journal.take(),
            ..Keyspace::default()
        };
    }

    /// Visits live entries from slab position `cursor`, at most `max_positions` positions,
    /// calling `f` for each. Returns the next cursor, 0 when the walk is complete.
    pub fn scan(&self, cursor: usize, max_positions: usize, mut f: impl FnMut(&Entry)) -> usize {
        let end = cursor.saturating_add(max_positions).min(self.slab.len());
        for e in self.slab[cursor.min(end)..end].iter().flatten() {
            f(e);
        }
        if end >= self.slab.len() {
            0
        } else {
            end
        }
    }

    /// Slab positions `from..from + len` (clamped to the slab), for walks that look
    /// ahead of the entry they are at (SQL scans prefetch). Holes are `None`.
    pub fn slab_window(&self, from: usize, len: usize) -> &[Option<Entry>] {
        let end = from.saturating_add(len).min(self.slab.len());
        &self.slab[from.min(end)..end]
    }

    /// A uniformly random live key's slot, or None when empty.
    pub fn random_slot(&self, rng: &mut fastrand::Rng) -> Option<Slot> {
        if self.is_empty() {
            return None;
        }
        // Holes are at most the free list's length, and inserts refill them, so rejection
        // sampling terminates fast; the bounded loop then falls back to a walk.
        for _ in 0..64 {
            let pos = rng.usize(..self.slab.len());
            if self.slab[pos].is_some() {
                return Some(pos as Slot);
            }
        }
        let start = rng.usize(..self.slab.len());
        (start..self.slab.len())
            .chain(0..start)
            .find(|&p| self.slab[p].is_some())
            .map(|p| p as Slot)
    }

    /// One round of active expiry: samples up to `samples` keys that have a TTL and deletes
    /// those that are past it. Returns (sampled, expired).
    pub fn expire_sample(
        &mut self,
        now_ms: u64,
        samples: usize,
        rng: &mut fastrand::Rng,
    ) -> (usize, usize) {
        let n = samples.min(self.expiring.len());
        let mut expired = 0;
        for _ in 0..n {
            if self.expiring.is_empty() {
                break;
            }
            let slot = self.expiring[rng.usize(..self.expiring.len())];
            if self.entry(slot).expire_at <= now_ms {
                self.remove_slot(slot);
                self.expired += 1;
                expired += 1;
            }
        }
        (n, expired)
    }
}

/// Swaps databases `a` and `b` (SWAPDB), journaling it once.
pub fn swap_dbs(dbs: &mut [Keyspace], a: usize, b: usize) {
    if a == b {
        return;
    }
    // Watchers of either database see their keys change; the watch tables stay with
    // their database numbers. (The journal of the swap below moves the catalog epoch.)
    dbs[a].touch_all_watched();
    dbs[b].touch_all_watched();
    dbs.swap(a, b);
    let (wa, wb) = (dbs[a].watches.take(), dbs[b].watches.take());
    dbs[a].watches = wb;
    dbs[b].watches = wa;
    dbs[a].db = a as u32;
    dbs[b].db = b as u32;
    dbs[a].journal(EffectRef::SwapDb {
        a: a as u32,
        b: b as u32,
    });
}

/// Initial LFU counter of a new key, as in Redis, so new keys are not evicted at once.
const LFU_INIT: u8 = 5;

/// Redis's logarithmic counter: the higher the counter, the less likely an access bumps it.
fn lfu_increment(counter: u8) -> u8 {
    if counter == 255 {
        return 255;
    }
    const LOG_FACTOR: f64 = 10.0;
    let base = counter.saturating_sub(LFU_INIT) as f64;
    let p = 1.0 / (base * LOG_FACTOR + 1.0);
    if fastrand::f64() < p {
        counter + 1
    } else {
        counter
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> Value {
        Value::Str(v.as_bytes().to_vec())
    }

    /// Every key lookup loads an entry: keep it small (a container type
    /// that grows `Value` must be boxed, see `Value`).
    #[test]
    fn entries_stay_small() {
        assert_eq!(
            core::mem::size_of::<Value>(),
            core::mem::size_of::<Vec<u8>>()
        );
        assert!(
            core::mem::size_of::<Option<Entry>>() <= 80,
            "{} bytes",
            core::mem::size_of::<Option<Entry>>()
        );
    }

    #[test]
    fn insert_find_remove() {
        let mut ks = Keyspace::new();
        ks.insert(b"a", s("1"), None, 0);
        ks.insert(b"b", s("2"), Some(100), 0);
        assert_eq!(ks.len(), 2);
        assert_eq!(ks.expires(), 1);
        ks.insert(b"b", s("3"), None, 0);
        assert_eq!(ks.expires(), 0);
        assert_eq!(ks.get(b"b", 0).unwrap().value, s("3"));
        assert!(ks.remove(b"a").is_some());
        assert!(ks.find(b"a").is_none());
        assert_eq!(ks.len(), 1);
    }

    #[test]
    fn lazy_expiry() {
        let mut ks = Keyspace::new();
        ks.insert(b"k", s("v"), Some(1000), 0);
        assert!(ks.lookup(b"k", 999).is_some());
        assert!(ks.lookup(b"k", 1000).is_none());
        assert_eq!(ks.len(), 0);
        assert_eq!(ks.expires(), 0);
    }

    #[test]
    fn memory_returns_to_zero() {
        let mut ks = Keyspace::new();
        for i in 0..1000 {
            ks.insert(format!("k{i}").as_bytes(), s("value"), Some(5), 0);
        }
        assert!(ks.memory() > 0);
        let mut rng = fastrand::Rng::with_seed(1);
        while ks.expires() > 0 {
            ks.expire_sample(10, 20, &mut rng);
        }
        assert_eq!(ks.len(), 0);
        assert_eq!(ks.memory(), 0);
        assert_eq!(ks.slab_len(), 0);
    }

    #[test]
    fn scan_sees_every_stable_key_once_despite_churn() {
        let mut ks = Keyspace::new();
        for i in 0..500 {
            ks.insert(format!("stable{i}").as_bytes(), s("x"), None, 0);
        }
        let mut seen = std::collections::HashMap::new();
        let mut cursor = 0;
        let mut round = 0;
        loop {
            cursor = ks.scan(cursor, 37, |e| {
                *seen.entry(e.key.to_vec()).or_insert(0) += 1
            });
            // Churn between calls: growth and deletions of other keys.
            for j in 0..50 {
                ks.insert(format!("temp{round}-{j}").as_bytes(), s("y"), None, 0);
            }
            for j in 0..25 {
                ks.remove(format!("temp{round}-{j}").as_bytes());
            }
            round += 1;
            if cursor == 0 {
                break;
            }
        }
        for i in 0..500 {
            assert_eq!(
                seen.get(format!("stable{i}").as_bytes()),
                Some(&1),
                "stable{i}"
            );
        }
    }

    #[test]
    fn find_read_counts_without_touching() {
        let mut ks = Keyspace::new();
        ks.insert(b"k", s("v"), Some(5000), 1000);
        let slot = ks.find(b"k").unwrap();
        let (lfu, last) = (ks.entry(slot).lfu, ks.entry(slot).last_access);
        assert!(ks.find_read(b"k", 4000).is_some());
        assert!(ks.find_read(b"nope", 4000).is_none());
        assert_eq!((ks.hits(), ks.misses()), (1, 1));
        assert_eq!(
            (ks.entry(slot).lfu, ks.entry(slot).last_access),
            (lfu, last)
        );
        assert!(
            ks.find_read(b"k", 5000).is_none(),
            "expired keys are misses"
        );
        assert_eq!((ks.len(), ks.misses(), ks.expired_count()), (0, 2, 1));
    }

    #[test]
    fn random_slot_finds_keys() {
        let mut ks = Keyspace::new();
        let mut rng = fastrand::Rng::with_seed(7);
        assert!(ks.random_slot(&mut rng).is_none());
        for i in 0..100 {
            ks.insert(format!("k{i}").as_bytes(), s("x"), None, 0);
        }
        for i in 0..99 {
            ks.remove(format!("k{i}").as_bytes());
        }
        let slot = ks.random_slot(&mut rng).unwrap();
        assert_eq!(&*ks.entry(slot).key, b"k99");
    }
}
