//! The case evidence bundle (证据包): every record of one case stream, raw and decoded, each
//! with an inclusion proof against one signed checkpoint, and the check of all of it.
//!
//! The format is specified in `schemas/evidence-bundle.md`; [`BUNDLE_FORMAT`] names its
//! version. [`verify_bundle`] checks everything a bundle claims and returns a
//! [`BundleReport`] listing every check, in Chinese and English.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use caseledger_record::{genesis_hash, record_hash, DecodeError, Record};
use serde::{Deserialize, Serialize};

use crate::checkpoint::{Checkpoint, CheckpointError};
use crate::merkle::{
    leaf_hash, verify_inclusion, Hash, NodeStore, ProofError, TreeReader, VerifyError,
};
use crate::note::NoteVerifier;

/// The `format` value of bundles this code writes and reads.
pub const BUNDLE_FORMAT: &str = "caseledger-evidence-bundle/v1";

/// The `format` value of the JSON report.
pub const REPORT_FORMAT: &str = "caseledger-verify-report/v1";

/// Records accepted in one bundle: a case has tens of acts; far more means the file is not a
/// case bundle.
pub const BUNDLE_RECORDS_MAX: usize = 100_000;

/// A case's evidence: the records of one stream proven against one signed checkpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvidenceBundle {
    /// Always [`BUNDLE_FORMAT`].
    pub format: String,
    /// The ledger's origin: the first line of its checkpoints and its key's name.
    pub origin: String,
    /// The ledger's public key in signed-note verifier-key form. Informative: the court checks
    /// against the key it obtained independently.
    pub ledger_key: String,
    /// The signed checkpoint note, exactly as signed.
    pub checkpoint: String,
    /// The stream whose records these are, such as `case/<uuid>`.
    pub stream: String,
    /// The stream's version at the checkpoint: the bundle holds versions `1..=stream_version_head`.
    pub stream_version_head: u64,
    /// When the server assembled the bundle (RFC 3339, UTC). Not evidence.
    pub generated_at: String,
    /// The stream's records, in log order.
    pub records: Vec<BundleRecord>,
}

/// One record of a bundle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BundleRecord {
    /// 1-based position in the ledger's log.
    pub position: u64,
    /// 0-based leaf index in the Merkle tree: `position - 1`.
    pub leaf_index: u64,
    /// The record's exact stored bytes, base64. Every hash is over these bytes.
    pub raw: String,
    /// The same record decoded, for reading.
    pub record: DecodedRecord,
    /// The act decoded as JSON by the server, for reading; not covered by the checks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub act: Option<serde_json::Value>,
    /// blake3 chain hash of `raw` (lowercase hex): the next record's `prev_hash`.
    pub chain_hash: String,
    /// RFC 9162 leaf hash `SHA-256(0x00 || raw)` (lowercase hex).
    pub leaf_hash: String,
    /// RFC 9162 inclusion proof of the leaf against the checkpoint's tree size, leaf upwards
    /// (lowercase hex).
    pub inclusion_proof: Vec<String>,
}

/// Who did an act, as shown in a bundle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecodedActor {
    /// The role.
    pub role: String,
    /// The unit.
    pub unit: String,
    /// The user within the unit.
    pub user: String,
}

/// The fields of [`caseledger_record::Record`] in readable form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecodedRecord {
    /// Record layout version.
    pub format: u8,
    /// Position in the log.
    pub position: u64,
    /// Chain hash of the previous record (lowercase hex).
    pub prev_hash: String,
    /// Recorded-at time, microseconds since the Unix epoch, UTC.
    pub recorded_at_us: i64,
    /// The same time in RFC 3339.
    pub recorded_at: String,
    /// The stream.
    pub stream: String,
    /// Version within the stream.
    pub stream_version: u64,
    /// The event id as a UUID.
    pub event_id: String,
    /// Who did it.
    pub actor: DecodedActor,
    /// The act kind.
    pub kind: String,
    /// Schema version of the payload.
    pub schema_version: u16,
    /// The payload bytes, base64.
    pub payload: String,
}

