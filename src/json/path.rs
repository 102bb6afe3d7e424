//! JSONPath and legacy-path engine over `serde_json::Value` (RedisJSON syntax).
//!
//! A path starting with `$` is JSONPath; anything else is a legacy path
//! (`.`, ``, `.a.b`, `a.b`, `a[0]`, `.a["x y"]`, `.["x y"]`, `[-1]`, `.*`). Both parse into the same
//! [`Step`] list and are evaluated the same way; only the reply shape differs,
//! which is the caller's business ([`Path::legacy`] tells which kind it was).
//!
//! Evaluation produces concrete locations ([`Loc`] lists) so that commands can
//! read, replace and delete what a path selects.
//!
//! Supported: `$`, `.key`, `['key']`, `["key"]`, `[n]` (negative counts from
//! the end), `[*]`, `.*`, `..` (recursive descent before a key, `*` or a
//! bracket), slices `[start:end:step]`, unions `[0,2]` / `['a','b']`, and
//! filters `[?(...)]` with `&&`, `||`, `!`, parentheses, `== != < <= > >=`,
//! literals (numbers, strings, `true`, `false`, `null`), paths relative to `@`
//! or `$`, and existence tests `[?(@.x)]`.
//! Not supported: regex match `=~` (a syntax error says so) and functions.

use serde_json::Value;
use std::cmp::Ordering;
use std::fmt;

/// Deepest nesting of brackets / parentheses / `!` a path may have, so that a
/// hostile path cannot overflow the parser's stack.
const MAX_NESTING: usize = 64;

/// A parsed path.
#[derive(Debug, Clone, PartialEq)]
pub struct Path {
    /// True when the text was a legacy path (did not start with `$`).
    pub legacy: bool,
    /// The selectors applied one after another from the root.
    pub steps: Vec<Step>,
}

impl Path {
    /// True when the path selects the root itself and nothing else (`$`, `.`).
    pub fn is_root(&self) -> bool {
        self.steps.is_empty()
    }

    /// True when the path can select at most one location (no wildcard,
    /// descent, slice, union or filter). RedisJSON calls these "static" paths.
    pub fn is_definite(&self) -> bool {
        self.steps
            .iter()
            .all(|s| matches!(s, Step::Key(_) | Step::Index(_)))
    }
}

/// One selector of a path.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// Object member by name.
    Key(String),
    /// Array element; negative counts from the end.
    Index(i64),
    /// All members of an object / elements of an array.
    Wildcard,
    /// Array slice with Python-like bounds; `step` 0 selects nothing.
    Slice {
        start: Option<i64>,
        end: Option<i64>,
        step: i64,
    },
    /// Several selectors (only `Key`, `Index`, `Slice`, `Wildcard`), results in
    /// selector order.
    Union(Vec<Step>),
    /// Recursive descent: the inner selector applied to the node and every
    /// descendant, in pre-order (`$..x`, `$..*`, `$..[0]`, `$..[?(...)]`).
    Descent(Box<Step>),
    /// Array elements / object values for which the expression holds.
    Filter(Expr),
}

/// A filter expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Or(Box<Expr>, Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
    Compare(Operand, CmpOp, Operand),
    /// True when the path selects at least one value.
    Exists(FilterPath),
}

/// A comparison side in a filter.
#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    Literal(Value),
    Path(FilterPath),
}

/// A path inside a filter, relative to the current element (`@`) or to the
/// document root (`$`).
#[derive(Debug, Clone, PartialEq)]
pub struct FilterPath {
    pub from_root: bool,
    pub steps: Vec<Step>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

/// One step of a concrete location.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Loc {
    Key(String),
    Index(usize),
}

/// A path syntax error; displays as a Redis error line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathError {
    /// Byte offset in the path text where the problem was found.
    pub offset: usize,
    pub message: String,
}

impl fmt::Display for PathError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "ERR invalid JSONPath syntax at offset {}: {}",
            self.offset, self.message
        )
    }
}

impl std::error::Error for PathError {}

// ---------------------------------------------------------------------------
// Parsing
// ---------------------------------------------------------------------------

/// Parse a path using RedisJSON's rules: `$...` is JSONPath, anything else is
/// a legacy path (where filters are not allowed).
pub fn parse(path: &str) -> Result<Path, PathError> {
    let mut p = Parser {
        src: path,
        pos: 0,
        depth: 0,
        legacy: !path.starts_with('$'),
    };
    let steps = if p.legacy {
        p.parse_legacy()?
    } else {
        p.pos = 1;
        p.parse_segments(false)?
    };
    if p.pos < path.len() {
        return Err(p.err("unexpected character"));
    }
    Ok(Path {
        legacy: p.legacy,
        steps,
    })
}

struct Parser<'a> {
    src: &'a str,
    pos: usize,
    depth: usize,
    legacy: bool,
}

/// Characters allowed in a key written without quotes.
fn is_key_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '-' || c == '$' || !c.is_ascii()
}

