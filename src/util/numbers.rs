//! Redis-compatible number parsing and formatting.
//!
//! Every integer reply, every string-encoded integer check and every score or
//! float reply goes through here, so the rules follow Redis byte for byte
//! where that is possible with an `f64`, and the places where it is not are
//! called out on each function.
//!
//! # Parsing
//!
//! * [`parse_i64`] / [`parse_u64`]: Redis `string2ll` rules. Only the
//!   canonical decimal form is accepted, i.e. exactly the strings that
//!   formatting the value back would produce: no sign other than a leading
//!   `-` (and none at all for `u64`), no `+`, no whitespace, no leading zeros
//!   except `"0"` itself, no `"-0"`, at most 20 bytes, no overflow. This
//!   strictness is what makes "is this string an integer?" checks (integer
//!   encoding of string values, INCR) lossless.
//! * [`parse_f64`]: Redis `string2d` / `string2ld` (score arguments,
//!   INCRBYFLOAT, ...). See the function docs for the accepted grammar.
//!
//! # Formatting
//!
//! * [`format_double`] / [`resp3_double`]: Redis 7.2+ `d2string`, used for
//!   every double reply (ZSCORE, ZINCRBY, WITHSCORES, GEODIST, ...) in both
//!   RESP2 bulk strings and RESP3 `,` doubles.
//! * [`format_long_double`]: Redis `ld2string(.., LD_STR_HUMAN)`, used by
//!   INCRBYFLOAT / HINCRBYFLOAT for both the reply and the stored value.
//! * [`write_i64`]: integer replies.

use std::io::Write as _;

/// Appends the decimal form of `v` (`-` sign, no padding) to `out`.
///
/// This is the hot path behind every RESP integer reply, so it formats into
/// a stack buffer with `itoa` rather than going through `core::fmt`.
#[inline]
pub fn write_i64(v: i64, out: &mut Vec<u8>) {
    let mut buf = itoa::Buffer::new();
    out.extend_from_slice(buf.format(v).as_bytes());
}

/// Parses a canonical signed decimal integer exactly like Redis `string2ll`.
///
/// Accepts `0` and `-?[1-9][0-9]*` within `i64` range, at most 20 bytes
/// (the length of `-9223372036854775808`). Everything else, including `+5`,
/// ` 5`, `05`, `-0`, `""` and `"-"`, is rejected.
#[inline]
pub fn parse_i64(s: &[u8]) -> Option<i64> {
    // Redis rejects anything of LONG_STR_SIZE (21) bytes or more before
    // looking at it; no canonical i64 needs more than 20.
    if s.is_empty() || s.len() > 20 {
        return None;
    }
    let (negative, digits) = match s {
        [b'-', rest @ ..] => (true, rest),
        _ => (false, s),
    };
    let magnitude = parse_canonical_digits(digits)?;
    if negative {
        // `-0` is not canonical: the digits must start with 1-9 after a '-'.
        if magnitude == 0 {
            return None;
        }
        // i64::MIN's magnitude is one past i64::MAX, so negate in u64 space.
        if magnitude > i64::MIN.unsigned_abs() {
            return None;
        }
        Some((magnitude as i64).wrapping_neg())
    } else {
        i64::try_from(magnitude).ok()
    }
}

/// Parses a canonical unsigned decimal integer: `0` or `[1-9][0-9]*` within
/// `u64` range, at most 20 bytes.
///
/// This applies `string2ll`'s strictness to the unsigned range. (Redis's own
/// `string2ull` falls back to `strtoull`, which would also take leading
/// spaces, a `+`, leading zeros and even wrap negative numbers around; that
/// leniency is deliberately not reproduced.)
#[inline]
pub fn parse_u64(s: &[u8]) -> Option<u64> {
    if s.len() > 20 {
        return None;
    }
    parse_canonical_digits(s)
}

