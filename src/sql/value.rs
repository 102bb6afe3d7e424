//! SQL values (`Datum`): what expressions compute and rows carry between shards.
//!
//! Reading a document: JSON numbers that fit an i64 are `Int`, other numbers `Numeric`
//! (as PostgreSQL's jsonb reads them), strings `Text`, booleans `Bool`, `null` `Null`,
//! objects and arrays `Json`. A table schema refines this (`types::SqlType::read`): a
//! DATE column's strings are `Date`, a REAL column's numbers `Float`...

use std::borrow::Cow;
use std::cmp::Ordering;
use std::fmt::Write as _;
use std::hash::{Hash, Hasher};

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, NaiveTime, Timelike, Utc};
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;
use serde_json::Value as Doc;
use uuid::Uuid;

use super::error::{sql_bail, SqlResult};
use super::numeric;
use super::types::SqlType;

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
        match doc {
            Doc::Null => Datum::Null,
            Doc::Bool(b) => Datum::Bool(*b),
            Doc::Number(n) => number_from_json(n),
            Doc::String(s) => Datum::Text(s.clone()),
            Doc::Array(_) | Doc::Object(_) => Datum::Json(Box::new(doc.clone())),
        }
    }

    /// The value as JSON, for replies and storage: numbers as numbers (NUMERIC keeps its
    /// exact digits), dates/times/uuids/bytea as their PostgreSQL text form
    /// (`2024-01-31`, `2024-01-31 10:00:00`, `\x0102`), documents as they are.
    /// NaN and infinities become the strings `"NaN"`, `"Infinity"`, `"-Infinity"`.
    ///
    /// serde_json here has no arbitrary-precision numbers, so a NUMERIC with a fraction
    /// becomes the nearest f64 (`2.50` is stored as `2.5`; a NUMERIC(p,s) column's `read`
    /// restores the scale). `write_json` prints the exact digits.
    pub fn to_json(&self) -> Doc {
        match self {
            Datum::Null => Doc::Null,
            Datum::Bool(b) => Doc::Bool(*b),
            Datum::Int(i) => Doc::from(*i),
            Datum::Numeric(d) => {
                if d.fract().is_zero() {
                    if let Some(i) = d.to_i64() {
                        return Doc::from(i);
                    }
                    if let Some(u) = d.to_u64() {
                        return Doc::from(u);
                    }
                }
                float_json(numeric::to_f64(*d))
            }
            Datum::Float(f) => float_json(*f),
            Datum::Text(s) => Doc::String(s.clone()),
            Datum::Json(d) => (**d).clone(),
            other => {
                let mut s = String::new();
                other.write_text(&mut s);
                Doc::String(s)
            }
        }
    }

    /// Appends the value as compact JSON text (as `to_json` would print it) — the reply
    /// path, which must not build a `Doc` per value.
    pub fn write_json(&self, out: &mut String) {
        match self {
            Datum::Null => out.push_str("null"),
            Datum::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Datum::Int(i) => {
                let mut buf = itoa::Buffer::new();
                out.push_str(buf.format(*i));
            }
            Datum::Numeric(d) => {
                let _ = write!(out, "{d}");
            }
            Datum::Float(f) => {
                if f.is_finite() {
                    numeric::write_float(*f, out);
                } else {
                    out.push('"');
                    numeric::write_float(*f, out);
                    out.push('"');
                }
            }
            Datum::Text(s) => write_json_str(s, out),
            Datum::Json(d) => {
                let _ = write!(out, "{d}");
            }
            // Dates, times, uuids and bytea print as their text form, which never needs
            // escaping except bytea's backslash.
            Datum::Bytea(b) => {
                out.push_str("\"\\\\x");
                write_hex(b, out);
                out.push('"');
            }
            other => {
                out.push('"');
                other.write_text(out);
                out.push('"');
            }
        }
    }

    /// Appends the value's text form, as PostgreSQL's cast to text prints it (`true`,
    /// `2.50`, `1e+15`, `2024-01-31 10:00:00+00`, `\x0102`, jsonb as `{"a": 1}`). NULL
    /// appends nothing; callers decide what NULL means.
    pub fn write_text(&self, out: &mut String) {
        match self {
            Datum::Null => {}
            Datum::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Datum::Int(i) => {
                let mut buf = itoa::Buffer::new();
                out.push_str(buf.format(*i));
            }
            Datum::Numeric(d) => {
                let _ = write!(out, "{d}");
            }
            Datum::Float(f) => numeric::write_float(*f, out),
            Datum::Text(s) => out.push_str(s),
            Datum::Date(d) => write_date(*d, out, true),
            Datum::Time(t) => write_time(*t, out),
            Datum::Timestamp(ts) => {
                write_date(ts.date(), out, false);
                out.push(' ');
                write_time(ts.time(), out);
                if ts.date().year() <= 0 {
                    out.push_str(" BC");
                }
            }
            Datum::TimestampTz(ts) => {
                let n = ts.naive_utc();
                write_date(n.date(), out, false);
                out.push(' ');
                write_time(n.time(), out);
                out.push_str("+00");
                if n.date().year() <= 0 {
                    out.push_str(" BC");
                }
            }
            Datum::Uuid(u) => {
                let mut buf = uuid::Uuid::encode_buffer();
                out.push_str(u.hyphenated().encode_lower(&mut buf));
            }
            Datum::Bytea(b) => {
                out.push_str("\\x");
                write_hex(b, out);
            }
            Datum::Json(d) => write_jsonb_text(d, out),
        }
    }

    /// The text form (`write_text`), borrowing when the value already is text.
    pub fn to_text(&self) -> Cow<'_, str> {
        match self {
            Datum::Text(s) => Cow::Borrowed(s),
            other => {
                let mut s = String::new();
                other.write_text(&mut s);
                Cow::Owned(s)
            }
        }
    }

    /// The PostgreSQL type name, for error messages (`integer`, `numeric`, `text`,
    /// `boolean`, `double precision`, `date`, `jsonb`...). `Null` is `unknown`.
    pub fn type_name(&self) -> &'static str {
        match self {
            Datum::Null => "unknown",
            Datum::Bool(_) => "boolean",
            Datum::Int(_) => "integer",
            Datum::Numeric(_) => "numeric",
            Datum::Float(_) => "double precision",
            Datum::Text(_) => "text",
            Datum::Date(_) => "date",
            Datum::Time(_) => "time without time zone",
            Datum::Timestamp(_) => "timestamp without time zone",
            Datum::TimestampTz(_) => "timestamp with time zone",
            Datum::Uuid(_) => "uuid",
            Datum::Bytea(_) => "bytea",
            Datum::Json(_) => "jsonb",
        }
    }

    /// SQL comparison: `Ok(None)` when either side is NULL; numbers compare across
    /// Int/Numeric/Float; text with text (byte order, as the C collation); dates with
    /// timestamps; other mixes are an error
    /// (`operator does not exist: integer = text`).
    ///
    /// Text against a date, time, timestamp, uuid, boolean, bytea or jsonb value reads
    /// the text as that type first, as PostgreSQL does for a quoted literal
    /// (`d = '2024-01-31'`): literals reach evaluation as `Text`. Text against numbers
    /// stays an error, as the spec requires.
    pub fn sql_cmp(&self, other: &Datum) -> SqlResult<Option<Ordering>> {
        if self.is_null() || other.is_null() {
            return Ok(None);
        }
        if let Some(o) = same_family_cmp(self, other) {
            return Ok(Some(o));
        }
        match (self, other) {
            (Datum::Text(s), b) if literal_target(b) => {
                let a = SqlType::of_datum(b).map_or(Ok(Datum::Null), |t| t.cast_text(s))?;
                Ok(same_family_cmp(&a, b))
            }
            (a, Datum::Text(s)) if literal_target(a) => {
                let b = SqlType::of_datum(a).map_or(Ok(Datum::Null), |t| t.cast_text(s))?;
                Ok(same_family_cmp(a, &b))
            }
            _ => sql_bail!(
                "operator does not exist: {} = {}",
                self.type_name(),
                other.type_name()
            ),
        }
    }

    /// Total order for ORDER BY, merges and MIN/MAX: as `sql_cmp` where that is defined;
    /// NULL sorts after everything (the caller applies NULLS FIRST/LAST and DESC); values
    /// of types `sql_cmp` refuses to compare order by a fixed rank of their types.
    pub fn sort_cmp(&self, other: &Datum) -> Ordering {
        // Only same-family comparisons (no text parsing), so the order stays transitive.
        same_family_cmp(self, other).unwrap_or_else(|| type_rank(self).cmp(&type_rank(other)))
    }
}

