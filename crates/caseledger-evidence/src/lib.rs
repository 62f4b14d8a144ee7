//! The ledger's evidence (证据): the RFC 9162 Merkle tree maintained by the log's writer,
//! signed checkpoints (检查点) kept in sled and in a file beside it, inclusion and consistency
//! proofs for any tree size up to the head, case evidence bundles (证据包), and the checkpoint
//! key files.
//!
//! The pure parts (hashing, proofs, note signing, the bundle format and its verifier) live in
//! `caseledger-proof`; this crate runs them over a live [`Ledger`].
//!
//! - The writer runs a tree [`Observer`] in every batch, before the flush: it hashes each
//!   record's stored bytes as a leaf and stores the complete subtrees that close (see
//!   [`tree`]). A proof then reads O(log n) stored nodes and at most two blocks of 16 records.
//! - A background thread signs a checkpoint of the acknowledged head every
//!   [`EvidenceOptions::checkpoint_every_records`] records or
//!   [`EvidenceOptions::checkpoint_every_seconds`] seconds; each is stored in sled and
//!   appended, fsynced, to [`file::CHECKPOINTS_FILE_NAME`] in the ledger folder.
//! - On attach, the stored tree must reproduce the latest checkpoint (of sled and the file)
//!   and the log's last records must hash to its leaves, or [`Evidence`] is not created and
//!   the error names the mismatch; then every record is re-hashed, by default in the
//!   background, and a mismatch stops the evidence and the writer ([`OpenCheck`]; the crate
//!   README, "Opening", says what each step detects).
//!
//! Like the projections, the tree joins in two steps, because the log creates its observers
//! before it opens its store: [`observer`] gives the observer to pass to
//! [`Ledger::open_with_observers`], then [`PendingEvidence::attach`] opens the tree, catches
//! it up and checks it. Attach before the first append.
//!
//! ```
//! use caseledger_evidence::{Evidence, EvidenceOptions};
//! use caseledger_log::{Actor, AppendRequest, LedgerOptions};
//! use caseledger_proof::note::NoteSigner;
//!
//! let dir = tempfile::tempdir().unwrap();
//! let key = NoteSigner::generate("caseledger.example/doc").unwrap();
//! let options = EvidenceOptions::new(key.clone());
//! let (ledger, evidence) =
//!     Evidence::open(dir.path(), LedgerOptions::new("caseledger.example/doc"), options).unwrap();
//! for version in 0..3 {
//!     ledger
//!         .append_blocking(AppendRequest {
//!             stream: "case/1".into(),
//!             expected_version: version,
//!             event_id: uuid::Uuid::now_v7(),
//!             actor: Actor { role: "intake".into(), unit: "hotline".into(), user: "op".into() },
//!             kind: "Noted".into(),
//!             schema_version: 1,
//!             payload: b"{}".to_vec(),
//!         })
//!         .unwrap();
//! }
//! let checkpoint = evidence.force_checkpoint().unwrap();
//! assert_eq!(checkpoint.tree_size, 3);
//! let proof = evidence.inclusion_proof(2, 3).unwrap();
//! caseledger_proof::merkle::verify_inclusion(1, 3, &proof.leaf_hash, &proof.proof, &checkpoint.root)
//!     .unwrap();
//! ```
#![deny(missing_docs)]

pub mod file;
pub mod keyfile;
pub mod tree;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use caseledger_log::{KvBatch, KvTree, Ledger, LedgerOptions, Observer, Record};
use caseledger_proof::bundle::{assemble_bundle, AssembleError, BundleSource, EvidenceBundle};
use caseledger_proof::checkpoint::{Checkpoint, CheckpointError};
use caseledger_proof::consistency::ConsistencyProof;
use caseledger_proof::merkle::{
    leaf_hash, Hash, NodeStore as _, ProofError, TreeAppender, TreeReader, STORED_LEVEL_MIN_DEFAULT,
};
use caseledger_proof::note::{NoteSigner, NoteVerifier};

use crate::tree::{lock, LedgerNodeStore, Shared, TreeObserver, TreeState, TREE_NAME};

/// The store tree of signed checkpoints: tree size (u64 big-endian) → the signed note.
pub const CHECKPOINTS_TREE_NAME: &str = "evidence/checkpoints";

/// Records at the end of the log the quick open check re-hashes, by default: at least the
/// records of the last default checkpoint interval, and more than the stored tree can lag
/// behind the log ([`tree::WRITE_RECORDS`]).
pub const OPEN_TAIL_RECORDS_DEFAULT: u64 = 65_536;

/// Records read from the log per step while catching up or re-hashing.
const READ_RECORDS_STEP: usize = 4096;

/// The largest case a bundle is made for (the bundle format's own limit).
pub const BUNDLE_RECORDS_MAX: usize = caseledger_proof::bundle::BUNDLE_RECORDS_MAX;

