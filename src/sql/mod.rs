//! SQL over JSON documents. A row of table `t` is the JSON document at key `t:<pk>`.
//!
//! * `error` — the engine's one error type.
//! * `value` — `Datum`, the SQL value; `types` — column types, coercion and casts.
//! * `expr` — bound expressions and evaluation; `functions` — scalar functions;
//!   `parse` — SQL text to one sqlparser statement; `bind` — sqlparser's AST to `Expr`.

pub mod bind;
pub mod error;
pub mod expr;
pub mod functions;
pub mod parse;
pub mod types;
pub mod value;

pub use error::{SqlError, SqlResult};
