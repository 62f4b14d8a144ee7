//! The `caseledger` binary's verify and log commands, their output and exit codes.

mod common;

use std::path::Path;
use std::process::Command;

fn caseledger(args: &[&str], data: &Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_caseledger"))
        .args(args)
        .arg("--data")
        .arg(data)
        .output()
        .expect("run caseledger")
}

fn json_lines(output: &std::process::Output) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str(line).ok())
        .collect()
}

#[test]
fn verify_and_log_a_sound_then_a_tampered_ledger() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("ledger");
    let bench = caseledger(
        &["bench", "--records", "40", "--submitters", "4", "--json"],
        &data,
    );
    assert!(
        bench.status.success(),
        "{}",
        String::from_utf8_lossy(&bench.stderr)
    );
    let summary = json_lines(&bench).pop().unwrap();
    assert_eq!(summary["head_position"], 40);
    assert_eq!(summary["verify_ok"], true);
    // What an operator sizing a disk multiplies by.
    let per_record = summary["data_bytes_per_record"].as_u64().unwrap();
    assert!(per_record > 0);
    assert_eq!(per_record, summary["data_bytes"].as_u64().unwrap() / 40);

    let verify = caseledger(&["verify", "--json"], &data);
    assert_eq!(verify.status.code(), Some(0));
    let report = json_lines(&verify).pop().unwrap();
    assert_eq!(report["ok"], true);
    assert_eq!(report["records"], 40);
    assert_eq!(report["head_hash"], summary["head_hash"]);

    let log = caseledger(&["log", "--from", "39", "--limit", "5"], &data);
    assert!(log.status.success());
    let lines = json_lines(&log);
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["position"], 39);
    assert_eq!(lines[1]["hash"], summary["head_hash"]);
    assert!(lines[0]["payload"]["case"].is_string());
    // Past the head: nothing on stdout, and stderr says why.
    let past = caseledger(&["log", "--from", "41"], &data);
    assert!(past.status.success());
    assert!(past.stdout.is_empty());
    assert!(
        String::from_utf8_lossy(&past.stderr).contains("the ledger's head is 40"),
        "{}",
        String::from_utf8_lossy(&past.stderr)
    );

    // Flip one byte of the first batch's last record, behind the ledger's back. The batch's
    // key is its first position; its value, each record as a 4-byte little-endian length and
    // the record's bytes (schemas/storage.md): so the flipped record's position is known.
    let flipped = {
        let db = common::open_sled(&data);
        let tree = db.open_tree("ledger/log").unwrap();
        let (key, value) = tree.first().unwrap().unwrap();
        let first = u64::from_be_bytes(key.as_ref().try_into().unwrap());
        let mut records = 0u64;
        let mut offset = 0usize;
        while offset < value.len() {
            let length = u32::from_le_bytes(value[offset..offset + 4].try_into().unwrap());
            offset += 4 + length as usize;
            records += 1;
        }
        assert_eq!(offset, value.len(), "the batch's records fill its value");
        let mut value = value.to_vec();
        let at = value.len() - 5;
        value[at] ^= 0x20;
        tree.insert(key, value).unwrap();
        db.flush().unwrap();
        first + records - 1
    };
    let verify = caseledger(&["verify", "--json"], &data);
    assert_eq!(
        verify.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&verify.stdout)
    );
    let report = json_lines(&verify).pop().unwrap();
    assert_eq!(report["ok"], false);
    // The edited record's own bytes hash to something new, so the chain breaks at the next
    // record: its stored previous hash no longer matches.
    assert_eq!(report["broken_at"], flipped + 1, "{report}");
    assert!(
        report["reason"].as_str().unwrap().contains("previous hash"),
        "{report}"
    );

    let text = caseledger(&["verify"], &data);
    assert_eq!(text.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&text.stdout).contains("broken at position"));
}

