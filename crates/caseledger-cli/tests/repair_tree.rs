//! `caseledger serve` over a ledger whose stored Merkle tree was damaged while its log stayed
//! sound, as real processes: the plain start is refused and says how to repair;
//! `serve --repair-evidence-tree` checks the log against the latest signed checkpoint, rebuilds
//! the tree and serves; after it, a plain start works again.

mod common;

use std::path::Path;

use common::{get_status, issue, request, serve, stop};

/// Flips a byte of the first stored block of leaf hashes (records 1..=16).
fn damage_first_leaf_block(data: &Path) {
    let db = common::open_sled(data);
    let tree = db.open_tree("evidence/tree").unwrap();
    let mut key = vec![b'l'];
    key.extend_from_slice(&0u64.to_be_bytes());
    let mut leaves = tree.get(&key).unwrap().expect("block 0 is stored").to_vec();
    leaves[0] ^= 0x01;
    tree.insert(key, leaves).unwrap();
    db.flush().unwrap();
}

#[test]
fn a_damaged_tree_refuses_to_start_and_the_repair_rebuilds_it() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("ledger");
    let (child, address) = serve(&data, &[]);
    let intake = issue(&data, "intake", "12345");
    let office = issue(&data, "office", "office");
    for n in 0..20 {
        let body = format!(
            r#"{{"channel":"hotline12345","compound":"compound/dongping/lanting-11","category":"illegal-construction","severity":"general","summary":"楼道堆放杂物 {n}"}}"#
        );
        let (status, answer) = request(address, "POST", "/api/v1/cases", &intake, &body);
        assert_eq!(status, 201, "{answer}");
    }
    // A clean stop signs a checkpoint of every record.
    stop(child);
    damage_first_leaf_block(&data);

    let (code, stderr) = common::run_refused("serve", "127.0.0.1:0", &data, &[]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("--repair-evidence-tree"), "{stderr}");
    assert!(stderr.contains("the record or the tree"), "{stderr}");

    let (child, address) = serve(&data, &["--repair-evidence-tree"]);
    assert_eq!(get_status(address, "/readyz", &office), 200);
    let (status, report) = request(address, "GET", "/api/v1/audit/verify", &office, "");
    assert_eq!(status, 200, "{report}");
    let report: serde_json::Value = serde_json::from_str(&report).unwrap();
    assert_eq!(report["ok"], true, "{report}");
    stop(child);

    // Repaired: a plain start works again.
    let (child, address) = serve(&data, &[]);
    assert_eq!(get_status(address, "/readyz", &office), 200);
    stop(child);
}
