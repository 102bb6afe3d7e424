//! The list command family against the real server: every command, its options and
//! errors, empty lists disappearing, multi-key commands on hash-tagged keys and across shards
//! and encodings. Replies are compared as exact RESP text.

mod common;

use common::{arity_err, keys_on_shard, RawCon, Server};

const WRONGTYPE: &str = "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";
const NOT_INT: &str = "-ERR value is not an integer or out of range\r\n";
const SYNTAX: &str = "-ERR syntax error\r\n";
const NIL: &str = "$-1\r\n";
const NIL_ARRAY: &str = "*-1\r\n";
const OK: &str = "+OK\r\n";

fn int(n: i64) -> String {
    format!(":{n}\r\n")
}

fn bulks(items: &[&str]) -> String {
    let mut s = format!("*{}\r\n", items.len());
    for i in items {
        s.push_str(&format!("${}\r\n{i}\r\n", i.len()));
    }
    s
}

fn ints(items: &[i64]) -> String {
    let mut s = format!("*{}\r\n", items.len());
    for i in items {
        s.push_str(&int(*i));
    }
    s
}

fn bulk(s: &str) -> String {
    format!("${}\r\n{s}\r\n", s.len())
}

fn range(c: &mut RawCon, key: &str) -> String {
    c.call(&["LRANGE", key, "0", "-1"])
}

#[test]
fn push_and_pop() {
    let server = Server::start();
    let mut c = server.raw();
    assert_eq!(c.call(&["LPUSH", "l", "a", "b", "c"]), int(3));
    assert_eq!(range(&mut c, "l"), bulks(&["c", "b", "a"]));
    assert_eq!(c.call(&["RPUSH", "l", "x", "y"]), int(5));
    assert_eq!(range(&mut c, "l"), bulks(&["c", "b", "a", "x", "y"]));
    assert_eq!(c.call(&["LPUSHX", "l", "p"]), int(6));
    assert_eq!(c.call(&["RPUSHX", "l", "q", "r"]), int(8));
    assert_eq!(c.call(&["LPUSHX", "none", "p"]), int(0));
    assert_eq!(c.call(&["RPUSHX", "none", "p"]), int(0));
    assert_eq!(c.call(&["EXISTS", "none"]), int(0));
    assert_eq!(c.call(&["LLEN", "l"]), int(8));
    assert_eq!(c.call(&["LLEN", "none"]), int(0));

    assert_eq!(c.call(&["LPOP", "l"]), bulk("p"));
    assert_eq!(c.call(&["RPOP", "l"]), bulk("r"));
    assert_eq!(c.call(&["LPOP", "l", "2"]), bulks(&["c", "b"]));
    assert_eq!(c.call(&["RPOP", "l", "2"]), bulks(&["q", "y"]));
    assert_eq!(c.call(&["LPOP", "l", "0"]), "*0\r\n");
    assert_eq!(
        c.call(&["LPOP", "l", "-1"]),
        "-ERR value is out of range, must be positive\r\n"
    );
    assert_eq!(c.call(&["RPOP", "l", "x"]), NOT_INT);
    assert_eq!(c.call(&["LPOP", "l", "1", "2"]), arity_err("lpop"));
    assert_eq!(c.call(&["LPOP", "none"]), NIL);
    assert_eq!(c.call(&["LPOP", "none", "2"]), NIL_ARRAY);
    assert_eq!(c.call(&["RPOP", "none", "0"]), NIL_ARRAY);
    // Popping more than there is takes everything and removes the key.
    assert_eq!(c.call(&["RPOP", "l", "10"]), bulks(&["x", "a"]));
    assert_eq!(c.call(&["EXISTS", "l"]), int(0));
    assert_eq!(c.call(&["RPUSH", "one", "v"]), int(1));
    assert_eq!(c.call(&["LPOP", "one"]), bulk("v"));
    assert_eq!(c.call(&["EXISTS", "one"]), int(0));
    assert_eq!(c.call(&["LPUSH", "l"]), arity_err("lpush"));

    c.call(&["SET", "s", "v"]);
    for cmd in ["LPUSH", "RPUSH", "LPUSHX", "RPUSHX"] {
        assert_eq!(c.call(&[cmd, "s", "a"]), WRONGTYPE, "{cmd}");
    }
    for cmd in ["LPOP", "RPOP", "LLEN"] {
        assert_eq!(c.call(&[cmd, "s"]), WRONGTYPE, "{cmd}");
    }
    assert_eq!(c.call(&["LPOP", "s", "1"]), WRONGTYPE);
}