/// How the tree is brought up when its stored nodes cannot be trusted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Recovery {
    /// Normal: keep the stored tree and require the log to reproduce the latest checkpoint.
    #[default]
    None,
    /// 从日志重建默克尔树 — throw the stored tree away, rebuild it from the log *as it now is*,
    /// skip the check against the latest checkpoint, and sign a new checkpoint of the head at
    /// once. For an operator who has decided to
    /// go on after a refused open; if the log was altered, every later checkpoint is
    /// inconsistent with the earlier ones, and `caseledger-verify consistency` shows it.
    RebuildTreeFromLog,
    /// 核对后重建默克尔树 — for stored nodes that are damaged while the log is sound: first
    /// re-hash the log up to the latest checkpoint and require the signed root; only then throw
    /// the stored tree away and rebuild it from the log. Nothing is forced and nothing new is
    /// signed. When the log does not reproduce the checkpoint, opening is refused with
    /// [`EvidenceError::RootMismatch`] and the stored tree is kept as it was (it is what shows
    /// which records changed). Records after the latest checkpoint are signed by nothing yet:
    /// their leaves are rebuilt from the log as it is, which the log's own open check (chain
    /// links and the head file) vouches for.
    RepairTreeFromLog,
}

/// What opening checks before the evidence serves, beyond the log's own tail check (see the
/// crate README, "Opening", for what each covers).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum OpenCheck {
    /// 全量核对 — the quick check, then every record up to the latest checkpoint re-hashed
    /// before [`PendingEvidence::attach`] returns. O(n) reads of the log.
    Full,
    /// 快速核对，后台全量核对 — the quick check before serving, then every record re-hashed on a
    /// background thread while the ledger serves. If a record no longer reproduces the signed
    /// tree, the evidence refuses to serve from then on, the writer stops taking appends, and
    /// [`Evidence::open_check`] names the mismatch.
    #[default]
    QuickThenFullInBackground,
    /// 仅快速核对 — the quick check only: the stored tree reproduces the latest checkpoint's root
    /// and the log's last [`EvidenceOptions::open_tail_records`] records reproduce their leaves.
    /// For tools and benchmarks that check the whole log some other way.
    Quick,
}

/// Where the open check stands.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum OpenCheckStatus {
    /// The full re-hash is still running in the background; the quick check passed.
    #[default]
    Running,
    /// Every check chosen by [`OpenCheck`] passed (for [`OpenCheck::Quick`]: the quick one).
    Passed,
    /// A check failed: why, in Chinese and English. Nothing is served any more.
    Failed(String),
}

/// How the evidence runs. Start from [`EvidenceOptions::new`].
#[derive(Debug, Clone)]
pub struct EvidenceOptions {
    /// Sign a checkpoint when this many records were appended since the last one.
    pub checkpoint_every_records: u64,
    /// Sign a checkpoint at least this often while records are being appended.
    pub checkpoint_every_seconds: u64,
    /// The signing key; its name must be the ledger's origin.
    pub key: NoteSigner,
    /// The lowest tree level stored (see `caseledger_proof::merkle`).
    pub stored_level_min: u8,
    /// Normal open, or the recovery path.
    pub recovery: Recovery,
    /// What opening checks.
    pub open_check: OpenCheck,
    /// Records at the end of the log the quick open check re-hashes against the stored tree.
    pub open_tail_records: u64,
}

impl EvidenceOptions {
    /// A checkpoint every 65,536 records or 10 seconds, nodes stored from level 4, the quick open
    /// check over the last [`OPEN_TAIL_RECORDS_DEFAULT`] records and the full one in the
    /// background.
    pub fn new(key: NoteSigner) -> EvidenceOptions {
        EvidenceOptions {
            checkpoint_every_records: 65_536,
            checkpoint_every_seconds: 10,
            key,
            stored_level_min: STORED_LEVEL_MIN_DEFAULT,
            recovery: Recovery::None,
            open_check: OpenCheck::default(),
            open_tail_records: OPEN_TAIL_RECORDS_DEFAULT,
        }
    }
}

