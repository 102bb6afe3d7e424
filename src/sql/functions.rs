//! Scalar functions (LOWER, ROUND, COALESCE, DATE_TRUNC, ...), with PostgreSQL's
//! argument rules and NULL handling.

use std::cmp::Ordering;

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta, Timelike, Utc};
use rust_decimal::Decimal;

use super::error::{sql_bail, SqlError, SqlResult};
use super::expr::{arith, BinaryOp, EvalCtx};
use super::numeric;
use super::types;
use super::value::Datum;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Func {
    Lower,
    Upper,
    Length,
    Trim,
    Ltrim,
    Rtrim,
    Substring,
    Replace,
    Concat,
    Position,
    Left,
    Right,
    SplitPart,
    Abs,
    Round,
    Ceil,
    Floor,
    Mod,
    Power,
    Sqrt,
    Coalesce,
    Nullif,
    Greatest,
    Least,
    Now,
    CurrentDate,
    DatePart,
    /// `EXTRACT(field FROM source)`: DATE_PART as a NUMERIC (PostgreSQL 14 and later).
    Extract,
    DateTrunc,
}

impl Func {
    /// The function called `name` (case-insensitive; CEILING, POW, CHAR_LENGTH, SUBSTR
    /// and CURRENT_TIMESTAMP are aliases), or None.
    pub fn lookup(name: &str) -> Option<Func> {
        let mut buf = [0u8; 24];
        let n = name.len();
        if n > buf.len() {
            return None;
        }
        buf[..n].copy_from_slice(name.as_bytes());
        buf[..n].make_ascii_lowercase();
        Some(match &buf[..n] {
            b"lower" => Func::Lower,
            b"upper" => Func::Upper,
            b"length" | b"char_length" | b"character_length" => Func::Length,
            b"trim" | b"btrim" => Func::Trim,
            b"ltrim" => Func::Ltrim,
            b"rtrim" => Func::Rtrim,
            b"substring" | b"substr" => Func::Substring,
            b"replace" => Func::Replace,
            b"concat" => Func::Concat,
            b"position" => Func::Position,
            b"left" => Func::Left,
            b"right" => Func::Right,
            b"split_part" => Func::SplitPart,
            b"abs" => Func::Abs,
            b"round" => Func::Round,
            b"ceil" | b"ceiling" => Func::Ceil,
            b"floor" => Func::Floor,
            b"mod" => Func::Mod,
            b"power" | b"pow" => Func::Power,
            b"sqrt" => Func::Sqrt,
            b"coalesce" => Func::Coalesce,
            b"nullif" => Func::Nullif,
            b"greatest" => Func::Greatest,
            b"least" => Func::Least,
            b"now" | b"current_timestamp" => Func::Now,
            b"current_date" => Func::CurrentDate,
            b"date_part" => Func::DatePart,
            b"date_trunc" => Func::DateTrunc,
            _ => return None,
        })
    }

