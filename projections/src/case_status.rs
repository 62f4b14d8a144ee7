//! 案件状态 — the status of every case, and lists of cases by handling unit, township,
//! community, compound, firm, state and category, newest first.
//!
//! Keys of the `case_status` tree:
//! - `c/` text(case) → [`CaseStatus`] (its deadlines in a compact form since version 10: see
//!   [`DeadlineEntry`])
//! - `a/` newest_first(filed position) → case id: every case, and the one place that maps a
//!   filing position to its case
//! - `i/` dimension tag, text(value), newest_first(filed position) → empty: a list reads the
//!   case id from `a/` under the key's position
//! - `o/` time(due) text(case) clock tag → empty: running clocks by deadline, for "which
//!   cases are overdue at this instant, and in whose hands"
//!
//! Until version 8 every `i/` and `o/` entry also held the case id as its value: ten copies
//! a case, a tenth of a rebuild's bytes and a million small allocations a million records.
//!
//! Deadlines are the ones the acts carry. Whether a case is overdue is decided at query time
//! for the instant asked, from those deadlines, so the same ledger and instant always give the
//! same answer.

use serde::{Deserialize, Serialize};

use crate::codec::{Key, KeyReader};
use crate::facts::{CaseFact, Clock, Due, Event, Rating, Subject};
use crate::framework::{Indexed, IndexedTable, Input, Projection, Reader, Tx};
use crate::query::{scan_page, scan_page_until, Page, PageRequest};
use crate::Error;

/// The projection's name.
pub const NAME: &str = "case_status";
/// Bump when the stored form or the fold changes. Version 10 stores deadlines compactly
/// (see [`DeadlineEntry`]).
pub const VERSION: u32 = 10;

/// 案件状态 — where a case stands in its lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum CaseState {
    /// 已受理 — filed, not dispatched.
    Filed,
    /// 已派单 — dispatched (or transferred), not accepted.
    Dispatched,
    /// 已签收 — accepted.
    Accepted,
    /// 办理中 — being handled.
    InProgress,
    /// 已退单 — returned by the unit; waiting for a new dispatch.
    Returned,
    /// 已办结 — resolved; waiting for feedback.
    Resolved,
    /// 已归档 — closed.
    Closed,
    /// 再次处置 — reopened after a reasonable dissatisfaction.
    Reopened,
    /// 已并单 — merged into another case.
    Merged,
    /// 已撤回 — withdrawn.
    Withdrawn,
}

impl CaseState {
    /// Every state, in the order of a case's life.
    pub const ALL: [CaseState; 10] = [
        CaseState::Filed,
        CaseState::Dispatched,
        CaseState::Accepted,
        CaseState::InProgress,
        CaseState::Returned,
        CaseState::Resolved,
        CaseState::Closed,
        CaseState::Reopened,
        CaseState::Merged,
        CaseState::Withdrawn,
    ];

    /// The state whose [`CaseState::slug`] is `slug`.
    pub fn from_slug(slug: &str) -> Option<CaseState> {
        CaseState::ALL
            .into_iter()
            .find(|state| state.slug() == slug)
    }

    /// The kebab-case name.
    pub fn slug(self) -> &'static str {
        match self {
            CaseState::Filed => "filed",
            CaseState::Dispatched => "dispatched",
            CaseState::Accepted => "accepted",
            CaseState::InProgress => "in-progress",
            CaseState::Returned => "returned",
            CaseState::Resolved => "resolved",
            CaseState::Closed => "closed",
            CaseState::Reopened => "reopened",
            CaseState::Merged => "merged",
            CaseState::Withdrawn => "withdrawn",
        }
    }

    /// Whether a unit still has work on it.
    pub fn is_open(self) -> bool {
        !matches!(
            self,
            CaseState::Resolved | CaseState::Closed | CaseState::Merged | CaseState::Withdrawn
        )
    }

    /// Whether the case is over for good.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            CaseState::Closed | CaseState::Merged | CaseState::Withdrawn
        )
    }
}

/// One deadline a case has had: its span as the act carried it, and how it ended.
///
/// JSON and other human-readable formats show its four fields as they are. The stored form
/// (bincode, which is not human-readable) is compact, because deadlines are most of a case
/// status's bytes (eight a case, about two thirds of its 890 bytes in a simulated county) and
/// the case statuses are the largest part of what a rebuild writes: see [`CompactDeadline`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadlineEntry {
    /// The deadline as carried by the act.
    pub due: Due,
    /// The unit whose clock it was.
    pub unit: Option<String>,
    /// The record that set it.
    pub set_by: u64,
    /// When it stopped running (met, superseded or cancelled), if it did.
    pub ended_us: Option<i64>,
}

