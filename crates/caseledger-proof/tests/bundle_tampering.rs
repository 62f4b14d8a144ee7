//! Every way to break an evidence bundle is caught and named in the report. Bundles come from
//! a small ledger in memory (`caseledger_proof::sample`) with three interleaved streams, so the
//! case has records at adjacent positions (chain links checkable) and records apart.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use caseledger_proof::bundle::{verify_bundle, BundleReport, CheckKind, EvidenceBundle, Outcome};
use caseledger_proof::checkpoint::Checkpoint;
use caseledger_proof::merkle::Hash;
use caseledger_proof::note::{NoteSigner, NoteVerifier};
use caseledger_proof::sample::SampleLedger;
use caseledger_record::Record;

const ORIGIN: &str = "caseledger.example/anhua";
const CASE: &str = "case/0001";

/// Streams of positions 1..=30: the case holds positions 1, 2, 4, 7, 8, 9, 13, 20, 21.
fn ledger() -> SampleLedger {
    let signer = NoteSigner::from_seed(ORIGIN, [7; 32]).unwrap();
    let mut ledger = SampleLedger::new(signer).unwrap();
    let case_positions = [1u64, 2, 4, 7, 8, 9, 13, 20, 21];
    for position in 1..=30u64 {
        let (stream, kind) = if case_positions.contains(&position) {
            (CASE, "CaseUpdated")
        } else if position % 2 == 0 {
            ("case/0002", "CaseUpdated")
        } else {
            ("firm/91330100MA27XXXX0X", "CreditChanged")
        };
        let payload = format!("{{\"step\":{position}}}");
        assert_eq!(ledger.append(stream, kind, payload.as_bytes()), position);
    }
    ledger
}

fn key(ledger: &SampleLedger) -> NoteVerifier {
    ledger.signer().verifier()
}

fn intact() -> (SampleLedger, EvidenceBundle) {
    let ledger = ledger();
    let bundle = ledger.bundle(CASE, 25).unwrap();
    (ledger, bundle)
}

fn failures(report: &BundleReport) -> Vec<(CheckKind, Option<u64>)> {
    report
        .checks
        .iter()
        .filter(|c| c.outcome == Outcome::Failed)
        .map(|c| (c.check, c.position))
        .collect()
}

/// The report fails, its first failure is `first`, and it names every failure in `named`.
fn check(
    report: &BundleReport,
    first: (CheckKind, Option<u64>),
    named: &[(CheckKind, Option<u64>)],
) {
    assert!(
        !report.ok,
        "tampering went unnoticed:\n{}",
        report.to_text()
    );
    let found = failures(report);
    let first_failure = report.first_failure.as_ref().expect("a first failure");
    assert_eq!(
        (first_failure.check, first_failure.position),
        first,
        "{found:?}"
    );
    for item in named {
        assert!(found.contains(item), "{item:?} not named among {found:?}");
    }
    let text = report.to_text();
    assert!(text.contains("核验失败") && text.contains("verification FAILED"));
    assert!(text.contains(&first_failure.en) && text.contains(&first_failure.zh));
}

fn raw(bundle: &EvidenceBundle, i: usize) -> Vec<u8> {
    BASE64.decode(&bundle.records[i].raw).unwrap()
}

fn index_of(bundle: &EvidenceBundle, position: u64) -> usize {
    bundle
        .records
        .iter()
        .position(|r| r.position == position)
        .unwrap()
}

#[test]
fn an_intact_bundle_passes_every_check() {
    let (ledger, bundle) = intact();
    assert_eq!(bundle.records.len(), 9);
    let report = verify_bundle(&bundle, &key(&ledger));
    assert!(report.ok, "{}", report.to_text());
    assert_eq!(report.first_failure, None);
    let checkpoint = report.checkpoint.as_ref().unwrap();
    assert_eq!(
        (checkpoint.origin.as_str(), checkpoint.tree_size),
        (ORIGIN, 25)
    );
    // Links between 1-2, 7-8, 8-9 and 20-21 are checked, plus the genesis link of record 1.
    let links: Vec<Option<u64>> = report
        .checks
        .iter()
        .filter(|c| c.check == CheckKind::ChainLink)
        .map(|c| c.position)
        .collect();
    assert_eq!(links, [Some(2), Some(8), Some(9), Some(21)]);
    assert!(report.checks.iter().any(|c| c.check == CheckKind::Genesis));
    assert_eq!(
        report
            .checks
            .iter()
            .filter(|c| c.check == CheckKind::Inclusion)
            .count(),
        9
    );
    let text = report.to_text();
    assert!(text.contains("全部属实") && text.contains("everything the bundle claims holds"));
    assert!(text.contains(&checkpoint.root_hex));
    // The bundle survives JSON unchanged.
    let json = serde_json::to_string_pretty(&bundle).unwrap();
    let back: EvidenceBundle = serde_json::from_str(&json).unwrap();
    assert_eq!(back, bundle);
    // The decoded act is shown where the payload is JSON.
    assert_eq!(bundle.records[0].act, Some(serde_json::json!({"step": 1})));
}

