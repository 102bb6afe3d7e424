//! `memflux inspect <path> [--json | --keys]`: reads MemFlux's data files offline.
//!
//! `<path>` is a data directory (every shard folder `<dir>/<N>/` in it), one shard's
//! folder, a snapshot (`snapshot.mfs`, or a leftover `snapshot.mfs.tmp`) or a WAL segment
//! (`wal-<seq>.log`). Inspection only reads: it never truncates, renames or removes
//! anything, so it is safe on the data directory of a running server. Segments are read
//! through the same [`RecordWalker`] recovery uses, so a torn tail and damage in the middle
//! are told apart by the same rule.
//!
//! # Output
//!
//! Text by default. `--json` prints one JSON document:
//!
//! * `path`, `kind` (`data_dir`, `shard_dir`, `snapshot`, `segment`), `healthy` (bool),
//!   `damage`: every problem found, each `{file, kind, offset, reason}` plus
//!   `valid_record_after` (offset) for a bad record that valid records follow. Damage
//!   kinds: `torn_tail` (the last record is incomplete and nothing valid follows: what a
//!   crash in the middle of a write leaves), `torn_header` (a segment shorter than its
//!   header), `bad_record` (a record that fails its checksum or does not decode, in the
//!   middle of the log), `bad_header`, `bad_snapshot` (truncated, corrupt, or its checksum
//!   or entry count does not match its end marker), `lsn_gap`, `identity` (a file of
//!   another shard or shard count than its neighbours).
//! * `snapshot` (for a snapshot path): `file`, `bytes`, `temporary`, `header` {`magic`,
//!   `format_version`, `shard`, `shards`, `lsn`, `created_ms`, `created_utc`}, `entries`,
//!   `end_marker_verified`, `expiring`, `types` {type: keys}, `databases` [{`db`, `keys`,
//!   `expiring`, `types`, `key_bytes`, `value_bytes`}], `key_bytes`, `value_bytes`,
//!   `avg_key_bytes`, `avg_value_bytes`, `largest` [{`db`, `key` or `key_hex`,
//!   `key_bytes`, `type`, `value_bytes`}] (top 10 by value size), `damage` [..].
//! * `segment` (for a segment path): `file`, `bytes`, `seq`, `header` {`magic`,
//!   `format_version`, `shard`, `shards`, `first_lsn`}, `records`, `first_lsn`,
//!   `last_lsn` (of the records found), `ops` {op: records} with the names of
//!   `Effect::name` (a `group` record, one command's effects together, counts as `group`
//!   and once per effect it holds), `valid_bytes` (the length of the valid prefix), `damage` [..].
//! * `shards` (for a folder): one per shard folder: `dir`, `shard`, `snapshot`,
//!   `snapshot_tmp` {`file`, `bytes`} when one is left over, `segments` [..], `lsn`
//!   {`snapshot`, `wal_first`, `wal_last`, `last`, `continuous` (null when the snapshot
//!   header is unreadable)}; and `totals` {`shards`,
//!   `snapshots`, `segments`, `bytes`, `snapshot_keys`, `expiring`, `wal_records`, `ops`,
//!   `types`, `databases`}; `reshard` {`dir`, `complete`} when a `.reshard` staging folder
//!   exists.
//!
//! `--keys` prints, instead, one JSON object per line: for every snapshot entry
//! `{"shard","db","key","type","value","expire_at"}`, for every WAL record
//! `{"shard","lsn","offset","op",...}` with the effect's fields (`db`, `key`, `type`,
//! `value`, `expire_at` for `put`; `db`, `key` for `del`; `db`, `key`, `expire_at` for
//! `expire`; `db` for `flushdb`; `a`, `b` for `swapdb`; `effects`, a list of such objects
//! without `shard`/`lsn`/`offset`, for `group`). `expire_at` is Unix ms or null.
//! Keys and values are JSON strings when they are valid UTF-8; otherwise the field is
//! named `key_hex` / `value_hex` and holds the bytes as lowercase hex. Values are printed
//! whole. A folder prints each shard's snapshot entries, then its records in log order.
//! Damage goes to stderr, one line each.
//!
//! # Exit codes
//!
//! 0: everything read is healthy. 1: damage found (reported in the output). 2: could not
//! inspect: the path does not exist, is not a MemFlux file, holds no MemFlux files, or
//! cannot be read; one line on stderr names the path.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};
use std::fmt::Write as _;
use std::fs::File;
use std::io::{BufReader, Read, Write};
use std::path::Path;

use serde::Serialize;
use serde_json::{Map, Value as Json};

use super::effect::{Delta, Effect};
use super::format::{
    self, FileKind, RecordWalker, SegmentHeader, Walked, FORMAT_VERSION, SEGMENT_HEADER_LEN,
    SEGMENT_MAGIC, SNAPSHOT_FILE, SNAPSHOT_TMP_FILE,
};
use super::reshard;
use super::snapshot::{SnapEntry, SnapshotReader};
use crate::shard::value::Value;

pub const EXIT_HEALTHY: u8 = 0;
pub const EXIT_DAMAGE: u8 = 1;
pub const EXIT_CANNOT_INSPECT: u8 = 2;

/// How many of the largest keys a snapshot summary lists.
const LARGEST_KEYS: usize = 10;
/// Longest key name the text output shows before cutting it short.
const TEXT_KEY_MAX: usize = 80;

/// What `run` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    Text,
    Json,
    /// Entries and records as JSON lines.
    Keys,
}

/// Why a path could not be inspected at all (exit code 2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InspectError(pub String);

impl std::fmt::Display for InspectError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn cannot(path: &Path, what: impl std::fmt::Display) -> InspectError {
    InspectError(format!("{}: {what}", path.display()))
}

/// Inspects `path`, prints the result on stdout as `output` asks, and returns the exit
/// code (see the module doc).
pub fn run(path: &Path, output: Output) -> u8 {
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let result = {
        let dump = (output == Output::Keys).then_some(&mut out as &mut dyn Write);
        inspect(path, dump)
    };
    let report = match result {
        Ok(r) => r,
        Err(e) => {
            let _ = out.flush();
            eprintln!("memflux inspect: {e}");
            return EXIT_CANNOT_INSPECT;
        }
    };
    let written = match output {
        Output::Text => out.write_all(text(&report).as_bytes()),
        Output::Json => serde_json::to_writer_pretty(&mut out, &report)
            .map_err(std::io::Error::other)
            .and_then(|_| out.write_all(b"\n")),
        Output::Keys => {
            for d in &report.damage {
                eprintln!("memflux inspect: {}", d.line());
            }
            Ok(())
        }
    };
    if let Err(e) = written.and_then(|_| out.flush()) {
        eprintln!("memflux inspect: cannot write the output: {e}");
        return EXIT_CANNOT_INSPECT;
    }
    if report.healthy {
        EXIT_HEALTHY
    } else {
        EXIT_DAMAGE
    }
}

/// One problem found in a file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Damage {
    pub file: String,
    pub kind: &'static str,
    pub offset: u64,
    pub reason: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub valid_record_after: Option<u64>,
}

impl Damage {
    fn new(file: &Path, kind: &'static str, offset: u64, reason: impl Into<String>) -> Damage {
        Damage {
            file: file.display().to_string(),
            kind,
            offset,
            reason: reason.into(),
            valid_record_after: None,
        }
    }

    /// The damage as one line of text, with what it means for recovery.
    pub fn line(&self) -> String {
        let mut s = format!(
            "{}: {} at offset {}: {}",
            self.file, self.kind, self.offset, self.reason
        );
        if let Some(at) = self.valid_record_after {
            let _ = write!(s, "; valid records follow at offset {at}");
        }
        match self.kind {
            "torn_tail" => s.push_str(
                ". An incomplete last record is what a crash in the middle of a write leaves; \
                 recovery truncates it at the next start (no write acknowledged under \
                 durability=always is in it). On a running server it can also be a record \
                 being written right now",
            ),
            "torn_header" => s.push_str(
                ". Left by a crash while the segment was being created; recovery removes it \
                 when it is the last segment. On a running server it can also be a segment \
                 being created right now",
            ),
            _ => s.push_str(". Recovery refuses to start on this file"),
        }
        s
    }
}

