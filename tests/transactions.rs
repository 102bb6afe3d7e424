//! MULTI, EXEC, DISCARD, WATCH and UNWATCH against the real server: queuing and its
//! errors, EXEC on one shard and across shards, WATCH aborts (by writes on any shard, by
//! expiry, by FLUSHALL), and under concurrency: transfers between counters on different
//! shards keep their total, WATCH-based increments lose no update.

mod common;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{keys_on_shard, Server};

fn key_on(shard: usize, prefix: &str) -> String {
    keys_on_shard(shard, 2, 1, prefix).remove(0)
}

#[test]
fn queuing_and_errors() {
    let server = Server::start();
    let mut c = server.raw();
    assert_eq!(c.call(&["EXEC"]), "-ERR EXEC without MULTI\r\n");
    assert_eq!(c.call(&["DISCARD"]), "-ERR DISCARD without MULTI\r\n");
    assert_eq!(c.call(&["MULTI"]), "+OK\r\n");
    assert_eq!(c.call(&["MULTI"]), "-ERR MULTI calls can not be nested\r\n");
    assert_eq!(
        c.call(&["WATCH", "a"]),
        "-ERR WATCH inside MULTI is not allowed\r\n"
    );
    assert_eq!(c.call(&["SET", "a", "1"]), "+QUEUED\r\n");
    assert_eq!(c.call(&["INCR", "a"]), "+QUEUED\r\n");
    assert_eq!(c.call(&["LPUSH", "a", "x"]), "+QUEUED\r\n");
    assert_eq!(c.call(&["GET", "a"]), "+QUEUED\r\n");
    // Errors at run time are replies in the array; the rest still runs.
    assert_eq!(
        c.call(&["EXEC"]),
        "*4\r\n+OK\r\n:2\r\n-WRONGTYPE Operation against a key holding the wrong kind of value\r\n$1\r\n2\r\n"
    );
    // A command refused while queuing aborts the transaction.
    assert_eq!(c.call(&["MULTI"]), "+OK\r\n");
    assert!(c.call(&["NOSUCHCMD"]).starts_with("-ERR unknown command"));
    assert_eq!(c.call(&["SET", "a", "2"]), "+QUEUED\r\n");
    assert_eq!(
        c.call(&["EXEC"]),
        "-EXECABORT Transaction discarded because of previous errors.\r\n"
    );
    assert_eq!(c.call(&["MULTI"]), "+OK\r\n");
    assert_eq!(c.call(&["SET", "a"]), common::arity_err("set"));
    assert!(c.call(&["EXEC"]).starts_with("-EXECABORT"));
    assert_eq!(c.call(&["GET", "a"]), "$1\r\n2\r\n");
    // DISCARD drops the queue.
    assert_eq!(c.call(&["MULTI"]), "+OK\r\n");
    assert_eq!(c.call(&["SET", "a", "3"]), "+QUEUED\r\n");
    assert_eq!(c.call(&["DISCARD"]), "+OK\r\n");
    assert_eq!(c.call(&["GET", "a"]), "$1\r\n2\r\n");
    // An empty transaction, and connection commands inside one.
    assert_eq!(c.call(&["MULTI"]), "+OK\r\n");
    assert_eq!(c.call(&["EXEC"]), "*0\r\n");
    assert_eq!(c.call(&["MULTI"]), "+OK\r\n");
    assert_eq!(c.call(&["SELECT", "1"]), "+QUEUED\r\n");
    assert_eq!(c.call(&["SET", "a", "db1"]), "+QUEUED\r\n");
    assert_eq!(c.call(&["PING"]), "+QUEUED\r\n");
    assert_eq!(c.call(&["EXEC"]), "*3\r\n+OK\r\n+OK\r\n+PONG\r\n");
    assert_eq!(c.call(&["GET", "a"]), "$3\r\ndb1\r\n");
    assert_eq!(c.call(&["SELECT", "0"]), "+OK\r\n");
    assert_eq!(c.call(&["GET", "a"]), "$1\r\n2\r\n");
    // RESET leaves MULTI.
    assert_eq!(c.call(&["MULTI"]), "+OK\r\n");
    assert_eq!(c.call(&["RESET"]), "+RESET\r\n");
    assert_eq!(c.call(&["EXEC"]), "-ERR EXEC without MULTI\r\n");
    assert!(c
        .call(&["COMMAND", "INFO", "watch"])
        .contains("\r\n:-2\r\n"));
}

