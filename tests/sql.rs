//! The SQL engine over RESP (`SQL <statement>`), pinned by case files and a few tests.
//!
//! # Case files: `tests/sql/cases/<area>.test`
//!
//! Each file runs, top to bottom, on one connection to its own fresh two-shard server.
//! Expected results are PostgreSQL 15's (rendered as MemFlux replies: one compact JSON
//! object per row); `tests/sql/pg_oracle.py` runs a case file
//! against a real PostgreSQL and reports every expectation PostgreSQL disagrees with.
//! Lines:
//!
//! ```text
//! # a comment (ignored; blank lines end an expected-reply block)
//! > SELECT name FROM t ORDER BY name      -- a statement, on one line, sent as `SQL <it>`
//! {"name":"a"}                           -- the expected reply, one line per element...
//! {"name":"b"}
//!
//! ! JSON.SET t:9 $ '{"id":9,"name":"z"}'  -- a plain Redis command (reply ignored...
//! OK                                     -- ...unless expected lines follow)
//!
//! @spread t                              -- asserts rows of table t live on every shard
//! #pg CREATE TABLE ...                   -- run by pg_oracle.py only (PostgreSQL's side of
//!                                           a `!` command, or of a schemaless table)
//! #pg-skip <why>                         -- pg_oracle.py does not run the next statement:
//!                                           a documented MemFlux deviation
//! ```
//!
//! An expected reply is:
//! * `OK` for `+OK` (DDL);
//! * a bare integer for an integer reply (the row count of INSERT/UPDATE/DELETE);
//! * one line per array element — a JSON row (`{"id":1}`) for a query or RETURNING —
//!   compared in order when the statement says ORDER BY, otherwise as a sorted multiset;
//! * `(empty)` for an empty array;
//! * `ERR SQL <message>` for an error, matched exactly, or as a prefix when it ends in
//!   `*` (parse errors, whose sqlparser wording is brittle);
//! * for `!` commands also `(nil)` and a bulk string's text.
//!
//! A statement must have an expected reply; a `!` command may. Arguments of `!` are
//! split at spaces; `'...'` quotes one argument holding spaces (no escapes).
//!
//! # The other tests
//! The multi-argument form (`SQL SELECT * FROM t` as separate arguments), tables and
//! schemas surviving restarts (WAL only, snapshot + WAL, shutdown snapshot), and a fuzz
//! test of bad SQL that must only ever get an `ERR SQL` error (or a result) while the
//! server keeps answering other connections.

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::Server;

const SHARDS: usize = 2;

// ---------------------------------------------------------------------------------------
// Replies as lines

/// A reply as the lines a case file writes (see the module notes).
fn reply_lines(r: &redis::RedisResult<redis::Value>) -> Vec<String> {
    use redis::Value;
    match r {
        Err(e) => vec![error_text(e)],
        Ok(Value::Array(items)) | Ok(Value::Set(items)) => {
            if items.is_empty() {
                vec!["(empty)".to_string()]
            } else {
                items.iter().map(element_text).collect()
            }
        }
        Ok(v) => vec![element_text(v)],
    }
}

fn element_text(v: &redis::Value) -> String {
    use redis::Value;
    match v {
        Value::Okay => "OK".into(),
        Value::SimpleString(s) => s.clone(),
        Value::Int(n) => n.to_string(),
        Value::Nil => "(nil)".into(),
        Value::BulkString(b) => String::from_utf8_lossy(b).into_owned(),
        Value::ServerError(e) => format!("{} {}", e.code(), e.details().unwrap_or_default()),
        other => common::show(other),
    }
}

/// `ERR SQL ...` for a server error; a connection failure says so.
fn error_text(e: &redis::RedisError) -> String {
    match e.code() {
        Some(code) => format!("{code} {}", e.detail().unwrap_or_default())
            .trim_end()
            .to_string(),
        None => format!("(no reply: {e})"),
    }
}

/// Whether a statement's rows come in a defined order: it says ORDER BY.
fn ordered(stmt: &str) -> bool {
    let words: Vec<String> = stmt
        .split(|c: char| !c.is_ascii_alphanumeric() && c != '_')
        .filter(|w| !w.is_empty())
        .map(|w| w.to_ascii_lowercase())
        .collect();
    words.windows(2).any(|w| w[0] == "order" && w[1] == "by")
}

/// Whether `actual` is the reply `expected` describes.
fn matches(stmt: &str, expected: &[String], actual: &[String]) -> bool {
    if let [want] = expected {
        if let Some(prefix) = want.strip_suffix('*') {
            if prefix.starts_with("ERR") {
                return actual.len() == 1 && actual[0].starts_with(prefix);
            }
        }
    }
    if ordered(stmt) {
        expected == actual
    } else {
        let mut e = expected.to_vec();
        let mut a = actual.to_vec();
        e.sort();
        a.sort();
        e == a
    }
}

// ---------------------------------------------------------------------------------------
// Case files

enum Step {
    Sql(String),
    Redis(Vec<String>),
    /// `@spread t`: rows of `t` on every shard.
    Spread(String),
}

struct Case {
    line: usize,
    step: Step,
    expected: Vec<String>,
}

fn cases_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sql/cases")
}

/// Splits a `!` line into arguments: spaces separate, `'...'` quotes.
fn split_args(s: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut rest = s.trim_start();
    while !rest.is_empty() {
        if let Some(q) = rest.strip_prefix('\'') {
            let end = q.find('\'').ok_or("unterminated quote")?;
            out.push(q[..end].to_string());
            rest = q[end + 1..].trim_start();
        } else {
            let end = rest.find(' ').unwrap_or(rest.len());
            out.push(rest[..end].to_string());
            rest = rest[end..].trim_start();
        }
    }
    if out.is_empty() {
        return Err("no command".into());
    }
    Ok(out)
}

fn parse_cases(file: &str, text: &str) -> Vec<Case> {
    let mut cases: Vec<Case> = Vec::new();
    // Whether expected lines may still be added to the last case.
    let mut open = false;
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let l = raw.trim_end();
        if l.trim().is_empty() {
            open = false;
        } else if l.starts_with('#') {
        } else if let Some(stmt) = l.strip_prefix("> ") {
            cases.push(Case {
                line,
                step: Step::Sql(stmt.trim().to_string()),
                expected: Vec::new(),
            });
            open = true;
        } else if let Some(cmd) = l.strip_prefix("! ") {
            let args = split_args(cmd).unwrap_or_else(|e| panic!("{file}:{line}: {e}"));
            cases.push(Case {
                line,
                step: Step::Redis(args),
                expected: Vec::new(),
            });
            open = true;
        } else if let Some(table) = l.strip_prefix("@spread ") {
            cases.push(Case {
                line,
                step: Step::Spread(table.trim().to_string()),
                expected: Vec::new(),
            });
            open = false;
        } else if open {
            cases.last_mut().unwrap().expected.push(l.to_string());
        } else {
            panic!("{file}:{line}: an expected reply with no statement before it: {l:?}");
        }
    }
    for c in &cases {
        if matches!(c.step, Step::Sql(_)) && c.expected.is_empty() {
            panic!("{file}:{}: statement without an expected reply", c.line);
        }
    }
    cases
}

