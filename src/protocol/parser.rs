//! Incremental RESP request parser.
//!
//! Parses client requests from a connection's input buffer: RESP multibulk
//! (`*2\r\n$3\r\nGET\r\n$1\r\nk\r\n`) and Redis inline commands
//! (`SET k "hello world"\r\n`), with the same acceptance rules and error
//! messages as Redis 7 (`processMultibulkBuffer`, `processInlineBuffer`,
//! `sdssplitargs`, `string2ll`).
//!
//! # Design
//!
//! * **Resumable.** A command often arrives in several reads. The parser keeps
//!   a small state machine made only of *offsets* into the buffer (where the
//!   current line or bulk starts, how far the current line has already been
//!   searched for its terminator, how many arguments are still missing, the
//!   pending bulk length). When it is called again after `Incomplete` it
//!   continues from there, so every byte is examined at most once however the
//!   input is split (plus one byte per call when a line's `\r` arrived without
//!   the byte after it). Offsets, not pointers, are kept because the caller's
//!   buffer may be reallocated between calls.
//! * **No allocation in steady state.** Multibulk arguments are returned as
//!   spans into the caller's buffer; the span list and the scratch buffer for
//!   unquoted inline arguments are `Vec`s reused from command to command.
//! * **Bulk bodies are never scanned**: their length is known from the header,
//!   so a 512 MiB value costs one bounds check per call, and `Incomplete`
//!   reports how many bytes the command needs so the caller can reserve once.
//!
//! # Deliberate differences from Redis
//!
//! Redis's scanning relies on C strings (`strchr`, `sdssplitargs`), so a NUL
//! byte inside an inline line or before a header's `\r` makes Redis wait for
//! more data forever (until the "too big" limit). Here NUL is an ordinary
//! byte: a header containing one is simply an invalid integer, and inside an
//! inline command it is part of the argument.
//!
//! In `expected '$', got '<c>'`, a NUL or non-ASCII byte is written as `\xHH`
//! (Redis sends the raw byte, or truncates at NUL) so the message stays UTF-8.
//!
//! The multibulk count limit is `max_multibulk_len` (default 1024*1024, the
//! historical Redis limit); Redis 7.0 itself only rejects counts above
//! `INT_MAX`.

use std::borrow::Cow;
use std::fmt;

use crate::protocol::argv::{Argv, Span};

/// Limits enforced while parsing (from the server config).
#[derive(Clone, Copy, Debug)]
pub struct ParserLimits {
    /// Largest bulk argument accepted (config `proto_max_bulk_len`, default 512 MiB).
    pub max_bulk_len: usize,
    /// Largest multibulk argument count (Redis: 1024*1024).
    pub max_multibulk_len: usize,
    /// Longest inline command line / header line without a newline (Redis: 64 KiB).
    pub max_inline_len: usize,
}

impl Default for ParserLimits {
    fn default() -> Self {
        ParserLimits {
            max_bulk_len: 512 * 1024 * 1024,
            max_multibulk_len: 1024 * 1024,
            max_inline_len: 64 * 1024,
        }
    }
}

/// A protocol violation. The connection replies `-ERR Protocol error: <msg>`
/// and closes.
///
/// The message is a `Cow` rather than a `&'static str` because one message
/// embeds the offending byte (`expected '$', got 'x'`); every other message is
/// a borrowed constant (see the associated consts), so only that error
/// allocates. The message never contains `\r` or `\n` and is always valid
/// UTF-8, so it can be written into a RESP error line as is.
///
/// `Display` renders the whole reply text, `Protocol error: <msg>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtocolError(pub Cow<'static, str>);

impl ProtocolError {
    pub const TOO_BIG_MBULK_COUNT: ProtocolError =
        ProtocolError(Cow::Borrowed("too big mbulk count string"));
    pub const INVALID_MULTIBULK_LEN: ProtocolError =
        ProtocolError(Cow::Borrowed("invalid multibulk length"));
    pub const TOO_BIG_BULK_COUNT: ProtocolError =
        ProtocolError(Cow::Borrowed("too big bulk count string"));
    pub const INVALID_BULK_LEN: ProtocolError = ProtocolError(Cow::Borrowed("invalid bulk length"));
    pub const TOO_BIG_INLINE: ProtocolError =
        ProtocolError(Cow::Borrowed("too big inline request"));
    pub const UNBALANCED_QUOTES: ProtocolError =
        ProtocolError(Cow::Borrowed("unbalanced quotes in request"));

    /// The message without the `Protocol error: ` prefix.
    pub fn message(&self) -> &str {
        &self.0
    }

    /// `expected '$', got '<c>'`, with the byte rendered like Redis does where
    /// that is possible: Redis formats it with `%c` and then replaces `\r` and
    /// `\n` by spaces so the reply stays one line. A raw NUL or non-ASCII byte
    /// cannot go into a `str` (and Redis itself truncates the message at a
    /// NUL), so those are written as `\xHH`.
    #[cold]
    fn expected_dollar(got: u8) -> ProtocolError {
        let mut msg = String::with_capacity(24);
        msg.push_str("expected '$', got '");
        match got {
            b'\r' | b'\n' => msg.push(' '),
            0x01..=0x7f => msg.push(char::from(got)),
            _ => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                msg.push_str("\\x");
                msg.push(char::from(HEX[usize::from(got >> 4)]));
                msg.push(char::from(HEX[usize::from(got & 0xf)]));
            }
        }
        msg.push('\'');
        ProtocolError(Cow::Owned(msg))
    }
}

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Protocol error: {}", self.0)
    }
}

impl std::error::Error for ProtocolError {}

/// The result of one [`RequestParser::parse`] call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Parsed {
    /// A whole command was parsed; it used `consumed` bytes of the buffer. Its
    /// arguments are available via `argv(buf)` until the next call to `parse`.
    Command { consumed: usize },
    /// An empty line / `*0` / `*-1` request: nothing to run, skip `consumed`
    /// bytes (Redis ignores these).
    Empty { consumed: usize },
    /// More bytes are needed. `hint` is how many bytes (counted from the start
    /// of buf) the pending command needs at least, when known (e.g., a big
    /// bulk's length), so the caller can reserve capacity once instead of
    /// growing repeatedly; 0 when unknown.
    Incomplete { hint: usize },
}

/// Where the parser is inside the current command.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// Between commands: the next call starts a new command at `buf[0]`.
    Idle,
    /// Inline command: looking for the `\n` that ends the line.
    Inline,
    /// Multibulk count line `*<n>\r\n` at offset 0: looking for its `\r`.
    Count,
    /// Bulk header `$<len>\r\n` starting at `pos`: looking for its `\r`.
    BulkHeader,
    /// Bulk body of `bulk_len` bytes starting at `pos`, then 2 terminator bytes.
    BulkBody,
}

/// What `argv` returns: which buffer the spans of the last result index into.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ready {
    /// The last `parse` did not return `Command`.
    Nothing,
    /// Spans index into the caller's buffer.
    Multibulk,
    /// Spans index into `inline_buf`.
    Inline,
}

/// Above these capacities the reusable buffers are shrunk when the next command
/// starts, so that one huge command does not pin memory for the connection's
/// whole life, while ordinary commands never reallocate.
const SPANS_RETAIN: usize = 8 * 1024;
const INLINE_RETAIN: usize = 16 * 1024;

/// How many spans to reserve up front for a multibulk, at most: like Redis,
/// do not trust a huge announced count with memory before the bytes arrive.
const SPANS_PREALLOC: usize = 1024;

