//! The Merkle tree of RFC 9162 §2.1 with SHA-256: hashing, proof verification, and proof
//! generation over stored complete-subtree nodes.
//!
//! # Storage model
//!
//! Every node the RFC's recursion needs is either the root of a *complete* subtree — the
//! `2^level` leaves starting at `index * 2^level` — or is folded from a few of them. Complete
//! subtrees never change once their last leaf is appended, so they are the only thing ever
//! stored, addressed by `(level, index)`.
//!
//! Only nodes at `level >= stored_level_min` are stored. A node below that level is
//! recomputed from the leaf hashes of its block (`2^stored_level_min` consecutive leaves),
//! which the store derives from the records themselves. With the default level 4 the tree
//! costs one stored node per 8 records, and a proof reads at most two blocks of 16 leaves plus
//! at most `2 * 64` stored nodes. See `schemas/proof.md` for the measurements behind the
//! choice.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

use sha2::{Digest, Sha256};

pub use caseledger_record::Hash;

/// Domain-separation prefix of a leaf hash (RFC 9162 §2.1.1).
pub const LEAF_PREFIX: u8 = 0x00;
/// Domain-separation prefix of an interior node hash (RFC 9162 §2.1.1).
pub const NODE_PREFIX: u8 = 0x01;

/// The lowest stored level the ledger uses unless configured otherwise: one stored node per 8
/// records, 16 leaves recomputed per proof step below it.
pub const STORED_LEVEL_MIN_DEFAULT: u8 = 4;

/// The highest stored level accepted: a block of `2^16` leaves is already 2 MiB of hashes to
/// recompute for one proof, which defeats the purpose of storing nodes.
pub const STORED_LEVEL_MIN_MAX: u8 = 16;

/// The largest proof accepted by the verifiers: a tree of at most `2^64` leaves has proofs of
/// at most 64 hashes (consistency proofs one more).
pub const PROOF_HASHES_MAX: usize = 65;

/// `SHA-256(0x00 || data)`: the hash of one leaf, here the exact stored bytes of one record.
pub fn leaf_hash(data: &[u8]) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update([LEAF_PREFIX]);
    hasher.update(data);
    Hash(hasher.finalize().into())
}

/// `SHA-256(0x01 || left || right)`: the hash of an interior node.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut hasher = Sha256::new();
    hasher.update([NODE_PREFIX]);
    hasher.update(left.0);
    hasher.update(right.0);
    Hash(hasher.finalize().into())
}

/// The root of the empty tree: `SHA-256()` of nothing (RFC 9162 §2.1.1).
pub fn empty_root() -> Hash {
    Hash(Sha256::digest([]).into())
}

/// The largest power of two strictly smaller than `n` (`n >= 2`): the RFC's split point `k`.
fn split_point(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1u64 << (63 - (n - 1).leading_zeros())
}

/// The root of the tree over all `leaves`, computed directly (O(n)). For small trees, tests
/// and the verifier's own checks; the ledger uses [`TreeReader::root`].
pub fn root_from_leaf_hashes(leaves: &[Hash]) -> Hash {
    match leaves.len() {
        0 => empty_root(),
        1 => leaves[0],
        n => {
            let k = split_point(n as u64) as usize;
            node_hash(
                &root_from_leaf_hashes(&leaves[..k]),
                &root_from_leaf_hashes(&leaves[k..]),
            )
        }
    }
}

