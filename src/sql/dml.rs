//! INSERT, UPDATE and DELETE. The coordinator checks and coerces values against the
//! schema, routes each row to the shard that owns its key and collects the counts and
//! RETURNING rows.
//!
//! A write that spans shards is checked everywhere before it changes anything: INSERT
//! locks its keys on every shard (as MSET does), checks that none exists, then
//! writes; UPDATE and DELETE first compute every changed row on every shard (a dry
//! run that catches type errors, NOT NULL and division by zero), then apply.

use std::rc::Rc;
use std::sync::Arc;

use hashbrown::HashSet;
use serde_json::{Map, Value as Doc};
use sqlparser::ast;

use super::bind;
use super::error::{sql_bail, SqlError, SqlResult};
use super::exec::{self, call, targets};
use super::expr::EvalCtx;
use super::ops::{Assignment, Returning, SqlOp, SqlReply};
use super::plan::{Catalog, Fragment, Planner, SelectList, TableBinder};
use super::schema::{self, TableSchema};
use super::types::SqlType;
use super::value::Datum;
use super::{Schemas, SqlOutput};
use crate::server::atomic::Txn;
use crate::shard::locks::{lock_key, LockMode};
use crate::shard::value::json::{depth, MAX_DEPTH};
use crate::shard::{join_all, shard_of, Shard};

/// What a DML statement replies: the count, or RETURNING's rows.
fn reply(count: i64, returning: Option<SelectList>, rows: Vec<Vec<Datum>>) -> SqlOutput {
    match returning {
        None => SqlOutput::Count(count),
        Some(list) => SqlOutput::Rows(
            rows.iter()
                .map(|r| exec::render_row(&list.names, &list.spread, r))
                .collect(),
        ),
    }
}

/// Binds RETURNING over the table's row.
fn bind_returning(
    binder: &mut TableBinder,
    items: Option<&Vec<ast::SelectItem>>,
) -> SqlResult<Option<SelectList>> {
    match items {
        None => Ok(None),
        Some(items) => binder.select_items(items).map(Some),
    }
}

