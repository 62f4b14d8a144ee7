//! A real `caseledger bench` process appending under load is SIGKILLed at random moments, ten
//! times. Each kill comes after the process has acknowledged records of its own round (a
//! position past the last round's head), at a random delay after that. After each kill the
//! ledger opens, every position the process reported as acknowledged is there, positions are
//! gapless, and the chain verifies.

use std::io::BufRead;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use caseledger_log::{Ledger, LedgerOptions};

/// A small xorshift generator seeded from the clock; the seed is printed for reruns.
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[test]
fn sigkill_under_load_loses_nothing_acknowledged() {
    let seed = std::env::var("CRASH_SEED")
        .ok()
        .and_then(|text| text.parse().ok())
        .unwrap_or_else(|| {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
                | 1
        });
    eprintln!("crash test seed {seed} (set CRASH_SEED to repeat)");
    let mut random = Random(seed);
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("ledger");
    let mut acknowledged_before = 0;
    for round in 0..10 {
        let mut child = Command::new(env!("CARGO_BIN_EXE_caseledger"))
            .args([
                "bench",
                "--records",
                "100000000",
                "--submitters",
                "16",
                "--data",
            ])
            .arg(&data)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start caseledger bench");
        let acked = Arc::new(AtomicU64::new(0));
        let reader = {
            let acked = acked.clone();
            let stdout = child.stdout.take().unwrap();
            std::thread::spawn(move || {
                for line in std::io::BufReader::new(stdout).lines() {
                    let Ok(line) = line else { break };
                    if let Ok(value) = serde_json::from_str::<serde_json::Value>(&line) {
                        if let Some(position) = value.get("acked").and_then(|p| p.as_u64()) {
                            acked.fetch_max(position, Ordering::SeqCst);
                        }
                    }
                }
            })
        };
        // The first `acked` line can come before the round appends anything (it repeats the
        // last round's head), so wait for an acknowledgement of this round's own, then let
        // the load run on for a random while before the kill.
        let deadline = Instant::now() + Duration::from_secs(60);
        while acked.load(Ordering::SeqCst) <= acknowledged_before {
            assert!(
                Instant::now() < deadline,
                "round {round}: no record acknowledged within 60 s"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        let wait_ms = random.next() % 1_000;
        std::thread::sleep(Duration::from_millis(wait_ms));
        // std's `Child::kill` is SIGKILL on Unix: no destructor, no flush, no chance to finish
        // the batch in flight.
        child.kill().expect("SIGKILL the bench");
        let status = child.wait().unwrap();
        assert!(
            !status.success(),
            "round {round}: the bench ended before it was killed"
        );
        reader.join().unwrap();
        let acked = acked.load(Ordering::SeqCst);
        assert!(
            acked > acknowledged_before,
            "round {round}: acknowledged {acked}, not past the last round's head {acknowledged_before}"
        );

        let ledger = Ledger::open_existing(&data, LedgerOptions::new(""))
            .unwrap_or_else(|error| panic!("round {round}: the ledger does not open: {error}"));
        let head = ledger.head().position;
        assert!(
            head >= acked,
            "round {round}: head {head} is behind acknowledged {acked}"
        );
        assert!(
            head >= acknowledged_before,
            "round {round}: the ledger got shorter"
        );
        let report = ledger.verify(|_, _| {}).unwrap();
        assert!(report.ok, "round {round}: {report:?}");
        assert_eq!(report.records, head);
        // Gapless: read everything back by position.
        let mut position = 1;
        while position <= head {
            let records = ledger.read_range(position, 10_000).unwrap();
            for (offset, stored) in records.iter().enumerate() {
                assert_eq!(stored.position, position + offset as u64);
            }
            position += records.len() as u64;
        }
        eprintln!(
            "round {round}: killed {wait_ms} ms after its first acknowledgement, acknowledged \
             {acked}, head {head}"
        );
        acknowledged_before = head;
    }
    assert!(
        acknowledged_before > 0,
        "the bench never acknowledged anything"
    );
}
