//! Durability end to end: the effect of every write command survives a restart at every
//! `durability` setting — after a SIGKILL (only the WAL holds the data), after a SIGTERM
//! (the shutdown snapshot) and after a SAVE followed by more writes and a SIGKILL
//! (snapshot plus WAL tail) — compared as whole dumps, absolute expiry times included.
//! Also `durability=off`, switching `appendfsync` at run time, SAVE/BGSAVE/LASTSAVE and
//! INFO persistence, `wal_size_threshold_mb`, and a shard whose WAL cannot be written
//! refusing writes instead of acknowledging them.

mod common;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::{keys_on_shard, show, Server};

const SHARDS: usize = 2;
/// Relative TTLs far enough out that nothing the scenarios set expires during the test.
const FAR_S: u64 = 100_000;
const FAR_MS: u64 = FAR_S * 1000;
/// How long the keys that must expire while the server is down live.
const EPHEMERAL_MS: u64 = 1500;
/// Size of a WAL segment's header: a segment this size holds no records.
const SEGMENT_HEADER_LEN: u64 = 32;

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

fn now_s() -> u64 {
    now_ms() / 1000
}

/// The first key named `<name>:<n>` that lives on `shard`.
fn key_on(name: &str, shard: usize) -> String {
    keys_on(name, shard, 1).remove(0)
}

/// `count` keys named `<name>:<n>` that live on `shard`.
fn keys_on(name: &str, shard: usize, count: usize) -> Vec<String> {
    keys_on_shard(shard, SHARDS, count, &format!("{name}:"))
}

fn show_result(r: redis::RedisResult<redis::Value>) -> String {
    match r {
        Ok(v) => show(&v),
        Err(e) => match (e.code(), e.detail()) {
            (Some(code), detail) => format!("-{code} {}", detail.unwrap_or_default()),
            _ => format!("-(no reply: {e})"),
        },
    }
}

fn command(args: &[&str]) -> redis::Cmd {
    let mut cmd = redis::cmd(args[0]);
    for a in &args[1..] {
        cmd.arg(*a);
    }
    cmd
}

/// Runs one command on a plain connection and returns its reply as text.
fn call(con: &mut redis::Connection, args: &[&str]) -> String {
    show_result(command(args).query(con))
}

/// A connection that records the name of every command it sends, so that the test can
/// tell which write commands the scenarios really ran.
struct Session {
    con: redis::Connection,
    /// For scenarios that need a second connection (a push that wakes a blocked pop).
    client: redis::Client,
    sent: BTreeSet<String>,
}

impl Session {
    fn new(server: &Server) -> Session {
        Session {
            con: server.con(),
            client: server.client(),
            sent: BTreeSet::new(),
        }
    }

    fn call(&mut self, args: &[&str]) -> String {
        self.sent.insert(args[0].to_ascii_lowercase());
        call(&mut self.con, args)
    }

    /// Runs a command and checks its reply, so that every scenario changes the state the
    /// way it means to (an EXPIRE ... GT that silently did nothing would survive any
    /// restart).
    fn expect(&mut self, args: &[&str], want: &str) {
        let got = self.call(args);
        assert_eq!(got, want, "reply to {args:?}");
    }

    fn select(&mut self, db: usize) {
        self.expect(&["SELECT", &db.to_string()], "OK");
    }
}

// ---------------------------------------------------------------------------------------
// The scenario table: at least one entry per write command. A test asks the server for
// every command flagged `write` and fails naming any that has no entry here, or that no
// scenario actually sent.