#[test]
fn a_flipped_byte_in_a_record_is_caught() {
    let (ledger, mut bundle) = intact();
    let i = index_of(&bundle, 8);
    let mut bytes = raw(&bundle, i);
    let last = bytes.len() - 2;
    bytes[last] ^= 0x01;
    bundle.records[i].raw = BASE64.encode(&bytes);
    let report = verify_bundle(&bundle, &key(&ledger));
    check(
        &report,
        (CheckKind::DecodedMatchesRaw, Some(8)),
        &[
            (CheckKind::StatedHashes, Some(8)),
            (CheckKind::Inclusion, Some(8)),
            (CheckKind::ChainLink, Some(9)),
        ],
    );
}

#[test]
fn a_consistent_forgery_of_one_record_still_fails_its_proof() {
    // The forger rewrites the payload and updates the decoded view and stated hashes too:
    // only the proof and the next record's link can tell.
    let (ledger, mut bundle) = intact();
    let i = index_of(&bundle, 8);
    let mut record = Record::decode(&raw(&bundle, i)).unwrap();
    record.payload = b"{\"step\":\"forged\"}".to_vec();
    let bytes = record.encode();
    let proof: Vec<Hash> = bundle.records[i]
        .inclusion_proof
        .iter()
        .map(|h| Hash::from_hex(h).unwrap())
        .collect();
    bundle.records[i] = caseledger_proof::bundle::BundleRecord::new(&bytes, &proof, None).unwrap();
    let report = verify_bundle(&bundle, &key(&ledger));
    check(
        &report,
        (CheckKind::Inclusion, Some(8)),
        &[(CheckKind::ChainLink, Some(9))],
    );
    assert_eq!(failures(&report).len(), 2, "{}", report.to_text());
}

#[test]
fn an_edited_decoded_view_is_caught() {
    let (ledger, mut bundle) = intact();
    bundle.records[3].record.kind = "CaseClosed".into();
    let position = bundle.records[3].position;
    let report = verify_bundle(&bundle, &key(&ledger));
    check(&report, (CheckKind::DecodedMatchesRaw, Some(position)), &[]);
    assert_eq!(failures(&report).len(), 1);
}

#[test]
fn swapped_records_are_caught() {
    let (ledger, mut bundle) = intact();
    bundle.records.swap(2, 5);
    let report = verify_bundle(&bundle, &key(&ledger));
    check(
        &report,
        (CheckKind::Order, None),
        &[(CheckKind::StreamVersions, Some(bundle.records[2].position))],
    );
}

#[test]
fn swapped_record_bytes_under_unchanged_positions_are_caught() {
    let (ledger, mut bundle) = intact();
    let (a, b) = (index_of(&bundle, 4), index_of(&bundle, 13));
    let raw_a = bundle.records[a].raw.clone();
    bundle.records[a].raw = bundle.records[b].raw.clone();
    bundle.records[b].raw = raw_a;
    let report = verify_bundle(&bundle, &key(&ledger));
    check(
        &report,
        (CheckKind::DecodedMatchesRaw, Some(4)),
        &[
            (CheckKind::Position, Some(4)),
            (CheckKind::Position, Some(13)),
            (CheckKind::Inclusion, Some(4)),
            (CheckKind::Inclusion, Some(13)),
        ],
    );
}

#[test]
fn a_record_dropped_from_the_middle_is_caught_by_the_stream_versions() {
    let (ledger, mut bundle) = intact();
    // Position 8 is version 5; 7, 9 stay and are still included in the checkpoint, so only
    // the gap in stream versions reveals the drop.
    let i = index_of(&bundle, 8);
    bundle.records.remove(i);
    let report = verify_bundle(&bundle, &key(&ledger));
    check(&report, (CheckKind::StreamVersions, Some(9)), &[]);
    assert_eq!(failures(&report).len(), 1);
    assert!(report.to_text().contains("stream version 5 is missing"));
}

