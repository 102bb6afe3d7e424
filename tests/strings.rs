//! The string command family against the real server: every command, option and error,
//! TTL interplay (checked through expiry), cross-shard multi-key commands, binary safety
//! and large values. Replies are compared as exact RESP bytes.

mod common;

use std::thread::sleep;
use std::time::Duration;

use common::{keys_on_shard, Server};

/// A RESP2 client over a raw socket that returns each reply's exact bytes.
struct Cli(common::RawCon);

impl Cli {
    fn new(server: &Server) -> Cli {
        Cli(server.raw())
    }

    fn call_bytes(&mut self, args: &[&[u8]]) -> Vec<u8> {
        let mut req = format!("*{}\r\n", args.len()).into_bytes();
        for a in args {
            req.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
            req.extend_from_slice(a);
            req.extend_from_slice(b"\r\n");
        }
        self.0.send(&req);
        let mut out = Vec::new();
        self.read_reply(&mut out);
        out
    }

    fn call(&mut self, args: &[&[u8]]) -> String {
        String::from_utf8_lossy(&self.call_bytes(args)).into_owned()
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

/// `q!(cli, "SET", key, "v")`: sends the command, returns the reply as a string.
macro_rules! q {
    ($c:expr, $($a:expr),+ $(,)?) => { $c.call(&[$(AsRef::<[u8]>::as_ref(&$a)),+]) };
}

/// Like `q!` but returns the reply's raw bytes (for binary values).
macro_rules! qb {
    ($c:expr, $($a:expr),+ $(,)?) => { $c.call_bytes(&[$(AsRef::<[u8]>::as_ref(&$a)),+]) };
}

fn bulk(s: &str) -> String {
    format!("${}\r\n{}\r\n", s.len(), s)
}

fn bulk_bytes(s: &[u8]) -> Vec<u8> {
    let mut v = format!("${}\r\n", s.len()).into_bytes();
    v.extend_from_slice(s);
    v.extend_from_slice(b"\r\n");
    v
}

fn int(n: i64) -> String {
    format!(":{n}\r\n")
}

const OK: &str = "+OK\r\n";
const NIL: &str = "$-1\r\n";
const EMPTY: &str = "$0\r\n\r\n";
const SYNTAX: &str = "-ERR syntax error\r\n";
const NOT_INT: &str = "-ERR value is not an integer or out of range\r\n";
const NOT_FLOAT: &str = "-ERR value is not a valid float\r\n";
const OVERFLOW: &str = "-ERR increment or decrement would overflow\r\n";
const NAN_INF: &str = "-ERR increment would produce NaN or Infinity\r\n";
const TOO_BIG: &str = "-ERR string exceeds maximum allowed size (proto-max-bulk-len)\r\n";

fn invalid_expire(cmd: &str) -> String {
    format!("-ERR invalid expire time in '{cmd}' command\r\n")
}

fn arity(cmd: &str) -> String {
    format!("-ERR wrong number of arguments for '{cmd}' command\r\n")
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

/// Pseudo-random bytes covering every byte value, CR, LF and NUL included.
fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// One key on each shard.
fn pair(prefix: &str) -> (String, String) {
    (
        keys_on_shard(0, 2, 1, prefix).remove(0),
        keys_on_shard(1, 2, 1, prefix).remove(0),
    )
}

#[test]
fn arity_errors() {
    let server = Server::start();
    let mut c = Cli::new(&server);
    let cases: &[(&str, &[&str])] = &[
        ("get", &["GET"]),
        ("get", &["GET", "a", "b"]),
        ("set", &["SET", "a"]),
        ("setnx", &["SETNX", "a"]),
        ("setnx", &["SETNX", "a", "b", "c"]),
        ("setex", &["SETEX", "a", "10"]),
        ("setex", &["SETEX", "a", "10", "v", "x"]),
        ("psetex", &["PSETEX", "a", "10"]),
        ("getset", &["GETSET", "a"]),
        ("getset", &["GETSET", "a", "b", "c"]),
        ("getdel", &["GETDEL"]),
        ("getdel", &["GETDEL", "a", "b"]),
        ("getex", &["GETEX"]),
        ("mget", &["MGET"]),
        ("mset", &["MSET", "a"]),
        ("mset", &["MSET", "a", "1", "b"]),
        ("msetnx", &["MSETNX", "a"]),
        ("msetnx", &["MSETNX", "a", "1", "b"]),
        ("append", &["APPEND", "a"]),
        ("append", &["APPEND", "a", "b", "c"]),
        ("strlen", &["STRLEN"]),
        ("strlen", &["STRLEN", "a", "b"]),
        ("getrange", &["GETRANGE", "a", "0"]),
        ("getrange", &["GETRANGE", "a", "0", "1", "2"]),
        ("substr", &["SUBSTR", "a", "0"]),
        ("setrange", &["SETRANGE", "a", "0"]),
        ("setrange", &["SETRANGE", "a", "0", "x", "y"]),
        ("incr", &["INCR"]),
        ("incr", &["INCR", "a", "1"]),
        ("decr", &["DECR"]),
        ("decr", &["DECR", "a", "1"]),
        ("incrby", &["INCRBY", "a"]),
        ("incrby", &["INCRBY", "a", "1", "2"]),
        ("decrby", &["DECRBY", "a"]),
        ("decrby", &["DECRBY", "a", "1", "2"]),
        ("incrbyfloat", &["INCRBYFLOAT", "a"]),
        ("incrbyfloat", &["INCRBYFLOAT", "a", "1", "2"]),
        ("lcs", &["LCS", "a"]),
    ];
    for (name, args) in cases {
        let args: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
        assert_eq!(c.call(&args), arity(name), "{args:?}");
    }
    // Nothing was created by the failed calls.
    assert_eq!(q!(c, "EXISTS", "a", "b"), int(0));
    // Command names are case-insensitive, and so is the arity message's source.
    assert_eq!(q!(c, "gEt"), arity("get"));
}

#[test]
fn get_set_basics_binary_and_large() {
    let server = Server::start();
    let mut c = Cli::new(&server);
    assert_eq!(q!(c, "GET", "nokey"), NIL);
    assert_eq!(q!(c, "SET", "k", "v"), OK);
    assert_eq!(q!(c, "GET", "k"), bulk("v"));
    assert_eq!(q!(c, "SET", "k", "other"), OK);
    assert_eq!(q!(c, "GET", "k"), bulk("other"));
    // Overwriting with shorter and longer values (the buffer may be reused).
    assert_eq!(q!(c, "SET", "k", "ab"), OK);
    assert_eq!(q!(c, "GET", "k"), bulk("ab"));
    assert_eq!(q!(c, "SET", "k", "a much longer value than before"), OK);
    assert_eq!(q!(c, "GET", "k"), bulk("a much longer value than before"));
    // Empty value and empty key.
    assert_eq!(q!(c, "SET", "", ""), OK);
    assert_eq!(q!(c, "GET", ""), EMPTY);
    assert_eq!(q!(c, "EXISTS", ""), int(1));
    // Binary safe: NUL, CR, LF in keys and values.
    let bin = b"a\0b\r\nc\r\n\0".to_vec();
    let key = b"key\0\r\nx".to_vec();
    assert_eq!(qb!(c, "SET", key, bin), OK.as_bytes());
    assert_eq!(qb!(c, "GET", key), bulk_bytes(&bin));
    assert_eq!(qb!(c, "STRLEN", key), int(bin.len() as i64).into_bytes());
    assert_eq!(q!(c, "GET", "key"), NIL);
    // 1 MB of every byte value, on both shards.
    let (a, b) = pair("big");
    let big_a = noise(1 << 20, 1);
    let big_b = noise(1 << 20, 2);
    assert_eq!(qb!(c, "SET", a, big_a), OK.as_bytes());
    assert_eq!(qb!(c, "SET", b, big_b), OK.as_bytes());
    assert_eq!(qb!(c, "GET", a), bulk_bytes(&big_a));
    assert_eq!(qb!(c, "GET", b), bulk_bytes(&big_b));
    assert_eq!(q!(c, "STRLEN", b), int(1 << 20));
    // Cross-shard MGET of large values keeps them intact and in order.
    let mut want = b"*2\r\n".to_vec();
    want.extend(bulk_bytes(&big_b));
    want.extend(bulk_bytes(&big_a));
    assert_eq!(qb!(c, "MGET", b, a), want);
}

#[test]
fn set_conditions_and_get_option() {
    let server = Server::start();
    let mut c = Cli::new(&server);
    // NX
    assert_eq!(q!(c, "SET", "k", "1", "NX"), OK);
    assert_eq!(q!(c, "SET", "k", "2", "nx"), NIL);
    assert_eq!(q!(c, "GET", "k"), bulk("1"));
    // XX
    assert_eq!(q!(c, "SET", "missing", "1", "XX"), NIL);
    assert_eq!(q!(c, "EXISTS", "missing"), int(0));
    assert_eq!(q!(c, "SET", "k", "3", "xx"), OK);
    assert_eq!(q!(c, "GET", "k"), bulk("3"));
    // GET: old value, or nil.
    assert_eq!(q!(c, "SET", "k", "4", "GET"), bulk("3"));
    assert_eq!(q!(c, "GET", "k"), bulk("4"));
    assert_eq!(q!(c, "SET", "fresh", "x", "get"), NIL);
    assert_eq!(q!(c, "GET", "fresh"), bulk("x"));
    // GET with NX: replies the old value and does not set.
    assert_eq!(q!(c, "SET", "k", "5", "NX", "GET"), bulk("4"));
    assert_eq!(q!(c, "GET", "k"), bulk("4"));
    assert_eq!(q!(c, "SET", "new1", "5", "GET", "NX"), NIL);
    assert_eq!(q!(c, "GET", "new1"), bulk("5"));
    // GET with XX.
    assert_eq!(q!(c, "SET", "new2", "6", "XX", "GET"), NIL);
    assert_eq!(q!(c, "EXISTS", "new2"), int(0));
    assert_eq!(q!(c, "SET", "k", "6", "XX", "GET"), bulk("4"));
    assert_eq!(q!(c, "GET", "k"), bulk("6"));
    // Repeated flags are accepted.
    assert_eq!(q!(c, "SET", "k", "7", "GET", "get"), bulk("6"));
    assert_eq!(q!(c, "SET", "k", "8", "XX", "XX"), OK);
    assert_eq!(q!(c, "SET", "k", "9", "NX", "NX"), NIL);
    // Syntax errors.
    for args in [
        &["NX", "XX"][..],
        &["XX", "NX"],
        &["FOO"],
        &["EX"],
        &["PX"],
        &["EXAT"],
        &["PXAT"],
        &["EX", "10", "PX", "10"],
        &["PX", "10", "EX", "10"],
        &["EXAT", "10", "EX", "10"],
        &["EX", "10", "PXAT", "10"],
        &["EX", "10", "KEEPTTL"],
        &["KEEPTTL", "EX", "10"],
        &["KEEPTTL", "PXAT", "10"],
        &["PERSIST"],
        &["GET", "10"],
        &["NX", "EX", "10", "bogus"],
    ] {
        let mut all: Vec<&[u8]> = vec![b"SET", b"k", b"v"];
        all.extend(args.iter().map(|a| a.as_bytes()));
        assert_eq!(c.call(&all), SYNTAX, "{args:?}");
    }
    // A syntax error is reported before the time value is looked at.
    assert_eq!(q!(c, "SET", "k", "v", "EX", "0", "FOO"), SYNTAX);
    assert_eq!(q!(c, "SET", "k", "v", "EX", "abc", "NX", "XX"), SYNTAX);
    assert_eq!(q!(c, "GET", "k"), bulk("8"));
}

#[test]
fn set_expire_options_and_errors() {
    let server = Server::start();
    let mut c = Cli::new(&server);
    for opt in ["EX", "PX", "EXAT", "PXAT"] {
        for bad in ["0", "-1", "-9223372036854775808"] {
            assert_eq!(
                q!(c, "SET", "k", "v", opt, bad),
                invalid_expire("set"),
                "{opt} {bad}"
            );
        }
        for bad in ["abc", "1.5", "", " 1", "9223372036854775808"] {
            assert_eq!(q!(c, "SET", "k", "v", opt, bad), NOT_INT, "{opt} {bad:?}");
        }
    }
    // Overflow when scaling seconds or adding the current time.
    assert_eq!(
        q!(c, "SET", "k", "v", "EX", "9223372036854775"),
        invalid_expire("set")
    );
    assert_eq!(
        q!(c, "SET", "k", "v", "EX", "9223372036854776"),
        invalid_expire("set")
    );
    assert_eq!(
        q!(c, "SET", "k", "v", "PX", "9223372036854775807"),
        invalid_expire("set")
    );
    assert_eq!(
        q!(c, "SET", "k", "v", "EXAT", "9223372036854776"),
        invalid_expire("set")
    );
    // Nothing was stored by any of the failures.
    assert_eq!(q!(c, "EXISTS", "k"), int(0));
    // The largest absolute times are fine.
    assert_eq!(q!(c, "SET", "k", "v", "PXAT", "9223372036854775807"), OK);
    assert_eq!(q!(c, "GET", "k"), bulk("v"));
    assert_eq!(q!(c, "SET", "k", "v", "EXAT", "9223372036854775"), OK);
    assert_eq!(q!(c, "GET", "k"), bulk("v"));

    // Relative times expire.
    assert_eq!(q!(c, "SET", "px", "v", "PX", "300"), OK);
    assert_eq!(q!(c, "SET", "ex", "v", "EX", "1"), OK);
    assert_eq!(q!(c, "SET", "both", "v", "px", "100000", "px", "300"), OK); // last one wins
    assert_eq!(q!(c, "GET", "px"), bulk("v"));
    assert_eq!(q!(c, "GET", "both"), bulk("v"));
    sleep(Duration::from_millis(450));
    assert_eq!(q!(c, "GET", "px"), NIL);
    assert_eq!(q!(c, "GET", "both"), NIL);
    assert_eq!(q!(c, "GET", "ex"), bulk("v"));
    sleep(Duration::from_millis(700));
    assert_eq!(q!(c, "GET", "ex"), NIL);

    // Absolute times: in the future they last, in the past the key is gone at once
    // (replacing an existing value).
    let now = now_ms();
    assert_eq!(
        q!(c, "SET", "pxat", "v", "PXAT", (now + 300).to_string()),
        OK
    );
    assert_eq!(
        q!(
            c,
            "SET",
            "exat",
            "v",
            "EXAT",
            (now / 1000 + 100).to_string()
        ),
        OK
    );
    assert_eq!(q!(c, "GET", "pxat"), bulk("v"));
    sleep(Duration::from_millis(450));
    assert_eq!(q!(c, "GET", "pxat"), NIL);
    assert_eq!(q!(c, "GET", "exat"), bulk("v"));
    assert_eq!(q!(c, "SET", "exat", "w", "EXAT", "1"), OK);
    assert_eq!(q!(c, "EXISTS", "exat"), int(0));
    assert_eq!(q!(c, "SET", "past", "w", "PXAT", "1", "GET"), NIL);
    assert_eq!(q!(c, "GET", "past"), NIL);
    assert_eq!(q!(c, "SET", "past", "w"), OK);
    assert_eq!(q!(c, "SET", "past", "x", "PXAT", "1", "GET"), bulk("w"));
    assert_eq!(q!(c, "EXISTS", "past"), int(0));
    // NX against a key that expired counts it as missing.
    assert_eq!(q!(c, "SET", "px", "again", "NX"), OK);
}

#[test]
fn set_ttl_is_cleared_or_kept() {
    let server = Server::start();
    let mut c = Cli::new(&server);
    // Plain SET clears a TTL.
    assert_eq!(q!(c, "SET", "clear", "v", "PX", "200"), OK);
    assert_eq!(q!(c, "SET", "clear", "w"), OK);
    // KEEPTTL keeps it (and may be repeated).
    assert_eq!(q!(c, "SET", "keep", "v", "PX", "300"), OK);
    assert_eq!(q!(c, "SET", "keep", "w", "KEEPTTL", "keepttl"), OK);
    assert_eq!(q!(c, "GET", "keep"), bulk("w"));
    // KEEPTTL on a key without TTL, or a missing key, leaves it without one.
    assert_eq!(q!(c, "SET", "nottl", "v", "KEEPTTL"), OK);
    // SET ... GET clears it too; SET XX with a new TTL replaces it.
    assert_eq!(q!(c, "SET", "getclear", "v", "PX", "200"), OK);
    assert_eq!(q!(c, "SET", "getclear", "w", "GET"), bulk("v"));
    assert_eq!(q!(c, "SET", "longer", "v", "PX", "200"), OK);
    assert_eq!(q!(c, "SET", "longer", "w", "XX", "EX", "100"), OK);
    assert_eq!(q!(c, "SET", "shorter", "v", "EX", "100"), OK);
    assert_eq!(q!(c, "SET", "shorter", "w", "XX", "PX", "200"), OK);
    // A SET that is refused (NX) leaves the TTL alone.
    assert_eq!(q!(c, "SET", "refused", "v", "PX", "200"), OK);
    assert_eq!(q!(c, "SET", "refused", "w", "NX"), NIL);
    sleep(Duration::from_millis(400));
    assert_eq!(q!(c, "GET", "clear"), bulk("w"));
    assert_eq!(q!(c, "GET", "keep"), NIL);
    assert_eq!(q!(c, "GET", "nottl"), bulk("v"));
    assert_eq!(q!(c, "GET", "getclear"), bulk("w"));
    assert_eq!(q!(c, "GET", "longer"), bulk("w"));
    assert_eq!(q!(c, "GET", "shorter"), NIL);
    assert_eq!(q!(c, "GET", "refused"), NIL);
}

#[test]
fn setnx_setex_psetex() {
    let server = Server::start();
    let mut c = Cli::new(&server);
    assert_eq!(q!(c, "SETNX", "k", "1"), int(1));
    assert_eq!(q!(c, "SETNX", "k", "2"), int(0));
    assert_eq!(q!(c, "GET", "k"), bulk("1"));
    // SETNX on an expired key succeeds.
    assert_eq!(q!(c, "SET", "gone", "v", "PX", "50"), OK);
    sleep(Duration::from_millis(120));
    assert_eq!(q!(c, "SETNX", "gone", "new"), int(1));
    assert_eq!(q!(c, "GET", "gone"), bulk("new"));

    assert_eq!(q!(c, "SETEX", "sx", "1", "v"), OK);
    assert_eq!(q!(c, "PSETEX", "psx", "300", "v"), OK);
    assert_eq!(q!(c, "GET", "sx"), bulk("v"));
    assert_eq!(q!(c, "GET", "psx"), bulk("v"));
    // SETEX replaces an existing value and its TTL.
    assert_eq!(q!(c, "SETEX", "k", "100", "2"), OK);
    assert_eq!(q!(c, "GET", "k"), bulk("2"));
    sleep(Duration::from_millis(450));
    assert_eq!(q!(c, "GET", "psx"), NIL);
    assert_eq!(q!(c, "GET", "k"), bulk("2"));
    sleep(Duration::from_millis(700));
    assert_eq!(q!(c, "GET", "sx"), NIL);

    for (cmd, name) in [("SETEX", "setex"), ("PSETEX", "psetex")] {
        for bad in ["0", "-1", "-9223372036854775808"] {
            assert_eq!(
                q!(c, cmd, "e", bad, "v"),
                invalid_expire(name),
                "{cmd} {bad}"
            );
        }
        for bad in ["abc", "1.0", "", "9223372036854775808"] {
            assert_eq!(q!(c, cmd, "e", bad, "v"), NOT_INT, "{cmd} {bad:?}");
        }
    }
    assert_eq!(
        q!(c, "SETEX", "e", "9223372036854775", "v"),
        invalid_expire("setex")
    );
    assert_eq!(
        q!(c, "PSETEX", "e", "9223372036854775807", "v"),
        invalid_expire("psetex")
    );
    assert_eq!(q!(c, "EXISTS", "e"), int(0));
}

#[test]
fn getset_getdel() {
    let server = Server::start();
    let mut c = Cli::new(&server);
    assert_eq!(q!(c, "GETSET", "k", "1"), NIL);
    assert_eq!(q!(c, "GET", "k"), bulk("1"));
    assert_eq!(q!(c, "GETSET", "k", "2"), bulk("1"));
    assert_eq!(q!(c, "GET", "k"), bulk("2"));
    // GETSET clears the TTL.
    assert_eq!(q!(c, "SET", "t", "v", "PX", "200"), OK);
    assert_eq!(q!(c, "GETSET", "t", "w"), bulk("v"));
    // GETSET on an expired key sees nothing.
    assert_eq!(q!(c, "SET", "gone", "v", "PX", "50"), OK);

    assert_eq!(q!(c, "GETDEL", "nokey"), NIL);
    assert_eq!(q!(c, "GETDEL", "k"), bulk("2"));
    assert_eq!(q!(c, "EXISTS", "k"), int(0));
    assert_eq!(q!(c, "GETDEL", "k"), NIL);
    let bin = b"\0\r\n\xff".to_vec();
    assert_eq!(qb!(c, "SET", "b", bin), OK.as_bytes());
    assert_eq!(qb!(c, "GETDEL", "b"), bulk_bytes(&bin));

    sleep(Duration::from_millis(350));
    assert_eq!(q!(c, "GET", "t"), bulk("w"));
    assert_eq!(q!(c, "GETSET", "gone", "x"), NIL);
    assert_eq!(q!(c, "GETDEL", "gone"), bulk("x"));
}

#[test]
fn getex_options() {
    let server = Server::start();
    let mut c = Cli::new(&server);
    assert_eq!(q!(c, "GETEX", "nokey"), NIL);
    assert_eq!(q!(c, "SET", "k", "v"), OK);
    assert_eq!(q!(c, "GETEX", "k"), bulk("v"));
    // Syntax errors, even on a missing key.
    for args in [
        &["NX"][..],
        &["XX"],
        &["GET"],
        &["KEEPTTL"],
        &["FOO"],
        &["EX"],
        &["PXAT"],
        &["EX", "10", "PX", "10"],
        &["EX", "10", "PERSIST"],
        &["PERSIST", "EX", "10"],
        &["PERSIST", "PXAT", "10"],
        &["EX", "10", "bogus"],
    ] {
        for key in ["k", "nokey"] {
            let mut all: Vec<&[u8]> = vec![b"GETEX", key.as_bytes()];
            all.extend(args.iter().map(|a| a.as_bytes()));
            assert_eq!(c.call(&all), SYNTAX, "{key} {args:?}");
        }
    }
    // A missing key is nil even with a bad time value (Redis looks the key up first).
    assert_eq!(q!(c, "GETEX", "nokey", "EX", "0"), NIL);
    assert_eq!(q!(c, "GETEX", "nokey", "PX", "abc"), NIL);
    for opt in ["EX", "PX", "EXAT", "PXAT"] {
        for bad in ["0", "-1"] {
            assert_eq!(
                q!(c, "GETEX", "k", opt, bad),
                invalid_expire("getex"),
                "{opt} {bad}"
            );
        }
        assert_eq!(q!(c, "GETEX", "k", opt, "x"), NOT_INT);
    }
    assert_eq!(
        q!(c, "GETEX", "k", "EX", "9223372036854775"),
        invalid_expire("getex")
    );
    assert_eq!(
        q!(c, "GETEX", "k", "PX", "9223372036854775807"),
        invalid_expire("getex")
    );
    // None of the failures touched the key or its (absent) TTL.
    assert_eq!(q!(c, "GET", "k"), bulk("v"));

    for k in ["ex", "px", "exat", "pxat", "persist", "plain", "repeat"] {
        assert_eq!(q!(c, "SET", k, k, "PX", "300"), OK);
    }
    assert_eq!(q!(c, "SET", "long", "long"), OK);
    assert_eq!(q!(c, "GETEX", "ex", "ex", "100"), bulk("ex"));
    assert_eq!(q!(c, "GETEX", "px", "PX", "100000"), bulk("px"));
    assert_eq!(
        q!(
            c,
            "GETEX",
            "exat",
            "EXAT",
            (now_ms() / 1000 + 100).to_string()
        ),
        bulk("exat")
    );
    assert_eq!(
        q!(c, "GETEX", "pxat", "PXAT", (now_ms() + 100_000).to_string()),
        bulk("pxat")
    );
    assert_eq!(
        q!(c, "GETEX", "persist", "PERSIST", "persist"),
        bulk("persist")
    );
    assert_eq!(q!(c, "GETEX", "plain"), bulk("plain"));
    assert_eq!(
        q!(c, "GETEX", "repeat", "PX", "100000", "PX", "100"),
        bulk("repeat")
    );
    assert_eq!(q!(c, "GETEX", "long", "PX", "300"), bulk("long"));
    sleep(Duration::from_millis(450));
    for k in ["ex", "px", "exat", "pxat", "persist"] {
        assert_eq!(q!(c, "GET", k), bulk(k), "{k}");
    }
    assert_eq!(
        q!(c, "GET", "plain"),
        NIL,
        "GETEX without options keeps the TTL"
    );
    assert_eq!(q!(c, "GET", "repeat"), NIL, "the last PX wins");
    assert_eq!(q!(c, "GET", "long"), NIL);
    // An absolute time in the past replies the value and deletes the key.
    assert_eq!(q!(c, "GETEX", "ex", "EXAT", "1"), bulk("ex"));
    assert_eq!(q!(c, "EXISTS", "ex"), int(0));
    assert_eq!(
        q!(c, "GETEX", "px", "PXAT", (now_ms() - 1000).to_string()),
        bulk("px")
    );
    assert_eq!(q!(c, "EXISTS", "px"), int(0));
}

#[test]
fn mget_mset_msetnx_across_shards() {
    let server = Server::start();
    let mut c = Cli::new(&server);
    let k0 = keys_on_shard(0, 2, 3, "m");
    let k1 = keys_on_shard(1, 2, 3, "m");
    // MSET across shards, interleaved.
    assert_eq!(
        q!(c, "MSET", k0[0], "a", k1[0], "b", k0[1], "c", k1[1], "d"),
        OK
    );
    let got = q!(c, "MGET", k1[1], k0[0], "missing", k1[0], k0[1], k0[2]);
    assert_eq!(
        got,
        format!(
            "*6\r\n{}{}{NIL}{}{}{NIL}",
            bulk("d"),
            bulk("a"),
            bulk("b"),
            bulk("c")
        )
    );
    assert_eq!(q!(c, "MGET", "nokey"), format!("*1\r\n{NIL}"));
    // A key repeated in MSET takes the last value; MGET repeats keys.
    assert_eq!(q!(c, "MSET", k0[0], "x", k1[0], "y", k0[0], "z"), OK);
    assert_eq!(
        q!(c, "MGET", k0[0], k0[0], k1[0]),
        format!("*3\r\n{}{}{}", bulk("z"), bulk("z"), bulk("y"))
    );
    // MSET clears TTLs on both shards.
    assert_eq!(q!(c, "SET", k0[2], "t", "PX", "200"), OK);
    assert_eq!(q!(c, "SET", k1[2], "t", "PX", "200"), OK);
    assert_eq!(q!(c, "MSET", k0[2], "u", k1[2], "v"), OK);

    // MSETNX: one key existing (on either shard) blocks all.
    let n0 = keys_on_shard(0, 2, 3, "nx");
    let n1 = keys_on_shard(1, 2, 3, "nx");
    assert_eq!(q!(c, "MSETNX", n0[0], "1", n1[0], "2", k1[1], "3"), int(0));
    assert_eq!(q!(c, "MSETNX", n0[0], "1", k0[1], "2", n1[0], "3"), int(0));
    assert_eq!(q!(c, "EXISTS", n0[0], n1[0]), int(0));
    assert_eq!(
        q!(c, "MGET", k1[1], k0[1]),
        format!("*2\r\n{}{}", bulk("d"), bulk("c"))
    );
    // None exists: all are set.
    assert_eq!(q!(c, "MSETNX", n0[0], "1", n1[0], "2", n0[1], "3"), int(1));
    assert_eq!(
        q!(c, "MGET", n0[0], n1[0], n0[1]),
        format!("*3\r\n{}{}{}", bulk("1"), bulk("2"), bulk("3"))
    );
    assert_eq!(q!(c, "MSETNX", n0[0], "9", n1[2], "9"), int(0));
    assert_eq!(q!(c, "EXISTS", n1[2]), int(0));
    // Repeated key across shards: the last value wins.
    assert_eq!(q!(c, "MSETNX", n1[2], "a", n0[2], "b", n1[2], "c"), int(1));
    assert_eq!(
        q!(c, "MGET", n1[2], n0[2]),
        format!("*2\r\n{}{}", bulk("c"), bulk("b"))
    );
    // Single-shard MSETNX, including a repeated key.
    let s0 = keys_on_shard(0, 2, 3, "single");
    assert_eq!(q!(c, "MSETNX", s0[0], "1", s0[1], "2", s0[0], "3"), int(1));
    assert_eq!(
        q!(c, "MGET", s0[0], s0[1]),
        format!("*2\r\n{}{}", bulk("3"), bulk("2"))
    );
    assert_eq!(q!(c, "MSETNX", s0[2], "1", s0[1], "2"), int(0));
    assert_eq!(q!(c, "EXISTS", s0[2]), int(0));
    let s1 = keys_on_shard(1, 2, 2, "single");
    assert_eq!(q!(c, "MSETNX", s1[0], "x", s1[1], "y"), int(1));
    assert_eq!(q!(c, "MSETNX", s1[1], "z"), int(0));
    // MSETNX treats expired keys as missing, on both shards.
    let e0 = keys_on_shard(0, 2, 1, "exp")[0].clone();
    let e1 = keys_on_shard(1, 2, 1, "exp")[0].clone();
    assert_eq!(q!(c, "SET", e0, "old", "PX", "50"), OK);
    assert_eq!(q!(c, "SET", e1, "old", "PX", "50"), OK);
    sleep(Duration::from_millis(120));
    assert_eq!(q!(c, "MSETNX", e0, "new0", e1, "new1"), int(1));
    assert_eq!(
        q!(c, "MGET", e0, e1),
        format!("*2\r\n{}{}", bulk("new0"), bulk("new1"))
    );

    sleep(Duration::from_millis(250));
    assert_eq!(
        q!(c, "MGET", k0[2], k1[2]),
        format!("*2\r\n{}{}", bulk("u"), bulk("v"))
    );
    // And the MSETNX values carry no TTL.
    assert_eq!(
        q!(c, "MGET", e0, e1),
        format!("*2\r\n{}{}", bulk("new0"), bulk("new1"))
    );

    // The redis crate agrees on the shapes.
    let mut con = server.con();
    let v: Vec<Option<String>> = redis::cmd("MGET")
        .arg(&k0[1])
        .arg("nope")
        .arg(&k1[1])
        .query(&mut con)
        .unwrap();
    assert_eq!(v, vec![Some("c".to_string()), None, Some("d".to_string())]);
}

#[test]
fn append_and_strlen() {
    let server = Server::start();
    let mut c = Cli::new(&server);
    assert_eq!(q!(c, "STRLEN", "k"), int(0));
    assert_eq!(q!(c, "APPEND", "k", "hello"), int(5));
    assert_eq!(q!(c, "APPEND", "k", " world"), int(11));
    assert_eq!(q!(c, "GET", "k"), bulk("hello world"));
    assert_eq!(q!(c, "STRLEN", "k"), int(11));
    assert_eq!(q!(c, "APPEND", "k", ""), int(11));
    // APPEND of nothing still creates the key.
    assert_eq!(q!(c, "APPEND", "e", ""), int(0));
    assert_eq!(q!(c, "EXISTS", "e"), int(1));
    assert_eq!(q!(c, "GET", "e"), EMPTY);
    assert_eq!(q!(c, "STRLEN", "e"), int(0));
    // Appending to a number gives a string.
    assert_eq!(q!(c, "SET", "n", "12"), OK);
    assert_eq!(q!(c, "APPEND", "n", "34"), int(4));
    assert_eq!(q!(c, "INCR", "n"), int(1235));
    // Binary and large.
    let chunk = noise(1 << 20, 3);
    assert_eq!(qb!(c, "APPEND", "big", chunk), int(1 << 20).into_bytes());
    assert_eq!(
        qb!(c, "APPEND", "big", b"\0\r\n"),
        int((1 << 20) + 3).into_bytes()
    );
    let mut whole = chunk.clone();
    whole.extend_from_slice(b"\0\r\n");
    assert_eq!(qb!(c, "GET", "big"), bulk_bytes(&whole));
    assert_eq!(q!(c, "STRLEN", "big"), int((1 << 20) + 3));
    // APPEND keeps the TTL.
    assert_eq!(q!(c, "SET", "t", "a", "PX", "200"), OK);
    assert_eq!(q!(c, "APPEND", "t", "b"), int(2));
    assert_eq!(q!(c, "GET", "t"), bulk("ab"));
    sleep(Duration::from_millis(350));
    assert_eq!(q!(c, "GET", "t"), NIL);
    assert_eq!(q!(c, "STRLEN", "t"), int(0));
    assert_eq!(q!(c, "APPEND", "t", "c"), int(1));
}

#[test]
fn getrange_and_substr() {
    let server = Server::start();
    let mut c = Cli::new(&server);
    assert_eq!(q!(c, "SET", "s", "hello"), OK);
    let cases = [
        ("0", "-1", "hello"),
        ("0", "0", "h"),
        ("-3", "-1", "llo"),
        ("1", "3", "ell"),
        ("0", "-100", "h"),
        ("-100", "-200", ""),
        ("-1", "-3", ""),
        ("5", "10", ""),
        ("4", "100", "o"),
        ("2", "1", ""),
        ("-100", "100", "hello"),
        ("-9223372036854775808", "9223372036854775807", "hello"),
        ("3", "-9223372036854775808", ""),
        ("-1", "-1", "o"),
        ("-5", "0", "h"),
    ];
    for (start, end, want) in cases {
        assert_eq!(
            q!(c, "GETRANGE", "s", start, end),
            bulk(want),
            "GETRANGE {start} {end}"
        );
        assert_eq!(
            q!(c, "SUBSTR", "s", start, end),
            bulk(want),
            "SUBSTR {start} {end}"
        );
    }
    // Missing key and empty string: empty, not nil.
    assert_eq!(q!(c, "GETRANGE", "nokey", "0", "-1"), EMPTY);
    assert_eq!(q!(c, "SET", "e", ""), OK);
    assert_eq!(q!(c, "GETRANGE", "e", "0", "-1"), EMPTY);
    assert_eq!(q!(c, "GETRANGE", "e", "0", "0"), EMPTY);
    // Integers are ranged as their digits.
    assert_eq!(q!(c, "SET", "n", "-12345"), OK);
    assert_eq!(q!(c, "GETRANGE", "n", "0", "2"), bulk("-12"));
    // Index errors come first, even for a missing key.
    for (start, end) in [
        ("a", "1"),
        ("0", "b"),
        ("1.5", "2"),
        ("0", "9223372036854775808"),
    ] {
        assert_eq!(q!(c, "GETRANGE", "nokey", start, end), NOT_INT);
        assert_eq!(q!(c, "SUBSTR", "s", start, end), NOT_INT);
    }
    // Binary data and a slice of a large value.
    let big = noise(1 << 20, 4);
    assert_eq!(qb!(c, "SET", "big", big), OK.as_bytes());
    assert_eq!(
        qb!(c, "GETRANGE", "big", "1000", "200999"),
        bulk_bytes(&big[1000..201000])
    );
    assert_eq!(
        qb!(c, "GETRANGE", "big", "-10", "-1"),
        bulk_bytes(&big[big.len() - 10..])
    );
}

#[test]
fn setrange_cases() {
    let server = Server::start();
    let mut c = Cli::new(&server);
    // Pads a missing key with zero bytes.
    assert_eq!(q!(c, "SETRANGE", "k", "3", "ab"), int(5));
    assert_eq!(qb!(c, "GET", "k"), bulk_bytes(b"\0\0\0ab"));
    // Overwrites inside, extends past the end, pads a gap.
    assert_eq!(q!(c, "SET", "s", "hello"), OK);
    assert_eq!(q!(c, "SETRANGE", "s", "1", "EY"), int(5));
    assert_eq!(q!(c, "GET", "s"), bulk("hEYlo"));
    assert_eq!(q!(c, "SETRANGE", "s", "4", "O world"), int(11));
    assert_eq!(q!(c, "GET", "s"), bulk("hEYlO world"));
    assert_eq!(q!(c, "SETRANGE", "s", "13", "!"), int(14));
    assert_eq!(qb!(c, "GET", "s"), bulk_bytes(b"hEYlO world\0\0!"));
    assert_eq!(q!(c, "SETRANGE", "s", "0", ""), int(14));
    assert_eq!(
        q!(c, "SETRANGE", "s", "100", ""),
        int(14),
        "an empty value never pads"
    );
    assert_eq!(q!(c, "STRLEN", "s"), int(14));
    // An empty value on a missing key creates nothing, whatever the offset.
    assert_eq!(q!(c, "SETRANGE", "none", "0", ""), int(0));
    assert_eq!(q!(c, "SETRANGE", "none", "99999999999", ""), int(0));
    assert_eq!(q!(c, "EXISTS", "none"), int(0));
    // Offsets.
    assert_eq!(
        q!(c, "SETRANGE", "s", "-1", "x"),
        "-ERR offset is out of range\r\n"
    );
    assert_eq!(
        q!(c, "SETRANGE", "none", "-9223372036854775808", "x"),
        "-ERR offset is out of range\r\n"
    );
    assert_eq!(
        q!(c, "SETRANGE", "none", "-1", ""),
        "-ERR offset is out of range\r\n"
    );
    assert_eq!(q!(c, "SETRANGE", "s", "abc", "x"), NOT_INT);
    assert_eq!(q!(c, "SETRANGE", "s", "9223372036854775808", "x"), NOT_INT);
    // Results longer than 512 MB are refused (without being built).
    assert_eq!(q!(c, "SETRANGE", "none", "536870912", "x"), TOO_BIG);
    assert_eq!(q!(c, "SETRANGE", "none", "536870911", "xx"), TOO_BIG);
    assert_eq!(q!(c, "SETRANGE", "s", "536870912", "x"), TOO_BIG);
    assert_eq!(q!(c, "SETRANGE", "s", "9223372036854775807", "x"), TOO_BIG);
    assert_eq!(q!(c, "EXISTS", "none"), int(0));
    assert_eq!(q!(c, "STRLEN", "s"), int(14));
    // Binary patch into a large value.
    let mut big = noise(1 << 20, 5);
    assert_eq!(qb!(c, "SET", "big", big), OK.as_bytes());
    assert_eq!(
        qb!(c, "SETRANGE", "big", "524288", b"\r\n\0"),
        int(1 << 20).into_bytes()
    );
    big[524288..524291].copy_from_slice(b"\r\n\0");
    assert_eq!(qb!(c, "GET", "big"), bulk_bytes(&big));
    // SETRANGE keeps the TTL.
    assert_eq!(q!(c, "SET", "t", "abc", "PX", "200"), OK);
    assert_eq!(q!(c, "SETRANGE", "t", "1", "X"), int(3));
    assert_eq!(q!(c, "GET", "t"), bulk("aXc"));
    sleep(Duration::from_millis(350));
    assert_eq!(q!(c, "GET", "t"), NIL);
}

#[test]
fn incr_decr_family() {
    let server = Server::start();
    let mut c = Cli::new(&server);
    assert_eq!(q!(c, "INCR", "n"), int(1));
    assert_eq!(q!(c, "INCR", "n"), int(2));
    assert_eq!(q!(c, "DECR", "n"), int(1));
    assert_eq!(q!(c, "DECR", "d"), int(-1));
    assert_eq!(q!(c, "INCRBY", "n", "41"), int(42));
    assert_eq!(q!(c, "INCRBY", "n", "-50"), int(-8));
    assert_eq!(q!(c, "DECRBY", "n", "-10"), int(2));
    assert_eq!(q!(c, "DECRBY", "n", "5"), int(-3));
    assert_eq!(q!(c, "INCRBY", "n", "0"), int(-3));
    assert_eq!(q!(c, "GET", "n"), bulk("-3"));
    assert_eq!(q!(c, "INCRBY", "new", "7"), int(7));
    assert_eq!(q!(c, "DECRBY", "new2", "7"), int(-7));
    assert_eq!(q!(c, "GET", "new2"), bulk("-7"));

    // Overflow both ways; the value is left as it was.
    assert_eq!(q!(c, "SET", "max", "9223372036854775806"), OK);
    assert_eq!(q!(c, "INCR", "max"), int(i64::MAX));
    assert_eq!(q!(c, "INCR", "max"), OVERFLOW);
    assert_eq!(q!(c, "INCRBY", "max", "1"), OVERFLOW);
    assert_eq!(q!(c, "DECRBY", "max", "-1"), OVERFLOW);
    assert_eq!(q!(c, "INCRBY", "max", "0"), int(i64::MAX));
    assert_eq!(q!(c, "GET", "max"), bulk("9223372036854775807"));
    assert_eq!(q!(c, "SET", "min", "-9223372036854775807"), OK);
    assert_eq!(q!(c, "DECR", "min"), int(i64::MIN));
    assert_eq!(q!(c, "DECR", "min"), OVERFLOW);
    assert_eq!(q!(c, "DECRBY", "min", "1"), OVERFLOW);
    assert_eq!(q!(c, "INCRBY", "min", "-1"), OVERFLOW);
    assert_eq!(q!(c, "INCRBY", "min", "-9223372036854775808"), OVERFLOW);
    assert_eq!(q!(c, "GET", "min"), bulk("-9223372036854775808"));
    assert_eq!(q!(c, "INCRBY", "min", "9223372036854775807"), int(-1));
    assert_eq!(q!(c, "SET", "five", "5"), OK);
    assert_eq!(q!(c, "DECRBY", "five", "-9223372036854775807"), OVERFLOW);
    assert_eq!(q!(c, "INCRBY", "five", "9223372036854775803"), OVERFLOW);
    assert_eq!(
        q!(c, "INCRBY", "five", "9223372036854775802"),
        int(i64::MAX)
    );
    // DECRBY of i64::MIN cannot even be negated, and says so before looking at the key.
    assert_eq!(
        q!(c, "DECRBY", "five", "-9223372036854775808"),
        "-ERR decrement would overflow\r\n"
    );
    assert_eq!(
        q!(c, "DECRBY", "nokey", "-9223372036854775808"),
        "-ERR decrement would overflow\r\n"
    );
    assert_eq!(q!(c, "EXISTS", "nokey"), int(0));

    // Stored values that are not canonical 64-bit integers.
    for bad in [
        "abc",
        "",
        " 1",
        "1 ",
        "+1",
        "-0",
        "01",
        "1.5",
        "1e3",
        "0x10",
        "9223372036854775808",
        "-9223372036854775809",
        "99999999999999999999999",
    ] {
        assert_eq!(q!(c, "SET", "bad", bad), OK);
        for cmd in [
            &["INCR", "bad"][..],
            &["DECR", "bad"],
            &["INCRBY", "bad", "1"],
            &["DECRBY", "bad", "1"],
        ] {
            let args: Vec<&[u8]> = cmd.iter().map(|a| a.as_bytes()).collect();
            assert_eq!(c.call(&args), NOT_INT, "{cmd:?} on {bad:?}");
        }
        assert_eq!(q!(c, "GET", "bad"), bulk(bad), "unchanged");
    }
    assert_eq!(q!(c, "SET", "zero", "0"), OK);
    assert_eq!(q!(c, "DECR", "zero"), int(-1));
    // Bad increments, checked before the key.
    for bad in [
        "abc",
        "1.5",
        "",
        "9223372036854775808",
        "-9223372036854775809",
        "+5",
        " 5",
    ] {
        assert_eq!(q!(c, "INCRBY", "n", bad), NOT_INT, "{bad:?}");
        assert_eq!(q!(c, "DECRBY", "n", bad), NOT_INT, "{bad:?}");
        assert_eq!(q!(c, "INCRBY", "nokey", bad), NOT_INT, "{bad:?}");
    }
    assert_eq!(q!(c, "GET", "n"), bulk("-3"));
    assert_eq!(q!(c, "EXISTS", "nokey"), int(0));

    // Counters keep their TTL.
    for (k, cmd) in [
        ("t1", "INCR"),
        ("t2", "DECR"),
        ("t3", "INCRBY"),
        ("t4", "DECRBY"),
    ] {
        assert_eq!(q!(c, "SET", k, "10", "PX", "200"), OK);
        let reply = if cmd.ends_with("BY") {
            q!(c, cmd, k, "2")
        } else {
            q!(c, cmd, k)
        };
        assert!(reply.starts_with(':'), "{cmd}: {reply}");
    }
    sleep(Duration::from_millis(350));
    assert_eq!(q!(c, "EXISTS", "t1", "t2", "t3", "t4"), int(0));
    // A counter whose key expired starts again from 0.
    assert_eq!(q!(c, "INCR", "t1"), int(1));
}

#[test]
fn incrbyfloat_cases() {
    let server = Server::start();
    let mut c = Cli::new(&server);
    let cases: &[(Option<&str>, &str, &str)] = &[
        (Some("10.5"), "0.1", "10.6"),
        (Some("5.0e3"), "2.0e2", "5200"),
        (Some("1e2"), "1", "101"),
        (Some("1E2"), "-0.5", "99.5"),
        (Some("3"), "0", "3"),
        (Some("3.0"), "1.5", "4.5"),
        (Some("17179869184"), "1.5", "17179869185.5"),
        (Some("-1"), "1", "0"),
        (Some("1"), "1e20", "100000000000000000000"),
        (Some(".5"), "+.5", "1"),
        (Some("0"), "1e-7", "0.0000001"),
        (Some("-5"), "-0.25", "-5.25"),
        (Some("12"), "-inf", ""),
        (None, "1.5", "1.5"),
        (None, "-2", "-2"),
        (None, "0", "0"),
    ];
    for (i, &(start, incr, want)) in cases.iter().enumerate() {
        let k = format!("f{i}");
        if let Some(s) = start {
            assert_eq!(q!(c, "SET", k, s), OK);
        }
        if want.is_empty() {
            assert_eq!(q!(c, "INCRBYFLOAT", k, incr), NAN_INF, "{start:?} + {incr}");
        } else {
            assert_eq!(
                q!(c, "INCRBYFLOAT", k, incr),
                bulk(want),
                "{start:?} + {incr}"
            );
            assert_eq!(q!(c, "GET", k), bulk(want));
        }
    }
    // Chained: the stored text is read back each time.
    assert_eq!(q!(c, "INCRBYFLOAT", "chain", "10.5"), bulk("10.5"));
    assert_eq!(q!(c, "INCRBYFLOAT", "chain", "0.1"), bulk("10.6"));
    assert_eq!(q!(c, "INCRBYFLOAT", "chain", "-10.6"), bulk("0"));
    // NaN and infinities.
    assert_eq!(q!(c, "SET", "x", "1"), OK);
    for incr in ["inf", "+inf", "-inf", "Infinity", "-INFINITY"] {
        assert_eq!(q!(c, "INCRBYFLOAT", "x", incr), NAN_INF, "{incr}");
        assert_eq!(q!(c, "INCRBYFLOAT", "nokey", incr), NAN_INF, "{incr}");
    }
    // Bad increments and bad stored values.
    for bad in ["abc", "", " 1", "1 ", "nan", "NaN", "1e", "1.2.3"] {
        assert_eq!(q!(c, "INCRBYFLOAT", "x", bad), NOT_FLOAT, "incr {bad:?}");
        assert_eq!(
            q!(c, "INCRBYFLOAT", "nokey", bad),
            NOT_FLOAT,
            "incr {bad:?}"
        );
        assert_eq!(q!(c, "SET", "badval", bad), OK);
        assert_eq!(
            q!(c, "INCRBYFLOAT", "badval", "1"),
            NOT_FLOAT,
            "stored {bad:?}"
        );
        assert_eq!(q!(c, "GET", "badval"), bulk(bad));
    }
    assert_eq!(q!(c, "GET", "x"), bulk("1"));
    assert_eq!(q!(c, "EXISTS", "nokey"), int(0));
    // The result is a string INCR can use when integral.
    assert_eq!(q!(c, "INCRBYFLOAT", "i", "41.0"), bulk("41"));
    assert_eq!(q!(c, "INCR", "i"), int(42));
    // TTL kept.
    assert_eq!(q!(c, "SET", "t", "1.5", "PX", "200"), OK);
    assert_eq!(q!(c, "INCRBYFLOAT", "t", "1"), bulk("2.5"));
    sleep(Duration::from_millis(350));
    assert_eq!(q!(c, "GET", "t"), NIL);
}

#[test]
fn lcs_same_and_cross_shard() {
    let server = Server::start();
    let mut c = Cli::new(&server);
    let (a0, a1) = pair("lcsa");
    let b0 = keys_on_shard(0, 2, 2, "lcsb")[1].clone();
    let idx = "*4\r\n$7\r\nmatches\r\n*2\r\n*2\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n*2\r\n*2\r\n:2\r\n:3\r\n*2\r\n:0\r\n:1\r\n$3\r\nlen\r\n:6\r\n";
    let idx_min = "*4\r\n$7\r\nmatches\r\n*1\r\n*3\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n:8\r\n:4\r\n$3\r\nlen\r\n:6\r\n";
    // Same shard (a0, b0) and across shards (a0, a1).
    for (x, y) in [(&a0, &b0), (&a0, &a1)] {
        assert_eq!(q!(c, "MSET", x, "ohmytext"), OK);
        assert_eq!(q!(c, "SET", y, "mynewtext"), OK);
        assert_eq!(q!(c, "LCS", x, y), bulk("mytext"), "{x} {y}");
        assert_eq!(q!(c, "LCS", x, y, "LEN"), int(6));
        assert_eq!(q!(c, "LCS", x, y, "IDX"), idx);
        assert_eq!(
            q!(c, "LCS", x, y, "idx", "minmatchlen", "4", "withmatchlen"),
            idx_min
        );
        assert_eq!(q!(c, "LCS", x, y, "IDX", "MINMATCHLEN", "-5"), idx);
        assert_eq!(
            q!(c, "LCS", x, y, "IDX", "LEN"),
            "-ERR If you want both the length and indexes, please just use IDX.\r\n"
        );
        assert_eq!(q!(c, "LCS", x, y, "FOO"), SYNTAX);
        assert_eq!(q!(c, "LCS", x, y, "MINMATCHLEN"), SYNTAX);
        assert_eq!(q!(c, "LCS", x, y, "MINMATCHLEN", "x"), NOT_INT);
        assert_eq!(q!(c, "LCS", x, "nokey"), EMPTY);
        assert_eq!(q!(c, "LCS", "nokey", y, "LEN"), int(0));
        assert_eq!(q!(c, "LCS", x, x), bulk("ohmytext"));
    }
    // The work table is limited like Redis's (two 12000-byte strings need ~576 MB).
    let long = "x".repeat(12000);
    assert_eq!(q!(c, "MSET", a0, long, b0, long), OK);
    assert_eq!(
        q!(c, "LCS", a0, b0),
        "-ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len\r\n"
    );
}

#[test]
fn raw_socket_exact_error_bytes() {
    let server = Server::start();
    let mut raw = server.raw();
    // Several commands in one write: each reply in order, byte for byte.
    raw.send(
        b"*5\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n$2\r\nNX\r\n$2\r\nXX\r\n\
          *5\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n$2\r\nEX\r\n$1\r\n0\r\n\
          *3\r\n$3\r\nSET\r\n$1\r\nk\r\n$2\r\n10\r\n\
          *3\r\n$6\r\nINCRBY\r\n$1\r\nk\r\n$19\r\n9223372036854775807\r\n\
          *3\r\n$6\r\nDECRBY\r\n$1\r\nk\r\n$20\r\n-9223372036854775808\r\n\
          *3\r\n$11\r\nINCRBYFLOAT\r\n$1\r\nk\r\n$3\r\ninf\r\n\
          *4\r\n$8\r\nSETRANGE\r\n$1\r\nk\r\n$2\r\n-1\r\n$1\r\nx\r\n\
          *2\r\n$3\r\nGET\r\n$1\r\nk\r\n\
          *2\r\n$4\r\nMSET\r\n$1\r\nk\r\n",
    );
    raw.expect("-ERR syntax error\r\n");
    raw.expect("-ERR invalid expire time in 'set' command\r\n");
    raw.expect("+OK\r\n");
    raw.expect("-ERR increment or decrement would overflow\r\n");
    raw.expect("-ERR decrement would overflow\r\n");
    raw.expect("-ERR increment would produce NaN or Infinity\r\n");
    raw.expect("-ERR offset is out of range\r\n");
    raw.expect("$2\r\n10\r\n");
    raw.expect("-ERR wrong number of arguments for 'mset' command\r\n");
    // Inline commands reach the same handlers.
    raw.send(b"SETRANGE k 536870912 x\r\nINCRBYFLOAT k abc\r\nGETEX k PERSIST EX 1\r\n");
    raw.expect("-ERR string exceeds maximum allowed size (proto-max-bulk-len)\r\n");
    raw.expect("-ERR value is not a valid float\r\n");
    raw.expect("-ERR syntax error\r\n");
}

#[test]
fn resp3_nulls() {
    let server = Server::start();
    let mut raw = server.raw();
    raw.send(b"HELLO 3\r\n");
    // Skip the HELLO map: read lines until the empty modules array ends it.
    while raw.line() != "*0\r\n" {}
    let k1 = keys_on_shard(1, 2, 1, "r3")[0].clone();
    raw.send(format!("GET nokey\r\nSET k v XX\r\nGETDEL nokey\r\nMGET nokey {k1}\r\n").as_bytes());
    raw.expect("_\r\n");
    raw.expect("_\r\n");
    raw.expect("_\r\n");
    raw.expect("*2\r\n_\r\n_\r\n");
}
