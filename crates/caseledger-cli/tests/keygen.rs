//! `caseledger keygen`: a private signer key, a public verifier key beside it, never an
//! overwrite.

use std::process::Command;

#[test]
fn keygen_writes_a_private_key_and_its_verifier_and_never_overwrites() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("checkpoint.key");
    let run = || {
        Command::new(env!("CARGO_BIN_EXE_caseledger"))
            .args(["keygen", "--origin", "caseledger.test/keygen", "--out"])
            .arg(&key)
            .output()
            .unwrap()
    };
    let first = run();
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let signer = std::fs::read_to_string(&key).unwrap();
    assert!(
        signer.starts_with("PRIVATE+KEY+caseledger.test/keygen+"),
        "{signer}"
    );
    let public = std::fs::read_to_string(dir.path().join("checkpoint.key.pub")).unwrap();
    assert!(public.starts_with("caseledger.test/keygen+"), "{public}");
    assert!(String::from_utf8_lossy(&first.stdout).contains(public.trim_end()));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&key).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    let second = run();
    assert_eq!(second.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&second.stderr).contains("already exists"));
    assert_eq!(std::fs::read_to_string(&key).unwrap(), signer);
}

/// Refusals say what is wrong once: a folder that does not exist names the OS error once, and
/// a name no key can take is called that, not "not a signer key". Nothing is written.
#[test]
fn keygen_refusals_say_what_is_wrong_once() {
    let dir = tempfile::tempdir().unwrap();
    let refused = |origin: &str, out: &std::path::Path| {
        let output = Command::new(env!("CARGO_BIN_EXE_caseledger"))
            .args(["keygen", "--origin", origin, "--out"])
            .arg(out)
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2));
        String::from_utf8_lossy(&output.stderr).into_owned()
    };
    let stderr = refused("caseledger.test/keygen", &dir.path().join("nodir/k"));
    assert_eq!(
        stderr.matches("No such file or directory").count(),
        1,
        "{stderr}"
    );
    let key = dir.path().join("k");
    let stderr = refused("", &key);
    assert!(
        stderr.contains("cannot make a key with this name"),
        "{stderr}"
    );
    assert!(!stderr.contains("not a signer key"), "{stderr}");
    assert!(!key.exists());
}
