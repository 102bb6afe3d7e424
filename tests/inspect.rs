//! `memflux inspect` on the files of a real server: the live data directory, a shard
//! folder, a snapshot after SAVE, segments after SIGKILL, damaged copies, and paths that
//! are not MemFlux files.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::Server;
use memflux::storage::format::{self, read_record, RecordStep, SEGMENT_HEADER_LEN};
use serde_json::Value as Json;

/// Runs `memflux inspect <args> <path>`; returns the exit code, stdout and stderr.
fn inspect(args: &[&str], path: &Path) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_memflux"))
        .arg("inspect")
        .args(args)
        .arg(path)
        .output()
        .expect("run memflux inspect");
    (
        out.status.code().expect("exit code"),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

/// `inspect --json`, expecting `code`.
fn inspect_json(path: &Path, code: i32) -> Json {
    let (got, stdout, stderr) = inspect(&["--json"], path);
    assert_eq!(
        got,
        code,
        "inspect --json {}: {stdout}{stderr}",
        path.display()
    );
    serde_json::from_str(&stdout).expect("one JSON document")
}

/// `inspect --keys`, expecting exit code 0; one JSON object per line.
fn inspect_lines(path: &Path) -> Vec<Json> {
    let (code, stdout, stderr) = inspect(&["--keys"], path);
    assert_eq!(code, 0, "inspect --keys {}: {stderr}", path.display());
    stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect()
}

/// (db, key) → (value, has a TTL).
type Model = BTreeMap<(u64, Vec<u8>), (Vec<u8>, bool)>;

/// What `write_dataset` did, for the expected record counts.
struct Written {
    model: Model,
    sets: u64,
    sets_with_ttl: u64,
    dels: u64,
    expires: u64,
}

const HUGE_KEY: &str = "huge:key";
const HUGE_LEN: usize = 100_000;
const BINARY_KEY: &[u8] = b"bin\xff\x00key";
const BINARY_VALUE: &[u8] = b"\xfe\x01";

fn set(con: &mut redis::Connection, w: &mut Written, db: u64, key: &[u8], value: &[u8], ttl: bool) {
    let mut cmd = redis::cmd("SET");
    cmd.arg(key).arg(value);
    if ttl {
        cmd.arg("EX").arg(100_000);
        w.sets_with_ttl += 1;
    }
    let _: () = cmd.query(con).unwrap();
    w.sets += 1;
    w.model.insert((db, key.to_vec()), (value.to_vec(), ttl));
}

/// Keys in databases 0, 1 and 5, some with TTLs, of sizes from 0 bytes to 100 kB, one of
/// them not UTF-8; then some deletions and EXPIREs.
fn write_dataset(server: &Server) -> Written {
    let mut con = server.con();
    let mut w = Written {
        model: Model::new(),
        sets: 0,
        sets_with_ttl: 0,
        dels: 0,
        expires: 0,
    };
    for (db, count) in [(0u64, 40usize), (1, 25), (5, 8)] {
        let _: () = redis::cmd("SELECT").arg(db).query(&mut con).unwrap();
        for i in 0..count {
            let key = format!("db{db}:key:{i}");
            let value = "v".repeat(i * 37 % 500);
            set(
                &mut con,
                &mut w,
                db,
                key.as_bytes(),
                value.as_bytes(),
                i % 4 == 1,
            );
        }
    }
    // db 5 is selected.
    let huge = "h".repeat(HUGE_LEN);
    set(
        &mut con,
        &mut w,
        5,
        HUGE_KEY.as_bytes(),
        huge.as_bytes(),
        false,
    );
    set(&mut con, &mut w, 5, BINARY_KEY, BINARY_VALUE, true);
    let _: () = redis::cmd("SELECT").arg(0).query(&mut con).unwrap();
    for i in [0, 3, 7, 11, 20] {
        let key = format!("db0:key:{i}");
        let n: u64 = redis::cmd("DEL").arg(&key).query(&mut con).unwrap();
        assert_eq!(n, 1);
        w.dels += 1;
        w.model.remove(&(0, key.into_bytes()));
    }
    let _: () = redis::cmd("SELECT").arg(1).query(&mut con).unwrap();
    for i in [2, 4, 6] {
        let key = format!("db1:key:{i}");
        let n: u64 = redis::cmd("EXPIRE")
            .arg(&key)
            .arg(50_000)
            .query(&mut con)
            .unwrap();
        assert_eq!(n, 1);
        w.expires += 1;
        w.model.get_mut(&(1, key.into_bytes())).unwrap().1 = true;
    }
    w
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// A key or value field of a JSON line: `<name>` as UTF-8 text or `<name>_hex`.
fn bytes_field(line: &Json, name: &str) -> Vec<u8> {
    match (&line[name], &line[format!("{name}_hex")]) {
        (Json::String(s), _) => s.clone().into_bytes(),
        (_, Json::String(h)) => unhex(h),
        _ => panic!("no {name} in {line}"),
    }
}

fn num(v: &Json) -> u64 {
    v.as_u64().unwrap_or_else(|| panic!("not a number: {v}"))
}

/// Replays the record lines of `--keys` into a model.
fn replay(lines: &[Json], model: &mut Model) {
    for l in lines {
        let db = || num(&l["db"]);
        match l["op"].as_str().unwrap() {
            "put" => {
                assert_eq!(l["type"], "string");
                model.insert(
                    (db(), bytes_field(l, "key")),
                    (bytes_field(l, "value"), !l["expire_at"].is_null()),
                );
            }
            "del" => {
                model.remove(&(db(), bytes_field(l, "key")));
            }
            "expire" => {
                let entry = model.get_mut(&(db(), bytes_field(l, "key"))).unwrap();
                entry.1 = !l["expire_at"].is_null();
            }
            op => panic!("unexpected record {op}: {l}"),
        }
    }
}

/// Per-op record counts of the lines of `--keys`.
fn op_counts(lines: &[Json]) -> BTreeMap<String, u64> {
    let mut counts = BTreeMap::new();
    for l in lines {
        *counts
            .entry(l["op"].as_str().unwrap().to_string())
            .or_default() += 1;
    }
    counts
}

fn ops_of(v: &Json) -> BTreeMap<String, u64> {
    v.as_object()
        .unwrap()
        .iter()
        .map(|(k, n)| (k.clone(), num(n)))
        .collect()
}

fn check_op_counts(ops: &BTreeMap<String, u64>, w: &Written) {
    let get = |op: &str| ops.get(op).copied().unwrap_or(0);
    assert_eq!(get("put"), w.sets, "{ops:?}");
    assert_eq!(get("del"), w.dels, "{ops:?}");
    // An EXPIRE is one record; a SET with EX may journal its expiry in its put or apart.
    assert!(
        (w.expires..=w.expires + w.sets_with_ttl).contains(&get("expire")),
        "{ops:?}"
    );
    let known = ["put", "del", "expire"];
    assert!(ops.keys().all(|k| known.contains(&k.as_str())), "{ops:?}");
}

fn keys_per_db(model: &Model) -> BTreeMap<u64, u64> {
    let mut out = BTreeMap::new();
    for (db, _) in model.keys() {
        *out.entry(*db).or_default() += 1;
    }
    out
}

fn segments_of(shard_dir: &Path) -> Vec<PathBuf> {
    format::list_segments(shard_dir)
        .unwrap()
        .into_iter()
        .map(|(_, p)| p)
        .collect()
}

#[test]
fn live_data_dir_shard_folder_and_segments_after_sigkill() {
    let mut server = Server::start_with(2, &[]);
    let w = write_dataset(&server);
    let data = server.data_dir();

    // While the server runs.
    let live = inspect_json(&data, 0);
    assert_eq!(live["kind"], "data_dir");
    assert_eq!(live["healthy"], true);
    assert_eq!(live["damage"].as_array().unwrap().len(), 0);
    let totals = &live["totals"];
    assert_eq!(num(&totals["shards"]), 2);
    assert_eq!(num(&totals["snapshots"]), 0);
    check_op_counts(&ops_of(&totals["ops"]), &w);
    let (code, text, _) = inspect(&[], &data);
    assert_eq!(code, 0);
    assert!(
        text.contains("shard 0:") && text.contains("shard 1:"),
        "{text}"
    );
    assert!(text.contains("healthy"), "{text}");

    // One shard's folder: its records are its own share of the totals.
    let mut records_by_folder = 0;
    for id in 0..2 {
        let folder = data.join(id.to_string());
        let report = inspect_json(&folder, 0);
        assert_eq!(report["kind"], "shard_dir");
        let shard = &report["shards"][0];
        assert_eq!(num(&shard["shard"]), id);
        assert_eq!(shard["lsn"]["continuous"], true);
        let records = num(&report["totals"]["wal_records"]);
        assert_eq!(
            num(&shard["lsn"]["last"]),
            records,
            "no snapshot: LSNs 1..n"
        );
        records_by_folder += records;
    }
    assert_eq!(records_by_folder, num(&totals["wal_records"]));

    // After SIGKILL the WAL is all there is: every segment, summary and dump.
    server.kill();
    let mut model = Model::new();
    let mut ops = BTreeMap::new();
    for id in 0..2u64 {
        let segments = segments_of(&data.join(id.to_string()));
        assert!(!segments.is_empty());
        let mut next_lsn = 1;
        for seg in segments {
            let report = inspect_json(&seg, 0);
            assert_eq!(report["kind"], "segment");
            let s = &report["segment"];
            assert_eq!(num(&s["header"]["shard"]), id);
            assert_eq!(num(&s["header"]["shards"]), 2);
            assert_eq!(num(&s["header"]["format_version"]), 1);
            assert_eq!(num(&s["valid_bytes"]), num(&s["bytes"]));
            let records = num(&s["records"]);
            if records > 0 {
                assert_eq!(num(&s["first_lsn"]), next_lsn);
                assert_eq!(num(&s["last_lsn"]), next_lsn + records - 1);
                next_lsn += records;
            }
            let lines = inspect_lines(&seg);
            assert_eq!(lines.len() as u64, records);
            assert_eq!(op_counts(&lines), ops_of(&s["ops"]));
            for l in &lines {
                assert_eq!(num(&l["shard"]), id);
            }
            for (op, n) in op_counts(&lines) {
                *ops.entry(op).or_default() += n;
            }
            replay(&lines, &mut model);
            let (_, text, _) = inspect(&[], &seg);
            assert!(text.contains("tail: clean"), "{text}");
        }
    }
    check_op_counts(&ops, &w);
    assert_eq!(model, w.model, "the records replay to what was written");
}

#[test]
fn snapshot_after_save_matches_the_written_data() {
    let server = Server::start_with(2, &[]);
    let w = write_dataset(&server);
    let _: () = redis::cmd("SAVE").query(&mut server.con()).unwrap();
    let data = server.data_dir();

    let mut per_db = BTreeMap::new();
    let mut expiring = 0;
    let mut dumped = Model::new();
    let mut largest: Vec<(u64, String)> = Vec::new();
    for id in 0..2u64 {
        let path = data.join(id.to_string()).join(format::SNAPSHOT_FILE);
        let report = inspect_json(&path, 0);
        assert_eq!(report["kind"], "snapshot");
        let s = &report["snapshot"];
        assert_eq!(num(&s["header"]["shard"]), id);
        assert_eq!(num(&s["header"]["shards"]), 2);
        assert_eq!(s["header"]["magic"], "MFLXSNP");
        let created = num(&s["header"]["created_ms"]);
        assert!(created > 1_600_000_000_000);
        assert!(s["header"]["created_utc"].as_str().unwrap().ends_with('Z'));
        assert_eq!(s["end_marker_verified"], true);
        for db in s["databases"].as_array().unwrap() {
            *per_db.entry(num(&db["db"])).or_insert(0) += num(&db["keys"]);
        }
        expiring += num(&s["expiring"]);
        assert_eq!(num(&s["types"]["string"]), num(&s["entries"]));
        if let Some(top) = s["largest"].as_array().unwrap().first() {
            let name = String::from_utf8_lossy(&bytes_field(top, "key")).into_owned();
            largest.push((num(&top["value_bytes"]), name));
        }
        let lines = inspect_lines(&path);
        assert_eq!(lines.len() as u64, num(&s["entries"]));
        for l in &lines {
            assert_eq!(num(&l["shard"]), id);
            assert_eq!(l["type"], "string");
            let has_ttl = !l["expire_at"].is_null();
            if has_ttl {
                assert!(num(&l["expire_at"]) > created);
            }
            dumped.insert(
                (num(&l["db"]), bytes_field(l, "key")),
                (bytes_field(l, "value"), has_ttl),
            );
        }
        // The binary key is dumped as hex.
        if let Some(l) = lines.iter().find(|l| l["key_hex"].is_string()) {
            assert_eq!(unhex(l["key_hex"].as_str().unwrap()), BINARY_KEY);
            assert_eq!(unhex(l["value_hex"].as_str().unwrap()), BINARY_VALUE);
        }
    }
    assert_eq!(per_db, keys_per_db(&w.model));
    let with_ttl = w.model.values().filter(|(_, ttl)| *ttl).count() as u64;
    assert_eq!(expiring, with_ttl);
    assert_eq!(
        dumped, w.model,
        "the snapshots hold exactly what was written"
    );
    largest.sort();
    assert_eq!(
        largest.last(),
        Some(&(HUGE_LEN as u64, HUGE_KEY.to_string()))
    );

    // The whole data directory: totals across the shards, snapshot and WAL in line.
    let report = inspect_json(&data, 0);
    let totals = &report["totals"];
    assert_eq!(num(&totals["snapshots"]), 2);
    assert_eq!(num(&totals["snapshot_keys"]), w.model.len() as u64);
    assert_eq!(num(&totals["expiring"]), with_ttl);
    let totals_per_db: BTreeMap<u64, u64> = totals["databases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (num(&d["db"]), num(&d["keys"])))
        .collect();
    assert_eq!(totals_per_db, keys_per_db(&w.model));
    for shard in report["shards"].as_array().unwrap() {
        assert_eq!(shard["lsn"]["continuous"], true);
        assert!(shard["lsn"]["snapshot"].as_u64().is_some());
    }
    let (code, text, _) = inspect(&[], &data);
    assert_eq!(code, 0);
    assert!(
        text.contains("largest keys") && text.contains(HUGE_KEY),
        "{text}"
    );

    // A copy of a snapshot cut in half: damage, exit 1.
    let copy = tempfile::tempdir().unwrap();
    let cut = copy.path().join(format::SNAPSHOT_FILE);
    let bytes = std::fs::read(data.join("0").join(format::SNAPSHOT_FILE)).unwrap();
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let report = inspect_json(&cut, 1);
    assert_eq!(report["healthy"], false);
    assert_eq!(report["damage"][0]["kind"], "bad_snapshot");
    assert_eq!(report["snapshot"]["end_marker_verified"], false);
}

/// Offsets of the records of a segment, read with the format module directly.
fn record_offsets(data: &[u8]) -> Vec<usize> {
    let mut offsets = Vec::new();
    let mut at = SEGMENT_HEADER_LEN;
    while let RecordStep::Record { next, .. } = read_record(data, at) {
        offsets.push(at);
        at = next;
    }
    assert_eq!(at, data.len(), "a whole segment");
    offsets
}

#[test]
fn torn_tail_and_flipped_byte_are_reported_with_their_offsets() {
    let mut server = Server::start_with(1, &[]);
    let mut con = server.con();
    for i in 0..30 {
        let _: () = redis::cmd("SET")
            .arg(format!("key{i}"))
            .arg(format!("value number {i}"))
            .query(&mut con)
            .unwrap();
    }
    server.kill();
    let folder = server.data_dir().join("0");
    let segment = segments_of(&folder).pop().unwrap();
    let data = std::fs::read(&segment).unwrap();
    let offsets = record_offsets(&data);
    assert_eq!(offsets.len(), 30);

    // Cut in the middle of the last record.
    let last = *offsets.last().unwrap();
    std::fs::write(&segment, &data[..last + 10]).unwrap();
    let report = inspect_json(&segment, 1);
    assert_eq!(report["healthy"], false);
    let damage = &report["damage"][0];
    assert_eq!(damage["kind"], "torn_tail");
    assert_eq!(num(&damage["offset"]), last as u64);
    assert_eq!(num(&report["segment"]["records"]), 29);
    assert_eq!(num(&report["segment"]["valid_bytes"]), last as u64);
    let (code, text, _) = inspect(&[], &segment);
    assert_eq!(code, 1);
    assert!(
        text.contains(&format!("torn_tail at offset {last}")),
        "{text}"
    );
    assert!(text.contains("crash in the middle of a write"), "{text}");
    // The folder holding it is damaged too, and inspection repaired nothing.
    assert_eq!(inspect_json(&folder, 1)["damage"][0]["kind"], "torn_tail");
    assert_eq!(std::fs::metadata(&segment).unwrap().len(), last as u64 + 10);

    // A flipped byte inside the payload of a record in the middle.
    let middle = offsets[15];
    let mut flipped = data.clone();
    flipped[middle + 20] ^= 0x01;
    std::fs::write(&segment, &flipped).unwrap();
    let report = inspect_json(&segment, 1);
    let damage = &report["damage"][0];
    assert_eq!(damage["kind"], "bad_record");
    assert_eq!(num(&damage["offset"]), middle as u64);
    assert!(
        damage["reason"].as_str().unwrap().contains("checksum"),
        "{damage}"
    );
    assert_eq!(num(&damage["valid_record_after"]), offsets[16] as u64);
    assert_eq!(num(&report["segment"]["records"]), 15);
    let (code, text, _) = inspect(&[], &segment);
    assert_eq!(code, 1);
    assert!(
        text.contains(&format!("bad_record at offset {middle}"))
            && text.contains(&format!("valid records follow at offset {}", offsets[16])),
        "{text}"
    );
}

#[test]
fn paths_that_cannot_be_inspected_exit_2_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let text_file = dir.path().join("notes.txt");
    std::fs::write(&text_file, "a text file, not a snapshot\n").unwrap();
    let missing = dir.path().join("missing.mfs");
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    for (path, says) in [
        (&text_file, "not a MemFlux file"),
        (&missing, "no such file"),
        (&empty, "no MemFlux files"),
    ] {
        for args in [&[][..], &["--json"][..], &["--keys"][..]] {
            let (code, stdout, stderr) = inspect(args, path);
            assert_eq!(code, 2, "{}: {stderr}", path.display());
            assert_eq!(stdout, "");
            assert_eq!(stderr.lines().count(), 1, "{stderr}");
            assert!(
                stderr.contains(&path.display().to_string()) && stderr.contains(says),
                "{stderr}"
            );
        }
    }
}

#[test]
fn inspecting_a_busy_server_changes_nothing() {
    let mut server = Server::start_with(2, &[]);
    let data = server.data_dir();
    // A shard creates its first segment with its first write: one on each, so that
    // there are files to inspect from the first round on.
    let mut con = server.con();
    for shard in 0..2 {
        let key = &common::keys_on_shard(shard, 2, 1, "first:")[0];
        let _: () = redis::cmd("SET").arg(key).arg(1).query(&mut con).unwrap();
    }
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let mut con = server.con();
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut acked = 0u64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let _: () = redis::cmd("SET")
                    .arg(format!("busy:{acked}"))
                    .arg(format!("value {acked}"))
                    .query(&mut con)
                    .unwrap();
                acked += 1;
            }
            acked
        })
    };
    for round in 0..12 {
        if round == 4 {
            // Snapshots replace snapshot.mfs and delete segments while inspect reads.
            let _: () = redis::cmd("BGSAVE").query(&mut server.con()).unwrap();
        }
        let (code, stdout, stderr) = inspect(&["--json"], &data);
        assert!(code == 0 || code == 1, "round {round}: {stderr}");
        let report: Json = serde_json::from_str(&stdout).unwrap();
        // A record being appended right now can look torn, a segment being created can
        // be shorter than its header; nothing else may show up.
        for d in report["damage"].as_array().unwrap() {
            assert!(
                d["kind"] == "torn_tail" || d["kind"] == "torn_header",
                "round {round}: {d}"
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let acked = writer.join().unwrap();
    assert!(acked > 0);
    server.kill();
    let dir = std::mem::replace(&mut server.dir, tempfile::tempdir().unwrap());
    let server = Server::start_in(dir, 2, &[]);
    let mut con = server.con();
    let n: u64 = redis::cmd("DBSIZE").query(&mut con).unwrap();
    assert_eq!(n, acked + 2, "every acknowledged write survived");
    for i in (0..acked).step_by(97) {
        let v: String = redis::cmd("GET")
            .arg(format!("busy:{i}"))
            .query(&mut con)
            .unwrap();
        assert_eq!(v, format!("value {i}"));
    }
}
