//! One client connection: read, parse, dispatch, write.
//!
//! Everything a read brings in is parsed and dispatched before anything is written, so a
//! pipeline costs one read and one write. Commands for keys this core owns run inline.
//! Commands for keys owned elsewhere are queued per shard and leave as one message per
//! shard once the read is dispatched; their replies are spliced back into pipeline order.
//! A command that spans shards is a barrier: the queued commands complete first. A run of
//! consecutive split commands (MSET, MGET, DEL... over several shards) is gathered and
//! runs as one transaction when the next other command, or the end of the read, comes
//! (see `coordinator::SplitGroup`).

use std::cell::RefCell;
use std::rc::Rc;

use futures_lite::{AsyncReadExt, AsyncWriteExt};
use glommio::net::TcpStream;

use super::client::{Client, ClientInfo};
use super::Event;
use super::{atomic, coordinator};
use crate::commands::{self, CmdError, Cross, Registry, Run, ShardCtx};
use crate::protocol::parser::{Parsed, ParserLimits, ProtocolError, RequestParser};
use crate::protocol::{Argv, PackedArgs, Protocol, ReplyBuf};
use crate::shard::mesh::Batch;
use crate::shard::ops::{OpResult, ShardOp};
use crate::shard::stats::Counters;
use crate::shard::{now_ms, shard_of, Shard, ShardId};

/// Smallest free space offered to a read.
const READ_CHUNK: usize = 16 * 1024;
/// Replies buffered before they are written even if the read is not fully dispatched,
/// so a client pipelining a huge amount does not make the server buffer it all.
const FLUSH_AT: usize = 256 * 1024;
/// Input buffers larger than this are released once they are empty.
const SHRINK_ABOVE: usize = 1024 * 1024;
/// How far ahead of the received bytes the input buffer grows for a large argument.
const GROW_STEP: usize = 8 * 1024 * 1024;
/// Remote commands queued before they are sent even if the read is not fully dispatched.
const MAX_QUEUED: usize = 4096;
/// Split commands gathered into one transaction at most: bounds the keys it locks at once.
const MAX_SPLIT: usize = 64;

/// Where one reply comes from, in pipeline order, once some reply is remote.
enum Piece {
    /// `held[previous Held end..end]`: replies produced here after a remote one.
    Held(usize),
    /// Reply `index` of the batch sent to `shard`.
    Remote(ShardId, usize),
}

/// The replies of the commands dispatched so far.
struct Pipeline {
    /// Bytes ready to write, in order.
    out: ReplyBuf,
    /// Local replies that must wait behind a remote one.
    held: ReplyBuf,
    pieces: Vec<Piece>,
    /// Per shard: commands queued for it.
    batches: Vec<Option<Batch>>,
    queued: usize,
    /// Split commands gathered since the last barrier; while there are some, nothing is
    /// queued in `batches` and nothing waits in `held`.
    split: Option<coordinator::SplitGroup>,
}

impl Pipeline {
    fn new(nshards: usize) -> Self {
        Pipeline {
            out: ReplyBuf::with_capacity(Protocol::Resp2, READ_CHUNK),
            held: ReplyBuf::new(Protocol::Resp2),
            pieces: Vec::new(),
            batches: (0..nshards).map(|_| None).collect(),
            queued: 0,
            split: None,
        }
    }

    /// Where a local reply goes: straight out, unless it must wait behind a remote one.
    #[inline]
    fn target(&mut self, proto: Protocol) -> &mut ReplyBuf {
        let t = if self.pieces.is_empty() {
            &mut self.out
        } else {
            &mut self.held
        };
        t.proto = proto;
        t
    }

    fn enqueue(&mut self, shard: ShardId, db: usize, proto: Protocol, argv: &Argv<'_>) {
        if !self.pieces.is_empty() || !self.held.is_empty() {
            self.pieces.push(Piece::Held(self.held.len()));
        }
        let batch = self.batches[shard].get_or_insert_with(|| Batch {
            proto,
            dbs: Vec::new(),
            args: PackedArgs::new(),
        });
        // A batch carries one protocol; HELLO in mid-pipeline starts a new batch after a
        // barrier (see `dispatch`), so this always holds.
        debug_assert_eq!(batch.proto, proto);
        batch.dbs.push(db as u32);
        batch.args.push_argv(argv);
        self.pieces.push(Piece::Remote(shard, batch.args.len() - 1));
        self.queued += 1;
    }

