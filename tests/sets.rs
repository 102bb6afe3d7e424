//! The set command family against the real server: every command, its options and
//! errors, multi-key commands on hash-tagged keys and across shards, encodings, RESP3 set
//! replies and SPOP/SRANDMEMBER/SSCAN guarantees.

mod common;

use common::{keys_on_shard, Server};

/// A client over a raw socket that returns each reply's exact bytes.
struct Cli(common::RawCon);

impl Cli {
    fn new(server: &Server) -> Cli {
        Cli(server.raw())
    }

    fn call(&mut self, args: &[&[u8]]) -> String {
        let mut req = format!("*{}\r\n", args.len()).into_bytes();
        for a in args {
            req.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
            req.extend_from_slice(a);
            req.extend_from_slice(b"\r\n");
        }
        self.0.send(&req);
        let mut out = Vec::new();
        self.read_reply(&mut out);
        String::from_utf8_lossy(&out).into_owned()
    }

    fn read_reply(&mut self, out: &mut Vec<u8>) {
        let line = self.0.line();
        assert!(
            line.ends_with("\r\n"),
            "connection closed mid-reply: {line:?}"
        );
        out.extend_from_slice(line.as_bytes());
        let n = || line[1..line.len() - 2].parse::<i64>().unwrap();
        match line.as_bytes()[0] {
            b'$' if n() >= 0 => out.extend_from_slice(&self.0.read_n(n() as usize + 2)),
            b'*' | b'~' => (0..n().max(0)).for_each(|_| self.read_reply(out)),
            b'%' => (0..2 * n()).for_each(|_| self.read_reply(out)),
            _ => {}
        }
    }
}

macro_rules! q {
    ($c:expr, $($a:expr),+ $(,)?) => { $c.call(&[$(AsRef::<[u8]>::as_ref(&$a)),+]) };
}

fn int(n: i64) -> String {
    format!(":{n}\r\n")
}

fn bulk(s: &str) -> String {
    format!("${}\r\n{}\r\n", s.len(), s)
}

const WRONGTYPE: &str = "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";
const SYNTAX: &str = "-ERR syntax error\r\n";
const NOT_INT: &str = "-ERR value is not an integer or out of range\r\n";

/// The bulk strings of a flat array/set reply, sorted (set replies have no order).
fn members(reply: &str) -> Vec<String> {
    let mut lines = reply.split("\r\n");
    let mut out = Vec::new();
    while let Some(l) = lines.next() {
        if l.starts_with('$') && l != "$-1" {
            out.push(lines.next().unwrap_or_default().to_string());
        }
    }
    out.sort();
    out
}

fn sorted(v: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = v.iter().map(|s| s.to_string()).collect();
    v.sort();
    v
}

#[test]
fn sadd_srem_scard_membership() {
    let server = Server::start();
    let mut c = Cli::new(&server);
    assert_eq!(q!(c, "SADD", "s", "a", "b", "a"), int(2));
    assert_eq!(q!(c, "SADD", "s", "a"), int(0));
    assert_eq!(q!(c, "SADD", "s", "c"), int(1));
    assert_eq!(q!(c, "SCARD", "s"), int(3));
    assert_eq!(q!(c, "SCARD", "nokey"), int(0));
    assert_eq!(q!(c, "SISMEMBER", "s", "a"), int(1));
    assert_eq!(q!(c, "SISMEMBER", "s", "z"), int(0));
    assert_eq!(q!(c, "SISMEMBER", "nokey", "a"), int(0));
    assert_eq!(
        q!(c, "SMISMEMBER", "s", "a", "z", "c"),
        "*3\r\n:1\r\n:0\r\n:1\r\n"
    );
    assert_eq!(q!(c, "SMISMEMBER", "nokey", "a"), "*1\r\n:0\r\n");
    assert_eq!(members(&q!(c, "SMEMBERS", "s")), sorted(&["a", "b", "c"]));
    assert_eq!(q!(c, "SMEMBERS", "nokey"), "*0\r\n");
    assert_eq!(q!(c, "SREM", "s", "a", "z", "a"), int(1));
    assert_eq!(q!(c, "SREM", "s", "z"), int(0));
    assert_eq!(q!(c, "SREM", "nokey", "z"), int(0));
    assert_eq!(q!(c, "SREM", "s", "b", "c"), int(2));
    assert_eq!(q!(c, "EXISTS", "s"), int(0), "an emptied set is deleted");
    // Binary-safe members.
    assert_eq!(q!(c, "SADD", "bin", b"a\r\n\0b".as_slice()), int(1));
    assert_eq!(q!(c, "SISMEMBER", "bin", b"a\r\n\0b".as_slice()), int(1));
    assert_eq!(q!(c, "TYPE", "bin"), "+set\r\n");
}

