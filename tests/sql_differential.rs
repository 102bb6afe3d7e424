//! Differential test of the SQL engine: generated tables, rows and thousands of generated
//! queries, run on MemFlux (2 shards) and on SQLite (rusqlite, in memory) over the same
//! data; the answers must agree.
//!
//! PostgreSQL semantics are the target (`/work/notes/sql-spec.md`), so the generator stays
//! on the ground where SQLite and PostgreSQL agree, and the comparison normalises their
//! documented differences:
//!
//! * **Types are PostgreSQL's.** Every generated expression is type-correct for
//!   PostgreSQL (no integer = text, no SUM(boolean), no MIN/MAX(boolean), no LIKE on
//!   numbers), because SQLite accepts mixed types that PostgreSQL refuses. The generator
//!   tracks each expression's PostgreSQL type and MemFlux's reply is checked against it:
//!   an integer column must come back as a JSON integer, a boolean as `true`/`false`, text
//!   as a string.
//! * **Booleans.** SQLite returns 0/1; they are read as false/true for boolean columns.
//! * **NUMERIC and floats.** SQLite computes NUMERIC in binary floating point (and stores
//!   `2.00` as the integer 2), PostgreSQL and MemFlux exactly. Numeric and float results
//!   (and AVG, which is NUMERIC in PostgreSQL and REAL in SQLite) compare numerically with
//!   a relative tolerance of 1e-9 (plus 1e-6 absolute, for sums that cancel to ~0).
//!   Because of this, inexact values (NUMERIC arithmetic, AVG, SUM of NUMERIC/DOUBLE,
//!   POWER, ROUND) only appear in the select list: never in WHERE, ON, HAVING, GROUP BY,
//!   DISTINCT or ORDER BY, where a rounding difference would change *which* rows come
//!   back. Row-level DOUBLE arithmetic is IEEE in all three engines and may appear there.
//! * **Integer overflow.** SQLite turns an overflowing integer into a REAL, PostgreSQL
//!   errors (and INTEGER is 32-bit in PostgreSQL, 64-bit in MemFlux): the generator tracks
//!   a bound on every integer expression and keeps INTEGER arithmetic below 2^31 and
//!   BIGINT below 1e17.
//! * **Division.** Only integers are divided (`/`, `%`, MOD), always by a non-zero
//!   literal (SQLite returns NULL for x/0, PostgreSQL errors). Both truncate toward zero
//!   and take the dividend's sign for `%` (checked against PostgreSQL 15, including
//!   negative operands).
//! * **LIKE** is case-insensitive for ASCII in SQLite by default: the SQLite connection
//!   runs `PRAGMA case_sensitive_like = ON`. ILIKE (PostgreSQL only) is sent to SQLite as
//!   `LOWER(x) LIKE <lower-cased pattern>`; data and patterns are ASCII.
//! * **Text order.** Data is ASCII and SQLite's BINARY collation is bytewise, as
//!   MemFlux's text comparison (PostgreSQL's C collation).
//! * **Spelling.** A few functions are spelt differently for SQLite (which has no math
//!   functions in the bundled build): `MOD(a, b)` → `(a % b)`, `POSITION(a IN b)` →
//!   `INSTR(b, a)`, `LEFT(s, n)` → `SUBSTR(s, 1, n)`, `POWER(x, 2)` → `(x * x)`,
//!   `x::t` → `CAST(x AS t)`, `OFFSET n` without LIMIT → `LIMIT -1 OFFSET n`.
//! * **NULLs in aggregates** agree: SUM/AVG/MIN/MAX over no rows are NULL, COUNT is 0.
//! * **Order.** A query whose ORDER BY is total (every key has explicit NULLS FIRST/LAST
//!   and the keys end with a unique tiebreaker: the ids of every table in FROM, or every
//!   GROUP BY key, or every DISTINCT output) is compared row by row; LIMIT/OFFSET only
//!   appear with such an ORDER BY. Any other query is compared as a multiset of rows.
//! * **Errors.** The generator stays inside what both accept; the few generated queries
//!   SQLite still refuses (it folds some constant ORDER BY keys into an out-of-range column
//!   position) are not used: each is replaced by another one (and counted). A regression
//!   query SQLite refuses fails the test. Any error from MemFlux on a query SQLite answers
//!   is a disagreement.
//!
//! Output columns are aliased `c0`, `c1`, ...; MemFlux's rows are JSON objects whose keys
//! must be exactly those, in select-list order.
//!
//! Environment:
//! * `MEMFLUX_SQLDIFF_SEED=<u64>|random` — the seed (default fixed; printed either way).
//! * `MEMFLUX_SQLDIFF_QUERIES=<n>` — generated queries (default 4000), on top of the
//!   fixed regression queries.
//! * `MEMFLUX_SQLDIFF_PSQL="psql -h /tmp/pgd -p 5497 -U postgres"` — also loads the data
//!   into that PostgreSQL and compares PostgreSQL's answers with SQLite's (checks the
//!   normalisations above, and decides who is right when MemFlux and SQLite disagree).
//!   Use a database with the C collation (`initdb --locale=C`).
//! * `MEMFLUX_SQLDIFF_SKIP_MEMFLUX=1` — do not start MemFlux (with the above: check the
//!   generator against PostgreSQL alone).
//! * `MEMFLUX_SQLDIFF_ONLY=12,345` — send only these queries (by number) to MemFlux.
//! * `MEMFLUX_SQLDIFF_DUMP=<file>` — write the schema, the rows and every query (in
//!   MemFlux's / PostgreSQL's dialect) to a file, for reproducing by hand.

mod common;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::Instant;

use common::Server;
use serde_json::Value as Json;

/// Disagreements reported in full per engine; the rest are only counted.
const MAX_REPORTED: usize = 20;
/// Default number of generated queries.
const DEFAULT_QUERIES: usize = 4000;
const DEFAULT_SEED: u64 = 0x5eed_5a1d_0001;
/// INTEGER (32-bit in PostgreSQL) and BIGINT expression bounds kept by the generator.
const INT4_LIMIT: f64 = 2.0e9;
const INT8_LIMIT: f64 = 1.0e17;

// ---------------------------------------------------------------------------------------
// Types, literals and expressions
// ---------------------------------------------------------------------------------------

/// The PostgreSQL type class of an expression.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Ty {
    Int,
    Num,
    Float,
    Text,
    Bool,
}

