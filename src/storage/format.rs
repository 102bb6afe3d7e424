//! The on-disk format. Every file name, magic number and format version MemFlux writes is
//! defined here and nowhere else; `shards/README.md` describes the same layout for
//! operators.
//!
//! A shard's folder `<dir>/<shard>/` holds:
//!
//! * `wal-<seq>.log` — write-ahead log segments, `<seq>` zero-padded to 20 digits so that
//!   name order is log order. Each starts with a [`SegmentHeader`] and continues with
//!   records (see [`encode_record`]).
//! * `snapshot.mfs` — the latest snapshot: a [`SnapshotHeader`], then one LZ4 frame of
//!   bincode [`SnapItem`]s ending with `SnapItem::End`.
//! * `snapshot.mfs.tmp` — a snapshot being written; never read, removed at start.
//!
//! All integers in headers are little-endian. Payloads are bincode 2 with
//! `bincode::config::standard()`.

use std::fmt;
use std::path::{Path, PathBuf};

use bincode::{Decode, Encode};

use crate::shard::value::Value;

/// Version of every file kind below. Bump it when any layout changes; a reader refuses
/// files of another version.
pub const FORMAT_VERSION: u32 = 1;

pub const SNAPSHOT_FILE: &str = "snapshot.mfs";
pub const SNAPSHOT_TMP_FILE: &str = "snapshot.mfs.tmp";
const SEGMENT_PREFIX: &str = "wal-";
const SEGMENT_SUFFIX: &str = ".log";

/// The bincode configuration of every payload.
pub const BINCODE: bincode::config::Configuration = bincode::config::standard();

/// The folder of shard `id` under the data directory.
pub fn shard_dir(dir: &Path, id: usize) -> PathBuf {
    dir.join(id.to_string())
}

pub fn segment_name(seq: u64) -> String {
    format!("{SEGMENT_PREFIX}{seq:020}{SEGMENT_SUFFIX}")
}

/// The sequence number of a segment file name, or `None` for any other name.
pub fn parse_segment_name(name: &str) -> Option<u64> {
    let digits = name
        .strip_prefix(SEGMENT_PREFIX)?
        .strip_suffix(SEGMENT_SUFFIX)?;
    if digits.len() != 20 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// The WAL segments in `shard_dir`, in log order.
pub fn list_segments(shard_dir: &Path) -> std::io::Result<Vec<(u64, PathBuf)>> {
    let mut segments = Vec::new();
    for entry in std::fs::read_dir(shard_dir)? {
        let entry = entry?;
        if let Some(seq) = entry.file_name().to_str().and_then(parse_segment_name) {
            segments.push((seq, entry.path()));
        }
    }
    segments.sort();
    Ok(segments)
}

/// Why a file could not be read. `offset` is the byte offset in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormatError {
    pub offset: u64,
    pub reason: String,
}

impl FormatError {
    pub fn new(offset: u64, reason: impl Into<String>) -> Self {
        FormatError {
            offset,
            reason: reason.into(),
        }
    }
}

impl fmt::Display for FormatError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at offset {}", self.reason, self.offset)
    }
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().expect("4 bytes"))
}
fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().expect("8 bytes"))
}

/// Checks magic and version of a header; `kind` names the file kind in errors.
fn check_magic(b: &[u8], magic: &[u8; 8], kind: &str) -> Result<(), FormatError> {
    if b.len() < 8 || &b[..8] != magic {
        return Err(FormatError::new(
            0,
            format!("not a MemFlux {kind} (bad magic)"),
        ));
    }
    if b.len() < 12 {
        return Err(FormatError::new(
            b.len() as u64,
            format!("truncated {kind} header"),
        ));
    }
    let version = u32_at(b, 8);
    if version != FORMAT_VERSION {
        return Err(FormatError::new(
            8,
            format!(
                "{kind} has format version {version}; this build reads version {FORMAT_VERSION}"
            ),
        ));
    }
    Ok(())
}

// Format: WAL segment header, 32 bytes.
//   0  magic      [u8; 8] = "MFLXWAL\n"
//   8  version    u32     = FORMAT_VERSION
//  12  shard      u32     id of the shard that wrote the segment
//  16  shards     u32     shard count of the server that wrote it
//  20  crc32      u32     CRC32 of bytes 0..20 and 24..32
//  24  first_lsn  u64     LSN of the first record the segment may hold
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SegmentHeader {
    pub shard: u32,
    pub shards: u32,
    pub first_lsn: u64,
}

