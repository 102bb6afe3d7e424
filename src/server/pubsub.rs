//! Publish/subscribe: each core's registry of its own subscribers, and what a connection
//! keeps about its own subscriptions.
//!
//! Cores share nothing: a core knows only the connections it accepted. PUBLISH delivers
//! on its own core and asks every other core (`ShardOp::Publish`) to deliver to theirs;
//! the receiver counts add up. PUBSUB CHANNELS / NUMSUB / NUMPAT likewise combine every
//! core's answer.
//!
//! A subscriber is a handle on its connection's queue of pending pushes: encoded frames
//! waiting to be written. Delivery only appends bytes to it and wakes the connection; the
//! connection writes them between replies, never inside one. A subscriber whose queue
//! passes `PUSH_LIMIT` (it stopped reading) is cut off and its connection closed.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use hashbrown::{HashMap, HashSet};

use super::client::Client;
use super::Event;
use crate::commands::CmdError;
use crate::protocol::{Argv, Protocol, ReplyBuf};
use crate::util::glob::glob_match;

/// Pending push bytes one subscriber may have before it is disconnected (the hard
/// output-buffer limit Redis applies to pub/sub clients by default).
pub const PUSH_LIMIT: usize = 32 << 20;

/// The three namespaces a client can subscribe in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Channel,
    Pattern,
    /// Shard channels (SSUBSCRIBE): a namespace of their own. With one server there is
    /// one shard in the cluster sense, so they behave like plain channels.
    Shard,
}

impl Kind {
    fn subscribe_word(self) -> &'static [u8] {
        match self {
            Kind::Channel => b"subscribe",
            Kind::Pattern => b"psubscribe",
            Kind::Shard => b"ssubscribe",
        }
    }
    fn unsubscribe_word(self) -> &'static [u8] {
        match self {
            Kind::Channel => b"unsubscribe",
            Kind::Pattern => b"punsubscribe",
            Kind::Shard => b"sunsubscribe",
        }
    }
}

/// One subscribed connection, as the registry sees it.
pub struct Subscriber {
    id: u64,
    /// Encoded frames not yet written, in order.
    pending: RefCell<Vec<u8>>,
    resp3: Cell<bool>,
    overflowed: Cell<bool>,
    /// The connection's task, when it waits for pushes.
    waker: RefCell<Option<Waker>>,
    /// The connection's close event, fired when the subscriber is cut off.
    close: Rc<Event>,
}

impl Subscriber {
    fn new(id: u64, proto: Protocol, close: Rc<Event>) -> Subscriber {
        Subscriber {
            id,
            pending: RefCell::new(Vec::new()),
            resp3: Cell::new(proto == Protocol::Resp3),
            overflowed: Cell::new(false),
            waker: RefCell::new(None),
            close,
        }
    }

    /// Queues one frame, encoded as a RESP2 array (`*N...`); a RESP3 subscriber gets it
    /// as a push (`>N...`), which differs only in its first byte.
    fn push(&self, frame: &[u8]) {
        if self.overflowed.get() {
            return;
        }
        let mut pending = self.pending.borrow_mut();
        if pending.len() + frame.len() > PUSH_LIMIT {
            drop(pending);
            self.cut_off();
            return;
        }
        let was_empty = pending.is_empty();
        if self.resp3.get() {
            pending.push(b'>');
            pending.extend_from_slice(&frame[1..]);
        } else {
            pending.extend_from_slice(frame);
        }
        drop(pending);
        if was_empty {
            self.wake();
        }
    }

    fn cut_off(&self) {
        tracing::warn!(
            client = self.id,
            "closing subscriber whose pending messages exceed the pub/sub output limit of {} MiB",
            PUSH_LIMIT >> 20
        );
        self.overflowed.set(true);
        *self.pending.borrow_mut() = Vec::new();
        self.close.fire();
        self.wake();
    }

    fn wake(&self) {
        if let Some(w) = self.waker.borrow_mut().take() {
            w.wake();
        }
    }

    pub fn has_pending(&self) -> bool {
        !self.pending.borrow().is_empty()
    }

    pub fn overflowed(&self) -> bool {
        self.overflowed.get()
    }

    pub fn set_proto(&self, proto: Protocol) {
        self.resp3.set(proto == Protocol::Resp3);
    }

