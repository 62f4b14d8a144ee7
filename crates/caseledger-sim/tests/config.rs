//! Configurations the simulation refuses, and the ops loader's errors.

use std::path::PathBuf;

use caseledger_domain::seal::MemoryKeyStore;
use caseledger_sim::{load_rules, OpsError, SimConfig, SimError, Simulation};

fn ops() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../ops")
}

#[test]
fn a_period_the_calendar_does_not_cover_is_refused_before_anything_is_generated() {
    let rules = load_rules(&ops()).unwrap();
    let mut keys = MemoryKeyStore::default();
    // The shipped calendars cover 2026 and 2027; a run from mid-2027 needs 2028.
    let config = SimConfig {
        start: chrono::NaiveDate::from_ymd_opt(2027, 6, 1).unwrap(),
        ..SimConfig::year(1, 10)
    };
    match Simulation::new(config, &rules, &mut keys) {
        Err(SimError::Config(message)) => assert!(message.contains("2028"), "{message}"),
        other => panic!("expected a config error, got {other:?}"),
    }
    let empty = SimConfig {
        days: 0,
        ..SimConfig::year(1, 10)
    };
    assert!(matches!(
        Simulation::new(empty, &rules, &mut keys),
        Err(SimError::Config(_))
    ));
}

#[test]
fn steps_are_numbered_from_the_first_position_given() {
    let rules = load_rules(&ops()).unwrap();
    let mut keys = MemoryKeyStore::default();
    let config = SimConfig {
        first_position: 101,
        firm_acts: false,
        governance_acts: false,
        ..SimConfig::year(4, 20)
    };
    let steps: Vec<_> = Simulation::new(config, &rules, &mut keys)
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(steps[0].position, 101);
    assert!(steps.iter().all(|step| step.stream.starts_with("case/")));
    for (offset, step) in steps.iter().enumerate() {
        assert_eq!(step.position, 101 + offset as u64);
    }
}

#[test]
fn a_mistake_in_an_ops_file_is_reported_with_the_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    for folder in ["registry", "policy", "calendar"] {
        let from = ops().join(folder);
        let to = dir.path().join(folder);
        std::fs::create_dir_all(&to).unwrap();
        for entry in std::fs::read_dir(&from).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|ext| ext == "toml") {
                std::fs::copy(&path, to.join(path.file_name().unwrap())).unwrap();
            }
        }
    }
    assert!(load_rules(dir.path()).is_ok());
    let broken = dir.path().join("policy/deadlines.toml");
    let text = std::fs::read_to_string(&broken).unwrap();
    std::fs::write(&broken, format!("{text}\nnot valid toml here\n")).unwrap();
    match load_rules(dir.path()) {
        Err(OpsError::Load(error)) => {
            let message = error.to_string();
            assert!(message.contains("deadlines.toml"), "{message}");
            // The bad line is the last: after the file's own lines and an empty one.
            let line = text.lines().count() + 2;
            assert!(
                message.contains(&format!("deadlines.toml:{line}:")),
                "{message}"
            );
        }
        other => panic!("expected a load error, got {other:?}"),
    }
    std::fs::write(&broken, text).unwrap();
    std::fs::remove_dir_all(dir.path().join("calendar")).unwrap();
    match load_rules(dir.path()) {
        Err(OpsError::Read { path, .. }) => assert!(path.ends_with("calendar"), "{path:?}"),
        other => panic!("expected a read error, got {other:?}"),
    }
}
