//! Generates a history and prints its figures: records, records/s, kinds, grades.
//!
//! `cargo run --release -p caseledger-sim --example generate -- RECORDS [SEED] [LEDGER_DIR]`
//! With a ledger folder, also appends the history there and verifies it.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

use caseledger_domain::act::Act;
use caseledger_domain::seal::MemoryKeyStore;
use caseledger_sim::{append_all, load_rules, SimConfig, Simulation};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let records: u64 = args.next().unwrap_or_else(|| "100000".into()).parse()?;
    let seed: u64 = args.next().unwrap_or_else(|| "1".into()).parse()?;
    let ledger_dir = args.next().map(PathBuf::from);
    let ops = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../ops");
    let rules = load_rules(&ops)?;
    let config = SimConfig::year_of_records(seed, records);
    println!("cases: {}", config.cases);
    let mut keys = MemoryKeyStore::default();
    let simulation = Simulation::new(config.clone(), &rules, &mut keys)?;

    if let Some(dir) = ledger_dir {
        let ledger = caseledger_log::Ledger::open(
            &dir,
            caseledger_log::LedgerOptions::new("caseledger.example/anhua"),
        )?;
        let summary = append_all(&ledger, simulation, |progress| {
            if progress.appended % 100_000 < caseledger_sim::APPEND_BATCH_STEPS_MAX as u64 {
                eprintln!(
                    "{} records, {:.1} s",
                    progress.appended, progress.elapsed_seconds
                );
            }
        })?;
        println!(
            "appended {} records in {:.2} s: {:.0} records/s (generation included)",
            summary.appended,
            summary.elapsed_seconds,
            summary.appended as f64 / summary.elapsed_seconds
        );
        let started = Instant::now();
        let report = ledger.verify(|_, _| {})?;
        println!(
            "verify: ok={} in {:.2} s",
            report.ok,
            started.elapsed().as_secs_f64()
        );
        return Ok(());
    }

    let started = Instant::now();
    let mut count = 0u64;
    let mut bytes = 0u64;
    let mut kinds: BTreeMap<&str, u64> = BTreeMap::new();
    let mut grades: BTreeMap<String, u64> = BTreeMap::new();
    let mut last = None;
    let (mut resolutions, mut late, mut rated, mut satisfied) = (0u64, 0u64, 0u64, 0u64);
    let verbose = std::env::var_os("SIM_VERBOSE").is_some();
    for step in simulation {
        let step = step?;
        count += 1;
        bytes += step.payload.len() as u64;
        *kinds.entry(step.kind).or_default() += 1;
        if let Act::GradePublished(grade) = &step.act {
            *grades
                .entry(format!("{} {}", grade.quarter, grade.grade))
                .or_default() += 1;
            if verbose {
                println!(
                    "{} {} {} {}",
                    grade.firm, grade.quarter, grade.grade, grade.score_hundredths
                );
                let mut reasons: BTreeMap<String, (u32, i64)> = BTreeMap::new();
                for line in &grade.trace {
                    let entry = reasons.entry(format!("{:?}", line.reason)).or_default();
                    entry.0 += 1;
                    entry.1 += line.points_hundredths;
                }
                println!("  trace {reasons:?}");
            }
        }
        if verbose
            && matches!(
                step.kind,
                "BlackListed" | "RedListed" | "Delisted" | "CreditRepaired"
            )
        {
            println!("{} {} {}", step.recorded_at, step.kind, step.stream);
        }
        match &step.act {
            Act::CaseResolved(resolved) => {
                resolutions += 1;
                late += u64::from(!resolved.on_time);
            }
            Act::FeedbackRecorded(feedback) => {
                rated += 1;
                satisfied +=
                    u64::from(feedback.rating != caseledger_domain::act::Rating::Dissatisfied);
            }
            _ => {}
        }
        last = Some(step.recorded_at);
    }
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "generated {count} records ({:.1} MiB of payload) in {seconds:.2} s: {:.0} records/s; last act at {last:?}",
        bytes as f64 / 1048576.0,
        count as f64 / seconds
    );
    println!(
        "late resolutions {:.1}%, satisfaction rate {:.1}%",
        100.0 * late as f64 / resolutions.max(1) as f64,
        100.0 * satisfied as f64 / rated.max(1) as f64
    );
    for (kind, n) in kinds {
        println!("{kind:32} {n}");
    }
    for (grade, n) in grades {
        println!("{grade} {n}");
    }
    Ok(())
}
