//! Table schemas: the virtual schema `CREATE TABLE` declares (column types, defaults,
//! NOT NULL, PRIMARY KEY, UNIQUE), stored as a JSON document at `_internal:schemas:<t>`
//! so it is journaled, snapshotted and recovered like any key, and how a row's key
//! (`<table>:<pk>`) follows from its primary key.
//!
//! A table without a schema is schemaless: any `t:*` JSON object is a row, its key
//! column is `id`, and every column reads whatever the documents hold.

use serde::{Deserialize, Serialize};
use sqlparser::ast;

use super::bind;
use super::error::{sql_bail, SqlResult};
use super::types::SqlType;
use super::value::Datum;

/// Prefix of the keys that hold schemas.
pub const SCHEMA_PREFIX: &str = "_internal:schemas:";
/// Prefix of the keys that count generated integer ids.
pub const SEQUENCE_PREFIX: &str = "_internal:seq:";
/// The key column of a table that declares no primary key.
pub const DEFAULT_KEY: &str = "id";

// Format: the JSON text of `TableSchema` (serde), at `_internal:schemas:<table>`.
// Fields may be added (with serde defaults) but never renamed.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TableSchema {
    pub name: String,
    pub columns: Vec<Column>,
    /// Position of the PRIMARY KEY column, if one is declared.
    pub primary_key: Option<usize>,
    /// UNIQUE constraints, each a set of column positions.
    #[serde(default)]
    pub unique: Vec<Vec<usize>>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Column {
    pub name: String,
    pub ty: SqlType,
    pub not_null: bool,
    /// The DEFAULT expression as SQL text, bound again at each use (it may call NOW()).
    pub default: Option<String>,
}

impl TableSchema {
    /// The schema a CREATE TABLE statement declares.
    pub fn from_create(ct: &ast::CreateTable) -> SqlResult<TableSchema> {
        let name = table_name(&ct.name)?;
        if ct.columns.is_empty() {
            sql_bail!("a table needs at least one column");
        }
        let mut columns: Vec<Column> = Vec::with_capacity(ct.columns.len());
        let mut primary_key = None;
        let mut unique = Vec::new();
        for def in &ct.columns {
            let col_name = bind::ident(&def.name);
            if columns.iter().any(|c| c.name == col_name) {
                sql_bail!("column \"{col_name}\" specified more than once");
            }
            let pos = columns.len();
            let mut col = Column {
                name: col_name,
                ty: bind::sql_type(&def.data_type)?,
                not_null: false,
                default: None,
            };
            for opt in &def.options {
                match &opt.option {
                    ast::ColumnOption::Null => col.not_null = false,
                    ast::ColumnOption::NotNull => col.not_null = true,
                    ast::ColumnOption::Default(e) => {
                        // Checked now, so a broken default fails the CREATE, not every
                        // later INSERT.
                        bind::bind_const(e)?;
                        col.default = Some(e.to_string());
                    }
                    ast::ColumnOption::PrimaryKey(_) => {
                        if primary_key.replace(pos).is_some() {
                            sql_bail!("multiple primary keys for table \"{name}\" are not allowed");
                        }
                        col.not_null = true;
                    }
                    ast::ColumnOption::Unique(_) => unique.push(vec![pos]),
                    other => sql_bail!("column constraint is not supported: {other}"),
                }
            }
            columns.push(col);
        }
        for c in &ct.constraints {
            let cols = |list: &[ast::IndexColumn]| -> SqlResult<Vec<usize>> {
                list.iter()
                    .map(|ic| {
                        let n = match &ic.column.expr {
                            ast::Expr::Identifier(i) => bind::ident(i),
                            other => sql_bail!("constraint column must be a name: {other}"),
                        };
                        match columns.iter().position(|c| c.name == n) {
                            Some(p) => Ok(p),
                            None => sql_bail!("column \"{n}\" named in key does not exist"),
                        }
                    })
                    .collect()
            };
            match c {
                ast::TableConstraint::PrimaryKey(pk) => {
                    let list = cols(&pk.columns)?;
                    if list.len() != 1 {
                        sql_bail!("composite primary keys are not supported");
                    }
                    if primary_key.replace(list[0]).is_some() {
                        sql_bail!("multiple primary keys for table \"{name}\" are not allowed");
                    }
                    columns[list[0]].not_null = true;
                }
                ast::TableConstraint::Unique(u) => unique.push(cols(&u.columns)?),
                other => sql_bail!("table constraint is not supported: {other}"),
            }
        }
        Ok(TableSchema {
            name,
            columns,
            primary_key,
            unique,
        })
    }