/// Header fields of a snapshot.
#[derive(Debug, Clone, Serialize)]
pub struct SnapshotHeaderReport {
    pub magic: String,
    pub format_version: u32,
    pub shard: u32,
    pub shards: u32,
    pub lsn: u64,
    pub created_ms: u64,
    pub created_utc: String,
}

/// Keys of one database in a snapshot (or in all snapshots of a folder).
#[derive(Debug, Clone, Default, Serialize)]
pub struct DbReport {
    pub db: u32,
    pub keys: u64,
    pub expiring: u64,
    pub types: BTreeMap<&'static str, u64>,
    pub key_bytes: u64,
    pub value_bytes: u64,
}

impl DbReport {
    fn add(&mut self, other: &DbReport) {
        self.keys += other.keys;
        self.expiring += other.expiring;
        self.key_bytes += other.key_bytes;
        self.value_bytes += other.value_bytes;
        add_counts(&mut self.types, &other.types);
    }
}

fn add_counts(to: &mut BTreeMap<&'static str, u64>, from: &BTreeMap<&'static str, u64>) {
    for (name, n) in from {
        *to.entry(name).or_default() += n;
    }
}

/// One of a snapshot's largest keys.
#[derive(Debug, Clone, Serialize)]
pub struct LargeKey {
    pub db: u32,
    #[serde(flatten)]
    pub key: Map<String, Json>,
    pub key_bytes: u64,
    #[serde(rename = "type")]
    pub type_name: &'static str,
    pub value_bytes: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct SnapshotReport {
    pub file: String,
    pub bytes: u64,
    /// A `snapshot.mfs.tmp`: being written, or left by a crash; the server never reads it.
    pub temporary: bool,
    pub header: Option<SnapshotHeaderReport>,
    /// Entries read (all of them unless the snapshot is damaged).
    pub entries: u64,
    /// The end marker was read and its entry count and checksum match.
    pub end_marker_verified: bool,
    pub expiring: u64,
    pub types: BTreeMap<&'static str, u64>,
    pub databases: Vec<DbReport>,
    pub key_bytes: u64,
    pub value_bytes: u64,
    pub avg_key_bytes: f64,
    pub avg_value_bytes: f64,
    pub largest: Vec<LargeKey>,
    pub damage: Vec<Damage>,
}

/// Header fields of a WAL segment.
#[derive(Debug, Clone, Serialize)]
pub struct SegmentHeaderReport {
    pub magic: String,
    pub format_version: u32,
    pub shard: u32,
    pub shards: u32,
    pub first_lsn: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct SegmentReport {
    pub file: String,
    pub bytes: u64,
    /// The sequence number in the file name, if it has the segment name form.
    pub seq: Option<u64>,
    pub header: Option<SegmentHeaderReport>,
    pub records: u64,
    pub first_lsn: Option<u64>,
    pub last_lsn: Option<u64>,
    pub ops: BTreeMap<&'static str, u64>,
    /// Length of the valid prefix: the header and every whole valid record.
    pub valid_bytes: u64,
    pub damage: Vec<Damage>,
}

/// A leftover `snapshot.mfs.tmp` in a shard folder (not read: it may be being written).
#[derive(Debug, Clone, Serialize)]
pub struct TmpSnapshot {
    pub file: String,
    pub bytes: u64,
}

/// How the LSNs of a shard's snapshot and segments fit together.
#[derive(Debug, Clone, Serialize)]
pub struct LsnSummary {
    /// Every record up to this LSN is in the snapshot.
    pub snapshot: Option<u64>,
    pub wal_first: Option<u64>,
    pub wal_last: Option<u64>,
    /// The last LSN recovery would reach.
    pub last: u64,
    /// No record missing between the snapshot and the segments, nor between segments;
    /// `None` when the snapshot's header is unreadable, so what it covers is unknown.
    pub continuous: Option<bool>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ShardReport {
    pub dir: String,
    /// The shard id the folder's name says, if it is a number.
    pub shard: Option<u32>,
    pub snapshot: Option<SnapshotReport>,
    pub snapshot_tmp: Option<TmpSnapshot>,
    pub segments: Vec<SegmentReport>,
    pub lsn: LsnSummary,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Totals {
    pub shards: usize,
    pub snapshots: u64,
    pub segments: u64,
    pub bytes: u64,
    pub snapshot_keys: u64,
    pub expiring: u64,
    pub wal_records: u64,
    pub ops: BTreeMap<&'static str, u64>,
    pub types: BTreeMap<&'static str, u64>,
    pub databases: Vec<DbReport>,
}

/// A `.reshard` staging folder: a redistribution to another shard count was interrupted.
#[derive(Debug, Clone, Serialize)]
pub struct ReshardStaging {
    pub dir: String,
    /// Its `COMPLETE` marker exists: the next start finishes the move; otherwise the next
    /// start discards the staging folder and redoes the move.
    pub complete: bool,
}

/// Everything `memflux inspect` found.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub path: String,
    pub kind: &'static str,
    pub healthy: bool,
    pub damage: Vec<Damage>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub snapshot: Option<SnapshotReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub segment: Option<SegmentReport>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shards: Option<Vec<ShardReport>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub totals: Option<Totals>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reshard: Option<ReshardStaging>,
}

impl Report {
    fn new(path: &Path, kind: &'static str) -> Report {
        Report {
            path: path.display().to_string(),
            kind,
            healthy: true,
            damage: Vec::new(),
            snapshot: None,
            segment: None,
            shards: None,
            totals: None,
            reshard: None,
        }
    }

    /// Collects the damage of every file into `damage` and sets `healthy`.
    fn finish(mut self, folder_problems: Vec<Damage>) -> Report {
        let mut all = Vec::new();
        if let Some(s) = &self.snapshot {
            all.extend(s.damage.iter().cloned());
        }
        if let Some(s) = &self.segment {
            all.extend(s.damage.iter().cloned());
        }
        for shard in self.shards.iter().flatten() {
            if let Some(s) = &shard.snapshot {
                all.extend(s.damage.iter().cloned());
            }
            for seg in &shard.segments {
                all.extend(seg.damage.iter().cloned());
            }
        }
        all.extend(folder_problems);
        self.healthy = all.is_empty();
        self.damage = all;
        self
    }
}

/// Inspects `path`. With `dump`, every snapshot entry and WAL record is written to it as a
/// JSON line as it is read.
pub fn inspect(path: &Path, dump: Option<&mut dyn Write>) -> Result<Report, InspectError> {
    let meta = std::fs::metadata(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => cannot(path, "no such file or directory"),
        _ => cannot(path, e),
    })?;
    let mut inspector = Inspector { dump };
    if meta.is_dir() {
        return inspector.folder(path);
    }
    let head = read_head(path, 8)?;
    let named_segment = file_name(path)
        .and_then(format::parse_segment_name)
        .is_some();
    let kind = match format::sniff(&head) {
        Some(kind) => kind,
        // A segment cut short inside its magic: what a crash right after creating it leaves.
        None if named_segment && SEGMENT_MAGIC.starts_with(&head) => FileKind::Segment,
        None => return Err(cannot(
            path,
            "not a MemFlux file (it starts with neither the snapshot nor the WAL segment magic)",
        )),
    };
    match kind {
        FileKind::Snapshot => {
            let mut report = Report::new(path, "snapshot");
            report.snapshot = Some(inspector.snapshot(path)?);
            Ok(report.finish(Vec::new()))
        }
        FileKind::Segment => {
            let mut report = Report::new(path, "segment");
            let data = std::fs::read(path).map_err(|e| cannot(path, e))?;
            report.segment = Some(inspector.segment(path, &data)?);
            Ok(report.finish(Vec::new()))
        }
    }
}

fn file_name(path: &Path) -> Option<&str> {
    path.file_name().and_then(|n| n.to_str())
}

/// The first `len` bytes of a file (fewer if it is shorter).
fn read_head(path: &Path, len: usize) -> Result<Vec<u8>, InspectError> {
    let mut head = Vec::with_capacity(len);
    File::open(path)
        .and_then(|f| f.take(len as u64).read_to_end(&mut head))
        .map_err(|e| cannot(path, e))?;
    Ok(head)
}

/// Whether `dir` holds a snapshot or a segment directly.
fn holds_shard_files(dir: &Path) -> Result<bool, InspectError> {
    let segments = format::list_segments(dir).map_err(|e| cannot(dir, e))?;
    Ok(!segments.is_empty()
        || dir.join(SNAPSHOT_FILE).exists()
        || dir.join(SNAPSHOT_TMP_FILE).exists())
}

struct Inspector<'w> {
    dump: Option<&'w mut dyn Write>,
}

impl Inspector<'_> {
    /// Writes the line `line` builds when dumping (built only then: summaries of large
    /// files should not copy every value into JSON).
    fn emit(&mut self, line: impl FnOnce() -> Map<String, Json>) -> Result<(), InspectError> {
        if let Some(out) = self.dump.as_mut() {
            serde_json::to_writer(&mut *out, &Json::Object(line()))
                .map_err(std::io::Error::other)
                .and_then(|_| out.write_all(b"\n"))
                .map_err(|e| InspectError(format!("cannot write the output: {e}")))?;
        }
        Ok(())
    }

