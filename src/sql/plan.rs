//! Planning a SELECT: names are bound to positions, and the query is split into the part
//! every shard runs over its own rows (`Fragment`: scan, filter, projection or partial
//! aggregation, top-N) and the part the coordinator runs over what they send back
//! (joins, final aggregation, HAVING, DISTINCT, ORDER BY, OFFSET/LIMIT).
//!
//! While binding, a column of FROM item `s` is `Column(s * STRIDE + c)` and an
//! aggregate's result `Column(AGG_BASE + i)`; once every column each scan reads is
//! known, `place` turns them into positions in the tuples the plan's stages see.

use std::sync::Arc;

use sqlparser::ast;

use super::aggregate::AggSpec;
use super::bind::{self, AggCall, Scope};
use super::error::{sql_bail, SqlError, SqlResult};
use super::expr::{BinaryOp, EvalCtx, Expr};
use super::schema::{self, TableSchema};
use super::types::SqlType;
use super::value::Datum;

const STRIDE: usize = 1 << 20;
const AGG_BASE: usize = 1 << 40;
const POST_BASE: usize = 1 << 44;

/// What a scan reads from each document: one field, or the whole document.
#[derive(Clone, Debug, PartialEq)]
pub struct ScanColumn {
    pub name: String,
    /// The schema's type, which decides how the stored JSON reads.
    pub ty: Option<SqlType>,
    /// The key column: a document without the field reads it from its key.
    pub is_key: bool,
    /// The whole document as one JSONB object (`SELECT *` of a schemaless table).
    pub whole: bool,
}

/// One table of the FROM clause.
#[derive(Clone, Debug)]
pub struct Source {
    pub table: String,
    /// The name columns are qualified with (the alias, else the table name).
    pub alias: String,
    pub schema: Option<Arc<TableSchema>>,
    pub columns: Vec<ScanColumn>,
    /// Conditions on this table alone, run by the shards.
    pub filter: Vec<Expr>,
    /// Set when the filter fixes the primary key: only this row's shard is asked.
    pub key: Option<Vec<u8>>,
}

impl Source {
    fn key_column(&self) -> &str {
        match &self.schema {
            Some(s) => s.key_column(),
            None => schema::DEFAULT_KEY,
        }
    }

    /// Position of `name` among the scan's columns, adding it if new.
    fn column(&mut self, name: &str, whole: bool) -> usize {
        if let Some(p) = self
            .columns
            .iter()
            .position(|c| c.name == name && c.whole == whole)
        {
            return p;
        }
        let ty = self
            .schema
            .as_ref()
            .and_then(|s| s.column(name).map(|p| s.columns[p].ty));
        let is_key = !whole && name == self.key_column();
        self.columns.push(ScanColumn {
            name: name.to_string(),
            ty,
            is_key,
            whole,
        });
        self.columns.len() - 1
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JoinKind {
    Inner,
    Left,
}

/// Joins the rows gathered so far (sources `0..=i`) with source `i + 1`.
#[derive(Clone, Debug)]
pub struct Join {
    pub kind: JoinKind,
    /// Equality keys: left expressions over the tuple so far, right ones over the new
    /// source's columns. Empty: every pair is a candidate (a cross join).
    pub left_keys: Vec<Expr>,
    pub right_keys: Vec<Expr>,
    /// Other ON conditions, over the joined tuple.
    pub condition: Vec<Expr>,
    /// Set when the new table is read by primary key instead of scanned:
    /// `right_keys[k]` is its key column, so the values of `left_keys[k]` over the
    /// rows so far name every row that can match (see `lookup_column`).
    pub lookup: Option<usize>,
}

/// One ORDER BY key: a position in the projected row.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SortKey {
    pub column: usize,
    pub desc: bool,
    pub nulls_first: bool,
}

/// The coordinator's last stages, shared by every plan shape: rows arrive projected
/// (`width` output columns, then the sort keys that are not outputs).
#[derive(Clone, Debug)]
pub struct Output {
    pub names: Vec<String>,
    /// Output columns that hold a whole document to spread into the row object.
    pub spread: Vec<bool>,
    pub width: usize,
    pub distinct: bool,
    pub order: Vec<SortKey>,
    pub offset: usize,
    pub limit: Option<usize>,
}

impl Output {
    /// How many rows a shard needs to send at most, when that is bounded.
    pub fn top(&self) -> Option<usize> {
        self.limit.map(|l| l.saturating_add(self.offset))
    }
}

/// What a shard does with the rows that pass the filter.
#[derive(Clone, Debug)]
pub enum FragmentOutput {
    /// Project each row; keep only the first `top` by `order` when set (or any `top`
    /// rows when `order` is empty); drop duplicate rows when `distinct`.
    Rows {
        exprs: Vec<Expr>,
        distinct_width: Option<usize>,
        order: Vec<SortKey>,
        top: Option<usize>,
    },
    /// Partial aggregation by `keys`.
    Groups { keys: Vec<Expr>, aggs: Vec<AggSpec> },
}

/// The part of a query each shard runs over its own rows.
#[derive(Clone, Debug)]
pub struct Fragment {
    pub db: usize,
    pub table: String,
    pub columns: Vec<ScanColumn>,
    pub key: Option<Vec<u8>>,
    /// The row keys of a lookup join, all owned by the shard the fragment is sent
    /// to: only these rows are read.
    pub lookup: Option<Vec<Vec<u8>>>,
    pub filter: Option<Expr>,
    pub output: FragmentOutput,
    pub ctx: EvalCtx,
}

/// The coordinator's part after the gather.
#[derive(Clone, Debug)]
pub enum CoordPlan {
    /// Rows come projected from the shards (a single table without aggregates).
    Merge,
    /// Partial groups come from the shards (a single table with aggregates).
    Aggregate {
        aggs: Vec<AggSpec>,
        having: Option<Expr>,
        project: Vec<Expr>,
    },
    /// Rows of each table come from the shards; the coordinator joins, filters and
    /// aggregates or projects.
    Join {
        joins: Vec<Join>,
        filter: Option<Expr>,
        aggregate: Option<(Vec<Expr>, Vec<AggSpec>)>,
        having: Option<Expr>,
        project: Vec<Expr>,
    },
    /// No FROM: one empty row.
    Values {
        filter: Option<Expr>,
        aggregate: Option<(Vec<Expr>, Vec<AggSpec>)>,
        having: Option<Expr>,
        project: Vec<Expr>,
    },
}

#[derive(Clone, Debug)]
pub struct SelectPlan {
    pub sources: Vec<Source>,
    /// One per source.
    pub fragments: Vec<Arc<Fragment>>,
    pub coord: CoordPlan,
    pub output: Output,
}

impl SelectPlan {
    /// Whether source `s` is read by a lookup join rather than scanned.
    pub fn looked_up(&self, s: usize) -> bool {
        match &self.coord {
            CoordPlan::Join { joins, .. } => s > 0 && joins[s - 1].lookup.is_some(),
            _ => false,
        }
    }
}

/// Schemas of the tables a statement names, looked up by the caller.
pub trait Catalog {
    /// `Ok(None)`: the table has no schema (it may still have rows).
    fn schema(&self, table: &str) -> Option<Arc<TableSchema>>;
}

// ---------------------------------------------------------------------------------
// Binding scope

#[derive(Clone, Copy, PartialEq, Eq)]
enum Clause {
    Where,
    On,
    GroupBy,
    Select,
    Update,
}

struct QueryScope<'a> {
    sources: &'a mut Vec<Source>,
    /// Sources visible (for ON conditions: those joined so far).
    visible: usize,
    aggs: Vec<AggSpec>,
    clause: Clause,
}

