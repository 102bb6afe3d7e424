//! Messages between shards.
//!
//! Every ordered pair of shards has two bounded glommio shared channels: one carries
//! requests, the other their replies. Keeping replies on channels of their own is what
//! makes the mesh deadlock-free: a reply drainer never sends anything, so it always makes
//! progress, so a request drainer blocked on a full reply channel is eventually released.
//! Each receiving channel is drained by a task of its own, which never blocks on a send:
//! every request is served in a task of its own that sends the reply.
//!
//! A shard never sends to itself: local work runs inline.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use glommio::channels::shared_channel::{
    self, ConnectedReceiver, ConnectedSender, SharedReceiver, SharedSender,
};
use hashbrown::HashMap;

use super::ops::{OpResult, ShardOp};
use super::routing::ShardId;
use crate::protocol::{PackedArgs, Protocol};

/// Capacity of each channel, in messages. A message is a whole pipelined batch, so this
/// bounds memory, not throughput.
const CHANNEL_CAPACITY: usize = 1024;

/// How long a shard stays warm after its last cross-shard message (see `keep_warm`).
const WARM_WINDOW: Duration = Duration::from_micros(200);
/// How often a warm shard looks at its channels.
const WARM_TICK: Duration = Duration::from_micros(20);

/// Commands of one connection's pipeline for one remote shard: one message, one reply.
#[derive(Debug)]
pub struct Batch {
    pub proto: Protocol,
    /// Logical database of each command (a pipeline may SELECT in the middle).
    pub dbs: Vec<u32>,
    pub args: PackedArgs,
}

/// The encoded replies of a batch, in order: reply `i` is `out[ends[i-1]..ends[i]]`.
#[derive(Debug, Default)]
pub struct BatchReply {
    pub out: Vec<u8>,
    pub ends: Vec<usize>,
}

impl BatchReply {
    pub fn get(&self, i: usize) -> &[u8] {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.out[start..self.ends[i]]
    }
}

#[derive(Debug)]
pub enum Request {
    /// Batches of many connections, gathered during one scheduling round (see `Outbox`).
    Batches(Vec<Batch>),
    Op(ShardOp),
}

#[derive(Debug)]
pub enum Response {
    Batches(Vec<BatchReply>),
    Op(OpResult),
}

#[derive(Debug)]
pub struct Envelope<T> {
    id: u64,
    from: ShardId,
    body: T,
}

/// The channel ends of one shard, created on the main thread and moved to the shard's
/// executor, where `connect` turns them into a `Mesh`.
pub struct MeshEnds {
    id: ShardId,
    req_tx: Vec<Option<SharedSender<Envelope<Request>>>>,
    req_rx: Vec<Option<SharedReceiver<Envelope<Request>>>>,
    rep_tx: Vec<Option<SharedSender<Envelope<Response>>>>,
    rep_rx: Vec<Option<SharedReceiver<Envelope<Response>>>>,
}

/// Creates the channel ends of `n` shards.
pub fn build(n: usize) -> Vec<MeshEnds> {
    let mut ends: Vec<MeshEnds> = (0..n)
        .map(|id| MeshEnds {
            id,
            req_tx: (0..n).map(|_| None).collect(),
            req_rx: (0..n).map(|_| None).collect(),
            rep_tx: (0..n).map(|_| None).collect(),
            rep_rx: (0..n).map(|_| None).collect(),
        })
        .collect();
    for from in 0..n {
        for to in 0..n {
            if from == to {
                continue;
            }
            let (tx, rx) = shared_channel::new_bounded(CHANNEL_CAPACITY);
            ends[from].req_tx[to] = Some(tx);
            ends[to].req_rx[from] = Some(rx);
            let (tx, rx) = shared_channel::new_bounded(CHANNEL_CAPACITY);
            ends[to].rep_tx[from] = Some(tx);
            ends[from].rep_rx[to] = Some(rx);
        }
    }
    ends
}

fn connect_sender<T: Send + 'static>(
    tx: Option<SharedSender<T>>,
) -> impl Future<Output = Option<ConnectedSender<T>>> {
    let task = tx.map(|t| glommio::spawn_local(t.connect()));
    async move {
        match task {
            Some(t) => Some(t.await),
            None => None,
        }
    }
}

fn connect_receiver<T: Send + 'static>(
    rx: Option<SharedReceiver<T>>,
) -> impl Future<Output = Option<ConnectedReceiver<T>>> {
    let task = rx.map(|r| glommio::spawn_local(r.connect()));
    async move {
        match task {
            Some(t) => Some(t.await),
            None => None,
        }
    }
}

/// Serves requests from other shards; implemented by the shard.
pub trait RequestHandler: 'static {
    fn handle(self: &Rc<Self>, from: ShardId, request: Request) -> impl Future<Output = Response>;
}

/// A single-value, same-core channel: one task fills it, another awaits it.
struct Oneshot<T> {
    value: RefCell<Option<T>>,
    waker: RefCell<Option<Waker>>,
}

