//! SQL over 1M rows: MemFlux (a real server, 2 shards, durability off) against SQLite
//! (rusqlite, in memory), side by side on the same rows and the same statements.
//!
//!   cargo bench --bench sql                              # prints the table
//!   MEMFLUX_BENCH_WRITE=1 cargo bench --bench sql        # ... and writes benches/results-sql.md
//!
//! What it does:
//!   1. starts `memflux --shards 2 --durability off` (the binary cargo built for the
//!      bench, or `$MEMFLUX_BIN`) on a free port in a temporary directory;
//!   2. creates `t (id BIGINT PRIMARY KEY, category INTEGER, price NUMERIC(10,2),
//!      qty INTEGER, name TEXT, active BOOLEAN)` with `$MEMFLUX_BENCH_ROWS` rows (1M) and
//!      `u (id BIGINT PRIMARY KEY, score INTEGER)` with a tenth as many rows, keyed by
//!      every tenth id of `t`; MemFlux is loaded with multi-row INSERTs of 1000 rows,
//!      pipelined 8 deep; SQLite with one prepared INSERT per row in one transaction;
//!   3. runs each query once to warm up, then `$MEMFLUX_BENCH_RUNS` (5) times on each,
//!      and reports the median wall time (MemFlux: from sending the command to having
//!      read the whole reply, on the same machine; SQLite: prepare, step through every
//!      row, read every column);
//!   4. the primary-key point query is the median over 1000 random ids, one statement
//!      each (SQLite prepares each one too: both parse the same text);
//!   5. p99 of GETs on another connection while the GROUP BY aggregate runs over 1M rows
//!      in a loop, against p99 of the same GETs with nothing else running.
//!
//! The client shares the 2 cores with the two shards, as in `compare.sh`. Without the
//! `--bench` argument that `cargo bench` passes (e.g. under `cargo test --benches`) it
//! does nothing.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const INSERT_BATCH: usize = 1000;
const PIPELINE: usize = 8;
const POINT_QUERIES: usize = 1000;
const GET_KEYS: usize = 1000;
const BASELINE_GETS: usize = 20_000;