pub const SEGMENT_MAGIC: &[u8; 8] = b"MFLXWAL\n";
pub const SEGMENT_HEADER_LEN: usize = 32;

impl SegmentHeader {
    pub fn encode(&self) -> [u8; SEGMENT_HEADER_LEN] {
        let mut b = [0u8; SEGMENT_HEADER_LEN];
        b[..8].copy_from_slice(SEGMENT_MAGIC);
        b[8..12].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
        b[12..16].copy_from_slice(&self.shard.to_le_bytes());
        b[16..20].copy_from_slice(&self.shards.to_le_bytes());
        b[24..32].copy_from_slice(&self.first_lsn.to_le_bytes());
        let crc = header_crc(&b, 20);
        b[20..24].copy_from_slice(&crc.to_le_bytes());
        b
    }

    pub fn decode(b: &[u8]) -> Result<Self, FormatError> {
        check_magic(b, SEGMENT_MAGIC, "WAL segment")?;
        if b.len() < SEGMENT_HEADER_LEN {
            return Err(FormatError::new(
                b.len() as u64,
                "truncated WAL segment header",
            ));
        }
        if u32_at(b, 20) != header_crc(&b[..SEGMENT_HEADER_LEN], 20) {
            return Err(FormatError::new(20, "WAL segment header checksum mismatch"));
        }
        Ok(SegmentHeader {
            shard: u32_at(b, 12),
            shards: u32_at(b, 16),
            first_lsn: u64_at(b, 24),
        })
    }
}

/// CRC32 of a header without its own 4-byte checksum field at `crc_at`.
fn header_crc(b: &[u8], crc_at: usize) -> u32 {
    let mut h = crc32fast::Hasher::new();
    h.update(&b[..crc_at]);
    h.update(&b[crc_at + 4..]);
    h.finalize()
}

// Format: WAL record.
//   0  len      u32   payload length in bytes
//   4  crc32    u32   CRC32 of bytes 8..16+len (LSN and payload)
//   8  lsn      u64   log sequence number: the shard's previous record's + 1
//  16  payload  [u8; len]   bincode of `Effect`
pub const RECORD_HEADER_LEN: usize = 16;

/// The bincode tag of `Effect::Group`, whose records `Journal::end_group` assembles by
/// hand: this byte, the effect count (bincode varint), then the effects.
pub const GROUP_TAG: u8 = 5;

/// Appends one record with an already-encoded payload at the end of `buf`.
///
/// The payload is encoded by the caller straight into `buf` after a reserved header (see
/// `Journal::append`); this fills the header in.
pub fn seal_record(buf: &mut [u8], record_start: usize, lsn: u64) {
    let payload_len = buf.len() - record_start - RECORD_HEADER_LEN;
    let rec = &mut buf[record_start..];
    rec[0..4].copy_from_slice(&(payload_len as u32).to_le_bytes());
    rec[8..16].copy_from_slice(&lsn.to_le_bytes());
    let crc = crc32fast::hash(&rec[8..]);
    rec[4..8].copy_from_slice(&crc.to_le_bytes());
}

/// Appends a whole record for `effect` to `buf`.
pub fn encode_record(buf: &mut Vec<u8>, lsn: u64, effect: &impl Encode) {
    let start = buf.len();
    buf.extend_from_slice(&[0u8; RECORD_HEADER_LEN]);
    bincode::encode_into_std_write(effect, buf, BINCODE).expect("encoding into a Vec");
    seal_record(buf, start, lsn);
}

/// One step of reading records from a segment's bytes.
#[derive(Debug, PartialEq, Eq)]
pub enum RecordStep<'a> {
    Record {
        lsn: u64,
        payload: &'a [u8],
        /// Offset just past this record.
        next: usize,
    },
    /// Clean end of data.
    End,
    /// The bytes from `offset` on are not a whole valid record.
    Bad { offset: usize, reason: String },
}