impl QueryScope<'_> {
    fn find_source(&self, qualifier: &str) -> SqlResult<usize> {
        let found: Vec<usize> = (0..self.visible)
            .filter(|&s| self.sources[s].alias == qualifier)
            .collect();
        match found.as_slice() {
            [s] => Ok(*s),
            [] if self.sources[..self.visible]
                .iter()
                .any(|s| s.table == qualifier) =>
            {
                sql_bail!("invalid reference to FROM-clause entry for table \"{qualifier}\"")
            }
            [] => sql_bail!("missing FROM-clause entry for table \"{qualifier}\""),
            _ => sql_bail!("table reference \"{qualifier}\" is ambiguous"),
        }
    }

    fn bind_column(&mut self, s: usize, name: &str) -> SqlResult<Expr> {
        let src = &mut self.sources[s];
        if let Some(schema) = &src.schema {
            if schema.column(name).is_none() {
                sql_bail!("column {}.{name} does not exist", src.alias);
            }
        }
        let c = src.column(name, false);
        Ok(Expr::Column(s * STRIDE + c))
    }
}

impl Scope for QueryScope<'_> {
    fn column(&mut self, qualifier: Option<&str>, name: &str) -> SqlResult<Expr> {
        if let Some(q) = qualifier {
            let s = self.find_source(q)?;
            return self.bind_column(s, name);
        }
        if self.visible == 0 {
            sql_bail!("column \"{name}\" does not exist");
        }
        if self.visible == 1 {
            let src = &self.sources[0];
            if src
                .schema
                .as_ref()
                .is_some_and(|s| s.column(name).is_none())
            {
                sql_bail!("column \"{name}\" does not exist");
            }
            return self.bind_column(0, name);
        }
        // Several tables: a schema decides where it can; a schemaless table may hold
        // any column, so it only decides when it is the one candidate.
        let declared: Vec<usize> = (0..self.visible)
            .filter(|&s| {
                self.sources[s]
                    .schema
                    .as_ref()
                    .is_some_and(|sc| sc.column(name).is_some())
            })
            .collect();
        let schemaless: Vec<usize> = (0..self.visible)
            .filter(|&s| self.sources[s].schema.is_none())
            .collect();
        match (declared.as_slice(), schemaless.as_slice()) {
            ([s], _) => self.bind_column(*s, name),
            ([], [s]) => self.bind_column(*s, name),
            ([], []) => sql_bail!("column \"{name}\" does not exist"),
            _ => sql_bail!("column reference \"{name}\" is ambiguous"),
        }
    }

    fn aggregate(&mut self, call: AggCall) -> SqlResult<Expr> {
        match self.clause {
            Clause::Where => sql_bail!("aggregate functions are not allowed in WHERE"),
            Clause::On => sql_bail!("aggregate functions are not allowed in JOIN conditions"),
            Clause::GroupBy => sql_bail!("aggregate functions are not allowed in GROUP BY"),
            Clause::Update => sql_bail!("aggregate functions are not allowed in UPDATE"),
            Clause::Select => {}
        }
        if let Some(arg) = &call.arg {
            if mentions(arg, &|i| (AGG_BASE..POST_BASE).contains(&i)) {
                sql_bail!("aggregate function calls cannot be nested");
            }
        }
        let spec = AggSpec {
            func: call.func,
            arg: call.arg,
            distinct: call.distinct,
        };
        let i = match self.aggs.iter().position(|a| *a == spec) {
            Some(i) => i,
            None => {
                self.aggs.push(spec);
                self.aggs.len() - 1
            }
        };
        Ok(Expr::Column(AGG_BASE + i))
    }
}

