//! Sharding: keys are spread over the shards by Redis Cluster's slot function, hash tags
//! keep keys together, multi-key and keyspace-wide commands see every shard, pipelines
//! that mix local and remote keys keep their order, and all of it holds for 1, 2 and 3
//! shards.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{keys_on_shard, RawCon, Server};
use memflux::shard::routing::{key_slot, shard_of};

/// Encodes one command as a RESP multibulk request.
fn resp(args: &[&[u8]]) -> Vec<u8> {
    common::encode(args)
}

fn bulk(v: &str) -> String {
    format!("${}\r\n{v}\r\n", v.len())
}

/// Reads one whole reply of any type and returns its bytes.
fn read_reply(con: &mut RawCon) -> String {
    let line = con.line();
    assert!(
        line.ends_with("\r\n"),
        "connection closed in a reply: {line:?}"
    );
    let count = || line[1..line.len() - 2].parse::<i64>().unwrap();
    let mut out = line.clone();
    match line.as_bytes()[0] {
        b'$' | b'=' | b'!' if count() >= 0 => {
            out.push_str(&String::from_utf8_lossy(&con.read_n(count() as usize + 2)));
        }
        b'*' | b'~' | b'>' => (0..count().max(0)).for_each(|_| out.push_str(&read_reply(con))),
        b'%' | b'|' => (0..2 * count()).for_each(|_| out.push_str(&read_reply(con))),
        _ => {}
    }
    out
}

/// A connection handled by shard `s`. Client ids are handed out per core as
/// `seq * shards + core`, so the id says which core accepted the connection; the kernel
/// spreads new connections over the cores, so a few attempts find each one.
fn con_on_shard(server: &Server, s: usize) -> redis::Connection {
    for _ in 0..1000 {
        let mut con = server.con();
        let id: u64 = redis::cmd("CLIENT").arg("ID").query(&mut con).unwrap();
        if id as usize % server.shards == s {
            return con;
        }
    }
    panic!("no connection landed on shard {s}");
}

fn raw_on_shard(server: &Server, s: usize) -> RawCon {
    for _ in 0..1000 {
        let mut con = server.raw();
        con.send(b"CLIENT ID\r\n");
        let line = con.line();
        let id: u64 = line.trim_start_matches(':').trim_end().parse().unwrap();
        if id as usize % server.shards == s {
            return con;
        }
    }
    panic!("no connection landed on shard {s}");
}

#[test]
fn keys_land_on_every_shard() {
    let server = Server::start();
    let keys: Vec<String> = (0..1000).map(|i| format!("spread:{i}")).collect();
    let on: Vec<Vec<&String>> = (0..2)
        .map(|s| {
            keys.iter()
                .filter(|k| shard_of(k.as_bytes(), 2) == s)
                .collect()
        })
        .collect();
    // The slot function spreads ordinary keys roughly evenly.
    for (s, list) in on.iter().enumerate() {
        assert!(
            list.len() > 400,
            "only {} of 1000 keys route to shard {s}",
            list.len()
        );
    }
    // Written from a connection on each core in turn, so every key is written once
    // locally or once remotely.
    let mut cons = [con_on_shard(&server, 0), con_on_shard(&server, 1)];
    for (i, k) in keys.iter().enumerate() {
        let _: () = redis::cmd("SET")
            .arg(k)
            .arg(format!("v{i}"))
            .query(&mut cons[i % 2])
            .unwrap();
    }
    // Every key reads back from both cores, and DBSIZE (the sum of the shards' counts)
    // sees them all.
    for con in &mut cons {
        for (i, k) in keys.iter().enumerate() {
            let v: String = redis::cmd("GET").arg(k).query(con).unwrap();
            assert_eq!(v, format!("v{i}"));
        }
        let n: i64 = redis::cmd("DBSIZE").query(con).unwrap();
        assert_eq!(n, 1000);
    }
    // Where the keys are stored: KEYS gathers each shard's keys in turn, so its reply is
    // one run per shard. If every key of a run routes to the same shard, and the runs are
    // exactly the keys routed to shard 0 and to shard 1, each key is stored on the shard
    // that the routing function names.
    let listed: Vec<String> = redis::cmd("KEYS")
        .arg("spread:*")
        .query(&mut cons[0])
        .unwrap();
    assert_eq!(listed.len(), 1000);
    let split = listed
        .iter()
        .position(|k| shard_of(k.as_bytes(), 2) != shard_of(listed[0].as_bytes(), 2))
        .unwrap();
    let (first, second) = listed.split_at(split);
    let owner = |run: &[String]| {
        let s = shard_of(run[0].as_bytes(), 2);
        assert!(
            run.iter().all(|k| shard_of(k.as_bytes(), 2) == s),
            "KEYS interleaves keys of two shards"
        );
        s
    };
    let (a, b) = (owner(first), owner(second));
    assert_ne!(a, b);
    assert_eq!(first.len(), on[a].len());
    assert_eq!(second.len(), on[b].len());
}