/// A JSON number as a Datum: i64 → Int, other numbers → Numeric from the number's text
/// (a u64 beyond i64 exactly), Float when Decimal cannot hold it.
fn number_from_json(n: &serde_json::Number) -> Datum {
    if let Some(i) = n.as_i64() {
        return Datum::Int(i);
    }
    if let Some(u) = n.as_u64() {
        return Datum::Numeric(Decimal::from(u));
    }
    let mut s = numeric::StackStr::new();
    if write!(s, "{n}").is_ok() {
        if let Ok(d) = numeric::parse_numeric(s.as_str()) {
            // Decimal rounds past 28 fractional digits (1e-300 would read as 0): keep
            // the float when the decimal does not stand for the same number.
            if Some(numeric::to_f64(d)) == n.as_f64() {
                return Datum::Numeric(d);
            }
        }
    }
    Datum::Float(n.as_f64().unwrap_or(f64::NAN))
}

fn float_json(f: f64) -> Doc {
    match serde_json::Number::from_f64(f) {
        Some(n) => Doc::Number(n),
        None => {
            let mut s = String::new();
            numeric::write_float(f, &mut s);
            Doc::String(s)
        }
    }
}

/// Types a text literal is read as when compared with them (see `sql_cmp`).
fn literal_target(d: &Datum) -> bool {
    matches!(
        d,
        Datum::Bool(_)
            | Datum::Date(_)
            | Datum::Time(_)
            | Datum::Timestamp(_)
            | Datum::TimestampTz(_)
            | Datum::Uuid(_)
            | Datum::Bytea(_)
            | Datum::Json(_)
    )
}

