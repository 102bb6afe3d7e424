//! Number helpers with PostgreSQL's rules: NUMERIC parsing and result scales (division,
//! square root, power), rounding, float text (float8out's shortest form) and the
//! float-to-numeric conversion. NUMERIC is `rust_decimal::Decimal`: 96-bit mantissa,
//! scale ≤ 28, so results PostgreSQL could represent beyond ~28 digits overflow here
//! with `value overflows numeric format`.

use std::fmt::Write as _;

use rust_decimal::prelude::{FromPrimitive, ToPrimitive};
use rust_decimal::{Decimal, RoundingStrategy};

use super::error::{sql_bail, SqlError, SqlResult};

/// PostgreSQL's minimum significant digits for inexact NUMERIC results (NUMERIC_MIN_SIG_DIGITS).
const MIN_SIG_DIGITS: i32 = 16;
/// The largest scale `Decimal` can hold.
pub const MAX_SCALE: u32 = 28;

pub fn overflow() -> SqlError {
    SqlError::new("value overflows numeric format")
}

/// A small fixed buffer for formatting numbers without a heap allocation.
pub struct StackStr {
    buf: [u8; 128],
    len: usize,
}

impl StackStr {
    pub fn new() -> Self {
        StackStr {
            buf: [0; 128],
            len: 0,
        }
    }
    pub fn as_str(&self) -> &str {
        // Only whole `&str`s are ever copied in, so the prefix is valid UTF-8.
        std::str::from_utf8(&self.buf[..self.len]).unwrap_or("")
    }
}

impl Default for StackStr {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Write for StackStr {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let end = self.len + s.len();
        if end > self.buf.len() {
            return Err(std::fmt::Error);
        }
        self.buf[self.len..end].copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

/// Why a text did not read as a number.
#[derive(Debug, PartialEq, Eq)]
pub enum NumParseError {
    Syntax,
    Overflow,
}

/// PostgreSQL's numeric input: surrounding whitespace, sign, digits with an optional
/// point, optional exponent. (NaN and Infinity have no `Decimal` form.)
pub fn parse_numeric(text: &str) -> Result<Decimal, NumParseError> {
    let s = text.trim_matches(|c: char| c.is_ascii_whitespace());
    let b = s.as_bytes();
    let mut i = 0;
    if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
        i += 1;
    }
    let mut digits = 0;
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
        digits += 1;
    }
    if i < b.len() && b[i] == b'.' {
        i += 1;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
            digits += 1;
        }
    }
    if digits == 0 {
        return Err(NumParseError::Syntax);
    }
    let mantissa_end = i;
    let mut exp: i64 = 0;
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        i += 1;
        let neg = i < b.len() && b[i] == b'-';
        if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
            i += 1;
        }
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            exp = exp.saturating_mul(10).saturating_add((b[i] - b'0') as i64);
            i += 1;
        }
        if i == start {
            return Err(NumParseError::Syntax);
        }
        if neg {
            exp = -exp;
        }
    }
    if i != b.len() {
        return Err(NumParseError::Syntax);
    }
    let mut m = &s[..mantissa_end];
    if let Some(rest) = m.strip_prefix('+') {
        m = rest;
    }
    let d = match m.parse::<Decimal>() {
        Ok(d) => d,
        // Too many integer digits for 96 bits.
        Err(_) => return Err(NumParseError::Overflow),
    };
    if exp == 0 {
        return Ok(d);
    }
    scale_by_pow10(d, exp).ok_or(NumParseError::Overflow)
}

/// `d * 10^exp`, keeping the digits exact where `Decimal` can.
fn scale_by_pow10(d: Decimal, exp: i64) -> Option<Decimal> {
    if exp > 0 {
        let mut r = d;
        // Reduce the scale first (free), then multiply by ten for the rest.
        let mut left = exp;
        let s = r.scale() as i64;
        let take = left.min(s);
        if take > 0 {
            r.set_scale((s - take) as u32).ok()?;
            left -= take;
        }
        if left > 40 {
            return if r.is_zero() {
                Some(Decimal::ZERO)
            } else {
                None
            };
        }
        for _ in 0..left {
            r = r.checked_mul(Decimal::TEN)?;
        }
        Some(r)
    } else {
        let new_scale = d.scale() as i64 - exp;
        if new_scale <= MAX_SCALE as i64 {
            let mut r = d;
            r.set_scale(new_scale as u32).ok()?;
            Some(r)
        } else {
            // More fractional digits than Decimal holds: round away the excess.
            let mut r = d;
            let excess = new_scale - MAX_SCALE as i64;
            if excess > 40 {
                return Some(Decimal::ZERO);
            }
            for _ in 0..excess {
                r /= Decimal::TEN;
            }
            r.set_scale((r.scale() as i64 + excess).min(MAX_SCALE as i64) as u32)
                .ok()?;
            Some(r.round_dp_with_strategy(MAX_SCALE, RoundingStrategy::MidpointAwayFromZero))
        }
    }
}

