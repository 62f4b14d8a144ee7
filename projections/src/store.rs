//! The few storage operations a projection needs, as two object-safe traits.
//!
//! Only the storage crate knows sled. The projections reach its trees through [`KvStore`] and
//! [`KvTree`]; an adapter over the log's `Store` implements them in production, and
//! [`MemStore`] implements them in memory for unit tests of the folds. Every write goes
//! through [`KvTree::apply_batch`], which is atomic: a projection's data and its checkpoint
//! live in one tree and are written by one batch, so they never disagree after a crash.

use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::{Arc, Mutex};

/// A storage failure, with the backend's own message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("storage: {0}")]
pub struct StoreError(pub String);

/// An ordered set of writes to one tree, applied atomically. Later writes to the same key
/// replace earlier ones, so the result does not depend on the order of staging.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Writes {
    /// Key to new value, or `None` to remove the key.
    pub entries: BTreeMap<Vec<u8>, Option<Vec<u8>>>,
}

impl Writes {
    /// Stages an insert.
    pub fn put(&mut self, key: Vec<u8>, value: Vec<u8>) {
        self.entries.insert(key, Some(value));
    }

    /// Stages a removal.
    pub fn delete(&mut self, key: Vec<u8>) {
        self.entries.insert(key, None);
    }

    /// Stages many writes at once, in any order; a key staged twice keeps its later write,
    /// and every write here replaces what was staged before under the same key.
    ///
    /// A commit stages about a million index entries in hash order; inserting them one at a
    /// time into the map cost most of the commit. Sorting them once (stable, so the later of
    /// two writes to one key wins) and merging the two sorted maps is linear after the sort.
    pub fn stage_all(&mut self, staged: Vec<(Vec<u8>, Option<Vec<u8>>)>) {
        // `from_iter` sorts stably and keeps the last of equal keys.
        let mut sorted: BTreeMap<Vec<u8>, Option<Vec<u8>>> = staged.into_iter().collect();
        // `append` keeps the appended value of a key present in both.
        self.entries.append(&mut sorted);
    }

    /// How many keys are staged.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether nothing is staged.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// What a visitor tells a scan: go on, or stop here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scan {
    /// Visit the next key.
    Continue,
    /// Stop the scan.
    Stop,
}

/// One ordered key-value tree.
pub trait KvTree: Send + Sync {
    /// The value under `key`.
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError>;
    /// Visits the keys in `[start, end)` (no end: to the last key) in ascending order until the
    /// visitor says stop.
    fn scan(
        &self,
        start: &[u8],
        end: Option<&[u8]>,
        visit: &mut dyn FnMut(&[u8], &[u8]) -> Scan,
    ) -> Result<(), StoreError>;
    /// Applies every write at once: after a crash, all of them are there or none.
    fn apply_batch(&self, writes: Writes) -> Result<(), StoreError>;
    /// Applies the writes one by one, in key order. Not atomic: a crash keeps a prefix of
    /// them. For a tree that a later atomic write declares complete (a shadow generation),
    /// where a store may do this more cheaply than a batch; by default it is one.
    fn write_each(&self, writes: Writes) -> Result<(), StoreError> {
        self.apply_batch(writes)
    }
}

/// A set of named trees.
pub trait KvStore: Send + Sync {
    /// Opens (creating if needed) the tree called `name`.
    fn open_tree(&self, name: &str) -> Result<Arc<dyn KvTree>, StoreError>;
    /// Removes the tree called `name` and its data; `false` if there was none.
    fn drop_tree(&self, name: &str) -> Result<bool, StoreError>;
    /// Makes every write so far durable.
    fn flush(&self) -> Result<(), StoreError>;
}

/// Trees kept in memory: for tests of the folds, and as a reference for the real adapter.
#[derive(Default, Clone)]
pub struct MemStore {
    trees: Arc<Mutex<BTreeMap<String, Arc<MemTree>>>>,
}

/// One in-memory tree of a [`MemStore`].
#[derive(Default)]
pub struct MemTree {
    data: Mutex<BTreeMap<Vec<u8>, Vec<u8>>>,
}

impl MemStore {
    /// An empty store.
    pub fn new() -> MemStore {
        MemStore::default()
    }