/// The comparison of two values of comparable types, `None` for NULLs and for types
/// that do not compare.
fn same_family_cmp(a: &Datum, b: &Datum) -> Option<Ordering> {
    use Datum::*;
    Some(match (a, b) {
        (Int(x), Int(y)) => x.cmp(y),
        (Int(x), Numeric(y)) => Decimal::from(*x).cmp(y),
        (Numeric(x), Int(y)) => x.cmp(&Decimal::from(*y)),
        (Numeric(x), Numeric(y)) => x.cmp(y),
        // PostgreSQL compares an integer or numeric with a float as floats.
        (Int(x), Float(y)) => float_cmp(*x as f64, *y),
        (Float(x), Int(y)) => float_cmp(*x, *y as f64),
        (Numeric(x), Float(y)) => float_cmp(numeric::to_f64(*x), *y),
        (Float(x), Numeric(y)) => float_cmp(*x, numeric::to_f64(*y)),
        (Float(x), Float(y)) => float_cmp(*x, *y),
        (Text(x), Text(y)) => x.as_bytes().cmp(y.as_bytes()),
        (Bool(x), Bool(y)) => x.cmp(y),
        (Date(x), Date(y)) => x.cmp(y),
        (Date(x), Timestamp(y)) => midnight(*x).cmp(y),
        (Timestamp(x), Date(y)) => x.cmp(&midnight(*y)),
        (Date(x), TimestampTz(y)) => midnight(*x).cmp(&y.naive_utc()),
        (TimestampTz(x), Date(y)) => x.naive_utc().cmp(&midnight(*y)),
        (Timestamp(x), Timestamp(y)) => x.cmp(y),
        (Timestamp(x), TimestampTz(y)) => x.cmp(&y.naive_utc()),
        (TimestampTz(x), Timestamp(y)) => x.naive_utc().cmp(y),
        (TimestampTz(x), TimestampTz(y)) => x.cmp(y),
        (Time(x), Time(y)) => x.cmp(y),
        (Uuid(x), Uuid(y)) => x.cmp(y),
        (Bytea(x), Bytea(y)) => x.cmp(y),
        (Json(x), Json(y)) => json_cmp(x, y),
        _ => return None,
    })
}

fn midnight(d: NaiveDate) -> NaiveDateTime {
    d.and_time(NaiveTime::MIN)
}

/// PostgreSQL's float order: NaN equals NaN and sorts above every other value; -0 = 0.
pub(crate) fn float_cmp(a: f64, b: f64) -> Ordering {
    match (a.is_nan(), b.is_nan()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        _ => a.partial_cmp(&b).unwrap_or(Ordering::Equal),
    }
}

/// The fixed order of type families for `sort_cmp` (NULL last).
fn type_rank(d: &Datum) -> u8 {
    match d {
        Datum::Bool(_) => 0,
        Datum::Int(_) | Datum::Numeric(_) | Datum::Float(_) => 1,
        Datum::Text(_) => 2,
        Datum::Date(_) | Datum::Timestamp(_) | Datum::TimestampTz(_) => 3,
        Datum::Time(_) => 4,
        Datum::Uuid(_) => 5,
        Datum::Bytea(_) => 6,
        Datum::Json(_) => 7,
        Datum::Null => 8,
    }
}