/// A write command (lower case, as COMMAND names it) and the scenario that exercises it.
type Scenario = (&'static str, fn(&mut Session));

/// FLUSHALL must come first: it wipes whatever the scenarios before it wrote.
const CORE_SCENARIOS: &[Scenario] = &[
    ("flushall", flushall),
    ("flushdb", flushdb),
    ("swapdb", swapdb),
    ("set", set),
    ("setnx", setnx),
    ("setex", setex),
    ("psetex", psetex),
    ("getset", getset),
    ("getdel", getdel),
    ("getex", getex),
    ("mset", mset),
    ("msetnx", msetnx),
    ("append", append),
    ("setrange", setrange),
    ("incr", incr),
    ("decr", decr),
    ("incrby", incrby),
    ("decrby", decrby),
    ("incrbyfloat", incrbyfloat),
    ("del", del),
    ("unlink", unlink),
    ("rename", rename),
    ("renamenx", renamenx),
    ("copy", copy),
    ("move", move_),
    ("expire", expire),
    ("pexpire", pexpire),
    ("expireat", expireat),
    ("pexpireat", pexpireat),
    ("persist", persist),
];

// One scenario table per type family, each in its own file.
#[path = "durability/blocking.rs"]
mod blocking_scenarios;
#[path = "durability/hash.rs"]
mod hash_scenarios;
#[path = "durability/json.rs"]
mod json_scenarios;
#[path = "durability/list.rs"]
mod list_scenarios;
#[path = "durability/set.rs"]
mod set_scenarios;
#[path = "durability/sql.rs"]
mod sql_scenarios;
#[path = "durability/zset.rs"]
mod zset_scenarios;

/// Every scenario, FLUSHALL's first.
fn scenarios() -> Vec<Scenario> {
    [
        CORE_SCENARIOS,
        list_scenarios::SCENARIOS,
        hash_scenarios::SCENARIOS,
        set_scenarios::SCENARIOS,
        zset_scenarios::SCENARIOS,
        blocking_scenarios::SCENARIOS,
        json_scenarios::SCENARIOS,
        sql_scenarios::SCENARIOS,
    ]
    .concat()
}

fn flushall(s: &mut Session) {
    for db in [0, 5] {
        s.select(db);
        for shard in 0..SHARDS {
            s.expect(&["SET", &key_on("flushall-gone", shard), "x"], "OK");
        }
    }
    s.expect(&["FLUSHALL"], "OK");
    s.expect(&["DBSIZE"], ":0");
    s.select(0);
    s.expect(&["DBSIZE"], ":0");
    for shard in 0..SHARDS {
        s.expect(&["SET", &key_on("flushall-after", shard), "kept"], "OK");
    }
}

fn flushdb(s: &mut Session) {
    s.select(8);
    let other_db = key_on("flushdb-other-db", 1);
    s.expect(&["SET", &other_db, "kept"], "OK");
    s.select(9);
    for shard in 0..SHARDS {
        s.expect(&["SET", &key_on("flushdb-gone", shard), "x"], "OK");
    }
    s.expect(&["FLUSHDB"], "OK");
    s.expect(&["DBSIZE"], ":0");
    let after = key_on("flushdb-after", 0);
    s.expect(&["SET", &after, "kept", "EX", &FAR_S.to_string()], "OK");
    s.select(8);
    s.expect(&["GET", &other_db], "$kept");
}

fn swapdb(s: &mut Session) {
    let (a0, a1, b0) = (
        key_on("swapdb-a", 0),
        key_on("swapdb-a", 1),
        key_on("swapdb-b", 0),
    );
    s.select(10);
    s.expect(&["SET", &a0, "from-10", "EX", &FAR_S.to_string()], "OK");
    s.expect(&["SET", &a1, "from-10"], "OK");
    s.select(11);
    s.expect(&["SET", &b0, "from-11"], "OK");
    s.expect(&["SWAPDB", "10", "11"], "OK");
    s.expect(&["GET", &a0], "$from-10");
    s.expect(&["GET", &a1], "$from-10");
    s.select(10);
    s.expect(&["GET", &b0], "$from-11");
    s.expect(&["EXISTS", &a0, &a1], ":0");
    // A write after the swap lands in the swapped database.
    s.expect(&["SET", &key_on("swapdb-after", 1), "after"], "OK");
}

fn set(s: &mut Session) {
    let far_s = FAR_S.to_string();
    let far_ms = FAR_MS.to_string();
    let at_s = (now_s() + FAR_S).to_string();
    let at_ms = (now_ms() + FAR_MS + 123).to_string();
    for shard in 0..SHARDS {
        let k = |name: &str| key_on(&format!("set-{name}"), shard);
        s.expect(&["SET", &k("plain"), "v"], "OK");
        s.expect(&["SET", &k("ex"), "v", "EX", &far_s], "OK");
        s.expect(&["SET", &k("px"), "v", "PX", &far_ms], "OK");
        s.expect(&["SET", &k("exat"), "v", "EXAT", &at_s], "OK");
        s.expect(&["SET", &k("pxat"), "v", "PXAT", &at_ms], "OK");
        // KEEPTTL keeps the TTL; a plain SET clears it.
        s.expect(&["SET", &k("keepttl"), "v1", "PX", &far_ms], "OK");
        s.expect(&["SET", &k("keepttl"), "v2", "KEEPTTL"], "OK");
        s.expect(&["SET", &k("cleared"), "v1", "EX", &far_s], "OK");
        s.expect(&["SET", &k("cleared"), "v2"], "OK");
        s.expect(&["SET", &k("nx"), "first", "NX"], "OK");
        s.expect(&["SET", &k("nx"), "second", "NX"], "nil");
        s.expect(&["SET", &k("xx"), "never", "XX"], "nil");
        s.expect(&["SET", &k("xx"), "first"], "OK");
        s.expect(&["SET", &k("xx"), "second", "XX", "PX", &far_ms], "OK");
        s.expect(&["SET", &k("get"), "old"], "OK");
        s.expect(&["SET", &k("get"), "new", "GET"], "$old");
        s.expect(
            &["SET", &k("get-absent"), "new", "GET", "EX", &far_s],
            "nil",
        );
        s.expect(&["SET", &k("nx-ex"), "v", "NX", "EX", &far_s], "OK");
    }
    s.select(2);
    s.expect(&["SET", &key_on("set-empty", 0), ""], "OK");
    s.expect(&["SET", &key_on("set-crlf", 1), "a b\r\nc\0d"], "OK");
}

fn setnx(s: &mut Session) {
    for db in [0, 3] {
        s.select(db);
        for shard in 0..SHARDS {
            let k = key_on("setnx", shard);
            s.expect(&["SETNX", &k, "first"], ":1");
            s.expect(&["SETNX", &k, "second"], ":0");
        }
    }
}

fn setex(s: &mut Session) {
    for shard in 0..SHARDS {
        let k = key_on("setex", shard);
        s.expect(&["SET", &k, "no-ttl"], "OK");
        s.expect(&["SETEX", &k, &FAR_S.to_string(), "v"], "OK");
    }
}

fn psetex(s: &mut Session) {
    for shard in 0..SHARDS {
        let k = key_on("psetex", shard);
        s.expect(&["PSETEX", &k, &(FAR_MS + 7).to_string(), "v"], "OK");
    }
}

fn getset(s: &mut Session) {
    for shard in 0..SHARDS {
        let k = key_on("getset", shard);
        s.expect(&["SET", &k, "old", "EX", &FAR_S.to_string()], "OK");
        // GETSET clears the TTL.
        s.expect(&["GETSET", &k, "new"], "$old");
        s.expect(&["GETSET", &key_on("getset-absent", shard), "v"], "nil");
    }
}

fn getdel(s: &mut Session) {
    for shard in 0..SHARDS {
        let (gone, kept) = (key_on("getdel", shard), key_on("getdel-kept", shard));
        s.expect(&["SET", &gone, "v"], "OK");
        s.expect(&["SET", &kept, "v"], "OK");
        s.expect(&["GETDEL", &gone], "$v");
        s.expect(&["GETDEL", &gone], "nil");
    }
}

fn getex(s: &mut Session) {
    for shard in 0..SHARDS {
        let k = |name: &str| key_on(&format!("getex-{name}"), shard);
        for name in ["ex", "px", "exat", "pxat", "persist", "plain"] {
            s.expect(&["SET", &k(name), name, "EX", "5000"], "OK");
        }
        s.expect(&["GETEX", &k("ex"), "EX", &FAR_S.to_string()], "$ex");
        s.expect(&["GETEX", &k("px"), "PX", &FAR_MS.to_string()], "$px");
        let at_s = (now_s() + FAR_S).to_string();
        s.expect(&["GETEX", &k("exat"), "EXAT", &at_s], "$exat");
        let at_ms = (now_ms() + FAR_MS + 9).to_string();
        s.expect(&["GETEX", &k("pxat"), "PXAT", &at_ms], "$pxat");
        s.expect(&["GETEX", &k("persist"), "PERSIST"], "$persist");
        s.expect(&["GETEX", &k("plain")], "$plain");
    }
}

fn mset(s: &mut Session) {
    for db in [0, 4] {
        s.select(db);
        let (a, b) = (key_on("mset", 0), key_on("mset", 1));
        let c = key_on("mset-ttl", 1);
        s.expect(&["SET", &c, "old", "EX", &FAR_S.to_string()], "OK");
        // Across shards; overwriting a key with a TTL clears it.
        s.expect(&["MSET", &a, "a", &b, "b", &c, "c"], "OK");
        s.expect(&["MSET", "{mset}x", "x", "{mset}y", "y"], "OK");
    }
}

fn msetnx(s: &mut Session) {
    let (a, b, c) = (
        key_on("msetnx", 0),
        key_on("msetnx", 1),
        key_on("msetnx-never", 1),
    );
    s.expect(&["MSETNX", &a, "a", &b, "b"], ":1");
    // One key exists: nothing is set.
    s.expect(&["MSETNX", &c, "c", &a, "again"], ":0");
    s.expect(&["EXISTS", &c], ":0");
    s.expect(&["MSETNX", "{msetnx}x", "x", "{msetnx}y", "y"], ":1");
}

fn append(s: &mut Session) {
    for shard in 0..SHARDS {
        let (k, ttl) = (key_on("append", shard), key_on("append-ttl", shard));
        s.expect(&["APPEND", &k, "ab"], ":2");
        s.expect(&["APPEND", &k, "cd"], ":4");
        s.expect(&["SET", &ttl, "v", "EX", &FAR_S.to_string()], "OK");
        s.expect(&["APPEND", &ttl, "w"], ":2");
    }
}

fn setrange(s: &mut Session) {
    for shard in 0..SHARDS {
        let (fresh, old) = (key_on("setrange", shard), key_on("setrange-old", shard));
        // Past the end of a missing key: zero bytes fill the gap.
        s.expect(&["SETRANGE", &fresh, "3", "xy"], ":5");
        s.expect(&["SET", &old, "hello", "PX", &FAR_MS.to_string()], "OK");
        s.expect(&["SETRANGE", &old, "0", "J"], ":5");
    }
}

fn incr(s: &mut Session) {
    for shard in 0..SHARDS {
        let (k, ttl) = (key_on("incr", shard), key_on("incr-ttl", shard));
        s.expect(&["INCR", &k], ":1");
        s.expect(&["INCR", &k], ":2");
        s.expect(&["SET", &ttl, "10", "EX", &FAR_S.to_string()], "OK");
        s.expect(&["INCR", &ttl], ":11");
    }
}

fn decr(s: &mut Session) {
    for shard in 0..SHARDS {
        let k = key_on("decr", shard);
        s.expect(&["DECR", &k], ":-1");
        s.expect(&["DECR", &k], ":-2");
    }
}

fn incrby(s: &mut Session) {
    for shard in 0..SHARDS {
        let k = key_on("incrby", shard);
        s.expect(&["INCRBY", &k, "5"], ":5");
        s.expect(&["INCRBY", &k, "-7"], ":-2");
    }
}

fn decrby(s: &mut Session) {
    for shard in 0..SHARDS {
        let k = key_on("decrby", shard);
        s.expect(&["DECRBY", &k, "5"], ":-5");
        s.expect(&["DECRBY", &k, "-100"], ":95");
    }
}

fn incrbyfloat(s: &mut Session) {
    for shard in 0..SHARDS {
        let (k, e, ttl) = (
            key_on("incrbyfloat", shard),
            key_on("incrbyfloat-exp", shard),
            key_on("incrbyfloat-ttl", shard),
        );
        s.expect(&["INCRBYFLOAT", &k, "0.1"], "$0.1");
        // Whatever the sum prints as, the WAL must hold that value (not the increment).
        let sum = s.call(&["INCRBYFLOAT", &k, "0.2"]);
        let printed: f64 = sum.trim_start_matches('$').parse().expect(&sum);
        assert!((printed - 0.3).abs() < 1e-9, "{sum}");
        s.expect(&["INCRBYFLOAT", &e, "1.5e3"], "$1500");
        s.expect(&["SET", &ttl, "2.5", "EX", &FAR_S.to_string()], "OK");
        s.expect(&["INCRBYFLOAT", &ttl, "1"], "$3.5");
    }
}

/// DEL and UNLINK: keys on both shards, one named twice, one missing.
fn delete_with(s: &mut Session, cmd: &str) {
    let name = format!("{}-gone", cmd.to_ascii_lowercase());
    let (a, b) = (keys_on(&name, 0, 3), keys_on(&name, 1, 2));
    for k in a.iter().chain(&b) {
        s.expect(&["SET", k, "v"], "OK");
    }
    let kept = key_on(&format!("{}-kept", cmd.to_ascii_lowercase()), 1);
    s.expect(&["SET", &kept, "v"], "OK");
    s.expect(
        &[cmd, &a[0], &b[0], &a[1], &b[1], &a[2], "missing", &a[0]],
        ":5",
    );
}

fn del(s: &mut Session) {
    delete_with(s, "DEL");
}

fn unlink(s: &mut Session) {
    delete_with(s, "UNLINK");
}

fn rename(s: &mut Session) {
    for db in [0, 6] {
        s.select(db);
        // Same shard (hash tag), keeping the TTL.
        s.expect(&["SET", "{rename}a", "v", "EX", &FAR_S.to_string()], "OK");
        s.expect(&["RENAME", "{rename}a", "{rename}b"], "OK");
        // Across shards, keeping the TTL, onto an existing key.
        let (src, dst) = (key_on("rename-src", 0), key_on("rename-dst", 1));
        s.expect(&["SET", &src, "moved", "PX", &FAR_MS.to_string()], "OK");
        s.expect(&["SET", &dst, "overwritten"], "OK");
        s.expect(&["RENAME", &src, &dst], "OK");
        s.expect(&["EXISTS", &src], ":0");
    }
}

fn renamenx(s: &mut Session) {
    let (src, dst) = (key_on("renamenx-src", 1), key_on("renamenx-dst", 0));
    s.expect(&["SET", &src, "moved", "EX", &FAR_S.to_string()], "OK");
    s.expect(&["RENAMENX", &src, &dst], ":1");
    let (stay, taken) = (key_on("renamenx-stay", 0), key_on("renamenx-taken", 1));
    s.expect(&["SET", &stay, "stays"], "OK");
    s.expect(&["SET", &taken, "taken"], "OK");
    s.expect(&["RENAMENX", &stay, &taken], ":0");
    s.expect(&["SET", "{renamenx}a", "v"], "OK");
    s.expect(&["RENAMENX", "{renamenx}a", "{renamenx}b"], ":1");
}

fn copy(s: &mut Session) {
    let src = key_on("copy-src", 0);
    s.expect(&["SET", &src, "original", "EX", &FAR_S.to_string()], "OK");
    // Same shard, across shards, into another database (same and other shard).
    s.expect(&["COPY", &src, "{copy}same-shard-dst"], ":1");
    let cross = key_on("copy-dst", 1);
    s.expect(&["COPY", &src, &cross], ":1");
    s.expect(&["COPY", &src, &src, "DB", "7"], ":1");
    s.expect(&["COPY", &src, &cross, "DB", "7"], ":1");
    // Onto an existing key: only with REPLACE.
    let existing = key_on("copy-existing", 1);
    s.expect(&["SET", &existing, "before"], "OK");
    s.expect(&["COPY", &src, &existing], ":0");
    let replaced = key_on("copy-replaced", 0);
    s.expect(&["SET", &replaced, "before"], "OK");
    s.expect(&["COPY", &src, &replaced, "REPLACE"], ":1");
}

fn move_(s: &mut Session) {
    for shard in 0..SHARDS {
        let (k, blocked) = (key_on("move", shard), key_on("move-blocked", shard));
        s.expect(&["SET", &k, "moved", "EX", &FAR_S.to_string()], "OK");
        s.expect(&["MOVE", &k, "3"], ":1");
        s.expect(&["SET", &blocked, "db0"], "OK");
        s.select(3);
        s.expect(&["SET", &blocked, "db3"], "OK");
        s.select(0);
        s.expect(&["MOVE", &blocked, "3"], ":0");
    }
}

/// EXPIRE-family checks shared by the four commands: `unit` turns seconds into the
/// command's unit, `base` is what the command's time is relative to (0 for relative
/// commands, now for the absolute ones), and `past` a time that has already passed.
fn expire_with(s: &mut Session, cmd: &str, unit: u64, base: u64, past: &str) {
    let name = cmd.to_ascii_lowercase();
    let t = |secs: u64| (base + secs * unit).to_string();
    for shard in 0..SHARDS {
        let k = |what: &str| key_on(&format!("{name}-{what}"), shard);
        let (opts, fresh, gone) = (k("options"), k("fresh"), k("past"));
        s.expect(&["SET", &opts, "v"], "OK");
        s.expect(&[cmd, &opts, &t(FAR_S)], ":1");
        s.expect(&[cmd, &opts, &t(FAR_S / 2), "NX"], ":0");
        s.expect(&[cmd, &opts, &t(FAR_S * 2), "GT"], ":1");
        s.expect(&[cmd, &opts, &t(FAR_S * 3), "LT"], ":0");
        s.expect(&[cmd, &opts, &t(FAR_S + 17), "LT"], ":1");
        s.expect(&[cmd, &opts, &t(FAR_S * 4), "XX"], ":1");
        s.expect(&["SET", &fresh, "v"], "OK");
        s.expect(&[cmd, &fresh, &t(FAR_S), "XX"], ":0");
        // A key without TTL counts as never expiring: GT fails, LT applies.
        s.expect(&[cmd, &fresh, &t(FAR_S), "GT"], ":0");
        s.expect(&[cmd, &fresh, &t(FAR_S + 1), "LT"], ":1");
        // A time in the past deletes the key.
        s.expect(&["SET", &gone, "v", "EX", &FAR_S.to_string()], "OK");
        s.expect(&[cmd, &gone, past], ":1");
        s.expect(&["EXISTS", &gone], ":0");
    }
}

fn expire(s: &mut Session) {
    expire_with(s, "EXPIRE", 1, 0, "-1");
}

fn pexpire(s: &mut Session) {
    expire_with(s, "PEXPIRE", 1000, 0, "0");
}

fn expireat(s: &mut Session) {
    expire_with(s, "EXPIREAT", 1, now_s(), "1");
}

fn pexpireat(s: &mut Session) {
    let past = (now_ms() - 1000).to_string();
    expire_with(s, "PEXPIREAT", 1000, now_ms(), &past);
}

fn persist(s: &mut Session) {
    for shard in 0..SHARDS {
        let k = key_on("persist", shard);
        s.expect(&["SET", &k, "v", "EX", &FAR_S.to_string()], "OK");
        s.expect(&["PERSIST", &k], ":1");
        s.expect(&["PERSIST", &k], ":0");
    }
}

fn run_scenarios(s: &mut Session, scenarios: &[Scenario]) {
    for (_, run) in scenarios {
        run(s);
        s.select(0);
    }
}

/// Every command the server flags `write`, from `COMMAND`.
fn write_commands(con: &mut redis::Connection) -> BTreeSet<String> {
    let all: redis::Value = redis::cmd("COMMAND").query(con).unwrap();
    let redis::Value::Array(entries) = all else {
        panic!("COMMAND reply: {all:?}");
    };
    let mut writes = BTreeSet::new();
    for entry in entries {
        let redis::Value::Array(fields) = &entry else {
            panic!("COMMAND entry: {entry:?}");
        };
        let (redis::Value::BulkString(name), redis::Value::Array(flags) | redis::Value::Set(flags)) =
            (&fields[0], &fields[2])
        else {
            panic!("COMMAND entry: {entry:?}");
        };
        if flags
            .iter()
            .any(|f| matches!(f, redis::Value::SimpleString(s) if s == "write"))
        {
            writes.insert(String::from_utf8(name.clone()).unwrap());
        }
    }
    assert!(
        writes.contains("set"),
        "COMMAND lists SET as a write: {writes:?}"
    );
    writes
}

/// Fails naming every write command without a scenario, and every scenario that names a
/// command the server does not flag `write`.
fn assert_table_covers(writes: &BTreeSet<String>) {
    let all = scenarios();
    let table: BTreeSet<&str> = all.iter().map(|(command, _)| *command).collect();
    let missing: Vec<&String> = writes
        .iter()
        .filter(|w| !table.contains(w.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "write commands with no scenario in tests/durability.rs or tests/durability/*.rs: {missing:?}"
    );
    let stale: Vec<&&str> = table.iter().filter(|c| !writes.contains(**c)).collect();
    assert!(
        stale.is_empty(),
        "scenarios for commands the server does not flag as write: {stale:?}"
    );
}

/// Fails naming every write command that no scenario sent.
fn assert_all_sent(writes: &BTreeSet<String>, sent: &BTreeSet<String>) {
    let unsent: Vec<&String> = writes.iter().filter(|w| !sent.contains(*w)).collect();
    assert!(
        unsent.is_empty(),
        "write commands whose scenario never sent them: {unsent:?}"
    );
}

// ---------------------------------------------------------------------------------------
// Dumping and comparing the whole state.

#[derive(Debug, Clone, PartialEq)]
struct Stored {
    value: Vec<u8>,
    /// PEXPIRETIME: absolute Unix ms, or -1 for no expiry.
    expire_at: i64,
}

/// Every live key of every database: (db, key) -> value and absolute expiry.
type State = BTreeMap<(usize, Vec<u8>), Stored>;

fn databases(con: &mut redis::Connection) -> usize {
    let (_, n): (String, usize) = redis::cmd("CONFIG")
        .arg("GET")
        .arg("databases")
        .query(con)
        .unwrap();
    n
}

/// Every key SCAN lists in the selected database.
fn scan_all(con: &mut redis::Connection) -> Vec<Vec<u8>> {
    let mut keys = Vec::new();
    let mut cursor = "0".to_string();
    loop {
        let (next, batch): (String, Vec<Vec<u8>>) = redis::cmd("SCAN")
            .arg(&cursor)
            .arg("COUNT")
            .arg(1000)
            .query(con)
            .unwrap();
        keys.extend(batch);
        if next == "0" {
            return keys;
        }
        cursor = next;
    }
}

/// Reads every key of every database through SCAN, with its value and PEXPIRETIME.
fn dump_state(con: &mut redis::Connection) -> State {
    let mut state = State::new();
    for db in 0..databases(con) {
        redis::cmd("SELECT").arg(db).query::<()>(con).unwrap();
        for keys in scan_all(con).chunks(1000) {
            let mut pipe = redis::pipe();
            for k in keys {
                pipe.cmd("TYPE").arg(k);
            }
            let kinds: Vec<String> = pipe.query(con).unwrap();
            let mut pipe = redis::pipe();
            let mut read = Vec::new();
            for (k, kind) in keys.iter().zip(kinds) {
                let read_cmd = match kind.as_str() {
                    // Expired since SCAN listed it.
                    "none" => continue,
                    "string" => "GET",
                    "list" => "LRANGE",
                    "hash" => "HGETALL",
                    "set" => "SMEMBERS",
                    "zset" => "ZRANGE",
                    "ReJSON-RL" => "JSON.GET",
                    other => panic!("dump_state cannot read a {other} value yet: add it"),
                };
                let cmd = pipe.cmd(read_cmd).arg(k);
                match read_cmd {
                    "LRANGE" => {
                        cmd.arg(0).arg(-1);
                    }
                    "ZRANGE" => {
                        cmd.arg(0).arg(-1).arg("WITHSCORES");
                    }
                    _ => {}
                }
                pipe.cmd("PEXPIRETIME").arg(k);
                read.push((k, kind));
            }
            if read.is_empty() {
                continue;
            }
            let values: Vec<(redis::Value, i64)> = pipe.query(con).unwrap();
            for ((k, kind), (value, expire_at)) in read.into_iter().zip(values) {
                let Some(value) = canonical(&kind, value) else {
                    continue; // expired in between
                };
                let dup = state.insert((db, k.clone()), Stored { value, expire_at });
                assert!(
                    dup.is_none(),
                    "SCAN returned db{db} {:?} twice",
                    String::from_utf8_lossy(k)
                );
            }
        }
    }
    redis::cmd("SELECT").arg(0).query::<()>(con).unwrap();
    state
}

/// A value as comparable bytes: a string as itself, a container as its type and its
/// elements (a hash's pairs and a set's members sorted, as their order is arbitrary).
/// None for a key that vanished between SCAN and the read.
fn canonical(kind: &str, value: redis::Value) -> Option<Vec<u8>> {
    let bytes = |v: &redis::Value| match v {
        redis::Value::BulkString(b) => b.clone(),
        other => panic!("a {kind} element that is not a bulk string: {other:?}"),
    };
    match (kind, value) {
        (_, redis::Value::Nil) => None,
        ("string", redis::Value::BulkString(b)) => Some(b),
        // Compact JSON text, keys in document order (which JSON preserves).
        ("ReJSON-RL", redis::Value::BulkString(b)) => Some([b"json ".as_slice(), &b].concat()),
        (_, redis::Value::Array(items) | redis::Value::Set(items)) if items.is_empty() => None,
        ("list", redis::Value::Array(items)) => {
            Some(format!("list {:?}", items.iter().map(bytes).collect::<Vec<_>>()).into_bytes())
        }
        ("set", redis::Value::Array(items) | redis::Value::Set(items)) => {
            let mut m: Vec<_> = items.iter().map(bytes).collect();
            m.sort();
            Some(format!("set {m:?}").into_bytes())
        }
        ("hash", redis::Value::Array(items)) => {
            let mut pairs: Vec<_> = items
                .chunks(2)
                .map(|p| (bytes(&p[0]), bytes(&p[1])))
                .collect();
            pairs.sort();
            Some(format!("hash {pairs:?}").into_bytes())
        }
        // Member, score, member, score... in rank order, which is part of the state.
        ("zset", redis::Value::Array(items)) => {
            let pairs: Vec<_> = items.iter().map(bytes).collect();
            Some(format!("zset {pairs:?}").into_bytes())
        }
        ("hash", redis::Value::Map(items)) => {
            let mut pairs: Vec<_> = items.iter().map(|(f, v)| (bytes(f), bytes(v))).collect();
            pairs.sort();
            Some(format!("hash {pairs:?}").into_bytes())
        }
        (kind, other) => panic!("unexpected {kind} reply: {other:?}"),
    }
}

/// The state a restart at `now` must show: `before` without the keys that expired.
fn live_at(before: &State, now: u64) -> State {
    before
        .iter()
        .filter(|(_, v)| v.expire_at < 0 || v.expire_at as u64 > now)
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

fn assert_same_state(expected: &State, actual: &State, what: &str) {
    if expected == actual {
        return;
    }
    let name = |(db, k): &(usize, Vec<u8>)| format!("db{db} {:?}", String::from_utf8_lossy(k));
    let show = |v: &Stored| {
        format!(
            "{:?} expiring at {}",
            String::from_utf8_lossy(&v.value),
            v.expire_at
        )
    };
    let mut diffs = Vec::new();
    for (k, want) in expected {
        match actual.get(k) {
            None => diffs.push(format!("missing {}: {}", name(k), show(want))),
            Some(got) if got != want => diffs.push(format!(
                "changed {}: {} -> {}",
                name(k),
                show(want),
                show(got)
            )),
            Some(_) => {}
        }
    }
    for (k, got) in actual {
        if !expected.contains_key(k) {
            diffs.push(format!("unexpected {}: {}", name(k), show(got)));
        }
    }
    panic!(
        "{what}: {} differences (first 30):\n{}",
        diffs.len(),
        diffs[..diffs.len().min(30)].join("\n")
    );
}

/// Keys on every shard, in two databases, that expire `EPHEMERAL_MS` from now: they must
/// be in the dump taken before the restart and gone after it. Returns their expiry.
fn write_ephemerals(s: &mut Session) -> u64 {
    let at = now_ms() + EPHEMERAL_MS;
    for db in [0, 12] {
        s.select(db);
        for shard in 0..SHARDS {
            let k = key_on("ephemeral", shard);
            s.expect(&["SET", &k, "short-lived", "PXAT", &at.to_string()], "OK");
        }
    }
    s.select(0);
    at
}

fn assert_ephemerals(state: &State, at: u64, present: bool) {
    let found = state
        .iter()
        .filter(|((_, k), v)| k.starts_with(b"ephemeral:") && v.expire_at == at as i64)
        .count();
    let want = if present { 2 * SHARDS } else { 0 };
    assert_eq!(
        found, want,
        "short-lived keys (expiring at {at}) in the dump"
    );
}

// ---------------------------------------------------------------------------------------
// Files and INFO.

/// `<data dir>/<shard>/`.
fn shard_dir(server: &Server, shard: usize) -> PathBuf {
    server.data_dir().join(shard.to_string())
}

/// A shard folder's WAL segments, in log order: (sequence number, path, size).
fn segments(dir: &Path) -> Vec<(u64, PathBuf, u64)> {
    let mut out: Vec<(u64, PathBuf, u64)> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| {
            let e = e.unwrap();
            let name = e.file_name().into_string().unwrap();
            let seq = name
                .strip_prefix("wal-")?
                .strip_suffix(".log")?
                .parse()
                .ok()?;
            let size = std::fs::symlink_metadata(e.path()).unwrap().len();
            Some((seq, e.path(), size))
        })
        .collect();
    out.sort();
    out
}

fn info_fields(con: &mut redis::Connection, section: &str) -> HashMap<String, String> {
    let text: String = redis::cmd("INFO").arg(section).query(con).unwrap();
    text.lines()
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.to_string(), v.trim().to_string()))
        .collect()
}

