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
    /// Part of the container at `key` changed (see `Delta`): journaled instead of a `Put`
    /// of the whole value, so that a push onto a long list costs what it adds.
    Delta { db: u32, key: Vec<u8>, delta: Delta },
}

// Format: the change a `Effect::Delta` record carries (bincode enum; variant order is part
// of the format). Byte strings are bincode's length-prefixed bytes; a hash's pairs are
// flattened as field, value, field, value...
/// A change to part of a container. Applied to a missing key, the adding changes create
/// the container; a container left empty is deleted, as every command does.
#[derive(Debug, Clone, PartialEq, Encode, Decode)]
pub enum Delta {
    /// Elements pushed one by one at the front (`front`) or the back.
    ListPush {
        front: bool,
        items: Vec<Vec<u8>>,
    },
    /// `count` elements popped from the front or the back.
    ListPop {
        front: bool,
        count: u64,
    },
    /// The element at `index` replaced.
    ListSet {
        index: u64,
        item: Vec<u8>,
    },
    /// Fields set: field, value, field, value...
    HashSet {
        pairs: Vec<Vec<u8>>,
    },
    HashDel {
        fields: Vec<Vec<u8>>,
    },
    SetAdd {
        members: Vec<Vec<u8>>,
    },
    SetRem {
        members: Vec<Vec<u8>>,
    },
    /// Sorted-set members added or given a new score: `members[i]` now has `scores[i]`.
    ZAdd {
        scores: Vec<f64>,
        members: Vec<Vec<u8>>,
    },
    ZRem {
        members: Vec<Vec<u8>>,
    },
}

/// `Delta` by reference; variants and fields mirror it one for one.
#[derive(Debug, Encode)]
pub enum DeltaRef<'a> {
    ListPush {
        front: bool,
        items: &'a [&'a [u8]],
    },
    ListPop {
        front: bool,
        count: u64,
    },
    ListSet {
        index: u64,
        item: &'a [u8],
    },
    HashSet {
        pairs: &'a [&'a [u8]],
    },
    HashDel {
        fields: &'a [&'a [u8]],
    },
    SetAdd {
        members: &'a [&'a [u8]],
    },
    SetRem {
        members: &'a [&'a [u8]],
    },
    ZAdd {
        scores: &'a [f64],
        members: &'a [&'a [u8]],
    },
    ZRem {
        members: &'a [&'a [u8]],
    },
}

/// `Effect` by reference, for journaling without copying keys and values. Variants and
/// fields mirror `Effect` one for one, so both encode to the same bytes (tested).
#[derive(Debug, Encode)]
#[allow(clippy::manual_non_exhaustive)] // `GroupTag` only holds a tag's place
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
    /// Holds `Effect::Group`'s tag so that the variants after it encode with their
    /// `Effect` tags; groups themselves are assembled by `Journal::end_group`.
    #[doc(hidden)]
    GroupTag,
    Delta {
        db: u32,
        key: &'a [u8],
        delta: DeltaRef<'a>,
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
            Effect::Delta { .. } => "delta",
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
            Effect::Delta { db: d, key, delta } => {
                let ks = &mut dbs[db(d)?];
                let slot = match ks.find(&key) {
                    Some(slot) => slot,
                    None => match delta.new_container() {
                        Some(empty) => ks.insert_new(&key, empty, 0),
                        None => return Ok(()), // removing from a missing key: nothing
                    },
                };
                ks.modify(slot, |v| delta.apply_to(v))?;
            }
        }
        Ok(())
    }
}

impl Delta {
    /// The empty container an adding delta creates on a missing key.
    fn new_container(&self) -> Option<Value> {
        use crate::shard::value::{Hash, List, Set};
        match self {
            Delta::ListPush { .. } => Some(Value::List(Box::new(List::new()))),
            Delta::HashSet { .. } => Some(Value::Hash(Box::new(Hash::new()))),
            Delta::SetAdd { .. } => Some(Value::Set(Box::new(Set::new()))),
            Delta::ZAdd { .. } => Some(Value::ZSet(Box::default())),
            _ => None,
        }
    }