/// jsonb's order: Object > Array > Boolean > Number > String > Null; arrays and objects
/// by size first, then element by element (object keys in jsonb's storage order:
/// shorter keys first, then bytewise); numbers by value; strings bytewise.
pub(crate) fn json_cmp(a: &Doc, b: &Doc) -> Ordering {
    fn rank(d: &Doc) -> u8 {
        match d {
            Doc::Null => 0,
            Doc::String(_) => 1,
            Doc::Number(_) => 2,
            Doc::Bool(_) => 3,
            Doc::Array(_) => 4,
            Doc::Object(_) => 5,
        }
    }
    match (a, b) {
        (Doc::Null, Doc::Null) => Ordering::Equal,
        (Doc::String(x), Doc::String(y)) => x.as_bytes().cmp(y.as_bytes()),
        (Doc::Number(x), Doc::Number(y)) => json_num_cmp(x, y),
        (Doc::Bool(x), Doc::Bool(y)) => x.cmp(y),
        (Doc::Array(x), Doc::Array(y)) => x.len().cmp(&y.len()).then_with(|| {
            x.iter()
                .zip(y)
                .map(|(p, q)| json_cmp(p, q))
                .find(|o| o.is_ne())
                .unwrap_or(Ordering::Equal)
        }),
        (Doc::Object(x), Doc::Object(y)) => x.len().cmp(&y.len()).then_with(|| {
            let xs = sorted_entries(x);
            let ys = sorted_entries(y);
            for ((kx, vx), (ky, vy)) in xs.iter().zip(&ys) {
                let o = jsonb_key_cmp(kx, ky).then_with(|| json_cmp(vx, vy));
                if o.is_ne() {
                    return o;
                }
            }
            Ordering::Equal
        }),
        _ => rank(a).cmp(&rank(b)),
    }
}

fn jsonb_key_cmp(a: &str, b: &str) -> Ordering {
    a.len()
        .cmp(&b.len())
        .then_with(|| a.as_bytes().cmp(b.as_bytes()))
}

fn sorted_entries(m: &serde_json::Map<String, Doc>) -> Vec<(&str, &Doc)> {
    let mut v: Vec<(&str, &Doc)> = m.iter().map(|(k, v)| (k.as_str(), v)).collect();
    v.sort_by(|a, b| jsonb_key_cmp(a.0, b.0));
    v
}

fn json_num_cmp(x: &serde_json::Number, y: &serde_json::Number) -> Ordering {
    match (x.as_i64(), y.as_i64()) {
        (Some(a), Some(b)) => a.cmp(&b),
        _ => match (x.as_u64(), y.as_u64()) {
            (Some(a), Some(b)) => a.cmp(&b),
            _ => float_cmp(
                x.as_f64().unwrap_or(f64::NAN),
                y.as_f64().unwrap_or(f64::NAN),
            ),
        },
    }
}

/// Appends `s` as a JSON string literal, escaped exactly as serde_json escapes (quote,
/// backslash, `\b \f \n \r \t`, other control characters as `\u00xx`), without building
/// a `Doc`. A test checks it against serde_json.
pub fn write_json_str(s: &str, out: &mut String) {
    out.push('"');
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let esc: &str = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            0..=0x1f => "",
            _ => continue,
        };
        // `b` is ASCII, so `i` is a char boundary.
        out.push_str(&s[start..i]);
        if esc.is_empty() {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.push_str("\\u00");
            out.push(HEX[(b >> 4) as usize] as char);
            out.push(HEX[(b & 0xf) as usize] as char);
        } else {
            out.push_str(esc);
        }
        start = i + 1;
    }
    out.push_str(&s[start..]);
    out.push('"');
}

/// jsonb's text output: `{"a": 1, "b": [1, 2]}` (a space after `:` and `,`).
pub fn write_jsonb_text(d: &Doc, out: &mut String) {
    match d {
        Doc::Array(a) => {
            out.push('[');
            for (i, v) in a.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_jsonb_text(v, out);
            }
            out.push(']');
        }
        Doc::Object(m) => {
            out.push('{');
            for (i, (k, v)) in m.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_json_str(k, out);
                out.push_str(": ");
                write_jsonb_text(v, out);
            }
            out.push('}');
        }
        Doc::String(s) => write_json_str(s, out),
        other => {
            let _ = write!(out, "{other}");
        }
    }
}

fn write_hex(b: &[u8], out: &mut String) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.reserve(b.len() * 2);
    for &x in b {
        out.push(HEX[(x >> 4) as usize] as char);
        out.push(HEX[(x & 0xf) as usize] as char);
    }
}

/// `2024-01-31`; years before 1 AD as PostgreSQL (`0044-03-15 BC`, the suffix only when
/// `bc_suffix`; timestamps add it after the time).
fn write_date(d: NaiveDate, out: &mut String, bc_suffix: bool) {
    let y = d.year();
    let shown = if y <= 0 { 1 - y as i64 } else { y as i64 };
    let _ = write!(out, "{:04}-{:02}-{:02}", shown, d.month(), d.day());
    if y <= 0 && bc_suffix {
        out.push_str(" BC");
    }
}

