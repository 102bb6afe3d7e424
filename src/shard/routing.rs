//! Which shard owns a key: `slot = CRC16(tag(key)) & 16383`, `shard = slot % shards`.
//!
//! These are Redis Cluster's slots, so hash tags (`{user1}.name`, `{user1}.age`) put keys
//! on the same shard exactly as a cluster would put them in the same slot, and a later
//! cluster mode can map slots to nodes without rehashing anything.

/// A shard's index, 0-based; shard N runs on executor N and owns `<dir>/<N>/`.
pub type ShardId = usize;

/// Number of hash slots.
pub const SLOTS: u16 = 16384;

/// CRC16-CCITT (XMODEM): polynomial 0x1021, initial value 0, no reflection.
const CRC16_TABLE: [u16; 256] = {
    let mut table = [0u16; 256];
    let mut i = 0;
    while i < 256 {
        let mut crc = (i as u16) << 8;
        let mut bit = 0;
        while bit < 8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
            bit += 1;
        }
        table[i] = crc;
        i += 1;
    }
    table
};

pub fn crc16(data: &[u8]) -> u16 {
    data.iter().fold(0u16, |crc, &b| {
        (crc << 8) ^ CRC16_TABLE[((crc >> 8) as u8 ^ b) as usize]
    })
}

/// The part of the key that is hashed: the text between the first `{` and the next `}`
/// when it is non-empty, else the whole key.
pub fn hash_tag(key: &[u8]) -> &[u8] {
    if let Some(open) = key.iter().position(|&b| b == b'{') {
        if let Some(len) = key[open + 1..].iter().position(|&b| b == b'}') {
            if len > 0 {
                return &key[open + 1..open + 1 + len];
            }
        }
    }
    key
}

#[inline]
pub fn key_slot(key: &[u8]) -> u16 {
    crc16(hash_tag(key)) & (SLOTS - 1)
}

#[inline]
pub fn shard_of(key: &[u8], shards: usize) -> ShardId {
    if shards == 1 {
        0
    } else {
        key_slot(key) as usize % shards
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc16_reference_vector() {
        assert_eq!(crc16(b"123456789"), 0x31C3);
        assert_eq!(crc16(b""), 0);
    }

    #[test]
    fn slots_match_redis_cluster() {
        // Values from `CLUSTER KEYSLOT` on a Redis Cluster.
        assert_eq!(key_slot(b"foo"), 12182);
        assert_eq!(key_slot(b"bar"), 5061);
        assert_eq!(key_slot(b"hello"), 866);
    }

    #[test]
    fn hash_tags() {
        assert_eq!(hash_tag(b"{user1000}.following"), b"user1000");
        assert_eq!(
            key_slot(b"{user1000}.following"),
            key_slot(b"{user1000}.followers")
        );
        assert_eq!(hash_tag(b"foo{}{bar}"), b"foo{}{bar}");
        assert_eq!(hash_tag(b"foo{{bar}}zap"), b"{bar");
        assert_eq!(hash_tag(b"foo{bar}{zap}"), b"bar");
        assert_eq!(hash_tag(b"{}"), b"{}");
        assert_eq!(hash_tag(b"no-brace}"), b"no-brace}");
        assert_eq!(hash_tag(b"open{only"), b"open{only");
    }

    #[test]
    fn shards_split_keys() {
        assert_eq!(shard_of(b"anything", 1), 0);
        let on_one = (0..1000)
            .filter(|i| shard_of(format!("k{i}").as_bytes(), 2) == 1)
            .count();
        assert!(on_one > 400 && on_one < 600, "{on_one}");
    }
}