#[test]
fn wrong_type_and_arity() {
    let server = Server::start();
    let mut c = Cli::new(&server);
    q!(c, "SET", "{t}str", "v");
    q!(c, "SADD", "{t}s", "a");
    for args in [
        vec!["SADD", "{t}str", "a"],
        vec!["SREM", "{t}str", "a"],
        vec!["SMEMBERS", "{t}str"],
        vec!["SISMEMBER", "{t}str", "a"],
        vec!["SMISMEMBER", "{t}str", "a"],
        vec!["SCARD", "{t}str"],
        vec!["SPOP", "{t}str"],
        vec!["SPOP", "{t}str", "2"],
        vec!["SRANDMEMBER", "{t}str"],
        vec!["SRANDMEMBER", "{t}str", "2"],
        vec!["SMOVE", "{t}str", "{t}s", "a"],
        vec!["SMOVE", "{t}s", "{t}str", "a"],
        vec!["SINTER", "{t}s", "{t}str"],
        vec!["SINTER", "{t}nokey", "{t}str"],
        vec!["SUNION", "{t}s", "{t}str"],
        vec!["SDIFF", "{t}s", "{t}str"],
        vec!["SINTERSTORE", "{t}d", "{t}s", "{t}str"],
        vec!["SUNIONSTORE", "{t}d", "{t}s", "{t}str"],
        vec!["SDIFFSTORE", "{t}d", "{t}s", "{t}str"],
        vec!["SINTERCARD", "2", "{t}s", "{t}str"],
        vec!["SSCAN", "{t}str", "0"],
    ] {
        let argv: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
        assert_eq!(c.call(&argv), WRONGTYPE, "{args:?}");
    }
    // SMOVE from a missing key answers 0 before looking at the destination's type.
    assert_eq!(q!(c, "SMOVE", "{t}nokey", "{t}str", "a"), int(0));
    for (name, args) in [
        ("sadd", vec!["SADD", "k"]),
        ("srem", vec!["SREM", "k"]),
        ("smembers", vec!["SMEMBERS"]),
        ("sismember", vec!["SISMEMBER", "k"]),
        ("smismember", vec!["SMISMEMBER", "k"]),
        ("scard", vec!["SCARD"]),
        ("spop", vec!["SPOP"]),
        ("srandmember", vec!["SRANDMEMBER"]),
        ("smove", vec!["SMOVE", "a", "b"]),
        ("sinter", vec!["SINTER"]),
        ("sintercard", vec!["SINTERCARD", "1"]),
        ("sinterstore", vec!["SINTERSTORE", "d"]),
        ("sscan", vec!["SSCAN", "k"]),
    ] {
        let argv: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
        assert_eq!(c.call(&argv), common::arity_err(name), "{args:?}");
    }
    assert_eq!(q!(c, "SPOP", "{t}s", "1", "2"), SYNTAX);
    assert_eq!(q!(c, "SRANDMEMBER", "{t}s", "1", "2"), SYNTAX);
}