/// Whether `e` has a column reference `i` with `pred(i)`.
fn mentions(e: &Expr, pred: &dyn Fn(usize) -> bool) -> bool {
    if let Expr::Column(i) = e {
        return pred(*i);
    }
    let mut found = false;
    e.for_each_child(&mut |c| found = found || mentions(c, pred));
    found
}

/// The FROM items whose columns `e` reads, as a bit set.
fn sources_of(e: &Expr) -> u64 {
    let mut set = 0u64;
    fn walk(e: &Expr, set: &mut u64) {
        if let Expr::Column(i) = e {
            if *i < AGG_BASE {
                *set |= 1 << (i / STRIDE).min(63);
            }
            return;
        }
        e.for_each_child(&mut |c| walk(c, set));
    }
    walk(e, &mut set);
    set
}

/// Splits `e` into its AND-ed conditions.
pub fn conjuncts(e: Expr, out: &mut Vec<Expr>) {
    match e {
        Expr::Binary {
            op: BinaryOp::And,
            left,
            right,
        } => {
            conjuncts(*left, out);
            conjuncts(*right, out);
        }
        e => out.push(e),
    }
}

/// AND of `list`, or None when it is empty.
pub fn and_all(list: Vec<Expr>) -> Option<Expr> {
    list.into_iter().reduce(|a, b| Expr::Binary {
        op: BinaryOp::And,
        left: Box::new(a),
        right: Box::new(b),
    })
}

/// Rewrites `e` for after aggregation: sub-expressions equal to a GROUP BY key become
/// that key's column, aggregates their result's; a column left outside both is the
/// error PostgreSQL reports.
fn post_aggregate(e: &mut Expr, keys: &[Expr], sources: &[Source]) -> SqlResult<()> {
    if let Some(k) = keys.iter().position(|k| k == e) {
        *e = Expr::Column(POST_BASE + k);
        return Ok(());
    }
    if let Expr::Column(i) = *e {
        if (AGG_BASE..POST_BASE).contains(&i) {
            *e = Expr::Column(POST_BASE + keys.len() + (i - AGG_BASE));
            return Ok(());
        }
        if i < AGG_BASE {
            let src = &sources[i / STRIDE];
            let col = &src.columns[i % STRIDE];
            sql_bail!(
                "column \"{}.{}\" must appear in the GROUP BY clause or be used in an aggregate function",
                src.alias,
                col.name
            );
        }
        return Ok(());
    }
    let mut result = Ok(());
    e.for_each_child_mut(&mut |c| {
        if result.is_ok() {
            result = post_aggregate(c, keys, sources);
        }
    });
    result
}

/// Replaces binding-time column numbers with positions: a source column with its
/// place in the tuple (`offsets[source] + column`), a post-aggregation one with its
/// place in the aggregated tuple.
fn place(e: &mut Expr, offsets: &[usize]) {
    if let Expr::Column(i) = e {
        *i = if *i >= POST_BASE {
            *i - POST_BASE
        } else {
            offsets[*i / STRIDE] + *i % STRIDE
        };
        return;
    }
    e.for_each_child_mut(&mut |c| place(c, offsets));
}

/// A text literal compared with a typed column takes the column's type, as
/// PostgreSQL's untyped literals do (`WHERE d > '2024-01-01'` on a DATE column).
fn type_literals(e: &mut Expr, sources: &[Source]) -> SqlResult<()> {
    let ty_of = |e: &Expr| -> Option<SqlType> {
        match e {
            Expr::Column(i) if *i < AGG_BASE => sources
                .get(i / STRIDE)
                .and_then(|s| s.columns.get(i % STRIDE))
                .and_then(|c| c.ty),
            _ => None,
        }
    };
    if let Expr::Binary { op, left, right } = e {
        use BinaryOp::*;
        if matches!(op, Eq | NotEq | Lt | LtEq | Gt | GtEq) {
            if let (Some(ty), Expr::Literal(Datum::Text(_))) = (ty_of(left), &**right) {
                retype(right, ty)?;
            } else if let (Expr::Literal(Datum::Text(_)), Some(ty)) = (&**left, ty_of(right)) {
                retype(left, ty)?;
            }
        }
    }
    if let Expr::InList { expr, list, .. } = e {
        if let Some(ty) = ty_of(expr) {
            for item in list.iter_mut() {
                if matches!(item, Expr::Literal(Datum::Text(_))) {
                    retype(item, ty)?;
                }
            }
        }
    }
    if let Expr::Between {
        expr, low, high, ..
    } = e
    {
        if let Some(ty) = ty_of(expr) {
            for b in [low, high] {
                if matches!(**b, Expr::Literal(Datum::Text(_))) {
                    retype(b, ty)?;
                }
            }
        }
    }
    let mut result = Ok(());
    e.for_each_child_mut(&mut |c| {
        if result.is_ok() {
            result = type_literals(c, sources);
        }
    });
    result
}

