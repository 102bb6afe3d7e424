//! No acknowledged write is ever lost: a server under concurrent write load from many
//! clients (`durability=always`, the default) is killed with SIGKILL at random moments and
//! restarted on the same data, over and over, and after every restart each key a client
//! owns holds its last acknowledged value or the value of the write that was in flight
//! when the server died — never an older one, never one that was never written.
//!
//! The history accumulates over the cycles on one data directory, and some cycles run with
//! `--wal_size_threshold_mb 1` (automatic snapshots during the load) or send BGSAVE from a
//! side connection, so recovery goes through snapshot loading as well as WAL replay, and
//! kills land in the middle of snapshots too.
//!
//! `MEMFLUX_CRASH_CYCLES` sets the number of cycles (`benches/crash_soak.sh` runs a long
//! soak), `MEMFLUX_CRASH_SEED` repeats a run's choices (kill times, flags, operations; the
//! timing of the server is its own); the seed is printed at the start.

mod common;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use common::Server;

const SHARDS: usize = 2;
/// Concurrent writer connections.
const WRITERS: usize = 24;
/// Plain string keys per writer (SET, MSET, DEL), besides its counter and its log.
const KEYS_PER_WRITER: usize = 8;
/// Keys written once before the first cycle and checked after every restart.
const BALLAST_KEYS: usize = 50_000;
/// A writer's APPEND log is deleted once it grows past this, so values stay small.
const LOG_LIMIT: usize = 4096;
const DEFAULT_CYCLES: usize = 48;
/// Every socket gets this timeout, so a server that stops answering fails the test.
const SOCKET_TIMEOUT: Duration = Duration::from_secs(10);

/// A key's value as a client knows it: `None` when the key does not exist.
type Value = Option<String>;

/// One writer's keys and what it knows of them. Lives across cycles; after each restart
/// its model becomes what the server recovered.
struct Writer {
    id: usize,
    strings: Vec<String>,
    counter: String,
    log: String,
    /// The last acknowledged (or, after a restart, verified) value of every owned key.
    model: HashMap<String, Value>,
    /// Sequence number of the next write; written into values so that each is unique.
    seq: u64,
    rng: fastrand::Rng,
}

/// How one writer's cycle ended.
struct CycleOutcome {
    /// The values the write in flight at the kill would have given its keys: sent, not
    /// acknowledged, so each of them may or may not have been applied.
    in_flight: Vec<(String, Value)>,
    acknowledged: u64,
    /// Problems that are bugs whatever the kill did: error replies, connection loss before
    /// the kill, replies that contradict the model.
    problems: Vec<String>,
}

/// One write and the values it gives the keys it touches.
struct Write {
    cmd: redis::Cmd,
    effects: Vec<(String, Value)>,
    /// The integer reply the write must get, when the model predicts it.
    expected_reply: Option<i64>,
}

impl Writer {
    fn new(id: usize, seed: u64) -> Writer {
        let strings: Vec<String> = (0..KEYS_PER_WRITER)
            .map(|j| format!("w{id}:s{j}"))
            .collect();
        let counter = format!("w{id}:counter");
        let log = format!("w{id}:log");
        let model = strings
            .iter()
            .chain([&counter, &log])
            .map(|k| (k.clone(), None))
            .collect();
        Writer {
            id,
            strings,
            counter,
            log,
            model,
            seq: 0,
            rng: fastrand::Rng::with_seed(seed),
        }
    }

    fn keys(&self) -> Vec<String> {
        let mut keys = self.strings.clone();
        keys.push(self.counter.clone());
        keys.push(self.log.clone());
        keys
    }

    /// A value nobody else writes; its length varies so that WAL records do too.
    fn fresh_value(&mut self) -> String {
        self.seq += 1;
        let pad = (self.seq % 97) as usize * 3;
        format!("{}:{}:{}", self.id, self.seq, "v".repeat(pad))
    }

