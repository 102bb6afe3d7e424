//! Aggregates in two steps: each shard folds its rows into partial states, the
//! coordinator merges the shards' states and finishes them. AVG travels as SUM and
//! COUNT; a DISTINCT aggregate travels as its set of distinct values.

use std::cmp::Ordering;

use hashbrown::HashSet;
use rust_decimal::Decimal;

use super::bind::AggFunc;
use super::error::{sql_bail, SqlResult};
use super::expr::{BinaryOp, EvalCtx, Expr};
use super::value::Datum;

/// One aggregate of a query: the function, its argument (none for `COUNT(*)`).
#[derive(Clone, Debug, PartialEq)]
pub struct AggSpec {
    pub func: AggFunc,
    pub arg: Option<Expr>,
    pub distinct: bool,
}

impl AggSpec {
    pub fn name(&self) -> &'static str {
        match self.func {
            AggFunc::Count => "count",
            AggFunc::Sum => "sum",
            AggFunc::Avg => "avg",
            AggFunc::Min => "min",
            AggFunc::Max => "max",
        }
    }
}

/// A running sum: integers add exactly in 128 bits, and the sum widens to NUMERIC or
/// DOUBLE PRECISION when such a value comes.
#[derive(Clone, Debug, Default)]
pub enum Sum {
    #[default]
    Empty,
    Int(i128),
    Numeric(Decimal),
    Float(f64),
}

impl Sum {
    fn add(&mut self, v: &Datum, func: &str) -> SqlResult<()> {
        let overflow = || super::error::SqlError::new("numeric value out of range");
        *self = match (std::mem::take(self), v) {
            (Sum::Empty, Datum::Int(i)) => Sum::Int(*i as i128),
            (Sum::Empty, Datum::Numeric(d)) => Sum::Numeric(*d),
            (Sum::Empty, Datum::Float(f)) => Sum::Float(*f),
            (Sum::Int(a), Datum::Int(b)) => {
                Sum::Int(a.checked_add(*b as i128).ok_or_else(overflow)?)
            }
            (Sum::Int(a), Datum::Numeric(d)) => {
                Sum::Numeric(int_dec(a)?.checked_add(*d).ok_or_else(overflow)?)
            }
            (Sum::Numeric(a), Datum::Int(b)) => {
                Sum::Numeric(a.checked_add(Decimal::from(*b)).ok_or_else(overflow)?)
            }
            (Sum::Numeric(a), Datum::Numeric(d)) => {
                Sum::Numeric(a.checked_add(*d).ok_or_else(overflow)?)
            }
            (Sum::Float(a), Datum::Float(f)) => Sum::Float(a + f),
            (Sum::Float(a), Datum::Int(i)) => Sum::Float(a + *i as f64),
            (Sum::Float(a), Datum::Numeric(d)) => Sum::Float(a + dec_f64(d)),
            (Sum::Int(a), Datum::Float(f)) => Sum::Float(a as f64 + f),
            (Sum::Numeric(a), Datum::Float(f)) => Sum::Float(dec_f64(&a) + f),
            (_, other) => sql_bail!("function {func}({}) does not exist", other.type_name()),
        };
        Ok(())
    }

    fn merge(&mut self, other: Sum) -> SqlResult<()> {
        match other {
            Sum::Empty => Ok(()),
            Sum::Int(i) => match i64::try_from(i) {
                Ok(i) => self.add(&Datum::Int(i), "sum"),
                Err(_) => self.add(&Datum::Numeric(int_dec(i)?), "sum"),
            },
            Sum::Numeric(d) => self.add(&Datum::Numeric(d), "sum"),
            Sum::Float(f) => self.add(&Datum::Float(f), "sum"),
        }
    }

    fn value(&self) -> SqlResult<Datum> {
        Ok(match self {
            Sum::Empty => Datum::Null,
            Sum::Int(i) => match i64::try_from(*i) {
                Ok(i) => Datum::Int(i),
                Err(_) => Datum::Numeric(int_dec(*i)?),
            },
            Sum::Numeric(d) => Datum::Numeric(*d),
            Sum::Float(f) => Datum::Float(*f),
        })
    }
}

fn int_dec(i: i128) -> SqlResult<Decimal> {
    Decimal::try_from_i128_with_scale(i, 0)
        .map_err(|_| super::error::SqlError::new("numeric value out of range"))
}

fn dec_f64(d: &Decimal) -> f64 {
    use rust_decimal::prelude::ToPrimitive;
    d.to_f64().unwrap_or(f64::NAN)
}