    /// The name PostgreSQL gives the function (output column names, EXPLAIN).
    pub fn name(&self) -> &'static str {
        match self {
            Func::Lower => "lower",
            Func::Upper => "upper",
            Func::Length => "length",
            // PostgreSQL's name for TRIM(BOTH ...).
            Func::Trim => "btrim",
            Func::Ltrim => "ltrim",
            Func::Rtrim => "rtrim",
            Func::Substring => "substring",
            Func::Replace => "replace",
            Func::Concat => "concat",
            Func::Position => "position",
            Func::Left => "left",
            Func::Right => "right",
            Func::SplitPart => "split_part",
            Func::Abs => "abs",
            Func::Round => "round",
            Func::Ceil => "ceil",
            Func::Floor => "floor",
            Func::Mod => "mod",
            Func::Power => "power",
            Func::Sqrt => "sqrt",
            Func::Coalesce => "coalesce",
            Func::Nullif => "nullif",
            Func::Greatest => "greatest",
            Func::Least => "least",
            Func::Now => "now",
            Func::CurrentDate => "current_date",
            Func::DatePart => "date_part",
            Func::Extract => "extract",
            Func::DateTrunc => "date_trunc",
        }
    }

    /// The argument counts the function takes, `(min, max)`.
    fn arity(&self) -> (usize, usize) {
        match self {
            Func::Lower | Func::Upper | Func::Length | Func::Abs | Func::Ceil | Func::Floor => {
                (1, 1)
            }
            Func::Sqrt => (1, 1),
            Func::Trim | Func::Ltrim | Func::Rtrim | Func::Round => (1, 2),
            Func::Substring => (2, 3),
            Func::Replace | Func::SplitPart => (3, 3),
            Func::Position | Func::Left | Func::Right | Func::Mod | Func::Power => (2, 2),
            Func::Nullif | Func::DatePart | Func::Extract | Func::DateTrunc => (2, 2),
            Func::Concat | Func::Coalesce | Func::Greatest | Func::Least => (1, usize::MAX),
            Func::Now | Func::CurrentDate => (0, 0),
        }
    }

    /// Checks the argument count at bind time:
    /// `function lower(integer, integer) does not exist`-style errors come from `call`;
    /// this one reports `function round() does not exist` for a wrong count (argument
    /// types are not known yet, so each shows as `unknown`, as PostgreSQL shows untyped
    /// literals).
    pub fn check_arity(&self, n: usize) -> SqlResult<()> {
        let (lo, hi) = self.arity();
        if n >= lo && n <= hi {
            return Ok(());
        }
        let args = vec!["unknown"; n].join(", ");
        sql_bail!("function {}({args}) does not exist", self.name())
    }

    /// `function lower(integer) does not exist`, with the argument types.
    fn no_such(&self, args: &[Datum]) -> SqlError {
        let types: Vec<&str> = args.iter().map(Datum::type_name).collect();
        SqlError(format!(
            "function {}({}) does not exist",
            self.name(),
            types.join(", ")
        ))
    }

    /// Calls the function on evaluated arguments. Strict functions return NULL when any
    /// argument is NULL; COALESCE, NULLIF, GREATEST, LEAST and CONCAT have their own rules.
    pub fn call(&self, args: Vec<Datum>, ctx: &EvalCtx) -> SqlResult<Datum> {
        self.check_arity(args.len())?;
        match self {
            Func::Coalesce => {
                return Ok(args
                    .into_iter()
                    .find(|a| !a.is_null())
                    .unwrap_or(Datum::Null))
            }
            Func::Nullif => {
                let mut it = args.into_iter();
                let a = it.next().unwrap_or(Datum::Null);
                let b = it.next().unwrap_or(Datum::Null);
                return Ok(match a.sql_cmp(&b)? {
                    Some(Ordering::Equal) => Datum::Null,
                    _ => a,
                });
            }
            Func::Greatest | Func::Least => {
                let want = if *self == Func::Greatest {
                    Ordering::Greater
                } else {
                    Ordering::Less
                };
                let mut best: Option<Datum> = None;
                for a in args {
                    if a.is_null() {
                        continue;
                    }
                    best = Some(match best {
                        None => a,
                        Some(b) => {
                            if a.sql_cmp(&b)? == Some(want) {
                                a
                            } else {
                                b
                            }
                        }
                    });
                }
                return Ok(best.unwrap_or(Datum::Null));
            }
            Func::Concat => {
                let mut s = String::new();
                for a in &args {
                    match a {
                        Datum::Null => {}
                        // concat() uses the output function: booleans print as t/f.
                        Datum::Bool(b) => s.push(if *b { 't' } else { 'f' }),
                        other => other.write_text(&mut s),
                    }
                }
                return Ok(Datum::Text(s));
            }
            Func::Now => {
                // Microsecond precision, as PostgreSQL's timestamps.
                let n = ctx.now;
                let micros = n.timestamp_subsec_micros();
                return Ok(Datum::TimestampTz(
                    n.with_nanosecond(micros * 1000).unwrap_or(n),
                ));
            }
            Func::CurrentDate => return Ok(Datum::Date(ctx.now.date_naive())),
            _ => {}
        }
        if args.iter().any(Datum::is_null) {
            return Ok(Datum::Null);
        }
        let a = &args;
        match self {
            Func::Lower | Func::Upper => match &a[0] {
                Datum::Text(s) => Ok(Datum::Text(change_case(s, *self == Func::Upper))),
                _ => Err(self.no_such(a)),
            },
            Func::Length => match &a[0] {
                Datum::Text(s) => Ok(Datum::Int(s.chars().count() as i64)),
                Datum::Bytea(b) => Ok(Datum::Int(b.len() as i64)),
                _ => Err(self.no_such(a)),
            },
            Func::Trim | Func::Ltrim | Func::Rtrim => {
                let (Datum::Text(s), set) = (&a[0], a.get(1)) else {
                    return Err(self.no_such(a));
                };
                let set: &str = match set {
                    None => " ",
                    Some(Datum::Text(t)) => t,
                    Some(_) => return Err(self.no_such(a)),
                };
                let pat = |c: char| set.contains(c);
                Ok(Datum::Text(
                    match self {
                        Func::Trim => s.trim_matches(pat),
                        Func::Ltrim => s.trim_start_matches(pat),
                        _ => s.trim_end_matches(pat),
                    }
                    .to_string(),
                ))
            }
            Func::Substring => {
                let (Datum::Text(s), Datum::Int(from)) = (&a[0], &a[1]) else {
                    return Err(self.no_such(a));
                };
                let count = match a.get(2) {
                    None => None,
                    Some(Datum::Int(n)) if *n < 0 => {
                        sql_bail!("negative substring length not allowed")
                    }
                    Some(Datum::Int(n)) => Some(*n),
                    Some(_) => return Err(self.no_such(a)),
                };
                Ok(Datum::Text(substring(s, *from, count)))
            }
            Func::Replace => match (&a[0], &a[1], &a[2]) {
                (Datum::Text(s), Datum::Text(from), Datum::Text(to)) => {
                    Ok(Datum::Text(if from.is_empty() {
                        s.clone()
                    } else {
                        s.replace(from.as_str(), to)
                    }))
                }
                _ => Err(self.no_such(a)),
            },
            Func::Position => match (&a[0], &a[1]) {
                (Datum::Text(sub), Datum::Text(s)) => Ok(Datum::Int(match s.find(sub.as_str()) {
                    Some(byte) => s[..byte].chars().count() as i64 + 1,
                    None => 0,
                })),
                _ => Err(self.no_such(a)),
            },
            Func::Left | Func::Right => {
                let (Datum::Text(s), Datum::Int(n)) = (&a[0], &a[1]) else {
                    return Err(self.no_such(a));
                };
                let len = s.chars().count() as i64;
                let n = *n;
                // left(s, -k): all but the last k; right(s, -k): all but the first k.
                let keep = if n >= 0 {
                    n.min(len)
                } else {
                    (len + n.max(-len)).max(0)
                };
                Ok(Datum::Text(if *self == Func::Left {
                    s.chars().take(keep as usize).collect()
                } else {
                    s.chars().skip((len - keep) as usize).collect()
                }))
            }
            Func::SplitPart => {
                let (Datum::Text(s), Datum::Text(delim), Datum::Int(n)) = (&a[0], &a[1], &a[2])
                else {
                    return Err(self.no_such(a));
                };
                Ok(Datum::Text(split_part(s, delim, *n)?.to_string()))
            }
            Func::Abs => match &a[0] {
                Datum::Int(i) => i
                    .checked_abs()
                    .map(Datum::Int)
                    .ok_or_else(|| SqlError::new("bigint out of range")),
                Datum::Numeric(d) => Ok(Datum::Numeric(d.abs())),
                Datum::Float(f) => Ok(Datum::Float(f.abs())),
                _ => Err(self.no_such(a)),
            },
            Func::Round => match (&a[0], a.get(1)) {
                // round(integer) resolves to round(double precision), as PostgreSQL.
                (Datum::Int(i), None) => Ok(Datum::Float(*i as f64)),
                (Datum::Float(f), None) => Ok(Datum::Float(numeric::rint(*f))),
                (Datum::Numeric(d), None) => Ok(Datum::Numeric(numeric::round_scale(*d, 0)?)),
                (Datum::Int(i), Some(Datum::Int(s))) => {
                    Ok(Datum::Numeric(numeric::round_scale(Decimal::from(*i), *s)?))
                }
                (Datum::Numeric(d), Some(Datum::Int(s))) => {
                    Ok(Datum::Numeric(numeric::round_scale(*d, *s)?))
                }
                _ => Err(self.no_such(a)),
            },
            Func::Ceil | Func::Floor => {
                let up = *self == Func::Ceil;
                match &a[0] {
                    Datum::Int(i) => Ok(Datum::Float(*i as f64)),
                    Datum::Float(f) => Ok(Datum::Float(if up { f.ceil() } else { f.floor() })),
                    Datum::Numeric(d) => Ok(Datum::Numeric(if up { d.ceil() } else { d.floor() })),
                    _ => Err(self.no_such(a)),
                }
            }
            Func::Mod => match (&a[0], &a[1]) {
                (Datum::Int(_) | Datum::Numeric(_), Datum::Int(_) | Datum::Numeric(_)) => {
                    arith(BinaryOp::Mod, &a[0], &a[1])
                }
                _ => Err(self.no_such(a)),
            },
            Func::Power => power(self, a),
            Func::Sqrt => match &a[0] {
                Datum::Numeric(d) => Ok(Datum::Numeric(numeric::sqrt(*d)?)),
                Datum::Int(_) | Datum::Float(_) => {
                    let f = match a[0] {
                        Datum::Int(i) => i as f64,
                        Datum::Float(f) => f,
                        _ => 0.0,
                    };
                    if f < 0.0 {
                        sql_bail!("cannot take square root of a negative number");
                    }
                    Ok(Datum::Float(f.sqrt()))
                }
                _ => Err(self.no_such(a)),
            },
            Func::DatePart | Func::Extract => {
                let Datum::Text(field) = &a[0] else {
                    return Err(self.no_such(a));
                };
                let part = date_part(field, &a[1]).map_err(|e| {
                    if e.0.is_empty() {
                        self.no_such(a)
                    } else {
                        e
                    }
                })?;
                Ok(match self {
                    Func::Extract => Datum::Numeric(extract_numeric(field, &a[1], part)),
                    _ => Datum::Float(part),
                })
            }
            Func::DateTrunc => {
                let Datum::Text(field) = &a[0] else {
                    return Err(self.no_such(a));
                };
                match &a[1] {
                    Datum::Timestamp(ts) => {
                        date_trunc(field, *ts, "timestamp without time zone").map(Datum::Timestamp)
                    }
                    Datum::TimestampTz(ts) => {
                        date_trunc(field, ts.naive_utc(), "timestamp with time zone")
                            .map(|t| Datum::TimestampTz(t.and_utc()))
                    }
                    // A date resolves to date_trunc(text, timestamptz), as PostgreSQL.
                    Datum::Date(d) => date_trunc(
                        field,
                        d.and_time(NaiveTime::MIN),
                        "timestamp with time zone",
                    )
                    .map(|t| Datum::TimestampTz(t.and_utc())),
                    Datum::Text(s) => {
                        let ts = types::parse_timestamptz(s)?;
                        date_trunc(field, ts.naive_utc(), "timestamp with time zone")
                            .map(|t| Datum::TimestampTz(t.and_utc()))
                    }
                    _ => Err(self.no_such(a)),
                }
            }
            // Handled above.
            Func::Coalesce
            | Func::Nullif
            | Func::Greatest
            | Func::Least
            | Func::Concat
            | Func::Now
            | Func::CurrentDate => Ok(Datum::Null),
        }
    }
}