impl Parser<'_> {
    fn err(&self, message: &str) -> PathError {
        PathError {
            offset: self.pos,
            message: message.to_string(),
        }
    }

    fn peek(&self) -> Option<char> {
        self.src[self.pos..].chars().next()
    }

    fn peek_at(&self, n: usize) -> Option<char> {
        self.src[self.pos..].chars().nth(n)
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.pos += c.len_utf8();
        Some(c)
    }

    fn eat(&mut self, c: char) -> bool {
        if self.peek() == Some(c) {
            self.pos += c.len_utf8();
            true
        } else {
            false
        }
    }

    fn eat_str(&mut self, s: &str) -> bool {
        if self.src[self.pos..].starts_with(s) {
            self.pos += s.len();
            true
        } else {
            false
        }
    }

    fn expect(&mut self, c: char, what: &str) -> Result<(), PathError> {
        if self.eat(c) {
            Ok(())
        } else {
            Err(self.err(what))
        }
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(c) if c.is_whitespace()) {
            self.bump();
        }
    }

    fn enter(&mut self) -> Result<(), PathError> {
        self.depth += 1;
        if self.depth > MAX_NESTING {
            Err(self.err("path is nested too deeply"))
        } else {
            Ok(())
        }
    }

    fn leave(&mut self) {
        self.depth -= 1;
    }

    /// Legacy form: `` or `.` is the root; the first key needs no dot.
    fn parse_legacy(&mut self) -> Result<Vec<Step>, PathError> {
        if self.src.is_empty() || self.src == "." {
            self.pos = self.src.len();
            return Ok(Vec::new());
        }
        let mut steps = Vec::new();
        // `.["x y"]` is a legacy spelling of `["x y"]`.
        if self.src.starts_with(".[") {
            self.pos = 1;
        }
        match self.peek() {
            Some('.') | Some('[') => {}
            Some('*') => {
                self.bump();
                steps.push(Step::Wildcard);
            }
            Some(c) if is_key_char(c) => steps.push(Step::Key(self.parse_bare_key()?)),
            _ => return Err(self.err("expected a key, '.' or '['")),
        }
        steps.extend(self.parse_segments(false)?);
        Ok(steps)
    }

    /// Segments until the end of input, or (inside a filter) until a character
    /// that cannot continue a path.
    fn parse_segments(&mut self, in_filter: bool) -> Result<Vec<Step>, PathError> {
        let mut steps = Vec::new();
        loop {
            match self.peek() {
                None => return Ok(steps),
                Some('.') => {
                    self.bump();
                    if self.eat('.') {
                        let inner = match self.peek() {
                            Some('[') => {
                                self.bump();
                                self.parse_bracket()?
                            }
                            _ => self.parse_dot_member()?,
                        };
                        steps.push(Step::Descent(Box::new(inner)));
                    } else {
                        steps.push(self.parse_dot_member()?);
                    }
                }
                Some('[') => {
                    self.bump();
                    steps.push(self.parse_bracket()?);
                }
                Some(_) if in_filter => return Ok(steps),
                Some(_) => return Err(self.err("unexpected character")),
            }
        }
    }

    /// After `.` or `..`: `*` or a bare key.
    fn parse_dot_member(&mut self) -> Result<Step, PathError> {
        if self.eat('*') {
            return Ok(Step::Wildcard);
        }
        match self.peek() {
            Some(c) if is_key_char(c) => Ok(Step::Key(self.parse_bare_key()?)),
            _ => Err(self.err("expected a key or '*' after '.'")),
        }
    }

    fn parse_bare_key(&mut self) -> Result<String, PathError> {
        let start = self.pos;
        while matches!(self.peek(), Some(c) if is_key_char(c)) {
            self.bump();
        }
        if self.pos == start {
            return Err(self.err("expected a key"));
        }
        Ok(self.src[start..self.pos].to_string())
    }

    /// After `[`: filter, wildcard, or a union of keys / indexes / slices.
    fn parse_bracket(&mut self) -> Result<Step, PathError> {
        self.enter()?;
        self.skip_ws();
        let step = if self.peek() == Some('?') {
            if self.legacy {
                return Err(self.err("filters are not allowed in legacy paths"));
            }
            self.bump();
            self.skip_ws();
            let expr = self.parse_or()?;
            self.skip_ws();
            self.expect(']', "expected ']' to close the filter")?;
            Step::Filter(expr)
        } else {
            let mut items = Vec::new();
            loop {
                self.skip_ws();
                items.push(self.parse_bracket_item()?);
                self.skip_ws();
                if self.eat(',') {
                    continue;
                }
                self.expect(']', "expected ',' or ']'")?;
                break;
            }
            if items.len() == 1 {
                items.pop().unwrap_or(Step::Wildcard)
            } else {
                Step::Union(items)
            }
        };
        self.leave();
        Ok(step)
    }

    fn parse_bracket_item(&mut self) -> Result<Step, PathError> {
        match self.peek() {
            Some('\'') | Some('"') => Ok(Step::Key(self.parse_quoted()?)),
            Some('*') => {
                self.bump();
                Ok(Step::Wildcard)
            }
            Some(c) if c == '-' || c == ':' || c.is_ascii_digit() => {
                let start = self.parse_opt_int()?;
                self.skip_ws();
                if !self.eat(':') {
                    return match start {
                        Some(i) => Ok(Step::Index(i)),
                        None => Err(self.err("expected an index")),
                    };
                }
                self.skip_ws();
                let end = self.parse_opt_int()?;
                self.skip_ws();
                let step = if self.eat(':') {
                    self.skip_ws();
                    self.parse_opt_int()?.unwrap_or(1)
                } else {
                    1
                };
                Ok(Step::Slice { start, end, step })
            }
            _ => Err(self.err("expected a quoted key, an index, a slice, '*' or '?'")),
        }
    }

    fn parse_opt_int(&mut self) -> Result<Option<i64>, PathError> {
        let start = self.pos;
        self.eat('-');
        let digits = self.pos;
        while matches!(self.peek(), Some(c) if c.is_ascii_digit()) {
            self.bump();
        }
        if self.pos == digits {
            if self.pos != start {
                return Err(self.err("expected digits after '-'"));
            }
            return Ok(None);
        }
        self.src[start..self.pos]
            .parse::<i64>()
            .map(Some)
            .map_err(|_| PathError {
                offset: start,
                message: "index out of range".to_string(),
            })
    }

    /// A `'...'` or `"..."` string with JSON-style escapes.
    fn parse_quoted(&mut self) -> Result<String, PathError> {
        let quote = self.bump().ok_or_else(|| self.err("expected a quote"))?;
        let mut out = String::new();
        loop {
            match self.bump() {
                None => return Err(self.err("unterminated string")),
                Some(c) if c == quote => return Ok(out),
                Some('\\') => {
                    let c = self.bump().ok_or_else(|| self.err("unterminated string"))?;
                    match c {
                        '\\' | '/' | '\'' | '"' => out.push(c),
                        'n' => out.push('\n'),
                        't' => out.push('\t'),
                        'r' => out.push('\r'),
                        'b' => out.push('\u{8}'),
                        'f' => out.push('\u{c}'),
                        'u' => out.push(self.parse_unicode_escape()?),
                        _ => return Err(self.err("invalid escape in string")),
                    }
                }
                Some(c) => out.push(c),
            }
        }
    }

    fn parse_hex4(&mut self) -> Result<u32, PathError> {
        let mut v = 0u32;
        for _ in 0..4 {
            let d = self
                .bump()
                .and_then(|c| c.to_digit(16))
                .ok_or_else(|| self.err("invalid \\u escape"))?;
            v = v * 16 + d;
        }
        Ok(v)
    }

    fn parse_unicode_escape(&mut self) -> Result<char, PathError> {
        let hi = self.parse_hex4()?;
        let code = if (0xD800..0xDC00).contains(&hi) {
            if !self.eat_str("\\u") {
                return Err(self.err("unpaired surrogate in \\u escape"));
            }
            let lo = self.parse_hex4()?;
            if !(0xDC00..0xE000).contains(&lo) {
                return Err(self.err("unpaired surrogate in \\u escape"));
            }
            0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
        } else {
            hi
        };
        char::from_u32(code).ok_or_else(|| self.err("invalid \\u escape"))
    }

    fn parse_or(&mut self) -> Result<Expr, PathError> {
        let mut left = self.parse_and()?;
        loop {
            self.skip_ws();
            if !self.eat_str("||") {
                return Ok(left);
            }
            let right = self.parse_and()?;
            left = Expr::Or(Box::new(left), Box::new(right));
        }
    }

    fn parse_and(&mut self) -> Result<Expr, PathError> {
        let mut left = self.parse_unary()?;
        loop {
            self.skip_ws();
            if !self.eat_str("&&") {
                return Ok(left);
            }
            let right = self.parse_unary()?;
            left = Expr::And(Box::new(left), Box::new(right));
        }
    }

    fn parse_unary(&mut self) -> Result<Expr, PathError> {
        self.enter()?;
        self.skip_ws();
        let expr = if self.eat('!') {
            Expr::Not(Box::new(self.parse_unary()?))
        } else if self.eat('(') {
            let inner = self.parse_or()?;
            self.skip_ws();
            self.expect(')', "expected ')'")?;
            inner
        } else {
            self.parse_comparison()?
        };
        self.leave();
        Ok(expr)
    }

    fn parse_comparison(&mut self) -> Result<Expr, PathError> {
        let left = self.parse_operand()?;
        self.skip_ws();
        let op = if self.eat_str("==") {
            CmpOp::Eq
        } else if self.eat_str("!=") {
            CmpOp::Ne
        } else if self.eat_str("<=") {
            CmpOp::Le
        } else if self.eat_str(">=") {
            CmpOp::Ge
        } else if self.eat('<') {
            CmpOp::Lt
        } else if self.eat('>') {
            CmpOp::Gt
        } else if self.src[self.pos..].starts_with("=~") {
            return Err(self.err("regex match '=~' is not supported"));
        } else if self.peek() == Some('=') {
            return Err(self.err("expected '==' for comparison"));
        } else {
            return match left {
                Operand::Path(p) => Ok(Expr::Exists(p)),
                Operand::Literal(_) => Err(self.err("a literal needs a comparison")),
            };
        };
        self.skip_ws();
        let right = self.parse_operand()?;
        Ok(Expr::Compare(left, op, right))
    }

    fn parse_operand(&mut self) -> Result<Operand, PathError> {
        self.skip_ws();
        match self.peek() {
            Some('@') | Some('$') => {
                let from_root = self.bump() == Some('$');
                let steps = self.parse_segments(true)?;
                Ok(Operand::Path(FilterPath { from_root, steps }))
            }
            Some('\'') | Some('"') => Ok(Operand::Literal(Value::String(self.parse_quoted()?))),
            Some(c) if c == '-' || c.is_ascii_digit() => Ok(Operand::Literal(self.parse_number()?)),
            _ => {
                for (word, value) in [
                    ("true", Value::Bool(true)),
                    ("false", Value::Bool(false)),
                    ("null", Value::Null),
                ] {
                    if self.src[self.pos..].starts_with(word)
                        && !matches!(self.peek_at(word.len()), Some(c) if is_key_char(c))
                    {
                        self.pos += word.len();
                        return Ok(Operand::Literal(value));
                    }
                }
                Err(self.err("expected '@', '$' or a literal in filter"))
            }
        }
    }

    fn parse_number(&mut self) -> Result<Value, PathError> {
        let start = self.pos;
        self.eat('-');
        let mut is_float = false;
        let int_start = self.pos;
        while matches!(self.peek(), Some(c) if c.is_ascii_digit()) {
            self.bump();
        }
        if self.pos == int_start {
            return Err(self.err("expected digits"));
        }
        if self.peek() == Some('.') && matches!(self.peek_at(1), Some(c) if c.is_ascii_digit()) {
            is_float = true;
            self.bump();
            while matches!(self.peek(), Some(c) if c.is_ascii_digit()) {
                self.bump();
            }
        }
        if matches!(self.peek(), Some('e') | Some('E')) {
            is_float = true;
            self.bump();
            if !self.eat('+') {
                self.eat('-');
            }
            let exp_start = self.pos;
            while matches!(self.peek(), Some(c) if c.is_ascii_digit()) {
                self.bump();
            }
            if self.pos == exp_start {
                return Err(self.err("expected exponent digits"));
            }
        }
        let text = &self.src[start..self.pos];
        let bad = || PathError {
            offset: start,
            message: "invalid number".to_string(),
        };
        if !is_float {
            if let Ok(i) = text.parse::<i64>() {
                return Ok(Value::from(i));
            }
            if let Ok(u) = text.parse::<u64>() {
                return Ok(Value::from(u));
            }
        }
        let f = text.parse::<f64>().map_err(|_| bad())?;
        serde_json::Number::from_f64(f)
            .map(Value::Number)
            .ok_or_else(bad)
    }
}

