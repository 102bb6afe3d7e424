//! Small building blocks with Redis's exact semantics: glob patterns and numbers.

pub mod glob;
pub mod numbers;
