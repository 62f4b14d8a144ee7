//! The ledger record: what one act looks like once it is written, how it is encoded, and how
//! the records are chained.
//!
//! This crate is pure: no storage, no I/O, no async. The storage crate writes what
//! [`Record::encode`] returns, and every hash is taken over exactly those stored bytes, so a
//! verifier never has to re-encode anything. The court's offline verifier depends on this
//! crate alone. The byte layout is specified in `schemas/chain.md` and frozen by the vectors
//! in `schemas/vectors/chain.json`.
//!
//! ```
//! use caseledger_record::{genesis_hash, record_hash, Actor, Record, ChainWalker};
//!
//! let genesis = genesis_hash("caseledger.example/anhua");
//! let record = Record {
//!     format: caseledger_record::RECORD_FORMAT,
//!     position: 1,
//!     prev_hash: genesis,
//!     recorded_at_us: 1_764_000_000_000_000,
//!     stream: "case/0001".into(),
//!     stream_version: 1,
//!     event_id: [7; 16],
//!     actor: Actor { role: "intake".into(), unit: "12345".into(), user: "operator-1".into() },
//!     kind: "ComplaintFiled".into(),
//!     schema_version: 1,
//!     payload: b"{}".to_vec(),
//! };
//! let bytes = record.encode();
//! let mut walker = ChainWalker::new(genesis);
//! let (decoded, hash) = walker.push(&bytes).unwrap();
//! assert_eq!(decoded, record);
//! assert_eq!(hash, record_hash(&bytes));
//! ```
#![deny(missing_docs)]

use std::fmt;

use serde::{Deserialize, Serialize};

/// The record layout this code writes. A record with another value does not decode.
pub const RECORD_FORMAT: u8 = 1;

/// blake3 derive-key context of the chain hash of one record.
pub const CHAIN_CONTEXT: &str = "caseledger 2026-11-26 record chain v1";

/// blake3 derive-key context of the genesis hash, taken over the ledger's origin name.
pub const GENESIS_CONTEXT: &str = "caseledger 2026-11-26 genesis v1";

/// The largest encoded record accepted, in bytes. An API body is at most 64 KiB; sealing and
/// the header add little, so anything larger than this is corruption, not data.
pub const RECORD_BYTES_MAX: usize = 256 * 1024;

/// The length of every text field of a record (stream, kind, actor fields), in bytes.
pub const FIELD_BYTES_MAX: usize = 256;

/// A 32-byte hash, shown as lowercase hex.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Hash(pub [u8; 32]);

impl Hash {
    /// The hash as lowercase hex.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Parses 64 hex digits.
    pub fn from_hex(text: &str) -> Option<Hash> {
        let mut out = [0u8; 32];
        hex::decode_to_slice(text, &mut out).ok()?;
        Some(Hash(out))
    }
}

impl fmt::Debug for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hash({})", self.to_hex())
    }
}

impl fmt::Display for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

/// Who did an act: a role, the unit the person acts for, and the user within that unit.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Actor {
    /// The role, such as `dispatcher` or `handler` (the service defines the list).
    pub role: String,
    /// The unit id from the registry, such as `housing` or `township/dongping`.
    pub unit: String,
    /// The user within the unit. Never a complainant's personal data.
    pub user: String,
}

/// One record of the log, as stored. Field order is the encoding order; do not reorder.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    /// Layout version, always [`RECORD_FORMAT`] for records this code writes.
    pub format: u8,
    /// 1-based, gapless position in the global log.
    pub position: u64,
    /// Chain hash of the record at `position - 1`, or the genesis hash for position 1.
    pub prev_hash: Hash,
    /// When the writer recorded it: microseconds since the Unix epoch, UTC.
    pub recorded_at_us: i64,
    /// The stream it belongs to, such as `case/<uuid>` or `firm/<uscc>`.
    pub stream: String,
    /// 1-based version within its stream.
    pub stream_version: u64,
    /// The event id (a UUID's 16 bytes). Retries with the same id return the first result.
    pub event_id: [u8; 16],
    /// Who did it.
    pub actor: Actor,
    /// The act kind, such as `CaseDispatched`.
    pub kind: String,
    /// Schema version of the payload of this kind.
    pub schema_version: u16,
    /// The act, encoded by the domain crate.
    #[serde(with = "bytes_field")]
    pub payload: Vec<u8>,
}

