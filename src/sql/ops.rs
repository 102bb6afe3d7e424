//! What the coordinator of a statement asks of a shard (`SqlOp`, carried by
//! `ShardOp::Sql`) and how the shard carries it out: run a query fragment, or change
//! rows. Each op runs on the shard without interruption except fragment scans, which
//! yield between chunks; so one shard's part of a write is atomic.

use std::rc::Rc;
use std::sync::Arc;

use serde_json::{Map, Value as Doc};

use super::error::{sql_bail, SqlError, SqlResult};
use super::expr::Expr;
use super::plan::Fragment;
use super::scan::{self, DocRow, FragmentResult};
use super::schema::{self, TableSchema};
use super::types::SqlType;
use super::value::Datum;
use crate::shard::value::json::{depth, Json, MAX_DEPTH};
use crate::shard::value::Value;
use crate::shard::{now_ms, Shard};

/// One `SET column = expr` of an UPDATE: the field, the new value's expression over
/// the old row, and the column's declared type and NOT NULL.
#[derive(Clone, Debug)]
pub struct Assignment {
    pub column: String,
    pub expr: Expr,
    pub ty: Option<SqlType>,
    pub not_null: bool,
}

#[derive(Debug)]
pub enum SqlOp {
    Scan(Arc<Fragment>),
    /// Adds rows; with `check_only`, only reports whether one of the keys exists.
    Insert {
        db: usize,
        table: String,
        rows: Vec<(Vec<u8>, Doc)>,
        check_only: bool,
        returning: Option<Arc<Returning>>,
    },
    /// Changes (or, with no assignments and `delete`, removes) the rows the fragment's
    /// filter selects; with `dry_run`, only checks that every change would succeed.
    Change {
        frag: Arc<Fragment>,
        assignments: Arc<Vec<Assignment>>,
        delete: bool,
        dry_run: bool,
        returning: Option<Arc<Returning>>,
    },
    /// Stores (`Some`) or removes a schema. `create`: fails if one exists.
    PutSchema {
        db: usize,
        table: String,
        schema: Option<String>,
        create: bool,
    },
    /// Removes every row of a table here; replies the count.
    Truncate {
        db: usize,
        table: String,
    },
    /// Reserves `n` generated integer ids; replies the first.
    NextIds {
        db: usize,
        table: String,
        n: i64,
    },
    /// Reads a table's schema.
    ReadSchema {
        db: usize,
        table: String,
    },
}

impl SqlOp {
    /// Whether the op changes data (refused once the shard's WAL has failed).
    pub fn writes(&self) -> bool {
        match self {
            SqlOp::Scan(_) | SqlOp::ReadSchema { .. } => false,
            SqlOp::Insert { check_only, .. } => !check_only,
            SqlOp::Change { dry_run, .. } => !dry_run,
            SqlOp::PutSchema { .. } | SqlOp::Truncate { .. } | SqlOp::NextIds { .. } => true,
        }
    }
}

/// RETURNING: expressions over the written row, read through the scan columns.
#[derive(Debug)]
pub struct Returning {
    pub columns: Vec<super::plan::ScanColumn>,
    pub exprs: Vec<Expr>,
    pub ctx: super::expr::EvalCtx,
}

#[derive(Debug)]
pub enum SqlReply {
    Fragment(FragmentResult),
    /// Rows written (or that would be), with RETURNING's rows.
    Written {
        count: i64,
        rows: Vec<Vec<Datum>>,
    },
    Id(i64),
    Schema(Option<TableSchema>),
    Error(SqlError),
}

/// Carries out `op` on this shard.
pub async fn serve(shard: &Rc<Shard>, op: SqlOp) -> SqlReply {
    if op.writes() {
        if let Some(why) = shard.journal().failure() {
            return SqlReply::Error(SqlError::new(why.trim_start_matches("ERR ").to_string()));
        }
    }
    let r = match op {
        SqlOp::Scan(frag) => scan::run(shard, &frag).await.map(SqlReply::Fragment),
        SqlOp::Insert {
            db,
            table,
            rows,
            check_only,
            returning,
        } => insert(shard, db, &table, rows, check_only, returning.as_deref()),
        SqlOp::Change {
            frag,
            assignments,
            delete,
            dry_run,
            returning,
        } => change(
            shard,
            &frag,
            &assignments,
            delete,
            dry_run,
            returning.as_deref(),
        ),
        SqlOp::PutSchema {
            db,
            table,
            schema,
            create,
        } => put_schema(shard, db, &table, schema, create),
        SqlOp::Truncate { db, table } => Ok(truncate(shard, db, &table)),
        SqlOp::NextIds { db, table, n } => next_ids(shard, db, &table, n),
        SqlOp::ReadSchema { db, table } => read_schema(shard, db, &table).map(SqlReply::Schema),
    };
    r.unwrap_or_else(SqlReply::Error)
}

