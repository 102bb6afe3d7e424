//! Argument parsing shared by the command families.

use super::CmdError;
use crate::util::numbers;

/// ASCII case-insensitive comparison with an upper-case keyword.
#[inline]
pub fn is(arg: &[u8], keyword: &str) -> bool {
    arg.eq_ignore_ascii_case(keyword.as_bytes())
}

/// An integer argument, or Redis's generic "not an integer" error.
#[inline]
pub fn int_arg(arg: &[u8]) -> Result<i64, CmdError> {
    numbers::parse_i64(arg).ok_or(CmdError::NotInteger)
}

/// A float argument, or Redis's "not a valid float" error.
pub fn float_arg(arg: &[u8]) -> Result<f64, CmdError> {
    numbers::parse_f64(arg).ok_or(CmdError::NotFloat)
}

/// A SCAN cursor as Redis reads it (`strtoul` in base 10): optional sign, digits, no
/// leading space, nothing after; a negative number wraps; the empty string is cursor 0.
pub fn parse_cursor(arg: &[u8]) -> Result<u64, CmdError> {
    let invalid = || CmdError::msg("ERR invalid cursor");
    let (negative, digits) = match arg.first() {
        None => return Ok(0),
        Some(b'-') => (true, &arg[1..]),
        Some(b'+') => (false, &arg[1..]),
        Some(_) => (false, arg),
    };
    if digits.is_empty() {
        return Err(invalid());
    }
    let mut v: u64 = 0;
    for &b in digits {
        if !b.is_ascii_digit() {
            return Err(invalid());
        }
        v = v
            .checked_mul(10)
            .and_then(|v| v.checked_add(u64::from(b - b'0')))
            .ok_or_else(invalid)?;
    }
    Ok(if negative { v.wrapping_neg() } else { v })
}

/// A database index argument checked against the configured count.
pub fn db_arg(arg: &[u8], databases: usize) -> Result<usize, CmdError> {
    let n = int_arg(arg)?;
    if n < 0 || n as usize >= databases {
        return Err(CmdError::msg("ERR DB index is out of range"));
    }
    Ok(n as usize)
}

/// The error for an unknown subcommand of a container command, as Redis words it.
pub fn unknown_subcommand(sub: &[u8], container: &str) -> CmdError {
    CmdError::msg(format!(
        "ERR unknown subcommand '{}'. Try {} HELP.",
        String::from_utf8_lossy(&sub[..sub.len().min(128)]),
        container.to_ascii_uppercase()
    ))
}

/// Wrong arity of a subcommand (`'client|setname'`-style name, as Redis 7 reports it).
pub fn subcommand_arity(container: &str, sub: &[u8]) -> CmdError {
    CmdError::msg(format!(
        "ERR wrong number of arguments for '{}|{}' command",
        container,
        String::from_utf8_lossy(sub).to_ascii_lowercase()
    ))
}

/// Writes a HELP reply: an array of status lines.
pub fn help_reply(out: &mut crate::protocol::ReplyBuf, lines: &[&str]) {
    out.array(lines.len());
    for l in lines {
        out.simple(l.as_bytes());
    }
}