pub async fn insert(
    shard: &Rc<Shard>,
    db: usize,
    ins: &ast::Insert,
    catalog: &Schemas,
    ctx: EvalCtx,
) -> SqlResult<SqlOutput> {
    if ins.on.is_some() || ins.or.is_some() || ins.ignore || ins.replace_into {
        sql_bail!("ON CONFLICT and INSERT OR ... are not supported");
    }
    let table = match &ins.table {
        ast::TableObject::TableName(n) if !ins.into => {
            sql_bail!("syntax error at or near \"{n}\" (INSERT needs INTO)")
        }
        ast::TableObject::TableName(n) => schema::table_name(n)?,
        _ => sql_bail!("INSERT into a table function is not supported"),
    };
    let schema = catalog.schema(&table);
    // The target columns, by name.
    let mut columns: Vec<String> = Vec::with_capacity(ins.columns.len());
    for c in &ins.columns {
        let name = bind::object_name(c)?;
        if columns.contains(&name) {
            sql_bail!("column \"{name}\" specified more than once");
        }
        if let Some(s) = &schema {
            if s.column(&name).is_none() {
                sql_bail!("column \"{name}\" of relation \"{table}\" does not exist");
            }
        }
        columns.push(name);
    }
    if columns.is_empty() {
        match &schema {
            Some(s) => columns = s.columns.iter().map(|c| c.name.clone()).collect(),
            None => sql_bail!(
                "INSERT INTO \"{table}\" needs a column list: the table has no schema (CREATE TABLE declares one)"
            ),
        }
    }

    // The values: VALUES lists of constant expressions, or a query's rows.
    let Some(source) = &ins.source else {
        sql_bail!("INSERT needs VALUES or a query");
    };
    // Each value, and whether it is a bare string literal (see `schema::assign`);
    // `None` is DEFAULT.
    let rows: Vec<Vec<Option<(Datum, bool)>>> = match &*source.body {
        ast::SetExpr::Values(values)
            if source.order_by.is_none() && source.limit_clause.is_none() =>
        {
            let mut rows = Vec::with_capacity(values.rows.len());
            for r in &values.rows {
                let mut row = Vec::with_capacity(r.content.len());
                for e in &r.content {
                    if is_default(e) {
                        row.push(None);
                    } else {
                        let v = bind::bind_const(e)
                            .map_err(|e| match e.0.as_str() {
                                "aggregate functions are not allowed here" => {
                                    SqlError::new("aggregate functions are not allowed in VALUES")
                                }
                                _ => e,
                            })?
                            .eval(&[] as &[Datum], &ctx)?;
                        row.push(Some((v, schema::is_string_literal(e))));
                    }
                }
                rows.push(row);
            }
            rows
        }
        _ => {
            let mut planner = Planner {
                catalog,
                db,
                ctx,
                schemaless: Vec::new(),
            };
            let plan = planner.plan_query(source)?;
            exec::run_select(shard, &plan, &ctx)
                .await?
                .into_iter()
                .map(|r| r.into_iter().map(|v| Some((v, false))).collect())
                .collect()
        }
    };

    // Documents and keys.
    let mut docs = Vec::with_capacity(rows.len());
    for row in rows {
        if row.len() > columns.len() {
            sql_bail!("INSERT has more expressions than target columns");
        }
        if row.len() < columns.len() {
            sql_bail!("INSERT has more target columns than expressions");
        }
        docs.push(build_doc(&table, schema.as_deref(), &columns, row, &ctx)?);
    }
    let keys = assign_keys(shard, db, &table, schema.as_deref(), &mut docs).await?;
    {
        let mut unique_keys = HashSet::with_capacity(keys.len());
        for k in &keys {
            if !unique_keys.insert(k.as_slice()) {
                sql_bail!("duplicate key value violates unique constraint \"{table}_pkey\"");
            }
        }
    }
    if let Some(s) = &schema {
        check_unique(shard, db, s, &docs, &ctx, catalog).await?;
    }

    let mut binder = TableBinder::new(&table, schema.clone());
    let returning = bind_returning(&mut binder, ins.returning.as_ref())?;
    let ret = returning.as_ref().map(|list| {
        Arc::new(Returning {
            columns: binder.columns().to_vec(),
            exprs: list.exprs.clone(),
            ctx,
        })
    });

    // Rows by shard.
    let mut by_shard: Vec<Vec<(Vec<u8>, Doc)>> = vec![Vec::new(); shard.nshards];
    for (key, doc) in keys.into_iter().zip(docs) {
        by_shard[shard_of(&key, shard.nshards)].push((key, Doc::Object(doc)));
    }
    let involved: Vec<usize> = (0..shard.nshards)
        .filter(|&s| !by_shard[s].is_empty())
        .collect();
    let mut count = 0;
    let mut out_rows = Vec::new();
    if involved.len() <= 1 {
        for s in involved {
            let rows = std::mem::take(&mut by_shard[s]);
            let op = SqlOp::Insert {
                db,
                table: table.clone(),
                rows,
                check_only: false,
                returning: ret.clone(),
            };
            if let SqlReply::Written { count: n, rows } = call(shard, s, op).await? {
                count += n;
                out_rows.extend(rows);
            }
        }
    } else {
        // Across shards: lock every key, check that none exists, then write.
        let locks = by_shard
            .iter()
            .map(|rows| {
                rows.iter()
                    .map(|(k, _)| lock_key(db as u32, k, LockMode::Exclusive))
                    .collect()
            })
            .collect();
        let mut txn = Txn::new(shard);
        txn.lock(locks, None, 0)
            .await
            .map_err(|e| SqlError::new(e.to_string()))?;
        let result = insert_locked(shard, db, &table, by_shard, &involved, ret.clone()).await;
        txn.release().await;
        let (n, rows) = result?;
        count = n;
        out_rows = rows;
    }
    Ok(reply(count, returning, out_rows))
}

