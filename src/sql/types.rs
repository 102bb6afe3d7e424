//! Column types of a table schema: how a stored JSON value reads as a `Datum` of the
//! type, how a value is checked and coerced on write, and explicit casts (`CAST`, `::`).

use serde::{Deserialize, Serialize};
use serde_json::Value as Doc;

use super::error::SqlResult;
use super::value::Datum;

/// A column (or cast target) type. Serialized into the stored schema
/// (`_internal:schemas:<table>`), so variants may be added but never renamed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SqlType {
    SmallInt,
    Integer,
    BigInt,
    /// NUMERIC(precision, scale); `None` for unconstrained NUMERIC.
    Numeric(Option<(u8, u8)>),
    Real,
    Double,
    Text,
    /// VARCHAR(n); `None` for unconstrained VARCHAR.
    Varchar(Option<u32>),
    /// CHAR(n), blank-padded (CHAR alone is CHAR(1)).
    Char(u32),
    Boolean,
    Date,
    Time,
    Timestamp,
    TimestampTz,
    Uuid,
    Jsonb,
    Bytea,
}

impl SqlType {
    /// The type as SQL spells it: `integer`, `numeric(10,2)`, `character varying(20)`,
    /// `timestamp with time zone`... (PostgreSQL's names, used in errors and EXPLAIN).
    pub fn name(&self) -> String {
        todo!()
    }

    /// The stored JSON value of a column of this type as a `Datum` (strings of a DATE
    /// column become `Date`, numbers of a REAL column `Float`, ...). A stored value that
    /// does not fit the type (written by JSON.SET behind the schema's back) reads as
    /// `Datum::from_json` would read it.
    pub fn read(&self, doc: &Doc) -> Datum {
        let _ = doc;
        todo!()
    }

    /// Assignment coercion (INSERT/UPDATE values, DEFAULTs): what PostgreSQL accepts
    /// when storing `value` into a column of this type — numbers into any numeric type
    /// (range-checked: `smallint out of range`, rounded to NUMERIC's scale, precision
    /// checked: `numeric field overflow`), text literals parsed as the type (`invalid
    /// input syntax for type integer: "abc"`), VARCHAR(n) length checked (`value too
    /// long for type character varying(5)`), CHAR(n) padded. NULL stays NULL.
    pub fn coerce(&self, value: Datum) -> SqlResult<Datum> {
        let _ = value;
        todo!()
    }

    /// Explicit cast (`CAST(x AS t)`, `x::t`): everything `coerce` accepts, plus
    /// PostgreSQL's explicit casts (number to text, text to boolean, float to integer
    /// rounding, jsonb to text...). Refused casts: `cannot cast type boolean to date`.
    pub fn cast(&self, value: Datum) -> SqlResult<Datum> {
        let _ = value;
        todo!()
    }
}