    /// Appends the pending frames to `out` and empties the queue.
    pub fn drain_into(&self, out: &mut Vec<u8>) {
        let mut pending = self.pending.borrow_mut();
        if pending.is_empty() {
            return;
        }
        if out.is_empty() {
            // Hand the filled buffer over and keep the caller's (empty) one: no copy.
            std::mem::swap(&mut *pending, out);
        } else {
            out.extend_from_slice(&pending);
            pending.clear();
        }
    }

    /// Resolves once there is something to write (or the subscriber was cut off).
    pub fn ready(&self) -> PushWait<'_> {
        PushWait { sub: self }
    }
}

/// A connection's wait for pushes. It takes its waker back when dropped, so a
/// connection that races it against every read never holds more than one.
pub struct PushWait<'a> {
    sub: &'a Subscriber,
}

impl Future for PushWait<'_> {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.sub.has_pending() || self.sub.overflowed() {
            return Poll::Ready(());
        }
        let mut w = self.sub.waker.borrow_mut();
        match &mut *w {
            Some(old) if old.will_wake(cx.waker()) => {}
            Some(old) => old.clone_from(cx.waker()),
            None => *w = Some(cx.waker().clone()),
        }
        Poll::Pending
    }
}

impl Drop for PushWait<'_> {
    fn drop(&mut self) {
        self.sub.waker.borrow_mut().take();
    }
}

type Subscribers = HashMap<Box<[u8]>, Vec<Rc<Subscriber>>, ahash::RandomState>;

/// One core's subscriptions: who listens to what, among this core's connections.
#[derive(Default)]
pub struct Registry {
    channels: Subscribers,
    patterns: Subscribers,
    shard_channels: Subscribers,
    /// Reused to encode each message once per publish.
    frame: Vec<u8>,
}

impl Registry {
    fn map(&mut self, kind: Kind) -> &mut Subscribers {
        match kind {
            Kind::Channel => &mut self.channels,
            Kind::Pattern => &mut self.patterns,
            Kind::Shard => &mut self.shard_channels,
        }
    }

    fn map_ref(&self, kind: Kind) -> &Subscribers {
        match kind {
            Kind::Channel => &self.channels,
            Kind::Pattern => &self.patterns,
            Kind::Shard => &self.shard_channels,
        }
    }

    fn add(&mut self, kind: Kind, name: &[u8], sub: &Rc<Subscriber>) {
        match self.map(kind).get_mut(name) {
            Some(list) => list.push(sub.clone()),
            None => {
                self.map(kind).insert(name.into(), vec![sub.clone()]);
            }
        }
    }

    fn remove(&mut self, kind: Kind, name: &[u8], id: u64) {
        let map = self.map(kind);
        if let Some(list) = map.get_mut(name) {
            if let Some(i) = list.iter().position(|s| s.id == id) {
                list.remove(i);
            }
            if list.is_empty() {
                map.remove(name);
            }
        }
    }

    /// Delivers a message to this core's subscribers; returns how many received it (a
    /// connection subscribed to the channel and to matching patterns counts once for
    /// each, as it receives it once for each).
    pub fn publish(&mut self, sharded: bool, channel: &[u8], message: &[u8]) -> usize {
        let mut frame = std::mem::take(&mut self.frame);
        let mut receivers = 0;
        let direct = if sharded {
            &self.shard_channels
        } else {
            &self.channels
        };
        if let Some(list) = direct.get(channel) {
            frame.clear();
            let word: &[u8] = if sharded { b"smessage" } else { b"message" };
            encode(&mut frame, &[word, channel, message]);
            for s in list {
                s.push(&frame);
            }
            receivers += list.len();
        }
        if !sharded {
            for (pattern, list) in &self.patterns {
                if glob_match(pattern, channel, false) {
                    frame.clear();
                    encode(&mut frame, &[b"pmessage", pattern, channel, message]);
                    for s in list {
                        s.push(&frame);
                    }
                    receivers += list.len();
                }
            }
        }
        // A huge message must not keep its buffer alive for the next small ones.
        if frame.capacity() > 64 * 1024 {
            frame = Vec::new();
        }
        self.frame = frame;
        receivers
    }

    /// The channels (`Kind::Channel` or `Kind::Shard`) with at least one subscriber,
    /// or the patterns subscribed to, optionally only those matching `pattern`.
    pub fn names(&self, kind: Kind, pattern: Option<&[u8]>) -> Vec<Vec<u8>> {
        self.map_ref(kind)
            .keys()
            .filter(|name| pattern.is_none_or(|p| glob_match(p, name, false)))
            .map(|name| name.to_vec())
            .collect()
    }