#[test]
fn usage_and_missing_ledgers_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let missing = caseledger(&["verify"], &dir.path().join("nothing"));
    assert_eq!(missing.status.code(), Some(2));
    // With --json there is still one object on stdout, saying why.
    let missing = caseledger(&["verify", "--json"], &dir.path().join("nothing"));
    assert_eq!(missing.status.code(), Some(2));
    let report = json_lines(&missing).pop().expect("one JSON object");
    assert_eq!(report["ok"], false);
    assert!(
        report["reason"].as_str().unwrap().contains("no ledger"),
        "{report}"
    );
    let usage = Command::new(env!("CARGO_BIN_EXE_caseledger"))
        .args(["verify", "--no-such-flag"])
        .output()
        .unwrap();
    assert_eq!(usage.status.code(), Some(2));
    // Sizes out of range are refused by name before anything is made: a cache sled cannot
    // run with (it panicked), a payload no record holds, a demo year too large to plan in
    // memory.
    for (args, named) in [
        (
            vec!["bench", "--records", "10", "--cache-mib", "0"],
            "--cache-mib",
        ),
        (
            vec!["bench", "--records", "10", "--cache-mib", "65537"],
            "--cache-mib",
        ),
        (
            vec!["bench", "--records", "10", "--payload-bytes", "99999999"],
            "--payload-bytes",
        ),
        (vec!["demo", "--cases", "100001"], "--cases"),
        (vec!["demo", "--cases", "0"], "--cases"),
    ] {
        let folder = dir.path().join("refused");
        let refused = caseledger(&args, &folder);
        assert_eq!(refused.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&refused.stderr);
        assert!(
            stderr.contains(named) && (stderr.contains("is not in") || stderr.contains("over the")),
            "{args:?}: {stderr}"
        );
        assert!(!folder.exists(), "{args:?} made {}", folder.display());
    }
}

/// Storage files sled cannot read (a snapshot pointing past the end of a truncated data
/// file): no panic, exit 2, and a message that says the files are damaged.
#[test]
fn damaged_storage_files_exit_2_and_say_so() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("ledger");
    let bench = caseledger(
        &[
            "bench",
            "--records",
            "20000",
            "--submitters",
            "16",
            "--json",
        ],
        &data,
    );
    assert!(bench.status.success());
    // Opening and closing once leaves a snapshot of sled's page table beside the data file.
    assert_eq!(caseledger(&["verify"], &data).status.code(), Some(0));
    let file = data.join("sled").join("db");
    let length = std::fs::metadata(&file).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&file)
        .unwrap()
        .set_len(length / 2)
        .unwrap();
    let verify = caseledger(&["verify", "--json"], &data);
    assert_eq!(verify.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&verify.stderr);
    assert!(stderr.contains("damaged or incomplete"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    let report = json_lines(&verify).pop().expect("one JSON object");
    assert_eq!(report["ok"], false);
}

/// `caseledger log … | head -1`: the reader goes after its first line, and `log` ends quietly
/// with success instead of an error about the pipe.
#[test]
fn log_into_a_reader_that_stops_early_ends_quietly() {
    use std::io::BufRead as _;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("ledger");
    let bench = caseledger(&["bench", "--records", "3000", "--json"], &data);
    assert!(
        bench.status.success(),
        "{}",
        String::from_utf8_lossy(&bench.stderr)
    );
    let mut child = Command::new(env!("CARGO_BIN_EXE_caseledger"))
        .args(["log", "--limit", "3000", "--data"])
        .arg(&data)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    // Dropping the reader closed the pipe, with about 3,000 lines (far more than a pipe
    // holds) still to write.
    let first: serde_json::Value = serde_json::from_str(&first).unwrap();
    assert_eq!(first["position"], 1);
    let output = child.wait_with_output().unwrap();
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        output.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A ledger folder whose store is gone: the token commands refuse it by name and make
/// nothing (they used to open an empty store there, after which `verify` called the folder
/// broken instead of missing its store).
#[test]
fn token_commands_refuse_a_folder_without_its_store() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("ledger");
    let bench = caseledger(&["bench", "--records", "3"], &data);
    assert!(bench.status.success());
    std::fs::remove_dir_all(data.join("sled")).unwrap();
    for args in [
        vec!["token", "list"],
        vec!["token", "issue", "--role", "office", "--unit", "office"],
    ] {
        let refused = caseledger(&args, &data);
        assert_eq!(refused.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&refused.stderr);
        assert!(
            stderr.contains("is not a ledger folder"),
            "{args:?}: {stderr}"
        );
        assert!(!data.join("sled").exists(), "{args:?} made a store");
    }
}