struct Server {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Waits until every shard accepts and answers (`CLIENT ID` modulo the shard count
/// names the core that accepted the connection).
fn wait_ready(port: u16, shards: usize, child: &mut Child) {
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut seen = vec![false; shards];
    while seen.contains(&false) {
        assert!(
            Instant::now() < deadline,
            "memflux did not start: shards {seen:?}"
        );
        if let Some(status) = child.try_wait().unwrap() {
            panic!("memflux exited at start: {status}");
        }
        let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
            std::thread::sleep(Duration::from_millis(20));
            continue;
        };
        s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        s.write_all(b"CLIENT ID\r\n").unwrap();
        let mut reply = Vec::new();
        let mut b = [0u8; 1];
        while !reply.ends_with(b"\r\n") {
            match s.read(&mut b) {
                Ok(1) => reply.push(b[0]),
                _ => break,
            }
        }
        if let Ok(id) =
            String::from_utf8_lossy(reply.get(1..reply.len().saturating_sub(2)).unwrap_or(&[]))
                .parse::<usize>()
        {
            seen[id % shards] = true;
        }
    }
}

fn start_memflux(shards: usize) -> Server {
    let bin =
        std::env::var("MEMFLUX_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_memflux").to_string());
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut child = Command::new(&bin)
        .current_dir(dir.path())
        .args([
            "--port",
            &port.to_string(),
            "--dir",
            &dir.path().join("shards").display().to_string(),
            "--shards",
            &shards.to_string(),
            "--durability",
            "off",
            "--log_level",
            "warn",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("start {bin}: {e}"));
    wait_ready(port, shards, &mut child);
    Server {
        child,
        port,
        _dir: dir,
    }
}

fn connect(port: u16) -> redis::Connection {
    let c = redis::Client::open(format!("redis://127.0.0.1:{port}/"))
        .unwrap()
        .get_connection()
        .unwrap();
    c.set_read_timeout(Some(Duration::from_secs(600))).unwrap();
    c
}

struct Row {
    id: i64,
    category: i64,
    cents: i64,
    qty: i64,
    name: String,
    active: bool,
}

fn price(cents: i64) -> String {
    format!("{}.{:02}", cents / 100, cents % 100)
}

fn rows(n: usize) -> Vec<Row> {
    let mut rng = fastrand::Rng::with_seed(42);
    (1..=n as i64)
        .map(|id| Row {
            id,
            category: rng.i64(0..100),
            cents: rng.i64(100..=100_000),
            qty: rng.i64(0..=100),
            name: format!("item-{}", rng.u32(0..100_000)),
            active: rng.bool(),
        })
        .collect()
}

/// u: every tenth id of t, with a score.
fn u_rows(n: usize) -> Vec<(i64, i64)> {
    let mut rng = fastrand::Rng::with_seed(7);
    (1..=(n / 10) as i64)
        .map(|i| (i * 10, rng.i64(0..1000)))
        .collect()
}

const CREATE_T: &str = "CREATE TABLE t (id BIGINT PRIMARY KEY, category INTEGER, price NUMERIC(10,2), qty INTEGER, name TEXT, active BOOLEAN)";
const CREATE_U: &str = "CREATE TABLE u (id BIGINT PRIMARY KEY, score INTEGER)";

fn sql(con: &mut redis::Connection, stmt: &str) -> redis::Value {
    match redis::cmd("SQL").arg(stmt).query::<redis::Value>(con) {
        Ok(redis::Value::ServerError(e)) => panic!("{stmt:.200}: {e:?}"),
        Ok(v) => v,
        Err(e) => panic!("{:.200}: {e}", stmt),
    }
}

/// Loads the rows with pipelined multi-row INSERTs; returns the time it took.
fn load_memflux(con: &mut redis::Connection, t: &[Row], u: &[(i64, i64)]) -> Duration {
    let started = Instant::now();
    assert_eq!(sql(con, CREATE_T), redis::Value::Okay);
    assert_eq!(sql(con, CREATE_U), redis::Value::Okay);
    let mut stmts: Vec<(String, usize)> = Vec::new();
    for chunk in t.chunks(INSERT_BATCH) {
        let mut s = String::from("INSERT INTO t (id, category, price, qty, name, active) VALUES ");
        for (i, r) in chunk.iter().enumerate() {
            if i > 0 {
                s.push_str(", ");
            }
            s.push_str(&format!(
                "({}, {}, {}, {}, '{}', {})",
                r.id,
                r.category,
                price(r.cents),
                r.qty,
                r.name,
                r.active
            ));
        }
        stmts.push((s, chunk.len()));
    }
    for chunk in u.chunks(INSERT_BATCH) {
        let values: Vec<String> = chunk
            .iter()
            .map(|(id, score)| format!("({id}, {score})"))
            .collect();
        stmts.push((
            format!("INSERT INTO u (id, score) VALUES {}", values.join(", ")),
            chunk.len(),
        ));
    }
    for group in stmts.chunks(PIPELINE) {
        let mut pipe = redis::pipe();
        for (s, _) in group {
            pipe.cmd("SQL").arg(s);
        }
        let replies: Vec<redis::Value> = pipe.query(con).expect("INSERT pipeline");
        for ((s, n), r) in group.iter().zip(replies) {
            assert_eq!(r, redis::Value::Int(*n as i64), "{s:.200}");
        }
    }
    started.elapsed()
}

fn load_sqlite(db: &rusqlite::Connection, t: &[Row], u: &[(i64, i64)]) -> Duration {
    let started = Instant::now();
    db.execute_batch(CREATE_T).unwrap();
    db.execute_batch(CREATE_U).unwrap();
    db.execute_batch("BEGIN").unwrap();
    {
        let mut ins = db
            .prepare(
                "INSERT INTO t (id, category, price, qty, name, active) VALUES (?, ?, ?, ?, ?, ?)",
            )
            .unwrap();
        for r in t {
            ins.execute(rusqlite::params![
                r.id,
                r.category,
                r.cents as f64 / 100.0,
                r.qty,
                r.name,
                r.active
            ])
            .unwrap();
        }
        let mut ins = db
            .prepare("INSERT INTO u (id, score) VALUES (?, ?)")
            .unwrap();
        for (id, score) in u {
            ins.execute(rusqlite::params![id, score]).unwrap();
        }
    }
    db.execute_batch("COMMIT").unwrap();
    started.elapsed()
}

/// One MemFlux query: (wall time, rows as JSON text).
fn run_memflux(con: &mut redis::Connection, q: &str) -> (Duration, Vec<String>) {
    let started = Instant::now();
    let v = sql(con, q);
    let took = started.elapsed();
    let rows = match v {
        redis::Value::Array(items) => items
            .into_iter()
            .map(|i| match i {
                redis::Value::BulkString(b) => String::from_utf8(b).unwrap(),
                other => panic!("{q}: row {other:?}"),
            })
            .collect(),
        other => panic!("{q}: reply {other:?}"),
    };
    (took, rows)
}

/// One SQLite query: (wall time, rows as text).
fn run_sqlite(db: &rusqlite::Connection, q: &str) -> (Duration, Vec<String>) {
    let started = Instant::now();
    let mut st = db.prepare(q).unwrap();
    let n = st.column_count();
    let mut out = Vec::new();
    let mut rows = st.query([]).unwrap();
    while let Some(r) = rows.next().unwrap() {
        let cells: Vec<String> = (0..n)
            .map(|i| match r.get_ref(i).unwrap() {
                rusqlite::types::ValueRef::Null => "null".into(),
                rusqlite::types::ValueRef::Integer(v) => v.to_string(),
                rusqlite::types::ValueRef::Real(v) => v.to_string(),
                rusqlite::types::ValueRef::Text(t) => String::from_utf8_lossy(t).into_owned(),
                rusqlite::types::ValueRef::Blob(_) => "blob".into(),
            })
            .collect();
        out.push(cells.join(","));
    }
    (started.elapsed(), out)
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i]
}

