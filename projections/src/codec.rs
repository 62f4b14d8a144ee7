//! Value and key encoding shared by every projection.
//!
//! Values are bincode 2 (standard configuration) over serde, like the records: one value has
//! one byte form, which is what makes "rebuilt equals incremental, byte for byte" testable.
//! Keys are built by hand so that they sort the way the queries read them: numbers
//! big-endian, text length-prefixed (so no key is a prefix of another by accident), and
//! "newest first" as `u64::MAX - position`.

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::Error;

/// The largest stored projection value accepted when reading, in bytes. Values are small
/// (a case's status is a few KiB at most); anything larger is corruption.
pub const VALUE_BYTES_MAX: usize = 4 * 1024 * 1024;

fn config() -> impl bincode::config::Config {
    bincode::config::standard()
        .with_little_endian()
        .with_variable_int_encoding()
        .with_limit::<VALUE_BYTES_MAX>()
}

/// Encodes a stored value.
///
/// bincode's `encode_to_vec` grows its vector from empty by doubling: a case status of a
/// kilobyte took eight allocations and copies. The value is encoded into a buffer kept by
/// the thread instead, and copied out once at its size.
pub fn encode<V: Serialize>(value: &V) -> Vec<u8> {
    thread_local! {
        static SCRATCH: std::cell::RefCell<Vec<u8>> =
            std::cell::RefCell::new(Vec::with_capacity(4096));
    }
    SCRATCH.with_borrow_mut(|scratch| {
        scratch.clear();
        bincode::serde::encode_into_writer(value, ScratchWriter(scratch), config())
            .expect("projection values always encode");
        scratch.as_slice().to_vec()
    })
}

/// Appends what bincode writes to a vector.
struct ScratchWriter<'a>(&'a mut Vec<u8>);

impl bincode::enc::write::Writer for ScratchWriter<'_> {
    fn write(&mut self, bytes: &[u8]) -> Result<(), bincode::error::EncodeError> {
        self.0.extend_from_slice(bytes);
        Ok(())
    }
}

/// Decodes a stored value; `key` names it in the error.
pub fn decode<V: DeserializeOwned>(key: &[u8], bytes: &[u8]) -> Result<V, Error> {
    let (value, used) =
        bincode::serde::decode_from_slice(bytes, config()).map_err(|error| Error::Corrupt {
            key: show_key(key),
            message: error.to_string(),
        })?;
    if used != bytes.len() {
        return Err(Error::Corrupt {
            key: show_key(key),
            message: format!("{} trailing bytes", bytes.len() - used),
        });
    }
    Ok(value)
}

/// A key shown for humans: printable ASCII as is, other bytes as `\xNN`.
pub fn show_key(key: &[u8]) -> String {
    let mut out = String::with_capacity(key.len());
    for &byte in key {
        if (0x20..0x7F).contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("\\x{byte:02x}"));
        }
    }
    out
}

/// Builds a key from parts.
#[derive(Debug, Default, Clone)]
pub struct Key(Vec<u8>);

impl Key {
    /// Starts a key with a fixed tag such as `b"c/"`.
    pub fn tag(tag: &[u8]) -> Key {
        let mut bytes = Vec::with_capacity(64);
        bytes.extend_from_slice(tag);
        Key(bytes)
    }

    /// Starts a key with `tag` in `bytes`, whose old content is dropped but whose capacity
    /// is kept: for a fold that builds many keys in a row.
    pub fn reuse(mut bytes: Vec<u8>, tag: &[u8]) -> Key {
        bytes.clear();
        bytes.extend_from_slice(tag);
        Key(bytes)
    }

    /// Appends text, prefixed by its length (u16 big-endian) so that keys stay prefix-free.
    pub fn text(mut self, text: &str) -> Key {
        let length = u16::try_from(text.len()).unwrap_or(u16::MAX);
        self.0.extend_from_slice(&length.to_be_bytes());
        self.0
            .extend_from_slice(&text.as_bytes()[..usize::from(length)]);
        self
    }

    /// Appends a number, big-endian so that keys sort by it.
    pub fn u64(mut self, number: u64) -> Key {
        self.0.extend_from_slice(&number.to_be_bytes());
        self
    }

    /// Appends a signed time (microseconds) so that keys sort by it: the sign bit flipped.
    pub fn time(self, micros: i64) -> Key {
        self.u64((micros as u64) ^ (1 << 63))
    }

    /// Appends a number so that keys sort newest (largest) first.
    pub fn newest_first(self, number: u64) -> Key {
        self.u64(u64::MAX - number)
    }

    /// Appends raw bytes (the last part of a key only).
    pub fn raw(mut self, bytes: &[u8]) -> Key {
        self.0.extend_from_slice(bytes);
        self
    }

    /// The bytes.
    pub fn into_bytes(self) -> Vec<u8> {
        self.0
    }

    /// The bytes, borrowed.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

/// Reads back the parts of a key written by [`Key`].
#[derive(Debug, Clone)]
pub struct KeyReader<'a> {
    rest: &'a [u8],
    key: &'a [u8],
}

