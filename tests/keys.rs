//! Generic key commands end to end: DEL, UNLINK, EXISTS, TOUCH, TYPE, KEYS, SCAN,
//! RANDOMKEY, RENAME, RENAMENX, COPY, MOVE, OBJECT — with keys on both shards for every
//! multi-key and cross-shard case.

mod common;

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use common::{keys_on_shard, RawCon, Server};
use memflux::shard::routing::shard_of;
use redis::Connection;

/// Sends one command on a raw socket and returns its reply's first line (only for
/// single-line replies: errors, integers, simple strings).
fn raw(con: &mut RawCon, args: &[&str]) -> String {
    con.call_line(args)
}

fn set(con: &mut Connection, k: &str, v: &str) {
    let _: () = redis::cmd("SET").arg(k).arg(v).query(con).unwrap();
}

fn get(con: &mut Connection, k: &str) -> Option<String> {
    redis::cmd("GET").arg(k).query(con).unwrap()
}

fn int(con: &mut Connection, args: &[&str]) -> i64 {
    let mut c = redis::cmd(args[0]);
    for a in &args[1..] {
        c.arg(*a);
    }
    c.query(con).unwrap()
}

/// One key on shard 0 and one on shard 1, with the given prefix.
fn pair(prefix: &str) -> (String, String) {
    (
        keys_on_shard(0, 2, 1, prefix).remove(0),
        keys_on_shard(1, 2, 1, prefix).remove(0),
    )
}

#[test]
fn del_unlink_exists_touch_sum_across_shards() {
    let server = Server::start();
    let mut con = server.con();
    let a = keys_on_shard(0, 2, 3, "a");
    let b = keys_on_shard(1, 2, 3, "b");
    for k in a.iter().chain(&b) {
        set(&mut con, k, "v");
    }
    // A key named twice counts twice for EXISTS and TOUCH.
    assert_eq!(
        int(&mut con, &["EXISTS", &a[0], &b[0], &a[0], "missing", &b[1]]),
        4
    );
    assert_eq!(int(&mut con, &["TOUCH", &a[0], &b[0], "missing", &b[0]]), 3);
    assert_eq!(int(&mut con, &["EXISTS", "missing"]), 0);
    // DEL counts each key once, however often it is named.
    assert_eq!(int(&mut con, &["DEL", &a[0], &b[0], "missing", &a[0]]), 2);
    assert_eq!(int(&mut con, &["EXISTS", &a[0], &b[0]]), 0);
    assert_eq!(int(&mut con, &["UNLINK", &a[1], &b[1], &b[1], "nope"]), 2);
    assert_eq!(int(&mut con, &["EXISTS", &a[1], &b[1]]), 0);
    assert_eq!(
        int(&mut con, &["EXISTS", &a[2], &b[2]]),
        2,
        "untouched keys survive"
    );
    // Single-shard forms.
    assert_eq!(int(&mut con, &["DEL", &a[2]]), 1);
    assert_eq!(int(&mut con, &["UNLINK", &b[2]]), 1);
    assert_eq!(int(&mut con, &["DBSIZE"]), 0);

    let mut r = server.raw();
    for cmd in ["DEL", "UNLINK", "EXISTS", "TOUCH"] {
        assert_eq!(
            raw(&mut r, &[cmd]),
            format!(
                "-ERR wrong number of arguments for '{}' command",
                cmd.to_lowercase()
            )
        );
    }
}

#[test]
fn type_reports_string_and_none() {
    let server = Server::start();
    let mut con = server.con();
    let (a, b) = pair("t");
    set(&mut con, &a, "1");
    set(
        &mut con,
        &b,
        "a long string value that is not embedded in the object at all",
    );
    for k in [&a, &b] {
        let t: String = redis::cmd("TYPE").arg(k).query(&mut con).unwrap();
        assert_eq!(t, "string");
    }
    let mut r = server.raw();
    assert_eq!(raw(&mut r, &["TYPE", "missing"]), "+none");
    assert_eq!(raw(&mut r, &["TYPE", &a]), "+string");
    assert_eq!(
        raw(&mut r, &["TYPE"]),
        "-ERR wrong number of arguments for 'type' command"
    );
    assert_eq!(
        raw(&mut r, &["TYPE", &a, &b]),
        "-ERR wrong number of arguments for 'type' command"
    );
}