#[test]
fn hash_tags_co_locate() {
    assert_eq!(key_slot(b"{user}a"), key_slot(b"{user}b"));
    assert_eq!(key_slot(b"{user}a"), key_slot(b"user"));
    assert_eq!(shard_of(b"{user}a", 2), shard_of(b"{user}b", 2));
    for tag in 0..50 {
        let tag = format!("t{tag}");
        let s = shard_of(tag.as_bytes(), 3);
        for suffix in ["", "x", ".name", "{other}", "}"] {
            assert_eq!(shard_of(format!("{{{tag}}}{suffix}").as_bytes(), 3), s);
            assert_eq!(shard_of(format!("pre{{{tag}}}{suffix}").as_bytes(), 3), s);
        }
    }

    let server = Server::start();
    let mut con = server.con();
    let _: () = redis::cmd("MSET")
        .arg("{user}a")
        .arg("1")
        .arg("{user}b")
        .arg("2")
        .query(&mut con)
        .unwrap();
    let v: Vec<String> = redis::cmd("MGET")
        .arg("{user}b")
        .arg("{user}a")
        .query(&mut con)
        .unwrap();
    assert_eq!(v, ["2", "1"]);

    // Two tags on different shards, ten keys each, in one MSET and one MGET.
    let tags = [
        keys_on_shard(0, 2, 1, "tag")[0].clone(),
        keys_on_shard(1, 2, 1, "tag")[0].clone(),
    ];
    let mut mset = redis::cmd("MSET");
    let mut mget = redis::cmd("MGET");
    let mut expected = Vec::new();
    for i in 0..10 {
        for tag in &tags {
            let key = format!("{{{tag}}}:{i}");
            assert_eq!(shard_of(key.as_bytes(), 2), shard_of(tag.as_bytes(), 2));
            mset.arg(&key).arg(format!("{key}=v"));
            mget.arg(&key);
            expected.push(format!("{key}=v"));
        }
    }
    let _: () = mset.query(&mut con).unwrap();
    let got: Vec<String> = mget.query(&mut con).unwrap();
    assert_eq!(got, expected);
    let n: i64 = redis::cmd("DEL")
        .arg(format!("{{{}}}:3", tags[0]))
        .arg(format!("{{{}}}:4", tags[1]))
        .query(&mut con)
        .unwrap();
    assert_eq!(n, 2);
}

