//! Bearer tokens bound to principals.
//!
//! A token reads `clt1.<id>.<secret>`: the id (16 hex digits) finds the stored entry, the
//! secret (64 hex digits, 256 bits from the operating system's random source) proves
//! possession. Only the SHA-256 of the secret is stored, and it is compared in constant time
//! ([`subtle`]). A plain hash is enough: the secret is random and long, so there is nothing
//! to brute-force that a slow hash would protect. Revocation marks the entry; it stays, so
//! that every act that names the token's user keeps a resolvable author.
//!
//! The entries live in a key/value tree the caller hands in ([`TokenTree`]); the server
//! stores them in a tree of the ledger's store, so tokens are backed up with the ledger, and
//! keeps all of them in memory ([`TokenStore`]): a request's check reads no storage.
//!
//! Issuing and revoking while the server runs goes through the server itself (its admin
//! routes, authenticated by an Office token or by the local [`AdminCredential`]), because
//! the ledger folder is held by one process at a time; see `routes::admin`.

use std::sync::Arc;

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::error::ApiError;
use crate::AppState;

/// The prefix and format version of every token.
pub const TOKEN_PREFIX: &str = "clt1";

/// Name of the key/value tree that holds token entries.
pub const TOKEN_TREE_NAME: &str = "server.tokens";

/// The length of a token's id, in hex digits.
const TOKEN_ID_HEX_LEN: usize = 16;

/// The length of a token's secret, in hex digits.
const TOKEN_SECRET_HEX_LEN: usize = 64;

/// A stored key and its value.
pub type TokenTreeEntry = (Vec<u8>, Vec<u8>);

/// A key/value tree holding token entries. Implemented over the ledger store's trees.
pub trait TokenTree: Send + Sync + 'static {
    /// The value under `key`.
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, String>;
    /// Stores `value` under `key` durably (flushed before returning).
    fn put(&self, key: &[u8], value: &[u8]) -> Result<(), String>;
    /// Every entry, in key order.
    fn entries(&self) -> Result<Vec<TokenTreeEntry>, String>;
}

/// Why a token operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    /// The backing tree failed.
    #[error("token store: {0}")]
    Store(String),
    /// A stored entry does not decode.
    #[error("token entry {id} is corrupt: {reason}")]
    Corrupt {
        /// The token id.
        id: String,
        /// What is wrong with it.
        reason: String,
    },
    /// No token with this id.
    #[error("no token with id {0}")]
    Unknown(String),
    /// The role or unit is not acceptable.
    #[error("invalid principal: {0}")]
    InvalidPrincipal(String),
}

/// Who holds a token: a role and the unit it acts for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenPrincipal {
    /// The role, such as `office` or `township`.
    pub role: String,
    /// The unit id in the registry, such as `office` or `township/dongping`.
    pub unit: String,
    /// The user name recorded as the actor of every act done with this token.
    pub user: String,
}

/// One stored token entry. The secret itself is never stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TokenEntry {
    /// The token id (the non-secret part).
    pub id: String,
    /// SHA-256 of the secret, hex.
    pub secret_sha256: String,
    /// Who it is for.
    pub principal: TokenPrincipal,
    /// When it was issued (RFC 3339, UTC).
    pub issued_at: String,
    /// When it was revoked, if it was.
    pub revoked_at: Option<String>,
}

/// A freshly issued token: the only moment the secret is known.
#[derive(Debug, Clone)]
pub struct IssuedToken {
    /// The id, to revoke it later.
    pub id: String,
    /// The whole token, to hand to its holder. Shown once.
    pub token: String,
}

/// A token entry as the service checks it: the stored hash decoded once, the principal
/// shared with every request that presents the token.
#[derive(Debug)]
struct Known {
    entry: TokenEntry,
    secret_sha256: [u8; 32],
    principal: Arc<TokenPrincipal>,
}

impl Known {
    fn new(entry: TokenEntry) -> Result<Known, TokenError> {
        let mut secret_sha256 = [0u8; 32];
        hex::decode_to_slice(&entry.secret_sha256, &mut secret_sha256).map_err(|_| {
            TokenError::Corrupt {
                id: entry.id.clone(),
                reason: "hash is not 64 hex digits".into(),
            }
        })?;
        Ok(Known {
            principal: Arc::new(entry.principal.clone()),
            secret_sha256,
            entry,
        })
    }
}

/// The token store. Every entry is read into memory when the store opens, so checking a
/// token is a hash-map lookup and a constant-time comparison, never a storage read. The
/// tree is written only through this store while it is open (a running server is the only
/// process holding its ledger folder; the command line reaches a running server through
/// its admin routes, see `routes::admin`), so the map and the tree stay equal: a change is
/// written to the tree, flushed, and only then made visible in the map.
#[derive(Clone)]
pub struct TokenStore {
    tree: Arc<dyn TokenTree>,
    known: Arc<std::sync::RwLock<std::collections::HashMap<String, Arc<Known>>>>,
    /// Serializes changes, so two revocations of one token write once.
    changes: Arc<std::sync::Mutex<()>>,
}