/// [`DeadlineEntry`] field by field, for human-readable formats: borrowing its parts to
/// write them (`PlainDeadline<&Due, &Option<String>>`), owning them to read them.
#[derive(Serialize, Deserialize)]
#[serde(rename = "DeadlineEntry")]
struct PlainDeadline<D, U> {
    due: D,
    unit: U,
    set_by: u64,
    ended_us: Option<i64>,
}

/// The stored form of a [`DeadlineEntry`], a tuple: which of the start and the due time are
/// whole seconds (bit 0 and bit 1 of a byte), the clock, the start and the due time (in
/// seconds or microseconds as the byte says: a whole second since 1970 is 5 bytes of
/// bincode's variable-length integers, a microsecond 9), the two warnings only when they are
/// not where [`warnings`] puts them (as the domain's deadlines put them today: half and
/// three quarters of the span), then the unit (`U`: borrowed to write, owned to read), the
/// record and the end as they are. Exactly the same values come back, whatever they are: a
/// warning elsewhere is stored, a time that is not a whole second is kept in microseconds. A
/// typical deadline takes 54 bytes instead of 78.
type CompactDeadline<U> = (u8, Clock, i64, i64, Option<(i64, i64)>, U, u64, Option<i64>);

/// Where the two warnings of a span from `started_us` to `due_us` fall when they are at half
/// and three quarters of it, in whole microseconds (truncated towards the start).
fn warnings(started_us: i64, due_us: i64) -> (i64, i64) {
    let span = i128::from(due_us) - i128::from(started_us);
    // Half and three quarters of the span from the start lie between the start and the due
    // time, so they fit an i64; the fallback is never taken.
    let at = |part: i128| i64::try_from(i128::from(started_us) + part).unwrap_or(due_us);
    (at(span / 2), at(span * 3 / 4))
}

const MICROS_PER_SECOND: i64 = 1_000_000;

/// `us` in whole seconds if it is some, with the flag saying so.
fn to_stored_time(us: i64) -> (bool, i64) {
    if us % MICROS_PER_SECOND == 0 {
        (true, us / MICROS_PER_SECOND)
    } else {
        (false, us)
    }
}

fn from_stored_time<E: serde::de::Error>(in_seconds: bool, stored: i64) -> Result<i64, E> {
    if in_seconds {
        stored
            .checked_mul(MICROS_PER_SECOND)
            .ok_or_else(|| E::custom(format!("a deadline time of {stored} s is out of range")))
    } else {
        Ok(stored)
    }
}

impl Serialize for DeadlineEntry {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if serializer.is_human_readable() {
            return PlainDeadline {
                due: &self.due,
                unit: &self.unit,
                set_by: self.set_by,
                ended_us: self.ended_us,
            }
            .serialize(serializer);
        }
        let due = &self.due;
        let (started_in_seconds, started) = to_stored_time(due.started_us);
        let (due_in_seconds, due_at) = to_stored_time(due.due_us);
        let flags = u8::from(started_in_seconds) | (u8::from(due_in_seconds) << 1);
        let warns = (warnings(due.started_us, due.due_us) != (due.warn_50_us, due.warn_75_us))
            .then_some((due.warn_50_us, due.warn_75_us));
        let compact: CompactDeadline<&Option<String>> = (
            flags,
            due.clock,
            started,
            due_at,
            warns,
            &self.unit,
            self.set_by,
            self.ended_us,
        );
        compact.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for DeadlineEntry {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        if deserializer.is_human_readable() {
            let plain = PlainDeadline::<Due, Option<String>>::deserialize(deserializer)?;
            return Ok(DeadlineEntry {
                due: plain.due,
                unit: plain.unit,
                set_by: plain.set_by,
                ended_us: plain.ended_us,
            });
        }
        let (flags, clock, started, due_at, warns, unit, set_by, ended_us) =
            CompactDeadline::<Option<String>>::deserialize(deserializer)?;
        if flags > 0b11 {
            return Err(serde::de::Error::custom(format!(
                "a stored deadline has unknown flags {flags:#04b}"
            )));
        }
        let started_us = from_stored_time(flags & 1 != 0, started)?;
        let due_us = from_stored_time(flags & 0b10 != 0, due_at)?;
        let (warn_50_us, warn_75_us) = warns.unwrap_or_else(|| warnings(started_us, due_us));
        Ok(DeadlineEntry {
            due: Due {
                clock,
                started_us,
                due_us,
                warn_50_us,
                warn_75_us,
            },
            unit,
            set_by,
            ended_us,
        })
    }
}

impl DeadlineEntry {
    /// Whether the clock still runs.
    pub fn is_running(&self) -> bool {
        self.ended_us.is_none()
    }
}

/// 延期 — an extension granted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Extension {
    /// When.
    pub at_us: i64,
    /// By which unit.
    pub unit: String,
    /// The deadline before.
    pub previous_due_us: Option<i64>,
    /// The deadline after.
    pub new_due_us: Option<i64>,
    /// Why.
    pub reason: String,
}