impl Ty {
    fn cast_name(self) -> &'static str {
        match self {
            Ty::Int => "INTEGER",
            Ty::Num => "NUMERIC",
            Ty::Float => "DOUBLE PRECISION",
            Ty::Text => "TEXT",
            Ty::Bool => "BOOLEAN",
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Dialect {
    /// PostgreSQL, which is also what MemFlux is sent.
    Pg,
    Lite,
}

#[derive(Clone, Debug)]
enum Lit {
    Null,
    Int(i64),
    /// A decimal literal as written (`12.50`, `-3`): NUMERIC in PostgreSQL.
    Dec(String),
    Text(String),
    Bool(bool),
}

impl Lit {
    fn render(&self, o: &mut String) {
        match self {
            Lit::Null => o.push_str("NULL"),
            Lit::Int(v) if *v < 0 => write!(o, "({v})").unwrap(),
            Lit::Int(v) => write!(o, "{v}").unwrap(),
            Lit::Dec(s) if s.starts_with('-') => write!(o, "({s})").unwrap(),
            Lit::Dec(s) => o.push_str(s),
            Lit::Text(s) => {
                assert!(!s.contains('\''), "text data has no quotes");
                write!(o, "'{s}'").unwrap()
            }
            Lit::Bool(b) => o.push_str(if *b { "TRUE" } else { "FALSE" }),
        }
    }
}

#[derive(Clone, Debug)]
enum E {
    Col(String),
    Lit(Lit),
    /// `(l op r)`.
    Bin(&'static str, Box<E>, Box<E>),
    /// `(op x)`: `-` or `NOT`.
    Un(&'static str, Box<E>),
    IsNull(Box<E>, bool),
    Between(Box<E>, Box<E>, Box<E>, bool),
    In(Box<E>, Vec<E>, bool),
    /// expr, pattern, negated, ILIKE.
    Like(Box<E>, String, bool, bool),
    /// A function spelt the same in both dialects.
    Func(&'static str, Vec<E>),
    /// `MOD(a, b)` (or `a % b` when the flag is set) / SQLite `(a % b)`.
    Mod(Box<E>, Box<E>, bool),
    /// `POSITION(needle IN hay)` / SQLite `INSTR(hay, needle)`.
    Position(Box<E>, Box<E>),
    /// `LEFT(s, n)` / SQLite `SUBSTR(s, 1, n)`.
    Left(Box<E>, i64),
    /// `POWER(x, 2)` / SQLite `(x * x)`.
    Square(Box<E>),
    Case {
        operand: Option<Box<E>>,
        whens: Vec<(E, E)>,
        otherwise: Option<Box<E>>,
    },
    /// CAST(x AS t); with the flag, `(x)::t` for PostgreSQL.
    Cast(Box<E>, &'static str, bool),
    /// name, DISTINCT, argument (None: `*`).
    Agg(&'static str, bool, Option<Box<E>>),
    /// Text as is (an output alias in ORDER BY).
    Raw(String),
}

impl E {
    fn render(&self, d: Dialect, o: &mut String) {
        match self {
            E::Col(c) | E::Raw(c) => o.push_str(c),
            E::Lit(l) => l.render(o),
            E::Bin(op, l, r) => {
                o.push('(');
                l.render(d, o);
                write!(o, " {op} ").unwrap();
                r.render(d, o);
                o.push(')');
            }
            E::Un(op, x) => {
                write!(o, "({op} ").unwrap();
                x.render(d, o);
                o.push(')');
            }
            E::IsNull(x, neg) => {
                o.push('(');
                x.render(d, o);
                o.push_str(if *neg { " IS NOT NULL)" } else { " IS NULL)" });
            }
            E::Between(x, lo, hi, neg) => {
                o.push('(');
                x.render(d, o);
                o.push_str(if *neg { " NOT BETWEEN " } else { " BETWEEN " });
                lo.render(d, o);
                o.push_str(" AND ");
                hi.render(d, o);
                o.push(')');
            }
            E::In(x, list, neg) => {
                o.push('(');
                x.render(d, o);
                o.push_str(if *neg { " NOT IN (" } else { " IN (" });
                for (i, e) in list.iter().enumerate() {
                    if i > 0 {
                        o.push_str(", ");
                    }
                    e.render(d, o);
                }
                o.push_str("))");
            }
            E::Like(x, pat, neg, ilike) => {
                o.push('(');
                let not = if *neg { "NOT " } else { "" };
                if *ilike && d == Dialect::Lite {
                    o.push_str("LOWER(");
                    x.render(d, o);
                    write!(o, ") {not}LIKE '{}')", pat.to_ascii_lowercase()).unwrap();
                } else {
                    x.render(d, o);
                    let op = if *ilike { "ILIKE" } else { "LIKE" };
                    write!(o, " {not}{op} '{pat}')").unwrap();
                }
            }
            E::Func(name, args) => {
                write!(o, "{name}(").unwrap();
                for (i, e) in args.iter().enumerate() {
                    if i > 0 {
                        o.push_str(", ");
                    }
                    e.render(d, o);
                }
                o.push(')');
            }
            E::Mod(a, b, percent) => {
                if d == Dialect::Lite || *percent {
                    o.push('(');
                    a.render(d, o);
                    o.push_str(" % ");
                    b.render(d, o);
                    o.push(')');
                } else {
                    o.push_str("MOD(");
                    a.render(d, o);
                    o.push_str(", ");
                    b.render(d, o);
                    o.push(')');
                }
            }
            E::Position(needle, hay) => {
                if d == Dialect::Lite {
                    o.push_str("INSTR(");
                    hay.render(d, o);
                    o.push_str(", ");
                    needle.render(d, o);
                    o.push(')');
                } else {
                    o.push_str("POSITION(");
                    needle.render(d, o);
                    o.push_str(" IN ");
                    hay.render(d, o);
                    o.push(')');
                }
            }
            E::Left(s, n) => {
                if d == Dialect::Lite {
                    o.push_str("SUBSTR(");
                    s.render(d, o);
                    write!(o, ", 1, {n})").unwrap();
                } else {
                    o.push_str("LEFT(");
                    s.render(d, o);
                    write!(o, ", {n})").unwrap();
                }
            }
            E::Square(x) => {
                if d == Dialect::Lite {
                    o.push('(');
                    x.render(d, o);
                    o.push_str(" * ");
                    x.render(d, o);
                    o.push(')');
                } else {
                    o.push_str("POWER(");
                    x.render(d, o);
                    o.push_str(", 2)");
                }
            }
            E::Case {
                operand,
                whens,
                otherwise,
            } => {
                o.push_str("CASE");
                if let Some(x) = operand {
                    o.push(' ');
                    x.render(d, o);
                }
                for (w, t) in whens {
                    o.push_str(" WHEN ");
                    w.render(d, o);
                    o.push_str(" THEN ");
                    t.render(d, o);
                }
                if let Some(e) = otherwise {
                    o.push_str(" ELSE ");
                    e.render(d, o);
                }
                o.push_str(" END");
            }
            E::Cast(x, ty, colon) => {
                if *colon && d == Dialect::Pg {
                    o.push('(');
                    x.render(d, o);
                    write!(o, ")::{}", ty.to_ascii_lowercase()).unwrap();
                } else {
                    o.push_str("CAST(");
                    x.render(d, o);
                    write!(o, " AS {ty})").unwrap();
                }
            }
            E::Agg(name, distinct, arg) => {
                write!(o, "{name}(").unwrap();
                match arg {
                    None => o.push('*'),
                    Some(a) => {
                        if *distinct {
                            o.push_str("DISTINCT ");
                        }
                        a.render(d, o);
                    }
                }
                o.push(')');
            }
        }
    }

    /// Whether a column appears (outside aggregates, which never appear in row keys).
    fn has_col(&self) -> bool {
        match self {
            E::Col(_) => true,
            E::Lit(_) | E::Raw(_) | E::Agg(..) => false,
            E::Bin(_, a, b) | E::Mod(a, b, _) | E::Position(a, b) => a.has_col() || b.has_col(),
            E::Un(_, x) | E::IsNull(x, _) | E::Like(x, ..) | E::Left(x, _) | E::Square(x) => {
                x.has_col()
            }
            E::Cast(x, ..) => x.has_col(),
            E::Between(x, lo, hi, _) => x.has_col() || lo.has_col() || hi.has_col(),
            E::In(x, list, _) => x.has_col() || list.iter().any(E::has_col),
            E::Func(_, args) => args.iter().any(E::has_col),
            E::Case {
                operand,
                whens,
                otherwise,
            } => {
                operand.as_ref().is_some_and(|o| o.has_col())
                    || whens.iter().any(|(w, t)| w.has_col() || t.has_col())
                    || otherwise.as_ref().is_some_and(|o| o.has_col())
            }
        }
    }

    fn bin(op: &'static str, l: E, r: E) -> E {
        E::Bin(op, Box::new(l), Box::new(r))
    }
}

/// A generated expression with what the generator knows about it.
#[derive(Clone, Debug)]
struct G {
    e: E,
    ty: Ty,
    /// Integers: a bound on the absolute value.
    bound: f64,
    /// Integers: BIGINT in PostgreSQL (else INTEGER, 32-bit there).
    big: bool,
    /// SQLite computes the same value exactly (not only within the tolerance), so the
    /// expression may decide which rows come back or their order.
    exact: bool,
    /// Contains SUM of a BIGINT, which is NUMERIC in PostgreSQL (64-bit integer in
    /// MemFlux and SQLite): never divided, where the two would differ.
    numeric_sum: bool,
}

impl G {
    fn new(e: E, ty: Ty) -> G {
        G {
            e,
            ty,
            bound: 0.0,
            big: false,
            exact: true,
            numeric_sum: false,
        }
    }

    fn int(e: E, bound: f64, big: bool) -> G {
        G {
            e,
            ty: Ty::Int,
            bound,
            big,
            exact: true,
            numeric_sum: false,
        }
    }

    fn inexact(mut self) -> G {
        self.exact = false;
        self
    }
}

// ---------------------------------------------------------------------------------------
// Tables and rows
// ---------------------------------------------------------------------------------------

struct ColDef {
    name: &'static str,
    sql: &'static str,
    ty: Ty,
    bound: f64,
    big: bool,
}

struct TableDef {
    name: &'static str,
    cols: Vec<ColDef>,
    rows: Vec<Vec<Lit>>,
}

impl TableDef {
    fn create(&self) -> String {
        let cols: Vec<String> = self
            .cols
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let pk = if i == 0 { " PRIMARY KEY" } else { "" };
                format!("{} {}{pk}", c.name, c.sql)
            })
            .collect();
        format!("CREATE TABLE {} ({})", self.name, cols.join(", "))
    }

    /// Multi-row INSERTs of at most `per` rows each.
    fn inserts(&self, per: usize) -> Vec<(String, usize)> {
        let names: Vec<&str> = self.cols.iter().map(|c| c.name).collect();
        self.rows
            .chunks(per)
            .map(|chunk| {
                let mut s = format!("INSERT INTO {} ({}) VALUES ", self.name, names.join(", "));
                for (i, row) in chunk.iter().enumerate() {
                    if i > 0 {
                        s.push_str(", ");
                    }
                    s.push('(');
                    for (j, v) in row.iter().enumerate() {
                        if j > 0 {
                            s.push_str(", ");
                        }
                        v.render(&mut s);
                    }
                    s.push(')');
                }
                (s, chunk.len())
            })
            .collect()
    }
}

/// Text values: ASCII, with empty strings, spaces, case variants and duplicates; no `%`,
/// `_` or quotes (LIKE wildcards are only in patterns).
const WORDS: &[&str] = &[
    "", "a", "ab", "abc", "b", "ba", "bab", "Abc", "ABC", "aB", "x y", " pad", "pad ", "zeta",
    "Zeta", "q", "qq", "hello", "world", "a b c", "10", "9",
];

const LIKE_PATTERNS: &[&str] = &[
    "a%", "%b", "%ab%", "_b%", "a_", "%", "", "ab", "A%", "%c", "_", "__", "%a%b%", " %", "%d",
    "%Z%", "z%", "%a", "b_b", "%y",
];

/// Non-quarter DOUBLE values (not exact in binary).
const ODD_DOUBLES: &[&str] = &[
    "0.1",
    "0.2",
    "0.3",
    "1.1",
    "2.675",
    "-0.7",
    "1000000.5",
    "-0.01",
];

fn fmt_cents(c: i64) -> String {
    let sign = if c < 0 { "-" } else { "" };
    format!("{sign}{}.{:02}", c.abs() / 100, c.abs() % 100)
}

fn fmt_quarter(q: i64) -> String {
    let v = q as f64 / 4.0;
    format!("{v}")
}

// ---------------------------------------------------------------------------------------
// The generator
// ---------------------------------------------------------------------------------------

#[derive(Clone, Debug)]
struct ColRef {
    /// As written in the query (`a` or `t1.a`).
    name: String,
    ty: Ty,
    bound: f64,
    big: bool,
}

impl ColRef {
    fn g(&self) -> G {
        G {
            e: E::Col(self.name.clone()),
            ty: self.ty,
            bound: self.bound,
            big: self.big,
            exact: true,
            numeric_sum: false,
        }
    }
}

/// Where an expression is generated: over rows (`keys: None`) or over groups, where
/// columns are the GROUP BY keys and aggregates over `row` may appear.
#[derive(Clone, Copy)]
struct Cx<'a> {
    row: &'a [ColRef],
    keys: Option<&'a [ColRef]>,
}

impl<'a> Cx<'a> {
    fn cols(&self) -> &'a [ColRef] {
        self.keys.unwrap_or(self.row)
    }
    fn rows_only(&self) -> Cx<'a> {
        Cx {
            row: self.row,
            keys: None,
        }
    }
}

struct Gen {
    rng: fastrand::Rng,
}

struct Query {
    /// PostgreSQL / MemFlux text.
    pg: String,
    lite: String,
    names: Vec<String>,
    tys: Vec<Ty>,
    ordered: bool,
    kind: &'static str,
}

#[derive(Clone, Copy)]
enum Dir {
    Default,
    Asc,
    Desc,
}

struct OrderKey {
    e: E,
    dir: Dir,
    nulls_first: bool,
}

struct Select {
    distinct: bool,
    outputs: Vec<G>,
    from: String,
    /// kind, table, ON condition.
    joins: Vec<(&'static str, &'static str, E)>,
    filter: Option<E>,
    group: Vec<E>,
    having: Option<E>,
    order: Vec<OrderKey>,
    limit: Option<u32>,
    offset: Option<u32>,
}

impl Select {
    fn render(&self, d: Dialect) -> String {
        let mut o = String::from("SELECT ");
        if self.distinct {
            o.push_str("DISTINCT ");
        }
        for (i, g) in self.outputs.iter().enumerate() {
            if i > 0 {
                o.push_str(", ");
            }
            g.e.render(d, &mut o);
            write!(o, " AS c{i}").unwrap();
        }
        write!(o, " FROM {}", self.from).unwrap();
        for (kind, table, on) in &self.joins {
            write!(o, " {kind} {table} ON ").unwrap();
            on.render(d, &mut o);
        }
        if let Some(w) = &self.filter {
            o.push_str(" WHERE ");
            w.render(d, &mut o);
        }
        if !self.group.is_empty() {
            o.push_str(" GROUP BY ");
            for (i, g) in self.group.iter().enumerate() {
                if i > 0 {
                    o.push_str(", ");
                }
                g.render(d, &mut o);
            }
        }
        if let Some(h) = &self.having {
            o.push_str(" HAVING ");
            h.render(d, &mut o);
        }
        if !self.order.is_empty() {
            o.push_str(" ORDER BY ");
            for (i, k) in self.order.iter().enumerate() {
                if i > 0 {
                    o.push_str(", ");
                }
                k.e.render(d, &mut o);
                o.push_str(match k.dir {
                    Dir::Default => "",
                    Dir::Asc => " ASC",
                    Dir::Desc => " DESC",
                });
                o.push_str(if k.nulls_first {
                    " NULLS FIRST"
                } else {
                    " NULLS LAST"
                });
            }
        }
        match (self.limit, self.offset, d) {
            (Some(l), Some(f), _) => write!(o, " LIMIT {l} OFFSET {f}").unwrap(),
            (Some(l), None, _) => write!(o, " LIMIT {l}").unwrap(),
            (None, Some(f), Dialect::Lite) => write!(o, " LIMIT -1 OFFSET {f}").unwrap(),
            (None, Some(f), Dialect::Pg) => write!(o, " OFFSET {f}").unwrap(),
            (None, None, _) => {}
        }
        o
    }

    fn query(self, kind: &'static str) -> Query {
        let ordered = !self.order.is_empty();
        Query {
            pg: self.render(Dialect::Pg),
            lite: self.render(Dialect::Lite),
            names: (0..self.outputs.len()).map(|i| format!("c{i}")).collect(),
            tys: self.outputs.iter().map(|g| g.ty).collect(),
            ordered,
            kind,
        }
    }
}

/// Equality join keys between two tables: (table, column, table, column).
const JOIN_KEYS: &[(&str, &str, &str, &str)] = &[
    ("t1", "id", "t2", "t1_id"),
    ("t1", "a", "t2", "a"),
    ("t2", "a", "t3", "k"),
    ("t1", "id", "t3", "id"),
    ("t1", "a", "t3", "k"),
    ("t1", "s", "t3", "s"),
    ("t2", "n", "t1", "a"),
    ("t2", "t1_id", "t3", "id"),
];

impl Gen {
    fn chance(&mut self, p: f64) -> bool {
        self.rng.f64() < p
    }

    fn pick<'a, T>(&mut self, xs: &'a [T]) -> &'a T {
        &xs[self.rng.usize(..xs.len())]
    }