// ---------------------------------------------------------------------------
// Evaluation
// ---------------------------------------------------------------------------

/// A selected node: where it is and what it is.
type Node<'a> = (Vec<Loc>, &'a Value);

/// The concrete locations `path` selects in `root`, in selection order
/// (document order except that unions keep their selectors' order).
pub fn locate(root: &Value, path: &Path) -> Vec<Vec<Loc>> {
    select(root, root, &path.steps)
        .into_iter()
        .map(|(loc, _)| loc)
        .collect()
}

/// The values `path` selects in `root`, in the same order as [`locate`].
pub fn values<'a>(root: &'a Value, path: &Path) -> Vec<&'a Value> {
    select(root, root, &path.steps)
        .into_iter()
        .map(|(_, v)| v)
        .collect()
}

fn select<'a>(root: &'a Value, start: &'a Value, steps: &[Step]) -> Vec<Node<'a>> {
    let mut nodes: Vec<Node<'a>> = vec![(Vec::new(), start)];
    for step in steps {
        let mut next = Vec::new();
        for (loc, value) in &nodes {
            apply_step(root, step, loc, value, &mut next);
        }
        nodes = next;
        if nodes.is_empty() {
            break;
        }
    }
    nodes
}

fn child(loc: &[Loc], step: Loc) -> Vec<Loc> {
    let mut out = Vec::with_capacity(loc.len() + 1);
    out.extend_from_slice(loc);
    out.push(step);
    out
}

/// Resolve a possibly negative index against an array length.
fn normalize_index(i: i64, len: usize) -> Option<usize> {
    let len = len as i64;
    let idx = if i < 0 { len + i } else { i };
    (0..len).contains(&idx).then_some(idx as usize)
}

/// Indexes of a slice over an array of `len`, in selection order.
fn slice_indexes(start: Option<i64>, end: Option<i64>, step: i64, len: usize) -> Vec<usize> {
    let len = len as i64;
    let norm = |i: i64| if i < 0 { len + i } else { i };
    let mut out = Vec::new();
    match step.cmp(&0) {
        Ordering::Equal => {}
        Ordering::Greater => {
            let lo = norm(start.unwrap_or(0)).clamp(0, len);
            let hi = norm(end.unwrap_or(len)).clamp(0, len);
            let mut i = lo;
            while i < hi {
                out.push(i as usize);
                i = i.saturating_add(step);
            }
        }
        Ordering::Less => {
            let hi = start.map_or(len - 1, norm).clamp(-1, len - 1);
            let lo = end.map_or(-1, norm).clamp(-1, len - 1);
            let mut i = hi;
            while i > lo {
                out.push(i as usize);
                i = i.saturating_add(step);
            }
        }
    }
    out
}