/// The NUMERIC rounded half away from zero to `scale` digits after the point (negative:
/// to tens, hundreds...), as PostgreSQL's round(numeric, int). The result's scale is
/// `max(scale, 0)`, padded with zeros.
pub fn round_scale(d: Decimal, scale: i64) -> SqlResult<Decimal> {
    if scale >= 0 {
        let s = scale.min(MAX_SCALE as i64) as u32;
        let mut r = d.round_dp_with_strategy(s, RoundingStrategy::MidpointAwayFromZero);
        r.rescale(s);
        Ok(r)
    } else {
        let k = -scale;
        if k > 29 {
            return Ok(Decimal::ZERO);
        }
        let mut p = Decimal::ONE;
        for _ in 0..k {
            p = match p.checked_mul(Decimal::TEN) {
                Some(v) => v,
                None => return Ok(Decimal::ZERO),
            };
        }
        let q = d
            .checked_div(p)
            .ok_or_else(overflow)?
            .round_dp_with_strategy(0, RoundingStrategy::MidpointAwayFromZero);
        let mut r = q.checked_mul(p).ok_or_else(overflow)?;
        r.rescale(0);
        Ok(r)
    }
}

/// The NUMERIC's weight and first digit in base 10000 (PostgreSQL's internal digits),
/// which decide the scale of a quotient. Zero has weight 0 and first digit 0.
fn base10000_head(d: Decimal) -> (i64, u128) {
    let m = d.mantissa().unsigned_abs();
    if m == 0 {
        return (0, 0);
    }
    let nd = decimal_digits(m) as i64;
    // Exponent of the leading decimal digit.
    let e10 = nd - 1 - d.scale() as i64;
    let weight = e10.div_euclid(4);
    // The group of decimal positions [4w, 4w+3]: floor(|d| / 10^(4w)) mod 10000.
    let shift = d.scale() as i64 + 4 * weight; // |d| / 10^(4w) = m / 10^shift
    let v = if shift >= 0 {
        m / pow10_u128(shift as u32)
    } else {
        m.saturating_mul(pow10_u128((-shift) as u32))
    };
    (weight, v % 10000)
}

fn pow10_u128(n: u32) -> u128 {
    10u128.saturating_pow(n)
}

fn decimal_digits(mut m: u128) -> u32 {
    let mut n = 1;
    while m >= 10 {
        m /= 10;
        n += 1;
    }
    n
}

/// NUMERIC division with PostgreSQL's result scale: at least 16 significant digits, and
/// at least the scale of either input (`5/2` → `2.5000000000000000`,
/// `1.0/3` → `0.33333333333333333333`).
pub fn div(a: Decimal, b: Decimal) -> SqlResult<Decimal> {
    if b.is_zero() {
        sql_bail!("division by zero");
    }
    let (w1, f1) = base10000_head(a);
    let (w2, f2) = base10000_head(b);
    let mut qweight = w1 - w2;
    if f1 <= f2 {
        qweight -= 1;
    }
    let rscale = (MIN_SIG_DIGITS as i64 - qweight * 4)
        .max(a.scale() as i64)
        .max(b.scale() as i64)
        .clamp(0, 1000);
    let q = a.checked_div(b).ok_or_else(overflow)?;
    round_scale(q, rscale)
}

/// NUMERIC remainder (sign of the dividend), scale of the wider input.
pub fn rem(a: Decimal, b: Decimal) -> SqlResult<Decimal> {
    if b.is_zero() {
        sql_bail!("division by zero");
    }
    a.checked_rem(b).ok_or_else(overflow)
}

/// NUMERIC square root with PostgreSQL's scale (about 16 significant digits, at least
/// the input's scale).
pub fn sqrt(d: Decimal) -> SqlResult<Decimal> {
    if d.is_sign_negative() && !d.is_zero() {
        sql_bail!("cannot take square root of a negative number");
    }
    let (w, _) = base10000_head(d);
    let sweight = (w + 1) * 4 / 2 - 1;
    let rscale = (MIN_SIG_DIGITS as i64 - sweight)
        .max(d.scale() as i64)
        .clamp(0, 1000);
    if d.is_zero() {
        return round_scale(Decimal::ZERO, rscale);
    }
    round_scale(sqrt_raw(d)?, rscale)
}