/// 督办 — a supervision notice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notice {
    /// When.
    pub at_us: i64,
    /// Who issued it.
    pub by: String,
    /// The unit supervised.
    pub unit: Option<String>,
    /// The notice.
    pub notice: String,
}

/// 回访 — one feedback.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Feedback {
    /// When.
    pub at_us: i64,
    /// The rating.
    pub rating: Rating,
    /// Whether the complainant says it was resolved.
    pub resolved: bool,
}

/// Everything the case status projection knows about one case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseStatus {
    /// The case id.
    pub case: String,
    /// Its state.
    pub state: CaseState,
    /// Category slug.
    pub category: String,
    /// 住宅小区.
    pub compound: String,
    /// 社区.
    pub community: String,
    /// 乡镇.
    pub township: String,
    /// The firm it is about, if one.
    pub firm: Option<String>,
    /// Intake channel.
    pub channel: String,
    /// Urgent, general or complex.
    pub severity: String,
    /// Position of the filing record: orders lists newest first.
    pub filed_position: u64,
    /// When it was filed.
    pub filed_at_us: i64,
    /// The last record applied to it.
    pub last_position: u64,
    /// When that was.
    pub updated_at_us: i64,
    /// The unit handling it now.
    pub unit: Option<String>,
    /// Every unit it was dispatched or transferred to, in order of first arrival.
    pub units_passed: Vec<String>,
    /// Every deadline it has had, oldest first.
    pub deadlines: Vec<DeadlineEntry>,
    /// Extensions granted.
    pub extensions: Vec<Extension>,
    /// Supervision notices.
    pub notices: Vec<Notice>,
    /// The case it was merged into.
    pub merged_into: Option<String>,
    /// Cases merged into this one (并单), in the order they were merged: their complainants
    /// wait on this case's handling.
    pub merged_from: Vec<String>,
    /// 回访 — feedback received.
    pub feedback: Vec<Feedback>,
    /// Times returned (退单).
    pub returns: u32,
    /// Times transferred (移送).
    pub transfers: u32,
    /// Times reopened.
    pub reopenings: u32,
    /// Penalties imposed on it, in fen, in order.
    pub penalties_fen: Vec<i64>,
    /// Mediation outcomes, in order.
    pub mediations: Vec<String>,
    /// When last resolved.
    pub resolved_at_us: Option<i64>,
    /// When closed.
    pub closed_at_us: Option<i64>,
}

/// Which list of cases to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum CaseIndex {
    /// By the unit handling it now.
    Unit,
    /// By every unit it ever passed through (for "cases ever assigned to us").
    UnitPassed,
    /// By township.
    Township,
    /// By community.
    Community,
    /// By compound.
    Compound,
    /// By firm.
    Firm,
    /// By state slug.
    State,
    /// By category.
    Category,
}

impl CaseIndex {
    fn tag(self) -> u8 {
        match self {
            CaseIndex::Unit => b'u',
            CaseIndex::UnitPassed => b'p',
            CaseIndex::Township => b't',
            CaseIndex::Community => b'm',
            CaseIndex::Compound => b'c',
            CaseIndex::Firm => b'f',
            CaseIndex::State => b's',
            CaseIndex::Category => b'g',
        }
    }
}

/// How this projection's keys are paged (see [`crate::paged`]): every class of keys in
/// pages of about this many entries, chosen so that a page is a few KiB.
pub fn layout(key: &[u8]) -> Option<crate::paged::Class> {
    // Statuses (`c/`, 0.5–2 KiB each) are stored one a key: a lookup is then one read of
    // one small value, which keeps its tail short, and the writer rewrites only the
    // statuses a batch changes. Version 7 paged them four to a page: the 1,000,000-record
    // rebuild gained about 4% (median of eleven alternated runs), but HTTP appends lost
    // about 7% (64 connections, four alternated runs) and the lookup p99 rose by a fifth,
    // so version 8 stores them one a key again.
    // The writer rewrites a whole page for each entry a batch changes, and most records
    // move an entry in the due queue (`o/`, small: running clocks only) and, on a change
    // of state or unit, two in the lists (`i/`) at random places: smaller pages there keep
    // the writer's commit cheaper (version 5; both were 64 before). The lists hold ten
    // entries a case, so halving their pages costs a rebuild 13,000 more keys for 100,000
    // cases; quartering them cost it 40,000 (about a second). `a/` only grows at its front.
    crate::paged::by_tag(key, &[(b"a/", 64), (b"i/", 32), (b"o/", 8)])
}

fn case_key(case: &str) -> Vec<u8> {
    case_key_in(Vec::new(), case)
}

/// The key of a case, built in `buffer` (see [`Key::reuse`]).
fn case_key_in(buffer: Vec<u8>, case: &str) -> Vec<u8> {
    Key::reuse(buffer, b"c/").text(case).into_bytes()
}