#[test]
fn spop_and_srandmember() {
    let server = Server::start();
    let mut c = Cli::new(&server);
    assert_eq!(q!(c, "SPOP", "nokey"), "$-1\r\n");
    assert_eq!(q!(c, "SPOP", "nokey", "3"), "*0\r\n");
    assert_eq!(q!(c, "SRANDMEMBER", "nokey"), "$-1\r\n");
    assert_eq!(q!(c, "SRANDMEMBER", "nokey", "3"), "*0\r\n");
    q!(c, "SADD", "s", "a", "b", "c", "d", "e");
    assert_eq!(q!(c, "SPOP", "s", "x"), NOT_INT);
    assert_eq!(
        q!(c, "SPOP", "s", "-1"),
        "-ERR value is out of range, must be positive\r\n"
    );
    assert_eq!(q!(c, "SPOP", "s", "0"), "*0\r\n");
    assert_eq!(q!(c, "SRANDMEMBER", "s", "x"), NOT_INT);
    assert_eq!(q!(c, "SRANDMEMBER", "s", "0"), "*0\r\n");
    assert_eq!(
        q!(c, "SRANDMEMBER", "s", i64::MIN.to_string()),
        "-ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807\r\n"
    );
    let all = sorted(&["a", "b", "c", "d", "e"]);
    assert!(all.contains(&members(&q!(c, "SRANDMEMBER", "s"))[0]));
    // Positive count: distinct members, at most all of them.
    for n in 1..=5 {
        let got = members(&q!(c, "SRANDMEMBER", "s", n.to_string()));
        let mut d = got.clone();
        d.dedup();
        assert_eq!((got.len(), d.len()), (n, n));
        assert!(got.iter().all(|m| all.contains(m)));
    }
    assert_eq!(members(&q!(c, "SRANDMEMBER", "s", "100")), all);
    // Negative count: exactly that many, repeats allowed.
    let got = members(&q!(c, "SRANDMEMBER", "s", "-20"));
    assert_eq!(got.len(), 20);
    assert!(got.iter().all(|m| all.contains(m)));
    assert_eq!(q!(c, "SCARD", "s"), int(5), "SRANDMEMBER does not remove");
    // SPOP with a count removes what it returns.
    let popped = members(&q!(c, "SPOP", "s", "2"));
    assert_eq!(popped.len(), 2);
    assert_eq!(q!(c, "SCARD", "s"), int(3));
    for m in &popped {
        assert_eq!(q!(c, "SISMEMBER", "s", m), int(0));
    }
    let one = members(&q!(c, "SPOP", "s"));
    assert_eq!(q!(c, "SISMEMBER", "s", &one[0]), int(0));
    // More than there are: everything, and the key is gone.
    assert_eq!(members(&q!(c, "SPOP", "s", "10")).len(), 2);
    assert_eq!(q!(c, "EXISTS", "s"), int(0));
}

#[test]
fn spop_pops_every_member_once() {
    let server = Server::start();
    let mut c = Cli::new(&server);
    let all: Vec<String> = (0..300).map(|i| format!("m{i}")).collect();
    let mut args: Vec<&[u8]> = vec![b"SADD", b"big"];
    args.extend(all.iter().map(|m| m.as_bytes()));
    assert_eq!(c.call(&args), int(300));
    let mut seen = Vec::new();
    while seen.len() < 300 {
        let r = if seen.len() % 2 == 0 {
            q!(c, "SPOP", "big")
        } else {
            q!(c, "SPOP", "big", "7")
        };
        let got = members(&r);
        assert!(
            !got.is_empty(),
            "nothing popped with {} left",
            300 - seen.len()
        );
        seen.extend(got);
    }
    seen.sort();
    let mut expect = all.clone();
    expect.sort();
    assert_eq!(seen, expect, "every member popped exactly once");
    assert_eq!(q!(c, "EXISTS", "big"), int(0));
    assert_eq!(q!(c, "SPOP", "big"), "$-1\r\n");
}