/// `0` or `[1-9][0-9]*` as a `u64`; `None` on anything else or on overflow.
#[inline]
fn parse_canonical_digits(digits: &[u8]) -> Option<u64> {
    match digits {
        [] => None,
        [b'0'] => Some(0),
        [b'1'..=b'9', ..] => digits.iter().try_fold(0u64, |acc, &b| {
            let d = b.wrapping_sub(b'0');
            if d > 9 {
                return None;
            }
            acc.checked_mul(10)?.checked_add(u64::from(d))
        }),
        _ => None,
    }
}

/// Parses a double the way Redis's `string2d` (`getDoubleFromObject`: ZADD
/// scores, ZINCRBY, range bounds, ...) and `string2ld` (INCRBYFLOAT) do.
///
/// Accepted, case-insensitively where letters are involved, with nothing
/// before or after:
///
/// * decimal floats: `[+-]? (digits [. digits?] | . digits) ([eE] [+-]? digits)?`
///   — e.g. `1`, `-1.5`, `+.5`, `5.`, `1e10`, `1.5E-3`, `007` (leading zeros
///   are fine for floats, unlike integers);
/// * infinities: `[+-]? (inf | infinity)`.
///
/// Rejected:
///
/// * empty input, and any leading or trailing whitespace;
/// * NaN in any spelling (`nan`, `-NaN`, `nan(...)`): Redis never stores NaN;
/// * hexadecimal floats (`0x1p3`, `0x10`). C `strtod` would take these, so
///   Redis does too; MemFlux deliberately does not;
/// * finite input that overflows to ±infinity (`1e999`) or whose non-zero
///   digits underflow all the way to zero (`1e-400`): this is Redis's
///   `errno == ERANGE` check. Inputs that round to a subnormal are kept, as
///   in Redis, and a zero written with a huge exponent (`0e999`) is just 0.
///
/// Conversion is correctly rounded (round-half-even), like glibc's `strtod`,
/// so any string Redis accepts maps to the same `f64`. Two deliberate limits
/// of doing this with `f64`: Redis's INCRBYFLOAT parses into an x87
/// `long double`, so it also accepts magnitudes between `f64::MAX` and about
/// 1.19e4932 (rejected here as overflow), and it caps the argument at 5119
/// bytes (not applied here; `getDoubleFromObject` has no cap either).
pub fn parse_f64(s: &[u8]) -> Option<f64> {
    let body = match s {
        [b'+' | b'-', rest @ ..] => rest,
        _ => s,
    };
    if body.eq_ignore_ascii_case(b"inf") || body.eq_ignore_ascii_case(b"infinity") {
        return Some(if s[0] == b'-' {
            f64::NEG_INFINITY
        } else {
            f64::INFINITY
        });
    }

    // Validate the decimal grammar ourselves: the standard library parser is
    // used only for the (correctly rounded) conversion, and this keeps what
    // we accept pinned to strtod's decimal syntax whatever std's grammar is.
    let mut i = 0;
    let mut mantissa_digits = 0usize;
    let mut nonzero_mantissa = false;
    while let Some(&b) = body.get(i) {
        if !b.is_ascii_digit() {
            break;
        }
        nonzero_mantissa |= b != b'0';
        mantissa_digits += 1;
        i += 1;
    }
    if body.get(i) == Some(&b'.') {
        i += 1;
        while let Some(&b) = body.get(i) {
            if !b.is_ascii_digit() {
                break;
            }
            nonzero_mantissa |= b != b'0';
            mantissa_digits += 1;
            i += 1;
        }
    }
    if mantissa_digits == 0 {
        return None;
    }
    if matches!(body.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(body.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        let exponent_start = i;
        while body.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        // strtod would stop before a bare `e`, leaving bytes unconsumed,
        // which Redis rejects.
        if i == exponent_start {
            return None;
        }
    }
    if i != body.len() {
        return None;
    }

    // Only ASCII made it through the grammar check, so this cannot fail.
    let v: f64 = std::str::from_utf8(s).ok()?.parse().ok()?;
    if v.is_infinite() || (v == 0.0 && nonzero_mantissa) {
        return None;
    }
    Some(v)
}

/// Formats a double reply the way Redis 7.2+ does (`d2string`), for RESP2
/// bulk strings (ZSCORE, ZINCRBY, WITHSCORES, ...).
///
/// * NaN → `nan`, ±infinity → `inf` / `-inf`, zeros → `0` / `-0`.
/// * Integral values with magnitude up to 2^62 print as plain integers
///   (`3`, `-17`, `4611686018427387904`): Redis routes those through its
///   integer formatter.
/// * Everything else uses the shortest digit string that parses back to the
///   same `f64`, laid out like Redis's `fpconv_dtoa` (which replaced
///   `%.17g` in 7.2). With `K` the power of ten of the last digit and
///   `E` that of the first:
///   - `0 <= K <= 7`: plain integer, digits padded with zeros
///     (`12345678901234567000`, `9223372036854776000`);
///   - `K < 0` and (`K > -7` or `|E| < 4`): fixed notation
///     (`0.1`, `1.5`, `0.00001`, `0.0012345678901234567`, `123456.789`);
///   - otherwise scientific, with an explicit exponent sign and no exponent
///     padding: `1e+20`, `1e-7`, `1.2345e-4`, `1.7976931348623157e+308`.
///     (So `%.17g`'s `1e-07`/`0.10000000000000001`, as printed by Redis up
///     to 7.0, are *not* reproduced; the 7.2+ form is.)
///
/// Known divergence: `fpconv_dtoa` is Grisu2, which does not always find the
/// shortest (or the closest) digit string. Checked against a build of
/// Redis's fpconv, about 0.25% of random doubles and 0.5% of short decimals
/// `m × 10^k` come out differently, e.g. Redis prints 0.001579 as
/// `0.0015790000000000001` and 1e23 as `99999999999999990000000`, where this
/// prints `0.001579` and `1e+23`. Both forms parse back to the same `f64`;
/// only the layout rules above are reproduced exactly.
pub fn format_double(v: f64, out: &mut Vec<u8>) {
    if let Some(special) = non_finite_or_zero(v) {
        out.extend_from_slice(special);
        return;
    }
    // Mirrors Redis's double2ll(): |v| <= LLONG_MAX/2 (2^62 once converted
    // to double) and no fractional part. Within that range `as i64` is exact.
    if v.fract() == 0.0 && v.abs() <= TWO_POW_62 {
        write_i64(v as i64, out);
        return;
    }
    let (digits, k) = ShortestDigits::of(v);
    if v < 0.0 {
        out.push(b'-');
    }
    emit_fpconv_layout(digits.as_bytes(), k, out);
}

/// 2^62 as f64, the bound of Redis's `double2ll` fast path.
const TWO_POW_62: f64 = 4_611_686_018_427_387_904.0;

/// The payload of a RESP3 double (`,<payload>\r\n`).
///
/// Redis 7.2+ builds it with the same `d2string` as the RESP2 bulk form, so
/// this is [`format_double`]: `inf`, `-inf`, `nan` (RESP3 spells them that
/// way too), otherwise the same digits.
#[inline]
pub fn resp3_double(v: f64, out: &mut Vec<u8>) {
    format_double(v, out);
}

/// Formats an INCRBYFLOAT / HINCRBYFLOAT result, Redis's
/// `ld2string(.., LD_STR_HUMAN)`: positional notation, never an exponent,
/// no trailing zeros and no trailing `.`.
///
/// Redis computes in `long double` and prints with `%.17Lf`, then trims.
/// With only `f64` available, this prints the shortest digit string that
/// round-trips to the same `f64`, in positional form: `10.5 + 0.1` → `10.6`,
/// `5.0e3 + 2.0e2` → `5200`, `3.0 + 0.0` → `3`, `1e20` →
/// `100000000000000000000`, `-0.5` → `-0.5`. For the values people actually
/// add up this matches Redis, whose extra `long double` precision exists
/// precisely so that such results come out "non surprising".
///
/// Decisions:
///
/// * A zero result prints as `0`, including negative zero: Redis explicitly
///   rewrites a `-0` result to `0`.
/// * Redis's 17 fixed decimals mean it rounds away anything below 5e-18
///   (`1e-20` prints as `0`, `-1e-20` as `0`). We keep every significant
///   digit instead (`0.00000000000000000001`), so the stored value always
///   parses back to exactly the `f64` that was computed.
/// * Redis's own output here depends on the platform's `long double`, so it
///   is not one fixed target. On x86-64 (80-bit) the 17 fixed decimals often
///   exceed its precision and show noise: `SET k -1687.3; INCRBYFLOAT k 427`
///   replies `-1260.30000000000000004` and `1 + -1.1` gives `-0.1`, where
///   this prints `-1260.3` and `-0.10000000000000009` (the exact `f64`
///   result). Matching x86-64 byte for byte would need software 80-bit
///   arithmetic for the parse, the add and the print, not just a formatter.
/// * `inf`, `-inf` and `nan` print as such (INCRBYFLOAT itself refuses to
///   produce them, but `ld2string` spells them that way).
pub fn format_long_double(v: f64, out: &mut Vec<u8>) {
    if v == 0.0 {
        out.push(b'0');
        return;
    }
    if let Some(special) = non_finite_or_zero(v) {
        out.extend_from_slice(special);
        return;
    }
    // `Display` for f64 is the shortest round-trip digit string and never
    // switches to exponent notation, which is exactly the required shape.
    // Writing into a Vec cannot fail.
    let _ = write!(out, "{v}");
}

/// The fixed spellings Redis uses for NaN, the infinities and the zeros.
#[inline]
fn non_finite_or_zero(v: f64) -> Option<&'static [u8]> {
    if v.is_nan() {
        Some(b"nan")
    } else if v.is_infinite() {
        Some(if v > 0.0 { b"inf" } else { b"-inf" })
    } else if v == 0.0 {
        Some(if v.is_sign_negative() { b"-0" } else { b"0" })
    } else {
        None
    }
}