async fn insert_locked(
    shard: &Rc<Shard>,
    db: usize,
    table: &str,
    mut by_shard: Vec<Vec<(Vec<u8>, Doc)>>,
    involved: &[usize],
    ret: Option<Arc<Returning>>,
) -> SqlResult<(i64, Vec<Vec<Datum>>)> {
    let checks: Vec<_> = involved
        .iter()
        .map(|&s| {
            let rows = by_shard[s]
                .iter()
                .map(|(k, _)| (k.clone(), Doc::Null))
                .collect();
            call(
                shard,
                s,
                SqlOp::Insert {
                    db,
                    table: table.to_string(),
                    rows,
                    check_only: true,
                    returning: None,
                },
            )
        })
        .collect();
    for r in join_all(checks).await {
        r?;
    }
    let writes: Vec<_> = involved
        .iter()
        .map(|&s| {
            let rows = std::mem::take(&mut by_shard[s]);
            call(
                shard,
                s,
                SqlOp::Insert {
                    db,
                    table: table.to_string(),
                    rows,
                    check_only: false,
                    returning: ret.clone(),
                },
            )
        })
        .collect();
    let mut count = 0;
    let mut rows = Vec::new();
    for r in join_all(writes).await {
        if let SqlReply::Written { count: n, rows: r } = r? {
            count += n;
            rows.extend(r);
        }
    }
    Ok((count, rows))
}

/// `DEFAULT` in a VALUES list.
fn is_default(e: &ast::Expr) -> bool {
    matches!(e, ast::Expr::Identifier(i) if i.quote_style.is_none() && i.value.eq_ignore_ascii_case("default"))
}

/// Evaluates a column's DEFAULT.
fn default_value(col: &schema::Column, ctx: &EvalCtx) -> SqlResult<Datum> {
    let Some(text) = &col.default else {
        return Ok(Datum::Null);
    };
    let e = super::parse::parse_expr(text)?;
    bind::bind_const(&e)?.eval(&[] as &[Datum], ctx)
}

fn to_json_checked(v: &Datum, column: &str) -> SqlResult<Doc> {
    let j = v.to_json();
    if depth(&j) >= MAX_DEPTH {
        sql_bail!("value of column \"{column}\" is nested too deeply");
    }
    Ok(j)
}

/// The document of one inserted row. `None` values are DEFAULT.
fn build_doc(
    table: &str,
    schema: Option<&TableSchema>,
    columns: &[String],
    row: Vec<Option<(Datum, bool)>>,
    ctx: &EvalCtx,
) -> SqlResult<Map<String, Doc>> {
    let mut doc = Map::with_capacity(columns.len());
    match schema {
        None => {
            for (name, v) in columns.iter().zip(row) {
                let v = v.map_or(Datum::Null, |(v, _)| v);
                doc.insert(name.clone(), to_json_checked(&v, name)?);
            }
        }
        Some(s) => {
            let mut given: Vec<Option<Option<(Datum, bool)>>> = vec![None; s.columns.len()];
            for (name, v) in columns.iter().zip(row) {
                let p = s.column(name).expect("checked");
                given[p] = Some(v);
            }
            for (p, col) in s.columns.iter().enumerate() {
                let v = match given[p].take() {
                    Some(Some((v, untyped))) => schema::assign(&col.name, col.ty, v, untyped)?,
                    // Left out (or DEFAULT): the default; a left-out key is generated.
                    Some(None) | None => {
                        if col.default.is_none() && s.primary_key == Some(p) {
                            continue;
                        }
                        schema::assign(&col.name, col.ty, default_value(col, ctx)?, true)?
                    }
                };
                if v.is_null() && col.not_null {
                    sql_bail!(
                        "null value in column \"{}\" of relation \"{table}\" violates not-null constraint",
                        col.name
                    );
                }
                doc.insert(col.name.clone(), to_json_checked(&v, &col.name)?);
            }
        }
    }
    Ok(doc)
}