    // ----- data -----

    fn word(&mut self) -> String {
        if self.chance(0.25) {
            let len = self.rng.usize(1..=5);
            (0..len)
                .map(|_| *self.pick(&['a', 'b', 'c', 'A', 'B', ' ', 'z']))
                .collect()
        } else {
            self.pick(WORDS).to_string()
        }
    }

    fn maybe_null(&mut self, p: f64, v: Lit) -> Lit {
        if self.chance(p) {
            Lit::Null
        } else {
            v
        }
    }

    fn small_int(&mut self) -> Lit {
        let v = self.rng.i64(-20..=40);
        self.maybe_null(0.12, Lit::Int(v))
    }

    fn data_big(&mut self) -> Lit {
        let v = if self.chance(0.7) {
            self.rng.i64(-1000..=1000)
        } else {
            let v = self.rng.i64(1_000_000_000..=3_000_000_000);
            if self.rng.bool() {
                -v
            } else {
                v
            }
        };
        self.maybe_null(0.12, Lit::Int(v))
    }

    fn data_numeric(&mut self) -> Lit {
        let s = if self.chance(0.25) {
            format!("{}.00", self.rng.i64(-20..=40))
        } else {
            fmt_cents(self.rng.i64(-100_000..=100_000))
        };
        self.maybe_null(0.12, Lit::Dec(s))
    }

    fn data_double(&mut self) -> Lit {
        let s = if self.chance(0.8) {
            fmt_quarter(self.rng.i64(-4000..=4000))
        } else {
            self.pick(ODD_DOUBLES).to_string()
        };
        self.maybe_null(0.12, Lit::Dec(s))
    }

    fn data_text(&mut self) -> Lit {
        let w = self.word();
        self.maybe_null(0.12, Lit::Text(w))
    }

    fn data_bool(&mut self) -> Lit {
        let b = self.rng.bool();
        self.maybe_null(0.15, Lit::Bool(b))
    }

    /// `n` distinct ids from 1..=max, in random order.
    fn ids(&mut self, n: usize, max: i64) -> Vec<i64> {
        let mut all: Vec<i64> = (1..=max).collect();
        self.rng.shuffle(&mut all);
        all.truncate(n);
        all
    }

    /// Rows built by `make` (from the second column on), with 15% copying an earlier
    /// row's values under a new id.
    fn rows(
        &mut self,
        ids: Vec<i64>,
        big_id: bool,
        make: fn(&mut Gen) -> Vec<Lit>,
    ) -> Vec<Vec<Lit>> {
        let _ = big_id;
        let mut rows: Vec<Vec<Lit>> = Vec::new();
        for id in ids {
            let rest = if !rows.is_empty() && self.chance(0.15) {
                rows[self.rng.usize(..rows.len())][1..].to_vec()
            } else {
                make(self)
            };
            let mut row = vec![Lit::Int(id)];
            row.extend(rest);
            rows.push(row);
        }
        rows
    }

    fn tables(&mut self) -> Vec<TableDef> {
        let col = |name, sql, ty, bound, big| ColDef {
            name,
            sql,
            ty,
            bound,
            big,
        };
        let ids1 = self.ids(400, 600);
        let t1 = TableDef {
            name: "t1",
            cols: vec![
                col("id", "INTEGER", Ty::Int, 600.0, false),
                col("a", "INTEGER", Ty::Int, 40.0, false),
                col("b", "BIGINT", Ty::Int, 3.0e9, true),
                col("n", "NUMERIC(10,2)", Ty::Num, 0.0, false),
                col("d", "DOUBLE PRECISION", Ty::Float, 0.0, false),
                col("s", "TEXT", Ty::Text, 0.0, false),
                col("f", "BOOLEAN", Ty::Bool, 0.0, false),
            ],
            rows: self.rows(ids1, false, |g| {
                vec![
                    g.small_int(),
                    g.data_big(),
                    g.data_numeric(),
                    g.data_double(),
                    g.data_text(),
                    g.data_bool(),
                ]
            }),
        };
        let ids2 = self.ids(300, 450);
        let t2 = TableDef {
            name: "t2",
            cols: vec![
                col("id", "INTEGER", Ty::Int, 450.0, false),
                col("t1_id", "INTEGER", Ty::Int, 650.0, false),
                col("a", "INTEGER", Ty::Int, 40.0, false),
                col("n", "NUMERIC(10,2)", Ty::Num, 0.0, false),
                col("s", "TEXT", Ty::Text, 0.0, false),
                col("f", "BOOLEAN", Ty::Bool, 0.0, false),
            ],
            rows: self.rows(ids2, false, |g| {
                let t1_id = g.rng.i64(1..=650);
                vec![
                    g.maybe_null(0.1, Lit::Int(t1_id)),
                    g.small_int(),
                    g.data_numeric(),
                    g.data_text(),
                    g.data_bool(),
                ]
            }),
        };
        let ids3 = self.ids(60, 100);
        let t3 = TableDef {
            name: "t3",
            cols: vec![
                col("id", "BIGINT", Ty::Int, 100.0, true),
                col("k", "INTEGER", Ty::Int, 40.0, false),
                col("s", "TEXT", Ty::Text, 0.0, false),
                col("d", "DOUBLE PRECISION", Ty::Float, 0.0, false),
            ],
            rows: self.rows(ids3, true, |g| {
                vec![g.small_int(), g.data_text(), g.data_double()]
            }),
        };
        vec![t1, t2, t3]
    }

    // ----- literals and leaves -----

    fn int_lit(&mut self) -> G {
        let v = self.rng.i64(-10..=45);
        G::int(E::Lit(Lit::Int(v)), v.abs() as f64, false)
    }

    fn num_lit(&mut self) -> G {
        let s = match self.rng.u32(0..3) {
            0 => fmt_cents(self.rng.i64(-5000..=5000)),
            1 => format!("{}.5", self.rng.i64(-50..=50)),
            _ => format!("{}.{}", self.rng.i64(-30..=30), self.rng.u32(0..10)),
        };
        G::new(E::Lit(Lit::Dec(s)), Ty::Num)
    }

    fn float_lit(&mut self) -> G {
        let s = if self.chance(0.8) {
            fmt_quarter(self.rng.i64(-400..=400))
        } else {
            self.pick(ODD_DOUBLES).to_string()
        };
        let colon = self.rng.bool();
        G::new(
            E::Cast(Box::new(E::Lit(Lit::Dec(s))), "DOUBLE PRECISION", colon),
            Ty::Float,
        )
    }

    fn text_lit(&mut self) -> G {
        let w = self.word();
        G::new(E::Lit(Lit::Text(w)), Ty::Text)
    }

    fn lit(&mut self, ty: Ty) -> G {
        if self.chance(0.04) {
            let colon = self.rng.bool();
            let e = E::Cast(Box::new(E::Lit(Lit::Null)), ty.cast_name(), colon);
            return G {
                e,
                ty,
                bound: 0.0,
                big: false,
                exact: true,
                numeric_sum: false,
            };
        }
        match ty {
            Ty::Int => self.int_lit(),
            Ty::Num => self.num_lit(),
            Ty::Float => self.float_lit(),
            Ty::Text => self.text_lit(),
            Ty::Bool => {
                let b = self.rng.bool();
                G::new(E::Lit(Lit::Bool(b)), Ty::Bool)
            }
        }
    }

    fn column(&mut self, cols: &[ColRef], ty: Ty) -> Option<G> {
        let of: Vec<&ColRef> = cols.iter().filter(|c| c.ty == ty).collect();
        if of.is_empty() {
            None
        } else {
            Some(of[self.rng.usize(..of.len())].g())
        }
    }

    fn leaf(&mut self, cx: Cx, ty: Ty, ex: bool) -> G {
        if cx.keys.is_some() && self.chance(0.6) {
            if let Some(g) = self.agg(cx, ty, ex) {
                return g;
            }
        }
        if self.chance(0.75) {
            if let Some(g) = self.column(cx.cols(), ty) {
                return g;
            }
        }
        self.lit(ty)
    }

    /// An aggregate call of type `ty` over the rows of `cx` (None for BOOLEAN).
    fn agg(&mut self, cx: Cx, ty: Ty, ex: bool) -> Option<G> {
        let row = cx.rows_only();
        let depth = self.rng.u32(0..=2);
        let call = |name, distinct, arg: Option<E>| E::Agg(name, distinct, arg.map(Box::new));
        Some(match ty {
            Ty::Int => match self.rng.u32(0..6) {
                0 => G::int(call("COUNT", false, None), 1e6, true),
                1 => {
                    let t = self.any_ty();
                    let a = self.gen(row, t, depth, false);
                    G::int(call("COUNT", false, Some(a.e)), 1e6, true)
                }
                2 => {
                    let t = self.any_ty();
                    let a = self.gen(row, t, depth, true);
                    G::int(call("COUNT", true, Some(a.e)), 1e6, true)
                }
                3 | 4 => {
                    let a = self.gen(row, Ty::Int, depth, true);
                    if a.bound * 1e5 > INT8_LIMIT {
                        return None;
                    }
                    G {
                        numeric_sum: a.big,
                        ..G::int(call("SUM", false, Some(a.e)), a.bound * 1e5, true)
                    }
                }
                _ => {
                    let a = self.gen(row, Ty::Int, depth, true);
                    let name = if self.rng.bool() { "MIN" } else { "MAX" };
                    G::int(call(name, false, Some(a.e)), a.bound, a.big)
                }
            },
            Ty::Num | Ty::Float => {
                let minmax = ex || self.chance(0.35);
                if minmax {
                    let a = self.gen(row, ty, depth, ex);
                    let name = if self.rng.bool() { "MIN" } else { "MAX" };
                    G {
                        e: call(name, false, Some(a.e)),
                        ty,
                        bound: 0.0,
                        big: false,
                        exact: a.exact,
                        numeric_sum: false,
                    }
                } else if self.rng.bool() {
                    let a = self.gen(row, ty, depth, false);
                    G::new(call("SUM", false, Some(a.e)), ty).inexact()
                } else {
                    // AVG of an integer is NUMERIC.
                    let arg_ty = if ty == Ty::Num && self.rng.bool() {
                        Ty::Int
                    } else {
                        ty
                    };
                    let a = self.gen(row, arg_ty, depth, false);
                    G::new(call("AVG", false, Some(a.e)), ty).inexact()
                }
            }
            Ty::Text => {
                let a = self.gen(row, Ty::Text, depth, true);
                let name = if self.rng.bool() { "MIN" } else { "MAX" };
                G::new(call(name, false, Some(a.e)), Ty::Text)
            }
            Ty::Bool => return None,
        })
    }

    fn any_ty(&mut self) -> Ty {
        *self.pick(&[
            Ty::Int,
            Ty::Int,
            Ty::Num,
            Ty::Float,
            Ty::Text,
            Ty::Text,
            Ty::Bool,
        ])
    }

    fn numeric_ty(&mut self) -> Ty {
        *self.pick(&[Ty::Int, Ty::Int, Ty::Num, Ty::Float])
    }

    // ----- expressions -----

    fn gen(&mut self, cx: Cx, ty: Ty, depth: u32, ex: bool) -> G {
        if depth == 0 || self.chance(0.2) {
            return self.leaf(cx, ty, ex);
        }
        let d = depth - 1;
        match ty {
            Ty::Int => self.gen_int(cx, d),
            Ty::Num => self.gen_num(cx, d, ex),
            Ty::Float => self.gen_float(cx, d, ex),
            Ty::Text => self.gen_text(cx, d),
            Ty::Bool => self.gen_bool(cx, d),
        }
    }

