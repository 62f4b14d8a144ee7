//! The C2SP `tlog-checkpoint` note text: origin, tree size, base64 root hash, optional
//! extension lines; signed and opened as a [`crate::note`].

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;

use crate::merkle::Hash;
use crate::note::{open_note, sign_note, NoteError, NoteSigner, NoteVerifier};

/// Why a checkpoint is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CheckpointError {
    /// The note around it is refused.
    #[error(transparent)]
    Note(#[from] NoteError),
    /// The text is not a checkpoint.
    #[error("not a checkpoint: {0} / 不是有效的检查点")]
    Malformed(&'static str),
    /// The checkpoint's origin is not the one expected.
    #[error("checkpoint origin {found:?} is not {expected:?} / 检查点来源不符")]
    Origin {
        /// The ledger's origin.
        expected: String,
        /// What the checkpoint says.
        found: String,
    },
}

/// A signed statement of the log's state: this origin had this many records with this root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    origin: String,
    tree_size: u64,
    root: Hash,
    extensions: Vec<String>,
}

fn is_valid_line(line: &str) -> bool {
    !line.is_empty() && !line.chars().any(|c| c < ' ')
}

impl Checkpoint {
    /// A checkpoint without extension lines. The origin must be a non-empty line.
    pub fn new(origin: &str, tree_size: u64, root: Hash) -> Result<Checkpoint, CheckpointError> {
        Checkpoint::with_extensions(origin, tree_size, root, Vec::new())
    }

    /// A checkpoint with extension lines, each non-empty (the specification advises against
    /// them; the ledger writes none).
    pub fn with_extensions(
        origin: &str,
        tree_size: u64,
        root: Hash,
        extensions: Vec<String>,
    ) -> Result<Checkpoint, CheckpointError> {
        if !is_valid_line(origin) {
            return Err(CheckpointError::Malformed(
                "origin must be a non-empty line",
            ));
        }
        if !extensions.iter().all(|line| is_valid_line(line)) {
            return Err(CheckpointError::Malformed(
                "extension lines must be non-empty lines",
            ));
        }
        Ok(Checkpoint {
            origin: origin.to_owned(),
            tree_size,
            root,
            extensions,
        })
    }

    /// The log's identity, its first line.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The number of records the checkpoint covers.
    pub fn tree_size(&self) -> u64 {
        self.tree_size
    }

    /// The RFC 9162 root of the first `tree_size` records.
    pub fn root(&self) -> Hash {
        self.root
    }

    /// The extension lines.
    pub fn extensions(&self) -> &[String] {
        &self.extensions
    }

    /// The note text: one line each for origin, size, base64 root, then the extensions.
    pub fn to_text(&self) -> String {
        let mut text = format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.tree_size,
            BASE64.encode(self.root.0)
        );
        for line in &self.extensions {
            text.push_str(line);
            text.push('\n');
        }
        text
    }

    /// Parses a checkpoint note text (the part a signature covers).
    pub fn parse(text: &str) -> Result<Checkpoint, CheckpointError> {
        let Some(body) = text.strip_suffix('\n') else {
            return Err(CheckpointError::Malformed("text must end with a newline"));
        };
        let lines: Vec<&str> = body.split('\n').collect();
        if lines.len() < 3 {
            return Err(CheckpointError::Malformed("fewer than three lines"));
        }
        let size_text = lines[1];
        let size_canonical = !size_text.is_empty()
            && size_text.bytes().all(|b| b.is_ascii_digit())
            && (size_text == "0" || !size_text.starts_with('0'));
        if !size_canonical {
            return Err(CheckpointError::Malformed(
                "tree size must be decimal without leading zeros",
            ));
        }
        let tree_size: u64 = size_text
            .parse()
            .map_err(|_| CheckpointError::Malformed("tree size out of range"))?;
        let root_bytes = BASE64
            .decode(lines[2])
            .map_err(|_| CheckpointError::Malformed("root hash is not base64"))?;
        let root: [u8; 32] = root_bytes
            .try_into()
            .map_err(|_| CheckpointError::Malformed("root hash is not 32 bytes"))?;
        let extensions = lines[3..].iter().map(|line| (*line).to_owned()).collect();
        let checkpoint = Checkpoint::with_extensions(lines[0], tree_size, Hash(root), extensions)?;
        // One checkpoint has one text: what was signed must be exactly what we would write.
        if checkpoint.to_text() != text {
            return Err(CheckpointError::Malformed("text is not in canonical form"));
        }
        Ok(checkpoint)
    }

    /// The signed note: this checkpoint's text signed by `signer`.
    pub fn sign(&self, signer: &NoteSigner) -> Result<String, CheckpointError> {
        Ok(sign_note(&self.to_text(), &[signer])?)
    }

    /// Opens a signed checkpoint note with the ledger's key and parses it. The checkpoint's
    /// origin must be the key's name, as the ledger names its key after its origin.
    pub fn open(note: &str, key: &NoteVerifier) -> Result<Checkpoint, CheckpointError> {
        let opened = open_note(note.as_bytes(), std::slice::from_ref(key))?;
        let checkpoint = Checkpoint::parse(&opened.text)?;
        if checkpoint.origin != key.name() {
            return Err(CheckpointError::Origin {
                expected: key.name().to_owned(),
                found: checkpoint.origin,
            });
        }
        Ok(checkpoint)
    }
}