/// Reads the record at `offset` of `data` (a whole segment, header included).
pub fn read_record(data: &[u8], offset: usize) -> RecordStep<'_> {
    if offset == data.len() {
        return RecordStep::End;
    }
    if data.len() - offset < RECORD_HEADER_LEN {
        return RecordStep::Bad {
            offset,
            reason: "incomplete record header".into(),
        };
    }
    let len = u32_at(data, offset) as usize;
    let end = offset + RECORD_HEADER_LEN + len;
    if end > data.len() {
        return RecordStep::Bad {
            offset,
            reason: format!(
                "record of {len} bytes runs past the end of the file ({} bytes left)",
                data.len() - offset - RECORD_HEADER_LEN
            ),
        };
    }
    let crc = u32_at(data, offset + 4);
    if crc32fast::hash(&data[offset + 8..end]) != crc {
        return RecordStep::Bad {
            offset,
            reason: "record checksum mismatch".into(),
        };
    }
    RecordStep::Record {
        lsn: u64_at(data, offset + 8),
        payload: &data[offset + RECORD_HEADER_LEN..end],
        next: end,
    }
}

/// After a bad record at `bad`, whether any valid record with an LSN above `last_lsn`
/// follows anywhere later in `data`. A torn tail (a crash in the middle of an append)
/// leaves nothing valid behind it; damage in the middle of a segment does.
pub fn valid_record_after(data: &[u8], bad: usize, last_lsn: u64) -> Option<usize> {
    let mut at = bad + 1;
    while at + RECORD_HEADER_LEN <= data.len() {
        let lsn = u64_at(data, at + 8);
        if lsn > last_lsn && lsn <= last_lsn.saturating_add(1 << 32) {
            if let RecordStep::Record { .. } = read_record(data, at) {
                return Some(at);
            }
        }
        at += 1;
    }
    None
}

/// One step of [`RecordWalker`].
#[derive(Debug, PartialEq, Eq)]
pub enum Walked<'a> {
    /// A whole record with a valid checksum, starting at `offset`.
    Record {
        offset: usize,
        lsn: u64,
        payload: &'a [u8],
    },
    /// Clean end of data.
    End,
    /// The bytes from `offset` on are not a whole valid record. `valid_after` is the offset
    /// of a valid record with a higher LSN further on (damage in the middle of the log);
    /// `None` means nothing valid follows: a torn tail, if the segment is the last one.
    Bad {
        offset: usize,
        reason: String,
        valid_after: Option<usize>,
    },
}

/// Walks the records of a whole segment (header included) in order, as recovery reads
/// them, and tells a torn tail from damage in the middle. Recovery and `memflux inspect`
/// both read segments through it, so they judge a damaged file alike.
pub struct RecordWalker<'a> {
    data: &'a [u8],
    offset: usize,
    /// The highest LSN known so far: before the segment, then the highest one walked.
    last_lsn: u64,
}

impl<'a> RecordWalker<'a> {
    /// Starts after the segment header. `last_lsn` is the highest LSN known before this
    /// segment (0 if none): only records above it count as valid data after a bad one.
    pub fn new(data: &'a [u8], last_lsn: u64) -> Self {
        RecordWalker {
            data,
            offset: SEGMENT_HEADER_LEN.min(data.len()),
            last_lsn,
        }
    }

    /// Offset of the next record: after `End` the length of the data, after `Bad` the
    /// offset of the bad bytes (the length of the valid prefix).
    pub fn offset(&self) -> usize {
        self.offset
    }

    /// The next record. After `End` or `Bad` it returns the same again.
    pub fn next_record(&mut self) -> Walked<'a> {
        match read_record(self.data, self.offset) {
            RecordStep::Record { lsn, payload, next } => {
                let offset = self.offset;
                self.offset = next;
                self.last_lsn = self.last_lsn.max(lsn);
                Walked::Record {
                    offset,
                    lsn,
                    payload,
                }
            }
            RecordStep::End => Walked::End,
            RecordStep::Bad { offset, reason } => Walked::Bad {
                offset,
                reason,
                valid_after: valid_record_after(self.data, offset, self.last_lsn),
            },
        }
    }
}

