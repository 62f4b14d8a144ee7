//! The example in `schemas/evidence-bundle.md` is what the code produces, and it verifies.

use caseledger_proof::bundle::verify_bundle;
use caseledger_proof::sample::SampleLedger;

#[test]
fn the_documented_example_bundle_is_current() {
    let doc = include_str!("../../../schemas/evidence-bundle.md");
    let ledger = SampleLedger::demo().unwrap();
    let bundle = ledger.bundle("case/0001", ledger.size()).unwrap();
    assert!(verify_bundle(&bundle, &ledger.signer().verifier()).ok);
    let first = &bundle.records[0];
    let checkpoint_json = serde_json::to_string(&bundle.checkpoint).unwrap();
    for expected in [
        bundle.ledger_key.as_str(),
        checkpoint_json.as_str(),
        first.raw.as_str(),
        first.record.prev_hash.as_str(),
        first.record.payload.as_str(),
        first.chain_hash.as_str(),
        first.leaf_hash.as_str(),
    ]
    .into_iter()
    .chain(first.inclusion_proof.iter().map(String::as_str))
    {
        assert!(
            doc.contains(expected),
            "schemas/evidence-bundle.md lacks {expected}"
        );
    }
}
