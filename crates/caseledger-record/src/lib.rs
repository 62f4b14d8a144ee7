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
    ///
    /// The fields are read by hand ([`read_fields`]), which accepts exactly what bincode
    /// accepts and reads it to the same values; wherever it stops, bincode reads the bytes
    /// again so that the error is bincode's own, word for word.
    pub fn decode_fields(bytes: &[u8]) -> Result<Record, DecodeError> {
        if bytes.len() > RECORD_BYTES_MAX {
            return Err(DecodeError::TooLarge(bytes.len()));
        }
        let (record, used) = match read_fields(bytes) {
            Some(read) => read,
            None => Record::decode_serde(bytes)?,
        };
        if used != bytes.len() {
            return Err(DecodeError::Trailing(bytes.len() - used));
        }
        if record.format != RECORD_FORMAT {
            return Err(DecodeError::Format(record.format));
        }
        Ok(record)
    }

    /// The serde (bincode) decoding that [`read_fields`] reproduces by hand: the record and
    /// the number of bytes it used.
    fn decode_serde(bytes: &[u8]) -> Result<(Record, usize), DecodeError> {
        bincode::serde::decode_from_slice(bytes, bincode_config())
            .map_err(|error| DecodeError::Malformed(error.to_string()))
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

/// What bincode's limit counts for a record besides its text and payload bytes: its decoder
/// claims the full width of an integer before reading its varint (8 bytes for a `u64`, an
/// `i64` or a length, 2 for the `u16`), one byte per byte of the two arrays, and one for the
/// format. A record within [`RECORD_BYTES_MAX`] whose claims exceed it does not decode.
const CLAIMED_BYTES_FIXED: usize = 1 + 8 + 32 + 8 + 8 + 8 + 16 + 4 * 8 + 2 + 8;

/// Reads a record's fields the way bincode's serde decoder does under `bincode_config`, in
/// field order, without serde's per-field calls. Returns the record and the number of bytes
/// it used, or `None` wherever bincode would fail: bytes missing, a varint tag bincode refuses
/// for the type (254, 255, and anything above 251 for the `u16`), text that is not UTF-8, or
/// claims beyond the limit. It accepts what bincode accepts, including varints written wider
/// than they need (only [`Record::decode`] refuses those). A proptest holds it to bincode.
fn read_fields(bytes: &[u8]) -> Option<(Record, usize)> {
    let mut reader = FieldReader { rest: bytes };
    let format = reader.byte()?;
    let position = reader.varint()?;
    let prev_hash = Hash(reader.array()?);
    let recorded_at_us = unzigzag(reader.varint()?);
    let stream = reader.text()?;
    let stream_version = reader.varint()?;
    let event_id = reader.array()?;
    let role = reader.text()?;
    let unit = reader.text()?;
    let user = reader.text()?;
    let kind = reader.text()?;
    let schema_version = reader.varint_u16()?;
    let payload = reader.bytes()?.to_vec();
    let claimed = CLAIMED_BYTES_FIXED
        + stream.len()
        + role.len()
        + unit.len()
        + user.len()
        + kind.len()
        + payload.len();
    if claimed > RECORD_BYTES_MAX {
        return None;
    }
    let record = Record {
        format,
        position,
        prev_hash,
        recorded_at_us,
        stream,
        stream_version,
        event_id,
        actor: Actor { role, unit, user },
        kind,
        schema_version,
        payload,
    };
    Some((record, bytes.len() - reader.rest.len()))
}

/// The inverse of [`zigzag`]: 0→0, 1→−1, 2→1, 3→−2 … (bincode's `varint_decode_i64`).
fn unzigzag(value: u64) -> i64 {
    ((value >> 1) as i64) ^ -((value & 1) as i64)
}

/// The unread rest of a record's bytes, for [`read_fields`].
struct FieldReader<'a> {
    rest: &'a [u8],
}