#[test]
fn the_first_or_last_record_dropped_is_caught() {
    let (ledger, bundle) = intact();
    let mut first_dropped = bundle.clone();
    first_dropped.records.remove(0);
    let report = verify_bundle(&first_dropped, &key(&ledger));
    check(&report, (CheckKind::StreamVersions, Some(2)), &[]);

    let mut last_dropped = bundle;
    last_dropped.records.pop();
    let report = verify_bundle(&last_dropped, &key(&ledger));
    check(&report, (CheckKind::StreamVersions, None), &[]);
}

#[test]
fn an_altered_proof_hash_is_caught() {
    let (ledger, mut bundle) = intact();
    let i = index_of(&bundle, 13);
    let mut hash = Hash::from_hex(&bundle.records[i].inclusion_proof[2]).unwrap();
    hash.0[0] ^= 0x80;
    bundle.records[i].inclusion_proof[2] = hash.to_hex();
    let report = verify_bundle(&bundle, &key(&ledger));
    check(&report, (CheckKind::Inclusion, Some(13)), &[]);
    assert_eq!(failures(&report).len(), 1);

    let mut garbled = intact().1;
    garbled.records[0].inclusion_proof[0] = "not hex".into();
    let report = verify_bundle(&garbled, &key(&ledger));
    check(&report, (CheckKind::Inclusion, Some(1)), &[]);
}

#[test]
fn another_key_is_caught() {
    let (_, bundle) = intact();
    let stranger = NoteSigner::from_seed(ORIGIN, [8; 32]).unwrap();
    let report = verify_bundle(&bundle, &stranger.verifier());
    check(
        &report,
        (CheckKind::LedgerKey, None),
        &[(CheckKind::CheckpointSignature, None)],
    );
    assert!(report.checkpoint.is_none());
    assert!(report
        .checks
        .iter()
        .filter(|c| c.check == CheckKind::Inclusion)
        .all(|c| c.outcome == Outcome::Skipped));

    // A bundle re-signed by another key, naming that key, fails with the court's key.
    let (ledger, mut resigned) = intact();
    let checkpoint = Checkpoint::parse(&ledger.checkpoint(25).unwrap().to_text()).unwrap();
    resigned.checkpoint = checkpoint.sign(&stranger).unwrap();
    resigned.ledger_key = stranger.verifier().to_text();
    let report = verify_bundle(&resigned, &key(&ledger));
    check(
        &report,
        (CheckKind::LedgerKey, None),
        &[(CheckKind::CheckpointSignature, None)],
    );
}

#[test]
fn an_edited_checkpoint_text_is_caught() {
    let (ledger, mut bundle) = intact();
    let root_line = bundle.checkpoint.lines().nth(2).unwrap().to_owned();
    let other_root = BASE64.encode([9u8; 32]);
    bundle.checkpoint = bundle.checkpoint.replacen(&root_line, &other_root, 1);
    let report = verify_bundle(&bundle, &key(&ledger));
    check(&report, (CheckKind::CheckpointSignature, None), &[]);
    assert!(report.to_text().contains("does not verify"));
}

#[test]
fn a_forged_larger_checkpoint_is_caught() {
    let (ledger, mut bundle) = intact();
    bundle.checkpoint = bundle.checkpoint.replacen("\n25\n", "\n30\n", 1);
    let report = verify_bundle(&bundle, &key(&ledger));
    check(&report, (CheckKind::CheckpointSignature, None), &[]);

    // A genuine larger checkpoint with the old proofs: the proofs do not lead to its root.
    let (ledger, mut stale) = intact();
    stale.checkpoint = ledger.checkpoint_note(30).unwrap();
    let report = verify_bundle(&stale, &key(&ledger));
    check(
        &report,
        (CheckKind::Inclusion, Some(1)),
        &[(CheckKind::Inclusion, Some(21))],
    );
}

#[test]
fn a_record_past_the_checkpoint_is_caught() {
    let ledger = ledger();
    let mut bundle = ledger.bundle(CASE, 30).unwrap();
    bundle.checkpoint = ledger.checkpoint_note(20).unwrap();
    let report = verify_bundle(&bundle, &key(&ledger));
    check(
        &report,
        (CheckKind::Inclusion, Some(1)),
        &[(CheckKind::InsideCheckpoint, Some(21))],
    );
}

