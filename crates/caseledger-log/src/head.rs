//! The head file: the position and hash of the last acknowledged record, kept outside sled so
//! that a log which lost its tail (or was cut on purpose) is noticed on open.
//!
//! Format: UTF-8 text, one field a line, padded with spaces to exactly 512 bytes, one disk
//! sector (the last byte a newline; files written before this version are 256 bytes long and
//! are read too):
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
/// It is one 512-byte disk sector, so an overwrite in place is all-or-nothing on the device
/// as well as in the page cache, and it can be written with direct I/O (which writes whole
/// sectors only).
pub(crate) const HEAD_FILE_BYTES: usize = 512;

/// The length of head files written before the head became one whole sector; still read.
const HEAD_FILE_BYTES_BEFORE: usize = 256;

/// One sector's buffer, aligned as direct I/O requires of the memory it writes from.
#[repr(C, align(4096))]
struct Sector([u8; HEAD_FILE_BYTES]);

fn fill(head: &Head, sector: &mut Sector) {
    let text = body(head);
    let check = blake3::hash(text.as_bytes()).to_hex();
    let line = format!("{text}check {check}\n");
    assert!(
        line.len() < HEAD_FILE_BYTES,
        "head text fits its fixed size"
    );
    sector.0.fill(b' ');
    sector.0[..line.len()].copy_from_slice(line.as_bytes());
    sector.0[HEAD_FILE_BYTES - 1] = b'\n';
}

fn content(head: &Head) -> Box<Sector> {
    let mut sector = Box::new(Sector([0; HEAD_FILE_BYTES]));
    fill(head, &mut sector);
    sector
}

/// Creates the head file atomically: a temporary file, fsync, rename, fsync of the folder.
pub(crate) fn create(dir: &Path, head: &Head) -> Result<(), Error> {
    let temporary = dir.join("HEAD.tmp");
    let write = || -> std::io::Result<()> {
        let mut file = std::fs::File::create(&temporary)?;
        file.write_all(&content(head).0)?;
        file.sync_all()?;
        std::fs::rename(&temporary, path(dir))?;
        std::fs::File::open(dir)?.sync_all()
    };
    write().map_err(|error| Error::io("creating the head file", error))
}

/// The head file, held open by the writer, which overwrites it in place after every batch.
pub(crate) struct HeadFile {
    file: std::fs::File,
    /// Opened for direct, synchronous writes (`O_DIRECT | O_DSYNC`): each write goes to the
    /// device and returns once it is durable, without the page cache and without a separate
    /// fdatasync. `false` where the file system refuses direct I/O (tmpfs, for one): then a
    /// buffered write and an fdatasync.
    direct: bool,
    sector: Box<Sector>,
    path: PathBuf,
}

fn open_for_writing(path: &Path, direct: bool) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true);
    #[cfg(target_os = "linux")]
    if direct {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_DIRECT | libc::O_DSYNC);
    }
    #[cfg(not(target_os = "linux"))]
    let _ = direct;
    options.open(path)
}

/// Whether an error means "this file system does not do direct I/O" (rather than a failing
/// device): the head file then falls back to buffered writes and fdatasync.
fn refuses_direct_io(error: &std::io::Error) -> bool {
    error.raw_os_error() == Some(libc::EINVAL)
}

impl HeadFile {
    /// Opens the head file for writing in place; it must exist with its fixed size.
    pub(crate) fn open(dir: &Path) -> Result<HeadFile, Error> {
        let path = path(dir);
        let opened = match open_for_writing(&path, cfg!(target_os = "linux")) {
            Ok(file) => Ok((file, cfg!(target_os = "linux"))),
            Err(error) if refuses_direct_io(&error) => {
                open_for_writing(&path, false).map(|file| (file, false))
            }
            Err(error) => Err(error),
        };
        let (file, direct) = opened.map_err(|error| Error::io("opening the head file", error))?;
        Ok(HeadFile {
            file,
            direct,
            sector: Box::new(Sector([0; HEAD_FILE_BYTES])),
            path,
        })
    }

    /// Overwrites the head in place and returns once it is on the device. The size never
    /// changes, so no file-system journal commit is needed: with direct I/O one sector write
    /// that the device completes durably (a FUA write or a write and a cache flush); without,
    /// a buffered write and an fdatasync.
    pub(crate) fn write(&mut self, head: &Head) -> Result<(), Error> {
        use std::os::unix::fs::FileExt;
        fill(head, &mut self.sector);
        if self.direct {
            match self.file.write_all_at(&self.sector.0, 0) {
                Ok(()) => return Ok(()),
                Err(error) if refuses_direct_io(&error) => {
                    // The file system took the open but not the write: write buffered from
                    // now on.
                    self.file = open_for_writing(&self.path, false)
                        .map_err(|error| Error::io("opening the head file", error))?;
                    self.direct = false;
                }
                Err(error) => return Err(Error::io("writing the head file", error)),
            }
        }
        self.file
            .write_all_at(&self.sector.0, 0)
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
    if text.len() != HEAD_FILE_BYTES && text.len() != HEAD_FILE_BYTES_BEFORE {
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
        assert_eq!(
            std::fs::metadata(path(dir.path())).unwrap().len(),
            HEAD_FILE_BYTES as u64
        );
        let text = std::fs::read_to_string(path(dir.path())).unwrap();
        std::fs::write(path(dir.path()), text.replace("position 42", "position 41")).unwrap();
        assert!(read(dir.path()).is_err());
        std::fs::remove_file(path(dir.path())).unwrap();
        assert_eq!(read(dir.path()).unwrap(), None);
    }

    #[test]
    fn reads_the_shorter_head_files_of_earlier_versions() {
        let dir = tempfile::tempdir().unwrap();
        let head = Head {
            position: 9,
            hash: Hash([3; 32]),
        };
        let sector = content(&head);
        let text = std::str::from_utf8(&sector.0).unwrap().trim_end();
        let mut before = text.as_bytes().to_vec();
        before.resize(HEAD_FILE_BYTES_BEFORE - 1, b' ');
        before.push(b'\n');
        std::fs::write(path(dir.path()), &before).unwrap();
        assert_eq!(read(dir.path()).unwrap(), Some(head));
        // Any other length is refused, naming the file.
        before.push(b' ');
        std::fs::write(path(dir.path()), &before).unwrap();
        let error = read(dir.path()).unwrap_err().to_string();
        assert!(error.contains("HEAD") && error.contains("bytes"), "{error}");
    }

    #[test]
    fn writes_in_place_many_times_and_the_last_one_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let mut head = Head {
            position: 0,
            hash: Hash([0; 32]),
        };
        create(dir.path(), &head).unwrap();
        let mut file = HeadFile::open(dir.path()).unwrap();
        for position in 1..=50u64 {
            head = Head {
                position,
                hash: Hash([position as u8; 32]),
            };
            file.write(&head).unwrap();
        }
        assert_eq!(read(dir.path()).unwrap(), Some(head));
    }
}