/// The shortest round-trip significant digits of a finite, non-zero `f64`,
/// held on the stack (at most 17 digits).
struct ShortestDigits {
    buf: [u8; 17],
    len: usize,
}

impl ShortestDigits {
    fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }

    /// Returns the digits of `|v|` and `K`, the decimal exponent of the last
    /// digit, so that `|v| ≈ digits × 10^K`.
    ///
    /// `{:e}` is std's shortest round-trip formatter in scientific layout
    /// (`1.2345e-4`, `1e20`); we only re-lay its output out.
    fn of(v: f64) -> (Self, i32) {
        // "d.dddddddddddddddde-308" is at most 23 bytes.
        let mut sci = [0u8; 32];
        let sci_len = {
            let mut cursor: &mut [u8] = &mut sci;
            // Cannot fail: the buffer is larger than any f64 in `{:e}`.
            let _ = write!(cursor, "{:e}", v.abs());
            32 - cursor.len()
        };
        let sci = &sci[..sci_len];

        let mut digits = ShortestDigits {
            buf: [0; 17],
            len: 0,
        };
        let mut i = 0;
        while let Some(&b) = sci.get(i) {
            match b {
                b'0'..=b'9' => {
                    digits.buf[digits.len] = b;
                    digits.len += 1;
                }
                b'.' => {}
                _ => break,
            }
            i += 1;
        }
        // sci[i] is the 'e'; the rest is an optionally negative integer.
        let exp_text = &sci[i + 1..];
        let (negative, exp_digits) = match exp_text {
            [b'-', rest @ ..] => (true, rest),
            _ => (false, exp_text),
        };
        let magnitude = exp_digits
            .iter()
            .fold(0i32, |acc, &b| acc * 10 + i32::from(b - b'0'));
        let first_digit_exp = if negative { -magnitude } else { magnitude };
        let k = first_digit_exp - (digits.len as i32 - 1);
        (digits, k)
    }
}