impl<'a> FieldReader<'a> {
    fn take(&mut self, count: usize) -> Option<&'a [u8]> {
        if count > self.rest.len() {
            return None;
        }
        let (taken, rest) = self.rest.split_at(count);
        self.rest = rest;
        Some(taken)
    }

    fn byte(&mut self) -> Option<u8> {
        let (&byte, rest) = self.rest.split_first()?;
        self.rest = rest;
        Some(byte)
    }

    fn array<const N: usize>(&mut self) -> Option<[u8; N]> {
        self.take(N)?.try_into().ok()
    }

    /// A `u64` (or a length) in bincode's varint: tags 251, 252 and 253 announce a u16, u32
    /// or u64; 254 (u128) and 255 are errors.
    fn varint(&mut self) -> Option<u64> {
        match self.byte()? {
            byte @ 0..=250 => Some(u64::from(byte)),
            251 => Some(u64::from(u16::from_le_bytes(self.array()?))),
            252 => Some(u64::from(u32::from_le_bytes(self.array()?))),
            253 => Some(u64::from_le_bytes(self.array()?)),
            _ => None,
        }
    }

    /// A `u16` in bincode's varint: only a byte up to 250 or tag 251 and two bytes.
    fn varint_u16(&mut self) -> Option<u16> {
        match self.byte()? {
            byte @ 0..=250 => Some(u16::from(byte)),
            251 => Some(u16::from_le_bytes(self.array()?)),
            _ => None,
        }
    }

    /// A length-prefixed byte string, borrowed.
    fn bytes(&mut self) -> Option<&'a [u8]> {
        let length = usize::try_from(self.varint()?).ok()?;
        self.take(length)
    }

    fn text(&mut self) -> Option<String> {
        std::str::from_utf8(self.bytes()?).ok().map(str::to_owned)
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

    /// What `decode_fields` returned when bincode's serde decoder read every record.
    fn decode_fields_by_serde(bytes: &[u8]) -> Result<Record, DecodeError> {
        if bytes.len() > RECORD_BYTES_MAX {
            return Err(DecodeError::TooLarge(bytes.len()));
        }
        let (record, used) = Record::decode_serde(bytes)?;
        if used != bytes.len() {
            return Err(DecodeError::Trailing(bytes.len() - used));
        }
        if record.format != RECORD_FORMAT {
            return Err(DecodeError::Format(record.format));
        }
        Ok(record)
    }

    /// The hand reader and the serde decoder agree on `bytes`: the same record and length, or
    /// both refuse; and `decode_fields` returns what it returned before, errors word for word.
    fn check_read_fields(bytes: &[u8]) -> Result<(), proptest::test_runner::TestCaseError> {
        proptest::prop_assert_eq!(read_fields(bytes), Record::decode_serde(bytes).ok());
        proptest::prop_assert_eq!(Record::decode_fields(bytes), decode_fields_by_serde(bytes));
        Ok(())
    }

    /// Any record, including formats, lengths and integers this code never writes.
    fn any_record() -> impl proptest::strategy::Strategy<Value = Record> {
        use proptest::prelude::*;
        let text = || {
            prop_oneof![
                "[a-z/0-9-]{0,40}",
                "\\PC{0,300}",
                (0usize..=300).prop_map(|length| "x".repeat(length)),
            ]
        };
        let integer = || {
            prop_oneof![
                0u64..=260,
                proptest::sample::select(vec![
                    0xFFFF,
                    0x1_0000,
                    0xFFFF_FFFF,
                    0x1_0000_0000,
                    u64::MAX
                ]),
                any::<u64>(),
            ]
        };
        (
            (prop_oneof![Just(RECORD_FORMAT), any::<u8>()], integer()),
            (any::<[u8; 32]>(), any::<i64>(), text(), integer()),
            (any::<[u8; 16]>(), text(), text(), text(), text()),
            (any::<u16>(), proptest::collection::vec(any::<u8>(), 0..600)),
        )
            .prop_map(
                |(
                    (format, position),
                    (prev_hash, recorded_at_us, stream, stream_version),
                    (event_id, role, unit, user, kind),
                    (schema_version, payload),
                )| Record {
                    format,
                    position,
                    prev_hash: Hash(prev_hash),
                    recorded_at_us,
                    stream,
                    stream_version,
                    event_id,
                    actor: Actor { role, unit, user },
                    kind,
                    schema_version,
                    payload,
                },
            )
    }

    /// A varint in the width `tag` asks for: 251, 252 or 253 forces that width when the value
    /// fits in it (bincode reads such wider forms; only `decode` refuses them); 0, or a tag the
    /// value does not fit, leaves the canonical form.
    fn put_tagged(out: &mut Vec<u8>, value: u64, tag: u8) {
        match tag {
            251 if value <= 0xFFFF => {
                out.push(251);
                out.extend_from_slice(&(value as u16).to_le_bytes());
            }
            252 if value <= 0xFFFF_FFFF => {
                out.push(252);
                out.extend_from_slice(&(value as u32).to_le_bytes());
            }
            253 => {
                out.push(253);
                out.extend_from_slice(&value.to_le_bytes());
            }
            _ => put_varint(out, value),
        }
    }

    /// The record's encoding with its ten varints in the widths `tags` ask for.
    fn encode_with_tags(record: &Record, tags: [u8; 10]) -> Vec<u8> {
        let [position, at, stream, version, role, unit, user, kind, schema, payload] = tags;
        let put_bytes = |out: &mut Vec<u8>, bytes: &[u8], tag: u8| {
            put_tagged(out, bytes.len() as u64, tag);
            out.extend_from_slice(bytes);
        };
        let mut out = vec![record.format];
        put_tagged(&mut out, record.position, position);
        out.extend_from_slice(&record.prev_hash.0);
        put_tagged(&mut out, zigzag(record.recorded_at_us), at);
        put_bytes(&mut out, record.stream.as_bytes(), stream);
        put_tagged(&mut out, record.stream_version, version);
        out.extend_from_slice(&record.event_id);
        put_bytes(&mut out, record.actor.role.as_bytes(), role);
        put_bytes(&mut out, record.actor.unit.as_bytes(), unit);
        put_bytes(&mut out, record.actor.user.as_bytes(), user);
        put_bytes(&mut out, record.kind.as_bytes(), kind);
        put_tagged(&mut out, u64::from(record.schema_version), schema);
        put_bytes(&mut out, &record.payload, payload);
        out
    }

    /// One change to encoded bytes.
    #[derive(Clone, Debug)]
    enum Mutation {
        Truncate(proptest::sample::Index),
        Set(proptest::sample::Index, u8),
        Insert(proptest::sample::Index, Vec<u8>),
        Delete(proptest::sample::Index, usize),
        Append(Vec<u8>),
    }

    fn any_mutation() -> impl proptest::strategy::Strategy<Value = Mutation> {
        use proptest::prelude::*;
        let index = any::<proptest::sample::Index>;
        let some_bytes = || {
            prop_oneof![
                proptest::collection::vec(any::<u8>(), 1..12),
                proptest::sample::select(vec![
                    vec![251u8],
                    vec![252],
                    vec![253],
                    vec![254],
                    vec![255],
                    vec![0xC3],
                    vec![0xED, 0xA0, 0x80],
                ]),
            ]
        };
        prop_oneof![
            index().prop_map(Mutation::Truncate),
            (index(), prop_oneof![any::<u8>(), 250u8..=255])
                .prop_map(|(at, byte)| Mutation::Set(at, byte)),
            (index(), some_bytes()).prop_map(|(at, bytes)| Mutation::Insert(at, bytes)),
            (index(), 1usize..10).prop_map(|(at, count)| Mutation::Delete(at, count)),
            some_bytes().prop_map(Mutation::Append),
        ]
    }

    fn mutate(bytes: &mut Vec<u8>, mutation: &Mutation) {
        let at = |index: &proptest::sample::Index, length: usize| index.index(length.max(1));
        match mutation {
            Mutation::Truncate(index) => bytes.truncate(at(index, bytes.len())),
            Mutation::Set(index, byte) => {
                if !bytes.is_empty() {
                    let at = at(index, bytes.len());
                    bytes[at] = *byte;
                }
            }
            Mutation::Insert(index, inserted) => {
                let at = at(index, bytes.len() + 1).min(bytes.len());
                bytes.splice(at..at, inserted.iter().copied());
            }
            Mutation::Delete(index, count) => {
                let at = at(index, bytes.len()).min(bytes.len());
                bytes.drain(at..(at + count).min(bytes.len()));
            }
            Mutation::Append(appended) => bytes.extend_from_slice(appended),
        }
    }

    #[test]
    fn read_fields_agrees_with_serde_at_the_edges() {
        let record = sample(1, genesis_hash("o"));
        let bytes = record.encode();
        let edges: Vec<Vec<u8>> = vec![
            Vec::new(),
            vec![RECORD_FORMAT],
            bytes.clone(),
            [&bytes[..], &[0]].concat(),
            bytes[..bytes.len() - 1].to_vec(),
            // u16 schema version in the u32 form: bincode refuses it.
            encode_with_tags(&record, [0, 0, 0, 0, 0, 0, 0, 0, 252, 0]),
            // Every varint as wide as it goes.
            encode_with_tags(&record, [253, 253, 253, 253, 253, 253, 253, 253, 251, 253]),
        ];
        for edge in &edges {
            check_read_fields(edge).unwrap();
        }
        assert!(read_fields(&edges[5]).is_none());
        assert_eq!(read_fields(&edges[6]).map(|(read, _)| read), Some(record));
    }

    #[test]
    fn read_fields_counts_the_limit_as_bincode_does() {
        // Around the payload length at which bincode's claimed bytes pass the limit: the hand
        // reader must refuse from exactly the same length on.
        let record = sample(1, genesis_hash("o"));
        let claimed_without_payload = CLAIMED_BYTES_FIXED
            + record.stream.len()
            + record.actor.role.len()
            + record.actor.unit.len()
            + record.actor.user.len()
            + record.kind.len();
        let edge = RECORD_BYTES_MAX - claimed_without_payload;
        let mut accepted = 0;
        for length in edge - 3..=edge + 3 {
            let mut record = record.clone();
            record.payload = vec![0x5A; length];
            let bytes = record.encode();
            check_read_fields(&bytes).unwrap();
            accepted += usize::from(read_fields(&bytes).is_some());
        }
        assert_eq!(
            accepted, 4,
            "lengths up to the edge decode, longer ones do not"
        );
    }

    proptest::proptest! {
        #[test]
        fn read_fields_reads_what_serde_reads(
            record in any_record(),
            tags in proptest::array::uniform10(proptest::prop_oneof![proptest::strategy::Just(0u8), 251u8..=253]),
            mutations in proptest::collection::vec(any_mutation(), 0..4),
        ) {
            let mut bytes = encode_with_tags(&record, tags);
            if tags == [0; 10] {
                proptest::prop_assert_eq!(&bytes, &record.encode_serde());
            }
            check_read_fields(&bytes)?;
            for mutation in &mutations {
                mutate(&mut bytes, mutation);
                check_read_fields(&bytes)?;
            }
        }

        #[test]
        fn read_fields_agrees_with_serde_on_any_bytes(
            bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..200),
        ) {
            check_read_fields(&bytes)?;
        }

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