fn persistence(con: &mut redis::Connection) -> HashMap<String, String> {
    info_fields(con, "persistence")
}

fn field<T: std::str::FromStr>(fields: &HashMap<String, String>, name: &str) -> T
where
    T::Err: std::fmt::Debug,
{
    fields
        .get(name)
        .unwrap_or_else(|| panic!("INFO has no {name}: {fields:?}"))
        .parse()
        .unwrap()
}

/// Each shard's (last LSN, durable LSN) from INFO shards.
fn wal_positions(con: &mut redis::Connection) -> Vec<(u64, u64)> {
    let text: String = redis::cmd("INFO").arg("shards").query(con).unwrap();
    text.lines()
        .filter(|l| l.starts_with("shard"))
        .map(|l| {
            let get = |name: &str| -> u64 {
                l.split(',')
                    .find_map(|kv| kv.strip_prefix(&format!("{name}=")))
                    .unwrap_or_else(|| panic!("no {name} in {l}"))
                    .parse()
                    .unwrap()
            };
            (get("last_lsn"), get("durable_lsn"))
        })
        .collect()
}

fn synced(positions: &[(u64, u64)]) -> bool {
    positions.iter().all(|(last, durable)| durable == last)
}

/// Checks what `durability` promises about the WAL right after acknowledged writes:
/// `always` has synced them already, `everysec` within about a second, `no` not at all
/// (the data survives a SIGKILL anyway: the kernel's page cache holds it).
fn check_sync_promise(con: &mut redis::Connection, durability: &str) {
    let positions = wal_positions(con);
    assert_eq!(positions.len(), SHARDS);
    match durability {
        "always" => assert!(synced(&positions), "always: {positions:?}"),
        "everysec" => {
            let deadline = Instant::now() + Duration::from_secs(3);
            let mut positions = positions;
            while !synced(&positions) {
                assert!(
                    Instant::now() < deadline,
                    "everysec: WAL not synced within 3 s: {positions:?}"
                );
                std::thread::sleep(Duration::from_millis(50));
                positions = wal_positions(con);
            }
        }
        "no" => assert!(
            positions.iter().all(|(last, durable)| durable < last),
            "no: the server synced by itself, so the SIGKILL would not show that the page \
             cache is enough: {positions:?}"
        ),
        other => panic!("durability {other}"),
    }
}

