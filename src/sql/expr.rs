//! Bound scalar expressions and their evaluation with PostgreSQL's semantics:
//! three-valued logic, integer vs numeric arithmetic, errors for mixed-type comparisons.
//!
//! An `Expr` refers to its input by position (`Column(i)`): the planner binds names to
//! positions once, so evaluating a row never looks a name up.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::fmt;

use chrono::{DateTime, TimeDelta, Utc};
use rust_decimal::Decimal;
use serde_json::Value as Doc;

use super::error::{sql_bail, SqlError, SqlResult};
use super::functions::Func;
use super::numeric;
use super::types::SqlType;
use super::value::Datum;

/// The input of an expression: a row, read column by column.
pub trait Row {
    /// Column `i` of the row (NULL when the row lacks it).
    fn column(&self, i: usize) -> Datum;

    /// Column `i` by reference, for rows that hold `Datum`s: comparisons, LIKE and `->`
    /// then read the value in place instead of cloning its text or document. `None`
    /// means "not held" (evaluation falls back to `column`).
    fn column_ref(&self, i: usize) -> Option<&Datum> {
        let _ = i;
        None
    }
}

impl Row for [Datum] {
    fn column(&self, i: usize) -> Datum {
        self.get(i).cloned().unwrap_or(Datum::Null)
    }
    fn column_ref(&self, i: usize) -> Option<&Datum> {
        self.get(i)
    }
}

impl Row for Vec<Datum> {
    fn column(&self, i: usize) -> Datum {
        self.as_slice().column(i)
    }
    fn column_ref(&self, i: usize) -> Option<&Datum> {
        self.get(i)
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
        match self {
            Expr::Literal(d) => Ok(d.clone()),
            Expr::Column(i) => Ok(row.column(*i)),
            _ => self.eval_ref(row, ctx).map(Cow::into_owned),
        }
    }

    /// Evaluates to a borrowed value where one exists (a literal, a column the row holds)
    /// and an owned one otherwise: operators that only look at their operands use this.
    pub fn eval_ref<'a, R: Row + ?Sized>(
        &'a self,
        row: &'a R,
        ctx: &EvalCtx,
    ) -> SqlResult<Cow<'a, Datum>> {
        Ok(match self {
            Expr::Literal(d) => Cow::Borrowed(d),
            Expr::Column(i) => match row.column_ref(*i) {
                Some(d) => Cow::Borrowed(d),
                None => Cow::Owned(row.column(*i)),
            },
            Expr::Unary { op, expr } => Cow::Owned(unary(*op, expr.eval(row, ctx)?)?),
            Expr::Binary { op, left, right } => Cow::Owned(match op {
                BinaryOp::And | BinaryOp::Or => {
                    let is_and = *op == BinaryOp::And;
                    let l = truth(&*left.eval_ref(row, ctx)?, *op)?;
                    // Short-circuit: false AND x, true OR x (PostgreSQL may skip x too).
                    if l == Some(!is_and) {
                        return Ok(Cow::Owned(Datum::Bool(!is_and)));
                    }
                    let r = truth(&*right.eval_ref(row, ctx)?, *op)?;
                    let v = if is_and { and3(l, r) } else { or3(l, r) };
                    bool3(v)
                }
                _ => {
                    let l = left.eval_ref(row, ctx)?;
                    let r = right.eval_ref(row, ctx)?;
                    binary(*op, &l, &r)?
                }
            }),
            Expr::IsNull { expr, negated } => {
                Cow::Owned(Datum::Bool(expr.eval_ref(row, ctx)?.is_null() != *negated))
            }
            Expr::Like {
                expr,
                pattern,
                negated,
                case_insensitive,
                escape,
            } => {
                let v = expr.eval_ref(row, ctx)?;
                let p = pattern.eval_ref(row, ctx)?;
                Cow::Owned(match (&*v, &*p) {
                    (Datum::Null, _) | (_, Datum::Null) => Datum::Null,
                    (Datum::Text(s), Datum::Text(pat)) => Datum::Bool(
                        like_match(s, pat, escape.unwrap_or('\\'), *case_insensitive) != *negated,
                    ),
                    (a, b) => {
                        let op = match (*negated, *case_insensitive) {
                            (false, false) => "~~",
                            (true, false) => "!~~",
                            (false, true) => "~~*",
                            (true, true) => "!~~*",
                        };
                        sql_bail!(
                            "operator does not exist: {} {op} {}",
                            a.type_name(),
                            b.type_name()
                        )
                    }
                })
            }
            Expr::Between {
                expr,
                low,
                high,
                negated,
            } => {
                let v = expr.eval_ref(row, ctx)?;
                let lo = low.eval_ref(row, ctx)?;
                let hi = high.eval_ref(row, ctx)?;
                let ge = v.sql_cmp(&lo)?.map(|o| o != Ordering::Less);
                let le = v.sql_cmp(&hi)?.map(|o| o != Ordering::Greater);
                let r = and3(ge, le);
                Cow::Owned(bool3(if *negated { r.map(|b| !b) } else { r }))
            }
            Expr::InList {
                expr,
                list,
                negated,
            } => {
                let v = expr.eval_ref(row, ctx)?;
                if v.is_null() {
                    return Ok(Cow::Owned(Datum::Null));
                }
                let mut saw_null = false;
                let mut found = false;
                for item in list {
                    match v.sql_cmp(&*item.eval_ref(row, ctx)?)? {
                        Some(Ordering::Equal) => {
                            found = true;
                            break;
                        }
                        None => saw_null = true,
                        Some(_) => {}
                    }
                }
                Cow::Owned(if found {
                    Datum::Bool(!*negated)
                } else if saw_null {
                    Datum::Null
                } else {
                    Datum::Bool(*negated)
                })
            }
            Expr::Case {
                operand,
                whens,
                else_,
            } => {
                let operand = match operand {
                    Some(o) => Some(o.eval_ref(row, ctx)?),
                    None => None,
                };
                for (w, then) in whens {
                    let wv = w.eval_ref(row, ctx)?;
                    let hit = match &operand {
                        Some(o) => o.sql_cmp(&wv)? == Some(Ordering::Equal),
                        None => wv.is_true(),
                    };
                    if hit {
                        return then.eval_ref(row, ctx);
                    }
                }
                match else_ {
                    Some(e) => return e.eval_ref(row, ctx),
                    None => Cow::Owned(Datum::Null),
                }
            }
            Expr::Cast { expr, to } => Cow::Owned(to.cast(expr.eval(row, ctx)?)?),
            Expr::JsonGet { expr, key, as_text } => {
                let base = expr.eval_ref(row, ctx)?;
                let key = key.eval_ref(row, ctx)?;
                Cow::Owned(json_get(&base, &key, *as_text)?)
            }
            Expr::Func { func, args } => {
                if *func == Func::Coalesce {
                    // Lazy, as PostgreSQL: arguments after the first non-NULL one are not
                    // evaluated (COALESCE(x, 1/0) is fine when x is not NULL).
                    for a in args {
                        let v = a.eval_ref(row, ctx)?;
                        if !v.is_null() {
                            return Ok(v);
                        }
                    }
                    return Ok(Cow::Owned(Datum::Null));
                }
                let mut vals = Vec::with_capacity(args.len());
                for a in args {
                    vals.push(a.eval(row, ctx)?);
                }
                Cow::Owned(func.call(vals, ctx)?)
            }
        })
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
                write_expr(self.0, self.1, f)
            }
        }
        Show(self, names)
    }
}