/// `10:00:00`, with the fraction as PostgreSQL prints it (`10:00:00.5`, microseconds
/// with trailing zeros dropped).
fn write_time(t: NaiveTime, out: &mut String) {
    let _ = write!(out, "{:02}:{:02}:{:02}", t.hour(), t.minute(), t.second());
    // Leap-second nanos (≥ 1e9) are not produced by our parsers; fold them anyway.
    let micros = (t.nanosecond() % 1_000_000_000) / 1000;
    if micros != 0 {
        let mut frac = micros;
        let mut width = 6;
        while frac.is_multiple_of(10) {
            frac /= 10;
            width -= 1;
        }
        let _ = write!(out, ".{:0width$}", frac, width = width);
    }
}

/// How numbers group: by exact value across Int/Numeric/Float.
#[derive(PartialEq, Eq, Hash)]
enum NumKey {
    Int(i128),
    Dec(i128, u32),
    Bits(u64),
}

fn dec_key(d: Decimal) -> NumKey {
    if d.fract().is_zero() {
        return NumKey::Int(d.trunc().mantissa() / 10i128.pow(d.trunc().scale()));
    }
    let n = d.normalize();
    NumKey::Dec(n.mantissa(), n.scale())
}

fn float_key(f: f64) -> NumKey {
    if f.is_nan() {
        return NumKey::Bits(f64::NAN.to_bits());
    }
    if f.is_infinite() {
        return NumKey::Bits(f.to_bits());
    }
    if f.fract() == 0.0 && f.abs() < 1.7e38 {
        return NumKey::Int(f as i128);
    }
    match exact_decimal(f) {
        Some(d) => dec_key(d),
        None => NumKey::Bits(f.to_bits()),
    }
}

/// The float's exact value as a Decimal, when Decimal can hold it (0.5, 2.25; not 0.1).
fn exact_decimal(f: f64) -> Option<Decimal> {
    let bits = f.to_bits();
    let neg = bits >> 63 == 1;
    let exp_bits = ((bits >> 52) & 0x7ff) as i32;
    let frac = bits & ((1u64 << 52) - 1);
    let (mut m, mut e) = if exp_bits == 0 {
        (frac, -1074)
    } else {
        (frac | (1u64 << 52), exp_bits - 1075)
    };
    if m == 0 {
        return Some(Decimal::ZERO);
    }
    while m & 1 == 0 && e < 0 {
        m >>= 1;
        e += 1;
    }
    if e >= 0 {
        return None; // integral: handled by the caller
    }
    let k = (-e) as u32;
    if k > numeric::MAX_SCALE {
        return None;
    }
    let v = (m as u128).checked_mul(5u128.checked_pow(k)?)?;
    if v >= 1u128 << 96 {
        return None;
    }
    let v = v as i128;
    Some(Decimal::from_i128_with_scale(if neg { -v } else { v }, k))
}

fn json_hash<H: Hasher>(d: &Doc, state: &mut H) {
    match d {
        Doc::Null => 0u8.hash(state),
        Doc::Bool(b) => {
            1u8.hash(state);
            b.hash(state);
        }
        Doc::Number(n) => {
            2u8.hash(state);
            match (n.as_i64(), n.as_u64()) {
                (Some(i), _) => NumKey::Int(i as i128).hash(state),
                (_, Some(u)) => NumKey::Int(u as i128).hash(state),
                _ => float_key(n.as_f64().unwrap_or(f64::NAN)).hash(state),
            }
        }
        Doc::String(s) => {
            3u8.hash(state);
            s.hash(state);
        }
        Doc::Array(a) => {
            4u8.hash(state);
            a.len().hash(state);
            a.iter().for_each(|v| json_hash(v, state));
        }
        Doc::Object(m) => {
            5u8.hash(state);
            m.len().hash(state);
            for (k, v) in sorted_entries(m) {
                k.hash(state);
                json_hash(v, state);
            }
        }
    }
}

impl Datum {
    fn num_key(&self) -> Option<NumKey> {
        match self {
            Datum::Int(i) => Some(NumKey::Int(*i as i128)),
            Datum::Numeric(d) => Some(dec_key(*d)),
            Datum::Float(f) => Some(float_key(*f)),
            _ => None,
        }
    }
}

impl PartialEq for Datum {
    fn eq(&self, other: &Self) -> bool {
        use Datum::*;
        match (self, other) {
            (Null, Null) => true,
            (Int(a), Int(b)) => a == b,
            (Int(_) | Numeric(_) | Float(_), Int(_) | Numeric(_) | Float(_)) => {
                self.num_key() == other.num_key()
            }
            (Bool(a), Bool(b)) => a == b,
            (Text(a), Text(b)) => a == b,
            (Date(a), Date(b)) => a == b,
            (Time(a), Time(b)) => a == b,
            (Timestamp(a), Timestamp(b)) => a == b,
            (TimestampTz(a), TimestampTz(b)) => a == b,
            (Uuid(a), Uuid(b)) => a == b,
            (Bytea(a), Bytea(b)) => a == b,
            (Json(a), Json(b)) => json_cmp(a, b).is_eq(),
            _ => false,
        }
    }
}