#[test]
fn exec_across_shards() {
    let server = Server::start_with(2, &[]);
    let (a, b) = (key_on(0, "xa"), key_on(1, "xb"));
    let mut c = server.raw();
    assert_eq!(c.call(&["MULTI"]), "+OK\r\n");
    assert_eq!(c.call(&["SET", &a, "1"]), "+QUEUED\r\n");
    assert_eq!(c.call(&["SET", &b, "2"]), "+QUEUED\r\n");
    assert_eq!(c.call(&["MGET", &a, &b]), "+QUEUED\r\n");
    assert_eq!(c.call(&["INCR", &b]), "+QUEUED\r\n");
    assert_eq!(c.call(&["RENAME", &a, &format!("{b}x")]), "+QUEUED\r\n");
    assert_eq!(
        c.call(&["EXEC"]),
        "*5\r\n+OK\r\n+OK\r\n*2\r\n$1\r\n1\r\n$1\r\n2\r\n:3\r\n+OK\r\n"
    );
    assert_eq!(c.call(&["EXISTS", &a]), ":0\r\n");
    assert_eq!(c.call(&["GET", &format!("{b}x")]), "$1\r\n1\r\n");
}

#[test]
fn watch_aborts_on_changes_from_any_shard_and_expiry() {
    let server = Server::start_with(2, &[]);
    let mut c = server.raw();
    let mut other = server.raw();
    for shard in 0..2 {
        let k = key_on(shard, "w");
        let local = key_on(1 - shard, "l");
        // Untouched: EXEC runs.
        assert_eq!(c.call(&["WATCH", &k]), "+OK\r\n");
        assert_eq!(c.call(&["MULTI"]), "+OK\r\n");
        assert_eq!(c.call(&["SET", &local, "1"]), "+QUEUED\r\n");
        assert_eq!(c.call(&["EXEC"]), "*1\r\n+OK\r\n");
        // Changed by another connection: EXEC aborts, nothing runs.
        assert_eq!(c.call(&["WATCH", &k]), "+OK\r\n");
        assert_eq!(other.call(&["SET", &k, "x"]), "+OK\r\n");
        assert_eq!(c.call(&["MULTI"]), "+OK\r\n");
        assert_eq!(c.call(&["SET", &local, "2"]), "+QUEUED\r\n");
        assert_eq!(c.call(&["EXEC"]), "*-1\r\n");
        assert_eq!(c.call(&["GET", &local]), "$1\r\n1\r\n");
        // EXEC unwatched: the next transaction runs.
        assert_eq!(c.call(&["MULTI"]), "+OK\r\n");
        assert_eq!(c.call(&["SET", &local, "3"]), "+QUEUED\r\n");
        assert_eq!(c.call(&["EXEC"]), "*1\r\n+OK\r\n");
        // UNWATCH forgets.
        assert_eq!(c.call(&["WATCH", &k]), "+OK\r\n");
        assert_eq!(c.call(&["UNWATCH"]), "+OK\r\n");
        assert_eq!(other.call(&["SET", &k, "y"]), "+OK\r\n");
        assert_eq!(c.call(&["MULTI"]), "+OK\r\n");
        assert_eq!(c.call(&["EXEC"]), "*0\r\n");
        // Expiry counts as a change.
        assert_eq!(other.call(&["SET", &k, "v", "PX", "50"]), "+OK\r\n");
        assert_eq!(c.call(&["WATCH", &k]), "+OK\r\n");
        std::thread::sleep(Duration::from_millis(120));
        assert_eq!(c.call(&["MULTI"]), "+OK\r\n");
        assert_eq!(c.call(&["GET", &k]), "+QUEUED\r\n");
        assert_eq!(c.call(&["EXEC"]), "*-1\r\n");
        // A deletion, a change of a missing key, FLUSHALL.
        assert_eq!(other.call(&["SET", &k, "v"]), "+OK\r\n");
        assert_eq!(c.call(&["WATCH", &k, &local]), "+OK\r\n");
        assert_eq!(other.call(&["DEL", &k]), ":1\r\n");
        assert_eq!(c.call(&["MULTI"]), "+OK\r\n");
        assert_eq!(c.call(&["EXEC"]), "*-1\r\n");
        assert_eq!(c.call(&["WATCH", "nothing-here"]), "+OK\r\n");
        assert_eq!(other.call(&["LPUSH", "nothing-here", "a"]), ":1\r\n");
        assert_eq!(c.call(&["MULTI"]), "+OK\r\n");
        assert_eq!(c.call(&["EXEC"]), "*-1\r\n");
        assert_eq!(c.call(&["WATCH", &local]), "+OK\r\n");
        assert_eq!(other.call(&["FLUSHALL"]), "+OK\r\n");
        assert_eq!(c.call(&["MULTI"]), "+OK\r\n");
        assert_eq!(c.call(&["EXEC"]), "*-1\r\n");
        // A write by the watcher itself counts too.
        assert_eq!(c.call(&["WATCH", &k]), "+OK\r\n");
        assert_eq!(c.call(&["SET", &k, "mine"]), "+OK\r\n");
        assert_eq!(c.call(&["MULTI"]), "+OK\r\n");
        assert_eq!(c.call(&["EXEC"]), "*-1\r\n");
        // DISCARD unwatches.
        assert_eq!(c.call(&["WATCH", &k]), "+OK\r\n");
        assert_eq!(c.call(&["MULTI"]), "+OK\r\n");
        assert_eq!(c.call(&["DISCARD"]), "+OK\r\n");
        assert_eq!(other.call(&["SET", &k, "z"]), "+OK\r\n");
        assert_eq!(c.call(&["MULTI"]), "+OK\r\n");
        assert_eq!(c.call(&["EXEC"]), "*0\r\n");
    }
}