    fn case(&mut self, cx: Cx, ty: Ty, d: u32, ex: bool) -> G {
        let simple = self.chance(0.3);
        let operand = if simple {
            let t = if self.rng.bool() { Ty::Int } else { Ty::Text };
            Some(self.gen(cx, t, d, true))
        } else {
            None
        };
        let n = self.rng.usize(1..=3);
        let mut whens = Vec::new();
        let mut results = Vec::new();
        for _ in 0..n {
            let w = match &operand {
                Some(op) => self.lit(op.ty).e,
                None => self.gen(cx, Ty::Bool, d, true).e,
            };
            let t = self.gen(cx, ty, d, ex);
            whens.push((w, t.e.clone()));
            results.push(t);
        }
        let otherwise = match self.rng.u32(0..3) {
            0 => None,
            1 => Some(E::Lit(Lit::Null)),
            _ => {
                let e = self.gen(cx, ty, d, ex);
                let x = e.e.clone();
                results.push(e);
                Some(x)
            }
        };
        let e = E::Case {
            operand: operand.map(|o| Box::new(o.e)),
            whens,
            otherwise: otherwise.map(Box::new),
        };
        G {
            e,
            ty,
            bound: results.iter().map(|r| r.bound).fold(0.0, f64::max),
            big: results.iter().any(|r| r.big),
            exact: results.iter().all(|r| r.exact),
            numeric_sum: results.iter().any(|r| r.numeric_sum),
        }
    }

    fn coalesce(&mut self, cx: Cx, ty: Ty, d: u32, ex: bool) -> G {
        let mut parts = vec![self.gen(cx, ty, d, ex)];
        if self.chance(0.2) {
            parts.push(G::new(E::Lit(Lit::Null), ty));
        }
        parts.push(self.gen(cx, ty, d, ex));
        if self.chance(0.3) {
            parts.push(self.lit(ty));
        }
        G {
            bound: parts.iter().map(|r| r.bound).fold(0.0, f64::max),
            big: parts.iter().any(|r| r.big),
            exact: parts.iter().all(|r| r.exact),
            numeric_sum: parts.iter().any(|r| r.numeric_sum),
            e: E::Func("COALESCE", parts.into_iter().map(|p| p.e).collect()),
            ty,
        }
    }

    fn nullif(&mut self, cx: Cx, ty: Ty, d: u32, ex: bool) -> G {
        let _ = ex;
        // NULLIF compares its arguments: both exact.
        let a = self.gen(cx, ty, d, true);
        let b = if self.rng.bool() {
            self.lit(ty)
        } else {
            self.gen(cx, ty, d, true)
        };
        G {
            e: E::Func("NULLIF", vec![a.e, b.e]),
            exact: a.exact && b.exact,
            ..a
        }
    }

    fn gen_int(&mut self, cx: Cx, d: u32) -> G {
        match self.rng.u32(0..16) {
            0..=3 => {
                let l = self.gen(cx, Ty::Int, d, true);
                let r = self.gen(cx, Ty::Int, d, true);
                let big = l.big || r.big;
                let limit = if big { INT8_LIMIT } else { INT4_LIMIT };
                let op = *self.pick(&["+", "-", "*"]);
                let (op, bound) = if op == "*" && l.bound * r.bound <= limit {
                    ("*", l.bound * r.bound)
                } else if l.bound + r.bound <= limit {
                    (if op == "*" { "+" } else { op }, l.bound + r.bound)
                } else {
                    return l;
                };
                G {
                    numeric_sum: l.numeric_sum || r.numeric_sum,
                    ..G::int(E::bin(op, l.e, r.e), bound, big)
                }
            }
            4 => {
                let x = self.gen(cx, Ty::Int, d, true);
                if x.numeric_sum {
                    return x;
                }
                let mut k = self.rng.i64(1..=7);
                if self.chance(0.2) {
                    k = -k;
                }
                G::int(E::bin("/", x.e, E::Lit(Lit::Int(k))), x.bound, x.big)
            }
            5 => {
                let x = self.gen(cx, Ty::Int, d, true);
                let mut k = self.rng.i64(1..=7);
                if self.chance(0.2) {
                    k = -k;
                }
                let percent = self.rng.bool();
                G::int(
                    E::Mod(Box::new(x.e), Box::new(E::Lit(Lit::Int(k))), percent),
                    k.abs() as f64,
                    x.big,
                )
            }
            6 => {
                let x = self.gen(cx, Ty::Int, d, true);
                G {
                    e: E::Un("-", Box::new(x.e)),
                    ..x
                }
            }
            7 => {
                let x = self.gen(cx, Ty::Int, d, true);
                G {
                    e: E::Func("ABS", vec![x.e]),
                    ..x
                }
            }
            8 | 9 => self.case(cx, Ty::Int, d, true),
            10 => self.coalesce(cx, Ty::Int, d, true),
            11 => self.nullif(cx, Ty::Int, d, true),
            12 | 13 => {
                let t = self.gen(cx, Ty::Text, d, true);
                G::int(E::Func("LENGTH", vec![t.e]), 100.0, false)
            }
            14 => {
                let needle = *self.pick(&["a", "b", "ab", " ", "z"]);
                let t = self.gen(cx, Ty::Text, d, true);
                G::int(
                    E::Position(Box::new(E::Lit(Lit::Text(needle.into()))), Box::new(t.e)),
                    100.0,
                    false,
                )
            }
            _ => {
                let b = self.gen(cx, Ty::Bool, d, true);
                let colon = self.rng.bool();
                G::int(E::Cast(Box::new(b.e), "INTEGER", colon), 1.0, false)
            }
        }
    }

    fn gen_num(&mut self, cx: Cx, d: u32, ex: bool) -> G {
        let choice = self.rng.u32(0..10);
        match choice {
            0..=2 if !ex => {
                // NUMERIC arithmetic: exact in PostgreSQL and MemFlux, binary in SQLite.
                let l = self.gen(cx, Ty::Num, d, false);
                let rt = if self.rng.bool() { Ty::Int } else { Ty::Num };
                let r = self.gen(cx, rt, d, false);
                let op = *self.pick(&["+", "-", "*"]);
                let (l, r) = if self.rng.bool() { (l, r) } else { (r, l) };
                G::new(E::bin(op, l.e, r.e), Ty::Num).inexact()
            }
            3 => {
                let x = self.gen(cx, Ty::Num, d, ex);
                G {
                    e: E::Func("ABS", vec![x.e]),
                    ..x
                }
            }
            4 => {
                let x = self.gen(cx, Ty::Num, d, ex);
                G {
                    e: E::Un("-", Box::new(x.e)),
                    ..x
                }
            }
            5 => self.coalesce(cx, Ty::Num, d, ex),
            6 => self.nullif(cx, Ty::Num, d, ex),
            7 => self.case(cx, Ty::Num, d, ex),
            8 => {
                let x = self.gen(cx, Ty::Int, d, true);
                let colon = self.rng.bool();
                G::new(E::Cast(Box::new(x.e), "NUMERIC", colon), Ty::Num)
            }
            9 if !ex => {
                // To an integer, of an exact value: SQLite rounds the binary value, so
                // ROUND(2.45, 1) is 2.5 in PostgreSQL and 2.4 in SQLite; halves are exact.
                let x = self.gen(cx, Ty::Num, d, true);
                G::new(E::Func("ROUND", vec![x.e]), Ty::Num).inexact()
            }
            _ => self.leaf(cx, Ty::Num, ex),
        }
    }

    fn gen_float(&mut self, cx: Cx, d: u32, ex: bool) -> G {
        match self.rng.u32(0..10) {
            0 | 1 => {
                let l = self.gen(cx, Ty::Float, d, ex);
                let r = self.gen(cx, Ty::Float, d, ex);
                let op = *self.pick(&["+", "-", "*"]);
                let exact = l.exact && r.exact;
                G {
                    exact,
                    ..G::new(E::bin(op, l.e, r.e), Ty::Float)
                }
            }
            2 => {
                // DOUBLE with INTEGER or NUMERIC: computed in DOUBLE PRECISION.
                let l = self.gen(cx, Ty::Float, d, ex);
                let rt = if self.rng.bool() { Ty::Int } else { Ty::Num };
                let r = self.gen(cx, rt, d, true);
                let op = *self.pick(&["+", "-", "*"]);
                let (a, b) = if self.rng.bool() {
                    (l.e, r.e)
                } else {
                    (r.e, l.e)
                };
                G {
                    exact: l.exact,
                    ..G::new(E::bin(op, a, b), Ty::Float)
                }
            }
            3 => {
                let x = self.gen(cx, Ty::Float, d, ex);
                G {
                    e: E::Un("-", Box::new(x.e)),
                    ..x
                }
            }
            4 => {
                let x = self.gen(cx, Ty::Float, d, ex);
                G {
                    e: E::Func("ABS", vec![x.e]),
                    ..x
                }
            }
            5 => self.coalesce(cx, Ty::Float, d, ex),
            6 => self.case(cx, Ty::Float, d, ex),
            7 => {
                let x = self.gen(cx, Ty::Int, d, true);
                let colon = self.rng.bool();
                G::new(E::Cast(Box::new(x.e), "DOUBLE PRECISION", colon), Ty::Float)
            }
            8 if !ex => {
                let x = self.gen(cx, Ty::Float, d, false);
                G::new(E::Square(Box::new(x.e)), Ty::Float).inexact()
            }
            _ => self.leaf(cx, Ty::Float, ex),
        }
    }

    fn gen_text(&mut self, cx: Cx, d: u32) -> G {
        let t = |g: &mut Gen| g.gen(cx, Ty::Text, d, true).e;
        let e = match self.rng.u32(0..13) {
            0 => E::Func("LOWER", vec![t(self)]),
            1 => E::Func("UPPER", vec![t(self)]),
            2 => {
                let f = *self.pick(&["TRIM", "LTRIM", "RTRIM"]);
                E::Func(f, vec![t(self)])
            }
            3 => {
                let from = *self.pick(&["a", "b", "ab", " "]);
                let to = *self.pick(&["", "x", "yy", "B"]);
                E::Func(
                    "REPLACE",
                    vec![
                        t(self),
                        E::Lit(Lit::Text(from.into())),
                        E::Lit(Lit::Text(to.into())),
                    ],
                )
            }
            4 => {
                let start = self.rng.i64(1..=4);
                let len = self.rng.i64(0..=4);
                E::Func(
                    "SUBSTRING",
                    vec![t(self), E::Lit(Lit::Int(start)), E::Lit(Lit::Int(len))],
                )
            }
            5 | 6 => E::bin("||", t(self), t(self)),
            7 => E::Func("CONCAT", vec![t(self), t(self)]),
            8 => E::Left(Box::new(t(self)), self.rng.i64(0..=4)),
            9 => return self.coalesce(cx, Ty::Text, d, true),
            10 => return self.nullif(cx, Ty::Text, d, true),
            11 => return self.case(cx, Ty::Text, d, true),
            _ => {
                let x = self.gen(cx, Ty::Int, d, true);
                let colon = self.rng.bool();
                E::Cast(Box::new(x.e), "TEXT", colon)
            }
        };
        G::new(e, Ty::Text)
    }

    fn comparison(&mut self, cx: Cx, d: u32) -> E {
        let op = *self.pick(&["=", "<>", "!=", "<", "<=", ">", ">="]);
        let (l, r) = match self.rng.u32(0..20) {
            0..=12 => {
                let lt = self.numeric_ty();
                let rt = self.numeric_ty();
                let l = self.gen(cx, lt, d, true);
                let r = if self.chance(0.5) {
                    self.lit(rt)
                } else {
                    self.gen(cx, rt, d, true)
                };
                (l, r)
            }
            13..=18 => {
                let l = self.gen(cx, Ty::Text, d, true);
                let r = if self.chance(0.5) {
                    self.text_lit()
                } else {
                    self.gen(cx, Ty::Text, d, true)
                };
                (l, r)
            }
            _ => (
                self.gen(cx, Ty::Bool, d, true),
                self.gen(cx, Ty::Bool, d, true),
            ),
        };
        if self.rng.bool() {
            E::bin(op, l.e, r.e)
        } else {
            E::bin(op, r.e, l.e)
        }
    }

