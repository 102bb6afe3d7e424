//! Reading back replies this server encoded itself. A coordinator that split a multi-key
//! command across shards gets each part's reply as encoded bytes and stitches them
//! together (summing integers, interleaving array elements) without decoding values.
//! The input is always well formed, so this is deliberately minimal.

fn line_end(buf: &[u8], from: usize) -> Option<usize> {
    buf[from..]
        .windows(2)
        .position(|w| w == b"\r\n")
        .map(|p| from + p)
}

fn header_num(buf: &[u8]) -> Option<(i64, usize)> {
    let end = line_end(buf, 1)?;
    let n = std::str::from_utf8(&buf[1..end]).ok()?.parse().ok()?;
    Some((n, end + 2))
}

/// Length in bytes of the first complete reply in `buf`.
pub fn element_len(buf: &[u8]) -> Option<usize> {
    match *buf.first()? {
        b'+' | b'-' | b':' | b'_' | b',' | b'#' | b'(' => Some(line_end(buf, 1)? + 2),
        b'$' | b'=' | b'!' => {
            let (n, hdr) = header_num(buf)?;
            let len = if n < 0 { hdr } else { hdr + n as usize + 2 };
            (len <= buf.len()).then_some(len)
        }
        b'*' | b'~' | b'%' | b'>' | b'|' => {
            let (n, mut pos) = header_num(buf)?;
            let items = if matches!(buf[0], b'%' | b'|') {
                2 * n
            } else {
                n
            };
            for _ in 0..items.max(0) {
                pos += element_len(&buf[pos..])?;
            }
            Some(pos)
        }
        _ => None,
    }
}

/// The value of an integer reply (`:n`), or None for anything else.
pub fn as_int(buf: &[u8]) -> Option<i64> {
    if buf.first() != Some(&b':') {
        return None;
    }
    header_num(buf).map(|(n, _)| n)
}

/// Whether the reply is an error.
pub fn is_error(buf: &[u8]) -> bool {
    buf.first() == Some(&b'-')
}

/// For an aggregate reply: its element count and the offset where elements start.
pub fn aggregate(buf: &[u8]) -> Option<(usize, usize)> {
    match *buf.first()? {
        b'*' | b'~' => header_num(buf).map(|(n, p)| (n.max(0) as usize, p)),
        _ => None,
    }
}

/// Splits an aggregate reply into its elements' byte ranges.
pub fn elements(buf: &[u8]) -> Option<Vec<&[u8]>> {
    let (n, mut pos) = aggregate(buf)?;
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let len = element_len(&buf[pos..])?;
        out.push(&buf[pos..pos + len]);
        pos += len;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths() {
        assert_eq!(element_len(b"+OK\r\nrest"), Some(5));
        assert_eq!(element_len(b"$3\r\nabc\r\n"), Some(9));
        assert_eq!(element_len(b"$-1\r\n"), Some(5));
        assert_eq!(element_len(b"*2\r\n$1\r\na\r\n_\r\n"), Some(14));
        assert_eq!(element_len(b"%1\r\n+a\r\n:1\r\n"), Some(12));
        assert_eq!(element_len(b"$3\r\nab"), None);
    }

    #[test]
    fn ints_and_elements() {
        assert_eq!(as_int(b":-12\r\n"), Some(-12));
        assert_eq!(as_int(b"+OK\r\n"), None);
        let e = elements(b"*3\r\n$1\r\na\r\n$-1\r\n:5\r\n").unwrap();
        assert_eq!(e, vec![&b"$1\r\na\r\n"[..], b"$-1\r\n", b":5\r\n"]);
    }
}
