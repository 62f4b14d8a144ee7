//! A small ledger in memory, for tests and demonstrations: records chained with the blake3
//! record hash, the Merkle tree over them, checkpoints signed with a given key, and evidence
//! bundles built the way the server builds them.

use std::collections::HashMap;

use caseledger_record::{genesis_hash, record_hash, Actor, Record, RECORD_FORMAT};

use crate::bundle::{assemble_bundle, AssembleError, BundleSource, EvidenceBundle};
use crate::checkpoint::{Checkpoint, CheckpointError};
use crate::merkle::{Hash, MemoryTree, ProofError, STORED_LEVEL_MIN_DEFAULT};
use crate::note::NoteSigner;

/// Why the sample ledger cannot do what was asked.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SampleError {
    /// Tree failure.
    #[error(transparent)]
    Proof(#[from] ProofError),
    /// Checkpoint failure.
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
    /// A stored record does not decode.
    #[error(transparent)]
    Decode(#[from] caseledger_record::DecodeError),
    /// The bundle could not be assembled.
    #[error(transparent)]
    Assemble(#[from] AssembleError),
    /// A tree size beyond the head.
    #[error("tree size {0} is beyond the head")]
    Size(u64),
}

/// An in-memory ledger whose key name is its origin.
#[derive(Debug)]
pub struct SampleLedger {
    signer: NoteSigner,
    records: Vec<Vec<u8>>,
    last_hash: Hash,
    tree: MemoryTree,
    versions: HashMap<String, u64>,
}

impl SampleLedger {
    /// An empty ledger signed by `signer`; the origin is the signer's name.
    pub fn new(signer: NoteSigner) -> Result<SampleLedger, SampleError> {
        Ok(SampleLedger {
            last_hash: genesis_hash(signer.name()),
            signer,
            records: Vec::new(),
            tree: MemoryTree::new(STORED_LEVEL_MIN_DEFAULT)?,
            versions: HashMap::new(),
        })
    }

    /// The demonstration ledger of `schemas/evidence-bundle.md`: five acts, four of them in
    /// `case/0001`, signed with a fixed test key (never use it for a real ledger).
    pub fn demo() -> Result<SampleLedger, SampleError> {
        let signer = NoteSigner::from_seed("caseledger.example/anhua", [7; 32])
            .map_err(CheckpointError::from)?;
        let mut ledger = SampleLedger::new(signer)?;
        let acts = [
            (
                "case/0001",
                "ComplaintFiled",
                r#"{"summary":"噪音扰民 / noise at night"}"#,
            ),
            (
                "case/0001",
                "CaseDispatched",
                r#"{"to":"township/dongping"}"#,
            ),
            (
                "case/0002",
                "ComplaintFiled",
                r#"{"summary":"占道经营 / street stall"}"#,
            ),
            ("case/0001", "CaseAccepted", r#"{}"#),
            ("case/0001", "CaseResolved", r#"{"result":"resolved"}"#),
        ];
        for (stream, kind, payload) in acts {
            ledger.append(stream, kind, payload.as_bytes());
        }
        Ok(ledger)
    }

    /// The ledger's origin.
    pub fn origin(&self) -> &str {
        self.signer.name()
    }

    /// The signing key.
    pub fn signer(&self) -> &NoteSigner {
        &self.signer
    }

    /// Appends one act to `stream`; returns its position.
    pub fn append(&mut self, stream: &str, kind: &str, payload: &[u8]) -> u64 {
        let position = self.records.len() as u64 + 1;
        let version = self.versions.entry(stream.to_owned()).or_insert(0);
        *version += 1;
        let record = Record {
            format: RECORD_FORMAT,
            position,
            prev_hash: self.last_hash,
            recorded_at_us: 1_764_000_000_000_000 + position as i64 * 1_000_000,
            stream: stream.to_owned(),
            stream_version: *version,
            event_id: (position as u128).to_be_bytes(),
            actor: Actor {
                role: "handler".into(),
                unit: "township/dongping".into(),
                user: format!("user-{}", position % 7),
            },
            kind: kind.to_owned(),
            schema_version: 1,
            payload: payload.to_vec(),
        };
        let bytes = record.encode();
        self.last_hash = record_hash(&bytes);
        self.tree.push(&bytes);
        self.records.push(bytes);
        position
    }

    /// The number of records.
    pub fn size(&self) -> u64 {
        self.records.len() as u64
    }

    /// The stored bytes of the record at `position`.
    pub fn raw(&self, position: u64) -> Option<&[u8]> {
        let index = usize::try_from(position.checked_sub(1)?).ok()?;
        self.records.get(index).map(Vec::as_slice)
    }

    /// The tree over the records.
    pub fn tree(&self) -> &MemoryTree {
        &self.tree
    }

    /// The checkpoint of the first `tree_size` records.
    pub fn checkpoint(&self, tree_size: u64) -> Result<Checkpoint, SampleError> {
        if tree_size > self.size() {
            return Err(SampleError::Size(tree_size));
        }
        let root = self.tree.reader().root(tree_size)?;
        Ok(Checkpoint::new(self.origin(), tree_size, root)?)
    }

    /// The signed checkpoint note of the first `tree_size` records.
    pub fn checkpoint_note(&self, tree_size: u64) -> Result<String, SampleError> {
        Ok(self.checkpoint(tree_size)?.sign(&self.signer)?)
    }

    /// The stored bytes of `stream`'s records among the first `tree_size`, in log order: what
    /// the ledger reads through its stream index.
    pub fn stream_records(
        &self,
        stream: &str,
        tree_size: u64,
    ) -> Result<Vec<Vec<u8>>, SampleError> {
        let mut out = Vec::new();
        for bytes in self.records.iter().take(tree_size as usize) {
            if Record::decode(bytes)?.stream == stream {
                out.push(bytes.clone());
            }
        }
        Ok(out)
    }

    /// The evidence bundle of `stream` against the checkpoint of the first `tree_size` records.
    pub fn bundle(&self, stream: &str, tree_size: u64) -> Result<EvidenceBundle, SampleError> {
        let note = self.checkpoint_note(tree_size)?;
        let key = self.signer.verifier();
        let source = BundleSource {
            ledger_key: &key,
            checkpoint_note: &note,
            stream,
            generated_at: "2026-11-26T12:00:00Z",
        };
        let records = self.stream_records(stream, tree_size)?;
        let bundle = assemble_bundle(source, &self.tree.reader(), &records, |record| {
            serde_json::from_slice(&record.payload).ok()
        })?;
        Ok(bundle)
    }
}
