//! A strict, allocation-free reader of record bytes for full verification: it accepts exactly
//! what `caseledger_record::Record::decode` accepts (every varint in its shortest form, valid
//! UTF-8, no trailing bytes, format 1), a property test holds it to that, and it borrows the
//! fields verification needs instead of building a `Record`. The layout is `schemas/chain.md`.

use caseledger_record::{RECORD_BYTES_MAX, RECORD_FORMAT};

/// The fields verification needs, borrowed from the bytes.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct View<'a> {
    pub(crate) position: u64,
    pub(crate) prev_hash: &'a [u8; 32],
    /// The stream's name, valid UTF-8.
    pub(crate) stream: &'a [u8],
    pub(crate) stream_version: u64,
    pub(crate) event_id: &'a [u8; 16],
}

struct Cursor<'a> {
    bytes: &'a [u8],
}

impl<'a> Cursor<'a> {
    fn take(&mut self, length: usize) -> Result<&'a [u8], &'static str> {
        if self.bytes.len() < length {
            return Err("record bytes end early");
        }
        let (head, rest) = self.bytes.split_at(length);
        self.bytes = rest;
        Ok(head)
    }

    fn byte(&mut self) -> Result<u8, &'static str> {
        Ok(self.take(1)?[0])
    }

    /// An unsigned varint in its shortest form, at most `max`.
    fn varint(&mut self, max: u64) -> Result<u64, &'static str> {
        let tag = self.byte()?;
        let (value, min) = match tag {
            0..=250 => return Ok(u64::from(tag)),
            251 => (u64::from(u16::from_le_bytes(self.array()?)), 251),
            252 => (u64::from(u32::from_le_bytes(self.array()?)), 1 << 16),
            253 => (u64::from_le_bytes(self.array()?), 1 << 32),
            _ => return Err("varint tag out of range"),
        };
        if value < min {
            return Err("varint not in its shortest form");
        }
        if value > max {
            return Err("varint too large for its field");
        }
        Ok(value)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N], &'static str> {
        Ok(self.take(N)?.try_into().expect("took N bytes"))
    }

    /// A string's bytes, checked to be UTF-8. Names of streams, roles, units and act kinds are
    /// short and mostly ASCII: checking for ASCII first is a few word comparisons, where
    /// `str::from_utf8` on each of five short strings a record was 5% of a verification's CPU.
    fn string(&mut self) -> Result<&'a [u8], &'static str> {
        let length = self.varint(u64::MAX)?;
        let length = usize::try_from(length).map_err(|_| "string length too large")?;
        let bytes = self.take(length)?;
        if bytes.is_ascii() || std::str::from_utf8(bytes).is_ok() {
            Ok(bytes)
        } else {
            Err("string is not UTF-8")
        }
    }
}

/// Reads record bytes; the error says what is wrong.
pub(crate) fn view(bytes: &[u8]) -> Result<View<'_>, &'static str> {
    if bytes.len() > RECORD_BYTES_MAX {
        return Err("record larger than the limit");
    }
    let mut cursor = Cursor { bytes };
    if cursor.byte()? != RECORD_FORMAT {
        return Err("unknown record format");
    }
    let position = cursor.varint(u64::MAX)?;
    let prev_hash: &[u8; 32] = cursor.take(32)?.try_into().expect("32 bytes");
    cursor.varint(u64::MAX)?; // recorded_at_us, zigzag: every u64 is a valid i64
    let stream = cursor.string()?;
    let stream_version = cursor.varint(u64::MAX)?;
    let event_id: &[u8; 16] = cursor.take(16)?.try_into().expect("16 bytes");
    cursor.string()?; // actor.role
    cursor.string()?; // actor.unit
    cursor.string()?; // actor.user
    cursor.string()?; // kind
    cursor.varint(u64::from(u16::MAX))?; // schema_version
    let payload = cursor.varint(u64::MAX)?;
    let payload = usize::try_from(payload).map_err(|_| "payload length too large")?;
    cursor.take(payload)?;
    if !cursor.bytes.is_empty() {
        return Err("trailing bytes after the record");
    }
    Ok(View {
        position,
        prev_hash,
        stream,
        stream_version,
        event_id,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use caseledger_record::{Actor, Hash, Record};
    use proptest::prelude::*;

    fn record(
        position: u64,
        at: i64,
        stream: String,
        version: u64,
        schema: u16,
        payload: Vec<u8>,
    ) -> Record {
        Record {
            format: RECORD_FORMAT,
            position,
            prev_hash: Hash([9; 32]),
            recorded_at_us: at,
            stream,
            stream_version: version,
            event_id: [3; 16],
            actor: Actor {
                role: "r".into(),
                unit: "单位".into(),
                user: "u".into(),
            },
            kind: "k".into(),
            schema_version: schema,
            payload,
        }
    }

    proptest! {
        /// Whatever the bytes, the view accepts exactly what `Record::decode` accepts, and
        /// agrees with it on the fields.
        #[test]
        fn accepts_exactly_what_decode_accepts(
            position in prop_oneof![0u64..300, 60_000u64..70_000, any::<u64>()],
            at in any::<i64>(),
            stream in "[a-z/东]{0,12}",
            version in prop_oneof![0u64..300, any::<u64>()],
            schema in any::<u16>(),
            payload in proptest::collection::vec(any::<u8>(), 0..300),
            edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..3),
            cut in proptest::option::of(any::<prop::sample::Index>()),
        ) {
            let mut bytes = record(position, at, stream, version, schema, payload).encode();
            for (at, value) in edits {
                let index = at.index(bytes.len());
                bytes[index] = value;
            }
            if let Some(cut) = cut {
                bytes.truncate(cut.index(bytes.len() + 1));
            }
            match (Record::decode(&bytes), view(&bytes)) {
                (Ok(decoded), Ok(seen)) => {
                    prop_assert_eq!(decoded.position, seen.position);
                    prop_assert_eq!(&decoded.prev_hash.0, seen.prev_hash);
                    prop_assert_eq!(decoded.stream.as_bytes(), seen.stream);
                    prop_assert_eq!(decoded.stream_version, seen.stream_version);
                    prop_assert_eq!(&decoded.event_id, seen.event_id);
                }
                (Err(_), Err(_)) => {}
                (decoded, seen) => prop_assert!(false, "decode {:?} but view {:?}", decoded, seen),
            }
        }
    }

    #[test]
    fn non_shortest_varints_are_refused() {
        let bytes = record(1, 0, "s".into(), 1, 1, vec![]).encode();
        let mut padded = vec![bytes[0], 251, 1, 0];
        padded.extend_from_slice(&bytes[2..]);
        assert!(view(&padded).is_err());
        assert!(Record::decode(&padded).is_err());
    }
}
