//! The values a key can hold. Each data type is one variant; the type families in
//! `commands/` operate on them.

// Format: a value in WAL records and snapshots (bincode enum; the variant order is part of
// the on-disk format, so new types are only ever added at the end).
/// A stored value.
#[derive(Clone, Debug, PartialEq, bincode::Encode, bincode::Decode)]
pub enum Value {
    /// A binary-safe string (also integers and floats, which Redis stores as strings).
    Str(Vec<u8>),
}

/// Longest string Redis stores with the `embstr` encoding.
const EMBSTR_MAX: usize = 44;

impl Value {
    /// The name `TYPE` reports.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Str(_) => "string",
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
        }
    }

    /// Approximate heap bytes held, for INFO's memory figures.
    pub fn heap_size(&self) -> usize {
        match self {
            Value::Str(s) => s.capacity(),
        }
    }

    pub fn as_str(&self) -> Option<&[u8]> {
        match self {
            Value::Str(s) => Some(s),
        }
    }
}
