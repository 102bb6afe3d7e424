//! Snapshot encoding and decoding, independent of how the bytes reach the disk.
//!
//! A snapshot is taken without stopping the shard and without copying its data: the
//! keyspaces walk their slabs a chunk at a time (`Keyspace::snapshot_step`) while the shard
//! keeps serving, and an entry a write is about to change before the walk reached it is
//! written out first, as it was (`Keyspace::before_change`). Entries created after the
//! snapshot began are marked as already handled, so the file holds exactly the state at
//! the moment it began: the LSN in its header. The encoded, compressed bytes gather in a
//! `SnapshotSink` that the snapshot task drains to the file between steps.

use std::io::{Read, Write};

use lz4_flex::frame::{FrameDecoder, FrameEncoder};

use super::format::{FormatError, SnapItem, SnapItemRef, SnapshotHeader, BINCODE};
use crate::shard::value::Value;

/// Collects encoded, compressed snapshot entries.
pub struct SnapshotSink {
    enc: FrameEncoder<Vec<u8>>,
    crc: crc32fast::Hasher,
    entries: u64,
    scratch: Vec<u8>,
    /// Uncompressed bytes of the entries written so far.
    raw_bytes: u64,
}

impl Default for SnapshotSink {
    fn default() -> Self {
        Self::new()
    }
}

impl SnapshotSink {
    pub fn new() -> Self {
        SnapshotSink {
            enc: FrameEncoder::new(Vec::new()),
            crc: crc32fast::Hasher::new(),
            entries: 0,
            scratch: Vec::new(),
            raw_bytes: 0,
        }
    }

    pub fn write_entry(&mut self, db: u32, key: &[u8], value: &Value, expire_at: u64) {
        self.scratch.clear();
        let item = SnapItemRef::Entry {
            db,
            key,
            value,
            expire_at,
        };
        bincode::encode_into_std_write(&item, &mut self.scratch, BINCODE)
            .expect("encoding into a Vec");
        self.crc.update(&self.scratch);
        self.raw_bytes += self.scratch.len() as u64;
        self.enc
            .write_all(&self.scratch)
            .expect("compressing into a Vec");
        self.entries += 1;
    }

    pub fn entries(&self) -> u64 {
        self.entries
    }

    pub fn raw_bytes(&self) -> u64 {
        self.raw_bytes
    }

    /// Compressed bytes ready to be written (the frame keeps a partial block back).
    pub fn take_output(&mut self) -> Vec<u8> {
        std::mem::take(self.enc.get_mut())
    }

    /// Bytes waiting in `take_output`.
    pub fn output_len(&self) -> usize {
        self.enc.get_ref().len()
    }

    /// Ends the stream; returns the remaining compressed bytes.
    pub fn finish(mut self) -> Vec<u8> {
        let end = SnapItem::End {
            entries: self.entries,
            crc32: self.crc.clone().finalize(),
        };
        let bytes = bincode::encode_to_vec(&end, BINCODE).expect("encoding into a Vec");
        self.enc.write_all(&bytes).expect("compressing into a Vec");
        self.enc
            .finish()
            .expect("finishing an LZ4 frame into a Vec")
    }
}

/// Counts and checksums the bytes read through it.
struct Tap<R> {
    inner: R,
    read: u64,
    crc: crc32fast::Hasher,
}

impl<R: Read> Read for Tap<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        self.crc.update(&buf[..n]);
        Ok(n)
    }
}

/// Counts the bytes read through it.
/// Counts the bytes read through it and keeps the last four: the LZ4 decoder takes a
/// frame cut inside its 4-byte end mark for a whole one, so the reader checks the mark
/// itself.
struct Counted<R> {
    inner: R,
    read: u64,
    tail: [u8; 4],
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        let got = &buf[..n];
        if n >= 4 {
            self.tail.copy_from_slice(&got[n - 4..]);
        } else {
            self.tail.rotate_left(n);
            self.tail[4 - n..].copy_from_slice(got);
        }
        Ok(n)
    }
}

/// The end mark of an LZ4 frame written without a content checksum, as `SnapshotSink`
/// writes them.
const LZ4_END_MARK: [u8; 4] = [0; 4];

/// One key read back from a snapshot.
#[derive(Debug, Clone, PartialEq)]
pub struct SnapEntry {
    pub db: u32,
    pub key: Vec<u8>,
    pub value: Value,
    pub expire_at: u64,
}

/// Reads a snapshot entry by entry, verifying the end marker and checksum.
pub struct SnapshotReader<R: Read> {
    pub header: SnapshotHeader,
    items: Tap<FrameDecoder<Counted<R>>>,
    header_len: u64,
    entries: u64,
    done: bool,
}

