//! Column types of a table schema: how a stored JSON value reads as a `Datum` of the
//! type, how a value is checked and coerced on write, and explicit casts (`CAST`, `::`).

use std::fmt::Write as _;

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};
use serde_json::Value as Doc;
use uuid::Uuid;

use super::error::{sql_bail, SqlError, SqlResult};
use super::numeric;
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

/// A stored NUMERIC(p, `scale`) value read straight from its f64. The general path
/// formats the f64 in its shortest decimal form, parses that and rounds it to the
/// scale. That decimal is within a few units in the last place of the f64, so when
/// `f * 10^scale` is well clear of a rounding midpoint (within 0.25 of an integer)
/// and small enough for those units to be tiny (below 10^14), both round to the same
/// integer: the one computed here without any formatting. Every value SQL wrote to
/// such a column is of that kind. Anything else: `None`.
#[inline]
fn scaled_numeric(f: f64, scale: u8) -> Option<Decimal> {
    const POW10: [f64; 15] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14,
    ];
    let p = *POW10.get(scale as usize)?;
    let m = f * p;
    let r = m.round();
    // The comparisons are false for NaN; a negative value that rounds to zero keeps
    // the general path's sign handling.
    let clear = r.abs() < 1e14 && (m - r).abs() < 0.25 && !(r == 0.0 && f.is_sign_negative());
    clear.then(|| Decimal::new(r as i64, scale as u32))
}

impl SqlType {
    /// The type as SQL spells it: `integer`, `numeric(10,2)`, `character varying(20)`,
    /// `timestamp with time zone`... (PostgreSQL's names, used in errors and EXPLAIN).
    pub fn name(&self) -> String {
        match self {
            SqlType::Numeric(Some((p, s))) => format!("numeric({p},{s})"),
            SqlType::Varchar(Some(n)) => format!("character varying({n})"),
            SqlType::Char(n) => format!("character({n})"),
            other => other.base_name().to_string(),
        }
    }