/// LOWER/UPPER character by character, as PostgreSQL's towlower/towupper: a character
/// whose case mapping is several characters (ß → SS) stays as it is, and Σ lowers to σ
/// wherever it stands.
fn change_case(s: &str, upper: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        let mut m = [c; 3];
        let mut n = 0;
        let mut push = |x: char| {
            if n < 3 {
                m[n] = x;
            }
            n += 1;
        };
        if upper {
            c.to_uppercase().for_each(&mut push);
        } else {
            c.to_lowercase().for_each(&mut push);
        }
        out.push(if n == 1 { m[0] } else { c });
    }
    out
}

/// SUBSTRING(s FROM from [FOR count]), 1-based: the characters at positions
/// `from .. from + count` that exist (a start before 1 still counts toward the length).
fn substring(s: &str, from: i64, count: Option<i64>) -> String {
    let end = match count {
        Some(c) => from.checked_add(c).unwrap_or(i64::MAX),
        None => i64::MAX,
    };
    let start = from.max(1);
    if end <= start {
        return String::new();
    }
    let skip = (start - 1) as u64;
    let take = (end - start) as u64;
    s.chars()
        .skip(usize::try_from(skip).unwrap_or(usize::MAX))
        .take(usize::try_from(take).unwrap_or(usize::MAX))
        .collect()
}