fn all_key(filed_position: u64) -> Vec<u8> {
    Key::tag(b"a/").newest_first(filed_position).into_bytes()
}

fn index_key(index: CaseIndex, value: &str, filed_position: u64) -> Vec<u8> {
    Key::tag(b"i/")
        .raw(&[index.tag()])
        .text(value)
        .newest_first(filed_position)
        .into_bytes()
}

fn index_prefix(index: CaseIndex, value: &str) -> Vec<u8> {
    Key::tag(b"i/").raw(&[index.tag()]).text(value).into_bytes()
}

fn due_key(due_us: i64, case: &str, clock: Clock) -> Vec<u8> {
    Key::tag(b"o/")
        .time(due_us)
        .text(case)
        .raw(&[clock.tag()])
        .into_bytes()
}

impl Indexed for CaseStatus {
    fn index_entries(&self, _key: &[u8]) -> Vec<(Vec<u8>, Vec<u8>)> {
        let position = self.filed_position;
        let mut entries = Vec::with_capacity(10 + self.units_passed.len());
        entries.push((all_key(position), self.case.as_bytes().to_vec()));
        // The lists' and the due queue's entries hold nothing: their keys say everything.
        let mut add = |index: CaseIndex, value: &str| {
            entries.push((index_key(index, value, position), Vec::new()));
        };
        if let Some(unit) = &self.unit {
            add(CaseIndex::Unit, unit);
        }
        for unit in &self.units_passed {
            add(CaseIndex::UnitPassed, unit);
        }
        add(CaseIndex::Township, &self.township);
        add(CaseIndex::Community, &self.community);
        add(CaseIndex::Compound, &self.compound);
        if let Some(firm) = &self.firm {
            add(CaseIndex::Firm, firm);
        }
        add(CaseIndex::State, self.state.slug());
        add(CaseIndex::Category, &self.category);
        for entry in self.deadlines.iter().filter(|entry| entry.is_running()) {
            if entry.due.clock.counts_as_overdue() {
                entries.push((
                    due_key(entry.due.due_us, &self.case, entry.due.clock),
                    Vec::new(),
                ));
            }
        }
        entries
    }
}

/// Every clock: what an act that "clears the deadlines" ends.
const ALL_CLOCKS: &[Clock] = &[
    Clock::Dispatch,
    Clock::Accept,
    Clock::FirstContact,
    Clock::Return,
    Clock::Resolve,
    Clock::FollowUp,
    Clock::CloseUnrated,
    Clock::Rectification,
];

/// Which clocks an act ends, before it starts the ones it carries. This mirrors the running
/// deadlines of the domain's case `evolve` (which clears them on filing, dispatch, transfer,
/// return, resolution, closing, reopening, merging and withdrawal); the deadlines themselves
/// always come from the acts.
pub fn clocks_ended(fact: &CaseFact) -> &'static [Clock] {
    use Clock::*;
    match fact {
        CaseFact::Filed { .. }
        | CaseFact::Dispatched { .. }
        | CaseFact::Transferred { .. }
        | CaseFact::Returned { .. }
        | CaseFact::Resolved { .. }
        | CaseFact::Closed { .. }
        | CaseFact::Reopened { .. }
        | CaseFact::Merged { .. }
        | CaseFact::Withdrawn => ALL_CLOCKS,
        CaseFact::Accepted { .. } => &[Accept],
        CaseFact::Contacted { .. } => &[FirstContact],
        CaseFact::Feedback { .. } => &[FollowUp],
        CaseFact::RectificationVerified { .. } => &[Rectification],
        _ => &[],
    }
}

/// Applies a case act's clocks: ends those it ends, then starts (or replaces) those it
/// carries. Shared by the projections that track deadlines.
pub fn apply_clocks(
    deadlines: &mut Vec<DeadlineEntry>,
    fact: &CaseFact,
    starts: &[Due],
    unit: Option<&str>,
    event: &Event,
) {
    let ended = clocks_ended(fact);
    for entry in deadlines.iter_mut().filter(|entry| entry.is_running()) {
        let replaced = starts.iter().any(|due| due.clock == entry.due.clock);
        if replaced || ended.contains(&entry.due.clock) {
            entry.ended_us = Some(event.at_us);
        }
    }
    for due in starts {
        deadlines.push(DeadlineEntry {
            due: *due,
            unit: unit.map(str::to_string),
            set_by: event.position,
            ended_us: None,
        });
    }
}

/// The case status projection.
#[derive(Default)]
pub struct CaseStatusProjection {
    cases: IndexedTable<CaseStatus>,
    /// The buffer a record's case key is built in (see [`Key::reuse`]).
    key: Vec<u8>,
}

impl CaseStatusProjection {
    /// A new projection.
    pub fn new() -> CaseStatusProjection {
        CaseStatusProjection::default()
    }