impl DecodedRecord {
    /// The readable form of a record.
    pub fn from_record(record: &Record) -> DecodedRecord {
        DecodedRecord {
            format: record.format,
            position: record.position,
            prev_hash: record.prev_hash.to_hex(),
            recorded_at_us: record.recorded_at_us,
            recorded_at: record.recorded_at().to_rfc3339(),
            stream: record.stream.clone(),
            stream_version: record.stream_version,
            event_id: record.event_uuid().to_string(),
            actor: DecodedActor {
                role: record.actor.role.clone(),
                unit: record.actor.unit.clone(),
                user: record.actor.user.clone(),
            },
            kind: record.kind.clone(),
            schema_version: record.schema_version,
            payload: BASE64.encode(&record.payload),
        }
    }
}

impl BundleRecord {
    /// A bundle record from the stored bytes and the inclusion proof against the bundle's
    /// checkpoint. Fails if the bytes are not a record.
    pub fn new(
        raw: &[u8],
        inclusion_proof: &[Hash],
        act: Option<serde_json::Value>,
    ) -> Result<BundleRecord, DecodeError> {
        let record = Record::decode(raw)?;
        Ok(BundleRecord {
            position: record.position,
            leaf_index: record.position.saturating_sub(1),
            raw: BASE64.encode(raw),
            record: DecodedRecord::from_record(&record),
            act,
            chain_hash: record_hash(raw).to_hex(),
            leaf_hash: leaf_hash(raw).to_hex(),
            inclusion_proof: inclusion_proof.iter().map(Hash::to_hex).collect(),
        })
    }
}

/// SHA-256 of a bundle file's bytes as read, printed in the report so the filed report names
/// exactly the file it speaks of.
pub fn file_digest(bytes: &[u8]) -> Hash {
    use sha2::Digest as _;
    Hash(sha2::Sha256::digest(bytes).into())
}