/// Incremental parser for the requests of one connection.
pub struct RequestParser {
    limits: ParserLimits,
    phase: Phase,
    /// Start of the current bulk header line (`BulkHeader`) or bulk body
    /// (`BulkBody`); the count line always starts at 0.
    pos: usize,
    /// The current line has been searched for its terminator up to here
    /// (exclusive) without finding it; the next search starts here.
    scan: usize,
    /// Bulk arguments of the current multibulk not read yet.
    remaining: usize,
    /// Length of the bulk body being read (`BulkBody`).
    bulk_len: usize,
    /// `buf.len()` at the last `Incomplete`: lets us notice a caller that
    /// breaks the contract by passing a shorter buffer, instead of panicking.
    seen: usize,
    /// Argument spans of the current command.
    spans: Vec<Span>,
    /// Unquoted bytes of the arguments of the last inline command.
    inline_buf: Vec<u8>,
    ready: Ready,
    /// Bytes examined while searching for line terminators (tests check that
    /// nothing is examined twice).
    #[cfg(test)]
    scanned: usize,
}

impl Default for RequestParser {
    fn default() -> Self {
        RequestParser::new(ParserLimits::default())
    }
}

impl RequestParser {
    pub fn new(limits: ParserLimits) -> Self {
        RequestParser {
            limits,
            phase: Phase::Idle,
            pos: 0,
            scan: 0,
            remaining: 0,
            bulk_len: 0,
            seen: 0,
            spans: Vec::new(),
            inline_buf: Vec::new(),
            ready: Ready::Nothing,
            #[cfg(test)]
            scanned: 0,
        }
    }

    /// Replaces the limits; they apply from the next check on, including to a
    /// command that is partly parsed.
    pub fn set_limits(&mut self, limits: ParserLimits) {
        self.limits = limits;
    }

    pub fn limits(&self) -> ParserLimits {
        self.limits
    }

    /// Forgets any partly parsed command. The next `parse` starts a new
    /// command at the first byte of its buffer.
    pub fn reset(&mut self) {
        self.phase = Phase::Idle;
        self.seen = 0;
        self.ready = Ready::Nothing;
    }

    /// Parse the next command from `buf`, which starts at the first byte of
    /// the command being parsed. After `Incomplete`, the caller calls again
    /// with the same start (buf may have moved in memory and may have grown
    /// with more bytes appended) and the parser resumes where it stopped, not
    /// re-scanning.
    ///
    /// After `Command`, `Empty` or an error, the next call starts a new
    /// command. After an error the connection is meant to be closed; the
    /// parser is nevertheless left in a consistent state.
    ///
    /// Passing a buffer shorter than at the previous `Incomplete` breaks the
    /// contract; the parser then restarts the command from `buf[0]` rather
    /// than panicking.
    pub fn parse(&mut self, buf: &[u8]) -> Result<Parsed, ProtocolError> {
        self.ready = Ready::Nothing;
        if buf.len() < self.seen {
            self.phase = Phase::Idle;
        }
        let result = match self.phase {
            Phase::Idle => self.start(buf),
            Phase::Inline => self.inline(buf),
            Phase::Count => self.count(buf),
            Phase::BulkHeader | Phase::BulkBody => self.bulks(buf),
        };
        if let Ok(Parsed::Incomplete { .. }) = result {
            self.seen = buf.len();
        } else {
            self.phase = Phase::Idle;
            self.seen = 0;
        }
        result
    }

    /// The arguments of the command just returned by `Command`. `buf` is the
    /// same buffer passed to `parse` (for multibulk the spans index into it;
    /// for inline commands, which need unquoting, the parser owns the bytes in
    /// an internal scratch buffer and ignores `buf`).
    ///
    /// Empty when the last `parse` did not return `Command`.
    pub fn argv<'a>(&'a self, buf: &'a [u8]) -> Argv<'a> {
        match self.ready {
            Ready::Multibulk => Argv::new(buf, &self.spans),
            Ready::Inline => Argv::new(&self.inline_buf, &self.spans),
            Ready::Nothing => Argv::new(&[], &[]),
        }
    }

    /// First call for a new command: pick the request type from its first
    /// byte, as Redis does.
    fn start(&mut self, buf: &[u8]) -> Result<Parsed, ProtocolError> {
        let Some(&first) = buf.first() else {
            return Ok(Parsed::Incomplete { hint: 0 });
        };
        self.spans.clear();
        if self.spans.capacity() > SPANS_RETAIN {
            self.spans.shrink_to(SPANS_RETAIN);
        }
        if first == b'*' {
            self.phase = Phase::Count;
            self.scan = 1;
            self.count(buf)
        } else {
            self.phase = Phase::Inline;
            self.scan = 0;
            self.inline(buf)
        }
    }

    /// Searches `buf[self.scan..]` for `needle`; on a miss, records that the
    /// whole buffer has been searched so the next call starts at its end.
    #[inline]
    fn search(&mut self, buf: &[u8], needle: u8) -> Option<usize> {
        let from = self.scan;
        let hit = find_byte(&buf[from..], needle).map(|i| from + i);
        #[cfg(test)]
        {
            self.scanned += hit.map_or(buf.len(), |h| h + 1) - from;
        }
        if hit.is_none() {
            self.scan = buf.len();
        }
        hit
    }

    /// Finds the `\r` ending the header line that starts at `line_start` and
    /// checks that the byte after it has arrived. Like Redis, that byte is
    /// not checked to be `\n`: it is just skipped. `Ok(None)` means more data
    /// is needed.
    #[inline]
    fn header_line(
        &mut self,
        buf: &[u8],
        line_start: usize,
        too_big: ProtocolError,
    ) -> Result<Option<usize>, ProtocolError> {
        match self.search(buf, b'\r') {
            None => {
                // Redis measures the whole unparsed rest from the line start.
                if buf.len() - line_start > self.limits.max_inline_len {
                    return Err(too_big);
                }
                Ok(None)
            }
            Some(cr) if cr + 1 >= buf.len() => {
                // `\r` is the last byte: resume at it, which costs re-reading
                // one byte per call rather than remembering a sub-state.
                self.scan = cr;
                Ok(None)
            }
            Some(cr) => Ok(Some(cr)),
        }
    }

    /// The multibulk count line `*<n>\r\n`.
    fn count(&mut self, buf: &[u8]) -> Result<Parsed, ProtocolError> {
        let Some(cr) = self.header_line(buf, 0, ProtocolError::TOO_BIG_MBULK_COUNT)? else {
            return Ok(Parsed::Incomplete { hint: 0 });
        };
        let n = parse_i64(&buf[1..cr]).ok_or(ProtocolError::INVALID_MULTIBULK_LEN)?;
        let next = cr + 2;
        if n <= 0 {
            return Ok(Parsed::Empty { consumed: next });
        }
        // n > 0 here, so the cast is lossless; compare in u64 so that a limit
        // near usize::MAX on 32-bit targets is still compared correctly.
        if n as u64 > self.limits.max_multibulk_len as u64 {
            return Err(ProtocolError::INVALID_MULTIBULK_LEN);
        }
        // n <= max_multibulk_len, which is a usize: this fits.
        self.remaining = n as usize;
        self.spans.reserve(self.remaining.min(SPANS_PREALLOC));
        self.phase = Phase::BulkHeader;
        self.pos = next;
        self.scan = next;
        self.bulks(buf)
    }