impl<'a> KeyReader<'a> {
    /// Reads `key`, skipping its first `skip` bytes (the tag and fixed parts).
    pub fn new(key: &'a [u8], skip: usize) -> KeyReader<'a> {
        KeyReader {
            rest: key.get(skip..).unwrap_or(&[]),
            key,
        }
    }

    fn corrupt(&self, what: &str) -> Error {
        Error::Corrupt {
            key: show_key(self.key),
            message: format!("key ends before its {what}"),
        }
    }

    /// Reads a length-prefixed text.
    pub fn text(&mut self) -> Result<&'a str, Error> {
        if self.rest.len() < 2 {
            return Err(self.corrupt("text length"));
        }
        let length = usize::from(u16::from_be_bytes([self.rest[0], self.rest[1]]));
        let bytes = self
            .rest
            .get(2..2 + length)
            .ok_or_else(|| self.corrupt("text"))?;
        self.rest = &self.rest[2 + length..];
        std::str::from_utf8(bytes).map_err(|_| Error::Corrupt {
            key: show_key(self.key),
            message: "key text is not UTF-8".into(),
        })
    }

    /// Reads a big-endian number.
    pub fn u64(&mut self) -> Result<u64, Error> {
        let bytes: [u8; 8] = self
            .rest
            .get(..8)
            .and_then(|bytes| bytes.try_into().ok())
            .ok_or_else(|| self.corrupt("number"))?;
        self.rest = &self.rest[8..];
        Ok(u64::from_be_bytes(bytes))
    }

    /// Reads a time written by [`Key::time`].
    pub fn time(&mut self) -> Result<i64, Error> {
        Ok((self.u64()? ^ (1 << 63)) as i64)
    }

    /// Reads a number written by [`Key::newest_first`].
    pub fn newest_first(&mut self) -> Result<u64, Error> {
        Ok(u64::MAX - self.u64()?)
    }

    /// The bytes not read yet.
    pub fn rest(&self) -> &'a [u8] {
        self.rest
    }
}

/// Microseconds in a day.
pub const DAY_US: i64 = 86_400_000_000;

/// China Standard Time's offset from UTC, in microseconds. China has no daylight saving.
pub const CST_OFFSET_US: i64 = 8 * 3_600_000_000;

/// The China Standard Time calendar day of an instant, as days since 1970-01-01.
pub fn cst_day(at_us: i64) -> i32 {
    let day = (at_us + CST_OFFSET_US).div_euclid(DAY_US);
    i32::try_from(day).unwrap_or(if day < 0 { i32::MIN } else { i32::MAX })
}

/// The date of a day number from [`cst_day`].
pub fn date_of_day(day: i32) -> chrono::NaiveDate {
    chrono::NaiveDate::from_num_days_from_ce_opt(day.saturating_add(EPOCH_DAYS_FROM_CE))
        .unwrap_or(chrono::NaiveDate::MIN)
}

/// The day number of a date, as [`cst_day`] counts.
pub fn day_of_date(date: chrono::NaiveDate) -> i32 {
    use chrono::Datelike;
    date.num_days_from_ce() - EPOCH_DAYS_FROM_CE
}

/// Days from 0001-01-01 (day 1 of the common era) to 1970-01-01.
const EPOCH_DAYS_FROM_CE: i32 = 719_163;

/// The China Standard Time month of an instant, as `YYYY-MM`.
pub fn cst_month(at_us: i64) -> String {
    date_of_day(cst_day(at_us)).format("%Y-%m").to_string()
}

#[cfg(test)]
mod tests {
    #[test]
    fn cst_days_and_months() {
        // 2026-01-31 16:00 UTC is 2026-02-01 00:00 CST.
        let at = 1_769_875_200_000_000;
        assert_eq!(super::cst_month(at), "2026-02");
        assert_eq!(super::cst_month(at - 1), "2026-01");
        let day = super::cst_day(at);
        assert_eq!(super::date_of_day(day).to_string(), "2026-02-01");
        assert_eq!(super::day_of_date(super::date_of_day(day)), day);
        assert_eq!(super::cst_day(0), 0);
    }

    use super::*;

    #[test]
    fn keys_round_trip_and_sort() {
        let key = Key::tag(b"i/")
            .text("township/dongping")
            .time(-5)
            .newest_first(7)
            .into_bytes();
        let mut reader = KeyReader::new(&key, 2);
        assert_eq!(reader.text().unwrap(), "township/dongping");
        assert_eq!(reader.time().unwrap(), -5);
        assert_eq!(reader.newest_first().unwrap(), 7);
        assert!(reader.rest().is_empty());
        let early = Key::tag(b"").time(-1).into_bytes();
        let late = Key::tag(b"").time(1).into_bytes();
        assert!(early < late);
        assert!(
            Key::tag(b"").newest_first(9).into_bytes() < Key::tag(b"").newest_first(8).into_bytes()
        );
    }

    #[test]
    fn truncated_key_is_a_clear_error() {
        let key = Key::tag(b"x").text("abc").into_bytes();
        let mut reader = KeyReader::new(&key[..4], 1);
        assert!(matches!(reader.text(), Err(Error::Corrupt { .. })));
    }
}
