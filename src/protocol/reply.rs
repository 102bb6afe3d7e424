//! Reply encoding. One `ReplyBuf` per connection (and one per forwarded batch) collects
//! encoded replies; the protocol version decides how maps, sets, doubles and nulls look.

use crate::util::numbers;

/// The protocol a connection speaks, chosen with `HELLO 2|3`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    Resp2 = 2,
    Resp3 = 3,
}

/// An output buffer of encoded replies.
#[derive(Debug)]
pub struct ReplyBuf {
    pub buf: Vec<u8>,
    pub proto: Protocol,
}

impl ReplyBuf {
    pub fn new(proto: Protocol) -> Self {
        ReplyBuf {
            buf: Vec::new(),
            proto,
        }
    }
    pub fn with_capacity(proto: Protocol, cap: usize) -> Self {
        ReplyBuf {
            buf: Vec::with_capacity(cap),
            proto,
        }
    }
    #[inline]
    pub fn len(&self) -> usize {
        self.buf.len()
    }
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }
    #[inline]
    pub fn resp3(&self) -> bool {
        self.proto == Protocol::Resp3
    }

    #[inline]
    pub fn ok(&mut self) {
        self.buf.extend_from_slice(b"+OK\r\n");
    }
    /// A simple string; `s` must not contain CR or LF.
    #[inline]
    pub fn simple(&mut self, s: &[u8]) {
        self.buf.push(b'+');
        self.buf.extend_from_slice(s);
        self.buf.extend_from_slice(b"\r\n");
    }
    /// An error; `msg` is the full text after `-`, e.g. `ERR syntax error`. CR/LF in it
    /// would break the stream, so they become spaces (as Redis does).
    pub fn error(&mut self, msg: &str) {
        self.buf.push(b'-');
        self.buf.extend(
            msg.bytes()
                .map(|b| if b == b'\r' || b == b'\n' { b' ' } else { b }),
        );
        self.buf.extend_from_slice(b"\r\n");
    }
    #[inline]
    pub fn int(&mut self, v: i64) {
        self.buf.push(b':');
        numbers::write_i64(v, &mut self.buf);
        self.buf.extend_from_slice(b"\r\n");
    }
    #[inline]
    fn header(&mut self, tag: u8, n: usize) {
        self.buf.push(tag);
        let mut b = itoa::Buffer::new();
        self.buf.extend_from_slice(b.format(n).as_bytes());
        self.buf.extend_from_slice(b"\r\n");
    }
    #[inline]
    pub fn bulk(&mut self, v: &[u8]) {
        self.header(b'$', v.len());
        self.buf.extend_from_slice(v);
        self.buf.extend_from_slice(b"\r\n");
    }
    /// An integer sent as a bulk string (e.g. INCRBYFLOAT-like replies of integers).
    pub fn bulk_i64(&mut self, v: i64) {
        let mut b = itoa::Buffer::new();
        self.bulk(b.format(v).as_bytes());
    }
    /// The null bulk string (`$-1` in RESP2, `_` in RESP3).
    #[inline]
    pub fn null(&mut self) {
        if self.resp3() {
            self.buf.extend_from_slice(b"_\r\n");
        } else {
            self.buf.extend_from_slice(b"$-1\r\n");
        }
    }
    /// The null array (`*-1` in RESP2, `_` in RESP3).
    pub fn null_array(&mut self) {
        if self.resp3() {
            self.buf.extend_from_slice(b"_\r\n");
        } else {
            self.buf.extend_from_slice(b"*-1\r\n");
        }
    }
    #[inline]
    pub fn array(&mut self, n: usize) {
        self.header(b'*', n);
    }
    /// A map of `n` pairs; a flat array of 2n elements in RESP2.
    pub fn map(&mut self, n: usize) {
        if self.resp3() {
            self.header(b'%', n);
        } else {
            self.header(b'*', 2 * n);
        }
    }
    /// A set of `n` elements; an array in RESP2.
    pub fn set(&mut self, n: usize) {
        if self.resp3() {
            self.header(b'~', n);
        } else {
            self.header(b'*', n);
        }
    }
    /// A double: RESP3 `,`, RESP2 a bulk string as Redis formats it.
    pub fn double(&mut self, v: f64) {
        if self.resp3() {
            self.buf.push(b',');
            numbers::resp3_double(v, &mut self.buf);
            self.buf.extend_from_slice(b"\r\n");
        } else {
            let mut tmp = Vec::with_capacity(24);
            numbers::format_double(v, &mut tmp);
            self.bulk(&tmp);
        }
    }
    /// A boolean: RESP3 `#t`/`#f`, RESP2 `:1`/`:0`.
    pub fn boolean(&mut self, v: bool) {
        if self.resp3() {
            self.buf
                .extend_from_slice(if v { b"#t\r\n" } else { b"#f\r\n" });
        } else {
            self.int(v as i64);
        }
    }
    /// A verbatim string (RESP3 `=`, with a three-letter format such as `txt`); a bulk
    /// string in RESP2.
    pub fn verbatim(&mut self, format: &[u8; 3], text: &[u8]) {
        if self.resp3() {
            self.header(b'=', text.len() + 4);
            self.buf.extend_from_slice(format);
            self.buf.push(b':');
            self.buf.extend_from_slice(text);
            self.buf.extend_from_slice(b"\r\n");
        } else {
            self.bulk(text);
        }
    }
    /// Bytes that are already a complete encoded reply.
    pub fn raw(&mut self, encoded: &[u8]) {
        self.buf.extend_from_slice(encoded);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(proto: Protocol, f: impl FnOnce(&mut ReplyBuf)) -> String {
        let mut r = ReplyBuf::new(proto);
        f(&mut r);
        String::from_utf8(r.buf).unwrap()
    }

    #[test]
    fn resp2_shapes() {
        use Protocol::Resp2 as P;
        assert_eq!(enc(P, |r| r.ok()), "+OK\r\n");
        assert_eq!(enc(P, |r| r.int(-42)), ":-42\r\n");
        assert_eq!(enc(P, |r| r.bulk(b"hi")), "$2\r\nhi\r\n");
        assert_eq!(enc(P, |r| r.null()), "$-1\r\n");
        assert_eq!(enc(P, |r| r.null_array()), "*-1\r\n");
        assert_eq!(enc(P, |r| r.map(2)), "*4\r\n");
        assert_eq!(enc(P, |r| r.set(3)), "*3\r\n");
        assert_eq!(enc(P, |r| r.boolean(true)), ":1\r\n");
        assert_eq!(enc(P, |r| r.double(1.5)), "$3\r\n1.5\r\n");
        assert_eq!(enc(P, |r| r.verbatim(b"txt", b"ab")), "$2\r\nab\r\n");
        assert_eq!(enc(P, |r| r.error("ERR a\r\nb")), "-ERR a  b\r\n");
    }

    #[test]
    fn resp3_shapes() {
        use Protocol::Resp3 as P;
        assert_eq!(enc(P, |r| r.null()), "_\r\n");
        assert_eq!(enc(P, |r| r.null_array()), "_\r\n");
        assert_eq!(enc(P, |r| r.map(2)), "%2\r\n");
        assert_eq!(enc(P, |r| r.set(3)), "~3\r\n");
        assert_eq!(enc(P, |r| r.boolean(false)), "#f\r\n");
        assert_eq!(enc(P, |r| r.double(1.5)), ",1.5\r\n");
        assert_eq!(enc(P, |r| r.verbatim(b"txt", b"ab")), "=6\r\ntxt:ab\r\n");
    }
}