    /// Bulk headers and bodies until the multibulk is complete or data runs out.
    fn bulks(&mut self, buf: &[u8]) -> Result<Parsed, ProtocolError> {
        loop {
            if self.phase == Phase::BulkHeader {
                let start = self.pos;
                let Some(cr) = self.header_line(buf, start, ProtocolError::TOO_BIG_BULK_COUNT)?
                else {
                    return Ok(Parsed::Incomplete { hint: 0 });
                };
                // cr >= start and cr < buf.len(), so buf[start] exists (it
                // may be the `\r` itself when the line is empty).
                if buf[start] != b'$' {
                    return Err(ProtocolError::expected_dollar(buf[start]));
                }
                let len = match parse_i64(&buf[start + 1..cr]) {
                    Some(len) if len >= 0 && len as u64 <= self.limits.max_bulk_len as u64 => {
                        // <= max_bulk_len, a usize: fits.
                        len as usize
                    }
                    _ => return Err(ProtocolError::INVALID_BULK_LEN),
                };
                self.bulk_len = len;
                self.pos = cr + 2;
                self.phase = Phase::BulkBody;
            }

            let body = self.pos;
            // Saturating: with an absurd max_bulk_len the sum could overflow;
            // a saturated total can never be reached, which is the truth.
            let end = body.saturating_add(self.bulk_len);
            let need = end.saturating_add(2);
            if buf.len() < need {
                return Ok(Parsed::Incomplete { hint: need });
            }
            // Redis skips the two bytes after the body without checking them.
            self.spans.push((body, end));
            self.remaining -= 1;
            if self.remaining == 0 {
                self.ready = Ready::Multibulk;
                return Ok(Parsed::Command { consumed: need });
            }
            self.phase = Phase::BulkHeader;
            self.pos = need;
            self.scan = need;
        }
    }

    /// An inline command: one line ending in `\n`, split like `sdssplitargs`.
    fn inline(&mut self, buf: &[u8]) -> Result<Parsed, ProtocolError> {
        let Some(nl) = self.search(buf, b'\n') else {
            if buf.len() > self.limits.max_inline_len {
                return Err(ProtocolError::TOO_BIG_INLINE);
            }
            return Ok(Parsed::Incomplete { hint: 0 });
        };
        let line_end = if nl > 0 && buf[nl - 1] == b'\r' {
            nl - 1
        } else {
            nl
        };
        let consumed = nl + 1;

        self.inline_buf.clear();
        if self.inline_buf.capacity() > INLINE_RETAIN {
            self.inline_buf.shrink_to(INLINE_RETAIN);
        }
        if !split_inline(&buf[..line_end], &mut self.inline_buf, &mut self.spans) {
            return Err(ProtocolError::UNBALANCED_QUOTES);
        }
        if self.spans.is_empty() {
            return Ok(Parsed::Empty { consumed });
        }
        self.ready = Ready::Inline;
        Ok(Parsed::Command { consumed })
    }
}

/// Position of the first `needle` in `hay`.
///
/// The standard library has no public memchr and this crate takes no
/// dependency for it, so this is a word-at-a-time search: RESP header lines
/// are a few bytes, which the plain loop over the first 16 bytes handles, and
/// the 8-bytes-per-step path keeps long inline lines (or garbage before a
/// "too big" error) cheap.
#[inline]
fn find_byte(hay: &[u8], needle: u8) -> Option<usize> {
    const LO: u64 = u64::from_ne_bytes([0x01; 8]);
    const HI: u64 = u64::from_ne_bytes([0x80; 8]);

    let head = hay.len().min(16);
    if let Some(i) = hay[..head].iter().position(|&b| b == needle) {
        return Some(i);
    }
    let pattern = LO * u64::from(needle);
    let mut offset = head;
    let mut words = hay[head..].chunks_exact(8);
    for word in &mut words {
        // Bytes equal to needle become zero; the classic "has zero byte" test
        // flags them. Borrows can only produce false flags *above* a real
        // zero byte, so the lowest flag (first byte, as we load little-endian)
        // is always exact.
        let x = u64::from_le_bytes(word.try_into().unwrap()) ^ pattern;
        let zeros = x.wrapping_sub(LO) & !x & HI;
        if zeros != 0 {
            return Some(offset + (zeros.trailing_zeros() / 8) as usize);
        }
        offset += 8;
    }
    words
        .remainder()
        .iter()
        .position(|&b| b == needle)
        .map(|i| offset + i)
}

/// Parses a header integer exactly like Redis's `string2ll`: optional `-`,
/// then either the single digit `0` or a digit 1-9 followed by digits; no `+`,
/// no spaces, no leading zeros (so `-0` and `007` are rejected), at most 20
/// bytes, and the value must fit in an `i64`.
#[inline]
fn parse_i64(s: &[u8]) -> Option<i64> {
    // 20 bytes covers "-9223372036854775808"; anything longer is invalid.
    if s.is_empty() || s.len() > 20 {
        return None;
    }
    if s == b"0" {
        return Some(0);
    }
    let (negative, digits) = match s {
        [b'-', rest @ ..] => (true, rest),
        _ => (false, s),
    };
    let (&first, rest) = digits.split_first()?;
    if !(b'1'..=b'9').contains(&first) {
        return None;
    }
    let mut v = u64::from(first - b'0');
    for &b in rest {
        if !b.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(u64::from(b - b'0'))?;
    }
    if negative {
        // i64::MIN's magnitude is one more than i64::MAX.
        if v > i64::MAX as u64 + 1 {
            return None;
        }
        Some((v as i64).wrapping_neg())
    } else {
        i64::try_from(v).ok()
    }
}

/// C `isspace` in the "C" locale: what `sdssplitargs` skips between
/// arguments and accepts after a closing quote.
#[inline]
fn is_c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

#[inline]
fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Splits an inline request line into arguments with the rules of Redis's
/// `sdssplitargs`, appending the unquoted bytes to `out` and one span per
/// argument to `spans`. Returns false on unbalanced quotes, or on a closing
/// quote not followed by whitespace or the end of the line.
///
/// Rules, quirks included:
/// * Arguments are separated by runs of C whitespace (including `\v`, `\f`),
///   but an unquoted argument ends only at space, `\t`, `\r`, `\n` or the end
///   of the line: `\v` and `\f` *inside* an argument are kept.
/// * A quote may open in the middle of an argument (`ab"c d"` is `abc d`); the
///   closing quote ends the argument.
/// * In double quotes: `\xHH` (two hex digits, any case) is that byte; `\n`,
///   `\r`, `\t`, `\b`, `\a` are control characters; a backslash before any
///   other byte yields that byte (`\\`, `\"`, `\z` → `z`).
/// * In single quotes only `\'` is an escape; other backslashes are literal.
fn split_inline(line: &[u8], out: &mut Vec<u8>, spans: &mut Vec<Span>) -> bool {
    // Unquoting never makes an argument longer than its source, so this one
    // reservation covers every push below.
    out.reserve(line.len());
    let n = line.len();
    let mut p = 0;
    loop {
        while p < n && is_c_space(line[p]) {
            p += 1;
        }
        if p == n {
            return true;
        }
        let start = out.len();

        // The unquoted part, copied as one run.
        let run_end = line[p..]
            .iter()
            .position(|&b| matches!(b, b' ' | b'\t' | b'\r' | b'\n' | b'"' | b'\''))
            .map_or(n, |i| p + i);
        out.extend_from_slice(&line[p..run_end]);
        p = run_end;

        if p < n {
            let quoted = match line[p] {
                b'"' => double_quoted(line, p + 1, out),
                b'\'' => single_quoted(line, p + 1, out),
                // A separator: it ends the argument and is consumed.
                _ => Some(p + 1),
            };
            match quoted {
                Some(next) => p = next,
                None => return false,
            }
        }
        spans.push((start, out.len()));
    }
}