/// EXPLAIN text: every operator parenthesized, as PostgreSQL's EXPLAIN prints
/// (`(age > 30)`, `((a + b) * 2)`).
fn write_expr(e: &Expr, names: &[String], f: &mut fmt::Formatter<'_>) -> fmt::Result {
    let show = |e: &Expr, f: &mut fmt::Formatter<'_>| write_expr(e, names, f);
    match e {
        Expr::Literal(d) => write!(f, "{d}"),
        Expr::Column(i) => match names.get(*i) {
            Some(n) => f.write_str(n),
            None => write!(f, "${}", i + 1),
        },
        Expr::Unary { op, expr } => {
            f.write_str(match op {
                UnaryOp::Not => "(NOT ",
                UnaryOp::Neg => "(- ",
                UnaryOp::Plus => "(+ ",
            })?;
            show(expr, f)?;
            f.write_str(")")
        }
        Expr::Binary { op, left, right } => {
            f.write_str("(")?;
            show(left, f)?;
            write!(f, " {} ", op.symbol())?;
            show(right, f)?;
            f.write_str(")")
        }
        Expr::IsNull { expr, negated } => {
            f.write_str("(")?;
            show(expr, f)?;
            f.write_str(if *negated {
                " IS NOT NULL)"
            } else {
                " IS NULL)"
            })
        }
        Expr::Like {
            expr,
            pattern,
            negated,
            case_insensitive,
            escape,
        } => {
            f.write_str("(")?;
            show(expr, f)?;
            f.write_str(if *negated { " NOT" } else { "" })?;
            f.write_str(if *case_insensitive {
                " ILIKE "
            } else {
                " LIKE "
            })?;
            show(pattern, f)?;
            if let Some(c) = escape.filter(|c| *c != '\\') {
                write!(f, " ESCAPE {}", Datum::Text(c.to_string()))?;
            }
            f.write_str(")")
        }
        Expr::Between {
            expr,
            low,
            high,
            negated,
        } => {
            f.write_str("(")?;
            show(expr, f)?;
            f.write_str(if *negated {
                " NOT BETWEEN "
            } else {
                " BETWEEN "
            })?;
            show(low, f)?;
            f.write_str(" AND ")?;
            show(high, f)?;
            f.write_str(")")
        }
        Expr::InList {
            expr,
            list,
            negated,
        } => {
            f.write_str("(")?;
            show(expr, f)?;
            f.write_str(if *negated { " NOT IN (" } else { " IN (" })?;
            for (i, item) in list.iter().enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                show(item, f)?;
            }
            f.write_str("))")
        }
        Expr::Case {
            operand,
            whens,
            else_,
        } => {
            f.write_str("CASE")?;
            if let Some(o) = operand {
                f.write_str(" ")?;
                show(o, f)?;
            }
            for (w, t) in whens {
                f.write_str(" WHEN ")?;
                show(w, f)?;
                f.write_str(" THEN ")?;
                show(t, f)?;
            }
            if let Some(e) = else_ {
                f.write_str(" ELSE ")?;
                show(e, f)?;
            }
            f.write_str(" END")
        }
        Expr::Cast { expr, to } => {
            f.write_str("CAST(")?;
            show(expr, f)?;
            write!(f, " AS {})", to.name())
        }
        Expr::JsonGet { expr, key, as_text } => {
            f.write_str("(")?;
            show(expr, f)?;
            f.write_str(if *as_text { " ->> " } else { " -> " })?;
            show(key, f)?;
            f.write_str(")")
        }
        Expr::Func { func, args } => match func {
            Func::CurrentDate => f.write_str("CURRENT_DATE"),
            Func::Position if args.len() == 2 => {
                f.write_str("POSITION(")?;
                show(&args[0], f)?;
                f.write_str(" IN ")?;
                show(&args[1], f)?;
                f.write_str(")")
            }
            _ => {
                write!(f, "{}(", func.name())?;
                for (i, a) in args.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    show(a, f)?;
                }
                f.write_str(")")
            }
        },
    }
}