    /// Applies the change to the value it was journaled for.
    pub fn apply_to(&self, value: &mut Value) -> Result<(), String> {
        let type_name = value.type_name();
        let mismatch = || format!("a {self:?} record for a {type_name} value");
        match (self, &mut *value) {
            (Delta::ListPush { front, items }, Value::List(l)) => {
                for item in items {
                    if *front {
                        l.push_front(item.clone());
                    } else {
                        l.push_back(item.clone());
                    }
                }
            }
            (Delta::ListPop { front, count }, Value::List(l)) => {
                for _ in 0..*count {
                    if *front {
                        l.pop_front();
                    } else {
                        l.pop_back();
                    }
                }
            }
            (Delta::ListSet { index, item }, Value::List(l)) => {
                if *index as usize >= l.len() {
                    return Err(format!("a list set at {index} past the list's end"));
                }
                l.set(*index as usize, item.clone());
            }
            (Delta::HashSet { pairs }, Value::Hash(h)) => {
                for pair in pairs.chunks_exact(2) {
                    h.insert(&pair[0], pair[1].clone());
                }
            }
            (Delta::HashDel { fields }, Value::Hash(h)) => {
                for f in fields {
                    h.remove(f);
                }
            }
            (Delta::SetAdd { members }, Value::Set(s)) => {
                for m in members {
                    s.insert(m);
                }
            }
            (Delta::SetRem { members }, Value::Set(s)) => {
                for m in members {
                    s.remove(m);
                }
            }
            (Delta::ZAdd { scores, members }, Value::ZSet(z)) => {
                if scores.len() != members.len() {
                    return Err("a sorted-set record with scores and members unpaired".into());
                }
                for (m, &score) in members.iter().zip(scores) {
                    if score.is_nan() {
                        return Err("a sorted-set record with a NaN score".into());
                    }
                    z.insert(m, score);
                }
            }
            (Delta::ZRem { members }, Value::ZSet(z)) => {
                for m in members {
                    z.remove(m);
                }
            }
            _ => return Err(mismatch()),
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
    fn delta_ref_encodes_like_delta() {
        same_bytes(
            EffectRef::Delta {
                db: 1,
                key: b"l",
                delta: DeltaRef::ListPush {
                    front: true,
                    items: &[b"a", b"bc"],
                },
            },
            Effect::Delta {
                db: 1,
                key: b"l".to_vec(),
                delta: Delta::ListPush {
                    front: true,
                    items: vec![b"a".to_vec(), b"bc".to_vec()],
                },
            },
        );
        same_bytes(
            EffectRef::Delta {
                db: 0,
                key: b"h",
                delta: DeltaRef::HashSet {
                    pairs: &[b"f", b"v"],
                },
            },
            Effect::Delta {
                db: 0,
                key: b"h".to_vec(),
                delta: Delta::HashSet {
                    pairs: vec![b"f".to_vec(), b"v".to_vec()],
                },
            },
        );
        same_bytes(
            EffectRef::Delta {
                db: 2,
                key: b"z",
                delta: DeltaRef::ZAdd {
                    scores: &[1.5, f64::NEG_INFINITY],
                    members: &[b"a", b"b"],
                },
            },
            Effect::Delta {
                db: 2,
                key: b"z".to_vec(),
                delta: Delta::ZAdd {
                    scores: vec![1.5, f64::NEG_INFINITY],
                    members: vec![b"a".to_vec(), b"b".to_vec()],
                },
            },
        );
    }

    #[test]
    fn deltas_replay_and_empty_containers_go() {
        let mut dbs = vec![Keyspace::new()];
        let push = Effect::Delta {
            db: 0,
            key: b"l".to_vec(),
            delta: Delta::ListPush {
                front: false,
                items: vec![b"a".to_vec(), b"b".to_vec()],
            },
        };
        push.apply(&mut dbs).unwrap();
        assert_eq!(dbs[0].get(b"l", 0).unwrap().value.type_name(), "list");
        Effect::Delta {
            db: 0,
            key: b"l".to_vec(),
            delta: Delta::ListPop {
                front: true,
                count: 2,
            },
        }
        .apply(&mut dbs)
        .unwrap();
        assert!(dbs[0].find(b"l").is_none(), "an emptied list is deleted");
        dbs[0].insert(b"s", Value::Str(b"x".to_vec()), None, 0);
        let wrong = Effect::Delta {
            db: 0,
            key: b"s".to_vec(),
            delta: Delta::SetAdd {
                members: vec![b"m".to_vec()],
            },
        };
        assert!(wrong.apply(&mut dbs).is_err());
    }

    #[test]
    fn group_tag_is_the_group_variant() {
        let bytes = bincode::encode_to_vec(Effect::Group(Vec::new()), BINCODE).unwrap();
        assert_eq!(bytes, [crate::storage::format::GROUP_TAG, 0]);
    }
}