    /// A data directory or one shard's folder.
    fn folder(&mut self, dir: &Path) -> Result<Report, InspectError> {
        if holds_shard_files(dir)? {
            let mut report = Report::new(dir, "shard_dir");
            let shard_id = file_name(dir).and_then(canonical_number);
            let (shard, mut problems) = self.shard(dir, shard_id)?;
            problems.extend(shard_count_problems(std::slice::from_ref(&shard)));
            report.totals = Some(totals(std::slice::from_ref(&shard)));
            report.shards = Some(vec![shard]);
            return Ok(report.finish(problems));
        }
        let folders = reshard::shard_folders(dir).map_err(InspectError)?;
        let staging = dir.join(reshard::STAGING);
        let mut any_files = false;
        for (_, folder) in &folders {
            any_files |= holds_shard_files(folder)?;
        }
        if !any_files && !staging.is_dir() {
            return Err(cannot(
                dir,
                format!(
                    "no MemFlux files here (no {SNAPSHOT_FILE} or WAL segment in it, and no \
                     shard folder <N>/ holding them)"
                ),
            ));
        }
        let mut report = Report::new(dir, "data_dir");
        let mut problems = Vec::new();
        let mut shards = Vec::new();
        // Empty folders too: a shard that has not written anything yet has no files.
        for (id, folder) in folders {
            let (shard, p) = self.shard(&folder, u32::try_from(id).ok())?;
            problems.extend(p);
            shards.push(shard);
        }
        problems.extend(shard_count_problems(&shards));
        if staging.is_dir() {
            report.reshard = Some(ReshardStaging {
                dir: staging.display().to_string(),
                complete: staging.join(reshard::COMPLETE).exists(),
            });
        }
        report.totals = Some(totals(&shards));
        report.shards = Some(shards);
        Ok(report.finish(problems))
    }

    /// One shard's folder; returns its report and the problems between its files.
    fn shard(
        &mut self,
        dir: &Path,
        shard_id: Option<u32>,
    ) -> Result<(ShardReport, Vec<Damage>), InspectError> {
        // Segments are listed before the snapshot is read: a running server deletes
        // segments only after the snapshot that covers them is in place, so this order
        // never sees a gap that is not there.
        let listed = format::list_segments(dir).map_err(|e| cannot(dir, e))?;
        let snap_path = dir.join(SNAPSHOT_FILE);
        let snapshot = match self.snapshot(&snap_path) {
            Ok(s) => Some(s),
            Err(_) if !snap_path.exists() => None,
            Err(e) => return Err(e),
        };
        let tmp_path = dir.join(SNAPSHOT_TMP_FILE);
        let snapshot_tmp = std::fs::metadata(&tmp_path).ok().map(|m| TmpSnapshot {
            file: tmp_path.display().to_string(),
            bytes: m.len(),
        });
        let mut segments = Vec::new();
        for (_, path) in &listed {
            let data = match std::fs::read(path) {
                Ok(d) => d,
                // Deleted by the running server after a snapshot covered it.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(cannot(path, e)),
            };
            segments.push(self.segment(path, &data)?);
        }
        // Recovery accepts a torn tail only in the last segment.
        let count = segments.len();
        for seg in segments.iter_mut().take(count.saturating_sub(1)) {
            for d in &mut seg.damage {
                match d.kind {
                    "torn_tail" => {
                        d.kind = "bad_record";
                        d.reason.push_str(" in a segment that is not the last one");
                    }
                    "torn_header" => {
                        d.kind = "bad_header";
                        d.reason.push_str(" in a segment that is not the last one");
                    }
                    _ => {}
                }
            }
        }
        let mut problems = identity_problems(shard_id, snapshot.as_ref(), &segments);
        let snapshot_lsn = snapshot
            .as_ref()
            .and_then(|s| s.header.as_ref())
            .map(|h| h.lsn);
        // Recovery's rule: records up to the last LSN reached are skipped, the next one
        // must follow it directly.
        let snapshot_unreadable = snapshot.as_ref().is_some_and(|s| s.header.is_none());
        let mut last = snapshot_lsn.unwrap_or(0);
        let mut continuous = !snapshot_unreadable;
        for seg in &segments {
            let (Some(first), Some(end)) = (seg.first_lsn, seg.last_lsn) else {
                continue;
            };
            if end <= last {
                continue;
            }
            if first > last + 1 && !snapshot_unreadable {
                continuous = false;
                problems.push(Damage::new(
                    Path::new(&seg.file),
                    "lsn_gap",
                    SEGMENT_HEADER_LEN as u64,
                    format!(
                        "records {}..{} are missing: the segment starts at LSN {first}, the \
                         log before it ends at LSN {last}",
                        last + 1,
                        first - 1
                    ),
                ));
            }
            last = end;
        }
        let report = ShardReport {
            dir: dir.display().to_string(),
            shard: shard_id,
            snapshot,
            snapshot_tmp,
            lsn: LsnSummary {
                snapshot: snapshot_lsn,
                wal_first: segments.iter().find_map(|s| s.first_lsn),
                wal_last: segments.iter().rev().find_map(|s| s.last_lsn),
                last,
                continuous: (!snapshot_unreadable).then_some(continuous),
            },
            segments,
        };
        Ok((report, problems))
    }

    fn snapshot(&mut self, path: &Path) -> Result<SnapshotReport, InspectError> {
        let file = File::open(path).map_err(|e| cannot(path, e))?;
        let bytes = file.metadata().map_err(|e| cannot(path, e))?.len();
        let mut report = SnapshotReport {
            file: path.display().to_string(),
            bytes,
            temporary: file_name(path) == Some(SNAPSHOT_TMP_FILE),
            header: None,
            entries: 0,
            end_marker_verified: false,
            expiring: 0,
            types: BTreeMap::new(),
            databases: Vec::new(),
            key_bytes: 0,
            value_bytes: 0,
            avg_key_bytes: 0.0,
            avg_value_bytes: 0.0,
            largest: Vec::new(),
            damage: Vec::new(),
        };
        let mut reader = match SnapshotReader::new(BufReader::with_capacity(1 << 20, file)) {
            Ok(r) => r,
            Err(e) => {
                report
                    .damage
                    .push(Damage::new(path, "bad_header", e.offset, e.reason));
                return Ok(report);
            }
        };
        let h = reader.header;
        report.header = Some(SnapshotHeaderReport {
            magic: magic_text(format::SNAPSHOT_MAGIC),
            format_version: FORMAT_VERSION,
            shard: h.shard,
            shards: h.shards,
            lsn: h.lsn,
            created_ms: h.created_ms,
            created_utc: utc_iso8601(h.created_ms),
        });
        let mut databases: BTreeMap<u32, DbReport> = BTreeMap::new();
        let mut largest = Largest::default();
        loop {
            let entry = match reader.next_entry() {
                Ok(Some(e)) => e,
                Ok(None) => {
                    report.end_marker_verified = true;
                    break;
                }
                Err(e) => {
                    report
                        .damage
                        .push(Damage::new(path, "bad_snapshot", e.offset, e.reason));
                    break;
                }
            };
            let key_len = entry.key.len() as u64;
            let value_len = value_bytes(&entry.value);
            let type_name = entry.value.type_name();
            let db = databases.entry(entry.db).or_insert_with(|| DbReport {
                db: entry.db,
                ..Default::default()
            });
            db.keys += 1;
            db.expiring += u64::from(entry.expire_at != 0);
            db.key_bytes += key_len;
            db.value_bytes += value_len;
            *db.types.entry(type_name).or_default() += 1;
            largest.offer(value_len, &entry);
            self.emit(|| entry_line(h.shard, &entry))?;
        }
        let mut all = DbReport::default();
        for db in databases.values() {
            all.add(db);
        }
        report.entries = all.keys;
        report.expiring = all.expiring;
        report.types = all.types;
        report.key_bytes = all.key_bytes;
        report.value_bytes = all.value_bytes;
        report.avg_key_bytes = average(all.key_bytes, all.keys);
        report.avg_value_bytes = average(all.value_bytes, all.keys);
        report.databases = databases.into_values().collect();
        report.largest = largest.into_sorted();
        Ok(report)
    }