#[test]
fn keys_matches_patterns_on_every_shard() {
    let server = Server::start();
    let mut con = server.con();
    let names = [
        "hello", "hallo", "hxllo", "hllo", "heeeello", "h-llo", "world", "h*llo", "x{tag}y",
        "x{tag}z",
    ];
    let shards: HashSet<usize> = names.iter().map(|k| shard_of(k.as_bytes(), 2)).collect();
    assert_eq!(shards.len(), 2, "test keys must live on both shards");
    for k in names {
        set(&mut con, k, "v");
    }
    let keys = |con: &mut Connection, p: &str| -> Vec<String> {
        let mut v: Vec<String> = redis::cmd("KEYS").arg(p).query(con).unwrap();
        v.sort();
        v
    };
    let expect = |want: &[&str]| -> Vec<String> {
        let mut v: Vec<String> = want.iter().map(|s| s.to_string()).collect();
        v.sort();
        v
    };
    assert_eq!(keys(&mut con, "*"), expect(&names));
    assert_eq!(
        keys(&mut con, "h?llo"),
        expect(&["hello", "hallo", "hxllo", "h-llo", "h*llo"])
    );
    assert_eq!(
        keys(&mut con, "h*llo"),
        expect(&["hello", "hallo", "hxllo", "hllo", "heeeello", "h-llo", "h*llo"])
    );
    assert_eq!(keys(&mut con, "h[ae]llo"), expect(&["hello", "hallo"]));
    assert_eq!(
        keys(&mut con, "h[^e]llo"),
        expect(&["hallo", "hxllo", "h-llo", "h*llo"])
    );
    assert_eq!(keys(&mut con, "h[a-b]llo"), expect(&["hallo"]));
    assert_eq!(keys(&mut con, "h\\*llo"), expect(&["h*llo"]));
    assert_eq!(keys(&mut con, "x{tag}*"), expect(&["x{tag}y", "x{tag}z"]));
    assert_eq!(keys(&mut con, "world"), expect(&["world"]));
    assert_eq!(keys(&mut con, "nothing*"), Vec::<String>::new());
    // Expired keys are not listed even before anything deletes them.
    let _: () = redis::cmd("PEXPIRE")
        .arg("world")
        .arg(1)
        .query(&mut con)
        .unwrap();
    let _: () = redis::cmd("PEXPIRE")
        .arg("hello")
        .arg(1)
        .query(&mut con)
        .unwrap();
    std::thread::sleep(Duration::from_millis(20));
    assert_eq!(keys(&mut con, "*").len(), names.len() - 2);
    // KEYS reads the selected database only.
    let _: () = redis::cmd("SELECT").arg(2).query(&mut con).unwrap();
    assert_eq!(keys(&mut con, "*"), Vec::<String>::new());
    let mut r = server.raw();
    assert_eq!(
        raw(&mut r, &["KEYS"]),
        "-ERR wrong number of arguments for 'keys' command"
    );
    assert_eq!(
        raw(&mut r, &["KEYS", "a", "b"]),
        "-ERR wrong number of arguments for 'keys' command"
    );
}

/// Runs a full SCAN with the given options, returning every key seen (with repeats) and
/// how many calls it took.
fn scan_all(con: &mut Connection, opts: &[&str]) -> (Vec<String>, usize) {
    let mut cursor = "0".to_string();
    let mut seen = Vec::new();
    let mut calls = 0;
    loop {
        let mut c = redis::cmd("SCAN");
        c.arg(&cursor);
        for o in opts {
            c.arg(*o);
        }
        let (next, keys): (String, Vec<String>) = c.query(con).unwrap();
        calls += 1;
        seen.extend(keys);
        assert!(calls < 100_000, "SCAN does not terminate");
        if next == "0" {
            return (seen, calls);
        }
        cursor = next;
    }
}

#[test]
fn scan_returns_every_key_exactly_once_across_shards() {
    let server = Server::start();
    let mut con = server.con();
    let all: Vec<String> = (0..1000).map(|i| format!("key:{i}")).collect();
    let on_one = all
        .iter()
        .filter(|k| shard_of(k.as_bytes(), 2) == 1)
        .count();
    assert!(
        on_one > 300 && on_one < 700,
        "keys must spread over both shards"
    );
    let mut pipe = redis::pipe();
    for k in &all {
        pipe.cmd("SET").arg(k).arg("v").ignore();
    }
    let _: () = pipe.query(&mut con).unwrap();

    for opts in [&["COUNT", "7"][..], &[][..], &["COUNT", "1"][..]] {
        let (seen, calls) = scan_all(&mut con, opts);
        let mut counts: HashMap<&str, usize> = HashMap::new();
        for k in &seen {
            *counts.entry(k.as_str()).or_default() += 1;
        }
        assert_eq!(seen.len(), 1000, "options {opts:?}");
        for k in &all {
            assert_eq!(counts.get(k.as_str()), Some(&1), "{k} with {opts:?}");
        }
        assert!(
            calls > 1000 / 7 / 2,
            "COUNT bounds each reply ({calls} calls with {opts:?})"
        );
    }
    // One call with a large COUNT walks the first shard and carries on into the second.
    let (next, keys): (String, Vec<String>) = redis::cmd("SCAN")
        .arg(0)
        .arg("COUNT")
        .arg(100_000)
        .query(&mut con)
        .unwrap();
    assert_eq!(next, "0");
    assert_eq!(keys.iter().collect::<HashSet<_>>().len(), 1000);
}

