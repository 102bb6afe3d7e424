//! Start-up recovery of one shard: its snapshot, then its WAL segments in order.
//!
//! Runs on the shard's own executor before it accepts connections, so all shards recover
//! in parallel. Plain blocking reads: nothing else runs on the core yet.
//!
//! What it refuses: a snapshot or segment of another shard, shard count or format version;
//! a checksum failure anywhere but at the very end of the last segment; a gap in the LSN
//! sequence. What it repairs: a torn last record (a crash in the middle of an append),
//! which is truncated with a warning, as the longest valid prefix of the log is exactly
//! what was acknowledged.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};
use std::time::Instant;

use super::effect::Effect;
use super::format::{
    self, FormatError, RecordWalker, SegmentHeader, Walked, SEGMENT_HEADER_LEN, SNAPSHOT_FILE,
    SNAPSHOT_TMP_FILE,
};
use super::snapshot::SnapshotReader;
use super::wal::SegmentInfo;
use crate::shard::keyspace::Keyspace;

/// A recovery failure: the file, the offset and what the operator can do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecoveryError(pub String);

impl std::fmt::Display for RecoveryError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

const WAY_OUT: &str = "The server did not start so that nothing is lost silently. Restore the \
    data directory from a backup, or move the damaged file out of the shard's folder to start \
    without the data it holds (`memflux inspect <file>` shows what is in it).";

/// The error for a file that cannot be read as what it claims to be.
pub fn damaged(path: &Path, e: &FormatError) -> RecoveryError {
    RecoveryError(format!("{}: {e}. {WAY_OUT}", path.display()))
}

fn io_error(path: &Path, what: &str, e: std::io::Error) -> RecoveryError {
    RecoveryError(format!("{}: cannot {what}: {e}", path.display()))
}

/// What recovery found.
#[derive(Debug, Default)]
pub struct Recovered {
    /// LSN the next record gets.
    pub next_lsn: u64,
    /// The segments on disk, oldest first (they stay until a snapshot covers them).
    pub segments: Vec<SegmentInfo>,
    pub snapshot_lsn: u64,
    /// When the snapshot that was loaded was started (Unix ms).
    pub snapshot_ms: Option<u64>,
    pub snapshot_keys: u64,
    pub records_replayed: u64,
    /// Warnings already logged (torn tails), for tests and INFO.
    pub truncated: Vec<String>,
}

/// Which shard the files must belong to.
#[derive(Debug, Clone, Copy)]
pub struct Identity {
    pub shard: u32,
    pub shards: u32,
}

/// By the time recovery runs, every shard folder's first file has told `reshard` the
/// layout (`want.shards`); a file that disagrees was put in a folder by hand or damaged.
fn check_identity(
    path: &Path,
    kind: &str,
    shard: u32,
    shards: u32,
    want: Identity,
) -> Result<(), RecoveryError> {
    if shards != want.shards {
        return Err(RecoveryError(format!(
            "{}: {kind} was written by a server with {shards} shards (shard count at offset 16), \
             but the data directory is laid out for {}, so the file does not belong here. {WAY_OUT}",
            path.display(),
            want.shards
        )));
    }
    if shard != want.shard {
        return Err(RecoveryError(format!(
            "{}: {kind} belongs to shard {shard} (shard id at offset 12), found in the folder of \
             shard {}. Was a shard folder renamed or copied by hand? {WAY_OUT}",
            path.display(),
            want.shard
        )));
    }
    Ok(())
}

/// Loads the snapshot at `path` into `dbs`. Returns (lsn, created_ms, keys).
pub fn load_snapshot(
    path: &Path,
    want: Option<Identity>,
    dbs: &mut [Keyspace],
) -> Result<(u64, u64, u64), RecoveryError> {
    let file = File::open(path).map_err(|e| io_error(path, "open the snapshot", e))?;
    let mut reader = SnapshotReader::new(BufReader::with_capacity(1 << 20, file))
        .map_err(|e| damaged(path, &e))?;
    let h = reader.header;
    if let Some(want) = want {
        check_identity(path, "the snapshot", h.shard, h.shards, want)?;
    }
    let started = Instant::now();
    let mut last_report = Instant::now();
    let mut keys = 0u64;
    while let Some(e) = reader.next_entry().map_err(|e| damaged(path, &e))? {
        let n = dbs.len();
        let Some(ks) = dbs.get_mut(e.db as usize) else {
            return Err(RecoveryError(format!(
                "{}: holds keys of database {} but the server has {n} databases; raise `databases`",
                path.display(),
                e.db
            )));
        };
        ks.insert(
            &e.key,
            e.value,
            (e.expire_at != 0).then_some(e.expire_at),
            0,
        );
        keys += 1;
        if last_report.elapsed().as_secs() >= 2 {
            last_report = Instant::now();
            let secs = started.elapsed().as_secs_f64();
            tracing::info!(
                shard = h.shard,
                "loading {}: {keys} keys, {:.0} keys/s, {:.1} MB/s",
                path.display(),
                keys as f64 / secs,
                reader.file_offset() as f64 / secs / 1e6
            );
        }
    }
    Ok((h.lsn, h.created_ms, keys))
}