    pub fn column(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.name == name)
    }

    /// The name of the column whose value names the row's key.
    pub fn key_column(&self) -> &str {
        match self.primary_key {
            Some(p) => &self.columns[p].name,
            None => DEFAULT_KEY,
        }
    }

    /// The constraint name PostgreSQL would give a UNIQUE over `cols`.
    pub fn unique_name(&self, cols: &[usize]) -> String {
        let mut s = self.name.clone();
        for &c in cols {
            s.push('_');
            s.push_str(&self.columns[c].name);
        }
        s.push_str("_key");
        s
    }

    pub fn to_json_text(&self) -> String {
        serde_json::to_string(self).expect("a schema always serializes")
    }

    pub fn from_json(doc: &serde_json::Value) -> SqlResult<TableSchema> {
        match serde_json::from_value(doc.clone()) {
            Ok(s) => Ok(s),
            Err(e) => sql_bail!("stored schema is unreadable: {e}"),
        }
    }
}

/// A table's name, refusing the names the engine keeps for itself.
pub fn table_name(n: &ast::ObjectName) -> SqlResult<String> {
    let name = bind::object_name(n)?;
    if name.is_empty() || name.starts_with("_internal") || name.contains(':') {
        sql_bail!("invalid table name \"{name}\"");
    }
    Ok(name)
}

/// The key holding `table`'s schema.
pub fn schema_key(table: &str) -> Vec<u8> {
    format!("{SCHEMA_PREFIX}{table}").into_bytes()
}

/// The key prefix of `table`'s rows (`t:`).
pub fn row_prefix(table: &str) -> Vec<u8> {
    let mut p = Vec::with_capacity(table.len() + 1);
    p.extend_from_slice(table.as_bytes());
    p.push(b':');
    p
}

/// The key of the row of `table` whose primary key is `pk`.
pub fn row_key(table: &str, pk: &Datum) -> SqlResult<Vec<u8>> {
    let mut key = row_prefix(table);
    match pk {
        Datum::Null => sql_bail!("null value in primary key of relation \"{table}\""),
        Datum::Text(s) => key.extend_from_slice(s.as_bytes()),
        Datum::Int(i) => key.extend_from_slice(itoa::Buffer::new().format(*i).as_bytes()),
        Datum::Json(_) | Datum::Bytea(_) => {
            sql_bail!("a {} value cannot be a primary key", pk.type_name())
        }
        other => match other.to_json() {
            serde_json::Value::String(s) => key.extend_from_slice(s.as_bytes()),
            v => key.extend_from_slice(v.to_string().as_bytes()),
        },
    }
    Ok(key)
}

/// The primary key a row's key names, read back from the key's suffix (for documents
/// that lack their key column): an integer when it reads as one, else text; a schema
/// coerces it further.
pub fn pk_from_key(suffix: &[u8]) -> Datum {
    let s = String::from_utf8_lossy(suffix);
    match s.parse::<i64>() {
        Ok(i) if itoa::Buffer::new().format(i) == s => Datum::Int(i),
        _ => Datum::Text(s.into_owned()),
    }
}

/// The key counting `table`'s generated integer ids.
pub fn sequence_key(table: &str) -> Vec<u8> {
    format!("{SEQUENCE_PREFIX}{table}").into_bytes()
}

/// Stores `v` into column `column` of type `ty` (assignment coercion). `untyped`: the
/// value is a bare string literal, which may become any type (`'2024-01-31'` into a
/// DATE); text computed by an expression goes only into text columns, as in PostgreSQL.
pub fn assign(column: &str, ty: SqlType, v: Datum, untyped: bool) -> SqlResult<Datum> {
    let text_column = matches!(ty, SqlType::Text | SqlType::Varchar(_) | SqlType::Char(_));
    if matches!(v, Datum::Text(_)) && !untyped && !text_column {
        sql_bail!(
            "column \"{column}\" is of type {} but expression is of type text",
            ty.name()
        );
    }
    ty.coerce(v)
        .map_err(|e| match e.0.strip_prefix("column is of type") {
            Some(rest) => super::error::SqlError(format!("column \"{column}\" is of type{rest}")),
            None => e,
        })
}

/// Whether an expression is a bare string literal (PostgreSQL's `unknown` type).
pub fn is_string_literal(e: &ast::Expr) -> bool {
    matches!(e, ast::Expr::Value(v) if matches!(v.value, ast::Value::SingleQuotedString(_) | ast::Value::EscapedStringLiteral(_)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every core caches schemas until a change of a key under the keyspace's catalog
    /// prefix: schema keys must be under it.
    #[test]
    fn schema_keys_are_catalog_keys() {
        assert_eq!(
            SCHEMA_PREFIX.as_bytes(),
            crate::shard::keyspace::CATALOG_PREFIX
        );
        assert!(schema_key("t").starts_with(crate::shard::keyspace::CATALOG_PREFIX));
    }
}
