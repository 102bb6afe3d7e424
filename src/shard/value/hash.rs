//! The hash type: a map of binary-safe fields to binary-safe values.

use hashbrown::HashMap;

use super::{COMPACT_MAX_ENTRIES, COMPACT_MAX_VALUE, ELEMENT_OVERHEAD};

/// A hash. Fields are changed only through these methods, which keep the byte count
/// (`heap_size`) right.
#[derive(Clone, Debug, Default)]
pub struct Hash {
    map: HashMap<Vec<u8>, Vec<u8>, ahash::RandomState>,
    bytes: usize,
    /// Once a hash outgrows the compact encoding it reports `hashtable`, as Redis does.
    large: bool,
}

impl PartialEq for Hash {
    fn eq(&self, other: &Self) -> bool {
        self.map == other.map
    }
}

fn cost(field: &[u8], value: &[u8]) -> usize {
    field.len() + value.len() + ELEMENT_OVERHEAD
}

impl Hash {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn len(&self) -> usize {
        self.map.len()
    }
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
    pub fn heap_size(&self) -> usize {
        self.bytes
    }
    pub fn encoding(&self) -> &'static str {
        if self.large {
            "hashtable"
        } else {
            "listpack"
        }
    }
    pub fn get(&self, field: &[u8]) -> Option<&[u8]> {
        self.map.get(field).map(Vec::as_slice)
    }
    pub fn contains(&self, field: &[u8]) -> bool {
        self.map.contains_key(field)
    }
    /// Sets a field; returns true when it is new.
    pub fn insert(&mut self, field: &[u8], value: Vec<u8>) -> bool {
        // Only a field that is new can push the count past the compact limit.
        if field.len() > COMPACT_MAX_VALUE
            || value.len() > COMPACT_MAX_VALUE
            || (self.map.len() >= COMPACT_MAX_ENTRIES && !self.map.contains_key(field))
        {
            self.large = true;
        }
        self.bytes += cost(field, &value);
        match self.map.get_mut(field) {
            Some(old) => {
                self.bytes -= cost(field, old);
                *old = value;
                false
            }
            None => {
                self.map.insert(field.to_vec(), value);
                true
            }
        }
    }
    pub fn remove(&mut self, field: &[u8]) -> Option<Vec<u8>> {
        let old = self.map.remove(field)?;
        self.bytes -= cost(field, &old);
        Some(old)
    }
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&[u8], &[u8])> {
        self.map.iter().map(|(f, v)| (f.as_slice(), v.as_slice()))
    }
}