/// split_part: field `n` (1-based; negative counts from the end).
fn split_part<'a>(s: &'a str, delim: &str, n: i64) -> SqlResult<&'a str> {
    if n == 0 {
        sql_bail!("field position must not be zero");
    }
    if s.is_empty() {
        return Ok("");
    }
    if delim.is_empty() {
        return Ok(if n == 1 || n == -1 { s } else { "" });
    }
    let idx = usize::try_from(n.unsigned_abs() - 1).unwrap_or(usize::MAX);
    Ok(if n > 0 {
        s.split(delim).nth(idx).unwrap_or("")
    } else {
        let fields: Vec<&str> = s.split(delim).collect();
        fields.len().checked_sub(idx + 1).map_or("", |i| fields[i])
    })
}

/// power(): double precision unless both sides are numeric/integer with at least one
/// numeric (power(int, int) is double precision in PostgreSQL).
fn power(func: &Func, a: &[Datum]) -> SqlResult<Datum> {
    match (&a[0], &a[1]) {
        (Datum::Numeric(_), Datum::Int(_) | Datum::Numeric(_))
        | (Datum::Int(_), Datum::Numeric(_)) => {
            let x = match &a[0] {
                Datum::Int(i) => Decimal::from(*i),
                Datum::Numeric(d) => *d,
                _ => Decimal::ZERO,
            };
            let y = match &a[1] {
                Datum::Int(i) => Decimal::from(*i),
                Datum::Numeric(d) => *d,
                _ => Decimal::ZERO,
            };
            Ok(Datum::Numeric(numeric::power(x, y)?))
        }
        (
            Datum::Int(_) | Datum::Float(_) | Datum::Numeric(_),
            Datum::Int(_) | Datum::Float(_) | Datum::Numeric(_),
        ) => {
            let f = |d: &Datum| match d {
                Datum::Int(i) => *i as f64,
                Datum::Float(f) => *f,
                Datum::Numeric(n) => numeric::to_f64(*n),
                _ => 0.0,
            };
            let (x, y) = (f(&a[0]), f(&a[1]));
            if x == 0.0 && y < 0.0 {
                sql_bail!("zero raised to a negative power is undefined");
            }
            if x < 0.0 && y.fract() != 0.0 && y.is_finite() {
                sql_bail!(
                    "a negative number raised to a non-integer power yields a complex result"
                );
            }
            let r = x.powf(y);
            let finite = x.is_finite() && y.is_finite();
            Ok(Datum::Float(numeric::check_float(r, finite, x != 0.0)?))
        }
        _ => Err(func.no_such(a)),
    }
}

/// Units of DATE_PART / DATE_TRUNC, with PostgreSQL's spellings.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Unit {
    Microseconds,
    Milliseconds,
    Second,
    Minute,
    Hour,
    Day,
    Week,
    Month,
    Quarter,
    Year,
    Decade,
    Century,
    Millennium,
    Dow,
    IsoDow,
    Doy,
    Epoch,
    IsoYear,
}

fn unit(field: &str) -> Option<Unit> {
    let f = field.trim().to_ascii_lowercase();
    Some(match f.as_str() {
        "microsecond" | "microseconds" | "us" | "usec" | "usecs" | "useconds" => Unit::Microseconds,
        "millisecond" | "milliseconds" | "ms" | "msec" | "msecs" | "mseconds" => Unit::Milliseconds,
        "second" | "seconds" | "s" | "sec" | "secs" => Unit::Second,
        "minute" | "minutes" | "m" | "min" | "mins" => Unit::Minute,
        "hour" | "hours" | "h" | "hr" | "hrs" => Unit::Hour,
        "day" | "days" | "d" => Unit::Day,
        "week" | "weeks" | "w" => Unit::Week,
        "month" | "months" | "mon" | "mons" => Unit::Month,
        "quarter" | "qtr" => Unit::Quarter,
        "year" | "years" | "y" | "yr" | "yrs" => Unit::Year,
        "decade" | "decades" | "dec" => Unit::Decade,
        "century" | "centuries" | "c" | "cent" => Unit::Century,
        "millennium" | "millennia" | "mil" | "mils" => Unit::Millennium,
        "dow" => Unit::Dow,
        "isodow" => Unit::IsoDow,
        "doy" => Unit::Doy,
        "epoch" => Unit::Epoch,
        "isoyear" => Unit::IsoYear,
        _ => return None,
    })
}

/// PostgreSQL's year: 1 BC is -1 (chrono calls it 0).
fn pg_year(d: NaiveDate) -> i64 {
    let y = d.year() as i64;
    if y <= 0 {
        y - 1
    } else {
        y
    }
}