/// Runs `f` on `n` threads, each with its own connection, until `stop` is set.
fn spawn_clients<F>(
    server: &Server,
    n: usize,
    stop: &Arc<AtomicBool>,
    f: F,
) -> Vec<std::thread::JoinHandle<u64>>
where
    F: Fn(&mut redis::Connection, usize, &AtomicBool) -> u64 + Send + Sync + Clone + 'static,
{
    (0..n)
        .map(|i| {
            let mut con = server.con();
            let stop = stop.clone();
            let f = f.clone();
            std::thread::spawn(move || f(&mut con, i, &stop))
        })
        .collect()
}

#[test]
fn transfers_between_shards_keep_the_total() {
    let server = Server::start_with(2, &[]);
    let a = key_on(0, "acct-a");
    let b = key_on(1, "acct-b");
    let mut con = server.con();
    redis::cmd("MSET")
        .arg(&a)
        .arg(1000)
        .arg(&b)
        .arg(1000)
        .query::<()>(&mut con)
        .unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let mixed = Arc::new(AtomicU64::new(0));
    let (ka, kb) = (a.clone(), b.clone());
    let movers = spawn_clients(&server, 4, &stop, move |con, i, stop| {
        let mut done = 0;
        while !stop.load(Ordering::Relaxed) {
            let amount = (done % 7 + 1) as i64 * if i % 2 == 0 { 1 } else { -1 };
            let replies: Vec<i64> = redis::pipe()
                .atomic()
                .cmd("DECRBY")
                .arg(&ka)
                .arg(amount)
                .cmd("INCRBY")
                .arg(&kb)
                .arg(amount)
                .query(con)
                .unwrap();
            assert_eq!(replies.len(), 2);
            done += 1;
        }
        done
    });
    let (ka, kb, m) = (a.clone(), b.clone(), mixed.clone());
    let readers = spawn_clients(&server, 3, &stop, move |con, _, stop| {
        let mut reads = 0;
        while !stop.load(Ordering::Relaxed) {
            let (x, y): (i64, i64) = redis::cmd("MGET").arg(&ka).arg(&kb).query(con).unwrap();
            if x + y != 2000 {
                m.fetch_add(1, Ordering::Relaxed);
            }
            reads += 1;
        }
        reads
    });
    std::thread::sleep(Duration::from_secs(5));
    stop.store(true, Ordering::Relaxed);
    let transfers: u64 = movers.into_iter().map(|h| h.join().unwrap()).sum();
    let reads: u64 = readers.into_iter().map(|h| h.join().unwrap()).sum();
    let (x, y): (i64, i64) = redis::cmd("MGET").arg(&a).arg(&b).query(&mut con).unwrap();
    assert_eq!(x + y, 2000);
    assert!(
        transfers > 100 && reads > 100,
        "{transfers} transfers, {reads} reads"
    );
    assert_eq!(
        mixed.load(Ordering::Relaxed),
        0,
        "reads that saw half a transfer"
    );
}

