//! The list type: a double-ended queue of binary-safe elements.

use std::collections::VecDeque;

use super::{COMPACT_MAX_ENTRIES, COMPACT_MAX_VALUE, ELEMENT_OVERHEAD};

/// A list. Elements are reached only through these methods, which keep the byte count
/// (`heap_size`) right.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct List {
    items: VecDeque<Vec<u8>>,
    bytes: usize,
    /// Once a list outgrows the compact encoding it reports `quicklist`, as Redis does.
    large: bool,
}

fn cost(item: &[u8]) -> usize {
    item.len() + ELEMENT_OVERHEAD
}

impl List {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn from_items(items: impl IntoIterator<Item = Vec<u8>>) -> Self {
        let mut l = List::new();
        for i in items {
            l.push_back(i);
        }
        l
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
    pub fn heap_size(&self) -> usize {
        self.bytes
    }
    pub fn encoding(&self) -> &'static str {
        if self.large {
            "quicklist"
        } else {
            "listpack"
        }
    }

    fn added(&mut self, item: &[u8]) {
        self.bytes += cost(item);
        if item.len() > COMPACT_MAX_VALUE || self.items.len() >= COMPACT_MAX_ENTRIES {
            self.large = true;
        }
    }

    pub fn push_front(&mut self, item: Vec<u8>) {
        self.added(&item);
        self.items.push_front(item);
    }
    pub fn push_back(&mut self, item: Vec<u8>) {
        self.added(&item);
        self.items.push_back(item);
    }
    pub fn pop_front(&mut self) -> Option<Vec<u8>> {
        let item = self.items.pop_front()?;
        self.bytes -= cost(&item);
        Some(item)
    }
    pub fn pop_back(&mut self) -> Option<Vec<u8>> {
        let item = self.items.pop_back()?;
        self.bytes -= cost(&item);
        Some(item)
    }
    pub fn get(&self, index: usize) -> Option<&[u8]> {
        self.items.get(index).map(Vec::as_slice)
    }
    /// Replaces the element at `index` (which must exist); returns the old one.
    pub fn set(&mut self, index: usize, item: Vec<u8>) -> Vec<u8> {
        self.added(&item);
        let old = std::mem::replace(&mut self.items[index], item);
        self.bytes -= cost(&old);
        old
    }
    pub fn insert(&mut self, index: usize, item: Vec<u8>) {
        self.added(&item);
        self.items.insert(index, item);
    }
    pub fn remove(&mut self, index: usize) -> Option<Vec<u8>> {
        let item = self.items.remove(index)?;
        self.bytes -= cost(&item);
        Some(item)
    }
    /// Keeps only the elements at positions `start..end` (clamped).
    pub fn retain_range(&mut self, start: usize, end: usize) {
        let end = end.min(self.items.len());
        let start = start.min(end);
        for item in self.items.drain(end..) {
            self.bytes -= cost(&item);
        }
        for item in self.items.drain(..start) {
            self.bytes -= cost(&item);
        }
    }
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &[u8]> + ExactSizeIterator {
        self.items.iter().map(Vec::as_slice)
    }
    /// Elements at positions `start..end`, front to back.
    pub fn range(&self, start: usize, end: usize) -> impl DoubleEndedIterator<Item = &[u8]> {
        self.items.range(start..end).map(Vec::as_slice)
    }
}