impl<T> Oneshot<T> {
    fn new() -> Rc<Self> {
        Rc::new(Oneshot {
            value: RefCell::new(None),
            waker: RefCell::new(None),
        })
    }
    fn fill(&self, v: T) {
        *self.value.borrow_mut() = Some(v);
        if let Some(w) = self.waker.borrow_mut().take() {
            w.wake();
        }
    }
    async fn wait(&self) -> T {
        std::future::poll_fn(|cx| match self.value.borrow_mut().take() {
            Some(v) => Poll::Ready(v),
            None => {
                *self.waker.borrow_mut() = Some(cx.waker().clone());
                Poll::Pending
            }
        })
        .await
    }
}

/// Batches waiting to leave for one shard.
///
/// Every connection that has commands for a remote shard drops its batch here; the first
/// one schedules a flush task, which glommio runs after the tasks already runnable, so
/// the batches of every connection served in this round leave together as one message
/// and come back as one reply. Under load this turns one cross-core message (and possibly
/// one wake-up of the other core) per connection into one per round.
#[derive(Default)]
struct Outbox {
    queued: RefCell<Vec<(Batch, Rc<Oneshot<BatchReply>>)>>,
}

#[derive(Default)]
struct PendingCall {
    response: Option<Response>,
    waker: Option<Waker>,
}

/// A shard's connected view of the mesh.
pub struct Mesh {
    id: ShardId,
    req_tx: Vec<Option<ConnectedSender<Envelope<Request>>>>,
    rep_tx: Vec<Option<ConnectedSender<Envelope<Response>>>>,
    pending: RefCell<HashMap<u64, PendingCall>>,
    next_id: Cell<u64>,
    outboxes: Vec<Outbox>,
    /// When this shard last sent or served a cross-shard message.
    last_message: Cell<Instant>,
    /// The parked `keep_warm` task, woken by the next message.
    warm_waker: RefCell<Option<Waker>>,
}

impl Mesh {
    /// Connects this shard's channel ends and starts the drainer tasks. `handler` serves
    /// requests that arrive from other shards.
    pub async fn connect<H: RequestHandler>(
        ends: MeshEnds,
        handler: Rc<H>,
        mesh_slot: &RefCell<Option<Rc<Mesh>>>,
    ) {
        let n = ends.req_tx.len();
        // A sender's connect waits for its receiver's and vice versa, so every end is
        // connected concurrently: connecting them one by one would deadlock two shards
        // each waiting on the end the other has not reached yet.
        let req_tx: Vec<_> = ends.req_tx.into_iter().map(connect_sender).collect();
        let rep_tx: Vec<_> = ends.rep_tx.into_iter().map(connect_sender).collect();
        let req_rx: Vec<_> = ends.req_rx.into_iter().map(connect_receiver).collect();
        let rep_rx: Vec<_> = ends.rep_rx.into_iter().map(connect_receiver).collect();
        // A channel end learns that its peer connected only when its executor next goes
        // round its loop; an executor parked with nothing else to do would never notice.
        // A ticking timer keeps the loop going until every end is connected.
        let connected = Rc::new(Cell::new(false));
        let ticker = {
            let connected = connected.clone();
            glommio::spawn_local(async move {
                while !connected.get() {
                    glommio::timer::sleep(std::time::Duration::from_millis(1)).await;
                }
            })
        };
        let req_tx = crate::shard::join_all(req_tx).await;
        let rep_tx = crate::shard::join_all(rep_tx).await;
        let req_rx = crate::shard::join_all(req_rx).await;
        let rep_rx = crate::shard::join_all(rep_rx).await;
        connected.set(true);
        ticker.await;
        let mesh = Rc::new(Mesh {
            id: ends.id,
            req_tx,
            rep_tx,
            pending: RefCell::new(HashMap::new()),
            next_id: Cell::new(1),
            outboxes: (0..n).map(|_| Outbox::default()).collect(),
            last_message: Cell::new(Instant::now()),
            warm_waker: RefCell::new(None),
        });
        *mesh_slot.borrow_mut() = Some(mesh.clone());
        for rx in req_rx.into_iter().flatten() {
            let handler = handler.clone();
            let mesh = mesh.clone();
            glommio::spawn_local(async move { mesh.serve_requests(rx, handler).await }).detach();
        }
        for rx in rep_rx.into_iter().flatten() {
            let mesh = mesh.clone();
            glommio::spawn_local(async move { mesh.collect_replies(rx).await }).detach();
        }
        glommio::spawn_local(mesh.keep_warm()).detach();
    }

    pub fn id(&self) -> ShardId {
        self.id
    }

    /// Notes cross-shard traffic: the shard stays warm for a while.
    fn touch(&self) {
        self.last_message.set(Instant::now());
        if let Some(w) = self.warm_waker.borrow_mut().take() {
            w.wake();
        }
    }

    fn is_warm(&self) -> bool {
        self.last_message.get().elapsed() < WARM_WINDOW
    }