    /// Folds one decoded record.
    pub fn apply_event(&mut self, event: &Event, tx: &mut Tx<'_>) -> Result<(), Error> {
        let Subject::Case { case, fact, starts } = &event.subject else {
            return Ok(());
        };
        let key = case_key_in(std::mem::take(&mut self.key), case);
        if let CaseFact::Filed {
            category,
            compound,
            community,
            township,
            firm,
            channel,
            severity,
        } = fact
        {
            let mut status = CaseStatus {
                case: case.clone(),
                state: CaseState::Filed,
                category: category.clone(),
                compound: compound.clone(),
                community: community.clone(),
                township: township.clone(),
                firm: firm.clone(),
                channel: channel.clone(),
                severity: severity.clone(),
                filed_position: event.position,
                filed_at_us: event.at_us,
                last_position: event.position,
                updated_at_us: event.at_us,
                unit: None,
                units_passed: Vec::new(),
                deadlines: Vec::new(),
                extensions: Vec::new(),
                notices: Vec::new(),
                merged_into: None,
                merged_from: Vec::new(),
                feedback: Vec::new(),
                returns: 0,
                transfers: 0,
                reopenings: 0,
                penalties_fen: Vec::new(),
                mediations: Vec::new(),
                resolved_at_us: None,
                closed_at_us: None,
            };
            apply_clocks(&mut status.deadlines, fact, starts, None, event);
            self.cases.put(tx, &key, status)?;
            self.key = key;
            return Ok(());
        }
        let Some(status) = self.cases.get_mut(tx, &key)? else {
            // The domain never writes an act on a case that was not filed; a record that does
            // is not ours to invent state for.
            return Err(Error::Decode {
                position: event.position,
                message: format!("act {} on unknown case {case}", event.kind),
            });
        };
        status.last_position = event.position;
        status.updated_at_us = event.at_us;
        let previous_resolve = running_due(status, Clock::Resolve);
        let mut merged_target = None;
        match fact {
            CaseFact::Filed { .. } => unreachable!("handled above"),
            CaseFact::Dispatched { unit } => {
                status.state = CaseState::Dispatched;
                arrive(status, unit);
            }
            CaseFact::Accepted { .. } => status.state = CaseState::Accepted,
            CaseFact::Returned { .. } => {
                status.state = CaseState::Returned;
                status.returns += 1;
                status.unit = None;
            }
            CaseFact::Transferred { to } => {
                status.state = CaseState::Dispatched;
                status.transfers += 1;
                arrive(status, to);
            }
            CaseFact::Contacted { .. }
            | CaseFact::Inspected { .. }
            | CaseFact::RectificationOrdered
            | CaseFact::RectificationVerified { .. }
            | CaseFact::JointEnforcement => start_work(status),
            CaseFact::Penalised { amount_fen, .. } => {
                start_work(status);
                status.penalties_fen.push(*amount_fen);
            }
            CaseFact::Mediated { outcome } => {
                start_work(status);
                status.mediations.push(outcome.clone());
            }
            CaseFact::Extended { reason } => status.extensions.push(Extension {
                at_us: event.at_us,
                unit: event.unit.clone(),
                previous_due_us: previous_resolve,
                new_due_us: starts
                    .iter()
                    .find(|due| due.clock == Clock::Resolve)
                    .map(|due| due.due_us),
                reason: reason.clone(),
            }),
            CaseFact::Supervised { notice, unit } => status.notices.push(Notice {
                at_us: event.at_us,
                by: event.unit.clone(),
                unit: unit.clone(),
                notice: notice.clone(),
            }),
            CaseFact::Resolved { .. } => {
                status.state = CaseState::Resolved;
                status.resolved_at_us = Some(event.at_us);
            }
            CaseFact::Feedback { rating, resolved } => status.feedback.push(Feedback {
                at_us: event.at_us,
                rating: *rating,
                resolved: *resolved,
            }),
            CaseFact::Closed { .. } => {
                status.state = CaseState::Closed;
                status.closed_at_us = Some(event.at_us);
            }
            CaseFact::Reopened { unit } => {
                status.state = CaseState::Reopened;
                arrive(status, unit);
                status.reopenings += 1;
            }
            CaseFact::Merged { into } => {
                status.state = CaseState::Merged;
                status.merged_into = Some(into.clone());
                merged_target = Some(into.clone());
            }
            CaseFact::Withdrawn => status.state = CaseState::Withdrawn,
            CaseFact::Other => {}
        }
        apply_clocks(
            &mut status.deadlines,
            fact,
            starts,
            status.unit.as_deref(),
            event,
        );
        // The case merged into learns of it too. The service admits only a filed, open target;
        // a log written before that check may name one never filed, which has nothing to show.
        if let Some(into) = merged_target {
            if let Some(target) = self.cases.get_mut(tx, &case_key(&into))? {
                target.merged_from.push(case.clone());
            }
        }
        self.key = key;
        Ok(())
    }
}