fn returning_rows(
    returning: Option<&Returning>,
    key: &[u8],
    prefix_len: usize,
    doc: &Map<String, Doc>,
    out: &mut Vec<Vec<Datum>>,
) -> SqlResult<()> {
    if let Some(r) = returning {
        let row = DocRow::new(doc, &key[prefix_len..], &r.columns);
        let mut vals = Vec::with_capacity(r.exprs.len());
        for e in &r.exprs {
            vals.push(e.eval(&row, &r.ctx)?);
        }
        out.push(vals);
    }
    Ok(())
}

fn insert(
    shard: &Shard,
    db: usize,
    table: &str,
    rows: Vec<(Vec<u8>, Doc)>,
    check_only: bool,
    returning: Option<&Returning>,
) -> SqlResult<SqlReply> {
    let now = now_ms();
    let mut dbs = shard.dbs.borrow_mut();
    let Some(ks) = dbs.get_mut(db) else {
        sql_bail!("invalid database");
    };
    // Every check before the first write, so that the shard's part is all or nothing.
    for (key, _) in &rows {
        if ks.find_live(key, now).is_some() {
            let pk = String::from_utf8_lossy(&key[table.len() + 1..]).into_owned();
            sql_bail!(
                "duplicate key value violates unique constraint \"{table}_pkey\" (key {pk} exists)"
            );
        }
    }
    let mut returned = Vec::new();
    let count = rows.len() as i64;
    if check_only {
        return Ok(SqlReply::Written {
            count,
            rows: returned,
        });
    }
    for (key, doc) in &rows {
        if let Doc::Object(m) = doc {
            returning_rows(returning, key, table.len() + 1, m, &mut returned)?;
        }
    }
    for (key, doc) in rows {
        ks.insert_new(&key, Value::Json(Box::new(Json::new(doc))), now);
    }
    Ok(SqlReply::Written {
        count,
        rows: returned,
    })
}

/// Builds the changed document: the old one with the assigned fields replaced.
fn apply_assignments(
    frag: &Fragment,
    key: &[u8],
    prefix_len: usize,
    old: &Map<String, Doc>,
    assignments: &[Assignment],
) -> SqlResult<Map<String, Doc>> {
    let row = DocRow::new(old, &key[prefix_len..], &frag.columns);
    let mut values = Vec::with_capacity(assignments.len());
    for a in assignments {
        let v = a.expr.eval(&row, &frag.ctx)?;
        let v = match a.ty {
            Some(ty) => ty.coerce(v)?,
            None => v,
        };
        if a.not_null && v.is_null() {
            sql_bail!(
                "null value in column \"{}\" of relation \"{}\" violates not-null constraint",
                a.column,
                frag.table
            );
        }
        values.push(v);
    }
    let mut new = old.clone();
    for (a, v) in assignments.iter().zip(values) {
        let j = v.to_json();
        if depth(&j) >= MAX_DEPTH {
            sql_bail!("value of column \"{}\" is nested too deeply", a.column);
        }
        new.insert(a.column.clone(), j);
    }
    Ok(new)
}

fn change(
    shard: &Shard,
    frag: &Fragment,
    assignments: &[Assignment],
    delete: bool,
    dry_run: bool,
    returning: Option<&Returning>,
) -> SqlResult<SqlReply> {
    let prefix_len = frag.table.len() + 1;
    let matched = scan::matching_rows(shard, frag)?;
    let mut returned = Vec::new();
    let mut changes = Vec::with_capacity(matched.len());
    // Compute every new row first: an error leaves this shard's rows untouched.
    for (key, old) in matched {
        if delete {
            returning_rows(returning, &key, prefix_len, &old, &mut returned)?;
            changes.push((key, None));
        } else {
            let new = apply_assignments(frag, &key, prefix_len, &old, assignments)?;
            returning_rows(returning, &key, prefix_len, &new, &mut returned)?;
            changes.push((key, Some(new)));
        }
    }
    let count = changes.len() as i64;
    if !dry_run {
        let now = now_ms();
        let mut dbs = shard.dbs.borrow_mut();
        let ks = &mut dbs[frag.db];
        for (key, new) in changes {
            match new {
                None => {
                    ks.remove(&key);
                }
                Some(doc) => {
                    if let Some(slot) = ks.find_live(&key, now) {
                        ks.replace_value(
                            slot,
                            Value::Json(Box::new(Json::new(Doc::Object(doc)))),
                            None,
                        );
                    }
                }
            }
        }
    }
    Ok(SqlReply::Written {
        count,
        rows: returned,
    })
}