fn apply_step<'a>(
    root: &'a Value,
    step: &Step,
    loc: &[Loc],
    value: &'a Value,
    out: &mut Vec<Node<'a>>,
) {
    match step {
        Step::Key(k) => {
            if let Some(v) = value.as_object().and_then(|m| m.get(k)) {
                out.push((child(loc, Loc::Key(k.clone())), v));
            }
        }
        Step::Index(i) => {
            let arr = value.as_array().map(Vec::as_slice).unwrap_or_default();
            if let Some(idx) = normalize_index(*i, arr.len()) {
                out.push((child(loc, Loc::Index(idx)), &arr[idx]));
            }
        }
        Step::Wildcard => match value {
            Value::Array(arr) => {
                for (i, v) in arr.iter().enumerate() {
                    out.push((child(loc, Loc::Index(i)), v));
                }
            }
            Value::Object(map) => {
                for (k, v) in map {
                    out.push((child(loc, Loc::Key(k.clone())), v));
                }
            }
            _ => {}
        },
        Step::Slice { start, end, step } => {
            if let Some(arr) = value.as_array() {
                for idx in slice_indexes(*start, *end, *step, arr.len()) {
                    out.push((child(loc, Loc::Index(idx)), &arr[idx]));
                }
            }
        }
        Step::Union(items) => {
            for item in items {
                apply_step(root, item, loc, value, out);
            }
        }
        Step::Descent(inner) => descend(root, inner, loc.to_vec(), value, out),
        Step::Filter(expr) => match value {
            Value::Array(arr) => {
                for (i, v) in arr.iter().enumerate() {
                    if eval(expr, root, v) {
                        out.push((child(loc, Loc::Index(i)), v));
                    }
                }
            }
            Value::Object(map) => {
                for (k, v) in map {
                    if eval(expr, root, v) {
                        out.push((child(loc, Loc::Key(k.clone())), v));
                    }
                }
            }
            _ => {}
        },
    }
}

/// Pre-order: the selector on this node first, then on each child's subtree.
fn descend<'a>(
    root: &'a Value,
    inner: &Step,
    loc: Vec<Loc>,
    value: &'a Value,
    out: &mut Vec<Node<'a>>,
) {
    apply_step(root, inner, &loc, value, out);
    match value {
        Value::Array(arr) => {
            for (i, v) in arr.iter().enumerate() {
                descend(root, inner, child(&loc, Loc::Index(i)), v, out);
            }
        }
        Value::Object(map) => {
            for (k, v) in map {
                descend(root, inner, child(&loc, Loc::Key(k.clone())), v, out);
            }
        }
        _ => {}
    }
}

fn filter_values<'a>(root: &'a Value, current: &'a Value, p: &FilterPath) -> Vec<&'a Value> {
    let start = if p.from_root { root } else { current };
    select(root, start, &p.steps)
        .into_iter()
        .map(|(_, v)| v)
        .collect()
}

fn eval(expr: &Expr, root: &Value, current: &Value) -> bool {
    match expr {
        Expr::Or(a, b) => eval(a, root, current) || eval(b, root, current),
        Expr::And(a, b) => eval(a, root, current) && eval(b, root, current),
        Expr::Not(e) => !eval(e, root, current),
        Expr::Exists(p) => !filter_values(root, current, p).is_empty(),
        Expr::Compare(l, op, r) => {
            let side = |o: &Operand| -> Vec<Value> {
                match o {
                    Operand::Literal(v) => vec![v.clone()],
                    Operand::Path(p) => filter_values(root, current, p)
                        .into_iter()
                        .cloned()
                        .collect(),
                }
            };
            let (left, right) = (side(l), side(r));
            // A path selecting several values matches when any pair does;
            // one selecting nothing never matches (not even with `!=`).
            left.iter()
                .any(|a| right.iter().any(|b| compare(a, *op, b)))
        }
    }
}

fn number_cmp(a: &serde_json::Number, b: &serde_json::Number) -> Option<Ordering> {
    let as_int = |n: &serde_json::Number| {
        n.as_i64()
            .map(i128::from)
            .or_else(|| n.as_u64().map(i128::from))
    };
    match (as_int(a), as_int(b)) {
        (Some(x), Some(y)) => Some(x.cmp(&y)),
        _ => a.as_f64()?.partial_cmp(&b.as_f64()?),
    }
}

fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => number_cmp(x, y) == Some(Ordering::Equal),
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| json_eq(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_eq(v, w)))
        }
        _ => a == b,
    }
}

fn compare(a: &Value, op: CmpOp, b: &Value) -> bool {
    let ordering = match (a, b) {
        (Value::Number(x), Value::Number(y)) => number_cmp(x, y),
        (Value::String(x), Value::String(y)) => Some(x.cmp(y)),
        _ => None,
    };
    match op {
        CmpOp::Eq => json_eq(a, b),
        CmpOp::Ne => !json_eq(a, b),
        CmpOp::Lt => ordering == Some(Ordering::Less),
        CmpOp::Le => matches!(ordering, Some(Ordering::Less | Ordering::Equal)),
        CmpOp::Gt => ordering == Some(Ordering::Greater),
        CmpOp::Ge => matches!(ordering, Some(Ordering::Greater | Ordering::Equal)),
    }
}

// ---------------------------------------------------------------------------
// Access and mutation by location
// ---------------------------------------------------------------------------

/// The value at `loc`, if it exists.
pub fn get<'a>(root: &'a Value, loc: &[Loc]) -> Option<&'a Value> {
    loc.iter().try_fold(root, |v, step| match step {
        Loc::Key(k) => v.as_object()?.get(k),
        Loc::Index(i) => v.as_array()?.get(*i),
    })
}

/// The value at `loc` for writing, if it exists.
pub fn get_mut<'a>(root: &'a mut Value, loc: &[Loc]) -> Option<&'a mut Value> {
    loc.iter().try_fold(root, |v, step| match step {
        Loc::Key(k) => v.as_object_mut()?.get_mut(k),
        Loc::Index(i) => v.as_array_mut()?.get_mut(*i),
    })
}

/// The locations JSON.SET writes: every existing match, and, when the last
/// step is a plain key, that key under every object its parent part selects
/// (only the last step may be new, as RedisJSON does). A returned location is
/// new exactly when `get(root, loc)` is `None`; the caller inserts it into the
/// parent object (see [`set`]).
pub fn locate_for_set(root: &Value, path: &Path) -> Vec<Vec<Loc>> {
    match path.steps.split_last() {
        Some((Step::Key(k), parent_steps)) => select(root, root, parent_steps)
            .into_iter()
            .filter(|(_, v)| v.is_object())
            .map(|(loc, _)| child(&loc, Loc::Key(k.clone())))
            .collect(),
        _ => locate(root, path),
    }
}