/// Why a proof does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// The leaf index is not inside the tree.
    #[error("leaf index {leaf_index} is not below tree size {tree_size} / 叶子序号不在树内")]
    IndexOutOfRange {
        /// The leaf claimed.
        leaf_index: u64,
        /// The size of the tree.
        tree_size: u64,
    },
    /// The old tree is larger than the new one.
    #[error("old tree size {old_size} is larger than new tree size {new_size} / 旧树大于新树")]
    SizeOrder {
        /// The earlier tree size.
        old_size: u64,
        /// The later tree size.
        new_size: u64,
    },
    /// The proof has more hashes than its sizes allow.
    #[error("the proof has too many hashes / 证明中的哈希过多")]
    TooLong,
    /// The proof has fewer hashes than its sizes require.
    #[error("the proof has too few hashes / 证明中的哈希过少")]
    TooShort,
    /// The proof leads to another root than the one claimed.
    #[error(
        "the proof leads to root {computed}, not to {expected} / 证明算出的根哈希与声明的不符"
    )]
    RootMismatch {
        /// The root claimed (signed).
        expected: Hash,
        /// The root the proof leads to.
        computed: Hash,
    },
    /// A consistency proof leads to another old root than the one claimed.
    #[error("the proof leads to old root {computed}, not to {expected} / 证明算出的旧根哈希与声明的不符")]
    OldRootMismatch {
        /// The old root claimed (signed).
        expected: Hash,
        /// The old root the proof leads to.
        computed: Hash,
    },
}

