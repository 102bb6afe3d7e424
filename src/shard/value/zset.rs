//! The sorted-set (ZSET) value: unique binary-safe members, each with an `f64` score,
//! kept in ascending (score, member) order with O(log n) rank, select, insert and remove.
//!
//! Layout: a counted B+tree (the order-statistics index) plus a hash table from member to
//! element id, so `ZSCORE` and duplicate checks are O(1).
//!
//! * Elements live in an arena `Vec<Elem>` (the member bytes, inline up to 22 bytes
//!   else in one `Box<[u8]>`, and the score) and are named by a `u32` id. The member bytes are stored once; the hash table
//!   holds only ids and hashes through the arena.
//! * Leaves hold up to `LEAF_CAP` entries as two parallel arrays, scores and element ids,
//!   and are doubly linked for lazy iteration in either direction.
//! * Inner nodes hold, per child, the child's element count (rank/select in O(log n)
//!   without touching the leaves) and the child's smallest key as (score, id).
//!
//! Why: `ZADD` with random scores on a big set (the `redis-benchmark -t zadd` load) moves
//! an existing member on nearly every call, i.e. two searches. In a skip list each search
//! step is a cache miss or two (node, then its tower, then the member bytes). Here a search
//! binary-searches contiguous `f64`s, three or four nodes deep for 100k elements, and
//! reads member bytes only when scores tie. Nodes have no per-element allocation.
//!
//! Every non-root node holds at least a quarter of its capacity, so the height stays
//! O(log n); nodes split when full and merge with (or borrow from) a neighbour when
//! underfull.
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

/// Entries per leaf: 64 scores are 8 cache lines, binary-searched in 6 steps, and
/// shifting half a leaf on insert is a short memmove.
const LEAF_CAP: usize = 64;
/// Children per inner node; with the minimum fill below, 100k elements need 2-3 levels.
const INNER_CAP: usize = 64;
/// A non-root node below this many entries is merged with or refilled from a neighbour.
const LEAF_MIN: usize = LEAF_CAP / 4;
const INNER_MIN: usize = INNER_CAP / 4;
/// Deepest possible tree: a non-root inner node has at least `INNER_MIN` (16) children
/// and ids are `u32`, so 2^32 elements need at most 8 inner levels.
const MAX_DEPTH: usize = 12;
/// "No node / no element": the ends of the leaf chain, the root of an empty set.
const NIL: u32 = u32::MAX;

/// One element: the member bytes (stored only here) and its score (also in its leaf
/// entry, kept equal, so `ZSCORE` needs no tree walk).
#[derive(Clone, Debug)]
struct Elem {
    member: Member,
    score: f64,
}

/// Longest member kept inside its `Elem` rather than in a separate allocation.
const INLINE_MEMBER: usize = 22;

/// Member bytes: short ones (most real members, e.g. `element:000000012345`) inline, so
/// a hash probe or a score tie costs one cache miss instead of two, and no allocation.
#[derive(Clone, Debug)]
enum Member {
    Inline(u8, [u8; INLINE_MEMBER]),
    Heap(Box<[u8]>),
}

impl Default for Member {
    fn default() -> Self {
        Member::Inline(0, [0; INLINE_MEMBER])
    }
}

impl From<&[u8]> for Member {
    fn from(bytes: &[u8]) -> Self {
        if bytes.len() <= INLINE_MEMBER {
            let mut buf = [0; INLINE_MEMBER];
            buf[..bytes.len()].copy_from_slice(bytes);
            Member::Inline(bytes.len() as u8, buf)
        } else {
            Member::Heap(bytes.into())
        }
    }
}

impl Member {
    fn into_vec(self) -> Vec<u8> {
        match self {
            Member::Inline(len, buf) => buf[..len as usize].to_vec(),
            Member::Heap(b) => b.into_vec(),
        }
    }
}

impl core::ops::Deref for Member {
    type Target = [u8];
    #[inline]
    fn deref(&self) -> &[u8] {
        match self {
            Member::Inline(len, buf) => &buf[..*len as usize],
            Member::Heap(b) => b,
        }
    }
}

#[derive(Clone, Debug)]
struct Leaf {
    len: u32,
    prev: u32,
    next: u32,
    /// `scores[i]` and `ids[i]` for `i < len` are the entries in ascending order; scores
    /// are apart from ids so a search reads only score cache lines.
    scores: [f64; LEAF_CAP],
    ids: [u32; LEAF_CAP],
}

impl Leaf {
    fn empty() -> Self {
        Leaf {
            len: 0,
            prev: NIL,
            next: NIL,
            scores: [0.0; LEAF_CAP],
            ids: [NIL; LEAF_CAP],
        }
    }
}

#[derive(Clone, Debug)]
struct Inner {
    len: u32,
    /// Smallest key of each child's subtree: its score and element id. Kept exact (not a
    /// mere separator), so an id here always names a live element.
    scores: [f64; INNER_CAP],
    ids: [u32; INNER_CAP],
    /// Elements in each child's subtree.
    counts: [u32; INNER_CAP],
    /// Child node indices: leaves when this node is on level 1, else inner nodes.
    children: [u32; INNER_CAP],
}

impl Inner {
    fn empty() -> Self {
        Inner {
            len: 0,
            scores: [0.0; INNER_CAP],
            ids: [NIL; INNER_CAP],
            counts: [0; INNER_CAP],
            children: [NIL; INNER_CAP],
        }
    }

    /// Makes room at `at` and stores one child entry there (the node must not be full).
    fn insert_entry(&mut self, at: usize, child: u32, count: u32, key: (f64, u32)) {
        let len = self.len as usize;
        self.scores.copy_within(at..len, at + 1);
        self.ids.copy_within(at..len, at + 1);
        self.counts.copy_within(at..len, at + 1);
        self.children.copy_within(at..len, at + 1);
        self.scores[at] = key.0;
        self.ids[at] = key.1;
        self.counts[at] = count;
        self.children[at] = child;
        self.len += 1;
    }

    fn remove_entry(&mut self, at: usize) {
        let len = self.len as usize;
        self.scores.copy_within(at + 1..len, at);
        self.ids.copy_within(at + 1..len, at);
        self.counts.copy_within(at + 1..len, at);
        self.children.copy_within(at + 1..len, at);
        self.len -= 1;
    }

    /// Copies entry `from` to entry `to` of the same node.
    fn move_entry(&mut self, to: usize, from: usize) {
        self.scores[to] = self.scores[from];
        self.ids[to] = self.ids[from];
        self.counts[to] = self.counts[from];
        self.children[to] = self.children[from];
    }

