//! A realistic synthetic history of the county, for the demo and for benchmarks.
//!
//! [`Simulation`] plays a county's year (or any period the working-day calendar covers) on a
//! simulated clock: complaints arrive, are dispatched, accepted, returned, transferred,
//! handled, supervised, extended, resolved, rated, closed, reopened, merged and withdrawn;
//! firms are registered, file contracts, are assessed every quarter by every hosting
//! community, aggregated by townships, graded by housing and listed; the Office convenes
//! joint meetings, housing leads safety inspections, compounds elect owners' committees and
//! draw on the maintenance fund. **Every act goes through the domain's `decide`**
//! (`caseledger_domain::case::decide`, `firm::decide`, `governance::decide`) with the principal (role and unit) the plan gives it and `now` = the simulated time, and
//! the simulation's own state is the fold of the produced acts through `evolve`. A step the
//! rules refuse is a bug in the simulation and ends the run with [`SimError::Rejected`].
//!
//! The output is an iterator of [`SimStep`]s in time order, each carrying what the log needs
//! (stream, expected version, event id, actor, kind, schema version, payload) and the act
//! itself. [`append_all`] writes them to a [`caseledger_log::Ledger`] in batches.
//!
//! ```no_run
//! use caseledger_domain::seal::MemoryKeyStore;
//! use caseledger_sim::{append_all, load_rules, SimConfig, Simulation};
//!
//! let rules = load_rules(std::path::Path::new("ops")).unwrap();
//! let mut keys = MemoryKeyStore::default();
//! let simulation = Simulation::new(SimConfig::year(7, 5_000), &rules, &mut keys).unwrap();
//! let dir = tempfile::tempdir().unwrap();
//! let ledger = caseledger_log::Ledger::open(
//!     dir.path(),
//!     caseledger_log::LedgerOptions::new("caseledger.example/anhua"),
//! )
//! .unwrap();
//! let summary = append_all(&ledger, simulation, |p| eprintln!("{} records", p.appended)).unwrap();
//! assert!(ledger.verify(|_, _| {}).unwrap().ok);
//! println!("{} records in {:.1} s", summary.appended, summary.elapsed_seconds);
//! ```
//!
//! # Determinism
//!
//! A [`SimConfig`] gives the same steps every time: positions, times, streams, versions,
//! event ids (UUIDv7 from the simulated time and the seed), case ids, actors, kinds and
//! payloads — except the sealed complainant data in `ComplaintFiled`: the domain's
//! [`caseledger_domain::seal::seal`] draws its key id (through the key store) and its nonce
//! from the operating system, as real sealing must. With a key store that hands out
//! deterministic key ids, only the 24-byte nonce and the ciphertext differ between runs;
//! their lengths do not, so record sizes are identical.
//!
//! # Positions and recorded times
//!
//! Credit scores, grade traces, black-list grounds and credit repairs name log positions, so
//! the simulation numbers its steps from [`SimConfig::first_position`] (1: an empty ledger)
//! and [`append_all`] checks that every step lands where it was numbered. Each step carries
//! its simulated `recorded_at`; the log's writer stamps its own wall-clock time, which
//! `caseledger_log::AppendRequest` cannot override today. Until it can, a ledger filled by
//! [`append_all`] has the simulated acts (with their simulated deadlines and on-time flags)
//! but today's record times.
//!
//! # Realism assumptions
//!
//! All names are invented; phone numbers are random in the 170 block; the county's units are
//! the sample registry's. The rates below are ours, chosen to look like a county's 12345
//! property-complaint year; none is an official statistic.
//!
//! - **Volume and timing.** `cases` complaints over `days` days. Daily volume: ×1.3 in June to
//!   August (lifts, water, noise), ×0.7 in February (Spring Festival), weekends ×0.6. Hours of
//!   filing follow the hotline's day, 07:00 to 22:00, peak 09:00 to 11:00. Government units act
//!   08:30 to 17:30 on working days of the calendar (make-up days included); urgent safety
//!   cases are handled at any hour.
//! - **Where.** Compounds of the county seat 东坪镇 draw 3× a rural compound's complaints; each
//!   compound has its own trouble factor (0.4 to 1.6). 8% of compounds have no firm.
//! - **What.** Categories weighted (% of weight): service quality 22, fees 12, lifts and special
//!   equipment 9, illegal construction 8, dispute mediation 8, decoration 6, fire safety 5,
//!   security 4, maintenance fund 3, green space 3, pipes 2, drinking water 2, owners'
//!   committees 2, fee arrears 2, and 0.3 to 1.5 for each of the rest. Each category has its
//!   chance of naming the compound's firm (service quality 100%, fees 90%, lifts 85%, …), of
//!   being urgent safety (lifts 35%, pipes 40%, fire 30%, where the matrix allows) and of
//!   being complex (15 working days; e.g. maintenance fund 40%).
//! - **Intake.** 12345 hotline 62% (dispatched by housing, 15% by the Office), petition
//!   platform 8% (dispatched by petitions; every `petition` complaint), walk-ins 20% (60% at
//!   the township, 40% at the community), owners' committees 5%, a department's own
//!   inspection 5%. Locally filed cases are dispatched by the township within its area and
//!   transferred (移送) to the responsible department when the matter is a department's.
//! - **Routing.** The handler comes from the responsibility matrix: the local township or
//!   community 70% of the time where the matrix names one alongside departments, else a
//!   responsible department. 6% of county dispatches to a department's matter go first to the
//!   township, which returns them (退单) within the window; the dispatcher then dispatches
//!   again. A township handling a shared matter transfers it to a department 15% of the
//!   time; 40% of disputes at a township go on to the community, which mediates.
//! - **Lifecycle.** Late dispatch 5%, late acceptance 5%, late first contact 8%; inspection
//!   70%; mediation on every dispute handled locally (agreed 65%, partly 20%, failed 15%);
//!   rectification orders (2 to 5 working days) on substantiated firm complaints (60%) and on
//!   half the penalised owners; joint enforcement led by the township on 10% of illegal
//!   construction, green space, fire, exit, change-of-use and unlicensed-business cases; one
//!   extension (3 to 10 working days) on 25% of complex and 3% of general cases; resolution
//!   late on 3% of urgent, 8% of general and 15% of complex cases, 85% of which get a
//!   supervision notice (督办) from housing, the Office or petitions once overdue.
//!   Penalties (legal basis per category, fines in fen) are imposed by a department holding
//!   enforcement powers over the category.
//! - **Outcome.** Feedback (回访) within the follow-up day (7% late), by the intake channel for
//!   hotline and petition cases, else by the dispatcher: satisfied 72%, basically satisfied
//!   17%, dissatisfied 11%; 6% never rated and closed unrated after 3 working days. Half the
//!   dissatisfied are judged reasonable and reopened (再次处置), then resolved again; the rest
//!   are closed. 4% of complaints are repeats: when the same compound and category has an open
//!   case filed in the last 15 days, the repeat is merged (并单) into it; 2.5% of complaints are withdrawn
//!   (at filing, after dispatch or after acceptance); 0.5% of closed cases have their
//!   personal data erased (PIPL art. 47) and their sealing key destroyed.
//! - **Firms.** Every firm serves at least one compound. Latent tiers: 20% A, 45% B, 25% C,
//!   10% D (one D firm improves to A after the first quarter, so that a black-listed firm
//!   comes off the list). Quarterly community scores per item: A 94–99, B 84–92, C 78–88,
//!   D 50–64. Per firm per year, in expectation: substantiated complaints A 1.5, B 4, C 6,
//!   D 8; overdue rectifications 0, 0.3, 0.6, 1; penalties 0, 0.2, 0.4, 0.8;
//!   black-list-grade violations 0, 0, 0.05, 0.3 — turned into per-case chances from the
//!   firm's expected complaint volume, so grades stay realistic at any volume (at benchmark
//!   volumes most firm complaints are therefore found not substantiated). Assessments within
//!   7 working days of a quarter's end, township aggregation 9 to 11, grade publication 13 to
//!   15 (the grade is the domain's `credit::score`), list review 16 to 18, and 3 to 8 working
//!   days after a black-list-grade violation. 50% of firm penalties and violations are
//!   repaired (信用修复) 20 to 40 working days later. About three compounds a year change
//!   firms (exit, new contract, handover inspection); about four tenders are filed a year;
//!   up to three A firms are commended mid-year.
//! - **Governance** (`caseledger_domain::governance::decide`). Every community names each
//!   compound's property liaison (物管员) in the first three weeks. 40% of compounds already
//!   have an owners' assembly and a committee (3-year terms, 5 to 11 members), recorded at
//!   launch with their historical dates and filed by the township; their term change (换届)
//!   is recorded a month before the term ends when that falls in the period; 12% of the
//!   others form an assembly, elect a committee 10 to 30 working days later and file it.
//!   Compounds with neither firm nor committee sign a fire-safety agreement (防火协议) before
//!   summer. 15% of compounds with a committee apply to the maintenance fund (20,000 to
//!   300,000 yuan); housing reviews within 5 to 15 working days (85% approved at 70% to 100%
//!   of the amount) and disburses 70% at the start of works and the rest 20 to 60 working
//!   days later. The Office convenes the half-yearly joint meeting (late June, late December)
//!   and one emergency meeting in the flood season (July); housing leads two safety
//!   inspections a quarter with emergency, fire-rescue or urban-management.
#![deny(missing_docs)]

