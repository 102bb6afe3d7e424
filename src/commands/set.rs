//! The set family.

use super::CommandSpec;

pub fn commands() -> Vec<CommandSpec> {
    vec![]
}
