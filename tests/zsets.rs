//! The sorted-set command family against the real server: every command, its options and
//! errors, range edge cases, multi-key commands on hash-tagged keys and across shards,
//! encodings, RESP3 replies, ZSCAN guarantees, and a randomized comparison with a model.

mod common;

use std::collections::{BTreeMap, HashSet};

use common::{keys_on_shard, RawCon, Server};

macro_rules! q {
    ($c:expr, $($a:expr),+ $(,)?) => { $c.call(&[$(AsRef::<str>::as_ref(&$a)),+]) };
}

fn int(n: i64) -> String {
    format!(":{n}\r\n")
}

fn bulk(s: &str) -> String {
    format!("${}\r\n{}\r\n", s.len(), s)
}

/// A flat array of bulk strings (RESP2 WITHSCORES replies, member lists).
fn arr(items: &[&str]) -> String {
    let mut s = format!("*{}\r\n", items.len());
    for i in items {
        s.push_str(&bulk(i));
    }
    s
}

const NULL: &str = "$-1\r\n";
const EMPTY: &str = "*0\r\n";
const WRONGTYPE: &str = "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";
const SYNTAX: &str = "-ERR syntax error\r\n";
const NOT_INT: &str = "-ERR value is not an integer or out of range\r\n";
const NOT_FLOAT: &str = "-ERR value is not a valid float\r\n";
const RANGE_NOT_FLOAT: &str = "-ERR min or max is not a float\r\n";
const RANGE_NOT_LEX: &str = "-ERR min or max not valid string range item\r\n";

/// A connection switched to RESP3.
fn resp3(server: &Server) -> RawCon {
    let mut c = server.raw();
    let hello = c.call(&["HELLO", "3"]);
    assert!(hello.starts_with('%'), "{hello}");
    c
}

/// The bulk strings of a reply, in order.
fn bulks(reply: &str) -> Vec<String> {
    let mut lines = reply.split("\r\n");
    let mut out = Vec::new();
    while let Some(l) = lines.next() {
        if l.starts_with('$') && l != "$-1" {
            out.push(lines.next().unwrap_or_default().to_string());
        }
    }
    out
}

fn zadd_many(c: &mut RawCon, key: &str, pairs: &[(f64, String)]) -> String {
    let mut args: Vec<String> = vec!["ZADD".into(), key.into()];
    for (s, m) in pairs {
        args.push(s.to_string());
        args.push(m.clone());
    }
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    c.call(&refs)
}

#[test]
fn zadd_options_and_errors() {
    let server = Server::start();
    let mut c = server.raw();
    assert_eq!(q!(c, "ZADD", "z", "1", "a", "2", "b", "1", "a"), int(2));
    assert_eq!(q!(c, "ZCARD", "z"), int(2));
    assert_eq!(
        q!(c, "ZADD", "z", "3", "a"),
        int(0),
        "an update is not an add"
    );
    assert_eq!(q!(c, "ZSCORE", "z", "a"), bulk("3"));
    assert_eq!(
        q!(c, "ZADD", "z", "CH", "4", "a", "2", "b", "9", "c"),
        int(2)
    );
    // NX: only new members; XX: only existing ones.
    assert_eq!(q!(c, "ZADD", "z", "NX", "100", "a", "1", "d"), int(1));
    assert_eq!(q!(c, "ZSCORE", "z", "a"), bulk("4"));
    assert_eq!(q!(c, "ZADD", "z", "XX", "CH", "5", "a", "1", "e"), int(1));
    assert_eq!(q!(c, "ZSCORE", "z", "e"), NULL);
    assert_eq!(q!(c, "ZADD", "nokey", "XX", "1", "a"), int(0));
    assert_eq!(
        q!(c, "EXISTS", "nokey"),
        int(0),
        "XX on a missing key creates nothing"
    );
    // GT / LT update only in their direction, but still add new members.
    assert_eq!(q!(c, "ZADD", "z", "GT", "CH", "1", "a", "1", "f"), int(1));
    assert_eq!(q!(c, "ZSCORE", "z", "a"), bulk("5"));
    assert_eq!(q!(c, "ZADD", "z", "GT", "CH", "6", "a"), int(1));
    assert_eq!(q!(c, "ZADD", "z", "LT", "CH", "7", "a"), int(0));
    assert_eq!(q!(c, "ZADD", "z", "LT", "CH", "-1", "a"), int(1));
    assert_eq!(
        q!(c, "ZADD", "z", "XX", "GT", "CH", "0", "a", "0", "zz"),
        int(1)
    );
    // INCR.
    assert_eq!(q!(c, "ZADD", "z", "INCR", "2.5", "a"), bulk("2.5"));
    assert_eq!(q!(c, "ZADD", "z", "INCR", "1", "new"), bulk("1"));
    assert_eq!(q!(c, "ZADD", "z", "NX", "INCR", "1", "new"), NULL);
    assert_eq!(q!(c, "ZADD", "z", "XX", "INCR", "1", "nope"), NULL);
    assert_eq!(q!(c, "ZADD", "z", "GT", "INCR", "-1", "new"), NULL);
    assert_eq!(q!(c, "ZADD", "z", "GT", "INCR", "1", "new"), bulk("2"));
    assert_eq!(q!(c, "ZADD", "z", "CH", "INCR", "0", "new"), bulk("2"));
    assert_eq!(q!(c, "ZADD", "nokey", "XX", "INCR", "1", "a"), NULL);
    assert_eq!(q!(c, "EXISTS", "nokey"), int(0));
    // A member named twice: the later pair wins and both count with CH.
    assert_eq!(q!(c, "ZADD", "dup", "CH", "1", "m", "2", "m"), int(2));
    assert_eq!(q!(c, "ZSCORE", "dup", "m"), bulk("2"));
    assert_eq!(q!(c, "ZADD", "dup", "CH", "1", "m", "2", "m"), int(2));
    assert_eq!(q!(c, "ZADD", "dup", "CH", "2", "m"), int(0));
    // Errors.
    assert_eq!(
        q!(c, "ZADD", "z", "XX", "NX", "1", "a"),
        "-ERR XX and NX options at the same time are not compatible\r\n"
    );
    for flags in [["GT", "LT"], ["NX", "GT"], ["LT", "NX"]] {
        assert_eq!(
            q!(c, "ZADD", "z", flags[0], flags[1], "1", "a"),
            "-ERR GT, LT, and/or NX options at the same time are not compatible\r\n"
        );
    }
    assert_eq!(
        q!(c, "ZADD", "z", "INCR", "1", "a", "2", "b"),
        "-ERR INCR option supports a single increment-element pair\r\n"
    );
    assert_eq!(q!(c, "ZADD", "z", "1", "a", "2"), SYNTAX);
    assert_eq!(q!(c, "ZADD", "z", "FOO", "1", "a"), SYNTAX);
    assert_eq!(q!(c, "ZADD", "z", "NX", "CH"), SYNTAX);
    assert_eq!(q!(c, "ZADD", "z", "nan", "a"), NOT_FLOAT);
    assert_eq!(q!(c, "ZADD", "z", "1", "a", "x", "b"), NOT_FLOAT);
    assert_eq!(q!(c, "ZADD", "z", "1e999", "a"), NOT_FLOAT);
    assert_eq!(q!(c, "ZADD", "z"), common::arity_err("zadd"));
    assert_eq!(q!(c, "ZADD", "z", "1"), common::arity_err("zadd"));
    // A failed call changes nothing.
    assert_eq!(q!(c, "ZSCORE", "z", "b"), bulk("2"));
    // Infinities and NaN results.
    assert_eq!(q!(c, "ZADD", "inf", "+inf", "a", "-inf", "b"), int(2));
    assert_eq!(q!(c, "ZSCORE", "inf", "a"), bulk("inf"));
    assert_eq!(q!(c, "ZSCORE", "inf", "b"), bulk("-inf"));
    let nan = "-ERR resulting score is not a number (NaN)\r\n";
    assert_eq!(q!(c, "ZADD", "inf", "INCR", "-inf", "a"), nan);
    assert_eq!(q!(c, "ZINCRBY", "inf", "+inf", "b"), nan);
    assert_eq!(q!(c, "ZSCORE", "inf", "a"), bulk("inf"));
}