    /// Copies entry `from` of `src` to entry `to` of `self`.
    fn copy_entry(&mut self, to: usize, src: &Inner, from: usize) {
        self.scores[to] = src.scores[from];
        self.ids[to] = src.ids[from];
        self.counts[to] = src.counts[from];
        self.children[to] = src.children[from];
    }
}

/// Where a key sits: the inner nodes from the root down with the child taken in each,
/// then the leaf and the entry position in it.
struct Path {
    nodes: [u32; MAX_DEPTH],
    slots: [u32; MAX_DEPTH],
    depth: usize,
    leaf: u32,
    pos: usize,
}

impl Path {
    fn new() -> Self {
        Path {
            nodes: [NIL; MAX_DEPTH],
            slots: [0; MAX_DEPTH],
            depth: 0,
            leaf: NIL,
            pos: 0,
        }
    }
    fn push(&mut self, node: u32, slot: usize) {
        self.nodes[self.depth] = node;
        self.slots[self.depth] = slot as u32;
        self.depth += 1;
    }
}

/// The hash seed of every sorted set's member table, random per process (hash flooding
/// needs a predictable seed). One seed for all sets keeps `ZSet` small.
fn hasher() -> &'static ahash::RandomState {
    static SEED: std::sync::OnceLock<ahash::RandomState> = std::sync::OnceLock::new();
    SEED.get_or_init(ahash::RandomState::new)
}

/// How many of `scores[..len]` are below `t`, and how many not above it. No early exit
/// and no data-dependent branch: every cache line of the node is requested at once
/// instead of one per binary-search step, which is what a search into a cold leaf waits
/// on. Only the (usually empty) run of equal scores needs member comparisons.
#[inline]
fn score_span<const N: usize>(scores: &[f64; N], len: usize, t: f64) -> (usize, usize) {
    let (mut below, mut not_above) = (0usize, 0usize);
    for (i, &s) in scores.iter().enumerate() {
        let live = usize::from(i < len);
        below += usize::from(s < t) & live;
        not_above += usize::from(s <= t) & live;
    }
    (below, not_above)
}

