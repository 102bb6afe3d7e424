//! A shard's part of a query: walk this shard's rows of the table (or fetch the one row
//! a primary key names), filter them, and project them — keeping the top N when the
//! query orders and limits — or fold them into partial aggregates.
//!
//! The walk goes in chunks of slab positions and yields between chunks when the
//! executor wants the core back, so a scan of a million rows never stalls the other
//! clients of its core. Rows written while a scan is between chunks may or may not be
//! seen (as with SCAN); no row is seen twice.

use std::cell::Cell;
use std::cmp::Ordering;
use std::rc::Rc;

use hashbrown::{HashMap, HashSet};
use serde_json::{Map, Value as Doc};

use super::aggregate::AggState;
use super::error::{SqlError, SqlResult};
use super::expr::{holds, Row};
use super::plan::{Fragment, FragmentOutput, ScanColumn, SortKey};
use super::schema;
use super::value::Datum;
use crate::shard::keyspace::Entry;
use crate::shard::value::Value;
use crate::shard::{now_ms, Shard};

/// Slab positions visited between two chances to yield.
const CHUNK: usize = 2048;
/// Longest a scan runs before it lets the core's other tasks and I/O in.
const YIELD_EVERY: std::time::Duration = std::time::Duration::from_micros(250);

/// What a shard sends back for a fragment.
#[derive(Debug, Default)]
pub struct FragmentResult {
    pub rows: Vec<Vec<Datum>>,
    pub groups: Vec<(Vec<Datum>, Vec<AggState>)>,
    /// Whether this shard holds any row of the table.
    pub seen: bool,
}

/// A stored row as the expressions of a fragment see it.
pub struct DocRow<'a> {
    pub doc: &'a Map<String, Doc>,
    /// The key after `<table>:`.
    pub pk: &'a [u8],
    pub columns: &'a [ScanColumn],
    /// Where each column was found in the previous document (see `field`).
    pub hints: Option<&'a [Cell<usize>]>,
}

impl<'a> DocRow<'a> {
    pub fn new(doc: &'a Map<String, Doc>, pk: &'a [u8], columns: &'a [ScanColumn]) -> Self {
        DocRow {
            doc,
            pk,
            columns,
            hints: None,
        }
    }
}

/// Documents with at most this many fields are searched by walking them rather than
/// by hashing the name (serde_json's map hashes with SipHash, which costs more than
/// comparing a few short names).
const WALK_FIELDS: usize = 16;

/// Field `name` of `doc`. Rows of one table mostly share their field order (SQL writes
/// them in schema order), so the position where the previous row had the field is
/// tried first.
#[inline]
fn field<'d>(doc: &'d Map<String, Doc>, name: &str, hint: Option<&Cell<usize>>) -> Option<&'d Doc> {
    if doc.len() > WALK_FIELDS {
        return doc.get(name);
    }
    if let Some(h) = hint {
        if let Some((k, v)) = doc.iter().nth(h.get()) {
            if k == name {
                return Some(v);
            }
        }
    }
    for (i, (k, v)) in doc.iter().enumerate() {
        if k.len() == name.len() && k == name {
            if let Some(h) = hint {
                h.set(i);
            }
            return Some(v);
        }
    }
    None
}

impl Row for DocRow<'_> {
    fn column(&self, i: usize) -> Datum {
        let Some(c) = self.columns.get(i) else {
            return Datum::Null;
        };
        if c.whole {
            return Datum::Json(Box::new(Doc::Object(whole_row(self.doc, self.pk, c))));
        }
        match field(self.doc, &c.name, self.hints.and_then(|h| h.get(i))) {
            Some(v) => match c.ty {
                Some(ty) => ty.read(v),
                None => Datum::from_json(v),
            },
            None if c.is_key => {
                let pk = schema::pk_from_key(self.pk);
                match c.ty {
                    Some(ty) => ty.cast(pk.clone()).unwrap_or(pk),
                    None => pk,
                }
            }
            None => Datum::Null,
        }
    }
}

/// A schemaless row as one object: its key column first when the document lacks it.
fn whole_row(doc: &Map<String, Doc>, pk: &[u8], _c: &ScanColumn) -> Map<String, Doc> {
    if doc.contains_key(schema::DEFAULT_KEY) {
        return doc.clone();
    }
    let mut m = Map::with_capacity(doc.len() + 1);
    m.insert(
        schema::DEFAULT_KEY.to_string(),
        schema::pk_from_key(pk).to_json(),
    );
    for (k, v) in doc {
        m.insert(k.clone(), v.clone());
    }
    m
}