/// The body of a double-quoted section starting at `p` (after the opening
/// quote). Returns the position after the closing quote.
fn double_quoted(line: &[u8], mut p: usize, out: &mut Vec<u8>) -> Option<usize> {
    let n = line.len();
    loop {
        let c = *line.get(p)?; // end of line inside quotes: unbalanced
        match c {
            b'\\' if p + 3 < n && line[p + 1] == b'x' => {
                match (hex_value(line[p + 2]), hex_value(line[p + 3])) {
                    (Some(hi), Some(lo)) => {
                        out.push((hi << 4) | lo);
                        p += 4;
                    }
                    // Not a hex escape: `\x` is then an ordinary escape of 'x'.
                    _ => {
                        out.push(b'x');
                        p += 2;
                    }
                }
            }
            b'\\' if p + 1 < n => {
                out.push(match line[p + 1] {
                    b'n' => b'\n',
                    b'r' => b'\r',
                    b't' => b'\t',
                    b'b' => 0x08,
                    b'a' => 0x07,
                    other => other,
                });
                p += 2;
            }
            b'"' => return closing_quote(line, p),
            // Includes a backslash that is the last byte: kept, and the end
            // of line that follows reports the unbalanced quote.
            _ => {
                out.push(c);
                p += 1;
            }
        }
    }
}

/// The body of a single-quoted section starting at `p` (after the opening
/// quote). Returns the position after the closing quote.
fn single_quoted(line: &[u8], mut p: usize, out: &mut Vec<u8>) -> Option<usize> {
    loop {
        let c = *line.get(p)?; // end of line inside quotes: unbalanced
        match c {
            b'\\' if line.get(p + 1) == Some(&b'\'') => {
                out.push(b'\'');
                p += 2;
            }
            b'\'' => return closing_quote(line, p),
            _ => {
                out.push(c);
                p += 1;
            }
        }
    }
}