/// MGET/MSET/DEL/EXISTS/KEYS/DBSIZE/SELECT/FLUSHALL with keys on every shard, from a
/// connection on each shard.
fn cross_shard_commands(shards: usize) {
    let server = Server::start_with(shards, &[]);
    for home in 0..shards {
        let mut con = con_on_shard(&server, home);
        let _: () = redis::cmd("FLUSHALL").query(&mut con).unwrap();
        // Keys interleaved by shard: x:..., four on each shard.
        let per_shard: Vec<Vec<String>> = (0..shards)
            .map(|s| keys_on_shard(s, shards, 4, "x:"))
            .collect();
        let keys: Vec<String> = (0..4)
            .flat_map(|i| per_shard.iter().map(move |l| l[i].clone()))
            .collect();
        let value = |k: &str| format!("value of {k}");

        let mut mset = redis::cmd("MSET");
        for k in &keys {
            mset.arg(k).arg(value(k));
        }
        let _: () = mset.query(&mut con).unwrap();
        let n: i64 = redis::cmd("DBSIZE").query(&mut con).unwrap();
        assert_eq!(n, keys.len() as i64);

        // MGET in another order, with missing keys and repeats: replies in argument order.
        let mut asked: Vec<String> = keys.iter().rev().cloned().collect();
        asked.insert(1, "missing:1".into());
        asked.push(keys[0].clone());
        asked.push("missing:2".into());
        let got: Vec<Option<String>> = redis::cmd("MGET").arg(&asked).query(&mut con).unwrap();
        let want: Vec<Option<String>> = asked
            .iter()
            .map(|k| (!k.starts_with("missing")).then(|| value(k)))
            .collect();
        assert_eq!(got, want);

        // EXISTS counts a key named twice twice.
        let n: i64 = redis::cmd("EXISTS")
            .arg(&keys)
            .arg(&keys[1])
            .arg("missing")
            .query(&mut con)
            .unwrap();
        assert_eq!(n, keys.len() as i64 + 1);

        // KEYS sees every shard; a pattern filters on all of them.
        let all: BTreeSet<String> = redis::cmd("KEYS").arg("*").query(&mut con).unwrap();
        assert_eq!(all, keys.iter().cloned().collect());
        let ones: BTreeSet<String> = redis::cmd("KEYS").arg("x:1*").query(&mut con).unwrap();
        assert_eq!(
            ones,
            keys.iter()
                .filter(|k| k.starts_with("x:1"))
                .cloned()
                .collect()
        );

        // DEL of every other key (so every shard loses some when shards > 1), plus a
        // missing one and a repeat.
        let doomed: Vec<&String> = keys.iter().step_by(2).collect();
        let n: i64 = redis::cmd("DEL")
            .arg(&doomed)
            .arg(doomed[0])
            .arg("missing")
            .query(&mut con)
            .unwrap();
        assert_eq!(n, doomed.len() as i64);
        let n: i64 = redis::cmd("EXISTS").arg(&keys).query(&mut con).unwrap();
        assert_eq!(n, (keys.len() - doomed.len()) as i64);
        let n: i64 = redis::cmd("DBSIZE").query(&mut con).unwrap();
        assert_eq!(n, (keys.len() - doomed.len()) as i64);
        let got: Vec<Option<String>> = redis::cmd("MGET").arg(&keys).query(&mut con).unwrap();
        let want: Vec<Option<String>> = keys
            .iter()
            .enumerate()
            .map(|(i, k)| (i % 2 == 1).then(|| value(k)))
            .collect();
        assert_eq!(got, want);

        // Another database on every shard: separate keys, separate counts.
        let _: () = redis::cmd("SELECT").arg(1).query(&mut con).unwrap();
        let n: i64 = redis::cmd("DBSIZE").query(&mut con).unwrap();
        assert_eq!(n, 0);
        let got: Vec<Option<String>> = redis::cmd("MGET").arg(&keys).query(&mut con).unwrap();
        assert!(
            got.iter().all(Option::is_none),
            "database 1 sees database 0's keys: {got:?}"
        );
        let mut mset = redis::cmd("MSET");
        for k in &keys {
            mset.arg(k).arg("db1");
        }
        let _: () = mset.query(&mut con).unwrap();
        let n: i64 = redis::cmd("DBSIZE").query(&mut con).unwrap();
        assert_eq!(n, keys.len() as i64);
        let _: () = redis::cmd("SELECT").arg(0).query(&mut con).unwrap();
        let got: Vec<Option<String>> = redis::cmd("MGET").arg(&keys).query(&mut con).unwrap();
        assert_eq!(got, want, "database 1's MSET changed database 0");

        // FLUSHALL empties every database on every shard.
        let _: () = redis::cmd("FLUSHALL").query(&mut con).unwrap();
        for db in [0, 1] {
            let _: () = redis::cmd("SELECT").arg(db).query(&mut con).unwrap();
            let n: i64 = redis::cmd("DBSIZE").query(&mut con).unwrap();
            assert_eq!(n, 0);
            let all: Vec<String> = redis::cmd("KEYS").arg("*").query(&mut con).unwrap();
            assert!(all.is_empty());
            let n: i64 = redis::cmd("EXISTS").arg(&keys).query(&mut con).unwrap();
            assert_eq!(n, 0);
        }
    }
}

#[test]
fn cross_shard_commands_one_shard() {
    cross_shard_commands(1);
}

#[test]
fn cross_shard_commands_two_shards() {
    cross_shard_commands(2);
}

#[test]
fn cross_shard_commands_three_shards() {
    cross_shard_commands(3);
}

