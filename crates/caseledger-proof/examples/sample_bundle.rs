//! Writes a sample evidence bundle, the ledger's verifier key, two checkpoints and the
//! consistency proof between them into a folder, to try `caseledger-verify` by hand:
//!
//! ```text
//! cargo run -p caseledger-proof --example sample_bundle -- OUT_DIR
//! caseledger-verify OUT_DIR/bundle.json --key OUT_DIR/ledger.pub
//! caseledger-verify consistency OUT_DIR/old.note OUT_DIR/new.note OUT_DIR/proof.json --key OUT_DIR/ledger.pub
//! ```
//!
//! The signing key is a fixed test key: never use it for a real ledger.

use caseledger_proof::consistency::ConsistencyProof;
use caseledger_proof::sample::SampleLedger;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out = std::env::args()
        .nth(1)
        .ok_or("usage: sample_bundle OUT_DIR")?;
    let out = std::path::Path::new(&out);
    std::fs::create_dir_all(out)?;
    let ledger = SampleLedger::demo()?;
    let bundle = ledger.bundle("case/0001", ledger.size())?;
    std::fs::write(
        out.join("bundle.json"),
        serde_json::to_string_pretty(&bundle)? + "\n",
    )?;
    std::fs::write(
        out.join("ledger.pub"),
        ledger.signer().verifier().to_text() + "\n",
    )?;
    std::fs::write(out.join("old.note"), ledger.checkpoint_note(2)?)?;
    std::fs::write(out.join("new.note"), ledger.checkpoint_note(5)?)?;
    let proof = ledger.tree().reader().consistency_proof(2, 5)?;
    let proof = ConsistencyProof::new(2, 5, &proof);
    std::fs::write(
        out.join("proof.json"),
        serde_json::to_string_pretty(&proof)? + "\n",
    )?;
    Ok(())
}