fn retype(lit: &mut Expr, ty: SqlType) -> SqlResult<()> {
    if let Expr::Literal(d) = lit {
        let v = std::mem::replace(d, Datum::Null);
        *d = ty.cast(v)?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------
// Planning

/// The name PostgreSQL gives an unaliased output column.
pub fn output_name(e: &ast::Expr) -> String {
    match e {
        ast::Expr::Identifier(i) => bind::ident(i),
        ast::Expr::CompoundIdentifier(parts) => parts.last().map(bind::ident).unwrap_or_default(),
        ast::Expr::Function(f) => f
            .name
            .0
            .last()
            .and_then(|p| match p {
                ast::ObjectNamePart::Identifier(i) => Some(i.value.to_lowercase()),
                _ => None,
            })
            .unwrap_or_else(|| "?column?".into()),
        ast::Expr::Cast { expr, .. } => match output_name(expr).as_str() {
            "?column?" => "?column?".into(),
            n => n.into(),
        },
        ast::Expr::Nested(e) => output_name(e),
        ast::Expr::Case { .. } => "case".into(),
        ast::Expr::Ceil { .. } => "ceil".into(),
        ast::Expr::Floor { .. } => "floor".into(),
        ast::Expr::Position { .. } => "position".into(),
        ast::Expr::Substring { .. } => "substring".into(),
        ast::Expr::Extract { .. } => "extract".into(),
        ast::Expr::Trim { trim_where, .. } => match trim_where {
            Some(ast::TrimWhereField::Leading) => "ltrim".into(),
            Some(ast::TrimWhereField::Trailing) => "rtrim".into(),
            _ => "btrim".into(),
        },
        _ => "?column?".into(),
    }
}

/// A constant LIMIT/OFFSET count.
fn count_of(e: &ast::Expr, what: &str) -> SqlResult<Option<usize>> {
    let v = bind::bind_const(e)?.eval(&[] as &[Datum], &EvalCtx::new())?;
    match v {
        Datum::Null => Ok(None),
        Datum::Int(n) if n >= 0 => Ok(Some(n as usize)),
        Datum::Int(_) => sql_bail!("{what} must not be negative"),
        other => sql_bail!(
            "argument of {what} must be type bigint, not type {}",
            other.type_name()
        ),
    }
}

pub struct Planner<'a> {
    pub catalog: &'a dyn Catalog,
    pub db: usize,
    pub ctx: EvalCtx,
    /// Tables without a schema the plan reads (their existence is judged by their rows).
    pub schemaless: Vec<String>,
}

impl Planner<'_> {
    fn source(&mut self, tf: &ast::TableFactor) -> SqlResult<Source> {
        match tf {
            ast::TableFactor::Table {
                name, alias, args, ..
            } => {
                if args.is_some() {
                    sql_bail!("table functions are not supported");
                }
                let table = schema::table_name(name)?;
                let schema = self.catalog.schema(&table);
                if schema.is_none() && !self.schemaless.contains(&table) {
                    self.schemaless.push(table.clone());
                }
                let alias = match alias {
                    Some(a) => {
                        if !a.columns.is_empty() {
                            sql_bail!("column aliases in FROM are not supported");
                        }
                        bind::ident(&a.name)
                    }
                    None => table.clone(),
                };
                Ok(Source {
                    table,
                    alias,
                    schema,
                    columns: Vec::new(),
                    filter: Vec::new(),
                    key: None,
                })
            }
            ast::TableFactor::Derived { .. } => sql_bail!("subqueries in FROM are not supported"),
            other => sql_bail!("FROM item is not supported: {other}"),
        }
    }

    /// Plans a query.
    pub fn plan_query(&mut self, q: &ast::Query) -> SqlResult<SelectPlan> {
        if q.with.is_some() {
            sql_bail!("WITH is not supported");
        }
        if q.fetch.is_some() || !q.locks.is_empty() {
            sql_bail!("FETCH and FOR UPDATE are not supported");
        }
        let select = match &*q.body {
            ast::SetExpr::Select(s) => s,
            ast::SetExpr::SetOperation { .. } => {
                sql_bail!("UNION, INTERSECT and EXCEPT are not supported")
            }
            ast::SetExpr::Values(_) => sql_bail!("VALUES as a query is not supported"),
            ast::SetExpr::Query(inner) => return self.plan_query(inner),
            other => sql_bail!("query form is not supported: {other}"),
        };
        let (limit, offset) = match &q.limit_clause {
            None => (None, 0),
            Some(ast::LimitClause::LimitOffset {
                limit,
                offset,
                limit_by,
            }) => {
                if !limit_by.is_empty() {
                    sql_bail!("LIMIT BY is not supported");
                }
                let l = match limit {
                    Some(e) => count_of(e, "LIMIT")?,
                    None => None,
                };
                let o = match offset {
                    Some(o) => count_of(&o.value, "OFFSET")?.unwrap_or(0),
                    None => 0,
                };
                (l, o)
            }
            Some(ast::LimitClause::OffsetCommaLimit { .. }) => {
                sql_bail!("LIMIT #,# syntax is not supported")
            }
        };
        let order_by: &[ast::OrderByExpr] = match &q.order_by {
            None => &[],
            Some(ob) => match &ob.kind {
                ast::OrderByKind::Expressions(list) => list,
                ast::OrderByKind::All(_) => sql_bail!("ORDER BY ALL is not supported"),
            },
        };
        self.plan_select(select, order_by, limit, offset)
    }

    fn plan_select(
        &mut self,
        select: &ast::Select,
        order_by: &[ast::OrderByExpr],
        limit: Option<usize>,
        offset: usize,
    ) -> SqlResult<SelectPlan> {
        if select.into.is_some() {
            sql_bail!("SELECT INTO is not supported");
        }
        if !select.named_window.is_empty() || select.qualify.is_some() {
            sql_bail!("window functions are not supported");
        }
        let distinct = match &select.distinct {
            None | Some(ast::Distinct::All) => false,
            Some(ast::Distinct::Distinct) => true,
            Some(ast::Distinct::On(_)) => sql_bail!("DISTINCT ON is not supported"),
        };

        // FROM: the tables, and the joins between them in order.
        let mut sources = Vec::new();
        // (kind, ON) per source after the first.
        let mut join_specs: Vec<(JoinKind, Option<&ast::Expr>)> = Vec::new();
        for (i, twj) in select.from.iter().enumerate() {
            sources.push(self.source(&twj.relation)?);
            if i > 0 {
                join_specs.push((JoinKind::Inner, None));
            }
            for j in &twj.joins {
                sources.push(self.source(&j.relation)?);
                use ast::JoinOperator as J;
                let (kind, constraint) = match &j.join_operator {
                    J::Join(c) | J::Inner(c) => (JoinKind::Inner, c),
                    J::Left(c) | J::LeftOuter(c) => (JoinKind::Left, c),
                    J::CrossJoin(c) => (JoinKind::Inner, c),
                    other => sql_bail!("join type is not supported: {other:?}"),
                };
                let on = match constraint {
                    ast::JoinConstraint::On(e) => Some(e),
                    ast::JoinConstraint::None => None,
                    _ => sql_bail!("USING and NATURAL joins are not supported"),
                };
                join_specs.push((kind, on));
            }
        }
        if sources.len() > 63 {
            sql_bail!("too many tables in FROM");
        }
        for (i, a) in sources.iter().enumerate() {
            if sources[..i].iter().any(|b| b.alias == a.alias) {
                sql_bail!("table name \"{}\" specified more than once", a.alias);
            }
        }
        let nsources = sources.len();

        // ON conditions, bound with the tables joined so far visible.
        let mut joins: Vec<Join> = Vec::new();
        let mut on_conjuncts: Vec<Vec<Expr>> = Vec::new();
        for (i, (kind, on)) in join_specs.iter().enumerate() {
            let mut list = Vec::new();
            if let Some(on) = on {
                let mut scope = QueryScope {
                    sources: &mut sources,
                    visible: i + 2,
                    aggs: Vec::new(),
                    clause: Clause::On,
                };
                conjuncts(bind::bind(on, &mut scope)?, &mut list);
            }
            joins.push(Join {
                kind: *kind,
                left_keys: Vec::new(),
                right_keys: Vec::new(),
                condition: Vec::new(),
                lookup: None,
            });
            on_conjuncts.push(list);
        }

        // WHERE.
        let mut where_conjuncts = Vec::new();
        if let Some(w) = &select.selection {
            let mut scope = QueryScope {
                sources: &mut sources,
                visible: nsources,
                aggs: Vec::new(),
                clause: Clause::Where,
            };
            conjuncts(bind::bind(w, &mut scope)?, &mut where_conjuncts);
        }

        // The select list, with wildcards expanded.
        let mut scope = QueryScope {
            sources: &mut sources,
            visible: nsources,
            aggs: Vec::new(),
            clause: Clause::Select,
        };
        let mut names = Vec::new();
        let mut spread = Vec::new();
        let mut project = Vec::new();
        for item in &select.projection {
            match item {
                ast::SelectItem::UnnamedExpr(e) => {
                    names.push(output_name(e));
                    spread.push(false);
                    project.push(bind::bind(e, &mut scope)?);
                }
                ast::SelectItem::ExprWithAlias { expr, alias } => {
                    names.push(bind::ident(alias));
                    spread.push(false);
                    project.push(bind::bind(expr, &mut scope)?);
                }
                ast::SelectItem::Wildcard(_) => {
                    if nsources == 0 {
                        sql_bail!("SELECT * with no tables specified is not valid");
                    }
                    for s in 0..nsources {
                        expand_wildcard(&mut scope, s, &mut names, &mut spread, &mut project);
                    }
                }
                ast::SelectItem::QualifiedWildcard(kind, _) => {
                    let q = match kind {
                        ast::SelectItemQualifiedWildcardKind::ObjectName(n) => {
                            bind::object_name(n)?
                        }
                        _ => sql_bail!("this wildcard form is not supported"),
                    };
                    let s = scope.find_source(&q)?;
                    expand_wildcard(&mut scope, s, &mut names, &mut spread, &mut project);
                }
                ast::SelectItem::ExprWithAliases { .. } => {
                    sql_bail!("multiple aliases are not supported")
                }
            }
        }
        let width = project.len();

        // GROUP BY: expressions, output ordinals or output names.
        let mut group_keys = Vec::new();
        match &select.group_by {
            ast::GroupByExpr::Expressions(list, mods) => {
                if !mods.is_empty() {
                    sql_bail!("GROUP BY modifiers are not supported");
                }
                for g in list {
                    scope.clause = Clause::GroupBy;
                    // PostgreSQL prefers an input column to an output name here; a
                    // schemaless table has every column, so there the output wins.
                    let key = match (output_ref(g, &names, "GROUP BY")?, g) {
                        (Some(_), ast::Expr::Identifier(i))
                            if declared(scope.sources, &bind::ident(i)) =>
                        {
                            bind::bind(g, &mut scope)?
                        }
                        (Some(k), _) => project[k].clone(),
                        (None, _) => bind::bind(g, &mut scope)?,
                    };
                    if mentions(&key, &|i| i >= AGG_BASE) {
                        sql_bail!("aggregate functions are not allowed in GROUP BY");
                    }
                    group_keys.push(key);
                }
            }
            ast::GroupByExpr::All(_) => sql_bail!("GROUP BY ALL is not supported"),
        }
        scope.clause = Clause::Select;
        let having = match &select.having {
            Some(h) => Some(bind::bind(h, &mut scope)?),
            None => None,
        };

        // ORDER BY: an output column (ordinal or name) or an expression of the input.
        let mut order = Vec::new();
        for ob in order_by {
            if ob.with_fill.is_some() {
                sql_bail!("WITH FILL is not supported");
            }
            let desc = match ob.options.sort {
                None | Some(ast::OrderBySort::Asc) => false,
                Some(ast::OrderBySort::Desc) => true,
                Some(_) => sql_bail!("ORDER BY USING is not supported"),
            };
            let nulls_first = ob.options.nulls_first.unwrap_or(desc);
            let column = match output_ref(&ob.expr, &names, "ORDER BY")? {
                Some(k) => k,
                None => {
                    let e = bind::bind(&ob.expr, &mut scope)?;
                    match project.iter().position(|p| *p == e) {
                        Some(k) => k,
                        None if distinct => sql_bail!(
                            "for SELECT DISTINCT, ORDER BY expressions must appear in select list"
                        ),
                        None => {
                            project.push(e);
                            project.len() - 1
                        }
                    }
                }
            };
            order.push(SortKey {
                column,
                desc,
                nulls_first,
            });
        }
        let aggs = std::mem::take(&mut scope.aggs);
        let has_agg = !aggs.is_empty() || !group_keys.is_empty() || having.is_some();
        drop(scope);

        if has_agg {
            for p in project.iter_mut() {
                post_aggregate(p, &group_keys, &sources)?;
            }
        }
        let mut having = having;
        if let Some(h) = having.as_mut() {
            post_aggregate(h, &group_keys, &sources)?;
        }

        // Conditions: on one table (pushed to its scan) or between tables (join keys
        // and join conditions), or left for after the joins.
        let nullable = |s: usize, joins: &[Join]| s > 0 && joins[s - 1].kind == JoinKind::Left;
        let mut residual = Vec::new();
        for c in where_conjuncts {
            let set = sources_of(&c);
            if set.count_ones() == 1 && !nullable(set.trailing_zeros() as usize, &joins) {
                sources[set.trailing_zeros() as usize].filter.push(c);
            } else if set == 0 && nsources > 0 {
                sources[0].filter.push(c);
            } else if let Some(j) = join_for(set, &joins) {
                if joins[j].kind == JoinKind::Inner {
                    add_join_condition(&mut joins[j], j, c);
                } else {
                    residual.push(c);
                }
            } else {
                residual.push(c);
            }
        }
        for (j, list) in on_conjuncts.into_iter().enumerate() {
            for c in list {
                let set = sources_of(&c);
                let right = j + 1;
                if set == 1 << right {
                    // On the joined table alone: filter it before the join.
                    sources[right].filter.push(c);
                } else if set.count_ones() == 1
                    && joins[j].kind == JoinKind::Inner
                    && !nullable(set.trailing_zeros() as usize, &joins)
                {
                    sources[set.trailing_zeros() as usize].filter.push(c);
                } else {
                    add_join_condition(&mut joins[j], j, c);
                }
            }
        }

        // Untyped literals take their column's type.
        for s in 0..nsources {
            let mut f = std::mem::take(&mut sources[s].filter);
            for c in f.iter_mut() {
                type_literals(c, &sources)?;
            }
            sources[s].filter = f;
        }
        for j in joins.iter_mut() {
            for c in j.condition.iter_mut() {
                type_literals(c, &sources)?;
            }
        }
        for c in residual.iter_mut() {
            type_literals(c, &sources)?;
        }

        // A filter that fixes the primary key names one row.
        for s in sources.iter_mut() {
            s.key = point_key(s)?;
        }

        let output = Output {
            names,
            spread,
            width,
            distinct,
            order,
            offset,
            limit,
        };
        self.finish(
            sources, joins, residual, group_keys, aggs, has_agg, having, project, output,
        )
    }

    #[allow(clippy::too_many_arguments)]
    fn finish(
        &self,
        mut sources: Vec<Source>,
        mut joins: Vec<Join>,
        residual: Vec<Expr>,
        mut group_keys: Vec<Expr>,
        mut aggs: Vec<AggSpec>,
        has_agg: bool,
        mut having: Option<Expr>,
        mut project: Vec<Expr>,
        output: Output,
    ) -> SqlResult<SelectPlan> {
        let nsources = sources.len();
        // Tuple layout: each source's columns after the previous sources'.
        let mut offsets = Vec::with_capacity(nsources);
        let mut at = 0;
        for s in &sources {
            offsets.push(at);
            at += s.columns.len();
        }
        // Scans see only their own columns: to a shard, every source starts at 0.
        let local: Vec<usize> = vec![0; nsources];
        let mut fragments = Vec::with_capacity(nsources);
        for src in sources.iter_mut() {
            for c in src.filter.iter_mut() {
                place(c, &local);
            }
        }
        let fragment = |src: &Source, output: FragmentOutput| Fragment {
            db: self.db,
            table: src.table.clone(),
            columns: src.columns.clone(),
            key: src.key.clone(),
            lookup: None,
            filter: and_all(src.filter.clone()),
            output,
            ctx: self.ctx,
        };
        let coord = if nsources == 1 && !has_agg {
            for p in project.iter_mut() {
                place(p, &offsets);
            }
            let out = FragmentOutput::Rows {
                exprs: project,
                distinct_width: output.distinct.then_some(output.width),
                order: output.order.clone(),
                top: if output.distinct && output.order.is_empty() {
                    None
                } else {
                    output.top()
                },
            };
            fragments.push(Arc::new(fragment(&sources[0], out)));
            CoordPlan::Merge
        } else if nsources == 1 {
            for k in group_keys.iter_mut() {
                place(k, &offsets);
            }
            for a in aggs.iter_mut() {
                if let Some(arg) = a.arg.as_mut() {
                    place(arg, &offsets);
                }
            }
            for p in project.iter_mut() {
                place(p, &offsets);
            }
            if let Some(h) = having.as_mut() {
                place(h, &offsets);
            }
            let out = FragmentOutput::Groups {
                keys: group_keys,
                aggs: aggs.clone(),
            };
            fragments.push(Arc::new(fragment(&sources[0], out)));
            CoordPlan::Aggregate {
                aggs,
                having,
                project,
            }
        } else {
            for k in group_keys.iter_mut() {
                place(k, &offsets);
            }
            for a in aggs.iter_mut() {
                if let Some(arg) = a.arg.as_mut() {
                    place(arg, &offsets);
                }
            }
            for p in project.iter_mut() {
                place(p, &offsets);
            }
            if let Some(h) = having.as_mut() {
                place(h, &offsets);
            }
            let mut filter = residual;
            for c in filter.iter_mut() {
                place(c, &offsets);
            }
            for (j, join) in joins.iter_mut().enumerate() {
                for k in join.left_keys.iter_mut() {
                    place(k, &offsets);
                }
                for k in join.right_keys.iter_mut() {
                    place(k, &local);
                }
                for c in join.condition.iter_mut() {
                    place(c, &offsets);
                }
                join.lookup = lookup_column(&sources[j + 1], &join.right_keys);
            }
            for src in &sources {
                let exprs = (0..src.columns.len()).map(Expr::Column).collect();
                let out = FragmentOutput::Rows {
                    exprs,
                    distinct_width: None,
                    order: Vec::new(),
                    top: None,
                };
                fragments.push(Arc::new(fragment(src, out)));
            }
            let aggregate = has_agg.then_some((group_keys, aggs));
            if nsources == 0 {
                CoordPlan::Values {
                    filter: and_all(filter),
                    aggregate,
                    having,
                    project,
                }
            } else {
                CoordPlan::Join {
                    joins,
                    filter: and_all(filter),
                    aggregate,
                    having,
                    project,
                }
            }
        };
        Ok(SelectPlan {
            sources,
            fragments,
            coord,
            output,
        })
    }
}