/// Recovers shard `want.shard` from `shard_dir` into `dbs` (whose journal must be muted).
pub fn recover(
    shard_dir: &Path,
    want: Identity,
    dbs: &mut [Keyspace],
) -> Result<Recovered, RecoveryError> {
    let started = Instant::now();
    let mut out = Recovered {
        next_lsn: 1,
        ..Default::default()
    };
    let tmp = shard_dir.join(SNAPSHOT_TMP_FILE);
    if tmp.exists() {
        // An interrupted snapshot: the previous one (if any) and the WAL are still whole.
        std::fs::remove_file(&tmp).map_err(|e| io_error(&tmp, "remove", e))?;
    }
    let snap = shard_dir.join(SNAPSHOT_FILE);
    if snap.exists() {
        let (lsn, created, keys) = load_snapshot(&snap, Some(want), dbs)?;
        out.snapshot_lsn = lsn;
        out.snapshot_ms = Some(created);
        out.snapshot_keys = keys;
    }
    let mut last_lsn = out.snapshot_lsn;
    let segments = format::list_segments(shard_dir).map_err(|e| io_error(shard_dir, "list", e))?;
    let count = segments.len();
    for (i, (seq, path)) in segments.into_iter().enumerate() {
        let is_last = i + 1 == count;
        match replay_segment(&path, want, is_last, &mut last_lsn, dbs, &mut out)? {
            Some(info) => out.segments.push(SegmentInfo { seq, ..info }),
            None => continue, // an empty last segment, removed
        }
    }
    out.next_lsn = last_lsn + 1;
    if out.snapshot_keys > 0 || out.records_replayed > 0 {
        tracing::info!(
            shard = want.shard,
            "recovered {} keys from the snapshot and {} WAL records in {:.2}s",
            out.snapshot_keys,
            out.records_replayed,
            started.elapsed().as_secs_f64()
        );
    }
    Ok(out)
}

fn read_file(path: &Path) -> Result<Vec<u8>, RecoveryError> {
    let mut data = Vec::new();
    File::open(path)
        .and_then(|mut f| f.read_to_end(&mut data))
        .map_err(|e| io_error(path, "read", e))?;
    Ok(data)
}

/// Replays one segment. Returns its description, or None when it was an empty last
/// segment (crash right after creating it) and was removed.
fn replay_segment(
    path: &PathBuf,
    want: Identity,
    is_last: bool,
    last_lsn: &mut u64,
    dbs: &mut [Keyspace],
    out: &mut Recovered,
) -> Result<Option<SegmentInfo>, RecoveryError> {
    let data = read_file(path)?;
    if data.len() < SEGMENT_HEADER_LEN
        && is_last
        && data.starts_with(&format::SEGMENT_MAGIC[..data.len().min(8)])
    {
        tracing::warn!(
            "{}: incomplete segment header ({} bytes), left by a crash while the segment was created; removing it",
            path.display(),
            data.len()
        );
        std::fs::remove_file(path).map_err(|e| io_error(path, "remove", e))?;
        return Ok(None);
    }
    let header = SegmentHeader::decode(&data).map_err(|e| damaged(path, &e))?;
    check_identity(path, "the WAL segment", header.shard, header.shards, want)?;
    let mut walker = RecordWalker::new(&data, *last_lsn);
    let started = Instant::now();
    let mut last_report = started;
    loop {
        match walker.next_record() {
            Walked::End => break,
            Walked::Record {
                offset,
                lsn,
                payload,
            } => {
                if lsn <= *last_lsn {
                    // Already in the snapshot (a segment the snapshot covers but that was
                    // not deleted yet).
                    continue;
                }
                if lsn != *last_lsn + 1 {
                    return Err(damaged(
                        path,
                        &FormatError::new(
                            offset as u64,
                            format!(
                                "record LSN {lsn} follows LSN {}: records {}..{} are missing",
                                *last_lsn,
                                *last_lsn + 1,
                                lsn - 1
                            ),
                        ),
                    ));
                }
                let effect = Effect::decode(payload)
                    .map_err(|why| damaged(path, &FormatError::new(offset as u64, why)))?;
                effect.apply(dbs).map_err(|why| {
                    RecoveryError(format!("{} at offset {offset}: {why}", path.display()))
                })?;
                *last_lsn = lsn;
                out.records_replayed += 1;
                if out.records_replayed.is_multiple_of(4096) && last_report.elapsed().as_secs() >= 2
                {
                    last_report = Instant::now();
                    let secs = started.elapsed().as_secs_f64();
                    tracing::info!(
                        shard = want.shard,
                        "replaying {}: {} records so far, {:.1} MB/s",
                        path.display(),
                        out.records_replayed,
                        offset as f64 / secs / 1e6
                    );
                }
            }
            Walked::Bad {
                offset: at,
                reason,
                valid_after,
            } => {
                if !is_last || valid_after.is_some() {
                    let mut reason = reason;
                    if let Some(l) = valid_after {
                        reason.push_str(&format!(", with valid records after it (at offset {l})"));
                    } else {
                        reason.push_str(" in a segment that is not the last one");
                    }
                    return Err(damaged(path, &FormatError::new(at as u64, reason)));
                }
                let warning = format!(
                    "{}: torn record at offset {at} ({reason}), left by a crash during a write; truncating the segment to {at} bytes",
                    path.display()
                );
                tracing::warn!("{warning}");
                let f = std::fs::OpenOptions::new()
                    .write(true)
                    .open(path)
                    .map_err(|e| io_error(path, "open for truncation", e))?;
                f.set_len(at as u64)
                    .and_then(|_| f.sync_all())
                    .map_err(|e| io_error(path, "truncate", e))?;
                out.truncated.push(warning);
                break;
            }
        }
    }
    Ok(Some(SegmentInfo {
        seq: 0,
        path: path.clone(),
        first_lsn: header.first_lsn,
        bytes: walker.offset() as u64,
    }))
}
