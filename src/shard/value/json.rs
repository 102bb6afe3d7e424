//! The JSON document value (RedisJSON's `ReJSON-RL` type): a parsed `serde_json::Value`
//! that the JSON.* commands read and change in place through JSONPath.
//!
//! Documents are held parsed, so a path lookup never re-parses text. The byte count is
//! an estimate recomputed after each change (`refresh_size`), which costs a walk of the
//! document; JSON commands already walk it to evaluate their paths.

use bincode::de::Decoder;
use bincode::enc::Encoder;
use bincode::error::{DecodeError, EncodeError};
use bincode::{Decode, Encode};
use serde_json::Value as Doc;

/// Bytes charged per JSON node beyond its payload (the enum itself, map slots).
const NODE_OVERHEAD: usize = 32;

/// Deepest nesting of arrays and objects a stored document may have. Parsing, printing,
/// path evaluation and dropping a document all recurse once per level, so the cap is what
/// keeps a hostile document from overflowing a shard's stack. It is also the most that
/// serde_json's own parser accepts (it refuses a 128th level), so that every document
/// stored can be read back from the WAL or a snapshot.
pub const MAX_DEPTH: usize = 127;

/// Levels of arrays and objects in `doc`: 0 for a scalar, 1 for `[1]` or `{}`.
/// Recursion is bounded: every document held or parsed is at most `MAX_DEPTH` deep.
pub fn depth(doc: &Doc) -> usize {
    match doc {
        Doc::Array(a) => 1 + a.iter().map(depth).max().unwrap_or(0),
        Doc::Object(o) => 1 + o.values().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}

/// A JSON document.
#[derive(Clone, Debug, PartialEq)]
pub struct Json {
    doc: Doc,
    bytes: usize,
}

impl Json {
    pub fn new(doc: Doc) -> Self {
        let bytes = doc_size(&doc);
        Json { doc, bytes }
    }

    pub fn doc(&self) -> &Doc {
        &self.doc
    }

    /// Changes the document; the byte count is recomputed afterwards.
    pub fn change<R>(&mut self, f: impl FnOnce(&mut Doc) -> R) -> R {
        let r = f(&mut self.doc);
        self.bytes = doc_size(&self.doc);
        r
    }

    pub fn into_doc(self) -> Doc {
        self.doc
    }

    /// Approximate heap bytes held, O(1).
    pub fn heap_size(&self) -> usize {
        self.bytes
    }
}

fn doc_size(doc: &Doc) -> usize {
    NODE_OVERHEAD
        + match doc {
            Doc::Null | Doc::Bool(_) | Doc::Number(_) => 0,
            Doc::String(s) => s.len(),
            Doc::Array(a) => a.iter().map(doc_size).sum(),
            Doc::Object(o) => o.iter().map(|(k, v)| k.len() + doc_size(v)).sum(),
        }
}

// Format: a JSON document in WAL records and snapshots is its compact JSON text as
// bincode length-prefixed bytes. Decoding parses it again and refuses text that is not
// one valid JSON value.
impl Encode for Json {
    fn encode<E: Encoder>(&self, e: &mut E) -> Result<(), EncodeError> {
        let text = serde_json::to_vec(&self.doc)
            .map_err(|_| EncodeError::Other("a JSON document that cannot be written"))?;
        text.encode(e)
    }
}

impl<C> Decode<C> for Json {
    fn decode<D: Decoder<Context = C>>(d: &mut D) -> Result<Self, DecodeError> {
        let text = Vec::<u8>::decode(d)?;
        let doc: Doc = serde_json::from_slice(&text)
            .map_err(|_| DecodeError::Other("a JSON document that does not parse"))?;
        Ok(Json::new(doc))
    }
}
bincode::impl_borrow_decode!(Json);

#[cfg(test)]
mod tests {
    use super::*;

    fn nested(levels: usize) -> String {
        format!("{}{}", "[".repeat(levels), "]".repeat(levels))
    }

    #[test]
    fn depth_counts_container_levels() {
        assert_eq!(depth(&serde_json::json!(1)), 0);
        assert_eq!(depth(&serde_json::json!([])), 1);
        assert_eq!(depth(&serde_json::json!({"a": [1, {"b": {}}], "c": 2})), 4);
    }

    #[test]
    fn the_deepest_document_allowed_survives_a_round_trip() {
        let doc: Doc = serde_json::from_str(&nested(MAX_DEPTH)).unwrap();
        assert_eq!(depth(&doc), MAX_DEPTH);
        let j = Json::new(doc);
        let bytes = bincode::encode_to_vec(&j, bincode::config::standard()).unwrap();
        let (back, _): (Json, usize) =
            bincode::decode_from_slice(&bytes, bincode::config::standard()).unwrap();
        assert_eq!(back, j);
        // One level more is refused by the parser the decoder uses.
        assert!(serde_json::from_str::<Doc>(&nested(MAX_DEPTH + 1)).is_err());
    }

    #[test]
    fn size_follows_changes() {
        let mut j = Json::new(serde_json::json!({"a": [1, 2, 3]}));
        let before = j.heap_size();
        j.change(|d| d["b"] = Doc::String("x".repeat(100)));
        assert!(j.heap_size() >= before + 100);
        j.change(|d| d.as_object_mut().unwrap().remove("b"));
        assert_eq!(j.heap_size(), before);
    }
}