    /// Sends the queued batches, waits for their replies and splices everything into
    /// `out` in pipeline order.
    async fn complete_remote(&mut self, shard: &Rc<Shard>) {
        self.run_split(shard).await;
        if self.queued == 0 {
            return;
        }
        let calls: Vec<_> = self
            .batches
            .iter_mut()
            .enumerate()
            .filter_map(|(s, b)| b.take().map(|b| (s, b)))
            .map(|(s, b)| {
                let shard = shard.clone();
                async move { (s, shard.call_batch(s, b).await) }
            })
            .collect();
        let mut replies: Vec<Option<_>> = (0..self.batches.len()).map(|_| None).collect();
        for (s, r) in crate::shard::join_all(calls).await {
            replies[s] = Some(r);
        }
        let mut held_pos = 0;
        for p in self.pieces.drain(..) {
            match p {
                Piece::Held(end) => {
                    self.out.raw(&self.held.buf[held_pos..end]);
                    held_pos = end;
                }
                Piece::Remote(s, i) => match &replies[s] {
                    Some(r) => self.out.raw(r.get(i)),
                    None => self.out.error("ERR internal error: shard did not reply"),
                },
            }
        }
        self.out.raw(&self.held.buf[held_pos..]);
        self.held.buf.clear();
        self.queued = 0;
    }

    /// Runs the gathered split commands, if any; their replies go out in order.
    async fn run_split(&mut self, shard: &Rc<Shard>) {
        if let Some(group) = self.split.take() {
            debug_assert!(self.pieces.is_empty() && self.queued == 0);
            let proto = self.out.proto;
            self.out.proto = group.proto();
            group.run(shard, None, &mut self.out).await;
            self.out.proto = proto;
        }
    }

    /// Adds a split command to the group, after whatever is queued has completed.
    async fn gather_split(
        &mut self,
        client: &Client,
        spec: &commands::CommandSpec,
        argv: &Argv<'_>,
    ) {
        if self.queued > 0 {
            self.complete_remote(&client.shard).await;
        }
        let group = self.split.get_or_insert_with(|| {
            coordinator::SplitGroup::new(client.shard.nshards, client.proto)
        });
        group.add(spec, spec.cross, argv, client.db as u32);
        if group.len() >= MAX_SPLIT {
            self.run_split(&client.shard).await;
        }
    }
}

/// Whether a command may join the split commands gathered so far: it is one itself, and
/// nothing about the connection asks for it to run alone.
fn joins_split(client: &Client, spec: &commands::CommandSpec, argv: &Argv<'_>) -> bool {
    splits(client, spec)
        && shape_ok(spec, argv)
        && matches!(route(spec, argv, client.shard.nshards), Route::Many)
}

/// Whether a call has an argument count its command takes (arity, and whole key/value
/// groups for commands like MSET).
fn shape_ok(spec: &commands::CommandSpec, argv: &Argv<'_>) -> bool {
    spec.arity_ok(argv.len())
        && (spec.step <= 1
            || (argv.len() - spec.first_key as usize).is_multiple_of(spec.step as usize))
}

/// Whether a command whose keys span shards runs as a split command that can be gathered
/// with others: outside MULTI, and not on a subscribed connection (whose pushes must
/// come after the reply of the command they followed).
fn splits(client: &Client, spec: &commands::CommandSpec) -> bool {
    matches!(spec.run, Run::Shard(_))
        && matches!(
            spec.cross,
            Cross::SumInts | Cross::AllOk | Cross::Interleave
        )
        && client.multi.is_none()
        && !client.pubsub.active()
        && !spec.has(commands::flags::BLOCKING)
}

/// Which shards a shard-local command's keys live on.
enum Route {
    One(ShardId),
    Many,
}

#[inline]
fn route(spec: &commands::CommandSpec, argv: &Argv<'_>, nshards: usize) -> Route {
    let mut keys = spec.keys_of(argv);
    let Some(first) = keys.next() else {
        return Route::One(0);
    };
    if nshards == 1 {
        return Route::One(0);
    }
    let s = shard_of(argv.get(first), nshards);
    for p in keys {
        if shard_of(argv.get(p), nshards) != s {
            return Route::Many;
        }
    }
    Route::One(s)
}