    fn gen_bool(&mut self, cx: Cx, d: u32) -> G {
        let e = match self.rng.u32(0..18) {
            0..=4 => self.comparison(cx, d),
            5 | 6 => {
                let l = self.gen(cx, Ty::Bool, d, true);
                let r = self.gen(cx, Ty::Bool, d, true);
                E::bin("AND", l.e, r.e)
            }
            7 | 8 => {
                let l = self.gen(cx, Ty::Bool, d, true);
                let r = self.gen(cx, Ty::Bool, d, true);
                E::bin("OR", l.e, r.e)
            }
            9 => E::Un("NOT", Box::new(self.gen(cx, Ty::Bool, d, true).e)),
            10 | 11 => {
                let t = self.any_ty();
                let x = self.gen(cx, t, d, false);
                let neg = self.rng.bool();
                E::IsNull(Box::new(x.e), neg)
            }
            12 | 13 => {
                let neg = self.chance(0.25);
                if self.chance(0.7) {
                    let x = self.numeric_ty();
                    let x = self.gen(cx, x, d, true);
                    let lt = self.numeric_ty();
                    let lo = self.lit(lt);
                    let ht = self.numeric_ty();
                    let hi = self.lit(ht);
                    E::Between(Box::new(x.e), Box::new(lo.e), Box::new(hi.e), neg)
                } else {
                    let x = self.gen(cx, Ty::Text, d, true);
                    let lo = self.text_lit();
                    let hi = self.text_lit();
                    E::Between(Box::new(x.e), Box::new(lo.e), Box::new(hi.e), neg)
                }
            }
            14 | 15 => {
                let neg = self.chance(0.25);
                let ty = *self.pick(&[Ty::Int, Ty::Int, Ty::Num, Ty::Text]);
                let x = self.gen(cx, ty, d, true);
                let n = self.rng.usize(1..=4);
                let mut list: Vec<E> = (0..n)
                    .map(|_| match ty {
                        Ty::Text => self.text_lit().e,
                        _ if self.chance(0.2) => self.num_lit().e,
                        _ => self.int_lit().e,
                    })
                    .collect();
                if self.chance(0.15) {
                    list.push(E::Lit(Lit::Null));
                }
                E::In(Box::new(x.e), list, neg)
            }
            16 | 17 => {
                let x = self.gen(cx, Ty::Text, d, true);
                let pat = self.pick(LIKE_PATTERNS).to_string();
                let neg = self.chance(0.2);
                let ilike = self.chance(0.25);
                E::Like(Box::new(x.e), pat, neg, ilike)
            }
            _ => unreachable!(),
        };
        G::new(e, Ty::Bool)
    }

    // ----- queries -----

    /// FROM clause: (first table, joins, scope columns, id columns for tiebreaks).
    #[allow(clippy::type_complexity)]
    fn from(
        &mut self,
        tables: &[TableDef],
    ) -> (
        &'static str,
        Vec<(&'static str, &'static str, E)>,
        Vec<ColRef>,
        Vec<String>,
    ) {
        let scope_of = |t: &TableDef, qualify: bool| -> Vec<ColRef> {
            t.cols
                .iter()
                .map(|c| ColRef {
                    name: if qualify {
                        format!("{}.{}", t.name, c.name)
                    } else {
                        c.name.to_string()
                    },
                    ty: c.ty,
                    bound: c.bound,
                    big: c.big,
                })
                .collect()
        };
        let table = |name: &str| tables.iter().find(|t| t.name == name).unwrap();
        let r = self.rng.u32(0..100);
        if r < 55 {
            let t = &tables[*self.pick(&[0, 0, 0, 1, 1, 2])];
            let qualify = self.chance(0.15);
            let scope = scope_of(t, qualify);
            let id = scope[0].name.clone();
            return (t.name, vec![], scope, vec![id]);
        }
        let &(lt, lc, rt, rc) = self.pick(JOIN_KEYS);
        let (first, second, fc, sc) = if self.rng.bool() {
            (lt, rt, lc, rc)
        } else {
            (rt, lt, rc, lc)
        };
        let mut names = vec![first, second];
        let mut joins = vec![(second, format!("{first}.{fc}"), format!("{second}.{sc}"))];
        if r >= 88 {
            // A third table joined to either of the first two.
            let candidates: Vec<_> = JOIN_KEYS
                .iter()
                .filter_map(|&(a, ac, b, bc)| {
                    if names.contains(&a) && !names.contains(&b) {
                        Some((b, format!("{a}.{ac}"), format!("{b}.{bc}")))
                    } else if names.contains(&b) && !names.contains(&a) {
                        Some((a, format!("{b}.{bc}"), format!("{a}.{ac}")))
                    } else {
                        None
                    }
                })
                .collect();
            if !candidates.is_empty() {
                let c = candidates[self.rng.usize(..candidates.len())].clone();
                names.push(c.0);
                joins.push(c);
            }
        }
        let mut scope = Vec::new();
        for n in &names {
            scope.extend(scope_of(table(n), true));
        }
        let ids: Vec<String> = names.iter().map(|n| format!("{n}.id")).collect();
        let mut out = Vec::new();
        for (j, (table, l, r)) in joins.into_iter().enumerate() {
            let kind = *self.pick(&["JOIN", "INNER JOIN", "LEFT JOIN", "LEFT OUTER JOIN"]);
            let (l, r) = if self.rng.bool() { (l, r) } else { (r, l) };
            let mut on = E::bin("=", E::Col(l), E::Col(r));
            if self.chance(0.2) {
                // ON sees the tables joined so far (PostgreSQL refuses others).
                let visible: Vec<ColRef> = scope
                    .iter()
                    .filter(|c| {
                        names[..j + 2]
                            .iter()
                            .any(|n| c.name.starts_with(&format!("{n}.")))
                    })
                    .cloned()
                    .collect();
                let cx = Cx {
                    row: &visible,
                    keys: None,
                };
                let extra = self.gen(cx, Ty::Bool, 1, true);
                on = E::bin("AND", on, extra.e);
            }
            out.push((kind, table, on));
        }
        (first, out, scope, ids)
    }

    fn dir(&mut self) -> Dir {
        *self.pick(&[Dir::Default, Dir::Asc, Dir::Desc])
    }

    fn key(&mut self, e: E) -> OrderKey {
        OrderKey {
            e,
            dir: self.dir(),
            nulls_first: self.rng.bool(),
        }
    }

    fn limit_offset(&mut self, s: &mut Select) {
        if self.chance(0.45) {
            s.limit = Some(self.rng.u32(0..=25));
        }
        if self.chance(0.3) {
            s.offset = Some(self.rng.u32(0..=30));
        }
    }

    fn output_ty(&mut self) -> Ty {
        *self.pick(&[
            Ty::Int,
            Ty::Int,
            Ty::Int,
            Ty::Num,
            Ty::Num,
            Ty::Float,
            Ty::Float,
            Ty::Text,
            Ty::Text,
            Ty::Text,
            Ty::Bool,
            Ty::Bool,
        ])
    }

    fn query(&mut self, tables: &[TableDef]) -> Query {
        let (first, joins, scope, ids) = self.from(tables);
        let join = !joins.is_empty();
        let row = Cx {
            row: &scope,
            keys: None,
        };
        let mut s = Select {
            distinct: false,
            outputs: vec![],
            from: first.to_string(),
            joins,
            filter: None,
            group: vec![],
            having: None,
            order: vec![],
            limit: None,
            offset: None,
        };
        if self.chance(0.7) {
            let depth = self.rng.u32(1..=3);
            s.filter = Some(self.gen(row, Ty::Bool, depth, true).e);
        }
        let shape = self.rng.u32(0..100);
        let kind = if shape < 40 {
            // Rows.
            for _ in 0..self.rng.usize(1..=4) {
                let t = self.output_ty();
                let depth = self.rng.u32(0..=3);
                s.outputs.push(self.gen(row, t, depth, false));
            }
            if self.chance(0.6) {
                for _ in 0..self.rng.usize(0..=2) {
                    let exact_outputs: Vec<usize> = (0..s.outputs.len())
                        .filter(|&i| s.outputs[i].exact)
                        .collect();
                    let e = if !exact_outputs.is_empty() && self.chance(0.3) {
                        E::Raw(format!("c{}", self.pick(&exact_outputs)))
                    } else {
                        let t = self.any_ty();
                        let depth = self.rng.u32(0..=2);
                        let g = self.gen(row, t, depth, true);
                        // A constant key is a column position (SQLite) or an error
                        // (PostgreSQL): keys refer to a column.
                        if g.e.has_col() {
                            g.e
                        } else {
                            match self.column(row.cols(), t) {
                                Some(c) => c.e,
                                None => continue,
                            }
                        }
                    };
                    let k = self.key(e);
                    s.order.push(k);
                }
                for id in &ids {
                    let k = self.key(E::Col(id.clone()));
                    s.order.push(k);
                }
                self.limit_offset(&mut s);
            }
            if join {
                "join-rows"
            } else {
                "rows"
            }
        } else if shape < 50 {
            // DISTINCT rows.
            s.distinct = true;
            for _ in 0..self.rng.usize(1..=3) {
                let t = self.output_ty();
                let depth = self.rng.u32(0..=2);
                s.outputs.push(self.gen(row, t, depth, true));
            }
            if self.chance(0.6) {
                let mut idx: Vec<usize> = (0..s.outputs.len()).collect();
                self.rng.shuffle(&mut idx);
                for i in idx {
                    let k = self.key(E::Raw(format!("c{i}")));
                    s.order.push(k);
                }
                self.limit_offset(&mut s);
            }
            if join {
                "join-distinct"
            } else {
                "distinct"
            }
        } else if shape < 80 {
            // GROUP BY.
            let mut keys: Vec<ColRef> = Vec::new();
            for _ in 0..self.rng.usize(1..=2) {
                let c = self.pick(&scope).clone();
                if !keys.iter().any(|k| k.name == c.name) {
                    keys.push(c);
                }
            }
            let grouped = Cx {
                row: &scope,
                keys: Some(&keys),
            };
            let mut key_alias = vec![None; keys.len()];
            for (i, k) in keys.iter().enumerate() {
                if self.chance(0.8) {
                    key_alias[i] = Some(s.outputs.len());
                    s.outputs.push(k.g());
                }
            }
            for _ in 0..self.rng.usize(1..=3) {
                let t = self.output_ty();
                let depth = self.rng.u32(0..=2);
                s.outputs.push(self.gen(grouped, t, depth, false));
            }
            s.group = keys.iter().map(|k| E::Col(k.name.clone())).collect();
            if self.chance(0.3) {
                let depth = self.rng.u32(1..=2);
                s.having = Some(self.gen(grouped, Ty::Bool, depth, true).e);
            }
            if self.chance(0.6) {
                if self.chance(0.4) {
                    let exact_outputs: Vec<usize> = (0..s.outputs.len())
                        .filter(|&i| s.outputs[i].exact)
                        .collect();
                    if !exact_outputs.is_empty() {
                        let i = *self.pick(&exact_outputs);
                        let k = self.key(E::Raw(format!("c{i}")));
                        s.order.push(k);
                    }
                }
                let mut idx: Vec<usize> = (0..keys.len()).collect();
                self.rng.shuffle(&mut idx);
                for i in idx {
                    let e = match key_alias[i] {
                        Some(a) if self.rng.bool() => E::Raw(format!("c{a}")),
                        _ => E::Col(keys[i].name.clone()),
                    };
                    let k = self.key(e);
                    s.order.push(k);
                }
                self.limit_offset(&mut s);
            }
            if join {
                "join-group"
            } else {
                "group"
            }
        } else {
            // Aggregates over the whole (filtered) input: one row.
            let global = Cx {
                row: &scope,
                keys: Some(&[]),
            };
            let first_ty = *self.pick(&[Ty::Int, Ty::Int, Ty::Num, Ty::Float, Ty::Text]);
            let first = loop {
                if let Some(g) = self.agg(global, first_ty, false) {
                    break g;
                }
            };
            s.outputs.push(first);
            for _ in 0..self.rng.usize(0..=3) {
                let t = self.output_ty();
                let depth = self.rng.u32(0..=2);
                s.outputs.push(self.gen(global, t, depth, false));
            }
            if join {
                "join-aggregate"
            } else {
                "aggregate"
            }
        };
        s.query(kind)
    }
}

