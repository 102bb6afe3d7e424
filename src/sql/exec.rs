//! The coordinator's side of a query: send the fragments to the shards that can hold
//! matching rows, gather what they send back, and finish — merge, join, final
//! aggregation, HAVING, DISTINCT, ORDER BY, OFFSET/LIMIT.

use std::rc::Rc;
use std::sync::Arc;

use hashbrown::{HashMap, HashSet};

use super::aggregate::{AggSpec, AggState};
use super::error::{sql_bail, SqlError, SqlResult};
use super::expr::{EvalCtx, Expr};
use super::ops::{SqlOp, SqlReply};
use super::plan::{CoordPlan, Fragment, Join, JoinKind, Output, SelectPlan};
use super::scan::{compare_rows, keep_top, FragmentResult};
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
    let calls: Vec<_> = targets(shard, frag.key.as_deref())
        .into_iter()
        .map(|s| call(shard, s, SqlOp::Scan(frag.clone())))
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
    // Every fragment runs at once; each table's rows arrive as one list.
    let mut parts = Vec::with_capacity(plan.fragments.len());
    for r in join_all(plan.fragments.iter().map(|f| gather(shard, f)).collect()).await {
        parts.push(r?);
    }
    for (src, results) in plan.sources.iter().zip(&parts) {
        if src.schema.is_none() && src.key.is_none() && !results.iter().any(|r| r.seen) {
            sql_bail!("relation \"{}\" does not exist", src.table);
        }
    }
    let rows = match &plan.coord {
        CoordPlan::Merge => parts.into_iter().flatten().flat_map(|r| r.rows).collect(),
        CoordPlan::Aggregate {
            aggs,
            nkeys,
            having,
            project,
        } => {
            let mut groups: HashMap<Vec<Datum>, Vec<AggState>> = HashMap::new();
            for r in parts.into_iter().flatten() {
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
            let _ = nkeys;
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
            let mut tables = parts
                .into_iter()
                .map(|results| results.into_iter().flat_map(|r| r.rows).collect::<Vec<_>>());
            let mut acc = tables.next().unwrap_or_default();
            for (join, (right, src)) in joins.iter().zip(tables.zip(plan.sources.iter().skip(1))) {
                acc = hash_join(acc, right, src.columns.len(), join, ctx)?;
            }
            if let Some(f) = filter {
                let mut kept = Vec::with_capacity(acc.len());
                for t in acc {
                    if f.eval(&t, ctx)?.is_true() {
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
                if !f.eval(&rows[0], ctx)?.is_true() {
                    rows.clear();
                }
            }
            aggregate_project(rows, aggregate.as_ref(), having.as_ref(), project, ctx)?
        }
    };
    Ok(output_stage(rows, out))
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
            if !h.eval(&row, ctx)?.is_true() {
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
            if !c.eval(row, ctx)?.is_true() {
                return Ok(false);
            }
        }
        Ok(true)
    };
    let combine = |l: &[Datum], r: &[Datum]| -> Vec<Datum> {
        let mut t = Vec::with_capacity(l.len() + r.len());
        t.extend_from_slice(l);
        t.extend_from_slice(r);
        t
    };
    let mut out = Vec::new();
    let all: Vec<usize> = (0..right.len()).collect();
    let table: Option<HashMap<Vec<Datum>, Vec<usize>>> = if join.right_keys.is_empty() {
        None
    } else {
        let mut t: HashMap<Vec<Datum>, Vec<usize>> = HashMap::with_capacity(right.len());
        for (i, r) in right.iter().enumerate() {
            if let Some(k) = eval_key(&join.right_keys, r)? {
                t.entry(k).or_default().push(i);
            }
        }
        Some(t)
    };
    let nulls = vec![Datum::Null; right_width];
    for l in &left {
        let candidates: &[usize] = match &table {
            None => &all,
            Some(t) => match eval_key(&join.left_keys, l)? {
                Some(k) => t.get(&k).map(|v| v.as_slice()).unwrap_or(&[]),
                None => &[],
            },
        };
        let mut matched = false;
        for &i in candidates {
            let t = combine(l, &right[i]);
            if passes(&t)? {
                matched = true;
                out.push(t);
            }
        }
        if !matched && join.kind == JoinKind::Left {
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