mod clock;
mod county;
mod ledger;
mod ops;
mod rng;
mod sim;

use chrono::{DateTime, NaiveDate, Utc};
use uuid::Uuid;

use caseledger_domain::act::Act;
use caseledger_domain::principal::Principal;
use caseledger_domain::rejection::Rejection;
use caseledger_domain::seal::SealError;
use caseledger_log::Actor;

pub use ledger::{append_all, AppendError, AppendProgress, AppendSummary, APPEND_BATCH_STEPS_MAX};
pub use ops::{load_rules, OpsError};
pub use sim::Simulation;

/// Records per case in a simulated year, in hundredths (firm and governance acts included), measured on
/// seed 1 with 5,000 to 100,000 cases.
pub const RECORDS_PER_CASE_HUNDREDTHS: u64 = 837;

/// What to simulate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimConfig {
    /// The seed: the same config gives the same history.
    pub seed: u64,
    /// Complaint cases filed over the period.
    pub cases: u64,
    /// The first day (China Standard Time).
    pub start: NaiveDate,
    /// Days in the period. Cases are filed inside it; their handling and the last quarter's
    /// grades run on after it (the calendar must cover 120 days beyond).
    pub days: u32,
    /// The log position of the first step: 1 for an empty ledger.
    pub first_position: u64,
    /// Whether to simulate firms' files (registration, contracts, assessments, grades,
    /// lists). Without them the history holds case acts only.
    pub firm_acts: bool,
    /// Whether to simulate governance acts (joint meetings, safety inspections, each
    /// compound's liaison, owners' committee, fire-safety agreement and maintenance fund).
    pub governance_acts: bool,
    /// Keep each finished case's final state for [`Simulation::case_states`] (tests; costs
    /// memory at benchmark volumes).
    pub retain_states: bool,
}

