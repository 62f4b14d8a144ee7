//! `caseledger serve` refusing to start, as a real process: a clear message and exit 2.

mod common;

use common::caseledger;

#[test]
fn a_port_in_use_is_refused_with_how_to_pick_another() {
    let dir = tempfile::tempdir().unwrap();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = taken.local_addr().unwrap().to_string();
    let output = caseledger()
        .args(["serve", "--listen", &address, "--data"])
        .arg(dir.path().join("ledger"))
        .env("RUST_LOG", "off")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!("cannot listen on {address}")),
        "{stderr}"
    );
    assert!(stderr.contains("--listen"), "{stderr}");
    drop(taken);
}