fn put_schema(
    shard: &Shard,
    db: usize,
    table: &str,
    schema: Option<String>,
    create: bool,
) -> SqlResult<SqlReply> {
    let key = schema::schema_key(table);
    let now = now_ms();
    let mut dbs = shard.dbs.borrow_mut();
    let Some(ks) = dbs.get_mut(db) else {
        sql_bail!("invalid database");
    };
    let exists = ks.find_live(&key, now).is_some();
    match schema {
        Some(text) => {
            if exists && create {
                sql_bail!("relation \"{table}\" already exists");
            }
            let doc: Doc = match serde_json::from_str(&text) {
                Ok(d) => d,
                Err(e) => sql_bail!("internal error: schema does not serialize: {e}"),
            };
            ks.insert(&key, Value::Json(Box::new(Json::new(doc))), None, now);
            Ok(SqlReply::Written {
                count: 1,
                rows: Vec::new(),
            })
        }
        None => {
            let removed = ks.remove(&key).is_some() as i64;
            ks.remove(&schema::sequence_key(table));
            Ok(SqlReply::Written {
                count: removed,
                rows: Vec::new(),
            })
        }
    }
}

fn truncate(shard: &Shard, db: usize, table: &str) -> SqlReply {
    let prefix = schema::row_prefix(table);
    let now = now_ms();
    let mut dbs = shard.dbs.borrow_mut();
    let Some(ks) = dbs.get_mut(db) else {
        return SqlReply::Written {
            count: 0,
            rows: Vec::new(),
        };
    };
    let mut keys = Vec::new();
    ks.scan(0, usize::MAX, |e| {
        if e.key.starts_with(&prefix) && scan::row_doc(&e.value).is_some() {
            keys.push(e.key.to_vec());
        }
    });
    let mut count = 0;
    for k in keys {
        if ks.find_live(&k, now).is_some() {
            count += 1;
        }
        ks.remove(&k);
    }
    SqlReply::Written {
        count,
        rows: Vec::new(),
    }
}

fn next_ids(shard: &Shard, db: usize, table: &str, n: i64) -> SqlResult<SqlReply> {
    let key = schema::sequence_key(table);
    let now = now_ms();
    let mut dbs = shard.dbs.borrow_mut();
    let Some(ks) = dbs.get_mut(db) else {
        sql_bail!("invalid database");
    };
    let last = match ks.find_live(&key, now) {
        Some(slot) => match &ks.entry(slot).value {
            Value::Str(s) => std::str::from_utf8(s)
                .ok()
                .and_then(|s| s.parse::<i64>().ok())
                .unwrap_or(0),
            _ => 0,
        },
        None => 0,
    };
    let Some(end) = last.checked_add(n) else {
        sql_bail!("nextval: reached maximum value of sequence \"{table}_id_seq\"");
    };
    ks.insert(
        &key,
        Value::Str(itoa::Buffer::new().format(end).as_bytes().to_vec()),
        None,
        now,
    );
    Ok(SqlReply::Id(last + 1))
}

/// The schema stored on this shard for `table`, if any (the catalog's read).
pub fn read_schema(shard: &Shard, db: usize, table: &str) -> SqlResult<Option<TableSchema>> {
    let key = schema::schema_key(table);
    let now = now_ms();
    let mut dbs = shard.dbs.borrow_mut();
    let Some(ks) = dbs.get_mut(db) else {
        return Ok(None);
    };
    match ks.find_live(&key, now) {
        Some(slot) => match &ks.entry(slot).value {
            Value::Json(j) => TableSchema::from_json(j.doc()).map(Some),
            _ => sql_bail!(
                "the key {} does not hold a schema",
                String::from_utf8_lossy(&key)
            ),
        },
        None => Ok(None),
    }
}
