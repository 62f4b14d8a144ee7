//! The Merkle tree kept in the ledger's store: the writer's [`Observer`], the durable state it
//! keeps, and the [`NodeStore`] proofs are read from.
//!
//! # Storage
//!
//! One tree of the ledger's store, [`TREE_NAME`]:
//! - `n` ‖ level (1 byte) ‖ index (u64 big-endian) → the 32-byte hash of the complete subtree
//!   `(level, index)`, for levels at or above the stored level (default 4: one node per 8
//!   records);
//! - `l` ‖ block index (u64 big-endian) → the leaf hashes of one complete block of
//!   `2^stored_level` records (512 bytes at level 4), written when its last record is;
//! - `state` → format byte 1, tree size (u64 big-endian), stored level (1 byte), the number of
//!   leaves of the last, incomplete block (1 byte) and their leaf hashes.
//!
//! New nodes, completed blocks and the new state are written in one atomic sled batch, so
//! the stored tree and its size never disagree; but only once [`WRITE_RECORDS`] records have
//! gathered (and at the end of attaching), because each sled batch costs the writer
//! 100–190 µs whatever its size (measured), several µs a record at the group-commit batch
//! sizes of 64 submitters. Until written, they are served from memory. After a crash the
//! stored tree is behind the log by less than [`WRITE_RECORDS`] records, and attaching
//! catches it up from the log. The last, incomplete block's leaf hashes are kept in the
//! state, so the tree resumes without reading the log.
//!
//! Why leaf hashes are stored per block rather than recomputed from the records on each
//! proof: the log keeps each writer batch (up to thousands of records) as one value, so
//! reading 16 records costs the whole batch (measured: 220 µs p50 for 16 records out of
//! batches of 2,048, against one 512-byte read here). They cost 32 bytes per record. The
//! records remain the authority: opening re-hashes them against the latest checkpoint (see
//! [`crate::OpenCheck`]), and a bundle's leaf hashes are computed from its raw bytes, so a
//! record altered after the fact no longer verifies against the signed root and is refused
//! when a bundle is assembled.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, RwLock};

use caseledger_log::{Committed, ErrorKind, KvBatch, KvTree, Ledger, Observer};
use caseledger_proof::merkle::{leaf_hash, Hash, NodeStore, StoreError, StoredNode, TreeAppender};

use crate::{EvidenceError, OpenCheckStatus};

/// The store tree holding the Merkle nodes and the tree's state.
pub const TREE_NAME: &str = "evidence/tree";

/// The observer's name in the log's errors.
pub const OBSERVER_NAME: &str = "evidence-tree";

/// Records gathered in memory before the tree's new nodes and state are written to sled.
pub const WRITE_RECORDS: u64 = 4096;

const NODE_PREFIX: u8 = b'n';
const BLOCK_PREFIX: u8 = b'l';
const STATE_KEY: &[u8] = b"state";
const STATE_FORMAT: u8 = 1;

/// The store key of node `(level, index)`.
pub(crate) fn node_key(level: u8, index: u64) -> [u8; 10] {
    let mut key = [0u8; 10];
    key[0] = NODE_PREFIX;
    key[1] = level;
    key[2..].copy_from_slice(&index.to_be_bytes());
    key
}

/// The store key of the leaf hashes of block `block`.
fn block_key(block: u64) -> [u8; 9] {
    let mut key = [0u8; 9];
    key[0] = BLOCK_PREFIX;
    key[1..].copy_from_slice(&block.to_be_bytes());
    key
}

fn hash_of(bytes: &[u8]) -> Option<Hash> {
    Some(Hash(bytes.try_into().ok()?))
}

/// Every stored node, in memory too: `levels[level][index]`. Nodes of one level complete in
/// index order, so each level is a vector. At one node per 8 records this is 4 bytes a
/// record (40 MB for 10 million records), and it saves a proof some 40 random sled reads,
/// most of them cold at that size (measured: p99 4.1 ms with sled reads, 10 million records).
#[derive(Default)]
pub(crate) struct NodeCache {
    levels: Vec<Vec<Hash>>,
    /// Completed blocks of leaf hashes not yet written to sled.
    pending_blocks: std::collections::BTreeMap<u64, Vec<Hash>>,
    /// The tree size and the leaf hashes of its last, incomplete block.
    tail: (u64, Vec<Hash>),
}