/// Starts a server on the data directory of `server`, which has stopped.
fn start_again(mut server: Server, extra: &[&str]) -> Server {
    let dir = std::mem::replace(&mut server.dir, tempfile::tempdir().unwrap());
    Server::start_in(dir, SHARDS, extra)
}

fn sleep_until(at_ms: u64) {
    let now = now_ms();
    if at_ms > now {
        std::thread::sleep(Duration::from_millis(at_ms - now));
    }
}

// ---------------------------------------------------------------------------------------
// 1. Every write command through a restart, at every durability setting.

#[derive(Debug, Clone, Copy)]
enum Stop {
    /// SIGKILL: only the WAL holds the data.
    Kill,
    /// SIGTERM: the shutdown snapshot holds it.
    Terminate,
    /// SAVE half-way through the scenarios, then SIGKILL: snapshot plus WAL tail.
    SaveThenKill,
}

fn round_trip(durability: &str, stop: Stop) {
    let flags = ["--durability", durability];
    let mut server = Server::start_with(SHARDS, &flags);
    let mut s = Session::new(&server);
    let writes = write_commands(&mut s.con);
    assert_table_covers(&writes);
    match stop {
        Stop::Kill | Stop::Terminate => run_scenarios(&mut s, &scenarios()),
        Stop::SaveThenKill => {
            let all = scenarios();
            let (first, rest) = all.split_at(all.len() / 2);
            run_scenarios(&mut s, first);
            s.expect(&["SAVE"], "OK");
            for shard in 0..SHARDS {
                assert!(shard_dir(&server, shard).join("snapshot.mfs").is_file());
            }
            run_scenarios(&mut s, rest);
        }
    }
    assert_all_sent(&writes, &s.sent);
    let ephemeral_at = write_ephemerals(&mut s);
    let before = dump_state(&mut s.con);
    assert_ephemerals(&before, ephemeral_at, true);
    check_sync_promise(&mut s.con, durability);
    drop(s);
    match stop {
        Stop::Kill | Stop::SaveThenKill => server.kill(),
        Stop::Terminate => {
            assert!(server.terminate().success());
            // The shutdown snapshot holds everything: no WAL segment keeps a record.
            for shard in 0..SHARDS {
                let dir = shard_dir(&server, shard);
                assert!(dir.join("snapshot.mfs").is_file(), "{}", dir.display());
                for (_, path, size) in segments(&dir) {
                    assert_eq!(
                        size,
                        SEGMENT_HEADER_LEN,
                        "{} after shutdown",
                        path.display()
                    );
                }
            }
        }
    }
    if let Stop::SaveThenKill = stop {
        // The writes after the SAVE are only in the WAL tail.
        for shard in 0..SHARDS {
            let tail: u64 = segments(&shard_dir(&server, shard))
                .iter()
                .map(|(_, _, size)| size)
                .sum();
            assert!(tail > SEGMENT_HEADER_LEN, "shard {shard}: no WAL tail");
        }
    }
    // The short-lived keys expire while the server is down.
    sleep_until(ephemeral_at + 10);
    let server = start_again(server, &flags);
    let mut con = server.con();
    let now = now_ms();
    let after = dump_state(&mut con);
    assert_ephemerals(&after, ephemeral_at, false);
    assert_same_state(
        &live_at(&before, now),
        &after,
        &format!("durability={durability}, restart after {stop:?}"),
    );
    let ephemeral = [key_on("ephemeral", 0), key_on("ephemeral", 1)];
    for db in ["0", "12"] {
        assert_eq!(call(&mut con, &["SELECT", db]), "OK");
        assert_eq!(
            call(&mut con, &["EXISTS", &ephemeral[0], &ephemeral[1]]),
            ":0",
            "keys that expired while the server was down, in db {db}"
        );
    }
}

