//! SQL over JSON documents. A row of table `t` is the JSON document at key `t:<pk>`;
//! `SQL <statement>` runs one statement on the connection's core, which plans it and
//! scatters the per-shard fragments to the shards that can hold matching rows.
//!
//! Stages, one file each:
//! * `parse` — sqlparser (PostgreSQL dialect), with positions in syntax errors.
//! * `bind` — the AST's expressions to `expr::Expr`, names resolved by a `Scope`.
//! * `plan` — a SELECT to a `SelectPlan`: per-shard `Fragment`s (scan, filter,
//!   projection or partial aggregation, top-N) and the coordinator's `CoordPlan`.
//! * `scan` — a fragment run over one shard's rows, yielding between chunks.
//! * `exec` — the coordinator: gather, merge, hash joins, final aggregation, ORDER BY,
//!   LIMIT; rows rendered as JSON.
//! * `dml`, `ddl` — INSERT/UPDATE/DELETE and CREATE/DROP/TRUNCATE; `ops` — what they
//!   ask of a shard and how the shard carries it out.
//! * `explain` — EXPLAIN's text.
//!
//! Values and types: `value::Datum`, `types::SqlType` (coercion and casts),
//! `expr` (evaluation with PostgreSQL's semantics), `functions`, `aggregate`
//! (partial and final aggregate states). `schema` owns table schemas and row keys.

pub mod aggregate;
pub mod bind;
pub mod ddl;
pub mod dml;
pub mod error;
pub mod exec;
pub mod explain;
pub mod expr;
pub mod functions;
pub mod numeric;
pub mod ops;
pub mod parse;
pub mod plan;
pub mod scan;
pub mod schema;
pub mod types;
pub mod value;

use std::rc::Rc;
use std::sync::Arc;

use hashbrown::HashMap;
use sqlparser::ast;

pub use error::{SqlError, SqlResult};

use crate::shard::keyspace::catalog_epoch;
use crate::shard::{join_all, shard_of, Shard};
use error::sql_bail;
use expr::EvalCtx;
use ops::{SqlOp, SqlReply};
use plan::{Catalog, Planner};
use schema::TableSchema;

/// What a statement replies.
#[derive(Debug, PartialEq)]
pub enum SqlOutput {
    /// Rows, each one compact JSON object.
    Rows(Vec<String>),
    /// Rows written.
    Count(i64),
    /// DDL done.
    Ok,
    /// EXPLAIN's lines.
    Lines(Vec<String>),
}

/// The schemas of the tables a statement names, read once before planning.
#[derive(Default)]
pub struct Schemas(HashMap<String, Option<Arc<TableSchema>>>);

impl Catalog for Schemas {
    fn schema(&self, table: &str) -> Option<Arc<TableSchema>> {
        self.0.get(table).cloned().flatten()
    }
}

/// A core's copy of the schemas it has read (and of tables that have none), keyed by
/// database and table. Good while the catalog epoch it was read at is current: every
/// change of a schema key, on any core, moves the epoch (`keyspace::catalog_epoch`),
/// and the next statement here starts over.
#[derive(Default)]
pub struct SchemaCache {
    epoch: u64,
    tables: HashMap<(usize, String), Option<Arc<TableSchema>>>,
}

/// Most tables a core keeps schemas for; past it the cache starts over (statements
/// naming many made-up tables must not grow it without end).
const CACHED_TABLES: usize = 1024;

impl Schemas {
    /// The schemas of `tables`: from this core's cache, else from the shards that hold
    /// them.
    async fn load(shard: &Rc<Shard>, db: usize, tables: Vec<String>) -> SqlResult<Schemas> {
        let epoch = catalog_epoch();
        let mut map = HashMap::new();
        let mut missing = Vec::new();
        {
            let mut cache = shard.sql_schemas.borrow_mut();
            if cache.epoch != epoch || cache.tables.len() > CACHED_TABLES {
                cache.tables.clear();
                cache.epoch = epoch;
            }
            for t in tables {
                match cache.tables.get(&(db, t.clone())) {
                    Some(s) => {
                        map.insert(t, s.clone());
                    }
                    None => missing.push(t),
                }
            }
        }
        if missing.is_empty() {
            return Ok(Schemas(map));
        }
        let calls: Vec<_> = missing
            .iter()
            .map(|t| {
                let owner = shard_of(&schema::schema_key(t), shard.nshards);
                exec::call(
                    shard,
                    owner,
                    SqlOp::ReadSchema {
                        db,
                        table: t.clone(),
                    },
                )
            })
            .collect();
        let replies = join_all(calls).await;
        let mut cache = shard.sql_schemas.borrow_mut();
        for (t, r) in missing.into_iter().zip(replies) {
            let s = match r? {
                SqlReply::Schema(s) => s.map(Arc::new),
                _ => None,
            };
            // Read at `epoch` or later: if the schema changed meanwhile, the epoch has
            // moved too and the next statement reads it again.
            if cache.epoch == epoch {
                cache.tables.insert((db, t.clone()), s.clone());
            }
            map.insert(t, s);
        }
        Ok(Schemas(map))
    }
}

