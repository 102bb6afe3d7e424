//! The coordinator's side of a query: send the fragments to the shards that can hold
//! matching rows, gather what they send back, and finish — merge, join, final
//! aggregation, HAVING, DISTINCT, ORDER BY, OFFSET/LIMIT.

use std::rc::Rc;
use std::sync::Arc;

use hashbrown::{HashMap, HashSet};

use super::aggregate::{AggSpec, AggState};
use super::error::{sql_bail, SqlError, SqlResult};
use super::expr::{holds, EvalCtx, Expr};
use super::ops::{SqlOp, SqlReply};
use super::plan::{CoordPlan, Fragment, Join, JoinKind, Output, SelectPlan, Source};
use super::scan::{compare_rows, keep_top, FragmentResult};
use super::schema;
use super::types::SqlType;
use super::value::Datum;
use crate::shard::ops::{OpResult, ShardOp};
use crate::shard::{join_all, shard_of, Shard, ShardId};

/// Sends `op` to shard `s` and unwraps its SQL reply.
pub async fn call(shard: &Rc<Shard>, s: ShardId, op: SqlOp) -> SqlResult<SqlReply> {
    match shard.op(s, ShardOp::Sql(Box::new(op))).await {
        OpResult::Sql(r) => match *r {
            SqlReply::Error(e) => Err(e),
            r => Ok(r),
        },
        OpResult::Error(e) => Err(SqlError::new(e.trim_start_matches("ERR ").to_string())),
        other => sql_bail!("internal error: unexpected shard reply {other:?}"),
    }
}

/// The shards a fragment must run on: the key's owner, or all.
pub fn targets(shard: &Shard, key: Option<&[u8]>) -> Vec<ShardId> {
    match key {
        Some(k) => vec![shard_of(k, shard.nshards)],
        None => (0..shard.nshards).collect(),
    }
}

/// Runs a fragment on every shard it concerns and returns their results.
pub async fn gather(shard: &Rc<Shard>, frag: &Arc<Fragment>) -> SqlResult<Vec<FragmentResult>> {
    let parts = targets(shard, frag.key.as_deref())
        .into_iter()
        .map(|s| (s, frag.clone()));
    run_parts(shard, parts).await
}

/// Runs each fragment on its shard, all at once, and returns their results.
async fn run_parts(
    shard: &Rc<Shard>,
    parts: impl Iterator<Item = (ShardId, Arc<Fragment>)>,
) -> SqlResult<Vec<FragmentResult>> {
    let calls: Vec<_> = parts
        .map(|(s, frag)| call(shard, s, SqlOp::Scan(frag)))
        .collect();
    let mut out = Vec::new();
    for r in join_all(calls).await {
        match r? {
            SqlReply::Fragment(f) => out.push(f),
            other => sql_bail!("internal error: unexpected reply {other:?}"),
        }
    }
    Ok(out)
}