impl std::fmt::Debug for TokenStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenStore")
    }
}

fn secret_digest(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

/// 16 random bytes from the operating system (uuid's v4 generator reads getrandom; the six
/// version and variant bits are fixed, so a v4 UUID carries 122 random bits).
pub(crate) fn random_hex(hex_len: usize) -> String {
    let mut out = String::with_capacity(hex_len + 32);
    while out.len() < hex_len {
        out.push_str(&uuid::Uuid::new_v4().simple().to_string());
    }
    out.truncate(hex_len);
    out
}

/// Splits a presented token into id and secret, or `None` if it does not have the format.
fn split_token(token: &str) -> Option<(&str, &str)> {
    let mut parts = token.split('.');
    let (prefix, id, secret) = (parts.next()?, parts.next()?, parts.next()?);
    let well_formed = prefix == TOKEN_PREFIX
        && parts.next().is_none()
        && id.len() == TOKEN_ID_HEX_LEN
        && secret.len() == TOKEN_SECRET_HEX_LEN
        && id.bytes().all(|b| b.is_ascii_hexdigit())
        && secret.bytes().all(|b| b.is_ascii_hexdigit());
    well_formed.then_some((id, secret))
}

/// Checks the lengths of a principal's fields.
pub fn check_principal_fields(principal: &TokenPrincipal) -> Result<(), TokenError> {
    for (name, value) in [
        ("role", &principal.role),
        ("unit", &principal.unit),
        ("user", &principal.user),
    ] {
        if value.is_empty() || value.len() > caseledger_record::FIELD_BYTES_MAX {
            return Err(TokenError::InvalidPrincipal(format!(
                "{name} must have 1 to {} bytes",
                caseledger_record::FIELD_BYTES_MAX
            )));
        }
    }
    Ok(())
}

impl TokenStore {
    /// A store over `tree`, with every entry read into memory.
    pub fn new(tree: Arc<dyn TokenTree>) -> Result<TokenStore, TokenError> {
        let mut known = std::collections::HashMap::new();
        for (key, value) in tree.entries().map_err(TokenError::Store)? {
            let entry = decode_entry(&String::from_utf8_lossy(&key), &value)?;
            known.insert(entry.id.clone(), Arc::new(Known::new(entry)?));
        }
        Ok(TokenStore {
            tree,
            known: Arc::new(std::sync::RwLock::new(known)),
            changes: Arc::default(),
        })
    }

    /// Issues a token for `principal`, stores its hash and returns it once.
    pub fn issue(&self, principal: TokenPrincipal) -> Result<IssuedToken, TokenError> {
        check_principal_fields(&principal)?;
        let id = random_hex(TOKEN_ID_HEX_LEN);
        let secret = random_hex(TOKEN_SECRET_HEX_LEN);
        let entry = TokenEntry {
            id: id.clone(),
            secret_sha256: hex::encode(secret_digest(&secret)),
            principal,
            issued_at: chrono::Utc::now().to_rfc3339(),
            revoked_at: None,
        };
        let _change = self.changes.lock().unwrap_or_else(|p| p.into_inner());
        self.write(entry)?;
        Ok(IssuedToken {
            token: format!("{TOKEN_PREFIX}.{id}.{secret}"),
            id,
        })
    }

    /// Revokes the token with `id`. Revoking twice is not an error. From the moment this
    /// returns, the token no longer authenticates.
    pub fn revoke(&self, id: &str) -> Result<TokenEntry, TokenError> {
        let _change = self.changes.lock().unwrap_or_else(|p| p.into_inner());
        let mut entry = self
            .get(id)
            .map(|known| known.entry.clone())
            .ok_or_else(|| TokenError::Unknown(id.to_owned()))?;
        if entry.revoked_at.is_none() {
            entry.revoked_at = Some(chrono::Utc::now().to_rfc3339());
            self.write(entry.clone())?;
        }
        Ok(entry)
    }

    /// Every entry, revoked ones included, in id order.
    pub fn list(&self) -> Result<Vec<TokenEntry>, TokenError> {
        let known = self.known.read().unwrap_or_else(|p| p.into_inner());
        let mut entries: Vec<TokenEntry> =
            known.values().map(|known| known.entry.clone()).collect();
        entries.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(entries)
    }

    /// The entry with `id`.
    pub fn entry(&self, id: &str) -> Option<TokenEntry> {
        self.get(id).map(|known| known.entry.clone())
    }

    /// The principal holding `token`, or `None` if the token is unknown, malformed or revoked.
    pub fn authenticate(&self, token: &str) -> Result<Option<TokenPrincipal>, TokenError> {
        Ok(self
            .authenticate_shared(token)
            .map(|principal| (*principal).clone()))
    }

    /// [`TokenStore::authenticate`] without copying the principal: the request path's check.
    pub fn authenticate_shared(&self, token: &str) -> Option<Arc<TokenPrincipal>> {
        let (id, secret) = split_token(token)?;
        let presented = secret_digest(secret);
        let known = self.get(id)?;
        let matches: bool = presented.ct_eq(&known.secret_sha256).into();
        (matches && known.entry.revoked_at.is_none()).then(|| known.principal.clone())
    }

    fn get(&self, id: &str) -> Option<Arc<Known>> {
        let known = self.known.read().unwrap_or_else(|p| p.into_inner());
        known.get(id).cloned()
    }

    /// Writes `entry` durably, then shows it to readers. Call holding `changes`.
    fn write(&self, entry: TokenEntry) -> Result<(), TokenError> {
        let bytes =
            serde_json::to_vec(&entry).map_err(|error| TokenError::Store(error.to_string()))?;
        let known = Arc::new(Known::new(entry)?);
        self.tree
            .put(known.entry.id.as_bytes(), &bytes)
            .map_err(TokenError::Store)?;
        let mut map = self.known.write().unwrap_or_else(|p| p.into_inner());
        map.insert(known.entry.id.clone(), known);
        Ok(())
    }
}

fn decode_entry(id: &str, bytes: &[u8]) -> Result<TokenEntry, TokenError> {
    serde_json::from_slice(bytes).map_err(|error| TokenError::Corrupt {
        id: id.to_owned(),
        reason: error.to_string(),
    })
}

/// The prefix and format version of the local admin credential.
pub const ADMIN_PREFIX: &str = "cla1";

/// The local admin credential of a running server: 256 random bits, made when the server
/// starts and written, readable by the folder's owner only, to
/// `<ledger folder>/`[`ADMIN_FILE_NAME`]. Whoever can read the ledger folder can already
/// manage tokens while the server is stopped; this lets the same operator (the command
/// line) do it while the server runs, through the admin routes. It is not a token: it is
/// never stored in the token tree and dies with the process.
#[derive(Clone)]
pub struct AdminCredential {
    secret_sha256: [u8; 32],
}

/// The file a running server writes its address and admin credential to, in its ledger
/// folder (mode 0600), and removes when it stops.
pub const ADMIN_FILE_NAME: &str = "server-admin.json";

impl std::fmt::Debug for AdminCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AdminCredential")
    }
}