    fn segment(&mut self, path: &Path, data: &[u8]) -> Result<SegmentReport, InspectError> {
        let mut report = SegmentReport {
            file: path.display().to_string(),
            bytes: data.len() as u64,
            seq: file_name(path).and_then(format::parse_segment_name),
            header: None,
            records: 0,
            first_lsn: None,
            last_lsn: None,
            ops: BTreeMap::new(),
            valid_bytes: 0,
            damage: Vec::new(),
        };
        if data.len() < SEGMENT_HEADER_LEN && SEGMENT_MAGIC.starts_with(&data[..data.len().min(8)])
        {
            report.damage.push(Damage::new(
                path,
                "torn_header",
                data.len() as u64,
                format!(
                    "incomplete segment header ({} of {SEGMENT_HEADER_LEN} bytes)",
                    data.len()
                ),
            ));
            return Ok(report);
        }
        let header = match SegmentHeader::decode(data) {
            Ok(h) => h,
            Err(e) => {
                report
                    .damage
                    .push(Damage::new(path, "bad_header", e.offset, e.reason));
                return Ok(report);
            }
        };
        report.header = Some(SegmentHeaderReport {
            magic: magic_text(SEGMENT_MAGIC),
            format_version: FORMAT_VERSION,
            shard: header.shard,
            shards: header.shards,
            first_lsn: header.first_lsn,
        });
        let mut walker = RecordWalker::new(data, header.first_lsn.saturating_sub(1));
        loop {
            match walker.next_record() {
                Walked::End => break,
                Walked::Record {
                    offset,
                    lsn,
                    payload,
                } => {
                    let effect = match Effect::decode(payload) {
                        Ok(e) => e,
                        Err(why) => {
                            report
                                .damage
                                .push(Damage::new(path, "bad_record", offset as u64, why));
                            report.valid_bytes = offset as u64;
                            return Ok(report);
                        }
                    };
                    if let Some(prev) = report.last_lsn {
                        if lsn != prev + 1 && report.damage.is_empty() {
                            report.damage.push(Damage::new(
                                path,
                                "lsn_gap",
                                offset as u64,
                                format!(
                                    "record LSN {lsn} follows LSN {prev}: records in between \
                                     are missing"
                                ),
                            ));
                        }
                    }
                    report.first_lsn.get_or_insert(lsn);
                    report.last_lsn = Some(lsn);
                    report.records += 1;
                    // A group counts once as a group and once per effect it holds.
                    *report.ops.entry(effect.name()).or_default() += 1;
                    if let Effect::Group(effects) = &effect {
                        for e in effects {
                            *report.ops.entry(e.name()).or_default() += 1;
                        }
                    }
                    self.emit(|| record_line(header.shard, lsn, offset, &effect))?;
                }
                Walked::Bad {
                    offset,
                    reason,
                    valid_after,
                } => {
                    let kind = if valid_after.is_some() {
                        "bad_record"
                    } else {
                        "torn_tail"
                    };
                    let mut d = Damage::new(path, kind, offset as u64, reason);
                    d.valid_record_after = valid_after.map(|v| v as u64);
                    report.damage.push(d);
                    break;
                }
            }
        }
        report.valid_bytes = walker.offset() as u64;
        Ok(report)
    }
}

/// A number as the server names shard folders (no sign, no leading zeros).
fn canonical_number(name: &str) -> Option<u32> {
    let n: u32 = name.parse().ok()?;
    (n.to_string() == name).then_some(n)
}

/// Files whose header names another shard than their folder, or another shard count than
/// the folder's other files.
fn identity_problems(
    shard_id: Option<u32>,
    snapshot: Option<&SnapshotReport>,
    segments: &[SegmentReport],
) -> Vec<Damage> {
    let headers = snapshot
        .and_then(|s| s.header.as_ref().map(|h| (&s.file, h.shard, h.shards)))
        .into_iter()
        .chain(
            segments
                .iter()
                .filter_map(|s| s.header.as_ref().map(|h| (&s.file, h.shard, h.shards))),
        );
    let mut problems = Vec::new();
    let mut first_count: Option<(u32, &String)> = None;
    for (file, shard, shards) in headers {
        if let Some(want) = shard_id.filter(|&id| id != shard) {
            problems.push(Damage::new(
                Path::new(file),
                "identity",
                12,
                format!("the file belongs to shard {shard} but is in the folder of shard {want}"),
            ));
        }
        match first_count {
            None => first_count = Some((shards, file)),
            Some((n, other)) if n != shards => problems.push(Damage::new(
                Path::new(file),
                "identity",
                16,
                format!("written with {shards} shards, but {other} with {n}"),
            )),
            Some(_) => {}
        }
    }
    problems
}

/// Shard folders of one data directory written with different shard counts, or a folder
/// past the count its data was written with.
fn shard_count_problems(shards: &[ShardReport]) -> Vec<Damage> {
    let count_of = |s: &ShardReport| {
        s.snapshot
            .as_ref()
            .and_then(|x| x.header.as_ref().map(|h| h.shards))
            .or_else(|| {
                s.segments
                    .iter()
                    .find_map(|x| x.header.as_ref().map(|h| h.shards))
            })
    };
    let mut problems = Vec::new();
    let Some((first, n)) = shards.iter().find_map(|s| count_of(s).map(|n| (s, n))) else {
        return problems;
    };
    for s in shards {
        let Some(m) = count_of(s) else { continue };
        if m != n {
            problems.push(Damage::new(
                Path::new(&s.dir),
                "identity",
                16,
                format!(
                    "written with {m} shards, but {} with {n}: the data directory mixes two layouts",
                    first.dir
                ),
            ));
        } else if s.shard.is_some_and(|id| id >= m) {
            problems.push(Damage::new(
                Path::new(&s.dir),
                "identity",
                12,
                format!("a shard folder past the {m} shards its data was written with"),
            ));
        }
    }
    problems
}

fn totals(shards: &[ShardReport]) -> Totals {
    let mut t = Totals {
        shards: shards.len(),
        ..Default::default()
    };
    let mut databases: BTreeMap<u32, DbReport> = BTreeMap::new();
    for shard in shards {
        if let Some(s) = &shard.snapshot {
            t.snapshots += 1;
            t.bytes += s.bytes;
            t.snapshot_keys += s.entries;
            t.expiring += s.expiring;
            add_counts(&mut t.types, &s.types);
            for db in &s.databases {
                databases
                    .entry(db.db)
                    .or_insert_with(|| DbReport {
                        db: db.db,
                        ..Default::default()
                    })
                    .add(db);
            }
        }
        for seg in &shard.segments {
            t.segments += 1;
            t.bytes += seg.bytes;
            t.wal_records += seg.records;
            add_counts(&mut t.ops, &seg.ops);
        }
    }
    t.databases = databases.into_values().collect();
    t
}