/// Why evidence could not be kept, checked or produced.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EvidenceError {
    /// The log failed.
    #[error(transparent)]
    Log(#[from] caseledger_log::Error),
    /// The tree could not produce a root or proof.
    #[error("默克尔树 / Merkle tree: {0}")]
    Proof(#[from] ProofError),
    /// A stored checkpoint does not open with the ledger's key.
    #[error("检查点无效 / checkpoint: {0}")]
    Checkpoint(#[from] CheckpointError),
    /// A bundle could not be assembled.
    #[error("证据包 / evidence bundle: {0}")]
    Assemble(#[from] AssembleError),
    /// The checkpoints file failed.
    #[error("检查点文件 {path} 读写失败 / checkpoints file {path}: {source}")]
    File {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// The key is not named after the ledger's origin.
    #[error("签名密钥名称 {key_name:?} 与账本来源 {origin:?} 不符 / the key is named {key_name:?}, the ledger's origin is {origin:?}")]
    KeyName {
        /// The key's name.
        key_name: String,
        /// The ledger's origin.
        origin: String,
    },
    /// The log does not reproduce the latest checkpoint's root.
    #[error(
        "账本与最新检查点不符，拒绝服务：检查点记录数 {tree_size}，检查点根哈希 {checkpoint_root}，由日志重算的根哈希 {log_root}{} / \
         the log does not reproduce the latest checkpoint; refusing to serve: tree size {tree_size}, \
         checkpoint root {checkpoint_root}, root recomputed from the log {log_root}{}",
        first_differing.map(|(a, b)| format!("，首个不符的记录在 {a}..={b}")).unwrap_or_default(),
        first_differing.map(|(a, b)| format!("; first differing records at positions {a}..={b}")).unwrap_or_default()
    )]
    RootMismatch {
        /// The checkpoint's tree size.
        tree_size: u64,
        /// The signed root.
        checkpoint_root: Hash,
        /// The root of the log's first `tree_size` records.
        log_root: Hash,
        /// The first block of records whose hashes differ from the stored tree, if found.
        first_differing: Option<(u64, u64)>,
    },
    /// The stored tree does not reproduce the latest checkpoint's root: the tree (or the
    /// records after its last write, which it was caught up from) was altered or damaged.
    #[error(
        "默克尔树与最新检查点不符，拒绝服务：检查点记录数 {tree_size}，检查点根哈希 {checkpoint_root}，由存储的树算出的根哈希 {tree_root}。\
         caseledger serve --repair-evidence-tree 先核对日志是否仍与该检查点一致，一致才从日志重建树 / \
         the stored Merkle tree does not reproduce the latest checkpoint; refusing to serve: tree size {tree_size}, \
         checkpoint root {checkpoint_root}, root of the stored tree {tree_root}. `caseledger serve --repair-evidence-tree` \
         rebuilds the tree from the log, only if the log still reproduces that checkpoint"
    )]
    TreeMismatch {
        /// The checkpoint's tree size.
        tree_size: u64,
        /// The signed root.
        checkpoint_root: Hash,
        /// The root the stored tree gives at that size.
        tree_root: Hash,
    },
    /// A record of the log no longer hashes to the leaf the tree holds for it.
    #[error(
        "日志第 {position} 条记录与默克尔树中的叶哈希不符（记录或树被改动），拒绝服务。\
         caseledger serve --repair-evidence-tree 先核对日志是否仍与最新签名检查点一致，一致才从日志重建树 / \
         the record at position {position} no longer hashes to its leaf in the Merkle tree (the record or the tree \
         was altered); refusing to serve. `caseledger serve --repair-evidence-tree` rebuilds the tree from the log, \
         only if the log still reproduces the latest signed checkpoint"
    )]
    RecordDiffers {
        /// The first such position found.
        position: u64,
    },
    /// The log reproduces the latest signed checkpoint, but the tree stored beside it differs
    /// from the log: its stored nodes are damaged, and its proofs for those records would not
    /// verify. [`Recovery::RepairTreeFromLog`] rebuilds it.
    #[error(
        "默克尔树存储的节点在记录 {first}..={last} 处与日志不符；日志仍与最新签名检查点一致，损坏的是树（这些记录的证明将无法验证），拒绝服务。\
         可用 caseledger serve --repair-evidence-tree 从日志重建 / \
         the stored Merkle tree differs from the log at records {first}..={last} while the log still reproduces the latest \
         signed checkpoint: the tree's stored nodes are damaged (proofs for these records would not verify); refusing to serve. \
         `caseledger serve --repair-evidence-tree` rebuilds it from the log"
    )]
    TreeDamaged {
        /// The first record of the first damaged block.
        first: u64,
        /// Its last record.
        last: u64,
    },
    /// The open check failed earlier (in the background); nothing is served.
    #[error("{0}")]
    Refused(String),
    /// The latest checkpoint covers more records than the log holds.
    #[error("最新检查点含 {tree_size} 条记录，但日志只有 {head} 条，拒绝服务 / the latest checkpoint covers {tree_size} records but the log holds {head}; refusing to serve")]
    CheckpointBeyondLog {
        /// The checkpoint's size.
        tree_size: u64,
        /// The log's head.
        head: u64,
    },
    /// sled and the checkpoints file hold different checkpoints for one size.
    #[error("数据库与检查点文件中记录数为 {tree_size} 的检查点不同 / sled and the checkpoints file hold different checkpoints of size {tree_size}")]
    Contradiction {
        /// The size.
        tree_size: u64,
    },
    /// The stored tree is larger than the log.
    #[error("默克尔树含 {tree_size} 条记录，日志只有 {head} 条 / the stored tree covers {tree_size} records, the log {head}")]
    TreeAheadOfLog {
        /// The tree's size.
        tree_size: u64,
        /// The log's head.
        head: u64,
    },
    /// The stored tree state is damaged.
    #[error("默克尔树状态损坏 / the stored tree state is damaged: {0}")]
    TreeState(String),
    /// A batch did not follow the tree.
    #[error("记录不连续：应为 {expected}，实为 {found} / records out of order: expected position {expected}, got {found}")]
    Gap {
        /// The position the tree expected.
        expected: u64,
        /// The position it got.
        found: u64,
    },
    /// A request names positions or sizes outside the tree.
    #[error("{zh} / {en}")]
    Range {
        /// Why, in Chinese.
        zh: String,
        /// Why, in English.
        en: String,
    },
    /// The stream has no records.
    #[error("流 {0} 没有记录 / stream {0} has no records")]
    NoRecords(String),
}

/// A signed checkpoint as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCheckpoint {
    /// The records it covers.
    pub tree_size: u64,
    /// The tree's root at that size.
    pub root: Hash,
    /// The signed note, exactly as signed.
    pub note: String,
}