/// Why a bundle could not be assembled.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AssembleError {
    /// The checkpoint note does not open with the ledger's own key.
    #[error("checkpoint: {0}")]
    Checkpoint(#[from] CheckpointError),
    /// Stored bytes are not a record.
    #[error("record bytes: {0}")]
    Decode(#[from] DecodeError),
    /// The tree could not produce a proof.
    #[error("proof: {0}")]
    Proof(#[from] ProofError),
    /// A record given belongs to another stream.
    #[error("record {position} belongs to {found}, not {expected}")]
    WrongStream {
        /// Its position.
        position: u64,
        /// The bundle's stream.
        expected: String,
        /// Its stream.
        found: String,
    },
    /// A record given lies beyond the checkpoint.
    #[error("record {position} lies beyond the checkpoint's {tree_size} records")]
    BeyondCheckpoint {
        /// Its position.
        position: u64,
        /// The checkpoint's size.
        tree_size: u64,
    },
    /// No record given.
    #[error("no records for stream {0} within the checkpoint")]
    Empty(String),
    /// A record's bytes do not lead to the checkpoint's root with the tree's proof: the
    /// stored record is not the one the checkpoint signed (altered after the fact), or the
    /// tree is damaged. No bundle is made, since it could only fail in court.
    #[error("record {position} is not the record the checkpoint of {tree_size} records signed: {reason}")]
    NotInCheckpoint {
        /// Its position.
        position: u64,
        /// The checkpoint's size.
        tree_size: u64,
        /// What the proof led to.
        reason: VerifyError,
    },
}

/// What the server knows when it assembles a bundle, besides the records.
#[derive(Debug, Clone, Copy)]
pub struct BundleSource<'a> {
    /// The ledger's key; the checkpoint must open with it.
    pub ledger_key: &'a NoteVerifier,
    /// The signed checkpoint note the proofs are made against.
    pub checkpoint_note: &'a str,
    /// The case stream, `case/<id>`.
    pub stream: &'a str,
    /// When the bundle is assembled, RFC 3339 UTC.
    pub generated_at: &'a str,
}

/// Assembles the bundle of `source.stream` from the stream's stored records in log order (all
/// of them up to the checkpoint, read through the stream index), with an inclusion proof for
/// each from `reader` against the checkpoint's tree size. `act` decodes a record's payload for
/// display, or returns `None`.
pub fn assemble_bundle<S: NodeStore + ?Sized>(
    source: BundleSource<'_>,
    reader: &TreeReader<'_, S>,
    records: &[Vec<u8>],
    act: impl Fn(&Record) -> Option<serde_json::Value>,
) -> Result<EvidenceBundle, AssembleError> {
    let checkpoint = Checkpoint::open(source.checkpoint_note, source.ledger_key)?;
    let tree_size = checkpoint.tree_size();
    let mut items = Vec::with_capacity(records.len());
    let mut head = None;
    for raw in records {
        let record = Record::decode(raw)?;
        if record.stream != source.stream {
            return Err(AssembleError::WrongStream {
                position: record.position,
                expected: source.stream.to_owned(),
                found: record.stream,
            });
        }
        if record.position == 0 || record.position > tree_size {
            return Err(AssembleError::BeyondCheckpoint {
                position: record.position,
                tree_size,
            });
        }
        let proof = reader.inclusion_proof(record.position - 1, tree_size)?;
        // A few dozen hashes: cheap next to the proof's reads, and the server never hands
        // out a bundle that cannot verify.
        verify_inclusion(
            record.position - 1,
            tree_size,
            &leaf_hash(raw),
            &proof,
            &checkpoint.root(),
        )
        .map_err(|reason| AssembleError::NotInCheckpoint {
            position: record.position,
            tree_size,
            reason,
        })?;
        head = Some(record.stream_version);
        items.push(BundleRecord::new(raw, &proof, act(&record))?);
    }
    let Some(stream_version_head) = head else {
        return Err(AssembleError::Empty(source.stream.to_owned()));
    };
    Ok(EvidenceBundle {
        format: BUNDLE_FORMAT.to_owned(),
        origin: checkpoint.origin().to_owned(),
        ledger_key: source.ledger_key.to_text(),
        checkpoint: source.checkpoint_note.to_owned(),
        stream: source.stream.to_owned(),
        stream_version_head,
        generated_at: source.generated_at.to_owned(),
        records: items,
    })
}

/// What one check concerns. Stable names, used in the JSON report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum CheckKind {
    /// The bundle's format is one this verifier knows.
    BundleFormat,
    /// The key the court supplied is the one the bundle names.
    LedgerKey,
    /// The checkpoint's signature verifies with the court's key.
    CheckpointSignature,
    /// The checkpoint's origin is the bundle's origin.
    CheckpointOrigin,
    /// The bundle holds at least one record and not too many.
    RecordCount,
    /// The raw bytes are a record in canonical encoding.
    RecordDecodes,
    /// The decoded record shown equals the raw bytes.
    DecodedMatchesRaw,
    /// The record's position and leaf index agree with the bytes.
    Position,
    /// The record belongs to the bundle's stream.
    Stream,
    /// The stated chain hash and leaf hash are those of the raw bytes.
    StatedHashes,
    /// The position lies inside the checkpoint's tree.
    InsideCheckpoint,
    /// The inclusion proof leads to the checkpoint's root.
    Inclusion,
    /// Records are in strictly increasing position order.
    Order,
    /// The stream's versions are exactly `1..=stream_version_head`, none missing.
    StreamVersions,
    /// The record at position 1 chains to the origin's genesis hash.
    Genesis,
    /// A record's previous hash is the chain hash of the record right before it.
    ChainLink,
    /// The earlier checkpoint's signature verifies (consistency check).
    OldCheckpointSignature,
    /// The later checkpoint's signature verifies (consistency check).
    NewCheckpointSignature,
    /// The proof file is for the two checkpoints' sizes (consistency check).
    ProofSizes,
    /// The consistency proof shows the old tree is a prefix of the new one.
    Consistency,
}

/// The outcome of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// It holds.
    Passed,
    /// It does not hold.
    Failed,
    /// It could not be made because an earlier check failed.
    Skipped,
}

/// One line of the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Check {
    /// What was checked.
    pub check: CheckKind,
    /// The record concerned, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub position: Option<u64>,
    /// With what result.
    pub outcome: Outcome,
    /// What was found, in Chinese.
    pub zh: String,
    /// What was found, in English.
    pub en: String,
}

/// The checkpoint a bundle was checked against.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckpointSummary {
    /// The ledger's origin.
    pub origin: String,
    /// The number of records it covers.
    pub tree_size: u64,
    /// Its root hash, lowercase hex.
    pub root_hex: String,
    /// Its root hash, base64 as written in the note.
    pub root_base64: String,
    /// The verifier key it was checked with.
    pub key: String,
}