/// `SELECT *` of source `s`: the schema's columns, or the whole document.
fn expand_wildcard(
    scope: &mut QueryScope<'_>,
    s: usize,
    names: &mut Vec<String>,
    spread: &mut Vec<bool>,
    project: &mut Vec<Expr>,
) {
    let src = &mut scope.sources[s];
    match src.schema.clone() {
        Some(schema) => {
            for col in &schema.columns {
                let c = src.column(&col.name, false);
                names.push(col.name.clone());
                spread.push(false);
                project.push(Expr::Column(s * STRIDE + c));
            }
        }
        None => {
            let c = src.column("*", true);
            names.push("*".into());
            spread.push(true);
            project.push(Expr::Column(s * STRIDE + c));
        }
    }
}

/// Whether a table's schema declares a column `name`.
fn declared(sources: &[Source], name: &str) -> bool {
    sources.iter().any(|s| {
        s.schema
            .as_ref()
            .is_some_and(|sc| sc.column(name).is_some())
    })
}

/// An ORDER BY / GROUP BY item that names an output column: an ordinal (`ORDER BY 2`)
/// or an output name.
fn output_ref(e: &ast::Expr, names: &[String], clause: &str) -> SqlResult<Option<usize>> {
    match e {
        ast::Expr::Value(v) => match &v.value {
            ast::Value::Number(n, _) => match n.parse::<usize>() {
                Ok(k) if k >= 1 && k <= names.len() => Ok(Some(k - 1)),
                _ => sql_bail!("{clause} position {n} is not in select list"),
            },
            _ => Ok(None),
        },
        ast::Expr::Identifier(i) => {
            let n = bind::ident(i);
            let found: Vec<usize> = (0..names.len()).filter(|&k| names[k] == n).collect();
            match found.as_slice() {
                [k] => Ok(Some(*k)),
                _ => Ok(None),
            }
        }
        _ => Ok(None),
    }
}