/// Write `value` at `loc`: replaces an existing value, or adds a missing key
/// whose parent is an object (appended at the end). Returns false when the
/// location cannot be written (missing parent, or missing array index).
pub fn set(root: &mut Value, loc: &[Loc], value: Value) -> bool {
    let Some((last, parent_loc)) = loc.split_last() else {
        *root = value;
        return true;
    };
    match (get_mut(root, parent_loc), last) {
        (Some(Value::Object(map)), Loc::Key(k)) => {
            map.insert(k.clone(), value);
            true
        }
        (Some(Value::Array(arr)), Loc::Index(i)) => match arr.get_mut(*i) {
            Some(slot) => {
                *slot = value;
                true
            }
            None => false,
        },
        _ => false,
    }
}

fn loc_cmp(a: &[Loc], b: &[Loc]) -> Ordering {
    for (x, y) in a.iter().zip(b) {
        let o = match (x, y) {
            (Loc::Index(i), Loc::Index(j)) => i.cmp(j),
            (Loc::Key(p), Loc::Key(q)) => p.cmp(q),
            (Loc::Index(_), Loc::Key(_)) => Ordering::Less,
            (Loc::Key(_), Loc::Index(_)) => Ordering::Greater,
        };
        if o != Ordering::Equal {
            return o;
        }
    }
    a.len().cmp(&b.len())
}

