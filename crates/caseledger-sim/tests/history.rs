//! The simulated history: every step allowed by the rules, replayable, deterministic, complete.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use caseledger_domain::act::{Act, CloseOutcome, Rating, RecordedAct};
use caseledger_domain::case::{self, CaseState, CaseStatus};
use caseledger_domain::context::Rules;
use caseledger_domain::credit;
use caseledger_domain::firm::{self, FirmState};
use caseledger_domain::governance::{self, GovernanceState};
use caseledger_domain::seal::MemoryKeyStore;
use caseledger_sim::{load_rules, SimConfig, SimStep, Simulation};

fn rules() -> Rules {
    let ops = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../ops");
    load_rules(&ops).expect("the shipped ops folder loads")
}

type Believed = (
    Vec<SimStep>,
    BTreeMap<String, CaseState>,
    Vec<FirmState>,
    Vec<GovernanceState>,
);

fn run(rules: &Rules, config: SimConfig) -> Believed {
    let mut keys = MemoryKeyStore::default();
    let mut simulation = Simulation::new(config, rules, &mut keys).expect("simulation starts");
    let mut steps = Vec::new();
    for step in simulation.by_ref() {
        match step {
            Ok(step) => steps.push(step),
            Err(error) => panic!("step {} refused: {error}", steps.len() + 1),
        }
    }
    let cases = simulation
        .case_states()
        .iter()
        .map(|(id, state)| (format!("case/{id}"), state.clone()))
        .collect();
    let firms = simulation.firm_states().into_iter().cloned().collect();
    let governance = simulation.governance_states().to_vec();
    (steps, cases, firms, governance)
}

#[test]
fn a_small_run_decides_every_step_and_replays_to_the_states_the_simulation_believed() {
    let rules = rules();
    let config = SimConfig {
        retain_states: true,
        ..SimConfig::year(11, 400)
    };
    let (steps, cases, firms, compounds) = run(&rules, config);
    assert!(steps.len() > 3_000, "{} steps", steps.len());

    // Positions are gapless from 1, times never go back, versions count up per stream.
    let mut versions: BTreeMap<&str, u64> = BTreeMap::new();
    let mut acts_by_stream: BTreeMap<&str, Vec<Act>> = BTreeMap::new();
    for (index, step) in steps.iter().enumerate() {
        assert_eq!(step.position, index as u64 + 1);
        if index > 0 {
            assert!(
                step.recorded_at >= steps[index - 1].recorded_at,
                "time went back at {}",
                step.position
            );
        }
        let version = versions.entry(&step.stream).or_insert(0);
        assert_eq!(
            step.expected_version, *version,
            "{} at {}",
            step.stream, step.position
        );
        *version += 1;
        // The payload decodes to the act, through the log's bytes.
        let decoded =
            Act::decode(step.kind, step.schema_version, &step.payload).expect("payload decodes");
        assert_eq!(decoded, step.act);
        assert_eq!(decoded.stream().to_string(), step.stream);
        assert!(
            step.principal.check(&rules.registry).is_ok(),
            "{}",
            step.principal
        );
        acts_by_stream
            .entry(&step.stream)
            .or_default()
            .push(decoded);
    }

    // Folding each case stream through evolve gives the state the simulation held.
    let mut replayed_cases = 0;
    for (stream, state) in &cases {
        let acts = &acts_by_stream[stream.as_str()];
        let replayed = acts.iter().fold(CaseState::default(), case::evolve);
        assert_eq!(&replayed, state, "{stream}");
        // The year ends with every case over for good, and among its acts is the one that
        // ended it (read from the acts, not from the fold; erasing the complainant's data
        // may come after it).
        assert!(
            matches!(
                replayed.status,
                CaseStatus::Closed | CaseStatus::Merged | CaseStatus::Withdrawn
            ),
            "{stream} ends {:?}",
            replayed.status
        );
        assert!(
            acts.iter()
                .any(|act| ["CaseClosed", "CaseMerged", "CaseWithdrawn"].contains(&act.kind())),
            "{stream} was never closed, merged or withdrawn"
        );
        replayed_cases += 1;
    }
    assert_eq!(replayed_cases, 400, "every case finished");
    for state in &firms {
        let uscc = state.firm.as_ref().expect("every firm registered");
        let acts = &acts_by_stream[format!("firm/{uscc}").as_str()];
        let replayed = acts.iter().fold(FirmState::default(), firm::evolve);
        assert_eq!(&replayed, state, "firm/{uscc}");
    }
    let mut replayed_compounds = 0;
    for state in &compounds {
        let Some(compound) = &state.compound else {
            continue;
        };
        let acts = &acts_by_stream[compound.as_str()];
        let replayed = acts
            .iter()
            .fold(GovernanceState::default(), governance::evolve);
        assert_eq!(&replayed, state, "{compound}");
        replayed_compounds += 1;
    }
    assert!(
        replayed_compounds > 50,
        "{replayed_compounds} compound streams"
    );
}