#[test]
fn scan_sees_stable_keys_once_despite_churn() {
    let server = Server::start();
    let mut con = server.con();
    let stable: Vec<String> = (0..300).map(|i| format!("stable:{i}")).collect();
    for k in &stable {
        set(&mut con, k, "v");
    }
    let mut cursor = "0".to_string();
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut round = 0;
    loop {
        let (next, keys): (String, Vec<String>) = redis::cmd("SCAN")
            .arg(&cursor)
            .arg("COUNT")
            .arg(5)
            .query(&mut con)
            .unwrap();
        for k in keys {
            *seen.entry(k).or_default() += 1;
        }
        // Keys come and go between calls, on both shards.
        for j in 0..10 {
            set(&mut con, &format!("temp:{round}:{j}"), "x");
        }
        for j in 0..6 {
            let _: i64 = redis::cmd("DEL")
                .arg(format!("temp:{round}:{j}"))
                .query(&mut con)
                .unwrap();
        }
        round += 1;
        if next == "0" {
            break;
        }
        cursor = next;
    }
    for k in &stable {
        assert_eq!(seen.get(k), Some(&1), "{k}");
    }
}

#[test]
fn scan_match_and_type_filters() {
    let server = Server::start();
    let mut con = server.con();
    let users: Vec<String> = (0..200).map(|i| format!("user:{i}")).collect();
    for k in &users {
        set(&mut con, k, "u");
    }
    for i in 0..200 {
        set(&mut con, &format!("other:{i}"), "o");
    }
    let (seen, _) = scan_all(&mut con, &["MATCH", "user:*", "COUNT", "5"]);
    assert_eq!(seen.len(), 200);
    assert_eq!(
        seen.iter().collect::<HashSet<_>>(),
        users.iter().collect::<HashSet<_>>()
    );
    let (seen, _) = scan_all(&mut con, &["MATCH", "user:1?", "COUNT", "50"]);
    let want: HashSet<String> = (10..20).map(|i| format!("user:{i}")).collect();
    assert_eq!(seen.into_iter().collect::<HashSet<_>>(), want);
    // MATCH * filters nothing; the last MATCH given wins.
    assert_eq!(scan_all(&mut con, &["MATCH", "*"]).0.len(), 400);
    assert_eq!(
        scan_all(&mut con, &["MATCH", "user:*", "MATCH", "other:*"])
            .0
            .len(),
        200
    );
    // TYPE compares type names without regard to case; unknown types match nothing.
    assert_eq!(
        scan_all(&mut con, &["TYPE", "string", "COUNT", "20"])
            .0
            .len(),
        400
    );
    assert_eq!(scan_all(&mut con, &["TYPE", "STRING"]).0.len(), 400);
    assert_eq!(
        scan_all(&mut con, &["TYPE", "hash", "COUNT", "20"]).0.len(),
        0
    );
    assert_eq!(scan_all(&mut con, &["TYPE", "nosuchtype"]).0.len(), 0);
    assert_eq!(
        scan_all(
            &mut con,
            &["TYPE", "string", "MATCH", "other:1*", "COUNT", "3"]
        )
        .0
        .len(),
        111
    );
    // SCAN reads the selected database only.
    let _: () = redis::cmd("SELECT").arg(1).query(&mut con).unwrap();
    assert_eq!(scan_all(&mut con, &[]).0.len(), 0);
}

#[test]
fn scan_errors_and_cursor_forms() {
    let server = Server::start();
    let mut con = server.con();
    set(&mut con, "a", "1");
    let mut r = server.raw();
    for bad in ["abc", " 1", "1 ", "1.5", "18446744073709551616", "-", "+"] {
        assert_eq!(
            raw(&mut r, &["SCAN", bad]),
            "-ERR invalid cursor",
            "cursor {bad:?}"
        );
    }
    // The cursor is checked before the options.
    assert_eq!(
        raw(&mut r, &["SCAN", "x", "COUNT", "0"]),
        "-ERR invalid cursor"
    );
    assert_eq!(
        raw(&mut r, &["SCAN", "0", "COUNT", "0"]),
        "-ERR syntax error"
    );
    assert_eq!(
        raw(&mut r, &["SCAN", "0", "COUNT", "-3"]),
        "-ERR syntax error"
    );
    assert_eq!(
        raw(&mut r, &["SCAN", "0", "COUNT", "abc"]),
        "-ERR value is not an integer or out of range"
    );
    assert_eq!(raw(&mut r, &["SCAN", "0", "COUNT"]), "-ERR syntax error");
    assert_eq!(raw(&mut r, &["SCAN", "0", "MATCH"]), "-ERR syntax error");
    assert_eq!(raw(&mut r, &["SCAN", "0", "TYPE"]), "-ERR syntax error");
    assert_eq!(
        raw(&mut r, &["SCAN", "0", "FOO", "bar"]),
        "-ERR syntax error"
    );
    assert_eq!(
        raw(&mut r, &["SCAN"]),
        "-ERR wrong number of arguments for 'scan' command"
    );
    // strtoul forms: an explicit sign, leading zeros, the empty string (cursor 0).
    for ok in ["+0", "00", ""] {
        let (next, keys): (String, Vec<String>) =
            redis::cmd("SCAN").arg(ok).query(&mut con).unwrap();
        assert_eq!(
            (next.as_str(), keys),
            ("0", vec!["a".to_string()]),
            "cursor {ok:?}"
        );
    }
    // A cursor past every shard's end is simply finished.
    let (next, keys): (String, Vec<String>) = redis::cmd("SCAN").arg("-1").query(&mut con).unwrap();
    assert_eq!(next, "0");
    assert!(keys.is_empty());
}