#[test]
fn smove_cases() {
    let server = Server::start();
    let mut c = Cli::new(&server);
    q!(c, "SADD", "{m}a", "x", "y");
    assert_eq!(q!(c, "SMOVE", "{m}a", "{m}b", "x"), int(1));
    assert_eq!(members(&q!(c, "SMEMBERS", "{m}b")), sorted(&["x"]));
    assert_eq!(q!(c, "SMOVE", "{m}a", "{m}b", "nope"), int(0));
    assert_eq!(q!(c, "SMOVE", "{m}a", "{m}a", "y"), int(1));
    assert_eq!(q!(c, "SMOVE", "{m}a", "{m}a", "nope"), int(0));
    assert_eq!(q!(c, "SMOVE", "{m}nokey", "{m}b", "x"), int(0));
    // Moving the last member deletes the source; into an existing set adds it.
    assert_eq!(q!(c, "SMOVE", "{m}a", "{m}b", "y"), int(1));
    assert_eq!(q!(c, "EXISTS", "{m}a"), int(0));
    assert_eq!(members(&q!(c, "SMEMBERS", "{m}b")), sorted(&["x", "y"]));
    // Already in the destination: still moved (removed from the source).
    q!(c, "SADD", "{m}a", "x");
    assert_eq!(q!(c, "SMOVE", "{m}a", "{m}b", "x"), int(1));
    assert_eq!(q!(c, "EXISTS", "{m}a"), int(0));
    assert_eq!(q!(c, "SCARD", "{m}b"), int(2));
    // Keys on different shards.
    let (k0, k1) = (
        keys_on_shard(0, 2, 1, "sm")[0].clone(),
        keys_on_shard(1, 2, 1, "sm")[0].clone(),
    );
    q!(c, "SADD", &k0, "x");
    assert_eq!(q!(c, "SMOVE", &k0, &k1, "x"), int(1));
    assert_eq!(q!(c, "SISMEMBER", &k1, "x"), int(1));
}

#[test]
fn algebra_and_store() {
    let server = Server::start();
    let mut c = Cli::new(&server);
    q!(c, "SADD", "{a}1", "a", "b", "c", "d");
    q!(c, "SADD", "{a}2", "b", "c", "e");
    q!(c, "SADD", "{a}3", "c", "d", "f");
    assert_eq!(
        members(&q!(c, "SINTER", "{a}1", "{a}2")),
        sorted(&["b", "c"])
    );
    assert_eq!(
        members(&q!(c, "SINTER", "{a}1", "{a}2", "{a}3")),
        sorted(&["c"])
    );
    assert_eq!(q!(c, "SINTER", "{a}1", "{a}nokey"), "*0\r\n");
    assert_eq!(
        members(&q!(c, "SINTER", "{a}1")),
        sorted(&["a", "b", "c", "d"])
    );
    assert_eq!(
        members(&q!(c, "SUNION", "{a}1", "{a}2", "{a}nokey")),
        sorted(&["a", "b", "c", "d", "e"])
    );
    assert_eq!(
        members(&q!(c, "SDIFF", "{a}1", "{a}2", "{a}3")),
        sorted(&["a"])
    );
    assert_eq!(
        members(&q!(c, "SDIFF", "{a}1", "{a}nokey")),
        sorted(&["a", "b", "c", "d"])
    );
    assert_eq!(q!(c, "SDIFF", "{a}nokey", "{a}1"), "*0\r\n");
    // STORE forms: replace a destination of any type and drop its TTL.
    q!(c, "SET", "{a}d", "string");
    q!(c, "EXPIRE", "{a}d", "100");
    assert_eq!(q!(c, "SINTERSTORE", "{a}d", "{a}1", "{a}2"), int(2));
    assert_eq!(q!(c, "TYPE", "{a}d"), "+set\r\n");
    assert_eq!(q!(c, "TTL", "{a}d"), int(-1));
    assert_eq!(members(&q!(c, "SMEMBERS", "{a}d")), sorted(&["b", "c"]));
    assert_eq!(q!(c, "SUNIONSTORE", "{a}d", "{a}2", "{a}3"), int(5));
    assert_eq!(q!(c, "SDIFFSTORE", "{a}d", "{a}1", "{a}2"), int(2));
    assert_eq!(members(&q!(c, "SMEMBERS", "{a}d")), sorted(&["a", "d"]));
    // The destination may be one of the sources.
    assert_eq!(q!(c, "SUNIONSTORE", "{a}d", "{a}d", "{a}2"), int(5));
    // An empty result deletes the destination.
    assert_eq!(q!(c, "SINTERSTORE", "{a}d", "{a}1", "{a}nokey"), int(0));
    assert_eq!(q!(c, "EXISTS", "{a}d"), int(0));
    q!(c, "SET", "{a}d", "x");
    assert_eq!(q!(c, "SDIFFSTORE", "{a}d", "{a}1", "{a}1"), int(0));
    assert_eq!(q!(c, "EXISTS", "{a}d"), int(0));
    assert_eq!(q!(c, "SUNIONSTORE", "{a}d", "{a}nokey"), int(0));
    assert_eq!(q!(c, "EXISTS", "{a}d"), int(0));
}