impl Eq for Datum {}

impl std::hash::Hash for Datum {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        match self {
            Datum::Null => 0u8.hash(state),
            Datum::Bool(b) => {
                1u8.hash(state);
                b.hash(state);
            }
            Datum::Int(_) | Datum::Numeric(_) | Datum::Float(_) => {
                2u8.hash(state);
                self.num_key().hash(state);
            }
            Datum::Text(s) => {
                3u8.hash(state);
                s.hash(state);
            }
            Datum::Date(d) => {
                4u8.hash(state);
                d.hash(state);
            }
            Datum::Time(t) => {
                5u8.hash(state);
                t.hash(state);
            }
            Datum::Timestamp(t) => {
                6u8.hash(state);
                t.hash(state);
            }
            Datum::TimestampTz(t) => {
                7u8.hash(state);
                t.hash(state);
            }
            Datum::Uuid(u) => {
                8u8.hash(state);
                u.hash(state);
            }
            Datum::Bytea(b) => {
                9u8.hash(state);
                b.hash(state);
            }
            Datum::Json(d) => {
                10u8.hash(state);
                json_hash(d, state);
            }
        }
    }
}

impl std::fmt::Display for Datum {
    /// The value as a SQL literal would show it in EXPLAIN: `42`, `'text'`, `NULL`,
    /// `'2024-01-31'::date`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Datum::Null => f.write_str("NULL"),
            Datum::Bool(b) => f.write_str(if *b { "true" } else { "false" }),
            Datum::Int(i) => write!(f, "{i}"),
            Datum::Numeric(d) => write!(f, "{d}"),
            Datum::Text(s) => write_quoted(f, s),
            other => {
                let text = other.to_text();
                write_quoted(f, &text)?;
                write!(f, "::{}", other.type_name())
            }
        }
    }
}

