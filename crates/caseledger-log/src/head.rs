//! The head file: the position and hash of the last acknowledged record, kept outside sled so
//! that a log which lost its tail (or was cut on purpose) is noticed on open.
//!
//! Format: UTF-8 text, one field a line, padded with spaces to exactly 256 bytes (the last
//! byte a newline):
//! ```text
//! caseledger-head 1
//! position 1234
//! hash <64 hex digits>
//! check <64 hex digits: blake3 of the three lines above, newlines included>
//! ```

use std::io::Write;
use std::path::{Path, PathBuf};

use caseledger_record::Hash;

use crate::error::Error;

/// The file name inside the ledger folder.
pub const HEAD_FILE_NAME: &str = "HEAD";
const MAGIC: &str = "caseledger-head 1";

/// The end of the log: the last acknowledged position and its hash (the genesis hash and
/// position 0 for an empty ledger).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Head {
    /// The last acknowledged position (0 when empty).
    pub position: u64,
    /// Its chain hash.
    pub hash: Hash,
}

pub(crate) fn path(dir: &Path) -> PathBuf {
    dir.join(HEAD_FILE_NAME)
}

fn body(head: &Head) -> String {
    format!(
        "{MAGIC}\nposition {}\nhash {}\n",
        head.position,
        head.hash.to_hex()
    )
}

/// The head file is always exactly this long: the text, padded with spaces, then a newline.
/// It fits in one 512-byte disk sector, so an overwrite in place is all-or-nothing on the
/// device as well as in the page cache.
pub(crate) const HEAD_FILE_BYTES: usize = 256;

fn content(head: &Head) -> Vec<u8> {
    let text = body(head);
    let check = blake3::hash(text.as_bytes()).to_hex();
    let mut bytes = format!("{text}check {check}\n").into_bytes();
    assert!(
        bytes.len() < HEAD_FILE_BYTES,
        "head text fits its fixed size"
    );
    bytes.resize(HEAD_FILE_BYTES - 1, b' ');
    bytes.push(b'\n');
    bytes
}

/// Creates the head file atomically: a temporary file, fsync, rename, fsync of the folder.
pub(crate) fn create(dir: &Path, head: &Head) -> Result<(), Error> {
    let temporary = dir.join("HEAD.tmp");
    let write = || -> std::io::Result<()> {
        let mut file = std::fs::File::create(&temporary)?;
        file.write_all(&content(head))?;
        file.sync_all()?;
        std::fs::rename(&temporary, path(dir))?;
        std::fs::File::open(dir)?.sync_all()
    };
    write().map_err(|error| Error::io("creating the head file", error))
}

/// The head file, held open by the writer, which overwrites it in place after every batch.
pub(crate) struct HeadFile {
    file: std::fs::File,
}

impl HeadFile {
    /// Opens the head file for writing in place; it must exist with its fixed size.
    pub(crate) fn open(dir: &Path) -> Result<HeadFile, Error> {
        let file = std::fs::OpenOptions::new()
            .write(true)
            .open(path(dir))
            .map_err(|error| Error::io("opening the head file", error))?;
        Ok(HeadFile { file })
    }

    /// Overwrites the head in place and waits until it is on the device (fdatasync: the size
    /// never changes, so no file-system journal commit is needed, only a device flush, which
    /// also makes sled's preceding writes durable).
    pub(crate) fn write(&mut self, head: &Head) -> Result<(), Error> {
        use std::os::unix::fs::FileExt;
        self.file
            .write_all_at(&content(head), 0)
            .and_then(|()| self.file.sync_data())
            .map_err(|error| Error::io("writing the head file", error))
    }
}

/// Reads the head file; `Ok(None)` when it does not exist.
pub(crate) fn read(dir: &Path) -> Result<Option<Head>, Error> {
    let file = path(dir);
    let text = match std::fs::read(&file) {
        Ok(bytes) => bytes,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(Error::head(&file, format!("cannot be read: {error}"))),
    };
    let text =
        String::from_utf8(text).map_err(|_| Error::head(&file, "is not UTF-8 text / 不是文本"))?;
    if text.len() != HEAD_FILE_BYTES {
        return Err(Error::head(
            &file,
            format!(
                "is {} bytes, expected {HEAD_FILE_BYTES} / 长度不对",
                text.len()
            ),
        ));
    }
    parse(text.trim_end())
        .map(Some)
        .map_err(|reason| Error::head(&file, reason))
}

fn parse(text: &str) -> Result<Head, String> {
    let lines: Vec<&str> = text.lines().map(str::trim_end).collect();
    let [magic, position, hash, check] = lines.as_slice() else {
        return Err(format!("has {} lines, expected 4 / 行数不对", lines.len()));
    };
    if *magic != MAGIC {
        return Err(format!("starts with {magic:?}, expected {MAGIC:?}"));
    }
    let position = position
        .strip_prefix("position ")
        .and_then(|digits| digits.parse::<u64>().ok())
        .ok_or("has no valid position line / 位置行无效")?;
    let hash = hash
        .strip_prefix("hash ")
        .and_then(Hash::from_hex)
        .ok_or("has no valid hash line / 哈希行无效")?;
    let head = Head { position, hash };
    let expected = blake3::hash(body(&head).as_bytes()).to_hex();
    if check.strip_prefix("check ") != Some(expected.as_str()) {
        return Err("checksum does not match its content / 校验值不符".into());
    }
    Ok(head)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_detects_edits() {
        let dir = tempfile::tempdir().unwrap();
        let head = Head {
            position: 42,
            hash: Hash([7; 32]),
        };
        create(
            dir.path(),
            &Head {
                position: 1,
                hash: Hash([1; 32]),
            },
        )
        .unwrap();
        HeadFile::open(dir.path()).unwrap().write(&head).unwrap();
        assert_eq!(read(dir.path()).unwrap(), Some(head));
        let text = std::fs::read_to_string(path(dir.path())).unwrap();
        std::fs::write(path(dir.path()), text.replace("position 42", "position 41")).unwrap();
        assert!(read(dir.path()).is_err());
        std::fs::remove_file(path(dir.path())).unwrap();
        assert_eq!(read(dir.path()).unwrap(), None);
    }
}
