//! The sorted-set (ZSET) value: unique binary-safe members, each with an `f64` score,
//! kept in ascending (score, member) order with O(log n) rank, select, insert and remove.
//!
//! Layout: a skip list with span counts (the order-statistics index) whose nodes live in
//! an arena `Vec` and link to each other by `u32` index, plus a hash table from member to
//! node index so `ZSCORE` and duplicate checks are O(1). The member bytes are stored once,
//! in the node; the hash table holds only indices and hashes through the arena.
//!
//! Ordering is by score, then by member bytes, as Redis does. `-0.0` and `0.0` compare
//! equal. Scores must never be NaN: callers reject NaN before inserting (Redis replies
//! `ERR value is not a valid float` / `ERR resulting score is not a number (NaN)`).

use core::cmp::Ordering;
use core::fmt;
use core::iter::FusedIterator;
use core::ops::Range;

use bincode::de::Decoder;
use bincode::enc::Encoder;
use bincode::error::{DecodeError, EncodeError};
use bincode::{Decode, Encode};
use hashbrown::HashTable;

/// Redis keeps a sorted set as a `listpack` up to this many members...
const LISTPACK_MAX_ENTRIES: usize = 128;
/// ...each no longer than this (`zset-max-listpack-entries` / `-value` defaults).
const LISTPACK_MAX_VALUE: usize = 64;

/// Tallest tower a node can have; with p = 1/4 this covers far more than 2^32 elements.
const MAX_LEVEL: usize = 32;
/// "No node": the end of a level, or no predecessor.
const NIL: u32 = u32::MAX;
/// The arena slot of the header node, which holds the first link of every level.
const HEAD: u32 = 0;

/// One forward link of a node at some level. `span` is how many ranks the link skips;
/// for a link to `NIL` it is the number of elements after the node (so spans stay
/// consistent when a taller node is inserted later).
#[derive(Clone, Copy, Debug)]
struct Link {
    next: u32,
    span: u32,
}

const END_LINK: Link = Link { next: NIL, span: 0 };

#[derive(Clone, Debug)]
struct Node {
    member: Box<[u8]>,
    score: f64,
    /// Previous node at level 0 (`NIL` for the first element), for descending walks.
    back: u32,
    /// Level 0 link, kept inline because three nodes in four have no other level.
    first: Link,
    /// Links of levels 1.., usually empty (no allocation).
    upper: Vec<Link>,
}

impl Node {
    fn header() -> Self {
        Node {
            member: Box::default(),
            score: 0.0,
            back: NIL,
            first: END_LINK,
            upper: Vec::new(),
        }
    }
    fn level(&self) -> usize {
        1 + self.upper.len()
    }
    fn link(&self, level: usize) -> Link {
        if level == 0 {
            self.first
        } else {
            self.upper[level - 1]
        }
    }
    fn link_mut(&mut self, level: usize) -> &mut Link {
        if level == 0 {
            &mut self.first
        } else {
            &mut self.upper[level - 1]
        }
    }
    fn cmp_key(&self, score: f64, member: &[u8]) -> Ordering {
        compare_keys(self.score, &self.member, score, member)
    }
}

/// The sorted-set order: score first (NaN never occurs; treated as equal rather than
/// panicking), then member bytes.
fn compare_keys(a_score: f64, a_member: &[u8], b_score: f64, b_member: &[u8]) -> Ordering {
    a_score
        .partial_cmp(&b_score)
        .unwrap_or(Ordering::Equal)
        .then_with(|| a_member.cmp(b_member))
}

/// Heap bytes charged for one element: its bytes, its node, its hash table slot (index
/// plus control byte) and, on average, its extra links (a quarter of the nodes have an
/// extra-link allocation of one or more links). Depends only on the member, so add and
/// subtract always match and equal content reports equal size (e.g. after a reload).
fn element_cost(member_len: usize) -> usize {
    member_len
        + core::mem::size_of::<Node>()
        + core::mem::size_of::<Link>()
        + core::mem::size_of::<u32>()
        + 1
}

/// A score range end as ZRANGEBYSCORE / ZCOUNT take it: `1.5`, `(1.5`, `-inf`, `+inf`.
/// Infinities are ordinary `f64` infinities.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ScoreBound {
    Inclusive(f64),
    Exclusive(f64),
}

impl ScoreBound {
    /// Parses a score range argument; `None` means Redis's `ERR min or max is not a
    /// float`. NaN is rejected as Redis does.
    pub fn parse(arg: &[u8]) -> Option<Self> {
        let (exclusive, number) = match arg.split_first() {
            Some((b'(', rest)) => (true, rest),
            _ => (false, arg),
        };
        let value: f64 = core::str::from_utf8(number).ok()?.parse().ok()?;
        if value.is_nan() {
            return None;
        }
        Some(if exclusive {
            ScoreBound::Exclusive(value)
        } else {
            ScoreBound::Inclusive(value)
        })
    }
}

/// A lexicographic range end as ZRANGEBYLEX takes it: `-`, `+`, `[member`, `(member`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LexBound<'a> {
    NegInf,
    PosInf,
    Inclusive(&'a [u8]),
    Exclusive(&'a [u8]),
}

impl<'a> LexBound<'a> {
    /// Parses a lex range argument; `None` means Redis's `ERR min or max not valid string
    /// range item`.
    pub fn parse(arg: &'a [u8]) -> Option<Self> {
        match arg.split_first() {
            Some((b'-', [])) => Some(LexBound::NegInf),
            Some((b'+', [])) => Some(LexBound::PosInf),
            Some((b'[', rest)) => Some(LexBound::Inclusive(rest)),
            Some((b'(', rest)) => Some(LexBound::Exclusive(rest)),
            _ => None,
        }
    }
}

/// Which end of a range a bound is used as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RangeEnd {
    /// A lower bound: the answer is the rank of the first admitted element (`len` if none).
    Min,
    /// An upper bound: the answer is one past the rank of the last admitted element
    /// (0 if none), i.e. how many elements it admits.
    Max,
}