impl NodeCache {
    fn push(&mut self, node: &StoredNode) -> Result<(), EvidenceError> {
        let level = usize::from(node.level);
        if self.levels.len() <= level {
            self.levels.resize_with(level + 1, Vec::new);
        }
        let nodes = &mut self.levels[level];
        if node.index != nodes.len() as u64 {
            return Err(EvidenceError::TreeState(format!(
                "node (level {}, index {}) follows {} nodes of its level",
                node.level,
                node.index,
                nodes.len()
            )));
        }
        nodes.push(node.hash);
        Ok(())
    }

    pub(crate) fn get(&self, level: u8, index: u64) -> Option<Hash> {
        let nodes = self.levels.get(usize::from(level))?;
        nodes.get(usize::try_from(index).ok()?).copied()
    }
}

/// The tree as the writer maintains it.
pub(crate) struct TreeState {
    appender: TreeAppender,
    /// Leaf hashes of the last, incomplete block (fewer than `2^stored_level_min`).
    tail: Vec<Hash>,
    tree: KvTree,
    cache: Arc<RwLock<NodeCache>>,
    /// Nodes not yet written to sled.
    pending_nodes: Vec<StoredNode>,
    /// Records applied since the last write to sled.
    pending_records: u64,
}

/// Serves [`TreeAppender::resume`]: nodes from the store, the last block's leaves from the
/// state.
struct ResumeStore<'a> {
    tree: &'a KvTree,
    tail: &'a [Hash],
    size: u64,
}

impl NodeStore for ResumeStore<'_> {
    fn node(&self, level: u8, index: u64) -> Result<Option<Hash>, StoreError> {
        read_node(self.tree, level, index)
    }

    fn leaf_hashes(&self, start: u64, end: u64) -> Result<Vec<Hash>, StoreError> {
        let first = self.size - self.tail.len() as u64;
        if start < first || end > self.size {
            return Err(StoreError::new(format!(
                "leaves {start}..{end} are not in the stored last block {first}..{}",
                self.size
            )));
        }
        Ok(self.tail[(start - first) as usize..(end - first) as usize].to_vec())
    }
}

fn read_node(tree: &KvTree, level: u8, index: u64) -> Result<Option<Hash>, StoreError> {
    let Some(value) = tree.get(node_key(level, index)).map_err(StoreError::new)? else {
        return Ok(None);
    };
    hash_of(&value).map(Some).ok_or_else(|| {
        StoreError::new(format!(
            "node (level {level}, index {index}) holds {} bytes, not 32",
            value.len()
        ))
    })
}

impl TreeState {
    /// The tree stored in `tree`, or an empty one.
    pub(crate) fn load(
        tree: KvTree,
        stored_level_min: u8,
        cache: Arc<RwLock<NodeCache>>,
    ) -> Result<TreeState, EvidenceError> {
        let corrupt = |why: &str| EvidenceError::TreeState(why.to_owned());
        {
            let mut loaded = NodeCache::default();
            for item in tree.scan_prefix([NODE_PREFIX]) {
                let (key, value) = item?;
                let (Ok(index), Some(hash)) = (<[u8; 8]>::try_from(&key[2..]), hash_of(&value))
                else {
                    return Err(corrupt("a node key or value has the wrong length"));
                };
                loaded.push(&StoredNode {
                    level: key[1],
                    index: u64::from_be_bytes(index),
                    hash,
                })?;
            }
            *cache
                .write()
                .unwrap_or_else(|poisoned| poisoned.into_inner()) = loaded;
        }
        let Some(state) = tree.get(STATE_KEY)? else {
            return Ok(TreeState {
                appender: TreeAppender::new(stored_level_min)?,
                tail: Vec::new(),
                tree,
                cache,
                pending_nodes: Vec::new(),
                pending_records: 0,
            });
        };
        if state.len() < 11 || state[0] != STATE_FORMAT {
            return Err(corrupt("unknown or short state"));
        }
        let size = u64::from_be_bytes(state[1..9].try_into().expect("8 bytes"));
        if state[9] != stored_level_min {
            return Err(EvidenceError::TreeState(format!(
                "the tree was built with stored level {}, not {stored_level_min}",
                state[9]
            )));
        }
        let count = usize::from(state[10]);
        if state.len() != 11 + 32 * count || count as u64 != size % (1u64 << stored_level_min) {
            return Err(corrupt(
                "the last block's leaves do not match the tree size",
            ));
        }
        let tail: Vec<Hash> = state[11..]
            .chunks_exact(32)
            .map(|chunk| hash_of(chunk).expect("32 bytes"))
            .collect();
        let appender = TreeAppender::resume(
            &ResumeStore {
                tree: &tree,
                tail: &tail,
                size,
            },
            size,
            stored_level_min,
        )?;
        cache
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .tail = (size, tail.clone());
        Ok(TreeState {
            appender,
            tail,
            tree,
            cache,
            pending_nodes: Vec::new(),
            pending_records: 0,
        })
    }

