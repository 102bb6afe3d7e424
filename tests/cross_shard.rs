//! Multi-key commands whose keys live on different shards: they behave as on one node
//! (SMOVE, LMOVE, the *STORE commands, RENAME, COPY, MSETNX...), and they are atomic and
//! isolated: many writers doing MSET over keys on both shards while many readers do MGET
//! of all of them never produce a mixed read.

mod common;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::{keys_on_shard, show, Server};

fn key_on(shard: usize, prefix: &str) -> String {
    keys_on_shard(shard, 2, 1, prefix).remove(0)
}

#[test]
fn multi_key_commands_work_across_shards() {
    let server = Server::start_with(2, &[]);
    let mut c = server.raw();
    let (a, b, d) = (key_on(0, "a"), key_on(1, "b"), key_on(1, "dst"));
    // Sets.
    assert_eq!(c.call(&["SADD", &a, "1", "2", "3"]), ":3\r\n");
    assert_eq!(c.call(&["SADD", &b, "3", "4"]), ":2\r\n");
    assert_eq!(c.call(&["SMOVE", &a, &b, "1"]), ":1\r\n");
    assert_eq!(c.call(&["SCARD", &a]), ":2\r\n");
    assert_eq!(c.call(&["SISMEMBER", &b, "1"]), ":1\r\n");
    assert_eq!(c.call(&["SINTERCARD", "2", &a, &b]), ":1\r\n");
    assert_eq!(c.call(&["SUNIONSTORE", &d, &a, &b]), ":4\r\n");
    assert_eq!(c.call(&["SDIFFSTORE", &d, &b, &a]), ":2\r\n");
    assert_eq!(c.call(&["SMEMBERS", &d]).matches("\r\n").count(), 5);
    // A store whose result is empty deletes the destination.
    assert_eq!(c.call(&["SINTERSTORE", &d, &a, "nosuchkey"]), ":0\r\n");
    assert_eq!(c.call(&["EXISTS", &d]), ":0\r\n");
    // Lists.
    let (l1, l2) = (key_on(0, "l1"), key_on(1, "l2"));
    assert_eq!(c.call(&["RPUSH", &l1, "x", "y"]), ":2\r\n");
    assert_eq!(c.call(&["LMOVE", &l1, &l2, "LEFT", "RIGHT"]), "$1\r\nx\r\n");
    assert_eq!(c.call(&["RPOPLPUSH", &l1, &l2]), "$1\r\ny\r\n");
    assert_eq!(c.call(&["EXISTS", &l1]), ":0\r\n");
    assert_eq!(
        c.call(&["LRANGE", &l2, "0", "-1"]),
        "*2\r\n$1\r\ny\r\n$1\r\nx\r\n"
    );
    assert!(c
        .call(&["LMOVE", &a, &l2, "LEFT", "LEFT"])
        .starts_with("-WRONGTYPE"));
    // Keys: RENAME keeps the TTL, COPY, MSETNX.
    let (s1, s2) = (key_on(0, "s1"), key_on(1, "s2"));
    assert_eq!(c.call(&["SET", &s1, "v", "EX", "1000"]), "+OK\r\n");
    assert_eq!(c.call(&["RENAME", &s1, &s2]), "+OK\r\n");
    assert_eq!(c.call(&["EXISTS", &s1]), ":0\r\n");
    let ttl: i64 = c.call(&["TTL", &s2])[1..].trim_end().parse().unwrap();
    assert!((990..=1000).contains(&ttl), "TTL {ttl}");
    assert_eq!(c.call(&["COPY", &s2, &s1]), ":1\r\n");
    assert_eq!(c.call(&["COPY", &s2, &s1]), ":0\r\n");
    assert_eq!(c.call(&["GET", &s1]), "$1\r\nv\r\n");
    assert_eq!(c.call(&["RENAMENX", &s1, &s2]), ":0\r\n");
    assert_eq!(
        c.call(&["MSETNX", &s1, "n", &key_on(1, "fresh"), "n"]),
        ":0\r\n"
    );
    assert_eq!(c.call(&["EXISTS", &key_on(1, "fresh")]), ":0\r\n");
    assert_eq!(
        c.call(&[
            "MSETNX",
            &key_on(0, "fresh0"),
            "n",
            &key_on(1, "fresh"),
            "n"
        ]),
        ":1\r\n"
    );
    assert_eq!(c.call(&["DEL", &s1, &s2, &a, &b]), ":4\r\n");
}

