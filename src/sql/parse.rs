//! Parsing: SQL text to one sqlparser `Statement` (PostgreSQL dialect), with errors in
//! the engine's wording (`syntax error: <message> at line L, column C`).
//!
//! Hostile input must never take the server down, and a stack overflow aborts the whole
//! process, so how deep the parsed tree can nest is bounded twice:
//!
//! * sqlparser's recursion limit bounds *recursive* nesting — parentheses, function
//!   arguments, CASE, subqueries;
//! * `check_nesting`, run on the tokens *before* parsing, bounds what the parser builds
//!   in loops without recursing: operator chains (`1+1+1...`, `x::int::int...`,
//!   `a OR b OR ...`) and set operations (`SELECT 1 UNION SELECT 1 UNION ...`) nest one
//!   level per operator. sqlparser's own `Drop` of a 100,000-deep chain overflows a 2 MiB
//!   stack, so such trees must never be built (not even to be dropped on an error path),
//!   and binding and evaluation recurse once per level as well.

use sqlparser::ast::Statement;
use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::keywords::Keyword;
use sqlparser::parser::{Parser, ParserError};
use sqlparser::tokenizer::{Token, TokenWithSpan, Tokenizer};

use super::error::{SqlError, SqlResult};

/// sqlparser's recursion limit: how deeply the parser may recurse (each parenthesis, CASE
/// or function call costs a level or two). sqlparser's default (50) is a little tight for
/// nested CASEs and function calls.
pub const RECURSION_LIMIT: usize = 64;

/// The most operators one expression may nest (an upper bound on the depth of the tree
/// the parser builds, see `check_nesting`). Binding, planning and evaluation recurse once
/// per level, and an unoptimised build can spend several KiB of stack per level, so this
/// keeps a 2 MiB thread stack safe. `x = 1 OR x = 2 OR ...` counts two per term, so
/// about 128 terms fit (`x IN (...)` has no limit).
pub const MAX_NESTING: usize = 256;

/// Parses exactly one statement (a trailing `;` is allowed).
pub fn parse(sql: &str) -> SqlResult<Statement> {
    let dialect = PostgreSqlDialect {};
    let tokens = Tokenizer::new(&dialect, sql)
        .tokenize_with_location()
        .map_err(|e| syntax_error(sql, ParserError::TokenizerError(e.to_string())))?;
    check_nesting(&tokens)?;
    let mut statements = Parser::new(&dialect)
        .with_recursion_limit(RECURSION_LIMIT)
        .with_tokens_with_locations(tokens)
        .parse_statements()
        .map_err(|e| syntax_error(sql, e))?;
    match statements.len() {
        0 => Err(SqlError::new("syntax error: empty statement")),
        1 => Ok(statements.pop().expect("one statement")),
        _ => Err(SqlError::new("only one statement per SQL command")),
    }
}

/// sqlparser's error as ours: its `sql parser error: ` prefix dropped and its
/// `at Line: 1, Column: 15` suffix as `at line 1, column 15`. sqlparser gives the end
/// of input no position (`found: EOF`), so the end's position is computed from `sql`.
fn syntax_error(sql: &str, e: ParserError) -> SqlError {
    let msg = match e {
        ParserError::TokenizerError(m) | ParserError::ParserError(m) => m,
        ParserError::RecursionLimitExceeded => {
            return SqlError(format!(
                "syntax error: statement nests too deeply (more than {RECURSION_LIMIT} levels)"
            ))
        }
    };
    let msg = msg.strip_prefix("sql parser error: ").unwrap_or(&msg);
    if let Some((head, line, column)) = split_location(msg) {
        return SqlError(format!(
            "syntax error: {head} at line {line}, column {column}"
        ));
    }
    if msg.ends_with("found: EOF") {
        let (line, column) = end_position(sql);
        return SqlError(format!(
            "syntax error: {msg} at line {line}, column {column}"
        ));
    }
    SqlError(format!("syntax error: {msg}"))
}

