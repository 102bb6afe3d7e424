//! Binding: sqlparser's expression AST to `Expr`, resolving names through a `Scope`
//! (the planner's view of what columns and aggregates are visible where).

use sqlparser::ast;

use super::error::SqlResult;
use super::expr::Expr;
use super::types::SqlType;

/// An aggregate call met while binding (`COUNT(*)` has no argument).
#[derive(Clone, Debug, PartialEq)]
pub struct AggCall {
    pub func: AggFunc,
    pub arg: Option<Expr>,
    pub distinct: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AggFunc {
    Count,
    Sum,
    Avg,
    Min,
    Max,
}

/// What names mean where an expression is bound.
pub trait Scope {
    /// A column reference: `name`, or `qualifier.name` (`qualifier` is a table name or
    /// alias). Errors: `column "x" does not exist`, `column reference "x" is ambiguous`,
    /// `missing FROM-clause entry for table "t"`.
    fn column(&mut self, qualifier: Option<&str>, name: &str) -> SqlResult<Expr>;

    /// An aggregate call, whose argument has been bound in this same scope. Returns the
    /// expression that stands for the aggregate's result, or an error where aggregates
    /// are not allowed (`aggregate functions are not allowed in WHERE`).
    fn aggregate(&mut self, call: AggCall) -> SqlResult<Expr>;
}

/// Binds `expr`. Errors for what this engine does not support name the construct
/// (`subqueries are not supported`).
pub fn bind(expr: &ast::Expr, scope: &mut dyn Scope) -> SqlResult<Expr> {
    let _ = (expr, scope);
    todo!()
}

/// The column or cast type named by `ty` (`unsupported type: xml` for the others).
pub fn sql_type(ty: &ast::DataType) -> SqlResult<SqlType> {
    let _ = ty;
    todo!()
}

/// A constant expression (a DEFAULT, a LIMIT): binds with no columns visible and
/// evaluates it.
pub fn bind_const(expr: &ast::Expr) -> SqlResult<Expr> {
    struct NoColumns;
    impl Scope for NoColumns {
        fn column(&mut self, _: Option<&str>, name: &str) -> SqlResult<Expr> {
            super::error::sql_bail!("column \"{name}\" does not exist")
        }
        fn aggregate(&mut self, _: AggCall) -> SqlResult<Expr> {
            super::error::sql_bail!("aggregate functions are not allowed here")
        }
    }
    bind(expr, &mut NoColumns)
}

/// An identifier as a name: unquoted identifiers fold to lower case, quoted ones keep
/// their case (PostgreSQL's rule).
pub fn ident(i: &ast::Ident) -> String {
    match i.quote_style {
        Some(_) => i.value.clone(),
        None => i.value.to_lowercase(),
    }
}

/// A table name: one part (`public.t` is `t`).
pub fn object_name(n: &ast::ObjectName) -> SqlResult<String> {
    let parts: Vec<&ast::Ident> =
        n.0.iter()
            .filter_map(|p| match p {
                ast::ObjectNamePart::Identifier(i) => Some(i),
                _ => None,
            })
            .collect();
    match parts.as_slice() {
        [t] => Ok(ident(t)),
        [s, t] if ident(s) == "public" => Ok(ident(t)),
        _ => super::error::sql_bail!("cross-database references are not implemented: {n}"),
    }
}