pub struct Connection {
    client: Client,
    stream: TcpStream,
    parser: RequestParser,
    inbuf: Vec<u8>,
    /// Start of unparsed input in `inbuf`.
    start: usize,
    /// End of received input in `inbuf`.
    filled: usize,
    pipe: Pipeline,
    query_buffer_limit: usize,
    config_epoch: u64,
    /// The shard's last LSN when this round's commands started: a round that journaled
    /// past it wrote something.
    round_lsn: u64,
    /// Fired to close the connection (idle timeout, subscriber over its output limit).
    close: Rc<Event>,
    /// Pub/sub pushes being written (swapped with the subscriber's queue, so that the
    /// two buffers are reused instead of reallocated).
    push_out: Vec<u8>,
}

/// What a wait for a blocking command ended with.
enum Blocked {
    Done(OpResult),
    Read(usize),
    Gone,
}

/// What a connection's wait between rounds ended with.
enum Woke {
    Read(std::io::Result<usize>),
    Pushes,
    Stop,
}

impl Connection {
    pub fn new(shard: Rc<Shard>, stream: TcpStream) -> Connection {
        let now = now_ms();
        let id = shard.clients.borrow_mut().next_id(shard.id, shard.nshards);
        let addr = stream
            .peer_addr()
            .unwrap_or_else(|_| ([0, 0, 0, 0], 0).into());
        let laddr = stream
            .local_addr()
            .unwrap_or_else(|_| ([0, 0, 0, 0], 0).into());
        let info = Rc::new(RefCell::new(ClientInfo {
            id,
            addr,
            laddr,
            name: Vec::new(),
            lib_name: Vec::new(),
            lib_ver: Vec::new(),
            created_ms: now,
            last_interaction_ms: now,
            db: 0,
            resp: 2,
            last_cmd: "",
            qbuf: 0,
            sub: 0,
            psub: 0,
            ssub: 0,
            blocked: false,
            close: Rc::new(Event::default()),
        }));
        shard.clients.borrow_mut().add(info.clone());
        let nshards = shard.nshards;
        let close = info.borrow().close.clone();
        let _ = stream.set_nodelay(true);
        let mut conn = Connection {
            client: Client {
                shard,
                id,
                db: 0,
                proto: Protocol::Resp2,
                info,
                close_after_reply: false,
                now_ms: now,
                multi: None,
                watching: 0,
                pubsub: Default::default(),
                blocking: None,
            },
            stream,
            parser: RequestParser::new(ParserLimits::default()),
            inbuf: vec![0; READ_CHUNK],
            start: 0,
            filled: 0,
            pipe: Pipeline::new(nshards),
            query_buffer_limit: 0,
            config_epoch: u64::MAX,
            round_lsn: 0,
            close,
            push_out: Vec::new(),
        };
        conn.apply_config();
        conn
    }

    /// Re-reads the limits that CONFIG SET can change.
    fn apply_config(&mut self) {
        let shard = &self.client.shard;
        if self.config_epoch == shard.config_epoch.get() {
            return;
        }
        self.config_epoch = shard.config_epoch.get();
        let cfg = shard.config.borrow();
        self.parser.set_limits(ParserLimits {
            max_bulk_len: cfg.proto_max_bulk_len as usize,
            ..ParserLimits::default()
        });
        self.query_buffer_limit = cfg.client_query_buffer_limit as usize;
    }

    pub async fn run(mut self, shutdown: Rc<Event>) {
        let result = self.serve(&shutdown).await;
        if let Err(e) = result {
            tracing::debug!(client = self.client.id, "connection closed: {e}");
        }
        atomic::unwatch_all(&mut self.client).await;
        super::pubsub::unsubscribe_all(&mut self.client);
        let _ = self.stream.close().await;
        let shard = &self.client.shard;
        shard.clients.borrow_mut().remove(self.client.id);
        shard
            .process
            .clients
            .fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
    }