/// The key of each row, generating the ones rows lack: counted integers for an
/// integer key column, else UUIDs.
async fn assign_keys(
    shard: &Rc<Shard>,
    db: usize,
    table: &str,
    schema: Option<&TableSchema>,
    docs: &mut [Map<String, Doc>],
) -> SqlResult<Vec<Vec<u8>>> {
    let key_col = match schema {
        Some(s) => s.key_column().to_string(),
        None => schema::DEFAULT_KEY.to_string(),
    };
    let key_ty: Option<SqlType> = schema.and_then(|s| s.column(&key_col).map(|p| s.columns[p].ty));
    // Stored in the row: the declared key column, or `id` of a schemaless table.
    let stored = schema.is_none_or(|s| s.column(&key_col).is_some());
    let integer = matches!(
        key_ty,
        Some(SqlType::SmallInt | SqlType::Integer | SqlType::BigInt)
    );
    let missing = docs
        .iter()
        .filter(|d| d.get(&key_col).is_none_or(|v| v.is_null()))
        .count();
    let mut next = 0;
    if integer && missing > 0 {
        let seq = schema::sequence_key(table);
        let owner = shard_of(&seq, shard.nshards);
        let op = SqlOp::NextIds {
            db,
            table: table.to_string(),
            n: missing as i64,
        };
        if let SqlReply::Id(first) = call(shard, owner, op).await? {
            next = first;
        }
    }
    let mut keys = Vec::with_capacity(docs.len());
    for doc in docs.iter_mut() {
        let pk = match doc.get(&key_col) {
            Some(v) if !v.is_null() => match key_ty {
                Some(ty) => ty.read(v),
                None => Datum::from_json(v),
            },
            _ => {
                let v = if integer {
                    next += 1;
                    Datum::Int(next - 1)
                } else if key_ty == Some(SqlType::Uuid) {
                    Datum::Uuid(uuid::Uuid::new_v4())
                } else {
                    Datum::Text(uuid::Uuid::new_v4().to_string())
                };
                if stored {
                    // The key column first, as a declared column would be.
                    let mut with_key = Map::with_capacity(doc.len() + 1);
                    if schema.is_none() {
                        with_key.insert(key_col.clone(), v.to_json());
                        with_key.extend(std::mem::take(doc));
                    } else {
                        for (k, val) in std::mem::take(doc) {
                            with_key.insert(k, val);
                        }
                        with_key.insert(key_col.clone(), v.to_json());
                        if let Some(s) = schema {
                            reorder(&mut with_key, s);
                        }
                    }
                    *doc = with_key;
                }
                v
            }
        };
        keys.push(schema::row_key(table, &pk)?);
    }
    Ok(keys)
}

/// Puts a row's fields in schema order.
fn reorder(doc: &mut Map<String, Doc>, s: &TableSchema) {
    let mut out = Map::with_capacity(doc.len());
    for c in &s.columns {
        if let Some(v) = doc.remove(&c.name) {
            out.insert(c.name.clone(), v);
        }
    }
    out.extend(std::mem::take(doc));
    *doc = out;
}

/// UNIQUE constraints: no two new rows, and no new and stored row, share non-NULL
/// values. The stored rows are found by a scan (there are no indexes).
async fn check_unique(
    shard: &Rc<Shard>,
    db: usize,
    s: &TableSchema,
    docs: &[Map<String, Doc>],
    ctx: &EvalCtx,
    catalog: &Schemas,
) -> SqlResult<()> {
    for cols in &s.unique {
        let values = |d: &Map<String, Doc>| -> Option<Vec<Datum>> {
            let mut v = Vec::with_capacity(cols.len());
            for &c in cols {
                let col = &s.columns[c];
                let x = d
                    .get(&col.name)
                    .map(|j| col.ty.read(j))
                    .unwrap_or(Datum::Null);
                if x.is_null() {
                    return None;
                }
                v.push(x);
            }
            Some(v)
        };
        let mut new: HashSet<Vec<Datum>> = HashSet::new();
        let name = s.unique_name(cols);
        for d in docs {
            if let Some(v) = values(d) {
                if !new.insert(v) {
                    sql_bail!("duplicate key value violates unique constraint \"{name}\"");
                }
            }
        }
        if new.is_empty() {
            continue;
        }
        // Stored rows holding one of the new values.
        let sql_cols: Vec<String> = cols
            .iter()
            .map(|&c| format!("\"{}\"", s.columns[c].name))
            .collect();
        let query = format!("SELECT {} FROM \"{}\"", sql_cols.join(", "), s.name);
        let stored = match internal_query(shard, db, &query, catalog, ctx).await {
            Ok(r) => r,
            Err(e) if e.0.contains("does not exist") => Vec::new(),
            Err(e) => return Err(e),
        };
        for r in stored {
            if new.contains(&r) {
                sql_bail!("duplicate key value violates unique constraint \"{name}\"");
            }
        }
    }
    Ok(())
}

/// An UPDATE or DELETE, as parsed.
pub struct Change<'a> {
    pub table: &'a ast::TableWithJoins,
    /// UPDATE's SET list (empty for DELETE).
    pub assignments: &'a [ast::Assignment],
    pub selection: Option<&'a ast::Expr>,
    pub returning: Option<&'a Vec<ast::SelectItem>>,
    pub delete: bool,
}