/// The partial state of one aggregate over some rows.
#[derive(Clone, Debug)]
pub enum AggState {
    Count(i64),
    Sum(Sum),
    Avg(Sum, i64),
    /// MIN or MAX so far.
    Best(Option<Datum>),
    /// The distinct non-NULL values of a DISTINCT aggregate.
    Distinct(HashSet<Datum>),
}

impl AggState {
    pub fn new(spec: &AggSpec) -> AggState {
        if spec.distinct {
            return AggState::Distinct(HashSet::new());
        }
        match spec.func {
            AggFunc::Count => AggState::Count(0),
            AggFunc::Sum => AggState::Sum(Sum::Empty),
            AggFunc::Avg => AggState::Avg(Sum::Empty, 0),
            AggFunc::Min | AggFunc::Max => AggState::Best(None),
        }
    }

    /// Folds in one row's argument value (`None` for `COUNT(*)`).
    pub fn update(&mut self, spec: &AggSpec, v: Option<Datum>) -> SqlResult<()> {
        let Some(v) = v else {
            if let AggState::Count(n) = self {
                *n += 1;
            }
            return Ok(());
        };
        if v.is_null() {
            return Ok(());
        }
        match self {
            AggState::Count(n) => *n += 1,
            AggState::Sum(s) => s.add(&v, "sum")?,
            AggState::Avg(s, n) => {
                s.add(&v, "avg")?;
                *n += 1;
            }
            AggState::Best(best) => {
                // PostgreSQL has no MIN/MAX over these (bool_and/bool_or for booleans).
                if matches!(v, Datum::Json(_) | Datum::Bool(_)) {
                    sql_bail!("function {}({}) does not exist", spec.name(), v.type_name());
                }
                let better = match best {
                    None => true,
                    Some(b) => {
                        let ord = v.sql_cmp(b)?.unwrap_or(Ordering::Equal);
                        match spec.func {
                            AggFunc::Min => ord == Ordering::Less,
                            _ => ord == Ordering::Greater,
                        }
                    }
                };
                if better {
                    *best = Some(v);
                }
            }
            AggState::Distinct(set) => {
                set.insert(v);
            }
        }
        Ok(())
    }

    /// Merges another partial state of the same aggregate.
    pub fn merge(&mut self, spec: &AggSpec, other: AggState) -> SqlResult<()> {
        match (self, other) {
            (AggState::Count(a), AggState::Count(b)) => *a += b,
            (AggState::Sum(a), AggState::Sum(b)) => a.merge(b)?,
            (AggState::Avg(a, n), AggState::Avg(b, m)) => {
                a.merge(b)?;
                *n += m;
            }
            (me @ AggState::Best(_), AggState::Best(Some(v))) => me.update(spec, Some(v))?,
            (AggState::Best(_), AggState::Best(None)) => {}
            (AggState::Distinct(a), AggState::Distinct(b)) => a.extend(b),
            _ => sql_bail!("internal error: mismatched aggregate states"),
        }
        Ok(())
    }

    /// The aggregate's result.
    pub fn finish(self, spec: &AggSpec, ctx: &EvalCtx) -> SqlResult<Datum> {
        match self {
            AggState::Count(n) => Ok(Datum::Int(n)),
            AggState::Sum(s) => s.value(),
            AggState::Avg(s, n) => avg(&s, n, ctx),
            AggState::Best(b) => Ok(b.unwrap_or(Datum::Null)),
            AggState::Distinct(set) => {
                let mut plain = AggSpec {
                    distinct: false,
                    ..spec.clone()
                };
                plain.arg = None;
                let mut st = AggState::new(&plain);
                for v in set {
                    st.update(&plain, Some(v))?;
                }
                st.finish(&plain, ctx)
            }
        }
    }
}

/// SUM / COUNT with the division rules of the sum's type: NUMERIC for exact sums (as
/// PostgreSQL's AVG of integers), DOUBLE PRECISION for floats.
fn avg(sum: &Sum, n: i64, ctx: &EvalCtx) -> SqlResult<Datum> {
    if n == 0 {
        return Ok(Datum::Null);
    }
    let total = match sum {
        Sum::Empty => return Ok(Datum::Null),
        Sum::Float(f) => return Ok(Datum::Float(f / n as f64)),
        Sum::Int(i) => Datum::Numeric(int_dec(*i)?),
        Sum::Numeric(d) => Datum::Numeric(*d),
    };
    Expr::Binary {
        op: BinaryOp::Div,
        left: Box::new(Expr::Literal(total)),
        right: Box::new(Expr::Literal(Datum::Numeric(Decimal::from(n)))),
    }
    .eval(&[] as &[Datum], ctx)
}