impl AdminCredential {
    /// A fresh credential and its text (`cla1.<64 hex digits>`), to hand to the operator.
    pub fn generate() -> (AdminCredential, String) {
        let secret = random_hex(TOKEN_SECRET_HEX_LEN);
        (
            AdminCredential {
                secret_sha256: secret_digest(&secret),
            },
            format!("{ADMIN_PREFIX}.{secret}"),
        )
    }

    /// Whether `presented` is this credential (compared in constant time).
    pub fn matches(&self, presented: &str) -> bool {
        let Some(secret) = presented
            .strip_prefix(ADMIN_PREFIX)
            .and_then(|rest| rest.strip_prefix('.'))
        else {
            return false;
        };
        secret_digest(secret).ct_eq(&self.secret_sha256).into()
    }
}

/// The bearer token of a request, if it has one.
pub fn bearer(parts: &Parts) -> Result<&str, ApiError> {
    let header_value = parts
        .headers
        .get(header::AUTHORIZATION)
        .ok_or(ApiError::Unauthenticated)?;
    let text = header_value
        .to_str()
        .map_err(|_| ApiError::Unauthenticated)?;
    Ok(text
        .strip_prefix("Bearer ")
        .or_else(|| text.strip_prefix("bearer "))
        .ok_or(ApiError::Unauthenticated)?
        .trim())
}

/// The authenticated caller of a request. Extracting it answers 401 without a valid token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The principal of the token (shared with the token store's entry).
    pub principal: Arc<TokenPrincipal>,
}

impl Caller {
    /// Whether the caller holds one of `roles`.
    pub fn has_role(&self, roles: &[&str]) -> bool {
        roles.contains(&self.principal.role.as_str())
    }