    fn next_write(&mut self) -> Write {
        let log_len = self.model[&self.log].as_ref().map_or(0, String::len);
        if log_len > LOG_LIMIT {
            let mut cmd = redis::cmd("DEL");
            cmd.arg(&self.log);
            return Write {
                cmd,
                effects: vec![(self.log.clone(), None)],
                expected_reply: Some(1),
            };
        }
        match self.rng.u32(0..100) {
            0..=34 => {
                let key = self.strings[self.rng.usize(..self.strings.len())].clone();
                let value = self.fresh_value();
                let mut cmd = redis::cmd("SET");
                cmd.arg(&key).arg(&value);
                Write {
                    cmd,
                    effects: vec![(key, Some(value))],
                    expected_reply: None,
                }
            }
            35..=49 => {
                // Several keys, usually on both shards: each shard applies its part.
                let count = self.rng.usize(2..=4);
                let first = self.rng.usize(..self.strings.len());
                let mut cmd = redis::cmd("MSET");
                let mut effects = Vec::new();
                for i in 0..count {
                    let key = self.strings[(first + i * 3) % self.strings.len()].clone();
                    let value = self.fresh_value();
                    cmd.arg(&key).arg(&value);
                    effects.push((key, Some(value)));
                }
                Write {
                    cmd,
                    effects,
                    expected_reply: None,
                }
            }
            50..=69 => {
                let now: i64 = self.model[&self.counter]
                    .as_deref()
                    .map_or(0, |v| v.parse().expect("counter holds an integer"));
                let mut cmd = redis::cmd("INCR");
                cmd.arg(&self.counter);
                Write {
                    cmd,
                    effects: vec![(self.counter.clone(), Some((now + 1).to_string()))],
                    expected_reply: Some(now + 1),
                }
            }
            70..=84 => {
                self.seq += 1;
                let piece = format!("{},", self.seq);
                let mut grown = self.model[&self.log].clone().unwrap_or_default();
                grown.push_str(&piece);
                let mut cmd = redis::cmd("APPEND");
                cmd.arg(&self.log).arg(&piece);
                Write {
                    cmd,
                    expected_reply: Some(grown.len() as i64),
                    effects: vec![(self.log.clone(), Some(grown))],
                }
            }
            _ => {
                let key = self.strings[self.rng.usize(..self.strings.len())].clone();
                let existed = self.model[&key].is_some();
                let mut cmd = redis::cmd("DEL");
                cmd.arg(&key);
                Write {
                    cmd,
                    effects: vec![(key, None)],
                    expected_reply: Some(existed as i64),
                }
            }
        }
    }

    /// Writes until the connection fails (the kill) or `stop` is set; records a write in
    /// the model only once the server acknowledged it.
    fn run(&mut self, url: &str, stop: &AtomicBool, killed: &AtomicBool) -> CycleOutcome {
        let mut outcome = CycleOutcome {
            in_flight: Vec::new(),
            acknowledged: 0,
            problems: Vec::new(),
        };
        let mut con = match connect(url) {
            Ok(c) => c,
            Err(e) => {
                if !killed.load(Ordering::SeqCst) {
                    outcome
                        .problems
                        .push(format!("writer {}: cannot connect: {e}", self.id));
                }
                return outcome;
            }
        };
        while !stop.load(Ordering::SeqCst) {
            let write = self.next_write();
            match write.cmd.query::<redis::Value>(&mut con) {
                Ok(reply) => {
                    if let Some(want) = write.expected_reply {
                        if reply != redis::Value::Int(want) {
                            outcome.problems.push(format!(
                                "writer {}: {:?} replied {reply:?}, the model expects {want}",
                                self.id,
                                String::from_utf8_lossy(&write.cmd.get_packed_command())
                            ));
                        }
                    } else if reply != redis::Value::Okay {
                        outcome.problems.push(format!(
                            "writer {}: {:?} replied {reply:?}, expected OK",
                            self.id,
                            String::from_utf8_lossy(&write.cmd.get_packed_command())
                        ));
                    }
                    for (key, value) in write.effects {
                        self.model.insert(key, value);
                    }
                    outcome.acknowledged += 1;
                }
                Err(e) => {
                    // Whatever the error, the write may have been applied.
                    outcome.in_flight = write.effects;
                    if e.code().is_some() {
                        outcome
                            .problems
                            .push(format!("writer {}: error reply: {e}", self.id));
                    } else if !killed.load(Ordering::SeqCst) {
                        outcome.problems.push(format!(
                            "writer {}: connection failed before the kill: {e}",
                            self.id
                        ));
                    }
                    break;
                }
            }
        }
        outcome
    }
}

/// A connection whose every read and write times out.
fn connect(url: &str) -> redis::RedisResult<redis::Connection> {
    let con = redis::Client::open(url)?.get_connection_with_timeout(SOCKET_TIMEOUT)?;
    con.set_read_timeout(Some(SOCKET_TIMEOUT))?;
    con.set_write_timeout(Some(SOCKET_TIMEOUT))?;
    Ok(con)
}

fn ballast_key(i: usize) -> String {
    format!("ballast:{i}")
}

