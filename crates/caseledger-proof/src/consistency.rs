//! Checking that a later checkpoint extends an earlier one: the consistency proof file
//! format and its verification, with a bilingual report like the bundle's.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use serde::{Deserialize, Serialize};

use crate::bundle::{Check, CheckKind, CheckpointSummary, Outcome};
use crate::checkpoint::Checkpoint;
use crate::merkle::{verify_consistency, Hash};
use crate::note::NoteVerifier;

/// The `format` value of consistency proof files.
pub const CONSISTENCY_PROOF_FORMAT: &str = "caseledger-consistency-proof/v1";

/// The `format` value of the consistency report.
pub const CONSISTENCY_REPORT_FORMAT: &str = "caseledger-consistency-report/v1";

/// A consistency proof as the API serves it and the verifier reads it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsistencyProof {
    /// Always [`CONSISTENCY_PROOF_FORMAT`].
    pub format: String,
    /// The earlier tree size.
    pub old_size: u64,
    /// The later tree size.
    pub new_size: u64,
    /// RFC 9162 `PROOF(old_size, D[new_size])`, lowercase hex, in the RFC's order.
    pub proof: Vec<String>,
}

impl ConsistencyProof {
    /// A proof file from the hashes a `TreeReader` produced.
    pub fn new(old_size: u64, new_size: u64, proof: &[Hash]) -> ConsistencyProof {
        ConsistencyProof {
            format: CONSISTENCY_PROOF_FORMAT.to_owned(),
            old_size,
            new_size,
            proof: proof.iter().map(Hash::to_hex).collect(),
        }
    }
}

/// Everything [`verify_checkpoint_consistency`] found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsistencyReport {
    /// Always [`CONSISTENCY_REPORT_FORMAT`].
    pub format: String,
    /// True only when every check passed.
    pub ok: bool,
    /// The earlier checkpoint, when its signature verified.
    pub old_checkpoint: Option<CheckpointSummary>,
    /// The later checkpoint, when its signature verified.
    pub new_checkpoint: Option<CheckpointSummary>,
    /// Every check in the order made.
    pub checks: Vec<Check>,
    /// The first check that failed.
    pub first_failure: Option<Check>,
}

fn summary(checkpoint: &Checkpoint, key: &NoteVerifier) -> CheckpointSummary {
    CheckpointSummary {
        origin: checkpoint.origin().to_owned(),
        tree_size: checkpoint.tree_size(),
        root_hex: checkpoint.root().to_hex(),
        root_base64: BASE64.encode(checkpoint.root().0),
        key: key.to_text(),
    }
}

fn check(check: CheckKind, outcome: Outcome, zh: String, en: String) -> Check {
    Check {
        check,
        position: None,
        outcome,
        zh,
        en,
    }
}

fn open(
    note: &str,
    key: &NoteVerifier,
    kind: CheckKind,
    label: (&str, &str),
    checks: &mut Vec<Check>,
) -> Option<Checkpoint> {
    match Checkpoint::open(note, key) {
        Ok(checkpoint) => {
            checks.push(check(
                kind,
                Outcome::Passed,
                format!(
                    "{}检查点签名有效：记录数 {}，根哈希 {}",
                    label.0,
                    checkpoint.tree_size(),
                    checkpoint.root()
                ),
                format!(
                    "{} checkpoint signature verifies: tree size {}, root {}",
                    label.1,
                    checkpoint.tree_size(),
                    checkpoint.root()
                ),
            ));
            Some(checkpoint)
        }
        Err(error) => {
            checks.push(check(
                kind,
                Outcome::Failed,
                format!("{}检查点未通过签名验证：{error}", label.0),
                format!("{} checkpoint does not verify: {error}", label.1),
            ));
            None
        }
    }
}