/// UPDATE and DELETE: the rows the WHERE selects change where they are.
pub async fn change(
    shard: &Rc<Shard>,
    db: usize,
    stmt: Change<'_>,
    catalog: &Schemas,
    ctx: EvalCtx,
) -> SqlResult<SqlOutput> {
    let Change {
        table,
        assignments,
        selection,
        returning,
        delete,
    } = stmt;
    if !table.joins.is_empty() {
        sql_bail!("joins in UPDATE and DELETE are not supported");
    }
    let name = match &table.relation {
        ast::TableFactor::Table {
            name, alias: None, ..
        } => schema::table_name(name)?,
        ast::TableFactor::Table { .. } => {
            sql_bail!("table aliases in UPDATE and DELETE are not supported")
        }
        other => sql_bail!("cannot change {other}"),
    };
    let schema = catalog.schema(&name);
    let mut binder = TableBinder::new(&name, schema.clone());
    let key_col = schema
        .as_ref()
        .map_or(schema::DEFAULT_KEY, |s| s.key_column())
        .to_string();
    let mut sets = Vec::with_capacity(assignments.len());
    let mut moves_key = false;
    for a in assignments {
        let col = match &a.target {
            ast::AssignmentTarget::ColumnName(n) => bind::object_name(n)?,
            ast::AssignmentTarget::Tuple(_) => {
                sql_bail!("multiple-column assignment is not supported")
            }
        };
        if sets.iter().any(|s: &Assignment| s.column == col) {
            sql_bail!("multiple assignments to same column \"{col}\"");
        }
        let (ty, not_null) = match &schema {
            Some(s) => match s.column(&col) {
                Some(p) => (Some(s.columns[p].ty), s.columns[p].not_null),
                None => sql_bail!("column \"{col}\" of relation \"{name}\" does not exist"),
            },
            None => (None, false),
        };
        moves_key |= col == key_col;
        let expr = if is_default(&a.value) {
            match schema
                .as_ref()
                .and_then(|s| s.column(&col).map(|p| &s.columns[p]))
            {
                Some(c) => super::expr::Expr::Literal(default_value(c, &ctx)?),
                None => super::expr::Expr::Literal(Datum::Null),
            }
        } else {
            binder.bind_assignment(&a.value)?
        };
        sets.push(Assignment {
            column: col,
            expr,
            ty,
            not_null,
            untyped: schema::is_string_literal(&a.value),
        });
    }
    if let Some(w) = selection {
        binder.filter(w)?;
    }
    let returning = bind_returning(&mut binder, returning)?;
    // UNIQUE constraints an UPDATE may break: each one's columns, read from the new rows.
    let mut unique_checks = Vec::new();
    // (A table without a PRIMARY KEY keys its rows by hidden ids: not checked here.)
    if let Some(s) = schema.as_ref().filter(|s| s.primary_key.is_some()) {
        for cols in &s.unique {
            if cols
                .iter()
                .any(|&c| sets.iter().any(|a| a.column == s.columns[c].name))
            {
                let mut exprs = vec![binder.bind(&ident_expr(s.key_column()))?];
                for &c in cols {
                    exprs.push(binder.bind(&ident_expr(&s.columns[c].name))?);
                }
                unique_checks.push((cols.clone(), exprs));
            }
        }
    }
    let frag = Arc::new(binder.fragment(db, ctx));
    if let Some(s) = &schema {
        for (cols, exprs) in unique_checks {
            let check = Arc::new(Returning {
                columns: frag.columns.clone(),
                exprs,
                ctx,
            });
            let assignments = Arc::new(sets.clone());
            let calls: Vec<_> = targets(shard, frag.key.as_deref())
                .into_iter()
                .map(|t| {
                    let op = SqlOp::Change {
                        frag: frag.clone(),
                        assignments: assignments.clone(),
                        delete,
                        dry_run: true,
                        returning: Some(check.clone()),
                    };
                    call(shard, t, op)
                })
                .collect();
            let mut changed = Vec::new();
            for r in join_all(calls).await {
                if let SqlReply::Written { rows, .. } = r? {
                    changed.extend(rows);
                }
            }
            check_unique_update(shard, db, s, &cols, changed, catalog, &ctx).await?;
        }
    }
    let ret = returning.as_ref().map(|list| {
        Arc::new(Returning {
            columns: frag.columns.clone(),
            exprs: list.exprs.clone(),
            ctx,
        })
    });
    let sets = Arc::new(sets);
    if moves_key {
        let (count, rows) = move_rows(shard, db, &name, schema.as_deref(), frag, sets, ret).await?;
        return Ok(reply(count, returning, rows));
    }
    let shards = targets(shard, frag.key.as_deref());
    let op = |dry_run: bool| SqlOp::Change {
        frag: frag.clone(),
        assignments: sets.clone(),
        delete,
        dry_run,
        returning: ret.clone(),
    };
    if shards.len() > 1 {
        let calls: Vec<_> = shards.iter().map(|&s| call(shard, s, op(true))).collect();
        for r in join_all(calls).await {
            r?;
        }
    }
    let calls: Vec<_> = shards.iter().map(|&s| call(shard, s, op(false))).collect();
    let mut count = 0;
    let mut rows = Vec::new();
    for r in join_all(calls).await {
        if let SqlReply::Written { count: n, rows: r } = r? {
            count += n;
            rows.extend(r);
        }
    }
    if count == 0 && schema.is_none() {
        // No schema and nothing matched: the table may not exist at all.
        table_exists(shard, db, &name, catalog, &ctx).await?;
    }
    Ok(reply(count, returning, rows))
}