/// The first index in `0..len` where `pred` is false; `pred` must hold for a prefix.
#[inline]
fn partition(len: usize, mut pred: impl FnMut(usize) -> bool) -> usize {
    let (mut lo, mut hi) = (0, len);
    while lo < hi {
        let mid = (lo + hi) / 2;
        if pred(mid) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    lo
}

/// The sorted-set order: score first (NaN never occurs; treated as equal rather than
/// panicking), then member bytes. (The tree uses `ZSet::cmp_entry`, the same order with
/// a shortcut for an element compared with itself.)
#[cfg(test)]
fn compare_keys(a_score: f64, a_member: &[u8], b_score: f64, b_member: &[u8]) -> Ordering {
    a_score
        .partial_cmp(&b_score)
        .unwrap_or(Ordering::Equal)
        .then_with(|| a_member.cmp(b_member))
}

/// Heap bytes charged for one element: its bytes unless inline, its arena slot, its hash table slot
/// (id plus control byte) and its leaf entry at a typical fill of two thirds. Inner nodes
/// add about 1/2000 of that and are not charged. Depends only on the member, so add and
/// subtract always match and equal content reports equal size (e.g. after a reload).
fn element_cost(member_len: usize) -> usize {
    let heap_bytes = if member_len > INLINE_MEMBER {
        member_len
    } else {
        0
    };
    heap_bytes
        + core::mem::size_of::<Elem>()
        + core::mem::size_of::<u32>()
        + 1
        + (core::mem::size_of::<f64>() + core::mem::size_of::<u32>()) * 3 / 2
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
    // `Value` is as big as its biggest variant, which this is, so the free lists are
    // threaded through the free slots and the hash seed is per process.
    /// Element arena; freed ids are reused.
    elems: Vec<Elem>,
    /// Member -> element id, hashed (with `hasher()`) by the member bytes in the arena.
    index: HashTable<u32>,
    leaves: Vec<Leaf>,
    inners: Vec<Inner>,
    /// Heads of the free lists (`NIL`: none). A free element links to the next through
    /// its score's bits, a free leaf through `next`, a free inner node through
    /// `children[0]`.
    free_elem: u32,
    free_leaf: u32,
    free_inner: u32,
    /// The root: a leaf when `height` is 0, else an inner node; `NIL` when empty.
    root: u32,
    /// Inner levels above the leaves.
    height: usize,
    /// Elements in the tree.
    length: usize,
    bytes: usize,
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
        ZSet {
            elems: Vec::new(),
            index: HashTable::new(),
            leaves: Vec::new(),
            inners: Vec::new(),
            free_elem: NIL,
            free_leaf: NIL,
            free_inner: NIL,
            root: NIL,
            height: 0,
            length: 0,
            bytes: 0,
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
        self.find(member).map(|id| self.elems[id as usize].score)
    }

    /// Inserts `member` or updates its score; returns the previous score (`None` if new).
    /// `score` must not be NaN.
    pub fn insert(&mut self, member: &[u8], score: f64) -> Option<f64> {
        debug_assert!(!score.is_nan(), "sorted set scores are never NaN");
        let hash = hasher().hash_one(member);
        if let Some(id) = self.find_hashed(hash, member) {
            let old = self.elems[id as usize].score;
            self.set_score(id, score);
            return Some(old);
        }
        self.insert_new(hash, member.into(), score);
        None
    }

    pub fn remove(&mut self, member: &[u8]) -> Option<f64> {
        let hash = hasher().hash_one(member);
        let elems = &self.elems;
        let entry = self
            .index
            .find_entry(hash, |&i| *elems[i as usize].member == *member)
            .ok()?;
        let (id, _) = entry.remove();
        let path = self.locate_elem(id);
        self.remove_at(&path);
        let (_, score) = self.release(id);
        Some(score)
    }

    /// 0-based rank in ascending order, O(log n).
    pub fn rank(&self, member: &[u8]) -> Option<usize> {
        let id = self.find(member)?;
        let score = self.elems[id as usize].score;
        Some(self.count_while(|s, i| self.cmp_entry(s, i, score, member, id) == Ordering::Less))
    }

    /// 0-based rank in descending order (ZREVRANK), O(log n).
    pub fn rev_rank(&self, member: &[u8]) -> Option<usize> {
        self.rank(member).map(|r| self.length - 1 - r)
    }

    /// The element at ascending rank `rank`, O(log n).
    pub fn by_rank(&self, rank: usize) -> Option<(&[u8], f64)> {
        if rank >= self.length {
            return None;
        }
        let path = self.path_at_rank(rank);
        let leaf = &self.leaves[path.leaf as usize];
        let id = leaf.ids[path.pos];
        Some((&self.elems[id as usize].member, leaf.scores[path.pos]))
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
        self.iter_at(start, self.length.saturating_sub(start), true)
    }

    /// Descending iteration starting `start_from_top` elements below the highest one
    /// (ZREVRANGE ranks); lazy, O(log n) to start and O(1) per element.
    pub fn iter_rev_from_rank(&self, start_from_top: usize) -> ZSetIter<'_> {
        let remaining = self.length.saturating_sub(start_from_top);
        self.iter_at(remaining.wrapping_sub(1), remaining, false)
    }

    /// Where a score bound falls, in ascending ranks, O(log n): for `RangeEnd::Min` the
    /// rank of the first element `>=` (inclusive) or `>` (exclusive) the score; for
    /// `RangeEnd::Max` one past the last element `<=` / `<` the score.
    pub fn rank_of_score_bound(&self, bound: ScoreBound, end: RangeEnd) -> usize {
        match (end, bound) {
            (RangeEnd::Min, ScoreBound::Inclusive(x)) => self.count_while(|s, _| s < x),
            (RangeEnd::Min, ScoreBound::Exclusive(x)) => self.count_while(|s, _| s <= x),
            (RangeEnd::Max, ScoreBound::Inclusive(x)) => self.count_while(|s, _| s <= x),
            (RangeEnd::Max, ScoreBound::Exclusive(x)) => self.count_while(|s, _| s < x),
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
        let m = |i: u32| &*self.elems[i as usize].member;
        match (end, bound) {
            (RangeEnd::Min, LexBound::NegInf) | (RangeEnd::Max, LexBound::NegInf) => 0,
            (RangeEnd::Min, LexBound::PosInf) | (RangeEnd::Max, LexBound::PosInf) => self.length,
            (RangeEnd::Min, LexBound::Inclusive(x)) => self.count_while(|_, i| m(i) < x),
            (RangeEnd::Min, LexBound::Exclusive(x)) => self.count_while(|_, i| m(i) <= x),
            (RangeEnd::Max, LexBound::Inclusive(x)) => self.count_while(|_, i| m(i) <= x),
            (RangeEnd::Max, LexBound::Exclusive(x)) => self.count_while(|_, i| m(i) < x),
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
        self.pop_rank(0)
    }

    /// Removes and returns the highest element.
    pub fn pop_max(&mut self) -> Option<(Vec<u8>, f64)> {
        self.pop_rank(self.length.wrapping_sub(1))
    }

    /// Removes the elements with ascending ranks `start..=end_inclusive` (clamped to the
    /// set); returns how many were removed. O(log n + k): subtrees wholly inside the range
    /// are freed without searching, and only the nodes along the range's two edges are
    /// trimmed and rebalanced.
    pub fn remove_rank_range(&mut self, start: usize, end_inclusive: usize) -> usize {
        if start >= self.length || start > end_inclusive {
            return 0;
        }
        let end = end_inclusive.min(self.length - 1) + 1;
        let count = end - start;
        if count == self.length {
            let ids: Vec<u32> = self.iter_ids().collect();
            for id in ids {
                self.forget(id);
                self.release(id);
            }
            self.length = 0;
            self.clear_tree();
            return count;
        }
        self.delete_range(self.root, self.height, start, end);
        self.length -= count;
        self.shrink_root();
        count
    }

    // ---- internals: hash table and element arena ----

    fn find(&self, member: &[u8]) -> Option<u32> {
        self.find_hashed(hasher().hash_one(member), member)
    }

    fn find_hashed(&self, hash: u64, member: &[u8]) -> Option<u32> {
        let elems = &self.elems;
        self.index
            .find(hash, |&i| *elems[i as usize].member == *member)
            .copied()
    }

    fn insert_new(&mut self, hash: u64, member: Member, score: f64) {
        let member_len = member.len();
        let elem = Elem { member, score };
        let id = match self.free_elem {
            NIL => {
                let slot = u32::try_from(self.elems.len())
                    .ok()
                    .filter(|&s| s != NIL)
                    .expect("sorted set arena exceeds u32 ids");
                self.elems.push(elem);
                slot
            }
            slot => {
                self.free_elem = self.elems[slot as usize].score.to_bits() as u32;
                self.elems[slot as usize] = elem;
                slot
            }
        };
        let elems = &self.elems;
        let hasher = hasher();
        self.index
            .insert_unique(hash, id, |&i| hasher.hash_one(&*elems[i as usize].member));
        if self.root == NIL {
            self.new_root_leaf();
        }
        let path = self.locate(score, &self.elems[id as usize].member, id);
        self.insert_at(&path, score, id);
        self.bytes += element_cost(member_len);
        if self.length > LISTPACK_MAX_ENTRIES || member_len > LISTPACK_MAX_VALUE {
            self.large = true;
        }
    }

    /// Drops element `id` from the hash table.
    fn forget(&mut self, id: u32) {
        let hash = hasher().hash_one(&*self.elems[id as usize].member);
        if let Ok(entry) = self.index.find_entry(hash, |&i| i == id) {
            entry.remove();
        }
    }

    /// Frees a forgotten element's slot (it must be out of the tree) and returns it.
    fn release(&mut self, id: u32) -> (Member, f64) {
        let e = &mut self.elems[id as usize];
        let member = core::mem::take(&mut e.member);
        let score = e.score;
        self.bytes -= element_cost(member.len());
        if self.index.is_empty() {
            // Give the arena back rather than keep a free list nobody will use soon.
            self.elems = Vec::new();
            self.free_elem = NIL;
        } else {
            e.score = f64::from_bits(u64::from(self.free_elem));
            self.free_elem = id;
        }
        (member, score)
    }

    fn pop_rank(&mut self, rank: usize) -> Option<(Vec<u8>, f64)> {
        if rank >= self.length {
            return None;
        }
        let path = self.path_at_rank(rank);
        let id = self.leaves[path.leaf as usize].ids[path.pos];
        self.forget(id);
        self.remove_at(&path);
        let (member, score) = self.release(id);
        Some((member.into_vec(), score))
    }

    fn set_score(&mut self, id: u32, score: f64) {
        let old = self.elems[id as usize].score;
        if old == score {
            return;
        }
        let path = self.locate_elem(id);
        if self.fits_at(&path, score, id) {
            // The element keeps its place (common for small changes): no restructuring,
            // only the copies of its score in the leaf and in the keys naming it.
            self.leaves[path.leaf as usize].scores[path.pos] = score;
            for level in 0..path.depth {
                let n = &mut self.inners[path.nodes[level] as usize];
                let slot = path.slots[level] as usize;
                if n.ids[slot] == id {
                    n.scores[slot] = score;
                }
            }
            self.elems[id as usize].score = score;
            return;
        }
        self.remove_at(&path);
        self.elems[id as usize].score = score;
        if self.root == NIL {
            self.new_root_leaf();
        }
        let path = self.locate(score, &self.elems[id as usize].member, id);
        self.insert_at(&path, score, id);
    }

    /// Whether element `id` at `path` would still be in order with `score`.
    fn fits_at(&self, path: &Path, score: f64, id: u32) -> bool {
        let member = &*self.elems[id as usize].member;
        let leaf = &self.leaves[path.leaf as usize];
        let prev = if path.pos > 0 {
            Some((leaf.scores[path.pos - 1], leaf.ids[path.pos - 1]))
        } else if leaf.prev != NIL {
            let p = &self.leaves[leaf.prev as usize];
            let last = p.len as usize - 1;
            Some((p.scores[last], p.ids[last]))
        } else {
            None
        };
        let next = if path.pos + 1 < leaf.len as usize {
            Some((leaf.scores[path.pos + 1], leaf.ids[path.pos + 1]))
        } else if leaf.next != NIL {
            let n = &self.leaves[leaf.next as usize];
            Some((n.scores[0], n.ids[0]))
        } else {
            None
        };
        prev.is_none_or(|(s, i)| self.cmp_entry(s, i, score, member, id) == Ordering::Less)
            && next
                .is_none_or(|(s, i)| self.cmp_entry(s, i, score, member, id) == Ordering::Greater)
    }

    // ---- internals: searching ----

    /// Orders the entry (`score`, element `id`) against the key (`t_score`, `t_member`)
    /// of element `t_id`; member bytes are read only on a score tie.
    #[inline]
    fn cmp_entry(&self, score: f64, id: u32, t_score: f64, t_member: &[u8], t_id: u32) -> Ordering {
        match score.partial_cmp(&t_score) {
            Some(Ordering::Less) => Ordering::Less,
            Some(Ordering::Greater) => Ordering::Greater,
            _ if id == t_id => Ordering::Equal,
            _ => (*self.elems[id as usize].member).cmp(t_member),
        }
    }

    /// Path to the first entry not below the key (`score`, `member`) of element `id`
    /// (which need not be in the tree). The set must have a root.
    fn locate(&self, score: f64, member: &[u8], id: u32) -> Path {
        let mut path = Path::new();
        let mut node = self.root;
        for _ in 0..self.height {
            let n = &self.inners[node as usize];
            // The last child whose smallest key is not above the key.
            let (below, not_above) = score_span(&n.scores, n.len as usize, score);
            let k = below
                + partition(not_above - below, |j| {
                    let i = below + j;
                    self.cmp_entry(n.scores[i], n.ids[i], score, member, id) != Ordering::Greater
                });
            let slot = k.saturating_sub(1);
            path.push(node, slot);
            node = n.children[slot];
        }
        let leaf = &self.leaves[node as usize];
        path.leaf = node;
        let (below, not_above) = score_span(&leaf.scores, leaf.len as usize, score);
        path.pos = below
            + partition(not_above - below, |j| {
                let i = below + j;
                self.cmp_entry(leaf.scores[i], leaf.ids[i], score, member, id) == Ordering::Less
            });
        path
    }

    /// Path to element `id`, which is in the tree.
    fn locate_elem(&self, id: u32) -> Path {
        let e = &self.elems[id as usize];
        self.locate(e.score, &e.member, id)
    }

    /// Path to the entry at ascending `rank < len`.
    fn path_at_rank(&self, mut rank: usize) -> Path {
        let mut path = Path::new();
        let mut node = self.root;
        for _ in 0..self.height {
            let n = &self.inners[node as usize];
            let mut slot = 0;
            while slot + 1 < n.len as usize && rank >= n.counts[slot] as usize {
                rank -= n.counts[slot] as usize;
                slot += 1;
            }
            path.push(node, slot);
            node = n.children[slot];
        }
        path.leaf = node;
        path.pos = rank;
        path
    }

    /// How many leading elements (ascending) satisfy `pred(score, id)`, which must hold
    /// for a prefix of the order for the answer to mean anything; O(log n) either way,
    /// never panics.
    fn count_while(&self, mut pred: impl FnMut(f64, u32) -> bool) -> usize {
        if self.root == NIL {
            return 0;
        }
        let mut node = self.root;
        let mut before = 0usize;
        for _ in 0..self.height {
            let n = &self.inners[node as usize];
            let k = partition(n.len as usize, |i| pred(n.scores[i], n.ids[i]));
            if k == 0 {
                // Not even this subtree's smallest element qualifies.
                return before;
            }
            before += n.counts[..k - 1].iter().map(|&c| c as usize).sum::<usize>();
            node = n.children[k - 1];
        }
        let leaf = &self.leaves[node as usize];
        before + partition(leaf.len as usize, |i| pred(leaf.scores[i], leaf.ids[i]))
    }

    fn iter_at(&self, rank: usize, remaining: usize, forward: bool) -> ZSetIter<'_> {
        let (leaf, pos) = if remaining == 0 {
            (NIL, 0)
        } else {
            let path = self.path_at_rank(rank);
            (path.leaf, path.pos)
        };
        ZSetIter {
            elems: &self.elems,
            leaves: &self.leaves,
            leaf,
            pos,
            remaining,
            forward,
        }
    }

    /// Ids in ascending order.
    fn iter_ids(&self) -> impl Iterator<Item = u32> + '_ {
        let it = self.iter();
        let leaves = &self.leaves;
        let (mut leaf, mut pos) = (it.leaf, 0usize);
        (0..self.length).map(move |_| {
            let l = &leaves[leaf as usize];
            let id = l.ids[pos];
            pos += 1;
            if pos == l.len as usize {
                leaf = l.next;
                pos = 0;
            }
            id
        })
    }

    // ---- internals: node arenas ----

    fn alloc_leaf(&mut self) -> u32 {
        match self.free_leaf {
            NIL => {
                self.leaves.push(Leaf::empty());
                (self.leaves.len() - 1) as u32
            }
            i => {
                let l = &mut self.leaves[i as usize];
                self.free_leaf = l.next;
                l.len = 0;
                l.prev = NIL;
                l.next = NIL;
                i
            }
        }
    }

    /// Unlinks leaf `i` from the chain and frees its slot.
    fn free_leaf(&mut self, i: u32) {
        let (prev, next) = {
            let l = &mut self.leaves[i as usize];
            l.len = 0;
            (l.prev, l.next)
        };
        if prev != NIL {
            self.leaves[prev as usize].next = next;
        }
        if next != NIL {
            self.leaves[next as usize].prev = prev;
        }
        self.leaves[i as usize].next = self.free_leaf;
        self.free_leaf = i;
    }

    fn alloc_inner(&mut self) -> u32 {
        match self.free_inner {
            NIL => {
                self.inners.push(Inner::empty());
                (self.inners.len() - 1) as u32
            }
            i => {
                let n = &mut self.inners[i as usize];
                self.free_inner = n.children[0];
                n.len = 0;
                i
            }
        }
    }

    fn free_inner(&mut self, i: u32) {
        let n = &mut self.inners[i as usize];
        n.len = 0;
        n.children[0] = self.free_inner;
        self.free_inner = i;
    }

    fn new_root_leaf(&mut self) {
        self.root = self.alloc_leaf();
        self.height = 0;
    }

    /// Drops every node (the elements are already gone).
    fn clear_tree(&mut self) {
        self.leaves = Vec::new();
        self.free_leaf = NIL;
        self.inners = Vec::new();
        self.free_inner = NIL;
        self.root = NIL;
        self.height = 0;
    }

    /// Number of entries of node `node` on level `h` (0 = leaf).
    fn node_len(&self, node: u32, h: usize) -> usize {
        if h == 0 {
            self.leaves[node as usize].len as usize
        } else {
            self.inners[node as usize].len as usize
        }
    }

    fn min_fill(h: usize) -> usize {
        if h == 0 {
            LEAF_MIN
        } else {
            INNER_MIN
        }
    }

    /// Smallest key of the non-empty node `node` on level `h`.
    fn min_key(&self, node: u32, h: usize) -> (f64, u32) {
        if h == 0 {
            let l = &self.leaves[node as usize];
            (l.scores[0], l.ids[0])
        } else {
            let n = &self.inners[node as usize];
            (n.scores[0], n.ids[0])
        }
    }

    /// Sets child `slot` of inner node `p` (on level `h`) to its child's smallest key.
    fn refresh_key(&mut self, p: u32, slot: usize, h: usize) {
        let child = self.inners[p as usize].children[slot];
        let (s, i) = self.min_key(child, h - 1);
        let n = &mut self.inners[p as usize];
        n.scores[slot] = s;
        n.ids[slot] = i;
    }

    // ---- internals: insertion ----

    /// Inserts (`score`, `id`) at `path` (from `locate` for that key), splitting full
    /// nodes on the way up.
    fn insert_at(&mut self, path: &Path, score: f64, id: u32) {
        self.length += 1;
        // A node split off to the right of the one just changed, with its element count.
        let mut split = self.leaf_insert(path.leaf, path.pos, score, id);
        let mut child = path.leaf;
        for level in (0..path.depth).rev() {
            let p = path.nodes[level];
            let slot = path.slots[level] as usize;
            let h = self.height - level;
            self.inners[p as usize].counts[slot] += 1;
            self.refresh_key(p, slot, h);
            if let Some((right, count)) = split {
                self.inners[p as usize].counts[slot] -= count;
                let key = self.min_key(right, h - 1);
                split = self.inner_insert(p, slot + 1, right, count, key);
            }
            child = p;
        }
        if let Some((right, count)) = split {
            // The root split: a new root above the two halves.
            let h = self.height;
            let left_key = self.min_key(child, h);
            let right_key = self.min_key(right, h);
            let root = self.alloc_inner();
            let n = &mut self.inners[root as usize];
            n.insert_entry(0, child, (self.length - count as usize) as u32, left_key);
            n.insert_entry(1, right, count, right_key);
            self.root = root;
            self.height += 1;
        }
    }

    /// Puts an entry at `pos` of `leaf`; a full leaf first splits in halves. Returns the
    /// new right half and its length.
    fn leaf_insert(&mut self, leaf: u32, pos: usize, score: f64, id: u32) -> Option<(u32, u32)> {
        let put = |l: &mut Leaf, pos: usize| {
            let len = l.len as usize;
            l.scores.copy_within(pos..len, pos + 1);
            l.ids.copy_within(pos..len, pos + 1);
            l.scores[pos] = score;
            l.ids[pos] = id;
            l.len += 1;
        };
        if (self.leaves[leaf as usize].len as usize) < LEAF_CAP {
            put(&mut self.leaves[leaf as usize], pos);
            return None;
        }
        let right = self.alloc_leaf();
        let half = LEAF_CAP / 2;
        let (old_next, moved) = {
            let l = &mut self.leaves[leaf as usize];
            l.len = half as u32;
            let next = l.next;
            l.next = right;
            (next, (l.scores, l.ids))
        };
        {
            let r = &mut self.leaves[right as usize];
            r.scores[..LEAF_CAP - half].copy_from_slice(&moved.0[half..]);
            r.ids[..LEAF_CAP - half].copy_from_slice(&moved.1[half..]);
            r.len = (LEAF_CAP - half) as u32;
            r.prev = leaf;
            r.next = old_next;
        }
        if old_next != NIL {
            self.leaves[old_next as usize].prev = right;
        }
        if pos <= half {
            put(&mut self.leaves[leaf as usize], pos);
        } else {
            put(&mut self.leaves[right as usize], pos - half);
        }
        let count = self.leaves[right as usize].len;
        Some((right, count))
    }

    /// Puts a child entry at `at` of inner node `p`; a full node first splits in halves.
    /// Returns the new right half and its element count.
    fn inner_insert(
        &mut self,
        p: u32,
        at: usize,
        child: u32,
        count: u32,
        key: (f64, u32),
    ) -> Option<(u32, u32)> {
        if (self.inners[p as usize].len as usize) < INNER_CAP {
            self.inners[p as usize].insert_entry(at, child, count, key);
            return None;
        }
        let right = self.alloc_inner();
        let half = INNER_CAP / 2;
        let src = self.inners[p as usize].clone();
        {
            let r = &mut self.inners[right as usize];
            for j in half..INNER_CAP {
                r.copy_entry(j - half, &src, j);
            }
            r.len = (INNER_CAP - half) as u32;
        }
        self.inners[p as usize].len = half as u32;
        if at <= half {
            self.inners[p as usize].insert_entry(at, child, count, key);
        } else {
            self.inners[right as usize].insert_entry(at - half, child, count, key);
        }
        let r = &self.inners[right as usize];
        let total = r.counts[..r.len as usize].iter().sum();
        Some((right, total))
    }

    // ---- internals: removal ----

    /// Removes the entry at `path` (the element stays in the arena and hash table),
    /// rebalancing underfull nodes on the way up.
    fn remove_at(&mut self, path: &Path) {
        self.length -= 1;
        {
            let l = &mut self.leaves[path.leaf as usize];
            let len = l.len as usize;
            l.scores.copy_within(path.pos + 1..len, path.pos);
            l.ids.copy_within(path.pos + 1..len, path.pos);
            l.len -= 1;
        }
        let mut child = path.leaf;
        for level in (0..path.depth).rev() {
            let p = path.nodes[level];
            let slot = path.slots[level] as usize;
            let h = self.height - level;
            self.inners[p as usize].counts[slot] -= 1;
            let len = self.node_len(child, h - 1);
            if len > 0 {
                self.refresh_key(p, slot, h);
            }
            if len < Self::min_fill(h - 1) {
                self.fix_child(p, slot, h);
            }
            child = p;
        }
        self.shrink_root();
    }

    /// Replaces a root with one child by that child, and an empty set's tree by nothing.
    fn shrink_root(&mut self) {
        while self.height > 0 && self.inners[self.root as usize].len == 1 {
            let only = self.inners[self.root as usize].children[0];
            self.free_inner(self.root);
            self.root = only;
            self.height -= 1;
        }
        if self.length == 0 {
            self.clear_tree();
        }
    }

    /// Child `i` of inner node `p` (on level `h`) is underfull: merges it with a
    /// neighbour if both fit in one node, else evens the two out. A range removal can
    /// leave underfull nodes below it too (on the cut edges); those are fixed after.
    fn fix_child(&mut self, p: u32, i: usize, h: usize) {
        let len = self.inners[p as usize].len as usize;
        if len < 2 {
            return;
        }
        let (l, r) = if i + 1 < len { (i, i + 1) } else { (i - 1, i) };
        let (ln, rn) = {
            let n = &self.inners[p as usize];
            (n.children[l], n.children[r])
        };
        let merged = if h == 1 {
            self.balance_leaves(ln, rn)
        } else {
            self.balance_inners(ln, rn)
        };
        match merged {
            None => {
                let n = &mut self.inners[p as usize];
                n.counts[l] += n.counts[r];
                n.remove_entry(r);
            }
            Some(moved) => {
                // `moved` elements went from left to right (negative: right to left).
                let n = &mut self.inners[p as usize];
                n.counts[l] = (n.counts[l] as i64 - moved) as u32;
                n.counts[r] = (n.counts[r] as i64 + moved) as u32;
            }
        }
        if h >= 2 {
            self.fix_all_children(ln, h - 1);
            if merged.is_some() {
                self.fix_all_children(rn, h - 1);
            }
        }
        self.refresh_key(p, l, h);
        if merged.is_some() {
            self.refresh_key(p, r, h);
        }
    }

    /// Fixes every underfull child of inner node `p` on level `h`.
    fn fix_all_children(&mut self, p: u32, h: usize) {
        loop {
            let n = &self.inners[p as usize];
            let len = n.len as usize;
            if len < 2 {
                return;
            }
            let min = Self::min_fill(h - 1);
            let Some(i) = (0..len).find(|&i| self.node_len(n.children[i], h - 1) < min) else {
                return;
            };
            self.fix_child(p, i, h);
        }
    }

    /// Merges leaf `r` into its left neighbour `l` when they fit (returns `None`), else
    /// moves entries so both are half full and returns how many went from `l` to `r`
    /// (negative when they went the other way).
    fn balance_leaves(&mut self, l: u32, r: u32) -> Option<i64> {
        let (a, b) = (
            self.leaves[l as usize].len as usize,
            self.leaves[r as usize].len as usize,
        );
        let right = self.leaves[r as usize].clone();
        let left = &mut self.leaves[l as usize];
        if a + b <= LEAF_CAP {
            left.scores[a..a + b].copy_from_slice(&right.scores[..b]);
            left.ids[a..a + b].copy_from_slice(&right.ids[..b]);
            left.len = (a + b) as u32;
            self.free_leaf(r);
            return None;
        }
        let target = (a + b) / 2;
        let mut new_right = right;
        if a > target {
            let k = a - target;
            new_right.scores.copy_within(..b, k);
            new_right.ids.copy_within(..b, k);
            new_right.scores[..k].copy_from_slice(&left.scores[target..a]);
            new_right.ids[..k].copy_from_slice(&left.ids[target..a]);
            left.len = target as u32;
            new_right.len = (b + k) as u32;
            self.leaves[r as usize] = new_right;
            Some(k as i64)
        } else {
            let k = target - a;
            left.scores[a..target].copy_from_slice(&new_right.scores[..k]);
            left.ids[a..target].copy_from_slice(&new_right.ids[..k]);
            left.len = target as u32;
            new_right.scores.copy_within(k..b, 0);
            new_right.ids.copy_within(k..b, 0);
            new_right.len = (b - k) as u32;
            self.leaves[r as usize] = new_right;
            Some(-(k as i64))
        }
    }

    /// `balance_leaves` for inner nodes; the count returned is of elements, not children.
    fn balance_inners(&mut self, l: u32, r: u32) -> Option<i64> {
        let (a, b) = (
            self.inners[l as usize].len as usize,
            self.inners[r as usize].len as usize,
        );
        let right = self.inners[r as usize].clone();
        if a + b <= INNER_CAP {
            let left = &mut self.inners[l as usize];
            for j in 0..b {
                left.copy_entry(a + j, &right, j);
            }
            left.len = (a + b) as u32;
            self.free_inner(r);
            return None;
        }
        let target = (a + b) / 2;
        let left = self.inners[l as usize].clone();
        let (mut nl, mut nr) = (Inner::empty(), Inner::empty());
        // Lay the a + b entries out again: the first `target` left, the rest right.
        for j in 0..a + b {
            let (src, from) = if j < a { (&left, j) } else { (&right, j - a) };
            if j < target {
                nl.copy_entry(j, src, from);
            } else {
                nr.copy_entry(j - target, src, from);
            }
        }
        nl.len = target as u32;
        nr.len = (a + b - target) as u32;
        let sum = |n: &Inner| {
            n.counts[..n.len as usize]
                .iter()
                .map(|&c| c as i64)
                .sum::<i64>()
        };
        let moved = sum(&left) - sum(&nl);
        self.inners[l as usize] = nl;
        self.inners[r as usize] = nr;
        Some(moved)
    }

    /// Removes ascending ranks `lo..hi` (within the subtree) of node `node` on level `h`,
    /// which keeps at least one element; the caller adjusts its count and key.
    fn delete_range(&mut self, node: u32, h: usize, lo: usize, hi: usize) {
        if h == 0 {
            let ids = self.leaves[node as usize].ids;
            for &id in &ids[lo..hi] {
                self.forget(id);
                self.release(id);
            }
            let l = &mut self.leaves[node as usize];
            let len = l.len as usize;
            l.scores.copy_within(hi..len, lo);
            l.ids.copy_within(hi..len, lo);
            l.len -= (hi - lo) as u32;
            return;
        }
        let len = self.inners[node as usize].len as usize;
        let mut kept = 0;
        let mut offset = 0;
        for j in 0..len {
            let (child, count) = {
                let n = &self.inners[node as usize];
                (n.children[j], n.counts[j] as usize)
            };
            let (s, e) = (lo.max(offset), hi.min(offset + count));
            offset += count;
            if s < e && e - s == count {
                self.free_subtree(child, h - 1);
                continue;
            }
            if s < e {
                self.delete_range(child, h - 1, s - (offset - count), e - (offset - count));
                self.inners[node as usize].counts[j] -= (e - s) as u32;
                self.refresh_key(node, j, h);
            }
            self.inners[node as usize].move_entry(kept, j);
            kept += 1;
        }
        self.inners[node as usize].len = kept as u32;
        self.fix_all_children(node, h);
    }

    /// Frees node `node` on level `h` and everything under it, elements included.
    fn free_subtree(&mut self, node: u32, h: usize) {
        if h == 0 {
            let (ids, len) = {
                let l = &self.leaves[node as usize];
                (l.ids, l.len as usize)
            };
            for &id in &ids[..len] {
                self.forget(id);
                self.release(id);
            }
            self.free_leaf(node);
            return;
        }
        let n = self.inners[node as usize].clone();
        for &child in &n.children[..n.len as usize] {
            self.free_subtree(child, h - 1);
        }
        self.free_inner(node);
    }

    /// Checks every structural invariant; panics with a description on the first breach.
    #[cfg(test)]
    fn check_invariants(&self) {
        assert_eq!(self.index.len(), self.length, "hash table size");
        let chain = |mut at: u32, link: &dyn Fn(u32) -> u32| {
            let mut n = 0;
            while at != NIL {
                n += 1;
                at = link(at);
            }
            n
        };
        let free_elems = chain(self.free_elem, &|i| {
            assert!(
                self.elems[i as usize].member.is_empty(),
                "live element on free list"
            );
            self.elems[i as usize].score.to_bits() as u32
        });
        assert_eq!(self.elems.len() - free_elems, self.length, "arena size");
        let free_leaves = chain(self.free_leaf, &|i| self.leaves[i as usize].next);
        let free_inners = chain(self.free_inner, &|i| self.inners[i as usize].children[0]);
        if self.length == 0 {
            assert_eq!(self.root, NIL, "empty set keeps nodes");
            assert!(self.leaves.is_empty() && self.inners.is_empty());
            assert_eq!(self.bytes, 0, "byte count");
            return;
        }
        let mut order = Vec::new();
        let mut leaf_chain = Vec::new();
        let total = self.check_node(self.root, self.height, true, &mut order, &mut leaf_chain);
        assert_eq!(total, self.length, "length");
        assert_eq!(order.len(), self.length);
        // Leaf links walk the same leaves, both ways.
        for (k, &leaf) in leaf_chain.iter().enumerate() {
            let l = &self.leaves[leaf as usize];
            let prev = if k == 0 { NIL } else { leaf_chain[k - 1] };
            let next = leaf_chain.get(k + 1).copied().unwrap_or(NIL);
            assert_eq!(l.prev, prev, "leaf prev link");
            assert_eq!(l.next, next, "leaf next link");
        }
        assert_eq!(
            leaf_chain.len() + free_leaves,
            self.leaves.len(),
            "leaf arena"
        );
        let live_inners = self.count_inners(self.root, self.height);
        assert_eq!(live_inners + free_inners, self.inners.len(), "inner arena");
        // Strictly ascending; every entry's score matches its element; hash agrees.
        for w in order.windows(2) {
            let (a, b) = (w[0], w[1]);
            let (ea, eb) = (&self.elems[a.1 as usize], &self.elems[b.1 as usize]);
            assert_eq!(
                compare_keys(a.0, &ea.member, b.0, &eb.member),
                Ordering::Less,
                "order"
            );
        }
        for &(score, id) in &order {
            let e = &self.elems[id as usize];
            assert_eq!(e.score.to_bits(), score.to_bits(), "leaf score copy");
            assert_eq!(self.find(&e.member), Some(id), "hash table entry");
        }
        let bytes: usize = order
            .iter()
            .map(|&(_, id)| element_cost(self.elems[id as usize].member.len()))
            .sum();
        assert_eq!(bytes, self.bytes, "byte count");
        // Each element appears once.
        let mut ids: Vec<u32> = order.iter().map(|e| e.1).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), self.length, "duplicate entries");
    }

    #[cfg(test)]
    fn count_inners(&self, node: u32, h: usize) -> usize {
        if h == 0 {
            return 0;
        }
        let n = &self.inners[node as usize];
        1 + n.children[..n.len as usize]
            .iter()
            .map(|&c| self.count_inners(c, h - 1))
            .sum::<usize>()
    }

    /// Checks the subtree at `node` (level `h`), appending its entries and leaves in
    /// order; returns its element count.
    #[cfg(test)]
    fn check_node(
        &self,
        node: u32,
        h: usize,
        is_root: bool,
        order: &mut Vec<(f64, u32)>,
        leaf_chain: &mut Vec<u32>,
    ) -> usize {
        let len = self.node_len(node, h);
        let cap = if h == 0 { LEAF_CAP } else { INNER_CAP };
        assert!(len <= cap, "overfull node");
        if is_root {
            assert!(len >= if h == 0 { 1 } else { 2 }, "thin root");
        } else {
            assert!(len >= Self::min_fill(h), "underfull node on level {h}");
        }
        if h == 0 {
            let l = &self.leaves[node as usize];
            order.extend((0..len).map(|i| (l.scores[i], l.ids[i])));
            leaf_chain.push(node);
            return len;
        }
        let n = &self.inners[node as usize];
        let mut total = 0;
        for j in 0..len {
            let first = order.len();
            let count = self.check_node(n.children[j], h - 1, false, order, leaf_chain);
            assert_eq!(n.counts[j] as usize, count, "count on level {h}");
            let (s, id) = order[first];
            assert_eq!(n.ids[j], id, "key id on level {h}");
            assert_eq!(n.scores[j].to_bits(), s.to_bits(), "key score on level {h}");
            total += count;
        }
        total
    }
}