#[test]
fn randomkey_picks_live_keys_from_every_shard() {
    let server = Server::start();
    let mut con = server.con();
    let k: Option<String> = redis::cmd("RANDOMKEY").query(&mut con).unwrap();
    assert_eq!(k, None);
    let mut r = server.raw();
    assert_eq!(raw(&mut r, &["RANDOMKEY"]), "$-1");
    assert_eq!(
        raw(&mut r, &["RANDOMKEY", "x"]),
        "-ERR wrong number of arguments for 'randomkey' command"
    );

    // Keys on one shard only: whichever shard is asked first, a key comes back.
    let only = keys_on_shard(1, 2, 3, "only");
    for k in &only {
        set(&mut con, k, "v");
    }
    for _ in 0..20 {
        let k: String = redis::cmd("RANDOMKEY").query(&mut con).unwrap();
        assert!(only.contains(&k), "{k}");
    }
    let a = keys_on_shard(0, 2, 3, "a");
    for k in &a {
        set(&mut con, k, "v");
    }
    let mut shards_seen = HashSet::new();
    let mut keys_seen = HashSet::new();
    for _ in 0..300 {
        let k: String = redis::cmd("RANDOMKEY").query(&mut con).unwrap();
        assert!(only.contains(&k) || a.contains(&k), "{k}");
        shards_seen.insert(shard_of(k.as_bytes(), 2));
        keys_seen.insert(k);
    }
    assert_eq!(shards_seen.len(), 2);
    assert_eq!(keys_seen.len(), 6, "every key is reachable");

    // Expired keys are never returned.
    for k in &a {
        let _: i64 = redis::cmd("PEXPIRE").arg(k).arg(1).query(&mut con).unwrap();
    }
    std::thread::sleep(Duration::from_millis(20));
    for _ in 0..50 {
        let k: String = redis::cmd("RANDOMKEY").query(&mut con).unwrap();
        assert!(only.contains(&k), "{k}");
    }
    let _: () = redis::cmd("SELECT").arg(3).query(&mut con).unwrap();
    let k: Option<String> = redis::cmd("RANDOMKEY").query(&mut con).unwrap();
    assert_eq!(k, None, "other databases are empty");
}

/// Pairs (source, destination) on the same shard and on different shards.
fn pairs(prefix: &str) -> Vec<(String, String)> {
    let s0 = keys_on_shard(0, 2, 2, &format!("{prefix}0-"));
    let s1 = keys_on_shard(1, 2, 2, &format!("{prefix}1-"));
    vec![
        (s0[0].clone(), s0[1].clone()),
        (s1[0].clone(), s1[1].clone()),
        (s0[0].clone(), s1[0].clone()),
        (s1[1].clone(), s0[1].clone()),
    ]
}

fn pttl(con: &mut Connection, k: &str) -> i64 {
    int(con, &["PTTL", k])
}