/// Checks both checkpoints' signatures with the ledger key, that the proof file names their
/// sizes, and that the proof shows the old tree is a prefix of the new one.
pub fn verify_checkpoint_consistency(
    old_note: &str,
    new_note: &str,
    proof: &ConsistencyProof,
    key: &NoteVerifier,
) -> ConsistencyReport {
    let mut checks = Vec::new();
    let old = open(
        old_note,
        key,
        CheckKind::OldCheckpointSignature,
        ("旧", "old"),
        &mut checks,
    );
    let new = open(
        new_note,
        key,
        CheckKind::NewCheckpointSignature,
        ("新", "new"),
        &mut checks,
    );
    if let (Some(old), Some(new)) = (&old, &new) {
        check_proof(old, new, proof, &mut checks);
    } else {
        checks.push(check(
            CheckKind::Consistency,
            Outcome::Skipped,
            "未检查：检查点签名未通过".into(),
            "not checked: a checkpoint signature failed".into(),
        ));
    }
    let first_failure = checks
        .iter()
        .find(|c| c.outcome == Outcome::Failed)
        .cloned();
    ConsistencyReport {
        format: CONSISTENCY_REPORT_FORMAT.to_owned(),
        ok: checks.iter().all(|c| c.outcome == Outcome::Passed),
        old_checkpoint: old.as_ref().map(|c| summary(c, key)),
        new_checkpoint: new.as_ref().map(|c| summary(c, key)),
        checks,
        first_failure,
    }
}

fn check_proof(
    old: &Checkpoint,
    new: &Checkpoint,
    proof: &ConsistencyProof,
    checks: &mut Vec<Check>,
) {
    let sizes_match = proof.format == CONSISTENCY_PROOF_FORMAT
        && proof.old_size == old.tree_size()
        && proof.new_size == new.tree_size();
    if !sizes_match {
        checks.push(check(
            CheckKind::ProofSizes,
            Outcome::Failed,
            format!(
                "证明文件（格式 {}，{} 至 {}）与检查点（{} 至 {}）不对应",
                proof.format,
                proof.old_size,
                proof.new_size,
                old.tree_size(),
                new.tree_size()
            ),
            format!(
                "the proof file (format {}, {} to {}) does not match the checkpoints ({} to {})",
                proof.format,
                proof.old_size,
                proof.new_size,
                old.tree_size(),
                new.tree_size()
            ),
        ));
        return;
    }
    checks.push(check(
        CheckKind::ProofSizes,
        Outcome::Passed,
        format!(
            "证明文件对应记录数 {} 至 {}",
            proof.old_size, proof.new_size
        ),
        format!(
            "the proof file is for tree sizes {} to {}",
            proof.old_size, proof.new_size
        ),
    ));
    let hashes: Option<Vec<Hash>> = proof.proof.iter().map(|h| Hash::from_hex(h)).collect();
    let result = match hashes {
        None => Err("a proof hash is not 64 hex digits".to_owned()),
        Some(hashes) => verify_consistency(
            old.tree_size(),
            new.tree_size(),
            &old.root(),
            &new.root(),
            &hashes,
        )
        .map_err(|e| e.to_string()),
    };
    checks.push(match result {
        Ok(()) => check(
            CheckKind::Consistency,
            Outcome::Passed,
            format!(
                "新检查点（{} 条）包含旧检查点（{} 条）的全部记录，未被改写",
                new.tree_size(),
                old.tree_size()
            ),
            format!(
                "the new checkpoint ({} records) extends the old one ({} records) without rewriting it",
                new.tree_size(),
                old.tree_size()
            ),
        ),
        Err(error) => check(
            CheckKind::Consistency,
            Outcome::Failed,
            format!("一致性证明不成立，新检查点并非旧检查点的延续：{error}"),
            format!("the consistency proof fails; the new checkpoint does not extend the old one: {error}"),
        ),
    });
}

impl ConsistencyReport {
    /// The plain bilingual report.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        out.push_str("检查点一致性核验报告 / Checkpoint consistency verification report\n");
        for (label, summary) in [
            ("旧检查点 / Old checkpoint", &self.old_checkpoint),
            ("新检查点 / New checkpoint", &self.new_checkpoint),
        ] {
            match summary {
                Some(c) => out.push_str(&format!(
                    "{label}: {} / {} / {}\n",
                    c.origin, c.tree_size, c.root_hex
                )),
                None => out.push_str(&format!(
                    "{label}: 签名未通过验证 / signature did not verify\n"
                )),
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
        match &self.first_failure {
            None if self.ok => out.push_str(
                "结论：新检查点是旧检查点的延续 / Result: the new checkpoint extends the old one\n",
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
