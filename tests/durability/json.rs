//! Durability scenarios for the json commands: each sets up state through one write
//! command and checks its reply (see `Scenario` in tests/durability.rs).

#[allow(unused_imports)]
use super::*;

pub const SCENARIOS: &[Scenario] = &[];