/// The root that an inclusion proof leads to, following RFC 9162 §2.1.3.2 step by step.
pub fn root_from_inclusion_proof(
    leaf_index: u64,
    tree_size: u64,
    leaf: &Hash,
    proof: &[Hash],
) -> Result<Hash, VerifyError> {
    if leaf_index >= tree_size {
        return Err(VerifyError::IndexOutOfRange {
            leaf_index,
            tree_size,
        });
    }
    if proof.len() > PROOF_HASHES_MAX {
        return Err(VerifyError::TooLong);
    }
    let mut f_n = leaf_index;
    let mut s_n = tree_size - 1;
    let mut r = *leaf;
    for p in proof {
        if s_n == 0 {
            return Err(VerifyError::TooLong);
        }
        if f_n & 1 == 1 || f_n == s_n {
            r = node_hash(p, &r);
            while f_n & 1 == 0 && f_n != 0 {
                f_n >>= 1;
                s_n >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        f_n >>= 1;
        s_n >>= 1;
    }
    if s_n != 0 {
        return Err(VerifyError::TooShort);
    }
    Ok(r)
}

/// Checks that `leaf` is at `leaf_index` in the tree of `tree_size` leaves whose root is
/// `root` (RFC 9162 §2.1.3.2).
pub fn verify_inclusion(
    leaf_index: u64,
    tree_size: u64,
    leaf: &Hash,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), VerifyError> {
    let computed = root_from_inclusion_proof(leaf_index, tree_size, leaf, proof)?;
    if computed != *root {
        return Err(VerifyError::RootMismatch {
            expected: *root,
            computed,
        });
    }
    Ok(())
}

/// Checks that the tree of `old_size` leaves with root `old_root` is a prefix of the tree of
/// `new_size` leaves with root `new_root` (RFC 9162 §2.1.4.2). Equal sizes need an empty proof
/// and equal roots; the empty tree is a prefix of every tree, with an empty proof.
pub fn verify_consistency(
    old_size: u64,
    new_size: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> Result<(), VerifyError> {
    if old_size > new_size {
        return Err(VerifyError::SizeOrder { old_size, new_size });
    }
    if proof.len() > PROOF_HASHES_MAX {
        return Err(VerifyError::TooLong);
    }
    if old_size == new_size || old_size == 0 {
        if !proof.is_empty() {
            return Err(VerifyError::TooLong);
        }
        let expected_old = if old_size == 0 {
            empty_root()
        } else {
            *new_root
        };
        if *old_root != expected_old {
            return Err(VerifyError::OldRootMismatch {
                expected: *old_root,
                computed: expected_old,
            });
        }
        return Ok(());
    }
    if proof.is_empty() {
        return Err(VerifyError::TooShort);
    }
    let mut path: Vec<Hash> = Vec::with_capacity(proof.len() + 1);
    if old_size.is_power_of_two() {
        path.push(*old_root);
    }
    path.extend_from_slice(proof);
    let mut f_n = old_size - 1;
    let mut s_n = new_size - 1;
    while f_n & 1 == 1 {
        f_n >>= 1;
        s_n >>= 1;
    }
    let mut f_r = path[0];
    let mut s_r = path[0];
    for c in &path[1..] {
        if s_n == 0 {
            return Err(VerifyError::TooLong);
        }
        if f_n & 1 == 1 || f_n == s_n {
            f_r = node_hash(c, &f_r);
            s_r = node_hash(c, &s_r);
            while f_n & 1 == 0 && f_n != 0 {
                f_n >>= 1;
                s_n >>= 1;
            }
        } else {
            s_r = node_hash(&s_r, c);
        }
        f_n >>= 1;
        s_n >>= 1;
    }
    if s_n != 0 {
        return Err(VerifyError::TooShort);
    }
    if f_r != *old_root {
        return Err(VerifyError::OldRootMismatch {
            expected: *old_root,
            computed: f_r,
        });
    }
    if s_r != *new_root {
        return Err(VerifyError::RootMismatch {
            expected: *new_root,
            computed: s_r,
        });
    }
    Ok(())
}

/// The RFC 9162 definitions transcribed literally over a full list of leaf hashes: O(n) per
/// call. The reference the efficient [`TreeReader`] is tested against; a second
/// implementation can use it the same way.
pub mod reference {
    use super::{root_from_leaf_hashes, split_point, Hash};

    /// `PATH(m, D[n])` of RFC 9162 §2.1.3.1. Panics if `m >= leaves.len()`.
    pub fn inclusion_proof(m: usize, leaves: &[Hash]) -> Vec<Hash> {
        assert!(m < leaves.len(), "leaf index beyond the tree");
        let n = leaves.len();
        if n == 1 {
            return Vec::new();
        }
        let k = split_point(n as u64) as usize;
        if m < k {
            let mut path = inclusion_proof(m, &leaves[..k]);
            path.push(root_from_leaf_hashes(&leaves[k..]));
            path
        } else {
            let mut path = inclusion_proof(m - k, &leaves[k..]);
            path.push(root_from_leaf_hashes(&leaves[..k]));
            path
        }
    }

    /// `PROOF(m, D[n])` of RFC 9162 §2.1.4.1, for `0 < m <= n`. Panics outside that range.
    pub fn consistency_proof(m: usize, leaves: &[Hash]) -> Vec<Hash> {
        assert!(m > 0 && m <= leaves.len(), "old size outside 1..=n");
        subproof(m, leaves, true)
    }

    fn subproof(m: usize, leaves: &[Hash], b: bool) -> Vec<Hash> {
        let n = leaves.len();
        if m == n {
            return if b {
                Vec::new()
            } else {
                vec![root_from_leaf_hashes(leaves)]
            };
        }
        let k = split_point(n as u64) as usize;
        if m <= k {
            let mut proof = subproof(m, &leaves[..k], b);
            proof.push(root_from_leaf_hashes(&leaves[k..]));
            proof
        } else {
            let mut proof = subproof(m - k, &leaves[k..], false);
            proof.push(root_from_leaf_hashes(&leaves[..k]));
            proof
        }
    }
}

/// A failure of the storage behind a [`NodeStore`], carried as is.
#[derive(Debug, thiserror::Error)]
#[error("node store: {0}")]
pub struct StoreError(pub Box<dyn std::error::Error + Send + Sync>);

impl StoreError {
    /// Wraps any storage error.
    pub fn new(error: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> StoreError {
        StoreError(error.into())
    }
}

/// Why a root or proof could not be produced from the store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProofError {
    /// The leaf index is not inside the requested tree.
    #[error("leaf index {leaf_index} is not below tree size {tree_size}")]
    IndexOutOfRange {
        /// The leaf asked for.
        leaf_index: u64,
        /// The tree size asked for.
        tree_size: u64,
    },
    /// A consistency proof was asked from a larger tree to a smaller one, or from size 0.
    #[error("no consistency proof from tree size {old_size} to {new_size}")]
    SizeOrder {
        /// The earlier size.
        old_size: u64,
        /// The later size.
        new_size: u64,
    },
    /// The store lacks a node that must exist for the requested tree size.
    #[error("node (level {level}, index {index}) is missing from the store")]
    MissingNode {
        /// Its level.
        level: u8,
        /// Its index within the level.
        index: u64,
    },
    /// The store returned another number of leaf hashes than asked.
    #[error("leaves {start}..{end} asked, {returned} returned")]
    MissingLeaves {
        /// First leaf asked.
        start: u64,
        /// One past the last leaf asked.
        end: u64,
        /// How many came back.
        returned: usize,
    },
    /// The stored-level setting is out of range.
    #[error("stored level min {0} exceeds {STORED_LEVEL_MIN_MAX}")]
    StoredLevel(u8),
    /// The storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Where complete-subtree nodes and leaf hashes come from. The ledger implements it over
/// sled; [`MemoryStore`] implements it in memory.
pub trait NodeStore {
    /// The root of the complete subtree over leaves `index * 2^level .. (index + 1) * 2^level`,
    /// if stored. Only levels at or above the tree's stored level are ever asked for.
    fn node(&self, level: u8, index: u64) -> Result<Option<Hash>, StoreError>;

    /// The leaf hashes of leaves `start..end` (0-based leaf indexes, so record positions
    /// `start + 1 ..= end`), in order. Only asked for ranges inside one block of
    /// `2^stored_level_min` leaves that lie inside the tree.
    fn leaf_hashes(&self, start: u64, end: u64) -> Result<Vec<Hash>, StoreError>;
}

/// One complete-subtree node to persist, produced by [`TreeAppender`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoredNode {
    /// Height above the leaves: a node at level `l` covers `2^l` leaves.
    pub level: u8,
    /// Position within its level: it covers leaves `index * 2^level ..`.
    pub index: u64,
    /// Its RFC 9162 hash.
    pub hash: Hash,
}

impl StoredNode {
    /// A 9-byte key that sorts by level then index (big-endian), for ordered key-value stores.
    pub fn key(&self) -> [u8; 9] {
        node_key(self.level, self.index)
    }
}

/// The 9-byte store key of node `(level, index)`: the level, then the index big-endian.
pub fn node_key(level: u8, index: u64) -> [u8; 9] {
    let mut key = [0u8; 9];
    key[0] = level;
    key[1..].copy_from_slice(&index.to_be_bytes());
    key
}

/// Reads the nodes of one tree size, recomputing levels below `stored_level_min` from leaf
/// hashes. One per root or proof request, so its block cache never outlives the request.
struct Fetcher<'s, S: NodeStore + ?Sized> {
    store: &'s S,
    stored_level_min: u8,
    /// The tree the request concerns: leaf hashes are never asked for beyond it.
    tree_size: u64,
    blocks: Vec<(u64, Vec<Hash>)>,
}

impl<'s, S: NodeStore + ?Sized> Fetcher<'s, S> {
    fn node(&mut self, level: u8, index: u64) -> Result<Hash, ProofError> {
        if level >= self.stored_level_min {
            return self
                .store
                .node(level, index)?
                .ok_or(ProofError::MissingNode { level, index });
        }
        let block_leaves = 1u64 << self.stored_level_min;
        let first = index << level;
        let block = first / block_leaves;
        let offset = (first - block * block_leaves) as usize;
        let leaves = self.block(block)?;
        let width = 1usize << level;
        match leaves.get(offset..offset + width) {
            Some(slice) => Ok(root_from_leaf_hashes(slice)),
            None => Err(ProofError::MissingNode { level, index }),
        }
    }

    fn block(&mut self, block: u64) -> Result<&[Hash], ProofError> {
        if let Some(found) = self.blocks.iter().position(|(b, _)| *b == block) {
            return Ok(&self.blocks[found].1);
        }
        let block_leaves = 1u64 << self.stored_level_min;
        let start = block * block_leaves;
        let end = (start + block_leaves).min(self.tree_size);
        let leaves = self.store.leaf_hashes(start, end)?;
        if leaves.len() as u64 != end - start {
            return Err(ProofError::MissingLeaves {
                start,
                end,
                returned: leaves.len(),
            });
        }
        self.blocks.push((block, leaves));
        Ok(&self.blocks[self.blocks.len() - 1].1)
    }

    /// `MTH(D[lo:hi])` as the RFC's recursion meets it: `lo` is always aligned to the largest
    /// complete subtree that starts there, so the range splits into complete subtrees.
    fn subtree(&mut self, lo: u64, hi: u64) -> Result<Hash, ProofError> {
        let size = hi - lo;
        debug_assert!(size > 0);
        if size.is_power_of_two() && lo & (size - 1) == 0 {
            let level = size.trailing_zeros() as u8;
            return self.node(level, lo >> level);
        }
        let k = split_point(size);
        let left = self.subtree(lo, lo + k)?;
        let right = self.subtree(lo + k, hi)?;
        Ok(node_hash(&left, &right))
    }
}

/// Produces roots and proofs for any tree size up to the head from a [`NodeStore`]: each one
/// reads O(log n) stored nodes and at most two blocks of leaf hashes.
pub struct TreeReader<'s, S: NodeStore + ?Sized> {
    store: &'s S,
    stored_level_min: u8,
}

impl<'s, S: NodeStore + ?Sized> TreeReader<'s, S> {
    /// A reader over `store`, whose nodes are stored from `stored_level_min` up.
    pub fn new(store: &'s S, stored_level_min: u8) -> Result<Self, ProofError> {
        if stored_level_min > STORED_LEVEL_MIN_MAX {
            return Err(ProofError::StoredLevel(stored_level_min));
        }
        Ok(TreeReader {
            store,
            stored_level_min,
        })
    }

    fn fetcher(&self, tree_size: u64) -> Fetcher<'s, S> {
        Fetcher {
            store: self.store,
            stored_level_min: self.stored_level_min,
            tree_size,
            blocks: Vec::new(),
        }
    }

    /// The root of the tree of the first `tree_size` leaves. The caller ensures `tree_size`
    /// does not exceed the head; beyond it a node or leaf is reported missing.
    pub fn root(&self, tree_size: u64) -> Result<Hash, ProofError> {
        if tree_size == 0 {
            return Ok(empty_root());
        }
        self.fetcher(tree_size).subtree(0, tree_size)
    }

    /// The inclusion proof of leaf `leaf_index` (0-based: record position minus one) in the
    /// tree of `tree_size` leaves: RFC 9162 `PATH`, ordered from the leaf up.
    pub fn inclusion_proof(
        &self,
        leaf_index: u64,
        tree_size: u64,
    ) -> Result<Vec<Hash>, ProofError> {
        if leaf_index >= tree_size {
            return Err(ProofError::IndexOutOfRange {
                leaf_index,
                tree_size,
            });
        }
        let mut fetcher = self.fetcher(tree_size);
        let mut proof = Vec::new();
        let (mut lo, mut hi) = (0u64, tree_size);
        while hi - lo > 1 {
            let k = split_point(hi - lo);
            if leaf_index < lo + k {
                proof.push(fetcher.subtree(lo + k, hi)?);
                hi = lo + k;
            } else {
                proof.push(fetcher.subtree(lo, lo + k)?);
                lo += k;
            }
        }
        proof.reverse();
        Ok(proof)
    }

    /// The consistency proof from the tree of `old_size` leaves to the tree of `new_size`
    /// leaves: RFC 9162 `PROOF`. Empty when the sizes are equal or `old_size` is 0.
    pub fn consistency_proof(&self, old_size: u64, new_size: u64) -> Result<Vec<Hash>, ProofError> {
        if old_size > new_size {
            return Err(ProofError::SizeOrder { old_size, new_size });
        }
        if old_size == 0 || old_size == new_size {
            return Ok(Vec::new());
        }
        let mut fetcher = self.fetcher(new_size);
        let mut proof = Vec::new();
        let (mut lo, mut hi) = (0u64, new_size);
        let mut whole = true;
        loop {
            if old_size == hi {
                if !whole {
                    proof.push(fetcher.subtree(lo, hi)?);
                }
                break;
            }
            let k = split_point(hi - lo);
            if old_size - lo <= k {
                proof.push(fetcher.subtree(lo + k, hi)?);
                hi = lo + k;
            } else {
                proof.push(fetcher.subtree(lo, lo + k)?);
                lo += k;
                whole = false;
            }
        }
        proof.reverse();
        Ok(proof)
    }
}

