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

    // A folder from before the completion mark, with its tokens: reused as whole.
    assert!(data.join("demo-year-complete").exists());
    std::fs::remove_file(data.join("demo-year-complete")).unwrap();
    let (said, _, status) = run_demo(&data);
    assert_eq!(status, 200, "{said}");
    assert!(!said.contains("first run"), "{said}");
    assert!(said.contains("reused"), "{said}");
}

/// A SIGTERM while the year is generated ends the demo there, saying the year is incomplete;
/// the next run refuses the folder instead of serving the cut year as whole. A port in use
/// is refused before the folder is made.
#[test]
fn a_year_cut_short_is_refused_and_a_port_in_use_makes_no_folder() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("demo-data");
    let mut child = spawn_serving("demo", &data, &["--cases", "100000"]);
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    // Generating: the first progress line of appended records.
    loop {
        let line = lines
            .next()
            .expect("the demo reports its progress")
            .unwrap();
        assert!(!line.contains("serving"), "the year finished first: {line}");
        if line.contains("records appended") {
            break;
        }
    }
    let signalled = std::process::Command::new("sh")
        .args(["-c", &format!("kill -TERM {}", child.id())])
        .status()
        .unwrap();
    assert!(signalled.success());
    let started = std::time::Instant::now();
    let status = child.wait().unwrap();
    assert!(
        started.elapsed() < std::time::Duration::from_secs(30),
        "the demo went on generating after the signal"
    );
    assert_eq!(status.code(), Some(2));
    assert!(!data.join("demo-year-complete").exists());

    let (code, stderr) = common::run_refused("demo", "127.0.0.1:0", &data, &[]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("was cut short"), "{stderr}");

    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = taken.local_addr().unwrap().to_string();
    let elsewhere = dir.path().join("never-made");
    let (code, _) = common::run_refused("demo", &address, &elsewhere, &[]);
    assert_eq!(code, Some(2));
    assert!(!elsewhere.exists(), "the refused demo made its folder");
}
