//! 个人信息加密 — sealing complainants' personal data (name, phone, personal address) under a
//! per-person key, so that the ledger holds only ciphertext and a key id, and erasure under
//! PIPL (个人信息保护法) is the destruction of the key.
//!
//! - Cipher: XChaCha20-Poly1305 (`chacha20poly1305` crate). Its 24-byte nonce is drawn at
//!   random for every seal, which is safe at any volume, unlike a 12-byte one.
//! - Randomness: the operating system's generator through `chacha20poly1305::aead::OsRng`
//!   (`rand_core` 0.6 over `getrandom` 0.2, both already pulled in by the cipher crate's
//!   default features), so no second random-number crate enters the build. Failures are
//!   returned as [`SealError::Randomness`], never panics.
//! - Associated data: a fixed label, the key id and the caller's context (e.g. the case id),
//!   so a sealed blob moved to another case, or relabelled with another key id, fails to open.
//! - Keys live behind the [`KeyStore`] trait, outside the chain. [`MemoryKeyStore`] is for
//!   tests; storage provides a durable one.
//!
//! ```
//! use caseledger_domain::seal::{seal, unseal, KeyStore, MemoryKeyStore, PersonalData, SealError};
//!
//! let mut keys = MemoryKeyStore::default();
//! let data = PersonalData { name: Some("张三".into()), phone: Some("13800000000".into()), address: None };
//! let sealed = seal(&data, "case/2026-000001", &mut keys).unwrap();
//! assert_eq!(unseal(&sealed, "case/2026-000001", &keys).unwrap(), data);
//!
//! keys.destroy_key(&sealed.key_id).unwrap(); // 删除 — PIPL erasure
//! assert!(matches!(unseal(&sealed, "case/2026-000001", &keys), Err(SealError::KeyErased { .. })));
//! ```

use std::collections::BTreeMap;
use std::fmt;

use chacha20poly1305::aead::rand_core::RngCore;
use chacha20poly1305::aead::{Aead, OsRng, Payload};
use chacha20poly1305::{KeyInit, XChaCha20Poly1305, XNonce};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Length of a sealing key, in bytes.
pub const KEY_BYTES: usize = 32;

/// Length of an XChaCha20-Poly1305 nonce, in bytes.
pub const NONCE_BYTES: usize = 24;

/// The longest name accepted, in bytes.
pub const NAME_BYTES_MAX: usize = 256;

/// The longest phone number accepted, in bytes.
pub const PHONE_BYTES_MAX: usize = 64;

/// The longest address accepted, in bytes.
pub const ADDRESS_BYTES_MAX: usize = 1024;

/// The longest ciphertext accepted by [`unseal`], in bytes (the fields above, JSON overhead and
/// the 16-byte tag fit well inside).
pub const CIPHERTEXT_BYTES_MAX: usize = 4096;

/// The label that opens the associated data, versioning the construction.
const AAD_LABEL: &[u8] = b"caseledger seal v1";

/// 个人信息 — a complainant's personal data. Its `Debug` output hides the values, so it cannot
/// leak into logs.
#[derive(Clone, PartialEq, Eq, Default, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PersonalData {
    /// 姓名 — name.
    pub name: Option<String>,
    /// 联系电话 — phone.
    pub phone: Option<String>,
    /// 住址 — personal address.
    pub address: Option<String>,
}

impl fmt::Debug for PersonalData {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown = |field: &Option<String>| {
            if field.is_some() {
                "<sealed>"
            } else {
                "<none>"
            }
        };
        f.debug_struct("PersonalData")
            .field("name", &shown(&self.name))
            .field("phone", &shown(&self.phone))
            .field("address", &shown(&self.address))
            .finish()
    }
}

impl PersonalData {
    /// Checks the length limits; names the first field that is too long.
    pub fn check(&self) -> Result<(), SealError> {
        let limits = [
            ("name", &self.name, NAME_BYTES_MAX),
            ("phone", &self.phone, PHONE_BYTES_MAX),
            ("address", &self.address, ADDRESS_BYTES_MAX),
        ];
        for (field, value, max) in limits {
            if value.as_ref().is_some_and(|text| text.len() > max) {
                return Err(SealError::FieldTooLong {
                    field,
                    bytes_max: max,
                });
            }
        }
        Ok(())
    }
}

/// The id of a sealing key: a random UUID, shown as text.
#[derive(
    Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(transparent)]
pub struct KeyId(pub uuid::Uuid);

impl KeyId {
    /// A fresh random key id.
    pub fn random() -> KeyId {
        KeyId(uuid::Uuid::new_v4())
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyId({})", self.0)
    }
}

/// A 256-bit sealing key. Its `Debug` output hides the bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct SealKey(pub [u8; KEY_BYTES]);