/// Maintains the right edge of the tree as leaves are appended, and hands back every complete
/// subtree node at or above the stored level the moment it completes, to be persisted in the
/// same batch as the records.
///
/// Its state is at most 64 hashes (one per set bit of the size); [`TreeAppender::resume`]
/// rebuilds it from the store after a restart.
#[derive(Debug, Clone)]
pub struct TreeAppender {
    size: u64,
    /// Roots of the complete subtrees that make up the tree, largest (leftmost) first.
    frontier: Vec<(u8, Hash)>,
    stored_level_min: u8,
}

impl TreeAppender {
    /// An empty tree whose nodes are stored from `stored_level_min` up.
    pub fn new(stored_level_min: u8) -> Result<TreeAppender, ProofError> {
        if stored_level_min > STORED_LEVEL_MIN_MAX {
            return Err(ProofError::StoredLevel(stored_level_min));
        }
        Ok(TreeAppender {
            size: 0,
            frontier: Vec::new(),
            stored_level_min,
        })
    }

    /// The tree of `size` leaves already in `store`, ready to take leaf `size`.
    pub fn resume<S: NodeStore + ?Sized>(
        store: &S,
        size: u64,
        stored_level_min: u8,
    ) -> Result<TreeAppender, ProofError> {
        let mut appender = TreeAppender::new(stored_level_min)?;
        let mut fetcher = Fetcher {
            store,
            stored_level_min,
            tree_size: size,
            blocks: Vec::new(),
        };
        let mut start = 0u64;
        for level in (0..64u8).rev() {
            let width = 1u64 << level;
            if size & width != 0 {
                let hash = fetcher.node(level, start >> level)?;
                appender.frontier.push((level, hash));
                start += width;
            }
        }
        appender.size = size;
        Ok(appender)
    }