/// The document a row's value holds: a JSON document, or a string holding a JSON
/// object (`SET t:1 '{"a":1}'`). Anything else under the prefix is not a row.
pub fn row_doc(value: &Value) -> Option<std::borrow::Cow<'_, Map<String, Doc>>> {
    match value {
        Value::Json(j) => match j.doc() {
            Doc::Object(m) => Some(std::borrow::Cow::Borrowed(m)),
            _ => None,
        },
        Value::Str(s) if s.first() == Some(&b'{') => match serde_json::from_slice(s) {
            Ok(Doc::Object(m)) => Some(std::borrow::Cow::Owned(m)),
            _ => None,
        },
        _ => None,
    }
}

/// Whether a live, unexpired entry is a row of the table with key prefix `prefix`.
fn is_row<'e>(e: &'e Entry, prefix: &[u8], now: u64) -> Option<&'e [u8]> {
    if !e.key.starts_with(prefix) {
        return None;
    }
    if e.expire_at().is_some_and(|at| at <= now) {
        return None;
    }
    Some(&e.key[prefix.len()..])
}

/// Compares two projected rows by `order`.
pub fn compare_rows(a: &[Datum], b: &[Datum], order: &[SortKey]) -> Ordering {
    for k in order {
        let ord = compare_by(&a[k.column], &b[k.column], k);
        if ord != Ordering::Equal {
            return ord;
        }
    }
    Ordering::Equal
}

/// Compares two values of one sort key, with its direction and NULL placement.
fn compare_by(x: &Datum, y: &Datum, k: &SortKey) -> Ordering {
    match (x.is_null(), y.is_null()) {
        (true, true) => Ordering::Equal,
        (true, false) if k.nulls_first => Ordering::Less,
        (true, false) => Ordering::Greater,
        (false, true) if k.nulls_first => Ordering::Greater,
        (false, true) => Ordering::Less,
        (false, false) if k.desc => x.sort_cmp(y).reverse(),
        (false, false) => x.sort_cmp(y),
    }
}

/// Keeps the first `n` rows of `rows` by `order`, in no particular order except that
/// the n-th is last.
pub fn keep_top(rows: &mut Vec<Vec<Datum>>, n: usize, order: &[SortKey]) {
    if rows.len() > n {
        if n == 0 {
            rows.clear();
            return;
        }
        rows.select_nth_unstable_by(n - 1, |a, b| compare_rows(a, b, order));
        rows.truncate(n);
    }
}

/// The fold a fragment applies to rows that pass its filter.
struct Sink<'f> {
    frag: &'f Fragment,
    result: FragmentResult,
    seen_rows: HashSet<Vec<Datum>>,
    groups: HashMap<Vec<Datum>, Vec<AggState>>,
    /// The states of an aggregate without GROUP BY (no key to hash per row).
    single: Option<Vec<AggState>>,
    error: Option<SqlError>,
    /// Rows may stop coming: enough rows for an unordered LIMIT.
    full: bool,
    /// For ORDER BY ... LIMIT: the worst row kept at the last trim. A row that does
    /// not sort before it cannot make the top, and is dropped before it is projected.
    cutoff: Option<Vec<Datum>>,
    hints: Vec<Cell<usize>>,
}

impl<'f> Sink<'f> {
    fn new(frag: &'f Fragment) -> Self {
        Sink {
            frag,
            result: FragmentResult::default(),
            seen_rows: HashSet::new(),
            groups: HashMap::new(),
            single: None,
            error: None,
            full: false,
            cutoff: None,
            hints: frag.columns.iter().map(|_| Cell::new(0)).collect(),
        }
    }

    /// Feeds `e` when it is a live row of the table (key prefix `prefix`); returns
    /// whether the sink wants no more rows.
    #[inline(always)]
    fn offer(&mut self, e: &Entry, prefix: &[u8], now: u64) -> bool {
        if let Some(pk) = is_row(e, prefix, now) {
            if let Some(doc) = row_doc(&e.value) {
                self.result.seen = true;
                self.feed(&doc, pk);
            }
        }
        self.stopped()
    }

    /// An error, or enough rows for an unordered LIMIT: no more rows are needed.
    fn stopped(&self) -> bool {
        self.error.is_some() || self.full
    }

    fn feed(&mut self, doc: &Map<String, Doc>, pk: &[u8]) {
        if self.stopped() {
            return;
        }
        let hints = std::mem::take(&mut self.hints);
        let row = DocRow {
            doc,
            pk,
            columns: &self.frag.columns,
            hints: Some(&hints),
        };
        if let Err(e) = self.feed_row(&row) {
            self.error = Some(e);
        }
        self.hints = hints;
    }