// Format: snapshot header, 48 bytes.
//   0  magic       [u8; 8] = "MFLXSNP\n"
//   8  version     u32     = FORMAT_VERSION
//  12  shard       u32     id of the shard the snapshot belongs to
//  16  shards      u32     shard count of the server that wrote it
//  20  crc32       u32     CRC32 of bytes 0..20 and 24..48
//  24  lsn         u64     every WAL record up to this LSN is contained in the snapshot
//  32  created_ms  u64     Unix time in milliseconds when the snapshot was started
//  40  reserved    u64     zero
// Then one LZ4 frame (lz4_flex::frame) whose content is a sequence of bincode `SnapItem`s:
// any number of `Entry`, then exactly one `End`, whose `crc32` covers the encoded bytes of
// every `Entry` before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SnapshotHeader {
    pub shard: u32,
    pub shards: u32,
    pub lsn: u64,
    pub created_ms: u64,
}

pub const SNAPSHOT_MAGIC: &[u8; 8] = b"MFLXSNP\n";
pub const SNAPSHOT_HEADER_LEN: usize = 48;

impl SnapshotHeader {
    pub fn encode(&self) -> [u8; SNAPSHOT_HEADER_LEN] {
        let mut b = [0u8; SNAPSHOT_HEADER_LEN];
        b[..8].copy_from_slice(SNAPSHOT_MAGIC);
        b[8..12].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
        b[12..16].copy_from_slice(&self.shard.to_le_bytes());
        b[16..20].copy_from_slice(&self.shards.to_le_bytes());
        b[24..32].copy_from_slice(&self.lsn.to_le_bytes());
        b[32..40].copy_from_slice(&self.created_ms.to_le_bytes());
        let crc = header_crc(&b, 20);
        b[20..24].copy_from_slice(&crc.to_le_bytes());
        b
    }

    pub fn decode(b: &[u8]) -> Result<Self, FormatError> {
        check_magic(b, SNAPSHOT_MAGIC, "snapshot")?;
        if b.len() < SNAPSHOT_HEADER_LEN {
            return Err(FormatError::new(
                b.len() as u64,
                "truncated snapshot header",
            ));
        }
        if u32_at(b, 20) != header_crc(&b[..SNAPSHOT_HEADER_LEN], 20) {
            return Err(FormatError::new(20, "snapshot header checksum mismatch"));
        }
        Ok(SnapshotHeader {
            shard: u32_at(b, 12),
            shards: u32_at(b, 16),
            lsn: u64_at(b, 24),
            created_ms: u64_at(b, 32),
        })
    }
}

// Format: snapshot item (bincode enum; variant order is part of the format).
#[derive(Debug, Clone, PartialEq, Encode, Decode)]
pub enum SnapItem {
    /// One key: its database, name, value and absolute expiry (Unix ms, 0 = none).
    Entry {
        db: u32,
        key: Vec<u8>,
        value: Value,
        expire_at: u64,
    },
    /// The end of the snapshot: how many entries came before and their CRC32.
    End { entries: u64, crc32: u32 },
}

/// `SnapItem::Entry` by reference, for writing without copying. Encodes exactly as
/// `SnapItem::Entry` does.
#[derive(Encode)]
pub enum SnapItemRef<'a> {
    Entry {
        db: u32,
        key: &'a [u8],
        value: &'a Value,
        expire_at: u64,
    },
}

/// Reads the first bytes of `path` to tell which kind of MemFlux file it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    Segment,
    Snapshot,
}

