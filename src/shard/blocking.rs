//! Clients blocked on keys of this shard (BLPOP, BZPOPMIN...): a table of waiters per
//! (db, key), each key's waiters in the order they blocked.
//!
//! A blocking command reaches the shard owning its keys as `ShardOp::Block`; when there
//! is nothing to pop it parks here and its op waits on a `Reply` slot. Commands that may
//! add elements mark the waited-for keys they touch as ready; `Shard::serve_blocked`
//! then re-runs the waiters' pops in FIFO order, on this thread, so a waiter is served
//! exactly once and never after its timeout fired (both happen on this core).

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use hashbrown::HashMap;

use crate::protocol::Protocol;

/// Where a served waiter's encoded reply lands; the blocked op awaits it.
#[derive(Default)]
pub struct Reply {
    value: RefCell<Option<Vec<u8>>>,
    /// The waiter went away without a reply (unblocked).
    dropped: Cell<bool>,
    waker: RefCell<Option<Waker>>,
}

impl Reply {
    fn fill(&self, bytes: Option<Vec<u8>>) {
        match bytes {
            Some(b) => *self.value.borrow_mut() = Some(b),
            None => self.dropped.set(true),
        }
        if let Some(w) = self.waker.borrow_mut().take() {
            w.wake();
        }
    }

    /// Whether the waiter was removed without a reply (unblocked).
    pub fn was_dropped(&self) -> bool {
        self.dropped.get()
    }

    /// Waits for the reply: `None` when the waiter was removed without one.
    pub fn wait(self: &Rc<Self>) -> impl Future<Output = Option<Vec<u8>>> + '_ {
        ReplyWait(self)
    }
}

struct ReplyWait<'a>(&'a Rc<Reply>);

impl Future for ReplyWait<'_> {
    type Output = Option<Vec<u8>>;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if let Some(v) = self.0.value.borrow_mut().take() {
            return Poll::Ready(Some(v));
        }
        if self.0.dropped.get() {
            return Poll::Ready(None);
        }
        *self.0.waker.borrow_mut() = Some(cx.waker().clone());
        Poll::Pending
    }
}

/// One blocked command.
pub struct Waiter {
    pub db: usize,
    pub proto: Protocol,
    /// The command as sent: re-run (without blocking) when one of its keys is ready.
    pub args: Vec<Vec<u8>>,
    /// Positions in `args` of the keys it waits on.
    pub keys: Vec<usize>,
    /// Whether it pops from sorted sets (else lists).
    pub zsets: bool,
    /// Pops nothing: a blocking command over several shards that only wants to hear
    /// that one of its keys here may now have something (it then pops on its own, under
    /// the cross-shard locks). Served with an empty reply, without taking the element.
    pub notify_only: bool,
    pub reply: Rc<Reply>,
}

/// The waiters of one shard.
#[derive(Default)]
pub struct Blocked {
    waiters: HashMap<u64, Waiter>,
    /// Per database, per key: ids of the waiters, first blocked first.
    by_key: HashMap<usize, HashMap<Vec<u8>, VecDeque<u64>>>,
    /// Waited-for keys that something may have added to, not yet looked at.
    ready: Vec<(usize, Vec<u8>)>,
}

impl Blocked {
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.waiters.is_empty()
    }

    pub fn len(&self) -> usize {
        self.waiters.len()
    }

    pub fn has_ready(&self) -> bool {
        !self.ready.is_empty()
    }

    /// Parks waiter `id` on its keys.
    pub fn park(&mut self, id: u64, waiter: Waiter) {
        // A connection blocks once at a time; a stale entry (its op lost) goes first.
        self.remove(id);
        let keys = self.by_key.entry(waiter.db).or_default();
        for &p in &waiter.keys {
            let q = keys.entry(waiter.args[p].clone()).or_default();
            // BLPOP k k 0: once per key is enough.
            if q.back() != Some(&id) {
                q.push_back(id);
            }
        }
        self.waiters.insert(id, waiter);
    }

    /// Removes waiter `id` from every key it waits on, returning it.
    pub fn remove(&mut self, id: u64) -> Option<Waiter> {
        let w = self.waiters.remove(&id)?;
        if let Some(keys) = self.by_key.get_mut(&w.db) {
            for &p in &w.keys {
                let k = &w.args[p];
                if let Some(q) = keys.get_mut(k.as_slice()) {
                    q.retain(|&x| x != id);
                    if q.is_empty() {
                        keys.remove(k.as_slice());
                    }
                }
            }
            if keys.is_empty() {
                self.by_key.remove(&w.db);
            }
        }
        Some(w)
    }

    /// Removes waiter `id` if it is still the one waiting on `reply` (a timer that fires
    /// late must not take a later block of the same connection with it).
    pub fn remove_if(&mut self, id: u64, reply: &Rc<Reply>) {
        if self
            .waiters
            .get(&id)
            .is_some_and(|w| Rc::ptr_eq(&w.reply, reply))
        {
            self.remove(id);
        }
    }

    /// Removes waiter `id` and wakes its op without a reply.
    pub fn unblock(&mut self, id: u64) {
        if let Some(w) = self.remove(id) {
            w.reply.fill(None);
        }
    }

    /// Marks `key` of `db` ready when someone waits on it.
    #[inline]
    pub fn mark(&mut self, db: usize, key: &[u8]) {
        if self
            .by_key
            .get(&db)
            .is_some_and(|keys| keys.contains_key(key))
            && !self.ready.iter().any(|(d, k)| *d == db && k == key)
        {
            self.ready.push((db, key.to_vec()));
        }
    }

    /// Marks every waited-for key ready (after SWAPDB, MOVE...).
    pub fn mark_all(&mut self) {
        let all: Vec<(usize, Vec<u8>)> = self
            .by_key
            .iter()
            .flat_map(|(&db, keys)| keys.keys().map(move |k| (db, k.clone())))
            .collect();
        for (db, k) in all {
            self.mark(db, &k);
        }
    }

    pub fn take_ready(&mut self) -> Option<(usize, Vec<u8>)> {
        if self.ready.is_empty() {
            None
        } else {
            Some(self.ready.remove(0))
        }
    }

    /// The waiters on a key, first blocked first.
    pub fn waiting_on(&self, db: usize, key: &[u8]) -> Vec<u64> {
        self.by_key
            .get(&db)
            .and_then(|keys| keys.get(key))
            .map(|q| q.iter().copied().collect())
            .unwrap_or_default()
    }

    pub fn get(&self, id: u64) -> Option<&Waiter> {
        self.waiters.get(&id)
    }

    /// Hands a served waiter its reply (it was removed from every key first).
    pub fn serve(&mut self, id: u64, reply: Vec<u8>) {
        if let Some(w) = self.remove(id) {
            w.reply.fill(Some(reply));
        }
    }
}

/// A new waiter's reply slot.
pub fn reply_slot() -> Rc<Reply> {
    Rc::new(Reply::default())
}

/// Whether the op that waits on `reply` is gone (its connection dropped it).
pub fn abandoned(reply: &Rc<Reply>) -> bool {
    Rc::strong_count(reply) == 1
}

/// Spans of owned arguments laid end to end, for `Argv::new` over their concatenation.
pub fn spans_of(args: &[Vec<u8>]) -> Vec<crate::protocol::argv::Span> {
    let mut at = 0;
    args.iter()
        .map(|a| {
            let span = (at, at + a.len());
            at += a.len();
            span
        })
        .collect()
}