/// An inclusion proof with what it proves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InclusionProof {
    /// The record's position (1-based).
    pub position: u64,
    /// Its leaf index: `position - 1`.
    pub leaf_index: u64,
    /// The tree size the proof is against.
    pub tree_size: u64,
    /// The record's leaf hash, as the tree holds it.
    pub leaf_hash: Hash,
    /// The tree's root at `tree_size`.
    pub root: Hash,
    /// RFC 9162 `PATH`, leaf upwards.
    pub proof: Vec<Hash>,
}

/// The tree before it is attached: hand [`observer`]'s observer to the ledger, then attach.
pub struct PendingEvidence {
    shared: Arc<Shared>,
}

/// The observer to pass to [`Ledger::open_with_observers`] and the handle to attach once the
/// ledger is open.
pub fn observer() -> (PendingEvidence, Box<dyn Observer>) {
    let shared = Arc::new(Shared::default());
    let observer = Box::new(TreeObserver {
        shared: shared.clone(),
    });
    (PendingEvidence { shared }, observer)
}

struct Inner {
    ledger: Ledger,
    shared: Arc<Shared>,
    signer: NoteSigner,
    verifier: NoteVerifier,
    options: EvidenceOptions,
    nodes: LedgerNodeStore,
    checkpoints: KvTree,
    /// The latest checkpoint; also serializes signing.
    latest: Mutex<Option<StoredCheckpoint>>,
}

/// Stops the checkpointer and the background open check when the last [`Evidence`] clone
/// goes.
struct Worker {
    shared: Arc<Shared>,
    threads: [Option<std::thread::JoinHandle<()>>; 2],
}

impl Drop for Worker {
    fn drop(&mut self) {
        lock(&self.shared.signal).stop = true;
        self.shared.wake.notify_all();
        for thread in self.threads.iter_mut().filter_map(Option::take) {
            let _ = thread.join();
        }
    }
}

/// The evidence of one open ledger. Cheap to clone.
#[derive(Clone)]
pub struct Evidence {
    inner: Arc<Inner>,
    _worker: Arc<Worker>,
}

impl std::fmt::Debug for Evidence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Evidence")
            .field("key", &self.inner.verifier.to_text())
            .finish()
    }
}

fn file_error(dir: &Path) -> impl FnOnce(std::io::Error) -> EvidenceError + '_ {
    move |source| EvidenceError::File {
        path: file::path(dir),
        source,
    }
}

fn open_note(note: &str, key: &NoteVerifier) -> Result<StoredCheckpoint, EvidenceError> {
    let checkpoint = Checkpoint::open(note, key)?;
    Ok(StoredCheckpoint {
        tree_size: checkpoint.tree_size(),
        root: checkpoint.root(),
        note: note.to_owned(),
    })
}

/// The latest checkpoint of sled and of the checkpoints file, each opened with the key.
fn latest_stored(
    checkpoints: &KvTree,
    dir: &Path,
    key: &NoteVerifier,
) -> Result<Option<StoredCheckpoint>, EvidenceError> {
    let in_sled = match checkpoints.last()? {
        Some((_, note)) => Some(open_note(&String::from_utf8_lossy(&note), key)?),
        None => None,
    };
    let in_file = match file::read_last(dir).map_err(file_error(dir))? {
        Some(note) => Some(open_note(&note, key)?),
        None => None,
    };
    match (in_sled, in_file) {
        (Some(a), Some(b)) if a.tree_size == b.tree_size => {
            if a.root != b.root {
                return Err(EvidenceError::Contradiction {
                    tree_size: a.tree_size,
                });
            }
            Ok(Some(a))
        }
        (Some(a), Some(b)) => Ok(Some(if a.tree_size > b.tree_size { a } else { b })),
        (a, b) => Ok(a.or(b)),
    }
}

/// The root of the log's first `tree_size` records, every record's stored bytes re-hashed,
/// and, when `stored` is given, the first block of records where the stored tree differs
/// from the log: its node at the stored level (held in memory) or its block of leaf hashes.
/// `stop` is asked every [`READ_RECORDS_STEP`] records; `None` when it said stop.
#[allow(clippy::type_complexity)]
fn root_from_log(
    ledger: &Ledger,
    stored: Option<&LedgerNodeStore>,
    tree_size: u64,
    stored_level_min: u8,
    stop: &dyn Fn() -> bool,
) -> Result<Option<(Hash, Option<(u64, u64)>)>, EvidenceError> {
    let mut appender = TreeAppender::new(stored_level_min)?;
    let mut nodes = Vec::new();
    let mut first_differing = None;
    let mut stopped = false;
    let width = 1u64 << stored_level_min;
    let mut block_leaves = Vec::with_capacity(width as usize);
    let scanned = ledger.scan_bytes(1, tree_size, |position, bytes| {
        let leaf = leaf_hash(bytes);
        appender.append(leaf, &mut nodes);
        block_leaves.push(leaf);
        if position % width == 0 {
            let block = position / width - 1;
            if let (Some(stored), None) = (stored, first_differing) {
                let node_differs = {
                    let cache = stored
                        .cache
                        .read()
                        .unwrap_or_else(|poisoned| poisoned.into_inner());
                    nodes.iter().any(|node| {
                        node.level == stored_level_min
                            && cache.get(node.level, node.index) != Some(node.hash)
                    })
                };
                let leaves_differ = stored.block(block).map_err(ProofError::from)?.as_deref()
                    != Some(block_leaves.as_slice());
                if node_differs || leaves_differ {
                    first_differing = Some((block * width + 1, (block + 1) * width));
                }
            }
            block_leaves.clear();
        }
        nodes.clear();
        if position % READ_RECORDS_STEP as u64 == 0 && stop() {
            stopped = true;
            return Err(EvidenceError::Refused("stopped".into()));
        }
        Ok(())
    });
    if stopped {
        return Ok(None);
    }
    scanned?;
    if appender.size() != tree_size {
        return Err(EvidenceError::CheckpointBeyondLog {
            tree_size,
            head: appender.size(),
        });
    }
    Ok(Some((appender.root(), first_differing)))
}

