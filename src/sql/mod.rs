//! SQL over JSON documents. A row of table `t` is the JSON document at key `t:<pk>`.
//!
//! * `error` — the engine's one error type.
//! * `value` — `Datum`, the SQL value; `types` — column types, coercion and casts.
//! * `expr` — bound expressions and evaluation; `functions` — scalar functions;
//!   `bind` — sqlparser's AST to `Expr`; `numeric` — NUMERIC/float rules (scales,
//!   rounding, float text).

pub mod bind;
pub mod error;
pub mod expr;
pub mod functions;
pub mod numeric;
pub mod types;
pub mod value;

pub use error::{SqlError, SqlResult};