/// One raw pipeline mixing keys of the connection's own shard, keys of other shards,
/// multi-shard commands, connection commands, keyspace-wide commands and database and
/// protocol switches; every reply must come back in request order.
fn pipeline_order(shards: usize) {
    let server = Server::start_with(shards, &[]);
    for home in 0..shards {
        let mut con = raw_on_shard(&server, home);
        let local = &keys_on_shard(home, shards, 1, "local")[0];
        let remote = &keys_on_shard((home + 1) % shards, shards, 1, "remote")[0];
        let far = &keys_on_shard((home + shards - 1) % shards, shards, 1, "far")[0];
        let none = &keys_on_shard((home + 1) % shards, shards, 1, "none")[0];
        let (l, r, f, n) = (
            local.as_bytes(),
            remote.as_bytes(),
            far.as_bytes(),
            none.as_bytes(),
        );
        let steps: Vec<(Vec<&[u8]>, String)> = vec![
            (vec![b"FLUSHALL"], "+OK\r\n".into()),
            (vec![b"SET", l, b"1"], "+OK\r\n".into()),
            (vec![b"SET", r, b"2"], "+OK\r\n".into()),
            (vec![b"GET", l], bulk("1")),
            (vec![b"GET", r], bulk("2")),
            (vec![b"SET", r, b"3", b"GET"], bulk("2")),
            (vec![b"SET", f, b"far"], "+OK\r\n".into()),
            (vec![b"GET", l], bulk("1")),
            (vec![b"PING"], "+PONG\r\n".into()),
            (vec![b"GET", r], bulk("3")),
            (vec![b"EXISTS", r, r, n], ":2\r\n".into()),
            (vec![b"DEL", l], ":1\r\n".into()),
            (vec![b"GET", l], "$-1\r\n".into()),
            (vec![b"ECHO", b"between"], bulk("between")),
            (vec![b"SET", l, b"again"], "+OK\r\n".into()),
            (
                vec![b"MGET", l, r, f, n],
                format!("*4\r\n{}{}{}$-1\r\n", bulk("again"), bulk("3"), bulk("far")),
            ),
            (vec![b"SET", r, b"4", b"NX"], "$-1\r\n".into()),
            (vec![b"SET", r, b"5", b"XX"], "+OK\r\n".into()),
            (vec![b"DBSIZE"], ":3\r\n".into()),
            (vec![b"GET", r], bulk("5")),
            (vec![b"GET", f], bulk("far")),
            // Commands queued for another shard carry the database they were sent in.
            (vec![b"SELECT", b"1"], "+OK\r\n".into()),
            (vec![b"GET", r], "$-1\r\n".into()),
            (vec![b"SET", r, b"db1"], "+OK\r\n".into()),
            (vec![b"GET", r], bulk("db1")),
            (vec![b"GET", l], "$-1\r\n".into()),
            (vec![b"SELECT", b"0"], "+OK\r\n".into()),
            (vec![b"GET", r], bulk("5")),
            (vec![b"DEL", l, r, f, n], ":3\r\n".into()),
            (vec![b"GET", r], "$-1\r\n".into()),
            (vec![b"MSET", l, b"a", r, b"b"], "+OK\r\n".into()),
            (vec![b"GET", r], bulk("b")),
        ];
        let mut req = Vec::new();
        let mut expected = String::new();
        for (args, reply) in &steps {
            req.extend(resp(args));
            expected.push_str(reply);
        }
        // Then the protocol changes mid-pipeline: remote replies follow it too.
        req.extend(resp(&[b"GET", n]));
        req.extend(resp(&[b"HELLO", b"3"]));
        req.extend(resp(&[b"GET", n]));
        req.extend(resp(&[b"GET", r]));
        req.extend(resp(&[b"HELLO", b"2"]));
        req.extend(resp(&[b"GET", n]));
        con.send(&req);
        let got = String::from_utf8(con.read_n(expected.len())).unwrap();
        if got != expected {
            // Report the first reply that differs, by step.
            let mut offset = 0;
            for (args, reply) in &steps {
                let end = (offset + reply.len()).min(got.len());
                let cmd: Vec<_> = args.iter().map(|a| String::from_utf8_lossy(a)).collect();
                assert_eq!(
                    &got[offset..end],
                    reply,
                    "shard {home} of {shards}: reply to {cmd:?}"
                );
                offset += reply.len();
            }
            assert_eq!(got, expected);
        }
        assert_eq!(read_reply(&mut con), "$-1\r\n");
        let hello = read_reply(&mut con);
        assert!(
            hello.starts_with("%7\r\n") && hello.contains("$5\r\nproto\r\n:3\r\n"),
            "{hello:?}"
        );
        assert_eq!(read_reply(&mut con), "_\r\n");
        assert_eq!(read_reply(&mut con), bulk("b"));
        let hello = read_reply(&mut con);
        assert!(
            hello.starts_with("*14\r\n") && hello.contains("$5\r\nproto\r\n:2\r\n"),
            "{hello:?}"
        );
        assert_eq!(read_reply(&mut con), "$-1\r\n");
    }
}

