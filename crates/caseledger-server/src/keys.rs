//! The store of per-person sealing keys, kept in a tree of the ledger's store, outside the
//! chain: destroying a key erases the personal data sealed under it (PIPL), and the chain
//! stays intact.
//!
//! A key is written before the act that uses it is appended; the writer's flush of that act
//! makes the key durable too (one sled database), so an acknowledged act never refers to a
//! key that a crash lost. A destroyed key leaves an empty value behind, so that erasure can
//! be told from a key that never existed.

use caseledger_domain::seal::{KeyId, KeyState, KeyStore, SealError, SealKey, KEY_BYTES};
use caseledger_log::{KvBatch, KvTree, Store};

/// Name of the tree that holds sealing keys.
pub const KEY_TREE_NAME: &str = "server.seal-keys";

/// Sealing keys in the ledger's store.
#[derive(Debug, Clone)]
pub struct LedgerKeyStore {
    store: Store,
    tree: KvTree,
}

impl LedgerKeyStore {
    /// Opens (or creates) the key tree of `store`.
    pub fn open(store: &Store) -> Result<LedgerKeyStore, caseledger_log::Error> {
        Ok(LedgerKeyStore {
            tree: store.open_tree(KEY_TREE_NAME)?,
            store: store.clone(),
        })
    }

    fn put(&self, id: &KeyId, value: &[u8]) -> Result<(), SealError> {
        let mut batch = KvBatch::new();
        batch.insert(id.0.as_bytes(), value);
        self.tree
            .apply_batch(batch)
            .map_err(|error| SealError::Store(error.to_string()))
    }
}

impl KeyStore for LedgerKeyStore {
    fn create_key(&mut self) -> Result<KeyId, SealError> {
        let id = KeyId::random();
        let key = SealKey::generate()?;
        self.put(&id, &key.0)?;
        Ok(id)
    }

    fn key(&self, id: &KeyId) -> Result<KeyState, SealError> {
        let value = self
            .tree
            .get(id.0.as_bytes())
            .map_err(|error| SealError::Store(error.to_string()))?;
        Ok(match value {
            None => KeyState::Unknown,
            Some(bytes) if bytes.is_empty() => KeyState::Destroyed,
            Some(bytes) => {
                let key: [u8; KEY_BYTES] = bytes.as_slice().try_into().map_err(|_| {
                    SealError::Store(format!("sealing key {id} has {} bytes", bytes.len()))
                })?;
                KeyState::Present(SealKey(key))
            }
        })
    }

    fn destroy_key(&mut self, id: &KeyId) -> Result<(), SealError> {
        if matches!(self.key(id)?, KeyState::Unknown) {
            return Err(SealError::UnknownKey { key_id: id.clone() });
        }
        self.put(id, &[])?;
        // Erasure must survive a crash once it is reported.
        self.store
            .flush()
            .map_err(|error| SealError::Store(error.to_string()))
    }
}
