//! CREATE TABLE, DROP TABLE and TRUNCATE. A schema lives at `_internal:schemas:<t>` on
//! the shard that owns that key; rows live everywhere.

use std::rc::Rc;

use sqlparser::ast;

use super::error::{sql_bail, SqlResult};
use super::exec::call;
use super::ops::{SqlOp, SqlReply};
use super::schema::{self, TableSchema};
use super::SqlOutput;
use crate::shard::{join_all, shard_of, Shard};

fn schema_owner(shard: &Shard, table: &str) -> usize {
    shard_of(&schema::schema_key(table), shard.nshards)
}

pub async fn create_table(
    shard: &Rc<Shard>,
    db: usize,
    ct: &ast::CreateTable,
) -> SqlResult<SqlOutput> {
    if ct.query.is_some() {
        sql_bail!("CREATE TABLE ... AS is not supported");
    }
    if ct.or_replace || ct.temporary || ct.external {
        sql_bail!("CREATE OR REPLACE, TEMPORARY and EXTERNAL tables are not supported");
    }
    let s = TableSchema::from_create(ct)?;
    let op = SqlOp::PutSchema {
        db,
        table: s.name.clone(),
        schema: Some(s.to_json_text()),
        create: true,
    };
    match call(shard, schema_owner(shard, &s.name), op).await {
        Ok(_) => Ok(SqlOutput::Ok),
        // PostgreSQL: a NOTICE, and success.
        Err(e) if ct.if_not_exists && e.0.contains("already exists") => Ok(SqlOutput::Ok),
        Err(e) => Err(e),
    }
}

/// Removes every row of `table` on every shard; returns how many there were.
async fn remove_rows(shard: &Rc<Shard>, db: usize, table: &str) -> SqlResult<i64> {
    let calls: Vec<_> = (0..shard.nshards)
        .map(|s| {
            call(
                shard,
                s,
                SqlOp::Truncate {
                    db,
                    table: table.to_string(),
                },
            )
        })
        .collect();
    let mut n = 0;
    for r in join_all(calls).await {
        if let SqlReply::Written { count, .. } = r? {
            n += count;
        }
    }
    Ok(n)
}

async fn has_schema(shard: &Rc<Shard>, db: usize, table: &str) -> SqlResult<bool> {
    let op = SqlOp::ReadSchema {
        db,
        table: table.to_string(),
    };
    Ok(matches!(
        call(shard, schema_owner(shard, table), op).await?,
        SqlReply::Schema(Some(_))
    ))
}

pub async fn drop(
    shard: &Rc<Shard>,
    db: usize,
    object_type: &ast::ObjectType,
    if_exists: bool,
    names: &[ast::ObjectName],
) -> SqlResult<SqlOutput> {
    if *object_type != ast::ObjectType::Table {
        sql_bail!("only DROP TABLE is supported");
    }
    let tables = names
        .iter()
        .map(schema::table_name)
        .collect::<SqlResult<Vec<_>>>()?;
    for t in &tables {
        let op = SqlOp::PutSchema {
            db,
            table: t.clone(),
            schema: None,
            create: false,
        };
        let had_schema = matches!(
            call(shard, schema_owner(shard, t), op).await?,
            SqlReply::Written { count: 1, .. }
        );
        let rows = remove_rows(shard, db, t).await?;
        if !had_schema && rows == 0 && !if_exists {
            sql_bail!("table \"{t}\" does not exist");
        }
    }
    Ok(SqlOutput::Ok)
}

pub async fn truncate(shard: &Rc<Shard>, db: usize, t: &ast::Truncate) -> SqlResult<SqlOutput> {
    for target in &t.table_names {
        let table = schema::table_name(&target.name)?;
        let rows = remove_rows(shard, db, &table).await?;
        if rows == 0 && !t.if_exists && !has_schema(shard, db, &table).await? {
            sql_bail!("relation \"{table}\" does not exist");
        }
    }
    Ok(SqlOutput::Ok)
}