#[test]
fn a_record_of_another_stream_is_caught() {
    let ledger = ledger();
    let mut bundle = ledger.bundle(CASE, 25).unwrap();
    let other = ledger.bundle("case/0002", 25).unwrap();
    bundle.records.insert(2, other.records[0].clone());
    let position = other.records[0].position;
    let report = verify_bundle(&bundle, &key(&ledger));
    check(
        &report,
        (CheckKind::Stream, Some(position)),
        &[(CheckKind::StreamVersions, Some(position))],
    );
}

#[test]
fn malformed_bundles_are_caught() {
    let (ledger, bundle) = intact();
    let mut wrong_format = bundle.clone();
    wrong_format.format = "caseledger-evidence-bundle/v9".into();
    check(
        &verify_bundle(&wrong_format, &key(&ledger)),
        (CheckKind::BundleFormat, None),
        &[],
    );

    let mut empty = bundle.clone();
    empty.records.clear();
    check(
        &verify_bundle(&empty, &key(&ledger)),
        (CheckKind::RecordCount, None),
        &[],
    );

    let mut garbage = bundle.clone();
    garbage.records[1].raw = BASE64.encode(b"not a record");
    check(
        &verify_bundle(&garbage, &key(&ledger)),
        (CheckKind::RecordDecodes, Some(2)),
        &[],
    );

    let mut other_origin = bundle;
    other_origin.origin = "caseledger.example/elsewhere".into();
    check(
        &verify_bundle(&other_origin, &key(&ledger)),
        (CheckKind::CheckpointOrigin, None),
        &[(CheckKind::Genesis, Some(1))],
    );
}

#[test]
fn assembly_refuses_what_would_not_verify() {
    use caseledger_proof::bundle::{assemble_bundle, AssembleError, BundleSource};
    let ledger = ledger();
    let key = key(&ledger);
    let note = ledger.checkpoint_note(20).unwrap();
    let source = BundleSource {
        ledger_key: &key,
        checkpoint_note: &note,
        stream: CASE,
        generated_at: "2026-11-26T12:00:00Z",
    };
    let reader = ledger.tree().reader();
    let assemble = |records: &[Vec<u8>]| assemble_bundle(source, &reader, records, |_| None);

    let within: Vec<Vec<u8>> = ledger.stream_records(CASE, 20).unwrap();
    let bundle = assemble(&within).unwrap();
    assert!(verify_bundle(&bundle, &key).ok);

    let beyond = ledger.stream_records(CASE, 30).unwrap();
    assert!(matches!(
        assemble(&beyond),
        Err(AssembleError::BeyondCheckpoint {
            position: 21,
            tree_size: 20
        })
    ));
    let other = ledger.stream_records("case/0002", 20).unwrap();
    assert!(matches!(
        assemble(&other),
        Err(AssembleError::WrongStream { .. })
    ));
    assert!(matches!(assemble(&[]), Err(AssembleError::Empty(_))));

    let stranger = NoteSigner::from_seed(ORIGIN, [8; 32]).unwrap().verifier();
    let wrong_key = BundleSource {
        ledger_key: &stranger,
        ..source
    };
    assert!(matches!(
        assemble_bundle(wrong_key, &reader, &within, |_| None),
        Err(AssembleError::Checkpoint(_))
    ));
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(48))]

    /// Any single bit flipped anywhere in any record's bytes, or in any proof hash, fails the
    /// bundle.
    #[test]
    fn any_flipped_bit_fails_the_bundle(record in 0usize..9, at in 0usize..4096, bit in 0u8..8, in_proof in proptest::bool::ANY) {
        let (ledger, mut bundle) = intact();
        let item = &mut bundle.records[record];
        if in_proof && !item.inclusion_proof.is_empty() {
            let index = at % item.inclusion_proof.len();
            let mut hash = Hash::from_hex(&item.inclusion_proof[index]).unwrap();
            hash.0[at % 32] ^= 1 << bit;
            item.inclusion_proof[index] = hash.to_hex();
        } else {
            let mut bytes = BASE64.decode(&item.raw).unwrap();
            let index = at % bytes.len();
            bytes[index] ^= 1 << bit;
            item.raw = BASE64.encode(&bytes);
        }
        let report = verify_bundle(&bundle, &key(&ledger));
        proptest::prop_assert!(!report.ok);
        proptest::prop_assert!(report.first_failure.is_some());
    }
}