    /// The name without a type modifier (`numeric`, `character varying`), as PostgreSQL
    /// names cast targets in `cannot cast type boolean to numeric`.
    pub fn base_name(&self) -> &'static str {
        match self {
            SqlType::SmallInt => "smallint",
            SqlType::Integer => "integer",
            SqlType::BigInt => "bigint",
            SqlType::Numeric(_) => "numeric",
            SqlType::Real => "real",
            SqlType::Double => "double precision",
            SqlType::Text => "text",
            SqlType::Varchar(_) => "character varying",
            SqlType::Char(_) => "character",
            SqlType::Boolean => "boolean",
            SqlType::Date => "date",
            SqlType::Time => "time without time zone",
            SqlType::Timestamp => "timestamp without time zone",
            SqlType::TimestampTz => "timestamp with time zone",
            SqlType::Uuid => "uuid",
            SqlType::Jsonb => "jsonb",
            SqlType::Bytea => "bytea",
        }
    }

    /// The type a value of this `Datum` variant has when it is not text or a number
    /// (used to read a text literal compared with it).
    pub fn of_datum(d: &Datum) -> Option<SqlType> {
        Some(match d {
            Datum::Bool(_) => SqlType::Boolean,
            Datum::Int(_) => SqlType::BigInt,
            Datum::Numeric(_) => SqlType::Numeric(None),
            Datum::Float(_) => SqlType::Double,
            Datum::Text(_) => SqlType::Text,
            Datum::Date(_) => SqlType::Date,
            Datum::Time(_) => SqlType::Time,
            Datum::Timestamp(_) => SqlType::Timestamp,
            Datum::TimestampTz(_) => SqlType::TimestampTz,
            Datum::Uuid(_) => SqlType::Uuid,
            Datum::Bytea(_) => SqlType::Bytea,
            Datum::Json(_) => SqlType::Jsonb,
            Datum::Null => return None,
        })
    }

    /// The stored JSON value of a column of this type as a `Datum` (strings of a DATE
    /// column become `Date`, numbers of a REAL column `Float`, ...). A stored value that
    /// does not fit the type (written by JSON.SET behind the schema's back) reads as
    /// `Datum::from_json` would read it.
    pub fn read(&self, doc: &Doc) -> Datum {
        let fallback = || Datum::from_json(doc);
        match (self, doc) {
            (_, Doc::Null) => Datum::Null,
            (SqlType::Numeric(tm), Doc::Number(n)) => {
                if let (Some((_, scale)), Some(f)) = (tm, n.as_f64()) {
                    if let Some(d) = scaled_numeric(f, *scale) {
                        return Datum::Numeric(d);
                    }
                }
                let d = match Datum::from_json(doc) {
                    Datum::Int(i) => Decimal::from(i),
                    Datum::Numeric(d) => d,
                    _ => return Datum::Float(n.as_f64().unwrap_or(f64::NAN)),
                };
                match tm {
                    // Storage holds the nearest f64; the column's scale restores digits.
                    Some((_, s)) => numeric::round_scale(d, *s as i64)
                        .map(Datum::Numeric)
                        .unwrap_or_else(|_| fallback()),
                    None => Datum::Numeric(d),
                }
            }
            (SqlType::Real | SqlType::Double, Doc::Number(n)) => {
                Datum::Float(n.as_f64().unwrap_or(f64::NAN))
            }
            (SqlType::Real | SqlType::Double, Doc::String(s)) => {
                match parse_float(s, self.base_name()) {
                    Ok(f) if !f.is_finite() => Datum::Float(f),
                    _ => fallback(),
                }
            }
            (SqlType::Jsonb, d) => Datum::Json(Box::new(d.clone())),
            (
                SqlType::Date
                | SqlType::Time
                | SqlType::Timestamp
                | SqlType::TimestampTz
                | SqlType::Uuid
                | SqlType::Bytea,
                Doc::String(s),
            ) => self.cast_text(s).unwrap_or_else(|_| fallback()),
            _ => fallback(),
        }
    }

    /// Assignment coercion (INSERT/UPDATE values, DEFAULTs): what PostgreSQL accepts
    /// when storing `value` into a column of this type — numbers into any numeric type
    /// (range-checked: `smallint out of range`, rounded to NUMERIC's scale, precision
    /// checked: `numeric field overflow`), text literals parsed as the type (`invalid
    /// input syntax for type integer: "abc"`), VARCHAR(n) length checked (`value too
    /// long for type character varying(5)`), CHAR(n) padded. NULL stays NULL.
    ///
    /// A value of a type the column does not take fails with `column is of type integer
    /// but expression is of type boolean` (PostgreSQL names the column; the caller may).
    pub fn coerce(&self, value: Datum) -> SqlResult<Datum> {
        self.convert(value, false)
    }

    /// Explicit cast (`CAST(x AS t)`, `x::t`): everything `coerce` accepts, plus
    /// PostgreSQL's explicit casts (number to text, text to boolean, float to integer
    /// rounding, jsonb to text...). Refused casts: `cannot cast type boolean to date`.
    pub fn cast(&self, value: Datum) -> SqlResult<Datum> {
        self.convert(value, true)
    }

    /// Text read as this type (PostgreSQL's input function), with its errors.
    pub fn cast_text(&self, s: &str) -> SqlResult<Datum> {
        self.convert_text(s, true)
    }

    fn convert(&self, value: Datum, explicit: bool) -> SqlResult<Datum> {
        use SqlType as T;
        let refuse = |v: &Datum| -> SqlResult<Datum> {
            if explicit {
                sql_bail!("cannot cast type {} to {}", v.type_name(), self.base_name())
            } else {
                sql_bail!(
                    "column is of type {} but expression is of type {}",
                    self.name(),
                    v.type_name()
                )
            }
        };
        if value.is_null() {
            return Ok(Datum::Null);
        }
        if let Datum::Text(s) = &value {
            if !matches!(self, T::Text | T::Varchar(_) | T::Char(_)) {
                return self.convert_text(s, explicit);
            }
        }
        match self {
            T::SmallInt | T::Integer | T::BigInt => {
                let i = match value {
                    Datum::Int(i) => i,
                    Datum::Numeric(d) => numeric_to_i64(d).ok_or_else(|| self.out_of_range())?,
                    Datum::Float(f) => float_to_i64(f).ok_or_else(|| self.out_of_range())?,
                    Datum::Bool(b) if explicit && *self == T::Integer => b as i64,
                    Datum::Json(d) if explicit => return self.cast_jsonb_number(&d),
                    other => return refuse(&other),
                };
                self.check_int(i)
            }
            T::Numeric(tm) => {
                let d = match value {
                    Datum::Int(i) => Decimal::from(i),
                    Datum::Numeric(d) => d,
                    Datum::Float(f) => numeric::from_f64(f)?,
                    Datum::Json(d) if explicit => return self.cast_jsonb_number(&d),
                    other => return refuse(&other),
                };
                apply_numeric_typmod(d, *tm).map(Datum::Numeric)
            }
            T::Real | T::Double => {
                let f = match value {
                    Datum::Int(i) => i as f64,
                    Datum::Numeric(d) => numeric::to_f64(d),
                    Datum::Float(f) => f,
                    Datum::Json(d) if explicit => return self.cast_jsonb_number(&d),
                    other => return refuse(&other),
                };
                if *self == T::Real {
                    to_real(f).map(Datum::Float)
                } else {
                    Ok(Datum::Float(f))
                }
            }
            T::Text => Ok(Datum::Text(into_text(value))),
            T::Varchar(n) => {
                let s = into_text(value);
                match n {
                    Some(n) => fit_length(s, *n, explicit, self).map(Datum::Text),
                    None => Ok(Datum::Text(s)),
                }
            }
            T::Char(n) => {
                let mut s = fit_length(into_text(value), *n, explicit, self)?;
                let len = s.chars().count();
                for _ in len..*n as usize {
                    s.push(' ');
                }
                Ok(Datum::Text(s))
            }
            T::Boolean => match value {
                Datum::Bool(b) => Ok(Datum::Bool(b)),
                Datum::Int(i) if explicit => Ok(Datum::Bool(i != 0)),
                Datum::Json(d) if explicit => match *d {
                    Doc::Bool(b) => Ok(Datum::Bool(b)),
                    ref other => {
                        sql_bail!("cannot cast jsonb {} to type boolean", jsonb_kind(other))
                    }
                },
                other => refuse(&other),
            },
            T::Date => match value {
                Datum::Date(d) => Ok(Datum::Date(d)),
                Datum::Timestamp(ts) => Ok(Datum::Date(ts.date())),
                Datum::TimestampTz(ts) => Ok(Datum::Date(ts.date_naive())),
                other => refuse(&other),
            },
            T::Time => match value {
                Datum::Time(t) => Ok(Datum::Time(t)),
                Datum::Timestamp(ts) => Ok(Datum::Time(ts.time())),
                Datum::TimestampTz(ts) => Ok(Datum::Time(ts.naive_utc().time())),
                other => refuse(&other),
            },
            T::Timestamp => match value {
                Datum::Date(d) => Ok(Datum::Timestamp(d.and_time(NaiveTime::MIN))),
                Datum::Timestamp(ts) => Ok(Datum::Timestamp(ts)),
                Datum::TimestampTz(ts) => Ok(Datum::Timestamp(ts.naive_utc())),
                other => refuse(&other),
            },
            T::TimestampTz => match value {
                Datum::Date(d) => Ok(Datum::TimestampTz(d.and_time(NaiveTime::MIN).and_utc())),
                Datum::Timestamp(ts) => Ok(Datum::TimestampTz(ts.and_utc())),
                Datum::TimestampTz(ts) => Ok(Datum::TimestampTz(ts)),
                other => refuse(&other),
            },
            T::Uuid => match value {
                Datum::Uuid(u) => Ok(Datum::Uuid(u)),
                other => refuse(&other),
            },
            T::Jsonb => match value {
                Datum::Json(d) => Ok(Datum::Json(d)),
                other => refuse(&other),
            },
            T::Bytea => match value {
                Datum::Bytea(b) => Ok(Datum::Bytea(b)),
                other => refuse(&other),
            },
        }
    }

    /// Text into a non-string type: the type's input function.
    fn convert_text(&self, s: &str, explicit: bool) -> SqlResult<Datum> {
        use SqlType as T;
        match self {
            T::SmallInt | T::Integer | T::BigInt => {
                let i = parse_int(s, self.base_name())?;
                match self.check_int(i) {
                    Ok(d) => Ok(d),
                    Err(_) => sql_bail!(
                        "value \"{s}\" is out of range for type {}",
                        self.base_name()
                    ),
                }
            }
            T::Numeric(tm) => {
                let d = match numeric::parse_numeric(s) {
                    Ok(d) => d,
                    Err(numeric::NumParseError::Syntax) => {
                        sql_bail!("invalid input syntax for type numeric: \"{s}\"")
                    }
                    Err(numeric::NumParseError::Overflow) => return Err(numeric::overflow()),
                };
                apply_numeric_typmod(d, *tm).map(Datum::Numeric)
            }
            T::Real | T::Double => {
                let f = parse_float(s, self.base_name())?;
                if *self == T::Real {
                    match to_real(f) {
                        Ok(f) => Ok(Datum::Float(f)),
                        Err(_) => sql_bail!("\"{s}\" is out of range for type real"),
                    }
                } else {
                    Ok(Datum::Float(f))
                }
            }
            T::Text | T::Varchar(_) | T::Char(_) => {
                self.convert(Datum::Text(s.to_string()), explicit)
            }
            T::Boolean => parse_bool(s).map(Datum::Bool),
            T::Date => parse_date(s).map(Datum::Date),
            T::Time => parse_time(s).map(Datum::Time),
            T::Timestamp => parse_timestamp(s).map(Datum::Timestamp),
            T::TimestampTz => parse_timestamptz(s).map(Datum::TimestampTz),
            T::Uuid => parse_uuid(s).map(Datum::Uuid),
            T::Jsonb => parse_jsonb(s).map(|d| Datum::Json(Box::new(d))),
            T::Bytea => parse_bytea(s).map(Datum::Bytea),
        }
    }

    fn out_of_range(&self) -> SqlError {
        SqlError(format!("{} out of range", self.base_name()))
    }

    fn check_int(&self, i: i64) -> SqlResult<Datum> {
        let ok = match self {
            SqlType::SmallInt => i16::try_from(i).is_ok(),
            SqlType::Integer => i32::try_from(i).is_ok(),
            _ => true,
        };
        if ok {
            Ok(Datum::Int(i))
        } else {
            Err(self.out_of_range())
        }
    }

    /// jsonb → integer/numeric/float (PostgreSQL 11+): only jsonb numbers convert.
    fn cast_jsonb_number(&self, d: &Doc) -> SqlResult<Datum> {
        match d {
            Doc::Number(_) => self.convert(Datum::from_json(d), true),
            other => sql_bail!(
                "cannot cast jsonb {} to type {}",
                jsonb_kind(other),
                self.base_name()
            ),
        }
    }
}