    async fn serve(&mut self, shutdown: &Event) -> std::io::Result<()> {
        let close = self.close.clone();
        loop {
            // Pushes queued while replies were written, or while waiting below, go out
            // here: between rounds, so never inside a reply.
            let pushes = self.client.pubsub.handle.clone();
            if let Some(h) = &pushes {
                // A steady flood of messages must not keep the connection from seeing
                // shutdown: it never reaches the wait below while pushes keep coming.
                if h.overflowed() || shutdown.fired() {
                    return Ok(());
                }
                if h.has_pending() {
                    self.write_pushes(h).await?;
                    continue;
                }
            }
            self.make_room();
            let read = self.stream.read(&mut self.inbuf[self.filled..]);
            let woke = futures_lite::future::or(async { Woke::Read(read.await) }, async {
                let stop = async {
                    futures_lite::future::or(shutdown.wait(), close.wait()).await;
                    Woke::Stop
                };
                let pushed = async {
                    match &pushes {
                        Some(h) => h.ready().await,
                        None => std::future::pending().await,
                    }
                    Woke::Pushes
                };
                futures_lite::future::or(stop, pushed).await
            })
            .await;
            // glommio reads wait for readiness and then read without blocking, so a read
            // given up for pushes has taken nothing from the socket.
            let n = match woke {
                Woke::Stop => return Ok(()),
                Woke::Pushes => continue,
                Woke::Read(Ok(0)) => return Ok(()),
                Woke::Read(Ok(n)) => n,
                Woke::Read(Err(e)) => return Err(e),
            };
            self.filled += n;
            let shard = self.client.shard.clone();
            Counters::add(&shard.counters.net_input_bytes, n as u64);
            self.apply_config();
            {
                let mut info = self.client.info.borrow_mut();
                self.client.now_ms = now_ms();
                info.last_interaction_ms = self.client.now_ms;
                info.qbuf = self.filled - self.start;
            }
            self.round_lsn = shard.journal().last_lsn();
            let outcome = self.dispatch_input(shutdown).await;
            // Split commands journal their local parts as they run: before `observed`.
            self.pipe.run_split(&shard).await;
            // Taken before waiting for other shards: the local commands have run, and
            // records that other connections journal from now on are not this round's.
            let observed = shard.journal().last_lsn();
            self.pipe.complete_remote(&shard).await;
            if let Err(e) = &outcome {
                self.pipe.out.error(&format!("ERR {e}"));
            }
            self.write_out(observed).await?;
            if outcome.is_err() || self.client.close_after_reply {
                return Ok(());
            }
            if self.filled - self.start > self.query_buffer_limit {
                self.pipe.out.error(
                    "ERR Protocol error: client query buffer exceeds client_query_buffer_limit",
                );
                self.write_out(observed).await?;
                tracing::warn!(
                    client = self.client.id,
                    "closing client that reached the query buffer limit"
                );
                return Ok(());
            }
        }
    }

    /// Ensures free space for the next read: drop consumed input, grow when needed (to
    /// the parser's size hint for a large pending bulk, so it is read without re-growing).
    fn make_room(&mut self) {
        if self.start == self.filled {
            self.start = 0;
            self.filled = 0;
            // A big request came and went: give its buffer back.
            if self.inbuf.len() > SHRINK_ABOVE {
                self.inbuf = vec![0; READ_CHUNK];
            }
        }
        if self.inbuf.len() - self.filled >= READ_CHUNK {
            return;
        }
        if self.start > 0 {
            self.inbuf.copy_within(self.start..self.filled, 0);
            self.filled -= self.start;
            self.start = 0;
        }
        if self.inbuf.len() - self.filled < READ_CHUNK {
            let want = (self.inbuf.len() * 2).max(self.filled + READ_CHUNK);
            self.inbuf.resize(want, 0);
        }
    }