impl BinaryOp {
    /// The operator as SQL writes it.
    pub fn symbol(&self) -> &'static str {
        match self {
            BinaryOp::Eq => "=",
            BinaryOp::NotEq => "<>",
            BinaryOp::Lt => "<",
            BinaryOp::LtEq => "<=",
            BinaryOp::Gt => ">",
            BinaryOp::GtEq => ">=",
            BinaryOp::And => "AND",
            BinaryOp::Or => "OR",
            BinaryOp::Plus => "+",
            BinaryOp::Minus => "-",
            BinaryOp::Mul => "*",
            BinaryOp::Div => "/",
            BinaryOp::Mod => "%",
            BinaryOp::Concat => "||",
        }
    }
}

fn bool3(v: Option<bool>) -> Datum {
    v.map_or(Datum::Null, Datum::Bool)
}

fn and3(a: Option<bool>, b: Option<bool>) -> Option<bool> {
    match (a, b) {
        (Some(false), _) | (_, Some(false)) => Some(false),
        (Some(true), Some(true)) => Some(true),
        _ => None,
    }
}

fn or3(a: Option<bool>, b: Option<bool>) -> Option<bool> {
    match (a, b) {
        (Some(true), _) | (_, Some(true)) => Some(true),
        (Some(false), Some(false)) => Some(false),
        _ => None,
    }
}

/// An AND/OR operand's truth value (NULL → None); other types are PostgreSQL's error.
fn truth(d: &Datum, op: BinaryOp) -> SqlResult<Option<bool>> {
    match d {
        Datum::Null => Ok(None),
        Datum::Bool(b) => Ok(Some(*b)),
        other => sql_bail!(
            "argument of {} must be type boolean, not type {}",
            op.symbol(),
            other.type_name()
        ),
    }
}

fn unary(op: UnaryOp, v: Datum) -> SqlResult<Datum> {
    Ok(match (op, v) {
        (_, Datum::Null) => Datum::Null,
        (UnaryOp::Not, Datum::Bool(b)) => Datum::Bool(!b),
        (UnaryOp::Not, other) => sql_bail!(
            "argument of NOT must be type boolean, not type {}",
            other.type_name()
        ),
        (UnaryOp::Neg, Datum::Int(i)) => Datum::Int(i.checked_neg().ok_or_else(bigint_range)?),
        (UnaryOp::Neg, Datum::Numeric(d)) => Datum::Numeric(-d),
        (UnaryOp::Neg, Datum::Float(f)) => Datum::Float(-f),
        (UnaryOp::Plus, v @ (Datum::Int(_) | Datum::Numeric(_) | Datum::Float(_))) => v,
        (op, other) => sql_bail!(
            "operator does not exist: {} {}",
            if op == UnaryOp::Neg { "-" } else { "+" },
            other.type_name()
        ),
    })
}

fn bigint_range() -> SqlError {
    SqlError::new("bigint out of range")
}

fn no_operator(op: BinaryOp, a: &Datum, b: &Datum) -> SqlError {
    SqlError(format!(
        "operator does not exist: {} {} {}",
        a.type_name(),
        op.symbol(),
        b.type_name()
    ))
}

/// A binary operator other than AND/OR on evaluated operands (NULL in, NULL out).
pub fn binary(op: BinaryOp, a: &Datum, b: &Datum) -> SqlResult<Datum> {
    use BinaryOp::*;
    let cmp =
        |test: fn(Ordering) -> bool| -> SqlResult<Datum> { Ok(bool3(a.sql_cmp(b)?.map(test))) };
    match op {
        Eq => cmp(|o| o == Ordering::Equal),
        NotEq => cmp(|o| o != Ordering::Equal),
        Lt => cmp(|o| o == Ordering::Less),
        LtEq => cmp(|o| o != Ordering::Greater),
        Gt => cmp(|o| o == Ordering::Greater),
        GtEq => cmp(|o| o != Ordering::Less),
        And | Or => {
            let l = truth(a, op)?;
            let r = truth(b, op)?;
            Ok(bool3(if op == And { and3(l, r) } else { or3(l, r) }))
        }
        Concat => concat(a, b),
        Plus | Minus | Mul | Div | Mod => arith(op, a, b),
    }
}

/// `||`: text with anything (its text form), or jsonb with jsonb (merge/append).
fn concat(a: &Datum, b: &Datum) -> SqlResult<Datum> {
    match (a, b) {
        (Datum::Null, _) | (_, Datum::Null) => Ok(Datum::Null),
        (Datum::Json(x), Datum::Json(y)) => Ok(Datum::Json(Box::new(jsonb_concat(x, y)))),
        (Datum::Text(_), _) | (_, Datum::Text(_)) => {
            let mut s = String::new();
            a.write_text(&mut s);
            b.write_text(&mut s);
            Ok(Datum::Text(s))
        }
        _ => Err(no_operator(BinaryOp::Concat, a, b)),
    }
}

/// jsonb `||`: two objects merge (right wins); otherwise arrays concatenate, a
/// non-array side counting as a one-element array.
fn jsonb_concat(x: &Doc, y: &Doc) -> Doc {
    match (x, y) {
        (Doc::Object(a), Doc::Object(b)) => {
            let mut m = a.clone();
            for (k, v) in b {
                m.insert(k.clone(), v.clone());
            }
            Doc::Object(m)
        }
        _ => {
            let mut out = Vec::new();
            for side in [x, y] {
                match side {
                    Doc::Array(items) => out.extend(items.iter().cloned()),
                    other => out.push(other.clone()),
                }
            }
            Doc::Array(out)
        }
    }
}

