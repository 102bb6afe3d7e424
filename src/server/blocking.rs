//! Blocking pops whose keys live on several shards: BLPOP a b 0 with `a` and `b` on
//! different cores, BLMOVE from a list on one shard to a list on another.
//!
//! The shards only watch: each parks a notify-only waiter on its keys
//! (`ShardOp::WatchReady`), which the next write that may feed such a pop wakes. The pop
//! itself runs here as a gathered command under the cross-shard locks
//! (`atomic::gather_and_run`), so it is atomic like any multi-shard command. The steps go
//! watch, try, wait: a push that lands between the try and the wait has notified
//! already, so no wake-up is lost.
//!
//! Fairness differs from a single shard's: a waiter whose keys all live on one shard is
//! served the moment a push lands, while a cross-shard waiter pops when it runs next, so
//! on a busy key it may be overtaken by single-shard waiters that blocked after it.

use std::cell::Cell;
use std::rc::Rc;
use std::task::Poll;
use std::time::{Duration, Instant};

use super::atomic;
use crate::commands::{self, Registry};
use crate::protocol::{Argv, Protocol, ReplyBuf};
use crate::shard::ops::{OpResult, ShardOp};
use crate::shard::{blocking::spans_of, join_all, shard_of, Shard, ShardId};

/// Runs blocking command `args` of connection `id` (in database `db`) whose keys span
/// shards: replies like `ShardOp::Block` (the encoded reply, nil on timeout, `Done` once
/// `cancel` is set).
///
/// Not to be dropped half-way: a try holds cross-shard locks. A connection that goes away
/// sets `cancel`, unwatches (which wakes the wait) and lets this finish.
pub async fn block_across(
    shard: Rc<Shard>,
    id: u64,
    db: usize,
    proto: Protocol,
    args: Vec<Vec<u8>>,
    cancel: Rc<Cell<bool>>,
) -> OpResult {
    let spans = spans_of(&args);
    let flat = args.concat();
    let argv = Argv::new(&flat, &spans);
    let Some(spec) = Registry::get().lookup(argv.get(0)) else {
        return OpResult::Error("ERR unknown command".into());
    };
    let wait = match commands::blocking::wait_spec(&argv) {
        Ok(wait) => wait,
        Err(e) => return OpResult::Error(e.message().to_string()),
    };
    let deadline =
        (wait.timeout_ms > 0).then(|| Instant::now() + Duration::from_millis(wait.timeout_ms));
    let n = shard.nshards;
    let mut keys: Vec<Vec<Vec<u8>>> = vec![Vec::new(); n];
    for &p in &wait.keys {
        let k = argv.get(p);
        let owner = &mut keys[shard_of(k, n)];
        if !owner.iter().any(|x| x == k) {
            owner.push(k.to_vec());
        }
    }
    let watched: Vec<ShardId> = (0..n).filter(|&s| !keys[s].is_empty()).collect();
    loop {
        let watches: Vec<_> = watched
            .iter()
            .map(|&s| {
                let op = ShardOp::WatchReady {
                    id,
                    db,
                    keys: keys[s].clone(),
                    zsets: wait.zsets,
                };
                shard.op(s, op)
            })
            .collect();
        join_all(watches).await;
        if cancel.get() {
            unwatch(&shard, id, &watched).await;
            return OpResult::Done;
        }

        let mut out = ReplyBuf::new(proto);
        if let Err(e) = atomic::gather_and_run(&shard, db, spec, &argv, &mut out, None).await {
            out.error(e.message());
        }
        if !commands::blocking::is_nothing(&out.buf) {
            unwatch(&shard, id, &watched).await;
            return OpResult::Reply(out.buf);
        }

        let notified = first_of(
            watched
                .iter()
                .map(|&s| Box::pin(shard.op(s, ShardOp::AwaitReady { id })))
                .collect(),
        );
        let woke = match deadline {
            None => {
                notified.await;
                true
            }
            Some(at) => {
                let timer = async {
                    glommio::timer::sleep(at.saturating_duration_since(Instant::now())).await;
                    false
                };
                futures_lite::future::or(
                    async {
                        notified.await;
                        true
                    },
                    timer,
                )
                .await
            }
        };
        unwatch(&shard, id, &watched).await;
        if !woke {
            let mut out = ReplyBuf::new(proto);
            commands::blocking::reply_timeout(&mut out);
            return OpResult::Reply(out.buf);
        }
    }
}

/// Drops connection `id`'s watches on `shards` (waking their `AwaitReady`).
pub async fn unwatch(shard: &Rc<Shard>, id: u64, shards: &[ShardId]) {
    let ops: Vec<_> = shards
        .iter()
        .map(|&s| shard.op(s, ShardOp::Unblock { id }))
        .collect();
    join_all(ops).await;
}

/// Waits for the first of `futures` to finish (the others are dropped with it).
async fn first_of<F: std::future::Future + Unpin>(mut futures: Vec<F>) {
    std::future::poll_fn(|cx| {
        if futures.is_empty() {
            return Poll::Ready(());
        }
        for f in futures.iter_mut() {
            if std::pin::Pin::new(f).poll(cx).is_ready() {
                return Poll::Ready(());
            }
        }
        Poll::Pending
    })
    .await
}