fn jsonb_kind(d: &Doc) -> &'static str {
    match d {
        Doc::Null => "null",
        Doc::Bool(_) => "boolean",
        Doc::Number(_) => "numeric",
        Doc::String(_) => "string",
        Doc::Array(_) => "array",
        Doc::Object(_) => "object",
    }
}

fn into_text(v: Datum) -> String {
    match v {
        Datum::Text(s) => s,
        other => other.to_text().into_owned(),
    }
}

/// VARCHAR(n)/CHAR(n) length rule: an explicit cast truncates; assignment errors unless
/// the excess is all spaces (which PostgreSQL silently drops).
fn fit_length(s: String, n: u32, explicit: bool, ty: &SqlType) -> SqlResult<String> {
    let n = n as usize;
    match s.char_indices().nth(n) {
        None => Ok(s),
        Some((cut, _)) => {
            if explicit || s[cut..].bytes().all(|b| b == b' ') {
                let mut s = s;
                s.truncate(cut);
                Ok(s)
            } else {
                sql_bail!("value too long for type {}", ty.name())
            }
        }
    }
}

/// NUMERIC → integer: rounds half away from zero, as PostgreSQL.
fn numeric_to_i64(d: Decimal) -> Option<i64> {
    d.round_dp_with_strategy(0, RoundingStrategy::MidpointAwayFromZero)
        .to_i64()
}

/// float → integer: rounds half to even (rint), as PostgreSQL; NaN and out of range fail.
fn float_to_i64(f: f64) -> Option<i64> {
    let r = numeric::rint(f);
    // 2^63 is exactly representable; i64::MAX is not.
    if r.is_nan() || !(-9_223_372_036_854_775_808.0..9_223_372_036_854_775_808.0).contains(&r) {
        None
    } else {
        Some(r as i64)
    }
}

/// REAL: range-checked and rounded to float4 precision (kept as the f64 that prints as
/// the float4 prints, so 0.1::real shows `0.1`).
fn to_real(f: f64) -> SqlResult<f64> {
    if !f.is_finite() {
        return Ok(f);
    }
    let r = f as f32;
    if r.is_infinite() {
        sql_bail!("value out of range: overflow");
    }
    if r == 0.0 && f != 0.0 {
        sql_bail!("value out of range: underflow");
    }
    let mut s = numeric::StackStr::new();
    let _ = write!(s, "{r}");
    Ok(s.as_str().parse::<f64>().unwrap_or(r as f64))
}

/// NUMERIC(p,s): round half away from zero to s digits, then at most p - s integer
/// digits (`numeric field overflow`).
fn apply_numeric_typmod(d: Decimal, tm: Option<(u8, u8)>) -> SqlResult<Decimal> {
    let Some((p, s)) = tm else { return Ok(d) };
    let r = numeric::round_scale(d, s as i64)?;
    let int_digits = p as i64 - s as i64;
    let limit_ok = if int_digits <= 0 {
        r.trunc().is_zero()
            && (int_digits == 0 || {
                // NUMERIC(2,3): |value| < 10^-1.
                let mut lim = Decimal::ONE;
                lim.set_scale((-int_digits) as u32).is_ok() && r.abs() < lim
            })
    } else if int_digits >= 29 {
        true
    } else {
        let mut lim = Decimal::ONE;
        let mut ok = true;
        for _ in 0..int_digits {
            match lim.checked_mul(Decimal::TEN) {
                Some(v) => lim = v,
                None => ok = false,
            }
        }
        !ok || r.abs() < lim
    };
    if !limit_ok {
        sql_bail!("numeric field overflow");
    }
    Ok(r)
}

/// PostgreSQL's integer input: optional surrounding whitespace and sign, decimal digits.
pub fn parse_int(s: &str, type_name: &str) -> SqlResult<i64> {
    let t = s.trim_matches(|c: char| c.is_ascii_whitespace());
    let (neg, digits) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        sql_bail!("invalid input syntax for type {type_name}: \"{s}\"");
    }
    let mut v: i64 = 0;
    for b in digits.bytes() {
        let d = (b - b'0') as i64;
        v = match v.checked_mul(10).and_then(|v| {
            if neg {
                v.checked_sub(d)
            } else {
                v.checked_add(d)
            }
        }) {
            Some(v) => v,
            None => sql_bail!("value \"{s}\" is out of range for type {type_name}"),
        };
    }
    Ok(v)
}

/// PostgreSQL's float input: decimal or exponent form, NaN, [+-]Infinity/inf.
pub fn parse_float(s: &str, type_name: &str) -> SqlResult<f64> {
    let t = s.trim_matches(|c: char| c.is_ascii_whitespace());
    let lower = t.to_ascii_lowercase();
    match lower.as_str() {
        "nan" => return Ok(f64::NAN),
        "infinity" | "+infinity" | "inf" | "+inf" => return Ok(f64::INFINITY),
        "-infinity" | "-inf" => return Ok(f64::NEG_INFINITY),
        _ => {}
    }
    let valid = !lower.is_empty()
        && lower
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'+' | b'-' | b'.' | b'e'))
        && lower.bytes().any(|b| b.is_ascii_digit());
    let f: f64 = match valid.then(|| lower.parse::<f64>().ok()).flatten() {
        Some(f) => f,
        None => sql_bail!("invalid input syntax for type {type_name}: \"{s}\""),
    };
    let mantissa = lower.split('e').next().unwrap_or("");
    let nonzero = mantissa.bytes().any(|b| (b'1'..=b'9').contains(&b));
    if f.is_infinite() || (f == 0.0 && nonzero) {
        sql_bail!("\"{s}\" is out of range for type {type_name}");
    }
    Ok(f)
}