#[test]
fn zincrby_zscore_zmscore_zrem_zcard() {
    let server = Server::start();
    let mut c = server.raw();
    assert_eq!(q!(c, "ZINCRBY", "z", "2", "a"), bulk("2"));
    assert_eq!(q!(c, "ZINCRBY", "z", "0.5", "a"), bulk("2.5"));
    assert_eq!(q!(c, "ZINCRBY", "z", "-10", "a"), bulk("-7.5"));
    assert_eq!(q!(c, "ZINCRBY", "z", "x", "a"), NOT_FLOAT);
    assert_eq!(q!(c, "ZINCRBY", "z", "1"), common::arity_err("zincrby"));
    assert_eq!(q!(c, "ZADD", "z", "1", "b", "2", "c"), int(2));
    assert_eq!(q!(c, "ZSCORE", "z", "c"), bulk("2"));
    assert_eq!(q!(c, "ZSCORE", "z", "nope"), NULL);
    assert_eq!(q!(c, "ZSCORE", "nokey", "a"), NULL);
    assert_eq!(
        q!(c, "ZMSCORE", "z", "a", "nope", "c"),
        "*3\r\n$4\r\n-7.5\r\n$-1\r\n$1\r\n2\r\n"
    );
    assert_eq!(q!(c, "ZMSCORE", "nokey", "a", "b"), "*2\r\n$-1\r\n$-1\r\n");
    assert_eq!(q!(c, "ZMSCORE", "z"), common::arity_err("zmscore"));
    assert_eq!(q!(c, "ZCARD", "z"), int(3));
    assert_eq!(q!(c, "ZCARD", "nokey"), int(0));
    assert_eq!(q!(c, "ZREM", "z", "a", "a", "nope"), int(1));
    assert_eq!(q!(c, "ZREM", "z", "nope"), int(0));
    assert_eq!(q!(c, "ZREM", "nokey", "a"), int(0));
    assert_eq!(q!(c, "ZREM", "z", "b", "c"), int(2));
    assert_eq!(
        q!(c, "EXISTS", "z"),
        int(0),
        "an emptied sorted set is deleted"
    );
    assert_eq!(q!(c, "ZREM", "z"), common::arity_err("zrem"));
    // Binary-safe members.
    let mut raw = server.raw();
    raw.send(&common::encode(&[
        b"ZADD".as_slice(),
        b"bin",
        b"1",
        b"a\r\n\0b",
    ]));
    assert_eq!(raw.read_reply(), int(1));
    raw.send(&common::encode(&[
        b"ZSCORE".as_slice(),
        b"bin",
        b"a\r\n\0b",
    ]));
    assert_eq!(raw.read_reply(), bulk("1"));
    assert_eq!(q!(c, "TYPE", "bin"), "+zset\r\n");
}

#[test]
fn score_formatting() {
    let server = Server::start();
    let mut c = server.raw();
    for (input, shown) in [
        ("0.1", "0.1"),
        ("1.5e-7", "1.5e-7"),
        ("12345678.25", "12345678.25"),
        ("-3", "-3"),
        ("1e18", "1000000000000000000"),
        ("1e20", "1e+20"),
        ("1e22", "1e+22"),
        ("3.0", "3"),
        ("+inf", "inf"),
        ("-inf", "-inf"),
        ("007", "7"),
        (".5", "0.5"),
    ] {
        q!(c, "ZADD", "f", input, "m");
        assert_eq!(q!(c, "ZSCORE", "f", "m"), bulk(shown), "{input}");
    }
    assert_eq!(q!(c, "ZINCRBY", "g", "0.1", "m"), bulk("0.1"));
    assert_eq!(
        q!(c, "ZINCRBY", "g", "0.2", "m"),
        bulk("0.30000000000000004")
    );
}

#[test]
fn ranks_and_counts() {
    let server = Server::start();
    let mut c = server.raw();
    q!(c, "ZADD", "z", "1", "a", "2", "b", "2", "c", "3.5", "d");
    assert_eq!(q!(c, "ZRANK", "z", "a"), int(0));
    assert_eq!(q!(c, "ZRANK", "z", "c"), int(2));
    assert_eq!(q!(c, "ZREVRANK", "z", "a"), int(3));
    assert_eq!(q!(c, "ZREVRANK", "z", "d"), int(0));
    assert_eq!(q!(c, "ZRANK", "z", "nope"), NULL);
    assert_eq!(q!(c, "ZRANK", "nokey", "a"), NULL);
    assert_eq!(
        q!(c, "ZRANK", "z", "d", "WITHSCORE"),
        "*2\r\n:3\r\n$3\r\n3.5\r\n"
    );
    assert_eq!(
        q!(c, "ZREVRANK", "z", "b", "withscore"),
        "*2\r\n:2\r\n$1\r\n2\r\n"
    );
    assert_eq!(q!(c, "ZRANK", "z", "nope", "WITHSCORE"), "*-1\r\n");
    assert_eq!(q!(c, "ZREVRANK", "nokey", "a", "WITHSCORE"), "*-1\r\n");
    assert_eq!(q!(c, "ZRANK", "z", "a", "FOO"), SYNTAX);
    assert_eq!(
        q!(c, "ZRANK", "z", "a", "WITHSCORE", "x"),
        common::arity_err("zrank")
    );
    assert_eq!(q!(c, "ZRANK", "z"), common::arity_err("zrank"));
    // ZCOUNT.
    assert_eq!(q!(c, "ZCOUNT", "z", "-inf", "+inf"), int(4));
    assert_eq!(q!(c, "ZCOUNT", "z", "2", "2"), int(2));
    assert_eq!(q!(c, "ZCOUNT", "z", "(1", "3.5"), int(3));
    assert_eq!(q!(c, "ZCOUNT", "z", "(1", "(3.5"), int(2));
    assert_eq!(q!(c, "ZCOUNT", "z", "(2", "(2"), int(0));
    assert_eq!(q!(c, "ZCOUNT", "z", "3", "1"), int(0));
    assert_eq!(q!(c, "ZCOUNT", "z", "100", "+inf"), int(0));
    assert_eq!(q!(c, "ZCOUNT", "nokey", "0", "1"), int(0));
    assert_eq!(q!(c, "ZCOUNT", "z", "a", "1"), RANGE_NOT_FLOAT);
    assert_eq!(q!(c, "ZCOUNT", "z", "1", "(x"), RANGE_NOT_FLOAT);
    assert_eq!(q!(c, "ZCOUNT", "z", "nan", "1"), RANGE_NOT_FLOAT);
    assert_eq!(q!(c, "ZCOUNT", "nokey", "x", "1"), RANGE_NOT_FLOAT);
    // ZLEXCOUNT.
    q!(c, "ZADD", "l", "0", "a", "0", "b", "0", "c", "0", "d");
    assert_eq!(q!(c, "ZLEXCOUNT", "l", "-", "+"), int(4));
    assert_eq!(q!(c, "ZLEXCOUNT", "l", "[b", "[c"), int(2));
    assert_eq!(q!(c, "ZLEXCOUNT", "l", "(a", "(d"), int(2));
    assert_eq!(q!(c, "ZLEXCOUNT", "l", "+", "-"), int(0));
    assert_eq!(q!(c, "ZLEXCOUNT", "l", "[z", "+"), int(0));
    assert_eq!(q!(c, "ZLEXCOUNT", "nokey", "-", "+"), int(0));
    assert_eq!(q!(c, "ZLEXCOUNT", "l", "a", "+"), RANGE_NOT_LEX);
    assert_eq!(q!(c, "ZLEXCOUNT", "l", "-", "+x"), RANGE_NOT_LEX);
}

#[test]
fn zrange_by_rank() {
    let server = Server::start();
    let mut c = server.raw();
    q!(c, "ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d");
    assert_eq!(q!(c, "ZRANGE", "z", "0", "-1"), arr(&["a", "b", "c", "d"]));
    assert_eq!(
        q!(c, "ZRANGE", "z", "1", "2", "WITHSCORES"),
        arr(&["b", "2", "c", "3"])
    );
    assert_eq!(q!(c, "ZRANGE", "z", "-2", "-1"), arr(&["c", "d"]));
    assert_eq!(
        q!(c, "ZRANGE", "z", "-100", "100"),
        arr(&["a", "b", "c", "d"])
    );
    assert_eq!(q!(c, "ZRANGE", "z", "2", "1"), EMPTY);
    assert_eq!(q!(c, "ZRANGE", "z", "4", "10"), EMPTY);
    assert_eq!(q!(c, "ZRANGE", "z", "-100", "-50"), EMPTY);
    assert_eq!(q!(c, "ZRANGE", "nokey", "0", "-1"), EMPTY);
    assert_eq!(
        q!(c, "ZRANGE", "z", "0", "-1", "REV"),
        arr(&["d", "c", "b", "a"])
    );
    assert_eq!(
        q!(c, "ZRANGE", "z", "1", "5", "REV", "WITHSCORES"),
        arr(&["c", "3", "b", "2", "a", "1"])
    );
    assert_eq!(q!(c, "ZREVRANGE", "z", "0", "1"), arr(&["d", "c"]));
    assert_eq!(
        q!(c, "ZREVRANGE", "z", "-1", "-1", "WITHSCORES"),
        arr(&["a", "1"])
    );
    // `LIMIT x -1` is no limit and allowed with a rank range; anything else is not.
    assert_eq!(
        q!(c, "ZRANGE", "z", "0", "-1", "LIMIT", "5", "-1"),
        arr(&["a", "b", "c", "d"])
    );
    let limit_err =
        "-ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX\r\n";
    assert_eq!(
        q!(c, "ZRANGE", "z", "0", "-1", "LIMIT", "0", "1"),
        limit_err
    );
    assert_eq!(
        q!(c, "ZREVRANGE", "z", "0", "-1", "LIMIT", "0", "1"),
        limit_err
    );
    assert_eq!(q!(c, "ZRANGE", "z", "x", "1"), NOT_INT);
    assert_eq!(q!(c, "ZRANGE", "z", "0", "1.5"), NOT_INT);
    assert_eq!(q!(c, "ZREVRANGE", "z", "0", "-1", "REV"), SYNTAX);
}