/// Why some bytes are not a record.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// bincode could not read the bytes.
    #[error("record bytes do not decode: {0}")]
    Malformed(String),
    /// The bytes decode, but not all of them were used.
    #[error("record has {0} trailing bytes")]
    Trailing(usize),
    /// The bytes decode, but are not the canonical encoding of what they decode to.
    #[error("record bytes are not in canonical encoding")]
    NotCanonical,
    /// Unknown layout version.
    #[error("record format {0} is not supported (expected {RECORD_FORMAT})")]
    Format(u8),
    /// Too large to be a record.
    #[error("record of {0} bytes exceeds the limit of {RECORD_BYTES_MAX}")]
    TooLarge(usize),
}

/// zigzag: 0→0, −1→1, 1→2, −2→3 …
fn zigzag(value: i64) -> u64 {
    ((value << 1) ^ (value >> 63)) as u64
}

fn varint_len(value: u64) -> usize {
    match value {
        0..=250 => 1,
        251..=0xFFFF => 3,
        0x1_0000..=0xFFFF_FFFF => 5,
        _ => 9,
    }
}

/// bincode's varint: the value itself up to 250, else a tag (251, 252, 253) and the value as
/// u16, u32 or u64 little-endian.
fn put_varint(out: &mut Vec<u8>, value: u64) {
    match value {
        0..=250 => out.push(value as u8),
        251..=0xFFFF => {
            out.push(251);
            out.extend_from_slice(&(value as u16).to_le_bytes());
        }
        0x1_0000..=0xFFFF_FFFF => {
            out.push(252);
            out.extend_from_slice(&(value as u32).to_le_bytes());
        }
        _ => {
            out.push(253);
            out.extend_from_slice(&value.to_le_bytes());
        }
    }
}

fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    put_varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

fn bincode_config() -> impl bincode::config::Config {
    bincode::config::standard()
        .with_little_endian()
        .with_variable_int_encoding()
        .with_limit::<RECORD_BYTES_MAX>()
}

impl Record {
    /// Encodes the record: bincode 2, standard configuration (little-endian, varint).
    pub fn encode(&self) -> Vec<u8> {
        let mut bytes = Vec::with_capacity(self.encoded_len());
        self.encode_into(&mut bytes);
        bytes
    }

    /// The length of [`Record::encode`]'s output, without encoding.
    pub fn encoded_len(&self) -> usize {
        let string = |text: &str| varint_len(text.len() as u64) + text.len();
        1 + varint_len(self.position)
            + 32
            + varint_len(zigzag(self.recorded_at_us))
            + string(&self.stream)
            + varint_len(self.stream_version)
            + 16
            + string(&self.actor.role)
            + string(&self.actor.unit)
            + string(&self.actor.user)
            + string(&self.kind)
            + varint_len(u64::from(self.schema_version))
            + varint_len(self.payload.len() as u64)
            + self.payload.len()
    }