/// PostgreSQL's boolean input: t/true/y/yes/on/1 and f/false/n/no/off/0, any case,
/// unique prefixes accepted.
pub fn parse_bool(s: &str) -> SqlResult<bool> {
    let t = s
        .trim_matches(|c: char| c.is_ascii_whitespace())
        .to_ascii_lowercase();
    let prefix_of = |word: &str, min: usize| t.len() >= min && word.starts_with(t.as_str());
    if prefix_of("true", 1) || prefix_of("yes", 1) || prefix_of("on", 2) || t == "1" {
        Ok(true)
    } else if prefix_of("false", 1) || prefix_of("no", 1) || prefix_of("off", 2) || t == "0" {
        Ok(false)
    } else {
        sql_bail!("invalid input syntax for type boolean: \"{s}\"")
    }
}

/// The pieces of an ISO date/time text.
#[derive(Default, Debug)]
struct DtParts {
    date: Option<(i64, u32, u32)>,
    time: Option<(u32, u32, u32, u32)>, // h, m, s, micros (may be 1_000_000 after rounding)
    /// Zone offset east of UTC, in seconds.
    offset: Option<i32>,
}

#[derive(Debug)]
enum DtError {
    Syntax,
    Range,
}

struct Cursor<'a> {
    b: &'a [u8],
    i: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }
    fn eat(&mut self, c: u8) -> bool {
        if self.peek() == Some(c) {
            self.i += 1;
            true
        } else {
            false
        }
    }
    fn spaces(&mut self) -> bool {
        let start = self.i;
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.i += 1;
        }
        self.i > start
    }
    /// Up to `max` digits (at least one), as a number.
    fn number(&mut self, max: usize) -> Option<(u64, usize)> {
        let start = self.i;
        let mut v: u64 = 0;
        while let Some(c) = self.peek() {
            if !c.is_ascii_digit() || self.i - start >= max {
                break;
            }
            v = v * 10 + (c - b'0') as u64;
            self.i += 1;
        }
        (self.i > start).then_some((v, self.i - start))
    }
    fn rest_lower(&self) -> String {
        String::from_utf8_lossy(&self.b[self.i..]).to_ascii_lowercase()
    }
}

/// Parses `[YYYY-MM-DD][( |T)HH:MM[:SS[.ffffff]]][ ][zone][ BC|AD]`.
fn parse_dt(s: &str) -> Result<DtParts, DtError> {
    let mut c = Cursor {
        b: s.as_bytes(),
        i: 0,
    };
    let mut parts = DtParts::default();
    c.spaces();
    // A date starts with digits followed by '-'.
    let save = c.i;
    if let Some((y, _)) = c.number(9) {
        if c.eat(b'-') {
            let (m, _) = c.number(2).ok_or(DtError::Syntax)?;
            if !c.eat(b'-') {
                return Err(DtError::Syntax);
            }
            let (d, _) = c.number(2).ok_or(DtError::Syntax)?;
            parts.date = Some((y as i64, m as u32, d as u32));
            let sep = c.eat(b'T') || c.eat(b't') || c.spaces();
            if !sep {
                return if c.peek().is_none() {
                    Ok(parts)
                } else {
                    Err(DtError::Syntax)
                };
            }
        } else {
            c.i = save;
        }
    }
    // Time.
    let save = c.i;
    if let Some((h, _)) = c.number(2) {
        if c.eat(b':') {
            let (mi, mlen) = c.number(2).ok_or(DtError::Syntax)?;
            if mlen != 2 {
                return Err(DtError::Syntax);
            }
            let mut sec = 0;
            let mut micros = 0;
            if c.eat(b':') {
                let (sv, slen) = c.number(2).ok_or(DtError::Syntax)?;
                if slen != 2 {
                    return Err(DtError::Syntax);
                }
                sec = sv as u32;
                if c.eat(b'.') {
                    let start = c.i;
                    let mut n = 0u32;
                    let mut digits = 0;
                    let mut round_up = false;
                    while let Some(d) = c.peek().filter(u8::is_ascii_digit) {
                        if digits < 6 {
                            n = n * 10 + (d - b'0') as u32;
                        } else if digits == 6 {
                            round_up = d >= b'5';
                        }
                        digits += 1;
                        c.i += 1;
                    }
                    if c.i == start {
                        // "10:00:00." is accepted by PostgreSQL as no fraction.
                    }
                    for _ in digits.min(6)..6 {
                        n *= 10;
                    }
                    micros = n + round_up as u32;
                }
            }
            parts.time = Some((h as u32, mi as u32, sec, micros));
        } else {
            c.i = save;
        }
    }
    // Zone.
    c.spaces();
    let rest = c.rest_lower();
    let mut rest = rest.trim_end().to_string();
    let mut bc = false;
    if let Some(r) = rest.strip_suffix("bc") {
        bc = true;
        rest = r.trim_end().to_string();
    } else if let Some(r) = rest.strip_suffix("ad") {
        rest = r.trim_end().to_string();
    }
    if !rest.is_empty() {
        if parts.date.is_none() && parts.time.is_none() {
            return Err(DtError::Syntax);
        }
        parts.offset = Some(parse_offset(&rest).ok_or(DtError::Syntax)?);
    }
    if parts.date.is_none() && parts.time.is_none() {
        return Err(DtError::Syntax);
    }
    if bc {
        match parts.date.as_mut() {
            Some((y, _, _)) => *y = 1 - *y,
            None => return Err(DtError::Syntax),
        }
    }
    Ok(parts)
}

fn parse_offset(z: &str) -> Option<i32> {
    match z {
        "z" | "utc" | "gmt" | "zulu" => return Some(0),
        _ => {}
    }
    let (sign, rest) = match z.as_bytes().first()? {
        b'+' => (1, &z[1..]),
        b'-' => (-1, &z[1..]),
        _ => return None,
    };
    // Only digits and colons from here on (also keeps the byte splits below on char
    // boundaries).
    if !rest.bytes().all(|b| b.is_ascii_digit() || b == b':') {
        return None;
    }
    let fields: Vec<&str> = if rest.contains(':') {
        rest.split(':').collect()
    } else if rest.len() > 2 {
        // +HHMM or +HHMMSS
        let (h, m) = rest.split_at(rest.len().min(4).saturating_sub(2).max(1));
        let (m, s) = m.split_at(m.len().min(2));
        if s.is_empty() {
            vec![h, m]
        } else {
            vec![h, m, s]
        }
    } else {
        vec![rest]
    };
    if fields.is_empty() || fields.len() > 3 {
        return None;
    }
    let mut secs = 0i32;
    for (i, f) in fields.iter().enumerate() {
        if f.is_empty() || f.len() > 2 || !f.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let v: i32 = f.parse().ok()?;
        secs += v * [3600, 60, 1][i];
    }
    if secs > 15 * 3600 + 59 * 60 + 59 {
        return None;
    }
    Some(sign * secs)
}