#[test]
fn rename_same_and_cross_shard() {
    let server = Server::start();
    let mut con = server.con();
    let mut r = server.raw();
    for (src, dst) in pairs("rn") {
        // Plain rename: value moves, source goes away.
        set(&mut con, &src, "v1");
        let ok: String = redis::cmd("RENAME")
            .arg(&src)
            .arg(&dst)
            .query(&mut con)
            .unwrap();
        assert_eq!(ok, "OK");
        assert_eq!(get(&mut con, &src), None);
        assert_eq!(get(&mut con, &dst).as_deref(), Some("v1"));
        assert_eq!(pttl(&mut con, &dst), -1);

        // The source's TTL moves with it; the destination's old value and TTL are gone.
        let _: () = redis::cmd("SET")
            .arg(&src)
            .arg("v2")
            .arg("EX")
            .arg(100)
            .query(&mut con)
            .unwrap();
        let _: () = redis::cmd("SET")
            .arg(&dst)
            .arg("old")
            .arg("EX")
            .arg(5000)
            .query(&mut con)
            .unwrap();
        assert_eq!(raw(&mut r, &["RENAME", &src, &dst]), "+OK");
        assert_eq!(get(&mut con, &dst).as_deref(), Some("v2"));
        let t = pttl(&mut con, &dst);
        assert!(t > 95_000 && t <= 100_000, "ttl {t}");
        // A source without TTL clears the destination's TTL.
        let _: () = redis::cmd("SET")
            .arg(&src)
            .arg("v3")
            .query(&mut con)
            .unwrap();
        assert_eq!(raw(&mut r, &["RENAME", &src, &dst]), "+OK");
        assert_eq!(pttl(&mut con, &dst), -1);

        // Errors and self-renames.
        assert_eq!(raw(&mut r, &["RENAME", &src, &dst]), "-ERR no such key");
        assert_eq!(raw(&mut r, &["RENAME", &src, &src]), "-ERR no such key");
        assert_eq!(raw(&mut r, &["RENAME", &dst, &dst]), "+OK");
        assert_eq!(get(&mut con, &dst).as_deref(), Some("v3"));

        // RENAMENX.
        assert_eq!(raw(&mut r, &["RENAMENX", &src, &dst]), "-ERR no such key");
        assert_eq!(raw(&mut r, &["RENAMENX", &dst, &dst]), ":0");
        set(&mut con, &src, "s");
        assert_eq!(raw(&mut r, &["RENAMENX", &src, &dst]), ":0");
        assert_eq!(
            get(&mut con, &src).as_deref(),
            Some("s"),
            "a refused RENAMENX keeps the source"
        );
        assert_eq!(get(&mut con, &dst).as_deref(), Some("v3"));
        let _: i64 = redis::cmd("DEL").arg(&dst).query(&mut con).unwrap();
        let _: i64 = redis::cmd("PEXPIRE")
            .arg(&src)
            .arg(60_000)
            .query(&mut con)
            .unwrap();
        assert_eq!(raw(&mut r, &["RENAMENX", &src, &dst]), ":1");
        assert_eq!(get(&mut con, &src), None);
        assert_eq!(get(&mut con, &dst).as_deref(), Some("s"));
        let t = pttl(&mut con, &dst);
        assert!(t > 55_000 && t <= 60_000, "RENAMENX keeps the TTL: {t}");
        // An expired source is missing.
        let _: () = redis::cmd("SET")
            .arg(&src)
            .arg("x")
            .arg("PX")
            .arg(1)
            .query(&mut con)
            .unwrap();
        std::thread::sleep(Duration::from_millis(10));
        assert_eq!(raw(&mut r, &["RENAME", &src, &dst]), "-ERR no such key");
        assert_eq!(get(&mut con, &dst).as_deref(), Some("s"));
        let _: i64 = redis::cmd("DEL")
            .arg(&src)
            .arg(&dst)
            .query(&mut con)
            .unwrap();
    }
    assert_eq!(
        raw(&mut r, &["RENAME", "a"]),
        "-ERR wrong number of arguments for 'rename' command"
    );
    assert_eq!(
        raw(&mut r, &["RENAME", "a", "b", "c"]),
        "-ERR wrong number of arguments for 'rename' command"
    );
    assert_eq!(
        raw(&mut r, &["RENAMENX", "a"]),
        "-ERR wrong number of arguments for 'renamenx' command"
    );
}

#[test]
fn rename_works_in_other_databases() {
    let server = Server::start();
    let mut con = server.con();
    let _: () = redis::cmd("SELECT").arg(5).query(&mut con).unwrap();
    for (src, dst) in pairs("db") {
        set(&mut con, &src, "v");
        let _: () = redis::cmd("RENAME")
            .arg(&src)
            .arg(&dst)
            .query(&mut con)
            .unwrap();
        assert_eq!(get(&mut con, &dst).as_deref(), Some("v"));
        let c: i64 = redis::cmd("COPY")
            .arg(&dst)
            .arg(&src)
            .query(&mut con)
            .unwrap();
        assert_eq!(c, 1);
        let _: i64 = redis::cmd("DEL")
            .arg(&src)
            .arg(&dst)
            .query(&mut con)
            .unwrap();
    }
    let _: () = redis::cmd("SELECT").arg(0).query(&mut con).unwrap();
    assert_eq!(
        int(&mut con, &["DBSIZE"]),
        0,
        "database 0 was never touched"
    );
}