/// Everything [`verify_bundle`] found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BundleReport {
    /// Always [`REPORT_FORMAT`].
    pub format: String,
    /// True only when every check passed.
    pub ok: bool,
    /// The stream the bundle claims to hold.
    pub stream: String,
    /// The number of records in the bundle.
    pub record_count: usize,
    /// The signed checkpoint, when its signature verified.
    pub checkpoint: Option<CheckpointSummary>,
    /// Every check in the order made.
    pub checks: Vec<Check>,
    /// The first check that failed.
    pub first_failure: Option<Check>,
}

struct Checks(Vec<Check>);

impl Checks {
    fn push(
        &mut self,
        check: CheckKind,
        position: Option<u64>,
        outcome: Outcome,
        zh: String,
        en: String,
    ) {
        self.0.push(Check {
            check,
            position,
            outcome,
            zh,
            en,
        });
    }

    fn pass(&mut self, check: CheckKind, position: Option<u64>, zh: String, en: String) {
        self.push(check, position, Outcome::Passed, zh, en);
    }

    fn fail(&mut self, check: CheckKind, position: Option<u64>, zh: String, en: String) {
        self.push(check, position, Outcome::Failed, zh, en);
    }

    fn skip(&mut self, check: CheckKind, position: Option<u64>) {
        self.push(
            check,
            position,
            Outcome::Skipped,
            "未检查：前一项检查已失败".into(),
            "not checked: an earlier check failed".into(),
        );
    }
}

/// A record whose bytes decoded, kept for the checks across records.
struct Decoded {
    position: u64,
    record: Record,
    chain_hash: Hash,
}

/// Checks everything a bundle claims against the ledger key the court holds: the
/// checkpoint's signature, each record's bytes, decoding, position, stream and inclusion, the
/// order and completeness of the stream's versions, and the blake3 chain between records at
/// adjacent positions.
pub fn verify_bundle(bundle: &EvidenceBundle, key: &NoteVerifier) -> BundleReport {
    let mut checks = Checks(Vec::new());
    check_header(bundle, key, &mut checks);
    let checkpoint = check_checkpoint(bundle, key, &mut checks);
    let count_ok = !bundle.records.is_empty() && bundle.records.len() <= BUNDLE_RECORDS_MAX;
    if count_ok {
        checks.pass(
            CheckKind::RecordCount,
            None,
            format!("证据包含 {} 条记录", bundle.records.len()),
            format!("the bundle holds {} records", bundle.records.len()),
        );
    } else {
        checks.fail(
            CheckKind::RecordCount,
            None,
            format!(
                "记录数 {} 不在 1 至 {BUNDLE_RECORDS_MAX} 之间",
                bundle.records.len()
            ),
            format!(
                "record count {} is not within 1..={BUNDLE_RECORDS_MAX}",
                bundle.records.len()
            ),
        );
    }
    let mut decoded = Vec::new();
    if count_ok {
        for item in &bundle.records {
            if let Some(record) = check_record(bundle, item, checkpoint.as_ref(), &mut checks) {
                decoded.push(record);
            }
        }
        check_across(bundle, &decoded, &mut checks);
    }
    let first_failure = checks
        .0
        .iter()
        .find(|c| c.outcome == Outcome::Failed)
        .cloned();
    let ok = checks.0.iter().all(|c| c.outcome == Outcome::Passed);
    BundleReport {
        format: REPORT_FORMAT.to_owned(),
        ok,
        stream: bundle.stream.clone(),
        record_count: bundle.records.len(),
        checkpoint: checkpoint.map(|c| CheckpointSummary {
            origin: c.origin().to_owned(),
            tree_size: c.tree_size(),
            root_hex: c.root().to_hex(),
            root_base64: BASE64.encode(c.root().0),
            key: key.to_text(),
        }),
        checks: checks.0,
        first_failure,
    }
}