/// The full open check: every record up to the latest checkpoint re-hashed, the root compared
/// with the signed one, and the stored tree compared with the log block by block.
/// `Ok(false)` when `stop` ended it early.
fn full_check(
    ledger: &Ledger,
    stored: &LedgerNodeStore,
    latest: &StoredCheckpoint,
    stop: &dyn Fn() -> bool,
) -> Result<bool, EvidenceError> {
    let begun = Instant::now();
    let Some((log_root, first_differing)) = root_from_log(
        ledger,
        Some(stored),
        latest.tree_size,
        stored.stored_level_min,
        stop,
    )?
    else {
        return Ok(false);
    };
    if log_root != latest.root {
        return Err(EvidenceError::RootMismatch {
            tree_size: latest.tree_size,
            checkpoint_root: latest.root,
            log_root,
            first_differing,
        });
    }
    if let Some((first, last)) = first_differing {
        // The records are the signed ones; the tree kept beside them is not: its proofs for
        // these records would not verify.
        return Err(EvidenceError::TreeDamaged { first, last });
    }
    tracing::info!(
        tree_size = latest.tree_size,
        seconds = begun.elapsed().as_secs_f64(),
        "full open check passed: every record reproduces the latest checkpoint"
    );
    Ok(true)
}

/// The check [`Recovery::RepairTreeFromLog`] makes before it drops anything: the log's first
/// `latest.tree_size` records give the signed root. Computed from the log alone (the stored
/// tree is the part in doubt), so a mismatch names no differing block.
fn log_reproduces(
    ledger: &Ledger,
    latest: &StoredCheckpoint,
    stored_level_min: u8,
) -> Result<(), EvidenceError> {
    let (log_root, _) = root_from_log(ledger, None, latest.tree_size, stored_level_min, &|| false)?
        .ok_or_else(|| EvidenceError::Refused("the log check stopped".into()))?;
    if log_root != latest.root {
        return Err(EvidenceError::RootMismatch {
            tree_size: latest.tree_size,
            checkpoint_root: latest.root,
            log_root,
            first_differing: None,
        });
    }
    Ok(())
}

/// The quick open check: the stored tree reproduces the latest checkpoint's root (O(log n)
/// stored nodes), and the log's last `tail_records` records hash to the leaves the tree holds.
fn quick_check(
    ledger: &Ledger,
    nodes: &LedgerNodeStore,
    latest: Option<&StoredCheckpoint>,
    tail_records: u64,
) -> Result<(), EvidenceError> {
    let head = ledger.head().position;
    if let Some(latest) = latest {
        if latest.tree_size > head {
            return Err(EvidenceError::CheckpointBeyondLog {
                tree_size: latest.tree_size,
                head,
            });
        }
        let tree_root = TreeReader::new(nodes, nodes.stored_level_min)?.root(latest.tree_size)?;
        if tree_root != latest.root {
            return Err(EvidenceError::TreeMismatch {
                tree_size: latest.tree_size,
                checkpoint_root: latest.root,
                tree_root,
            });
        }
    }
    let mut from = head.saturating_sub(tail_records) + 1;
    while from <= head {
        let to = head.min(from + READ_RECORDS_STEP as u64 - 1);
        let mut leaves = Vec::with_capacity((to - from + 1) as usize);
        ledger.scan_bytes(from, to, |_, bytes| -> Result<(), EvidenceError> {
            leaves.push(leaf_hash(bytes));
            Ok(())
        })?;
        let stored = nodes.leaf_hashes(from - 1, to).map_err(ProofError::from)?;
        if let Some(offset) = (0..leaves.len()).find(|&n| stored.get(n) != Some(&leaves[n])) {
            return Err(EvidenceError::RecordDiffers {
                position: from + offset as u64,
            });
        }
        from = to + 1;
    }
    Ok(())
}

/// The background half of [`OpenCheck::QuickThenFullInBackground`].
fn background_check(
    ledger: &Ledger,
    shared: &Shared,
    stored: &LedgerNodeStore,
    latest: &StoredCheckpoint,
) {
    let stop = || lock(&shared.signal).stop;
    let status = match full_check(ledger, stored, latest, &stop) {
        Ok(true) => OpenCheckStatus::Passed,
        Ok(false) => return,
        Err(error) => {
            tracing::error!(%error, "full open check failed; the evidence stops serving and the writer stops");
            OpenCheckStatus::Failed(error.to_string())
        }
    };
    *lock(&shared.check) = status;
    shared.checked.notify_all();
}