/// A closing quote at `p` must be followed by whitespace or the end of line.
#[inline]
fn closing_quote(line: &[u8], p: usize) -> Option<usize> {
    match line.get(p + 1) {
        Some(&b) if !is_c_space(b) => None,
        _ => Some(p + 1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// One parse result with owned arguments, for comparisons.
    #[derive(Debug, Clone, PartialEq, Eq)]
    enum Ev {
        Cmd(Vec<Vec<u8>>, usize),
        Empty(usize),
        Incomplete(usize),
        Err(String),
    }

    fn one(p: &mut RequestParser, buf: &[u8]) -> Ev {
        match p.parse(buf) {
            Ok(Parsed::Command { consumed }) => {
                assert!(consumed > 0 && consumed <= buf.len());
                let argv = p.argv(buf);
                assert!(!argv.is_empty());
                Ev::Cmd(argv.iter().map(<[u8]>::to_vec).collect(), consumed)
            }
            Ok(Parsed::Empty { consumed }) => {
                assert!(consumed > 0 && consumed <= buf.len());
                assert!(p.argv(buf).is_empty());
                Ev::Empty(consumed)
            }
            Ok(Parsed::Incomplete { hint }) => {
                assert!(
                    hint == 0 || hint > buf.len(),
                    "hint {hint} len {}",
                    buf.len()
                );
                assert!(p.argv(buf).is_empty());
                Ev::Incomplete(hint)
            }
            Err(e) => {
                assert!(!e.0.contains(['\r', '\n']));
                Ev::Err(e.0.into_owned())
            }
        }
    }

    /// Parses a whole buffer in one go: every result up to and including the
    /// final `Incomplete` or error.
    fn run_oneshot(limits: ParserLimits, input: &[u8]) -> Vec<Ev> {
        let mut p = RequestParser::new(limits);
        let mut off = 0;
        let mut evs = Vec::new();
        loop {
            let ev = one(&mut p, &input[off..]);
            match ev {
                Ev::Cmd(_, c) | Ev::Empty(c) => off += c,
                _ => {
                    evs.push(ev);
                    return evs;
                }
            }
            evs.push(ev);
        }
    }

    /// Same as `run_oneshot` but the bytes "arrive" in chunks of the given
    /// sizes (cycled), and each call gets a fresh copy of the buffer, as
    /// after a reallocation. Intermediate `Incomplete`s are not recorded.
    fn run_split(limits: ParserLimits, input: &[u8], chunks: &[usize]) -> (Vec<Ev>, usize) {
        let mut p = RequestParser::new(limits);
        let mut chunk_sizes = chunks.iter().copied().cycle();
        let mut off = 0;
        let mut avail = 0;
        let mut evs = Vec::new();
        let mut calls = 0;
        loop {
            let copy = input[off..avail].to_vec();
            calls += 1;
            let ev = one(&mut p, &copy);
            match ev {
                Ev::Cmd(_, c) | Ev::Empty(c) => {
                    off += c;
                    evs.push(ev);
                }
                Ev::Incomplete(_) if avail < input.len() => {
                    avail = (avail + chunk_sizes.next().unwrap().max(1)).min(input.len());
                }
                _ => {
                    evs.push(ev);
                    return (evs, calls);
                }
            }
        }
    }

    fn check_split_equivalence(limits: ParserLimits, input: &[u8]) -> Vec<Ev> {
        let expected = run_oneshot(limits, input);
        let (bytewise, _) = run_split(limits, input, &[1]);
        assert_eq!(
            bytewise,
            expected,
            "byte by byte, input {:?}",
            String::from_utf8_lossy(input)
        );
        for chunks in [&[2usize][..], &[3, 1, 7], &[5, 11, 1, 1]] {
            let (split, _) = run_split(limits, input, chunks);
            assert_eq!(split, expected, "chunks {chunks:?}");
        }
        expected
    }

    fn cmd(args: &[&[u8]], consumed: usize) -> Ev {
        Ev::Cmd(args.iter().map(|a| a.to_vec()).collect(), consumed)
    }

    fn err(e: ProtocolError) -> Ev {
        Ev::Err(e.0.into_owned())
    }

    fn encode(args: &[Vec<u8>], out: &mut Vec<u8>) {
        out.extend_from_slice(format!("*{}\r\n", args.len()).as_bytes());
        for a in args {
            out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
            out.extend_from_slice(a);
            out.extend_from_slice(b"\r\n");
        }
    }

    /// Parses exactly one complete command or empty request.
    fn parse_one(input: &[u8]) -> Ev {
        let evs = check_split_equivalence(ParserLimits::default(), input);
        assert_eq!(evs.len(), 2, "{evs:?}");
        assert_eq!(evs[1], Ev::Incomplete(0));
        evs[0].clone()
    }

    fn parse_err(limits: ParserLimits, input: &[u8]) -> String {
        let evs = check_split_equivalence(limits, input);
        match evs.last() {
            Some(Ev::Err(e)) => e.clone(),
            other => panic!("expected an error, got {other:?}"),
        }
    }

    fn small_limits() -> ParserLimits {
        ParserLimits {
            max_bulk_len: 10,
            max_multibulk_len: 3,
            max_inline_len: 16,
        }
    }

    // ---------------------------------------------------------------- shapes

    #[test]
    fn multibulk_command() {
        let input = b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n";
        assert_eq!(parse_one(input), cmd(&[b"GET", b"k"], input.len()));
    }

    #[test]
    fn multibulk_empty_and_binary_args() {
        let input = b"*3\r\n$0\r\n\r\n$4\r\n\r\n\r\n\r\n$3\r\n\0\xff*\r\n";
        assert_eq!(
            parse_one(input),
            cmd(&[b"", b"\r\n\r\n", b"\0\xff*"], input.len())
        );
    }

    #[test]
    fn bulk_terminator_bytes_are_skipped_not_checked() {
        // Like Redis, the 2 bytes after a body and the byte after a header's
        // `\r` are skipped whatever they are.
        let input = b"*2\rX$1\r?aXY$1\rZbQQ";
        assert_eq!(parse_one(input), cmd(&[b"a", b"b"], input.len()));
    }

    #[test]
    fn empty_multibulk_requests() {
        assert_eq!(parse_one(b"*0\r\n"), Ev::Empty(4));
        assert_eq!(parse_one(b"*-1\r\n"), Ev::Empty(5));
        assert_eq!(parse_one(b"*-5\r\n"), Ev::Empty(5));
        assert_eq!(parse_one(b"*-9223372036854775808\r\n"), Ev::Empty(23));
    }

    #[test]
    fn inline_commands() {
        assert_eq!(parse_one(b"PING\r\n"), cmd(&[b"PING"], 6));
        assert_eq!(parse_one(b"PING\n"), cmd(&[b"PING"], 5));
        assert_eq!(
            parse_one(b"  set  k\tv  \r\n"),
            cmd(&[b"set", b"k", b"v"], 14)
        );
        // Only one `\r` is stripped; the remaining one is whitespace.
        assert_eq!(parse_one(b"get k\r\r\n"), cmd(&[b"get", b"k"], 8));
        // `\r` in the middle separates arguments.
        assert_eq!(parse_one(b"a\rb\n"), cmd(&[b"a", b"b"], 4));
        // `$` and other bytes are not special in inline commands.
        assert_eq!(parse_one(b"$3 x\xff\0y\n"), cmd(&[b"$3", b"x\xff\0y"], 8));
    }

    #[test]
    fn blank_inline_lines_are_empty() {
        assert_eq!(parse_one(b"\r\n"), Ev::Empty(2));
        assert_eq!(parse_one(b"\n"), Ev::Empty(1));
        assert_eq!(parse_one(b" \t \x0b\x0c \r\n"), Ev::Empty(8));
        assert_eq!(parse_one(b"\r\r\n"), Ev::Empty(3));
    }

    #[test]
    fn inline_quoting() {
        let line = |s: &[u8]| -> Vec<Vec<u8>> {
            let mut input = s.to_vec();
            input.extend_from_slice(b"\r\n");
            match parse_one(&input) {
                Ev::Cmd(args, consumed) => {
                    assert_eq!(consumed, input.len());
                    args
                }
                other => panic!("{other:?}"),
            }
        };
        assert_eq!(line(br#"set k "a\x41\n""#), [&b"set"[..], b"k", b"aA\n"]);
        assert_eq!(line(br"'it\'s'"), [b"it's"]);
        assert_eq!(
            line(br#"SET k "hello world""#),
            [&b"SET"[..], b"k", b"hello world"]
        );
        assert_eq!(
            line(br#""\n\r\t\b\a\\\"\z\'""#),
            [&b"\n\r\t\x08\x07\\\"z'"[..]]
        );
        assert_eq!(line(br#""\xff\xFF\x0a\x00""#), [&b"\xff\xff\n\0"[..]]);
        // Not a hex escape: `\x` yields `x`, the rest is literal.
        assert_eq!(line(br#""\x4g" "\x4" "\x""#), [&b"x4g"[..], b"x4", b"x"]);
        // Single quotes keep backslashes except before a quote.
        assert_eq!(line(br"'a\nb\\c' 'c\'d'"), [&b"a\\nb\\\\c"[..], b"c'd"]);
        // ...so a backslash cannot escape another one before the closing
        // quote: `'a\\'` reads as `a\` then an escaped quote.
        assert_eq!(line(br"'a\\''"), [&b"a\\'"[..]]);
        // Empty quotes are an empty argument.
        assert_eq!(line(br#""" '' x"#), [&b""[..], b"", b"x"]);
        // A quote may open in the middle of an argument.
        assert_eq!(line(br#"ab"c d" e'f g'"#), [&b"abc d"[..], b"ef g"]);
        // A closing quote may be followed by any C whitespace.
        assert_eq!(
            line(b"\"a\"\tb \"c\"\x0bd '\x0c'\x0c"),
            [&b"a"[..], b"b", b"c", b"d", b"\x0c"]
        );
        // \v and \f separate arguments only when they come first.
        assert_eq!(line(b"\x0ba\x0bb\x0c c"), [&b"a\x0bb\x0c"[..], b"c"]);
        // Quote characters inside the other kind of quotes are plain.
        assert_eq!(
            line(br#""it's" 'say "hi"'"#),
            [&br"it's"[..], br#"say "hi""#]
        );
    }

    #[test]
    fn inline_quote_errors() {
        let unbalanced = ProtocolError::UNBALANCED_QUOTES.0.into_owned();
        for bad in [
            &br#"set k "abc"#[..],
            br"set k 'abc",
            br#"set k "a"b"#,
            br"set k 'a'b",
            br#""a"'b'"#,
            br#""abc\""#,
            br#""abc\"#,
            br"'abc\'",
            br#"""#,
            br"'",
            br#"a"b"c"#,
            br"'a\\'",
        ] {
            let mut input = bad.to_vec();
            input.extend_from_slice(b"\r\n");
            assert_eq!(
                parse_err(ParserLimits::default(), &input),
                unbalanced,
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    // ---------------------------------------------------------------- errors

    #[test]
    fn invalid_multibulk_length() {
        let msg = ProtocolError::INVALID_MULTIBULK_LEN.0.into_owned();
        for bad in [
            &b"*\r\n"[..],
            b"*abc\r\n",
            b"*+1\r\n",
            b"* 1\r\n",
            b"*1 \r\n",
            b"*01\r\n",
            b"*-0\r\n",
            b"*-\r\n",
            b"*1.0\r\n",
            b"*1\0\r\n",
            b"*9223372036854775808\r\n",
            b"*99999999999999999999\r\n",
            b"*100000000000000000000\r\n",
            b"*-9223372036854775809\r\n",
        ] {
            assert_eq!(
                parse_err(ParserLimits::default(), bad),
                msg,
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
        // Above the limit is invalid, at the limit is fine.
        assert_eq!(parse_err(small_limits(), b"*4\r\n"), msg);
        let ok = b"*3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n";
        assert_eq!(
            run_oneshot(small_limits(), ok)[0],
            cmd(&[b"a", b"b", b"c"], ok.len())
        );
        assert_eq!(parse_err(ParserLimits::default(), b"*1048577\r\n"), msg);
        assert_eq!(
            run_oneshot(ParserLimits::default(), b"*1048576\r\n"),
            [Ev::Incomplete(0)]
        );
    }

    #[test]
    fn too_big_mbulk_count_string() {
        let limits = small_limits();
        let msg = ProtocolError::TOO_BIG_MBULK_COUNT.0.into_owned();
        // 16 bytes without `\r` are still acceptable, 17 are not.
        assert_eq!(
            run_oneshot(limits, b"*111111111111111"),
            [Ev::Incomplete(0)]
        );
        assert_eq!(parse_err(limits, b"*1111111111111111"), msg);
        // Default limit: 64 KiB.
        let mut big = vec![b'*'];
        big.resize(65536, b'1');
        assert_eq!(
            run_oneshot(ParserLimits::default(), &big),
            [Ev::Incomplete(0)]
        );
        big.push(b'1');
        assert_eq!(run_oneshot(ParserLimits::default(), &big), [Ev::Err(msg)]);
        // With the `\r` present, Redis parses the line whatever its length.
        // (Only in one read: split finely, the limit would trip first, as in Redis.)
        assert_eq!(
            run_oneshot(limits, b"*11111111111111111111\r\n"),
            [err(ProtocolError::INVALID_MULTIBULK_LEN)]
        );
    }

    #[test]
    fn expected_dollar() {
        let cases: &[(&[u8], &str)] = &[
            (b"*1\r\n:1\r\n", "expected '$', got ':'"),
            (b"*2\r\n$1\r\na\r\n*1\r\n", "expected '$', got '*'"),
            (b"*1\r\n\r\n", "expected '$', got ' '"),
            (b"*1\r\n\n\r\n", "expected '$', got ' '"),
            (b"*1\r\n\t\r\n", "expected '$', got '\t'"),
            (b"*1\r\n\xff\r\n", "expected '$', got '\\xff'"),
            (b"*1\r\n\0\r\n", "expected '$', got '\\x00'"),
            (b"*1\r\n\x80abc\r\n", "expected '$', got '\\x80'"),
            (b"*1\r\nGET\r\n", "expected '$', got 'G'"),
        ];
        for &(input, msg) in cases {
            assert_eq!(parse_err(ParserLimits::default(), input), msg);
        }
        // The check waits for the whole header line, like Redis.
        assert_eq!(
            run_oneshot(ParserLimits::default(), b"*1\r\n:1"),
            [Ev::Incomplete(0)]
        );
        assert_eq!(
            ProtocolError::expected_dollar(b'x').to_string(),
            "Protocol error: expected '$', got 'x'"
        );
    }

    #[test]
    fn invalid_bulk_length() {
        let msg = ProtocolError::INVALID_BULK_LEN.0.into_owned();
        for bad in [
            &b"*1\r\n$\r\n"[..],
            b"*1\r\n$abc\r\n",
            b"*1\r\n$-1\r\n",
            b"*1\r\n$-0\r\n",
            b"*1\r\n$+3\r\n",
            b"*1\r\n$03\r\n",
            b"*1\r\n$ 3\r\n",
            b"*1\r\n$3 \r\n",
            b"*1\r\n$9223372036854775808\r\n",
            b"*1\r\n$536870913\r\n",
            b"*2\r\n$1\r\na\r\n$x\r\n",
        ] {
            assert_eq!(
                parse_err(ParserLimits::default(), bad),
                msg,
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
        // 512 MiB exactly is accepted (and then waits for the body).
        assert_eq!(
            run_oneshot(ParserLimits::default(), b"*1\r\n$536870912\r\n"),
            [Ev::Incomplete(16 + 536870912 + 2)]
        );
        assert_eq!(parse_err(small_limits(), b"*1\r\n$11\r\n"), msg);
        let ok = b"*1\r\n$10\r\n0123456789\r\n";
        assert_eq!(
            run_oneshot(small_limits(), ok)[0],
            cmd(&[b"0123456789"], ok.len())
        );
    }

    #[test]
    fn too_big_bulk_count_string() {
        let limits = small_limits();
        let msg = ProtocolError::TOO_BIG_BULK_COUNT.0.into_owned();
        // Measured from the start of the bulk header line.
        assert_eq!(
            run_oneshot(limits, b"*2\r\n$1\r\na\r\n$123456789012345"),
            [Ev::Incomplete(0)]
        );
        assert_eq!(
            parse_err(limits, b"*2\r\n$1\r\na\r\n$1234567890123456"),
            msg
        );
        let mut big = b"*1\r\n$".to_vec();
        big.resize(4 + 65537, b'1');
        assert_eq!(run_oneshot(ParserLimits::default(), &big), [Ev::Err(msg)]);
    }

    #[test]
    fn too_big_inline_request() {
        let limits = small_limits();
        let msg = ProtocolError::TOO_BIG_INLINE.0.into_owned();
        assert_eq!(
            run_oneshot(limits, b"GET aaaaaaaaaaaa"),
            [Ev::Incomplete(0)]
        );
        assert_eq!(parse_err(limits, b"GET aaaaaaaaaaaaa"), msg);
        // A line whose `\n` arrived in the same read is accepted (as in Redis).
        let long = b"GET aaaaaaaaaaaaaaaaaaaaaaaaa\r\n";
        assert_eq!(
            run_oneshot(limits, long)[0],
            cmd(&[b"GET", b"aaaaaaaaaaaaaaaaaaaaaaaaa"], long.len())
        );
        let big = vec![b'a'; 65537];
        assert_eq!(run_oneshot(ParserLimits::default(), &big), [Ev::Err(msg)]);
    }

    #[test]
    fn parse_i64_matches_string2ll() {
        let ok: &[(&[u8], i64)] = &[
            (b"0", 0),
            (b"1", 1),
            (b"-1", -1),
            (b"10", 10),
            (b"1048576", 1048576),
            (b"9223372036854775807", i64::MAX),
            (b"-9223372036854775808", i64::MIN),
        ];
        for &(s, v) in ok {
            assert_eq!(parse_i64(s), Some(v), "{}", String::from_utf8_lossy(s));
        }
        for s in [
            &b""[..],
            b"-",
            b"+1",
            b"-0",
            b"00",
            b"01",
            b" 1",
            b"1 ",
            b"1a",
            b"0x10",
            b"9223372036854775808",
            b"-9223372036854775809",
            b"18446744073709551616",
            b"123456789012345678901",
            b"--1",
        ] {
            assert_eq!(parse_i64(s), None, "{}", String::from_utf8_lossy(s));
        }
    }

    // --------------------------------------------------- incremental parsing

    #[test]
    fn every_shape_byte_by_byte() {
        let shapes: &[&[u8]] = &[
            b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n",
            b"*3\r\n$3\r\nSET\r\n$0\r\n\r\n$12\r\nhello\r\nworld\r\n",
            b"*1\r\n$3\r\na\rb\r\n",
            b"*0\r\n",
            b"*-1\r\n",
            b"PING\r\n",
            b"PING\n",
            b"\r\n",
            b"   \n",
            b"set k \"a\\x41\\n\" 'it\\'s'\r\n",
            b"*1\r\n:1\r\n",
            b"*x\r\n",
            b"*1\r\n$-1\r\n",
            b"set \"k\r\n",
            // Pipelines mixing everything.
            b"*1\r\n$4\r\nPING\r\nPING\r\n*0\r\n\r\n*2\r\n$4\r\nECHO\r\n$2\r\nhi\r\nGET 'x y'\n",
        ];
        for &shape in shapes {
            let evs = check_split_equivalence(ParserLimits::default(), shape);
            assert!(evs.len() >= 2 || matches!(evs[0], Ev::Err(_)), "{evs:?}");
            // Every proper prefix of a single command is Incomplete.
            let first_len = match &evs[0] {
                Ev::Cmd(_, c) | Ev::Empty(c) => *c,
                _ => continue,
            };
            for cut in 0..first_len {
                let mut p = RequestParser::default();
                assert!(matches!(
                    p.parse(&shape[..cut]),
                    Ok(Parsed::Incomplete { .. })
                ));
            }
        }
    }

    #[test]
    fn resumes_after_incomplete_without_new_bytes() {
        let input = b"*2\r\n$3\r\nGET\r\n$10\r\n0123";
        let mut p = RequestParser::default();
        for _ in 0..3 {
            assert_eq!(p.parse(input), Ok(Parsed::Incomplete { hint: 13 + 5 + 12 }));
        }
        let mut full = input.to_vec();
        full.extend_from_slice(b"456789\r\n");
        assert_eq!(
            p.parse(&full),
            Ok(Parsed::Command {
                consumed: full.len()
            })
        );
        let argv = p.argv(&full);
        assert_eq!(argv.get(0), b"GET");
        assert_eq!(argv.get(1), b"0123456789");
    }

    #[test]
    fn pipelined_thousands() {
        let mut input = Vec::new();
        let mut expected = Vec::new();
        for i in 0..10_000 {
            let key = format!("key:{i}").into_bytes();
            match i % 4 {
                0 | 1 => {
                    let args = vec![b"SET".to_vec(), key, format!("value-{i}\r\n").into_bytes()];
                    encode(&args, &mut input);
                    expected.push(args);
                }
                2 => {
                    input.extend_from_slice(b"GET ");
                    input.extend_from_slice(&key);
                    input.extend_from_slice(b"\r\n");
                    expected.push(vec![b"GET".to_vec(), key]);
                }
                _ => input.extend_from_slice(b"*0\r\n"),
            }
        }
        let mut p = RequestParser::default();
        let mut off = 0;
        let mut got = Vec::new();
        while off < input.len() {
            match p.parse(&input[off..]).unwrap() {
                Parsed::Command { consumed } => {
                    got.push(
                        p.argv(&input[off..])
                            .iter()
                            .map(<[u8]>::to_vec)
                            .collect::<Vec<_>>(),
                    );
                    off += consumed;
                }
                Parsed::Empty { consumed } => off += consumed,
                Parsed::Incomplete { .. } => panic!("incomplete at {off}"),
            }
        }
        assert_eq!(got, expected);
        assert_eq!(p.parse(&input[off..]), Ok(Parsed::Incomplete { hint: 0 }));
    }

    #[test]
    fn large_bulk_with_hint() {
        let body: Vec<u8> = (0..4 * 1024 * 1024u32).map(|i| (i % 251) as u8).collect();
        let mut input = Vec::new();
        encode(
            &[b"SET".to_vec(), b"big".to_vec(), body.clone()],
            &mut input,
        );
        let header = b"*3\r\n$3\r\nSET\r\n$3\r\nbig\r\n$4194304\r\n".len();
        let total = header + body.len() + 2;
        assert_eq!(input.len(), total);

        let mut p = RequestParser::default();
        assert_eq!(
            p.parse(&input[..header - 1]),
            Ok(Parsed::Incomplete { hint: 0 })
        );
        assert_eq!(
            p.parse(&input[..header]),
            Ok(Parsed::Incomplete { hint: total })
        );
        let scanned_before_body = p.scanned;
        // The body arrives in 64 KiB reads; each call is O(1).
        let mut avail = header;
        while avail < total {
            avail = (avail + 65536).min(total);
            let r = p.parse(&input[..avail]).unwrap();
            if avail < total {
                assert_eq!(r, Parsed::Incomplete { hint: total });
            } else {
                assert_eq!(r, Parsed::Command { consumed: total });
            }
        }
        assert_eq!(
            p.scanned, scanned_before_body,
            "the body must not be scanned"
        );
        let argv = p.argv(&input);
        assert_eq!(argv.len(), 3);
        assert_eq!(argv.get(2), &body[..]);
    }

    #[test]
    fn never_rescans() {
        // A long inline line fed byte by byte: each byte is searched once.
        let mut line = b"SET k ".to_vec();
        line.extend(std::iter::repeat_n(b'v', 20_000));
        line.extend_from_slice(b"\r\n");
        let mut p = RequestParser::default();
        for end in 0..=line.len() {
            let r = p.parse(&line[..end]).unwrap();
            assert_eq!(matches!(r, Parsed::Command { .. }), end == line.len());
        }
        assert_eq!(p.scanned, line.len());

        // A multibulk fed byte by byte: headers are searched once (plus one
        // byte per call while a `\r` waits for the byte after it), bodies not
        // at all.
        let mut input = Vec::new();
        encode(
            &[b"SET".to_vec(), b"k".to_vec(), vec![b'x'; 20_000]],
            &mut input,
        );
        let mut p = RequestParser::default();
        let mut calls = 0;
        for end in 0..=input.len() {
            calls += 1;
            let r = p.parse(&input[..end]).unwrap();
            assert_eq!(matches!(r, Parsed::Command { .. }), end == input.len());
        }
        assert!(calls > 20_000);
        assert!(p.scanned < 40, "scanned {}", p.scanned);
    }

    #[test]
    fn steady_state_reuses_buffers() {
        let mut input = Vec::new();
        for i in 0..100 {
            encode(
                &[b"SET".to_vec(), format!("k{i}").into_bytes(), b"v".to_vec()],
                &mut input,
            );
            input.extend_from_slice(format!("SET \"k{i}\" 'v'\r\n").as_bytes());
        }
        let mut p = RequestParser::default();
        let run = |p: &mut RequestParser| {
            let mut off = 0;
            while let Ok(Parsed::Command { consumed }) = p.parse(&input[off..]) {
                assert_eq!(p.argv(&input[off..]).len(), 3);
                off += consumed;
            }
            assert_eq!(off, input.len());
        };
        run(&mut p);
        let spans = (p.spans.as_ptr(), p.spans.capacity());
        let inline = (p.inline_buf.as_ptr(), p.inline_buf.capacity());
        for _ in 0..10 {
            run(&mut p);
        }
        assert_eq!((p.spans.as_ptr(), p.spans.capacity()), spans);
        assert_eq!((p.inline_buf.as_ptr(), p.inline_buf.capacity()), inline);
    }

    #[test]
    fn huge_commands_do_not_pin_memory() {
        let mut p = RequestParser::default();
        let mut input = Vec::new();
        encode(&vec![b"a".to_vec(); 100_000], &mut input);
        assert!(matches!(p.parse(&input), Ok(Parsed::Command { .. })));
        assert!(p.spans.capacity() >= 100_000);
        let mut line = vec![b'a'; 100_000];
        line.push(b'\n');
        assert!(matches!(p.parse(&line), Ok(Parsed::Command { .. })));
        assert!(p.spans.capacity() <= SPANS_RETAIN);
        assert!(matches!(p.parse(b"PING\r\n"), Ok(Parsed::Command { .. })));
        assert!(p.inline_buf.capacity() <= INLINE_RETAIN);
    }

    #[test]
    fn argv_only_after_command() {
        let mut p = RequestParser::default();
        let input = b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n";
        assert!(matches!(
            p.parse(&input[..10]),
            Ok(Parsed::Incomplete { .. })
        ));
        assert!(p.argv(input).is_empty());
        assert!(matches!(p.parse(input), Ok(Parsed::Command { .. })));
        assert_eq!(p.argv(input).len(), 2);
        assert_eq!(p.parse(b"*0\r\n"), Ok(Parsed::Empty { consumed: 4 }));
        assert!(p.argv(b"*0\r\n").is_empty());
        assert!(p.parse(b"*1\r\n:\r\n").is_err());
        assert!(p.argv(b"*1\r\n:\r\n").is_empty());
        // The parser is usable again after an error.
        assert!(matches!(p.parse(input), Ok(Parsed::Command { .. })));
        assert_eq!(p.argv(input).get(1), b"k");
    }

    #[test]
    fn limits_can_change() {
        let mut p = RequestParser::new(small_limits());
        assert!(p.parse(b"*1\r\n$11\r\n").is_err());
        p.set_limits(ParserLimits::default());
        assert_eq!(p.limits().max_bulk_len, 512 * 1024 * 1024);
        assert!(matches!(
            p.parse(b"*1\r\n$11\r\n"),
            Ok(Parsed::Incomplete { hint: 22 })
        ));
    }

    #[test]
    fn shorter_buffer_restarts_instead_of_panicking() {
        let mut p = RequestParser::default();
        assert!(matches!(
            p.parse(b"*1\r\n$3\r\nab"),
            Ok(Parsed::Incomplete { .. })
        ));
        assert_eq!(p.parse(b"PING\n"), Ok(Parsed::Command { consumed: 5 }));
        assert_eq!(p.argv(b"PING\n").get(0), b"PING");
        p.reset();
        assert_eq!(p.parse(b""), Ok(Parsed::Incomplete { hint: 0 }));
    }

    #[test]
    fn error_display() {
        assert_eq!(
            ProtocolError::INVALID_BULK_LEN.to_string(),
            "Protocol error: invalid bulk length"
        );
        assert_eq!(
            ProtocolError::UNBALANCED_QUOTES.message(),
            "unbalanced quotes in request"
        );
    }

    // ------------------------------------------------------------ properties

    fn arg_strategy() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..40),
            // Bytes that matter to the protocol, densely.
            proptest::collection::vec(
                prop_oneof![
                    Just(b'\r'),
                    Just(b'\n'),
                    Just(b'$'),
                    Just(b'*'),
                    Just(b'0'),
                    any::<u8>()
                ],
                0..40
            ),
            Just(Vec::new()),
            Just(b"\r\n".to_vec()),
        ]
    }

    fn argv_strategy() -> impl Strategy<Value = Vec<Vec<u8>>> {
        proptest::collection::vec(arg_strategy(), 1..8)
    }

    /// Redis-style quoting (`sdscatrepr`), the inverse of inline splitting.
    fn repr(arg: &[u8], out: &mut Vec<u8>) {
        out.push(b'"');
        for &b in arg {
            match b {
                b'\\' => out.extend_from_slice(b"\\\\"),
                b'"' => out.extend_from_slice(b"\\\""),
                b'\n' => out.extend_from_slice(b"\\n"),
                b'\r' => out.extend_from_slice(b"\\r"),
                b'\t' => out.extend_from_slice(b"\\t"),
                0x07 => out.extend_from_slice(b"\\a"),
                0x08 => out.extend_from_slice(b"\\b"),
                0x20..=0x7e => out.push(b),
                _ => out.extend_from_slice(format!("\\x{b:02x}").as_bytes()),
            }
        }
        out.push(b'"');
    }

    /// Protocol-ish fragments, so random inputs reach deep into the parser.
    fn token_soup() -> impl Strategy<Value = Vec<u8>> {
        let token = prop_oneof![
            Just(&b"*"[..]),
            Just(&b"$"[..]),
            Just(&b"\r\n"[..]),
            Just(&b"\r"[..]),
            Just(&b"\n"[..]),
            Just(&b"1"[..]),
            Just(&b"2"[..]),
            Just(&b"0"[..]),
            Just(&b"-"[..]),
            Just(&b"-1"[..]),
            Just(&b"*2\r\n"[..]),
            Just(&b"$3\r\n"[..]),
            Just(&b"GET"[..]),
            Just(&b" "[..]),
            Just(&b"\""[..]),
            Just(&b"'"[..]),
            Just(&b"\\"[..]),
            Just(&b"\\x4"[..]),
            Just(&b"\x0b"[..]),
            Just(&b"\0"[..]),
            Just(&b"\xff"[..]),
        ];
        proptest::collection::vec(token, 0..60).prop_map(|ts| ts.concat())
    }

    proptest! {
        #[test]
        fn prop_resp_roundtrip(
            cmds in proptest::collection::vec(argv_strategy(), 1..6),
            chunks in proptest::collection::vec(1usize..20, 1..8),
        ) {
            let mut input = Vec::new();
            let mut expected = Vec::new();
            for args in &cmds {
                let start = input.len();
                encode(args, &mut input);
                expected.push(Ev::Cmd(args.clone(), input.len() - start));
            }
            expected.push(Ev::Incomplete(0));
            let oneshot = run_oneshot(ParserLimits::default(), &input);
            prop_assert_eq!(&oneshot, &expected);
            let (split, _) = run_split(ParserLimits::default(), &input, &chunks);
            prop_assert_eq!(&split, &expected);
            let (bytewise, _) = run_split(ParserLimits::default(), &input, &[1]);
            prop_assert_eq!(&bytewise, &expected);
        }

        #[test]
        fn prop_inline_roundtrip(args in argv_strategy(), seps in proptest::collection::vec(
            prop_oneof![Just(&b" "[..]), Just(&b"\t"[..]), Just(&b"  \x0b"[..]), Just(&b" \x0c\r"[..])], 8),
            crlf in any::<bool>(),
        ) {
            let mut input = Vec::new();
            for (i, a) in args.iter().enumerate() {
                input.extend_from_slice(seps[i]);
                repr(a, &mut input);
            }
            input.extend_from_slice(if crlf { b"\r\n" } else { b"\n" });
            let expected = vec![Ev::Cmd(args.clone(), input.len()), Ev::Incomplete(0)];
            prop_assert_eq!(&run_oneshot(ParserLimits::default(), &input), &expected);
            prop_assert_eq!(&run_split(ParserLimits::default(), &input, &[1]).0, &expected);
        }

        #[test]
        fn prop_random_bytes_never_panic(
            input in proptest::collection::vec(any::<u8>(), 0..300),
            chunks in proptest::collection::vec(1usize..10, 1..5),
        ) {
            // Tiny limits make every limit check reachable.
            for limits in [ParserLimits::default(), small_limits()] {
                run_oneshot(limits, &input);
                run_split(limits, &input, &chunks);
            }
        }

        #[test]
        fn prop_chunking_does_not_change_results(
            input in token_soup(),
            chunks in proptest::collection::vec(1usize..10, 1..5),
        ) {
            // With inputs below every limit, Redis's results do not depend on
            // how the bytes are split into reads, and neither may ours.
            let limits = ParserLimits::default();
            let expected = run_oneshot(limits, &input);
            prop_assert_eq!(&run_split(limits, &input, &chunks).0, &expected);
            prop_assert_eq!(&run_split(limits, &input, &[1]).0, &expected);
            // Small limits make results depend on chunking, but must not panic.
            run_split(small_limits(), &input, &chunks);
        }

        #[test]
        fn prop_find_byte_matches_naive(
            hay in proptest::collection::vec(prop_oneof![Just(b'\r'), any::<u8>()], 0..100),
            needle in prop_oneof![Just(b'\r'), Just(b'\n'), any::<u8>()],
            from in 0usize..100,
        ) {
            let from = from.min(hay.len());
            let hay = &hay[from..];
            prop_assert_eq!(find_byte(hay, needle), hay.iter().position(|&b| b == needle));
        }
    }
}