/// Splits `"<head> at Line: L, Column: C"` into its parts.
fn split_location(msg: &str) -> Option<(&str, u64, u64)> {
    const AT: &str = " at Line: ";
    let at = msg.rfind(AT)?;
    let (head, tail) = (&msg[..at], &msg[at + AT.len()..]);
    let (line, column) = tail.split_once(", Column: ")?;
    Some((head, line.parse().ok()?, column.parse().ok()?))
}

/// The line and column just past the end of `sql`, counted as sqlparser counts them
/// (from 1, in characters).
fn end_position(sql: &str) -> (usize, usize) {
    let line = sql.matches('\n').count() + 1;
    let last = sql.rsplit('\n').next().unwrap_or("");
    (line, last.chars().count() + 1)
}

/// Refuses token sequences from which the parser could build a tree nesting more than
/// `MAX_NESTING` levels, without parsing (see the module notes).
///
/// Each bracket (`(`, `[`, `{`) and each `CASE ... END` opens a frame. Within a frame,
/// separators (commas; WHEN, THEN and ELSE in a CASE) delimit independent subtrees
/// (select items, arguments, list elements, VALUES rows, CASE branches), and every
/// other token that is not an identifier or a literal counts one: an operator chain
/// nests at most one level per such token. A closed frame hangs under its enclosing
/// subtree, so its depth adds to that subtree's. Set operators chain *across* commas
/// (`SELECT a, b UNION SELECT c, d ...`), so they count apart, never reset. The bound is
/// loose (it counts keywords and brackets too), never too small.
fn check_nesting(tokens: &[TokenWithSpan]) -> SqlResult<()> {
    #[derive(Default)]
    struct Frame {
        /// A `CASE ... END` frame (else a bracket, or the statement).
        case: bool,
        /// Counted tokens of the current subtree.
        own: usize,
        /// The deepest closed frame inside the current subtree.
        child: usize,
        /// The deepest subtree of the frame so far.
        best: usize,
        /// Set operators in the frame.
        set_ops: usize,
    }
    impl Frame {
        fn depth(&self) -> usize {
            self.set_ops + self.best.max(self.own + self.child)
        }
        fn separator(&mut self) {
            self.best = self.best.max(self.own + self.child);
            self.own = 0;
            self.child = 0;
        }
    }
    /// Closes the innermost frame into its parent (the outermost frame stays).
    fn close(frames: &mut Vec<Frame>) {
        if frames.len() > 1 {
            if let Some(closed) = frames.pop() {
                if let Some(parent) = frames.last_mut() {
                    parent.child = parent.child.max(closed.depth());
                }
            }
        }
    }
    let mut frames = vec![Frame::default()];
    for t in tokens {
        let Some(top) = frames.last_mut() else {
            // Unreachable: the outermost frame is never closed.
            return Ok(());
        };
        let keyword = match &t.token {
            Token::Word(w) if w.quote_style.is_none() => w.keyword,
            _ => Keyword::NoKeyword,
        };
        match &t.token {
            Token::Whitespace(_) | Token::EOF => continue,
            Token::Comma => {
                top.separator();
                continue;
            }
            // A new statement: nothing chains across it.
            Token::SemiColon => {
                frames = vec![Frame::default()];
                continue;
            }
            Token::LParen | Token::LBracket | Token::LBrace => {
                top.own += 1;
                frames.push(Frame::default());
            }
            Token::RParen | Token::RBracket | Token::RBrace => {
                // Closes the innermost bracket, and any CASE left open inside it (a
                // syntax error the parser reports; here it only must not be lost). An
                // unmatched closer closes nothing.
                while frames.len() > 1 && frames.last().is_some_and(|f| f.case) {
                    close(&mut frames);
                }
                close(&mut frames);
            }
            _ if keyword == Keyword::CASE => {
                top.own += 1;
                frames.push(Frame {
                    case: true,
                    ..Frame::default()
                });
            }
            _ if top.case && keyword == Keyword::END => close(&mut frames),
            _ if top.case && matches!(keyword, Keyword::WHEN | Keyword::THEN | Keyword::ELSE) => {
                top.separator();
                continue;
            }
            _ if matches!(
                keyword,
                Keyword::UNION | Keyword::EXCEPT | Keyword::INTERSECT | Keyword::MINUS
            ) =>
            {
                top.set_ops += 1
            }
            Token::Word(w) if w.keyword == Keyword::NoKeyword || w.quote_style.is_some() => {}
            Token::Number(..)
            | Token::SingleQuotedString(_)
            | Token::DoubleQuotedString(_)
            | Token::TripleSingleQuotedString(_)
            | Token::TripleDoubleQuotedString(_)
            | Token::DollarQuotedString(_)
            | Token::SingleQuotedByteStringLiteral(_)
            | Token::DoubleQuotedByteStringLiteral(_)
            | Token::TripleSingleQuotedByteStringLiteral(_)
            | Token::TripleDoubleQuotedByteStringLiteral(_)
            | Token::SingleQuotedRawStringLiteral(_)
            | Token::DoubleQuotedRawStringLiteral(_)
            | Token::TripleSingleQuotedRawStringLiteral(_)
            | Token::TripleDoubleQuotedRawStringLiteral(_)
            | Token::NationalStringLiteral(_)
            | Token::EscapedStringLiteral(_)
            | Token::UnicodeStringLiteral(_)
            | Token::HexStringLiteral(_) => {}
            _ => top.own += 1,
        }
        if frames.last().is_some_and(|f| f.depth() > MAX_NESTING) {
            return Err(too_complex());
        }
    }
    Ok(())
}