fn check_header(bundle: &EvidenceBundle, key: &NoteVerifier, checks: &mut Checks) {
    if bundle.format == BUNDLE_FORMAT {
        checks.pass(
            CheckKind::BundleFormat,
            None,
            format!("证据包格式为 {BUNDLE_FORMAT}"),
            format!("bundle format is {BUNDLE_FORMAT}"),
        );
    } else {
        checks.fail(
            CheckKind::BundleFormat,
            None,
            format!("证据包格式 {:?} 不是 {BUNDLE_FORMAT}", bundle.format),
            format!("bundle format {:?} is not {BUNDLE_FORMAT}", bundle.format),
        );
    }
    let given = key.to_text();
    if bundle.ledger_key.trim_end() == given {
        checks.pass(
            CheckKind::LedgerKey,
            None,
            format!("证据包所列账本公钥与所提供的公钥一致：{given}"),
            format!("the bundle names the ledger key supplied: {given}"),
        );
    } else {
        checks.fail(
            CheckKind::LedgerKey,
            None,
            format!(
                "证据包所列账本公钥 {} 与所提供的公钥 {given} 不同",
                bundle.ledger_key
            ),
            format!(
                "the bundle names ledger key {}, not the key supplied {given}",
                bundle.ledger_key
            ),
        );
    }
}

fn check_checkpoint(
    bundle: &EvidenceBundle,
    key: &NoteVerifier,
    checks: &mut Checks,
) -> Option<Checkpoint> {
    let checkpoint = match Checkpoint::open(&bundle.checkpoint, key) {
        Ok(checkpoint) => {
            checks.pass(
                CheckKind::CheckpointSignature,
                None,
                format!(
                    "检查点签名有效（密钥 {}），记录数 {}，根哈希 {}",
                    key.name(),
                    checkpoint.tree_size(),
                    checkpoint.root()
                ),
                format!(
                    "checkpoint signature verifies with key {}: tree size {}, root {}",
                    key.name(),
                    checkpoint.tree_size(),
                    checkpoint.root()
                ),
            );
            checkpoint
        }
        Err(error) => {
            checks.fail(
                CheckKind::CheckpointSignature,
                None,
                format!("检查点未通过签名验证：{error}"),
                format!("checkpoint does not verify with the key supplied: {error}"),
            );
            checks.skip(CheckKind::CheckpointOrigin, None);
            return None;
        }
    };
    if checkpoint.origin() == bundle.origin {
        checks.pass(
            CheckKind::CheckpointOrigin,
            None,
            format!("检查点来源为 {}", bundle.origin),
            format!("checkpoint origin is {}", bundle.origin),
        );
    } else {
        checks.fail(
            CheckKind::CheckpointOrigin,
            None,
            format!(
                "检查点来源 {} 不是证据包的来源 {}",
                checkpoint.origin(),
                bundle.origin
            ),
            format!(
                "checkpoint origin {} is not the bundle's origin {}",
                checkpoint.origin(),
                bundle.origin
            ),
        );
    }
    Some(checkpoint)
}