/// A sorted set. Elements change only through these methods, which keep the byte count
/// (`heap_size`) and the reported encoding right.
#[derive(Clone)]
pub struct ZSet {
    /// Arena of skip-list nodes; slot `HEAD` is the header. Freed slots are reused.
    nodes: Vec<Node>,
    free: Vec<u32>,
    /// Member -> node index, hashed by the member bytes stored in the node.
    index: HashTable<u32>,
    hasher: ahash::RandomState,
    /// Last element (`NIL` when empty), for descending walks and ZPOPMAX.
    tail: u32,
    /// Number of levels in use (at least 1).
    level: usize,
    /// Elements linked into the skip list.
    length: usize,
    bytes: usize,
    /// xorshift state for tower heights; seeded per set from the random hasher state.
    rng: u64,
    /// Outgrew the listpack limits: reports `skiplist` from now on, as Redis does.
    large: bool,
}

impl Default for ZSet {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for ZSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(
                self.iter()
                    .map(|(member, score)| (String::from_utf8_lossy(member), score)),
            )
            .finish()
    }
}

/// Same members with the same scores (`0.0` equals `-0.0`).
impl PartialEq for ZSet {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().all(|(m, s)| other.score(m) == Some(s))
    }
}

impl ZSet {
    pub fn new() -> Self {
        let hasher = ahash::RandomState::new();
        // Any nonzero seed works; a random one keeps tower heights unpredictable.
        let rng = hasher.hash_one(0x5eed_u64) | 1;
        ZSet {
            nodes: vec![Node::header()],
            free: Vec::new(),
            index: HashTable::new(),
            hasher,
            tail: NIL,
            level: 1,
            length: 0,
            bytes: 0,
            rng,
            large: false,
        }
    }

    pub fn len(&self) -> usize {
        self.length
    }

    pub fn is_empty(&self) -> bool {
        self.length == 0
    }

    /// Approximate heap bytes held by the elements, O(1). 0 when empty.
    pub fn heap_size(&self) -> usize {
        self.bytes
    }