fn every_write_command_survives_restarts(durability: &str) {
    for stop in [Stop::Kill, Stop::Terminate, Stop::SaveThenKill] {
        round_trip(durability, stop);
    }
}

#[test]
fn every_write_command_survives_restarts_with_durability_always() {
    every_write_command_survives_restarts("always");
}

#[test]
fn every_write_command_survives_restarts_with_durability_everysec() {
    every_write_command_survives_restarts("everysec");
}

#[test]
fn every_write_command_survives_restarts_with_durability_no() {
    every_write_command_survives_restarts("no");
}

// ---------------------------------------------------------------------------------------
// `durability=off` and switching `appendfsync` at run time.

#[test]
fn durability_off_keeps_exactly_what_the_last_save_wrote() {
    let flags = ["--durability", "off"];
    let mut server = Server::start_with(SHARDS, &flags);
    let mut s = Session::new(&server);
    let p = persistence(&mut s.con);
    assert_eq!(p["aof_enabled"], "0");
    assert_eq!(p["durability"], "off");
    assert_eq!(
        call(&mut s.con, &["CONFIG", "GET", "appendonly"]),
        "[$appendonly, $no]"
    );
    // No WAL to switch on while running.
    let refused = call(&mut s.con, &["CONFIG", "SET", "appendfsync", "always"]);
    assert!(
        refused.starts_with("-ERR") && refused.contains("can't be turned on or off"),
        "{refused}"
    );
    assert_eq!(
        call(&mut s.con, &["CONFIG", "GET", "appendfsync"]),
        "[$appendfsync, $off]"
    );

    run_scenarios(&mut s, &scenarios());
    s.expect(&["SAVE"], "OK");
    let saved = dump_state(&mut s.con);
    // After the SAVE: new keys, a deletion, a TTL change, a flush. None of it may survive.
    for shard in 0..SHARDS {
        s.expect(&["SET", &key_on("after-save", shard), "lost"], "OK");
        s.expect(&["DEL", &key_on("set-plain", shard)], ":1");
        s.expect(&["PERSIST", &key_on("set-ex", shard)], ":1");
    }
    s.select(9);
    s.expect(&["FLUSHDB"], "OK");
    s.select(0);
    for shard in 0..SHARDS {
        let dir = shard_dir(&server, shard);
        assert!(segments(&dir).is_empty(), "{}: WAL files", dir.display());
    }
    drop(s);
    // A clean shutdown takes no snapshot with durability off.
    assert!(server.terminate().success());
    let mut server = start_again(server, &flags);
    let mut con = server.con();
    let now = now_ms();
    assert_same_state(
        &live_at(&saved, now),
        &dump_state(&mut con),
        "durability=off, after SIGTERM",
    );

    assert_eq!(call(&mut con, &["SET", "after-restart", "lost"]), "OK");
    drop(con);
    server.kill();
    let mut server = start_again(server, &flags);
    let mut con = server.con();
    let now = now_ms();
    assert_same_state(
        &live_at(&saved, now),
        &dump_state(&mut con),
        "durability=off, after SIGKILL",
    );

    // SHUTDOWN SAVE snapshots even with durability off.
    for shard in 0..SHARDS {
        assert_eq!(
            call(&mut con, &["SET", &key_on("shutdown-save", shard), "kept"]),
            "OK"
        );
    }
    let _ = call(&mut con, &["SHUTDOWN", "SAVE"]);
    assert!(server.wait_exit().success());
    let server = start_again(server, &flags);
    let mut con = server.con();
    for shard in 0..SHARDS {
        assert_eq!(
            call(&mut con, &["GET", &key_on("shutdown-save", shard)]),
            "$kept"
        );
    }
    assert_eq!(call(&mut con, &["EXISTS", "after-restart"]), ":0");
}