/// The checks of one record; returns it decoded when its bytes are a record.
fn check_record(
    bundle: &EvidenceBundle,
    item: &BundleRecord,
    checkpoint: Option<&Checkpoint>,
    checks: &mut Checks,
) -> Option<Decoded> {
    let at = Some(item.position);
    let decoded = BASE64
        .decode(&item.raw)
        .map_err(|error| format!("raw is not base64: {error}"))
        .and_then(|raw| {
            Record::decode(&raw)
                .map(|record| (raw, record))
                .map_err(|e| e.to_string())
        });
    let (raw, record) = match decoded {
        Ok(found) => found,
        Err(error) => {
            checks.fail(
                CheckKind::RecordDecodes,
                at,
                format!("记录 {}：原始字节无法解码：{error}", item.position),
                format!("record {}: raw bytes do not decode: {error}", item.position),
            );
            for kind in [
                CheckKind::DecodedMatchesRaw,
                CheckKind::Position,
                CheckKind::Stream,
                CheckKind::StatedHashes,
                CheckKind::InsideCheckpoint,
                CheckKind::Inclusion,
            ] {
                checks.skip(kind, at);
            }
            return None;
        }
    };
    checks.pass(
        CheckKind::RecordDecodes,
        at,
        format!(
            "记录 {}：原始字节为规范编码的记录（{}，流版本 {}）",
            item.position, record.kind, record.stream_version
        ),
        format!(
            "record {}: raw bytes are a canonically encoded record ({}, stream version {})",
            item.position, record.kind, record.stream_version
        ),
    );
    if DecodedRecord::from_record(&record) == item.record {
        checks.pass(
            CheckKind::DecodedMatchesRaw,
            at,
            format!("记录 {}：解码内容与原始字节一致", item.position),
            format!(
                "record {}: the decoded fields equal the raw bytes",
                item.position
            ),
        );
    } else {
        checks.fail(
            CheckKind::DecodedMatchesRaw,
            at,
            format!(
                "记录 {}：证据包中显示的解码内容与原始字节不符",
                item.position
            ),
            format!(
                "record {}: the decoded fields shown differ from the raw bytes",
                item.position
            ),
        );
    }
    if record.position == item.position && item.leaf_index == item.position.wrapping_sub(1) {
        checks.pass(
            CheckKind::Position,
            at,
            format!(
                "记录 {}：位置与叶子序号 {} 一致",
                item.position, item.leaf_index
            ),
            format!(
                "record {}: position and leaf index {} agree",
                item.position, item.leaf_index
            ),
        );
    } else {
        checks.fail(
            CheckKind::Position,
            at,
            format!(
                "记录 {}：原始字节记载位置 {}，叶子序号 {}",
                item.position, record.position, item.leaf_index
            ),
            format!(
                "record {}: raw bytes say position {}, leaf index is {}",
                item.position, record.position, item.leaf_index
            ),
        );
    }
    if record.stream == bundle.stream {
        checks.pass(
            CheckKind::Stream,
            at,
            format!("记录 {}：属于 {}", item.position, bundle.stream),
            format!("record {}: belongs to {}", item.position, bundle.stream),
        );
    } else {
        checks.fail(
            CheckKind::Stream,
            at,
            format!(
                "记录 {}：属于 {}，不属于 {}",
                item.position, record.stream, bundle.stream
            ),
            format!(
                "record {}: belongs to {}, not {}",
                item.position, record.stream, bundle.stream
            ),
        );
    }
    let chain_hash = record_hash(&raw);
    let leaf = leaf_hash(&raw);
    if item.chain_hash == chain_hash.to_hex() && item.leaf_hash == leaf.to_hex() {
        checks.pass(
            CheckKind::StatedHashes,
            at,
            format!("记录 {}：链哈希 {chain_hash} 与叶子哈希 {leaf} 由原始字节算得", item.position),
            format!("record {}: chain hash {chain_hash} and leaf hash {leaf} are those of the raw bytes", item.position),
        );
    } else {
        checks.fail(
            CheckKind::StatedHashes,
            at,
            format!("记录 {}：所列哈希与原始字节不符（链哈希应为 {chain_hash}，叶子哈希应为 {leaf}）", item.position),
            format!("record {}: stated hashes differ from the raw bytes (chain hash is {chain_hash}, leaf hash is {leaf})", item.position),
        );
    }
    check_inclusion(item, record.position, &leaf, checkpoint, checks);
    Some(Decoded {
        position: record.position,
        record,
        chain_hash,
    })
}

fn check_inclusion(
    item: &BundleRecord,
    position: u64,
    leaf: &Hash,
    checkpoint: Option<&Checkpoint>,
    checks: &mut Checks,
) {
    let at = Some(item.position);
    let Some(checkpoint) = checkpoint else {
        checks.skip(CheckKind::InsideCheckpoint, at);
        checks.skip(CheckKind::Inclusion, at);
        return;
    };
    let size = checkpoint.tree_size();
    if position >= 1 && position <= size {
        checks.pass(
            CheckKind::InsideCheckpoint,
            at,
            format!("记录 {position}：位于检查点的 {size} 条记录之内"),
            format!("record {position}: lies within the checkpoint's {size} records"),
        );
    } else {
        checks.fail(
            CheckKind::InsideCheckpoint,
            at,
            format!("记录 {position}：不在检查点的 {size} 条记录之内"),
            format!("record {position}: lies outside the checkpoint's {size} records"),
        );
        checks.skip(CheckKind::Inclusion, at);
        return;
    }
    let proof: Option<Vec<Hash>> = item
        .inclusion_proof
        .iter()
        .map(|h| Hash::from_hex(h))
        .collect();
    let result = match proof {
        None => Err("a proof hash is not 64 hex digits".to_owned()),
        Some(proof) => verify_inclusion(position - 1, size, leaf, &proof, &checkpoint.root())
            .map_err(|e| e.to_string()),
    };
    match result {
        Ok(()) => checks.pass(
            CheckKind::Inclusion,
            at,
            format!(
                "记录 {position}：包含证明（{} 个哈希）通向检查点根哈希",
                item.inclusion_proof.len()
            ),
            format!(
                "record {position}: inclusion proof ({} hashes) leads to the checkpoint root",
                item.inclusion_proof.len()
            ),
        ),
        Err(error) => checks.fail(
            CheckKind::Inclusion,
            at,
            format!("记录 {position}：包含证明不成立：{error}"),
            format!("record {position}: inclusion proof fails: {error}"),
        ),
    }
}

