//! Recovery from damaged files, and a model-based property test of restarts.
//!
//! * A WAL segment cut short anywhere in its record area (a crash in the middle of a write)
//!   recovers exactly the records that fit wholly before the cut, with a warning naming the
//!   file and the offset, and the segment is repaired so that later starts are clean.
//! * Damage anywhere else — a flipped byte with valid records after it, in a segment that
//!   is not the last, in a snapshot; a truncated snapshot; a file of another format version,
//!   shard count or shard — stops the start with an error naming the file and the offset
//!   and saying what to do, and leaves the data directory exactly as it was.
//! * Random operation sequences, with snapshots at random points, survive SIGKILL or
//!   SIGTERM and a restart equal to a model of what was acknowledged.
//!
//! The damage tests start on copies of a data directory that a real server wrote, so one
//! set of files serves many cuts and flips.

mod common;

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use common::{keys_on_shard, start_expecting_failure, Server};
use memflux::storage::effect::Effect;
use memflux::storage::format::{
    self, read_record, RecordStep, SegmentHeader, SEGMENT_HEADER_LEN, SNAPSHOT_FILE,
    SNAPSHOT_HEADER_LEN, SNAPSHOT_TMP_FILE,
};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use redis::Commands;

/// Seed of the random cut and flip offsets; set `RECOVERY_SEED` to replay a failure.
fn seed() -> u64 {
    let seed = std::env::var("RECOVERY_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x4d46_4c58);
    eprintln!("random offsets from RECOVERY_SEED={seed}");
    seed
}

// ---------------------------------------------------------------------------------------
// Data directories: copying, comparing, starting on them.

/// Copies the tree at `from` to `to` (created).
fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// Every file under `dir` (relative path -> bytes), to tell whether anything changed.
fn tree_bytes(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, Vec<u8>>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let entry = entry.unwrap();
            let path = entry.path();
            if entry.file_type().unwrap().is_dir() {
                walk(root, &path, out);
            } else {
                let rel = path.strip_prefix(root).unwrap().to_path_buf();
                out.insert(rel, std::fs::read(&path).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

/// Stops `s` with SIGKILL (nothing but what reached the WAL survives) and returns its
/// working directory.
fn kill_and_keep(mut s: Server) -> tempfile::TempDir {
    s.kill();
    std::mem::replace(&mut s.dir, tempfile::tempdir().unwrap())
}

/// A new working directory holding a copy of the data directory `data` (a `shards/`).
fn workdir_with_copy(data: &Path) -> tempfile::TempDir {
    let work = tempfile::tempdir().unwrap();
    copy_tree(data, &work.path().join("shards"));
    work
}

fn segments(data: &Path, shard: usize) -> Vec<PathBuf> {
    format::list_segments(&format::shard_dir(data, shard))
        .unwrap()
        .into_iter()
        .map(|(_, p)| p)
        .collect()
}

/// `shard/file`, as the server's messages name the file (under whatever prefix).
fn short_name(path: &Path) -> String {
    let file = path.file_name().unwrap().to_string_lossy();
    let folder = path
        .parent()
        .unwrap()
        .file_name()
        .unwrap()
        .to_string_lossy();
    format!("{folder}/{file}")
}

/// Every key of database 0 with its value.
fn db0(s: &Server) -> BTreeMap<String, String> {
    let mut con = s.con();
    let keys: Vec<String> = con.keys("*").unwrap();
    if keys.is_empty() {
        return BTreeMap::new();
    }
    let values: Vec<Option<String>> = con.mget(&keys).unwrap();
    keys.into_iter()
        .zip(values)
        .map(|(k, v)| (k.clone(), v.unwrap_or_else(|| panic!("{k} vanished"))))
        .collect()
}

// ---------------------------------------------------------------------------------------
// WAL records, walked with the reader recovery uses.

struct Record {
    start: usize,
    end: usize,
    effect: Effect,
}

fn records(segment: &[u8]) -> Vec<Record> {
    let mut out = Vec::new();
    let mut at = SEGMENT_HEADER_LEN;
    loop {
        match read_record(segment, at) {
            RecordStep::Record { payload, next, .. } => {
                let (effect, _): (Effect, usize) =
                    bincode::decode_from_slice(payload, format::BINCODE).unwrap();
                out.push(Record {
                    start: at,
                    end: next,
                    effect,
                });
                at = next;
            }
            RecordStep::End => return out,
            RecordStep::Bad { offset, reason } => {
                panic!("a segment the server just wrote is bad at {offset}: {reason}")
            }
        }
    }
}

fn put_key(effect: &Effect) -> String {
    match effect {
        Effect::Put { db: 0, key, .. } => String::from_utf8(key.clone()).unwrap(),
        other => panic!("expected a Put in db 0, the journal has {other:?}"),
    }
}

// ---------------------------------------------------------------------------------------
// 1. Torn tails.

/// Offsets to cut a segment at: the places a crash can tear a record, and boundaries.
fn cut_offsets(recs: &[Record], rng: &mut fastrand::Rng) -> Vec<usize> {
    let len = recs.last().unwrap().end;
    let mid = &recs[recs.len() / 2];
    let pick = |rng: &mut fastrand::Rng| &recs[rng.usize(1..recs.len() - 1)];
    let mut cuts = vec![
        len - 1,                                                   // the last byte missing
        recs.last().unwrap().start + 3,                            // in the last record's header
        mid.start + 1 + rng.usize(0..15),                          // in a header in the middle
        mid.start + 16 + rng.usize(0..(mid.end - mid.start - 16)), // in a payload
        mid.start,                                                 // exactly at a boundary: silent
        pick(rng).end,                                             // another boundary
        SEGMENT_HEADER_LEN,                                        // no record at all is left
    ];
    for _ in 0..6 {
        cuts.push(rng.usize(SEGMENT_HEADER_LEN + 1..len));
    }
    cuts
}

/// Writes `keys` (value `v<key>`) to a fresh server with `shards` shards, SIGKILLs it and
/// cuts shard `victim`'s only segment at many offsets, restarting on a copy each time.
fn torn_tails_recover_the_longest_prefix(shards: usize, victim: usize, pipelined: bool) {
    let seed = seed();
    let mut rng = fastrand::Rng::with_seed(seed ^ shards as u64);
    let keys: Vec<String> = (0..300).map(|i| format!("k{i}")).collect();
    let s = Server::start_with(shards, &[]);
    {
        let mut con = s.con();
        if pipelined {
            let mut pipe = redis::pipe();
            for k in &keys {
                pipe.set(k, format!("v{k}")).ignore();
            }
            pipe.query::<()>(&mut con).unwrap();
        } else {
            for k in &keys {
                let _: () = con.set(k, format!("v{k}")).unwrap();
            }
        }
    }
    let work = kill_and_keep(s);
    let data = work.path().join("shards");
    let segs = segments(&data, victim);
    assert_eq!(segs.len(), 1, "one segment per shard after one run");
    let segment = std::fs::read(&segs[0]).unwrap();
    let recs = records(&segment);
    // One record per SET, in the order the connection sent them.
    let victims_keys: Vec<String> = keys
        .iter()
        .filter(|k| memflux::shard::shard_of(k.as_bytes(), shards) == victim)
        .cloned()
        .collect();
    let journaled: Vec<String> = recs.iter().map(|r| put_key(&r.effect)).collect();
    assert_eq!(journaled, victims_keys, "the WAL of shard {victim}");
    assert_eq!(recs.last().unwrap().end, segment.len());
    let others: BTreeMap<String, String> = keys
        .iter()
        .filter(|k| !victims_keys.contains(k))
        .map(|k| (k.clone(), format!("v{k}")))
        .collect();

    for cut in cut_offsets(&recs, &mut rng) {
        let ctx = format!(
            "{shards} shards, cut at {cut} of {} (seed {seed})",
            segment.len()
        );
        let whole = recs.iter().take_while(|r| r.end <= cut).count();
        let torn_at = recs[..whole].last().map_or(SEGMENT_HEADER_LEN, |r| r.end);
        let at_boundary = torn_at == cut;
        let work = workdir_with_copy(&data);
        let seg_path = segments(&work.path().join("shards"), victim).remove(0);
        let f = std::fs::OpenOptions::new()
            .write(true)
            .open(&seg_path)
            .unwrap();
        f.set_len(cut as u64).unwrap();
        drop(f);

        let s = Server::start_logged(work, shards, &[]);
        let mut want = others.clone();
        for k in &victims_keys[..whole] {
            want.insert(k.clone(), format!("v{k}"));
        }
        assert_eq!(db0(&s), want, "{ctx}: recovered keys");
        let log = s.stderr_log();
        let warning = log.lines().find(|l| l.contains("torn record"));
        if at_boundary {
            assert!(
                warning.is_none(),
                "{ctx}: a cut at a boundary is silent: {log}"
            );
        } else {
            let warning = warning.unwrap_or_else(|| panic!("{ctx}: no warning in {log:?}"));
            assert!(
                warning.contains(&short_name(&seg_path))
                    && warning.contains(&format!("offset {torn_at} ")),
                "{ctx}: the warning names file and offset {torn_at}: {warning}"
            );
        }
        assert_eq!(
            std::fs::metadata(&seg_path).unwrap().len(),
            torn_at as u64,
            "{ctx}: the segment is truncated to its valid prefix"
        );

        // New writes land after the repaired prefix and survive another crash.
        let fresh = &keys_on_shard(victim, shards, 1, "after-cut-")[0];
        let _: () = s.con().set(fresh, "new").unwrap();
        want.insert(fresh.clone(), "new".into());
        let logged_before = log.len();
        let work = kill_and_keep(s);
        let s = Server::start_logged(work, shards, &[]);
        assert_eq!(db0(&s), want, "{ctx}: after a second restart");
        let log = s.stderr_log();
        assert!(
            !log[logged_before..].contains("torn record"),
            "{ctx}: the second start found a torn record: {}",
            &log[logged_before..]
        );
    }
}

#[test]
fn torn_tail_of_a_single_shard() {
    torn_tails_recover_the_longest_prefix(1, 0, false);
}

#[test]
fn torn_tail_of_one_of_two_shards() {
    torn_tails_recover_the_longest_prefix(2, 1, true);
}

// ---------------------------------------------------------------------------------------
// 2. Damage that stops the start.

const DAMAGE_ADVICE: &str = "Restore the data directory from a backup";

/// Starts on `work` expecting a refusal; checks that stderr names `file` (and `offset`,
/// when given) and contains `advice`, and that nothing in the data directory changed.
fn assert_refused(
    work: &tempfile::TempDir,
    shards: usize,
    file: &Path,
    offset: Option<u64>,
    advice: &str,
    what: &str,
) -> String {
    let data = work.path().join("shards");
    let before = tree_bytes(&data);
    eprintln!("starting on damaged data: {what}");
    let (status, stderr) = start_expecting_failure(work.path(), shards, &[]);
    assert!(!status.success(), "{what}: the server started: {stderr}");
    assert_eq!(status.code(), Some(1), "{what}: exit status; {stderr}");
    let name = short_name(file);
    let line = stderr
        .lines()
        .find(|l| l.contains(&name))
        .unwrap_or_else(|| panic!("{what}: stderr does not name {name}: {stderr}"));
    if let Some(offset) = offset {
        assert!(
            line.contains(&format!("offset {offset}")),
            "{what}: the error gives offset {offset}: {line}"
        );
    } else {
        assert!(
            line.contains("offset "),
            "{what}: the error gives an offset: {line}"
        );
    }
    assert!(
        line.contains(advice),
        "{what}: the error says {advice:?}: {line}"
    );
    assert!(
        tree_bytes(&data) == before,
        "{what}: the data directory changed on a refused start"
    );
    stderr
}

/// Flips one bit of byte `at` of `path`.
fn flip(path: &Path, at: usize) {
    let mut bytes = std::fs::read(path).unwrap();
    bytes[at] ^= 0x10;
    std::fs::write(path, bytes).unwrap();
}

/// Rewrites bytes `at..` of a header and its CRC32 (at byte 20, covering 0..20 and
/// 24..`header_len`), as a writer of that other header would have.
fn rewrite_header(path: &Path, header_len: usize, at: usize, new: &[u8]) {
    let mut bytes = std::fs::read(path).unwrap();
    bytes[at..at + new.len()].copy_from_slice(new);
    let mut crc = crc32fast::Hasher::new();
    crc.update(&bytes[..20]);
    crc.update(&bytes[24..header_len]);
    bytes[20..24].copy_from_slice(&crc.finalize().to_le_bytes());
    std::fs::write(path, bytes).unwrap();
}

fn set_keys(s: &Server, prefix: &str, n: usize) {
    let mut con = s.con();
    for i in 0..n {
        let _: () = con
            .set(format!("{prefix}{i}"), format!("value {i}"))
            .unwrap();
    }
}

#[test]
fn a_flipped_byte_with_valid_records_after_it_is_refused() {
    let s = Server::start_with(1, &[]);
    set_keys(&s, "k", 100);
    let work = kill_and_keep(s);
    let data = work.path().join("shards");
    let seg = segments(&data, 0).remove(0);
    let recs = records(&std::fs::read(&seg).unwrap());
    for (what, rec, at) in [
        ("payload", &recs[40], recs[40].start + 20),
        ("length field", &recs[60], recs[60].start),
        ("checksum field", &recs[10], recs[10].start + 5),
        ("LSN field", &recs[70], recs[70].start + 9),
        ("next to last record", &recs[98], recs[98].end - 1),
    ] {
        let copy = workdir_with_copy(&data);
        let seg = segments(&copy.path().join("shards"), 0).remove(0);
        flip(&seg, at);
        let err = assert_refused(
            &copy,
            1,
            &seg,
            Some(rec.start as u64),
            DAMAGE_ADVICE,
            &format!("flip in the {what}"),
        );
        assert!(err.contains("valid records after it"), "{what}: {err}");
    }
}

#[test]
fn a_flipped_byte_in_a_segment_that_is_not_the_last_is_refused() {
    // Two runs, two segments: each start opens a new one.
    let s = Server::start_with(1, &[]);
    set_keys(&s, "first", 30);
    let s = Server::start_in(kill_and_keep(s), 1, &[]);
    set_keys(&s, "second", 30);
    let work = kill_and_keep(s);
    let data = work.path().join("shards");
    let segs = segments(&data, 0);
    assert_eq!(segs.len(), 2, "{segs:?}");
    let recs = records(&std::fs::read(&segs[0]).unwrap());
    // In its last record: were this the last segment, it would pass for a torn tail.
    let last = recs.last().unwrap();
    for (what, at) in [
        ("last record", last.end - 1),
        ("a middle record", recs[5].start + 18),
    ] {
        let copy = workdir_with_copy(&data);
        let seg = &segments(&copy.path().join("shards"), 0)[0];
        flip(seg, at);
        let start = recs
            .iter()
            .find(|r| r.start <= at && at < r.end)
            .unwrap()
            .start;
        assert_refused(&copy, 1, seg, Some(start as u64), DAMAGE_ADVICE, what);
    }
    // A first segment cut short is not a torn tail either.
    let copy = workdir_with_copy(&data);
    let seg = &segments(&copy.path().join("shards"), 0)[0];
    let f = std::fs::OpenOptions::new().write(true).open(seg).unwrap();
    f.set_len(last.end as u64 - 3).unwrap();
    drop(f);
    assert_refused(
        &copy,
        1,
        seg,
        Some(last.start as u64),
        DAMAGE_ADVICE,
        "a non-last segment cut short",
    );
}

/// A one-shard data directory with a snapshot of 2000 keys and a segment after it.
fn snapshot_and_segment() -> tempfile::TempDir {
    let s = Server::start_with(1, &[]);
    {
        let mut con = s.con();
        let mut pipe = redis::pipe();
        for i in 0..2000 {
            pipe.set(format!("snap:{i}"), format!("value number {i}"))
                .ignore();
        }
        pipe.query::<()>(&mut con).unwrap();
        redis::cmd("SAVE").query::<()>(&mut con).unwrap();
    }
    set_keys(&s, "after-save", 10);
    kill_and_keep(s)
}

#[test]
fn a_damaged_or_truncated_snapshot_is_refused() {
    let mut rng = fastrand::Rng::with_seed(seed());
    let work = snapshot_and_segment();
    let data = work.path().join("shards");
    let snap = format::shard_dir(&data, 0).join(SNAPSHOT_FILE);
    let len = std::fs::metadata(&snap).unwrap().len() as usize;
    assert!(len > 4000, "a snapshot of 2000 keys has {len} bytes");
    assert_eq!(
        segments(&data, 0).len(),
        1,
        "the segment after the snapshot"
    );
    // The untouched copy starts, with every key.
    let s = Server::start_in(workdir_with_copy(&data), 1, &[]);
    let mut con = s.con();
    assert_eq!(redis::cmd("DBSIZE").query::<usize>(&mut con).unwrap(), 2010);
    drop(s);

    let mut flips: Vec<(String, usize)> = [0, 9, 13, 17, 21, 27, 33, 44]
        .into_iter()
        .map(|at| (format!("header byte {at}"), at))
        .collect();
    flips.push(("first body byte".into(), SNAPSHOT_HEADER_LEN));
    flips.push(("last byte".into(), len - 1));
    for _ in 0..6 {
        let at = rng.usize(SNAPSHOT_HEADER_LEN..len);
        flips.push((format!("body byte {at}"), at));
    }
    for (what, at) in flips {
        let copy = workdir_with_copy(&data);
        let snap = format::shard_dir(&copy.path().join("shards"), 0).join(SNAPSHOT_FILE);
        flip(&snap, at);
        // The header's fields are checked at known offsets; the body's damage is found
        // where the decoder gets to.
        let offset = match at {
            0..8 => Some(0),
            8..12 => Some(8),
            12..SNAPSHOT_HEADER_LEN => Some(20),
            _ => None,
        };
        assert_refused(
            &copy,
            1,
            &snap,
            offset,
            DAMAGE_ADVICE,
            &format!("snapshot {what}"),
        );
    }
    // Every cut before the LZ4 frame's 4-byte end mark loses content (cuts inside the
    // mark: the test below).
    let mut cuts = vec![0, 7, 30, SNAPSHOT_HEADER_LEN, len / 2, len - 5];
    cuts.push(rng.usize(SNAPSHOT_HEADER_LEN..len - 4));
    for cut in cuts {
        let copy = workdir_with_copy(&data);
        let snap = format::shard_dir(&copy.path().join("shards"), 0).join(SNAPSHOT_FILE);
        let f = std::fs::OpenOptions::new().write(true).open(&snap).unwrap();
        f.set_len(cut as u64).unwrap();
        drop(f);
        assert_refused(
            &copy,
            1,
            &snap,
            None,
            DAMAGE_ADVICE,
            &format!("snapshot cut at {cut} of {len}"),
        );
    }
}

#[test]
fn a_snapshot_missing_part_of_its_frame_end_mark_is_refused() {
    let work = snapshot_and_segment();
    let data = work.path().join("shards");
    for missing in 1..=4 {
        let copy = workdir_with_copy(&data);
        let snap = format::shard_dir(&copy.path().join("shards"), 0).join(SNAPSHOT_FILE);
        let len = std::fs::metadata(&snap).unwrap().len();
        let f = std::fs::OpenOptions::new().write(true).open(&snap).unwrap();
        f.set_len(len - missing).unwrap();
        drop(f);
        let what = format!("a snapshot without the last {missing} bytes");
        assert_refused(&copy, 1, &snap, None, DAMAGE_ADVICE, &what);
    }
}

#[test]
fn files_of_another_version_shard_count_or_shard_are_refused() {
    // A segment of another format version, after a snapshot and alone.
    let work = snapshot_and_segment();
    let data = work.path().join("shards");
    for (what, remove_snapshot) in [("after a snapshot", false), ("alone", true)] {
        let copy = workdir_with_copy(&data);
        let folder = format::shard_dir(&copy.path().join("shards"), 0);
        if remove_snapshot {
            std::fs::remove_file(folder.join(SNAPSHOT_FILE)).unwrap();
        }
        let seg = &segments(&copy.path().join("shards"), 0)[0];
        rewrite_header(seg, SEGMENT_HEADER_LEN, 8, &2u32.to_le_bytes());
        let err = assert_refused(
            &copy,
            1,
            seg,
            Some(8),
            DAMAGE_ADVICE,
            &format!("a segment of version 2 {what}"),
        );
        assert!(err.contains("format version 2"), "{err}");
    }
    // A snapshot of another version.
    let copy = workdir_with_copy(&data);
    let snap = format::shard_dir(&copy.path().join("shards"), 0).join(SNAPSHOT_FILE);
    rewrite_header(&snap, SNAPSHOT_HEADER_LEN, 8, &7u32.to_le_bytes());
    let err = assert_refused(&copy, 1, &snap, Some(8), DAMAGE_ADVICE, "snapshot v7");
    assert!(err.contains("format version 7"), "{err}");

    // A segment that says it was written by a two-shard server, next to a snapshot of a
    // one-shard server.
    let copy = workdir_with_copy(&data);
    let seg = &segments(&copy.path().join("shards"), 0)[0];
    rewrite_header(seg, SEGMENT_HEADER_LEN, 16, &2u32.to_le_bytes());
    let err = assert_refused(
        &copy,
        1,
        seg,
        Some(16),
        DAMAGE_ADVICE,
        "segment of 2 shards",
    );
    assert!(err.contains("2 shards"), "{err}");

    // Two shards: a shard folder whose files say three shards; a segment of shard 0
    // copied into shard 1's folder.
    let s = Server::start_with(2, &[]);
    set_keys(&s, "two", 40);
    let work = kill_and_keep(s);
    let data = work.path().join("shards");
    let copy = workdir_with_copy(&data);
    let seg = &segments(&copy.path().join("shards"), 1)[0];
    rewrite_header(seg, SEGMENT_HEADER_LEN, 16, &3u32.to_le_bytes());
    assert_refused(
        &copy,
        2,
        seg,
        Some(16),
        DAMAGE_ADVICE,
        "a shard folder of 3 shards",
    );

    let copy = workdir_with_copy(&data);
    let stray = format::shard_dir(&copy.path().join("shards"), 1).join(format::segment_name(2));
    std::fs::copy(&segments(&copy.path().join("shards"), 0)[0], &stray).unwrap();
    let err = assert_refused(&copy, 2, &stray, Some(12), DAMAGE_ADVICE, "a stray segment");
    assert!(err.contains("belongs to shard 0"), "{err}");

    // Damage in one shard of two: the healthy shard stops too, without a shutdown
    // snapshot (the data directory stays as it was).
    for victim in [0, 1] {
        let copy = workdir_with_copy(&data);
        let seg = &segments(&copy.path().join("shards"), victim)[0];
        let recs = records(&std::fs::read(seg).unwrap());
        flip(seg, recs[1].start + 17);
        let what = format!("a flip in shard {victim} of 2");
        assert_refused(
            &copy,
            2,
            seg,
            Some(recs[1].start as u64),
            DAMAGE_ADVICE,
            &what,
        );
    }
}

#[test]
fn leftovers_of_a_crash_are_tolerated() {
    let work = snapshot_and_segment();
    let data = work.path().join("shards");
    let folder = format::shard_dir(&data, 0);
    // A snapshot being written when the server died, and a segment whose header was
    // being written (nothing of it, or a part).
    std::fs::write(folder.join(SNAPSHOT_TMP_FILE), b"MFLXSNP\n half a snapshot").unwrap();
    let header = SegmentHeader {
        shard: 0,
        shards: 1,
        first_lsn: 1 << 40,
    }
    .encode();
    for partial in [0, 5, 20, SEGMENT_HEADER_LEN - 1] {
        let copy = workdir_with_copy(&data);
        let folder = format::shard_dir(&copy.path().join("shards"), 0);
        let empty = folder.join(format::segment_name(9));
        std::fs::write(&empty, &header[..partial]).unwrap();
        let s = Server::start_logged(copy, 1, &[]);
        let mut con = s.con();
        let ctx = format!("a last segment of {partial} bytes");
        assert_eq!(
            redis::cmd("DBSIZE").query::<usize>(&mut con).unwrap(),
            2010,
            "{ctx}"
        );
        let v: String = con.get("after-save9").unwrap();
        assert_eq!(v, "value 9", "{ctx}");
        assert!(
            !folder.join(SNAPSHOT_TMP_FILE).exists(),
            "{ctx}: tmp removed"
        );
        assert!(!empty.exists(), "{ctx}: the empty segment removed");
        // Writes go on and survive a crash.
        let _: () = con.set("later", "yes").unwrap();
        drop(con);
        let s = Server::start_in(kill_and_keep(s), 1, &[]);
        let mut con = s.con();
        assert_eq!(
            redis::cmd("DBSIZE").query::<usize>(&mut con).unwrap(),
            2011,
            "{ctx}"
        );
    }
}

// ---------------------------------------------------------------------------------------
// 3. Random operation sequences, snapshots at random points, a restart: equal to a model.

/// The keys operations use: few, so that they collide; spread over both shards (checked).
const KEYS: [&str; 6] = ["a", "b", "c", "d", "e", "f"];
/// Keys with short TTLs, touched by nothing that could tell whether they expired yet
/// (only SET, FLUSHDB and SWAPDB), so the model stays exact whatever the timing.
const SHORT_KEYS: [&str; 2] = ["short1", "short2"];
const VALUES: [&str; 6] = ["1", "42", "-7", "x", "hello", ""];
const DBS: u8 = 3;
const SHARDS: usize = 2;

#[derive(Debug, Clone)]
enum Ttl {
    None,
    /// Relative, days in the future.
    Px(u64),
    /// Absolute: `far` (see `Case`) plus this.
    PxAt(u64),
}

#[derive(Debug, Clone)]
enum Op {
    Set { key: usize, value: usize, ttl: Ttl },
    SetShort { key: usize, ms: u64 },
    Del(Vec<usize>),
    IncrBy { key: usize, by: i64 },
    Append { key: usize, value: usize },
    Expire { key: usize, secs: u64 },
    PExpireAt { key: usize, after_far: u64 },
    Persist(usize),
    Rename { from: usize, to: usize },
    Select(u8),
    FlushDb,
    SwapDb(u8, u8),
    MSet(Vec<(usize, usize)>),
    Save,
    BgSave,
}

fn op_strategy() -> impl Strategy<Value = Op> {
    let key = || 0..KEYS.len();
    let value = || 0..VALUES.len();
    let ttl = prop_oneof![
        3 => Just(Ttl::None),
        1 => (1_000_000_000u64..2_000_000_000).prop_map(Ttl::Px),
        1 => (0u64..1_000_000_000).prop_map(Ttl::PxAt),
    ];
    prop_oneof![
        6 => (key(), value(), ttl).prop_map(|(key, value, ttl)| Op::Set { key, value, ttl }),
        1 => (0..SHORT_KEYS.len(), 20u64..200).prop_map(|(key, ms)| Op::SetShort { key, ms }),
        2 => proptest::collection::btree_set(key(), 1..4)
            .prop_map(|keys| Op::Del(keys.into_iter().collect())),
        3 => (key(), -50i64..50).prop_map(|(key, by)| Op::IncrBy { key, by }),
        2 => (key(), value()).prop_map(|(key, value)| Op::Append { key, value }),
        2 => (key(), 1_000_000u64..10_000_000).prop_map(|(key, secs)| Op::Expire { key, secs }),
        1 => (key(), 0u64..1_000_000_000)
            .prop_map(|(key, after_far)| Op::PExpireAt { key, after_far }),
        2 => key().prop_map(Op::Persist),
        2 => (key(), key()).prop_map(|(from, to)| Op::Rename { from, to }),
        2 => (0..DBS).prop_map(Op::Select),
        1 => Just(Op::FlushDb),
        1 => (0..DBS, 0..DBS).prop_map(|(a, b)| Op::SwapDb(a, b)),
        2 => proptest::collection::vec((key(), value()), 1..5).prop_map(Op::MSet),
        1 => Just(Op::Save),
        1 => Just(Op::BgSave),
    ]
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

/// An expiry the model knows to lie within `lo..=hi` (Unix ms): exact for absolute ones,
/// the time the command was in flight for relative ones.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Expiry {
    lo: u64,
    hi: u64,
}

type Db = BTreeMap<String, (String, Option<Expiry>)>;

struct Model {
    dbs: Vec<Db>,
    db: usize,
}

/// Redis's integer syntax: no sign but `-`, no leading zeros, no `-0`, fits an i64.
fn redis_int(s: &str) -> Option<i64> {
    let digits = s.strip_prefix('-').unwrap_or(s);
    let canonical = s == "0"
        || (!digits.is_empty()
            && digits.bytes().all(|b| b.is_ascii_digit())
            && !digits.starts_with('0'));
    canonical.then(|| s.parse().ok()).flatten()
}

/// Runs `op` on the server and on the model; an error when the server's reply is not the
/// one the model predicts.
fn apply(con: &mut redis::Connection, m: &mut Model, op: &Op, far: u64) -> Result<(), String> {
    let db = m.db;
    let key = |k: usize| KEYS[k].to_string();
    // Replies as text: "OK", "12", the error's text; an expectation "error" or an error's
    // words match any error containing them.
    let check = |got: redis::RedisResult<redis::Value>, want: &str| -> Result<(), String> {
        let (got, is_error) = match got {
            Ok(redis::Value::Okay) => ("OK".to_string(), false),
            Ok(redis::Value::SimpleString(s)) => (s, false),
            Ok(redis::Value::Int(n)) => (n.to_string(), false),
            Ok(other) => (format!("{other:?}"), false),
            Err(e) => (format!("error {e}"), true),
        };
        if got == want || (is_error && got.contains(want)) {
            Ok(())
        } else {
            Err(format!("replied {got:?}, the model expects {want:?}"))
        }
    };
    let query = |con: &mut redis::Connection, cmd: &mut redis::Cmd| cmd.query(con);
    match op {
        Op::Set { key: k, value, ttl } => {
            let (k, v) = (key(*k), VALUES[*value].to_string());
            let mut cmd = redis::cmd("SET");
            cmd.arg(&k).arg(&v);
            let before = now_ms();
            let expiry = match ttl {
                Ttl::None => None,
                Ttl::Px(ms) => {
                    cmd.arg("PX").arg(*ms);
                    Some((before + ms, *ms))
                }
                Ttl::PxAt(after) => {
                    cmd.arg("PXAT").arg(far + after);
                    Some((far + after, 0))
                }
            };
            check(query(con, &mut cmd), "OK")?;
            let expiry = expiry.map(|(lo, relative)| Expiry {
                lo,
                hi: if relative > 0 {
                    now_ms() + relative
                } else {
                    lo
                },
            });
            m.dbs[db].insert(k, (v, expiry));
        }
        Op::SetShort { key: k, ms } => {
            let k = SHORT_KEYS[*k].to_string();
            let lo = now_ms() + ms;
            let r = query(
                con,
                redis::cmd("SET").arg(&k).arg("short").arg("PX").arg(*ms),
            );
            check(r, "OK")?;
            let hi = now_ms() + ms;
            m.dbs[db].insert(k, ("short".into(), Some(Expiry { lo, hi })));
        }
        Op::Del(keys) => {
            let names: Vec<String> = keys.iter().map(|&k| key(k)).collect();
            let n = names
                .iter()
                .filter(|k| m.dbs[db].remove(*k).is_some())
                .count();
            check(query(con, redis::cmd("DEL").arg(&names)), &n.to_string())?;
        }
        Op::IncrBy { key: k, by } => {
            let k = key(*k);
            let r = query(con, redis::cmd("INCRBY").arg(&k).arg(*by));
            match m.dbs[db].get_mut(&k) {
                None => {
                    check(r, &by.to_string())?;
                    m.dbs[db].insert(k, (by.to_string(), None));
                }
                Some((v, _)) => match redis_int(v).and_then(|n| n.checked_add(*by)) {
                    Some(n) => {
                        check(r, &n.to_string())?;
                        *v = n.to_string();
                    }
                    None => check(r, "error")?,
                },
            }
        }
        Op::Append { key: k, value } => {
            let k = key(*k);
            let add = VALUES[*value];
            let r = query(con, redis::cmd("APPEND").arg(&k).arg(add));
            let entry = m.dbs[db].entry(k).or_insert((String::new(), None));
            entry.0.push_str(add);
            check(r, &entry.0.len().to_string())?;
        }
        Op::Expire { key: k, secs } => {
            let k = key(*k);
            let lo = now_ms() + secs * 1000;
            let r = query(con, redis::cmd("EXPIRE").arg(&k).arg(*secs));
            let hi = now_ms() + secs * 1000;
            match m.dbs[db].get_mut(&k) {
                Some((_, e)) => {
                    check(r, "1")?;
                    *e = Some(Expiry { lo, hi });
                }
                None => check(r, "0")?,
            }
        }
        Op::PExpireAt { key: k, after_far } => {
            let k = key(*k);
            let at = far + after_far;
            let r = query(con, redis::cmd("PEXPIREAT").arg(&k).arg(at));
            match m.dbs[db].get_mut(&k) {
                Some((_, e)) => {
                    check(r, "1")?;
                    *e = Some(Expiry { lo: at, hi: at });
                }
                None => check(r, "0")?,
            }
        }
        Op::Persist(k) => {
            let k = key(*k);
            let r = query(con, redis::cmd("PERSIST").arg(&k));
            match m.dbs[db].get_mut(&k) {
                Some((_, e)) if e.is_some() => {
                    check(r, "1")?;
                    *e = None;
                }
                _ => check(r, "0")?,
            }
        }
        Op::Rename { from, to } => {
            let (from, to) = (key(*from), key(*to));
            let r = query(con, redis::cmd("RENAME").arg(&from).arg(&to));
            match m.dbs[db].remove(&from) {
                None => check(r, "no such key")?,
                Some(entry) => {
                    check(r, "OK")?;
                    m.dbs[db].insert(to, entry);
                }
            }
        }
        Op::Select(d) => {
            check(query(con, redis::cmd("SELECT").arg(*d)), "OK")?;
            m.db = *d as usize;
        }
        Op::FlushDb => {
            check(query(con, &mut redis::cmd("FLUSHDB")), "OK")?;
            m.dbs[db].clear();
        }
        Op::SwapDb(a, b) => {
            check(query(con, redis::cmd("SWAPDB").arg(*a).arg(*b)), "OK")?;
            m.dbs.swap(*a as usize, *b as usize);
        }
        Op::MSet(pairs) => {
            let mut cmd = redis::cmd("MSET");
            for &(k, v) in pairs {
                cmd.arg(key(k)).arg(VALUES[v]);
                m.dbs[db].insert(key(k), (VALUES[v].to_string(), None));
            }
            check(query(con, &mut cmd), "OK")?;
        }
        // A snapshot may still be running from an earlier BGSAVE: then both refuse.
        Op::Save | Op::BgSave => {
            let name = if matches!(op, Op::Save) {
                "SAVE"
            } else {
                "BGSAVE"
            };
            let r = query(con, &mut redis::cmd(name));
            if check(r.clone(), "in progress").is_err() {
                let want = if name == "SAVE" {
                    "OK"
                } else {
                    "Background saving started"
                };
                check(r, want)?;
            }
        }
    }
    Ok(())
}

/// Every database's keys, values and absolute expiries (PEXPIRETIME; -1 for none).
/// `skip_short`: leave out the short-lived keys, whose presence depends on timing.
fn dump(s: &Server, skip_short: bool) -> Vec<BTreeMap<String, (Option<String>, i64)>> {
    let mut con = s.con();
    (0..DBS)
        .map(|db| {
            redis::cmd("SELECT").arg(db).query::<()>(&mut con).unwrap();
            let mut keys: Vec<String> = con.keys("*").unwrap();
            keys.retain(|k| !(skip_short && SHORT_KEYS.contains(&k.as_str())));
            if keys.is_empty() {
                return BTreeMap::new();
            }
            let mut pipe = redis::pipe();
            for k in &keys {
                pipe.get(k).cmd("PEXPIRETIME").arg(k);
            }
            let replies: Vec<(Option<String>, i64)> = pipe.query(&mut con).unwrap();
            keys.into_iter().zip(replies).collect()
        })
        .collect()
}

/// Compares a dump with the model; describes every difference.
fn differences(
    got: &[BTreeMap<String, (Option<String>, i64)>],
    model: &Model,
    skip_short: bool,
) -> Vec<String> {
    let mut out = Vec::new();
    for (db, (got, want)) in got.iter().zip(&model.dbs).enumerate() {
        let names: BTreeSet<&String> = got.keys().chain(want.keys()).collect();
        for k in names {
            if skip_short && SHORT_KEYS.contains(&k.as_str()) {
                continue;
            }
            let (g, w) = (got.get(k), want.get(k));
            let same = match (g, w) {
                (Some((gv, gt)), Some((wv, wt))) => {
                    gv.as_deref() == Some(wv.as_str())
                        && match wt {
                            None => *gt == -1,
                            Some(e) => e.lo as i64 <= *gt && *gt <= e.hi as i64,
                        }
                }
                (None, None) => true,
                _ => false,
            };
            if !same {
                out.push(format!("db {db} key {k}: server {g:?}, model {w:?}"));
            }
        }
    }
    out
}

/// Stops `s` with SIGKILL or SIGTERM and starts a server on its data.
fn restart(mut s: Server, kill: bool) -> Server {
    if kill {
        s.kill();
    } else {
        assert!(s.terminate().success(), "clean exit on SIGTERM");
    }
    let dir = std::mem::replace(&mut s.dir, tempfile::tempdir().unwrap());
    Server::start_in(dir, SHARDS, &[])
}

/// One case on the server in `slot` (started if empty; left there when the case passes,
/// with every earlier case's files under it, so later cases recover longer histories).
fn run_case(
    slot: &RefCell<Option<Server>>,
    ops: &[Op],
    kill: bool,
    far: u64,
    nonempty: &RefCell<u32>,
) -> Result<(), TestCaseError> {
    let s = slot
        .borrow_mut()
        .take()
        .unwrap_or_else(|| Server::start_with(SHARDS, &[]));
    let mut con = s.con();
    redis::cmd("FLUSHALL").query::<()>(&mut con).unwrap();
    let mut model = Model {
        dbs: vec![Db::new(); DBS as usize],
        db: 0,
    };
    for (i, op) in ops.iter().enumerate() {
        apply(&mut con, &mut model, op, far)
            .map_err(|e| TestCaseError::fail(format!("op {i} {op:?}: {e}")))?;
    }
    drop(con);
    let live = differences(&dump(&s, true), &model, true);
    prop_assert!(live.is_empty(), "before the restart: {live:#?}");

    let s = restart(s, kill);
    let latest_short = model
        .dbs
        .iter()
        .flat_map(|db| db.values())
        .filter_map(|(_, e)| e.map(|e| e.hi))
        // The short ones; every other expiry is days away.
        .filter(|&hi| hi < now_ms() + 86_400_000)
        .max();
    if let Some(hi) = latest_short {
        std::thread::sleep(std::time::Duration::from_millis(
            (hi + 20).saturating_sub(now_ms()),
        ));
    }
    for db in &mut model.dbs {
        db.retain(|_, (_, e)| e.is_none_or(|e| e.lo > now_ms()));
    }
    if model.dbs.iter().any(|db| !db.is_empty()) {
        *nonempty.borrow_mut() += 1;
    }
    let recovered = differences(&dump(&s, false), &model, false);
    prop_assert!(
        recovered.is_empty(),
        "after {}: {recovered:#?}",
        if kill { "SIGKILL" } else { "SIGTERM" }
    );
    *slot.borrow_mut() = Some(s);
    Ok(())
}

#[test]
fn random_histories_with_snapshots_survive_a_restart() {
    let shards: BTreeSet<usize> = KEYS
        .iter()
        .map(|k| memflux::shard::shard_of(k.as_bytes(), SHARDS))
        .collect();
    assert_eq!(shards.len(), SHARDS, "the keys span every shard");
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(48);
    let mut runner = TestRunner::new(Config {
        cases,
        max_shrink_iters: 200,
        failure_persistence: None,
        ..Config::default()
    });
    // Far enough ahead that nothing expires during the test (about a year).
    let far = now_ms() + 365 * 86_400_000;
    let slot = RefCell::new(None);
    let nonempty = RefCell::new(0);
    let strategy = (
        proptest::collection::vec(op_strategy(), 1..60),
        any::<bool>(),
    );
    let result = runner.run(&strategy, |(ops, kill)| {
        run_case(&slot, &ops, kill, far, &nonempty)
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    // The comparisons were not of empty databases.
    let nonempty = *nonempty.borrow();
    assert!(
        nonempty * 2 >= cases,
        "{nonempty} of {cases} cases left keys"
    );
}