pub fn sniff(head: &[u8]) -> Option<FileKind> {
    if head.starts_with(SEGMENT_MAGIC) {
        Some(FileKind::Segment)
    } else if head.starts_with(SNAPSHOT_MAGIC) {
        Some(FileKind::Snapshot)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segment_names_sort_in_log_order() {
        assert_eq!(segment_name(7), "wal-00000000000000000007.log");
        assert_eq!(parse_segment_name(&segment_name(123456)), Some(123456));
        assert_eq!(parse_segment_name("wal-7.log"), None);
        assert_eq!(parse_segment_name("snapshot.mfs"), None);
        assert!(segment_name(9) < segment_name(10));
    }

    #[test]
    fn headers_round_trip_and_detect_damage() {
        let h = SegmentHeader {
            shard: 1,
            shards: 2,
            first_lsn: 42,
        };
        let mut b = h.encode();
        assert_eq!(SegmentHeader::decode(&b), Ok(h));
        b[13] ^= 1;
        assert!(SegmentHeader::decode(&b)
            .unwrap_err()
            .reason
            .contains("checksum"));
        let s = SnapshotHeader {
            shard: 0,
            shards: 3,
            lsn: 99,
            created_ms: 1_700_000_000_000,
        };
        let b = s.encode();
        assert_eq!(SnapshotHeader::decode(&b), Ok(s));
        assert!(SnapshotHeader::decode(b"hello world")
            .unwrap_err()
            .reason
            .contains("magic"));
        let mut v = s.encode();
        v[8] = 9;
        assert!(SnapshotHeader::decode(&v)
            .unwrap_err()
            .reason
            .contains("version 9"));
    }

    #[test]
    fn records_round_trip_and_fail_on_damage() {
        let mut buf = Vec::new();
        encode_record(&mut buf, 1, &(5u32, b"abc".to_vec()));
        encode_record(&mut buf, 2, &(6u32, b"defg".to_vec()));
        let RecordStep::Record { lsn, next, .. } = read_record(&buf, 0) else {
            panic!()
        };
        assert_eq!(lsn, 1);
        let RecordStep::Record {
            lsn: l2, next: n2, ..
        } = read_record(&buf, next)
        else {
            panic!()
        };
        assert_eq!((l2, n2), (2, buf.len()));
        assert_eq!(read_record(&buf, n2), RecordStep::End);
        // A torn second record.
        let torn = &buf[..buf.len() - 2];
        assert!(matches!(read_record(torn, next), RecordStep::Bad { .. }));
        assert_eq!(valid_record_after(torn, next, 1), None);
        // A flipped byte in the first record, with a valid one after it.
        let mut bad = buf.clone();
        bad[RECORD_HEADER_LEN + 1] ^= 0x40;
        assert!(matches!(read_record(&bad, 0), RecordStep::Bad { .. }));
        assert_eq!(valid_record_after(&bad, 0, 0), Some(next));
    }

    #[test]
    fn walker_tells_a_torn_tail_from_damage_in_the_middle() {
        let header = SegmentHeader {
            shard: 0,
            shards: 1,
            first_lsn: 5,
        };
        let mut seg = header.encode().to_vec();
        let mut starts = Vec::new();
        for lsn in 5..8 {
            starts.push(seg.len());
            encode_record(&mut seg, lsn, &(lsn, b"payload".to_vec()));
        }
        fn walk(data: &[u8]) -> (Vec<(u64, usize)>, Walked<'_>, usize) {
            let mut w = RecordWalker::new(data, 4);
            let mut lsns = Vec::new();
            loop {
                match w.next_record() {
                    Walked::Record { lsn, offset, .. } => lsns.push((lsn, offset)),
                    other => return (lsns, other, w.offset()),
                }
            }
        }
        let (lsns, end, at) = walk(&seg);
        assert_eq!(lsns, vec![(5, starts[0]), (6, starts[1]), (7, starts[2])]);
        assert_eq!((end, at), (Walked::End, seg.len()));
        // Cut inside the last record: torn, nothing valid after it.
        let (lsns, end, at) = walk(&seg[..seg.len() - 3]);
        assert_eq!(lsns.len(), 2);
        assert!(
            matches!(end, Walked::Bad { offset, valid_after: None, .. } if offset == starts[2])
        );
        assert_eq!(at, starts[2]);
        // A flipped byte in the middle record: valid data follows.
        let mut bad = seg.clone();
        bad[starts[1] + RECORD_HEADER_LEN + 2] ^= 1;
        let (lsns, end, _) = walk(&bad);
        assert_eq!(lsns.len(), 1);
        let Walked::Bad {
            offset,
            reason,
            valid_after,
        } = end
        else {
            panic!("{end:?}")
        };
        assert_eq!((offset, valid_after), (starts[1], Some(starts[2])));
        assert!(reason.contains("checksum"), "{reason}");
    }

    #[test]
    fn snap_item_ref_encodes_like_snap_item() {
        let value = Value::Str(b"v".to_vec());
        let by_ref = SnapItemRef::Entry {
            db: 3,
            key: b"k",
            value: &value,
            expire_at: 9,
        };
        let bytes = bincode::encode_to_vec(&by_ref, BINCODE).unwrap();
        let (owned, _): (SnapItem, usize) = bincode::decode_from_slice(&bytes, BINCODE).unwrap();
        assert_eq!(
            owned,
            SnapItem::Entry {
                db: 3,
                key: b"k".to_vec(),
                value,
                expire_at: 9
            }
        );
    }
}
