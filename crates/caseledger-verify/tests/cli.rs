//! The verifier binary run as a separate process on files, as a court's expert would run it.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use caseledger_proof::consistency::ConsistencyProof;
use caseledger_proof::note::NoteSigner;
use caseledger_proof::sample::SampleLedger;

const ORIGIN: &str = "caseledger.example/anhua";

fn ledger(rewrite_position: Option<u64>) -> SampleLedger {
    let signer = NoteSigner::from_seed(ORIGIN, [7; 32]).unwrap();
    let mut ledger = SampleLedger::new(signer).unwrap();
    for position in 1..=30u64 {
        let stream = if position % 3 == 0 {
            "case/0001"
        } else {
            "case/0002"
        };
        let payload = if rewrite_position == Some(position) {
            "{\"amount_fen\":1}".to_owned()
        } else {
            format!("{{\"amount_fen\":{}}}", position * 100)
        };
        ledger.append(stream, "FineImposed", payload.as_bytes());
    }
    ledger
}

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_caseledger-verify"))
        .args(args)
        .output()
        .expect("the verifier runs")
}

fn write(dir: &Path, name: &str, contents: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, contents).unwrap();
    path
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

#[test]
fn an_intact_bundle_exits_zero_with_a_bilingual_report() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = ledger(None);
    let bundle = ledger.bundle("case/0001", 28).unwrap();
    let bundle_path = write(
        dir.path(),
        "bundle.json",
        &serde_json::to_string_pretty(&bundle).unwrap(),
    );
    let key_text = ledger.signer().verifier().to_text();
    let key_path = write(dir.path(), "ledger.pub", &format!("{key_text}\n"));

    for key in [key_text.as_str(), key_path.to_str().unwrap()] {
        let output = run(&[bundle_path.to_str().unwrap(), "--key", key]);
        let text = stdout(&output);
        assert_eq!(output.status.code(), Some(0), "{text}");
        assert!(text.contains("证据包核验报告 / Evidence bundle verification report"));
        let digest = caseledger_proof::bundle::file_digest(&std::fs::read(&bundle_path).unwrap());
        assert!(text.contains(&format!("文件 SHA-256 / File SHA-256: {digest}")));
        assert!(text.contains(&format!("来源 / Origin: {ORIGIN}")));
        assert!(text.contains("记录总数 / Tree size: 28"));
        let root = ledger.tree().reader().root(28).unwrap();
        assert!(text.contains(&root.to_hex()));
        assert!(
            text.contains("结论：证据包所述全部属实 / Result: everything the bundle claims holds")
        );
    }

    let output = run(&[bundle_path.to_str().unwrap(), "--key", &key_text, "--json"]);
    assert_eq!(output.status.code(), Some(0));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["ok"], true);
    assert_eq!(report["checkpoint"]["tree_size"], 28);
    assert_eq!(report["record_count"], 9);
}

#[test]
fn a_tampered_bundle_exits_one_and_names_the_failure() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = ledger(None);
    let mut bundle = ledger.bundle("case/0001", 30).unwrap();
    let hash = &mut bundle.records[4].inclusion_proof[1];
    let flipped = if hash.starts_with('0') { "1" } else { "0" };
    hash.replace_range(0..1, flipped);
    let path = write(
        dir.path(),
        "bundle.json",
        &serde_json::to_string(&bundle).unwrap(),
    );
    let key = ledger.signer().verifier().to_text();
    let output = run(&[path.to_str().unwrap(), "--key", &key]);
    let text = stdout(&output);
    assert_eq!(output.status.code(), Some(1), "{text}");
    assert!(text.contains("结论：核验失败 / Result: verification FAILED"));
    assert!(text.contains("record 15: inclusion proof fails"), "{text}");

    let output = run(&[path.to_str().unwrap(), "--key", &key, "--json"]);
    assert_eq!(output.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["ok"], false);
    assert_eq!(report["first_failure"]["check"], "inclusion");
    assert_eq!(report["first_failure"]["position"], 15);
}

#[test]
fn usage_and_file_errors_exit_two() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = ledger(None);
    let key = ledger.signer().verifier().to_text();
    let missing = dir.path().join("missing.json");
    let not_json = write(dir.path(), "bundle.json", "{ not json");
    for args in [
        vec![],
        vec![not_json.to_str().unwrap()],
        vec![missing.to_str().unwrap(), "--key", key.as_str()],
        vec![not_json.to_str().unwrap(), "--key", key.as_str()],
        vec![not_json.to_str().unwrap(), "--key", "not-a-key"],
        vec!["consistency", "a", "b", "--key", key.as_str()],
    ] {
        let output = run(&args);
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        assert!(!output.stderr.is_empty(), "{args:?}");
    }
    assert_eq!(run(&["--help"]).status.code(), Some(0));
    // The consistency check's usage line is the command as typed, word `consistency` and all.
    let help = run(&["consistency", "--help"]);
    assert_eq!(help.status.code(), Some(0));
    assert!(
        stdout(&help).contains("Usage: caseledger-verify consistency [OPTIONS] --key <KEY>"),
        "{}",
        stdout(&help)
    );
}

#[test]
fn consistency_of_checkpoints() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = ledger(None);
    let key = ledger.signer().verifier().to_text();
    let old = write(dir.path(), "old.note", &ledger.checkpoint_note(10).unwrap());
    let new = write(dir.path(), "new.note", &ledger.checkpoint_note(30).unwrap());
    let proof = ledger.tree().reader().consistency_proof(10, 30).unwrap();
    let proof_file = ConsistencyProof::new(10, 30, &proof);
    let proof_path = write(
        dir.path(),
        "proof.json",
        &serde_json::to_string(&proof_file).unwrap(),
    );
    let args = |old: &Path, new: &Path, proof: &Path| {
        run(&[
            "consistency",
            old.to_str().unwrap(),
            new.to_str().unwrap(),
            proof.to_str().unwrap(),
            "--key",
            &key,
        ])
    };
    let output = args(&old, &new, &proof_path);
    let text = stdout(&output);
    assert_eq!(output.status.code(), Some(0), "{text}");
    assert!(text.contains("Result: the new checkpoint extends the old one"));

    // A ledger that rewrote record 5 and signed a new checkpoint anyway: the old checkpoint
    // is not a prefix of the new one.
    let forked = ledger_forked();
    let forked_new = write(
        dir.path(),
        "forked.note",
        &forked.checkpoint_note(30).unwrap(),
    );
    let forked_proof = forked.tree().reader().consistency_proof(10, 30).unwrap();
    let forked_proof_path = write(
        dir.path(),
        "forked-proof.json",
        &serde_json::to_string(&ConsistencyProof::new(10, 30, &forked_proof)).unwrap(),
    );
    let output = args(&old, &forked_new, &forked_proof_path);
    let text = stdout(&output);
    assert_eq!(output.status.code(), Some(1), "{text}");
    assert!(text.contains("the consistency proof fails"), "{text}");
    // Nor does the honest proof help the forked checkpoint.
    assert_eq!(args(&old, &forked_new, &proof_path).status.code(), Some(1));
    // A proof for other sizes is named as such.
    let output = args(&new, &new, &proof_path);
    assert_eq!(output.status.code(), Some(1));
    assert!(stdout(&output).contains("does not match the checkpoints"));
}

fn ledger_forked() -> SampleLedger {
    ledger(Some(5))
}