/// Arithmetic with PostgreSQL's typing: int op int stays 64-bit integer (overflow is
/// `bigint out of range`, division truncates), int with numeric is numeric, anything
/// with a float is a float; date ± integer, date - date, date + time.
pub fn arith(op: BinaryOp, a: &Datum, b: &Datum) -> SqlResult<Datum> {
    use BinaryOp::*;
    use Datum::*;
    match (a, b) {
        (Null, _) | (_, Null) => Ok(Null),
        (Int(x), Int(y)) => {
            let (x, y) = (*x, *y);
            let r = match op {
                Plus => x.checked_add(y),
                Minus => x.checked_sub(y),
                Mul => x.checked_mul(y),
                Div => {
                    if y == 0 {
                        sql_bail!("division by zero");
                    }
                    x.checked_div(y)
                }
                Mod => {
                    if y == 0 {
                        sql_bail!("division by zero");
                    }
                    // i64::MIN % -1 overflows in Rust; mathematically it is 0.
                    Some(x.checked_rem(y).unwrap_or(0))
                }
                _ => return Err(no_operator(op, a, b)),
            };
            r.map(Int).ok_or_else(bigint_range)
        }
        (Int(_) | Numeric(_), Int(_) | Numeric(_)) => {
            let x = as_decimal(a);
            let y = as_decimal(b);
            let r = match op {
                Plus => x.checked_add(y).ok_or_else(numeric::overflow)?,
                Minus => x.checked_sub(y).ok_or_else(numeric::overflow)?,
                Mul => x.checked_mul(y).ok_or_else(numeric::overflow)?,
                Div => numeric::div(x, y)?,
                Mod => numeric::rem(x, y)?,
                _ => return Err(no_operator(op, a, b)),
            };
            Ok(Numeric(r))
        }
        (Int(_) | Numeric(_) | Float(_), Int(_) | Numeric(_) | Float(_)) => {
            let x = as_f64(a);
            let y = as_f64(b);
            let finite = x.is_finite() && y.is_finite();
            let r = match op {
                Plus => numeric::check_float(x + y, finite, false)?,
                Minus => numeric::check_float(x - y, finite, false)?,
                Mul => numeric::check_float(x * y, finite, x != 0.0 && y != 0.0)?,
                Div => {
                    if y == 0.0 {
                        sql_bail!("division by zero");
                    }
                    numeric::check_float(x / y, finite, x != 0.0)?
                }
                // PostgreSQL has no % for double precision.
                _ => return Err(no_operator(op, a, b)),
            };
            Ok(Float(r))
        }
        (Date(d), Int(n)) | (Int(n), Date(d))
            if op == Plus || (op == Minus && matches!(a, Date(_))) =>
        {
            let n = if op == Minus {
                n.checked_neg()
            } else {
                Some(*n)
            };
            n.and_then(TimeDelta::try_days)
                .and_then(|delta| d.checked_add_signed(delta))
                .map(Date)
                .ok_or_else(|| SqlError::new("date out of range"))
        }
        (Date(x), Date(y)) if op == Minus => Ok(Int(x.signed_duration_since(*y).num_days())),
        (Date(d), Time(t)) | (Time(t), Date(d)) if op == Plus => Ok(Timestamp(d.and_time(*t))),
        _ => Err(no_operator(op, a, b)),
    }
}

fn as_decimal(d: &Datum) -> Decimal {
    match d {
        Datum::Int(i) => Decimal::from(*i),
        Datum::Numeric(n) => *n,
        _ => Decimal::ZERO,
    }
}

fn as_f64(d: &Datum) -> f64 {
    match d {
        Datum::Int(i) => *i as f64,
        Datum::Numeric(n) => numeric::to_f64(*n),
        Datum::Float(f) => *f,
        _ => f64::NAN,
    }
}

/// `->` / `->>`: an object field by text key, an array element by integer index
/// (negative counts from the end). A missing key or index is NULL; `->>` unquotes
/// strings and turns JSON null into SQL NULL.
fn json_get(base: &Datum, key: &Datum, as_text: bool) -> SqlResult<Datum> {
    let op = if as_text { "->>" } else { "->" };
    if base.is_null() || key.is_null() {
        return Ok(Datum::Null);
    }
    let Datum::Json(doc) = base else {
        sql_bail!(
            "operator does not exist: {} {op} {}",
            base.type_name(),
            key.type_name()
        );
    };
    let found: Option<&Doc> = match (&**doc, key) {
        (Doc::Object(m), Datum::Text(k)) => m.get(k.as_str()),
        (Doc::Array(a), Datum::Int(i)) => {
            let idx = if *i < 0 {
                (a.len() as i64).checked_add(*i)
            } else {
                Some(*i)
            };
            idx.and_then(|i| usize::try_from(i).ok())
                .and_then(|i| a.get(i))
        }
        // PostgreSQL treats a scalar as a one-element array here.
        (Doc::Object(_) | Doc::Array(_), Datum::Text(_) | Datum::Int(_)) => None,
        (scalar, Datum::Int(0 | -1)) => Some(scalar),
        (_, Datum::Text(_) | Datum::Int(_)) => None,
        (_, k) => sql_bail!("operator does not exist: jsonb {op} {}", k.type_name()),
    };
    Ok(match found {
        None => Datum::Null,
        Some(v) if as_text => match v {
            Doc::Null => Datum::Null,
            Doc::String(s) => Datum::Text(s.clone()),
            other => {
                let mut s = String::new();
                super::value::write_jsonb_text(other, &mut s);
                Datum::Text(s)
            }
        },
        Some(v) => Datum::Json(Box::new(v.clone())),
    })
}

/// LIKE matching: `%` any run, `_` one character, `escape` makes the next pattern
/// character literal. Common shapes (`abc`, `abc%`, `%abc`, `%abc%`) go straight to
/// `str` searches; the rest use the two-pointer wildcard walk that remembers only the
/// last `%`, which is O(len(text) × len(pattern)) at worst — no exponential
/// backtracking and no allocation. ILIKE compares characters by their lower case.
pub fn like_match(text: &str, pattern: &str, escape: char, case_insensitive: bool) -> bool {
    if !case_insensitive && !pattern.contains(['_', escape]) {
        if let Some(r) = like_fast(text, pattern) {
            return r;
        }
    }
    like_general(text, pattern, escape, case_insensitive)
}