fn check_across(bundle: &EvidenceBundle, decoded: &[Decoded], checks: &mut Checks) {
    let positions: Vec<u64> = bundle.records.iter().map(|r| r.position).collect();
    match positions.windows(2).find(|pair| pair[0] >= pair[1]) {
        None => checks.pass(
            CheckKind::Order,
            None,
            "记录按位置严格递增排列，无重复".into(),
            "records are in strictly increasing position order, without repeats".into(),
        ),
        Some(pair) => checks.fail(
            CheckKind::Order,
            None,
            format!("记录顺序错误或重复：位置 {} 之后是 {}", pair[0], pair[1]),
            format!(
                "records out of order or repeated: position {} is followed by {}",
                pair[0], pair[1]
            ),
        ),
    }
    if decoded.len() != bundle.records.len() {
        checks.skip(CheckKind::StreamVersions, None);
    } else {
        check_versions(bundle, decoded, checks);
    }
    if let Some(first) = decoded.iter().find(|d| d.position == 1) {
        let genesis = genesis_hash(&bundle.origin);
        if first.record.prev_hash == genesis {
            checks.pass(
                CheckKind::Genesis,
                Some(1),
                format!("记录 1：链接到来源 {} 的创始哈希", bundle.origin),
                format!(
                    "record 1: chains to the genesis hash of origin {}",
                    bundle.origin
                ),
            );
        } else {
            checks.fail(
                CheckKind::Genesis,
                Some(1),
                format!("记录 1：未链接到来源 {} 的创始哈希", bundle.origin),
                format!(
                    "record 1: does not chain to the genesis hash of origin {}",
                    bundle.origin
                ),
            );
        }
    }
    let mut adjacent = 0;
    for pair in decoded.windows(2) {
        let (before, after) = (&pair[0], &pair[1]);
        if after.position != before.position.wrapping_add(1) {
            continue;
        }
        adjacent += 1;
        if after.record.prev_hash == before.chain_hash {
            checks.pass(
                CheckKind::ChainLink,
                Some(after.position),
                format!(
                    "记录 {}：前一哈希等于记录 {} 的链哈希",
                    after.position, before.position
                ),
                format!(
                    "record {}: previous hash equals the chain hash of record {}",
                    after.position, before.position
                ),
            );
        } else {
            checks.fail(
                CheckKind::ChainLink,
                Some(after.position),
                format!(
                    "记录 {}：前一哈希 {} 不等于记录 {} 的链哈希 {}",
                    after.position, after.record.prev_hash, before.position, before.chain_hash
                ),
                format!(
                    "record {}: previous hash {} is not the chain hash {} of record {}",
                    after.position, after.record.prev_hash, before.chain_hash, before.position
                ),
            );
        }
    }
    if adjacent == 0 {
        checks.pass(
            CheckKind::ChainLink,
            None,
            "没有位置相邻的记录，无链接可查（各记录由包含证明确认）".into(),
            "no records at adjacent positions, so no chain link to check (each record is confirmed by its inclusion proof)".into(),
        );
    }
}