#[test]
fn copy_same_and_cross_shard() {
    let server = Server::start();
    let mut con = server.con();
    let mut r = server.raw();
    for (src, dst) in pairs("cp") {
        assert_eq!(raw(&mut r, &["COPY", &src, &dst]), ":0", "missing source");
        let _: () = redis::cmd("SET")
            .arg(&src)
            .arg("v")
            .arg("PX")
            .arg(80_000)
            .query(&mut con)
            .unwrap();
        assert_eq!(raw(&mut r, &["COPY", &src, &dst]), ":1");
        assert_eq!(
            get(&mut con, &src).as_deref(),
            Some("v"),
            "the source stays"
        );
        assert_eq!(get(&mut con, &dst).as_deref(), Some("v"));
        let t = pttl(&mut con, &dst);
        assert!(t > 75_000 && t <= 80_000, "COPY copies the TTL: {t}");

        // An existing destination needs REPLACE.
        set(&mut con, &src, "w");
        assert_eq!(raw(&mut r, &["COPY", &src, &dst]), ":0");
        assert_eq!(get(&mut con, &dst).as_deref(), Some("v"));
        assert_eq!(raw(&mut r, &["COPY", &src, &dst, "REPLACE"]), ":1");
        assert_eq!(get(&mut con, &dst).as_deref(), Some("w"));
        assert_eq!(pttl(&mut con, &dst), -1, "the source had no TTL");
        assert_eq!(
            raw(&mut r, &["copy", &src, &dst, "replace", "replace"]),
            ":1"
        );

        // Into another database (DB and REPLACE in any order).
        assert_eq!(raw(&mut r, &["COPY", &src, &dst, "DB", "3"]), ":1");
        assert_eq!(raw(&mut r, &["COPY", &src, &dst, "DB", "3"]), ":0");
        assert_eq!(
            raw(&mut r, &["COPY", &src, &dst, "REPLACE", "DB", "3"]),
            ":1"
        );
        assert_eq!(
            raw(&mut r, &["COPY", &src, &src, "DB", "3"]),
            ":1",
            "same name, other db"
        );
        let _: () = redis::cmd("SELECT").arg(3).query(&mut con).unwrap();
        assert_eq!(get(&mut con, &dst).as_deref(), Some("w"));
        assert_eq!(get(&mut con, &src).as_deref(), Some("w"));
        let _: i64 = redis::cmd("DEL")
            .arg(&src)
            .arg(&dst)
            .query(&mut con)
            .unwrap();
        let _: () = redis::cmd("SELECT").arg(0).query(&mut con).unwrap();

        // Errors.
        assert_eq!(
            raw(&mut r, &["COPY", &src, &src]),
            "-ERR source and destination objects are the same"
        );
        assert_eq!(
            raw(&mut r, &["COPY", &src, &src, "DB", "0"]),
            "-ERR source and destination objects are the same"
        );
        assert_eq!(
            raw(&mut r, &["COPY", &src, &dst, "DB", "16"]),
            "-ERR DB index is out of range"
        );
        assert_eq!(
            raw(&mut r, &["COPY", &src, &dst, "DB", "-1"]),
            "-ERR DB index is out of range"
        );
        assert_eq!(
            raw(&mut r, &["COPY", &src, &dst, "DB", "x"]),
            "-ERR value is not an integer or out of range"
        );
        assert_eq!(
            raw(&mut r, &["COPY", &src, &dst, "DB", "4294967296"]),
            "-ERR value is not an integer or out of range"
        );
        assert_eq!(
            raw(&mut r, &["COPY", &src, &dst, "DB"]),
            "-ERR syntax error"
        );
        assert_eq!(
            raw(&mut r, &["COPY", &src, &dst, "FOO"]),
            "-ERR syntax error"
        );
        // Option errors come before the source lookup.
        assert_eq!(
            raw(&mut r, &["COPY", "missing", &dst, "FOO"]),
            "-ERR syntax error"
        );
        let _: i64 = redis::cmd("DEL")
            .arg(&src)
            .arg(&dst)
            .query(&mut con)
            .unwrap();
    }
    assert_eq!(
        raw(&mut r, &["COPY", "a"]),
        "-ERR wrong number of arguments for 'copy' command"
    );
}