/// The shapes with `%` only at the ends and no `_` or escapes.
fn like_fast(text: &str, pattern: &str) -> Option<bool> {
    let lead = pattern.starts_with('%');
    let body = pattern.trim_start_matches('%');
    let trail = body.ends_with('%');
    let body = body.trim_end_matches('%');
    if body.contains('%') {
        return None;
    }
    Some(match (lead, trail) {
        (false, false) => text == body,
        (false, true) => text.starts_with(body),
        (true, false) => text.ends_with(body),
        (true, true) => text.contains(body),
    })
}

enum LikeTok {
    Lit(char),
    One,
    Many,
}

/// The pattern token at byte `p`, and the byte after it. A trailing escape character
/// stands for itself.
fn like_token(pattern: &str, p: usize, escape: char) -> (LikeTok, usize) {
    let mut it = pattern[p..].chars();
    let c = it.next().unwrap_or('\0');
    let next = p + c.len_utf8();
    if c == escape {
        if let Some(lit) = it.next() {
            return (LikeTok::Lit(lit), next + lit.len_utf8());
        }
        return (LikeTok::Lit(c), next);
    }
    match c {
        '%' => (LikeTok::Many, next),
        '_' => (LikeTok::One, next),
        c => (LikeTok::Lit(c), next),
    }
}

fn chars_eq(a: char, b: char, ci: bool) -> bool {
    a == b || (ci && a.to_lowercase().eq(b.to_lowercase()))
}