#[test]
fn sintercard_cases() {
    let server = Server::start();
    let mut c = Cli::new(&server);
    q!(c, "SADD", "{i}1", "a", "b", "c", "d");
    q!(c, "SADD", "{i}2", "b", "c", "d", "e");
    assert_eq!(q!(c, "SINTERCARD", "2", "{i}1", "{i}2"), int(3));
    assert_eq!(q!(c, "SINTERCARD", "1", "{i}1"), int(4));
    assert_eq!(
        q!(c, "SINTERCARD", "2", "{i}1", "{i}2", "LIMIT", "2"),
        int(2)
    );
    assert_eq!(
        q!(c, "SINTERCARD", "2", "{i}1", "{i}2", "limit", "0"),
        int(3)
    );
    assert_eq!(
        q!(c, "SINTERCARD", "2", "{i}1", "{i}2", "LIMIT", "10"),
        int(3)
    );
    assert_eq!(q!(c, "SINTERCARD", "2", "{i}1", "{i}nokey"), int(0));
    let numkeys = "-ERR numkeys should be greater than 0\r\n";
    assert_eq!(q!(c, "SINTERCARD", "0", "{i}1"), numkeys);
    assert_eq!(q!(c, "SINTERCARD", "-1", "{i}1"), numkeys);
    assert_eq!(q!(c, "SINTERCARD", "x", "{i}1"), numkeys);
    assert_eq!(
        q!(c, "SINTERCARD", "3", "{i}1", "{i}2"),
        "-ERR Number of keys can't be greater than number of args\r\n"
    );
    let limit = "-ERR LIMIT can't be negative\r\n";
    assert_eq!(q!(c, "SINTERCARD", "1", "{i}1", "LIMIT", "-1"), limit);
    assert_eq!(q!(c, "SINTERCARD", "1", "{i}1", "LIMIT", "x"), limit);
    assert_eq!(q!(c, "SINTERCARD", "1", "{i}1", "LIMIT"), SYNTAX);
    assert_eq!(q!(c, "SINTERCARD", "1", "{i}1", "FOO", "1"), SYNTAX);
    // Its keys are routed: keys on different shards are gathered.
    let (k0, k1) = (
        keys_on_shard(0, 2, 1, "sc")[0].clone(),
        keys_on_shard(1, 2, 1, "sc")[0].clone(),
    );
    assert_eq!(q!(c, "SINTERCARD", "2", &k0, &k1), int(0));
    assert_eq!(
        q!(
            c,
            "COMMAND",
            "GETKEYS",
            "SINTERCARD",
            "2",
            "x",
            "y",
            "LIMIT",
            "1"
        ),
        format!("*2\r\n{}{}", bulk("x"), bulk("y"))
    );
}

#[test]
fn encodings() {
    let server = Server::start();
    let mut c = Cli::new(&server);
    q!(c, "SADD", "e", "1", "2", "-3");
    assert_eq!(q!(c, "OBJECT", "ENCODING", "e"), bulk("intset"));
    q!(c, "SADD", "e", "x");
    assert_eq!(q!(c, "OBJECT", "ENCODING", "e"), bulk("listpack"));
    let many: Vec<String> = (0..200).map(|i| format!("m{i}")).collect();
    let mut args: Vec<&[u8]> = vec![b"SADD", b"e"];
    args.extend(many.iter().map(|m| m.as_bytes()));
    c.call(&args);
    assert_eq!(q!(c, "OBJECT", "ENCODING", "e"), bulk("hashtable"));
    q!(c, "SADD", "long", "a".repeat(65));
    assert_eq!(q!(c, "OBJECT", "ENCODING", "long"), bulk("hashtable"));
    let ints: Vec<String> = (0..600).map(|i| i.to_string()).collect();
    let mut args: Vec<&[u8]> = vec![b"SADD", b"ints"];
    args.extend(ints.iter().take(512).map(|m| m.as_bytes()));
    c.call(&args);
    assert_eq!(q!(c, "OBJECT", "ENCODING", "ints"), bulk("intset"));
    q!(c, "SADD", "ints", "512");
    assert_eq!(q!(c, "OBJECT", "ENCODING", "ints"), bulk("hashtable"));
}