    /// Keeps the executor from parking for long while cross-shard traffic flows.
    ///
    /// An executor with nothing runnable parks: glommio then issues a process-wide memory
    /// barrier (an IPI to the other shards' cores) and the next message for it must wake
    /// it through an eventfd, another IPI. Under a steady stream of cross-shard messages
    /// that happens thousands of times a second and costs more than the work moved.
    /// While messages are flowing this task wakes the executor every
    /// `WARM_TICK` so channels are polled without a wake-up from the peer, and gives the
    /// core away with `sched_yield` in between, so that on a machine shared with clients
    /// a warm shard does not take their CPU. After `WARM_WINDOW` without traffic it
    /// sleeps until the next message.
    ///
    /// Measured with two shards and the client on the same two cores: about +15% at
    /// `-P 16` and +40% at `-P 1` (benches/README.md).
    async fn keep_warm(self: Rc<Self>) {
        loop {
            if self.is_warm() {
                // SAFETY: sched_yield has no preconditions.
                unsafe { libc::sched_yield() };
                glommio::timer::sleep(WARM_TICK).await;
            } else {
                std::future::poll_fn(|cx| {
                    if self.is_warm() {
                        Poll::Ready(())
                    } else {
                        *self.warm_waker.borrow_mut() = Some(cx.waker().clone());
                        Poll::Pending
                    }
                })
                .await;
            }
        }
    }

    async fn serve_requests<H: RequestHandler>(
        self: Rc<Self>,
        rx: ConnectedReceiver<Envelope<Request>>,
        handler: Rc<H>,
    ) {
        while let Some(env) = rx.recv().await {
            self.touch();
            // A task per request: the handler runs the commands as soon as the task is
            // first polled (tasks start in spawn order, so requests execute in arrival
            // order), then may wait for the WAL to make the writes durable. Waiting here
            // would hold every later request back for a whole sync; in tasks of their own,
            // all the writes that arrive during one sync share the next.
            let (mesh, handler) = (self.clone(), handler.clone());
            glommio::spawn_local(async move {
                let response = handler.handle(env.from, env.body).await;
                let tx = mesh.rep_tx[env.from].as_ref().expect("reply channel");
                // An error means the peer is gone: shutting down.
                let _ = tx
                    .send(Envelope {
                        id: env.id,
                        from: mesh.id,
                        body: response,
                    })
                    .await;
            })
            .detach();
        }
    }

    async fn collect_replies(self: Rc<Self>, rx: ConnectedReceiver<Envelope<Response>>) {
        while let Some(env) = rx.recv().await {
            let mut pending = self.pending.borrow_mut();
            if let Some(call) = pending.get_mut(&env.id) {
                call.response = Some(env.body);
                if let Some(w) = call.waker.take() {
                    w.wake();
                }
            }
        }
    }

    /// Runs a batch of shard-local commands on shard `to`, travelling together with the
    /// other batches for `to` queued in this scheduling round.
    pub async fn call_batch(self: &Rc<Self>, to: ShardId, batch: Batch) -> BatchReply {
        let slot = Oneshot::new();
        let outbox = &self.outboxes[to];
        let first = {
            let mut q = outbox.queued.borrow_mut();
            q.push((batch, slot.clone()));
            q.len() == 1
        };
        if first {
            let mesh = self.clone();
            glommio::spawn_local(async move { mesh.flush_outbox(to).await }).detach();
        }
        slot.wait().await
    }

    async fn flush_outbox(self: Rc<Self>, to: ShardId) {
        let queued = std::mem::take(&mut *self.outboxes[to].queued.borrow_mut());
        let (batches, slots): (Vec<_>, Vec<_>) = queued.into_iter().unzip();
        match self.call(to, Request::Batches(batches)).await {
            Response::Batches(replies) => {
                for (slot, reply) in slots.iter().zip(replies) {
                    slot.fill(reply);
                }
            }
            Response::Op(_) => unreachable!("batches are answered with batches"),
        }
    }

    /// Sends `request` to shard `to` and waits for its response.
    pub async fn call(&self, to: ShardId, request: Request) -> Response {
        debug_assert_ne!(to, self.id, "local work runs inline");
        let id = self.next_id.get();
        self.next_id.set(id + 1);
        self.pending.borrow_mut().insert(id, PendingCall::default());
        self.touch();
        let tx = self.req_tx[to].as_ref().expect("request channel");
        if tx
            .send(Envelope {
                id,
                from: self.id,
                body: request,
            })
            .await
            .is_err()
        {
            self.pending.borrow_mut().remove(&id);
            panic!(
                "shard {to} stopped while shard {} was still running",
                self.id
            );
        }
        WaitReply { mesh: self, id }.await
    }
}

struct WaitReply<'a> {
    mesh: &'a Mesh,
    id: u64,
}

impl Future for WaitReply<'_> {
    type Output = Response;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Response> {
        let mut pending = self.mesh.pending.borrow_mut();
        let call = pending.get_mut(&self.id).expect("pending call");
        match call.response.take() {
            Some(r) => {
                pending.remove(&self.id);
                Poll::Ready(r)
            }
            None => {
                call.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

impl Drop for WaitReply<'_> {
    fn drop(&mut self) {
        // A caller that gave up (its connection closed) leaves no entry behind.
        self.mesh.pending.borrow_mut().remove(&self.id);
    }
}
