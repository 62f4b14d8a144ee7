//! C2SP `signed-note` with Ed25519 signatures (signature type `0x01`), and keys in the text
//! encodings of Go's `golang.org/x/mod/sumdb/note`, so that notes and keys interoperate with
//! the standard tools byte for byte.
//!
//! - Signer key: `PRIVATE+KEY+<name>+<hex key id>+<base64(0x01 || 32-byte seed)>`.
//! - Verifier key: `<name>+<hex key id>+<base64(0x01 || 32-byte public key)>`.
//! - Key id: the first four bytes, big-endian, of `SHA-256(name || 0x0A || 0x01 || public key)`.
//! - Signature line: `— <name> <base64(key id || 64-byte signature)>`.
//!
//! [`open_note`] follows the specification and the Go reference: the whole note must be valid
//! UTF-8 without control characters other than newline; the text ends at the last blank line;
//! every signature line must be well formed; at most [`NOTE_SIGNATURES_MAX`] signatures;
//! signatures by unknown keys are ignored; a known key's failing signature rejects the note;
//! at least one known key's signature must verify.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

/// Signature type byte of Ed25519 in the signed-note registry.
pub const ALGORITHM_ED25519: u8 = 0x01;

/// Signature lines accepted in one note: the Go reference's limit; the specification asks for
/// at least 16.
pub const NOTE_SIGNATURES_MAX: usize = 100;

/// Size of a whole note accepted, in bytes: a checkpoint is under 200 bytes plus about 100 per
/// signature, so this leaves room for every allowed signature and then some.
pub const NOTE_BYTES_MAX: usize = 1024 * 1024;

/// The em dash and space that open every signature line.
const SIGNATURE_PREFIX: &str = "\u{2014} ";

/// Why a key, text or note is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NoteError {
    /// A key name is empty or holds a space or a plus sign.
    #[error("invalid key name {0:?} / 密钥名称无效")]
    KeyName(String),
    /// A key's text is not in the expected `name+id+key` form.
    #[error("malformed key text: {0} / 密钥格式错误")]
    KeyFormat(&'static str),
    /// A key's id does not match its name and public key.
    #[error("key id does not match the key / 密钥标识与密钥不符")]
    KeyId,
    /// The operating system gave no randomness for a new key.
    #[error("no randomness for a new key: {0} / 无法获得随机数生成密钥")]
    Random(String),
    /// The text to sign is not a valid note text.
    #[error("text cannot be signed: {0} / 文本不能签名")]
    Text(&'static str),
    /// The note is malformed.
    #[error("malformed note: {0} / 签名文本格式错误")]
    Malformed(&'static str),
    /// A signature by a known key does not verify.
    #[error("signature by known key {name} does not verify / 已知密钥 {name} 的签名验证失败")]
    BadSignature {
        /// The key's name.
        name: String,
    },
    /// No signature by a known key is present.
    #[error("no signature by a known key / 没有受信任密钥的签名")]
    NoKnownSignature,
}

/// `true` when `name` may be a key name: non-empty, no Unicode space, no `+`.
pub fn is_valid_key_name(name: &str) -> bool {
    !name.is_empty() && !name.chars().any(|c| c.is_whitespace() || c == '+')
}

/// The key id of an Ed25519 key named `name`.
pub fn key_id(name: &str, public_key: &[u8; 32]) -> u32 {
    let mut hasher = Sha256::new();
    hasher.update(name.as_bytes());
    hasher.update([b'\n', ALGORITHM_ED25519]);
    hasher.update(public_key);
    let digest = hasher.finalize();
    u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]])
}

/// Splits `name+hexid+base64` and checks the name and the id's form.
fn split_key_text(text: &str) -> Result<(&str, u32, Vec<u8>), NoteError> {
    let mut parts = text.splitn(3, '+');
    let (Some(name), Some(id_hex), Some(key64)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(NoteError::KeyFormat("expected name+id+key"));
    };
    if !is_valid_key_name(name) {
        return Err(NoteError::KeyName(name.to_owned()));
    }
    if id_hex.len() != 8 || !id_hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(NoteError::KeyFormat("key id must be 8 hex digits"));
    }
    let id = u32::from_str_radix(id_hex, 16).map_err(|_| NoteError::KeyFormat("key id"))?;
    let key = BASE64
        .decode(key64)
        .map_err(|_| NoteError::KeyFormat("key is not base64"))?;
    if key.len() != 33 || key[0] != ALGORITHM_ED25519 {
        return Err(NoteError::KeyFormat("key is not 0x01 followed by 32 bytes"));
    }
    Ok((name, id, key))
}