/// DATE_PART(field, source) as double precision. An empty error message means "no
/// such function for this argument type" (the caller names the types).
fn date_part(field: &str, source: &Datum) -> SqlResult<f64> {
    let (ts, type_name) = match source {
        Datum::Timestamp(t) => (*t, "timestamp without time zone"),
        Datum::TimestampTz(t) => (t.naive_utc(), "timestamp with time zone"),
        Datum::Date(d) => (d.and_time(NaiveTime::MIN), "timestamp without time zone"),
        Datum::Text(s) => (
            types::parse_timestamptz(s)?.naive_utc(),
            "timestamp with time zone",
        ),
        Datum::Time(t) => return time_part(field, *t),
        _ => return Err(SqlError::new("")),
    };
    let Some(u) = unit(field) else {
        sql_bail!("unit \"{field}\" not recognized for type {type_name}");
    };
    let d = ts.date();
    let t = ts.time();
    let micros = (t.nanosecond() % 1_000_000_000 / 1000) as f64;
    let sec = t.second() as f64;
    let y = pg_year(d);
    Ok(match u {
        Unit::Microseconds => sec * 1e6 + micros,
        Unit::Milliseconds => sec * 1e3 + micros / 1e3,
        Unit::Second => sec + micros / 1e6,
        Unit::Minute => t.minute() as f64,
        Unit::Hour => t.hour() as f64,
        Unit::Day => d.day() as f64,
        Unit::Week => d.iso_week().week() as f64,
        Unit::Month => d.month() as f64,
        Unit::Quarter => ((d.month() - 1) / 3 + 1) as f64,
        Unit::Year => y as f64,
        Unit::Decade => {
            (if y >= 0 {
                y / 10
            } else {
                -((8 - (y - 1)) / 10)
            }) as f64
        }
        Unit::Century => {
            (if y > 0 {
                (y + 99) / 100
            } else {
                -((99 - (y - 1)) / 100)
            }) as f64
        }
        Unit::Millennium => {
            (if y > 0 {
                (y + 999) / 1000
            } else {
                -((999 - (y - 1)) / 1000)
            }) as f64
        }
        Unit::Dow => d.weekday().num_days_from_sunday() as f64,
        Unit::IsoDow => d.weekday().number_from_monday() as f64,
        Unit::Doy => d.ordinal() as f64,
        Unit::IsoYear => d.iso_week().year() as f64,
        Unit::Epoch => {
            let utc: DateTime<Utc> = ts.and_utc();
            utc.timestamp() as f64 + micros / 1e6
        }
    })
}

/// EXTRACT's NUMERIC for a DATE_PART value: seconds and epochs of times and timestamps
/// to the microsecond (scale 6), milliseconds to the microsecond (scale 3), every other
/// part (and every part of a date) a whole number, as PostgreSQL prints them.
fn extract_numeric(field: &str, source: &Datum, part: f64) -> Decimal {
    let scale = match (unit(field), source) {
        (_, Datum::Date(_)) => 0,
        (Some(Unit::Second | Unit::Epoch), _) => 6,
        (Some(Unit::Milliseconds), _) => 3,
        _ => 0,
    };
    // Parts are whole microseconds below 2^53, so the product is exact once rounded.
    let scaled = (part * 10f64.powi(scale as i32)).round();
    Decimal::new(scaled as i64, scale)
}

fn time_part(field: &str, t: NaiveTime) -> SqlResult<f64> {
    let type_name = "time without time zone";
    let Some(u) = unit(field) else {
        sql_bail!("unit \"{field}\" not recognized for type {type_name}");
    };
    let micros = (t.nanosecond() % 1_000_000_000 / 1000) as f64;
    let sec = t.second() as f64;
    Ok(match u {
        Unit::Microseconds => sec * 1e6 + micros,
        Unit::Milliseconds => sec * 1e3 + micros / 1e3,
        Unit::Second => sec + micros / 1e6,
        Unit::Minute => t.minute() as f64,
        Unit::Hour => t.hour() as f64,
        Unit::Epoch => t.num_seconds_from_midnight() as f64 + micros / 1e6,
        _ => sql_bail!("unit \"{field}\" not supported for type {type_name}"),
    })
}