    /// Parses and dispatches every complete command in the buffer.
    async fn dispatch_input(&mut self, shutdown: &Event) -> Result<(), ProtocolError> {
        loop {
            let parsed = self.parser.parse(&self.inbuf[self.start..self.filled])?;
            match parsed {
                Parsed::Command { consumed } => {
                    let argv = self.parser.argv(&self.inbuf[self.start..self.filled]);
                    dispatch(&mut self.client, &mut self.pipe, &argv).await;
                    self.start += consumed;
                    if let Some((s, args)) = self.client.blocking.take() {
                        self.run_blocking(s, args, shutdown).await?;
                    }
                    if let Some(h) = &self.client.pubsub.handle {
                        // Messages that arrived while this command ran follow its reply.
                        h.set_proto(self.client.proto);
                        if h.has_pending() {
                            h.drain_into(&mut self.pipe.target(self.client.proto).buf);
                        }
                    }
                    if self.pipe.queued >= MAX_QUEUED
                        || self.pipe.out.len() + self.pipe.held.len() >= FLUSH_AT
                    {
                        let shard = self.client.shard.clone();
                        self.pipe.run_split(&shard).await;
                        let observed = shard.journal().last_lsn();
                        self.pipe.complete_remote(&shard).await;
                        self.write_out(observed)
                            .await
                            .map_err(|_| ProtocolError("connection lost".into()))?;
                    }
                    if self.client.close_after_reply {
                        return Ok(());
                    }
                }
                Parsed::Empty { consumed } => self.start += consumed,
                Parsed::Incomplete { hint } => {
                    if hint > 0 && self.start + hint > self.inbuf.len() {
                        // Make room for the pending argument in large steps instead of
                        // doubling from 16 KiB, but never more than a step ahead of the
                        // bytes that actually arrived: a client that announces a 512 MB
                        // bulk and sends nothing must not make us commit 512 MB.
                        let pending = self.filled - self.start;
                        self.inbuf.copy_within(self.start..self.filled, 0);
                        self.start = 0;
                        self.filled = pending;
                        let want = hint.min(pending + GROW_STEP) + READ_CHUNK;
                        if want > self.inbuf.len() {
                            self.inbuf.resize(want, 0);
                        }
                    }
                    return Ok(());
                }
            }
        }
    }

    /// Writes the replies gathered so far. `observed`: the shard's last LSN right after
    /// the commands behind them ran locally. Under `durability=always` the replies leave
    /// only once that LSN is durable, so that no acknowledged write can be lost and no
    /// read returns a value a crash could still take back (Redis's `appendfsync always`
    /// gives the same: replies go out after the fsync of their event-loop round).
    /// Records journaled later, by other connections, are not waited for.
    async fn write_out(&mut self, observed: u64) -> std::io::Result<()> {
        if self.pipe.out.is_empty() {
            return Ok(());
        }
        let shard = &self.client.shard;
        if let Err(why) = shard.ack_writes(observed).await {
            // The WAL failed: writes cannot be acknowledged, but reads still are.
            if observed > self.round_lsn {
                tracing::warn!(client = self.client.id, "closing connection: {why}");
                return Err(std::io::Error::other(why.to_string()));
            }
        }
        Counters::add(
            &self.client.shard.counters.net_output_bytes,
            self.pipe.out.len() as u64,
        );
        let r = write_or_close(&mut self.stream, &self.pipe.out.buf, &self.close).await;
        self.pipe.out.buf.clear();
        if self.pipe.out.buf.capacity() > 4 * FLUSH_AT {
            self.pipe.out.buf.shrink_to(READ_CHUNK);
        }
        r
    }
}

