//! Key-value storage for the crates built on the log (projections, the Merkle tree), so that
//! they never depend on sled themselves. Trees whose names start with [`RESERVED_PREFIX`]
//! belong to the log and cannot be opened or dropped here: there is no path to update or
//! delete a record.

use std::ops::{Bound, RangeBounds};

use crate::error::Error;

/// Tree names starting with this belong to the log itself.
pub const RESERVED_PREFIX: &str = "ledger/";

/// The storage of one ledger, shared with the log. Cheap to clone.
#[derive(Clone)]
pub struct Store {
    db: sled::Db,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Store")
    }
}

impl Store {
    pub(crate) fn new(db: sled::Db) -> Store {
        Store { db }
    }

    fn check_name(name: &str) -> Result<(), Error> {
        if name.is_empty() || name.starts_with(RESERVED_PREFIX) {
            return Err(Error::invalid(format!(
                "tree name {name:?} is empty or reserved for the log (prefix {RESERVED_PREFIX:?})"
            )));
        }
        Ok(())
    }

    /// Opens (or creates) a tree of key-value pairs, ordered by key bytes.
    pub fn open_tree(&self, name: &str) -> Result<KvTree, Error> {
        Store::check_name(name)?;
        Ok(KvTree {
            tree: self.db.open_tree(name)?,
        })
    }

    /// Removes a whole tree (a projection being rebuilt). Returns whether it existed.
    pub fn drop_tree(&self, name: &str) -> Result<bool, Error> {
        Store::check_name(name)?;
        Ok(self.db.drop_tree(name)?)
    }

    /// Names of the trees that are not the log's own.
    pub fn tree_names(&self) -> Vec<String> {
        self.db
            .tree_names()
            .into_iter()
            .filter_map(|name| String::from_utf8(name.to_vec()).ok())
            .filter(|name| Store::check_name(name).is_ok() && name != "__sled__default")
            .collect()
    }

    /// Makes everything written so far durable. Observers running inside the writer do not
    /// need this: the writer flushes after them. Rebuilds outside the writer do.
    pub fn flush(&self) -> Result<(), Error> {
        self.db.flush()?;
        Ok(())
    }
}

/// One ordered tree of a [`Store`].
#[derive(Clone)]
pub struct KvTree {
    tree: sled::Tree,
}

impl std::fmt::Debug for KvTree {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KvTree")
    }
}

/// A key and its value.
pub type KvPair = (Vec<u8>, Vec<u8>);

/// Writes to one tree applied together: after a crash either all of them or none are there.
#[derive(Default, Debug)]
pub struct KvBatch {
    batch: sled::Batch,
    len: usize,
}

impl KvBatch {
    /// An empty batch.
    pub fn new() -> KvBatch {
        KvBatch::default()
    }

    /// Sets `key` to `value`.
    pub fn insert(&mut self, key: impl AsRef<[u8]>, value: impl AsRef<[u8]>) {
        self.batch.insert(key.as_ref(), value.as_ref());
        self.len += 1;
    }

    /// Removes `key`.
    pub fn remove(&mut self, key: impl AsRef<[u8]>) {
        self.batch.remove(key.as_ref());
        self.len += 1;
    }

    /// How many writes it holds.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

fn pair(item: sled::Result<(sled::IVec, sled::IVec)>) -> Result<KvPair, Error> {
    let (key, value) = item?;
    Ok((key.to_vec(), value.to_vec()))
}

fn owned_bound(bound: Bound<&[u8]>) -> Bound<Vec<u8>> {
    match bound {
        Bound::Included(key) => Bound::Included(key.to_vec()),
        Bound::Excluded(key) => Bound::Excluded(key.to_vec()),
        Bound::Unbounded => Bound::Unbounded,
    }
}

impl KvTree {
    /// The value of `key`.
    pub fn get(&self, key: impl AsRef<[u8]>) -> Result<Option<Vec<u8>>, Error> {
        Ok(self.tree.get(key)?.map(|value| value.to_vec()))
    }

    /// Applies a batch atomically.
    pub fn apply_batch(&self, batch: KvBatch) -> Result<(), Error> {
        self.tree.apply_batch(batch.batch)?;
        Ok(())
    }

    /// Writes each pair (`None` removes the key) with an operation of its own, in order.
    /// Cheaper than a batch for many writes (no process-wide batch lock, no epoch held across
    /// them all), but not atomic: a crash keeps a prefix of them. For trees nobody reads until
    /// a later atomic write says they are complete, such as a projection being rebuilt.
    pub fn write_each(
        &self,
        writes: impl IntoIterator<Item = (Vec<u8>, Option<Vec<u8>>)>,
    ) -> Result<(), Error> {
        for (key, value) in writes {
            match value {
                Some(value) => self.tree.insert(key, value)?,
                None => self.tree.remove(key)?,
            };
        }
        Ok(())
    }

    /// Pairs with keys in `range`, in key order (reverse with `.rev()`).
    pub fn range<K: AsRef<[u8]>, R: RangeBounds<K>>(
        &self,
        range: R,
    ) -> impl DoubleEndedIterator<Item = Result<KvPair, Error>> {
        let start = owned_bound(range.start_bound().map(|key| key.as_ref()));
        let end = owned_bound(range.end_bound().map(|key| key.as_ref()));
        self.tree.range::<Vec<u8>, _>((start, end)).map(pair)
    }

    /// Pairs whose key starts with `prefix`, in key order.
    pub fn scan_prefix(
        &self,
        prefix: impl AsRef<[u8]>,
    ) -> impl DoubleEndedIterator<Item = Result<KvPair, Error>> {
        self.tree.scan_prefix(prefix).map(pair)
    }

    /// All pairs in key order.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = Result<KvPair, Error>> {
        self.tree.iter().map(pair)
    }

    /// The pair with the greatest key.
    pub fn last(&self) -> Result<Option<KvPair>, Error> {
        Ok(self
            .tree
            .last()?
            .map(|(key, value)| (key.to_vec(), value.to_vec())))
    }

    /// Whether the tree is empty.
    pub fn is_empty(&self) -> bool {
        self.tree.is_empty()
    }
}