impl SimConfig {
    /// A year from 1 July 2025 to 30 June 2026 (the shipped sample calendars cover 2025 to
    /// 2027) with `cases` complaints and firm acts, starting at position 1. The year and its
    /// follow-ups end before today, so [`append_all`] can give every record its simulated
    /// time: the log refuses recorded-at times in the future.
    pub fn year(seed: u64, cases: u64) -> SimConfig {
        SimConfig {
            seed,
            cases,
            start: NaiveDate::from_ymd_opt(2025, 7, 1).unwrap_or_default(),
            days: 365,
            first_position: 1,
            firm_acts: true,
            governance_acts: true,
            retain_states: false,
        }
    }

    /// About `records` records: the number of cases that yields roughly that many in a
    /// year (see [`RECORDS_PER_CASE_HUNDREDTHS`]), for benchmarks.
    pub fn year_of_records(seed: u64, records: u64) -> SimConfig {
        SimConfig::year(seed, (records * 100 / RECORDS_PER_CASE_HUNDREDTHS).max(1))
    }
}

/// One act of the simulated history, ready for the log.
#[derive(Debug, Clone, PartialEq)]
pub struct SimStep {
    /// The log position it takes when appended in order after position
    /// `first_position - 1`.
    pub position: u64,
    /// The simulated time of the act (UTC).
    pub recorded_at: DateTime<Utc>,
    /// Who acted.
    pub principal: Principal,
    /// The acting person's synthetic user name (`staff-07`).
    pub user: String,
    /// `case/<uuid>` or `firm/<uscc>`.
    pub stream: String,
    /// The stream's version before this act (0 for the first).
    pub expected_version: u64,
    /// A deterministic UUIDv7 from the simulated time and the seed.
    pub event_id: Uuid,
    /// The act's kind (`ComplaintFiled`).
    pub kind: &'static str,
    /// The act's schema version.
    pub schema_version: u16,
    /// The act encoded as the log stores it (`Act::encode_payload`).
    pub payload: Vec<u8>,
    /// The act.
    pub act: Act,
}

impl SimStep {
    /// The record's actor: role, unit and user.
    pub fn actor(&self) -> Actor {
        Actor {
            role: self.principal.role.as_str().to_string(),
            unit: self.principal.unit.as_str().to_string(),
            user: self.user.clone(),
        }
    }
}

/// A step the rules refused, with what was tried.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{command} by {principal} on {stream} at {at}: {rejection}")]
pub struct RefusedStep {
    /// The stream.
    pub stream: String,
    /// The command's name.
    pub command: &'static str,
    /// Who tried.
    pub principal: String,
    /// When.
    pub at: DateTime<Utc>,
    /// The rejection.
    pub rejection: Rejection,
}

/// Why a simulation cannot run or stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SimError {
    /// The configuration cannot be simulated (a period the calendar does not cover).
    #[error("模拟配置无效 / invalid simulation config: {0}")]
    Config(String),
    /// The registry or matrix lacks what the simulation needs.
    #[error("名录不完整 / the registry lacks what the simulation needs: {0}")]
    Registry(String),
    /// The domain refused a step the simulation planned: a bug in the simulation.
    #[error("模拟步骤被规则拒绝 / the rules refused a simulated step: {0}")]
    Rejected(Box<RefusedStep>),
    /// Sealing personal data, or destroying a key, failed in the key store.
    #[error("个人信息加密失败 / sealing failed: {0}")]
    Seal(#[from] SealError),
}