impl SealKey {
    /// A fresh key from the operating system's random generator.
    pub fn generate() -> Result<SealKey, SealError> {
        let mut bytes = [0u8; KEY_BYTES];
        OsRng
            .try_fill_bytes(&mut bytes)
            .map_err(|error| SealError::Randomness(error.to_string()))?;
        Ok(SealKey(bytes))
    }
}

impl fmt::Debug for SealKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SealKey(<secret>)")
    }
}

/// What a key store knows about a key id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyState {
    /// The key exists.
    Present(SealKey),
    /// The key was destroyed (erasure); its data can never be opened again.
    Destroyed,
    /// The store never had this key.
    Unknown,
}

/// Where sealing keys live: outside the chain, so that destroying a key erases the data
/// sealed under it while the chain stays intact and verifiable.
pub trait KeyStore {
    /// Creates and keeps a fresh key, returning its id.
    fn create_key(&mut self) -> Result<KeyId, SealError>;
    /// Looks a key up.
    fn key(&self, id: &KeyId) -> Result<KeyState, SealError>;
    /// Destroys a key for good. Destroying an already destroyed key succeeds; an unknown key
    /// is an error ([`SealError::UnknownKey`]).
    fn destroy_key(&mut self, id: &KeyId) -> Result<(), SealError>;
}

/// A key store in memory, for tests. It remembers destroyed ids so that it can tell erasure
/// from an unknown key.
#[derive(Debug, Default)]
pub struct MemoryKeyStore {
    keys: BTreeMap<KeyId, Option<SealKey>>,
}

impl KeyStore for MemoryKeyStore {
    fn create_key(&mut self) -> Result<KeyId, SealError> {
        let id = KeyId::random();
        self.keys.insert(id.clone(), Some(SealKey::generate()?));
        Ok(id)
    }

    fn key(&self, id: &KeyId) -> Result<KeyState, SealError> {
        Ok(match self.keys.get(id) {
            Some(Some(key)) => KeyState::Present(key.clone()),
            Some(None) => KeyState::Destroyed,
            None => KeyState::Unknown,
        })
    }

    fn destroy_key(&mut self, id: &KeyId) -> Result<(), SealError> {
        match self.keys.get_mut(id) {
            Some(slot) => {
                *slot = None;
                Ok(())
            }
            None => Err(SealError::UnknownKey { key_id: id.clone() }),
        }
    }
}

/// 密文 — personal data sealed under a key: what an act holds instead of the data.
///
/// In JSON the nonce and ciphertext are lowercase hex; in binary encodings they are raw bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Sealed {
    /// The key it is sealed under.
    pub key_id: KeyId,
    /// The 24-byte XChaCha20 nonce.
    #[serde(with = "bytes")]
    #[schemars(with = "String")]
    pub nonce: Vec<u8>,
    /// The ciphertext with its 16-byte Poly1305 tag.
    #[serde(with = "bytes")]
    #[schemars(with = "String")]
    pub ciphertext: Vec<u8>,
}

/// Why sealing or unsealing failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SealError {
    /// The key was destroyed: the data was erased (PIPL) and cannot be opened.
    #[error("个人信息已删除 / personal data erased: key {key_id} was destroyed")]
    KeyErased {
        /// The destroyed key.
        key_id: KeyId,
    },
    /// The key store has never had this key.
    #[error("密钥不存在 / unknown sealing key {key_id}")]
    UnknownKey {
        /// The key asked for.
        key_id: KeyId,
    },
    /// Authentication failed: the ciphertext, nonce or key id was altered, or the context
    /// differs from the one it was sealed with.
    #[error("密文校验失败 / sealed data failed authentication (altered, or opened in the wrong context)")]
    Tampered,
    /// The sealed value is malformed (wrong nonce length, oversized ciphertext, plaintext that
    /// is not personal data).
    #[error("密文格式错误 / malformed sealed data: {0}")]
    Malformed(String),
    /// A field is longer than allowed.
    #[error("字段过长 / {field} is longer than {bytes_max} bytes")]
    FieldTooLong {
        /// The field.
        field: &'static str,
        /// Its limit.
        bytes_max: usize,
    },
    /// The operating system's random generator failed.
    #[error("随机数生成失败 / the random generator failed: {0}")]
    Randomness(String),
    /// The key store failed.
    #[error("密钥库错误 / key store failure: {0}")]
    Store(String),
}

fn associated_data(key_id: &KeyId, context: &str) -> Vec<u8> {
    let mut aad = Vec::with_capacity(AAD_LABEL.len() + 17 + context.len());
    aad.extend_from_slice(AAD_LABEL);
    aad.push(0);
    aad.extend_from_slice(key_id.0.as_bytes());
    aad.extend_from_slice(context.as_bytes());
    aad
}

