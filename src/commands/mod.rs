//! Commands: one table of specs drives argument checking, routing, `COMMAND` output and
//! (later) journaling. Each family lives in its own file and lists its commands at the
//! bottom, one line each.
//!
//! A command runs in one of three ways (`Run`):
//! * `Shard`: touches only keys owned by one shard. Runs inline when this core owns the
//!   keys, else travels (batched with the rest of the pipeline) to the owner.
//! * `Conn`: needs only the connection (PING, SELECT, HELLO...). Runs inline.
//! * `Coord`: coordinates several shards (KEYS, FLUSHALL, INFO...). Runs on the
//!   connection's core, async, after the pipeline's earlier commands have completed.
//!
//! A `Shard` command whose keys turn out to span shards is split by its `Cross` rule.

pub mod blocking;
pub mod connection;
pub mod error;
pub mod hash;
pub mod json;
pub mod keys;
pub mod list;
pub mod pubsub;
pub mod server;
pub mod set;
pub mod sql;
pub mod string;
pub mod transaction;
pub(crate) mod util;
pub mod zset;

use std::future::Future;
use std::pin::Pin;
use std::sync::OnceLock;

use hashbrown::HashMap;

pub use error::{CmdError, CmdResult};

use crate::protocol::argv::Span;
use crate::protocol::{Argv, ReplyBuf};
use crate::server::client::Client;
use crate::shard::keyspace::Keyspace;

/// What a shard-local handler works with: this shard's databases and the command's
/// context. It never awaits, so it holds the keyspace exclusively for its whole run.
pub struct ShardCtx<'a> {
    pub dbs: &'a mut [Keyspace],
    /// The client's selected database.
    pub db: usize,
    /// Clock for this command: one reading per batch, as Redis reads it once per command.
    pub now_ms: u64,
    pub out: &'a mut ReplyBuf,
    pub rng: &'a mut fastrand::Rng,
}

impl ShardCtx<'_> {
    /// The selected database.
    #[inline]
    pub fn ks(&mut self) -> &mut Keyspace {
        &mut self.dbs[self.db]
    }
}

/// Turns an alternative spelling of a command into the canonical arguments (see
/// `CommandSpec::rewrite`).
pub type RewriteFn = fn(&Argv<'_>) -> Option<Vec<Span>>;
pub type ShardFn = fn(&mut ShardCtx<'_>, &Argv<'_>) -> CmdResult;
pub type ConnFn = fn(&mut Client, &Argv<'_>, &mut ReplyBuf) -> CmdResult;
/// Owned arguments for coordinated commands (which outlive the input buffer's borrow).
pub type OwnedArgs = Vec<Vec<u8>>;
pub type LocalBoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + 'a>>;
pub type CoordFn =
    for<'a> fn(&'a mut Client, OwnedArgs, &'a mut ReplyBuf) -> LocalBoxFuture<'a, CmdResult>;

#[derive(Clone, Copy)]
pub enum Run {
    Shard(ShardFn),
    Conn(ConnFn),
    Coord(CoordFn),
}

/// How a `Shard` command whose keys live on several shards is carried out: the same
/// command is sent to each shard with that shard's keys, and the replies are combined.
#[derive(Clone, Copy)]
pub enum Cross {
    /// Not splittable: across shards the command is gathered (`server::atomic::
    /// run_gathered`): its keys are copied to the coordinator, its handler runs there
    /// and what changed is stored back, atomically.
    No,
    /// Integer replies are summed (DEL, EXISTS, TOUCH, UNLINK).
    SumInts,
    /// Every part replies `+OK` (MSET).
    AllOk,
    /// Array replies are interleaved back into key order (MGET).
    Interleave,
    /// A dedicated coordinator, for reads that gather less than whole keys (JSON.MGET)
    /// and COPY ... DB; writes are gathered instead (`server::atomic::can_gather`).
    Coord(CoordFn),
}

impl std::fmt::Debug for Cross {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Cross::No => "No",
            Cross::SumInts => "SumInts",
            Cross::AllOk => "AllOk",
            Cross::Interleave => "Interleave",
            Cross::Coord(_) => "Coord",
        })
    }
}

impl std::fmt::Debug for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Run::Shard(_) => "Shard",
            Run::Conn(_) => "Conn",
            Run::Coord(_) => "Coord",
        })
    }
}

/// Command flags, as `COMMAND INFO` reports them.
pub mod flags {
    pub const WRITE: u32 = 1 << 0;
    pub const READONLY: u32 = 1 << 1;
    pub const DENYOOM: u32 = 1 << 2;
    pub const ADMIN: u32 = 1 << 3;
    pub const FAST: u32 = 1 << 4;
    pub const NOSCRIPT: u32 = 1 << 5;
    pub const LOADING: u32 = 1 << 6;
    pub const STALE: u32 = 1 << 7;
    pub const NO_AUTH: u32 = 1 << 8;
    pub const PUBSUB: u32 = 1 << 9;
    pub const BLOCKING: u32 = 1 << 10;