/// Runs a planned query; returns its rows, `plan.output.width` values each.
pub async fn run_select(
    shard: &Rc<Shard>,
    plan: &SelectPlan,
    ctx: &EvalCtx,
) -> SqlResult<Vec<Vec<Datum>>> {
    let out = &plan.output;
    // Every fragment runs at once, except those of tables a lookup join reads by key,
    // which wait for the rows that name their keys; each table's rows arrive as one
    // list.
    let mut parts: Vec<Option<Vec<FragmentResult>>> = Vec::with_capacity(plan.fragments.len());
    let scans = (0..plan.fragments.len()).filter(|&s| !plan.looked_up(s));
    let mut gathered = join_all(scans.map(|s| gather(shard, &plan.fragments[s])).collect())
        .await
        .into_iter();
    for s in 0..plan.fragments.len() {
        parts.push(match plan.looked_up(s) {
            true => None,
            false => Some(gathered.next().expect("one result per scan")?),
        });
    }
    for (src, results) in plan.sources.iter().zip(&parts) {
        let Some(results) = results else { continue };
        if src.schema.is_none() && src.key.is_none() && !results.iter().any(|r| r.seen) {
            sql_bail!("relation \"{}\" does not exist", src.table);
        }
    }
    let rows = match &plan.coord {
        CoordPlan::Merge => parts
            .into_iter()
            .flatten()
            .flatten()
            .flat_map(|r| r.rows)
            .collect(),
        CoordPlan::Aggregate {
            aggs,
            having,
            project,
        } => {
            let mut groups: HashMap<Vec<Datum>, Vec<AggState>> = HashMap::new();
            for r in parts.into_iter().flatten().flatten() {
                for (key, states) in r.groups {
                    match groups.get_mut(&key) {
                        Some(mine) => {
                            for ((spec, m), s) in aggs.iter().zip(mine.iter_mut()).zip(states) {
                                m.merge(spec, s)?;
                            }
                        }
                        None => {
                            groups.insert(key, states);
                        }
                    }
                }
            }
            let tuples = finish_groups(groups, aggs, ctx)?;
            having_project(tuples, having.as_ref(), project, ctx)?
        }
        CoordPlan::Join {
            joins,
            filter,
            aggregate,
            having,
            project,
        } => {
            let mut tables = parts.into_iter();
            let mut acc = tables.next().flatten().map(rows_of).unwrap_or_default();
            for (j, (join, right)) in joins.iter().zip(tables).enumerate() {
                let (frag, src) = (&plan.fragments[j + 1], &plan.sources[j + 1]);
                let right = match right {
                    Some(results) => rows_of(results),
                    None => lookup(shard, frag, src, join, &acc, ctx).await?,
                };
                acc = hash_join(acc, right, src.columns.len(), join, ctx)?;
            }
            if let Some(f) = filter {
                let mut kept = Vec::with_capacity(acc.len());
                for t in acc {
                    if holds(&f.eval(&t, ctx)?, "WHERE")? {
                        kept.push(t);
                    }
                }
                acc = kept;
            }
            aggregate_project(acc, aggregate.as_ref(), having.as_ref(), project, ctx)?
        }
        CoordPlan::Values {
            filter,
            aggregate,
            having,
            project,
        } => {
            let mut rows = vec![Vec::new()];
            if let Some(f) = filter {
                if !holds(&f.eval(&rows[0], ctx)?, "WHERE")? {
                    rows.clear();
                }
            }
            aggregate_project(rows, aggregate.as_ref(), having.as_ref(), project, ctx)?
        }
    };
    Ok(output_stage(rows, out))
}

/// The rows of a lookup join's table that the rows so far can match: the values of
/// the lookup key, coerced to the table's key type, name them. Each shard is sent the
/// keys it owns, once each, and reads only those rows.
///
/// A scan walks every key of a shard, a lookup probes one key per value, and a probe
/// costs a few times a scan's step (each is a cache miss where the walk prefetches).
/// So when the distinct values outnumber half the keys of the database (estimated
/// from this shard's share), the table is scanned instead.
async fn lookup(
    shard: &Rc<Shard>,
    frag: &Arc<Fragment>,
    src: &Source,
    join: &Join,
    left: &[Vec<Datum>],
    ctx: &EvalCtx,
) -> SqlResult<Vec<Vec<Datum>>> {
    let (Some(k), Some(Expr::Column(c))) = (
        join.lookup,
        join.lookup.and_then(|k| join.right_keys.get(k)),
    ) else {
        sql_bail!("internal error: lookup join without a key column");
    };
    let Some(ty) = src.columns[*c].ty else {
        sql_bail!("internal error: lookup join on an untyped key");
    };
    let entries = shard.dbs.borrow().get(frag.db).map_or(0, |ks| ks.len());
    let most = entries.saturating_mul(shard.nshards) / 2;
    let mut keys: Vec<HashSet<Vec<u8>>> = vec![HashSet::new(); shard.nshards];
    let mut distinct = 0;
    let mut checked = false;
    for row in left {
        let v = join.left_keys[k].eval(row, ctx)?;
        if v.is_null() {
            continue;
        }
        if !checked {
            // Keys of types `=` cannot compare are an error, as the comparison would
            // be, even when no row matches.
            let sample = ty.cast_text(match ty {
                SqlType::Uuid => "00000000-0000-0000-0000-000000000000",
                _ => "0",
            })?;
            v.sql_cmp(&sample)?;
            checked = true;
        }
        // A value the key type cannot hold equals no key.
        let Ok(pk) = ty.coerce(v) else { continue };
        let key = schema::row_key(&frag.table, &pk)?;
        if keys[shard_of(&key, shard.nshards)].insert(key) {
            distinct += 1;
            if distinct > most {
                return Ok(rows_of(gather(shard, frag).await?));
            }
        }
    }
    let parts = keys
        .into_iter()
        .enumerate()
        .filter(|(_, keys)| !keys.is_empty())
        .map(|(s, keys)| {
            let part = Fragment {
                lookup: Some(keys.into_iter().collect()),
                ..Fragment::clone(frag)
            };
            (s, Arc::new(part))
        });
    Ok(rows_of(run_parts(shard, parts).await?))
}

/// The rows of the shards' results, as one list.
fn rows_of(results: Vec<FragmentResult>) -> Vec<Vec<Datum>> {
    results.into_iter().flat_map(|r| r.rows).collect()
}

