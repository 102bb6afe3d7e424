//! Redistributing the data at start-up when the shard count changed.
//!
//! Every file records the shard count of the server that wrote it. When the data directory
//! was written with M shards and the server now starts with N, the data is moved before
//! any shard starts, on the main thread:
//!
//! 1. each old shard is recovered (snapshot + WAL) into memory, one at a time, and each of
//!    its keys is written to the snapshot of the new shard that owns it, in
//!    `<dir>/.reshard/<n>/snapshot.mfs` (LSN 0: the new shards start with empty logs);
//! 2. the new snapshots are synced and `<dir>/.reshard/COMPLETE` marks them whole;
//! 3. shard folder by shard folder, the old one is removed and the new one renamed into
//!    place; old folders past the new count are removed; then `.reshard` goes.
//!
//! A crash before step 2 leaves the old data untouched (the partial `.reshard` is removed
//! and the work redone); after it, the next start finishes step 3, which is idempotent.
//! Nothing is lost and nothing is duplicated: every key is written exactly once, to the
//! one shard its slot maps to.

use std::fs::{self, File};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use super::format::{self, SegmentHeader, SnapshotHeader, SNAPSHOT_FILE};
use super::recovery::{self, Identity};
use super::snapshot::SnapshotSink;
use crate::shard::keyspace::Keyspace;
use crate::shard::{now_ms, shard_of};

/// The staging folder under the data directory while data moves to a new shard count.
pub const STAGING: &str = ".reshard";
/// The marker in the staging folder that says every new snapshot is whole.
pub const COMPLETE: &str = "COMPLETE";

/// What a redistribution did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resharded {
    pub from: usize,
    pub to: usize,
    pub keys: u64,
}

/// The numeric shard folders under `dir`, sorted.
pub fn shard_folders(dir: &Path) -> Result<Vec<(usize, PathBuf)>, String> {
    let mut out = Vec::new();
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(format!("cannot list {}: {e}", dir.display())),
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        if let Some(id) = name.to_str().and_then(|n| n.parse::<usize>().ok()) {
            if entry.path().is_dir() && name.to_str() == Some(&id.to_string()) {
                out.push((id, entry.path()));
            }
        }
    }
    out.sort();
    Ok(out)
}

fn read_head(path: &Path, len: usize) -> Option<Vec<u8>> {
    let mut buf = vec![0u8; len];
    let mut f = File::open(path).ok()?;
    let mut got = 0;
    while got < len {
        match f.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(_) => return None,
        }
    }
    buf.truncate(got);
    Some(buf)
}

/// The shard count recorded in a shard folder's files, if it has any, and the file that
/// recorded it.
fn recorded_shards(folder: &Path) -> Result<Option<(u32, PathBuf)>, String> {
    let snap = folder.join(SNAPSHOT_FILE);
    if snap.exists() {
        let head = read_head(&snap, format::SNAPSHOT_HEADER_LEN).unwrap_or_default();
        let h =
            SnapshotHeader::decode(&head).map_err(|e| recovery::damaged(&snap, &e).to_string())?;
        return Ok(Some((h.shards, snap)));
    }
    let segments = format::list_segments(folder)
        .map_err(|e| format!("cannot list {}: {e}", folder.display()))?;
    for (_, path) in segments {
        let head = read_head(&path, format::SEGMENT_HEADER_LEN).unwrap_or_default();
        if head.len() < format::SEGMENT_HEADER_LEN {
            continue; // an empty last segment; recovery removes it
        }
        let h =
            SegmentHeader::decode(&head).map_err(|e| recovery::damaged(&path, &e).to_string())?;
        return Ok(Some((h.shards, path)));
    }
    Ok(None)
}

fn sync_dir(dir: &Path) -> Result<(), String> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| format!("cannot sync {}: {e}", dir.display()))
}