    /// The number of leaves (records) in the tree.
    pub(crate) fn size(&self) -> u64 {
        self.appender.size()
    }

    /// The current root.
    pub(crate) fn root(&self) -> Hash {
        self.appender.root()
    }

    fn state_bytes(&self) -> Vec<u8> {
        let mut state = Vec::with_capacity(11 + 32 * self.tail.len());
        state.push(STATE_FORMAT);
        state.extend_from_slice(&self.size().to_be_bytes());
        state.push(self.appender.stored_level_min());
        state.push(u8::try_from(self.tail.len()).expect("a block has at most 2^16 leaves"));
        for leaf in &self.tail {
            state.extend_from_slice(&leaf.0);
        }
        state
    }

    /// Appends records (gapless, right after the tree); writes to sled once
    /// [`WRITE_RECORDS`] have gathered.
    pub(crate) fn apply(&mut self, records: &[Committed]) -> Result<(), EvidenceError> {
        let block_leaves = 1u64 << self.appender.stored_level_min();
        let mut nodes: Vec<StoredNode> = Vec::with_capacity(records.len() / 4 + 2);
        let mut completed: Vec<(u64, Vec<Hash>)> = Vec::new();
        for committed in records {
            if committed.position != self.size() + 1 {
                return Err(EvidenceError::Gap {
                    expected: self.size() + 1,
                    found: committed.position,
                });
            }
            let leaf = leaf_hash(&committed.bytes);
            self.appender.append(leaf, &mut nodes);
            self.tail.push(leaf);
            // A power of two: the mask test keeps the 1.85 toolchain floor.
            if self.size() & (block_leaves - 1) == 0 {
                completed.push((
                    self.size() / block_leaves - 1,
                    std::mem::take(&mut self.tail),
                ));
            }
        }
        {
            let mut cache = self
                .cache
                .write()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            for node in &nodes {
                cache.push(node)?;
            }
            cache.pending_blocks.extend(completed);
            cache.tail = (self.size(), self.tail.clone());
        }
        self.pending_nodes.extend(nodes);
        self.pending_records += records.len() as u64;
        if self.pending_records >= WRITE_RECORDS {
            self.write()?;
        }
        Ok(())
    }

    /// Writes the gathered nodes and blocks and the state to sled, in one atomic batch.
    pub(crate) fn write(&mut self) -> Result<(), EvidenceError> {
        let blocks: Vec<(u64, Vec<Hash>)> = self
            .cache
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .pending_blocks
            .iter()
            .map(|(block, leaves)| (*block, leaves.clone()))
            .collect();
        let mut batch = KvBatch::new();
        for (block, leaves) in &blocks {
            let mut bytes = Vec::with_capacity(32 * leaves.len());
            for leaf in leaves {
                bytes.extend_from_slice(&leaf.0);
            }
            batch.insert(block_key(*block), bytes);
        }
        for node in &self.pending_nodes {
            batch.insert(node_key(node.level, node.index), node.hash.0);
        }
        batch.insert(STATE_KEY, self.state_bytes());
        self.tree.apply_batch(batch)?;
        // Readers find the blocks in sled from now on.
        let mut cache = self
            .cache
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        for (block, _) in &blocks {
            cache.pending_blocks.remove(block);
        }
        self.pending_nodes.clear();
        self.pending_records = 0;
        Ok(())
    }
}

/// What the writer's observer and the attached [`crate::Evidence`] share.
#[derive(Default)]
pub(crate) struct Shared {
    /// The tree, once attached.
    pub(crate) slot: Mutex<Option<TreeState>>,
    /// The stored nodes, in memory.
    pub(crate) cache: Arc<RwLock<NodeCache>>,
    /// The tree size at which a checkpoint falls due by count (set by the checkpointer).
    pub(crate) due_at: AtomicU64,
    /// Wakes the checkpointer.
    pub(crate) signal: Mutex<Signal>,
    pub(crate) wake: Condvar,
    /// The open check's outcome so far; once it failed, nothing is served.
    pub(crate) check: Mutex<OpenCheckStatus>,
    /// Notified when `check` leaves [`OpenCheckStatus::Running`].
    pub(crate) checked: Condvar,
}