fn ballast_value(i: usize) -> String {
    format!("{i}:{}", "b".repeat(80))
}

fn load_ballast(s: &Server) {
    let mut con = s.con();
    for chunk in (0..BALLAST_KEYS).collect::<Vec<_>>().chunks(1000) {
        let mut cmd = redis::cmd("MSET");
        for &i in chunk {
            cmd.arg(ballast_key(i)).arg(ballast_value(i));
        }
        cmd.query::<()>(&mut con).unwrap();
    }
}

/// Every ballast key is still there with its value.
fn check_ballast(con: &mut redis::Connection, failures: &mut Vec<String>) {
    for chunk in (0..BALLAST_KEYS).collect::<Vec<_>>().chunks(2000) {
        let keys: Vec<String> = chunk.iter().map(|&i| ballast_key(i)).collect();
        let values: Vec<Value> = redis::cmd("MGET").arg(&keys).query(con).unwrap();
        for (&i, v) in chunk.iter().zip(values) {
            if v.as_deref() != Some(ballast_value(i).as_str()) {
                failures.push(format!("{}: recovered {v:?}", ballast_key(i)));
            }
        }
    }
}

/// Compares what the server recovered with what the writers know; then makes the
/// recovered values their model. Returns the number of keys verified.
fn verify(
    con: &mut redis::Connection,
    writers: &mut [Writer],
    in_flight: &[Vec<(String, Value)>],
    failures: &mut Vec<String>,
) -> usize {
    let mut verified = 0;
    let mut present = 0;
    for (w, flying) in writers.iter_mut().zip(in_flight) {
        let keys = w.keys();
        let values: Vec<Value> = redis::cmd("MGET").arg(&keys).query(con).unwrap();
        for (key, got) in keys.into_iter().zip(values) {
            let acked = &w.model[&key];
            let maybe: Vec<&Value> = flying
                .iter()
                .filter(|(k, _)| *k == key)
                .map(|(_, v)| v)
                .collect();
            if got != *acked && !maybe.contains(&&got) {
                failures.push(format!(
                    "{key}: recovered {got:?}, last acknowledged {acked:?}, in flight {maybe:?}"
                ));
            }
            present += got.is_some() as usize;
            verified += 1;
            w.model.insert(key, got);
        }
    }
    check_ballast(con, failures);
    // Nothing else exists: no key came back that nobody wrote.
    let dbsize: usize = redis::cmd("DBSIZE").query(con).unwrap();
    if dbsize != BALLAST_KEYS + present {
        failures.push(format!(
            "DBSIZE is {dbsize}, expected {} ballast keys + {present} writer keys",
            BALLAST_KEYS
        ));
    }
    verified + BALLAST_KEYS
}

/// Sends BGSAVE once after `delay`, unless the server is gone by then.
fn bgsave_later(url: String, delay: Duration, killed: Arc<AtomicBool>) -> JoinHandle<Vec<String>> {
    std::thread::spawn(move || {
        std::thread::sleep(delay);
        if killed.load(Ordering::SeqCst) {
            return Vec::new();
        }
        let reply =
            connect(&url).and_then(|mut con| redis::cmd("BGSAVE").query::<String>(&mut con));
        match reply {
            Ok(r) if r.starts_with("Background saving") => Vec::new(),
            Ok(r) => vec![format!("BGSAVE replied {r:?}")],
            Err(e) if e.to_string().contains("already in progress") => Vec::new(),
            Err(e) if e.code().is_none() && killed.load(Ordering::SeqCst) => Vec::new(),
            Err(e) => vec![format!("BGSAVE failed: {e}")],
        }
    })
}

/// When each shard's snapshot file was last replaced (None: there is none yet).
fn snapshot_times(data_dir: &std::path::Path) -> Vec<Option<std::time::SystemTime>> {
    (0..SHARDS)
        .map(|shard| {
            std::fs::metadata(data_dir.join(shard.to_string()).join("snapshot.mfs"))
                .and_then(|m| m.modified())
                .ok()
        })
        .collect()
}

fn env_number(name: &str) -> Option<u64> {
    std::env::var(name).ok().map(|v| {
        v.parse()
            .unwrap_or_else(|_| panic!("{name} must be a number, not {v:?}"))
    })
}