fn mk_date((y, m, d): (i64, u32, u32)) -> Result<NaiveDate, DtError> {
    let y = i32::try_from(y).map_err(|_| DtError::Range)?;
    NaiveDate::from_ymd_opt(y, m, d).ok_or(DtError::Range)
}

/// The time of day, and whether it rolled over to the next day (24:00:00, or a
/// fraction rounded up to a whole minute past 23:59:59).
fn mk_time((h, m, s, us): (u32, u32, u32, u32)) -> Result<(NaiveTime, bool), DtError> {
    if m > 59 || s > 60 || h > 24 {
        return Err(DtError::Range);
    }
    let total = ((h as i64 * 60 + m as i64) * 60 + s as i64) * 1_000_000 + us as i64;
    let day = 86_400_000_000i64;
    if h == 24 && total > day {
        return Err(DtError::Range);
    }
    let (total, next) = if total >= day {
        (total - day, true)
    } else {
        (total, false)
    };
    let secs = (total / 1_000_000) as u32;
    let t =
        NaiveTime::from_num_seconds_from_midnight_opt(secs, ((total % 1_000_000) * 1000) as u32)
            .ok_or(DtError::Range)?;
    Ok((t, next))
}

fn dt_err(kind: DtError, type_name: &str, s: &str) -> SqlError {
    match kind {
        DtError::Syntax => SqlError(format!(
            "invalid input syntax for type {type_name}: \"{s}\""
        )),
        DtError::Range => SqlError(format!("date/time field value out of range: \"{s}\"")),
    }
}

/// Words PostgreSQL reads as a point in time.
fn special_time(s: &str) -> Option<NaiveDateTime> {
    let now = chrono::Utc::now().naive_utc();
    let today = now.date().and_time(NaiveTime::MIN);
    match s.trim().to_ascii_lowercase().as_str() {
        "epoch" => Some(chrono::DateTime::UNIX_EPOCH.naive_utc()),
        "now" => Some(now),
        "today" => Some(today),
        "tomorrow" => today.checked_add_signed(chrono::Duration::days(1)),
        "yesterday" => today.checked_sub_signed(chrono::Duration::days(1)),
        _ => None,
    }
}

fn parse_naive(s: &str, type_name: &str) -> SqlResult<(NaiveDateTime, Option<i32>)> {
    if let Some(t) = special_time(s) {
        return Ok((t, Some(0)));
    }
    let p = parse_dt(s).map_err(|e| dt_err(e, type_name, s))?;
    let date = p
        .date
        .ok_or_else(|| dt_err(DtError::Syntax, type_name, s))?;
    let date = mk_date(date).map_err(|e| dt_err(e, type_name, s))?;
    let (time, next) = match p.time {
        Some(t) => mk_time(t).map_err(|e| dt_err(e, type_name, s))?,
        None => (NaiveTime::MIN, false),
    };
    let mut ts = date.and_time(time);
    if next {
        ts = ts
            .checked_add_signed(chrono::Duration::days(1))
            .ok_or_else(|| dt_err(DtError::Range, type_name, s))?;
    }
    Ok((ts, p.offset))
}

/// DATE input: `YYYY-MM-DD` (a time part is read and dropped, as PostgreSQL).
pub fn parse_date(s: &str) -> SqlResult<NaiveDate> {
    parse_naive(s, "date").map(|(ts, _)| ts.date())
}

/// TIME input: `HH:MM[:SS[.ffffff]]`, or a timestamp text (its date dropped).
pub fn parse_time(s: &str) -> SqlResult<NaiveTime> {
    if let Some(t) = special_time(s) {
        return Ok(t.time());
    }
    let p = parse_dt(s).map_err(|e| dt_err(e, "time", s))?;
    let t = p.time.ok_or_else(|| dt_err(DtError::Syntax, "time", s))?;
    match mk_time(t) {
        Ok((t, false)) => Ok(t),
        // 24:00:00 has no NaiveTime.
        _ => Err(dt_err(DtError::Range, "time", s)),
    }
}

/// TIMESTAMP input: a zone offset, if any, is ignored (as PostgreSQL).
pub fn parse_timestamp(s: &str) -> SqlResult<NaiveDateTime> {
    parse_naive(s, "timestamp").map(|(ts, _)| ts)
}

/// TIMESTAMPTZ input: without an offset the session zone (UTC) applies.
pub fn parse_timestamptz(s: &str) -> SqlResult<DateTime<Utc>> {
    let name = "timestamp with time zone";
    let (ts, off) = parse_naive(s, name)?;
    let utc = ts
        .checked_sub_signed(chrono::Duration::seconds(off.unwrap_or(0) as i64))
        .ok_or_else(|| dt_err(DtError::Range, name, s))?;
    Ok(utc.and_utc())
}

/// UUID input: 32 hex digits, hyphenated or not, optionally in braces.
pub fn parse_uuid(s: &str) -> SqlResult<Uuid> {
    let t = s.trim();
    let inner = t
        .strip_prefix('{')
        .and_then(|r| r.strip_suffix('}'))
        .unwrap_or(t);
    if inner.len() != 32 && inner.len() != 36 {
        sql_bail!("invalid input syntax for type uuid: \"{s}\"");
    }
    Uuid::try_parse(inner)
        .map_err(|_| SqlError(format!("invalid input syntax for type uuid: \"{s}\"")))
}

pub fn parse_jsonb(s: &str) -> SqlResult<Doc> {
    serde_json::from_str(s).map_err(|_| SqlError::new("invalid input syntax for type json"))
}

/// BYTEA input: hex (`\x0102`) or the escape format (`abc`, `\\`, `\001`).
pub fn parse_bytea(s: &str) -> SqlResult<Vec<u8>> {
    let b = s.as_bytes();
    if let Some(hex) = s.strip_prefix("\\x").or_else(|| s.strip_prefix("\\X")) {
        let mut out = Vec::with_capacity(hex.len() / 2);
        let mut it = hex.bytes().filter(|c| !c.is_ascii_whitespace());
        while let Some(h) = it.next() {
            let hv = hex_val(h)?;
            let l = match it.next() {
                Some(l) => hex_val(l)?,
                None => sql_bail!("invalid hexadecimal data: odd number of digits"),
            };
            out.push(hv << 4 | l);
        }
        return Ok(out);
    }
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'\\' {
            out.push(b[i]);
            i += 1;
        } else if b.get(i + 1) == Some(&b'\\') {
            out.push(b'\\');
            i += 2;
        } else if i + 3 < b.len()
            && (b'0'..=b'3').contains(&b[i + 1])
            && (b'0'..=b'7').contains(&b[i + 2])
            && (b'0'..=b'7').contains(&b[i + 3])
        {
            out.push((b[i + 1] - b'0') * 64 + (b[i + 2] - b'0') * 8 + (b[i + 3] - b'0'));
            i += 4;
        } else {
            sql_bail!("invalid input syntax for type bytea");
        }
    }
    Ok(out)
}