fn write_quoted(f: &mut std::fmt::Formatter<'_>, s: &str) -> std::fmt::Result {
    f.write_char('\'')?;
    for (i, part) in s.split('\'').enumerate() {
        if i > 0 {
            f.write_str("''")?;
        }
        f.write_str(part)?;
    }
    f.write_char('\'')
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::collections::hash_map::DefaultHasher;

    fn dec(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    fn js(d: &Datum) -> String {
        let mut s = String::new();
        d.write_json(&mut s);
        s
    }

    fn h(d: &Datum) -> u64 {
        let mut s = DefaultHasher::new();
        d.hash(&mut s);
        s.finish()
    }

    fn ts(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f").unwrap()
    }

    #[test]
    fn from_json_reads_numbers_as_postgres_jsonb() {
        assert_eq!(Datum::from_json(&json!(5)), Datum::Int(5));
        assert!(
            matches!(Datum::from_json(&json!(u64::MAX)), Datum::Numeric(d) if d == Decimal::from(u64::MAX))
        );
        assert!(
            matches!(Datum::from_json(&json!(2.5)), Datum::Numeric(d) if d.to_string() == "2.5")
        );
        assert!(
            matches!(Datum::from_json(&json!(1.0)), Datum::Numeric(d) if d.to_string() == "1.0")
        );
        assert!(
            matches!(Datum::from_json(&json!(1.5e-7)), Datum::Numeric(d) if d.to_string() == "0.00000015")
        );
        assert!(matches!(Datum::from_json(&json!(1e300)), Datum::Float(f) if f == 1e300));
        assert!(matches!(Datum::from_json(&json!(1e-300)), Datum::Float(f) if f == 1e-300));
        assert!(matches!(Datum::from_json(&json!("x")), Datum::Text(s) if s == "x"));
        assert!(matches!(Datum::from_json(&json!(null)), Datum::Null));
        assert!(matches!(Datum::from_json(&json!(true)), Datum::Bool(true)));
        assert!(matches!(Datum::from_json(&json!({"a": 1})), Datum::Json(_)));
        assert!(matches!(Datum::from_json(&json!([1])), Datum::Json(_)));
    }

    #[test]
    fn json_text_of_every_type() {
        let date = NaiveDate::from_ymd_opt(2024, 1, 31).unwrap();
        assert_eq!(js(&Datum::Null), "null");
        assert_eq!(js(&Datum::Int(-42)), "-42");
        assert_eq!(js(&Datum::Numeric(dec("2.50"))), "2.50");
        assert_eq!(js(&Datum::Float(1.5)), "1.5");
        assert_eq!(js(&Datum::Float(1e20)), "1e+20");
        assert_eq!(js(&Datum::Float(f64::NAN)), "\"NaN\"");
        assert_eq!(js(&Datum::Float(f64::INFINITY)), "\"Infinity\"");
        assert_eq!(
            js(&Datum::Text("a\"b\\\n\u{1}é".into())),
            r#""a\"b\\\n\u0001é""#
        );
        assert_eq!(js(&Datum::Date(date)), "\"2024-01-31\"");
        assert_eq!(
            js(&Datum::Time(NaiveTime::from_hms_opt(10, 0, 0).unwrap())),
            "\"10:00:00\""
        );
        assert_eq!(
            js(&Datum::Time(
                NaiveTime::from_hms_micro_opt(10, 0, 0, 500_000).unwrap()
            )),
            "\"10:00:00.5\""
        );
        assert_eq!(
            js(&Datum::Timestamp(ts("2024-01-31 10:00:00"))),
            "\"2024-01-31 10:00:00\""
        );
        assert_eq!(
            js(&Datum::Timestamp(ts("2024-01-31 10:00:00.123456"))),
            "\"2024-01-31 10:00:00.123456\""
        );
        assert_eq!(
            js(&Datum::TimestampTz(ts("2024-01-31 10:00:00").and_utc())),
            "\"2024-01-31 10:00:00+00\""
        );
        let u = Uuid::parse_str("A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11").unwrap();
        assert_eq!(
            js(&Datum::Uuid(u)),
            "\"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11\""
        );
        assert_eq!(js(&Datum::Bytea(vec![1, 2, 0xab])), r#""\\x0102ab""#);
        assert_eq!(
            js(&Datum::Json(Box::new(json!({"a": [1, "x"]})))),
            r#"{"a":[1,"x"]}"#
        );
        let bc = NaiveDate::from_ymd_opt(-43, 3, 15).unwrap();
        assert_eq!(js(&Datum::Date(bc)), "\"0044-03-15 BC\"");
        // write_json and to_json agree where to_json can say it.
        for d in [
            Datum::Int(7),
            Datum::Text("q\"\t".into()),
            Datum::Date(date),
            Datum::Bytea(vec![1, 2]),
            Datum::Float(2.25),
            Datum::Float(f64::NEG_INFINITY),
            Datum::Numeric(dec("3")),
        ] {
            let parsed: Doc = serde_json::from_str(&js(&d)).unwrap();
            assert_eq!(parsed, d.to_json(), "{d:?}");
        }
        assert_eq!(Datum::Numeric(dec("2.5")).to_json(), json!(2.5));
    }

    #[test]
    fn string_escaping_matches_serde_json() {
        let mut all = String::new();
        for c in (0u32..0x80).filter_map(char::from_u32) {
            all.push(c);
        }
        all.push_str("é€😀\u{2028}");
        let mut mine = String::new();
        write_json_str(&all, &mut mine);
        assert_eq!(mine, serde_json::to_string(&all).unwrap());
    }

    #[test]
    fn text_forms() {
        assert_eq!(Datum::Bool(true).to_text(), "true");
        assert_eq!(Datum::Float(1.5).to_text(), "1.5");
        assert_eq!(
            Datum::Json(Box::new(json!({"b": [1, 2], "a": {"c": null}}))).to_text(),
            r#"{"b": [1, 2], "a": {"c": null}}"#
        );
        assert_eq!(Datum::Bytea(vec![1, 2]).to_text(), "\\x0102");
    }

    #[test]
    fn sql_cmp_across_types() {
        let c = |a: Datum, b: Datum| a.sql_cmp(&b).unwrap();
        assert_eq!(
            c(Datum::Int(1), Datum::Numeric(dec("1.0"))),
            Some(Ordering::Equal)
        );
        assert_eq!(c(Datum::Int(1), Datum::Float(1.5)), Some(Ordering::Less));
        assert_eq!(
            c(Datum::Numeric(dec("0.1")), Datum::Float(0.1)),
            Some(Ordering::Equal)
        );
        assert_eq!(
            c(Datum::Float(f64::NAN), Datum::Float(f64::INFINITY)),
            Some(Ordering::Greater)
        );
        assert_eq!(
            c(Datum::Float(f64::NAN), Datum::Float(f64::NAN)),
            Some(Ordering::Equal)
        );
        assert_eq!(c(Datum::Float(-0.0), Datum::Int(0)), Some(Ordering::Equal));
        assert_eq!(c(Datum::Null, Datum::Int(1)), None);
        assert_eq!(
            c(Datum::Text("B".into()), Datum::Text("a".into())),
            Some(Ordering::Less)
        );
        assert_eq!(
            c(Datum::Bool(false), Datum::Bool(true)),
            Some(Ordering::Less)
        );
        let d = NaiveDate::from_ymd_opt(2024, 1, 1).unwrap();
        assert_eq!(
            c(Datum::Date(d), Datum::Timestamp(ts("2024-01-01 00:00:01"))),
            Some(Ordering::Less)
        );
        assert_eq!(
            c(
                Datum::Date(d),
                Datum::TimestampTz(ts("2024-01-01 00:00:00").and_utc())
            ),
            Some(Ordering::Equal)
        );
        // A text literal against a date reads as a date.
        assert_eq!(
            c(Datum::Date(d), Datum::Text("2024-01-01".into())),
            Some(Ordering::Equal)
        );
        assert_eq!(
            Datum::Date(d)
                .sql_cmp(&Datum::Text("x".into()))
                .unwrap_err()
                .0,
            "invalid input syntax for type date: \"x\""
        );
        assert_eq!(
            Datum::Int(1)
                .sql_cmp(&Datum::Text("1".into()))
                .unwrap_err()
                .0,
            "operator does not exist: integer = text"
        );
        assert_eq!(
            Datum::Bool(true).sql_cmp(&Datum::Date(d)).unwrap_err().0,
            "operator does not exist: boolean = date"
        );
        // jsonb: '[1,2]' < '{}', '1' = '1.0'.
        let j = |v: Doc| Datum::Json(Box::new(v));
        assert_eq!(c(j(json!([1, 2])), j(json!({}))), Some(Ordering::Less));
        assert_eq!(c(j(json!(1)), j(json!(1.0))), Some(Ordering::Equal));
        assert_eq!(
            c(j(json!({"a": 1, "b": 2})), j(json!({"b": 2, "a": 1}))),
            Some(Ordering::Equal)
        );
        assert_eq!(c(j(json!(null)), j(json!("a"))), Some(Ordering::Less));
    }

    #[test]
    fn sort_order_is_total() {
        let mut v = vec![
            Datum::Null,
            Datum::Text("b".into()),
            Datum::Int(3),
            Datum::Float(f64::NAN),
            Datum::Numeric(dec("2.5")),
            Datum::Bool(true),
            Datum::Text("a".into()),
            Datum::Float(-1.0),
        ];
        v.sort_by(|a, b| a.sort_cmp(b));
        assert_eq!(
            v,
            vec![
                Datum::Bool(true),
                Datum::Float(-1.0),
                Datum::Numeric(dec("2.5")),
                Datum::Int(3),
                Datum::Float(f64::NAN),
                Datum::Text("a".into()),
                Datum::Text("b".into()),
                Datum::Null,
            ]
        );
    }

    #[test]
    fn grouping_equality_and_hash_agree() {
        let groups = [
            vec![
                Datum::Int(1),
                Datum::Numeric(dec("1.00")),
                Datum::Float(1.0),
            ],
            vec![
                Datum::Numeric(dec("2.50")),
                Datum::Float(2.5),
                Datum::Numeric(dec("2.5")),
            ],
            vec![
                Datum::Float(0.0),
                Datum::Float(-0.0),
                Datum::Int(0),
                Datum::Numeric(dec("0.000")),
            ],
            vec![Datum::Float(f64::NAN), Datum::Float(-f64::NAN)],
            vec![Datum::Null, Datum::Null],
            vec![
                Datum::Json(Box::new(json!({"a": 1, "b": [1.0]}))),
                Datum::Json(Box::new(json!({"b": [1], "a": 1.0}))),
            ],
        ];
        for g in &groups {
            for a in g {
                for b in g {
                    assert_eq!(a, b);
                    assert_eq!(h(a), h(b), "{a:?} {b:?}");
                }
            }
        }
        assert_ne!(Datum::Int(1), Datum::Text("1".into()));
        assert_ne!(Datum::Int(1), Datum::Numeric(dec("1.5")));
        assert_ne!(Datum::Float(0.1), Datum::Float(0.2));
        assert_ne!(Datum::Null, Datum::Int(0));
        assert_eq!(
            Datum::Int(i64::MAX),
            Datum::Numeric(Decimal::from(i64::MAX))
        );
    }

    #[test]
    fn display_as_sql_literals() {
        assert_eq!(Datum::Null.to_string(), "NULL");
        assert_eq!(Datum::Int(42).to_string(), "42");
        assert_eq!(Datum::Numeric(dec("1.50")).to_string(), "1.50");
        assert_eq!(Datum::Text("it's".into()).to_string(), "'it''s'");
        assert_eq!(
            Datum::Date(NaiveDate::from_ymd_opt(2024, 1, 31).unwrap()).to_string(),
            "'2024-01-31'::date"
        );
        assert_eq!(Datum::Float(1.5).to_string(), "'1.5'::double precision");
        assert_eq!(Datum::Bool(false).to_string(), "false");
    }
}