/// A pipeline mixing split commands with others gets every reply in order, and each
/// command sees the ones before it.
#[test]
fn pipelined_split_commands_reply_in_order() {
    let server = Server::start_with(2, &[]);
    let mut con = server.con();
    let (a, b) = (key_on(0, "p-a"), key_on(1, "p-b"));
    let (c, d) = (key_on(0, "p-c"), key_on(1, "p-d"));
    let mut pipe = redis::pipe();
    // Errors come back in their place instead of failing the whole pipeline.
    pipe.ignore_errors();
    pipe.cmd("MSET")
        .arg(&a)
        .arg("1")
        .arg(&b)
        .arg("2")
        .cmd("MGET")
        .arg(&a)
        .arg(&b)
        .arg(&c)
        .cmd("GET")
        .arg(&b)
        .cmd("MSET")
        .arg(&c)
        .arg("3")
        .arg(&d)
        .arg("4")
        .cmd("EXISTS")
        .arg(&a)
        .arg(&b)
        .arg(&c)
        .arg(&d)
        .arg("p-none")
        .cmd("DEL")
        .arg(&a)
        .arg(&d)
        .cmd("MGET")
        .arg(&a)
        .arg(&b)
        .arg(&c)
        .arg(&d)
        .cmd("SET")
        .arg(&a)
        .arg("5")
        .cmd("MGET")
        .arg(&d)
        .arg(&a)
        .cmd("MSET")
        .arg(&a) // wrong arity: an error in its place
        .cmd("PING")
        .cmd("UNLINK")
        .arg(&b)
        .arg(&c)
        .cmd("DBSIZE");
    let got: Vec<redis::Value> = pipe.query(&mut con).unwrap_or_else(|e| panic!("{e}"));
    let got: Vec<String> = got.iter().map(show).collect();
    let want = [
        "OK",
        "[$1, $2, nil]",
        "$2",
        "OK",
        ":4",
        ":2",
        "[nil, $2, $3, nil]",
        "OK",
        "[nil, $5]",
        "-wrong number of arguments for 'mset' command",
        "PONG",
        ":2",
        ":1",
    ];
    assert_eq!(got, want);
}

#[test]
fn mset_mget_across_shards_never_mix() {
    never_mix(1, Duration::from_secs(10));
}

/// Pipelined, consecutive MSETs (and MGETs) of one connection run as one transaction:
/// each must still be atomic and isolated.
#[test]
fn pipelined_mset_mget_across_shards_never_mix() {
    never_mix(8, Duration::from_secs(5));
}

/// Writers MSET one value to keys on both shards, readers MGET them all, `depth`
/// commands per pipeline, for `run`: no read may see two values.
fn never_mix(depth: u64, run: Duration) {
    let server = Server::start_with(2, &[]);
    let mut keys = keys_on_shard(0, 2, 5, "atom-a");
    keys.extend(keys_on_shard(1, 2, 5, "atom-b"));
    let stop = Arc::new(AtomicBool::new(false));
    let mixed = Arc::new(AtomicU64::new(0));
    let mut handles = Vec::new();
    for w in 0..4u64 {
        let mut con = server.con();
        let (keys, stop) = (keys.clone(), stop.clone());
        handles.push(std::thread::spawn(move || {
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let mut pipe = redis::pipe();
                for _ in 0..depth {
                    let value = format!("w{w}-{n}");
                    let cmd = pipe.cmd("MSET");
                    for k in &keys {
                        cmd.arg(k).arg(&value);
                    }
                    n += 1;
                }
                pipe.query::<()>(&mut con).unwrap();
            }
            n
        }));
    }
    let mut readers = Vec::new();
    for _ in 0..4 {
        let mut con = server.con();
        let (keys, stop, mixed) = (keys.clone(), stop.clone(), mixed.clone());
        readers.push(std::thread::spawn(move || {
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let mut pipe = redis::pipe();
                for _ in 0..depth {
                    pipe.cmd("MGET").arg(&keys);
                }
                let reads: Vec<Vec<Option<String>>> = pipe.query(&mut con).unwrap();
                for values in reads {
                    if values.iter().any(|v| v != &values[0]) {
                        mixed.fetch_add(1, Ordering::Relaxed);
                    }
                    n += 1;
                }
            }
            n
        }));
    }
    std::thread::sleep(run);
    stop.store(true, Ordering::Relaxed);
    let writes: u64 = handles.into_iter().map(|h| h.join().unwrap()).sum();
    let reads: u64 = readers.into_iter().map(|h| h.join().unwrap()).sum();
    assert!(
        writes > 100 && reads > 100,
        "{writes} writes, {reads} reads"
    );
    assert_eq!(
        mixed.load(Ordering::Relaxed),
        0,
        "mixed reads out of {reads}"
    );
}
