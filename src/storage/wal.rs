//! The shard's WAL task: moves the journal's records into segment files and syncs them.
//!
//! One task per shard owns the open segment. Each round it takes every record journaled
//! since the last round, writes them with one `write`, and under `always` syncs them with
//! one `fdatasync` before releasing the connections waiting for them; whatever arrives
//! meanwhile waits for the next round (group commit). `everysec` syncs from a once-a-second
//! timer instead, `no` leaves it to the OS. A failed write or sync stops the shard's writes
//! for good (`Journal::fail`): acknowledging writes the disk refused would break the
//! durability promise.

use std::cell::{Cell, RefCell};
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::time::Duration;

use glommio::io::BufferedFile;

use super::format::{self, SegmentHeader};
use super::journal::Journal;

/// A segment is closed and a new one started past this size.
const SEGMENT_MAX: u64 = 64 << 20;

/// When a write counts as durable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncPolicy {
    /// fdatasync before acknowledging.
    Always,
    /// fdatasync at least once a second.
    EverySec,
    /// Never sync explicitly.
    No,
}

impl SyncPolicy {
    /// The policy of a `durability` setting; None for `off` (no WAL).
    pub fn for_durability(d: crate::config::Durability) -> Option<SyncPolicy> {
        use crate::config::Durability;
        match d {
            Durability::Always => Some(SyncPolicy::Always),
            Durability::Everysec => Some(SyncPolicy::EverySec),
            Durability::No => Some(SyncPolicy::No),
            Durability::Off => None,
        }
    }
}

/// A segment file on disk.
#[derive(Debug, Clone)]
pub struct SegmentInfo {
    pub seq: u64,
    pub path: PathBuf,
    /// LSN of its first record (the next LSN when it was created).
    pub first_lsn: u64,
    pub bytes: u64,
}

struct Open {
    file: BufferedFile,
    seq: u64,
    len: Cell<u64>,
}

pub struct Wal {
    dir: PathBuf,
    shard: u32,
    shards: u32,
    journal: Rc<Journal>,
    policy: Cell<SyncPolicy>,
    open: RefCell<Option<Rc<Open>>>,
    /// Every segment on disk, oldest first; the last one is the open one.
    segments: RefCell<Vec<SegmentInfo>>,
    /// Records journaled before a snapshot's cut, not yet written: they belong to the
    /// segment before the cut.
    before_cut: RefCell<Option<(Vec<u8>, u64)>>,
    stopping: Cell<bool>,
    stopped: Cell<bool>,
    stopped_waker: RefCell<Option<std::task::Waker>>,
}

impl Wal {
    /// `segments`: the segments recovery found, oldest first.
    pub fn new(
        shard_dir: &Path,
        shard: u32,
        shards: u32,
        journal: Rc<Journal>,
        policy: SyncPolicy,
        segments: Vec<SegmentInfo>,
    ) -> Rc<Wal> {
        Rc::new(Wal {
            dir: shard_dir.to_path_buf(),
            shard,
            shards,
            journal,
            policy: Cell::new(policy),
            open: RefCell::new(None),
            segments: RefCell::new(segments),
            before_cut: RefCell::new(None),
            stopping: Cell::new(false),
            stopped: Cell::new(false),
            stopped_waker: RefCell::new(None),
        })
    }

    pub fn policy(&self) -> SyncPolicy {
        self.policy.get()
    }

    pub fn set_policy(&self, policy: SyncPolicy) {
        self.policy.set(policy);
        self.journal.nudge_writer();
    }

    /// Total bytes of the segments on disk.
    pub fn disk_bytes(&self) -> u64 {
        self.segments.borrow().iter().map(|s| s.bytes).sum()
    }

    pub fn segment_count(&self) -> usize {
        self.segments.borrow().len()
    }

    /// Starts a new segment for the records after the last one journaled so far; returns
    /// that record's LSN. Used when a snapshot begins, so that the segments before the
    /// cut can be deleted once the snapshot is safe.
    pub fn cut(&self) -> u64 {
        if let Some((bytes, last)) = self.journal.take_pending() {
            let mut cut = self.before_cut.borrow_mut();
            match &mut *cut {
                Some((b, l)) => {
                    b.extend_from_slice(&bytes);
                    *l = last;
                }
                None => *cut = Some((bytes, last)),
            }
        } else if self.before_cut.borrow().is_none() {
            *self.before_cut.borrow_mut() = Some((Vec::new(), self.journal.last_lsn()));
        }
        self.journal.nudge_writer();
        self.journal.last_lsn() + 1
    }