// ---------------------------------------------------------------------------------------
// Fixed regression queries
// ---------------------------------------------------------------------------------------

/// Hand-written queries run before the generated ones: (PostgreSQL/MemFlux text, SQLite
/// text if different, output types, ordered).
fn regression_queries() -> Vec<Query> {
    use Ty::*;
    let q = |pg: &str, lite: Option<&str>, tys: &[Ty], ordered: bool| Query {
        pg: pg.to_string(),
        lite: lite.unwrap_or(pg).to_string(),
        names: (0..tys.len()).map(|i| format!("c{i}")).collect(),
        tys: tys.to_vec(),
        ordered,
        kind: "regression",
    };
    let mut all = vec![
        q(
            "SELECT COUNT(*) AS c0, COUNT(a) AS c1, SUM(a) AS c2, MIN(s) AS c3, MAX(s) AS c4, COUNT(DISTINCT s) AS c5 FROM t1",
            None,
            &[Int, Int, Int, Text, Text, Int],
            false,
        ),
        q(
            "SELECT SUM(a) AS c0, AVG(a) AS c1, MAX(n) AS c2, COUNT(*) AS c3, COUNT(a) AS c4, MIN(s) AS c5 FROM t1 WHERE a > 1000000",
            None,
            &[Int, Num, Num, Int, Int, Text],
            false,
        ),
        q(
            "SELECT a AS c0, COUNT(*) AS c1 FROM t1 GROUP BY a ORDER BY a ASC NULLS FIRST",
            None,
            &[Int, Int],
            true,
        ),
        q(
            "SELECT id AS c0 FROM t1 WHERE a IN (1, 2, NULL) ORDER BY id ASC NULLS LAST",
            None,
            &[Int],
            true,
        ),
        q("SELECT id AS c0 FROM t1 WHERE a NOT IN (1, NULL)", None, &[Int], false),
        q(
            "SELECT t1.id AS c0, t2.id AS c1 FROM t1 LEFT JOIN t2 ON t1.id = t2.t1_id AND t2.f ORDER BY t1.id ASC NULLS LAST, t2.id ASC NULLS LAST",
            None,
            &[Int, Int],
            true,
        ),
        q(
            "SELECT s AS c0 FROM t1 WHERE s LIKE 'a%' ORDER BY s ASC NULLS LAST, id DESC NULLS LAST",
            None,
            &[Text],
            true,
        ),
        q(
            "SELECT DISTINCT s AS c0 FROM t1 ORDER BY c0 ASC NULLS FIRST",
            None,
            &[Text],
            true,
        ),
        q(
            "SELECT id AS c0, (a > 5 OR a IS NULL) AS c1 FROM t1 ORDER BY id ASC NULLS LAST LIMIT 10 OFFSET 5",
            None,
            &[Int, Bool],
            true,
        ),
        q(
            "SELECT COALESCE(a, -1) AS c0, NULLIF(s, '') AS c1, CASE WHEN f THEN 'y' WHEN NOT f THEN 'n' ELSE '?' END AS c2 FROM t1",
            None,
            &[Int, Text, Text],
            false,
        ),
        q(
            "SELECT a / 3 AS c0, a % 4 AS c1, MOD(a, -3) AS c2, ABS(a) / 2 AS c3, -a / 4 AS c4 FROM t1",
            Some("SELECT a / 3 AS c0, a % 4 AS c1, (a % -3) AS c2, ABS(a) / 2 AS c3, -a / 4 AS c4 FROM t1"),
            &[Int, Int, Int, Int, Int],
            false,
        ),
        q(
            "SELECT t1.a AS c0, COUNT(t2.id) AS c1, SUM(t2.a) AS c2, COUNT(*) AS c3 FROM t1 LEFT JOIN t2 ON t1.a = t2.a GROUP BY t1.a HAVING COUNT(*) > 1 ORDER BY t1.a ASC NULLS LAST",
            None,
            &[Int, Int, Int, Int],
            true,
        ),
        q(
            "SELECT COUNT(DISTINCT s) AS c0, COUNT(DISTINCT a) AS c1, COUNT(DISTINCT f) AS c2, COUNT(DISTINCT n) AS c3 FROM t1",
            None,
            &[Int, Int, Int, Int],
            false,
        ),
        q(
            "SELECT id AS c0, UPPER(s) AS c1, LENGTH(s) AS c2, LOWER(s) || '!' AS c3, TRIM(s) AS c4 FROM t3",
            None,
            &[Int, Text, Int, Text, Text],
            false,
        ),
        q(
            "SELECT f AS c0, COUNT(*) AS c1, AVG(n) AS c2, SUM(n) AS c3, MIN(n) AS c4 FROM t1 GROUP BY f ORDER BY f ASC NULLS LAST",
            None,
            &[Bool, Int, Num, Num, Num],
            true,
        ),
        q(
            "SELECT id AS c0, n AS c1 FROM t1 WHERE n BETWEEN -10 AND 10.5 AND d > 0 ORDER BY n DESC NULLS LAST, id ASC NULLS LAST LIMIT 20",
            None,
            &[Int, Num],
            true,
        ),
        q(
            "SELECT COUNT(*) AS c0, SUM(t1.a) AS c1 FROM t2 JOIN t1 ON t2.n = t1.a",
            None,
            &[Int, Int],
            false,
        ),
        q(
            "SELECT SUM(d) AS c0, MIN(d) AS c1, MAX(d) AS c2, AVG(d) AS c3 FROM t1",
            None,
            &[Float, Float, Float, Float],
            false,
        ),
        q(
            "SELECT id AS c0 FROM t2 WHERE t1_id IS NULL OR NOT f ORDER BY id ASC NULLS FIRST",
            None,
            &[Int],
            true,
        ),
        q(
            "SELECT s AS c0, COUNT(*) AS c1 FROM t1 GROUP BY s ORDER BY c1 DESC NULLS LAST, s ASC NULLS FIRST LIMIT 5",
            None,
            &[Text, Int],
            true,
        ),
        q(
            "SELECT id AS c0, (f AND a > 0) AS c1, (f OR a > 0) AS c2, (NOT f) AS c3, (a > 0) = f AS c4 FROM t1",
            None,
            &[Int, Bool, Bool, Bool, Bool],
            false,
        ),
        q(
            "SELECT t3.id AS c0, t1.id AS c1, t2.id AS c2 FROM t3 LEFT JOIN t1 ON t3.id = t1.id LEFT JOIN t2 ON t1.id = t2.t1_id ORDER BY t3.id ASC NULLS LAST, t1.id ASC NULLS LAST, t2.id ASC NULLS LAST",
            None,
            &[Int, Int, Int],
            true,
        ),
        q(
            "SELECT id AS c0, b AS c1, b * 2 AS c2, b - a AS c3 FROM t1 ORDER BY b DESC NULLS FIRST, id ASC NULLS LAST LIMIT 30",
            None,
            &[Int, Int, Int, Int],
            true,
        ),
        q(
            "SELECT d AS c0, COUNT(*) AS c1 FROM t1 WHERE d = 0.1 OR d = 2.675 OR d < -999 GROUP BY d",
            None,
            &[Float, Int],
            false,
        ),
        q(
            "SELECT CAST(id AS TEXT) AS c0 FROM t1 ORDER BY c0 ASC NULLS LAST LIMIT 15",
            None,
            &[Text],
            true,
        ),
        q(
            "SELECT id AS c0, s AS c1 FROM t1 WHERE s ILIKE 'a%' OR s LIKE '_b%' ORDER BY id ASC NULLS LAST",
            Some("SELECT id AS c0, s AS c1 FROM t1 WHERE LOWER(s) LIKE 'a%' OR s LIKE '_b%' ORDER BY id ASC NULLS LAST"),
            &[Int, Text],
            true,
        ),
        q(
            "SELECT SUM(a) AS c0, COUNT(*) AS c1 FROM t1 WHERE FALSE",
            None,
            &[Int, Int],
            false,
        ),
        q(
            "SELECT a AS c0, s AS c1, COUNT(*) AS c2 FROM t1 GROUP BY a, s HAVING COUNT(*) >= 2 ORDER BY c2 DESC NULLS LAST, a ASC NULLS FIRST, s DESC NULLS LAST",
            None,
            &[Int, Text, Int],
            true,
        ),
        q(
            "SELECT id AS c0, CASE a WHEN 1 THEN 'one' WHEN 2 THEN 'two' END AS c1, SUBSTRING(s, 2, 2) AS c2, REPLACE(s, 'a', 'x') AS c3 FROM t1",
            None,
            &[Int, Text, Text, Text],
            false,
        ),
        q(
            "SELECT id AS c0 FROM t1 ORDER BY id DESC NULLS LAST OFFSET 390",
            Some("SELECT id AS c0 FROM t1 ORDER BY id DESC NULLS LAST LIMIT -1 OFFSET 390"),
            &[Int],
            true,
        ),
    ];
    // SELECT *: the schema's column order and names.
    let mut star = q(
        "SELECT * FROM t3 ORDER BY id ASC NULLS LAST",
        None,
        &[Int, Int, Text, Float],
        true,
    );
    star.names = ["id", "k", "s", "d"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    all.push(star);
    all
}

// ---------------------------------------------------------------------------------------
// Values and comparison
// ---------------------------------------------------------------------------------------

#[derive(Clone, Debug)]
enum V {
    Null,
    Bool(bool),
    Int(i64),
    Num(f64),
    Text(String),
}

type Rows = Vec<Vec<V>>;

impl std::fmt::Display for V {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            V::Null => f.write_str("null"),
            V::Bool(b) => write!(f, "{b}"),
            V::Int(i) => write!(f, "{i}"),
            V::Num(x) => write!(f, "{x:?}"),
            V::Text(s) => write!(f, "{s:?}"),
        }
    }
}

fn num_close(a: f64, b: f64) -> bool {
    a == b || (a - b).abs() <= 1e-9 * a.abs().max(b.abs()) + 1e-6
}

fn v_eq(a: &V, b: &V) -> bool {
    match (a, b) {
        (V::Null, V::Null) => true,
        (V::Bool(x), V::Bool(y)) => x == y,
        (V::Int(x), V::Int(y)) => x == y,
        (V::Int(x), V::Num(y)) | (V::Num(y), V::Int(x)) => num_close(*x as f64, *y),
        (V::Num(x), V::Num(y)) => num_close(*x, *y),
        (V::Text(x), V::Text(y)) => x == y,
        _ => false,
    }
}

fn row_eq(a: &[V], b: &[V]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| v_eq(x, y))
}

