//! JSON documents: JSONPath and legacy-path selection (`path`) and RedisJSON-style
//! serialization (`format`), over `serde_json::Value` (objects keep insertion order).
//! The JSON command family and the SQL engine both build on these.

pub mod format;
pub mod path;