fn running_due(status: &CaseStatus, clock: Clock) -> Option<i64> {
    status
        .deadlines
        .iter()
        .rev()
        .find(|entry| entry.is_running() && entry.due.clock == clock)
        .map(|entry| entry.due.due_us)
}

fn arrive(status: &mut CaseStatus, unit: &str) {
    status.unit = Some(unit.to_string());
    if !status.units_passed.iter().any(|passed| passed == unit) {
        status.units_passed.push(unit.to_string());
    }
}

fn start_work(status: &mut CaseStatus) {
    if matches!(status.state, CaseState::Accepted | CaseState::Reopened) {
        status.state = CaseState::InProgress;
    }
}

impl Projection for CaseStatusProjection {
    fn name(&self) -> &'static str {
        NAME
    }

    fn version(&self) -> u32 {
        VERSION
    }

    fn apply(&mut self, input: &Input<'_>, tx: &mut Tx<'_>) -> Result<(), Error> {
        self.apply_event(input.event()?, tx)
    }

    fn flush(&mut self, tx: &mut Tx<'_>) -> Result<(), Error> {
        self.cases.flush(tx);
        Ok(())
    }

    fn discard(&mut self) {
        self.cases.clear();
    }

    fn cached(&self) -> usize {
        self.cases.len()
    }
}

/// The case a list entry names: an entry of `a/` holds it, an entry of `i/` ends with the
/// case's filing position, which `a/` maps to it.
fn listed_case(tree: &dyn crate::KvTree, key: &[u8], value: &[u8]) -> Result<String, Error> {
    let id = if key.starts_with(b"a/") {
        value.to_vec()
    } else {
        let position = KeyReader::new(key, key.len().saturating_sub(8)).newest_first()?;
        let all = all_key(position);
        tree.get(&all)?.ok_or_else(|| Error::Corrupt {
            key: crate::codec::show_key(key),
            message: format!("listed position {position} has no case in `a/`"),
        })?
    };
    String::from_utf8(id).map_err(|_| Error::Corrupt {
        key: crate::codec::show_key(key),
        message: "listed case id is not UTF-8".into(),
    })
}

/// Where one clock of a case stands at an instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum ClockStatus {
    /// Less than half the time used.
    OnTime,
    /// 黄色预警 — at least 50% used.
    Warn50,
    /// 橙色预警 — at least 75% used.
    Warn75,
    /// 逾期 — past the deadline.
    Overdue,
}

/// Where a due stands at `at_us`, from the warning points the act carried.
pub fn clock_status(due: &Due, at_us: i64) -> ClockStatus {
    if at_us >= due.due_us {
        ClockStatus::Overdue
    } else if at_us >= due.warn_75_us {
        ClockStatus::Warn75
    } else if at_us >= due.warn_50_us {
        ClockStatus::Warn50
    } else {
        ClockStatus::OnTime
    }
}

/// A case's status as seen at an instant.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CaseView {
    /// What is stored.
    pub status: CaseStatus,
    /// The instant asked about.
    pub at_us: i64,
    /// Each running clock and where it stands at that instant.
    pub running: Vec<(DeadlineEntry, ClockStatus)>,
    /// Whether any running clock is overdue at that instant.
    pub overdue: bool,
    /// The worst state of any running clock.
    pub worst: Option<ClockStatus>,
}

impl CaseView {
    /// Evaluates `status` at `at_us`.
    pub fn at(status: CaseStatus, at_us: i64) -> CaseView {
        let running: Vec<(DeadlineEntry, ClockStatus)> = status
            .deadlines
            .iter()
            .filter(|entry| entry.is_running() && entry.due.clock.counts_as_overdue())
            .map(|entry| (entry.clone(), clock_status(&entry.due, at_us)))
            .collect();
        let worst = running.iter().map(|(_, status)| *status).max();
        CaseView {
            status,
            at_us,
            overdue: worst == Some(ClockStatus::Overdue),
            running,
            worst,
        }
    }
}

/// A line of a case list.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CaseLine {
    /// The case.
    pub case: String,
    /// Its state.
    pub state: CaseState,
    /// Its category.
    pub category: String,
    /// The unit holding it.
    pub unit: Option<String>,
    /// When it was filed.
    pub filed_at_us: i64,
    /// Whether it is overdue at the instant asked.
    pub overdue: bool,
}

/// An overdue clock: which case, which clock, since when, in whose hands.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OverdueLine {
    /// The case.
    pub case: String,
    /// The clock.
    pub clock: Clock,
    /// Its deadline.
    pub due_us: i64,
    /// The unit holding the case.
    pub unit: Option<String>,
}

/// Queries over the case status projection.
#[derive(Clone)]
pub struct CaseQueries {
    reader: Reader,
}