/// What the checkpointer is told.
#[derive(Default, Debug)]
pub(crate) struct Signal {
    /// The tree's size after the last batch.
    pub(crate) tree_size: u64,
    /// The evidence is being dropped.
    pub(crate) stop: bool,
}

pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // The guarded state is only replaced whole after a successful write; a panic elsewhere
    // leaves it usable.
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The observer the writer runs in every batch.
pub(crate) struct TreeObserver {
    pub(crate) shared: Arc<Shared>,
}

impl Observer for TreeObserver {
    fn name(&self) -> &str {
        OBSERVER_NAME
    }

    fn apply(&mut self, batch: &[Committed]) -> Result<(), caseledger_log::Error> {
        let observer_error = |reason: String| {
            caseledger_log::Error::new(ErrorKind::Observer {
                name: OBSERVER_NAME.into(),
                reason,
            })
        };
        if let OpenCheckStatus::Failed(why) = &*lock(&self.shared.check) {
            return Err(observer_error(why.clone()));
        }
        let size = {
            let mut slot = lock(&self.shared.slot);
            let Some(state) = slot.as_mut() else {
                return Err(observer_error(
                    "默克尔树尚未接入 / the Merkle tree was not attached before the first append"
                        .into(),
                ));
            };
            state
                .apply(batch)
                .map_err(|error| observer_error(error.to_string()))?;
            state.size()
        };
        // Waking the checkpointer on every batch would cost the writer a context switch per
        // batch; it is woken only when a checkpoint falls due by count (by time it wakes itself).
        if size >= self.shared.due_at.load(Ordering::Relaxed) {
            lock(&self.shared.signal).tree_size = size;
            self.shared.wake.notify_all();
        }
        Ok(())
    }
}

/// Nodes and leaf hashes from the store; the log only as a fallback.
#[derive(Clone)]
pub struct LedgerNodeStore {
    pub(crate) tree: KvTree,
    pub(crate) cache: Arc<RwLock<NodeCache>>,
    pub(crate) ledger: Ledger,
    pub(crate) stored_level_min: u8,
}

impl LedgerNodeStore {
    /// The leaf hashes of `block` as stored: a complete block, or the incomplete last one
    /// from the state. `None` when neither holds it.
    pub(crate) fn block(&self, block: u64) -> Result<Option<Vec<Hash>>, StoreError> {
        {
            let cache = self
                .cache
                .read()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            if let Some(leaves) = cache.pending_blocks.get(&block) {
                return Ok(Some(leaves.clone()));
            }
            if cache.tail.0 >> self.stored_level_min == block {
                return Ok(Some(cache.tail.1.clone()));
            }
        }
        Ok(self
            .tree
            .get(block_key(block))
            .map_err(StoreError::new)?
            .map(|leaves| {
                leaves
                    .chunks_exact(32)
                    .map(|chunk| hash_of(chunk).expect("32 bytes"))
                    .collect()
            }))
    }

    /// The leaf hash of one record as the tree holds it.
    pub(crate) fn leaf(&self, leaf_index: u64) -> Result<Option<Hash>, StoreError> {
        Ok(self
            .leaf_hashes(leaf_index, leaf_index + 1)?
            .first()
            .copied())
    }
}

impl NodeStore for LedgerNodeStore {
    fn node(&self, level: u8, index: u64) -> Result<Option<Hash>, StoreError> {
        let cached = self
            .cache
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .get(level, index);
        match cached {
            Some(hash) => Ok(Some(hash)),
            None => read_node(&self.tree, level, index),
        }
    }

    fn leaf_hashes(&self, start: u64, end: u64) -> Result<Vec<Hash>, StoreError> {
        let mut out = Vec::with_capacity(end.saturating_sub(start) as usize);
        let mut next = start;
        while next < end {
            let block = next >> self.stored_level_min;
            let first = block << self.stored_level_min;
            let block_end = (first + (1u64 << self.stored_level_min)).min(end);
            let leaves = match self.block(block)? {
                Some(leaves) => leaves,
                None => {
                    // Not in the store (a tree being caught up): hash the records.
                    let records = self
                        .ledger
                        .read_range(first + 1, (block_end - first) as usize)
                        .map_err(StoreError::new)?;
                    records
                        .iter()
                        .map(|record| leaf_hash(&record.bytes))
                        .collect()
                }
            };
            let from = (next - first) as usize;
            let to = (block_end - first) as usize;
            match leaves.get(from..to) {
                Some(slice) => out.extend_from_slice(slice),
                None => break,
            }
            next = block_end;
        }
        Ok(out)
    }
}