/// DATE_TRUNC(field, timestamp): the start of the unit containing `ts` (weeks start on
/// Monday; decades, centuries and millennia as PostgreSQL counts them: 2020, 2001, 2001).
fn date_trunc(field: &str, ts: NaiveDateTime, type_name: &str) -> SqlResult<NaiveDateTime> {
    let Some(u) = unit(field) else {
        sql_bail!("unit \"{field}\" not recognized for type {type_name}");
    };
    let out_of_range = || SqlError::new("timestamp out of range");
    let d = ts.date();
    let t = ts.time();
    let ymd = |y: i64, m: u32| -> SqlResult<NaiveDateTime> {
        let y = i32::try_from(y).map_err(|_| out_of_range())?;
        NaiveDate::from_ymd_opt(y, m, 1)
            .map(|d| d.and_time(NaiveTime::MIN))
            .ok_or_else(out_of_range)
    };
    let hms = |h: u32, m: u32, s: u32, nanos: u32| -> SqlResult<NaiveDateTime> {
        NaiveTime::from_hms_nano_opt(h, m, s, nanos)
            .map(|t| d.and_time(t))
            .ok_or_else(out_of_range)
    };
    let micros = t.nanosecond() % 1_000_000_000 / 1000;
    // Multi-year units count on the astronomical year (1 BC is 0, as chrono numbers
    // it): decades floor to a multiple of 10, centuries and millennia start at year 1
    // of their block (2001, 1901; 200 BC for 150 BC).
    let a = d.year() as i64;
    match u {
        Unit::Microseconds => hms(t.hour(), t.minute(), t.second(), micros * 1000),
        Unit::Milliseconds => hms(t.hour(), t.minute(), t.second(), micros / 1000 * 1_000_000),
        Unit::Second => hms(t.hour(), t.minute(), t.second(), 0),
        Unit::Minute => hms(t.hour(), t.minute(), 0, 0),
        Unit::Hour => hms(t.hour(), 0, 0, 0),
        Unit::Day => Ok(d.and_time(NaiveTime::MIN)),
        Unit::Week => {
            let back = d.weekday().num_days_from_monday() as i64;
            TimeDelta::try_days(back)
                .and_then(|delta| d.checked_sub_signed(delta))
                .map(|d| d.and_time(NaiveTime::MIN))
                .ok_or_else(out_of_range)
        }
        Unit::Month => ymd(a, d.month()),
        Unit::Quarter => ymd(a, (d.month() - 1) / 3 * 3 + 1),
        Unit::Year => ymd(a, 1),
        Unit::Decade => ymd(a.div_euclid(10) * 10, 1),
        Unit::Century => ymd((a - 1).div_euclid(100) * 100 + 1, 1),
        Unit::Millennium => ymd((a - 1).div_euclid(1000) * 1000 + 1, 1),
        _ => sql_bail!("unit \"{field}\" not recognized for type {type_name}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(s: &str) -> Datum {
        Datum::Text(s.into())
    }
    fn i(v: i64) -> Datum {
        Datum::Int(v)
    }
    fn n(s: &str) -> Datum {
        Datum::Numeric(s.parse().unwrap())
    }
    fn f(v: f64) -> Datum {
        Datum::Float(v)
    }
    fn ts(s: &str) -> Datum {
        Datum::Timestamp(types::parse_timestamp(s).unwrap())
    }
    fn call(func: Func, args: Vec<Datum>) -> String {
        let ctx = EvalCtx {
            now: Utc.with_ymd_and_hms(2024, 1, 31, 10, 0, 0).unwrap()
                + TimeDelta::nanoseconds(123_456_789),
        };
        match func.call(args, &ctx) {
            Ok(d) => {
                let mut s = String::new();
                d.write_json(&mut s);
                s
            }
            Err(e) => format!("ERR {e}"),
        }
    }

    #[test]
    fn lookup_and_names() {
        assert_eq!(Func::lookup("LOWER"), Some(Func::Lower));
        assert_eq!(Func::lookup("ceiling"), Some(Func::Ceil));
        assert_eq!(Func::lookup("Pow"), Some(Func::Power));
        assert_eq!(Func::lookup("char_length"), Some(Func::Length));
        assert_eq!(Func::lookup("substr"), Some(Func::Substring));
        assert_eq!(Func::lookup("current_timestamp"), Some(Func::Now));
        assert_eq!(Func::lookup("nope"), None);
        assert_eq!(Func::lookup("a_very_long_function_name_indeed"), None);
        assert_eq!(Func::Trim.name(), "btrim");
        assert_eq!(
            Func::Round.check_arity(0).unwrap_err().0,
            "function round() does not exist"
        );
        assert_eq!(
            Func::Lower.check_arity(2).unwrap_err().0,
            "function lower(unknown, unknown) does not exist"
        );
        assert!(Func::Round.check_arity(2).is_ok());
        assert!(Func::Coalesce.check_arity(5).is_ok());
        assert!(Func::Concat.check_arity(0).is_err());
    }

    #[test]
    fn string_functions() {
        assert_eq!(call(Func::Lower, vec![t("ÀB")]), "\"àb\"");
        assert_eq!(call(Func::Upper, vec![t("straße")]), "\"STRAßE\"");
        assert_eq!(call(Func::Lower, vec![t("ΟΔΟΣ")]), "\"οδοσ\"");
        assert_eq!(
            call(Func::Lower, vec![i(1)]),
            "ERR function lower(integer) does not exist"
        );
        assert_eq!(call(Func::Lower, vec![Datum::Null]), "null");
        assert_eq!(call(Func::Length, vec![t("héllo")]), "5");
        assert_eq!(call(Func::Length, vec![Datum::Bytea(vec![1, 2])]), "2");
        assert_eq!(call(Func::Trim, vec![t("  ab  ")]), "\"ab\"");
        assert_eq!(call(Func::Trim, vec![t("xxaxx"), t("x")]), "\"a\"");
        assert_eq!(call(Func::Ltrim, vec![t("  ab  ")]), "\"ab  \"");
        assert_eq!(call(Func::Rtrim, vec![t("xxabxx"), t("x")]), "\"xxab\"");
        assert_eq!(call(Func::Trim, vec![t("\tab ")]), "\"\\tab\"");
        assert_eq!(
            call(Func::Substring, vec![t("hello"), i(-1), i(3)]),
            "\"h\""
        );
        assert_eq!(call(Func::Substring, vec![t("hello"), i(0)]), "\"hello\"");
        assert_eq!(
            call(Func::Substring, vec![t("hello"), i(2), i(2)]),
            "\"el\""
        );
        assert_eq!(call(Func::Substring, vec![t("hello"), i(-5), i(3)]), "\"\"");
        assert_eq!(
            call(Func::Substring, vec![t("hello"), i(3), i(100)]),
            "\"llo\""
        );
        assert_eq!(call(Func::Substring, vec![t("héllo"), i(2)]), "\"éllo\"");
        assert_eq!(
            call(Func::Substring, vec![t("hello"), i(2), i(i64::MAX)]),
            "\"ello\""
        );
        assert_eq!(
            call(Func::Substring, vec![t("hello"), i(1), i(-1)]),
            "ERR negative substring length not allowed"
        );
        assert_eq!(
            call(Func::Replace, vec![t("abcabc"), t("b"), t("XY")]),
            "\"aXYcaXYc\""
        );
        assert_eq!(
            call(Func::Replace, vec![t("abc"), t(""), t("x")]),
            "\"abc\""
        );
        assert_eq!(
            call(
                Func::Concat,
                vec![i(1), Datum::Null, t("a"), Datum::Bool(true), n("1.50")]
            ),
            "\"1at1.50\""
        );
        assert_eq!(call(Func::Concat, vec![Datum::Null]), "\"\"");
        assert_eq!(call(Func::Position, vec![t("l"), t("héllo")]), "3");
        assert_eq!(call(Func::Position, vec![t(""), t("abc")]), "1");
        assert_eq!(call(Func::Position, vec![t("z"), t("abc")]), "0");
        assert_eq!(call(Func::Left, vec![t("héllo"), i(2)]), "\"hé\"");
        assert_eq!(call(Func::Left, vec![t("hello"), i(-2)]), "\"hel\"");
        assert_eq!(call(Func::Left, vec![t("abc"), i(-5)]), "\"\"");
        assert_eq!(call(Func::Left, vec![t("abc"), i(i64::MIN)]), "\"\"");
        assert_eq!(call(Func::Right, vec![t("héllo"), i(2)]), "\"lo\"");
        assert_eq!(call(Func::Right, vec![t("hello"), i(-2)]), "\"llo\"");
        assert_eq!(call(Func::Right, vec![t("abc"), i(10)]), "\"abc\"");
        assert_eq!(
            call(Func::SplitPart, vec![t("a,b,c"), t(","), i(2)]),
            "\"b\""
        );
        assert_eq!(
            call(Func::SplitPart, vec![t("a,b,c"), t(","), i(-1)]),
            "\"c\""
        );
        assert_eq!(
            call(Func::SplitPart, vec![t("a,b,c"), t(","), i(4)]),
            "\"\""
        );
        assert_eq!(
            call(Func::SplitPart, vec![t("a,b,c"), t(","), i(-4)]),
            "\"\""
        );
        assert_eq!(call(Func::SplitPart, vec![t(""), t(","), i(1)]), "\"\"");
        assert_eq!(
            call(Func::SplitPart, vec![t("abc"), t(""), i(1)]),
            "\"abc\""
        );
        assert_eq!(call(Func::SplitPart, vec![t("abc"), t(""), i(2)]), "\"\"");
        assert_eq!(
            call(Func::SplitPart, vec![t("abc"), t(","), i(i64::MIN)]),
            "\"\""
        );
        assert_eq!(
            call(Func::SplitPart, vec![t("a,b"), t(","), i(0)]),
            "ERR field position must not be zero"
        );
    }

    #[test]
    fn math_functions() {
        assert_eq!(call(Func::Abs, vec![i(-5)]), "5");
        assert_eq!(
            call(Func::Abs, vec![i(i64::MIN)]),
            "ERR bigint out of range"
        );
        assert_eq!(call(Func::Abs, vec![n("-2.5")]), "2.5");
        assert_eq!(call(Func::Abs, vec![f(-1.5)]), "1.5");
        assert_eq!(
            call(Func::Abs, vec![t("x")]),
            "ERR function abs(text) does not exist"
        );
        assert_eq!(call(Func::Round, vec![n("2.5")]), "3");
        assert_eq!(call(Func::Round, vec![n("-2.5")]), "-3");
        assert_eq!(call(Func::Round, vec![f(2.5)]), "2");
        assert_eq!(call(Func::Round, vec![f(3.5)]), "4");
        assert_eq!(call(Func::Round, vec![f(-0.5)]), "-0");
        assert_eq!(call(Func::Round, vec![i(5)]), "5");
        assert_eq!(call(Func::Round, vec![n("1234.567"), i(-2)]), "1200");
        assert_eq!(call(Func::Round, vec![n("-2.45"), i(1)]), "-2.5");
        assert_eq!(call(Func::Round, vec![n("2.5"), i(3)]), "2.500");
        assert_eq!(call(Func::Round, vec![i(7), i(2)]), "7.00");
        assert_eq!(
            call(Func::Round, vec![f(2.5), i(1)]),
            "ERR function round(double precision, integer) does not exist"
        );
        assert_eq!(call(Func::Ceil, vec![n("2.1")]), "3");
        assert_eq!(call(Func::Ceil, vec![f(-0.5)]), "-0");
        assert_eq!(call(Func::Floor, vec![n("-2.1")]), "-3");
        assert_eq!(call(Func::Floor, vec![f(-2.1)]), "-3");
        assert_eq!(call(Func::Mod, vec![i(-7), i(3)]), "-1");
        assert_eq!(call(Func::Mod, vec![n("7.5"), i(2)]), "1.5");
        assert_eq!(call(Func::Mod, vec![i(1), i(0)]), "ERR division by zero");
        assert_eq!(
            call(Func::Mod, vec![f(5.5), i(2)]),
            "ERR function mod(double precision, integer) does not exist"
        );
        assert_eq!(call(Func::Power, vec![i(2), i(10)]), "1024");
        assert_eq!(
            call(Func::Power, vec![n("2.0"), i(10)]),
            "1024.0000000000000000"
        );
        assert_eq!(
            call(Func::Power, vec![f(2.0), f(0.5)]),
            "1.4142135623730951"
        );
        assert_eq!(
            call(Func::Power, vec![i(0), i(-1)]),
            "ERR zero raised to a negative power is undefined"
        );
        assert_eq!(
            call(Func::Power, vec![f(-8.0), f(0.5)]),
            "ERR a negative number raised to a non-integer power yields a complex result"
        );
        assert_eq!(
            call(Func::Power, vec![f(10.0), i(400)]),
            "ERR value out of range: overflow"
        );
        assert_eq!(call(Func::Sqrt, vec![i(16)]), "4");
        assert_eq!(call(Func::Sqrt, vec![n("2")]), "1.414213562373095");
        assert_eq!(
            call(Func::Sqrt, vec![f(-1.0)]),
            "ERR cannot take square root of a negative number"
        );
    }

    #[test]
    fn null_handling_functions() {
        assert_eq!(call(Func::Coalesce, vec![Datum::Null, i(2), i(3)]), "2");
        assert_eq!(call(Func::Coalesce, vec![Datum::Null]), "null");
        assert_eq!(call(Func::Nullif, vec![i(1), n("1.0")]), "null");
        assert_eq!(call(Func::Nullif, vec![i(1), i(2)]), "1");
        assert_eq!(call(Func::Nullif, vec![i(1), Datum::Null]), "1");
        assert_eq!(call(Func::Nullif, vec![Datum::Null, i(1)]), "null");
        assert_eq!(
            call(Func::Greatest, vec![i(1), n("2.5"), Datum::Null]),
            "2.5"
        );
        assert_eq!(call(Func::Least, vec![t("b"), t("a")]), "\"a\"");
        assert_eq!(call(Func::Least, vec![Datum::Null, Datum::Null]), "null");
        assert_eq!(
            call(Func::Greatest, vec![i(1), t("a")]),
            "ERR operator does not exist: text = integer"
        );
    }

    #[test]
    fn date_functions() {
        assert_eq!(call(Func::Now, vec![]), "\"2024-01-31 10:00:00.123456+00\"");
        assert_eq!(call(Func::CurrentDate, vec![]), "\"2024-01-31\"");
        let dp = |field: &str, src: Datum| call(Func::DatePart, vec![t(field), src]);
        let x = ts("2024-01-01 10:00:10.5");
        assert_eq!(dp("second", x.clone()), "10.5");
        assert_eq!(dp("milliseconds", x.clone()), "10500");
        assert_eq!(dp("microseconds", x.clone()), "10500000");
        assert_eq!(dp("epoch", x.clone()), "1704103210.5");
        assert_eq!(dp("YEAR", x.clone()), "2024");
        assert_eq!(dp("hour", x.clone()), "10");
        let d = |s: &str| SqlTypeDate::date(s);
        assert_eq!(dp("century", d("2024-01-01")), "21");
        assert_eq!(dp("decade", d("2024-01-01")), "202");
        assert_eq!(dp("millennium", d("2024-05-01")), "3");
        assert_eq!(dp("dow", d("2024-01-31")), "3");
        assert_eq!(dp("isodow", d("2024-01-28")), "7");
        assert_eq!(dp("week", d("2024-01-01")), "1");
        assert_eq!(dp("isoyear", d("2024-12-30")), "2025");
        assert_eq!(dp("doy", d("2024-12-31")), "366");
        assert_eq!(dp("quarter", d("2024-05-01")), "2");
        assert_eq!(dp("hour", d("2024-01-01")), "0");
        assert_eq!(dp("decade", d("0005-01-01 BC")), "-1");
        assert_eq!(dp("century", d("0001-01-01 BC")), "-1");
        assert_eq!(dp("year", d("0001-01-01 BC")), "-1");
        let tz = Datum::TimestampTz(types::parse_timestamptz("2024-01-01 00:00:00+00").unwrap());
        assert_eq!(dp("epoch", tz), "1704067200");
        let time = Datum::Time(types::parse_time("10:30").unwrap());
        assert_eq!(dp("hour", time.clone()), "10");
        assert_eq!(
            dp("day", time),
            "ERR unit \"day\" not supported for type time without time zone"
        );
        assert_eq!(
            dp("foo", x.clone()),
            "ERR unit \"foo\" not recognized for type timestamp without time zone"
        );
        assert_eq!(
            dp("year", i(1)),
            "ERR function date_part(text, integer) does not exist"
        );

        let dt = |field: &str, src: Datum| call(Func::DateTrunc, vec![t(field), src]);
        let y = ts("2024-05-17 10:11:12.345678");
        assert_eq!(dt("quarter", y.clone()), "\"2024-04-01 00:00:00\"");
        assert_eq!(dt("milliseconds", y.clone()), "\"2024-05-17 10:11:12.345\"");
        assert_eq!(dt("second", y.clone()), "\"2024-05-17 10:11:12\"");
        assert_eq!(dt("minute", y.clone()), "\"2024-05-17 10:11:00\"");
        assert_eq!(dt("day", y.clone()), "\"2024-05-17 00:00:00\"");
        assert_eq!(dt("month", y.clone()), "\"2024-05-01 00:00:00\"");
        assert_eq!(dt("year", y.clone()), "\"2024-01-01 00:00:00\"");
        assert_eq!(
            dt("week", ts("2024-05-05 00:00:00")),
            "\"2024-04-29 00:00:00\""
        );
        assert_eq!(dt("decade", y.clone()), "\"2020-01-01 00:00:00\"");
        assert_eq!(dt("century", y.clone()), "\"2001-01-01 00:00:00\"");
        assert_eq!(
            dt("century", ts("2000-12-31 00:00:00")),
            "\"1901-01-01 00:00:00\""
        );
        assert_eq!(dt("millennium", y.clone()), "\"2001-01-01 00:00:00\"");
        assert_eq!(
            dt("decade", ts("0005-06-01 BC")),
            "\"0011-01-01 00:00:00 BC\""
        );
        assert_eq!(
            dt("decade", ts("0015-06-01 BC")),
            "\"0021-01-01 00:00:00 BC\""
        );
        assert_eq!(
            dt("century", ts("0150-06-01 BC")),
            "\"0200-01-01 00:00:00 BC\""
        );
        assert_eq!(
            dt("millennium", ts("0150-06-01 BC")),
            "\"1000-01-01 00:00:00 BC\""
        );
        let tz = Datum::TimestampTz(types::parse_timestamptz("2024-05-17 10:11:12+00").unwrap());
        assert_eq!(dt("hour", tz), "\"2024-05-17 10:00:00+00\"");
        assert_eq!(dt("week", d("2024-01-03")), "\"2024-01-01 00:00:00+00\"");
        assert_eq!(
            dt("dow", y.clone()),
            "ERR unit \"dow\" not recognized for type timestamp without time zone"
        );
    }

    struct SqlTypeDate;
    impl SqlTypeDate {
        fn date(s: &str) -> Datum {
            Datum::Date(types::parse_date(s).unwrap())
        }
    }
}