/// Folds `rows` by GROUP BY keys (when aggregating), applies HAVING and projects.
fn aggregate_project(
    rows: Vec<Vec<Datum>>,
    aggregate: Option<&(Vec<Expr>, Vec<AggSpec>)>,
    having: Option<&Expr>,
    project: &[Expr],
    ctx: &EvalCtx,
) -> SqlResult<Vec<Vec<Datum>>> {
    let Some((keys, aggs)) = aggregate else {
        return having_project(rows, None, project, ctx);
    };
    let mut groups: HashMap<Vec<Datum>, Vec<AggState>> = HashMap::new();
    for row in &rows {
        let mut key = Vec::with_capacity(keys.len());
        for k in keys {
            key.push(k.eval(row, ctx)?);
        }
        let states = groups
            .entry(key)
            .or_insert_with(|| aggs.iter().map(AggState::new).collect());
        for (spec, st) in aggs.iter().zip(states.iter_mut()) {
            let v = match &spec.arg {
                Some(a) => Some(a.eval(row, ctx)?),
                None => None,
            };
            st.update(spec, v)?;
        }
    }
    if keys.is_empty() && groups.is_empty() {
        groups.insert(Vec::new(), aggs.iter().map(AggState::new).collect());
    }
    let tuples = finish_groups(groups, aggs, ctx)?;
    having_project(tuples, having, project, ctx)
}

/// Each group as a tuple: its key values, then its aggregates' results.
fn finish_groups(
    groups: HashMap<Vec<Datum>, Vec<AggState>>,
    aggs: &[AggSpec],
    ctx: &EvalCtx,
) -> SqlResult<Vec<Vec<Datum>>> {
    let mut out = Vec::with_capacity(groups.len());
    for (mut key, states) in groups {
        for (spec, st) in aggs.iter().zip(states) {
            key.push(st.finish(spec, ctx)?);
        }
        out.push(key);
    }
    Ok(out)
}

fn having_project(
    rows: Vec<Vec<Datum>>,
    having: Option<&Expr>,
    project: &[Expr],
    ctx: &EvalCtx,
) -> SqlResult<Vec<Vec<Datum>>> {
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        if let Some(h) = having {
            if !holds(&h.eval(&row, ctx)?, "HAVING")? {
                continue;
            }
        }
        let mut p = Vec::with_capacity(project.len());
        for e in project {
            p.push(e.eval(&row, ctx)?);
        }
        out.push(p);
    }
    Ok(out)
}

/// Joins the rows so far with a new table's rows: a hash table over one side's key
/// values, probed with the other's. NULL keys never match. Without equality keys every
/// pair is a candidate.
fn hash_join(
    left: Vec<Vec<Datum>>,
    right: Vec<Vec<Datum>>,
    right_width: usize,
    join: &Join,
    ctx: &EvalCtx,
) -> SqlResult<Vec<Vec<Datum>>> {
    let eval_key = |exprs: &[Expr], row: &Vec<Datum>| -> SqlResult<Option<Vec<Datum>>> {
        let mut key = Vec::with_capacity(exprs.len());
        for e in exprs {
            let v = e.eval(row, ctx)?;
            if v.is_null() {
                return Ok(None);
            }
            key.push(v);
        }
        Ok(Some(key))
    };
    let passes = |row: &Vec<Datum>| -> SqlResult<bool> {
        for c in &join.condition {
            if !holds(&c.eval(row, ctx)?, "JOIN/ON")? {
                return Ok(false);
            }
        }
        Ok(true)
    };
    // Keys of types `=` cannot compare are an error, as the comparison would be; one
    // pair of sample keys tells.
    let sample = |keys: &[Expr], rows: &[Vec<Datum>]| -> SqlResult<Option<Vec<Datum>>> {
        for r in rows {
            if let Some(k) = eval_key(keys, r)? {
                return Ok(Some(k));
            }
        }
        Ok(None)
    };
    if let (Some(l), Some(r)) = (
        sample(&join.left_keys, &left)?,
        sample(&join.right_keys, &right)?,
    ) {
        for (a, b) in l.iter().zip(&r) {
            a.sql_cmp(b)?;
        }
    }
    if join.right_keys.len() == 1 {
        // One key column: the key is the value itself, with no list to allocate.
        let (l, r) = (&join.left_keys[0], &join.right_keys[0]);
        let one = |e: &Expr, row: &Vec<Datum>| -> SqlResult<Option<Datum>> {
            let v = e.eval(row, ctx)?;
            Ok((!v.is_null()).then_some(v))
        };
        probe(
            left,
            &right,
            right_width,
            join.kind,
            |row| one(r, row),
            |row| one(l, row),
            passes,
            true,
        )
    } else {
        probe(
            left,
            &right,
            right_width,
            join.kind,
            |row| eval_key(&join.right_keys, row),
            |row| eval_key(&join.left_keys, row),
            passes,
            !join.right_keys.is_empty(),
        )
    }
}

