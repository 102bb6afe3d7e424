//! Connected clients: the per-connection state commands see (`Client`) and the per-core
//! registry behind CLIENT LIST / CLIENT INFO.

use std::cell::RefCell;
use std::net::SocketAddr;
use std::rc::Rc;

use hashbrown::HashMap;

use crate::protocol::Protocol;
use crate::shard::Shard;

/// What CLIENT LIST shows about a connection. Shared (`Rc`) between the connection and
/// its core's registry, so updating it costs no lookup.
#[derive(Debug, Clone)]
pub struct ClientInfo {
    pub id: u64,
    pub addr: SocketAddr,
    pub laddr: SocketAddr,
    pub name: Vec<u8>,
    pub lib_name: Vec<u8>,
    pub lib_ver: Vec<u8>,
    pub created_ms: u64,
    pub last_interaction_ms: u64,
    pub db: usize,
    pub resp: u8,
    /// Last command name (lower case), e.g. `get` or `client|list`.
    pub last_cmd: &'static str,
    pub qbuf: usize,
    /// Subscriptions: channels, patterns, shard channels.
    pub sub: usize,
    pub psub: usize,
    pub ssub: usize,
    /// Waiting in a blocking command (flag `b` in CLIENT LIST).
    pub blocked: bool,
    /// Fired to close the connection (idle timeout, a subscriber over its output limit).
    pub close: Rc<crate::server::Event>,
}

impl ClientInfo {
    /// One CLIENT LIST line (without the trailing newline), in Redis's field order.
    pub fn line(&self, now_ms: u64) -> String {
        format!(
            "id={} addr={} laddr={} fd=-1 name={} age={} idle={} flags={} db={} sub={} psub={} ssub={} multi=-1 qbuf={} qbuf-free=0 argv-mem=0 multi-mem=0 rbs=0 rbp=0 obl=0 oll=0 omem=0 tot-mem=0 events=r cmd={} user=default redir=-1 resp={} lib-name={} lib-ver={}",
            self.id,
            self.addr,
            self.laddr,
            String::from_utf8_lossy(&self.name),
            now_ms.saturating_sub(self.created_ms) / 1000,
            now_ms.saturating_sub(self.last_interaction_ms) / 1000,
            if self.sub + self.psub + self.ssub > 0 { "P" } else if self.blocked { "b" } else { "N" },
            self.db,
            self.sub,
            self.psub,
            self.ssub,
            self.qbuf,
            if self.last_cmd.is_empty() { "NULL" } else { self.last_cmd },
            self.resp,
            String::from_utf8_lossy(&self.lib_name),
            String::from_utf8_lossy(&self.lib_ver),
        )
    }
}

/// The clients connected to one core.
#[derive(Default)]
pub struct ClientRegistry {
    clients: HashMap<u64, Rc<RefCell<ClientInfo>>>,
    next_seq: u64,
}

impl ClientRegistry {
    /// A new client id, unique across cores without shared state: ids are handed out per
    /// core and interleaved (`seq * shards + shard`).
    pub fn next_id(&mut self, shard: usize, nshards: usize) -> u64 {
        self.next_seq += 1;
        self.next_seq * nshards as u64 + shard as u64
    }
    pub fn add(&mut self, info: Rc<RefCell<ClientInfo>>) {
        let id = info.borrow().id;
        self.clients.insert(id, info);
    }
    pub fn remove(&mut self, id: u64) {
        self.clients.remove(&id);
    }
    pub fn len(&self) -> usize {
        self.clients.len()
    }
    pub fn iter(&self) -> impl Iterator<Item = &Rc<RefCell<ClientInfo>>> {
        self.clients.values()
    }
    pub fn is_empty(&self) -> bool {
        self.clients.is_empty()
    }
    pub fn list_lines(&self, now_ms: u64) -> Vec<String> {
        let mut v: Vec<_> = self.clients.values().map(|c| c.borrow().clone()).collect();
        v.sort_by_key(|c| c.id);
        v.iter().map(|c| c.line(now_ms)).collect()
    }
}

/// A connection's state as commands see it.
pub struct Client {
    pub shard: Rc<Shard>,
    pub id: u64,
    /// Selected logical database.
    pub db: usize,
    pub proto: Protocol,
    pub info: Rc<RefCell<ClientInfo>>,
    /// Set by QUIT (and SHUTDOWN): close once the pending replies are written.
    pub close_after_reply: bool,
    /// The clock for the commands of the current read (one reading per read, refreshed
    /// after every wait), so the per-command path does not read the clock.
    pub now_ms: u64,
    /// Between MULTI and EXEC/DISCARD: the queued commands.
    pub multi: Option<Multi>,
    /// Shards on which this connection WATCHes keys, one bit per shard.
    pub watching: u64,
    /// Pub/sub subscriptions.
    pub pubsub: crate::server::pubsub::ClientSubs,
    /// A blocking command dispatched but not yet run: the shard owning its keys (`None`
    /// when they live on several) and its arguments. The connection runs it before dispatching anything after it.
    pub blocking: Option<(Option<crate::shard::ShardId>, Vec<Vec<u8>>)>,
}

/// A transaction being queued (MULTI ... EXEC).
#[derive(Default)]
pub struct Multi {
    /// The queued commands' arguments, in order.
    pub queue: Vec<Vec<Vec<u8>>>,
    /// A command was refused while queuing (unknown, wrong arity): EXEC must abort.
    pub failed: bool,
}
