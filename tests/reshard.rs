//! Starting on data written with another shard count redistributes it: nothing lost,
//! nothing duplicated, every key on the shard that owns it.

mod common;

use common::Server;
use redis::Commands;

const KEYS: usize = 3000;

fn fill(s: &Server) {
    let mut con = s.con();
    let mut pipe = redis::pipe();
    for i in 0..KEYS {
        pipe.set(format!("key:{i}"), format!("value:{i}")).ignore();
        if i % 10 == 0 {
            pipe.expire(format!("key:{i}"), 10_000).ignore();
        }
    }
    pipe.query::<()>(&mut con).unwrap();
    redis::cmd("SELECT").arg(3).query::<()>(&mut con).unwrap();
    let _: () = con.set("in-db-3", "x").unwrap();
}

/// `other_keys`: keys written outside db 0 and db 3's `in-db-3`.
fn check(s: &Server, other_keys: usize) {
    let mut con = s.con();
    let n: usize = redis::cmd("DBSIZE").query(&mut con).unwrap();
    assert_eq!(n, KEYS, "keys in db 0 after redistribution");
    let keys: Vec<String> = (0..KEYS).map(|i| format!("key:{i}")).collect();
    let values: Vec<Option<String>> = con.mget(&keys).unwrap();
    for (i, v) in values.iter().enumerate() {
        assert_eq!(v.as_deref(), Some(format!("value:{i}").as_str()), "key:{i}");
    }
    let ttl: i64 = con.ttl("key:10").unwrap();
    assert!(ttl > 9_000, "TTL kept: {ttl}");
    let ttl: i64 = con.ttl("key:11").unwrap();
    assert_eq!(ttl, -1);
    redis::cmd("SELECT").arg(3).query::<()>(&mut con).unwrap();
    let v: Option<String> = con.get("in-db-3").unwrap();
    assert_eq!(v.as_deref(), Some("x"));
    // Every shard got its share (INFO's per-shard section).
    if s.shards > 1 {
        let info: String = redis::cmd("INFO").arg("shards").query(&mut con).unwrap();
        let per_shard: Vec<usize> = info
            .lines()
            .filter_map(|l| l.split("keys=").nth(1))
            .map(|rest| rest.split(',').next().unwrap().parse().unwrap())
            .collect();
        assert_eq!(per_shard.len(), s.shards, "{info}");
        assert!(
            per_shard.iter().all(|&n| n > KEYS / (2 * s.shards)),
            "{info}"
        );
        assert_eq!(
            per_shard.iter().sum::<usize>(),
            KEYS + 1 + other_keys,
            "{info}"
        );
    }
}

/// Stops `s` (cleanly, or with SIGKILL so only the WAL holds the data) and starts a
/// server with `shards` shards on the same data.
fn restart_with(mut s: Server, shards: usize, kill: bool) -> Server {
    if kill {
        s.kill();
    } else {
        assert!(s.terminate().success());
    }
    let dir = std::mem::replace(&mut s.dir, tempfile::tempdir().unwrap());
    Server::start_in(dir, shards, &[])
}

#[test]
fn snapshots_move_to_more_and_to_fewer_shards() {
    let s = Server::start_with(2, &[]);
    fill(&s);
    let s = restart_with(s, 3, false);
    check(&s, 0);
    let s = restart_with(s, 1, false);
    check(&s, 0);
    assert!(
        !s.data_dir().join("1").exists(),
        "old shard folders removed"
    );
}

#[test]
fn a_wal_without_snapshot_moves_too() {
    let s = Server::start_with(2, &[]);
    fill(&s);
    // SIGKILL: no shutdown snapshot, the data is only in the WAL segments.
    let s = restart_with(s, 3, true);
    check(&s, 0);
    // Writes after the move land in the new layout and survive another restart.
    let mut con = s.con();
    redis::cmd("SELECT").arg(5).query::<()>(&mut con).unwrap();
    let _: () = con.set("after", "move").unwrap();
    let s = restart_with(s, 3, true);
    let mut con = s.con();
    redis::cmd("SELECT").arg(5).query::<()>(&mut con).unwrap();
    let v: Option<String> = con.get("after").unwrap();
    assert_eq!(v.as_deref(), Some("move"));
    check(&s, 1);
}