    /// Deletes the segments that hold only records below `first_kept_lsn` (they are in a
    /// snapshot now). The open segment is never deleted.
    pub async fn drop_segments_before(&self, first_kept_lsn: u64) {
        // The WAL task starts the segment that begins at the cut soon after the cut; until
        // it has, the segment before it is still the open one.
        for _ in 0..10_000 {
            let started = self
                .segments
                .borrow()
                .last()
                .is_some_and(|s| s.first_lsn >= first_kept_lsn);
            if started || self.journal.failure().is_some() || self.stopped.get() {
                break;
            }
            glommio::timer::sleep(Duration::from_millis(1)).await;
        }
        let doomed: Vec<SegmentInfo> = {
            let mut segs = self.segments.borrow_mut();
            let open_seq = self.open.borrow().as_ref().map(|o| o.seq);
            let mut doomed = Vec::new();
            // Segment i holds LSNs [first_lsn(i), first_lsn(i+1)).
            let mut i = 0;
            while i + 1 < segs.len() {
                if segs[i + 1].first_lsn <= first_kept_lsn && Some(segs[i].seq) != open_seq {
                    doomed.push(segs.remove(i));
                } else {
                    i += 1;
                }
            }
            doomed
        };
        for seg in doomed {
            if let Err(e) = std::fs::remove_file(&seg.path) {
                tracing::warn!(
                    shard = self.shard,
                    "cannot delete {}: {e}",
                    seg.path.display()
                );
            }
        }
    }

    /// Asks the task to write what is pending, sync, and stop.
    pub async fn stop(&self) {
        self.stopping.set(true);
        self.journal.nudge_writer();
        std::future::poll_fn(|cx| {
            if self.stopped.get() {
                std::task::Poll::Ready(())
            } else {
                *self.stopped_waker.borrow_mut() = Some(cx.waker().clone());
                std::task::Poll::Pending
            }
        })
        .await
    }

    fn fail(&self, what: &str, e: impl std::fmt::Display) {
        let why = format!(
            "MISCONF Errors writing to the WAL of shard {} ({what}: {e}); the shard refuses writes until it is restarted",
            self.shard
        );
        tracing::error!(shard = self.shard, "{why}");
        self.journal.fail(why);
    }

    async fn start_segment(&self) -> std::io::Result<Rc<Open>> {
        let seq = self.segments.borrow().last().map_or(1, |s| s.seq + 1);
        let path = self.dir.join(format::segment_name(seq));
        let file = BufferedFile::create(&path).await?;
        let first_lsn = self.journal.written_lsn() + 1;
        let header = SegmentHeader {
            shard: self.shard,
            shards: self.shards,
            first_lsn,
        }
        .encode();
        write_all(&file, header.to_vec(), 0).await?;
        file.fdatasync().await?;
        sync_dir(&self.dir).await?;
        self.segments.borrow_mut().push(SegmentInfo {
            seq,
            path,
            first_lsn,
            bytes: header.len() as u64,
        });
        let open = Rc::new(Open {
            file,
            seq,
            len: Cell::new(header.len() as u64),
        });
        *self.open.borrow_mut() = Some(open.clone());
        Ok(open)
    }

    async fn segment(&self) -> std::io::Result<Rc<Open>> {
        let current = self.open.borrow().clone();
        match current {
            Some(o) if o.len.get() < SEGMENT_MAX => Ok(o),
            Some(o) => {
                // Full: everything in it must be on disk before it is left behind.
                o.file.fdatasync().await?;
                self.journal.set_durable(self.journal.written_lsn());
                self.start_segment().await
            }
            None => self.start_segment().await,
        }
    }

    async fn write_records(&self, bytes: Vec<u8>, last_lsn: u64) -> std::io::Result<()> {
        if bytes.is_empty() {
            return Ok(());
        }
        let open = self.segment().await?;
        let n = bytes.len() as u64;
        // A plain pwrite: copying into the page cache takes microseconds, while the same
        // write through io_uring is handed to a kernel worker thread and costs about half
        // a millisecond per round. The sync below is the part worth doing asynchronously.
        pwrite_all(&open.file, &bytes, open.len.get())?;
        open.len.set(open.len.get() + n);
        if let Some(s) = self.segments.borrow_mut().last_mut() {
            s.bytes += n;
        }
        self.journal.set_written(last_lsn);
        if self.policy.get() == SyncPolicy::Always {
            self.sync().await?;
        }
        Ok(())
    }

    /// Syncs the open segment: everything written so far becomes durable.
    async fn sync(&self) -> std::io::Result<()> {
        let written = self.journal.written_lsn();
        let open = self.open.borrow().clone();
        if let Some(o) = open {
            if self.policy.get() == SyncPolicy::Always {
                fdatasync_now(&o.file)?;
            } else {
                o.file.fdatasync().await?;
            }
        }
        self.journal.set_durable(written);
        Ok(())
    }