/// Lays out `digits × 10^k` (no sign) the way Redis's `fpconv_dtoa` does;
/// see [`format_double`] for the rules.
fn emit_fpconv_layout(digits: &[u8], k: i32, out: &mut Vec<u8>) {
    let nd = digits.len() as i32;
    let first_digit_exp = k + nd - 1;

    if (0..8).contains(&k) {
        out.extend_from_slice(digits);
        out.resize(out.len() + k as usize, b'0');
        return;
    }
    if k < 0 && (k > -7 || first_digit_exp.abs() < 4) {
        let int_len = nd + k;
        if int_len <= 0 {
            out.extend_from_slice(b"0.");
            out.resize(out.len() + (-int_len) as usize, b'0');
            out.extend_from_slice(digits);
        } else {
            let (int_part, frac_part) = digits.split_at(int_len as usize);
            out.extend_from_slice(int_part);
            out.push(b'.');
            out.extend_from_slice(frac_part);
        }
        return;
    }
    out.push(digits[0]);
    if digits.len() > 1 {
        out.push(b'.');
        out.extend_from_slice(&digits[1..]);
    }
    out.push(b'e');
    out.push(if first_digit_exp < 0 { b'-' } else { b'+' });
    write_i64(i64::from(first_digit_exp.abs()), out);
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn fmt(f: fn(f64, &mut Vec<u8>), v: f64) -> String {
        let mut out = b"prefix:".to_vec();
        f(v, &mut out);
        // Every formatter must append, never clobber.
        assert!(out.starts_with(b"prefix:"));
        String::from_utf8(out[7..].to_vec()).unwrap()
    }

    #[test]
    fn write_i64_cases() {
        for v in [0, 1, -1, 42, -42, i64::MAX, i64::MIN, 1_000_000_007] {
            let mut out = vec![b'x'];
            write_i64(v, &mut out);
            assert_eq!(out, format!("x{v}").into_bytes());
        }
    }

    #[test]
    fn parse_i64_cases() {
        let cases: &[(&[u8], Option<i64>)] = &[
            (b"0", Some(0)),
            (b"1", Some(1)),
            (b"-1", Some(-1)),
            (b"99", Some(99)),
            (b"-99", Some(-99)),
            (b"1234567890", Some(1_234_567_890)),
            (b"9223372036854775807", Some(i64::MAX)),
            (b"-9223372036854775808", Some(i64::MIN)),
            (b"9223372036854775808", None),
            (b"-9223372036854775809", None),
            (b"18446744073709551615", None),
            (b"18446744073709551616", None),
            (b"99999999999999999999", None),
            (b"-99999999999999999999", None),
            (b"123456789012345678901", None),
            (b"", None),
            (b"-", None),
            (b"+", None),
            (b"+1", None),
            (b"-0", None),
            (b"00", None),
            (b"01", None),
            (b"-01", None),
            (b" 1", None),
            (b"1 ", None),
            (b"1a", None),
            (b"a1", None),
            (b"1.0", None),
            (b"1e3", None),
            (b"--1", None),
            (b"0x10", None),
            (b"1\x002", None),
            ("１".as_bytes(), None),
        ];
        for &(s, want) in cases {
            assert_eq!(
                parse_i64(s),
                want,
                "parse_i64({:?})",
                String::from_utf8_lossy(s)
            );
        }
    }

    #[test]
    fn parse_u64_cases() {
        let cases: &[(&[u8], Option<u64>)] = &[
            (b"0", Some(0)),
            (b"7", Some(7)),
            (b"9223372036854775808", Some(1 << 63)),
            (b"18446744073709551615", Some(u64::MAX)),
            (b"18446744073709551616", None),
            (b"99999999999999999999", None),
            (b"100000000000000000000", None),
            (b"", None),
            (b"-1", None),
            (b"-0", None),
            (b"+1", None),
            (b"01", None),
            (b"00", None),
            (b" 1", None),
            (b"1 ", None),
            (b"1.5", None),
        ];
        for &(s, want) in cases {
            assert_eq!(
                parse_u64(s),
                want,
                "parse_u64({:?})",
                String::from_utf8_lossy(s)
            );
        }
    }

    #[test]
    fn parse_f64_accepts() {
        let cases: &[(&str, f64)] = &[
            ("0", 0.0),
            ("1", 1.0),
            ("-1", -1.0),
            ("+1", 1.0),
            ("1.5", 1.5),
            ("-1.5", -1.5),
            (".5", 0.5),
            ("+.5", 0.5),
            ("-.5", -0.5),
            ("5.", 5.0),
            ("1.e2", 100.0),
            ("007", 7.0),
            ("00.100", 0.1),
            ("1e10", 1e10),
            ("1E10", 1e10),
            ("1e+10", 1e10),
            ("1e-10", 1e-10),
            ("5.0e3", 5000.0),
            ("2.0e2", 200.0),
            ("10.5", 10.5),
            ("0.1", 0.1),
            ("17179869184", 17_179_869_184.0),
            ("9007199254740993", 9_007_199_254_740_992.0), // rounds half-even
            ("1.7976931348623157e308", f64::MAX),
            ("2.2250738585072014e-308", f64::MIN_POSITIVE),
            ("5e-324", 5e-324),
            ("3e-324", 5e-324), // rounds up to the smallest subnormal
            ("0e999999999999", 0.0),
            ("0.000e-99999", 0.0),
            ("inf", f64::INFINITY),
            ("+inf", f64::INFINITY),
            ("-inf", f64::NEG_INFINITY),
            ("INF", f64::INFINITY),
            ("Inf", f64::INFINITY),
            ("infinity", f64::INFINITY),
            ("-Infinity", f64::NEG_INFINITY),
            ("+INFINITY", f64::INFINITY),
        ];
        for &(s, want) in cases {
            let got = parse_f64(s.as_bytes());
            assert_eq!(
                got.map(f64::to_bits),
                Some(want.to_bits()),
                "parse_f64({s:?})"
            );
        }
        // Signed zeros survive.
        assert!(parse_f64(b"-0").unwrap().is_sign_negative());
        assert!(parse_f64(b"-0.0e5").unwrap().is_sign_negative());
        assert!(parse_f64(b"0").unwrap().is_sign_positive());
    }

    #[test]
    fn parse_f64_rejects() {
        let cases: &[&[u8]] = &[
            b"",
            b" ",
            b" 1",
            b"1 ",
            b"\t1",
            b"1\n",
            b" 11 ",
            b"+",
            b"-",
            b".",
            b"-.",
            b"e5",
            b".e5",
            b"1e",
            b"1e+",
            b"1e-",
            b"1e5.5",
            b"1.2.3",
            b"--1",
            b"+-1",
            b"1-",
            b"nan",
            b"NaN",
            b"-nan",
            b"+NAN",
            b"nan(123)",
            b"0x10",
            b"0x1p3",
            b"-0X1.8P1",
            b"in",
            b"infinit",
            b"infinityx",
            b"infx",
            b"i",
            b"1e999",
            b"-1e999",
            b"1e99999999999999999999",
            b"1.8e308",
            b"1e-400",
            b"-1e-400",
            b"2e-324",
            b"0.0000000000001e-320",
            b"1,5",
            b"1_000",
            b"1\x002",
            b"\xef\xbc\x91",
        ];
        for &s in cases {
            assert_eq!(
                parse_f64(s),
                None,
                "parse_f64({:?})",
                String::from_utf8_lossy(s)
            );
        }
    }

    #[test]
    fn format_double_cases() {
        // Expected strings are what Redis 7.2's d2string (double2ll +
        // fpconv_dtoa) prints for the same doubles.
        let cases: &[(f64, &str)] = &[
            (0.0, "0"),
            (-0.0, "-0"),
            (f64::INFINITY, "inf"),
            (f64::NEG_INFINITY, "-inf"),
            (f64::NAN, "nan"),
            (1.0, "1"),
            (-1.0, "-1"),
            (3.0, "3"),
            (100.0, "100"),
            (1e15, "1000000000000000"),
            (1e18, "1000000000000000000"),
            (4_611_686_018_427_387_904.0, "4611686018427387904"),
            (-4_611_686_018_427_387_904.0, "-4611686018427387904"),
            // Just past 2^62: no longer the integer path.
            (4_611_686_018_427_388_928.0, "4611686018427389000"),
            (9_223_372_036_854_775_808.0, "9223372036854776000"),
            (1.2345678901234567e19, "12345678901234567000"),
            (1e19, "1e+19"),
            (1e20, "1e+20"),
            (-1e20, "-1e+20"),
            (1.5e25, "1.5e+25"),
            (1e100, "1e+100"),
            (1.7976931348623157e308, "1.7976931348623157e+308"),
            (0.1, "0.1"),
            (-0.1, "-0.1"),
            (0.5, "0.5"),
            (1.5, "1.5"),
            (2.5, "2.5"),
            (10.6, "10.6"),
            (0.30000000000000004, "0.30000000000000004"),
            (123456.789, "123456.789"),
            (12345678.9, "12345678.9"),
            (100000000.5, "100000000.5"),
            (1000000000000000.5, "1000000000000000.5"),
            (123456789012.34567, "123456789012.34567"),
            (0.0001, "0.0001"),
            (1e-5, "0.00001"),
            (1e-6, "0.000001"),
            (1e-7, "1e-7"),
            (1.5e-7, "1.5e-7"),
            (0.00012345, "1.2345e-4"),
            (0.0012345678901234567, "0.0012345678901234567"),
            (0.12345678901234568, "0.12345678901234568"),
            // K <= -7 with the first digit at 10^9: fpconv goes scientific.
            (1234567891.2345679, "1.2345678912345679e+9"),
            (1e-300, "1e-300"),
            (5e-324, "5e-324"),
            (-5e-324, "-5e-324"),
            (2.2250738585072014e-308, "2.2250738585072014e-308"),
        ];
        for &(v, want) in cases {
            assert_eq!(fmt(format_double, v), want, "format_double({v:e})");
            assert_eq!(fmt(resp3_double, v), want, "resp3_double({v:e})");
        }
    }

    #[test]
    fn format_double_documented_grisu_divergence() {
        // Redis (Grisu2) prints "99999999999999990000000"; we print the
        // shortest form. Both denote the same f64.
        assert_eq!(fmt(format_double, 1e23), "1e+23");
        assert_eq!(parse_f64(b"99999999999999990000000"), Some(1e23));
    }

    #[test]
    fn format_long_double_cases() {
        let cases: &[(f64, &str)] = &[
            (0.0, "0"),
            (-0.0, "0"),
            (1.0, "1"),
            (3.0 + 0.0, "3"),
            (10.5 + 0.1, "10.6"),
            (5.0e3 + 2.0e2, "5200"),
            (1.5 + 1.5, "3"),
            (1.0 + 0.25, "1.25"),
            (17_179_869_184.0 + 1.5, "17179869185.5"),
            (17_179_869_184.0 + 17_179_869_184.0, "34359738368"),
            (1.0 - 1.1, "-0.10000000000000009"),
            (-0.5, "-0.5"),
            (-3.0, "-3"),
            (0.1 + 0.2, "0.30000000000000004"),
            (1e20, "100000000000000000000"),
            (1e21, "1000000000000000000000"),
            (-1e20, "-100000000000000000000"),
            (1e-7, "0.0000001"),
            (1e-20, "0.00000000000000000001"),
            (-1e-20, "-0.00000000000000000001"),
            (123456.789, "123456.789"),
            (f64::INFINITY, "inf"),
            (f64::NEG_INFINITY, "-inf"),
            (f64::NAN, "nan"),
        ];
        for &(v, want) in cases {
            assert_eq!(
                fmt(format_long_double, v),
                want,
                "format_long_double({v:e})"
            );
        }
        // The Redis test suite's "No negative zero" case: x + (-x) is +0.
        let x = 1.0 / 41.0;
        let mut stored = Vec::new();
        format_long_double(0.0 + x, &mut stored);
        let back = parse_f64(&stored).unwrap();
        assert_eq!(fmt(format_long_double, back + -x), "0");
        // Largest values still print positionally and round-trip.
        let max = fmt(format_long_double, f64::MAX);
        assert_eq!(max.len(), 309);
        assert!(max.starts_with("17976931348623157") && !max.contains(['e', '.']));
        assert_eq!(parse_f64(max.as_bytes()), Some(f64::MAX));
    }

    /// All finite doubles, drawn from every bit pattern (subnormals, huge and
    /// tiny exponents) plus "human" decimals.
    fn finite_f64() -> impl Strategy<Value = f64> {
        prop_oneof![
            any::<u64>()
                .prop_map(f64::from_bits)
                .prop_filter("finite", |v| v.is_finite()),
            (any::<i32>(), 0u32..8).prop_map(|(m, d)| f64::from(m) / 10f64.powi(d as i32)),
            any::<i64>().prop_map(|v| v as f64),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(20_000))]

        #[test]
        fn format_double_round_trips(v in finite_f64()) {
            let mut out = Vec::new();
            format_double(v, &mut out);
            let back = parse_f64(&out);
            prop_assert_eq!(back.map(f64::to_bits), Some(v.to_bits()),
                "{} -> {:?}", v, String::from_utf8_lossy(&out));
        }

        #[test]
        fn format_long_double_round_trips(v in finite_f64()) {
            let mut out = Vec::new();
            format_long_double(v, &mut out);
            prop_assert!(!out.contains(&b'e'));
            let back = parse_f64(&out).unwrap();
            // Bit-exact except that -0 is deliberately printed as 0.
            let expect = if v == 0.0 { 0.0 } else { v };
            prop_assert_eq!(back.to_bits(), expect.to_bits());
        }

        #[test]
        fn parse_i64_accepts_every_canonical_i64(v in any::<i64>()) {
            prop_assert_eq!(parse_i64(v.to_string().as_bytes()), Some(v));
        }

        #[test]
        fn parse_u64_accepts_every_canonical_u64(v in any::<u64>()) {
            prop_assert_eq!(parse_u64(v.to_string().as_bytes()), Some(v));
        }

        #[test]
        fn parse_i64_is_exactly_the_canonical_form(s in "[-+0-9 a]{0,22}") {
            // Accepted iff std parses it and prints it back identically.
            let want = s.parse::<i64>().ok().filter(|v| v.to_string() == s);
            prop_assert_eq!(parse_i64(s.as_bytes()), want);
        }

        #[test]
        fn parse_u64_is_exactly_the_canonical_form(s in "[-+0-9 a]{0,22}") {
            let want = s.parse::<u64>().ok().filter(|v| v.to_string() == s);
            prop_assert_eq!(parse_u64(s.as_bytes()), want);
        }

        #[test]
        fn parse_i64_digits_heavy(s in "-?[0-9]{1,21}") {
            let want = s.parse::<i64>().ok().filter(|v| v.to_string() == s);
            prop_assert_eq!(parse_i64(s.as_bytes()), want);
        }

        #[test]
        fn parse_f64_agrees_with_std_on_decimal_syntax(
            s in "[+-]?([0-9]{1,20}(\\.[0-9]{0,20})?|\\.[0-9]{1,20})([eE][+-]?[0-9]{1,4})?"
        ) {
            // Within strtod's decimal grammar, the only rejections are
            // overflow and underflow-to-zero.
            let std_value: f64 = s.parse().unwrap();
            let nonzero_digits = s.split(['e', 'E']).next().unwrap().bytes().any(|b| (b'1'..=b'9').contains(&b));
            let want = if std_value.is_infinite() || (std_value == 0.0 && nonzero_digits) {
                None
            } else {
                Some(std_value.to_bits())
            };
            prop_assert_eq!(parse_f64(s.as_bytes()).map(f64::to_bits), want);
        }

        #[test]
        fn parse_f64_never_panics(s in prop::collection::vec(any::<u8>(), 0..32)) {
            let _ = parse_f64(&s);
            let _ = parse_i64(&s);
            let _ = parse_u64(&s);
        }
    }
}
