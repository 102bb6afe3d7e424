//! The set type: unordered unique binary-safe members.

use hashbrown::HashTable;

use super::{COMPACT_MAX_ENTRIES, COMPACT_MAX_VALUE, ELEMENT_OVERHEAD};

/// Redis keeps a set of integers as an `intset` up to this many members.
const INTSET_MAX_ENTRIES: usize = 512;

/// A set. Members live densely in a vector with a hash index over it, so that SPOP and
/// SRANDMEMBER pick a uniformly random member in O(1). Members are changed only through
/// these methods, which keep the byte count (`heap_size`) and the reported encoding right.
#[derive(Clone, Default)]
pub struct Set {
    members: Vec<Vec<u8>>,
    /// Positions in `members`, hashed by member.
    index: HashTable<u32>,
    hasher: ahash::RandomState,
    bytes: usize,
    /// Every member so far is an integer (the `intset` encoding while small).
    all_ints: bool,
    /// Outgrew the compact encodings: reports `hashtable` from now on, as Redis does.
    large: bool,
}

impl PartialEq for Set {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().all(|m| other.contains(m))
    }
}

impl std::fmt::Debug for Set {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.members.iter()).finish()
    }
}

fn cost(member: &[u8]) -> usize {
    member.len() + ELEMENT_OVERHEAD
}

impl Set {
    pub fn new() -> Self {
        Set {
            all_ints: true,
            ..Self::default()
        }
    }
    pub fn len(&self) -> usize {
        self.members.len()
    }
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }
    pub fn heap_size(&self) -> usize {
        self.bytes
    }
    pub fn encoding(&self) -> &'static str {
        if self.large {
            "hashtable"
        } else if self.all_ints {
            "intset"
        } else {
            "listpack"
        }
    }
    fn find(&self, member: &[u8]) -> Option<usize> {
        let hash = self.hasher.hash_one(member);
        self.index
            .find(hash, |&i| self.members[i as usize] == member)
            .map(|&i| i as usize)
    }
    pub fn contains(&self, member: &[u8]) -> bool {
        self.find(member).is_some()
    }
    /// Adds a member; returns true when it is new.
    pub fn insert(&mut self, member: &[u8]) -> bool {
        let hash = self.hasher.hash_one(member);
        let members = &self.members;
        if self
            .index
            .find(hash, |&i| members[i as usize] == member)
            .is_some()
        {
            return false;
        }
        let is_int = member.len() <= 20 && crate::util::numbers::parse_i64(member).is_some();
        self.all_ints &= is_int;
        let n = self.members.len() + 1;
        if (self.all_ints && n > INTSET_MAX_ENTRIES)
            || (!self.all_ints && (n > COMPACT_MAX_ENTRIES || member.len() > COMPACT_MAX_VALUE))
        {
            self.large = true;
        }
        self.bytes += cost(member);
        let pos = self.members.len() as u32;
        self.members.push(member.to_vec());
        let (members, hasher) = (&self.members, &self.hasher);
        self.index
            .insert_unique(hash, pos, |&i| hasher.hash_one(&members[i as usize]));
        true
    }
    pub fn remove(&mut self, member: &[u8]) -> bool {
        match self.find(member) {
            Some(pos) => {
                self.take_at(pos);
                true
            }
            None => false,
        }
    }
    /// Removes and returns the member at dense position `pos` (the last member moves in).
    fn take_at(&mut self, pos: usize) -> Vec<u8> {
        let hash = self.hasher.hash_one(&self.members[pos]);
        if let Ok(e) = self.index.find_entry(hash, |&i| i as usize == pos) {
            e.remove();
        }
        let last = self.members.len() - 1;
        if pos != last {
            let moved_hash = self.hasher.hash_one(&self.members[last]);
            if let Some(i) = self.index.find_mut(moved_hash, |&i| i as usize == last) {
                *i = pos as u32;
            }
        }
        let member = self.members.swap_remove(pos);
        self.bytes -= cost(&member);
        member
    }
    /// A uniformly random member.
    pub fn random(&self, rng: &mut fastrand::Rng) -> Option<&[u8]> {
        if self.members.is_empty() {
            return None;
        }
        Some(&self.members[rng.usize(..self.members.len())])
    }
    /// Removes and returns a uniformly random member.
    pub fn pop_random(&mut self, rng: &mut fastrand::Rng) -> Option<Vec<u8>> {
        if self.members.is_empty() {
            return None;
        }
        let pos = rng.usize(..self.members.len());
        Some(self.take_at(pos))
    }
    /// The member at dense position `pos` (0..len), for sampling without repeats.
    pub fn at(&self, pos: usize) -> Option<&[u8]> {
        self.members.get(pos).map(Vec::as_slice)
    }
    pub fn iter(&self) -> impl ExactSizeIterator<Item = &[u8]> {
        self.members.iter().map(Vec::as_slice)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_remove_pop_keep_index_and_bytes() {
        let mut s = Set::new();
        for i in 0..1000 {
            assert!(s.insert(format!("m{i}").as_bytes()));
        }
        assert!(!s.insert(b"m5"));
        assert_eq!(s.encoding(), "hashtable");
        for i in (0..1000).step_by(2) {
            assert!(s.remove(format!("m{i}").as_bytes()));
        }
        assert!(!s.remove(b"m0"));
        for i in 0..1000 {
            assert_eq!(s.contains(format!("m{i}").as_bytes()), i % 2 == 1, "m{i}");
        }
        let mut rng = fastrand::Rng::with_seed(3);
        let mut seen = std::collections::HashSet::new();
        while let Some(m) = s.pop_random(&mut rng) {
            assert!(seen.insert(m));
        }
        assert_eq!((seen.len(), s.heap_size()), (500, 0));
    }

    #[test]
    fn small_integer_sets_are_intsets() {
        let mut s = Set::new();
        s.insert(b"1");
        s.insert(b"-20");
        assert_eq!(s.encoding(), "intset");
        s.insert(b"x");
        assert_eq!(s.encoding(), "listpack");
    }
}
