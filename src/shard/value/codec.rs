//! bincode encoding of the container types, for WAL records and snapshots.
//!
//! Format: each container is `count: u64` followed by its elements (a list front to back,
//! a hash as field/value pairs, a set's members), each byte string as bincode's
//! length-prefixed bytes. Decoding rebuilds the container element by element, so a
//! corrupt count cannot make it reserve memory it was never given, and it refuses the
//! duplicates a real hash or set cannot hold.

use bincode::de::Decoder;
use bincode::enc::Encoder;
use bincode::error::{DecodeError, EncodeError};
use bincode::{Decode, Encode};

use super::{Hash, List, Set};

fn encode_count<E: Encoder>(n: usize, e: &mut E) -> Result<(), EncodeError> {
    (n as u64).encode(e)
}

impl Encode for List {
    fn encode<E: Encoder>(&self, e: &mut E) -> Result<(), EncodeError> {
        encode_count(self.len(), e)?;
        for item in self.iter() {
            item.encode(e)?;
        }
        Ok(())
    }
}

impl<C> Decode<C> for List {
    fn decode<D: Decoder<Context = C>>(d: &mut D) -> Result<Self, DecodeError> {
        let n = u64::decode(d)?;
        let mut list = List::new();
        for _ in 0..n {
            list.push_back(Vec::<u8>::decode(d)?);
        }
        Ok(list)
    }
}
bincode::impl_borrow_decode!(List);

impl Encode for Hash {
    fn encode<E: Encoder>(&self, e: &mut E) -> Result<(), EncodeError> {
        encode_count(self.len(), e)?;
        for (field, value) in self.iter() {
            field.encode(e)?;
            value.encode(e)?;
        }
        Ok(())
    }
}

impl<C> Decode<C> for Hash {
    fn decode<D: Decoder<Context = C>>(d: &mut D) -> Result<Self, DecodeError> {
        let n = u64::decode(d)?;
        let mut hash = Hash::new();
        for _ in 0..n {
            let field = Vec::<u8>::decode(d)?;
            let value = Vec::<u8>::decode(d)?;
            if !hash.insert(&field, value) {
                return Err(DecodeError::Other("a hash holds the same field twice"));
            }
        }
        Ok(hash)
    }
}
bincode::impl_borrow_decode!(Hash);

impl Encode for Set {
    fn encode<E: Encoder>(&self, e: &mut E) -> Result<(), EncodeError> {
        encode_count(self.len(), e)?;
        for member in self.iter() {
            member.encode(e)?;
        }
        Ok(())
    }
}

impl<C> Decode<C> for Set {
    fn decode<D: Decoder<Context = C>>(d: &mut D) -> Result<Self, DecodeError> {
        let n = u64::decode(d)?;
        let mut set = Set::new();
        for _ in 0..n {
            if !set.insert(&Vec::<u8>::decode(d)?) {
                return Err(DecodeError::Other("a set holds the same member twice"));
            }
        }
        Ok(set)
    }
}
bincode::impl_borrow_decode!(Set);

#[cfg(test)]
mod tests {
    use super::super::Value;
    use crate::storage::format::BINCODE;

    fn round_trip(v: Value) {
        let bytes = bincode::encode_to_vec(&v, BINCODE).unwrap();
        let (back, used): (Value, usize) = bincode::decode_from_slice(&bytes, BINCODE).unwrap();
        assert_eq!((back, used), (v, bytes.len()));
    }

    #[test]
    fn containers_round_trip() {
        let list = super::List::from_items([b"a".to_vec(), vec![], vec![0xff; 300]]);
        round_trip(Value::List(Box::new(list)));
        let mut hash = super::Hash::new();
        hash.insert(b"f", b"v".to_vec());
        hash.insert(b"", vec![1, 2, 3]);
        round_trip(Value::Hash(Box::new(hash)));
        let mut set = super::Set::new();
        for m in ["1", "x", ""] {
            set.insert(m.as_bytes());
        }
        round_trip(Value::Set(Box::new(set)));
        round_trip(Value::Set(Box::new(super::Set::new())));
        let mut zset = super::super::ZSet::new();
        zset.insert(b"m", 2.5);
        zset.insert(b"n", f64::INFINITY);
        round_trip(Value::ZSet(Box::new(zset)));
        let doc = serde_json::json!({"b": [1, 2.5, null], "a": {"x": "y"}, "t": true});
        round_trip(Value::Json(Box::new(super::super::Json::new(doc))));
    }

    #[test]
    fn duplicates_are_refused() {
        // A set of two members, both "a": tag 3, count 2, then two one-byte members.
        let bytes = [3u8, 2, 1, b'a', 1, b'a'];
        let r: Result<(Value, usize), _> = bincode::decode_from_slice(&bytes, BINCODE);
        assert!(r.is_err());
    }
}
