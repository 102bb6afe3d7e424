//! Typed command failures. Handlers return these; they become Redis's exact error text
//! only at the reply boundary (`CmdError::message`).

use std::borrow::Cow;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CmdError {
    WrongType,
    NotInteger,
    NotFloat,
    Syntax,
    Overflow,
    NoSuchKey,
    IncrNanOrInf,
    /// `ERR <what> is not an integer or out of range` style messages and every other
    /// error; the text is complete (including the `ERR ` prefix).
    Msg(Cow<'static, str>),
}

pub type CmdResult = Result<(), CmdError>;

impl CmdError {
    pub fn msg(s: impl Into<Cow<'static, str>>) -> Self {
        CmdError::Msg(s.into())
    }

    /// The error text as Redis sends it (without the leading `-`).
    pub fn message(&self) -> &str {
        match self {
            CmdError::WrongType => {
                "WRONGTYPE Operation against a key holding the wrong kind of value"
            }
            CmdError::NotInteger => "ERR value is not an integer or out of range",
            CmdError::NotFloat => "ERR value is not a valid float",
            CmdError::Syntax => "ERR syntax error",
            CmdError::Overflow => "ERR increment or decrement would overflow",
            CmdError::NoSuchKey => "ERR no such key",
            CmdError::IncrNanOrInf => "ERR increment would produce NaN or Infinity",
            CmdError::Msg(m) => m,
        }
    }

    pub fn wrong_arity(name: &str) -> Self {
        CmdError::Msg(format!("ERR wrong number of arguments for '{name}' command").into())
    }
}

impl std::fmt::Display for CmdError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.message())
    }
}
