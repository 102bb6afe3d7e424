//! The JSON document family (RedisJSON 2.x commands, reply shapes and error texts):
//! JSON.SET/GET/MGET/MSET/DEL/FORGET/TYPE, the number, string, array and object
//! commands, TOGGLE, CLEAR and RESP.
//!
//! # Paths
//!
//! A path starting with `$` is JSONPath: it may select any number of values, and a
//! command replies with one element per match (nil where the match has the wrong type).
//! Any other path is a legacy path (`.`, `.a.b`, `a[0]`): the command replies with a
//! single value — the last one changed, or the first one read — and with an error when
//! nothing suitable matched, as RedisJSON does. Legacy error texts name the path in its
//! JSONPath spelling (`.a` as `$.a`) wherever RedisJSON does.
//!
//! # The short form
//!
//! Earlier MemFlux documentation spelled paths into the key: `JSON.SET user.name '"x"'`
//! (JSON.SET with no path argument) and `JSON.GET user.name` (JSON.GET with only the
//! key). When the key argument of such a call contains a `.` that is not its first byte,
//! the key is the part before the first `.` and the rest is a legacy path: the calls
//! above are `JSON.SET user .name '"x"'` and `JSON.GET user .name`. The rewrite happens
//! before routing (the key decides the shard). A key that itself contains a dot stays
//! reachable with an explicit path: `JSON.GET a.b $`, `JSON.SET a.b $ 1`.
//!
//! # Writes
//!
//! Every change replaces the document in the journal as a whole (`Keyspace::modify`),
//! and a command validates everything it can fail on before it changes anything, so a
//! failed command leaves the document as it was. Documents are capped at
//! [`MAX_DEPTH`] levels of nesting, checked on every value that enters one.

use super::util::int_arg;
use super::{
    flags::*, spec, CmdError, CmdResult, CommandSpec, Cross, LocalBoxFuture, OwnedArgs, Run,
    ShardCtx,
};
use crate::json::format::{self, Tree};
use crate::json::path::{self, Loc, Path, Step};
use crate::protocol::argv::Span;
use crate::protocol::{reply_reader, Argv, PackedArgs, ReplyBuf};
use crate::server::client::Client;
use crate::shard::keyspace::{Keyspace, Slot};
use crate::shard::mesh::{Batch, BatchReply};
use crate::shard::value::json::{depth, MAX_DEPTH};
use crate::shard::value::{Json, Value};
use crate::shard::{join_all, shard_of};
use serde_json::{Number, Value as Doc};

// ---------------------------------------------------------------------------------------
// Arguments

/// A path argument: its text (replies and errors quote it) and what it parses to.
struct PathArg<'a> {
    text: &'a str,
    path: Path,
}

impl PathArg<'_> {
    /// The legacy root, for commands whose path is optional.
    fn root() -> PathArg<'static> {
        PathArg {
            text: ".",
            path: Path {
                legacy: true,
                steps: Vec::new(),
            },
        }
    }

    fn legacy(&self) -> bool {
        self.path.legacy
    }

    /// The path as RedisJSON's legacy error texts spell it: its JSONPath form.
    fn shown(&self) -> String {
        if !self.legacy() {
            self.text.to_string()
        } else if self.text.is_empty() || self.text == "." {
            "$".to_string()
        } else if self.text.starts_with('.') {
            format!("${}", self.text)
        } else {
            format!("$.{}", self.text)
        }
    }
}

fn parse_path(arg: &[u8]) -> Result<PathArg<'_>, CmdError> {
    let text = std::str::from_utf8(arg).map_err(|_| {
        CmdError::msg("ERR invalid JSONPath syntax at offset 0: the path is not valid UTF-8")
    })?;
    let path = path::parse(text).map_err(|e| CmdError::msg(e.to_string()))?;
    Ok(PathArg { text, path })
}

/// The optional path argument at `i`, the legacy root when absent.
fn opt_path<'a>(argv: &Argv<'a>, i: usize) -> Result<PathArg<'a>, CmdError> {
    if argv.len() > i {
        parse_path(argv.get(i))
    } else {
        Ok(PathArg::root())
    }
}

fn too_deep() -> CmdError {
    CmdError::msg(format!(
        "ERR recursion limit exceeded: documents nest at most {MAX_DEPTH} levels"
    ))
}

/// A JSON value argument. serde_json refuses nesting deeper than `MAX_DEPTH` itself.
fn parse_value(arg: &[u8]) -> Result<Doc, CmdError> {
    serde_json::from_slice(arg).map_err(|e| CmdError::msg(format!("ERR {e}")))
}

fn parse_values(argv: &Argv<'_>, from: usize) -> Result<Vec<Doc>, CmdError> {
    argv.iter().skip(from).map(parse_value).collect()
}

/// A number argument of NUMINCRBY/NUMMULTBY, read as JSON.
fn parse_number(arg: &[u8]) -> Result<Number, CmdError> {
    match parse_value(arg)? {
        Doc::Number(n) => Ok(n),
        _ => Err(CmdError::msg("ERR expected a number")),
    }
}

/// Whether a value fits at `loc` without passing the nesting cap.
fn fits_at(loc: &[Loc], value_depth: usize) -> bool {
    loc.len() + value_depth <= MAX_DEPTH
}

fn no_such_key() -> CmdError {
    CmdError::msg("ERR could not perform this operation on a key that doesn't exist")
}

fn path_missing(shown: &str) -> CmdError {
    CmdError::msg(format!("ERR Path '{shown}' does not exist"))
}

fn path_missing_or(shown: &str, or: &str) -> CmdError {
    CmdError::msg(format!("ERR Path '{shown}' does not exist or {or}"))
}

fn expected(what: &str, found: &Doc) -> CmdError {
    CmdError::msg(format!(
        "WRONGTYPE wrong type of path value - expected {what} but found {}",
        format::type_name(found)
    ))
}

// ---------------------------------------------------------------------------------------
// Documents in the keyspace

fn doc_of(v: &Value) -> Result<&Doc, CmdError> {
    match v {
        Value::Json(j) => Ok(j.doc()),
        _ => Err(CmdError::WrongType),
    }
}

/// The document at `key` for a read command; None when the key is missing.
fn read_doc<'k>(ks: &'k mut Keyspace, key: &[u8], now: u64) -> Result<Option<&'k Doc>, CmdError> {
    match ks.lookup_read(key, now) {
        None => Ok(None),
        Some(slot) => doc_of(&ks.entry(slot).value).map(Some),
    }
}

/// The document at `key` for a write command, with its slot.
fn write_doc<'k>(
    ks: &'k mut Keyspace,
    key: &[u8],
    now: u64,
) -> Result<Option<(Slot, &'k Doc)>, CmdError> {
    match ks.lookup(key, now) {
        None => Ok(None),
        Some(slot) => doc_of(&ks.entry(slot).value).map(|d| Some((slot, d))),
    }
}