/// Newton's iteration in Decimal, started from the f64 root (so a few steps suffice).
fn sqrt_raw(d: Decimal) -> SqlResult<Decimal> {
    let guess = to_f64(d).sqrt();
    let mut x = Decimal::from_f64(guess).unwrap_or(Decimal::ONE);
    if x.is_zero() {
        x = Decimal::ONE;
    }
    let two = Decimal::TWO;
    for _ in 0..100 {
        let q = match d.checked_div(x) {
            Some(q) => q,
            None => break,
        };
        let next = match x.checked_add(q) {
            Some(s) => s / two,
            None => break,
        };
        if next == x {
            break;
        }
        x = next;
    }
    Ok(x)
}

/// power(numeric, numeric) with PostgreSQL's errors and result scale: integer exponents
/// are exact (scale ≥ 16); others keep about 16 significant digits (computed through
/// f64 except for square roots, so the last digit may differ from PostgreSQL).
pub fn power(base: Decimal, exp: Decimal) -> SqlResult<Decimal> {
    if base.is_zero() && exp.is_sign_negative() && !exp.is_zero() {
        sql_bail!("zero raised to a negative power is undefined");
    }
    let min_scale = (MIN_SIG_DIGITS as i64)
        .max(base.scale() as i64)
        .max(exp.scale() as i64);
    if exp.fract().is_zero() {
        let n = exp.trunc().to_i64().ok_or_else(overflow)?;
        let r = pow_int(base, n)?;
        return round_scale(r, min_scale);
    }
    if base.is_sign_negative() && !base.is_zero() {
        sql_bail!("a negative number raised to a non-integer power yields a complex result");
    }
    let raw = if exp == Decimal::new(5, 1) {
        sqrt_raw(base)?
    } else {
        let f = to_f64(base).powf(to_f64(exp));
        if !f.is_finite() {
            return Err(overflow());
        }
        Decimal::from_f64(f).ok_or_else(overflow)?
    };
    let mag = if raw.is_zero() {
        0
    } else {
        to_f64(raw.abs()).log10().floor() as i64
    };
    let rscale = (MIN_SIG_DIGITS as i64 - mag)
        .max(base.scale() as i64)
        .max(exp.scale() as i64)
        .clamp(0, 1000);
    round_scale(raw, rscale)
}

fn pow_int(base: Decimal, n: i64) -> SqlResult<Decimal> {
    let mut result = Decimal::ONE;
    let mut b = base;
    let mut e = n.unsigned_abs();
    while e > 0 {
        if e & 1 == 1 {
            result = result.checked_mul(b).ok_or_else(overflow)?;
        }
        e >>= 1;
        if e > 0 {
            b = b.checked_mul(b).ok_or_else(overflow)?;
        }
    }
    if n < 0 {
        result = Decimal::ONE.checked_div(result).ok_or_else(overflow)?;
    }
    Ok(result)
}

/// The NUMERIC as the nearest f64 (through its exact decimal text, so the conversion is
/// correctly rounded).
pub fn to_f64(d: Decimal) -> f64 {
    let mut s = StackStr::new();
    if write!(s, "{d}").is_ok() {
        if let Ok(f) = s.as_str().parse::<f64>() {
            return f;
        }
    }
    d.to_f64().unwrap_or(0.0)
}

/// float8 → numeric as PostgreSQL: the float's 15 significant digits (`0.1` → `0.1`,
/// `1/3` → `0.333333333333333`).
pub fn from_f64(f: f64) -> SqlResult<Decimal> {
    if f.is_nan() {
        sql_bail!("cannot convert NaN to numeric");
    }
    if f.is_infinite() {
        sql_bail!("cannot convert infinity to numeric");
    }
    let mut s = StackStr::new();
    if write!(s, "{f:.14e}").is_err() {
        return Err(overflow());
    }
    let (mant, exp) = s.as_str().split_once('e').ok_or_else(overflow)?;
    let exp: i64 = exp.parse().map_err(|_| overflow())?;
    // Drop the trailing zeros %g would drop.
    let mant = if mant.contains('.') {
        mant.trim_end_matches('0').trim_end_matches('.')
    } else {
        mant
    };
    let d: Decimal = mant.parse().map_err(|_| overflow())?;
    let r = scale_by_pow10(d, exp).ok_or_else(overflow)?;
    // `1e20` has no fractional digits: keep scale minimal as %g would.
    Ok(if r.scale() > 0 { r.normalize() } else { r })
}