/// Total order for multiset comparison: numbers by their full value, so that distinct
/// values sort the same way in both answers even when the tolerance would call them
/// equal (at 6e11 it allows a difference of 600).
fn sort_cmp(a: &[V], b: &[V]) -> std::cmp::Ordering {
    fn rank(v: &V) -> u8 {
        match v {
            V::Null => 0,
            V::Bool(_) => 1,
            V::Int(_) | V::Num(_) => 2,
            V::Text(_) => 3,
        }
    }
    fn num(v: &V) -> f64 {
        match v {
            V::Int(i) => *i as f64,
            V::Num(x) => *x,
            _ => 0.0,
        }
    }
    for (x, y) in a.iter().zip(b) {
        let o = rank(x).cmp(&rank(y)).then_with(|| match (x, y) {
            (V::Bool(p), V::Bool(q)) => p.cmp(q),
            (V::Text(p), V::Text(q)) => p.cmp(q),
            (V::Int(p), V::Int(q)) => p.cmp(q),
            _ => num(x).total_cmp(&num(y)),
        });
        if o.is_ne() {
            return o;
        }
    }
    a.len().cmp(&b.len())
}

/// How far apart two rows that `row_eq` calls equal are (for picking the closest).
fn row_distance(a: &[V], b: &[V]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(x, y)| match (x, y) {
            (V::Int(p), V::Num(q)) | (V::Num(q), V::Int(p)) => (*p as f64 - q).abs(),
            (V::Num(p), V::Num(q)) => (p - q).abs(),
            _ => 0.0,
        })
        .sum()
}

/// None when the answers agree; otherwise what differs.
fn compare(expected: &Rows, actual: &Rows, ordered: bool) -> Option<String> {
    if expected.len() != actual.len() {
        return Some(format!(
            "{} rows expected, {} returned",
            expected.len(),
            actual.len()
        ));
    }
    if ordered {
        for (i, (e, a)) in expected.iter().zip(actual).enumerate() {
            if !row_eq(e, a) {
                return Some(format!(
                    "row {i} differs: expected {}, got {}",
                    show_row(e),
                    show_row(a)
                ));
            }
        }
        return None;
    }
    let mut e: Vec<&Vec<V>> = expected.iter().collect();
    let mut a: Vec<&Vec<V>> = actual.iter().collect();
    e.sort_by(|x, y| sort_cmp(x, y));
    a.sort_by(|x, y| sort_cmp(x, y));
    if e.iter().zip(&a).all(|(x, y)| row_eq(x, y)) {
        return None;
    }
    // Rounding can swap nearly equal numbers: match the rows one by one, each with the
    // closest unused row, before calling it a difference.
    let mut used = vec![false; a.len()];
    for x in &e {
        let best = (0..a.len())
            .filter(|&j| !used[j] && row_eq(x, a[j]))
            .min_by(|&i, &j| row_distance(x, a[i]).total_cmp(&row_distance(x, a[j])));
        match best {
            Some(j) => used[j] = true,
            None => {
                return Some(format!(
                    "expected row {} is missing (multiset comparison)",
                    show_row(x)
                ))
            }
        }
    }
    None
}

fn show_row(r: &[V]) -> String {
    let cells: Vec<String> = r.iter().map(|v| v.to_string()).collect();
    format!("[{}]", cells.join(", "))
}

fn show_answer(r: &Result<Rows, String>) -> String {
    match r {
        Err(e) => format!("error: {e}"),
        Ok(rows) => {
            let mut s = format!("{} rows", rows.len());
            for row in rows.iter().take(12) {
                write!(s, "\n        {}", show_row(row)).unwrap();
            }
            if rows.len() > 12 {
                s.push_str("\n        ...");
            }
            s
        }
    }
}

/// A JSON value of a reply, checked against the PostgreSQL type of its column.
fn from_json(v: &Json, ty: Ty) -> Result<V, String> {
    if v.is_null() {
        return Ok(V::Null);
    }
    let bad = || Err(format!("{v} is not a {ty:?} value"));
    match ty {
        Ty::Int => match v.as_i64() {
            Some(i) if v.is_i64() || v.is_u64() => Ok(V::Int(i)),
            _ => bad(),
        },
        Ty::Num | Ty::Float => match v.as_f64() {
            Some(x) if v.is_number() => Ok(V::Num(x)),
            _ => bad(),
        },
        Ty::Text => match v.as_str() {
            Some(s) => Ok(V::Text(s.to_string())),
            None => bad(),
        },
        Ty::Bool => match v.as_bool() {
            Some(b) => Ok(V::Bool(b)),
            None => bad(),
        },
    }
}

/// A row as a JSON object with exactly the keys `names`, in order.
fn row_from_object(obj: &Json, q: &Query) -> Result<Vec<V>, String> {
    let Some(map) = obj.as_object() else {
        return Err(format!("row {obj} is not a JSON object"));
    };
    let keys: Vec<&String> = map.keys().collect();
    if keys.len() != q.names.len() || keys.iter().zip(&q.names).any(|(k, n)| *k != n) {
        return Err(format!(
            "row {obj} has keys {keys:?}, expected {:?} in that order",
            q.names
        ));
    }
    q.names
        .iter()
        .zip(&q.tys)
        .map(|(n, ty)| from_json(&map[n], *ty))
        .collect()
}

// ---------------------------------------------------------------------------------------
// The engines
// ---------------------------------------------------------------------------------------

fn lite_value(v: rusqlite::types::ValueRef, ty: Ty) -> Result<V, String> {
    use rusqlite::types::ValueRef;
    Ok(match (v, ty) {
        (ValueRef::Null, _) => V::Null,
        (ValueRef::Integer(i), Ty::Bool) => V::Bool(i != 0),
        (ValueRef::Integer(i), Ty::Int) => V::Int(i),
        (ValueRef::Integer(i), Ty::Num | Ty::Float) => V::Num(i as f64),
        (ValueRef::Real(x), Ty::Int | Ty::Num | Ty::Float) => V::Num(x),
        (ValueRef::Text(t), Ty::Text) => V::Text(String::from_utf8_lossy(t).into_owned()),
        (other, ty) => return Err(format!("SQLite returned {other:?} for a {ty:?} column")),
    })
}

fn run_lite(db: &rusqlite::Connection, q: &Query) -> Result<Rows, String> {
    let mut st = db.prepare(&q.lite).map_err(|e| e.to_string())?;
    let n = st.column_count();
    if n != q.tys.len() {
        return Err(format!("{n} columns, expected {}", q.tys.len()));
    }
    let mut rows = st.query([]).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    while let Some(r) = rows.next().map_err(|e| e.to_string())? {
        let mut row = Vec::with_capacity(n);
        for (i, ty) in q.tys.iter().enumerate() {
            row.push(lite_value(r.get_ref(i).map_err(|e| e.to_string())?, *ty)?);
        }
        out.push(row);
    }
    Ok(out)
}

fn sql(con: &mut redis::Connection, stmt: &str) -> Result<redis::Value, String> {
    match redis::cmd("SQL").arg(stmt).query::<redis::Value>(con) {
        Ok(redis::Value::ServerError(e)) => Err(format!("{e:?}")),
        Ok(v) => Ok(v),
        Err(e) if e.is_io_error() || e.is_timeout() || e.is_connection_dropped() => {
            Err(format!("{SERVER_GONE}: {e}"))
        }
        Err(e) => Err(e.to_string()),
    }
}

/// What an error from `sql` starts with when the connection broke.
const SERVER_GONE: &str = "no reply (connection broken or timed out)";

fn run_memflux(con: &mut redis::Connection, q: &Query) -> Result<Rows, String> {
    match sql(con, &q.pg)? {
        redis::Value::Array(items) => items
            .iter()
            .map(|item| match item {
                redis::Value::BulkString(b) => {
                    let v: Json = serde_json::from_slice(b).map_err(|e| {
                        format!("row {:?} is not JSON: {e}", String::from_utf8_lossy(b))
                    })?;
                    row_from_object(&v, q)
                }
                other => Err(format!("row reply {other:?} is not a bulk string")),
            })
            .collect(),
        other => Err(format!("reply {other:?} is not an array")),
    }
}

/// Runs the setup and every query through `psql` in one session; each query's rows come
/// back as one `json_agg` (PostgreSQL's JSON of numeric, float8, boolean and text is what
/// MemFlux replies with).
fn run_pg(psql: &str, setup: &[String], queries: &[Query]) -> Vec<Result<Rows, String>> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sqldiff.sql");
    let mut script = String::from("DROP TABLE IF EXISTS t1, t2, t3;\n");
    for s in setup {
        script.push_str(s);
        script.push_str(";\n");
    }
    let mut line_of = BTreeMap::new();
    let mut line = script.lines().count();
    for (i, q) in queries.iter().enumerate() {
        writeln!(script, "\\echo @@{i}").unwrap();
        writeln!(
            script,
            "SELECT coalesce(json_agg(x), '[]'::json) FROM ({}) x;",
            q.pg
        )
        .unwrap();
        line += 2;
        line_of.insert(line, i);
    }
    std::fs::write(&path, &script).unwrap();
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "{psql} -X -q -A -t -v ON_ERROR_STOP=0 -f {}",
            path.display()
        ))
        .output()
        .expect("run psql");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let mut results: Vec<Result<Rows, String>> = (0..queries.len())
        .map(|_| Err("no answer from psql".to_string()))
        .collect();
    let mut errors: BTreeMap<usize, String> = BTreeMap::new();
    for l in stderr.lines() {
        // psql:<file>:<line>: ERROR:  <message>
        if let Some(rest) = l.strip_prefix(&format!("psql:{}:", path.display())) {
            if let Some((n, msg)) = rest.split_once(':') {
                if let Some(&q) = n.parse::<usize>().ok().and_then(|n| line_of.get(&n)) {
                    errors.entry(q).or_insert_with(|| msg.trim().to_string());
                }
            }
        }
    }
    let mut current: Option<usize> = None;
    let mut text = String::new();
    let mut finish = |current: Option<usize>, text: &mut String| {
        if let Some(i) = current {
            results[i] = if text.trim().is_empty() {
                Err(errors
                    .get(&i)
                    .cloned()
                    .unwrap_or_else(|| "no result".into()))
            } else {
                match serde_json::from_str::<Json>(text.trim()) {
                    Ok(Json::Array(rows)) => rows
                        .iter()
                        .map(|r| row_from_object(r, &queries[i]))
                        .collect(),
                    Ok(other) => Err(format!("psql printed {other}")),
                    Err(e) => Err(format!("psql printed {text:?}: {e}")),
                }
            };
        }
        text.clear();
    };
    for l in stdout.lines() {
        if let Some(n) = l.strip_prefix("@@") {
            finish(current, &mut text);
            current = n.parse().ok();
        } else {
            text.push_str(l);
            text.push('\n');
        }
    }
    finish(current, &mut text);
    results
}

struct Tally {
    engine: &'static str,
    compared: usize,
    disagreements: usize,
    report: String,
}

impl Tally {
    fn new(engine: &'static str) -> Tally {
        Tally {
            engine,
            compared: 0,
            disagreements: 0,
            report: String::new(),
        }
    }

