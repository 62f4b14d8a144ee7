//! Helpers shared by the evidence tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

use caseledger_log::{Actor, AppendRequest, Ledger};

pub const ORIGIN: &str = "caseledger.test/evidence";

pub fn request(stream: &str, expected_version: u64, payload: &str) -> AppendRequest {
    AppendRequest {
        stream: stream.into(),
        expected_version,
        event_id: uuid::Uuid::now_v7(),
        actor: Actor {
            role: "township".into(),
            unit: "township/dongping".into(),
            user: "user-7".into(),
        },
        kind: "InspectionRecorded".into(),
        schema_version: 1,
        payload: payload.as_bytes().to_vec(),
    }
}

/// Appends `count` records spread over seven streams, in batches of `batch`.
pub fn append_records(ledger: &Ledger, count: u64, batch: usize) {
    let mut versions = std::collections::HashMap::new();
    let mut done = 0;
    while done < count {
        let take = (count - done).min(batch as u64);
        let requests = (done..done + take)
            .map(|n| {
                let stream = format!("case/{}", n % 7);
                let version = versions
                    .entry(stream.clone())
                    .or_insert_with(|| ledger.stream_version(&stream).unwrap());
                *version += 1;
                request(&stream, *version - 1, &format!("{{\"n\":{n}}}"))
            })
            .collect();
        ledger.append_many_blocking(requests).unwrap();
        done += take;
    }
}

/// The `caseledger-verify` binary, built from this workspace into a target folder of its own
/// (the test's own target folder is locked by the cargo running the tests).
pub fn verify_binary() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let target = exe.parent().unwrap().parent().unwrap().parent().unwrap();
    let tool_target = target.join("caseledger-verify-for-tests");
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let status = Command::new(env!("CARGO"))
        .args([
            "build",
            "--quiet",
            "-p",
            "caseledger-verify",
            "--bin",
            "caseledger-verify",
        ])
        .arg("--target-dir")
        .arg(&tool_target)
        .current_dir(&workspace)
        .status()
        .expect("running cargo build for caseledger-verify");
    assert!(status.success(), "building caseledger-verify failed");
    tool_target.join("debug").join("caseledger-verify")
}