/// The join whose new table a condition over `set` (a bit set of sources) needs last.
fn join_for(set: u64, joins: &[Join]) -> Option<usize> {
    if set.count_ones() < 2 {
        return None;
    }
    let last = 63 - set.leading_zeros() as usize;
    (last >= 1 && last - 1 < joins.len()).then(|| last - 1)
}

/// Adds a condition to join `j` (which brings in source `j + 1`): an equality between
/// the new table and earlier ones becomes a hash key, anything else a condition.
fn add_join_condition(join: &mut Join, j: usize, c: Expr) {
    let right = 1u64 << (j + 1);
    if let Expr::Binary {
        op: BinaryOp::Eq,
        left,
        right: r,
    } = &c
    {
        let (ls, rs) = (sources_of(left), sources_of(r));
        if ls != 0 && rs == right && ls & right == 0 {
            join.left_keys.push((**left).clone());
            join.right_keys.push((**r).clone());
            return;
        }
        if rs != 0 && ls == right && rs & right == 0 {
            join.left_keys.push((**r).clone());
            join.right_keys.push((**left).clone());
            return;
        }
    }
    join.condition.push(c);
}

/// Which right key of a join reads the new table by primary key, if one can: a bare
/// reference to the key column of a table whose schema declares it of an integer, text
/// or UUID type. Those types write a row's key from the value alone (`row_key`), so
/// the rows a set of values can match are exactly the rows at their keys. Tables
/// without a schema are scanned: their documents may hold any value in `id`.
fn lookup_column(src: &Source, right_keys: &[Expr]) -> Option<usize> {
    let schema = src.schema.as_ref()?;
    schema.primary_key?;
    if src.key.is_some() {
        return None;
    }
    right_keys.iter().position(|k| match k {
        Expr::Column(c) => src.columns.get(*c).is_some_and(|sc| {
            sc.is_key
                && !sc.whole
                && matches!(
                    sc.ty,
                    Some(
                        SqlType::SmallInt
                            | SqlType::Integer
                            | SqlType::BigInt
                            | SqlType::Text
                            | SqlType::Varchar(_)
                            | SqlType::Uuid
                    )
                )
        }),
        _ => false,
    })
}