#[test]
fn sigkill_under_load_loses_no_acknowledged_write() {
    let cycles = env_number("MEMFLUX_CRASH_CYCLES").map_or(DEFAULT_CYCLES, |n| n as usize);
    let seed = env_number("MEMFLUX_CRASH_SEED").unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64
    });
    println!("crash test: {cycles} cycles, {WRITERS} writers, seed {seed} (MEMFLUX_CRASH_SEED={seed} repeats its kill times, flags and operations)");
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut writers: Vec<Writer> = (0..WRITERS).map(|i| Writer::new(i, rng.u64(..))).collect();

    let mut server = Server::start_with(SHARDS, &[]);
    load_ballast(&server);
    let started = Instant::now();
    let (mut acknowledged, mut verified, mut snapshot_cycles, mut bgsaves, mut graceful) =
        (0u64, 0usize, 0, 0, 0);
    // Restarts that loaded a snapshot written during the cycle before.
    let mut fresh_snapshot_loads = 0;
    // Shards killed while they were writing a snapshot.
    let mut killed_mid_snapshot = 0;
    let mut snapshots = snapshot_times(&server.data_dir());
    for cycle in 0..cycles {
        let stop = Arc::new(AtomicBool::new(false));
        let killed = Arc::new(AtomicBool::new(false));
        let url = server.url();
        let handles: Vec<JoinHandle<(Writer, CycleOutcome)>> = writers
            .drain(..)
            .map(|mut w| {
                let (url, stop, killed) = (url.clone(), stop.clone(), killed.clone());
                std::thread::spawn(move || {
                    let outcome = w.run(&url, &stop, &killed);
                    (w, outcome)
                })
            })
            .collect();
        let mut load_for = Duration::from_millis(rng.u64(100..1200));
        let bgsave = (rng.u32(0..3) == 0).then(|| {
            bgsaves += 1;
            let at = Duration::from_millis(rng.u64(..load_for.as_millis() as u64));
            if rng.bool() {
                // Kill while that snapshot is probably still being written.
                load_for = at + Duration::from_millis(rng.u64(..30));
            }
            bgsave_later(url.clone(), at, killed.clone())
        });
        std::thread::sleep(load_for);
        killed.store(true, Ordering::SeqCst);
        // Now and then a clean stop instead, which takes the shutdown snapshot.
        if rng.u32(0..8) == 0 {
            graceful += 1;
            server.terminate();
        } else {
            server.kill();
        }
        stop.store(true, Ordering::SeqCst);

        let mut failures = Vec::new();
        let mut in_flight = Vec::new();
        for h in handles {
            let (w, outcome) = h.join().expect("writer thread panicked");
            acknowledged += outcome.acknowledged;
            failures.extend(outcome.problems);
            in_flight.push(outcome.in_flight);
            writers.push(w);
        }
        if let Some(h) = bgsave {
            failures.extend(h.join().expect("BGSAVE thread panicked"));
        }

        // Restart on the same data, with automatic snapshots at 1 MiB of WAL in a third of
        // the cycles.
        let small_threshold = rng.u32(0..3) == 0;
        snapshot_cycles += small_threshold as usize;
        let extra: &[&str] = if small_threshold {
            &["--wal_size_threshold_mb", "1"]
        } else {
            &[]
        };
        killed_mid_snapshot += (0..SHARDS)
            .filter(|shard| {
                let folder = server.data_dir().join(shard.to_string());
                folder.join("snapshot.mfs.tmp").exists()
            })
            .count();
        let now = snapshot_times(&server.data_dir());
        fresh_snapshot_loads += now.iter().zip(&snapshots).filter(|(a, b)| a != b).count();
        snapshots = now;
        let dir = std::mem::replace(&mut server.dir, tempfile::tempdir().unwrap());
        server = Server::start_in(dir, SHARDS, extra);
        let mut con = server.con();
        verified += verify(&mut con, &mut writers, &in_flight, &mut failures);
        assert!(
            failures.is_empty(),
            "cycle {cycle} (seed {seed}, load {load_for:?}): {} problems:\n{}",
            failures.len(),
            failures
                .iter()
                .take(30)
                .cloned()
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
    println!(
        "crash test: {cycles} cycles in {:.1}s ({graceful} ended by SIGTERM, the rest by SIGKILL; \
         {snapshot_cycles} with a 1 MiB snapshot threshold, {bgsaves} with a BGSAVE; \
         {fresh_snapshot_loads} shard restarts loaded a snapshot taken in the cycle before, \
         {killed_mid_snapshot} shards were killed while writing one): \
         {acknowledged} writes acknowledged, {verified} key values verified after the restarts, none lost",
        started.elapsed().as_secs_f64()
    );
}