    /// Appends exactly the bytes of [`Record::encode`] to `out` (the writer encodes a batch
    /// into one buffer). Written out by hand after `schemas/chain.md`: the serde path
    /// allocates and grows a vector per record; a test holds both to the same bytes.
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        let start = out.len();
        out.reserve(self.encoded_len());
        out.push(self.format);
        put_varint(out, self.position);
        out.extend_from_slice(&self.prev_hash.0);
        put_varint(out, zigzag(self.recorded_at_us));
        put_bytes(out, self.stream.as_bytes());
        put_varint(out, self.stream_version);
        out.extend_from_slice(&self.event_id);
        put_bytes(out, self.actor.role.as_bytes());
        put_bytes(out, self.actor.unit.as_bytes());
        put_bytes(out, self.actor.user.as_bytes());
        put_bytes(out, self.kind.as_bytes());
        put_varint(out, u64::from(self.schema_version));
        put_bytes(out, &self.payload);
        assert!(
            out.len() - start <= RECORD_BYTES_MAX,
            "record exceeds RECORD_BYTES_MAX"
        );
    }

    /// The serde (bincode) encoding, which [`Record::encode_into`] reproduces by hand.
    #[cfg(test)]
    fn encode_serde(&self) -> Vec<u8> {
        bincode::serde::encode_to_vec(self, bincode_config())
            .expect("a record within the limits always encodes")
    }

    /// Decodes stored bytes, rejecting trailing bytes and any non-canonical encoding, so that
    /// one record has exactly one byte form and therefore one hash.
    pub fn decode(bytes: &[u8]) -> Result<Record, DecodeError> {
        let record = Record::decode_fields(bytes)?;
        if record.encode() != bytes {
            return Err(DecodeError::NotCanonical);
        }
        Ok(record)
    }

    /// Decodes stored bytes like [`Record::decode`], except that it does not re-encode the
    /// record to check that the bytes are its one canonical form. For readers that only use
    /// the fields of records the log checked when it stored them (the projections' folds,
    /// where the re-encoding was a fifth of reading); verification, proofs and evidence use
    /// [`Record::decode`].
    pub fn decode_fields(bytes: &[u8]) -> Result<Record, DecodeError> {
        if bytes.len() > RECORD_BYTES_MAX {
            return Err(DecodeError::TooLarge(bytes.len()));
        }
        let (record, used): (Record, usize) =
            bincode::serde::decode_from_slice(bytes, bincode_config())
                .map_err(|error| DecodeError::Malformed(error.to_string()))?;
        if used != bytes.len() {
            return Err(DecodeError::Trailing(bytes.len() - used));
        }
        if record.format != RECORD_FORMAT {
            return Err(DecodeError::Format(record.format));
        }
        Ok(record)
    }

    /// The event id as a UUID.
    pub fn event_uuid(&self) -> uuid::Uuid {
        uuid::Uuid::from_bytes(self.event_id)
    }

    /// The recorded-at time as a UTC timestamp.
    pub fn recorded_at(&self) -> chrono::DateTime<chrono::Utc> {
        chrono::DateTime::from_timestamp_micros(self.recorded_at_us).unwrap_or_default()
    }
}

/// The chain hash of one record: blake3 in derive-key mode with [`CHAIN_CONTEXT`], over the
/// exact stored bytes (which contain the previous record's hash).
pub fn record_hash(bytes: &[u8]) -> Hash {
    thread_local! {
        // Deriving the context key costs a compression per call; a reset hasher keeps it.
        static HASHER: std::cell::RefCell<blake3::Hasher> =
            std::cell::RefCell::new(blake3::Hasher::new_derive_key(CHAIN_CONTEXT));
    }
    HASHER.with_borrow_mut(|hasher| {
        hasher.reset();
        hasher.update(bytes);
        Hash(*hasher.finalize().as_bytes())
    })
}

/// The hash record 1 chains to: blake3 derive-key with [`GENESIS_CONTEXT`] over the origin
/// name's UTF-8 bytes.
pub fn genesis_hash(origin: &str) -> Hash {
    Hash(blake3::derive_key(GENESIS_CONTEXT, origin.as_bytes()))
}

/// What is wrong with a record met while walking the chain.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainError {
    /// The bytes are not a record.
    #[error("position {position}: {error}")]
    Decode {
        /// The position the record was expected at.
        position: u64,
        /// Why it does not decode.
        error: DecodeError,
    },
    /// The record names another position than the one it is stored at.
    #[error("position {expected}: record says it is position {found}")]
    Position {
        /// Where it should be.
        expected: u64,
        /// What it says.
        found: u64,
    },
    /// The record's previous-hash is not the hash of the record before it.
    #[error("position {position}: previous hash {found} does not match {expected}")]
    Link {
        /// The broken record's position.
        position: u64,
        /// The hash of the record before.
        expected: Hash,
        /// What the record holds.
        found: Hash,
    },
}

impl ChainError {
    /// The position at which the chain broke.
    pub fn position(&self) -> u64 {
        match self {
            ChainError::Decode { position, .. } => *position,
            ChainError::Position { expected, .. } => *expected,
            ChainError::Link { position, .. } => *position,
        }
    }
}

/// Walks a chain from its start, one record at a time, checking positions and links.
#[derive(Debug, Clone)]
pub struct ChainWalker {
    next_position: u64,
    prev_hash: Hash,
}

impl ChainWalker {
    /// Starts before record 1, with the ledger's genesis hash.
    pub fn new(genesis: Hash) -> ChainWalker {
        ChainWalker {
            next_position: 1,
            prev_hash: genesis,
        }
    }

