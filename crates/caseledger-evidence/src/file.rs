//! The checkpoints file (检查点文件) outside sled: every signed checkpoint, appended and
//! fsynced, so a copy of the ledger's commitments survives whatever happens to sled.
//!
//! # Format
//!
//! UTF-8 text. Each checkpoint is one entry: a separator line [`ENTRY_SEPARATOR`], then the
//! signed note exactly as signed (checkpoint text, blank line, signature lines, each ending
//! in a newline). A signed note never holds the separator line (its lines are the origin, a
//! decimal size, a base64 hash, and signature lines starting with an em dash), so the file
//! splits unambiguously:
//!
//! ```text
//! caseledger-checkpoint
//! caseledger.example/anhua
//! 1024
//! 3kBk…=
//!
//! — caseledger.example/anhua Az3…==
//! caseledger-checkpoint
//! caseledger.example/anhua
//! 2048
//! …
//! ```
//!
//! Entries are in increasing tree size. A last entry without its final newline is a write
//! cut short by a crash: it is ignored on reading (the same checkpoint is in sled), and the
//! next append starts on a fresh line.

use std::io::Write as _;
use std::path::{Path, PathBuf};

/// The file's name inside the ledger folder.
pub const CHECKPOINTS_FILE_NAME: &str = "checkpoints.log";

/// The line that starts every entry.
pub const ENTRY_SEPARATOR: &str = "caseledger-checkpoint";

/// The largest checkpoints file read whole: at one checkpoint a minute, 300 bytes each, a
/// year is 160 MiB; beyond this the file is read from its last part only.
pub const FILE_TAIL_BYTES_MAX: u64 = 64 * 1024 * 1024;

/// The checkpoints file of the ledger in `dir`.
pub fn path(dir: &Path) -> PathBuf {
    dir.join(CHECKPOINTS_FILE_NAME)
}

/// Appends one signed note and fsyncs the file (and, when the file is new, its folder).
pub fn append(dir: &Path, note: &str) -> std::io::Result<()> {
    debug_assert!(note.ends_with('\n') && !note.lines().any(|l| l == ENTRY_SEPARATOR));
    let path = path(dir);
    let existed = path.exists();
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .read(true)
        .open(&path)?;
    let length = file.metadata()?.len();
    if length > 0 && !ends_with_newline(&mut file, length)? {
        drop_torn_entry(&path, length)?;
    }
    let mut entry = String::with_capacity(note.len() + ENTRY_SEPARATOR.len() + 1);
    entry.push_str(ENTRY_SEPARATOR);
    entry.push('\n');
    entry.push_str(note);
    file.write_all(entry.as_bytes())?;
    file.sync_all()?;
    if !existed {
        // The new file's name must be durable too.
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}

/// Cuts off the last entry, which a crash left without its final newline: it was never
/// complete, and the same checkpoint is in sled.
fn drop_torn_entry(path: &Path, length: u64) -> std::io::Result<()> {
    use std::io::{Read as _, Seek as _, SeekFrom};
    let mut file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)?;
    let start = length.saturating_sub(64 * 1024);
    file.seek(SeekFrom::Start(start))?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)?;
    let separator = format!("{ENTRY_SEPARATOR}\n");
    let mut cut = None;
    for (offset, _) in bytes.windows(separator.len()).enumerate() {
        let at_line_start = offset == 0 && start == 0 || offset > 0 && bytes[offset - 1] == b'\n';
        if at_line_start && bytes[offset..].starts_with(separator.as_bytes()) {
            cut = Some(start + offset as u64);
        }
    }
    let Some(cut) = cut else {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "检查点文件末尾损坏 / the checkpoints file ends in a line that is not part of an entry",
        ));
    };
    tracing::warn!(
        cut,
        length,
        "dropping a torn last entry of the checkpoints file"
    );
    file.set_len(cut)?;
    file.sync_all()
}

fn ends_with_newline(file: &mut std::fs::File, length: u64) -> std::io::Result<bool> {
    use std::io::{Read as _, Seek as _, SeekFrom};
    let mut last = [0u8; 1];
    file.seek(SeekFrom::Start(length - 1))?;
    file.read_exact(&mut last)?;
    Ok(last[0] == b'\n')
}

/// The complete entries of the file, oldest first (none when the file is absent). A torn
/// last entry is left out.
pub fn read_entries(dir: &Path) -> std::io::Result<Vec<String>> {
    let path = path(dir);
    let bytes = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(error) => return Err(error),
    };
    let text = String::from_utf8_lossy(&bytes);
    Ok(split_entries(&text))
}

/// The last complete entry of the file, if any.
pub fn read_last(dir: &Path) -> std::io::Result<Option<String>> {
    use std::io::{Read as _, Seek as _, SeekFrom};
    let path = path(dir);
    let mut file = match std::fs::File::open(&path) {
        Ok(file) => file,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(error),
    };
    let length = file.metadata()?.len();
    // The last entries are at the end; a generous tail holds the last complete one.
    let start = length.saturating_sub(FILE_TAIL_BYTES_MAX.min(64 * 1024));
    file.seek(SeekFrom::Start(start))?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)?;
    let text = String::from_utf8_lossy(&bytes);
    Ok(split_entries(&text).pop())
}

fn split_entries(text: &str) -> Vec<String> {
    let mut entries = Vec::new();
    let mut current: Option<String> = None;
    for line in text.split_inclusive('\n') {
        if line == format!("{ENTRY_SEPARATOR}\n") {
            if let Some(entry) = current.take() {
                entries.push(entry);
            }
            current = Some(String::new());
        } else if let Some(entry) = current.as_mut() {
            entry.push_str(line);
        }
    }
    if let Some(entry) = current {
        if entry.ends_with('\n') {
            entries.push(entry);
        }
    }
    entries
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOTE_A: &str = "origin\n1\nAAAA\n\n\u{2014} origin abc=\n";
    const NOTE_B: &str = "origin\n2\nBBBB\n\n\u{2014} origin def=\n";

    #[test]
    fn entries_come_back_in_order() {
        let dir = tempfile::tempdir().unwrap();
        assert!(read_entries(dir.path()).unwrap().is_empty());
        append(dir.path(), NOTE_A).unwrap();
        append(dir.path(), NOTE_B).unwrap();
        assert_eq!(read_entries(dir.path()).unwrap(), vec![NOTE_A, NOTE_B]);
        assert_eq!(read_last(dir.path()).unwrap().as_deref(), Some(NOTE_B));
    }

    #[test]
    fn a_torn_last_entry_is_ignored_and_the_next_starts_afresh() {
        let dir = tempfile::tempdir().unwrap();
        append(dir.path(), NOTE_A).unwrap();
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(path(dir.path()))
            .unwrap();
        file.write_all(b"caseledger-checkpoint\norigin\n2\nBB")
            .unwrap();
        drop(file);
        assert_eq!(read_entries(dir.path()).unwrap(), vec![NOTE_A]);
        assert_eq!(read_last(dir.path()).unwrap().as_deref(), Some(NOTE_A));
        append(dir.path(), NOTE_B).unwrap();
        assert_eq!(read_last(dir.path()).unwrap().as_deref(), Some(NOTE_B));
        assert_eq!(read_entries(dir.path()).unwrap(), vec![NOTE_A, NOTE_B]);
    }
}