    /// Compares one answer with SQLite's; `third` is PostgreSQL's answer (when it ran),
    /// shown next to a disagreement to tell who is right.
    fn check(
        &mut self,
        seed: u64,
        i: usize,
        q: &Query,
        expected: &Result<Rows, String>,
        actual: &Result<Rows, String>,
        third: Option<&Result<Rows, String>>,
    ) {
        let Ok(exp) = expected else { return };
        self.compared += 1;
        let why = match actual {
            Err(e) => Some(format!("error: {e}")),
            Ok(act) => compare(exp, act, q.ordered),
        };
        if let Some(why) = why {
            self.disagreements += 1;
            if self.disagreements <= MAX_REPORTED {
                write!(
                    self.report,
                    "\n--- {} disagreement #{} (seed {seed}, query {i}, {}, {}):\n    {}\n",
                    self.engine,
                    self.disagreements,
                    q.kind,
                    if q.ordered { "ordered" } else { "multiset" },
                    q.pg
                )
                .unwrap();
                if q.lite != q.pg {
                    writeln!(self.report, "    SQLite text: {}", q.lite).unwrap();
                }
                writeln!(self.report, "    {why}").unwrap();
                writeln!(self.report, "    SQLite: {}", show_answer(expected)).unwrap();
                writeln!(self.report, "    {}: {}", self.engine, show_answer(actual)).unwrap();
                if let Some(pg) = third {
                    let agrees = |other: &Result<Rows, String>| match (pg, other) {
                        (Ok(p), Ok(o)) => compare(p, o, q.ordered).is_none(),
                        _ => false,
                    };
                    let verdict = match (agrees(expected), agrees(actual)) {
                        (true, _) => "agrees with SQLite",
                        (false, true) => "agrees with this engine",
                        (false, false) => "agrees with neither",
                    };
                    writeln!(
                        self.report,
                        "    PostgreSQL ({verdict}): {}",
                        show_answer(pg)
                    )
                    .unwrap();
                }
            }
        }
    }
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

#[test]
fn sql_differential() {
    let seed = match env("MEMFLUX_SQLDIFF_SEED").as_deref() {
        None => DEFAULT_SEED,
        Some("random") => fastrand::u64(..),
        Some(s) => s.parse().expect("MEMFLUX_SQLDIFF_SEED: a u64 or `random`"),
    };
    let n_queries: usize = env("MEMFLUX_SQLDIFF_QUERIES")
        .map(|s| s.parse().expect("MEMFLUX_SQLDIFF_QUERIES"))
        .unwrap_or(DEFAULT_QUERIES);
    eprintln!("sql_differential: seed {seed} (rerun with MEMFLUX_SQLDIFF_SEED={seed}), {n_queries} generated queries");

    let mut gen = Gen {
        rng: fastrand::Rng::with_seed(seed),
    };
    let tables = gen.tables();
    let mut setup: Vec<String> = Vec::new();
    let mut inserts: Vec<(String, usize)> = Vec::new();
    for t in &tables {
        setup.push(t.create());
        for (stmt, n) in t.inserts(50) {
            setup.push(stmt.clone());
            inserts.push((stmt, n));
        }
    }
    // The oracle, and the queries: a generated query SQLite refuses (SQLite folds
    // some constant ORDER BY keys into column positions, for one) is replaced by another
    // one; a refused regression query fails the test.
    let started = Instant::now();
    let lite = rusqlite::Connection::open_in_memory().unwrap();
    lite.execute_batch("PRAGMA case_sensitive_like = ON")
        .unwrap();
    lite.execute_batch("BEGIN").unwrap();
    for stmt in &setup {
        lite.execute_batch(stmt).unwrap();
    }
    lite.execute_batch("COMMIT").unwrap();
    let mut failures = String::new();
    let mut hard_failures = 0;
    let mut queries = Vec::new();
    let mut expected: Vec<Result<Rows, String>> = Vec::new();
    for q in regression_queries() {
        match run_lite(&lite, &q) {
            Ok(rows) => {
                queries.push(q);
                expected.push(Ok(rows));
            }
            Err(e) => {
                hard_failures += 1;
                writeln!(
                    failures,
                    "SQLite refused a regression query: {e}\n    {}",
                    q.lite
                )
                .unwrap()
            }
        }
    }
    let n_regression = queries.len();
    let mut refused = 0;
    while queries.len() < n_regression + n_queries {
        let q = gen.query(&tables);
        match run_lite(&lite, &q) {
            Ok(rows) => {
                queries.push(q);
                expected.push(Ok(rows));
            }
            Err(e) => {
                refused += 1;
                if refused <= 3 {
                    eprintln!("sql_differential: SQLite refused a generated query (replaced): {e}\n    {}", q.lite);
                }
                assert!(
                    refused <= n_queries / 20 + 10,
                    "SQLite refused {refused} generated queries"
                );
            }
        }
    }
    eprintln!(
        "sql_differential: SQLite answered {} queries in {:?} ({refused} generated queries it refused were replaced)",
        queries.len(),
        started.elapsed()
    );
    if let Some(path) = env("MEMFLUX_SQLDIFF_DUMP") {
        let mut s = format!("-- sql_differential seed {seed}\n");
        for stmt in &setup {
            writeln!(s, "{stmt};").unwrap();
        }
        for (i, q) in queries.iter().enumerate() {
            writeln!(
                s,
                "-- query {i} ({}, ordered: {})\n{};",
                q.kind, q.ordered, q.pg
            )
            .unwrap();
        }
        std::fs::write(&path, s).unwrap();
        eprintln!("sql_differential: wrote {path}");
    }

    let mut tallies = Vec::new();
    let pg_answers = env("MEMFLUX_SQLDIFF_PSQL").map(|psql| {
        let started = Instant::now();
        let answers = run_pg(&psql, &setup, &queries);
        let mut tally = Tally::new("PostgreSQL");
        for (i, q) in queries.iter().enumerate() {
            tally.check(seed, i, q, &expected[i], &answers[i], None);
        }
        eprintln!(
            "sql_differential: PostgreSQL answered {} queries in {:?}",
            queries.len(),
            started.elapsed()
        );
        tallies.push(tally);
        answers
    });
    if env("MEMFLUX_SQLDIFF_SKIP_MEMFLUX").is_none() {
        let started = Instant::now();
        let server = Server::start_with(2, &[]);
        let mut con = server.con();
        for t in &tables {
            assert_eq!(
                sql(&mut con, &t.create()),
                Ok(redis::Value::Okay),
                "{}",
                t.create()
            );
            // Both shards hold rows of every table.
            let mut per_shard = [0usize; 2];
            for row in &t.rows {
                let Lit::Int(id) = row[0] else { unreachable!() };
                let key = format!("{}:{id}", t.name);
                per_shard[memflux::shard::routing::shard_of(key.as_bytes(), 2)] += 1;
            }
            assert!(
                per_shard.iter().all(|&n| n > 0),
                "{}: rows per shard {per_shard:?}",
                t.name
            );
        }
        for (stmt, n) in &inserts {
            assert_eq!(
                sql(&mut con, stmt),
                Ok(redis::Value::Int(*n as i64)),
                "{}",
                &stmt[..stmt.len().min(200)]
            );
        }
        let only: Option<Vec<usize>> = env("MEMFLUX_SQLDIFF_ONLY").map(|v| {
            v.split(',')
                .map(|n| n.trim().parse().expect("MEMFLUX_SQLDIFF_ONLY"))
                .collect()
        });
        let mut tally = Tally::new("MemFlux");
        for (i, q) in queries.iter().enumerate() {
            if only.as_ref().is_some_and(|only| !only.contains(&i)) {
                continue;
            }
            let actual = run_memflux(&mut con, q);
            let gone = matches!(&actual, Err(e) if e.starts_with(SERVER_GONE));
            tally.check(
                seed,
                i,
                q,
                &expected[i],
                &actual,
                pg_answers.as_ref().map(|a| &a[i]),
            );
            if gone {
                writeln!(
                    failures,
                    "MemFlux stopped answering at query {i}; the remaining queries were not run"
                )
                .unwrap();
                hard_failures += 1;
                break;
            }
        }
        if hard_failures == 0 {
            // The server survived everything and still answers.
            let n: i64 = redis::cmd("DBSIZE")
                .query(&mut con)
                .expect("DBSIZE after the run");
            assert!(n >= 760, "DBSIZE {n}");
        }
        eprintln!(
            "sql_differential: MemFlux answered {} queries in {:?} (load included)",
            tally.compared,
            started.elapsed()
        );
        tallies.insert(0, tally);
    }

    let empty = expected
        .iter()
        .filter(|r| r.as_ref().is_ok_and(|r| r.is_empty()))
        .count();
    let rows: usize = expected
        .iter()
        .map(|r| r.as_ref().map_or(0, |r| r.len()))
        .sum();
    eprintln!(
        "sql_differential: SQLite returned {rows} rows in all; {empty} queries returned none"
    );
    let mut kinds: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for q in &queries {
        let e = kinds.entry(q.kind).or_default();
        e.0 += 1;
        e.1 += q.ordered as usize;
    }
    eprintln!(
        "sql_differential: {} queries ({n_regression} regression): {}",
        queries.len(),
        kinds
            .iter()
            .map(|(k, (n, o))| format!("{k} {n} ({o} ordered)"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let mut total = hard_failures;
    for t in &tallies {
        eprintln!(
            "sql_differential: {}: {} compared, {} disagreements",
            t.engine, t.compared, t.disagreements
        );
        total += t.disagreements;
        failures.push_str(&t.report);
        if t.disagreements > MAX_REPORTED {
            writeln!(failures, "... and {} more", t.disagreements - MAX_REPORTED).unwrap();
        }
    }
    assert!(
        total == 0,
        "sql_differential (seed {seed}): {total} disagreements\n{failures}"
    );
}

/// The comparison itself: what it lets through and what it catches.
#[test]
fn comparison_catches_differences() {
    use V::*;
    let q = |tys: &[Ty]| Query {
        pg: String::new(),
        lite: String::new(),
        names: (0..tys.len()).map(|i| format!("c{i}")).collect(),
        tys: tys.to_vec(),
        ordered: false,
        kind: "self-test",
    };
    let rows = vec![vec![Int(1), Text("a".into())], vec![Int(2), Null]];
    let swapped = vec![rows[1].clone(), rows[0].clone()];
    assert_eq!(
        compare(&rows, &swapped, false),
        None,
        "multisets ignore order"
    );
    assert!(
        compare(&rows, &swapped, true).is_some(),
        "ordered results do not"
    );
    assert!(
        compare(&rows, &rows[..1].to_vec(), false).is_some(),
        "a missing row"
    );
    let other = vec![
        vec![Int(1), Text("a".into())],
        vec![Int(2), Text("".into())],
    ];
    assert!(compare(&rows, &other, false).is_some(), "NULL is not ''");
    let dup = vec![rows[0].clone(), rows[0].clone()];
    assert!(compare(&rows, &dup, false).is_some(), "duplicates count");
    // Numbers: tolerance for NUMERIC/float, none for integers.
    assert_eq!(
        compare(
            &vec![vec![Num(2.5)]],
            &vec![vec![Num(2.5000000000001)]],
            true
        ),
        None
    );
    assert!(compare(&vec![vec![Num(2.5)]], &vec![vec![Num(2.51)]], true).is_some());
    assert!(compare(&vec![vec![Int(7)]], &vec![vec![Int(8)]], true).is_some());
    // Large values closer together than the tolerance pair up by value, in any order.
    let big = |xs: &[f64]| xs.iter().map(|x| vec![Int(1), Num(*x)]).collect::<Rows>();
    let exp = big(&[-618303953393.92, -618303952568.88, -618303953411.92]);
    let act = big(&[-618303953411.92, -618303953393.93, -618303952568.88]);
    assert_eq!(compare(&exp, &act, false), None);
    // Reply values are checked against the PostgreSQL type.
    let j = |t: &str| serde_json::from_str::<Json>(t).unwrap();
    let bool_col = q(&[Ty::Bool]);
    assert!(row_from_object(&j(r#"{"c0":true}"#), &bool_col).is_ok());
    assert!(row_from_object(&j(r#"{"c0":1}"#), &bool_col).is_err());
    let int_col = q(&[Ty::Int]);
    assert!(row_from_object(&j(r#"{"c0":2.0}"#), &int_col).is_err());
    assert!(row_from_object(&j(r#"{"c0":"2"}"#), &int_col).is_err());
    assert!(row_from_object(&j(r#"{"c0":5.00}"#), &q(&[Ty::Num])).is_ok());
    // Keys: exactly the aliases, in select-list order.
    let two = q(&[Ty::Int, Ty::Int]);
    assert!(row_from_object(&j(r#"{"c0":1,"c1":2}"#), &two).is_ok());
    assert!(row_from_object(&j(r#"{"c1":2,"c0":1}"#), &two).is_err());
    assert!(row_from_object(&j(r#"{"c0":1}"#), &two).is_err());
}
