//! Durability: each shard's write-ahead log and snapshots, recovery, offline inspection.
//!
//! * [`format`] — every file name, magic number and on-disk layout.
//! * [`effect`] — what the WAL records: the effects of writes.
//! * [`journal`] — the in-memory end of a shard's log, fed by its keyspaces.
//! * [`wal`] — the task that writes and syncs segments (group commit, `durability`).
//! * [`snapshot`] — encoding and decoding of snapshots (taken without stopping the shard).
//! * [`recovery`] — loading a snapshot and replaying the log at start-up.
//! * [`reshard`] — redistributing the data when the shard count changed.
//! * [`inspect`] — `memflux inspect`.
//!
//! A shard owns all of its files; no file or lock is shared between shards.

pub mod effect;
pub mod format;
pub mod inspect;
pub mod journal;
pub mod recovery;
pub mod reshard;
pub mod snapshot;
pub mod wal;

use std::cell::{Cell, RefCell};
use std::path::PathBuf;
use std::rc::Rc;
use std::task::{Poll, Waker};
use std::time::Instant;

use glommio::io::BufferedFile;

use crate::shard::keyspace::Keyspace;
use crate::shard::now_ms;
use format::{SnapshotHeader, SNAPSHOT_FILE, SNAPSHOT_TMP_FILE};
use journal::Journal;
use snapshot::SnapshotSink;
use wal::Wal;

/// Slab positions a snapshot walks between two chances for other tasks to run.
const SNAPSHOT_STEP: usize = 512;
/// Longest a snapshot works before letting the executor poll for I/O.
const SNAPSHOT_SLICE: std::time::Duration = std::time::Duration::from_micros(500);
/// Compressed bytes gathered before a snapshot writes them out.
const SNAPSHOT_WRITE_AT: usize = 256 << 10;

/// What a finished snapshot file holds.
struct Written {
    bytes: u64,
    keys: u64,
}

/// How the last snapshot went, for LASTSAVE and INFO.
#[derive(Debug, Clone, Default)]
pub struct SnapshotStatus {
    pub in_progress: bool,
    /// Unix ms when the last successful snapshot began (its point in time).
    pub last_ok_ms: Option<u64>,
    pub last_ok: bool,
    pub last_error: Option<String>,
    pub last_duration_ms: u64,
    pub last_keys: u64,
    pub last_bytes: u64,
    pub taken: u64,
}

/// One shard's durability state.
pub struct Storage {
    pub shard: u32,
    pub shards: u32,
    pub dir: PathBuf,
    pub journal: Rc<Journal>,
    /// None when durability is `off`.
    pub wal: Option<Rc<Wal>>,
    epoch: Cell<u32>,
    status: RefCell<SnapshotStatus>,
    /// Tasks waiting for the running snapshot to end.
    snapshot_waiters: RefCell<Vec<Waker>>,
}

impl Storage {
    pub fn new(
        shard: u32,
        shards: u32,
        dir: PathBuf,
        journal: Rc<Journal>,
        wal: Option<Rc<Wal>>,
        loaded_snapshot_ms: Option<u64>,
    ) -> Rc<Storage> {
        Rc::new(Storage {
            shard,
            shards,
            dir,
            journal,
            wal,
            epoch: Cell::new(0),
            status: RefCell::new(SnapshotStatus {
                last_ok_ms: loaded_snapshot_ms,
                last_ok: true,
                ..Default::default()
            }),
            snapshot_waiters: RefCell::new(Vec::new()),
        })
    }

    pub fn status(&self) -> SnapshotStatus {
        self.status.borrow().clone()
    }

    pub fn snapshot_in_progress(&self) -> bool {
        self.status.borrow().in_progress
    }

    /// Waits for a running snapshot (if any) to end.
    pub async fn snapshot_idle(&self) {
        std::future::poll_fn(|cx| {
            if self.snapshot_in_progress() {
                self.snapshot_waiters.borrow_mut().push(cx.waker().clone());
                Poll::Pending
            } else {
                Poll::Ready(())
            }
        })
        .await
    }