/// An UPDATE that changes primary keys moves its rows: the changed rows are computed
/// first, then under locks on the old and new keys the new keys are checked to be
/// free, the old rows removed and the new ones stored.
async fn move_rows(
    shard: &Rc<Shard>,
    db: usize,
    table: &str,
    schema: Option<&TableSchema>,
    frag: Arc<Fragment>,
    sets: Arc<Vec<Assignment>>,
    ret: Option<Arc<Returning>>,
) -> SqlResult<(i64, Vec<Vec<Datum>>)> {
    let calls: Vec<_> = targets(shard, frag.key.as_deref())
        .into_iter()
        .map(|s| {
            let op = SqlOp::Compute {
                frag: frag.clone(),
                assignments: sets.clone(),
            };
            call(shard, s, op)
        })
        .collect();
    let mut moved = Vec::new();
    for r in join_all(calls).await {
        if let SqlReply::Computed(rows) = r? {
            moved.extend(rows);
        }
    }
    let key_col = schema.map_or(schema::DEFAULT_KEY, |s| s.key_column());
    let key_ty = schema.and_then(|s| s.column(key_col).map(|p| s.columns[p].ty));
    let old: HashSet<Vec<u8>> = moved.iter().map(|(k, _)| k.clone()).collect();
    let mut new_keys: HashSet<Vec<u8>> = HashSet::with_capacity(moved.len());
    let n = shard.nshards;
    let mut inserts: Vec<Vec<(Vec<u8>, Doc)>> = vec![Vec::new(); n];
    let mut checks: Vec<Vec<(Vec<u8>, Doc)>> = vec![Vec::new(); n];
    let mut removes: Vec<Vec<Vec<u8>>> = vec![Vec::new(); n];
    let mut locks: Vec<Vec<_>> = vec![Vec::new(); n];
    for (old_key, doc) in moved {
        let pk = match doc.get(key_col) {
            Some(v) if !v.is_null() => match key_ty {
                Some(ty) => ty.read(v),
                None => Datum::from_json(v),
            },
            _ => sql_bail!(
                "null value in column \"{key_col}\" of relation \"{table}\" violates not-null constraint"
            ),
        };
        let key = schema::row_key(table, &pk)?;
        if !new_keys.insert(key.clone()) {
            sql_bail!("duplicate key value violates unique constraint \"{table}_pkey\"");
        }
        let (from, to) = (shard_of(&old_key, n), shard_of(&key, n));
        locks[from].push(lock_key(db as u32, &old_key, LockMode::Exclusive));
        locks[to].push(lock_key(db as u32, &key, LockMode::Exclusive));
        if !old.contains(&key) {
            checks[to].push((key.clone(), Doc::Null));
        }
        removes[from].push(old_key);
        inserts[to].push((key, doc));
    }
    let mut txn = Txn::new(shard);
    txn.lock(locks, None, 0)
        .await
        .map_err(|e| SqlError::new(e.to_string()))?;
    let result = async {
        let op = |rows, check_only, returning| SqlOp::Insert {
            db,
            table: table.to_string(),
            rows,
            check_only,
            returning,
        };
        let calls: Vec<_> = checks
            .into_iter()
            .enumerate()
            .filter(|(_, rows)| !rows.is_empty())
            .map(|(s, rows)| call(shard, s, op(rows, true, None)))
            .collect();
        for r in join_all(calls).await {
            r?;
        }
        let calls: Vec<_> = removes
            .into_iter()
            .enumerate()
            .filter(|(_, keys)| !keys.is_empty())
            .map(|(s, keys)| call(shard, s, SqlOp::Remove { db, keys }))
            .collect();
        for r in join_all(calls).await {
            r?;
        }
        let calls: Vec<_> = inserts
            .into_iter()
            .enumerate()
            .filter(|(_, rows)| !rows.is_empty())
            .map(|(s, rows)| call(shard, s, op(rows, false, ret.clone())))
            .collect();
        let (mut count, mut rows) = (0, Vec::new());
        for r in join_all(calls).await {
            if let SqlReply::Written { count: c, rows: r } = r? {
                count += c;
                rows.extend(r);
            }
        }
        Ok::<_, SqlError>((count, rows))
    }
    .await;
    txn.release().await;
    result
}