    /// Starts after a record already trusted: the next record must be `position + 1` and
    /// chain to `hash`.
    pub fn resume(position: u64, hash: Hash) -> ChainWalker {
        ChainWalker {
            next_position: position + 1,
            prev_hash: hash,
        }
    }

    /// The position the next record must have.
    pub fn next_position(&self) -> u64 {
        self.next_position
    }

    /// The hash of the last record accepted (the genesis hash before any).
    pub fn prev_hash(&self) -> Hash {
        self.prev_hash
    }

    /// Checks the next record's bytes and returns it decoded with its hash.
    pub fn push(&mut self, bytes: &[u8]) -> Result<(Record, Hash), ChainError> {
        let position = self.next_position;
        let record =
            Record::decode(bytes).map_err(|error| ChainError::Decode { position, error })?;
        if record.position != position {
            return Err(ChainError::Position {
                expected: position,
                found: record.position,
            });
        }
        if record.prev_hash != self.prev_hash {
            return Err(ChainError::Link {
                position,
                expected: self.prev_hash,
                found: record.prev_hash,
            });
        }
        let hash = record_hash(bytes);
        self.next_position += 1;
        self.prev_hash = hash;
        Ok((record, hash))
    }
}

/// Payload bytes go through `serialize_bytes`, so bincode writes a length and the raw bytes
/// instead of one element at a time.
mod bytes_field {
    use serde::{de, Deserializer, Serializer};
    use std::fmt;

