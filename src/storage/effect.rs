//! What the WAL records: the *effects* of writes on a shard's keyspaces, not the commands
//! that caused them. A relative TTL is journaled as the absolute expiry it produced, an
//! INCRBYFLOAT as the value it stored, a key that expired as its deletion, so replaying
//! the log reproduces the same states in the same order whatever the clock says.
//!
//! Effects are emitted by `Keyspace`'s mutating methods themselves (and by the shard for
//! the database-wide SWAPDB/FLUSHALL), so a command cannot change data without it being
//! journaled.

use bincode::{Decode, Encode};

use super::format::BINCODE;
use crate::shard::keyspace::Keyspace;
use crate::shard::value::Value;

// Format: WAL record payload (bincode enum; the variant order is part of the format).
#[derive(Debug, Clone, PartialEq, Encode, Decode)]
pub enum Effect {
    /// `key` now holds `value`, expiring at `expire_at` (Unix ms, 0 = never).
    Put {
        db: u32,
        key: Vec<u8>,
        value: Value,
        expire_at: u64,
    },
    /// `key` was deleted (by a command, or because it expired).
    Del { db: u32, key: Vec<u8> },
    /// `key`'s expiry is now `at` (Unix ms, 0 = none).
    Expire { db: u32, key: Vec<u8>, at: u64 },
    /// Every key of `db` was deleted.
    FlushDb { db: u32 },
    /// Databases `a` and `b` traded contents.
    SwapDb { a: u32, b: u32 },
    /// Everything one command changed, applied together: a record torn by a crash takes
    /// all of them with it, so no command is ever half recovered. Written by
    /// `Journal::end_group` (tag `format::GROUP_TAG`); never nested.
    Group(Vec<Effect>),
}

/// `Effect` by reference, for journaling without copying keys and values. Variants and
/// fields mirror `Effect` one for one, so both encode to the same bytes (tested).
#[derive(Debug, Encode)]
pub enum EffectRef<'a> {
    Put {
        db: u32,
        key: &'a [u8],
        value: &'a Value,
        expire_at: u64,
    },
    Del {
        db: u32,
        key: &'a [u8],
    },
    Expire {
        db: u32,
        key: &'a [u8],
        at: u64,
    },
    FlushDb {
        db: u32,
    },
    SwapDb {
        a: u32,
        b: u32,
    },
}

impl Effect {
    /// Short name for statistics (`memflux inspect`'s record counts).
    pub fn name(&self) -> &'static str {
        match self {
            Effect::Put { .. } => "put",
            Effect::Del { .. } => "del",
            Effect::Expire { .. } => "expire",
            Effect::FlushDb { .. } => "flushdb",
            Effect::SwapDb { .. } => "swapdb",
            Effect::Group(_) => "group",
        }
    }

    /// Decodes a record's payload; the reason when it is not exactly one `Effect`.
    pub fn decode(payload: &[u8]) -> Result<Effect, String> {
        let (effect, used): (Effect, usize) = bincode::decode_from_slice(payload, BINCODE)
            .map_err(|e| format!("undecodable record: {e}"))?;
        if used != payload.len() {
            return Err("record has trailing bytes".into());
        }
        Ok(effect)
    }

    /// Applies the effect during recovery. The keyspaces must not journal (they are being
    /// rebuilt from the journal) and expiry is not evaluated: the log already holds the
    /// deletions that expiry caused, in order.
    pub fn apply(self, dbs: &mut [Keyspace]) -> Result<(), String> {
        let n = dbs.len();
        let db = |d: u32| -> Result<usize, String> {
            let d = d as usize;
            if d < n {
                Ok(d)
            } else {
                Err(format!(
                    "a record for database {d}, but the server has {n} databases (raise `databases`)"
                ))
            }
        };
        match self {
            Effect::Put {
                db: d,
                key,
                value,
                expire_at,
            } => {
                let ks = &mut dbs[db(d)?];
                ks.insert(&key, value, (expire_at != 0).then_some(expire_at), 0);
            }
            Effect::Del { db: d, key } => {
                dbs[db(d)?].remove(&key);
            }
            Effect::Expire { db: d, key, at } => {
                let ks = &mut dbs[db(d)?];
                if let Some(slot) = ks.find(&key) {
                    ks.set_expire(slot, (at != 0).then_some(at));
                }
            }
            Effect::FlushDb { db: d } => dbs[db(d)?].clear(),
            Effect::SwapDb { a, b } => {
                let (a, b) = (db(a)?, db(b)?);
                crate::shard::keyspace::swap_dbs(dbs, a, b);
            }
            Effect::Group(effects) => {
                for effect in effects {
                    effect.apply(dbs)?;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn same_bytes(by_ref: EffectRef<'_>, owned: Effect) {
        let a = bincode::encode_to_vec(&by_ref, BINCODE).unwrap();
        let b = bincode::encode_to_vec(&owned, BINCODE).unwrap();
        assert_eq!(a, b, "{by_ref:?} vs {owned:?}");
        let (back, used): (Effect, usize) = bincode::decode_from_slice(&a, BINCODE).unwrap();
        assert_eq!((back, used), (owned, a.len()));
    }

    #[test]
    fn effect_ref_encodes_like_effect() {
        let v = Value::Str(b"value".to_vec());
        same_bytes(
            EffectRef::Put {
                db: 1,
                key: b"k",
                value: &v,
                expire_at: 7,
            },
            Effect::Put {
                db: 1,
                key: b"k".to_vec(),
                value: v.clone(),
                expire_at: 7,
            },
        );
        same_bytes(
            EffectRef::Del { db: 2, key: b"x" },
            Effect::Del {
                db: 2,
                key: b"x".to_vec(),
            },
        );
        same_bytes(
            EffectRef::Expire {
                db: 3,
                key: b"y",
                at: 0,
            },
            Effect::Expire {
                db: 3,
                key: b"y".to_vec(),
                at: 0,
            },
        );
        same_bytes(EffectRef::FlushDb { db: 4 }, Effect::FlushDb { db: 4 });
        same_bytes(
            EffectRef::SwapDb { a: 0, b: 9 },
            Effect::SwapDb { a: 0, b: 9 },
        );
    }

    #[test]
    fn group_tag_is_the_group_variant() {
        let bytes = bincode::encode_to_vec(Effect::Group(Vec::new()), BINCODE).unwrap();
        assert_eq!(bytes, [crate::storage::format::GROUP_TAG, 0]);
    }
}
