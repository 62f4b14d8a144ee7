//! `caseledger serve` refusing to start, as a real process: a clear message and exit 2.

mod common;

use common::caseledger;

#[test]
fn a_port_in_use_is_refused_with_how_to_pick_another() {
    let dir = tempfile::tempdir().unwrap();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = taken.local_addr().unwrap().to_string();
    let (code, stderr) = common::run_refused("serve", &address, &dir.path().join("ledger"), &[]);
    assert_eq!(code, Some(2));
    assert!(
        stderr.contains(&format!("cannot listen on {address}")),
        "{stderr}"
    );
    assert!(stderr.contains("--listen"), "{stderr}");
    drop(taken);
}

/// A ledger of another origin (here `caseledger bench`'s) is refused, and the refusal leaves
/// no signing key behind: a key named for the wrong origin would block the start that
/// follows with the right configuration.
#[test]
fn another_origin_is_refused_without_leaving_a_key() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("ledger");
    let bench = caseledger()
        .args(["bench", "--records", "3", "--data"])
        .arg(&data)
        .output()
        .unwrap();
    assert!(bench.status.success());
    let (code, stderr) = common::run_refused("serve", "127.0.0.1:0", &data, &[]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("caseledger.bench/local"), "{stderr}");
    assert!(!data.join("checkpoint.key").exists(), "a key was left");
    assert!(!data.join("checkpoint.key.pub").exists());
    // With the ledger's own origin the key is no obstacle: it is made, named for that
    // origin. (A bench ledger's synthetic payloads are no acts, so the projections refuse it
    // next; before the fix the start stopped at the key named for the other origin.)
    let config = dir.path().join("bench.toml");
    std::fs::write(&config, "origin = \"caseledger.bench/local\"\n").unwrap();
    let (_, stderr) = common::run_refused(
        "serve",
        "127.0.0.1:0",
        &data,
        &["--config", config.to_str().unwrap()],
    );
    assert!(!stderr.contains("the key is named"), "{stderr}");
    let public = std::fs::read_to_string(data.join("checkpoint.key.pub")).unwrap();
    assert!(public.starts_with("caseledger.bench/local+"), "{public}");
}

/// `--listen` takes a host name too (`localhost:0`), resolved by the system; a name that
/// does not resolve is refused before anything is made.
#[test]
fn a_host_name_listens_and_an_unknown_one_is_refused() {
    use std::io::BufRead as _;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("ledger");
    let mut child = caseledger()
        .args(["serve", "--listen", "localhost:0", "--data"])
        .arg(&data)
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let address = common::address_in(&line).unwrap_or_else(|| panic!("no address in {line:?}"));
    assert!(address.ip().is_loopback(), "{address}");
    common::stop(child);

    let elsewhere = dir.path().join("never-made");
    let (code, stderr) = common::run_refused("serve", "no-such-host.invalid:80", &elsewhere, &[]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("--listen"), "{stderr}");
    assert!(!elsewhere.exists());
}