    pub fn serialize<S: Serializer>(bytes: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_bytes(bytes)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<u8>, D::Error> {
        struct BytesVisitor;
        impl<'de> de::Visitor<'de> for BytesVisitor {
            type Value = Vec<u8>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a byte string")
            }
            fn visit_bytes<E: de::Error>(self, v: &[u8]) -> Result<Vec<u8>, E> {
                Ok(v.to_vec())
            }
            fn visit_byte_buf<E: de::Error>(self, v: Vec<u8>) -> Result<Vec<u8>, E> {
                Ok(v)
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<u8>, A::Error> {
                let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
                while let Some(byte) = seq.next_element::<u8>()? {
                    out.push(byte);
                }
                Ok(out)
            }
        }
        deserializer.deserialize_byte_buf(BytesVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(position: u64, prev_hash: Hash) -> Record {
        Record {
            format: RECORD_FORMAT,
            position,
            prev_hash,
            recorded_at_us: 1_764_000_000_000_000i64.wrapping_add(position as i64),
            stream: format!("case/{position:04}"),
            stream_version: 1,
            event_id: [position as u8; 16],
            actor: Actor {
                role: "intake".into(),
                unit: "hotline-12345".into(),
                user: "operator-1".into(),
            },
            kind: "ComplaintFiled".into(),
            schema_version: 1,
            payload: vec![0xAB; 300],
        }
    }

    #[test]
    fn record_hash_is_derive_key_mode_over_the_bytes_every_time() {
        let expected = |bytes: &[u8]| {
            let mut hasher = blake3::Hasher::new_derive_key(CHAIN_CONTEXT);
            hasher.update(bytes);
            Hash(*hasher.finalize().as_bytes())
        };
        // Repeated and interleaved calls on one thread: the kept hasher must start afresh.
        for bytes in [&b"first"[..], &[0xAB; 2000][..], b"", b"first"] {
            assert_eq!(record_hash(bytes), expected(bytes));
        }
        assert_ne!(record_hash(b"a"), record_hash(b"b"));
    }

    #[test]
    fn payload_is_written_as_raw_bytes() {
        let record = sample(1, genesis_hash("o"));
        let bytes = record.encode();
        // 300 bytes of 0xAB appear in one run, preceded by the varint length 251 0x2C 0x01.
        let run = [vec![251u8, 0x2C, 0x01], vec![0xAB; 300]].concat();
        assert!(bytes.ends_with(&run));
    }

    #[test]
    fn trailing_and_truncated_bytes_are_rejected() {
        let bytes = sample(1, genesis_hash("o")).encode();
        let mut longer = bytes.clone();
        longer.push(0);
        assert_eq!(Record::decode(&longer), Err(DecodeError::Trailing(1)));
        assert!(matches!(
            Record::decode(&bytes[..bytes.len() - 1]),
            Err(DecodeError::Malformed(_))
        ));
    }

    #[test]
    fn non_canonical_varint_is_rejected() {
        // Position 1 written as 251 + u16 instead of the single byte 1.
        let bytes = sample(1, genesis_hash("o")).encode();
        assert_eq!(bytes[1], 1);
        let mut padded = vec![bytes[0], 251, 1, 0];
        padded.extend_from_slice(&bytes[2..]);
        assert!(matches!(
            Record::decode(&padded),
            Err(DecodeError::NotCanonical) | Err(DecodeError::Malformed(_))
        ));
    }

    #[test]
    fn decode_fields_rejects_what_decode_rejects_except_a_non_canonical_form() {
        let record = sample(1, genesis_hash("o"));
        let bytes = record.encode();
        assert_eq!(Record::decode_fields(&bytes), Ok(record));
        let mut longer = bytes.clone();
        longer.push(0);
        assert_eq!(
            Record::decode_fields(&longer),
            Err(DecodeError::Trailing(1))
        );
        assert!(matches!(
            Record::decode_fields(&bytes[..bytes.len() - 1]),
            Err(DecodeError::Malformed(_))
        ));
        // Position 1 written as 251 + u16: bincode reads it, only the form is wrong, and
        // only `decode` refuses it.
        let mut padded = vec![bytes[0], 251, 1, 0];
        padded.extend_from_slice(&bytes[2..]);
        assert_eq!(
            Record::decode_fields(&padded).map(|fields| fields.position),
            Ok(1)
        );
        assert_eq!(Record::decode(&padded), Err(DecodeError::NotCanonical));
    }

    #[test]
    fn walker_names_the_broken_link() {
        let genesis = genesis_hash("o");
        let first = sample(1, genesis).encode();
        let second = sample(2, Hash([9; 32])).encode();
        let mut walker = ChainWalker::new(genesis);
        walker.push(&first).unwrap();
        let error = walker.push(&second).unwrap_err();
        assert_eq!(error.position(), 2);
        assert!(matches!(error, ChainError::Link { .. }));
    }

    #[test]
    fn walker_names_a_gap() {
        let genesis = genesis_hash("o");
        let third = sample(3, genesis).encode();
        let error = ChainWalker::new(genesis).push(&third).unwrap_err();
        assert_eq!(
            error,
            ChainError::Position {
                expected: 1,
                found: 3
            }
        );
    }

    proptest::proptest! {
        #[test]
        fn encode_decode_round_trips(
            position in 1u64..u64::MAX,
            at in proptest::num::i64::ANY,
            stream in "[a-z]{1,8}/[0-9a-f]{1,36}",
            version in 1u64..u64::MAX,
            payload in proptest::collection::vec(proptest::num::u8::ANY, 0..2048),
        ) {
            let mut record = sample(position, Hash([3; 32]));
            record.recorded_at_us = at;
            record.stream = stream;
            record.stream_version = version;
            record.payload = payload;
            let bytes = record.encode();
            proptest::prop_assert_eq!(&bytes, &record.encode_serde());
            proptest::prop_assert_eq!(bytes.len(), record.encoded_len());
            proptest::prop_assert_eq!(Record::decode(&bytes).unwrap(), record);
        }

        #[test]
        fn hand_encoding_is_the_serde_encoding(
            position in proptest::num::u64::ANY,
            at in proptest::num::i64::ANY,
            stream in "\\PC{0,300}",
            version in proptest::num::u64::ANY,
            role in "\\PC{0,20}",
            schema in proptest::num::u16::ANY,
            length in proptest::sample::select(vec![0usize, 1, 250, 251, 252, 65_535, 65_536, 70_000]),
        ) {
            let mut record = sample(position, Hash([5; 32]));
            record.recorded_at_us = at;
            record.stream = stream;
            record.stream_version = version;
            record.actor.role = role;
            record.schema_version = schema;
            record.payload = vec![0x5A; length];
            let mut out = vec![1, 2, 3];
            record.encode_into(&mut out);
            proptest::prop_assert_eq!(&out[..3], &[1u8, 2, 3][..]);
            proptest::prop_assert_eq!(&out[3..], &record.encode_serde()[..]);
            proptest::prop_assert_eq!(record.encoded_len(), out.len() - 3);
        }
    }
}