    /// The number of leaves appended so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The stored level this appender emits nodes from.
    pub fn stored_level_min(&self) -> u8 {
        self.stored_level_min
    }

    /// The root of the current tree.
    pub fn root(&self) -> Hash {
        let mut nodes = self.frontier.iter().rev();
        let Some((_, last)) = nodes.next() else {
            return empty_root();
        };
        nodes.fold(*last, |right, (_, left)| node_hash(left, &right))
    }

    /// Appends one leaf hash; pushes onto `out` the nodes that completed and must be stored.
    pub fn append(&mut self, leaf: Hash, out: &mut Vec<StoredNode>) {
        self.size += 1;
        let mut level = 0u8;
        let mut hash = leaf;
        loop {
            if level >= self.stored_level_min {
                out.push(StoredNode {
                    level,
                    index: (self.size >> level) - 1,
                    hash,
                });
            }
            match self.frontier.last() {
                Some(&(top_level, top_hash)) if top_level == level => {
                    self.frontier.pop();
                    hash = node_hash(&top_hash, &hash);
                    level += 1;
                }
                _ => break,
            }
        }
        self.frontier.push((level, hash));
    }

    /// Appends leaf hashes in order and returns the nodes to store.
    pub fn append_all(&mut self, leaves: impl IntoIterator<Item = Hash>) -> Vec<StoredNode> {
        let mut out = Vec::new();
        for leaf in leaves {
            self.append(leaf, &mut out);
        }
        out
    }
}