#[test]
fn move_between_databases() {
    let server = Server::start();
    let mut con = server.con();
    let mut r = server.raw();
    let (a, b) = pair("mv");
    for k in [&a, &b] {
        let _: () = redis::cmd("SET")
            .arg(k)
            .arg("v")
            .arg("EX")
            .arg(500)
            .query(&mut con)
            .unwrap();
        assert_eq!(raw(&mut r, &["MOVE", k, "1"]), ":1");
        assert_eq!(int(&mut con, &["EXISTS", k]), 0);
        let _: () = redis::cmd("SELECT").arg(1).query(&mut con).unwrap();
        assert_eq!(get(&mut con, k).as_deref(), Some("v"));
        let t = int(&mut con, &["TTL", k]);
        assert!(t > 490 && t <= 500, "MOVE keeps the TTL: {t}");
        let _: () = redis::cmd("SELECT").arg(0).query(&mut con).unwrap();
        // Destination exists: nothing moves.
        set(&mut con, k, "new");
        assert_eq!(raw(&mut r, &["MOVE", k, "1"]), ":0");
        assert_eq!(get(&mut con, k).as_deref(), Some("new"));
        assert_eq!(int(&mut con, &["DEL", k]), 1);
        assert_eq!(raw(&mut r, &["MOVE", k, "1"]), ":0", "missing source");
        assert_eq!(
            raw(&mut r, &["MOVE", k, "0"]),
            "-ERR source and destination objects are the same"
        );
        assert_eq!(
            raw(&mut r, &["MOVE", k, "16"]),
            "-ERR DB index is out of range"
        );
        assert_eq!(
            raw(&mut r, &["MOVE", k, "-1"]),
            "-ERR DB index is out of range"
        );
        assert_eq!(
            raw(&mut r, &["MOVE", k, "one"]),
            "-ERR value is not an integer or out of range"
        );
    }
    // Back from database 1 to 0, from a connection that selected 1.
    assert_eq!(raw(&mut r, &["SELECT", "1"]), "+OK");
    assert_eq!(raw(&mut r, &["MOVE", &a, "0"]), ":1");
    assert_eq!(
        raw(&mut r, &["MOVE", &a, "1"]),
        "-ERR source and destination objects are the same"
    );
    assert_eq!(get(&mut con, &a).as_deref(), Some("v"));
    assert_eq!(
        raw(&mut r, &["MOVE", &a]),
        "-ERR wrong number of arguments for 'move' command"
    );
}

#[test]
fn object_subcommands() {
    let server = Server::start();
    let mut con = server.con();
    let mut r = server.raw();
    let (a, b) = pair("obj");
    let long = "x".repeat(45);
    let enc = |con: &mut Connection, k: &str| -> Option<String> {
        redis::cmd("OBJECT")
            .arg("ENCODING")
            .arg(k)
            .query(con)
            .unwrap()
    };
    for k in [&a, &b] {
        set(&mut con, k, "123");
        assert_eq!(enc(&mut con, k).as_deref(), Some("int"));
        assert_eq!(
            int(&mut con, &["OBJECT", "REFCOUNT", k]),
            2147483647,
            "small ints are shared"
        );
        set(&mut con, k, "10000");
        assert_eq!(int(&mut con, &["OBJECT", "REFCOUNT", k]), 1);
        set(&mut con, k, "-5");
        assert_eq!(int(&mut con, &["OBJECT", "REFCOUNT", k]), 1);
        set(&mut con, k, "hello");
        assert_eq!(enc(&mut con, k).as_deref(), Some("embstr"));
        assert_eq!(int(&mut con, &["object", "refcount", k]), 1);
        set(&mut con, k, &long);
        assert_eq!(enc(&mut con, k).as_deref(), Some("raw"));
        assert_eq!(enc(&mut con, "missing"), None);
        assert_eq!(raw(&mut r, &["OBJECT", "FREQ", "missing"]), "$-1");
        assert_eq!(raw(&mut r, &["OBJECT", "IDLETIME", "missing"]), "$-1");
        assert_eq!(raw(&mut r, &["OBJECT", "REFCOUNT", "missing"]), "$-1");

        // FREQ grows with reads and is not itself a read. The counter is logarithmic and
        // probabilistic (at counter c a read bumps it with probability 1/((c-5)*10+1)), so
        // read enough times that staying put is vanishingly unlikely.
        let f0 = int(&mut con, &["OBJECT", "FREQ", k]);
        assert_eq!(int(&mut con, &["OBJECT", "FREQ", k]), f0);
        let mut pipe = redis::pipe();
        for _ in 0..1000 {
            pipe.cmd("GET").arg(k).ignore();
        }
        let _: () = pipe.query(&mut con).unwrap();
        let f1 = int(&mut con, &["OBJECT", "FREQ", k]);
        assert!(f1 > f0, "{f0} -> {f1}");
    }

    // IDLETIME counts seconds since the last access; introspection does not reset it.
    std::thread::sleep(Duration::from_millis(2100));
    for k in [&a, &b] {
        let _: i64 = redis::cmd("EXISTS").arg(k).query(&mut con).unwrap();
        let _: String = redis::cmd("TYPE").arg(k).query(&mut con).unwrap();
        let _: i64 = redis::cmd("TTL").arg(k).query(&mut con).unwrap();
        let _: Option<String> = redis::cmd("OBJECT")
            .arg("ENCODING")
            .arg(k)
            .query(&mut con)
            .unwrap();
        let idle = int(&mut con, &["OBJECT", "IDLETIME", k]);
        assert!((2..=4).contains(&idle), "idle {idle}");
    }
    // A read or TOUCH resets it.
    get(&mut con, &a);
    assert_eq!(int(&mut con, &["TOUCH", &b]), 1);
    assert_eq!(int(&mut con, &["OBJECT", "IDLETIME", &a]), 0);
    assert_eq!(int(&mut con, &["OBJECT", "IDLETIME", &b]), 0);

    // HELP and errors.
    let help: Vec<String> = redis::cmd("OBJECT").arg("HELP").query(&mut con).unwrap();
    assert_eq!(
        help[0],
        "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"
    );
    for sub in [
        "ENCODING <key>",
        "FREQ <key>",
        "IDLETIME <key>",
        "REFCOUNT <key>",
        "HELP",
    ] {
        assert!(help.iter().any(|l| l == sub), "{sub}");
    }
    assert_eq!(
        raw(&mut r, &["OBJECT", "foo"]),
        "-ERR unknown subcommand 'foo'. Try OBJECT HELP."
    );
    assert_eq!(
        raw(&mut r, &["OBJECT", "foo", &a]),
        "-ERR unknown subcommand 'foo'. Try OBJECT HELP."
    );
    assert_eq!(
        raw(&mut r, &["OBJECT", "ENCODING"]),
        "-ERR wrong number of arguments for 'object|encoding' command"
    );
    assert_eq!(
        raw(&mut r, &["OBJECT", "Freq", &a, &b]),
        "-ERR wrong number of arguments for 'object|freq' command"
    );
    assert_eq!(
        raw(&mut r, &["OBJECT", "HELP", "x"]),
        "-ERR wrong number of arguments for 'object|help' command"
    );
    assert_eq!(
        raw(&mut r, &["OBJECT"]),
        "-ERR wrong number of arguments for 'object' command"
    );
}