fn like_general(text: &str, pattern: &str, escape: char, ci: bool) -> bool {
    let (mut t, mut p) = (0usize, 0usize);
    // After the last `%` seen: (pattern position past it, text position it now covers to).
    let mut star: Option<(usize, usize)> = None;
    loop {
        if p < pattern.len() {
            let (tok, np) = like_token(pattern, p, escape);
            let tc = text[t..].chars().next();
            match (tok, tc) {
                (LikeTok::Many, _) => {
                    star = Some((np, t));
                    p = np;
                    continue;
                }
                (LikeTok::One, Some(c)) => {
                    t += c.len_utf8();
                    p = np;
                    continue;
                }
                (LikeTok::Lit(l), Some(c)) if chars_eq(l, c, ci) => {
                    t += c.len_utf8();
                    p = np;
                    continue;
                }
                _ => {}
            }
        } else if t == text.len() {
            return true;
        }
        // Mismatch: let the last `%` swallow one more character and retry.
        match star {
            Some((sp, st)) => match text[st..].chars().next() {
                Some(c) => {
                    let nst = st + c.len_utf8();
                    star = Some((sp, nst));
                    t = nst;
                    p = sp;
                }
                None => return false,
            },
            None => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn lit(d: Datum) -> Expr {
        Expr::Literal(d)
    }
    fn int(i: i64) -> Expr {
        lit(Datum::Int(i))
    }
    fn num(s: &str) -> Expr {
        lit(Datum::Numeric(s.parse().unwrap()))
    }
    fn flt(f: f64) -> Expr {
        lit(Datum::Float(f))
    }
    fn txt(s: &str) -> Expr {
        lit(Datum::Text(s.into()))
    }
    fn null() -> Expr {
        lit(Datum::Null)
    }
    fn boolean(b: bool) -> Expr {
        lit(Datum::Bool(b))
    }
    fn bin(op: BinaryOp, l: Expr, r: Expr) -> Expr {
        Expr::Binary {
            op,
            left: Box::new(l),
            right: Box::new(r),
        }
    }
    fn ev(e: &Expr) -> String {
        ev_row(e, &[])
    }
    fn ev_row(e: &Expr, row: &[Datum]) -> String {
        match e.eval(row, &EvalCtx::new()) {
            Ok(d) => {
                let mut s = String::new();
                d.write_json(&mut s);
                s
            }
            Err(e) => format!("ERR {e}"),
        }
    }
    fn date(s: &str) -> Expr {
        lit(SqlType::Date.cast(Datum::Text(s.into())).unwrap())
    }
    fn like(s: Expr, p: &str, ci: bool, escape: Option<char>) -> Expr {
        Expr::Like {
            expr: Box::new(s),
            pattern: Box::new(txt(p)),
            negated: false,
            case_insensitive: ci,
            escape,
        }
    }

    #[test]
    fn three_valued_logic() {
        use BinaryOp::{And, Or};
        let vals = [
            (boolean(true), Some(true)),
            (boolean(false), Some(false)),
            (null(), None),
        ];
        for (a, av) in &vals {
            for (b, bv) in &vals {
                let and = match (av, bv) {
                    (Some(false), _) | (_, Some(false)) => "false",
                    (Some(true), Some(true)) => "true",
                    _ => "null",
                };
                let or = match (av, bv) {
                    (Some(true), _) | (_, Some(true)) => "true",
                    (Some(false), Some(false)) => "false",
                    _ => "null",
                };
                assert_eq!(ev(&bin(And, a.clone(), b.clone())), and);
                assert_eq!(ev(&bin(Or, a.clone(), b.clone())), or);
            }
        }
        let not = |e: Expr| Expr::Unary {
            op: UnaryOp::Not,
            expr: Box::new(e),
        };
        assert_eq!(ev(&not(null())), "null");
        assert_eq!(ev(&not(boolean(false))), "true");
        assert_eq!(
            ev(&not(int(1))),
            "ERR argument of NOT must be type boolean, not type integer"
        );
        assert_eq!(
            ev(&bin(And, boolean(true), int(1))),
            "ERR argument of AND must be type boolean, not type integer"
        );
        // Short-circuit: the right side is not evaluated.
        assert_eq!(
            ev(&bin(
                And,
                boolean(false),
                bin(BinaryOp::Div, int(1), int(0))
            )),
            "false"
        );
        assert_eq!(
            ev(&bin(Or, boolean(true), bin(BinaryOp::Div, int(1), int(0)))),
            "true"
        );
    }

    #[test]
    fn comparisons() {
        use BinaryOp::*;
        assert_eq!(ev(&bin(Gt, int(31), int(30))), "true");
        assert_eq!(ev(&bin(Eq, int(1), num("1.0"))), "true");
        assert_eq!(ev(&bin(NotEq, int(1), flt(1.5))), "true");
        assert_eq!(ev(&bin(LtEq, txt("a"), txt("b"))), "true");
        assert_eq!(ev(&bin(Eq, int(1), null())), "null");
        assert_eq!(
            ev(&bin(Eq, int(1), txt("1"))),
            "ERR operator does not exist: integer = text"
        );
        assert_eq!(
            ev(&bin(GtEq, date("2024-01-31"), txt("2024-01-01"))),
            "true"
        );
    }

    #[test]
    fn arithmetic_matches_postgres() {
        use BinaryOp::*;
        assert_eq!(ev(&bin(Div, int(-7), int(2))), "-3");
        assert_eq!(ev(&bin(Mod, int(-7), int(3))), "-1");
        assert_eq!(ev(&bin(Mod, int(7), int(-3))), "1");
        assert_eq!(ev(&bin(Mod, int(i64::MIN), int(-1))), "0");
        assert_eq!(
            ev(&bin(Div, int(i64::MIN), int(-1))),
            "ERR bigint out of range"
        );
        assert_eq!(
            ev(&bin(Plus, int(i64::MAX), int(1))),
            "ERR bigint out of range"
        );
        assert_eq!(
            ev(&bin(Mul, int(i64::MAX), int(2))),
            "ERR bigint out of range"
        );
        assert_eq!(ev(&bin(Div, int(5), int(0))), "ERR division by zero");
        assert_eq!(ev(&bin(Mod, int(5), int(0))), "ERR division by zero");
        assert_eq!(ev(&bin(Div, num("5.0"), int(0))), "ERR division by zero");
        assert_eq!(ev(&bin(Div, flt(1.0), int(0))), "ERR division by zero");
        assert_eq!(ev(&bin(Div, int(5), num("2.0"))), "2.5000000000000000");
        assert_eq!(ev(&bin(Div, num("1.0"), int(3))), "0.33333333333333333333");
        assert_eq!(ev(&bin(Mul, num("2.0"), num("1.50"))), "3.000");
        assert_eq!(ev(&bin(Minus, int(1), num("0.5"))), "0.5");
        assert_eq!(ev(&bin(Mod, num("5.5"), int(2))), "1.5");
        assert_eq!(ev(&bin(Mod, num("-7.5"), int(2))), "-1.5");
        assert_eq!(ev(&bin(Mul, int(2), flt(1.5))), "3");
        assert_eq!(ev(&bin(Plus, flt(0.1), num("0.2"))), "0.30000000000000004");
        assert_eq!(
            ev(&bin(Mul, flt(1e308), int(10))),
            "ERR value out of range: overflow"
        );
        assert_eq!(
            ev(&bin(Mul, flt(1e-300), flt(1e-300))),
            "ERR value out of range: underflow"
        );
        assert_eq!(
            ev(&bin(Mod, flt(5.5), int(2))),
            "ERR operator does not exist: double precision % integer"
        );
        assert_eq!(
            ev(&bin(Plus, txt("1"), int(1))),
            "ERR operator does not exist: text + integer"
        );
        assert_eq!(ev(&bin(Plus, int(1), null())), "null");
        let neg = |e: Expr| Expr::Unary {
            op: UnaryOp::Neg,
            expr: Box::new(e),
        };
        assert_eq!(ev(&neg(int(i64::MIN))), "ERR bigint out of range");
        assert_eq!(ev(&neg(num("2.50"))), "-2.50");
        assert_eq!(ev(&neg(txt("a"))), "ERR operator does not exist: - text");
    }

    #[test]
    fn date_arithmetic() {
        use BinaryOp::*;
        assert_eq!(ev(&bin(Plus, date("2024-01-31"), int(1))), "\"2024-02-01\"");
        assert_eq!(ev(&bin(Plus, int(1), date("2024-01-31"))), "\"2024-02-01\"");
        assert_eq!(
            ev(&bin(Minus, date("2024-01-31"), int(1))),
            "\"2024-01-30\""
        );
        assert_eq!(
            ev(&bin(Minus, date("2024-03-01"), date("2024-01-31"))),
            "30"
        );
        assert_eq!(
            ev(&bin(Plus, date("2024-01-31"), int(i64::MAX))),
            "ERR date out of range"
        );
        let t = lit(SqlType::Time.cast(Datum::Text("10:00".into())).unwrap());
        assert_eq!(
            ev(&bin(Plus, date("2024-01-31"), t)),
            "\"2024-01-31 10:00:00\""
        );
        assert_eq!(
            ev(&bin(Minus, int(1), date("2024-01-31"))),
            "ERR operator does not exist: integer - date"
        );
    }

    #[test]
    fn concatenation() {
        use BinaryOp::Concat;
        let e = bin(
            Concat,
            bin(Concat, bin(Concat, txt("a"), int(1)), boolean(true)),
            num("1.50"),
        );
        assert_eq!(ev(&e), "\"a1true1.50\"");
        assert_eq!(ev(&bin(Concat, txt("a"), flt(1.5))), "\"a1.5\"");
        assert_eq!(ev(&bin(Concat, txt("a"), null())), "null");
        assert_eq!(
            ev(&bin(Concat, int(1), int(2))),
            "ERR operator does not exist: integer || integer"
        );
        let j = |v| lit(Datum::Json(Box::new(v)));
        assert_eq!(
            ev(&bin(Concat, txt("a"), j(json!({"a": 1})))),
            r#""a{\"a\": 1}""#
        );
        assert_eq!(
            ev(&bin(Concat, j(json!({"a": 1})), j(json!({"b": 2})))),
            r#"{"a":1,"b":2}"#
        );
        assert_eq!(ev(&bin(Concat, j(json!(1)), j(json!([2])))), "[1,2]");
    }

    #[test]
    fn like_patterns() {
        let m = |s: &str, p: &str| like_match(s, p, '\\', false);
        assert!(m("hello", "hello"));
        assert!(!m("hello", "hell"));
        assert!(m("hello", "he%"));
        assert!(m("hello", "%llo"));
        assert!(m("hello", "%ll%"));
        assert!(m("hello", "h%l%o"));
        assert!(m("hello", "h_llo"));
        assert!(!m("ab", "a_b"));
        assert!(m("aXb", "a_b"));
        assert!(m("héllo", "h_llo"));
        assert!(m("", "%"));
        assert!(!m("a", ""));
        assert!(m("a_c", "a\\_c"));
        assert!(!m("abc", "a\\_c"));
        assert!(m("Ab%", "Ab\\%"));
        assert!(!m("Abc", "Ab\\%"));
        assert!(m("ab\\", "ab\\"));
        assert!(!m("ab", "ab\\"));
        assert!(like_match("100%", "100#%", '#', false));
        assert!(!like_match("1000", "100#%", '#', false));
        assert!(like_match("AbC", "a%c", '\\', true));
        assert!(like_match("ÀB", "àb", '\\', true));
        assert!(!like_match("straße", "STRASSE", '\\', true));
        assert!(m("mississippi", "%iss%ppi"));
        assert!(!m("mississippi", "%iss%ppx"));
        assert!(m("abcabc", "%abc"));
        // No exponential blow-up on many `%`s against a long non-matching text.
        let text = "a".repeat(20_000);
        let start = std::time::Instant::now();
        assert!(!m(&text, "%a%a%a%a%a%a%a%a%b"));
        assert!(!like_match(&text, "%a%a%a%a%a%a%a%a%B", '\\', true));
        assert!(start.elapsed() < std::time::Duration::from_secs(2));

        let e = like(Expr::Column(0), "a%", false, None);
        assert_eq!(ev_row(&e, &[Datum::Text("abc".into())]), "true");
        assert_eq!(ev_row(&e, &[Datum::Null]), "null");
        assert_eq!(
            ev_row(&e, &[Datum::Int(1)]),
            "ERR operator does not exist: integer ~~ text"
        );
        let ne = Expr::Like {
            expr: Box::new(txt("abc")),
            pattern: Box::new(txt("A%")),
            negated: true,
            case_insensitive: true,
            escape: None,
        };
        assert_eq!(ev(&ne), "false");
    }

    #[test]
    fn between_in_case() {
        let between = |x: Expr, lo: Expr, hi: Expr, negated: bool| Expr::Between {
            expr: Box::new(x),
            low: Box::new(lo),
            high: Box::new(hi),
            negated,
        };
        assert_eq!(ev(&between(int(2), int(1), int(3), false)), "true");
        assert_eq!(ev(&between(int(2), int(1), null(), false)), "null");
        assert_eq!(ev(&between(int(0), int(1), null(), false)), "false");
        assert_eq!(ev(&between(int(0), int(1), null(), true)), "true");
        assert_eq!(ev(&between(int(2), int(1), null(), true)), "null");
        let inl = |x: Expr, list: Vec<Expr>, negated: bool| Expr::InList {
            expr: Box::new(x),
            list,
            negated,
        };
        assert_eq!(ev(&inl(int(1), vec![int(2), null()], false)), "null");
        assert_eq!(ev(&inl(int(1), vec![int(1), null()], false)), "true");
        assert_eq!(ev(&inl(null(), vec![int(1)], false)), "null");
        assert_eq!(ev(&inl(int(1), vec![int(2), null()], true)), "null");
        assert_eq!(ev(&inl(int(1), vec![int(2), int(3)], true)), "true");
        assert_eq!(ev(&inl(int(1), vec![num("1.0")], false)), "true");
        assert_eq!(
            ev(&inl(int(1), vec![txt("a")], false)),
            "ERR operator does not exist: integer = text"
        );
        let searched = Expr::Case {
            operand: None,
            whens: vec![
                (null(), txt("null")),
                (bin(BinaryOp::Gt, Expr::Column(0), int(10)), txt("big")),
            ],
            else_: Some(Box::new(txt("small"))),
        };
        assert_eq!(ev_row(&searched, &[Datum::Int(11)]), "\"big\"");
        assert_eq!(ev_row(&searched, &[Datum::Int(1)]), "\"small\"");
        let simple = Expr::Case {
            operand: Some(Box::new(Expr::Column(0))),
            whens: vec![(int(1), txt("one")), (int(2), txt("two"))],
            else_: None,
        };
        assert_eq!(ev_row(&simple, &[Datum::Int(2)]), "\"two\"");
        assert_eq!(ev_row(&simple, &[Datum::Int(3)]), "null");
        assert_eq!(ev_row(&simple, &[Datum::Null]), "null");
    }

    #[test]
    fn casts_and_functions() {
        let cast = Expr::Cast {
            expr: Box::new(txt("42")),
            to: SqlType::Integer,
        };
        assert_eq!(ev(&cast), "42");
        let lower = Expr::Func {
            func: Func::Lower,
            args: vec![Expr::Column(0)],
        };
        assert_eq!(ev_row(&lower, &[Datum::Text("AbC".into())]), "\"abc\"");
        // COALESCE stops at the first non-NULL argument.
        let co = Expr::Func {
            func: Func::Coalesce,
            args: vec![null(), int(1), bin(BinaryOp::Div, int(1), int(0))],
        };
        assert_eq!(ev(&co), "1");
    }

    #[test]
    fn json_access() {
        let doc = Datum::Json(Box::new(
            json!({"a": {"b": "x", "n": null, "c": [1, {"d": 2}]}}),
        ));
        let get = |e: Expr, k: Expr, as_text: bool| Expr::JsonGet {
            expr: Box::new(e),
            key: Box::new(k),
            as_text,
        };
        let row = [doc];
        let a = get(Expr::Column(0), txt("a"), false);
        assert_eq!(ev_row(&get(a.clone(), txt("b"), true), &row), "\"x\"");
        assert_eq!(ev_row(&get(a.clone(), txt("b"), false), &row), "\"x\"");
        assert_eq!(ev_row(&get(a.clone(), txt("n"), true), &row), "null");
        assert!(matches!(
            get(a.clone(), txt("n"), false)
                .eval(&row[..], &EvalCtx::new())
                .unwrap(),
            Datum::Json(_)
        ));
        assert_eq!(ev_row(&get(a.clone(), txt("zz"), false), &row), "null");
        let c = get(a.clone(), txt("c"), false);
        assert_eq!(ev_row(&get(c.clone(), int(-1), false), &row), r#"{"d":2}"#);
        assert_eq!(
            ev_row(&get(c.clone(), int(-1), true), &row),
            r#""{\"d\": 2}""#
        );
        assert_eq!(ev_row(&get(c.clone(), int(0), true), &row), "\"1\"");
        assert_eq!(ev_row(&get(c.clone(), int(5), true), &row), "null");
        assert_eq!(ev_row(&get(c.clone(), int(-5), true), &row), "null");
        assert_eq!(ev_row(&get(c.clone(), txt("a"), true), &row), "null");
        assert_eq!(ev_row(&get(a.clone(), int(0), true), &row), "null");
        assert_eq!(
            ev_row(&get(txt("{}"), txt("a"), false), &row),
            "ERR operator does not exist: text -> text"
        );
        assert_eq!(
            ev_row(&get(a, boolean(true), false), &row),
            "ERR operator does not exist: jsonb -> boolean"
        );
        assert_eq!(ev_row(&get(null(), txt("a"), true), &row), "null");
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(3000))]
        /// LIKE never panics, and agrees with a plain recursive matcher on small inputs.
        #[test]
        fn like_agrees_with_reference(s in "[ab_%\\\\é]{0,8}", p in "[ab_%\\\\é]{0,8}") {
            fn reference(t: &[char], p: &[char]) -> bool {
                match p.split_first() {
                    None => t.is_empty(),
                    Some(('%', rest)) => (0..=t.len()).any(|i| reference(&t[i..], rest)),
                    Some(('_', rest)) => !t.is_empty() && reference(&t[1..], rest),
                    Some(('\\', rest)) if !rest.is_empty() => {
                        !t.is_empty() && t[0] == rest[0] && reference(&t[1..], &rest[1..])
                    }
                    Some((c, rest)) => !t.is_empty() && t[0] == *c && reference(&t[1..], rest),
                }
            }
            let t: Vec<char> = s.chars().collect();
            let pc: Vec<char> = p.chars().collect();
            proptest::prop_assert_eq!(like_match(&s, &p, '\\', false), reference(&t, &pc));
            let _ = like_match(&s, &p, '\\', true);
        }
    }

    /// A row that does not hold Datums (no `column_ref`) evaluates the same.
    #[test]
    fn rows_without_references() {
        struct Doc1(serde_json::Value);
        impl Row for Doc1 {
            fn column(&self, i: usize) -> Datum {
                match i {
                    0 => Datum::from_json(&self.0["name"]),
                    _ => Datum::Null,
                }
            }
        }
        let row = Doc1(json!({"name": "bob"}));
        let e = bin(BinaryOp::Eq, Expr::Column(0), txt("bob"));
        assert!(e.eval(&row, &EvalCtx::new()).unwrap().is_true());
        let e = like(Expr::Column(0), "b_b", false, None);
        assert!(e.eval(&row, &EvalCtx::new()).unwrap().is_true());
        assert!(Expr::Column(3)
            .eval(&row, &EvalCtx::new())
            .unwrap()
            .is_null());
    }

    #[test]
    fn display_for_explain() {
        let names = vec!["age".to_string(), "name".to_string()];
        let show = |e: &Expr| e.display(&names).to_string();
        assert_eq!(
            show(&bin(BinaryOp::Gt, Expr::Column(0), int(30))),
            "(age > 30)"
        );
        assert_eq!(
            show(&bin(
                BinaryOp::And,
                bin(BinaryOp::Gt, Expr::Column(0), int(30)),
                like(Expr::Column(1), "a%", true, None)
            )),
            "((age > 30) AND (name ILIKE 'a%'))"
        );
        assert_eq!(
            show(&Expr::Func {
                func: Func::Lower,
                args: vec![Expr::Column(1)]
            }),
            "lower(name)"
        );
        assert_eq!(
            show(&Expr::InList {
                expr: Box::new(Expr::Column(0)),
                list: vec![int(1), int(2)],
                negated: true
            }),
            "(age NOT IN (1, 2))"
        );
        assert_eq!(
            show(&Expr::Cast {
                expr: Box::new(Expr::Column(1)),
                to: SqlType::Numeric(Some((10, 2)))
            }),
            "CAST(name AS numeric(10,2))"
        );
        assert_eq!(
            show(&Expr::IsNull {
                expr: Box::new(Expr::Column(7)),
                negated: true
            }),
            "($8 IS NOT NULL)"
        );
        assert_eq!(
            show(&Expr::Case {
                operand: None,
                whens: vec![(bin(BinaryOp::Lt, Expr::Column(0), int(18)), txt("minor"))],
                else_: Some(Box::new(txt("adult")))
            }),
            "CASE WHEN (age < 18) THEN 'minor' ELSE 'adult' END"
        );
        assert_eq!(
            show(&Expr::JsonGet {
                expr: Box::new(Expr::Column(1)),
                key: Box::new(txt("a")),
                as_text: true
            }),
            "(name ->> 'a')"
        );
        assert_eq!(
            show(&like(Expr::Column(1), "a#%", false, Some('#'))),
            "(name LIKE 'a#%' ESCAPE '#')"
        );
    }
}
