//! A snapshot taken while clients write is consistent: it holds each shard's state at one
//! point of its history, no write from after that point and none missing from before it,
//! and the point lies between the moment SAVE/BGSAVE was sent and the moment it returned.
//! Taking it does not make the server's memory grow beyond a small margin.
//!
//! One writer connection per shard writes a known sequence to that shard (new keys,
//! overwrites and deletions of preloaded keys spread over the whole keyspace, overwrites
//! and deletions of its new keys) while the snapshot walks 100k preloaded keys per shard.
//! Then the server is killed, its WAL segments are deleted, and it restarts from the
//! snapshots alone: each shard's recovered keys must equal its sequence's state after
//! exactly P writes for some P in [writes acknowledged before SAVE was sent, writes sent
//! before SAVE returned].

mod common;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{keys_on_shard, Server};

const SHARDS: usize = 2;
const PRELOADED_PER_SHARD: usize = 100_000;
/// New keys a writer can create (a quarter of its writes create one).
const FRESH_PER_SHARD: usize = 60_000;
const VALUE_LEN: usize = 100;
/// Writes a writer pipelines in one round trip.
const BATCH: usize = 32;
/// Allowed growth during a snapshot: 10% of the steady state plus this.
const MEMORY_SLACK: u64 = 8 << 20;

fn value(tag: &str, n: usize) -> String {
    let head = format!("{tag}:{n}:");
    format!("{head}{}", "x".repeat(VALUE_LEN.saturating_sub(head.len())))
}

/// The keys of one shard and the write sequence its writer follows.
struct ShardPlan {
    shard: usize,
    preloaded: Vec<String>,
    fresh: Vec<String>,
}

impl ShardPlan {
    fn new(shard: usize) -> ShardPlan {
        ShardPlan {
            shard,
            preloaded: keys_on_shard(shard, SHARDS, PRELOADED_PER_SHARD, &format!("p{shard}:")),
            fresh: keys_on_shard(shard, SHARDS, FRESH_PER_SHARD, &format!("n{shard}:")),
        }
    }

    fn preloaded_value(&self, j: usize) -> String {
        value(&format!("p{}", self.shard), j)
    }

    /// Writes the sequence has.
    fn len(&self) -> usize {
        4 * self.fresh.len()
    }

    /// Write number `i`: the key and its new value (None: DEL). Overwrites and deletions
    /// of preloaded keys stride through them, so they land both behind and ahead of the
    /// snapshot's walk.
    fn write(&self, i: usize) -> (&str, Option<String>) {
        let q = i / 4;
        let stride = |offset: usize| &self.preloaded[(q * 7919 + offset) % self.preloaded.len()];
        let new_value = || Some(value(&format!("w{}", self.shard), i));
        match i % 4 {
            0 => (&self.fresh[q], new_value()),
            1 => (stride(0), new_value()),
            2 if q.is_multiple_of(2) => (stride(PRELOADED_PER_SHARD / 2), None),
            2 => (&self.fresh[q / 3], None),
            _ => (&self.fresh[q / 2], new_value()),
        }
    }
}

/// A writer's progress: writes `0..sent` have been sent, `0..acked` acknowledged.
#[derive(Default)]
struct Progress {
    sent: AtomicUsize,
    acked: AtomicUsize,
}

fn preload(s: &Server, plans: &[Arc<ShardPlan>]) {
    let mut con = s.con();
    for plan in plans {
        for chunk in (0..plan.preloaded.len()).collect::<Vec<_>>().chunks(2000) {
            let mut cmd = redis::cmd("MSET");
            for &j in chunk {
                cmd.arg(&plan.preloaded[j]).arg(plan.preloaded_value(j));
            }
            cmd.query::<()>(&mut con).unwrap();
        }
    }
}

/// Runs `plan`'s writes in order until `stop` (or the sequence ends), `BATCH` per round
/// trip, publishing how far it got.
fn write_sequence(
    s: &Server,
    plan: Arc<ShardPlan>,
    progress: Arc<Progress>,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<()> {
    let mut con = s.con();
    con.set_write_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    std::thread::spawn(move || {
        let mut i = 0;
        while !stop.load(Ordering::SeqCst) && i + BATCH <= plan.len() {
            let mut pipe = redis::pipe();
            for n in i..i + BATCH {
                match plan.write(n) {
                    (key, Some(v)) => pipe.set(key, v).ignore(),
                    (key, None) => pipe.del(key).ignore(),
                };
            }
            progress.sent.store(i + BATCH, Ordering::SeqCst);
            pipe.query::<()>(&mut con)
                .unwrap_or_else(|e| panic!("shard {} writer: {e}", plan.shard));
            i += BATCH;
            progress.acked.store(i, Ordering::SeqCst);
        }
    })
}

fn info_field(con: &mut redis::Connection, section: &str, field: &str) -> u64 {
    let info: String = redis::cmd("INFO").arg(section).query(con).unwrap();
    let prefix = format!("{field}:");
    info.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("no {field} in INFO {section}:\n{info}"))
        .trim()
        .parse()
        .unwrap()
}