#[test]
fn indexed_access() {
    let server = Server::start();
    let mut c = server.raw();
    c.call(&["RPUSH", "l", "a", "b", "c", "d"]);
    assert_eq!(c.call(&["LRANGE", "l", "1", "2"]), bulks(&["b", "c"]));
    assert_eq!(c.call(&["LRANGE", "l", "-2", "-1"]), bulks(&["c", "d"]));
    assert_eq!(
        c.call(&["LRANGE", "l", "-100", "100"]),
        bulks(&["a", "b", "c", "d"])
    );
    assert_eq!(c.call(&["LRANGE", "l", "3", "1"]), "*0\r\n");
    assert_eq!(c.call(&["LRANGE", "l", "5", "10"]), "*0\r\n");
    assert_eq!(c.call(&["LRANGE", "none", "0", "-1"]), "*0\r\n");
    assert_eq!(c.call(&["LRANGE", "l", "a", "1"]), NOT_INT);

    assert_eq!(c.call(&["LINDEX", "l", "0"]), bulk("a"));
    assert_eq!(c.call(&["LINDEX", "l", "-1"]), bulk("d"));
    assert_eq!(c.call(&["LINDEX", "l", "4"]), NIL);
    assert_eq!(c.call(&["LINDEX", "l", "-5"]), NIL);
    assert_eq!(c.call(&["LINDEX", "none", "0"]), NIL);
    assert_eq!(c.call(&["LINDEX", "l", "x"]), NOT_INT);

    assert_eq!(c.call(&["LSET", "l", "1", "B"]), OK);
    assert_eq!(c.call(&["LSET", "l", "-1", "D"]), OK);
    assert_eq!(range(&mut c, "l"), bulks(&["a", "B", "c", "D"]));
    assert_eq!(
        c.call(&["LSET", "l", "4", "x"]),
        "-ERR index out of range\r\n"
    );
    assert_eq!(
        c.call(&["LSET", "l", "-5", "x"]),
        "-ERR index out of range\r\n"
    );
    assert_eq!(c.call(&["LSET", "none", "0", "x"]), "-ERR no such key\r\n");
    assert_eq!(c.call(&["LSET", "l", "x", "x"]), NOT_INT);

    c.call(&["SET", "s", "v"]);
    assert_eq!(c.call(&["LRANGE", "s", "0", "-1"]), WRONGTYPE);
    assert_eq!(c.call(&["LINDEX", "s", "0"]), WRONGTYPE);
    assert_eq!(c.call(&["LSET", "s", "0", "x"]), WRONGTYPE);
}