/// The keys of table `t` (`t:*`).
fn table_keys(con: &mut redis::Connection, table: &str) -> Vec<String> {
    redis::cmd("KEYS")
        .arg(format!("{table}:*"))
        .query(con)
        .expect("KEYS")
}

/// Runs `tests/sql/cases/<name>.test` on a fresh two-shard server; fails listing every
/// case whose reply differs.
fn run_case_file(name: &str) {
    let path = cases_dir().join(format!("{name}.test"));
    let file = format!("tests/sql/cases/{name}.test");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{file}: {e}"));
    let cases = parse_cases(&file, &text);
    assert!(!cases.is_empty(), "{file}: no cases");
    let mut server = Server::start_with(SHARDS, &[]);
    let mut con = server.con();
    let mut failures = Vec::new();
    let mut ran = 0;
    for case in &cases {
        match &case.step {
            Step::Spread(table) => {
                let keys = table_keys(&mut con, table);
                let shards: std::collections::BTreeSet<usize> = keys
                    .iter()
                    .map(|k| memflux::shard::routing::shard_of(k.as_bytes(), SHARDS))
                    .collect();
                if shards.len() != SHARDS {
                    failures.push(format!(
                        "{file}:{}: rows of {table} are not on every shard: {keys:?}",
                        case.line
                    ));
                }
            }
            Step::Sql(stmt) => {
                ran += 1;
                let r = redis::cmd("SQL").arg(stmt).query::<redis::Value>(&mut con);
                let actual = reply_lines(&r);
                if !matches(stmt, &case.expected, &actual) {
                    failures.push(format!(
                        "{file}:{}: {stmt}\n  expected: {}\n  actual:   {}",
                        case.line,
                        case.expected.join("\n            "),
                        actual.join("\n            ")
                    ));
                }
                if let Err(e) = &r {
                    if e.code().is_none() {
                        failures.push(format!("{file}:{}: connection lost: {e}", case.line));
                        break;
                    }
                }
            }
            Step::Redis(args) => {
                let mut cmd = redis::cmd(&args[0]);
                for a in &args[1..] {
                    cmd.arg(a);
                }
                let r = cmd.query::<redis::Value>(&mut con);
                let actual = reply_lines(&r);
                let stmt = args.join(" ");
                if !case.expected.is_empty() && !matches(&stmt, &case.expected, &actual) {
                    failures.push(format!(
                        "{file}:{}: ! {stmt}\n  expected: {}\n  actual:   {}",
                        case.line,
                        case.expected.join("\n            "),
                        actual.join("\n            ")
                    ));
                }
            }
        }
    }
    // The connection and the server carry on after whatever the file sent.
    let pong: redis::RedisResult<String> = redis::cmd("PING").query(&mut con);
    if pong.as_deref() != Ok("PONG") {
        failures.push(format!("{file}: PING after the cases: {pong:?}"));
    }
    if !server.alive() {
        failures.push(format!("{file}: the server died"));
    }
    assert!(
        failures.is_empty(),
        "{} of {ran} statements in {file} failed:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

macro_rules! case_files {
    ($($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                run_case_file(stringify!($name));
            }
        )*
        const CASE_FILES: &[&str] = &[$(stringify!($name)),*];
    };
}

case_files!(ddl, dml, select, aggregate, join, functions, errors);

/// Every case file has its test above (a new file must be added to `case_files!`).
#[test]
fn every_case_file_runs() {
    let mut on_disk: Vec<String> = std::fs::read_dir(cases_dir())
        .unwrap()
        .filter_map(|e| {
            let name = e.unwrap().file_name().into_string().unwrap();
            name.strip_suffix(".test").map(str::to_string)
        })
        .collect();
    on_disk.sort();
    let mut listed: Vec<String> = CASE_FILES.iter().map(|s| s.to_string()).collect();
    listed.sort();
    assert_eq!(on_disk, listed, "case files on disk vs case_files!(...)");
}

/// The runner's own rules: ordering, multisets, prefix errors, argument splitting.
#[test]
fn runner_rules() {
    let l = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert!(ordered("SELECT a FROM t ORDER  BY a"));
    assert!(ordered("select a from t order\tby a"));
    assert!(!ordered("SELECT border, by FROM t"));
    assert!(matches("SELECT a FROM t", &l(&["2", "1"]), &l(&["1", "2"])));
    assert!(!matches(
        "SELECT a FROM t ORDER BY a",
        &l(&["2", "1"]),
        &l(&["1", "2"])
    ));
    assert!(!matches("SELECT a FROM t", &l(&["1", "1"]), &l(&["1"])));
    assert!(matches(
        "SELEC",
        &l(&["ERR SQL syntax error*"]),
        &l(&["ERR SQL syntax error: Expected ..."])
    ));
    assert!(!matches(
        "SELEC",
        &l(&["ERR SQL syntax error"]),
        &l(&["ERR SQL syntax error: Expected ..."])
    ));
    assert_eq!(
        split_args(r#"JSON.SET t:1 $ '{"a": "b c"}'"#).unwrap(),
        l(&["JSON.SET", "t:1", "$", r#"{"a": "b c"}"#])
    );
    let cases = parse_cases("x", "# c\n> SELECT 1\n1\n\n! PING\nPONG\n@spread t\n");
    assert_eq!(cases.len(), 3);
    assert_eq!(cases[0].expected, l(&["1"]));
    assert_eq!(cases[1].expected, l(&["PONG"]));
}

// ---------------------------------------------------------------------------------------
// Helpers for the tests below

fn sql(con: &mut redis::Connection, stmt: &str) -> Vec<String> {
    reply_lines(&redis::cmd("SQL").arg(stmt).query::<redis::Value>(con))
}

/// Runs `stmt` and checks its reply (rows as a sorted multiset unless it says ORDER BY).
#[track_caller]
fn check(con: &mut redis::Connection, stmt: &str, expected: &[&str]) {
    let expected: Vec<String> = expected.iter().map(|s| s.to_string()).collect();
    let actual = sql(con, stmt);
    assert!(
        matches(stmt, &expected, &actual),
        "{stmt}\n  expected: {expected:?}\n  actual:   {actual:?}"
    );
}

/// Kills the server (SIGKILL: only what reached the WAL and snapshots survives) and
/// starts a new one on its data.
fn kill_and_restart(mut server: Server) -> Server {
    server.kill();
    let dir = std::mem::replace(&mut server.dir, tempfile::tempdir().unwrap());
    Server::start_in(dir, SHARDS, &[])
}

// ---------------------------------------------------------------------------------------
// ORDER BY ... LIMIT over more rows than a shard keeps before trimming

/// Each shard keeps only the best rows of an ordered LIMIT (and drops rows that sort
/// after its worst kept one unprojected); over thousands of rows with ties and NULLs
/// the answer is still a prefix of the fully sorted result.
#[test]
fn ordered_limit_is_a_prefix_of_the_full_sort() {
    let server = Server::start_with(SHARDS, &[]);
    let mut con = server.con();
    check(
        &mut con,
        "CREATE TABLE big (id INTEGER PRIMARY KEY, a INTEGER, b TEXT)",
        &["OK"],
    );
    for chunk in (0..6000).collect::<Vec<i64>>().chunks(1000) {
        let values: Vec<String> = chunk
            .iter()
            .map(|i| {
                let a = if i % 13 == 0 {
                    "NULL".to_string()
                } else {
                    (i * 7 % 50).to_string()
                };
                format!("({i}, {a}, 'b{:05}')", (i * 7919) % 6000)
            })
            .collect();
        let n = sql(
            &mut con,
            &format!("INSERT INTO big VALUES {}", values.join(", ")),
        );
        assert_eq!(n, [chunk.len().to_string()]);
    }
    let field = |rows: &[String], name: &str| -> Vec<serde_json::Value> {
        rows.iter()
            .map(|r| serde_json::from_str::<serde_json::Value>(r).unwrap()[name].clone())
            .collect()
    };
    for (order, skip, take, key) in [
        ("a DESC NULLS LAST, id", 0, 25, "id"),
        ("a, id DESC", 40, 10, "id"),
        ("a NULLS FIRST", 100, 30, "a"),
        ("b DESC", 0, 5, "b"),
        ("a * -1, b", 3, 1500, "b"),
    ] {
        let all = sql(
            &mut con,
            &format!("SELECT id, a, b FROM big ORDER BY {order}"),
        );
        assert_eq!(all.len(), 6000, "{order}");
        let some = sql(
            &mut con,
            &format!("SELECT id, a, b FROM big ORDER BY {order} LIMIT {take} OFFSET {skip}"),
        );
        assert_eq!(
            field(&some, key),
            field(&all[skip..skip + take], key),
            "ORDER BY {order} LIMIT {take} OFFSET {skip}"
        );
    }
    let distinct = sql(
        &mut con,
        "SELECT DISTINCT a FROM big ORDER BY a NULLS FIRST LIMIT 4",
    );
    assert_eq!(
        distinct,
        [r#"{"a":null}"#, r#"{"a":0}"#, r#"{"a":1}"#, r#"{"a":2}"#]
    );
}

// ---------------------------------------------------------------------------------------
// Joins on the primary key

/// A join on the other table's key reads it by key when the rows so far name few of
/// the database's keys, and scans it when they name many (more than half): the rows
/// are the same either way.
#[test]
fn key_joins_read_by_key_or_scan_with_the_same_rows() {
    let server = Server::start_with(SHARDS, &[]);
    let mut con = server.con();
    check(
        &mut con,
        "CREATE TABLE r (id INTEGER PRIMARY KEY, v INTEGER)",
        &["OK"],
    );
    check(
        &mut con,
        "CREATE TABLE l (id INTEGER PRIMARY KEY, rid INTEGER)",
        &["OK"],
    );
    let r: Vec<String> = (1..=10).map(|i| format!("({i}, {})", i * 10)).collect();
    check(
        &mut con,
        &format!("INSERT INTO r VALUES {}", r.join(", ")),
        &["10"],
    );
    let l: Vec<String> = (1..=200).map(|i| format!("({i}, {})", i % 20)).collect();
    check(
        &mut con,
        &format!("INSERT INTO l VALUES {}", l.join(", ")),
        &["200"],
    );
    for (stmt, expected) in [
        // 200 distinct keys of about 210 in the database: `r` is scanned.
        (
            "SELECT count(*) AS n, sum(r.v) AS s FROM l JOIN r ON l.id = r.id",
            r#"{"n":10,"s":550}"#,
        ),
        (
            "SELECT count(*) AS n, count(r.v) AS m FROM l LEFT JOIN r ON r.id = l.id",
            r#"{"n":200,"m":10}"#,
        ),
        // 10 or 20 distinct keys: read by key.
        (
            "SELECT count(*) AS n, sum(r.v) AS s FROM r JOIN l ON r.id = l.id",
            r#"{"n":10,"s":550}"#,
        ),
        (
            "SELECT count(*) AS n, sum(r.v) AS s FROM l JOIN r ON l.rid = r.id",
            r#"{"n":100,"s":5500}"#,
        ),
        (
            "SELECT count(*) AS n, count(r.v) AS m FROM l LEFT JOIN r ON r.id = l.rid",
            r#"{"n":200,"m":100}"#,
        ),
    ] {
        check(&mut con, stmt, &[expected]);
    }
}

// ---------------------------------------------------------------------------------------
// Schemas cached per core

/// Every core keeps the schemas it has read; a change made on any core, by DDL or by
/// plain commands on the schema key, is seen by the next statement on every core.
#[test]
fn a_schema_changed_on_one_core_is_seen_on_every_core() {
    let server = Server::start_with(SHARDS, &[]);
    let mut cons = server.con_on_each_core(SHARDS);
    let every = |cons: &mut [redis::Connection], stmt: &str, expected: &[&str]| {
        for con in cons.iter_mut() {
            check(con, stmt, expected);
        }
    };
    check(
        &mut cons[0],
        "CREATE TABLE sc (id INTEGER PRIMARY KEY, v INTEGER)",
        &["OK"],
    );
    check(&mut cons[0], "INSERT INTO sc VALUES (1, 10)", &["1"]);
    every(
        &mut cons,
        "SELECT * FROM sc WHERE id = 1",
        &[r#"{"id":1,"v":10}"#],
    );

    // DDL on the other core.
    check(&mut cons[1], "DROP TABLE sc", &["OK"]);
    check(
        &mut cons[1],
        "CREATE TABLE sc (id INTEGER PRIMARY KEY, v TEXT, w INTEGER DEFAULT 7)",
        &["OK"],
    );
    check(
        &mut cons[1],
        "INSERT INTO sc (id, v) VALUES (1, 'x')",
        &["1"],
    );
    every(
        &mut cons,
        "SELECT * FROM sc WHERE id = 1",
        &[r#"{"id":1,"v":"x","w":7}"#],
    );

    // The schema key deleted by a plain command: the table is schemaless again.
    let _: i64 = redis::cmd("DEL")
        .arg("_internal:schemas:sc")
        .query(&mut cons[0])
        .unwrap();
    check(
        &mut cons[1],
        "INSERT INTO sc (id, v) VALUES (2, 'abc')",
        &["1"],
    );
    every(
        &mut cons,
        "SELECT * FROM sc WHERE id = 2",
        &[r#"{"id":2,"v":"abc"}"#],
    );

    // FLUSHDB, then a schema created where another core last saw none.
    let _: () = redis::cmd("FLUSHDB").query(&mut cons[1]).unwrap();
    every(
        &mut cons,
        "SELECT * FROM sc",
        &[r#"ERR SQL relation "sc" does not exist"#],
    );
    check(
        &mut cons[1],
        "CREATE TABLE sc (id INTEGER PRIMARY KEY, q INTEGER)",
        &["OK"],
    );
    every(
        &mut cons,
        "INSERT INTO sc VALUES (5, 'five')",
        &[r#"ERR SQL invalid input syntax for type integer: "five""#],
    );
    every(&mut cons, "SELECT count(*) AS n FROM sc", &[r#"{"n":0}"#]);
}

// ---------------------------------------------------------------------------------------
// The multi-argument form

#[test]
fn multi_argument_form_joins_with_spaces() {
    let server = Server::start_with(SHARDS, &[]);
    let mut con = server.con();
    check(
        &mut con,
        "CREATE TABLE m (id INTEGER PRIMARY KEY, name TEXT)",
        &["OK"],
    );
    check(
        &mut con,
        "INSERT INTO m VALUES (1, 'a b'), (2, 'c'), (3, 'd'), (4, 'e'), (5, 'f'), (6, 'g')",
        &["6"],
    );
    let multi = |con: &mut redis::Connection, args: &[&str]| {
        let mut cmd = redis::cmd("SQL");
        for a in args {
            cmd.arg(*a);
        }
        reply_lines(&cmd.query::<redis::Value>(con))
    };
    // redis-cli SQL SELECT * FROM m ORDER BY id
    assert_eq!(
        multi(&mut con, &["SELECT", "*", "FROM", "m", "ORDER", "BY", "id"]),
        [
            r#"{"id":1,"name":"a b"}"#,
            r#"{"id":2,"name":"c"}"#,
            r#"{"id":3,"name":"d"}"#,
            r#"{"id":4,"name":"e"}"#,
            r#"{"id":5,"name":"f"}"#,
            r#"{"id":6,"name":"g"}"#
        ]
    );
    // An argument may hold several words, and a string literal is one argument.
    assert_eq!(
        multi(
            &mut con,
            &[
                "SELECT id FROM m",
                "WHERE",
                "name = 'a b'",
                "OR",
                "id",
                "=",
                "6",
                "ORDER BY id"
            ]
        ),
        [r#"{"id":1}"#, r#"{"id":6}"#]
    );
    assert_eq!(
        multi(&mut con, &["SELECT", "count(*)", "AS", "n", "FROM", "m"]),
        [r#"{"n":6}"#]
    );
    assert_eq!(
        multi(&mut con, &["DELETE", "FROM", "m", "WHERE", "id", ">", "4"]),
        ["2"]
    );
    assert_eq!(
        multi(&mut con, &["INSERT", "INTO", "m", "VALUES", "(7,", "'h')"]),
        ["1"]
    );
    assert_eq!(multi(&mut con, &["DROP", "TABLE", "m"]), ["OK"]);
    // Words joined by single spaces: a keyword split across arguments is two words.
    let split = multi(&mut con, &["SEL", "ECT", "1"]);
    assert!(split[0].starts_with("ERR SQL syntax error"), "{split:?}");
    // No statement at all is Redis's arity error.
    let none = multi(&mut con, &[]);
    assert_eq!(none, ["ERR wrong number of arguments for 'sql' command"]);
    // The one-argument form of the same query.
    check(&mut con, "SELECT 1 AS one", &[r#"{"one":1}"#]);
}

// ---------------------------------------------------------------------------------------
// EXPLAIN and parse-error positions

/// `SQL EXPLAIN <query>` returns the plan as text lines naming the per-shard fragment
/// and the coordinator part; the query is not run.
#[test]
fn explain_returns_the_plan_as_lines() {
    let server = Server::start_with(SHARDS, &[]);
    let mut con = server.con();
    check(
        &mut con,
        "CREATE TABLE e (id INTEGER PRIMARY KEY, d TEXT, s INTEGER)",
        &["OK"],
    );
    check(
        &mut con,
        "INSERT INTO e VALUES (1, 'a', 1), (2, 'b', 2), (3, 'a', 3), (4, 'b', 4), (5, 'c', 5), (6, 'a', 6)",
        &["6"],
    );
    for query in [
        "SELECT d, count(*) AS n, avg(s) AS a FROM e WHERE s > 1 GROUP BY d ORDER BY n LIMIT 3",
        "SELECT * FROM e WHERE id = 3",
        "SELECT x.d FROM e x JOIN e y ON x.id = y.s",
    ] {
        let stmt = format!("EXPLAIN {query}");
        let r = redis::cmd("SQL").arg(&stmt).query::<redis::Value>(&mut con);
        let lines = match &r {
            Ok(redis::Value::Array(items)) if !items.is_empty() => items
                .iter()
                .map(|v| match v {
                    redis::Value::BulkString(b) => String::from_utf8(b.clone()).unwrap(),
                    other => panic!("{stmt}: a line that is not text: {other:?}"),
                })
                .collect::<Vec<_>>(),
            other => panic!("{stmt}: {other:?}"),
        };
        let text = lines.join("\n").to_lowercase();
        assert!(
            text.contains("shard") && text.contains("coordinator"),
            "{stmt}: no shard fragment and coordinator part in\n{}",
            lines.join("\n")
        );
    }
    // A join on the other table's primary key reads that table by key; any other
    // equality builds a hash table over a scan.
    let plan = |query: &str, con: &mut redis::Connection| sql(con, &format!("EXPLAIN {query}"));
    let by_key = plan("SELECT x.d FROM e x JOIN e y ON x.s = y.id", &mut con);
    assert!(
        by_key
            .iter()
            .any(|l| l.contains("Lookup join (inner) with y"))
            && by_key
                .iter()
                .any(|l| l.contains("Key lookup: e:<joined key>")),
        "{by_key:#?}"
    );
    let hashed = plan("SELECT x.d FROM e x LEFT JOIN e y ON x.id = y.s", &mut con);
    assert!(
        hashed.iter().any(|l| l.contains("Hash join (left) with y")),
        "{hashed:#?}"
    );
    // EXPLAIN is for queries (the spec's `EXPLAIN <query>`); whatever it answers for a
    // DELETE, it deletes nothing.
    sql(&mut con, "EXPLAIN DELETE FROM e");
    check(&mut con, "SELECT count(*) AS n FROM e", &[r#"{"n":6}"#]);
    let bad = sql(&mut con, "EXPLAIN SELECT nosuch FROM e");
    assert_eq!(bad, [r#"ERR SQL column "nosuch" does not exist"#]);
}

/// Parse errors say where: `... at line L, column C`.
#[test]
fn parse_errors_name_line_and_column() {
    let server = Server::start_with(SHARDS, &[]);
    let mut con = server.con();
    for (stmt, at) in [
        ("SELEC 1", "at line 1, column 1"),
        ("SELECT 1 FROM", "at line 1, column"),
        ("SELECT 1,\n  2 FROM WHERE", "at line 2, column"),
    ] {
        let got = sql(&mut con, stmt);
        assert!(
            got.len() == 1 && got[0].starts_with("ERR SQL syntax error: ") && got[0].contains(at),
            "{stmt:?}: {got:?}"
        );
    }
}

// ---------------------------------------------------------------------------------------
// Restarts

const SCHEMA: &str = "CREATE TABLE acct (id INTEGER PRIMARY KEY, name VARCHAR(5) NOT NULL, \
     balance NUMERIC(10,2) DEFAULT 0, opened DATE, active BOOLEAN DEFAULT true)";

/// Rows 1..=n of `acct`, spread over the shards by their keys.
fn insert_accounts(con: &mut redis::Connection, ids: std::ops::RangeInclusive<i64>) {
    let values: Vec<String> = ids
        .clone()
        .map(|i| format!("({i}, 'n{i}', {i}.5, '2024-01-{:02}')", i % 28 + 1))
        .collect();
    check(
        con,
        &format!(
            "INSERT INTO acct (id, name, balance, opened) VALUES {}",
            values.join(", ")
        ),
        &[&ids.count().to_string()],
    );
}

fn account_rows(ids: std::ops::RangeInclusive<i64>) -> Vec<String> {
    ids.map(|i| {
        format!(
            r#"{{"id":{i},"name":"n{i}","balance":{i}.50,"opened":"2024-01-{:02}","active":true}}"#,
            i % 28 + 1
        )
    })
    .collect()
}

/// The schema is back after a restart: types coerce, constraints hold, defaults apply.
fn check_schema_enforced(con: &mut redis::Connection, next_id: i64) {
    // Text into INTEGER and NUMERIC is parsed; the DEFAULT fills `active`.
    check(
        con,
        &format!(
            "INSERT INTO acct (id, name, balance) VALUES ('{next_id}', 'new', '7') RETURNING *"
        ),
        &[&format!(
            r#"{{"id":{next_id},"name":"new","balance":7.00,"opened":null,"active":true}}"#
        )],
    );
    check(
        con,
        "INSERT INTO acct (id, name) VALUES ('abc', 'x')",
        &[r#"ERR SQL invalid input syntax for type integer: "abc""#],
    );
    check(
        con,
        "INSERT INTO acct (id, name) VALUES (1000, 'toolong')",
        &["ERR SQL value too long for type character varying(5)"],
    );
    check(
        con,
        "INSERT INTO acct (id) VALUES (1001)",
        &[r#"ERR SQL null value in column "name" of relation "acct" violates not-null constraint"#],
    );
    check(
        con,
        "INSERT INTO acct (id, name) VALUES (1, 'dup')",
        // (Prefix: what follows the message is not what this test is about.)
        &[r#"ERR SQL duplicate key value violates unique constraint "acct_pkey"*"#],
    );
    check(
        con,
        "SELECT nosuch FROM acct",
        &[r#"ERR SQL column "nosuch" does not exist"#],
    );
    check(
        con,
        &format!("DELETE FROM acct WHERE id = {next_id}"),
        &["1"],
    );
}

#[test]
fn tables_survive_a_kill_from_the_wal() {
    let server = Server::start_with(SHARDS, &[]);
    let mut con = server.con();
    check(&mut con, SCHEMA, &["OK"]);
    insert_accounts(&mut con, 1..=8);
    check(
        &mut con,
        "UPDATE acct SET active = false WHERE id = 8",
        &["1"],
    );
    check(&mut con, "DELETE FROM acct WHERE id = 7", &["1"]);
    // A dropped table stays dropped; a schemaless table comes back.
    check(
        &mut con,
        "CREATE TABLE gone (id INTEGER PRIMARY KEY)",
        &["OK"],
    );
    check(&mut con, "INSERT INTO gone VALUES (1), (2), (3)", &["3"]);
    check(&mut con, "DROP TABLE gone", &["OK"]);
    check(
        &mut con,
        "INSERT INTO free (id, x) VALUES (1, 'a'), (2, 'b'), (3, 'c'), (4, 'd')",
        &["4"],
    );
    assert!(table_keys(&mut con, "acct").len() == 7);
    drop(con);

    let server = kill_and_restart(server);
    let mut con = server.con();
    let mut rows = account_rows(1..=6);
    rows.push(r#"{"id":8,"name":"n8","balance":8.50,"opened":"2024-01-09","active":false}"#.into());
    let rows: Vec<&str> = rows.iter().map(String::as_str).collect();
    check(&mut con, "SELECT * FROM acct ORDER BY id", &rows);
    check_schema_enforced(&mut con, 9);
    check(
        &mut con,
        "SELECT * FROM gone",
        &[r#"ERR SQL relation "gone" does not exist"#],
    );
    check(
        &mut con,
        "SELECT id, x FROM free ORDER BY id",
        &[
            r#"{"id":1,"x":"a"}"#,
            r#"{"id":2,"x":"b"}"#,
            r#"{"id":3,"x":"c"}"#,
            r#"{"id":4,"x":"d"}"#,
        ],
    );
}

#[test]
fn tables_survive_a_kill_from_snapshot_and_wal() {
    let server = Server::start_with(SHARDS, &[]);
    let mut con = server.con();
    check(&mut con, SCHEMA, &["OK"]);
    insert_accounts(&mut con, 1..=6);
    let saved: String = redis::cmd("SAVE").query(&mut con).unwrap();
    assert_eq!(saved, "OK");
    // After the snapshot: more rows, a change to a snapshotted row, and a table whose
    // schema only the WAL holds.
    insert_accounts(&mut con, 7..=10);
    check(&mut con, "UPDATE acct SET balance = 0 WHERE id = 2", &["1"]);
    check(
        &mut con,
        "CREATE TABLE late (id BIGINT PRIMARY KEY, n SMALLINT NOT NULL)",
        &["OK"],
    );
    check(
        &mut con,
        "INSERT INTO late VALUES (1, 1), (2, 2), (3, 3), (4, 4), (5, 5), (6, 6)",
        &["6"],
    );
    drop(con);

    let server = kill_and_restart(server);
    let mut con = server.con();
    let mut rows = account_rows(1..=10);
    rows[1] = r#"{"id":2,"name":"n2","balance":0.00,"opened":"2024-01-03","active":true}"#.into();
    let rows: Vec<&str> = rows.iter().map(String::as_str).collect();
    check(&mut con, "SELECT * FROM acct ORDER BY id", &rows);
    check_schema_enforced(&mut con, 11);
    check(
        &mut con,
        "SELECT sum(n) AS s, count(*) AS c FROM late",
        &[r#"{"s":21,"c":6}"#],
    );
    check(
        &mut con,
        "INSERT INTO late VALUES (7, 40000)",
        &["ERR SQL smallint out of range"],
    );
    check(
        &mut con,
        "INSERT INTO late (id) VALUES (8)",
        &[r#"ERR SQL null value in column "n" of relation "late" violates not-null constraint"#],
    );
    // A second restart, from the snapshot SHUTDOWN writes.
    drop(con);
    let server = server.restart();
    let mut con = server.con();
    check_accounts_after_update(&mut con);
    check(&mut con, "SELECT count(*) AS c FROM late", &[r#"{"c":6}"#]);
}

fn check_accounts_after_update(con: &mut redis::Connection) {
    check(
        con,
        "SELECT id, balance FROM acct WHERE id <= 3 ORDER BY id",
        &[
            r#"{"id":1,"balance":1.50}"#,
            r#"{"id":2,"balance":0.00}"#,
            r#"{"id":3,"balance":3.50}"#,
        ],
    );
    check(con, "SELECT count(*) AS c FROM acct", &[r#"{"c":10}"#]);
}

/// Generated integer ids keep counting after a restart instead of reusing a key.
#[test]
fn generated_ids_continue_after_a_restart() {
    let server = Server::start_with(SHARDS, &[]);
    let mut con = server.con();
    check(
        &mut con,
        "CREATE TABLE g (id INTEGER PRIMARY KEY, v TEXT)",
        &["OK"],
    );
    check(
        &mut con,
        "INSERT INTO g (v) VALUES ('a'), ('b'), ('c'), ('d'), ('e'), ('f') RETURNING id",
        &[
            r#"{"id":1}"#,
            r#"{"id":2}"#,
            r#"{"id":3}"#,
            r#"{"id":4}"#,
            r#"{"id":5}"#,
            r#"{"id":6}"#,
        ],
    );
    drop(con);
    let server = kill_and_restart(server);
    let mut con = server.con();
    check(&mut con, "INSERT INTO g (v) VALUES ('g'), ('h')", &["2"]);
    check(
        &mut con,
        "SELECT count(*) AS n, count(DISTINCT id) AS d, min(id) AS lo FROM g",
        &[r#"{"n":8,"d":8,"lo":1}"#],
    );
}

// ---------------------------------------------------------------------------------------
// Bad SQL

/// Tokens the fuzz test strings together.
const VOCABULARY: &[&str] = &[
    "SELECT",
    "FROM",
    "WHERE",
    "GROUP",
    "BY",
    "HAVING",
    "ORDER",
    "LIMIT",
    "OFFSET",
    "ASC",
    "DESC",
    "NULLS",
    "FIRST",
    "LAST",
    "DISTINCT",
    "AS",
    "JOIN",
    "LEFT",
    "INNER",
    "ON",
    "AND",
    "OR",
    "NOT",
    "IS",
    "NULL",
    "TRUE",
    "FALSE",
    "LIKE",
    "ILIKE",
    "BETWEEN",
    "IN",
    "CASE",
    "WHEN",
    "THEN",
    "ELSE",
    "END",
    "CAST",
    "INSERT",
    "INTO",
    "VALUES",
    "UPDATE",
    "SET",
    "DELETE",
    "RETURNING",
    "CREATE",
    "TABLE",
    "DROP",
    "IF",
    "EXISTS",
    "TRUNCATE",
    "PRIMARY",
    "KEY",
    "UNIQUE",
    "DEFAULT",
    "INTEGER",
    "TEXT",
    "NUMERIC(5,2)",
    "VARCHAR(3)",
    "BOOLEAN",
    "DATE",
    "TIMESTAMP",
    "JSONB",
    "BYTEA",
    "UUID",
    "SMALLINT",
    "REAL",
    "WITH",
    "UNION",
    "EXPLAIN",
    "count(*)",
    "sum",
    "avg",
    "min",
    "max",
    "lower",
    "substring",
    "round",
    "coalesce",
    "nullif",
    "date_trunc",
    "extract",
    "now()",
    "power",
    "sqrt",
    "split_part",
    "t1",
    "t2",
    "a",
    "b",
    "id",
    "doc",
    "x",
    "t1.a",
    "t2.b",
    "\"Q\"",
    "*",
    "a1",
    "1",
    "0",
    "-1",
    "2.5",
    "1e308",
    "9223372036854775807",
    "-9223372036854775808",
    "'x'",
    "''",
    "'2024-02-30'",
    "'abc'",
    "'{\"k\":1}'",
    "'%'",
    "=",
    "<>",
    "!=",
    "<",
    "<=",
    ">",
    ">=",
    "+",
    "-",
    "/",
    "%",
    "||",
    "::",
    "->",
    "->>",
    "(",
    ")",
    "(",
    ")",
    ",",
    ";",
    ".",
    "?",
    "$1",
    "@",
    "[",
    "]",
];

/// Valid statements over the fuzz tables, mutated by the fuzz test.
const SEEDS: &[&str] = &[
    "SELECT a, b FROM t1 WHERE a > 1 ORDER BY b DESC NULLS LAST LIMIT 3",
    "SELECT count(*), sum(a), avg(a) FROM t1 GROUP BY b HAVING count(*) > 1",
    "SELECT t1.a, t2.b FROM t1 LEFT JOIN t2 ON t1.a = t2.a WHERE t2.b IS NULL",
    "SELECT CASE WHEN a % 2 = 0 THEN 'even' ELSE 'odd' END AS k FROM t1",
    "SELECT doc -> 'k' ->> 'j', CAST(a AS TEXT) || 'x' FROM t1",
    "UPDATE t1 SET b = lower(b) WHERE a BETWEEN 2 AND 4 RETURNING *",
    "INSERT INTO t2 (a, b) SELECT a, b FROM t1 WHERE a IN (1, 2)",
    "DELETE FROM t2 WHERE b LIKE '%x%' RETURNING a",
    "SELECT DISTINCT round(a / 3.0, 2), coalesce(b, 'none') FROM t1 ORDER BY 1",
    "SELECT date_trunc('day', now()), extract(year FROM DATE '2024-01-31')",
];

/// A reply the fuzz test accepts: rows, a count, OK, or an `ERR SQL` error.
fn acceptable(r: &redis::RedisResult<redis::Value>) -> Result<(), String> {
    use redis::Value;
    match r {
        Ok(Value::Array(_)) | Ok(Value::Int(_)) | Ok(Value::Okay) => Ok(()),
        Ok(Value::SimpleString(s)) if s == "OK" => Ok(()),
        Err(e) if e.code() == Some("ERR") && e.detail().is_some_and(|d| d.starts_with("SQL ")) => {
            Ok(())
        }
        other => Err(format!("{:?}", other.as_ref().map(common::show))),
    }
}

fn random_statement(rng: &mut fastrand::Rng) -> Vec<u8> {
    let text = if rng.bool() {
        let n = rng.usize(1..=14);
        (0..n)
            .map(|_| VOCABULARY[rng.usize(..VOCABULARY.len())])
            .collect::<Vec<_>>()
            .join(" ")
    } else {
        // A valid statement with a few tokens deleted, duplicated, swapped or replaced.
        let mut words: Vec<&str> = SEEDS[rng.usize(..SEEDS.len())].split(' ').collect();
        for _ in 0..rng.usize(1..=3) {
            let i = rng.usize(..words.len());
            match rng.u8(..4) {
                0 if words.len() > 1 => {
                    words.remove(i);
                }
                1 => words.insert(i, words[i]),
                2 => {
                    let j = rng.usize(..words.len());
                    words.swap(i, j);
                }
                _ => words[i] = VOCABULARY[rng.usize(..VOCABULARY.len())],
            }
        }
        words.join(" ")
    };
    text.into_bytes()
}

/// Inputs no tokenizer or planner should fall over on.
fn pathological() -> Vec<Vec<u8>> {
    let mut v: Vec<Vec<u8>> = vec![
        format!("SELECT {}1{}", "(".repeat(10_000), ")".repeat(10_000)).into_bytes(),
        format!("SELECT {}", "(".repeat(10_000)).into_bytes(),
        format!("SELECT 1{}", ")".repeat(10_000)).into_bytes(),
        format!("SELECT {}TRUE", "NOT ".repeat(10_000)).into_bytes(),
        format!("SELECT {}1", "- ".repeat(10_000)).into_bytes(),
        format!("SELECT 1{}", " + 1".repeat(10_000)).into_bytes(),
        format!("SELECT a FROM t1 WHERE a = 1{}", " OR a = 1".repeat(5_000)).into_bytes(),
        format!("SELECT 'a'{}", " || 'a'".repeat(5_000)).into_bytes(),
        format!(
            "SELECT a FROM t1 WHERE a IN ({})",
            (0..10_000)
                .map(|i| i.to_string())
                .collect::<Vec<_>>()
                .join(",")
        )
        .into_bytes(),
        format!("SELECT {}", "CASE WHEN TRUE THEN ".repeat(2_000)).into_bytes(),
        format!("SELECT {}", "coalesce(".repeat(5_000)).into_bytes(),
        format!("SELECT '{}'", "x".repeat(1 << 20)).into_bytes(),
        format!("SELECT length('{}') AS n", "y".repeat(1 << 20)).into_bytes(),
        format!("SELECT {}", "9".repeat(100_000)).into_bytes(),
        format!("SELECT 0.{}", "1".repeat(100_000)).into_bytes(),
        format!("SELECT 1e{}", "9".repeat(1_000)).into_bytes(),
        format!("SELECT {} FROM t1", "a".repeat(100_000)).into_bytes(),
        format!("SELECT \"{}\" FROM t1", "q".repeat(100_000)).into_bytes(),
        format!("SELECT 1 FROM {}", "t".repeat(100_000)).into_bytes(),
        format!(
            "SELECT {} FROM t1",
            (0..5_000)
                .map(|i| format!("a AS c{i}"))
                .collect::<Vec<_>>()
                .join(", ")
        )
        .into_bytes(),
        format!("SELECT * FROM t1{}", ", t1 AS x".repeat(100)).into_bytes(),
        format!("SELECT * FROM t1 {}", "JOIN t2 ON TRUE ".repeat(100)).into_bytes(),
        b"SELECT 'abc".to_vec(),
        b"SELECT \"abc".to_vec(),
        b"SELECT E'\\".to_vec(),
        b"SELECT $$abc".to_vec(),
        b"SELECT 1 /* never closed".to_vec(),
        b"SELECT 1 -- comment".to_vec(),
        b"SELECT 'a\0b'".to_vec(),
        b"SELECT\0 1".to_vec(),
        b"\0".to_vec(),
        b"SELECT '\xff\xfe'".to_vec(),
        b"SELECT \xc3\x28".to_vec(),
        b"\xff\xff\xff".to_vec(),
        b"SELECT '\xed\xa0\x80'".to_vec(),
        b"SELECT 1 FROM t1 WHERE b = '\xe2\x82'".to_vec(),
        b"".to_vec(),
        b"   ".to_vec(),
        b";".to_vec(),
        b";;;;".to_vec(),
        b"SELECT 1; SELECT 2".to_vec(),
        b"SELECT 1;".to_vec(),
        b"SELECT 9223372036854775807 + 1".to_vec(),
        b"SELECT -9223372036854775808 - 1".to_vec(),
        b"SELECT (-9223372036854775807 - 1) / -1".to_vec(),
        b"SELECT (-9223372036854775807 - 1) % -1".to_vec(),
        b"SELECT abs(-9223372036854775807 - 1)".to_vec(),
        b"SELECT 9223372036854775807 * 9223372036854775807".to_vec(),
        b"SELECT 1e308 * 10".to_vec(),
        b"SELECT 1 / 0".to_vec(),
        b"SELECT 1 % 0".to_vec(),
        b"SELECT 1.0 / 0".to_vec(),
        b"SELECT power(10, 100000)".to_vec(),
        b"SELECT power(10.0, 100000)".to_vec(),
        b"SELECT sqrt(-1)".to_vec(),
        b"SELECT round(1.5, 100000)".to_vec(),
        b"SELECT round(1.5, -100000)".to_vec(),
        b"SELECT repeat('x', 1000000000)".to_vec(),
        b"SELECT substring('abc', 9223372036854775807, 9223372036854775807)".to_vec(),
        b"SELECT substring('abc', -9223372036854775807, 9223372036854775807)".to_vec(),
        b"SELECT left('abc', -9223372036854775807 - 1)".to_vec(),
        b"SELECT right('abc', -9223372036854775807 - 1)".to_vec(),
        b"SELECT split_part('a,b', ',', -9223372036854775807 - 1)".to_vec(),
        b"SELECT split_part('a,b', '', 0)".to_vec(),
        b"SELECT CAST('99999999999999999999999999999999' AS NUMERIC)".to_vec(),
        b"SELECT CAST(1e308 AS INTEGER)".to_vec(),
        b"SELECT CAST('NaN' AS DOUBLE PRECISION)::INTEGER".to_vec(),
        b"SELECT 'infinity'::DOUBLE PRECISION::NUMERIC".to_vec(),
        b"SELECT '294277-01-01'::DATE".to_vec(),
        b"SELECT '0000-01-01'::DATE".to_vec(),
        b"SELECT '2024-01-01'::DATE + 9223372036854775807".to_vec(),
        b"SELECT date_trunc('century', '0001-01-01 00:00:00'::TIMESTAMP)".to_vec(),
        b"SELECT date_part('epoch', '9999-12-31 23:59:59'::TIMESTAMP)".to_vec(),
        b"SELECT '\\x0'::BYTEA".to_vec(),
        b"SELECT 'not-a-uuid'::UUID".to_vec(),
        b"SELECT '{\"a\":'::JSONB".to_vec(),
        format!(
            "SELECT '{}1{}'::JSONB",
            "[".repeat(10_000),
            "]".repeat(10_000)
        )
        .into_bytes(),
        b"SELECT doc -> 9223372036854775807 FROM t1".to_vec(),
        b"SELECT doc -> -9223372036854775807 - 1 FROM t1".to_vec(),
        b"SELECT * FROM t1 LIMIT -1".to_vec(),
        b"SELECT * FROM t1 LIMIT 9223372036854775807 OFFSET 9223372036854775807".to_vec(),
        b"SELECT * FROM t1 ORDER BY 0".to_vec(),
        b"SELECT * FROM t1 ORDER BY 9223372036854775807".to_vec(),
        b"SELECT * FROM t1 GROUP BY 99".to_vec(),
        b"SELECT count(count(*)) FROM t1".to_vec(),
        b"SELECT sum(a) FROM t1 WHERE sum(a) > 1".to_vec(),
        b"SELECT a FROM t1 GROUP BY b".to_vec(),
        b"CREATE TABLE t3 (a INTEGER, a TEXT)".to_vec(),
        b"CREATE TABLE t3 (a NUMERIC(1000, 2000))".to_vec(),
        b"CREATE TABLE t3 (a VARCHAR(0))".to_vec(),
        b"CREATE TABLE t3 (a VARCHAR(99999999999))".to_vec(),
        b"CREATE TABLE t3 (a INTEGER PRIMARY KEY, b INTEGER PRIMARY KEY)".to_vec(),
        b"CREATE TABLE t3 (a INTEGER DEFAULT 'x')".to_vec(),
        b"CREATE TABLE \"\" (a INTEGER)".to_vec(),
        b"CREATE TABLE \"a:b\" (a INTEGER)".to_vec(),
        b"CREATE TABLE \"_internal\" (a INTEGER)".to_vec(),
        b"INSERT INTO t1 VALUES ()".to_vec(),
        b"INSERT INTO t1 (a, a) VALUES (1, 2)".to_vec(),
        b"INSERT INTO t1 (a) VALUES (1, 2)".to_vec(),
        b"UPDATE t1 SET a = a WHERE a = 'x'".to_vec(),
        b"SELECT * FROM _internal".to_vec(),
        b"SELECT * FROM \"_internal:schemas\"".to_vec(),
        b"EXPLAIN EXPLAIN SELECT 1".to_vec(),
        b"EXPLAIN".to_vec(),
        b"WITH q AS (SELECT 1) SELECT * FROM q".to_vec(),
        b"SELECT * FROM (SELECT 1) s".to_vec(),
        b"SELECT (SELECT 1)".to_vec(),
        b"SELECT a FROM t1 UNION SELECT a FROM t2".to_vec(),
        b"SELECT row_number() OVER () FROM t1".to_vec(),
        b"BEGIN".to_vec(),
        b"COMMIT".to_vec(),
        b"SET x = 1".to_vec(),
        b"SHOW TABLES".to_vec(),
        b"COPY t1 FROM '/etc/passwd'".to_vec(),
        b"SELECT pg_sleep(100)".to_vec(),
        b"SELECT * FROM generate_series(1, 1000000000)".to_vec(),
        b"PREPARE p AS SELECT 1".to_vec(),
        b"SELECT $1".to_vec(),
        b"SELECT ?".to_vec(),
        b"select\tid\nfrom\r\nt1".to_vec(),
    ];
    // Every single byte, as a statement of its own and inside a string literal.
    for b in 0u8..=255 {
        v.push(vec![b]);
        let mut s = b"SELECT 'a".to_vec();
        s.push(b);
        s.extend_from_slice(b"' AS x");
        v.push(s);
    }
    v
}

/// (Re)creates the fuzz tables t1 (with a schema) and t2 (schemaless), 6 rows each.
fn fuzz_tables(con: &mut redis::Connection) {
    for stmt in [
        "DROP TABLE IF EXISTS t1",
        "DROP TABLE IF EXISTS t2",
        "CREATE TABLE t1 (id INTEGER PRIMARY KEY, a INTEGER, b TEXT, doc JSONB)",
    ] {
        check(con, stmt, &["OK"]);
    }
    check(
        con,
        "INSERT INTO t1 VALUES (1, 1, 'x', '{\"k\":{\"j\":1}}'), (2, 2, 'y', '[1,2]'), \
         (3, NULL, 'x', NULL), (4, 4, NULL, '{}'), (5, 5, 'zz', '{\"k\":2}'), (6, 6, 'x', '1')",
        &["6"],
    );
    check(
        con,
        "INSERT INTO t2 (id, a, b) VALUES (1, 1, 'p'), (2, 3, NULL), (3, NULL, 'q'), \
         (4, 4, 'r'), (5, 7, 's'), (6, 1, 't')",
        &["6"],
    );
}

/// Random token soup, mutated valid statements and pathological inputs: every reply is
/// rows, a count, OK or an `ERR SQL` error, the connection carries on, and a second
/// connection's queries keep working meanwhile.
#[test]
fn bad_sql_never_breaks_the_server() {
    let mut server = Server::start_with(SHARDS, &[]);
    let mut con = server.con();
    // The fuzz tables (their names are in the vocabulary), set up again now and then
    // since a fuzz statement may drop or empty them.
    fuzz_tables(&mut con);
    // ...and one that no fuzz statement names, for the second connection.
    check(
        &mut con,
        "CREATE TABLE steady (id INTEGER PRIMARY KEY, v INTEGER)",
        &["OK"],
    );
    check(
        &mut con,
        "INSERT INTO steady VALUES (1, 10), (2, 20), (3, 30), (4, 40), (5, 50), (6, 60)",
        &["6"],
    );

    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let watcher = {
        let mut con2 = server.con();
        let stop = stop.clone();
        std::thread::spawn(move || {
            let mut n = 0u64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let got = sql(
                    &mut con2,
                    "SELECT count(*) AS n, sum(v) AS s FROM steady WHERE v > 10",
                );
                assert_eq!(got, [r#"{"n":5,"s":200}"#], "second connection");
                n += 1;
                std::thread::sleep(Duration::from_millis(5));
            }
            n
        })
    };

    let seed = std::env::var("SQL_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed_5a1e_u64);
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut inputs = pathological();
    while inputs.len() < 2_000 {
        inputs.push(random_statement(&mut rng));
    }
    let started = Instant::now();
    let mut failures = Vec::new();
    // Replies by kind: rows, counts, OK, errors.
    let mut kinds = [0usize; 4];
    for (i, input) in inputs.iter().enumerate() {
        if i % 200 == 199 {
            fuzz_tables(&mut con);
        }
        let r = redis::cmd("SQL")
            .arg(input.as_slice())
            .query::<redis::Value>(&mut con);
        match &r {
            Ok(redis::Value::Array(_)) => kinds[0] += 1,
            Ok(redis::Value::Int(_)) => kinds[1] += 1,
            Ok(_) => kinds[2] += 1,
            Err(_) => kinds[3] += 1,
        }
        if let Err(why) = acceptable(&r) {
            let shown = String::from_utf8_lossy(&input[..input.len().min(200)]).into_owned();
            failures.push(format!("{shown:?} (seed {seed:#x}) -> {why}"));
            if r.as_ref().is_err_and(|e| e.code().is_none()) {
                // The connection is gone (the server may have died): nothing further
                // will tell us more.
                break;
            }
        }
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let watched = watcher.join();
    assert!(
        failures.is_empty(),
        "{} of {} inputs got an unacceptable reply:\n{}",
        failures.len(),
        inputs.len(),
        failures.join("\n")
    );
    let watched = watched.expect("the second connection's queries kept working");
    assert!(watched > 0, "the second connection ran no query");
    assert!(server.alive(), "the server died");
    let pong: String = redis::cmd("PING").query(&mut con).unwrap();
    assert_eq!(pong, "PONG");
    check(
        &mut con,
        "SELECT count(*) AS n FROM steady",
        &[r#"{"n":6}"#],
    );
    // A fresh connection works too.
    let mut con3 = server.con();
    check(&mut con3, "SELECT 1 + 1 AS two", &[r#"{"two":2}"#]);
    eprintln!(
        "{} fuzz inputs in {:?} ({} row sets, {} counts, {} OK, {} errors), \
         {watched} concurrent queries",
        inputs.len(),
        started.elapsed(),
        kinds[0],
        kinds[1],
        kinds[2],
        kinds[3]
    );
}