    fn feed_row(&mut self, row: &DocRow<'_>) -> SqlResult<()> {
        let frag = self.frag;
        let ctx = &frag.ctx;
        if let Some(f) = &frag.filter {
            if !holds(&f.eval(row, ctx)?, "WHERE")? {
                return Ok(());
            }
        }
        match &frag.output {
            FragmentOutput::Rows {
                exprs,
                distinct_width,
                order,
                top,
            } => {
                if let Some(cut) = &self.cutoff {
                    let mut ord = Ordering::Equal;
                    for k in order {
                        ord = compare_by(&exprs[k.column].eval(row, ctx)?, &cut[k.column], k);
                        if ord != Ordering::Equal {
                            break;
                        }
                    }
                    if ord != Ordering::Less {
                        return Ok(());
                    }
                }
                let mut out = Vec::with_capacity(exprs.len());
                for e in exprs {
                    out.push(e.eval(row, ctx)?);
                }
                if let Some(w) = distinct_width {
                    if !self.seen_rows.insert(out[..*w].to_vec()) {
                        return Ok(());
                    }
                }
                self.result.rows.push(out);
                if let Some(n) = *top {
                    if order.is_empty() {
                        self.full = self.result.rows.len() >= n;
                    } else if self.result.rows.len() >= n.saturating_mul(2).max(1024) {
                        keep_top(&mut self.result.rows, n, order);
                        // `keep_top` leaves the n-th row last.
                        self.cutoff = self.result.rows.last().cloned();
                    }
                }
            }
            FragmentOutput::Groups { keys, aggs } => {
                let states = if keys.is_empty() {
                    self.single
                        .get_or_insert_with(|| aggs.iter().map(AggState::new).collect())
                } else {
                    let mut key = Vec::with_capacity(keys.len());
                    for k in keys {
                        key.push(k.eval(row, ctx)?);
                    }
                    self.groups
                        .entry(key)
                        .or_insert_with(|| aggs.iter().map(AggState::new).collect())
                };
                for (spec, st) in aggs.iter().zip(states.iter_mut()) {
                    let v = match &spec.arg {
                        Some(a) => Some(a.eval(row, ctx)?),
                        None => None,
                    };
                    st.update(spec, v)?;
                }
            }
        }
        Ok(())
    }

    fn finish(mut self) -> SqlResult<FragmentResult> {
        if let Some(e) = self.error {
            return Err(e);
        }
        if let FragmentOutput::Rows {
            order,
            top: Some(n),
            ..
        } = &self.frag.output
        {
            if !order.is_empty() {
                keep_top(&mut self.result.rows, *n, order);
            }
        }
        if let FragmentOutput::Groups { keys, aggs } = &self.frag.output {
            // An aggregate without GROUP BY has one group even over no rows.
            if keys.is_empty() {
                let states = self
                    .single
                    .take()
                    .unwrap_or_else(|| aggs.iter().map(AggState::new).collect());
                self.groups.insert(Vec::new(), states);
            }
            self.result.groups = self.groups.into_iter().collect();
        }
        Ok(self.result)
    }
}

/// Paces a long walk: gives the core to its other tasks (a GET that arrived meanwhile)
/// at least every `YIELD_EVERY`, the executors' preemption period (see `server`).
/// With `yield_if_needed` alone, which yields only when the executor asks, GETs were
/// measured waiting up to 10 ms behind a scan.
struct Pacer(std::time::Instant);

impl Pacer {
    fn new() -> Self {
        Pacer(std::time::Instant::now())
    }

    async fn pause(&mut self) {
        if self.0.elapsed() >= YIELD_EVERY {
            glommio::executor().yield_task_queue_now().await;
            self.0 = std::time::Instant::now();
        } else {
            glommio::yield_if_needed().await;
        }
    }
}