#[test]
fn appendfsync_switches_at_run_time_and_every_write_survives() {
    let mut server = Server::start_with(SHARDS, &[]);
    let mut con = server.con();
    assert_eq!(persistence(&mut con)["durability"], "always");
    for (round, mode) in ["no", "everysec", "always", "no", "always"]
        .iter()
        .enumerate()
    {
        assert_eq!(
            call(&mut con, &["CONFIG", "SET", "appendfsync", mode]),
            "OK",
            "switching to {mode} in round {round}"
        );
        assert_eq!(
            call(&mut con, &["CONFIG", "GET", "appendfsync"]),
            format!("[$appendfsync, ${mode}]")
        );
        assert_eq!(persistence(&mut con)["durability"], *mode);
        for shard in 0..SHARDS {
            for k in keys_on(&format!("round{round}"), shard, 20) {
                assert_eq!(call(&mut con, &["SET", &k, mode]), "OK");
            }
        }
        check_sync_promise(&mut con, mode);
    }
    // Unsynced writes under `no`, then a switch to `always` in the same pipeline as a
    // write: the reply waits for a sync of records the WAL task wrote before the switch,
    // which it must do although no new record arrives after the waiter.
    assert_eq!(
        call(&mut con, &["CONFIG", "SET", "appendfsync", "no"]),
        "OK"
    );
    for shard in 0..SHARDS {
        assert_eq!(
            call(&mut con, &["SET", &key_on("unsynced", shard), "no"]),
            "OK"
        );
    }
    check_sync_promise(&mut con, "no");
    con.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let replies: redis::RedisResult<(String, String)> = redis::pipe()
        .cmd("SET")
        .arg(key_on("switch-pipelined", 0))
        .arg("v")
        .cmd("CONFIG")
        .arg("SET")
        .arg("appendfsync")
        .arg("always")
        .query(&mut con);
    assert_eq!(
        replies.expect("replies to SET + CONFIG SET appendfsync always"),
        ("OK".to_string(), "OK".to_string())
    );
    check_sync_promise(&mut con, "always");
    let refused = call(&mut con, &["CONFIG", "SET", "appendfsync", "off"]);
    assert!(refused.starts_with("-ERR"), "{refused}");
    let before = dump_state(&mut con);
    assert_eq!(before.len(), 5 * 20 * SHARDS + SHARDS + 1);
    drop(con);
    server.kill();
    let server = start_again(server, &[]);
    let mut con = server.con();
    assert_same_state(
        &before,
        &dump_state(&mut con),
        "writes under switching appendfsync, after SIGKILL",
    );
}