/// Refuses once the open check has failed.
fn serving(shared: &Shared) -> Result<(), EvidenceError> {
    match &*lock(&shared.check) {
        OpenCheckStatus::Failed(why) => Err(EvidenceError::Refused(why.clone())),
        _ => Ok(()),
    }
}

impl PendingEvidence {
    /// Opens the tree in the ledger's store, catches it up to the head, checks that the log
    /// reproduces the latest checkpoint, and starts the checkpointer. On error the tree stays
    /// detached, so the ledger takes no append.
    pub fn attach(
        self,
        ledger: &Ledger,
        options: EvidenceOptions,
    ) -> Result<Evidence, EvidenceError> {
        if options.key.name() != ledger.origin() {
            return Err(EvidenceError::KeyName {
                key_name: options.key.name().to_owned(),
                origin: ledger.origin().to_owned(),
            });
        }
        let store = ledger.store();
        let verifier = options.key.verifier();
        let mut slot = lock(&self.shared.slot);
        let checkpoints = store.open_tree(CHECKPOINTS_TREE_NAME)?;
        match options.recovery {
            Recovery::None => {}
            Recovery::RebuildTreeFromLog => {
                tracing::warn!(
                    "rebuilding the Merkle tree from the log as it now is; earlier checkpoints are not checked"
                );
                store.drop_tree(TREE_NAME)?;
            }
            Recovery::RepairTreeFromLog => {
                let signed = match latest_stored(&checkpoints, ledger.dir(), &verifier)? {
                    Some(latest) => {
                        log_reproduces(ledger, &latest, options.stored_level_min)?;
                        latest.tree_size
                    }
                    None => 0,
                };
                tracing::warn!(
                    signed,
                    unsigned = ledger.head().position - signed,
                    "the log reproduces the latest signed checkpoint; rebuilding the stored Merkle tree from it (records after the checkpoint are taken as the log holds them)"
                );
                store.drop_tree(TREE_NAME)?;
            }
        }
        let tree = store.open_tree(TREE_NAME)?;
        let mut state = TreeState::load(
            tree.clone(),
            options.stored_level_min,
            self.shared.cache.clone(),
        )?;
        let head = ledger.head().position;
        if state.size() > head {
            return Err(EvidenceError::TreeAheadOfLog {
                tree_size: state.size(),
                head,
            });
        }
        while state.size() < head {
            let records = ledger.read_range(state.size() + 1, READ_RECORDS_STEP)?;
            state.apply(&records)?;
        }
        state.write()?;
        store.flush()?;
        let latest = latest_stored(&checkpoints, ledger.dir(), &verifier)?;
        let nodes = LedgerNodeStore {
            tree,
            cache: self.shared.cache.clone(),
            ledger: ledger.clone(),
            stored_level_min: options.stored_level_min,
        };
        let mut status = OpenCheckStatus::Passed;
        // A forced rebuild is checked against nothing (the checkpoint it signs at once is
        // the new reference); a normal open and a repair are checked as usual.
        if options.recovery != Recovery::RebuildTreeFromLog {
            quick_check(ledger, &nodes, latest.as_ref(), options.open_tail_records)?;
            match (&latest, options.open_check) {
                (Some(latest), OpenCheck::Full) => {
                    full_check(ledger, &nodes, latest, &|| false)?;
                }
                (Some(_), OpenCheck::QuickThenFullInBackground) => {
                    status = OpenCheckStatus::Running;
                }
                _ => {}
            }
        }
        *lock(&self.shared.check) = status.clone();
        tracing::info!(tree_size = state.size(), root = %state.root(), ?status, "Merkle tree attached");
        lock(&self.shared.signal).tree_size = state.size();
        *slot = Some(state);
        drop(slot);
        let inner = Arc::new(Inner {
            ledger: ledger.clone(),
            shared: self.shared.clone(),
            signer: options.key.clone(),
            verifier,
            nodes,
            checkpoints,
            latest: Mutex::new(latest.clone()),
            options,
        });
        let latest_for_check = latest;
        let ledger_dir = ledger.dir();
        let worker_inner = inner.clone();
        let thread = std::thread::Builder::new()
            .name("caseledger-checkpointer".into())
            .spawn(move || checkpointer(&worker_inner))
            .map_err(|source| EvidenceError::File {
                path: file::path(ledger.dir()),
                source,
            })?;
        let check_thread = match (&latest_for_check, status) {
            (Some(latest), OpenCheckStatus::Running) => {
                let (ledger, shared, latest) =
                    (ledger.clone(), self.shared.clone(), latest.clone());
                let stored = inner.nodes.clone();
                let spawned = std::thread::Builder::new()
                    .name("caseledger-open-check".into())
                    .spawn(move || background_check(&ledger, &shared, &stored, &latest))
                    .map_err(|source| EvidenceError::File {
                        path: file::path(ledger_dir),
                        source,
                    })?;
                Some(spawned)
            }
            _ => None,
        };
        let evidence = Evidence {
            inner,
            _worker: Arc::new(Worker {
                shared: self.shared,
                threads: [Some(thread), check_thread],
            }),
        };
        if evidence.inner.options.recovery == Recovery::RebuildTreeFromLog {
            // The latest checkpoint no longer matches the rebuilt tree; until one that does is
            // signed, the next normal open would refuse again.
            let signed = evidence.force_checkpoint()?;
            tracing::warn!(tree_size = signed.tree_size, root = %signed.root, "recovery checkpoint signed");
        }
        Ok(evidence)
    }
}