/// Delete the given locations (not the root; an empty location is skipped)
/// and return how many values were removed. Duplicates count once, and a
/// location inside another deleted location is not counted separately.
/// Deleting in descending order keeps the remaining array indexes valid.
pub fn delete(root: &mut Value, locs: Vec<Vec<Loc>>) -> usize {
    let mut locs: Vec<Vec<Loc>> = locs.into_iter().filter(|l| !l.is_empty()).collect();
    locs.sort_by(|a, b| loc_cmp(a, b));
    locs.dedup();
    // After sorting, any descendant directly follows its ancestor (or another
    // descendant of it), so one pass removes the covered ones.
    let mut kept: Vec<Vec<Loc>> = Vec::with_capacity(locs.len());
    for loc in locs {
        if kept.last().is_some_and(|prev| loc.starts_with(prev)) {
            continue;
        }
        kept.push(loc);
    }
    let mut removed = 0;
    for loc in kept.iter().rev() {
        let Some((last, parent_loc)) = loc.split_last() else {
            continue;
        };
        let gone = match (get_mut(root, parent_loc), last) {
            // shift_remove keeps the remaining keys in insertion order.
            (Some(Value::Object(map)), Loc::Key(k)) => map.shift_remove(k).is_some(),
            (Some(Value::Array(arr)), Loc::Index(i)) if *i < arr.len() => {
                arr.remove(*i);
                true
            }
            _ => false,
        };
        if gone {
            removed += 1;
        }
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn store() -> Value {
        json!({
            "store": {
                "book": [
                    {"category": "reference", "author": "Nigel Rees", "title": "Sayings", "price": 8.95},
                    {"category": "fiction", "author": "Evelyn Waugh", "title": "Sword", "price": 12.99},
                    {"category": "fiction", "author": "Herman Melville", "title": "Moby Dick", "isbn": "0-553", "price": 8.99},
                    {"category": "fiction", "author": "Tolkien", "title": "Rings", "isbn": "0-395", "price": 22.99}
                ],
                "bicycle": {"color": "red", "price": 19.95}
            },
            "key with space": 1,
            "nums": [0, 1, 2, 3, 4, 5],
            "flags": {"on": true, "off": false, "none": null}
        })
    }

    fn vals(doc: &Value, p: &str) -> Vec<Value> {
        let path = parse(p).unwrap_or_else(|e| panic!("{p}: {e}"));
        values(doc, &path).into_iter().cloned().collect()
    }

    fn locs(doc: &Value, p: &str) -> Vec<Vec<Loc>> {
        locate(doc, &parse(p).unwrap())
    }

    fn k(s: &str) -> Loc {
        Loc::Key(s.to_string())
    }

    #[test]
    fn root_forms() {
        let d = store();
        for p in ["$", ".", ""] {
            assert_eq!(vals(&d, p), vec![d.clone()], "{p}");
            assert!(parse(p).unwrap().is_root());
        }
        assert!(!parse("$").unwrap().legacy);
        assert!(parse(".").unwrap().legacy);
        assert!(parse("").unwrap().legacy);
    }

    #[test]
    fn dot_and_bracket_keys() {
        let d = store();
        assert_eq!(vals(&d, "$.store.bicycle.color"), vec![json!("red")]);
        assert_eq!(
            vals(&d, "$['store']['bicycle']"),
            vec![json!({"color": "red", "price": 19.95})]
        );
        assert_eq!(
            vals(&d, "$[\"store\"].bicycle[\"price\"]"),
            vec![json!(19.95)]
        );
        assert_eq!(vals(&d, "$['key with space']"), vec![json!(1)]);
        assert_eq!(vals(&d, "$[ 'key with space' ]"), vec![json!(1)]);
        assert_eq!(vals(&d, "$.missing"), Vec::<Value>::new());
        assert_eq!(vals(&d, "$.nums.x"), Vec::<Value>::new());
        assert_eq!(
            locs(&d, "$.store.bicycle"),
            vec![vec![k("store"), k("bicycle")]]
        );
    }

    #[test]
    fn quoted_key_escapes() {
        let d = json!({"a'b": 1, "c\"d": 2, "é": 3, "x.y": 4});
        assert_eq!(vals(&d, r"$['a\'b']"), vec![json!(1)]);
        assert_eq!(vals(&d, r#"$["c\"d"]"#), vec![json!(2)]);
        assert_eq!(vals(&d, r#"$["\u00e9"]"#), vec![json!(3)]);
        assert_eq!(vals(&d, "$.é"), vec![json!(3)]);
        assert_eq!(vals(&d, "$['x.y']"), vec![json!(4)]);
    }

    #[test]
    fn indexes() {
        let d = store();
        assert_eq!(vals(&d, "$.nums[0]"), vec![json!(0)]);
        assert_eq!(vals(&d, "$.nums[-1]"), vec![json!(5)]);
        assert_eq!(vals(&d, "$.nums[-6]"), vec![json!(0)]);
        assert_eq!(vals(&d, "$.nums[-7]"), Vec::<Value>::new());
        assert_eq!(vals(&d, "$.nums[6]"), Vec::<Value>::new());
        assert_eq!(vals(&d, "$.store[0]"), Vec::<Value>::new());
        assert_eq!(vals(&d, "$.store.book[1].title"), vec![json!("Sword")]);
        assert_eq!(locs(&d, "$.nums[-1]"), vec![vec![k("nums"), Loc::Index(5)]]);
    }

    #[test]
    fn wildcards() {
        let d = store();
        assert_eq!(
            vals(&d, "$.nums[*]"),
            (0..6).map(|i| json!(i)).collect::<Vec<_>>()
        );
        assert_eq!(
            vals(&d, "$.flags.*"),
            vec![json!(true), json!(false), json!(null)]
        );
        assert_eq!(
            vals(&d, "$.flags[*]"),
            vec![json!(true), json!(false), json!(null)]
        );
        assert_eq!(vals(&d, "$.*").len(), 4);
        assert_eq!(
            vals(&d, "$.store.book[*].author"),
            vec![
                json!("Nigel Rees"),
                json!("Evelyn Waugh"),
                json!("Herman Melville"),
                json!("Tolkien")
            ]
        );
        assert_eq!(vals(&d, "$.nums[0].*"), Vec::<Value>::new());
    }

    #[test]
    fn recursive_descent() {
        let d = store();
        assert_eq!(
            vals(&d, "$..price"),
            vec![
                json!(8.95),
                json!(12.99),
                json!(8.99),
                json!(22.99),
                json!(19.95)
            ]
        );
        assert_eq!(vals(&d, "$..isbn"), vec![json!("0-553"), json!("0-395")]);
        assert_eq!(
            vals(&d, "$..[0]"),
            vec![d["store"]["book"][0].clone(), json!(0)]
        );
        assert_eq!(vals(&d, "$..book[-1].title"), vec![json!("Rings")]);
        // $..* is every value below the root, in pre-order.
        let small = json!({"a": {"b": 1}, "c": [2]});
        assert_eq!(
            vals(&small, "$..*"),
            vec![json!({"b": 1}), json!([2]), json!(1), json!(2)]
        );
        assert_eq!(vals(&small, "$..['b','c']"), vec![json!([2]), json!(1)]);
        let nested = json!({"a": {"a": 1}});
        assert_eq!(
            locs(&nested, "$..a"),
            vec![vec![k("a")], vec![k("a"), k("a")]]
        );
    }

    #[test]
    fn slices() {
        let d = store();
        let n = |v: &[i64]| v.iter().map(|i| json!(i)).collect::<Vec<_>>();
        assert_eq!(vals(&d, "$.nums[1:3]"), n(&[1, 2]));
        assert_eq!(vals(&d, "$.nums[:2]"), n(&[0, 1]));
        assert_eq!(vals(&d, "$.nums[4:]"), n(&[4, 5]));
        assert_eq!(vals(&d, "$.nums[::2]"), n(&[0, 2, 4]));
        assert_eq!(vals(&d, "$.nums[-2:]"), n(&[4, 5]));
        assert_eq!(vals(&d, "$.nums[:-4]"), n(&[0, 1]));
        assert_eq!(vals(&d, "$.nums[::-1]"), n(&[5, 4, 3, 2, 1, 0]));
        assert_eq!(vals(&d, "$.nums[4:1:-2]"), n(&[4, 2]));
        assert_eq!(vals(&d, "$.nums[::0]"), n(&[]));
        assert_eq!(vals(&d, "$.nums[10:20]"), n(&[]));
        assert_eq!(vals(&d, "$.nums[3:1]"), n(&[]));
        assert_eq!(vals(&d, "$.nums[ 1 : 3 ]"), n(&[1, 2]));
        assert_eq!(vals(&d, "$.flags[0:1]"), n(&[]));
    }

    #[test]
    fn unions() {
        let d = store();
        assert_eq!(vals(&d, "$.nums[0,2]"), vec![json!(0), json!(2)]);
        assert_eq!(vals(&d, "$.nums[2,0]"), vec![json!(2), json!(0)]);
        assert_eq!(
            vals(&d, "$.nums[0, -1, 1:3]"),
            vec![json!(0), json!(5), json!(1), json!(2)]
        );
        assert_eq!(
            vals(&d, "$.store.bicycle['color','price']"),
            vec![json!("red"), json!(19.95)]
        );
        assert_eq!(vals(&d, "$.flags[\"on\",'missing']"), vec![json!(true)]);
    }

    #[test]
    fn filters_comparisons() {
        let d = store();
        let titles = |p: &str| vals(&d, &format!("$.store.book[?({p})].title"));
        assert_eq!(
            titles("@.price<10"),
            vec![json!("Sayings"), json!("Moby Dick")]
        );
        assert_eq!(titles("@.price <= 8.95"), vec![json!("Sayings")]);
        assert_eq!(titles("@.price>20"), vec![json!("Rings")]);
        assert_eq!(titles("@.price>=22.99"), vec![json!("Rings")]);
        assert_eq!(titles("@.author==\"Tolkien\""), vec![json!("Rings")]);
        assert_eq!(titles("@.author=='Tolkien'"), vec![json!("Rings")]);
        assert_eq!(titles("@.category!='fiction'"), vec![json!("Sayings")]);
        assert_eq!(titles("'Sword' == @.title"), vec![json!("Sword")]);
        assert_eq!(
            titles("@.title > 'S'"),
            vec![json!("Sayings"), json!("Sword")]
        );
        // Mixed types never order.
        assert_eq!(titles("@.title > 1"), Vec::<Value>::new());
        // Comparing with a $-rooted path.
        assert_eq!(
            titles("@.price > $.store.bicycle.price"),
            vec![json!("Rings")]
        );
    }

    #[test]
    fn filters_logic_and_existence() {
        let d = store();
        let titles = |p: &str| vals(&d, &format!("$.store.book[?({p})].title"));
        assert_eq!(titles("@.isbn"), vec![json!("Moby Dick"), json!("Rings")]);
        assert_eq!(titles("!@.isbn"), vec![json!("Sayings"), json!("Sword")]);
        assert_eq!(titles("@.isbn && @.price<10"), vec![json!("Moby Dick")]);
        assert_eq!(
            titles("@.price<9 || @.price>20"),
            vec![json!("Sayings"), json!("Moby Dick"), json!("Rings")]
        );
        assert_eq!(titles("!(@.price<9 || @.price>20)"), vec![json!("Sword")]);
        assert_eq!(
            titles("(@.isbn) && !(@.price > 10)"),
            vec![json!("Moby Dick")]
        );
        // && binds tighter than ||.
        assert_eq!(
            titles("@.price>20 || @.isbn && @.price<10"),
            vec![json!("Moby Dick"), json!("Rings")]
        );
        // Missing field: no comparison matches, not even !=.
        assert_eq!(
            titles("@.isbn != 'x'"),
            vec![json!("Moby Dick"), json!("Rings")]
        );
        // Without parentheses (RFC style).
        assert_eq!(
            vals(&d, "$.store.book[?@.price>20].title"),
            vec![json!("Rings")]
        );
    }

    #[test]
    fn filters_literals_and_objects() {
        let d = store();
        assert_eq!(vals(&d, "$.flags[?(@==true)]"), vec![json!(true)]);
        assert_eq!(vals(&d, "$.flags[?(@==false)]"), vec![json!(false)]);
        assert_eq!(vals(&d, "$.flags[?(@==null)]"), vec![json!(null)]);
        assert_eq!(
            locs(&d, "$.flags[?(@==null)]"),
            vec![vec![k("flags"), k("none")]]
        );
        assert_eq!(vals(&d, "$.nums[?(@>3)]"), vec![json!(4), json!(5)]);
        assert_eq!(vals(&d, "$.nums[?(@ == 2.0)]"), vec![json!(2)]);
        assert_eq!(vals(&d, "$.nums[?(@ > -1e0 && @ < 1)]"), vec![json!(0)]);
        // Filter over object values.
        assert_eq!(
            vals(&d, "$.store[?(@.color=='red')].price"),
            vec![json!(19.95)]
        );
        // Descent + filter.
        assert_eq!(vals(&d, "$..[?(@.price>20)].title"), vec![json!("Rings")]);
        // Nested filter inside a filter path.
        let n = json!([{"xs": [1, 5]}, {"xs": [1]}]);
        assert_eq!(vals(&n, "$[?(@.xs[?(@>2)])]"), vec![json!({"xs": [1, 5]})]);
        // Any-of semantics for multi-valued paths.
        assert_eq!(vals(&n, "$[?(@.xs[*]==5)]"), vec![json!({"xs": [1, 5]})]);
        // Deep equality.
        assert_eq!(vals(&n, "$[?(@.xs==$[1].xs)]"), vec![json!({"xs": [1]})]);
    }

    #[test]
    fn legacy_paths() {
        let d = store();
        for p in [
            ".store.bicycle.color",
            "store.bicycle.color",
            "store['bicycle'].color",
            "[\"store\"].bicycle.color",
        ] {
            let path = parse(p).unwrap();
            assert!(path.legacy, "{p}");
            assert!(path.is_definite(), "{p}");
            assert_eq!(values(&d, &path), vec![&json!("red")], "{p}");
        }
        assert_eq!(vals(&d, "nums[0]"), vec![json!(0)]);
        assert_eq!(vals(&d, ".nums[-1]"), vec![json!(5)]);
        assert_eq!(vals(&d, ".[\"key with space\"]"), vec![json!(1)]);
        assert_eq!(vals(&json!([7, 8]), "[-1]"), vec![json!(8)]);
        assert_eq!(vals(&d, ".flags.*").len(), 3);
        assert!(parse(".store.book[?(@.price)]").is_err());
        assert!(!parse(".store.*").unwrap().is_definite());
    }

    #[test]
    fn parsed_steps() {
        let p = parse("$.a['b'][0][-1][*][1:2:3][0,'x']..y[?(@.z)]").unwrap();
        assert_eq!(
            p.steps,
            vec![
                Step::Key("a".into()),
                Step::Key("b".into()),
                Step::Index(0),
                Step::Index(-1),
                Step::Wildcard,
                Step::Slice {
                    start: Some(1),
                    end: Some(2),
                    step: 3
                },
                Step::Union(vec![Step::Index(0), Step::Key("x".into())]),
                Step::Descent(Box::new(Step::Key("y".into()))),
                Step::Filter(Expr::Exists(FilterPath {
                    from_root: false,
                    steps: vec![Step::Key("z".into())]
                })),
            ]
        );
    }

    #[test]
    fn syntax_errors() {
        for p in [
            "$.a[",
            "$.a[0",
            "$.a['b'",
            "$.a['b]",
            "$[",
            "$]",
            "$.",
            "$..",
            "$a",
            "$.a.",
            "$[?(@.x>1]",
            "$[?(@.x>1)",
            "$[?(@.x>)]",
            "$[?(@.x=1)]",
            "$[?(@.x =~ 'a')]",
            "$[?()]",
            "$[?(1)]",
            "$[?(@.x && )]",
            "$[?(@.x ||)]",
            "$[1:2:3:4]",
            "$[-]",
            "$[a]",
            "$[99999999999999999999]",
            "$['\\q']",
            "$['\\u12']",
            "$['\\ud800']",
            "$[0,]",
            "$[,0]",
            "$ ",
            ".a[",
            "a..",
            "a b",
            "[",
            ".a]",
            "$[?(@.x == 1e)]",
            "$[?(@.x == tru)]",
            "$[?(!)]",
            "$[?((@.x)]",
        ] {
            let e = parse(p).expect_err(p);
            assert!(
                e.to_string()
                    .starts_with("ERR invalid JSONPath syntax at offset "),
                "{p}"
            );
            assert!(e.offset <= p.len(), "{p}");
        }
        let e = parse("$.a[?(@.x =~ 'y')]").unwrap_err();
        assert!(e.message.contains("not supported"));
        assert_eq!(parse("$.a[").unwrap_err().offset, 4);
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let p = format!("$[?{}@{}]", "(".repeat(10_000), ")".repeat(10_000));
        assert!(parse(&p).is_err());
        let p = format!("$[?{}@.x]", "!".repeat(10_000));
        assert!(parse(&p).is_err());
        let p = format!("$[?{}@.a{}]", "(@.x[?(".repeat(5000), ")])".repeat(5000));
        assert!(parse(&p).is_err());
        // Moderate nesting still works.
        assert!(parse("$[?((((@.x))))]").is_ok());
    }

    #[test]
    fn get_and_get_mut() {
        let mut d = store();
        let loc = vec![k("store"), k("book"), Loc::Index(2), k("isbn")];
        assert_eq!(get(&d, &loc), Some(&json!("0-553")));
        assert_eq!(get(&d, &[k("nums"), Loc::Index(9)]), None);
        assert_eq!(get(&d, &[k("nums"), k("x")]), None);
        assert_eq!(get(&d, &[]), Some(&d.clone()));
        if let Some(v) = get_mut(&mut d, &loc) {
            *v = json!("new");
        }
        assert_eq!(d["store"]["book"][2]["isbn"], json!("new"));
    }

    #[test]
    fn locate_for_set_creates_last_key() {
        let d = store();
        let set_locs = |p: &str| locate_for_set(&d, &parse(p).unwrap());
        // Existing key.
        assert_eq!(
            set_locs("$.store.bicycle.color"),
            vec![vec![k("store"), k("bicycle"), k("color")]]
        );
        // New key under an existing object.
        let l = set_locs("$.store.bicycle.gears");
        assert_eq!(l, vec![vec![k("store"), k("bicycle"), k("gears")]]);
        assert!(get(&d, &l[0]).is_none());
        // New key under every selected object; non-objects skipped.
        let l = set_locs("$.store.book[*].isbn");
        assert_eq!(l.len(), 4);
        assert_eq!(l.iter().filter(|l| get(&d, l).is_none()).count(), 2);
        assert_eq!(set_locs("$.nums[*].x"), Vec::<Vec<Loc>>::new());
        // Only the last step may be new.
        assert_eq!(set_locs("$.nope.x"), Vec::<Vec<Loc>>::new());
        // Non-key last steps only match existing values.
        assert_eq!(set_locs("$.nums[10]"), Vec::<Vec<Loc>>::new());
        assert_eq!(set_locs("$.nums[1]").len(), 1);
        assert_eq!(set_locs("$..gears"), Vec::<Vec<Loc>>::new());
        assert_eq!(set_locs("$"), vec![Vec::<Loc>::new()]);
        assert_eq!(set_locs("$['new key']"), vec![vec![k("new key")]]);
        assert_eq!(set_locs("legacy_new"), vec![vec![k("legacy_new")]]);
    }

    #[test]
    fn set_writes_and_inserts() {
        let mut d = json!({"a": {"x": 1}, "b": [1, 2]});
        let path = parse("$.a.y").unwrap();
        for l in locate_for_set(&d, &path) {
            assert!(set(&mut d, &l, json!(2)));
        }
        assert_eq!(d, json!({"a": {"x": 1, "y": 2}, "b": [1, 2]}));
        let keys: Vec<&String> = d["a"].as_object().unwrap().keys().collect();
        assert_eq!(keys, ["x", "y"]);
        assert!(set(&mut d, &[k("b"), Loc::Index(1)], json!(9)));
        assert!(!set(&mut d, &[k("b"), Loc::Index(5)], json!(9)));
        assert!(!set(&mut d, &[k("zz"), k("q")], json!(9)));
        assert!(set(&mut d, &[], json!(0)));
        assert_eq!(d, json!(0));
    }

    #[test]
    fn delete_multiple_array_indexes() {
        let mut d = json!({"a": [0, 1, 2, 3, 4, 5]});
        let l = locate(&d, &parse("$.a[0,2,4]").unwrap());
        assert_eq!(delete(&mut d, l), 3);
        assert_eq!(d, json!({"a": [1, 3, 5]}));

        let mut d = json!({"a": [0, 1, 2, 3, 4, 5]});
        let l = locate(&d, &parse("$.a[?(@ > 1)]").unwrap());
        assert_eq!(delete(&mut d, l), 4);
        assert_eq!(d, json!({"a": [0, 1]}));

        // Duplicates count once.
        let mut d = json!([0, 1, 2]);
        let l = locate(&d, &parse("$[1,1,-2]").unwrap());
        assert_eq!(delete(&mut d, l), 1);
        assert_eq!(d, json!([0, 2]));
    }

    #[test]
    fn delete_nested_and_keys_keep_order() {
        let mut d: Value =
            serde_json::from_str(r#"{"z":{"a":{"a":1}},"a":2,"m":[{"a":3},{"b":4}],"q":5}"#)
                .unwrap();
        let l = locate(&d, &parse("$..a").unwrap());
        assert_eq!(l.len(), 4);
        // The inner {"a":1}'s "a" disappears with its parent: counted once.
        assert_eq!(delete(&mut d, l), 3);
        assert_eq!(
            serde_json::to_string(&d).unwrap(),
            r#"{"z":{},"m":[{},{"b":4}],"q":5}"#
        );
        // Root location and missing locations are skipped.
        assert_eq!(
            delete(
                &mut d,
                vec![vec![], vec![k("nope")], vec![k("m"), Loc::Index(7)]]
            ),
            0
        );
        // Whole array element with items below it.
        let mut d = json!({"b": [[1, 2], [3]]});
        let locs = vec![
            vec![k("b"), Loc::Index(0), Loc::Index(1)],
            vec![k("b"), Loc::Index(0)],
            vec![k("b"), Loc::Index(1), Loc::Index(0)],
        ];
        assert_eq!(delete(&mut d, locs), 2);
        assert_eq!(d, json!({"b": [[]]}));
    }

    /// Small deterministic PRNG so the fuzz loops need no dependency.
    struct XorShift(u64);
    impl XorShift {
        fn next(&mut self) -> u64 {
            let mut x = self.0;
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            self.0 = x;
            x
        }
        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }
    }

    fn exercise(doc: &Value, text: &str) {
        if let Ok(p) = parse(text) {
            let found = locate(doc, &p);
            for l in &found {
                assert!(get(doc, l).is_some(), "{text}: {l:?}");
            }
            let for_set = locate_for_set(doc, &p);
            let mut copy = doc.clone();
            for l in &for_set {
                set(&mut copy, l, json!(1));
            }
            let mut copy = doc.clone();
            let n = found.iter().filter(|l| !l.is_empty()).count();
            assert!(delete(&mut copy, found) <= n);
        }
    }

    #[test]
    fn fuzz_random_bytes_never_panic() {
        let doc = store();
        let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
        for _ in 0..5000 {
            let len = rng.below(24);
            let bytes: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
            let text = String::from_utf8_lossy(&bytes);
            exercise(&doc, &text);
            let dollar = format!("${text}");
            exercise(&doc, &dollar);
        }
    }

    #[test]
    fn fuzz_path_characters_never_panic() {
        let doc = store();
        let pieces = [
            "$",
            "@",
            ".",
            "..",
            "[",
            "]",
            "(",
            ")",
            "?",
            "*",
            ",",
            ":",
            "'",
            "\"",
            "-",
            "0",
            "1",
            "-1",
            "2:",
            "!",
            "=",
            "==",
            "!=",
            "<",
            ">=",
            "&&",
            "||",
            " ",
            "\\",
            "\\u",
            "store",
            "book",
            "price",
            "nums",
            "a",
            "é",
            "true",
            "null",
            "1.5",
            "e",
            "'x'",
            "[?(",
            ")]",
            "[0]",
            "[*]",
            ".*",
            "..*",
            "[::-1]",
            "['store']",
        ];
        let mut rng = XorShift(0x1234_5678_9ABC_DEF1);
        let mut parsed = 0;
        for _ in 0..20_000 {
            let n = 1 + rng.below(12);
            let mut text = if rng.below(4) == 0 {
                String::new()
            } else {
                "$".to_string()
            };
            for _ in 0..n {
                text.push_str(pieces[rng.below(pieces.len())]);
            }
            if parse(&text).is_ok() {
                parsed += 1;
            }
            exercise(&doc, &text);
        }
        // The generator must actually reach the evaluator sometimes.
        assert!(parsed > 100, "only {parsed} random paths parsed");
    }
}