    /// The WAL task; runs until `stop`.
    pub async fn run(self: Rc<Self>) {
        let ticker = {
            let wal = self.clone();
            glommio::spawn_local(async move { wal.sync_every_second().await })
        };
        loop {
            if self.journal.failure().is_some() {
                // Nothing more will be written; drop what was journaled after the failure.
                let _ = self.journal.take_pending();
                let _ = self.before_cut.borrow_mut().take();
                if self.stopping.get() {
                    break;
                }
                self.journal.records_pending().await;
                continue;
            }
            let cut = self.before_cut.borrow_mut().take();
            if let Some((bytes, last)) = cut {
                let r = async {
                    self.write_records(bytes, last).await?;
                    self.sync().await?;
                    self.start_segment().await.map(|_| ())
                }
                .await;
                if let Err(e) = r {
                    self.fail("starting a new segment", e);
                }
                continue;
            }
            match self.journal.take_pending() {
                Some((bytes, last)) => {
                    if let Err(e) = self.write_records(bytes, last).await {
                        self.fail("write", e);
                    }
                }
                None if self.stopping.get() => break,
                // Writers still waiting from before a switch away from `always`.
                None if self.journal.has_waiters()
                    && self.journal.durable_lsn() < self.journal.written_lsn() =>
                {
                    if let Err(e) = self.sync().await {
                        self.fail("fsync", e);
                    }
                }
                None => self.journal.records_pending().await,
            }
        }
        if self.journal.failure().is_none() {
            if let Err(e) = self.sync().await {
                self.fail("final sync", e);
            }
        }
        drop(ticker.cancel());
        self.stopped.set(true);
        if let Some(w) = self.stopped_waker.borrow_mut().take() {
            w.wake();
        }
    }

    async fn sync_every_second(self: Rc<Self>) {
        loop {
            glommio::timer::sleep(Duration::from_secs(1)).await;
            if self.policy.get() != SyncPolicy::EverySec || self.journal.failure().is_some() {
                continue;
            }
            if self.journal.durable_lsn() < self.journal.written_lsn() {
                if let Err(e) = self.sync().await {
                    self.fail("fsync", e);
                }
            }
        }
    }
}

/// Writes all of `bytes` at `pos`. A regular file takes a whole write unless something is
/// wrong (a full disk), so a short write is reported as an error rather than retried.
pub async fn write_all(file: &BufferedFile, bytes: Vec<u8>, pos: u64) -> std::io::Result<()> {
    let len = bytes.len();
    let n = file.write_at(bytes, pos).await?;
    if n != len {
        return Err(std::io::Error::new(
            std::io::ErrorKind::WriteZero,
            format!("short write: {n} of {len} bytes (is the disk full?)"),
        ));
    }
    Ok(())
}

/// Writes all of `bytes` at `pos` with pwrite(2) on the file's descriptor.
fn pwrite_all(file: &BufferedFile, bytes: &[u8], pos: u64) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    let fd = file.as_raw_fd();
    let mut done = 0usize;
    while done < bytes.len() {
        let rest = &bytes[done..];
        // SAFETY: writes from a live slice to a descriptor owned by `file`.
        let n = unsafe {
            libc::pwrite(
                fd,
                rest.as_ptr().cast(),
                rest.len(),
                (pos + done as u64) as libc::off_t,
            )
        };
        if n < 0 {
            let e = std::io::Error::last_os_error();
            if e.kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            return Err(e);
        }
        if n == 0 {
            return Err(std::io::Error::new(
                std::io::ErrorKind::WriteZero,
                "the file accepted no bytes (is the disk full?)",
            ));
        }
        done += n as usize;
    }
    Ok(())
}

/// fdatasync(2) on the file's descriptor, right here. Under `always` every write waits
/// for the sync anyway, and io_uring hands a sync to a kernel worker thread: waking it
/// and being woken back cost more than the sync itself on a small machine. Connections
/// that become ready meanwhile are served right after it and share the next one.
fn fdatasync_now(file: &BufferedFile) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    loop {
        // SAFETY: a descriptor owned by `file`, which outlives the call.
        if unsafe { libc::fdatasync(file.as_raw_fd()) } == 0 {
            return Ok(());
        }
        let e = std::io::Error::last_os_error();
        if e.kind() != std::io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
}

/// Makes a directory's entries (new, renamed or removed files) durable.
pub async fn sync_dir(dir: &Path) -> std::io::Result<()> {
    let d = glommio::io::Directory::open(dir).await?;
    d.sync().await?;
    d.close().await?;
    Ok(())
}