    /// Subscriber count of each channel.
    pub fn counts(&self, kind: Kind, names: &[Vec<u8>]) -> Vec<i64> {
        let map = self.map_ref(kind);
        names
            .iter()
            .map(|n| map.get(n.as_slice()).map_or(0, |l| l.len() as i64))
            .collect()
    }
}

/// A RESP2 array of bulk strings.
fn encode(out: &mut Vec<u8>, parts: &[&[u8]]) {
    let mut b = itoa::Buffer::new();
    out.push(b'*');
    out.extend_from_slice(b.format(parts.len()).as_bytes());
    out.extend_from_slice(b"\r\n");
    for p in parts {
        out.push(b'$');
        out.extend_from_slice(b.format(p.len()).as_bytes());
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(p);
        out.extend_from_slice(b"\r\n");
    }
}

/// What one connection is subscribed to.
#[derive(Default)]
pub struct ClientSubs {
    /// This connection's entry in its core's registry; made at its first subscription.
    pub handle: Option<Rc<Subscriber>>,
    channels: HashSet<Box<[u8]>, ahash::RandomState>,
    patterns: HashSet<Box<[u8]>, ahash::RandomState>,
    shard_channels: HashSet<Box<[u8]>, ahash::RandomState>,
}

impl ClientSubs {
    fn set(&mut self, kind: Kind) -> &mut HashSet<Box<[u8]>, ahash::RandomState> {
        match kind {
            Kind::Channel => &mut self.channels,
            Kind::Pattern => &mut self.patterns,
            Kind::Shard => &mut self.shard_channels,
        }
    }

    /// The count subscription replies carry: shard channels are counted on their own,
    /// channels and patterns together.
    fn count(&self, kind: Kind) -> usize {
        match kind {
            Kind::Shard => self.shard_channels.len(),
            _ => self.channels.len() + self.patterns.len(),
        }
    }

    /// Whether the connection is subscribed to anything (in RESP2 this restricts the
    /// commands it may send).
    #[inline]
    pub fn active(&self) -> bool {
        !(self.channels.is_empty() && self.patterns.is_empty() && self.shard_channels.is_empty())
    }

    /// (channels, patterns, shard channels), for CLIENT LIST.
    pub fn sizes(&self) -> (usize, usize, usize) {
        (
            self.channels.len(),
            self.patterns.len(),
            self.shard_channels.len(),
        )
    }
}

/// The frame confirming one (un)subscription: `[word, name or nil, count]`.
fn confirm(out: &mut ReplyBuf, word: &[u8], name: Option<&[u8]>, count: usize) {
    out.raw(if out.resp3() { b">3\r\n" } else { b"*3\r\n" });
    out.bulk(word);
    match name {
        Some(n) => out.bulk(n),
        None => out.null(),
    }
    out.int(count as i64);
}

/// SUBSCRIBE / PSUBSCRIBE / SSUBSCRIBE `argv[1..]`: one confirmation per name.
pub fn subscribe(c: &mut Client, kind: Kind, argv: &Argv<'_>, out: &mut ReplyBuf) {
    let handle = c
        .pubsub
        .handle
        .get_or_insert_with(|| {
            let close = c.info.borrow().close.clone();
            Rc::new(Subscriber::new(c.id, c.proto, close))
        })
        .clone();
    handle.set_proto(c.proto);
    let mut registry = c.shard.pubsub.borrow_mut();
    for name in argv.iter().skip(1) {
        if c.pubsub.set(kind).insert(name.into()) {
            registry.add(kind, name, &handle);
        }
        confirm(out, kind.subscribe_word(), Some(name), c.pubsub.count(kind));
    }
    drop(registry);
    sync_info(c);
}

