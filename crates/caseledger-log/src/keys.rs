//! Key encodings of the log's own sled trees (see schemas/storage.md).

/// Tree of batches: first position (u64 big-endian) → records, see [`crate::frame`].
pub(crate) const LOG_TREE: &str = "ledger/log";
/// Tree of the index runs (event ids and stream versions), see [`crate::index`].
pub(crate) const INDEX_TREE: &str = "ledger/index";
/// Ledger facts: origin name, format, index checkpoint.
pub(crate) const META_TREE: &str = "ledger/meta";

pub(crate) const META_ORIGIN: &[u8] = b"origin";
pub(crate) const META_FORMAT: &[u8] = b"format";
/// The storage layout version written in `META_FORMAT`.
pub(crate) const STORAGE_FORMAT: &[u8] = b"caseledger-storage 1";

/// The prefix shared by every version of one stream: its length (u16 big-endian), then its
/// UTF-8 bytes. The length makes `case/1` and `case/10` distinct prefixes.
pub(crate) fn stream_prefix(stream: &str) -> Vec<u8> {
    let length = u16::try_from(stream.len()).expect("stream names are at most 256 bytes");
    let mut key = Vec::with_capacity(2 + stream.len() + 8);
    key.extend_from_slice(&length.to_be_bytes());
    key.extend_from_slice(stream.as_bytes());
    key
}

/// The key of one stream version: [`stream_prefix`] then the version, u64 big-endian.
pub(crate) fn stream_key(stream: &str, version: u64) -> Vec<u8> {
    let mut key = stream_prefix(stream);
    key.extend_from_slice(&version.to_be_bytes());
    key
}

/// Reads a u64 big-endian value.
pub(crate) fn u64_of(bytes: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(bytes.try_into().ok()?))
}

/// The version at the end of a stream key.
pub(crate) fn version_of_stream_key(key: &[u8]) -> Option<u64> {
    u64_of(key.get(key.len().checked_sub(8)?..)?)
}
