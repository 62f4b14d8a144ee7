//! The value format of the log tree: the records of one writer batch, concatenated, each
//! preceded by its length as a 4-byte little-endian integer. The key is the batch's first
//! position, 8 bytes big-endian, so keys sort by position and a range lookup finds the batch
//! holding any position.

use crate::error::Error;
use caseledger_record::RECORD_BYTES_MAX;

/// The key of the batch starting at `position`.
pub(crate) fn key(position: u64) -> [u8; 8] {
    position.to_be_bytes()
}

/// Reads a batch key back.
pub(crate) fn position_of_key(key: &[u8]) -> Result<u64, Error> {
    let bytes: [u8; 8] = key
        .try_into()
        .map_err(|_| Error::corrupt(0, format!("log key of {} bytes, not 8", key.len())))?;
    Ok(u64::from_be_bytes(bytes))
}

/// Appends one record to a batch value.
pub(crate) fn push(value: &mut Vec<u8>, record: &[u8]) {
    let length = u32::try_from(record.len()).expect("records are far below 4 GiB");
    value.extend_from_slice(&length.to_le_bytes());
    value.extend_from_slice(record);
}

/// Splits a batch value into its records. `first` is the batch key's position, used to name
/// the position that is damaged.
pub(crate) fn split(first: u64, value: &[u8]) -> Result<Vec<&[u8]>, Error> {
    let mut records = Vec::new();
    let mut rest = value;
    while !rest.is_empty() {
        let position = first + records.len() as u64;
        if rest.len() < 4 {
            return Err(Error::corrupt(
                position,
                "truncated record length in the log",
            ));
        }
        let length = u32::from_le_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
        if length > RECORD_BYTES_MAX || length > rest.len() - 4 {
            return Err(Error::corrupt(
                position,
                format!("record length {length} runs past its batch in the log"),
            ));
        }
        records.push(&rest[4..4 + length]);
        rest = &rest[4 + length..];
    }
    if records.is_empty() {
        return Err(Error::corrupt(first, "empty batch in the log"));
    }
    Ok(records)
}