#[test]
fn rewrites() {
    let server = Server::start();
    let mut c = server.raw();
    c.call(&["RPUSH", "l", "a", "b", "c"]);
    assert_eq!(c.call(&["LINSERT", "l", "BEFORE", "b", "x"]), int(4));
    assert_eq!(c.call(&["LINSERT", "l", "after", "c", "y"]), int(5));
    assert_eq!(range(&mut c, "l"), bulks(&["a", "x", "b", "c", "y"]));
    assert_eq!(c.call(&["LINSERT", "l", "BEFORE", "zz", "x"]), int(-1));
    assert_eq!(c.call(&["LINSERT", "none", "BEFORE", "a", "x"]), int(0));
    assert_eq!(c.call(&["LINSERT", "l", "MIDDLE", "a", "x"]), SYNTAX);
    assert_eq!(c.call(&["EXISTS", "none"]), int(0));

    c.call(&["DEL", "l"]);
    c.call(&["RPUSH", "l", "a", "b", "a", "c", "a", "b"]);
    assert_eq!(c.call(&["LREM", "l", "1", "a"]), int(1));
    assert_eq!(range(&mut c, "l"), bulks(&["b", "a", "c", "a", "b"]));
    assert_eq!(c.call(&["LREM", "l", "-1", "b"]), int(1));
    assert_eq!(range(&mut c, "l"), bulks(&["b", "a", "c", "a"]));
    assert_eq!(c.call(&["LREM", "l", "0", "a"]), int(2));
    assert_eq!(range(&mut c, "l"), bulks(&["b", "c"]));
    assert_eq!(c.call(&["LREM", "l", "0", "zz"]), int(0));
    assert_eq!(c.call(&["LREM", "none", "0", "a"]), int(0));
    assert_eq!(c.call(&["LREM", "l", "x", "a"]), NOT_INT);
    assert_eq!(c.call(&["LREM", "l", "0", "b"]), int(1));
    assert_eq!(c.call(&["LREM", "l", "-5", "c"]), int(1));
    assert_eq!(c.call(&["EXISTS", "l"]), int(0));

    c.call(&["RPUSH", "l", "a", "b", "c", "d", "e"]);
    assert_eq!(c.call(&["LTRIM", "l", "1", "-2"]), OK);
    assert_eq!(range(&mut c, "l"), bulks(&["b", "c", "d"]));
    assert_eq!(c.call(&["LTRIM", "l", "-100", "100"]), OK);
    assert_eq!(range(&mut c, "l"), bulks(&["b", "c", "d"]));
    assert_eq!(c.call(&["LTRIM", "l", "x", "1"]), NOT_INT);
    assert_eq!(c.call(&["LTRIM", "none", "0", "1"]), OK);
    assert_eq!(c.call(&["LTRIM", "l", "2", "1"]), OK);
    assert_eq!(c.call(&["EXISTS", "l"]), int(0));

    c.call(&["SET", "s", "v"]);
    assert_eq!(c.call(&["LINSERT", "s", "BEFORE", "a", "x"]), WRONGTYPE);
    assert_eq!(c.call(&["LREM", "s", "0", "a"]), WRONGTYPE);
    assert_eq!(c.call(&["LTRIM", "s", "0", "1"]), WRONGTYPE);
}