/// The row key a source's filter pins down (`WHERE id = 42`), if any.
fn point_key(src: &Source) -> SqlResult<Option<Vec<u8>>> {
    let key_col = src.key_column().to_string();
    for c in &src.filter {
        if let Expr::Binary {
            op: BinaryOp::Eq,
            left,
            right,
        } = c
        {
            let (col, lit) = match (&**left, &**right) {
                (Expr::Column(i), Expr::Literal(d)) | (Expr::Literal(d), Expr::Column(i)) => {
                    (*i, d)
                }
                _ => continue,
            };
            let Some(sc) = src.columns.get(col % STRIDE) else {
                continue;
            };
            if sc.whole || sc.name != key_col || lit.is_null() {
                continue;
            }
            let pk = match sc.ty {
                Some(ty) => match ty.coerce(lit.clone()) {
                    Ok(v) => v,
                    Err(_) => continue,
                },
                None => lit.clone(),
            };
            if matches!(pk, Datum::Int(_) | Datum::Text(_) | Datum::Uuid(_)) {
                return Ok(Some(schema::row_key(&src.table, &pk)?));
            }
        }
    }
    Ok(None)
}

impl From<std::fmt::Error> for SqlError {
    fn from(_: std::fmt::Error) -> Self {
        SqlError::new("formatting failed")
    }
}