    /// Takes a snapshot of `dbs` while the shard keeps serving: writes it to a temporary
    /// file, syncs, renames it into place, syncs the folder, then deletes the WAL segments
    /// it covers. Fails if one is already running.
    pub async fn snapshot(&self, dbs: &RefCell<Vec<Keyspace>>) -> Result<(), String> {
        if self.snapshot_in_progress() {
            return Err("ERR Background save already in progress".into());
        }
        self.status.borrow_mut().in_progress = true;
        let started = Instant::now();
        let started_ms = now_ms();
        // The point in time: no await between reading the LSN and arming the keyspaces.
        let epoch = self.epoch.get() + 1;
        self.epoch.set(epoch);
        let lsn = self.journal.last_lsn();
        let first_after = self.wal.as_ref().map(|w| w.cut());
        self.journal.snapshot_began();
        let sink = Rc::new(RefCell::new(SnapshotSink::new()));
        for ks in dbs.borrow_mut().iter_mut() {
            ks.snapshot_begin(epoch, sink.clone());
        }
        let header = SnapshotHeader {
            shard: self.shard,
            shards: self.shards,
            lsn,
            created_ms: started_ms,
        };
        let result = self.write_snapshot(dbs, &sink, header).await;
        if result.is_err() {
            for ks in dbs.borrow_mut().iter_mut() {
                ks.snapshot_abort();
            }
        }
        {
            let mut st = self.status.borrow_mut();
            st.in_progress = false;
            st.last_duration_ms = started.elapsed().as_millis() as u64;
            match &result {
                Ok(Written { bytes, keys }) => {
                    let (bytes, keys) = (*bytes, *keys);
                    st.last_ok = true;
                    st.last_error = None;
                    st.last_ok_ms = Some(started_ms);
                    st.last_keys = keys;
                    st.last_bytes = bytes;
                    st.taken += 1;
                    tracing::info!(
                        shard = self.shard,
                        keys,
                        bytes,
                        lsn,
                        "snapshot written in {:.3}s",
                        started.elapsed().as_secs_f64()
                    );
                }
                Err(e) => {
                    st.last_ok = false;
                    st.last_error = Some(e.clone());
                    tracing::error!(shard = self.shard, "snapshot failed: {e}");
                }
            }
        }
        for w in self.snapshot_waiters.borrow_mut().drain(..) {
            w.wake();
        }
        if result.is_ok() {
            if let (Some(wal), Some(first)) = (&self.wal, first_after) {
                wal.drop_segments_before(first).await;
            }
        }
        result
            .map(|_| ())
            .map_err(|e| format!("ERR snapshot of shard {} failed: {e}", self.shard))
    }

    async fn write_snapshot(
        &self,
        dbs: &RefCell<Vec<Keyspace>>,
        sink: &Rc<RefCell<SnapshotSink>>,
        header: SnapshotHeader,
    ) -> Result<Written, String> {
        let tmp = self.dir.join(SNAPSHOT_TMP_FILE);
        let fail = |what: &str, e: &dyn std::fmt::Display| format!("{what} {}: {e}", tmp.display());
        let file = BufferedFile::create(&tmp)
            .await
            .map_err(|e| fail("cannot create", &e))?;
        let mut pos = 0u64;
        let head = header.encode().to_vec();
        let result: Result<Written, String> = async {
            pos += head.len() as u64;
            wal::write_all(&file, head, 0)
                .await
                .map_err(|e| fail("cannot write", &e))?;
            let mut last_pause = Instant::now();
            loop {
                let done = {
                    let mut dbs = dbs.borrow_mut();
                    let mut done = true;
                    for ks in dbs.iter_mut() {
                        if ks.snapshot_running() {
                            done = ks.snapshot_step(SNAPSHOT_STEP) && done;
                            if !done {
                                break;
                            }
                        }
                    }
                    done
                };
                if done {
                    break;
                }
                if sink.borrow().output_len() >= SNAPSHOT_WRITE_AT {
                    let out = sink.borrow_mut().take_output();
                    let n = out.len() as u64;
                    wal::write_all(&file, out, pos)
                        .await
                        .map_err(|e| fail("cannot write", &e))?;
                    pos += n;
                    last_pause = Instant::now();
                } else if last_pause.elapsed() >= SNAPSHOT_SLICE {
                    // Let the executor poll its sockets: a task that only yields stays
                    // runnable and would hold the core until the preemption timer.
                    glommio::timer::sleep(std::time::Duration::from_micros(1)).await;
                    last_pause = Instant::now();
                }
            }
            // The sink leaves the shared cell here, so its count is read now.
            let sink = std::mem::take(&mut *sink.borrow_mut());
            let keys = sink.entries();
            let out = sink.finish();
            let n = out.len() as u64;
            wal::write_all(&file, out, pos)
                .await
                .map_err(|e| fail("cannot write", &e))?;
            pos += n;
            file.fdatasync()
                .await
                .map_err(|e| fail("cannot sync", &e))?;
            Ok(Written { bytes: pos, keys })
        }
        .await;
        let _ = file.close().await;
        match result {
            Ok(written) => {
                let target = self.dir.join(SNAPSHOT_FILE);
                std::fs::rename(&tmp, &target).map_err(|e| {
                    format!(
                        "cannot rename {} to {}: {e}",
                        tmp.display(),
                        target.display()
                    )
                })?;
                wal::sync_dir(&self.dir)
                    .await
                    .map_err(|e| format!("cannot sync {}: {e}", self.dir.display()))?;
                Ok(written)
            }
            Err(e) => {
                let _ = std::fs::remove_file(&tmp);
                Err(e)
            }
        }
    }
}