#[test]
fn zrange_by_score() {
    let server = Server::start();
    let mut c = server.raw();
    q!(c, "ZADD", "z", "-inf", "n", "1", "a", "2", "b", "2", "c", "3", "d", "+inf", "p");
    assert_eq!(
        q!(c, "ZRANGE", "z", "-inf", "+inf", "BYSCORE"),
        arr(&["n", "a", "b", "c", "d", "p"])
    );
    assert_eq!(
        q!(c, "ZRANGE", "z", "(1", "3", "BYSCORE", "WITHSCORES"),
        arr(&["b", "2", "c", "2", "d", "3"])
    );
    assert_eq!(q!(c, "ZRANGE", "z", "(2", "(3", "BYSCORE"), EMPTY);
    assert_eq!(q!(c, "ZRANGE", "z", "3", "1", "BYSCORE"), EMPTY);
    assert_eq!(
        q!(c, "ZRANGE", "z", "(-inf", "(+inf", "BYSCORE"),
        arr(&["a", "b", "c", "d"])
    );
    // REV takes max first.
    assert_eq!(
        q!(c, "ZRANGE", "z", "3", "(1", "BYSCORE", "REV", "WITHSCORES"),
        arr(&["d", "3", "c", "2", "b", "2"])
    );
    assert_eq!(q!(c, "ZRANGE", "z", "1", "3", "BYSCORE", "REV"), EMPTY);
    // LIMIT: offset then count; a negative count is no limit, a negative offset nothing.
    assert_eq!(
        q!(c, "ZRANGE", "z", "-inf", "+inf", "BYSCORE", "LIMIT", "1", "2"),
        arr(&["a", "b"])
    );
    assert_eq!(
        q!(c, "ZRANGE", "z", "-inf", "+inf", "BYSCORE", "LIMIT", "4", "-1"),
        arr(&["d", "p"])
    );
    assert_eq!(
        q!(c, "ZRANGE", "z", "-inf", "+inf", "BYSCORE", "LIMIT", "-1", "2"),
        EMPTY
    );
    assert_eq!(
        q!(c, "ZRANGE", "z", "-inf", "+inf", "BYSCORE", "LIMIT", "0", "0"),
        EMPTY
    );
    assert_eq!(
        q!(c, "ZRANGE", "z", "-inf", "+inf", "BYSCORE", "LIMIT", "6", "5"),
        EMPTY
    );
    assert_eq!(
        q!(
            c,
            "ZRANGE",
            "z",
            "+inf",
            "-inf",
            "BYSCORE",
            "REV",
            "LIMIT",
            "1",
            "2",
            "WITHSCORES"
        ),
        arr(&["d", "3", "c", "2"])
    );
    // The older spellings.
    assert_eq!(
        q!(
            c,
            "ZRANGEBYSCORE",
            "z",
            "1",
            "2",
            "WITHSCORES",
            "LIMIT",
            "1",
            "5"
        ),
        arr(&["b", "2", "c", "2"])
    );
    assert_eq!(
        q!(
            c,
            "ZRANGEBYSCORE",
            "z",
            "-inf",
            "+inf",
            "LIMIT",
            "1",
            "2",
            "LIMIT",
            "0",
            "1"
        ),
        arr(&["n"]),
        "the last LIMIT wins"
    );
    assert_eq!(
        q!(c, "ZREVRANGEBYSCORE", "z", "(3", "-inf"),
        arr(&["c", "b", "a", "n"])
    );
    assert_eq!(
        q!(
            c,
            "ZREVRANGEBYSCORE",
            "z",
            "+inf",
            "-inf",
            "WITHSCORES",
            "LIMIT",
            "0",
            "2"
        ),
        arr(&["p", "inf", "d", "3"])
    );
    assert_eq!(q!(c, "ZRANGEBYSCORE", "nokey", "0", "1"), EMPTY);
    assert_eq!(q!(c, "ZRANGEBYSCORE", "z", "0", "x"), RANGE_NOT_FLOAT);
    assert_eq!(q!(c, "ZRANGE", "z", "(", "1", "BYSCORE"), RANGE_NOT_FLOAT);
    assert_eq!(q!(c, "ZRANGEBYSCORE", "z", "0", "1", "LIMIT", "1"), SYNTAX);
    assert_eq!(
        q!(c, "ZRANGEBYSCORE", "z", "0", "1", "LIMIT", "x", "1"),
        NOT_INT
    );
    assert_eq!(q!(c, "ZRANGEBYSCORE", "z", "0", "1", "BYSCORE"), SYNTAX);
    assert_eq!(q!(c, "ZRANGEBYSCORE", "z", "0", "1", "REV"), SYNTAX);
}

#[test]
fn zrange_by_lex() {
    let server = Server::start();
    let mut c = server.raw();
    q!(c, "ZADD", "l", "0", "a", "0", "b", "0", "c", "0", "d", "0", "e");
    assert_eq!(q!(c, "ZRANGE", "l", "[b", "(d", "BYLEX"), arr(&["b", "c"]));
    assert_eq!(q!(c, "ZRANGEBYLEX", "l", "-", "[b"), arr(&["a", "b"]));
    assert_eq!(q!(c, "ZRANGEBYLEX", "l", "(c", "+"), arr(&["d", "e"]));
    assert_eq!(q!(c, "ZRANGEBYLEX", "l", "+", "-"), EMPTY);
    assert_eq!(q!(c, "ZRANGEBYLEX", "l", "[d", "[b"), EMPTY);
    assert_eq!(
        q!(c, "ZRANGEBYLEX", "l", "-", "+", "LIMIT", "1", "2"),
        arr(&["b", "c"])
    );
    assert_eq!(
        q!(c, "ZREVRANGEBYLEX", "l", "+", "-", "LIMIT", "1", "2"),
        arr(&["d", "c"])
    );
    assert_eq!(
        q!(c, "ZREVRANGEBYLEX", "l", "(d", "[a"),
        arr(&["c", "b", "a"])
    );
    assert_eq!(
        q!(c, "ZRANGE", "l", "[e", "(b", "BYLEX", "REV"),
        arr(&["e", "d", "c"])
    );
    assert_eq!(q!(c, "ZRANGEBYLEX", "nokey", "-", "+"), EMPTY);
    assert_eq!(q!(c, "ZRANGEBYLEX", "l", "a", "+"), RANGE_NOT_LEX);
    assert_eq!(q!(c, "ZRANGE", "l", "-", "b", "BYLEX"), RANGE_NOT_LEX);
    let ws = "-ERR syntax error, WITHSCORES not supported in combination with BYLEX\r\n";
    assert_eq!(q!(c, "ZRANGEBYLEX", "l", "-", "+", "WITHSCORES"), ws);
    assert_eq!(q!(c, "ZRANGE", "l", "-", "+", "BYLEX", "WITHSCORES"), ws);
    assert_eq!(q!(c, "ZRANGE", "l", "-", "+", "BYLEX", "BYSCORE"), SYNTAX);
    assert_eq!(q!(c, "ZRANGE", "l", "0", "1", "REV", "REV"), SYNTAX);
    assert_eq!(q!(c, "ZRANGE", "l", "0", "1", "FOO"), SYNTAX);
    assert_eq!(q!(c, "ZRANGE", "l", "0"), common::arity_err("zrange"));
}