#[test]
fn lpos() {
    let server = Server::start();
    let mut c = server.raw();
    c.call(&["RPUSH", "l", "a", "b", "c", "1", "2", "3", "c", "c"]);
    assert_eq!(c.call(&["LPOS", "l", "c"]), int(2));
    assert_eq!(c.call(&["LPOS", "l", "zz"]), NIL);
    assert_eq!(c.call(&["LPOS", "l", "c", "RANK", "2"]), int(6));
    assert_eq!(c.call(&["LPOS", "l", "c", "RANK", "-1"]), int(7));
    assert_eq!(c.call(&["LPOS", "l", "c", "RANK", "-3"]), int(2));
    assert_eq!(c.call(&["LPOS", "l", "c", "RANK", "4"]), NIL);
    assert_eq!(c.call(&["LPOS", "l", "c", "COUNT", "2"]), ints(&[2, 6]));
    assert_eq!(c.call(&["LPOS", "l", "c", "COUNT", "0"]), ints(&[2, 6, 7]));
    assert_eq!(
        c.call(&["LPOS", "l", "c", "COUNT", "0", "RANK", "-1"]),
        ints(&[7, 6, 2])
    );
    assert_eq!(c.call(&["LPOS", "l", "zz", "COUNT", "0"]), "*0\r\n");
    assert_eq!(
        c.call(&["LPOS", "l", "c", "COUNT", "0", "MAXLEN", "7"]),
        ints(&[2, 6])
    );
    assert_eq!(c.call(&["LPOS", "l", "c", "MAXLEN", "2"]), NIL);
    assert_eq!(c.call(&["LPOS", "none", "c"]), NIL);
    assert_eq!(c.call(&["LPOS", "none", "c", "COUNT", "1"]), "*0\r\n");
    assert_eq!(
        c.call(&["LPOS", "l", "c", "RANK", "0"]),
        "-ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list\r\n"
    );
    assert_eq!(
        c.call(&["LPOS", "l", "c", "RANK", "-9223372036854775808"]),
        "-ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807\r\n"
    );
    assert_eq!(
        c.call(&["LPOS", "l", "c", "COUNT", "-1"]),
        "-ERR COUNT can't be negative\r\n"
    );
    assert_eq!(
        c.call(&["LPOS", "l", "c", "MAXLEN", "-1"]),
        "-ERR MAXLEN can't be negative\r\n"
    );
    assert_eq!(c.call(&["LPOS", "l", "c", "RANK", "x"]), NOT_INT);
    assert_eq!(c.call(&["LPOS", "l", "c", "RANK"]), SYNTAX);
    assert_eq!(c.call(&["LPOS", "l", "c", "FOO", "1"]), SYNTAX);
    c.call(&["SET", "s", "v"]);
    assert_eq!(c.call(&["LPOS", "s", "c"]), WRONGTYPE);
}

#[test]
fn moves() {
    let server = Server::start();
    let mut c = server.raw();
    c.call(&["RPUSH", "{t}a", "1", "2", "3"]);
    assert_eq!(
        c.call(&["LMOVE", "{t}a", "{t}b", "LEFT", "RIGHT"]),
        bulk("1")
    );
    assert_eq!(
        c.call(&["LMOVE", "{t}a", "{t}b", "right", "left"]),
        bulk("3")
    );
    assert_eq!(range(&mut c, "{t}b"), bulks(&["3", "1"]));
    assert_eq!(range(&mut c, "{t}a"), bulks(&["2"]));
    assert_eq!(c.call(&["RPOPLPUSH", "{t}a", "{t}b"]), bulk("2"));
    assert_eq!(c.call(&["EXISTS", "{t}a"]), int(0));
    assert_eq!(range(&mut c, "{t}b"), bulks(&["2", "3", "1"]));
    assert_eq!(c.call(&["RPOPLPUSH", "{t}a", "{t}b"]), NIL);
    assert_eq!(c.call(&["LMOVE", "{t}a", "{t}b", "LEFT", "LEFT"]), NIL);
    // Rotation within one list.
    assert_eq!(
        c.call(&["LMOVE", "{t}b", "{t}b", "LEFT", "RIGHT"]),
        bulk("2")
    );
    assert_eq!(range(&mut c, "{t}b"), bulks(&["3", "1", "2"]));
    assert_eq!(c.call(&["RPOPLPUSH", "{t}b", "{t}b"]), bulk("2"));
    assert_eq!(range(&mut c, "{t}b"), bulks(&["2", "3", "1"]));
    c.call(&["RPUSH", "{t}one", "x"]);
    assert_eq!(
        c.call(&["LMOVE", "{t}one", "{t}one", "LEFT", "LEFT"]),
        bulk("x")
    );
    assert_eq!(range(&mut c, "{t}one"), bulks(&["x"]));
    assert_eq!(c.call(&["LMOVE", "{t}b", "{t}c", "UP", "LEFT"]), SYNTAX);
    assert_eq!(c.call(&["LMOVE", "{t}b", "{t}c", "LEFT", "DOWN"]), SYNTAX);
    // A destination of another type leaves the source untouched.
    c.call(&["SET", "{t}s", "v"]);
    assert_eq!(
        c.call(&["LMOVE", "{t}b", "{t}s", "LEFT", "LEFT"]),
        WRONGTYPE
    );
    assert_eq!(c.call(&["RPOPLPUSH", "{t}s", "{t}b"]), WRONGTYPE);
    assert_eq!(c.call(&["LLEN", "{t}b"]), int(3));

    let (k0, k1) = (
        keys_on_shard(0, 2, 1, "lm")[0].clone(),
        keys_on_shard(1, 2, 1, "lm")[0].clone(),
    );
    // Keys on different shards move atomically (tests/cross_shard.rs has more).
    c.call(&["RPUSH", &k0, "x"]);
    assert_eq!(c.call(&["LMOVE", &k0, &k1, "LEFT", "LEFT"]), "$1\r\nx\r\n");
    assert_eq!(c.call(&["EXISTS", &k0]), int(0));
}