#[test]
fn two_thousand_cases_take_every_path_of_the_lifecycle() {
    let rules = rules();
    let (steps, _, _, _) = run(&rules, SimConfig::year(2026, 2_000));
    let kinds: BTreeSet<&str> = steps.iter().map(|step| step.kind).collect();
    let missing: Vec<&&str> = Act::CASE_KINDS
        .iter()
        .chain(Act::FIRM_KINDS)
        .chain(Act::GOVERNANCE_KINDS)
        .filter(|kind| !kinds.contains(**kind))
        .collect();
    assert!(missing.is_empty(), "kinds never produced: {missing:?}");

    let mut ratings = BTreeSet::new();
    let mut outcomes = BTreeSet::new();
    let mut channels = BTreeSet::new();
    let mut late_resolutions = 0;
    let mut firm_penalties = 0;
    let mut fines = 0;
    let mut re_dispatched = 0;
    let mut dispatches: BTreeMap<&str, u32> = BTreeMap::new();
    let mut townships = BTreeMap::new();
    for step in &steps {
        match &step.act {
            Act::FeedbackRecorded(feedback) => {
                ratings.insert(format!("{:?}", feedback.rating));
            }
            Act::CaseClosed(closed) => {
                outcomes.insert(format!("{:?}", closed.outcome));
            }
            Act::ComplaintFiled(filed) => {
                channels.insert(format!("{:?}", filed.channel));
                *townships.entry(filed.township.to_string()).or_insert(0u32) += 1;
            }
            Act::CaseResolved(resolved) if !resolved.on_time => late_resolutions += 1,
            Act::PenaltyImposed(penalty) => {
                if matches!(
                    penalty.party,
                    caseledger_domain::act::PenalisedParty::Firm(_)
                ) {
                    firm_penalties += 1;
                }
                if penalty.fine_fen > 0 {
                    fines += 1;
                }
            }
            Act::CaseDispatched(_) => {
                let count = dispatches.entry(step.stream.as_str()).or_insert(0);
                *count += 1;
                if *count == 2 {
                    re_dispatched += 1;
                }
            }
            _ => {}
        }
    }
    for rating in [
        Rating::Satisfied,
        Rating::BasicallySatisfied,
        Rating::Dissatisfied,
    ] {
        assert!(
            ratings.contains(&format!("{rating:?}")),
            "{rating:?} never given"
        );
    }
    for outcome in [
        CloseOutcome::Rated,
        CloseOutcome::DissatisfactionNotReasonable,
        CloseOutcome::Unrated,
    ] {
        assert!(
            outcomes.contains(&format!("{outcome:?}")),
            "{outcome:?} never closed"
        );
    }
    assert_eq!(channels.len(), 5, "channels: {channels:?}");
    assert!(late_resolutions > 0);
    assert!(firm_penalties > 0 && fines > 0);
    assert!(re_dispatched > 0);
    // The county seat draws the most complaints.
    let top = townships
        .iter()
        .max_by_key(|(_, count)| **count)
        .map(|(t, _)| t.clone());
    assert_eq!(top.as_deref(), Some("township/dongping"));
}

#[test]
fn the_same_seed_gives_the_same_history_and_another_seed_another() {
    let rules = rules();
    let normalise = |steps: Vec<SimStep>| -> Vec<SimStep> {
        steps
            .into_iter()
            .map(|mut step| {
                // Sealing draws key ids and nonces from the OS (see the crate docs): blank them.
                if let Act::ComplaintFiled(filed) = &mut step.act {
                    filed.complainant.key_id = caseledger_domain::seal::KeyId(uuid::Uuid::nil());
                    filed.complainant.nonce.fill(0);
                    filed.complainant.ciphertext.fill(0);
                    step.payload = step.act.encode_payload();
                }
                if let Act::PersonalDataErased(erased) = &mut step.act {
                    erased.key_id = caseledger_domain::seal::KeyId(uuid::Uuid::nil());
                    step.payload = step.act.encode_payload();
                }
                step
            })
            .collect()
    };
    let first = normalise(run(&rules, SimConfig::year(5, 300)).0);
    let second = normalise(run(&rules, SimConfig::year(5, 300)).0);
    assert_eq!(first.len(), second.len());
    for (a, b) in first.iter().zip(&second) {
        assert_eq!(a, b, "differs at position {}", a.position);
    }
    let other = normalise(run(&rules, SimConfig::year(6, 300)).0);
    assert_ne!(
        first.iter().map(|s| s.event_id).collect::<Vec<_>>(),
        other.iter().map(|s| s.event_id).collect::<Vec<_>>()
    );
}

#[test]
fn every_published_grade_is_what_the_credit_function_gives_over_the_whole_ledger_before_it() {
    // The simulation scores firms from the subset of records credit reads; anyone replaying
    // the ledger scores from everything. The two must agree, point for point.
    let rules = rules();
    let (steps, _, _, _) = run(&rules, SimConfig::year(17, 1_500));
    let records: Vec<RecordedAct> = steps
        .iter()
        .map(|step| RecordedAct {
            position: step.position,
            event_id: step.event_id,
            recorded_at: step.recorded_at,
            act: step.act.clone(),
        })
        .collect();
    let mut grades = 0;
    for step in &steps {
        if let Act::GradePublished(published) = &step.act {
            let before = &records[..(step.position - 1) as usize];
            let score = credit::score(&rules.credit, &published.firm, published.quarter, before);
            assert_eq!(
                score.grade, published.grade,
                "{} {}",
                published.firm, published.quarter
            );
            assert_eq!(score.score_hundredths, published.score_hundredths);
            assert_eq!(score.trace, published.trace);
            grades += 1;
        }
    }
    assert!(grades >= 100, "{grades} grades published");
}
