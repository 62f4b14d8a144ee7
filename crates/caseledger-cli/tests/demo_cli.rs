//! `caseledger demo` as a real process: from a fresh folder it generates the year, writes the
//! tokens, serves and says where and how to try it; a second run reuses the folder.

mod common;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;

use common::{address_in, get_status, spawn_serving, stop};

/// Runs the demo until it says where it serves; returns what it said, its address, and the
/// status of `/api/v1/cases` with the office's token from `tokens.json`; then stops it.
fn run_demo(data: &std::path::Path) -> (String, SocketAddr, u16) {
    let mut child = spawn_serving("demo", data, &["--cases", "60"]);
    let mut said = String::new();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let address: SocketAddr = loop {
        let line = lines
            .next()
            .expect("the demo says where it serves")
            .unwrap();
        said.push_str(&line);
        said.push('\n');
        if line.contains("serving: http://") {
            break address_in(&line).unwrap();
        }
    };
    // The lines on how to try it follow.
    for line in lines.by_ref().take(6) {
        said.push_str(&line.unwrap());
        said.push('\n');
    }
    let tokens: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(data.join("tokens.json")).unwrap()).unwrap();
    let office = tokens["tokens"]
        .as_array()
        .unwrap()
        .iter()
        .find(|token| token["role"] == "office")
        .unwrap()["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let status = get_status(address, "/api/v1/cases?limit=1", &office);
    stop(child);
    (said, address, status)
}

#[test]
fn demo_starts_from_a_fresh_folder_then_reuses_it() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("demo-data");
    let (said, address, status) = run_demo(&data);
    assert!(address.ip().is_loopback());
    assert_eq!(status, 200, "{said}");
    assert!(said.contains("first run"), "{said}");
    assert!(said.contains("tokens.json"), "{said}");
    assert!(said.contains("curl "), "how to try it: {said}");

    let (said, _, status) = run_demo(&data);
    assert_eq!(status, 200, "{said}");
    assert!(!said.contains("first run"), "{said}");
    assert!(said.contains("reused"), "{said}");
}