    /// The encoding `OBJECT ENCODING` reports, as Redis would name it.
    pub fn encoding(&self) -> &'static str {
        if self.large {
            "skiplist"
        } else {
            "listpack"
        }
    }

    pub fn contains(&self, member: &[u8]) -> bool {
        self.find(member).is_some()
    }

    pub fn score(&self, member: &[u8]) -> Option<f64> {
        self.find(member).map(|idx| self.node(idx).score)
    }

    /// Inserts `member` or updates its score; returns the previous score (`None` if new).
    /// `score` must not be NaN.
    pub fn insert(&mut self, member: &[u8], score: f64) -> Option<f64> {
        debug_assert!(!score.is_nan(), "sorted set scores are never NaN");
        let hash = self.hasher.hash_one(member);
        if let Some(idx) = self.find_hashed(hash, member) {
            let old = self.node(idx).score;
            self.set_score(idx, score);
            return Some(old);
        }
        self.insert_new(hash, member.into(), score);
        None
    }

    pub fn remove(&mut self, member: &[u8]) -> Option<f64> {
        let hash = self.hasher.hash_one(member);
        let nodes = &self.nodes;
        let entry = self
            .index
            .find_entry(hash, |&i| *nodes[i as usize].member == *member)
            .ok()?;
        let (idx, _) = entry.remove();
        self.unlink(idx);
        let (_, score) = self.release(idx);
        Some(score)
    }

    /// 0-based rank in ascending order, O(log n).
    pub fn rank(&self, member: &[u8]) -> Option<usize> {
        let idx = self.find(member)?;
        let target = self.node(idx);
        Some(self.count_while(|n| n.cmp_key(target.score, &target.member) == Ordering::Less))
    }

    /// 0-based rank in descending order (ZREVRANK), O(log n).
    pub fn rev_rank(&self, member: &[u8]) -> Option<usize> {
        self.rank(member).map(|r| self.length - 1 - r)
    }

    /// The element at ascending rank `rank`, O(log n).
    pub fn by_rank(&self, rank: usize) -> Option<(&[u8], f64)> {
        let n = self.node(self.node_at(rank)?);
        Some((&n.member, n.score))
    }

    /// Ascending iteration over everything.
    pub fn iter(&self) -> ZSetIter<'_> {
        self.iter_from_rank(0)
    }

    /// Descending iteration over everything.
    pub fn iter_rev(&self) -> ZSetIter<'_> {
        self.iter_rev_from_rank(0)
    }

    /// Ascending iteration starting at rank `start` (empty if past the end); lazy,
    /// O(log n) to start and O(1) per element.
    pub fn iter_from_rank(&self, start: usize) -> ZSetIter<'_> {
        let cur = if start == 0 {
            self.node(HEAD).first.next
        } else {
            self.node_at(start).unwrap_or(NIL)
        };
        ZSetIter {
            nodes: &self.nodes,
            cur,
            remaining: self.length.saturating_sub(start),
            forward: true,
        }
    }

    /// Descending iteration starting `start_from_top` elements below the highest one
    /// (ZREVRANGE ranks); lazy, O(log n) to start and O(1) per element.
    pub fn iter_rev_from_rank(&self, start_from_top: usize) -> ZSetIter<'_> {
        let cur = if start_from_top == 0 {
            self.tail
        } else if start_from_top < self.length {
            self.node_at(self.length - 1 - start_from_top)
                .unwrap_or(NIL)
        } else {
            NIL
        };
        ZSetIter {
            nodes: &self.nodes,
            cur,
            remaining: self.length.saturating_sub(start_from_top),
            forward: false,
        }
    }

    /// Where a score bound falls, in ascending ranks, O(log n): for `RangeEnd::Min` the
    /// rank of the first element `>=` (inclusive) or `>` (exclusive) the score; for
    /// `RangeEnd::Max` one past the last element `<=` / `<` the score.
    pub fn rank_of_score_bound(&self, bound: ScoreBound, end: RangeEnd) -> usize {
        match (end, bound) {
            (RangeEnd::Min, ScoreBound::Inclusive(x)) => self.count_while(|n| n.score < x),
            (RangeEnd::Min, ScoreBound::Exclusive(x)) => self.count_while(|n| n.score <= x),
            (RangeEnd::Max, ScoreBound::Inclusive(x)) => self.count_while(|n| n.score <= x),
            (RangeEnd::Max, ScoreBound::Exclusive(x)) => self.count_while(|n| n.score < x),
        }
    }

    /// The ascending ranks of the elements with `min <= score <= max` (ends per their
    /// inclusiveness); empty when nothing matches. O(log n).
    pub fn score_range_ranks(&self, min: ScoreBound, max: ScoreBound) -> Range<usize> {
        let start = self.rank_of_score_bound(min, RangeEnd::Min);
        let end = self.rank_of_score_bound(max, RangeEnd::Max);
        start..end.max(start)
    }

    /// Like `rank_of_score_bound` for member bounds (ZRANGEBYLEX). The answer is only
    /// meaningful when all scores are equal, as in Redis; otherwise it is some rank.
    pub fn rank_of_lex_bound(&self, bound: LexBound<'_>, end: RangeEnd) -> usize {
        match (end, bound) {
            (RangeEnd::Min, LexBound::NegInf) | (RangeEnd::Max, LexBound::NegInf) => 0,
            (RangeEnd::Min, LexBound::PosInf) | (RangeEnd::Max, LexBound::PosInf) => self.length,
            (RangeEnd::Min, LexBound::Inclusive(x)) => self.count_while(|n| *n.member < *x),
            (RangeEnd::Min, LexBound::Exclusive(x)) => self.count_while(|n| *n.member <= *x),
            (RangeEnd::Max, LexBound::Inclusive(x)) => self.count_while(|n| *n.member <= *x),
            (RangeEnd::Max, LexBound::Exclusive(x)) => self.count_while(|n| *n.member < *x),
        }
    }

    /// The ascending ranks of the elements between two lex bounds; empty when none.
    pub fn lex_range_ranks(&self, min: LexBound<'_>, max: LexBound<'_>) -> Range<usize> {
        let start = self.rank_of_lex_bound(min, RangeEnd::Min);
        let end = self.rank_of_lex_bound(max, RangeEnd::Max);
        start..end.max(start)
    }

    /// Removes and returns the lowest element.
    pub fn pop_min(&mut self) -> Option<(Vec<u8>, f64)> {
        let idx = self.node(HEAD).first.next;
        self.remove_node(idx)
    }

    /// Removes and returns the highest element.
    pub fn pop_max(&mut self) -> Option<(Vec<u8>, f64)> {
        self.remove_node(self.tail)
    }

    /// Removes the elements with ascending ranks `start..=end_inclusive` (clamped to the
    /// set); returns how many were removed. O(log n + k).
    pub fn remove_rank_range(&mut self, start: usize, end_inclusive: usize) -> usize {
        if start >= self.length || start > end_inclusive {
            return 0;
        }
        let count = end_inclusive.min(self.length - 1) - start + 1;
        // The predecessors, at every level, of the first removed element: they stay
        // predecessors of each next one as the run is removed.
        let mut update = [HEAD; MAX_LEVEL];
        let mut x = HEAD;
        let mut traversed = 0usize;
        for lvl in (0..self.level).rev() {
            loop {
                let link = self.node(x).link(lvl);
                if link.next != NIL && traversed + (link.span as usize) <= start {
                    traversed += link.span as usize;
                    x = link.next;
                } else {
                    break;
                }
            }
            update[lvl] = x;
        }
        let mut cur = self.node(x).first.next;
        for _ in 0..count {
            let next = self.node(cur).first.next;
            self.unlink_with(cur, &update);
            self.forget(cur);
            self.release(cur);
            cur = next;
        }
        count
    }

    // ---- internals ----

    fn node(&self, idx: u32) -> &Node {
        &self.nodes[idx as usize]
    }

    fn node_mut(&mut self, idx: u32) -> &mut Node {
        &mut self.nodes[idx as usize]
    }

    fn find(&self, member: &[u8]) -> Option<u32> {
        self.find_hashed(self.hasher.hash_one(member), member)
    }

    fn find_hashed(&self, hash: u64, member: &[u8]) -> Option<u32> {
        let nodes = &self.nodes;
        self.index
            .find(hash, |&i| *nodes[i as usize].member == *member)
            .copied()
    }

    fn insert_new(&mut self, hash: u64, member: Box<[u8]>, score: f64) {
        let member_len = member.len();
        let level = self.random_level();
        let node = Node {
            member,
            score,
            back: NIL,
            first: END_LINK,
            upper: vec![END_LINK; level - 1],
        };
        let idx = match self.free.pop() {
            Some(slot) => {
                self.nodes[slot as usize] = node;
                slot
            }
            None => {
                let slot = u32::try_from(self.nodes.len())
                    .ok()
                    .filter(|&s| s != NIL)
                    .expect("sorted set arena exceeds u32 indices");
                self.nodes.push(node);
                slot
            }
        };
        self.link_in(idx);
        let nodes = &self.nodes;
        let hasher = &self.hasher;
        self.index
            .insert_unique(hash, idx, |&i| hasher.hash_one(&*nodes[i as usize].member));
        self.bytes += element_cost(member_len);
        if self.length > LISTPACK_MAX_ENTRIES || member_len > LISTPACK_MAX_VALUE {
            self.large = true;
        }
    }

    /// Tower height with p = 1/4 per extra level, as Redis uses.
    fn random_level(&mut self) -> usize {
        let mut x = self.rng;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.rng = x;
        (1 + x.leading_zeros() as usize / 2).min(MAX_LEVEL)
    }

    fn set_score(&mut self, idx: u32, score: f64) {
        let n = self.node(idx);
        if n.score == score {
            return;
        }
        // Common case for small changes: the element keeps its place, so no relinking.
        let after_prev =
            n.back == NIL || self.node(n.back).cmp_key(score, &n.member) == Ordering::Less;
        let before_next = n.first.next == NIL
            || self.node(n.first.next).cmp_key(score, &n.member) == Ordering::Greater;
        if after_prev && before_next {
            self.node_mut(idx).score = score;
        } else {
            self.unlink(idx);
            self.node_mut(idx).score = score;
            self.link_in(idx);
        }
    }

    /// How many leading elements (ascending) satisfy `pred`, which must hold for a prefix
    /// of the order for the answer to mean anything; O(log n) either way, never panics.
    fn count_while(&self, mut pred: impl FnMut(&Node) -> bool) -> usize {
        let mut x = HEAD;
        let mut traversed = 0usize;
        for lvl in (0..self.level).rev() {
            loop {
                let link = self.node(x).link(lvl);
                if link.next != NIL && pred(self.node(link.next)) {
                    traversed += link.span as usize;
                    x = link.next;
                } else {
                    break;
                }
            }
        }
        traversed
    }

    /// Node index at 0-based ascending `rank`.
    fn node_at(&self, rank: usize) -> Option<u32> {
        if rank >= self.length {
            return None;
        }
        let target = rank + 1;
        let mut x = HEAD;
        let mut traversed = 0usize;
        for lvl in (0..self.level).rev() {
            loop {
                let link = self.node(x).link(lvl);
                if link.next != NIL && traversed + (link.span as usize) <= target {
                    traversed += link.span as usize;
                    x = link.next;
                } else {
                    break;
                }
            }
            if traversed == target {
                return Some(x);
            }
        }
        None
    }

    /// Predecessor of the key at every level in use, and its 1-based position.
    fn search(&self, score: f64, member: &[u8]) -> ([u32; MAX_LEVEL], [u32; MAX_LEVEL]) {
        let mut update = [HEAD; MAX_LEVEL];
        let mut rank = [0u32; MAX_LEVEL];
        let mut x = HEAD;
        let mut traversed = 0u32;
        for lvl in (0..self.level).rev() {
            loop {
                let link = self.node(x).link(lvl);
                if link.next != NIL && self.node(link.next).cmp_key(score, member) == Ordering::Less
                {
                    traversed += link.span;
                    x = link.next;
                } else {
                    break;
                }
            }
            update[lvl] = x;
            rank[lvl] = traversed;
        }
        (update, rank)
    }

    /// Links node `idx` (not linked yet, tower already sized) at its key's place.
    fn link_in(&mut self, idx: u32) {
        let n = self.node(idx);
        let level = n.level();
        let (mut update, mut rank) = self.search(n.score, &n.member);
        if level > self.level {
            let length = self.length as u32;
            let old_level = self.level;
            let head = &mut self.nodes[HEAD as usize];
            while head.level() < level {
                head.upper.push(END_LINK);
            }
            for lvl in old_level..level {
                update[lvl] = HEAD;
                rank[lvl] = 0;
                *head.link_mut(lvl) = Link {
                    next: NIL,
                    span: length,
                };
            }
            self.level = level;
        }
        for lvl in 0..level {
            let prev = self.node(update[lvl]).link(lvl);
            let skipped = rank[0] - rank[lvl];
            *self.node_mut(idx).link_mut(lvl) = Link {
                next: prev.next,
                span: prev.span - skipped,
            };
            *self.node_mut(update[lvl]).link_mut(lvl) = Link {
                next: idx,
                span: skipped + 1,
            };
        }
        for (lvl, &prev) in update.iter().enumerate().take(self.level).skip(level) {
            self.node_mut(prev).link_mut(lvl).span += 1;
        }
        let back = if update[0] == HEAD { NIL } else { update[0] };
        self.node_mut(idx).back = back;
        let next = self.node(idx).first.next;
        if next == NIL {
            self.tail = idx;
        } else {
            self.node_mut(next).back = idx;
        }
        self.length += 1;
    }

    /// Unlinks node `idx` from the skip list (it stays in the arena and the hash table).
    fn unlink(&mut self, idx: u32) {
        let n = self.node(idx);
        let (update, _) = self.search(n.score, &n.member);
        self.unlink_with(idx, &update);
    }

    fn unlink_with(&mut self, idx: u32, update: &[u32; MAX_LEVEL]) {
        for (lvl, &prev) in update.iter().enumerate().take(self.level) {
            let link = self.node(prev).link(lvl);
            if link.next == idx {
                let own = self.node(idx).link(lvl);
                *self.node_mut(prev).link_mut(lvl) = Link {
                    next: own.next,
                    span: link.span + own.span - 1,
                };
            } else {
                self.node_mut(prev).link_mut(lvl).span -= 1;
            }
        }
        let (back, next) = (self.node(idx).back, self.node(idx).first.next);
        if next == NIL {
            self.tail = back;
        } else {
            self.node_mut(next).back = back;
        }
        while self.level > 1 && self.node(HEAD).link(self.level - 1).next == NIL {
            self.level -= 1;
        }
        self.length -= 1;
    }

    /// Drops node `idx` from the hash table.
    fn forget(&mut self, idx: u32) {
        let hash = self.hasher.hash_one(&*self.node(idx).member);
        if let Ok(entry) = self.index.find_entry(hash, |&i| i == idx) {
            entry.remove();
        }
    }

    /// Frees an unlinked, forgotten node's slot and returns its contents.
    fn release(&mut self, idx: u32) -> (Box<[u8]>, f64) {
        let n = self.node_mut(idx);
        let member = core::mem::take(&mut n.member);
        let score = n.score;
        n.upper = Vec::new();
        self.bytes -= element_cost(member.len());
        if self.length == 0 {
            // Give the arena back rather than keep a free list nobody will use soon.
            self.nodes = vec![Node::header()];
            self.free = Vec::new();
            self.level = 1;
            self.tail = NIL;
        } else {
            self.free.push(idx);
        }
        (member, score)
    }

    fn remove_node(&mut self, idx: u32) -> Option<(Vec<u8>, f64)> {
        if idx == NIL {
            return None;
        }
        self.forget(idx);
        self.unlink(idx);
        let (member, score) = self.release(idx);
        Some((member.into_vec(), score))
    }

    /// Checks every structural invariant; panics with a description on the first breach.
    #[cfg(test)]
    fn check_invariants(&self) {
        assert_eq!(self.index.len(), self.length, "hash table size");
        // Level 0: order, back links, tail.
        let mut order = Vec::new();
        let mut prev = NIL;
        let mut x = self.node(HEAD).first.next;
        while x != NIL {
            let n = self.node(x);
            assert_eq!(n.back, prev, "back link");
            assert_eq!(n.first.span, if n.first.next == NIL { 0 } else { 1 });
            assert!(n.level() <= self.level, "tower above list level");
            if prev != NIL {
                let p = self.node(prev);
                assert_eq!(n.cmp_key(p.score, &p.member), Ordering::Greater, "order");
            }
            assert_eq!(self.find(&n.member), Some(x), "hash table entry");
            order.push(x);
            prev = x;
            x = n.first.next;
        }
        assert_eq!(order.len(), self.length, "length");
        assert_eq!(self.tail, prev, "tail");
        let mut position = vec![0u32; self.nodes.len()];
        for (i, &idx) in order.iter().enumerate() {
            position[idx as usize] = i as u32 + 1;
        }
        // Upper levels: spans equal rank differences, links skip only shorter towers.
        for lvl in 0..self.level {
            let mut x = HEAD;
            loop {
                let link = self.node(x).link(lvl);
                let here = if x == HEAD { 0 } else { position[x as usize] };
                let there = if link.next == NIL {
                    self.length as u32
                } else {
                    position[link.next as usize]
                };
                assert_eq!(link.span, there - here, "span at level {lvl}");
                if link.next == NIL {
                    break;
                }
                x = link.next;
            }
        }
        if self.level > 1 {
            assert_ne!(
                self.node(HEAD).link(self.level - 1).next,
                NIL,
                "empty top level"
            );
        }
        let bytes: usize = order
            .iter()
            .map(|&i| element_cost(self.node(i).member.len()))
            .sum();
        assert_eq!(bytes, self.bytes, "byte count");
    }
}