/// Signs a checkpoint whenever one is due, until told to stop.
fn checkpointer(inner: &Inner) {
    let every_records = inner.options.checkpoint_every_records.max(1);
    let every = Duration::from_secs(inner.options.checkpoint_every_seconds.max(1));
    let mut last_signed = Instant::now();
    let mut signal = lock(&inner.shared.signal);
    loop {
        if signal.stop {
            // Records after the latest checkpoint are held only by the unsigned head file:
            // sign them on the way out, so a clean shutdown leaves none unsigned.
            drop(signal);
            let unsigned = inner.ledger.head().position
                > lock(&inner.latest).as_ref().map_or(0, |c| c.tree_size);
            // Not when the open check failed: then nothing more is signed.
            if unsigned && serving(&inner.shared).is_ok() {
                if let Err(error) = checkpoint_now(inner, false) {
                    tracing::error!(%error, "signing the final checkpoint failed");
                }
            }
            return;
        }
        let last_size = lock(&inner.latest).as_ref().map_or(0, |c| c.tree_size);
        inner.shared.due_at.store(
            last_size + every_records,
            std::sync::atomic::Ordering::Relaxed,
        );
        let head = inner.ledger.head().position;
        let due = head >= last_size + every_records
            || (head > last_size && last_signed.elapsed() >= every);
        if due {
            drop(signal);
            if let Err(error) = checkpoint_now(inner, false) {
                tracing::error!(%error, "signing a checkpoint failed; retrying later");
            }
            last_signed = Instant::now();
            signal = lock(&inner.shared.signal);
            continue;
        }
        // The tree is told of a batch before the writer acknowledges it: when records are
        // due but not yet acknowledged, look again shortly.
        let timeout = if signal.tree_size >= last_size + every_records {
            Duration::from_millis(2)
        } else {
            every
                .saturating_sub(last_signed.elapsed())
                .max(Duration::from_millis(2))
        };
        signal = inner
            .shared
            .wake
            .wait_timeout(signal, timeout)
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .0;
    }
}

/// Signs the acknowledged head, unless the latest checkpoint already covers it; stores the
/// note in sled (flushed) and appends it to the checkpoints file (fsynced).
///
/// `forced`: also when the latest covers the head but its root is not the tree's (only after
/// [`Recovery::RebuildTreeFromLog`] over an altered log).
fn checkpoint_now(inner: &Inner, forced: bool) -> Result<StoredCheckpoint, EvidenceError> {
    serving(&inner.shared)?;
    let mut latest = lock(&inner.latest);
    let head = inner.ledger.head().position;
    let covered = latest.as_ref().filter(|current| current.tree_size >= head);
    if let (Some(current), false) = (covered, forced) {
        return Ok(current.clone());
    }
    // The stored tree covers every checkpoint, so a later open can name the first block of
    // records that no longer matches it.
    if let Some(state) = lock(&inner.shared.slot).as_mut() {
        state.write()?;
    }
    let root = TreeReader::new(&inner.nodes, inner.options.stored_level_min)?.root(head)?;
    if let Some(current) = covered.filter(|current| current.root == root) {
        return Ok(current.clone());
    }
    let checkpoint = Checkpoint::new(inner.ledger.origin(), head, root)?;
    let note = checkpoint.sign(&inner.signer)?;
    let mut batch = KvBatch::new();
    batch.insert(head.to_be_bytes(), note.as_bytes());
    inner.checkpoints.apply_batch(batch)?;
    inner.ledger.store().flush()?;
    let dir = inner.ledger.dir();
    file::append(dir, &note).map_err(file_error(dir))?;
    let stored = StoredCheckpoint {
        tree_size: head,
        root,
        note,
    };
    tracing::info!(tree_size = head, %root, "checkpoint signed");
    *latest = Some(stored.clone());
    Ok(stored)
}

impl Evidence {
    /// Opens (or creates) the ledger in `dir` with the tree attached. For ledgers without
    /// projections (tests, benchmarks, tools); the service attaches through [`observer`].
    pub fn open(
        dir: &Path,
        ledger_options: LedgerOptions,
        options: EvidenceOptions,
    ) -> Result<(Ledger, Evidence), EvidenceError> {
        let (pending, observer) = observer();
        let ledger = Ledger::open_with_observers(dir, ledger_options, vec![observer])?;
        let evidence = pending.attach(&ledger, options)?;
        Ok((ledger, evidence))
    }

    /// The ledger's verifier key.
    pub fn verifier(&self) -> &NoteVerifier {
        &self.inner.verifier
    }

    /// The latest signed checkpoint, if any.
    pub fn latest_checkpoint(&self) -> Option<StoredCheckpoint> {
        lock(&self.inner.latest).clone()
    }

