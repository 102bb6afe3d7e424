//! SQL values (`Datum`): what expressions compute and rows carry between shards.
//!
//! Reading a document: JSON numbers that fit an i64 are `Int`, other numbers `Numeric`
//! (as PostgreSQL's jsonb reads them), strings `Text`, booleans `Bool`, `null` `Null`,
//! objects and arrays `Json`. A table schema refines this (`types::SqlType::read`): a
//! DATE column's strings are `Date`, a REAL column's numbers `Float`...

use std::cmp::Ordering;

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use rust_decimal::Decimal;
use serde_json::Value as Doc;
use uuid::Uuid;

use super::error::SqlResult;

/// One SQL value. `Clone` is cheap except for text, bytes and documents.
///
/// `Eq` and `Hash` are *grouping* equality (GROUP BY, DISTINCT, hash joins, IN): numbers
/// compare by value across `Int`/`Numeric`/`Float`, NULL equals NULL, NaN equals NaN.
/// SQL comparison (`=`, `<`, with NULL and type errors) is `sql_cmp`.
#[derive(Clone, Debug)]
pub enum Datum {
    Null,
    Bool(bool),
    /// SMALLINT, INTEGER, BIGINT: all computed in 64 bits.
    Int(i64),
    /// NUMERIC / DECIMAL, and every non-integer literal (`1.5` is numeric, as in
    /// PostgreSQL).
    Numeric(Decimal),
    /// REAL, DOUBLE PRECISION.
    Float(f64),
    /// TEXT, VARCHAR, CHAR.
    Text(String),
    Date(NaiveDate),
    Time(NaiveTime),
    Timestamp(NaiveDateTime),
    TimestampTz(DateTime<Utc>),
    Uuid(Uuid),
    Bytea(Vec<u8>),
    /// JSONB: a nested object, array or any JSON value taken with `->`.
    Json(Box<Doc>),
}

impl Datum {
    pub fn is_null(&self) -> bool {
        matches!(self, Datum::Null)
    }

    /// WHERE/HAVING/ON/CASE truth: only `true` passes (NULL and false do not).
    pub fn is_true(&self) -> bool {
        matches!(self, Datum::Bool(true))
    }

    /// The value of a document field, without a schema (see the module notes).
    pub fn from_json(doc: &Doc) -> Datum {
        todo!("{doc}")
    }

    /// The value as JSON, for replies and storage: numbers as numbers (NUMERIC keeps its
    /// exact digits), dates/times/uuids/bytea as their PostgreSQL text form
    /// (`2024-01-31`, `2024-01-31 10:00:00`, `\x0102`), documents as they are.
    /// NaN and infinities become the strings `"NaN"`, `"Infinity"`, `"-Infinity"`.
    pub fn to_json(&self) -> Doc {
        todo!()
    }

    /// Appends the value as compact JSON text (as `to_json` would print it) — the reply
    /// path, which must not build a `Doc` per value.
    pub fn write_json(&self, out: &mut String) {
        let _ = out;
        todo!()
    }

    /// The PostgreSQL type name, for error messages (`integer`, `numeric`, `text`,
    /// `boolean`, `double precision`, `date`, `jsonb`...). `Null` is `unknown`.
    pub fn type_name(&self) -> &'static str {
        todo!()
    }

    /// SQL comparison: `Ok(None)` when either side is NULL; numbers compare across
    /// Int/Numeric/Float; text with text (byte order, as the C collation); dates with
    /// timestamps; other mixes are an error
    /// (`operator does not exist: integer = text`).
    pub fn sql_cmp(&self, other: &Datum) -> SqlResult<Option<Ordering>> {
        let _ = other;
        todo!()
    }

    /// Total order for ORDER BY, merges and MIN/MAX: as `sql_cmp` where that is defined;
    /// NULL sorts after everything (the caller applies NULLS FIRST/LAST and DESC); values
    /// of types `sql_cmp` refuses to compare order by a fixed rank of their types.
    pub fn sort_cmp(&self, other: &Datum) -> Ordering {
        let _ = other;
        todo!()
    }
}

impl PartialEq for Datum {
    fn eq(&self, other: &Self) -> bool {
        let _ = other;
        todo!()
    }
}

impl Eq for Datum {}

impl std::hash::Hash for Datum {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        let _ = state;
        todo!()
    }
}

impl std::fmt::Display for Datum {
    /// The value as a SQL literal would show it in EXPLAIN: `42`, `'text'`, `NULL`,
    /// `'2024-01-31'::date`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let _ = f;
        todo!()
    }
}