impl<R: Read> SnapshotReader<R> {
    /// Reads and checks the header.
    pub fn new(mut input: R) -> Result<Self, FormatError> {
        let mut head = [0u8; super::format::SNAPSHOT_HEADER_LEN];
        let mut got = 0;
        while got < head.len() {
            match input.read(&mut head[got..]) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(e) => return Err(FormatError::new(got as u64, format!("read error: {e}"))),
            }
        }
        let header = SnapshotHeader::decode(&head[..got])?;
        Ok(SnapshotReader {
            header,
            items: Tap {
                inner: FrameDecoder::new(Counted {
                    inner: input,
                    read: 0,
                    tail: [0xff; 4],
                }),
                read: 0,
                crc: crc32fast::Hasher::new(),
            },
            header_len: head.len() as u64,
            entries: 0,
            done: false,
        })
    }

    /// Approximate file offset reached (the decoder reads whole compressed blocks).
    pub fn file_offset(&self) -> u64 {
        self.header_len + self.items.inner.get_ref().read
    }

    fn error(&self, what: String) -> FormatError {
        FormatError::new(
            self.file_offset(),
            format!(
                "{what} (after {} entries, {} bytes into the decompressed data)",
                self.entries, self.items.read
            ),
        )
    }

    /// The next entry, `None` after a verified end marker.
    pub fn next_entry(&mut self) -> Result<Option<SnapEntry>, FormatError> {
        if self.done {
            return Ok(None);
        }
        let crc_before = self.items.crc.clone().finalize();
        let item: SnapItem = match bincode::decode_from_std_read(&mut self.items, BINCODE) {
            Ok(item) => item,
            Err(bincode::error::DecodeError::Io { inner, .. })
                if inner.kind() == std::io::ErrorKind::UnexpectedEof =>
            {
                return Err(
                    self.error("snapshot is truncated: it ends before its end marker".into())
                )
            }
            Err(e) => return Err(self.error(format!("snapshot data is corrupt: {e}"))),
        };
        match item {
            SnapItem::Entry {
                db,
                key,
                value,
                expire_at,
            } => {
                self.entries += 1;
                Ok(Some(SnapEntry {
                    db,
                    key,
                    value,
                    expire_at,
                }))
            }
            SnapItem::End { entries, crc32 } => {
                if entries != self.entries {
                    return Err(self.error(format!(
                        "snapshot end marker counts {entries} entries, {} were read",
                        self.entries
                    )));
                }
                if crc32 != crc_before {
                    return Err(self.error("snapshot checksum mismatch".into()));
                }
                let mut rest = [0u8; 1];
                match self.items.read(&mut rest) {
                    Ok(0) if self.items.inner.get_ref().tail == LZ4_END_MARK => {}
                    Ok(0) => {
                        return Err(self.error(
                            "snapshot is truncated: its LZ4 frame's end mark is missing".into(),
                        ))
                    }
                    Ok(_) => return Err(self.error("data after the snapshot's end marker".into())),
                    Err(e) => return Err(self.error(format!("snapshot frame is corrupt: {e}"))),
                }
                self.done = true;
                Ok(None)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn build(entries: &[(u32, &[u8], &[u8], u64)]) -> Vec<u8> {
        let header = SnapshotHeader {
            shard: 0,
            shards: 1,
            lsn: 10,
            created_ms: 1,
        };
        let mut file = header.encode().to_vec();
        let mut sink = SnapshotSink::new();
        for (db, k, v, exp) in entries {
            sink.write_entry(*db, k, &Value::Str(v.to_vec()), *exp);
            file.extend(sink.take_output());
        }
        file.extend(sink.finish());
        file
    }

    fn read_all(bytes: &[u8]) -> Result<Vec<SnapEntry>, FormatError> {
        let mut r = SnapshotReader::new(bytes)?;
        let mut out = Vec::new();
        while let Some(e) = r.next_entry()? {
            out.push(e);
        }
        Ok(out)
    }

    #[test]
    fn round_trip() {
        let many: Vec<(u32, Vec<u8>, Vec<u8>, u64)> = (0..5000u32)
            .map(|i| {
                (
                    i % 3,
                    format!("key:{i}").into_bytes(),
                    vec![b'x'; (i % 50) as usize],
                    i as u64,
                )
            })
            .collect();
        let refs: Vec<(u32, &[u8], &[u8], u64)> = many
            .iter()
            .map(|(d, k, v, e)| (*d, k.as_slice(), v.as_slice(), *e))
            .collect();
        let file = build(&refs);
        let back = read_all(&file).unwrap();
        assert_eq!(back.len(), 5000);
        assert_eq!(back[4999].key, b"key:4999");
        assert_eq!(back[7].value, Value::Str(vec![b'x'; 7]));
        assert!(read_all(&build(&[])).unwrap().is_empty());
    }

    #[test]
    fn truncation_and_damage_are_errors() {
        let entries: Vec<(u32, Vec<u8>, Vec<u8>, u64)> = (0..2000u32)
            .map(|i| {
                (
                    0,
                    format!("k{i}").into_bytes(),
                    format!("value number {i}").into_bytes(),
                    0,
                )
            })
            .collect();
        let refs: Vec<(u32, &[u8], &[u8], u64)> = entries
            .iter()
            .map(|(d, k, v, e)| (*d, k.as_slice(), v.as_slice(), *e))
            .collect();
        let file = build(&refs);
        // Cuts inside the frame's 4-byte end mark too.
        let mut cuts = vec![file.len() - 5, file.len() - 9, file.len() / 2, 60];
        cuts.extend((1..=4).map(|k| file.len() - k));
        for cut in cuts {
            let Err(err) = read_all(&file[..cut]) else {
                panic!("cut at {cut} of {} went unnoticed", file.len())
            };
            assert!(
                err.reason.contains("truncated") || err.reason.contains("corrupt"),
                "cut at {cut}: {err}"
            );
        }
        for at in [100, file.len() / 2, file.len() - 20] {
            let mut bad = file.clone();
            bad[at] ^= 0x55;
            assert!(read_all(&bad).is_err(), "flip at {at} went unnoticed");
        }
    }
}