impl Connection {
    /// Runs a blocking command on shard `s`, which owns its keys, or across the shards
    /// (`server::blocking`) when `s` is `None`. The replies before it
    /// go out first (it may wait forever). While it waits, the socket is watched: input
    /// is kept for later, and a client that goes away (or shutdown) unblocks it.
    async fn run_blocking(
        &mut self,
        s: Option<ShardId>,
        args: Vec<Vec<u8>>,
        shutdown: &Event,
    ) -> Result<(), ProtocolError> {
        let shard = self.client.shard.clone();
        let lost = || ProtocolError("connection lost".into());
        let observed = shard.journal().last_lsn();
        self.write_out(observed).await.map_err(|_| lost())?;
        let id = self.client.id;
        let (db, proto) = (self.client.db, self.client.proto);
        let cancel = Rc::new(std::cell::Cell::new(false));
        let mut call = {
            let shard = shard.clone();
            let cancel = cancel.clone();
            Box::pin(async move {
                match s {
                    Some(s) => {
                        shard
                            .op(
                                s,
                                ShardOp::Block {
                                    id,
                                    db,
                                    proto,
                                    args,
                                },
                            )
                            .await
                    }
                    None => super::blocking::block_across(shard, id, db, proto, args, cancel).await,
                }
            })
        };
        let close = self.close.clone();
        self.client.info.borrow_mut().blocked = true;
        let result = loop {
            self.make_room();
            // Input past the query buffer limit is not read until the command is done.
            let full = self.filled - self.start > self.query_buffer_limit;
            let read = self.stream.read(&mut self.inbuf[self.filled..]);
            let woke =
                futures_lite::future::or(async { Blocked::Done(call.as_mut().await) }, async {
                    let stop = async {
                        futures_lite::future::or(shutdown.wait(), close.wait()).await;
                        Blocked::Gone
                    };
                    let read = async {
                        if full {
                            std::future::pending::<()>().await;
                        }
                        match read.await {
                            Ok(0) | Err(_) => Blocked::Gone,
                            Ok(n) => Blocked::Read(n),
                        }
                    };
                    futures_lite::future::or(stop, read).await
                })
                .await;
            match woke {
                Blocked::Done(r) => break Some(r),
                Blocked::Read(n) => {
                    self.filled += n;
                    Counters::add(&shard.counters.net_input_bytes, n as u64);
                }
                Blocked::Gone => break None,
            }
        };
        if result.is_none() && s.is_none() {
            // A pop across shards may hold locks: it is told to stop, woken and waited
            // for rather than dropped.
            cancel.set(true);
            let all: Vec<ShardId> = (0..shard.nshards).collect();
            super::blocking::unwatch(&shard, id, &all).await;
            call.as_mut().await;
        }
        drop(call);
        self.client.info.borrow_mut().blocked = false;
        self.client.now_ms = now_ms();
        let out = self.pipe.target(self.client.proto);
        match result {
            Some(OpResult::Reply(bytes)) => out.raw(&bytes),
            Some(OpResult::Error(e)) => out.error(&e),
            Some(_) => out.error("ERR internal error: unexpected shard reply"),
            None => {
                // Its shard forgets the waiter, so that no element is popped for it
                // (one across shards has unwatched above).
                if let Some(s) = s {
                    shard.op(s, ShardOp::Unblock { id }).await;
                }
                self.client.close_after_reply = true;
            }
        }
        Ok(())
    }

    /// Writes the pushes queued for this subscriber.
    async fn write_pushes(&mut self, h: &super::pubsub::Subscriber) -> std::io::Result<()> {
        h.drain_into(&mut self.push_out);
        Counters::add(
            &self.client.shard.counters.net_output_bytes,
            self.push_out.len() as u64,
        );
        let r = write_or_close(&mut self.stream, &self.push_out, &self.close).await;
        self.push_out.clear();
        if self.push_out.capacity() > 4 * FLUSH_AT {
            self.push_out = Vec::new();
        }
        r
    }
}

/// Writes `buf`, unless the connection is closed first: a client that stopped reading
/// must not keep its connection (and a subscriber's growing queue) alive.
async fn write_or_close(stream: &mut TcpStream, buf: &[u8], close: &Event) -> std::io::Result<()> {
    let write = async { Some(stream.write_all(buf).await) };
    match futures_lite::future::or(write, async {
        close.wait().await;
        None
    })
    .await
    {
        Some(r) => r,
        None => Err(std::io::Error::other("closed while writing")),
    }
}

/// Runs one command (or queues it for its shard).
async fn dispatch(client: &mut Client, pipe: &mut Pipeline, argv: &Argv<'_>) {
    let spec = Registry::get().lookup(argv.get(0));
    // Gathered split commands run before anything that does not join them.
    if pipe.split.is_some() && !spec.is_some_and(|spec| joins_split(client, spec, argv)) {
        pipe.run_split(&client.shard).await;
    }
    let Some(spec) = spec else {
        if let Some(m) = &mut client.multi {
            m.failed = true;
        }
        pipe.target(client.proto)
            .error(commands::unknown_command(argv).message());
        return;
    };
    // An alternative spelling is made canonical first: arity, key positions and routing
    // all apply to the canonical arguments. Only such calls pay for the span list.
    if let Some(spans) = spec.rewrite.and_then(|f| f(argv)) {
        let canonical = Argv::new(argv.base(), &spans);
        return dispatch_spec(client, pipe, spec, &canonical).await;
    }
    dispatch_spec(client, pipe, spec, argv).await
}