fn hex_val(c: u8) -> SqlResult<u8> {
    match c {
        b'0'..=b'9' => Ok(c - b'0'),
        b'a'..=b'f' => Ok(c - b'a' + 10),
        b'A'..=b'F' => Ok(c - b'A' + 10),
        _ => sql_bail!("invalid hexadecimal digit: \"{}\"", c as char),
    }
}

#[cfg(test)]
mod tests {

    /// The direct read of a NUMERIC(p,s) column agrees with the general path (shortest
    /// form, parse, round) wherever it answers, and answers for values SQL writes.
    #[test]
    fn scaled_numeric_read_matches_the_general_path() {
        let general = |f: f64, s: u8| {
            let d = match Datum::from_json(&Doc::from(f)) {
                Datum::Numeric(d) => d,
                Datum::Int(i) => Decimal::from(i),
                other => panic!("{other:?}"),
            };
            numeric::round_scale(d, s as i64).unwrap()
        };
        for (f, s) in [
            (967.13, 2),
            (0.1 + 0.2, 2),
            (-12.5, 1),
            (1e11 + 0.25, 2),
            (0.0, 3),
            (42.0, 0),
            (-0.01, 2),
            (123456.789, 3),
        ] {
            let d = scaled_numeric(f, s).unwrap_or_else(|| panic!("{f} at scale {s}"));
            assert_eq!(d, general(f, s), "{f} at scale {s}");
            assert_eq!(d.to_string(), general(f, s).to_string(), "{f} at scale {s}");
        }
        // Near a midpoint, past 10^14, or beyond 14 decimals, the general path decides.
        for (f, s) in [(1.005, 2), (0.125, 2), (1e15, 1), (1.0, 15), (-0.001, 2)] {
            assert_eq!(scaled_numeric(f, s), None, "{f} at scale {s}");
        }
        let mut x: u64 = 0x9e3779b97f4a7c15;
        for _ in 0..100_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let s = (x % 7) as u8;
            let f = ((x >> 8) % 2_000_000_000) as f64 / 10f64.powi((x >> 40) as i32 % 9) - 1e3;
            if let Some(d) = scaled_numeric(f, s) {
                assert_eq!(d, general(f, s), "{f} at scale {s}");
            }
        }
    }

    use super::*;
    use serde_json::json;

    fn dec(s: &str) -> Decimal {
        s.parse().unwrap()
    }
    fn text(s: &str) -> Datum {
        Datum::Text(s.into())
    }
    fn shown(r: SqlResult<Datum>) -> String {
        match r {
            Ok(d) => {
                let mut s = String::new();
                d.write_json(&mut s);
                s
            }
            Err(e) => format!("ERR {e}"),
        }
    }
    fn cast(t: SqlType, d: Datum) -> String {
        shown(t.cast(d))
    }
    fn coerce(t: SqlType, d: Datum) -> String {
        shown(t.coerce(d))
    }

    #[test]
    fn names() {
        assert_eq!(SqlType::Integer.name(), "integer");
        assert_eq!(SqlType::Numeric(Some((10, 2))).name(), "numeric(10,2)");
        assert_eq!(SqlType::Numeric(None).name(), "numeric");
        assert_eq!(SqlType::Varchar(Some(20)).name(), "character varying(20)");
        assert_eq!(SqlType::Varchar(None).name(), "character varying");
        assert_eq!(SqlType::Char(1).name(), "character(1)");
        assert_eq!(SqlType::TimestampTz.name(), "timestamp with time zone");
        assert_eq!(SqlType::Double.name(), "double precision");
    }

    #[test]
    fn integer_coercion_and_ranges() {
        assert_eq!(
            coerce(SqlType::SmallInt, Datum::Int(40000)),
            "ERR smallint out of range"
        );
        assert_eq!(
            coerce(SqlType::Integer, Datum::Int(1 << 40)),
            "ERR integer out of range"
        );
        assert_eq!(
            coerce(SqlType::BigInt, Datum::Int(1 << 40)),
            "1099511627776"
        );
        assert_eq!(
            coerce(SqlType::Integer, text("abc")),
            "ERR invalid input syntax for type integer: \"abc\""
        );
        assert_eq!(
            coerce(SqlType::Integer, text("99999999999")),
            "ERR value \"99999999999\" is out of range for type integer"
        );
        assert_eq!(
            coerce(SqlType::BigInt, text("1.5")),
            "ERR invalid input syntax for type bigint: \"1.5\""
        );
        assert_eq!(coerce(SqlType::Integer, text(" -12 ")), "-12");
        assert_eq!(coerce(SqlType::Integer, text("+7")), "7");
        assert_eq!(
            coerce(SqlType::BigInt, text("-9223372036854775808")),
            "-9223372036854775808"
        );
        // numeric → int rounds half away from zero; float → int half to even.
        assert_eq!(cast(SqlType::Integer, Datum::Numeric(dec("2.5"))), "3");
        assert_eq!(cast(SqlType::Integer, Datum::Numeric(dec("-2.5"))), "-3");
        assert_eq!(cast(SqlType::Integer, Datum::Float(2.5)), "2");
        assert_eq!(cast(SqlType::Integer, Datum::Float(3.5)), "4");
        assert_eq!(
            cast(SqlType::Integer, Datum::Float(1e10)),
            "ERR integer out of range"
        );
        assert_eq!(
            cast(SqlType::Integer, Datum::Float(f64::NAN)),
            "ERR integer out of range"
        );
        assert_eq!(
            cast(SqlType::BigInt, Datum::Float(9.3e18)),
            "ERR bigint out of range"
        );
        assert_eq!(cast(SqlType::Integer, Datum::Bool(true)), "1");
        assert_eq!(
            cast(SqlType::BigInt, Datum::Bool(true)),
            "ERR cannot cast type boolean to bigint"
        );
        assert_eq!(
            coerce(SqlType::Integer, Datum::Bool(true)),
            "ERR column is of type integer but expression is of type boolean"
        );
        assert_eq!(cast(SqlType::Integer, Datum::Null), "null");
    }

    #[test]
    fn numeric_typmod() {
        let n = SqlType::Numeric(Some((5, 2)));
        assert_eq!(coerce(n, Datum::Numeric(dec("2.5"))), "2.50");
        assert_eq!(coerce(n, Datum::Numeric(dec("2.345"))), "2.35");
        assert_eq!(coerce(n, Datum::Numeric(dec("-2.345"))), "-2.35");
        assert_eq!(coerce(n, Datum::Int(999)), "999.00");
        assert_eq!(coerce(n, Datum::Int(1000)), "ERR numeric field overflow");
        assert_eq!(
            coerce(n, Datum::Numeric(dec("999.995"))),
            "ERR numeric field overflow"
        );
        assert_eq!(coerce(n, Datum::Float(1.5)), "1.50");
        assert_eq!(coerce(n, text("12345.678")), "ERR numeric field overflow");
        assert_eq!(
            coerce(n, text("x")),
            "ERR invalid input syntax for type numeric: \"x\""
        );
        assert_eq!(coerce(SqlType::Numeric(None), text(" 1.5e3 ")), "1500");
        assert_eq!(
            coerce(SqlType::Numeric(Some((3, 3))), Datum::Numeric(dec("0.5"))),
            "0.500"
        );
        assert_eq!(
            coerce(SqlType::Numeric(Some((3, 3))), Datum::Int(1)),
            "ERR numeric field overflow"
        );
        assert_eq!(
            coerce(SqlType::Numeric(Some((4, 0))), Datum::Numeric(dec("12.5"))),
            "13"
        );
    }

    #[test]
    fn floats() {
        assert_eq!(coerce(SqlType::Double, Datum::Int(3)), "3");
        assert_eq!(coerce(SqlType::Real, Datum::Numeric(dec("0.1"))), "0.1");
        assert_eq!(
            coerce(SqlType::Real, Datum::Float(1e300)),
            "ERR value out of range: overflow"
        );
        assert_eq!(coerce(SqlType::Double, text("NaN")), "\"NaN\"");
        assert_eq!(coerce(SqlType::Double, text("-inf")), "\"-Infinity\"");
        assert_eq!(
            coerce(SqlType::Double, text("1e400")),
            "ERR \"1e400\" is out of range for type double precision"
        );
        assert_eq!(
            coerce(SqlType::Double, text("x")),
            "ERR invalid input syntax for type double precision: \"x\""
        );
        assert_eq!(
            cast(SqlType::Numeric(None), Datum::Float(1.0 / 3.0)),
            "0.333333333333333"
        );
    }

    #[test]
    fn strings() {
        let v5 = SqlType::Varchar(Some(5));
        assert_eq!(
            coerce(v5, text("abcdef")),
            "ERR value too long for type character varying(5)"
        );
        assert_eq!(coerce(v5, text("abc  ")), "\"abc  \"");
        assert_eq!(coerce(v5, text("abcde   ")), "\"abcde\"");
        assert_eq!(cast(SqlType::Varchar(Some(3)), text("abcdef")), "\"abc\"");
        assert_eq!(coerce(v5, text("ééééé")), "\"ééééé\"");
        assert_eq!(coerce(SqlType::Char(4), text("ab")), "\"ab  \"");
        assert_eq!(
            coerce(SqlType::Char(2), text("abc")),
            "ERR value too long for type character(2)"
        );
        assert_eq!(cast(SqlType::Text, Datum::Int(5)), "\"5\"");
        assert_eq!(cast(SqlType::Text, Datum::Bool(true)), "\"true\"");
        assert_eq!(cast(SqlType::Text, Datum::Numeric(dec("1.50"))), "\"1.50\"");
        assert_eq!(
            cast(SqlType::Text, Datum::Json(Box::new(json!({"a": [1, 2]})))),
            r#""{\"a\": [1, 2]}""#
        );
        assert_eq!(coerce(SqlType::Text, Datum::Int(5)), "\"5\"");
    }

    #[test]
    fn booleans() {
        for t in ["t", "TRUE", "yes", "on", "1", " y ", "tru"] {
            assert_eq!(coerce(SqlType::Boolean, text(t)), "true", "{t}");
        }
        for f in ["f", "false", "no", "off", "0", "of", "N"] {
            assert_eq!(coerce(SqlType::Boolean, text(f)), "false", "{f}");
        }
        for bad in ["o", "x", "", "2", "truee"] {
            assert_eq!(
                coerce(SqlType::Boolean, text(bad)),
                format!("ERR invalid input syntax for type boolean: \"{bad}\"")
            );
        }
        assert_eq!(cast(SqlType::Boolean, Datum::Int(5)), "true");
        assert_eq!(cast(SqlType::Boolean, Datum::Int(0)), "false");
        assert_eq!(
            cast(SqlType::Date, Datum::Bool(true)),
            "ERR cannot cast type boolean to date"
        );
    }

    #[test]
    fn dates_and_times() {
        let c = |t: SqlType, s: &str| cast(t, text(s));
        assert_eq!(c(SqlType::Date, "2024-01-31"), "\"2024-01-31\"");
        assert_eq!(c(SqlType::Date, " 2024-1-5 "), "\"2024-01-05\"");
        assert_eq!(c(SqlType::Date, "2024-01-31 10:00"), "\"2024-01-31\"");
        assert_eq!(
            c(SqlType::Date, "x"),
            "ERR invalid input syntax for type date: \"x\""
        );
        assert_eq!(
            c(SqlType::Date, "2024-02-30"),
            "ERR date/time field value out of range: \"2024-02-30\""
        );
        assert_eq!(c(SqlType::Date, "0044-03-15 BC"), "\"0044-03-15 BC\"");
        assert_eq!(c(SqlType::Time, "10:00"), "\"10:00:00\"");
        assert_eq!(c(SqlType::Time, "10:00:00.5"), "\"10:00:00.5\"");
        assert_eq!(c(SqlType::Time, "10:00:00.123"), "\"10:00:00.123\"");
        assert_eq!(
            c(SqlType::Time, "x"),
            "ERR invalid input syntax for type time: \"x\""
        );
        assert_eq!(
            c(SqlType::Time, "25:00"),
            "ERR date/time field value out of range: \"25:00\""
        );
        assert_eq!(
            c(SqlType::Timestamp, "2024-01-31 10:00:00"),
            "\"2024-01-31 10:00:00\""
        );
        assert_eq!(
            c(SqlType::Timestamp, "2024-01-31T10:00:00"),
            "\"2024-01-31 10:00:00\""
        );
        assert_eq!(
            c(SqlType::Timestamp, "2024-01-31"),
            "\"2024-01-31 00:00:00\""
        );
        assert_eq!(
            c(SqlType::Timestamp, "2024-01-31T10:00:00.1234567"),
            "\"2024-01-31 10:00:00.123457\""
        );
        assert_eq!(
            c(SqlType::Timestamp, "2024-01-31 23:59:59.9999999"),
            "\"2024-02-01 00:00:00\""
        );
        assert_eq!(
            c(SqlType::Timestamp, "2024-01-31 10:00+05:30"),
            "\"2024-01-31 10:00:00\""
        );
        assert_eq!(
            c(SqlType::Timestamp, "2024-01-31 24:00:00"),
            "\"2024-02-01 00:00:00\""
        );
        assert_eq!(
            c(SqlType::Timestamp, "x"),
            "ERR invalid input syntax for type timestamp: \"x\""
        );
        assert_eq!(
            c(SqlType::TimestampTz, "2024-01-31 10:00:00+02"),
            "\"2024-01-31 08:00:00+00\""
        );
        assert_eq!(
            c(SqlType::TimestampTz, "2024-01-31 10:00:00.5+01:30"),
            "\"2024-01-31 08:30:00.5+00\""
        );
        assert_eq!(
            c(SqlType::TimestampTz, "2024-01-31"),
            "\"2024-01-31 00:00:00+00\""
        );
        assert_eq!(
            c(SqlType::TimestampTz, "2024-01-31 10:00:00Z"),
            "\"2024-01-31 10:00:00+00\""
        );
        assert_eq!(
            c(SqlType::TimestampTz, "2024-01-31 10:00:00 UTC"),
            "\"2024-01-31 10:00:00+00\""
        );
        assert_eq!(
            c(SqlType::TimestampTz, "2024-01-31 10:00:00 +0530"),
            "\"2024-01-31 04:30:00+00\""
        );
        assert_eq!(
            c(SqlType::TimestampTz, "x"),
            "ERR invalid input syntax for type timestamp with time zone: \"x\""
        );
        assert_eq!(c(SqlType::Timestamp, "epoch"), "\"1970-01-01 00:00:00\"");
        let ts = SqlType::Timestamp
            .cast(text("2024-01-31 10:30:00"))
            .unwrap();
        assert_eq!(cast(SqlType::Date, ts.clone()), "\"2024-01-31\"");
        assert_eq!(cast(SqlType::Time, ts.clone()), "\"10:30:00\"");
        assert_eq!(cast(SqlType::TimestampTz, ts), "\"2024-01-31 10:30:00+00\"");
        let d = SqlType::Date.cast(text("2024-01-31")).unwrap();
        assert_eq!(coerce(SqlType::Timestamp, d), "\"2024-01-31 00:00:00\"");
    }

    #[test]
    fn uuid_jsonb_bytea() {
        assert_eq!(
            cast(SqlType::Uuid, text("A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11")),
            "\"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11\""
        );
        assert_eq!(
            cast(SqlType::Uuid, text("{a0eebc999c0b4ef8bb6d6bb9bd380a11}")),
            "\"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11\""
        );
        assert_eq!(
            cast(SqlType::Uuid, text("x")),
            "ERR invalid input syntax for type uuid: \"x\""
        );
        assert_eq!(
            cast(SqlType::Jsonb, text(r#"{"a": [1, 2]}"#)),
            r#"{"a":[1,2]}"#
        );
        assert_eq!(
            cast(SqlType::Jsonb, text("x")),
            "ERR invalid input syntax for type json"
        );
        assert_eq!(
            cast(SqlType::Jsonb, Datum::Int(1)),
            "ERR cannot cast type integer to jsonb"
        );
        assert_eq!(cast(SqlType::Integer, Datum::Json(Box::new(json!(5)))), "5");
        assert_eq!(
            cast(SqlType::Numeric(None), Datum::Json(Box::new(json!(2.5)))),
            "2.5"
        );
        assert_eq!(
            cast(SqlType::Integer, Datum::Json(Box::new(json!("5")))),
            "ERR cannot cast jsonb string to type integer"
        );
        assert_eq!(
            cast(SqlType::Boolean, Datum::Json(Box::new(json!(true)))),
            "true"
        );
        assert_eq!(cast(SqlType::Bytea, text("\\x0102")), r#""\\x0102""#);
        assert_eq!(cast(SqlType::Bytea, text("abc")), r#""\\x616263""#);
        assert_eq!(
            cast(SqlType::Bytea, text("a\\\\b\\001")),
            r#""\\x615c6201""#
        );
        assert_eq!(
            cast(SqlType::Bytea, text("\\x012")),
            "ERR invalid hexadecimal data: odd number of digits"
        );
        assert_eq!(
            cast(SqlType::Bytea, text("a\\")),
            "ERR invalid input syntax for type bytea"
        );
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]
        /// No input text makes any type's input function panic.
        #[test]
        fn text_input_never_panics(s in "\\PC{0,24}", t in "[0-9 :+\\-.TtZzBCbcé]{0,30}") {
            for ty in [
                SqlType::SmallInt, SqlType::Integer, SqlType::BigInt,
                SqlType::Numeric(None), SqlType::Numeric(Some((5, 2))), SqlType::Real,
                SqlType::Double, SqlType::Varchar(Some(3)), SqlType::Char(2),
                SqlType::Boolean, SqlType::Date, SqlType::Time, SqlType::Timestamp,
                SqlType::TimestampTz, SqlType::Uuid, SqlType::Jsonb, SqlType::Bytea,
            ] {
                let _ = ty.cast(text(&s));
                let _ = ty.coerce(text(&t));
                let _ = ty.read(&Doc::String(t.clone()));
            }
        }
    }

    #[test]
    fn schema_aware_read() {
        assert_eq!(
            shown(Ok(SqlType::Numeric(Some((5, 2))).read(&json!(2.5)))),
            "2.50"
        );
        assert!(matches!(
            SqlType::Numeric(None).read(&json!(5)),
            Datum::Numeric(_)
        ));
        assert!(matches!(SqlType::Real.read(&json!(5)), Datum::Float(f) if f == 5.0));
        assert!(matches!(SqlType::Double.read(&json!("NaN")), Datum::Float(f) if f.is_nan()));
        assert!(matches!(
            SqlType::Date.read(&json!("2024-01-31")),
            Datum::Date(_)
        ));
        assert!(matches!(SqlType::Date.read(&json!("nope")), Datum::Text(_)));
        assert!(matches!(
            SqlType::TimestampTz.read(&json!("2024-01-31 10:00:00+00")),
            Datum::TimestampTz(_)
        ));
        assert!(matches!(
            SqlType::Uuid.read(&json!("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11")),
            Datum::Uuid(_)
        ));
        assert!(matches!(SqlType::Jsonb.read(&json!(5)), Datum::Json(_)));
        assert!(matches!(SqlType::Jsonb.read(&json!(null)), Datum::Null));
        assert!(matches!(SqlType::Bytea.read(&json!("\\x01")), Datum::Bytea(b) if b == vec![1]));
        assert!(matches!(SqlType::Integer.read(&json!("7")), Datum::Text(_)));
        assert!(matches!(SqlType::Integer.read(&json!(7)), Datum::Int(7)));
        // Round trip through storage JSON.
        for (t, v) in [
            (SqlType::Date, "2024-01-31"),
            (SqlType::Time, "10:00:00.5"),
            (SqlType::Timestamp, "2024-01-31 10:00:00.25"),
            (SqlType::TimestampTz, "2024-01-31 10:00:00+00"),
            (SqlType::Bytea, "\\x00ff"),
        ] {
            let d = t.cast(text(v)).unwrap();
            assert_eq!(t.read(&d.to_json()), d, "{v}");
        }
    }
}