#[test]
fn sscan_cases() {
    let server = Server::start();
    let mut c = Cli::new(&server);
    assert_eq!(q!(c, "SSCAN", "nokey", "0"), "*2\r\n$1\r\n0\r\n*0\r\n");
    q!(c, "SADD", "small", "a", "b", "ab");
    let r = q!(c, "SSCAN", "small", "0", "MATCH", "a*");
    assert!(r.starts_with("*2\r\n$1\r\n0\r\n"), "{r}");
    assert_eq!(members(&r)[1..], sorted(&["a", "ab"])[..]);
    assert_eq!(q!(c, "SSCAN", "small", "x"), "-ERR invalid cursor\r\n");
    assert_eq!(q!(c, "SSCAN", "small", "0", "COUNT", "0"), SYNTAX);
    assert_eq!(q!(c, "SSCAN", "small", "0", "COUNT", "x"), NOT_INT);
    assert_eq!(q!(c, "SSCAN", "small", "0", "FOO", "1"), SYNTAX);
    assert_eq!(q!(c, "SSCAN", "small", "0", "MATCH"), SYNTAX);
    // A large set over several calls, removing members as it goes: every member present
    // for the whole scan comes back.
    let all: Vec<String> = (0..500).map(|i| format!("m{i}")).collect();
    let mut args: Vec<&[u8]> = vec![b"SADD", b"big"];
    args.extend(all.iter().map(|m| m.as_bytes()));
    c.call(&args);
    let mut cursor = "0".to_string();
    let mut seen = std::collections::HashSet::new();
    let mut calls = 0;
    loop {
        let r = q!(c, "SSCAN", "big", &cursor, "COUNT", "20");
        let mut got = members(&r);
        // The first bulk string is the cursor.
        let next = r.split("\r\n").nth(2).unwrap_or_default().to_string();
        got.retain(|m| m != &next);
        seen.extend(got);
        calls += 1;
        // Remove members the scan may not have reached yet (m0..m99 go away).
        if calls <= 10 {
            for i in 0..10 {
                q!(c, "SREM", "big", format!("m{}", (calls - 1) * 10 + i));
            }
        }
        cursor = next;
        if cursor == "0" {
            break;
        }
        assert!(calls < 1000);
    }
    assert!(calls > 1, "a large set takes several calls");
    for m in &all[100..] {
        assert!(seen.contains(m), "{m} missing from the scan");
    }
    let r = q!(c, "SSCAN", "big", "0", "MATCH", "m49?", "COUNT", "1000");
    assert_eq!(
        members(&r)[1..],
        sorted(&["m490", "m491", "m492", "m493", "m494", "m495", "m496", "m497", "m498", "m499"])[..]
    );
}

#[test]
fn resp3_replies() {
    let server = Server::start();
    let mut raw = server.raw();
    raw.send(b"HELLO 3\r\n");
    while raw.line() != "*0\r\n" {}
    let mut c = Cli(raw);
    q!(c, "SADD", "{r}s", "a");
    q!(c, "SADD", "{r}t", "a", "b");
    assert_eq!(q!(c, "SMEMBERS", "{r}s"), "~1\r\n$1\r\na\r\n");
    assert_eq!(q!(c, "SMEMBERS", "{r}nokey"), "~0\r\n");
    assert_eq!(q!(c, "SINTER", "{r}s", "{r}t"), "~1\r\n$1\r\na\r\n");
    assert_eq!(q!(c, "SUNION", "{r}s"), "~1\r\n$1\r\na\r\n");
    assert_eq!(q!(c, "SDIFF", "{r}t", "{r}s"), "~1\r\n$1\r\nb\r\n");
    assert_eq!(q!(c, "SPOP", "{r}nokey", "1"), "~0\r\n");
    assert_eq!(q!(c, "SPOP", "{r}nokey"), "_\r\n");
    assert_eq!(q!(c, "SRANDMEMBER", "{r}s", "1"), "*1\r\n$1\r\na\r\n");
    assert_eq!(q!(c, "SPOP", "{r}s", "1"), "~1\r\n$1\r\na\r\n");
}
