//! `caseledger serve` and `caseledger token issue|revoke` as real processes: a token works
//! once issued, and answers 401 once revoked, whether the tokens are managed while no server
//! holds the ledger folder or while one serves it.

mod common;

use common::{caseledger, get_status, serve, stop, token};

#[test]
fn issued_token_works_until_revoked() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("ledger");
    // The first serve creates the ledger.
    let (child, _) = serve(&data, &[]);
    stop(child);

    let issued = caseledger()
        .args([
            "token", "issue", "--role", "office", "--unit", "office", "--data",
        ])
        .arg(&data)
        .output()
        .unwrap();
    assert!(
        issued.status.success(),
        "{}",
        String::from_utf8_lossy(&issued.stderr)
    );
    let token = String::from_utf8(issued.stdout).unwrap().trim().to_owned();
    assert!(token.starts_with("clt1."), "{token}");
    let id = token.split('.').nth(1).unwrap().to_owned();
    // Only the hash is stored: the secret appears nowhere in the folder's files.
    let secret = token.rsplit('.').next().unwrap();
    for entry in walk(&data) {
        let bytes = std::fs::read(&entry).unwrap();
        assert!(
            !bytes
                .windows(secret.len())
                .any(|window| window == secret.as_bytes()),
            "{} holds the secret",
            entry.display()
        );
    }
    // A unit that does not fit the role is refused.
    let refused = caseledger()
        .args([
            "token", "issue", "--role", "township", "--unit", "housing", "--data",
        ])
        .arg(&data)
        .output()
        .unwrap();
    assert!(!refused.status.success());

    let (child, address) = serve(&data, &[]);
    assert_eq!(get_status(address, "/api/v1/audit/verify", &token), 200);
    stop(child);

    let revoked = caseledger()
        .args(["token", "revoke", "--id", &id, "--data"])
        .arg(&data)
        .output()
        .unwrap();
    assert!(
        revoked.status.success(),
        "{}",
        String::from_utf8_lossy(&revoked.stderr)
    );

    let (child, address) = serve(&data, &[]);
    assert_eq!(get_status(address, "/api/v1/audit/verify", &token), 401);
    stop(child);
}

#[test]
fn tokens_are_issued_and_revoked_while_the_server_runs() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("ledger");
    let (child, address) = serve(&data, &[]);

    let issued = token(&["issue", "--role", "office", "--unit", "office"], &data);
    assert!(
        issued.status.success(),
        "{}",
        String::from_utf8_lossy(&issued.stderr)
    );
    let token_text = String::from_utf8(issued.stdout).unwrap().trim().to_owned();
    assert!(token_text.starts_with("clt1."), "{token_text}");
    let id = token_text.split('.').nth(1).unwrap().to_owned();
    assert_eq!(
        get_status(address, "/api/v1/audit/verify", &token_text),
        200
    );

    let listed = token(&["list"], &data);
    assert!(listed.status.success());
    let listed = String::from_utf8(listed.stdout).unwrap();
    assert!(
        listed.contains(&id) && listed.contains("active"),
        "{listed}"
    );

    // A unit that does not fit the role is refused, and nothing is issued.
    let refused = token(&["issue", "--role", "township", "--unit", "housing"], &data);
    assert!(!refused.status.success());

    let revoked = token(&["revoke", "--id", &id], &data);
    assert!(
        revoked.status.success(),
        "{}",
        String::from_utf8_lossy(&revoked.stderr)
    );
    // In force on the running server, without a restart.
    assert_eq!(
        get_status(address, "/api/v1/audit/verify", &token_text),
        401
    );
    stop(child);

    // The server is gone and so is its admin file; the revocation was kept.
    assert!(!data.join("server-admin.json").exists());
    let listed = token(&["list"], &data);
    assert!(listed.status.success());
    let listed = String::from_utf8(listed.stdout).unwrap();
    let line = listed.lines().find(|line| line.starts_with(&id)).unwrap();
    assert!(!line.ends_with("active"), "{line}");
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}