#[test]
fn zrangestore_cases() {
    let server = Server::start();
    let mut c = server.raw();
    q!(c, "ZADD", "{s}z", "1", "a", "2", "b", "3", "c", "4", "d");
    q!(c, "SET", "{s}dst", "old", "EX", "100");
    assert_eq!(q!(c, "ZRANGESTORE", "{s}dst", "{s}z", "1", "2"), int(2));
    assert_eq!(q!(c, "TTL", "{s}dst"), int(-1));
    assert_eq!(
        q!(c, "ZRANGE", "{s}dst", "0", "-1", "WITHSCORES"),
        arr(&["b", "2", "c", "3"])
    );
    assert_eq!(
        q!(
            c,
            "ZRANGESTORE",
            "{s}dst",
            "{s}z",
            "(1",
            "+inf",
            "BYSCORE",
            "LIMIT",
            "0",
            "2"
        ),
        int(2)
    );
    assert_eq!(q!(c, "ZRANGE", "{s}dst", "0", "-1"), arr(&["b", "c"]));
    assert_eq!(
        q!(c, "ZRANGESTORE", "{s}dst", "{s}z", "0", "1", "REV"),
        int(2)
    );
    assert_eq!(q!(c, "ZRANGE", "{s}dst", "0", "-1"), arr(&["c", "d"]));
    assert_eq!(
        q!(c, "ZRANGESTORE", "{s}dst", "{s}z", "[a", "[b", "BYLEX"),
        int(2)
    );
    // The destination may be the source.
    assert_eq!(q!(c, "ZRANGESTORE", "{s}z", "{s}z", "0", "1"), int(2));
    assert_eq!(q!(c, "ZRANGE", "{s}z", "0", "-1"), arr(&["a", "b"]));
    // Empty results delete the destination.
    assert_eq!(q!(c, "ZRANGESTORE", "{s}dst", "{s}z", "5", "10"), int(0));
    assert_eq!(q!(c, "EXISTS", "{s}dst"), int(0));
    q!(c, "SET", "{s}dst", "x");
    assert_eq!(
        q!(c, "ZRANGESTORE", "{s}dst", "{s}nokey", "0", "-1"),
        int(0)
    );
    assert_eq!(q!(c, "EXISTS", "{s}dst"), int(0));
    assert_eq!(
        q!(c, "ZRANGESTORE", "{s}dst", "{s}z", "0", "-1", "WITHSCORES"),
        SYNTAX
    );
    assert_eq!(
        q!(c, "ZRANGESTORE", "{s}dst", "{s}z", "0", "-1", "LIMIT", "0", "1"),
        "-ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX\r\n"
    );
    q!(c, "SET", "{s}str", "x");
    assert_eq!(
        q!(c, "ZRANGESTORE", "{s}dst", "{s}str", "0", "-1"),
        WRONGTYPE
    );
    assert_eq!(
        q!(c, "ZRANGESTORE", "{s}dst", "{s}z", "0"),
        common::arity_err("zrangestore")
    );
}

#[test]
fn zremrange_commands() {
    let server = Server::start();
    let mut c = server.raw();
    let fill = |c: &mut RawCon| {
        q!(c, "DEL", "z");
        q!(c, "ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e");
    };
    fill(&mut c);
    assert_eq!(q!(c, "ZREMRANGEBYRANK", "z", "1", "2"), int(2));
    assert_eq!(q!(c, "ZRANGE", "z", "0", "-1"), arr(&["a", "d", "e"]));
    assert_eq!(q!(c, "ZREMRANGEBYRANK", "z", "-1", "-1"), int(1));
    assert_eq!(q!(c, "ZREMRANGEBYRANK", "z", "5", "10"), int(0));
    assert_eq!(q!(c, "ZREMRANGEBYRANK", "z", "1", "0"), int(0));
    assert_eq!(q!(c, "ZREMRANGEBYRANK", "z", "0", "100"), int(2));
    assert_eq!(q!(c, "EXISTS", "z"), int(0));
    fill(&mut c);
    assert_eq!(q!(c, "ZREMRANGEBYSCORE", "z", "(1", "3"), int(2));
    assert_eq!(q!(c, "ZREMRANGEBYSCORE", "z", "10", "+inf"), int(0));
    assert_eq!(q!(c, "ZRANGE", "z", "0", "-1"), arr(&["a", "d", "e"]));
    assert_eq!(q!(c, "ZREMRANGEBYSCORE", "z", "-inf", "+inf"), int(3));
    assert_eq!(q!(c, "EXISTS", "z"), int(0));
    q!(c, "ZADD", "l", "0", "a", "0", "b", "0", "c", "0", "d");
    assert_eq!(q!(c, "ZREMRANGEBYLEX", "l", "(", "[b"), int(2));
    assert_eq!(q!(c, "ZRANGE", "l", "0", "-1"), arr(&["c", "d"]));
    assert_eq!(q!(c, "ZREMRANGEBYLEX", "l", "-", "+"), int(2));
    assert_eq!(q!(c, "EXISTS", "l"), int(0));
    for (cmd, min, max) in [
        ("ZREMRANGEBYRANK", "0", "-1"),
        ("ZREMRANGEBYSCORE", "-inf", "+inf"),
        ("ZREMRANGEBYLEX", "-", "+"),
    ] {
        assert_eq!(q!(c, cmd, "nokey", min, max), int(0), "{cmd}");
    }
    assert_eq!(q!(c, "ZREMRANGEBYRANK", "z", "a", "1"), NOT_INT);
    assert_eq!(q!(c, "ZREMRANGEBYSCORE", "z", "a", "1"), RANGE_NOT_FLOAT);
    assert_eq!(q!(c, "ZREMRANGEBYLEX", "z", "a", "+"), RANGE_NOT_LEX);
}