    pub const NAMES: [(u32, &str); 11] = [
        (WRITE, "write"),
        (READONLY, "readonly"),
        (DENYOOM, "denyoom"),
        (ADMIN, "admin"),
        (FAST, "fast"),
        (NOSCRIPT, "noscript"),
        (LOADING, "loading"),
        (STALE, "stale"),
        (NO_AUTH, "no_auth"),
        (PUBSUB, "pubsub"),
        (BLOCKING, "blocking"),
    ];
}

/// Everything the server knows about a command.
#[derive(Debug)]
pub struct CommandSpec {
    /// Lower-case name.
    pub name: &'static str,
    /// Redis arity: exact argument count including the name, or -N for "at least N".
    pub arity: i32,
    pub flags: u32,
    /// Key positions: first, last (negative counts from the end), step. 0,0,0 = no keys.
    pub first_key: i32,
    pub last_key: i32,
    pub step: i32,
    /// Redis command group (`string`, `generic`, `connection`, `server`).
    pub group: &'static str,
    pub since: &'static str,
    pub summary: &'static str,
    pub complexity: &'static str,
    pub run: Run,
    pub cross: Cross,
    /// For commands whose keys move with their arguments (`ZUNIONSTORE dst 2 a b`,
    /// `LMPOP 2 a b LEFT`): finds the key positions instead of first/last/step. Syntax
    /// errors are the handler's to report; this returns what it can.
    pub movable_keys: Option<fn(&Argv<'_>) -> Vec<usize>>,
    /// For commands with an alternative spelling that moves arguments around (the JSON
    /// short form `JSON.GET key.a.b`): returns the canonical arguments as spans into the
    /// same buffer, or None when the call is already canonical. Applied before arity
    /// checks and routing, since it can change which argument is the key.
    pub rewrite: Option<RewriteFn>,
}

impl CommandSpec {
    pub fn has(&self, flag: u32) -> bool {
        self.flags & flag != 0
    }

    pub fn arity_ok(&self, argc: usize) -> bool {
        let a = self.arity;
        if a >= 0 {
            argc == a as usize
        } else {
            argc >= (-a) as usize
        }
    }

    /// Positions of the key arguments of a call.
    pub fn keys_of(&self, argv: &Argv<'_>) -> KeyPositions {
        match self.movable_keys {
            Some(f) => KeyPositions::Listed(f(argv).into_iter()),
            None => self.key_positions(argv.len()),
        }
    }

    /// Positions of the key arguments for a call with `argc` arguments, by first/last/step.
    pub fn key_positions(&self, argc: usize) -> KeyPositions {
        let (first, step) = (self.first_key.max(0) as usize, self.step.max(1) as usize);
        let last = if self.first_key == 0 {
            0
        } else if self.last_key < 0 {
            (argc as i64 + self.last_key as i64).max(0) as usize
        } else {
            (self.last_key as usize).min(argc.saturating_sub(1))
        };
        let count = if self.first_key == 0 || last < first {
            0
        } else {
            (last - first) / step + 1
        };
        KeyPositions::Fixed {
            next: first,
            step,
            left: count,
        }
    }
}

/// Key positions of one call (see `CommandSpec::keys_of`); the common fixed case does
/// not allocate.
pub enum KeyPositions {
    Fixed {
        next: usize,
        step: usize,
        left: usize,
    },
    Listed(std::vec::IntoIter<usize>),
}

impl Iterator for KeyPositions {
    type Item = usize;
    #[inline]
    fn next(&mut self) -> Option<usize> {
        match self {
            KeyPositions::Fixed { next, step, left } => {
                if *left == 0 {
                    return None;
                }
                *left -= 1;
                let p = *next;
                *next += *step;
                Some(p)
            }
            KeyPositions::Listed(it) => it.next(),
        }
    }
}

/// Shorthand used by the family tables at the bottom of each family file.
#[allow(clippy::too_many_arguments)]
pub(crate) const fn spec(
    name: &'static str,
    arity: i32,
    flags: u32,
    keys: (i32, i32, i32),
    group: &'static str,
    since: &'static str,
    summary: &'static str,
    complexity: &'static str,
    run: Run,
    cross: Cross,
) -> CommandSpec {
    CommandSpec {
        name,
        arity,
        flags,
        first_key: keys.0,
        last_key: keys.1,
        step: keys.2,
        group,
        since,
        summary,
        complexity,
        run,
        cross,
        movable_keys: None,
        rewrite: None,
    }
}

impl CommandSpec {
    /// Marks a command whose key positions `f` finds from its arguments.
    pub(crate) const fn movable(mut self, f: fn(&Argv<'_>) -> Vec<usize>) -> CommandSpec {
        self.movable_keys = Some(f);
        self
    }

    /// Gives a command an alternative spelling that `f` turns into the canonical one.
    pub(crate) const fn rewrite(mut self, f: RewriteFn) -> CommandSpec {
        self.rewrite = Some(f);
        self
    }
}

/// The command table, built once per process (it is immutable, so every core reads it).
pub struct Registry {
    specs: Vec<CommandSpec>,
    by_name: HashMap<&'static [u8], usize, ahash::RandomState>,
}

/// The longest command name; longer input cannot be a command.
const MAX_NAME: usize = 32;

impl Registry {
    fn build() -> Registry {
        let mut specs = Vec::new();
        specs.extend(connection::commands());
        specs.extend(server::commands());
        specs.extend(string::commands());
        specs.extend(keys::commands());
        specs.extend(list::commands());
        specs.extend(hash::commands());
        specs.extend(set::commands());
        specs.extend(transaction::commands());
        specs.extend(pubsub::commands());
        specs.extend(json::commands());
        specs.extend(zset::commands());
        specs.extend(blocking::commands());
        specs.extend(sql::commands());
        let mut by_name = HashMap::with_hasher(ahash::RandomState::new());
        for (i, s) in specs.iter().enumerate() {
            debug_assert!(s.name.len() <= MAX_NAME && s.name == s.name.to_ascii_lowercase());
            let dup = by_name.insert(s.name.as_bytes(), i);
            assert!(dup.is_none(), "command {} registered twice", s.name);
        }
        Registry { specs, by_name }
    }