/// The hash join proper: a table from each right row's key to its position, chained
/// through `next` (so a key with many rows costs no list of its own), probed with each
/// left row's key. No right keys at all: every pair is a candidate.
#[allow(clippy::too_many_arguments)]
fn probe<K: std::hash::Hash + Eq>(
    left: Vec<Vec<Datum>>,
    right: &[Vec<Datum>],
    right_width: usize,
    kind: JoinKind,
    right_key: impl Fn(&Vec<Datum>) -> SqlResult<Option<K>>,
    left_key: impl Fn(&Vec<Datum>) -> SqlResult<Option<K>>,
    passes: impl Fn(&Vec<Datum>) -> SqlResult<bool>,
    keyed: bool,
) -> SqlResult<Vec<Vec<Datum>>> {
    const END: u32 = u32::MAX;
    if right.len() >= END as usize {
        sql_bail!("too many rows to join");
    }
    let mut heads: HashMap<K, u32> = HashMap::new();
    let mut next = vec![END; right.len()];
    if keyed {
        heads.reserve(right.len());
        // Built backwards so each chain lists its rows in their order.
        for (i, r) in right.iter().enumerate().rev() {
            if let Some(k) = right_key(r)? {
                let head = heads.entry(k).or_insert(END);
                next[i] = *head;
                *head = i as u32;
            }
        }
    } else {
        for (i, n) in next.iter_mut().enumerate() {
            *n = if i + 1 < right.len() {
                i as u32 + 1
            } else {
                END
            };
        }
    }
    let all = if right.is_empty() { END } else { 0 };
    let nulls = vec![Datum::Null; right_width];
    let combine = |l: &[Datum], r: &[Datum]| -> Vec<Datum> {
        let mut t = Vec::with_capacity(l.len() + r.len());
        t.extend_from_slice(l);
        t.extend_from_slice(r);
        t
    };
    let mut out = Vec::with_capacity(left.len());
    for l in &left {
        let mut at = if keyed {
            match left_key(l)? {
                Some(k) => heads.get(&k).copied().unwrap_or(END),
                None => END,
            }
        } else {
            all
        };
        let mut matched = false;
        while at != END {
            let t = combine(l, &right[at as usize]);
            if passes(&t)? {
                matched = true;
                out.push(t);
            }
            at = next[at as usize];
        }
        if !matched && kind == JoinKind::Left {
            out.push(combine(l, &nulls));
        }
    }
    Ok(out)
}

/// DISTINCT, ORDER BY, OFFSET and LIMIT over projected rows; drops the sort-only
/// columns.
pub fn output_stage(mut rows: Vec<Vec<Datum>>, out: &Output) -> Vec<Vec<Datum>> {
    if out.distinct {
        let mut seen: HashSet<Vec<Datum>> = HashSet::with_capacity(rows.len());
        rows.retain(|r| seen.insert(r[..out.width].to_vec()));
    }
    if !out.order.is_empty() {
        if let Some(n) = out.top() {
            keep_top(&mut rows, n, &out.order);
        }
        rows.sort_by(|a, b| compare_rows(a, b, &out.order));
    }
    let end = match out.limit {
        Some(l) => out.offset.saturating_add(l).min(rows.len()),
        None => rows.len(),
    };
    let start = out.offset.min(end);
    rows.truncate(end);
    rows.drain(..start);
    for r in rows.iter_mut() {
        r.truncate(out.width);
    }
    rows
}

/// One result row as compact JSON, keys in select-list order; a whole-document column
/// spreads its fields.
pub fn render_row(names: &[String], spread: &[bool], row: &[Datum]) -> String {
    let mut s = String::with_capacity(16 * row.len() + 2);
    s.push('{');
    let mut first = true;
    let mut key = |s: &mut String, k: &str| {
        if !first {
            s.push(',');
        }
        first = false;
        s.push_str(&serde_json::to_string(k).unwrap_or_default());
        s.push(':');
    };
    for ((name, v), whole) in names.iter().zip(row).zip(spread) {
        match v {
            Datum::Json(doc) if *whole => {
                if let serde_json::Value::Object(m) = &**doc {
                    for (k, v) in m {
                        key(&mut s, k);
                        s.push_str(&v.to_string());
                    }
                }
            }
            v => {
                key(&mut s, name);
                v.write_json(&mut s);
            }
        }
    }
    s.push('}');
    s
}