#[test]
fn pipeline_order_two_shards() {
    pipeline_order(2);
}

#[test]
fn pipeline_order_three_shards() {
    pipeline_order(3);
}

#[test]
fn pipeline_order_one_shard() {
    pipeline_order(1);
}

/// A `redis-server` in cluster mode, killed when dropped.
struct ClusterNode {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl ClusterNode {
    fn start() -> Option<ClusterNode> {
        if Command::new("redis-server")
            .arg("--version")
            .output()
            .is_err()
        {
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        // The cluster bus needs a second port; name it, as port + 10000 may not exist.
        let (port, bus) = (common::free_port(), common::free_port());
        let child = Command::new("redis-server")
            .current_dir(dir.path())
            .args([
                "--port",
                &port.to_string(),
                "--cluster-port",
                &bus.to_string(),
            ])
            .args([
                "--cluster-enabled",
                "yes",
                "--cluster-config-file",
                "nodes.conf",
            ])
            .args(["--save", "", "--appendonly", "no", "--bind", "127.0.0.1"])
            .args(["--dir", dir.path().to_str().unwrap()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn redis-server");
        // From here on, dropping the node (also by a panic) kills the process.
        let mut node = ClusterNode {
            child,
            port,
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Some(status) = node.child.try_wait().unwrap() {
                panic!("redis-server exited at start with {status}");
            }
            if let Ok(client) = redis::Client::open(format!("redis://127.0.0.1:{port}/")) {
                if let Ok(mut con) = client.get_connection() {
                    if redis::cmd("PING").query::<String>(&mut con).is_ok() {
                        return Some(node);
                    }
                }
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("redis-server did not start");
    }
}

impl Drop for ClusterNode {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn slots_match_redis_cluster() {
    let Some(node) = ClusterNode::start() else {
        eprintln!(
            "note: redis-server is not installed; skipping the comparison with CLUSTER KEYSLOT"
        );
        return;
    };
    let mut con = redis::Client::open(format!("redis://127.0.0.1:{}/", node.port))
        .unwrap()
        .get_connection()
        .unwrap();
    let mut keys: Vec<Vec<u8>> = Vec::new();
    for i in 0..100 {
        keys.push(format!("key:{i}").into_bytes());
    }
    for i in 0..40 {
        keys.push(format!("{{user{i}}}.name").into_bytes());
        keys.push(format!("prefix{{tag{i}}}suffix{{other}}").into_bytes());
    }
    for edge in [
        &b""[..],
        b"{",
        b"}",
        b"{}",
        b"{}a",
        b"a{}",
        b"{}{a}",
        b"{{}}",
        b"{{a}}",
        b"{a}{b}",
        b"foo{}{bar}",
        b"foo{{bar}}zap",
        b"foo{bar}{zap}",
        b"x{y",
        b"x}y{z}",
        b"}{",
        b"{ }",
        b"\x00\xff{\x01}",
        b"\xff\xfe\xfd",
        "ключ{тег}".as_bytes(),
        "键".as_bytes(),
        b"123456789",
        b"foo",
        b"bar",
        b"hello",
        b"user:1000",
    ] {
        keys.push(edge.to_vec());
    }
    keys.push(vec![b'k'; 1000]);
    keys.push((0..=255u8).collect());
    assert!(keys.len() >= 200);
    let mut mismatches = BTreeMap::new();
    for key in &keys {
        let slot: u16 = redis::cmd("CLUSTER")
            .arg("KEYSLOT")
            .arg(key)
            .query(&mut con)
            .unwrap();
        if slot != key_slot(key) {
            mismatches.insert(
                String::from_utf8_lossy(key).into_owned(),
                (slot, key_slot(key)),
            );
        }
    }
    assert!(
        mismatches.is_empty(),
        "CLUSTER KEYSLOT vs key_slot differ: {mismatches:?}"
    );
    drop(node);
}