/// Moves the data in `dir` to `shards` shards if it was written with another count.
/// Returns what was done, or None when nothing had to be.
pub fn reshard_if_needed(
    dir: &Path,
    shards: usize,
    databases: usize,
) -> Result<Option<Resharded>, String> {
    let staging = dir.join(STAGING);
    if staging.join(COMPLETE).exists() {
        tracing::warn!("finishing a redistribution of the data interrupted by a crash");
        swap_in(dir, &staging, shards)?;
    } else if staging.exists() {
        fs::remove_dir_all(&staging)
            .map_err(|e| format!("cannot remove {}: {e}", staging.display()))?;
    }
    let mut counts = Vec::new();
    let folders = shard_folders(dir)?;
    for (id, folder) in &folders {
        if let Some((n, file)) = recorded_shards(folder)? {
            counts.push((*id, n as usize, file));
        }
    }
    let Some((_, old, first)) = counts.first() else {
        return Ok(None);
    };
    let old = *old;
    if let Some((_, n, file)) = counts.iter().find(|(_, n, _)| *n != old) {
        return Err(format!(
            "{}: written by a server with {n} shards (shard count at offset 16), but {} by one \
             with {old}: the data directory mixes two layouts and cannot be loaded safely. Restore \
             the data directory from a backup, or move the files that do not belong out of their \
             shard folder (`memflux inspect <file>` shows what is in them).",
            file.display(),
            first.display()
        ));
    }
    if let Some((id, _, _)) = counts.iter().find(|(id, _, _)| *id >= old) {
        return Err(format!(
            "{}: shard folder {id} holds data but the data was written with {old} shards",
            dir.display()
        ));
    }
    if old == shards {
        return Ok(None);
    }
    let started = Instant::now();
    tracing::warn!(
        "the data in {} was written with {old} shards; redistributing it to {shards} shards",
        dir.display()
    );
    let keys = redistribute(dir, &staging, old, shards, databases)?;
    swap_in(dir, &staging, shards)?;
    tracing::info!(
        "redistributed {keys} keys from {old} to {shards} shards in {:.2}s",
        started.elapsed().as_secs_f64()
    );
    Ok(Some(Resharded {
        from: old,
        to: shards,
        keys,
    }))
}

/// Step 1 and 2: writes the new shards' snapshots into the staging folder.
fn redistribute(
    dir: &Path,
    staging: &Path,
    old: usize,
    new: usize,
    databases: usize,
) -> Result<u64, String> {
    let created_ms = now_ms();
    let mut files = Vec::with_capacity(new);
    let mut sinks = Vec::with_capacity(new);
    for n in 0..new {
        let folder = staging.join(n.to_string());
        fs::create_dir_all(&folder)
            .map_err(|e| format!("cannot create {}: {e}", folder.display()))?;
        let path = folder.join(SNAPSHOT_FILE);
        let mut f =
            File::create(&path).map_err(|e| format!("cannot create {}: {e}", path.display()))?;
        let header = SnapshotHeader {
            shard: n as u32,
            shards: new as u32,
            lsn: 0,
            created_ms,
        };
        f.write_all(&header.encode())
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        files.push((f, path));
        sinks.push(SnapshotSink::new());
    }
    let mut keys = 0u64;
    for id in 0..old {
        let folder = format::shard_dir(dir, id);
        let mut dbs: Vec<Keyspace> = (0..databases).map(|_| Keyspace::new()).collect();
        recovery::recover(
            &folder,
            Identity {
                shard: id as u32,
                shards: old as u32,
            },
            &mut dbs,
        )
        .map_err(|e| e.to_string())?;
        for (db, ks) in dbs.iter().enumerate() {
            ks.scan(0, usize::MAX, |e| {
                let to = shard_of(&e.key, new);
                sinks[to].write_entry(db as u32, &e.key, &e.value, e.expire_at().unwrap_or(0));
                keys += 1;
            });
        }
        for ((f, path), sink) in files.iter_mut().zip(sinks.iter_mut()) {
            f.write_all(&sink.take_output())
                .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        }
    }
    for ((mut f, path), sink) in files.into_iter().zip(sinks) {
        f.write_all(&sink.finish())
            .and_then(|_| f.sync_all())
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        if let Some(parent) = path.parent() {
            sync_dir(parent)?;
        }
    }
    let marker = staging.join(COMPLETE);
    File::create(&marker)
        .and_then(|f| f.sync_all())
        .map_err(|e| format!("cannot create {}: {e}", marker.display()))?;
    sync_dir(staging)?;
    sync_dir(dir)?;
    Ok(keys)
}