/// Table names in FROM clauses (and joins) of a query, including INSERT ... SELECT's.
fn query_tables(q: &ast::Query, out: &mut Vec<String>) {
    match &*q.body {
        ast::SetExpr::Select(s) => {
            for twj in &s.from {
                factor_table(&twj.relation, out);
                for j in &twj.joins {
                    factor_table(&j.relation, out);
                }
            }
        }
        ast::SetExpr::Query(inner) => query_tables(inner, out),
        _ => {}
    }
}

fn factor_table(tf: &ast::TableFactor, out: &mut Vec<String>) {
    if let ast::TableFactor::Table { name, .. } = tf {
        if let Ok(t) = bind::object_name(name) {
            if !out.contains(&t) {
                out.push(t);
            }
        }
    }
}

fn twj_table(twj: &ast::TableWithJoins, out: &mut Vec<String>) {
    factor_table(&twj.relation, out);
}

/// Runs one SQL statement for a client of database `db`.
pub async fn execute(shard: &Rc<Shard>, db: usize, sql: &str) -> SqlResult<SqlOutput> {
    let stmt = parse::parse(sql)?;
    let ctx = EvalCtx::new();
    match &stmt {
        ast::Statement::Query(q) => {
            let plan = plan_select(shard, db, q, ctx).await?;
            let rows = exec::run_select(shard, &plan, &ctx).await?;
            let out = &plan.output;
            Ok(SqlOutput::Rows(
                rows.iter()
                    .map(|r| exec::render_row(&out.names, &out.spread, r))
                    .collect(),
            ))
        }
        ast::Statement::Explain {
            statement, analyze, ..
        } => {
            if *analyze {
                sql_bail!("EXPLAIN ANALYZE is not supported");
            }
            match &**statement {
                ast::Statement::Query(q) => {
                    let plan = plan_select(shard, db, q, ctx).await?;
                    Ok(SqlOutput::Lines(explain::explain(&plan, shard.nshards)))
                }
                _ => sql_bail!("EXPLAIN supports SELECT queries only"),
            }
        }
        ast::Statement::Insert(ins) => {
            let mut tables = Vec::new();
            if let ast::TableObject::TableName(n) = &ins.table {
                tables.push(schema::table_name(n)?);
            }
            if let Some(src) = &ins.source {
                query_tables(src, &mut tables);
            }
            let catalog = Schemas::load(shard, db, tables).await?;
            dml::insert(shard, db, ins, &catalog, ctx).await
        }
        ast::Statement::Update(u) => {
            if u.from.is_some() || u.limit.is_some() || !u.order_by.is_empty() {
                sql_bail!("UPDATE ... FROM, ORDER BY and LIMIT are not supported");
            }
            let mut tables = Vec::new();
            twj_table(&u.table, &mut tables);
            let catalog = Schemas::load(shard, db, tables).await?;
            let change = dml::Change {
                table: &u.table,
                assignments: &u.assignments,
                selection: u.selection.as_ref(),
                returning: u.returning.as_ref(),
                delete: false,
            };
            dml::change(shard, db, change, &catalog, ctx).await
        }
        ast::Statement::Delete(d) => {
            if d.using.is_some()
                || d.limit.is_some()
                || !d.order_by.is_empty()
                || !d.tables.is_empty()
            {
                sql_bail!("DELETE ... USING, ORDER BY and LIMIT are not supported");
            }
            let from = match &d.from {
                ast::FromTable::WithFromKeyword(f) | ast::FromTable::WithoutKeyword(f) => f,
            };
            let [twj] = from.as_slice() else {
                sql_bail!("DELETE from several tables is not supported");
            };
            let mut tables = Vec::new();
            twj_table(twj, &mut tables);
            let catalog = Schemas::load(shard, db, tables).await?;
            let change = dml::Change {
                table: twj,
                assignments: &[],
                selection: d.selection.as_ref(),
                returning: d.returning.as_ref(),
                delete: true,
            };
            dml::change(shard, db, change, &catalog, ctx).await
        }
        ast::Statement::CreateTable(ct) => ddl::create_table(shard, db, ct).await,
        ast::Statement::Drop {
            object_type,
            if_exists,
            names,
            ..
        } => ddl::drop(shard, db, object_type, *if_exists, names).await,
        ast::Statement::Truncate(t) => ddl::truncate(shard, db, t).await,
        other => {
            let text = other.to_string();
            let word = text.split_whitespace().next().unwrap_or("statement");
            sql_bail!("{} statements are not supported", word.to_uppercase())
        }
    }
}

async fn plan_select(
    shard: &Rc<Shard>,
    db: usize,
    q: &ast::Query,
    ctx: EvalCtx,
) -> SqlResult<plan::SelectPlan> {
    let mut tables = Vec::new();
    query_tables(q, &mut tables);
    let catalog = Schemas::load(shard, db, tables).await?;
    let mut planner = Planner {
        catalog: &catalog,
        db,
        ctx,
        schemaless: Vec::new(),
    };
    planner.plan_query(q)
}