/// A column reference by name, quoted so its case is kept.
fn ident_expr(name: &str) -> ast::Expr {
    ast::Expr::Identifier(ast::Ident::with_quote('"', name))
}

/// After an UPDATE, no two rows may share the non-NULL values of a UNIQUE: `changed`
/// holds each updated row's key and new values, the other rows keep theirs.
async fn check_unique_update(
    shard: &Rc<Shard>,
    db: usize,
    s: &TableSchema,
    cols: &[usize],
    changed: Vec<Vec<Datum>>,
    catalog: &Schemas,
    ctx: &EvalCtx,
) -> SqlResult<()> {
    let name = s.unique_name(cols);
    let mut keys = HashSet::with_capacity(changed.len());
    let mut values: HashSet<Vec<Datum>> = HashSet::with_capacity(changed.len());
    for mut row in changed {
        let key = row.remove(0);
        keys.insert(key);
        if row.iter().any(|v| v.is_null()) {
            continue;
        }
        if !values.insert(row) {
            sql_bail!("duplicate key value violates unique constraint \"{name}\"");
        }
    }
    if values.is_empty() {
        return Ok(());
    }
    let mut list = vec![format!("\"{}\"", s.key_column())];
    list.extend(cols.iter().map(|&c| format!("\"{}\"", s.columns[c].name)));
    let query = format!("SELECT {} FROM \"{}\"", list.join(", "), s.name);
    for mut row in internal_query(shard, db, &query, catalog, ctx).await? {
        let key = row.remove(0);
        if !keys.contains(&key) && values.contains(&row) {
            sql_bail!("duplicate key value violates unique constraint \"{name}\"");
        }
    }
    Ok(())
}

/// Fails with `relation "t" does not exist` when a schemaless table has no rows.
async fn table_exists(
    shard: &Rc<Shard>,
    db: usize,
    table: &str,
    catalog: &Schemas,
    ctx: &EvalCtx,
) -> SqlResult<()> {
    let query = format!("SELECT 1 FROM \"{table}\" LIMIT 1");
    internal_query(shard, db, &query, catalog, ctx)
        .await
        .map(|_| ())
}

/// Runs a query the engine writes for itself (constraint and existence checks).
async fn internal_query(
    shard: &Rc<Shard>,
    db: usize,
    query: &str,
    catalog: &Schemas,
    ctx: &EvalCtx,
) -> SqlResult<Vec<Vec<Datum>>> {
    let ast::Statement::Query(q) = super::parse::parse(query)? else {
        sql_bail!("internal error: not a query: {query}");
    };
    let mut planner = Planner {
        catalog,
        db,
        ctx: *ctx,
        schemaless: Vec::new(),
    };
    let plan = planner.plan_query(&q)?;
    exec::run_select(shard, &plan, ctx).await
}
