//! Bound scalar expressions and their evaluation with PostgreSQL's semantics:
//! three-valued logic, integer vs numeric arithmetic, errors for mixed-type comparisons.
//!
//! An `Expr` refers to its input by position (`Column(i)`): the planner binds names to
//! positions once, so evaluating a row never looks a name up.

use chrono::{DateTime, Utc};

use super::error::SqlResult;
use super::functions::Func;
use super::types::SqlType;
use super::value::Datum;

/// The input of an expression: a row, read column by column.
pub trait Row {
    /// Column `i` of the row (NULL when the row lacks it).
    fn column(&self, i: usize) -> Datum;
}

impl Row for [Datum] {
    fn column(&self, i: usize) -> Datum {
        self.get(i).cloned().unwrap_or(Datum::Null)
    }
}

impl Row for Vec<Datum> {
    fn column(&self, i: usize) -> Datum {
        self.as_slice().column(i)
    }
}

/// What an evaluation may need beyond the row: the statement's clock (`NOW()` is the
/// same for the whole statement, as PostgreSQL's transaction timestamp).
#[derive(Clone, Copy, Debug)]
pub struct EvalCtx {
    pub now: DateTime<Utc>,
}

impl EvalCtx {
    pub fn new() -> Self {
        EvalCtx { now: Utc::now() }
    }
}

impl Default for EvalCtx {
    fn default() -> Self {
        Self::new()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnaryOp {
    Not,
    Neg,
    Plus,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinaryOp {
    Eq,
    NotEq,
    Lt,
    LtEq,
    Gt,
    GtEq,
    And,
    Or,
    Plus,
    Minus,
    Mul,
    Div,
    Mod,
    /// `||`: text concatenation (NULL if either side is NULL).
    Concat,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    Literal(Datum),
    /// Column `i` of the input row.
    Column(usize),
    Unary {
        op: UnaryOp,
        expr: Box<Expr>,
    },
    Binary {
        op: BinaryOp,
        left: Box<Expr>,
        right: Box<Expr>,
    },
    IsNull {
        expr: Box<Expr>,
        negated: bool,
    },
    /// LIKE / ILIKE (`%`, `_`, backslash escapes by default, as PostgreSQL).
    Like {
        expr: Box<Expr>,
        pattern: Box<Expr>,
        negated: bool,
        case_insensitive: bool,
        escape: Option<char>,
    },
    Between {
        expr: Box<Expr>,
        low: Box<Expr>,
        high: Box<Expr>,
        negated: bool,
    },
    InList {
        expr: Box<Expr>,
        list: Vec<Expr>,
        negated: bool,
    },
    /// Searched (`operand` None) or simple CASE.
    Case {
        operand: Option<Box<Expr>>,
        whens: Vec<(Expr, Expr)>,
        else_: Option<Box<Expr>>,
    },
    Cast {
        expr: Box<Expr>,
        to: SqlType,
    },
    /// `doc -> key` (jsonb) or `doc ->> key` (text); an integer key indexes an array.
    JsonGet {
        expr: Box<Expr>,
        key: Box<Expr>,
        as_text: bool,
    },
    Func {
        func: Func,
        args: Vec<Expr>,
    },
}

impl Expr {
    /// Evaluates the expression over `row`.
    pub fn eval(&self, row: &(impl Row + ?Sized), ctx: &EvalCtx) -> SqlResult<Datum> {
        let _ = (row, ctx);
        todo!()
    }

    /// Calls `f` on each direct child expression.
    pub fn for_each_child(&self, f: &mut dyn FnMut(&Expr)) {
        match self {
            Expr::Literal(_) | Expr::Column(_) => {}
            Expr::Unary { expr, .. } | Expr::IsNull { expr, .. } | Expr::Cast { expr, .. } => {
                f(expr)
            }
            Expr::Binary { left, right, .. } => {
                f(left);
                f(right);
            }
            Expr::Like { expr, pattern, .. } => {
                f(expr);
                f(pattern);
            }
            Expr::Between {
                expr, low, high, ..
            } => {
                f(expr);
                f(low);
                f(high);
            }
            Expr::InList { expr, list, .. } => {
                f(expr);
                list.iter().for_each(f);
            }
            Expr::Case {
                operand,
                whens,
                else_,
            } => {
                if let Some(o) = operand {
                    f(o);
                }
                for (w, t) in whens {
                    f(w);
                    f(t);
                }
                if let Some(e) = else_ {
                    f(e);
                }
            }
            Expr::JsonGet { expr, key, .. } => {
                f(expr);
                f(key);
            }
            Expr::Func { args, .. } => args.iter().for_each(f),
        }
    }

    /// Calls `f` on each direct child expression, mutably.
    pub fn for_each_child_mut(&mut self, f: &mut dyn FnMut(&mut Expr)) {
        match self {
            Expr::Literal(_) | Expr::Column(_) => {}
            Expr::Unary { expr, .. } | Expr::IsNull { expr, .. } | Expr::Cast { expr, .. } => {
                f(expr)
            }
            Expr::Binary { left, right, .. } => {
                f(left);
                f(right);
            }
            Expr::Like { expr, pattern, .. } => {
                f(expr);
                f(pattern);
            }
            Expr::Between {
                expr, low, high, ..
            } => {
                f(expr);
                f(low);
                f(high);
            }
            Expr::InList { expr, list, .. } => {
                f(expr);
                list.iter_mut().for_each(f);
            }
            Expr::Case {
                operand,
                whens,
                else_,
            } => {
                if let Some(o) = operand {
                    f(o);
                }
                for (w, t) in whens {
                    f(w);
                    f(t);
                }
                if let Some(e) = else_ {
                    f(e);
                }
            }
            Expr::JsonGet { expr, key, .. } => {
                f(expr);
                f(key);
            }
            Expr::Func { args, .. } => args.iter_mut().for_each(f),
        }
    }

    /// The expression as SQL text for EXPLAIN, naming `Column(i)` as `names[i]`.
    pub fn display<'a>(&'a self, names: &'a [String]) -> impl std::fmt::Display + 'a {
        struct Show<'a>(&'a Expr, &'a [String]);
        impl std::fmt::Display for Show<'_> {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                let _ = (self.0, self.1, f);
                todo!()
            }
        }
        Show(self, names)
    }
}