/// The first value of a MemFlux row (`{"count":500123}` → `500123`).
fn first_value(row: &str) -> String {
    let v: serde_json::Value = serde_json::from_str(row).unwrap();
    v.as_object()
        .and_then(|o| o.values().next())
        .map(|v| v.to_string())
        .unwrap_or_default()
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn command_output(cmd: &str, args: &[&str]) -> String {
    Command::new(cmd)
        .args(args)
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default()
}

struct Latencies {
    sorted: Vec<Duration>,
}

impl Latencies {
    fn new(mut v: Vec<Duration>) -> Latencies {
        v.sort();
        Latencies { sorted: v }
    }
    fn row(&self, what: &str) -> String {
        format!(
            "| {what} | {} | {:.3} | {:.3} | {:.3} |",
            self.sorted.len(),
            ms(percentile(&self.sorted, 0.5)),
            ms(percentile(&self.sorted, 0.99)),
            ms(*self.sorted.last().unwrap())
        )
    }
}

fn get_once(con: &mut redis::Connection, i: usize) -> Duration {
    let started = Instant::now();
    let v: Option<String> = redis::cmd("GET")
        .arg(format!("bench:get:{}", i % GET_KEYS))
        .query(con)
        .unwrap();
    let took = started.elapsed();
    assert!(v.is_some());
    took
}

/// (name, statement): the same text for both.
const QUERIES: &[(&str, &str)] = &[
    ("filtered COUNT", "SELECT COUNT(*) FROM t WHERE qty > 50"),
    (
        "GROUP BY 100 groups, SUM/AVG",
        "SELECT category, COUNT(*), SUM(price), AVG(qty) FROM t GROUP BY category",
    ),
    (
        "ORDER BY price DESC LIMIT 10",
        "SELECT id, name, price FROM t ORDER BY price DESC, id LIMIT 10",
    ),
    (
        "JOIN 100k to 1M on the key, COUNT/SUM",
        "SELECT COUNT(*), SUM(u.score) FROM u JOIN t ON u.id = t.id",
    ),
];

fn main() {
    if !std::env::args().any(|a| a == "--bench") {
        println!("benches/sql.rs: run it with `cargo bench --bench sql`");
        return;
    }
    let n = env_usize("MEMFLUX_BENCH_ROWS", 1_000_000);
    let runs = env_usize("MEMFLUX_BENCH_RUNS", 5).max(1);
    let t = rows(n);
    let u = u_rows(n);

    // Other work on the machine moves these numbers: the header records the load.
    let load = std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default();
    let server = start_memflux(2);
    let mut con = connect(server.port);
    eprintln!("loading {} + {} rows into memflux...", t.len(), u.len());
    let load_m = load_memflux(&mut con, &t, &u);
    eprintln!("  {:.1} s", load_m.as_secs_f64());
    eprintln!("loading them into SQLite...");
    let db = rusqlite::Connection::open_in_memory().unwrap();
    let load_s = load_sqlite(&db, &t, &u);
    eprintln!("  {:.1} s", load_s.as_secs_f64());

    let mut table = vec![
        "| query | memflux ms | sqlite ms | ratio (memflux/sqlite) | same answer |".to_string(),
        "|---|---:|---:|---:|---|".to_string(),
        format!(
            "| load {} + {} rows | {:.0} | {:.0} | {:.2} | |",
            t.len(),
            u.len(),
            ms(load_m),
            ms(load_s),
            load_m.as_secs_f64() / load_s.as_secs_f64()
        ),
    ];
    for (name, q) in QUERIES {
        eprintln!("{name}: {q}");
        let (_, m_rows) = run_memflux(&mut con, q);
        let (_, s_rows) = run_sqlite(&db, q);
        let mut m_times = Vec::new();
        let mut s_times = Vec::new();
        for _ in 0..runs {
            m_times.push(run_memflux(&mut con, q).0);
            s_times.push(run_sqlite(&db, q).0);
        }
        let (m, s) = (median(m_times), median(s_times));
        // A light check that both computed the same thing: row counts, and the first
        // value where there is one row.
        let same = m_rows.len() == s_rows.len()
            && (m_rows.len() != 1
                || s_rows[0].split(',').next() == Some(first_value(&m_rows[0]).as_str()));
        table.push(format!(
            "| {name} | {:.1} | {:.1} | {:.2} | {} |",
            ms(m),
            ms(s),
            m.as_secs_f64() / s.as_secs_f64(),
            if same { "yes" } else { "NO" }
        ));
    }
    // Point queries by primary key.
    let mut rng = fastrand::Rng::with_seed(99);
    let ids: Vec<usize> = (0..POINT_QUERIES).map(|_| rng.usize(1..=n)).collect();
    let mut m_times = Vec::new();
    let mut s_times = Vec::new();
    let mut same = true;
    for id in &ids {
        let q = format!("SELECT * FROM t WHERE id = {id}");
        let (mt, mr) = run_memflux(&mut con, &q);
        let (st, sr) = run_sqlite(&db, &q);
        same &= mr.len() == 1 && sr.len() == 1;
        m_times.push(mt);
        s_times.push(st);
    }
    let (m, s) = (median(m_times), median(s_times));
    table.push(format!(
        "| primary-key point query (median of {POINT_QUERIES}) | {:.3} | {:.3} | {:.2} | {} |",
        ms(m),
        ms(s),
        m.as_secs_f64() / s.as_secs_f64(),
        if same { "yes" } else { "NO" }
    ));

    // GET latency on another connection, idle and while the aggregate runs.
    let mut pipe = redis::pipe();
    for i in 0..GET_KEYS {
        pipe.cmd("SET")
            .arg(format!("bench:get:{i}"))
            .arg("x")
            .ignore();
    }
    let () = pipe.query(&mut con).unwrap();
    let mut gets = connect(server.port);
    for i in 0..1000 {
        get_once(&mut gets, i);
    }
    let idle = Latencies::new((0..BASELINE_GETS).map(|i| get_once(&mut gets, i)).collect());
    let done = Arc::new(AtomicBool::new(false));
    let agg_port = server.port;
    let agg_done = done.clone();
    let aggregate = std::thread::spawn(move || {
        let mut c = connect(agg_port);
        let q = QUERIES[1].1;
        let mut times = Vec::new();
        let started = Instant::now();
        while times.len() < runs || started.elapsed() < Duration::from_secs(3) {
            times.push(run_memflux(&mut c, q).0);
        }
        agg_done.store(true, Ordering::SeqCst);
        times
    });
    let mut busy = Vec::new();
    let mut i = 0;
    while !done.load(Ordering::SeqCst) {
        busy.push(get_once(&mut gets, i));
        i += 1;
    }
    let agg_times = aggregate.join().unwrap();
    let agg_runs = agg_times.len();
    let agg_median = median(agg_times);
    let busy = Latencies::new(busy);

    let header = format!(
        "Generated by `cargo bench --bench sql` on {}: memflux {} (--shards 2, --durability off), SQLite {} in memory (rusqlite, bundled), {} CPUs ({}); client on the same machine; load average before the run: {load}. Median of {runs} runs after one warm-up run; MemFlux times are wall time from sending the command to reading the whole reply.",
        command_output("date", &["-u", "+%Y-%m-%d %H:%M UTC"]),
        command_output("git", &["rev-parse", "--short", "HEAD"]),
        rusqlite::version(),
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        command_output("sh", &["-c", "grep -m1 'model name' /proc/cpuinfo | cut -d: -f2"]),
    );
    let mut out = format!(
        "# SQL: MemFlux vs SQLite\n\n{header}\n\n`t`: {} rows (id BIGINT PRIMARY KEY, category INTEGER 0..99, price NUMERIC(10,2), qty INTEGER 0..100, name TEXT, active BOOLEAN); `u`: {} rows (id BIGINT PRIMARY KEY, score INTEGER), every tenth id of `t`. MemFlux is loaded with INSERTs of {INSERT_BATCH} rows pipelined {PIPELINE} deep, SQLite with a prepared INSERT per row in one transaction.\n\n",
        t.len(),
        u.len()
    );
    for l in &table {
        out.push_str(l);
        out.push('\n');
    }
    out.push_str(&format!(
        "\nGET latency on another connection (ms), idle and while `{}` runs in a loop on a third connection ({agg_runs} runs, median {:.0} ms each):\n\n",
        QUERIES[1].1,
        ms(agg_median)
    ));
    out.push_str("| GETs | count | p50 | p99 | max |\n|---|---:|---:|---:|---:|\n");
    out.push_str(&idle.row("idle"));
    out.push('\n');
    out.push_str(&busy.row("during the 1M-row aggregate"));
    out.push('\n');
    println!("{out}");
    if std::env::var("MEMFLUX_BENCH_WRITE").is_ok_and(|v| !v.is_empty() && v != "0") {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/results-sql.md");
        std::fs::write(path, &out).unwrap();
        eprintln!("wrote {path}");
    }
}