    /// Signs a checkpoint of the acknowledged head now (or returns the latest, when it already
    /// covers the head with the tree's root).
    pub fn force_checkpoint(&self) -> Result<StoredCheckpoint, EvidenceError> {
        checkpoint_now(&self.inner, true)
    }

    /// Every checkpoint stored in sled, oldest first.
    pub fn checkpoints(&self) -> Result<Vec<StoredCheckpoint>, EvidenceError> {
        self.inner
            .checkpoints
            .iter()
            .map(|item| {
                let (_, note) = item?;
                open_note(&String::from_utf8_lossy(&note), &self.inner.verifier)
            })
            .collect()
    }

    /// Where the open check stands (see [`OpenCheck`]).
    pub fn open_check(&self) -> OpenCheckStatus {
        lock(&self.inner.shared.check).clone()
    }

    /// Waits until the open check has passed or failed, and says which.
    pub fn wait_open_check(&self) -> OpenCheckStatus {
        let mut status = lock(&self.inner.shared.check);
        while *status == OpenCheckStatus::Running {
            status = self
                .inner
                .shared
                .checked
                .wait(status)
                .unwrap_or_else(|poisoned| poisoned.into_inner());
        }
        status.clone()
    }

    fn reader(&self) -> Result<TreeReader<'_, LedgerNodeStore>, EvidenceError> {
        serving(&self.inner.shared)?;
        Ok(TreeReader::new(
            &self.inner.nodes,
            self.inner.options.stored_level_min,
        )?)
    }

    fn check_size(&self, tree_size: u64) -> Result<(), EvidenceError> {
        let head = self.inner.ledger.head().position;
        if tree_size > head {
            return Err(EvidenceError::Range {
                zh: format!("树大小 {tree_size} 超过账本当前记录数 {head}"),
                en: format!("tree size {tree_size} exceeds the ledger's head {head}"),
            });
        }
        Ok(())
    }

    /// The root of the tree of the first `tree_size` records (at most the head).
    pub fn root(&self, tree_size: u64) -> Result<Hash, EvidenceError> {
        self.check_size(tree_size)?;
        Ok(self.reader()?.root(tree_size)?)
    }

    /// The proof that the record at `position` is in the tree of `tree_size` records.
    pub fn inclusion_proof(
        &self,
        position: u64,
        tree_size: u64,
    ) -> Result<InclusionProof, EvidenceError> {
        self.check_size(tree_size)?;
        if position == 0 || position > tree_size {
            return Err(EvidenceError::Range {
                zh: format!("位置 {position} 不在 1..={tree_size} 之内"),
                en: format!("position {position} is not within 1..={tree_size}"),
            });
        }
        let reader = self.reader()?;
        let proof = reader.inclusion_proof(position - 1, tree_size)?;
        let Some(leaf) = self
            .inner
            .nodes
            .leaf(position - 1)
            .map_err(ProofError::from)?
        else {
            return Err(EvidenceError::Range {
                zh: format!("位置 {position} 没有记录"),
                en: format!("no record at position {position}"),
            });
        };
        Ok(InclusionProof {
            position,
            leaf_index: position - 1,
            tree_size,
            leaf_hash: leaf,
            root: reader.root(tree_size)?,
            proof,
        })
    }

    /// The proof that the tree of `from` records is a prefix of the tree of `to` records, in
    /// the file format `caseledger-verify consistency` reads.
    pub fn consistency_proof(&self, from: u64, to: u64) -> Result<ConsistencyProof, EvidenceError> {
        self.check_size(to)?;
        if from == 0 || from > to {
            return Err(EvidenceError::Range {
                zh: format!("需要 1 <= from <= to，实为 from={from}, to={to}"),
                en: format!("need 1 <= from <= to, got from={from}, to={to}"),
            });
        }
        let proof = self.reader()?.consistency_proof(from, to)?;
        Ok(ConsistencyProof::new(from, to, &proof))
    }

    /// The evidence bundle of `stream`: all its records, each proven against one signed
    /// checkpoint. When the stream has records after the latest checkpoint, a new one is
    /// signed first, so the bundle holds the whole stream. `act` decodes a record for display.
    pub fn bundle(
        &self,
        stream: &str,
        generated_at: &str,
        act: impl Fn(&Record) -> Option<serde_json::Value>,
    ) -> Result<EvidenceBundle, EvidenceError> {
        serving(&self.inner.shared)?;
        let records = self
            .inner
            .ledger
            .read_stream(stream, 1, BUNDLE_RECORDS_MAX)?;
        let Some(last) = records.last() else {
            return Err(EvidenceError::NoRecords(stream.to_owned()));
        };
        let checkpoint = match self.latest_checkpoint() {
            Some(latest) if latest.tree_size >= last.position => latest,
            _ => self.force_checkpoint()?,
        };
        let raw: Vec<Vec<u8>> = records
            .iter()
            .filter(|record| record.position <= checkpoint.tree_size)
            .map(|record| record.bytes.to_vec())
            .collect();
        let reader = self.reader()?;
        Ok(assemble_bundle(
            BundleSource {
                ledger_key: &self.inner.verifier,
                checkpoint_note: &checkpoint.note,
                stream,
                generated_at,
            },
            &reader,
            &raw,
            act,
        )?)
    }
}