/// A [`NodeStore`] in memory, counting its reads so tests can hold the O(log n) bound.
#[derive(Debug, Default)]
pub struct MemoryStore {
    nodes: HashMap<(u8, u64), Hash>,
    leaves: Vec<Hash>,
    node_reads: AtomicU64,
    leaf_reads: AtomicU64,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }

    /// Stores what a [`TreeAppender`] returned.
    pub fn insert_nodes(&mut self, nodes: &[StoredNode]) {
        for node in nodes {
            self.nodes.insert((node.level, node.index), node.hash);
        }
    }

    /// Adds leaf hashes after those already held (the ledger derives them from records).
    pub fn push_leaves(&mut self, leaves: &[Hash]) {
        self.leaves.extend_from_slice(leaves);
    }

    /// Replaces a stored node, to simulate corruption in tests.
    pub fn overwrite_node(&mut self, level: u8, index: u64, hash: Hash) {
        self.nodes.insert((level, index), hash);
    }

    /// How many nodes are stored.
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// Node reads and leaf-hash reads since the last reset.
    pub fn reads(&self) -> (u64, u64) {
        (
            self.node_reads.load(Ordering::Relaxed),
            self.leaf_reads.load(Ordering::Relaxed),
        )
    }

    /// Sets the read counters to zero.
    pub fn reset_reads(&self) {
        self.node_reads.store(0, Ordering::Relaxed);
        self.leaf_reads.store(0, Ordering::Relaxed);
    }
}