#[test]
fn watched_increments_lose_no_update() {
    let server = Server::start_with(2, &[]);
    // One counter, and a pair of counters on different shards moved together.
    let one = key_on(0, "ctr");
    let (p, q) = (key_on(0, "pair-p"), key_on(1, "pair-q"));
    const CLIENTS: usize = 6;
    const EACH: u64 = 150;
    let stop = Arc::new(AtomicBool::new(false));
    let (one2, p2, q2) = (one.clone(), p.clone(), q.clone());
    let workers = spawn_clients(&server, CLIENTS, &stop, move |con, i, _| {
        let mut retries = 0;
        for n in 0..EACH {
            loop {
                if (n as usize + i).is_multiple_of(2) {
                    redis::cmd("WATCH").arg(&one2).query::<()>(con).unwrap();
                    let v: Option<u64> = redis::cmd("GET").arg(&one2).query(con).unwrap();
                    let r: Option<Vec<String>> = redis::pipe()
                        .atomic()
                        .cmd("SET")
                        .arg(&one2)
                        .arg(v.unwrap_or(0) + 1)
                        .query(con)
                        .unwrap();
                    if r.is_some() {
                        break;
                    }
                } else {
                    redis::cmd("WATCH")
                        .arg(&p2)
                        .arg(&q2)
                        .query::<()>(con)
                        .unwrap();
                    let (x, y): (Option<u64>, Option<u64>) =
                        redis::cmd("MGET").arg(&p2).arg(&q2).query(con).unwrap();
                    let r: Option<Vec<String>> = redis::pipe()
                        .atomic()
                        .cmd("SET")
                        .arg(&p2)
                        .arg(x.unwrap_or(0) + 1)
                        .cmd("SET")
                        .arg(&q2)
                        .arg(y.unwrap_or(0) + 1)
                        .query(con)
                        .unwrap();
                    if r.is_some() {
                        break;
                    }
                }
                retries += 1;
            }
        }
        retries
    });
    let started = Instant::now();
    let retries: u64 = workers.into_iter().map(|h| h.join().unwrap()).sum();
    let mut con = server.con();
    let total = CLIENTS as u64 * EACH;
    let v1: u64 = redis::cmd("GET").arg(&one).query(&mut con).unwrap();
    let (x, y): (u64, u64) = redis::cmd("MGET").arg(&p).arg(&q).query(&mut con).unwrap();
    assert_eq!(
        v1 + x,
        total,
        "after {retries} retries in {:?}",
        started.elapsed()
    );
    assert_eq!(x, y);
}
