//! Opening a ledger for serving with its evidence: the projections and the Merkle tree both
//! observe the writer, and the checkpoint signing key is loaded from a file only its owner
//! can read.
//!
//! The key lives in the ledger folder as [`CHECKPOINT_KEY_FILE_NAME`] (or where the caller
//! says). When neither the key nor any checkpoint exists yet, a new key is generated there
//! (mode 0600, verifier key beside it, as `caseledger keygen` does); otherwise a missing key
//! is an error, since another key could not open the ledger's checkpoints.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use caseledger_evidence::keyfile::{generate_key_files, load_signer, public_key_path};
use caseledger_evidence::{Evidence, EvidenceOptions};
use caseledger_log::{Ledger, LedgerOptions};
use caseledger_projections::ledger::{LiveProjections, ProjectedLedger};
use caseledger_projections::Reader;
use caseledger_proof::note::NoteSigner;

use crate::OpenError;

/// The checkpoint signing key's file name inside the ledger folder, by default.
pub const CHECKPOINT_KEY_FILE_NAME: &str = "checkpoint.key";

/// The default key file of the ledger in `dir`.
pub fn default_key_path(dir: &Path) -> PathBuf {
    dir.join(CHECKPOINT_KEY_FILE_NAME)
}

/// Loads the signing key in `path`, refusing a file the group or others can access. When
/// the file is absent and the ledger has signed no checkpoint yet, generates it.
pub fn load_or_create_key(dir: &Path, path: &Path, origin: &str) -> Result<NoteSigner, OpenError> {
    if path.exists() {
        return load_signer(path).map_err(|error| OpenError(error.to_string()));
    }
    let has_checkpoints = caseledger_evidence::file::path(dir).exists();
    if has_checkpoints {
        return Err(OpenError(format!(
            "签名密钥 {} 不存在，而账本已有检查点 / the signing key {} is missing but the ledger has signed checkpoints",
            path.display(),
            path.display()
        )));
    }
    std::fs::create_dir_all(dir).map_err(|error| OpenError(error.to_string()))?;
    let signer = generate_key_files(path, origin).map_err(|error| OpenError(error.to_string()))?;
    tracing::info!(
        key = %path.display(),
        public = %public_key_path(path).display(),
        verifier = %signer.verifier().to_text(),
        "generated the checkpoint signing key"
    );
    Ok(signer)
}

/// Opens (or creates) the ledger in `dir` with every projection attached and the Merkle tree
/// attached and checked against the latest checkpoint: quickly before serving, and every
/// record in the background unless `options.open_check` says otherwise (see
/// `caseledger_evidence::OpenCheck`). If the background check fails, the evidence routes
/// answer 503 naming the mismatch and appends fail. `ledger_options` name the origin and
/// say how many records the open re-hashes, and the cache and batches.
pub fn open_ledger_with_evidence_options(
    dir: &Path,
    ledger_options: LedgerOptions,
    options: EvidenceOptions,
) -> Result<(ProjectedLedger, Evidence), OpenError> {
    open_ledger_with_evidence_observed(dir, ledger_options, options, &mut |_| {})
}

/// [`open_ledger_with_evidence_options`], telling `observe` the projections' progress too
/// (besides the log).
pub fn open_ledger_with_evidence_observed(
    dir: &Path,
    ledger_options: LedgerOptions,
    options: EvidenceOptions,
    observe: &mut dyn FnMut(&caseledger_projections::Progress),
) -> Result<(ProjectedLedger, Evidence), OpenError> {
    let (live, projections_observer) = LiveProjections::new();
    let (pending, tree_observer) = caseledger_evidence::observer();
    let ledger = Ledger::open_with_observers(
        dir,
        ledger_options,
        vec![projections_observer, tree_observer],
    )
    .map_err(|error| OpenError(error.to_string()))?;
    let evidence = pending
        .attach(&ledger, options)
        .map_err(|error| OpenError(error.to_string()))?;
    let summary = live
        .attach(
            &ledger,
            caseledger_projections::all(),
            caseledger_projections::Options::default(),
            &mut {
                let mut log = crate::projections_progress_log();
                move |progress: &caseledger_projections::Progress| {
                    log(progress);
                    observe(progress);
                }
            },
        )
        .map_err(|error| OpenError(error.to_string()))?;
    crate::log_projections_opened(&summary);
    let reader =
        Reader::new(Arc::new(ledger.store())).map_err(|error| OpenError(error.to_string()))?;
    Ok((
        ProjectedLedger {
            ledger,
            live,
            reader,
            summary,
        },
        evidence,
    ))
}