impl NodeStore for MemoryStore {
    fn node(&self, level: u8, index: u64) -> Result<Option<Hash>, StoreError> {
        self.node_reads.fetch_add(1, Ordering::Relaxed);
        Ok(self.nodes.get(&(level, index)).copied())
    }

    fn leaf_hashes(&self, start: u64, end: u64) -> Result<Vec<Hash>, StoreError> {
        self.leaf_reads
            .fetch_add(end.saturating_sub(start), Ordering::Relaxed);
        let end = (end as usize).min(self.leaves.len());
        let start = (start as usize).min(end);
        Ok(self.leaves[start..end].to_vec())
    }
}

/// A whole tree in memory: an appender feeding a [`MemoryStore`]. For tests and tools.
#[derive(Debug)]
pub struct MemoryTree {
    store: MemoryStore,
    appender: TreeAppender,
}

impl MemoryTree {
    /// An empty tree storing nodes from `stored_level_min` up.
    pub fn new(stored_level_min: u8) -> Result<MemoryTree, ProofError> {
        Ok(MemoryTree {
            store: MemoryStore::new(),
            appender: TreeAppender::new(stored_level_min)?,
        })
    }

    /// Appends the record bytes `data` as the next leaf; returns its leaf index.
    pub fn push(&mut self, data: &[u8]) -> u64 {
        self.push_leaf_hash(leaf_hash(data))
    }

    /// Appends a leaf hash; returns its leaf index.
    pub fn push_leaf_hash(&mut self, leaf: Hash) -> u64 {
        let index = self.appender.size();
        let mut out = Vec::new();
        self.appender.append(leaf, &mut out);
        self.store.push_leaves(&[leaf]);
        self.store.insert_nodes(&out);
        index
    }

    /// The number of leaves.
    pub fn size(&self) -> u64 {
        self.appender.size()
    }

    /// The current root.
    pub fn root(&self) -> Hash {
        self.appender.root()
    }

    /// The store behind the tree.
    pub fn store(&self) -> &MemoryStore {
        &self.store
    }

    /// The store, mutable, to corrupt it in tests.
    pub fn store_mut(&mut self) -> &mut MemoryStore {
        &mut self.store
    }

    /// A reader for roots and proofs of any size up to [`MemoryTree::size`].
    pub fn reader(&self) -> TreeReader<'_, MemoryStore> {
        TreeReader {
            store: &self.store,
            stored_level_min: self.appender.stored_level_min(),
        }
    }
}