fn check_versions(bundle: &EvidenceBundle, decoded: &[Decoded], checks: &mut Checks) {
    let head = bundle.stream_version_head;
    let mut expected = 1u64;
    for item in decoded {
        if item.record.stream_version != expected {
            let (zh, en) = if item.record.stream_version > expected {
                (
                    format!("流版本 {expected} 缺失：记录 {} 的版本为 {}（证据包缺少记录）", item.position, item.record.stream_version),
                    format!("stream version {expected} is missing: record {} has version {} (a record was dropped)", item.position, item.record.stream_version),
                )
            } else {
                (
                    format!("流版本错误：记录 {} 的版本为 {}，应为 {expected}", item.position, item.record.stream_version),
                    format!("stream version out of sequence: record {} has version {}, expected {expected}", item.position, item.record.stream_version),
                )
            };
            checks.fail(CheckKind::StreamVersions, Some(item.position), zh, en);
            return;
        }
        expected += 1;
    }
    let last = expected - 1;
    if last == head {
        checks.pass(
            CheckKind::StreamVersions,
            None,
            format!("流版本 1 至 {head} 齐全，无缺失"),
            format!("stream versions 1 to {head} are all present"),
        );
    } else {
        checks.fail(
            CheckKind::StreamVersions,
            None,
            format!("证据包声明流版本至 {head}，实际只有 1 至 {last}"),
            format!("the bundle declares stream versions up to {head} but holds 1 to {last}"),
        );
    }
}

impl BundleReport {
    /// The plain report a court clerk can file: what was checked, against which checkpoint,
    /// with what result; every line in Chinese then English.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        out.push_str("证据包核验报告 / Evidence bundle verification report\n");
        out.push_str(&format!("报告格式 / Report format: {}\n", self.format));
        out.push_str(&format!("案件记录流 / Case stream: {}\n", self.stream));
        out.push_str(&format!("记录数 / Records: {}\n", self.record_count));
        match &self.checkpoint {
            Some(c) => {
                out.push_str("核验所依据的检查点 / Checked against the signed checkpoint:\n");
                out.push_str(&format!("  来源 / Origin: {}\n", c.origin));
                out.push_str(&format!("  记录总数 / Tree size: {}\n", c.tree_size));
                out.push_str(&format!(
                    "  根哈希 / Root hash: {} (base64 {})\n",
                    c.root_hex, c.root_base64
                ));
                out.push_str(&format!("  公钥 / Public key: {}\n", c.key));
            }
            None => {
                out.push_str("检查点：签名未通过验证 / Checkpoint: its signature did not verify\n")
            }
        }
        out.push('\n');
        for check in &self.checks {
            let mark = match check.outcome {
                Outcome::Passed => "通过 PASS",
                Outcome::Failed => "失败 FAIL",
                Outcome::Skipped => "未查 SKIP",
            };
            out.push_str(&format!("[{mark}] {}\n           {}\n", check.zh, check.en));
        }
        out.push('\n');
        out.push_str("说明 / Scope:\n");
        out.push_str("  - 本核验只依据证据包文件与所提供的公钥，未联网，未访问账本。\n");
        out.push_str("    Only the bundle file and the public key supplied were used; no network, no ledger access.\n");
        out.push_str("  - 证据包中的 act（JSON）是服务器对 payload 的解读，不在核验范围内；以原始字节为准。\n");
        out.push_str("    The act JSON in the bundle is the server's reading of the payload and is not checked; the raw bytes govern.\n");
        out.push_str(
            "  - 流版本上限由证据包声明，未经签名：所列最后一条之后的记录，需向账本另行核实。\n",
        );
        out.push_str("    The stream's last version is declared by the bundle, not signed: records after the last one listed need the ledger to rule out.\n");
        out.push('\n');
        let passed = self
            .checks
            .iter()
            .filter(|c| c.outcome == Outcome::Passed)
            .count();
        out.push_str(&format!(
            "共 {} 项检查，通过 {passed} 项 / {} checks, {passed} passed\n",
            self.checks.len(),
            self.checks.len()
        ));
        match &self.first_failure {
            None if self.ok => out.push_str(
                "结论：证据包所述全部属实 / Result: everything the bundle claims holds\n",
            ),
            None => {
                out.push_str("结论：未能完成核验 / Result: verification could not be completed\n")
            }
            Some(failure) => {
                out.push_str("结论：核验失败 / Result: verification FAILED\n");
                out.push_str(&format!("首个失败 / First failure: {}\n", failure.zh));
                out.push_str(&format!("                         {}\n", failure.en));
            }
        }
        out
    }
}