    pub fn get() -> &'static Registry {
        static REGISTRY: OnceLock<Registry> = OnceLock::new();
        REGISTRY.get_or_init(Registry::build)
    }

    /// Case-insensitive lookup without allocating.
    #[inline]
    pub fn lookup(&self, name: &[u8]) -> Option<&CommandSpec> {
        if name.len() > MAX_NAME {
            return None;
        }
        let mut lower = [0u8; MAX_NAME];
        for (d, s) in lower.iter_mut().zip(name) {
            *d = s.to_ascii_lowercase();
        }
        self.by_name
            .get(&lower[..name.len()])
            .map(|&i| &self.specs[i])
    }

    pub fn all(&self) -> &[CommandSpec] {
        &self.specs
    }
}

/// The error for an unknown command, worded as Redis words it: the name cut at 128 bytes,
/// then the arguments quoted one by one while their text stays under 128 bytes, the last
/// one cut to fit.
pub fn unknown_command(argv: &Argv<'_>) -> CmdError {
    const BUDGET: usize = 128;
    let name = argv.get(0);
    let mut args: Vec<u8> = Vec::new();
    for a in argv.iter().skip(1) {
        if args.len() >= BUDGET {
            break;
        }
        let room = BUDGET - args.len();
        args.push(b'\'');
        args.extend_from_slice(&a[..a.len().min(room)]);
        args.extend_from_slice(b"' ");
    }
    CmdError::msg(format!(
        "ERR unknown command '{}', with args beginning with: {}",
        String::from_utf8_lossy(&name[..name.len().min(BUDGET)]),
        String::from_utf8_lossy(&args)
    ))
}

/// Runs a shard-local command and writes its reply (or error).
#[inline]
pub fn run_shard_command(f: ShardFn, ctx: &mut ShardCtx<'_>, argv: &Argv<'_>) {
    // Everything the command changes becomes one journal record, so that a crash keeps
    // all of it or none (MSET, RENAME, MOVE, a SET that also expired the old key...).
    let journal = ctx.dbs.first().and_then(|ks| ks.journal_handle()).cloned();
    if let Some(j) = &journal {
        j.begin_group();
    }
    let result = f(ctx, argv);
    if let Some(j) = &journal {
        j.end_group();
    }
    if let Err(e) = result {
        ctx.out.error(e.message());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_lookup_ignores_case() {
        let r = Registry::get();
        assert_eq!(r.lookup(b"GeT").unwrap().name, "get");
        assert!(r.lookup(b"nosuchcommand").is_none());
        assert!(r.lookup(&[b'a'; 100]).is_none());
    }

    #[test]
    fn key_positions() {
        let r = Registry::get();
        let mset = r.lookup(b"mset").unwrap();
        assert_eq!(mset.key_positions(5).collect::<Vec<_>>(), vec![1, 3]);
        let del = r.lookup(b"del").unwrap();
        assert_eq!(del.key_positions(4).collect::<Vec<_>>(), vec![1, 2, 3]);
        let get = r.lookup(b"get").unwrap();
        assert_eq!(get.key_positions(2).collect::<Vec<_>>(), vec![1]);
        let ping = r.lookup(b"ping").unwrap();
        assert_eq!(ping.key_positions(2).count(), 0);
    }

    #[test]
    fn table_is_consistent() {
        for s in Registry::get().all() {
            assert!(s.arity != 0, "{}", s.name);
            assert!(
                !(s.has(flags::WRITE) && s.has(flags::READONLY)),
                "{} is both write and readonly",
                s.name
            );
            if let Run::Shard(_) = s.run {
                assert!(s.first_key > 0, "{} runs on a shard but has no key", s.name);
            }
        }
    }
}