/// A key that signs notes: the ledger's checkpoint signing key.
#[derive(Clone)]
pub struct NoteSigner {
    name: String,
    id: u32,
    key: SigningKey,
}

impl std::fmt::Debug for NoteSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the seed.
        write!(f, "NoteSigner({}+{:08x})", self.name, self.id)
    }
}

impl NoteSigner {
    /// A signer from a 32-byte Ed25519 seed.
    pub fn from_seed(name: &str, seed: [u8; 32]) -> Result<NoteSigner, NoteError> {
        if !is_valid_key_name(name) {
            return Err(NoteError::KeyName(name.to_owned()));
        }
        let key = SigningKey::from_bytes(&seed);
        let id = key_id(name, key.verifying_key().as_bytes());
        Ok(NoteSigner {
            name: name.to_owned(),
            id,
            key,
        })
    }

    /// A new key with a seed from the operating system's randomness.
    pub fn generate(name: &str) -> Result<NoteSigner, NoteError> {
        let mut seed = [0u8; 32];
        getrandom::getrandom(&mut seed).map_err(|error| NoteError::Random(error.to_string()))?;
        NoteSigner::from_seed(name, seed)
    }

    /// Parses `PRIVATE+KEY+<name>+<hex id>+<base64(0x01 || seed)>` and checks the id.
    pub fn from_text(text: &str) -> Result<NoteSigner, NoteError> {
        let text = text.trim_end_matches(['\n', '\r']);
        let Some(rest) = text.strip_prefix("PRIVATE+KEY+") else {
            return Err(NoteError::KeyFormat(
                "signer key must start with PRIVATE+KEY+",
            ));
        };
        let (name, id, key) = split_key_text(rest)?;
        let mut seed = [0u8; 32];
        seed.copy_from_slice(&key[1..]);
        let signer = NoteSigner::from_seed(name, seed)?;
        if signer.id != id {
            return Err(NoteError::KeyId);
        }
        Ok(signer)
    }

    /// The signer key text. Secret: write it only to a file only its owner can read.
    pub fn to_text(&self) -> String {
        let mut key = vec![ALGORITHM_ED25519];
        key.extend_from_slice(self.key.as_bytes());
        format!(
            "PRIVATE+KEY+{}+{:08x}+{}",
            self.name,
            self.id,
            BASE64.encode(key)
        )
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key id.
    pub fn key_id(&self) -> u32 {
        self.id
    }

    /// The matching verifier key.
    pub fn verifier(&self) -> NoteVerifier {
        NoteVerifier {
            name: self.name.clone(),
            id: self.id,
            key: self.key.verifying_key(),
        }
    }

    /// The signature line for `text` (which must already be a valid note text), with its
    /// newline.
    fn signature_line(&self, text: &str) -> String {
        let signature = self.key.sign(text.as_bytes());
        let mut blob = self.id.to_be_bytes().to_vec();
        blob.extend_from_slice(&signature.to_bytes());
        format!("{SIGNATURE_PREFIX}{} {}\n", self.name, BASE64.encode(blob))
    }
}

/// A key that verifies notes: the ledger's public key as a court receives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteVerifier {
    name: String,
    id: u32,
    key: VerifyingKey,
}

impl NoteVerifier {
    /// Parses `<name>+<hex id>+<base64(0x01 || public key)>` and checks the id.
    pub fn from_text(text: &str) -> Result<NoteVerifier, NoteError> {
        let text = text.trim_end_matches(['\n', '\r']);
        let (name, id, key) = split_key_text(text)?;
        let mut public = [0u8; 32];
        public.copy_from_slice(&key[1..]);
        if key_id(name, &public) != id {
            return Err(NoteError::KeyId);
        }
        let key = VerifyingKey::from_bytes(&public)
            .map_err(|_| NoteError::KeyFormat("not an Ed25519 public key"))?;
        Ok(NoteVerifier {
            name: name.to_owned(),
            id,
            key,
        })
    }

    /// The verifier key text.
    pub fn to_text(&self) -> String {
        let mut key = vec![ALGORITHM_ED25519];
        key.extend_from_slice(self.key.as_bytes());
        format!("{}+{:08x}+{}", self.name, self.id, BASE64.encode(key))
    }

    /// The key name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The key id.
    pub fn key_id(&self) -> u32 {
        self.id
    }

    fn verifies(&self, text: &str, signature: &[u8]) -> bool {
        let Ok(signature) = Signature::from_slice(signature) else {
            return false;
        };
        self.key.verify_strict(text.as_bytes(), &signature).is_ok()
    }
}