#[test]
fn pops_and_zmpop() {
    let server = Server::start();
    let mut c = server.raw();
    q!(c, "ZADD", "{p}z", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e");
    assert_eq!(q!(c, "ZPOPMIN", "{p}z"), arr(&["a", "1"]));
    assert_eq!(q!(c, "ZPOPMAX", "{p}z"), arr(&["e", "5"]));
    assert_eq!(q!(c, "ZPOPMIN", "{p}z", "2"), arr(&["b", "2", "c", "3"]));
    assert_eq!(q!(c, "ZPOPMIN", "{p}z", "0"), EMPTY);
    assert_eq!(q!(c, "ZPOPMAX", "{p}z", "10"), arr(&["d", "4"]));
    assert_eq!(q!(c, "EXISTS", "{p}z"), int(0));
    assert_eq!(q!(c, "ZPOPMIN", "{p}nokey"), EMPTY);
    assert_eq!(q!(c, "ZPOPMAX", "{p}nokey", "3"), EMPTY);
    let positive = "-ERR value is out of range, must be positive\r\n";
    assert_eq!(q!(c, "ZPOPMIN", "{p}z", "-1"), positive);
    assert_eq!(q!(c, "ZPOPMIN", "{p}z", "x"), positive);
    assert_eq!(q!(c, "ZPOPMIN", "{p}z", "1", "2"), SYNTAX);
    // ZMPOP: the first non-empty key; pairs are nested in RESP2 too.
    q!(c, "ZADD", "{p}b", "1", "x", "2", "y", "3", "z");
    assert_eq!(
        q!(c, "ZMPOP", "2", "{p}nokey", "{p}b", "MIN"),
        "*2\r\n$4\r\n{p}b\r\n*1\r\n*2\r\n$1\r\nx\r\n$1\r\n1\r\n"
    );
    assert_eq!(
        q!(c, "ZMPOP", "1", "{p}b", "max", "COUNT", "5"),
        "*2\r\n$4\r\n{p}b\r\n*2\r\n*2\r\n$1\r\nz\r\n$1\r\n3\r\n*2\r\n$1\r\ny\r\n$1\r\n2\r\n"
    );
    assert_eq!(q!(c, "EXISTS", "{p}b"), int(0));
    assert_eq!(q!(c, "ZMPOP", "2", "{p}nokey", "{p}b", "MIN"), "*-1\r\n");
    let numkeys = "-ERR numkeys should be greater than 0\r\n";
    assert_eq!(q!(c, "ZMPOP", "0", "{p}b", "MIN"), numkeys);
    assert_eq!(q!(c, "ZMPOP", "x", "{p}b", "MIN"), numkeys);
    assert_eq!(q!(c, "ZMPOP", "2", "{p}b", "MIN"), SYNTAX);
    assert_eq!(q!(c, "ZMPOP", "1", "{p}b", "FOO"), SYNTAX);
    let count = "-ERR count should be greater than 0\r\n";
    assert_eq!(q!(c, "ZMPOP", "1", "{p}b", "MIN", "COUNT", "0"), count);
    assert_eq!(q!(c, "ZMPOP", "1", "{p}b", "MIN", "COUNT", "x"), count);
    assert_eq!(
        q!(c, "ZMPOP", "1", "{p}b", "MIN", "COUNT", "1", "COUNT", "1"),
        SYNTAX
    );
    assert_eq!(q!(c, "ZMPOP", "1", "{p}b"), common::arity_err("zmpop"));
    q!(c, "SET", "{p}str", "x");
    assert_eq!(q!(c, "ZMPOP", "2", "{p}str", "{p}b", "MIN"), WRONGTYPE);
    assert_eq!(q!(c, "ZPOPMIN", "{p}str"), WRONGTYPE);
}

#[test]
fn algebra_and_store() {
    let server = Server::start();
    let mut c = server.raw();
    q!(c, "ZADD", "{a}1", "1", "a", "2", "b", "3", "c", "4", "d");
    q!(c, "SADD", "{a}s", "a", "x");
    q!(c, "ZADD", "{a}2", "10", "b", "20", "c", "30", "e");
    assert_eq!(
        q!(c, "ZUNION", "2", "{a}1", "{a}s", "WITHSCORES"),
        arr(&["x", "1", "a", "2", "b", "2", "c", "3", "d", "4"])
    );
    assert_eq!(
        q!(
            c,
            "ZUNION",
            "2",
            "{a}1",
            "{a}2",
            "WEIGHTS",
            "2",
            "0.5",
            "WITHSCORES"
        ),
        arr(&["a", "2", "d", "8", "b", "9", "e", "15", "c", "16"])
    );
    assert_eq!(
        q!(
            c,
            "ZUNION",
            "2",
            "{a}1",
            "{a}2",
            "AGGREGATE",
            "MAX",
            "WITHSCORES"
        ),
        arr(&["a", "1", "d", "4", "b", "10", "c", "20", "e", "30"])
    );
    assert_eq!(
        q!(
            c,
            "ZUNION",
            "3",
            "{a}1",
            "{a}2",
            "{a}nokey",
            "AGGREGATE",
            "min"
        ),
        arr(&["a", "b", "c", "d", "e"])
    );
    // 0 × inf is 0; inf + -inf is 0.
    assert_eq!(
        q!(
            c,
            "ZUNION",
            "2",
            "{a}1",
            "{a}s",
            "WEIGHTS",
            "0",
            "inf",
            "WITHSCORES"
        ),
        arr(&["b", "0", "c", "0", "d", "0", "a", "inf", "x", "inf"])
    );
    assert_eq!(
        q!(
            c,
            "ZUNION",
            "2",
            "{a}s",
            "{a}s",
            "WEIGHTS",
            "inf",
            "-inf",
            "WITHSCORES"
        ),
        arr(&["a", "0", "x", "0"])
    );
    assert_eq!(
        q!(c, "ZINTER", "2", "{a}1", "{a}2", "WITHSCORES"),
        arr(&["b", "12", "c", "23"])
    );
    assert_eq!(
        q!(
            c,
            "ZINTER",
            "2",
            "{a}1",
            "{a}2",
            "WEIGHTS",
            "1",
            "-1",
            "AGGREGATE",
            "MIN",
            "WITHSCORES"
        ),
        arr(&["c", "-20", "b", "-10"])
    );
    assert_eq!(q!(c, "ZINTER", "2", "{a}1", "{a}s"), arr(&["a"]));
    assert_eq!(q!(c, "ZINTER", "2", "{a}1", "{a}nokey"), EMPTY);
    assert_eq!(
        q!(c, "ZDIFF", "3", "{a}1", "{a}2", "{a}s", "WITHSCORES"),
        arr(&["d", "4"])
    );
    assert_eq!(
        q!(c, "ZDIFF", "2", "{a}s", "{a}1", "WITHSCORES"),
        arr(&["x", "1"])
    );
    assert_eq!(q!(c, "ZDIFF", "2", "{a}nokey", "{a}1"), EMPTY);
    // STORE forms replace a destination of any type, drop its TTL, and delete it when
    // the result is empty.
    q!(c, "SET", "{a}d", "old", "EX", "100");
    assert_eq!(
        q!(
            c,
            "ZUNIONSTORE",
            "{a}d",
            "2",
            "{a}1",
            "{a}2",
            "WEIGHTS",
            "1",
            "2"
        ),
        int(5)
    );
    assert_eq!(q!(c, "TTL", "{a}d"), int(-1));
    assert_eq!(
        q!(c, "ZRANGE", "{a}d", "0", "-1", "WITHSCORES"),
        arr(&["a", "1", "d", "4", "b", "22", "c", "43", "e", "60"])
    );
    assert_eq!(
        q!(
            c,
            "ZINTERSTORE",
            "{a}d",
            "2",
            "{a}d",
            "{a}2",
            "AGGREGATE",
            "MAX"
        ),
        int(3)
    );
    assert_eq!(
        q!(c, "ZRANGE", "{a}d", "0", "-1", "WITHSCORES"),
        arr(&["b", "22", "c", "43", "e", "60"])
    );
    assert_eq!(q!(c, "ZDIFFSTORE", "{a}d", "2", "{a}1", "{a}2"), int(2));
    assert_eq!(q!(c, "ZRANGE", "{a}d", "0", "-1"), arr(&["a", "d"]));
    assert_eq!(
        q!(c, "ZINTERSTORE", "{a}d", "2", "{a}1", "{a}nokey"),
        int(0)
    );
    assert_eq!(q!(c, "EXISTS", "{a}d"), int(0));
    q!(c, "SET", "{a}d", "x");
    assert_eq!(q!(c, "ZDIFFSTORE", "{a}d", "2", "{a}1", "{a}1"), int(0));
    assert_eq!(q!(c, "EXISTS", "{a}d"), int(0));
    // Errors.
    assert_eq!(
        q!(c, "ZUNIONSTORE", "{a}d", "0", "{a}1"),
        "-ERR at least 1 input key is needed for 'zunionstore' command\r\n"
    );
    assert_eq!(
        q!(c, "ZINTER", "0", "{a}1"),
        "-ERR at least 1 input key is needed for 'zinter' command\r\n"
    );
    assert_eq!(q!(c, "ZUNION", "x", "{a}1"), NOT_INT);
    assert_eq!(q!(c, "ZUNIONSTORE", "{a}d", "3", "{a}1", "{a}2"), SYNTAX);
    assert_eq!(
        q!(c, "ZUNION", "1", "{a}1", "WEIGHTS", "x"),
        "-ERR weight value is not a float\r\n"
    );
    assert_eq!(q!(c, "ZUNION", "2", "{a}1", "{a}2", "WEIGHTS", "1"), SYNTAX);
    assert_eq!(q!(c, "ZUNION", "1", "{a}1", "AGGREGATE", "AVG"), SYNTAX);
    assert_eq!(q!(c, "ZUNION", "1", "{a}1", "AGGREGATE"), SYNTAX);
    assert_eq!(q!(c, "ZDIFF", "1", "{a}1", "WEIGHTS", "1"), SYNTAX);
    assert_eq!(q!(c, "ZDIFF", "1", "{a}1", "AGGREGATE", "SUM"), SYNTAX);
    assert_eq!(
        q!(c, "ZUNIONSTORE", "{a}d", "1", "{a}1", "WITHSCORES"),
        SYNTAX
    );
    q!(c, "SET", "{a}str", "x");
    assert_eq!(q!(c, "ZUNION", "2", "{a}1", "{a}str"), WRONGTYPE);
    assert_eq!(
        q!(c, "ZINTERSTORE", "{a}d", "2", "{a}nokey", "{a}str"),
        WRONGTYPE
    );
    assert_eq!(q!(c, "ZDIFF", "2", "{a}str", "{a}1"), WRONGTYPE);
}

#[test]
fn zintercard_cases() {
    let server = Server::start();
    let mut c = server.raw();
    q!(c, "ZADD", "{i}1", "1", "a", "2", "b", "3", "c", "4", "d");
    q!(c, "ZADD", "{i}2", "1", "b", "1", "c", "1", "d", "1", "e");
    q!(c, "SADD", "{i}s", "c", "d");
    assert_eq!(q!(c, "ZINTERCARD", "2", "{i}1", "{i}2"), int(3));
    assert_eq!(q!(c, "ZINTERCARD", "3", "{i}1", "{i}2", "{i}s"), int(2));
    assert_eq!(
        q!(c, "ZINTERCARD", "2", "{i}1", "{i}2", "LIMIT", "2"),
        int(2)
    );
    assert_eq!(
        q!(c, "ZINTERCARD", "2", "{i}1", "{i}2", "LIMIT", "0"),
        int(3)
    );
    assert_eq!(
        q!(c, "ZINTERCARD", "1", "{i}1", "LIMIT", "1", "LIMIT", "3"),
        int(3)
    );
    assert_eq!(q!(c, "ZINTERCARD", "2", "{i}1", "{i}nokey"), int(0));
    assert_eq!(
        q!(c, "ZINTERCARD", "0", "{i}1"),
        "-ERR at least 1 input key is needed for 'zintercard' command\r\n"
    );
    assert_eq!(q!(c, "ZINTERCARD", "x", "{i}1"), NOT_INT);
    assert_eq!(q!(c, "ZINTERCARD", "3", "{i}1", "{i}2"), SYNTAX);
    let neg = "-ERR LIMIT can't be negative\r\n";
    assert_eq!(q!(c, "ZINTERCARD", "1", "{i}1", "LIMIT", "-1"), neg);
    assert_eq!(q!(c, "ZINTERCARD", "1", "{i}1", "LIMIT", "x"), neg);
    assert_eq!(q!(c, "ZINTERCARD", "1", "{i}1", "WITHSCORES"), SYNTAX);
    q!(c, "SET", "{i}str", "x");
    assert_eq!(q!(c, "ZINTERCARD", "2", "{i}1", "{i}str"), WRONGTYPE);
}

#[test]
fn zrandmember_cases() {
    let server = Server::start();
    let mut c = server.raw();
    assert_eq!(q!(c, "ZRANDMEMBER", "nokey"), NULL);
    assert_eq!(q!(c, "ZRANDMEMBER", "nokey", "3"), EMPTY);
    assert_eq!(q!(c, "ZRANDMEMBER", "nokey", "3", "WITHSCORES"), EMPTY);
    q!(c, "ZADD", "z", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e");
    let all = ["a", "b", "c", "d", "e"];
    let one = bulks(&q!(c, "ZRANDMEMBER", "z"));
    assert!(all.contains(&one[0].as_str()));
    assert_eq!(q!(c, "ZRANDMEMBER", "z", "0"), EMPTY);
    for n in 1..=5 {
        let got = bulks(&q!(c, "ZRANDMEMBER", "z", n.to_string()));
        let distinct: HashSet<_> = got.iter().collect();
        assert_eq!((got.len(), distinct.len()), (n, n));
        assert!(got.iter().all(|m| all.contains(&m.as_str())));
    }
    assert_eq!(bulks(&q!(c, "ZRANDMEMBER", "z", "100")).len(), 5);
    // Negative count: exactly that many, repeats allowed.
    let got = bulks(&q!(c, "ZRANDMEMBER", "z", "-20"));
    assert_eq!(got.len(), 20);
    // WITHSCORES pairs each member with its own score.
    for count in ["3", "-12", "50"] {
        let got = bulks(&q!(c, "ZRANDMEMBER", "z", count, "WITHSCORES"));
        for pair in got.chunks(2) {
            let want = (all.iter().position(|m| *m == pair[0]).unwrap() + 1).to_string();
            assert_eq!(pair[1], want, "{count}");
        }
    }
    assert_eq!(q!(c, "ZRANDMEMBER", "z", "x"), NOT_INT);
    assert_eq!(q!(c, "ZRANDMEMBER", "z", "1", "FOO"), SYNTAX);
    assert_eq!(q!(c, "ZRANDMEMBER", "z", "1", "WITHSCORES", "x"), SYNTAX);
    assert_eq!(
        q!(c, "ZRANDMEMBER", "z", i64::MIN.to_string()),
        "-ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807\r\n"
    );
    assert_eq!(
        q!(c, "ZRANDMEMBER", "z", "-9223372036854775807", "WITHSCORES"),
        "-ERR value is out of range\r\n"
    );
    // Read-only: nothing changed.
    assert_eq!(q!(c, "ZCARD", "z"), int(5));
}

/// Runs a ZSCAN to the end; returns the members seen and the number of calls. `between`
/// runs after each call with the call's number.
fn full_scan(
    c: &mut RawCon,
    key: &str,
    count: &str,
    mut between: impl FnMut(&mut RawCon, usize),
) -> (HashSet<String>, usize) {
    let mut cursor = "0".to_string();
    let mut seen = HashSet::new();
    let mut calls = 0;
    loop {
        let r = q!(c, "ZSCAN", key, cursor, "COUNT", count);
        let b = bulks(&r);
        calls += 1;
        for pair in b[1..].chunks(2) {
            seen.insert(pair[0].clone());
        }
        between(c, calls);
        cursor = b[0].clone();
        if cursor == "0" {
            return (seen, calls);
        }
        assert!(calls < 10_000, "ZSCAN does not end");
    }
}

#[test]
fn zscan_cases() {
    let server = Server::start();
    let mut c = server.raw();
    assert_eq!(q!(c, "ZSCAN", "nokey", "0"), "*2\r\n$1\r\n0\r\n*0\r\n");
    q!(c, "ZADD", "small", "1", "a", "2.5", "b", "3", "ab");
    assert_eq!(
        q!(c, "ZSCAN", "small", "0"),
        "*2\r\n$1\r\n0\r\n*6\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$3\r\n2.5\r\n$2\r\nab\r\n$1\r\n3\r\n"
    );
    assert_eq!(
        q!(c, "ZSCAN", "small", "0", "MATCH", "a*", "COUNT", "1"),
        "*2\r\n$1\r\n0\r\n*4\r\n$1\r\na\r\n$1\r\n1\r\n$2\r\nab\r\n$1\r\n3\r\n"
    );
    assert_eq!(q!(c, "ZSCAN", "small", "x"), "-ERR invalid cursor\r\n");
    assert_eq!(q!(c, "ZSCAN", "small", "0", "COUNT", "0"), SYNTAX);
    assert_eq!(q!(c, "ZSCAN", "small", "0", "COUNT", "x"), NOT_INT);
    assert_eq!(q!(c, "ZSCAN", "small", "0", "MATCH"), SYNTAX);
    assert_eq!(q!(c, "ZSCAN", "small", "0", "FOO", "1"), SYNTAX);
    // A large set over several calls, changing it as the scan goes: every member present
    // (with its score) for the whole scan comes back.
    let pairs: Vec<(f64, String)> = (0..600)
        .map(|i| (f64::from(i % 200), format!("m{i}")))
        .collect();
    zadd_many(&mut c, "big", &pairs);
    assert_eq!(q!(c, "OBJECT", "ENCODING", "big"), bulk("skiplist"));
    let (seen, calls) = full_scan(&mut c, "big", "20", |c, call| {
        if call <= 10 {
            // Remove members anywhere (m0..m99) and add new low-scored ones.
            for i in 0..10 {
                q!(c, "ZREM", "big", format!("m{}", (call - 1) * 10 + i));
                q!(c, "ZADD", "big", "-1", format!("new{call}-{i}"));
            }
        }
    });
    assert!(calls > 5, "a large set takes several calls ({calls})");
    for (_, m) in &pairs[100..] {
        assert!(seen.contains(m), "{m} missing from the scan");
    }
    // Unchanged set: exactly everything.
    let (seen, _) = full_scan(&mut c, "big", "7", |_, _| {});
    assert_eq!(seen.len(), 600);
    let r = q!(c, "ZSCAN", "big", "0", "MATCH", "m59?", "COUNT", "10000");
    let mut got: Vec<String> = bulks(&r)[1..].chunks(2).map(|p| p[0].clone()).collect();
    got.sort();
    let want: Vec<String> = (590..600).map(|i| format!("m{i}")).collect();
    assert_eq!(got, want);
    q!(c, "SET", "str", "x");
    assert_eq!(q!(c, "ZSCAN", "str", "0"), WRONGTYPE);
}

#[test]
fn wrong_type_and_arity() {
    let server = Server::start();
    let mut c = server.raw();
    q!(c, "SET", "{t}str", "v");
    for args in [
        vec!["ZADD", "{t}str", "1", "a"],
        vec!["ZINCRBY", "{t}str", "1", "a"],
        vec!["ZREM", "{t}str", "a"],
        vec!["ZCARD", "{t}str"],
        vec!["ZSCORE", "{t}str", "a"],
        vec!["ZMSCORE", "{t}str", "a"],
        vec!["ZRANK", "{t}str", "a"],
        vec!["ZREVRANK", "{t}str", "a", "WITHSCORE"],
        vec!["ZCOUNT", "{t}str", "0", "1"],
        vec!["ZLEXCOUNT", "{t}str", "-", "+"],
        vec!["ZRANGE", "{t}str", "0", "1"],
        vec!["ZREVRANGE", "{t}str", "0", "1"],
        vec!["ZRANGEBYSCORE", "{t}str", "0", "1"],
        vec!["ZREVRANGEBYSCORE", "{t}str", "1", "0"],
        vec!["ZRANGEBYLEX", "{t}str", "-", "+"],
        vec!["ZREVRANGEBYLEX", "{t}str", "+", "-"],
        vec!["ZREMRANGEBYRANK", "{t}str", "0", "1"],
        vec!["ZREMRANGEBYSCORE", "{t}str", "0", "1"],
        vec!["ZREMRANGEBYLEX", "{t}str", "-", "+"],
        vec!["ZPOPMIN", "{t}str"],
        vec!["ZPOPMAX", "{t}str", "2"],
        vec!["ZMPOP", "1", "{t}str", "MIN"],
        vec!["ZUNIONSTORE", "{t}d", "1", "{t}str"],
        vec!["ZINTERSTORE", "{t}d", "1", "{t}str"],
        vec!["ZDIFFSTORE", "{t}d", "1", "{t}str"],
        vec!["ZUNION", "1", "{t}str"],
        vec!["ZINTER", "1", "{t}str"],
        vec!["ZDIFF", "1", "{t}str"],
        vec!["ZINTERCARD", "1", "{t}str"],
        vec!["ZRANDMEMBER", "{t}str"],
        vec!["ZRANDMEMBER", "{t}str", "2"],
        vec!["ZSCAN", "{t}str", "0"],
    ] {
        assert_eq!(c.call(&args), WRONGTYPE, "{args:?}");
    }
    assert_eq!(q!(c, "GET", "{t}str"), bulk("v"), "nothing overwritten");
    for (name, args) in [
        ("zadd", vec!["ZADD", "k", "1"]),
        ("zincrby", vec!["ZINCRBY", "k", "1"]),
        ("zrem", vec!["ZREM", "k"]),
        ("zcard", vec!["ZCARD"]),
        ("zscore", vec!["ZSCORE", "k"]),
        ("zmscore", vec!["ZMSCORE", "k"]),
        ("zrank", vec!["ZRANK", "k"]),
        ("zrevrank", vec!["ZREVRANK", "k"]),
        ("zcount", vec!["ZCOUNT", "k", "0"]),
        ("zlexcount", vec!["ZLEXCOUNT", "k", "-"]),
        ("zrange", vec!["ZRANGE", "k", "0"]),
        ("zrangestore", vec!["ZRANGESTORE", "d", "k", "0"]),
        ("zrevrange", vec!["ZREVRANGE", "k", "0"]),
        ("zrangebyscore", vec!["ZRANGEBYSCORE", "k", "0"]),
        ("zrevrangebyscore", vec!["ZREVRANGEBYSCORE", "k", "0"]),
        ("zrangebylex", vec!["ZRANGEBYLEX", "k", "-"]),
        ("zrevrangebylex", vec!["ZREVRANGEBYLEX", "k", "-"]),
        ("zremrangebyrank", vec!["ZREMRANGEBYRANK", "k", "0"]),
        ("zremrangebyscore", vec!["ZREMRANGEBYSCORE", "k", "0"]),
        ("zremrangebylex", vec!["ZREMRANGEBYLEX", "k", "-"]),
        ("zpopmin", vec!["ZPOPMIN"]),
        ("zpopmax", vec!["ZPOPMAX"]),
        ("zmpop", vec!["ZMPOP", "1", "k"]),
        ("zunionstore", vec!["ZUNIONSTORE", "d", "1"]),
        ("zinterstore", vec!["ZINTERSTORE", "d", "1"]),
        ("zdiffstore", vec!["ZDIFFSTORE", "d", "1"]),
        ("zunion", vec!["ZUNION", "1"]),
        ("zinter", vec!["ZINTER", "1"]),
        ("zdiff", vec!["ZDIFF", "1"]),
        ("zintercard", vec!["ZINTERCARD", "1"]),
        ("zrandmember", vec!["ZRANDMEMBER"]),
        ("zscan", vec!["ZSCAN", "k"]),
    ] {
        assert_eq!(c.call(&args), common::arity_err(name), "{args:?}");
    }
}

#[test]
fn resp3_replies() {
    let server = Server::start();
    let mut c = resp3(&server);
    q!(c, "ZADD", "{r}z", "1", "a", "2.5", "b", "+inf", "c");
    assert_eq!(q!(c, "ZSCORE", "{r}z", "b"), ",2.5\r\n");
    assert_eq!(q!(c, "ZSCORE", "{r}z", "c"), ",inf\r\n");
    assert_eq!(q!(c, "ZSCORE", "{r}z", "nope"), "_\r\n");
    assert_eq!(q!(c, "ZMSCORE", "{r}z", "a", "nope"), "*2\r\n,1\r\n_\r\n");
    assert_eq!(q!(c, "ZINCRBY", "{r}z", "1", "a"), ",2\r\n");
    assert_eq!(q!(c, "ZADD", "{r}z", "INCR", "-1", "a"), ",1\r\n");
    assert_eq!(q!(c, "ZADD", "{r}z", "XX", "INCR", "1", "nope"), "_\r\n");
    assert_eq!(q!(c, "ZRANK", "{r}z", "nope"), "_\r\n");
    assert_eq!(
        q!(c, "ZRANK", "{r}z", "b", "WITHSCORE"),
        "*2\r\n:1\r\n,2.5\r\n"
    );
    assert_eq!(q!(c, "ZRANK", "{r}z", "nope", "WITHSCORE"), "_\r\n");
    assert_eq!(
        q!(c, "ZRANGE", "{r}z", "0", "1", "WITHSCORES"),
        "*2\r\n*2\r\n$1\r\na\r\n,1\r\n*2\r\n$1\r\nb\r\n,2.5\r\n"
    );
    assert_eq!(q!(c, "ZRANGE", "{r}z", "0", "0"), "*1\r\n$1\r\na\r\n");
    assert_eq!(
        q!(c, "ZRANGEBYSCORE", "{r}z", "(2", "+inf", "WITHSCORES"),
        "*2\r\n*2\r\n$1\r\nb\r\n,2.5\r\n*2\r\n$1\r\nc\r\n,inf\r\n"
    );
    assert_eq!(
        q!(c, "ZUNION", "1", "{r}z", "WITHSCORES"),
        "*3\r\n*2\r\n$1\r\na\r\n,1\r\n*2\r\n$1\r\nb\r\n,2.5\r\n*2\r\n$1\r\nc\r\n,inf\r\n"
    );
    assert_eq!(
        q!(c, "ZRANDMEMBER", "{r}z", "-2", "WITHSCORES")
            .matches("*2\r\n$1\r\n")
            .count(),
        2
    );
    // ZSCAN keeps scores as bulk strings.
    assert_eq!(
        q!(c, "ZSCAN", "{r}z", "0", "MATCH", "b"),
        "*2\r\n$1\r\n0\r\n*2\r\n$1\r\nb\r\n$3\r\n2.5\r\n"
    );
    // Pops: flat without a count, pairs with one; ZMPOP always pairs.
    assert_eq!(q!(c, "ZPOPMIN", "{r}z"), "*2\r\n$1\r\na\r\n,1\r\n");
    assert_eq!(
        q!(c, "ZPOPMAX", "{r}z", "1"),
        "*1\r\n*2\r\n$1\r\nc\r\n,inf\r\n"
    );
    assert_eq!(
        q!(c, "ZMPOP", "1", "{r}z", "MIN"),
        "*2\r\n$4\r\n{r}z\r\n*1\r\n*2\r\n$1\r\nb\r\n,2.5\r\n"
    );
    assert_eq!(q!(c, "ZMPOP", "1", "{r}z", "MIN"), "_\r\n");
    assert_eq!(q!(c, "ZPOPMIN", "{r}z"), "*0\r\n");
}

#[test]
fn encodings_and_command_info() {
    let server = Server::start();
    let mut c = server.raw();
    q!(c, "ZADD", "e", "1", "a");
    assert_eq!(q!(c, "OBJECT", "ENCODING", "e"), bulk("listpack"));
    let pairs: Vec<(f64, String)> = (0..127).map(|i| (f64::from(i), format!("m{i}"))).collect();
    zadd_many(&mut c, "e", &pairs);
    assert_eq!(q!(c, "ZCARD", "e"), int(128));
    assert_eq!(q!(c, "OBJECT", "ENCODING", "e"), bulk("listpack"));
    q!(c, "ZADD", "e", "1", "one-more");
    assert_eq!(q!(c, "OBJECT", "ENCODING", "e"), bulk("skiplist"));
    q!(c, "ZADD", "long", "1", "x".repeat(65));
    assert_eq!(q!(c, "OBJECT", "ENCODING", "long"), bulk("skiplist"));
    assert_eq!(q!(c, "TYPE", "e"), "+zset\r\n");
    let info = q!(c, "COMMAND", "INFO", "zadd");
    assert_eq!(
        info,
        "*1\r\n*10\r\n$4\r\nzadd\r\n:-4\r\n*3\r\n+write\r\n+denyoom\r\n+fast\r\n:1\r\n:1\r\n:1\r\n*3\r\n+@write\r\n+@sortedset\r\n+@fast\r\n*0\r\n*0\r\n*0\r\n"
    );
    let info = q!(c, "COMMAND", "INFO", "zunionstore");
    assert!(info.contains("+movablekeys"), "{info}");
    assert!(info.contains("+@sortedset"), "{info}");
    assert_eq!(
        q!(
            c,
            "COMMAND",
            "GETKEYS",
            "ZUNIONSTORE",
            "d",
            "2",
            "a",
            "b",
            "WEIGHTS",
            "1",
            "2"
        ),
        arr(&["d", "a", "b"])
    );
    assert_eq!(
        q!(c, "COMMAND", "GETKEYS", "ZMPOP", "2", "a", "b", "MIN"),
        arr(&["a", "b"])
    );
    assert_eq!(
        q!(
            c,
            "COMMAND",
            "GETKEYS",
            "ZINTERCARD",
            "2",
            "a",
            "b",
            "LIMIT",
            "1"
        ),
        arr(&["a", "b"])
    );
}

#[test]
fn multi_key_commands_across_shards() {
    let server = Server::start();
    let mut c = server.raw();
    let a = keys_on_shard(0, 2, 1, "za")[0].clone();
    let b = keys_on_shard(1, 2, 1, "zb")[0].clone();
    q!(c, "ZADD", a, "1", "x");
    q!(c, "ZADD", b, "2", "x");
    // Keys on different shards are gathered and behave as on one node.
    let pop =
        |k: &str, score: &str| format!("*2\r\n{}*1\r\n*2\r\n$1\r\nx\r\n{}", bulk(k), bulk(score));
    for (args, expected) in [
        (vec!["ZUNION", "2", &a, &b], arr(&["x"])),
        (vec!["ZINTER", "2", &a, &b, "WITHSCORES"], arr(&["x", "3"])),
        (vec!["ZDIFF", "2", &a, &b], "*0\r\n".to_string()),
        (vec!["ZINTERCARD", "2", &a, &b], ":1\r\n".to_string()),
        (vec!["ZUNIONSTORE", &a, "2", &a, &b], ":1\r\n".to_string()),
        (vec!["ZSCORE", &a, "x"], bulk("3")),
        (vec!["ZUNIONSTORE", &a, "1", &b], ":1\r\n".to_string()),
        (vec!["ZMPOP", "2", &a, &b, "MIN"], pop(&a, "2")),
        (vec!["EXISTS", &a], ":0\r\n".to_string()),
        (vec!["ZRANGESTORE", &a, &b, "0", "-1"], ":1\r\n".to_string()),
    ] {
        assert_eq!(c.call(&args), expected, "{args:?}");
    }
    // Keys on one shard work whichever shard the connection is on.
    assert_eq!(q!(c, "ZUNION", "1", b, "WITHSCORES"), arr(&["x", "2"]));
    assert_eq!(q!(c, "ZMPOP", "1", a, "MAX"), pop(&a, "2"));
}

/// A model of one sorted set: member -> score, with the order derived on demand.
#[derive(Default)]
struct Model(BTreeMap<String, f64>);

impl Model {
    fn ordered(&self) -> Vec<(String, f64)> {
        let mut v: Vec<(String, f64)> = self.0.iter().map(|(m, s)| (m.clone(), *s)).collect();
        v.sort_by(|a, b| a.1.partial_cmp(&b.1).unwrap().then_with(|| a.0.cmp(&b.0)));
        v
    }
}

/// The score text MemFlux sends for the integer-valued scores the random test uses.
fn score_text(s: f64) -> String {
    format!("{}", s as i64)
}

/// Random ZADD/ZREM/ZINCRBY against MemFlux and a model, comparing ZRANGE (by rank and
/// by score, both directions, with LIMIT), ZRANK/ZREVRANK and ZCOUNT answers, on a set
/// that grows past the compact encoding and shrinks again.
#[test]
fn random_ops_match_model() {
    let server = Server::start();
    let mut c = server.raw();
    let mut rng = fastrand::Rng::with_seed(0x5eed);
    let mut model = Model::default();
    let key = "rnd";
    for step in 0..3000 {
        let pool = if step < 1500 { 400 } else { 60 };
        let m = format!("m{}", rng.usize(..pool));
        let score = f64::from(rng.i32(-50..50));
        match rng.usize(..10) {
            0..=3 => {
                let want = i64::from(!model.0.contains_key(&m));
                assert_eq!(q!(c, "ZADD", key, score_text(score), m), int(want));
                model.0.insert(m, score);
            }
            4 => {
                let n = model.0.get(&m).copied().unwrap_or(0.0) + score;
                assert_eq!(
                    q!(c, "ZINCRBY", key, score_text(score), m),
                    bulk(&score_text(n))
                );
                model.0.insert(m, n);
            }
            5..=6 => {
                let want = i64::from(model.0.remove(&m).is_some());
                assert_eq!(q!(c, "ZREM", key, m), int(want));
            }
            7 => {
                let ordered = model.ordered();
                let rank = ordered.iter().position(|e| e.0 == m);
                let (r, rr) = match rank {
                    Some(r) => (int(r as i64), int((ordered.len() - 1 - r) as i64)),
                    None => (NULL.to_string(), NULL.to_string()),
                };
                assert_eq!(q!(c, "ZRANK", key, m), r, "step {step}");
                assert_eq!(q!(c, "ZREVRANK", key, m), rr, "step {step}");
            }
            8 => {
                let ordered = model.ordered();
                let len = ordered.len() as i64;
                let (start, stop) = (rng.i64(-len - 3..len + 3), rng.i64(-len - 3..len + 3));
                let norm = |i: i64| if i < 0 { i + len } else { i };
                let (s, e) = (norm(start).max(0), norm(stop).min(len - 1));
                let rev = rng.bool();
                let mut want: Vec<String> = Vec::new();
                if s <= e && s < len {
                    let src: Vec<&(String, f64)> = if rev {
                        ordered.iter().rev().collect()
                    } else {
                        ordered.iter().collect()
                    };
                    for (m, sc) in &src[s as usize..=e as usize] {
                        want.push(m.clone());
                        want.push(score_text(*sc));
                    }
                }
                let mut args = vec![
                    "ZRANGE".to_string(),
                    key.into(),
                    start.to_string(),
                    stop.to_string(),
                ];
                if rev {
                    args.push("REV".into());
                }
                args.push("WITHSCORES".into());
                let refs: Vec<&str> = args.iter().map(String::as_str).collect();
                let want_refs: Vec<&str> = want.iter().map(String::as_str).collect();
                assert_eq!(c.call(&refs), arr(&want_refs), "{args:?}");
            }
            _ => {
                let ordered = model.ordered();
                let (lo, hi) = (f64::from(rng.i32(-60..60)), f64::from(rng.i32(-60..60)));
                let (lo_x, hi_x) = (rng.bool(), rng.bool());
                let admits = |s: f64| {
                    (if lo_x { s > lo } else { s >= lo }) && (if hi_x { s < hi } else { s <= hi })
                };
                let bound = |v: f64, x: bool| format!("{}{}", if x { "(" } else { "" }, v as i64);
                let (min, max) = (bound(lo, lo_x), bound(hi, hi_x));
                let hits: Vec<&(String, f64)> = ordered.iter().filter(|e| admits(e.1)).collect();
                assert_eq!(q!(c, "ZCOUNT", key, min, max), int(hits.len() as i64));
                let (offset, count) = (rng.usize(..5), rng.i64(-1..6));
                let take = if count < 0 {
                    usize::MAX
                } else {
                    count as usize
                };
                let fwd: Vec<&str> = hits
                    .iter()
                    .skip(offset)
                    .take(take)
                    .map(|e| e.0.as_str())
                    .collect();
                assert_eq!(
                    q!(
                        c,
                        "ZRANGE",
                        key,
                        min,
                        max,
                        "BYSCORE",
                        "LIMIT",
                        offset.to_string(),
                        count.to_string()
                    ),
                    arr(&fwd),
                    "{min} {max} LIMIT {offset} {count}"
                );
                let rev: Vec<&str> = hits
                    .iter()
                    .rev()
                    .skip(offset)
                    .take(take)
                    .map(|e| e.0.as_str())
                    .collect();
                assert_eq!(
                    q!(
                        c,
                        "ZREVRANGEBYSCORE",
                        key,
                        max,
                        min,
                        "LIMIT",
                        offset.to_string(),
                        count.to_string()
                    ),
                    arr(&rev),
                    "rev {max} {min} LIMIT {offset} {count}"
                );
            }
        }
        if step % 250 == 0 {
            assert_eq!(q!(c, "ZCARD", key), int(model.0.len() as i64));
        }
    }
    let all: Vec<String> = model
        .ordered()
        .into_iter()
        .flat_map(|(m, s)| [m, score_text(s)])
        .collect();
    let refs: Vec<&str> = all.iter().map(String::as_str).collect();
    assert_eq!(q!(c, "ZRANGE", key, "0", "-1", "WITHSCORES"), arr(&refs));
}