/// A bound select list: output names, which outputs spread a whole document, and the
/// expressions.
pub struct SelectList {
    pub names: Vec<String>,
    pub spread: Vec<bool>,
    pub exprs: Vec<Expr>,
}

/// Binding for statements over one table (UPDATE, DELETE, INSERT ... RETURNING): its
/// expressions read the table's scan columns directly.
pub struct TableBinder {
    sources: Vec<Source>,
}

impl TableBinder {
    pub fn new(table: &str, schema: Option<Arc<TableSchema>>) -> TableBinder {
        TableBinder {
            sources: vec![Source {
                table: table.to_string(),
                alias: table.to_string(),
                schema,
                columns: Vec::new(),
                filter: Vec::new(),
                key: None,
            }],
        }
    }

    fn scope(&mut self, clause: Clause) -> QueryScope<'_> {
        QueryScope {
            sources: &mut self.sources,
            visible: 1,
            aggs: Vec::new(),
            clause,
        }
    }

    /// Binds an UPDATE's new value over the row.
    pub fn bind_assignment(&mut self, e: &ast::Expr) -> SqlResult<Expr> {
        let mut scope = self.scope(Clause::Update);
        let mut e = bind::bind(e, &mut scope)?;
        type_literals(&mut e, &self.sources)?;
        Ok(e)
    }

    /// Binds a condition over the row (no aggregates).
    pub fn bind(&mut self, e: &ast::Expr) -> SqlResult<Expr> {
        let mut scope = self.scope(Clause::Where);
        let mut e = bind::bind(e, &mut scope)?;
        type_literals(&mut e, &self.sources)?;
        Ok(e)
    }

    /// Sets the WHERE condition; finds the row key it fixes, if any.
    pub fn filter(&mut self, e: &ast::Expr) -> SqlResult<()> {
        let e = self.bind(e)?;
        let mut list = Vec::new();
        conjuncts(e, &mut list);
        self.sources[0].filter = list;
        self.sources[0].key = point_key(&self.sources[0])?;
        Ok(())
    }

    /// Binds a RETURNING list.
    pub fn select_items(&mut self, items: &[ast::SelectItem]) -> SqlResult<SelectList> {
        let mut scope = self.scope(Clause::Where);
        let (mut names, mut spread, mut exprs) = (Vec::new(), Vec::new(), Vec::new());
        for item in items {
            match item {
                ast::SelectItem::UnnamedExpr(e) => {
                    names.push(output_name(e));
                    spread.push(false);
                    exprs.push(bind::bind(e, &mut scope)?);
                }
                ast::SelectItem::ExprWithAlias { expr, alias } => {
                    names.push(bind::ident(alias));
                    spread.push(false);
                    exprs.push(bind::bind(expr, &mut scope)?);
                }
                ast::SelectItem::Wildcard(_) | ast::SelectItem::QualifiedWildcard(..) => {
                    expand_wildcard(&mut scope, 0, &mut names, &mut spread, &mut exprs)
                }
                ast::SelectItem::ExprWithAliases { .. } => {
                    sql_bail!("multiple aliases are not supported")
                }
            }
        }
        Ok(SelectList {
            names,
            spread,
            exprs,
        })
    }

    /// The scan columns bound so far.
    pub fn columns(&self) -> &[ScanColumn] {
        &self.sources[0].columns
    }

    /// The fragment that selects the rows to change.
    pub fn fragment(&self, db: usize, ctx: EvalCtx) -> Fragment {
        let src = &self.sources[0];
        Fragment {
            db,
            table: src.table.clone(),
            columns: src.columns.clone(),
            key: src.key.clone(),
            lookup: None,
            filter: and_all(src.filter.clone()),
            output: FragmentOutput::Rows {
                exprs: Vec::new(),
                distinct_width: None,
                order: Vec::new(),
                top: None,
            },
            ctx,
        }
    }
}