fn too_complex() -> SqlError {
    SqlError(format!(
        "statement too complex: an expression nests more than {MAX_NESTING} operators"
    ))
}

/// Parses one expression (a stored DEFAULT, written by `Display` of a parsed one).
pub fn parse_expr(sql: &str) -> SqlResult<sqlparser::ast::Expr> {
    let dialect = PostgreSqlDialect {};
    let tokens = Tokenizer::new(&dialect, sql)
        .tokenize_with_location()
        .map_err(|e| syntax_error(sql, ParserError::TokenizerError(e.to_string())))?;
    check_nesting(&tokens)?;
    Parser::new(&dialect)
        .with_recursion_limit(RECURSION_LIMIT)
        .with_tokens_with_locations(tokens)
        .parse_expr()
        .map_err(|e| syntax_error(sql, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(sql: &str) -> String {
        match parse(sql) {
            Ok(s) => panic!("{sql}: parsed as {s}"),
            Err(e) => e.0,
        }
    }

    #[test]
    fn one_statement() {
        assert_eq!(parse("SELECT 1").unwrap().to_string(), "SELECT 1");
        assert_eq!(parse("select 1;").unwrap().to_string(), "SELECT 1");
        assert_eq!(parse("  SELECT 1 ;  ").unwrap().to_string(), "SELECT 1");
        assert_eq!(parse(";SELECT 1;;").unwrap().to_string(), "SELECT 1");
        assert_eq!(
            parse("SELECT a->'x', b::int FROM t WHERE c ->> 'y' = 'z'")
                .unwrap()
                .to_string(),
            "SELECT a -> 'x', b::INT FROM t WHERE c ->> 'y' = 'z'"
        );
    }

    #[test]
    fn empty_and_several() {
        for sql in ["", "   ", ";", " ; ; ", "-- just a comment", "/* c */"] {
            assert_eq!(err(sql), "syntax error: empty statement", "{sql:?}");
        }
        assert_eq!(
            err("SELECT 1; SELECT 2"),
            "only one statement per SQL command"
        );
        assert_eq!(
            err("SELECT 1;SELECT 2;"),
            "only one statement per SQL command"
        );
    }

    #[test]
    fn syntax_errors_have_positions() {
        assert_eq!(
            err("SELECT * FROM t WHERE a = = 1"),
            "syntax error: Expected: an expression, found: = at line 1, column 27"
        );
        assert_eq!(
            err("SELECT 'abc"),
            "syntax error: Unterminated string literal at line 1, column 8"
        );
        assert_eq!(
            err("SELECT 1 +"),
            "syntax error: Expected: an expression, found: EOF at line 1, column 11"
        );
        assert_eq!(
            err("SELECT a\nFROM t\nWHERE"),
            "syntax error: Expected: an expression, found: EOF at line 3, column 6"
        );
        assert_eq!(
            err("SELECT a\n  FROM t WHERE )"),
            "syntax error: Expected: an expression, found: ) at line 2, column 16"
        );
        assert_eq!(
            err("SELEC 1"),
            "syntax error: Expected: an SQL statement, found: SELEC at line 1, column 1"
        );
        // Every syntax error says where, in our words, not sqlparser's.
        for sql in [
            "SELECT (",
            "SELECT 1 2",
            "INSERT INTO",
            "SELECT 1 FROM t WHERE a IN (",
        ] {
            let e = err(sql);
            assert!(e.starts_with("syntax error: "), "{e}");
            assert!(!e.contains("sql parser error"), "{e}");
            assert!(!e.contains("Line:"), "{e}");
            assert!(e.contains(" at line "), "{e}");
        }
    }

    #[test]
    fn deep_parentheses_are_refused() {
        // Past sqlparser's recursion limit, below `MAX_NESTING`.
        let deep = format!("SELECT {}1{}", "(".repeat(100), ")".repeat(100));
        assert_eq!(
            err(&deep),
            "syntax error: statement nests too deeply (more than 64 levels)"
        );
        // Far past both: `check_nesting` answers first.
        let deep = format!("SELECT {}1{}", "(".repeat(10_000), ")".repeat(10_000));
        assert_eq!(err(&deep), too_complex().0);
        // Unbalanced, too.
        assert!(parse(&format!("SELECT {}", "(".repeat(10_000))).is_err());
        assert!(parse(&format!("SELECT 1{}", ")".repeat(10_000))).is_err());
        // Nested function calls and CASEs, sqlparser recursion both.
        assert!(parse(&format!(
            "SELECT {}a{}",
            "lower(".repeat(5_000),
            ")".repeat(5_000)
        ))
        .is_err());
        assert!(parse(&"SELECT CASE WHEN ".repeat(5_000)).is_err());
        assert!(parse(&format!("SELECT {}1", "NOT ".repeat(10_000))).is_err());
        assert!(parse(&format!("SELECT {}1", "- ".repeat(10_000))).is_err());
        // Modest nesting is fine.
        let ok = format!("SELECT {}1{}", "(".repeat(20), ")".repeat(20));
        parse(&ok).unwrap();
    }

    /// Chains the parser builds in a loop, without recursing: refused before parsing
    /// (sqlparser's own `Drop` of such a tree overflows the stack).
    #[test]
    fn long_chains_are_refused() {
        let too_complex = too_complex().0;
        for sql in [
            format!("SELECT {}1", "1+".repeat(100_000)),
            format!(
                "SELECT 1 FROM t WHERE {}",
                "a = 1 OR ".repeat(50_000) + "a = 1"
            ),
            format!("SELECT a{}", "::int".repeat(100_000)),
            format!("SELECT a{}", "->'k'".repeat(100_000)),
            format!("SELECT a{}", " IS NULL".repeat(100_000)),
            format!("SELECT CAST(a AS int{})", "[]".repeat(100_000)),
            format!("SELECT a, b{}", " UNION SELECT a, b".repeat(100_000)),
            // The chain continues after a parenthesis closes.
            format!("SELECT {}", "(1+1)+".repeat(100_000) + "1"),
            format!("SELECT f({}1)", "1+".repeat(100_000)),
            // Unbalanced input is counted as well: an error path drops the tree too.
            format!("SELECT {}1 )))", "1+".repeat(100_000)),
            format!("SELECT (CASE WHEN a THEN {}1 )", "1+".repeat(100_000)),
            // Across CASE branches, chains continue outside the CASE.
            format!(
                "SELECT {}",
                "CASE WHEN a THEN 1 END + ".repeat(100_000) + "1"
            ),
            format!("SELECT CASE WHEN a THEN {}1 END", "1+".repeat(100_000)),
            format!(
                "SELECT {}1{}",
                "CASE WHEN a THEN ".repeat(10_000),
                " END".repeat(10_000)
            ),
        ] {
            assert_eq!(err(&sql), too_complex, "{}", &sql[..40]);
        }
        // Just under the limit parses (`SELECT` counts one).
        parse(&format!("SELECT {}1", "1+".repeat(MAX_NESTING - 1))).unwrap();
        assert_eq!(
            err(&format!("SELECT {}1", "1+".repeat(MAX_NESTING))),
            too_complex
        );
    }

    /// Long statements that do not nest are not limited.
    #[test]
    fn long_flat_statements_parse() {
        let values = (0..20_000)
            .map(|i| format!("({i}, -{i}, 'x')"))
            .collect::<Vec<_>>();
        parse(&format!("INSERT INTO t VALUES {}", values.join(", "))).unwrap();
        let list = (0..50_000).map(|i| format!("-{i}")).collect::<Vec<_>>();
        parse(&format!("SELECT * FROM t WHERE a IN ({})", list.join(","))).unwrap();
        let cols = (0..5_000).map(|i| format!("a + {i}")).collect::<Vec<_>>();
        parse(&format!("SELECT {} FROM t", cols.join(", "))).unwrap();
        let whens = (0..5_000)
            .map(|i| format!("WHEN a = {i} THEN 'v{i}'"))
            .collect::<Vec<_>>();
        parse(&format!(
            "SELECT CASE {} ELSE 'x' END FROM t",
            whens.join(" ")
        ))
        .unwrap();
        let ors = (0..100).map(|i| format!("a = {i}")).collect::<Vec<_>>();
        parse(&format!("SELECT * FROM t WHERE {}", ors.join(" OR "))).unwrap();
    }

    /// Random token soup and random bytes: an error or a statement, never a panic.
    #[test]
    fn fuzz_never_panics() {
        const VOCAB: &[&str] = &[
            "SELECT",
            "INSERT",
            "INTO",
            "VALUES",
            "UPDATE",
            "SET",
            "DELETE",
            "FROM",
            "WHERE",
            "CREATE",
            "TABLE",
            "DROP",
            "GROUP",
            "BY",
            "ORDER",
            "HAVING",
            "LIMIT",
            "OFFSET",
            "JOIN",
            "LEFT",
            "ON",
            "AS",
            "UNION",
            "a",
            "t",
            "\"Q\"",
            "1",
            "1.5",
            "'s'",
            "E'\\",
            "$$",
            "$1",
            "(",
            ")",
            "[",
            "]",
            "{",
            "}",
            ",",
            ";",
            ".",
            "::",
            "+",
            "-",
            "*",
            "/",
            "%",
            "||",
            "=",
            "<>",
            "->",
            "->>",
            "#>",
            "@>",
            "AND",
            "OR",
            "NOT",
            "IS",
            "NULL",
            "LIKE",
            "BETWEEN",
            "IN",
            "CASE",
            "WHEN",
            "THEN",
            "ELSE",
            "END",
            "CAST",
            "int",
            "EXTRACT",
            "TRIM",
            "SUBSTRING",
            "POSITION",
            "OVER",
            "FILTER",
            "/*",
            "*/",
            "--",
            "'",
            "\"",
            "\n",
            "\\",
            "0x",
            "1e",
            "_",
        ];
        let mut rng = fastrand::Rng::with_seed(7);
        for i in 0..30_000 {
            let sql: String = if i % 10 == 0 {
                (0..rng.usize(0..40)).map(|_| rng.char(..)).collect()
            } else {
                (0..rng.usize(0..40))
                    .map(|_| VOCAB[rng.usize(..VOCAB.len())])
                    .collect::<Vec<_>>()
                    .join(if rng.bool() { " " } else { "" })
            };
            if let Err(e) = parse(&sql) {
                assert!(!e.0.is_empty());
            }
        }
    }
}