/// Appends the float as PostgreSQL prints double precision: the shortest digits that
/// read back exactly, in exponent form below 1e-4 and from 1e15 on (`1e+15`,
/// `1.5e-05`), `NaN`, `Infinity`, `-Infinity`, `-0`.
pub fn write_float(f: f64, out: &mut String) {
    if f.is_nan() {
        out.push_str("NaN");
        return;
    }
    if f.is_infinite() {
        out.push_str(if f > 0.0 { "Infinity" } else { "-Infinity" });
        return;
    }
    let mut s = StackStr::new();
    // `{:e}` gives the shortest round-trip digits: "1.2345e-7", "-0e0".
    if write!(s, "{f:e}").is_err() {
        let _ = write!(out, "{f}");
        return;
    }
    let text = s.as_str();
    let (mant, exp) = match text.split_once('e') {
        Some(p) => p,
        None => {
            out.push_str(text);
            return;
        }
    };
    let exp: i32 = exp.parse().unwrap_or(0);
    let (neg, mant) = match mant.strip_prefix('-') {
        Some(m) => (true, m),
        None => (false, mant),
    };
    let mut digits = StackStr::new();
    for c in mant.chars().filter(|c| *c != '.') {
        let _ = digits.write_char(c);
    }
    let digits = digits.as_str();
    if neg {
        out.push('-');
    }
    if !(-4..15).contains(&exp) {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        out.push('e');
        out.push(if exp < 0 { '-' } else { '+' });
        let _ = write!(out, "{:02}", exp.unsigned_abs());
    } else if exp < 0 {
        out.push_str("0.");
        for _ in 0..(-exp - 1) {
            out.push('0');
        }
        out.push_str(digits);
    } else {
        let int_len = exp as usize + 1;
        if digits.len() <= int_len {
            out.push_str(digits);
            for _ in digits.len()..int_len {
                out.push('0');
            }
        } else {
            out.push_str(&digits[..int_len]);
            out.push('.');
            out.push_str(&digits[int_len..]);
        }
    }
}

/// PostgreSQL's float8 arithmetic check: an infinite result from finite inputs is an
/// overflow, a zero result from non-zero inputs an underflow.
pub fn check_float(r: f64, inputs_finite: bool, inputs_nonzero: bool) -> SqlResult<f64> {
    if r.is_infinite() && inputs_finite {
        sql_bail!("value out of range: overflow");
    }
    if r == 0.0 && inputs_nonzero {
        sql_bail!("value out of range: underflow");
    }
    Ok(r)
}