/// Checks what a note text must be: non-empty, ending in a newline, valid UTF-8 (guaranteed by
/// `&str`), no control characters but newline.
fn check_text(text: &str) -> Result<(), NoteError> {
    if !text.ends_with('\n') {
        return Err(NoteError::Text("text must end with a newline"));
    }
    if text.chars().any(|c| c < ' ' && c != '\n') {
        return Err(NoteError::Text("text holds a control character"));
    }
    if text.len() > NOTE_BYTES_MAX / 2 {
        return Err(NoteError::Text("text too large"));
    }
    Ok(())
}

/// Signs `text` with each signer: the text, a blank line, one signature line per signer.
pub fn sign_note(text: &str, signers: &[&NoteSigner]) -> Result<String, NoteError> {
    check_text(text)?;
    if signers.is_empty() || signers.len() > NOTE_SIGNATURES_MAX {
        return Err(NoteError::Text("one to NOTE_SIGNATURES_MAX signers"));
    }
    let mut note = String::with_capacity(text.len() + 1 + 120 * signers.len());
    note.push_str(text);
    note.push('\n');
    for signer in signers {
        note.push_str(&signer.signature_line(text));
    }
    Ok(note)
}

/// One signature line of an opened note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteSignature {
    /// The key name.
    pub name: String,
    /// The key id.
    pub key_id: u32,
    /// The base64 text of key id and signature, as written.
    pub base64: String,
}

/// A note whose signatures were checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenedNote {
    /// The signed text, with its final newline.
    pub text: String,
    /// Signatures by known keys, all verified.
    pub verified: Vec<NoteSignature>,
    /// Signatures by unknown keys, ignored.
    pub unverified: Vec<NoteSignature>,
}

/// Parses and verifies a note against the known keys, as the specification requires.
pub fn open_note(note: &[u8], known: &[NoteVerifier]) -> Result<OpenedNote, NoteError> {
    if note.len() > NOTE_BYTES_MAX {
        return Err(NoteError::Malformed("note too large"));
    }
    let note = std::str::from_utf8(note).map_err(|_| NoteError::Malformed("not UTF-8"))?;
    if note.chars().any(|c| c < ' ' && c != '\n') {
        return Err(NoteError::Malformed("control character"));
    }
    let Some(split) = note.rfind("\n\n") else {
        return Err(NoteError::Malformed("no blank line before the signatures"));
    };
    let (text, signatures) = (&note[..split + 1], &note[split + 2..]);
    if signatures.is_empty() || !signatures.ends_with('\n') {
        return Err(NoteError::Malformed("signatures must end with a newline"));
    }
    let mut opened = OpenedNote {
        text: text.to_owned(),
        verified: Vec::new(),
        unverified: Vec::new(),
    };
    let lines: Vec<&str> = signatures[..signatures.len() - 1].split('\n').collect();
    if lines.len() > NOTE_SIGNATURES_MAX {
        return Err(NoteError::Malformed("too many signatures"));
    }
    for line in lines {
        let signature = parse_signature_line(line)?;
        let blob = BASE64
            .decode(&signature.base64)
            .map_err(|_| NoteError::Malformed("signature is not base64"))?;
        let known_key = known
            .iter()
            .find(|k| k.name == signature.name && k.id == signature.key_id);
        match known_key {
            None => {
                if !opened.unverified.contains(&signature) {
                    opened.unverified.push(signature);
                }
            }
            Some(key) => {
                // A repeated signature by the same key is ignored, as in the Go reference.
                if opened
                    .verified
                    .iter()
                    .any(|s| s.name == signature.name && s.key_id == signature.key_id)
                {
                    continue;
                }
                if !key.verifies(text, &blob[4..]) {
                    return Err(NoteError::BadSignature {
                        name: signature.name,
                    });
                }
                opened.verified.push(signature);
            }
        }
    }
    if opened.verified.is_empty() {
        return Err(NoteError::NoKnownSignature);
    }
    Ok(opened)
}

fn parse_signature_line(line: &str) -> Result<NoteSignature, NoteError> {
    let Some(rest) = line.strip_prefix(SIGNATURE_PREFIX) else {
        return Err(NoteError::Malformed(
            "signature line must start with an em dash",
        ));
    };
    let Some((name, base64)) = rest.split_once(' ') else {
        return Err(NoteError::Malformed("signature line has no signature"));
    };
    if !is_valid_key_name(name) {
        return Err(NoteError::Malformed("invalid key name in signature line"));
    }
    let blob = BASE64
        .decode(base64)
        .map_err(|_| NoteError::Malformed("signature is not base64"))?;
    if blob.len() < 5 {
        return Err(NoteError::Malformed("signature too short"));
    }
    Ok(NoteSignature {
        name: name.to_owned(),
        key_id: u32::from_be_bytes([blob[0], blob[1], blob[2], blob[3]]),
        base64: base64.to_owned(),
    })
}