async fn dispatch_spec(
    client: &mut Client,
    pipe: &mut Pipeline,
    spec: &'static commands::CommandSpec,
    argv: &Argv<'_>,
) {
    if !shape_ok(spec, argv) {
        if let Some(m) = &mut client.multi {
            m.failed = true;
        }
        pipe.target(client.proto)
            .error(CmdError::wrong_arity(spec.name).message());
        return;
    }
    // A subscribed RESP2 connection can only tell replies from messages for the few
    // commands whose replies look like them.
    if client.pubsub.active()
        && client.proto == Protocol::Resp2
        && !super::pubsub::allowed_while_subscribed(spec.name)
    {
        let sub = if argv.len() > 1 { argv.get(1) } else { b"" };
        pipe.target(client.proto)
            .error(super::pubsub::refused_while_subscribed(spec, sub).message());
        return;
    }
    client.info.borrow_mut().last_cmd = spec.name;
    if let Some(m) = &mut client.multi {
        if !commands::transaction::runs_inside_multi(spec) {
            m.queue.push(owned(argv));
            pipe.target(client.proto).simple(b"QUEUED");
            return;
        }
    }
    let shard = client.shard.clone();
    if spec.has(commands::flags::BLOCKING) {
        // Runs on the shard owning its keys once the earlier commands are done; the
        // connection waits for it before dispatching more (see `run_blocking`).
        pipe.complete_remote(&shard).await;
        match route(spec, argv, shard.nshards) {
            Route::One(s) => client.blocking = Some((Some(s), owned(argv))),
            Route::Many => client.blocking = Some((None, owned(argv))),
        }
        return;
    }
    match spec.run {
        Run::Conn(f) => {
            Counters::add(&shard.counters.commands, 1);
            let proto_before = client.proto;
            let out = pipe.target(client.proto);
            if let Err(e) = f(client, argv, out) {
                out.error(e.message());
            }
            if client.proto != proto_before {
                // Batches already queued keep the protocol their commands were sent in.
                pipe.complete_remote(&shard).await;
            }
            if spec.name == "reset" {
                atomic::unwatch_all(client).await;
            }
        }
        Run::Shard(f) => match route(spec, argv, shard.nshards) {
            Route::One(s) if s == shard.id => {
                // A shard whose WAL failed takes no more writes, here as in `run_batch`.
                if spec.has(commands::flags::WRITE) {
                    if let Some(why) = shard.journal().failure() {
                        pipe.target(client.proto).error(&why);
                        return;
                    }
                }
                // A key held by a cross-shard transaction is waited for.
                if !shard.locks.borrow().is_empty() {
                    shard.wait_command_free(client.db as u32, argv).await;
                }
                let mut dbs = shard.dbs.borrow_mut();
                let mut rng = shard.rng.borrow_mut();
                let mut ctx = ShardCtx {
                    dbs: &mut dbs,
                    db: client.db,
                    now_ms: client.now_ms,
                    out: pipe.target(client.proto),
                    rng: &mut rng,
                };
                commands::run_shard_command(f, &mut ctx, argv);
                Counters::add(&shard.counters.commands, 1);
                // Clients blocked on what this wrote are served before the next command.
                if !shard.blocked.borrow().is_empty() {
                    shard.mark_written(client.db, Some(spec), argv);
                    if shard.blocked.borrow().has_ready() {
                        shard.serve_blocked(&mut dbs, &mut rng);
                    }
                }
            }
            Route::One(s) => pipe.enqueue(s, client.db, client.proto, argv),
            Route::Many if splits(client, spec) => {
                pipe.gather_split(client, spec, argv).await;
            }
            Route::Many => {
                pipe.complete_remote(&shard).await;
                let out = pipe.target(client.proto);
                let result = match spec.cross {
                    Cross::Coord(f) if !atomic::can_gather(spec, argv) => {
                        f(client, owned(argv), out).await
                    }
                    Cross::No | Cross::Coord(_) => {
                        atomic::run_gathered(client, spec, argv, out, None).await
                    }
                    how => coordinator::split_by_shard(client, spec, how, argv, out, None).await,
                };
                if let Err(e) = result {
                    out.error(e.message());
                }
                client.now_ms = now_ms();
            }
        },
        Run::Coord(f) => {
            Counters::add(&shard.counters.commands, 1);
            pipe.complete_remote(&shard).await;
            let out = pipe.target(client.proto);
            if let Err(e) = f(client, owned(argv), out).await {
                out.error(e.message());
            }
            client.now_ms = now_ms();
        }
    }
}

fn owned(argv: &Argv<'_>) -> Vec<Vec<u8>> {
    argv.iter().map(<[u8]>::to_vec).collect()
}
