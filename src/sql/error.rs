//! The one error type of the SQL engine. Every failure — a parse error, an unknown
//! column, a type mismatch, division by zero, a constraint violation — becomes a message
//! a user can act on; the reply boundary prefixes it with `ERR SQL `.

use std::fmt;

/// An SQL error: the message, in PostgreSQL's wording where PostgreSQL has one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SqlError(pub String);

pub type SqlResult<T> = Result<T, SqlError>;

impl SqlError {
    pub fn new(msg: impl Into<String>) -> Self {
        SqlError(msg.into())
    }
}

impl fmt::Display for SqlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SqlError {}

/// `return Err(SqlError(format!(...)))` in one line.
macro_rules! sql_bail {
    ($($arg:tt)*) => {
        return Err($crate::sql::error::SqlError(format!($($arg)*)))
    };
}
pub(crate) use sql_bail;