fn present_key(store: &dyn KeyStore, key_id: &KeyId) -> Result<SealKey, SealError> {
    match store.key(key_id)? {
        KeyState::Present(key) => Ok(key),
        KeyState::Destroyed => Err(SealError::KeyErased {
            key_id: key_id.clone(),
        }),
        KeyState::Unknown => Err(SealError::UnknownKey {
            key_id: key_id.clone(),
        }),
    }
}

/// Seals `data` under a fresh per-person key created in `store`, bound to `context` (e.g. the
/// case id `case/2026-000001`): [`unseal`] must be given the same context.
pub fn seal(
    data: &PersonalData,
    context: &str,
    store: &mut dyn KeyStore,
) -> Result<Sealed, SealError> {
    let key_id = store.create_key()?;
    seal_with_key(data, &key_id, context, store)
}

/// Seals `data` under an existing key, for a person who already has one (so that erasing
/// the person erases every case they filed).
pub fn seal_with_key(
    data: &PersonalData,
    key_id: &KeyId,
    context: &str,
    store: &dyn KeyStore,
) -> Result<Sealed, SealError> {
    data.check()?;
    let key = present_key(store, key_id)?;
    let mut nonce = [0u8; NONCE_BYTES];
    OsRng
        .try_fill_bytes(&mut nonce)
        .map_err(|error| SealError::Randomness(error.to_string()))?;
    let plaintext =
        serde_json::to_vec(data).map_err(|error| SealError::Malformed(error.to_string()))?;
    let cipher = XChaCha20Poly1305::new((&key.0).into());
    let aad = associated_data(key_id, context);
    let ciphertext = cipher
        .encrypt(
            XNonce::from_slice(&nonce),
            Payload {
                msg: &plaintext,
                aad: &aad,
            },
        )
        .map_err(|_| SealError::Malformed("encryption failed".into()))?;
    Ok(Sealed {
        key_id: key_id.clone(),
        nonce: nonce.to_vec(),
        ciphertext,
    })
}

/// Opens sealed personal data. A destroyed key gives [`SealError::KeyErased`]; any change to
/// the nonce, ciphertext or key id, or a different `context`, gives [`SealError::Tampered`].
pub fn unseal(
    sealed: &Sealed,
    context: &str,
    store: &dyn KeyStore,
) -> Result<PersonalData, SealError> {
    if sealed.nonce.len() != NONCE_BYTES {
        return Err(SealError::Malformed(format!(
            "nonce has {} bytes, not {NONCE_BYTES}",
            sealed.nonce.len()
        )));
    }
    if sealed.ciphertext.len() > CIPHERTEXT_BYTES_MAX {
        return Err(SealError::Malformed(format!(
            "ciphertext has {} bytes, more than {CIPHERTEXT_BYTES_MAX}",
            sealed.ciphertext.len()
        )));
    }
    let key = present_key(store, &sealed.key_id)?;
    let cipher = XChaCha20Poly1305::new((&key.0).into());
    let aad = associated_data(&sealed.key_id, context);
    let plaintext = cipher
        .decrypt(
            XNonce::from_slice(&sealed.nonce),
            Payload {
                msg: &sealed.ciphertext,
                aad: &aad,
            },
        )
        .map_err(|_| SealError::Tampered)?;
    let data: PersonalData = serde_json::from_slice(&plaintext)
        .map_err(|error| SealError::Malformed(error.to_string()))?;
    data.check()?;
    Ok(data)
}

/// Byte fields as lowercase hex in human-readable formats (JSON), raw bytes otherwise.
mod bytes {
    use super::*;

    pub fn serialize<S: Serializer>(value: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
        if serializer.is_human_readable() {
            serializer.serialize_str(&hex::encode(value))
        } else {
            serializer.serialize_bytes(value)
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<u8>, D::Error> {
        if deserializer.is_human_readable() {
            let text = String::deserialize(deserializer)?;
            hex::decode(text).map_err(serde::de::Error::custom)
        } else {
            serde_bytes_vec(deserializer)
        }
    }

    fn serde_bytes_vec<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<u8>, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = Vec<u8>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("bytes")
            }
            fn visit_bytes<E: serde::de::Error>(self, value: &[u8]) -> Result<Vec<u8>, E> {
                Ok(value.to_vec())
            }
            fn visit_byte_buf<E: serde::de::Error>(self, value: Vec<u8>) -> Result<Vec<u8>, E> {
                Ok(value)
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Vec<u8>, A::Error> {
                let mut out =
                    Vec::with_capacity(seq.size_hint().unwrap_or(0).min(CIPHERTEXT_BYTES_MAX));
                while let Some(byte) = seq.next_element()? {
                    out.push(byte);
                }
                Ok(out)
            }
        }
        deserializer.deserialize_byte_buf(Visitor)
    }
}
