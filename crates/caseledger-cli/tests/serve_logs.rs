//! `caseledger serve --config FILE` as a real process: the configuration's limits are in
//! force, and its structured logs name every request by id and never carry a complainant's
//! name or phone, not even when they come in a refused body or a query string.

mod common;

use std::io::{BufRead, BufReader};
use std::process::Stdio;

use common::{address_in, caseledger, issue, request, stop};

const NAME: &str = "赵六一";
const PHONE: &str = "13612349876";
const BODY_BYTES_MAX: usize = 2048;

#[test]
fn configured_limits_hold_and_logs_carry_request_ids_but_no_personal_data() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("ledger");
    let config = dir.path().join("server.toml");
    std::fs::write(
        &config,
        format!("[limits]\nbody_bytes_max = {BODY_BYTES_MAX}\n"),
    )
    .unwrap();
    let log = dir.path().join("serve.log");
    let mut child = caseledger()
        .args(["serve", "--listen", "127.0.0.1:0", "--data"])
        .arg(&data)
        .arg("--config")
        .arg(&config)
        .env("RUST_LOG", "debug")
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let address = address_in(&line).unwrap_or_else(|| panic!("no address in {line:?}"));
    let intake = issue(&data, "intake", "12345");

    let complaint = serde_json::json!({
        "channel": "hotline12345",
        "compound": "compound/dongping/lanting-11",
        "category": "illegal-construction",
        "severity": "general",
        "summary": "楼道堆放杂物",
        "complainant": {"name": NAME, "phone": PHONE},
    });
    let (status, body) = request(
        address,
        "POST",
        "/api/v1/cases",
        &intake,
        &complaint.to_string(),
    );
    assert_eq!(status, 201, "{body}");
    // Refused: an unknown field beside the personal data; personal data in a query string;
    // a body over the configured limit (the default would take it).
    let mut unknown = complaint.clone();
    unknown["complainant"]["wechat"] = serde_json::json!(PHONE);
    let (status, body) = request(
        address,
        "POST",
        "/api/v1/cases",
        &intake,
        &unknown.to_string(),
    );
    assert_eq!(status, 422, "{body}");
    let (status, body) = request(
        address,
        "GET",
        &format!("/api/v1/cases?phone={PHONE}"),
        &intake,
        "",
    );
    assert_eq!(status, 400, "{body}");
    let mut large = complaint.clone();
    large["summary"] = serde_json::json!("x".repeat(BODY_BYTES_MAX));
    let (status, body) = request(
        address,
        "POST",
        "/api/v1/cases",
        &intake,
        &large.to_string(),
    );
    assert_eq!(status, 413, "{body}");

    stop(child);

    let text = std::fs::read_to_string(&log).unwrap();
    let mut handled = 0;
    for line in text.lines() {
        let entry: serde_json::Value = serde_json::from_str(line)
            .unwrap_or_else(|error| panic!("not a JSON line ({error}): {line}"));
        if entry["fields"]["message"] == "handled" {
            handled += 1;
            assert!(
                entry["span"]["request_id"].is_string(),
                "a handled request without its id: {line}"
            );
        }
    }
    assert!(handled >= 4, "{handled} requests logged:\n{text}");
    assert!(
        !text.contains(NAME) && !text.contains(PHONE),
        "the log carries personal data:\n{text}"
    );
}