#[test]
fn expired_keys_are_invisible_to_generic_commands() {
    let server = Server::start();
    let mut con = server.con();
    let mut r = server.raw();
    let (a, b) = pair("gone");
    let (x, y) = pair("live");
    set(&mut con, &x, "1");
    set(&mut con, &y, "1");
    for k in [&a, &b] {
        let _: () = redis::cmd("SET")
            .arg(k)
            .arg("v")
            .arg("PX")
            .arg(1)
            .query(&mut con)
            .unwrap();
    }
    std::thread::sleep(Duration::from_millis(20));
    for k in [&a, &b] {
        assert_eq!(raw(&mut r, &["TYPE", k]), "+none");
        assert_eq!(raw(&mut r, &["TTL", k]), ":-2");
        assert_eq!(raw(&mut r, &["OBJECT", "ENCODING", k]), "$-1");
        assert_eq!(raw(&mut r, &["COPY", k, "copy"]), ":0");
        assert_eq!(raw(&mut r, &["MOVE", k, "1"]), ":0");
        assert_eq!(raw(&mut r, &["RENAME", k, "renamed"]), "-ERR no such key");
    }
    assert_eq!(int(&mut con, &["EXISTS", &a, &b, &x, &y]), 2);
    assert_eq!(int(&mut con, &["TOUCH", &a, &b, &x, &y]), 2);
    assert_eq!(int(&mut con, &["DEL", &a, &b]), 0);
    let (_, keys): (String, Vec<String>) = redis::cmd("SCAN")
        .arg(0)
        .arg("COUNT")
        .arg(1000)
        .query(&mut con)
        .unwrap();
    let keys: HashSet<String> = keys.into_iter().collect();
    assert_eq!(keys, [x.clone(), y.clone()].into_iter().collect());
}

#[test]
fn scan_and_moves_with_one_and_three_shards() {
    for shards in [1, 3] {
        let server = Server::start_with(shards, &[]);
        let mut con = server.con();
        let all: Vec<String> = (0..300).map(|i| format!("k{i}")).collect();
        let used: HashSet<usize> = all.iter().map(|k| shard_of(k.as_bytes(), shards)).collect();
        assert_eq!(used.len(), shards);
        for k in &all {
            set(&mut con, k, "v");
        }
        let (seen, _) = scan_all(&mut con, &["COUNT", "4"]);
        assert_eq!(seen.len(), 300, "{shards} shards");
        assert_eq!(
            seen.iter().collect::<HashSet<_>>(),
            all.iter().collect::<HashSet<_>>()
        );
        let k: String = redis::cmd("RANDOMKEY").query(&mut con).unwrap();
        assert!(all.contains(&k));
        // Keys on every pair of shards.
        for i in 0..shards {
            let j = (i + 1) % shards;
            let src = keys_on_shard(i, shards, 1, "src")[0].clone();
            let dst = keys_on_shard(j, shards, 1, "dst")[0].clone();
            let _: () = redis::cmd("SET")
                .arg(&src)
                .arg("x")
                .arg("EX")
                .arg(77)
                .query(&mut con)
                .unwrap();
            let _: () = redis::cmd("RENAME")
                .arg(&src)
                .arg(&dst)
                .query(&mut con)
                .unwrap();
            assert_eq!(int(&mut con, &["TTL", &dst]), 77);
            assert_eq!(int(&mut con, &["COPY", &dst, &src]), 1);
            assert_eq!(int(&mut con, &["EXISTS", &src, &dst]), 2);
            assert_eq!(int(&mut con, &["DEL", &src, &dst]), 2);
        }
    }
}