#[test]
fn lmpop() {
    let server = Server::start();
    let mut c = server.raw();
    c.call(&["RPUSH", "{t}b", "1", "2", "3"]);
    assert_eq!(
        c.call(&["LMPOP", "2", "{t}a", "{t}b", "LEFT"]),
        "*2\r\n$4\r\n{t}b\r\n".to_string() + &bulks(&["1"])
    );
    assert_eq!(
        c.call(&["LMPOP", "2", "{t}a", "{t}b", "RIGHT", "COUNT", "5"]),
        "*2\r\n$4\r\n{t}b\r\n".to_string() + &bulks(&["3", "2"])
    );
    assert_eq!(c.call(&["EXISTS", "{t}b"]), int(0));
    assert_eq!(c.call(&["LMPOP", "2", "{t}a", "{t}b", "LEFT"]), NIL_ARRAY);
    let numkeys = "-ERR numkeys should be greater than 0\r\n";
    assert_eq!(c.call(&["LMPOP", "0", "{t}a", "LEFT"]), numkeys);
    assert_eq!(c.call(&["LMPOP", "x", "{t}a", "LEFT"]), numkeys);
    assert_eq!(c.call(&["LMPOP", "3", "{t}a", "LEFT"]), SYNTAX);
    assert_eq!(c.call(&["LMPOP", "1", "{t}a", "UP"]), SYNTAX);
    let count = "-ERR count should be greater than 0\r\n";
    assert_eq!(c.call(&["LMPOP", "1", "{t}a", "LEFT", "COUNT", "0"]), count);
    assert_eq!(c.call(&["LMPOP", "1", "{t}a", "LEFT", "COUNT"]), SYNTAX);
    assert_eq!(
        c.call(&["LMPOP", "1", "{t}a", "LEFT", "COUNT", "1", "COUNT", "1"]),
        SYNTAX
    );
    assert_eq!(c.call(&["LMPOP", "1", "{t}a"]), arity_err("lmpop"));
    c.call(&["SET", "{t}s", "v"]);
    assert_eq!(c.call(&["LMPOP", "2", "{t}a", "{t}s", "LEFT"]), WRONGTYPE);
}

#[test]
fn encoding_grows_to_quicklist() {
    let server = Server::start();
    let mut c = server.raw();
    c.call(&["RPUSH", "small", "a"]);
    assert_eq!(c.call(&["OBJECT", "ENCODING", "small"]), bulk("listpack"));
    let long = "x".repeat(100);
    c.call(&["RPUSH", "wide", &long]);
    assert_eq!(c.call(&["OBJECT", "ENCODING", "wide"]), bulk("quicklist"));
    for i in 0..200 {
        c.call(&["RPUSH", "many", &i.to_string()]);
    }
    assert_eq!(c.call(&["OBJECT", "ENCODING", "many"]), bulk("quicklist"));
    assert_eq!(c.call(&["LLEN", "many"]), int(200));
    assert_eq!(c.call(&["LINDEX", "many", "150"]), bulk("150"));
}