/// Changes the document in `slot` (journaled as a whole).
fn change<R>(ks: &mut Keyspace, slot: Slot, f: impl FnOnce(&mut Doc) -> R) -> R {
    ks.modify(slot, |v| match v {
        Value::Json(j) => j.change(f),
        // Every caller found a document in this slot just before.
        _ => unreachable!("type checked before the change"),
    })
}

/// Where `path` matches, each location kept only when `fits` holds for its value.
fn matches(doc: &Doc, path: &Path, fits: impl Fn(&Doc) -> bool) -> Vec<Option<Vec<Loc>>> {
    let locs = path::locate(doc, path);
    locs.into_iter()
        .map(|l| path::get(doc, &l).filter(|v| fits(v)).map(|_| l))
        .collect()
}

/// Applies `f` to every kept location, in order, as one change of the document; nothing
/// is journaled when no location was kept. A location that an earlier application made
/// disappear gives None.
fn apply_each<T>(
    ks: &mut Keyspace,
    slot: Slot,
    targets: &[Option<Vec<Loc>>],
    mut f: impl FnMut(&mut Doc) -> T,
) -> Vec<Option<T>> {
    if targets.iter().all(Option::is_none) {
        return targets.iter().map(|_| None).collect();
    }
    change(ks, slot, |doc| {
        targets
            .iter()
            .map(|t| t.as_ref().and_then(|l| path::get_mut(doc, l)).map(&mut f))
            .collect()
    })
}

// ---------------------------------------------------------------------------------------
// Replies

fn reply_ints(out: &mut ReplyBuf, results: &[Option<i64>]) {
    out.array(results.len());
    for r in results {
        match r {
            Some(n) => out.int(*n),
            None => out.null(),
        }
    }
}

/// A value as compact JSON text in a bulk string.
fn reply_json(out: &mut ReplyBuf, v: &Doc) {
    out.bulk(format::to_string(v, "", "", "").as_bytes());
}

fn type_bulk(v: &Doc) -> &'static [u8] {
    format::type_name(v).as_bytes()
}

// ---------------------------------------------------------------------------------------
// JSON.SET, JSON.MSET

/// What a JSON.SET of one key and path will do.
enum SetPlan {
    /// Nothing (NX/XX not met, or nowhere to write): the reply is nil.
    Skip,
    /// The key is missing: create it with the value.
    Create,
    /// Replace the whole document.
    Root(Slot),
    /// Write at these locations (existing values, or new keys in existing objects).
    At(Slot, Vec<Vec<Loc>>),
}

/// Decides what `JSON.SET key path value [NX|XX]` does, or fails, without changing
/// anything (RedisJSON's rules: existing matches are replaced; only when there are none
/// is a definite path's last key added to its parent object).
fn plan_set(
    ks: &mut Keyspace,
    key: &[u8],
    path: &Path,
    value_depth: usize,
    nx: bool,
    xx: bool,
    now: u64,
) -> Result<SetPlan, CmdError> {
    let Some((slot, doc)) = write_doc(ks, key, now)? else {
        if xx {
            return Ok(SetPlan::Skip);
        }
        if !path.is_root() {
            return Err(CmdError::msg("ERR new objects must be created at the root"));
        }
        return Ok(SetPlan::Create);
    };
    if path.is_root() {
        return Ok(if nx {
            SetPlan::Skip
        } else {
            SetPlan::Root(slot)
        });
    }
    if !nx {
        let existing = path::locate(doc, path);
        if !existing.is_empty() {
            if existing.iter().any(|l| !fits_at(l, value_depth)) {
                return Err(too_deep());
            }
            return Ok(SetPlan::At(slot, existing));
        }
    }
    if xx {
        return Ok(SetPlan::Skip);
    }
    if !path.is_definite() {
        // RedisJSON's text, capitalization included.
        return Err(CmdError::msg("Err wrong static path"));
    }
    match path.steps.split_last() {
        Some((Step::Key(k), parent)) => {
            let parent = Path {
                legacy: path.legacy,
                steps: parent.to_vec(),
            };
            let mut new = Vec::new();
            for loc in path::locate(doc, &parent) {
                let Some(Doc::Object(members)) = path::get(doc, &loc) else {
                    continue;
                };
                if members.contains_key(k) {
                    continue; // NX, and the key is there
                }
                let mut l = loc;
                l.push(Loc::Key(k.clone()));
                if !fits_at(&l, value_depth) {
                    return Err(too_deep());
                }
                new.push(l);
            }
            Ok(if new.is_empty() {
                SetPlan::Skip
            } else {
                SetPlan::At(slot, new)
            })
        }
        _ => {
            if path::locate(doc, path).is_empty() {
                Err(CmdError::msg("ERR array index out of range"))
            } else {
                Ok(SetPlan::Skip) // NX, and the element is there
            }
        }
    }
}

/// Carries out a plan; returns whether anything was written.
fn apply_set(ks: &mut Keyspace, key: &[u8], plan: SetPlan, value: Doc, now: u64) -> bool {
    match plan {
        SetPlan::Skip => false,
        SetPlan::Create => {
            ks.insert_new(key, Value::Json(Box::new(Json::new(value))), now);
            true
        }
        SetPlan::Root(slot) => {
            // A whole new document keeps the key's TTL, as RedisJSON does.
            ks.replace_value(slot, Value::Json(Box::new(Json::new(value))), None);
            true
        }
        SetPlan::At(slot, locs) => change(ks, slot, |doc| {
            let mut wrote = false;
            let mut value = Some(value);
            let last = locs.len() - 1;
            for (i, l) in locs.iter().enumerate() {
                // The last location takes the value itself; earlier ones a copy.
                let v = if i == last {
                    value.take().unwrap_or(Doc::Null)
                } else {
                    value.clone().unwrap_or(Doc::Null)
                };
                wrote |= path::set(doc, l, v);
            }
            wrote
        }),
    }
}