/// Round half to even, as PostgreSQL's rint() for float → integer and round(float).
pub fn rint(f: f64) -> f64 {
    f.round_ties_even()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    fn ftext(f: f64) -> String {
        let mut s = String::new();
        write_float(f, &mut s);
        s
    }

    #[test]
    fn division_scale_matches_postgres() {
        // Expected values from PostgreSQL 15.
        let cases = [
            ("5", "2", "2.5000000000000000"),
            ("1.0", "3", "0.33333333333333333333"),
            ("5", "5", "1.00000000000000000000"),
            ("10", "3", "3.3333333333333333"),
            ("1000000", "3", "333333.333333333333"),
            ("2", "3000", "0.00066666666666666667"),
            ("12345", "1.5", "8230.0000000000000000"),
            ("99", "100", "0.99000000000000000000"),
            ("100", "99", "1.0101010101010101"),
            ("1.5", "1.4", "1.07142857142857142857"),
            ("15", "1.4", "10.7142857142857143"),
            ("0", "5", "0.00000000000000000000"),
            ("0", "50000", "0.000000000000000000000000"),
            ("1", "0.00005", "20000.000000000000"),
            ("7", "123456789", "0.000000056700000515970005"),
        ];
        for (a, b, want) in cases {
            assert_eq!(div(d(a), d(b)).unwrap().to_string(), want, "{a}/{b}");
        }
        assert_eq!(div(d("1"), d("0")).unwrap_err().0, "division by zero");
    }

    #[test]
    fn sqrt_and_power_match_postgres() {
        let s = |x: &str| sqrt(d(x)).unwrap().to_string();
        assert_eq!(s("2"), "1.414213562373095");
        assert_eq!(s("100"), "10.000000000000000");
        assert_eq!(s("0.0001"), "0.01000000000000000");
        assert_eq!(s("12345678.9"), "3513.6418286444622");
        assert_eq!(s("2.00000"), "1.414213562373095");
        assert_eq!(
            sqrt(d("-1")).unwrap_err().0,
            "cannot take square root of a negative number"
        );
        let p = |a: &str, b: &str| power(d(a), d(b)).unwrap().to_string();
        assert_eq!(p("2", "3"), "8.0000000000000000");
        assert_eq!(p("2.5", "2"), "6.2500000000000000");
        assert_eq!(p("2", "-2"), "0.2500000000000000");
        assert_eq!(p("2", "0.5"), "1.4142135623730950");
        assert_eq!(p("9", "0.5"), "3.0000000000000000");
        assert_eq!(p("0.5", "100"), "0.0000000000000000");
        assert_eq!(p("-2", "3"), "-8.0000000000000000");
        assert_eq!(p("0", "0"), "1.0000000000000000");
        assert_eq!(p("1.123", "2"), "1.2611290000000000");
        assert_eq!(p("2", "3.5"), "11.313708498984760");
        assert_eq!(
            power(d("0"), d("-1")).unwrap_err().0,
            "zero raised to a negative power is undefined"
        );
        assert_eq!(
            power(d("-8"), d("0.5")).unwrap_err().0,
            "a negative number raised to a non-integer power yields a complex result"
        );
        assert_eq!(
            power(d("2"), d("100")).unwrap_err().0,
            "value overflows numeric format"
        );
    }

    #[test]
    fn rounding() {
        assert_eq!(round_scale(d("1234.567"), -2).unwrap().to_string(), "1200");
        assert_eq!(round_scale(d("2.5"), 0).unwrap().to_string(), "3");
        assert_eq!(round_scale(d("-2.5"), 0).unwrap().to_string(), "-3");
        assert_eq!(round_scale(d("-2.45"), 1).unwrap().to_string(), "-2.5");
        assert_eq!(round_scale(d("2.5"), 3).unwrap().to_string(), "2.500");
        assert_eq!(round_scale(d("5"), -40).unwrap().to_string(), "0");
        assert_eq!(rint(2.5), 2.0);
        assert_eq!(rint(3.5), 4.0);
        assert_eq!(rint(-2.5), -2.0);
    }

    #[test]
    fn parsing() {
        assert_eq!(parse_numeric("  1.5e3 ").unwrap().to_string(), "1500");
        assert_eq!(parse_numeric("1.50").unwrap().to_string(), "1.50");
        assert_eq!(parse_numeric("-.5").unwrap().to_string(), "-0.5");
        assert_eq!(parse_numeric("+5.").unwrap().to_string(), "5");
        assert_eq!(parse_numeric("1e-3").unwrap().to_string(), "0.001");
        assert_eq!(parse_numeric("abc"), Err(NumParseError::Syntax));
        assert_eq!(parse_numeric("1_000"), Err(NumParseError::Syntax));
        assert_eq!(parse_numeric("1e"), Err(NumParseError::Syntax));
        assert_eq!(parse_numeric(""), Err(NumParseError::Syntax));
        assert_eq!(parse_numeric("1e300"), Err(NumParseError::Overflow));
        assert_eq!(parse_numeric("1e-300").unwrap(), Decimal::ZERO);
        assert_eq!(
            parse_numeric("99999999999999999999999999999999"),
            Err(NumParseError::Overflow)
        );
    }

    #[test]
    fn float_text_matches_postgres() {
        assert_eq!(ftext(1e15), "1e+15");
        assert_eq!(ftext(123456789012345.6), "123456789012345.6");
        assert_eq!(ftext(1.5e-5), "1.5e-05");
        assert_eq!(ftext(0.0001), "0.0001");
        assert_eq!(ftext(1e14), "100000000000000");
        assert_eq!(ftext(1e100), "1e+100");
        assert_eq!(ftext(-0.0), "-0");
        assert_eq!(ftext(1.0), "1");
        assert_eq!(ftext(1.5), "1.5");
        assert_eq!(ftext(f64::NAN), "NaN");
        assert_eq!(ftext(f64::NEG_INFINITY), "-Infinity");
        assert_eq!(ftext(0.1 + 0.2), "0.30000000000000004");
        assert_eq!(ftext(-1.25e-300), "-1.25e-300");
    }

    #[test]
    fn float_to_numeric() {
        assert_eq!(from_f64(0.1).unwrap().to_string(), "0.1");
        assert_eq!(
            from_f64(1.0 / 3.0).unwrap().to_string(),
            "0.333333333333333"
        );
        assert_eq!(from_f64(1e20).unwrap().to_string(), "100000000000000000000");
        assert_eq!(from_f64(2.5).unwrap().to_string(), "2.5");
        assert!(from_f64(f64::NAN).is_err());
        assert!(from_f64(1e300).is_err());
        assert_eq!(to_f64(d("0.1")), 0.1);
    }
}