/// Runs a fragment over this shard's rows: the rows its keys name, or all of them.
pub async fn run(shard: &Rc<Shard>, frag: &Fragment) -> SqlResult<FragmentResult> {
    let prefix = schema::row_prefix(&frag.table);
    let mut sink = Sink::new(frag);
    let keys = match (&frag.key, &frag.lookup) {
        (Some(k), _) => Some(std::slice::from_ref(k)),
        (None, Some(keys)) => Some(keys.as_slice()),
        (None, None) => None,
    };
    if let Some(keys) = keys {
        let mut pacer = Pacer::new();
        for chunk in keys.chunks(CHUNK) {
            {
                let now = now_ms();
                let dbs = shard.dbs.borrow();
                let Some(ks) = dbs.get(frag.db) else {
                    break;
                };
                for key in chunk {
                    if let Some(slot) = ks.find(key) {
                        if sink.offer(ks.entry(slot), &prefix, now) {
                            break;
                        }
                    }
                }
            }
            if sink.stopped() {
                break;
            }
            pacer.pause().await;
        }
        return sink.finish();
    }
    let mut cursor = 0;
    let mut pacer = Pacer::new();
    loop {
        let now = now_ms();
        let (next, done) = {
            let dbs = shard.dbs.borrow();
            let Some(ks) = dbs.get(frag.db) else {
                break;
            };
            let window = ks.slab_window(cursor, CHUNK);
            for i in 0..window.len() {
                prefetch_ahead(window, i, &sink.hints);
                if let Some(e) = &window[i] {
                    if sink.offer(e, &prefix, now) {
                        break;
                    }
                }
            }
            let next = cursor + window.len();
            (next, window.len() < CHUNK || next >= ks.slab_len())
        };
        if done || sink.stopped() {
            break;
        }
        cursor = next;
        pacer.pause().await;
    }
    sink.finish()
}

/// How far ahead of the row being read the scan asks for its memory: a row's key and
/// document box first, the document's field table a few rows later, the field names
/// last. A row is a chain of pointers (entry → document → fields → names) spread over
/// the heap, so without this each row waits for three or four cache misses in turn;
/// with it they overlap across rows.
const AHEAD_BOX: usize = 16;
const AHEAD_FIELDS: usize = 8;
const AHEAD_NAMES: usize = 4;

#[inline(always)]
fn prefetch<T: ?Sized>(p: &T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch is only a hint; it never faults, whatever the address.
    unsafe {
        core::arch::x86_64::_mm_prefetch(
            p as *const T as *const i8,
            core::arch::x86_64::_MM_HINT_T0,
        );
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

/// The document of a slab position, if it holds a parsed JSON object.
#[inline(always)]
fn json_at(window: &[Option<Entry>], i: usize) -> Option<&Map<String, Doc>> {
    match window.get(i)? {
        Some(Entry {
            value: Value::Json(j),
            ..
        }) => match j.doc() {
            Doc::Object(m) => Some(m),
            _ => None,
        },
        _ => None,
    }
}

/// Issues the prefetches for the rows `AHEAD_*` positions after `i`.
#[inline(always)]
fn prefetch_ahead(window: &[Option<Entry>], i: usize, hints: &[Cell<usize>]) {
    if let Some(Some(e)) = window.get(i + AHEAD_BOX) {
        prefetch(&*e.key);
        if let Value::Json(j) = &e.value {
            prefetch(&**j);
        }
    }
    if let Some(m) = json_at(window, i + AHEAD_FIELDS) {
        for h in hints {
            if let Some((k, v)) = m.iter().nth(h.get()) {
                // A field's name and value may straddle two cache lines.
                prefetch(k);
                prefetch(v);
            }
        }
    }
    if let Some(m) = json_at(window, i + AHEAD_NAMES) {
        for h in hints {
            if let Some((k, _)) = m.iter().nth(h.get()) {
                prefetch(k.as_str());
            }
        }
    }
}

/// A row's key and document.
pub type KeyedDoc = (Vec<u8>, Map<String, Doc>);

/// Keys (with their documents) of this shard's rows of `table` that pass `filter`,
/// for UPDATE and DELETE. Runs without yielding: the caller changes the rows right
/// after, before any other command can.
pub fn matching_rows(shard: &Shard, frag: &Fragment) -> SqlResult<Vec<KeyedDoc>> {
    let prefix = schema::row_prefix(&frag.table);
    let now = now_ms();
    let mut dbs = shard.dbs.borrow_mut();
    let Some(ks) = dbs.get_mut(frag.db) else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    let mut error = None;
    let mut visit = |e: &Entry| {
        if error.is_some() {
            return;
        }
        let Some(pk) = is_row(e, &prefix, now) else {
            return;
        };
        let Some(doc) = row_doc(&e.value) else {
            return;
        };
        let row = DocRow::new(&doc, pk, &frag.columns);
        let pass = match &frag.filter {
            Some(f) => f.eval(&row, &frag.ctx).and_then(|d| holds(&d, "WHERE")),
            None => Ok(true),
        };
        match pass {
            Ok(true) => out.push((e.key.to_vec(), doc.into_owned())),
            Ok(false) => {}
            Err(err) => error = Some(err),
        }
    };
    match &frag.key {
        Some(key) => {
            if let Some(slot) = ks.find_live(key, now) {
                visit(ks.entry(slot));
            }
        }
        None => {
            ks.scan(0, usize::MAX, &mut visit);
        }
    }
    match error {
        Some(e) => Err(e),
        None => Ok(out),
    }
}