// ---------------------------------------------------------------------------------------
// 2. SAVE, BGSAVE, LASTSAVE, INFO persistence.

/// Writes `count` keys `<prefix><i>` with `size`-byte values that LZ4 cannot shrink
/// much, so that a snapshot of them takes measurable time.
fn fill(con: &mut redis::Connection, prefix: &str, count: usize, size: usize) {
    let mut rng = 0x9e37_79b9_7f4a_7c15u64;
    for chunk in (0..count).collect::<Vec<_>>().chunks(200) {
        let mut pipe = redis::pipe();
        for i in chunk {
            let value: String = (0..size)
                .map(|_| {
                    rng ^= rng << 13;
                    rng ^= rng >> 7;
                    rng ^= rng << 17;
                    char::from(b'!' + (rng % 90) as u8)
                })
                .collect();
            pipe.cmd("SET")
                .arg(format!("{prefix}{i}"))
                .arg(value)
                .ignore();
        }
        pipe.query::<()>(con).unwrap();
    }
}

/// Polls INFO persistence until `done` holds; panics after `limit`.
fn wait_persistence(
    con: &mut redis::Connection,
    limit: Duration,
    what: &str,
    done: impl Fn(&HashMap<String, String>) -> bool,
) -> HashMap<String, String> {
    let deadline = Instant::now() + limit;
    loop {
        let p = persistence(con);
        if done(&p) {
            return p;
        }
        assert!(Instant::now() < deadline, "{what}: {p:?}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn lastsave(con: &mut redis::Connection) -> u64 {
    redis::cmd("LASTSAVE").query(con).unwrap()
}

/// The WAL figures INFO reports match the files on disk.
fn assert_wal_info_matches_files(server: &Server, con: &mut redis::Connection) {
    let p = persistence(con);
    let files: Vec<(u64, PathBuf, u64)> = (0..SHARDS)
        .flat_map(|shard| segments(&shard_dir(server, shard)))
        .collect();
    assert_eq!(field::<usize>(&p, "wal_segments"), files.len(), "{files:?}");
    assert_eq!(
        field::<u64>(&p, "wal_size_bytes"),
        files.iter().map(|f| f.2).sum::<u64>(),
        "{files:?}"
    );
}

#[test]
fn save_bgsave_lastsave_and_info_persistence_report_the_truth() {
    let server = Server::start_with(SHARDS, &[]);
    let mut con = server.con();
    let p = persistence(&mut con);
    assert_eq!(p["aof_enabled"], "1");
    assert_eq!(p["durability"], "always");
    assert_eq!(p["aof_last_write_status"], "ok");
    assert_eq!(p["rdb_bgsave_in_progress"], "0");
    assert_eq!(p["rdb_changes_since_last_save"], "0");
    assert_eq!(p["rdb_saves"], "0");
    // Before the first save, LASTSAVE is the start time.
    let started = lastsave(&mut con);
    assert!(started <= now_s() && started + 30 > now_s(), "{started}");
    assert_eq!(field::<u64>(&p, "rdb_last_save_time"), started);
    assert_wal_info_matches_files(&server, &mut con);

    // Each SET of a new key is one change.
    for shard in 0..SHARDS {
        for k in keys_on("counted", shard, 25) {
            assert_eq!(call(&mut con, &["SET", &k, "v"]), "OK");
        }
    }
    let p = persistence(&mut con);
    assert_eq!(field::<u64>(&p, "rdb_changes_since_last_save"), 50);
    assert_wal_info_matches_files(&server, &mut con);

    // SAVE: returns once every shard's snapshot is on disk; LASTSAVE moves.
    sleep_until((started + 1) * 1000 + 10);
    assert_eq!(call(&mut con, &["SAVE"]), "OK");
    let saved_at = lastsave(&mut con);
    assert!(
        saved_at > started && saved_at <= now_s(),
        "{started} -> {saved_at}"
    );
    let p = persistence(&mut con);
    assert_eq!(field::<u64>(&p, "rdb_last_save_time"), saved_at);
    assert_eq!(p["rdb_changes_since_last_save"], "0");
    assert_eq!(p["rdb_saves"], "1");
    assert_eq!(p["rdb_last_snapshot_keys"], "50");
    assert_eq!(p["rdb_last_bgsave_status"], "ok");
    assert_eq!(p["rdb_bgsave_in_progress"], "0");
    for shard in 0..SHARDS {
        assert!(shard_dir(&server, shard).join("snapshot.mfs").is_file());
    }
    assert_wal_info_matches_files(&server, &mut con);

    // BGSAVE and BGSAVE SCHEDULE with nothing running both start one at once.
    assert_eq!(call(&mut con, &["BGSAVE"]), "Background saving started");
    wait_persistence(&mut con, Duration::from_secs(10), "BGSAVE", |p| {
        p["rdb_saves"] == "2" && p["rdb_bgsave_in_progress"] == "0"
    });
    assert_eq!(
        call(&mut con, &["BGSAVE", "SCHEDULE"]),
        "Background saving started"
    );
    wait_persistence(&mut con, Duration::from_secs(10), "BGSAVE SCHEDULE", |p| {
        p["rdb_saves"] == "3" && p["rdb_bgsave_in_progress"] == "0"
    });
    assert!(call(&mut con, &["BGSAVE", "NOW"]).starts_with("-ERR syntax error"));

    // While one runs: BGSAVE is refused as Redis refuses it, SCHEDULE queues another.
    // 60 MB take the shards long enough (about 0.1 s) for INFO to see the snapshot run.
    fill(&mut con, "big:", 30_000, 2000);
    assert_eq!(call(&mut con, &["BGSAVE"]), "Background saving started");
    let p = wait_persistence(&mut con, Duration::from_secs(10), "BGSAVE", |p| {
        p["rdb_bgsave_in_progress"] == "1" || p["rdb_saves"] != "3"
    });
    assert_eq!(
        p["rdb_bgsave_in_progress"], "1",
        "the snapshot ended before INFO saw it running: {p:?}"
    );
    assert_eq!(
        call(&mut con, &["BGSAVE"]),
        "-ERR Background save already in progress"
    );
    assert_eq!(
        call(&mut con, &["BGSAVE", "SCHEDULE"]),
        "Background saving scheduled"
    );
    let p = wait_persistence(&mut con, Duration::from_secs(20), "scheduled BGSAVE", |p| {
        p["rdb_saves"] == "5" && p["rdb_bgsave_in_progress"] == "0"
    });
    assert_eq!(p["rdb_last_snapshot_keys"], "30050");
    assert_eq!(p["rdb_changes_since_last_save"], "0");
    assert!(lastsave(&mut con) >= saved_at);
    assert_wal_info_matches_files(&server, &mut con);
}

// ---------------------------------------------------------------------------------------
// 3. `wal_size_threshold_mb`: shards snapshot by themselves and drop the log it covers.

#[test]
fn a_wal_past_its_threshold_is_snapshotted_and_dropped() {
    const THRESHOLD: u64 = 1 << 20;
    let flags = ["--wal_size_threshold_mb", "1"];
    let mut server = Server::start_with(SHARDS, &flags);
    let mut con = server.con();
    // About 4 MB of values per shard, four times the threshold.
    fill(&mut con, "bulk:", 2000, 4000);
    for shard in 0..SHARDS {
        for k in keys_on("bulk-ttl", shard, 10) {
            let at = (now_ms() + FAR_MS).to_string();
            assert_eq!(call(&mut con, &["SET", &k, "v", "PXAT", &at]), "OK");
        }
    }
    // Once the shards have caught up, each holds less than a threshold of log: the
    // segments the snapshots cover are gone.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let logs: Vec<Vec<(u64, PathBuf, u64)>> = (0..SHARDS)
            .map(|shard| segments(&shard_dir(&server, shard)))
            .collect();
        let small = logs
            .iter()
            .all(|segs| segs.iter().map(|s| s.2).sum::<u64>() < THRESHOLD);
        let idle = persistence(&mut con)["rdb_bgsave_in_progress"] == "0";
        if small && idle {
            for (shard, segs) in logs.iter().enumerate() {
                assert!(
                    segs.len() <= 2 && segs.iter().all(|s| s.0 > 1),
                    "shard {shard}: the first segment and those after it are deleted: {segs:?}"
                );
                assert!(shard_dir(&server, shard).join("snapshot.mfs").is_file());
            }
            break;
        }
        assert!(
            Instant::now() < deadline,
            "WAL still holds a threshold or more: {logs:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let p = persistence(&mut con);
    assert!(field::<u64>(&p, "rdb_saves") >= 2, "{p:?}");
    assert_eq!(p["rdb_last_bgsave_status"], "ok");
    assert_wal_info_matches_files(&server, &mut con);

    let before = dump_state(&mut con);
    assert_eq!(before.len(), 2000 + 10 * SHARDS);
    drop(con);
    server.kill();
    let server = start_again(server, &flags);
    let mut con = server.con();
    assert_same_state(
        &before,
        &dump_state(&mut con),
        "automatic snapshots plus WAL, after SIGKILL",
    );
}

// ---------------------------------------------------------------------------------------
// 4. A shard whose WAL cannot be written refuses writes instead of acknowledging them.

#[test]
fn a_shard_that_cannot_write_its_wal_refuses_writes_and_keeps_serving_reads() {
    let mut server = Server::start_logged(tempfile::tempdir().unwrap(), SHARDS, &[]);
    let mut cons = server.con_on_each_core(SHARDS);
    let mut acknowledged: Vec<(String, String)> = Vec::new();
    for shard in 0..SHARDS {
        for (i, k) in keys_on("acked", shard, 20).into_iter().enumerate() {
            let v = format!("v{i}");
            assert_eq!(call(&mut cons[i % SHARDS], &["SET", &k, &v]), "OK");
            acknowledged.push((k, v));
        }
    }
    // Keys for the coordinated writes below: all on shard 0.
    let (in_db13, rename_src) = (key_on("flush-target", 0), key_on("rename-src", 0));
    assert_eq!(call(&mut cons[1], &["SET", &rename_src, "stays"]), "OK");
    assert_eq!(call(&mut cons[1], &["SELECT", "13"]), "OK");
    assert_eq!(call(&mut cons[1], &["SET", &in_db13, "stays"]), "OK");
    assert_eq!(call(&mut cons[1], &["SELECT", "0"]), "OK");
    acknowledged.push((rename_src.clone(), "stays".to_string()));
    // The next segment shard 0 opens is /dev/full: a snapshot starts one, and writing its
    // header fails with ENOSPC.
    let dir = shard_dir(&server, 0);
    let next = segments(&dir).last().expect("shard 0 has a segment").0 + 1;
    let trap = dir.join(format!("wal-{next:020}.log"));
    std::os::unix::fs::symlink("/dev/full", &trap).unwrap();
    assert_eq!(call(&mut cons[0], &["BGSAVE"]), "Background saving started");
    wait_persistence(
        &mut cons[1],
        Duration::from_secs(10),
        "shard 0 reports its WAL failure",
        |p| p["aof_last_write_status"] == "err",
    );

    let refused = key_on("refused", 0);
    for (core, con) in cons.iter_mut().enumerate() {
        let reply = call(con, &["SET", &refused, "never acknowledged"]);
        assert!(
            reply.starts_with("-MISCONF") && reply.contains("shard 0"),
            "SET on shard 0 from core {core}: {reply}"
        );
        let reply = call(con, &["INCR", &acknowledged[0].0]);
        assert!(
            reply.starts_with("-MISCONF"),
            "INCR from core {core}: {reply}"
        );
        // Reads are still served, from the data as acknowledged.
        assert_eq!(call(con, &["EXISTS", &refused]), ":0", "from core {core}");
        assert_eq!(
            call(con, &["GET", &acknowledged[0].0]),
            format!("${}", acknowledged[0].1)
        );
        // Coordinated writes that touch shard 0 are refused too, and change nothing.
        let misconf = |reply: String, what: &str| {
            assert!(
                reply.starts_with("-MISCONF"),
                "{what} from core {core}: {reply}"
            );
        };
        assert_eq!(call(con, &["SELECT", "13"]), "OK");
        misconf(call(con, &["FLUSHDB"]), "FLUSHDB");
        misconf(call(con, &["SWAPDB", "13", "14"]), "SWAPDB");
        assert_eq!(call(con, &["GET", &in_db13]), "$stays");
        assert_eq!(call(con, &["SELECT", "0"]), "OK");
        let elsewhere = key_on("elsewhere", 1);
        misconf(call(con, &["RENAME", &rename_src, &elsewhere]), "RENAME");
        assert_eq!(call(con, &["GET", &rename_src]), "$stays");
        misconf(call(con, &["COPY", &acknowledged[20].0, &refused]), "COPY");
        misconf(call(con, &["MSET", &refused, "x", &elsewhere, "y"]), "MSET");
        misconf(call(con, &["MOVE", &rename_src, "2"]), "MOVE");
        assert_eq!(call(con, &["EXISTS", &refused]), ":0", "from core {core}");
        // The other shard still takes writes.
        let k = key_on(&format!("other-shard-from-core{core}"), 1);
        assert_eq!(call(con, &["SET", &k, "ok"]), "OK");
        acknowledged.push((k, "ok".to_string()));
    }
    let log = server.stderr_log();
    assert!(
        log.contains("MISCONF Errors writing to the WAL of shard 0"),
        "the failure is logged: {log}"
    );
    drop(cons);
    server.kill();
    std::fs::remove_file(&trap).unwrap();
    let server = start_again(server, &[]);
    let mut con = server.con();
    for (k, v) in &acknowledged {
        assert_eq!(
            call(&mut con, &["GET", k]),
            format!("${v}"),
            "acknowledged {k}"
        );
    }
    assert_eq!(call(&mut con, &["EXISTS", &refused]), ":0");
    assert_eq!(call(&mut con, &["SELECT", "13"]), "OK");
    assert_eq!(call(&mut con, &["GET", &in_db13]), "$stays");
    assert_eq!(call(&mut con, &["SELECT", "0"]), "OK");
    assert_eq!(call(&mut con, &["SET", &refused, "now"]), "OK");
}