    /// 403 unless the caller holds one of `roles`.
    pub fn require_role(&self, roles: &[&str]) -> Result<(), ApiError> {
        if self.has_role(roles) {
            Ok(())
        } else {
            Err(ApiError::Forbidden {
                zh: format!(
                    "角色“{}”无权执行此操作（需要：{}）",
                    self.principal.role,
                    roles.join("、")
                ),
                en: format!(
                    "The role `{}` may not do this (needs one of: {})",
                    self.principal.role,
                    roles.join(", ")
                ),
            })
        }
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = bearer(parts)?;
        let principal = state
            .tokens()
            .authenticate_shared(token)
            .ok_or(ApiError::Unauthenticated)?;
        Ok(Caller { principal })
    }
}

/// Tokens in a tree of the ledger's store ([`TOKEN_TREE_NAME`]), flushed on every change.
#[derive(Debug, Clone)]
pub struct LedgerTokenTree {
    store: caseledger_log::Store,
    tree: caseledger_log::KvTree,
}

impl LedgerTokenTree {
    /// Opens (or creates) the token tree of `store`.
    pub fn open(store: &caseledger_log::Store) -> Result<LedgerTokenTree, caseledger_log::Error> {
        Ok(LedgerTokenTree {
            tree: store.open_tree(TOKEN_TREE_NAME)?,
            store: store.clone(),
        })
    }
}

impl TokenTree for LedgerTokenTree {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, String> {
        self.tree.get(key).map_err(|error| error.to_string())
    }

    fn put(&self, key: &[u8], value: &[u8]) -> Result<(), String> {
        let mut batch = caseledger_log::KvBatch::new();
        batch.insert(key, value);
        self.tree
            .apply_batch(batch)
            .map_err(|error| error.to_string())?;
        self.store.flush().map_err(|error| error.to_string())
    }

    fn entries(&self) -> Result<Vec<TokenTreeEntry>, String> {
        self.tree
            .iter()
            .collect::<Result<Vec<_>, _>>()
            .map_err(|error| error.to_string())
    }
}

/// A token tree in memory, for tests and for a server run without persistence.
#[derive(Debug, Default)]
pub struct MemoryTokenTree {
    entries: std::sync::Mutex<std::collections::BTreeMap<Vec<u8>, Vec<u8>>>,
}

impl TokenTree for MemoryTokenTree {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, String> {
        let entries = self.entries.lock().map_err(|error| error.to_string())?;
        Ok(entries.get(key).cloned())
    }

    fn put(&self, key: &[u8], value: &[u8]) -> Result<(), String> {
        let mut entries = self.entries.lock().map_err(|error| error.to_string())?;
        entries.insert(key.to_vec(), value.to_vec());
        Ok(())
    }

    fn entries(&self) -> Result<Vec<TokenTreeEntry>, String> {
        let entries = self.entries.lock().map_err(|error| error.to_string())?;
        Ok(entries
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> TokenStore {
        TokenStore::new(Arc::new(MemoryTokenTree::default())).unwrap()
    }

    fn principal() -> TokenPrincipal {
        TokenPrincipal {
            role: "office".into(),
            unit: "office".into(),
            user: "auditor-1".into(),
        }
    }

    #[test]
    fn issued_token_authenticates_until_revoked() {
        let store = store();
        let issued = store.issue(principal()).unwrap();
        assert_eq!(
            store.authenticate(&issued.token).unwrap(),
            Some(principal())
        );
        store.revoke(&issued.id).unwrap();
        assert_eq!(store.authenticate(&issued.token).unwrap(), None);
    }

    #[test]
    fn only_the_hash_is_stored() {
        let store = store();
        let issued = store.issue(principal()).unwrap();
        let secret = issued.token.rsplit('.').next().unwrap();
        let entries = store.tree.entries().unwrap();
        assert_eq!(entries.len(), 1, "one entry for the one token");
        let (key, value) = &entries[0];
        let value = String::from_utf8_lossy(value);
        assert!(!value.contains(secret), "{value}");
        assert!(!String::from_utf8_lossy(key).contains(secret));
        // What is stored instead is the secret's hash.
        let hash = hex::encode(sha2::Sha256::digest(secret.as_bytes()));
        assert!(value.contains(&hash), "{value}");
    }

    #[test]
    fn wrong_or_malformed_tokens_do_not_authenticate() {
        let store = store();
        let issued = store.issue(principal()).unwrap();
        let mut wrong = issued.token.clone();
        let last = wrong.pop().unwrap();
        wrong.push(if last == '0' { '1' } else { '0' });
        for token in [
            wrong.as_str(),
            "",
            "clt1",
            "clt1.x.y",
            "Bearer",
            "clt1.0000000000000000.00",
        ] {
            assert_eq!(store.authenticate(token).unwrap(), None, "{token}");
        }
    }

    #[test]
    fn revoking_an_unknown_id_is_an_error() {
        assert!(matches!(
            store().revoke("0123456789abcdef"),
            Err(TokenError::Unknown(_))
        ));
    }
}