/// UNSUBSCRIBE / PUNSUBSCRIBE / SUNSUBSCRIBE `argv[1..]`: the names given, or every one
/// of `kind` when none is (then one confirmation with a nil name if there was none).
pub fn unsubscribe(c: &mut Client, kind: Kind, argv: &Argv<'_>, out: &mut ReplyBuf) {
    let mut registry = c.shard.pubsub.borrow_mut();
    if argv.len() == 1 {
        let mut all: Vec<Box<[u8]>> = c.pubsub.set(kind).drain().collect();
        if all.is_empty() {
            confirm(out, kind.unsubscribe_word(), None, c.pubsub.count(kind));
        }
        // Sorted so that replies do not depend on hashing.
        all.sort_unstable();
        let mut left = c.pubsub.count(kind) + all.len();
        for name in all {
            registry.remove(kind, &name, c.id);
            left -= 1;
            confirm(out, kind.unsubscribe_word(), Some(&name), left);
        }
    } else {
        for name in argv.iter().skip(1) {
            if c.pubsub.set(kind).remove(name) {
                registry.remove(kind, name, c.id);
            }
            confirm(
                out,
                kind.unsubscribe_word(),
                Some(name),
                c.pubsub.count(kind),
            );
        }
    }
    drop(registry);
    sync_info(c);
}

/// Drops every subscription without replying (RESET, disconnect).
pub fn unsubscribe_all(c: &mut Client) {
    if !c.pubsub.active() {
        return;
    }
    let mut registry = c.shard.pubsub.borrow_mut();
    for kind in [Kind::Channel, Kind::Pattern, Kind::Shard] {
        for name in c.pubsub.set(kind).drain() {
            registry.remove(kind, &name, c.id);
        }
    }
    drop(registry);
    sync_info(c);
}

fn sync_info(c: &Client) {
    let (sub, psub, ssub) = c.pubsub.sizes();
    let mut info = c.info.borrow_mut();
    info.sub = sub;
    info.psub = psub;
    info.ssub = ssub;
}

/// The commands a RESP2 connection may send while subscribed.
pub fn allowed_while_subscribed(name: &str) -> bool {
    matches!(
        name,
        "subscribe"
            | "psubscribe"
            | "ssubscribe"
            | "unsubscribe"
            | "punsubscribe"
            | "sunsubscribe"
            | "ping"
            | "quit"
            | "reset"
    )
}

/// The refusal of any other command; subcommands are named as `container|sub`.
pub fn refused_while_subscribed(spec: &crate::commands::CommandSpec, sub: &[u8]) -> CmdError {
    let container = spec.summary.starts_with("A container for") || spec.name == "command";
    let name = if container && !sub.is_empty() {
        format!(
            "{}|{}",
            spec.name,
            String::from_utf8_lossy(sub).to_ascii_lowercase()
        )
    } else {
        spec.name.to_string()
    };
    CmdError::msg(format!(
        "ERR Can't execute '{name}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sub(id: u64, proto: Protocol) -> Rc<Subscriber> {
        Rc::new(Subscriber::new(id, proto, Rc::new(Event::default())))
    }

    fn pending(s: &Subscriber) -> String {
        let mut out = Vec::new();
        s.drain_into(&mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn publish_encodes_per_protocol_and_counts() {
        let mut r = Registry::default();
        let (a, b) = (sub(1, Protocol::Resp2), sub(2, Protocol::Resp3));
        r.add(Kind::Channel, b"news", &a);
        r.add(Kind::Channel, b"news", &b);
        r.add(Kind::Pattern, b"n*", &a);
        r.add(Kind::Shard, b"news", &b);
        assert_eq!(r.publish(false, b"news", b"hi"), 3);
        assert_eq!(
            pending(&a),
            "*3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$2\r\nhi\r\n\
             *4\r\n$8\r\npmessage\r\n$2\r\nn*\r\n$4\r\nnews\r\n$2\r\nhi\r\n"
        );
        assert_eq!(
            pending(&b),
            ">3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$2\r\nhi\r\n"
        );
        assert_eq!(r.publish(true, b"news", b"x"), 1);
        assert_eq!(
            pending(&b),
            ">3\r\n$8\r\nsmessage\r\n$4\r\nnews\r\n$1\r\nx\r\n"
        );
        r.remove(Kind::Channel, b"news", 1);
        r.remove(Kind::Channel, b"news", 2);
        assert!(r.names(Kind::Channel, None).is_empty());
        assert_eq!(r.counts(Kind::Shard, &[b"news".to_vec()]), vec![1]);
    }

    #[test]
    fn overflow_cuts_the_subscriber_off() {
        let mut r = Registry::default();
        let a = sub(1, Protocol::Resp2);
        r.add(Kind::Channel, b"c", &a);
        let big = vec![b'x'; 1 << 20];
        for _ in 0..40 {
            r.publish(false, b"c", &big);
        }
        assert!(a.overflowed());
        assert!(a.close.fired());
        assert!(!a.has_pending());
    }
}