fn rss_bytes(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .expect("VmRSS in /proc/<pid>/status")
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .unwrap();
    kb << 10
}

/// The largest RSS and used_memory seen.
#[derive(Debug, Default, Clone, Copy)]
struct MemoryPeak {
    rss: u64,
    used: u64,
}

/// Samples the server's memory every few milliseconds until `stop`.
fn sample_memory(
    s: &Server,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<(MemoryPeak, usize)> {
    let pid = s.pid();
    let mut con = s.con();
    std::thread::spawn(move || {
        let mut peak = MemoryPeak::default();
        let mut samples = 0;
        while !stop.load(Ordering::SeqCst) {
            peak.rss = peak.rss.max(rss_bytes(pid));
            // INFO is a round trip through a busy server; /proc is cheap.
            if samples % 4 == 0 {
                peak.used = peak.used.max(info_field(&mut con, "memory", "used_memory"));
            }
            samples += 1;
            std::thread::sleep(Duration::from_millis(1));
        }
        (peak, samples)
    })
}

/// Every key the restarted server holds, with its value.
fn dump(s: &Server) -> HashMap<String, String> {
    let mut con = s.con();
    let keys: Vec<String> = redis::cmd("KEYS").arg("*").query(&mut con).unwrap();
    let mut out = HashMap::with_capacity(keys.len());
    for chunk in keys.chunks(5000) {
        let values: Vec<Option<String>> = redis::cmd("MGET").arg(chunk).query(&mut con).unwrap();
        for (k, v) in chunk.iter().zip(values) {
            out.insert(k.clone(), v.expect("a key KEYS listed exists"));
        }
    }
    out
}

/// How `plan`'s sequence compares with a recovered shard.
struct Comparison {
    /// The points P (number of writes applied) at which the sequence leaves the shard
    /// exactly as recovered.
    matching: Vec<usize>,
    /// The point closest to the recovered state and on how many keys the two differ.
    closest: (usize, usize),
}

/// Compares the states of `plan`'s sequence, up to `written` writes, with `recovered`.
/// Keeps the number of keys on which model and recovered state differ up to date while it
/// applies the writes one by one.
fn compare(plan: &ShardPlan, recovered: &HashMap<&str, &str>, written: usize) -> Comparison {
    let mut model: HashMap<&str, Option<String>> = plan
        .preloaded
        .iter()
        .enumerate()
        .map(|(j, k)| (k.as_str(), Some(plan.preloaded_value(j))))
        .collect();
    let differs = |model: &HashMap<&str, Option<String>>, key: &str| {
        model.get(key).cloned().flatten().as_deref() != recovered.get(key).copied()
    };
    let mut differing = model.keys().filter(|k| differs(&model, k)).count()
        + recovered.keys().filter(|k| !model.contains_key(*k)).count();
    let mut out = Comparison {
        matching: Vec::new(),
        closest: (0, differing),
    };
    for p in 0..=written {
        if p > 0 {
            let (key, new) = plan.write(p - 1);
            let before = differs(&model, key) as usize;
            model.insert(key, new);
            differing = differing + differs(&model, key) as usize - before;
        }
        if differing == 0 {
            out.matching.push(p);
        }
        if differing < out.closest.1 {
            out.closest = (p, differing);
        }
    }
    out
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum How {
    Save,
    Bgsave,
}

fn snapshot_under_writes_is_one_point_in_time(how: How) {
    let plans: Vec<Arc<ShardPlan>> = (0..SHARDS).map(|s| Arc::new(ShardPlan::new(s))).collect();
    let mut s = Server::start_with(SHARDS, &[]);
    preload(&s, &plans);

    let stop_writers = Arc::new(AtomicBool::new(false));
    let progress: Vec<Arc<Progress>> = (0..SHARDS).map(|_| Arc::default()).collect();
    let writers: Vec<_> = plans
        .iter()
        .zip(&progress)
        .map(|(plan, p)| write_sequence(&s, plan.clone(), p.clone(), stop_writers.clone()))
        .collect();
    let deadline = Instant::now() + Duration::from_secs(30);
    while progress
        .iter()
        .any(|p| p.acked.load(Ordering::SeqCst) < 200)
    {
        assert!(Instant::now() < deadline, "writers make no progress");
        std::thread::sleep(Duration::from_millis(5));
    }

    // Steady state: the writers run, no snapshot does.
    let stop_sampling = Arc::new(AtomicBool::new(false));
    let sampler = sample_memory(&s, stop_sampling.clone());
    std::thread::sleep(Duration::from_millis(300));
    stop_sampling.store(true, Ordering::SeqCst);
    let (steady, _) = sampler.join().unwrap();

    let mut con = s.con();
    let saves_before = info_field(&mut con, "persistence", "rdb_saves");
    let stop_sampling = Arc::new(AtomicBool::new(false));
    let sampler = sample_memory(&s, stop_sampling.clone());
    let acked_before: Vec<usize> = progress
        .iter()
        .map(|p| p.acked.load(Ordering::SeqCst))
        .collect();
    let started = Instant::now();
    match how {
        How::Save => redis::cmd("SAVE").query::<()>(&mut con).unwrap(),
        How::Bgsave => {
            let reply: String = redis::cmd("BGSAVE").query(&mut con).unwrap();
            assert_eq!(reply, "Background saving started");
        }
    }
    let sent_by_return: Vec<usize> = progress
        .iter()
        .map(|p| p.sent.load(Ordering::SeqCst))
        .collect();
    let returned_after = started.elapsed();
    let deadline = Instant::now() + Duration::from_secs(60);
    while info_field(&mut con, "persistence", "rdb_saves") == saves_before
        || info_field(&mut con, "persistence", "rdb_bgsave_in_progress") != 0
    {
        assert!(Instant::now() < deadline, "the snapshot did not finish");
        std::thread::sleep(Duration::from_millis(2));
    }
    let took = started.elapsed();
    let sent_by_end: Vec<usize> = progress
        .iter()
        .map(|p| p.sent.load(Ordering::SeqCst))
        .collect();
    stop_sampling.store(true, Ordering::SeqCst);
    let (during, samples) = sampler.join().unwrap();
    let snapshot_keys = info_field(&mut con, "persistence", "rdb_last_snapshot_keys");
    // Writes after the snapshot that the WAL alone holds, and that must not come back.
    std::thread::sleep(Duration::from_millis(100));
    stop_writers.store(true, Ordering::SeqCst);
    for w in writers {
        w.join().expect("writer panicked");
    }
    let written: Vec<usize> = progress
        .iter()
        .map(|p| p.acked.load(Ordering::SeqCst))
        .collect();

    s.kill();
    let mut removed = 0;
    for shard in 0..SHARDS {
        let folder = s.data_dir().join(shard.to_string());
        assert!(
            folder.join("snapshot.mfs").exists(),
            "no snapshot of shard {shard}"
        );
        for f in std::fs::read_dir(&folder).unwrap() {
            let path = f.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if name.starts_with("wal-") {
                std::fs::remove_file(&path).unwrap();
                removed += 1;
            }
        }
    }
    let dir = std::mem::replace(&mut s.dir, tempfile::tempdir().unwrap());
    let s = Server::start_in(dir, SHARDS, &[]);
    let recovered = dump(&s);

    let mut report = format!(
        "{how:?}: returned after {returned_after:?}, snapshot done after {took:?}, {snapshot_keys} keys; \
         {removed} WAL segments removed before the restart"
    );
    for plan in &plans {
        let shard = plan.shard;
        let (lo, hi) = (acked_before[shard], sent_by_return[shard]);
        let mine: HashMap<&str, &str> = recovered
            .iter()
            .filter(|(k, _)| {
                k.starts_with(&format!("p{shard}:")) || k.starts_with(&format!("n{shard}:"))
            })
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let found = compare(plan, &mine, written[shard]);
        let (closest, differing) = found.closest;
        report.push_str(&format!(
            "\n  shard {shard}: {} keys recovered; acknowledged before {how:?} {lo}, sent before it returned {hi}, \
             sent before the snapshot ended {}, written in all {}; the state is that after {:?} writes \
             (closest: after {closest}, {differing} keys differ)",
            mine.len(),
            sent_by_end[shard],
            written[shard],
            found.matching
        ));
        assert!(
            found.matching.iter().any(|p| (lo..=hi).contains(p)),
            "shard {shard}'s snapshot is not its state at one point between {how:?} being sent and \
             returning\n{report}"
        );
    }
    assert_eq!(
        snapshot_keys as usize,
        recovered.len(),
        "INFO's rdb_last_snapshot_keys against the keys the snapshots brought back\n{report}"
    );
    let foreign: Vec<&String> = recovered
        .keys()
        .filter(|k| {
            !(0..SHARDS)
                .any(|sh| k.starts_with(&format!("p{sh}:")) || k.starts_with(&format!("n{sh}:")))
        })
        .collect();
    assert!(foreign.is_empty(), "keys nobody wrote: {foreign:?}");

    let mib = |b: u64| b as f64 / (1 << 20) as f64;
    report.push_str(&format!(
        "\n  memory, steady state -> peak during the snapshot ({samples} samples): RSS {:.1} -> {:.1} MiB, \
         used_memory {:.1} -> {:.1} MiB",
        mib(steady.rss),
        mib(during.rss),
        mib(steady.used),
        mib(during.used)
    ));
    println!("{report}");
    let limit = |steady: u64| steady + steady / 10 + MEMORY_SLACK;
    assert!(
        during.rss <= limit(steady.rss),
        "RSS grew beyond 10% + 8 MiB during the snapshot\n{report}"
    );
    assert!(
        during.used <= limit(steady.used),
        "used_memory grew beyond 10% + 8 MiB during the snapshot\n{report}"
    );
}

#[test]
fn save_under_writes_is_one_point_in_time() {
    snapshot_under_writes_is_one_point_in_time(How::Save);
}

#[test]
fn bgsave_under_writes_is_one_point_in_time() {
    snapshot_under_writes_is_one_point_in_time(How::Bgsave);
}