/// A key kept by `Largest`: (value size, db, key, type). Ordered by size first.
type Candidate = (u64, u32, Vec<u8>, &'static str);

/// The largest keys by value size, at most `LARGEST_KEYS`.
#[derive(Default)]
struct Largest {
    /// A min-heap, so that the smallest of the kept keys is the one dropped.
    heap: BinaryHeap<Reverse<Candidate>>,
}

impl Largest {
    fn offer(&mut self, value_len: u64, entry: &SnapEntry) {
        if self.heap.len() == LARGEST_KEYS {
            match self.heap.peek() {
                Some(Reverse((smallest, ..))) if *smallest >= value_len => return,
                _ => {}
            }
            self.heap.pop();
        }
        self.heap.push(Reverse((
            value_len,
            entry.db,
            entry.key.clone(),
            entry.value.type_name(),
        )));
    }

    /// Largest first.
    fn into_sorted(self) -> Vec<LargeKey> {
        self.heap
            .into_sorted_vec()
            .into_iter()
            .map(|Reverse((value_bytes, db, key, type_name))| {
                let mut field = Map::new();
                put_bytes(&mut field, "key", &key);
                LargeKey {
                    db,
                    key: field,
                    key_bytes: key.len() as u64,
                    type_name,
                    value_bytes,
                }
            })
            .collect()
    }
}

/// Bytes of data a value holds.
fn value_bytes(value: &Value) -> u64 {
    match value {
        Value::Str(s) => s.len() as u64,
        Value::List(l) => l.iter().map(|i| i.len() as u64).sum(),
        Value::Hash(h) => h.iter().map(|(f, v)| (f.len() + v.len()) as u64).sum(),
        Value::Set(s) => s.iter().map(|m| m.len() as u64).sum(),
        Value::ZSet(z) => z.iter().map(|(m, _)| m.len() as u64 + 8).sum(),
        Value::Json(j) => serde_json::to_vec(j.doc()).map_or(0, |t| t.len() as u64),
    }
}

/// Adds `type` and the value's data to a JSON line.
fn put_value(line: &mut Map<String, Json>, value: &Value) {
    line.insert("type".into(), value.type_name().into());
    match value {
        Value::Str(s) => put_bytes(line, "value", s),
        Value::List(l) => {
            line.insert("value".into(), l.iter().map(bytes_json).collect());
        }
        Value::Hash(h) => {
            let fields = h
                .iter()
                .map(|(f, v)| Json::Array(vec![bytes_json(f), bytes_json(v)]))
                .collect();
            line.insert("value".into(), fields);
        }
        Value::Set(s) => {
            line.insert("value".into(), s.iter().map(bytes_json).collect());
        }
        Value::ZSet(z) => {
            let members = z
                .iter()
                .map(|(m, score)| Json::Array(vec![bytes_json(m), score_json(score)]))
                .collect();
            line.insert("value".into(), members);
        }
        Value::Json(j) => {
            line.insert("value".into(), j.doc().clone());
        }
    }
}

/// A sorted-set score: a number, or "inf" / "-inf", which JSON numbers cannot be.
fn score_json(score: f64) -> Json {
    if score.is_finite() {
        score.into()
    } else if score > 0.0 {
        "inf".into()
    } else {
        "-inf".into()
    }
}

/// A container element: a string when it is UTF-8, otherwise `{"hex": "..."}`.
fn bytes_json(bytes: &[u8]) -> Json {
    match std::str::from_utf8(bytes) {
        Ok(s) => s.into(),
        Err(_) => {
            let mut m = Map::new();
            m.insert("hex".into(), hex(bytes).into());
            Json::Object(m)
        }
    }
}

/// `name` as a string when `bytes` are UTF-8, otherwise `<name>_hex` as lowercase hex.
fn put_bytes(line: &mut Map<String, Json>, name: &str, bytes: &[u8]) {
    match std::str::from_utf8(bytes) {
        Ok(s) => line.insert(name.into(), s.into()),
        Err(_) => line.insert(format!("{name}_hex"), hex(bytes).into()),
    };
}

fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

fn expire_json(at: u64) -> Json {
    if at == 0 {
        Json::Null
    } else {
        at.into()
    }
}

fn entry_line(shard: u32, e: &SnapEntry) -> Map<String, Json> {
    let mut line = Map::new();
    line.insert("shard".into(), shard.into());
    line.insert("db".into(), e.db.into());
    put_bytes(&mut line, "key", &e.key);
    put_value(&mut line, &e.value);
    line.insert("expire_at".into(), expire_json(e.expire_at));
    line
}

fn record_line(shard: u32, lsn: u64, offset: usize, effect: &Effect) -> Map<String, Json> {
    let mut line = Map::new();
    line.insert("shard".into(), shard.into());
    line.insert("lsn".into(), lsn.into());
    line.insert("offset".into(), offset.into());
    effect_fields(&mut line, effect);
    line
}

/// `op` and the effect's own fields; a group lists its effects under `effects`.
fn effect_fields(line: &mut Map<String, Json>, effect: &Effect) {
    line.insert("op".into(), effect.name().into());
    match effect {
        Effect::Put {
            db,
            key,
            value,
            expire_at,
        } => {
            line.insert("db".into(), (*db).into());
            put_bytes(line, "key", key);
            put_value(line, value);
            line.insert("expire_at".into(), expire_json(*expire_at));
        }
        Effect::Del { db, key } => {
            line.insert("db".into(), (*db).into());
            put_bytes(line, "key", key);
        }
        Effect::Expire { db, key, at } => {
            line.insert("db".into(), (*db).into());
            put_bytes(line, "key", key);
            line.insert("expire_at".into(), expire_json(*at));
        }
        Effect::FlushDb { db } => {
            line.insert("db".into(), (*db).into());
        }
        Effect::SwapDb { a, b } => {
            line.insert("a".into(), (*a).into());
            line.insert("b".into(), (*b).into());
        }
        Effect::Group(effects) => {
            let inner = effects
                .iter()
                .map(|e| {
                    let mut m = Map::new();
                    effect_fields(&mut m, e);
                    Json::Object(m)
                })
                .collect();
            line.insert("effects".into(), Json::Array(inner));
        }
        Effect::Delta { db, key, delta } => {
            line.insert("db".into(), (*db).into());
            put_bytes(line, "key", key);
            let (change, items): (&str, Json) = match delta {
                Delta::ListPush { front, items } => (
                    if *front { "lpush" } else { "rpush" },
                    items.iter().map(|i| bytes_json(i)).collect(),
                ),
                Delta::ListPop { front, count } => {
                    (if *front { "lpop" } else { "rpop" }, (*count).into())
                }
                Delta::ListSet { index, item } => {
                    ("lset", Json::Array(vec![(*index).into(), bytes_json(item)]))
                }
                Delta::HashSet { pairs } => ("hset", pairs.iter().map(|i| bytes_json(i)).collect()),
                Delta::HashDel { fields } => {
                    ("hdel", fields.iter().map(|i| bytes_json(i)).collect())
                }
                Delta::SetAdd { members } => {
                    ("sadd", members.iter().map(|i| bytes_json(i)).collect())
                }
                Delta::SetRem { members } => {
                    ("srem", members.iter().map(|i| bytes_json(i)).collect())
                }
                Delta::ZAdd { scores, members } => (
                    "zadd",
                    scores
                        .iter()
                        .zip(members)
                        .map(|(s, m)| Json::Array(vec![bytes_json(m), score_json(*s)]))
                        .collect(),
                ),
                Delta::ZRem { members } => {
                    ("zrem", members.iter().map(|i| bytes_json(i)).collect())
                }
            };
            line.insert("change".into(), change.into());
            line.insert("items".into(), items);
        }
    }
}

fn average(total: u64, n: u64) -> f64 {
    if n == 0 {
        0.0
    } else {
        total as f64 / n as f64
    }
}

/// A magic number as text, without its trailing newline.
fn magic_text(magic: &[u8; 8]) -> String {
    String::from_utf8_lossy(magic).trim_end().to_string()
}

/// Unix milliseconds as UTC ISO-8601 text (`2024-02-29T12:00:00.000Z`).
pub fn utc_iso8601(ms: u64) -> String {
    /// 9999-12-31T23:59:59.999Z: ISO-8601 years have four digits.
    const LAST_MS: u64 = 253_402_300_799_999;
    if ms > LAST_MS {
        return format!("after year 9999 ({ms} ms)");
    }
    let is_leap = |y: u64| y.is_multiple_of(4) && (!y.is_multiple_of(100) || y.is_multiple_of(400));
    let secs = ms / 1000;
    let mut days = secs / 86_400;
    let mut year = 1970;
    loop {
        let len = if is_leap(year) { 366 } else { 365 };
        if days < len {
            break;
        }
        days -= len;
        year += 1;
    }
    let february = if is_leap(year) { 29 } else { 28 };
    let mut month = 1;
    for len in [31, february, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31] {
        if days < len {
            break;
        }
        days -= len;
        month += 1;
    }
    let in_day = secs % 86_400;
    format!(
        "{year:04}-{month:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        days + 1,
        in_day / 3600,
        in_day % 3600 / 60,
        in_day % 60,
        ms % 1000
    )
}

// ---- text output ----

fn counts_text(counts: &BTreeMap<&'static str, u64>) -> String {
    if counts.is_empty() {
        return "none".into();
    }
    counts
        .iter()
        .map(|(name, n)| format!("{name} {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn key_text(key: &Map<String, Json>) -> String {
    let (name, text) = match (key.get("key"), key.get("key_hex")) {
        (Some(Json::String(s)), _) => ("", s.as_str()),
        (_, Some(Json::String(h))) => ("hex:", h.as_str()),
        _ => ("", ""),
    };
    let mut shown: String = text.chars().take(TEXT_KEY_MAX).collect();
    if shown.len() < text.len() {
        shown.push_str("...");
    }
    format!("{name}{shown:?}")
}

fn snapshot_text(out: &mut String, s: &SnapshotReport, indent: &str) {
    let what = if s.temporary {
        "temporary snapshot (being written, or left by a crash while one was; the server \
         never reads it and removes it at start)"
    } else {
        "snapshot"
    };
    let _ = writeln!(out, "{indent}{what} {} ({} bytes)", s.file, s.bytes);
    let Some(h) = &s.header else {
        return;
    };
    let _ = writeln!(
        out,
        "{indent}  header: {} format {}, shard {} of {}, LSN {}, created {} ({})",
        h.magic, h.format_version, h.shard, h.shards, h.lsn, h.created_ms, h.created_utc
    );
    let end = if s.end_marker_verified {
        "end marker verified (entry count and checksum match)"
    } else {
        "end marker NOT reached"
    };
    let _ = writeln!(
        out,
        "{indent}  keys: {} ({} expiring), {end}",
        s.entries, s.expiring
    );
    let _ = writeln!(out, "{indent}  types: {}", counts_text(&s.types));
    for db in &s.databases {
        let _ = writeln!(
            out,
            "{indent}  db {}: {} keys ({} expiring), {}",
            db.db,
            db.keys,
            db.expiring,
            counts_text(&db.types)
        );
    }
    let _ = writeln!(
        out,
        "{indent}  key bytes: {} total, {:.1} average; value bytes: {} total, {:.1} average",
        s.key_bytes, s.avg_key_bytes, s.value_bytes, s.avg_value_bytes
    );
    if !s.largest.is_empty() {
        let _ = writeln!(out, "{indent}  largest keys:");
        for k in &s.largest {
            let _ = writeln!(
                out,
                "{indent}    db {} {} {}: {} bytes",
                k.db,
                key_text(&k.key),
                k.type_name,
                k.value_bytes
            );
        }
    }
}

fn segment_text(out: &mut String, s: &SegmentReport, indent: &str) {
    let _ = writeln!(out, "{indent}WAL segment {} ({} bytes)", s.file, s.bytes);
    let Some(h) = &s.header else {
        return;
    };
    let _ = writeln!(
        out,
        "{indent}  header: {} format {}, shard {} of {}, first LSN {}",
        h.magic, h.format_version, h.shard, h.shards, h.first_lsn
    );
    let range = match (s.first_lsn, s.last_lsn) {
        (Some(a), Some(b)) => format!("LSN {a}..{b}"),
        _ => "no records".into(),
    };
    let _ = writeln!(
        out,
        "{indent}  records: {}, {range}, {} valid bytes",
        s.records, s.valid_bytes
    );
    let _ = writeln!(out, "{indent}  operations: {}", counts_text(&s.ops));
    if s.damage.is_empty() {
        let _ = writeln!(out, "{indent}  tail: clean");
    }
}

fn shard_text(out: &mut String, s: &ShardReport) {
    let name = s
        .shard
        .map_or_else(|| "shard folder".to_string(), |id| format!("shard {id}"));
    let _ = writeln!(out, "{name}: {}", s.dir);
    match &s.snapshot {
        Some(snap) => snapshot_text(out, snap, "  "),
        None => {
            let _ = writeln!(out, "  no snapshot");
        }
    }
    if let Some(tmp) = &s.snapshot_tmp {
        let _ = writeln!(
            out,
            "  {} ({} bytes): a snapshot being written, or left by a crash while one was; \
             not read (recovery removes it)",
            tmp.file, tmp.bytes
        );
    }
    for seg in &s.segments {
        segment_text(out, seg, "  ");
    }
    let l = &s.lsn;
    let snapshot = l
        .snapshot
        .map_or("no snapshot".to_string(), |n| format!("snapshot up to {n}"));
    let wal = match (l.wal_first, l.wal_last) {
        (Some(a), Some(b)) => format!("WAL {a}..{b}"),
        _ => "no WAL records".into(),
    };
    let _ = writeln!(
        out,
        "  LSN: {snapshot}, {wal}, recovery reaches {}; {}",
        l.last,
        match l.continuous {
            Some(true) => "continuous",
            Some(false) => "GAPS (see below)",
            None => "continuity unknown (the snapshot header is unreadable)",
        }
    );
}

/// The report as text.
pub fn text(r: &Report) -> String {
    let mut out = String::new();
    if let Some(s) = &r.snapshot {
        snapshot_text(&mut out, s, "");
    }
    if let Some(s) = &r.segment {
        segment_text(&mut out, s, "");
    }
    if let Some(shards) = &r.shards {
        if r.kind == "data_dir" {
            let _ = writeln!(out, "data directory {}", r.path);
        }
        for s in shards {
            shard_text(&mut out, s);
        }
        if let Some(staging) = &r.reshard {
            let next = if staging.complete {
                "its COMPLETE marker exists: the next start finishes the move"
            } else {
                "no COMPLETE marker: the next start discards it and redoes the move"
            };
            let _ = writeln!(
                out,
                "{}: a redistribution to another shard count was interrupted; {next}",
                staging.dir
            );
        }
    }
    if let Some(t) = &r.totals {
        let _ = writeln!(
            out,
            "totals: {} shard folders, {} snapshots ({} keys, {} expiring), {} segments ({} \
             records: {}), {} bytes",
            t.shards,
            t.snapshots,
            t.snapshot_keys,
            t.expiring,
            t.segments,
            t.wal_records,
            counts_text(&t.ops),
            t.bytes
        );
        for db in &t.databases {
            let _ = writeln!(
                out,
                "  db {}: {} keys in snapshots ({} expiring), {}",
                db.db,
                db.keys,
                db.expiring,
                counts_text(&db.types)
            );
        }
    }
    if r.healthy {
        out.push_str("healthy: no damage found\n");
    } else {
        let _ = writeln!(out, "DAMAGE: {} problem(s) found", r.damage.len());
        for d in &r.damage {
            let _ = writeln!(out, "  {}", d.line());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::format::{encode_record, SnapshotHeader, RECORD_HEADER_LEN};
    use crate::storage::snapshot::SnapshotSink;

    fn put(db: u32, key: &[u8], value: &[u8], expire_at: u64) -> Effect {
        Effect::Put {
            db,
            key: key.to_vec(),
            value: Value::Str(value.to_vec()),
            expire_at,
        }
    }

    /// `n` puts of `key` in db 0.
    fn puts(key: &[u8], value: &[u8], n: usize) -> Vec<Effect> {
        std::iter::repeat_n(put(0, key, value, 0), n).collect()
    }

    /// A segment of shard `shard` of 2 holding `effects` from LSN `first`; returns the
    /// bytes and each record's offset.
    fn segment_bytes(shard: u32, first: u64, effects: &[Effect]) -> (Vec<u8>, Vec<usize>) {
        let mut data = SegmentHeader {
            shard,
            shards: 2,
            first_lsn: first,
        }
        .encode()
        .to_vec();
        let mut starts = Vec::new();
        for (i, e) in effects.iter().enumerate() {
            starts.push(data.len());
            encode_record(&mut data, first + i as u64, e);
        }
        (data, starts)
    }

    fn snapshot_bytes(shard: u32, lsn: u64, entries: &[(u32, &[u8], &[u8], u64)]) -> Vec<u8> {
        let mut file = SnapshotHeader {
            shard,
            shards: 2,
            lsn,
            created_ms: 1_709_208_000_123,
        }
        .encode()
        .to_vec();
        let mut sink = SnapshotSink::new();
        for (db, k, v, exp) in entries {
            sink.write_entry(*db, k, &Value::Str(v.to_vec()), *exp);
        }
        file.extend(sink.take_output());
        file.extend(sink.finish());
        file
    }

    fn lines(out: &[u8]) -> Vec<Json> {
        String::from_utf8(out.to_vec())
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    #[test]
    fn iso8601_dates() {
        assert_eq!(utc_iso8601(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(utc_iso8601(951_782_400_000), "2000-02-29T00:00:00.000Z");
        assert_eq!(utc_iso8601(1_709_208_000_123), "2024-02-29T12:00:00.123Z");
        assert_eq!(utc_iso8601(1_735_689_599_999), "2024-12-31T23:59:59.999Z");
        assert_eq!(utc_iso8601(4_107_542_400_000), "2100-03-01T00:00:00.000Z");
        assert!(utc_iso8601(u64::MAX).starts_with("after year 9999"));
    }

    #[test]
    fn snapshot_summary_counts_and_dump() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join(SNAPSHOT_FILE);
        let big = vec![b'b'; 5000];
        std::fs::write(
            &path,
            snapshot_bytes(
                1,
                7,
                &[
                    (0, b"a", b"1", 0),
                    (0, b"b", b"22", 99),
                    (3, b"big", &big, 0),
                    (3, b"\xff\x00", b"\xfe", 5),
                ],
            ),
        )
        .unwrap();
        let mut out = Vec::new();
        let r = inspect(&path, Some(&mut out)).unwrap();
        assert!(r.healthy, "{r:?}");
        let s = r.snapshot.unwrap();
        let h = s.header.as_ref().unwrap();
        assert_eq!((h.shard, h.shards, h.lsn), (1, 2, 7));
        assert_eq!(h.created_utc, "2024-02-29T12:00:00.123Z");
        assert_eq!((s.entries, s.expiring), (4, 2));
        assert!(s.end_marker_verified);
        assert_eq!(s.types.get("string"), Some(&4));
        let per_db: Vec<(u32, u64, u64)> = s
            .databases
            .iter()
            .map(|d| (d.db, d.keys, d.expiring))
            .collect();
        assert_eq!(per_db, vec![(0, 2, 1), (3, 2, 1)]);
        assert_eq!(s.key_bytes, 1 + 1 + 3 + 2);
        assert_eq!(s.value_bytes, 1 + 2 + 5000 + 1);
        assert_eq!(s.largest[0].key.get("key"), Some(&Json::from("big")));
        assert_eq!(s.largest[0].value_bytes, 5000);
        assert_eq!(s.largest.len(), 4);
        let dumped = lines(&out);
        assert_eq!(dumped.len(), 4);
        assert_eq!(
            dumped[1],
            serde_json::json!({"shard":1,"db":0,"key":"b","type":"string","value":"22","expire_at":99})
        );
        assert_eq!(dumped[2]["value"].as_str().unwrap().len(), 5000);
        assert_eq!(dumped[3]["key_hex"], "ff00");
        assert_eq!(dumped[3]["value_hex"], "fe");
        assert!(dumped[0]["expire_at"].is_null());

        // The same bytes left over as a temporary snapshot.
        let tmp_path = tmp.path().join(SNAPSHOT_TMP_FILE);
        std::fs::rename(&path, &tmp_path).unwrap();
        let r = inspect(&tmp_path, None).unwrap();
        let s = r.snapshot.as_ref().unwrap();
        assert!(s.temporary && s.end_marker_verified);
        assert_eq!(s.entries, 4);
        assert!(text(&r).contains("temporary snapshot"));
    }

    #[test]
    fn largest_keeps_the_top_ten_by_value_size() {
        let mut largest = Largest::default();
        for i in 0..100u64 {
            let entry = SnapEntry {
                db: 0,
                key: format!("k{i}").into_bytes(),
                value: Value::Str(Vec::new()),
                expire_at: 0,
            };
            // Sizes in a scrambled order.
            largest.offer((i * 37) % 100, &entry);
        }
        let top: Vec<u64> = largest
            .into_sorted()
            .iter()
            .map(|k| k.value_bytes)
            .collect();
        assert_eq!(top, (90..100).rev().collect::<Vec<u64>>());
    }

    #[test]
    fn segment_records_per_op_torn_tail_and_bad_record() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join(format::segment_name(3));
        let effects = vec![
            put(0, b"k", b"v", 0),
            put(1, b"k2", b"v2", 123),
            Effect::Expire {
                db: 1,
                key: b"k2".to_vec(),
                at: 0,
            },
            Effect::Del {
                db: 0,
                key: b"k".to_vec(),
            },
            Effect::FlushDb { db: 2 },
            Effect::SwapDb { a: 0, b: 1 },
        ];
        let (data, starts) = segment_bytes(1, 10, &effects);
        std::fs::write(&path, &data).unwrap();
        let mut out = Vec::new();
        let r = inspect(&path, Some(&mut out)).unwrap();
        assert!(r.healthy);
        let s = r.segment.unwrap();
        assert_eq!(s.seq, Some(3));
        assert_eq!(
            (s.records, s.first_lsn, s.last_lsn),
            (6, Some(10), Some(15))
        );
        let ops: Vec<(&str, u64)> = s.ops.iter().map(|(k, v)| (*k, *v)).collect();
        assert_eq!(
            ops,
            vec![
                ("del", 1),
                ("expire", 1),
                ("flushdb", 1),
                ("put", 2),
                ("swapdb", 1)
            ]
        );
        assert_eq!(s.valid_bytes, data.len() as u64);
        let dumped = lines(&out);
        assert_eq!(
            dumped[1],
            serde_json::json!({"shard":1,"lsn":11,"offset":starts[1],"op":"put","db":1,
                "key":"k2","type":"string","value":"v2","expire_at":123})
        );
        assert_eq!(
            dumped[2],
            serde_json::json!({"shard":1,"lsn":12,"offset":starts[2],"op":"expire","db":1,
                "key":"k2","expire_at":null})
        );
        assert_eq!(
            dumped[5],
            serde_json::json!({"shard":1,"lsn":15,"offset":starts[5],"op":"swapdb","a":0,"b":1})
        );

        // Cut in the middle of the last record: a torn tail at its start.
        std::fs::write(&path, &data[..data.len() - 2]).unwrap();
        let r = inspect(&path, None).unwrap();
        assert!(!r.healthy);
        assert_eq!(r.damage.len(), 1);
        assert_eq!(r.damage[0].kind, "torn_tail");
        assert_eq!(r.damage[0].offset, starts[5] as u64);
        assert_eq!(r.segment.as_ref().unwrap().records, 5);
        assert!(text(&r).contains("crash in the middle of a write"));
        // Inspection never repairs: the file is as it was.
        assert_eq!(
            std::fs::metadata(&path).unwrap().len(),
            data.len() as u64 - 2
        );

        // A flipped byte in the third record: damage with valid records after it.
        let mut bad = data.clone();
        bad[starts[2] + RECORD_HEADER_LEN + 1] ^= 0x20;
        std::fs::write(&path, &bad).unwrap();
        let r = inspect(&path, None).unwrap();
        let d = &r.damage[0];
        assert_eq!((d.kind, d.offset), ("bad_record", starts[2] as u64));
        assert!(d.reason.contains("checksum"), "{}", d.reason);
        assert_eq!(d.valid_record_after, Some(starts[3] as u64));
        assert_eq!(r.segment.unwrap().valid_bytes, starts[2] as u64);
    }

    #[test]
    fn segment_cut_inside_its_header_is_a_torn_header() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join(format::segment_name(1));
        std::fs::write(&path, &SEGMENT_MAGIC[..5]).unwrap();
        let r = inspect(&path, None).unwrap();
        assert_eq!(r.damage[0].kind, "torn_header");
        std::fs::write(&path, b"").unwrap();
        assert_eq!(inspect(&path, None).unwrap().damage[0].kind, "torn_header");
    }

    #[test]
    fn shard_folder_lsn_continuity_and_identity() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("1");
        std::fs::create_dir(&dir).unwrap();
        std::fs::write(
            dir.join(SNAPSHOT_FILE),
            snapshot_bytes(1, 4, &[(0, b"x", b"y", 0)]),
        )
        .unwrap();
        // Records 3..6: 3 and 4 are covered by the snapshot, 5 and 6 follow it.
        let (seg, _) = segment_bytes(1, 3, &puts(b"a", b"1", 4));
        std::fs::write(dir.join(format::segment_name(1)), &seg).unwrap();
        let (seg, _) = segment_bytes(1, 7, &puts(b"b", b"2", 2));
        std::fs::write(dir.join(format::segment_name(2)), &seg).unwrap();
        std::fs::write(dir.join(SNAPSHOT_TMP_FILE), b"partial").unwrap();
        let r = inspect(&dir, None).unwrap();
        assert_eq!(r.kind, "shard_dir");
        assert!(r.healthy, "{:?}", r.damage);
        let shard = &r.shards.as_ref().unwrap()[0];
        assert_eq!(shard.shard, Some(1));
        assert_eq!(
            (shard.lsn.snapshot, shard.lsn.wal_first, shard.lsn.wal_last),
            (Some(4), Some(3), Some(8))
        );
        assert_eq!((shard.lsn.last, shard.lsn.continuous), (8, Some(true)));
        assert_eq!(shard.snapshot_tmp.as_ref().unwrap().bytes, 7);
        let t = r.totals.as_ref().unwrap();
        assert_eq!((t.snapshot_keys, t.wal_records, t.segments), (1, 6, 2));

        // Records 9.. missing: a gap before the next segment.
        let (seg, _) = segment_bytes(1, 12, &[put(0, b"c", b"3", 0)]);
        std::fs::write(dir.join(format::segment_name(3)), &seg).unwrap();
        let r = inspect(&dir, None).unwrap();
        assert!(!r.healthy);
        assert_eq!(r.damage.len(), 1);
        assert_eq!(r.damage[0].kind, "lsn_gap");
        assert!(
            r.damage[0].reason.contains("records 9..11"),
            "{:?}",
            r.damage
        );
        assert_eq!(r.shards.unwrap()[0].lsn.continuous, Some(false));
        std::fs::remove_file(dir.join(format::segment_name(3))).unwrap();

        // An unreadable snapshot header: what it covers is unknown, so no gap is claimed.
        let snap = std::fs::read(dir.join(SNAPSHOT_FILE)).unwrap();
        let mut bad = snap.clone();
        bad[25] ^= 1;
        std::fs::write(dir.join(SNAPSHOT_FILE), &bad).unwrap();
        let r = inspect(&dir, None).unwrap();
        let kinds: Vec<&str> = r.damage.iter().map(|d| d.kind).collect();
        assert_eq!(kinds, vec!["bad_header"]);
        assert_eq!(r.shards.unwrap()[0].lsn.continuous, None);
        std::fs::write(dir.join(SNAPSHOT_FILE), &snap).unwrap();

        // A torn tail is damage recovery refuses when it is not in the last segment.
        let path = dir.join(format::segment_name(1));
        let (seg, _) = segment_bytes(1, 3, &puts(b"a", b"1", 4));
        std::fs::write(&path, &seg[..seg.len() - 1]).unwrap();
        let r = inspect(&dir, None).unwrap();
        assert_eq!(r.damage[0].kind, "bad_record");
        assert!(r.damage[0].reason.contains("not the last one"));

        // A segment of shard 0 in the folder of shard 1.
        let (seg, _) = segment_bytes(0, 3, &puts(b"a", b"1", 4));
        std::fs::write(&path, &seg).unwrap();
        let r = inspect(&dir, None).unwrap();
        assert_eq!(r.damage.len(), 1);
        assert_eq!(r.damage[0].kind, "identity");
        assert!(r.damage[0].file.ends_with(&format::segment_name(1)));
    }

    #[test]
    fn data_dir_totals_staging_and_paths_that_are_not_memflux_files() {
        let tmp = tempfile::tempdir().unwrap();
        let data = tmp.path();
        for id in 0..2u32 {
            let dir = data.join(id.to_string());
            std::fs::create_dir(&dir).unwrap();
            let entries: Vec<(u32, &[u8], &[u8], u64)> =
                vec![(0, b"k", b"v", 0), (id + 1, b"t", b"w", 7)];
            std::fs::write(dir.join(SNAPSHOT_FILE), snapshot_bytes(id, 0, &entries)).unwrap();
        }
        std::fs::create_dir(data.join(reshard::STAGING)).unwrap();
        let r = inspect(data, None).unwrap();
        assert_eq!(r.kind, "data_dir");
        assert!(r.healthy, "{:?}", r.damage);
        let t = r.totals.as_ref().unwrap();
        assert_eq!((t.shards, t.snapshot_keys, t.expiring), (2, 4, 2));
        let per_db: Vec<(u32, u64)> = t.databases.iter().map(|d| (d.db, d.keys)).collect();
        assert_eq!(per_db, vec![(0, 2), (1, 1), (2, 1)]);
        assert!(!r.reshard.as_ref().unwrap().complete);
        assert!(text(&r).contains("redistribution"));

        let empty = tempfile::tempdir().unwrap();
        let err = inspect(empty.path(), None).unwrap_err();
        assert!(err.0.contains("no MemFlux files"), "{err}");
        let missing = data.join("nothing-here");
        let err = inspect(&missing, None).unwrap_err();
        assert!(err.0.contains("nothing-here") && err.0.contains("no such file"));
        let text_file = data.join("notes.txt");
        std::fs::write(&text_file, "hello, this is not a snapshot\n").unwrap();
        let err = inspect(&text_file, None).unwrap_err();
        assert!(err.0.contains("not a MemFlux file"), "{err}");
    }

    #[test]
    fn damaged_snapshot_keeps_what_was_read() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join(SNAPSHOT_FILE);
        let entries: Vec<(u32, Vec<u8>, Vec<u8>, u64)> = (0..3000u32)
            .map(|i| {
                (
                    0,
                    format!("key{i}").into_bytes(),
                    format!("v{i}").into_bytes(),
                    0,
                )
            })
            .collect();
        let refs: Vec<(u32, &[u8], &[u8], u64)> = entries
            .iter()
            .map(|(d, k, v, e)| (*d, k.as_slice(), v.as_slice(), *e))
            .collect();
        let bytes = snapshot_bytes(0, 1, &refs);
        std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
        let r = inspect(&path, None).unwrap();
        assert!(!r.healthy);
        assert_eq!(r.damage[0].kind, "bad_snapshot");
        let s = r.snapshot.unwrap();
        assert!(!s.end_marker_verified);
        assert!(s.entries < 3000);
        let mut bad = bytes.clone();
        bad[20] ^= 1;
        std::fs::write(&path, &bad).unwrap();
        let r = inspect(&path, None).unwrap();
        assert_eq!(r.damage[0].kind, "bad_header");
    }
}
