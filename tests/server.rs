//! Server commands against the real server: INFO, DBSIZE, FLUSHDB, FLUSHALL, SWAPDB, TIME,
//! LASTSAVE, CONFIG, COMMAND, SHUTDOWN, and the limits CONFIG SET changes at run time.

mod common;

use std::collections::HashMap;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::{arity_err, keys_on_shard, RawCon, Server};
use redis::Value;

/// Sends one command and returns its whole reply as text.
fn call(r: &mut RawCon, args: &[&str]) -> String {
    r.call(args)
}

/// INFO's `field:value` lines as a map.
fn info(con: &mut redis::Connection, sections: &[&str]) -> HashMap<String, String> {
    let text: String = redis::cmd("INFO").arg(sections).query(con).unwrap();
    text.lines()
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn num(map: &HashMap<String, String>, field: &str) -> u64 {
    map.get(field)
        .unwrap_or_else(|| panic!("INFO has no {field}: {map:?}"))
        .parse()
        .unwrap()
}

/// `keys=1,expires=2,...` as a map.
fn fields(value: &str) -> HashMap<String, u64> {
    value
        .split(',')
        .filter_map(|f| f.split_once('='))
        .map(|(k, v)| (k.to_string(), v.parse().unwrap()))
        .collect()
}

fn dbsize(con: &mut redis::Connection) -> i64 {
    redis::cmd("DBSIZE").query(con).unwrap()
}

fn select(con: &mut redis::Connection, db: i64) {
    let _: () = redis::cmd("SELECT").arg(db).query(con).unwrap();
}

fn set(con: &mut redis::Connection, key: &str, value: &str) {
    let _: () = redis::cmd("SET").arg(key).arg(value).query(con).unwrap();
}

/// Keys on both shards: `n` on each.
fn keys_on_both(n: usize, prefix: &str) -> Vec<String> {
    let mut k = keys_on_shard(0, 2, n, prefix);
    k.extend(keys_on_shard(1, 2, n, prefix));
    k
}

/// Waits until INFO reports `want` connected clients (closing is noticed asynchronously).
fn wait_clients(con: &mut redis::Connection, want: u64) {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let n = num(&info(con, &["clients"]), "connected_clients");
        if n == want {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "connected_clients stays {n}, want {want}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn unix_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

// ---------------------------------------------------------------------------
// INFO
// ---------------------------------------------------------------------------

#[test]
fn info_counts_keys_per_shard_and_database() {
    let server = Server::start();
    let mut con = server.con();
    for i in 0..200 {
        set(&mut con, &format!("info:{i}"), "v");
    }
    for i in 0..10 {
        let _: () = redis::cmd("SET")
            .arg(format!("ttl:{i}"))
            .arg("v")
            .arg("EX")
            .arg(1000)
            .query(&mut con)
            .unwrap();
    }
    select(&mut con, 3);
    for k in keys_on_both(2, "db3:") {
        set(&mut con, &k, "v");
    }
    select(&mut con, 0);

    let ks = info(&mut con, &["keyspace"]);
    assert_eq!(
        fields(&ks["db0"]),
        HashMap::from([
            ("keys".into(), 210),
            ("expires".into(), 10),
            ("avg_ttl".into(), 0)
        ])
    );
    assert_eq!(fields(&ks["db3"])["keys"], 4);
    assert_eq!(fields(&ks["db3"])["expires"], 0);
    assert!(
        !ks.contains_key("db1"),
        "empty databases are not listed: {ks:?}"
    );
    assert_eq!(dbsize(&mut con), 210);

    // The per-shard lines: both shards hold keys, and they add up.
    let shards = info(&mut con, &["shards"]);
    let s0 = fields(&shards["shard0"]);
    let s1 = fields(&shards["shard1"]);
    assert!(!shards.contains_key("shard2"));
    assert!(s0["keys"] > 0 && s1["keys"] > 0, "{shards:?}");
    assert_eq!(s0["keys"] + s1["keys"], 214);
    assert_eq!(s0["expires"] + s1["expires"], 10);
    for s in [&s0, &s1] {
        for f in [
            "ops",
            "used_memory",
            "connected_clients",
            "forwarded_batches",
            "served_batches",
        ] {
            assert!(s.contains_key(f), "{f} missing: {s:?}");
        }
        assert!(s["used_memory"] > 0);
    }
    // Every SET ran on some shard; the ones for the other core travelled in batches.
    assert!(s0["ops"] + s1["ops"] >= 214, "{shards:?}");
    assert!(
        s0["served_batches"] + s1["served_batches"] > 0,
        "{shards:?}"
    );
    assert_eq!(
        s0["forwarded_batches"] + s1["forwarded_batches"],
        s0["served_batches"] + s1["served_batches"]
    );

    // Memory is the shards' sum.
    let mem = info(&mut con, &["memory"]);
    let shards = info(&mut con, &["shards"]);
    let per_shard: u64 = ["shard0", "shard1"]
        .iter()
        .map(|s| fields(&shards[*s])["used_memory"])
        .sum();
    assert_eq!(num(&mem, "used_memory"), per_shard);
    assert!(num(&mem, "used_memory_rss") > 1 << 20);
    assert_eq!(num(&mem, "maxmemory"), 0);
    assert!(
        mem["used_memory_human"].ends_with('K') || mem["used_memory_human"].ends_with('M'),
        "{mem:?}"
    );

    // Stats: commands, hits and misses.
    let stats = info(&mut con, &["stats"]);
    assert!(num(&stats, "total_commands_processed") >= 214);
    let (hits, misses) = (num(&stats, "keyspace_hits"), num(&stats, "keyspace_misses"));
    for k in ["info:1", "info:2", "info:3"] {
        let _: String = redis::cmd("GET").arg(k).query(&mut con).unwrap();
    }
    for k in ["nope:1", "nope:2"] {
        let _: Option<String> = redis::cmd("GET").arg(k).query(&mut con).unwrap();
    }
    let stats = info(&mut con, &["stats"]);
    assert_eq!(num(&stats, "keyspace_hits") - hits, 3);
    assert_eq!(num(&stats, "keyspace_misses") - misses, 2);
    assert!(num(&stats, "total_connections_received") >= 2);
    assert!(num(&stats, "total_net_input_bytes") > 0 && num(&stats, "total_net_output_bytes") > 0);
    assert_eq!(num(&stats, "rejected_connections"), 0);
    assert_eq!(num(&stats, "instantaneous_ops_per_sec"), 0);
}

#[test]
fn info_sections_and_format() {
    let server = Server::start();
    let mut con = server.con();
    let text: String = redis::cmd("INFO").query(&mut con).unwrap();
    let headers: Vec<&str> = text.lines().filter(|l| l.starts_with('#')).collect();
    assert_eq!(
        headers,
        [
            "# Server",
            "# Clients",
            "# Memory",
            "# Persistence",
            "# Stats",
            "# Replication",
            "# CPU",
            "# Keyspace",
            "# Shards"
        ]
    );
    // CRLF line ends; sections separated by one empty line; no empty line at the end.
    assert!(text.lines().all(|l| !l.contains('\r')));
    assert!(
        !text.replace("\r\n", "").contains('\n'),
        "a line ends without CR"
    );
    assert!(text.contains("\r\n\r\n# Clients\r\n"));
    assert!(text.ends_with("\r\n") && !text.ends_with("\r\n\r\n"));
    let all: String = redis::cmd("INFO").arg("all").query(&mut con).unwrap();
    assert_eq!(
        all.lines().filter(|l| l.starts_with('#')).count(),
        headers.len()
    );
    let everything: String = redis::cmd("INFO")
        .arg("EVERYTHING")
        .query(&mut con)
        .unwrap();
    assert_eq!(
        everything.lines().filter(|l| l.starts_with('#')).count(),
        headers.len()
    );

    let server_info = info(&mut con, &["server"]);
    assert_eq!(server_info["redis_version"], "7.2.0");
    assert_eq!(server_info["memflux_version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(server_info["redis_mode"], "standalone");
    assert_eq!(num(&server_info, "tcp_port"), server.port as u64);
    assert_eq!(num(&server_info, "shards"), 2);
    assert_eq!(server_info["run_id"].len(), 40);
    assert!(server_info["run_id"].bytes().all(|b| b.is_ascii_hexdigit()));
    assert!(num(&server_info, "process_id") > 0);
    assert!(num(&server_info, "uptime_in_seconds") < 60);
    assert_eq!(num(&server_info, "uptime_in_days"), 0);
    assert!(
        server_info["executable"].ends_with("memflux"),
        "{server_info:?}"
    );
    assert_eq!(
        server_info["config_file"],
        server.workdir().join("config.json").display().to_string()
    );
    assert_eq!(num(&server_info, "arch_bits"), usize::BITS as u64);
    assert!(server_info["os"].starts_with("Linux"), "{server_info:?}");

    let clients = info(&mut con, &["clients"]);
    assert_eq!(num(&clients, "maxclients"), 10000);
    wait_clients(&mut con, 1);
    let _other = server.con();
    wait_clients(&mut con, 2);

    let persistence = info(&mut con, &["persistence"]);
    assert_eq!(num(&persistence, "loading"), 0);
    let lastsave: u64 = redis::cmd("LASTSAVE").query(&mut con).unwrap();
    assert_eq!(num(&persistence, "rdb_last_save_time"), lastsave);

    // Several sections, in any case, in canonical order; unknown names are ignored.
    let text: String = redis::cmd("INFO")
        .arg("keyspace")
        .arg("NOSUCH")
        .arg("Clients")
        .query(&mut con)
        .unwrap();
    let headers: Vec<&str> = text.lines().filter(|l| l.starts_with('#')).collect();
    assert_eq!(headers, ["# Clients", "# Keyspace"]);
    let text: String = redis::cmd("INFO").arg("nosuch").query(&mut con).unwrap();
    assert_eq!(text, "");
    // An empty keyspace section is just its header.
    let mut r = server.raw();
    assert_eq!(
        call(&mut r, &["INFO", "keyspace"]),
        "$12\r\n# Keyspace\r\n\r\n"
    );
}

#[test]
fn info_is_verbatim_in_resp3() {
    let server = Server::start();
    let mut r = server.raw();
    let reply = call(&mut r, &["INFO", "server"]);
    assert!(
        reply.starts_with('$') && reply.contains("\r\n# Server\r\nredis_version:7.2.0\r\n"),
        "{reply}"
    );
    assert!(call(&mut r, &["HELLO", "3"]).starts_with('%'));
    let reply = call(&mut r, &["INFO", "server"]);
    assert!(reply.starts_with('='), "{reply}");
    assert!(
        reply.contains("\r\ntxt:# Server\r\nredis_version:7.2.0\r\n"),
        "{reply}"
    );
    let declared: usize = reply[1..reply.find('\r').unwrap()].parse().unwrap();
    let body = &reply[reply.find('\n').unwrap() + 1..reply.len() - 2];
    assert_eq!(declared, body.len());
    assert_eq!(call(&mut r, &["INFO", "nosuch"]), "=4\r\ntxt:\r\n");
}

#[test]
fn config_resetstat_zeroes_counters() {
    let server = Server::start();
    let mut con = server.con();
    for k in keys_on_both(5, "rs:") {
        set(&mut con, &k, "v");
        let _: String = redis::cmd("GET").arg(&k).query(&mut con).unwrap();
    }
    let _: Option<String> = redis::cmd("GET").arg("missing").query(&mut con).unwrap();
    let stats = info(&mut con, &["stats"]);
    assert!(num(&stats, "total_commands_processed") >= 20);
    assert_eq!(num(&stats, "keyspace_hits"), 10);
    assert_eq!(num(&stats, "keyspace_misses"), 1);
    let _: () = redis::cmd("CONFIG")
        .arg("RESETSTAT")
        .query(&mut con)
        .unwrap();
    let stats = info(&mut con, &["stats"]);
    assert!(num(&stats, "total_commands_processed") < 5, "{stats:?}");
    assert_eq!(num(&stats, "keyspace_hits"), 0);
    assert_eq!(num(&stats, "keyspace_misses"), 0);
    assert_eq!(num(&stats, "total_connections_received"), 0);
    // Counting resumes from zero.
    let _: String = redis::cmd("GET")
        .arg(&keys_on_shard(1, 2, 1, "rs:")[0])
        .query(&mut con)
        .unwrap();
    assert_eq!(num(&info(&mut con, &["stats"]), "keyspace_hits"), 1);
    // The keys are untouched.
    assert_eq!(dbsize(&mut con), 10);
    let mut r = server.raw();
    assert_eq!(
        call(&mut r, &["CONFIG", "RESETSTAT", "x"]),
        arity_err("config|resetstat")
    );
}

// ---------------------------------------------------------------------------
// DBSIZE, FLUSHDB, FLUSHALL, SWAPDB
// ---------------------------------------------------------------------------

#[test]
fn dbsize_and_flushes_span_shards() {
    let server = Server::start();
    let mut con = server.con();
    let db0 = keys_on_both(3, "f0:");
    let db1 = keys_on_both(2, "f1:");
    for k in &db0 {
        set(&mut con, k, "v");
    }
    select(&mut con, 1);
    for k in &db1 {
        set(&mut con, k, "v");
    }
    assert_eq!(dbsize(&mut con), 4);
    select(&mut con, 0);
    assert_eq!(dbsize(&mut con), 6);

    // FLUSHDB empties the selected database on every shard, and only it.
    let _: () = redis::cmd("FLUSHDB").query(&mut con).unwrap();
    assert_eq!(dbsize(&mut con), 0);
    let n: i64 = redis::cmd("EXISTS").arg(&db0).query(&mut con).unwrap();
    assert_eq!(n, 0);
    select(&mut con, 1);
    assert_eq!(dbsize(&mut con), 4);
    for mode in ["ASYNC", "sync"] {
        set(&mut con, &db1[0], "v");
        let _: () = redis::cmd("FLUSHDB").arg(mode).query(&mut con).unwrap();
        assert_eq!(dbsize(&mut con), 0);
    }

    // FLUSHALL empties every database.
    for mode in [None, Some("SYNC"), Some("async")] {
        for k in &db1 {
            set(&mut con, k, "v");
        }
        select(&mut con, 0);
        for k in &db0 {
            set(&mut con, k, "v");
        }
        let mut cmd = redis::cmd("FLUSHALL");
        if let Some(m) = mode {
            cmd.arg(m);
        }
        let _: () = cmd.query(&mut con).unwrap();
        assert_eq!(dbsize(&mut con), 0);
        select(&mut con, 1);
        assert_eq!(dbsize(&mut con), 0);
    }
    let ks = info(&mut con, &["keyspace"]);
    assert!(!ks.keys().any(|k| k.starts_with("db")), "{ks:?}");

    let mut r = server.raw();
    set(&mut con, &db1[0], "v");
    assert_eq!(call(&mut r, &["DBSIZE", "x"]), arity_err("dbsize"));
    assert_eq!(call(&mut r, &["FLUSHDB", "now"]), "-ERR syntax error\r\n");
    assert_eq!(
        call(&mut r, &["FLUSHDB", "SYNC", "ASYNC"]),
        "-ERR syntax error\r\n"
    );
    assert_eq!(call(&mut r, &["FLUSHALL", "x"]), "-ERR syntax error\r\n");
    assert_eq!(
        call(&mut r, &["FLUSHALL", "sync", "x"]),
        "-ERR syntax error\r\n"
    );
    // The failed flushes removed nothing.
    assert_eq!(dbsize(&mut con), 1);
}

#[test]
fn swapdb_swaps_on_every_shard() {
    let server = Server::start();
    let mut con = server.con();
    let a = keys_on_both(2, "swa:");
    let b = keys_on_both(3, "swb:");
    for k in &a {
        set(&mut con, k, "in-0");
    }
    select(&mut con, 1);
    for k in &b {
        set(&mut con, k, "in-1");
    }
    // Another connection with database 1 selected sees the swap too.
    let mut other = server.con();
    select(&mut other, 1);

    let _: () = redis::cmd("SWAPDB").arg(0).arg(1).query(&mut con).unwrap();
    assert_eq!(dbsize(&mut con), 4);
    let n: i64 = redis::cmd("EXISTS").arg(&a).query(&mut con).unwrap();
    assert_eq!(n, 4);
    let v: Vec<String> = redis::cmd("MGET").arg(&a).query(&mut other).unwrap();
    assert_eq!(v, vec!["in-0"; 4]);
    select(&mut con, 0);
    assert_eq!(dbsize(&mut con), 6);
    let v: Vec<String> = redis::cmd("MGET").arg(&b).query(&mut con).unwrap();
    assert_eq!(v, vec!["in-1"; 6]);
    let ks = info(&mut con, &["keyspace"]);
    assert_eq!(fields(&ks["db0"])["keys"], 6);
    assert_eq!(fields(&ks["db1"])["keys"], 4);

    // Swapping a database with itself, or with an empty one.
    let _: () = redis::cmd("SWAPDB").arg(0).arg(0).query(&mut con).unwrap();
    assert_eq!(dbsize(&mut con), 6);
    let _: () = redis::cmd("SWAPDB").arg(15).arg(0).query(&mut con).unwrap();
    assert_eq!(dbsize(&mut con), 0);
    select(&mut con, 15);
    assert_eq!(dbsize(&mut con), 6);

    let mut r = server.raw();
    assert_eq!(
        call(&mut r, &["SWAPDB", "a", "1"]),
        "-ERR invalid first DB index\r\n"
    );
    assert_eq!(
        call(&mut r, &["SWAPDB", "1", "b"]),
        "-ERR invalid second DB index\r\n"
    );
    assert_eq!(
        call(&mut r, &["SWAPDB", "a", "b"]),
        "-ERR invalid first DB index\r\n"
    );
    assert_eq!(
        call(&mut r, &["SWAPDB", "99999999999", "1"]),
        "-ERR invalid first DB index\r\n"
    );
    assert_eq!(
        call(&mut r, &["SWAPDB", "0", "16"]),
        "-ERR DB index is out of range\r\n"
    );
    assert_eq!(
        call(&mut r, &["SWAPDB", "-1", "0"]),
        "-ERR DB index is out of range\r\n"
    );
    assert_eq!(call(&mut r, &["SWAPDB", "0"]), arity_err("swapdb"));
    assert_eq!(
        call(&mut r, &["SWAPDB", "0", "1", "2"]),
        arity_err("swapdb")
    );
    assert_eq!(dbsize(&mut con), 6);
}

// ---------------------------------------------------------------------------
// TIME, LASTSAVE
// ---------------------------------------------------------------------------

#[test]
fn time_and_lastsave() {
    let server = Server::start();
    let mut con = server.con();
    let before = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_micros() as u64;
    let t: Vec<String> = redis::cmd("TIME").query(&mut con).unwrap();
    let after = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_micros() as u64;
    assert_eq!(t.len(), 2);
    let (secs, micros): (u64, u64) = (t[0].parse().unwrap(), t[1].parse().unwrap());
    assert!(micros < 1_000_000);
    let server_us = secs * 1_000_000 + micros;
    assert!(
        before <= server_us && server_us <= after,
        "{before} {server_us} {after}"
    );
    let last: u64 = redis::cmd("LASTSAVE").query(&mut con).unwrap();
    assert!(last <= unix_secs() && last + 60 > unix_secs());
    let mut r = server.raw();
    assert!(call(&mut r, &["TIME"]).starts_with("*2\r\n$10\r\n"));
    assert_eq!(call(&mut r, &["TIME", "x"]), arity_err("time"));
    assert_eq!(call(&mut r, &["LASTSAVE", "x"]), arity_err("lastsave"));
}

// ---------------------------------------------------------------------------
// CONFIG
// ---------------------------------------------------------------------------

fn config_get(con: &mut redis::Connection, patterns: &[&str]) -> Vec<(String, String)> {
    let flat: Vec<String> = redis::cmd("CONFIG")
        .arg("GET")
        .arg(patterns)
        .query(con)
        .unwrap();
    flat.chunks(2)
        .map(|p| (p[0].clone(), p[1].clone()))
        .collect()
}

fn config_value(con: &mut redis::Connection, name: &str) -> String {
    config_get(con, &[name])
        .into_iter()
        .next()
        .expect("parameter exists")
        .1
}

#[test]
fn config_get_patterns() {
    let server = Server::start();
    let mut con = server.con();
    assert_eq!(
        config_get(&mut con, &["maxclients"]),
        vec![("maxclients".into(), "10000".into())]
    );
    assert_eq!(
        config_get(&mut con, &["MAXCLIENTS"]),
        vec![("maxclients".into(), "10000".into())]
    );
    // redis-benchmark asks for these at start-up.
    assert_eq!(
        config_get(&mut con, &["save"]),
        vec![("save".into(), "".into())]
    );
    // The default durability (always) keeps a write-ahead log.
    assert_eq!(
        config_get(&mut con, &["appendonly"]),
        vec![("appendonly".into(), "yes".into())]
    );
    assert_eq!(
        config_get(&mut con, &["appendfsync"]),
        vec![("appendfsync".into(), "always".into())]
    );
    assert_eq!(
        config_get(&mut con, &["durability"]),
        vec![("appendfsync".into(), "always".into())]
    );
    assert_eq!(
        config_get(&mut con, &["wal-size-threshold-mb"]),
        vec![("wal-size-threshold-mb".into(), "128".into())]
    );
    // Several patterns; a parameter matched twice is reported once.
    let got = config_get(&mut con, &["maxclients", "max*", "timeout", "time*"]);
    assert_eq!(
        got,
        vec![
            ("maxclients".into(), "10000".into()),
            ("timeout".into(), "0".into())
        ]
    );
    assert!(config_get(&mut con, &["nosuch"]).is_empty());
    let all = config_get(&mut con, &["*"]);
    let names: Vec<&str> = all.iter().map(|(k, _)| k.as_str()).collect();
    for n in [
        "bind",
        "port",
        "databases",
        "maxclients",
        "timeout",
        "proto-max-bulk-len",
        "save",
        "appendonly",
        "appendfsync",
        "wal-size-threshold-mb",
    ] {
        assert!(names.contains(&n), "{n} missing from {names:?}");
    }
    assert_eq!(config_value(&mut con, "port"), server.port.to_string());
    // RESP3: a map.
    let mut r = server.raw();
    call(&mut r, &["HELLO", "3"]);
    assert_eq!(
        call(&mut r, &["CONFIG", "GET", "timeout"]),
        "%1\r\n$7\r\ntimeout\r\n$1\r\n0\r\n"
    );
    assert_eq!(call(&mut r, &["CONFIG", "GET", "nosuch"]), "%0\r\n");
}

#[test]
fn config_set_is_validated_then_applied_everywhere() {
    let server = Server::start();
    let mut con = server.con();
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("maxclients")
        .arg("500")
        .arg("timeout")
        .arg("300")
        .query(&mut con)
        .unwrap();
    assert_eq!(config_value(&mut con, "maxclients"), "500");
    assert_eq!(config_value(&mut con, "timeout"), "300");
    assert_eq!(num(&info(&mut con, &["clients"]), "maxclients"), 500);
    // Every core got the change: ask from connections on both.
    let mut cores = std::collections::HashSet::new();
    for _ in 0..64 {
        let mut c = server.con();
        let id: i64 = redis::cmd("CLIENT").arg("ID").query(&mut c).unwrap();
        assert_eq!(config_value(&mut c, "timeout"), "300");
        cores.insert(id % 2);
        if cores.len() == 2 {
            break;
        }
    }
    assert_eq!(cores.len(), 2);

    let mut r = server.raw();
    let failed = |arg: &str, why: &str| {
        format!("-ERR CONFIG SET failed (possibly related to argument '{arg}') - {why}\r\n")
    };
    // A bad value anywhere changes nothing, even parameters before it.
    assert_eq!(
        call(
            &mut r,
            &["CONFIG", "SET", "maxclients", "100", "timeout", "x"]
        ),
        failed("timeout", "argument couldn't be parsed into an integer")
    );
    assert_eq!(
        call(
            &mut r,
            &["CONFIG", "SET", "timeout", "-1", "maxclients", "100"]
        ),
        failed(
            "timeout",
            "argument must be between 0 and 2147483647 inclusive"
        )
    );
    // Unknown names win over bad values, wherever they are.
    assert_eq!(
        call(&mut r, &["CONFIG", "SET", "timeout", "x", "nosuch", "1"]),
        "-ERR Unknown option or number of arguments for CONFIG SET - 'nosuch'\r\n"
    );
    assert_eq!(
        call(
            &mut r,
            &["CONFIG", "SET", "maxclients", "100", "nosuch", "1"]
        ),
        "-ERR Unknown option or number of arguments for CONFIG SET - 'nosuch'\r\n"
    );
    assert_eq!(
        call(&mut r, &["CONFIG", "SET", "port", "1"]),
        failed("port", "can't set immutable config")
    );
    assert_eq!(
        call(&mut r, &["CONFIG", "SET", "maxclients", "100", "Port", "1"]),
        failed("Port", "can't set immutable config")
    );
    // The same parameter twice, under any spelling, is refused.
    assert_eq!(
        call(
            &mut r,
            &["CONFIG", "SET", "maxclients", "10", "MAXCLIENTS", "11"]
        ),
        failed("MAXCLIENTS", "duplicate parameter")
    );
    assert_eq!(
        call(
            &mut r,
            &["CONFIG", "SET", "loglevel", "warning", "log_level", "info"]
        ),
        failed("log_level", "duplicate parameter")
    );
    assert_eq!(config_value(&mut con, "maxclients"), "500");
    assert_eq!(config_value(&mut con, "timeout"), "300");

    // Shapes and subcommands.
    assert_eq!(
        call(&mut r, &["CONFIG", "SET", "maxclients", "10", "timeout"]),
        "-ERR syntax error\r\n"
    );
    assert_eq!(
        call(&mut r, &["CONFIG", "SET", "maxclients"]),
        arity_err("config|set")
    );
    assert_eq!(call(&mut r, &["CONFIG", "GET"]), arity_err("config|get"));
    assert_eq!(call(&mut r, &["CONFIG"]), arity_err("config"));
    assert_eq!(
        call(&mut r, &["CONFIG", "HELP", "x"]),
        arity_err("config|help")
    );
    assert_eq!(
        call(&mut r, &["CONFIG", "FOO"]),
        "-ERR unknown subcommand 'FOO'. Try CONFIG HELP.\r\n"
    );
    let help = call(&mut r, &["CONFIG", "HELP"]);
    assert!(
        help.starts_with('*')
            && help.contains("+CONFIG <subcommand>")
            && help.contains("+RESETSTAT\r\n"),
        "{help}"
    );
    // Tools turn snapshots off this way; it must be accepted.
    assert_eq!(call(&mut r, &["CONFIG", "SET", "save", ""]), "+OK\r\n");
    // appendonly only accepts what it reports: durability can't be switched on or off.
    assert_eq!(
        call(&mut r, &["CONFIG", "SET", "appendonly", "yes"]),
        "+OK\r\n"
    );
    assert_eq!(
        call(&mut r, &["CONFIG", "SET", "appendonly", "no"]),
        failed("appendonly", "can't set immutable config")
    );
    assert_eq!(
        call(&mut r, &["CONFIG", "SET", "appendfsync", "everysec"]),
        "+OK\r\n"
    );
    assert_eq!(config_value(&mut con, "appendfsync"), "everysec");
    assert_eq!(
        call(&mut r, &["CONFIG", "SET", "appendfsync", "off"]),
        failed(
            "appendfsync",
            "durability can't be turned on or off while the server runs"
        )
    );
    assert_eq!(
        call(&mut r, &["CONFIG", "SET", "appendfsync", "sometimes"]),
        failed(
            "appendfsync",
            "argument(s) must be one of the following: always, everysec, no"
        )
    );
    assert_eq!(config_value(&mut con, "appendfsync"), "everysec");
    assert_eq!(config_value(&mut con, "appendonly"), "yes");
    assert_eq!(
        call(&mut r, &["CONFIG", "SET", "wal-size-threshold-mb", "64"]),
        "+OK\r\n"
    );
    assert_eq!(config_value(&mut con, "wal-size-threshold-mb"), "64");
    assert_eq!(
        call(&mut r, &["config", "set", "MaxClients", "600"]),
        "+OK\r\n"
    );
    assert_eq!(config_value(&mut con, "maxclients"), "600");
}

#[test]
fn config_set_timeout_disconnects_idle_clients() {
    let server = Server::start();
    let mut con = server.con();
    // Clients already idle when the timeout is set are closed too.
    let mut idle: Vec<RawCon> = (0..4).map(|_| server.raw()).collect();
    for r in &mut idle {
        assert_eq!(call(r, &["PING"]), "+PONG\r\n");
    }
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("timeout")
        .arg("1")
        .query(&mut con)
        .unwrap();
    // A client that keeps talking stays.
    let mut busy = server.raw();
    let start = Instant::now();
    while start.elapsed() < Duration::from_millis(2500) {
        assert_eq!(call(&mut busy, &["PING"]), "+PONG\r\n");
        std::thread::sleep(Duration::from_millis(200));
    }
    for r in &mut idle {
        assert!(r.closed(), "an idle client outlived timeout 1");
    }
    assert_eq!(call(&mut busy, &["PING"]), "+PONG\r\n");
    // Back to 0: idle clients stay.
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("timeout")
        .arg("0")
        .query(&mut server.con())
        .unwrap();
    let mut r = server.raw();
    assert_eq!(call(&mut r, &["PING"]), "+PONG\r\n");
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(call(&mut r, &["PING"]), "+PONG\r\n");
}

#[test]
fn config_set_proto_max_bulk_len_limits_new_requests() {
    let server = Server::start();
    let mut con = server.con();
    let big = 2 * 1024 * 1024;
    // Accepted under the default limit.
    let mut r = server.raw();
    r.send(format!("*3\r\n$3\r\nSET\r\n$3\r\nbig\r\n${big}\r\n").as_bytes());
    r.send(&vec![b'x'; big]);
    r.send(b"\r\n");
    assert_eq!(r.read_reply(), "+OK\r\n");

    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("proto-max-bulk-len")
        .arg("1mb")
        .query(&mut con)
        .unwrap();
    assert_eq!(config_value(&mut con, "proto-max-bulk-len"), "1048576");
    let mut r = server.raw();
    r.send(format!("*3\r\n$3\r\nSET\r\n$3\r\nbig\r\n${big}\r\n").as_bytes());
    assert_eq!(r.line(), "-ERR Protocol error: invalid bulk length\r\n");
    assert!(r.closed());
    // Exactly the limit still passes.
    let mut r = server.raw();
    let limit = 1024 * 1024;
    r.send(format!("*3\r\n$3\r\nSET\r\n$3\r\nbig\r\n${limit}\r\n").as_bytes());
    r.send(&vec![b'y'; limit]);
    r.send(b"\r\n");
    assert_eq!(r.read_reply(), "+OK\r\n");
    let mut r = server.raw();
    assert_eq!(
        call(&mut r, &["CONFIG", "SET", "proto-max-bulk-len", "100"]),
        "-ERR CONFIG SET failed (possibly related to argument 'proto-max-bulk-len') - argument must be between 1048576 and 9223372036854775807 inclusive\r\n"
    );
}

#[test]
fn maxclients_rejects_the_extra_connection() {
    let server = Server::start();
    let mut con = server.con();
    wait_clients(&mut con, 1);
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("maxclients")
        .arg("3")
        .query(&mut con)
        .unwrap();
    let mut c2 = server.raw();
    let mut c3 = server.raw();
    assert_eq!(call(&mut c2, &["PING"]), "+PONG\r\n");
    assert_eq!(call(&mut c3, &["PING"]), "+PONG\r\n");
    let mut c4 = server.raw();
    assert_eq!(c4.line(), "-ERR max number of clients reached\r\n");
    assert!(c4.closed());
    assert_eq!(num(&info(&mut con, &["stats"]), "rejected_connections"), 1);
    assert_eq!(num(&info(&mut con, &["clients"]), "connected_clients"), 3);
    // A slot that frees up can be taken again.
    drop(c3);
    wait_clients(&mut con, 2);
    let mut c5 = server.raw();
    assert_eq!(call(&mut c5, &["PING"]), "+PONG\r\n");
    assert_eq!(call(&mut c2, &["PING"]), "+PONG\r\n");
}

// ---------------------------------------------------------------------------
// COMMAND
// ---------------------------------------------------------------------------

fn text(v: &Value) -> String {
    match v {
        Value::BulkString(b) => String::from_utf8_lossy(b).into_owned(),
        Value::SimpleString(s) => s.clone(),
        Value::Okay => "OK".into(),
        other => panic!("not a string: {other:?}"),
    }
}

fn items(v: &Value) -> &[Value] {
    match v {
        Value::Array(a) | Value::Set(a) => a,
        other => panic!("not an array: {other:?}"),
    }
}

fn int(v: &Value) -> i64 {
    match v {
        Value::Int(n) => *n,
        other => panic!("not an integer: {other:?}"),
    }
}

#[test]
fn command_count_info_and_list() {
    let server = Server::start();
    let mut con = server.con();
    let count: i64 = redis::cmd("COMMAND").arg("COUNT").query(&mut con).unwrap();
    let all: Value = redis::cmd("COMMAND").query(&mut con).unwrap();
    assert_eq!(items(&all).len() as i64, count);
    assert!(count >= 20, "{count}");
    let names: Vec<String> = items(&all).iter().map(|e| text(&items(e)[0])).collect();
    for n in [
        "get", "set", "ping", "info", "command", "config", "client", "shutdown",
    ] {
        assert!(names.contains(&n.to_string()), "{n} missing");
    }

    // COMMAND INFO get: name, arity 2, flags, keys 1 1 1, categories, tips, specs, subcommands.
    let info: Value = redis::cmd("COMMAND")
        .arg("INFO")
        .arg("get")
        .query(&mut con)
        .unwrap();
    let get = items(&items(&info)[0]);
    assert_eq!(get.len(), 10);
    assert_eq!(text(&get[0]), "get");
    assert_eq!(int(&get[1]), 2);
    assert_eq!(
        items(&get[2]).iter().map(text).collect::<Vec<_>>(),
        ["readonly", "fast"]
    );
    assert_eq!((int(&get[3]), int(&get[4]), int(&get[5])), (1, 1, 1));
    assert_eq!(
        items(&get[6]).iter().map(text).collect::<Vec<_>>(),
        ["@read", "@string", "@fast"]
    );
    assert!(items(&get[7]).is_empty() && items(&get[8]).is_empty() && items(&get[9]).is_empty());
    // Several names, any case; unknown ones are nil.
    let info: Value = redis::cmd("COMMAND")
        .arg("INFO")
        .arg("nosuch")
        .arg("MSET")
        .arg("ping")
        .query(&mut con)
        .unwrap();
    let entries = items(&info);
    assert_eq!(entries.len(), 3);
    assert_eq!(entries[0], Value::Nil);
    let mset = items(&entries[1]);
    assert_eq!((text(&mset[0]), int(&mset[1])), ("mset".into(), -3));
    assert_eq!((int(&mset[3]), int(&mset[4]), int(&mset[5])), (1, -1, 2));
    let ping = items(&entries[2]);
    assert_eq!(
        items(&ping[6]).iter().map(text).collect::<Vec<_>>(),
        ["@fast", "@connection"]
    );
    // No names: every command.
    let info: Value = redis::cmd("COMMAND").arg("INFO").query(&mut con).unwrap();
    assert_eq!(items(&info).len() as i64, count);

    // LIST and its filters.
    let list: Vec<String> = redis::cmd("COMMAND").arg("LIST").query(&mut con).unwrap();
    assert_eq!(list.len() as i64, count);
    let conf: Vec<String> = redis::cmd("COMMAND")
        .arg("LIST")
        .arg("FILTERBY")
        .arg("PATTERN")
        .arg("CONF*")
        .query(&mut con)
        .unwrap();
    assert_eq!(conf, ["config"]);
    let conn: Vec<String> = redis::cmd("COMMAND")
        .arg("LIST")
        .arg("filterby")
        .arg("aclcat")
        .arg("connection")
        .query(&mut con)
        .unwrap();
    assert!(
        conn.contains(&"ping".into())
            && conn.contains(&"client".into())
            && !conn.contains(&"get".into()),
        "{conn:?}"
    );
    let write: Vec<String> = redis::cmd("COMMAND")
        .arg("LIST")
        .arg("FILTERBY")
        .arg("ACLCAT")
        .arg("write")
        .query(&mut con)
        .unwrap();
    assert!(
        write.contains(&"set".into())
            && write.contains(&"flushall".into())
            && !write.contains(&"get".into())
    );
    let none: Vec<String> = redis::cmd("COMMAND")
        .arg("LIST")
        .arg("FILTERBY")
        .arg("ACLCAT")
        .arg("nosuch")
        .query(&mut con)
        .unwrap();
    assert!(none.is_empty());
    let none: Vec<String> = redis::cmd("COMMAND")
        .arg("LIST")
        .arg("FILTERBY")
        .arg("MODULE")
        .arg("json")
        .query(&mut con)
        .unwrap();
    assert!(none.is_empty());

    let mut r = server.raw();
    assert_eq!(
        call(&mut r, &["COMMAND", "LIST", "FILTERBY", "foo", "x"]),
        "-ERR syntax error\r\n"
    );
    assert_eq!(
        call(&mut r, &["COMMAND", "LIST", "FILTERBY", "PATTERN"]),
        "-ERR syntax error\r\n"
    );
    assert_eq!(
        call(&mut r, &["COMMAND", "LIST", "x"]),
        "-ERR syntax error\r\n"
    );
    assert_eq!(
        call(&mut r, &["COMMAND", "COUNT", "x"]),
        arity_err("command|count")
    );
    assert_eq!(
        call(&mut r, &["COMMAND", "HELP", "x"]),
        arity_err("command|help")
    );
    assert_eq!(
        call(&mut r, &["COMMAND", "FOO"]),
        "-ERR unknown subcommand 'FOO'. Try COMMAND HELP.\r\n"
    );
    let help = call(&mut r, &["COMMAND", "HELP"]);
    assert!(
        help.starts_with('*')
            && help.contains("+COMMAND <subcommand>")
            && help.contains("+DOCS [<command-name> ...]\r\n")
    );
    // RESP3: flags and categories are sets.
    call(&mut r, &["HELLO", "3"]);
    let reply = call(&mut r, &["COMMAND", "INFO", "echo"]);
    assert_eq!(
        reply,
        "*1\r\n*10\r\n$4\r\necho\r\n:2\r\n~3\r\n+loading\r\n+stale\r\n+fast\r\n:0\r\n:0\r\n:0\r\n\
         ~2\r\n+@fast\r\n+@connection\r\n~0\r\n~0\r\n~0\r\n"
    );
}

#[test]
fn command_docs_and_getkeys() {
    let server = Server::start();
    let mut con = server.con();
    let docs: Value = redis::cmd("COMMAND")
        .arg("DOCS")
        .arg("GET")
        .arg("nosuch")
        .query(&mut con)
        .unwrap();
    let docs = items(&docs);
    assert_eq!(docs.len(), 2, "{docs:?}");
    assert_eq!(text(&docs[0]), "get");
    let map: HashMap<String, String> = items(&docs[1])
        .chunks(2)
        .map(|p| (text(&p[0]), text(&p[1])))
        .collect();
    assert_eq!(map["group"], "string");
    assert_eq!(map["since"], "1.0.0");
    assert_eq!(map["complexity"], "O(1)");
    assert!(!map["summary"].is_empty());
    // Every command has docs.
    let count: i64 = redis::cmd("COMMAND").arg("COUNT").query(&mut con).unwrap();
    let all: Value = redis::cmd("COMMAND").arg("DOCS").query(&mut con).unwrap();
    assert_eq!(items(&all).len() as i64, 2 * count);
    let none: Value = redis::cmd("COMMAND")
        .arg("DOCS")
        .arg("nosuch")
        .query(&mut con)
        .unwrap();
    assert!(items(&none).is_empty());
    // RESP3: maps.
    let mut r = server.raw();
    call(&mut r, &["HELLO", "3"]);
    let reply = call(&mut r, &["COMMAND", "DOCS", "dbsize"]);
    assert!(
        reply.starts_with("%1\r\n$6\r\ndbsize\r\n%4\r\n$7\r\nsummary\r\n"),
        "{reply}"
    );
    assert!(
        reply.ends_with("$5\r\ngroup\r\n$6\r\nserver\r\n$10\r\ncomplexity\r\n$4\r\nO(1)\r\n"),
        "{reply}"
    );

    let keys: Vec<String> = redis::cmd("COMMAND")
        .arg("GETKEYS")
        .arg("MSET")
        .arg("a")
        .arg("1")
        .arg("b")
        .arg("2")
        .query(&mut con)
        .unwrap();
    assert_eq!(keys, ["a", "b"]);
    let keys: Vec<String> = redis::cmd("COMMAND")
        .arg("GETKEYS")
        .arg("get")
        .arg("k")
        .query(&mut con)
        .unwrap();
    assert_eq!(keys, ["k"]);
    let mut r = server.raw();
    assert_eq!(
        call(&mut r, &["COMMAND", "GETKEYS", "PING", "x"]),
        "-ERR The command has no key arguments\r\n"
    );
    assert_eq!(
        call(&mut r, &["COMMAND", "GETKEYS", "FOO", "x"]),
        "-ERR Invalid command specified\r\n"
    );
    assert_eq!(
        call(&mut r, &["COMMAND", "GETKEYS", "GET", "a", "b"]),
        "-ERR Invalid number of arguments specified for command\r\n"
    );
    assert_eq!(
        call(&mut r, &["COMMAND", "GETKEYS", "GET"]),
        arity_err("command|getkeys")
    );
}

// ---------------------------------------------------------------------------
// SHUTDOWN, signals
// ---------------------------------------------------------------------------

#[test]
fn shutdown_stops_the_process() {
    let mut server = Server::start();
    let mut r = server.raw();
    assert_eq!(
        call(&mut r, &["SHUTDOWN", "ABORT"]),
        "-ERR No shutdown in progress.\r\n"
    );
    assert_eq!(
        call(&mut r, &["SHUTDOWN", "NOSAVE", "SAVE"]),
        "-ERR syntax error\r\n"
    );
    assert_eq!(
        call(&mut r, &["SHUTDOWN", "ABORT", "NOW"]),
        "-ERR syntax error\r\n"
    );
    assert_eq!(
        call(&mut r, &["SHUTDOWN", "later"]),
        "-ERR syntax error\r\n"
    );
    assert!(server.alive());
    // Other clients, on both cores, are disconnected too.
    let others: Vec<RawCon> = (0..4).map(|_| server.raw()).collect();
    let mut con = server.con();
    set(&mut con, "k", "v");
    r.send(&common::encode(&["SHUTDOWN"]));
    assert!(r.closed(), "SHUTDOWN replied instead of closing");
    for mut o in others {
        assert!(o.closed());
    }
    assert!(server.wait_exit().success());
}

#[test]
fn shutdown_with_options_stops_the_process() {
    let mut server = Server::start();
    let mut r = server.raw();
    r.send(&common::encode(&["shutdown", "nosave", "now", "force"]));
    assert!(r.closed());
    assert_eq!(server.wait_exit().code(), Some(0));
}

#[test]
fn sigterm_exits_cleanly() {
    let mut server = Server::start();
    let mut con = server.con();
    set(&mut con, "k", "v");
    let mut idle = server.raw();
    assert_eq!(call(&mut idle, &["PING"]), "+PONG\r\n");
    assert_eq!(server.terminate().code(), Some(0));
    assert!(idle.closed());
}
