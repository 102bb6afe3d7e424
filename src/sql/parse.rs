//! Parsing with sqlparser's PostgreSQL dialect.

use sqlparser::ast;
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::parser::Parser;

use super::error::{SqlError, SqlResult};

const RECURSION_LIMIT: usize = 64;

/// Parses exactly one statement.
pub fn parse(sql: &str) -> SqlResult<ast::Statement> {
    let mut stmts = Parser::new(&PostgreSqlDialect {})
        .with_recursion_limit(RECURSION_LIMIT)
        .try_with_sql(sql)
        .and_then(|mut p| p.parse_statements())
        .map_err(|e| SqlError::new(format!("syntax error: {e}")))?;
    match stmts.len() {
        1 => Ok(stmts.remove(0)),
        0 => Err(SqlError::new("syntax error: empty statement")),
        _ => Err(SqlError::new("only one statement per SQL command")),
    }
}

/// Parses one expression (a stored DEFAULT).
pub fn parse_expr(sql: &str) -> SqlResult<ast::Expr> {
    Parser::new(&PostgreSqlDialect {})
        .with_recursion_limit(RECURSION_LIMIT)
        .try_with_sql(sql)
        .and_then(|mut p| p.parse_expr())
        .map_err(|e| SqlError::new(format!("syntax error: {e}")))
}