/// Lazy walk along the leaf chain, either direction.
#[derive(Clone)]
pub struct ZSetIter<'a> {
    elems: &'a [Elem],
    leaves: &'a [Leaf],
    leaf: u32,
    pos: usize,
    remaining: usize,
    forward: bool,
}

impl fmt::Debug for ZSetIter<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ZSetIter")
            .field("leaf", &self.leaf)
            .field("pos", &self.pos)
            .field("remaining", &self.remaining)
            .field("forward", &self.forward)
            .finish()
    }
}

impl<'a> Iterator for ZSetIter<'a> {
    type Item = (&'a [u8], f64);

    fn next(&mut self) -> Option<Self::Item> {
        if self.remaining == 0 {
            return None;
        }
        let leaves: &'a [Leaf] = self.leaves;
        let l = &leaves[self.leaf as usize];
        let (id, score) = (l.ids[self.pos], l.scores[self.pos]);
        self.remaining -= 1;
        if self.forward {
            self.pos += 1;
            if self.pos == l.len as usize {
                self.leaf = l.next;
                self.pos = 0;
            }
        } else if self.pos > 0 {
            self.pos -= 1;
        } else {
            self.leaf = l.prev;
            if l.prev != NIL {
                self.pos = leaves[l.prev as usize].len as usize - 1;
            }
        }
        let elems: &'a [Elem] = self.elems;
        Some((&elems[id as usize].member, score))
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
            let hash = hasher().hash_one(&member[..]);
            if set.find_hashed(hash, &member).is_some() {
                return Err(DecodeError::Other("duplicate sorted set member"));
            }
            set.insert_new(hash, Member::from(&member[..]), score);
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
            let at = self
                .0
                .partition_point(|e| compare_keys(e.1, &e.0, s, m) == Ordering::Less);
            self.0.insert(at, (m.to_vec(), s));
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

    /// Every fifth member is too long to be stored inline.
    fn member(rng: &mut Rng, pool: usize) -> Vec<u8> {
        let n = rng.below(pool);
        if n.is_multiple_of(5) {
            format!("m{n}-long-enough-for-the-heap").into_bytes()
        } else {
            format!("m{n}").into_bytes()
        }
    }

    #[test]
    fn members_inline_and_on_the_heap() {
        assert!(core::mem::size_of::<Member>() <= 24);
        for len in [
            0,
            1,
            INLINE_MEMBER - 1,
            INLINE_MEMBER,
            INLINE_MEMBER + 1,
            300,
        ] {
            let bytes: Vec<u8> = (0..len).map(|i| i as u8).collect();
            let m = Member::from(&bytes[..]);
            assert_eq!(matches!(m, Member::Inline(..)), len <= INLINE_MEMBER);
            assert_eq!(&*m, &bytes[..]);
            assert_eq!(m.into_vec(), bytes);
        }
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

    /// `prefill` members go in first (to test big sets); `big_ranges` makes some rank
    /// range removals span many leaves and inner nodes.
    fn run_random_ops(
        seed: u64,
        ops: usize,
        pool: usize,
        same_score: bool,
        prefill: usize,
        big_ranges: bool,
    ) {
        let mut rng = Rng(seed);
        let mut set = ZSet::new();
        let mut model = Model::default();
        for i in 0..prefill {
            let m = format!("m{i}").into_bytes();
            let score = if same_score {
                0.0
            } else {
                random_score(&mut rng)
            };
            assert_eq!(set.insert(&m, score), model.insert(&m, score));
        }
        if prefill > 0 {
            assert!(
                prefill < 10_000 || set.height >= 2,
                "big sets get inner levels"
            );
            set.check_invariants();
            assert_eq!(collect(set.iter()), model.0, "after prefill");
        }
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
                    let span = if big_ranges && rng.below(10) == 0 {
                        rng.below(len / 3 + 1)
                    } else {
                        rng.below(4)
                    };
                    let end = start + span;
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
        run_random_ops(0x1234_5678_9abc_def1, 6000, 300, false, 0, false);
        run_random_ops(42, 4000, 20, false, 0, false);
        run_random_ops(7, 3000, 2000, false, 0, false);
        run_random_ops(8, 20_000, 5000, false, 0, true);
        for seed in 100..120 {
            run_random_ops(seed, 3000, 1500, false, 1200, true);
        }
    }

    #[test]
    fn random_ops_match_model_equal_scores_lex() {
        run_random_ops(99, 4000, 200, true, 0, false);
        run_random_ops(98, 6000, 3000, true, 2000, true);
    }

    /// Big sets: several inner levels, splits and merges high in the tree, and range
    /// removals that free whole subtrees.
    #[test]
    fn random_ops_match_model_large_sets() {
        run_random_ops(3, 40_000, 40_000, false, 15_000, false);
        run_random_ops(4, 20_000, 30_000, false, 12_000, true);
        run_random_ops(5, 20_000, 30_000, true, 12_000, true);
    }

    #[test]
    fn remove_rank_range_large_spans() {
        let mut rng = Rng(77);
        for round in 0..30 {
            let mut set = ZSet::new();
            let mut model = Model::default();
            let n = 3000 + rng.below(20_000);
            for i in 0..n {
                let m = format!("k{i}").into_bytes();
                let s = (rng.next() % 500) as f64;
                set.insert(&m, s);
                model.insert(&m, s);
            }
            while !model.0.is_empty() {
                let len = model.0.len();
                let start = rng.below(len);
                let end = start + rng.below(len / 2 + 1);
                let want = model.0.drain(start..(end + 1).min(len)).count();
                assert_eq!(set.remove_rank_range(start, end), want, "round {round}");
                set.check_invariants();
                assert_eq!(set.len(), model.0.len());
                if rng.below(4) == 0 {
                    assert_eq!(collect(set.iter()), model.0, "round {round}");
                }
            }
            assert_eq!(set.heap_size(), 0);
        }
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