/// # Format
/// `JSON.SET key path value [NX | XX]`
fn json_set(ctx: &mut ShardCtx<'_>, argv: &Argv<'_>) -> CmdResult {
    let (mut nx, mut xx) = (false, false);
    for arg in argv.iter().skip(4) {
        if arg.eq_ignore_ascii_case(b"NX") && !nx && !xx {
            nx = true;
        } else if arg.eq_ignore_ascii_case(b"XX") && !nx && !xx {
            xx = true;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    let key = argv.get(1);
    let path = parse_path(argv.get(2))?;
    let value = parse_value(argv.get(3))?;
    let now = ctx.now_ms;
    let ks = &mut ctx.dbs[ctx.db];
    let plan = plan_set(ks, key, &path.path, depth(&value), nx, xx, now)?;
    if apply_set(ks, key, plan, value, now) {
        ctx.out.ok();
    } else {
        ctx.out.null();
    }
    Ok(())
}

/// # Format
/// `JSON.MSET key path value [key path value ...]`
///
/// Every triple is checked before any is written, so a bad one changes nothing (on one
/// shard; see `Cross::AllOk` for keys on several).
fn json_mset(ctx: &mut ShardCtx<'_>, argv: &Argv<'_>) -> CmdResult {
    if argv.len() < 4 || !(argv.len() - 1).is_multiple_of(3) {
        return Err(CmdError::wrong_arity("json.mset"));
    }
    let now = ctx.now_ms;
    let ks = &mut ctx.dbs[ctx.db];
    let mut triples = Vec::with_capacity((argv.len() - 1) / 3);
    for i in (1..argv.len()).step_by(3) {
        let key = argv.get(i);
        let path = parse_path(argv.get(i + 1))?;
        let value = parse_value(argv.get(i + 2))?;
        let d = depth(&value);
        plan_set(ks, key, &path.path, d, false, false, now)?;
        triples.push((key, path, value, d));
    }
    for (key, path, value, d) in triples {
        // Planned again: an earlier triple may have changed this key.
        if let Ok(plan) = plan_set(ks, key, &path.path, d, false, false, now) {
            apply_set(ks, key, plan, value, now);
        }
    }
    ctx.out.ok();
    Ok(())
}

// ---------------------------------------------------------------------------------------
// JSON.GET, JSON.MGET, JSON.TYPE, JSON.RESP

/// # Format
/// `JSON.GET key [INDENT s] [NEWLINE s] [SPACE s] [NOESCAPE] [path ...]`
fn json_get(ctx: &mut ShardCtx<'_>, argv: &Argv<'_>) -> CmdResult {
    let (mut indent, mut newline, mut space) = ("", "", "");
    let mut paths: Vec<PathArg<'_>> = Vec::new();
    let mut i = 2;
    while i < argv.len() {
        let arg = argv.get(i);
        let layout = if arg.eq_ignore_ascii_case(b"INDENT") {
            Some(&mut indent)
        } else if arg.eq_ignore_ascii_case(b"NEWLINE") {
            Some(&mut newline)
        } else if arg.eq_ignore_ascii_case(b"SPACE") {
            Some(&mut space)
        } else {
            None
        };
        if let Some(slot) = layout {
            if i + 1 >= argv.len() {
                return Err(CmdError::wrong_arity("json.get"));
            }
            *slot = std::str::from_utf8(argv.get(i + 1))
                .map_err(|_| CmdError::msg("ERR layout strings must be valid UTF-8"))?;
            i += 2;
            continue;
        }
        // Accepted and ignored, as RedisJSON does (a RedisJSON 1.0 option).
        if !arg.eq_ignore_ascii_case(b"NOESCAPE") {
            paths.push(parse_path(arg)?);
        }
        i += 1;
    }
    if paths.is_empty() {
        paths.push(PathArg::root());
    }
    let now = ctx.now_ms;
    let Some(doc) = read_doc(&mut ctx.dbs[ctx.db], argv.get(1), now)? else {
        ctx.out.null();
        return Ok(());
    };
    let tree = if paths.len() == 1 {
        let p = &paths[0];
        let found = path::values(doc, &p.path);
        if p.legacy() {
            Tree::Node(found.first().ok_or_else(|| path_missing(&p.shown()))?)
        } else {
            Tree::Array(found)
        }
    } else {
        // One member per path; all legacy paths give single values, else every member
        // is the array of its matches.
        let all_legacy = paths.iter().all(PathArg::legacy);
        let mut members: Vec<(&str, Tree<'_>)> = Vec::with_capacity(paths.len());
        for p in &paths {
            let found = path::values(doc, &p.path);
            let t = if all_legacy {
                Tree::Node(found.first().ok_or_else(|| path_missing(p.text))?)
            } else {
                Tree::Array(found)
            };
            // A repeated path is one member.
            match members.iter_mut().find(|(k, _)| *k == p.text) {
                Some(m) => m.1 = t,
                None => members.push((p.text, t)),
            }
        }
        Tree::Object(members)
    };
    ctx.out
        .bulk(format::tree_to_string(&tree, indent, newline, space).as_bytes());
    Ok(())
}

/// # Format
/// `JSON.MGET key [key ...] path` — a missing key, or one holding another type, is nil.
fn json_mget(ctx: &mut ShardCtx<'_>, argv: &Argv<'_>) -> CmdResult {
    let p = parse_path(argv.get(argv.len() - 1))?;
    let now = ctx.now_ms;
    ctx.out.array(argv.len() - 2);
    for i in 1..argv.len() - 1 {
        let doc = read_doc(&mut ctx.dbs[ctx.db], argv.get(i), now)
            .ok()
            .flatten();
        let Some(doc) = doc else {
            ctx.out.null();
            continue;
        };
        let found = path::values(doc, &p.path);
        if p.legacy() {
            match found.first() {
                Some(v) => reply_json(ctx.out, v),
                None => ctx.out.null(),
            }
        } else {
            let text = format::tree_to_string(&Tree::Array(found), "", "", "");
            ctx.out.bulk(text.as_bytes());
        }
    }
    Ok(())
}

/// JSON.MGET over keys on several shards: each shard answers for its keys (with the
/// path), and the answers are put back in key order.
async fn mget_across(c: &mut Client, args: OwnedArgs, out: &mut ReplyBuf) -> CmdResult {
    if args.len() < 3 {
        return Err(CmdError::wrong_arity("json.mget"));
    }
    let shard = c.shard.clone();
    let n = shard.nshards;
    let (name, path) = (&args[0], &args[args.len() - 1]);
    let keys = &args[1..args.len() - 1];
    let mut per_shard: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (i, k) in keys.iter().enumerate() {
        per_shard[shard_of(k, n)].push(i);
    }
    let proto = out.proto;
    let db = c.db as u32;
    let calls: Vec<_> = per_shard
        .iter()
        .enumerate()
        .filter(|(_, idx)| !idx.is_empty())
        .map(|(s, idx)| {
            let mut packed = PackedArgs::new();
            packed.push(
                std::iter::once(name.as_slice())
                    .chain(idx.iter().map(|&i| keys[i].as_slice()))
                    .chain(std::iter::once(path.as_slice())),
            );
            let batch = Batch {
                proto,
                dbs: vec![db],
                args: packed,
            };
            let shard = shard.clone();
            async move {
                let reply = if s == shard.id {
                    let mut reply = BatchReply::default();
                    shard.run_batch(&batch, &mut reply);
                    reply
                } else {
                    shard.call_batch(s, batch).await
                };
                (s, reply)
            }
        })
        .collect();
    let replies = join_all(calls).await;
    let mut slots: Vec<&[u8]> = vec![&[]; keys.len()];
    for (s, r) in &replies {
        if r.ends.is_empty() {
            return Err(CmdError::msg("ERR internal error: shard did not reply"));
        }
        let reply = r.get(0);
        if reply_reader::is_error(reply) {
            // A bad path fails every part alike.
            out.raw(reply);
            return Ok(());
        }
        let elements = reply_reader::elements(reply)
            .ok_or_else(|| CmdError::msg("ERR internal error: bad part reply"))?;
        for (&i, e) in per_shard[*s].iter().zip(elements) {
            slots[i] = e;
        }
    }
    out.array(keys.len());
    for e in slots {
        out.raw(e);
    }
    Ok(())
}

fn mget_cross<'a>(
    c: &'a mut Client,
    args: OwnedArgs,
    out: &'a mut ReplyBuf,
) -> LocalBoxFuture<'a, CmdResult> {
    Box::pin(mget_across(c, args, out))
}

/// # Format
/// `JSON.TYPE key [path]`
fn json_type(ctx: &mut ShardCtx<'_>, argv: &Argv<'_>) -> CmdResult {
    let p = opt_path(argv, 2)?;
    let now = ctx.now_ms;
    let doc = read_doc(&mut ctx.dbs[ctx.db], argv.get(1), now)?;
    let out = &mut *ctx.out;
    // RESP3 wraps the RESP2 reply in one more array.
    if out.resp3() {
        out.array(1);
    }
    let Some(doc) = doc else {
        out.null();
        return Ok(());
    };
    let found = path::values(doc, &p.path);
    if p.legacy() {
        match found.first() {
            Some(v) => out.bulk(type_bulk(v)),
            None => out.null(),
        }
    } else {
        out.array(found.len());
        for v in found {
            out.bulk(type_bulk(v));
        }
    }
    Ok(())
}

/// A value in RedisJSON's RESP form: arrays lead with `[`, objects with `{` and then
/// key, value, key, value...
fn write_resp(out: &mut ReplyBuf, v: &Doc) {
    match v {
        Doc::Null => out.null(),
        Doc::Bool(b) => out.simple(if *b { b"true" } else { b"false" }),
        Doc::Number(n) => match n.as_i64() {
            Some(i) => out.int(i),
            None => out.double(n.as_f64().unwrap_or_default()),
        },
        Doc::String(s) => out.bulk(s.as_bytes()),
        Doc::Array(items) => {
            out.array(items.len() + 1);
            out.simple(b"[");
            for item in items {
                write_resp(out, item);
            }
        }
        Doc::Object(members) => {
            out.array(2 * members.len() + 1);
            out.simple(b"{");
            for (k, item) in members {
                out.bulk(k.as_bytes());
                write_resp(out, item);
            }
        }
    }
}

/// # Format
/// `JSON.RESP key [path]`
fn json_resp(ctx: &mut ShardCtx<'_>, argv: &Argv<'_>) -> CmdResult {
    let p = opt_path(argv, 2)?;
    let now = ctx.now_ms;
    let Some(doc) = read_doc(&mut ctx.dbs[ctx.db], argv.get(1), now)? else {
        ctx.out.null();
        return Ok(());
    };
    let found = path::values(doc, &p.path);
    if p.legacy() {
        write_resp(
            ctx.out,
            found.first().ok_or_else(|| path_missing(&p.shown()))?,
        );
    } else {
        ctx.out.array(found.len());
        for v in found {
            write_resp(ctx.out, v);
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// JSON.DEL, JSON.CLEAR, JSON.TOGGLE

/// # Format
/// `JSON.DEL key [path]` (and JSON.FORGET) — the root deletes the key.
fn json_del(ctx: &mut ShardCtx<'_>, argv: &Argv<'_>) -> CmdResult {
    if argv.len() > 3 {
        return Err(CmdError::wrong_arity(
            if argv.get(0).eq_ignore_ascii_case(b"json.forget") {
                "json.forget"
            } else {
                "json.del"
            },
        ));
    }
    let p = opt_path(argv, 2)?;
    let now = ctx.now_ms;
    let ks = &mut ctx.dbs[ctx.db];
    let Some((slot, doc)) = write_doc(ks, argv.get(1), now)? else {
        ctx.out.int(0);
        return Ok(());
    };
    if p.path.is_root() {
        ks.remove_slot(slot);
        ctx.out.int(1);
        return Ok(());
    }
    let locs = path::locate(doc, &p.path);
    let deleted = if locs.is_empty() {
        0
    } else {
        change(ks, slot, |doc| path::delete(doc, locs))
    };
    ctx.out.int(deleted as i64);
    Ok(())
}

/// # Format
/// `JSON.CLEAR key [path]` — empties arrays and objects and zeroes numbers; replies how
/// many values changed.
fn json_clear(ctx: &mut ShardCtx<'_>, argv: &Argv<'_>) -> CmdResult {
    if argv.len() > 3 {
        return Err(CmdError::wrong_arity("json.clear"));
    }
    let p = opt_path(argv, 2)?;
    let now = ctx.now_ms;
    let ks = &mut ctx.dbs[ctx.db];
    let (slot, doc) = write_doc(ks, argv.get(1), now)?.ok_or_else(no_such_key)?;
    let targets = matches(doc, &p.path, |v| match v {
        Doc::Array(a) => !a.is_empty(),
        Doc::Object(o) => !o.is_empty(),
        Doc::Number(n) => n.as_f64() != Some(0.0),
        _ => false,
    });
    let cleared = apply_each(ks, slot, &targets, |v| match v {
        Doc::Array(a) => a.clear(),
        Doc::Object(o) => o.clear(),
        other => *other = Doc::from(0),
    });
    ctx.out.int(cleared.iter().flatten().count() as i64);
    Ok(())
}

/// # Format
/// `JSON.TOGGLE key path`
fn json_toggle(ctx: &mut ShardCtx<'_>, argv: &Argv<'_>) -> CmdResult {
    let p = parse_path(argv.get(2))?;
    let now = ctx.now_ms;
    let ks = &mut ctx.dbs[ctx.db];
    let (slot, doc) = write_doc(ks, argv.get(1), now)?.ok_or_else(no_such_key)?;
    let targets = matches(doc, &p.path, Doc::is_boolean);
    if p.legacy() && targets.iter().all(Option::is_none) {
        return Err(path_missing_or(&p.shown(), "not a bool"));
    }
    let results = apply_each(ks, slot, &targets, |v| {
        let b = !v.as_bool().unwrap_or(false);
        *v = Doc::Bool(b);
        b
    });
    if p.legacy() {
        let last = results.iter().flatten().last().copied().unwrap_or(false);
        ctx.out.bulk(if last { b"true" } else { b"false" });
    } else {
        ctx.out.array(results.len());
        for r in results {
            match r {
                Some(b) => ctx.out.boolean(b),
                None => ctx.out.null(),
            }
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Numbers

#[derive(Clone, Copy)]
enum NumOp {
    Incr,
    Mult,
}

/// `cur op by`: integers stay integers while the result fits an i64; anything else is
/// computed as a float, which must be finite.
fn num_apply(cur: &Number, by: &Number, op: NumOp) -> Result<Number, CmdError> {
    if let (Some(a), Some(b)) = (cur.as_i64(), by.as_i64()) {
        let r = match op {
            NumOp::Incr => a.checked_add(b),
            NumOp::Mult => a.checked_mul(b),
        };
        if let Some(r) = r {
            return Ok(Number::from(r));
        }
    }
    let (a, b) = (
        cur.as_f64().unwrap_or_default(),
        by.as_f64().unwrap_or_default(),
    );
    let r = match op {
        NumOp::Incr => a + b,
        NumOp::Mult => a * b,
    };
    Number::from_f64(r).ok_or_else(|| CmdError::msg("ERR result is not a finite number"))
}

/// # Format
/// `JSON.NUMINCRBY key path number`, `JSON.NUMMULTBY key path number`
fn num_op(ctx: &mut ShardCtx<'_>, argv: &Argv<'_>, op: NumOp) -> CmdResult {
    let p = parse_path(argv.get(2))?;
    let by = parse_number(argv.get(3))?;
    let now = ctx.now_ms;
    let ks = &mut ctx.dbs[ctx.db];
    let (slot, doc) = write_doc(ks, argv.get(1), now)?.ok_or_else(no_such_key)?;
    let targets = matches(doc, &p.path, Doc::is_number);
    // Every result is computed before anything changes, so an overflow changes nothing.
    let mut new_values = Vec::with_capacity(targets.len());
    for t in &targets {
        new_values.push(match t.as_ref().and_then(|l| path::get(doc, l)) {
            Some(Doc::Number(cur)) => Some(num_apply(cur, &by, op)?),
            _ => None,
        });
    }
    // RESP3 replies numbers for either kind of path; RESP2 a legacy path's last result
    // as text, a JSONPath's results as a JSON array.
    let resp3 = ctx.out.resp3();
    if p.legacy() && !resp3 && targets.iter().all(Option::is_none) {
        return Err(path_missing_or(&p.shown(), "does not contains a number"));
    }
    let mut results = new_values.iter();
    apply_each(ks, slot, &targets, |v| {
        if let Some(Some(n)) = results.next() {
            *v = Doc::Number(n.clone());
        }
    });
    let out = &mut *ctx.out;
    if resp3 {
        out.array(new_values.len());
        for r in &new_values {
            match r {
                None => out.null(),
                Some(n) => match n.as_i64() {
                    Some(i) => out.int(i),
                    None => out.double(n.as_f64().unwrap_or_default()),
                },
            }
        }
    } else if p.legacy() {
        let last = new_values.iter().flatten().last();
        out.bulk(last.map(Number::to_string).unwrap_or_default().as_bytes());
    } else {
        let arr: Vec<Doc> = new_values
            .into_iter()
            .map(|r| r.map_or(Doc::Null, Doc::Number))
            .collect();
        reply_json(out, &Doc::Array(arr));
    }
    Ok(())
}

fn json_numincrby(ctx: &mut ShardCtx<'_>, argv: &Argv<'_>) -> CmdResult {
    num_op(ctx, argv, NumOp::Incr)
}

fn json_nummultby(ctx: &mut ShardCtx<'_>, argv: &Argv<'_>) -> CmdResult {
    num_op(ctx, argv, NumOp::Mult)
}

// ---------------------------------------------------------------------------------------
// Strings

/// # Format
/// `JSON.STRAPPEND key [path] json-string`
fn json_strappend(ctx: &mut ShardCtx<'_>, argv: &Argv<'_>) -> CmdResult {
    let (p, raw) = match argv.len() {
        3 => (PathArg::root(), argv.get(2)),
        4 => (parse_path(argv.get(2))?, argv.get(3)),
        _ => return Err(CmdError::wrong_arity("json.strappend")),
    };
    let suffix = match parse_value(raw)? {
        Doc::String(s) => s,
        _ => {
            return Err(CmdError::msg(format!(
                "WRONGTYPE wrong type of path value - expected string but found {}",
                String::from_utf8_lossy(raw)
            )))
        }
    };
    let now = ctx.now_ms;
    let ks = &mut ctx.dbs[ctx.db];
    let (slot, doc) = write_doc(ks, argv.get(1), now)?.ok_or_else(no_such_key)?;
    let targets = matches(doc, &p.path, Doc::is_string);
    if p.legacy() && targets.iter().all(Option::is_none) {
        return Err(path_missing_or(&p.shown(), "not a string"));
    }
    let results = apply_each(ks, slot, &targets, |v| match v {
        Doc::String(s) => {
            s.push_str(&suffix);
            s.len() as i64
        }
        _ => 0,
    });
    if p.legacy() {
        ctx.out
            .int(results.iter().flatten().last().copied().unwrap_or(0));
    } else {
        reply_ints(ctx.out, &results);
    }
    Ok(())
}

/// # Format
/// `JSON.STRLEN key [path]`
fn json_strlen(ctx: &mut ShardCtx<'_>, argv: &Argv<'_>) -> CmdResult {
    let p = opt_path(argv, 2)?;
    let now = ctx.now_ms;
    let doc = read_doc(&mut ctx.dbs[ctx.db], argv.get(1), now)?;
    let str_len = |v: &Doc| v.as_str().map(|s| s.len() as i64);
    if p.legacy() {
        let Some(doc) = doc else {
            ctx.out.null();
            return Ok(());
        };
        let found = path::values(doc, &p.path);
        let v = found.first().ok_or_else(|| path_missing(&p.shown()))?;
        ctx.out
            .int(str_len(v).ok_or_else(|| expected("string", v))?);
    } else {
        let doc = doc.ok_or_else(no_such_key)?;
        let results: Vec<Option<i64>> = path::values(doc, &p.path)
            .into_iter()
            .map(str_len)
            .collect();
        reply_ints(ctx.out, &results);
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Arrays

/// The arrays `p` selects in `doc`, for an array command: nil-padded for JSONPath; for a
/// legacy path, an error naming `shown` when there is none.
fn array_targets(
    doc: &Doc,
    p: &PathArg<'_>,
    shown: &str,
) -> Result<Vec<Option<Vec<Loc>>>, CmdError> {
    let targets = matches(doc, &p.path, Doc::is_array);
    if p.legacy() && targets.iter().all(Option::is_none) {
        return Err(path_missing_or(shown, "not an array"));
    }
    Ok(targets)
}

fn array_mut(v: &mut Doc) -> &mut Vec<Doc> {
    match v {
        Doc::Array(a) => a,
        // Targets are chosen by `Doc::is_array` just before.
        _ => unreachable!("array checked before the change"),
    }
}

/// Checks that `values` can enter every target array without passing the nesting cap.
fn check_depth(targets: &[Option<Vec<Loc>>], values: &[Doc]) -> CmdResult {
    let deepest = values.iter().map(depth).max().unwrap_or(0);
    for l in targets.iter().flatten() {
        if l.len() + 1 + deepest > MAX_DEPTH {
            return Err(too_deep());
        }
    }
    Ok(())
}

/// Replies with the last result for a legacy path, each result for a JSONPath.
fn reply_lengths(out: &mut ReplyBuf, legacy: bool, results: &[Option<i64>]) {
    if legacy {
        out.int(results.iter().flatten().last().copied().unwrap_or(0));
    } else {
        reply_ints(out, results);
    }
}

/// # Format
/// `JSON.ARRAPPEND key path value [value ...]`
fn json_arrappend(ctx: &mut ShardCtx<'_>, argv: &Argv<'_>) -> CmdResult {
    let p = parse_path(argv.get(2))?;
    let values = parse_values(argv, 3)?;
    let now = ctx.now_ms;
    let ks = &mut ctx.dbs[ctx.db];
    let (slot, doc) = write_doc(ks, argv.get(1), now)?.ok_or_else(no_such_key)?;
    let targets = array_targets(doc, &p, p.text)?;
    check_depth(&targets, &values)?;
    let results = apply_each(ks, slot, &targets, |v| {
        let a = array_mut(v);
        a.extend(values.iter().cloned());
        a.len() as i64
    });
    reply_lengths(ctx.out, p.legacy(), &results);
    Ok(())
}

/// # Format
/// `JSON.ARRINSERT key path index value [value ...]`
fn json_arrinsert(ctx: &mut ShardCtx<'_>, argv: &Argv<'_>) -> CmdResult {
    let p = parse_path(argv.get(2))?;
    let index = int_arg(argv.get(3))?;
    let values = parse_values(argv, 4)?;
    let now = ctx.now_ms;
    let ks = &mut ctx.dbs[ctx.db];
    let (slot, doc) = write_doc(ks, argv.get(1), now)?.ok_or_else(no_such_key)?;
    let targets = array_targets(doc, &p, &p.shown())?;
    check_depth(&targets, &values)?;
    // An index out of bounds for any target fails the command before anything changes.
    for l in targets.iter().flatten() {
        let len = path::get(doc, l)
            .and_then(Doc::as_array)
            .map_or(0, Vec::len) as i64;
        if !(-len..=len).contains(&index) {
            return Err(CmdError::msg("ERR index out of bounds"));
        }
    }
    let results = apply_each(ks, slot, &targets, |v| {
        let a = array_mut(v);
        let len = a.len() as i64;
        let at = (if index < 0 { len + index } else { index }).clamp(0, len) as usize;
        a.splice(at..at, values.iter().cloned());
        a.len() as i64
    });
    reply_lengths(ctx.out, p.legacy(), &results);
    Ok(())
}

/// # Format
/// `JSON.ARRLEN key [path]`
fn json_arrlen(ctx: &mut ShardCtx<'_>, argv: &Argv<'_>) -> CmdResult {
    let p = opt_path(argv, 2)?;
    let now = ctx.now_ms;
    let doc = read_doc(&mut ctx.dbs[ctx.db], argv.get(1), now)?;
    let arr_len = |v: &Doc| v.as_array().map(|a| a.len() as i64);
    if p.legacy() {
        let Some(doc) = doc else {
            ctx.out.null();
            return Ok(());
        };
        let found = path::values(doc, &p.path);
        let n = found.first().and_then(|v| arr_len(v));
        ctx.out
            .int(n.ok_or_else(|| path_missing_or(p.text, "not an array"))?);
    } else {
        let doc = doc.ok_or_else(no_such_key)?;
        let results: Vec<Option<i64>> = path::values(doc, &p.path)
            .into_iter()
            .map(arr_len)
            .collect();
        reply_ints(ctx.out, &results);
    }
    Ok(())
}

/// # Format
/// `JSON.ARRPOP key [path [index]]` — the index defaults to the last element and is
/// clamped to the array.
fn json_arrpop(ctx: &mut ShardCtx<'_>, argv: &Argv<'_>) -> CmdResult {
    if argv.len() > 4 {
        return Err(CmdError::wrong_arity("json.arrpop"));
    }
    let p = opt_path(argv, 2)?;
    let index = if argv.len() > 3 {
        int_arg(argv.get(3))?
    } else {
        -1
    };
    let now = ctx.now_ms;
    let ks = &mut ctx.dbs[ctx.db];
    let (slot, doc) = write_doc(ks, argv.get(1), now)?.ok_or_else(no_such_key)?;
    let mut targets = array_targets(doc, &p, &p.shown())?;
    // Popping from an empty array changes nothing and gives nil.
    for t in targets.iter_mut() {
        if t.as_ref()
            .and_then(|l| path::get(doc, l))
            .and_then(Doc::as_array)
            .is_some_and(Vec::is_empty)
        {
            *t = None;
        }
    }
    let popped = apply_each(ks, slot, &targets, |v| {
        let a = array_mut(v);
        let len = a.len() as i64;
        let at = if index < 0 {
            (len + index).max(0)
        } else {
            index.min(len - 1)
        };
        a.remove(at as usize)
    });
    if p.legacy() {
        match popped.iter().flatten().last() {
            Some(v) => reply_json(ctx.out, v),
            None => ctx.out.null(),
        }
    } else {
        ctx.out.array(popped.len());
        for v in &popped {
            match v {
                Some(v) => reply_json(ctx.out, v),
                None => ctx.out.null(),
            }
        }
    }
    Ok(())
}

/// # Format
/// `JSON.ARRTRIM key path start stop` — keeps `start..=stop` (inclusive, negative
/// counting from the end, clamped as LTRIM does).
fn json_arrtrim(ctx: &mut ShardCtx<'_>, argv: &Argv<'_>) -> CmdResult {
    let p = parse_path(argv.get(2))?;
    let start = int_arg(argv.get(3))?;
    let stop = int_arg(argv.get(4))?;
    let now = ctx.now_ms;
    let ks = &mut ctx.dbs[ctx.db];
    let (slot, doc) = write_doc(ks, argv.get(1), now)?.ok_or_else(no_such_key)?;
    let targets = array_targets(doc, &p, &p.shown())?;
    let results = apply_each(ks, slot, &targets, |v| {
        let a = array_mut(v);
        let len = a.len() as i64;
        let from = if start < 0 {
            (len + start).max(0)
        } else {
            start
        };
        let to = if stop < 0 {
            len + stop
        } else {
            stop.min(len - 1)
        };
        if from > to || from >= len {
            a.clear();
        } else {
            a.truncate(to as usize + 1);
            a.drain(..from as usize);
        }
        a.len() as i64
    });
    reply_lengths(ctx.out, p.legacy(), &results);
    Ok(())
}

/// Equality as ARRINDEX sees it: an integer never equals a float.
fn strict_eq(a: &Doc, b: &Doc) -> bool {
    match (a, b) {
        (Doc::Number(x), Doc::Number(y)) => match (x.is_f64(), y.is_f64()) {
            (false, false) => x == y,
            (true, true) => x.as_f64() == y.as_f64(),
            _ => false,
        },
        (Doc::Array(x), Doc::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| strict_eq(p, q))
        }
        (Doc::Object(x), Doc::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| strict_eq(v, w)))
        }
        _ => a == b,
    }
}

/// The first index of `needle` in `arr[start..stop]`, -1 when absent. `stop` 0 means
/// the end; both count from the end when negative and are clamped to the array.
fn arr_index(arr: &[Doc], needle: &Doc, start: i64, stop: i64) -> i64 {
    let len = arr.len() as i64;
    if len == 0 {
        return -1;
    }
    let start = if start < 0 {
        (len + start).max(0)
    } else {
        start.min(len - 1)
    };
    let stop = match stop {
        0 => len,
        s if s < 0 => (len + s).max(0),
        s => s.min(len),
    };
    (start..stop)
        .find(|&i| strict_eq(&arr[i as usize], needle))
        .unwrap_or(-1)
}

/// # Format
/// `JSON.ARRINDEX key path value [start [stop]]`
fn json_arrindex(ctx: &mut ShardCtx<'_>, argv: &Argv<'_>) -> CmdResult {
    if argv.len() > 6 {
        return Err(CmdError::wrong_arity("json.arrindex"));
    }
    let p = parse_path(argv.get(2))?;
    let needle = parse_value(argv.get(3))?;
    let start = if argv.len() > 4 {
        int_arg(argv.get(4))?
    } else {
        0
    };
    let stop = if argv.len() > 5 {
        int_arg(argv.get(5))?
    } else {
        0
    };
    let now = ctx.now_ms;
    let doc =
        read_doc(&mut ctx.dbs[ctx.db], argv.get(1), now)?.ok_or_else(|| path_missing(p.text))?;
    let found = path::values(doc, &p.path);
    if p.legacy() {
        let v = found.first().ok_or_else(|| path_missing(&p.shown()))?;
        let arr = v.as_array().ok_or_else(|| expected("array", v))?;
        ctx.out.int(arr_index(arr, &needle, start, stop));
    } else {
        let results: Vec<Option<i64>> = found
            .into_iter()
            .map(|v| v.as_array().map(|a| arr_index(a, &needle, start, stop)))
            .collect();
        reply_ints(ctx.out, &results);
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Objects

/// # Format
/// `JSON.OBJKEYS key [path]`
fn json_objkeys(ctx: &mut ShardCtx<'_>, argv: &Argv<'_>) -> CmdResult {
    let p = opt_path(argv, 2)?;
    let now = ctx.now_ms;
    let doc = read_doc(&mut ctx.dbs[ctx.db], argv.get(1), now)?;
    let out = &mut *ctx.out;
    let write_keys = |out: &mut ReplyBuf, members: &serde_json::Map<String, Doc>| {
        out.array(members.len());
        for k in members.keys() {
            out.bulk(k.as_bytes());
        }
    };
    if p.legacy() {
        let Some(v) = doc.and_then(|d| path::values(d, &p.path).into_iter().next()) else {
            out.null();
            return Ok(());
        };
        let members = v
            .as_object()
            .ok_or_else(|| path_missing_or(&p.shown(), "not an object"))?;
        write_keys(out, members);
    } else {
        let doc = doc.ok_or_else(no_such_key)?;
        let found = path::values(doc, &p.path);
        out.array(found.len());
        for v in found {
            match v.as_object() {
                Some(members) => write_keys(out, members),
                None => out.null(),
            }
        }
    }
    Ok(())
}

/// # Format
/// `JSON.OBJLEN key [path]`
fn json_objlen(ctx: &mut ShardCtx<'_>, argv: &Argv<'_>) -> CmdResult {
    let p = opt_path(argv, 2)?;
    let now = ctx.now_ms;
    let doc = read_doc(&mut ctx.dbs[ctx.db], argv.get(1), now)?;
    if p.legacy() {
        let Some(v) = doc.and_then(|d| path::values(d, &p.path).into_iter().next()) else {
            ctx.out.null();
            return Ok(());
        };
        let members = v.as_object().ok_or_else(|| expected("object", v))?;
        ctx.out.int(members.len() as i64);
    } else {
        let doc = doc.ok_or_else(|| path_missing_or(p.text, "not an object"))?;
        let results: Vec<Option<i64>> = path::values(doc, &p.path)
            .into_iter()
            .map(|v| v.as_object().map(|o| o.len() as i64))
            .collect();
        reply_ints(ctx.out, &results);
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// The short form (see the module docs)

/// Splits argument `i` at its first `.` into a key and a legacy path, when it has one
/// past its first byte.
fn split_key(argv: &Argv<'_>, i: usize) -> Option<(Span, Span)> {
    let (start, end) = argv.spans()[i];
    let dot = argv.get(i).iter().position(|&b| b == b'.')?;
    if dot == 0 {
        return None;
    }
    Some(((start, start + dot), (start + dot, end)))
}

/// `JSON.SET key.a.b value` is `JSON.SET key .a.b value`.
fn set_short_form(argv: &Argv<'_>) -> Option<Vec<Span>> {
    if argv.len() != 3 {
        return None;
    }
    let (key, path) = split_key(argv, 1)?;
    let spans = argv.spans();
    Some(vec![spans[0], key, path, spans[2]])
}

/// `JSON.GET key.a.b` is `JSON.GET key .a.b`.
fn get_short_form(argv: &Argv<'_>) -> Option<Vec<Span>> {
    if argv.len() != 2 {
        return None;
    }
    let (key, path) = split_key(argv, 1)?;
    Some(vec![argv.spans()[0], key, path])
}

#[rustfmt::skip]
pub fn commands() -> Vec<CommandSpec> {
    let one = (1, 1, 1);
    vec![
        spec("json.set", -4, WRITE | DENYOOM, one, "module", "1.0.0", "Sets or updates the JSON value at a path.", "O(M+N) where M is the size of the original value (if it exists) and N is the size of the new value", Run::Shard(json_set), Cross::No).rewrite(set_short_form),
        spec("json.get", -2, READONLY, one, "module", "1.0.0", "Gets the value at one or more paths in JSON serialized form.", "O(N) when path is evaluated to a single value where N is the size of the value, O(N) when path is evaluated to multiple values, where N is the size of the key", Run::Shard(json_get), Cross::No).rewrite(get_short_form),
        spec("json.mget", -3, READONLY, (1, -2, 1), "module", "1.0.0", "Returns the values at a path from one or more keys.", "O(M*N) when path is evaluated to a single value where M is the number of keys and N is the size of the value, O(N1+N2+...+Nm) when path is evaluated to multiple values where m is the number of keys and Ni is the size of the i-th key", Run::Shard(json_mget), Cross::Coord(mget_cross)),
        spec("json.mset", -4, WRITE | DENYOOM, (1, -1, 3), "module", "2.6.0", "Sets or updates the JSON value of one or more keys.", "O(K*(M+N)) where k is the number of keys in the command, when path is evaluated to a single value where M is the size of the original value (if it exists) and N is the size of the new value, or O(K*(M+N)) when path is evaluated to multiple values where M is the size of the key and N is the size of the new value * the number of original values in the key", Run::Shard(json_mset), Cross::AllOk),
        spec("json.del", -2, WRITE, one, "module", "1.0.0", "Deletes a value.", "O(N) when path is evaluated to a single value where N is the size of the deleted value, O(N) when path is evaluated to multiple values, where N is the size of the key", Run::Shard(json_del), Cross::No),
        spec("json.forget", -2, WRITE, one, "module", "1.0.0", "Deletes a value (an alias of JSON.DEL).", "O(N) when path is evaluated to a single value where N is the size of the deleted value, O(N) when path is evaluated to multiple values, where N is the size of the key", Run::Shard(json_del), Cross::No),
        spec("json.type", -2, READONLY | FAST, one, "module", "1.0.0", "Returns the type of the JSON value at a path.", "O(1) when path is evaluated to a single value, O(N) when path is evaluated to multiple values, where N is the size of the key", Run::Shard(json_type), Cross::No),
        spec("json.numincrby", 4, WRITE, one, "module", "1.0.0", "Increments the numeric value at a path by a value.", "O(1) when path is evaluated to a single value, O(N) when path is evaluated to multiple values, where N is the size of the key", Run::Shard(json_numincrby), Cross::No),
        spec("json.nummultby", 4, WRITE, one, "module", "1.0.0", "Multiplies the numeric value at a path by a value.", "O(1) when path is evaluated to a single value, O(N) when path is evaluated to multiple values, where N is the size of the key", Run::Shard(json_nummultby), Cross::No),
        spec("json.strappend", -3, WRITE | DENYOOM, one, "module", "1.0.0", "Appends a string to the JSON strings at a path.", "O(1) when path is evaluated to a single value, O(N) when path is evaluated to multiple values, where N is the size of the key", Run::Shard(json_strappend), Cross::No),
        spec("json.strlen", -2, READONLY | FAST, one, "module", "1.0.0", "Returns the length of the JSON string at a path.", "O(1) when path is evaluated to a single value, O(N) when path is evaluated to multiple values, where N is the size of the key", Run::Shard(json_strlen), Cross::No),
        spec("json.arrappend", -4, WRITE | DENYOOM, one, "module", "1.0.0", "Appends one or more values to the arrays at a path.", "O(1) when path is evaluated to a single value, O(N) when path is evaluated to multiple values, where N is the size of the key", Run::Shard(json_arrappend), Cross::No),
        spec("json.arrinsert", -5, WRITE | DENYOOM, one, "module", "1.0.0", "Inserts values into the arrays at a path before an index.", "O(N) when path is evaluated to a single value where N is the size of the array, O(N) when path is evaluated to multiple values, where N is the size of the key", Run::Shard(json_arrinsert), Cross::No),
        spec("json.arrlen", -2, READONLY | FAST, one, "module", "1.0.0", "Returns the length of the arrays at a path.", "O(1) where path is evaluated to a single value, O(N) where path is evaluated to multiple values, where N is the size of the key", Run::Shard(json_arrlen), Cross::No),
        spec("json.arrpop", -2, WRITE, one, "module", "1.0.0", "Removes and returns the element at an index in the arrays at a path.", "O(N) when path is evaluated to a single value where N is the size of the array and the specified index is not the last element, O(1) when path is evaluated to a single value and the specified index is the last element, or O(N) when path is evaluated to multiple values, where N is the size of the key", Run::Shard(json_arrpop), Cross::No),
        spec("json.arrtrim", 5, WRITE, one, "module", "1.0.0", "Trims the arrays at a path to contain only the given inclusive range of indexes.", "O(N) when path is evaluated to a single value where N is the size of the array, O(N) when path is evaluated to multiple values, where N is the size of the key", Run::Shard(json_arrtrim), Cross::No),
        spec("json.arrindex", -4, READONLY, one, "module", "1.0.0", "Returns the index of the first occurrence of a JSON scalar value in the arrays at a path.", "O(N) when path is evaluated to a single value where N is the size of the array, O(N) when path is evaluated to multiple values, where N is the size of the key", Run::Shard(json_arrindex), Cross::No),
        spec("json.objkeys", -2, READONLY, one, "module", "1.0.0", "Returns the keys of the objects at a path.", "O(N) when path is evaluated to a single value, where N is the number of keys in the object, O(N) when path is evaluated to multiple values, where N is the size of the key", Run::Shard(json_objkeys), Cross::No),
        spec("json.objlen", -2, READONLY | FAST, one, "module", "1.0.0", "Returns the number of keys of the objects at a path.", "O(1) when path is evaluated to a single value, O(N) when path is evaluated to multiple values, where N is the size of the key", Run::Shard(json_objlen), Cross::No),
        spec("json.toggle", 3, WRITE, one, "module", "2.0.0", "Toggles the boolean values at a path.", "O(1) when path is evaluated to a single value, O(N) when path is evaluated to multiple values, where N is the size of the key", Run::Shard(json_toggle), Cross::No),
        spec("json.clear", -2, WRITE, one, "module", "2.0.0", "Empties the arrays and objects and sets the numbers at a path to 0.", "O(N) when path is evaluated to a single value where N is the size of the values, O(N) when path is evaluated to multiple values, where N is the size of the key", Run::Shard(json_clear), Cross::No),
        spec("json.resp", -2, READONLY, one, "module", "1.0.0", "Returns the JSON value at a path in Redis Serialization Protocol (RESP).", "O(N) when path is evaluated to a single value, where N is the size of the value, O(N) when path is evaluated to multiple values, where N is the size of the key", Run::Shard(json_resp), Cross::No),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn n(v: Doc) -> Number {
        match v {
            Doc::Number(n) => n,
            _ => panic!("not a number"),
        }
    }

    #[test]
    fn numbers_keep_their_kind() {
        let r = |a: Doc, b: Doc, op| num_apply(&n(a), &n(b), op).unwrap().to_string();
        assert_eq!(r(json!(2), json!(1), NumOp::Incr), "3");
        assert_eq!(r(json!(2.0), json!(1), NumOp::Incr), "3.0");
        assert_eq!(r(json!(2), json!(1.5), NumOp::Incr), "3.5");
        assert_eq!(r(json!(3), json!(-2), NumOp::Mult), "-6");
        assert_eq!(r(json!(2.5), json!(2), NumOp::Mult), "5.0");
        // Past i64: a float.
        assert!(num_apply(&n(json!(i64::MAX)), &n(json!(1)), NumOp::Incr)
            .unwrap()
            .is_f64());
        assert!(num_apply(&n(json!(1e308)), &n(json!(10)), NumOp::Mult).is_err());
    }

    #[test]
    fn arr_index_bounds() {
        let a: Vec<Doc> = vec![json!(1), json!(2), json!(1), json!(1.0)];
        assert_eq!(arr_index(&a, &json!(1), 0, 0), 0);
        assert_eq!(arr_index(&a, &json!(1), 1, 0), 2);
        assert_eq!(arr_index(&a, &json!(1), 1, 2), -1);
        assert_eq!(arr_index(&a, &json!(1), -2, 0), 2);
        assert_eq!(arr_index(&a, &json!(1.0), 0, 0), 3);
        assert_eq!(arr_index(&a, &json!(3), 0, 0), -1);
        assert_eq!(arr_index(&[], &json!(3), 0, 0), -1);
        assert_eq!(arr_index(&a, &json!(1), 0, -2), 0);
        assert_eq!(arr_index(&a, &json!(2), 3, 1), -1);
    }

    #[test]
    fn legacy_paths_are_shown_as_jsonpath() {
        let shown = |t: &str| {
            PathArg {
                text: t,
                path: path::parse(t).unwrap(),
            }
            .shown()
        };
        assert_eq!(shown("."), "$");
        assert_eq!(shown(".a.b"), "$.a.b");
        assert_eq!(shown("a[0]"), "$.a[0]");
        assert_eq!(shown("$..x"), "$..x");
    }
}