/// Lazy walk along the skip list's bottom level, either direction.
#[derive(Clone, Debug)]
pub struct ZSetIter<'a> {
    nodes: &'a [Node],
    cur: u32,
    remaining: usize,
    forward: bool,
}

impl<'a> Iterator for ZSetIter<'a> {
    type Item = (&'a [u8], f64);

    fn next(&mut self) -> Option<Self::Item> {
        if self.remaining == 0 || self.cur == NIL {
            return None;
        }
        let nodes: &'a [Node] = self.nodes;
        let n = &nodes[self.cur as usize];
        self.remaining -= 1;
        self.cur = if self.forward { n.first.next } else { n.back };
        Some((&n.member, n.score))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

impl ExactSizeIterator for ZSetIter<'_> {}
impl FusedIterator for ZSetIter<'_> {}

// Format: a sorted set in WAL records and snapshots is a u64 count followed by
// (member bytes, f64 score) pairs in ascending order -- the same bytes as a
// `Vec<(Vec<u8>, f64)>`. The order is not relied on when decoding.
impl Encode for ZSet {
    fn encode<E: Encoder>(&self, encoder: &mut E) -> Result<(), EncodeError> {
        (self.length as u64).encode(encoder)?;
        for (member, score) in self.iter() {
            member.encode(encoder)?;
            score.encode(encoder)?;
        }
        Ok(())
    }
}

impl<Context> Decode<Context> for ZSet {
    fn decode<D: Decoder<Context = Context>>(decoder: &mut D) -> Result<Self, DecodeError> {
        let count = u64::decode(decoder)?;
        let count = usize::try_from(count).map_err(|_| DecodeError::OutsideUsizeRange(count))?;
        // Lets a configured byte limit reject absurd counts before any work.
        decoder.claim_container_read::<(Vec<u8>, f64)>(count)?;
        let mut set = ZSet::new();
        for _ in 0..count {
            decoder.unclaim_bytes_read(core::mem::size_of::<(Vec<u8>, f64)>());
            let member = Vec::<u8>::decode(decoder)?;
            let score = f64::decode(decoder)?;
            if score.is_nan() {
                return Err(DecodeError::Other("sorted set score is NaN"));
            }
            let hash = set.hasher.hash_one(&member[..]);
            if set.find_hashed(hash, &member).is_some() {
                return Err(DecodeError::Other("duplicate sorted set member"));
            }
            set.insert_new(hash, member.into_boxed_slice(), score);
        }
        Ok(set)
    }
}

bincode::impl_borrow_decode!(ZSet);

#[cfg(test)]
mod tests {
    use super::*;

    /// Deterministic xorshift64* so failures reproduce.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
    }

    /// The naive model: a Vec kept sorted by (score, member).
    #[derive(Default)]
    struct Model(Vec<(Vec<u8>, f64)>);
    impl Model {
        fn sort(&mut self) {
            self.0.sort_by(|a, b| compare_keys(a.1, &a.0, b.1, &b.0));
        }
        fn insert(&mut self, m: &[u8], s: f64) -> Option<f64> {
            let old = self.remove(m);
            self.0.push((m.to_vec(), s));
            self.sort();
            old
        }
        fn remove(&mut self, m: &[u8]) -> Option<f64> {
            let pos = self.0.iter().position(|e| e.0 == m)?;
            Some(self.0.remove(pos).1)
        }
        fn rank(&self, m: &[u8]) -> Option<usize> {
            self.0.iter().position(|e| e.0 == m)
        }
        fn score_admits(b: ScoreBound, end: RangeEnd, s: f64) -> bool {
            match (end, b) {
                (RangeEnd::Min, ScoreBound::Inclusive(x)) => s >= x,
                (RangeEnd::Min, ScoreBound::Exclusive(x)) => s > x,
                (RangeEnd::Max, ScoreBound::Inclusive(x)) => s <= x,
                (RangeEnd::Max, ScoreBound::Exclusive(x)) => s < x,
            }
        }
        fn score_rank(&self, b: ScoreBound, end: RangeEnd) -> usize {
            match end {
                RangeEnd::Min => self
                    .0
                    .iter()
                    .position(|e| Self::score_admits(b, end, e.1))
                    .unwrap_or(self.0.len()),
                RangeEnd::Max => self
                    .0
                    .iter()
                    .filter(|e| Self::score_admits(b, end, e.1))
                    .count(),
            }
        }
        fn lex_admits(b: LexBound<'_>, end: RangeEnd, m: &[u8]) -> bool {
            match (end, b) {
                (RangeEnd::Min, LexBound::NegInf) | (RangeEnd::Max, LexBound::PosInf) => true,
                (RangeEnd::Min, LexBound::PosInf) | (RangeEnd::Max, LexBound::NegInf) => false,
                (RangeEnd::Min, LexBound::Inclusive(x)) => m >= x,
                (RangeEnd::Min, LexBound::Exclusive(x)) => m > x,
                (RangeEnd::Max, LexBound::Inclusive(x)) => m <= x,
                (RangeEnd::Max, LexBound::Exclusive(x)) => m < x,
            }
        }
        fn lex_rank(&self, b: LexBound<'_>, end: RangeEnd) -> usize {
            match end {
                RangeEnd::Min => self
                    .0
                    .iter()
                    .position(|e| Self::lex_admits(b, end, &e.0))
                    .unwrap_or(self.0.len()),
                RangeEnd::Max => self
                    .0
                    .iter()
                    .filter(|e| Self::lex_admits(b, end, &e.0))
                    .count(),
            }
        }
    }

    fn collect(it: ZSetIter<'_>) -> Vec<(Vec<u8>, f64)> {
        it.map(|(m, s)| (m.to_vec(), s)).collect()
    }

    fn member(rng: &mut Rng, pool: usize) -> Vec<u8> {
        format!("m{}", rng.below(pool)).into_bytes()
    }

    const SCORES: [f64; 9] = [
        f64::NEG_INFINITY,
        -3.0,
        -1.5,
        -0.0,
        0.0,
        1.0,
        2.5,
        7.0,
        f64::INFINITY,
    ];

    fn random_score(rng: &mut Rng) -> f64 {
        if rng.below(3) == 0 {
            (rng.next() % 10_000) as f64 / 100.0 - 50.0
        } else {
            SCORES[rng.below(SCORES.len())]
        }
    }

    fn random_score_bound(rng: &mut Rng) -> ScoreBound {
        let s = random_score(rng);
        if rng.below(2) == 0 {
            ScoreBound::Inclusive(s)
        } else {
            ScoreBound::Exclusive(s)
        }
    }

    fn run_random_ops(seed: u64, ops: usize, pool: usize, same_score: bool) {
        let mut rng = Rng(seed);
        let mut set = ZSet::new();
        let mut model = Model::default();
        for step in 0..ops {
            let score = if same_score {
                0.0
            } else {
                random_score(&mut rng)
            };
            match rng.below(12) {
                0..=3 => {
                    let m = member(&mut rng, pool);
                    assert_eq!(set.insert(&m, score), model.insert(&m, score), "insert");
                }
                4 => {
                    let m = member(&mut rng, pool);
                    assert_eq!(set.remove(&m), model.remove(&m), "remove");
                }
                5 => {
                    let m = member(&mut rng, pool);
                    assert_eq!(set.rank(&m), model.rank(&m), "rank");
                    assert_eq!(set.score(&m), model.rank(&m).map(|r| model.0[r].1));
                    assert_eq!(
                        set.rev_rank(&m),
                        model.rank(&m).map(|r| model.0.len() - 1 - r)
                    );
                }
                6 => {
                    let r = rng.below(model.0.len() + 2);
                    let want = model.0.get(r).map(|e| (e.0.as_slice(), e.1));
                    assert_eq!(set.by_rank(r), want, "by_rank");
                    let k = rng.below(5);
                    let fwd: Vec<_> = model.0.iter().skip(r).take(k).cloned().collect();
                    assert_eq!(
                        collect(set.iter_from_rank(r))
                            .into_iter()
                            .take(k)
                            .collect::<Vec<_>>(),
                        fwd
                    );
                    assert_eq!(set.iter_from_rank(r).len(), model.0.len().saturating_sub(r));
                    let rev: Vec<_> = model.0.iter().rev().skip(r).take(k).cloned().collect();
                    assert_eq!(
                        collect(set.iter_rev_from_rank(r))
                            .into_iter()
                            .take(k)
                            .collect::<Vec<_>>(),
                        rev
                    );
                    assert_eq!(
                        set.iter_rev_from_rank(r).len(),
                        model.0.len().saturating_sub(r)
                    );
                }
                7 => {
                    let (a, b) = (random_score_bound(&mut rng), random_score_bound(&mut rng));
                    for end in [RangeEnd::Min, RangeEnd::Max] {
                        assert_eq!(
                            set.rank_of_score_bound(a, end),
                            model.score_rank(a, end),
                            "score bound {a:?} {end:?}"
                        );
                    }
                    let range = set.score_range_ranks(a, b);
                    let want = model
                        .0
                        .iter()
                        .filter(|e| {
                            Model::score_admits(a, RangeEnd::Min, e.1)
                                && Model::score_admits(b, RangeEnd::Max, e.1)
                        })
                        .count();
                    assert_eq!(range.len(), want, "score range count");
                }
                8 => {
                    let m1 = member(&mut rng, pool);
                    let m2 = member(&mut rng, pool);
                    let bounds = [
                        LexBound::NegInf,
                        LexBound::PosInf,
                        LexBound::Inclusive(&m1),
                        LexBound::Exclusive(&m2),
                    ];
                    for b in bounds {
                        for end in [RangeEnd::Min, RangeEnd::Max] {
                            let got = set.rank_of_lex_bound(b, end);
                            assert!(got <= set.len());
                            if same_score {
                                assert_eq!(got, model.lex_rank(b, end), "lex {b:?} {end:?}");
                            }
                        }
                    }
                }
                9 => {
                    let (got, want) = if rng.below(2) == 0 {
                        let want = if model.0.is_empty() {
                            None
                        } else {
                            Some(model.0.remove(0))
                        };
                        (set.pop_min(), want)
                    } else {
                        (set.pop_max(), model.0.pop())
                    };
                    assert_eq!(got, want, "pop");
                }
                10 => {
                    let len = model.0.len();
                    let start = rng.below(len + 2);
                    let end = start + rng.below(4);
                    let want = if start < len {
                        let stop = (end + 1).min(len);
                        model.0.drain(start..stop).count()
                    } else {
                        0
                    };
                    assert_eq!(set.remove_rank_range(start, end), want, "remove_rank_range");
                }
                _ => {
                    // Small score nudges exercise the in-place update path.
                    if let Some(r) = (!model.0.is_empty()).then(|| rng.below(model.0.len())) {
                        let (m, s) = model.0[r].clone();
                        let nudged = if same_score { s } else { s + 0.001 };
                        assert_eq!(set.insert(&m, nudged), model.insert(&m, nudged));
                    }
                }
            }
            assert_eq!(set.len(), model.0.len());
            if step % 97 == 0 || set.len() < 8 {
                set.check_invariants();
                assert_eq!(collect(set.iter()), model.0, "full order at step {step}");
            }
        }
        set.check_invariants();
        assert_eq!(collect(set.iter()), model.0);
        let mut rev = model.0.clone();
        rev.reverse();
        assert_eq!(collect(set.iter_rev()), rev);
    }

    #[test]
    fn random_ops_match_model() {
        run_random_ops(0x1234_5678_9abc_def1, 6000, 300, false);
        run_random_ops(42, 4000, 20, false);
        run_random_ops(7, 3000, 2000, false);
    }

    #[test]
    fn random_ops_match_model_equal_scores_lex() {
        run_random_ops(99, 4000, 200, true);
    }

    #[test]
    fn large_set_ranks_and_removal_to_empty() {
        let mut rng = Rng(5);
        let mut set = ZSet::new();
        let mut model = Model::default();
        for i in 0..5000u32 {
            let m = format!("member:{}", rng.next() % 100_000).into_bytes();
            let s = (rng.next() % 1000) as f64;
            set.insert(&m, s);
            model.0.retain(|e| e.0 != m);
            model.0.push((m, s));
            if i % 1000 == 0 {
                set.check_invariants();
            }
        }
        model.sort();
        set.check_invariants();
        for (r, (m, s)) in model.0.iter().enumerate() {
            assert_eq!(set.rank(m), Some(r));
            assert_eq!(set.by_rank(r), Some((m.as_slice(), *s)));
        }
        assert_eq!(set.encoding(), "skiplist");
        let members: Vec<_> = model.0.iter().map(|e| e.0.clone()).collect();
        for (i, m) in members.iter().enumerate() {
            assert!(set.remove(m).is_some());
            if i % 500 == 0 {
                set.check_invariants();
            }
        }
        assert!(set.is_empty());
        assert_eq!(set.heap_size(), ZSet::new().heap_size());
        assert_eq!(set.heap_size(), 0);
        set.check_invariants();
        // Reusable after emptying.
        set.insert(b"a", 1.0);
        assert_eq!(set.by_rank(0), Some((&b"a"[..], 1.0)));
        set.check_invariants();
        // Still skiplist once converted, as Redis does.
        assert_eq!(set.encoding(), "skiplist");
    }

    #[test]
    fn heap_size_tracks_inserts_and_removes() {
        let mut set = ZSet::new();
        assert_eq!(set.heap_size(), 0);
        set.insert(b"a", 1.0);
        let one = set.heap_size();
        assert!(one > 1);
        set.insert(b"a", 5.0);
        assert_eq!(set.heap_size(), one, "update keeps the size");
        set.insert(b"bb", 2.0);
        assert!(set.heap_size() > one);
        assert_eq!(set.remove_rank_range(0, 10), 2);
        assert_eq!(set.heap_size(), 0);
        set.insert(b"x", 1.0);
        set.insert(b"y", 2.0);
        set.pop_min();
        set.pop_max();
        assert_eq!(set.heap_size(), 0);
    }

    #[test]
    fn basic_ordering_and_ties() {
        let mut set = ZSet::new();
        assert_eq!(set.insert(b"b", 1.0), None);
        assert_eq!(set.insert(b"a", 1.0), None);
        assert_eq!(set.insert(b"c", 0.5), None);
        assert_eq!(set.insert(b"z", -0.0), None);
        assert_eq!(set.insert(b"y", 0.0), None);
        let order: Vec<_> = set.iter().map(|(m, _)| m.to_vec()).collect();
        assert_eq!(order, [&b"y"[..], b"z", b"c", b"a", b"b"]);
        assert_eq!(set.rank(b"a"), Some(3));
        assert_eq!(set.rank(b"nope"), None);
        assert_eq!(set.insert(b"a", 10.0), Some(1.0));
        assert_eq!(set.rank(b"a"), Some(4));
        assert_eq!(set.by_rank(5), None);
        assert_eq!(set.remove(b"a"), Some(10.0));
        assert_eq!(set.remove(b"a"), None);
        assert_eq!(set.pop_max(), Some((b"b".to_vec(), 1.0)));
        assert_eq!(set.pop_min(), Some((b"y".to_vec(), 0.0)));
        set.check_invariants();
    }

    #[test]
    fn score_bounds_with_infinities() {
        let mut set = ZSet::new();
        for (i, m) in [b"a", b"b", b"c", b"d"].iter().enumerate() {
            set.insert(*m, i as f64);
        }
        let inf = f64::INFINITY;
        assert_eq!(
            set.score_range_ranks(ScoreBound::Inclusive(-inf), ScoreBound::Inclusive(inf)),
            0..4
        );
        assert_eq!(
            set.score_range_ranks(ScoreBound::Exclusive(1.0), ScoreBound::Inclusive(3.0)),
            2..4
        );
        assert_eq!(
            set.score_range_ranks(ScoreBound::Inclusive(1.0), ScoreBound::Exclusive(3.0)),
            1..3
        );
        let empty = set.score_range_ranks(ScoreBound::Inclusive(3.0), ScoreBound::Inclusive(1.0));
        assert!(empty.is_empty());
        assert_eq!(
            set.rank_of_score_bound(ScoreBound::Inclusive(f64::NAN), RangeEnd::Max),
            0
        );
    }

    #[test]
    fn lex_bounds_and_parsing() {
        let mut set = ZSet::new();
        for m in [&b"a"[..], b"b", b"c", b"d", b"e"] {
            set.insert(m, 0.0);
        }
        let range = set.lex_range_ranks(
            LexBound::parse(b"[b").unwrap(),
            LexBound::parse(b"(d").unwrap(),
        );
        assert_eq!(range, 1..3);
        assert_eq!(
            set.lex_range_ranks(
                LexBound::parse(b"-").unwrap(),
                LexBound::parse(b"+").unwrap()
            ),
            0..5
        );
        assert_eq!(
            set.lex_range_ranks(LexBound::PosInf, LexBound::NegInf),
            5..5
        );
        assert_eq!(LexBound::parse(b"a"), None);
        assert_eq!(LexBound::parse(b""), None);
        assert_eq!(LexBound::parse(b"-x"), None);
        assert_eq!(LexBound::parse(b"("), Some(LexBound::Exclusive(b"")));
        // Mixed scores: no panic, some in-range answer.
        set.insert(b"c", 5.0);
        let r = set.lex_range_ranks(LexBound::Inclusive(b"b"), LexBound::Inclusive(b"d"));
        assert!(r.end <= set.len());
    }

    #[test]
    fn score_bound_parsing() {
        assert_eq!(ScoreBound::parse(b"1.5"), Some(ScoreBound::Inclusive(1.5)));
        assert_eq!(ScoreBound::parse(b"(2"), Some(ScoreBound::Exclusive(2.0)));
        assert_eq!(
            ScoreBound::parse(b"-inf"),
            Some(ScoreBound::Inclusive(f64::NEG_INFINITY))
        );
        assert_eq!(
            ScoreBound::parse(b"(+inf"),
            Some(ScoreBound::Exclusive(f64::INFINITY))
        );
        assert_eq!(ScoreBound::parse(b"nan"), None);
        assert_eq!(ScoreBound::parse(b"("), None);
        assert_eq!(ScoreBound::parse(b""), None);
        assert_eq!(ScoreBound::parse(b"1x"), None);
        assert_eq!(ScoreBound::parse(b"\xff"), None);
    }

    #[test]
    fn encoding_switches_once() {
        let mut set = ZSet::new();
        for i in 0..128 {
            set.insert(format!("{i}").as_bytes(), i as f64);
        }
        assert_eq!(set.encoding(), "listpack");
        set.insert(b"one more", 0.0);
        assert_eq!(set.encoding(), "skiplist");
        set.remove(b"one more");
        assert_eq!(set.encoding(), "skiplist");

        let mut long = ZSet::new();
        long.insert(&[b'x'; 64], 1.0);
        assert_eq!(long.encoding(), "listpack");
        long.insert(&[b'x'; 65], 1.0);
        assert_eq!(long.encoding(), "skiplist");
        let copy = long.clone();
        assert_eq!(copy.encoding(), "skiplist");
    }

    #[test]
    fn equality_clone_default_debug() {
        let mut a = ZSet::default();
        let mut b = ZSet::new();
        assert_eq!(a, b);
        a.insert(b"x", 1.0);
        a.insert(b"y", 0.0);
        b.insert(b"y", -0.0);
        assert_ne!(a, b);
        b.insert(b"x", 1.0);
        assert_eq!(a, b);
        b.insert(b"x", 2.0);
        assert_ne!(a, b);
        let c = a.clone();
        assert_eq!(a, c);
        a.insert(b"z", 3.0);
        assert_eq!(c.len(), 2, "clone is independent");
        c.check_invariants();
        assert_eq!(format!("{c:?}"), r#"[("y", 0.0), ("x", 1.0)]"#);
    }

    #[test]
    fn bincode_round_trip() {
        let config = bincode::config::standard();
        let mut rng = Rng(11);
        let mut set = ZSet::new();
        for _ in 0..1000 {
            let m = member(&mut rng, 700);
            set.insert(&m, random_score(&mut rng));
        }
        set.insert(b"", 0.0);
        let bytes = bincode::encode_to_vec(&set, config).unwrap();
        let (back, used): (ZSet, usize) = bincode::decode_from_slice(&bytes, config).unwrap();
        assert_eq!(used, bytes.len());
        assert_eq!(back, set);
        back.check_invariants();
        assert_eq!(collect(back.iter()), collect(set.iter()));
        assert_eq!(back.heap_size(), set.heap_size());
        assert_eq!(back.encoding(), "skiplist");
        // The documented format: same bytes as a Vec of pairs in ascending order.
        let (pairs, _): (Vec<(Vec<u8>, f64)>, usize) =
            bincode::decode_from_slice(&bytes, config).unwrap();
        assert_eq!(pairs, collect(set.iter()));
        // Borrowed decoding works too.
        let (borrowed, _): (ZSet, usize) =
            bincode::borrow_decode_from_slice(&bytes, config).unwrap();
        assert_eq!(borrowed, set);

        let small = ZSet::new();
        let bytes = bincode::encode_to_vec(&small, config).unwrap();
        let (back, _): (ZSet, usize) = bincode::decode_from_slice(&bytes, config).unwrap();
        assert!(back.is_empty());
        assert_eq!(back.encoding(), "listpack");
    }

    #[test]
    fn bincode_rejects_bad_input() {
        let config = bincode::config::standard();
        let dup: Vec<(Vec<u8>, f64)> = vec![(b"a".to_vec(), 1.0), (b"a".to_vec(), 2.0)];
        let bytes = bincode::encode_to_vec(&dup, config).unwrap();
        assert!(bincode::decode_from_slice::<ZSet, _>(&bytes, config).is_err());
        let nan: Vec<(Vec<u8>, f64)> = vec![(b"a".to_vec(), f64::NAN)];
        let bytes = bincode::encode_to_vec(&nan, config).unwrap();
        assert!(bincode::decode_from_slice::<ZSet, _>(&bytes, config).is_err());
        // Truncated input and a huge count are errors, not panics or huge allocations.
        let ok: Vec<(Vec<u8>, f64)> = vec![(b"abc".to_vec(), 1.0)];
        let bytes = bincode::encode_to_vec(&ok, config).unwrap();
        assert!(bincode::decode_from_slice::<ZSet, _>(&bytes[..bytes.len() - 1], config).is_err());
        let huge = bincode::encode_to_vec(u64::MAX, config).unwrap();
        assert!(bincode::decode_from_slice::<ZSet, _>(&huge, config).is_err());
    }

    #[test]
    fn remove_rank_range_edges() {
        let mut set = ZSet::new();
        for i in 0..10 {
            set.insert(&[b'a' + i], f64::from(i));
        }
        assert_eq!(set.remove_rank_range(5, 2), 0);
        assert_eq!(set.remove_rank_range(10, 20), 0);
        assert_eq!(set.remove_rank_range(8, 100), 2);
        assert_eq!(set.remove_rank_range(0, 0), 1);
        set.check_invariants();
        let left: Vec<_> = set.iter().map(|(m, _)| m[0]).collect();
        assert_eq!(left, b"bcdefgh");
        assert_eq!(set.remove_rank_range(0, usize::MAX), 7);
        assert!(set.is_empty());
        assert_eq!(set.pop_min(), None);
        assert_eq!(set.pop_max(), None);
        assert_eq!(set.iter_rev_from_rank(0).next(), None);
        assert_eq!(set.heap_size(), 0);
        set.check_invariants();
    }
}
