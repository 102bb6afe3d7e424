//! The values a key can hold. Each data type is one variant; the type families in
//! `commands/` operate on them. Every container keeps its own byte count up to date, so
//! `heap_size` is O(1) and the keyspace can track memory on every change.

mod codec;
pub mod hash;
pub mod json;
pub mod list;
pub mod set;
pub mod zset;

pub use hash::Hash;
pub use json::Json;
pub use list::List;
pub use set::Set;
pub use zset::ZSet;

// Format: a value in WAL records and snapshots (bincode enum; the variant order is part of
// the on-disk format, so new types are only ever added at the end).
/// A stored value.
#[derive(Clone, Debug, PartialEq, bincode::Encode, bincode::Decode)]
pub enum Value {
    /// A binary-safe string (also integers and floats, which Redis stores as strings).
    Str(Vec<u8>),
    // The containers are boxed: every key's entry holds a `Value` inline, so the enum
    // stays as small as a string (24 bytes) and a hash-table probe touches fewer cache
    // lines; a container's own allocations dwarf one more pointer. Boxing changes
    // nothing on disk (bincode encodes a `Box<T>` as the `T`).
    List(Box<List>),
    Hash(Box<Hash>),
    Set(Box<Set>),
    ZSet(Box<ZSet>),
    /// A parsed JSON document (the JSON.* commands; SQL rows).
    Json(Box<Json>),
}

/// Longest string Redis stores with the `embstr` encoding.
const EMBSTR_MAX: usize = 44;

/// Bytes of bookkeeping per container element beyond its payload (allocation header,
/// table slot), so INFO memory follows reality closely enough.
pub(crate) const ELEMENT_OVERHEAD: usize = 24;

/// Redis keeps small containers in a compact encoding up to this many elements...
pub(crate) const COMPACT_MAX_ENTRIES: usize = 128;
/// ...each no longer than this.
pub(crate) const COMPACT_MAX_VALUE: usize = 64;

impl Value {
    /// The name `TYPE` reports.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Str(_) => "string",
            Value::List(_) => "list",
            Value::Hash(_) => "hash",
            Value::Set(_) => "set",
            Value::ZSet(_) => "zset",
            Value::Json(_) => "ReJSON-RL",
        }
    }

    /// The encoding `OBJECT ENCODING` reports, as Redis would name it for this value.
    pub fn encoding(&self) -> &'static str {
        match self {
            Value::Str(s) => {
                if s.len() <= 20 && crate::util::numbers::parse_i64(s).is_some() {
                    "int"
                } else if s.len() <= EMBSTR_MAX {
                    "embstr"
                } else {
                    "raw"
                }
            }
            Value::List(l) => l.encoding(),
            Value::Hash(h) => h.encoding(),
            Value::Set(s) => s.encoding(),
            Value::ZSet(z) => z.encoding(),
            Value::Json(_) => "raw",
        }
    }

    /// Approximate heap bytes held, for INFO's memory figures. O(1).
    pub fn heap_size(&self) -> usize {
        match self {
            Value::Str(s) => s.capacity(),
            Value::List(l) => l.heap_size(),
            Value::Hash(h) => h.heap_size(),
            Value::Set(s) => s.heap_size(),
            Value::ZSet(z) => z.heap_size(),
            Value::Json(j) => j.heap_size(),
        }
    }

    /// Whether this is a container with no elements left: such a key must be deleted,
    /// as Redis never keeps empty lists, hashes, sets or sorted sets.
    pub fn is_empty_container(&self) -> bool {
        match self {
            Value::Str(_) => false,
            Value::List(l) => l.is_empty(),
            Value::Hash(h) => h.is_empty(),
            Value::Set(s) => s.is_empty(),
            Value::ZSet(z) => z.is_empty(),
            Value::Json(_) => false,
        }
    }

    pub fn as_str(&self) -> Option<&[u8]> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }
}