/// Step 3: replaces the old shard folders with the staged ones. Idempotent.
fn swap_in(dir: &Path, staging: &Path, shards: usize) -> Result<(), String> {
    for n in 0..shards {
        let staged = staging.join(n.to_string());
        if !staged.exists() {
            continue; // already moved
        }
        let target = format::shard_dir(dir, n);
        if target.exists() {
            fs::remove_dir_all(&target)
                .map_err(|e| format!("cannot remove {}: {e}", target.display()))?;
        }
        fs::rename(&staged, &target).map_err(|e| {
            format!(
                "cannot move {} to {}: {e}",
                staged.display(),
                target.display()
            )
        })?;
    }
    for (id, folder) in shard_folders(dir)? {
        if id >= shards {
            fs::remove_dir_all(&folder)
                .map_err(|e| format!("cannot remove {}: {e}", folder.display()))?;
        }
    }
    sync_dir(dir)?;
    fs::remove_dir_all(staging).map_err(|e| format!("cannot remove {}: {e}", staging.display()))?;
    sync_dir(dir)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shard::value::Value;
    use crate::storage::snapshot::SnapshotReader;

    /// Writes a snapshot for shard `id` of `shards` holding `keys` (db 0).
    fn write_snapshot(dir: &Path, id: usize, shards: usize, keys: &[String]) {
        let folder = format::shard_dir(dir, id);
        fs::create_dir_all(&folder).unwrap();
        let mut bytes = SnapshotHeader {
            shard: id as u32,
            shards: shards as u32,
            lsn: 0,
            created_ms: 1,
        }
        .encode()
        .to_vec();
        let mut sink = SnapshotSink::new();
        for k in keys {
            sink.write_entry(0, k.as_bytes(), &Value::Str(k.as_bytes().to_vec()), 0);
        }
        bytes.extend(sink.take_output());
        bytes.extend(sink.finish());
        fs::write(folder.join(SNAPSHOT_FILE), bytes).unwrap();
    }

    fn read_keys(dir: &Path, id: usize, shards: usize) -> Vec<String> {
        let f = File::open(format::shard_dir(dir, id).join(SNAPSHOT_FILE)).unwrap();
        let mut r = SnapshotReader::new(f).unwrap();
        assert_eq!(
            (r.header.shard, r.header.shards),
            (id as u32, shards as u32)
        );
        let mut out = Vec::new();
        while let Some(e) = r.next_entry().unwrap() {
            assert_eq!(shard_of(&e.key, shards), id, "key on the wrong shard");
            out.push(String::from_utf8(e.key).unwrap());
        }
        out
    }

    #[test]
    fn moves_every_key_once_to_its_new_shard() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let all: Vec<String> = (0..3000).map(|i| format!("key:{i}")).collect();
        for id in 0..2 {
            let mine: Vec<String> = all
                .iter()
                .filter(|k| shard_of(k.as_bytes(), 2) == id)
                .cloned()
                .collect();
            write_snapshot(dir, id, 2, &mine);
        }
        assert_eq!(reshard_if_needed(dir, 2, 16).unwrap(), None);
        let done = reshard_if_needed(dir, 3, 16).unwrap().unwrap();
        assert_eq!(
            done,
            Resharded {
                from: 2,
                to: 3,
                keys: 3000
            }
        );
        let mut seen: Vec<String> = (0..3).flat_map(|id| read_keys(dir, id, 3)).collect();
        seen.sort();
        let mut want = all.clone();
        want.sort();
        assert_eq!(seen, want);
        assert!(!dir.join(STAGING).exists());
        // And back down to one shard: folders past the new count go away.
        reshard_if_needed(dir, 1, 16).unwrap().unwrap();
        assert_eq!(read_keys(dir, 0, 1).len(), 3000);
        assert!(!format::shard_dir(dir, 1).exists());
        assert!(!format::shard_dir(dir, 2).exists());
    }

    #[test]
    fn an_interrupted_swap_is_finished_and_a_partial_staging_discarded() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let keys: Vec<String> = (0..500).map(|i| format!("k{i}")).collect();
        write_snapshot(dir, 0, 1, &keys);
        // A staging folder without COMPLETE: discarded, the old data stays.
        fs::create_dir_all(dir.join(STAGING).join("0")).unwrap();
        assert_eq!(reshard_if_needed(dir, 1, 16).unwrap(), None);
        assert!(!dir.join(STAGING).exists());
        // Stage a complete redistribution, then "crash" before the swap.
        let staging = dir.join(STAGING);
        redistribute(dir, &staging, 1, 2, 16).unwrap();
        // The next start (with 2 shards) finishes the swap.
        assert_eq!(reshard_if_needed(dir, 2, 16).unwrap(), None);
        let n: usize = (0..2).map(|id| read_keys(dir, id, 2).len()).sum();
        assert_eq!(n, 500);
    }

    #[test]
    fn mixed_layouts_are_refused() {
        let tmp = tempfile::tempdir().unwrap();
        write_snapshot(tmp.path(), 0, 2, &[]);
        write_snapshot(tmp.path(), 1, 3, &[]);
        let err = reshard_if_needed(tmp.path(), 2, 16).unwrap_err();
        assert!(err.contains("mixes two layouts"), "{err}");
    }
}