impl CaseQueries {
    /// Queries through `reader`.
    pub fn new(reader: Reader) -> CaseQueries {
        CaseQueries { reader }
    }

    /// The stored status of one case.
    pub fn status(&self, case: &str) -> Result<Option<CaseStatus>, Error> {
        let tree = self.reader.tree(NAME)?;
        let key = case_key(case);
        match tree.get(&key)? {
            Some(bytes) => Ok(Some(crate::codec::decode(&key, &bytes)?)),
            None => Ok(None),
        }
    }

    /// One case as seen at `at_us`: its running clocks, warnings and whether it is overdue.
    pub fn case_at(&self, case: &str, at_us: i64) -> Result<Option<CaseView>, Error> {
        Ok(self.status(case)?.map(|status| CaseView::at(status, at_us)))
    }

    /// Cases under one index value (`value` is a unit id, township, state slug …), newest
    /// first, with whether each is overdue at `at_us`.
    pub fn list(
        &self,
        index: CaseIndex,
        value: &str,
        at_us: i64,
        page: &PageRequest,
    ) -> Result<Page<CaseLine>, Error> {
        let tree = self.reader.tree(NAME)?;
        self.lines(tree.as_ref(), &index_prefix(index, value), at_us, page)
    }

    /// Every case, newest first.
    pub fn all(&self, at_us: i64, page: &PageRequest) -> Result<Page<CaseLine>, Error> {
        let tree = self.reader.tree(NAME)?;
        self.lines(tree.as_ref(), b"a/", at_us, page)
    }

    fn lines(
        &self,
        tree: &dyn crate::KvTree,
        prefix: &[u8],
        at_us: i64,
        page: &PageRequest,
    ) -> Result<Page<CaseLine>, Error> {
        scan_page(tree, prefix, page, |listed, value| {
            let id = listed_case(tree, listed, value)?;
            let key = case_key(&id);
            let bytes = tree.get(&key)?.ok_or_else(|| Error::Corrupt {
                key: crate::codec::show_key(&key),
                message: "listed case has no status".into(),
            })?;
            let status: CaseStatus = crate::codec::decode(&key, &bytes)?;
            let view = CaseView::at(status, at_us);
            Ok(CaseLine {
                overdue: view.overdue,
                case: view.status.case,
                state: view.status.state,
                category: view.status.category,
                unit: view.status.unit,
                filed_at_us: view.status.filed_at_us,
            })
        })
    }