    /// The names of the trees that exist, in order.
    pub fn tree_names(&self) -> Vec<String> {
        lock(&self.trees).keys().cloned().collect()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic while holding the lock leaves plain data behind; it is still consistent because
    // every mutation below is a single map operation.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl KvStore for MemStore {
    fn open_tree(&self, name: &str) -> Result<Arc<dyn KvTree>, StoreError> {
        let mut trees = lock(&self.trees);
        let tree = trees.entry(name.to_string()).or_default().clone();
        Ok(tree)
    }

    fn drop_tree(&self, name: &str) -> Result<bool, StoreError> {
        Ok(lock(&self.trees).remove(name).is_some())
    }

    fn flush(&self) -> Result<(), StoreError> {
        Ok(())
    }
}

impl KvTree for MemTree {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(lock(&self.data).get(key).cloned())
    }

    fn scan(
        &self,
        start: &[u8],
        end: Option<&[u8]>,
        visit: &mut dyn FnMut(&[u8], &[u8]) -> Scan,
    ) -> Result<(), StoreError> {
        let data = lock(&self.data);
        let upper = match end {
            Some(end) => Bound::Excluded(end.to_vec()),
            None => Bound::Unbounded,
        };
        for (key, value) in data.range((Bound::Included(start.to_vec()), upper)) {
            if visit(key, value) == Scan::Stop {
                break;
            }
        }
        Ok(())
    }

    fn apply_batch(&self, writes: Writes) -> Result<(), StoreError> {
        let mut data = lock(&self.data);
        for (key, value) in writes.entries {
            match value {
                Some(value) => data.insert(key, value),
                None => data.remove(&key),
            };
        }
        Ok(())
    }
}

/// A key and its value.
pub type Pair = (Vec<u8>, Vec<u8>);

/// Every key and value of a tree, in order: what the equivalence tests compare.
pub fn dump(tree: &dyn KvTree) -> Result<Vec<Pair>, StoreError> {
    let mut out = Vec::new();
    tree.scan(&[], None, &mut |key, value| {
        out.push((key.to_vec(), value.to_vec()));
        Scan::Continue
    })?;
    Ok(out)
}

/// The first key after every key that starts with `prefix`, or `None` when no such key exists
/// (the prefix is all 0xFF).
pub fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xFF {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_end_skips_all_ff_tails() {
        assert_eq!(prefix_end(b"ab"), Some(b"ac".to_vec()));
        assert_eq!(prefix_end(&[1, 0xFF]), Some(vec![2]));
        assert_eq!(prefix_end(&[0xFF, 0xFF]), None);
    }

    #[test]
    fn batch_is_last_write_wins_and_scan_is_ordered() {
        let store = MemStore::new();
        let tree = store.open_tree("t").unwrap();
        let mut writes = Writes::default();
        writes.put(b"b".to_vec(), b"1".to_vec());
        writes.put(b"a".to_vec(), b"2".to_vec());
        writes.delete(b"b".to_vec());
        tree.apply_batch(writes).unwrap();
        assert_eq!(
            dump(tree.as_ref()).unwrap(),
            vec![(b"a".to_vec(), b"2".to_vec())]
        );
        assert!(store.drop_tree("t").unwrap());
        assert!(!store.drop_tree("t").unwrap());
    }

    #[test]
    fn stage_all_keeps_the_later_write_of_a_key() {
        let mut writes = Writes::default();
        writes.put(b"a".to_vec(), b"old".to_vec());
        writes.put(b"z".to_vec(), b"kept".to_vec());
        writes.stage_all(vec![
            (b"c".to_vec(), Some(b"1".to_vec())),
            (b"a".to_vec(), None),
            (b"b".to_vec(), Some(b"2".to_vec())),
            (b"c".to_vec(), Some(b"3".to_vec())),
            (b"a".to_vec(), Some(b"new".to_vec())),
        ]);
        let staged: Vec<_> = writes.entries.into_iter().collect();
        assert_eq!(
            staged,
            vec![
                (b"a".to_vec(), Some(b"new".to_vec())),
                (b"b".to_vec(), Some(b"2".to_vec())),
                (b"c".to_vec(), Some(b"3".to_vec())),
                (b"z".to_vec(), Some(b"kept".to_vec())),
            ]
        );
    }
}
