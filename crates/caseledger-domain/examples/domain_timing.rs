//! Rough timings of the domain's hot paths, for the writer's budget: how long `decide` and
//! `evolve` take for a case command, how fast acts encode and decode, and how long a credit
//! score over a year of records takes.
//!
//! `cargo run --release -p caseledger-domain --example domain_timing`

#[path = "../tests/common/mod.rs"]
#[allow(unused_imports)]
mod common;

use std::time::Instant;

use caseledger_domain::act::{Act, Quarter};
use caseledger_domain::case::{self, AcceptCase, CaseCommand, CaseState};
use caseledger_domain::context::Context;
use caseledger_domain::credit::score;

fn per_op(label: &str, count: u32, run: impl FnMut()) {
    let mut run = run;
    let start = Instant::now();
    for _ in 0..count {
        run();
    }
    let elapsed = start.elapsed();
    println!(
        "{label:<44} {:>9.2} µs/op  ({count} ops)",
        elapsed.as_secs_f64() * 1e6 / f64::from(count)
    );
}

fn main() {
    let rules = common::rules();
    let lifecycle: Vec<Act> = common::full_lifecycle(&rules)
        .into_iter()
        .map(|(_, _, act)| act)
        .collect();

    let dispatched = CaseState::replay(&lifecycle[..2]);
    let context = Context::new(
        &rules,
        common::monday() + chrono::Duration::hours(2),
        common::dongping(),
    );
    let accept = CaseCommand::AcceptCase(AcceptCase {});
    per_op("decide AcceptCase (deadlines computed)", 200_000, || {
        std::hint::black_box(case::decide(&dispatched, &accept, &context).unwrap());
    });
    per_op("replay a 23-act case (evolve)", 100_000, || {
        std::hint::black_box(CaseState::replay(&lifecycle));
    });
    let payloads: Vec<(&'static str, Vec<u8>)> = lifecycle
        .iter()
        .map(|act| (act.kind(), act.encode_payload()))
        .collect();
    let bytes: usize = payloads.iter().map(|(_, payload)| payload.len()).sum();
    println!(
        "lifecycle: {} acts, {bytes} payload bytes, {} per act on average",
        lifecycle.len(),
        bytes / lifecycle.len()
    );
    per_op(
        &format!("encode all {} lifecycle acts", lifecycle.len()),
        50_000,
        || {
            for act in &lifecycle {
                std::hint::black_box(act.encode_payload());
            }
        },
    );
    per_op(
        &format!("decode all {} lifecycle acts", lifecycle.len()),
        50_000,
        || {
            for (kind, payload) in &payloads {
                std::hint::black_box(Act::decode(kind, 1, payload).unwrap());
            }
        },
    );

    // A year of records for one firm: every lifecycle act repeated over 50 cases.
    let mut records = Vec::new();
    let mut position = 0u64;
    for case in 0..50u128 {
        for act in &lifecycle {
            let mut act = act.clone();
            if let Act::ComplaintFiled(filed) = &mut act {
                filed.case_id = caseledger_domain::act::CaseId(uuid::Uuid::from_u128(case + 1));
            }
            position += 1;
            records.push(caseledger_domain::act::RecordedAct {
                position,
                event_id: uuid::Uuid::from_u128(u128::from(position)),
                recorded_at: common::monday() + chrono::Duration::hours(position as i64),
                act,
            });
        }
    }
    let firm = common::FIRM.parse().unwrap();
    let quarter = Quarter::new(2026, 2).unwrap();
    per_op(
        &format!("credit score over {} records", records.len()),
        2_000,
        || {
            std::hint::black_box(score(&rules.credit, &firm, quarter, &records));
        },
    );
}