    /// Running clocks past their deadline at `at_us`, the longest overdue first.
    pub fn overdue(&self, at_us: i64, page: &PageRequest) -> Result<Page<OverdueLine>, Error> {
        let tree = self.reader.tree(NAME)?;
        let end = Key::tag(b"o/").time(at_us.saturating_add(1)).into_bytes();
        let result = scan_page_until(tree.as_ref(), b"o/", Some(&end), page, |key, _| {
            let mut reader = KeyReader::new(key, 2);
            let due_us = reader.time()?;
            let case = reader.text()?.to_string();
            Ok((key.to_vec(), due_us, case))
        })?;
        let mut lines = Vec::with_capacity(result.items.len());
        for (key, due_us, case) in result.items {
            let clock_tag = *key.last().unwrap_or(&0);
            let status = self.status(&case)?;
            let clock = status
                .as_ref()
                .and_then(|status| {
                    status
                        .deadlines
                        .iter()
                        .find(|entry| entry.is_running() && entry.due.clock.tag() == clock_tag)
                })
                .map(|entry| entry.due.clock)
                .ok_or_else(|| Error::Corrupt {
                    key: crate::codec::show_key(&key),
                    message: "overdue entry without a running clock".into(),
                })?;
            lines.push(OverdueLine {
                case,
                clock,
                due_us,
                unit: status.and_then(|status| status.unit),
            });
        }
        Ok(Page {
            items: lines,
            next: result.next,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec;
    use crate::store::{KvTree, MemTree, Writes};
    use proptest::prelude::*;

    /// A deadline as the domain makes them: whole seconds, warnings at half and three
    /// quarters, a unit, ended at a recorded microsecond.
    fn typical() -> DeadlineEntry {
        let started_us = 1_767_574_824_000_000;
        let due_us = 1_767_715_200_000_000;
        DeadlineEntry {
            due: Due {
                clock: Clock::Accept,
                started_us,
                due_us,
                warn_50_us: 1_767_645_012_000_000,
                warn_75_us: 1_767_680_106_000_000,
            },
            unit: Some("community/changtang/minzhu".into()),
            set_by: 4_181,
            ended_us: Some(1_767_713_620_123_456),
        }
    }

    /// Any time: a whole second or any microsecond, extremes included.
    fn any_time() -> impl Strategy<Value = i64> {
        prop_oneof![
            any::<i64>(),
            (-9_223_372_036_854i64..=9_223_372_036_854).prop_map(|seconds| seconds * 1_000_000),
            Just(i64::MIN),
            Just(i64::MAX),
            Just(0i64),
        ]
    }

    fn any_deadline() -> impl Strategy<Value = DeadlineEntry> {
        (
            0..ALL_CLOCKS.len(),
            any_time(),
            any_time(),
            prop::option::of((any_time(), any_time())),
            prop::option::of("[a-z/-]{0,30}"),
            any::<u64>(),
            prop::option::of(any_time()),
        )
            .prop_map(
                |(clock, started_us, due_us, warns, unit, set_by, ended_us)| {
                    // Without explicit warnings, put them where the domain does.
                    let (warn_50_us, warn_75_us) = warns.unwrap_or(warnings(started_us, due_us));
                    DeadlineEntry {
                        due: Due {
                            clock: ALL_CLOCKS[clock],
                            started_us,
                            due_us,
                            warn_50_us,
                            warn_75_us,
                        },
                        unit,
                        set_by,
                        ended_us,
                    }
                },
            )
    }

    proptest! {
        #[test]
        fn a_deadline_comes_back_from_its_stored_form_exactly(entry in any_deadline()) {
            let stored = codec::encode(&entry);
            let back: DeadlineEntry = codec::decode(b"c/test", &stored).expect("decodes");
            prop_assert_eq!(back, entry);
        }
    }

    #[test]
    fn a_deadline_is_stored_compactly_and_shown_field_by_field() {
        let entry = typical();
        let plain = codec::encode(&PlainDeadline {
            due: &entry.due,
            unit: &entry.unit,
            set_by: entry.set_by,
            ended_us: entry.ended_us,
        });
        let stored = codec::encode(&entry);
        // Flags, clock, two 5-byte seconds, no warnings, the unit, the record, the end.
        assert_eq!(stored.len(), 1 + 1 + 5 + 5 + 1 + (2 + 26) + 3 + 10);
        assert_eq!(plain.len() - stored.len(), 24);
        // JSON, the API's form, is the four fields as before.
        let json = serde_json::to_value(&entry).expect("serializes");
        assert_eq!(
            json,
            serde_json::json!({
                "due": {
                    "clock": "Accept",
                    "started_us": 1_767_574_824_000_000i64,
                    "due_us": 1_767_715_200_000_000i64,
                    "warn_50_us": 1_767_645_012_000_000i64,
                    "warn_75_us": 1_767_680_106_000_000i64,
                },
                "unit": "community/changtang/minzhu",
                "set_by": 4181,
                "ended_us": 1_767_713_620_123_456i64,
            })
        );
        let back: DeadlineEntry = serde_json::from_value(json).expect("deserializes");
        assert_eq!(back, entry);
    }

    #[test]
    fn a_stored_deadline_with_unknown_flags_is_corruption() {
        let mut stored = codec::encode(&typical());
        stored[0] = 0b100;
        match codec::decode::<DeadlineEntry>(b"c/test", &stored) {
            Err(Error::Corrupt { key, message }) => {
                assert!(key.contains("test"), "{key}");
                assert!(message.contains("unknown flags"), "{message}");
            }
            other => panic!("expected a corruption error, got {other:?}"),
        }
        // A time in seconds too large for microseconds is refused too.
        let forged: CompactDeadline<Option<String>> =
            (1, Clock::Accept, i64::MAX / 1000, 0, None, None, 1, None);
        let stored = codec::encode(&forged);
        match codec::decode::<DeadlineEntry>(b"c/test", &stored) {
            Err(Error::Corrupt { message, .. }) => {
                assert!(message.contains("out of range"), "{message}")
            }
            other => panic!("expected a corruption error, got {other:?}"),
        }
    }

    #[test]
    fn a_list_entry_names_its_case_through_the_filing_position() {
        let tree = MemTree::default();
        let mut writes = Writes::default();
        writes.put(all_key(7), b"AH-7".to_vec());
        writes.put(index_key(CaseIndex::Township, "t-1", 7), Vec::new());
        writes.put(index_key(CaseIndex::Township, "t-1", 9), Vec::new());
        tree.apply_batch(writes).expect("writes");

        assert_eq!(
            listed_case(&tree, &all_key(7), b"AH-7").expect("a/"),
            "AH-7"
        );
        let listed = index_key(CaseIndex::Township, "t-1", 7);
        assert_eq!(listed_case(&tree, &listed, b"").expect("i/"), "AH-7");
        // An entry whose position `a/` does not know is corruption, named, not a panic.
        let orphan = index_key(CaseIndex::Township, "t-1", 9);
        match listed_case(&tree, &orphan, b"") {
            Err(Error::Corrupt { message, .. }) => assert!(message.contains("position 9")),
            other => panic!("expected a corruption error, got {other:?}"),
        }
    }
}
